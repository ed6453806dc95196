//! A fake Slack for end-to-end tests (messaging.md §1): the Web API methods the bot calls
//! (`auth.test`, `chat.postMessage`, `chat.postEphemeral`, `chat.update`,
//! `files.getUploadURLExternal`, the upload URL, `files.completeUploadExternal`), the
//! `response_url` targets of slash commands and interactions, and — in [`SlackSender`] —
//! Slack's signed deliveries towards the bot.
//!
//! The fake answers as Slack documents it: HTTP 200 with `{"ok":true,…}` or
//! `{"ok":false,"error":"<code>"}`, except HTTP 429 with `Retry-After` when a test asks for
//! rate limiting. It records every call so tests can assert what the bot did, and wakes
//! [`FakeSlack::wait_for`] on every record, so tests wait on conditions, never on sleeps.
//!
//! ```no_run
//! # async fn demo() {
//! use std::time::Duration;
//! use jangteo_tests::fakes::slack::{FakeSlack, REPORTS};
//! let slack = FakeSlack::start("xoxb-test-token").await;
//! // settings: slack.api_url = slack.base_url(), slack.bot_token = "xoxb-test-token"
//! let file = slack
//!     .wait_for_file(|f| f.completed && f.channel.as_deref() == Some(REPORTS), Duration::from_secs(10))
//!     .await;
//! assert!(file.is_png());
//! # }
//! ```

mod blocks;
mod sender;

pub use sender::{
    ACK_LIMIT, BlockAction, COMMANDS_PATH, EVENTS_PATH, EventCallback, INTERACTIONS_PATH, SlackSender, SlashCommand,
    slack_sign, url_verification_body,
};

use std::{
    collections::{HashMap, VecDeque},
    fmt::Write as _,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, Path, RawQuery, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Map, Value, json};
use tokio::{sync::Notify, task::JoinHandle};

use super::{UPPER_ALNUM, random_string};

/// The fake workspace's team id.
pub const TEAM_ID: &str = "T0JANGTEO1";
/// The fake workspace's domain (`jangteo-test.slack.com`).
pub const TEAM_DOMAIN: &str = "jangteo-test";
/// The bot user's id, as `auth.test` reports it (mentions read `<@U0JANGBOT1>`).
pub const BOT_USER_ID: &str = "U0JANGBOT1";
/// The bot's bot id (`bot_id` on its messages).
pub const BOT_ID: &str = "B0JANGBOT1";
/// The Slack app's id (`api_app_id`).
pub const APP_ID: &str = "A0JANGTEO1";
/// A pre-registered channel the bot is a member of.
pub const GENERAL: &str = "C0GENERAL1";
/// A pre-registered channel for the daily report (`bot.report_channel`).
pub const REPORTS: &str = "C0REPORTS1";
/// A pre-registered channel for alerts (`bot.alert_channel`).
pub const ALERTS: &str = "C0ALERTS01";
/// A pre-registered channel for a Sentry route.
pub const OPS: &str = "C0OPS00001";
/// The bot token's scopes unless [`FakeSlack::set_scopes`] changes them (the manifest's).
pub const DEFAULT_SCOPES: &[&str] = &[
    "commands",
    "chat:write",
    "files:write",
    "app_mentions:read",
    "im:history",
    "channels:history",
];
/// A `response_url` takes this many POSTs… (messaging.md §1b)
pub const RESPONSE_URL_USES: usize = 5;
/// …within this long after it was handed out.
pub const RESPONSE_URL_LIFETIME: Duration = Duration::from_mins(30);

/// Slack's cap on `text` (characters).
const MAX_TEXT_CHARS: usize = 40_000;
/// Uploads are charts; this is far above any of them.
const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;

/// One request the fake answered.
#[derive(Clone, Debug)]
pub struct Call {
    /// The Web API method (`chat.postMessage`…), or `upload` for the upload URL and
    /// `response_url` for a `response_url` POST.
    pub method: String,
    /// `GET` or `POST`.
    pub http_method: String,
    /// When it arrived.
    pub at: Instant,
    /// The HTTP status answered (200, or 429 when rate limited; 4xx on the upload and
    /// `response_url` targets).
    pub status: u16,
    /// The error code answered (`invalid_auth`, `ratelimited`…), `None` on success.
    pub error: Option<String>,
    /// The request's arguments (query, form fields or JSON members; form values are strings).
    pub args: Map<String, Value>,
}

impl Call {
    /// Whether the call succeeded.
    pub fn ok(&self) -> bool {
        self.status == 200 && self.error.is_none()
    }
}

/// A message the bot posted (`chat.postMessage`, `chat.postEphemeral`).
#[derive(Clone, Debug)]
pub struct Message {
    /// The channel it was posted to (as the bot named it).
    pub channel: String,
    /// Its `ts` (for ephemeral messages the `message_ts` returned).
    pub ts: String,
    /// The thread it was posted in.
    pub thread_ts: Option<String>,
    /// `Some(user)` for `chat.postEphemeral`: only that user sees it.
    pub ephemeral_user: Option<String>,
    /// The current text (after updates).
    pub text: Option<String>,
    /// The current Block Kit blocks (after updates).
    pub blocks: Option<Value>,
    /// Every change since it was posted, oldest first.
    pub updates: Vec<MessageUpdate>,
    /// Deleted through a `response_url` with `delete_original`.
    pub deleted: bool,
    /// The arguments it was posted with (as in [`Call::args`], `blocks` parsed).
    pub args: Map<String, Value>,
}

impl Message {
    /// The text and every text inside the blocks, one per line: for assertions that a number
    /// or a word is shown, wherever the bot put it.
    pub fn all_text(&self) -> String {
        all_text(self.text.as_deref(), self.blocks.as_ref())
    }

    /// Whether it was posted as a reply in a thread.
    pub fn is_reply(&self) -> bool {
        self.thread_ts.as_ref().is_some_and(|t| *t != self.ts)
    }
}

/// One change to a message.
#[derive(Clone, Debug)]
pub struct MessageUpdate {
    /// `chat.update`, or `response_url` (`replace_original`).
    pub via: &'static str,
    /// When.
    pub at: Instant,
    /// The text it set, if any (otherwise the text stayed).
    pub text: Option<String>,
    /// The blocks it set, if any (otherwise the blocks stayed).
    pub blocks: Option<Value>,
}

/// A file announced with `files.getUploadURLExternal`.
#[derive(Clone, Debug)]
pub struct UploadedFile {
    /// `F…`
    pub id: String,
    /// The `filename` argument.
    pub filename: String,
    /// The `length` argument (bytes announced).
    pub length: u64,
    /// `alt_txt`, if given.
    pub alt_txt: Option<String>,
    /// The bytes POSTed to the upload URL, once they arrive.
    pub bytes: Option<Vec<u8>>,
    /// The upload's content type (of the part, for a multipart upload).
    pub content_type: Option<String>,
    /// The title given at completion (Slack shows the filename without one).
    pub title: Option<String>,
    /// The channel it was shared into at completion (`channel_id`, or the first of `channels`).
    pub channel: Option<String>,
    /// The thread it was shared into.
    pub thread_ts: Option<String>,
    /// `initial_comment`, if given.
    pub initial_comment: Option<String>,
    /// `files.completeUploadExternal` succeeded for it.
    pub completed: bool,
}

impl UploadedFile {
    /// Whether the uploaded bytes are a PNG image (by its signature).
    pub fn is_png(&self) -> bool {
        self.bytes
            .as_deref()
            .is_some_and(|b| b.starts_with(b"\x89PNG\r\n\x1a\n"))
    }
}

/// One POST to a `response_url`.
#[derive(Clone, Debug)]
pub struct ResponsePost {
    /// The URL posted to.
    pub url: String,
    /// When.
    pub at: Instant,
    /// The status answered: 200, 400 (bad payload), 404 (used up, expired, unknown).
    pub status: u16,
    /// Whether it was accepted (within 5 uses and 30 minutes, a valid payload).
    pub accepted: bool,
    /// The JSON body (`Null` if it was not JSON).
    pub body: Value,
    /// `response_type` as sent; Slack treats a missing one as `ephemeral`.
    pub response_type: Option<String>,
    /// `replace_original` as sent.
    pub replace_original: bool,
    /// `delete_original` as sent.
    pub delete_original: bool,
    /// `text`, if any.
    pub text: Option<String>,
    /// `blocks`, if any.
    pub blocks: Option<Value>,
}

impl ResponsePost {
    /// Visible only to the asker (`response_type` missing or `ephemeral`).
    pub fn is_ephemeral(&self) -> bool {
        self.response_type.as_deref() != Some("in_channel")
    }

    /// The text and every text inside the blocks (see [`Message::all_text`]).
    pub fn all_text(&self) -> String {
        all_text(self.text.as_deref(), self.blocks.as_ref())
    }
}

/// Everything the fake recorded, in arrival order.
#[derive(Clone, Debug, Default)]
pub struct SlackState {
    /// Every request.
    pub calls: Vec<Call>,
    /// Messages posted (also ephemeral ones).
    pub messages: Vec<Message>,
    /// Files announced, uploaded and completed.
    pub files: Vec<UploadedFile>,
    /// POSTs to `response_url`s.
    pub responses: Vec<ResponsePost>,
}

impl SlackState {
    /// The calls of one method.
    pub fn calls_of(&self, method: &str) -> Vec<&Call> {
        self.calls.iter().filter(|c| c.method == method).collect()
    }

    /// The messages posted to `channel`.
    pub fn messages_in(&self, channel: &str) -> Vec<&Message> {
        self.messages.iter().filter(|m| m.channel == channel).collect()
    }

    /// A short listing for failure messages.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        for c in &self.calls {
            let _ = writeln!(s, "call {} {} → {} {:?}", c.http_method, c.method, c.status, c.error);
        }
        for m in &self.messages {
            let _ = writeln!(s, "message {} {} {:?}", m.channel, m.ts, m.all_text());
        }
        for f in &self.files {
            let size = f.bytes.as_ref().map(Vec::len);
            let _ = writeln!(
                s,
                "file {} {} {size:?}/{} completed={}",
                f.id, f.filename, f.length, f.completed
            );
        }
        for r in &self.responses {
            let _ = writeln!(s, "response {} → {} {:?}", r.url, r.status, r.all_text());
        }
        s
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChannelState {
    Member,
    NotMember,
    Archived,
}

#[derive(Debug)]
struct ResponseUrl {
    created: Instant,
    uses: usize,
    expired: bool,
    /// The message an interaction came from: `replace_original`/`delete_original` act on it.
    original: Option<(String, String)>,
}

/// What the tests read, and what they set to shape the fake's answers.
struct Inner {
    state: SlackState,
    channels: HashMap<String, ChannelState>,
    scopes: Vec<String>,
    rate_limits: HashMap<String, (u32, u64)>,
    failures: HashMap<String, VecDeque<String>>,
    response_urls: HashMap<String, ResponseUrl>,
    last_ts: (u64, u32),
    files_made: u32,
}

struct Shared {
    token: String,
    root: String,
    inner: Mutex<Inner>,
    changed: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking test thread must not hide the record from the others.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A fake Slack Web API on `127.0.0.1`; stops when dropped.
pub struct FakeSlack {
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Drop for FakeSlack {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeSlack {
    /// Starts the fake on a random port; it accepts `bot_token` (`xoxb-…`) and knows the
    /// channels [`GENERAL`], [`REPORTS`], [`ALERTS`] and [`OPS`], with the bot in each.
    pub async fn start(bot_token: &str) -> FakeSlack {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let channels = [GENERAL, REPORTS, ALERTS, OPS]
            .into_iter()
            .map(|c| (c.to_owned(), ChannelState::Member))
            .collect();
        let shared = Arc::new(Shared {
            token: bot_token.to_owned(),
            root: format!("http://{addr}"),
            inner: Mutex::new(Inner {
                state: SlackState::default(),
                channels,
                scopes: DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect(),
                rate_limits: HashMap::new(),
                failures: HashMap::new(),
                response_urls: HashMap::new(),
                last_ts: (0, 0),
                files_made: 0,
            }),
            changed: Notify::new(),
        });
        let app = Router::new()
            .route("/api/{method}", get(api).post(api))
            .route("/upload/{file_id}", post(upload))
            .route("/response/{id}", post(respond))
            .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeSlack { shared, server }
    }

    /// `http://127.0.0.1:port/api/`: the bot's `slack.api_url`.
    pub fn base_url(&self) -> String {
        format!("{}/api/", self.shared.root)
    }

    /// `http://127.0.0.1:port`, where the upload and `response_url` targets live.
    pub fn root_url(&self) -> String {
        self.shared.root.clone()
    }

    /// The token the fake accepts.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// Registers a channel with the bot in it.
    pub fn add_channel(&self, id: &str) {
        self.set_channel(id, ChannelState::Member);
    }

    /// Registers a channel the bot is not in: posting there answers `not_in_channel`.
    pub fn add_channel_without_bot(&self, id: &str) {
        self.set_channel(id, ChannelState::NotMember);
    }

    /// Archives a channel: posting there answers `is_archived`.
    pub fn archive_channel(&self, id: &str) {
        self.set_channel(id, ChannelState::Archived);
    }

    fn set_channel(&self, id: &str, state: ChannelState) {
        self.shared.lock().channels.insert(id.to_owned(), state);
    }

    /// Replaces the token's scopes; a method needing another answers `missing_scope` with
    /// `needed` and `provided`.
    pub fn set_scopes(&self, scopes: &[&str]) {
        self.shared.lock().scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
    }

    /// The next `n` calls of `method` answer HTTP 429 with `Retry-After: retry_after_secs`
    /// and `{"ok":false,"error":"ratelimited"}`.
    pub fn rate_limit_next(&self, method: &str, n: u32, retry_after_secs: u64) {
        self.shared
            .lock()
            .rate_limits
            .insert(method.to_owned(), (n, retry_after_secs));
    }

    /// The next call of `method` answers `{"ok":false,"error":error}` (HTTP 200), e.g.
    /// `internal_error`; queue several by calling again.
    pub fn fail_next(&self, method: &str, error: &str) {
        self.shared
            .lock()
            .failures
            .entry(method.to_owned())
            .or_default()
            .push_back(error.to_owned());
    }

    /// A fresh `response_url` (`{root}/response/{id}`) as Slack puts in a slash command:
    /// 5 POSTs within 30 minutes, then 404.
    pub fn response_url(&self) -> String {
        self.make_response_url(None)
    }

    /// A fresh `response_url` as Slack puts in an interaction on the message `ts` in
    /// `channel`: `replace_original` updates that message, `delete_original` deletes it.
    pub fn response_url_for(&self, channel: &str, ts: &str) -> String {
        self.make_response_url(Some((channel.to_owned(), ts.to_owned())))
    }

    fn make_response_url(&self, original: Option<(String, String)>) -> String {
        // Slack's `…/commands/T…/397700885554/96rGlfmi…`, in one path segment.
        let id = format!(
            "{TEAM_ID}-{}-{}",
            random_string(b"0123456789", 12),
            random_string(UPPER_ALNUM, 24)
        );
        self.shared.lock().response_urls.insert(
            id.clone(),
            ResponseUrl {
                created: Instant::now(),
                uses: 0,
                expired: false,
                original,
            },
        );
        format!("{}/response/{id}", self.shared.root)
    }

    /// Makes `url` behave as if its 30 minutes had passed.
    pub fn expire_response_url(&self, url: &str) {
        let id = url.rsplit('/').next().unwrap_or_default();
        if let Some(r) = self.shared.lock().response_urls.get_mut(id) {
            r.expired = true;
        }
    }

    /// A copy of everything recorded so far.
    pub fn state(&self) -> SlackState {
        self.shared.lock().state.clone()
    }

    /// Every call so far.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.lock().state.calls.clone()
    }

    /// The calls of one method so far.
    pub fn calls_of(&self, method: &str) -> Vec<Call> {
        self.state().calls_of(method).into_iter().cloned().collect()
    }

    /// Every message posted so far.
    pub fn messages(&self) -> Vec<Message> {
        self.shared.lock().state.messages.clone()
    }

    /// Every file announced so far.
    pub fn files(&self) -> Vec<UploadedFile> {
        self.shared.lock().state.files.clone()
    }

    /// Every `response_url` POST so far.
    pub fn responses(&self) -> Vec<ResponsePost> {
        self.shared.lock().state.responses.clone()
    }

    /// Waits until `f` returns `Some` for the recorded state, re-checking on every new
    /// record; panics with a summary of the record after `timeout`.
    pub async fn wait_for<T>(&self, mut f: impl FnMut(&SlackState) -> Option<T>, timeout: Duration) -> T {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            // Registered before the check, so a record made in between still wakes us.
            notified.as_mut().enable();
            if let Some(v) = f(&self.shared.lock().state) {
                return v;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let summary = self.shared.lock().state.summary();
                panic!("the fake Slack did not see it within {timeout:?}; it saw:\n{summary}");
            }
        }
    }

    /// Waits until `f` holds for the recorded state (see [`FakeSlack::wait_for`]).
    pub async fn wait_until(&self, mut f: impl FnMut(&SlackState) -> bool, timeout: Duration) {
        self.wait_for(|s| f(s).then_some(()), timeout).await;
    }

    /// Waits for a message matching `f` and returns it.
    pub async fn wait_for_message(&self, mut f: impl FnMut(&Message) -> bool, timeout: Duration) -> Message {
        self.wait_for(|s| s.messages.iter().find(|m| f(m)).cloned(), timeout)
            .await
    }

    /// Waits for a file matching `f` and returns it.
    pub async fn wait_for_file(&self, mut f: impl FnMut(&UploadedFile) -> bool, timeout: Duration) -> UploadedFile {
        self.wait_for(|s| s.files.iter().find(|x| f(x)).cloned(), timeout).await
    }

    /// Waits for a `response_url` POST matching `f` and returns it.
    pub async fn wait_for_response(&self, mut f: impl FnMut(&ResponsePost) -> bool, timeout: Duration) -> ResponsePost {
        self.wait_for(|s| s.responses.iter().find(|r| f(r)).cloned(), timeout)
            .await
    }
}

/// The text and all `text` strings inside `blocks`, one per line.
fn all_text(text: Option<&str>, blocks: Option<&Value>) -> String {
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                for (k, v) in o {
                    match v {
                        Value::String(s) if k == "text" => out.push(s.clone()),
                        _ => walk(v, out),
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out: Vec<String> = text.map(str::to_owned).into_iter().collect();
    if let Some(b) = blocks {
        walk(b, &mut out);
    }
    out.join("\n")
}

// ---------------------------------------------------------------------------------------
// The Web API

/// A Web API answer before it becomes HTTP.
struct Answer {
    status: StatusCode,
    body: Value,
    retry_after: Option<u64>,
}

impl Answer {
    fn ok(mut body: Value) -> Answer {
        if let Value::Object(o) = &mut body {
            o.insert("ok".into(), Value::Bool(true));
        }
        Answer {
            status: StatusCode::OK,
            body,
            retry_after: None,
        }
    }

    fn error(code: &'static str) -> Answer {
        ApiError::new(code).into()
    }

    fn error_code(&self) -> Option<String> {
        self.body["error"].as_str().map(str::to_owned)
    }
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        let mut resp = (self.status, self.body.to_string()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// `{"ok":false,"error":code,…extra}`.
struct ApiError {
    code: &'static str,
    extra: Map<String, Value>,
}

impl ApiError {
    fn new(code: &'static str) -> ApiError {
        ApiError {
            code,
            extra: Map::new(),
        }
    }

    /// With `response_metadata.messages`, as Slack explains argument errors.
    fn explained(code: &'static str, messages: Vec<String>) -> ApiError {
        let mut e = ApiError::new(code);
        let messages = Value::Array(messages.into_iter().map(Value::String).collect());
        e.extra
            .insert("response_metadata".into(), json!({ "messages": messages }));
        e
    }
}

impl From<ApiError> for Answer {
    fn from(e: ApiError) -> Answer {
        let mut body = e.extra;
        body.insert("ok".into(), Value::Bool(false));
        body.insert("error".into(), Value::String(e.code.to_owned()));
        Answer {
            status: StatusCode::OK,
            body: Value::Object(body),
            retry_after: None,
        }
    }
}

type Args = Map<String, Value>;

/// What a method needs of the token.
enum Needs {
    /// Any valid token.
    Token,
    /// A token with this scope.
    Scope(&'static str),
}

/// What `method` needs; `None` for methods the fake doesn't know.
fn needs(method: &str) -> Option<Needs> {
    Some(match method {
        "auth.test" => Needs::Token,
        "chat.postMessage" | "chat.postEphemeral" | "chat.update" => Needs::Scope("chat:write"),
        "files.getUploadURLExternal" | "files.completeUploadExternal" => Needs::Scope("files:write"),
        _ => return None,
    })
}

async fn api(
    State(shared): State<Arc<Shared>>,
    Path(method): Path<String>,
    http_method: Method,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let at = Instant::now();
    let parsed = parse_args(query.as_deref(), &headers, &body);
    let mut inner = shared.lock();
    let (answer, mut args) = match parsed {
        Err(code) => (Answer::error(code), Args::new()),
        Ok((args, form_token)) => {
            let answer = answer_api(&shared, &mut inner, &method, &headers, form_token.as_deref(), &args);
            (answer, args)
        }
    };
    args.remove("token");
    inner.state.calls.push(Call {
        method,
        http_method: http_method.to_string(),
        at,
        status: answer.status.as_u16(),
        error: answer.error_code(),
        args,
    });
    drop(inner);
    shared.changed.notify_waiters();
    answer
}

fn answer_api(
    shared: &Shared,
    inner: &mut Inner,
    method: &str,
    headers: &HeaderMap,
    form_token: Option<&str>,
    args: &Args,
) -> Answer {
    let Some(needs) = needs(method) else {
        let mut body = json!({ "ok": false, "error": "unknown_method" });
        body["req_method"] = Value::String(method.to_owned());
        return Answer {
            status: StatusCode::OK,
            body,
            retry_after: None,
        };
    };
    if let Err(e) = authenticate(&shared.token, headers, form_token) {
        return e.into();
    }
    if let Some((n, secs)) = inner.rate_limits.get_mut(method)
        && *n > 0
    {
        *n -= 1;
        return Answer {
            status: StatusCode::TOO_MANY_REQUESTS,
            body: json!({ "ok": false, "error": "ratelimited" }),
            retry_after: Some(*secs),
        };
    }
    if let Some(code) = inner.failures.get_mut(method).and_then(VecDeque::pop_front) {
        return Answer {
            status: StatusCode::OK,
            body: json!({ "ok": false, "error": code }),
            retry_after: None,
        };
    }
    if let Needs::Scope(scope) = needs
        && !inner.scopes.iter().any(|s| s == scope)
    {
        let mut e = ApiError::new("missing_scope");
        e.extra.insert("needed".into(), scope.into());
        e.extra.insert("provided".into(), inner.scopes.join(",").into());
        return e.into();
    }
    let result = match method {
        "auth.test" => Ok(auth_test()),
        "chat.postMessage" => post_message(inner, args, None),
        "chat.postEphemeral" => post_ephemeral(inner, args),
        "chat.update" => update(inner, args),
        "files.getUploadURLExternal" => get_upload_url(inner, &shared.root, args),
        "files.completeUploadExternal" => complete_upload(inner, args),
        _ => unreachable!("`needs` knows every method"),
    };
    result.map_or_else(Answer::from, Answer::ok)
}

/// Slack reads the token from `Authorization: Bearer`, else from a `token` form field or
/// query parameter (never from a JSON body).
fn authenticate(expected: &str, headers: &HeaderMap, form_token: Option<&str>) -> Result<(), ApiError> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim());
    let Some(token) = bearer.or(form_token).filter(|t| !t.is_empty()) else {
        return Err(ApiError::new("not_authed"));
    };
    if token.starts_with("xapp-") {
        return Err(ApiError::new("not_allowed_token_type"));
    }
    if token != expected {
        return Err(ApiError::new("invalid_auth"));
    }
    Ok(())
}

/// The arguments from the query string and the body (form or JSON), and a token given as a
/// form field or query parameter.
fn parse_args(query: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Result<(Args, Option<String>), &'static str> {
    let mut args = Args::new();
    let mut token = None;
    let mut form = |bytes: &[u8], args: &mut Args| {
        for (k, v) in form_urlencoded::parse(bytes) {
            if k == "token" {
                token = Some(v.to_string());
            }
            args.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    };
    if let Some(q) = query {
        form(q.as_bytes(), &mut args);
    }
    if !body.is_empty() {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
        match content_type.as_deref() {
            None => return Err("missing_post_type"),
            Some("application/x-www-form-urlencoded") => form(body, &mut args),
            Some("application/json") => match serde_json::from_slice::<Value>(body) {
                Ok(Value::Object(o)) => args.extend(o),
                Ok(_) => return Err("json_not_object"),
                Err(_) => return Err("invalid_json"),
            },
            Some(_) => return Err("invalid_post_type"),
        }
    }
    Ok((args, token))
}

/// A string argument; numbers and booleans as their text; empty strings count as absent.
fn str_arg(args: &Args, name: &str) -> Option<String> {
    match args.get(name)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A JSON argument: a JSON string (form bodies) or JSON itself (JSON bodies).
fn json_arg(args: &Args, name: &str) -> Result<Option<Value>, ()> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => serde_json::from_str(s).map(Some).map_err(|_| ()),
        Some(v) => Ok(Some(v.clone())),
    }
}

fn check_channel(inner: &Inner, channel: Option<&str>) -> Result<String, ApiError> {
    let Some(channel) = channel else {
        return Err(ApiError::new("channel_not_found"));
    };
    match inner.channels.get(channel) {
        Some(ChannelState::Member) => Ok(channel.to_owned()),
        Some(ChannelState::NotMember) => Err(ApiError::new("not_in_channel")),
        Some(ChannelState::Archived) => Err(ApiError::new("is_archived")),
        // A DM channel, or a user id (Slack opens the DM with the bot).
        None if channel.starts_with('D') || channel.starts_with('U') || channel.starts_with('W') => {
            Ok(channel.to_owned())
        }
        None => Err(ApiError::new("channel_not_found")),
    }
}

/// Text and blocks of a message: `no_text` without either, `invalid_blocks` for blocks
/// Slack would refuse, `msg_too_long` over 40,000 characters.
fn content(args: &Args, required: bool) -> Result<(Option<String>, Option<Value>), ApiError> {
    let text = str_arg(args, "text");
    let blocks = json_arg(args, "blocks").map_err(|()| {
        ApiError::explained(
            "invalid_blocks",
            vec!["[ERROR] blocks is not valid JSON [json-pointer:/blocks]".into()],
        )
    })?;
    if let Some(b) = &blocks {
        blocks::validate(b).map_err(|m| ApiError::explained("invalid_blocks", m))?;
    }
    if text.as_ref().is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS) {
        return Err(ApiError::new("msg_too_long"));
    }
    let has_blocks = blocks.as_ref().and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    let has_attachments = json_arg(args, "attachments")
        .ok()
        .flatten()
        .and_then(|a| a.as_array().map(|a| !a.is_empty()))
        .unwrap_or(false);
    if required && text.is_none() && !has_blocks && !has_attachments {
        return Err(ApiError::new("no_text"));
    }
    Ok((text, blocks))
}

/// A `ts` as Slack makes them: Unix seconds, a dot, six digits; strictly increasing.
fn next_ts(inner: &mut Inner) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut next = (now.as_secs(), now.subsec_micros());
    if next <= inner.last_ts {
        let (s, us) = inner.last_ts;
        next = if us >= 999_999 { (s + 1, 0) } else { (s, us + 1) };
    }
    inner.last_ts = next;
    format!("{}.{:06}", next.0, next.1)
}

fn message_json(text: Option<&String>, blocks: Option<&Value>, ts: &str, thread_ts: Option<&String>) -> Value {
    let mut m = json!({
        "type": "message",
        "text": text.cloned().unwrap_or_default(),
        "user": BOT_USER_ID,
        "bot_id": BOT_ID,
        "app_id": APP_ID,
        "team": TEAM_ID,
        "ts": ts,
    });
    if let Some(b) = blocks {
        m["blocks"] = b.clone();
    }
    if let Some(t) = thread_ts {
        m["thread_ts"] = Value::String(t.clone());
    }
    m
}

fn auth_test() -> Value {
    json!({
        "url": format!("https://{TEAM_DOMAIN}.slack.com/"),
        "team": "Jangteo Test",
        "user": "jangteo",
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": false,
    })
}

fn post_message(inner: &mut Inner, args: &Args, ephemeral_user: Option<String>) -> Result<Value, ApiError> {
    let channel = check_channel(inner, str_arg(args, "channel").as_deref())?;
    let (text, blocks) = content(args, true)?;
    let thread_ts = str_arg(args, "thread_ts");
    let ts = next_ts(inner);
    let mut recorded = args.clone();
    recorded.remove("token");
    if let Some(b) = &blocks {
        recorded.insert("blocks".into(), b.clone());
    }
    let reply = if ephemeral_user.is_some() {
        json!({ "message_ts": ts })
    } else {
        json!({
            "channel": channel,
            "ts": ts,
            "message": message_json(text.as_ref(), blocks.as_ref(), &ts, thread_ts.as_ref()),
        })
    };
    inner.state.messages.push(Message {
        channel,
        ts,
        thread_ts,
        ephemeral_user,
        text,
        blocks,
        updates: Vec::new(),
        deleted: false,
        args: recorded,
    });
    Ok(reply)
}

fn post_ephemeral(inner: &mut Inner, args: &Args) -> Result<Value, ApiError> {
    let user = str_arg(args, "user")
        .filter(|u| u.starts_with('U') || u.starts_with('W'))
        .ok_or_else(|| ApiError::new("user_not_in_channel"))?;
    post_message(inner, args, Some(user))
}

fn update(inner: &mut Inner, args: &Args) -> Result<Value, ApiError> {
    let channel = check_channel(inner, str_arg(args, "channel").as_deref())?;
    let ts = str_arg(args, "ts").ok_or_else(|| ApiError::new("message_not_found"))?;
    let (text, blocks) = content(args, true)?;
    let message = inner
        .state
        .messages
        .iter_mut()
        .find(|m| m.channel == channel && m.ts == ts && m.ephemeral_user.is_none() && !m.deleted)
        .ok_or_else(|| ApiError::new("message_not_found"))?;
    apply_update(message, "chat.update", text, blocks);
    Ok(json!({
        "channel": channel,
        "ts": ts,
        "text": message.text.clone().unwrap_or_default(),
        "message": message_json(message.text.as_ref(), message.blocks.as_ref(), &ts, message.thread_ts.as_ref()),
    }))
}

/// A field that is sent replaces the old one; a field left out stays (Slack's rule for
/// `chat.update`).
fn apply_update(message: &mut Message, via: &'static str, text: Option<String>, blocks: Option<Value>) {
    if text.is_some() {
        message.text.clone_from(&text);
    }
    if blocks.is_some() {
        message.blocks.clone_from(&blocks);
    }
    message.updates.push(MessageUpdate {
        via,
        at: Instant::now(),
        text,
        blocks,
    });
}

fn get_upload_url(inner: &mut Inner, root: &str, args: &Args) -> Result<Value, ApiError> {
    let missing = |field: &str| {
        ApiError::explained(
            "invalid_arguments",
            vec![format!("[ERROR] missing required field: {field}")],
        )
    };
    let filename = str_arg(args, "filename").ok_or_else(|| missing("filename"))?;
    let length = str_arg(args, "length").ok_or_else(|| missing("length"))?;
    let length: u64 = length
        .parse()
        .map_err(|_| ApiError::explained("invalid_arguments", vec!["[ERROR] length must be an integer".into()]))?;
    if length == 0 {
        return Err(ApiError::new("missing_argument"));
    }
    inner.files_made += 1;
    let id = format!("F07{:08}", inner.files_made);
    inner.state.files.push(UploadedFile {
        id: id.clone(),
        filename,
        length,
        alt_txt: str_arg(args, "alt_txt"),
        bytes: None,
        content_type: None,
        title: None,
        channel: None,
        thread_ts: None,
        initial_comment: None,
        completed: false,
    });
    Ok(json!({ "upload_url": format!("{root}/upload/{id}"), "file_id": id }))
}

fn complete_upload(inner: &mut Inner, args: &Args) -> Result<Value, ApiError> {
    let bad_files = || {
        ApiError::explained(
            "invalid_arguments",
            vec!["[ERROR] files must be a JSON array of {\"id\", \"title\"} [json-pointer:/files]".into()],
        )
    };
    let files = json_arg(args, "files")
        .map_err(|()| bad_files())?
        .ok_or_else(bad_files)?;
    let entries: Vec<(String, Option<String>)> = files
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(bad_files)?
        .iter()
        .map(|f| {
            let id = f["id"].as_str().ok_or_else(bad_files)?;
            Ok((id.to_owned(), f["title"].as_str().map(str::to_owned)))
        })
        .collect::<Result<_, ApiError>>()?;
    let channels: Vec<String> = match (str_arg(args, "channel_id"), str_arg(args, "channels")) {
        (Some(c), _) => vec![c],
        (None, Some(list)) => list.split(',').map(|c| c.trim().to_owned()).collect(),
        (None, None) => Vec::new(),
    };
    for c in &channels {
        check_channel(inner, Some(c))?;
    }
    // Check every file before changing any: the call succeeds or fails as a whole.
    for (id, _) in &entries {
        let file = inner
            .state
            .files
            .iter()
            .find(|f| f.id == *id)
            .ok_or_else(|| ApiError::new("file_not_found"))?;
        match &file.bytes {
            // Not Slack's documented behaviour: this fake's own check (messaging.md §1f).
            None => {
                return Err(ApiError::explained(
                    "file_not_uploaded",
                    vec![format!("[ERROR] nothing was POSTed to the upload URL of {id}")],
                ));
            }
            Some(b) if b.len() as u64 != file.length => {
                return Err(ApiError::explained(
                    "file_size_mismatch",
                    vec![format!(
                        "[ERROR] {id}: {} bytes uploaded, length said {}",
                        b.len(),
                        file.length
                    )],
                ));
            }
            Some(_) => {}
        }
    }
    let thread_ts = str_arg(args, "thread_ts");
    let comment = str_arg(args, "initial_comment");
    let mut out = Vec::new();
    for (id, title) in entries {
        let f = inner
            .state
            .files
            .iter_mut()
            .find(|f| f.id == id)
            .expect("checked above");
        f.title = title.or_else(|| f.title.clone());
        f.channel = channels.first().cloned();
        f.thread_ts.clone_from(&thread_ts);
        f.initial_comment.clone_from(&comment);
        f.completed = true;
        out.push(json!({
            "id": f.id,
            "name": f.filename,
            "title": f.title.clone().unwrap_or_else(|| f.filename.clone()),
            "mimetype": f.content_type.clone().unwrap_or_else(|| "application/octet-stream".into()),
            "size": f.length,
            "user": BOT_USER_ID,
            "is_public": !channels.is_empty(),
        }));
    }
    Ok(json!({ "files": out }))
}

// ---------------------------------------------------------------------------------------
// The upload URL and response_url targets (plain HTTP, no token)

fn plain(status: StatusCode, text: String) -> Response {
    let mut resp = (status, text).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn record_plain(inner: &mut Inner, method: &str, at: Instant, status: StatusCode, error: Option<&str>, args: Args) {
    inner.state.calls.push(Call {
        method: method.to_owned(),
        http_method: "POST".to_owned(),
        at,
        status: status.as_u16(),
        error: error.map(str::to_owned),
        args,
    });
}

/// Step 2 of the upload: the bytes, raw or as `multipart/form-data` (the part named
/// `filename` or `file`, or the only part). Answers `OK - <size>` as Slack does.
async fn upload(
    State(shared): State<Arc<Shared>>,
    Path(file_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let at = Instant::now();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // `None`: a multipart body without a file part.
    let upload = match content_type.as_deref().and_then(multipart_boundary) {
        Some(boundary) => pick_file_part(&body, &boundary).map(|part| (part.content, part.content_type)),
        None => Some((body.to_vec(), content_type.clone())),
    };
    let size = upload.as_ref().map_or(0, |(b, _)| b.len());
    let mut inner = shared.lock();
    let args = Args::from_iter([("file_id".to_owned(), Value::String(file_id.clone()))]);
    let file = inner.state.files.iter_mut().find(|f| f.id == file_id);
    let (status, error) = match (file, upload) {
        (None, _) => (StatusCode::NOT_FOUND, Some("file_not_found")),
        (Some(_), None) => (StatusCode::BAD_REQUEST, Some("no_file_part")),
        (Some(f), Some((bytes, part_type))) => {
            f.bytes = Some(bytes);
            f.content_type = part_type;
            (StatusCode::OK, None)
        }
    };
    record_plain(&mut inner, "upload", at, status, error, args);
    drop(inner);
    shared.changed.notify_waiters();
    match error {
        None => plain(status, format!("OK - {size}")),
        Some(e) => plain(status, e.to_owned()),
    }
}

/// A `response_url`: JSON message bodies, 5 uses in 30 minutes. The error codes and
/// statuses for used-up, expired and unknown URLs are this fake's own (Slack does not
/// document them); bad payloads answer 400 with a plain-text code, as incoming webhooks do.
async fn respond(State(shared): State<Arc<Shared>>, Path(id): Path<String>, body: Bytes) -> Response {
    let at = Instant::now();
    let url = format!("{}/response/{id}", shared.root);
    let payload: Option<Value> = serde_json::from_slice(&body).ok();
    let mut inner = shared.lock();
    let (status, error) = answer_response(&mut inner, &id, payload.as_ref());
    let p = payload.clone().unwrap_or(Value::Null);
    inner.state.responses.push(ResponsePost {
        url,
        at,
        status: status.as_u16(),
        accepted: error.is_none(),
        response_type: p["response_type"].as_str().map(str::to_owned),
        replace_original: p["replace_original"].as_bool().unwrap_or(false),
        delete_original: p["delete_original"].as_bool().unwrap_or(false),
        text: p["text"].as_str().map(str::to_owned),
        blocks: p.get("blocks").cloned(),
        body: p,
    });
    let args = Args::from_iter([("id".to_owned(), Value::String(id))]);
    record_plain(&mut inner, "response_url", at, status, error, args);
    drop(inner);
    shared.changed.notify_waiters();
    match error {
        None => {
            let mut resp = (StatusCode::OK, json!({ "ok": true }).to_string()).into_response();
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            resp
        }
        Some(e) => plain(status, e.to_owned()),
    }
}

fn answer_response(inner: &mut Inner, id: &str, payload: Option<&Value>) -> (StatusCode, Option<&'static str>) {
    let Some(url) = inner.response_urls.get_mut(id) else {
        return (StatusCode::NOT_FOUND, Some("no_such_url"));
    };
    if url.expired || url.created.elapsed() > RESPONSE_URL_LIFETIME {
        return (StatusCode::NOT_FOUND, Some("expired_url"));
    }
    if url.uses >= RESPONSE_URL_USES {
        return (StatusCode::NOT_FOUND, Some("used_url"));
    }
    url.uses += 1;
    let original = url.original.clone();
    let Some(Value::Object(p)) = payload else {
        return (StatusCode::BAD_REQUEST, Some("invalid_payload"));
    };
    let delete = p.get("delete_original").and_then(Value::as_bool).unwrap_or(false);
    let (text, blocks) = match content(p, !delete) {
        Ok(c) => c,
        Err(e) => return (StatusCode::BAD_REQUEST, Some(e.code)),
    };
    let replace = p.get("replace_original").and_then(Value::as_bool).unwrap_or(false);
    if let Some((channel, ts)) = original
        && (replace || delete)
        && let Some(m) = inner
            .state
            .messages
            .iter_mut()
            .find(|m| m.channel == channel && m.ts == ts)
    {
        if delete {
            m.deleted = true;
        } else {
            apply_update(m, "response_url", text, blocks);
        }
    }
    (StatusCode::OK, None)
}

fn multipart_boundary(content_type: &str) -> Option<String> {
    let mut parts = content_type.split(';');
    if !parts.next()?.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    parts.find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.eq_ignore_ascii_case("boundary")
            .then(|| v.trim_matches('"').to_owned())
    })
}

struct Part {
    name: Option<String>,
    content_type: Option<String>,
    content: Vec<u8>,
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The parts of a `multipart/form-data` body (RFC 7578), `None` if it is malformed.
fn multipart_parts(body: &[u8], boundary: &str) -> Option<Vec<Part>> {
    let delimiter = format!("--{boundary}").into_bytes();
    let next_delimiter = [b"\r\n".as_slice(), &delimiter].concat();
    let mut pos = find(body, &delimiter, 0)? + delimiter.len();
    let mut parts = Vec::new();
    loop {
        if body.get(pos..pos + 2)? == b"--" {
            return Some(parts);
        }
        pos += 2; // CRLF after the delimiter
        let end = find(body, &next_delimiter, pos)?;
        let part = &body[pos..end];
        let split = find(part, b"\r\n\r\n", 0)?;
        let head = String::from_utf8_lossy(&part[..split]);
        let mut name = None;
        let mut content_type = None;
        for line in head.split("\r\n") {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            if key.trim().eq_ignore_ascii_case("content-disposition") {
                name = value.split(';').find_map(|p| {
                    let (k, v) = p.trim().split_once('=')?;
                    (k == "name").then(|| v.trim_matches('"').to_owned())
                });
            } else if key.trim().eq_ignore_ascii_case("content-type") {
                content_type = Some(value.trim().to_owned());
            }
        }
        parts.push(Part {
            name,
            content_type,
            content: part[split + 4..].to_vec(),
        });
        pos = end + next_delimiter.len();
    }
}

fn pick_file_part(body: &[u8], boundary: &str) -> Option<Part> {
    let mut parts = multipart_parts(body, boundary)?;
    let named = parts
        .iter()
        .position(|p| matches!(p.name.as_deref(), Some("filename" | "file")));
    match named {
        Some(i) => Some(parts.swap_remove(i)),
        None if parts.len() == 1 => parts.pop(),
        None => None,
    }
}
