//! Prometheus metrics (issue 15): `/metrics` on a listener of its own, never the public one;
//! requests and latency by endpoint, operation and status; orders, payments, logins, jobs,
//! the pool and the catalog cache; and a bound on the operation label.
//!
//! The recorder is one per process, shared by every test here: each test asserts how much
//! its own labels moved (operation names, channels, providers, scopes no other test here
//! uses), and what is read at scrape time (pool, jobs, cache) belongs to its own app.
// Counts in the text format are whole numbers, exact in an f64: compared exactly.
#![allow(clippy::float_cmp)]

use std::collections::HashMap;

use futures::StreamExt as _;
use jangteo_tests::{
    CHECKOUT, Options, TestApp, TestDb, binary, checkout_input, data,
    fakes::toss::{TossFailure, TossMethod},
    payments::PayShop,
    product_with_stock, wait_until,
};
use reqwest::{StatusCode, header};
use serde_json::{Value, json};

/// One scrape: every sample by its name and labels (sorted), e.g.
/// `jangteo_orders_placed_total{channel="APP"}`.
#[derive(Debug)]
struct Scrape(HashMap<String, f64>);

impl Scrape {
    fn parse(text: &str) -> Scrape {
        let mut samples = HashMap::new();
        for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').expect("a sample line");
            let (name, labels) = match series.split_once('{') {
                Some((name, rest)) => (name, labels_of(rest.strip_suffix('}').expect("closing brace"))),
                None => (series, Vec::new()),
            };
            let value: f64 = value.parse().expect("a number");
            samples.insert(key(name, &labels), value);
        }
        Scrape(samples)
    }

    /// The sample's value; 0 when it is not there (a counter not yet touched).
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let labels: Vec<(String, String)> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        self.0.get(&key(name, &labels)).copied().unwrap_or(0.0)
    }

    /// The values `label` takes in samples of `name`.
    fn values_of(&self, name: &str, label: &str) -> Vec<String> {
        let mut values: Vec<String> = self
            .0
            .keys()
            .filter_map(|k| k.strip_prefix(name)?.strip_prefix('{'))
            .flat_map(|rest| labels_of(rest.strip_suffix('}').unwrap_or(rest)))
            .filter(|(k, _)| k == label)
            .map(|(_, v)| v)
            .collect();
        values.sort();
        values.dedup();
        values
    }
}

/// `a="x",b="y"` (values escaped as the text format says).
fn labels_of(s: &str) -> Vec<(String, String)> {
    let mut labels = Vec::new();
    let mut rest = s;
    while let Some((k, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, e)) = chars.next() {
                        value.push(if e == 'n' { '\n' } else { e });
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        labels.push((k.trim_start_matches(',').to_owned(), value));
        rest = &after[end..];
    }
    labels
}

fn key(name: &str, labels: &[(String, String)]) -> String {
    let mut labels = labels.to_vec();
    labels.sort();
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{name}{{{}}}", inner.join(","))
}

async fn scrape(metrics: &str) -> Scrape {
    let r = reqwest::get(format!("{metrics}/metrics")).await.expect("scrape");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()[header::CONTENT_TYPE],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    Scrape::parse(&r.text().await.expect("text"))
}

/// POSTs a named operation to `/graphql` at `base`; returns the status and body.
async fn named(client: &reqwest::Client, base: &str, name: &str, selection: &str) -> (StatusCode, Value) {
    let r = client
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": format!("query {name} {selection}"), "operationName": name }))
        .send()
        .await
        .expect("request");
    (r.status(), r.json().await.expect("json"))
}

const REQUESTS: &str = "jangteo_http_requests_total";
const DURATION: &str = "jangteo_http_request_duration_seconds";

const MOBILE_CART: &str = "mutation($lines: [CartLineInput!]) {
    cartCreate(input: {channel: MOBILE_WEB, lines: $lines}) { cart { token } userErrors { code } } }";
const CUSTOMER_LOGIN: &str = "mutation($e: String!, $p: String!) {
    customerLogin(email: $e, password: $p) { accessToken userErrors { code } } }";
const STAFF_LOGIN: &str = "mutation($e: String!, $p: String!) {
    staffLogin(email: $e, password: $p) { challenge userErrors { code } } }";

/// Three named catalog reads, a checkout from the mobile web (no other test here uses that
/// channel), five wrong customer passwords and a refusal, one wrong staff password.
async fn shopping_session(app: &TestApp, variant: &str) {
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let (status, body) = named(&client, &app.base, "MetricsShop", "{ shop { name } }").await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let r = app
        .gql(
            MOBILE_CART,
            json!({ "lines": [{ "variantId": variant, "quantity": 1 }] }),
        )
        .await;
    let token = data(&r)["cartCreate"]["cart"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let r = app
        .gql(
            CHECKOUT,
            json!({ "t": token, "i": checkout_input("metrics@example.com") }),
        )
        .await;
    assert_eq!(data(&r)["checkoutComplete"]["userErrors"], json!([]), "{r}");
    // Five wrong passwords lock the (e-mail, address) pair; the sixth is refused unchecked.
    for _ in 0..5 {
        let r = app
            .gql(
                CUSTOMER_LOGIN,
                json!({ "e": "nobody@example.com", "p": "wrong-password-1" }),
            )
            .await;
        assert_eq!(
            data(&r)["customerLogin"]["userErrors"][0]["code"],
            "INVALID_CREDENTIALS"
        );
    }
    let r = app
        .gql(
            CUSTOMER_LOGIN,
            json!({ "e": "nobody@example.com", "p": "wrong-password-1" }),
        )
        .await;
    assert_eq!(data(&r)["customerLogin"]["userErrors"][0]["code"], "TOO_MANY_ATTEMPTS");
    let r = app
        .gql_at(
            "/admin/graphql",
            STAFF_LOGIN,
            json!({ "e": "nobody@example.com", "p": "wrong-password-1" }),
        )
        .await;
    assert_eq!(data(&r)["staffLogin"]["userErrors"][0]["code"], "INVALID_CREDENTIALS");
}

#[tokio::test]
async fn a_shopping_session_moves_exactly_its_own_counters() {
    let app = TestApp::spawn_with(Options {
        metrics: true,
        ..Options::default()
    })
    .await;
    let metrics = app.metrics.clone().expect("metrics listener");
    let variant = product_with_stock(&app.pool, "metrics", &[(20_000, 5)], false).await;
    let before = scrape(&metrics).await;
    shopping_session(&app, &variant[0]).await;
    let after = scrape(&metrics).await;
    let moved = |name: &str, labels: &[(&str, &str)]| after.get(name, labels) - before.get(name, labels);
    let shop = [
        ("endpoint", "storefront"),
        ("operation", "MetricsShop"),
        ("status", "200"),
    ];
    assert_eq!(moved(REQUESTS, &shop), 3.0);
    assert_eq!(moved(&format!("{DURATION}_count"), &shop), 3.0);
    let shop_inf = [shop.as_slice(), &[("le", "+Inf")]].concat();
    assert_eq!(moved(&format!("{DURATION}_bucket"), &shop_inf), 3.0);
    let shop_30s = [shop.as_slice(), &[("le", "30")]].concat();
    assert_eq!(moved(&format!("{DURATION}_bucket"), &shop_30s), 3.0);
    assert!(moved(&format!("{DURATION}_sum"), &shop) > 0.0);
    // Requests without an operationName (cartCreate, the checkout, the logins) are anonymous.
    let anonymous = [
        ("endpoint", "storefront"),
        ("operation", "anonymous"),
        ("status", "200"),
    ];
    assert!(moved(REQUESTS, &anonymous) >= 8.0);
    assert_eq!(
        moved(
            REQUESTS,
            &[("endpoint", "admin"), ("operation", "anonymous"), ("status", "200")]
        ),
        1.0
    );
    assert_eq!(moved("jangteo_orders_placed_total", &[("channel", "MOBILE_WEB")]), 1.0);
    assert_eq!(moved("jangteo_login_failures_total", &[("scope", "customer")]), 5.0);
    assert_eq!(
        moved(
            "jangteo_login_locked_total",
            &[("scope", "customer"), ("lock", "account_and_address")]
        ),
        1.0
    );
    assert_eq!(moved("jangteo_login_failures_total", &[("scope", "staff")]), 1.0);

    // Read at scrape time from this app: its pool (8 connections at most) and its jobs.
    assert_eq!(after.get("jangteo_db_pool_max_connections", &[]), 8.0);
    let open = after.get("jangteo_db_pool_connections", &[("state", "idle")])
        + after.get("jangteo_db_pool_connections", &[("state", "in_use")]);
    assert!((1.0..=8.0).contains(&open), "{open}");
    let queued: Vec<(String, i64)> =
        sqlx::query_as("SELECT kind, count(*) FROM jobs WHERE state = 'QUEUED' GROUP BY kind")
            .fetch_all(&app.pool)
            .await
            .expect("jobs");
    assert!(!queued.is_empty(), "the order enqueued its notice");
    for kind in commerce::jobs::handlers::KINDS {
        let in_db = queued.iter().find(|(k, _)| k == kind).map_or(0, |(_, n)| *n);
        #[allow(clippy::cast_precision_loss)]
        let in_db = in_db as f64;
        assert_eq!(
            after.get("jangteo_jobs", &[("kind", kind), ("state", "queued")]),
            in_db,
            "{kind}"
        );
        assert_eq!(after.get("jangteo_jobs", &[("kind", kind), ("state", "failed")]), 0.0);
    }

    // Never on the public listener.
    let r = app.request(reqwest::Method::GET, "/metrics").send().await.expect("get");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_thousand_made_up_operation_names_make_two_hundred_labels() {
    let app = TestApp::spawn_with(Options {
        metrics: true,
        ..Options::default()
    })
    .await;
    let metrics = app.metrics.clone().expect("metrics listener");
    let other = [("endpoint", "storefront"), ("operation", "other"), ("status", "200")];
    let before = scrape(&metrics).await;
    let client = reqwest::Client::new();
    let statuses: Vec<StatusCode> = futures::stream::iter(0..1000)
        .map(|i| {
            let (client, base) = (&client, &app.base);
            async move { named(client, base, &format!("Burst{i}"), "{ __typename }").await.0 }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == StatusCode::OK));
    let after = scrape(&metrics).await;
    let burst: Vec<String> = after
        .values_of(REQUESTS, "operation")
        .into_iter()
        .filter(|o| o.starts_with("Burst"))
        .collect();
    assert_eq!(burst.len(), graphql::metrics::OperationNames::MAX);
    assert_eq!(after.get(REQUESTS, &other) - before.get(REQUESTS, &other), 800.0);
}

#[tokio::test]
async fn gateway_payments_are_counted_by_provider_and_result() {
    let shop = PayShop::start().await;
    let metrics = exporter(&shop.app).await;
    let before = scrape(&metrics).await;
    let placed = shop.checkout("TOSS", 1).await;
    let number = placed["order"]["number"].as_str().expect("number").to_owned();
    let total = placed["order"]["total"].as_i64().expect("total");
    let key = shop.toss.authorize(&number, "쉐이크", total, TossMethod::Card);
    shop.toss.fail_next(TossFailure::Decline);
    let r = shop.confirm_toss(&number, &key, total).await;
    assert_eq!(r["userErrors"][0]["code"], "PAYMENT_DECLINED", "{r}");
    let key = shop.toss.authorize(&number, "쉐이크", total, TossMethod::Card);
    let r = shop.confirm_toss(&number, &key, total).await;
    assert_eq!(r["order"]["status"], "PAID", "{r}");
    // The same confirmation again (a double click) is not a second payment.
    let r = shop.confirm_toss(&number, &key, total).await;
    assert_eq!(r["order"]["status"], "PAID", "{r}");

    let after = scrape(&metrics).await;
    let moved = |result: &str| {
        let labels = [("provider", "TOSS"), ("result", result)];
        after.get("jangteo_payments_total", &labels) - before.get("jangteo_payments_total", &labels)
    };
    assert_eq!((moved("DECLINED"), moved("PAID"), moved("FAILED")), (1.0, 1.0, 0.0));
}

/// A metrics listener over the process's recorder and `app`'s pool, for apps started by
/// other helpers.
async fn exporter(app: &TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let exporter = graphql::metrics::Exporter {
        handle: graphql::metrics::install().expect("recorder"),
        pool: app.pool.clone(),
        cache: None,
    };
    tokio::spawn(graphql::metrics::serve(listener, exporter));
    format!("http://{addr}")
}

#[tokio::test]
async fn catalog_cache_hits_misses_and_drops_are_reported() {
    // The demo catalog is in before the app listens for changes: no stray drop later.
    let app = TestApp::spawn_with(Options {
        demo: true,
        metrics: true,
        settings: Some(|s| {
            s.cache.max_entries = 1000;
            s.cache.coalesce_ms = 10;
        }),
        ..Options::default()
    })
    .await;
    let metrics = app.metrics.clone().expect("metrics listener");
    let client = reqwest::Client::new();
    // Until the cache listens for changes it keeps nothing it may serve: ask until a hit.
    let (mut hits, mut misses) = (0.0, 0.0);
    while hits == 0.0 {
        let r = client
            .post(format!("{}/graphql", app.base))
            .json(&json!({ "query": "query CachedShop { shop { name } }", "operationName": "CachedShop" }))
            .send()
            .await
            .expect("request");
        match r.headers().get("x-cache").and_then(|v| v.to_str().ok()) {
            Some("HIT") => hits += 1.0,
            Some("MISS") => misses += 1.0,
            other => panic!("a public read: {other:?}"),
        }
        assert!(misses < 300.0, "the cache never served");
    }
    let seen = scrape(&metrics).await;
    assert_eq!(seen.get("jangteo_cache_hits_total", &[]), hits);
    assert_eq!(seen.get("jangteo_cache_misses_total", &[]), misses);
    assert!(seen.get("jangteo_cache_bytes", &[]) > 0.0);
    let drops = seen.get("jangteo_cache_drops_total", &[]);
    sqlx::query("UPDATE products SET name = name || '!' WHERE id = (SELECT id FROM products ORDER BY id LIMIT 1)")
        .execute(&app.pool)
        .await
        .expect("update");
    wait_until("the change to drop the kept reads", || async {
        scrape(&metrics).await.get("jangteo_cache_drops_total", &[]) == drops + 1.0
    })
    .await;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_and_worker_processes_answer_on_their_own_listener() {
    let db = TestDb::create().await;
    let pool = db.pool(2).await;
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let (_serve, base) = binary::serve(&db, &[("JANGTEO_METRICS__LISTEN", &listen)]).await;
    let metrics = format!("http://{listen}");
    let client = reqwest::Client::new();
    let (status, body) = named(&client, &base, "BinaryShop", "{ shop { name } }").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s = scrape(&metrics).await;
    let labels = [
        ("endpoint", "storefront"),
        ("operation", "BinaryShop"),
        ("status", "200"),
    ];
    assert_eq!(s.get(REQUESTS, &labels), 1.0);
    assert_eq!(s.get(&format!("{DURATION}_count"), &labels), 1.0);
    assert_eq!(s.get("jangteo_db_pool_max_connections", &[]), 16.0);
    assert_eq!(
        s.values_of("jangteo_jobs", "kind").len(),
        commerce::jobs::handlers::KINDS.len() + 1,
        "every kind, and `other`"
    );
    let r = client.get(format!("{base}/metrics")).send().await.expect("get");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // A worker: its schedules run at start; what it ran is counted as it ends.
    let port = free_port();
    let metrics = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut worker = binary::jangteo();
    worker
        .args(["worker", "--no-migrate"])
        .env("DATABASE_URL", db.url())
        .env("JANGTEO_METRICS__LISTEN", format!("127.0.0.1:{port}"))
        .env("JANGTEO_JOBS__POLL_SECS", "1")
        .env("JANGTEO_MAIL__DIR", dir.path().join("mail"))
        .env("JANGTEO_SMS__DIR", dir.path().join("sms"))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null());
    let _worker = tokio::process::Command::from(worker)
        .kill_on_drop(true)
        .spawn()
        .expect("spawn worker");
    let done = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM jobs WHERE kind = 'orders.expire' AND state = 'DONE'")
            .fetch_one(&pool)
            .await
            .expect("count")
    };
    wait_until("the worker to expire unpaid orders once", || async {
        done().await >= 1
    })
    .await;
    wait_until("the worker's metrics to count it", || async {
        let Ok(r) = reqwest::get(format!("{metrics}/metrics")).await else {
            return false;
        };
        let s = Scrape::parse(&r.text().await.unwrap_or_default());
        #[allow(clippy::cast_precision_loss)]
        let in_db = done().await as f64;
        s.get(
            "jangteo_jobs_finished_total",
            &[("kind", "orders.expire"), ("result", "done")],
        ) == in_db
    })
    .await;
}
