//! Sentry's integration-platform webhooks towards the bot (messaging.md §2): realistic
//! `issue`, `event_alert` and `metric_alert` bodies, sent with Sentry's five headers and
//! signed over the exact bytes with the client secret, or deliberately unsigned, mis-signed
//! or tampered; every delivery is timed against Sentry's 1-second limit.
//!
//! Bodies are encoded as Sentry's Python encodes them (`json.dumps`: `", "` and `": "`
//! separators, non-ASCII escaped as `\uXXXX`), so a receiver that re-serializes before it
//! verifies fails here as it would against Sentry. [`Encoding::Utf8`] sends compact raw
//! UTF-8 instead.
//!
//! ```no_run
//! # async fn demo(bot: &str) {
//! use jangteo_tests::fakes::sentry::{IssueAction, SentryIssue, SentrySender, SentryWebhook};
//! let sentry = SentrySender::new(&format!("{bot}/sentry/webhook"), "test-client-secret");
//! let issue = SentryIssue::new(1_170_820_242, "jangteo-api", "결제 승인 실패: 응답 시간 초과");
//! let first = sentry.send(&SentryWebhook::issue(IssueAction::Created, &issue)).await;
//! assert_eq!(first.reply.status, 200);
//! assert!(!first.too_slow());
//! let again = sentry.replay(&first).await; // same Request-ID: must not post twice
//! # }
//! ```

use std::time::Duration;

use serde_json::{Value, json};

use super::{Reply, Signing, hmac_sha256_hex, send_timed, tamper_body, unix_now};

/// The installation every delivery names (the one in Sentry's documented examples).
pub const INSTALLATION_UUID: &str = "a8e5d37a-696c-4c54-adb5-b3f28d64c7de";
/// A client secret for tests (the one of the vector in messaging.md §2).
pub const TEST_CLIENT_SECRET: &str = "test-client-secret";
/// The organization slug in URLs.
pub const ORG: &str = "jangteo";
/// Sentry counts a slower answer as a timeout.
pub const RESPONSE_LIMIT: Duration = Duration::from_secs(1);

/// `Sentry-Hook-Signature` for `body`: hex HMAC-SHA256 under the client secret.
pub fn sentry_sign(client_secret: &str, body: &[u8]) -> String {
    hmac_sha256_hex(client_secret.as_bytes(), body)
}

/// How a body is encoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Encoding {
    /// As Sentry sends: `json.dumps` defaults, non-ASCII as `\uXXXX`.
    #[default]
    Sentry,
    /// Compact JSON with raw UTF-8 (serde_json's default).
    Utf8,
}

/// JSON as Python's `json.dumps(value)` writes it: `", "` and `": "` separators and
/// `ensure_ascii` (every non-ASCII character as `\uXXXX`, lowercase hex, surrogate pairs
/// beyond the BMP).
pub fn python_json(value: &Value) -> String {
    fn write(v: &Value, out: &mut String) {
        match v {
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write(item, out);
                }
                out.push(']');
            }
            Value::Object(members) => {
                out.push('{');
                for (i, (k, item)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&ascii_escape(&Value::String(k.clone()).to_string()));
                    out.push_str(": ");
                    write(item, out);
                }
                out.push('}');
            }
            scalar => out.push_str(&ascii_escape(&scalar.to_string())),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}

/// Escapes every non-ASCII character of serialized JSON as `\uXXXX`. Outside strings
/// serialized JSON is ASCII, so this only touches string contents.
fn ascii_escape(json: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{u:04x}");
            }
        }
    }
    out
}

fn iso_now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn random_hex(len: usize) -> String {
    super::random_string(b"0123456789abcdef", len)
}

/// A Sentry issue as the fixtures describe it; all bodies about it agree on these.
#[derive(Clone, Debug)]
pub struct SentryIssue {
    /// Numeric id as a string (`"1170820242"`).
    pub id: String,
    /// `JANGTEO-API-1F`
    pub short_id: String,
    /// The title; Korean titles exercise the `\uXXXX` escaping.
    pub title: String,
    /// Where it happened (`jangteo_graphql::checkout`).
    pub culprit: String,
    /// `fatal`, `error`, `warning`, `info` or `debug`.
    pub level: String,
    /// Project slug (routing key).
    pub project: String,
    /// Project id (numeric string; events carry it as a number).
    pub project_id: String,
    /// The environment of its events (routing key; issues themselves carry none).
    pub environment: String,
    /// The release of its events.
    pub release: String,
    /// Events seen (Sentry sends it as a string).
    pub count: u64,
    /// The error type (`metadata.type`).
    pub error_type: String,
    /// The error message (`metadata.value`).
    pub error_value: String,
}

impl SentryIssue {
    /// An `error` issue in `project`, environment `production`.
    pub fn new(id: u64, project: &str, title: &str) -> SentryIssue {
        let project_id = project.bytes().fold(7u64, |h, b| (h * 31 + u64::from(b)) % 9_000_000) + 1_000_000;
        let (error_type, error_value) = title.split_once(": ").map_or(("Error", title), |(t, v)| (t, v));
        SentryIssue {
            id: id.to_string(),
            short_id: format!("{}-{}", project.to_uppercase(), base36(id % 100_000)),
            title: title.to_owned(),
            culprit: "jangteo_graphql::checkout in complete".to_owned(),
            level: "error".to_owned(),
            project: project.to_owned(),
            project_id: project_id.to_string(),
            environment: "production".to_owned(),
            release: "jangteo@0.1.0".to_owned(),
            count: 1,
            error_type: error_type.to_owned(),
            error_value: error_value.to_owned(),
        }
    }

    /// With level `level`.
    #[must_use]
    pub fn level(mut self, level: &str) -> SentryIssue {
        level.clone_into(&mut self.level);
        self
    }

    /// With events from `environment`.
    #[must_use]
    pub fn environment(mut self, environment: &str) -> SentryIssue {
        environment.clone_into(&mut self.environment);
        self
    }

    /// With `count` events seen.
    #[must_use]
    pub fn count(mut self, count: u64) -> SentryIssue {
        self.count = count;
        self
    }

    /// `https://sentry.io/organizations/jangteo/issues/{id}/`
    pub fn web_url(&self) -> String {
        format!("https://sentry.io/organizations/{ORG}/issues/{}/", self.id)
    }

    /// `data.issue` in the given state.
    fn json(&self, status: &str, substatus: Option<&str>, status_details: &Value, assigned_to: &Value) -> Value {
        let now = iso_now();
        json!({
            "annotations": [],
            "assignedTo": assigned_to,
            "count": self.count.to_string(),
            "culprit": self.culprit,
            "firstSeen": now,
            "hasSeen": false,
            "id": self.id,
            "isBookmarked": false,
            "isPublic": false,
            "isSubscribed": false,
            "isUnhandled": true,
            "lastSeen": now,
            "level": self.level,
            "logger": null,
            "metadata": { "type": self.error_type, "value": self.error_value, "filename": "src/checkout.rs" },
            "numComments": 0,
            "permalink": null,
            "platform": "rust",
            "project": { "id": self.project_id, "name": self.project, "platform": "rust", "slug": self.project },
            "project_url": format!("https://sentry.io/organizations/{ORG}/issues/?project={}", self.project_id),
            "shareId": null,
            "shortId": self.short_id,
            "status": status,
            "statusDetails": status_details,
            "subscriptionDetails": null,
            "substatus": substatus,
            "title": self.title,
            "type": "error",
            "url": format!("https://sentry.io/api/0/organizations/{ORG}/issues/{}/", self.id),
            "userCount": 0,
            "web_url": self.web_url(),
        })
    }

    /// One event of this issue, as `event_alert` carries it (a fresh `event_id` each time).
    fn event_json(&self) -> Value {
        let event_id = random_hex(32);
        let project_id: u64 = self.project_id.parse().unwrap_or_default();
        let now = unix_now();
        json!({
            "_ref": project_id,
            "_ref_version": 2,
            "contexts": {
                "os": { "name": "Linux", "type": "os", "version": "6.8" },
                "runtime": { "name": "rustc", "type": "runtime", "version": "1.95.0" },
            },
            "culprit": self.culprit,
            "datetime": iso_now(),
            "dist": null,
            "environment": self.environment,
            "event_id": event_id,
            "exception": { "values": [{
                "mechanism": { "handled": false, "type": "panic" },
                "stacktrace": { "frames": [
                    { "filename": "src/main.rs", "function": "main", "in_app": true, "lineno": 42 },
                    { "filename": "src/checkout.rs", "function": "jangteo_graphql::checkout::complete",
                      "in_app": true, "lineno": 318 },
                ] },
                "type": self.error_type,
                "value": self.error_value,
            }] },
            "fingerprint": ["{{ default }}"],
            "hashes": [random_hex(32)],
            "issue_id": self.id,
            "issue_url": format!("https://sentry.io/api/0/issues/{}/", self.id),
            "key_id": "667532",
            "level": self.level,
            "location": "src/checkout.rs",
            "logger": "",
            "message": "",
            "metadata": { "filename": "src/checkout.rs", "type": self.error_type, "value": self.error_value },
            "platform": "rust",
            "project": project_id,
            "received": now,
            "release": self.release,
            "sdk": { "name": "sentry.rust", "version": "0.49.0" },
            "tags": [
                ["environment", self.environment],
                ["handled", "no"],
                ["level", self.level],
                ["release", self.release],
                ["server_name", "jangteo-1"],
            ],
            "timestamp": now,
            "title": self.title,
            "type": "error",
            "url": format!("https://sentry.io/api/0/projects/{ORG}/{}/events/{event_id}/", self.project),
            "version": "7",
            "web_url": format!("https://sentry.io/organizations/{ORG}/issues/{}/events/{event_id}/", self.id),
        })
    }
}

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[usize::try_from(n % 36).unwrap_or_default()]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// What happened to an issue (`Sentry-Hook-Resource: issue`).
#[derive(Clone, Debug)]
pub enum IssueAction {
    /// A new issue (`status: unresolved`, `substatus: new`), by Sentry itself.
    Created,
    /// Resolved by a staff member (`status: resolved`).
    Resolved,
    /// Assigned to someone.
    Assigned {
        /// The assignee's name.
        name: String,
        /// The assignee's e-mail.
        email: String,
    },
    /// Archived (`status: ignored`, `substatus: archived_until_escalating`).
    Archived,
    /// The same as [`IssueAction::Archived`] under its older action name `ignored`.
    Ignored,
    /// Unresolved again (`substatus: regressed`).
    Unresolved,
}

/// The state a metric alert moved to (`Sentry-Hook-Resource: metric_alert`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricAction {
    /// Over the critical threshold.
    Critical,
    /// Over the warning threshold.
    Warning,
    /// Back under the thresholds.
    Resolved,
}

/// A metric alert rule and its incident.
#[derive(Clone, Debug)]
pub struct MetricAlert {
    /// The rule's id.
    pub rule_id: String,
    /// The rule's name (Korean names exercise the escaping).
    pub rule_name: String,
    /// Project slugs the rule watches (routing key).
    pub projects: Vec<String>,
    /// The rule's environment (routing key), `None` for all.
    pub environment: Option<String>,
    /// The rule's filter.
    pub query: String,
    /// The incident's id.
    pub incident_id: String,
    /// The incident's number within the organization.
    pub identifier: String,
    /// Events counted in the window, for the description.
    pub value: u64,
}

impl MetricAlert {
    /// A `count()` rule over 10 minutes on `project` in `production`.
    pub fn new(rule_name: &str, project: &str) -> MetricAlert {
        MetricAlert {
            rule_id: "7".to_owned(),
            rule_name: rule_name.to_owned(),
            projects: vec![project.to_owned()],
            environment: Some("production".to_owned()),
            query: "level:error".to_owned(),
            incident_id: "4".to_owned(),
            identifier: "1".to_owned(),
            value: 1000,
        }
    }
}

/// One webhook: the resource header, the action and the payload.
#[derive(Clone, Debug)]
pub struct SentryWebhook {
    /// `Sentry-Hook-Resource`: `issue`, `event_alert`, `metric_alert`.
    pub resource: &'static str,
    /// The body's `action`.
    pub action: String,
    /// The whole body.
    pub payload: Value,
    /// How [`SentryWebhook::body`] encodes it.
    pub encoding: Encoding,
}

fn sentry_actor() -> Value {
    json!({ "type": "application", "id": "sentry", "name": "Sentry" })
}

fn staff_actor() -> Value {
    json!({ "type": "user", "id": "1", "name": "김운영" })
}

impl SentryWebhook {
    fn new(resource: &'static str, action: &str, data: &Value, actor: &Value) -> SentryWebhook {
        SentryWebhook {
            resource,
            action: action.to_owned(),
            payload: json!({
                "action": action,
                "installation": { "uuid": INSTALLATION_UUID },
                "data": data,
                "actor": actor,
            }),
            encoding: Encoding::Sentry,
        }
    }

    /// `issue.{created,resolved,assigned,archived,ignored,unresolved}` about `issue`.
    pub fn issue(action: IssueAction, issue: &SentryIssue) -> SentryWebhook {
        let (name, status, substatus, details, assigned, actor) = match action {
            IssueAction::Created => (
                "created",
                "unresolved",
                Some("new"),
                json!({}),
                Value::Null,
                sentry_actor(),
            ),
            IssueAction::Resolved => (
                "resolved",
                "resolved",
                None,
                json!({ "inNextRelease": true }),
                Value::Null,
                staff_actor(),
            ),
            IssueAction::Assigned { name, email } => (
                "assigned",
                "unresolved",
                Some("ongoing"),
                json!({}),
                json!({ "type": "user", "id": "2", "name": name, "email": email }),
                staff_actor(),
            ),
            IssueAction::Archived | IssueAction::Ignored => (
                if matches!(action, IssueAction::Ignored) {
                    "ignored"
                } else {
                    "archived"
                },
                "ignored",
                Some("archived_until_escalating"),
                json!({}),
                Value::Null,
                staff_actor(),
            ),
            IssueAction::Unresolved => (
                "unresolved",
                "unresolved",
                Some("regressed"),
                json!({}),
                Value::Null,
                sentry_actor(),
            ),
        };
        let data = json!({ "issue": issue.json(status, substatus, &details, &assigned) });
        SentryWebhook::new("issue", name, &data, &actor)
    }

    /// `event_alert.triggered`: the alert rule `rule` fired on a new event of `issue`.
    pub fn event_alert(issue: &SentryIssue, rule: &str) -> SentryWebhook {
        let data = json!({
            "event": issue.event_json(),
            "triggered_rule": rule,
            "issue_alert": { "title": rule, "settings": [] },
        });
        SentryWebhook::new("event_alert", "triggered", &data, &sentry_actor())
    }

    /// `metric_alert.{critical,warning,resolved}` for `alert`.
    pub fn metric_alert(action: MetricAction, alert: &MetricAlert) -> SentryWebhook {
        // Sentry's IncidentStatus: CLOSED 2, WARNING 10, CRITICAL 20.
        let (name, status, title) = match action {
            MetricAction::Critical => ("critical", 20, "Critical"),
            MetricAction::Warning => ("warning", 10, "Warning"),
            MetricAction::Resolved => ("resolved", 2, "Resolved"),
        };
        let now = iso_now();
        let data = json!({
            "description_text": format!("{} events in the last 10 minutes\nFilter: {}", alert.value, alert.query),
            "description_title": format!("{title}: {}", alert.rule_name),
            "metric_alert": {
                "alert_rule": {
                    "aggregate": "count()",
                    "created_by": null,
                    "dataset": "events",
                    "date_created": now,
                    "date_modified": now,
                    "environment": alert.environment,
                    "id": alert.rule_id,
                    "include_all_projects": false,
                    "name": alert.rule_name,
                    "organization_id": "5",
                    "projects": alert.projects,
                    "query": alert.query,
                    "resolution": 1,
                    "resolve_threshold": null,
                    "status": 0,
                    "threshold_period": 1,
                    "threshold_type": 0,
                    "time_window": 10,
                    "triggers": [],
                },
                "date_closed": if action == MetricAction::Resolved { Value::String(now.clone()) } else { Value::Null },
                "date_created": now,
                "date_detected": now,
                "date_started": now,
                "id": alert.incident_id,
                "identifier": alert.identifier,
                "organization_id": "5",
                "projects": alert.projects,
                "status": status,
                "status_method": 3,
                "title": alert.rule_name,
                "type": 2,
            },
            "web_url": format!("https://sentry.io/organizations/{ORG}/alerts/{}/", alert.identifier),
        });
        SentryWebhook::new("metric_alert", name, &data, &sentry_actor())
    }

    /// The same webhook encoded as `encoding`.
    #[must_use]
    pub fn encoding(mut self, encoding: Encoding) -> SentryWebhook {
        self.encoding = encoding;
        self
    }

    /// The bytes sent.
    pub fn body(&self) -> Vec<u8> {
        match self.encoding {
            Encoding::Sentry => python_json(&self.payload).into_bytes(),
            Encoding::Utf8 => self.payload.to_string().into_bytes(),
        }
    }
}

/// One delivery and the receiver's answer.
#[derive(Clone, Debug)]
pub struct Delivery {
    /// The `Request-ID` sent.
    pub request_id: String,
    /// The `Sentry-Hook-Resource` sent.
    pub resource: &'static str,
    /// The exact bytes sent.
    pub body: Vec<u8>,
    /// The `Sentry-Hook-Signature` sent, if any.
    pub signature: Option<String>,
    /// What the receiver answered, and how fast.
    pub reply: Reply,
}

impl Delivery {
    /// Slower than Sentry's 1 s: Sentry would have counted a timeout.
    pub fn too_slow(&self) -> bool {
        self.reply.slower_than(RESPONSE_LIMIT)
    }
}

/// A random (version 4) UUID, as Sentry's `Request-ID`.
fn request_id() -> String {
    let mut bytes = [0u8; 16];
    fastrand::fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// Plays Sentry towards one webhook URL.
#[derive(Clone, Debug)]
pub struct SentrySender {
    url: String,
    secret: String,
    client: reqwest::Client,
}

impl SentrySender {
    /// Sends to `url` (the bot's `…/sentry/webhook`), signing with `client_secret`.
    pub fn new(url: &str, client_secret: &str) -> SentrySender {
        SentrySender {
            url: url.to_owned(),
            secret: client_secret.to_owned(),
            client: super::http_client(),
        }
    }

    /// Sends `hook`, correctly signed, with a fresh `Request-ID`.
    pub async fn send(&self, hook: &SentryWebhook) -> Delivery {
        self.send_with(hook, Signing::Valid).await
    }

    /// Sends `hook` signed as `signing` says, with a fresh `Request-ID`.
    pub async fn send_with(&self, hook: &SentryWebhook, signing: Signing) -> Delivery {
        self.send_raw(hook.resource, &hook.body(), &request_id(), signing).await
    }

    /// Sends the same bytes with the same `Request-ID` again, correctly signed: a replay
    /// the receiver must recognise.
    pub async fn replay(&self, previous: &Delivery) -> Delivery {
        self.send_raw(previous.resource, &previous.body, &previous.request_id, Signing::Valid)
            .await
    }

    /// Sends `body` as `resource` with `request_id`, signed as `signing` says: all five
    /// headers, the signature left out only for [`Signing::Unsigned`].
    pub async fn send_raw(&self, resource: &'static str, body: &[u8], request_id: &str, signing: Signing) -> Delivery {
        let now = unix_now();
        let (timestamp, sent, signature) = match signing {
            Signing::Valid => (now, body.to_vec(), Some(sentry_sign(&self.secret, body))),
            Signing::Unsigned => (now, body.to_vec(), None),
            Signing::WrongSecret => (
                now,
                body.to_vec(),
                Some(sentry_sign(&format!("not-{}", self.secret), body)),
            ),
            Signing::Tampered => (now, tamper_body(body), Some(sentry_sign(&self.secret, body))),
            Signing::Stale => (now - 600, body.to_vec(), Some(sentry_sign(&self.secret, body))),
        };
        let mut req = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Request-ID", request_id)
            .header("Sentry-Hook-Resource", resource)
            .header("Sentry-Hook-Timestamp", timestamp.to_string());
        if let Some(sig) = &signature {
            req = req.header("Sentry-Hook-Signature", sig);
        }
        let reply = send_timed(req.body(sent.clone())).await;
        Delivery {
            request_id: request_id.to_owned(),
            resource,
            body: sent,
            signature,
            reply,
        }
    }
}
