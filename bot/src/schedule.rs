//! What the bot posts unasked: the daily report at `bot.report_time` (Seoul) in
//! `bot.report_channel`, and the service's alerts (`alerts(since)`, polled every
//! `bot.alert_poll_secs`) in their kind's channel (`bot.alert_channels`) or `bot.alert_channel`, each with its buttons, rewritten ✅ when it
//! clears. Every post is claimed first through the API (`botRunClaim`), so with several bot
//! replicas each report and each alert is posted once.

use std::time::Duration;

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use chrono_tz::Asia::Seoul;

use crate::{
    answer::{self, Answer},
    api::{Alert, Api, ApiError},
    command::{Cut, Period, SalesQuery},
    settings::{BotSettings, Settings},
    slack::{SlackError, SlackWeb},
    views,
};

/// Why a scheduled post failed.
#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    /// The admin API.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// Slack.
    #[error(transparent)]
    Slack(#[from] SlackError),
}

/// Starts the report and alert loops whose channels are set.
pub fn spawn(settings: &Settings, api: Api, slack: SlackWeb) {
    if let Some(channel) = settings.bot.report_channel.clone() {
        let (api, slack, at) = (api.clone(), slack.clone(), settings.bot.report_time.0);
        tokio::spawn(async move {
            loop {
                let now = Utc::now();
                let today = now.with_timezone(&Seoul).date_naive();
                // Started after today's time (a restart, a second replica): try today's now;
                // the claim keeps it to one post.
                if now >= report_at(today, at) {
                    match daily_report(&api, &slack, &channel, today).await {
                        Ok(posted) => tracing::info!(%today, posted, "daily report"),
                        Err(e) => tracing::error!(error = %e, %today, "daily report failed"),
                    }
                }
                let wait = (next_report(Utc::now(), at) - Utc::now())
                    .to_std()
                    .unwrap_or(Duration::from_secs(1));
                tokio::time::sleep(wait).await;
            }
        });
    }
    if settings.bot.posts_alerts() {
        let routes = settings.bot.clone();
        let every = Duration::from_secs(settings.bot.alert_poll_secs.max(1));
        tokio::spawn(async move {
            let mut since: Option<DateTime<Utc>> = None;
            loop {
                let started = Utc::now();
                match poll_alerts(&api, &slack, &routes, since).await {
                    // Overlap the windows: the claims drop what was posted already.
                    Ok(()) => since = Some(started - TimeDelta::minutes(2)),
                    Err(e) => tracing::warn!(error = %e, "alert poll failed"),
                }
                tokio::time::sleep(every).await;
            }
        });
    }
}

/// The next time the report is due after `now`: today's `at` in Seoul if it is still to
/// come, else tomorrow's.
fn next_report(now: DateTime<Utc>, at: chrono::NaiveTime) -> DateTime<Utc> {
    let today = now.with_timezone(&Seoul).date_naive();
    let due = report_at(today, at);
    if now < due {
        due
    } else {
        report_at(today + Days::new(1), at)
    }
}

/// `at` on `day` in Seoul.
fn report_at(day: NaiveDate, at: chrono::NaiveTime) -> DateTime<Utc> {
    day.and_time(at)
        .and_local_timezone(Seoul)
        .earliest()
        .map_or_else(|| day.and_time(at).and_utc(), |t| t.to_utc())
}

/// The report of the day before `today` (yesterday's sales against the day before, and the
/// week's chart) in `channel`, if this replica claims it. True when it posted.
pub async fn daily_report(api: &Api, slack: &SlackWeb, channel: &str, today: NaiveDate) -> Result<bool, ScheduleError> {
    let day = today - Days::new(1);
    if !api.run_claim("daily-report", &day.to_string()).await? {
        return Ok(false);
    }
    let before = day - Days::new(1);
    let q = SalesQuery {
        period: Period {
            from: day,
            to: day,
            label: "어제".into(),
        },
        previous: Period {
            from: before,
            to: before,
            label: crate::format::range(before, before),
        },
        cut: Cut::None,
        ongoing: false,
    };
    let a: Answer = answer::sales(api, &q).await;
    let v = views::daily_report(
        &views::View {
            text: a.text,
            blocks: a.blocks,
        },
        day,
    );
    let posted = slack.post_message(channel, &v.text, &v.blocks, None).await?;
    if let Some(c) = &a.chart {
        slack
            .upload(channel, Some(&posted.ts), &c.filename, &c.title, &c.png)
            .await?;
    }
    Ok(true)
}

/// The Slack message of an alert is kept under this key.
fn alert_key(a: &Alert) -> String {
    format!("alert:{}", a.id)
}

/// One poll: posts each new alert once, and rewrites the message of each cleared one.
pub async fn poll_alerts(
    api: &Api,
    slack: &SlackWeb,
    routes: &BotSettings,
    since: Option<DateTime<Utc>>,
) -> Result<(), ScheduleError> {
    for a in api.alerts(since).await? {
        let done = match (a.cleared_at, routes.alert_channel_for(&a.kind)) {
            (None, Some(channel)) => post_alert(api, slack, channel, &a).await,
            (None, None) => {
                tracing::debug!(alert = a.id, kind = a.kind, "no channel for this kind of alert");
                Ok(())
            }
            (Some(_), _) => clear_alert(api, slack, &a).await,
        };
        if let Err(e) = done {
            tracing::warn!(error = %e, alert = a.id, kind = a.kind, "alert not posted");
        }
    }
    Ok(())
}

async fn post_alert(api: &Api, slack: &SlackWeb, channel: &str, a: &Alert) -> Result<(), ScheduleError> {
    if !api.run_claim("alert", &a.id).await? {
        return Ok(());
    }
    let v = views::alert(a);
    let posted = slack.post_message(channel, &v.text, &v.blocks, None).await?;
    api.thread_save(&alert_key(a), &posted.channel, &posted.ts).await?;
    tracing::info!(alert = a.id, kind = a.kind, "alert posted");
    Ok(())
}

async fn clear_alert(api: &Api, slack: &SlackWeb, a: &Alert) -> Result<(), ScheduleError> {
    // Raised and cleared between two polls: never posted, nothing to rewrite.
    let Some(thread) = api.thread(&alert_key(a)).await? else {
        return Ok(());
    };
    if !api.run_claim("alert-cleared", &a.id).await? {
        return Ok(());
    }
    let v = views::alert_cleared(a);
    slack.update(&thread.channel, &thread.ts, &v.text, &v.blocks).await?;
    tracing::info!(alert = a.id, kind = a.kind, "alert cleared");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_time_is_seoul_time() {
        let at = chrono::NaiveTime::from_hms_opt(9, 0, 0).expect("a time");
        let day: NaiveDate = "2026-12-10".parse().expect("a date");
        assert_eq!(report_at(day, at).to_rfc3339(), "2026-12-10T00:00:00+00:00");
        let t = |s: &str| s.parse::<DateTime<Utc>>().expect("a time");
        // 08:00 Seoul: today's 09:00 is still to come; 09:00 and later: tomorrow's.
        assert_eq!(next_report(t("2026-12-09T23:00:00Z"), at), t("2026-12-10T00:00:00Z"));
        assert_eq!(next_report(t("2026-12-10T00:00:00Z"), at), t("2026-12-11T00:00:00Z"));
        assert_eq!(next_report(t("2026-12-10T14:59:00Z"), at), t("2026-12-11T00:00:00Z"));
        // 00:30 Seoul on the 11th is still the 10th in UTC: the 11th's report is next.
        assert_eq!(next_report(t("2026-12-10T15:30:00Z"), at), t("2026-12-11T00:00:00Z"));
    }
}
