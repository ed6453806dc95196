//! `database.read_url`: the reports read from a replica, and only read. The "replica" here is
//! a second database with a shop's history in it, reached read-only
//! (`default_transaction_read_only=on`, as a hot standby refuses writes); the main database
//! has no statistics tables at all, so a report that read from it would fail.

use chrono::{Days, Utc};
use commerce::{
    SHOP_TZ, Settings,
    seed_orders::{OrderSeed, seed_orders},
    staff::Role,
};
use jangteo_tests::{TestDb, admin_at, binary, data, staff_session};
use serde_json::json;

const REPORTS: &str = r"query Reports($from: Date!, $to: Date!) {
    salesReport(from: $from, to: $to, granularity: MONTH) { totals { orders netSales } }
    salesSummary(date: $to) { orders }
    memberReport(from: $from, to: $to, granularity: MONTH) { totals { signUps buyers } }
    customerStats { total }
    salesChart(from: $from, to: $to, granularity: WEEK, kind: LINE, width: 400, height: 300) { svg }
}";

/// `url` with `default_transaction_read_only=on` for every session made from it.
fn read_only(url: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20default_transaction_read_only%3Don")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_read_from_the_read_url_and_never_write() {
    let (main, replica) = (TestDb::create().await, TestDb::create().await);
    let replica_pool = replica.pool(4).await;
    commerce::demo::seed_demo(&replica_pool).await.expect("demo catalog");
    let now = Utc::now();
    let seeded = seed_orders(
        &replica_pool,
        &Settings::defaults(),
        OrderSeed {
            orders: 60,
            days: 20,
            seed: 15,
            now,
        },
        |_| {},
    )
    .await
    .expect("seed orders");
    assert!(seeded.paid > 0 && seeded.customers > 0, "{seeded:?}");
    let main_pool = main.pool(2).await;
    sqlx::raw_sql(
        "ALTER TABLE sales_rollups RENAME TO sales_rollups_not_here;
         ALTER TABLE member_periods RENAME TO member_periods_not_here;
         ALTER TABLE customer_counts RENAME TO customer_counts_not_here;",
    )
    .execute(&main_pool)
    .await
    .expect("no statistics on the main database");
    let token = staff_session(&main_pool, "owner@replica.example", Role::Owner).await;

    // The option holds: a session made from the URL cannot write.
    let url = read_only(&replica.url());
    let refused = sqlx::query("UPDATE stats_state SET rebuilt_at = now()")
        .execute(&sqlx::PgPool::connect(&url).await.expect("connect read-only"))
        .await
        .expect_err("a read-only session refuses writes");
    let code = refused
        .as_database_error()
        .and_then(sqlx::error::DatabaseError::code)
        .map(std::borrow::Cow::into_owned);
    assert_eq!(code.as_deref(), Some("25006"), "read_only_sql_transaction: {refused}");

    let today = now.with_timezone(&SHOP_TZ).date_naive();
    let range = json!({ "from": (today - Days::new(40)).to_string(), "to": today.to_string() });
    let (_service, base) = binary::serve(
        &main,
        &[
            ("JANGTEO_DATABASE__READ_URL", url.as_str()),
            ("JANGTEO_DATABASE__READ_MAX_CONNECTIONS", "2"),
        ],
    )
    .await;
    let r = admin_at(&base, &token, REPORTS, range.clone()).await;
    let d = data(&r);
    // The replica's history, which the main database doesn't have.
    let customers: i64 = sqlx::query_scalar("SELECT count(*) FROM customers")
        .fetch_one(&replica_pool)
        .await
        .expect("count");
    assert!(customers > 0);
    assert_eq!(d["customerStats"]["total"], customers);
    assert!(
        d["salesReport"]["totals"]["orders"].as_i64().is_some_and(|n| n > 0),
        "{d}"
    );
    assert!(
        d["salesReport"]["totals"]["netSales"].as_i64().is_some_and(|n| n > 0),
        "{d}"
    );
    assert!(
        d["memberReport"]["totals"]["buyers"].as_i64().is_some_and(|n| n > 0),
        "{d}"
    );
    assert!(d["salesSummary"]["orders"].is_i64(), "{d}");
    assert!(
        d["salesChart"]["svg"].as_str().is_some_and(|s| s.starts_with("<svg")),
        "{d}"
    );
    // Everything else still reads and writes the main database.
    let me = admin_at(&base, &token, "{ staffMe { email } }", json!({})).await;
    assert_eq!(data(&me)["staffMe"]["email"], "owner@replica.example");

    // Without read_url the same reports read the main database, which has no statistics.
    let (_plain, plain_base) = binary::serve(&main, &[]).await;
    let r = admin_at(&plain_base, &token, REPORTS, range).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "INTERNAL", "{r}");
}
