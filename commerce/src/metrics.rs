//! What the core counts for Prometheus, through the `metrics` facade: orders placed,
//! gateway payments, login failures and locks, jobs run; and the job counts read at scrape
//! time. Every name and label value is here, so the set stays bounded and documented (the
//! README's "Metrics" lists them). The `jangteo` binary installs the recorder; without one
//! (tests of the core, `metrics.enabled = false`) the counters are no-ops.
//!
//! Label values are `&'static str` (closed sets), never text from a request.

use sqlx::PgPool;

use crate::{Error, jobs::handlers::KINDS, payment::Provider};

/// Counter: orders committed at checkout, by `channel` (`PC_WEB`, `MOBILE_WEB`, `APP`,
/// `EXTERNAL`).
pub const ORDERS_PLACED: &str = "jangteo_orders_placed_total";
/// Counter: gateway answers applied to orders (`paymentConfirm` and webhooks), by
/// `provider` and `result` (`PAID`, `AWAITING_DEPOSIT`, `NOT_PAID`, `AMOUNT_MISMATCH`,
/// `NOT_PAYABLE`, `DECLINED`, `FAILED`). A repeat of an answer already applied is not
/// counted again.
pub const PAYMENTS: &str = "jangteo_payments_total";
/// Counter: failed password or code checks, by `scope` (`customer`, `staff`).
pub const LOGIN_FAILURES: &str = "jangteo_login_failures_total";
/// Counter: logins refused unchecked by a throttling lock, by `scope` and `lock`
/// (`account_and_address`, `account`, `address`).
pub const LOGIN_LOCKED: &str = "jangteo_login_locked_total";
/// Counter: job runs ended by this process's worker, by `kind` and `result` (`done`,
/// `retry`: failed and queued again, `failed`: failed for good).
pub const JOBS_FINISHED: &str = "jangteo_jobs_finished_total";

/// Says what each counter means to whoever scrapes (`# HELP` lines). Called once by the
/// binary after it installs the recorder.
pub fn describe() {
    metrics::describe_counter!(ORDERS_PLACED, "Orders placed at checkout, by sales channel");
    metrics::describe_counter!(
        PAYMENTS,
        "Gateway payment answers applied to orders, by provider and result"
    );
    metrics::describe_counter!(LOGIN_FAILURES, "Failed customer and staff login checks");
    metrics::describe_counter!(LOGIN_LOCKED, "Logins refused by a throttling lock, by lock");
    metrics::describe_counter!(JOBS_FINISHED, "Job runs ended by this worker, by kind and result");
}

/// An order was committed through `channel` (as stored on the cart).
pub(crate) fn order_placed(channel: &str) {
    let channel = match channel {
        "PC_WEB" => "PC_WEB",
        "MOBILE_WEB" => "MOBILE_WEB",
        "APP" => "APP",
        "EXTERNAL" => "EXTERNAL",
        _ => "OTHER",
    };
    metrics::counter!(ORDERS_PLACED, "channel" => channel).increment(1);
}

/// A gateway's answer about a payment was applied with `result`.
pub(crate) fn payment(provider: Provider, result: &'static str) {
    metrics::counter!(PAYMENTS, "provider" => provider.as_str(), "result" => result).increment(1);
}

/// A login check failed.
pub(crate) fn login_failed(scope: &'static str) {
    metrics::counter!(LOGIN_FAILURES, "scope" => scope).increment(1);
}

/// A login was refused by a lock before any check.
pub(crate) fn login_locked(scope: &'static str, lock: &'static str) {
    metrics::counter!(LOGIN_LOCKED, "scope" => scope, "lock" => lock).increment(1);
}

/// A run of a job of `kind` ended with `result` (`done`, `retry`, `failed`).
pub(crate) fn job_finished(kind: &str, result: &'static str) {
    metrics::counter!(JOBS_FINISHED, "kind" => job_kind(kind), "result" => result).increment(1);
}

/// `kind` as one of the known kinds (a `'static` label), `other` for anything else (a job
/// left by a newer release).
pub fn job_kind(kind: &str) -> &'static str {
    KINDS.iter().find(|k| **k == kind).copied().unwrap_or("other")
}

/// Jobs in one state, of one kind, at scrape time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobCount {
    /// One of the known kinds, or `other`.
    pub kind: &'static str,
    /// `queued` (also waiting to retry), `running` or `failed` (kept for staff).
    pub state: &'static str,
    /// How many.
    pub count: i64,
}

/// The states counted by [`job_counts`], as labelled.
pub const JOB_STATES: [&str; 3] = ["queued", "running", "failed"];

/// Jobs queued, running and failed per kind, every known kind listed (zeros too, so a
/// series drops to 0 instead of vanishing). One statement over the state index; done jobs
/// are not read. Errors: `INTERNAL` (the database).
pub async fn job_counts(pool: &PgPool) -> Result<Vec<JobCount>, Error> {
    let rows = sqlx::query!(
        r#"SELECT kind, state, count(*) AS "count!" FROM jobs
            WHERE state IN ('QUEUED', 'RUNNING', 'FAILED') GROUP BY kind, state"#
    )
    .fetch_all(pool)
    .await?;
    let mut counts: Vec<JobCount> = KINDS
        .iter()
        .chain(std::iter::once(&"other"))
        .flat_map(|&kind| JOB_STATES.iter().map(move |&state| JobCount { kind, state, count: 0 }))
        .collect();
    for r in rows {
        let state = match r.state.as_str() {
            "QUEUED" => "queued",
            "RUNNING" => "running",
            _ => "failed",
        };
        let kind = job_kind(&r.kind);
        if let Some(c) = counts.iter_mut().find(|c| c.kind == kind && c.state == state) {
            c.count += r.count;
        }
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_kinds_are_the_known_ones_or_other() {
        assert_eq!(job_kind("orders.expire"), "orders.expire");
        assert_eq!(job_kind("something.new"), "other");
        assert!(KINDS.iter().all(|k| job_kind(k) == *k));
    }
}
