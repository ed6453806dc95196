//! `bench catalog`: the storefront's catalog reads over the bulk catalog, uncached (POST, the
//! in-process cache off) and through the cache (automatic persisted queries over GET, as a
//! CDN in front would send them), each beside PostgreSQL's ceiling for the same page; then
//! the cache filled to its bound with distinct keys, to show the memory it holds.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use jangteo_tests::TestDb;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader},
    net::TcpStream,
};

use super::{Cli, Row, pgbench, print_table, start_server};

const LISTING: &str = "query Listing { products(first: 20) { totalCount edges { cursor node { id slug name priceFrom \
                       images { url } variants { id price quantityAvailable } } } pageInfo { hasNextPage endCursor } } }";
const DETAIL: &str = "query Detail($slug: String!) { product(slug: $slug) { id name description priceFrom \
                      images { url alt } variants { id sku name price compareAtPrice quantityAvailable } } }";

/// The in-process cache's default bound (`cache.max_bytes`), filled in the last step.
const CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// `bench catalog`.
pub async fn catalog(db: &TestDb, cli: &Cli, products: u32, variants: u32) -> anyhow::Result<()> {
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

    let seed = fastrand::usize(..);
    let random_slug = {
        let slugs = slugs.clone();
        move |i: usize| slugs[seed.wrapping_add(i.wrapping_mul(2_654_435_761)) % slugs.len()].clone()
    };
    // The same statements straight from pgbench, in the same run: the machine's speed
    // varies from day to day, the ratio much less.
    let listing_sql = commerce::catalog::listing_sql(
        &commerce::catalog::ProductFilter::default(),
        commerce::catalog::ProductSort::default(),
        20,
        commerce::catalog::Include {
            variants: true,
            total: true,
        },
    )?;
    let scripts = (format!("{listing_sql};\n"), detail_script(&slugs)?);
    let (listing, detail, uncached_rss) = uncached(db, cli, Arc::new(random_slug.clone()), &scripts).await?;

    // Through the cache: the queries registered once, then GET by hash.
    let server = start_server(db, &[]).await?;
    let addr: SocketAddr = server.base.trim_start_matches("http://").parse()?;
    register(&server.base, LISTING, "Listing").await?;
    register(&server.base, DETAIL, "Detail").await?;
    let listing_request = get(&apq_path(LISTING, "Listing", None));
    let cached_listing = raw_scenario(
        addr,
        cli,
        "products(first: 20) + variants, APQ GET, cached",
        "≥ 10,000 req/s, p99 < 10 ms",
        Arc::new(move |_| listing_request.clone()),
    )
    .await;
    let cached_detail = raw_scenario(
        addr,
        cli,
        "product(slug), random slug, APQ GET, cached",
        "≥ 15,000 req/s, p99 < 10 ms",
        Arc::new(move |i| get(&apq_path(DETAIL, "Detail", Some(&json!({ "slug": random_slug(i) }))))),
    )
    .await;
    // Full: distinct keys (an unused variable, as a cache-busting client would send) until
    // well past the bound; the cache evicts, memory stays.
    let size = get_once_fresh(addr, &apq_path(LISTING, "Listing", None)).await?.max(1);
    let fill = usize::try_from(CACHE_BYTES * 3 / 2 / size as u64).unwrap_or(10_000);
    eprintln!("filling the cache: {fill} distinct listings of {size} bytes…");
    let filled = get_scenario_count(addr, cli.connections, fill, |i| {
        apq_path(LISTING, "Listing", Some(&json!({ "bust": i })))
    })
    .await;
    let cached_rss = server.rss_kb();

    let (listing_ceiling, detail_ceiling) = (listing.ceiling, detail.ceiling);
    let rows = [
        listing,
        detail,
        Row {
            ceiling: listing_ceiling,
            ..cached_listing
        },
        Row {
            ceiling: detail_ceiling,
            ..cached_detail
        },
    ];
    print_table(&rows, cached_rss, cli, ("requests", "req/s"));
    #[allow(clippy::cast_precision_loss)]
    let mb = |kb: u64| kb as f64 / 1024.0;
    println!(
        "| uncached server RSS now / peak | {:.1} MB / {:.1} MB | | | | | < 100 MB |",
        mb(uncached_rss.0),
        mb(uncached_rss.1)
    );
    println!(
        "(the cached server's RSS is after {filled} further distinct listings of {size} bytes, {:.0} MB of \
         responses against a bound of {} MB)",
        mb((filled as u64 * size as u64) / 1024),
        CACHE_BYTES >> 20
    );
    Ok(())
}

/// The listing and random product pages with the in-process cache off, each beside
/// pgbench running its statement (`scripts`), and the server's RSS.
async fn uncached(
    db: &TestDb,
    cli: &Cli,
    random_slug: Arc<dyn Fn(usize) -> String + Send + Sync>,
    (listing_script, detail_script): &(String, String),
) -> anyhow::Result<(Row, Row, (u64, u64))> {
    let server = start_server(db, &[("JANGTEO_CACHE__MAX_ENTRIES", "0")]).await?;
    let addr: SocketAddr = server.base.trim_start_matches("http://").parse()?;
    let listing_request = post(&json!({ "query": LISTING, "operationName": "Listing" }));
    let listing = beside_pgbench(
        db,
        listing_script,
        addr,
        cli,
        ("products(first: 20) + variants, uncached", "≥ 2,000 req/s, p99 < 20 ms"),
        Arc::new(move |_| listing_request.clone()),
    )
    .await;
    let detail = beside_pgbench(
        db,
        detail_script,
        addr,
        cli,
        ("product(slug), random slug, uncached", "≥ 5,000 req/s"),
        Arc::new(move |i| {
            post(&json!({ "query": DETAIL, "operationName": "Detail", "variables": { "slug": random_slug(i) } }))
        }),
    )
    .await;
    Ok((listing, detail, server.rss_kb()))
}

/// Rounds of the scenario and of pgbench running `script`, in turn, half of `cli.seconds`
/// each: the machine's speed drifts within minutes too, so the two are measured side by side
/// rather than one after the other. The row has every round's requests and the rounds'
/// mean ceiling.
async fn beside_pgbench(
    db: &TestDb,
    script: &str,
    addr: SocketAddr,
    cli: &Cli,
    (name, target): (&'static str, &'static str),
    request: Requests,
) -> Row {
    const ROUNDS: u64 = 2;
    let half = (cli.seconds / ROUNDS).max(1);
    drive_raw(addr, cli.connections, 1, request.clone()).await;
    let (mut latencies, mut errors, mut secs, mut ceilings) = (Vec::new(), 0, 0.0, Vec::new());
    for _ in 0..ROUNDS {
        let (lat, e, s) = drive_raw(addr, cli.connections, half, request.clone()).await;
        latencies.extend(lat);
        errors += e;
        secs += s;
        match pgbench(&db.url(), script, cli.connections, half) {
            Ok(tps) => ceilings.push(tps),
            Err(e) => eprintln!("{e:#}"),
        }
    }
    // Each round's are sorted; the percentiles need them sorted together.
    latencies.sort_unstable();
    #[allow(clippy::cast_precision_loss)]
    let ceiling = (ceilings.len() == usize::try_from(ROUNDS).unwrap_or(0))
        .then(|| ceilings.iter().sum::<f64>() / ceilings.len() as f64);
    Row {
        ceiling,
        ..Row::measured(name, target, (latencies, errors, secs))
    }
}

fn sha256_hex(s: &str) -> String {
    graphql::cache::hex(&graphql::cache::sha256(s.as_bytes()))
}

/// `/graphql?…` of a persisted query by hash.
fn apq_path(query: &str, operation: &str, variables: Option<&Value>) -> String {
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(query) } }).to_string();
    let mut qs = form_urlencoded::Serializer::new(String::new());
    qs.append_pair("operationName", operation);
    if let Some(v) = variables {
        qs.append_pair("variables", &v.to_string());
    }
    qs.append_pair("extensions", &extensions);
    format!("/graphql?{}", qs.finish())
}

/// Registers `query` as a persisted query (POST with its hash).
async fn register(base: &str, query: &str, operation: &str) -> anyhow::Result<()> {
    let body = json!({ "query": query, "operationName": operation, "variables": { "slug": "none" },
        "extensions": { "persistedQuery": { "version": 1, "sha256Hash": sha256_hex(query) } } });
    let r = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .json(&body)
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("registering {operation}: HTTP {}", r.status());
    }
    Ok(())
}

/// One keep-alive HTTP/1.1 connection that sends whole requests and reads whole responses:
/// the smallest client, so the machine's two cores go to the server (for the uncached POSTs
/// too: reqwest and a JSON body built per request cost the server about a tenth of a core).
struct Conn(BufReader<TcpStream>);

impl Conn {
    async fn open(addr: SocketAddr) -> std::io::Result<Conn> {
        let s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        Ok(Conn(BufReader::new(s)))
    }

    /// GETs `path`; returns the status and the body's length, the body in `body`.
    async fn get(&mut self, path: &str, body: &mut Vec<u8>) -> std::io::Result<(u16, usize)> {
        self.send(&get(path), body).await
    }

    /// Sends `request` (a whole HTTP/1.1 request); returns the status and the body's length,
    /// the body in `body`.
    async fn send(&mut self, request: &[u8], body: &mut Vec<u8>) -> std::io::Result<(u16, usize)> {
        self.0.get_mut().write_all(request).await?;
        let mut line = String::new();
        self.0.read_line(&mut line).await?;
        let status = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut len = 0usize;
        loop {
            line.clear();
            if self.0.read_line(&mut line).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                len = value.trim().parse().unwrap_or(0);
            }
        }
        body.resize(len, 0);
        self.0.read_exact(body).await?;
        Ok((status, len))
    }
}

/// A GET of `path`.
fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: bench\r\nAccept: application/json\r\n\r\n").into_bytes()
}

/// A POST of the GraphQL request `body` to `/graphql`.
fn post(body: &Value) -> Vec<u8> {
    let json = body.to_string();
    let mut request = format!(
        "POST /graphql HTTP/1.1\r\nHost: bench\r\nAccept: application/json\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        json.len()
    )
    .into_bytes();
    request.extend_from_slice(json.as_bytes());
    request
}

/// The body size of one GET on a fresh connection.
async fn get_once_fresh(addr: SocketAddr, path: &str) -> anyhow::Result<usize> {
    let mut conn = Conn::open(addr).await?;
    let mut body = Vec::new();
    let (status, len) = conn.get(path, &mut body).await?;
    if status != 200 {
        bail!("GET {path}: HTTP {status}: {}", String::from_utf8_lossy(&body));
    }
    Ok(len)
}

fn ok(status: u16, body: &[u8]) -> bool {
    status == 200 && !body.windows(9).any(|w| w == b"\"errors\":")
}

/// The request to send, by request number.
type Requests = Arc<dyn Fn(usize) -> Vec<u8> + Send + Sync>;

/// `connections` closed-loop clients for `secs`, each on one kept-alive connection.
async fn drive_raw(addr: SocketAddr, connections: usize, secs: u64, request: Requests) -> (Vec<Duration>, usize, f64) {
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for c in 0..connections {
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors, mut i) = (Vec::new(), 0usize, c);
            let mut body = Vec::new();
            let mut conn = Conn::open(addr).await.ok();
            while Instant::now() < end {
                let r = request(i);
                let t = Instant::now();
                let good = match conn.as_mut() {
                    Some(c) => c.send(&r, &mut body).await.is_ok_and(|(s, _)| ok(s, &body)),
                    None => false,
                };
                lat.push(t.elapsed());
                if !good {
                    errors += 1;
                    conn = Conn::open(addr).await.ok();
                }
                i += connections;
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((lat, e)) = t.await {
            all.extend(lat);
            errors += e;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort_unstable();
    (all, errors, secs)
}

/// One second of warm-up (connections, prepared statements, every key kept), then
/// `cli.seconds` measured.
async fn raw_scenario(addr: SocketAddr, cli: &Cli, name: &'static str, target: &'static str, request: Requests) -> Row {
    drive_raw(addr, cli.connections, 1, request.clone()).await;
    Row::measured(
        name,
        target,
        drive_raw(addr, cli.connections, cli.seconds, request).await,
    )
}

/// Sends `n` GETs (`path(i)`) over `connections` connections; returns how many succeeded.
async fn get_scenario_count(
    addr: SocketAddr,
    connections: usize,
    n: usize,
    path: impl Fn(usize) -> String + Send + Sync + Clone + 'static,
) -> usize {
    let mut tasks = Vec::new();
    for c in 0..connections {
        let path = path.clone();
        tasks.push(tokio::spawn(async move {
            let mut done = 0;
            let mut body = Vec::new();
            let Ok(mut conn) = Conn::open(addr).await else {
                return 0;
            };
            let mut i = c;
            while i < n {
                if conn.get(&path(i), &mut body).await.is_ok_and(|(s, _)| ok(s, &body)) {
                    done += 1;
                }
                i += connections;
            }
            done
        }));
    }
    let mut done = 0;
    for t in tasks {
        done += t.await.unwrap_or(0);
    }
    done
}

/// The statement of `commerce::catalog::product_any` for a published product by slug, the
/// slug made by pgbench from the bulk seed's pattern (`bulk-{run}-{n}`).
const DETAIL_SQL: &str = "SELECT p.id, p.slug, p.name, p.description, p.category_id, p.published, p.tax_free, \
     p.price_min, p.created_at, p.updated_at, \
     (SELECT COALESCE(json_agg(json_build_array(m.id, m.storage, m.key, m.url, \
        m.content_type, m.width, m.height, m.bytes, m.alt, \
        m.widths, m.created_at) ORDER BY pm.position), '[]') \
        FROM product_media pm JOIN media m ON m.id = pm.media_id WHERE pm.product_id = p.id) AS images, \
     (SELECT COALESCE(json_agg(json_build_array(v.id, v.sku, v.name, v.options, v.price, \
        v.compare_at_price, v.on_hand, v.allocated, \
        v.low_stock_threshold, v.media_id) ORDER BY v.position, v.sku), '[]') \
        FROM variants v WHERE v.product_id = p.id) AS variants \
     FROM products p \
     WHERE p.id = COALESCE(NULL, (SELECT s.id FROM products s WHERE s.slug = :prefix || :n)) AND (false OR p.published)";

/// A pgbench script asking for random slugs of the bulk seed (`bulk-{run}-{n}`).
fn detail_script(slugs: &[String]) -> anyhow::Result<String> {
    let mut prefix = None;
    let (mut lo, mut hi) = (u64::MAX, 0);
    for slug in slugs {
        let (p, n) = slug.rsplit_once('-').context("bulk slug")?;
        let n: u64 = n.parse().context("bulk slug number")?;
        if *prefix.get_or_insert(p) != p {
            bail!("bulk slugs of several runs");
        }
        (lo, hi) = (lo.min(n), hi.max(n));
    }
    let prefix = prefix.context("no products")?;
    // Our own seed's prefix (`bulk-` and hex digits): safe to inline as a literal.
    let sql = DETAIL_SQL.replace(":prefix", &format!("'{prefix}-'"));
    Ok(format!("\\set n random({lo}, {hi})\n{sql};\n"))
}
