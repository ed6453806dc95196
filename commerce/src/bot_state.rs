//! What the Slack bot keeps through the admin API so that its replicas agree (owns
//! `bot_run_claims`, `bot_threads`): which replica runs a job for a period (the 09:00 daily
//! report, posting an alert), and which Slack thread belongs to a key (a Sentry issue).
//! The bot itself holds no state (DESIGN §7). BOT and OWNER only.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::{
    Error,
    ids::StaffId,
    staff::{Permission, Principal},
};

/// The longest run name or period, in characters.
pub const MAX_CLAIM_CHARS: usize = 100;
/// The longest thread key, in characters.
pub const MAX_THREAD_KEY_CHARS: usize = 200;
/// The longest Slack channel id or message `ts`, in characters.
pub const MAX_SLACK_REF_CHARS: usize = 100;

/// `s` if it has 1 to `max` characters and is not blank; `INVALID_INPUT` on `field`.
fn bounded<'a>(s: &'a str, max: usize, field: &'static str) -> Result<&'a str, Error> {
    if s.trim().is_empty() || s.chars().count() > max {
        return Err(Error::Invalid {
            field,
            reason: format!("1–{max} characters"),
        });
    }
    Ok(s)
}

/// Claims the run `name` for `period` (e.g. `daily-report`, `2026-12-03`): true for
/// exactly one caller per (name, period) ever, false for every other, however many ask at
/// once (one row, inserted if absent). Errors: `FORBIDDEN`, `INVALID_INPUT` (`name`,
/// `period`: 1–100 characters).
pub async fn run_claim(pool: &PgPool, by: Principal, name: &str, period: &str) -> Result<bool, Error> {
    by.require(Permission::BotState, "claim bot runs")?;
    let name = bounded(name, MAX_CLAIM_CHARS, "name")?;
    let period = bounded(period, MAX_CLAIM_CHARS, "period")?;
    let r = sqlx::query!(
        "INSERT INTO bot_run_claims (name, period, claimed_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        name,
        period,
        by.id as StaffId,
    )
    .execute(pool)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// A Slack thread kept under a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BotThread {
    /// The key (e.g. `sentry:<issue id>`).
    pub key: String,
    /// The Slack channel id.
    pub channel: String,
    /// The `ts` of the thread's first message.
    pub ts: String,
    /// When it was first saved.
    pub created_at: DateTime<Utc>,
}

/// The thread kept under `key`, if any. Errors: `FORBIDDEN`, `INVALID_INPUT` (`key`:
/// 1–200 characters).
pub async fn thread(pool: &PgPool, by: Principal, key: &str) -> Result<Option<BotThread>, Error> {
    by.require(Permission::BotState, "read bot threads")?;
    let key = bounded(key, MAX_THREAD_KEY_CHARS, "key")?;
    Ok(sqlx::query_as!(
        BotThread,
        "SELECT key, channel, ts, created_at FROM bot_threads WHERE key = $1",
        key
    )
    .fetch_optional(pool)
    .await?)
}

/// Keeps (`channel`, `ts`) under `key` unless a thread is kept there already; returns the
/// thread kept, so of two replicas saving at once both get the first writer's. Errors:
/// `FORBIDDEN`, `INVALID_INPUT` (`key`: 1–200 characters; `channel`, `ts`: 1–100).
pub async fn thread_save(pool: &PgPool, by: Principal, key: &str, channel: &str, ts: &str) -> Result<BotThread, Error> {
    by.require(Permission::BotState, "save bot threads")?;
    let key = bounded(key, MAX_THREAD_KEY_CHARS, "key")?;
    let channel = bounded(channel, MAX_SLACK_REF_CHARS, "channel")?;
    let ts = bounded(ts, MAX_SLACK_REF_CHARS, "ts")?;
    let mut conn = pool.acquire().await?;
    let inserted = sqlx::query_as!(
        BotThread,
        "INSERT INTO bot_threads (key, channel, ts) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING
         RETURNING key, channel, ts, created_at",
        key,
        channel,
        ts,
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(t) = inserted {
        return Ok(t);
    }
    // A statement of its own: its snapshot sees the row the other writer committed (the
    // INSERT above waited for it, but its own snapshot was taken before).
    sqlx::query_as!(
        BotThread,
        "SELECT key, channel, ts, created_at FROM bot_threads WHERE key = $1",
        key
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound { what: "bot thread" })
}
