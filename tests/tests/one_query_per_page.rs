//! The pages a Korean D2C shop needs, each built with exactly one GraphQL request: the
//! storefront's layout, product, cart and order pages, and the back office's dashboard and
//! order list. Every field a page shows is there, and non-null where the page relies on it.

use commerce::staff::Role;
use jangteo_tests::{CHECKOUT, TestApp, checkout_input, data, staff_session};
use serde_json::{Value, json};

const LAYOUT: &str = "query Layout($t: String!) {
  shop { name currency shippingFee freeShippingOver remoteAreas { name fee } bankTransferDueDays paymentMethods
         business { companyName ceo registrationNumber mailOrderNumber address phone email privacyOfficer } }
  me { email }
  cart(token: $t) { totalQuantity }
}";

const PRODUCT_PAGE: &str = "query ProductPage($slug: String!, $sel: [SelectedOptionInput!]!) {
  shop { name freeShippingOver }
  product(slug: $slug) {
    id name description priceFrom images { url alt } category { name slug }
    options { name values }
    variants { id sku name price compareAtPrice stockStatus quantityAvailable options { name value } image { url } }
    variantBySelectedOptions(selectedOptions: $sel) { id sku price stockStatus }
  }
}";

const CART_PAGE: &str = "query CartPage($t: String!) {
  cart(token: $t) {
    token channel totalQuantity subtotal discount shippingFee shippingBaseFee remoteAreaFee total
    freeShippingRemaining
    coupon { code name discount }
    giftProgress { ruleName remaining }
    warnings { code amount message }
    lines { id quantity unitPrice compareAtPrice lineTotal isGift quantityAvailable
            variant { id sku name stockStatus image { url alt } product { slug name } } }
  }
}";

const ORDER_PAGE: &str = "query OrderPage($n: String!, $e: String!) {
  orderByNumber(number: $n, email: $e) {
    number status channel paymentMethod createdAt subtotal discount shippingFee total canCancel
    deliveryNote
    shippingAddress { recipient phone zonecode roadAddress jibunAddress buildingName detailAddress }
    lines { id productName variantName sku quantity unitPrice lineTotal
            variant { id sku } product { slug name images { url } } }
    shipments { carrier { code name } trackingNumber trackingUrl shippedAt deliveredAt }
    refunds { amount reason status createdAt }
    timeline { status at }
  }
}";

const DASHBOARD: &str = "query Dashboard {
  orderCounts { status count }
  products(first: 20, filter: { published: false }) { totalCount nodes { id name published
           variants { sku stockStatus quantityAvailable } } }
  coupons(first: 20) { totalCount nodes { code name } }
  customers(first: 20) { totalCount nodes { email tier maskedFields } }
}";

const ORDER_LIST: &str = "query OrderList($f: OrderFilterInput) {
  orders(first: 20, filter: $f, sort: { field: CREATED_AT, direction: DESC }) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id number status channel paymentMethod total ordererName depositorName createdAt updatedAt
            staffMemo maskedFields allowedTransitions
            customer { id } payments { amount status } shipments { trackingNumber trackingUrl }
            lines { productName quantity } }
  }
}";

/// One request, no errors: the page's data.
async fn page(app: &TestApp, query: &str, vars: Value) -> Value {
    let r = app.gql(query, vars).await;
    data(&r).clone()
}

fn won(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("a Won amount, got {v}"))
}

#[tokio::test]
async fn storefront_pages_take_one_request_each() {
    let app = TestApp::demo().await;
    let choco_id = product_page(&app).await;
    let token = cart_page(&app, &choco_id).await;
    layout(&app, &token).await;
    order_page(&app, &token).await;
}

async fn product_page(app: &TestApp) -> String {
    // Product page: options, the variant the shopper picked, public stock, images.
    let body = page(
        app,
        PRODUCT_PAGE,
        json!({ "slug": "original-meal-shake", "sel": [{ "name": "맛", "value": "바닐라" }] }),
    )
    .await;
    let product = &body["product"];
    assert_eq!(
        product["options"],
        json!([{ "name": "맛", "values": ["초코", "바닐라", "곡물"] }])
    );
    assert_eq!(product["variantBySelectedOptions"]["sku"], "OMS-VANILLA");
    assert_eq!(product["variantBySelectedOptions"]["stockStatus"], "IN_STOCK");
    assert!(product["images"][0]["url"].is_string() && product["category"]["slug"].is_string());
    let choco = &product["variants"][0];
    assert_eq!((won(&choco["price"]), won(&choco["compareAtPrice"])), (3500, 3900));
    assert!(
        choco["image"]["url"].is_string(),
        "a variant has an image for the cart: {choco}"
    );
    choco["id"].as_str().expect("variant id").to_owned()
}

async fn cart_page(app: &TestApp, choco_id: &str) -> String {
    // Cart page: thumbnails and product links, the coupon, gift progress, fee split.
    // The demo's WELCOME10: 10% from ₩30,000.
    let token = app.cart(&[(choco_id, 10)]).await;
    let r = app
        .gql(
            "mutation($t: String!) { cartCouponApply(token: $t, code: \"WELCOME10\") { userErrors { code } } }",
            json!({ "t": token }),
        )
        .await;
    assert_eq!(data(&r)["cartCouponApply"]["userErrors"], json!([]));
    let body = page(app, CART_PAGE, json!({ "t": token })).await;
    let cart = &body["cart"];
    assert_eq!(cart["channel"], "PC_WEB");
    assert_eq!(won(&cart["subtotal"]), 35_000);
    assert_eq!(cart["coupon"]["code"], "WELCOME10");
    assert_eq!(won(&cart["coupon"]["discount"]), 3_500);
    assert_eq!(
        won(&cart["shippingFee"]),
        won(&cart["shippingBaseFee"]) + won(&cart["remoteAreaFee"])
    );
    assert!(cart["giftProgress"].is_array());
    let line = &cart["lines"][0];
    assert_eq!(won(&line["compareAtPrice"]), 3_900);
    assert_eq!(line["variant"]["product"]["slug"], "original-meal-shake");
    assert!(line["variant"]["image"]["url"].is_string());

    token
}

async fn layout(app: &TestApp, token: &str) {
    // Layout: a guest's `me` is null and the rest of the request still answers.
    let body = page(app, LAYOUT, json!({ "t": token })).await;
    assert_eq!(body["me"], Value::Null);
    assert_eq!(body["cart"]["totalQuantity"], 10);
    let business = &body["shop"]["business"];
    for field in [
        "companyName",
        "ceo",
        "registrationNumber",
        "mailOrderNumber",
        "address",
        "phone",
        "email",
        "privacyOfficer",
    ] {
        assert!(
            business[field].as_str().is_some_and(|s| !s.is_empty()),
            "footer {field}: {body}"
        );
    }
    assert_eq!(body["shop"]["paymentMethods"], json!(["BANK_TRANSFER"]));
    assert!(
        body["shop"]["remoteAreas"]
            .as_array()
            .is_some_and(|a| a.iter().any(|r| r["name"] == "제주"))
    );
}

async fn order_page(app: &TestApp, token: &str) {
    // Order page, for the guest who placed it, after the shop has shipped it.
    let r = app
        .gql(CHECKOUT, json!({ "t": token, "i": checkout_input("page@example.com") }))
        .await;
    let order = data(&r)["checkoutComplete"]["order"].clone();
    let number = order["number"].as_str().expect("number").to_owned();
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let r = app
        .admin(
            &owner,
            "mutation($n: String!, $a: Won!) { orderMarkDeposited(orderNumber: $n, amount: $a) { userErrors { code } } }",
            json!({ "n": number, "a": order["total"] }),
        )
        .await;
    assert_eq!(data(&r)["orderMarkDeposited"]["userErrors"], json!([]));
    let r = app
        .admin(
            &owner,
            "mutation($n: String!) { shipmentCreate(orderNumber: $n, carrier: \"CJ\", trackingNumber: \"6012-3456-7890\") { userErrors { code } } }",
            json!({ "n": number }),
        )
        .await;
    assert_eq!(data(&r)["shipmentCreate"]["userErrors"], json!([]));
    let body = page(app, ORDER_PAGE, json!({ "n": number, "e": "page@example.com" })).await;
    let o = &body["orderByNumber"];
    assert_eq!(
        (o["status"].as_str(), o["channel"].as_str()),
        (Some("SHIPPED"), Some("PC_WEB"))
    );
    assert_eq!(o["paymentMethod"], "BANK_TRANSFER");
    assert_eq!(o["canCancel"], false, "shipped orders are returned, not cancelled");
    assert_eq!(o["deliveryNote"], Value::Null, "absent, not an empty string");
    assert_eq!(o["lines"][0]["product"]["slug"], "original-meal-shake");
    assert_eq!(o["lines"][0]["variant"]["sku"], "OMS-CHOCO");
    let shipment = &o["shipments"][0];
    assert_eq!(shipment["carrier"], json!({ "code": "CJ", "name": "CJ대한통운" }));
    assert_eq!(
        shipment["trackingUrl"],
        "https://trace.cjlogistics.com/next/tracking.html?wblNo=601234567890"
    );
    assert!(shipment["shippedAt"].is_string() && shipment["deliveredAt"].is_null());
    let timeline: Vec<&str> = o["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|t| t["status"].as_str())
        .collect();
    assert_eq!(
        timeline,
        ["PENDING_PAYMENT", "AWAITING_DEPOSIT", "PAID", "PREPARING", "SHIPPED"]
    );
    assert!(
        o["timeline"]
            .as_array()
            .is_some_and(|t| t.iter().all(|e| e.get("note").is_none()))
    );
}

#[tokio::test]
async fn back_office_pages_take_one_request_each() {
    let app = TestApp::demo().await;
    sqlx::query("UPDATE products SET published = false WHERE slug = 'original-meal-shake'")
        .execute(&app.pool)
        .await
        .expect("draft");
    sqlx::query(
        "INSERT INTO coupons (id, code, name, kind, value) VALUES (gen_random_uuid(), 'SPRING3000', '봄맞이', 'FIXED', 3000)",
    )
    .execute(&app.pool)
    .await
    .expect("coupon");
    let variant: (uuid::Uuid,) = sqlx::query_as("SELECT id FROM variants WHERE sku = 'GMP-6PK'")
        .fetch_one(&app.pool)
        .await
        .expect("variant");
    let variant = format!("var_{}", variant.0.simple());
    for i in 0..3 {
        let token = app.cart(&[(&variant, 2)]).await;
        let mut input = checkout_input(&format!("buyer{i}@example.com"));
        input["depositorName"] = json!(format!("홍길동{i}"));
        let r = app.gql(CHECKOUT, json!({ "t": token, "i": input })).await;
        assert_eq!(data(&r)["checkoutComplete"]["userErrors"], json!([]));
    }
    let manager = staff_session(&app.pool, "manager@jangteo.kr", Role::Manager).await;

    let r = app.admin(&manager, DASHBOARD, json!({})).await;
    let d = data(&r);
    let awaiting = d["orderCounts"]
        .as_array()
        .expect("counts")
        .iter()
        .find(|c| c["status"] == "AWAITING_DEPOSIT")
        .map(|c| c["count"].clone());
    assert_eq!(awaiting, Some(json!(3)));
    assert_eq!(
        d["orderCounts"].as_array().map(Vec::len),
        Some(11),
        "every status, zeros included"
    );
    let drafts = d["products"]["nodes"].as_array().expect("drafts");
    assert!(
        drafts
            .iter()
            .any(|p| p["name"] == "오리지널 식사대용 쉐이크" && p["published"] == false)
    );
    assert!(
        drafts[0]["variants"][0]["quantityAvailable"].is_number(),
        "staff see exact stock"
    );
    assert!(
        d["coupons"]["nodes"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["code"] == "SPRING3000"))
    );

    let r = app
        .admin(
            &manager,
            ORDER_LIST,
            json!({ "f": { "statuses": ["AWAITING_DEPOSIT"], "paymentMethod": "BANK_TRANSFER" } }),
        )
        .await;
    let list = &data(&r)["orders"];
    assert_eq!(list["totalCount"], 3);
    let first = &list["nodes"][0];
    assert_eq!(
        first["depositorName"], "홍길동2",
        "newest first, with the payer to match deposits"
    );
    assert_eq!(first["paymentMethod"], "BANK_TRANSFER");
    assert_eq!(first["maskedFields"], json!([]), "a manager sees personal data");
    assert!(
        first["allowedTransitions"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("PAID")))
    );
    assert_eq!(first["customer"], Value::Null, "a guest order");
    assert!(won(&first["total"]) > 0 && first["updatedAt"].is_string());
}
