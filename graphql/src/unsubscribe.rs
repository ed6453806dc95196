//! `GET /unsubscribe?t=…`: the page a marketing message's link opens, with one button;
//! `POST /unsubscribe?t=…`: withdraws the consent (the button, and mail clients' own
//! one-click unsubscribe, RFC 8058). GET changes nothing, so link scanners that open every
//! link in a mail do not unsubscribe anyone.

use std::sync::Arc;

use axum::{
    extract::{Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use commerce::notify::unsubscribe::{self, Channel};
use serde::Deserialize;

use crate::app::AppState;

/// The link's query.
#[derive(Deserialize)]
pub struct Link {
    t: Option<String>,
}

fn html(status: StatusCode, title: &str, body: &str) -> Response {
    let page = format!(
        "<!DOCTYPE html><html lang=\"ko\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title></head>\
         <body style=\"font-family: sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem\">\
         <h1 style=\"font-size: 1.3rem\">{title}</h1>{body}</body></html>"
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        page,
    )
        .into_response()
}

fn what(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "광고성 이메일",
        Channel::Sms => "광고성 문자",
    }
}

fn invalid() -> Response {
    html(
        StatusCode::BAD_REQUEST,
        "올바르지 않은 링크입니다",
        "<p>수신 거부 링크가 올바르지 않습니다. 받으신 메시지의 링크를 그대로 열어 주세요.</p>",
    )
}

/// The confirmation page.
pub async fn page(State(app): State<Arc<AppState>>, Query(link): Query<Link>) -> Response {
    let Some(token) = link.t else { return invalid() };
    match unsubscribe::verify(&app.settings, &token) {
        Ok((_, channel)) => {
            // The token is base64url: safe inside the attribute as is.
            let body = format!(
                "<p>{} 수신을 거부하시겠어요? 주문·배송 안내는 계속 받으실 수 있습니다.</p>\
                 <form method=\"post\" action=\"/unsubscribe?t={token}\">\
                 <button type=\"submit\" style=\"padding: .7rem 1.2rem; font-size: 1rem\">수신 거부</button></form>",
                what(channel)
            );
            html(StatusCode::OK, "수신 거부", &body)
        }
        Err(_) => invalid(),
    }
}

/// Withdraws the consent.
pub async fn confirm(State(app): State<Arc<AppState>>, Query(link): Query<Link>) -> Response {
    let Some(token) = link.t else { return invalid() };
    match unsubscribe::apply(&app.pool, &app.settings, &token).await {
        Ok(channel) => html(
            StatusCode::OK,
            "수신 거부가 완료되었습니다",
            &format!(
                "<p>{} 수신을 거부하셨습니다. 내 정보에서 언제든 다시 동의하실 수 있습니다.</p>",
                what(channel)
            ),
        ),
        Err(commerce::Error::Invalid { .. }) => invalid(),
        Err(e) => {
            tracing::error!(error = %e, "unsubscribe failed");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                "잠시 후 다시 시도해 주세요",
                "<p>처리 중 문제가 생겼습니다.</p>",
            )
        }
    }
}
