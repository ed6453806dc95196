//! A fake SOLAPI (messaging.md §3): `POST /messages/v4/send-many/detail` and the older
//! `POST /messages/v4/send-many`, answered alike, for SMS, LMS and Alimtalk (`ATA`).
//!
//! - **Auth:** `Authorization: HMAC-SHA256 apiKey=…, date=…, salt=…, signature=…` (or
//!   `HMAC-MD5`), the signature being hex `HMAC(apiSecret, date + salt)`; the body is not signed.
//!   A date more than 15 minutes from now, an unknown key, a wrong signature or a signature seen
//!   before answer 401 `{"errorCode", "errorMessage"}` (see [`error_code`]).
//! - **Messages:** lengths in EUC-KR bytes ([`euc_kr_len`]): SMS at most 90, LMS at most 2,000,
//!   subject at most 40, Alimtalk at most 1,000 characters. Without `type`, a text of at most 90
//!   bytes and no subject is an SMS, anything else an LMS (the fake never guesses `ATA` from
//!   `kakaoOptions`: send `type: "ATA"`). `from` must be registered ([`TEST_SENDER`] is, and
//!   [`FakeSolapi::register_sender`] adds more). Codes in [`status_code`].
//! - **Alimtalk:** `kakaoOptions.pfId` + `templateId` must name a template registered with
//!   [`FakeSolapi::register_template`]; `text`, when given, must equal the template with its
//!   `#{var}`s replaced from `variables`, and is that rendering when omitted. A recipient marked
//!   with [`FakeSolapi::set_not_kakao_user`] gets `3104` after intake, and then, unless
//!   `kakaoOptions.disableSms` is true, a replacement SMS or LMS (by EUC-KR length) of the same
//!   text, counted in `count.sentReplacement`.
//! - **Answers:** 200 with `groupInfo`, `failedMessageList` (messages refused at intake) and,
//!   with `showMessageList: true`, `messageList` (the accepted ones, all `2000`) as soon as one
//!   message is accepted; 400 `{"errorCode": "ValidationError", …}` when none is, or when the
//!   request itself is malformed (our choice: SOLAPI documents "a detailed error" without its
//!   shape). Delivery is immediate: the counts in `groupInfo` are final (`sentPending` 0).
//!
//! ```no_run
//! # async fn demo() {
//! use jangteo_tests::fakes::solapi::{FakeSolapi, TEST_API_KEY, TEST_API_SECRET, TEST_SENDER};
//! let solapi = FakeSolapi::start(TEST_API_KEY, TEST_API_SECRET).await;
//! solapi.register_template("KA01PF0001", "KA01TP0001", "#{name}님, 주문 #{order}이 출발했습니다.");
//! solapi.set_not_kakao_user("01099998888");
//! // settings: solapi.base_url = solapi.base_url(), from = TEST_SENDER …
//! // … the service sends; then:
//! let sent = solapi.sent();
//! assert!(sent.iter().any(|m| m.replacement && m.to == "01099998888"));
//! # let _ = TEST_SENDER;
//! # }
//! ```

use std::{
    collections::{HashMap, HashSet},
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use hmac::{Hmac, KeyInit, Mac};
use md5::Md5;
use serde_json::{Map, Value, json};
use tokio::task::JoinHandle;

use super::{UPPER_ALNUM, hex, hmac_sha256_hex, random_string};

/// An API key for tests, shaped as SOLAPI's (`NCS` + 13 upper-case characters).
pub const TEST_API_KEY: &str = "NCSTESTAPIKEY0001";
/// The API secret that goes with [`TEST_API_KEY`].
pub const TEST_API_SECRET: &str = "TESTAPISECRET0123456789ABCDEFGHI";
/// The sender number [`FakeSolapi::start`] registers.
pub const TEST_SENDER: &str = "0212345678";
/// The current send path.
pub const SEND_PATH: &str = "/messages/v4/send-many/detail";
/// The older send path, answered the same way.
pub const SEND_PATH_OLD: &str = "/messages/v4/send-many";

/// How far `date` may be from the server's clock, and how long a signature stays spent.
const WINDOW_SECS: i64 = 15 * 60;

/// The `errorCode`s of non-2xx answers. `RequestTimeTooSkewed` is SOLAPI's [doc]; the others
/// are names of our own (messaging.md names no code for them): adapters should branch on the
/// HTTP status and log the code.
pub mod error_code {
    /// `date` more than 15 minutes from the server's clock (401).
    pub const REQUEST_TIME_TOO_SKEWED: &str = "RequestTimeTooSkewed";
    /// No `Authorization`, another scheme, a missing part, an unparsable date, or a salt outside
    /// 12–64 characters (401).
    pub const INVALID_AUTHORIZATION: &str = "InvalidAuthorizationHeader";
    /// `apiKey` is not the fake's (401).
    pub const INVALID_API_KEY: &str = "InvalidApiKey";
    /// `signature` is not `HMAC(apiSecret, date + salt)` (401).
    pub const SIGNATURE_DOES_NOT_MATCH: &str = "SignatureDoesNotMatch";
    /// The same signature was accepted before (401).
    pub const DUPLICATED_SIGNATURE: &str = "DuplicatedSignature";
    /// A malformed request, or one with no message accepted (400).
    pub const VALIDATION_ERROR: &str = "ValidationError";
    /// An outage asked for with [`super::FakeSolapi::fail_next`] (503).
    pub const SERVICE_UNAVAILABLE: &str = "ServiceUnavailable";
    /// An outage asked for with another status than 503.
    pub const INTERNAL_ERROR: &str = "InternalError";
}

/// The 4-digit `statusCode`s the fake uses (messaging.md §3, "Codes for the fake").
pub mod status_code {
    /// Accepted at intake.
    pub const ACCEPTED: &str = "2000";
    /// Delivered.
    pub const DELIVERED: &str = "4000";
    /// A character EUC-KR cannot write, in an SMS.
    pub const NOT_EUC_KR: &str = "1029";
    /// Too long: SMS over 90 bytes, LMS over 2,000 bytes, subject over 40 bytes, Alimtalk over
    /// 1,000 characters.
    pub const TOO_LONG: &str = "1031";
    /// An Alimtalk `pfId`/`templateId` the fake does not know.
    pub const BAD_TEMPLATE: &str = "1042";
    /// An Alimtalk `text` other than the template rendered with `variables`, a placeholder
    /// without a variable, or a variable that is not a string or has a `.` in its name.
    pub const TEMPLATE_MISMATCH: &str = "1043";
    /// `from` is not a registered sender.
    pub const UNREGISTERED_SENDER: &str = "1062";
    /// The recipient does not use KakaoTalk (after intake).
    pub const NOT_KAKAO_USER: &str = "3104";
    /// Alimtalk blocked by the recipient, or inactive for 72 hours (after intake).
    pub const ALIMTALK_BLOCKED: &str = "3107";
}

/// One message the fake accepted and then delivered or failed to deliver (or refused at
/// intake, in [`FakeSolapi::failed`]).
#[derive(Clone, Debug, PartialEq)]
pub struct SolapiMessage {
    /// The id answered for it (a replacement carries the id of the Alimtalk it replaces).
    pub message_id: String,
    /// The group (one per request).
    pub group_id: String,
    /// `to` as received.
    pub to: String,
    /// `from` as received.
    pub from: String,
    /// `SMS`, `LMS` or `ATA`: what was (or would have been) sent, after auto-detection.
    pub kind: String,
    /// The text sent: for Alimtalk the rendered template, for a replacement the Alimtalk's text.
    pub text: String,
    /// The LMS subject, if any (`None` for SMS and Alimtalk).
    pub subject: Option<String>,
    /// `kakaoOptions.pfId` (kept on a replacement, to tell which Alimtalk it replaces).
    pub pf_id: Option<String>,
    /// `kakaoOptions.templateId` (kept on a replacement).
    pub template_id: Option<String>,
    /// `kakaoOptions.variables` as received, `Null` when absent.
    pub variables: Value,
    /// Sent by SOLAPI itself in place of a failed Alimtalk.
    pub replacement: bool,
    /// The final status: `4000` when delivered, else the failure's code.
    pub status_code: String,
}

#[derive(Default)]
struct Inner {
    senders: HashSet<String>,
    /// `(pfId, templateId)` → template text.
    templates: HashMap<(String, String), String>,
    /// Normalized phone → the code an Alimtalk to it fails with.
    kakao_failures: HashMap<String, String>,
    /// Signatures accepted so far. SOLAPI forgets them after 15 minutes, by when their date is
    /// outside the window anyway; a test process never lives that long.
    signatures: HashSet<String>,
    delivered: Vec<SolapiMessage>,
    failed: Vec<SolapiMessage>,
    bodies: Vec<Value>,
    requests: usize,
    outages: usize,
    outage_status: u16,
}

struct Shared {
    api_key: String,
    api_secret: String,
    inner: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking test thread must not hide the record from the others.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A fake SOLAPI on `127.0.0.1`; stops when dropped.
pub struct FakeSolapi {
    shared: Arc<Shared>,
    root: String,
    server: JoinHandle<()>,
}

impl Drop for FakeSolapi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeSolapi {
    /// Starts the fake on a random port, accepting requests signed with `api_key` and
    /// `api_secret`, with [`TEST_SENDER`] registered.
    pub async fn start(api_key: &str, api_secret: &str) -> FakeSolapi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared {
            api_key: api_key.to_owned(),
            api_secret: api_secret.to_owned(),
            inner: Mutex::new(Inner {
                senders: HashSet::from([digits(TEST_SENDER)]),
                ..Inner::default()
            }),
        });
        let app = Router::new()
            .route(SEND_PATH, post(send))
            .route(SEND_PATH_OLD, post(send))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeSolapi {
            shared,
            root: format!("http://{addr}"),
            server,
        }
    }

    /// `http://127.0.0.1:port`, no trailing slash: what `https://api.solapi.com` is in
    /// production.
    pub fn base_url(&self) -> String {
        self.root.clone()
    }

    /// Registers a sender number (hyphens and spaces ignored).
    pub fn register_sender(&self, number: &str) {
        self.shared.lock().senders.insert(digits(number));
    }

    /// Registers an Alimtalk template: `text` with `#{var}` placeholders, replaced from the
    /// message's `kakaoOptions.variables` (`{"#{var}": "value"}`).
    pub fn register_template(&self, pf_id: &str, template_id: &str, text: &str) {
        self.shared
            .lock()
            .templates
            .insert((pf_id.to_owned(), template_id.to_owned()), text.to_owned());
    }

    /// `phone` does not use KakaoTalk: an Alimtalk to it is accepted (`2000`), then fails with
    /// `3104`, then is replaced by an SMS/LMS unless `kakaoOptions.disableSms` is true.
    pub fn set_not_kakao_user(&self, phone: &str) {
        self.set_kakao_failure(phone, status_code::NOT_KAKAO_USER);
    }

    /// An Alimtalk to `phone` fails after intake with `code` (`3104`, `3107`, `3108`…), with
    /// the same replacement as [`FakeSolapi::set_not_kakao_user`].
    pub fn set_kakao_failure(&self, phone: &str, code: &str) {
        self.shared.lock().kakao_failures.insert(digits(phone), code.to_owned());
    }

    /// The next `n` requests to a send path answer `http_status` with
    /// `{"errorCode": "ServiceUnavailable", …}` (`InternalError` for other statuses than 503),
    /// before any check and without spending their signatures, as a proxy in front would.
    pub fn fail_next(&self, n: usize, http_status: u16) {
        let mut inner = self.shared.lock();
        inner.outages = n;
        inner.outage_status = http_status;
    }

    /// Messages delivered (`4000`), replacements included, oldest first.
    pub fn sent(&self) -> Vec<SolapiMessage> {
        self.shared.lock().delivered.clone()
    }

    /// Messages refused at intake or failed after it, with their codes, oldest first.
    pub fn failed(&self) -> Vec<SolapiMessage> {
        self.shared.lock().failed.clone()
    }

    /// Requests received on the send paths, whatever was answered.
    pub fn requests(&self) -> usize {
        self.shared.lock().requests
    }

    /// The JSON bodies of the requests that passed the auth check, oldest first.
    pub fn bodies(&self) -> Vec<Value> {
        self.shared.lock().bodies.clone()
    }
}

/// Hex `HMAC-SHA256(api_secret, date + salt)`: SOLAPI's signature.
pub fn signature(api_secret: &str, date: &str, salt: &str) -> String {
    hmac_sha256_hex(api_secret.as_bytes(), format!("{date}{salt}").as_bytes())
}

/// Hex `HMAC-MD5(api_secret, date + salt)`: the other signature SOLAPI accepts.
pub fn signature_md5(api_secret: &str, date: &str, salt: &str) -> String {
    let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(api_secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(format!("{date}{salt}").as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// A complete `Authorization` value (`HMAC-SHA256 apiKey=…, date=…, salt=…, signature=…`).
pub fn authorization(api_key: &str, api_secret: &str, date: &str, salt: &str) -> String {
    format!(
        "HMAC-SHA256 apiKey={api_key}, date={date}, salt={salt}, signature={}",
        signature(api_secret, date, salt)
    )
}

/// A fresh `Authorization` for now, with a random 32-character salt.
pub fn authorization_now(api_key: &str, api_secret: &str) -> String {
    let date = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let salt = random_string(b"abcdefghijklmnopqrstuvwxyz0123456789", 32);
    authorization(api_key, api_secret, &date, &salt)
}

/// The length of `text` in EUC-KR bytes (Korean 2, ASCII 1), or `None` if a character has no
/// EUC-KR form (`encoding_rs`'s EUC-KR, i.e. the WHATWG one: all 11,172 Hangul syllables).
pub fn euc_kr_len(text: &str) -> Option<usize> {
    let (len, clean) = measure(text);
    clean.then_some(len)
}

/// EUC-KR bytes, counting a character without an EUC-KR form as its UTF-8 length; and
/// whether every character has one.
fn measure(text: &str) -> (usize, bool) {
    let mut buf = [0u8; 4];
    text.chars().fold((0, true), |(len, clean), c| {
        if c.is_ascii() {
            return (len + 1, clean);
        }
        let (bytes, _, unmappable) = encoding_rs::EUC_KR.encode(c.encode_utf8(&mut buf));
        if unmappable {
            (len + c.len_utf8(), false)
        } else {
            (len + bytes.len(), clean)
        }
    })
}

/// The digits of a phone number.
fn digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

/// A non-2xx answer: `{errorCode, errorMessage}`.
struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Refusal {
    fn unauthorized(code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            status: StatusCode::UNAUTHORIZED,
            code,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> Refusal {
        Refusal {
            status: StatusCode::BAD_REQUEST,
            code: error_code::VALIDATION_ERROR,
            message: message.into(),
        }
    }

    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({ "errorCode": self.code, "errorMessage": self.message })),
        )
            .into_response()
    }
}

async fn send(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut inner = shared.lock();
    inner.requests += 1;
    if inner.outages > 0 {
        inner.outages -= 1;
        let status = StatusCode::from_u16(inner.outage_status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let code = if status == StatusCode::SERVICE_UNAVAILABLE {
            error_code::SERVICE_UNAVAILABLE
        } else {
            error_code::INTERNAL_ERROR
        };
        return Refusal {
            status,
            code,
            message: "일시적인 서비스 장애입니다. 잠시 후 다시 시도해 주세요.".to_owned(),
        }
        .into_response();
    }
    if let Err(r) = authenticate(&shared, &mut inner, &headers) {
        return r.into_response();
    }
    let received: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    inner.bodies.push(received.clone());
    match answer(&mut inner, &headers, &received) {
        Ok(v) => (StatusCode::OK, Json(v)).into_response(),
        Err(r) => r.into_response(),
    }
}

/// Checks `Authorization` and spends its signature.
fn authenticate(shared: &Shared, inner: &mut Inner, headers: &HeaderMap) -> Result<(), Refusal> {
    let bad = |m: &str| Refusal::unauthorized(error_code::INVALID_AUTHORIZATION, m);
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| bad("Authorization 헤더가 없습니다."))?;
    let (scheme, params) = value
        .split_once(' ')
        .ok_or_else(|| bad("Authorization: HMAC-SHA256 apiKey=…, date=…, salt=…, signature=…"))?;
    let mut parts: HashMap<&str, &str> = HashMap::new();
    for part in params.split(',') {
        let (k, v) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| bad("a part is not key=value"))?;
        parts.insert(k, v);
    }
    let part = |k: &str| {
        parts
            .get(k)
            .copied()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| bad(&format!("{k} is missing")))
    };
    let (api_key, date, salt, given) = (part("apiKey")?, part("date")?, part("salt")?, part("signature")?);
    if api_key != shared.api_key {
        return Err(Refusal::unauthorized(
            error_code::INVALID_API_KEY,
            "유효하지 않은 API Key 입니다.",
        ));
    }
    let at = chrono::DateTime::parse_from_rfc3339(date).map_err(|_| bad("date is not ISO 8601"))?;
    let skew = (chrono::Utc::now() - at.with_timezone(&chrono::Utc))
        .num_seconds()
        .abs();
    if skew > WINDOW_SECS {
        return Err(Refusal::unauthorized(
            error_code::REQUEST_TIME_TOO_SKEWED,
            format!("date is {skew} s from the server's time (at most {WINDOW_SECS} s)"),
        ));
    }
    if !(12..=64).contains(&salt.chars().count()) {
        return Err(bad("salt must be 12 to 64 characters"));
    }
    let expected = match scheme {
        "HMAC-SHA256" => signature(&shared.api_secret, date, salt),
        "HMAC-MD5" => signature_md5(&shared.api_secret, date, salt),
        _ => return Err(bad("the scheme must be HMAC-SHA256 or HMAC-MD5")),
    };
    if !given.eq_ignore_ascii_case(&expected) {
        return Err(Refusal::unauthorized(
            error_code::SIGNATURE_DOES_NOT_MATCH,
            "signature가 일치하지 않습니다.",
        ));
    }
    if !inner.signatures.insert(given.to_ascii_lowercase()) {
        return Err(Refusal::unauthorized(
            error_code::DUPLICATED_SIGNATURE,
            "이미 사용된 signature 입니다. 요청마다 새 salt를 쓰세요.",
        ));
    }
    Ok(())
}

/// A message as received, after the structural checks.
struct Incoming {
    to: String,
    from: String,
    text: Option<String>,
    /// `type` as given.
    kind: Option<String>,
    subject: Option<String>,
    country: String,
    custom_fields: Option<Value>,
    kakao: Option<Kakao>,
}

struct Kakao {
    pf_id: Option<String>,
    template_id: Option<String>,
    variables: Value,
    disable_sms: bool,
}

/// What became of one message.
enum Outcome {
    Refused {
        kind: String,
        code: &'static str,
        message: String,
    },
    Accepted(Accepted),
}

struct Accepted {
    kind: &'static str,
    text: String,
    subject: Option<String>,
}

fn answer(inner: &mut Inner, headers: &HeaderMap, body: &Value) -> Result<Value, Refusal> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    if !json {
        return Err(Refusal::invalid("Content-Type must be application/json"));
    }
    let Value::Object(req) = body else {
        return Err(Refusal::invalid("the body must be a JSON object"));
    };
    let show_list = match req.get("showMessageList") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(Refusal::invalid("showMessageList must be a boolean")),
    };
    let messages = match req.get("messages") {
        Some(Value::Array(m)) if !m.is_empty() => m,
        _ => return Err(Refusal::invalid("messages must be a non-empty array")),
    };
    let incoming = messages
        .iter()
        .enumerate()
        .map(|(i, m)| parse_message(m).map_err(|e| Refusal::invalid(format!("messages[{i}]: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;

    let mut group = Group {
        id: solapi_id('G'),
        count: Count {
            total: incoming.len(),
            ..Count::default()
        },
        failed_list: Vec::new(),
        message_list: Vec::new(),
        first_refusal: None,
    };
    for m in &incoming {
        group.take(inner, m);
    }
    if group.count.registered_success == 0 {
        return Err(Refusal::invalid(format!(
            "접수된 메시지가 없습니다: {}",
            group.first_refusal.unwrap_or_default()
        )));
    }
    let mut answer = json!({
        "groupInfo": {
            "groupId": group.id,
            "status": "COMPLETE",
            "count": group.count.json(),
            "log": [],
        },
        "failedMessageList": group.failed_list,
    });
    if show_list {
        answer["messageList"] = Value::Array(group.message_list);
    }
    Ok(answer)
}

/// One request's messages as the fake settles them.
struct Group {
    id: String,
    count: Count,
    /// Refused at intake.
    failed_list: Vec<Value>,
    /// Accepted at intake.
    message_list: Vec<Value>,
    /// For the 400 when nothing is accepted.
    first_refusal: Option<String>,
}

impl Group {
    /// Intake, then (at once) delivery, and the Alimtalk's replacement if it fails.
    fn take(&mut self, inner: &mut Inner, m: &Incoming) {
        let message_id = solapi_id('M');
        let record = |kind: &str, text: String, subject: Option<String>, status: &str| SolapiMessage {
            message_id: message_id.clone(),
            group_id: self.id.clone(),
            to: m.to.clone(),
            from: m.from.clone(),
            kind: kind.to_owned(),
            text,
            subject,
            pf_id: m.kakao.as_ref().and_then(|k| k.pf_id.clone()),
            template_id: m.kakao.as_ref().and_then(|k| k.template_id.clone()),
            variables: m.kakao.as_ref().map_or(Value::Null, |k| k.variables.clone()),
            replacement: false,
            status_code: status.to_owned(),
        };
        let a = match intake(inner, m) {
            Outcome::Refused { kind, code, message } => {
                self.count.registered_failed += 1;
                let mut f = json!({
                    "to": m.to, "from": m.from, "type": kind, "country": m.country,
                    "messageId": message_id, "statusCode": code, "statusMessage": message,
                    "accountId": FAKE_ACCOUNT_ID,
                });
                if let Some(c) = &m.custom_fields {
                    f["customFields"] = c.clone();
                }
                inner.failed.push(record(
                    &kind,
                    m.text.clone().unwrap_or_default(),
                    m.subject.clone(),
                    code,
                ));
                self.failed_list.push(f);
                self.first_refusal
                    .get_or_insert_with(|| format!("{code} {message} (to {})", m.to));
                return;
            }
            Outcome::Accepted(a) => a,
        };
        self.count.registered_success += 1;
        let mut l = json!({
            "messageId": message_id, "statusCode": status_code::ACCEPTED,
            "statusMessage": "정상 접수(이통사로 접수 예정) ",
        });
        if let Some(c) = &m.custom_fields {
            l["customFields"] = c.clone();
        }
        self.message_list.push(l);
        let kakao_failure = (a.kind == "ATA")
            .then(|| inner.kakao_failures.get(&digits(&m.to)).cloned())
            .flatten();
        let Some(code) = kakao_failure else {
            self.count.sent_success += 1;
            inner
                .delivered
                .push(record(a.kind, a.text, a.subject, status_code::DELIVERED));
            return;
        };
        self.count.sent_failed += 1;
        inner.failed.push(record(a.kind, a.text.clone(), None, &code));
        let disabled = m.kakao.as_ref().is_some_and(|k| k.disable_sms);
        if !disabled && let Some(kind) = replacement_kind(&a.text) {
            let mut r = record(kind, a.text, None, status_code::DELIVERED);
            r.replacement = true;
            inner.delivered.push(r);
            self.count.sent_replacement += 1;
        }
    }
}

/// The account every answer names.
const FAKE_ACCOUNT_ID: &str = "24010100000001";

#[derive(Default)]
struct Count {
    total: usize,
    registered_success: usize,
    registered_failed: usize,
    sent_success: usize,
    sent_failed: usize,
    sent_replacement: usize,
}

impl Count {
    /// Each accepted message ends in `sentSuccess` (delivered as asked) or `sentFailed`;
    /// `sentReplacement` counts the failed ones SOLAPI replaced by an SMS/LMS (our reading of
    /// the documented field).
    fn json(&self) -> Value {
        json!({
            "total": self.total,
            "registeredSuccess": self.registered_success,
            "registeredFailed": self.registered_failed,
            "sentTotal": self.sent_success + self.sent_failed,
            "sentSuccess": self.sent_success,
            "sentFailed": self.sent_failed,
            "sentPending": 0,
            "sentReplacement": self.sent_replacement,
            "refund": 0,
        })
    }
}

/// The structural checks: a malformed message fails the whole request.
fn parse_message(m: &Value) -> Result<Incoming, String> {
    let Value::Object(m) = m else {
        return Err("not an object".to_owned());
    };
    let string = |field: &str| -> Result<Option<String>, String> {
        match m.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("{field} must be a string")),
        }
    };
    let required = |field: &str| {
        string(field)?
            .filter(|s| !s.is_empty())
            .ok_or_else(|| format!("{field} is required"))
    };
    let to = required("to")?;
    let from = required("from")?;
    let kind = string("type")?;
    if let Some(k) = &kind
        && !matches!(k.as_str(), "SMS" | "LMS" | "ATA")
    {
        return Err(format!("type {k}: the fake sends SMS, LMS and ATA only"));
    }
    let text = string("text")?;
    if kind.as_deref() != Some("ATA") && text.as_deref().is_none_or(str::is_empty) {
        return Err("text is required".to_owned());
    }
    let kakao = match m.get("kakaoOptions") {
        None | Some(Value::Null) => None,
        Some(Value::Object(k)) => Some(parse_kakao(k)?),
        Some(_) => return Err("kakaoOptions must be an object".to_owned()),
    };
    Ok(Incoming {
        to,
        from,
        text,
        kind,
        subject: string("subject")?.filter(|s| !s.is_empty()),
        country: string("country")?.unwrap_or_else(|| "82".to_owned()),
        custom_fields: m.get("customFields").filter(|v| !v.is_null()).cloned(),
        kakao,
    })
}

fn parse_kakao(k: &Map<String, Value>) -> Result<Kakao, String> {
    let string = |field: &str| -> Result<Option<String>, String> {
        match k.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("kakaoOptions.{field} must be a string")),
        }
    };
    let disable_sms = match k.get("disableSms") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err("kakaoOptions.disableSms must be a boolean".to_owned()),
    };
    let variables = k.get("variables").cloned().unwrap_or(Value::Null);
    if !(variables.is_null() || variables.is_object()) {
        return Err("kakaoOptions.variables must be an object".to_owned());
    }
    Ok(Kakao {
        pf_id: string("pfId")?,
        template_id: string("templateId")?,
        variables,
        disable_sms,
    })
}

/// The intake rules of messaging.md §3, in order: sender, then type and length (or template).
fn intake(inner: &Inner, m: &Incoming) -> Outcome {
    let text = m.text.clone().unwrap_or_default();
    let (bytes, clean) = measure(&text);
    let kind = match m.kind.as_deref() {
        Some("ATA") => "ATA",
        Some("SMS") => "SMS",
        Some("LMS") => "LMS",
        _ if bytes <= 90 && m.subject.is_none() => "SMS",
        _ => "LMS",
    };
    let refuse = |code: &'static str, message: &str| Outcome::Refused {
        kind: kind.to_owned(),
        code,
        message: message.to_owned(),
    };
    if !inner.senders.contains(&digits(&m.from)) {
        return refuse(status_code::UNREGISTERED_SENDER, "등록되지 않은 발신번호입니다.");
    }
    match kind {
        "SMS" if !clean => refuse(status_code::NOT_EUC_KR, "SMS에 EUC-KR로 쓸 수 없는 문자가 있습니다."),
        "SMS" if bytes > 90 => refuse(status_code::TOO_LONG, "SMS는 90바이트까지입니다."),
        "LMS" if bytes > 2000 => refuse(status_code::TOO_LONG, "LMS는 2,000바이트까지입니다."),
        "LMS" if m.subject.as_deref().is_some_and(|s| measure(s).0 > 40) => {
            refuse(status_code::TOO_LONG, "제목은 40바이트까지입니다.")
        }
        "SMS" | "LMS" => Outcome::Accepted(Accepted {
            kind,
            text,
            subject: if kind == "LMS" { m.subject.clone() } else { None },
        }),
        _ => alimtalk(inner, m).map_or_else(
            |(code, message)| refuse(code, &message),
            |text| {
                Outcome::Accepted(Accepted {
                    kind: "ATA",
                    text,
                    subject: None,
                })
            },
        ),
    }
}

/// The Alimtalk's text: its template rendered with its variables.
fn alimtalk(inner: &Inner, m: &Incoming) -> Result<String, (&'static str, String)> {
    let bad_template = || {
        (
            status_code::BAD_TEMPLATE,
            "알림톡 템플릿을 찾을 수 없습니다.".to_owned(),
        )
    };
    let kakao = m.kakao.as_ref().ok_or_else(bad_template)?;
    let (Some(pf_id), Some(template_id)) = (&kakao.pf_id, &kakao.template_id) else {
        return Err(bad_template());
    };
    let template = inner
        .templates
        .get(&(pf_id.clone(), template_id.clone()))
        .ok_or_else(bad_template)?;
    let mismatch = |why: String| (status_code::TEMPLATE_MISMATCH, why);
    let empty = Map::new();
    let variables = kakao.variables.as_object().unwrap_or(&empty);
    for (name, value) in variables {
        if name.contains('.') {
            return Err(mismatch(format!("변수 이름에 .을 쓸 수 없습니다: {name}")));
        }
        if !value.is_string() {
            return Err(mismatch(format!("변수 값은 문자열이어야 합니다: {name}")));
        }
    }
    let rendered = render(template, variables).map_err(|name| mismatch(format!("변수가 없습니다: {name}")))?;
    if rendered.chars().count() > 1000 {
        return Err((status_code::TOO_LONG, "알림톡은 1,000자까지입니다.".to_owned()));
    }
    match &m.text {
        Some(text) if !text.is_empty() && *text != rendered => Err(mismatch("템플릿 내용과 다릅니다.".to_owned())),
        _ => Ok(rendered),
    }
}

/// `template` with each `#{name}` replaced by `variables["#{name}"]`; Err: the first
/// placeholder without a variable.
fn render(template: &str, variables: &Map<String, Value>) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("#{") {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        let placeholder = &rest[start..=start + len];
        let value = variables
            .get(placeholder)
            .and_then(Value::as_str)
            .ok_or_else(|| placeholder.to_owned())?;
        out.push_str(&rest[..start]);
        out.push_str(value);
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The type SOLAPI resends a failed Alimtalk's text as: SMS when it fits 90 EUC-KR bytes,
/// LMS up to 2,000; `None` when neither can carry it.
fn replacement_kind(text: &str) -> Option<&'static str> {
    match measure(text) {
        (bytes, true) if bytes <= 90 => Some("SMS"),
        (bytes, _) if bytes <= 2000 => Some("LMS"),
        _ => None,
    }
}

/// `M4V` / `G4V` + a UTC timestamp + random upper-case characters: 32 characters, shaped as
/// SOLAPI's ids.
fn solapi_id(prefix: char) -> String {
    format!(
        "{prefix}4V{}{}",
        chrono::Utc::now().format("%Y%m%d%H%M%S"),
        random_string(UPPER_ALNUM, 15)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_matches_the_vector_in_messaging_md() {
        assert_eq!(
            signature("test-api-secret", "2019-07-01T00:41:48Z", "jqsba2jxjnrjor"),
            "0012d7796a0671e2f2eac00d56fac3ee9212f507dab85021973f3cce353c113b"
        );
    }

    #[test]
    fn euc_kr_counts_korean_as_two_bytes_and_refuses_emoji() {
        assert_eq!(euc_kr_len("hello"), Some(5));
        assert_eq!(euc_kr_len("안녕하세요 hi"), Some(13));
        assert_eq!(euc_kr_len("주문 완료 😀"), None);
        assert_eq!(measure("😀a"), (5, false));
    }

    #[test]
    fn templates_render_their_placeholders() {
        let vars = json!({ "#{name}": "홍길동", "#{order}": "A-1" });
        let vars = vars.as_object().expect("object");
        assert_eq!(
            render("#{name}님, 주문 #{order} (#{name})", vars).as_deref(),
            Ok("홍길동님, 주문 A-1 (홍길동)")
        );
        assert_eq!(render("#{missing}", vars), Err("#{missing}".to_owned()));
    }

    struct Client {
        http: reqwest::Client,
        url: String,
    }

    impl Client {
        fn new(solapi: &FakeSolapi) -> Client {
            Client {
                http: super::super::http_client(),
                url: format!("{}{SEND_PATH}", solapi.base_url()),
            }
        }

        async fn send_with(&self, auth: &str, body: &Value) -> (u16, Value) {
            let res = self
                .http
                .post(&self.url)
                .header("Authorization", auth)
                .json(body)
                .send()
                .await
                .expect("answer");
            let status = res.status().as_u16();
            (status, res.json().await.expect("JSON"))
        }

        async fn send(&self, body: &Value) -> (u16, Value) {
            self.send_with(&authorization_now(TEST_API_KEY, TEST_API_SECRET), body)
                .await
        }
    }

    fn sms(to: &str, text: &str) -> Value {
        json!({ "to": to, "from": TEST_SENDER, "text": text })
    }

    #[tokio::test]
    async fn auth_failures_are_401_with_an_error_code() {
        let solapi = FakeSolapi::start(TEST_API_KEY, TEST_API_SECRET).await;
        let c = Client::new(&solapi);
        let body = json!({ "messages": [sms("01012345678", "안녕하세요")] });
        let now = chrono::Utc::now();
        let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let salt = "abcdefghijklmnop";
        let cases = [
            (
                authorization("NCSOTHERKEY00000", TEST_API_SECRET, &fmt(now), salt),
                error_code::INVALID_API_KEY,
            ),
            (
                authorization(TEST_API_KEY, "wrong-secret", &fmt(now), salt),
                error_code::SIGNATURE_DOES_NOT_MATCH,
            ),
            (
                authorization(
                    TEST_API_KEY,
                    TEST_API_SECRET,
                    &fmt(now - chrono::Duration::minutes(16)),
                    salt,
                ),
                error_code::REQUEST_TIME_TOO_SKEWED,
            ),
            (
                authorization(TEST_API_KEY, TEST_API_SECRET, &fmt(now), "short"),
                error_code::INVALID_AUTHORIZATION,
            ),
            (format!("Bearer {TEST_API_KEY}"), error_code::INVALID_AUTHORIZATION),
        ];
        for (auth, code) in cases {
            let (status, answer) = c.send_with(&auth, &body).await;
            assert_eq!((status, answer["errorCode"].as_str()), (401, Some(code)), "{auth}");
            assert!(answer["errorMessage"].is_string());
        }
        assert!(solapi.sent().is_empty());
        assert_eq!(solapi.requests(), 5);
    }

    #[tokio::test]
    async fn a_signature_is_good_once_and_md5_is_accepted() {
        let solapi = FakeSolapi::start(TEST_API_KEY, TEST_API_SECRET).await;
        let c = Client::new(&solapi);
        let body = json!({ "messages": [sms("01012345678", "hi")] });
        let date = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        let auth = authorization(TEST_API_KEY, TEST_API_SECRET, &date, "salt-salt-salt-1");
        assert_eq!(c.send_with(&auth, &body).await.0, 200);
        let (status, again) = c.send_with(&auth, &body).await;
        assert_eq!(
            (status, again["errorCode"].as_str()),
            (401, Some("DuplicatedSignature"))
        );

        let md5 = format!(
            "HMAC-MD5 apiKey={TEST_API_KEY}, date={date}, salt=salt-salt-salt-2, signature={}",
            signature_md5(TEST_API_SECRET, &date, "salt-salt-salt-2")
        );
        assert_eq!(c.send_with(&md5, &body).await.0, 200);
        assert_eq!(solapi.sent().len(), 2);
    }

    #[tokio::test]
    async fn types_are_detected_and_lengths_counted_in_euc_kr() {
        let solapi = FakeSolapi::start(TEST_API_KEY, TEST_API_SECRET).await;
        let c = Client::new(&solapi);
        let korean_45 = "가".repeat(45);
        let korean_46 = "가".repeat(46);
        let body = json!({ "showMessageList": true, "messages": [
            sms("01000000001", &korean_45),
            sms("01000000002", &korean_46),
            { "to": "01000000003", "from": TEST_SENDER, "text": "짧음", "subject": "제목" },
            { "to": "01000000004", "from": TEST_SENDER, "text": korean_46, "type": "SMS" },
            { "to": "01000000005", "from": TEST_SENDER, "text": "가".repeat(1001), "type": "LMS" },
            { "to": "01000000006", "from": TEST_SENDER, "text": "이모지 😀", "type": "SMS" },
            { "to": "01000000007", "from": "0299999999", "text": "미등록" },
            { "to": "01000000008", "from": TEST_SENDER, "text": "긴 제목", "subject": "제".repeat(21) },
        ]});
        let (status, answer) = c.send(&body).await;
        assert_eq!(status, 200, "{answer}");
        let count = &answer["groupInfo"]["count"];
        assert_eq!(count["total"], 8);
        assert_eq!(count["registeredSuccess"], 3);
        assert_eq!(count["registeredFailed"], 5);
        assert_eq!(count["sentSuccess"], 3);
        let failed: Vec<(&str, &str)> = answer["failedMessageList"]
            .as_array()
            .expect("list")
            .iter()
            .map(|f| (f["to"].as_str().expect("to"), f["statusCode"].as_str().expect("code")))
            .collect();
        assert_eq!(
            failed,
            [
                ("01000000004", "1031"),
                ("01000000005", "1031"),
                ("01000000006", "1029"),
                ("01000000007", "1062"),
                ("01000000008", "1031"),
            ]
        );
        assert_eq!(answer["failedMessageList"][0]["type"], "SMS");
        assert_eq!(answer["failedMessageList"][0]["country"], "82");
        let list = answer["messageList"].as_array().expect("messageList");
        assert_eq!(list.len(), 3);
        assert!(list.iter().all(|m| m["statusCode"] == "2000"));
        let kinds: Vec<(String, String)> = solapi.sent().into_iter().map(|m| (m.to, m.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("01000000001".to_owned(), "SMS".to_owned()),
                ("01000000002".to_owned(), "LMS".to_owned()),
                ("01000000003".to_owned(), "LMS".to_owned()),
            ]
        );
        assert_eq!(solapi.sent()[2].subject.as_deref(), Some("제목"));
        assert!(solapi.sent().iter().all(|m| m.status_code == "4000" && !m.replacement));
        assert_eq!(solapi.failed().len(), 5);

        let (status, none) = c.send(&json!({ "messages": [sms("010", &"a".repeat(91))] })).await;
        assert_eq!(status, 200, "auto-detected LMS: {none}");
        solapi.register_sender("02-9999-9999");
        let (status, _) = c
            .send(&json!({ "messages": [{ "to": "010", "from": "0299999999", "text": "이제 등록" }] }))
            .await;
        assert_eq!(status, 200);
    }

    #[tokio::test]
    async fn a_request_with_nothing_accepted_is_a_400() {
        let solapi = FakeSolapi::start(TEST_API_KEY, TEST_API_SECRET).await;
        let c = Client::new(&solapi);
        let (status, answer) = c
            .send(&json!({ "messages": [{ "to": "01012345678", "from": "0200000000", "text": "x" }] }))
            .await;
        assert_eq!((status, answer["errorCode"].as_str()), (400, Some("ValidationError")));
        assert!(
            answer["errorMessage"].as_str().is_some_and(|m| m.contains("1062")),
            "{answer}"
        );
        let (status, _) = c.send(&json!({ "messages": [] })).await;
        assert_eq!(status, 400);
        let (status, _) = c
            .send(&json!({ "messages": [{ "to": "010", "from": TEST_SENDER }] }))
            .await;
        assert_eq!(status, 400, "text is required");
        assert!(solapi.sent().is_empty());
    }

    #[tokio::test]
    async fn alimtalk_checks_its_template_and_falls_back_to_sms() {
        let solapi = FakeSolapi::start(TEST_API_KEY, TEST_API_SECRET).await;
        let c = Client::new(&solapi);
        solapi.register_template("PF01", "TP01", "#{name}님, 주문 #{order}이 출발했습니다.");
        solapi.set_not_kakao_user("010-7777-0000");
        let ata = |to: &str, text: Option<&str>, template: &str, disable: bool| {
            let mut m = json!({
                "to": to, "from": TEST_SENDER, "type": "ATA",
                "kakaoOptions": {
                    "pfId": "PF01", "templateId": template, "disableSms": disable,
                    "variables": { "#{name}": "홍길동", "#{order}": "A-1" },
                },
            });
            if let Some(t) = text {
                m["text"] = json!(t);
            }
            m
        };
        let body = json!({ "messages": [
            ata("01011110000", None, "TP01", false),
            ata("01022220000", Some("홍길동님, 주문 A-1이 출발했습니다."), "TP01", false),
            ata("01033330000", Some("다른 내용"), "TP01", false),
            ata("01044440000", None, "TP99", false),
            ata("01077770000", None, "TP01", false),
            ata("01077770000", None, "TP01", true),
        ]});
        let (status, answer) = c.send(&body).await;
        assert_eq!(status, 200, "{answer}");
        let count = &answer["groupInfo"]["count"];
        assert_eq!(
            (
                &count["registeredSuccess"],
                &count["registeredFailed"],
                &count["sentSuccess"],
                &count["sentFailed"],
                &count["sentReplacement"]
            ),
            (&json!(4), &json!(2), &json!(2), &json!(2), &json!(1))
        );
        let codes: Vec<&str> = answer["failedMessageList"]
            .as_array()
            .expect("list")
            .iter()
            .map(|f| f["statusCode"].as_str().expect("code"))
            .collect();
        assert_eq!(codes, ["1043", "1042"]);
        assert!(answer.get("messageList").is_none());

        let sent = solapi.sent();
        assert_eq!(sent.len(), 3);
        assert_eq!(sent[0].kind, "ATA");
        assert_eq!(sent[0].text, "홍길동님, 주문 A-1이 출발했습니다.");
        assert_eq!(sent[0].pf_id.as_deref(), Some("PF01"));
        assert_eq!(sent[0].variables["#{name}"], "홍길동");
        let replacement = &sent[2];
        assert!(replacement.replacement);
        assert_eq!(
            (replacement.to.as_str(), replacement.kind.as_str()),
            ("01077770000", "SMS")
        );
        assert_eq!(replacement.text, sent[0].text);
        let failed = solapi.failed();
        assert_eq!(
            failed
                .iter()
                .filter(|m| m.status_code == status_code::NOT_KAKAO_USER)
                .count(),
            2
        );
    }

    #[tokio::test]
    async fn injected_outages_answer_503_before_auth() {
        let solapi = FakeSolapi::start(TEST_API_KEY, TEST_API_SECRET).await;
        let c = Client::new(&solapi);
        solapi.fail_next(2, 503);
        let body = json!({ "messages": [sms("01012345678", "재시도")] });
        let auth = authorization_now(TEST_API_KEY, TEST_API_SECRET);
        for _ in 0..2 {
            let (status, answer) = c.send_with(&auth, &body).await;
            assert_eq!(
                (status, answer["errorCode"].as_str()),
                (503, Some("ServiceUnavailable"))
            );
        }
        let (status, _) = c.send_with(&auth, &body).await;
        assert_eq!(status, 200);
        assert_eq!(solapi.requests(), 3);
        assert_eq!(solapi.sent().len(), 1);
        let old = format!("{}{SEND_PATH_OLD}", solapi.base_url());
        let res = c
            .http
            .post(old)
            .header("Authorization", authorization_now(TEST_API_KEY, TEST_API_SECRET))
            .json(&body)
            .send()
            .await
            .expect("answer");
        assert_eq!(res.status().as_u16(), 200);
    }
}
