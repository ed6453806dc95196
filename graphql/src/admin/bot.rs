//! What the Slack bot asks of the admin API beyond the shop's data: run claims and Slack
//! threads its replicas agree on (`commerce::bot_state`), and proactive alerts
//! (`commerce::alerts`).

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset, Utc};
use commerce::{alerts, bot_state};

use super::{context::Cx, seoul};
use crate::error::GqlResult;

/// A Slack thread kept under a key (e.g. one per Sentry issue).
#[derive(SimpleObject)]
pub struct BotThread {
    /// The key it is kept under.
    key: String,
    /// The Slack channel id.
    channel: String,
    /// The `ts` of the thread's first message.
    ts: String,
    /// When it was first saved.
    created_at: DateTime<FixedOffset>,
}

impl From<bot_state::BotThread> for BotThread {
    fn from(t: bot_state::BotThread) -> BotThread {
        BotThread {
            key: t.key,
            channel: t.channel,
            ts: t.ts,
            created_at: seoul(t.created_at),
        }
    }
}

/// What an alert is about.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "commerce::alerts::AlertKind")]
pub enum AlertKind {
    /// A published variant with 1 to its `lowStockThreshold` units available (key: the
    /// variant id).
    LowStock,
    /// A published variant with none available, in place of `LOW_STOCK` (key: the variant id).
    SoldOut,
    /// At least 5 failed payments (and bank-transfer expiries) of one gateway within 10
    /// minutes (key: the gateway or method, e.g. `BANK_TRANSFER`).
    PaymentFailures,
    /// Orders of the last full hour under 30% of the same hour's average over the previous
    /// 28 days, when that is at least 4 (key: the hour in Seoul, `2026-12-03T14:00+09:00`).
    OrdersBelowUsual,
    /// A deposit reported for an expired order within 24 hours (key: the order number).
    DepositAfterExpiry,
    /// A staff account locked by failed logins (key: the staff id).
    StaffLocked,
}

/// How urgent an alert is.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "commerce::alerts::Severity")]
pub enum AlertSeverity {
    /// Worth knowing.
    Info,
    /// Someone should look today.
    Warning,
    /// Someone should look now.
    Critical,
}

/// A condition of the shop someone should hear about, from when it was first seen until
/// it cleared. One alert per condition: the bot posts it once, when raised.
#[derive(SimpleObject)]
pub struct Alert {
    /// Opaque id.
    id: ID,
    /// What about.
    kind: AlertKind,
    /// Which one of its kind (see `AlertKind`); with `kind`, unique among open alerts.
    key: String,
    /// How urgent.
    severity: AlertSeverity,
    /// One line, in Korean.
    title: String,
    /// What holds now, in Korean.
    detail: String,
    /// When first seen (Seoul time).
    raised_at: DateTime<FixedOffset>,
    /// When it stopped holding; null while it holds.
    cleared_at: Option<DateTime<FixedOffset>>,
    /// The order it is about (`DEPOSIT_AFTER_EXPIRY`).
    order_number: Option<String>,
    /// The variant it is about (`LOW_STOCK`, `SOLD_OUT`), for `stockAdjust`.
    variant_id: Option<ID>,
    /// That variant's SKU.
    sku: Option<String>,
    /// Where to act on it in the admin UI; null: no admin URL is configured.
    admin_url: Option<String>,
}

impl From<alerts::Alert> for Alert {
    fn from(a: alerts::Alert) -> Alert {
        Alert {
            id: ID(a.id.to_string()),
            kind: a.kind.into(),
            key: a.key,
            severity: a.severity.into(),
            title: a.title,
            detail: a.detail,
            raised_at: seoul(a.raised_at),
            cleared_at: a.cleared_at.map(seoul),
            order_number: a.order_number,
            variant_id: a.variant_id.map(|v| ID(v.to_string())),
            sku: a.sku,
            // The settings have no admin UI address yet.
            admin_url: None,
        }
    }
}

/// The bot's queries.
#[derive(Default)]
pub struct BotQuery;

#[Object]
impl BotQuery {
    /// The Slack thread kept under `key` (1–200 characters), or null. BOT and OWNER.
    async fn bot_thread(&self, ctx: &Context<'_>, key: String) -> Result<Option<BotThread>> {
        let cx = Cx::staff(ctx).await?;
        let t = bot_state::thread(cx.pool, cx.principal, &key).await.gql(ctx)?;
        Ok(t.map(BotThread::from))
    }

    /// Proactive alerts, evaluated now: every open alert and those cleared at or after
    /// `since`, oldest first (at most 1000). Reading raises what newly holds and clears
    /// what no longer does, so pollers at once agree. OWNER, MANAGER and BOT.
    async fn alerts(&self, ctx: &Context<'_>, since: Option<DateTime<FixedOffset>>) -> Result<Vec<Alert>> {
        let cx = Cx::staff(ctx).await?;
        let found = alerts::alerts(
            cx.pool,
            cx.principal,
            &cx.settings.staff.throttle,
            since.map(|t| t.to_utc()),
            Utc::now(),
        )
        .await
        .gql(ctx)?;
        Ok(found.into_iter().map(Alert::from).collect())
    }
}

/// The bot's mutations.
#[derive(Default)]
pub struct BotMutation;

#[Object]
impl BotMutation {
    /// Claims the run `name` for `period` (each 1–100 characters, e.g. `daily-report`,
    /// `2026-12-03`): true for exactly one caller per (name, period) ever, false for the
    /// others, so of several bot replicas one posts. BOT and OWNER.
    async fn bot_run_claim(&self, ctx: &Context<'_>, name: String, period: String) -> Result<bool> {
        let cx = Cx::staff(ctx).await?;
        bot_state::run_claim(cx.pool, cx.principal, &name, &period)
            .await
            .gql(ctx)
    }

    /// Keeps the Slack thread (`channel`, `ts`) under `key` unless one is kept there
    /// already, and returns the one kept: of replicas saving at once, all get the first
    /// writer's. `key` 1–200 characters, `channel` and `ts` 1–100. BOT and OWNER.
    async fn bot_thread_save(&self, ctx: &Context<'_>, key: String, channel: String, ts: String) -> Result<BotThread> {
        let cx = Cx::staff(ctx).await?;
        let t = bot_state::thread_save(cx.pool, cx.principal, &key, &channel, &ts)
            .await
            .gql(ctx)?;
        Ok(t.into())
    }
}
