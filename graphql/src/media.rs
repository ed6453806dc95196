//! `GET /media/{key}`: stored pictures from local disk or S3 (streamed). Only keys of our
//! own grammar are looked up (`commerce::media::is_key`), so no path leaves the store's
//! folder. A key never changes content: a year's `immutable` caching.

use std::sync::Arc;

use axum::{
    body::Body,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

use crate::app::AppState;

/// Serves one stored file.
pub async fn serve(State(app): State<Arc<AppState>>, Path(key): Path<String>) -> Response {
    if !commerce::media::is_key(&key) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let object = match app.media.store.get(&key).await {
        Ok(Some(o)) => o,
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "media read failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let mut resp = Body::from_stream(object.body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(object.content_type));
    if let Some(len) = object.len {
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // A picture opened on its own runs nothing, whatever its bytes.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(
        header::HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("cross-origin"),
    );
    resp
}
