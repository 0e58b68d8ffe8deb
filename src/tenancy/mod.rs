//! Tenancy: who may call (virtual keys from the store, in the [`ring`]), what they may spend
//! ([`budget`]), and what is recorded of each request (the store's record writer). One
//! [`Tenancy`] per gateway, built at start from `[database]`; its maintenance task (on the
//! store's runtime) polls for key changes made by other instances, stamps keys' last use and
//! purges records past `retention_days`.
//!
//! With `[redis]`, budget reservations go through Redis ([`shared_budget`]) so that they hold
//! across instances; budgets fail closed when Redis cannot answer.
//!
//! May depend on storage, redis and runtime; the request path (inbound, proxy) and the api
//! use it.

pub mod budget;
pub mod idempotency;
pub mod jwt;
pub mod ring;
pub mod shared_budget;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::config::DatabaseConfig;
use crate::errors::{ErrorKind, GatewayError};
use crate::runtime::snapshot::Tenant;
use crate::runtime::tenant::{Budget, Period};
use crate::storage::idempotency::StoredAnswer;
use crate::storage::records::{self, Record};
use crate::storage::writer::Writer;
use crate::storage::{self, Backend, Store, StoreError, keys, now_ms};
use budget::{Budgets, Exhausted, Reservation, Scope};
use idempotency::{Answer, Idempotency, Ticket};
use ring::KeyRing;
use shared_budget::Held;

/// Records that may wait for the writer before new ones are dropped.
const RECORD_QUEUE: usize = 50_000;
/// How often old records are purged (with `retention_days`).
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// The tenancy services of a gateway.
pub struct Tenancy {
    pub store: Arc<Store>,
    pub ring: KeyRing,
    pub budgets: Budgets,
    pub records: Writer,
    /// JSON Web Tokens as credentials (`[jwt]`).
    pub jwt: Option<jwt::Jwt>,
    /// Answers of requests sent with an `Idempotency-Key`.
    pub idempotency: Arc<Idempotency>,
    pub store_bodies: bool,
    retention_days: Option<u64>,
    /// Keys used since the last stamp, with when.
    used: Mutex<HashMap<String, i64>>,
    /// Budgets in Redis, with `[redis]` (set once at start).
    pub shared_budgets: std::sync::OnceLock<shared_budget::SharedBudgets>,
}

impl std::fmt::Debug for Tenancy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenancy")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Tenancy {
    /// Opens the store of `config`, loads the key ring and the budgets' spend, and starts the
    /// record writer and the maintenance task. Blocks (startup).
    pub fn open(
        config: &DatabaseConfig,
        jwt: Option<jwt::Jwt>,
    ) -> Result<Arc<Tenancy>, StoreError> {
        let store = Store::open(config.url.as_deref(), config.max_connections)?;
        let tenancy = Arc::new(Tenancy {
            records: Writer::start(&store, RECORD_QUEUE),
            store: store.clone(),
            ring: KeyRing::default(),
            budgets: Budgets::default(),
            jwt,
            idempotency: Arc::new(Idempotency::default()),
            store_bodies: config.store_bodies,
            retention_days: config.retention_days,
            used: Mutex::new(HashMap::new()),
            shared_budgets: std::sync::OnceLock::new(),
        });
        let t = tenancy.clone();
        store.block_on(async move {
            t.ring.refresh(&t.store, true).await?;
            t.load_answers().await?;
            t.load_spend().await
        })?;
        let t = Arc::downgrade(&tenancy);
        store.spawn(async move { maintain(t).await });
        Ok(tenancy)
    }

    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// The stored key whose secret hashes to `hash`: refused when it was revoked or expired.
    pub fn key(&self, hash: &[u8; 32], now: i64) -> Option<Result<Arc<Tenant>, GatewayError>> {
        let tenant = self.ring.get(hash)?;
        if tenant
            .policy
            .as_ref()
            .is_some_and(|p| p.revoked_at.is_some())
        {
            return Some(Err(GatewayError::new(
                ErrorKind::Unauthorized,
                "This API key was revoked.",
            )));
        }
        let expired = tenant
            .policy
            .as_ref()
            .and_then(|p| p.expires_at)
            .filter(|at| *at <= now);
        if let Some(at) = expired {
            return Some(Err(GatewayError::new(
                ErrorKind::Unauthorized,
                format!(
                    "This API key expired at {}.",
                    humantime::format_rfc3339_seconds(
                        std::time::UNIX_EPOCH + Duration::from_millis(at.max(0) as u64)
                    )
                ),
            )));
        }
        self.used.lock().insert(tenant.id.clone(), now);
        Some(Ok(tenant))
    }

    /// The budgets a request of `tenant` is charged to: its key's and its team's.
    pub fn budgets_of(&self, tenant: &Tenant) -> Vec<(Scope, Budget)> {
        let Some(policy) = &tenant.policy else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Some(b) = policy.budget {
            out.push((Scope::Key(policy.key_id.clone()), b));
        }
        if let Some(team) = policy.team.as_deref().and_then(|t| self.ring.team(t))
            && let Some(b) = team.budget
        {
            out.push((Scope::Team(team.id.clone()), b));
        }
        out
    }

    /// Holds `amount()` (the request's worst case, worked out only when the tenant has a
    /// budget) against the tenant's budgets: a 402 naming the budget when one cannot cover it.
    /// With shared budgets the reservation is Redis's; this instance's accounts are still
    /// kept (a zero reservation), as the spend Redis starts from.
    pub async fn reserve(
        &self,
        tenant: &Tenant,
        amount: impl FnOnce() -> f64,
    ) -> Result<Reservation, GatewayError> {
        let budgets = self.budgets_of(tenant);
        if budgets.is_empty() {
            return Ok(Reservation::default());
        }
        let amount = amount();
        let now = now_ms();
        let Some(shared) = self.shared_budgets.get() else {
            return self
                .budgets
                .reserve(&budgets, amount, now)
                .map_err(|e| exhausted(&e, amount));
        };
        let mut reservation = self
            .budgets
            .reserve(&budgets, 0.0, now)
            .map_err(|e| exhausted(&e, amount))?;
        let starts: Vec<f64> = budgets
            .iter()
            .map(|(scope, _)| self.budgets.spent(scope).unwrap_or(0.0))
            .collect();
        match shared.reserve(&budgets, &starts, amount, now).await {
            Ok(Ok(held)) => {
                reservation.shared = Some(held);
                Ok(reservation)
            }
            Ok(Err((index, spent))) => {
                self.budgets.settle(reservation, 0.0);
                let (scope, budget) = budgets[index].clone();
                Err(exhausted(
                    &Exhausted {
                        scope,
                        budget,
                        spent,
                    },
                    amount,
                ))
            }
            Err(e) => {
                self.budgets.settle(reservation, 0.0);
                Err(GatewayError::new(
                    ErrorKind::Unavailable,
                    format!(
                        "Budgets cannot be checked ({e}); they never fail open. Retry shortly."
                    ),
                )
                .with_retry_after(1))
            }
        }
    }

    /// Ends a reservation at the request's actual cost (0 when nothing was spent); a hold in
    /// Redis is settled without waiting.
    pub fn settle(&self, reservation: Reservation, actual: f64) {
        if let Some(held) = self.settle_here(reservation, actual) {
            self.settle_held(&held, actual);
        }
    }

    /// Settles a hold in Redis without waiting.
    pub fn settle_held(&self, held: &Held, actual: f64) {
        if let Some(shared) = self.shared_budgets.get() {
            shared.settle(held, actual);
        }
    }

    /// Ends this instance's part of a reservation and hands back its hold in Redis, if any,
    /// for [`Tenancy::settle_shared`].
    pub fn settle_here(&self, mut reservation: Reservation, actual: f64) -> Option<Held> {
        let held = reservation.shared.take();
        self.budgets.settle(reservation, actual);
        held
    }

    /// Settles a hold in Redis and waits until it is done.
    pub async fn settle_shared(&self, held: &Held, actual: f64) {
        if let Some(shared) = self.shared_budgets.get() {
            shared.settle_now(held, actual).await;
        }
    }

    /// Queues a request's record (bodies dropped unless `store_bodies`).
    pub fn record(&self, mut record: Record) {
        if !self.store_bodies {
            record.request_body = None;
            record.response_body = None;
        }
        self.records.record(record);
    }

    /// Loads each budget's spend in its current period from the records.
    async fn load_spend(&self) -> Result<(), StoreError> {
        let ring = self.ring.snapshot();
        let now = now_ms();
        let mut scopes: Vec<(Scope, Budget)> = Vec::new();
        for t in ring.keys.values() {
            scopes.extend(self.budgets_of(t).into_iter().take(1));
        }
        for team in ring.teams.values() {
            if let Some(b) = team.budget {
                scopes.push((Scope::Team(team.id.clone()), b));
            }
        }
        for period in [
            Period::Daily,
            Period::Weekly,
            Period::Monthly,
            Period::Total,
        ] {
            let here: Vec<&(Scope, Budget)> =
                scopes.iter().filter(|(_, b)| b.period == period).collect();
            if here.is_empty() {
                continue;
            }
            let start = period.start(now);
            let (by_key, by_team) = self
                .read_records(move |pool| async move {
                    let keys = records::spend_by(&pool, "key_id", start, i64::MAX).await?;
                    let teams = records::spend_by(&pool, "team_id", start, i64::MAX).await?;
                    Ok((keys, teams))
                })
                .await?;
            for (scope, _) in here {
                let (rows, id) = match scope {
                    Scope::Key(id) => (&by_key, id),
                    Scope::Team(id) => (&by_team, id),
                };
                let spent = rows
                    .iter()
                    .find(|(name, _, _)| name == id)
                    .map_or(0.0, |(_, spend, _)| *spend);
                self.budgets.load(scope.clone(), start, spent);
            }
        }
        Ok(())
    }

    /// Keeps an idempotent request's answer: in memory now, in the store soon after.
    pub fn keep_answer(&self, ticket: Ticket, tenant: &str, key: &str, answer: Answer) {
        let now = now_ms();
        let Some(kept) = ticket.keep(answer, now) else {
            return;
        };
        let Ok(body) = String::from_utf8(kept.body.to_vec()) else {
            return;
        };
        let row = StoredAnswer {
            tenant: tenant.to_string(),
            key: key.to_string(),
            created_at: kept.created_at,
            fingerprint: crate::runtime::snapshot::hex(&kept.fingerprint),
            status: i64::from(kept.status),
            headers: serde_json::to_string(&kept.headers).unwrap_or_else(|_| "[]".into()),
            body,
        };
        let pool = self.store.pool();
        self.store.spawn(async move {
            if let Err(e) = storage::idempotency::save(&pool, &row).await {
                tracing::warn!(error = %e, "an idempotent answer was not written to the store");
            }
        });
    }

    /// Loads the answers kept in the last 24 hours.
    async fn load_answers(&self) -> Result<(), StoreError> {
        let now = now_ms();
        let since = now - idempotency::KEEP.as_millis() as i64;
        let rows = self
            .store
            .run(move |pool| async move { storage::idempotency::load(&pool, since).await })
            .await?;
        for row in rows {
            let Some(fingerprint) = unhex32(&row.fingerprint) else {
                continue;
            };
            let answer = Answer {
                status: u16::try_from(row.status).unwrap_or(200),
                headers: serde_json::from_str(&row.headers).unwrap_or_default(),
                body: bytes::Bytes::from(row.body),
                fingerprint,
                created_at: row.created_at,
            };
            self.idempotency
                .insert((row.tenant, row.key), Arc::new(answer), now);
        }
        Ok(())
    }

    /// Writes every queued record (graceful shutdown).
    pub async fn flush(&self) {
        self.records.flush(Duration::from_secs(10)).await;
    }

    /// Runs `work`, a query of the request records, on the store once every record queued
    /// before the call is a row it can see (the in-memory window included).
    pub async fn read_records<T, F, Fut>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(sqlx::AnyPool) -> Fut,
        Fut: std::future::Future<Output = Result<T, StoreError>> + Send + 'static,
        T: Send + 'static,
    {
        self.records.materialize(Duration::from_secs(10)).await;
        self.store.run(work).await
    }

    /// Rebuilds the key ring now (after a change through the admin API).
    pub async fn reload(&self) -> Result<(), StoreError> {
        self.ring.refresh(&self.store, true).await
    }
}

/// 32 bytes from 64 hex digits.
pub fn unhex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The 402 of an exhausted budget.
fn exhausted(e: &Exhausted, amount: f64) -> GatewayError {
    let period = match e.budget.period {
        Period::Total => String::new(),
        p => format!(
            " this {}",
            p.as_str().trim_end_matches("ly").replace("dai", "day")
        ),
    };
    GatewayError::new(
        ErrorKind::BudgetExceeded,
        format!(
            "Budget exhausted: the {} has spent ${:.6} of its ${:.2} budget{period}, and this request may cost up to ${amount:.6}.",
            e.scope.describe(),
            e.spent,
            e.budget.max_usd
        ),
    )
    .with_limit("budget")
}

/// Polls for key changes, stamps keys' last use, purges old records; ends with the tenancy.
async fn maintain(tenancy: std::sync::Weak<Tenancy>) {
    let mut tick = tokio::time::interval(ring::POLL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_purge: Option<tokio::time::Instant> = None;
    loop {
        tick.tick().await;
        let Some(t) = tenancy.upgrade() else {
            return;
        };
        if let Err(e) = t.ring.refresh(&t.store, false).await {
            tracing::warn!(error = %e, "could not check the store for key changes");
        }
        let used: Vec<(String, i64)> = t.used.lock().drain().collect();
        if !used.is_empty() {
            let pool = t.store.pool();
            if let Err(e) = keys::touch_keys(&pool, &used).await {
                tracing::warn!(error = %e, "could not stamp keys' last use");
            }
        }
        if let Some(days) = t.retention_days
            && last_purge.is_none_or(|at| at.elapsed() >= PURGE_EVERY)
        {
            last_purge = Some(tokio::time::Instant::now());
            let before = now_ms() - (days as i64) * 86_400_000;
            t.records.materialize(Duration::from_secs(10)).await;
            match records::purge(
                &t.store.pool(),
                t.store.backend() == Backend::Postgres,
                before,
            )
            .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(records = n, days, "purged request records past retention"),
                Err(e) => tracing::warn!(error = %e, "could not purge old request records"),
            }
        }
    }
}
