//! A fake Mandrill (Mailchimp Transactional) `messages/send` (messaging.md §5):
//! `POST /api/1.0/messages/send.json`, and the same without `.json`.
//!
//! The API key is the body's `key`. Success is 200 with one result per recipient
//! `{"email", "status", "reject_reason", "_id"}` (`_id` 32 hex digits). Errors are HTTP 500 with
//! `{"status": "error", "code": <int>, "name": "<Name>", "message": "…"}` (the 500 and the
//! numeric codes are [UNCONFIRMED] in messaging.md: see [`error_code`]).
//!
//! Recipients decide their own fate by their local part (the part before `@`):
//! - `rejected@…` → `rejected` with `reject_reason` `hard-bounce`;
//! - `invalid@…`, or an address without `@` → `invalid`;
//! - anyone else → `sent`, or `queued` when the request says `async: true`.
//!
//! ```no_run
//! # async fn demo() {
//! use jangteo_tests::fakes::mandrill::{FakeMandrill, TEST_KEY};
//! let mandrill = FakeMandrill::start(TEST_KEY).await;
//! // settings: email.mandrill.base_url = mandrill.base_url(), key = TEST_KEY …
//! let m = &mandrill.messages()[0];
//! assert_eq!(m["to"][0]["email"], "buyer@example.com");
//! # }
//! ```

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::random_string;

/// An API key for tests, shaped as Mandrill's (22 characters).
pub const TEST_KEY: &str = "md-TESTKEY0123456789AB";
/// The send path under [`FakeMandrill::base_url`] (also answered without `.json`).
pub const SEND_PATH: &str = "/api/1.0/messages/send.json";

/// Error `name`s and the numeric `code`s that go with them. The names are confirmed
/// (messaging.md §5); the numbers are [UNCONFIRMED] values seen in clients.
pub mod error_code {
    /// A missing or wrong `key` (code −1).
    pub const INVALID_KEY: (i64, &str) = (-1, "Invalid_Key");
    /// A malformed body: no `message`, no `from_email`, an empty `to`, a bad recipient type
    /// (code −2).
    pub const VALIDATION_ERROR: (i64, &str) = (-2, "ValidationError");
    /// An outage asked for with [`super::FakeMandrill::fail_next`] (code −1).
    pub const GENERAL_ERROR: (i64, &str) = (-1, "GeneralError");
}

#[derive(Default)]
struct Inner {
    messages: Vec<Value>,
    results: Vec<Value>,
    requests: usize,
    outages: usize,
}

struct Shared {
    key: String,
    inner: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking test thread must not hide the record from the others.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A fake Mandrill on `127.0.0.1`; stops when dropped.
pub struct FakeMandrill {
    shared: Arc<Shared>,
    root: String,
    server: JoinHandle<()>,
}

impl Drop for FakeMandrill {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeMandrill {
    /// Starts the fake on a random port, accepting `key`.
    pub async fn start(key: &str) -> FakeMandrill {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared {
            key: key.to_owned(),
            inner: Mutex::new(Inner::default()),
        });
        let app = Router::new()
            .route(SEND_PATH, post(send))
            .route("/api/1.0/messages/send", post(send))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeMandrill {
            shared,
            root: format!("http://{addr}"),
            server,
        }
    }

    /// `http://127.0.0.1:port`, no trailing slash: what `https://mandrillapp.com` is in
    /// production (the adapter POSTs `{base_url}/api/1.0/messages/send.json`).
    pub fn base_url(&self) -> String {
        self.root.clone()
    }

    /// The `message` objects of the requests answered 200, as received (so `merge_vars`,
    /// `tags`, `headers`, `metadata`… can be checked), oldest first.
    pub fn messages(&self) -> Vec<Value> {
        self.shared.lock().messages.clone()
    }

    /// Every per-recipient result answered, oldest first.
    pub fn results(&self) -> Vec<Value> {
        self.shared.lock().results.clone()
    }

    /// Requests received on the send path, whatever was answered.
    pub fn requests(&self) -> usize {
        self.shared.lock().requests
    }

    /// The next `n` requests answer 500 `GeneralError` before any check, sending nothing.
    pub fn fail_next(&self, n: usize) {
        self.shared.lock().outages = n;
    }
}

fn error((code, name): (i64, &str), message: &str) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({ "status": "error", "code": code, "name": name, "message": message })),
    )
        .into_response()
}

async fn send(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let mut inner = shared.lock();
    inner.requests += 1;
    if inner.outages > 0 {
        inner.outages -= 1;
        return error(error_code::GENERAL_ERROR, "An unexpected error occurred");
    }
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&body) else {
        return error(
            error_code::VALIDATION_ERROR,
            "You must specify a key value (the body is not a JSON object)",
        );
    };
    if req.get("key").and_then(Value::as_str) != Some(shared.key.as_str()) {
        return error(error_code::INVALID_KEY, "Invalid API key");
    }
    let Some(message) = req.get("message").filter(|m| m.is_object()) else {
        return error(error_code::VALIDATION_ERROR, "Validation error: message is required");
    };
    if message
        .get("from_email")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return error(
            error_code::VALIDATION_ERROR,
            "Validation error: {\"message\":{\"from_email\":\"Sorry, this field can't be left blank.\"}}",
        );
    }
    let recipients = match message.get("to").and_then(Value::as_array) {
        Some(to) if !to.is_empty() => to,
        _ => {
            return error(
                error_code::VALIDATION_ERROR,
                "Validation error: {\"message\":{\"to\":\"Please enter an array\"}}",
            );
        }
    };
    let queued = req.get("async").and_then(Value::as_bool).unwrap_or(false);
    let mut results = Vec::with_capacity(recipients.len());
    for r in recipients {
        let Some(email) = r.get("email").and_then(Value::as_str) else {
            return error(
                error_code::VALIDATION_ERROR,
                "Validation error: every recipient needs an email",
            );
        };
        if !matches!(r.get("type").and_then(Value::as_str), None | Some("to" | "cc" | "bcc")) {
            return error(
                error_code::VALIDATION_ERROR,
                "Validation error: recipient type must be to, cc or bcc",
            );
        }
        let local = email.split_once('@').map(|(l, _)| l.to_ascii_lowercase());
        let (status, reason) = match local.as_deref() {
            Some("rejected") => ("rejected", Some("hard-bounce")),
            None | Some("invalid") => ("invalid", None),
            Some(_) if queued => ("queued", None),
            Some(_) => ("sent", None),
        };
        results.push(json!({
            "email": email,
            "status": status,
            "reject_reason": reason,
            "_id": random_string(b"0123456789abcdef", 32),
        }));
    }
    inner.messages.push(message.clone());
    inner.results.extend(results.iter().cloned());
    Json(Value::Array(results)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn post(mandrill: &FakeMandrill, path: &str, body: &Value) -> (u16, Value) {
        let res = super::super::http_client()
            .post(format!("{}{path}", mandrill.base_url()))
            .json(body)
            .send()
            .await
            .expect("answer");
        let status = res.status().as_u16();
        (status, res.json().await.expect("JSON"))
    }

    fn message(to: &[&str]) -> Value {
        let to: Vec<Value> = to.iter().map(|e| json!({ "email": e, "type": "to" })).collect();
        json!({
            "from_email": "shop@jangteo.kr", "from_name": "장터", "subject": "주문 확인",
            "html": "<p>감사합니다</p>", "to": to, "tags": ["order"],
            "headers": { "Reply-To": "help@jangteo.kr" },
            "merge_vars": [{ "rcpt": "buyer@example.com", "vars": [{ "name": "NAME", "content": "홍길동" }] }],
        })
    }

    #[tokio::test]
    async fn one_result_per_recipient_with_special_addresses() {
        let mandrill = FakeMandrill::start(TEST_KEY).await;
        let body = json!({
            "key": TEST_KEY,
            "message": message(&["buyer@example.com", "rejected@example.com", "invalid@example.com", "no-at"]),
        });
        let (status, results) = post(&mandrill, SEND_PATH, &body).await;
        assert_eq!(status, 200, "{results}");
        let statuses: Vec<(&str, &str, &Value)> = results
            .as_array()
            .expect("array")
            .iter()
            .map(|r| {
                (
                    r["email"].as_str().expect("email"),
                    r["status"].as_str().expect("status"),
                    &r["reject_reason"],
                )
            })
            .collect();
        assert_eq!(
            statuses,
            [
                ("buyer@example.com", "sent", &Value::Null),
                ("rejected@example.com", "rejected", &json!("hard-bounce")),
                ("invalid@example.com", "invalid", &Value::Null),
                ("no-at", "invalid", &Value::Null),
            ]
        );
        let id = results[0]["_id"].as_str().expect("_id");
        assert!(id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
        let m = &mandrill.messages()[0];
        assert_eq!(m["merge_vars"][0]["vars"][0]["content"], "홍길동");
        assert_eq!(m["headers"]["Reply-To"], "help@jangteo.kr");
        assert_eq!(m["tags"], json!(["order"]));

        let body = json!({ "key": TEST_KEY, "async": true, "message": message(&["buyer@example.com"]) });
        let (status, queued) = post(&mandrill, "/api/1.0/messages/send", &body).await;
        assert_eq!((status, queued[0]["status"].as_str()), (200, Some("queued")));
        assert_eq!(mandrill.messages().len(), 2);
    }

    #[tokio::test]
    async fn a_bad_key_or_a_bad_message_is_a_500_error() {
        let mandrill = FakeMandrill::start(TEST_KEY).await;
        let (status, e) = post(
            &mandrill,
            SEND_PATH,
            &json!({ "key": "wrong", "message": message(&["a@b.kr"]) }),
        )
        .await;
        assert_eq!(status, 500);
        assert_eq!(
            (&e["status"], &e["code"], &e["name"]),
            (&json!("error"), &json!(-1), &json!("Invalid_Key"))
        );
        let mut no_from = message(&["a@b.kr"]);
        no_from.as_object_mut().expect("object").remove("from_email");
        for m in [message(&[]), no_from] {
            let (status, e) = post(&mandrill, SEND_PATH, &json!({ "key": TEST_KEY, "message": m })).await;
            assert_eq!((status, e["name"].as_str()), (500, Some("ValidationError")), "{e}");
        }
        mandrill.fail_next(1);
        let (status, e) = post(
            &mandrill,
            SEND_PATH,
            &json!({ "key": TEST_KEY, "message": message(&["a@b.kr"]) }),
        )
        .await;
        assert_eq!((status, e["name"].as_str()), (500, Some("GeneralError")));
        assert!(mandrill.messages().is_empty());
        assert_eq!(mandrill.requests(), 4);
    }
}
