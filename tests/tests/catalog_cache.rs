//! Catalog reads cacheable at every layer: automatic persisted queries over GET,
//! `Cache-Control` and `ETag`/304 for public reads and `no-store` for everything else, and
//! each replica's memory dropped when another replica (or anyone) changes the catalog.

use std::time::{Duration, Instant};

use commerce::staff::Role;
use jangteo_tests::{Options, TestApp, TestDb, binary::serve, data, product_with_stock, staff_session};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

const DETAIL: &str = "query Detail($slug: String!) { product(slug: $slug) { id name priceFrom \
                      variants { id price quantityAvailable inStock } } }";

fn sha256_hex(s: &str) -> String {
    graphql::cache::hex(&graphql::cache::sha256(s.as_bytes()))
}

/// `GET /graphql` of a persisted query by its hash, with `variables`.
fn apq_url(base: &str, hash: &str, operation: &str, variables: &Value) -> String {
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } }).to_string();
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("operationName", operation)
        .append_pair("variables", &variables.to_string())
        .append_pair("extensions", &extensions)
        .finish();
    format!("{base}/graphql?{query}")
}

fn header_of(r: &reqwest::Response, name: header::HeaderName) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn cached_app() -> TestApp {
    TestApp::spawn_with(Options {
        demo: true,
        settings: Some(|s| {
            s.cache.max_entries = 1000;
            s.cache.max_age = 10;
            s.cache.s_maxage = 30;
            s.cache.stale_while_revalidate = 60;
        }),
        ..Options::default()
    })
    .await
}

/// The first published product's slug.
async fn a_slug(app: &TestApp) -> String {
    sqlx::query_scalar("SELECT slug FROM products WHERE published ORDER BY slug LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .expect("a product")
}

#[tokio::test]
async fn a_persisted_query_is_registered_then_served_by_get_with_an_etag() {
    let app = cached_app().await;
    let client = reqwest::Client::new();
    let slug = a_slug(&app).await;
    let hash = sha256_hex(DETAIL);
    let vars = json!({ "slug": slug });
    let url = apq_url(&app.base, &hash, "Detail", &vars);

    // Unknown hash: the client is told to send the query, and no cache may keep that.
    let r = client.get(&url).send().await.expect("get");
    assert_eq!(header_of(&r, header::CACHE_CONTROL), "private, no-store");
    let body: Value = r.json().await.expect("json");
    assert_eq!(
        body["errors"][0]["extensions"]["code"], "PERSISTED_QUERY_NOT_FOUND",
        "{body}"
    );
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");

    // A wrong hash for the query is refused and registers nothing.
    let wrong = json!({ "query": DETAIL, "operationName": "Detail", "variables": vars,
        "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256_hex("{ shop { name } }") } } });
    let r = client
        .post(format!("{}/graphql", app.base))
        .header(header::ACCEPT, "application/graphql-response+json")
        .json(&wrong)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // Registration: the query with its hash, then GET by hash alone.
    let register = json!({ "query": DETAIL, "operationName": "Detail", "variables": vars,
        "extensions": { "persistedQuery": { "version": 1, "sha256Hash": hash } } });
    let r = client
        .post(format!("{}/graphql", app.base))
        .json(&register)
        .send()
        .await
        .expect("post");
    let registered: Value = r.json().await.expect("json");
    assert_eq!(
        registered["data"]["product"]["id"].as_str().map(str::len),
        Some(36),
        "{registered}"
    );

    let r = client.get(&url).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        header_of(&r, header::CACHE_CONTROL),
        "public, max-age=10, s-maxage=30, stale-while-revalidate=60"
    );
    assert!(header_of(&r, header::VARY).contains("Authorization"));
    let tag = header_of(&r, header::ETAG);
    assert!(tag.starts_with('"') && tag.len() > 10, "{tag}");
    let first: Value = r.json().await.expect("json");
    assert_eq!(first["data"], registered["data"]);

    // The same GET again comes from memory; with its tag it is 304 without a body.
    let r = client.get(&url).send().await.expect("get");
    assert_eq!(header_of(&r, header::HeaderName::from_static("x-cache")), "HIT");
    assert_eq!(header_of(&r, header::ETAG), tag);
    let r = client
        .get(&url)
        .header(header::IF_NONE_MATCH, &tag)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header_of(&r, header::ETAG), tag);
    assert!(r.bytes().await.expect("body").is_empty());
    let r = client
        .get(&url)
        .header(header::IF_NONE_MATCH, "\"something-else\"")
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), StatusCode::OK);

    // A version we don't know is a request error.
    let r = client
        .get(url.replace("%22version%22%3A1", "%22version%22%3A2"))
        .send()
        .await
        .expect("get");
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_REQUEST", "{body}");
}

#[tokio::test]
async fn only_anonymous_catalog_reads_without_errors_are_public() {
    let app = cached_app().await;
    let client = reqwest::Client::new();
    let slug = a_slug(&app).await;
    let post = |body: Value, token: Option<&str>| {
        let mut r = client.post(format!("{}/graphql", app.base)).json(&body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    let public = "public, max-age=10, s-maxage=30, stale-while-revalidate=60";
    let detail = json!({ "query": DETAIL, "variables": { "slug": slug } });
    let r = post(detail.clone(), None).await.expect("post");
    assert_eq!(header_of(&r, header::CACHE_CONTROL), public);

    // A customer's token makes the same read private.
    let sign_up = "mutation($i: CustomerSignUpInput!) { customerSignUp(input: $i) { userErrors { code } } }";
    let input = json!({ "email": "cache@example.com", "password": "jangteo1234!", "name": "이서연",
        "mobile": "010 2222 3333", "termsAccepted": true, "privacyAccepted": true });
    let r = post(json!({ "query": sign_up, "variables": { "i": input } }), None)
        .await
        .expect("sign up");
    assert_eq!(header_of(&r, header::CACHE_CONTROL), "private, no-store", "a mutation");
    let login = "mutation { customerLogin(email: \"cache@example.com\", password: \"jangteo1234!\") { accessToken } }";
    let body: Value = post(json!({ "query": login }), None)
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = data(&body)["customerLogin"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let r = post(detail.clone(), Some(&token)).await.expect("post");
    assert_eq!(header_of(&r, header::CACHE_CONTROL), "private, no-store");
    assert!(r.headers().get(header::ETAG).is_none());

    for (what, query) in [
        ("a cart", json!({ "query": "{ cart(token: \"nope\") { id } }" })),
        (
            "a catalog read with me",
            json!({ "query": "{ shop { name } me { id } }" }),
        ),
        (
            "an error",
            json!({ "query": DETAIL, "variables": { "slug": "no-such-product" } }),
        ),
        ("a request error", json!({ "query": "{ products { nope } }" })),
    ] {
        let r = post(query, None).await.expect("post");
        assert_eq!(header_of(&r, header::CACHE_CONTROL), "private, no-store", "{what}");
    }
    // The admin API is never public.
    let staff = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let r = app
        .request(reqwest::Method::POST, "/admin/graphql")
        .bearer_auth(&staff)
        .json(&json!({ "query": "{ products(first: 1) { totalCount } }" }))
        .send()
        .await
        .expect("admin");
    assert_eq!(header_of(&r, header::CACHE_CONTROL), "private, no-store");
}

/// Polls `base` for the first variant of `slug` until `done` says so; returns how long it
/// took, or panics after `within`.
async fn until(base: &str, slug: &str, within: Duration, done: impl Fn(&Value) -> bool) -> Duration {
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let r = client
            .post(format!("{base}/graphql"))
            .json(&json!({ "query": DETAIL, "variables": { "slug": slug } }))
            .send()
            .await
            .expect("read");
        let body: Value = r.json().await.expect("json");
        if done(&data(&body)["product"]["variants"][0]) {
            return started.elapsed();
        }
        assert!(started.elapsed() < within, "still {body} after {within:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_price_change_or_a_sell_out_through_one_replica_reaches_the_others_cache_within_the_bound() {
    let db = TestDb::create().await;
    let pool = db.pool(2).await;
    let v = product_with_stock(&pool, "flash-sale", &[(30_000, 2)], false).await;
    let staff = staff_session(&pool, "owner@jangteo.kr", Role::Owner).await;
    // Exact stock shown, so a sell-out is visible as a number too.
    let env = [
        ("JANGTEO_STOREFRONT__SHOW_EXACT_STOCK", "true"),
        ("JANGTEO_CACHE__COALESCE_MS", "250"),
    ];
    let (_a, first) = serve(&db, &env).await;
    let (_b, second) = serve(&db, &env).await;
    let client = reqwest::Client::new();
    let read = |base: String| {
        let client = client.clone();
        async move {
            let r = client
                .post(format!("{base}/graphql"))
                .json(&json!({ "query": DETAIL, "variables": { "slug": "flash-sale" } }))
                .send()
                .await
                .expect("read");
            let hit = header_of(&r, header::HeaderName::from_static("x-cache"));
            (hit, r.json::<Value>().await.expect("json"))
        }
    };
    // The second replica keeps the product page (its listener may take a moment to start).
    let started = Instant::now();
    loop {
        let (hit, body) = read(second.clone()).await;
        assert_eq!(data(&body)["product"]["variants"][0]["price"], 30_000);
        if hit == "HIT" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "never kept");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // A price change through the first replica's admin API.
    let update = "mutation($id: ID!, $i: VariantInput!) { variantUpdate(id: $id, input: $i) { userErrors { code } } }";
    let body = jangteo_tests::admin_at(
        &first,
        &staff,
        update,
        json!({ "id": v[0], "i": { "sku": "FLASH-SALE-0", "name": "옵션 0", "price": 19_900 } }),
    )
    .await;
    assert_eq!(data(&body)["variantUpdate"]["userErrors"], json!([]), "{body}");
    let took = until(&second, "flash-sale", Duration::from_secs(2), |v| v["price"] == 19_900).await;
    assert!(took < Duration::from_secs(1), "the new price took {took:?}");

    // Kept again, then a sell-out through the first replica's checkout.
    read(second.clone()).await;
    let buy = jangteo_tests::race_checkout(std::slice::from_ref(&first), 1, &[vec![(&v[0], 2)]]).await;
    assert_eq!(buy, (1, 0));
    let took = until(&second, "flash-sale", Duration::from_secs(2), |v| {
        v["quantityAvailable"] == 0 && v["inStock"] == false
    })
    .await;
    assert!(took < Duration::from_secs(1), "the sell-out took {took:?}");

    // A change made in the database directly (a script, another service) counts too.
    sqlx::query("UPDATE variants SET on_hand = on_hand + 5 WHERE sku = 'FLASH-SALE-0'")
        .execute(&pool)
        .await
        .expect("restock");
    until(&second, "flash-sale", Duration::from_secs(2), |v| {
        v["quantityAvailable"] == 5
    })
    .await;
}
