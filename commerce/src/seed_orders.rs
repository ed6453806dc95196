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
// A data generator: counts, weights and won go through f64 and back on purpose.
#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    Error, SHOP_TZ, Settings, Won, auth, pricing,
    stats::{self, Rebuilt},
    types::Zonecode,
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

// ---------------------------------------------------------------------------------------
// Randomness

/// SplitMix64: small, fast and good enough for test data; seeded, so runs repeat.
struct Rng(u64);

impl Rng {
    fn u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn f64(&mut self) -> f64 {
        (self.u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `lo..hi` (seconds, won…).
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.f64() * (hi - lo) as f64) as i64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// An index drawn by the weights of a cumulative table.
    fn pick(&mut self, cumulative: &[f64]) -> usize {
        let x = self.f64() * cumulative.last().copied().unwrap_or(0.0);
        cumulative
            .partition_point(|&c| c <= x)
            .min(cumulative.len().saturating_sub(1))
    }

    /// A version 7 id for something made at `at`: time-ordered like `Uuid::now_v7`.
    fn id_at(&mut self, at: DateTime<Utc>) -> Uuid {
        let mut bytes = [0u8; 10];
        bytes[..8].copy_from_slice(&self.u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.u64().to_le_bytes()[..2]);
        uuid::Builder::from_unix_timestamp_millis(u64::try_from(at.timestamp_millis()).unwrap_or(0), &bytes).into_uuid()
    }
}

fn cumulative(weights: &[f64]) -> Vec<f64> {
    weights
        .iter()
        .scan(0.0, |acc, w| {
            *acc += w;
            Some(*acc)
        })
        .collect()
}

fn secs(s: i64) -> Duration {
    Duration::seconds(s)
}

// ---------------------------------------------------------------------------------------
// The calendar

/// Orders per hour of a Seoul day: a lunch peak and a larger evening one.
const HOURS: [f64; 24] = [
    3.0, 1.8, 1.0, 0.6, 0.5, 0.6, 1.2, 2.2, 3.2, 4.2, 5.0, 5.8, 7.0, 6.5, 5.2, 5.0, 4.8, 4.6, 4.6, 5.4, 6.6, 7.6, 7.2,
    5.2,
];

/// 설날 and 추석 (the day itself; the holiday is the day before to the day after).
#[rustfmt::skip]
const HOLIDAYS: [(i32, u32, u32); 18] = [
    (2022, 2, 1), (2022, 9, 10), (2023, 1, 22), (2023, 9, 29), (2024, 2, 10), (2024, 9, 17),
    (2025, 1, 29), (2025, 10, 6), (2026, 2, 17), (2026, 9, 25), (2027, 2, 7), (2027, 9, 15),
    (2028, 1, 27), (2028, 10, 3), (2029, 2, 13), (2029, 9, 22), (2030, 2, 3), (2030, 9, 12),
];

/// How busy a Seoul calendar day is, before growth and noise.
fn day_weight(d: NaiveDate) -> f64 {
    let weekday = match d.weekday() {
        Weekday::Mon => 1.22,
        Weekday::Tue => 1.12,
        Weekday::Wed => 1.07,
        Weekday::Thu => 1.03,
        Weekday::Fri => 0.95,
        Weekday::Sat => 0.78,
        Weekday::Sun => 0.88,
    };
    let month = [1.25, 0.98, 1.05, 1.0, 1.04, 0.95, 0.9, 0.88, 1.0, 0.97, 1.18, 1.12][d.month0() as usize];
    let mut w = weekday * month;
    // New year, new diet: the first three weeks of January.
    if d.month() == 1 && (2..=21).contains(&d.day()) {
        w *= 1.2;
    }
    for (y, m, day) in HOLIDAYS {
        let Some(h) = NaiveDate::from_ymd_opt(y, m, day) else {
            continue;
        };
        let before = (h - d).num_days();
        if (4..=14).contains(&before) {
            w *= 1.7; // gift sets, before the last delivery day
        } else if (-1..=3).contains(&before) {
            w *= 0.55; // couriers stop; families travel
        }
    }
    if d.month() == 11 {
        // 11.11 sales, and Black Friday (the fourth Friday) to Cyber Monday.
        let nov1 = NaiveDate::from_ymd_opt(d.year(), 11, 1).map_or(0, |f| f.weekday().num_days_from_monday());
        let fourth_friday = 1 + (4 + 7 - nov1) % 7 + 21;
        if d.day() == 11 {
            w *= 1.9;
        } else if d.day() == 10 || d.day() == 12 {
            w *= 1.2;
        } else if (fourth_friday..=fourth_friday + 3).contains(&d.day()) {
            w *= 1.5;
        }
    }
    if d.month() == 12 && (d.day() == 24 || d.day() == 25) || d.month() == 1 && d.day() == 1 {
        w *= 0.75;
    }
    w
}

/// One Seoul day of the period (the first and last may be partial).
struct Day {
    date: NaiveDate,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    orders: u64,
}

/// The days of the period with the number of orders of each: `seed.orders` in all,
/// shared by the days' weights (calendar × growth × noise × the part of the day inside).
fn plan_days(seed: OrderSeed, rng: &mut Rng) -> Vec<Day> {
    let start = seed.now - Duration::days(i64::from(seed.days));
    let (first, last) = (
        start.with_timezone(&SHOP_TZ).date_naive(),
        seed.now.with_timezone(&SHOP_TZ).date_naive(),
    );
    let midnight = |d: NaiveDate| {
        SHOP_TZ
            .from_local_datetime(&d.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map_or(start, |t| t.to_utc())
    };
    let mut days = Vec::new();
    let mut weights = Vec::new();
    let hours_total: f64 = HOURS.iter().sum();
    let mut d = first;
    while d <= last {
        let (day_start, day_end) = (midnight(d), midnight(d + Duration::days(1)));
        let (s, e) = (day_start.max(start), day_end.min(seed.now));
        // The share of the day's orders that falls inside the period.
        let mut inside = 0.0;
        for (h, w) in HOURS.iter().enumerate() {
            let hs = day_start + Duration::hours(h as i64);
            let overlap = (e.min(hs + Duration::hours(1)) - s.max(hs))
                .num_seconds()
                .clamp(0, 3600);
            inside += w * overlap as f64 / 3600.0;
        }
        let years = (d - first).num_days() as f64 / 365.0;
        let noise = 0.88 + 0.24 * rng.f64();
        weights.push(day_weight(d) * 1.3f64.powf(years) * noise * inside / hours_total);
        days.push(Day {
            date: d,
            start: s,
            end: e,
            orders: 0,
        });
        d += Duration::days(1);
    }
    // Largest remainder: the counts add up to the orders asked for.
    let total: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights.iter().map(|w| w / total * seed.orders as f64).collect();
    let mut given = 0u64;
    for (day, x) in days.iter_mut().zip(&exact) {
        day.orders = x.floor() as u64;
        given += day.orders;
    }
    let mut order: Vec<usize> = (0..days.len()).collect();
    order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    for i in order
        .into_iter()
        .cycle()
        .take(seed.orders.saturating_sub(given) as usize)
    {
        days[i].orders += 1;
    }
    days
}

// ---------------------------------------------------------------------------------------
// What there is to sell

struct Sku {
    variant: Uuid,
    product: Uuid,
    product_name: String,
    variant_name: String,
    sku: String,
    price: i64,
    tax_free: bool,
}

struct Coupon {
    id: Uuid,
    code: String,
    kind: String,
    value: i64,
    max_discount: Option<i64>,
    min_subtotal: i64,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    /// Uses left, when limited.
    left: Option<i64>,
    once_per_customer: bool,
    members_only: bool,
}

impl Coupon {
    /// Mirrors [`pricing::coupon_discount`] for a coupon that applies.
    fn discount(&self, subtotal: i64) -> i64 {
        let raw = if self.kind == "PERCENT" {
            let pct = subtotal * self.value.clamp(0, 100) / 100;
            self.max_discount.map_or(pct, |cap| pct.min(cap))
        } else {
            self.value
        };
        raw.clamp(0, subtotal)
    }
}

struct GiftRule {
    min_subtotal: Option<i64>,
    required_product: Option<Uuid>,
    channel: Option<String>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    quantity: i32,
    gift: Sku,
}

struct Catalog {
    skus: Vec<Sku>,
    coupons: Vec<Coupon>,
    gifts: Vec<GiftRule>,
    carriers: Vec<String>,
}

impl Catalog {
    async fn load(conn: &mut PgConnection) -> Result<Catalog, Error> {
        let skus: Vec<Sku> = sqlx::query!(
            r#"SELECT v.id, v.product_id, p.name AS product_name, v.name AS variant_name, v.sku, v.price, p.tax_free
                 FROM variants v JOIN products p ON p.id = v.product_id
                WHERE p.published AND v.price > 0
                ORDER BY p.created_at, p.id, v.position, v.sku"#
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| Sku {
            variant: r.id,
            product: r.product_id,
            product_name: r.product_name,
            variant_name: r.variant_name,
            sku: r.sku,
            price: r.price,
            tax_free: r.tax_free,
        })
        .collect();
        if skus.is_empty() {
            return Err(Error::Invalid {
                field: "catalog",
                reason: "no published variant with a price to order: seed a catalog first \
                         (`jangteo seed --demo` or `--products N --variants M`)"
                    .into(),
            });
        }
        let coupons = sqlx::query!(
            "SELECT id, code, kind, value, max_discount, min_subtotal, starts_at, ends_at, usage_limit, used_count,
                    per_customer_limit, members_only
               FROM coupons WHERE active ORDER BY created_at, code"
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| Coupon {
            id: r.id,
            code: r.code,
            kind: r.kind,
            value: r.value,
            max_discount: r.max_discount,
            min_subtotal: r.min_subtotal,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            left: r.usage_limit.map(|l| i64::from(l) - i64::from(r.used_count)),
            once_per_customer: r.per_customer_limit == Some(1),
            members_only: r.members_only,
        })
        .collect();
        let gifts = sqlx::query!(
            r#"SELECT g.min_subtotal, g.required_product_id, g.channel, g.starts_at, g.ends_at, g.gift_quantity,
                      v.id, v.product_id, p.name AS product_name, v.name AS variant_name, v.sku, p.tax_free
                 FROM gift_rules g JOIN variants v ON v.id = g.gift_variant_id JOIN products p ON p.id = v.product_id
                WHERE g.active AND p.published
                ORDER BY g.created_at, g.id"#
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| GiftRule {
            min_subtotal: r.min_subtotal,
            required_product: r.required_product_id,
            channel: r.channel,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            quantity: r.gift_quantity,
            gift: Sku {
                variant: r.id,
                product: r.product_id,
                product_name: r.product_name,
                variant_name: r.variant_name,
                sku: r.sku,
                price: 0,
                tax_free: r.tax_free,
            },
        })
        .collect();
        let carriers = sqlx::query_scalar!("SELECT code FROM carriers WHERE active ORDER BY position, code")
            .fetch_all(&mut *conn)
            .await?;
        Ok(Catalog {
            skus,
            coupons,
            gifts,
            carriers,
        })
    }
}

// ---------------------------------------------------------------------------------------
// People and places

#[rustfmt::skip]
const SURNAMES: [(&str, f64); 20] = [
    ("김", 21.5), ("이", 14.7), ("박", 8.4), ("최", 4.7), ("정", 4.3), ("강", 2.4), ("조", 2.1), ("윤", 2.1),
    ("장", 2.0), ("임", 1.7), ("한", 1.5), ("오", 1.5), ("서", 1.5), ("신", 1.5), ("권", 1.4), ("황", 1.4),
    ("안", 1.4), ("송", 1.3), ("류", 1.2), ("홍", 1.1),
];

const GIVEN: [&str; 40] = [
    "민준", "서연", "서준", "지우", "도윤", "서윤", "예준", "하윤", "시우", "민서", "하준", "지유", "주원", "윤서",
    "지호", "채원", "지후", "수아", "준우", "지민", "현우", "지아", "건우", "다은", "우진", "은서", "선우", "예은",
    "민재", "수빈", "현준", "소율", "연우", "예린", "유준", "하은", "정우", "지원", "승우", "유진",
];

/// (weight, zonecode, road address, jibun address, building): roughly where people live.
/// Jeju and Ulleung pay the remote-area fee of the settings.
#[rustfmt::skip]
const ADDRESSES: [(f64, &str, &str, &str, &str); 24] = [
    (6.0, "06236", "서울특별시 강남구 테헤란로 152", "서울특별시 강남구 역삼동 737", "강남파이낸스센터"),
    (4.0, "05551", "서울특별시 송파구 올림픽로 300", "서울특별시 송파구 신천동 29", "롯데월드타워"),
    (4.0, "03925", "서울특별시 마포구 월드컵북로 396", "서울특별시 마포구 상암동 1601", "누리꿈스퀘어"),
    (3.0, "01811", "서울특별시 노원구 동일로 1414", "서울특별시 노원구 상계동 701", "상계주공아파트"),
    (3.0, "07327", "서울특별시 영등포구 여의대로 108", "서울특별시 영등포구 여의도동 60", "파크원"),
    (3.0, "04524", "서울특별시 중구 세종대로 110", "서울특별시 중구 태평로1가 31", ""),
    (5.0, "13529", "경기도 성남시 분당구 판교역로 235", "경기도 성남시 분당구 삼평동 681", "에이치스퀘어"),
    (4.0, "16514", "경기도 수원시 영통구 광교중앙로 140", "경기도 수원시 영통구 하동 1020", "광교자연앤힐스테이트"),
    (4.0, "10403", "경기도 고양시 일산동구 중앙로 1275", "경기도 고양시 일산동구 장항동 868", ""),
    (3.0, "18469", "경기도 화성시 동탄대로 537", "경기도 화성시 오산동 967", "동탄역 롯데캐슬"),
    (3.0, "14055", "경기도 안양시 동안구 시민대로 235", "경기도 안양시 동안구 관양동 1591", ""),
    (3.0, "11780", "경기도 의정부시 시민로 1", "경기도 의정부시 의정부동 1", ""),
    (4.0, "21999", "인천광역시 연수구 컨벤시아대로 165", "인천광역시 연수구 송도동 24-5", "포스코타워송도"),
    (4.0, "48058", "부산광역시 해운대구 센텀중앙로 79", "부산광역시 해운대구 우동 1484", "센텀사이언스파크"),
    (2.0, "47285", "부산광역시 부산진구 중앙대로 672", "부산광역시 부산진구 부전동 503-15", ""),
    (3.0, "42025", "대구광역시 수성구 동대구로 364", "대구광역시 수성구 범어동 179-1", ""),
    (2.0, "35209", "대전광역시 서구 둔산로 100", "대전광역시 서구 둔산동 1420", ""),
    (2.0, "61945", "광주광역시 서구 내방로 111", "광주광역시 서구 치평동 1200", ""),
    (1.0, "44675", "울산광역시 남구 중앙로 201", "울산광역시 남구 신정동 646-4", ""),
    (1.0, "30151", "세종특별자치시 한누리대로 2130", "세종특별자치시 보람동 660", ""),
    (1.0, "28501", "충청북도 청주시 상당구 상당로 82", "충청북도 청주시 상당구 북문로2가 89-1", ""),
    (1.0, "54968", "전북특별자치도 전주시 완산구 효자로 225", "전북특별자치도 전주시 완산구 효자동2가 1227", ""),
    (1.0, "63122", "제주특별자치도 제주시 문연로 6", "제주특별자치도 제주시 연동 312-1", ""),
    (0.3, "40240", "경상북도 울릉군 울릉읍 울릉순환로 220", "경상북도 울릉군 울릉읍 도동리 24", ""),
];

#[rustfmt::skip]
const NOTES: [(&str, f64); 5] = [
    ("", 55.0), ("문 앞에 놓아주세요", 25.0), ("부재 시 경비실에 맡겨주세요", 10.0), ("배송 전 연락 바랍니다", 6.0),
    ("공동현관 비밀번호 #1234", 4.0),
];

/// A member: who they are and where their parcels go.
struct Member {
    id: Uuid,
    email: String,
    name: String,
    mobile: String,
    address: usize,
    detail: String,
    orders: u32,
}

/// A name, a mobile number, an address and its detail line.
#[derive(Clone)]
struct Person {
    name: String,
    mobile: String,
    address: usize,
    detail: String,
}

// ---------------------------------------------------------------------------------------
// The shop, order by order

/// The channels with their base shares, and which share of each is members'.
const CHANNELS: [(&str, f64, f64); 4] = [
    ("PC_WEB", 0.15, 0.70),
    ("MOBILE_WEB", 0.55, 0.72),
    ("APP", 0.20, 0.97),
    ("EXTERNAL", 0.10, 0.10),
];
const MARKETPLACES: [(&str, f64); 3] = [("네이버 스마트스토어", 6.0), ("쿠팡", 3.0), ("카카오톡 선물하기", 1.0)];

/// Of member orders, the share by a customer buying for the first time (early on, all are).
const NEW_MEMBER_SHARE: f64 = 0.42;
/// The chance that a returning member's order is their last.
const CHURN: f64 = 0.06;
/// Sign-ups that never order, per new buying member.
const IDLE_SIGN_UPS: f64 = 0.3;
/// Orders that use a coupon (when one applies).
const COUPON_SHARE: f64 = 0.15;

struct Shop<'a> {
    rng: Rng,
    now: DateTime<Utc>,
    start: DateTime<Utc>,
    due: Duration,
    shipping: &'a crate::settings::ShippingSettings,
    catalog: Catalog,
    run: String,
    sku_weights: Vec<f64>,
    hours: Vec<f64>,
    /// Channel shares in office hours (more PC) and outside them.
    channels_office: Vec<f64>,
    channels_other: Vec<f64>,
    surnames: Vec<f64>,
    addresses: Vec<f64>,
    zonecodes: Vec<Option<Zonecode>>,
    notes: Vec<f64>,
    marketplaces: Vec<f64>,
    members: Vec<Member>,
    /// How likely each member is to come back.
    loyalty: Loyalty,
    guests: u64,
    customers: u64,
    /// Orders so far, and those a coupon applied to, to reach [`COUPON_SHARE`].
    coupon_eligible: u64,
    stats: SeededOrders,
}

/// One order, decided.
struct Planned {
    at: DateTime<Utc>,
    channel: &'static str,
    source: Option<&'static str>,
    member: Option<usize>,
    first_order: bool,
}

impl<'a> Shop<'a> {
    fn new(seed: OrderSeed, settings: &'a Settings, catalog: Catalog, run: String) -> Shop<'a> {
        let mut rng = Rng(seed.seed);
        // Best sellers: a Zipf-like share by a shuffled rank of the products, and within a
        // product, its first options more than the later ones.
        let mut products: Vec<Uuid> = Vec::new();
        for s in &catalog.skus {
            if products.last() != Some(&s.product) {
                products.push(s.product);
            }
        }
        for i in (1..products.len()).rev() {
            products.swap(i, rng.below(i + 1));
        }
        let rank: std::collections::HashMap<Uuid, usize> = products.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        let mut weights = Vec::with_capacity(catalog.skus.len());
        let mut position = 0usize;
        for (i, s) in catalog.skus.iter().enumerate() {
            position = if i > 0 && catalog.skus[i - 1].product == s.product {
                position + 1
            } else {
                0
            };
            let r = rank.get(&s.product).copied().unwrap_or(0);
            weights.push(1.0 / ((r + 1) as f64).powf(0.9) / ((position + 1) as f64).powf(0.6));
        }
        Shop {
            now: seed.now,
            start: seed.now - Duration::days(i64::from(seed.days)),
            due: Duration::days(settings.bank_transfer.due_days.max(1)),
            shipping: &settings.shipping,
            sku_weights: cumulative(&weights),
            hours: cumulative(&HOURS),
            channels_office: cumulative(&CHANNELS.map(|(c, share, _)| if c == "PC_WEB" { share * 1.6 } else { share })),
            channels_other: cumulative(&CHANNELS.map(|(c, share, _)| if c == "PC_WEB" { share * 0.75 } else { share })),
            surnames: cumulative(&SURNAMES.map(|s| s.1)),
            addresses: cumulative(&ADDRESSES.map(|a| a.0)),
            zonecodes: ADDRESSES.iter().map(|a| Zonecode::parse(a.1).ok()).collect(),
            notes: cumulative(&NOTES.map(|n| n.1)),
            marketplaces: cumulative(&MARKETPLACES.map(|m| m.1)),
            catalog,
            run,
            members: Vec::new(),
            loyalty: Loyalty::default(),
            guests: 0,
            customers: 0,
            coupon_eligible: 0,
            stats: SeededOrders::default(),
            rng,
        }
    }

    /// The day's order times, in order: hours by [`HOURS`], inside the day's part of the period.
    fn order_times(&mut self, day: &Day) -> Vec<DateTime<Utc>> {
        let midnight = SHOP_TZ
            .from_local_datetime(&day.date.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map_or(day.start, |t| t.to_utc());
        let mut times: Vec<DateTime<Utc>> = (0..day.orders)
            .map(|_| {
                for _ in 0..32 {
                    let h = self.rng.pick(&self.hours) as i64;
                    let t = midnight + secs(h * 3600 + self.rng.range(0, 3600));
                    if t >= day.start && t < day.end {
                        return t;
                    }
                }
                day.start + secs(self.rng.range(0, (day.end - day.start).num_seconds().max(1)))
            })
            .collect();
        times.sort_unstable();
        times
    }

    fn person(&mut self) -> Person {
        let surname = SURNAMES[self.rng.pick(&self.surnames)].0;
        let name = format!("{surname}{}", GIVEN[self.rng.below(GIVEN.len())]);
        let mobile = if self.rng.chance(0.97) {
            format!("010{:08}", self.rng.below(100_000_000))
        } else {
            let prefix = ["011", "016", "017", "019"][self.rng.below(4)];
            format!("{prefix}{:07}", self.rng.below(10_000_000))
        };
        let address = self.rng.pick(&self.addresses);
        let detail = if ADDRESSES[address].4.is_empty() && self.rng.chance(0.3) {
            format!("{}층", 1 + self.rng.below(5))
        } else {
            format!(
                "{}동 {}호",
                101 + self.rng.below(12),
                (1 + self.rng.below(25)) * 100 + 1 + self.rng.below(4)
            )
        };
        Person {
            name,
            mobile,
            address,
            detail,
        }
    }

    /// A customer signing up at `created`, into the batch.
    fn sign_up(&mut self, created: DateTime<Utc>, batch: &mut Batch) -> Member {
        self.customers += 1;
        let p = self.person();
        let id = self.rng.id_at(created);
        let email = format!("seed-{}-{}@example.com", self.run, self.customers);
        let marketing_email = self.rng.chance(0.42);
        let marketing_sms = self.rng.chance(if marketing_email { 0.6 } else { 0.1 });
        let c = &mut batch.customers;
        c.ids.push(id);
        c.emails.push(email.clone());
        c.names.push(p.name.clone());
        c.mobiles.push(p.mobile.clone());
        c.created.push(created);
        c.marketing_email.push(marketing_email);
        c.marketing_sms.push(marketing_sms);
        self.stats.customers += 1;
        Member {
            id,
            email,
            name: p.name,
            mobile: p.mobile,
            address: p.address,
            detail: p.detail,
            orders: 0,
        }
    }

    /// Members who sign up on `day` and never order (yet).
    fn sign_ups(&mut self, day: &Day, batch: &mut Batch) {
        let expected = day.orders as f64 * 0.7 * NEW_MEMBER_SHARE * IDLE_SIGN_UPS;
        let n = expected.floor() as u64 + u64::from(self.rng.chance(expected.fract()));
        let span = (day.end - day.start).num_seconds().max(1);
        for _ in 0..n {
            let at = day.start + secs(self.rng.range(0, span));
            self.sign_up(at, batch);
        }
    }

    /// A returning member, by loyalty; now and then it is their last order.
    fn returning(&mut self) -> usize {
        let m = self.loyalty.find(self.rng.f64() * self.loyalty.total());
        if self.rng.chance(CHURN) {
            self.loyalty.set(m, 0.0);
        }
        m
    }

    fn plan(&mut self, at: DateTime<Utc>, batch: &mut Batch) -> Planned {
        let seoul = at.with_timezone(&SHOP_TZ);
        let office = seoul.weekday().num_days_from_monday() < 5 && (9..18).contains(&seoul.hour());
        let shares = if office {
            &self.channels_office
        } else {
            &self.channels_other
        };
        let (channel, _, members) = CHANNELS[self.rng.pick(shares)];
        let source = (channel == "EXTERNAL").then(|| MARKETPLACES[self.rng.pick(&self.marketplaces)].0);
        if !self.rng.chance(members) {
            return Planned {
                at,
                channel,
                source,
                member: None,
                first_order: false,
            };
        }
        let (member, first_order) = if self.loyalty.total() <= 0.0 || self.rng.chance(NEW_MEMBER_SHARE) {
            // Most sign up at checkout; some joined weeks before their first order.
            let before = if self.rng.chance(0.65) {
                self.rng.range(60, 20 * 60)
            } else {
                self.rng.range(3600, 45 * 86_400)
            };
            let mut created = at - secs(before);
            if created < self.start {
                created = self.start + secs(self.rng.range(0, (at - self.start).num_seconds().max(1)));
            }
            let m = self.sign_up(created.min(at), batch);
            self.members.push(m);
            // Half never come back; of the rest, some are regulars and a few buy all the time.
            let loyalty = match self.rng.f64() {
                x if x < 0.5 => 0.0,
                x if x < 0.8 => 1.0,
                x if x < 0.95 => 3.0,
                _ => 10.0,
            };
            self.loyalty.push(loyalty);
            (self.members.len() - 1, true)
        } else {
            (self.returning(), false)
        };
        self.members[member].orders += 1;
        Planned {
            at,
            channel,
            source,
            member: Some(member),
            first_order,
        }
    }

    /// Lines: 1–3 different variants by popularity, quantities by price.
    fn lines(&mut self) -> Vec<(usize, i32)> {
        let n = [1, 1, 1, 1, 1, 2, 2, 2, 3, 3][self.rng.below(10)].min(self.catalog.skus.len());
        let mut lines: Vec<(usize, i32)> = Vec::with_capacity(n);
        while lines.len() < n {
            let i = self.rng.pick(&self.sku_weights);
            if lines.iter().any(|l| l.0 == i) {
                continue;
            }
            let price = self.catalog.skus[i].price;
            let q = if price < 5_000 {
                [1, 1, 2, 3, 5, 5, 10, 10][self.rng.below(8)]
            } else if price < 20_000 {
                [1, 1, 1, 1, 1, 1, 1, 2, 2, 3][self.rng.below(10)]
            } else {
                [1, 1, 1, 1, 1, 1, 1, 1, 2][self.rng.below(9)]
            };
            lines.push((i, q));
        }
        lines
    }

    /// The best coupon the customer may use on `subtotal` at `at`, if they use one.
    fn coupon(&mut self, p: &Planned, subtotal: i64) -> Option<usize> {
        let eligible: Vec<usize> = (0..self.catalog.coupons.len())
            .filter(|&i| {
                let c = &self.catalog.coupons[i];
                c.starts_at.is_none_or(|s| s <= p.at)
                    && c.ends_at.is_none_or(|e| p.at < e)
                    && c.left.is_none_or(|l| l > 0)
                    && c.min_subtotal <= subtotal
                    && (!c.members_only || p.member.is_some())
                    && (!c.once_per_customer || p.member.is_none() || p.first_order)
            })
            .collect();
        if eligible.is_empty() {
            return None;
        }
        self.coupon_eligible += 1;
        // Use a coupon on as many of the eligible orders as makes COUPON_SHARE of all.
        let rate = self.coupon_eligible as f64 / (self.stats.orders + 1) as f64;
        if !self.rng.chance((COUPON_SHARE / rate).min(1.0)) {
            return None;
        }
        let best = eligible
            .into_iter()
            .max_by_key(|&i| (self.catalog.coupons[i].discount(subtotal), std::cmp::Reverse(i)))?;
        if let Some(l) = &mut self.catalog.coupons[best].left {
            *l -= 1;
        }
        Some(best)
    }

    /// Places one order at `at` into the batch.
    #[allow(clippy::too_many_lines)] // one order, from the cart to where it is now
    fn order(&mut self, at: DateTime<Utc>, batch: &mut Batch) {
        let p = self.plan(at, batch);
        let lines = self.lines();
        let subtotal: i64 = lines
            .iter()
            .map(|&(i, q)| self.catalog.skus[i].price * i64::from(q))
            .sum();
        let tax_free_subtotal: i64 = lines
            .iter()
            .filter(|&&(i, _)| self.catalog.skus[i].tax_free)
            .map(|&(i, q)| self.catalog.skus[i].price * i64::from(q))
            .sum();
        let coupon = self.coupon(&p, subtotal);
        let discount = coupon.map_or(0, |c| self.catalog.coupons[c].discount(subtotal));

        // Who orders, and where it goes.
        let orderer = match p.member {
            Some(m) => {
                let m = &self.members[m];
                Person {
                    name: m.name.clone(),
                    mobile: m.mobile.clone(),
                    address: m.address,
                    detail: m.detail.clone(),
                }
            }
            None => self.person(),
        };
        let email = match p.member {
            Some(m) => self.members[m].email.clone(),
            None => {
                self.guests += 1;
                format!("seed-{}-g{}@example.com", self.run, self.guests)
            }
        };
        let for_someone_else = p.source == Some("카카오톡 선물하기") || self.rng.chance(0.12);
        let recipient = if for_someone_else {
            self.person()
        } else {
            orderer.clone()
        };
        let address = ADDRESSES[recipient.address];
        let zonecode = self.zonecodes[recipient.address].as_ref();
        let subtotal_won = Won::new(subtotal).unwrap_or(Won::ZERO);
        let shipping_fee = pricing::shipping_fee(self.shipping, subtotal_won, zonecode).get();
        let total = subtotal - discount + shipping_fee;
        let tax_free = if subtotal == 0 {
            0
        } else {
            tax_free_subtotal - (i128::from(discount) * i128::from(tax_free_subtotal) / i128::from(subtotal)) as i64
        };
        let vat = Won::new(total - tax_free).unwrap_or(Won::ZERO).vat_included().get();

        // What happened to it since.
        let t = self.timeline(at, total, &lines);
        let id = self.rng.id_at(at);
        let o = &mut batch.orders;
        o.ids.push(id);
        o.status.push(t.status);
        o.channels.push(p.channel);
        o.sources.push(p.source);
        o.customers.push(p.member.map(|m| self.members[m].id));
        o.emails.push(email);
        o.phones.push(orderer.mobile.clone());
        o.orderer_names.push(orderer.name);
        o.recipients.push(recipient.name);
        o.recipient_phones.push(recipient.mobile);
        o.zonecodes.push(address.1);
        o.road_addresses.push(address.2);
        o.jibun_addresses.push(address.3);
        o.buildings.push(address.4);
        o.details.push(recipient.detail);
        o.notes.push(NOTES[self.rng.pick(&self.notes)].0);
        o.subtotals.push(subtotal);
        o.discounts.push(discount);
        o.shipping_fees.push(shipping_fee);
        o.totals.push(total);
        o.tax_free.push(tax_free);
        o.vat.push(vat);
        o.coupon_ids.push(coupon.map(|c| self.catalog.coupons[c].id));
        o.coupon_codes
            .push(coupon.map(|c| self.catalog.coupons[c].code.clone()));
        o.created.push(at);
        o.paid.push(t.paid);
        o.prepared.push(t.prepared);
        o.shipped.push(t.shipped);
        o.delivered.push(t.delivered);
        o.completed.push(t.completed);
        o.cancelled.push(t.cancelled);
        o.expired.push(t.expired);
        o.updated.push(t.updated);
        o.payment_ids.push(t.paid.map(|at| self.rng.id_at(at)));
        o.shipment_ids.push(t.shipped.map(|at| self.rng.id_at(at)));
        let carrier = match self.catalog.carriers.len() {
            0 => None,
            // Most shops ship with one courier, sometimes another.
            n => Some(if self.rng.chance(0.8) { 0 } else { self.rng.below(n) }),
        };
        o.carriers.push(carrier.map(|c| self.catalog.carriers[c].clone()));

        let mut position = 0;
        for &(i, q) in &lines {
            batch.lines.push(
                &mut self.rng,
                id,
                at,
                &self.catalog.skus[i],
                self.catalog.skus[i].price,
                q,
                false,
                position,
            );
            position += 1;
        }
        if let Some(rule) = self.catalog.gifts.iter().find(|g| {
            g.min_subtotal.is_none_or(|m| subtotal >= m)
                && g.channel.as_deref().is_none_or(|c| c == p.channel)
                && g.required_product
                    .is_none_or(|r| lines.iter().any(|&(i, _)| self.catalog.skus[i].product == r))
                && g.starts_at.is_none_or(|s| s <= at)
                && g.ends_at.is_none_or(|e| at < e)
        }) {
            batch
                .lines
                .push(&mut self.rng, id, at, &rule.gift, 0, rule.quantity, true, position);
        }
        if let Some((amount, when, reason)) = t.refund {
            let r = &mut batch.refunds;
            r.ids.push(self.rng.id_at(when));
            r.orders.push(id);
            r.amounts.push(amount);
            r.reasons.push(reason);
            r.actors.push(if t.cancelled.is_some() {
                p.member.map_or_else(
                    || "guest".to_owned(),
                    |m| format!("customer:cus_{}", self.members[m].id.simple()),
                )
            } else {
                "system".to_owned()
            });
            r.created.push(when);
        }

        let s = &mut self.stats;
        s.orders += 1;
        s.paid += u64::from(t.paid.is_some());
        s.unpaid += u64::from(t.paid.is_none());
        s.cancelled_after_payment += u64::from(t.paid.is_some() && t.cancelled.is_some());
        s.partly_refunded += u64::from(t.refund.is_some() && t.cancelled.is_none());
        s.by_members += u64::from(p.member.is_some());
        s.with_coupon += u64::from(coupon.is_some());
        s.lines += (lines.len() + usize::from(batch.lines.last_is_gift_of(id))) as u64;
    }

    /// What happened to an order placed at `at`, as of now.
    fn timeline(&mut self, at: DateTime<Utc>, total: i64, lines: &[(usize, i32)]) -> Timeline {
        let now = self.now;
        let due = at + self.due;
        let mut t = Timeline {
            status: "PAID",
            updated: at,
            ..Timeline::default()
        };
        // Never paid: the deposit did not come by the due time, or they changed their mind.
        if self.rng.chance(0.04) {
            if due <= now && self.rng.chance(0.7) {
                t.status = "EXPIRED";
                t.expired = Some(due);
                t.updated = due;
            } else {
                let until = due.min(now);
                let when = at + secs(self.rng.range(0, (until - at).num_seconds().max(1)));
                t.status = "CANCELLED";
                t.cancelled = Some(when);
                t.updated = when;
            }
            return t;
        }
        // Deposits come within minutes, hours, or a day or two.
        let wait = match self.rng.f64() {
            x if x < 0.45 => self.rng.range(60, 30 * 60),
            x if x < 0.80 => self.rng.range(30 * 60, 8 * 3600),
            _ => self.rng.range(8 * 3600, 60 * 3600),
        };
        let room = (now - at).num_seconds().max(1);
        let paid = at + secs(if wait < room { wait } else { self.rng.range(0, room) });
        t.paid = Some(paid);
        t.updated = paid;
        let within = |rng: &mut Rng, from: DateTime<Utc>, lo: i64, hi: i64| {
            let when = from + secs(rng.range(lo, hi));
            if when <= now {
                when
            } else {
                from + secs(rng.range(0, (now - from).num_seconds().max(1)))
            }
        };
        // Cancelled after payment, before it ships: refunded in full.
        if self.rng.chance(0.031) && total > 0 {
            let when = within(&mut self.rng, paid, 20 * 60, 30 * 3600);
            t.status = "CANCELLED";
            t.cancelled = Some(when);
            t.updated = when;
            t.refund = Some((total, when, "고객 요청 취소"));
            return t;
        }
        let steps: [(&'static str, i64, i64); 4] = [
            ("PREPARING", 3600, 18 * 3600),
            ("SHIPPED", 4 * 3600, 30 * 3600),
            ("DELIVERED", 12 * 3600, 48 * 3600),
            // Purchase confirmed by the customer, or 7 days after delivery.
            ("COMPLETED", 86_400, 7 * 86_400),
        ];
        let mut last = paid;
        for (i, (status, lo, hi)) in steps.into_iter().enumerate() {
            let (lo, hi) = if status == "COMPLETED" && self.rng.chance(0.65) {
                (7 * 86_400, 7 * 86_400 + 3600)
            } else {
                (lo, hi)
            };
            let when = last + secs(self.rng.range(lo, hi));
            if when > now {
                break;
            }
            t.status = status;
            t.updated = when;
            last = when;
            match i {
                0 => t.prepared = Some(when),
                1 => t.shipped = Some(when),
                2 => t.delivered = Some(when),
                _ => t.completed = Some(when),
            }
        }
        // A damaged or missing item, refunded a few days after delivery.
        if let Some(delivered) = t.delivered
            && self.rng.chance(0.021)
        {
            let when = delivered + secs(self.rng.range(86_400, 5 * 86_400));
            let goods: Vec<i64> = lines
                .iter()
                .map(|&(i, q)| self.catalog.skus[i].price * i64::from(q))
                .collect();
            let amount = if goods.len() > 1 {
                goods[self.rng.below(goods.len())]
            } else {
                ((total as f64 * (0.1 + 0.3 * self.rng.f64())) as i64 / 100 * 100).max(100)
            };
            if when <= now && amount > 0 && amount < total {
                t.refund = Some((amount, when, "상품 파손 부분 환불"));
            }
        }
        t
    }
}

/// Weights by member with their running sums (a Fenwick tree): drawing a member by weight
/// and changing one weight both take log(members) steps.
#[derive(Default)]
struct Loyalty {
    /// 1-based: `tree[i]` sums the weights of `i - lowbit(i) .. i`.
    tree: Vec<f64>,
    weights: Vec<f64>,
}

impl Loyalty {
    fn prefix(&self, mut n: usize) -> f64 {
        let mut sum = 0.0;
        while n > 0 {
            sum += self.tree[n - 1];
            n &= n - 1;
        }
        sum
    }

    fn total(&self) -> f64 {
        self.prefix(self.weights.len())
    }

    fn push(&mut self, w: f64) {
        let i = self.weights.len() + 1;
        let low = i & i.wrapping_neg();
        let node = w + self.prefix(i - 1) - self.prefix(i - low);
        self.tree.push(node);
        self.weights.push(w);
    }

    fn set(&mut self, m: usize, w: f64) {
        let delta = w - self.weights[m];
        self.weights[m] = w;
        let mut i = m + 1;
        while i <= self.tree.len() {
            self.tree[i - 1] += delta;
            i += i & i.wrapping_neg();
        }
    }

    /// The member whose share of the running sum holds `x` (one with a weight).
    fn find(&self, mut x: f64) -> usize {
        let n = self.tree.len();
        let (mut pos, mut step) = (0, n.checked_ilog2().map_or(0, |b| 1 << b));
        while step > 0 {
            if pos + step <= n && self.tree[pos + step - 1] <= x {
                x -= self.tree[pos + step - 1];
                pos += step;
            }
            step >>= 1;
        }
        // Rounding may land past the end or on a zero weight: take the last one with weight.
        let mut m = pos.min(n - 1);
        while self.weights[m] <= 0.0 && m > 0 {
            m -= 1;
        }
        m
    }
}

#[derive(Default)]
struct Timeline {
    status: &'static str,
    paid: Option<DateTime<Utc>>,
    prepared: Option<DateTime<Utc>>,
    shipped: Option<DateTime<Utc>>,
    delivered: Option<DateTime<Utc>>,
    completed: Option<DateTime<Utc>>,
    cancelled: Option<DateTime<Utc>>,
    expired: Option<DateTime<Utc>>,
    updated: DateTime<Utc>,
    refund: Option<(i64, DateTime<Utc>, &'static str)>,
}

// ---------------------------------------------------------------------------------------
// Columns, and one transaction per batch

#[derive(Default)]
struct CustomerColumns {
    ids: Vec<Uuid>,
    emails: Vec<String>,
    names: Vec<String>,
    mobiles: Vec<String>,
    created: Vec<DateTime<Utc>>,
    marketing_email: Vec<bool>,
    marketing_sms: Vec<bool>,
}

#[derive(Default)]
struct OrderColumns {
    ids: Vec<Uuid>,
    status: Vec<&'static str>,
    channels: Vec<&'static str>,
    sources: Vec<Option<&'static str>>,
    customers: Vec<Option<Uuid>>,
    emails: Vec<String>,
    phones: Vec<String>,
    orderer_names: Vec<String>,
    recipients: Vec<String>,
    recipient_phones: Vec<String>,
    zonecodes: Vec<&'static str>,
    road_addresses: Vec<&'static str>,
    jibun_addresses: Vec<&'static str>,
    buildings: Vec<&'static str>,
    details: Vec<String>,
    notes: Vec<&'static str>,
    subtotals: Vec<i64>,
    discounts: Vec<i64>,
    shipping_fees: Vec<i64>,
    totals: Vec<i64>,
    tax_free: Vec<i64>,
    vat: Vec<i64>,
    coupon_ids: Vec<Option<Uuid>>,
    coupon_codes: Vec<Option<String>>,
    created: Vec<DateTime<Utc>>,
    paid: Vec<Option<DateTime<Utc>>>,
    prepared: Vec<Option<DateTime<Utc>>>,
    shipped: Vec<Option<DateTime<Utc>>>,
    delivered: Vec<Option<DateTime<Utc>>>,
    completed: Vec<Option<DateTime<Utc>>>,
    cancelled: Vec<Option<DateTime<Utc>>>,
    expired: Vec<Option<DateTime<Utc>>>,
    updated: Vec<DateTime<Utc>>,
    payment_ids: Vec<Option<Uuid>>,
    shipment_ids: Vec<Option<Uuid>>,
    carriers: Vec<Option<String>>,
}

#[derive(Default)]
struct LineColumns {
    ids: Vec<Uuid>,
    orders: Vec<Uuid>,
    variants: Vec<Uuid>,
    products: Vec<Uuid>,
    product_names: Vec<String>,
    variant_names: Vec<String>,
    skus: Vec<String>,
    prices: Vec<i64>,
    quantities: Vec<i32>,
    gifts: Vec<bool>,
    tax_free: Vec<bool>,
    positions: Vec<i32>,
}

impl LineColumns {
    #[allow(clippy::too_many_arguments)] // one line's columns
    fn push(
        &mut self,
        rng: &mut Rng,
        order: Uuid,
        at: DateTime<Utc>,
        s: &Sku,
        price: i64,
        q: i32,
        gift: bool,
        pos: i32,
    ) {
        self.ids.push(rng.id_at(at));
        self.orders.push(order);
        self.variants.push(s.variant);
        self.products.push(s.product);
        self.product_names.push(s.product_name.clone());
        self.variant_names.push(s.variant_name.clone());
        self.skus.push(s.sku.clone());
        self.prices.push(price);
        self.quantities.push(q);
        self.gifts.push(gift);
        self.tax_free.push(s.tax_free);
        self.positions.push(pos);
    }

    fn last_is_gift_of(&self, order: Uuid) -> bool {
        self.orders.last() == Some(&order) && self.gifts.last() == Some(&true)
    }
}

#[derive(Default)]
struct RefundColumns {
    ids: Vec<Uuid>,
    orders: Vec<Uuid>,
    amounts: Vec<i64>,
    reasons: Vec<&'static str>,
    actors: Vec<String>,
    created: Vec<DateTime<Utc>>,
}

#[derive(Default)]
struct Batch {
    customers: CustomerColumns,
    orders: OrderColumns,
    lines: LineColumns,
    refunds: RefundColumns,
}

impl Batch {
    /// Inserts the batch in one transaction and empties it; returns the orders inserted.
    #[allow(clippy::too_many_lines)] // one statement per table, columns spelled out
    async fn insert(&mut self, pool: &PgPool, settings: &Settings, password_hash: &str) -> Result<u64, Error> {
        let batch = std::mem::take(self);
        let (c, o, l, r) = (&batch.customers, &batch.orders, &batch.lines, &batch.refunds);
        let mut tx = pool.begin().await?;
        sqlx::query!(
            "INSERT INTO customers (id, email, password_hash, name, mobile, terms_agreed_at, privacy_agreed_at,
                                    marketing_email, marketing_email_at, marketing_sms, marketing_sms_at,
                                    created_at, updated_at)
             SELECT id, email, $6, name, mobile, created, created, me, CASE WHEN me THEN created END,
                    ms, CASE WHEN ms THEN created END, created, created
               FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $7::bool[], $8::bool[])
                    AS t (id, email, name, mobile, created, me, ms)",
            &c.ids,
            &c.emails,
            &c.names,
            &c.mobiles,
            &c.created,
            password_hash,
            &c.marketing_email,
            &c.marketing_sms,
        )
        .execute(&mut *tx)
        .await?;
        // Numbers as checkout makes them (Seoul date of the order, then the sequence), so
        // orders placed later never collide with these.
        let seq = sqlx::query_scalar!(
            r#"SELECT nextval('order_number_seq') AS "n!" FROM generate_series(1, $1::int8)"#,
            o.ids.len() as i64
        )
        .fetch_all(&mut *tx)
        .await?;
        let numbers: Vec<String> = o
            .created
            .iter()
            .zip(&seq)
            .map(|(at, n)| {
                format!(
                    "{}-{:06}",
                    at.with_timezone(&SHOP_TZ).format("%Y%m%d"),
                    (n - 1) % 999_999 + 1
                )
            })
            .collect();
        // Tracking numbers from the same sequence: unique.
        let tracking: Vec<String> = seq.iter().map(|n| format!("6{:011}", n % 100_000_000_000)).collect();
        let bank = &settings.bank_transfer;
        sqlx::query!(
            r#"WITH t AS (
                   SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[],
                          $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
                          $14::text[], $15::text[], $16::text[], $17::text[], $18::int8[], $19::int8[], $20::int8[],
                          $21::int8[], $22::int8[], $23::int8[], $24::uuid[], $25::text[], $26::timestamptz[],
                          $27::timestamptz[], $28::timestamptz[], $29::timestamptz[], $30::timestamptz[],
                          $31::timestamptz[], $32::timestamptz[], $33::timestamptz[], $34::timestamptz[],
                          $35::uuid[], $36::uuid[], $37::text[], $38::text[])
                        AS t (id, number, status, channel, channel_source, customer_id, email, phone, orderer_name,
                              recipient, recipient_phone, zonecode, road_address, jibun_address, building_name,
                              detail_address, delivery_note, subtotal, discount, shipping_fee, total, tax_free, vat,
                              coupon_id, coupon_code, created_at, paid_at, prepared_at, shipped_at, delivered_at,
                              completed_at, cancelled_at, expired_at, updated_at, payment_id, shipment_id, carrier,
                              tracking)),
               o AS (
                   INSERT INTO orders (id, number, status, channel, channel_source, customer_id, email, phone,
                        orderer_name, recipient, recipient_phone, zonecode, road_address, jibun_address,
                        building_name, detail_address, delivery_note, payment_method, subtotal, discount,
                        shipping_fee, total, tax_free_amount, vat, coupon_id, coupon_code, deposit_bank,
                        deposit_account, deposit_holder, deposit_due_at, depositor_name, paid_at, cancelled_at,
                        created_at, updated_at)
                   SELECT id, number, status, channel, channel_source, customer_id, email, phone, orderer_name,
                          recipient, recipient_phone, zonecode, road_address, jibun_address, building_name,
                          detail_address, delivery_note, 'BANK_TRANSFER', subtotal, discount, shipping_fee, total,
                          tax_free, vat, coupon_id, coupon_code, $39, $40, $41,
                          created_at + make_interval(hours => 24 * $42::int4), left(orderer_name, 20), paid_at,
                          cancelled_at, created_at, updated_at
                     FROM t),
               h AS (
                   INSERT INTO order_history (order_id, from_status, to_status, actor, note, note_for_customer,
                                              created_at)
                   SELECT t.id, e.from_status, e.to_status, e.actor, e.note, e.for_customer, e.at
                     FROM t CROSS JOIN LATERAL (
                          SELECT CASE WHEN t.customer_id IS NULL THEN 'guest'
                                      ELSE 'customer:cus_' || replace(t.customer_id::text, '-', '') END AS who) a
                     CROSS JOIN LATERAL (VALUES
                          (NULL::text, 'PENDING_PAYMENT', a.who, 'order placed', false, t.created_at),
                          ('PENDING_PAYMENT', 'AWAITING_DEPOSIT', a.who, 'bank transfer: waiting for the deposit',
                           false, t.created_at),
                          ('AWAITING_DEPOSIT', 'PAID', 'system', 'deposit confirmed', false, t.paid_at),
                          ('PAID', 'PREPARING', 'system', '', false, t.prepared_at),
                          ('PREPARING', 'SHIPPED', 'system', '', false, t.shipped_at),
                          ('SHIPPED', 'DELIVERED', 'system', '', false, t.delivered_at),
                          ('DELIVERED', 'COMPLETED', 'system', '', false, t.completed_at),
                          (CASE WHEN t.paid_at IS NULL THEN 'AWAITING_DEPOSIT' ELSE 'PAID' END, 'CANCELLED', a.who,
                           '단순 변심', true, t.cancelled_at),
                          ('AWAITING_DEPOSIT', 'EXPIRED', 'system', 'deposit not received by the due time', false,
                           t.expired_at))
                          AS e (from_status, to_status, actor, note, for_customer, at)
                    WHERE e.at IS NOT NULL),
               p AS (
                   INSERT INTO payments (id, order_id, provider, method, amount, status, actor, created_at)
                   SELECT payment_id, id, 'BANK_TRANSFER', 'BANK_TRANSFER', total, 'PAID', 'system', paid_at
                     FROM t WHERE paid_at IS NOT NULL),
               s AS (
                   INSERT INTO shipments (id, order_id, carrier_code, tracking_number, status, actor, created_at,
                                          delivered_at)
                   SELECT shipment_id, id, carrier, tracking,
                          CASE WHEN delivered_at IS NULL THEN 'IN_TRANSIT' ELSE 'DELIVERED' END, 'system', shipped_at,
                          delivered_at
                     FROM t WHERE shipped_at IS NOT NULL AND carrier IS NOT NULL),
               r AS (
                   INSERT INTO coupon_redemptions (id, coupon_id, order_id, customer_id, email, created_at)
                   SELECT gen_random_uuid(), coupon_id, id, customer_id, email, created_at
                     FROM t WHERE coupon_id IS NOT NULL),
               k AS (
                   UPDATE coupons c SET used_count = c.used_count + u.n
                     FROM (SELECT coupon_id, count(*)::int AS n FROM t WHERE coupon_id IS NOT NULL
                            GROUP BY coupon_id) u
                    WHERE c.id = u.coupon_id)
               SELECT count(*) AS "n!" FROM t"#,
            &o.ids,
            &numbers,
            &o.status as &[&str],
            &o.channels as &[&str],
            &o.sources as &[Option<&str>],
            &o.customers as &[Option<Uuid>],
            &o.emails,
            &o.phones,
            &o.orderer_names,
            &o.recipients,
            &o.recipient_phones,
            &o.zonecodes as &[&str],
            &o.road_addresses as &[&str],
            &o.jibun_addresses as &[&str],
            &o.buildings as &[&str],
            &o.details,
            &o.notes as &[&str],
            &o.subtotals,
            &o.discounts,
            &o.shipping_fees,
            &o.totals,
            &o.tax_free,
            &o.vat,
            &o.coupon_ids as &[Option<Uuid>],
            &o.coupon_codes as &[Option<String>],
            &o.created,
            &o.paid as &[Option<DateTime<Utc>>],
            &o.prepared as &[Option<DateTime<Utc>>],
            &o.shipped as &[Option<DateTime<Utc>>],
            &o.delivered as &[Option<DateTime<Utc>>],
            &o.completed as &[Option<DateTime<Utc>>],
            &o.cancelled as &[Option<DateTime<Utc>>],
            &o.expired as &[Option<DateTime<Utc>>],
            &o.updated,
            &o.payment_ids as &[Option<Uuid>],
            &o.shipment_ids as &[Option<Uuid>],
            &o.carriers as &[Option<String>],
            &tracking,
            bank.bank,
            bank.account_number,
            bank.holder,
            i32::try_from(bank.due_days).unwrap_or(3),
        )
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query!(
            "INSERT INTO order_lines (id, order_id, variant_id, product_id, product_name, variant_name, sku,
                                      unit_price, quantity, line_total, is_gift, tax_free, position)
             SELECT id, order_id, variant_id, product_id, product_name, variant_name, sku, unit_price, quantity,
                    unit_price * quantity, is_gift, tax_free, position
               FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[],
                           $8::int8[], $9::int4[], $10::bool[], $11::bool[], $12::int4[])
                    AS t (id, order_id, variant_id, product_id, product_name, variant_name, sku, unit_price,
                          quantity, is_gift, tax_free, position)",
            &l.ids,
            &l.orders,
            &l.variants,
            &l.products,
            &l.product_names,
            &l.variant_names,
            &l.skus,
            &l.prices,
            &l.quantities,
            &l.gifts,
            &l.tax_free,
            &l.positions,
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "INSERT INTO refunds (id, order_id, amount, reason, status, actor, created_at)
             SELECT id, order_id, amount, reason, 'DONE', actor, created
               FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::text[], $5::text[], $6::timestamptz[])
                    AS t (id, order_id, amount, reason, actor, created)",
            &r.ids,
            &r.orders,
            &r.amounts,
            &r.reasons as &[&str],
            &r.actors,
            &r.created,
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(o.ids.len() as u64)
    }
}
