//! Background jobs (OWNER, MANAGER): the queue, failures with their last error, retry; and
//! `messageSend`, a message to a segment of members that the queue delivers.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset, NaiveDate};
use commerce::{
    jobs::{self, JobFilter, JobState},
    notify::marketing::{self, Segment, SendChannel, SendInput},
};

use super::{
    connection::{connection, wants_total},
    context::Cx,
    seoul,
};
use crate::{
    error::GqlResult,
    storefront::{UserError, split},
};

/// Where a job is.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "JobState", remote = "commerce::jobs::JobState")]
pub enum JobStateGql {
    /// Waiting for its time and a free worker (also between retries).
    Queued,
    /// A worker is running it.
    Running,
    /// Ran to completion.
    Done,
    /// Out of attempts; `lastError` says why. `jobRetry` puts it back.
    Failed,
}

/// A background job.
#[derive(SimpleObject)]
pub struct Job {
    /// Its id.
    id: ID,
    /// What it does, e.g. `notify.order`, `report.daily_sales`.
    kind: String,
    /// Where it is.
    state: JobStateGql,
    /// Attempts so far.
    attempts: i32,
    /// Attempts before it fails for good.
    max_attempts: i32,
    /// The last failure.
    last_error: Option<String>,
    /// Its arguments (JSON; secrets redacted).
    payload: String,
    /// When it runs (next).
    run_at: DateTime<FixedOffset>,
    /// When it was enqueued.
    created_at: DateTime<FixedOffset>,
    /// When it finished.
    finished_at: Option<DateTime<FixedOffset>>,
}

impl From<jobs::Job> for Job {
    fn from(j: jobs::Job) -> Job {
        Job {
            id: ID(j.id.to_string()),
            kind: j.kind,
            state: j.state.into(),
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            last_error: j.last_error,
            payload: j.payload.to_string(),
            run_at: seoul(j.run_at),
            created_at: seoul(j.created_at),
            finished_at: j.finished_at.map(seoul),
        }
    }
}

connection!(JobConnection, JobEdge, Job, "jobs");

/// Which jobs to list.
#[derive(InputObject, Default)]
pub struct JobFilterInput {
    /// Only jobs in this state.
    state: Option<JobStateGql>,
    /// Only jobs of this kind.
    kind: Option<String>,
}

/// `jobRetry`'s answer.
#[derive(SimpleObject)]
pub struct JobRetryPayload {
    /// The job, queued again.
    job: Option<Job>,
    /// Why not.
    user_errors: Vec<UserError>,
}

/// By e-mail or by text.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "MessageChannel", remote = "commerce::notify::marketing::SendChannel")]
pub enum MessageChannel {
    /// E-mail.
    Email,
    /// SMS (LMS when long).
    Sms,
}

/// Which members a message goes to; all given conditions hold.
#[derive(InputObject, Default)]
pub struct SegmentInput {
    /// Members of these tiers (`BASIC`, `SILVER`, `GOLD`, `VIP`, as in settings).
    tiers: Option<Vec<String>>,
    /// Whose last paid order was before this Seoul day (win-back).
    last_order_before: Option<NaiveDate>,
}

/// `messageSend`'s input.
#[derive(InputObject)]
pub struct MessageSendInput {
    /// Who (empty: all members).
    segment: Option<SegmentInput>,
    /// How.
    channel: MessageChannel,
    /// E-mail subject or LMS title (1–80 characters).
    subject: String,
    /// Plain text (1–2,000 characters).
    body: String,
    /// Advertising (광고): only to members who consented on this channel, `(광고)` first,
    /// the opt-out line last, held until 08:00 when sent between 21:00 and 08:00 Seoul.
    /// `false`: an information notice (a delivery delay) to every member of the segment.
    marketing: bool,
}

/// `messageSend`'s answer.
#[derive(SimpleObject)]
pub struct MessageSendPayload {
    /// The send's job (see `jobs`).
    job_id: Option<ID>,
    /// Members it goes to, as counted now.
    recipients: Option<i64>,
    /// When it goes.
    scheduled_at: Option<DateTime<FixedOffset>>,
    /// Why not.
    user_errors: Vec<UserError>,
}

/// Job queries.
#[derive(Default)]
pub struct JobsQuery;

#[Object]
impl JobsQuery {
    /// Background jobs, newest first (OWNER, MANAGER).
    async fn jobs(
        &self,
        ctx: &Context<'_>,
        first: Option<i64>,
        after: Option<String>,
        filter: Option<JobFilterInput>,
    ) -> Result<JobConnection> {
        let cx = Cx::staff(ctx).await?;
        let first = commerce::pagination::page_size(first).gql(ctx)?;
        let f = filter.unwrap_or_default();
        let filter = JobFilter {
            state: f.state.map(JobState::from),
            kind: f.kind,
        };
        let page = jobs::list(
            cx.pool,
            cx.principal,
            first,
            after.as_deref(),
            &filter,
            wants_total(ctx),
        )
        .await
        .gql(ctx)?;
        Ok(JobConnection::from_page(page, Job::from))
    }
}

/// Job mutations.
#[derive(Default)]
pub struct JobsMutation;

#[Object]
impl JobsMutation {
    /// Puts a failed job back in the queue with fresh attempts (OWNER, MANAGER).
    async fn job_retry(&self, ctx: &Context<'_>, id: ID) -> Result<JobRetryPayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async { jobs::retry(cx.pool, cx.principal, id.parse()?, cx.ip).await }.await;
        let (job, user_errors) = split(ctx, r)?;
        Ok(JobRetryPayload {
            job: job.map(Job::from),
            user_errors,
        })
    }

    /// Sends a message to a segment of members through the job queue (OWNER, MANAGER).
    async fn message_send(&self, ctx: &Context<'_>, input: MessageSendInput) -> Result<MessageSendPayload> {
        let cx = Cx::staff(ctx).await?;
        let segment = input.segment.unwrap_or_default();
        let send = SendInput {
            segment: Segment {
                tiers: segment.tiers.unwrap_or_default(),
                last_order_before: segment.last_order_before,
            },
            channel: SendChannel::from(input.channel),
            subject: input.subject,
            body: input.body,
            marketing: input.marketing,
        };
        let r = marketing::send(cx.pool, cx.settings, cx.principal, send).await;
        let (queued, user_errors) = split(ctx, r)?;
        Ok(MessageSendPayload {
            job_id: queued.as_ref().map(|q| ID(q.job.to_string())),
            recipients: queued.as_ref().map(|q| q.recipients),
            scheduled_at: queued.as_ref().map(|q| seoul(q.run_at)),
            user_errors,
        })
    }
}
