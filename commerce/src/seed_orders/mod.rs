//! Past orders for demos and benchmarks (`jangteo seed --orders N`): a shop's history over
//! the catalog that is there, with the members who placed it. Writes customers, orders,
//! order_lines, order_history, payments, shipments, refunds and coupon_redemptions the way
//! their owners would have, then rebuilds the statistics ([`crate::stats::rebuild`]). Stock
//! is never touched: these orders are history.
//!
//! The shape of a Korean D2C shop: weekdays busier than weekends (Monday most), lunch and
//! evening peaks in Seoul time, a January diet peak, gift peaks in the two weeks before
//! 설날 and 추석 and a lull on the holidays, November and December sales (11.11, Black
//! Friday), and 30% growth a year. Channels: mobile web 55%, app 20%, PC 15% (more in office
//! hours), marketplaces 10%. About 70% of orders are members', mostly repeat buyers; 30% are
//! guests'. About 15% use a coupon, 4% are never paid (expired or cancelled), 3% are
//! cancelled after payment (refunded in full), 2% are partly refunded after delivery.
//!
//! Everything is drawn from one seeded generator, in order: the same seed, catalog and end
//! time give the same orders (only ids' random bits, e-mail run tags and order numbers from
//! `order_number_seq` differ).
//!
//! By part: `calendar` (the generator and the days), `catalog` (what there is to sell),
//! `people` (members and where they live), `shop` (each order decided) and `batch`
//! (the rows written).
// A data generator: counts, weights and won go through f64 and back on purpose.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use sqlx::PgPool;
use uuid::Uuid;

mod batch;
mod calendar;
mod catalog;
mod people;
mod shop;

use self::{batch::Batch, calendar::plan_days, catalog::Catalog, shop::Shop};
use crate::{
    Error, SHOP_TZ, Settings, auth,
    stats::{self, Rebuilt},
};

/// What to seed.
#[derive(Clone, Copy, Debug)]
pub struct OrderSeed {
    /// Orders to create.
    pub orders: u64,
    /// The days they span, ending at `now`.
    pub days: u32,
    /// The random seed.
    pub seed: u64,
    /// The end of the period (normally the current time).
    pub now: DateTime<Utc>,
}

/// Where a seed is, for the caller to show.
#[derive(Clone, Copy, Debug)]
pub enum Progress {
    /// `done` of `of` orders are committed.
    Inserted {
        /// Orders committed.
        done: u64,
        /// Orders in all.
        of: u64,
    },
    /// All orders are in; the statistics are being rebuilt.
    Rebuilding,
}

/// What [`seed_orders`] made.
#[derive(Clone, Copy, Debug, Default)]
pub struct SeededOrders {
    /// Orders inserted.
    pub orders: u64,
    /// Of them paid (cancelled or refunded later included).
    pub paid: u64,
    /// Of them cancelled after payment (refunded in full).
    pub cancelled_after_payment: u64,
    /// Of them partly refunded.
    pub partly_refunded: u64,
    /// Of them never paid (expired or cancelled before the deposit).
    pub unpaid: u64,
    /// Of them placed by members.
    pub by_members: u64,
    /// Of them with a coupon.
    pub with_coupon: u64,
    /// Order lines inserted.
    pub lines: u64,
    /// Customers inserted (some signed up and never ordered).
    pub customers: u64,
    /// What the statistics rebuild read and wrote.
    pub rebuilt: Option<Rebuilt>,
}

/// Orders per transaction.
const BATCH: usize = 50_000;

/// Seeds `seed.orders` past orders over the catalog's published variants, in transactions
/// of [`BATCH`] orders, calling `progress` after each; then rebuilds the statistics and
/// analyzes the tables. Amounts follow the shop's rules in `settings` (shipping fees, bank
/// transfer due days) and the coupons and gift rules in the database.
/// Errors: `INVALID_INPUT` (no orders or days asked for; no published variant with a price:
/// seed a catalog first).
pub async fn seed_orders(
    pool: &PgPool,
    settings: &Settings,
    seed: OrderSeed,
    mut progress: impl FnMut(Progress),
) -> Result<SeededOrders, Error> {
    if seed.orders == 0 || seed.days == 0 {
        return Err(Error::Invalid {
            field: "orders",
            reason: "at least one order over at least one day".into(),
        });
    }
    let mut conn = pool.acquire().await?;
    let catalog = Catalog::load(&mut conn).await?;
    drop(conn);
    // One real argon2id hash for every seeded customer: nobody knows the password.
    let password_hash = auth::hash_password(auth::new_token().0).await?;
    let run = Uuid::now_v7().simple().to_string()[24..].to_owned();
    let mut shop = Shop::new(seed, settings, catalog, run.clone());
    let days = plan_days(seed, &mut shop.rng);
    let mut batch = Batch::default();
    let mut done = 0u64;
    for day in &days {
        shop.sign_ups(day, &mut batch);
        for at in shop.order_times(day) {
            shop.order(at, &mut batch);
            if batch.orders.ids.len() >= BATCH {
                done += batch.insert(pool, settings, &password_hash).await?;
                progress(Progress::Inserted { done, of: seed.orders });
            }
        }
    }
    if !batch.orders.ids.is_empty() || !batch.customers.ids.is_empty() {
        done += batch.insert(pool, settings, &password_hash).await?;
        progress(Progress::Inserted { done, of: seed.orders });
    }
    set_tiers(pool, seed.now, &run).await?;
    progress(Progress::Rebuilding);
    let mut out = shop.stats;
    out.rebuilt = Some(stats::rebuild(pool).await?);
    sqlx::query!(
        "ANALYZE customers, orders, order_lines, order_history, payments, shipments, refunds, coupon_redemptions,
                 sales_rollups"
    )
    .execute(pool)
    .await?;
    Ok(out)
}

/// Tiers from the paid amount of the three calendar months before this one (the monthly
/// evaluation), for this run's customers.
async fn set_tiers(pool: &PgPool, now: DateTime<Utc>, run: &str) -> Result<(), Error> {
    let this_month = now.with_timezone(&SHOP_TZ).date_naive().with_day(1).unwrap_or_default();
    let from = this_month
        .checked_sub_months(chrono::Months::new(3))
        .unwrap_or(this_month);
    let at = |d: NaiveDate| {
        SHOP_TZ
            .from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map(|t| t.to_utc())
    };
    sqlx::query!(
        "UPDATE customers c
            SET tier = CASE WHEN s.spent >= 200000 THEN 'VIP' WHEN s.spent >= 100000 THEN 'GOLD'
                            WHEN s.spent >= 50000 THEN 'SILVER' ELSE 'BASIC' END
           FROM (SELECT customer_id, sum(total) AS spent FROM orders
                  WHERE customer_id IS NOT NULL AND paid_at >= $1 AND paid_at < $2 AND status <> 'CANCELLED'
                  GROUP BY customer_id) s
          WHERE s.customer_id = c.id AND c.email LIKE $3",
        at(from),
        at(this_month),
        format!("seed-{run}-%"),
    )
    .execute(pool)
    .await?;
    Ok(())
}
