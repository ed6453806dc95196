//! The fakes themselves: the fake Slack answers as Slack documents (auth errors, Block Kit
//! and channel errors, the external upload with its size check, 429 with `Retry-After`,
//! `response_url`'s five uses), and the Slack and Sentry senders sign exactly what they send
//! (pinned to Slack's official vector and to the Sentry vector in messaging.md §2).

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, body::Bytes, extract::State, http::HeaderMap, routing::post};
use jangteo_tests::fakes::{
    Signing, http_client,
    sentry::{
        Encoding, INSTALLATION_UUID, IssueAction, MetricAction, MetricAlert, SentryIssue, SentrySender, SentryWebhook,
        python_json, sentry_sign,
    },
    slack::{ALERTS, BlockAction, EventCallback, FakeSlack, GENERAL, REPORTS, SlackSender, SlashCommand, slack_sign},
};
use serde_json::{Value, json};

const TOKEN: &str = "xoxb-1234-5678-fake";
const WAIT: Duration = Duration::from_secs(5);

/// POSTs JSON to a Web API method with the bot token.
async fn call(slack: &FakeSlack, method: &str, body: Value) -> Value {
    http_client()
        .post(format!("{}{method}", slack.base_url()))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json")
}

/// POSTs a form to a Web API method (the token in the form, as some clients send it).
async fn call_form(slack: &FakeSlack, method: &str, fields: &[(&str, &str)]) -> Value {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    http_client()
        .post(format!("{}{method}", slack.base_url()))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json")
}

#[test]
fn slack_signature_matches_slacks_official_vector() {
    let mut c = SlashCommand::new("/webhook-collect", "");
    c.token = "xyzz0WbapA4vBCDEFasx0q6G".into();
    c.team_id = "T1DC2JH3J".into();
    c.team_domain = "testteamnow".into();
    c.channel_id = "G8PSS9T3V".into();
    c.channel_name = "foobar".into();
    c.user_id = "U2CERLKJA".into();
    c.user_name = "roadrunner".into();
    c.response_url = "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN".into();
    c.trigger_id = "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c".into();
    c.api_app_id = None;
    let body = c.form_body();
    assert_eq!(
        String::from_utf8_lossy(&body),
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&\
         channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&\
         response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&\
         trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    );
    assert_eq!(
        slack_sign("8f742231b10e8888abcd99yyyzzz85a5", 1_531_420_618, &body),
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    );
}

#[test]
fn sentry_signature_matches_the_vector_and_bodies_escape_korean() {
    let body = br#"{"action":"created","installation":{"uuid":"a8e5d37a-696c-4c54-adb5-b3f28d64c7de"}}"#;
    assert_eq!(
        sentry_sign("test-client-secret", body),
        "ac985749d40ffbe1ff3f4a9691ab7a9e69c29c5cec0d1764d66ae8f94cfe8371"
    );
    // As Python's json.dumps writes it (checked against CPython).
    assert_eq!(
        python_json(&json!({ "title": "결제 😀", "a": [1, 2] })),
        r#"{"a": [1, 2], "title": "\uacb0\uc81c \ud83d\ude00"}"#
    );
    let issue = SentryIssue::new(42, "jangteo-api", "결제 승인 실패: 응답 시간 초과");
    let hook = SentryWebhook::issue(IssueAction::Created, &issue);
    let ascii = hook.body();
    assert!(ascii.is_ascii(), "Sentry escapes non-ASCII");
    assert!(String::from_utf8_lossy(&ascii).contains(r"\uacb0\uc81c"));
    let parsed: Value = serde_json::from_slice(&ascii).expect("JSON");
    assert_eq!(parsed["data"]["issue"]["title"], "결제 승인 실패: 응답 시간 초과");
    assert_eq!(parsed["installation"]["uuid"], INSTALLATION_UUID);
    let utf8 = hook.clone().encoding(Encoding::Utf8).body();
    assert!(String::from_utf8_lossy(&utf8).contains("결제"));
    assert_eq!(serde_json::from_slice::<Value>(&utf8).expect("JSON"), parsed);
}

#[tokio::test]
async fn the_web_api_refuses_missing_wrong_and_app_tokens() {
    let slack = FakeSlack::start(TOKEN).await;
    let client = http_client();
    let url = format!("{}auth.test", slack.base_url());
    let none = client.post(&url).send().await.expect("send");
    assert_eq!(none.status(), 200, "Slack answers errors with HTTP 200");
    assert_eq!(
        none.json::<Value>().await.expect("json"),
        json!({ "ok": false, "error": "not_authed" })
    );
    for (token, error) in [
        ("xoxb-wrong", "invalid_auth"),
        ("xapp-1-A0-1-abc", "not_allowed_token_type"),
    ] {
        let r: Value = client
            .post(&url)
            .bearer_auth(token)
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json");
        assert_eq!(r["error"], error);
    }
    // GET with the header (slack-morphism's auth.test) and POST with the token form field.
    let r: Value = client
        .get(&url)
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["user_id"], jangteo_tests::fakes::slack::BOT_USER_ID);
    let r = call_form(&slack, "auth.test", &[("token", TOKEN)]).await;
    assert_eq!(r["ok"], true, "{r}");
    let r = call(&slack, "chat.postMessages", json!({})).await;
    assert_eq!(r["error"], "unknown_method");
    let calls = slack.calls();
    assert_eq!(calls.len(), 6);
    assert_eq!(calls[0].error.as_deref(), Some("not_authed"));
    assert!(calls[3].ok() && !calls[3].args.contains_key("token"));
}

#[tokio::test]
async fn chat_methods_answer_slacks_errors_and_record_messages() {
    let slack = FakeSlack::start(TOKEN).await;
    slack.add_channel_without_bot("C0ELSEWHERE");
    let section = |text: &str| json!([{ "type": "section", "text": { "type": "mrkdwn", "text": text } }]);
    let cases = [
        (json!({ "channel": "C0NOSUCH", "text": "hi" }), "channel_not_found"),
        (json!({ "channel": "C0ELSEWHERE", "text": "hi" }), "not_in_channel"),
        (json!({ "channel": GENERAL }), "no_text"),
        (json!({ "channel": GENERAL, "text": "", "blocks": [] }), "no_text"),
        (
            json!({ "channel": GENERAL, "blocks": { "type": "section" } }),
            "invalid_blocks",
        ),
        (
            json!({ "channel": GENERAL, "blocks": [{ "text": "no type" }] }),
            "invalid_blocks",
        ),
        (
            json!({ "channel": GENERAL, "blocks": section(&"가".repeat(3001)) }),
            "invalid_blocks",
        ),
    ];
    for (body, error) in cases {
        let r = call(&slack, "chat.postMessage", body.clone()).await;
        assert_eq!(r["ok"], false, "{body}");
        assert_eq!(r["error"], error, "{body} → {r}");
    }
    assert!(slack.messages().is_empty());

    // Blocks as a JSON string in a form body, as Slack documents for form posts.
    let blocks = section("*어제* 매출 ₩1,234,500").to_string();
    let r = call_form(
        &slack,
        "chat.postMessage",
        &[
            ("token", TOKEN),
            ("channel", REPORTS),
            ("text", "어제 매출"),
            ("blocks", &blocks),
        ],
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");
    let ts = r["ts"].as_str().expect("ts").to_owned();
    let (secs, micros) = ts.split_once('.').expect("seconds.micros");
    assert!(secs.len() == 10 && micros.len() == 6, "{ts}");
    assert_eq!(r["message"]["blocks"][0]["type"], "section");

    let reply = call(
        &slack,
        "chat.postMessage",
        json!({ "channel": REPORTS, "text": "thread", "thread_ts": ts }),
    )
    .await;
    assert!(reply["ts"].as_str().expect("ts") > ts.as_str(), "ts increase");
    let r = call(
        &slack,
        "chat.postEphemeral",
        json!({ "channel": GENERAL, "user": "U0STAFF001", "text": "only you" }),
    )
    .await;
    assert!(r["message_ts"].is_string(), "{r}");

    let r = call(
        &slack,
        "chat.update",
        json!({ "channel": REPORTS, "ts": "1.000001", "text": "x" }),
    )
    .await;
    assert_eq!(r["error"], "message_not_found");
    let r = call(
        &slack,
        "chat.update",
        json!({ "channel": REPORTS, "ts": ts, "text": "✅ 해결됨", "blocks": section("✅ 해결됨") }),
    )
    .await;
    assert_eq!(r["ok"], true, "{r}");

    let messages = slack.messages();
    assert_eq!(messages.len(), 3);
    let first = &messages[0];
    assert_eq!(first.text.as_deref(), Some("✅ 해결됨"));
    assert_eq!(first.updates.len(), 1);
    assert!(first.all_text().contains("✅ 해결됨"));
    assert!(messages[1].is_reply() && messages[1].thread_ts.as_deref() == Some(ts.as_str()));
    assert_eq!(messages[2].ephemeral_user.as_deref(), Some("U0STAFF001"));

    slack.set_scopes(&["commands"]);
    let r = call(&slack, "chat.postMessage", json!({ "channel": GENERAL, "text": "hi" })).await;
    assert_eq!(
        r,
        json!({ "ok": false, "error": "missing_scope", "needed": "chat:write", "provided": "commands" })
    );
}

/// Step 1 of the upload as slack-morphism does it: GET with query parameters.
async fn upload_url(slack: &FakeSlack, filename: &str, length: usize) -> (String, String) {
    let r: Value = http_client()
        .get(format!("{}files.getUploadURLExternal", slack.base_url()))
        .bearer_auth(TOKEN)
        .query(&[("filename", filename), ("length", &length.to_string())])
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(r["ok"], true, "{r}");
    let id = r["file_id"].as_str().expect("file_id");
    assert!(id.starts_with('F'));
    (r["upload_url"].as_str().expect("upload_url").to_owned(), id.to_owned())
}

async fn complete(slack: &FakeSlack, id: &str) -> Value {
    call(
        slack,
        "files.completeUploadExternal",
        json!({ "files": [{ "id": id, "title": "어제 매출" }], "channel_id": REPORTS, "thread_ts": "1733200000.000100" }),
    )
    .await
}

#[tokio::test]
async fn the_upload_flow_checks_that_the_bytes_arrived_whole() {
    let slack = FakeSlack::start(TOKEN).await;
    let client = http_client();
    let png = b"\x89PNG\r\n\x1a\n0123456789".to_vec();

    // Raw bytes.
    let (url, raw) = upload_url(&slack, "sales.png", png.len()).await;
    assert!(url.starts_with(&slack.root_url()));
    let up = client
        .post(&url)
        .header("Content-Type", "image/png")
        .body(png.clone())
        .send()
        .await
        .expect("upload");
    assert_eq!(up.status(), 200);
    assert_eq!(up.text().await.expect("text"), format!("OK - {}", png.len()));
    let r = complete(&slack, &raw).await;
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["files"][0]["id"], raw.as_str());

    // Multipart with a `filename` part, as curl -F does.
    let (url, multi) = upload_url(&slack, "sales.png", png.len()).await;
    let mut body = b"--XyZ\r\nContent-Disposition: form-data; name=\"filename\"; filename=\"sales.png\"\r\n\
                     Content-Type: image/png\r\n\r\n"
        .to_vec();
    body.extend_from_slice(&png);
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    let up = client
        .post(&url)
        .header("Content-Type", "multipart/form-data; boundary=XyZ")
        .body(body)
        .send()
        .await
        .expect("upload");
    assert_eq!(up.status(), 200);
    assert_eq!(complete(&slack, &multi).await["ok"], true);

    // Announced 100 bytes, sent fewer; announced and never sent; never announced.
    let (url, short) = upload_url(&slack, "short.png", 100).await;
    client.post(&url).body(png.clone()).send().await.expect("upload");
    assert_eq!(complete(&slack, &short).await["error"], "file_size_mismatch");
    let (_, never) = upload_url(&slack, "never.png", 10).await;
    assert_eq!(complete(&slack, &never).await["error"], "file_not_uploaded");
    assert_eq!(complete(&slack, "F0NOSUCH").await["error"], "file_not_found");
    let r = call_form(
        &slack,
        "files.getUploadURLExternal",
        &[("token", TOKEN), ("filename", "x.png"), ("length", "0")],
    )
    .await;
    assert_eq!(r["error"], "missing_argument");

    let files = slack.files();
    let done: Vec<_> = files.iter().filter(|f| f.completed).collect();
    assert_eq!(done.len(), 2);
    for f in done {
        assert!(f.is_png() && f.bytes.as_deref() == Some(png.as_slice()));
        assert_eq!(f.channel.as_deref(), Some(REPORTS));
        assert_eq!(f.title.as_deref(), Some("어제 매출"));
        assert_eq!(f.thread_ts.as_deref(), Some("1733200000.000100"));
    }
    assert_eq!(
        files
            .iter()
            .find(|f| f.id == multi)
            .and_then(|f| f.content_type.as_deref()),
        Some("image/png")
    );
}

#[tokio::test]
async fn a_rate_limited_method_answers_429_with_retry_after() {
    let slack = FakeSlack::start(TOKEN).await;
    slack.rate_limit_next("chat.postMessage", 1, 1);
    let client = http_client();
    let send = || {
        client
            .post(format!("{}chat.postMessage", slack.base_url()))
            .bearer_auth(TOKEN)
            .json(&json!({ "channel": ALERTS, "text": "재고 부족" }))
            .send()
    };
    let first = send().await.expect("send");
    assert_eq!(first.status(), 429);
    assert_eq!(first.headers()["retry-after"], "1");
    assert_eq!(
        first.json::<Value>().await.expect("json"),
        json!({ "ok": false, "error": "ratelimited" })
    );
    // A client that honours Retry-After waits before it tries again.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let second = send().await.expect("send");
    assert_eq!(second.status(), 200);
    let calls = slack.calls_of("chat.postMessage");
    assert_eq!((calls[0].status, calls[1].status), (429, 200));
    assert!(calls[1].at - calls[0].at >= Duration::from_secs(1));
    assert_eq!(slack.messages().len(), 1, "the limited call posted nothing");

    slack.fail_next("chat.postMessage", "internal_error");
    let r: Value = send().await.expect("send").json().await.expect("json");
    assert_eq!(r["error"], "internal_error");
}

#[tokio::test]
async fn a_response_url_takes_five_posts_within_thirty_minutes() {
    let slack = FakeSlack::start(TOKEN).await;
    let client = http_client();
    let url = slack.response_url();
    for i in 0..6 {
        let r = client
            .post(&url)
            .json(&json!({ "response_type": "in_channel", "text": format!("답 {i}") }))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), if i < 5 { 200 } else { 404 }, "post {i}");
    }
    let expired = slack.response_url();
    slack.expire_response_url(&expired);
    let r = client
        .post(&expired)
        .json(&json!({ "text": "late" }))
        .send()
        .await
        .expect("send");
    assert_eq!(
        (r.status().as_u16(), r.text().await.expect("text")),
        (404, "expired_url".to_owned())
    );
    let responses = slack.responses();
    assert_eq!(responses.iter().filter(|r| r.accepted).count(), 5);
    assert!(!responses[5].accepted && responses[5].status == 404);
    assert!(!responses[0].is_ephemeral());

    // An interaction's response_url replaces the message the button was on.
    let posted = call(
        &slack,
        "chat.postMessage",
        json!({ "channel": ALERTS, "text": "재고 부족: SKU-1" }),
    )
    .await;
    let ts = posted["ts"].as_str().expect("ts");
    let url = slack.response_url_for(ALERTS, ts);
    let r = client
        .post(&url)
        .json(&json!({ "replace_original": true, "text": "입고 처리됨" }))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let m = slack
        .wait_for_message(|m| m.ts == ts && !m.updates.is_empty(), WAIT)
        .await;
    assert_eq!(m.text.as_deref(), Some("입고 처리됨"));
    assert_eq!(m.updates[0].via, "response_url");
}

#[tokio::test]
async fn wait_for_wakes_on_the_record_it_waits_for() {
    let slack = Arc::new(FakeSlack::start(TOKEN).await);
    let poster = {
        let slack = slack.clone();
        tokio::spawn(async move {
            for i in 0..3 {
                call(
                    &slack,
                    "chat.postMessage",
                    json!({ "channel": GENERAL, "text": format!("#{i}") }),
                )
                .await;
            }
        })
    };
    let n = slack
        .wait_for(|s| (s.messages.len() == 3).then_some(s.messages.len()), WAIT)
        .await;
    assert_eq!(n, 3);
    poster.await.expect("poster");
}

/// What a receiver saw: headers and raw body of each request.
type Seen = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

async fn receiver(delay: Duration) -> (String, Seen) {
    async fn record(State((seen, delay)): State<(Seen, Duration)>, headers: HeaderMap, body: Bytes) -> &'static str {
        seen.lock().expect("lock").push((headers, body));
        tokio::time::sleep(delay).await; // a receiver that does its work before answering
        "ok"
    }
    let seen = Seen::default();
    let app = Router::new()
        .route("/{*path}", post(record))
        .with_state((seen.clone(), delay));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), seen)
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn the_slack_sender_signs_exactly_what_it_sends() {
    let (base, seen) = receiver(Duration::ZERO).await;
    let secret = "signing-secret";
    let slack = SlackSender::new(&base, secret);
    let command = SlashCommand::new("/sales", "어제 채널별").response_url("http://127.0.0.1:1/response/x");
    for signing in [
        Signing::Valid,
        Signing::WrongSecret,
        Signing::Tampered,
        Signing::Stale,
        Signing::Unsigned,
    ] {
        let reply = slack.command_with(&command, signing).await;
        assert_eq!(reply.status, 200);
    }
    let mention = EventCallback::app_mention("U0STAFF001", GENERAL, "/sales 오늘");
    slack.event(&mention).await;
    slack.event_retry(&mention, 1, "http_timeout").await;
    slack
        .url_verification("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P")
        .await;
    let click = BlockAction::button("U0STAFF001", ALERTS, "1733200000.000100", "restock", Some("var_1"))
        .response_url("http://127.0.0.1:1/response/y");
    slack.interaction(&click).await;

    let seen = seen.lock().expect("lock").clone();
    let verifies = |(h, body): &(HeaderMap, Bytes)| {
        let ts: i64 = header(h, "x-slack-request-timestamp")
            .and_then(|t| t.parse().ok())
            .expect("timestamp");
        let fresh = (jangteo_tests::fakes::unix_now() - ts).abs() <= 300;
        fresh && header(h, "x-slack-signature") == Some(slack_sign(secret, ts, body).as_str())
    };
    let verdicts: Vec<bool> = seen.iter().map(verifies).collect();
    assert_eq!(verdicts, [true, false, false, false, false, true, true, true, true]);
    assert!(header(&seen[4].0, "x-slack-signature").is_none());

    let form: Vec<(String, String)> = form_urlencoded::parse(&seen[0].1).into_owned().collect();
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!((field("command"), field("text")), (Some("/sales"), Some("어제 채널별")));
    let tampered: Vec<(String, String)> = form_urlencoded::parse(&seen[2].1).into_owned().collect();
    assert_eq!(tampered, form, "tampering changes bytes, not fields");

    let first: Value = serde_json::from_slice(&seen[5].1).expect("event");
    let retry: Value = serde_json::from_slice(&seen[6].1).expect("retry");
    assert_eq!(first, retry, "a retry is the same delivery");
    assert_eq!(first["event"]["text"], "<@U0JANGBOT1> /sales 오늘");
    assert_eq!(header(&seen[6].0, "x-slack-retry-num"), Some("1"));
    assert_eq!(header(&seen[6].0, "x-slack-retry-reason"), Some("http_timeout"));
    assert_ne!(
        first["event_id"],
        EventCallback::app_mention("U1", GENERAL, "x").event_id
    );
    let verification: Value = serde_json::from_slice(&seen[7].1).expect("json");
    assert_eq!(verification["type"], "url_verification");
    let form: Vec<(String, String)> = form_urlencoded::parse(&seen[8].1).into_owned().collect();
    assert_eq!(form.len(), 1);
    let payload: Value = serde_json::from_str(&form[0].1).expect("payload JSON");
    assert_eq!(payload["type"], "block_actions");
    assert_eq!(payload["actions"][0]["action_id"], "restock");
    assert_eq!(payload["actions"][0]["value"], "var_1");
    assert_eq!(payload["response_url"], "http://127.0.0.1:1/response/y");
}

#[tokio::test]
async fn the_sentry_sender_signs_times_and_replays_deliveries() {
    let (base, seen) = receiver(Duration::ZERO).await;
    let sentry = SentrySender::new(&format!("{base}/sentry/webhook"), "test-client-secret");
    let issue = SentryIssue::new(1_170_820_242, "jangteo-api", "결제 승인 실패: 응답 시간 초과").level("fatal");
    let hooks = [
        SentryWebhook::issue(IssueAction::Created, &issue),
        SentryWebhook::issue(IssueAction::Resolved, &issue),
        SentryWebhook::issue(
            IssueAction::Assigned {
                name: "김운영".into(),
                email: "ops@jangteo.kr".into(),
            },
            &issue,
        ),
        SentryWebhook::issue(IssueAction::Ignored, &issue),
        SentryWebhook::event_alert(&issue, "결제 오류 알림"),
        SentryWebhook::metric_alert(MetricAction::Critical, &MetricAlert::new("오류 급증", "jangteo-api")),
    ];
    let mut deliveries = Vec::new();
    for hook in &hooks {
        let d = sentry.send(hook).await;
        assert_eq!(d.reply.status, 200);
        assert!(!d.too_slow());
        deliveries.push(d);
    }
    let replay = sentry.replay(&deliveries[0]).await;
    let unsigned = sentry.send_with(&hooks[0], Signing::Unsigned).await;
    let tampered = sentry.send_with(&hooks[0], Signing::Tampered).await;

    let seen = seen.lock().expect("lock").clone();
    let verifies = |(h, body): &(HeaderMap, Bytes)| {
        header(h, "sentry-hook-signature") == Some(sentry_sign("test-client-secret", body).as_str())
    };
    let verdicts: Vec<bool> = seen.iter().map(verifies).collect();
    assert_eq!(verdicts, [true, true, true, true, true, true, true, false, false]);
    for (h, _) in &seen {
        assert_eq!(header(h, "content-type"), Some("application/json"));
        assert!(header(h, "request-id").is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()));
        assert!(header(h, "sentry-hook-timestamp").is_some_and(|t| t.parse::<i64>().is_ok()));
    }
    let resources: Vec<_> = seen
        .iter()
        .map(|(h, _)| header(h, "sentry-hook-resource").expect("resource"))
        .collect();
    assert_eq!(
        &resources[..6],
        ["issue", "issue", "issue", "issue", "event_alert", "metric_alert"]
    );
    let actions: Vec<Value> = seen[..6]
        .iter()
        .map(|(_, b)| serde_json::from_slice::<Value>(b).expect("json")["action"].clone())
        .collect();
    assert_eq!(
        actions,
        ["created", "resolved", "assigned", "ignored", "triggered", "critical"]
    );
    assert_eq!(replay.request_id, deliveries[0].request_id);
    assert_eq!(seen[6].1, seen[0].1, "a replay sends the same bytes");
    assert_ne!(unsigned.request_id, deliveries[0].request_id);
    assert!(header(&seen[7].0, "sentry-hook-signature").is_none());
    assert_eq!(
        serde_json::from_slice::<Value>(&tampered.body).expect("json"),
        serde_json::from_slice::<Value>(&deliveries[0].body).expect("json"),
        "tampering changes bytes, not content"
    );
    let alert: Value = serde_json::from_slice(&seen[4].1).expect("json");
    assert_eq!(alert["data"]["event"]["issue_id"], "1170820242");
    assert_eq!(alert["data"]["event"]["environment"], "production");
    assert_eq!(alert["data"]["event"]["level"], "fatal");

    // A receiver that works before it answers is flagged.
    let (slow, _) = receiver(Duration::from_millis(1100)).await;
    let d = SentrySender::new(&format!("{slow}/sentry/webhook"), "test-client-secret")
        .send(&hooks[0])
        .await;
    assert!(d.too_slow(), "{:?}", d.reply.elapsed);
}
