//! The key ring: every virtual key and team from the store, in memory, so that checking a key
//! never touches the database. Rebuilt from the store after each change made here, and by a
//! poll of the store's version counter, so that instances sharing a database see each
//! other's changes within [`POLL_EVERY`].

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::runtime::snapshot::Tenant;
use crate::runtime::tenant::{Budget, KeyLimits, Period, Policy};
use crate::storage::keys::{self, KeyRow, TeamRow};
use crate::storage::{Store, StoreError};

/// How often the store's version is compared with the ring's.
pub const POLL_EVERY: Duration = Duration::from_secs(2);

/// A team as the request path reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub budget: Option<Budget>,
}

/// One build of the ring.
#[derive(Debug, Default)]
pub struct Ring {
    /// By the SHA-256 of the secret.
    pub keys: HashMap<[u8; 32], Arc<Tenant>>,
    pub teams: HashMap<String, Arc<Team>>,
}

/// The ring and the store version it was built from.
#[derive(Debug, Default)]
pub struct KeyRing {
    ring: ArcSwap<Ring>,
    version: AtomicI64,
}

fn budget(max: Option<f64>, period: Option<&str>) -> Option<Budget> {
    max.map(|max_usd| Budget {
        max_usd,
        period: period.and_then(Period::parse).unwrap_or(Period::Total),
    })
}

/// The ring built from stored rows.
pub fn build(keys: &[KeyRow], teams: &[TeamRow]) -> Ring {
    let keys = keys
        .iter()
        .filter_map(|k| {
            let hash = super::unhex32(&k.hash)?;
            let policy = Policy {
                key_id: k.id.clone(),
                team: k.team.clone(),
                models: k.models.clone(),
                budget: budget(k.max_budget_usd, k.budget_period.as_deref()),
                max_request_cost_usd: k.max_request_cost_usd,
                expires_at: k.expires_at,
                revoked_at: k.revoked_at,
                limits: KeyLimits {
                    rpm: k.limits.rpm,
                    tpm: k.limits.tpm,
                    rpd: k.limits.rpd,
                    concurrent: k.limits.concurrent,
                },
            };
            let tenant = Tenant {
                id: k.id.clone(),
                label: Some(k.name.clone()),
                keys: HashMap::new(),
                policy: Some(Arc::new(policy)),
            };
            Some((hash, Arc::new(tenant)))
        })
        .collect();
    let teams = teams
        .iter()
        .map(|t| {
            let team = Team {
                id: t.id.clone(),
                name: t.name.clone(),
                budget: budget(t.max_budget_usd, t.budget_period.as_deref()),
            };
            (t.id.clone(), Arc::new(team))
        })
        .collect();
    Ring { keys, teams }
}

impl KeyRing {
    pub fn get(&self, hash: &[u8; 32]) -> Option<Arc<Tenant>> {
        self.ring.load().keys.get(hash).cloned()
    }

    pub fn team(&self, id: &str) -> Option<Arc<Team>> {
        self.ring.load().teams.get(id).cloned()
    }

    /// Whether the store holds any key (then every LLM call needs one).
    pub fn has_keys(&self) -> bool {
        !self.ring.load().keys.is_empty()
    }

    pub fn snapshot(&self) -> Arc<Ring> {
        self.ring.load_full()
    }

    /// Rebuilds the ring from the store when its version moved (or `force`).
    pub async fn refresh(&self, store: &Store, force: bool) -> Result<(), StoreError> {
        let version = store
            .run(|pool| async move { keys::version(&pool).await })
            .await?;
        if !force && version == self.version.load(Ordering::Acquire) {
            return Ok(());
        }
        let (keys, teams) = store
            .run(|pool| async move {
                let keys = keys::list_keys(&pool).await?;
                let teams = keys::list_teams(&pool).await?;
                Ok((keys, teams))
            })
            .await?;
        self.ring.store(Arc::new(build(&keys, &teams)));
        self.version.store(version, Ordering::Release);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_tenants_and_teams() {
        let hash = format!("{:064x}", 7);
        let key = KeyRow {
            id: "key_1".into(),
            hash: hash.clone(),
            hint: "sk-gw-ab".into(),
            name: "ci".into(),
            team: Some("team_1".into()),
            models: vec!["gpt-*".into()],
            limits: Default::default(),
            max_budget_usd: Some(3.0),
            budget_period: Some("daily".into()),
            max_request_cost_usd: None,
            expires_at: None,
            metadata: serde_json::Value::Null,
            created_at: 0,
            last_used_at: None,
            revoked_at: None,
        };
        let bad = KeyRow {
            hash: "zz".into(),
            ..key.clone()
        };
        let team = TeamRow {
            id: "team_1".into(),
            name: "t".into(),
            max_budget_usd: None,
            budget_period: None,
            metadata: serde_json::Value::Null,
            created_at: 0,
        };
        let ring = build(&[key, bad], &[team]);
        assert_eq!(ring.keys.len(), 1);
        let t = &ring.keys[&super::super::unhex32(&hash).unwrap()];
        let p = t.policy.as_ref().unwrap();
        assert_eq!(
            p.budget,
            Some(Budget {
                max_usd: 3.0,
                period: Period::Daily
            })
        );
        assert!(p.allows("gpt-4o") && !p.allows("claude"));
        assert!(ring.teams["team_1"].budget.is_none());
    }
}
