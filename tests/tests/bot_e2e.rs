//! Issue 11 end to end: the real `jangteo` service with the demo shop behind the real bot (its
//! HTTP app in this process, or two `jangteo-bot http` processes for the daily report), against
//! the fake Slack and the Sentry sender. Slack users are linked to staff through the admin API
//! and the bot acts for them with a real bot token, so roles, masking and figures are the
//! service's own; nothing here is canned.

use std::{
    process::Stdio,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use bot::{
    api::Api,
    handlers::Bot,
    http::{ApiThreads, SlackPoster},
    sentry_relay::{Clock, SentryRelay, SentryRoute, SentrySettings},
    slack::SlackWeb,
};
use chrono::{DateTime, Days, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Asia::Seoul;
use commerce::staff::Role;
use jangteo_tests::{
    CHECKOUT, TestApp, checkout_input, data,
    fakes::{
        Signing,
        sentry::{IssueAction, SentryIssue, SentrySender, SentryWebhook, TEST_CLIENT_SECRET},
        slack::{
            ACK_LIMIT, ALERTS, BlockAction, EventCallback, FakeSlack, GENERAL, OPS, REPORTS, ResponsePost, SlackSender,
            SlashCommand,
        },
    },
    staff_session, uuid_of,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt as _;

const SLACK_TOKEN: &str = "xoxb-2026-1203-e2efake";
const SIGNING_SECRET: &str = "e2e-signing-secret";
/// Generous: debug builds on two shared cores render charts slowly. Waits end as soon as
/// the fake sees what they wait for.
const WAIT: Duration = Duration::from_mins(1);

/// Slack users of the tests' staff.
const OWNER_SLACK: &str = "U0OWNER001";
const CS_SLACK: &str = "U0CSTEAM01";
const NOBODY_SLACK: &str = "U0NOBODY01";

const ME: &str = "{ staffMe { id } }";
const LINK: &str =
    "mutation($s: ID!, $u: String) { staffSlackLink(staffId: $s, slackUserId: $u) { userErrors { field code } } }";
const BOT_TOKEN: &str = "mutation { botTokenCreate(name: \"slack-e2e\") { token } }";
const COUPON: &str =
    "mutation($t: String!, $c: String!) { cartCouponApply(token: $t, code: $c) { userErrors { code } } }";
const DEPOSIT: &str =
    "mutation($id: ID!, $a: Won!) { orderMarkDeposited(orderId: $id, amount: $a) { userErrors { code } } }";
const REFUND: &str = "mutation($id: ID!, $a: Won!) { orderRefund(orderId: $id, amount: $a, reason: \"부분 환불\") {
    userErrors { code } } }";
const FIGURES: &str = "query($d: Date!) {
    salesSummary(date: $d) { date orders netSales averageOrderValue previousDay { orders netSales } }
    salesReport(from: $d, to: $d, granularity: DAY) { totals { orders units netSales discounts refunds shippingFees } } }";
const CLAIM: &str = "mutation($n: String!, $p: String!) { botRunClaim(name: $n, period: $p) }";
const THREAD: &str = "query($k: String!) { botThread(key: $k) { channel ts } }";

// ---------------------------------------------------------------------------------------
// The shop

/// The service, its owner (linked to [`OWNER_SLACK`]) and a bot token the owner made.
struct Shop {
    app: TestApp,
    owner: String,
    bot_token: String,
}

impl Shop {
    async fn open(demo: bool) -> Shop {
        let app = if demo {
            TestApp::demo().await
        } else {
            TestApp::spawn().await
        };
        let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
        let r = app.admin(&owner, BOT_TOKEN, json!({})).await;
        let bot_token = data(&r)["botTokenCreate"]["token"]
            .as_str()
            .expect("a bot token")
            .to_owned();
        let shop = Shop { app, owner, bot_token };
        shop.link(&shop.owner, OWNER_SLACK).await;
        shop
    }

    /// Links the staff member signed in as `member` to `slack_user`.
    async fn link(&self, member: &str, slack_user: &str) {
        let r = self.app.admin(member, ME, json!({})).await;
        let id = data(&r)["staffMe"]["id"].clone();
        let r = self
            .app
            .admin(&self.owner, LINK, json!({ "s": id, "u": slack_user }))
            .await;
        assert_eq!(data(&r)["staffSlackLink"]["userErrors"], json!([]), "{r}");
    }

    /// A new staff member of `role`, linked to `slack_user`.
    async fn linked_staff(&self, email: &str, role: Role, slack_user: &str) {
        let token = staff_session(&self.app.pool, email, role).await;
        self.link(&token, slack_user).await;
    }

    fn admin_url(&self) -> String {
        format!("{}/admin/graphql", self.app.base)
    }

    /// A demo variant's opaque id by SKU.
    async fn variant(&self, sku: &str) -> String {
        let id: uuid::Uuid = sqlx::query_scalar("SELECT id FROM variants WHERE sku = $1")
            .bind(sku)
            .fetch_one(&self.app.pool)
            .await
            .unwrap_or_else(|e| panic!("no variant {sku}: {e}"));
        format!("var_{}", id.simple())
    }

    /// An order of `lines` (SKU, quantity) with `coupon`, placed as `input` says.
    async fn order(&self, lines: &[(&str, i32)], coupon: Option<&str>, input: Value) -> Value {
        let mut variants = Vec::new();
        for (sku, qty) in lines {
            variants.push((self.variant(sku).await, *qty));
        }
        let lines: Vec<(&str, i32)> = variants.iter().map(|(v, q)| (v.as_str(), *q)).collect();
        let cart = self.app.cart(&lines).await;
        if let Some(code) = coupon {
            let r = self.app.gql(COUPON, json!({ "t": cart, "c": code })).await;
            assert_eq!(data(&r)["cartCouponApply"]["userErrors"], json!([]), "{r}");
        }
        let r = self.app.gql(CHECKOUT, json!({ "t": cart, "i": input })).await;
        let order = data(&r)["checkoutComplete"]["order"].clone();
        assert!(order.is_object(), "{r}");
        order
    }

    /// The deposit of `order` in full, marked by the owner.
    async fn pay(&self, order: &Value) {
        let vars = json!({ "id": order["id"], "a": order["total"] });
        let r = self.app.admin(&self.owner, DEPOSIT, vars).await;
        assert_eq!(data(&r)["orderMarkDeposited"]["userErrors"], json!([]), "{r}");
    }
}

/// Today in Seoul, the shop's calendar.
fn seoul_today() -> NaiveDate {
    Utc::now().with_timezone(&Seoul).date_naive()
}

/// `hour:minute` on `day` in Seoul.
fn seoul_at(day: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let local = day.and_hms_opt(hour, minute, 0).expect("a time of day");
    Seoul
        .from_local_datetime(&local)
        .single()
        .expect("Seoul has no DST")
        .to_utc()
}

/// Tests about "yesterday" start after Seoul's midnight when it is under two minutes away:
/// the bot reads its own clock, and it and the test must mean the same day. Waiting out a
/// calendar boundary, not a race.
async fn away_from_seoul_midnight() {
    let next_midnight = seoul_at(seoul_today() + Days::new(1), 0, 0);
    let left = next_midnight - Utc::now();
    if left < TimeDelta::minutes(2) {
        let wait = (left + TimeDelta::seconds(1)).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
    }
}

/// Won as the bot must write amounts: `₩1,234,500` (written here on its own, not with the
/// bot's formatter, so a formatting slip shows).
fn won(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if n < 0 {
        format!("-₩{grouped}")
    } else {
        format!("₩{grouped}")
    }
}

/// An order of [`sales_shop`]: the day it is paid, its lines (SKU, quantity), its coupon and
/// how much of it is refunded.
type Planned<'a> = (NaiveDate, &'a [(&'a str, i32)], Option<&'a str>, i64);

/// The demo shop with orders paid yesterday (Seoul) and the day before, their payments and
/// refunds moved to those days and the statistics rebuilt from the orders, as
/// `jangteo seed --orders` leaves a shop. Fixed lines, coupons, a gift, a shipping fee and a
/// partial refund: the figures are the same on every run.
async fn sales_shop() -> (Shop, NaiveDate) {
    away_from_seoul_midnight().await;
    let shop = Shop::open(true).await;
    let yesterday = seoul_today() - Days::new(1);
    let before = yesterday - Days::new(1);
    let plan: [Planned<'_>; 4] = [
        // ₩79,800 less ₩3,000, with the tumbler from ₩60,000.
        (yesterday, &[("WPP-CHOCO-1KG", 2)], Some("THANKS3000"), 0),
        // Under the free-shipping line.
        (yesterday, &[("GMP-6PK", 1), ("PWT-LEMON", 4)], None, 0),
        // 10% off (at most ₩5,000), then ₩10,000 refunded.
        (yesterday, &[("PCD-12PK", 2)], Some("WELCOME10"), 10_000),
        (before, &[("WPP-COOKIE-2KG", 1)], None, 0),
    ];
    for (i, (day, lines, coupon, refund)) in plan.into_iter().enumerate() {
        let o = shop
            .order(lines, coupon, checkout_input(&format!("buyer{i}@example.com")))
            .await;
        shop.pay(&o).await;
        if refund > 0 {
            let r = shop
                .app
                .admin(&shop.owner, REFUND, json!({ "id": o["id"], "a": refund }))
                .await;
            assert_eq!(data(&r)["orderRefund"]["userErrors"], json!([]), "{r}");
        }
        let id = uuid_of(o["id"].as_str().expect("an order id"));
        let paid_at = seoul_at(day, 12, u32::try_from(i).expect("a few orders"));
        sqlx::query("UPDATE orders SET paid_at = $2 WHERE id = $1")
            .bind(id)
            .bind(paid_at)
            .execute(&shop.app.pool)
            .await
            .expect("move the payment");
        sqlx::query("UPDATE refunds SET created_at = $2 + interval '1 hour' WHERE order_id = $1")
            .bind(id)
            .bind(paid_at)
            .execute(&shop.app.pool)
            .await
            .expect("move the refund");
    }
    // Placed but never paid: not a sale.
    shop.order(&[("GMP-1EA", 1)], None, checkout_input("unpaid@example.com"))
        .await;
    commerce::stats::rebuild(&shop.app.pool)
        .await
        .expect("rebuild the statistics");
    (shop, yesterday)
}

/// What the service itself says of `day`: `salesSummary` and `salesReport`, which agree.
struct DayFigures {
    orders: i64,
    net_sales: i64,
    average_order_value: i64,
    previous_orders: i64,
    previous_net_sales: i64,
}

async fn figures_of(shop: &Shop, day: NaiveDate) -> DayFigures {
    let r = shop.app.admin(&shop.owner, FIGURES, json!({ "d": day })).await;
    let summary = &data(&r)["salesSummary"];
    let totals = &data(&r)["salesReport"]["totals"];
    let n = |v: &Value| v.as_i64().unwrap_or_else(|| panic!("a number: {r}"));
    assert_eq!(summary["date"], json!(day));
    assert_eq!(n(&summary["orders"]), n(&totals["orders"]), "{r}");
    assert_eq!(n(&summary["netSales"]), n(&totals["netSales"]), "{r}");
    DayFigures {
        orders: n(&summary["orders"]),
        net_sales: n(&summary["netSales"]),
        average_order_value: n(&summary["averageOrderValue"]),
        previous_orders: n(&summary["previousDay"]["orders"]),
        previous_net_sales: n(&summary["previousDay"]["netSales"]),
    }
}

// ---------------------------------------------------------------------------------------
// The bot in this process

/// The Sentry relay's clock, moved by the test.
struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    fn advance(&self, by: TimeDelta) {
        let mut now = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The bot's HTTP app (`bot::http::app`: Slack's routes and the Sentry relay) on a random
/// port, over the shop's admin API with its bot token and the fake Slack.
struct RunningBot {
    base: String,
    relay: SentryRelay,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for RunningBot {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// `sentry.*` as a shop sets it: the client secret, one route for the API's project, the
/// default rate.
fn sentry_settings() -> SentrySettings {
    let mut s = bot::settings::Settings::defaults().sentry;
    s.client_secret = Some(SecretString::from(TEST_CLIENT_SECRET));
    s.routes = vec![SentryRoute {
        project: Some("jangteo-api".to_owned()),
        environment: None,
        min_level: None,
        channel: OPS.to_owned(),
    }];
    s
}

async fn start_bot(shop: &Shop, slack: &FakeSlack, clock: Option<Arc<dyn Clock>>) -> RunningBot {
    let api = Api::new(
        shop.admin_url().parse().expect("the admin URL"),
        SecretString::from(shop.bot_token.clone()),
        Duration::from_secs(20),
    )
    .expect("an admin API client");
    let web = SlackWeb::new(
        slack.base_url().parse().expect("the fake's URL"),
        SecretString::from(SLACK_TOKEN),
    )
    .expect("a Slack client");
    // No timer: summaries are flushed by `relay.tick()` when a test has moved the clock.
    let mut relay = SentryRelay::builder(&sentry_settings(), Some(ALERTS.to_owned())).tick_every(None);
    if let Some(clock) = clock {
        relay = relay.clock(clock);
    }
    let relay = relay.start(SlackPoster(web.clone()), ApiThreads(api.clone()));
    let bot = Arc::new(Bot::new(api, web));
    let app = bot::http::app(bot, SecretString::from(SIGNING_SECRET), Some(relay.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    RunningBot { base, relay, server }
}

/// `command text` from `user` in [`GENERAL`], signed: acknowledged within Slack's 3 seconds
/// with the ephemeral "working" note, then answered at its `response_url`.
async fn ask(slack: &FakeSlack, bot: &RunningBot, user: &str, command: &str, text: &str) -> ResponsePost {
    let url = slack.response_url();
    let cmd = SlashCommand::new(command, text).user(user).response_url(&url);
    let reply = SlackSender::new(&bot.base, SIGNING_SECRET).command(&cmd).await;
    assert_eq!(reply.status, 200, "{command} {text}: {}", reply.text());
    assert!(
        !reply.slower_than(ACK_LIMIT),
        "{command} {text} acked after {:?}",
        reply.elapsed
    );
    assert_eq!(reply.json()["response_type"], "ephemeral", "{}", reply.text());
    let answer = slack.wait_for_response(|r| r.url == url, WAIT).await;
    assert!(answer.accepted, "{answer:?}");
    answer
}

// ---------------------------------------------------------------------------------------
// /sales

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_sales_command_is_acked_at_once_then_answered_with_the_services_figures_and_one_chart() {
    let (shop, yesterday) = sales_shop().await;
    let want = figures_of(&shop, yesterday).await;
    assert_eq!(
        (want.orders, want.previous_orders),
        (3, 1),
        "the seeded orders, paid only"
    );
    let slack = FakeSlack::start(SLACK_TOKEN).await;
    let bot = start_bot(&shop, &slack, None).await;

    for (n, text) in [(1, "어제"), (2, "yesterday")] {
        if n == 2 {
            // Slack's rate limit on the last step: the bot waits out Retry-After and completes.
            slack.rate_limit_next("files.completeUploadExternal", 1, 1);
        }
        let answer = ask(&slack, &bot, OWNER_SLACK, "/sales", text).await;
        assert!(!answer.is_ephemeral(), "sales are answered in the channel");
        let all = answer.all_text();
        for shown in [
            format!(
                "주문 {}건 · 순매출 {} · 객단가 {}",
                want.orders,
                won(want.net_sales),
                won(want.average_order_value)
            ),
            format!(
                "(순매출 {}, 주문 {}건)",
                won(want.previous_net_sales),
                want.previous_orders
            ),
            bot::format::day(yesterday),
        ] {
            assert!(all.contains(&shown), "/sales {text} shows {shown:?}:\n{all}");
        }
        let blocks = answer.blocks.clone().expect("Block Kit blocks").to_string();
        assert!(blocks.contains(&won(want.net_sales)), "{blocks}");

        // One chart per answer, through the external upload's three steps.
        let files = slack
            .wait_for(
                |s| {
                    let done: Vec<_> = s.files.iter().filter(|f| f.completed).cloned().collect();
                    (done.len() >= n).then_some(done)
                },
                WAIT,
            )
            .await;
        let chart = &files[n - 1];
        assert!(chart.is_png(), "{chart:?}");
        assert_eq!(chart.bytes.as_ref().map(Vec::len), usize::try_from(chart.length).ok());
        assert_eq!(chart.channel.as_deref(), Some(GENERAL));
        assert_eq!(chart.filename, format!("sales-{yesterday}.png"));
    }

    let state = slack.state();
    let upload_steps: Vec<&str> = state
        .calls
        .iter()
        .map(|c| c.method.as_str())
        .filter(|m| {
            matches!(
                *m,
                "files.getUploadURLExternal" | "upload" | "files.completeUploadExternal"
            )
        })
        .collect();
    let steps = ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"];
    assert_eq!(
        upload_steps,
        [&steps[..], &steps[..], &steps[2..]].concat(),
        "{}",
        state.summary()
    );
    let completes = state.calls_of("files.completeUploadExternal");
    let (limited, retried) = (completes[1], completes[2]);
    assert_eq!((limited.status, limited.error.as_deref()), (429, Some("ratelimited")));
    assert!(retried.ok(), "{}", state.summary());
    assert!(
        retried.at.duration_since(limited.at) >= Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    assert!(
        state.calls.iter().filter(|c| !c.ok()).count() == 1,
        "only the rate-limited call failed: {}",
        state.summary()
    );
    assert_eq!(state.files.len(), 2, "one chart per answer: {}", state.summary());
    assert!(
        state.messages.is_empty(),
        "answers go to response_url: {}",
        state.summary()
    );
}

/// The `/sales 어제` blocks with the two days (which move with the calendar) named instead;
/// the figures are fixed by [`sales_shop`].
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_block_kit_of_sales_yesterday_is_stable() {
    let (shop, yesterday) = sales_shop().await;
    let slack = FakeSlack::start(SLACK_TOKEN).await;
    let bot = start_bot(&shop, &slack, None).await;
    let answer = ask(&slack, &bot, OWNER_SLACK, "/sales", "어제").await;
    let before = yesterday - Days::new(1);
    let mut json = answer.blocks.expect("Block Kit blocks").to_string();
    for (day, name) in [(yesterday, "[yesterday]"), (before, "[the day before]")] {
        json = json
            .replace(&bot::format::day(day), name)
            .replace(&day.to_string(), name);
    }
    let blocks: Value = serde_json::from_str(&json).expect("still JSON");
    insta::assert_json_snapshot!("sales_yesterday_blocks", blocks);
}

// ---------------------------------------------------------------------------------------
// /order

/// A buyer whose every personal detail is unique, to search the fake's whole record for.
fn private_buyer() -> Value {
    let mut input = checkout_input("namgung.minsu@example.com");
    input["phone"] = json!("010-2468-1357");
    input["ordererName"] = json!("남궁민수");
    input["shippingAddress"] = json!({
        "recipient": "선우예린", "phone": "010-9753-8642", "zonecode": "03925",
        "roadAddress": "서울특별시 마포구 월드컵북로 396", "jibunAddress": "서울특별시 마포구 상암동 1605",
        "buildingName": "누리꿈스퀘어", "detailAddress": "비즈니스타워 17층"
    });
    input
}

/// Parts of [`private_buyer`] that must never reach Slack.
const PRIVATE: &[&str] = &[
    "남궁민수",
    "선우예린",
    "namgung",
    "2468-1357",
    "01024681357",
    "-2468-",
    "9753-8642",
    "97538642",
    "-9753-",
    "월드컵북로",
    "상암동",
    "누리꿈스퀘어",
    "비즈니스타워",
    "03925",
];

/// Nothing the fake Slack recorded (calls, messages, files, `response_url` bodies) holds
/// any of [`PRIVATE`].
fn assert_nothing_private_reached(slack: &FakeSlack) {
    let everything = format!("{:?}", slack.state());
    for p in PRIVATE {
        assert!(!everything.contains(p), "{p:?} reached Slack:\n{everything}");
    }
}

/// The order as the bot token sees it (masked), without acting for anyone.
async fn as_the_bot_sees_it(shop: &Shop, number: &str) -> Value {
    let r = shop
        .app
        .admin(
            &shop.bot_token,
            "query($n: String!) { order(number: $n) { number ordererName phone maskedFields } }",
            json!({ "n": number }),
        )
        .await;
    data(&r)["order"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_lookups_by_name_and_phone_end_are_ephemeral_and_masked() {
    let shop = Shop::open(true).await;
    let order = shop.order(&[("WPP-CHOCO-1KG", 1)], None, private_buyer()).await;
    shop.pay(&order).await;
    let number = order["number"].as_str().expect("a number");
    let masked = as_the_bot_sees_it(&shop, number).await;
    let (name, phone) = (
        masked["ordererName"].as_str().expect("a name"),
        masked["phone"].as_str().expect("a phone"),
    );
    assert!(
        name != "남궁민수" && phone.ends_with("1357") && !phone.contains("2468"),
        "{masked}"
    );
    let slack = FakeSlack::start(SLACK_TOKEN).await;
    let bot = start_bot(&shop, &slack, None).await;

    for search in ["남궁민수", "1357", number] {
        let answer = ask(&slack, &bot, OWNER_SLACK, "/order", search).await;
        assert!(answer.is_ephemeral(), "/order {search} is for the asker only");
        let all = answer.all_text();
        for shown in [
            number,
            name,
            phone,
            "결제 완료",
            &won(order["total"].as_i64().expect("a total")),
        ] {
            assert!(all.contains(shown), "/order {search} shows {shown:?}:\n{all}");
        }
    }
    let state = slack.state();
    assert!(
        state.messages.is_empty() && state.files.is_empty(),
        "{}",
        state.summary()
    );
    assert_nothing_private_reached(&slack);
}

// ---------------------------------------------------------------------------------------
// Refusals

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlinked_and_cs_members_are_refused_sales_politely_and_cs_still_finds_orders() {
    let shop = Shop::open(true).await;
    shop.linked_staff("cs@jangteo.kr", Role::Cs, CS_SLACK).await;
    let order = shop.order(&[("GMP-6PK", 1)], None, private_buyer()).await;
    shop.pay(&order).await;
    let number = order["number"].as_str().expect("a number");
    let slack = FakeSlack::start(SLACK_TOKEN).await;
    let bot = start_bot(&shop, &slack, None).await;

    for (user, why) in [
        (NOBODY_SLACK, "연결되어 있지 않아요"),
        (CS_SLACK, "매출은 대표와 매니저만"),
    ] {
        let answer = ask(&slack, &bot, user, "/sales", "어제").await;
        assert!(answer.is_ephemeral(), "a refusal is for the asker only");
        let all = answer.all_text();
        assert!(all.contains(why), "{user}: {all}");
        assert!(
            !all.contains('₩') && !all.chars().any(|c| c.is_ascii_digit()),
            "{user} sees no figures: {all}"
        );
    }
    let answer = ask(&slack, &bot, CS_SLACK, "/order", "남궁민수").await;
    assert!(answer.is_ephemeral());
    let masked = as_the_bot_sees_it(&shop, number).await;
    let all = answer.all_text();
    for shown in [number, masked["ordererName"].as_str().expect("a name")] {
        assert!(all.contains(shown), "CS finds the order: {all}");
    }
    // The unlinked member is refused orders as well.
    let answer = ask(&slack, &bot, NOBODY_SLACK, "/order", "남궁민수").await;
    assert!(answer.all_text().contains("연결되어 있지 않아요") && !answer.all_text().contains(number));

    // A sales answer's chart follows its response; the owner's is the first and only one
    // uploaded, so none followed the refusals before it.
    ask(&slack, &bot, OWNER_SLACK, "/sales", "어제").await;
    slack.wait_for_file(|f| f.completed, WAIT).await;
    let state = slack.state();
    assert_eq!(state.files.len(), 1, "{}", state.summary());
    assert_eq!(state.calls_of("files.getUploadURLExternal").len(), 1);
    assert_nothing_private_reached(&slack);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn badly_signed_slack_requests_are_401_and_slack_hears_nothing() {
    let shop = Shop::open(true).await;
    let variant = shop.variant("GMP-6PK").await;
    let slack = FakeSlack::start(SLACK_TOKEN).await;
    let bot = start_bot(&shop, &slack, None).await;
    let sender = SlackSender::new(&bot.base, SIGNING_SECRET);

    let mut bad_urls = Vec::new();
    for signing in [
        Signing::Unsigned,
        Signing::WrongSecret,
        Signing::Tampered,
        Signing::Stale,
    ] {
        let url = slack.response_url();
        let cmd = SlashCommand::new("/sales", "어제").user(OWNER_SLACK).response_url(&url);
        let reply = sender.command_with(&cmd, signing).await;
        assert_eq!(reply.status, 401, "/slack/commands {signing:?}: {}", reply.text());
        let mention = EventCallback::app_mention(OWNER_SLACK, GENERAL, "sales 어제");
        let reply = sender.event_with(&mention, signing).await;
        assert_eq!(reply.status, 401, "/slack/events {signing:?}");
        let click = BlockAction::button(
            OWNER_SLACK,
            ALERTS,
            "1764730000.000100",
            "stock_adjust_10",
            Some(&format!("{variant}:10")),
        )
        .response_url(&slack.response_url_for(ALERTS, "1764730000.000100"));
        let reply = sender.interaction_with(&click, signing).await;
        assert_eq!(reply.status, 401, "/slack/interactions {signing:?}");
        bad_urls.push(url);
    }
    // Refused before anything was started: Slack heard nothing at all.
    assert!(slack.calls().is_empty(), "{}", slack.state().summary());

    // The same command correctly signed is answered: the refusals were the signatures'.
    let answer = ask(&slack, &bot, OWNER_SLACK, "/help", "").await;
    assert!(answer.all_text().contains("/sales"));
    let responses = slack.responses();
    assert!(responses.iter().all(|r| !bad_urls.contains(&r.url)), "{responses:?}");
    let on_hand: i32 = sqlx::query_scalar("SELECT on_hand FROM variants WHERE id = $1")
        .bind(uuid_of(&variant))
        .fetch_one(&shop.app.pool)
        .await
        .expect("stock");
    assert_eq!(on_hand, 150, "no stock button was pressed");
}

// ---------------------------------------------------------------------------------------
// The Sentry relay

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentry_issues_are_routed_threaded_and_resolved_in_place() {
    let shop = Shop::open(false).await;
    let slack = FakeSlack::start(SLACK_TOKEN).await;
    let bot = start_bot(&shop, &slack, None).await;
    let sentry = SentrySender::new(&format!("{}/sentry/webhook", bot.base), TEST_CLIENT_SECRET);
    let issue = SentryIssue::new(1_170_820_242, "jangteo-api", "결제 승인 실패: 응답 시간 초과");

    let created = sentry.send(&SentryWebhook::issue(IssueAction::Created, &issue)).await;
    assert_eq!(created.reply.status, 200, "{}", created.reply.text());
    assert!(!created.too_slow(), "answered in {:?}", created.reply.elapsed);
    let root = slack.wait_for_message(|m| m.channel == OPS, WAIT).await;
    assert!(root.thread_ts.is_none() && root.ephemeral_user.is_none(), "{root:?}");
    assert!(root.all_text().contains("결제 승인 실패"), "{}", root.all_text());
    // The service keeps the message of the issue, for every replica to thread under (saved
    // after posting: once the relay has handled the delivery).
    bot.relay.settle().await;
    let r = shop
        .app
        .admin(&shop.bot_token, THREAD, json!({ "k": "sentry:1170820242" }))
        .await;
    assert_eq!(data(&r)["botThread"], json!({ "channel": OPS, "ts": root.ts }));

    // Unsigned, mis-signed or changed on the way: refused, nothing posted.
    let other = SentryIssue::new(1_170_820_243, "jangteo-api", "서명 없는 이슈");
    for signing in [Signing::Unsigned, Signing::WrongSecret, Signing::Tampered] {
        let d = sentry
            .send_with(&SentryWebhook::issue(IssueAction::Created, &other), signing)
            .await;
        assert_eq!(d.reply.status, 401, "{signing:?}");
    }
    // A replay of the first delivery (same Request-ID) is not a new issue.
    assert_eq!(sentry.replay(&created).await.reply.status, 200);
    bot.relay.settle().await;
    assert_eq!(slack.messages().len(), 1, "{}", slack.state().summary());

    // Another event of the issue: threaded under its message.
    let again = sentry.send(&SentryWebhook::event_alert(&issue, "결제 오류 알림")).await;
    assert_eq!(again.reply.status, 200);
    let reply = slack
        .wait_for_message(|m| m.thread_ts.as_deref() == Some(root.ts.as_str()), WAIT)
        .await;
    assert_eq!(reply.channel, OPS);
    assert!(reply.is_reply(), "{reply:?}");

    // Resolved: the first message itself is marked ✅, nothing new is posted.
    let resolved = sentry.send(&SentryWebhook::issue(IssueAction::Resolved, &issue)).await;
    assert_eq!(resolved.reply.status, 200);
    let updated = slack
        .wait_for_message(|m| m.ts == root.ts && !m.updates.is_empty(), WAIT)
        .await;
    assert_eq!(updated.updates.len(), 1, "{updated:?}");
    assert_eq!(updated.updates[0].via, "chat.update");
    assert!(updated.all_text().contains('✅'), "{}", updated.all_text());
    bot.relay.settle().await;
    let state = slack.state();
    assert_eq!(state.messages_in(OPS).len(), 2, "{}", state.summary());
    assert!(state.messages_in(ALERTS).is_empty(), "{}", state.summary());
    assert_eq!(state.calls_of("chat.update").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentry_flood_posts_at_most_max_per_minute_then_one_summary() {
    let shop = Shop::open(false).await;
    let slack = FakeSlack::start(SLACK_TOKEN).await;
    let clock = Arc::new(TestClock(Mutex::new(Utc::now())));
    let bot = start_bot(&shop, &slack, Some(clock.clone())).await;
    let sentry = SentrySender::new(&format!("{}/sentry/webhook", bot.base), TEST_CLIENT_SECRET);
    let limit = usize::try_from(sentry_settings().max_per_minute).expect("a small limit");
    assert!(limit > 0 && limit < 100);

    for i in 0..100u64 {
        let issue = SentryIssue::new(2_000_000 + i, "jangteo-api", &format!("재고 동기화 실패 #{i}"));
        let d = sentry.send(&SentryWebhook::issue(IssueAction::Created, &issue)).await;
        assert_eq!(d.reply.status, 200, "delivery {i}: {}", d.reply.text());
        assert!(!d.too_slow(), "delivery {i} answered in {:?}", d.reply.elapsed);
    }
    bot.relay.settle().await;
    let state = slack.state();
    assert_eq!(state.messages_in(OPS).len(), limit, "{}", state.summary());

    // The minute ends: the rest is told once.
    clock.advance(TimeDelta::seconds(61));
    bot.relay.tick().await;
    let state = slack.state();
    let posted = state.messages_in(OPS);
    assert_eq!(posted.len(), limit + 1, "{}", state.summary());
    let summary = posted.last().expect("the summary");
    assert!(
        summary.all_text().contains(&format!("{} more events", 100 - limit)),
        "{}",
        summary.all_text()
    );
    assert!(state.messages_in(ALERTS).is_empty());
    // Nothing more is owed.
    clock.advance(TimeDelta::seconds(61));
    bot.relay.tick().await;
    assert_eq!(slack.messages().len(), limit + 1);
}

// ---------------------------------------------------------------------------------------
// The daily report with two `jangteo-bot http` processes

/// One `jangteo-bot http` process and the lines of its log.
struct BotProcess {
    child: tokio::process::Child,
    log: Arc<Mutex<Vec<String>>>,
    changed: Arc<tokio::sync::Notify>,
}

impl BotProcess {
    /// Starts `jangteo-bot http` on a random port with its settings in `JANGTEO_*`: the
    /// shop's admin API and bot token, the fake Slack, the report channel and a report time
    /// already past today.
    fn start(shop: &Shop, slack: &FakeSlack, dir: &std::path::Path) -> BotProcess {
        let mut cmd = tokio::process::Command::from(jangteo_tests::binary::jangteo_bot());
        cmd.args(["http", "--listen", "127.0.0.1:0"])
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env("JANGTEO_LOG", "info")
            .env("JANGTEO_BOT__API_URL", shop.admin_url())
            .env("JANGTEO_BOT__API_TOKEN", &shop.bot_token)
            .env("JANGTEO_BOT__REPORT_CHANNEL", REPORTS)
            .env("JANGTEO_BOT__REPORT_TIME", "00:00")
            .env("JANGTEO_SLACK__API_URL", slack.base_url())
            .env("JANGTEO_SLACK__BOT_TOKEN", SLACK_TOKEN)
            .env("JANGTEO_SLACK__SIGNING_SECRET", SIGNING_SECRET)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("start jangteo-bot");
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let changed = Arc::new(tokio::sync::Notify::new());
        let (log_w, changed_w) = (log.clone(), changed.clone());
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                log_w
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(strip_ansi(&line));
                changed_w.notify_waiters();
            }
            log_w
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push("<stderr closed>".to_owned());
            changed_w.notify_waiters();
        });
        BotProcess { child, log, changed }
    }

    /// Waits for a log line containing `needle`; panics with the log if the process ends or
    /// `timeout` passes first.
    async fn wait_for_line(&self, needle: &str, timeout: Duration) -> String {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(line) = log.iter().find(|l| l.contains(needle)) {
                    return line.clone();
                }
                assert!(
                    log.last().is_none_or(|l| l != "<stderr closed>"),
                    "jangteo-bot ended before logging {needle:?}:\n{}",
                    log.join("\n")
                );
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
                panic!("jangteo-bot did not log {needle:?} in {timeout:?}:\n{}", log.join("\n"));
            }
        }
    }
}

impl Drop for BotProcess {
    fn drop(&mut self) {
        // kill_on_drop ends it too; this also reaps it when the runtime is still up.
        let _ = self.child.start_kill();
    }
}

/// `line` without ANSI colour sequences (`ESC [ … letter`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_bot_processes_post_the_daily_report_once() {
    let (shop, yesterday) = sales_shop().await;
    let want = figures_of(&shop, yesterday).await;
    let slack = FakeSlack::start(SLACK_TOKEN).await;
    let dir = tempfile::tempdir().expect("a working directory without jangteo.toml");
    let replicas = [
        BotProcess::start(&shop, &slack, dir.path()),
        BotProcess::start(&shop, &slack, dir.path()),
    ];

    // Each replica logs how its claim of yesterday's report went, after posting if it won:
    // once both have, neither will post it again.
    let mut outcomes = Vec::new();
    for replica in &replicas {
        let line = replica.wait_for_line("daily report", WAIT * 2).await;
        assert!(line.contains(&format!("today={}", yesterday + Days::new(1))), "{line}");
        let posted = if line.contains("posted=true") {
            true
        } else {
            assert!(line.contains("posted=false"), "the report failed: {line}");
            false
        };
        outcomes.push(posted);
    }
    assert_eq!(
        outcomes.iter().filter(|p| **p).count(),
        1,
        "one replica posts: {outcomes:?}"
    );

    let state = slack.state();
    let reports = state.messages_in(REPORTS);
    assert_eq!(reports.len(), 1, "{}", state.summary());
    let report = reports[0];
    let all = report.all_text();
    for shown in [
        format!("어제({})", bot::format::day(yesterday)),
        format!("주문 {}건 · 순매출 {}", want.orders, won(want.net_sales)),
    ] {
        assert!(all.contains(&shown), "the report shows {shown:?}:\n{all}");
    }
    assert_eq!(state.files.len(), 1, "{}", state.summary());
    let chart = &state.files[0];
    assert!(chart.completed && chart.is_png(), "{chart:?}");
    assert_eq!(
        (chart.channel.as_deref(), chart.thread_ts.as_deref()),
        (Some(REPORTS), Some(report.ts.as_str())),
        "the chart is in the report's thread"
    );
    // The claim is the service's: a third try is refused.
    let r = shop
        .app
        .admin(
            &shop.bot_token,
            CLAIM,
            json!({ "n": "daily-report", "p": yesterday.to_string() }),
        )
        .await;
    assert_eq!(data(&r)["botRunClaim"], false, "{r}");

    // SIGTERM, as `docker stop` and Kubernetes send it: each replica stops cleanly.
    let mut replicas = replicas;
    for replica in &mut replicas {
        let pid = replica.child.id().expect("still running");
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill -TERM");
        assert!(sent.success());
        let exit = tokio::time::timeout(WAIT, replica.child.wait())
            .await
            .expect("jangteo-bot exits after SIGTERM")
            .expect("wait");
        assert!(exit.success(), "{exit}");
    }
}
