//! Budgets (L5): before a request is sent, its worst-case cost is reserved against its key's
//! and its team's budget; after it, the reservation is settled to the actual cost (zero when
//! it failed). A reservation that does not fit beside what is spent and reserved is refused,
//! so concurrent requests never spend past a budget as long as providers honour the output
//! limit the reservation assumed. Spend counts per budget period; at start it is loaded from
//! the request records. One lock over all accounts: a reservation touches two, briefly.

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::runtime::tenant::Budget;

/// Whose account: a key's or a team's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scope {
    Key(String),
    Team(String),
}

impl Scope {
    pub fn describe(&self) -> String {
        match self {
            Scope::Key(id) => format!("key `{id}`"),
            Scope::Team(id) => format!("team `{id}`"),
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Account {
    period_start: i64,
    spent: f64,
    reserved: f64,
}

/// A budget that would be overspent.
#[derive(Debug, Clone, PartialEq)]
pub struct Exhausted {
    pub scope: Scope,
    pub budget: Budget,
    pub spent: f64,
}

/// Money held for one request until it is settled.
#[derive(Debug, Default)]
#[must_use = "a reservation must be settled"]
pub struct Reservation {
    held: Vec<(Scope, f64)>,
    /// Held in Redis too, when budgets are shared (settled there).
    pub shared: Option<super::shared_budget::Held>,
}

/// Every account's spend and reservations.
#[derive(Debug, Default)]
pub struct Budgets {
    accounts: Mutex<HashMap<Scope, Account>>,
}

impl Budgets {
    /// Sets what `scope` spent in its period starting at `period_start` (at start, from the
    /// records).
    pub fn load(&self, scope: Scope, period_start: i64, spent: f64) {
        let mut accounts = self.accounts.lock();
        let a = accounts.entry(scope).or_default();
        a.period_start = period_start;
        a.spent = spent;
    }

    /// Reserves `amount` against every `(scope, budget)` at once, or none of them.
    pub fn reserve(
        &self,
        budgets: &[(Scope, Budget)],
        amount: f64,
        now_ms: i64,
    ) -> Result<Reservation, Exhausted> {
        let mut accounts = self.accounts.lock();
        for (scope, budget) in budgets {
            let a = accounts.entry(scope.clone()).or_default();
            roll(a, budget, now_ms);
            if a.spent + a.reserved + amount > budget.max_usd + 1e-12 {
                return Err(Exhausted {
                    scope: scope.clone(),
                    budget: *budget,
                    spent: a.spent,
                });
            }
        }
        let mut held = Vec::with_capacity(budgets.len());
        for (scope, _) in budgets {
            if let Some(a) = accounts.get_mut(scope) {
                a.reserved += amount;
                held.push((scope.clone(), amount));
            }
        }
        Ok(Reservation { held, shared: None })
    }

    /// Turns a reservation into the actual cost (0: nothing was spent).
    pub fn settle(&self, reservation: Reservation, actual: f64) {
        let mut accounts = self.accounts.lock();
        for (scope, amount) in reservation.held {
            if let Some(a) = accounts.get_mut(&scope) {
                a.reserved = (a.reserved - amount).max(0.0);
                a.spent += actual;
            }
        }
    }

    /// Adds spend that was not reserved (a key without a budget still counts for its team's
    /// rollup only through the records; this is for accounts that exist).
    pub fn spent(&self, scope: &Scope) -> Option<f64> {
        self.accounts.lock().get(scope).map(|a| a.spent)
    }
}

/// A new period starts from zero.
fn roll(a: &mut Account, budget: &Budget, now_ms: i64) {
    let start = budget.period.start(now_ms);
    if start > a.period_start {
        a.period_start = start;
        a.spent = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::tenant::Period;

    fn b(max: f64) -> Budget {
        Budget {
            max_usd: max,
            period: Period::Total,
        }
    }

    #[test]
    fn reservations_never_overspend() {
        let budgets = Budgets::default();
        let key = (Scope::Key("k".into()), b(3.0));
        let team = (Scope::Team("t".into()), b(100.0));
        let both = [key.clone(), team.clone()];
        let r1 = budgets.reserve(&both, 2.0, 0).unwrap();
        // 2 reserved of 3: another 2 does not fit, on the key.
        let e = budgets.reserve(&both, 2.0, 0).unwrap_err();
        assert_eq!(e.scope, Scope::Key("k".into()));
        budgets.settle(r1, 0.5);
        let r2 = budgets.reserve(&both, 2.0, 0).unwrap();
        budgets.settle(r2, 2.0);
        assert_eq!(budgets.spent(&Scope::Key("k".into())), Some(2.5));
        assert_eq!(budgets.spent(&Scope::Team("t".into())), Some(2.5));
        assert!(budgets.reserve(&both, 0.6, 0).is_err());
        // A refusal reserves nothing anywhere.
        let r3 = budgets.reserve(&[team], 1.0, 0).unwrap();
        budgets.settle(r3, 0.0);
        assert_eq!(budgets.spent(&Scope::Team("t".into())), Some(2.5));
    }

    #[test]
    fn a_new_period_starts_from_zero() {
        let budgets = Budgets::default();
        let daily = [(
            Scope::Key("k".into()),
            Budget {
                max_usd: 1.0,
                period: Period::Daily,
            },
        )];
        let r = budgets.reserve(&daily, 1.0, 1000).unwrap();
        budgets.settle(r, 1.0);
        assert!(budgets.reserve(&daily, 0.1, 2000).is_err());
        let r = budgets.reserve(&daily, 1.0, 86_400_000 + 5).unwrap();
        budgets.settle(r, 0.0);
    }
}
