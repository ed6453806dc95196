//! Proactive alerts for the Slack bot (owns `alerts`): conditions of the shop that someone
//! should hear about without asking, evaluated against the database whenever alerts are
//! read ([`alerts`]), and kept as rows so that each is told once.
//!
//! A condition that holds has exactly one open row per (kind, key) (`cleared_at IS NULL`,
//! a partial unique index); it is raised when first seen, its text follows what it
//! says now, and it is cleared when it no longer holds. The bot polls, posts what was
//! raised and marks what cleared. Evaluations run one at a time (a transaction-scoped
//! advisory lock), so two bots polling at once see the same rows; the index would keep
//! duplicates out regardless.
//!
//! The conditions, each a small indexed query:
//! - `LOW_STOCK` (key: variant id): a published variant with 1 to `low_stock_threshold`
//!   units available; `SOLD_OUT` (key: variant id) when none are, in its place.
//! - `PAYMENT_FAILURES` (key: the gateway or method, e.g. `BANK_TRANSFER`): at least
//!   [`PAYMENT_FAILURES_AT_LEAST`] failed payments and bank-transfer expiries within
//!   [`PAYMENT_FAILURES_MINUTES`] minutes.
//! - `ORDERS_BELOW_USUAL` (key: the hour, Seoul, `2026-12-03T14:00+09:00`): orders placed
//!   in the last full hour under 30% of the same hour's average over the previous 28
//!   days, when that average is at least 4.
//! - `DEPOSIT_AFTER_EXPIRY` (key: order number): money an order could not take, not yet
//!   given back, within [`DEPOSIT_AFTER_EXPIRY_HOURS`] hours: a deposit for an expired order
//!   (`orderMarkDeposited`, a virtual account's late deposit), or a gateway payment of
//!   another amount or for a cancelled order that could not be cancelled at the gateway.
//! - `STAFF_LOCKED` (key: staff id): a staff account that failed logins too often, from
//!   one address or from several (the login throttle's own bounds).

use chrono::{DateTime, Duration, DurationRound, Utc};
use sqlx::{PgConnection, PgPool};

use crate::{
    Error, Won,
    auth::{self, Lock, Scope},
    ids::{AlertId, StaffId, VariantId},
    settings::ThrottleSettings,
    staff::{Permission, Principal},
};

/// Failed payments (and bank-transfer expiries) of one gateway within the window that
/// raise `PAYMENT_FAILURES`.
pub const PAYMENT_FAILURES_AT_LEAST: i64 = 5;
/// The window of `PAYMENT_FAILURES`, in minutes.
pub const PAYMENT_FAILURES_MINUTES: i32 = 10;
/// How many days back "the same hour" is averaged over (`ORDERS_BELOW_USUAL`).
pub const USUAL_DAYS: i32 = 28;
/// The least average of orders in an hour for `ORDERS_BELOW_USUAL` to be told at all.
pub const USUAL_AT_LEAST: i64 = 4;
/// `ORDERS_BELOW_USUAL` holds below this percentage of the average.
pub const BELOW_USUAL_PERCENT: i64 = 30;
/// How long a deposit reported for an expired order keeps `DEPOSIT_AFTER_EXPIRY` open.
pub const DEPOSIT_AFTER_EXPIRY_HOURS: i32 = 24;
/// The most alerts one read returns (open ones first, then the most recently cleared).
pub const MAX_ALERTS: i64 = 1000;

/// What an alert is about.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, strum::EnumIter, strum::IntoStaticStr, strum::EnumString,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum AlertKind {
    /// A variant at or under its low-stock threshold.
    LowStock,
    /// A variant with nothing available.
    SoldOut,
    /// Payments of one gateway failing (bank transfers expiring) in a burst.
    PaymentFailures,
    /// The last hour's orders far below the same hour's usual.
    OrdersBelowUsual,
    /// A deposit arrived for an order that had expired.
    DepositAfterExpiry,
    /// A staff account locked by failed logins.
    StaffLocked,
}

impl AlertKind {
    /// The database and wire form.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// How urgent an alert is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::EnumIter, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Someone should look today.
    Warning,
    /// Someone should look now.
    Critical,
}

impl Severity {
    /// The database and wire form.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// An alert: a condition from when it was first seen until it cleared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// Its id.
    pub id: AlertId,
    /// What about.
    pub kind: AlertKind,
    /// Which one of its kind (a variant id, a gateway, an hour, an order number, a staff id).
    pub key: String,
    /// How urgent.
    pub severity: Severity,
    /// One line, in Korean (the shop's language).
    pub title: String,
    /// What holds now, in Korean.
    pub detail: String,
    /// When first seen.
    pub raised_at: DateTime<Utc>,
    /// When it stopped holding; `None` while it holds.
    pub cleared_at: Option<DateTime<Utc>>,
    /// The order it is about (`DEPOSIT_AFTER_EXPIRY`).
    pub order_number: Option<String>,
    /// The variant it is about (`LOW_STOCK`, `SOLD_OUT`).
    pub variant_id: Option<VariantId>,
    /// That variant's SKU.
    pub sku: Option<String>,
}

/// A condition that holds now.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Condition {
    kind: AlertKind,
    key: String,
    severity: Severity,
    title: String,
    detail: String,
    order_number: Option<String>,
    variant_id: Option<VariantId>,
    sku: Option<String>,
}

/// Alerts evaluate one at a time: `pg_advisory_xact_lock` on this key.
const EVALUATION_LOCK: i64 = 0x6a61_6e67_7465_6f01;

/// Evaluates every condition at `now`, raises the alerts that newly hold and clears those
/// that no longer do, then returns every open alert and those cleared at or after
/// `since`, oldest first (at most [`MAX_ALERTS`]). OWNER, MANAGER and BOT. One transaction:
/// a handful of indexed statements. Errors: `FORBIDDEN`.
pub async fn alerts(
    pool: &PgPool,
    by: Principal,
    throttle: &ThrottleSettings,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Vec<Alert>, Error> {
    by.require(Permission::ReadReports, "read alerts")?;
    let mut tx = pool.begin().await?;
    sqlx::query!(
        r#"SELECT 1 AS "locked!" FROM pg_advisory_xact_lock($1)"#,
        EVALUATION_LOCK
    )
    .fetch_one(&mut *tx)
    .await?;
    let mut holding = stock(&mut tx).await?;
    holding.extend(payment_failures(&mut tx, now).await?);
    holding.extend(orders_below_usual(&mut tx, now).await?);
    holding.extend(deposits_after_expiry(&mut tx, now).await?);
    holding.extend(staff_locked(&mut tx, throttle).await?);
    // One row per (kind, key), always in the same order.
    holding.sort_by(|a, b| (a.kind, &a.key).cmp(&(b.kind, &b.key)));
    holding.dedup_by(|a, b| (a.kind, &a.key) == (b.kind, &b.key));
    persist(&mut tx, &holding).await?;
    let rows = sqlx::query!(
        r#"SELECT id AS "id: AlertId", kind, key, severity, title, detail, raised_at, cleared_at,
                  order_number, variant_id AS "variant_id: VariantId", sku
             FROM alerts
            WHERE cleared_at IS NULL OR cleared_at >= $1
            ORDER BY cleared_at IS NOT NULL, coalesce(cleared_at, raised_at) DESC, id DESC
            LIMIT $2"#,
        since,
        MAX_ALERTS,
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let fault = |what: &str| Error::Fault {
            what: "alerts",
            reason: format!("unknown {what} in the database"),
        };
        out.push(Alert {
            id: r.id,
            kind: r.kind.parse().map_err(|_| fault("kind"))?,
            key: r.key,
            severity: r.severity.parse().map_err(|_| fault("severity"))?,
            title: r.title,
            detail: r.detail,
            raised_at: r.raised_at,
            cleared_at: r.cleared_at,
            order_number: r.order_number,
            variant_id: r.variant_id,
            sku: r.sku,
        });
    }
    out.sort_by_key(|a| (a.raised_at, a.id));
    Ok(out)
}

/// Raises what holds and has no open row (and brings an open row's text up to date);
/// clears open rows whose condition no longer holds.
async fn persist(conn: &mut PgConnection, holding: &[Condition]) -> Result<(), Error> {
    let ids: Vec<uuid::Uuid> = holding.iter().map(|_| AlertId::generate().0).collect();
    let kinds: Vec<&str> = holding.iter().map(|c| c.kind.as_str()).collect();
    let keys: Vec<&str> = holding.iter().map(|c| c.key.as_str()).collect();
    let severities: Vec<&str> = holding.iter().map(|c| c.severity.as_str()).collect();
    let titles: Vec<&str> = holding.iter().map(|c| c.title.as_str()).collect();
    let details: Vec<&str> = holding.iter().map(|c| c.detail.as_str()).collect();
    let orders: Vec<Option<&str>> = holding.iter().map(|c| c.order_number.as_deref()).collect();
    let variants: Vec<Option<uuid::Uuid>> = holding.iter().map(|c| c.variant_id.map(|v| v.0)).collect();
    let skus: Vec<Option<&str>> = holding.iter().map(|c| c.sku.as_deref()).collect();
    sqlx::query!(
        "INSERT INTO alerts (id, kind, key, severity, title, detail, order_number, variant_id, sku)
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                              $7::text[], $8::uuid[], $9::text[])
         ON CONFLICT (kind, key) WHERE cleared_at IS NULL DO UPDATE
            SET severity = EXCLUDED.severity, title = EXCLUDED.title, detail = EXCLUDED.detail
          WHERE (alerts.severity, alerts.title, alerts.detail)
                IS DISTINCT FROM (EXCLUDED.severity, EXCLUDED.title, EXCLUDED.detail)",
        &ids,
        &kinds as &[&str],
        &keys as &[&str],
        &severities as &[&str],
        &titles as &[&str],
        &details as &[&str],
        &orders as &[Option<&str>],
        &variants as &[Option<uuid::Uuid>],
        &skus as &[Option<&str>],
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "UPDATE alerts SET cleared_at = now()
          WHERE cleared_at IS NULL
            AND (kind, key) NOT IN (SELECT k, y FROM unnest($1::text[], $2::text[]) AS h(k, y))",
        &kinds as &[&str],
        &keys as &[&str],
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `LOW_STOCK` and `SOLD_OUT`: published variants at or under their threshold.
async fn stock(conn: &mut PgConnection) -> Result<Vec<Condition>, Error> {
    let rows = sqlx::query!(
        r#"SELECT v.id AS "id: VariantId", v.sku, p.name AS product, v.name AS variant, v.on_hand, v.allocated,
                  v.low_stock_threshold
             FROM variants v JOIN products p ON p.id = v.product_id
            WHERE p.published AND v.on_hand - v.allocated <= v.low_stock_threshold"#
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let available = r.on_hand - r.allocated;
            let what = if r.variant.is_empty() {
                format!("{} ({})", r.product, r.sku)
            } else {
                format!("{} {} ({})", r.product, r.variant, r.sku)
            };
            let (kind, severity, title, detail) = if available <= 0 {
                (
                    AlertKind::SoldOut,
                    Severity::Warning,
                    format!("품절: {what}"),
                    format!(
                        "구매 가능한 재고가 없습니다 (창고 {}개, 주문에 할당 {}개)",
                        r.on_hand, r.allocated
                    ),
                )
            } else {
                (
                    AlertKind::LowStock,
                    Severity::Info,
                    format!("재고 부족: {what}"),
                    format!(
                        "구매 가능 {available}개 (기준 {}개 이하, 창고 {}개)",
                        r.low_stock_threshold, r.on_hand
                    ),
                )
            };
            Condition {
                kind,
                key: r.id.to_string(),
                severity,
                title,
                detail,
                order_number: None,
                variant_id: Some(r.id),
                sku: Some(r.sku),
            }
        })
        .collect())
}

/// A gateway's or method's name as staff know it.
fn method_label(method: &str) -> &str {
    match method {
        "BANK_TRANSFER" => "무통장입금",
        "TOSS" => "토스페이먼츠",
        "KAKAOPAY" => "카카오페이",
        "PORTONE" => "포트원",
        other => other,
    }
}

/// `PAYMENT_FAILURES`: failed payments by gateway, and bank-transfer (or any method's)
/// expiries by method, within the window before `now`.
async fn payment_failures(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<Vec<Condition>, Error> {
    let rows = sqlx::query!(
        r#"SELECT method AS "method!", count(*) AS "n!", count(*) FILTER (WHERE failed) AS "failed!"
             FROM (SELECT p.provider AS method, true AS failed FROM payments p
                    WHERE p.status = 'FAILED' AND p.created_at > $1::timestamptz - make_interval(mins => $2) AND p.created_at <= $1
                   UNION ALL
                   SELECT o.payment_method, false FROM order_history h JOIN orders o ON o.id = h.order_id
                    WHERE h.to_status = 'EXPIRED' AND h.created_at > $1 - make_interval(mins => $2)
                      AND h.created_at <= $1) f
            GROUP BY method HAVING count(*) >= $3"#,
        now,
        PAYMENT_FAILURES_MINUTES,
        PAYMENT_FAILURES_AT_LEAST,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let expired = r.n - r.failed;
            Condition {
                kind: AlertKind::PaymentFailures,
                severity: if r.failed > 0 {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                title: format!("결제 실패 급증: {}", method_label(&r.method)),
                detail: format!(
                    "최근 {PAYMENT_FAILURES_MINUTES}분 동안 결제 실패 {}건, 입금 기한 만료 {expired}건",
                    r.failed
                ),
                key: r.method,
                order_number: None,
                variant_id: None,
                sku: None,
            }
        })
        .collect())
}

/// `ORDERS_BELOW_USUAL`: the last full hour before `now` against the same hour of each of
/// the [`USUAL_DAYS`] days before (Seoul has no daylight saving: a day is 24 hours).
async fn orders_below_usual(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<Vec<Condition>, Error> {
    let to = now.duration_trunc(Duration::hours(1)).map_err(|e| Error::Fault {
        what: "alerts",
        reason: e.to_string(),
    })?;
    let from = to - Duration::hours(1);
    let r = sqlx::query!(
        r#"SELECT (SELECT count(*) FROM orders WHERE created_at >= $1 AND created_at < $2) AS "last!",
                  (SELECT count(*) FROM generate_series(1, $3::int) d
                     JOIN orders o ON o.created_at >= $1 - make_interval(days => d)
                                  AND o.created_at < $2 - make_interval(days => d)) AS "past!""#,
        from,
        to,
        USUAL_DAYS,
    )
    .fetch_one(&mut *conn)
    .await?;
    let days = i64::from(USUAL_DAYS);
    // avg = past / days; below when last < avg × 30%: in integers, last × days × 100 < past × 30.
    let holds = r.past >= USUAL_AT_LEAST * days && r.last * days * 100 < r.past * BELOW_USUAL_PERCENT;
    if !holds {
        return Ok(Vec::new());
    }
    let start = from.with_timezone(&crate::SHOP_TZ);
    let tenths = r.past * 10 / days;
    Ok(vec![Condition {
        kind: AlertKind::OrdersBelowUsual,
        key: start.format("%Y-%m-%dT%H:00%:z").to_string(),
        severity: Severity::Warning,
        title: format!("주문 감소: {}시대 주문 {}건", start.format("%-H"), r.last),
        detail: format!(
            "{}–{} 주문 {}건: 지난 {USUAL_DAYS}일 같은 시간대 평균 {}.{}건의 {BELOW_USUAL_PERCENT}% 미만입니다",
            start.format("%H:00"),
            (start + Duration::hours(1)).format("%H:00"),
            r.last,
            tenths / 10,
            tenths % 10,
        ),
        order_number: None,
        variant_id: None,
        sku: None,
    }])
}

/// `DEPOSIT_AFTER_EXPIRY`: deposits reported for expired orders in the hours before `now`.
async fn deposits_after_expiry(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<Vec<Condition>, Error> {
    let rows = sqlx::query!(
        r#"SELECT o.number, sum(d.amount)::int8 AS "amount!", count(*) AS "n!", max(d.reason) AS "reason!"
             FROM deposits_after_expiry d JOIN orders o ON o.id = d.order_id
            WHERE d.created_at > $1::timestamptz - make_interval(hours => $2) AND d.created_at <= $1
              AND NOT d.refunded
            GROUP BY o.number"#,
        now,
        DEPOSIT_AFTER_EXPIRY_HOURS,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let amount = Won::new(r.amount).unwrap_or(Won::ZERO);
            let times = if r.n > 1 {
                format!(" ({}회)", r.n)
            } else {
                String::new()
            };
            Condition {
                kind: AlertKind::DepositAfterExpiry,
                key: r.number.clone(),
                severity: Severity::Warning,
                title: match r.reason.as_str() {
                    "EXPIRED" => format!("만료된 주문에 입금: {}", r.number),
                    _ => format!("주문이 받을 수 없는 결제: {}", r.number),
                },
                detail: match r.reason.as_str() {
                    "EXPIRED" => format!(
                        "입금 기한이 지나 만료된 주문에 {amount}이 입금되었습니다{times}. 환불하거나 새 주문으로 처리해 주세요"
                    ),
                    "AMOUNT_MISMATCH" => format!(
                        "주문 금액과 다른 {amount}이 결제되었고 결제사에서 자동 취소하지 못했습니다{times}. 확인 후 환불해 주세요"
                    ),
                    _ => format!(
                        "결제할 수 없는 주문(취소·결제 완료)에 {amount}이 결제되었고 자동 취소하지 못했습니다{times}. 환불해 주세요"
                    ),
                },
                order_number: Some(r.number),
                variant_id: None,
                sku: None,
            }
        })
        .collect())
}

/// `STAFF_LOCKED`: staff accounts the login throttle refuses now.
async fn staff_locked(conn: &mut PgConnection, throttle: &ThrottleSettings) -> Result<Vec<Condition>, Error> {
    let locks = auth::locked_accounts(&mut *conn, Scope::Staff, None, throttle).await?;
    if locks.is_empty() {
        return Ok(Vec::new());
    }
    let emails: Vec<&str> = locks.iter().map(|l| l.account.as_str()).collect();
    let staff = sqlx::query!(
        r#"SELECT id AS "id: StaffId", name, email FROM staff WHERE email = ANY($1)"#,
        &emails as &[&str]
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(staff
        .into_iter()
        .filter_map(|s| {
            let lock = locks.iter().find(|l| l.account == s.email)?;
            let until = lock.until.with_timezone(&crate::SHOP_TZ).format("%H:%M");
            let (severity, detail) = match lock.lock {
                Lock::Account => (
                    Severity::Critical,
                    format!(
                        "여러 주소에서 로그인 실패 {}회: {until}까지 어디서도 로그인할 수 없습니다",
                        lock.failures
                    ),
                ),
                Lock::AccountAndAddress | Lock::Address => (
                    Severity::Warning,
                    format!(
                        "로그인 실패 {}회: 실패한 주소에서는 {until}까지 로그인할 수 없습니다",
                        lock.failures
                    ),
                ),
            };
            Some(Condition {
                kind: AlertKind::StaffLocked,
                key: s.id.to_string(),
                severity,
                title: format!("직원 계정 잠김: {}", s.name),
                detail,
                order_number: None,
                variant_id: None,
                sku: None,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn kinds_and_severities_round_trip_their_database_form() {
        for k in AlertKind::iter() {
            assert_eq!(k.as_str().parse::<AlertKind>().ok(), Some(k));
        }
        assert_eq!(AlertKind::DepositAfterExpiry.as_str(), "DEPOSIT_AFTER_EXPIRY");
        for s in Severity::iter() {
            assert_eq!(s.as_str().parse::<Severity>().ok(), Some(s));
        }
    }
}
