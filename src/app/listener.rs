//! The proxy's listening socket. The gateway binds it itself while the server is built, so an
//! address that cannot be bound (a port in use, a host this machine does not have) is an error
//! that names the address and the cause, returned before anything says "listening". Left to
//! pingora, the bind fails inside a service thread: the thread panics and the process stays up,
//! serving nothing.
//!
//! The bound socket is handed to pingora through its table of inherited listening sockets
//! (`ListenFds`, the table a graceful upgrade fills), so pingora adopts it instead of binding.
//! [`ProxyListener`] wraps the proxy service to do that hand-over, to give the service the
//! gateway's own stop signal (a SIGTERM stops accepting before the drain, see `shutdown`), and
//! to turn a service that fails to start into a non-zero exit instead of a silent one.
//!
//! Entry points: [`address`], [`bind`], [`ProxyListener`].

use std::net::TcpListener;
use std::os::fd::IntoRawFd;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::FutureExt;
use pingora::server::{ListenFds, RuntimeOpts, ShutdownWatch};
use pingora::services::Service;

use super::shutdown::Lifecycle;

/// `host:port` as a socket address string (an IPv6 host in brackets).
pub fn address(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Binds `listen`, or says why it cannot be bound.
pub fn bind(listen: &str) -> Result<TcpListener, String> {
    TcpListener::bind(listen).map_err(|e| format!("cannot listen on {listen}: {}", cause(&e)))
}

/// The error in user words, with what to do about the usual ones.
fn cause(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    let hint = match e.kind() {
        ErrorKind::AddrInUse => {
            "another process is listening on this port: stop it, or choose another port with \
             --port, LLM_GATEWAY_PORT or [server] port"
        }
        ErrorKind::AddrNotAvailable => {
            "this machine has no such address: use 127.0.0.1, 0.0.0.0 or one of its own \
             addresses, with --host, LLM_GATEWAY_HOST or [server] host"
        }
        ErrorKind::PermissionDenied => "ports below 1024 need privileges: choose a port above 1023",
        _ => "check [server] host and port, --host/--port or LLM_GATEWAY_HOST/LLM_GATEWAY_PORT",
    };
    format!("{e}; {hint}")
}

/// The proxy service with its socket already bound.
pub struct ProxyListener<S> {
    inner: S,
    address: String,
    socket: Option<TcpListener>,
    lifecycle: Arc<Lifecycle>,
}

impl<S> ProxyListener<S> {
    /// `inner` must listen on `address` (the same string), which `socket` is bound to.
    pub fn new(inner: S, address: String, socket: TcpListener, lifecycle: Arc<Lifecycle>) -> Self {
        Self {
            inner,
            address,
            socket: Some(socket),
            lifecycle,
        }
    }
}

/// The message of a panic payload.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message")
}

#[async_trait]
impl<S: Service> Service for ProxyListener<S> {
    async fn start_service(
        &mut self,
        fds: Option<ListenFds>,
        mut shutdown: ShutdownWatch,
        listeners_per_fd: usize,
    ) {
        // Without a table (not on Unix) the socket is closed here and pingora binds again.
        if let (Some(table), Some(socket)) = (&fds, self.socket.take()) {
            // pingora adopts the descriptor as it is, and its accept loop needs it
            // non-blocking (a blocking accept would hold a runtime thread).
            if let Err(e) = socket.set_nonblocking(true) {
                self.lifecycle
                    .fail(format!("cannot listen on {}: {e}", self.address));
                return;
            }
            table.lock().add(self.address.clone(), socket.into_raw_fd());
        }
        let stop = self.lifecycle.stop_watch();
        let serve =
            AssertUnwindSafe(self.inner.start_service(fds, stop, listeners_per_fd)).catch_unwind();
        let mut serve = std::pin::pin!(serve);
        let served = tokio::select! {
            served = &mut serve => served,
            // pingora's own shutdown broadcast (after the signal watch returns) stops us too.
            _ = shutdown.changed() => {
                self.lifecycle.stop_accepting();
                serve.await
            }
        };
        if let Err(payload) = served {
            self.lifecycle.fail(format!(
                "the listener on {} stopped: {}",
                self.address,
                panic_message(payload.as_ref())
            ));
        }
    }

    fn name(&self) -> &str {
        self.inner.name()
    }

    fn threads(&self) -> Option<usize> {
        self.inner.threads()
    }

    fn runtime_opts_override(&self, global: &RuntimeOpts) -> Option<RuntimeOpts> {
        self.inner.runtime_opts_override(global)
    }

    fn listen_addresses(&self) -> Option<Vec<String>> {
        self.inner.listen_addresses()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_bind_errors() {
        assert_eq!(address("127.0.0.1", 80), "127.0.0.1:80");
        assert_eq!(address("::1", 80), "[::1]:80");
        assert_eq!(address("[::1]", 80), "[::1]:80");
        let held = TcpListener::bind("127.0.0.1:0").unwrap();
        let listen = held.local_addr().unwrap().to_string();
        let e = bind(&listen).unwrap_err();
        assert!(
            e.starts_with(&format!("cannot listen on {listen}: ")),
            "{e}"
        );
        assert!(e.contains("another process"), "{e}");
        // TEST-NET-1: no machine has it, and no name lookup is needed to find that out.
        let e = bind("192.0.2.1:8930").unwrap_err();
        assert!(e.starts_with("cannot listen on 192.0.2.1:8930: "), "{e}");
        assert!(e.contains("no such address"), "{e}");
    }

    #[test]
    fn panic_messages() {
        let owned: Box<dyn std::any::Any + Send> = Box::new(String::from("boom"));
        assert_eq!(panic_message(owned.as_ref()), "boom");
        let fixed: Box<dyn std::any::Any + Send> = Box::new("bang");
        assert_eq!(panic_message(fixed.as_ref()), "bang");
        let other: Box<dyn std::any::Any + Send> = Box::new(1);
        assert_eq!(panic_message(other.as_ref()), "a panic without a message");
    }
}
