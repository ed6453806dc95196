//! Request bodies declared over a route's limit: 413 with a GraphQL error the client gets to
//! read.
//!
//! Answering before the body is read and closing the connection with the rest of the upload
//! still in the kernel's buffer makes the server's TCP stack send a reset, which often reaches
//! the client before the 413 does: the browser shows "connection reset" and a library reports
//! an incomplete message instead of the status. So the declared body is first read and thrown
//! away, as nginx's lingering close does, within a bound ([`DRAIN_BYTES`] past the limit and
//! [`DRAIN_TIME`]): a body read to its end leaves the connection usable; one cut short gets
//! `Connection: close`. A body without a length (chunked) is cut at the limit by
//! `RequestBodyLimitLayer` further in; its plain-text 413 is answered here in the same JSON.

use std::time::Duration;

use axum::{
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use futures::StreamExt;

use crate::multipart::Refused;

/// How much of an oversized body is read past the limit before giving up on it.
pub const DRAIN_BYTES: u64 = 4 * 1024 * 1024;
/// How long an oversized body is read before giving up on it (a slow sender is cut).
pub const DRAIN_TIME: Duration = Duration::from_secs(2);

/// Middleware: refuses a request whose `Content-Length` is over `limit` bytes (see the module).
pub async fn refuse_oversized(State(limit): State<usize>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let limit = u64::try_from(limit).unwrap_or(u64::MAX);
    let Some(declared) = declared.filter(|&n| n > limit) else {
        let resp = next.run(req).await;
        let json = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        // The body extractor's own refusal of a chunked body past the limit is plain text.
        return if resp.status() == StatusCode::PAYLOAD_TOO_LARGE && !json {
            too_large(limit)
        } else {
            resp
        };
    };
    let read_all = declared <= limit.saturating_add(DRAIN_BYTES) && drain(req, declared).await;
    let mut resp = too_large(limit);
    if !read_all {
        resp.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

/// 413 with a GraphQL error, `TOO_LARGE`.
fn too_large(limit: u64) -> Response {
    Refused::too_large(format!("the request body is larger than {limit} bytes")).into_response()
}

/// Reads `req`'s body to its end, at most [`DRAIN_TIME`]: whether all `declared` bytes came.
async fn drain(req: Request, declared: u64) -> bool {
    let mut stream = req.into_body().into_data_stream();
    let read = async {
        let mut total = 0u64;
        while let Some(chunk) = stream.next().await {
            match chunk {
                Ok(bytes) => total = total.saturating_add(bytes.len() as u64),
                Err(_) => return false,
            }
        }
        total == declared
    };
    tokio::time::timeout(DRAIN_TIME, read).await.unwrap_or(false)
}
