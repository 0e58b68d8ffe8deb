//! JSON Web Tokens as credentials (`[jwt]`), against a JWKS served by the test over a real
//! socket: a valid RS256 token is served and its tenant recorded; expired, early, wrong
//! audience, wrong issuer, forged, `alg: none` and missing tokens get a 401 in the caller's
//! format with nothing sent upstream; a new signing key is picked up by fetching the JWKS
//! again (rotation); virtual keys keep working beside tokens.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use parking_lot::Mutex;
use reqwest::Client;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::{Gateway, Mock, chat};

const KEY_1: &[u8] = include_bytes!("../fixtures/jwt-key-1.der");
const KEY_2: &[u8] = include_bytes!("../fixtures/jwt-key-2.der");
const N_1: &str = include_str!("../fixtures/jwt-key-1.n");
const N_2: &str = include_str!("../fixtures/jwt-key-2.n");

/// A JWKS document server: what it serves can change; it counts fetches.
struct Jwks {
    url: String,
    doc: Arc<Mutex<String>>,
    fetches: Arc<AtomicUsize>,
}

fn jwk(kid: &str, n: &str) -> Value {
    json!({"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": n.trim(), "e": "AQAB"})
}

impl Jwks {
    async fn start(keys: Vec<Value>) -> Jwks {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/.well-known/jwks.json",
            listener.local_addr().unwrap()
        );
        let doc = Arc::new(Mutex::new(json!({ "keys": keys }).to_string()));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (d, f) = (doc.clone(), fetches.clone());
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let (d, f) = (d.clone(), f.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    f.fetch_add(1, Ordering::SeqCst);
                    let body = d.lock().clone();
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    let _ = conn.write_all(head.as_bytes()).await;
                    let _ = conn.write_all(body.as_bytes()).await;
                });
            }
        });
        Jwks { url, doc, fetches }
    }

    fn serve(&self, keys: Vec<Value>) {
        *self.doc.lock() = json!({ "keys": keys }).to_string();
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A token signed with `key` (PKCS#1 DER), with `header` and `claims`.
fn sign(key: &[u8], header: Value, claims: Value) -> String {
    let signing = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let pair = ring::signature::RsaKeyPair::from_der(key).unwrap();
    let mut sig = vec![0u8; pair.public().modulus_len()];
    pair.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signing.as_bytes(),
        &mut sig,
    )
    .unwrap();
    format!("{signing}.{}", URL_SAFE_NO_PAD.encode(sig))
}

fn claims(extra: Value) -> Value {
    let mut c = json!({"sub": "alice", "iss": "https://idp.test", "aud": ["llm-gateway", "other"], "exp": now() + 600, "nbf": now() - 10});
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn rs256(kid: &str) -> Value {
    json!({"alg": "RS256", "typ": "JWT", "kid": kid})
}

async fn gateway(mock: &Mock, jwks: &Jwks) -> Gateway {
    let cfg = format!(
        "[server]\nadmin_token = \"admin-token-for-the-tests-0123\"\n[jwt]\njwks_url = \"{}\"\nissuer = \"https://idp.test\"\naudience = \"llm-gateway\"\n[key_map.vk-config-key]\nlabel = \"config\"\n[[providers]]\nid = \"m\"\nprovider_type = \"openai\"\nendpoint = \"{}\"\napi_key = \"k\"\nmodels = [\"echo\"]\n",
        jwks.url,
        mock.v1()
    );
    Gateway::start(&cfg).await
}

async fn call(gw: &Gateway, token: &str) -> (u16, Value) {
    let resp = Client::new()
        .post(gw.url("/v1/chat/completions"))
        .bearer_auth(token)
        .json(&chat("m/echo", "hi"))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_tokens_pass_and_every_bad_one_is_refused() {
    let mock = Mock::start().await;
    let jwks = Jwks::start(vec![jwk("k1", N_1)]).await;
    let gw = gateway(&mock, &jwks).await;
    let good = sign(KEY_1, rs256("k1"), claims(json!({})));
    assert_eq!(call(&gw, &good).await.0, 200);
    // The virtual key of the config works beside tokens.
    assert_eq!(call(&gw, "vk-config-key").await.0, 200);
    let sent = mock.log().len();
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": "k1"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims(json!({})).to_string())
    );
    let bad = [
        (
            "expired",
            sign(KEY_1, rs256("k1"), claims(json!({"exp": now() - 3600}))),
            "expired",
        ),
        (
            "not yet",
            sign(KEY_1, rs256("k1"), claims(json!({"nbf": now() + 3600}))),
            "not valid yet",
        ),
        (
            "no exp",
            sign(
                KEY_1,
                rs256("k1"),
                json!({"sub": "a", "iss": "https://idp.test", "aud": "llm-gateway"}),
            ),
            "exp",
        ),
        (
            "audience",
            sign(KEY_1, rs256("k1"), claims(json!({"aud": "someone-else"}))),
            "audience",
        ),
        (
            "issuer",
            sign(
                KEY_1,
                rs256("k1"),
                claims(json!({"iss": "https://evil.test"})),
            ),
            "issuer",
        ),
        (
            "forged",
            sign(KEY_2, rs256("k1"), claims(json!({}))),
            "signature",
        ),
        ("alg none", none, "algorithm"),
        (
            "unknown kid",
            sign(KEY_2, rs256("k9"), claims(json!({}))),
            "signing key",
        ),
        (
            "no tenant",
            sign(KEY_1, rs256("k1"), claims(json!({"sub": null}))),
            "tenant",
        ),
    ];
    for (what, token, words) in bad {
        let (status, body) = call(&gw, &token).await;
        assert_eq!(status, 401, "{what}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{what}: {body}");
        assert!(!message.contains(&token), "{what}: the token is not echoed");
    }
    let (status, _) = call(&gw, "").await;
    assert_eq!(status, 401, "no credential");
    // The Anthropic format gets its own error shape.
    let resp = Client::new()
        .post(gw.url("/v1/messages"))
        .header("x-api-key", sign(KEY_1, rs256("k1"), claims(json!({"exp": now() - 3600}))))
        .json(&json!({"model": "m/echo", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "authentication_error");
    assert_eq!(
        mock.log().len(),
        sent,
        "no refused request reached the provider"
    );
    // The token's tenant is the record's key.
    let mut recorded = false;
    for _ in 0..200 {
        let v: Value = Client::new()
            .get(gw.url("/v1/requests"))
            .bearer_auth("admin-token-for-the-tests-0123")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["key_id"] == "jwt:alice" && r["status"] == 200)
        {
            recorded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(recorded, "the token's tenant was not recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_signing_key_is_fetched() {
    let mock = Mock::start().await;
    let jwks = Jwks::start(vec![jwk("k1", N_1)]).await;
    let gw = gateway(&mock, &jwks).await;
    let old = sign(KEY_1, rs256("k1"), claims(json!({})));
    let new = sign(KEY_2, rs256("k2"), claims(json!({})));
    assert_eq!(call(&gw, &old).await.0, 200);
    assert_eq!(call(&gw, &old).await.0, 200);
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1, "keys are cached");
    // The issuer rotates: k2 in, k1 out. The new kid makes the gateway fetch again (at most
    // once per couple of seconds, so a flood of unknown kids cannot hammer the issuer).
    jwks.serve(vec![jwk("k2", N_2)]);
    let mut served = false;
    for _ in 0..400 {
        if call(&gw, &new).await.0 == 200 {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(served, "the new key was never fetched");
    assert!(
        jwks.fetches.load(Ordering::SeqCst) <= 4,
        "fetches are rate-limited"
    );
    assert_eq!(
        call(&gw, &old).await.0,
        401,
        "the retired key no longer signs"
    );
}
