//! The Sentry relay: `POST /sentry/webhook` takes Sentry's integration webhooks (DESIGN.md §5,
//! messaging.md §2) and turns them into Slack messages, one per Sentry issue or metric alert,
//! with repeats threaded under it and the message updated when the issue is resolved or muted.
//!
//! - The signature (`Sentry-Hook-Signature`, hex HMAC-SHA256 of the raw body keyed with
//!   `sentry.client_secret`) is checked before anything parses the body; no secret, no
//!   signature or a wrong one → 401 and nothing is posted.
//! - The handler answers within Sentry's second: it only queues the work. One worker task
//!   (see `worker`) handles deliveries in order; replays of a `Request-ID` are dropped.
//! - Routes: `sentry.routes`, the first match by project, environment and lowest level wins,
//!   else `bot.alert_channel`. At most `sentry.max_per_minute` new messages per route per
//!   minute (0: no limit); the rest become one "N more events" summary when the minute is
//!   over. In `sentry.quiet_hours` (Seoul unless `tz` says otherwise) everything below
//!   `fatal` is held and posted as one digest per channel when they end. Updates
//!   (resolved, muted) notify no one and are never held.
//!
//! The relay sees Slack and the thread store only through [`Poster`] and [`Threads`]: the bot
//! implements them over the Slack Web API and the admin API's `botThread(key)` /
//! `botThreadSave(key, channel, ts)`; [`memory`] has in-memory ones for tests.
//!
//! Settings live in `crate::settings` under `[sentry]` (re-exported here):
//! [`SentrySettings`] `{ client_secret, routes, max_per_minute, quiet_hours }`.
//!
//! Wiring, in the bot's `http` mode:
//! ```text
//! let relay = SentryRelay::builder(&settings.sentry, settings.bot.alert_channel.clone())
//!     .start(slack_poster, api_threads); // a tokio runtime must be running
//! let app = bot_router.merge(sentry_relay::routes(relay));
//! ```

pub mod memory;
mod render;
mod wire;
mod worker;

use std::{
    collections::{HashSet, VecDeque},
    fmt::Write as _,
    future::Future,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::{HeaderMap, StatusCode},
    routing::post,
};
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::{mpsc, oneshot};

pub use crate::settings::{QuietHours, SentryLevel, SentryRoute, SentrySettings};

/// A message to post: `chat.postMessage`.
#[derive(Clone, Debug, PartialEq)]
pub struct PostMessage {
    /// The channel id.
    pub channel: String,
    /// The fallback text (notifications).
    pub text: String,
    /// Block Kit blocks (a JSON array's items).
    pub blocks: Vec<Value>,
    /// The root message's `ts` when this is a threaded reply.
    pub thread_ts: Option<String>,
}

/// A message to rewrite in place: `chat.update`.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageUpdate {
    /// The channel id.
    pub channel: String,
    /// The message's `ts`.
    pub ts: String,
    /// The new fallback text.
    pub text: String,
    /// The new blocks.
    pub blocks: Vec<Value>,
}

/// Why Slack did not take a message.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// Slack answered `{ok: false, error}`; the code, e.g. `channel_not_found`.
    #[error("Slack refused: {0}")]
    Slack(String),
    /// Slack answered 429 and the poster gave up waiting.
    #[error("Slack rate limit (retry after {0:?})")]
    RateLimited(Duration),
    /// Slack could not be reached or answered something unreadable.
    #[error("cannot reach Slack: {0}")]
    Transport(String),
}

/// Why the thread store failed.
#[derive(Debug, thiserror::Error)]
pub enum ThreadsError {
    /// The admin API refused or could not be reached.
    #[error("admin API: {0}")]
    Api(String),
}

/// Posts and updates Slack messages. Implementations honour Slack's `Retry-After` themselves.
pub trait Poster: Send + Sync + 'static {
    /// Posts `message` and returns its `ts`.
    fn post(&self, message: PostMessage) -> impl Future<Output = Result<String, PostError>> + Send;
    /// Rewrites a posted message.
    fn update(&self, update: MessageUpdate) -> impl Future<Output = Result<(), PostError>> + Send;
}

/// Where a Sentry issue's Slack message is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlackThread {
    /// The channel id.
    pub channel: String,
    /// The root message's `ts`.
    pub ts: String,
}

/// The Slack message of each Sentry issue, kept by the service (`botThread`, `botThreadSave`)
/// so that every bot replica threads under the same one.
pub trait Threads: Send + Sync + 'static {
    /// The thread saved under `key` (`sentry:<issue id>`, `sentry-metric:<alert id>`).
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<SlackThread>, ThreadsError>> + Send;
    /// Saves `thread` under `key` unless one is saved already, and returns the one kept: the
    /// first writer wins.
    fn save(&self, key: &str, thread: SlackThread) -> impl Future<Output = Result<SlackThread, ThreadsError>> + Send;
}

/// The time, injectable so tests can move it.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The largest body taken; Sentry's event payloads with stack traces stay well below.
pub const MAX_BODY: usize = 1024 * 1024;
/// Deliveries waiting for the worker before new ones are refused with 503.
const QUEUE: usize = 1024;
/// `Request-ID`s remembered for replays.
const SEEN: usize = 10_000;

/// A running relay: the webhook's state. Cheap to clone; the worker stops when the last
/// clone is dropped (holds of quiet hours are lost then).
#[derive(Clone)]
pub struct SentryRelay {
    shared: Arc<Shared>,
}

struct Shared {
    secret: Option<SecretString>,
    jobs: mpsc::Sender<worker::Job>,
    seen: Mutex<RecentIds>,
}

/// Sets up a relay; see [`SentryRelay::builder`].
pub struct RelayBuilder {
    settings: SentrySettings,
    fallback: Option<String>,
    clock: Arc<dyn Clock>,
    tick_every: Option<Duration>,
}

impl RelayBuilder {
    /// Uses `clock` instead of the system clock.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How often ended rate-limit windows and quiet hours are checked without a delivery
    /// (default 5 s; `None`: only on deliveries and [`SentryRelay::tick`], as tests want).
    #[must_use]
    pub fn tick_every(mut self, every: Option<Duration>) -> Self {
        self.tick_every = every;
        self
    }

    /// Starts the worker on the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn start<P: Poster, T: Threads>(self, poster: P, threads: T) -> SentryRelay {
        let (tx, rx) = mpsc::channel(QUEUE);
        let core = worker::Core::new(&self.settings, self.fallback, poster, threads, self.clock);
        tokio::spawn(core.run(rx, self.tick_every));
        if self.settings.client_secret.is_none() {
            tracing::warn!("sentry.client_secret is not set: every Sentry webhook is refused");
        }
        SentryRelay {
            shared: Arc::new(Shared {
                secret: self.settings.client_secret,
                jobs: tx,
                seen: Mutex::new(RecentIds::default()),
            }),
        }
    }
}

impl SentryRelay {
    /// A relay with `settings`, sending what no route takes to `fallback_channel`
    /// (`bot.alert_channel`).
    pub fn builder(settings: &SentrySettings, fallback_channel: Option<String>) -> RelayBuilder {
        RelayBuilder {
            settings: settings.clone(),
            fallback: fallback_channel,
            clock: Arc::new(SystemClock),
            tick_every: Some(Duration::from_secs(5)),
        }
    }

    /// Posts the summaries of ended rate-limit windows and the digest of ended quiet hours
    /// now, after everything queued before; returns when done.
    pub async fn tick(&self) {
        let (tx, rx) = oneshot::channel();
        if self.shared.jobs.send(worker::Job::Tick(Some(tx))).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Returns once every delivery accepted so far has been handled.
    pub async fn settle(&self) {
        let (tx, rx) = oneshot::channel();
        if self.shared.jobs.send(worker::Job::Barrier(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

/// `POST /sentry/webhook`, to merge into the bot's HTTP router.
pub fn routes(relay: SentryRelay) -> Router {
    Router::new()
        .route("/sentry/webhook", post(webhook))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(relay)
}

async fn webhook(State(relay): State<SentryRelay>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let Some(secret) = &relay.shared.secret else {
        return StatusCode::UNAUTHORIZED;
    };
    if !verify(
        secret.expose_secret().as_bytes(),
        header("sentry-hook-signature"),
        &body,
    ) {
        tracing::info!("Sentry webhook with a missing or wrong signature refused");
        return StatusCode::UNAUTHORIZED;
    }
    let request_id = header("request-id").map(str::to_owned);
    if let Some(id) = &request_id
        && !relay
            .shared
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id)
    {
        tracing::debug!(request_id = %id, "Sentry webhook replayed: already handled");
        return StatusCode::OK;
    }
    let resource = header("sentry-hook-resource").unwrap_or("");
    let notice = match wire::parse(resource, &body) {
        Ok(Some(notice)) => notice,
        Ok(None) => return StatusCode::OK,
        Err(e) => {
            tracing::warn!(resource, error = %e, "Sentry webhook not understood");
            return StatusCode::BAD_REQUEST;
        }
    };
    match relay.shared.jobs.try_send(worker::Job::Deliver(Box::new(notice))) {
        Ok(()) => StatusCode::OK,
        Err(e) => {
            // Let a redelivery through: this one was not handled.
            if let Some(id) = &request_id {
                relay
                    .shared
                    .seen
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(id);
            }
            tracing::warn!(error = %e, "Sentry relay queue full or stopped: delivery refused");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

/// Whether `signature` (hex) is the HMAC-SHA256 of `body` under `secret`; constant-time.
pub fn verify(secret: &[u8], signature: Option<&str>, body: &[u8]) -> bool {
    let Some(given) = signature.and_then(|s| crate::verify::hex_decode(s.trim())) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// The `Sentry-Hook-Signature` Sentry sends with `body` (for tests and fakes).
///
/// # Panics
/// Never: HMAC takes keys of any length.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    let mut hex = String::with_capacity(64);
    for b in mac.finalize().into_bytes() {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// The last [`SEEN`] ids, oldest forgotten first.
#[derive(Default)]
struct RecentIds {
    order: VecDeque<String>,
    set: HashSet<String>,
}

impl RecentIds {
    /// `false` if `id` was seen already.
    fn insert(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        if self.order.len() >= SEEN
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        self.order.push_back(id.to_owned());
        self.set.insert(id.to_owned());
        true
    }

    fn remove(&mut self, id: &str) {
        if self.set.remove(id) {
            self.order.retain(|x| x != id);
        }
    }
}

#[cfg(test)]
mod tests;
