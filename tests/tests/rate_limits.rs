//! Rate limits of the guessable operations: a burst from one client is refused whole with
//! 429, `Retry-After` and `RATE_LIMITED`; other clients, e-mails and carts keep their own
//! budgets; `X-Forwarded-For` counts only from trusted proxies; catalog reads are never
//! limited.

use commerce::settings::RateLimit;
use jangteo_tests::{Options, TestApp, data};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A request's status, `Retry-After` and body.
struct Answer {
    status: StatusCode,
    retry_after: Option<u64>,
    body: Value,
}

impl Answer {
    fn is_rate_limited(&self) -> bool {
        self.status == StatusCode::TOO_MANY_REQUESTS
            && self.body["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
            && self.body.get("data").is_none()
            && self.retry_after.is_some_and(|s| s >= 1)
    }
}

/// POSTs to `path`, as `client` (in `X-Forwarded-For`) when given.
async fn post(app: &TestApp, path: &str, client: Option<&str>, query: &str, variables: Value) -> Answer {
    let mut req = app
        .request(reqwest::Method::POST, path)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(ip) = client {
        req = req.header("x-forwarded-for", ip);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().expect("ascii").parse().expect("seconds"));
    Answer {
        status,
        retry_after,
        body: resp.json().await.expect("JSON body"),
    }
}

const TIGHT: RateLimit = RateLimit {
    burst: 3,
    refill_secs: 3600,
};

const APPLY: &str = "mutation($t: String!, $c: String!) { cartCouponApply(token: $t, code: $c) {
    cart { total } userErrors { code } } }";

fn behind_a_proxy(s: &mut commerce::Settings) {
    s.http.trusted_proxies = vec!["127.0.0.0/8".parse().expect("cidr")];
}

#[tokio::test]
async fn a_burst_of_coupon_guesses_is_refused_while_another_client_goes_on() {
    let app = TestApp::spawn_with(Options {
        settings: Some(|s| {
            behind_a_proxy(s);
            s.rate_limits.cart_coupon_apply = TIGHT;
        }),
        ..Options::default()
    })
    .await;
    let cart = app.cart(&[]).await;
    let guess = |i: usize| json!({ "t": cart, "c": format!("GUESS{i}") });
    for i in 0..3 {
        let a = post(&app, "/graphql", Some("198.51.100.1"), APPLY, guess(i)).await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(
            data(&a.body)["cartCouponApply"]["userErrors"][0]["code"],
            "COUPON_INVALID"
        );
    }
    let refused = post(&app, "/graphql", Some("198.51.100.1"), APPLY, guess(3)).await;
    assert!(refused.is_rate_limited(), "{}", refused.body);
    assert!(refused.retry_after.is_some_and(|s| s <= 3600));
    assert!(
        refused.body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("요청이 너무 많습니다"))
    );
    // In English too, and still refused: waiting is the only way.
    let en = app
        .request(reqwest::Method::POST, "/graphql")
        .header("x-forwarded-for", "198.51.100.1")
        .header("accept-language", "en")
        .json(&json!({ "query": APPLY, "variables": guess(4) }))
        .send()
        .await
        .expect("send");
    assert_eq!(en.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = en.json().await.expect("json");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("too many requests"))
    );
    // Another client behind the same proxy has a budget of its own.
    let other_cart = app.cart(&[]).await;
    let a = post(
        &app,
        "/graphql",
        Some("198.51.100.2"),
        APPLY,
        json!({ "t": other_cart, "c": "WELCOME10" }),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        data(&a.body)["cartCouponApply"]["userErrors"][0]["code"],
        "COUPON_INVALID"
    );
}

#[tokio::test]
async fn one_cart_has_one_budget_whichever_clients_guess_on_it() {
    let app = TestApp::spawn_with(Options {
        settings: Some(|s| {
            behind_a_proxy(s);
            s.rate_limits.cart_coupon_apply_per_cart = TIGHT;
        }),
        ..Options::default()
    })
    .await;
    let cart = app.cart(&[]).await;
    for (i, client) in ["198.51.100.1", "198.51.100.2", "198.51.100.3"].iter().enumerate() {
        let a = post(
            &app,
            "/graphql",
            Some(client),
            APPLY,
            json!({ "t": cart, "c": format!("G{i}") }),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK);
    }
    let a = post(
        &app,
        "/graphql",
        Some("198.51.100.4"),
        APPLY,
        json!({ "t": cart, "c": "G4" }),
    )
    .await;
    assert!(a.is_rate_limited(), "{}", a.body);
    let other = app.cart(&[]).await;
    let a = post(
        &app,
        "/graphql",
        Some("198.51.100.4"),
        APPLY,
        json!({ "t": other, "c": "G5" }),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
}

const LOGIN: &str = "mutation($e: String!, $p: String!) { customerLogin(email: $e, password: $p) {
    accessToken userErrors { code } } }";

#[tokio::test]
async fn logins_to_one_e_mail_from_one_client_are_limited() {
    let app = TestApp::spawn_with(Options {
        settings: Some(|s| {
            behind_a_proxy(s);
            s.rate_limits.customer_login_per_email = TIGHT;
        }),
        ..Options::default()
    })
    .await;
    let login = |e: &str| json!({ "e": e, "p": "wrong-password-1" });
    for e in ["kim@example.com", "KIM@example.com ", "kim@EXAMPLE.com"] {
        let a = post(&app, "/graphql", Some("198.51.100.1"), LOGIN, login(e)).await;
        assert_eq!(
            data(&a.body)["customerLogin"]["userErrors"][0]["code"],
            "INVALID_CREDENTIALS"
        );
    }
    let a = post(&app, "/graphql", Some("198.51.100.1"), LOGIN, login("kim@example.com")).await;
    assert!(a.is_rate_limited(), "{}", a.body);
    // Another e-mail from that client, and that e-mail from another client, still get an answer:
    // nobody can lock the owner out from elsewhere.
    let a = post(&app, "/graphql", Some("198.51.100.1"), LOGIN, login("lee@example.com")).await;
    assert_eq!(
        data(&a.body)["customerLogin"]["userErrors"][0]["code"],
        "INVALID_CREDENTIALS"
    );
    let a = post(&app, "/graphql", Some("203.0.113.9"), LOGIN, login("kim@example.com")).await;
    assert_eq!(
        data(&a.body)["customerLogin"]["userErrors"][0]["code"],
        "INVALID_CREDENTIALS"
    );
}

const LOOKUP: &str = "query($n: String!) { orderByNumber(number: $n, email: \"kim@example.com\") { number } }";

#[tokio::test]
async fn aliases_and_fragments_count_one_each() {
    let app = TestApp::spawn_with(Options {
        settings: Some(|s| {
            s.rate_limits.order_by_number = RateLimit {
                burst: 5,
                refill_secs: 3600,
            };
        }),
        ..Options::default()
    })
    .await;
    let aliases = |n: usize| {
        let fields: Vec<String> = (0..n)
            .map(|i| {
                format!("o{i}: orderByNumber(number: \"20260101-{i:06}\", email: \"kim@example.com\") {{ number }}")
            })
            .collect();
        fields.join(" ")
    };
    // Six at once never fit a burst of five.
    let a = post(&app, "/graphql", None, &format!("{{ {} }}", aliases(6)), json!({})).await;
    assert!(a.is_rate_limited(), "{}", a.body);
    // Four aliases and one in a fragment spread at the root spend the budget in one request.
    let q = format!(
        "{{ {} ...F }} fragment F on Query {{ f: orderByNumber(number: \"x\", email: \"kim@example.com\") {{ number }} }}",
        aliases(4)
    );
    let a = post(&app, "/graphql", None, &q, json!({})).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert!(a.body["data"]["o0"].is_null());
    let a = post(&app, "/graphql", None, LOOKUP, json!({ "n": "20260101-000001" })).await;
    assert!(a.is_rate_limited(), "{}", a.body);
}

#[tokio::test]
async fn x_forwarded_for_from_an_untrusted_peer_buys_no_new_budget() {
    let app = TestApp::spawn_with(Options {
        settings: Some(|s| s.rate_limits.order_by_number = TIGHT),
        ..Options::default()
    })
    .await;
    for i in 0..3 {
        let a = post(
            &app,
            "/graphql",
            Some(&format!("198.51.100.{i}")),
            LOOKUP,
            json!({ "n": "1" }),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    }
    let a = post(&app, "/graphql", Some("203.0.113.77"), LOOKUP, json!({ "n": "1" })).await;
    assert!(a.is_rate_limited(), "{}", a.body);
}

/// The variables of the `i`-th request of a case.
type Vars = Box<dyn Fn(usize) -> Value>;

#[tokio::test]
async fn every_guessable_operation_is_limited_per_client() {
    let app = TestApp::spawn_with(Options {
        settings: Some(|s| {
            behind_a_proxy(s);
            let l = &mut s.rate_limits;
            l.order_by_number = TIGHT;
            l.order_cancel = TIGHT;
            l.cart_coupon_apply = TIGHT;
            l.customer_sign_up = TIGHT;
            l.customer_login = TIGHT;
            l.staff_login = TIGHT;
        }),
        ..Options::default()
    })
    .await;
    let cart = app.cart(&[]).await;
    let sign_up = "mutation($i: CustomerSignUpInput!) { customerSignUp(input: $i) { userErrors { code } } }";
    let cancel = "mutation($i: OrderCancelInput!) { orderCancel(input: $i) { userErrors { code } } }";
    let staff = "mutation($e: String!) { staffLogin(email: $e, password: \"wrong-password\") { userErrors { code } } }";
    let cases: Vec<(&str, &str, Vars)> = vec![
        ("/graphql", LOOKUP, Box::new(|_| json!({ "n": "1" }))),
        (
            "/graphql",
            cancel,
            Box::new(|i| json!({ "i": { "number": format!("{i}"), "email": "kim@example.com" } })),
        ),
        (
            "/graphql",
            APPLY,
            Box::new(move |i| json!({ "t": cart, "c": format!("C{i}") })),
        ),
        (
            "/graphql",
            sign_up,
            Box::new(|i| {
                json!({ "i": { "email": format!("new{i}@example.com"), "password": "correct-horse-7", "name": "신규",
                           "mobile": "010-1234-5678", "termsAccepted": true, "privacyAccepted": true } })
            }),
        ),
        (
            "/graphql",
            LOGIN,
            Box::new(|i| json!({ "e": format!("u{i}@example.com"), "p": "wrong-password-1" })),
        ),
        (
            "/admin/graphql",
            staff,
            Box::new(|i| json!({ "e": format!("s{i}@example.com") })),
        ),
    ];
    for (n, (path, query, vars)) in cases.iter().enumerate() {
        let client = format!("198.51.100.{n}");
        for i in 0..3 {
            let a = post(&app, path, Some(&client), query, vars(i)).await;
            assert_eq!(a.status, StatusCode::OK, "{query}: {}", a.body);
            assert!(a.body.get("data").is_some(), "{query}: {}", a.body);
        }
        let a = post(&app, path, Some(&client), query, vars(3)).await;
        assert!(a.is_rate_limited(), "{query}: {}", a.body);
    }
    // A guest cancel without an e-mail (the signed-in owner's way) is not counted.
    for i in 0..5 {
        let a = post(
            &app,
            "/graphql",
            Some("198.51.100.1"),
            cancel,
            json!({ "i": { "number": format!("{i}") } }),
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    }
}

#[tokio::test]
async fn catalog_reads_and_carts_from_one_address_are_never_limited() {
    let app = TestApp::spawn_with(Options {
        demo: true,
        // What ships.
        settings: Some(|s| s.rate_limits = commerce::Settings::defaults().rate_limits),
        ..Options::default()
    })
    .await;
    let q = "{ products(first: 5) { edges { node { slug variants { price } } } } }";
    for _ in 0..300 {
        let a = post(&app, "/graphql", None, q, json!({})).await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        data(&a.body);
    }
    for _ in 0..30 {
        app.cart(&[]).await;
    }
}
