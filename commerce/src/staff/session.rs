//! Staff sessions (owns `staff_sessions`; bot tokens, kept there too, are in [`super::bot`]).

use chrono::{Duration, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};

use super::{Principal, audit, parse_role};
use crate::{Error, auth, ids::StaffId, settings::StaffSettings};

/// A session: the bearer token, and the recovery codes when they were just made.
#[derive(Debug)]
pub struct SessionGrant {
    /// `Authorization: Bearer …` for `/admin/graphql`.
    pub token: String,
    /// Ten one-time recovery codes, shown once (activation only).
    pub recovery_codes: Vec<String>,
}

pub(super) async fn new_session(
    conn: &mut PgConnection,
    s: &StaffSettings,
    staff: StaffId,
    challenge: &str,
) -> Result<String, Error> {
    let used = sqlx::query!(
        "UPDATE staff_challenges SET used_at = now() WHERE token_hash = $1 AND used_at IS NULL",
        auth::token_hash(challenge)
    )
    .execute(&mut *conn)
    .await?;
    if used.rows_affected() == 0 {
        return Err(Error::InvalidChallenge);
    }
    let (token, hash) = auth::new_token();
    sqlx::query!(
        "INSERT INTO staff_sessions (token_hash, staff_id, absolute_expires_at) VALUES ($1, $2, $3)",
        hash,
        staff as StaffId,
        Utc::now() + Duration::hours(s.session_absolute_hours),
    )
    .execute(&mut *conn)
    .await?;
    Ok(token)
}

/// The staff member of a session or bot token; refreshes its idle timer. Errors:
/// `UNAUTHENTICATED` (unknown, revoked, past its absolute expiry (bot tokens too), idle or
/// TOTP off (sessions)).
pub async fn authenticate(pool: &PgPool, s: &StaffSettings, token: &str) -> Result<Principal, Error> {
    let r = sqlx::query!(
        r#"UPDATE staff_sessions ss SET last_seen_at = now()
             FROM staff st
            WHERE ss.token_hash = $1 AND st.id = ss.staff_id AND st.active AND ss.revoked_at IS NULL
              AND (ss.absolute_expires_at IS NULL OR ss.absolute_expires_at > now())
              AND (ss.kind = 'BOT' OR (st.totp_enabled_at IS NOT NULL
                   AND ss.last_seen_at > now() - make_interval(mins => $2)))
        RETURNING st.id AS "id: StaffId", st.role"#,
        auth::token_hash(token),
        i32::try_from(s.session_idle_minutes).unwrap_or(60),
    )
    .fetch_optional(pool)
    .await?
    .ok_or(Error::Unauthenticated)?;
    Ok(Principal::new(r.id, parse_role(&r.role)?))
}

/// Ends a session. Errors: `UNAUTHENTICATED`.
pub async fn logout(pool: &PgPool, token: &str, ip: Option<&str>) -> Result<(), Error> {
    let mut conn = pool.acquire().await?;
    let staff = sqlx::query_scalar!(
        r#"UPDATE staff_sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL
           RETURNING staff_id AS "id: StaffId""#,
        auth::token_hash(token)
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::Unauthenticated)?;
    audit(
        &mut conn,
        Some(staff),
        "staff.logout",
        &staff.to_string(),
        json!({}),
        ip,
    )
    .await
}
