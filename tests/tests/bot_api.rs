//! What the admin API offers the Slack bot (issue 11): staff linked to Slack users, a bot
//! token acting for them (`X-Jangteo-Slack-User`) with their role but masked data, order
//! lookups by whole names and phone ends, run claims and threads replicas agree on, and
//! proactive alerts raised once and cleared.

use commerce::{settings::RateLimit, staff::Role};
use jangteo_tests::{CHECKOUT, Options, TestApp, checkout_input, data, product_with_stock, staff_session};
use serde_json::{Value, json};

const ME: &str = "{ staffMe { id role name slackUserId } }";
const LINK: &str = "mutation($s: ID!, $u: String) { staffSlackLink(staffId: $s, slackUserId: $u) {
    staff { id role slackUserId } userErrors { field code } } }";
const ALERTS: &str = "query($since: DateTime) { alerts(since: $since) {
    id kind key severity title detail raisedAt clearedAt orderNumber variantId sku adminUrl } }";
const CLAIM: &str = "mutation($n: String!, $p: String!) { botRunClaim(name: $n, period: $p) }";
const SAVE: &str = "mutation($k: String!, $c: String!, $t: String!) { botThreadSave(key: $k, channel: $c, ts: $t) {
    key channel ts createdAt } }";
const THREAD: &str = "query($k: String!) { botThread(key: $k) { key channel ts createdAt } }";
const SEARCH: &str = "query($s: String!) { orders(first: 10, filter: {search: $s}) {
    totalCount nodes { number ordererName phone maskedFields } } }";

/// POSTs to `/admin/graphql` with `token`, for Slack user `slack` when given.
async fn admin_as(app: &TestApp, token: &str, slack: Option<&str>, query: &str, variables: Value) -> Value {
    let mut req = app
        .request(reqwest::Method::POST, "/admin/graphql")
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(user) = slack {
        req = req.header("X-Jangteo-Slack-User", user);
    }
    req.send().await.expect("send").json().await.expect("json")
}

/// The top-level error code of a response.
fn code(r: &Value) -> &Value {
    &r["errors"][0]["extensions"]["code"]
}

/// A bot token made by the owner.
async fn bot_token(app: &TestApp, owner: &str) -> String {
    let r = app
        .admin(
            owner,
            "mutation { botTokenCreate(name: \"slack\") { token } }",
            json!({}),
        )
        .await;
    data(&r)["botTokenCreate"]["token"].as_str().expect("token").to_owned()
}

/// A staff member's id, from their own session.
async fn id_of(app: &TestApp, token: &str) -> String {
    let r = app.admin(token, ME, json!({})).await;
    data(&r)["staffMe"]["id"].as_str().expect("id").to_owned()
}

/// Links staff member `staff` to Slack user `user` as the owner; the payload.
async fn link(app: &TestApp, owner: &str, staff: &str, user: Option<&str>) -> Value {
    let r = app.admin(owner, LINK, json!({ "s": staff, "u": user })).await;
    data(&r)["staffSlackLink"].clone()
}

/// Places an order for `input` on a fresh cart of one `variant`; returns it.
async fn order(app: &TestApp, variant: &str, input: Value) -> Value {
    let cart = app.cart(&[(variant, 1)]).await;
    let r = app.gql(CHECKOUT, json!({ "t": cart, "i": input })).await;
    let o = data(&r)["checkoutComplete"]["order"].clone();
    assert!(o.is_object(), "{r}");
    o
}

#[tokio::test]
async fn the_owner_links_staff_to_slack_users_one_to_one() {
    let app = TestApp::spawn().await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let manager = staff_session(&app.pool, "manager@jangteo.kr", Role::Manager).await;
    let cs = staff_session(&app.pool, "cs@jangteo.kr", Role::Cs).await;
    let (manager_id, cs_id) = (id_of(&app, &manager).await, id_of(&app, &cs).await);

    let p = link(&app, &owner, &manager_id, Some(" U0123ABCD ")).await;
    assert_eq!(p["userErrors"], json!([]));
    assert_eq!(p["staff"]["slackUserId"], "U0123ABCD");
    let r = app.admin(&manager, ME, json!({})).await;
    assert_eq!(data(&r)["staffMe"]["slackUserId"], "U0123ABCD");
    // The same link again changes nothing and is not audited twice.
    assert_eq!(
        link(&app, &owner, &manager_id, Some("U0123ABCD")).await["userErrors"],
        json!([])
    );

    // One Slack user, one staff member.
    let p = link(&app, &owner, &cs_id, Some("U0123ABCD")).await;
    assert_eq!(
        p["userErrors"],
        json!([{ "field": ["slackUserId"], "code": "ALREADY_EXISTS" }])
    );
    assert!(p["staff"].is_null());
    for bad in ["u0123abcd", "B0123ABCD", "U1", "U0123-ABCD"] {
        let p = link(&app, &owner, &cs_id, Some(bad)).await;
        assert_eq!(p["userErrors"][0]["code"], "INVALID_INPUT", "{bad}");
        assert_eq!(p["userErrors"][0]["field"], json!(["slackUserId"]));
    }
    // Bot accounts are never linked; nor can anyone but the owner link.
    bot_token(&app, &owner).await;
    let r = app
        .admin(&owner, "{ staff(first: 10) { nodes { id role } } }", json!({}))
        .await;
    let bot_id = data(&r)["staff"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["role"] == "BOT")
        .expect("the bot's account")["id"]
        .clone();
    let p = link(&app, &owner, bot_id.as_str().expect("id"), Some("W0BOT1")).await;
    assert_eq!(
        p["userErrors"],
        json!([{ "field": ["staffId"], "code": "INVALID_INPUT" }])
    );
    let r = app.admin(&manager, LINK, json!({ "s": cs_id, "u": "U0CS1" })).await;
    assert_eq!(data(&r)["staffSlackLink"]["userErrors"][0]["code"], "FORBIDDEN");

    // Unlinked, the Slack user is free again.
    let p = link(&app, &owner, &manager_id, None).await;
    assert!(p["staff"]["slackUserId"].is_null(), "{p}");
    let p = link(&app, &owner, &cs_id, Some("U0123ABCD")).await;
    assert_eq!(p["staff"]["slackUserId"], "U0123ABCD");

    let r = app
        .admin(
            &owner,
            "{ auditLog(first: 10, filter: {action: \"staff.slack_link\"}) { nodes { target summary viaBot } } }",
            json!({}),
        )
        .await;
    let entries = data(&r)["auditLog"]["nodes"].as_array().expect("nodes").clone();
    let summaries: Vec<Value> = entries
        .iter()
        .map(|e| serde_json::from_str(e["summary"].as_str().expect("json")).expect("summary"))
        .collect();
    assert_eq!(
        summaries,
        [
            json!({ "from": null, "to": "U0123ABCD" }),
            json!({ "from": "U0123ABCD", "to": null }),
            json!({ "from": null, "to": "U0123ABCD" }),
        ],
        "newest first, one per change"
    );
    assert!(entries.iter().all(|e| e["viaBot"].is_null()));
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // one story: each role through the bot, then the refusals
async fn a_bot_token_acts_for_the_linked_staff_member_with_masked_data() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "acting", &[(10000, 50)], false).await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let manager = staff_session(&app.pool, "manager@jangteo.kr", Role::Manager).await;
    let cs = staff_session(&app.pool, "cs@jangteo.kr", Role::Cs).await;
    let bot = bot_token(&app, &owner).await;
    let (manager_id, cs_id) = (id_of(&app, &manager).await, id_of(&app, &cs).await);
    link(&app, &owner, &manager_id, Some("U0MANAGER")).await;
    link(&app, &owner, &cs_id, Some("W0CS")).await;
    order(&app, &v[0], checkout_input("buyer@example.com")).await;

    // Without the header the bot is the bot; with it, the linked staff member.
    let r = admin_as(&app, &bot, None, ME, json!({})).await;
    assert_eq!(data(&r)["staffMe"]["role"], "BOT");
    let r = admin_as(&app, &bot, Some("U0MANAGER"), ME, json!({})).await;
    assert_eq!(data(&r)["staffMe"]["role"], "MANAGER");
    assert_eq!(data(&r)["staffMe"]["id"], manager_id.as_str());
    let r = admin_as(&app, &bot, Some("W0CS"), ME, json!({})).await;
    assert_eq!(data(&r)["staffMe"]["role"], "CS");

    // Their role decides: a manager sees sales, a CS member doesn't.
    let sales = "{ salesSummary { orders netSales } }";
    let r = admin_as(&app, &bot, Some("U0MANAGER"), sales, json!({})).await;
    assert!(data(&r)["salesSummary"]["netSales"].is_number());
    let r = admin_as(&app, &bot, Some("W0CS"), sales, json!({})).await;
    assert_eq!(code(&r), "FORBIDDEN", "{r}");

    // But personal data stays as the bot sees it, whoever asks.
    let orders = "{ orders(first: 5) { nodes { ordererName phone email maskedFields } } }";
    let own = app.admin(&cs, orders, json!({})).await;
    assert_eq!(data(&own)["orders"]["nodes"][0]["ordererName"], "홍길동");
    for user in ["U0MANAGER", "W0CS"] {
        let r = admin_as(&app, &bot, Some(user), orders, json!({})).await;
        let o = &data(&r)["orders"]["nodes"][0];
        assert_eq!(
            (&o["ordererName"], &o["phone"]),
            (&json!("홍*동"), &json!("010-****-5678")),
            "{user}"
        );
        assert!(o["maskedFields"].as_array().is_some_and(|m| !m.is_empty()));
        let r = admin_as(
            &app,
            &bot,
            Some(user),
            "{ customers(first: 5) { nodes { email } } }",
            json!({}),
        )
        .await;
        assert_eq!(code(&r), "FORBIDDEN", "{user}: customers are personal data");
    }

    // What they change through the bot is theirs, marked as done through the bot.
    let adjust = "mutation($v: ID!) { stockAdjust(variantId: $v, delta: 5, reason: \"Slack에서 입고\") {
        available userErrors { code } } }";
    let r = admin_as(&app, &bot, Some("U0MANAGER"), adjust, json!({ "v": v[0] })).await;
    assert_eq!(data(&r)["stockAdjust"]["userErrors"], json!([]));
    let r = admin_as(&app, &bot, Some("W0CS"), adjust, json!({ "v": v[0] })).await;
    assert_eq!(data(&r)["stockAdjust"]["userErrors"][0]["code"], "FORBIDDEN");
    let r = admin_as(&app, &bot, None, adjust, json!({ "v": v[0] })).await;
    assert_eq!(data(&r)["stockAdjust"]["userErrors"][0]["code"], "FORBIDDEN");
    app.admin(&manager, adjust, json!({ "v": v[0] })).await;
    let r = app
        .admin(
            &owner,
            "{ auditLog(first: 5, filter: {action: \"stock.adjust\"}) { nodes { staffId viaBot } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&r)["auditLog"]["nodes"],
        json!([
            { "staffId": manager_id, "viaBot": null },
            { "staffId": manager_id, "viaBot": "slack" },
        ])
    );

    // Refusals: nobody linked; the header on a person's session; a deactivated member.
    let r = admin_as(&app, &bot, Some("U0NOBODY"), ME, json!({})).await;
    assert_eq!(code(&r), "SLACK_USER_NOT_LINKED", "{r}");
    assert!(r["data"].is_null());
    let r = admin_as(&app, &bot, Some("not an id"), ME, json!({})).await;
    assert_eq!(code(&r), "SLACK_USER_NOT_LINKED");
    let r = admin_as(&app, &owner, Some("U0MANAGER"), ME, json!({})).await;
    assert_eq!(code(&r), "FORBIDDEN", "only bot tokens act for Slack users");
    let r = admin_as(&app, "not-a-token", Some("U0MANAGER"), ME, json!({})).await;
    assert_eq!(code(&r), "UNAUTHENTICATED");

    sqlx::query("UPDATE staff SET active = false WHERE email = 'cs@jangteo.kr'")
        .execute(&app.pool)
        .await
        .expect("deactivate");
    let r = admin_as(&app, &bot, Some("W0CS"), ME, json!({})).await;
    assert_eq!(code(&r), "FORBIDDEN", "{r}");

    // A member locked out by failed logins from several addresses is refused too.
    lock_out(&app, "manager@jangteo.kr", 3, 10).await;
    let r = admin_as(&app, &bot, Some("U0MANAGER"), ME, json!({})).await;
    assert_eq!(code(&r), "TOO_MANY_ATTEMPTS", "{r}");
}

/// Failed logins of `email`: `failures` from each of `addresses` addresses, as the login
/// throttle counts them (attempts through `staffLogin` would wait out their delays).
async fn lock_out(app: &TestApp, email: &str, addresses: usize, failures: i32) {
    for i in 0..addresses {
        sqlx::query(
            "INSERT INTO login_throttle (scope, account, client, failures, first_at, last_at)
             VALUES ('staff', $1, $2, $3, now(), now())
             ON CONFLICT (scope, account, client) DO UPDATE SET failures = EXCLUDED.failures",
        )
        .bind(email)
        .bind(format!("203.0.113.{i}"))
        .bind(failures)
        .execute(&app.pool)
        .await
        .expect("throttle row");
    }
}

#[tokio::test]
async fn masked_roles_find_orders_by_whole_names_and_phone_ends_only() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "lookup", &[(10000, 50)], false).await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let manager = staff_session(&app.pool, "manager@jangteo.kr", Role::Manager).await;
    let bot = bot_token(&app, &owner).await;
    link(&app, &owner, &id_of(&app, &manager).await, Some("U0MANAGER")).await;
    let mut input = checkout_input("kim@example.com");
    input["ordererName"] = json!("김철수");
    input["phone"] = json!("010-2345-7788");
    input["shippingAddress"]["recipient"] = json!("이영희");
    input["shippingAddress"]["phone"] = json!("010-5432-9977");
    let wanted = order(&app, &v[0], input).await;
    let other = order(&app, &v[0], checkout_input("hong@example.com")).await;
    let number = wanted["number"].as_str().expect("number");

    let found = |r: &Value| -> Vec<String> {
        data(r)["orders"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["number"].as_str().expect("number").to_owned())
            .collect()
    };
    for (who, slack) in [("bot", None), ("manager via bot", Some("U0MANAGER"))] {
        for s in [
            "김철수",
            " 이영희 ",
            "7788",
            "9977",
            number,
            &number[number.len() - 6..],
        ] {
            let r = admin_as(&app, &bot, slack, SEARCH, json!({ "s": s })).await;
            assert_eq!(found(&r), [number], "{who} finds {s:?}");
            let o = &data(&r)["orders"]["nodes"][0];
            assert_eq!(
                (&o["ordererName"], &o["phone"]),
                (&json!("김*수"), &json!("010-****-7788"))
            );
        }
        for s in [
            "김철",
            "철수",
            "김",
            "778",
            "2345",
            "23457788",
            "010-2345-7788",
            "kim@example.com",
        ] {
            let r = admin_as(&app, &bot, slack, SEARCH, json!({ "s": s })).await;
            let hits = found(&r);
            assert!(hits.iter().all(|n| n != number), "{who} must not find {s:?}: {hits:?}");
        }
    }
    // Staff who see personal data, on their own, still search any part.
    let r = app.admin(&manager, SEARCH, json!({ "s": "김철" })).await;
    assert_eq!(found(&r), [number]);
    assert_eq!(data(&r)["orders"]["nodes"][0]["ordererName"], "김철수");
    let r = app.admin(&manager, SEARCH, json!({ "s": "2345-7788" })).await;
    assert_eq!(found(&r), [number]);
    let r = admin_as(&app, &bot, None, SEARCH, json!({ "s": "홍길동" })).await;
    assert_eq!(found(&r), [other["number"].as_str().expect("number")]);
}

#[tokio::test]
async fn searches_count_against_each_callers_budget() {
    let app = TestApp::spawn_with(Options {
        settings: Some(|s| {
            s.rate_limits.admin_order_search = RateLimit {
                burst: 2,
                refill_secs: 3600,
            };
        }),
        ..Options::default()
    })
    .await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let manager = staff_session(&app.pool, "manager@jangteo.kr", Role::Manager).await;
    let bot = bot_token(&app, &owner).await;
    link(&app, &owner, &id_of(&app, &manager).await, Some("U0MANAGER")).await;
    for s in ["홍길동", "5678"] {
        let r = admin_as(&app, &bot, None, SEARCH, json!({ "s": s })).await;
        assert_eq!(data(&r)["orders"]["totalCount"], 0);
    }
    let r = admin_as(&app, &bot, None, SEARCH, json!({ "s": "김철수" })).await;
    assert_eq!(code(&r), "RATE_LIMITED", "{r}");
    // Lists without a search are not counted; other callers have budgets of their own.
    let r = admin_as(&app, &bot, None, "{ orders(first: 5) { totalCount } }", json!({})).await;
    assert_eq!(data(&r)["orders"]["totalCount"], 0);
    let r = admin_as(&app, &bot, Some("U0MANAGER"), SEARCH, json!({ "s": "김철수" })).await;
    assert_eq!(data(&r)["orders"]["totalCount"], 0);
    let r = app.admin(&owner, SEARCH, json!({ "s": "김철수" })).await;
    assert_eq!(data(&r)["orders"]["totalCount"], 0);
}

#[tokio::test]
async fn one_replica_wins_each_run_claim() {
    let app = TestApp::spawn().await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let bot = bot_token(&app, &owner).await;
    let claims = (0..8).map(|_| {
        let (app, bot) = (&app, &bot);
        async move {
            let r = admin_as(app, bot, None, CLAIM, json!({ "n": "daily-report", "p": "2026-12-03" })).await;
            data(&r)["botRunClaim"].as_bool().expect("bool")
        }
    });
    let won: Vec<bool> = futures::future::join_all(claims).await;
    assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
    let (app_ref, bot_ref) = (&app, &bot);
    let again = move |n: &str, p: &str| admin_as(app_ref, bot_ref, None, CLAIM, json!({ "n": n, "p": p }));
    assert_eq!(data(&again("daily-report", "2026-12-03").await)["botRunClaim"], false);
    assert_eq!(data(&again("daily-report", "2026-12-04").await)["botRunClaim"], true);
    assert_eq!(data(&again("alert", "2026-12-03").await)["botRunClaim"], true);
    let r = app
        .admin(&owner, CLAIM, json!({ "n": "alert", "p": "2026-12-04" }))
        .await;
    assert_eq!(data(&r)["botRunClaim"], true);
    for (n, p) in [
        ("", "p"),
        (" ", "p"),
        ("n", ""),
        (&*"x".repeat(101), "p"),
        ("n", &*"한".repeat(101)),
    ] {
        let r = again(n, p).await;
        assert_eq!(code(&r), "INVALID_INPUT", "{n:?} {p:?}");
    }
    assert_eq!(
        data(&again(&"x".repeat(100), &"한".repeat(100)).await)["botRunClaim"],
        true
    );
    for role in [Role::Manager, Role::Cs] {
        let token = staff_session(&app.pool, &format!("{role:?}@jangteo.kr").to_lowercase(), role).await;
        let r = app
            .admin(&token, CLAIM, json!({ "n": "daily-report", "p": "2026-12-05" }))
            .await;
        assert_eq!(code(&r), "FORBIDDEN", "{role:?}");
    }
}

#[tokio::test]
async fn the_first_saved_thread_of_a_key_wins() {
    let app = TestApp::spawn().await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let bot = bot_token(&app, &owner).await;
    let r = admin_as(&app, &bot, None, THREAD, json!({ "k": "sentry:42" })).await;
    assert!(data(&r)["botThread"].is_null());
    let saves = (0..6).map(|i| {
        let (app, bot) = (&app, &bot);
        async move {
            let ts = format!("1700000000.00000{i}");
            let r = admin_as(
                app,
                bot,
                None,
                SAVE,
                json!({ "k": "sentry:42", "c": "C0ALERTS", "t": ts }),
            )
            .await;
            data(&r)["botThreadSave"].clone()
        }
    });
    let kept: Vec<Value> = futures::future::join_all(saves).await;
    assert!(kept.iter().all(|t| *t == kept[0]), "all agree: {kept:?}");
    assert_eq!(kept[0]["key"], "sentry:42");
    let r = admin_as(&app, &bot, None, THREAD, json!({ "k": "sentry:42" })).await;
    assert_eq!(data(&r)["botThread"], kept[0]);
    let r = admin_as(
        &app,
        &bot,
        None,
        SAVE,
        json!({ "k": "sentry:42", "c": "C0OTHER", "t": "1800000000.000000" }),
    )
    .await;
    assert_eq!(
        data(&r)["botThreadSave"],
        kept[0],
        "a later save returns the kept thread"
    );
    for (k, c, t) in [
        (&*"k".repeat(201), "C", "1"),
        ("", "C", "1"),
        ("k", "", "1"),
        ("k", "C", &*"1".repeat(101)),
    ] {
        let r = admin_as(&app, &bot, None, SAVE, json!({ "k": k, "c": c, "t": t })).await;
        assert_eq!(code(&r), "INVALID_INPUT", "{k:?} {c:?} {t:?}");
    }
    let r = admin_as(&app, &bot, None, THREAD, json!({ "k": "k".repeat(201) })).await;
    assert_eq!(code(&r), "INVALID_INPUT");
    let manager = staff_session(&app.pool, "manager@jangteo.kr", Role::Manager).await;
    let r = app.admin(&manager, THREAD, json!({ "k": "sentry:42" })).await;
    assert_eq!(code(&r), "FORBIDDEN");
}

/// The alerts of a response, by kind and key, sorted.
fn alerts(r: &Value) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = data(r)["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().expect("kind").to_owned(),
                a["key"].as_str().expect("key").to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

/// The alert of `kind` and `key` in a response.
fn alert<'a>(r: &'a Value, kind: &str, key: &str) -> &'a Value {
    data(r)["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .find(|a| a["kind"] == kind && a["key"] == key)
        .unwrap_or_else(|| panic!("no {kind} {key} in {r}"))
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // every kind but the hourly one, raised and cleared
async fn alerts_are_raised_once_per_condition_and_cleared_when_it_ends() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "alerts", &[(10000, 3), (10000, 0), (10000, 100)], false).await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let manager = staff_session(&app.pool, "manager@jangteo.kr", Role::Manager).await;
    let cs = staff_session(&app.pool, "cs@jangteo.kr", Role::Cs).await;
    let bot = bot_token(&app, &owner).await;

    // Two bots polling at once agree on one alert per condition.
    let polls = (0..4).map(|_| {
        let (app, bot) = (&app, &bot);
        async move { admin_as(app, bot, None, ALERTS, json!({})).await }
    });
    let answers: Vec<Value> = futures::future::join_all(polls).await;
    for r in &answers {
        assert_eq!(
            alerts(r),
            [
                ("LOW_STOCK".to_owned(), v[0].clone()),
                ("SOLD_OUT".to_owned(), v[1].clone())
            ],
            "{r}"
        );
        assert_eq!(
            alert(r, "LOW_STOCK", &v[0])["id"],
            alert(&answers[0], "LOW_STOCK", &v[0])["id"]
        );
    }
    let low = alert(&answers[0], "LOW_STOCK", &v[0]);
    assert_eq!(
        (&low["severity"], &low["variantId"], &low["sku"]),
        (&json!("INFO"), &json!(v[0]), &json!("ALERTS-0"))
    );
    assert!(low["clearedAt"].is_null() && low["adminUrl"].is_null() && low["orderNumber"].is_null());
    assert!(low["title"].as_str().is_some_and(|t| t.contains("ALERTS-0")), "{low}");
    assert!(low["detail"].as_str().is_some_and(|t| t.contains("3개")), "{low}");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM alerts")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(rows, 2);

    // Who may read them: OWNER, MANAGER, BOT (and staff through the bot by their role).
    assert_eq!(alerts(&app.admin(&manager, ALERTS, json!({})).await).len(), 2);
    assert_eq!(code(&app.admin(&cs, ALERTS, json!({})).await), "FORBIDDEN");

    // Restocked: LOW_STOCK clears; the sold-out variant gets 2 and is low instead.
    let since = low["raisedAt"].clone();
    let adjust = "mutation($v: ID!, $d: Int!) { stockAdjust(variantId: $v, delta: $d, reason: \"입고\") { userErrors { code } } }";
    for (variant, delta) in [(&v[0], 10), (&v[1], 2)] {
        let r = app.admin(&owner, adjust, json!({ "v": variant, "d": delta })).await;
        assert_eq!(data(&r)["stockAdjust"]["userErrors"], json!([]));
    }
    let r = admin_as(&app, &bot, None, ALERTS, json!({})).await;
    assert_eq!(alerts(&r), [("LOW_STOCK".to_owned(), v[1].clone())], "open ones only");
    let r = admin_as(&app, &bot, None, ALERTS, json!({ "since": since })).await;
    let cleared = alert(&r, "LOW_STOCK", &v[0]);
    assert_eq!(cleared["id"], low["id"]);
    assert!(cleared["clearedAt"].is_string());
    assert!(alert(&r, "SOLD_OUT", &v[1])["clearedAt"].is_string());
    assert!(alert(&r, "LOW_STOCK", &v[1])["clearedAt"].is_null());

    // Five bank transfers expiring within ten minutes.
    let mut numbers = Vec::new();
    for i in 0..5 {
        let o = order(&app, &v[2], checkout_input(&format!("late{i}@example.com"))).await;
        numbers.push(o["number"].as_str().expect("number").to_owned());
    }
    let expired = commerce::order::expire_unpaid(&app.pool, chrono::Utc::now() + chrono::Duration::days(30), 30)
        .await
        .expect("expire");
    assert_eq!(expired.len(), 5);
    let r = admin_as(&app, &bot, None, ALERTS, json!({})).await;
    let burst = alert(&r, "PAYMENT_FAILURES", "BANK_TRANSFER");
    assert_eq!(burst["severity"], "WARNING");
    assert!(
        burst["detail"].as_str().is_some_and(|d| d.contains("만료 5건")),
        "{burst}"
    );

    // A deposit for an expired order is refused, and told.
    let mark = "mutation($n: String!) { orderMarkDeposited(orderNumber: $n, amount: 10000) { userErrors { code } } }";
    let r = app.admin(&owner, mark, json!({ "n": numbers[0] })).await;
    assert_eq!(data(&r)["orderMarkDeposited"]["userErrors"][0]["code"], "INVALID_STATE");
    let r = admin_as(&app, &bot, None, ALERTS, json!({})).await;
    let late = alert(&r, "DEPOSIT_AFTER_EXPIRY", &numbers[0]);
    assert_eq!(late["orderNumber"], numbers[0].as_str());
    assert!(late["detail"].as_str().is_some_and(|d| d.contains("₩10,000")), "{late}");
    let r = app
        .admin(
            &owner,
            "{ auditLog(first: 1, filter: {action: \"order.deposit_after_expiry\"}) { nodes { target } } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&r)["auditLog"]["nodes"][0]["target"], numbers[0].as_str());

    // A staff account locked by failed logins, until the throttle forgets them.
    let manager_id = id_of(&app, &manager).await;
    lock_out(&app, "manager@jangteo.kr", 1, 5).await;
    let r = admin_as(&app, &bot, None, ALERTS, json!({})).await;
    let locked = alert(&r, "STAFF_LOCKED", &manager_id);
    assert_eq!(locked["severity"], "WARNING", "one address");
    lock_out(&app, "manager@jangteo.kr", 3, 10).await;
    let r = admin_as(&app, &bot, None, ALERTS, json!({})).await;
    let again = alert(&r, "STAFF_LOCKED", &manager_id);
    assert_eq!(
        (&again["id"], &again["severity"]),
        (&locked["id"], &json!("CRITICAL")),
        "the same alert, worse"
    );
    sqlx::query("DELETE FROM login_throttle")
        .execute(&app.pool)
        .await
        .expect("forget");
    sqlx::query("UPDATE order_history SET created_at = created_at - interval '11 minutes' WHERE to_status = 'EXPIRED'")
        .execute(&app.pool)
        .await
        .expect("age the expiries");
    let r = admin_as(&app, &bot, None, ALERTS, json!({})).await;
    let open = alerts(&r);
    assert!(
        !open.iter().any(|(k, _)| k == "STAFF_LOCKED" || k == "PAYMENT_FAILURES"),
        "{open:?}"
    );
    assert!(open.contains(&("DEPOSIT_AFTER_EXPIRY".to_owned(), numbers[0].clone())));
    let open_rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT kind, key, count(*) FROM alerts WHERE cleared_at IS NULL GROUP BY kind, key HAVING count(*) > 1",
    )
    .fetch_all(&app.pool)
    .await
    .expect("rows");
    assert!(open_rows.is_empty(), "{open_rows:?}");
}

#[tokio::test]
async fn an_hour_far_below_its_usual_is_told() {
    let app = TestApp::spawn().await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let bot = bot_token(&app, &owner).await;
    // `per_day` orders in the last full hour and in the current one, on each of the 28
    // days before: whichever hour is the last full one when the alerts are read.
    let past = |per_day: i32, tag: &'static str| {
        sqlx::query(
            "INSERT INTO orders (id, number, status, channel, email, phone, orderer_name, recipient, recipient_phone,
                                 zonecode, road_address, payment_method, subtotal, discount, shipping_fee, total,
                                 tax_free_amount, vat, created_at, updated_at)
             SELECT gen_random_uuid(), $2 || '-' || d || '-' || n || '-' || s, 'CANCELLED', 'PC_WEB', 'p@example.com',
                    '01000000000', '과거', '과거', '01000000000', '06236', '서울', 'BANK_TRANSFER', 1000, 0, 0, 1000,
                    0, 91, t, t
               FROM generate_series(1, 28) d, generate_series(1, $1) n, generate_series(0, 1) s,
                    LATERAL (SELECT date_trunc('hour', now(), 'UTC') - s * interval '1 hour' - d * interval '1 day'
                                    + interval '10 minutes' AS t) x",
        )
        .bind(per_day)
        .bind(tag)
        .execute(&app.pool)
    };
    past(3, "A").await.expect("past orders");
    let r = admin_as(&app, &bot, None, ALERTS, json!({})).await;
    assert_eq!(alerts(&r), [], "an average of 3 is too few to tell");
    past(2, "B").await.expect("more past orders");
    let r = admin_as(&app, &bot, None, ALERTS, json!({})).await;
    let found = alerts(&r);
    assert_eq!(found.len(), 1, "{r}");
    let (kind, key) = &found[0];
    assert_eq!(kind, "ORDERS_BELOW_USUAL");
    assert!(
        key.ends_with(":00+09:00") && key.len() == "2026-12-03T14:00+09:00".len(),
        "{key}"
    );
    let a = &data(&r)["alerts"][0];
    assert_eq!(a["severity"], "WARNING");
    assert!(a["detail"].as_str().is_some_and(|d| d.contains("평균 5.0건")), "{a}");
}
