//! What each kind of job does. Handlers are idempotent: a job runs again after a crash or
//! a lapsed lease, and what it sent (logged in `messages`) or moved (states repeat their
//! sources in their UPDATE) is not done twice.

use std::sync::Arc;

use chrono::{DateTime, Days, Utc};
use serde_json::{Value, json};
use sqlx::PgPool;

use super::worker::{Claimed, JobFailure};
use crate::{
    Error, SHOP_TZ, Settings,
    ids::StaffId,
    notify::{self, Notifier, marketing},
    shipping::tracking,
    staff::{Principal, Role},
};

/// Expire unpaid orders and virtual accounts (every minute).
pub const EXPIRE_UNPAID: &str = "orders.expire";
/// The daily sales report by e-mail to staff (00:05).
pub const DAILY_SALES_REPORT: &str = "report.daily_sales";
/// Delivery status from Sweet Tracker (hourly).
pub const TRACK_SHIPMENTS: &str = "shipping.track";
/// Purchase confirmed 7 days after delivery (hourly).
pub const AUTO_COMPLETE: &str = "orders.auto_complete";
/// The monthly member-tier evaluation (1st, 03:00).
pub const MEMBER_TIERS: &str = "customers.tiers";
/// The dormant-account policy (daily, off by default).
pub const DORMANT_ACCOUNTS: &str = "customers.dormant";
/// Abandoned-cart reminders (every 10 minutes).
pub const ABANDONED_CARTS: &str = "carts.abandoned";
/// Review requests N days after delivery (daily).
pub const REVIEW_REQUESTS: &str = "reviews.request";
/// Deleting old finished jobs (daily).
pub const PRUNE_JOBS: &str = "jobs.prune";

/// Every kind a worker runs.
pub const KINDS: &[&str] = &[
    EXPIRE_UNPAID,
    DAILY_SALES_REPORT,
    TRACK_SHIPMENTS,
    AUTO_COMPLETE,
    MEMBER_TIERS,
    DORMANT_ACCOUNTS,
    ABANDONED_CARTS,
    REVIEW_REQUESTS,
    PRUNE_JOBS,
    notify::orders::JOB,
    notify::EMAIL_JOB,
    marketing::SEND_JOB,
    marketing::REMIND_JOB,
];

/// What handlers need: the pool, the settings, the providers.
pub struct Runner {
    /// The database.
    pub pool: PgPool,
    /// The settings.
    pub settings: Arc<Settings>,
    /// E-mail and text providers.
    pub notifier: Notifier,
    /// HTTP client for Sweet Tracker.
    pub http: reqwest::Client,
}

impl Runner {
    /// A runner over `pool` with the providers `settings` name. Errors: `INTERNAL` when a
    /// provider's settings are malformed.
    pub fn new(pool: PgPool, settings: Arc<Settings>) -> Result<Runner, Error> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(20))
            .connect_timeout(std::time::Duration::from_secs(5))
            .build()
            .map_err(|e| Error::Fault {
                what: "HTTP client",
                reason: e.to_string(),
            })?;
        let notifier = Notifier::new(settings.clone(), &http).map_err(|e| Error::Fault {
            what: "notifications",
            reason: e.to_string(),
        })?;
        Ok(Runner {
            pool,
            settings,
            notifier,
            http,
        })
    }

    /// Runs `job` once.
    pub async fn run(&self, job: &Claimed) -> Result<(), JobFailure> {
        let pool = &self.pool;
        let s = &self.settings;
        match job.kind.as_str() {
            EXPIRE_UNPAID => {
                let expired = crate::order::expire_unpaid(pool, Utc::now(), s.payments.pending_minutes).await?;
                if !expired.is_empty() {
                    tracing::info!(count = expired.len(), "expired unpaid orders");
                }
                Ok(())
            }
            DAILY_SALES_REPORT => self.daily_report(job).await,
            TRACK_SHIPMENTS => {
                let r = tracking::sync(pool, &self.http, &s.tracking).await?;
                tracing::info!(
                    checked = r.checked,
                    delivered = r.delivered,
                    unknown = r.unknown,
                    "tracking synced"
                );
                Ok(())
            }
            AUTO_COMPLETE => {
                let n = tracking::auto_complete(pool, s.tracking.auto_complete_days).await?;
                if n > 0 {
                    tracing::info!(count = n, "orders completed after delivery");
                }
                Ok(())
            }
            MEMBER_TIERS => {
                let n = marketing::evaluate_tiers(pool, s, period(&job.payload)).await?;
                tracing::info!(changed = n, "member tiers evaluated");
                Ok(())
            }
            DORMANT_ACCOUNTS => {
                let n = super::dormant::apply(pool, &s.customers.dormant).await?;
                tracing::info!(count = n, "dormant accounts");
                Ok(())
            }
            ABANDONED_CARTS => {
                let n = marketing::queue_cart_reminders(pool, s).await?;
                tracing::info!(count = n, "abandoned-cart reminders queued");
                Ok(())
            }
            REVIEW_REQUESTS => {
                let n = marketing::queue_review_requests(pool, s, period(&job.payload)).await?;
                tracing::info!(count = n, "review requests queued");
                Ok(())
            }
            PRUNE_JOBS => {
                let gone = sqlx::query!(
                    "DELETE FROM jobs WHERE state IN ('DONE', 'FAILED') AND finished_at < now() - make_interval(days => $1)",
                    i32::try_from(s.jobs.keep_days).unwrap_or(30),
                )
                .execute(pool)
                .await
                .map_err(Error::from)?;
                sqlx::query!("DELETE FROM workers WHERE seen_at < now() - interval '1 day'")
                    .execute(pool)
                    .await
                    .map_err(Error::from)?;
                let counts = crate::stats::compact_customer_counts(pool).await?;
                tracing::info!(
                    deleted = gone.rows_affected(),
                    counts,
                    "old jobs pruned, customer counts folded"
                );
                Ok(())
            }
            notify::orders::JOB => notify::orders::run(pool, &self.notifier, job.id, &job.payload).await,
            notify::EMAIL_JOB => notify::run_email(pool, &self.notifier, job.id, &job.payload).await,
            marketing::SEND_JOB => marketing::run_send(pool, &self.notifier, job.id, &job.payload).await,
            marketing::REMIND_JOB => marketing::run_reminder(pool, &self.notifier, job.id, &job.payload).await,
            other => Err(JobFailure::Permanent(format!("unknown job kind {other}"))),
        }
    }

    /// The previous Seoul day's figures to the staff who read reports.
    async fn daily_report(&self, job: &Claimed) -> Result<(), JobFailure> {
        let at = period(&job.payload);
        let day = at.with_timezone(&SHOP_TZ).date_naive() - Days::new(1);
        // The schedule acts as the shop itself: reports are the owner's to read.
        let system = Principal {
            id: StaffId(uuid::Uuid::nil()),
            role: Role::Owner,
            via_bot: None,
        };
        let summary = crate::stats::sales_summary(&self.pool, system, day).await?;
        let q = crate::stats::SalesQuery {
            from: day,
            to: day,
            granularity: crate::stats::Granularity::Day,
            group_by: crate::stats::GroupBy::None,
            channel: None,
        };
        let report = crate::stats::sales_report(&self.pool, system, q).await?;
        let t = report.totals;
        let mut to = self.settings.mail.report_to.clone();
        if to.is_empty() {
            to = sqlx::query_scalar!(
                "SELECT email FROM staff WHERE role IN ('OWNER', 'MANAGER') AND active ORDER BY created_at"
            )
            .fetch_all(&self.pool)
            .await
            .map_err(Error::from)?;
        }
        let ctx = json!({
            "shop": self.notifier.shop(),
            "report": {
                "day": day.format("%Y-%m-%d").to_string(),
                "orders": summary.day.orders,
                "gross": t.gross_sales - t.discounts,
                "refunded": t.refunds,
                "net": summary.day.net_sales,
                "average": summary.day.average_order_value,
            },
        });
        let prepared = self
            .notifier
            .prepare("daily_sales_report", &ctx, notify::About::default())?;
        let mut result = Ok(());
        for address in to {
            let r = self.notifier.email(&self.pool, job.id, &prepared, &address, None).await;
            result = result.and(r);
        }
        result
    }
}

/// A schedule's period from its payload (now, if absent).
fn period(payload: &Value) -> DateTime<Utc> {
    payload["period"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map_or_else(Utc::now, |t| t.with_timezone(&Utc))
}
