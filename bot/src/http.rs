//! `jangteo-bot http`: Slack's Request URLs and the Sentry webhook on one axum router.
//!
//! - `POST /slack/commands`, `/slack/events`, `/slack/interactions`: the signature
//!   (messaging.md §1a) is checked over the raw body before anything parses it; a bad,
//!   missing or stale one → 401 and nothing is posted. The reply goes out at once (Slack's 3
//!   seconds); the work runs after.
//! - `POST /sentry/webhook`: the Sentry relay's own router ([`crate::sentry_relay::routes`]),
//!   merged in by [`app`].
//! - `GET /healthz`.

use std::sync::Arc;

use axum::{
    Json, Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use secrecy::{ExposeSecret, SecretString};
use tower_http::trace::TraceLayer;

use crate::{
    api::Api,
    handlers::{Bot, EventEnvelope, Interaction, SlashCommand, command_ack},
    sentry_relay::{
        self, MessageUpdate, PostError, PostMessage, Poster, SentryRelay, SlackThread, Threads, ThreadsError,
    },
    slack::{SlackError, SlackWeb},
    verify::verify,
};

/// Slack's bodies are small; anything bigger is not Slack.
pub const MAX_SLACK_BODY: usize = 256 * 1024;

#[derive(Clone)]
struct SlackState {
    bot: Arc<Bot>,
    secret: Arc<SecretString>,
}

/// The Slack routes and `/healthz`, verified with `signing_secret`.
pub fn router(bot: Arc<Bot>, signing_secret: SecretString) -> Router {
    let state = SlackState {
        bot,
        secret: Arc::new(signing_secret),
    };
    Router::new()
        .route("/slack/commands", post(commands))
        .route("/slack/events", post(events))
        .route("/slack/interactions", post(interactions))
        .layer(DefaultBodyLimit::max(MAX_SLACK_BODY))
        .with_state(state)
        .route("/healthz", get(|| async { "ok" }))
}

/// The whole HTTP app: [`router`] plus the Sentry relay's `/sentry/webhook` when it runs;
/// each request has an id (`X-Request-Id`), a `request` span and a Sentry scope of its own.
pub fn app(bot: Arc<Bot>, signing_secret: SecretString, relay: Option<SentryRelay>) -> Router {
    let r = router(bot, signing_secret);
    let r = match relay {
        Some(relay) => r.merge(sentry_relay::routes(relay)),
        None => r,
    };
    r.layer(TraceLayer::new_for_http().make_span_with(telemetry::http::request_span::<axum::body::Body>))
        .layer(telemetry::http::RequestLayer)
}

fn checked(state: &SlackState, headers: &HeaderMap, body: &[u8]) -> Result<(), StatusCode> {
    let h = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    verify(
        state.secret.expose_secret().as_bytes(),
        h("x-slack-request-timestamp"),
        h("x-slack-signature"),
        body,
        now,
    )
    .map_err(|e| {
        tracing::warn!(reason = %e, "Slack request refused");
        StatusCode::UNAUTHORIZED
    })
}

async fn commands(State(state): State<SlackState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(status) = checked(&state, &headers, &body) {
        return status.into_response();
    }
    let fields: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let cmd = match (get("command"), get("user_id"), get("channel_id"), get("response_url")) {
        (Some(command), Some(user_id), Some(channel_id), Some(response_url)) => SlashCommand {
            command,
            text: get("text").unwrap_or_default(),
            user_id,
            channel_id,
            response_url,
        },
        _ => return (StatusCode::BAD_REQUEST, "not a slash command").into_response(),
    };
    tracing::info!(command = cmd.command, "slash command");
    state.bot.command(cmd);
    Json(command_ack()).into_response()
}

async fn events(State(state): State<SlackState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(status) = checked(&state, &headers, &body) {
        return status.into_response();
    }
    let envelope: EventEnvelope = match serde_json::from_slice(&body) {
        Ok(e) => e,
        Err(_) => return (StatusCode::BAD_REQUEST, "not an Events API body").into_response(),
    };
    if envelope.kind == "url_verification" {
        let challenge = envelope.challenge.unwrap_or_default();
        return ([(header::CONTENT_TYPE, "text/plain")], challenge).into_response();
    }
    if let Some(n) = headers.get("x-slack-retry-num").and_then(|v| v.to_str().ok()) {
        tracing::info!(
            retry = n,
            event_id = envelope.event_id.as_deref(),
            "Slack retried an event"
        );
    }
    state.bot.event(envelope);
    StatusCode::OK.into_response()
}

async fn interactions(State(state): State<SlackState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(status) = checked(&state, &headers, &body) {
        return status.into_response();
    }
    let payload = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "payload")
        .and_then(|(_, v)| serde_json::from_str::<Interaction>(&v).ok());
    match payload {
        Some(p) => {
            state.bot.interaction(p);
            StatusCode::OK.into_response()
        }
        None => (StatusCode::BAD_REQUEST, "no interaction payload").into_response(),
    }
}

/// The Sentry relay posts through the bot's Slack client.
#[derive(Clone, Debug)]
pub struct SlackPoster(pub SlackWeb);

impl From<SlackError> for PostError {
    fn from(e: SlackError) -> PostError {
        match e {
            SlackError::Api { error, .. } => PostError::Slack(error),
            SlackError::RateLimited { retry_after, .. } => PostError::RateLimited(retry_after),
            other => PostError::Transport(other.to_string()),
        }
    }
}

impl Poster for SlackPoster {
    async fn post(&self, m: PostMessage) -> Result<String, PostError> {
        let posted = self
            .0
            .post_message(&m.channel, &m.text, &m.blocks, m.thread_ts.as_deref())
            .await?;
        Ok(posted.ts)
    }

    async fn update(&self, u: MessageUpdate) -> Result<(), PostError> {
        Ok(self.0.update(&u.channel, &u.ts, &u.text, &u.blocks).await?)
    }
}

/// The Sentry relay keeps its threads through the admin API (`botThread`, `botThreadSave`).
#[derive(Clone, Debug)]
pub struct ApiThreads(pub Api);

impl Threads for ApiThreads {
    async fn get(&self, key: &str) -> Result<Option<SlackThread>, ThreadsError> {
        let t = self.0.thread(key).await.map_err(|e| ThreadsError::Api(e.to_string()))?;
        Ok(t.map(|t| SlackThread {
            channel: t.channel,
            ts: t.ts,
        }))
    }

    async fn save(&self, key: &str, thread: SlackThread) -> Result<SlackThread, ThreadsError> {
        let t = self
            .0
            .thread_save(key, &thread.channel, &thread.ts)
            .await
            .map_err(|e| ThreadsError::Api(e.to_string()))?;
        Ok(SlackThread {
            channel: t.channel,
            ts: t.ts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use serde_json::Value;
    use tower::ServiceExt;

    fn app() -> Router {
        let api = Api::new(
            "http://127.0.0.1:9/admin/graphql".parse().expect("a URL"),
            SecretString::from("t"),
            std::time::Duration::from_secs(1),
        )
        .expect("an API client");
        let slack = SlackWeb::new(
            "http://127.0.0.1:9/api/".parse().expect("a URL"),
            SecretString::from("x"),
        )
        .expect("a Slack client");
        router(Arc::new(Bot::new(api, slack)), SecretString::from("secret"))
    }

    fn signed(path: &str, body: &str, ts: i64, secret: &[u8]) -> Request<Body> {
        Request::post(path)
            .header("x-slack-request-timestamp", ts.to_string())
            .header("x-slack-signature", crate::verify::sign(secret, ts, body.as_bytes()))
            .body(Body::from(body.to_owned()))
            .expect("a request")
    }

    async fn text(r: Response) -> String {
        let b = axum::body::to_bytes(r.into_body(), 1 << 20).await.expect("a body");
        String::from_utf8_lossy(&b).into_owned()
    }

    #[tokio::test]
    async fn url_verification_echoes_the_challenge() {
        let body = r#"{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
        let now = chrono::Utc::now().timestamp();
        let r = app()
            .oneshot(signed("/slack/events", body, now, b"secret"))
            .await
            .expect("a response");
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(text(r).await, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");
    }

    #[tokio::test]
    async fn bad_and_stale_signatures_are_401() {
        let body = "command=%2Fsales&text=&user_id=U1&channel_id=C1&response_url=http%3A%2F%2F127.0.0.1%3A9%2Fr";
        let now = chrono::Utc::now().timestamp();
        for req in [
            signed("/slack/commands", body, now, b"wrong"),
            signed("/slack/commands", body, now - 301, b"secret"),
            signed("/slack/events", "{}", now, b"wrong"),
            signed("/slack/interactions", "payload=%7B%7D", now - 1000, b"secret"),
            Request::post("/slack/commands")
                .body(Body::from(body))
                .expect("a request"),
        ] {
            let r = app().oneshot(req).await.expect("a response");
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        }
    }

    #[tokio::test]
    async fn a_signed_command_is_acknowledged_at_once() {
        let body = "command=%2Fsales&text=%EC%96%B4%EC%A0%9C&user_id=U1&channel_id=C1&response_url=http%3A%2F%2F127.0.0.1%3A9%2Fr";
        let now = chrono::Utc::now().timestamp();
        let r = app()
            .oneshot(signed("/slack/commands", body, now, b"secret"))
            .await
            .expect("a response");
        assert_eq!(r.status(), StatusCode::OK);
        let v: Value = serde_json::from_str(&text(r).await).expect("JSON");
        assert_eq!(v["response_type"], "ephemeral");
    }

    #[tokio::test]
    async fn oversized_bodies_are_refused() {
        let body = "x".repeat(MAX_SLACK_BODY + 1);
        let now = chrono::Utc::now().timestamp();
        let r = app()
            .oneshot(signed("/slack/events", &body, now, b"secret"))
            .await
            .expect("a response");
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn every_answer_carries_a_request_id() {
        let app = || {
            let api = Api::new(
                "http://127.0.0.1:9/admin/graphql".parse().expect("a URL"),
                SecretString::from("t"),
                std::time::Duration::from_secs(1),
            )
            .expect("an API client");
            let slack = SlackWeb::new(
                "http://127.0.0.1:9/api/".parse().expect("a URL"),
                SecretString::from("x"),
            )
            .expect("a Slack client");
            super::app(Arc::new(Bot::new(api, slack)), SecretString::from("secret"), None)
        };
        let id = |r: &Response| r.headers()["x-request-id"].to_str().expect("ASCII").to_owned();
        let r = app()
            .oneshot(Request::get("/healthz").body(Body::empty()).expect("a request"))
            .await
            .expect("a response");
        assert_eq!(id(&r).len(), 36, "a new UUID");
        let r = app()
            .oneshot(signed("/slack/commands", "", 0, b"wrong"))
            .await
            .expect("a response");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let first = id(&r);
        let r = app()
            .oneshot(
                Request::get("/healthz")
                    .header("x-request-id", "slack-retry-1")
                    .body(Body::empty())
                    .expect("a request"),
            )
            .await
            .expect("a response");
        assert_eq!(id(&r), "slack-retry-1");
        assert_ne!(first, "slack-retry-1");
    }

    #[tokio::test]
    async fn healthz_answers() {
        let r = app()
            .oneshot(Request::get("/healthz").body(Body::empty()).expect("a request"))
            .await
            .expect("a response");
        assert_eq!(r.status(), StatusCode::OK);
    }
}
