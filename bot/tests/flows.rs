//! The bot end to end against two small fakes on 127.0.0.1: an admin GraphQL API that
//! answers the bot's named operations with canned data (refusing sales to a CS member and to
//! an unlinked Slack user, as the service does), and a Slack Web API with its upload and
//! `response_url` targets. The full service with the demo shop is exercised by the `tests`
//! crate; here the bot's own wiring is: signatures, acks, acting headers, dedupe, uploads.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::{Path, State},
    http::{HeaderMap, Request, StatusCode},
    routing::post,
};
use base64::Engine;
use bot::{api::Api, handlers::Bot, slack::SlackWeb};
use secrecy::SecretString;
use serde_json::{Value, json};
use tower::ServiceExt;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\nfake chart";
const SECRET: &[u8] = b"signing-secret";

#[derive(Default)]
struct Seen {
    /// (operationName, X-Jangteo-Slack-User, variables)
    graphql: Vec<(String, Option<String>, Value)>,
    /// (method or target, body)
    slack: Vec<(String, Value)>,
    uploads: Vec<Vec<u8>>,
    /// Run claims taken, (name, period).
    claims: std::collections::HashSet<(String, String)>,
    /// Threads kept: key → (channel, ts).
    threads: std::collections::HashMap<String, (String, String)>,
    /// What `alerts(since)` answers.
    alerts: Vec<Value>,
}

type Shared = Arc<Mutex<Seen>>;

fn figures(orders: i64, net: i64) -> Value {
    json!({ "orders": orders, "units": orders * 2, "grossSales": net + 10000, "discounts": 10000,
            "shippingFees": 3000, "refunds": 0, "netSales": net })
}

async fn graphql(State(seen): State<Shared>, headers: HeaderMap, Json(body): Json<Value>) -> Json<Value> {
    let op = body["operationName"].as_str().unwrap_or_default().to_owned();
    let user = headers
        .get("x-jangteo-slack-user")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    assert_eq!(
        headers.get("authorization").and_then(|v| v.to_str().ok()),
        Some("Bearer jbt_test"),
        "every call carries the bot token"
    );
    seen.lock()
        .expect("lock")
        .graphql
        .push((op.clone(), user.clone(), body["variables"].clone()));
    let refuse =
        |code: &str| Json(json!({ "data": null, "errors": [{ "message": "no", "extensions": { "code": code } }] }));
    match user.as_deref() {
        Some("UNLINKED") => return refuse("SLACK_USER_NOT_LINKED"),
        Some("UCS") if op.starts_with("BotSales") => return refuse("FORBIDDEN"),
        _ => {}
    }
    let v = &body["variables"];
    let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    let mut seen = seen.lock().expect("lock");
    let thread = |key: &str, (channel, ts): &(String, String)| json!({ "key": key, "channel": channel, "ts": ts, "createdAt": "2026-12-10T00:00:00Z" });
    Json(match op.as_str() {
        "BotRunClaim" => json!({ "data": { "botRunClaim": seen.claims.insert((text("name"), text("period"))) } }),
        "BotThreadSave" => {
            let key = text("key");
            let kept = seen
                .threads
                .entry(key.clone())
                .or_insert((text("channel"), text("ts")))
                .clone();
            json!({ "data": { "botThreadSave": thread(&key, &kept) } })
        }
        "BotThread" => {
            let key = text("key");
            json!({ "data": { "botThread": seen.threads.get(&key).map(|t| thread(&key, t)) } })
        }
        "BotAlerts" => json!({ "data": { "alerts": seen.alerts } }),
        "BotSales" => json!({ "data": {
            "current": { "totals": figures(12, 1_234_500), "rows": [] },
            "previous": { "totals": figures(10, 1_100_000) },
        }}),
        "BotSalesChart" => json!({ "data": { "salesChart": {
            "png": format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(PNG))
        }}}),
        "BotStock" => json!({ "data": { "stock": { "totalCount": 1, "nodes": [{
            "variantId": "var_1", "productName": "프로틴", "variantName": "초코", "sku": "PRO-CHOC",
            "onHand": 3, "allocated": 1, "available": 2, "lowStockThreshold": 5, "lowStock": true, "published": true
        }]}}}),
        "BotStockAdjust" => json!({ "data": { "stockAdjust": { "userErrors": [], "stockItem": {
            "variantId": "var_1", "productName": "프로틴", "variantName": "초코", "sku": "PRO-CHOC",
            "onHand": 13, "allocated": 1, "available": 12, "lowStockThreshold": 5, "lowStock": false, "published": true
        }}}}),
        _ => json!({ "data": null, "errors": [{ "message": "unknown", "extensions": { "code": "INTERNAL" } }] }),
    })
}

async fn slack_api(
    State(seen): State<Shared>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Json<Value> {
    let form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let args: Value = if form {
        form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect::<serde_json::Map<_, _>>()
            .into()
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    seen.lock().expect("lock").slack.push((method.clone(), args));
    Json(match method.as_str() {
        "chat.postMessage" => json!({ "ok": true, "channel": "C1", "ts": "1700000000.000100" }),
        "files.getUploadURLExternal" => {
            let host = headers.get("host").and_then(|v| v.to_str().ok()).unwrap_or_default();
            json!({ "ok": true, "upload_url": format!("http://{host}/upload"), "file_id": "F1" })
        }
        _ => json!({ "ok": true }),
    })
}

async fn upload(State(seen): State<Shared>, body: Bytes) -> &'static str {
    seen.lock().expect("lock").uploads.push(body.to_vec());
    "OK"
}

async fn respond(State(seen): State<Shared>, Json(body): Json<Value>) -> &'static str {
    seen.lock().expect("lock").slack.push(("response_url".into(), body));
    "ok"
}

struct Fakes {
    seen: Shared,
    root: String,
    api: Api,
    slack: SlackWeb,
}

async fn fakes() -> Fakes {
    let seen: Shared = Arc::default();
    let app = Router::new()
        .route("/admin/graphql", post(graphql))
        .route("/api/{method}", post(slack_api))
        .route("/upload", post(upload))
        .route("/response", post(respond))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
    let root = format!("http://{}", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let api = Api::new(
        format!("{root}/admin/graphql").parse().expect("a URL"),
        SecretString::from("jbt_test"),
        Duration::from_secs(5),
    )
    .expect("an API client");
    let slack = SlackWeb::new(
        format!("{root}/api/").parse().expect("a URL"),
        SecretString::from("xoxb-test"),
    )
    .expect("a Slack client");
    Fakes { seen, root, api, slack }
}

impl Fakes {
    fn router(&self) -> Router {
        bot::http::router(
            Arc::new(Bot::new(self.api.clone(), self.slack.clone())),
            SecretString::from("signing-secret"),
        )
    }

    /// Polls `f` over what the fakes saw until it holds, for at most five seconds.
    async fn wait_until(&self, what: &str, f: impl Fn(&Seen) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !f(&self.seen.lock().expect("lock")) {
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn slack_calls(&self, method: &str) -> Vec<Value> {
        self.seen
            .lock()
            .expect("lock")
            .slack
            .iter()
            .filter(|(m, _)| m == method)
            .map(|(_, b)| b.clone())
            .collect()
    }
}

fn signed(path: &str, body: String, headers: &[(&str, &str)]) -> Request<Body> {
    let ts = chrono::Utc::now().timestamp();
    let mut r = Request::post(path)
        .header("x-slack-request-timestamp", ts.to_string())
        .header("x-slack-signature", bot::verify::sign(SECRET, ts, body.as_bytes()));
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.body(Body::from(body)).expect("a request")
}

fn command(root: &str, user: &str, text: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("command", "/sales"),
            ("text", text),
            ("user_id", user),
            ("channel_id", "C1"),
            ("response_url", &format!("{root}/response")),
            ("trigger_id", "1.2.3"),
        ])
        .finish()
}

#[tokio::test]
async fn a_signed_sales_command_is_acked_then_answered_with_a_chart() {
    let f = fakes().await;
    let started = std::time::Instant::now();
    let res = f
        .router()
        .oneshot(signed("/slack/commands", command(&f.root, "U1", "어제"), &[]))
        .await
        .expect("a response");
    assert_eq!(res.status(), StatusCode::OK);
    assert!(started.elapsed() < Duration::from_secs(3), "acked within Slack's 3 s");
    f.wait_until("the answer and the upload", |s| {
        s.slack.iter().any(|(m, _)| m == "response_url")
            && s.slack.iter().any(|(m, _)| m == "files.completeUploadExternal")
    })
    .await;
    let answer = &f.slack_calls("response_url")[0];
    assert_eq!(answer["response_type"], "in_channel");
    assert!(
        answer["text"].as_str().is_some_and(|t| t.contains("순매출 ₩1,234,500")),
        "{answer}"
    );
    let seen = f.seen.lock().expect("lock");
    assert_eq!(seen.uploads, vec![PNG.to_vec()]);
    let get = seen
        .slack
        .iter()
        .find(|(m, _)| m == "files.getUploadURLExternal")
        .expect("asked for a URL");
    assert_eq!(get.1["length"], PNG.len().to_string());
    let done = seen
        .slack
        .iter()
        .find(|(m, _)| m == "files.completeUploadExternal")
        .expect("completed");
    assert_eq!(done.1["channel_id"], "C1");
    // Every admin API call acted as the Slack user.
    assert!(seen.graphql.iter().all(|(_, user, _)| user.as_deref() == Some("U1")));
    let sales = seen
        .graphql
        .iter()
        .find(|(op, _, _)| op == "BotSales")
        .expect("sales asked");
    assert_eq!(sales.2["groupBy"], "NONE");
}

#[tokio::test]
async fn cs_members_and_unlinked_users_are_refused_sales_without_a_chart() {
    let f = fakes().await;
    for (user, says) in [("UCS", "매출은 대표와 매니저만"), ("UNLINKED", "연결되어 있지 않아요")] {
        let res = f
            .router()
            .oneshot(signed("/slack/commands", command(&f.root, user, "오늘"), &[]))
            .await
            .expect("a response");
        assert_eq!(res.status(), StatusCode::OK);
        f.wait_until("the refusal", |s| {
            s.slack
                .iter()
                .any(|(m, b)| m == "response_url" && b["text"].as_str().is_some_and(|t| t.contains(says)))
        })
        .await;
    }
    for r in f.slack_calls("response_url") {
        assert_eq!(r["response_type"], "ephemeral");
    }
    assert!(f.seen.lock().expect("lock").uploads.is_empty());
}

#[tokio::test]
async fn a_bad_signature_posts_nothing() {
    let f = fakes().await;
    let body = command(&f.root, "U1", "어제");
    let res = f
        .router()
        .oneshot(
            Request::post("/slack/commands")
                .header("x-slack-request-timestamp", chrono::Utc::now().timestamp().to_string())
                .header("x-slack-signature", "v0=00")
                .body(Body::from(body))
                .expect("a request"),
        )
        .await
        .expect("a response");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Give a wrongly spawned task every chance to show itself.
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    let seen = f.seen.lock().expect("lock");
    assert!(seen.graphql.is_empty() && seen.slack.is_empty());
}

#[tokio::test]
async fn a_retried_mention_is_answered_once_in_its_thread() {
    let f = fakes().await;
    let event = json!({
        "type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "Ev1", "event_time": 1,
        "event": { "type": "app_mention", "user": "U1", "text": "<@UBOT> stock low", "ts": "1.5", "channel": "C1", "event_ts": "1.5" }
    })
    .to_string();
    let router = f.router();
    let first = router
        .clone()
        .oneshot(signed("/slack/events", event.clone(), &[]))
        .await
        .expect("a response");
    let retry = router
        .oneshot(signed(
            "/slack/events",
            event,
            &[("x-slack-retry-num", "1"), ("x-slack-retry-reason", "http_timeout")],
        ))
        .await
        .expect("a response");
    assert_eq!((first.status(), retry.status()), (StatusCode::OK, StatusCode::OK));
    f.wait_until("the answer", |s| s.slack.iter().any(|(m, _)| m == "chat.postMessage"))
        .await;
    let posts = f.slack_calls("chat.postMessage");
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0]["thread_ts"], "1.5");
    assert!(posts[0]["text"].as_str().is_some_and(|t| t.contains("PRO-CHOC")));
}

#[tokio::test]
async fn the_bots_own_messages_are_not_answered() {
    let f = fakes().await;
    let event = json!({
        "type": "event_callback", "event_id": "Ev2",
        "event": { "type": "message", "channel_type": "im", "bot_id": "B1", "subtype": "bot_message",
                   "text": "sales", "ts": "1.6", "channel": "D1" }
    })
    .to_string();
    let res = f
        .router()
        .oneshot(signed("/slack/events", event, &[]))
        .await
        .expect("a response");
    assert_eq!(res.status(), StatusCode::OK);
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
    assert!(f.seen.lock().expect("lock").graphql.is_empty());
}

/// U9 clicks the button `action_id` with `value` on a message in C1; waits for the answer at
/// the `response_url` and returns (operation, acting user, variables) of the first GraphQL
/// call whose operation starts with `op`, and that answer.
async fn click(f: &Fakes, action_id: &str, value: &str, op: &str) -> ((String, Option<String>, Value), Value) {
    let payload = json!({
        "type": "block_actions", "user": { "id": "U9" }, "channel": { "id": "C1" },
        "container": { "type": "message", "channel_id": "C1", "message_ts": "1.7" },
        "response_url": format!("{}/response", f.root),
        "actions": [{ "type": "button", "action_id": action_id, "value": value, "action_ts": "1" }]
    });
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish();
    let res = f
        .router()
        .oneshot(signed("/slack/interactions", body, &[]))
        .await
        .expect("a response");
    assert_eq!(res.status(), StatusCode::OK);
    f.wait_until("the ephemeral answer", |s| {
        s.slack.iter().any(|(m, _)| m == "response_url")
    })
    .await;
    let seen = f.seen.lock().expect("lock");
    let call = seen
        .graphql
        .iter()
        .find(|(o, _, _)| o.starts_with(op))
        .cloned()
        .unwrap_or_else(|| panic!("{op} called"));
    let answer = seen
        .slack
        .iter()
        .find(|(m, _)| m == "response_url")
        .map(|(_, body)| body.clone())
        .expect("answered");
    (call, answer)
}

#[tokio::test]
async fn an_adjust_stock_button_acts_as_the_clicking_member() {
    let f = fakes().await;
    let ((_, user, vars), answer) = click(&f, "stock_adjust_10", "var_1:10", "BotStockAdjust").await;
    assert_eq!(user.as_deref(), Some("U9"));
    assert_eq!(
        (vars["variantId"].as_str(), vars["delta"].as_i64()),
        (Some("var_1"), Some(10))
    );
    assert_eq!(answer["response_type"], "ephemeral");
    assert!(answer["text"].as_str().is_some_and(|t| t.contains("+10")));
}

#[tokio::test]
async fn an_order_button_shows_the_order_to_the_clicking_member() {
    let f = fakes().await;
    let ((_, user, vars), answer) = click(&f, "order_show", "20261202-000007", "BotOrder").await;
    assert_eq!(user.as_deref(), Some("U9"), "with the clicking member's rights");
    assert!(vars.to_string().contains("20261202-000007"), "{vars}");
    assert_eq!(answer["response_type"], "ephemeral");
}

#[tokio::test]
async fn the_console_prints_answers_and_writes_charts() {
    let f = fakes().await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let input = "/sales 어제\nstock low\nrefund 1\n".as_bytes();
    let mut out = Vec::new();
    bot::console::run(&f.api, input, &mut out, dir.path(), false)
        .await
        .expect("the console ran");
    let out = String::from_utf8(out).expect("UTF-8");
    assert!(out.contains("순매출 ₩1,234,500"), "{out}");
    assert!(out.contains("⚠️ 부족 PRO-CHOC"), "{out}");
    assert!(out.contains("모르는 명령"), "{out}");
    let chart = out
        .lines()
        .find_map(|l| l.strip_prefix("차트: "))
        .expect("a chart path printed");
    assert_eq!(std::fs::read(chart).expect("the chart file"), PNG);
    // The console has no Slack user: the bot token's own rights.
    assert!(
        f.seen
            .lock()
            .expect("lock")
            .graphql
            .iter()
            .all(|(_, user, _)| user.is_none())
    );
}

#[tokio::test]
async fn the_daily_report_is_posted_once_by_two_replicas() {
    let f = fakes().await;
    let today: chrono::NaiveDate = "2026-12-10".parse().expect("a date");
    let (a, b) = tokio::join!(
        bot::schedule::daily_report(&f.api, &f.slack, "CREPORT", today),
        bot::schedule::daily_report(&f.api, &f.slack, "CREPORT", today),
    );
    let posted = [a.expect("replica a"), b.expect("replica b")];
    assert_eq!(posted.iter().filter(|p| **p).count(), 1, "{posted:?}");
    let posts = f.slack_calls("chat.postMessage");
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["channel"], "CREPORT");
    assert!(
        posts[0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("2026-12-09") && t.contains("₩1,234,500"))
    );
    let done = f.slack_calls("files.completeUploadExternal");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["thread_ts"], "1700000000.000100");
    let seen = f.seen.lock().expect("lock");
    assert!(
        seen.claims
            .contains(&("daily-report".to_owned(), "2026-12-09".to_owned()))
    );
    let sales = seen
        .graphql
        .iter()
        .find(|(op, _, _)| op == "BotSales")
        .expect("sales asked");
    assert_eq!(
        (sales.2["from"].as_str(), sales.2["prevFrom"].as_str()),
        (Some("2026-12-09"), Some("2026-12-08"))
    );
}

#[tokio::test]
async fn an_alert_is_posted_once_and_rewritten_when_it_clears() {
    let f = fakes().await;
    let alert = json!({
        "id": "alr_1", "kind": "SOLD_OUT", "key": "var_1", "severity": "CRITICAL", "title": "프로틴 / 초코 품절",
        "detail": "가용 0", "raisedAt": "2026-12-10T00:00:00Z", "clearedAt": null, "orderNumber": null,
        "variantId": "var_1", "sku": "PRO-CHOC", "adminUrl": "https://admin.example.com/stock/var_1"
    });
    f.seen.lock().expect("lock").alerts = vec![alert.clone()];
    // Sold-out alerts have a channel of their own; the rest go to CALERT.
    let mut routes = bot::settings::Settings::defaults().bot;
    routes.alert_channel = Some("CALERT".into());
    routes.alert_channels.insert("sold_out".into(), "CSTOCK".into());
    for _ in 0..2 {
        bot::schedule::poll_alerts(&f.api, &f.slack, &routes, None)
            .await
            .expect("polled");
    }
    let posts = f.slack_calls("chat.postMessage");
    assert_eq!(posts.len(), 1, "posted once however often polled");
    assert_eq!(posts[0]["channel"], "CSTOCK");
    let actions = posts[0]["blocks"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["type"] == "actions"))
        .expect("buttons");
    assert_eq!(actions["elements"][0]["url"], "https://admin.example.com/stock/var_1");
    assert_eq!(actions["elements"][1]["value"], "var_1:10");

    let mut cleared = alert;
    cleared["clearedAt"] = json!("2026-12-10T01:00:00Z");
    f.seen.lock().expect("lock").alerts = vec![cleared];
    for _ in 0..2 {
        bot::schedule::poll_alerts(&f.api, &f.slack, &routes, None)
            .await
            .expect("polled");
    }
    let updates = f.slack_calls("chat.update");
    assert_eq!(updates.len(), 1, "rewritten once");
    assert_eq!(
        (updates[0]["channel"].as_str(), updates[0]["ts"].as_str()),
        (Some("C1"), Some("1700000000.000100"))
    );
    assert!(updates[0]["text"].as_str().is_some_and(|t| t.starts_with("✅")));
    assert_eq!(f.slack_calls("chat.postMessage").len(), 1);
}
