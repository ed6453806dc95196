//! The worker: takes due jobs under a lease and runs them; owns `workers` and the
//! `RUNNING` side of `jobs`.
//!
//! - A job is claimed with `FOR UPDATE SKIP LOCKED` (two workers never take one job) and
//!   held under a lease that a heartbeat extends while it runs. A worker killed with
//!   `kill -9` stops extending it; once it has passed, another worker takes the job again.
//! - Every end of a job (done, retry, failed) names the worker that holds it, so a worker
//!   that lost its lease (paused, partitioned) cannot overwrite what the new holder did.
//! - Shutdown: no new claims; jobs in flight get `shutdown_grace`, then go back to the
//!   queue unspent.
//! - Idle workers sleep on `LISTEN jangteo_jobs` (a trigger on `jobs` notifies at commit)
//!   and wake at least every `poll` for retries and scheduled jobs coming due.

use std::{future::Future, sync::Arc, time::Duration};

use chrono::Utc;
use serde::Deserialize;
use serde_json::Value;
use sqlx::{PgPool, postgres::PgListener};
use tokio::{sync::Semaphore, task::JoinSet};

use super::{handlers::Runner, schedule};
use crate::{Error, ids::JobId};

/// How a worker runs (settings `[jobs]`).
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
pub struct JobSettings {
    /// Jobs one worker runs at once.
    pub concurrency: usize,
    /// Seconds a claimed job is held without a heartbeat: after a crash, it runs again this
    /// long after the worker's last heartbeat.
    pub lease_secs: u64,
    /// Seconds before the first retry; each further one waits twice as long (up to an hour).
    pub retry_base_secs: u64,
    /// Seconds jobs in flight may take to finish at shutdown before they go back to the queue.
    pub shutdown_grace_secs: u64,
    /// Seconds an idle worker sleeps at most between looks at the queue.
    pub poll_secs: u64,
    /// Days finished jobs are kept (failed ones are kept until retried or this old).
    pub keep_days: i64,
}

/// A job a worker holds.
#[derive(Clone, Debug)]
pub struct Claimed {
    /// Its id.
    pub id: JobId,
    /// Its kind.
    pub kind: String,
    /// Its arguments.
    pub payload: Value,
    /// This attempt's number (1 for the first).
    pub attempt: i32,
    /// Attempts before it fails for good.
    pub max_attempts: i32,
}

/// Why a job did not complete.
#[derive(Debug)]
pub enum JobFailure {
    /// Worth another attempt later (a provider down, a timeout).
    Retry(String),
    /// Will fail the same way every time (bad arguments, an unknown kind).
    Permanent(String),
}

impl From<Error> for JobFailure {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound { .. } | Error::Invalid { .. } | Error::InvalidId(_) => {
                JobFailure::Permanent(e.to_string())
            }
            e => JobFailure::Retry(e.to_string()),
        }
    }
}

/// A worker's name in `jobs.locked_by`: host, process and a random part (two workers in one
/// process, as tests run them, differ).
fn worker_id() -> String {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "local".into());
    format!("{host}-{}-{:08x}", std::process::id(), rand_u32())
}

fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    // A name, not a secret: fall back to the clock if the OS has no randomness to give.
    if getrandom::fill(&mut b).is_err() {
        return Utc::now().timestamp_subsec_nanos();
    }
    u32::from_le_bytes(b)
}

/// Runs jobs until `shutdown` resolves, then drains as [`JobSettings`] says. With
/// `schedules`, it also enqueues the schedules' periods (every worker may: their keys make
/// each period one job).
pub async fn run(
    pool: PgPool,
    runner: Arc<Runner>,
    settings: JobSettings,
    schedules: bool,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let me = worker_id();
    sqlx::query!(
        "INSERT INTO workers (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET seen_at = now()",
        me
    )
    .execute(&pool)
    .await?;
    tracing::info!(worker = %me, concurrency = settings.concurrency, "worker started");
    let mut listener = PgListener::connect_with(&pool).await?;
    listener.listen("jangteo_jobs").await?;
    let permits = Arc::new(Semaphore::new(settings.concurrency.max(1)));
    let mut running: JoinSet<()> = JoinSet::new();
    let idle_wait = Duration::from_secs(settings.poll_secs.max(1));
    let mut beat = tokio::time::interval(Duration::from_secs(10));
    let mut last_tick: Option<std::time::Instant> = None;
    tokio::pin!(shutdown);
    loop {
        if schedules && last_tick.is_none_or(|t| t.elapsed() >= Duration::from_secs(15)) {
            last_tick = Some(std::time::Instant::now());
            if let Err(e) = schedule::tick(&pool, Utc::now(), &runner.settings).await {
                tracing::warn!(error = %e, "enqueuing schedules failed");
            }
        }
        // Take as many due jobs as there are free slots.
        let free = permits.available_permits();
        if free > 0 {
            match claim(&pool, &me, free, settings.lease_secs).await {
                Ok(jobs) => {
                    for job in jobs {
                        let Ok(permit) = permits.clone().acquire_owned().await else {
                            break;
                        };
                        let (pool, runner, me, settings) = (pool.clone(), runner.clone(), me.clone(), settings.clone());
                        running.spawn(async move {
                            execute(&pool, &runner, &me, &settings, job).await;
                            drop(permit);
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "claiming jobs failed"),
            }
        }
        tokio::select! {
            () = &mut shutdown => break,
            n = listener.recv() => {
                if let Err(e) = n {
                    tracing::warn!(error = %e, "job notifications interrupted");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
            Some(_) = running.join_next(), if !running.is_empty() => {}
            _ = beat.tick() => {
                let _ = sqlx::query!("UPDATE workers SET seen_at = now() WHERE id = $1", me).execute(&pool).await;
                if let Err(e) = fail_lapsed(&pool).await {
                    tracing::warn!(error = %e, "failing lapsed jobs failed");
                }
            }
            () = tokio::time::sleep(idle_wait) => {}
        }
    }
    tracing::info!(worker = %me, in_flight = running.len(), "worker stopping");
    let grace = Duration::from_secs(settings.shutdown_grace_secs);
    let drained = tokio::time::timeout(grace, async { while running.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        running.abort_all();
        while running.join_next().await.is_some() {}
    }
    // Whatever is still ours goes back unspent: this attempt does not count.
    let back = sqlx::query!(
        "UPDATE jobs SET state = 'QUEUED', locked_until = NULL, locked_by = NULL, attempts = greatest(attempts - 1, 0),
                updated_at = now()
          WHERE locked_by = $1 AND state = 'RUNNING'",
        me
    )
    .execute(&pool)
    .await?;
    sqlx::query!("DELETE FROM workers WHERE id = $1", me)
        .execute(&pool)
        .await?;
    tracing::info!(worker = %me, returned = back.rows_affected(), "worker stopped");
    Ok(())
}

/// Runs due jobs one after another until none is due, as a worker named `me` would; returns
/// how many ran. For tests and `jangteo jobs drain`: the same claim, lease and ending as
/// [`run`], without the waiting.
pub async fn drain(pool: &PgPool, runner: &Runner, settings: &JobSettings) -> Result<usize, Error> {
    let me = format!("drain-{}", worker_id());
    fail_lapsed(pool).await?;
    let mut ran = 0;
    loop {
        let jobs = claim(pool, &me, 1, settings.lease_secs).await?;
        if jobs.is_empty() {
            return Ok(ran);
        }
        for job in jobs {
            execute(pool, runner, &me, settings, job).await;
            ran += 1;
        }
    }
}

/// Jobs whose holder's lease lapsed on their last attempt fail for good instead of running
/// again (claims leave them alone); the worker's heartbeat runs this every few seconds.
async fn fail_lapsed(pool: &PgPool) -> Result<(), Error> {
    sqlx::query!(
        "UPDATE jobs SET state = 'FAILED', locked_until = NULL, locked_by = NULL, finished_at = now(), updated_at = now(),
                last_error = 'the worker running it stopped (crashed or killed) on the last attempt'
          WHERE state = 'RUNNING' AND locked_until < now() AND attempts >= max_attempts"
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Claims up to `n` due jobs, and jobs whose holder's lease has passed with attempts left.
async fn claim(pool: &PgPool, me: &str, n: usize, lease_secs: u64) -> Result<Vec<Claimed>, Error> {
    let lease = f64::from(u32::try_from(lease_secs).unwrap_or(u32::MAX));
    let rows = sqlx::query!(
        r#"UPDATE jobs j
              SET state = 'RUNNING', attempts = j.attempts + 1, locked_by = $2, updated_at = now(),
                  locked_until = now() + make_interval(secs => $3)
            WHERE j.id IN (SELECT id FROM jobs
                            WHERE (state = 'QUEUED' AND run_at <= now())
                               OR (state = 'RUNNING' AND locked_until < now() AND attempts < max_attempts)
                            ORDER BY run_at LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING j.id AS "id: JobId", j.kind, j.payload, j.attempts, j.max_attempts"#,
        i64::try_from(n).unwrap_or(1),
        me,
        lease,
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Claimed {
            id: r.id,
            kind: r.kind,
            payload: r.payload,
            attempt: r.attempts,
            max_attempts: r.max_attempts,
        })
        .collect())
}

/// Runs one job with a heartbeat on its lease, then records how it ended.
async fn execute(pool: &PgPool, runner: &Runner, me: &str, settings: &JobSettings, job: Claimed) {
    let span = tracing::info_span!("job", id = %job.id, kind = %job.kind, attempt = job.attempt);
    let lease = f64::from(u32::try_from(settings.lease_secs).unwrap_or(u32::MAX));
    let heartbeat = async {
        let mut every = tokio::time::interval(Duration::from_secs((settings.lease_secs / 3).max(1)));
        every.tick().await;
        loop {
            every.tick().await;
            let _ = sqlx::query!(
                "UPDATE jobs SET locked_until = now() + make_interval(secs => $3)
                  WHERE id = $1 AND locked_by = $2 AND state = 'RUNNING'",
                job.id as JobId,
                me,
                lease,
            )
            .execute(pool)
            .await;
        }
    };
    let result = tokio::select! {
        r = tracing::Instrument::instrument(runner.run(&job), span.clone()) => r,
        () = heartbeat => unreachable!("the heartbeat never ends"),
    };
    let ended = match result {
        Ok(()) => {
            tracing::info!(parent: &span, "job done");
            crate::metrics::job_finished(&job.kind, "done");
            sqlx::query!(
                "UPDATE jobs SET state = 'DONE', locked_until = NULL, locked_by = NULL, finished_at = now(), updated_at = now(),
                        last_error = NULL,
                        payload = payload - 'secret'
                  WHERE id = $1 AND locked_by = $2 AND state = 'RUNNING'",
                job.id as JobId,
                me,
            )
            .execute(pool)
            .await
        }
        Err(failure) => {
            let (message, permanent) = match failure {
                JobFailure::Retry(m) => (m, false),
                JobFailure::Permanent(m) => (m, true),
            };
            let last = permanent || job.attempt >= job.max_attempts;
            let backoff = backoff_secs(settings.retry_base_secs, job.attempt);
            tracing::warn!(parent: &span, error = %message, retry = !last, "job failed");
            crate::metrics::job_finished(&job.kind, if last { "failed" } else { "retry" });
            sqlx::query!(
                "UPDATE jobs SET locked_until = NULL, locked_by = NULL, updated_at = now(), last_error = left($3, 2000),
                        state = CASE WHEN $4 THEN 'FAILED' ELSE 'QUEUED' END,
                        finished_at = CASE WHEN $4 THEN now() END,
                        run_at = CASE WHEN $4 THEN run_at ELSE now() + make_interval(secs => $5) END
                  WHERE id = $1 AND locked_by = $2 AND state = 'RUNNING'",
                job.id as JobId,
                me,
                message,
                last,
                backoff,
            )
            .execute(pool)
            .await
        }
    };
    if let Err(e) = ended {
        // The lease runs out and the job runs again: handlers are idempotent.
        tracing::warn!(parent: &span, error = %e, "recording the end of a job failed");
    }
}

/// Exponential backoff: `base`, 2×, 4×… seconds after attempts 1, 2, 3…, at most an hour.
pub fn backoff_secs(base: u64, attempt: i32) -> f64 {
    let exp = u32::try_from(attempt.saturating_sub(1)).unwrap_or(0).min(20);
    let secs = base.max(1).saturating_mul(1u64 << exp).min(3600);
    f64::from(u32::try_from(secs).unwrap_or(3600))
}

/// Whether a worker has shown signs of life within two minutes (then `serve` leaves the
/// expiry of unpaid orders to the workers' schedule).
pub async fn any_alive(pool: &PgPool) -> Result<bool, Error> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM workers WHERE seen_at > now() - interval '2 minutes') AS "alive!""#
    )
    .fetch_one(pool)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let b: Vec<f64> = (1..=5).map(|a| backoff_secs(10, a)).collect();
        assert_eq!(b, vec![10.0, 20.0, 40.0, 80.0, 160.0]);
        assert!((backoff_secs(10, 30) - 3600.0).abs() < f64::EPSILON);
        assert!((backoff_secs(0, 1) - 1.0).abs() < f64::EPSILON);
    }
}
