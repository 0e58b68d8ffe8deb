//! The background writer of request records: takes them off the request path through a
//! bounded channel (a full channel drops and counts), writes them in batches every second or
//! when the queue is half full, and `flush` waits for everything queued. A SQLite file is
//! written through the writer's own connection ([`super::record_file`]); PostgreSQL through
//! the store's pool. Without a database file the records are a window on the recent past:
//! the writer keeps the newest [`MEMORY_RECORDS`] packed in byte segments
//! ([`super::packed`]) and turns them into rows of the in-memory database only when
//! something is about to read them (`materialize`), so a record nobody asks for before it
//! leaves the window costs no SQL at all.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sqlx::AnyPool;
use tokio::sync::{Notify, mpsc, oneshot};

use super::packed::Packed;
use super::record_file::{RecordFile, Target};
use super::records::{Record, insert};
use super::{Backend, Store, StoreError};

/// Records written in one transaction at most (a busy gateway's second of records).
const BATCH: usize = 10_000;
/// The longest a record waits in the writer before it is written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The background writer's front: cheap to call from the request path. Queuing a record
/// wakes nothing: the writer comes by once a second (or when the queue is half full) and
/// takes everything queued, so a busy gateway pays no thread wake-up per request.
pub struct Writer {
    tx: mpsc::Sender<Box<Record>>,
    flushes: mpsc::UnboundedSender<Flush>,
    /// Wakes the writer early, when the queue is half full.
    early: Arc<Notify>,
    half: usize,
    dropped: AtomicU64,
    written: Arc<AtomicU64>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts the writer on the store's runtime, with room for `capacity` queued records.
    pub fn start(store: &Arc<Store>, capacity: usize) -> Writer {
        let capacity = capacity.max(2);
        let (tx, rx) = mpsc::channel(capacity);
        let (flushes, flush_rx) = mpsc::unbounded_channel();
        let early = Arc::new(Notify::new());
        let written = Arc::new(AtomicU64::new(0));
        let numbered = store.backend() == Backend::Postgres;
        let own = store
            .records_target()
            .map(|t| RecordFile::open_target(t, MEMORY_RECORDS));
        let memory = matches!(store.records_target(), Some(Target::Memory(_)));
        let sink = match own {
            Some(Ok(file)) if memory => Sink::Window(Window {
                file,
                records: Packed::default(),
                keep: MEMORY_RECORDS.unsigned_abs() as usize,
                rows: false,
            }),
            Some(Ok(file)) => Sink::File(file),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "records are written through the shared pool");
                Sink::Pool(store.pool(), numbered)
            }
            None if store.backend() == Backend::Memory => Sink::Memory(store.pool()),
            None => Sink::Pool(store.pool(), numbered),
        };
        let queue = Queue {
            rx,
            flushes: flush_rx,
            early: early.clone(),
        };
        store.spawn(run(sink, queue, written.clone()));
        Writer {
            tx,
            flushes,
            early,
            half: capacity / 2,
            dropped: AtomicU64::new(0),
            written,
        }
    }

    /// Queues a record; when the queue is full it is dropped and counted.
    pub fn record(&self, record: Record) {
        match self.tx.try_send(Box::new(record)) {
            Ok(()) => {
                if self.tx.capacity() < self.half {
                    self.early.notify_one();
                }
            }
            Err(_) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Records dropped because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Records written so far.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Waits until every record queued before this call is written (or `limit` passes).
    pub async fn flush(&self, limit: Duration) {
        self.wait(limit, false).await;
    }

    /// Waits until every record queued before this call is a row that a query sees (or
    /// `limit` passes): [`flush`](Self::flush), and without a database file, the window's
    /// records written into the in-memory database.
    pub async fn materialize(&self, limit: Duration) {
        self.wait(limit, true).await;
    }

    async fn wait(&self, limit: Duration, materialize: bool) {
        let (done, wait) = oneshot::channel();
        if self.flushes.send(Flush { done, materialize }).is_ok() {
            let _ = tokio::time::timeout(limit, wait).await;
        }
    }
}

/// A caller waiting for the queue to be written.
struct Flush {
    done: oneshot::Sender<()>,
    /// The in-memory window too.
    materialize: bool,
}

/// The writer's side of the queue.
struct Queue {
    rx: mpsc::Receiver<Box<Record>>,
    flushes: mpsc::UnboundedReceiver<Flush>,
    early: Arc<Notify>,
}

/// Where the writer writes: the store's pool, its own connection to the SQLite file, or the
/// window of the newest records (oldest first) over its own connection to the in-memory
/// database.
enum Sink {
    Pool(AnyPool, bool),
    File(RecordFile),
    Window(Window),
    /// The in-memory database through the pool (when the writer's own connection could not
    /// be opened): it keeps the newest [`MEMORY_RECORDS`] records only.
    Memory(AnyPool),
}

/// The newest records, oldest first (packed), and the in-memory database they become rows
/// of.
struct Window {
    file: RecordFile,
    records: Packed,
    /// How many records the window and the table keep ([`MEMORY_RECORDS`]).
    keep: usize,
    /// The table may hold rows (written by a `materialize`); they are all older than
    /// `records`.
    rows: bool,
}

/// Records an in-memory database keeps (about 1 KiB each with bodies): without a database
/// file the records are a window on the recent past, not a log that grows until memory ends.
pub const MEMORY_RECORDS: i64 = 50_000;

async fn run(mut sink: Sink, mut queue: Queue, written: Arc<AtomicU64>) {
    let mut batch: Vec<Record> = Vec::with_capacity(BATCH);
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let (flush, last) = tokio::select! {
            _ = tick.tick() => (None, false),
            () = queue.early.notified() => (None, false),
            flush = queue.flushes.recv() => match flush {
                Some(done) => (Some(done), false),
                // The writer's front is gone: write what is left and stop.
                None => (None, true),
            },
        };
        // Everything queued so far, a batch at a time.
        loop {
            while batch.len() < BATCH {
                match queue.rx.try_recv() {
                    Ok(r) => batch.push(*r),
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                break;
            }
            let full = batch.len() == BATCH;
            write(&mut sink, &mut batch, &written).await;
            if !full {
                break;
            }
        }
        if let Some(Flush { done, materialize }) = flush {
            if materialize {
                materialize_window(&mut sink).await;
            }
            let _ = done.send(());
        }
        if last {
            return;
        }
    }
}

/// Writes and empties `batch`; a failed batch is logged and dropped (the database is down:
/// holding it would only grow).
async fn write(sink: &mut Sink, batch: &mut Vec<Record>, written: &AtomicU64) {
    if batch.is_empty() {
        return;
    }
    let n = batch.len() as u64;
    let result = match sink {
        Sink::Window(window) => {
            let keep = window.keep;
            for r in batch.drain(..) {
                window.records.push(&r);
            }
            window.records.trim(keep);
            // The window alone holds the newest records: every row is older, and goes (so
            // memory holds the window's worth once more at most, not the table's as well).
            if window.rows && window.records.len() >= keep {
                window.rows = false;
                let file = window.file.clone();
                match tokio::task::spawn_blocking(move || file.clear()).await {
                    Ok(result) => result,
                    Err(_) => Err(StoreError("the record writer's thread stopped".into())),
                }
            } else {
                Ok(())
            }
        }
        Sink::Pool(pool, numbered) => insert(pool, batch, *numbered).await,
        Sink::Memory(pool) => match insert(pool, batch, false).await {
            Ok(()) => trim(pool, MEMORY_RECORDS).await,
            Err(e) => Err(e),
        },
        Sink::File(file) => {
            // The batch goes to a blocking thread and comes back, to keep its capacity.
            let (file, rows) = (file.clone(), std::mem::take(batch));
            match tokio::task::spawn_blocking(move || (file.insert(&rows), rows)).await {
                Ok((result, rows)) => {
                    *batch = rows;
                    result
                }
                Err(_) => Err(StoreError("the record writer's thread stopped".into())),
            }
        }
    };
    match result {
        Ok(()) => {
            written.fetch_add(n, Ordering::Relaxed);
        }
        Err(e) => tracing::error!(records = n, error = %e, "request records were not written"),
    }
    batch.clear();
}

/// Writes the window's records into the in-memory database (which then drops the rows
/// beyond the newest [`MEMORY_RECORDS`]) and empties it. A failure is logged: the records
/// are lost, as a failed batch is.
async fn materialize_window(sink: &mut Sink) {
    let Sink::Window(window) = sink else {
        return;
    };
    if window.records.is_empty() {
        return;
    }
    window.rows = true;
    let mut rows = window.records.take();
    // (Fewer than a segment's worth of older ones came with the newest.)
    rows.drain(..rows.len().saturating_sub(window.keep));
    let file = window.file.clone();
    let n = rows.len();
    match tokio::task::spawn_blocking(move || file.insert(&rows)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!(records = n, error = %e, "request records were not written"),
        Err(_) => tracing::error!(records = n, "the record writer's thread stopped"),
    }
}

/// Drops the records beyond the newest `keep` (by insertion order).
async fn trim(pool: &AnyPool, keep: i64) -> Result<(), StoreError> {
    sqlx::query(super::record_file::TRIM)
        .bind(keep)
        .execute(pool)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_connection_shares_the_in_memory_database() {
        let store = Store::open(None, 1).unwrap();
        let Some(target) = store.records_target() else {
            panic!("the in-memory database has no name");
        };
        let file = RecordFile::open_target(target, 5).unwrap();
        let batch: Vec<Record> = (0..8)
            .map(|i| Record {
                id: format!("req_{i}"),
                endpoint: "chat_completions".into(),
                ..Record::default()
            })
            .collect();
        file.insert(&batch).unwrap();
        let ids: Vec<String> = store.block_on(async {
            sqlx::query_scalar("SELECT id FROM request_records ORDER BY id")
                .fetch_all(&store.pool())
                .await
                .unwrap()
        });
        assert_eq!(ids, ["req_3", "req_4", "req_5", "req_6", "req_7"]);
        // Another store is another database.
        let other = Store::open(None, 1).unwrap();
        assert_ne!(other.records_target(), store.records_target());
    }

    fn numbered(range: std::ops::Range<i64>) -> Vec<Record> {
        range
            .map(|i| Record {
                id: format!("req_{i:03}"),
                created_at: i,
                endpoint: "chat_completions".into(),
                ..Record::default()
            })
            .collect()
    }

    #[test]
    fn in_memory_records_become_rows_when_a_query_asks() {
        let store = Store::open(None, 1).unwrap();
        let writer = Writer::start(&store, 64);
        for r in numbered(0..8) {
            writer.record(r);
        }
        let count = || {
            store.block_on(async {
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM request_records")
                    .fetch_one(&store.pool())
                    .await
                    .unwrap()
            })
        };
        store.block_on(writer.flush(Duration::from_secs(10)));
        assert_eq!(writer.written(), 8);
        assert_eq!(count(), 0, "a flush leaves the window as it is");
        store.block_on(writer.materialize(Duration::from_secs(10)));
        assert_eq!(count(), 8);
        // The window was emptied into the table: the next records join the rows.
        for r in numbered(8..10) {
            writer.record(r);
        }
        store.block_on(writer.materialize(Duration::from_secs(10)));
        assert_eq!(count(), 10);
    }

    #[test]
    fn the_window_and_its_rows_hold_the_newest_records_once_more_at_most() {
        let store = Store::open(None, 1).unwrap();
        let Some(target) = store.records_target() else {
            panic!("the in-memory database has no name");
        };
        let file = RecordFile::open_target(target, 5).unwrap();
        let mut sink = Sink::Window(Window {
            file,
            records: Packed::default(),
            keep: 5,
            rows: false,
        });
        let written = AtomicU64::new(0);
        let rows = || -> Vec<i64> {
            store.block_on(async {
                sqlx::query_scalar("SELECT created_at FROM request_records ORDER BY created_at")
                    .fetch_all(&store.pool())
                    .await
                    .unwrap()
            })
        };
        // The window's records (taken and put back).
        let window = |sink: &mut Sink| match sink {
            Sink::Window(w) => {
                let records = w.records.take();
                for r in &records {
                    w.records.push(r);
                }
                records.iter().map(|r| r.created_at).collect::<Vec<i64>>()
            }
            _ => unreachable!(),
        };
        store.block_on(async {
            write(&mut sink, &mut numbered(0..3), &written).await;
            materialize_window(&mut sink).await;
        });
        assert_eq!(rows(), [0, 1, 2]);
        assert!(window(&mut sink).is_empty());
        // Fewer than the window holds: the rows stay until the next query trims them.
        store.block_on(write(&mut sink, &mut numbered(3..6), &written));
        assert_eq!(rows(), [0, 1, 2]);
        assert_eq!(window(&mut sink), [3, 4, 5]);
        store.block_on(materialize_window(&mut sink));
        assert_eq!(rows(), [1, 2, 3, 4, 5]);
        // A full window makes every row stale: they go at once.
        store.block_on(write(&mut sink, &mut numbered(6..11), &written));
        assert!(rows().is_empty());
        assert_eq!(window(&mut sink), [6, 7, 8, 9, 10]);
        store.block_on(materialize_window(&mut sink));
        assert_eq!(rows(), [6, 7, 8, 9, 10]);
        assert_eq!(written.load(Ordering::Relaxed), 11);
    }

    #[test]
    fn the_in_memory_records_keep_the_newest() {
        let store = Store::open(None, 1).unwrap();
        let batch: Vec<Record> = (0..41)
            .map(|i| Record {
                id: format!("req_{i:03}"),
                created_at: i,
                endpoint: "chat_completions".into(),
                ..Record::default()
            })
            .collect();
        store.block_on(async {
            let pool = store.pool();
            insert(&pool, &batch, false).await.unwrap();
            trim(&pool, 10).await.unwrap();
            let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM request_records ORDER BY id")
                .fetch_all(&pool)
                .await
                .unwrap();
            assert_eq!(ids.len(), 10);
            assert_eq!(ids[0], "req_031");
        });
    }
}
