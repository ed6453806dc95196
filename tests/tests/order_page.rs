//! The storefront order page and what a customer can do from it, over HTTP: lines that link
//! to their product, parcels with tracking, refunds, a timeline without staff notes, cancel
//! with a refund account, returns within the 7-day withdrawal period; checkout with a
//! depositor name or a saved address; `me` for guests, `me { order }`, token renewal.
#![allow(clippy::many_single_char_names)] // v, o, p, r: variants, order, payload, response

use commerce::{
    Won,
    ids::OrderId,
    order::{self, Actor, Transition},
    shipping::create_shipment,
    staff::{self, Principal, Role},
    types::{Email, NewPassword},
};
use jangteo_tests::{CHECKOUT, Options, TestApp, checkout_input, data, product_with_stock, staff_session};
use serde_json::{Value, json};

const ORDER_PAGE: &str = "query($n: String!, $e: String!) { orderByNumber(number: $n, email: $e) {
    number status canCancel canRequestReturn returnDeadline deliveryNote paymentMethod channel total refunded
    shippingAddress { jibunAddress buildingName detailAddress }
    lines { id productName unitPrice lineTotal variant { id sku } product { slug name } }
    shipments { carrier { code name } trackingNumber trackingUrl shippedAt deliveredAt }
    refunds { amount reason status createdAt }
    timeline { status at }
    returnRequests { reason lineIds }
    history { actor note toStatus } } }";

const CANCEL: &str = "mutation($i: OrderCancelInput!) { orderCancel(input: $i) {
    order { status canCancel refunds { amount reason status } } userErrors { field code } } }";

const RETURN: &str = "mutation($i: OrderReturnRequestInput!) { orderReturnRequest(input: $i) {
    order { status canRequestReturn returnRequests { reason lineIds } timeline { status } } userErrors { field code message } } }";

const SIGN_UP: &str =
    "mutation($i: CustomerSignUpInput!) { customerSignUp(input: $i) { customer { id } userErrors { code } } }";
const LOGIN: &str = "mutation($e: String!) { customerLogin(email: $e, password: \"jangteo1234!\") {
    accessToken expiresAt userErrors { code } } }";
const RENEW: &str = "mutation { customerTokenRenew { accessToken expiresAt userErrors { code } } }";

/// A signed-up, signed-in customer: their access token and the login payload.
async fn customer(app: &TestApp, email: &str) -> (String, Value) {
    let input = json!({
        "email": email, "password": "jangteo1234!", "name": "김민지", "mobile": "010-9876-5432",
        "termsAccepted": true, "privacyAccepted": true
    });
    let r = app.gql(SIGN_UP, json!({ "i": input })).await;
    assert_eq!(data(&r)["customerSignUp"]["userErrors"], json!([]), "{r}");
    let r = app.gql(LOGIN, json!({ "e": email })).await;
    let p = data(&r)["customerLogin"].clone();
    (p["accessToken"].as_str().expect("token").to_owned(), p)
}

/// A guest order of `qty` units of `variant`, with `extra` merged into the checkout input.
async fn place(app: &TestApp, token: Option<&str>, variant: &str, email: &str, extra: Value) -> Value {
    let cart = app.cart(&[(variant, 2)]).await;
    let mut input = checkout_input(email);
    if let (Some(i), Some(e)) = (input.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            if v.is_null() {
                i.remove(k);
            } else {
                i.insert(k.clone(), v.clone());
            }
        }
    }
    let vars = json!({ "t": cart, "i": input });
    let r = match token {
        Some(t) => app.gql_as(t, CHECKOUT, vars).await,
        None => app.gql(CHECKOUT, vars).await,
    };
    data(&r)["checkoutComplete"].clone()
}

/// A staff member who may do everything, for moving orders along with `commerce` directly.
async fn owner(app: &TestApp) -> Principal {
    let email = Email::parse("owner@jangteo.kr").expect("email");
    let password = NewPassword::parse("correct-horse-7").expect("password");
    let s = staff::create(&app.pool, &email, "대표", Role::Owner, &password)
        .await
        .expect("staff");
    Principal::new(s.id, Role::Owner)
}

fn id_of(o: &Value) -> OrderId {
    o["id"].as_str().expect("order id").parse().expect("an order id")
}

async fn pay(app: &TestApp, by: Principal, o: &Value) {
    let total = Won::new(o["total"].as_i64().expect("total")).expect("won");
    order::confirm_deposit(&app.pool, id_of(o), total, by.id)
        .await
        .expect("paid");
}

/// Paid, shipped with CJ and delivered.
async fn deliver(app: &TestApp, by: Principal, o: &Value, tracking: &str) {
    pay(app, by, o).await;
    create_shipment(&app.pool, by, id_of(o), "CJ", tracking, None)
        .await
        .expect("shipped");
    let mut tx = app.pool.begin().await.expect("tx");
    order::transition(&mut tx, id_of(o), Transition::Deliver, Actor::Staff(by.id), "")
        .await
        .expect("delivered");
    tx.commit().await.expect("commit");
}

async fn page(app: &TestApp, o: &Value, email: &str) -> Value {
    let r = app.gql(ORDER_PAGE, json!({ "n": o["number"], "e": email })).await;
    data(&r)["orderByNumber"].clone()
}

/// Moves the delivery of an order `days` back in time.
async fn delivered_days_ago(app: &TestApp, o: &Value, days: i32) {
    sqlx::query(
        "UPDATE order_history SET created_at = now() - make_interval(days => $2)
          WHERE order_id = $1 AND to_status = 'DELIVERED'",
    )
    .bind(id_of(o).0)
    .bind(days)
    .execute(&app.pool)
    .await
    .expect("backdate");
}

#[tokio::test]
async fn the_order_page_links_lines_tracks_parcels_and_hides_staff_notes() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "shake", &[(15000, 10)], false).await;
    let by = owner(&app).await;
    let o = place(&app, None, &v[0], "page@example.com", json!({ "deliveryNote": null })).await["order"].clone();
    let p = page(&app, &o, "page@example.com").await;
    assert_eq!(
        (p["status"].clone(), p["canCancel"].clone()),
        (json!("AWAITING_DEPOSIT"), json!(true))
    );
    assert_eq!(p["deliveryNote"], Value::Null, "absent, not \"\"");
    assert_eq!(
        (p["paymentMethod"].clone(), p["channel"].clone()),
        (json!("BANK_TRANSFER"), json!("PC_WEB"))
    );
    assert_eq!(p["shippingAddress"]["buildingName"], "강남파이낸스센터");
    let line = &p["lines"][0];
    assert_eq!(line["variant"]["id"], v[0]);
    assert_eq!(line["product"]["slug"], "shake");
    assert_eq!(line["unitPrice"], 15000);
    assert_eq!((p["shipments"].clone(), p["refunds"].clone()), (json!([]), json!([])));
    assert_eq!(p["returnDeadline"], Value::Null);

    deliver(&app, by, &o, "6012-3456-7890").await;
    sqlx::query("UPDATE order_history SET note = '고객 블랙리스트 확인' WHERE order_id = $1")
        .bind(id_of(&o).0)
        .execute(&app.pool)
        .await
        .expect("staff note");
    let p = page(&app, &o, "page@example.com").await;
    assert_eq!(p["status"], "DELIVERED");
    assert_eq!(p["canCancel"], false, "shipped: only a return now");
    assert_eq!(p["canRequestReturn"], true);
    assert!(p["returnDeadline"].is_string());
    let s = &p["shipments"][0];
    assert_eq!(s["carrier"], json!({ "code": "CJ", "name": "CJ대한통운" }));
    assert_eq!(s["trackingNumber"], "601234567890");
    assert_eq!(
        s["trackingUrl"],
        "https://trace.cjlogistics.com/next/tracking.html?wblNo=601234567890"
    );
    assert!(s["shippedAt"].is_string() && s["deliveredAt"].is_string(), "{s}");
    let steps: Vec<&str> = p["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|t| t["status"].as_str().expect("status"))
        .collect();
    assert_eq!(
        steps,
        [
            "PENDING_PAYMENT",
            "AWAITING_DEPOSIT",
            "PAID",
            "PREPARING",
            "SHIPPED",
            "DELIVERED"
        ]
    );
    assert!(
        p["timeline"]
            .as_array()
            .expect("timeline")
            .iter()
            .all(|t| t["at"].is_string())
    );
    let leaked = p.to_string();
    assert!(!leaked.contains("블랙리스트") && !leaked.contains("staff:"), "{leaked}");

    // The product is deleted since: the line keeps its snapshot, its links go null.
    sqlx::query("DELETE FROM products WHERE slug = 'shake'")
        .execute(&app.pool)
        .await
        .expect("delete");
    let p = page(&app, &o, "page@example.com").await;
    let line = &p["lines"][0];
    assert_eq!(
        (line["variant"].clone(), line["product"].clone()),
        (Value::Null, Value::Null)
    );
    assert_eq!(line["productName"], "테스트 상품 shake");
}

#[tokio::test]
async fn a_return_is_asked_for_within_seven_days_of_delivery_by_the_orderer_only() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "ret", &[(20000, 10)], false).await;
    let by = owner(&app).await;
    let o = place(&app, None, &v[0], "ret@example.com", json!({})).await["order"].clone();
    let line = page(&app, &o, "ret@example.com").await["lines"][0]["id"].clone();
    let ask = |email: &str, lines: Value| json!({ "i": { "number": o["number"], "email": email, "reason": "단순 변심", "lineIds": lines } });
    let err = |r: &Value| data(r)["orderReturnRequest"]["userErrors"][0].clone();

    let r = app.gql(RETURN, ask("ret@example.com", json!([line]))).await;
    assert_eq!(err(&r)["code"], "INVALID_STATE", "not delivered yet");

    deliver(&app, by, &o, "601234567891").await;
    // A wrong e-mail learns nothing about the number.
    let r = app.gql(RETURN, ask("someone@example.com", json!([line]))).await;
    assert_eq!(err(&r)["code"], "NOT_FOUND");
    let r = app
        .gql(
            RETURN,
            json!({ "i": { "number": "20990101-000001", "email": "ret@example.com", "reason": "x", "lineIds": [line] } }),
        )
        .await;
    assert_eq!(err(&r)["code"], "NOT_FOUND");
    let r = app.gql(RETURN, ask("ret@example.com", json!([]))).await;
    assert_eq!(
        (err(&r)["code"].clone(), err(&r)["field"].clone()),
        (json!("INVALID_INPUT"), json!(["lineIds"]))
    );
    let other = "oln_0193a0b0c0d07e8f9a0b1c2d3e4f5a6b";
    let r = app.gql(RETURN, ask("ret@example.com", json!([other]))).await;
    assert_eq!(
        (err(&r)["code"].clone(), err(&r)["field"].clone()),
        (json!("INVALID_INPUT"), json!(["lineIds"]))
    );

    // Nine days after delivery the period is over; nothing changed.
    delivered_days_ago(&app, &o, 9).await;
    let r = app.gql(RETURN, ask("ret@example.com", json!([line]))).await;
    assert_eq!(err(&r)["code"], "RETURN_PERIOD_OVER");
    let p = page(&app, &o, "ret@example.com").await;
    assert_eq!(
        (p["status"].clone(), p["canRequestReturn"].clone()),
        (json!("DELIVERED"), json!(false))
    );

    // Six days after: the order moves, the lines are kept, the customer sees their reason.
    delivered_days_ago(&app, &o, 6).await;
    let r = app.gql(RETURN, ask("RET@example.com", json!([line, line]))).await;
    let p = &data(&r)["orderReturnRequest"];
    assert_eq!(p["userErrors"], json!([]), "{r}");
    assert_eq!(p["order"]["status"], "RETURN_REQUESTED");
    assert_eq!(
        p["order"]["returnRequests"],
        json!([{ "reason": "단순 변심", "lineIds": [line] }])
    );
    assert_eq!(
        p["order"]["timeline"].as_array().and_then(|t| t.last()),
        Some(&json!({ "status": "RETURN_REQUESTED" }))
    );
    let h = page(&app, &o, "ret@example.com").await["history"].clone();
    let last = h.as_array().and_then(|h| h.last()).expect("history");
    assert_eq!(
        (last["note"].clone(), last["actor"].clone()),
        (json!("단순 변심"), Value::Null)
    );
    let rows: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM return_request_lines l JOIN return_requests r ON r.id = l.return_request_id
          WHERE r.order_id = $1 AND r.actor = 'guest'",
    )
    .bind(id_of(&o).0)
    .fetch_one(&app.pool)
    .await
    .expect("rows");
    assert_eq!(rows, 1);
    // Asked twice: the state machine refuses.
    let r = app.gql(RETURN, ask("ret@example.com", json!([line]))).await;
    assert_eq!(err(&r)["code"], "INVALID_STATE");
}

#[tokio::test]
async fn a_guest_cancelling_a_paid_bank_transfer_names_the_refund_account() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "can", &[(10000, 10)], false).await;
    let by = owner(&app).await;
    let o = place(&app, None, &v[0], "can@example.com", json!({})).await["order"].clone();
    pay(&app, by, &o).await;
    let cancel = |account: Value| json!({ "i": { "number": o["number"], "email": "can@example.com", "reason": "주소 오류", "refundAccount": account } });
    let err = |r: &Value| {
        let e = &data(r)["orderCancel"]["userErrors"][0];
        (e["code"].clone(), e["field"].clone())
    };
    let r = app.gql(CANCEL, cancel(Value::Null)).await;
    assert_eq!(err(&r), (json!("INVALID_INPUT"), json!(["refundAccount"])));
    let r = app
        .gql(
            CANCEL,
            cancel(json!({ "bank": "국민은행", "number": "12-34", "holder": "홍길동" })),
        )
        .await;
    assert_eq!(err(&r), (json!("INVALID_INPUT"), json!(["refundAccount", "number"])));
    let status: String = sqlx::query_scalar("SELECT status FROM orders WHERE id = $1")
        .bind(id_of(&o).0)
        .fetch_one(&app.pool)
        .await
        .expect("status");
    assert_eq!(status, "PAID", "nothing changed");

    let r = app
        .gql(
            CANCEL,
            cancel(json!({ "bank": "국민은행", "number": "123456-01-234567", "holder": "홍길동" })),
        )
        .await;
    let p = &data(&r)["orderCancel"];
    assert_eq!(p["userErrors"], json!([]), "{r}");
    assert_eq!(p["order"]["status"], "CANCELLED");
    assert_eq!(p["order"]["canCancel"], false);
    assert_eq!(
        p["order"]["refunds"],
        json!([{ "amount": o["total"], "reason": "주소 오류", "status": "PENDING" }])
    );
    assert!(!r.to_string().contains("123456"), "the account is for staff only");
    let (bank, number, holder): (String, String, String) =
        sqlx::query_as("SELECT account_bank, account_number, account_holder FROM refunds WHERE order_id = $1")
            .bind(id_of(&o).0)
            .fetch_one(&app.pool)
            .await
            .expect("refund row");
    assert_eq!(
        (bank.as_str(), number.as_str(), holder.as_str()),
        ("국민은행", "12345601234567", "홍길동")
    );
    // Staff, who send the money back, read the account; the bot reads it masked.
    let q = "query($n: String!) { order(number: $n) { refunds { account { bank number holder } } } }";
    let manager = staff_session(&app.pool, "mgr@jangteo.kr", Role::Manager).await;
    let r = app.admin(&manager, q, json!({ "n": o["number"] })).await;
    assert_eq!(
        data(&r)["order"]["refunds"][0]["account"],
        json!({ "bank": "국민은행", "number": "12345601234567", "holder": "홍길동" })
    );
    let bot = staff_session(&app.pool, "bot@jangteo.kr", Role::Bot).await;
    let r = app.admin(&bot, q, json!({ "n": o["number"] })).await;
    assert!(!r.to_string().contains("12345601234567"), "masked for the bot: {r}");

    // An unpaid order needs no account, and one given is not kept.
    let o = place(&app, None, &v[0], "can@example.com", json!({})).await["order"].clone();
    let r = app
        .gql(
            CANCEL,
            json!({ "i": { "number": o["number"], "email": "can@example.com",
                           "refundAccount": { "bank": "국민은행", "number": "1234567890", "holder": "홍길동" } } }),
        )
        .await;
    assert_eq!(data(&r)["orderCancel"]["order"]["refunds"], json!([]));
}

#[tokio::test]
async fn a_bank_transfer_keeps_the_depositor_name_defaulting_to_the_orderer() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "dep", &[(10000, 10)], false).await;
    let depositor = |o: &Value| {
        let id = id_of(o).0;
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, Option<String>>("SELECT depositor_name FROM orders WHERE id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .expect("row")
        }
    };
    let p = place(
        &app,
        None,
        &v[0],
        "d@example.com",
        json!({ "depositorName": " 김입금 " }),
    )
    .await;
    assert_eq!(p["userErrors"], json!([]), "{p}");
    assert_eq!(depositor(&p["order"]).await.as_deref(), Some("김입금"));
    let p = place(&app, None, &v[0], "d@example.com", json!({})).await;
    assert_eq!(
        depositor(&p["order"]).await.as_deref(),
        Some("홍길동"),
        "the orderer's name"
    );
    let p = place(
        &app,
        None,
        &v[0],
        "d@example.com",
        json!({ "depositorName": "가".repeat(21) }),
    )
    .await;
    assert_eq!(p["order"], Value::Null);
    assert_eq!(p["userErrors"][0]["field"], json!(["depositorName"]));
    assert_eq!(p["userErrors"][0]["code"], "INVALID_INPUT");
}

#[tokio::test]
async fn checkout_ships_to_a_saved_address_of_the_signed_in_customer_only() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "adr", &[(10000, 20)], false).await;
    let (alice, _) = customer(&app, "alice@example.com").await;
    let (bob, _) = customer(&app, "bob@example.com").await;
    let add = "mutation($i: AddressFields!) { customerAddressAdd(input: $i) { address { id } userErrors { code } } }";
    let saved = json!({ "recipient": "이수진", "phone": "010-2222-3333", "zonecode": "63309",
                        "roadAddress": "제주특별자치도 제주시 첨단로 242" });
    let r = app.gql_as(&alice, add, json!({ "i": saved })).await;
    let address = data(&r)["customerAddressAdd"]["address"]["id"].clone();
    let by_id = json!({ "shippingAddress": null, "shippingAddressId": address });

    let p = place(&app, Some(&alice), &v[0], "alice@example.com", by_id.clone()).await;
    assert_eq!(p["userErrors"], json!([]), "{p}");
    let o = page(&app, &p["order"], "alice@example.com").await;
    assert_eq!(
        o["shippingAddress"],
        json!({ "jibunAddress": null, "buildingName": null, "detailAddress": null })
    );
    let road: String = sqlx::query_scalar("SELECT road_address FROM orders WHERE id = $1")
        .bind(id_of(&p["order"]).0)
        .fetch_one(&app.pool)
        .await
        .expect("row");
    assert_eq!(road, "제주특별자치도 제주시 첨단로 242");

    let code = |p: &Value| (p["userErrors"][0]["code"].clone(), p["order"].is_null());
    let p = place(&app, Some(&bob), &v[0], "bob@example.com", by_id.clone()).await;
    assert_eq!(code(&p), (json!("NOT_FOUND"), true), "someone else's address");
    let p = place(&app, None, &v[0], "guest@example.com", by_id).await;
    assert_eq!(
        code(&p),
        (json!("UNAUTHENTICATED"), true),
        "a guest has no saved address"
    );
    let p = place(
        &app,
        Some(&alice),
        &v[0],
        "alice@example.com",
        json!({ "shippingAddressId": address }),
    )
    .await;
    assert_eq!(code(&p), (json!("INVALID_INPUT"), true), "both");
    assert_eq!(p["userErrors"][0]["field"], json!(["shippingAddress"]));
    let p = place(
        &app,
        Some(&alice),
        &v[0],
        "alice@example.com",
        json!({ "shippingAddress": null }),
    )
    .await;
    assert_eq!(code(&p), (json!("INVALID_INPUT"), true), "neither");
}

#[tokio::test]
async fn me_is_null_for_a_guest_and_the_rest_of_the_page_still_loads() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "lay", &[(10000, 5)], false).await;
    let cart = app.cart(&[(&v[0], 1)]).await;
    let q = "query($t: String!) { shop { name } me { email } cart(token: $t) { token } }";
    let r = app.gql(q, json!({ "t": cart })).await;
    let d = data(&r);
    assert_eq!(d["me"], Value::Null);
    assert_eq!(d["cart"]["token"], cart.as_str());
    assert!(d["shop"]["name"].is_string());

    // A dead token is said so (the client drops it), and the page still loads.
    let r = app.gql_as("not-a-token", q, json!({ "t": cart })).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{r}");
    assert_eq!(r["errors"][0]["path"], json!(["me"]));
    assert_eq!(r["data"]["me"], Value::Null);
    assert_eq!(r["data"]["cart"]["token"], cart.as_str());
}

#[tokio::test]
async fn me_order_by_number_is_the_owners_only() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "mine", &[(10000, 5)], false).await;
    let (alice, _) = customer(&app, "alice@example.com").await;
    let (bob, _) = customer(&app, "bob@example.com").await;
    let o = place(&app, Some(&alice), &v[0], "alice@example.com", json!({})).await["order"].clone();
    let q = "query($n: String!) { me { order(number: $n) { number status canCancel lines { product { slug } } } } }";
    let r = app.gql_as(&alice, q, json!({ "n": o["number"] })).await;
    assert_eq!(data(&r)["me"]["order"]["number"], o["number"]);
    assert_eq!(data(&r)["me"]["order"]["lines"][0]["product"]["slug"], "mine");
    let r = app.gql_as(&bob, q, json!({ "n": o["number"] })).await;
    assert_eq!(r["data"]["me"]["order"], Value::Null);
    assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn a_token_is_renewed_with_a_new_expiry_and_the_old_one_stops_working() {
    let app = TestApp::spawn().await;
    let (old, login) = customer(&app, "renew@example.com").await;
    let expires = chrono::DateTime::parse_from_rfc3339(login["expiresAt"].as_str().expect("expiresAt")).expect("time");
    let days = (expires.to_utc() - chrono::Utc::now()).num_days();
    let session_days = commerce::Settings::defaults().customers.session_days;
    assert!((session_days - 1..=session_days).contains(&days), "{days} days");

    let r = app.gql_as(&old, RENEW, json!({})).await;
    let p = data(&r)["customerTokenRenew"].clone();
    assert_eq!(p["userErrors"], json!([]));
    let new = p["accessToken"].as_str().expect("token");
    assert_ne!(new, old);
    let renewed = chrono::DateTime::parse_from_rfc3339(p["expiresAt"].as_str().expect("expiresAt")).expect("time");
    assert!(renewed >= expires);

    let me = "{ me { email } }";
    let r = app.gql_as(new, me, json!({})).await;
    assert_eq!(data(&r)["me"]["email"], "renew@example.com");
    let r = app.gql_as(&old, me, json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let r = app.gql_as(&old, RENEW, json!({})).await;
    assert_eq!(
        data(&r)["customerTokenRenew"]["userErrors"][0]["code"],
        "UNAUTHENTICATED"
    );
    assert_eq!(data(&r)["customerTokenRenew"]["accessToken"], Value::Null);
    let r = app.gql(RENEW, json!({})).await;
    assert_eq!(
        data(&r)["customerTokenRenew"]["userErrors"][0]["code"],
        "UNAUTHENTICATED"
    );
}

#[tokio::test]
async fn a_page_of_twenty_orders_costs_what_a_page_of_two_does() {
    let app = TestApp::spawn_with(Options {
        count_statements: true,
        ..Options::default()
    })
    .await;
    let v = product_with_stock(&app.pool, "many", &[(10000, 100)], false).await;
    let by = owner(&app).await;
    let (token, _) = customer(&app, "many@example.com").await;
    let q = "{ me { orders(first: 20) { nodes { number canCancel shipments { trackingUrl carrier { name } }
        refunds { amount } timeline { status } lines { variant { sku } product { slug } } } } } }";
    let mut costs = Vec::new();
    for n in [2, 20] {
        loop {
            let r = app.gql_as(&token, q, json!({})).await;
            let have = data(&r)["me"]["orders"]["nodes"].as_array().expect("orders").len();
            if have == n {
                break;
            }
            let o = place(&app, Some(&token), &v[0], "many@example.com", json!({})).await["order"].clone();
            if have == 0 {
                deliver(&app, by, &o, "601234567800").await;
            }
        }
        let counter = app.counter.clone().expect("counting");
        let before = counter.get();
        let r = app.gql_as(&token, q, json!({})).await;
        costs.push(counter.get() - before);
        let nodes = data(&r)["me"]["orders"]["nodes"].as_array().expect("orders").clone();
        assert_eq!(nodes.len(), n);
        assert!(
            nodes
                .iter()
                .any(|o| o["shipments"][0]["carrier"]["name"] == "CJ대한통운")
        );
    }
    assert_eq!(costs[0], costs[1], "statements for 2 and for 20 orders: {costs:?}");
}
