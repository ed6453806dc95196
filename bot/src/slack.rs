//! The Slack Web API calls the bot makes (messaging.md §1f), over reqwest against
//! `slack.api_url` (a fake's in tests): `chat.postMessage`, `chat.postEphemeral`,
//! `chat.update`, the upload flow `files.getUploadURLExternal` → POST the bytes →
//! `files.completeUploadExternal`, and `response_url` posts. HTTP 429 waits `Retry-After`
//! seconds and tries again (a bounded number of times); `{ok:false, error}` becomes
//! [`SlackError::Api`].
//!
//! Why not slack-morphism's Web API client: its hyper connector is HTTPS-only (no plain-HTTP
//! fake), takes typed blocks where ours are JSON, and retries 429 only behind its own
//! throttle. slack-morphism runs Socket Mode (`socket.rs`).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

/// Installs ring as the process's rustls provider unless one is installed already: reqwest
/// is built without one, and slack-morphism links ring (DESIGN.md §9). Every client
/// constructor calls it, so library users and tests need not.
pub fn install_tls() {
    // An error only says a provider is installed already, which is all we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Why a Slack call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackError {
    /// Slack answered `{ok: false, error}`: `channel_not_found`, `not_in_channel`,
    /// `invalid_auth`, `missing_scope`…
    #[error("Slack refused {method}: {error}")]
    Api {
        /// The method called.
        method: String,
        /// Slack's error code.
        error: String,
    },
    /// Slack kept answering 429; the last `Retry-After`.
    #[error("Slack rate limit on {method} (retry after {retry_after:?})")]
    RateLimited {
        /// The method called.
        method: String,
        /// What Slack asked us to wait.
        retry_after: Duration,
    },
    /// Slack answered a status other than 200 and 429, or something that isn't JSON.
    #[error("Slack {method} answered HTTP {status}")]
    Http {
        /// The method or target.
        method: String,
        /// The status.
        status: u16,
    },
    /// Slack could not be reached.
    #[error("cannot reach Slack: {0}")]
    Transport(String),
}

impl SlackError {
    /// Slack's error code when it answered one.
    pub fn slack_code(&self) -> Option<&str> {
        match self {
            SlackError::Api { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// A posted message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Posted {
    /// The channel id.
    pub channel: String,
    /// Its `ts`.
    pub ts: String,
}

/// The Slack Web API with the bot token; cheap to clone.
#[derive(Clone, Debug)]
pub struct SlackWeb {
    http: reqwest::Client,
    base: Url,
    token: SecretString,
    /// Tries per call, the first included, while Slack answers 429.
    max_attempts: u32,
    /// The longest `Retry-After` waited; longer ones give up at once.
    max_wait: Duration,
}

impl SlackWeb {
    /// A client of the Web API at `base` (`https://slack.com/api/`) with a bot token.
    pub fn new(base: Url, token: SecretString) -> Result<SlackWeb, SlackError> {
        install_tls();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("jangteo-bot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| SlackError::Transport(e.to_string()))?;
        // `Url::join` drops the last segment of a base without a trailing slash.
        let base = if base.path().ends_with('/') {
            base
        } else {
            let mut b = base;
            b.set_path(&format!("{}/", b.path()));
            b
        };
        Ok(SlackWeb {
            http,
            base,
            token,
            max_attempts: 4,
            max_wait: Duration::from_mins(1),
        })
    }

    /// Fewer and shorter waits on 429 (tests).
    #[must_use]
    pub fn with_retries(self, max_attempts: u32, max_wait: Duration) -> SlackWeb {
        SlackWeb {
            max_attempts: max_attempts.max(1),
            max_wait,
            ..self
        }
    }

    /// Sends one request built by `build`, again after `Retry-After` while Slack answers 429.
    async fn send(&self, what: &str, build: impl Fn() -> reqwest::RequestBuilder) -> Result<Value, SlackError> {
        let mut attempt = 1;
        loop {
            let res = build()
                .send()
                .await
                .map_err(|e| SlackError::Transport(e.without_url().to_string()))?;
            let status = res.status();
            if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                let wait = res
                    .headers()
                    .get(reqwest::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map_or(Duration::from_secs(1), Duration::from_secs);
                if attempt >= self.max_attempts || wait > self.max_wait {
                    return Err(SlackError::RateLimited {
                        method: what.to_owned(),
                        retry_after: wait,
                    });
                }
                tracing::info!(
                    method = what,
                    wait_secs = wait.as_secs(),
                    attempt,
                    "Slack rate limit: waiting"
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
                continue;
            }
            if !status.is_success() {
                return Err(SlackError::Http {
                    method: what.to_owned(),
                    status: status.as_u16(),
                });
            }
            let text = res
                .text()
                .await
                .map_err(|e| SlackError::Transport(e.without_url().to_string()))?;
            // Upload targets and response_urls may answer a plain `ok` or nothing.
            return Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)));
        }
    }

    fn checked(method: &str, v: Value) -> Result<Value, SlackError> {
        if v.get("ok").and_then(Value::as_bool) == Some(true) {
            return Ok(v);
        }
        let error = v
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("unknown_error")
            .to_owned();
        tracing::warn!(method, error, "Slack refused");
        Err(SlackError::Api {
            method: method.to_owned(),
            error,
        })
    }

    fn url(&self, method: &str) -> Result<Url, SlackError> {
        self.base
            .join(method)
            .map_err(|e| SlackError::Transport(format!("bad Slack API URL: {e}")))
    }

    /// Calls a Web API method with a JSON body.
    pub async fn call(&self, method: &str, body: &Value) -> Result<Value, SlackError> {
        let url = self.url(method)?;
        let v = self
            .send(method, || {
                self.http
                    .post(url.clone())
                    .bearer_auth(self.token.expose_secret())
                    .json(body)
            })
            .await?;
        Self::checked(method, v)
    }

    /// Calls a Web API method with a form body (the files methods take forms).
    pub async fn call_form(&self, method: &str, fields: &[(&str, &str)]) -> Result<Value, SlackError> {
        let url = self.url(method)?;
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let v = self
            .send(method, || {
                self.http
                    .post(url.clone())
                    .bearer_auth(self.token.expose_secret())
                    .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(body.clone())
            })
            .await?;
        Self::checked(method, v)
    }

    /// `chat.postMessage`, in a thread when `thread_ts` is given.
    pub async fn post_message(
        &self,
        channel: &str,
        text: &str,
        blocks: &[Value],
        thread_ts: Option<&str>,
    ) -> Result<Posted, SlackError> {
        let mut body = json!({ "channel": channel, "text": text, "blocks": blocks, "unfurl_links": false });
        if let Some(ts) = thread_ts {
            body["thread_ts"] = json!(ts);
        }
        let v = self.call("chat.postMessage", &body).await?;
        Ok(Posted {
            channel: v["channel"].as_str().unwrap_or(channel).to_owned(),
            ts: v["ts"].as_str().unwrap_or_default().to_owned(),
        })
    }

    /// `chat.postEphemeral`: only `user` sees it.
    pub async fn post_ephemeral(
        &self,
        channel: &str,
        user: &str,
        text: &str,
        blocks: &[Value],
        thread_ts: Option<&str>,
    ) -> Result<(), SlackError> {
        let mut body = json!({ "channel": channel, "user": user, "text": text, "blocks": blocks });
        if let Some(ts) = thread_ts {
            body["thread_ts"] = json!(ts);
        }
        self.call("chat.postEphemeral", &body).await.map(drop)
    }

    /// `chat.update`: rewrites a message the bot posted.
    pub async fn update(&self, channel: &str, ts: &str, text: &str, blocks: &[Value]) -> Result<(), SlackError> {
        let body = json!({ "channel": channel, "ts": ts, "text": text, "blocks": blocks });
        self.call("chat.update", &body).await.map(drop)
    }

    /// Uploads a file into a channel (in a thread when `thread_ts` is given):
    /// `files.getUploadURLExternal`, the bytes to its `upload_url`, then
    /// `files.completeUploadExternal`. Returns the file id.
    pub async fn upload(
        &self,
        channel: &str,
        thread_ts: Option<&str>,
        filename: &str,
        title: &str,
        bytes: &[u8],
    ) -> Result<String, SlackError> {
        let length = bytes.len().to_string();
        let v = self
            .call_form(
                "files.getUploadURLExternal",
                &[("filename", filename), ("length", &length), ("alt_txt", title)],
            )
            .await?;
        let (Some(upload_url), Some(file_id)) = (v["upload_url"].as_str(), v["file_id"].as_str()) else {
            return Err(SlackError::Api {
                method: "files.getUploadURLExternal".into(),
                error: "no_upload_url".into(),
            });
        };
        let upload_url = Url::parse(upload_url).map_err(|e| SlackError::Transport(format!("bad upload_url: {e}")))?;
        let body = bytes.to_vec();
        self.send("upload_url", || {
            self.http
                .post(upload_url.clone())
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .body(body.clone())
        })
        .await?;
        let files = json!([{ "id": file_id, "title": title }]).to_string();
        let mut fields = vec![("files", files.as_str()), ("channel_id", channel)];
        if let Some(ts) = thread_ts {
            fields.push(("thread_ts", ts));
        }
        self.call_form("files.completeUploadExternal", &fields).await?;
        Ok(file_id.to_owned())
    }

    /// POSTs a message to a `response_url` (no token; 5 uses in 30 minutes).
    pub async fn respond(&self, response_url: &str, message: &Value) -> Result<(), SlackError> {
        let url = Url::parse(response_url).map_err(|e| SlackError::Transport(format!("bad response_url: {e}")))?;
        // Only Slack's own hooks (or the Web API's host, a fake's in tests): a forged payload
        // can't make the bot post to an address of its choosing.
        let slack_hook = url.scheme() == "https" && url.host_str() == Some("hooks.slack.com");
        if !slack_hook && url.origin() != self.base.origin() {
            return Err(SlackError::Transport(format!(
                "response_url {} is not Slack's",
                url.origin().ascii_serialization()
            )));
        }
        let v = self
            .send("response_url", || self.http.post(url.clone()).json(message))
            .await?;
        // Slack answers `ok` as text or `{"ok":true}`; an `{ok:false}` JSON is a refusal.
        if v.get("ok").and_then(Value::as_bool) == Some(false) {
            return Self::checked("response_url", v).map(drop);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{
        Router,
        extract::State,
        http::{HeaderMap, StatusCode},
        response::IntoResponse,
        routing::post,
    };
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    /// A tiny Web API: `chat.postMessage` answers 429 (`Retry-After: 0`) `limited` times.
    async fn serve(limited: usize) -> (Url, Arc<AtomicUsize>) {
        async fn method(
            State((calls, limited)): State<(Arc<AtomicUsize>, usize)>,
            headers: HeaderMap,
            axum::extract::Path(m): axum::extract::Path<String>,
        ) -> axum::response::Response {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer xoxb-test") {
                return axum::Json(json!({ "ok": false, "error": "invalid_auth" })).into_response();
            }
            if n < limited {
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "0")],
                    axum::Json(json!({ "ok": false, "error": "ratelimited" })),
                )
                    .into_response();
            }
            match m.as_str() {
                "chat.postMessage" => {
                    axum::Json(json!({ "ok": true, "channel": "C1", "ts": "1.000100" })).into_response()
                }
                _ => axum::Json(json!({ "ok": false, "error": "channel_not_found" })).into_response(),
            }
        }
        let calls = Arc::new(AtomicUsize::new(0));
        let app = Router::new()
            .route("/api/{m}", post(method))
            .with_state((calls.clone(), limited));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let addr = listener.local_addr().expect("an address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}/api").parse().expect("a URL"), calls)
    }

    #[tokio::test]
    async fn rate_limits_are_waited_out_then_the_call_succeeds() {
        let (base, calls) = serve(2).await;
        let slack = SlackWeb::new(base, SecretString::from("xoxb-test")).expect("a client");
        let posted = slack.post_message("C1", "hi", &[], None).await.expect("posted");
        assert_eq!(posted.ts, "1.000100");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn rate_limits_give_up_after_the_last_attempt() {
        let (base, calls) = serve(10).await;
        let slack = SlackWeb::new(base, SecretString::from("xoxb-test"))
            .expect("a client")
            .with_retries(3, Duration::from_secs(1));
        let err = slack.post_message("C1", "hi", &[], None).await.expect_err("limited");
        assert!(matches!(err, SlackError::RateLimited { .. }), "{err:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn ok_false_is_a_typed_error() {
        let (base, _) = serve(0).await;
        let slack = SlackWeb::new(base.clone(), SecretString::from("xoxb-test")).expect("a client");
        let err = slack.update("C404", "1.0", "x", &[]).await.expect_err("refused");
        assert_eq!(err.slack_code(), Some("channel_not_found"));
        let wrong = SlackWeb::new(base, SecretString::from("xoxb-wrong")).expect("a client");
        let err = wrong.post_message("C1", "x", &[], None).await.expect_err("refused");
        assert_eq!(err.slack_code(), Some("invalid_auth"));
    }

    #[tokio::test]
    async fn a_response_url_must_be_slack_s() {
        let (base, calls) = serve(0).await;
        let slack = SlackWeb::new(base.clone(), SecretString::from("xoxb-test")).expect("a client");
        for url in [
            "http://169.254.169.254/latest/meta-data",
            "http://hooks.slack.com/commands/T1/1/x",
            "https://hooks.slack.com.evil.example/commands/T1/1/x",
            "https://evil.example/?u=https://hooks.slack.com/",
        ] {
            let err = slack.respond(url, &json!({ "text": "hi" })).await.expect_err(url);
            assert!(err.to_string().contains("not Slack's"), "{url}: {err}");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing was sent");
        // The Web API's own origin (a fake's, in tests) is taken (this one refuses a call
        // without a token, but it was called).
        let own = format!("{base}/chat.postMessage");
        let answer = slack.respond(&own, &json!({ "text": "hi" })).await;
        assert!(
            answer.as_ref().is_err_and(|e| !e.to_string().contains("not Slack's")),
            "{answer:?}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
