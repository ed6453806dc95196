//! Sends to many (staff's `messageSend`) and the automations (abandoned cart, review
//! request, tier change), and the monthly tier evaluation that causes the last.
//!
//! Advertising (광고, 정보통신망법 §50) goes only to members who consented on that channel,
//! starts with `(광고)`, ends with the opt-out line (SMS: the free 080 number; e-mail: a
//! signed one-click link), and never between 21:00 and 08:00 Seoul: a send asked for at
//! night is held until 08:00.

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::PgPool;

use super::{About, Notifier, unsubscribe};
use crate::{
    Error, SHOP_TZ, Settings,
    ids::{CartId, CustomerId, JobId, OrderId},
    jobs::{NewJob, enqueue, worker::JobFailure},
    staff::{Permission, Principal, audit},
};

/// The job kind of a send to a segment.
pub const SEND_JOB: &str = "marketing.send";
/// The job kind of one automation's message to one member.
pub const REMIND_JOB: &str = "marketing.remind";

/// Which members a send goes to (all given conditions hold).
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct Segment {
    /// Members of these tiers (codes, e.g. `GOLD`); empty: any tier.
    #[serde(default)]
    pub tiers: Vec<String>,
    /// Whose last paid order was before this day (win-back); none: any.
    pub last_order_before: Option<NaiveDate>,
}

/// By e-mail or by text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SendChannel {
    /// E-mail.
    Email,
    /// SMS/LMS.
    Sms,
}

/// `messageSend`'s input, checked.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct SendInput {
    /// Who.
    pub segment: Segment,
    /// How.
    pub channel: SendChannel,
    /// E-mail subject or LMS title (1–80 characters).
    pub subject: String,
    /// Plain text (1–2,000 characters).
    pub body: String,
    /// Advertising: consent, `(광고)`, opt-out, no night sends. Otherwise an information
    /// notice (a delivery delay) to every member of the segment.
    pub marketing: bool,
}

/// What `messageSend` queued.
#[derive(Clone, Debug)]
pub struct Queued {
    /// The send's job.
    pub job: JobId,
    /// Members it will go to, as of now.
    pub recipients: i64,
    /// When it goes (08:00 Seoul for advertising asked for at night).
    pub run_at: DateTime<Utc>,
}

/// The first moment at or after `now` when advertising may go: `now` outside the quiet
/// hours, else the next `until` o'clock in Seoul.
pub fn next_send_time(now: DateTime<Utc>, from_hour: u32, until_hour: u32) -> DateTime<Utc> {
    let local = now.with_timezone(&SHOP_TZ);
    let h = local.hour();
    let quiet = if from_hour > until_hour {
        h >= from_hour || h < until_hour
    } else {
        h >= from_hour && h < until_hour
    };
    if !quiet {
        return now;
    }
    let day = if h >= from_hour && from_hour > until_hour {
        local.date_naive() + Duration::days(1)
    } else {
        local.date_naive()
    };
    let at = day.and_hms_opt(until_hour, 0, 0).unwrap_or_default();
    SHOP_TZ
        .from_local_datetime(&at)
        .earliest()
        .map_or(now, |t| t.with_timezone(&Utc))
}

fn check(input: &SendInput) -> Result<(), Error> {
    let subject = input.subject.trim().chars().count();
    if !(1..=80).contains(&subject) {
        return Err(Error::Invalid {
            field: "input.subject",
            reason: "1–80 characters".into(),
        });
    }
    let body = input.body.trim().chars().count();
    if !(1..=2000).contains(&body) {
        return Err(Error::Invalid {
            field: "input.body",
            reason: "1–2,000 characters".into(),
        });
    }
    Ok(())
}

/// Counts and queues a send. Errors: `FORBIDDEN` (MANAGER and OWNER only),
/// `INVALID_INPUT`.
pub async fn send(pool: &PgPool, settings: &Settings, by: Principal, input: SendInput) -> Result<Queued, Error> {
    by.require(Permission::SendMessages, "send messages to customers")?;
    check(&input)?;
    let now = Utc::now();
    let run_at = if input.marketing {
        next_send_time(
            now,
            settings.marketing.quiet_from_hour,
            settings.marketing.quiet_until_hour,
        )
    } else {
        now
    };
    let mut tx = pool.begin().await?;
    let recipients = count(&mut tx, &input).await?;
    let job = enqueue(
        &mut tx,
        NewJob::new(SEND_JOB, json!({ "input": input, "by": by.id })).at(run_at),
    )
    .await?
    .ok_or_else(|| Error::Fault {
        what: "jobs",
        reason: "a send without a key was deduplicated".into(),
    })?;
    audit::audit(
        &mut tx,
        by,
        "message.send",
        &job.to_string(),
        json!({ "channel": input.channel, "marketing": input.marketing, "recipients": recipients, "run_at": run_at }),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(Queued {
        job,
        recipients,
        run_at,
    })
}

async fn count(conn: &mut sqlx::PgConnection, input: &SendInput) -> Result<i64, Error> {
    Ok(sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM customers c
            WHERE (cardinality($1::text[]) = 0 OR c.tier = ANY($1))
              AND ($2::date IS NULL OR NOT EXISTS (
                     SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.paid_at IS NOT NULL
                        AND o.paid_at >= ($2::date::timestamp AT TIME ZONE 'Asia/Seoul')))
              AND (NOT $3 OR (CASE WHEN $4 THEN c.marketing_email ELSE c.marketing_sms END))"#,
        &input.segment.tiers,
        input.segment.last_order_before,
        input.marketing,
        input.channel == SendChannel::Email,
    )
    .fetch_one(&mut *conn)
    .await?)
}

/// Runs a `marketing.send` job: every member of the segment (consenting ones only for
/// advertising), each once (a retry skips those already sent to).
pub async fn run_send(pool: &PgPool, notifier: &Notifier, job: JobId, payload: &Value) -> Result<(), JobFailure> {
    let input: SendInput =
        serde_json::from_value(payload["input"].clone()).map_err(|e| JobFailure::Permanent(format!("input: {e}")))?;
    let settings = notifier.settings();
    if input.marketing {
        // Held sends run at 08:00; a retry that drifted into the night waits again.
        let at = next_send_time(
            Utc::now(),
            settings.marketing.quiet_from_hour,
            settings.marketing.quiet_until_hour,
        );
        if at > Utc::now() {
            return Err(JobFailure::Retry(format!("quiet hours: advertising waits until {at}")));
        }
    }
    let members = sqlx::query!(
        r#"SELECT c.id AS "id: CustomerId", c.email, c.name, c.mobile FROM customers c
            WHERE (cardinality($1::text[]) = 0 OR c.tier = ANY($1))
              AND ($2::date IS NULL OR NOT EXISTS (
                     SELECT 1 FROM orders o WHERE o.customer_id = c.id AND o.paid_at IS NOT NULL
                        AND o.paid_at >= ($2::date::timestamp AT TIME ZONE 'Asia/Seoul')))
              AND (NOT $3 OR (CASE WHEN $4 THEN c.marketing_email ELSE c.marketing_sms END))
            ORDER BY c.id"#,
        &input.segment.tiers,
        input.segment.last_order_before,
        input.marketing,
        input.channel == SendChannel::Email,
    )
    .fetch_all(pool)
    .await
    .map_err(Error::from)?;
    let notice = if input.marketing { "marketing" } else { "notice" };
    let mut result = Ok(());
    for m in members {
        let unsubscribe_url = if input.marketing {
            let ch = match input.channel {
                SendChannel::Email => unsubscribe::Channel::Email,
                SendChannel::Sms => unsubscribe::Channel::Sms,
            };
            Some(unsubscribe::url(settings, m.id, ch)?)
        } else {
            None
        };
        let ctx = json!({
            "shop": notifier.shop(),
            "customer": { "name": m.name },
            "message": { "subject": input.subject.trim(), "body": input.body.trim() },
            "unsubscribe_url": unsubscribe_url,
            "opt_out_number": settings.marketing.opt_out_number,
        });
        let about = About {
            customer: Some(m.id),
            order: None,
            marketing: input.marketing,
        };
        let prepared = notifier.prepare(notice, &ctx, about)?;
        let r = match input.channel {
            SendChannel::Email => notifier.email(pool, job, &prepared, &m.email, unsubscribe_url).await,
            SendChannel::Sms => notifier.text(pool, job, &prepared, &m.mobile).await,
        };
        if let Err(e) = r {
            // One bad address must not stop the others; the job reports the last failure.
            tracing::warn!(customer = %m.id, error = ?e, "a marketing message failed");
            result = Err(e);
        }
    }
    result
}

/// Queues one reminder per cart idle for `abandoned_cart_hours` (at most a day longer,
/// so switching the feature on does not mail about old carts) whose member consented to
/// marketing e-mail; each cart is reminded once. Returns how many were queued.
pub async fn queue_cart_reminders(pool: &PgPool, settings: &Settings) -> Result<usize, Error> {
    let hours = settings.customers.abandoned_cart_hours.max(1);
    let carts = sqlx::query!(
        r#"SELECT c.id AS "id: CartId", c.customer_id AS "customer!: CustomerId" FROM carts c
             JOIN customers m ON m.id = c.customer_id
            WHERE c.updated_at <= now() - make_interval(hours => $1)
              AND c.updated_at > now() - make_interval(hours => $1 + 24)
              AND m.marketing_email
              AND EXISTS (SELECT 1 FROM cart_lines l WHERE l.cart_id = c.id)"#,
        i32::try_from(hours).unwrap_or(3),
    )
    .fetch_all(pool)
    .await?;
    let mut conn = pool.acquire().await?;
    let mut n = 0;
    for c in carts {
        let job = NewJob::new(
            REMIND_JOB,
            json!({ "notice": "abandoned_cart", "cart": c.id, "customer": c.customer }),
        )
        .once(format!("abandoned_cart:{}", c.id.0));
        if enqueue(&mut conn, job).await?.is_some() {
            n += 1;
        }
    }
    Ok(n)
}

/// Queues the review request of every order delivered `review_request_days` before the
/// Seoul day of `at`, for members who consented to marketing e-mail; once per order.
pub async fn queue_review_requests(pool: &PgPool, settings: &Settings, at: DateTime<Utc>) -> Result<usize, Error> {
    let days = settings.customers.review_request_days;
    if days <= 0 {
        return Ok(0);
    }
    let day = at.with_timezone(&SHOP_TZ).date_naive() - Duration::days(days);
    let orders = sqlx::query!(
        r#"SELECT o.id AS "id: OrderId", o.customer_id AS "customer!: CustomerId" FROM orders o
             JOIN customers m ON m.id = o.customer_id
            WHERE o.status IN ('DELIVERED', 'COMPLETED') AND m.marketing_email
              AND EXISTS (SELECT 1 FROM shipments s WHERE s.order_id = o.id
                             AND (s.delivered_at AT TIME ZONE 'Asia/Seoul')::date = $1)"#,
        day,
    )
    .fetch_all(pool)
    .await?;
    let mut conn = pool.acquire().await?;
    let mut n = 0;
    for o in orders {
        let job = NewJob::new(
            REMIND_JOB,
            json!({ "notice": "review_request", "order": o.id, "customer": o.customer }),
        )
        .once(format!("review_request:{}", o.id.0));
        if enqueue(&mut conn, job).await?.is_some() {
            n += 1;
        }
    }
    Ok(n)
}

/// Makes `member_tiers` (what completions earn points by) equal to settings'
/// `customers.tiers`; `serve` and `worker` call it at start.
pub async fn sync_tiers(pool: &PgPool, tiers: &[crate::settings::TierSettings]) -> Result<(), Error> {
    let codes: Vec<String> = tiers.iter().map(|t| t.code.clone()).collect();
    let names: Vec<String> = tiers.iter().map(|t| t.name.clone()).collect();
    let thresholds: Vec<i64> = tiers.iter().map(|t| t.threshold).collect();
    let rates: Vec<i32> = tiers
        .iter()
        .map(|t| i32::try_from(t.points_rate.clamp(0, 100)).unwrap_or(0))
        .collect();
    let mut tx = pool.begin().await?;
    sqlx::query!("DELETE FROM member_tiers WHERE code <> ALL($1)", &codes)
        .execute(&mut *tx)
        .await?;
    sqlx::query!(
        "INSERT INTO member_tiers (code, name, threshold, points_rate, position)
         SELECT t.code, t.name, t.threshold, t.rate, t.i - 1
           FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::int4[]) WITH ORDINALITY AS t (code, name, threshold, rate, i)
         ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, threshold = EXCLUDED.threshold,
                                          points_rate = EXCLUDED.points_rate, position = EXCLUDED.position",
        &codes,
        &names,
        &thresholds,
        &rates,
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Gives every member the tier their paid amount over the `tier_months` months before
/// `at` reaches; members whose tier changed and who consented get the news. One
/// transaction. Returns how many changed.
pub async fn evaluate_tiers(pool: &PgPool, settings: &Settings, at: DateTime<Utc>) -> Result<usize, Error> {
    let tiers = &settings.customers.tiers;
    if tiers.is_empty() {
        return Ok(0);
    }
    let local = at.with_timezone(&SHOP_TZ).date_naive();
    let month_start = local.with_day(1).unwrap_or(local);
    let from = month_start
        .checked_sub_months(chrono::Months::new(settings.customers.tier_months.max(1)))
        .unwrap_or(month_start);
    let codes: Vec<String> = tiers.iter().map(|t| t.code.clone()).collect();
    let thresholds: Vec<i64> = tiers.iter().map(|t| t.threshold).collect();
    let mut tx = pool.begin().await?;
    let changed = sqlx::query!(
        r#"WITH spent AS (
               SELECT c.id, c.tier AS old_tier,
                      COALESCE((SELECT sum(o.total - (SELECT COALESCE(sum(f.amount), 0) FROM refunds f WHERE f.order_id = o.id))
                                  FROM orders o
                                 WHERE o.customer_id = c.id AND o.paid_at >= ($1::date::timestamp AT TIME ZONE 'Asia/Seoul')
                                   AND o.paid_at < ($2::date::timestamp AT TIME ZONE 'Asia/Seoul')), 0) AS amount
                 FROM customers c),
           target AS (
               SELECT s.id, s.old_tier,
                      (SELECT t.code FROM UNNEST($3::text[], $4::int8[]) WITH ORDINALITY AS t (code, threshold, i)
                        WHERE s.amount >= t.threshold ORDER BY t.i DESC LIMIT 1) AS new_tier
                 FROM spent s)
           UPDATE customers c SET tier = t.new_tier, updated_at = now()
             FROM target t
            WHERE c.id = t.id AND t.new_tier IS NOT NULL AND c.tier <> t.new_tier
        RETURNING c.id AS "id: CustomerId", t.old_tier AS "old!", c.tier AS "new!", c.marketing_email"#,
        from,
        month_start,
        &codes,
        &thresholds,
    )
    .fetch_all(&mut *tx)
    .await?;
    for c in changed.iter().filter(|c| c.marketing_email) {
        let job = NewJob::new(
            REMIND_JOB,
            json!({ "notice": "tier_changed", "customer": c.id, "old": c.old, "new": c.new }),
        )
        .once(format!("tier_changed:{}:{}", c.id.0, month_start));
        enqueue(&mut tx, job).await?;
    }
    tx.commit().await?;
    Ok(changed.len())
}

/// Runs a `marketing.remind` job: one automation's e-mail to one member, if they still
/// consent (they may have withdrawn since it was queued).
pub async fn run_reminder(pool: &PgPool, notifier: &Notifier, job: JobId, payload: &Value) -> Result<(), JobFailure> {
    let settings = notifier.settings();
    let customer: CustomerId = serde_json::from_value(payload["customer"].clone())
        .map_err(|e| JobFailure::Permanent(format!("customer: {e}")))?;
    let notice = payload["notice"].as_str().unwrap_or_default();
    let Some(m) = sqlx::query!(
        "SELECT email, name, marketing_email FROM customers WHERE id = $1",
        customer as CustomerId
    )
    .fetch_optional(pool)
    .await
    .map_err(Error::from)?
    else {
        return Ok(());
    };
    if !m.marketing_email {
        return Ok(());
    }
    let mut ctx = json!({ "shop": notifier.shop(), "customer": { "name": m.name } });
    let mut about = About {
        customer: Some(customer),
        order: None,
        marketing: true,
    };
    match notice {
        "abandoned_cart" => {
            let cart: CartId = serde_json::from_value(payload["cart"].clone())
                .map_err(|e| JobFailure::Permanent(format!("cart: {e}")))?;
            let lines = sqlx::query!(
                r#"SELECT p.name AS product_name, v.name AS variant_name, l.quantity, v.price * l.quantity AS "line_total!"
                     FROM cart_lines l JOIN variants v ON v.id = l.variant_id JOIN products p ON p.id = v.product_id
                    WHERE l.cart_id = $1 ORDER BY l.created_at"#,
                cart as CartId,
            )
            .fetch_all(pool)
            .await
            .map_err(Error::from)?;
            if lines.is_empty() {
                // Bought or emptied since.
                return Ok(());
            }
            ctx["cart"] = json!({
                "url": format!("{}/cart", settings.shop.storefront_url.trim_end_matches('/')),
                "lines": lines.iter().map(|l| json!({
                    "product_name": l.product_name, "variant_name": l.variant_name,
                    "quantity": l.quantity, "line_total": l.line_total,
                })).collect::<Vec<_>>(),
            });
        }
        "review_request" => {
            let id: OrderId = serde_json::from_value(payload["order"].clone())
                .map_err(|e| JobFailure::Permanent(format!("order: {e}")))?;
            let mut conn = pool.acquire().await.map_err(Error::from)?;
            let Some(order) = crate::order::get(&mut conn, &crate::order::OrderKey::Id(id)).await? else {
                return Ok(());
            };
            ctx["order"] = super::orders::context(&order, &settings.shop.storefront_url);
            about.order = Some(id);
            about.marketing = false;
        }
        "tier_changed" => {
            let name_of = |code: &str| {
                settings
                    .customers
                    .tiers
                    .iter()
                    .find(|t| t.code == code)
                    .map_or_else(|| (code.to_owned(), 0), |t| (t.name.clone(), t.points_rate))
            };
            let (new_name, rate) = name_of(payload["new"].as_str().unwrap_or_default());
            let (old_name, _) = name_of(payload["old"].as_str().unwrap_or_default());
            ctx["tier"] = json!({
                "name": new_name, "previous_name": old_name, "points_rate": rate,
                "months": settings.customers.tier_months,
            });
            about.marketing = false;
        }
        other => return Err(JobFailure::Permanent(format!("unknown reminder {other}"))),
    }
    let unsubscribe_url = Some(unsubscribe::url(settings, customer, unsubscribe::Channel::Email)?);
    ctx["unsubscribe_url"] = json!(unsubscribe_url);
    let prepared = notifier.prepare(notice, &ctx, about)?;
    notifier.email(pool, job, &prepared, &m.email, unsubscribe_url).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seoul(s: &str) -> DateTime<Utc> {
        let t = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("time");
        SHOP_TZ.from_local_datetime(&t).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn advertising_at_night_waits_for_eight() {
        assert_eq!(
            next_send_time(seoul("2026-12-03 14:00"), 21, 8),
            seoul("2026-12-03 14:00")
        );
        assert_eq!(
            next_send_time(seoul("2026-12-03 20:59"), 21, 8),
            seoul("2026-12-03 20:59")
        );
        assert_eq!(
            next_send_time(seoul("2026-12-03 21:00"), 21, 8),
            seoul("2026-12-04 08:00")
        );
        assert_eq!(
            next_send_time(seoul("2026-12-04 02:30"), 21, 8),
            seoul("2026-12-04 08:00")
        );
        assert_eq!(
            next_send_time(seoul("2026-12-04 08:00"), 21, 8),
            seoul("2026-12-04 08:00")
        );
    }
}
