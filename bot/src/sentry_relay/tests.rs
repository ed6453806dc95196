//! The relay over HTTP: signed deliveries built the way Sentry sends them (non-ASCII escaped
//! as `\uXXXX`, signed over those exact bytes), an in-memory Slack and a clock the tests move.

use std::{fmt::Write as _, sync::Arc};

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode},
};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::{
    MessageUpdate, PostError, PostMessage, Poster, SentryRelay, SentrySettings,
    memory::{ManualClock, MemoryPoster, MemoryThreads},
    routes, sign, verify,
};
use crate::settings::{ClockTime, QuietHours, SentryLevel, SentryRoute, Zone};

const SECRET: &str = "test-client-secret";
const INSTALLATION: &str = "a8e5d37a-696c-4c54-adb5-b3f28d64c7de";

#[test]
fn the_signature_is_hex_hmac_sha256_of_the_raw_body() {
    // messaging.md §2's vector.
    let body = br#"{"action":"created","installation":{"uuid":"a8e5d37a-696c-4c54-adb5-b3f28d64c7de"}}"#;
    let expected = "ac985749d40ffbe1ff3f4a9691ab7a9e69c29c5cec0d1764d66ae8f94cfe8371";
    assert_eq!(sign(SECRET.as_bytes(), body), expected);
    assert!(verify(SECRET.as_bytes(), Some(expected), body));
    assert!(verify(SECRET.as_bytes(), Some(&expected.to_uppercase()), body));
    assert!(!verify(b"another-secret", Some(expected), body));
    assert!(!verify(SECRET.as_bytes(), Some(expected), &body[1..]));
    assert!(!verify(SECRET.as_bytes(), Some("ac98"), body));
    assert!(!verify(SECRET.as_bytes(), Some("zz"), body));
    assert!(!verify(SECRET.as_bytes(), None, body));
}

/// Noon in Seoul, away from any quiet hours.
fn noon() -> DateTime<Utc> {
    chrono_tz::Asia::Seoul
        .with_ymd_and_hms(2026, 12, 1, 12, 0, 0)
        .single()
        .expect("a valid time")
        .to_utc()
}

fn settings(max_per_minute: u32) -> SentrySettings {
    SentrySettings {
        client_secret: Some(SECRET.into()),
        routes: vec![
            SentryRoute {
                project: Some("shop".to_owned()),
                environment: Some("production".to_owned()),
                min_level: Some(SentryLevel::Error),
                channel: "CPROD".to_owned(),
            },
            SentryRoute {
                project: Some("shop".to_owned()),
                environment: None,
                min_level: None,
                channel: "CSHOP".to_owned(),
            },
        ],
        max_per_minute,
        quiet_hours: None,
    }
}

struct Rig {
    app: Router,
    relay: SentryRelay,
    slack: MemoryPoster,
    clock: ManualClock,
}

fn rig(settings: &SentrySettings) -> Rig {
    let slack = MemoryPoster::new();
    let clock = ManualClock::at(noon());
    let relay = SentryRelay::builder(settings, Some("CALERT".to_owned()))
        .clock(Arc::new(clock.clone()))
        .tick_every(None)
        .start(slack.clone(), MemoryThreads::new());
    Rig {
        app: routes(relay.clone()),
        relay,
        slack,
        clock,
    }
}

/// JSON as Sentry writes it: compact, with every non-ASCII character as `\uXXXX`.
fn sentry_json(v: &Value) -> Vec<u8> {
    let compact = serde_json::to_string(v).expect("serializable");
    let mut out = String::with_capacity(compact.len());
    for c in compact.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{u:04x}");
            }
        }
    }
    out.into_bytes()
}

/// How a delivery is signed.
enum Sig {
    Good,
    Missing,
    Tampered,
}

impl Rig {
    async fn deliver(&self, resource: &str, request_id: &str, body: &Value, sig: Sig) -> StatusCode {
        let mut bytes = sentry_json(body);
        let signature = sign(SECRET.as_bytes(), &bytes);
        if let Sig::Tampered = sig {
            // The same JSON with one count changed after signing.
            let text = String::from_utf8(bytes).expect("ascii");
            bytes = text.replacen("\"count\":\"", "\"count\":\"9", 1).into_bytes();
        }
        let mut req = Request::post("/sentry/webhook")
            .header("content-type", "application/json")
            .header("request-id", request_id)
            .header("sentry-hook-resource", resource)
            .header("sentry-hook-timestamp", noon().timestamp().to_string());
        if !matches!(sig, Sig::Missing) {
            req = req.header("sentry-hook-signature", signature);
        }
        let res = self
            .app
            .clone()
            .oneshot(req.body(Body::from(bytes)).expect("a request"))
            .await
            .expect("infallible");
        self.relay.settle().await;
        res.status()
    }

    fn posts(&self) -> Vec<PostMessage> {
        self.slack.posts().into_iter().map(|p| p.message).collect()
    }
}

/// An `issue` webhook body as Sentry documents it.
fn issue(action: &str, id: &str, title: &str, level: &str) -> Value {
    json!({
        "action": action,
        "installation": { "uuid": INSTALLATION },
        "data": { "issue": {
            "id": id,
            "shareId": null,
            "shortId": format!("SHOP-{id}"),
            "title": title,
            "culprit": "commerce::payment::toss::confirm",
            "permalink": null,
            "logger": null,
            "level": level,
            "status": if action == "resolved" { "resolved" } else { "unresolved" },
            "statusDetails": {},
            "substatus": if action == "archived" { "archived_until_escalating" } else { "new" },
            "isPublic": false,
            "platform": "rust",
            "project": { "id": "2", "name": "shop", "slug": "shop", "platform": "rust" },
            "type": "error",
            "metadata": { "type": "Error", "value": title },
            "numComments": 0,
            "assignedTo": if action == "assigned" {
                json!({ "type": "user", "id": "7", "name": "김지원", "email": "jiwon@example.com" })
            } else { Value::Null },
            "isBookmarked": false,
            "hasSeen": false,
            "annotations": [],
            "isUnhandled": true,
            "count": "12",
            "userCount": 3,
            "firstSeen": "2026-12-01T02:58:37.391000Z",
            "lastSeen": "2026-12-01T02:59:01.000000Z",
            "url": format!("https://sentry.io/api/0/organizations/jangteo/issues/{id}/"),
            "web_url": format!("https://sentry.io/organizations/jangteo/issues/{id}/"),
            "project_url": "https://sentry.io/organizations/jangteo/issues/?project=2"
        }},
        "actor": if action == "created" {
            json!({ "type": "application", "id": "sentry", "name": "Sentry" })
        } else {
            json!({ "type": "user", "id": "7", "name": "박민수" })
        }
    })
}

/// An `event_alert.triggered` body for an event of issue `issue_id`.
fn event_alert(issue_id: &str, event_id: &str, title: &str, environment: &str) -> Value {
    json!({
        "action": "triggered",
        "installation": { "uuid": INSTALLATION },
        "data": {
            "event": {
                "event_id": event_id,
                "project": 2,
                "release": "jangteo@0.1.0",
                "platform": "rust",
                "message": "",
                "datetime": "2026-12-01T03:00:00.000000Z",
                "tags": [["environment", environment], ["level", "error"], ["server_name", "web-1"]],
                "culprit": "commerce::payment::toss::confirm",
                "environment": environment,
                "level": "error",
                "title": title,
                "type": "error",
                "user": { "ip_address": "203.0.113.7" },
                "url": format!("https://sentry.io/api/0/projects/jangteo/shop/events/{event_id}/"),
                "web_url": format!("https://sentry.io/organizations/jangteo/issues/{issue_id}/events/{event_id}/"),
                "issue_url": format!("https://sentry.io/api/0/issues/{issue_id}/"),
                "issue_id": issue_id
            },
            "triggered_rule": "결제 오류 알림",
            "issue_alert": { "title": "결제 오류 알림", "settings": [] }
        },
        "actor": { "type": "application", "id": "sentry", "name": "Sentry" }
    })
}

fn metric_alert(action: &str, id: &str) -> Value {
    json!({
        "action": action,
        "installation": { "uuid": INSTALLATION },
        "data": {
            "metric_alert": {
                "id": id,
                "identifier": 3,
                "organization_id": "1",
                "alert_rule": {
                    "id": "3", "organization_id": "1", "name": "주문 오류율", "dataset": "events",
                    "query": "", "aggregate": "count()", "time_window": 1, "environment": "production",
                    "projects": ["shop"], "threshold_type": 0, "resolve_threshold": null
                },
                "date_started": "2026-12-01T03:00:00Z",
                "date_detected": "2026-12-01T03:00:00Z",
                "date_closed": null
            },
            "description_title": format!("{}: 주문 오류율", if action == "resolved" { "Resolved" } else { "Critical" }),
            "description_text": "1000 events in the last minute",
            "web_url": format!("https://sentry.io/organizations/jangteo/alerts/rules/details/{id}/")
        },
        "actor": { "type": "application", "id": "sentry", "name": "Sentry" }
    })
}

#[tokio::test]
async fn a_signed_issue_is_posted_once_to_its_route_in_korean() {
    let rig = rig(&settings(10));
    let status = rig
        .deliver(
            "issue",
            "req-1",
            &issue("created", "101", "결제 승인 실패: 잔액 부족", "error"),
            Sig::Good,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let posts = rig.posts();
    assert_eq!(posts.len(), 1);
    let p = &posts[0];
    // Issue webhooks carry no environment: the project-only route takes it.
    assert_eq!(p.channel, "CSHOP");
    assert_eq!(p.thread_ts, None);
    assert_eq!(p.text, "🔴 [error] 결제 승인 실패: 잔액 부족 (shop)");
    assert_eq!(
        p.blocks[0]["text"]["text"],
        "🔴 *<https://sentry.io/organizations/jangteo/issues/101/|결제 승인 실패: 잔액 부족>*\n\
         `commerce::payment::toss::confirm`"
    );
    assert_eq!(
        p.blocks[1]["elements"][0]["text"],
        "*shop* · `SHOP-101` · 12 events · error"
    );
}

#[tokio::test]
async fn unsigned_tampered_and_wrongly_keyed_deliveries_get_401_and_post_nothing() {
    let rig = rig(&settings(10));
    let body = issue("created", "102", "결제 실패", "fatal");
    assert_eq!(
        rig.deliver("issue", "req-a", &body, Sig::Missing).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        rig.deliver("issue", "req-b", &body, Sig::Tampered).await,
        StatusCode::UNAUTHORIZED
    );
    let mut other = settings(10);
    other.client_secret = Some("another-secret".into());
    let wrong = self::rig(&other);
    assert_eq!(
        wrong.deliver("issue", "req-c", &body, Sig::Good).await,
        StatusCode::UNAUTHORIZED
    );
    let mut none = settings(10);
    none.client_secret = None;
    let unset = self::rig(&none);
    assert_eq!(
        unset.deliver("issue", "req-d", &body, Sig::Good).await,
        StatusCode::UNAUTHORIZED
    );
    assert!(rig.posts().is_empty() && wrong.posts().is_empty() && unset.posts().is_empty());
    // A refused delivery doesn't use up its Request-ID: the genuine one still goes through.
    assert_eq!(rig.deliver("issue", "req-a", &body, Sig::Good).await, StatusCode::OK);
    assert_eq!(rig.posts().len(), 1);
}

#[tokio::test]
async fn repeats_of_an_issue_are_threaded_under_its_message() {
    let rig = rig(&settings(10));
    rig.deliver(
        "issue",
        "req-1",
        &issue("created", "103", "재고 차감 실패", "error"),
        Sig::Good,
    )
    .await;
    let e1 = event_alert(
        "103",
        "e0000000000000000000000000000001",
        "재고 차감 실패",
        "production",
    );
    let e2 = event_alert(
        "103",
        "e0000000000000000000000000000002",
        "재고 차감 실패",
        "production",
    );
    assert_eq!(
        rig.deliver("event_alert", "req-2", &e1, Sig::Good).await,
        StatusCode::OK
    );
    assert_eq!(
        rig.deliver("event_alert", "req-3", &e2, Sig::Good).await,
        StatusCode::OK
    );
    // `issue.created` again (Sentry re-sending, or another replica's webhook) posts nothing new.
    rig.deliver(
        "issue",
        "req-4",
        &issue("created", "103", "재고 차감 실패", "error"),
        Sig::Good,
    )
    .await;

    let posts = rig.slack.posts();
    assert_eq!(posts.len(), 3, "one root and two replies: {posts:#?}");
    let root = &posts[0];
    for reply in &posts[1..] {
        assert_eq!(reply.message.thread_ts.as_deref(), Some(root.ts.as_str()));
        assert_eq!(reply.message.channel, root.message.channel);
    }
    let line = posts[1].message.blocks[0]["text"]["text"].as_str().expect("text");
    assert!(
        line.contains("rule *결제 오류 알림*") && line.contains("production"),
        "{line}"
    );
    assert!(
        line.contains("/events/e0000000000000000000000000000001/|New event>"),
        "{line}"
    );
    // The user's IP in the event never reaches Slack.
    assert!(!format!("{posts:?}").contains("203.0.113.7"));
}

#[tokio::test]
async fn an_event_alert_without_an_issue_message_starts_one_by_environment() {
    let rig = rig(&settings(10));
    let e = event_alert("104", "e0000000000000000000000000000003", "DB 연결 끊김", "production");
    rig.deliver("event_alert", "req-1", &e, Sig::Good).await;
    rig.deliver(
        "issue",
        "req-2",
        &issue("resolved", "104", "DB 연결 끊김", "error"),
        Sig::Good,
    )
    .await;
    let posts = rig.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].channel, "CPROD");
    assert_eq!(posts[0].text, "🔴 [error] DB 연결 끊김 (shop, production)");
    assert_eq!(rig.slack.updates().len(), 1);
}

#[tokio::test]
async fn resolving_an_issue_updates_its_message_with_a_check_mark() {
    let rig = rig(&settings(10));
    rig.deliver(
        "issue",
        "req-1",
        &issue("created", "105", "배송 조회 실패", "warning"),
        Sig::Good,
    )
    .await;
    rig.deliver(
        "issue",
        "req-2",
        &issue("resolved", "105", "배송 조회 실패", "warning"),
        Sig::Good,
    )
    .await;
    let root = &rig.slack.posts()[0];
    let updates = rig.slack.updates();
    assert_eq!(rig.slack.posts().len(), 1, "resolving posts nothing new");
    assert_eq!(updates.len(), 1);
    let u: &MessageUpdate = &updates[0];
    assert_eq!(
        (u.channel.as_str(), u.ts.as_str()),
        (root.message.channel.as_str(), root.ts.as_str())
    );
    assert_eq!(u.text, "✅ Resolved: 배송 조회 실패 (shop)");
    assert!(
        u.blocks[0]["text"]["text"]
            .as_str()
            .expect("text")
            .starts_with("✅ *Resolved*")
    );
    assert!(
        u.blocks[1]["elements"][0]["text"]
            .as_str()
            .expect("text")
            .ends_with("resolved by 박민수")
    );

    // A resolve for an issue never posted changes nothing.
    rig.deliver(
        "issue",
        "req-3",
        &issue("resolved", "999", "다른 이슈", "error"),
        Sig::Good,
    )
    .await;
    assert_eq!((rig.slack.posts().len(), rig.slack.updates().len()), (1, 1));
}

#[tokio::test]
async fn ignored_and_archived_mute_the_message_and_assignment_is_a_threaded_note() {
    let rig = rig(&settings(10));
    rig.deliver(
        "issue",
        "req-1",
        &issue("created", "106", "쿠폰 적용 오류", "error"),
        Sig::Good,
    )
    .await;
    rig.deliver(
        "issue",
        "req-2",
        &issue("assigned", "106", "쿠폰 적용 오류", "error"),
        Sig::Good,
    )
    .await;
    rig.deliver(
        "issue",
        "req-3",
        &issue("archived", "106", "쿠폰 적용 오류", "error"),
        Sig::Good,
    )
    .await;
    rig.deliver(
        "issue",
        "req-4",
        &issue("ignored", "106", "쿠폰 적용 오류", "error"),
        Sig::Good,
    )
    .await;
    let posts = rig.slack.posts();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[1].message.thread_ts.as_deref(), Some(posts[0].ts.as_str()));
    assert_eq!(
        posts[1].message.blocks[0]["text"]["text"],
        "👤 Assigned to *김지원* by 박민수"
    );
    assert!(
        !format!("{posts:?}").contains("jiwon@example.com"),
        "no e-mail in Slack"
    );
    let updates = rig.slack.updates();
    assert_eq!(updates.len(), 2);
    assert_eq!(
        updates[0].text,
        "🔕 Muted (archived until it escalates): 쿠폰 적용 오류 (shop)"
    );
    assert_eq!(updates[1].text, "🔕 Muted (ignored): 쿠폰 적용 오류 (shop)");
}

#[tokio::test]
async fn a_replayed_request_id_is_handled_once() {
    let rig = rig(&settings(10));
    let body = issue("created", "107", "주문 생성 실패", "error");
    assert_eq!(rig.deliver("issue", "req-same", &body, Sig::Good).await, StatusCode::OK);
    assert_eq!(rig.deliver("issue", "req-same", &body, Sig::Good).await, StatusCode::OK);
    let e = event_alert(
        "107",
        "e0000000000000000000000000000004",
        "주문 생성 실패",
        "production",
    );
    assert_eq!(
        rig.deliver("event_alert", "req-again", &e, Sig::Good).await,
        StatusCode::OK
    );
    assert_eq!(
        rig.deliver("event_alert", "req-again", &e, Sig::Good).await,
        StatusCode::OK
    );
    assert_eq!(rig.posts().len(), 2, "one root, one reply");
}

#[tokio::test]
async fn a_flood_of_100_issues_posts_the_limit_then_one_summary() {
    let rig = rig(&settings(10));
    for i in 0..100 {
        let body = issue("created", &format!("2{i:03}"), &format!("장애 {i}"), "error");
        assert_eq!(
            rig.deliver("issue", &format!("flood-{i}"), &body, Sig::Good).await,
            StatusCode::OK
        );
        rig.clock.advance(TimeDelta::milliseconds(300));
    }
    assert_eq!(rig.posts().len(), 10, "the limit within the minute");
    rig.relay.tick().await;
    assert_eq!(rig.posts().len(), 10, "the minute isn't over yet (30 s)");

    rig.clock.advance(TimeDelta::seconds(31));
    rig.relay.tick().await;
    rig.relay.tick().await;
    let posts = rig.posts();
    assert_eq!(posts.len(), 11, "the limit and one summary");
    let summary = &posts[10];
    assert_eq!(summary.channel, "CSHOP");
    assert!(summary.text.starts_with("⏸️ 90 more events"), "{}", summary.text);
    let listed = summary.blocks[1]["text"]["text"].as_str().expect("text");
    assert!(
        listed.contains("장애 10") && listed.ends_with("…and 75 more issues"),
        "{listed}"
    );
}

#[tokio::test]
async fn after_the_window_the_next_message_brings_the_summary_first() {
    let rig = rig(&settings(3));
    for i in 0..5 {
        rig.deliver(
            "issue",
            &format!("r{i}"),
            &issue("created", &format!("30{i}"), "같은 오류", "error"),
            Sig::Good,
        )
        .await;
    }
    assert_eq!(rig.posts().len(), 3);
    rig.clock.advance(TimeDelta::seconds(61));
    rig.deliver("issue", "r5", &issue("created", "305", "새 오류", "error"), Sig::Good)
        .await;
    let posts = rig.posts();
    assert_eq!(posts.len(), 5);
    assert!(posts[3].text.starts_with("⏸️ 2 more events"), "{}", posts[3].text);
    assert_eq!(posts[4].text, "🔴 [error] 새 오류 (shop)");
}

#[tokio::test]
async fn quiet_hours_hold_all_but_fatal_until_they_end() {
    let mut s = settings(10);
    s.quiet_hours = Some(QuietHours {
        start: ClockTime::try_from("22:00".to_owned()).expect("a time"),
        end: ClockTime::try_from("08:00".to_owned()).expect("a time"),
        tz: Zone::default(),
    });
    let rig = rig(&s);
    let seoul = |d, h, m| {
        chrono_tz::Asia::Seoul
            .with_ymd_and_hms(2026, 12, d, h, m, 0)
            .single()
            .expect("valid")
            .to_utc()
    };
    rig.clock.set(seoul(1, 23, 30));
    rig.deliver(
        "issue",
        "q1",
        &issue("created", "401", "이미지 변환 경고", "warning"),
        Sig::Good,
    )
    .await;
    rig.deliver(
        "issue",
        "q2",
        &issue("created", "402", "메일 발송 실패", "error"),
        Sig::Good,
    )
    .await;
    rig.deliver(
        "issue",
        "q3",
        &issue("created", "402", "메일 발송 실패", "error"),
        Sig::Good,
    )
    .await;
    rig.deliver("issue", "q4", &issue("created", "403", "서버 다운", "fatal"), Sig::Good)
        .await;
    let posts = rig.posts();
    assert_eq!(posts.len(), 1, "only the fatal one at night");
    assert_eq!(posts[0].text, "🔥 [fatal] 서버 다운 (shop)");

    rig.clock.set(seoul(2, 7, 59));
    rig.relay.tick().await;
    assert_eq!(rig.posts().len(), 1);
    rig.clock.set(seoul(2, 8, 0));
    rig.relay.tick().await;
    let posts = rig.posts();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[1].channel, "CSHOP");
    assert!(posts[1].text.starts_with("🌙 3 events"), "{}", posts[1].text);
    let listed = posts[1].blocks[1]["text"]["text"].as_str().expect("text");
    assert!(
        listed.contains("이미지 변환 경고") && listed.contains("메일 발송 실패> ×2"),
        "{listed}"
    );
    rig.relay.tick().await;
    assert_eq!(rig.posts().len(), 2, "the digest is posted once");
}

#[tokio::test]
async fn a_metric_alert_is_one_message_updated_when_it_resolves() {
    let rig = rig(&settings(10));
    rig.deliver("metric_alert", "m1", &metric_alert("warning", "7"), Sig::Good)
        .await;
    rig.deliver("metric_alert", "m2", &metric_alert("critical", "7"), Sig::Good)
        .await;
    rig.deliver("metric_alert", "m3", &metric_alert("resolved", "7"), Sig::Good)
        .await;
    let posts = rig.slack.posts();
    assert_eq!(
        posts.len(),
        2,
        "the alert, and a note that it turned critical: {posts:#?}"
    );
    // A warning is below the production route's level: the project's route takes it.
    assert_eq!(posts[0].message.channel, "CSHOP");
    assert_eq!(posts[0].message.text, "🟠 Metric alert: 주문 오류율 (shop, production)");
    assert_eq!(posts[1].message.thread_ts.as_deref(), Some(posts[0].ts.as_str()));
    assert!(
        posts[1].message.blocks[0]["text"]["text"]
            .as_str()
            .expect("text")
            .contains("Now *critical*")
    );
    let updates = rig.slack.updates();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[1].text, "✅ Resolved: 주문 오류율 (shop, production)");
}

#[tokio::test]
async fn installation_comment_and_unknown_resources_are_accepted_and_ignored() {
    let rig = rig(&settings(10));
    let install =
        json!({ "action": "created", "installation": { "uuid": INSTALLATION }, "data": { "installation": {} } });
    assert_eq!(
        rig.deliver("installation", "i1", &install, Sig::Good).await,
        StatusCode::OK
    );
    let comment =
        json!({ "action": "created", "data": { "comment": "확인 중", "issue_id": 1, "project_slug": "shop" } });
    assert_eq!(rig.deliver("comment", "i2", &comment, Sig::Good).await, StatusCode::OK);
    assert_eq!(rig.deliver("seer", "i3", &comment, Sig::Good).await, StatusCode::OK);
    assert_eq!(
        rig.deliver("issue", "i4", &json!({ "action": "created" }), Sig::Good)
            .await,
        StatusCode::BAD_REQUEST
    );
    assert!(rig.posts().is_empty());
}

#[tokio::test]
async fn an_oversized_body_is_refused() {
    let rig = rig(&settings(10));
    let big = issue("created", "501", &"가".repeat(super::MAX_BODY / 2), "error");
    assert_eq!(
        rig.deliver("issue", "big", &big, Sig::Good).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert!(rig.posts().is_empty());
}

/// A Slack that never answers.
struct Stuck;

impl Poster for Stuck {
    async fn post(&self, _: PostMessage) -> Result<String, PostError> {
        std::future::pending().await
    }
    async fn update(&self, _: MessageUpdate) -> Result<(), PostError> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn the_webhook_answers_before_slack_does() {
    let relay = SentryRelay::builder(&settings(10), Some("CALERT".to_owned()))
        .tick_every(None)
        .start(Stuck, MemoryThreads::new());
    let app = routes(relay);
    let body = sentry_json(&issue("created", "601", "느린 슬랙", "error"));
    let req = Request::post("/sentry/webhook")
        .header("sentry-hook-resource", "issue")
        .header("request-id", "slow-1")
        .header("sentry-hook-signature", sign(SECRET.as_bytes(), &body))
        .body(Body::from(body))
        .expect("a request");
    let res = tokio::time::timeout(std::time::Duration::from_secs(1), app.oneshot(req))
        .await
        .expect("answered within Sentry's second")
        .expect("infallible");
    assert_eq!(res.status(), StatusCode::OK);
}
