//! Databases for the storage tests: a fresh SQLite file per test, or a fresh schema per test
//! in PostgreSQL. The PostgreSQL database is the one `LLMGW_TEST_DATABASE_URL` names
//! (`scripts/test.sh` creates one per run), else `llmgw_test` on the local server, created
//! when missing. When no PostgreSQL answers, the PostgreSQL variants say so and pass without
//! running (`scripts/test.sh` prints that it skips them).

use std::path::PathBuf;

use rand::Rng;
use sqlx::Connection;

/// A database for one test; removed (file or schema) when dropped.
pub struct Db {
    /// `[database] url`.
    pub url: String,
    /// The SQLite file, for tests that read it.
    pub file: Option<PathBuf>,
}

fn suffix() -> String {
    format!("{:016x}", rand::thread_rng().r#gen::<u64>())
}

impl Db {
    pub fn sqlite() -> Db {
        let dir = std::env::temp_dir().join(format!("llmgw-test-{}", suffix()));
        let file = dir.join("gateway.db");
        Db {
            url: format!("sqlite://{}", file.display()),
            file: Some(file),
        }
    }

    /// A fresh schema in the test PostgreSQL database; `None` when none answers.
    pub async fn postgres() -> Option<Db> {
        let base = std::env::var("LLMGW_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/llmgw_test".to_string());
        let mut conn = match sqlx::PgConnection::connect(&base).await {
            Ok(c) => c,
            Err(_) => {
                // The default database may not exist yet: make it from the server's own.
                let admin = base
                    .rsplit_once('/')
                    .map(|(server, _)| format!("{server}/postgres"))?;
                let mut a = match sqlx::PgConnection::connect(&admin).await {
                    Ok(a) => a,
                    Err(e) => {
                        eprintln!("SKIPPED: no PostgreSQL at {base}: {e}");
                        return None;
                    }
                };
                let name = base.rsplit('/').next()?.split('?').next()?.to_string();
                let _ = sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut a)
                    .await;
                sqlx::PgConnection::connect(&base).await.ok()?
            }
        };
        let schema = format!("t_{}", suffix());
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut conn)
            .await
            .ok()?;
        let sep = if base.contains('?') { '&' } else { '?' };
        Some(Db {
            url: format!("{base}{sep}options=-c%20search_path%3D{schema}"),
            file: None,
        })
    }

    /// The first column of `sql`'s rows, as text (to watch what the gateway wrote).
    pub async fn texts(&self, sql: &str) -> Vec<String> {
        sqlx::any::install_default_drivers();
        let url = match &self.file {
            Some(file) => format!("sqlite://{}?mode=ro", file.display()),
            None => self.url.clone(),
        };
        let Ok(mut conn) = sqlx::AnyConnection::connect(&url).await else {
            return Vec::new();
        };
        let rows = sqlx::query(sql)
            .fetch_all(&mut conn)
            .await
            .unwrap_or_default();
        rows.iter()
            .filter_map(|r| sqlx::Row::try_get::<String, _>(r, 0).ok())
            .collect()
    }

    /// The `[database]` section for this database.
    pub fn section(&self) -> String {
        format!("[database]\nurl = \"{}\"\n", self.url)
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(dir) = self.file.as_ref().and_then(|f| f.parent()) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Runs a storage test on SQLite and on PostgreSQL: `storage_tests!(name, ...)` makes
/// `name_sqlite` and `name_postgres` from `async fn name(db: Db)`.
#[macro_export]
macro_rules! storage_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::db::Db::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::db::Db::postgres().await {
                        super::$name(db).await;
                    }
                }
            )*
        }
    };
}
