//! A Redis client for the state several gateway instances share (limits, budgets): one
//! pipelined connection driven by a background task, with bounded waits everywhere.
//!
//! - A call fails at once while the connection is down (no request waits for a reconnect),
//!   after [`CALL_TIMEOUT`] when Redis is slow, and with [`RedisError::Busy`] when the queue
//!   to the connection is full. Callers decide what a failure means (limits fail open or
//!   closed; budgets fail closed).
//! - The task reconnects by itself with a backoff from 50 ms to 2 s; a connection whose
//!   oldest reply is overdue by [`STALL`] is dropped and replaced.
//! - Scripts run by `EVALSHA`, falling back to `EVAL` when the server does not know them
//!   (restarted, flushed).
//! - Every key the gateway writes starts with `[redis] key_prefix`.

pub mod resp;

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use resp::Reply;

/// The longest a caller waits for a reply.
pub const CALL_TIMEOUT: Duration = Duration::from_millis(250);
/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// A connection whose oldest pending reply is this late is replaced.
const STALL: Duration = Duration::from_secs(1);
/// Commands queued for the connection at most.
const QUEUE: usize = 8_192;
const MIN_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedisError {
    #[error("Redis is unreachable")]
    Down,
    #[error("Redis did not answer in time")]
    Timeout,
    #[error("too many Redis commands queued")]
    Busy,
    #[error("Redis refused the command: {0}")]
    Server(String),
    #[error("Redis answered something unexpected")]
    Unexpected,
}

/// Where to connect and how to log in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub addr: String,
    pub user: Option<String>,
    pub password: Option<String>,
    pub db: u32,
}

impl Target {
    /// Reads `redis://[[user]:password@]host[:port][/db]`.
    pub fn parse(url: &str) -> Result<Target, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("redis.url: {e}"))?;
        match parsed.scheme() {
            "redis" => {}
            "rediss" => return Err("redis.url: TLS to Redis (rediss://) is not supported yet; reach Redis over a private network or a local TLS tunnel".into()),
            other => return Err(format!("redis.url: unknown scheme `{other}`")),
        }
        let host = parsed
            .host_str()
            .ok_or("redis.url: no host")?
            .trim_matches(['[', ']']);
        let port = parsed.port().unwrap_or(6379);
        let addr = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        };
        let user = Some(parsed.username())
            .filter(|u| !u.is_empty())
            .and_then(decode);
        let password = parsed.password().and_then(decode);
        let db = match parsed.path().trim_start_matches('/') {
            "" => 0,
            n => n
                .parse()
                .map_err(|_| format!("redis.url: `{n}` is not a database number"))?,
        };
        Ok(Target {
            addr,
            user,
            password,
            db,
        })
    }
}

/// A Lua script, run by its SHA-1 digest.
pub struct Script {
    body: &'static str,
    sha: String,
}

impl Script {
    pub fn new(body: &'static str) -> Script {
        let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, body.as_bytes());
        let sha = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        Script { body, sha }
    }
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Script({})", self.sha)
    }
}

struct Job {
    bytes: Vec<u8>,
    reply: Option<oneshot::Sender<Reply>>,
}

/// The client: cheap to share.
#[derive(Debug)]
pub struct Redis {
    jobs: mpsc::Sender<Job>,
    up: Arc<AtomicBool>,
    /// Every key starts with it.
    pub prefix: String,
    errors: AtomicU64,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Job({} bytes)", self.bytes.len())
    }
}

impl Redis {
    /// A client for `target`; `spawn` starts its connection task (on a runtime that outlives
    /// the client's users). Connecting happens in the background.
    pub fn start(
        target: Target,
        prefix: &str,
        spawn: impl FnOnce(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>),
    ) -> Arc<Redis> {
        let (tx, rx) = mpsc::channel(QUEUE);
        let up = Arc::new(AtomicBool::new(false));
        spawn(Box::pin(drive(target, rx, up.clone())));
        Arc::new(Redis {
            jobs: tx,
            up,
            prefix: prefix.to_string(),
            errors: AtomicU64::new(0),
        })
    }

    /// Whether the connection is up now.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Calls that failed (for the `gateway_redis_errors_total` metric).
    pub fn errors(&self) -> u64 {
        self.errors.load(Ordering::Relaxed)
    }

    /// Waits until the connection is up, for at most `wait` (startup, tests).
    pub async fn ready(&self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        while !self.is_up() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.is_up()
    }

    /// Sends the encoded command `bytes` and waits for its reply.
    pub async fn call(&self, bytes: Vec<u8>) -> Result<Reply, RedisError> {
        let result = self.call_inner(bytes).await;
        if result.is_err() {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    async fn call_inner(&self, bytes: Vec<u8>) -> Result<Reply, RedisError> {
        if !self.is_up() {
            return Err(RedisError::Down);
        }
        let (tx, rx) = oneshot::channel();
        self.jobs
            .try_send(Job {
                bytes,
                reply: Some(tx),
            })
            .map_err(|_| RedisError::Busy)?;
        match tokio::time::timeout(CALL_TIMEOUT, rx).await {
            Ok(Ok(Reply::Error(e))) => Err(RedisError::Server(e)),
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err(RedisError::Down),
            Err(_) => Err(RedisError::Timeout),
        }
    }

    /// Sends the encoded command `bytes` without waiting for its reply (releases that must
    /// not hold up the request's end). Dropped when Redis is down or the queue is full.
    pub fn send(&self, bytes: Vec<u8>) -> bool {
        let sent = self.is_up() && self.jobs.try_send(Job { bytes, reply: None }).is_ok();
        if !sent {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    /// Runs `script` with `keys` and `args`.
    pub async fn eval<A: AsRef<[u8]>>(
        &self,
        script: &Script,
        keys: &[A],
        args: &[A],
    ) -> Result<Reply, RedisError> {
        match self.call(eval_command(script, true, keys, args)).await {
            Err(RedisError::Server(e)) if e.starts_with("NOSCRIPT") => {
                self.call(eval_command(script, false, keys, args)).await
            }
            other => other,
        }
    }

    /// Runs `script` without waiting for its answer; see [`Redis::send`].
    pub fn eval_detached<A: AsRef<[u8]>>(&self, script: &Script, keys: &[A], args: &[A]) {
        // By body: a detached call cannot fall back when the server lacks the digest.
        self.send(eval_command(script, false, keys, args));
    }
}

/// `EVALSHA` (by digest) or `EVAL` (by body) of `script`.
fn eval_command<A: AsRef<[u8]>>(script: &Script, by_sha: bool, keys: &[A], args: &[A]) -> Vec<u8> {
    let count = keys.len().to_string();
    let mut parts: Vec<&[u8]> = Vec::with_capacity(3 + keys.len() + args.len());
    if by_sha {
        parts.extend([b"EVALSHA".as_slice(), script.sha.as_bytes()]);
    } else {
        parts.extend([b"EVAL".as_slice(), script.body.as_bytes()]);
    }
    parts.push(count.as_bytes());
    parts.extend(keys.iter().map(AsRef::as_ref));
    parts.extend(args.iter().map(AsRef::as_ref));
    let mut out = Vec::with_capacity(64 + parts.iter().map(|p| p.len() + 8).sum::<usize>());
    resp::encode(&mut out, &parts);
    out
}

/// The connection task: connects, serves the queue, reconnects; ends when the client goes.
async fn drive(target: Target, mut jobs: mpsc::Receiver<Job>, up: Arc<AtomicBool>) {
    let mut backoff = MIN_BACKOFF;
    let mut reported = false;
    loop {
        match connect(&target).await {
            Ok(stream) => {
                up.store(true, Ordering::Relaxed);
                if reported {
                    tracing::info!(addr = %target.addr, "Redis is reachable again");
                }
                reported = false;
                backoff = MIN_BACKOFF;
                let ended = serve(stream, &mut jobs).await;
                up.store(false, Ordering::Relaxed);
                match ended {
                    Ok(()) => return,
                    Err(why) => {
                        tracing::warn!(addr = %target.addr, why, "the Redis connection broke; reconnecting")
                    }
                }
            }
            Err(why) if !reported => {
                reported = true;
                tracing::warn!(addr = %target.addr, %why, "cannot reach Redis; retrying in the background");
            }
            Err(_) => {}
        }
        // Wait out the backoff; what was queued meanwhile fails (its callers see a drop).
        let pause = tokio::time::sleep(backoff);
        tokio::pin!(pause);
        loop {
            tokio::select! {
                _ = &mut pause => break,
                job = jobs.recv() => if job.is_none() { return },
            }
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Opens a connection and logs in.
async fn connect(target: &Target) -> Result<TcpStream, String> {
    let open = async {
        let mut stream = TcpStream::connect(&target.addr)
            .await
            .map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let mut hello = Vec::new();
        let mut expected = 0;
        if let Some(password) = &target.password {
            match &target.user {
                Some(user) => resp::encode(&mut hello, &["AUTH", user, password]),
                None => resp::encode(&mut hello, &["AUTH", password]),
            }
            expected += 1;
        }
        if target.db != 0 {
            resp::encode(&mut hello, &["SELECT", &target.db.to_string()]);
            expected += 1;
        }
        resp::encode(&mut hello, &["PING"]);
        expected += 1;
        stream.write_all(&hello).await.map_err(|e| e.to_string())?;
        let mut buf = BytesMut::with_capacity(256);
        while expected > 0 {
            match resp::decode(&buf).map_err(|e| e.0.to_string())? {
                Some((Reply::Error(e), _)) => return Err(format!("Redis refused the login: {e}")),
                Some((_, used)) => {
                    buf.advance(used);
                    expected -= 1;
                }
                None => {
                    if stream.read_buf(&mut buf).await.map_err(|e| e.to_string())? == 0 {
                        return Err("Redis closed the connection".into());
                    }
                }
            }
        }
        Ok(stream)
    };
    tokio::time::timeout(CONNECT_TIMEOUT, open)
        .await
        .map_err(|_| "the connection attempt timed out".to_string())?
}

/// Serves `jobs` on `stream` until it breaks (`Err`) or the client is gone (`Ok`).
async fn serve(stream: TcpStream, jobs: &mut mpsc::Receiver<Job>) -> Result<(), &'static str> {
    let (mut rd, mut wr) = stream.into_split();
    let mut pending: VecDeque<(Option<oneshot::Sender<Reply>>, Instant)> = VecDeque::new();
    let mut inbuf = BytesMut::with_capacity(4_096);
    let mut out = Vec::with_capacity(4_096);
    let mut tick = tokio::time::interval(STALL / 4);
    loop {
        tokio::select! {
            job = jobs.recv() => {
                let Some(job) = job else { return Ok(()) };
                let now = Instant::now();
                out.extend_from_slice(&job.bytes);
                pending.push_back((job.reply, now));
                // Whatever else is queued goes in the same write.
                while out.len() < 64 * 1024 {
                    let Ok(job) = jobs.try_recv() else { break };
                    out.extend_from_slice(&job.bytes);
                    pending.push_back((job.reply, now));
                }
                wr.write_all(&out).await.map_err(|_| "a write failed")?;
                out.clear();
            }
            read = rd.read_buf(&mut inbuf) => {
                if read.map_err(|_| "a read failed")? == 0 {
                    return Err("Redis closed the connection");
                }
                while let Some((reply, used)) = resp::decode(&inbuf).map_err(|e| e.0)? {
                    inbuf.advance(used);
                    let (waiter, _) = pending.pop_front().ok_or("a reply nobody asked for")?;
                    if let Some(waiter) = waiter {
                        let _ = waiter.send(reply);
                    }
                }
                if inbuf.len() > resp::MAX_BULK + 64 * 1024 {
                    return Err("a reply over the size limit");
                }
            }
            _ = tick.tick() => {
                if pending.front().is_some_and(|(_, at)| at.elapsed() > STALL) {
                    return Err("Redis stopped answering");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_the_host_login_and_database() {
        let t = Target::parse("redis://:s%40cret@cache.internal:6380/2").unwrap();
        assert_eq!(t.addr, "cache.internal:6380");
        assert_eq!(t.password.as_deref(), Some("s@cret"));
        assert_eq!(t.user, None);
        assert_eq!(t.db, 2);
        let t = Target::parse("redis://app:pw@127.0.0.1").unwrap();
        assert_eq!(
            (t.addr.as_str(), t.user.as_deref()),
            ("127.0.0.1:6379", Some("app"))
        );
        assert!(Target::parse("rediss://x").unwrap_err().contains("TLS"));
        assert!(
            Target::parse("redis://x/abc")
                .unwrap_err()
                .contains("database number")
        );
    }

    #[test]
    fn scripts_are_named_by_their_sha1() {
        // SHA-1 of "return 1", as `SCRIPT LOAD` reports it.
        assert_eq!(
            Script::new("return 1").sha,
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
        );
    }
}
