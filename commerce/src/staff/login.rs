//! The two login steps: e-mail and password give a challenge, the challenge and a TOTP or
//! recovery code give a session; failures are throttled (owns `staff_challenges`).

use chrono::{Duration, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};

use super::{audit, session::new_session, totp::accept_step, totp::normalise_recovery};
use crate::{
    Error,
    auth::{self, Limits, Scope},
    ids::StaffId,
    settings::StaffSettings,
};

fn limits(s: &StaffSettings) -> Limits {
    Limits {
        per_account: s.max_failures_per_account,
        per_ip: s.max_failures_per_ip,
        window: Duration::minutes(s.window_minutes),
    }
}

/// The first step's answer.
#[derive(Debug)]
pub struct Challenge {
    /// Short-lived, single-use token for the second step.
    pub token: String,
    /// The staff member must enroll an authenticator first.
    pub enrollment_required: bool,
}

pub(super) async fn throttled(
    conn: &mut PgConnection,
    s: &StaffSettings,
    account: &str,
    ip: Option<&str>,
) -> Result<(), Error> {
    match auth::check_throttle(conn, Scope::Staff, account, ip, limits(s), Utc::now()).await {
        Err(e @ Error::TooManyAttempts { .. }) => {
            tracing::warn!(scope = "staff", "staff login locked after repeated failures");
            audit(conn, None, "staff.login.locked", account, json!({}), ip).await?;
            Err(e)
        }
        other => other,
    }
}

/// Records a failure and returns how long to wait before answering (growing with the
/// account's recent failures); the caller waits after giving its connection back.
pub(super) async fn failed(
    conn: &mut PgConnection,
    staff: Option<StaffId>,
    account: &str,
    ip: Option<&str>,
    action: &str,
) -> Result<std::time::Duration, Error> {
    auth::record_failure(conn, Scope::Staff, account, ip).await?;
    tracing::warn!(scope = "staff", action, "failed staff login");
    audit(conn, staff, action, account, json!({}), ip).await?;
    // Growing delays: each recent failure of the account slows the next answer a little
    // more (up to 2 s), on top of the lock that follows.
    let recent = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM login_failures WHERE scope = 'staff' AND key = $1 AND at > now() - interval '15 minutes'"#,
        format!("email:{account}")
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(std::time::Duration::from_millis(
        u64::try_from(recent).unwrap_or(0).saturating_mul(100).min(2000),
    ))
}

/// Step one: e-mail and password. Unknown e-mail and wrong password answer alike
/// (`INVALID_CREDENTIALS`, same time); repeated failures `TOO_MANY_ATTEMPTS`.
pub async fn login(
    pool: &PgPool,
    s: &StaffSettings,
    email: &str,
    password: &str,
    ip: Option<&str>,
) -> Result<Challenge, Error> {
    let account = email.trim().to_lowercase();
    let mut conn = pool.acquire().await?;
    throttled(&mut conn, s, &account, ip).await?;
    let found = sqlx::query!(
        r#"SELECT id AS "id: StaffId", password_hash, totp_enabled_at IS NOT NULL AS "totp!"
             FROM staff WHERE email = $1 AND active"#,
        account
    )
    .fetch_optional(&mut *conn)
    .await?;
    let (id, hash, totp) = found.map_or((None, None, false), |r| (Some(r.id), Some(r.password_hash), r.totp));
    if !auth::verify_password(password.to_owned(), hash).await {
        let wait = failed(&mut conn, id, &account, ip, "staff.login.password_failed").await?;
        drop(conn);
        tokio::time::sleep(wait).await;
        return Err(Error::InvalidCredentials);
    }
    let id = id.ok_or(Error::InvalidCredentials)?;
    let (token, token_hash) = auth::new_token();
    sqlx::query!(
        "INSERT INTO staff_challenges (token_hash, staff_id, expires_at) VALUES ($1, $2, $3)",
        token_hash,
        id as StaffId,
        Utc::now() + Duration::minutes(s.challenge_minutes),
    )
    .execute(&mut *conn)
    .await?;
    audit(
        &mut conn,
        Some(id),
        "staff.login.password_ok",
        &id.to_string(),
        json!({}),
        ip,
    )
    .await?;
    Ok(Challenge {
        token,
        enrollment_required: !totp,
    })
}

pub(super) struct ChallengeOwner {
    pub(super) id: StaffId,
    pub(super) email: String,
    pub(super) secret: Option<Vec<u8>>,
    pub(super) enabled: bool,
}

pub(super) async fn challenge_owner(conn: &mut PgConnection, challenge: &str) -> Result<ChallengeOwner, Error> {
    let r = sqlx::query!(
        r#"SELECT s.id AS "id: StaffId", s.email, s.totp_secret, s.totp_enabled_at IS NOT NULL AS "enabled!"
             FROM staff_challenges c JOIN staff s ON s.id = c.staff_id
            WHERE c.token_hash = $1 AND c.used_at IS NULL AND c.expires_at > now() AND s.active"#,
        auth::token_hash(challenge),
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::InvalidChallenge)?;
    Ok(ChallengeOwner {
        id: r.id,
        email: r.email,
        secret: r.totp_secret,
        enabled: r.enabled,
    })
}

/// Step two: a 6-digit TOTP code, or a recovery code (each works once). Errors:
/// `INVALID_CHALLENGE`, `INVALID_TOTP`, `ENROLLMENT_REQUIRED`, `TOO_MANY_ATTEMPTS`.
pub async fn verify(
    pool: &PgPool,
    s: &StaffSettings,
    challenge: &str,
    code: &str,
    ip: Option<&str>,
) -> Result<String, Error> {
    let mut conn = pool.acquire().await?;
    let owner = challenge_owner(&mut conn, challenge).await?;
    if !owner.enabled {
        return Err(Error::Enrollment("enroll an authenticator first"));
    }
    throttled(&mut conn, s, &owner.email, ip).await?;
    let mut tx = pool.begin().await?;
    let is_totp = code.trim().len() == 6 && code.trim().bytes().all(|b| b.is_ascii_digit());
    let accepted = if is_totp {
        accept_step(&mut tx, s, &owner, code).await.map(|()| "totp")
    } else {
        let r = sqlx::query!(
            "UPDATE staff_recovery_codes SET used_at = now() WHERE staff_id = $1 AND code_hash = $2 AND used_at IS NULL",
            owner.id as StaffId,
            auth::token_hash(&normalise_recovery(code)),
        )
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 1 {
            Ok("recovery code")
        } else {
            Err(Error::InvalidTotp)
        }
    };
    let method = match accepted {
        Ok(m) => m,
        Err(e) => {
            drop(tx);
            let wait = failed(&mut conn, Some(owner.id), &owner.email, ip, "staff.login.code_failed").await?;
            drop(conn);
            tokio::time::sleep(wait).await;
            return Err(e);
        }
    };
    let token = new_session(&mut tx, s, owner.id, challenge).await?;
    audit(
        &mut tx,
        Some(owner.id),
        "staff.login",
        &owner.id.to_string(),
        json!({ "with": method }),
        ip,
    )
    .await?;
    tx.commit().await?;
    auth::clear_failures(&mut conn, Scope::Staff, &owner.email).await?;
    Ok(token)
}
