//! Test support for end-to-end tests: a fresh database per test, the real router on a
//! random port, GraphQL over HTTP, and a PostgreSQL wire proxy that counts statements.
#![allow(clippy::missing_panics_doc)] // test support: a panic is how it reports a broken setup

pub mod pgcount;

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

/// How to start a [`TestApp`].
#[derive(Default)]
pub struct Options {
    /// Seed the demo shop.
    pub demo: bool,
    /// Route the service's database connections through a statement-counting proxy.
    pub count_statements: bool,
}

/// The real service on a random port against a fresh database.
pub struct TestApp {
    /// `http://127.0.0.1:port`
    pub base: String,
    /// A pool on the test database, for setup and checks (not counted).
    pub pool: PgPool,
    /// Counts the service's SQL statements, if asked for.
    pub counter: Option<StatementCounter>,
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
                    .max_connections(8)
                    .connect_with(opts)
                    .await
                    .expect("connect via proxy"),
                Some(counter),
            )
        } else {
            (db.pool(8).await, None)
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let state = graphql::app::AppState::new(service_pool, std::sync::Arc::new(commerce::Settings::defaults()));
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
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            server: Some(server),
            db,
        }
    }

    /// The test database's name.
    pub fn db_name(&self) -> &str {
        &self.db.name
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
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.server.take() {
            h.abort();
        }
    }
}

/// The data of a GraphQL response, panicking with the errors if there are any.
pub fn data(resp: &Value) -> &Value {
    assert!(resp.get("errors").is_none(), "unexpected errors: {resp:#}");
    &resp["data"]
}

/// Shared handle for tests that need one value across tasks.
pub type Shared<T> = Arc<T>;
