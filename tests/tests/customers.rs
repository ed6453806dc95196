//! Customers over HTTP: sign-up, login with throttling, sessions, merging carts,
//! addresses, `me`; and carts: adding costs two statements, stock and quantity rules.
//! Logins under load: one pooled connection at a time; throttling per (e-mail, address).

use jangteo_tests::{CART_CREATE, CHECKOUT, Options, TestApp, checkout_input, data, product_with_stock, uuid_of};
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
    let r = app.gql_as(&token, me, json!({})).await;
    assert_eq!(data(&r)["me"]["name"], "김민지");
    // A guest is no one: `me` is null, without an error.
    let r = app.gql(me, json!({})).await;
    assert_eq!(data(&r)["me"], Value::Null);
    let r = app.gql_as("forged", me, json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let r = app
        .gql_as(
            &token,
            "mutation { customerLogout { ok userErrors { code } } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&r)["customerLogout"]["ok"], true);
    let r = app.gql_as(&token, me, json!({})).await;
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
    sqlx::query("UPDATE login_throttle SET first_at = first_at - interval '16 minutes'")
        .execute(&app.pool)
        .await
        .expect("age");
    let r = login(&app, "lock@example.com", "jangteo1234!", None).await;
    assert!(data(&r)["customerLogin"]["accessToken"].is_string());
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
    let r = app
        .gql_as(
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
    let r = app
        .gql_as(
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
    let r = app.gql_as(&token, add, json!({ "i": address("04524") })).await;
    let first = data(&r)["customerAddressAdd"]["address"].clone();
    assert_eq!(
        (first["isDefault"].clone(), first["phone"].clone()),
        (json!(true), json!("02-123-4567"))
    );
    let r = app
        .gql_as(&token, add, json!({ "i": address("63100"), "d": true }))
        .await;
    let second = data(&r)["customerAddressAdd"]["address"].clone();
    assert_eq!(second["isDefault"], true);
    let r = app
        .gql_as(&token, "{ me { addresses { id isDefault } } }", json!({}))
        .await;
    let list = data(&r)["me"]["addresses"].as_array().expect("list").clone();
    assert_eq!(list.iter().filter(|a| a["isDefault"] == true).count(), 1);
    assert_eq!(list[0]["id"], second["id"], "default first");
    let r = app.gql_as(&token, add, json!({ "i": address("123") })).await;
    assert_eq!(
        data(&r)["customerAddressAdd"]["userErrors"][0]["field"],
        json!(["zonecode"])
    );
    let del = "mutation($id: ID!) { customerAddressDelete(id: $id) { deletedId userErrors { code } } }";
    let r = app.gql_as(&token, del, json!({ "id": second["id"] })).await;
    assert_eq!(data(&r)["customerAddressDelete"]["deletedId"], second["id"]);
    let r = app
        .gql_as(&token, "{ me { addresses { id isDefault } } }", json!({}))
        .await;
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
    let q = "query($s: String) { customers(filter: {search: $s}) { nodes { email name mobile } } }";
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

/// Logs in as the client `client`, which the trusted proxy in front (127.0.0.1, see
/// [`behind_a_proxy`]) reports in `X-Forwarded-For`.
async fn login_from(app: &TestApp, client: &str, email: &str, password: &str) -> Value {
    login_at(&app.base, client, email, password).await
}

async fn login_at(base: &str, client: &str, email: &str, password: &str) -> Value {
    jangteo_tests::fakes::http_client()
        .post(format!("{base}/graphql"))
        .header("x-forwarded-for", client)
        .json(&json!({ "query": LOGIN, "variables": { "e": email, "p": password } }))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json")
}

fn behind_a_proxy(s: &mut commerce::Settings) {
    s.http.trusted_proxies = vec!["127.0.0.1/32".parse().expect("cidr")];
}

fn login_code(r: &Value) -> String {
    let p = &data(r)["customerLogin"];
    if p["accessToken"].is_string() {
        return "OK".into();
    }
    p["userErrors"][0]["code"].as_str().expect("a code").to_owned()
}

/// `n` customers `c{i}@example.com` sharing the password `jangteo1234!` (one sign-up over
/// HTTP, the rest copied in SQL: their hashes cost nothing here).
async fn customers(app: &TestApp, n: i32) {
    data(&app.gql(SIGN_UP, json!({ "i": sign_up_input("c0@example.com") })).await);
    sqlx::query(
        "INSERT INTO customers (id, email, password_hash, name, mobile, terms_agreed_at, privacy_agreed_at)
         SELECT gen_random_uuid(), 'c' || i || '@example.com', password_hash, name, mobile, now(), now()
           FROM customers, generate_series(1, $1 - 1) AS i",
    )
    .bind(n)
    .execute(&app.pool)
    .await
    .expect("copy customers");
}

const UNRELATED: &str = "{ shop { name } products(first: 1) { totalCount } }";

/// Runs `burst` while asking an unrelated storefront query over and over: every answer must
/// come within 2 s. Returns the burst's answers.
async fn while_serving_others<F>(app: &TestApp, burst: F) -> Vec<Value>
where
    F: Future<Output = Vec<Value>> + Send + 'static,
{
    let burst = tokio::spawn(burst);
    let mut probes = 0;
    while !burst.is_finished() {
        let started = std::time::Instant::now();
        let r = tokio::time::timeout(std::time::Duration::from_secs(2), app.gql(UNRELATED, json!({})))
            .await
            .expect("an unrelated query answers within 2 s during the burst");
        assert!(data(&r)["shop"]["name"].is_string(), "{r}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        probes += 1;
    }
    assert!(probes > 0, "the burst ended before any probe");
    burst.await.expect("burst")
}

/// Every request at once, released together.
async fn all_at_once(base: String, bodies: Vec<(Option<String>, Value)>) -> Vec<Value> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(bodies.len()));
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|(client, body)| {
            let (base, barrier) = (base.clone(), barrier.clone());
            tokio::spawn(async move {
                let mut req = jangteo_tests::fakes::http_client()
                    .post(format!("{base}/graphql"))
                    .json(&body);
                if let Some(c) = client {
                    req = req.header("x-forwarded-for", c);
                }
                barrier.wait().await;
                req.send().await.expect("send").json::<Value>().await.expect("json")
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("task"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_logins_at_once_all_succeed_on_a_small_pool_and_others_are_served() {
    // Four connections: a login that held one while taking a second, or held one across
    // the password check, starved the pool (25 of 40 got INTERNAL, the shop stalled 10 s).
    let app = TestApp::spawn_with(Options {
        demo: true,
        pool_size: Some(4),
        ..Options::default()
    })
    .await;
    customers(&app, 40).await;
    let bodies = (0..40)
        .map(|i| {
            let vars = json!({ "e": format!("c{i}@example.com"), "p": "jangteo1234!" });
            (None, json!({ "query": LOGIN, "variables": vars }))
        })
        .collect();
    let answers = while_serving_others(&app, all_at_once(app.base.clone(), bodies)).await;
    for r in &answers {
        assert_eq!(login_code(r), "OK", "{r}");
    }
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM customer_sessions")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(sessions, 40);
}

#[tokio::test]
async fn an_attacker_at_one_address_does_not_lock_the_owner_out_from_another() {
    let app = TestApp::spawn_with(Options {
        settings: Some(behind_a_proxy),
        ..Options::default()
    })
    .await;
    data(
        &app.gql(SIGN_UP, json!({ "i": sign_up_input("owner@example.com") }))
            .await,
    );
    for _ in 0..5 {
        let r = login_from(&app, "203.0.113.7", "owner@example.com", "guess-1234").await;
        assert_eq!(login_code(&r), "INVALID_CREDENTIALS");
    }
    // The attacker's address is locked out of this account, even with the right password…
    let r = login_from(&app, "203.0.113.7", "owner@example.com", "jangteo1234!").await;
    assert_eq!(login_code(&r), "TOO_MANY_ATTEMPTS");
    // …the owner, elsewhere, is not.
    let r = login_from(&app, "198.51.100.20", "owner@example.com", "jangteo1234!").await;
    assert_eq!(login_code(&r), "OK", "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_wrong_passwords_at_once_from_one_address_run_five_checks() {
    let app = TestApp::spawn_with(Options {
        settings: Some(behind_a_proxy),
        ..Options::default()
    })
    .await;
    data(
        &app.gql(SIGN_UP, json!({ "i": sign_up_input("owner@example.com") }))
            .await,
    );
    let bodies = (0..40)
        .map(|i| {
            let vars = json!({ "e": "owner@example.com", "p": format!("guess-{i:04}") });
            (
                Some("203.0.113.7".to_owned()),
                json!({ "query": LOGIN, "variables": vars }),
            )
        })
        .collect();
    let answers = all_at_once(app.base.clone(), bodies).await;
    let count = |code: &str| answers.iter().filter(|r| login_code(r) == code).count();
    // Each attempt is counted before its password is checked, so only five checks ran.
    assert_eq!(
        (count("INVALID_CREDENTIALS"), count("TOO_MANY_ATTEMPTS")),
        (5, 35),
        "{answers:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_shared_address_locks_only_at_a_high_bound() {
    let app = TestApp::spawn_with(Options {
        settings: Some(behind_a_proxy),
        ..Options::default()
    })
    .await;
    customers(&app, 2).await;
    let proxy = "192.0.2.1"; // an office NAT or a mobile carrier's gateway
    // Twenty failures behind it: one customer keeps mistyping, fifteen others once each.
    for _ in 0..5 {
        let r = login_from(&app, proxy, "c0@example.com", "wrong-1234").await;
        assert_eq!(login_code(&r), "INVALID_CREDENTIALS");
    }
    for i in 0..15 {
        let r = login_from(&app, proxy, &format!("other{i}@example.com"), "wrong-1234").await;
        assert_eq!(login_code(&r), "INVALID_CREDENTIALS");
    }
    let r = login_from(&app, proxy, "c1@example.com", "jangteo1234!").await;
    assert_eq!(login_code(&r), "OK", "other customers behind the address log in: {r}");
    // A hundred failures from one address (any accounts) are an attack: the address stops.
    let bodies = (0..80)
        .map(|i| {
            let vars = json!({ "e": format!("spray{i}@example.com"), "p": "wrong-1234" });
            (Some(proxy.to_owned()), json!({ "query": LOGIN, "variables": vars }))
        })
        .collect();
    all_at_once(app.base.clone(), bodies).await;
    let r = login_from(&app, proxy, "c1@example.com", "jangteo1234!").await;
    assert_eq!(login_code(&r), "TOO_MANY_ATTEMPTS");
    let r = login_from(&app, "198.51.100.20", "c1@example.com", "jangteo1234!").await;
    assert_eq!(login_code(&r), "OK", "only that address: {r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failures_from_many_addresses_lock_the_account_everywhere() {
    let app = TestApp::spawn_with(Options {
        settings: Some(behind_a_proxy),
        ..Options::default()
    })
    .await;
    data(
        &app.gql(SIGN_UP, json!({ "i": sign_up_input("owner@example.com") }))
            .await,
    );
    // A botnet: ten addresses, five guesses each, all at once.
    let base = app.base.clone();
    let bots: Vec<_> = (0..10)
        .map(|b| {
            let base = base.clone();
            tokio::spawn(async move {
                for g in 0..5 {
                    let r = login_at(
                        &base,
                        &format!("203.0.113.{b}"),
                        "owner@example.com",
                        &format!("guess-{g}"),
                    )
                    .await;
                    assert_eq!(login_code(&r), "INVALID_CREDENTIALS");
                }
            })
        })
        .collect();
    for b in bots {
        b.await.expect("bot");
    }
    let r = login_from(&app, "198.51.100.20", "owner@example.com", "jangteo1234!").await;
    assert_eq!(login_code(&r), "TOO_MANY_ATTEMPTS", "fifty failures from ten addresses");
    // The lock lasts the window.
    sqlx::query("UPDATE login_throttle SET first_at = first_at - interval '16 minutes'")
        .execute(&app.pool)
        .await
        .expect("age");
    let r = login_from(&app, "198.51.100.20", "owner@example.com", "jangteo1234!").await;
    assert_eq!(login_code(&r), "OK", "{r}");
}
