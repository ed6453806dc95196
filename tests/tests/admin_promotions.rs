//! Coupons and gift rules as data through `/admin/graphql`: saved with the rules the cart
//! applies them by, listed a page at a time, written only by MANAGER and OWNER, audited.

use commerce::staff::Role;
use jangteo_tests::{CHECKOUT, TestApp, checkout_input, data, product_with_stock, staff_session};
use serde_json::{Value, json};

const COUPON_FIELDS: &str = "id code name description kind amountOff percentOff maxDiscount minSubtotal
    startsAt endsAt usageLimit perCustomerLimit usedCount active createdAt";

fn create_coupon() -> String {
    format!(
        "mutation($i: CouponInput!) {{ couponCreate(input: $i) {{ coupon {{ {COUPON_FIELDS} }} userErrors {{ code field }} }} }}"
    )
}

fn update_coupon() -> String {
    format!(
        "mutation($id: ID!, $i: CouponInput!) {{ couponUpdate(id: $id, input: $i) {{ coupon {{ {COUPON_FIELDS} }} userErrors {{ code field }} }} }}"
    )
}

const DELETE_COUPON: &str =
    "mutation($id: ID!) { couponDelete(id: $id) { deletedId userErrors { code field message } } }";
const APPLY: &str = "mutation($t: String!, $c: String!) { cartCouponApply(token: $t, code: $c) {
    cart { discount } userErrors { code } } }";
const GIFT_FIELDS: &str = "id name active minSubtotal requiredProduct { slug published } giftVariant { sku }
    giftQuantity channel startsAt endsAt";

fn create_gift() -> String {
    format!(
        "mutation($i: GiftRuleInput!) {{ giftRuleCreate(input: $i) {{ giftRule {{ {GIFT_FIELDS} }} userErrors {{ code field }} }} }}"
    )
}

fn errors(r: &Value, op: &str) -> Vec<(String, Value)> {
    data(r)[op]["userErrors"]
        .as_array()
        .expect("userErrors")
        .iter()
        .map(|e| (e["code"].as_str().unwrap_or_default().to_owned(), e["field"].clone()))
        .collect()
}

async fn cart_lines(app: &TestApp, cart: &str) -> Value {
    let q = "query($t: String!) { cart(token: $t) { lines { sku quantity isGift } } }";
    let r = app.gql(q, json!({ "t": cart })).await;
    data(&r)["cart"]["lines"].clone()
}

fn fixed(code: &str, amount: i64) -> Value {
    json!({ "code": code, "name": "신규 회원 할인", "kind": "FIXED", "amountOff": amount })
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // one story, told in order
async fn coupons_are_saved_the_way_the_cart_applies_them() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "coupon-goods", &[(30000, 100)], false).await;
    let mgr = staff_session(&app.pool, "mgr@jangteo.kr", Role::Manager).await;

    let r = app
        .admin(&mgr, &create_coupon(), json!({ "i": fixed(" welcome-5000 ", 5000) }))
        .await;
    let c = data(&r)["couponCreate"]["coupon"].clone();
    assert_eq!(errors(&r, "couponCreate"), vec![], "{r}");
    assert_eq!(
        (
            &c["code"],
            &c["kind"],
            &c["amountOff"],
            &c["percentOff"],
            &c["description"],
            &c["active"]
        ),
        (
            &json!("WELCOME-5000"),
            &json!("FIXED"),
            &json!(5000),
            &Value::Null,
            &Value::Null,
            &json!(true)
        ),
        "codes are stored upper-case; an empty description reads as null"
    );
    assert_eq!((&c["minSubtotal"], &c["usedCount"]), (&json!(0), &json!(0)));

    // The cart finds it as typed in any case and takes 5,000 off.
    let cart = app.cart(&[(&v[0], 1)]).await;
    let r = app.gql(APPLY, json!({ "t": cart, "c": "welcome-5000" })).await;
    assert_eq!(data(&r)["cartCouponApply"]["userErrors"], json!([]), "{r}");
    assert_eq!(data(&r)["cartCouponApply"]["cart"]["discount"], 5000);

    // What the cart would refuse to read is refused on save, naming the field.
    let bad: Vec<(Value, &str, &str)> = vec![
        (fixed("환영", 1000), "INVALID_INPUT", "code"),
        (fixed("WELCOME 5000", 1000), "INVALID_INPUT", "code"),
        (fixed("Welcome-5000", 1000), "ALREADY_EXISTS", "code"),
        (fixed("ZERO", 0), "INVALID_INPUT", "amountOff"),
        (fixed("NEG", -1), "INVALID_INPUT", "amountOff"),
        (
            json!({ "code": "PCT0", "name": "퍼센트", "kind": "PERCENT", "percentOff": 0 }),
            "INVALID_INPUT",
            "percentOff",
        ),
        (
            json!({ "code": "PCT101", "name": "퍼센트", "kind": "PERCENT", "percentOff": 101 }),
            "INVALID_INPUT",
            "percentOff",
        ),
        (
            json!({ "code": "PCTWON", "name": "퍼센트", "kind": "PERCENT", "percentOff": 10, "amountOff": 100 }),
            "INVALID_INPUT",
            "amountOff",
        ),
        (
            json!({ "code": "CAP", "name": "정액", "kind": "FIXED", "amountOff": 100, "maxDiscount": 50 }),
            "INVALID_INPUT",
            "maxDiscount",
        ),
        (
            json!({ "code": "MIN", "name": "최소", "kind": "FIXED", "amountOff": 100, "minSubtotal": -1 }),
            "INVALID_INPUT",
            "minSubtotal",
        ),
        (
            json!({ "code": "WINDOW", "name": "기간", "kind": "FIXED", "amountOff": 100,
                 "startsAt": "2026-12-10T00:00:00+09:00", "endsAt": "2026-12-01T00:00:00+09:00" }),
            "INVALID_INPUT",
            "endsAt",
        ),
        (
            json!({ "code": "LIMIT", "name": "한도", "kind": "FIXED", "amountOff": 100, "usageLimit": 0 }),
            "INVALID_INPUT",
            "usageLimit",
        ),
        (
            json!({ "code": "PER", "name": "한도", "kind": "FIXED", "amountOff": 100, "perCustomerLimit": -2 }),
            "INVALID_INPUT",
            "perCustomerLimit",
        ),
        (
            json!({ "code": "NONAME", "name": " ", "kind": "FIXED", "amountOff": 100 }),
            "INVALID_INPUT",
            "name",
        ),
    ];
    for (input, code, field) in bad {
        let r = app.admin(&mgr, &create_coupon(), json!({ "i": input })).await;
        assert_eq!(
            errors(&r, "couponCreate"),
            vec![(code.to_owned(), json!([field]))],
            "{input}: {r}"
        );
        assert_eq!(data(&r)["couponCreate"]["coupon"], Value::Null);
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM coupons")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(n, 1, "nothing refused was saved");

    // A capped percentage with a window and limits, and a description for the cart.
    let pct = json!({ "code": "SALE-10", "name": "10% 할인", "description": "최대 3,000원", "kind": "PERCENT",
        "percentOff": 10, "maxDiscount": 3000, "minSubtotal": 20000, "startsAt": "2026-01-01T00:00:00+09:00",
        "endsAt": "2099-01-01T00:00:00+09:00", "usageLimit": 100, "perCustomerLimit": 1 });
    let r = app.admin(&mgr, &create_coupon(), json!({ "i": pct })).await;
    let sale = data(&r)["couponCreate"]["coupon"].clone();
    assert_eq!(
        (
            &sale["percentOff"],
            &sale["amountOff"],
            &sale["maxDiscount"],
            &sale["description"]
        ),
        (&json!(10), &Value::Null, &json!(3000), &json!("최대 3,000원"))
    );
    assert_eq!(sale["endsAt"], "2099-01-01T00:00:00+09:00");
    let cart = app.cart(&[(&v[0], 2)]).await;
    let r = app.gql(APPLY, json!({ "t": cart, "c": "sale-10" })).await;
    assert_eq!(
        data(&r)["cartCouponApply"]["cart"]["discount"],
        3000,
        "10% of 60,000 capped at 3,000"
    );

    // Switched off by an update: the cart no longer takes it.
    let off = json!({ "code": "SALE-10", "name": "10% 할인", "kind": "PERCENT", "percentOff": 10, "active": false });
    let r = app
        .admin(&mgr, &update_coupon(), json!({ "id": sale["id"], "i": off }))
        .await;
    assert_eq!(data(&r)["couponUpdate"]["coupon"]["active"], false, "{r}");
    assert_eq!(
        data(&r)["couponUpdate"]["coupon"]["maxDiscount"],
        Value::Null,
        "an update replaces the terms"
    );
    let cart = app.cart(&[(&v[0], 1)]).await;
    let r = app.gql(APPLY, json!({ "t": cart, "c": "SALE-10" })).await;
    let refused = data(&r)["cartCouponApply"]["userErrors"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(refused.starts_with("COUPON_"), "{r}");

    // Renaming onto another coupon's code is a duplicate.
    let r = app
        .admin(
            &mgr,
            &update_coupon(),
            json!({ "id": sale["id"], "i": fixed("welcome-5000", 100) }),
        )
        .await;
    assert_eq!(
        errors(&r, "couponUpdate"),
        vec![("ALREADY_EXISTS".to_owned(), json!(["code"]))]
    );

    // Every write is audited.
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE action LIKE 'coupon.%' ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .expect("audit");
    assert_eq!(actions, vec!["coupon.create", "coupon.create", "coupon.update"]);
}

#[tokio::test]
async fn a_used_coupon_is_switched_off_not_deleted() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "used", &[(30000, 100)], false).await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let r = app
        .admin(&owner, &create_coupon(), json!({ "i": fixed("ONCE-1000", 1000) }))
        .await;
    let used = data(&r)["couponCreate"]["coupon"]["id"].clone();
    let r = app
        .admin(&owner, &create_coupon(), json!({ "i": fixed("UNUSED", 1000) }))
        .await;
    let unused = data(&r)["couponCreate"]["coupon"]["id"].clone();

    let cart = app.cart(&[(&v[0], 1)]).await;
    let r = app.gql(APPLY, json!({ "t": cart, "c": "ONCE-1000" })).await;
    assert_eq!(data(&r)["cartCouponApply"]["userErrors"], json!([]));
    let r = app
        .gql(CHECKOUT, json!({ "t": cart, "i": checkout_input("buyer@example.com") }))
        .await;
    assert_eq!(data(&r)["checkoutComplete"]["userErrors"], json!([]), "{r}");

    let q = "query($id: ID!) { coupon(id: $id) { usedCount } }";
    let r = app.admin(&owner, q, json!({ "id": used })).await;
    assert_eq!(data(&r)["coupon"]["usedCount"], 1);

    // A limit below the uses so far is refused; at them, it is taken.
    let mut limited = fixed("ONCE-1000", 1000);
    limited["usageLimit"] = json!(1);
    let r = app
        .admin(&owner, &update_coupon(), json!({ "id": used, "i": limited }))
        .await;
    assert_eq!(data(&r)["couponUpdate"]["coupon"]["usageLimit"], 1, "{r}");

    let r = app.admin(&owner, DELETE_COUPON, json!({ "id": used })).await;
    let p = &data(&r)["couponDelete"];
    assert_eq!(
        (&p["deletedId"], &p["userErrors"][0]["code"]),
        (&Value::Null, &json!("INVALID_INPUT"))
    );
    assert_eq!(p["userErrors"][0]["field"], json!(["id"]));
    let r = app.admin(&owner, q, json!({ "id": used })).await;
    assert_eq!(data(&r)["coupon"]["usedCount"], 1, "still there");

    let r = app.admin(&owner, DELETE_COUPON, json!({ "id": unused })).await;
    assert_eq!(
        data(&r)["couponDelete"],
        json!({ "deletedId": unused, "userErrors": [] })
    );
    let r = app.admin(&owner, DELETE_COUPON, json!({ "id": unused })).await;
    assert_eq!(data(&r)["couponDelete"]["userErrors"][0]["code"], "NOT_FOUND");
    let r = app.admin(&owner, q, json!({ "id": unused })).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn coupons_and_gift_rules_page_and_filter() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "gift", &[(1000, 10)], false).await;
    let mgr = staff_session(&app.pool, "mgr@jangteo.kr", Role::Manager).await;
    for (i, active) in [true, false, true, true, false].into_iter().enumerate() {
        let mut input = fixed(&format!("PAGE-{i}"), 1000);
        input["active"] = json!(active);
        input["name"] = json!(format!("쿠폰 {i}"));
        let r = app.admin(&mgr, &create_coupon(), json!({ "i": input })).await;
        assert_eq!(errors(&r, "couponCreate"), vec![]);
    }
    let q = "query($a: String, $f: CouponFilter) { coupons(first: 2, after: $a, filter: $f) {
        totalCount edges { cursor node { code } } pageInfo { hasNextPage endCursor } } }";
    let mut seen = Vec::new();
    let mut after = Value::Null;
    loop {
        let r = app.admin(&mgr, q, json!({ "a": after })).await;
        let c = &data(&r)["coupons"];
        assert_eq!(c["totalCount"], 5);
        seen.extend(
            c["edges"]
                .as_array()
                .expect("edges")
                .iter()
                .map(|e| e["node"]["code"].clone()),
        );
        if c["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = c["pageInfo"]["endCursor"].clone();
    }
    assert_eq!(
        seen,
        vec!["PAGE-4", "PAGE-3", "PAGE-2", "PAGE-1", "PAGE-0"],
        "newest first, each once"
    );
    let r = app.admin(&mgr, q, json!({ "f": { "active": false } })).await;
    assert_eq!(data(&r)["coupons"]["totalCount"], 2);
    let r = app.admin(&mgr, q, json!({ "f": { "search": "쿠폰 3" } })).await;
    assert_eq!(data(&r)["coupons"]["edges"][0]["node"]["code"], "PAGE-3");
    let r = app.admin(&mgr, q, json!({ "a": "not-a-cursor" })).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "INVALID_CURSOR");

    for i in 0..3 {
        let r = app
            .admin(
                &mgr,
                &create_gift(),
                json!({ "i": { "name": format!("사은품 {i}"), "giftVariantId": v[0] } }),
            )
            .await;
        assert_eq!(errors(&r, "giftRuleCreate"), vec![], "{r}");
    }
    let q = "query($a: String) { giftRules(first: 2, after: $a) { totalCount nodes { name giftVariant { sku } }
        pageInfo { hasNextPage endCursor } } }";
    let r = app.admin(&mgr, q, json!({})).await;
    let page = &data(&r)["giftRules"];
    assert_eq!(
        (&page["totalCount"], &page["pageInfo"]["hasNextPage"]),
        (&json!(3), &json!(true))
    );
    assert_eq!(
        page["nodes"][0],
        json!({ "name": "사은품 2", "giftVariant": { "sku": "GIFT-0" } })
    );
    let r = app.admin(&mgr, q, json!({ "a": page["pageInfo"]["endCursor"] })).await;
    assert_eq!(
        data(&r)["giftRules"]["nodes"],
        json!([{ "name": "사은품 0", "giftVariant": { "sku": "GIFT-0" } }])
    );
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // one story, told in order
async fn gift_rules_are_saved_the_way_the_cart_applies_them() {
    let app = TestApp::spawn().await;
    let goods = product_with_stock(&app.pool, "shake", &[(30000, 100)], false).await;
    let gift = product_with_stock(&app.pool, "sample", &[(1000, 10)], false).await;
    let mgr = staff_session(&app.pool, "mgr@jangteo.kr", Role::Manager).await;
    let product: String =
        sqlx::query_scalar("SELECT 'prd_' || replace(id::text, '-', '') FROM products WHERE slug = 'shake'")
            .fetch_one(&app.pool)
            .await
            .expect("product");
    sqlx::query("UPDATE products SET published = false WHERE slug = 'sample'")
        .execute(&app.pool)
        .await
        .expect("draft");

    let input = json!({ "name": "쉐이크 사은품", "minSubtotal": 50000, "requiredProductId": product,
        "giftVariantId": gift[0], "giftQuantity": 2, "channel": "PC_WEB",
        "startsAt": "2026-01-01T00:00:00+09:00", "endsAt": "2099-01-01T00:00:00+09:00" });
    let r = app.admin(&mgr, &create_gift(), json!({ "i": input })).await;
    let rule = data(&r)["giftRuleCreate"]["giftRule"].clone();
    assert_eq!(errors(&r, "giftRuleCreate"), vec![], "{r}");
    assert_eq!(
        (
            &rule["requiredProduct"],
            &rule["giftVariant"],
            &rule["giftQuantity"],
            &rule["channel"],
            &rule["minSubtotal"]
        ),
        (
            &json!({ "slug": "shake", "published": true }),
            &json!({ "sku": "SAMPLE-0" }),
            &json!(2),
            &json!("PC_WEB"),
            &json!(50000)
        )
    );

    // The cart takes it once its conditions hold (PC_WEB, ₩50,000, the shake).
    let small = app.cart(&[(&goods[0], 1)]).await;
    assert_eq!(
        cart_lines(&app, &small).await.as_array().map(Vec::len),
        Some(1),
        "₩30,000 is below the minimum"
    );
    let big = app.cart(&[(&goods[0], 2)]).await;
    assert_eq!(
        cart_lines(&app, &big).await[1],
        json!({ "sku": "SAMPLE-0", "quantity": 2, "isGift": true })
    );

    let bad: Vec<(Value, &str, &str)> = vec![
        (
            json!({ "name": "수량", "giftVariantId": gift[0], "giftQuantity": 0 }),
            "INVALID_INPUT",
            "giftQuantity",
        ),
        (
            json!({ "name": "금액", "giftVariantId": gift[0], "minSubtotal": -5 }),
            "INVALID_INPUT",
            "minSubtotal",
        ),
        (
            json!({ "name": "기간", "giftVariantId": gift[0], "startsAt": "2026-12-10T00:00:00+09:00",
                 "endsAt": "2026-12-10T00:00:00+09:00" }),
            "INVALID_INPUT",
            "endsAt",
        ),
        (
            json!({ "name": "없음", "giftVariantId": "var_0193a0a0a0a07a0a8a0a0a0a0a0a0a0a" }),
            "NOT_FOUND",
            "",
        ),
        (
            json!({ "name": "없음", "giftVariantId": gift[0], "requiredProductId": "prd_0193a0a0a0a07a0a8a0a0a0a0a0a0a0a" }),
            "NOT_FOUND",
            "",
        ),
        (json!({ "name": "아이디", "giftVariantId": "nope" }), "INVALID_ID", ""),
    ];
    for (input, code, field) in bad {
        let r = app.admin(&mgr, &create_gift(), json!({ "i": input })).await;
        let got = errors(&r, "giftRuleCreate");
        assert_eq!(got.first().map(|e| e.0.as_str()), Some(code), "{input}: {r}");
        if !field.is_empty() {
            assert_eq!(got[0].1, json!([field]), "{input}");
        }
    }

    // Switched off by an update, then deleted: the cart no longer takes it.
    let off = json!({ "name": "쉐이크 사은품", "giftVariantId": gift[0], "active": false });
    let q = "mutation($id: ID!, $i: GiftRuleInput!) { giftRuleUpdate(id: $id, input: $i) { giftRule { active channel requiredProduct { slug } } userErrors { code } } }";
    let r = app.admin(&mgr, q, json!({ "id": rule["id"], "i": off })).await;
    assert_eq!(
        data(&r)["giftRuleUpdate"]["giftRule"],
        json!({ "active": false, "channel": null, "requiredProduct": null })
    );
    assert_eq!(cart_lines(&app, &big).await.as_array().map(Vec::len), Some(1));
    let r = app
        .admin(
            &mgr,
            q,
            json!({ "id": "gft_0193a0a0a0a07a0a8a0a0a0a0a0a0a0a", "i": off }),
        )
        .await;
    assert_eq!(data(&r)["giftRuleUpdate"]["userErrors"][0]["code"], "NOT_FOUND");
    let del = "mutation($id: ID!) { giftRuleDelete(id: $id) { deletedId userErrors { code } } }";
    let r = app.admin(&mgr, del, json!({ "id": rule["id"] })).await;
    assert_eq!(
        data(&r)["giftRuleDelete"],
        json!({ "deletedId": rule["id"], "userErrors": [] })
    );
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM gift_rules")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(n, 0, "the refused ones were never saved, the update did not insert");
    let actions: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit_log WHERE action LIKE 'gift_rule.%' ORDER BY id")
            .fetch_all(&app.pool)
            .await
            .expect("audit");
    assert_eq!(
        actions,
        vec!["gift_rule.create", "gift_rule.update", "gift_rule.delete"]
    );
}

#[tokio::test]
async fn only_managers_and_owners_write_promotions() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "roles", &[(1000, 10)], false).await;
    let mgr = staff_session(&app.pool, "mgr@jangteo.kr", Role::Manager).await;
    let r = app
        .admin(&mgr, &create_coupon(), json!({ "i": fixed("KEEP", 1000) }))
        .await;
    let coupon = data(&r)["couponCreate"]["coupon"]["id"].clone();
    let r = app
        .admin(
            &mgr,
            &create_gift(),
            json!({ "i": { "name": "사은품", "giftVariantId": v[0] } }),
        )
        .await;
    let rule = data(&r)["giftRuleCreate"]["giftRule"]["id"].clone();
    for (i, role) in [Role::Cs, Role::Bot].into_iter().enumerate() {
        let token = staff_session(&app.pool, &format!("r{i}@jangteo.kr"), role).await;
        let writes = [
            ("couponCreate", create_coupon(), json!({ "i": fixed("NOPE", 1000) })),
            (
                "couponUpdate",
                update_coupon(),
                json!({ "id": coupon, "i": fixed("NOPE", 1000) }),
            ),
            ("couponDelete", DELETE_COUPON.to_owned(), json!({ "id": coupon })),
            (
                "giftRuleCreate",
                create_gift(),
                json!({ "i": { "name": "x", "giftVariantId": v[0] } }),
            ),
            (
                "giftRuleDelete",
                "mutation($id: ID!) { giftRuleDelete(id: $id) { userErrors { code } } }".to_owned(),
                json!({ "id": rule }),
            ),
        ];
        for (op, q, vars) in writes {
            let r = app.admin(&token, &q, vars).await;
            assert_eq!(data(&r)[op]["userErrors"][0]["code"], "FORBIDDEN", "{role:?} {op}: {r}");
        }
        // Reading is open to every role: CS answers customers about their coupons.
        let r = app
            .admin(&token, "{ coupons { totalCount } giftRules { totalCount } }", json!({}))
            .await;
        assert_eq!(data(&r)["coupons"]["totalCount"], 1, "{role:?}: {r}");
        assert_eq!(data(&r)["giftRules"]["totalCount"], 1);
    }
    let r = app.admin(&mgr, "{ coupons { nodes { code } } }", json!({})).await;
    assert_eq!(
        data(&r)["coupons"]["nodes"],
        json!([{ "code": "KEEP" }]),
        "nothing changed"
    );
}

#[tokio::test]
async fn a_members_only_coupon_is_set_by_staff_and_refused_to_guests() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "members-goods", &[(30000, 10)], false).await;
    let mgr = staff_session(&app.pool, "mgr@jangteo.kr", Role::Manager).await;
    let q =
        "mutation($i: CouponInput!) { couponCreate(input: $i) { coupon { code membersOnly } userErrors { code } } }";
    let mut input = fixed("MEMBERS-3000", 3000);
    input["membersOnly"] = json!(true);
    let r = app.admin(&mgr, q, json!({ "i": input })).await;
    assert_eq!(
        data(&r)["couponCreate"]["coupon"],
        json!({ "code": "MEMBERS-3000", "membersOnly": true })
    );
    let r = app.admin(&mgr, q, json!({ "i": fixed("EVERYONE-3000", 3000) })).await;
    assert_eq!(
        data(&r)["couponCreate"]["coupon"]["membersOnly"],
        false,
        "off unless asked"
    );

    let cart = app.cart(&[(&v[0], 1)]).await;
    let r = app.gql(APPLY, json!({ "t": cart, "c": "MEMBERS-3000" })).await;
    assert_eq!(data(&r)["cartCouponApply"]["userErrors"][0]["code"], "COUPON_INVALID");
    let r = app.gql(APPLY, json!({ "t": cart, "c": "EVERYONE-3000" })).await;
    assert_eq!(data(&r)["cartCouponApply"]["cart"]["discount"], 3000);
}
