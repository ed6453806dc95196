//! Checkout over HTTP: the order placed in one transaction, never oversold, idempotent;
//! the rules of pricing, coupons, gifts and shipping; bank transfer; cancel; the state
//! machine's transitions through the core.

use std::sync::Arc;

use commerce::{Won, ids::StaffId, order};
use jangteo_tests::{
    CART_CREATE, CHECKOUT, Options, TestApp, checkout_input, data, product_with_stock, race_checkout, uuid_of,
};
use serde_json::{Value, json};
use tokio::sync::Barrier;

async fn stock(app: &TestApp, variant: &str) -> (i32, i32) {
    sqlx::query_as("SELECT on_hand, allocated FROM variants WHERE id = $1")
        .bind(uuid_of(variant))
        .fetch_one(&app.pool)
        .await
        .expect("variant")
}

async fn movements(app: &TestApp, variant: &str) -> i64 {
    sqlx::query_scalar("SELECT COALESCE(sum(delta_allocated), 0) FROM stock_movements WHERE variant_id = $1")
        .bind(uuid_of(variant))
        .fetch_one(&app.pool)
        .await
        .expect("sum")
}

async fn count(app: &TestApp, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_buyers_race_for_the_last_ten_units() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "last-ten", &[(12000, 10)], false).await;
    let (sold, out) = race_checkout(std::slice::from_ref(&app.base), 50, &[vec![(&v[0], 1)]]).await;
    assert_eq!((sold, out), (10, 40));
    assert_eq!(stock(&app, &v[0]).await, (10, 10));
    assert_eq!(movements(&app, &v[0]).await, 10);
    assert_eq!(count(&app, "SELECT count(*) FROM orders").await, 10);
    assert_eq!(
        count(&app, "SELECT count(*) FROM carts").await,
        40,
        "the losers keep their carts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn opposite_orders_of_two_variants_never_deadlock_or_oversell() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "pair", &[(5000, 10), (7000, 10)], false).await;
    // Half the carts add A then B, half B then A: allocation order must not follow cart order.
    let (sold, out) = race_checkout(
        std::slice::from_ref(&app.base),
        50,
        &[vec![(&v[0], 1), (&v[1], 1)], vec![(&v[1], 1), (&v[0], 1)]],
    )
    .await;
    assert_eq!((sold, out), (10, 40));
    for variant in &v {
        assert_eq!(stock(&app, variant).await, (10, 10));
        assert_eq!(movements(&app, variant).await, 10);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_idempotency_key_twice_at_once_gives_one_order() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "idem", &[(10000, 100)], false).await;
    let token = app.cart(&[(&v[0], 2)]).await;
    let input = checkout_input("idem@example.com");
    let barrier = Arc::new(Barrier::new(2));
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (base, barrier, token, input) = (app.base.clone(), barrier.clone(), token.clone(), input.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let body = json!({ "query": CHECKOUT, "variables": { "t": token, "i": input } });
            let r: Value = jangteo_tests::fakes::http_client()
                .post(format!("{base}/graphql"))
                .json(&body)
                .send()
                .await
                .expect("send")
                .json()
                .await
                .expect("json");
            r
        }));
    }
    let mut numbers = Vec::new();
    for t in tasks {
        let r = t.await.expect("task");
        let p = &data(&r)["checkoutComplete"];
        assert_eq!(p["userErrors"], json!([]), "{r}");
        numbers.push(p["order"]["number"].as_str().expect("number").to_owned());
    }
    assert_eq!(numbers[0], numbers[1]);
    assert_eq!(count(&app, "SELECT count(*) FROM orders").await, 1);
    assert_eq!(stock(&app, &v[0]).await, (100, 2), "allocated once");
    // A later retry with the key (the cart is gone by now) still answers with the order.
    let r = app.gql(CHECKOUT, json!({ "t": token, "i": input })).await;
    assert_eq!(data(&r)["checkoutComplete"]["order"]["number"], numbers[0]);
}

/// Another buyer's input: nothing in it matches the victim's order.
fn attacker_input(key: &Value) -> Value {
    let mut i = checkout_input("mallory@example.net");
    i["ordererName"] = json!("말로리");
    i["phone"] = json!("010-9999-0000");
    i["shippingAddress"] = json!({
        "recipient": "말로리", "phone": "010-9999-0000", "zonecode": "48058",
        "roadAddress": "부산광역시 해운대구 센텀중앙로 97", "jibunAddress": "", "buildingName": "", "detailAddress": "1호"
    });
    i["idempotencyKey"] = key.clone();
    i
}

#[tokio::test]
async fn someone_elses_idempotency_key_is_refused_and_reveals_nothing() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "idem-leak", &[(10000, 100)], false).await;
    let token = app.cart(&[(&v[0], 1)]).await;
    let victim = checkout_input("victim@example.com");
    let r = app.gql(CHECKOUT, json!({ "t": token, "i": victim })).await;
    let number = data(&r)["checkoutComplete"]["order"]["number"]
        .as_str()
        .expect("number")
        .to_owned();
    let key = &victim["idempotencyKey"];
    let full = "mutation($t: String!, $i: CheckoutCompleteInput!) { checkoutComplete(cartToken: $t, input: $i) {
        order { id number email phone ordererName shippingAddress { recipient phone roadAddress detailAddress } }
        userErrors { field code message } } }";
    // With a made-up cart token, and with a real cart of the attacker's own.
    let own = app.cart(&[(&v[0], 3)]).await;
    for t in ["anything", own.as_str()] {
        let r = app.gql(full, json!({ "t": t, "i": attacker_input(key) })).await;
        let p = &data(&r)["checkoutComplete"];
        assert!(p["order"].is_null(), "{r}");
        assert_eq!(p["userErrors"][0]["code"], "IDEMPOTENCY_KEY_REUSED", "{r}");
        let text = r.to_string();
        for secret in [number.as_str(), "victim", "홍길동", "5678", "테헤란로", "10층"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }
    assert_eq!(
        count(&app, "SELECT count(*) FROM orders").await,
        1,
        "the attacker's cart placed nothing"
    );
    assert_eq!(stock(&app, &v[0]).await, (100, 1));
    // The buyer's own retry, same cart token and key, still answers with their order.
    let r = app.gql(CHECKOUT, json!({ "t": token, "i": victim })).await;
    assert_eq!(data(&r)["checkoutComplete"]["order"]["number"], number.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_key_from_two_carts_at_once_places_one_order_and_refuses_the_other() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "idem-two", &[(10000, 100)], false).await;
    let input = checkout_input("first@example.com");
    let carts = [app.cart(&[(&v[0], 1)]).await, app.cart(&[(&v[0], 1)]).await];
    let barrier = Arc::new(Barrier::new(2));
    let mut tasks = Vec::new();
    for (i, token) in carts.into_iter().enumerate() {
        let (base, barrier) = (app.base.clone(), barrier.clone());
        let input = if i == 0 {
            input.clone()
        } else {
            attacker_input(&input["idempotencyKey"])
        };
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let body = json!({ "query": CHECKOUT, "variables": { "t": token, "i": input } });
            let r: Value = jangteo_tests::fakes::http_client()
                .post(format!("{base}/graphql"))
                .json(&body)
                .send()
                .await
                .expect("send")
                .json()
                .await
                .expect("json");
            r
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        let r = t.await.expect("task");
        let p = &data(&r)["checkoutComplete"];
        match p["userErrors"][0]["code"].as_str() {
            None => codes.push("PLACED".to_owned()),
            Some(c) => {
                assert!(p["order"].is_null(), "{r}");
                codes.push(c.to_owned());
            }
        }
    }
    codes.sort();
    assert_eq!(codes, ["IDEMPOTENCY_KEY_REUSED", "PLACED"]);
    assert_eq!(count(&app, "SELECT count(*) FROM orders").await, 1);
    assert_eq!(stock(&app, &v[0]).await, (100, 1));
}

#[tokio::test]
async fn an_order_snapshots_the_cart_and_waits_for_the_deposit() {
    let app = TestApp::spawn_with(Options {
        count_statements: true,
        ..Options::default()
    })
    .await;
    let v = product_with_stock(&app.pool, "snap", &[(11000, 50), (22000, 50), (5500, 50)], false).await;
    let token = app.cart(&[(&v[0], 1), (&v[1], 2), (&v[2], 1)]).await;
    let counter = app.counter.clone().expect("counting");
    let before = counter.get();
    let r = app
        .gql(CHECKOUT, json!({ "t": token, "i": checkout_input("Snap@Example.com") }))
        .await;
    let statements = counter.get() - before;
    let o = &data(&r)["checkoutComplete"]["order"];
    assert!(
        statements <= 15,
        "checkout of a 3-line cart took {statements} statements"
    );
    let number = o["number"].as_str().expect("number");
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Seoul)
        .format("%Y%m%d")
        .to_string();
    assert!(
        number.starts_with(&format!("{today}-")) && number.len() == 15,
        "{number}"
    );
    assert_eq!(o["status"], "AWAITING_DEPOSIT");
    assert_eq!(o["subtotal"], 60500);
    assert_eq!(o["shippingFee"], 0, "free over ₩50,000");
    assert_eq!(o["total"], 60500);
    assert_eq!(o["vat"], 5500, "round(60,500 / 11)");
    assert_eq!(o["bankTransfer"]["amount"], 60500);
    assert_eq!(o["bankTransfer"]["bank"], "국민은행");
    assert_eq!(o["lines"].as_array().expect("lines").len(), 3);
    assert_eq!(
        o["history"],
        json!([
            { "fromStatus": null, "toStatus": "PENDING_PAYMENT" },
            { "fromStatus": "PENDING_PAYMENT", "toStatus": "AWAITING_DEPOSIT" },
        ])
    );
    // The cart is emptied (gone) and the stock allocated.
    let r = app
        .gql(
            "query($t: String!) { cart(token: $t) { total } }",
            json!({ "t": token }),
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_FOUND");
    assert_eq!(stock(&app, &v[1]).await, (50, 2));
    // Guests find it by number and e-mail (any case), and nobody finds it with another e-mail.
    let q = "query($n: String!, $e: String!) { orderByNumber(number: $n, email: $e) { number total } }";
    let r = app.gql(q, json!({ "n": number, "e": "snap@example.com" })).await;
    assert_eq!(data(&r)["orderByNumber"]["total"], 60500);
    let r = app.gql(q, json!({ "n": number, "e": "other@example.com" })).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn bad_input_leaves_nothing_behind() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "bad", &[(10000, 5), (3000, 1)], false).await;
    let token = app.cart(&[(&v[0], 2), (&v[1], 1)]).await;
    // Someone else takes the last unit of the second line.
    sqlx::query("UPDATE variants SET allocated = 1 WHERE id = $1")
        .bind(uuid_of(&v[1]))
        .execute(&app.pool)
        .await
        .expect("update");
    let r = app
        .gql(CHECKOUT, json!({ "t": token, "i": checkout_input("bad@example.com") }))
        .await;
    let p = &data(&r)["checkoutComplete"];
    assert!(p["order"].is_null());
    assert_eq!(p["userErrors"][0]["code"], "OUT_OF_STOCK");
    assert_eq!(p["userErrors"][0]["field"][0], "lines");
    assert_eq!(
        stock(&app, &v[0]).await,
        (5, 0),
        "the first line's allocation was rolled back"
    );
    assert_eq!(count(&app, "SELECT count(*) FROM orders").await, 0);
    assert_eq!(count(&app, "SELECT count(*) FROM stock_movements").await, 0);

    // Invalid fields are user errors too, before anything happens.
    for (field, value, code) in [
        ("email", json!("not-an-email"), "INVALID_INPUT"),
        ("phone", json!("12"), "INVALID_INPUT"),
        ("idempotencyKey", json!("short"), "INVALID_INPUT"),
    ] {
        let mut input = checkout_input("x@example.com");
        input[field] = value;
        let r = app.gql(CHECKOUT, json!({ "t": token, "i": input })).await;
        assert_eq!(data(&r)["checkoutComplete"]["userErrors"][0]["code"], code, "{field}");
    }
    let mut input = checkout_input("x@example.com");
    input["shippingAddress"]["zonecode"] = json!("1234");
    let r = app.gql(CHECKOUT, json!({ "t": token, "i": input })).await;
    assert_eq!(
        data(&r)["checkoutComplete"]["userErrors"][0]["field"],
        json!(["zonecode"])
    );
    let r = app
        .gql(
            CHECKOUT,
            json!({ "t": "no-such-cart", "i": checkout_input("x@example.com") }),
        )
        .await;
    assert_eq!(data(&r)["checkoutComplete"]["userErrors"][0]["code"], "NOT_FOUND");
    assert_eq!(count(&app, "SELECT count(*) FROM orders").await, 0);
}

#[tokio::test]
async fn a_changed_price_is_refused_once_then_accepted() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "price", &[(10000, 5)], false).await;
    let token = app.cart(&[(&v[0], 1)]).await;
    sqlx::query("UPDATE variants SET price = 12000 WHERE id = $1")
        .bind(uuid_of(&v[0]))
        .execute(&app.pool)
        .await
        .expect("update");
    let r = app
        .gql(
            "query($t: String!) { cart(token: $t) { total warnings { code } } }",
            json!({ "t": token }),
        )
        .await;
    assert_eq!(data(&r)["cart"]["warnings"][0]["code"], "PRICE_CHANGED");
    let r = app
        .gql(CHECKOUT, json!({ "t": token, "i": checkout_input("p@example.com") }))
        .await;
    assert_eq!(data(&r)["checkoutComplete"]["userErrors"][0]["code"], "PRICE_CHANGED");
    assert_eq!(stock(&app, &v[0]).await, (5, 0));
    // The customer has now seen the new price; the retry goes through at it.
    let r = app
        .gql(CHECKOUT, json!({ "t": token, "i": checkout_input("p@example.com") }))
        .await;
    assert_eq!(data(&r)["checkoutComplete"]["order"]["subtotal"], 12000);
    // A client that sends the total it showed is refused when the server's differs.
    let token = app.cart(&[(&v[0], 1)]).await;
    let mut input = checkout_input("p@example.com");
    input["expectedTotal"] = json!(13000);
    let r = app.gql(CHECKOUT, json!({ "t": token, "i": input })).await;
    assert_eq!(data(&r)["checkoutComplete"]["userErrors"][0]["code"], "PRICE_CHANGED");
}

#[tokio::test]
async fn shipping_fee_threshold_and_jeju_surcharge() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "ship", &[(20000, 50)], false).await;
    let r = app
        .gql(CART_CREATE, json!({ "lines": [{ "variantId": v[0], "quantity": 1 }] }))
        .await;
    let cart = &data(&r)["cartCreate"]["cart"];
    assert_eq!(
        (cart["shippingFee"].clone(), cart["freeShippingRemaining"].clone()),
        (json!(3000), json!(30000))
    );
    let token = cart["token"].as_str().expect("token").to_owned();
    let set = "mutation($t: String!, $z: String) { cartShippingZonecodeSet(token: $t, zonecode: $z) {
                 cart { shippingFee total } userErrors { code field } } }";
    let r = app.gql(set, json!({ "t": token, "z": "63100" })).await;
    assert_eq!(
        data(&r)["cartShippingZonecodeSet"]["cart"]["shippingFee"],
        6000,
        "₩3,000 + Jeju ₩3,000"
    );
    let r = app.gql(set, json!({ "t": token, "z": "abcde" })).await;
    assert_eq!(
        data(&r)["cartShippingZonecodeSet"]["userErrors"][0]["field"],
        json!(["zonecode"])
    );
    let add = "mutation($t: String!, $v: ID!) { cartLinesAdd(token: $t, lines: [{variantId: $v, quantity: 2}]) {
                 cart { subtotal shippingFee freeShippingRemaining } userErrors { code } } }";
    let r = app.gql(add, json!({ "t": token, "v": v[0] })).await;
    let c = &data(&r)["cartLinesAdd"]["cart"];
    assert_eq!(
        (
            c["subtotal"].clone(),
            c["shippingFee"].clone(),
            c["freeShippingRemaining"].clone()
        ),
        (json!(60000), json!(3000), json!(0))
    );
    // The order charges for the address it ships to, not the cart's guess.
    let mut input = checkout_input("s@example.com");
    input["shippingAddress"]["zonecode"] = json!("63100");
    let r = app.gql(CHECKOUT, json!({ "t": token, "i": input })).await;
    let o = &data(&r)["checkoutComplete"]["order"];
    assert_eq!(
        (o["shippingFee"].clone(), o["total"].clone()),
        (json!(3000), json!(63000))
    );
}

#[tokio::test]
async fn tax_free_products_leave_vat_out() {
    let app = TestApp::spawn().await;
    let taxed = product_with_stock(&app.pool, "taxed", &[(22000, 9)], false).await;
    let free = product_with_stock(&app.pool, "sweet-potato", &[(15000, 9)], true).await;
    let token = app.cart(&[(&taxed[0], 1), (&free[0], 1)]).await;
    let r = app
        .gql(CHECKOUT, json!({ "t": token, "i": checkout_input("t@example.com") }))
        .await;
    let o = &data(&r)["checkoutComplete"]["order"];
    // 37,000 + 3,000 shipping; tax-free 15,000; VAT = round(25,000 / 11) = 2,273
    assert_eq!(
        (o["total"].clone(), o["taxFreeAmount"].clone(), o["vat"].clone()),
        (json!(40000), json!(15000), json!(2273))
    );
}

async fn coupon(app: &TestApp, code: &str, kind: &str, value: i64, extra: &str) {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO coupons (id, code, name, kind, value, max_discount, min_subtotal, usage_limit, per_customer_limit, starts_at, ends_at)
         SELECT gen_random_uuid(), $1, $1, $2, $3, {extra}"
    )))
    .bind(code)
    .bind(kind)
    .bind(value)
    .execute(&app.pool)
    .await
    .expect("coupon");
}

const APPLY: &str = "mutation($t: String!, $c: String!) { cartCouponApply(token: $t, code: $c) {
    cart { subtotal discount total couponCode } userErrors { code field message } } }";

#[tokio::test]
async fn coupons_apply_by_their_rules_and_count_only_when_ordered() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "coupon", &[(30000, 100)], false).await;
    coupon(&app, "WELCOME10", "PERCENT", 10, "2000, 0, NULL, NULL, NULL, NULL").await;
    coupon(&app, "FIX5000", "FIXED", 5000, "NULL, 40000, NULL, NULL, NULL, NULL").await;
    coupon(
        &app,
        "OLD",
        "FIXED",
        1000,
        "NULL, 0, NULL, NULL, now() - interval '2 days', now() - interval '1 day'",
    )
    .await;
    coupon(&app, "ONCE", "FIXED", 1000, "NULL, 0, 1, NULL, NULL, NULL").await;
    let token = app.cart(&[(&v[0], 1)]).await;

    let r = app.gql(APPLY, json!({ "t": token, "c": "welcome10" })).await;
    let c = &data(&r)["cartCouponApply"]["cart"];
    assert_eq!(
        (c["discount"].clone(), c["total"].clone(), c["couponCode"].clone()),
        (json!(2000), json!(31000), json!("WELCOME10")),
        "10% capped at ₩2,000"
    );
    for (code, why) in [("FIX5000", "min subtotal"), ("OLD", "expired"), ("NOPE", "unknown")] {
        let r = app.gql(APPLY, json!({ "t": token, "c": code })).await;
        let p = &data(&r)["cartCouponApply"];
        assert_eq!(p["userErrors"][0]["code"], "COUPON_INVALID", "{why}");
        assert!(p["cart"].is_null());
    }
    let r = app
        .gql(
            "query($t: String!) { cart(token: $t) { couponCode discount } }",
            json!({ "t": token }),
        )
        .await;
    assert_eq!(
        data(&r)["cart"]["couponCode"],
        "WELCOME10",
        "a refused coupon changes nothing"
    );

    // ONCE: usage limit 1. Applying does not use it; the first order does.
    let second = app.cart(&[(&v[0], 1)]).await;
    for t in [&token, &second] {
        let r = app.gql(APPLY, json!({ "t": t, "c": "ONCE" })).await;
        assert_eq!(data(&r)["cartCouponApply"]["userErrors"], json!([]));
    }
    assert_eq!(
        count(&app, "SELECT used_count::int8 FROM coupons WHERE code = 'ONCE'").await,
        0
    );
    let r = app
        .gql(CHECKOUT, json!({ "t": token, "i": checkout_input("c1@example.com") }))
        .await;
    assert_eq!(data(&r)["checkoutComplete"]["order"]["discount"], 1000);
    let r = app
        .gql(CHECKOUT, json!({ "t": second, "i": checkout_input("c2@example.com") }))
        .await;
    let p = &data(&r)["checkoutComplete"];
    assert_eq!(p["userErrors"][0]["code"], "COUPON_INVALID");
    assert_eq!(
        count(&app, "SELECT used_count::int8 FROM coupons WHERE code = 'ONCE'").await,
        1
    );
    assert_eq!(count(&app, "SELECT count(*) FROM coupon_redemptions").await, 1);
    assert_eq!(count(&app, "SELECT count(*) FROM orders").await, 1);
}

#[tokio::test]
async fn gifts_join_and_leave_with_their_condition_and_never_block_an_order() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "main", &[(20000, 100)], false).await;
    let gift = product_with_stock(&app.pool, "tumbler", &[(15000, 1)], false).await;
    sqlx::query("INSERT INTO gift_rules (id, name, min_subtotal, gift_variant_id, gift_quantity) VALUES (gen_random_uuid(), '텀블러 증정', 40000, $1, 1)")
        .bind(uuid_of(&gift[0]))
        .execute(&app.pool)
        .await
        .expect("rule");
    let r = app
        .gql(CART_CREATE, json!({ "lines": [{ "variantId": v[0], "quantity": 1 }] }))
        .await;
    let cart = &data(&r)["cartCreate"]["cart"];
    assert_eq!(
        cart["lines"].as_array().expect("lines").len(),
        1,
        "below ₩40,000: no gift"
    );
    let token = cart["token"].as_str().expect("token").to_owned();
    let line = cart["lines"][0]["id"].as_str().expect("id").to_owned();
    let upd = "mutation($t: String!, $l: ID!, $q: Int!) { cartLinesUpdate(token: $t, lines: [{lineId: $l, quantity: $q}]) {
                 cart { subtotal total lines { sku isGift unitPrice lineTotal } warnings { code } } userErrors { code } } }";
    let r = app.gql(upd, json!({ "t": token, "l": line, "q": 2 })).await;
    let c = &data(&r)["cartLinesUpdate"]["cart"];
    assert_eq!(
        c["lines"][1],
        json!({ "sku": "TUMBLER-0", "isGift": true, "unitPrice": 0, "lineTotal": 0 })
    );
    assert_eq!(
        (c["subtotal"].clone(), c["total"].clone()),
        (json!(40000), json!(43000)),
        "the gift is free"
    );
    let r = app.gql(upd, json!({ "t": token, "l": line, "q": 1 })).await;
    assert_eq!(
        data(&r)["cartLinesUpdate"]["cart"]["lines"]
            .as_array()
            .expect("lines")
            .len(),
        1,
        "gone with its condition"
    );
    let r = app.gql(upd, json!({ "t": token, "l": line, "q": 3 })).await;
    data(&r);
    // The order gets the gift and allocates it like any line.
    let r = app
        .gql(CHECKOUT, json!({ "t": token, "i": checkout_input("g@example.com") }))
        .await;
    let o = &data(&r)["checkoutComplete"]["order"];
    assert_eq!(o["lines"][1]["isGift"], true);
    assert_eq!(stock(&app, &gift[0]).await, (1, 1));
    // The gift is out of stock now: a second order still goes through, without it.
    let token = app.cart(&[(&v[0], 3)]).await;
    let r = app
        .gql(
            "query($t: String!) { cart(token: $t) { warnings { code } lines { isGift } } }",
            json!({ "t": token }),
        )
        .await;
    assert_eq!(data(&r)["cart"]["warnings"][0]["code"], "GIFT_UNAVAILABLE");
    let r = app
        .gql(CHECKOUT, json!({ "t": token, "i": checkout_input("g2@example.com") }))
        .await;
    let o = &data(&r)["checkoutComplete"]["order"];
    assert_eq!(o["lines"].as_array().expect("lines").len(), 1);
    assert_eq!(o["status"], "AWAITING_DEPOSIT");
}

#[tokio::test]
async fn cancel_releases_stock_and_deposits_must_match_to_the_won() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "dep", &[(10000, 10)], false).await;
    let token = app.cart(&[(&v[0], 3)]).await;
    let r = app
        .gql(CHECKOUT, json!({ "t": token, "i": checkout_input("d@example.com") }))
        .await;
    let o = data(&r)["checkoutComplete"]["order"].clone();
    let id: commerce::ids::OrderId = o["id"].as_str().expect("id").parse().expect("order id");
    let staff = StaffId::generate();
    let e = order::confirm_deposit(&app.pool, id, Won::new(32999).expect("won"), staff)
        .await
        .expect_err("mismatch");
    assert_eq!(e.code().as_str(), "AMOUNT_MISMATCH");
    let paid = order::confirm_deposit(&app.pool, id, Won::new(33000).expect("won"), staff)
        .await
        .expect("paid");
    assert_eq!(paid.status, order::OrderStatus::Paid);
    assert!(
        paid.history
            .iter()
            .any(|h| h.actor == format!("staff:{staff}") && h.to_status == "PAID")
    );
    let again = order::confirm_deposit(&app.pool, id, Won::new(33000).expect("won"), staff)
        .await
        .expect_err("twice");
    assert_eq!(again.code().as_str(), "INVALID_STATE");
    assert_eq!(count(&app, "SELECT count(*) FROM payments").await, 1);

    // The guest cancels with the e-mail and the account to refund to: stock back, a refund
    // recorded for what was paid.
    let cancel = "mutation($n: String!, $e: String) { orderCancel(input: {number: $n, email: $e,
                    refundAccount: {bank: \"신한은행\", number: \"110-123-456789\", holder: \"홍길동\"}}) {
                    order { status cancelledAt } userErrors { code } } }";
    let r = app
        .gql(cancel, json!({ "n": o["number"], "e": "wrong@example.com" }))
        .await;
    assert_eq!(data(&r)["orderCancel"]["userErrors"][0]["code"], "NOT_FOUND");
    let r = app.gql(cancel, json!({ "n": o["number"], "e": "d@example.com" })).await;
    assert_eq!(data(&r)["orderCancel"]["order"]["status"], "CANCELLED");
    assert_eq!(stock(&app, &v[0]).await, (10, 0));
    assert_eq!(movements(&app, &v[0]).await, 0, "+3 placed, −3 cancelled");
    assert_eq!(count(&app, "SELECT amount FROM refunds").await, 33000);
    let r = app.gql(cancel, json!({ "n": o["number"], "e": "d@example.com" })).await;
    assert_eq!(data(&r)["orderCancel"]["userErrors"][0]["code"], "INVALID_STATE");
}

#[tokio::test]
async fn unpaid_orders_expire_at_their_due_time_and_release_stock() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "exp", &[(10000, 10)], false).await;
    let mut numbers = Vec::new();
    for q in [2, 3] {
        let token = app.cart(&[(&v[0], q)]).await;
        let r = app
            .gql(CHECKOUT, json!({ "t": token, "i": checkout_input("e@example.com") }))
            .await;
        numbers.push(
            data(&r)["checkoutComplete"]["order"]["number"]
                .as_str()
                .expect("number")
                .to_owned(),
        );
    }
    assert_eq!(stock(&app, &v[0]).await, (10, 5));
    let now = chrono::Utc::now();
    assert!(
        order::expire_unpaid(&app.pool, now, 30)
            .await
            .expect("expire")
            .is_empty(),
        "not due yet"
    );
    let later = now + chrono::Duration::days(3) + chrono::Duration::minutes(1);
    let mut expired = order::expire_unpaid(&app.pool, later, 30).await.expect("expire");
    expired.sort();
    numbers.sort();
    assert_eq!(expired, numbers);
    assert_eq!(stock(&app, &v[0]).await, (10, 0));
    assert_eq!(
        count(&app, "SELECT count(*) FROM orders WHERE status = 'EXPIRED'").await,
        2
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM order_history WHERE to_status = 'EXPIRED' AND actor = 'system'"
        )
        .await,
        2
    );
    assert!(
        order::expire_unpaid(&app.pool, later, 30)
            .await
            .expect("again")
            .is_empty()
    );
}

#[tokio::test]
async fn orders_carry_their_channel() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "chan", &[(10000, 10)], false).await;
    let create = "mutation($c: SalesChannel!, $s: String, $v: ID!) { cartCreate(input: {channel: $c, source: $s,
                    lines: [{variantId: $v, quantity: 1}]}) { cart { token channel } userErrors { code field } } }";
    let r = app.gql(create, json!({ "c": "EXTERNAL", "v": v[0] })).await;
    assert_eq!(data(&r)["cartCreate"]["userErrors"][0]["field"], json!(["source"]));
    let r = app
        .gql(
            create,
            json!({ "c": "EXTERNAL", "s": "네이버 스마트스토어", "v": v[0] }),
        )
        .await;
    let token = data(&r)["cartCreate"]["cart"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let r = app
        .gql(CHECKOUT, json!({ "t": token, "i": checkout_input("n@example.com") }))
        .await;
    assert_eq!(data(&r)["checkoutComplete"]["order"]["channel"], "EXTERNAL");
    let source: String = sqlx::query_scalar("SELECT channel_source FROM orders")
        .fetch_one(&app.pool)
        .await
        .expect("source");
    assert_eq!(source, "네이버 스마트스토어");
}

#[tokio::test]
async fn a_per_customer_coupon_works_once_per_orderer() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "per-customer", &[(30000, 100)], false).await;
    coupon(&app, "MINE", "FIXED", 3000, "NULL, 0, NULL, 1, NULL, NULL").await;
    let mut answers = Vec::new();
    for email in ["same@example.com", "SAME@example.com", "other@example.com"] {
        let token = app.cart(&[(&v[0], 1)]).await;
        let r = app.gql(APPLY, json!({ "t": token, "c": "MINE" })).await;
        assert_eq!(
            data(&r)["cartCouponApply"]["userErrors"],
            json!([]),
            "a guest's cart can hold it"
        );
        let r = app
            .gql(CHECKOUT, json!({ "t": token, "i": checkout_input(email) }))
            .await;
        let p = &data(&r)["checkoutComplete"];
        answers.push(
            p["userErrors"][0]["code"]
                .as_str()
                .map_or_else(|| p["order"]["discount"].to_string(), str::to_owned),
        );
    }
    assert_eq!(
        answers,
        vec!["3000", "COUPON_INVALID", "3000"],
        "once per e-mail, whatever its case"
    );
}
