//! Customers over HTTP: sign-up, login with throttling, sessions, merging carts,
//! addresses, `me`; and carts: adding costs two statements, stock and quantity rules.

use jangteo_tests::{CART_CREATE, CHECKOUT, Options, TestApp, checkout_input, data, product_with_stock, uuid_of};
use reqwest::Method;
use serde_json::{Value, json};

const SIGN_UP: &str = "mutation($i: CustomerSignUpInput!) { customerSignUp(input: $i) {
    customer { id email name mobile tier points marketingEmail marketingSms } userErrors { field code message } } }";
const LOGIN: &str =
    "mutation($e: String!, $p: String!, $c: String) { customerLogin(email: $e, password: $p, cartToken: $c) {
    accessToken customer { email } cart { token lines { sku quantity } } userErrors { code message } } }";

fn sign_up_input(email: &str) -> Value {
    json!({
        "email": email, "password": "jangteo1234!", "name": "김민지", "mobile": "010 9876 5432",
        "termsAccepted": true, "privacyAccepted": true, "marketingSms": true
    })
}

async fn gql_as(app: &TestApp, token: &str, query: &str, vars: Value) -> Value {
    app.request(Method::POST, "/graphql")
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": vars }))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json")
}

async fn login(app: &TestApp, email: &str, password: &str, cart: Option<&str>) -> Value {
    app.gql(LOGIN, json!({ "e": email, "p": password, "c": cart })).await
}

#[tokio::test]
async fn sign_up_normalises_and_validates() {
    let app = TestApp::spawn().await;
    let r = app
        .gql(SIGN_UP, json!({ "i": sign_up_input(" MinJi@Example.com ") }))
        .await;
    let c = &data(&r)["customerSignUp"]["customer"];
    assert_eq!(c["email"], "minji@example.com");
    assert_eq!(c["mobile"], "010-9876-5432");
    assert_eq!(
        (c["marketingEmail"].clone(), c["marketingSms"].clone()),
        (json!(false), json!(true))
    );
    let (hash, sms_at): (String, Option<chrono::DateTime<chrono::Utc>>) =
        sqlx::query_as("SELECT password_hash, marketing_sms_at FROM customers")
            .fetch_one(&app.pool)
            .await
            .expect("row");
    assert!(hash.starts_with("$argon2id$"), "argon2id, never the password");
    assert!(sms_at.is_some(), "consent time recorded");
    let stored: String = sqlx::query_scalar("SELECT mobile FROM customers")
        .fetch_one(&app.pool)
        .await
        .expect("mobile");
    assert_eq!(stored, "01098765432");

    let r = app
        .gql(SIGN_UP, json!({ "i": sign_up_input("minji@example.com") }))
        .await;
    assert_eq!(data(&r)["customerSignUp"]["userErrors"][0]["code"], "ALREADY_EXISTS");
    for (field, value) in [
        ("password", json!("short1")),
        ("password", json!("onlyletters")),
        ("mobile", json!("02-123-4567")),
        ("email", json!("nobody")),
        ("termsAccepted", json!(false)),
        ("name", json!(" ")),
    ] {
        let mut i = sign_up_input("new@example.com");
        i[field] = value;
        let r = app.gql(SIGN_UP, json!({ "i": i })).await;
        let e = &data(&r)["customerSignUp"]["userErrors"][0];
        assert_eq!(e["code"], "INVALID_INPUT", "{field}");
        assert_eq!(e["field"], json!([field]), "{field}");
    }
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(n, 1);
}

#[tokio::test]
async fn login_me_and_logout() {
    let app = TestApp::spawn().await;
    data(&app.gql(SIGN_UP, json!({ "i": sign_up_input("me@example.com") })).await);
    let r = login(&app, "ME@example.com", "jangteo1234!", None).await;
    let token = data(&r)["customerLogin"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let stored: Vec<u8> = sqlx::query_scalar("SELECT token_hash FROM customer_sessions")
        .fetch_one(&app.pool)
        .await
        .expect("hash");
    assert_ne!(stored, token.as_bytes(), "tokens are stored hashed");
    let me = "{ me { email name mobile tier points addresses { id } orders(first: 5) { nodes { number } } } }";
    let r = gql_as(&app, &token, me, json!({})).await;
    assert_eq!(data(&r)["me"]["name"], "김민지");
    let r = app.gql(me, json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let r = gql_as(&app, "forged", me, json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let r = gql_as(
        &app,
        &token,
        "mutation { customerLogout { ok userErrors { code } } }",
        json!({}),
    )
    .await;
    assert_eq!(data(&r)["customerLogout"]["ok"], true);
    let r = gql_as(&app, &token, me, json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "revoked");
}

#[tokio::test]
async fn unknown_email_and_wrong_password_look_alike_and_failures_lock() {
    let app = TestApp::spawn().await;
    data(
        &app.gql(SIGN_UP, json!({ "i": sign_up_input("lock@example.com") }))
            .await,
    );
    let unknown = login(&app, "nobody@example.com", "whatever12", None).await;
    let wrong = login(&app, "lock@example.com", "whatever12", None).await;
    let (u, w) = (
        &data(&unknown)["customerLogin"]["userErrors"][0],
        &data(&wrong)["customerLogin"]["userErrors"][0],
    );
    assert_eq!(u, w, "the same answer for both");
    assert_eq!(u["code"], "INVALID_CREDENTIALS");
    for _ in 0..4 {
        login(&app, "lock@example.com", "whatever12", None).await;
    }
    // Five failures: even the right password is refused for a while.
    let r = login(&app, "lock@example.com", "jangteo1234!", None).await;
    assert_eq!(data(&r)["customerLogin"]["userErrors"][0]["code"], "TOO_MANY_ATTEMPTS");
    assert!(data(&r)["customerLogin"]["accessToken"].is_null());
    // The lock lifts when the failures age out of the window.
    sqlx::query("UPDATE login_failures SET at = at - interval '16 minutes'")
        .execute(&app.pool)
        .await
        .expect("age");
    let r = login(&app, "lock@example.com", "jangteo1234!", None).await;
    assert!(data(&r)["customerLogin"]["accessToken"].is_string());
    // Per IP: many accounts from one address.
    for i in 0..20 {
        login(&app, &format!("spray{i}@example.com"), "whatever12", None).await;
    }
    let r = login(&app, "lock@example.com", "jangteo1234!", None).await;
    assert_eq!(data(&r)["customerLogin"]["userErrors"][0]["code"], "TOO_MANY_ATTEMPTS");
}

#[tokio::test]
async fn login_merges_the_anonymous_cart_capped_by_stock() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "merge", &[(5000, 5), (3000, 50)], false).await;
    data(
        &app.gql(SIGN_UP, json!({ "i": sign_up_input("cart@example.com") }))
            .await,
    );
    // The customer's own cart from another device: 3 of A.
    let r = login(&app, "cart@example.com", "jangteo1234!", None).await;
    let token = data(&r)["customerLogin"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let r = gql_as(
        &app,
        &token,
        CART_CREATE,
        json!({ "lines": [{ "variantId": v[0], "quantity": 3 }] }),
    )
    .await;
    let own = data(&r)["cartCreate"]["cart"]["token"]
        .as_str()
        .expect("cart")
        .to_owned();
    // Anonymous: 4 of A (only 5 exist) and 2 of B.
    let anon = app.cart(&[(&v[0], 4), (&v[1], 2)]).await;
    let r = login(&app, "cart@example.com", "jangteo1234!", Some(&anon)).await;
    let cart = &data(&r)["customerLogin"]["cart"];
    assert_eq!(cart["token"], own.as_str());
    let mut lines: Vec<(String, i64)> = cart["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| {
            (
                l["sku"].as_str().expect("sku").to_owned(),
                l["quantity"].as_i64().expect("qty"),
            )
        })
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        vec![("MERGE-0".to_owned(), 5), ("MERGE-1".to_owned(), 2)],
        "3 + 4 capped at the 5 in stock"
    );
    let r = app
        .gql("query($t: String!) { cart(token: $t) { total } }", json!({ "t": anon }))
        .await;
    assert_eq!(
        r["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "the anonymous cart is merged away"
    );
    // Their order shows up under me.orders.
    let r = app
        .gql(CHECKOUT, json!({ "t": own, "i": checkout_input("cart@example.com") }))
        .await;
    let number = data(&r)["checkoutComplete"]["order"]["number"].clone();
    let r = gql_as(
        &app,
        &token,
        "{ me { orders(first: 10) { nodes { number } } cart { token } } }",
        json!({}),
    )
    .await;
    assert_eq!(data(&r)["me"]["orders"]["nodes"][0]["number"], number);
    assert!(data(&r)["me"]["cart"].is_null(), "emptied by checkout");
}

#[tokio::test]
async fn addresses_keep_one_default() {
    let app = TestApp::spawn().await;
    data(
        &app.gql(SIGN_UP, json!({ "i": sign_up_input("addr@example.com") }))
            .await,
    );
    let r = login(&app, "addr@example.com", "jangteo1234!", None).await;
    let token = data(&r)["customerLogin"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let add = "mutation($i: AddressFields!, $d: Boolean) { customerAddressAdd(input: $i, default: $d) {
                 address { id phone zonecode isDefault } userErrors { code field } } }";
    let address = |zone: &str| {
        json!({ "recipient": "김민지", "phone": "02-123-4567", "zonecode": zone,
        "roadAddress": "서울특별시 중구 세종대로 110", "jibunAddress": "서울특별시 중구 태평로1가 31", "detailAddress": "3층" })
    };
    let r = gql_as(&app, &token, add, json!({ "i": address("04524") })).await;
    let first = data(&r)["customerAddressAdd"]["address"].clone();
    assert_eq!(
        (first["isDefault"].clone(), first["phone"].clone()),
        (json!(true), json!("02-123-4567"))
    );
    let r = gql_as(&app, &token, add, json!({ "i": address("63100"), "d": true })).await;
    let second = data(&r)["customerAddressAdd"]["address"].clone();
    assert_eq!(second["isDefault"], true);
    let r = gql_as(&app, &token, "{ me { addresses { id isDefault } } }", json!({})).await;
    let list = data(&r)["me"]["addresses"].as_array().expect("list").clone();
    assert_eq!(list.iter().filter(|a| a["isDefault"] == true).count(), 1);
    assert_eq!(list[0]["id"], second["id"], "default first");
    let r = gql_as(&app, &token, add, json!({ "i": address("123") })).await;
    assert_eq!(
        data(&r)["customerAddressAdd"]["userErrors"][0]["field"],
        json!(["zonecode"])
    );
    let del = "mutation($id: ID!) { customerAddressDelete(id: $id) { deletedId userErrors { code } } }";
    let r = gql_as(&app, &token, del, json!({ "id": second["id"] })).await;
    assert_eq!(data(&r)["customerAddressDelete"]["deletedId"], second["id"]);
    let r = gql_as(&app, &token, "{ me { addresses { id isDefault } } }", json!({})).await;
    assert_eq!(
        data(&r)["me"]["addresses"],
        json!([{ "id": first["id"], "isDefault": true }]),
        "the other becomes default"
    );
    // Someone else's address is not found.
    let r = app.gql(del, json!({ "id": first["id"] })).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
}

#[tokio::test]
async fn adding_to_a_cart_checks_stock_and_costs_two_statements() {
    let app = TestApp::spawn_with(Options {
        count_statements: true,
        ..Options::default()
    })
    .await;
    let v = product_with_stock(&app.pool, "add", &[(4000, 5), (6000, 0)], false).await;
    let token = app.cart(&[]).await;
    let add = "mutation($t: String!, $l: [CartLineInput!]!) { cartLinesAdd(token: $t, lines: $l) {
                 cart { subtotal lines { id sku quantity } } userErrors { field code message } } }";
    let counter = app.counter.clone().expect("counting");
    let before = counter.get();
    let r = app
        .gql(add, json!({ "t": token, "l": [{ "variantId": v[0], "quantity": 2 }] }))
        .await;
    assert_eq!(data(&r)["cartLinesAdd"]["cart"]["subtotal"], 8000);
    let cost = counter.get() - before;
    assert!(cost <= 5, "add to cart took {cost} statements");
    assert_eq!(cost, 2);
    // Quantities add up and must stay within stock; a refused add changes nothing.
    let r = app
        .gql(add, json!({ "t": token, "l": [{ "variantId": v[0], "quantity": 4 }] }))
        .await;
    let p = &data(&r)["cartLinesAdd"];
    assert_eq!(p["userErrors"][0]["code"], "OUT_OF_STOCK");
    assert!(
        p["userErrors"][0]["message"].as_str().expect("msg").contains('5'),
        "says how many can be bought"
    );
    let r = app
        .gql(
            add,
            json!({ "t": token, "l": [{ "variantId": v[0], "quantity": 1 }, { "variantId": v[1], "quantity": 1 }] }),
        )
        .await;
    assert_eq!(data(&r)["cartLinesAdd"]["userErrors"][0]["code"], "OUT_OF_STOCK");
    let r = app
        .gql(
            "query($t: String!) { cart(token: $t) { lines { sku quantity } } }",
            json!({ "t": token }),
        )
        .await;
    assert_eq!(
        data(&r)["cart"]["lines"],
        json!([{ "sku": "ADD-0", "quantity": 2 }]),
        "all or nothing"
    );
    for (variant, qty, code) in [
        (json!("var_00000000000000000000000000000000"), 1, "NOT_FOUND"),
        (json!("prd_00000000000000000000000000000000"), 1, "INVALID_ID"),
        (json!(v[0]), 0, "INVALID_INPUT"),
        (json!(v[0]), 1000, "INVALID_INPUT"),
    ] {
        let r = app
            .gql(
                add,
                json!({ "t": token, "l": [{ "variantId": variant, "quantity": qty }] }),
            )
            .await;
        assert_eq!(
            data(&r)["cartLinesAdd"]["userErrors"][0]["code"],
            code,
            "{variant} × {qty}"
        );
    }
    let r = app
        .gql(add, json!({ "t": "nope", "l": [{ "variantId": v[0], "quantity": 1 }] }))
        .await;
    assert_eq!(data(&r)["cartLinesAdd"]["userErrors"][0]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn updating_and_removing_lines_and_stock_warnings() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "upd", &[(4000, 5), (1000, 9)], false).await;
    let token = app.cart(&[(&v[0], 4), (&v[1], 1)]).await;
    let r = app
        .gql(
            "query($t: String!) { cart(token: $t) { lines { id sku } } }",
            json!({ "t": token }),
        )
        .await;
    let ids: Vec<String> = data(&r)["cart"]["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| l["id"].as_str().expect("id").to_owned())
        .collect();
    // Stock falls below the line's quantity: a warning, and lowering the quantity is allowed.
    sqlx::query("UPDATE variants SET allocated = 3 WHERE id = $1")
        .bind(uuid_of(&v[0]))
        .execute(&app.pool)
        .await
        .expect("update");
    let r = app
        .gql(
            "query($t: String!) { cart(token: $t) { warnings { code lineId message } } }",
            json!({ "t": token }),
        )
        .await;
    let w = &data(&r)["cart"]["warnings"][0];
    assert_eq!(
        (w["code"].clone(), w["lineId"].clone()),
        (json!("LOW_STOCK"), json!(ids[0]))
    );
    let upd = "mutation($t: String!, $l: [CartLineUpdateInput!]!) { cartLinesUpdate(token: $t, lines: $l) {
                 cart { lines { sku quantity } warnings { code } } userErrors { code field } } }";
    let r = app
        .gql(upd, json!({ "t": token, "l": [{ "lineId": ids[0], "quantity": 5 }] }))
        .await;
    assert_eq!(
        data(&r)["cartLinesUpdate"]["userErrors"][0]["code"],
        "OUT_OF_STOCK",
        "raising is not the fix"
    );
    let r = app
        .gql(upd, json!({ "t": token, "l": [{ "lineId": ids[0], "quantity": 2 }] }))
        .await;
    assert_eq!(data(&r)["cartLinesUpdate"]["cart"]["warnings"], json!([]));
    let r = app
        .gql(upd, json!({ "t": token, "l": [{ "lineId": ids[1], "quantity": 0 }] }))
        .await;
    assert_eq!(
        data(&r)["cartLinesUpdate"]["cart"]["lines"],
        json!([{ "sku": "UPD-0", "quantity": 2 }])
    );
    let rm = "mutation($t: String!, $ids: [ID!]!) { cartLinesRemove(token: $t, lineIds: $ids) { cart { lines { sku } } userErrors { code } } }";
    let r = app
        .gql(
            rm,
            json!({ "t": token, "ids": [ids[0], "cln_00000000000000000000000000000000"] }),
        )
        .await;
    assert_eq!(data(&r)["cartLinesRemove"]["userErrors"][0]["code"], "NOT_FOUND");
    let r = app.gql(rm, json!({ "t": token, "ids": [ids[0]] })).await;
    assert_eq!(data(&r)["cartLinesRemove"]["cart"]["lines"], json!([]));
    let r = app
        .gql(
            CHECKOUT,
            json!({ "t": token, "i": checkout_input("empty@example.com") }),
        )
        .await;
    assert_eq!(data(&r)["checkoutComplete"]["userErrors"][0]["code"], "CART_EMPTY");
}

#[tokio::test]
async fn staff_find_customers_by_email_name_or_mobile() {
    let app = TestApp::spawn().await;
    data(
        &app.gql(SIGN_UP, json!({ "i": sign_up_input("find@example.com") }))
            .await,
    );
    let cs = jangteo_tests::staff_session(&app.pool, "cs@jangteo.kr", commerce::staff::Role::Cs).await;
    let q = "query($s: String) { customers(search: $s) { nodes { email name mobile } } }";
    for s in ["FIND@", "김민", "9876-5432"] {
        let r = app.admin(&cs, q, json!({ "s": s })).await;
        assert_eq!(
            data(&r)["customers"]["nodes"],
            json!([{ "email": "find@example.com", "name": "김민지", "mobile": "010-9876-5432" }]),
            "{s}"
        );
    }
    let r = app.admin(&cs, q, json!({ "s": "nobody" })).await;
    assert_eq!(data(&r)["customers"]["nodes"], json!([]));
}
