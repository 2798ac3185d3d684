//! The pages' CSS, script and icon: embedded in the binary, served under content-hashed names
//! (`/assets/web.3f2a…c1.css`) with a year of immutable caching, so a deploy never serves a stale
//! stylesheet and a repeat visit loads nothing but the page.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest as _, Sha256};

use super::error::WebError;

/// One embedded file.
pub struct Asset {
    /// `web.css`: the name in this folder.
    stem: &'static str,
    ext: &'static str,
    content_type: &'static str,
    body: &'static [u8],
    /// `/assets/web.<hash>.css`.
    pub url: String,
}

impl Asset {
    fn new(
        stem: &'static str,
        ext: &'static str,
        content_type: &'static str,
        body: &'static [u8],
    ) -> Self {
        let digest = Sha256::digest(body);
        let hash = hex::encode(&digest[..8]);
        Self {
            stem,
            ext,
            content_type,
            body,
            url: format!("/assets/{stem}.{hash}.{ext}"),
        }
    }
}

/// Every asset, hashed once.
pub struct Assets {
    pub css: Asset,
    pub js: Asset,
    pub icon: Asset,
}

pub static ASSETS: LazyLock<Assets> = LazyLock::new(|| Assets {
    css: Asset::new(
        "web",
        "css",
        "text/css; charset=utf-8",
        include_bytes!("assets/web.css"),
    ),
    js: Asset::new(
        "web",
        "js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/web.js"),
    ),
    icon: Asset::new(
        "icon",
        "svg",
        "image/svg+xml",
        include_bytes!("assets/icon.svg"),
    ),
});

/// `GET /assets/{file}`: only the current hashed names answer; an old hash is a 404, never another
/// version's bytes under an immutable header.
pub async fn serve(Path(file): Path<String>) -> Response {
    let assets = &*ASSETS;
    let Some(asset) = [&assets.css, &assets.js, &assets.icon]
        .into_iter()
        .find(|asset| asset.url.strip_prefix("/assets/") == Some(file.as_str()))
    else {
        return WebError::NotFound(format!("no asset `{file}`")).into_response();
    };
    debug_assert!(file.starts_with(asset.stem) && file.ends_with(asset.ext));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        asset.body,
    )
        .into_response()
}
