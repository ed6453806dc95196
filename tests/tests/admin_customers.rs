//! The admin API on customers: the filtered, sorted list paged in each sort, one customer
//! with their orders, addresses and totals, and who may read them.

use commerce::staff::Role;
use jangteo_tests::{CHECKOUT, TestApp, checkout_input, data, product_with_stock, staff_session};
use serde_json::{Value, json};

fn code(r: &Value) -> Value {
    if let Some(e) = r.get("errors") {
        return e[0]["extensions"]["code"].clone();
    }
    Value::Null
}

/// A customer made directly in the database: name, tier, marketing e-mail and SMS
/// consent, signed up `days_ago` days ago. Returns the opaque id.
async fn customer(app: &TestApp, email: &str, name: &str, tier: &str, consent: (bool, bool), days_ago: i32) -> String {
    let id = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO customers (id, email, password_hash, name, mobile, terms_agreed_at, privacy_agreed_at, tier,
                                marketing_email, marketing_email_at, marketing_sms, marketing_sms_at, created_at)
         VALUES ($1, $2, 'x', $3, '01012345678', now(), now(), $4,
                 $5, CASE WHEN $5 THEN now() END, $6, CASE WHEN $6 THEN now() END, now() - make_interval(days => $7))",
    )
    .bind(id)
    .bind(email)
    .bind(name)
    .bind(tier)
    .bind(consent.0)
    .bind(consent.1)
    .bind(days_ago)
    .execute(&app.pool)
    .await
    .expect("customer");
    format!("cus_{}", id.simple())
}

const LIST: &str = "query($first: Int, $after: String, $filter: CustomerFilterInput, $sort: CustomerSortInput) {
    customers(first: $first, after: $after, filter: $filter, sort: $sort) {
        totalCount nodes { email name tier maskedFields } pageInfo { hasNextPage endCursor } } }";

/// Every e-mail the list gives for `vars`, `first` at a time; the total agrees.
async fn all_pages(app: &TestApp, token: &str, vars: &Value, first: usize) -> Vec<String> {
    let (mut seen, mut after) = (Vec::new(), Value::Null);
    for _ in 0..20 {
        let mut v = vars.clone();
        v["after"] = after;
        v["first"] = json!(first);
        let r = app.admin(token, LIST, v).await;
        let c = &data(&r)["customers"];
        for n in c["nodes"].as_array().expect("nodes") {
            seen.push(n["email"].as_str().expect("email").to_owned());
        }
        if c["pageInfo"]["hasNextPage"] != true {
            assert_eq!(c["totalCount"].as_i64(), i64::try_from(seen.len()).ok(), "{vars}");
            return seen;
        }
        after = c["pageInfo"]["endCursor"].clone();
    }
    panic!("no end");
}

#[tokio::test]
async fn customers_filter_and_page_through_each_sort() {
    let app = TestApp::spawn().await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    customer(&app, "da@example.com", "다현", "GOLD", (true, false), 30).await;
    customer(&app, "ga@example.com", "가은", "BASIC", (false, false), 10).await;
    customer(&app, "ra@example.com", "라희", "GOLD", (false, true), 5).await;
    customer(&app, "na@example.com", "나래", "VIP", (false, false), 1).await;
    customer(&app, "na2@example.com", "나래", "BASIC", (true, true), 2).await;
    let newest = [
        "na@example.com",
        "na2@example.com",
        "ra@example.com",
        "ga@example.com",
        "da@example.com",
    ];
    assert_eq!(all_pages(&app, &owner, &json!({}), 2).await, newest);
    let sorts = [
        (
            json!({ "field": "CREATED_AT", "direction": "ASC" }),
            newest.iter().rev().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
        ),
        (json!({ "field": "CREATED_AT" }), newest.map(str::to_owned).to_vec()),
    ];
    for (sort, expected) in sorts {
        for first in [1, 2, 3] {
            assert_eq!(
                all_pages(&app, &owner, &json!({ "sort": sort }), first).await,
                expected,
                "{sort}"
            );
        }
    }
    // By name: the two 나래 in id order (the id breaks the tie).
    let mut by_name: Vec<(String, uuid::Uuid, String)> = sqlx::query_as("SELECT name, id, email FROM customers")
        .fetch_all(&app.pool)
        .await
        .expect("rows");
    by_name.sort_by(|a, b| (a.0.as_str(), a.1).cmp(&(b.0.as_str(), b.1)));
    let asc: Vec<String> = by_name.iter().map(|r| r.2.clone()).collect();
    let desc: Vec<String> = asc.iter().rev().cloned().collect();
    for first in [1, 2, 4] {
        let name = json!({ "sort": { "field": "NAME" } });
        assert_eq!(all_pages(&app, &owner, &name, first).await, asc, "NAME, {first} a page");
        let name = json!({ "sort": { "field": "NAME", "direction": "DESC" } });
        assert_eq!(
            all_pages(&app, &owner, &name, first).await,
            desc,
            "NAME DESC, {first} a page"
        );
    }
    // Filters, each alone and together.
    let week_ago = (chrono::Utc::now() - chrono::Duration::days(7)).to_rfc3339();
    let two_days_ago = (chrono::Utc::now() - chrono::Duration::hours(36)).to_rfc3339();
    let cases = [
        (json!({ "tier": "GOLD" }), vec!["ra@example.com", "da@example.com"]),
        (
            json!({ "marketingConsent": true }),
            vec!["na2@example.com", "ra@example.com", "da@example.com"],
        ),
        (
            json!({ "marketingConsent": false }),
            vec!["na@example.com", "ga@example.com"],
        ),
        (
            json!({ "signedUpFrom": week_ago }),
            vec!["na@example.com", "na2@example.com", "ra@example.com"],
        ),
        (
            json!({ "signedUpTo": week_ago }),
            vec!["ga@example.com", "da@example.com"],
        ),
        (
            json!({ "signedUpFrom": week_ago, "signedUpTo": two_days_ago }),
            vec!["na2@example.com", "ra@example.com"],
        ),
        (json!({ "search": "나래", "tier": "BASIC" }), vec!["na2@example.com"]),
        (json!({ "tier": "SILVER" }), vec![]),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            all_pages(&app, &owner, &json!({ "filter": filter }), 2).await,
            expected,
            "{filter}"
        );
    }
    // A cursor belongs to its sort.
    let r = app
        .admin(&owner, LIST, json!({ "first": 1, "sort": { "field": "NAME" } }))
        .await;
    let cursor = data(&r)["customers"]["pageInfo"]["endCursor"].clone();
    let r = app.admin(&owner, LIST, json!({ "first": 1, "after": cursor })).await;
    assert_eq!(code(&r), "INVALID_CURSOR");
    // Staff who see personal data see it unmasked, and the tier is an enum.
    let r = app.admin(&owner, LIST, json!({ "first": 1 })).await;
    assert_eq!(
        data(&r)["customers"]["nodes"][0],
        json!({ "email": "na@example.com", "name": "나래", "tier": "VIP", "maskedFields": [] })
    );
    let cs = staff_session(&app.pool, "cs@jangteo.kr", Role::Cs).await;
    let r = app.admin(&cs, LIST, json!({ "first": 1 })).await;
    assert_eq!(data(&r)["customers"]["nodes"][0]["maskedFields"], json!([]));
    let bot = staff_session(&app.pool, "bot@jangteo.kr", Role::Bot).await;
    let r = app.admin(&bot, LIST, json!({ "first": 1 })).await;
    assert_eq!(code(&r), "FORBIDDEN");
}

const CUSTOMER: &str = "query($id: ID!, $first: Int, $after: String) { customer(id: $id) {
    email ordersCount totalSpent maskedFields addresses { recipient phone detailAddress isDefault }
    orders(first: $first, after: $after) { totalCount nodes { number customer { email } } pageInfo { hasNextPage endCursor } } } }";

#[tokio::test]
async fn a_customer_with_their_orders_addresses_and_what_they_spent() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "spend", &[(40000, 100)], false).await;
    let cs = staff_session(&app.pool, "cs@jangteo.kr", Role::Cs).await;
    let id = customer(&app, "buyer@example.com", "김구매", "SILVER", (false, false), 3).await;
    let uuid = jangteo_tests::uuid_of(&id);
    sqlx::query(
        "INSERT INTO addresses (id, customer_id, recipient, phone, zonecode, road_address, detail_address, is_default)
         VALUES ($1, $2, '김구매', '01012345678', '06236', '서울특별시 강남구 테헤란로 152', '10층', true)",
    )
    .bind(uuid::Uuid::now_v7())
    .bind(uuid)
    .execute(&app.pool)
    .await
    .expect("address");
    // Nothing yet.
    let r = app.admin(&cs, CUSTOMER, json!({ "id": id })).await;
    let c = &data(&r)["customer"];
    assert_eq!(
        (c["ordersCount"].clone(), c["totalSpent"].clone()),
        (json!(0), json!(0))
    );
    // Three orders: two paid (one partly refunded), one still awaiting its deposit; and a
    // guest's order that is not theirs.
    let mut orders = Vec::new();
    for qty in [1, 2, 1, 1] {
        let token = app.cart(&[(&v[0], qty)]).await;
        let r = app
            .gql(
                CHECKOUT,
                json!({ "t": token, "i": checkout_input("buyer@example.com") }),
            )
            .await;
        orders.push(data(&r)["checkoutComplete"]["order"].clone());
    }
    for o in &orders[..3] {
        sqlx::query("UPDATE orders SET customer_id = $2 WHERE number = $1")
            .bind(o["number"].as_str())
            .bind(uuid)
            .execute(&app.pool)
            .await
            .expect("theirs");
    }
    let deposit =
        "mutation($n: String!, $a: Won!) { orderMarkDeposited(orderNumber: $n, amount: $a) { userErrors { code } } }";
    for o in [&orders[0], &orders[1], &orders[3]] {
        let r = app
            .admin(&cs, deposit, json!({ "n": o["number"], "a": o["total"] }))
            .await;
        assert_eq!(data(&r)["orderMarkDeposited"]["userErrors"], json!([]));
    }
    let refund = "mutation($n: String!) { orderRefund(orderNumber: $n, amount: 5000, reason: \"부분 환불\") { userErrors { code } } }";
    let r = app.admin(&cs, refund, json!({ "n": orders[1]["number"] })).await;
    assert_eq!(data(&r)["orderRefund"]["userErrors"], json!([]));
    let total = |o: &Value| o["total"].as_i64().expect("total");
    let spent = total(&orders[0]) + total(&orders[1]) - 5000;
    let r = app.admin(&cs, CUSTOMER, json!({ "id": id, "first": 2 })).await;
    let c = &data(&r)["customer"];
    assert_eq!(c["email"], "buyer@example.com");
    assert_eq!(c["ordersCount"], 3);
    assert_eq!(c["totalSpent"], spent);
    assert_eq!(c["maskedFields"], json!([]));
    assert_eq!(
        c["addresses"],
        json!([{ "recipient": "김구매", "phone": "010-1234-5678", "detailAddress": "10층", "isDefault": true }])
    );
    // Their orders, newest first, two to a page.
    let numbers = |c: &Value| -> Vec<Value> {
        c["orders"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["number"].clone())
            .collect()
    };
    assert_eq!(c["orders"]["totalCount"], 3);
    assert_eq!(numbers(c), [orders[2]["number"].clone(), orders[1]["number"].clone()]);
    assert_eq!(c["orders"]["nodes"][0]["customer"]["email"], "buyer@example.com");
    let after = c["orders"]["pageInfo"]["endCursor"].clone();
    let r = app
        .admin(&cs, CUSTOMER, json!({ "id": id, "first": 2, "after": after }))
        .await;
    let c = &data(&r)["customer"];
    assert_eq!(numbers(c), [orders[0]["number"].clone()]);
    assert_eq!(c["orders"]["pageInfo"]["hasNextPage"], false);
    // A cancel of a paid order owes the whole amount back: it no longer counts as spent.
    let cancel = "mutation($n: String!) { orderCancel(orderNumber: $n) { userErrors { code } } }";
    let r = app.admin(&cs, cancel, json!({ "n": orders[0]["number"] })).await;
    assert_eq!(data(&r)["orderCancel"]["userErrors"], json!([]));
    let r = app.admin(&cs, CUSTOMER, json!({ "id": id })).await;
    assert_eq!(data(&r)["customer"]["totalSpent"], total(&orders[1]) - 5000);
    who_reads_them(&app, &cs, &id, &orders[1]["number"]).await;
}

/// Unknown ids, and roles that don't read customers: the bot reads them only through an
/// order, masked, addresses too.
async fn who_reads_them(app: &TestApp, cs: &str, id: &str, number: &Value) {
    let r = app
        .admin(
            cs,
            CUSTOMER,
            json!({ "id": format!("cus_{}", uuid::Uuid::now_v7().simple()) }),
        )
        .await;
    assert_eq!(code(&r), "NOT_FOUND");
    let r = app.admin(cs, CUSTOMER, json!({ "id": "nope" })).await;
    assert_eq!(code(&r), "INVALID_ID");
    let bot = staff_session(&app.pool, "bot@jangteo.kr", Role::Bot).await;
    let r = app.admin(&bot, CUSTOMER, json!({ "id": id })).await;
    assert_eq!(code(&r), "FORBIDDEN");
    // Through an order the bot reads them masked, addresses too.
    let q = "query($n: String!) { order(number: $n) { customer { email ordersCount maskedFields
        addresses { recipient phone detailAddress } } } }";
    let r = app.admin(&bot, q, json!({ "n": number })).await;
    assert_eq!(
        data(&r)["order"]["customer"],
        json!({ "email": "bu***@example.com", "ordersCount": 3, "maskedFields": ["email", "name", "mobile", "addresses"],
                "addresses": [{ "recipient": "김*매", "phone": "010-****-5678", "detailAddress": null }] })
    );
}

#[tokio::test]
async fn the_customers_of_a_page_of_orders_load_in_one_batch() {
    let app = TestApp::spawn_with(jangteo_tests::Options {
        count_statements: true,
        ..jangteo_tests::Options::default()
    })
    .await;
    let v = product_with_stock(&app.pool, "batch", &[(10000, 100)], false).await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    for i in 0..5 {
        let id = customer(&app, &format!("c{i}@example.com"), "고객", "BASIC", (false, false), 1).await;
        let token = app.cart(&[(&v[0], 1)]).await;
        let r = app
            .gql(
                CHECKOUT,
                json!({ "t": token, "i": checkout_input("buyer@example.com") }),
            )
            .await;
        sqlx::query("UPDATE orders SET customer_id = $2 WHERE number = $1")
            .bind(data(&r)["checkoutComplete"]["order"]["number"].as_str())
            .bind(jangteo_tests::uuid_of(&id))
            .execute(&app.pool)
            .await
            .expect("theirs");
    }
    let q = "query($first: Int) { orders(first: $first) { nodes { number payments { amount }
        customer { email ordersCount totalSpent addresses { recipient } } } } }";
    let counter = app.counter.clone().expect("counting");
    let mut cost = Vec::new();
    for first in [1, 5] {
        let before = counter.get();
        let r = app.admin(&owner, q, json!({ "first": first })).await;
        let nodes = data(&r)["orders"]["nodes"].as_array().expect("nodes").clone();
        assert_eq!(nodes.len(), first);
        assert!(nodes.iter().all(|n| n["customer"]["ordersCount"] == 1), "{r}");
        cost.push(counter.get() - before);
    }
    assert_eq!(cost[0], cost[1], "statements for 1 order vs 5: {cost:?}");
}
