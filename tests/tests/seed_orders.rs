//! `jangteo seed --orders N`: a past the reports can be tried on, over the demo catalog:
//! every order consistent with the shop's rules, the shape of a real shop's weeks and days.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use commerce::{
    Settings, Won,
    seed_orders::{OrderSeed, SeededOrders, seed_orders},
    types::Zonecode,
};
use jangteo_tests::{TestDb, binary::jangteo};
use sqlx::PgPool;

async fn demo_with_orders(orders: u64, days: u32, seed: u64, now: DateTime<Utc>) -> (TestDb, PgPool, SeededOrders) {
    let db = TestDb::create().await;
    let pool = db.pool(4).await;
    commerce::demo::seed_demo(&pool).await.expect("demo catalog");
    let seeded = seed_orders(
        &pool,
        &Settings::defaults(),
        OrderSeed {
            orders,
            days,
            seed,
            now,
        },
        |_| {},
    )
    .await
    .expect("seed orders");
    (db, pool, seeded)
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn three_thousand_orders_over_ninety_days_look_like_a_shop() {
    // A fixed end, so the calendar (holidays, sales days) is the same on every run.
    let now: DateTime<Utc> = "2026-06-15T03:00:00Z".parse().expect("time");
    let (_db, pool, seeded) = demo_with_orders(3_000, 90, 42, now).await;
    assert_eq!(seeded.orders, 3_000);
    assert_eq!(count(&pool, "SELECT count(*) FROM orders").await, 3_000);

    channels_members_and_guests(&pool).await;
    amounts_follow_the_shop_rules(&pool).await;
    states_follow_the_age_of_the_order(&pool, now).await;
    payments_and_refunds_match(&pool).await;
    customers_signed_up_before_buying_and_come_back(&pool).await;
    weeks_and_days_have_their_shape(&pool).await;

    // The statistics were rebuilt from these orders.
    assert!(seeded.rebuilt.is_some_and(|r| r.orders > 0));
    assert!(count(&pool, "SELECT count(*) FROM sales_rollups").await > 0);
    assert_eq!(
        count(&pool, "SELECT coalesce(sum(paid_orders), 0)::int8 FROM customers").await,
        count(
            &pool,
            "SELECT count(*) FROM orders WHERE customer_id IS NOT NULL AND paid_at IS NOT NULL"
        )
        .await
    );
    // Past orders leave the stock alone.
    assert_eq!(count(&pool, "SELECT count(*) FROM stock_movements").await, 0);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM variants WHERE allocated <> 0").await,
        0
    );
}

async fn channels_members_and_guests(pool: &PgPool) {
    let rows: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT channel, count(*), count(channel_source), count(customer_id) FROM orders GROUP BY channel",
    )
    .fetch_all(pool)
    .await
    .expect("channels");
    let by: HashMap<&str, (i64, i64, i64)> = rows.iter().map(|(c, n, s, m)| (c.as_str(), (*n, *s, *m))).collect();
    for (channel, lo, hi) in [
        ("PC_WEB", 8, 25),
        ("MOBILE_WEB", 45, 65),
        ("APP", 12, 28),
        ("EXTERNAL", 5, 16),
    ] {
        let (n, sources, _) = by.get(channel).copied().unwrap_or_default();
        let pct = n * 100 / 3_000;
        assert!((lo..=hi).contains(&pct), "{channel}: {pct}%");
        // Only marketplace orders name their source.
        assert_eq!(sources, if channel == "EXTERNAL" { n } else { 0 }, "{channel}");
    }
    assert_eq!(by.len(), 4, "{rows:?}");
    let members: i64 = rows.iter().map(|r| r.3).sum();
    assert!((1_900..=2_300).contains(&members), "member orders: {members}");
    let sources = count(pool, "SELECT count(DISTINCT channel_source) FROM orders").await;
    assert!(sources >= 2, "marketplaces: {sources}");
}

/// Every order: lines add up to the subtotal, the coupon's discount, the shipping fee of
/// the settings for its zonecode, the tax-free part and VAT as checkout computes them.
async fn amounts_follow_the_shop_rules(pool: &PgPool) {
    type Row = (
        String,
        i64,
        i64,
        i64,
        i64,
        i64,
        i64,
        String,
        Option<String>,
        i64,
        i64,
        i64,
    );
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT o.number, o.subtotal, o.discount, o.shipping_fee, o.total, o.tax_free_amount, o.vat, o.zonecode,
                c.code, sum(l.line_total)::int8, coalesce(sum(l.line_total) FILTER (WHERE l.tax_free), 0)::int8,
                count(l.id) FILTER (WHERE l.unit_price * l.quantity <> l.line_total)
           FROM orders o JOIN order_lines l ON l.order_id = o.id LEFT JOIN coupons c ON c.id = o.coupon_id
          GROUP BY o.id, c.code",
    )
    .fetch_all(pool)
    .await
    .expect("amounts");
    assert_eq!(rows.len(), 3_000, "every order has lines");
    let shipping = Settings::defaults().shipping;
    let mut with_coupon = 0;
    for (number, subtotal, discount, fee, total, tax_free, vat, zonecode, code, lines, tax_free_lines, bad) in rows {
        assert_eq!(bad, 0, "{number}: line totals");
        assert_eq!(subtotal, lines, "{number}: subtotal");
        assert_eq!(total, subtotal - discount + fee, "{number}: total");
        assert!(discount <= subtotal, "{number}: discount");
        assert_eq!(
            code.is_some(),
            discount > 0,
            "{number}: a coupon, and only a coupon, discounts"
        );
        with_coupon += i32::from(code.is_some());
        let z = Zonecode::parse(&zonecode).expect("zonecode");
        let expected = commerce::pricing::shipping_fee(&shipping, Won::new(subtotal).expect("won"), Some(&z));
        assert_eq!(fee, expected.get(), "{number}: shipping fee");
        let expected_tax_free = tax_free_lines - discount * tax_free_lines / subtotal;
        assert_eq!(tax_free, expected_tax_free, "{number}: tax free");
        let expected_vat = Won::new(total - tax_free).expect("won").vat_included().get();
        assert_eq!(vat, expected_vat, "{number}: VAT");
    }
    assert!(
        (300..=600).contains(&with_coupon),
        "orders with a coupon: {with_coupon}"
    );
    let free = count(pool, "SELECT count(*) FROM orders WHERE shipping_fee = 0").await;
    assert!(free > 100, "free shipping from ₩50,000: {free}");
    // Numbers as checkout makes them: the Seoul date of the order and the sequence.
    assert_eq!(
        count(
            pool,
            "SELECT count(*) FROM orders WHERE number !~ '^[0-9]{8}-[0-9]{6}$'
                OR left(number, 8) <> to_char(created_at AT TIME ZONE 'Asia/Seoul', 'YYYYMMDD')"
        )
        .await,
        0
    );
    let next: i64 = count(pool, "SELECT nextval('order_number_seq')").await;
    assert!(next > 3_000, "later orders take later numbers");
    // Gifts of the demo's rule (₩60,000 and up) come at ₩0.
    assert!(
        count(
            pool,
            "SELECT count(*) FROM order_lines WHERE is_gift AND unit_price = 0"
        )
        .await
            > 0
    );
    assert_eq!(
        count(
            pool,
            "SELECT count(*) FROM order_lines WHERE is_gift AND unit_price <> 0"
        )
        .await,
        0
    );
}

async fn states_follow_the_age_of_the_order(pool: &PgPool, now: DateTime<Utc>) {
    type Row = (String, DateTime<Utc>, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let start = now - Duration::days(90);
    let rows: Vec<Row> = sqlx::query_as("SELECT status, created_at, paid_at, cancelled_at FROM orders")
        .fetch_all(pool)
        .await
        .expect("states");
    let mut states: BTreeMap<String, i64> = BTreeMap::new();
    for (status, created, paid, cancelled) in &rows {
        *states.entry(status.clone()).or_default() += 1;
        assert!(*created >= start && *created <= now, "{created}");
        if let Some(paid) = paid {
            assert!(paid >= created && *paid <= now, "paid {paid} for {created}");
        } else {
            assert!(["EXPIRED", "CANCELLED"].contains(&status.as_str()), "unpaid {status}");
        }
        if let Some(c) = cancelled {
            assert_eq!(status, "CANCELLED");
            assert!(c >= paid.as_ref().unwrap_or(created) && *c <= now);
        }
        // A month on, an order has come to rest.
        if now - *created > Duration::days(30) {
            assert!(
                ["COMPLETED", "CANCELLED", "EXPIRED"].contains(&status.as_str()),
                "{status} after a month"
            );
        }
    }
    for s in ["COMPLETED", "CANCELLED", "EXPIRED"] {
        assert!(states.contains_key(s), "{s}: {states:?}");
    }
    let moving: i64 = ["PAID", "PREPARING", "SHIPPED", "DELIVERED"]
        .iter()
        .filter_map(|s| states.get(*s))
        .sum();
    assert!(moving > 0, "recent orders are on their way: {states:?}");
    let unpaid = count(pool, "SELECT count(*) FROM orders WHERE paid_at IS NULL").await;
    assert!((30..=240).contains(&unpaid), "unpaid: {unpaid}");
    // Shipped orders have their parcel; delivered ones say when.
    assert_eq!(
        count(
            pool,
            "SELECT count(*) FROM orders o WHERE o.status IN ('SHIPPED', 'DELIVERED', 'COMPLETED')
                AND NOT EXISTS (SELECT 1 FROM shipments s WHERE s.order_id = o.id)"
        )
        .await,
        0
    );
    // The history ends where the order is.
    assert_eq!(
        count(
            pool,
            "SELECT count(*) FROM orders o WHERE o.status <> (SELECT h.to_status FROM order_history h
                WHERE h.order_id = o.id ORDER BY h.created_at DESC, h.id DESC LIMIT 1)"
        )
        .await,
        0
    );
}

async fn payments_and_refunds_match(pool: &PgPool) {
    assert_eq!(
        count(
            pool,
            "SELECT count(*) FROM orders o WHERE (o.paid_at IS NOT NULL) <> EXISTS (
                SELECT 1 FROM payments p WHERE p.order_id = o.id AND p.amount = o.total AND p.status = 'PAID'
                   AND p.provider = 'BANK_TRANSFER' AND p.method = 'BANK_TRANSFER')"
        )
        .await,
        0,
        "one bank-transfer payment of the total per paid order"
    );
    assert_eq!(
        count(
            pool,
            "SELECT count(*) FROM orders WHERE payment_method <> 'BANK_TRANSFER'"
        )
        .await,
        0
    );
    // Cancelled after payment: refunded in full when cancelled.
    let cancelled_paid = count(
        pool,
        "SELECT count(*) FROM orders WHERE status = 'CANCELLED' AND paid_at IS NOT NULL",
    )
    .await;
    assert!(
        (30..=180).contains(&cancelled_paid),
        "cancelled after payment: {cancelled_paid}"
    );
    assert_eq!(
        count(
            pool,
            "SELECT count(*) FROM orders o JOIN refunds r ON r.order_id = o.id
              WHERE o.status = 'CANCELLED' AND r.amount = o.total AND r.status = 'DONE'
                AND r.created_at = o.cancelled_at"
        )
        .await,
        cancelled_paid
    );
    // Partial refunds: a part, days after payment, on orders that stand.
    let partial = count(
        pool,
        "SELECT count(*) FROM orders o JOIN refunds r ON r.order_id = o.id
          WHERE o.status <> 'CANCELLED' AND r.amount < o.total AND r.created_at > o.paid_at + interval '1 day'",
    )
    .await;
    assert!((15..=120).contains(&partial), "partial refunds: {partial}");
    assert_eq!(
        count(pool, "SELECT count(*) FROM refunds").await,
        cancelled_paid + partial
    );
    assert_eq!(
        count(
            pool,
            "SELECT count(*) FROM refunds r JOIN orders o ON o.id = r.order_id WHERE o.paid_at IS NULL"
        )
        .await,
        0
    );
    // Coupons used are counted and redeemed.
    assert_eq!(
        count(pool, "SELECT coalesce(sum(used_count), 0)::int8 FROM coupons").await,
        count(pool, "SELECT count(*) FROM coupon_redemptions").await
    );
    assert_eq!(
        count(pool, "SELECT count(*) FROM coupon_redemptions").await,
        count(pool, "SELECT count(*) FROM orders WHERE coupon_id IS NOT NULL").await
    );
}

async fn customers_signed_up_before_buying_and_come_back(pool: &PgPool) {
    assert_eq!(
        count(
            pool,
            "SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.created_at < c.created_at"
        )
        .await,
        0
    );
    let repeat = count(
        pool,
        "SELECT count(*) FROM (SELECT customer_id FROM orders WHERE customer_id IS NOT NULL
                                GROUP BY customer_id HAVING count(*) >= 3) x",
    )
    .await;
    assert!(repeat >= 20, "customers with 3+ orders: {repeat}");
    let once = count(
        pool,
        "SELECT count(*) FROM (SELECT customer_id FROM orders WHERE customer_id IS NOT NULL
                                GROUP BY customer_id HAVING count(*) = 1) x",
    )
    .await;
    assert!(once > repeat, "most buy once: {once} vs {repeat}");
    let never = count(
        pool,
        "SELECT count(*) FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)",
    )
    .await;
    assert!(never > 0, "some sign up and never order");
    // Member orders carry the member's e-mail.
    assert_eq!(
        count(
            pool,
            "SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.email <> c.email"
        )
        .await,
        0
    );
    let (hashes, consents, tiers): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE password_hash LIKE '$argon2id$%'),
                count(*) FILTER (WHERE marketing_email AND marketing_email_at IS NOT NULL),
                count(DISTINCT tier)
           FROM customers",
    )
    .fetch_one(pool)
    .await
    .expect("customers");
    assert_eq!(hashes, count(pool, "SELECT count(*) FROM customers").await);
    assert!(consents > 0);
    assert!(tiers >= 2, "tiers: {tiers}");
}

async fn weeks_and_days_have_their_shape(pool: &PgPool) {
    let by_dow: Vec<(f64, i64)> = sqlx::query_as(
        "SELECT extract(isodow FROM created_at AT TIME ZONE 'Asia/Seoul')::float8, count(*)
           FROM orders GROUP BY 1 ORDER BY 1",
    )
    .fetch_all(pool)
    .await
    .expect("weekdays");
    let n: Vec<i64> = by_dow.iter().map(|r| r.1).collect();
    assert_eq!(n.len(), 7);
    let monday = n[0];
    assert!(n.iter().all(|&d| d <= monday), "Monday is the busiest: {n:?}");
    assert!(n[5] < n[2] && n[6] < n[2], "weekends are quieter than Wednesday: {n:?}");
    let peaks = count(
        pool,
        "SELECT count(*) FROM orders WHERE extract(hour FROM created_at AT TIME ZONE 'Asia/Seoul') IN (12, 21)",
    )
    .await;
    let night = count(
        pool,
        "SELECT count(*) FROM orders WHERE extract(hour FROM created_at AT TIME ZONE 'Asia/Seoul') IN (3, 4)",
    )
    .await;
    assert!(
        peaks > night * 5,
        "lunch and evening peaks: {peaks} vs {night} at night"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_same_seed_gives_the_same_orders() {
    let now = Utc::now();
    let shape = |pool: PgPool| async move {
        type Row = (DateTime<Utc>, String, String, i64, Option<DateTime<Utc>>);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT created_at, channel, status, total, paid_at FROM orders ORDER BY created_at, total, channel",
        )
        .fetch_all(&pool)
        .await
        .expect("orders");
        rows
    };
    let (_a, pool_a, _) = demo_with_orders(300, 30, 7, now).await;
    let (_b, pool_b, _) = demo_with_orders(300, 30, 7, now).await;
    let (_c, pool_c, _) = demo_with_orders(300, 30, 8, now).await;
    let (a, b, c) = (shape(pool_a).await, shape(pool_b).await, shape(pool_c).await);
    assert_eq!(a.len(), 300);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_seeds_orders_over_a_catalog_and_refuses_an_empty_one() {
    let db = TestDb::create().await;
    let out = jangteo()
        .args(["seed", "--orders", "10"])
        .env("DATABASE_URL", db.url())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("catalog") && err.contains("--demo"), "{err}");

    let out = jangteo()
        .args(["seed", "--demo", "--orders", "400", "--days", "30", "--seed", "3"])
        .env("DATABASE_URL", db.url())
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let pool = db.pool(1).await;
    assert_eq!(count(&pool, "SELECT count(*) FROM orders").await, 400);
    assert!(count(&pool, "SELECT count(*) FROM products").await >= 20);
    let oldest = count(
        &pool,
        "SELECT (extract(epoch FROM now() - min(created_at)) / 86400)::int8 FROM orders",
    )
    .await;
    assert!(oldest <= 30, "within --days: {oldest}");
    // Again, over the catalog that is there now: more orders, new customers.
    let out = jangteo()
        .args(["seed", "--orders", "100", "--days", "7"])
        .env("DATABASE_URL", db.url())
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(count(&pool, "SELECT count(*) FROM orders").await, 500);

    let out = jangteo()
        .args(["seed"])
        .env("DATABASE_URL", db.url())
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--orders"));
}
