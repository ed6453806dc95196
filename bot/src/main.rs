//! `jangteo-bot`: console, HTTP and Socket Mode front ends of the bot.

use std::{io::IsTerminal, net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use anyhow::{Context, bail};
use bot::{
    api::Api,
    handlers::Bot,
    http::{ApiThreads, SlackPoster},
    schedule,
    sentry_relay::SentryRelay,
    settings::Settings,
    slack::SlackWeb,
};
use clap::{Parser, Subcommand};
use secrecy::SecretString;

/// Jangteo's Slack bot: `/sales`, `/order`, `/stock`, the daily report, alerts and the
/// Sentry relay, over the admin GraphQL API.
#[derive(Parser)]
#[command(version)]
struct Cli {
    /// A settings file instead of `./jangteo.toml` (the service's file).
    #[arg(long, global = true, env = "JANGTEO_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Commands from stdin, answers on stdout, charts under `bot.chart_dir` (no Slack).
    Console,
    /// Slack's Request URLs and the Sentry webhook over HTTP, plus the report and alerts.
    Http {
        /// Where to listen (default `bot.listen`).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Slack Socket Mode with `slack.app_token`, plus the report and alerts.
    Socket,
}

impl Command {
    fn name(&self) -> &'static str {
        match self {
            Command::Console => "bot-console",
            Command::Http { .. } => "bot-http",
            Command::Socket => "bot-socket",
        }
    }
}

fn need<'a>(v: Option<&'a SecretString>, what: &str, hint: &str) -> anyhow::Result<&'a SecretString> {
    v.with_context(|| format!("{what} is not set ({hint})"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Before any TLS client: reqwest is built without a provider (DESIGN.md §9).
    bot::slack::install_tls();
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref()).context("reading settings")?;
    let sentry = telemetry::init_sentry(
        concat!("jangteo-bot@", env!("CARGO_PKG_VERSION")),
        None,
        None,
        cli.command.name(),
    );
    // Logs go to stderr: the console's answers own stdout.
    telemetry::logs::init(
        telemetry::logs::filter(&settings.log),
        settings.log.format,
        sentry.is_some(),
    );

    let token = need(
        settings.bot.api_token.as_ref(),
        "bot.api_token",
        "make one with `jangteo staff bot-token --owner you@shop` or the admin API's botTokenCreate, \
         then set JANGTEO_BOT__API_TOKEN",
    )?;
    let api = Api::new(
        settings.bot.api_url.clone(),
        token.clone(),
        Duration::from_secs(settings.bot.api_timeout_secs.max(1)),
    )?;

    match cli.command {
        Command::Console => {
            let stdin = tokio::io::BufReader::new(tokio::io::stdin());
            let prompt = std::io::stdin().is_terminal();
            let mut stdout = std::io::stdout();
            bot::console::run(&api, stdin, &mut stdout, &settings.bot.chart_dir, prompt).await?;
        }
        Command::Http { listen } => {
            let secret = need(
                settings.slack.signing_secret.as_ref(),
                "slack.signing_secret",
                "the app's Signing Secret: JANGTEO_SLACK__SIGNING_SECRET",
            )?;
            let slack = slack_client(&settings)?;
            let relay = SentryRelay::builder(&settings.sentry, settings.bot.alert_channel.clone())
                .start(SlackPoster(slack.clone()), ApiThreads(api.clone()));
            let bot = Arc::new(Bot::new(api.clone(), slack.clone()));
            schedule::spawn(&settings, api, slack);
            let app = bot::http::app(bot, secret.clone(), Some(relay));
            let addr = listen.unwrap_or(settings.bot.listen);
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("listening on {addr}"))?;
            tracing::info!(%addr, "jangteo-bot http listening");
            axum::serve(listener, app).with_graceful_shutdown(termination()).await?;
        }
        Command::Socket => {
            let app_token = need(
                settings.slack.app_token.as_ref(),
                "slack.app_token",
                "an app-level token xapp-… with connections:write: JANGTEO_SLACK__APP_TOKEN",
            )?;
            let slack = slack_client(&settings)?;
            let bot = Arc::new(Bot::new(api.clone(), slack.clone()));
            schedule::spawn(&settings, api, slack);
            bot::socket::run(bot, &settings.slack.api_url, app_token).await?;
        }
    }
    Ok(())
}

fn slack_client(settings: &Settings) -> anyhow::Result<SlackWeb> {
    let token = need(
        settings.slack.bot_token.as_ref(),
        "slack.bot_token",
        "the bot user's token xoxb-…: JANGTEO_SLACK__BOT_TOKEN",
    )?;
    if settings.slack.api_url.scheme() != "https" && settings.slack.api_url.host_str() != Some("127.0.0.1") {
        bail!("slack.api_url must be https (or a local fake on 127.0.0.1)");
    }
    Ok(SlackWeb::new(settings.slack.api_url.clone(), token.clone())?)
}

/// Resolves on Ctrl-C or SIGTERM (what `docker stop` and Kubernetes send): stop accepting and
/// let the requests in flight finish.
async fn termination() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}
