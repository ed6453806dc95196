//! Test support for end-to-end tests: a fresh database per test, the real router on a
//! random port, GraphQL over HTTP, a PostgreSQL wire proxy that counts statements, and an SMTP sink.
#![allow(clippy::missing_panics_doc)] // test support: a panic is how it reports a broken setup

pub mod binary;
pub mod fakes;
pub mod payments;
pub mod pgcount;
pub mod proxy;
pub mod s3;
pub mod smtp;

use std::{net::SocketAddr, sync::Arc};

use commerce::{db, settings::DatabaseSettings};
use serde_json::{Value, json};
use sqlx::{
    Connection, PgConnection, PgPool,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use tokio::{sync::OnceCell, task::JoinHandle};

pub use pgcount::StatementCounter;

/// The PostgreSQL server tests run against: `JANGTEO_TEST_DATABASE_URL` (any database on
/// the server), else the same discovery as `jangteo serve` (local server, else a private
/// cluster under `target/test-postgres`).
pub async fn test_server() -> PgConnectOptions {
    static SERVER: OnceCell<PgConnectOptions> = OnceCell::const_new();
    SERVER
        .get_or_init(|| async {
            if let Ok(url) = std::env::var("JANGTEO_TEST_DATABASE_URL") {
                return url
                    .parse::<PgConnectOptions>()
                    .expect("JANGTEO_TEST_DATABASE_URL is a postgres url");
            }
            let settings = DatabaseSettings {
                url: None,
                local: true,
                private_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../target/test-postgres").into(),
                name: "postgres".into(),
                max_connections: 1,
                statement_timeout_ms: 0,
                read_url: None,
                read_max_connections: 1,
            };
            match db::locate(&settings).await {
                Ok(server) => server.maintenance(),
                Err(e) => panic!("tests need PostgreSQL: {e}"),
            }
        })
        .await
        .clone()
}

/// A database of its own for one test, dropped when this is dropped.
pub struct TestDb {
    /// Its name (`jangteo_test_…`).
    pub name: String,
    /// Options to reach it.
    pub options: PgConnectOptions,
    server: PgConnectOptions,
}

impl TestDb {
    /// Creates and migrates a fresh database.
    pub async fn create() -> TestDb {
        fakes::install_tls();
        let server = test_server().await;
        let name = format!("jangteo_test_{}", uuid::Uuid::now_v7().simple());
        let mut conn = PgConnection::connect_with(&server.clone().database("postgres"))
            .await
            .expect("connect to the test server");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {}",
            db::quote_ident(&name)
        )))
        .execute(&mut conn)
        .await
        .expect("create test database");
        let _ = conn.close().await;
        let options = server.clone().database(&name);
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect_with(options.clone())
            .await
            .expect("connect");
        db::migrate(&pool).await.expect("migrate test database");
        pool.close().await;
        TestDb { name, options, server }
    }

    /// A `postgres://` URL for this database, for child processes.
    pub fn url(&self) -> String {
        let o = &self.options;
        match o.get_socket() {
            Some(dir) => {
                format!(
                    "postgres://{}@localhost:{}/{}?host={}",
                    o.get_username(),
                    o.get_port(),
                    self.name,
                    dir.display()
                )
            }
            None => format!(
                "postgres://{}@{}:{}/{}",
                o.get_username(),
                o.get_host(),
                o.get_port(),
                self.name
            ),
        }
    }

    /// A pool on this database.
    pub async fn pool(&self, max: u32) -> PgPool {
        PgPoolOptions::new()
            .max_connections(max)
            .connect_with(self.options.clone())
            .await
            .expect("connect")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let server = self.server.clone().database("postgres");
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", db::quote_ident(&self.name));
        // Drop runs outside async; a thread with its own runtime does the async work.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut conn) = PgConnection::connect_with(&server).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

/// A change of settings made at run time.
pub type Configure = Box<dyn FnOnce(&mut commerce::Settings) + Send>;

/// How to start a [`TestApp`].
#[derive(Default)]
pub struct Options {
    /// Seed the demo shop.
    pub demo: bool,
    /// Route the service's database connections through a statement-counting proxy.
    pub count_statements: bool,
    /// Changes to the built-in settings. Rate limits start off here (every test request
    /// comes from 127.0.0.1), and demo mode on (as `serve --demo`); tests of them change
    /// them with this.
    pub settings: Option<fn(&mut commerce::Settings)>,
    /// A change that needs values known only at run time (a fake gateway's address),
    /// applied after `settings`.
    pub configure: Option<Configure>,
    /// The service's pool size (default 8); small pools show connection-holding bugs.
    pub pool_size: Option<u32>,
    /// Serve `/metrics` on a listener of its own ([`TestApp::metrics`]), over the process's
    /// one recorder (shared by every app of the test binary: assert differences).
    pub metrics: bool,
}

/// The real service on a random port against a fresh database.
pub struct TestApp {
    /// `http://127.0.0.1:port`
    pub base: String,
    /// A pool on the test database, for setup and checks (not counted).
    pub pool: PgPool,
    /// Counts the service's SQL statements, if asked for.
    pub counter: Option<StatementCounter>,
    /// `http://127.0.0.1:port` of `/metrics`, if asked for ([`Options::metrics`]).
    pub metrics: Option<String>,
    metrics_server: Option<JoinHandle<()>>,
    client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    // Last: dropped after the server has stopped.
    db: TestDb,
}

impl TestApp {
    /// An empty shop.
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Options::default()).await
    }

    /// The demo shop.
    pub async fn demo() -> TestApp {
        Self::spawn_with(Options {
            demo: true,
            ..Options::default()
        })
        .await
    }

    /// Starts the service as `options` say.
    pub async fn spawn_with(options: Options) -> TestApp {
        let db = TestDb::create().await;
        let pool = db.pool(4).await;
        if options.demo {
            commerce::demo::seed_demo(&pool).await.expect("seed demo");
        }
        let (service_pool, counter) = if options.count_statements {
            let counter = StatementCounter::start(&db.options).await;
            let opts = counter.client_options(&db.options);
            (
                PgPoolOptions::new()
                    .max_connections(options.pool_size.unwrap_or(8))
                    .connect_with(opts)
                    .await
                    .expect("connect via proxy"),
                Some(counter),
            )
        } else {
            (db.pool(options.pool_size.unwrap_or(8)).await, None)
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let mut settings = commerce::Settings::defaults();
        settings.rate_limits = commerce::settings::RateLimitSettings::off();
        // Tests read their own writes at once; the in-process cache answers up to
        // `cache.coalesce_ms` late (tests of the cache turn it on).
        settings.cache.max_entries = 0;
        // As `serve --demo`: the built-in bank account takes orders (tests of production
        // refusals turn this off).
        settings.demo = true;
        if let Some(change) = options.settings {
            change(&mut settings);
        }
        if let Some(change) = options.configure {
            change(&mut settings);
        }
        let state = graphql::app::AppState::new(service_pool.clone(), std::sync::Arc::new(settings));
        let (metrics, metrics_server) = if options.metrics {
            let exporter = graphql::metrics::Exporter {
                handle: graphql::metrics::install().expect("metrics recorder"),
                pool: service_pool,
                cache: Some(state.cache.clone()),
            };
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let addr = listener.local_addr().expect("addr");
            let server = tokio::spawn(graphql::metrics::serve(listener, exporter));
            (Some(format!("http://{addr}")), Some(server))
        } else {
            (None, None)
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = graphql::app::serve(listener, state, async move {
                let _ = rx.await;
            })
            .await;
        });
        TestApp {
            base: format!("http://{addr}"),
            pool,
            counter,
            metrics,
            metrics_server,
            client: fakes::http_client(),
            shutdown: Some(tx),
            server: Some(server),
            db,
        }
    }

    /// The test database's name.
    pub fn db_name(&self) -> &str {
        &self.db.name
    }

    /// A URL of the test database, for the `jangteo` binary run beside the service.
    pub fn db_url(&self) -> String {
        self.db.url()
    }

    /// A request builder for `path` on the service.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    /// POSTs a GraphQL request to `/graphql` and returns the JSON body (any status).
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        self.gql_at("/graphql", query, variables).await
    }

    /// POSTs a GraphQL request to `path` and returns the JSON body (any status).
    pub async fn gql_at(&self, path: &str, query: &str, variables: Value) -> Value {
        let resp = self
            .request(reqwest::Method::POST, path)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request");
        resp.json().await.expect("JSON body")
    }

    /// Stops the server and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            let _ = h.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(h) = self.metrics_server.take() {
            h.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            h.abort();
        }
    }
}

/// A published product with one variant per `(price, stock)`, for tests that need exact
/// stock; returns the variants' opaque ids in order.
pub async fn product_with_stock(pool: &PgPool, slug: &str, variants: &[(i64, i32)], tax_free: bool) -> Vec<String> {
    let product = uuid::Uuid::now_v7();
    sqlx::query(
        "INSERT INTO products (id, slug, name, description, published, tax_free) VALUES ($1, $2, $3, '', true, $4)",
    )
    .bind(product)
    .bind(slug)
    .bind(format!("테스트 상품 {slug}"))
    .bind(tax_free)
    .execute(pool)
    .await
    .expect("insert product");
    let mut ids = Vec::new();
    for (i, (price, stock)) in variants.iter().enumerate() {
        let id = uuid::Uuid::now_v7();
        sqlx::query(
            "INSERT INTO variants (id, product_id, sku, name, price, on_hand, position) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(product)
        .bind(format!("{}-{i}", slug.to_uppercase()))
        .bind(format!("옵션 {i}"))
        .bind(price)
        .bind(stock)
        .bind(i32::try_from(i).unwrap_or(0))
        .execute(pool)
        .await
        .expect("insert variant");
        ids.push(format!("var_{}", id.simple()));
    }
    ids
}

/// The uuid inside an opaque id (`var_…` → uuid), for SQL checks.
pub fn uuid_of(opaque: &str) -> uuid::Uuid {
    let hex = opaque.split_once('_').map_or(opaque, |(_, h)| h);
    uuid::Uuid::try_parse(hex).expect("an opaque id")
}

/// Checkout input with a unique idempotency key, shipping to Seoul.
pub fn checkout_input(email: &str) -> Value {
    json!({
        "email": email,
        "phone": "010-1234-5678",
        "ordererName": "홍길동",
        "shippingAddress": {
            "recipient": "홍길동", "phone": "010-1234-5678", "zonecode": "06236",
            "roadAddress": "서울특별시 강남구 테헤란로 152", "jibunAddress": "서울특별시 강남구 역삼동 737",
            "buildingName": "강남파이낸스센터", "detailAddress": "10층"
        },
        "paymentMethod": "BANK_TRANSFER",
        "idempotencyKey": format!("test-{}", uuid::Uuid::now_v7().simple()),
    })
}

/// `cartCreate` with lines; returns the response body.
pub const CART_CREATE: &str =
    "mutation($lines: [CartLineInput!]) { cartCreate(input: {channel: PC_WEB, lines: $lines}) {
    cart { token lines { id sku quantity unitPrice lineTotal isGift } subtotal discount shippingFee total
           freeShippingRemaining warnings { code lineId message } }
    userErrors { field code message } } }";

/// `checkoutComplete` with the payment session a gateway order needs.
pub const CHECKOUT_WITH_SESSION: &str =
    "mutation($t: String!, $i: CheckoutCompleteInput!) { checkoutComplete(cartToken: $t, input: $i) {
    order { id number status total taxFreeAmount bankTransfer { bank accountNumber holder amount dueAt }
            payments { provider method amount status } history { fromStatus toStatus } }
    paymentSession { provider method amount taxFreeAmount orderId orderName customerKey clientKey redirectUrl paymentId storeId
                     channelKey successUrl failUrl }
    userErrors { field code message } } }";

/// `checkoutComplete`; returns the response body.
pub const CHECKOUT: &str =
    "mutation($t: String!, $i: CheckoutCompleteInput!) { checkoutComplete(cartToken: $t, input: $i) {
    order { id number status channel subtotal discount shippingFee total taxFreeAmount vat couponCode
            bankTransfer { bank accountNumber holder amount dueAt }
            lines { sku quantity unitPrice lineTotal isGift } history { fromStatus toStatus } }
    userErrors { field code message } } }";

impl TestApp {
    /// A cart with `lines` (variant id, quantity); returns its token.
    pub async fn cart(&self, lines: &[(&str, i32)]) -> String {
        let lines: Vec<Value> = lines
            .iter()
            .map(|(v, q)| json!({ "variantId": v, "quantity": q }))
            .collect();
        let r = self.gql(CART_CREATE, json!({ "lines": lines })).await;
        let payload = &data(&r)["cartCreate"];
        assert_eq!(payload["userErrors"], json!([]), "{r}");
        payload["cart"]["token"].as_str().expect("token").to_owned()
    }
}

/// A race: `buyers` carts made through the services at `bases` (round robin), each with
/// `lines` (round robin), then every checkout released at once. Returns how many orders
/// were placed and how many got `OUT_OF_STOCK`; any other answer fails the test.
pub async fn race_checkout(bases: &[String], buyers: usize, lines: &[Vec<(&str, i32)>]) -> (usize, usize) {
    let client = fakes::http_client();
    let mut carts = Vec::new();
    for b in 0..buyers {
        let base = &bases[b % bases.len()];
        let lines: Vec<Value> = lines[b % lines.len()]
            .iter()
            .map(|(v, q)| json!({ "variantId": v, "quantity": q }))
            .collect();
        let body = json!({ "query": CART_CREATE, "variables": { "lines": lines } });
        let r: Value = client
            .post(format!("{base}/graphql"))
            .json(&body)
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json");
        carts.push(
            data(&r)["cartCreate"]["cart"]["token"]
                .as_str()
                .expect("cart token")
                .to_owned(),
        );
    }
    let barrier = Arc::new(tokio::sync::Barrier::new(buyers));
    let mut tasks = Vec::new();
    for (b, token) in carts.into_iter().enumerate() {
        let (base, barrier) = (bases[b % bases.len()].clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let client = fakes::http_client();
            let body =
                json!({ "query": CHECKOUT, "variables": { "t": token, "i": checkout_input("racer@example.com") } });
            barrier.wait().await;
            let r: Value = client
                .post(format!("{base}/graphql"))
                .json(&body)
                .send()
                .await
                .expect("send")
                .json()
                .await
                .expect("json");
            r
        }));
    }
    let (mut sold, mut out) = (0, 0);
    for t in tasks {
        let r = t.await.expect("task");
        let p = &data(&r)["checkoutComplete"];
        match p["userErrors"].as_array().expect("errors").first() {
            None => {
                assert_eq!(p["order"]["status"], "AWAITING_DEPOSIT");
                sold += 1;
            }
            Some(e) => {
                assert_eq!(e["code"], "OUT_OF_STOCK", "{r}");
                assert!(p["order"].is_null());
                out += 1;
            }
        }
    }
    (sold, out)
}

/// A staff member of `role` with TOTP enrolled, signed in: returns their session token.
pub async fn staff_session(pool: &PgPool, email: &str, role: commerce::staff::Role) -> String {
    use commerce::{Settings, staff, types};
    let settings = Settings::defaults().staff;
    let password = types::NewPassword::parse("correct-horse-7").expect("password");
    let email = types::Email::parse(email).expect("email");
    staff::create(pool, &email, "직원", role, &password)
        .await
        .expect("create staff");
    let c = staff::login(pool, &settings, email.as_str(), "correct-horse-7", None)
        .await
        .expect("login");
    let e = staff::totp_enroll(pool, &settings, &c.token).await.expect("enroll");
    let authenticator = totp_rs::Totp::from_url(&e.otpauth_url).expect("otpauth url");
    let code = authenticator.generate_current().to_string();
    staff::totp_activate(pool, &settings, &c.token, &code, None)
        .await
        .expect("activate")
        .token
}

impl TestApp {
    /// POSTs to `/admin/graphql` with a staff token.
    pub async fn admin(&self, token: &str, query: &str, variables: Value) -> Value {
        post_as(
            &self.client,
            &format!("{}/admin/graphql", self.base),
            token,
            query,
            variables,
        )
        .await
    }

    /// POSTs to `/graphql` with a customer's token; returns the JSON body (any status).
    pub async fn gql_as(&self, token: &str, query: &str, variables: Value) -> Value {
        post_as(&self.client, &format!("{}/graphql", self.base), token, query, variables).await
    }
}

/// POSTs an admin GraphQL request as `token` to the service at `base` (another process, a
/// replica); returns the JSON body (any status).
pub async fn admin_at(base: &str, token: &str, query: &str, variables: Value) -> Value {
    post_as(
        &reqwest::Client::new(),
        &format!("{base}/admin/graphql"),
        token,
        query,
        variables,
    )
    .await
}

/// POSTs a GraphQL request to `url` with `token` as its bearer; the JSON body (any status).
async fn post_as(client: &reqwest::Client, url: &str, token: &str, query: &str, variables: Value) -> Value {
    client
        .post(url)
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json")
}

/// The data of a GraphQL response, panicking with the errors if there are any.
pub fn data(resp: &Value) -> &Value {
    assert!(resp.get("errors").is_none(), "unexpected errors: {resp:#}");
    &resp["data"]
}

/// Shared handle for tests that need one value across tasks.
pub type Shared<T> = Arc<T>;

/// Polls `check` every 50 ms until it holds; panics naming `what` after 30 s.
pub async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
