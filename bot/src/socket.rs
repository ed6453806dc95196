//! `jangteo-bot socket`: Socket Mode through slack-morphism's listener, with the app-level
//! token (`xapp-…`), for workspaces that can't expose a URL. Frames are unsigned (the token
//! authenticates the socket, messaging.md §1e); commands, events and interactions go to the
//! same [`Bot`] handlers as over HTTP, converted through their JSON (the field names are
//! Slack's either way).

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use slack_morphism::prelude::*;

use crate::handlers::{Bot, EventEnvelope, Interaction, SlashCommand, command_ack};

async fn bot_of(states: &SlackClientEventsUserState) -> Option<Arc<Bot>> {
    states.read().await.get_user_state::<Arc<Bot>>().cloned()
}

fn convert<T: serde::de::DeserializeOwned>(
    v: serde_json::Value,
) -> Result<T, Box<dyn std::error::Error + Send + Sync>> {
    serde_json::from_value(v).map_err(Into::into)
}

async fn on_command(
    event: SlackCommandEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    let bot = bot_of(&states).await.ok_or("no bot state")?;
    let cmd: SlashCommand = convert(serde_json::to_value(&event)?)?;
    tracing::info!(command = cmd.command, "slash command (socket)");
    bot.command(cmd);
    let ack = command_ack();
    let text = ack["text"].as_str().unwrap_or_default().to_owned();
    Ok(
        SlackCommandEventResponse::new(SlackMessageContent::new().with_text(text))
            .with_response_type(SlackMessageResponseType::Ephemeral),
    )
}

async fn on_push(
    event: SlackPushEventCallback,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let bot = bot_of(&states).await.ok_or("no bot state")?;
    let mut v = serde_json::to_value(&event)?;
    v["type"] = "event_callback".into();
    let envelope: EventEnvelope = convert(v)?;
    bot.event(envelope);
    Ok(())
}

async fn on_interaction(
    event: SlackInteractionEvent,
    _client: Arc<SlackHyperClient>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    let bot = bot_of(&states).await.ok_or("no bot state")?;
    let payload: Interaction = convert(serde_json::to_value(&event)?)?;
    bot.interaction(payload);
    Ok(())
}

/// Connects with `app_token` to Slack at `api_url` and serves until a termination signal.
pub async fn run(bot: Arc<Bot>, api_url: &url::Url, app_token: &SecretString) -> anyhow::Result<()> {
    crate::slack::install_tls();
    // slack-morphism joins the base and the method with a `/` of its own.
    let base = api_url.as_str().trim_end_matches('/');
    let connector = SlackClientHyperConnector::new()?.with_slack_api_url(base);
    let client = Arc::new(SlackClient::new(connector));
    let callbacks = SlackSocketModeListenerCallbacks::new()
        .with_command_events(on_command)
        .with_push_events(on_push)
        .with_interaction_events(on_interaction);
    let environment = Arc::new(
        SlackClientEventsListenerEnvironment::new(client)
            .with_error_handler(|e, _client, _states| {
                tracing::warn!(error = %e, "Socket Mode error");
                HttpStatusCode::OK
            })
            .with_user_state(bot),
    );
    let listener = SlackClientSocketModeListener::new(&SlackClientSocketModeConfig::new(), environment, callbacks);
    let token = SlackApiToken::new(app_token.expose_secret().to_owned().into());
    listener.listen_for(&token).await?;
    tracing::info!("Socket Mode connected");
    listener.serve().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Slack's JSON → slack-morphism's type → ours, as a Socket Mode envelope travels.
    fn through<M, T>(v: serde_json::Value) -> T
    where
        M: serde::de::DeserializeOwned + serde::Serialize,
        T: serde::de::DeserializeOwned,
    {
        let typed: M = serde_json::from_value(v).expect("slack-morphism reads it");
        convert(serde_json::to_value(&typed).expect("serializes")).expect("we read it")
    }

    #[test]
    fn commands_arrive_as_over_http() {
        let cmd: SlashCommand = through::<SlackCommandEvent, _>(json!({
            "team_id": "T1", "channel_id": "C1", "user_id": "U1", "command": "/sales", "text": "어제 채널별",
            "response_url": "https://hooks.slack.com/commands/T1/1/x", "trigger_id": "1.2.3"
        }));
        assert_eq!(cmd.line(), "/sales 어제 채널별");
        assert_eq!((cmd.user_id.as_str(), cmd.channel_id.as_str()), ("U1", "C1"));
    }

    #[test]
    fn mentions_arrive_as_over_http() {
        let mut v = serde_json::to_value(
            serde_json::from_value::<SlackPushEventCallback>(json!({
                "team_id": "T1", "api_app_id": "A1", "event_id": "Ev1", "event_time": 1_700_000_000,
                "event": { "type": "app_mention", "user": "U1", "text": "<@UBOT> sales 어제",
                           "ts": "1.5", "channel": "C1", "event_ts": "1.5" }
            }))
            .expect("slack-morphism reads it"),
        )
        .expect("serializes");
        v["type"] = "event_callback".into();
        let e: EventEnvelope = convert(v).expect("we read it");
        assert_eq!(e.event_id.as_deref(), Some("Ev1"));
        let event = e.event.expect("an event");
        assert_eq!(
            (event.kind.as_str(), event.channel.as_deref()),
            ("app_mention", Some("C1"))
        );
        assert_eq!(event.text.as_deref(), Some("<@UBOT> sales 어제"));
    }

    #[test]
    fn button_clicks_arrive_as_over_http() {
        let i: Interaction = through::<SlackInteractionEvent, _>(json!({
            "type": "block_actions", "team": { "id": "T1" }, "user": { "id": "U9", "team_id": "T1" },
            "api_app_id": "A1", "trigger_id": "1.2.3", "channel": { "id": "C1", "name": "alerts" },
            "container": { "type": "message", "message_ts": "1.7", "channel_id": "C1", "is_ephemeral": false },
            "response_url": "https://hooks.slack.com/actions/T1/1/x",
            "actions": [{ "type": "button", "action_id": "stock_adjust_10", "block_id": "alert:1",
                          "value": "var_1:10", "action_ts": "1.8", "text": { "type": "plain_text", "text": "재고 +10" } }]
        }));
        assert_eq!(i.kind, "block_actions");
        assert_eq!(i.user.map(|u| u.id).as_deref(), Some("U9"));
        assert_eq!(i.actions[0].value.as_deref(), Some("var_1:10"));
        assert!(i.response_url.is_some());
    }
}
