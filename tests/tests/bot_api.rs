//! What the admin API offers the Slack bot (issue 11): staff linked to Slack users, a bot
//! token acting for them (`X-Jangteo-Slack-User`) with their role but masked data, and
//! order lookups by whole names and phone ends.

use commerce::{settings::RateLimit, staff::Role};
use jangteo_tests::{CHECKOUT, Options, TestApp, checkout_input, data, product_with_stock, staff_session};
use serde_json::{Value, json};

const ME: &str = "{ staffMe { id role name slackUserId } }";
const LINK: &str = "mutation($s: ID!, $u: String) { staffSlackLink(staffId: $s, slackUserId: $u) {
    staff { id role slackUserId } userErrors { field code } } }";
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
