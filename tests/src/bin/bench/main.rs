//! Load benchmark of the real `jangteo` binary over HTTP; prints a table.
//!
//! `cargo run --release -p jangteo-tests --bin bench -- catalog` (or `checkout`, `race`, `reports`)
//!
//! Seeds a fresh database (1,000 products × 3 variants by default), starts `jangteo serve`
//! as its own process (so its memory is its own), drives each scenario with N concurrent
//! keep-alive connections for a fixed time, and reports req/s, p50/p99 and server RSS
//! against the targets of DESIGN.md §8.
//!
//! - `checkout`: N closed-loop buyers, each order = `cartCreate` + `cartLinesAdd` +
//!   `checkoutComplete` of one random variant; orders/s and p50/p99 per order.
//! - `race`: many buyers with one unit each in their carts check out at the same instant
//!   against a small stock; exactly the stock is sold, never more.
//! - `reports`: the demo catalog with a million past orders over two years
//!   (`commerce::seed_orders`, as `jangteo seed --demo --orders N`); then the admin reports of
//!   the last full year, one call at a time as a staff member's screen makes them: every
//!   `salesReport` cut, `salesSummary`, `memberReport`, `customerStats` and `salesChart`, each
//!   beside pgbench running its main aggregate over `sales_rollups`.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

mod catalog;
mod jobs;
mod reports;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use jangteo_tests::{TestDb, test_server};
use serde_json::{Value, json};
use tokio::sync::Barrier;

#[derive(Parser)]
#[command(about = "Load benchmarks against the real jangteo binary")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
    /// Seconds each scenario runs.
    #[arg(long, default_value_t = 10, global = true)]
    seconds: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 16, global = true)]
    connections: usize,
}

#[derive(Subcommand)]
enum Scenario {
    /// Storefront catalog: `products(first: 20)` with variants, and `product(slug)`.
    Catalog {
        /// Products to seed.
        #[arg(long, default_value_t = 1000)]
        products: u32,
        /// Variants per product.
        #[arg(long, default_value_t = 3)]
        variants: u32,
    },
    /// Checkout: `cartCreate` + `cartLinesAdd` + `checkoutComplete` per order, closed loop.
    Checkout {
        /// Products to seed.
        #[arg(long, default_value_t = 1000)]
        products: u32,
        /// Variants per product.
        #[arg(long, default_value_t = 3)]
        variants: u32,
    },
    /// Admin reports over a seeded order history, one call at a time.
    Reports {
        /// Past orders to seed over the demo catalog.
        #[arg(long, default_value_t = 1_000_000)]
        orders: u64,
        /// Days they span, up to now.
        #[arg(long, default_value_t = 730)]
        days: u32,
        /// Timed calls per operation.
        #[arg(long, default_value_t = 50)]
        calls: usize,
    },
    /// The job queue: enqueue rate, and workers running e-mail jobs, beside pgbench.
    Jobs {
        /// Jobs to enqueue and run.
        #[arg(long, default_value_t = 5000)]
        jobs: usize,
        /// Workers (each runs 4 jobs at once).
        #[arg(long, default_value_t = 2)]
        workers: usize,
    },
    /// Overselling race: buyers with one unit each check out at once against a small stock.
    Race {
        /// Concurrent buyers.
        #[arg(long, default_value_t = 50)]
        buyers: usize,
        /// Units in stock.
        #[arg(long, default_value_t = 10)]
        stock: i32,
    },
}

const CART_CREATE: &str =
    "mutation CartCreate { cartCreate(input: {channel: PC_WEB}) { cart { token } userErrors { code } } }";
const CART_CREATE_WITH: &str = "mutation CartCreateWith($v: ID!) { cartCreate(input: {channel: PC_WEB, \
                                lines: [{variantId: $v, quantity: 1}]}) { cart { token } userErrors { code } } }";
const LINES_ADD: &str = "mutation LinesAdd($t: String!, $v: ID!) { cartLinesAdd(token: $t, \
                         lines: [{variantId: $v, quantity: 1}]) { cart { total } userErrors { code } } }";
const CHECKOUT: &str = "mutation Checkout($t: String!, $i: CheckoutCompleteInput!) { checkoutComplete(cartToken: $t, \
                        input: $i) { order { number status } userErrors { code message } } }";

struct Row {
    name: &'static str,
    requests: usize,
    errors: usize,
    secs: f64,
    p50: Duration,
    p99: Duration,
    target: &'static str,
    /// PostgreSQL's own rate for the same statements (pgbench, same run), if measured.
    ceiling: Option<f64>,
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn rss_kb(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// The `jangteo` binary beside this one, built first if missing.
fn jangteo_binary() -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let dir = me.parent().context("exe dir")?;
    let bin = dir.join("jangteo");
    let release = dir.file_name().is_some_and(|d| d == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    // With this package selected too, features unify as in `cargo run -p jangteo-tests`: no rebuild.
    build.args([
        "build",
        "-p",
        "jangteo-graphql",
        "-p",
        "jangteo-tests",
        "--bin",
        "jangteo",
    ]);
    if release {
        build.arg("--release");
    }
    eprintln!("building jangteo ({})…", if release { "release" } else { "debug" });
    let status = build.status().context("running cargo build")?;
    if !status.success() || !bin.exists() {
        bail!("could not build {}", bin.display());
    }
    Ok(bin)
}

async fn start_server(db: &TestDb, env: &[(&str, &str)]) -> anyhow::Result<Server> {
    let bin = jangteo_binary()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let url = db.url();
    let child = Command::new(bin)
        .args(["serve", "--no-migrate", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", url)
        // Production-like: `serve` refuses the demo TOTP key, and offers bank transfer
        // only to a real account.
        .env(
            "JANGTEO_STAFF__TOTP_KEY",
            "YmVuY2gtb25seS10b3RwLWtleS0zMi1ieXRlcy0hISE=",
        )
        .env("JANGTEO_BANK_TRANSFER__ACCOUNT_NUMBER", "999901-01-000001")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting jangteo")?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = jangteo_tests::fakes::http_client();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(format!("{}/readyz", server.base)).send().await
            && r.status().is_success()
        {
            return Ok(server);
        }
        if Instant::now() > deadline {
            bail!("jangteo did not become ready");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let idx = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[idx]
}

impl Row {
    /// A row of `(sorted latencies, errors, seconds)` from a closed-loop run.
    fn measured(name: &'static str, target: &'static str, (lat, errors, secs): (Vec<Duration>, usize, f64)) -> Row {
        Row {
            name,
            requests: lat.len(),
            errors,
            secs,
            p50: percentile(&lat, 0.50),
            p99: percentile(&lat, 0.99),
            target,
            ceiling: None,
        }
    }
}

/// What a row counts: `("requests", "req/s")` or `("orders", "orders/s")`.
fn print_table(rows: &[Row], rss: (u64, u64), cli: &Cli, (count, rate): (&str, &str)) {
    println!();
    println!(
        "| scenario ({} connections, {} s) | {count} | {rate} | p50 ms | p99 ms | errors | PostgreSQL ceiling/s | ratio | target |",
        cli.connections, cli.seconds
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for r in rows {
        #[allow(clippy::cast_precision_loss)]
        let rps = r.requests as f64 / r.secs;
        let (ceiling, ratio) = match r.ceiling {
            Some(c) if c > 0.0 => (format!("{c:.0}"), format!("{:.2}", rps / c)),
            _ => ("–".to_owned(), "–".to_owned()),
        };
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {ceiling} | {ratio} | {} |",
            r.name,
            r.requests,
            rps,
            r.p50.as_secs_f64() * 1000.0,
            r.p99.as_secs_f64() * 1000.0,
            r.errors,
            r.target
        );
    }
    #[allow(clippy::cast_precision_loss)]
    let mb = |kb: u64| kb as f64 / 1024.0;
    println!(
        "| server RSS now / peak | {:.1} MB / {:.1} MB | | | | | < 100 MB |",
        mb(rss.0),
        mb(rss.1)
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // reqwest is built without a TLS provider of its own (one provider for the workspace).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let _ = test_server().await;
    let db = TestDb::create().await;
    match cli.scenario {
        Scenario::Catalog { products, variants } => catalog::catalog(&db, &cli, products, variants).await?,
        Scenario::Checkout { products, variants } => checkout(&db, &cli, products, variants).await?,
        Scenario::Race { buyers, stock } => race(&db, buyers, stock).await?,
        Scenario::Jobs { jobs, workers } => jobs::jobs_bench(&db, jobs, cli.connections, workers).await?,
        Scenario::Reports { orders, days, calls } => reports::reports(&db, orders, days, calls).await?,
    }
    Ok(())
}

/// PostgreSQL's own rate for `script` (pgbench, prepared statements, `connections` clients
/// for `secs` seconds) on the database at `url`: transactions per second.
fn pgbench(url: &str, script: &str, connections: usize, secs: u64) -> anyhow::Result<f64> {
    let path = std::env::temp_dir().join(format!("jangteo-bench-{}.sql", std::process::id()));
    std::fs::write(&path, script)?;
    eprintln!("pgbench ceiling ({connections} clients, {secs} s)…");
    let threads = connections.clamp(1, 2);
    let out = Command::new("pgbench")
        .args([
            "-n",
            "-M",
            "prepared",
            "-j",
            &threads.to_string(),
            "-c",
            &connections.to_string(),
        ])
        .args(["-T", &secs.to_string(), "-f"])
        .arg(&path)
        .arg(url)
        .output();
    let _ = std::fs::remove_file(&path);
    let out = out.context("running pgbench (Debian package postgresql-contrib or postgresql-client)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("pgbench failed: {}{}", text, String::from_utf8_lossy(&out.stderr));
    }
    text.lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .context("no tps in pgbench's output")
}

/// Why a step of an order failed: the user error codes (if any) and what the server said.
struct Failure {
    codes: Vec<String>,
    detail: String,
}

impl Failure {
    fn new(detail: String) -> Failure {
        Failure {
            codes: Vec::new(),
            detail,
        }
    }
}

/// One GraphQL mutation: its payload `data.<field>`, which must have no `userErrors`.
async fn mutate(
    client: &reqwest::Client,
    url: &str,
    query: &str,
    field: &str,
    variables: Value,
) -> Result<Value, Failure> {
    let r = client
        .post(url)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .map_err(|e| Failure::new(format!("{field}: send: {e}")))?;
    let status = r.status();
    let body = r
        .text()
        .await
        .map_err(|e| Failure::new(format!("{field}: body: {e}")))?;
    if !status.is_success() {
        return Err(Failure::new(format!("{field}: HTTP {status}: {body}")));
    }
    let mut v: Value = serde_json::from_str(&body).map_err(|e| Failure::new(format!("{field}: {e}: {body}")))?;
    if v.get("errors").is_some_and(|e| !e.is_null()) {
        return Err(Failure::new(format!("{field}: {body}")));
    }
    let payload = v["data"][field].take();
    match payload["userErrors"].as_array() {
        Some(errors) if errors.is_empty() => Ok(payload),
        Some(errors) => Err(Failure {
            codes: errors
                .iter()
                .filter_map(|e| e["code"].as_str().map(str::to_owned))
                .collect(),
            detail: format!("{field}: {body}"),
        }),
        None => Err(Failure::new(format!("{field}: no payload: {body}"))),
    }
}

/// Orderer, address and payment of every bench order, with a fresh idempotency key.
fn checkout_input(key: &str) -> Value {
    json!({
        "email": "bench@example.com",
        "phone": "010-1234-5678",
        "ordererName": "홍길동",
        "shippingAddress": {
            "recipient": "홍길동",
            "phone": "010-1234-5678",
            "zonecode": "06236",
            "roadAddress": "서울특별시 강남구 테헤란로 152",
            "detailAddress": "1층",
        },
        "paymentMethod": "BANK_TRANSFER",
        "idempotencyKey": key,
    })
}

/// Checks out the cart `token`: the order number.
async fn complete(client: &reqwest::Client, url: &str, token: &str, key: &str) -> Result<String, Failure> {
    let payload = mutate(
        client,
        url,
        CHECKOUT,
        "checkoutComplete",
        json!({ "t": token, "i": checkout_input(key) }),
    )
    .await?;
    match &payload["order"]["number"] {
        Value::Null => Err(Failure::new(format!("checkoutComplete: no order number: {payload}"))),
        Value::String(n) => Ok(n.clone()),
        n => Ok(n.to_string()),
    }
}

/// The cart token of a `cartCreate` payload.
fn cart_token(payload: &Value) -> Result<String, Failure> {
    payload["cart"]["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| Failure::new(format!("cartCreate: no token: {payload}")))
}

/// One order: a new cart, one unit of `variant`, checkout.
async fn place_order(client: &reqwest::Client, url: &str, variant: &str, key: &str) -> Result<String, Failure> {
    let token = cart_token(&mutate(client, url, CART_CREATE, "cartCreate", json!({})).await?)?;
    mutate(
        client,
        url,
        LINES_ADD,
        "cartLinesAdd",
        json!({ "t": token, "v": variant }),
    )
    .await?;
    complete(client, url, &token, key).await
}

/// The variants' opaque ids.
async fn variant_ids(pool: &sqlx::PgPool) -> anyhow::Result<Vec<String>> {
    let ids: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM variants").fetch_all(pool).await?;
    Ok(ids.into_iter().map(|id| format!("var_{}", id.simple())).collect())
}

/// Latencies of placed orders, failed orders and the first failures, over `secs`.
struct Orders {
    latencies: Vec<Duration>,
    errors: usize,
    samples: Vec<String>,
    secs: f64,
}

/// Runs `connections` closed-loop buyers for `secs`, each placing orders of random variants.
async fn drive_orders(base: &str, connections: usize, secs: u64, variants: &Arc<Vec<String>>) -> Orders {
    let url = format!("{base}/graphql");
    let run = fastrand::u64(..);
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (url, variants) = (url.clone(), variants.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .expect("client");
            let (mut lat, mut errors, mut samples, mut n) = (Vec::new(), 0usize, Vec::new(), 0u64);
            while Instant::now() < end {
                let variant = &variants[fastrand::usize(..variants.len())];
                let key = format!("bench-{c}-{n}-{run:016x}");
                n += 1;
                let t = Instant::now();
                match place_order(&client, &url, variant, &key).await {
                    Ok(_) => lat.push(t.elapsed()),
                    Err(f) => {
                        errors += 1;
                        if samples.len() < 3 {
                            samples.push(f.detail);
                        }
                    }
                }
            }
            (lat, errors, samples)
        }));
    }
    let mut orders = Orders {
        latencies: Vec::new(),
        errors: 0,
        samples: Vec::new(),
        secs: 0.0,
    };
    for t in tasks {
        let (lat, errors, samples) = t.await.expect("buyer task");
        orders.latencies.extend(lat);
        orders.errors += errors;
        orders.samples.extend(samples);
    }
    orders.secs = start.elapsed().as_secs_f64();
    orders.latencies.sort_unstable();
    orders
}

fn report_failures(what: &str, samples: &[String]) {
    for s in samples.iter().take(5) {
        eprintln!("{what} failed: {s}");
    }
}

async fn checkout(db: &TestDb, cli: &Cli, products: u32, variants: u32) -> anyhow::Result<()> {
    let pool = db.pool(4).await;
    eprintln!("seeding {products} products × {variants} variants…");
    commerce::demo::seed_bulk(&pool, products, variants).await?;
    // Stock never runs out: the bench measures placing orders, not refusing them.
    sqlx::query("UPDATE variants SET on_hand = 1000000")
        .execute(&pool)
        .await?;
    sqlx::query("VACUUM ANALYZE").execute(&pool).await?;
    let ids = Arc::new(variant_ids(&pool).await?);
    pool.close().await;
    let server = start_server(db, &[]).await?;
    // Warm-up: connections, prepared statements, caches.
    let warm = drive_orders(&server.base, cli.connections, 1, &ids).await;
    report_failures("warm-up order", &warm.samples);
    let run = drive_orders(&server.base, cli.connections, cli.seconds, &ids).await;
    report_failures("order", &run.samples);
    let rss = server.rss_kb();
    let row = Row {
        name: "cartCreate + cartLinesAdd + checkoutComplete",
        requests: run.latencies.len(),
        errors: run.errors,
        secs: run.secs,
        p50: percentile(&run.latencies, 0.50),
        p99: percentile(&run.latencies, 0.99),
        target: "≥ 500 orders/s",
        ceiling: None,
    };
    let pool = db.pool(1).await;
    let in_db: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&pool)
        .await?;
    pool.close().await;
    print_table(&[row], rss, cli, ("orders", "orders/s"));
    let placed = warm.latencies.len() + run.latencies.len();
    println!("| orders in the database (warm-up + run) | {in_db} | | | | | = {placed} placed |");
    Ok(())
}

/// How one buyer of the race ended.
enum Outcome {
    Sold,
    OutOfStock,
    Failed(String),
}

async fn race(db: &TestDb, buyers: usize, stock: i32) -> anyhow::Result<()> {
    let pool = db.pool(2).await;
    commerce::demo::seed_bulk(&pool, 1, 1).await?;
    sqlx::query("UPDATE variants SET on_hand = $1, allocated = 0")
        .bind(stock)
        .execute(&pool)
        .await?;
    let variant = variant_ids(&pool).await?.pop().context("no variant")?;
    let server = start_server(db, &[]).await?;
    let url = format!("{}/graphql", server.base);
    let barrier = Arc::new(Barrier::new(buyers));
    let carts = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for b in 0..buyers {
        let (url, variant, barrier, carts) = (url.clone(), variant.clone(), barrier.clone(), carts.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .expect("client");
            let cart = mutate(&client, &url, CART_CREATE_WITH, "cartCreate", json!({ "v": variant }))
                .await
                .and_then(|p| cart_token(&p));
            if cart.is_ok() {
                carts.fetch_add(1, Ordering::Relaxed);
            }
            // Every cart exists before any checkout starts.
            barrier.wait().await;
            let token = match cart {
                Ok(t) => t,
                Err(f) => return Outcome::Failed(f.detail),
            };
            let key = format!("race-{b}-{:016x}", fastrand::u64(..));
            match complete(&client, &url, &token, &key).await {
                Ok(_) => Outcome::Sold,
                Err(f) if f.codes.iter().any(|c| c == "OUT_OF_STOCK") => Outcome::OutOfStock,
                Err(f) => Outcome::Failed(f.detail),
            }
        }));
    }
    let (mut sold, mut out_of_stock, mut failed) = (0usize, 0usize, Vec::new());
    for t in tasks {
        match t.await.expect("buyer task") {
            Outcome::Sold => sold += 1,
            Outcome::OutOfStock => out_of_stock += 1,
            Outcome::Failed(detail) => failed.push(detail),
        }
    }
    report_failures("buyer", &failed);
    let (on_hand, allocated): (i32, i32) = sqlx::query_as("SELECT on_hand, allocated FROM variants")
        .fetch_one(&pool)
        .await?;
    let orders: i64 = sqlx::query_scalar("SELECT count(*) FROM orders")
        .fetch_one(&pool)
        .await?;
    let movements: i64 = sqlx::query_scalar("SELECT COALESCE(sum(delta_allocated), 0)::bigint FROM stock_movements")
        .fetch_one(&pool)
        .await?;
    pool.close().await;
    drop(server);
    let oversold = i64::try_from(sold)?.saturating_sub(i64::from(stock)).max(0);
    println!();
    println!(
        "| buyers | carts | stock | sold | out of stock | other errors | on_hand / allocated after | orders in DB \
         | movements Σ allocated | oversold | target |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    println!(
        "| {buyers} | {} | {stock} | {sold} | {out_of_stock} | {} | {on_hand} / {allocated} | {orders} | {movements} \
         | {oversold} | exactly {stock} sold, always |",
        carts.load(Ordering::Relaxed),
        failed.len()
    );
    Ok(())
}
