//! Fake outside services for end-to-end tests (DESIGN.md §5, messaging.md §1–§5): servers on
//! `127.0.0.1:0` that follow the providers' documented APIs, and senders that play the
//! provider towards our own HTTP listeners (signed exactly as the provider signs).
//!
//! - [`slack::FakeSlack`]: Slack's Web API (`chat.*`, the external file upload, `auth.test`)
//!   and `response_url` targets, recording every call; point the bot's `slack.api_url` at
//!   [`slack::FakeSlack::base_url`].
//! - [`slack::SlackSender`]: Slack towards the bot: signed slash commands, events and
//!   interactions.
//! - [`sentry::SentrySender`]: Sentry's integration webhooks towards the bot, signed with the
//!   client secret, timed against Sentry's 1-second limit.
//! - [`toss::FakeToss`]: Toss Payments' Core API v1 (confirm, look-ups, cancel, virtual
//!   accounts) with its idempotency store, hooks for the customer's side (window, deposit)
//!   and injected failures, and Toss's webhook deliveries; point `payments.toss.base_url` at
//!   [`toss::FakeToss::base_url`].
//! - [`kakaopay::FakeKakaoPay`]: KakaoPay's single payment API (ready, approve, order,
//!   cancel), with the customer's approval in KakaoPay as a test hook.
//! - [`portone::FakePortOne`]: PortOne V2's payment lookup and cancel, the customer's payment
//!   window as test hooks, and its Standard Webhooks deliveries towards our listener.
//! - [`solapi::FakeSolapi`]: SOLAPI's `send-many/detail` (SMS, LMS, Alimtalk) with its HMAC
//!   auth, EUC-KR length rules, registered senders and templates, and the Alimtalk → SMS
//!   replacement; point the SOLAPI adapter at [`solapi::FakeSolapi::base_url`].
//! - [`sweettracker::FakeSweetTracker`]: Sweet Tracker's carrier list and tracking, a
//!   shipment's level (1–6) set by the test.
//! - [`mandrill::FakeMandrill`]: Mandrill's `messages/send`, one result per recipient, special
//!   addresses for rejections, every `message` recorded.
//!
//! Mail sent over SMTP goes to [`crate::smtp::SmtpSink`].

pub mod kakaopay;
pub mod mandrill;
pub mod portone;
pub mod sentry;
pub mod slack;
pub mod solapi;
pub mod sweettracker;
pub mod toss;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// How a sender signs a delivery, to test that receivers verify before they parse.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Signing {
    /// Signed as the provider signs, with a current timestamp.
    #[default]
    Valid,
    /// No signature header at all.
    Unsigned,
    /// Signed with another secret.
    WrongSecret,
    /// Signed, then the body changed by one byte of insignificant whitespace: still the same
    /// JSON or form, so only a receiver that checks the raw bytes notices.
    Tampered,
    /// Correctly signed over a timestamp ten minutes old (Slack's window is five minutes;
    /// Sentry documents no window).
    Stale,
}

/// What a receiver answered to a sender, and how long it took.
#[derive(Clone, Debug)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: reqwest::header::HeaderMap,
    /// Raw response body.
    pub body: Vec<u8>,
    /// From sending the request to the end of the response body.
    pub elapsed: Duration,
}

impl Reply {
    /// The body as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// The `Content-Type` header, if any.
    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
    }

    /// Whether the answer took longer than `limit` (Slack: 3 s, Sentry: 1 s).
    pub fn slower_than(&self, limit: Duration) -> bool {
        self.elapsed > limit
    }
}

/// An HTTP client for tests. Installs the one rustls crypto provider (ring) first, once per
/// process (DESIGN §9): with `sentry` in the build, reqwest's TLS has no provider of its own
/// and building a client without one panics.
pub fn http_client() -> reqwest::Client {
    install_tls();
    reqwest::Client::new()
}

/// Installs the one rustls crypto provider (ring), once per process, before any reqwest
/// client (also `reqwest::get`'s) is built. [`crate::TestDb::create`] calls it, so every test does.
pub fn install_tls() {
    static PROVIDER: std::sync::Once = std::sync::Once::new();
    PROVIDER.call_once(|| {
        // Err: another provider is already installed, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Sends `request` and reads the whole answer, timing both.
pub(crate) async fn send_timed(request: reqwest::RequestBuilder) -> Reply {
    let started = std::time::Instant::now();
    let resp = request.send().await.expect("the receiver answers");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.expect("the receiver's body").to_vec();
    Reply {
        status,
        headers,
        body,
        elapsed: started.elapsed(),
    }
}

/// The body of a [`Signing::Tampered`] delivery: one inserted byte that changes nothing for
/// a JSON or form parser (a space after a JSON object's `{`, an empty `&` pair at the end of
/// a form), so only the signature check over the raw bytes can tell.
pub(crate) fn tamper_body(body: &[u8]) -> Vec<u8> {
    match body.first() {
        Some(b'{') => [b"{ ".as_slice(), &body[1..]].concat(),
        _ => [body, b"&"].concat(),
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Hex HMAC-SHA256 of `data` under `key`: the MAC both Slack (`v0=`) and Sentry sign with.
pub fn hmac_sha256_hex(key: &[u8], data: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    hex(&mac.finalize().into_bytes())
}

/// Seconds since the Unix epoch, now.
pub fn unix_now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs();
    i64::try_from(secs).expect("seconds fit i64")
}

/// `len` random characters from `alphabet`.
pub(crate) fn random_string(alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| char::from(alphabet[fastrand::usize(..alphabet.len())]))
        .collect()
}

/// Uppercase letters and digits, as in Slack ids.
pub(crate) const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
