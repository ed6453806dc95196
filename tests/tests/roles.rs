//! The role table, operation by operation: each role can do exactly what its row says.
//! OWNER everything; MANAGER catalog, orders, reports; CS orders and customers; BOT reads.

use commerce::staff::Role;
use jangteo_tests::{CHECKOUT, TestApp, checkout_input, data, product_with_stock, staff_session};
use serde_json::{Value, json};

/// The first error code of a response (top level or `userErrors`), if any.
fn outcome(r: &Value) -> Option<String> {
    if let Some(e) = r.get("errors") {
        return e[0]["extensions"]["code"].as_str().map(str::to_owned);
    }
    let payload = r["data"].as_object()?.values().next()?;
    payload
        .get("userErrors")?
        .get(0)?
        .get("code")?
        .as_str()
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[allow(clippy::too_many_lines)] // most of it is the table
async fn operations_by_role() {
    use Role::{Bot, Cs, Manager, Owner};
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "table", &[(20000, 1000)], false).await;
    let owner = staff_session(&app.pool, "first-owner@jangteo.kr", Owner).await;
    let made = app
        .admin(
            &owner,
            "mutation { botTokenCreate(name: \"slack\") { botToken { id } } }",
            json!({}),
        )
        .await;
    let bot_token = data(&made)["botTokenCreate"]["botToken"]["id"].clone();
    // (operation, query, allowed roles); `$order`, `$variant`, `$n`, `$btk` are filled in per run.
    let table: &[(&str, &str, &[Role])] = &[
        (
            "orders",
            "{ orders(first: 5) { nodes { number } } }",
            &[Owner, Manager, Cs, Bot],
        ),
        (
            "order",
            "query($n: String) { order(number: $n) { number } }",
            &[Owner, Manager, Cs, Bot],
        ),
        (
            "stock",
            "{ stock(lowStock: 10) { nodes { sku } } }",
            &[Owner, Manager, Cs, Bot],
        ),
        (
            "orderMarkDeposited",
            "mutation($order: ID!, $total: Won!) { orderMarkDeposited(orderId: $order, amount: $total) { userErrors { code } } }",
            &[Owner, Manager, Cs],
        ),
        (
            "orderSetStatus",
            "mutation($order: ID!) { orderSetStatus(orderId: $order, status: PREPARING) { userErrors { code } } }",
            &[Owner, Manager, Cs],
        ),
        (
            "orderRefund",
            "mutation($order: ID!) { orderRefund(orderId: $order, amount: 1000, reason: \"표\") { userErrors { code } } }",
            &[Owner, Manager, Cs],
        ),
        (
            "shipmentCreate",
            "mutation($order: ID!, $track: String!) { shipmentCreate(orderId: $order, carrier: \"CJ\", trackingNumber: $track) { userErrors { code } } }",
            &[Owner, Manager, Cs],
        ),
        (
            "productCreate",
            "mutation($slug: String!) { productCreate(input: {slug: $slug, name: \"상품\"}) { userErrors { code } } }",
            &[Owner, Manager],
        ),
        (
            "categoryCreate",
            "mutation($slug: String!) { categoryCreate(input: {slug: $slug, name: \"분류\"}) { userErrors { code } } }",
            &[Owner, Manager],
        ),
        (
            "stockAdjust",
            "mutation($variant: ID!) { stockAdjust(variantId: $variant, delta: 1, reason: \"실사\") { userErrors { code } } }",
            &[Owner, Manager],
        ),
        (
            "pageCreate",
            "mutation($slug: String!) { pageCreate(input: {slug: $slug, title: \"공지\", body: \"\", published: false}) { userErrors { code } } }",
            &[Owner, Manager],
        ),
        (
            "customers",
            "{ customers(first: 5) { nodes { email mobile } } }",
            &[Owner, Manager, Cs],
        ),
        (
            "products",
            "{ products(first: 5, filter: {published: false}) { totalCount nodes { slug } } }",
            &[Owner, Manager, Cs, Bot],
        ),
        (
            "stockMovements",
            "query($variant: ID!) { stockMovements(variantId: $variant) { nodes { reason } } }",
            &[Owner, Manager, Cs, Bot],
        ),
        (
            "pages",
            "{ pages(first: 5) { nodes { slug } } }",
            &[Owner, Manager, Cs, Bot],
        ),
        (
            "coupons",
            "{ coupons(first: 5) { nodes { code } } giftRules { nodes { name } } }",
            &[Owner, Manager, Cs, Bot],
        ),
        (
            "couponCreate",
            "mutation($slug: String!) { couponCreate(input: {code: $slug, name: \"쿠폰\", kind: FIXED, amountOff: 1000}) { userErrors { code } } }",
            &[Owner, Manager],
        ),
        (
            "giftRuleCreate",
            "mutation($variant: ID!) { giftRuleCreate(input: {name: \"사은품\", giftVariantId: $variant}) { userErrors { code } } }",
            &[Owner, Manager],
        ),
        ("staff", "{ staff(first: 5) { nodes { email role } } }", &[Owner]),
        ("auditLog", "{ auditLog(first: 1) { nodes { action } } }", &[Owner]),
        (
            "botTokens",
            "{ botTokens(first: 5) { totalCount nodes { id } } }",
            &[Owner],
        ),
        (
            "botTokenRevoke",
            "mutation($btk: ID!) { botTokenRevoke(id: $btk) { userErrors { code } } }",
            &[Owner],
        ),
        (
            "botTokenCreate",
            "mutation($slug: String!) { botTokenCreate(name: $slug) { userErrors { code } } }",
            &[Owner],
        ),
    ];
    for (i, role) in [Owner, Manager, Cs, Bot].into_iter().enumerate() {
        let token = staff_session(&app.pool, &format!("r{i}@jangteo.kr"), role).await;
        let cart = app.cart(&[(&v[0], 1)]).await;
        let r = app
            .gql(CHECKOUT, json!({ "t": cart, "i": checkout_input("t@example.com") }))
            .await;
        let order = data(&r)["checkoutComplete"]["order"].clone();
        let vars = json!({
            "order": order["id"], "total": order["total"], "n": order["number"], "variant": v[0],
            "slug": format!("role-{i}"), "track": format!("60123456789{i}"), "btk": bot_token,
        });
        for (op, query, allowed) in table {
            let r = app.admin(&token, query, vars.clone()).await;
            let got = outcome(&r);
            if allowed.contains(&role) {
                assert_eq!(got, None, "{role:?} may {op}: {r}");
            } else {
                assert_eq!(got.as_deref(), Some("FORBIDDEN"), "{role:?} may not {op}: {r}");
            }
        }
    }
}
