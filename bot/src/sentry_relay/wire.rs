//! Sentry's webhook bodies as Sentry documents them (messaging.md §2), read leniently (every
//! field the relay doesn't need may be missing or change), and turned into a [`Notice`]: what
//! the delivery means for Slack. Nothing here talks to Slack.

use serde::Deserialize;
use serde_json::Value;

use crate::settings::SentryLevel;

/// What a verified delivery asks of the relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Notice {
    /// The Slack thread's key: `sentry:<issue id>` or `sentry-metric:<alert id>`.
    pub key: String,
    /// What happened.
    pub kind: Kind,
    /// What the messages show and the routes match on.
    pub facts: Facts,
}

/// The relay's reading of an action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A new issue (`issue.created`), or a metric alert turning critical or warning: the root
    /// message, or (metric alerts) a note under it when it exists.
    Opened,
    /// Another event of an issue (`event_alert.triggered`, `error.created`): a reply under the
    /// issue's message, or the message itself when there is none yet.
    Again {
        /// The rule that fired, if any.
        rule: Option<String>,
        /// The event's own page.
        event_link: Option<String>,
    },
    /// `issue.unresolved` (a regression): the root shows it open again, with a note.
    Reopened,
    /// `issue.resolved`, `metric_alert.resolved`: the root is marked resolved.
    Resolved {
        /// Who resolved it (a user's name, or `Sentry`).
        by: Option<String>,
    },
    /// `issue.ignored` / `issue.archived`: the root is marked muted.
    Muted {
        /// How: `archived until escalating`, `ignored`…
        how: String,
    },
    /// `issue.assigned`: a note under the root.
    Assigned {
        /// The assignee's name (a user or a team), never an e-mail.
        to: String,
        /// Who assigned it.
        by: Option<String>,
    },
}

/// What a message about an issue or alert shows, and what routes match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Facts {
    /// Issue, event or alert title.
    pub title: String,
    /// Where it happened (function or route), when Sentry says.
    pub culprit: Option<String>,
    /// The project's slug.
    pub project: Option<String>,
    /// The environment (events and metric alerts carry one; issue webhooks don't).
    pub environment: Option<String>,
    /// The level; metric alerts: critical → fatal, warning → warning, resolved → info.
    pub level: SentryLevel,
    /// `FRONT-END-9`.
    pub short_id: Option<String>,
    /// Events so far, as Sentry counts them.
    pub count: Option<String>,
    /// The page in Sentry's web UI.
    pub link: Option<String>,
    /// A metric alert's text (`1000 events in the last minute`).
    pub description: Option<String>,
    /// A metric alert (drawn differently from issues).
    pub metric: bool,
}

/// Why a signed body was not understood (answered 400: Sentry sent something unexpected).
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    /// The JSON doesn't have the documented shape.
    #[error("unexpected {resource} body: {source}")]
    Shape {
        resource: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

/// Reads a delivery of `resource` (the `Sentry-Hook-Resource` header). `Ok(None)`: accepted
/// and ignored (`installation`, `comment`, unknown resources and actions).
pub(crate) fn parse(resource: &str, body: &[u8]) -> Result<Option<Notice>, WireError> {
    match resource {
        "issue" => read::<IssueHook>("issue", body).map(IssueHook::notice),
        "event_alert" => read::<EventAlertHook>("event_alert", body).map(EventAlertHook::notice),
        "error" => read::<ErrorHook>("error", body).map(ErrorHook::notice),
        "metric_alert" => read::<MetricAlertHook>("metric_alert", body).map(MetricAlertHook::notice),
        _ => Ok(None),
    }
}

fn read<'de, T: Deserialize<'de>>(resource: &'static str, body: &'de [u8]) -> Result<T, WireError> {
    serde_json::from_slice(body).map_err(|source| WireError::Shape { resource, source })
}

/// Sentry writes ids as strings in issues and as numbers in some events.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
enum Id {
    Text(String),
    Number(i64),
}

impl Id {
    fn text(self) -> String {
        match self {
            Id::Text(s) => s,
            Id::Number(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Actor {
    #[serde(default)]
    name: Option<String>,
}

impl Actor {
    fn name(actor: Option<Actor>) -> Option<String> {
        actor.and_then(|a| a.name).filter(|n| !n.is_empty())
    }
}

// ---- issue ----

#[derive(Debug, Deserialize)]
struct IssueHook {
    action: String,
    data: IssueData,
    #[serde(default)]
    actor: Option<Actor>,
}

#[derive(Debug, Deserialize)]
struct IssueData {
    issue: Issue,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Issue {
    id: Id,
    #[serde(default)]
    short_id: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    culprit: Option<String>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    substatus: Option<String>,
    #[serde(default)]
    project: Option<Project>,
    #[serde(default)]
    permalink: Option<String>,
    #[serde(default, rename = "web_url")]
    web_url: Option<String>,
    #[serde(default)]
    count: Option<Id>,
    #[serde(default)]
    assigned_to: Option<Value>,
}

#[derive(Debug, Deserialize)]
struct Project {
    #[serde(default)]
    slug: Option<String>,
}

impl IssueHook {
    fn notice(self) -> Option<Notice> {
        let IssueHook { action, data, actor } = self;
        let by = Actor::name(actor);
        let issue = data.issue;
        let kind = match action.as_str() {
            "created" => Kind::Opened,
            "unresolved" => Kind::Reopened,
            "resolved" => Kind::Resolved { by },
            "ignored" | "archived" => Kind::Muted {
                how: match issue.substatus.as_deref() {
                    Some("archived_until_escalating") => "archived until it escalates".to_owned(),
                    Some("archived_until_condition_met") => "archived until a condition is met".to_owned(),
                    Some("archived_forever") => "archived for good".to_owned(),
                    _ if action == "ignored" => "ignored".to_owned(),
                    _ => "archived".to_owned(),
                },
            },
            "assigned" => Kind::Assigned {
                to: assignee(issue.assigned_to.as_ref()).unwrap_or_else(|| "someone".to_owned()),
                by,
            },
            _ => return None,
        };
        let id = issue.id.text();
        Some(Notice {
            key: format!("sentry:{id}"),
            kind,
            facts: Facts {
                title: issue.title.unwrap_or_else(|| format!("Sentry issue {id}")),
                culprit: issue.culprit.filter(|c| !c.is_empty()),
                project: issue.project.and_then(|p| p.slug),
                environment: None,
                level: issue.level.as_deref().map_or(SentryLevel::Error, SentryLevel::parse),
                short_id: issue.short_id,
                count: issue.count.map(Id::text),
                link: issue.permalink.or(issue.web_url),
                description: None,
                metric: false,
            },
        })
    }
}

/// `assignedTo` is a user or a team (`{type, id, name, email?}`) or just a name; the e-mail
/// is personal data and never read.
fn assignee(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("name").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

// ---- event_alert and error ----

#[derive(Debug, Deserialize)]
struct EventAlertHook {
    action: String,
    data: EventAlertData,
}

#[derive(Debug, Deserialize)]
struct EventAlertData {
    event: Event,
    #[serde(default)]
    triggered_rule: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ErrorHook {
    action: String,
    data: ErrorData,
}

#[derive(Debug, Deserialize)]
struct ErrorData {
    error: Event,
}

#[derive(Debug, Deserialize)]
struct Event {
    #[serde(default)]
    event_id: Option<String>,
    #[serde(default)]
    issue_id: Option<Id>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    culprit: Option<String>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    /// `[["environment", "production"], …]`
    #[serde(default)]
    tags: Option<Value>,
    /// `https://sentry.io/api/0/projects/{org}/{project}/events/{id}/`
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    web_url: Option<String>,
    #[serde(default)]
    issue_url: Option<String>,
}

impl EventAlertHook {
    fn notice(self) -> Option<Notice> {
        (self.action == "triggered").then(|| self.data.event.notice(self.data.triggered_rule))
    }
}

impl ErrorHook {
    fn notice(self) -> Option<Notice> {
        (self.action == "created").then(|| self.data.error.notice(None))
    }
}

impl Event {
    fn notice(self, rule: Option<String>) -> Notice {
        let environment = self
            .environment
            .filter(|e| !e.is_empty())
            .or_else(|| tag(self.tags.as_ref(), "environment"));
        let level = self
            .level
            .or_else(|| tag(self.tags.as_ref(), "level"))
            .as_deref()
            .map_or(SentryLevel::Error, SentryLevel::parse);
        let project = self.url.as_deref().and_then(project_of_event_url);
        let key = match (self.issue_id, &self.event_id) {
            (Some(id), _) => format!("sentry:{}", id.text()),
            (None, Some(event)) => format!("sentry-event:{event}"),
            (None, None) => "sentry-event:unknown".to_owned(),
        };
        // The issue's page, which `web_url` of an event extends with `/events/<id>/`.
        let issue_link = self
            .web_url
            .as_deref()
            .and_then(|u| u.split_once("/events/"))
            .map(|(issue, _)| format!("{issue}/"));
        Notice {
            key,
            kind: Kind::Again {
                rule,
                event_link: self.web_url.clone(),
            },
            facts: Facts {
                title: self.title.unwrap_or_else(|| "Sentry event".to_owned()),
                culprit: self.culprit.filter(|c| !c.is_empty()),
                project,
                environment,
                level,
                short_id: None,
                count: None,
                link: issue_link.or(self.web_url).or(self.issue_url),
                description: None,
                metric: false,
            },
        }
    }
}

/// The value of `key` in an event's `tags` (`[[k, v], …]`, or `[{key, value}, …]`).
fn tag(tags: Option<&Value>, key: &str) -> Option<String> {
    tags?.as_array()?.iter().find_map(|t| {
        let (k, v) = match t {
            Value::Array(kv) => (kv.first()?.as_str()?, kv.get(1)?.as_str()?),
            Value::Object(o) => (o.get("key")?.as_str()?, o.get("value")?.as_str()?),
            _ => return None,
        };
        (k == key).then(|| v.to_owned())
    })
}

fn project_of_event_url(url: &str) -> Option<String> {
    let rest = url.split_once("/projects/")?.1;
    let mut parts = rest.split('/');
    let _org = parts.next()?;
    parts.next().filter(|p| !p.is_empty()).map(str::to_owned)
}

// ---- metric_alert ----

#[derive(Debug, Deserialize)]
struct MetricAlertHook {
    action: String,
    data: MetricData,
}

#[derive(Debug, Deserialize)]
struct MetricData {
    metric_alert: MetricAlert,
    #[serde(default)]
    description_title: Option<String>,
    #[serde(default)]
    description_text: Option<String>,
    #[serde(default)]
    web_url: Option<String>,
}

#[derive(Debug, Deserialize)]
struct MetricAlert {
    id: Id,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    alert_rule: Option<AlertRule>,
}

#[derive(Debug, Deserialize)]
struct AlertRule {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    projects: Vec<String>,
}

impl MetricAlertHook {
    fn notice(self) -> Option<Notice> {
        let (kind, level) = match self.action.as_str() {
            // A critical metric (error rate, latency) is worth waking for: it passes quiet hours.
            "critical" => (Kind::Opened, SentryLevel::Fatal),
            "warning" => (Kind::Opened, SentryLevel::Warning),
            "resolved" => (Kind::Resolved { by: None }, SentryLevel::Info),
            _ => return None,
        };
        let MetricData {
            metric_alert,
            description_title,
            description_text,
            web_url,
        } = self.data;
        let rule = metric_alert.alert_rule.unwrap_or(AlertRule {
            name: None,
            environment: None,
            projects: Vec::new(),
        });
        let id = metric_alert.id.text();
        Some(Notice {
            key: format!("sentry-metric:{id}"),
            kind,
            facts: Facts {
                // The rule's name stays the same through critical → resolved; the
                // description title says "Resolved: …" or "Critical: …".
                title: rule
                    .name
                    .or(metric_alert.title)
                    .or(description_title)
                    .unwrap_or_else(|| format!("Metric alert {id}")),
                culprit: None,
                project: rule.projects.into_iter().next(),
                environment: rule.environment.filter(|e| !e.is_empty()),
                level,
                short_id: None,
                count: None,
                link: web_url,
                description: description_text.filter(|d| !d.is_empty()),
                metric: true,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issue_reads_with_its_korean_title_and_link() {
        let body = br#"{"action":"created","data":{"issue":{"id":"1170820242","shortId":"SHOP-9","title":"\uacb0\uc81c \uc2b9\uc778 \uc2e4\ud328","culprit":"checkout::confirm","level":"error","project":{"id":"1","slug":"shop"},"permalink":null,"web_url":"https://sentry.io/organizations/o/issues/1170820242/","count":"3"}},"actor":{"type":"application","id":"sentry","name":"Sentry"}}"#;
        let n = parse("issue", body).expect("valid").expect("handled");
        assert_eq!(n.key, "sentry:1170820242");
        assert_eq!(n.kind, Kind::Opened);
        assert_eq!(n.facts.title, "결제 승인 실패");
        assert_eq!(n.facts.project.as_deref(), Some("shop"));
        assert_eq!(
            n.facts.link.as_deref(),
            Some("https://sentry.io/organizations/o/issues/1170820242/")
        );
        assert_eq!(n.facts.count.as_deref(), Some("3"));
    }

    #[test]
    fn an_event_alert_finds_its_issue_environment_and_project() {
        let body = br#"{"action":"triggered","data":{"event":{"event_id":"e4874d","project":1,"issue_id":"1117540176","title":"ReferenceError","level":"warning","tags":[["environment","staging"],["level","warning"]],"url":"https://sentry.io/api/0/projects/test-org/front-end/events/e4874d/","web_url":"https://sentry.io/organizations/test-org/issues/1117540176/events/e4874d/"},"triggered_rule":"Very Important"}}"#;
        let n = parse("event_alert", body).expect("valid").expect("handled");
        assert_eq!(n.key, "sentry:1117540176");
        assert_eq!(n.facts.environment.as_deref(), Some("staging"));
        assert_eq!(n.facts.project.as_deref(), Some("front-end"));
        assert_eq!(n.facts.level, SentryLevel::Warning);
        assert_eq!(
            n.facts.link.as_deref(),
            Some("https://sentry.io/organizations/test-org/issues/1117540176/")
        );
        assert!(matches!(n.kind, Kind::Again { rule: Some(ref r), .. } if r == "Very Important"));
    }

    #[test]
    fn metric_alerts_map_their_action_to_a_level() {
        let body = br#"{"action":"critical","data":{"metric_alert":{"id":"7","alert_rule":{"name":"Error rate","environment":"production","projects":["shop"]}},"description_text":"1000 events in the last minute","web_url":"https://sentry.io/organizations/o/alerts/rules/details/7/"}}"#;
        let n = parse("metric_alert", body).expect("valid").expect("handled");
        assert_eq!(n.key, "sentry-metric:7");
        assert_eq!((n.kind, n.facts.level), (Kind::Opened, SentryLevel::Fatal));
        assert_eq!(n.facts.environment.as_deref(), Some("production"));
    }

    #[test]
    fn installation_comment_and_unknown_actions_are_ignored() {
        let body = br#"{"action":"created","installation":{"uuid":"a8e5d37a-696c-4c54-adb5-b3f28d64c7de"}}"#;
        assert!(parse("installation", body).expect("ignored").is_none());
        assert!(parse("comment", body).expect("ignored").is_none());
        let body = br#"{"action":"bookmarked","data":{"issue":{"id":"1"}}}"#;
        assert!(parse("issue", body).expect("ignored").is_none());
        assert!(parse("issue", b"{\"action\":\"created\"}").is_err());
    }
}
