//! The relay's worker: routes each notice to a channel, keeps one Slack message per issue
//! (threading repeats, updating it on resolve), and holds back floods and quiet-hours noise.
//! It runs as one task fed by a queue, so deliveries are handled in the order they came and
//! its counters need no locks.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::Duration,
};

use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::{mpsc, oneshot};

use super::{
    Clock, MessageUpdate, PostMessage, Poster, SlackThread, Threads,
    render::{self, Rendered, State, Tally},
    wire::{Facts, Kind, Notice},
};
use crate::settings::{QuietHours, SentryLevel, SentryRoute, SentrySettings};

/// What the webhook handler and the handle send to the worker.
pub(crate) enum Job {
    Deliver(Box<Notice>),
    /// Post the summaries and digests that are due; answers when done.
    Tick(Option<oneshot::Sender<()>>),
    /// Answers once everything queued before it is handled.
    Barrier(oneshot::Sender<()>),
}

/// A rate-limit window: the first message opens it, it lasts a minute.
const WINDOW: TimeDelta = TimeDelta::minutes(1);

/// Which route a message counts against: `sentry.routes[i]`, or the fallback channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum RouteId {
    Route(usize),
    Fallback,
}

struct Window {
    started: DateTime<Utc>,
    channel: String,
    sent: u32,
    folded: u32,
    tallies: Vec<Tally>,
}

#[derive(Default)]
struct Held {
    events: u32,
    tallies: Vec<Tally>,
}

/// Whether a new message goes out now.
enum Gate {
    Send,
    /// Quiet hours: into the digest.
    Held,
    /// Over the route's rate: into the summary.
    Folded,
}

pub(crate) struct Core<P, T> {
    poster: P,
    threads: T,
    clock: Arc<dyn Clock>,
    routes: Vec<SentryRoute>,
    fallback: Option<String>,
    max_per_minute: u32,
    quiet: Option<QuietHours>,
    windows: HashMap<RouteId, Window>,
    /// Quiet-hours holds by channel.
    held: BTreeMap<String, Held>,
}

impl<P: Poster, T: Threads> Core<P, T> {
    pub(crate) fn new(
        settings: &SentrySettings,
        fallback: Option<String>,
        poster: P,
        threads: T,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Core {
            poster,
            threads,
            clock,
            routes: settings.routes.clone(),
            fallback,
            max_per_minute: settings.max_per_minute,
            quiet: settings.quiet_hours.clone(),
            windows: HashMap::new(),
            held: BTreeMap::new(),
        }
    }

    /// Handles jobs until every sender is gone; `tick_every` also flushes on a timer.
    pub(crate) async fn run(mut self, mut jobs: mpsc::Receiver<Job>, tick_every: Option<Duration>) {
        let mut ticker = tick_every.map(tokio::time::interval);
        loop {
            let job = match ticker.as_mut() {
                Some(t) => tokio::select! {
                    job = jobs.recv() => job,
                    _ = t.tick() => Some(Job::Tick(None)),
                },
                None => jobs.recv().await,
            };
            match job {
                None => break,
                Some(Job::Deliver(notice)) => self.handle(*notice).await,
                Some(Job::Tick(done)) => {
                    self.flush(self.clock.now()).await;
                    if let Some(done) = done {
                        let _ = done.send(());
                    }
                }
                Some(Job::Barrier(done)) => {
                    let _ = done.send(());
                }
            }
        }
    }

    async fn handle(&mut self, n: Notice) {
        let now = self.clock.now();
        // A window that ended before this message gets its summary first.
        self.flush(now).await;
        let Some((route, channel)) = route(&self.routes, self.fallback.as_deref(), &n.facts) else {
            tracing::warn!(key = %n.key, "Sentry notice matches no route and bot.alert_channel is unset: dropped");
            return;
        };
        let thread = match self.threads.get(&n.key).await {
            Ok(t) => t,
            Err(e) => {
                // Without the thread the worst case is a second root message, not a lost alert.
                tracing::warn!(key = %n.key, error = %e, "cannot read the Sentry issue's Slack thread");
                None
            }
        };
        let Notice { key, kind, facts } = n;
        match (kind, thread) {
            (Kind::Opened | Kind::Again { .. } | Kind::Reopened, None) => {
                self.post_root(route, channel, key, facts, now).await;
            }
            (Kind::Opened, Some(t)) => {
                self.update(&t, &key, render::root(&facts, &State::Open)).await;
                if facts.metric {
                    let r = render::metric_status(&facts);
                    self.reply(route, &t, key, facts, r, now).await;
                }
            }
            (Kind::Again { rule, event_link }, Some(t)) => {
                let r = render::again(&facts, rule.as_deref(), event_link.as_deref());
                self.reply(route, &t, key, facts, r, now).await;
            }
            (Kind::Reopened, Some(t)) => {
                self.update(&t, &key, render::root(&facts, &State::Open)).await;
                let r = render::reopened(&facts);
                self.reply(route, &t, key, facts, r, now).await;
            }
            (Kind::Resolved { by }, Some(t)) => {
                self.update(&t, &key, render::root(&facts, &State::Resolved { by }))
                    .await;
            }
            (Kind::Muted { how }, Some(t)) => {
                self.update(&t, &key, render::root(&facts, &State::Muted { how })).await;
            }
            (Kind::Assigned { to, by }, Some(t)) => {
                let r = render::assigned(&to, by.as_deref());
                self.reply(route, &t, key, facts, r, now).await;
            }
            (Kind::Resolved { .. } | Kind::Muted { .. } | Kind::Assigned { .. }, None) => {
                tracing::debug!(key = %key, "no Slack message for this Sentry issue: nothing to update");
            }
        }
    }

    async fn post_root(&mut self, route: RouteId, channel: String, key: String, facts: Facts, now: DateTime<Utc>) {
        if !matches!(self.gate(route, &channel, &key, &facts, now), Gate::Send) {
            return;
        }
        let r = render::root(&facts, &State::Open);
        let msg = PostMessage {
            channel: channel.clone(),
            text: r.text,
            blocks: r.blocks,
            thread_ts: None,
        };
        let ts = match self.poster.post(msg).await {
            Ok(ts) => ts,
            Err(e) => {
                tracing::warn!(key = %key, error = %e, "posting a Sentry issue to Slack failed");
                return;
            }
        };
        match self
            .threads
            .save(
                &key,
                SlackThread {
                    channel,
                    ts: ts.clone(),
                },
            )
            .await
        {
            Ok(kept) if kept.ts != ts => {
                // Two deliveries for one issue raced; later ones thread under the first.
                tracing::info!(key = %key, "another message holds this Sentry issue's thread");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(key = %key, error = %e, "cannot save the Sentry issue's Slack thread"),
        }
    }

    async fn reply(
        &mut self,
        route: RouteId,
        t: &SlackThread,
        key: String,
        facts: Facts,
        r: Rendered,
        now: DateTime<Utc>,
    ) {
        if !matches!(self.gate(route, &t.channel, &key, &facts, now), Gate::Send) {
            return;
        }
        let msg = PostMessage {
            channel: t.channel.clone(),
            text: r.text,
            blocks: r.blocks,
            thread_ts: Some(t.ts.clone()),
        };
        if let Err(e) = self.poster.post(msg).await {
            tracing::warn!(key = %key, error = %e, "posting into a Sentry issue's thread failed");
        }
    }

    /// Updates notify no one: neither quiet hours nor the rate limit hold them.
    async fn update(&self, t: &SlackThread, key: &str, r: Rendered) {
        let u = MessageUpdate {
            channel: t.channel.clone(),
            ts: t.ts.clone(),
            text: r.text,
            blocks: r.blocks,
        };
        if let Err(e) = self.poster.update(u).await {
            tracing::warn!(key = %key, error = %e, "updating a Sentry issue's message failed");
        }
    }

    fn gate(&mut self, route: RouteId, channel: &str, key: &str, facts: &Facts, now: DateTime<Utc>) -> Gate {
        if let Some(q) = &self.quiet
            && facts.level < SentryLevel::Fatal
            && q.contains(now)
        {
            let held = self.held.entry(channel.to_owned()).or_default();
            held.events += 1;
            tally(&mut held.tallies, key, facts);
            return Gate::Held;
        }
        if self.max_per_minute == 0 {
            return Gate::Send;
        }
        let w = self.windows.entry(route).or_insert_with(|| Window {
            started: now,
            channel: channel.to_owned(),
            sent: 0,
            folded: 0,
            tallies: Vec::new(),
        });
        if w.sent < self.max_per_minute {
            w.sent += 1;
            Gate::Send
        } else {
            w.folded += 1;
            tally(&mut w.tallies, key, facts);
            Gate::Folded
        }
    }

    /// Posts the summary of every window that has ended, and the digest once quiet hours are
    /// over.
    async fn flush(&mut self, now: DateTime<Utc>) {
        let mut ended: Vec<(RouteId, DateTime<Utc>)> = self
            .windows
            .iter()
            .filter(|(_, w)| now >= w.started + WINDOW)
            .map(|(id, w)| (*id, w.started))
            .collect();
        ended.sort_by_key(|(_, started)| *started);
        for (id, _) in ended {
            let Some(w) = self.windows.remove(&id) else { continue };
            if w.folded > 0 {
                let r = render::summary(w.folded, self.max_per_minute, &w.tallies);
                self.post_plain(w.channel, r, "rate-limit summary").await;
            }
        }
        let quiet_over = self.quiet.as_ref().is_some_and(|q| !q.contains(now));
        if quiet_over && !self.held.is_empty() {
            let span = self
                .quiet
                .as_ref()
                .map(|q| format!("{}–{}", q.start, q.end))
                .unwrap_or_default();
            for (channel, held) in std::mem::take(&mut self.held) {
                let r = render::digest(held.events, &span, &held.tallies);
                self.post_plain(channel, r, "quiet-hours digest").await;
            }
        }
    }

    async fn post_plain(&self, channel: String, r: Rendered, what: &'static str) {
        let msg = PostMessage {
            channel,
            text: r.text,
            blocks: r.blocks,
            thread_ts: None,
        };
        if let Err(e) = self.poster.post(msg).await {
            tracing::warn!(error = %e, "posting the Sentry {what} failed");
        }
    }
}

fn tally(tallies: &mut Vec<Tally>, key: &str, facts: &Facts) {
    match tallies.iter_mut().find(|t| t.key == key) {
        Some(t) => t.times += 1,
        None => tallies.push(Tally {
            key: key.to_owned(),
            facts: facts.clone(),
            times: 1,
        }),
    }
}

/// The first route whose conditions all hold, else the fallback channel. A route naming an
/// environment never takes a notice without one (issue webhooks carry none).
fn route(routes: &[SentryRoute], fallback: Option<&str>, f: &Facts) -> Option<(RouteId, String)> {
    let hit = routes.iter().enumerate().find(|(_, r)| {
        r.project.as_ref().is_none_or(|p| f.project.as_ref() == Some(p))
            && r.environment.as_ref().is_none_or(|e| f.environment.as_ref() == Some(e))
            && r.min_level.is_none_or(|m| f.level >= m)
    });
    match hit {
        Some((i, r)) => Some((RouteId::Route(i), r.channel.clone())),
        None => fallback.map(|c| (RouteId::Fallback, c.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(
        project: Option<&str>,
        environment: Option<&str>,
        min_level: Option<SentryLevel>,
        channel: &str,
    ) -> SentryRoute {
        SentryRoute {
            project: project.map(str::to_owned),
            environment: environment.map(str::to_owned),
            min_level,
            channel: channel.to_owned(),
        }
    }

    fn facts(project: Option<&str>, environment: Option<&str>, level: SentryLevel) -> Facts {
        Facts {
            title: "t".to_owned(),
            culprit: None,
            project: project.map(str::to_owned),
            environment: environment.map(str::to_owned),
            level,
            short_id: None,
            count: None,
            link: None,
            description: None,
            metric: false,
        }
    }

    #[test]
    fn the_first_matching_route_wins_else_the_alert_channel() {
        let routes = [
            r(Some("shop"), Some("production"), Some(SentryLevel::Error), "CPRODERR"),
            r(Some("shop"), None, None, "CSHOP"),
            r(None, None, Some(SentryLevel::Fatal), "CFATAL"),
        ];
        let to = |f: &Facts| route(&routes, Some("CALERT"), f).map(|(_, c)| c);
        assert_eq!(
            to(&facts(Some("shop"), Some("production"), SentryLevel::Error)).as_deref(),
            Some("CPRODERR")
        );
        assert_eq!(
            to(&facts(Some("shop"), Some("production"), SentryLevel::Warning)).as_deref(),
            Some("CSHOP")
        );
        // No environment (an issue webhook): the environment route doesn't take it.
        assert_eq!(
            to(&facts(Some("shop"), None, SentryLevel::Fatal)).as_deref(),
            Some("CSHOP")
        );
        assert_eq!(
            to(&facts(Some("bot"), None, SentryLevel::Fatal)).as_deref(),
            Some("CFATAL")
        );
        assert_eq!(
            to(&facts(Some("bot"), None, SentryLevel::Error)).as_deref(),
            Some("CALERT")
        );
        assert_eq!(route(&routes, None, &facts(None, None, SentryLevel::Info)), None);
    }
}
