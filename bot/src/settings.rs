//! The bot's settings, from the service's file and scheme: built-in defaults → optional
//! `jangteo.toml` (or `--config PATH`) → `JANGTEO_*` environment, `__` between levels
//! (`JANGTEO_BOT__API_TOKEN`, `JANGTEO_SLACK__SIGNING_SECRET`). Keys the service reads are
//! ignored here, and ours there. Secrets are `SecretString`: redacted in `Debug`, never logged.

use std::{fmt, net::SocketAddr, path::PathBuf, str::FromStr};

use chrono::NaiveTime;
use chrono_tz::Tz;
use figment::{
    Figment,
    providers::{Format, Toml},
};
use secrecy::SecretString;
use serde::Deserialize;
use telemetry::logs::LogStringAsFilter;
use url::Url;

const DEFAULTS: &str = include_str!("defaults.toml");

/// All of the bot's settings. Not `Serialize`: it holds secrets.
#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    /// Logs: a `tracing` filter (`info,bot=debug`) and text or JSON lines.
    pub log: telemetry::logs::LogSettings,
    /// The bot itself: its admin API, channels and schedule.
    pub bot: BotSettings,
    /// The Slack app.
    pub slack: SlackSettings,
    /// The Sentry relay.
    pub sentry: SentrySettings,
}

/// The bot: how it reaches the admin API and where it posts on its own.
#[derive(Clone, Debug, Deserialize)]
pub struct BotSettings {
    /// The admin GraphQL endpoint of `jangteo serve`.
    pub api_url: Url,
    /// A bot token (`botTokenCreate`), sent as `Authorization: Bearer …`.
    pub api_token: Option<SecretString>,
    /// The channel of the daily report; none: no report.
    pub report_channel: Option<String>,
    /// The channel of proactive alerts, and of Sentry issues no route takes.
    pub alert_channel: Option<String>,
    /// Channels for alerts of one kind (`LOW_STOCK = "C…"`, any case), before `alert_channel`.
    #[serde(default)]
    pub alert_channels: std::collections::BTreeMap<String, String>,
    /// When the daily report is posted, Seoul time.
    pub report_time: ClockTime,
    /// Where `jangteo-bot http` listens without `--listen`.
    pub listen: SocketAddr,
    /// Where `jangteo-bot console` writes charts.
    pub chart_dir: PathBuf,
    /// Seconds one admin API call may take.
    pub api_timeout_secs: u64,
    /// Seconds between two polls of the service's alerts.
    pub alert_poll_secs: u64,
}

impl BotSettings {
    /// Where an alert of `kind` (`LOW_STOCK`, `SOLD_OUT`, …) goes: its kind's channel, else
    /// `alert_channel`; `None`: nowhere.
    pub fn alert_channel_for(&self, kind: &str) -> Option<&str> {
        self.alert_channels
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(kind))
            .map(|(_, c)| c.as_str())
            .or(self.alert_channel.as_deref())
    }

    /// Whether any alert has somewhere to go.
    pub fn posts_alerts(&self) -> bool {
        self.alert_channel.is_some() || !self.alert_channels.is_empty()
    }
}

/// The Slack app's credentials and Web API base.
#[derive(Clone, Debug, Deserialize)]
pub struct SlackSettings {
    /// The bot user's token (`xoxb-…`).
    pub bot_token: Option<SecretString>,
    /// The app-level token for Socket Mode (`xapp-…`).
    pub app_token: Option<SecretString>,
    /// Verifies requests Slack sends over HTTP.
    pub signing_secret: Option<SecretString>,
    /// The Web API base, `https://slack.com/api/` (a fake's in tests).
    pub api_url: Url,
}

/// The Sentry relay's settings (`sentry.*`).
#[derive(Clone, Debug, Deserialize)]
pub struct SentrySettings {
    /// The internal integration's Client Secret, which signs webhooks; none: the relay
    /// refuses every delivery.
    pub client_secret: Option<SecretString>,
    /// Channels by project, environment and level; the first match wins, else
    /// `bot.alert_channel`.
    #[serde(default)]
    pub routes: Vec<SentryRoute>,
    /// Messages per route per minute before the rest fold into one summary.
    pub max_per_minute: u32,
    /// Hours in which issues below `fatal` are held.
    #[serde(default)]
    pub quiet_hours: Option<QuietHours>,
}

/// Where Sentry issues matching all given conditions go.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct SentryRoute {
    /// The project's slug; none: any.
    #[serde(default)]
    pub project: Option<String>,
    /// The environment; none: any.
    #[serde(default)]
    pub environment: Option<String>,
    /// The lowest level taken; none: any.
    #[serde(default)]
    pub min_level: Option<SentryLevel>,
    /// The Slack channel id.
    pub channel: String,
}

/// Sentry's levels, lowest first.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum SentryLevel {
    /// `debug`.
    Debug,
    /// `info`.
    Info,
    /// `warning` (also `warn`).
    #[serde(alias = "warn")]
    Warning,
    /// `error`.
    Error,
    /// `fatal`.
    Fatal,
}

impl SentryLevel {
    /// Sentry's name of a level; unknown names read as `error`, the level Sentry gives
    /// events without one.
    pub fn parse(s: &str) -> SentryLevel {
        match s.to_ascii_lowercase().as_str() {
            "debug" => SentryLevel::Debug,
            "info" | "log" => SentryLevel::Info,
            "warning" | "warn" => SentryLevel::Warning,
            "fatal" | "critical" => SentryLevel::Fatal,
            _ => SentryLevel::Error,
        }
    }
}

/// A span of the day in a time zone; `start` after `end` wraps past midnight.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct QuietHours {
    /// From, e.g. `22:00`.
    pub start: ClockTime,
    /// Until (excluded), e.g. `08:00`.
    pub end: ClockTime,
    /// The zone, e.g. `Asia/Seoul` (the default).
    #[serde(default)]
    pub tz: Zone,
}

impl QuietHours {
    /// Whether `at` falls in these hours.
    pub fn contains(&self, at: chrono::DateTime<chrono::Utc>) -> bool {
        let t = at.with_timezone(&self.tz.0).time();
        let (s, e) = (self.start.0, self.end.0);
        if s <= e { s <= t && t < e } else { t >= s || t < e }
    }
}

/// A time of day written `HH:MM`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String")]
pub struct ClockTime(pub NaiveTime);

impl TryFrom<String> for ClockTime {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        NaiveTime::parse_from_str(s.trim(), "%H:%M")
            .map(ClockTime)
            .map_err(|_| format!("`{s}` is not a time of day like 09:00"))
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%H:%M"))
    }
}

/// An IANA time zone, e.g. `Asia/Seoul`.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(try_from = "String")]
pub struct Zone(pub Tz);

impl Default for Zone {
    fn default() -> Self {
        Zone(chrono_tz::Asia::Seoul)
    }
}

impl TryFrom<String> for Zone {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Tz::from_str(s.trim())
            .map(Zone)
            .map_err(|_| format!("`{s}` is not a time zone"))
    }
}

impl Settings {
    /// The layers in order; later ones win. `config` replaces `./jangteo.toml` when given.
    pub fn figment(config: Option<&std::path::Path>) -> Figment {
        // `log = "…"` (a filter alone) still reads, as `log.filter`.
        let fig = Figment::new().merge(Toml::string(DEFAULTS));
        let fig = match config {
            Some(path) => fig.merge(LogStringAsFilter(Toml::file_exact(path))),
            None => fig.merge(LogStringAsFilter(Toml::file("jangteo.toml"))),
        };
        fig.merge(telemetry::logs::env("JANGTEO_"))
    }

    /// Loads settings from all layers.
    pub fn load(config: Option<&std::path::Path>) -> Result<Settings, Box<figment::Error>> {
        Self::figment(config).extract().map_err(Box::new)
    }

    /// The built-in defaults alone (tests start from these).
    ///
    /// # Panics
    /// Never: `defaults.toml` is compiled in and tested.
    pub fn defaults() -> Settings {
        Figment::new()
            .merge(Toml::string(DEFAULTS))
            .extract()
            .expect("built-in defaults.toml is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use secrecy::ExposeSecret;

    #[test]
    fn defaults_point_at_the_local_service_and_slack() {
        let s = Settings::defaults();
        assert_eq!(s.bot.api_url.as_str(), "http://127.0.0.1:8080/admin/graphql");
        assert_eq!(s.slack.api_url.as_str(), "https://slack.com/api/");
        assert_eq!(s.bot.report_time.to_string(), "09:00");
        assert_eq!(s.sentry.max_per_minute, 10);
        assert!(s.sentry.routes.is_empty() && s.sentry.quiet_hours.is_none());
        assert!(s.bot.api_token.is_none() && s.slack.signing_secret.is_none());
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment::Jail's closure type
    fn file_then_environment_override_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "jangteo.toml",
                r#"
                listen = "0.0.0.0:8080"   # the service's, ignored here
                [bot]
                report_channel = "CREPORT"
                report_time = "08:30"
                [[sentry.routes]]
                project = "shop"
                min_level = "warn"
                channel = "CSHOP"
                [sentry.quiet_hours]
                start = "22:00"
                end = "08:00"
                "#,
            )?;
            jail.set_env("JANGTEO_BOT__API_TOKEN", "jbt_secret");
            jail.set_env("JANGTEO_BOT__ALERT_CHANNELS__LOW_STOCK", "COPS");
            jail.set_env("JANGTEO_SLACK__API_URL", "http://127.0.0.1:9999/api/");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.bot.report_channel.as_deref(), Some("CREPORT"));
            // Environment keys arrive lower-cased; kinds match in any case.
            assert_eq!(s.bot.alert_channel_for("LOW_STOCK"), Some("COPS"));
            assert_eq!(s.bot.alert_channel_for("SOLD_OUT"), None, "no alert_channel set");
            assert!(s.bot.posts_alerts());
            assert_eq!(s.bot.report_time.to_string(), "08:30");
            assert_eq!(
                s.bot.api_token.as_ref().map(ExposeSecret::expose_secret),
                Some("jbt_secret")
            );
            assert_eq!(s.slack.api_url.as_str(), "http://127.0.0.1:9999/api/");
            assert_eq!(s.sentry.routes[0].min_level, Some(SentryLevel::Warning));
            assert_eq!(s.sentry.routes[0].environment, None);
            let quiet = s.sentry.quiet_hours.expect("quiet hours set");
            assert_eq!(quiet.tz, Zone::default());
            // 23:30 and 07:59 Seoul are quiet; 08:00 is not.
            let seoul = |h, m| {
                chrono_tz::Asia::Seoul
                    .with_ymd_and_hms(2026, 12, 1, h, m, 0)
                    .unwrap()
                    .to_utc()
            };
            assert!(quiet.contains(seoul(23, 30)) && quiet.contains(seoul(7, 59)));
            assert!(!quiet.contains(seoul(8, 0)) && !quiet.contains(seoul(12, 0)));
            Ok(())
        });
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let mut s = Settings::defaults();
        s.slack.signing_secret = Some(SecretString::from("very-secret"));
        assert!(!format!("{s:?}").contains("very-secret"));
    }

    #[test]
    fn bad_times_are_refused() {
        assert!(ClockTime::try_from("25:00".to_owned()).is_err());
        assert!(Zone::try_from("Mars/Base".to_owned()).is_err());
        assert_eq!(SentryLevel::parse("WARNING"), SentryLevel::Warning);
        assert!(SentryLevel::Fatal > SentryLevel::Error);
    }
}
