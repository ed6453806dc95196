//! Load benchmark of the real `jangteo` binary over HTTP; prints a table.
//!
//! `cargo run --release -p jangteo-tests --bin bench -- catalog`
//!
//! Seeds a fresh database (1,000 products × 3 variants by default), starts `jangteo serve`
//! as its own process (so its memory is its own), drives each scenario with N concurrent
//! keep-alive connections for a fixed time, and reports req/s, p50/p99 and server RSS
//! against the targets of DESIGN.md §8.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use jangteo_tests::{TestDb, test_server};
use serde_json::json;

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
}

const LISTING: &str = "query Listing { products(first: 20) { totalCount edges { cursor node { id slug name priceFrom \
                       images { url } variants { id price quantityAvailable } } } pageInfo { hasNextPage endCursor } } }";
const DETAIL: &str = "query Detail($slug: String!) { product(slug: $slug) { id name description priceFrom \
                      images { url alt } variants { id sku name price compareAtPrice quantityAvailable } } }";

struct Row {
    name: &'static str,
    requests: usize,
    errors: usize,
    secs: f64,
    p50: Duration,
    p99: Duration,
    target: &'static str,
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

async fn start_server(db: &TestDb) -> anyhow::Result<Server> {
    let bin = jangteo_binary()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let url = db_url(db);
    let child = Command::new(bin)
        .args(["serve", "--no-migrate", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting jangteo")?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
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

fn db_url(db: &TestDb) -> String {
    let o = &db.options;
    match o.get_socket() {
        Some(dir) => format!(
            "postgres://{}@localhost:{}/{}?host={}",
            o.get_username(),
            o.get_port(),
            db.name,
            dir.display()
        ),
        None => format!(
            "postgres://{}@{}:{}/{}",
            o.get_username(),
            o.get_host(),
            o.get_port(),
            db.name
        ),
    }
}

/// Runs `connections` closed-loop clients for `secs`, each sending `body(i)`.
async fn drive(
    base: &str,
    connections: usize,
    secs: u64,
    body: Arc<dyn Fn(usize) -> serde_json::Value + Send + Sync>,
) -> (Vec<Duration>, usize, f64) {
    let url = format!("{base}/graphql");
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..connections {
        let (url, body) = (url.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .expect("client");
            let (mut lat, mut errors, mut i) = (Vec::new(), 0usize, c);
            while Instant::now() < end {
                let t = Instant::now();
                let ok = match client.post(&url).json(&body(i)).send().await {
                    Ok(r) if r.status().is_success() => r
                        .bytes()
                        .await
                        .is_ok_and(|b| !b.windows(9).any(|w| w == b"\"errors\":")),
                    _ => false,
                };
                lat.push(t.elapsed());
                errors += usize::from(!ok);
                i += connections;
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await.expect("client task");
        all.extend(lat);
        errors += e;
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort_unstable();
    (all, errors, secs)
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

async fn scenario(
    server: &Server,
    cli: &Cli,
    name: &'static str,
    target: &'static str,
    body: Arc<dyn Fn(usize) -> serde_json::Value + Send + Sync>,
) -> Row {
    // Warm-up: connections, prepared statements, caches.
    drive(&server.base, cli.connections, 1, body.clone()).await;
    let (lat, errors, secs) = drive(&server.base, cli.connections, cli.seconds, body).await;
    Row {
        name,
        requests: lat.len(),
        errors,
        secs,
        p50: percentile(&lat, 0.50),
        p99: percentile(&lat, 0.99),
        target,
    }
}

fn print_table(rows: &[Row], rss: (u64, u64), cli: &Cli) {
    println!();
    println!(
        "| scenario ({} connections, {} s) | requests | req/s | p50 ms | p99 ms | errors | target |",
        cli.connections, cli.seconds
    );
    println!("|---|---:|---:|---:|---:|---:|---|");
    for r in rows {
        #[allow(clippy::cast_precision_loss)]
        let rps = r.requests as f64 / r.secs;
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {} |",
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
    let _ = test_server().await;
    let db = TestDb::create().await;
    match cli.scenario {
        Scenario::Catalog { products, variants } => {
            let pool = db.pool(4).await;
            eprintln!("seeding {products} products × {variants} variants…");
            commerce::demo::seed_bulk(&pool, products, variants).await?;
            // The steady state of a running shop: autovacuum has set the visibility map
            // (index-only counts) and the statistics.
            sqlx::query("VACUUM ANALYZE").execute(&pool).await?;
            let slugs: Arc<Vec<String>> = Arc::new(
                sqlx::query_scalar("SELECT slug FROM products WHERE published")
                    .fetch_all(&pool)
                    .await?,
            );
            pool.close().await;
            let server = start_server(&db).await?;
            let listing = scenario(
                &server,
                &cli,
                "products(first: 20) + variants",
                "≥ 2,000 req/s, p99 < 20 ms",
                Arc::new(|_| json!({ "query": LISTING, "operationName": "Listing" })),
            )
            .await;
            let seed = fastrand::usize(..);
            let detail = scenario(
                &server,
                &cli,
                "product(slug), random slug",
                "≥ 5,000 req/s",
                Arc::new(move |i| {
                    let n = seed.wrapping_add(i.wrapping_mul(2_654_435_761)) % slugs.len();
                    json!({ "query": DETAIL, "operationName": "Detail", "variables": { "slug": slugs[n] } })
                }),
            )
            .await;
            let rss = server.rss_kb();
            print_table(&[listing, detail], rss, &cli);
        }
    }
    Ok(())
}
