//! The dormant-account policy (휴면계정), off by default: the duty to separate the data of
//! members inactive for a year ended with the 2023 amendment of the Personal Information
//! Protection Act, but some shops keep the practice. A member without a sign-in for
//! `after_days` is marked dormant and signed out everywhere; signing in again wakes them.

use sqlx::PgPool;

use crate::{Error, settings::DormantSettings};

/// Marks the members inactive for `after_days` dormant and ends their sessions; returns
/// how many. Does nothing unless the policy is on.
pub async fn apply(pool: &PgPool, settings: &DormantSettings) -> Result<u64, Error> {
    if !settings.enabled {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    let marked = sqlx::query!(
        "WITH d AS (
             UPDATE customers c SET dormant_at = now(), updated_at = now()
              WHERE c.dormant_at IS NULL
                AND GREATEST(c.created_at, (SELECT max(s.created_at) FROM customer_sessions s WHERE s.customer_id = c.id))
                    < now() - make_interval(days => $1)
             RETURNING c.id)
         UPDATE customer_sessions s SET revoked_at = now()
           FROM d WHERE s.customer_id = d.id AND s.revoked_at IS NULL",
        i32::try_from(settings.after_days.max(30)).unwrap_or(365),
    )
    .execute(&mut *tx)
    .await?;
    let count =
        sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM customers WHERE dormant_at > now() - interval '1 minute'"#)
            .fetch_one(&mut *tx)
            .await?;
    tx.commit().await?;
    tracing::info!(sessions = marked.rows_affected(), "dormant accounts signed out");
    Ok(u64::try_from(count).unwrap_or(0))
}
