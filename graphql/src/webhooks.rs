//! `POST /webhooks/toss` and `POST /webhooks/portone`: the raw body goes to the core, which
//! verifies it before reading it (DESIGN.md §5). Answers: 200 for anything handled,
//! repeated or ignored (the gateway stops resending), 401 for a delivery that proves
//! nothing, 400 for a body that is not the gateway's, 502 when the gateway could not be
//! asked back and 500 for our faults (the gateway resends both later).

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use commerce::{
    Code, Error,
    payment::webhook::{self, Outcome, PortOneHeaders},
};
use serde_json::json;

use crate::app::AppState;

fn answer(provider: &str, r: Result<Outcome, Error>) -> Response {
    match r {
        Ok(outcome) => {
            let (kind, detail) = match &outcome {
                Outcome::Handled(what) => ("handled", *what),
                Outcome::Duplicate => ("duplicate", ""),
                Outcome::Ignored(why) => ("ignored", *why),
            };
            tracing::info!(provider, kind, detail, "webhook");
            Json(json!({ "ok": true, "result": kind })).into_response()
        }
        Err(e) => {
            let status = match e.code() {
                Code::Unauthenticated => StatusCode::UNAUTHORIZED,
                Code::InvalidInput => StatusCode::BAD_REQUEST,
                Code::PaymentFailed | Code::PaymentDeclined => StatusCode::BAD_GATEWAY,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            if e.is_fault() {
                tracing::error!(provider, error = %e, "webhook fault");
            }
            let message = if e.is_fault() {
                "internal error".to_owned()
            } else {
                e.to_string()
            };
            (
                status,
                Json(json!({ "ok": false, "code": e.code().as_str(), "message": message })),
            )
                .into_response()
        }
    }
}

/// Toss Payments: `PAYMENT_STATUS_CHANGED` and `DEPOSIT_CALLBACK`.
pub async fn toss(State(app): State<Arc<AppState>>, body: Bytes) -> Response {
    answer("TOSS", webhook::toss(&app.pool, &app.gateways, &body).await)
}

/// PortOne V2 (Standard Webhooks).
pub async fn portone(State(app): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    let r = webhook::portone(
        &app.pool,
        &app.gateways,
        PortOneHeaders {
            id: h("webhook-id"),
            timestamp: h("webhook-timestamp"),
            signature: h("webhook-signature"),
        },
        &body,
        now,
    )
    .await;
    answer("PORTONE", r)
}
