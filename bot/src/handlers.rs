//! What the bot does with what Slack sends, whichever way it came (HTTP Request URLs or
//! Socket Mode): slash commands are acknowledged at once and answered through their
//! `response_url`; app mentions and direct messages are answered in the channel or thread;
//! button clicks on alerts adjust stock with the clicking member's own rights. The payloads
//! are read leniently: only the fields used here are required.

use std::{
    collections::{HashSet, VecDeque},
    sync::{Arc, Mutex, PoisonError},
};

use serde::Deserialize;
use serde_json::{Value, json};

use crate::{
    answer::{Answer, Request, answer},
    api::Api,
    slack::SlackWeb,
    views::{self, ADJUST_ACTION, Asked, ORDER_ACTION},
};

/// How many event ids are remembered to drop Slack's retries and replays.
const SEEN_EVENTS: usize = 2048;

/// The bot's handlers and what they share.
#[derive(Debug)]
pub struct Bot {
    /// The admin API with the bot token.
    pub api: Api,
    /// The Slack Web API with the bot token.
    pub slack: SlackWeb,
    seen: Mutex<Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    ids: HashSet<String>,
    order: VecDeque<String>,
}

impl Seen {
    /// Remembers `id`; false when it was seen already. The oldest ids are forgotten first.
    fn first_time(&mut self, id: &str) -> bool {
        if self.ids.contains(id) {
            return false;
        }
        if self.order.len() >= SEEN_EVENTS
            && let Some(old) = self.order.pop_front()
        {
            self.ids.remove(&old);
        }
        self.ids.insert(id.to_owned());
        self.order.push_back(id.to_owned());
        true
    }
}

/// A slash command's fields (messaging.md §1b), from a form body or a Socket Mode envelope.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct SlashCommand {
    /// `/sales`.
    pub command: String,
    /// Everything after the command.
    #[serde(default)]
    pub text: String,
    /// Who typed it.
    pub user_id: String,
    /// Where.
    pub channel_id: String,
    /// Where the answer goes.
    pub response_url: String,
}

impl SlashCommand {
    /// The command line to parse: `/sales 어제`. A command of another name (an app that
    /// registered `/jangteo`) passes its text alone: `/jangteo sales 어제` → `sales 어제`.
    pub fn line(&self) -> String {
        let name = self.command.trim().trim_start_matches('/').to_lowercase();
        if matches!(
            name.as_str(),
            "sales" | "order" | "stock" | "help" | "매출" | "주문" | "재고"
        ) {
            format!("/{name} {}", self.text)
        } else {
            self.text.clone()
        }
    }
}

/// An Events API body (messaging.md §1c): `url_verification` or `event_callback`.
#[derive(Debug, Clone, Deserialize)]
pub struct EventEnvelope {
    /// `url_verification`, `event_callback`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The URL verification challenge.
    pub challenge: Option<String>,
    /// Unique per event: the dedup key.
    pub event_id: Option<String>,
    /// The inner event.
    pub event: Option<MessageEvent>,
}

/// An `app_mention` or `message` event.
#[derive(Debug, Clone, Deserialize, Default)]
#[allow(missing_docs)]
pub struct MessageEvent {
    #[serde(rename = "type")]
    pub kind: String,
    pub user: Option<String>,
    pub text: Option<String>,
    pub channel: Option<String>,
    pub ts: Option<String>,
    pub thread_ts: Option<String>,
    pub channel_type: Option<String>,
    pub subtype: Option<String>,
    pub bot_id: Option<String>,
}

/// A `block_actions` payload (messaging.md §1d), the fields we use.
#[derive(Debug, Clone, Deserialize)]
#[allow(missing_docs)]
pub struct Interaction {
    #[serde(rename = "type")]
    pub kind: String,
    pub user: Option<Id>,
    pub channel: Option<Id>,
    pub container: Option<Container>,
    pub response_url: Option<String>,
    #[serde(default)]
    pub actions: Vec<Action>,
}

/// `{ "id": … }`.
#[derive(Debug, Clone, Deserialize)]
#[allow(missing_docs)]
pub struct Id {
    pub id: String,
}

/// Where the clicked message is.
#[derive(Debug, Clone, Deserialize)]
#[allow(missing_docs)]
pub struct Container {
    pub channel_id: Option<String>,
    pub message_ts: Option<String>,
}

/// A clicked element.
#[derive(Debug, Clone, Deserialize)]
#[allow(missing_docs)]
pub struct Action {
    pub action_id: String,
    pub value: Option<String>,
}

/// `response_url` body of an answer.
pub fn response_message(a: &Answer) -> Value {
    json!({
        "response_type": if a.ephemeral { "ephemeral" } else { "in_channel" },
        "replace_original": false,
        "text": a.text,
        "blocks": a.blocks,
    })
}

/// The immediate reply to a slash command (HTTP 200 body or Socket Mode ack payload).
pub fn command_ack() -> Value {
    let v = views::working();
    json!({ "response_type": "ephemeral", "text": v.text, "blocks": v.blocks })
}

impl Bot {
    /// The handlers over the admin API and Slack.
    pub fn new(api: Api, slack: SlackWeb) -> Bot {
        Bot {
            api,
            slack,
            seen: Mutex::new(Seen::default()),
        }
    }

    /// Takes a slash command: the work runs in the background (answered through the
    /// `response_url`); returns at once so the ack meets Slack's 3 seconds.
    pub fn command(self: &Arc<Self>, cmd: SlashCommand) {
        let bot = Arc::clone(self);
        tokio::spawn(async move { bot.answer_command(cmd).await });
    }

    /// Answers a slash command through its `response_url`, and uploads a chart into the
    /// channel.
    pub async fn answer_command(&self, cmd: SlashCommand) {
        let req = Request {
            text: cmd.line(),
            slack_user_id: Some(cmd.user_id.clone()),
            channel_id: Some(cmd.channel_id.clone()),
        };
        let a = answer(&self.api, &req).await;
        if let Err(e) = self.slack.respond(&cmd.response_url, &response_message(&a)).await {
            tracing::warn!(error = %e, "answering through response_url failed");
        }
        self.upload_chart(&a, &cmd.channel_id, None).await;
    }

    async fn upload_chart(&self, a: &Answer, channel: &str, thread_ts: Option<&str>) {
        if let Some(c) = &a.chart
            && let Err(e) = self
                .slack
                .upload(channel, thread_ts, &c.filename, &c.title, &c.png)
                .await
        {
            tracing::warn!(error = %e, channel, "uploading the chart failed");
        }
    }

    /// Whether `event_id` is new (false for Slack's retries and replays).
    pub fn first_time(&self, event_id: &str) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .first_time(event_id)
    }

    /// Takes an `event_callback`: drops repeats and the bot's own messages, answers app
    /// mentions and direct messages in the background.
    pub fn event(self: &Arc<Self>, envelope: EventEnvelope) {
        if envelope.kind != "event_callback" {
            return;
        }
        let Some(event) = envelope.event else { return };
        if !wants_answer(&event) {
            return;
        }
        if let Some(id) = &envelope.event_id
            && !self.first_time(id)
        {
            tracing::debug!(event_id = id, "repeated event dropped");
            return;
        }
        let bot = Arc::clone(self);
        tokio::spawn(async move { bot.answer_event(event).await });
    }

    /// Answers a mention or a direct message: in the thread of a mention, in the DM as it
    /// came; what only the asker may see goes as an ephemeral message in channels.
    pub async fn answer_event(&self, event: MessageEvent) {
        let (Some(user), Some(channel)) = (event.user.as_deref(), event.channel.as_deref()) else {
            return;
        };
        let req = Request {
            text: event.text.clone().unwrap_or_default(),
            slack_user_id: Some(user.to_owned()),
            channel_id: Some(channel.to_owned()),
        };
        let a = answer(&self.api, &req).await;
        let direct = event.channel_type.as_deref() == Some("im");
        let thread = if direct {
            event.thread_ts.as_deref()
        } else {
            event.thread_ts.as_deref().or(event.ts.as_deref())
        };
        let sent = if a.ephemeral && !direct {
            self.slack
                .post_ephemeral(channel, user, &a.text, &a.blocks, thread)
                .await
        } else {
            self.slack
                .post_message(channel, &a.text, &a.blocks, thread)
                .await
                .map(drop)
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, channel, "answering an event failed");
        }
        self.upload_chart(&a, channel, thread).await;
    }

    /// Takes a `block_actions` payload in the background.
    pub fn interaction(self: &Arc<Self>, payload: Interaction) {
        if payload.kind != "block_actions" {
            return;
        }
        let bot = Arc::clone(self);
        tokio::spawn(async move { bot.answer_interaction(payload).await });
    }

    /// Runs the clicked buttons as the clicking member, answered only to them: "adjust
    /// stock" (`stock_adjust_<n>`, value `variant:delta`) and "show the order" (`order_show`,
    /// value the order number, answered as `/order` is). Link buttons need nothing.
    pub async fn answer_interaction(&self, payload: Interaction) {
        let Some(user) = payload.user.as_ref().map(|u| u.id.clone()) else {
            return;
        };
        for action in &payload.actions {
            if action.action_id == ORDER_ACTION {
                let req = Request {
                    text: format!("/order {}", action.value.as_deref().unwrap_or_default()),
                    slack_user_id: Some(user.clone()),
                    channel_id: channel_of(&payload),
                };
                let a = answer(&self.api, &req).await;
                self.reply_to_interaction(&payload, &user, &a).await;
                continue;
            }
            if !action.action_id.starts_with(ADJUST_ACTION) {
                continue;
            }
            let parsed = action
                .value
                .as_deref()
                .and_then(|v| v.rsplit_once(':'))
                .and_then(|(variant, delta)| Some((variant.to_owned(), delta.parse::<i64>().ok()?)));
            let Some((variant, delta)) = parsed else {
                tracing::warn!(
                    action = action.action_id,
                    "a stock button without a variant:delta value"
                );
                continue;
            };
            let api = self.api.acting(&user);
            let view = match api.stock_adjust(&variant, delta, "Slack 알림에서 재고 조정").await {
                Ok(item) => views::stock_adjusted(&item, delta),
                Err(e) => {
                    tracing::info!(code = e.code(), "stock adjustment refused");
                    views::failure(Asked::StockAdjust, &e)
                }
            };
            let a = Answer {
                text: view.text,
                blocks: view.blocks,
                ephemeral: true,
                chart: None,
            };
            self.reply_to_interaction(&payload, &user, &a).await;
        }
    }

    async fn reply_to_interaction(&self, payload: &Interaction, user: &str, a: &Answer) {
        let sent = match (&payload.response_url, channel_of(payload)) {
            (Some(url), _) => self.slack.respond(url, &response_message(a)).await,
            (None, Some(channel)) => {
                self.slack
                    .post_ephemeral(&channel, user, &a.text, &a.blocks, None)
                    .await
            }
            (None, None) => return,
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, "answering a button failed");
        }
    }
}

fn channel_of(p: &Interaction) -> Option<String> {
    p.channel
        .as_ref()
        .map(|c| c.id.clone())
        .or_else(|| p.container.as_ref().and_then(|c| c.channel_id.clone()))
}

/// App mentions, and messages in direct messages from people: never the bot's own
/// (`bot_id`, `bot_message`) nor edits, joins and other subtypes.
fn wants_answer(e: &MessageEvent) -> bool {
    if e.bot_id.is_some() || e.subtype.is_some() || e.user.is_none() {
        return false;
    }
    match e.kind.as_str() {
        "app_mention" => true,
        "message" => e.channel_type.as_deref() == Some("im"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slash_commands_become_command_lines() {
        let cmd = |command: &str, text: &str| SlashCommand {
            command: command.into(),
            text: text.into(),
            user_id: "U1".into(),
            channel_id: "C1".into(),
            response_url: "http://x".into(),
        };
        assert_eq!(cmd("/sales", "어제").line(), "/sales 어제");
        assert_eq!(cmd("/jangteo", "sales 어제").line(), "sales 어제");
        assert_eq!(cmd("/help", "").line(), "/help ");
    }

    #[test]
    fn only_people_mentioning_or_writing_directly_are_answered() {
        let e = |kind: &str, channel_type: Option<&str>| MessageEvent {
            kind: kind.into(),
            user: Some("U1".into()),
            text: Some("sales".into()),
            channel: Some("C1".into()),
            channel_type: channel_type.map(Into::into),
            ..MessageEvent::default()
        };
        assert!(wants_answer(&e("app_mention", None)));
        assert!(wants_answer(&e("message", Some("im"))));
        assert!(!wants_answer(&e("message", Some("channel"))));
        assert!(!wants_answer(&MessageEvent {
            bot_id: Some("B1".into()),
            ..e("message", Some("im"))
        }));
        assert!(!wants_answer(&MessageEvent {
            subtype: Some("bot_message".into()),
            ..e("app_mention", None)
        }));
        assert!(!wants_answer(&MessageEvent {
            subtype: Some("message_changed".into()),
            ..e("message", Some("im"))
        }));
    }

    #[test]
    fn event_ids_are_remembered_up_to_a_bound() {
        let mut seen = Seen::default();
        assert!(seen.first_time("Ev1"));
        assert!(!seen.first_time("Ev1"));
        for i in 0..SEEN_EVENTS {
            assert!(seen.first_time(&format!("E{i}")));
        }
        assert_eq!(seen.ids.len(), SEEN_EVENTS);
        assert!(seen.first_time("Ev1"), "the oldest id was forgotten");
    }
}
