//! The cart page over HTTP: thumbnails and product links batched within a statement
//! budget, struck-through prices, the applied coupon and why one does not apply, gift
//! progress, the shipping fee's two parts, the channel as an enum.

use jangteo_tests::{Options, TestApp, data, product_with_stock, uuid_of};
use serde_json::{Value, json};

const CART: &str = "query($t: String!) { cart(token: $t) {
    channel subtotal discount shippingFee shippingBaseFee remoteAreaFee total couponCode
    coupon { code name description discount }
    giftProgress { ruleName remaining }
    warnings { code lineId amount message }
    lines { id sku isGift compareAtPrice quantityAvailable } } }";

async fn cart(app: &TestApp, token: &str) -> Value {
    let r = app.gql(CART, json!({ "t": token })).await;
    data(&r)["cart"].clone()
}

async fn sql(app: &TestApp, statement: &'static str) {
    sqlx::query(statement).execute(&app.pool).await.expect(statement);
}

#[tokio::test]
async fn variant_product_and_image_cost_the_same_statements_for_one_line_or_six() {
    let app = TestApp::spawn_with(Options {
        count_statements: true,
        ..Options::default()
    })
    .await;
    let mut variants = Vec::new();
    for i in 0..6 {
        let slug = format!("thumb-{i}");
        let v = product_with_stock(&app.pool, &slug, &[(1000, 10)], false).await;
        sqlx::query(
            "WITH m AS (INSERT INTO media (id, storage, url)
                 SELECT gen_random_uuid(), 'EXTERNAL', 'https://img.example/' || slug || '/' || n
                   FROM products, generate_series(0, 1) AS n WHERE slug = $1 RETURNING id, url)
             INSERT INTO product_media (product_id, media_id, position)
             SELECT p.id, m.id, right(m.url, 1)::int FROM m, products p WHERE p.slug = $1",
        )
        .bind(&slug)
        .execute(&app.pool)
        .await
        .expect("images");
        variants.push(v[0].clone());
    }
    let one = app.cart(&[(&variants[0], 1)]).await;
    let lines: Vec<(&str, i32)> = variants.iter().map(|v| (v.as_str(), 1)).collect();
    let six = app.cart(&lines).await;
    // One product was taken off sale since: its link goes, its picture stays.
    sql(&app, "UPDATE products SET published = false WHERE slug = 'thumb-5'").await;

    let q =
        "query($t: String!) { cart(token: $t) { lines { variant { sku product { slug name } image { url alt } } } } }";
    let counter = app.counter.clone().expect("counting");
    let mut costs = Vec::new();
    for token in [&one, &six] {
        let before = counter.get();
        let r = app.gql(q, json!({ "t": token })).await;
        costs.push(counter.get() - before);
        let lines = data(&r)["cart"]["lines"].as_array().expect("lines").clone();
        for (i, l) in lines.iter().enumerate() {
            let v = &l["variant"];
            assert_eq!(
                v["image"]["url"],
                format!("https://img.example/thumb-{i}/0"),
                "the first image"
            );
            assert_eq!(v["image"]["alt"], Value::Null);
            if i == 5 {
                assert_eq!(v["product"], Value::Null, "unpublished since");
            } else {
                assert_eq!(v["product"]["slug"], format!("thumb-{i}"));
            }
        }
    }
    // The cart, its variants, their products: three statements however many lines.
    assert_eq!(costs, [3, 3]);
}

#[tokio::test]
async fn a_line_shows_its_was_price_and_the_cart_its_channel() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "sale", &[(3500, 10), (2000, 10)], false).await;
    sqlx::query("UPDATE variants SET compare_at_price = 3900 WHERE id = $1")
        .bind(uuid_of(&v[0]))
        .execute(&app.pool)
        .await
        .expect("was price");
    let token = app.cart(&[(&v[0], 1), (&v[1], 1)]).await;
    let c = cart(&app, &token).await;
    assert_eq!(c["channel"], "PC_WEB");
    assert_eq!(c["lines"][0]["compareAtPrice"], 3900);
    assert_eq!(c["lines"][1]["compareAtPrice"], Value::Null);
    let r = app
        .gql(
            "mutation { cartCreate(input: {channel: EXTERNAL, source: \"네이버 스마트스토어\"}) { cart { channel } } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&r)["cartCreate"]["cart"]["channel"], "EXTERNAL");
}

const APPLY: &str = "mutation($t: String!, $c: String!) { cartCouponApply(token: $t, code: $c) {
    cart { coupon { code } } userErrors { code } } }";
const UPDATE: &str = "mutation($t: String!, $l: ID!, $q: Int!) {
    cartLinesUpdate(token: $t, lines: [{lineId: $l, quantity: $q}]) { userErrors { code } } }";

/// The coupon-related warnings of a cart.
fn coupon_warnings(c: &Value) -> Vec<Value> {
    c["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter(|w| w["code"].as_str().is_some_and(|s| s.starts_with("COUPON_")))
        .map(|w| json!({ "code": w["code"], "amount": w["amount"] }))
        .collect()
}

#[tokio::test]
async fn an_applied_coupon_shows_with_its_discount_or_a_code_saying_why_not() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "coupon", &[(30000, 10)], false).await;
    sql(
        &app,
        "INSERT INTO coupons (id, code, name, description, kind, value, min_subtotal)
         VALUES (gen_random_uuid(), 'BIG5000', '5만원 이상 5천원', '5만원 이상 구매 시 5,000원 할인', 'FIXED', 5000, 50000),
                (gen_random_uuid(), 'PLAIN', '그냥 할인', '', 'FIXED', 1000, 0),
                (gen_random_uuid(), 'MEMBERS', '회원 할인', '', 'FIXED', 1000, 0)",
    )
    .await;
    sql(&app, "UPDATE coupons SET members_only = true WHERE code = 'MEMBERS'").await;
    let token = app.cart(&[(&v[0], 2)]).await;
    let r = app.gql(APPLY, json!({ "t": token, "c": "members" })).await;
    assert_eq!(
        data(&r)["cartCouponApply"]["userErrors"][0]["code"],
        "COUPON_INVALID",
        "a guest can't apply a members-only coupon"
    );
    let r = app.gql(APPLY, json!({ "t": token, "c": "plain" })).await;
    assert_eq!(data(&r)["cartCouponApply"]["cart"]["coupon"]["code"], "PLAIN");
    assert_eq!(cart(&app, &token).await["coupon"]["description"], Value::Null);
    let r = app.gql(APPLY, json!({ "t": token, "c": "big5000" })).await;
    assert_eq!(data(&r)["cartCouponApply"]["userErrors"], json!([]));
    let c = cart(&app, &token).await;
    assert_eq!(
        c["coupon"],
        json!({ "code": "BIG5000", "name": "5만원 이상 5천원", "description": "5만원 이상 구매 시 5,000원 할인", "discount": 5000 })
    );
    assert_eq!(coupon_warnings(&c), Vec::<Value>::new());
    let line = c["lines"][0]["id"].clone();

    // Below the minimum: the amount still missing.
    let r = app.gql(UPDATE, json!({ "t": token, "l": line, "q": 1 })).await;
    assert_eq!(data(&r)["cartLinesUpdate"]["userErrors"], json!([]));
    let c = cart(&app, &token).await;
    assert_eq!((c["coupon"].clone(), c["discount"].clone()), (Value::Null, json!(0)));
    assert_eq!(c["couponCode"], "BIG5000", "still applied, waiting for the minimum");
    assert_eq!(
        coupon_warnings(&c),
        [json!({ "code": "COUPON_MINIMUM_NOT_MET", "amount": 20000 })]
    );
    let message = c["warnings"][0]["message"].as_str().expect("message");
    assert!(message.contains("20,000") || message.contains("20000"), "{message}");
    app.gql(UPDATE, json!({ "t": token, "l": line, "q": 2 })).await;

    // Each other reason, one at a time, then put back.
    for (break_it, mend_it, code) in [
        (
            "UPDATE coupons SET usage_limit = 1, used_count = 1 WHERE code = 'BIG5000'",
            "UPDATE coupons SET usage_limit = NULL, used_count = 0 WHERE code = 'BIG5000'",
            "COUPON_USED_UP",
        ),
        (
            "UPDATE coupons SET ends_at = now() - interval '1 hour' WHERE code = 'BIG5000'",
            "UPDATE coupons SET ends_at = NULL WHERE code = 'BIG5000'",
            "COUPON_EXPIRED",
        ),
        (
            "UPDATE coupons SET members_only = true WHERE code = 'BIG5000'",
            "UPDATE coupons SET members_only = false WHERE code = 'BIG5000'",
            "COUPON_LOGIN_REQUIRED",
        ),
        (
            "UPDATE coupons SET active = false WHERE code = 'BIG5000'",
            "UPDATE coupons SET active = true WHERE code = 'BIG5000'",
            "COUPON_NOT_APPLICABLE",
        ),
        (
            "DELETE FROM coupons WHERE code = 'BIG5000'",
            "SELECT 1",
            "COUPON_NOT_FOUND",
        ),
    ] {
        sql(&app, break_it).await;
        let c = cart(&app, &token).await;
        assert_eq!(
            coupon_warnings(&c),
            [json!({ "code": code, "amount": null })],
            "{break_it}"
        );
        assert_eq!(
            (c["coupon"].clone(), c["discount"].clone()),
            (Value::Null, json!(0)),
            "{code}"
        );
        sql(&app, mend_it).await;
        if code != "COUPON_NOT_FOUND" {
            assert_eq!(cart(&app, &token).await["coupon"]["discount"], 5000, "{mend_it}");
        }
    }
}

#[tokio::test]
async fn gift_progress_counts_down_to_each_gift_the_cart_can_still_get() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "main", &[(15000, 50)], false).await;
    let gift = product_with_stock(&app.pool, "gift", &[(5000, 10)], false).await;
    let soldout = product_with_stock(&app.pool, "soldout-gift", &[(5000, 0)], false).await;
    for (name, min, channel, variant) in [
        ("3만원 이상 사은품", Some(30000i64), None, &gift[0]),
        ("5만원 이상 쉐이커", Some(50000), None, &gift[0]),
        ("앱 전용 사은품", Some(50000), Some("APP"), &gift[0]),
        ("품절 사은품", Some(50000), None, &soldout[0]),
        ("누구나 사은품", None, None, &gift[0]),
    ] {
        sqlx::query(
            "INSERT INTO gift_rules (id, name, min_subtotal, channel, gift_variant_id) VALUES (gen_random_uuid(), $1, $2, $3, $4)",
        )
        .bind(name)
        .bind(min)
        .bind(channel)
        .bind(uuid_of(variant))
        .execute(&app.pool)
        .await
        .expect("gift rule");
    }
    let token = app.cart(&[(&v[0], 1)]).await;
    let c = cart(&app, &token).await;
    assert_eq!(
        c["giftProgress"],
        json!([
            { "ruleName": "3만원 이상 사은품", "remaining": 15000 },
            { "ruleName": "5만원 이상 쉐이커", "remaining": 35000 },
        ]),
        "not another channel's, not a sold-out gift, not one already won"
    );
    let line = c["lines"][0]["id"].clone();
    app.gql(UPDATE, json!({ "t": token, "l": line, "q": 2 })).await;
    let c = cart(&app, &token).await;
    assert_eq!(
        c["giftProgress"],
        json!([{ "ruleName": "5만원 이상 쉐이커", "remaining": 20000 }])
    );
    assert_eq!(
        c["lines"]
            .as_array()
            .expect("lines")
            .iter()
            .filter(|l| l["isGift"] == true)
            .count(),
        2
    );
    app.gql(UPDATE, json!({ "t": token, "l": line, "q": 4 })).await;
    assert_eq!(cart(&app, &token).await["giftProgress"], json!([]));
}

const ZONE: &str = "mutation($t: String!, $z: String) { cartShippingZonecodeSet(token: $t, zonecode: $z) {
    userErrors { code } } }";

#[tokio::test]
async fn the_shipping_fee_splits_into_base_and_remote_area_fees() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "fees", &[(20000, 50)], false).await;
    let token = app.cart(&[(&v[0], 1)]).await;
    let fees = |c: &Value| {
        (
            c["shippingBaseFee"].as_i64().expect("base"),
            c["remoteAreaFee"].as_i64().expect("remote"),
            c["shippingFee"].as_i64().expect("fee"),
        )
    };
    assert_eq!(fees(&cart(&app, &token).await), (3000, 0, 3000), "no zonecode yet");
    app.gql(ZONE, json!({ "t": token, "z": "63100" })).await;
    assert_eq!(fees(&cart(&app, &token).await), (3000, 3000, 6000), "Jeju");
    app.gql(ZONE, json!({ "t": token, "z": "06236" })).await;
    assert_eq!(fees(&cart(&app, &token).await), (3000, 0, 3000), "Seoul");
    let line = cart(&app, &token).await["lines"][0]["id"].clone();
    app.gql(UPDATE, json!({ "t": token, "l": line, "q": 3 })).await;
    app.gql(ZONE, json!({ "t": token, "z": "63644" })).await;
    let c = cart(&app, &token).await;
    assert_eq!(fees(&c), (0, 3000, 3000), "free shipping, Jeju still pays its part");
    assert_eq!(c["total"], 63000);
}

#[tokio::test]
async fn a_members_only_coupon_waits_for_the_customer_to_sign_in() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "members", &[(20000, 10)], false).await;
    sql(
        &app,
        "INSERT INTO coupons (id, code, name, kind, value) VALUES (gen_random_uuid(), 'VIP', '회원 할인', 'FIXED', 2000)",
    )
    .await;
    let token = app.cart(&[(&v[0], 1)]).await;
    let r = app.gql(APPLY, json!({ "t": token, "c": "VIP" })).await;
    assert_eq!(data(&r)["cartCouponApply"]["userErrors"], json!([]));
    // Made members-only after the guest applied it.
    sql(&app, "UPDATE coupons SET members_only = true WHERE code = 'VIP'").await;
    let c = cart(&app, &token).await;
    assert_eq!(
        coupon_warnings(&c),
        [json!({ "code": "COUPON_LOGIN_REQUIRED", "amount": null })]
    );
    assert_eq!(c["coupon"], Value::Null);

    let r = app
        .gql(
            "mutation($i: CustomerSignUpInput!) { customerSignUp(input: $i) { userErrors { code } } }",
            json!({ "i": {
                "email": "vip@example.com", "password": "jangteo1234!", "name": "김민지", "mobile": "010 9876 5432",
                "termsAccepted": true, "privacyAccepted": true
            } }),
        )
        .await;
    assert_eq!(data(&r)["customerSignUp"]["userErrors"], json!([]));
    let r = app
        .gql(
            "mutation($c: String) { customerLogin(email: \"vip@example.com\", password: \"jangteo1234!\", cartToken: $c) {
                cart { token } userErrors { code } } }",
            json!({ "c": token }),
        )
        .await;
    let mine = data(&r)["customerLogin"]["cart"]["token"]
        .as_str()
        .expect("cart")
        .to_owned();
    let c = cart(&app, &mine).await;
    assert_eq!(coupon_warnings(&c), Vec::<Value>::new());
    assert_eq!(c["coupon"]["discount"], 2000, "applies once signed in: {c}");
}
