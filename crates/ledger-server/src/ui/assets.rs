//! Assets embedded in the binary, served from `/ui/assets/` under content-hashed names
//! (`app.<first 16 hex digits of SHA-256>.css`), so a changed file is a new URL and every
//! served one can be cached as immutable.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The stylesheet.
const APP_CSS: &str = include_str!("../../assets/ui/app.css");

struct Asset {
    name: String,
    content_type: &'static str,
    body: &'static [u8],
}

fn hashed(stem: &str, ext: &str, body: &[u8]) -> String {
    let h = evidence_core::types::sha256(&[body]);
    format!("{stem}.{}.{ext}", &hex::encode(h)[..16])
}

static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    vec![Asset { name: hashed("app", "css", APP_CSS.as_bytes()), content_type: "text/css; charset=utf-8", body: APP_CSS.as_bytes() }]
});

/// The stylesheet's URL path.
pub(crate) fn css_path() -> String {
    ASSETS.first().map(|a| format!("/ui/assets/{}", a.name)).unwrap_or_default()
}

/// `GET /ui/assets/{name}`.
pub(crate) async fn serve(Path(name): Path<String>) -> Response {
    let Some(a) = ASSETS.iter().find(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let mut r = a.body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(a.content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    r
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_name_carries_the_content_hash() {
        let p = super::css_path();
        let h = hex::encode(evidence_core::types::sha256(&[super::APP_CSS.as_bytes()]));
        assert_eq!(p, format!("/ui/assets/app.{}.css", &h[..16]));
    }
}
