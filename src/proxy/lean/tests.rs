//! The lean parse (what it takes, what it leaves to pingora) and the answer's framing on the
//! wire.

use super::*;
use crate::downstream::Value;

fn bytes(s: &str) -> BytesMut {
    BytesMut::from(s.as_bytes())
}

const BODY: &str = r#"{"model":"m","messages":[]}"#;

fn post(extra: &str, body: &str) -> String {
    format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

#[test]
fn a_whole_post_to_an_llm_endpoint_is_lean() {
    let r = parse(bytes(&post("X-Request-Id: abc\r\n", BODY))).unwrap();
    assert_eq!(r.head.method, http::Method::POST);
    assert_eq!(r.head.uri.path(), "/v1/chat/completions");
    assert_eq!(r.head.headers["x-request-id"], "abc");
    assert_eq!(r.head.headers["host"], "gw");
    assert_eq!(&r.body[..], BODY.as_bytes());
    assert!(!r.close);
    assert!(r.rest.is_empty());
}

#[test]
fn bytes_past_the_body_are_the_next_request() {
    let two = format!("{}{}", post("", BODY), post("Connection: close\r\n", BODY));
    let first = parse(bytes(&two)).unwrap();
    assert_eq!(&first.body[..], BODY.as_bytes());
    let second = parse(first.rest).unwrap();
    assert!(second.close);
    assert!(second.rest.is_empty());
}

#[test]
fn anything_else_goes_back_to_pingora_unchanged() {
    let cases = [
        // The head not whole yet.
        "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\n".to_string(),
        // HTTP/1.0, another method, another path.
        post("", BODY).replace("HTTP/1.1", "HTTP/1.0"),
        post("", BODY).replace("POST", "PUT"),
        post("", BODY).replace("/v1/chat/completions", "/admin/keys"),
        // Framing other than one plain Content-Length.
        post("Transfer-Encoding: chunked\r\n", BODY),
        post("Content-Length: 3\r\n", BODY),
        post("", BODY).replace(
            &format!("Content-Length: {}", BODY.len()),
            "Content-Length: +27",
        ),
        post("Expect: 100-continue\r\n", BODY),
        post("Upgrade: websocket\r\nConnection: upgrade\r\n", BODY),
        post("Connection: keep-alive, te\r\n", BODY),
        // Hosts pingora refuses: two of them, or one with user info.
        post("Host: other\r\n", BODY),
        post("", BODY).replace("Host: gw", "Host: user@gw"),
        // Not HTTP.
        "\x16\x03\x01\x00garbage".to_string(),
    ];
    for case in cases {
        let back = parse(bytes(&case)).unwrap_err();
        assert_eq!(&back[..], case.as_bytes(), "{case:?}");
    }
    let many: String = (0..40).map(|i| format!("X-H{i}: v\r\n")).collect();
    assert!(parse(bytes(&post(&many, BODY))).is_err());
}

#[tokio::test]
async fn the_rest_of_a_body_is_read_from_the_connection_and_nothing_past_it() {
    let whole = post("", BODY);
    let next = post("Connection: close\r\n", BODY);
    let request = parse(bytes(&whole[..whole.len() - 10])).unwrap();
    assert_eq!(request.missing, 10);
    let (mut ours, mut theirs) = tokio::io::duplex(64 * 1024);
    // The body's last 10 bytes and the next request, in one write.
    theirs
        .write_all(format!("{}{next}", &whole[whole.len() - 10..]).as_bytes())
        .await
        .unwrap();
    let mut lean = Lean::new(&mut ours, request, Duration::from_secs(5));
    let mut body = Vec::new();
    while let Some(chunk) = lean.read_chunk().await.unwrap() {
        body.extend_from_slice(&chunk);
    }
    assert_eq!(body, BODY.as_bytes());
    lean.write_head(head(200, &[("content-length", "0")]), true)
        .await
        .unwrap();
    assert!(lean.into_next().is_some());
    // The next request is still in the connection, whole.
    drop(theirs);
    let mut left = String::new();
    ours.read_to_string(&mut left).await.unwrap();
    assert_eq!(left, next);
}

#[tokio::test]
async fn a_body_cut_short_by_the_client_ends_the_connection() {
    let whole = post("", BODY);
    let request = parse(bytes(&whole[..whole.len() - 10])).unwrap();
    let (mut ours, theirs) = tokio::io::duplex(1024);
    drop(theirs);
    let mut lean = Lean::new(&mut ours, request, Duration::from_secs(5));
    assert!(lean.read_chunk().await.unwrap().is_some());
    assert!(lean.read_chunk().await.is_err());
    assert!(lean.into_next().is_none());
}

#[test]
fn a_query_string_is_kept_and_the_path_still_matches() {
    let r = parse(bytes(
        &post("", BODY).replace("/v1/chat/completions", "/v1/chat/completions?x=1"),
    ))
    .unwrap();
    assert_eq!(r.head.uri.query(), Some("x=1"));
}

fn head(status: u16, headers: &[(&'static str, &'static str)]) -> Head {
    Head {
        status,
        headers: headers
            .iter()
            .map(|&(n, v)| (n, Value::Static(v)))
            .collect(),
    }
}

/// Runs `write` against a lean request and returns what reached the client, and the bytes
/// of the next request when the connection stays open.
async fn answer<F>(close: bool, write: F) -> (String, Option<BytesMut>)
where
    F: AsyncFnOnce(&mut Lean<'_, tokio::io::DuplexStream>),
{
    let extra = if close { "Connection: close\r\n" } else { "" };
    let request = parse(bytes(&post(extra, BODY))).unwrap();
    let (mut ours, mut theirs) = tokio::io::duplex(64 * 1024);
    let mut lean = Lean::new(&mut ours, request, Duration::from_secs(5));
    write(&mut lean).await;
    let next = lean.into_next();
    drop(ours);
    let mut wire = String::new();
    theirs.read_to_string(&mut wire).await.unwrap();
    (wire, next)
}

fn without_date(wire: &str) -> String {
    wire.lines()
        .filter(|l| !l.starts_with("date: "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn a_whole_answer_is_one_head_and_its_body() {
    let (wire, next) = answer(false, async |l| {
        l.write_head(
            head(
                200,
                &[
                    ("content-type", "application/json"),
                    ("content-length", "2"),
                ],
            ),
            false,
        )
        .await
        .unwrap();
        l.write_body(Bytes::from_static(b"{}"), true).await.unwrap();
    })
    .await;
    assert!(wire.contains("\r\ndate: "), "{wire}");
    assert_eq!(
        without_date(&wire),
        "HTTP/1.1 200 OK\ncontent-type: application/json\ncontent-length: 2\nconnection: keep-alive\n\n{}"
    );
    assert!(next.is_some());
}

#[tokio::test]
async fn a_stream_is_chunked_and_ends_with_the_last_chunk() {
    let (wire, next) = answer(false, async |l| {
        l.write_head(
            head(
                200,
                &[
                    ("content-type", "text/event-stream"),
                    ("transfer-encoding", "chunked"),
                ],
            ),
            false,
        )
        .await
        .unwrap();
        l.write_body(Bytes::from_static(b"data: 1\n\n"), false)
            .await
            .unwrap();
        l.write_body(Bytes::from_static(b"data: [DONE]\n\n"), true)
            .await
            .unwrap();
    })
    .await;
    assert!(
        without_date(&wire)
            .ends_with("connection: keep-alive\n\n9\ndata: 1\n\n\ne\ndata: [DONE]\n\n\n0\n"),
        "{wire:?}"
    );
    assert!(wire.ends_with("\r\n0\r\n\r\n"));
    assert!(next.is_some());
}

#[tokio::test]
async fn an_answer_without_a_length_closes_the_connection() {
    let (wire, next) = answer(false, async |l| {
        l.write_head(head(200, &[("content-type", "text/plain")]), false)
            .await
            .unwrap();
        l.write_body(Bytes::from_static(b"abc"), true)
            .await
            .unwrap();
    })
    .await;
    assert!(wire.contains("connection: close\r\n\r\nabc"), "{wire}");
    assert!(next.is_none());
}

#[tokio::test]
async fn the_client_asking_to_close_gets_it_and_a_short_body_closes_too() {
    let (wire, next) = answer(true, async |l| {
        l.write_head(head(200, &[("content-length", "0")]), true)
            .await
            .unwrap();
    })
    .await;
    assert!(wire.contains("connection: close"), "{wire}");
    assert!(next.is_none());
    let (_, next) = answer(false, async |l| {
        l.write_head(head(200, &[("content-length", "5")]), false)
            .await
            .unwrap();
        l.write_body(Bytes::from_static(b"ab"), true).await.unwrap();
    })
    .await;
    assert!(next.is_none());
}

#[tokio::test]
async fn a_value_that_could_split_the_head_is_never_written() {
    let (wire, next) = answer(false, async |l| {
        let bad = head(200, &[("x-a", "1\r\nset-cookie: x")]);
        assert!(l.write_head(bad, true).await.is_err());
    })
    .await;
    assert_eq!(wire, "");
    assert!(next.is_none());
}

#[tokio::test]
async fn a_large_body_is_written_whole() {
    let big = "x".repeat(3 * ONE_WRITE);
    let (wire, _) = answer(false, async |l| {
        let mut h = head(200, &[]);
        h.headers
            .push(("content-length", Value::Owned(big.len().to_string())));
        l.write_head(h, false).await.unwrap();
        l.write_body(Bytes::from(big.clone()), true).await.unwrap();
    })
    .await;
    assert!(wire.ends_with(&big));
}

#[test]
fn chunk_sizes_are_lowercase_hex() {
    let mut buf = [0u8; 16];
    assert_eq!(hex(0, &mut buf), b"0");
    assert_eq!(hex(255, &mut buf), b"ff");
    assert_eq!(hex(0x1a2b3c, &mut buf), b"1a2b3c");
}

proptest::proptest! {
    /// Any bytes: no panic, and what is not taken comes back unchanged.
    #[test]
    fn any_bytes_are_taken_or_given_back(raw in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
        if let Err(back) = parse(BytesMut::from(&raw[..])) {
            proptest::prop_assert_eq!(&back[..], &raw[..]);
        }
    }

    /// A valid request cut inside its head is never taken; cut in its body, it is, with the
    /// body's part read and the rest still to read; whole, with its body exact and the bytes
    /// after it kept.
    #[test]
    fn a_request_is_taken_once_its_head_is_whole(body in "[ -~]{0,200}", cut in 0usize..400, tail in "[ -~]{0,40}") {
        let whole = post("", &body);
        let head = whole.len() - body.len();
        let at = cut % whole.len().max(1);
        match parse(bytes(&whole[..at])) {
            Err(back) => proptest::prop_assert!(at < head && back[..] == whole.as_bytes()[..at]),
            Ok(r) => {
                proptest::prop_assert!(at >= head);
                proptest::prop_assert_eq!(&r.body[..], &body.as_bytes()[..at - head]);
                proptest::prop_assert_eq!(r.missing, whole.len() - at);
                proptest::prop_assert!(r.rest.is_empty());
            }
        }
        let r = parse(bytes(&format!("{whole}{tail}"))).unwrap();
        proptest::prop_assert_eq!(r.missing, 0);
        proptest::prop_assert_eq!(&r.body[..], body.as_bytes());
        proptest::prop_assert_eq!(&r.rest[..], tail.as_bytes());
    }
}

#[tokio::test]
async fn an_answer_before_the_body_is_read_closes_the_connection_and_says_so() {
    let whole = post("", BODY);
    let request = parse(bytes(&whole[..whole.len() - 10])).unwrap();
    let (mut ours, mut theirs) = tokio::io::duplex(64 * 1024);
    let mut lean = Lean::new(&mut ours, request, Duration::from_secs(5));
    lean.write_head(head(401, &[("content-length", "0")]), true)
        .await
        .unwrap();
    assert!(lean.into_next().is_none());
    drop(ours);
    let mut wire = String::new();
    theirs.read_to_string(&mut wire).await.unwrap();
    assert!(wire.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{wire}");
    assert!(wire.contains("connection: close"), "{wire}");
}

#[tokio::test]
async fn the_head_carries_one_framing_and_this_side_s_date_and_connection() {
    let (wire, next) = answer(false, async |l| {
        let given = head(
            200,
            &[
                ("transfer-encoding", "chunked"),
                ("content-length", "5"),
                ("date", "yesterday"),
                ("connection", "upgrade"),
            ],
        );
        l.write_head(given, false).await.unwrap();
        l.write_body(Bytes::from_static(b"hello"), true)
            .await
            .unwrap();
        // Nothing more after the end is no error; more bytes are.
        l.write_body(Bytes::new(), true).await.unwrap();
        assert!(l.write_body(Bytes::from_static(b"x"), true).await.is_err());
    })
    .await;
    let lower = wire.to_ascii_lowercase();
    assert!(!lower.contains("content-length"), "{wire}");
    assert!(
        !lower.contains("yesterday") && !lower.contains("upgrade"),
        "{wire}"
    );
    assert_eq!(lower.matches("connection: ").count(), 1, "{wire}");
    assert!(wire.ends_with("5\r\nhello\r\n0\r\n\r\n"), "{wire}");
    assert!(next.is_none(), "a write past the end closes the connection");
}

#[tokio::test]
async fn an_interim_answer_is_refused() {
    let (wire, next) = answer(false, async |l| {
        assert!(l.write_head(head(100, &[]), false).await.is_err());
    })
    .await;
    assert_eq!(wire, "");
    assert!(next.is_none());
}
