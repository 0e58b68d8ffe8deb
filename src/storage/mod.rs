//! Storage (D1): one schema on SQLite or PostgreSQL through sqlx, or in memory (a named,
//! shared-cache SQLite in-memory database) without `[database] url`. [`Store::open`] connects and migrates at
//! start: an unreachable database, or one at a newer schema version, is a startup error.
//!
//! Every query runs on the store's own runtime (one thread), so the request path never waits
//! on the database: keys are served from an in-memory ring (`tenancy`), and records reach the
//! database through [`writer::Writer`]'s bounded channel and batches.
//!
//! May depend on config types only; the tenancy, api and app modules use it.

pub mod analytics;
pub mod breakers;
pub mod idempotency;
pub mod keys;
mod packed;
pub mod record_file;
pub mod records;
pub mod schema;
pub mod signals;
pub mod writer;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Row};

/// Which database the store speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Memory,
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Memory => "memory",
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A database failure, in words for the operator (never shown to an LLM client).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        StoreError(format!("database error: {e}"))
    }
}

/// The runtime every query runs on; shut down without blocking when the store goes.
struct Runtime(Option<tokio::runtime::Runtime>);

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// The open database.
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Where the record writer opens its own connection (a SQLite file or the in-memory
    /// database), when it can.
    records: Option<record_file::Target>,
    runtime: Runtime,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}

/// How long connecting at start may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl Store {
    /// Opens (and migrates) the database at `url`; `None`: in memory. Blocks; callable from
    /// inside or outside a runtime.
    pub fn open(url: Option<&str>, max_connections: u32) -> Result<Arc<Store>, StoreError> {
        let (backend, url) = match url {
            None => (Backend::Memory, memory_url()),
            Some(u) if u.starts_with("sqlite:") => (Backend::Sqlite, sqlite_url(u)?),
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                (Backend::Postgres, u.to_string())
            }
            Some(_) => {
                return Err(StoreError(
                    "database.url must start with `sqlite://` or `postgres://`".into(),
                ));
            }
        };
        let records = record_file::target_of(&url);
        if let Some(record_file::Target::File(path)) = &records {
            record_file::create(path)?;
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("llmgw-storage")
            .enable_all()
            .build()
            .map_err(|e| StoreError(format!("cannot start the storage thread: {e}")))?;
        let handle = runtime.handle().clone();
        let runtime = Runtime(Some(runtime));
        // Connect and migrate on the store's runtime, waiting from a plain thread (this may be
        // called from inside another runtime, which may not block).
        let connect = async move {
            install_default_drivers();
            // In memory: one connection that never closes, or the database would vanish.
            let options = match backend {
                Backend::Memory => AnyPoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .idle_timeout(None)
                    .max_lifetime(None),
                _ => AnyPoolOptions::new().max_connections(max_connections.max(1)),
            };
            // SQLite in WAL mode (sqlx's default) with `synchronous = NORMAL`: a commit is not
            // waited onto the disk (a checkpoint is), so a crash of the process loses nothing
            // committed; only the machine losing power could lose the last commits.
            let options = if backend == Backend::Sqlite {
                options.after_connect(|conn, _| {
                    Box::pin(async move {
                        sqlx::Executor::execute(conn, "PRAGMA synchronous = NORMAL").await?;
                        Ok(())
                    })
                })
            } else if backend == Backend::Memory {
                // The records are appended a few to a page: larger pages, fewer page splits
                // (set before the migrations create the first table, as a file's are).
                options.after_connect(|conn, _| {
                    Box::pin(async move {
                        sqlx::Executor::execute(conn, "PRAGMA page_size = 16384").await?;
                        Ok(())
                    })
                })
            } else {
                options
            };
            let pool = options
                .acquire_timeout(CONNECT_TIMEOUT)
                .connect(&url)
                .await
                .map_err(|e| StoreError(format!("cannot open database {}: {e}", shown(&url))))?;
            migrate(&pool).await?;
            if backend == Backend::Memory {
                // The in-memory window holds the newest records only, each written once and
                // deleted once: an index on their time cost 5,000 instructions per request
                // (about 7 % of a cache hit); without it a list of the newest reads the whole
                // window (about 0.1 s when full, against 4 ms), as the analytics do anyway.
                sqlx::query("DROP INDEX IF EXISTS request_records_created")
                    .execute(&pool)
                    .await
                    .map_err(|e| {
                        StoreError(format!("cannot prepare the in-memory database: {e}"))
                    })?;
            }
            Ok::<_, StoreError>(pool)
        };
        let pool = std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("llmgw-storage-open".into())
                .spawn_scoped(s, || handle.block_on(connect))
                .map_err(|e| StoreError(format!("cannot start the storage thread: {e}")))?
                .join()
                .map_err(|_| StoreError("opening the database failed".into()))?
        })?;
        Ok(Arc::new(Store {
            pool,
            backend,
            records,
            runtime,
        }))
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite database the record writer may open beside the pool (not PostgreSQL).
    pub fn records_target(&self) -> Option<&record_file::Target> {
        self.records.as_ref()
    }

    /// Runs `work` (given the pool) on the store's runtime and waits for it.
    pub async fn run<T, F, Fut>(&self, work: F) -> Result<T, StoreError>
    where
        F: FnOnce(AnyPool) -> Fut,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
        T: Send + 'static,
    {
        let task = self.spawn(work(self.pool.clone()));
        task.await
            .map_err(|_| StoreError("the storage task stopped".into()))?
    }

    /// Starts `task` on the store's runtime.
    pub fn spawn<T: Send + 'static>(
        &self,
        task: impl Future<Output = T> + Send + 'static,
    ) -> tokio::task::JoinHandle<T> {
        match &self.runtime.0 {
            Some(rt) => rt.spawn(task),
            // Unreachable while the store lives: the runtime goes only with it.
            None => tokio::runtime::Handle::current().spawn(task),
        }
    }

    /// Runs `work` on the store's runtime from outside any runtime (startup): blocks.
    pub fn block_on<T: Send>(&self, work: impl Future<Output = T> + Send) -> T {
        let Some(rt) = &self.runtime.0 else {
            unreachable_runtime()
        };
        let handle = rt.handle().clone();
        std::thread::scope(|s| {
            match std::thread::Builder::new()
                .name("llmgw-storage-load".into())
                .spawn_scoped(s, || handle.block_on(work))
            {
                Ok(t) => t.join().unwrap_or_else(|_| unreachable_runtime()),
                Err(_) => unreachable_runtime(),
            }
        })
    }

    pub fn pool(&self) -> AnyPool {
        self.pool.clone()
    }
}

#[expect(
    clippy::panic,
    reason = "the store's runtime lives as long as the store"
)]
fn unreachable_runtime() -> ! {
    panic!("the storage runtime is gone")
}

/// A name for this store's in-memory database, unique in the process: the pool and the record
/// writer's connection share it (SQLite's shared cache), and it lives while the pool's one
/// connection does.
fn memory_url() -> String {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // `file:`: SQLite shares an in-memory database's cache only when it is named by a URI.
    format!(
        "sqlite:file:llmgw-memory-{}-{n}?mode=memory",
        std::process::id()
    )
}

/// `sqlite://PATH`: the file is created when missing (with its folder).
fn sqlite_url(url: &str) -> Result<String, StoreError> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() {
        return Err(StoreError(
            "database.url `sqlite://` needs a file path".into(),
        ));
    }
    if path != ":memory:"
        && let Some(dir) = std::path::Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError(format!(
                "cannot create the database folder {}: {e}",
                dir.display()
            ))
        })?;
    }
    let query = if query.is_empty() {
        "mode=rwc".to_string()
    } else if query.contains("mode=") {
        query.to_string()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// The URL without its password, for messages.
pub fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// Brings the schema to this build's version. Instances starting together on one database
/// may race: a migration that fails is tried again (up to 5 times) after reading the version
/// again, so the loser finds the work done.
async fn migrate(pool: &AnyPool) -> Result<(), StoreError> {
    let mut tries = 0;
    loop {
        match migrate_once(pool).await {
            Ok(()) => return Ok(()),
            Err(e) if tries < 4 && !e.0.contains("newer than") => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(50 * tries)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn migrate_once(pool: &AnyPool) -> Result<(), StoreError> {
    sqlx::query("CREATE TABLE IF NOT EXISTS gateway_schema (version BIGINT NOT NULL)")
        .execute(pool)
        .await?;
    let row = sqlx::query("SELECT MAX(version) AS v FROM gateway_schema")
        .fetch_one(pool)
        .await?;
    let at: i64 = row.try_get::<Option<i64>, _>("v")?.unwrap_or(0);
    let current = schema::current();
    if at > current {
        return Err(StoreError(format!(
            "the database is at schema version {at}, newer than this gateway's ({current}): run a newer gateway, or point database.url at another database"
        )));
    }
    for (i, statements) in schema::MIGRATIONS.iter().enumerate().skip(at as usize) {
        let mut tx = pool.begin().await?;
        let done: Option<i64> = sqlx::query("SELECT MAX(version) AS v FROM gateway_schema")
            .fetch_one(&mut *tx)
            .await?
            .try_get("v")?;
        if done.unwrap_or(0) > i as i64 {
            continue;
        }
        for s in *statements {
            sqlx::query(s).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT INTO gateway_schema (version) VALUES ($1)")
            .bind(i as i64 + 1)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    #[expect(
        clippy::disallowed_methods,
        reason = "records and keys are stamped with wall-clock time"
    )]
    let now = std::time::SystemTime::now();
    now.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
