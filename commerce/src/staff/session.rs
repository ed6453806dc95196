//! Staff sessions and bot tokens (owns `staff_sessions`).

use chrono::{Duration, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};

use super::{Permission, Principal, audit, parse_role};
use crate::{Error, auth, ids::StaffId, settings::StaffSettings};

/// Issues a long-lived token for the Slack bot (role `BOT`), creating the bot's staff row
/// if needed. OWNER only. Errors: `FORBIDDEN`.
pub async fn bot_token_create(pool: &PgPool, by: Principal, name: &str, ip: Option<&str>) -> Result<String, Error> {
    by.require(Permission::ManageStaff, "create bot tokens")?;
    let name = crate::customer::parse_name(name, "name")?;
    let email = format!(
        "bot+{}@jangteo.invalid",
        name.to_lowercase().replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    );
    let mut tx = pool.begin().await?;
    // A bot has no password anyone knows and never logs in: only its tokens work.
    let (unusable, _) = auth::new_token();
    let bot = sqlx::query_scalar!(
        r#"INSERT INTO staff (id, email, name, role, password_hash) VALUES ($1, $2, $3, 'BOT', $4)
           ON CONFLICT (email) DO UPDATE SET updated_at = now()
           RETURNING id AS "id: StaffId""#,
        StaffId::generate() as StaffId,
        email,
        name,
        format!("!{unusable}"),
    )
    .fetch_one(&mut *tx)
    .await?;
    let (token, hash) = auth::new_token();
    sqlx::query!(
        "INSERT INTO staff_sessions (token_hash, staff_id, kind) VALUES ($1, $2, 'BOT')",
        hash,
        bot as StaffId
    )
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        Some(by.id),
        "staff.bot_token.create",
        &bot.to_string(),
        json!({ "name": name }),
        ip,
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

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
/// `UNAUTHENTICATED` (unknown, revoked, idle or past its absolute expiry, or TOTP off).
pub async fn authenticate(pool: &PgPool, s: &StaffSettings, token: &str) -> Result<Principal, Error> {
    let r = sqlx::query!(
        r#"UPDATE staff_sessions ss SET last_seen_at = now()
             FROM staff st
            WHERE ss.token_hash = $1 AND st.id = ss.staff_id AND st.active AND ss.revoked_at IS NULL
              AND (ss.kind = 'BOT' OR (st.totp_enabled_at IS NOT NULL
                   AND ss.last_seen_at > now() - make_interval(mins => $2)
                   AND (ss.absolute_expires_at IS NULL OR ss.absolute_expires_at > now())))
        RETURNING st.id AS "id: StaffId", st.role"#,
        auth::token_hash(token),
        i32::try_from(s.session_idle_minutes).unwrap_or(60),
    )
    .fetch_optional(pool)
    .await?
    .ok_or(Error::Unauthenticated)?;
    Ok(Principal {
        id: r.id,
        role: parse_role(&r.role)?,
    })
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
