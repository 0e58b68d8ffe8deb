//! The record writer's own connection to a SQLite database (a file, or the store's named
//! in-memory database through SQLite's shared cache): rows bound straight to one prepared
//! `INSERT` on a blocking thread. sqlx's SQLite driver hands each statement to a worker
//! thread and copies every argument on the way (to its any-database form, then to owned
//! values); for the request records, the one write on every request's account, that was half
//! of the insert's cost. Queries and migrations stay on sqlx.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, ToSql};

use super::StoreError;
use super::records::{COLUMNS, PER_ROW, Record};

/// How long a write waits for another connection's transaction (a purge, a key change).
const BUSY_WAIT: Duration = Duration::from_secs(5);

/// The page size of a database file the gateway creates: the records are appended, a few
/// rows to a page, and a larger page means fewer writes to the log and at checkpoints.
const PAGE_SIZE: u32 = 16_384;
/// Pages the write-ahead log grows to before it is copied into the database (32 MiB).
const CHECKPOINT_PAGES: u32 = 2_048;

/// Creates the database file at `path` when it does not exist yet, with the gateway's page
/// size, in WAL mode (before the first table fixes the page size).
pub fn create(path: &Path) -> Result<(), StoreError> {
    if path.exists() {
        return Ok(());
    }
    let conn = Connection::open(path)
        .map_err(|e| StoreError(format!("cannot create database {}: {e}", path.display())))?;
    conn.pragma_update(None, "page_size", PAGE_SIZE)
        .map_err(error)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(error)?;
    Ok(())
}

/// The database the writer opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A SQLite file.
    File(PathBuf),
    /// The store's in-memory database, by its shared-cache name.
    Memory(String),
}

/// The connection, shared with the blocking task that writes each batch, and how many
/// records it keeps (in memory: the newest only).
#[derive(Clone)]
pub struct RecordFile {
    conn: Arc<Mutex<Connection>>,
    keep: Option<i64>,
}

impl std::fmt::Debug for RecordFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordFile").finish_non_exhaustive()
    }
}

fn error(e: rusqlite::Error) -> StoreError {
    StoreError(format!("database error: {e}"))
}

impl RecordFile {
    /// Opens the (already migrated) database file at `path`, in WAL mode with
    /// `synchronous = NORMAL` as the pool's connections.
    pub fn open(path: &Path) -> Result<RecordFile, StoreError> {
        let conn = Connection::open(path).map_err(|e| {
            StoreError(format!(
                "cannot open database {} for records: {e}",
                path.display()
            ))
        })?;
        conn.busy_timeout(BUSY_WAIT).map_err(error)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(error)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(error)?;
        conn.pragma_update(None, "wal_autocheckpoint", CHECKPOINT_PAGES)
            .map_err(error)?;
        // A statement of several rows keeps the pages it changes in a statement journal (to
        // undo itself alone); in a temporary file, that was a write of every page and more
        // writes than the log's own.
        conn.pragma_update(None, "temp_store", "MEMORY")
            .map_err(error)?;
        Ok(RecordFile {
            conn: Arc::new(Mutex::new(conn)),
            keep: None,
        })
    }

    /// Opens the writer's connection to `target`; an in-memory database keeps the newest
    /// `keep` records.
    pub fn open_target(target: &Target, keep: i64) -> Result<RecordFile, StoreError> {
        match target {
            Target::File(path) => RecordFile::open(path),
            Target::Memory(name) => {
                // The pool's connection opened this name with the same flags: this one joins
                // its database. Shared-cache locks are per table and not waited on by a busy
                // handler: rusqlite waits for them through SQLite's unlock notification.
                let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_URI
                    | OpenFlags::SQLITE_OPEN_MEMORY
                    | OpenFlags::SQLITE_OPEN_SHARED_CACHE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX;
                let conn = Connection::open_with_flags(name, flags).map_err(|e| {
                    StoreError(format!(
                        "cannot open the in-memory database for records: {e}"
                    ))
                })?;
                conn.pragma_update(None, "temp_store", "MEMORY")
                    .map_err(error)?;
                Ok(RecordFile {
                    conn: Arc::new(Mutex::new(conn)),
                    keep: Some(keep),
                })
            }
        }
    }

    /// Writes `batch` in one transaction (blocking): [`ROWS`] rows per statement, the rest
    /// one by one (two statements, both prepared once); in memory, the records beyond the
    /// newest `keep` go in the same transaction.
    pub fn insert(&self, batch: &[Record]) -> Result<(), StoreError> {
        let mut conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        let tx = conn.transaction().map_err(error)?;
        {
            let mut many = tx.prepare_cached(&insert_sql(ROWS)).map_err(error)?;
            let mut one = tx.prepare_cached(&insert_sql(1)).map_err(error)?;
            let mut chunks = batch.chunks_exact(ROWS);
            for chunk in &mut chunks {
                for (i, r) in chunk.iter().enumerate() {
                    bind(&mut many, i * PER_ROW, r).map_err(error)?;
                }
                many.raw_execute().map_err(error)?;
            }
            for r in chunks.remainder() {
                bind(&mut one, 0, r).map_err(error)?;
                one.raw_execute().map_err(error)?;
            }
            if let Some(keep) = self.keep {
                tx.prepare_cached(TRIM)
                    .and_then(|mut trim| trim.execute([keep]))
                    .map_err(error)?;
            }
        }
        tx.commit().map_err(error)
    }
}

impl RecordFile {
    /// Drops every record (blocking).
    pub fn clear(&self) -> Result<(), StoreError> {
        let conn = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        conn.execute("DELETE FROM request_records", [])
            .map(drop)
            .map_err(error)
    }
}

/// Drops the records beyond the newest `?1` (by insertion order).
pub const TRIM: &str =
    "DELETE FROM request_records WHERE rowid <= (SELECT MAX(rowid) FROM request_records) - ?1";

/// Rows in one statement: fewer statements to run (each costs about a third of a row).
const ROWS: usize = 40;

/// Binds `r` to the parameters after the first `base`, every one of them (an absent value as
/// null), each through its own type (no dynamic call per column).
fn bind(st: &mut rusqlite::CachedStatement<'_>, base: usize, r: &Record) -> rusqlite::Result<()> {
    let mut at = base;
    let mut next = || {
        at += 1;
        at
    };
    st.raw_bind_parameter(next(), r.id.as_str())?;
    st.raw_bind_parameter(next(), r.created_at)?;
    bind_some(st, next(), r.key_id.as_deref())?;
    bind_some(st, next(), r.team_id.as_deref())?;
    st.raw_bind_parameter(next(), r.endpoint.as_str())?;
    bind_some(st, next(), r.model_requested.as_deref())?;
    bind_some(st, next(), r.provider.as_deref())?;
    bind_some(st, next(), r.model.as_deref())?;
    st.raw_bind_parameter(next(), r.status)?;
    bind_some(st, next(), r.error.as_deref())?;
    st.raw_bind_parameter(next(), r.input_tokens)?;
    st.raw_bind_parameter(next(), r.output_tokens)?;
    st.raw_bind_parameter(next(), r.cached_tokens)?;
    st.raw_bind_parameter(next(), r.cost_usd)?;
    st.raw_bind_parameter(next(), r.latency_ms)?;
    bind_some(st, next(), r.ttft_ms)?;
    st.raw_bind_parameter(next(), r.attempts)?;
    st.raw_bind_parameter(next(), r.failovers)?;
    bind_some(st, next(), r.cache_status.as_deref())?;
    st.raw_bind_parameter(next(), i64::from(r.stream))?;
    bind_some(st, next(), r.request_body.as_deref())?;
    bind_some(st, next(), r.response_body.as_deref())?;
    bind_some(st, next(), r.audit.as_deref())?;
    st.raw_bind_parameter(next(), i64::from(!r.cost_unknown))?;
    bind_some(st, next(), r.source.as_deref())?;
    bind_some(st, next(), r.project.as_deref())
}

/// Binds `value` at `at`, or null when there is none (every parameter of a row is bound on
/// every use of the statement: nothing of the previous row can remain, and the statement
/// needs no clearing of all its bindings between rows).
fn bind_some<T: ToSql>(
    st: &mut rusqlite::CachedStatement<'_>,
    at: usize,
    value: Option<T>,
) -> rusqlite::Result<()> {
    match value {
        Some(v) => st.raw_bind_parameter(at, v),
        None => st.raw_bind_parameter(at, rusqlite::types::Null),
    }
}

fn insert_sql(rows: usize) -> String {
    let row = format!("({})", vec!["?"; PER_ROW].join(", "));
    format!(
        "INSERT INTO request_records ({COLUMNS}) VALUES {} ON CONFLICT (id) DO NOTHING",
        vec![row; rows].join(", ")
    )
}

/// The database behind a `sqlite://PATH?...` url as [`super::Store`] normalised it: a file
/// (`mode=rwc`, added when no mode was given) or a named in-memory database (`mode=memory`);
/// `None` for `:memory:` (a name only sqlx knows) or another mode.
pub fn target_of(url: &str) -> Option<Target> {
    let rest = url.strip_prefix("sqlite://").or_else(|| {
        url.strip_prefix("sqlite:")
            .filter(|r| r.starts_with("file:"))
    })?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path == ":memory:" || path.is_empty() {
        return None;
    }
    query.split('&').find_map(|p| match p {
        "mode=rwc" => Some(Target::File(PathBuf::from(path))),
        "mode=memory" => Some(Target::Memory(path.to_string())),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_writable_file_or_a_named_memory_database_is_a_target() {
        assert_eq!(
            target_of("sqlite://data/a.db?mode=rwc"),
            Some(Target::File(PathBuf::from("data/a.db")))
        );
        assert_eq!(
            target_of("sqlite:file:llmgw-memory-1-0?mode=memory"),
            Some(Target::Memory("file:llmgw-memory-1-0".into()))
        );
        assert_eq!(target_of("sqlite://data/a.db?mode=ro"), None);
        assert_eq!(target_of("sqlite://:memory:?mode=rwc"), None);
        assert_eq!(target_of("sqlite::memory:"), None);
        assert_eq!(target_of("postgres://x/y"), None);
    }

    #[test]
    fn a_new_file_gets_the_page_size_and_keeps_what_is_written() {
        let dir = std::env::temp_dir().join(format!("llmgw-record-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("r.db");
        let _ = std::fs::remove_file(&path);
        create(&path).unwrap();
        let conn = Connection::open(&path).unwrap();
        let size: u32 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap();
        assert_eq!(size, PAGE_SIZE);
        for migration in super::super::schema::MIGRATIONS {
            conn.execute_batch(migration.join(";\n").as_str()).unwrap();
        }
        let file = RecordFile::open(&path).unwrap();
        // Two full statements' worth and a remainder, and a repeated id kept once. Bodies in
        // the first statement and the remainder's first row only: a row without one, bound
        // where the previous use of the statement had one, reads null.
        let mut batch: Vec<Record> = (0..2 * ROWS + 3)
            .map(|i| Record {
                id: format!("req_{i}"),
                endpoint: "chat".into(),
                request_body: (i < ROWS || i == 2 * ROWS).then(|| "{\"model\":\"m\"}".into()),
                ..Record::default()
            })
            .collect();
        batch.push(batch[0].clone());
        file.insert(&batch).unwrap();
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM request_records", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, (2 * ROWS + 3) as i64);
        let body = |i: usize| -> Option<String> {
            conn.query_row(
                "SELECT request_body FROM request_records WHERE id = ?1",
                [format!("req_{i}")],
                |r| r.get(0),
            )
            .unwrap()
        };
        assert_eq!(body(1).as_deref(), Some("{\"model\":\"m\"}"));
        assert_eq!(body(ROWS), None);
        assert_eq!(body(2 * ROWS).as_deref(), Some("{\"model\":\"m\"}"));
        assert_eq!(body(2 * ROWS + 1), None);
        drop((conn, file));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
