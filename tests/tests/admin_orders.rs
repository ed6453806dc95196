//! The admin API on orders: each role can do exactly what its row says, personal data is
//! masked for the bot, and every staff write is in the audit log.

use commerce::staff::Role;
use jangteo_tests::{CHECKOUT, Options, TestApp, checkout_input, data, product_with_stock, staff_session, uuid_of};
use serde_json::{Value, json};

const ORDER: &str = "query($n: String) { order(number: $n) { id number status ordererName phone email total refunded
    shippingAddress { recipient phone detailAddress } history { actor toStatus } } }";
const DEPOSIT: &str = "mutation($id: ID!, $a: Won!) { orderMarkDeposited(orderId: $id, amount: $a) {
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
            assert_eq!(shown["shippingAddress"]["detailAddress"], Value::Null);
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
    let refund = "mutation($id: ID!, $a: Won!) { orderRefund(orderId: $id, amount: $a, reason: \"파손\") { order { refunded } userErrors { code } } }";
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

/// Places an order of `qty` × `variant` and returns its number.
async fn place(app: &TestApp, variant: &str, qty: i32) -> String {
    let token = app.cart(&[(variant, qty)]).await;
    let r = app
        .gql(CHECKOUT, json!({ "t": token, "i": checkout_input("list@example.com") }))
        .await;
    data(&r)["checkoutComplete"]["order"]["number"]
        .as_str()
        .expect("number")
        .to_owned()
}

/// Every number `query` lists, paging `first` at a time with `vars`; checks that the total
/// and `hasNextPage` agree on every page.
async fn all_pages(app: &TestApp, token: &str, query: &str, vars: &Value, first: usize) -> Vec<String> {
    let (mut seen, mut after, mut pages) = (Vec::new(), Value::Null, 0);
    loop {
        let mut v = vars.clone();
        v["after"] = after;
        v["first"] = json!(first);
        let r = app.admin(token, query, v).await;
        let c = &data(&r)["orders"];
        let nodes = c["nodes"].as_array().expect("nodes");
        assert!(nodes.len() <= first, "{r}");
        seen.extend(nodes.iter().map(|n| n["number"].as_str().expect("number").to_owned()));
        pages += 1;
        assert!(pages < 20, "no end");
        if c["pageInfo"]["hasNextPage"] != true {
            assert_eq!(c["totalCount"].as_i64(), i64::try_from(seen.len()).ok(), "{vars}");
            return seen;
        }
        after = c["pageInfo"]["endCursor"].clone();
    }
}

const SORTED: &str = "query($first: Int, $after: String, $sort: OrderSortInput, $filter: OrderFilterInput) {
    orders(first: $first, after: $after, sort: $sort, filter: $filter) {
        totalCount nodes { number } pageInfo { hasNextPage endCursor } } }";

#[tokio::test]
async fn each_sort_pages_through_every_order_once_in_its_order() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "sorts", &[(1000, 100), (2500, 100), (700, 100)], false).await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    // Seven orders, two pairs with equal totals (the id breaks the tie), updated in an
    // order of their own.
    for (variant, qty) in [(0, 1), (1, 2), (2, 1), (0, 1), (1, 1), (2, 3), (1, 2)] {
        place(&app, &v[variant], qty).await;
    }
    sqlx::query(
        "UPDATE orders SET updated_at = now() - make_interval(mins => ((('x' || substr(md5(number), 1, 6))::bit(24))::int % 1000))",
    )
    .execute(&app.pool)
    .await
    .expect("shuffle updated_at");
    for (field, column) in [
        ("CREATED_AT", "created_at"),
        ("UPDATED_AT", "updated_at"),
        ("TOTAL", "total"),
    ] {
        for dir in ["ASC", "DESC"] {
            let expected: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                "SELECT number FROM orders ORDER BY {column} {dir}, id {dir}"
            )))
            .fetch_all(&app.pool)
            .await
            .expect("expected order");
            for first in [1, 2, 3] {
                let vars = json!({ "sort": { "field": field, "direction": dir } });
                let seen = all_pages(&app, &owner, SORTED, &vars, first).await;
                assert_eq!(seen, expected, "{field} {dir}, {first} a page");
            }
        }
    }
    // No sort: newest first; the direction defaults to DESC.
    let newest: Vec<String> = sqlx::query_scalar("SELECT number FROM orders ORDER BY created_at DESC, id DESC")
        .fetch_all(&app.pool)
        .await
        .expect("newest");
    assert_eq!(all_pages(&app, &owner, SORTED, &json!({}), 3).await, newest);
    let vars = json!({ "sort": { "field": "CREATED_AT" } });
    assert_eq!(all_pages(&app, &owner, SORTED, &vars, 4).await, newest);
    // A cursor belongs to its sort.
    let r = app
        .admin(
            &owner,
            SORTED,
            json!({ "first": 2, "sort": { "field": "TOTAL", "direction": "ASC" } }),
        )
        .await;
    let cursor = data(&r)["orders"]["pageInfo"]["endCursor"].clone();
    let r = app.admin(&owner, SORTED, json!({ "first": 2, "after": cursor })).await;
    assert_eq!(code(&r), "INVALID_CURSOR");
    let r = app
        .admin(
            &owner,
            SORTED,
            json!({ "first": 2, "after": cursor, "sort": { "field": "TOTAL", "direction": "DESC" } }),
        )
        .await;
    assert_eq!(code(&r), "INVALID_CURSOR");
}

#[tokio::test]
async fn filters_narrow_the_list_and_counts_cover_every_state() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "filters", &[(12000, 100)], false).await;
    let cs = staff_session(&app.pool, "cs@jangteo.kr", Role::Cs).await;
    let (awaiting, paid, cancelled, member) = (
        place(&app, &v[0], 1).await,
        place(&app, &v[0], 1).await,
        place(&app, &v[0], 1).await,
        place(&app, &v[0], 2).await,
    );
    let by_number = |n: &str| json!({ "n": n });
    let deposit =
        "mutation($n: String!, $a: Won!) { orderMarkDeposited(orderNumber: $n, amount: $a) { userErrors { code } } }";
    let total: i64 = sqlx::query_scalar("SELECT total FROM orders WHERE number = $1")
        .bind(&paid)
        .fetch_one(&app.pool)
        .await
        .expect("total");
    let r = app.admin(&cs, deposit, json!({ "n": paid, "a": total })).await;
    assert_eq!(data(&r)["orderMarkDeposited"]["userErrors"], json!([]));
    let cancel = "mutation($n: String!) { orderCancel(orderNumber: $n) { userErrors { code } } }";
    let r = app.admin(&cs, cancel, by_number(&cancelled)).await;
    assert_eq!(data(&r)["orderCancel"]["userErrors"], json!([]));
    let customer = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO customers (id, email, password_hash, name, mobile, terms_agreed_at, privacy_agreed_at)
         VALUES ($1, 'member@example.com', 'x', '회원', '01011112222', now(), now())",
    )
    .bind(customer)
    .execute(&app.pool)
    .await
    .expect("customer");
    sqlx::query("UPDATE orders SET customer_id = $2 WHERE number = $1")
        .bind(&member)
        .bind(customer)
        .execute(&app.pool)
        .await
        .expect("member order");
    // The first order's deposit is due in an hour; the member's in days.
    sqlx::query("UPDATE orders SET deposit_due_at = now() + interval '1 hour' WHERE number = $1")
        .bind(&awaiting)
        .execute(&app.pool)
        .await
        .expect("due soon");
    let soon = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let all = vec![member.clone(), cancelled.clone(), paid.clone(), awaiting.clone()];
    let cases = [
        (
            json!({ "statuses": ["PAID", "CANCELLED"] }),
            vec![cancelled.clone(), paid.clone()],
        ),
        (json!({ "statuses": [] }), vec![]),
        (
            json!({ "status": "AWAITING_DEPOSIT", "statuses": ["AWAITING_DEPOSIT", "PAID"] }),
            vec![member.clone(), awaiting.clone()],
        ),
        (json!({ "paymentMethod": "BANK_TRANSFER" }), all.clone()),
        (json!({ "channel": "PC_WEB" }), all.clone()),
        (json!({ "channel": "APP" }), vec![]),
        (
            json!({ "customerId": format!("cus_{}", customer.simple()) }),
            vec![member.clone()],
        ),
        (json!({ "depositDueBefore": soon }), vec![awaiting.clone()]),
        (json!({ "depositDueBefore": soon, "statuses": ["PAID"] }), vec![]),
    ];
    for (filter, expected) in cases {
        let seen = all_pages(&app, &cs, SORTED, &json!({ "filter": filter }), 2).await;
        assert_eq!(seen, expected, "{filter}");
    }
    // updatedSince: only what changed since (a memo changes the order).
    sqlx::query("UPDATE orders SET updated_at = now() - interval '1 day'")
        .execute(&app.pool)
        .await
        .expect("age");
    let since = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let memo = "mutation($n: String!) { orderMemoSet(orderNumber: $n, memo: \"전화 요망\") { userErrors { code } } }";
    let r = app.admin(&cs, memo, by_number(&member)).await;
    assert_eq!(data(&r)["orderMemoSet"]["userErrors"], json!([]));
    let seen = all_pages(&app, &cs, SORTED, &json!({ "filter": { "updatedSince": since } }), 2).await;
    assert_eq!(seen, vec![member.clone()]);
    // A refund changes the order too.
    let refund =
        "mutation($n: String!) { orderRefund(orderNumber: $n, amount: 1000, reason: \"x\") { userErrors { code } } }";
    let r = app.admin(&cs, refund, by_number(&paid)).await;
    assert_eq!(data(&r)["orderRefund"]["userErrors"], json!([]));
    let seen = all_pages(&app, &cs, SORTED, &json!({ "filter": { "updatedSince": since } }), 2).await;
    assert_eq!(seen, vec![member.clone(), paid.clone()]);
    let r = app
        .admin(&cs, SORTED, json!({ "filter": { "customerId": "not-an-id" } }))
        .await;
    assert_eq!(code(&r), "INVALID_ID");
    counts_cover_every_state(&app, &cs).await;
}

/// The dashboard: every state, zeros included, in the state machine's order (two orders
/// awaiting their deposit, one paid, one cancelled).
async fn counts_cover_every_state(app: &TestApp, cs: &str) {
    let r = app.admin(cs, "{ orderCounts { status count } }", json!({})).await;
    let counts = data(&r)["orderCounts"].as_array().expect("counts").clone();
    let statuses: Vec<&str> = counts.iter().map(|c| c["status"].as_str().expect("status")).collect();
    assert_eq!(
        statuses,
        [
            "PENDING_PAYMENT",
            "AWAITING_DEPOSIT",
            "PAID",
            "EXPIRED",
            "PREPARING",
            "SHIPPED",
            "DELIVERED",
            "COMPLETED",
            "CANCELLED",
            "RETURN_REQUESTED",
            "RETURNED"
        ]
    );
    let count_of = |s: &str| counts.iter().find(|c| c["status"] == s).map(|c| c["count"].clone());
    assert_eq!(count_of("AWAITING_DEPOSIT"), Some(json!(2)));
    assert_eq!(count_of("PAID"), Some(json!(1)));
    assert_eq!(count_of("CANCELLED"), Some(json!(1)));
    assert_eq!(count_of("SHIPPED"), Some(json!(0)));
    let bot = staff_session(&app.pool, "bot@jangteo.kr", Role::Bot).await;
    let r = app.admin(&bot, "{ orderCounts { status count } }", json!({})).await;
    assert_eq!(data(&r)["orderCounts"].as_array().map(Vec::len), Some(11));
}

/// Every mutation names its order by orderId or orderNumber, exactly one.
async fn each_mutation_takes_exactly_one_key(app: &TestApp, cs: &str, id: &Value, number: &Value) {
    let mutations = [
        ("orderMarkDeposited", "amount: 1"),
        ("orderCancel", "reason: \"x\""),
        ("orderRefund", "amount: 1, reason: \"x\""),
        ("orderSetStatus", "status: PREPARING"),
        ("orderMemoSet", "memo: \"x\""),
    ];
    for (field, args) in mutations {
        for (both, vars) in [(true, json!({ "id": id, "n": number })), (false, json!({}))] {
            let q = format!(
                "mutation($id: ID, $n: String) {{ {field}(orderId: $id, orderNumber: $n, {args}) {{ order {{ number }} userErrors {{ field code }} }} }}"
            );
            let r = app.admin(cs, &q, vars).await;
            assert_eq!(
                data(&r)[field]["userErrors"],
                json!([{ "field": ["orderId"], "code": "INVALID_INPUT" }]),
                "{field}, both: {both}"
            );
        }
    }
    for vars in [json!({ "id": id, "n": number }), json!({})] {
        let q = "mutation($id: ID, $n: String) { shipmentCreate(orderId: $id, orderNumber: $n, carrier: \"CJ\", trackingNumber: \"601234567890\") { userErrors { field code } } }";
        let r = app.admin(cs, q, vars).await;
        assert_eq!(data(&r)["shipmentCreate"]["userErrors"][0]["code"], "INVALID_INPUT");
    }
}

const STAFF_ORDER: &str = "query($id: ID, $n: String) { order(id: $id, number: $n) { number status staffMemo
    updatedAt depositorName maskedFields allowedTransitions payments { method provider amount status createdAt }
    customer { email name mobile tier maskedFields } } }";

#[tokio::test]
async fn orders_are_named_by_id_or_number_and_carry_a_memo() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "named", &[(20000, 100)], false).await;
    let cs = staff_session(&app.pool, "cs@jangteo.kr", Role::Cs).await;
    let o = place_order(&app, &v[0]).await;
    let (id, number, total) = (o["id"].clone(), o["number"].clone(), o["total"].clone());
    // order(id, number): exactly one.
    for vars in [json!({ "id": id, "n": number }), json!({})] {
        let r = app.admin(&cs, STAFF_ORDER, vars).await;
        assert_eq!(code(&r), "INVALID_INPUT", "{r}");
    }
    let r = app.admin(&cs, STAFF_ORDER, json!({ "id": id })).await;
    assert_eq!(data(&r)["order"]["number"], number);
    assert_eq!(data(&r)["order"]["allowedTransitions"], json!(["PAID", "CANCELLED"]));
    assert_eq!(data(&r)["order"]["payments"], json!([]));
    assert_eq!(data(&r)["order"]["customer"], Value::Null, "a guest's order");
    each_mutation_takes_exactly_one_key(&app, &cs, &id, &number).await;
    // A negative amount is refused before anything happens; an unknown number is not found.
    let deposit = "mutation($n: String!, $a: Won!) { orderMarkDeposited(orderNumber: $n, amount: $a) {
        order { status payments { method provider amount status } } userErrors { field code } } }";
    let r = app.admin(&cs, deposit, json!({ "n": number, "a": -1 })).await;
    assert_eq!(
        data(&r)["orderMarkDeposited"]["userErrors"],
        json!([{ "field": ["amount"], "code": "INVALID_INPUT" }])
    );
    let r = app
        .admin(&cs, deposit, json!({ "n": "20990101-999999", "a": total }))
        .await;
    assert_eq!(code(&r), "NOT_FOUND");
    // By number, the way Slack types it.
    let r = app.admin(&cs, deposit, json!({ "n": number, "a": total })).await;
    let paid = &data(&r)["orderMarkDeposited"];
    assert_eq!(paid["order"]["status"], "PAID", "{r}");
    assert_eq!(
        paid["order"]["payments"],
        json!([{ "method": "BANK_TRANSFER", "provider": "BANK_TRANSFER", "amount": total, "status": "PAID" }])
    );
    let set = "mutation($n: String!, $s: OrderStatus!) { orderSetStatus(orderNumber: $n, status: $s) {
        order { status allowedTransitions } userErrors { code } } }";
    let r = app.admin(&cs, set, json!({ "n": number, "s": "PREPARING" })).await;
    assert_eq!(
        data(&r)["orderSetStatus"]["order"],
        json!({ "status": "PREPARING", "allowedTransitions": ["SHIPPED", "CANCELLED"] })
    );
    let ship =
        "mutation($n: String!) { shipmentCreate(orderNumber: $n, carrier: \"CJ\", trackingNumber: \"601234567890\") {
        order { status allowedTransitions } userErrors { code } } }";
    let r = app.admin(&cs, ship, json!({ "n": number })).await;
    assert_eq!(
        data(&r)["shipmentCreate"]["order"],
        json!({ "status": "SHIPPED", "allowedTransitions": ["DELIVERED"] })
    );
    let refund = "mutation($n: String!) { orderRefund(orderNumber: $n, amount: 3000, reason: \"지연 보상\") {
        order { refunded } userErrors { code } } }";
    let r = app.admin(&cs, refund, json!({ "n": number })).await;
    assert_eq!(data(&r)["orderRefund"]["order"]["refunded"], 3000);
    let other = place_order(&app, &v[0]).await;
    let cancel = "mutation($n: String!) { orderCancel(orderNumber: $n, reason: \"재고 오류\") { order { status allowedTransitions } } }";
    let r = app.admin(&cs, cancel, json!({ "n": other["number"] })).await;
    assert_eq!(
        data(&r)["orderCancel"]["order"],
        json!({ "status": "CANCELLED", "allowedTransitions": [] })
    );
    the_memo_is_internal_and_audited(&app, &cs, &number).await;
}

/// The memo: set, read back, bumped updatedAt, audited (its length, not its words),
/// cleared; never read by the customer, never written by the bot.
async fn the_memo_is_internal_and_audited(app: &TestApp, cs: &str, number: &Value) {
    let before = data(&app.admin(cs, STAFF_ORDER, json!({ "n": number })).await)["order"]["updatedAt"].clone();
    let memo = "mutation($n: String!, $m: String!) { orderMemoSet(orderNumber: $n, memo: $m) {
        order { staffMemo updatedAt } userErrors { field code } } }";
    let r = app
        .admin(cs, memo, json!({ "n": number, "m": "  부재 시 경비실  " }))
        .await;
    let after = &data(&r)["orderMemoSet"]["order"];
    assert_eq!(after["staffMemo"], "부재 시 경비실");
    assert_ne!(after["updatedAt"], before);
    let r = app.admin(cs, STAFF_ORDER, json!({ "n": number })).await;
    assert_eq!(data(&r)["order"]["staffMemo"], "부재 시 경비실");
    let r = app
        .admin(cs, memo, json!({ "n": number, "m": "가".repeat(2001) }))
        .await;
    assert_eq!(
        data(&r)["orderMemoSet"]["userErrors"],
        json!([{ "field": ["memo"], "code": "INVALID_INPUT" }])
    );
    let r = app.admin(cs, memo, json!({ "n": number, "m": " " })).await;
    assert_eq!(data(&r)["orderMemoSet"]["order"]["staffMemo"], Value::Null);
    let audit: Vec<(String, String, i32)> = sqlx::query_as(
        "SELECT action, target, (summary->>'chars')::int FROM audit_log WHERE action = 'order.memo' ORDER BY id",
    )
    .fetch_all(&app.pool)
    .await
    .expect("audit");
    let num = number.as_str().expect("number").to_owned();
    assert_eq!(
        audit,
        [
            ("order.memo".to_owned(), num.clone(), 8),
            ("order.memo".to_owned(), num, 0)
        ]
    );
    // The customer never reads the memo.
    let r = app
        .gql(
            "query($n: String!) { orderByNumber(number: $n, email: \"buyer@example.com\") { number } }",
            json!({ "n": number }),
        )
        .await;
    assert!(!r.to_string().contains("경비실"));
    // The bot can't write a memo.
    let bot = staff_session(&app.pool, "bot@jangteo.kr", Role::Bot).await;
    let r = app.admin(&bot, memo, json!({ "n": number, "m": "x" })).await;
    assert_eq!(code(&r), "FORBIDDEN");
}

#[tokio::test]
async fn masked_fields_say_what_each_role_sees_masked() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "masks", &[(20000, 100)], false).await;
    let o = place_order(&app, &v[0]).await;
    let customer = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO customers (id, email, password_hash, name, mobile, terms_agreed_at, privacy_agreed_at, tier)
         VALUES ($1, 'member@example.com', 'x', '김회원', '01098765432', now(), now(), 'GOLD')",
    )
    .bind(customer)
    .execute(&app.pool)
    .await
    .expect("customer");
    sqlx::query("UPDATE orders SET customer_id = $2, depositor_name = '김입금' WHERE number = $1")
        .bind(o["number"].as_str())
        .bind(customer)
        .execute(&app.pool)
        .await
        .expect("member order");
    let all_masked = json!([
        "email",
        "phone",
        "ordererName",
        "shippingAddress",
        "deliveryNote",
        "depositorName",
        "bankTransfer",
        "cashReceipt"
    ]);
    for role in [Role::Owner, Role::Manager, Role::Cs, Role::Bot] {
        let email = format!("{}@jangteo.kr", role.as_str().to_lowercase());
        let token = staff_session(&app.pool, &email, role).await;
        let r = app.admin(&token, STAFF_ORDER, json!({ "n": o["number"] })).await;
        let order = &data(&r)["order"];
        if role == Role::Bot {
            assert_eq!(order["maskedFields"], all_masked);
            assert_eq!(order["depositorName"], "김*금");
            let q = "query($n: String) { order(number: $n) { bankTransfer { depositorName } } }";
            let r = app.admin(&token, q, json!({ "n": o["number"] })).await;
            assert_eq!(data(&r)["order"]["bankTransfer"]["depositorName"], "김*금");
            assert_eq!(
                order["customer"],
                json!({ "email": "me***@example.com", "name": "김*원", "mobile": "010-****-5432", "tier": "GOLD",
                        "maskedFields": ["email", "name", "mobile", "addresses"] })
            );
            assert_eq!(order["allowedTransitions"], json!([]), "the bot changes nothing");
        } else {
            assert_eq!(order["maskedFields"], json!([]), "{role:?}");
            assert_eq!(order["depositorName"], "김입금", "{role:?}");
            assert_eq!(
                order["customer"],
                json!({ "email": "member@example.com", "name": "김회원", "mobile": "010-9876-5432", "tier": "GOLD",
                        "maskedFields": [] }),
                "{role:?}"
            );
            assert_eq!(order["allowedTransitions"], json!(["PAID", "CANCELLED"]), "{role:?}");
        }
        // The list says the same.
        let r = app
            .admin(
                &token,
                "{ orders(first: 5) { nodes { maskedFields customer { maskedFields } } } }",
                json!({}),
            )
            .await;
        let node = &data(&r)["orders"]["nodes"][0];
        let expected = if role == Role::Bot {
            all_masked.clone()
        } else {
            json!([])
        };
        assert_eq!(node["maskedFields"], expected, "{role:?}");
    }
}
