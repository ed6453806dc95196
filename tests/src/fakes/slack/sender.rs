//! Slack towards the bot (messaging.md §1a–§1d): slash commands, Events API deliveries and
//! interactions, form- or JSON-encoded as Slack sends them and signed with the signing
//! secret (`v0`), or deliberately mis-signed to test that the bot refuses them.

use std::{
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use serde_json::{Value, json};

use super::{APP_ID, BOT_USER_ID, GENERAL, TEAM_DOMAIN, TEAM_ID};
use crate::fakes::{Reply, Signing, UPPER_ALNUM, hmac_sha256_hex, random_string, send_timed, tamper_body, unix_now};

/// Where the bot takes slash commands.
pub const COMMANDS_PATH: &str = "/slack/commands";
/// Where the bot takes Events API deliveries.
pub const EVENTS_PATH: &str = "/slack/events";
/// Where the bot takes interactions.
pub const INTERACTIONS_PATH: &str = "/slack/interactions";
/// Slack's limit for acknowledging a command, event or interaction.
pub const ACK_LIMIT: Duration = Duration::from_secs(3);

/// The deprecated verification token Slack still puts in every payload.
const VERIFICATION_TOKEN: &str = "jAnGtEoVeRiFiCaTiOn0TOK";

/// `X-Slack-Signature` for `body` sent at `timestamp`:
/// `v0=` + hex HMAC-SHA256(secret, `v0:{timestamp}:{body}`).
pub fn slack_sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let base = [format!("v0:{timestamp}:").as_bytes(), body].concat();
    format!("v0={}", hmac_sha256_hex(secret.as_bytes(), &base))
}

/// A message `ts` for events Slack "saw": now, with a counter for uniqueness.
fn event_ts() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed) % 1_000_000;
    format!("{}.{n:06}", unix_now())
}

/// A `trigger_id` in Slack's shape (`digits.digits.hex`).
fn trigger_id() -> String {
    format!(
        "{}.{}.{}",
        random_string(b"0123456789", 12),
        random_string(b"0123456789", 11),
        random_string(b"0123456789abcdef", 32)
    )
}

/// A slash command as Slack POSTs it (form-encoded, fields in Slack's order).
#[derive(Clone, Debug)]
pub struct SlashCommand {
    /// `/sales`
    pub command: String,
    /// Everything after the command (`어제 채널별`).
    pub text: String,
    /// The asker (`U…`).
    pub user_id: String,
    /// The asker's handle.
    pub user_name: String,
    /// Where it was typed.
    pub channel_id: String,
    /// That channel's name.
    pub channel_name: String,
    /// The workspace.
    pub team_id: String,
    /// The workspace's domain.
    pub team_domain: String,
    /// Where the bot answers later; take it from [`super::FakeSlack::response_url`].
    pub response_url: String,
    /// For opening modals (expires in 3 s).
    pub trigger_id: String,
    /// The app; `None` leaves the field out (as in Slack's signing example).
    pub api_app_id: Option<String>,
    /// The deprecated verification token.
    pub token: String,
}

impl SlashCommand {
    /// `command text` typed in [`GENERAL`] by user `U0STAFF001`; set the `response_url`.
    pub fn new(command: &str, text: &str) -> SlashCommand {
        SlashCommand {
            command: command.to_owned(),
            text: text.to_owned(),
            user_id: "U0STAFF001".to_owned(),
            user_name: "staff".to_owned(),
            channel_id: GENERAL.to_owned(),
            channel_name: "general".to_owned(),
            team_id: TEAM_ID.to_owned(),
            team_domain: TEAM_DOMAIN.to_owned(),
            response_url: String::new(),
            trigger_id: trigger_id(),
            api_app_id: Some(APP_ID.to_owned()),
            token: VERIFICATION_TOKEN.to_owned(),
        }
    }

    /// Typed by `user_id`.
    #[must_use]
    pub fn user(mut self, user_id: &str) -> Self {
        user_id.clone_into(&mut self.user_id);
        self
    }

    /// Typed in `channel_id`.
    #[must_use]
    pub fn channel(mut self, channel_id: &str) -> Self {
        channel_id.clone_into(&mut self.channel_id);
        self
    }

    /// Answered through `url`.
    #[must_use]
    pub fn response_url(mut self, url: &str) -> Self {
        url.clone_into(&mut self.response_url);
        self
    }

    /// The form body Slack sends.
    pub fn form_body(&self) -> Vec<u8> {
        let mut f = form_urlencoded::Serializer::new(String::new());
        f.append_pair("token", &self.token)
            .append_pair("team_id", &self.team_id)
            .append_pair("team_domain", &self.team_domain)
            .append_pair("channel_id", &self.channel_id)
            .append_pair("channel_name", &self.channel_name)
            .append_pair("user_id", &self.user_id)
            .append_pair("user_name", &self.user_name)
            .append_pair("command", &self.command)
            .append_pair("text", &self.text);
        if let Some(app) = &self.api_app_id {
            f.append_pair("api_app_id", app)
                .append_pair("is_enterprise_install", "false");
        }
        f.append_pair("response_url", &self.response_url)
            .append_pair("trigger_id", &self.trigger_id);
        f.finish().into_bytes()
    }
}

/// An Events API `event_callback` delivery; each one made here has a fresh `event_id`,
/// and a retry of it ([`SlackSender::event_retry`]) keeps it.
#[derive(Clone, Debug)]
pub struct EventCallback {
    /// `Ev…`, unique per event: the bot's dedup key.
    pub event_id: String,
    /// Epoch seconds.
    pub event_time: i64,
    /// The inner event (`app_mention`, `message`…).
    pub event: Value,
}

impl EventCallback {
    fn new(event: Value) -> EventCallback {
        EventCallback {
            event_id: format!("Ev{}", random_string(UPPER_ALNUM, 10)),
            event_time: unix_now(),
            event,
        }
    }

    /// `@jangteo {text}` in `channel` by `user`: the text starts with `<@U0JANGBOT1> `.
    pub fn app_mention(user: &str, channel: &str, text: &str) -> EventCallback {
        let ts = event_ts();
        EventCallback::new(json!({
            "type": "app_mention",
            "user": user,
            "text": format!("<@{BOT_USER_ID}> {text}"),
            "ts": ts,
            "channel": channel,
            "event_ts": ts,
            "team": TEAM_ID,
            "client_msg_id": uuid::Uuid::now_v7().to_string(),
        }))
    }

    /// A direct message to the bot (`message.im`) in the DM `channel` (`D…`).
    pub fn direct_message(user: &str, channel: &str, text: &str) -> EventCallback {
        let ts = event_ts();
        EventCallback::new(json!({
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": "im",
            "team": TEAM_ID,
            "client_msg_id": uuid::Uuid::now_v7().to_string(),
        }))
    }

    /// A message by a bot (`subtype: bot_message`, `bot_id`) in the DM `channel`: the bot
    /// must not answer it (nor itself).
    pub fn bot_message(bot_id: &str, channel: &str, text: &str) -> EventCallback {
        let ts = event_ts();
        EventCallback::new(json!({
            "type": "message",
            "subtype": "bot_message",
            "channel": channel,
            "bot_id": bot_id,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": "im",
        }))
    }

    /// The same event inside the thread `thread_ts`.
    #[must_use]
    pub fn in_thread(mut self, thread_ts: &str) -> EventCallback {
        self.event["thread_ts"] = Value::String(thread_ts.to_owned());
        self
    }

    /// The JSON envelope Slack POSTs.
    pub fn body(&self) -> Vec<u8> {
        json!({
            "token": VERIFICATION_TOKEN,
            "team_id": TEAM_ID,
            "context_team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": self.event,
            "type": "event_callback",
            "event_id": self.event_id,
            "event_time": self.event_time,
            "authorizations": [{
                "enterprise_id": null,
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": true,
                "is_enterprise_install": false,
            }],
            "is_ext_shared_channel": false,
            // Opaque to apps; derived so a retry's body is byte for byte the first one's.
            "event_context": format!("4-{}", self.event_id),
        })
        .to_string()
        .into_bytes()
    }
}

/// The `url_verification` body Slack POSTs when the events URL is saved (signed too).
pub fn url_verification_body(challenge: &str) -> Vec<u8> {
    json!({ "token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification" })
        .to_string()
        .into_bytes()
}

/// A click on a button of a message (`block_actions`).
#[derive(Clone, Debug)]
pub struct BlockAction {
    /// Who clicked.
    pub user_id: String,
    /// The channel of the message.
    pub channel_id: String,
    /// The message's `ts`.
    pub message_ts: String,
    /// The button's `action_id`.
    pub action_id: String,
    /// The button's block's `block_id`.
    pub block_id: String,
    /// The button's `value`.
    pub value: Option<String>,
    /// Where the bot answers; take it from [`super::FakeSlack::response_url_for`].
    pub response_url: String,
    /// The message the button is on, as Slack includes it.
    pub message: Option<Value>,
}

impl BlockAction {
    /// `user_id` clicks the button `action_id` (with `value`) on the message `message_ts` in
    /// `channel_id`.
    pub fn button(
        user_id: &str,
        channel_id: &str,
        message_ts: &str,
        action_id: &str,
        value: Option<&str>,
    ) -> BlockAction {
        BlockAction {
            user_id: user_id.to_owned(),
            channel_id: channel_id.to_owned(),
            message_ts: message_ts.to_owned(),
            action_id: action_id.to_owned(),
            block_id: random_string(b"abcdefghijklmnopqrstuvwxyz0123456789", 5),
            value: value.map(str::to_owned),
            response_url: String::new(),
            message: None,
        }
    }

    /// Answered through `url`.
    #[must_use]
    pub fn response_url(mut self, url: &str) -> Self {
        url.clone_into(&mut self.response_url);
        self
    }

    /// The button sits in the block `block_id`.
    #[must_use]
    pub fn block_id(mut self, block_id: &str) -> Self {
        block_id.clone_into(&mut self.block_id);
        self
    }

    /// Slack includes the message the button is on (e.g. a [`super::Message`]'s blocks).
    #[must_use]
    pub fn message(mut self, message: Value) -> Self {
        self.message = Some(message);
        self
    }

    /// The `payload` JSON.
    pub fn payload(&self) -> Value {
        let mut action = json!({
            "type": "button",
            "action_id": self.action_id,
            "block_id": self.block_id,
            "text": { "type": "plain_text", "text": "button", "emoji": true },
            "action_ts": event_ts(),
        });
        if let Some(v) = &self.value {
            action["value"] = Value::String(v.clone());
        }
        let mut payload = json!({
            "type": "block_actions",
            "user": { "id": self.user_id, "username": "staff", "name": "staff", "team_id": TEAM_ID },
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "container": {
                "type": "message",
                "message_ts": self.message_ts,
                "channel_id": self.channel_id,
                "is_ephemeral": false,
            },
            "trigger_id": trigger_id(),
            "team": { "id": TEAM_ID, "domain": TEAM_DOMAIN },
            "enterprise": null,
            "is_enterprise_install": false,
            "channel": { "id": self.channel_id, "name": "channel" },
            "response_url": self.response_url,
            "actions": [action],
            "state": { "values": {} },
        });
        if let Some(m) = &self.message {
            payload["message"] = m.clone();
        }
        payload
    }

    /// The form body Slack POSTs: one field, `payload`.
    pub fn form_body(&self) -> Vec<u8> {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("payload", &self.payload().to_string())
            .finish()
            .into_bytes()
    }
}

/// Plays Slack towards the bot's HTTP listener.
#[derive(Clone, Debug)]
pub struct SlackSender {
    base: String,
    secret: String,
    client: reqwest::Client,
}

impl SlackSender {
    /// Sends to the bot at `base` (`http://127.0.0.1:port`), signing with `signing_secret`.
    pub fn new(base: &str, signing_secret: &str) -> SlackSender {
        SlackSender {
            base: base.trim_end_matches('/').to_owned(),
            secret: signing_secret.to_owned(),
            client: crate::fakes::http_client(),
        }
    }

    /// A POST of `body` to `path`, signed as `signing` says.
    pub fn request(&self, path: &str, content_type: &str, body: &[u8], signing: Signing) -> reqwest::RequestBuilder {
        let now = unix_now();
        let (timestamp, sent, signature) = match signing {
            Signing::Valid => (now, body.to_vec(), Some(slack_sign(&self.secret, now, body))),
            Signing::Unsigned => (now, body.to_vec(), None),
            Signing::WrongSecret => (
                now,
                body.to_vec(),
                Some(slack_sign(&format!("not-{}", self.secret), now, body)),
            ),
            Signing::Tampered => (now, tamper_body(body), Some(slack_sign(&self.secret, now, body))),
            Signing::Stale => (
                now - 600,
                body.to_vec(),
                Some(slack_sign(&self.secret, now - 600, body)),
            ),
        };
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .header("X-Slack-Request-Timestamp", timestamp.to_string());
        if let Some(sig) = signature {
            req = req.header("X-Slack-Signature", sig);
        }
        req.body(sent)
    }

    /// The slash command, signed as `signing` says, unsent.
    pub fn command_request(&self, command: &SlashCommand, signing: Signing) -> reqwest::RequestBuilder {
        self.request(
            COMMANDS_PATH,
            "application/x-www-form-urlencoded",
            &command.form_body(),
            signing,
        )
    }

    /// Sends a correctly signed slash command; check `reply.slower_than(ACK_LIMIT)`.
    pub async fn command(&self, command: &SlashCommand) -> Reply {
        self.command_with(command, Signing::Valid).await
    }

    /// Sends a slash command signed as `signing` says.
    pub async fn command_with(&self, command: &SlashCommand, signing: Signing) -> Reply {
        send_timed(self.command_request(command, signing)).await
    }

    /// Sends a correctly signed event.
    pub async fn event(&self, event: &EventCallback) -> Reply {
        self.event_with(event, Signing::Valid).await
    }

    /// Sends an event signed as `signing` says.
    pub async fn event_with(&self, event: &EventCallback, signing: Signing) -> Reply {
        send_timed(self.request(EVENTS_PATH, "application/json", &event.body(), signing)).await
    }

    /// Redelivers `event` (same `event_id`) as Slack's retry number `num` (1–3) with
    /// `reason` (`http_timeout`, `http_error`…), freshly signed.
    pub async fn event_retry(&self, event: &EventCallback, num: u8, reason: &str) -> Reply {
        let req = self
            .request(EVENTS_PATH, "application/json", &event.body(), Signing::Valid)
            .header("X-Slack-Retry-Num", num.to_string())
            .header("X-Slack-Retry-Reason", reason);
        send_timed(req).await
    }

    /// Sends the signed `url_verification` challenge.
    pub async fn url_verification(&self, challenge: &str) -> Reply {
        let body = url_verification_body(challenge);
        send_timed(self.request(EVENTS_PATH, "application/json", &body, Signing::Valid)).await
    }

    /// Sends a correctly signed button click.
    pub async fn interaction(&self, action: &BlockAction) -> Reply {
        self.interaction_with(action, Signing::Valid).await
    }

    /// Sends a button click signed as `signing` says.
    pub async fn interaction_with(&self, action: &BlockAction, signing: Signing) -> Reply {
        send_timed(self.request(
            INTERACTIONS_PATH,
            "application/x-www-form-urlencoded",
            &action.form_body(),
            signing,
        ))
        .await
    }
}
