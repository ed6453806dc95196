//! Shipping from the admin API: carriers as data, shipmentCreate with its tracking URL,
//! stock leaving the warehouse, bulk CSV import with per-row errors, tracking for customers.
#![allow(clippy::many_single_char_names)] // r, o, p, e, v: response, order, payload, error, variants

use commerce::staff::Role;
use jangteo_tests::{CHECKOUT, TestApp, checkout_input, data, product_with_stock, staff_session, uuid_of};
use serde_json::{Value, json};

const SHIP: &str = "mutation($id: ID!, $c: String!, $t: String!) { shipmentCreate(orderId: $id, carrier: $c, trackingNumber: $t) {
    shipment { carrier carrierName trackingNumber trackingUrl } order { status } trackingUrl userErrors { field code } } }";
const DEPOSIT: &str =
    "mutation($id: ID!, $a: Won!) { orderMarkDeposited(orderId: $id, amount: $a) { order { status } } }";

async fn paid_order(app: &TestApp, staff: &str, variant: &str, qty: i32) -> Value {
    let token = app.cart(&[(variant, qty)]).await;
    let r = app
        .gql(CHECKOUT, json!({ "t": token, "i": checkout_input("ship@example.com") }))
        .await;
    let o = data(&r)["checkoutComplete"]["order"].clone();
    let r = app
        .admin(staff, DEPOSIT, json!({ "id": o["id"], "a": o["total"] }))
        .await;
    assert_eq!(data(&r)["orderMarkDeposited"]["order"]["status"], "PAID");
    o
}

#[tokio::test]
async fn ship_an_order_and_track_it() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "box", &[(30000, 10)], false).await;
    let mgr = staff_session(&app.pool, "mgr@jangteo.kr", Role::Manager).await;
    let r = app
        .admin(&mgr, "{ carriers { code name trackingUrlTemplate } }", json!({}))
        .await;
    let codes: Vec<&str> = data(&r)["carriers"]
        .as_array()
        .expect("list")
        .iter()
        .map(|c| c["code"].as_str().expect("code"))
        .collect();
    assert_eq!(codes, ["CJ", "EPOST", "HANJIN", "LOTTE", "LOGEN"]);

    let o = paid_order(&app, &mgr, &v[0], 3).await;
    let r = app
        .admin(&mgr, SHIP, json!({ "id": o["id"], "c": "DHL", "t": "123456789012" }))
        .await;
    let e = &data(&r)["shipmentCreate"]["userErrors"][0];
    assert_eq!(
        (e["code"].clone(), e["field"].clone()),
        (json!("NOT_FOUND"), json!(["carrier"]))
    );
    let r = app
        .admin(&mgr, SHIP, json!({ "id": o["id"], "c": "CJ", "t": "12-34" }))
        .await;
    let e = &data(&r)["shipmentCreate"]["userErrors"][0];
    assert_eq!(
        (e["code"].clone(), e["field"].clone()),
        (json!("INVALID_INPUT"), json!(["trackingNumber"]))
    );
    let r = app
        .admin(&mgr, SHIP, json!({ "id": o["id"], "c": "cj", "t": "6012-3456-7890" }))
        .await;
    let p = &data(&r)["shipmentCreate"];
    assert_eq!(p["order"]["status"], "SHIPPED");
    assert_eq!(
        p["trackingUrl"],
        "https://trace.cjlogistics.com/next/tracking.html?wblNo=601234567890"
    );
    assert_eq!(p["shipment"]["carrierName"], "CJ대한통운");
    // The stock left the warehouse: on hand and allocated both dropped.
    let (on_hand, allocated): (i32, i32) = sqlx::query_as("SELECT on_hand, allocated FROM variants WHERE id = $1")
        .bind(uuid_of(&v[0]))
        .fetch_one(&app.pool)
        .await
        .expect("stock");
    assert_eq!((on_hand, allocated), (7, 0));
    // Shipped twice: refused by the state machine.
    let r = app
        .admin(&mgr, SHIP, json!({ "id": o["id"], "c": "CJ", "t": "601234567891" }))
        .await;
    assert_eq!(data(&r)["shipmentCreate"]["userErrors"][0]["code"], "INVALID_STATE");
    // The customer sees where the parcel is.
    let q = "query($n: String!, $e: String!) { orderByNumber(number: $n, email: $e) { status trackingUrl } }";
    let r = app.gql(q, json!({ "n": o["number"], "e": "ship@example.com" })).await;
    assert_eq!(data(&r)["orderByNumber"]["trackingUrl"], p["trackingUrl"]);
    // The bot may look, never ship.
    let bot = staff_session(&app.pool, "bot@jangteo.kr", Role::Bot).await;
    let o2 = paid_order(&app, &mgr, &v[0], 1).await;
    let r = app
        .admin(&bot, SHIP, json!({ "id": o2["id"], "c": "CJ", "t": "601234567892" }))
        .await;
    assert_eq!(data(&r)["shipmentCreate"]["userErrors"][0]["code"], "FORBIDDEN");
}

#[tokio::test]
async fn a_csv_import_ships_the_good_rows_and_reports_the_bad() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "bulk", &[(12000, 50)], false).await;
    let cs = staff_session(&app.pool, "cs@jangteo.kr", Role::Cs).await;
    let a = paid_order(&app, &cs, &v[0], 1).await;
    let b = paid_order(&app, &cs, &v[0], 1).await;
    let unpaid = {
        let token = app.cart(&[(&v[0], 1)]).await;
        let r = app
            .gql(CHECKOUT, json!({ "t": token, "i": checkout_input("u@example.com") }))
            .await;
        data(&r)["checkoutComplete"]["order"].clone()
    };
    let csv = format!(
        "주문번호,택배사,송장번호\n{},HANJIN,4123-4567-8901\n20990101-999999,CJ,601234567890\n{},NOPE,601234567891\n{},EPOST,1234567890123\n{},LOGEN,12345\n",
        a["number"].as_str().expect("a"),
        b["number"].as_str().expect("b"),
        unpaid["number"].as_str().expect("u"),
        b["number"].as_str().expect("b"),
    );
    let q = "mutation($csv: String!) { shipmentsImport(csv: $csv) { shipped failed rows { line orderNumber ok error { code } } } }";
    let r = app.admin(&cs, q, json!({ "csv": csv })).await;
    let p = &data(&r)["shipmentsImport"];
    assert_eq!((p["shipped"].clone(), p["failed"].clone()), (json!(1), json!(4)));
    let codes: Vec<Value> = p["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["error"]["code"].clone())
        .collect();
    assert_eq!(
        codes,
        [
            Value::Null,
            json!("NOT_FOUND"),
            json!("NOT_FOUND"),
            json!("INVALID_STATE"),
            json!("INVALID_INPUT")
        ]
    );
    assert_eq!(p["rows"][0]["line"], 2);
    let status: Vec<String> = sqlx::query_scalar("SELECT status FROM orders ORDER BY created_at")
        .fetch_all(&app.pool)
        .await
        .expect("status");
    assert_eq!(status, ["SHIPPED", "PAID", "AWAITING_DEPOSIT"]);
}

#[tokio::test]
async fn a_couriers_excel_export_imports_as_it_is() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "excel", &[(12000, 50)], false).await;
    let cs = staff_session(&app.pool, "cs@jangteo.kr", Role::Cs).await;
    let a = paid_order(&app, &cs, &v[0], 1).await;
    let b = paid_order(&app, &cs, &v[0], 1).await;
    let c = paid_order(&app, &cs, &v[0], 1).await;
    let number = |o: &Value| o["number"].as_str().expect("number").to_owned();
    // What Excel's "CSV UTF-8" writes: a BOM, CRLF, quotes around cells with commas or
    // quotes, the courier's own column order and extra columns, a blank row at the end.
    let csv = format!(
        "\u{feff}주문번호,\"받는 분\",주소,택배사,송장번호\r\n\
         {a},홍길동,\"서울시 강남구 테헤란로 1, 10층\",CJ,\"6012-3456-7890\"\r\n\
         {b},\"김 \"\"별\"\"\",\"부산, 해운대\",LOGEN,12345\r\n\
         {c},이순신,\"인천, 1층\",HANJIN,412345678901\r\n\
         ,,,,\r\n",
        a = number(&a),
        b = number(&b),
        c = number(&c),
    );
    let q = "mutation($csv: String!) { shipmentsImport(csv: $csv) { shipped failed
        rows { line orderNumber ok error { code field } } userErrors { code } } }";
    let r = app.admin(&cs, q, json!({ "csv": csv })).await;
    let p = &data(&r)["shipmentsImport"];
    assert_eq!(
        p["rows"],
        json!([
            { "line": 2, "orderNumber": number(&a), "ok": true, "error": null },
            { "line": 3, "orderNumber": number(&b), "ok": false,
              "error": { "code": "INVALID_INPUT", "field": ["trackingNumber"] } },
            { "line": 4, "orderNumber": number(&c), "ok": true, "error": null },
        ])
    );
    assert_eq!((p["shipped"].clone(), p["failed"].clone()), (json!(2), json!(1)));
    let tracking: Vec<String> = sqlx::query_scalar("SELECT tracking_number FROM shipments ORDER BY created_at")
        .fetch_all(&app.pool)
        .await
        .expect("shipments");
    assert_eq!(tracking, ["601234567890", "412345678901"]);
    // Without a header, the columns are order number, carrier, tracking number; LF ends.
    let d = paid_order(&app, &cs, &v[0], 1).await;
    let r = app
        .admin(
            &cs,
            q,
            json!({ "csv": format!("\"{}\",epost,\"1234567890123\"\n", number(&d)) }),
        )
        .await;
    assert_eq!(data(&r)["shipmentsImport"]["rows"][0]["ok"], true, "{r}");
}
