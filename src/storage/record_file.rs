//! The record writer's own connection to a SQLite file: rows bound straight to one prepared
//! `INSERT` on a blocking thread. sqlx's SQLite driver hands each statement to a worker
//! thread and copies every argument on the way (to its any-database form, then to owned
//! values); for the request records, the one write on every request's account, that was half
//! of the insert's cost. Queries and migrations stay on sqlx.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, ToSql};

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

/// The connection, shared with the blocking task that writes each batch.
#[derive(Clone)]
pub struct RecordFile(Arc<Mutex<Connection>>);

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
        Ok(RecordFile(Arc::new(Mutex::new(conn))))
    }

    /// Writes `batch` in one transaction (blocking): [`ROWS`] rows per statement, the rest
    /// one by one (two statements, both prepared once).
    pub fn insert(&self, batch: &[Record]) -> Result<(), StoreError> {
        let mut conn = self.0.lock().unwrap_or_else(PoisonError::into_inner);
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
        }
        tx.commit().map_err(error)
    }
}

/// Rows in one statement: fewer statements to run (each costs about a third of a row).
const ROWS: usize = 40;

/// Binds `r` to the parameters after the first `base`.
fn bind(st: &mut rusqlite::CachedStatement<'_>, base: usize, r: &Record) -> rusqlite::Result<()> {
    let cost_known = i64::from(!r.cost_unknown);
    let values: [&dyn ToSql; PER_ROW] = [
        &r.id,
        &r.created_at,
        &r.key_id,
        &r.team_id,
        &r.endpoint,
        &r.model_requested,
        &r.provider,
        &r.model,
        &r.status,
        &r.error,
        &r.input_tokens,
        &r.output_tokens,
        &r.cached_tokens,
        &r.cost_usd,
        &r.latency_ms,
        &r.ttft_ms,
        &r.attempts,
        &r.failovers,
        &r.cache_status,
        &r.stream,
        &r.request_body,
        &r.response_body,
        &r.audit,
        &cost_known,
    ];
    for (i, v) in values.into_iter().enumerate() {
        st.raw_bind_parameter(base + i + 1, v)?;
    }
    Ok(())
}

fn insert_sql(rows: usize) -> String {
    let row = format!("({})", vec!["?"; PER_ROW].join(", "));
    format!(
        "INSERT INTO request_records ({COLUMNS}) VALUES {} ON CONFLICT (id) DO NOTHING",
        vec![row; rows].join(", ")
    )
}

/// The file behind a `sqlite://PATH?...` url (as [`super::Store`] normalised it, `mode=rwc`
/// added when none was given); `None` for an in-memory database or another mode.
pub fn path_of(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://")?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let writable = query.split('&').any(|p| p == "mode=rwc");
    (writable && path != ":memory:" && !path.is_empty()).then(|| PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_writable_file_has_a_path() {
        assert_eq!(
            path_of("sqlite://data/a.db?mode=rwc"),
            Some(PathBuf::from("data/a.db"))
        );
        assert_eq!(path_of("sqlite://data/a.db?mode=ro"), None);
        assert_eq!(path_of("sqlite://:memory:?mode=rwc"), None);
        assert_eq!(path_of("sqlite::memory:"), None);
        assert_eq!(path_of("postgres://x/y"), None);
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
        // A full statement's worth and a remainder, and a repeated id kept once.
        let mut batch: Vec<Record> = (0..ROWS + 3)
            .map(|i| Record {
                id: format!("req_{i}"),
                endpoint: "chat".into(),
                request_body: Some("{\"model\":\"m\"}".into()),
                ..Record::default()
            })
            .collect();
        batch.push(batch[0].clone());
        file.insert(&batch).unwrap();
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM request_records", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, (ROWS + 3) as i64);
        let body: String = conn
            .query_row(
                "SELECT request_body FROM request_records WHERE id = 'req_41'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(body, "{\"model\":\"m\"}");
        drop((conn, file));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
