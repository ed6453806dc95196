//! What the bot keeps in the service between runs: who it acts as (`BotMe`), claims that
//! let one replica post a report or an alert (`BotRunClaim`), the Slack messages kept per
//! Sentry issue or alert (`BotThread`, `BotThreadSave`), and the alerts to post
//! (`BotAlerts`).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use super::{Api, ApiError};

impl Api {
    /// The signed-in member (`BotMe`): who the bot acts as.
    pub async fn me(&self) -> Result<StaffMe, ApiError> {
        const Q: &str = "query BotMe { staffMe { id name role } }";
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            staff_me: StaffMe,
        }
        let d: Data = self.run("BotMe", Q, json!({})).await?;
        Ok(d.staff_me)
    }

    /// Claims the run `name` for `period` (`BotRunClaim`): true for exactly one caller, so
    /// two replicas post a report or an alert once.
    pub async fn run_claim(&self, name: &str, period: &str) -> Result<bool, ApiError> {
        const Q: &str =
            "mutation BotRunClaim($name: String!, $period: String!) { botRunClaim(name: $name, period: $period) }";
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            bot_run_claim: bool,
        }
        let d: Data = self
            .run("BotRunClaim", Q, json!({ "name": name, "period": period }))
            .await?;
        Ok(d.bot_run_claim)
    }

    /// The Slack message kept under `key` (`BotThread`), if any.
    pub async fn thread(&self, key: &str) -> Result<Option<BotThread>, ApiError> {
        const Q: &str = "query BotThread($key: String!) { botThread(key: $key) { key channel ts createdAt } }";
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            bot_thread: Option<BotThread>,
        }
        match self.run::<Data>("BotThread", Q, json!({ "key": key })).await {
            Ok(d) => Ok(d.bot_thread),
            Err(ApiError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Keeps the Slack message `channel`/`ts` under `key` (`BotThreadSave`); the first one
    /// saved wins and is returned.
    pub async fn thread_save(&self, key: &str, channel: &str, ts: &str) -> Result<BotThread, ApiError> {
        const Q: &str = "mutation BotThreadSave($key: String!, $channel: String!, $ts: String!) {
  botThreadSave(key: $key, channel: $channel, ts: $ts) { key channel ts createdAt }
}";
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Data {
            bot_thread_save: BotThread,
        }
        let d: Data = self
            .run("BotThreadSave", Q, json!({ "key": key, "channel": channel, "ts": ts }))
            .await?;
        Ok(d.bot_thread_save)
    }

    /// Alerts raised or cleared since `since` (all open ones without it) (`BotAlerts`).
    pub async fn alerts(&self, since: Option<DateTime<Utc>>) -> Result<Vec<Alert>, ApiError> {
        const Q: &str = "query BotAlerts($since: DateTime) {
  alerts(since: $since) { id kind key severity title detail raisedAt clearedAt orderNumber variantId sku adminUrl }
}";
        #[derive(Deserialize)]
        struct Data {
            alerts: Vec<Alert>,
        }
        let d: Data = self.run("BotAlerts", Q, json!({ "since": since })).await?;
        Ok(d.alerts)
    }
}

/// Who the bot acts as.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct StaffMe {
    pub id: String,
    pub name: String,
    pub role: String,
}

/// A Slack message kept for a key (a Sentry issue, an alert).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct BotThread {
    pub key: String,
    pub channel: String,
    pub ts: String,
    pub created_at: DateTime<Utc>,
}

/// A condition the shop should know about, from `alerts(since)`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct Alert {
    pub id: String,
    /// `LOW_STOCK`, `SOLD_OUT`, `PAYMENT_FAILURES`, `ORDERS_BELOW_USUAL`,
    /// `DEPOSIT_AFTER_EXPIRY`, `STAFF_LOCKED`.
    pub kind: String,
    /// The condition's key: one alert per key until it clears.
    pub key: String,
    pub severity: String,
    pub title: String,
    pub detail: Option<String>,
    pub raised_at: DateTime<Utc>,
    pub cleared_at: Option<DateTime<Utc>>,
    pub order_number: Option<String>,
    pub variant_id: Option<String>,
    pub sku: Option<String>,
    pub admin_url: Option<String>,
}
