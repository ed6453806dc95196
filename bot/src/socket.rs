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
