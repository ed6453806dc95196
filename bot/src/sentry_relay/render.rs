//! Block Kit for the relay's messages: an issue's root message (open, resolved, muted), the
//! notes threaded under it, the "N more events" summary and the quiet-hours digest. Every
//! message also has a plain `text`, which notifications and screen readers show.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::wire::Facts;
use crate::settings::SentryLevel;

/// A message's fallback text and blocks.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Rendered {
    pub text: String,
    pub blocks: Vec<Value>,
}

/// How the root message of an issue or alert shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Open,
    Resolved { by: Option<String> },
    Muted { how: String },
}

/// Titles and culprits are cut here: a section's text may hold 3,000 characters.
const MAX_TITLE: usize = 200;

/// The emoji of a level, at the start of every message about an issue.
pub(crate) fn level_emoji(level: SentryLevel) -> &'static str {
    match level {
        SentryLevel::Fatal => "🔥",
        SentryLevel::Error => "🔴",
        SentryLevel::Warning => "🟠",
        SentryLevel::Info => "🔵",
        SentryLevel::Debug => "⚪",
    }
}

fn level_name(level: SentryLevel) -> &'static str {
    match level {
        SentryLevel::Fatal => "fatal",
        SentryLevel::Error => "error",
        SentryLevel::Warning => "warning",
        SentryLevel::Info => "info",
        SentryLevel::Debug => "debug",
    }
}

/// Slack's mrkdwn treats `&`, `<` and `>` as control characters.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

/// `<url|label>` when there is a usable URL, else the label; `label` is escaped here.
fn link(url: Option<&str>, label: &str) -> String {
    let label = escape(label);
    match url.filter(|u| u.starts_with("https://") || u.starts_with("http://")) {
        Some(u) if !u.contains(['|', '>', '<', ' ']) => format!("<{u}|{label}>"),
        _ => label,
    }
}

fn section(text: &str) -> Value {
    json!({ "type": "section", "text": { "type": "mrkdwn", "text": text } })
}

fn context(text: &str) -> Value {
    json!({ "type": "context", "elements": [{ "type": "mrkdwn", "text": text }] })
}

/// `shop · production · SHOP-9 · 3 events · error`
fn facts_line(f: &Facts) -> String {
    let mut parts = Vec::new();
    if f.metric {
        parts.push("metric alert".to_owned());
    }
    if let Some(p) = &f.project {
        parts.push(format!("*{}*", escape(p)));
    }
    if let Some(e) = &f.environment {
        parts.push(escape(e));
    }
    if let Some(s) = &f.short_id {
        parts.push(format!("`{}`", escape(s)));
    }
    if let Some(c) = &f.count {
        parts.push(if c == "1" {
            "1 event".to_owned()
        } else {
            format!("{} events", escape(c))
        });
    }
    if !f.metric {
        parts.push(level_name(f.level).to_owned());
    }
    parts.join(" · ")
}

/// The one message per issue or metric alert; updated in place when its state changes.
pub(crate) fn root(f: &Facts, state: &State) -> Rendered {
    let title = cut(&f.title, MAX_TITLE);
    let emoji = level_emoji(f.level);
    let headline = match state {
        State::Open => format!("{emoji} *{}*", link(f.link.as_deref(), &title)),
        State::Resolved { .. } => format!("✅ *Resolved* · ~{}~", link(f.link.as_deref(), &title)),
        State::Muted { how } => format!("🔕 *Muted ({})* · {}", escape(how), link(f.link.as_deref(), &title)),
    };
    let mut body = headline;
    if let Some(c) = &f.culprit {
        let _ = write!(body, "\n`{}`", escape(&cut(c, MAX_TITLE)));
    }
    if let Some(d) = &f.description {
        let _ = write!(body, "\n{}", escape(&cut(d, 500)));
    }
    let mut line = facts_line(f);
    if let State::Resolved { by: Some(by) } = state {
        let _ = write!(line, " · resolved by {}", escape(by));
    }
    let text = match state {
        State::Open => format!("{emoji} {}{}", level_prefix(f), title),
        State::Resolved { .. } => format!("✅ Resolved: {title}"),
        State::Muted { how } => format!("🔕 Muted ({how}): {title}"),
    };
    Rendered {
        text: with_where(text, f),
        blocks: vec![section(&body), context(&line)],
    }
}

fn level_prefix(f: &Facts) -> String {
    if f.metric {
        "Metric alert: ".to_owned()
    } else {
        format!("[{}] ", level_name(f.level))
    }
}

/// `… (shop, production)`
fn with_where(text: String, f: &Facts) -> String {
    let place: Vec<&str> = [f.project.as_deref(), f.environment.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if place.is_empty() {
        text
    } else {
        format!("{text} ({})", place.join(", "))
    }
}

/// A repeat of an issue, threaded under its message.
pub(crate) fn again(f: &Facts, rule: Option<&str>, event_link: Option<&str>) -> Rendered {
    let mut line = format!("🔁 {} again", link(event_link, "New event"));
    if let Some(r) = rule {
        let _ = write!(line, " · rule *{}*", escape(r));
    }
    if let Some(e) = &f.environment {
        let _ = write!(line, " · {}", escape(e));
    }
    let _ = write!(line, " · {}", level_name(f.level));
    Rendered {
        text: format!("🔁 Again: {}", cut(&f.title, MAX_TITLE)),
        blocks: vec![section(&line)],
    }
}

/// A metric alert changing status (warning ↔ critical) under its first message.
pub(crate) fn metric_status(f: &Facts) -> Rendered {
    let status = if f.level == SentryLevel::Fatal {
        "critical"
    } else {
        "warning"
    };
    let mut line = format!("{} Now *{status}*", level_emoji(f.level));
    if let Some(d) = &f.description {
        let _ = write!(line, ": {}", escape(&cut(d, 500)));
    }
    Rendered {
        text: format!("{} is {status}", cut(&f.title, MAX_TITLE)),
        blocks: vec![section(&line)],
    }
}

/// An issue back from resolved (a regression).
pub(crate) fn reopened(f: &Facts) -> Rendered {
    Rendered {
        text: format!("🔁 Unresolved again: {}", cut(&f.title, MAX_TITLE)),
        blocks: vec![section("🔁 *Unresolved again* (regressed)")],
    }
}

/// An assignment, threaded under the issue.
pub(crate) fn assigned(to: &str, by: Option<&str>) -> Rendered {
    let mut line = format!("👤 Assigned to *{}*", escape(to));
    if let Some(by) = by {
        let _ = write!(line, " by {}", escape(by));
    }
    Rendered {
        text: format!("Assigned to {to}"),
        blocks: vec![section(&line)],
    }
}

/// One line of a summary or digest: an issue and how often it came.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tally {
    pub key: String,
    pub facts: Facts,
    pub times: u32,
}

/// How many tallies a summary or digest lists; the rest are counted.
const MAX_LISTED: usize = 15;

fn tally_lines(tallies: &[Tally]) -> String {
    let mut lines: Vec<String> = tallies
        .iter()
        .take(MAX_LISTED)
        .map(|t| {
            let times = if t.times > 1 {
                format!(" ×{}", t.times)
            } else {
                String::new()
            };
            let place: Vec<String> = [t.facts.project.as_deref(), t.facts.environment.as_deref()]
                .into_iter()
                .flatten()
                .map(escape)
                .collect();
            let place = if place.is_empty() {
                String::new()
            } else {
                format!(" · {}", place.join(" · "))
            };
            let title = cut(&t.facts.title, 120);
            format!(
                "{} {}{times}{place}",
                level_emoji(t.facts.level),
                link(t.facts.link.as_deref(), &title)
            )
        })
        .collect();
    if tallies.len() > MAX_LISTED {
        lines.push(format!("…and {} more issues", tallies.len() - MAX_LISTED));
    }
    lines.join("\n")
}

/// "N more events": what a route's rate limit held back in one minute.
pub(crate) fn summary(more: u32, limit: u32, tallies: &[Tally]) -> Rendered {
    let head = if more == 1 {
        "1 more event".to_owned()
    } else {
        format!("{more} more events")
    };
    Rendered {
        text: format!("⏸️ {head} from Sentry in the last minute (at most {limit} messages a minute here)"),
        blocks: vec![
            section(&format!(
                "⏸️ *{head}* from Sentry in the last minute, not posted one by one:"
            )),
            section(&tally_lines(tallies)),
            context(&format!(
                "At most {limit} Sentry messages a minute go to this channel (`sentry.max_per_minute`)."
            )),
        ],
    }
}

/// What quiet hours held, posted when they end.
pub(crate) fn digest(events: u32, quiet: &str, tallies: &[Tally]) -> Rendered {
    let head = if events == 1 {
        "1 event".to_owned()
    } else {
        format!("{events} events")
    };
    Rendered {
        text: format!("🌙 {head} from Sentry held during quiet hours ({quiet})"),
        blocks: vec![
            section(&format!("🌙 *{head}* from Sentry held during quiet hours ({quiet}):")),
            section(&tally_lines(tallies)),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            title: "결제 <승인> & 실패".to_owned(),
            culprit: Some("checkout::confirm".to_owned()),
            project: Some("shop".to_owned()),
            environment: Some("production".to_owned()),
            level: SentryLevel::Error,
            short_id: Some("SHOP-9".to_owned()),
            count: Some("3".to_owned()),
            link: Some("https://sentry.io/organizations/o/issues/9/".to_owned()),
            description: None,
            metric: false,
        }
    }

    #[test]
    fn a_root_message_escapes_and_links_its_title() {
        let r = root(&facts(), &State::Open);
        assert_eq!(r.text, "🔴 [error] 결제 <승인> & 실패 (shop, production)");
        assert_eq!(
            r.blocks[0]["text"]["text"],
            "🔴 *<https://sentry.io/organizations/o/issues/9/|결제 &lt;승인&gt; &amp; 실패>*\n`checkout::confirm`"
        );
        assert_eq!(
            r.blocks[1]["elements"][0]["text"],
            "*shop* · production · `SHOP-9` · 3 events · error"
        );
        let done = root(
            &facts(),
            &State::Resolved {
                by: Some("Kim".to_owned()),
            },
        );
        assert!(done.text.starts_with("✅ Resolved"));
        assert!(
            done.blocks[1]["elements"][0]["text"]
                .as_str()
                .expect("text")
                .ends_with("resolved by Kim")
        );
    }

    #[test]
    fn long_titles_are_cut_on_a_character() {
        let mut f = facts();
        f.title = "가".repeat(500);
        let r = root(&f, &State::Open);
        assert!(r.text.contains(&format!("{}…", "가".repeat(MAX_TITLE))));
    }
}
