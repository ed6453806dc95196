//! `bench reports`: the admin reports over a seeded order history, one call at a time,
//! beside PostgreSQL's ceiling for the same statements.

use std::time::{Duration, Instant};

use chrono::{Datelike, Months, NaiveDate, Utc};
use jangteo_tests::TestDb;
use serde_json::{Value, json};

use super::{percentile, pgbench, start_server};

const SALES_REPORT: &str = "query SalesReport($from: Date!, $to: Date!, $g: Granularity!, $by: SalesGroupBy!) { \
    salesReport(from: $from, to: $to, granularity: $g, groupBy: $by) { \
    rows { period key label orders units grossSales discounts shippingFees refunds netSales } \
    totals { orders units grossSales discounts shippingFees refunds netSales } } }";
const SALES_SUMMARY: &str = "query SalesSummary($d: Date!) { salesSummary(date: $d) { date orders netSales \
    averageOrderValue previousDay { orders netSales averageOrderValue } \
    sameDayLastWeek { orders netSales averageOrderValue } topProducts { name units netSales } } }";
const MEMBER_REPORT: &str = "query MemberReport($from: Date!, $to: Date!) { memberReport(from: $from, to: $to, \
    granularity: MONTH) { rows { period signUps buyers firstTimeBuyers repeatBuyers repeatRate } \
    totals { signUps buyers firstTimeBuyers repeatBuyers repeatRate } } }";
const CUSTOMER_STATS: &str =
    "query CustomerStats { customerStats { total withOrders marketingEmail marketingSms byTier { tier count } } }";
const SALES_CHART: &str = "query SalesChart($from: Date!, $to: Date!) { salesChart(from: $from, to: $to, \
    granularity: WEEK, groupBy: NONE, kind: LINE, width: 1200, height: 600) { png svg } }";

/// Seconds pgbench runs each report's statements.
const REPORT_CEILING_SECS: u64 = 5;

/// One admin operation, timed call by call.
struct Timed {
    name: String,
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
    bytes: usize,
    /// Milliseconds per run of the same statements in pgbench (one client), if measured.
    ceiling_ms: Option<f64>,
    /// p99 must stay under this, if there is a target.
    target: Option<Duration>,
}

/// `calls` POSTs of `body` to `/admin/graphql`, one after the other, after three warm-ups.
async fn timed_calls(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    name: String,
    body: &Value,
    calls: usize,
) -> Timed {
    let mut t = Timed {
        name,
        latencies: Vec::with_capacity(calls),
        errors: 0,
        first_error: None,
        bytes: 0,
        ceiling_ms: None,
        target: None,
    };
    for i in 0..calls + 3 {
        let started = Instant::now();
        let result = match client.post(url).bearer_auth(token).json(body).send().await {
            Ok(r) => {
                let status = r.status();
                match r.bytes().await {
                    Ok(b) if status.is_success() && !b.windows(9).any(|w| w == b"\"errors\":") => Ok(b.len()),
                    Ok(b) => Err(format!(
                        "HTTP {status}: {}",
                        String::from_utf8_lossy(&b[..b.len().min(500)])
                    )),
                    Err(e) => Err(e.to_string()),
                }
            }
            Err(e) => Err(e.to_string()),
        };
        let elapsed = started.elapsed();
        if i < 3 {
            continue; // warm-up: connections, prepared statements, caches
        }
        t.latencies.push(elapsed);
        match result {
            Ok(n) => t.bytes = n,
            Err(e) => {
                t.errors += 1;
                t.first_error.get_or_insert(e);
            }
        }
    }
    t.latencies.sort_unstable();
    t
}

/// The main statements of `commerce::stats::sales_report` for one cut, values inlined: the
/// rollup rows of the range (the same for every granularity: periods are summed in the
/// service), and the whole range's totals for the cuts that need them.
fn sales_report_script(group_by: &str, from: NaiveDate, to: NaiveDate) -> String {
    let dim = match group_by {
        "CATEGORY" => "CATEGORY",
        "PRODUCT" => "PRODUCT",
        "SKU" => "SKU",
        _ => "ALL",
    };
    // What `commerce::stats::sales_report` reads; it sums the rows itself.
    let channels = if group_by == "CHANNEL" {
        "{PC_WEB,MOBILE_WEB,APP,EXTERNAL}"
    } else {
        "{*}"
    };
    let by_channel = group_by == "CHANNEL";
    let aggregate = format!(
        "WITH k AS (SELECT CASE WHEN {by_channel} THEN channel ELSE key END AS key, max(day) AS newest, \
         array_agg(day) AS days, array_agg(orders) AS orders, array_agg(units) AS units, array_agg(gross) AS gross, \
         array_agg(discounts) AS discounts, array_agg(shipping - shipping_refunds) AS shipping, \
         array_agg(refunds) AS refunds FROM sales_rollups WHERE dim = '{dim}' AND channel = ANY('{channels}') \
         AND day BETWEEN '{from}' AND '{to}' GROUP BY 1) \
         SELECT k.key, r.label, k.days, k.orders, k.units, k.gross, k.discounts, k.shipping, k.refunds FROM k \
         LEFT JOIN sales_rollups r ON r.dim = '{dim}' AND r.channel = ('{channels}'::text[])[1] \
         AND r.day = k.newest AND r.key = k.key;\n"
    );
    let totals = if dim == "ALL" {
        String::new()
    } else {
        format!(
            "SELECT coalesce(sum(orders), 0)::int8, coalesce(sum(units), 0)::int8, coalesce(sum(gross), 0)::int8, \
             coalesce(sum(discounts), 0)::int8, coalesce(sum(shipping - shipping_refunds), 0)::int8, \
             coalesce(sum(refunds), 0)::int8 FROM sales_rollups \
             WHERE dim = 'ALL' AND day BETWEEN '{from}' AND '{to}' AND channel = coalesce(NULL::text, '*');\n"
        )
    };
    format!("{aggregate}{totals}")
}

/// The last twelve full Seoul calendar months before today's.
fn last_full_year(today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let this_month = today.with_day(1).unwrap_or(today);
    let from = this_month.checked_sub_months(Months::new(12)).unwrap_or(this_month);
    (from, this_month.pred_opt().unwrap_or(this_month))
}

pub async fn reports(db: &TestDb, orders: u64, days: u32, calls: usize) -> anyhow::Result<()> {
    use commerce::seed_orders::{OrderSeed, Progress, seed_orders};
    let pool = db.pool(4).await;
    commerce::demo::seed_demo(&pool).await?;
    eprintln!("seeding {orders} orders over {days} days…");
    let started = Instant::now();
    let seed = OrderSeed {
        orders,
        days,
        seed: 2026,
        now: Utc::now(),
    };
    let seeded = seed_orders(&pool, &commerce::Settings::defaults(), seed, |p| match p {
        Progress::Inserted { done, of } => {
            if done % 200_000 == 0 || done == of {
                eprintln!("  {done} of {of} orders ({:.0} s)", started.elapsed().as_secs_f64());
            }
        }
        Progress::Rebuilding => eprintln!("  rebuilding the statistics ({:.0} s)", started.elapsed().as_secs_f64()),
    })
    .await?;
    let seed_secs = started.elapsed().as_secs_f64();
    // The steady state of a running shop: autovacuum has set the visibility map and the statistics.
    sqlx::query("VACUUM ANALYZE").execute(&pool).await?;
    let token = jangteo_tests::staff_session(&pool, "bench-owner@example.com", commerce::staff::Role::Owner).await;
    pool.close().await;

    let server = start_server(db, &[]).await?;
    let url = format!("{}/admin/graphql", server.base);
    let client = jangteo_tests::fakes::http_client();
    let today = Utc::now().with_timezone(&commerce::SHOP_TZ).date_naive();
    let (from, to) = last_full_year(today);
    let (from_s, to_s) = (from.to_string(), to.to_string());
    let mut ops = Vec::new();
    for g in ["DAY", "WEEK", "MONTH"] {
        for by in ["NONE", "CATEGORY", "PRODUCT", "SKU", "CHANNEL"] {
            let body = json!({ "query": SALES_REPORT, "variables": { "from": from_s, "to": to_s, "g": g, "by": by } });
            let mut t = timed_calls(&client, &url, &token, format!("salesReport {g} × {by}"), &body, calls).await;
            t.target = Some(Duration::from_millis(100));
            ops.push((t, Some(sales_report_script(by, from, to))));
        }
    }
    let yesterday = (today - chrono::Days::new(1)).to_string();
    let mut summary = timed_calls(
        &client,
        &url,
        &token,
        format!("salesSummary {yesterday}"),
        &json!({ "query": SALES_SUMMARY, "variables": { "d": yesterday } }),
        calls,
    )
    .await;
    summary.target = Some(Duration::from_millis(20));
    ops.push((summary, None));
    let year = json!({ "from": from_s, "to": to_s });
    for (name, query) in [
        ("memberReport MONTH", MEMBER_REPORT),
        ("customerStats", CUSTOMER_STATS),
        ("salesChart LINE 1200×600 WEEK", SALES_CHART),
    ] {
        let body = json!({ "query": query, "variables": year });
        ops.push((
            timed_calls(&client, &url, &token, name.to_owned(), &body, calls).await,
            None,
        ));
    }
    let rss = server.rss_kb();
    drop(server);
    let mut rows = Vec::new();
    for (mut t, script) in ops {
        if let Some(script) = script {
            t.ceiling_ms = pgbench(&db.url(), &script, 1, REPORT_CEILING_SECS)
                .ok()
                .filter(|tps| *tps > 0.0)
                .map(|tps| 1000.0 / tps);
        }
        if let Some(e) = &t.first_error {
            eprintln!("{} failed: {e}", t.name);
        }
        rows.push(t);
    }
    println!();
    println!(
        "seeded the demo catalog + {} orders over {days} days in {seed_secs:.0} s ({} paid, {} customers, {} lines)",
        seeded.orders, seeded.paid, seeded.customers, seeded.lines
    );
    print_reports(&rows, rss, from, to, calls);
    Ok(())
}

fn print_reports(rows: &[Timed], rss: (u64, u64), from: NaiveDate, to: NaiveDate, calls: usize) {
    println!();
    println!(
        "| operation ({from} – {to}; {calls} calls each, one at a time) | p50 ms | p99 ms | errors | response KB \
         | PostgreSQL ceiling ms | ratio | target (p99) | pass |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---|---|");
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    for r in rows {
        let (p50, p99) = (percentile(&r.latencies, 0.50), percentile(&r.latencies, 0.99));
        let (ceiling, ratio) = match r.ceiling_ms {
            Some(c) if ms(p50) > 0.0 => (format!("{c:.2}"), format!("{:.2}", c / ms(p50))),
            _ => ("–".to_owned(), "–".to_owned()),
        };
        let (target, pass) = match r.target {
            Some(t) => (
                format!("< {} ms", t.as_millis()),
                if p99 < t && r.errors == 0 { "pass" } else { "FAIL" }.to_owned(),
            ),
            None => ("–".to_owned(), if r.errors == 0 { "–" } else { "FAIL" }.to_owned()),
        };
        #[allow(clippy::cast_precision_loss)]
        let kb = r.bytes as f64 / 1024.0;
        println!(
            "| {} | {:.2} | {:.2} | {} | {kb:.1} | {ceiling} | {ratio} | {target} | {pass} |",
            r.name,
            ms(p50),
            ms(p99),
            r.errors
        );
    }
    #[allow(clippy::cast_precision_loss)]
    let mb = |kb: u64| kb as f64 / 1024.0;
    println!(
        "| server RSS now / peak | {:.1} MB / {:.1} MB | | | | | | < 100 MB | {} |",
        mb(rss.0),
        mb(rss.1),
        if rss.1 < 100 * 1024 { "pass" } else { "FAIL" }
    );
}
