//! The demo's built-in secrets outside `serve --demo`: bank transfer to the demo account is
//! not offered (`serve` refusing the demo TOTP key is in `graphql/tests/cli.rs`).

use jangteo_tests::{CHECKOUT, Options, TestApp, checkout_input, data, product_with_stock};
use serde_json::json;

async fn checkout(app: &TestApp) -> serde_json::Value {
    let v = product_with_stock(&app.pool, "demo-secrets", &[(12000, 5)], false).await;
    let token = app.cart(&[(&v[0], 1)]).await;
    app.gql(
        CHECKOUT,
        json!({ "t": token, "i": checkout_input("buyer@example.com") }),
    )
    .await
}

#[tokio::test]
async fn bank_transfer_to_the_demo_account_is_refused_outside_demo() {
    let app = TestApp::spawn_with(Options {
        settings: Some(|s| s.demo = false),
        ..Options::default()
    })
    .await;
    let r = checkout(&app).await;
    let p = &data(&r)["checkoutComplete"];
    assert!(p["order"].is_null(), "{r}");
    assert_eq!(p["userErrors"][0]["code"], "PAYMENT_METHOD_UNAVAILABLE", "{r}");
    assert_eq!(p["userErrors"][0]["field"], json!(["paymentMethod"]), "{r}");
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(orders, 0, "nobody is told to pay into the demo account");
}

#[tokio::test]
async fn bank_transfer_works_with_the_shops_own_account_or_in_the_demo() {
    let app = TestApp::spawn_with(Options {
        settings: Some(|s| {
            s.demo = false;
            "999901-01-000003".clone_into(&mut s.bank_transfer.account_number);
        }),
        ..Options::default()
    })
    .await;
    let r = checkout(&app).await;
    let o = &data(&r)["checkoutComplete"]["order"];
    assert_eq!(o["bankTransfer"]["accountNumber"], "999901-01-000003", "{r}");

    let demo = TestApp::spawn().await; // as `serve --demo`
    let r = checkout(&demo).await;
    assert_eq!(
        data(&r)["checkoutComplete"]["order"]["status"],
        "AWAITING_DEPOSIT",
        "{r}"
    );
}
