//! The portal (D6) and the API viewer (`/docs`, D5): static files embedded in the binary and
//! served by the gateway itself, so a browser needs nothing beyond the gateway's address (no
//! CDN, no fonts from elsewhere). Every page is sent with a content security policy that lets
//! it load and call only the gateway.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};

use super::Reply;
use crate::errors::{ErrorKind, GatewayError};

/// One embedded file.
struct Asset {
    name: &'static str,
    mime: &'static str,
    body: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $mime:expr) => {
        Asset {
            name: $name,
            mime: $mime,
            body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/portal/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file under `/assets/`.
const ASSETS: &[Asset] = &[
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("api.js", JS),
    asset!("app.js", JS),
    asset!("charts.js", JS),
    asset!("docs.js", JS),
    asset!("screens/overview.js", JS),
    asset!("screens/providers.js", JS),
    asset!("screens/keys.js", JS),
    asset!("screens/requests.js", JS),
    asset!("screens/simulator.js", JS),
    asset!("screens/playground.js", JS),
    asset!("screens/config.js", JS),
    asset!("favicon.svg", "image/svg+xml"),
];

const PORTAL_HTML: &[u8] =
    include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/portal/index.html"));
const DOCS_HTML: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/portal/docs.html"));

/// Pages and scripts load and call the gateway only.
const POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; \
     script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Whether a request for `/` comes from a browser (`Accept` names `text/html`).
pub(super) fn wants_html(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|m| m.trim().starts_with("text/html")))
}

/// `GET /` for a browser: the portal.
pub(super) fn portal() -> Reply {
    page(PORTAL_HTML)
}

/// `GET /docs`: the interactive API viewer over `/openapi.json`.
pub(super) fn docs() -> Reply {
    page(DOCS_HTML)
}

fn page(html: &'static [u8]) -> Reply {
    let mut resp = file(html, "text/html; charset=utf-8");
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// `GET /assets/{file}`.
pub(super) fn serve(name: &str) -> Result<Reply, GatewayError> {
    let found = ASSETS.iter().find(|a| a.name == name).ok_or_else(|| {
        GatewayError::new(
            ErrorKind::NotFound,
            "No such file among the portal's assets.",
        )
    })?;
    let mut resp = file(found.body, found.mime);
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(resp)
}

fn file(body: &'static [u8], mime: &'static str) -> Reply {
    let mut resp = Response::new(Bytes::from_static(body));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_chosen_by_accept() {
        let mut h = http::HeaderMap::new();
        assert!(!wants_html(&h));
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert!(!wants_html(&h));
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),
        );
        assert!(wants_html(&h));
    }

    #[test]
    fn every_asset_is_served_and_unknown_ones_are_404() {
        for a in ASSETS {
            let r = serve(a.name).unwrap();
            assert_eq!(r.headers()[header::CONTENT_TYPE], a.mime);
            assert!(!r.body().is_empty(), "{}", a.name);
        }
        assert!(serve("../Cargo.toml").is_err());
        // The portal adds little to the binary (the issue allows a few MiB).
        let embedded = ASSETS.iter().map(|a| a.body.len()).sum::<usize>()
            + PORTAL_HTML.len()
            + DOCS_HTML.len();
        assert!(embedded < 256 * 1024, "{embedded} bytes");
        assert!(serve("").is_err());
    }

    #[test]
    fn nothing_is_loaded_from_another_host() {
        // The only absolute URL is the SVG namespace, an identifier that is never fetched.
        let bodies = ASSETS
            .iter()
            .map(|a| (a.name, a.body))
            .chain([("index.html", PORTAL_HTML), ("docs.html", DOCS_HTML)]);
        for (name, body) in bodies {
            let text = String::from_utf8_lossy(body).replace("http://www.w3.org/2000/svg", "");
            for needle in ["http://", "https://", "//cdn", "@import", "url("] {
                assert!(!text.contains(needle), "{name} holds `{needle}`");
            }
        }
    }
}
