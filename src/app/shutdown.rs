//! How the process stops. SIGTERM stops accepting connections, then waits until no request is
//! in flight, for at most `[server] shutdown_grace_secs`, and exits; SIGINT exits at once; a
//! proxy service that fails to start exits with an error.
//!
//! pingora's own SIGTERM handling broadcasts its shutdown and then sleeps the whole grace
//! period whatever is in flight (`Server::run`). So the gateway watches the signals itself
//! ([`SignalWatch`]): it stops the proxy's listener through its own stop signal (see
//! `listener::ProxyListener`), drains by watching the gateway's in-flight count, and only then
//! hands pingora a graceful terminate, with pingora's grace period set to zero.
//!
//! Entry points: [`Lifecycle`] (shared with the listener), [`SignalWatch`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::Mutex;
use pingora::server::{ShutdownSignal, ShutdownSignalWatch};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::gateway::Gateway;

/// How often the drain looks at the in-flight count (shutdown only; nothing on the request
/// path pays for it).
const DRAIN_POLL: Duration = Duration::from_millis(20);

/// How long streams still open at the end of the grace period get to write their error event.
const FLUSH: Duration = Duration::from_millis(500);

/// The stop signal of the proxy's listener and the first failure of a service.
pub struct Lifecycle {
    stop: watch::Sender<bool>,
    failure: Mutex<Option<String>>,
    failed: Notify,
}

impl Lifecycle {
    pub fn new() -> Arc<Lifecycle> {
        Arc::new(Lifecycle {
            stop: watch::Sender::new(false),
            failure: Mutex::new(None),
            failed: Notify::new(),
        })
    }

    /// What the proxy service watches instead of pingora's shutdown broadcast.
    pub(super) fn stop_watch(&self) -> watch::Receiver<bool> {
        self.stop.subscribe()
    }

    /// Stops accepting connections; connections in use close after their current request.
    pub(super) fn stop_accepting(&self) {
        self.stop.send_replace(true);
    }

    /// Records why the server cannot go on (the first reason wins) and ends the run.
    pub(super) fn fail(&self, why: String) {
        tracing::error!(error = %why, "the gateway cannot go on");
        self.failure.lock().get_or_insert(why);
        // A permit is stored when nobody waits yet, so a failure before the watch starts
        // is not lost.
        self.failed.notify_one();
    }

    /// Why the run ended with an error, if it did.
    pub fn failure(&self) -> Option<String> {
        self.failure.lock().clone()
    }
}

/// SIGTERM: stop accepting, drain, terminate. SIGINT: terminate now.
pub struct SignalWatch {
    pub lifecycle: Arc<Lifecycle>,
    pub gateway: Arc<Gateway>,
    /// The longest a SIGTERM waits for requests in flight.
    pub grace: Duration,
}

impl SignalWatch {
    /// Waits until nothing is in flight or the grace period is over.
    async fn drain(&self) {
        self.lifecycle.stop_accepting();
        let deadline = Instant::now() + self.grace;
        tracing::info!(
            in_flight = self.gateway.metrics.in_flight(),
            grace_secs = self.grace.as_secs(),
            "SIGTERM: no longer accepting connections; waiting for the requests in flight"
        );
        loop {
            let in_flight = self.gateway.metrics.in_flight();
            if in_flight == 0 {
                tracing::info!("no request in flight; exiting");
                return;
            }
            let now = Instant::now();
            if now >= deadline {
                tracing::warn!(
                    in_flight,
                    "the grace period is over; ending the requests still in flight"
                );
                // Open streams end with an error event rather than a cut: a moment for them
                // to write it.
                self.gateway.close_streams();
                let flushed = Instant::now() + FLUSH;
                while self.gateway.metrics.in_flight() > 0 && Instant::now() < flushed {
                    tokio::time::sleep(DRAIN_POLL).await;
                }
                return;
            }
            tokio::time::sleep(DRAIN_POLL.min(deadline - now)).await;
        }
    }
}

#[async_trait]
impl ShutdownSignalWatch for SignalWatch {
    async fn recv(&self) -> ShutdownSignal {
        let (mut terminate, mut interrupt) = match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(t), Ok(i)) => (t, i),
            (Err(e), _) | (_, Err(e)) => {
                self.lifecycle
                    .fail(format!("cannot watch SIGTERM and SIGINT: {e}"));
                return ShutdownSignal::FastShutdown;
            }
        };
        let signal = tokio::select! {
            _ = terminate.recv() => {
                tokio::select! {
                    () = self.drain() => ShutdownSignal::GracefulTerminate,
                    // A second signal during the drain: stop waiting.
                    _ = interrupt.recv() => ShutdownSignal::FastShutdown,
                    _ = terminate.recv() => ShutdownSignal::FastShutdown,
                }
            }
            _ = interrupt.recv() => ShutdownSignal::FastShutdown,
            () = self.lifecycle.failed.notified() => ShutdownSignal::FastShutdown,
        };
        // Whichever way it ends, the request records still queued are written first.
        self.gateway.tenancy.flush().await;
        tracing::info!(
            written = self.gateway.tenancy.records.written(),
            dropped = self.gateway.tenancy.records.dropped(),
            "request records flushed"
        );
        signal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failure_is_kept_and_wakes_the_watch() {
        let l = Lifecycle::new();
        let mut stop = l.stop_watch();
        assert!(!*stop.borrow_and_update());
        l.fail("first".into());
        l.fail("second".into());
        assert_eq!(l.failure().as_deref(), Some("first"));
        // The permit stored before anyone waited.
        l.failed.notified().await;
        l.stop_accepting();
        assert!(stop.has_changed().unwrap() && *stop.borrow());
    }
}
