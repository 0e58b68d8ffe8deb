//! `llm-gateway health`: a dependency-free probe of a running gateway's `/health`, for container
//! health checks (the runtime image has no curl). One HTTP/1.1 GET over a plain TCP connection,
//! under one deadline; healthy means a `200` status line.
//!
//! Entry points: [`local_url`], [`check`]. Depends on nothing else of the crate.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The `/health` URL of a gateway listening on `host:port`, reached from the same machine (an
/// unspecified address, which listens everywhere, is probed on loopback).
pub fn local_url(host: &str, port: u16) -> String {
    let host = match host.trim_start_matches('[').trim_end_matches(']') {
        "" | "0.0.0.0" => "127.0.0.1".to_string(),
        "::" => "[::1]".to_string(),
        h if h.contains(':') => format!("[{h}]"),
        h => h.to_string(),
    };
    format!("http://{host}:{port}/health")
}

/// GETs `url` and returns its status line when it is `200`; anything else is an error that says
/// what happened.
pub fn check(url: &str, timeout: Duration) -> Result<String, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    if parsed.scheme() != "http" {
        return Err(format!(
            "`{url}`: the probe speaks plain http:// (it runs beside the gateway)"
        ));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| format!("`{url}` has no host"))?;
    let addrs = parsed
        .socket_addrs(|| Some(80))
        .map_err(|e| format!("cannot resolve `{host}`: {e}"))?;
    let deadline = Instant::now() + timeout;
    let left = || deadline.saturating_duration_since(Instant::now());
    let mut last = format!("`{host}` has no address");
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, left().max(Duration::from_millis(1))) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = format!("cannot connect to {addr}: {e}"),
        }
    }
    let mut stream = stream.ok_or(last)?;
    let host_header = match parsed.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    let target = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_string(),
    };
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: llm-gateway-health\r\nConnection: close\r\n\r\n"
    );
    let io = |e: std::io::Error| format!("{url}: {e}");
    stream
        .set_write_timeout(Some(left().max(Duration::from_millis(1))))
        .map_err(io)?;
    stream.write_all(request.as_bytes()).map_err(io)?;
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 256];
    let line_end = loop {
        if let Some(i) = head.windows(2).position(|w| w == b"\r\n") {
            break i;
        }
        if head.len() > 4096 {
            return Err(format!("{url}: no HTTP status line in the first 4 KiB"));
        }
        let wait = left();
        if wait.is_zero() {
            return Err(format!("{url}: no answer within {timeout:?}"));
        }
        stream.set_read_timeout(Some(wait)).map_err(io)?;
        match stream.read(&mut buf) {
            Ok(0) => return Err(format!("{url}: the connection closed before a status line")),
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) => return Err(io(e)),
        }
    };
    let line = String::from_utf8_lossy(&head[..line_end]).into_owned();
    let mut parts = line.split(' ');
    match (parts.next(), parts.next()) {
        (Some(v), Some("200")) if v.starts_with("HTTP/1.") => Ok(line),
        (Some(v), Some(_)) if v.starts_with("HTTP/1.") => Err(format!("{url}: {line}")),
        _ => Err(format!("{url}: not an HTTP answer: {line:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// Answers one connection with `answer` and returns the request it read.
    fn serve_once(listener: &TcpListener, answer: &[u8]) -> String {
        let (mut conn, _) = listener.accept().unwrap();
        let mut req = Vec::new();
        let mut buf = [0u8; 512];
        while !req.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = conn.read(&mut buf).unwrap();
            assert!(n > 0);
            req.extend_from_slice(&buf[..n]);
        }
        conn.write_all(answer).unwrap();
        String::from_utf8(req).unwrap()
    }

    #[test]
    fn urls_for_the_local_gateway() {
        assert_eq!(local_url("0.0.0.0", 8930), "http://127.0.0.1:8930/health");
        assert_eq!(local_url("127.0.0.1", 1), "http://127.0.0.1:1/health");
        assert_eq!(local_url("::", 2), "http://[::1]:2/health");
        assert_eq!(local_url("[::]", 2), "http://[::1]:2/health");
        assert_eq!(local_url("::1", 3), "http://[::1]:3/health");
        assert_eq!(local_url("gw.local", 4), "http://gw.local:4/health");
    }

    #[test]
    fn a_200_is_healthy_anything_else_is_not() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = local_url("127.0.0.1", listener.local_addr().unwrap().port());
        let second = Duration::from_secs(5);
        std::thread::scope(|s| {
            let server = s
                .spawn(|| serve_once(&listener, b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"));
            assert_eq!(check(&url, second).unwrap(), "HTTP/1.1 200 OK");
            let req = server.join().unwrap();
            assert!(
                req.starts_with("GET /health HTTP/1.1\r\nHost: 127.0.0.1:"),
                "{req}"
            );
        });
        std::thread::scope(|s| {
            s.spawn(|| serve_once(&listener, b"HTTP/1.1 503 Service Unavailable\r\n\r\n"));
            let e = check(&url, second).unwrap_err();
            assert!(e.ends_with("HTTP/1.1 503 Service Unavailable"), "{e}");
        });
        std::thread::scope(|s| {
            s.spawn(|| serve_once(&listener, b"SSH-2.0-nope\r\n"));
            assert!(
                check(&url, second)
                    .unwrap_err()
                    .contains("not an HTTP answer")
            );
        });
        drop(listener);
        let e = check(&url, second).unwrap_err();
        assert!(e.starts_with("cannot connect to 127.0.0.1:"), "{e}");
        assert!(check("https://127.0.0.1/health", second).is_err());
        assert!(check("not a url", second).is_err());
    }
}
