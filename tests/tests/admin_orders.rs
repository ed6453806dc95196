//! The admin API on orders: each role can do exactly what its row says, personal data is
//! masked for the bot, and every staff write is in the audit log.

use commerce::staff::Role;
use jangteo_tests::{CHECKOUT, Options, TestApp, checkout_input, data, product_with_stock, staff_session, uuid_of};
use serde_json::{Value, json};

const ORDER: &str = "query($n: String) { order(number: $n) { id number status ordererName phone email total refunded
    shippingAddress { recipient phone detailAddress } history { actor toStatus } } }";
const DEPOSIT: &str = "mutation($id: ID!, $a: Int!) { orderMarkDeposited(orderId: $id, amount: $a) {
    order { status } userErrors { code } } }";

async fn place_order(app: &TestApp, variant: &str) -> Value {
    let token = app.cart(&[(variant, 2)]).await;
    let r = app
        .gql(
            CHECKOUT,
            json!({ "t": token, "i": checkout_input("buyer@example.com") }),
        )
        .await;
    data(&r)["checkoutComplete"]["order"].clone()
}

fn code(r: &Value) -> Value {
    if let Some(e) = r.get("errors") {
        return e[0]["extensions"]["code"].clone();
    }
    let payload = r["data"]
        .as_object()
        .and_then(|o| o.values().next())
        .cloned()
        .unwrap_or_default();
    payload["userErrors"][0]["code"].clone()
}

#[tokio::test]
async fn each_role_can_do_exactly_its_row() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "roles", &[(10000, 100)], false).await;
    let mut tokens = Vec::new();
    for role in [Role::Owner, Role::Manager, Role::Cs, Role::Bot] {
        let email = format!("{}@jangteo.kr", role.as_str().to_lowercase());
        tokens.push((role, staff_session(&app.pool, &email, role).await));
    }
    let list = "{ orders(first: 10) { nodes { number } } }";
    let audit = "{ auditLog(first: 5) { nodes { action } } }";
    let bot = "mutation { botTokenCreate(name: \"slack\") { token userErrors { code } } }";
    for (role, token) in &tokens {
        let o = place_order(&app, &v[0]).await;
        let (id, total) = (o["id"].clone(), o["total"].clone());
        let can_write = *role != Role::Bot;
        let r = app.admin(token, list, json!({})).await;
        assert!(r.get("errors").is_none(), "{role:?} lists orders: {r}");
        let r = app.admin(token, DEPOSIT, json!({ "id": id, "a": total })).await;
        if can_write {
            assert_eq!(data(&r)["orderMarkDeposited"]["order"]["status"], "PAID", "{role:?}");
        } else {
            assert_eq!(code(&r), "FORBIDDEN", "{role:?}");
        }
        let r = app.admin(token, audit, json!({})).await;
        if *role == Role::Owner {
            assert!(r.get("errors").is_none(), "{r}");
        } else {
            assert_eq!(code(&r), "FORBIDDEN", "{role:?} reads the audit log");
        }
        let r = app.admin(token, bot, json!({})).await;
        if *role == Role::Owner {
            assert!(data(&r)["botTokenCreate"]["token"].is_string());
        } else {
            assert_eq!(code(&r), "FORBIDDEN", "{role:?} makes bot tokens");
        }
        // Personal data: full for the roles that need it, masked for the bot.
        let r = app.admin(token, ORDER, json!({ "n": o["number"] })).await;
        let shown = &data(&r)["order"];
        if *role == Role::Bot {
            assert_eq!(shown["ordererName"], "홍*동");
            assert_eq!(shown["phone"], "010-****-5678");
            assert_eq!(shown["email"], "bu***@example.com");
            assert_eq!(shown["shippingAddress"]["detailAddress"], "");
        } else {
            assert_eq!(shown["ordererName"], "홍길동", "{role:?}");
            assert_eq!(shown["shippingAddress"]["detailAddress"], "10층");
        }
    }
    // Without a token, or with a customer's, there is no admin API.
    let r = app.gql_at("/admin/graphql", list, json!({})).await;
    assert_eq!(code(&r), "UNAUTHENTICATED");
}

#[tokio::test]
async fn deposits_status_refunds_and_cancels_by_staff() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "ops", &[(15000, 10)], false).await;
    let cs = staff_session(&app.pool, "cs@jangteo.kr", Role::Cs).await;
    let o = place_order(&app, &v[0]).await;
    let id = o["id"].clone();
    let r = app.admin(&cs, DEPOSIT, json!({ "id": id, "a": 32999 })).await;
    assert_eq!(code(&r), "AMOUNT_MISMATCH");
    let r = app.admin(&cs, DEPOSIT, json!({ "id": id, "a": 33000 })).await;
    assert_eq!(data(&r)["orderMarkDeposited"]["order"]["status"], "PAID");
    let set = "mutation($id: ID!, $s: OrderStatus!) { orderSetStatus(orderId: $id, status: $s) { order { status } userErrors { code } } }";
    let r = app.admin(&cs, set, json!({ "id": id, "s": "DELIVERED" })).await;
    assert_eq!(code(&r), "INVALID_STATE", "not shipped yet");
    let r = app.admin(&cs, set, json!({ "id": id, "s": "SHIPPED" })).await;
    assert_eq!(code(&r), "INVALID_STATE", "shipping has its own operation");
    let r = app.admin(&cs, set, json!({ "id": id, "s": "PREPARING" })).await;
    assert_eq!(data(&r)["orderSetStatus"]["order"]["status"], "PREPARING");
    let refund = "mutation($id: ID!, $a: Int!) { orderRefund(orderId: $id, amount: $a, reason: \"파손\") { order { refunded } userErrors { code } } }";
    let r = app.admin(&cs, refund, json!({ "id": id, "a": 5000 })).await;
    assert_eq!(data(&r)["orderRefund"]["order"]["refunded"], 5000);
    let r = app.admin(&cs, refund, json!({ "id": id, "a": 28001 })).await;
    assert_eq!(code(&r), "INVALID_INPUT", "more than what is left to refund");
    let cancel = "mutation($id: ID!) { orderCancel(orderId: $id, reason: \"고객 요청\") { order { status } userErrors { code } } }";
    let r = app.admin(&cs, cancel, json!({ "id": id })).await;
    assert_eq!(data(&r)["orderCancel"]["order"]["status"], "CANCELLED");
    let (on_hand, allocated): (i32, i32) = sqlx::query_as("SELECT on_hand, allocated FROM variants WHERE id = $1")
        .bind(uuid_of(&v[0]))
        .fetch_one(&app.pool)
        .await
        .expect("stock");
    assert_eq!((on_hand, allocated), (10, 0));
    let r = app.admin(&cs, ORDER, json!({ "n": o["number"] })).await;
    let history = data(&r)["order"]["history"].as_array().expect("history").clone();
    assert!(
        history
            .iter()
            .any(|h| h["toStatus"] == "PAID" && h["actor"].as_str().is_some_and(|a| a.starts_with("staff:")))
    );
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE action LIKE 'order.%' ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .expect("audit");
    assert_eq!(
        actions,
        ["order.deposit", "order.status", "order.refund", "order.cancel"]
    );
    // Search by number, name and phone.
    let search = "query($q: String!) { orders(filter: {search: $q}) { nodes { number } } }";
    for q in [o["number"].as_str().expect("number"), "홍길", "5678"] {
        let r = app.admin(&cs, search, json!({ "q": q })).await;
        assert_eq!(data(&r)["orders"]["nodes"][0]["number"], o["number"], "{q}");
    }
    let r = app.admin(&cs, search, json!({ "q": "없는사람" })).await;
    assert_eq!(data(&r)["orders"]["nodes"], json!([]));
}

#[tokio::test]
async fn the_bot_token_reads_masked_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "bot", &[(9000, 10)], false).await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let r = app
        .admin(
            &owner,
            "mutation { botTokenCreate(name: \"Slack 봇\") { token } }",
            json!({}),
        )
        .await;
    let bot = data(&r)["botTokenCreate"]["token"].as_str().expect("token").to_owned();
    let r = app.admin(&bot, "{ staffMe { role } }", json!({})).await;
    assert_eq!(data(&r)["staffMe"]["role"], "BOT");
    let o = place_order(&app, &v[0]).await;
    let r = app.admin(&bot, ORDER, json!({ "n": o["number"] })).await;
    assert_eq!(data(&r)["order"]["ordererName"], "홍*동");
    let r = app
        .admin(&bot, DEPOSIT, json!({ "id": o["id"], "a": o["total"] }))
        .await;
    assert_eq!(code(&r), "FORBIDDEN");
    let r = app
        .admin(
            &owner,
            "{ auditLog(first: 10, filter: {action: \"staff.bot_token\"}) { nodes { action staffEmail } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&r)["auditLog"]["nodes"],
        json!([{ "action": "staff.bot_token.create", "staffEmail": "owner@jangteo.kr" }])
    );
}

const PAGE: &str = "query($first: Int, $after: String) { orders(first: $first, after: $after) {
    totalCount edges { cursor node { number } } nodes { number } pageInfo { hasNextPage endCursor } } }";

#[tokio::test]
async fn the_order_list_is_a_relay_connection_whose_cost_does_not_grow_with_the_page() {
    let app = TestApp::spawn_with(Options {
        count_statements: true,
        ..Options::default()
    })
    .await;
    let v = product_with_stock(&app.pool, "pages", &[(1000, 100)], false).await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let mut placed = Vec::new();
    for _ in 0..5 {
        placed.push(place_order(&app, &v[0]).await["number"].clone());
    }
    placed.reverse(); // newest first
    // Page through two at a time: cursors, pageInfo and the total agree.
    let (mut seen, mut after) = (Vec::new(), Value::Null);
    for (page, more) in [(0, true), (1, true), (2, false)] {
        let r = app.admin(&owner, PAGE, json!({ "first": 2, "after": after })).await;
        let c = &data(&r)["orders"];
        assert_eq!(c["totalCount"], 5, "page {page}");
        assert_eq!(c["pageInfo"]["hasNextPage"], more, "page {page}");
        let edges = c["edges"].as_array().expect("edges");
        let nodes: Vec<&Value> = edges.iter().map(|e| &e["node"]).collect();
        assert_eq!(c["nodes"].as_array().expect("nodes").iter().collect::<Vec<_>>(), nodes);
        assert_eq!(c["pageInfo"]["endCursor"], edges.last().expect("an edge")["cursor"]);
        seen.extend(nodes.iter().map(|n| n["number"].clone()));
        after = c["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(seen, placed);
    // One page costs the same statements whatever its size (no statement per order).
    let counter = app.counter.clone().expect("counting");
    let mut cost = Vec::new();
    for first in [1, 5] {
        let before = counter.get();
        let r = app.admin(&owner, PAGE, json!({ "first": first })).await;
        assert_eq!(data(&r)["orders"]["edges"].as_array().map(Vec::len), Some(first));
        cost.push(counter.get() - before);
    }
    assert_eq!(cost[0], cost[1], "statements for 1 order vs 5: {cost:?}");
    // Past the end: an empty page still counts; 101 is too many.
    let r = app.admin(&owner, PAGE, json!({ "first": 2, "after": after })).await;
    assert_eq!(data(&r)["orders"]["edges"], json!([]));
    assert_eq!(data(&r)["orders"]["totalCount"], 5);
    let r = app.admin(&owner, PAGE, json!({ "first": 101 })).await;
    assert_eq!(code(&r), "PAGE_SIZE_EXCEEDED");
    let r = app.admin(&owner, PAGE, json!({ "after": "not-a-cursor" })).await;
    assert_eq!(code(&r), "INVALID_CURSOR");
}

#[tokio::test]
async fn customers_audit_log_and_stock_page_the_same_way() {
    let app = TestApp::spawn().await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    product_with_stock(&app.pool, "low", &[(1000, 1), (1000, 2), (1000, 3)], false).await;
    for i in 0..3 {
        sqlx::query(
            "INSERT INTO customers (id, email, password_hash, name, mobile, terms_agreed_at, privacy_agreed_at, created_at)
             VALUES ($1, $2, 'x', '고객', '01012345678', now(), now(), now() - make_interval(mins => $3))",
        )
        .bind(uuid::Uuid::now_v7())
        .bind(format!("c{i}@example.com"))
        .bind(i)
        .execute(&app.pool)
        .await
        .expect("customer");
    }
    let first_page = |field: &str, args: &str, node: &str| {
        format!(
            "query($after: String) {{ {field}(first: 2, after: $after{args}) {{ totalCount
             edges {{ cursor node {{ {node} }} }} nodes {{ {node} }} pageInfo {{ hasNextPage endCursor }} }} }}"
        )
    };
    for (field, args, node, total, order) in [
        (
            "customers",
            "",
            "email",
            3,
            vec!["c0@example.com", "c1@example.com", "c2@example.com"],
        ),
        ("stock", ", lowStock: 3", "available", 3, vec!["1", "2", "3"]),
    ] {
        let q = first_page(field, args, node);
        let (mut seen, mut after) = (Vec::new(), Value::Null);
        loop {
            let r = app.admin(&owner, &q, json!({ "after": after })).await;
            let c = &data(&r)[field];
            assert_eq!(c["totalCount"], total, "{field}");
            assert_eq!(c["nodes"][0], c["edges"][0]["node"], "{field}");
            for e in c["edges"].as_array().expect("edges") {
                let v = &e["node"][node];
                seen.push(v.as_str().map_or_else(|| v.to_string(), str::to_owned));
            }
            if c["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = c["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(seen, order, "{field}");
    }
    // The audit log: the three bot tokens made here, newest first, two to a page.
    for name in ["a", "b", "c"] {
        let q = format!("mutation {{ botTokenCreate(name: \"{name}\") {{ token }} }}");
        data(&app.admin(&owner, &q, json!({})).await);
    }
    let q = first_page("auditLog", ", filter: {action: \"staff.bot_token\"}", "action");
    let r = app.admin(&owner, &q, json!({})).await;
    let c = &data(&r)["auditLog"];
    assert_eq!(
        (c["totalCount"].clone(), c["pageInfo"]["hasNextPage"].clone()),
        (json!(3), json!(true))
    );
    let r = app
        .admin(&owner, &q, json!({ "after": c["pageInfo"]["endCursor"] }))
        .await;
    let c = &data(&r)["auditLog"];
    assert_eq!(c["edges"].as_array().map(Vec::len), Some(1));
    assert_eq!(c["pageInfo"]["hasNextPage"], false);
}
