//! The durable job queue in PostgreSQL; owns `jobs`.
//!
//! A job is a row inserted by [`enqueue`] inside the transaction of the change that causes
//! it (an order placed → its e-mail): a rolled-back change leaves no job, a committed one is
//! never forgotten. Workers ([`worker`]) take due jobs with `FOR UPDATE SKIP LOCKED` under a
//! lease, retry failures with exponential backoff up to `max_attempts`, and keep the last
//! error of a failed job for staff (`jobs`, `jobRetry`). Schedules ([`schedule`]) enqueue a
//! job per period under a unique key, so several workers never run one period twice.
//!
//! Why not apalis: its PostgreSQL backend is built on sqlx 0.8 (Jangteo is on 0.9), so its
//! connection type is not ours and it cannot insert inside our transaction; the 1.0 line
//! that may is still a release candidate. The queue here is one table and three statements.

pub mod dormant;
pub mod handlers;
pub mod schedule;
pub mod worker;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use crate::{Error, ids::JobId, pagination::Page};

/// Where a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::EnumString, strum::IntoStaticStr, strum::EnumIter)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum JobState {
    /// Waiting for its `run_at` and a free worker (also between retries).
    Queued,
    /// A worker holds it under a lease.
    Running,
    /// Ran to completion.
    Done,
    /// Out of attempts, or failed for good; its last error is kept.
    Failed,
}

impl JobState {
    /// The database and wire form, e.g. `QUEUED`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// A job as staff see it.
#[derive(Clone, Debug)]
pub struct Job {
    /// Its id.
    pub id: JobId,
    /// What it does, e.g. `notify.order`.
    pub kind: String,
    /// Its arguments.
    pub payload: Value,
    /// Where it is.
    pub state: JobState,
    /// How many times a worker took it.
    pub attempts: i32,
    /// After this many failed attempts it stays `FAILED`.
    pub max_attempts: i32,
    /// The last failure, if any.
    pub last_error: Option<String>,
    /// When it runs (next).
    pub run_at: DateTime<Utc>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When it finished (done or failed for good).
    pub finished_at: Option<DateTime<Utc>>,
}

/// A job to enqueue.
#[derive(Clone, Debug)]
pub struct NewJob {
    /// What it does: one of [`handlers::KINDS`].
    pub kind: &'static str,
    /// Its arguments (ids, never personal data a handler can look up itself).
    pub payload: Value,
    /// Not before (default: now).
    pub run_at: Option<DateTime<Utc>>,
    /// At most one job with this key, ever (a schedule's period, "once per cart").
    pub dedup_key: Option<String>,
    /// Attempts before it stays `FAILED` (default 8).
    pub max_attempts: i32,
}

impl NewJob {
    /// A job of `kind` with `payload`, due now, 8 attempts.
    pub fn new(kind: &'static str, payload: Value) -> NewJob {
        NewJob {
            kind,
            payload,
            run_at: None,
            dedup_key: None,
            max_attempts: 8,
        }
    }

    /// Not before `at`.
    #[must_use]
    pub fn at(mut self, at: DateTime<Utc>) -> NewJob {
        self.run_at = Some(at);
        self
    }

    /// Once per `key`.
    #[must_use]
    pub fn once(mut self, key: impl Into<String>) -> NewJob {
        self.dedup_key = Some(key.into());
        self
    }
}

/// Enqueues `job` inside the caller's transaction; `None` when a job with its dedup key
/// exists already (the period ran, the reminder went).
pub async fn enqueue(conn: &mut PgConnection, job: NewJob) -> Result<Option<JobId>, Error> {
    let id = JobId::generate();
    let inserted = sqlx::query_scalar!(
        r#"INSERT INTO jobs (id, kind, payload, run_at, dedup_key, max_attempts)
           VALUES ($1, $2, $3, COALESCE($4, now()), $5, $6)
           ON CONFLICT (dedup_key) DO NOTHING
           RETURNING id AS "id: JobId""#,
        id as JobId,
        job.kind,
        job.payload,
        job.run_at,
        job.dedup_key,
        job.max_attempts,
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(inserted)
}

/// What `jobs(filter:)` narrows to.
#[derive(Clone, Debug, Default)]
pub struct JobFilter {
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// Only jobs of this kind.
    pub kind: Option<String>,
}

/// A `jobs` row as both listings read it.
struct JobRow {
    id: JobId,
    kind: String,
    payload: Value,
    state: String,
    attempts: i32,
    max_attempts: i32,
    last_error: Option<String>,
    run_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

impl JobRow {
    fn into_job(self) -> Result<Job, Error> {
        let state = self.state.parse().map_err(|_| Error::Fault {
            what: "jobs",
            reason: format!("unknown state {}", self.state),
        })?;
        Ok(Job {
            id: self.id,
            kind: self.kind,
            payload: redact(self.payload),
            state,
            attempts: self.attempts,
            max_attempts: self.max_attempts,
            last_error: self.last_error,
            run_at: self.run_at,
            created_at: self.created_at,
            finished_at: self.finished_at,
        })
    }
}

/// Staff see a job's arguments without secrets (a password-reset link's token).
fn redact(mut payload: Value) -> Value {
    if let Some(obj) = payload.as_object_mut()
        && obj.contains_key("secret")
    {
        obj.insert("secret".into(), Value::String("[redacted]".into()));
    }
    payload
}

/// Jobs newest first, a page at a time (`first` ≤ 100, keyset on `created_at, id`).
/// Errors: `INVALID_CURSOR`.
pub async fn list(
    pool: &PgPool,
    by: crate::staff::Principal,
    first: u32,
    after: Option<&str>,
    filter: &JobFilter,
    want_total: bool,
) -> Result<Page<Job>, Error> {
    by.require(crate::staff::Permission::ManageJobs, "list jobs")?;
    let after = after.map(JobId::from_cursor).transpose()?;
    let mut conn = pool.acquire().await?;
    let rows = sqlx::query_as!(
        JobRow,
        r#"SELECT id AS "id: JobId", kind, payload, state, attempts, max_attempts, last_error, run_at,
                  created_at, finished_at
             FROM jobs
            WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR kind = $2)
              AND ($3::uuid IS NULL OR id < $3)
            ORDER BY id DESC LIMIT $4"#,
        filter.state.map(JobState::as_str),
        filter.kind.as_deref(),
        after.map(|a| a.0),
        i64::from(first) + 1,
    )
    .fetch_all(&mut *conn)
    .await?;
    let total = if want_total {
        Some(
            sqlx::query_scalar!(
                r#"SELECT count(*) AS "n!" FROM jobs WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR kind = $2)"#,
                filter.state.map(JobState::as_str),
                filter.kind.as_deref(),
            )
            .fetch_one(&mut *conn)
            .await?,
        )
    } else {
        None
    };
    let jobs = rows.into_iter().map(JobRow::into_job).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::from_rows(jobs, first, total, |j| {
        let cursor = j.id.to_string();
        (j, cursor)
    }))
}

impl JobId {
    /// A job's cursor is its id (v7: time-ordered like `created_at`). `INVALID_CURSOR`.
    fn from_cursor(s: &str) -> Result<JobId, Error> {
        s.parse().map_err(|_| Error::InvalidCursor)
    }
}

/// One job. Errors: `NOT_FOUND`.
pub async fn get(pool: &PgPool, id: JobId) -> Result<Job, Error> {
    sqlx::query_as!(
        JobRow,
        r#"SELECT id AS "id: JobId", kind, payload, state, attempts, max_attempts, last_error, run_at,
                  created_at, finished_at
             FROM jobs WHERE id = $1"#,
        id as JobId,
    )
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound { what: "job" })?
    .into_job()
}

/// Puts a `FAILED` job back in the queue, due now, with a fresh set of attempts (staff
/// fixed what made it fail: a provider key, an address). Errors: `NOT_FOUND`,
/// `INVALID_INPUT` when it has not failed (a queued or running job needs no retry, a done
/// one must not run twice), `FORBIDDEN` (OWNER and MANAGER only). Audited.
pub async fn retry(pool: &PgPool, by: crate::staff::Principal, id: JobId, ip: Option<&str>) -> Result<Job, Error> {
    by.require(crate::staff::Permission::ManageJobs, "retry jobs")?;
    let moved = sqlx::query_scalar!(
        r#"WITH r AS (
               UPDATE jobs SET state = 'QUEUED', attempts = 0, run_at = now(), finished_at = NULL, updated_at = now()
                WHERE id = $1 AND state = 'FAILED' RETURNING id)
           SELECT pg_notify('jangteo_jobs', '')::text FROM r"#,
        id as JobId,
    )
    .fetch_optional(pool)
    .await?;
    if moved.is_some() {
        let mut conn = pool.acquire().await?;
        crate::staff::audit::audit(&mut conn, by, "job.retry", &id.to_string(), serde_json::json!({}), ip).await?;
    } else {
        let job = get(pool, id).await?;
        return Err(Error::Invalid {
            field: "id",
            reason: format!("only a failed job can be retried; this one is {}", job.state.as_str()),
        });
    }
    get(pool, id).await
}
