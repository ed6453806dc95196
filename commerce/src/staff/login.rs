//! The two login steps: e-mail and password give a challenge, the challenge and a TOTP or
//! recovery code give a session (owns `staff_challenges`). Every attempt is counted per
//! (e-mail, client address) before it is checked ([`auth::reserve`]).
//!
//! Each step holds one pooled connection (or one transaction) at a time, never two, and
//! none while a password is hashed or a failure's answer is delayed.

use chrono::{Duration, SecondsFormat, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};

use super::{audit, session::new_session, totp};
use crate::{
    Error,
    auth::{self, Attempt, Scope},
    ids::StaffId,
    jobs::{NewJob, enqueue},
    notify::EMAIL_JOB,
    settings::StaffSettings,
};

/// The first step's answer.
#[derive(Debug)]
pub struct Challenge {
    /// Short-lived, single-use token for the second step.
    pub token: String,
    /// The staff member must enroll an authenticator first.
    pub enrollment_required: bool,
}

/// Counts an attempt of `account` from `ip` before its check; a refusal is audited, and a
/// locked staff member is e-mailed once per lock.
pub(super) async fn reserve(
    pool: &PgPool,
    s: &StaffSettings,
    account: &str,
    ip: Option<&str>,
) -> Result<Attempt, Error> {
    match auth::reserve(pool, Scope::Staff, account, ip, &s.throttle).await {
        Err(e @ Error::TooManyAttempts { .. }) => {
            let mut tx = pool.begin().await?;
            audit(&mut tx, None, "staff.login.locked", account, json!({}), ip).await?;
            mail_lock(&mut tx, s, account).await?;
            tx.commit().await?;
            Err(e)
        }
        other => other,
    }
}

/// Tells the staff member behind `account` that their login is locked (`staff_locked`),
/// once per lock: the job's key names the lock's end, which stays put while the lock holds.
/// Nothing for an e-mail no active staff member has, nor for a lock of the client address
/// alone (many accounts tried from one place: not this account's lock).
async fn mail_lock(conn: &mut PgConnection, s: &StaffSettings, account: &str) -> Result<(), Error> {
    let Some(staff) = sqlx::query!(
        r#"SELECT id AS "id: StaffId", name, email FROM staff WHERE email = $1 AND active"#,
        account
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(());
    };
    let locks = auth::locked_accounts(&mut *conn, Scope::Staff, Some(account), &s.throttle).await?;
    let Some(lock) = locks.into_iter().next() else {
        return Ok(());
    };
    let until = lock.until.to_rfc3339_opts(SecondsFormat::Secs, true);
    // The payload `notify::enqueue_email` builds, under a key.
    let payload = json!({
        "notice": "staff_locked", "to": staff.email, "customer": null,
        "ctx": { "staff": { "name": staff.name, "email": staff.email, "until": until } },
    });
    let key = format!("staff_locked:{}:{}", staff.id, lock.until.timestamp_micros());
    if enqueue(conn, NewJob::new(EMAIL_JOB, payload).once(key))
        .await?
        .is_some()
    {
        tracing::info!(staff = %staff.id, "staff lock e-mailed");
    }
    Ok(())
}

/// A failed check: audited, the attempt stays counted, and the answer waits the attempt's
/// growing delay once the connection is back in the pool.
pub(super) async fn failed(
    pool: &PgPool,
    attempt: &Attempt,
    staff: Option<StaffId>,
    account: &str,
    ip: Option<&str>,
    action: &str,
) -> Result<(), Error> {
    {
        let mut conn = pool.acquire().await?;
        auth::failed(&mut conn, attempt).await?;
        audit(&mut conn, staff, action, account, json!({}), ip).await?;
    }
    tokio::time::sleep(attempt.delay()).await;
    Ok(())
}

/// A code check that went wrong: a fault is returned as it is; a wrong code ends `tx`
/// (nothing of the step is kept), is recorded as a failure of the challenge's owner, with
/// its delay, and returned.
pub(super) async fn code_failed(
    pool: &PgPool,
    tx: sqlx::Transaction<'_, sqlx::Postgres>,
    attempt: &Attempt,
    owner: &ChallengeOwner,
    ip: Option<&str>,
    action: &str,
    e: Error,
) -> Error {
    drop(tx);
    if e.is_fault() {
        return e;
    }
    match failed(pool, attempt, Some(owner.id), &owner.email, ip, action).await {
        Ok(()) => e,
        Err(fault) => fault,
    }
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
    let attempt = reserve(pool, s, &account, ip).await?;
    let found = sqlx::query!(
        r#"SELECT id AS "id: StaffId", password_hash, totp_enabled_at IS NOT NULL AS "totp!"
             FROM staff WHERE email = $1 AND active"#,
        account
    )
    .fetch_optional(pool)
    .await?;
    let (id, hash, totp) = found.map_or((None, None, false), |r| (Some(r.id), Some(r.password_hash), r.totp));
    let id = match (auth::verify_password(password.to_owned(), hash).await?, id) {
        (true, Some(id)) => id,
        (_, id) => {
            failed(pool, &attempt, id, &account, ip, "staff.login.password_failed").await?;
            return Err(Error::InvalidCredentials);
        }
    };
    let (token, token_hash) = auth::new_token();
    let mut tx = pool.begin().await?;
    // The password was right, but the login is not over: the code still counts.
    auth::release(&mut tx, &attempt).await?;
    sqlx::query!(
        "INSERT INTO staff_challenges (token_hash, staff_id, expires_at) VALUES ($1, $2, $3)",
        token_hash,
        id as StaffId,
        Utc::now() + Duration::minutes(s.challenge_minutes),
    )
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        Some(id),
        "staff.login.password_ok",
        &id.to_string(),
        json!({}),
        ip,
    )
    .await?;
    tx.commit().await?;
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

pub(super) async fn challenge_owner(pool: &PgPool, challenge: &str) -> Result<ChallengeOwner, Error> {
    let r = sqlx::query!(
        r#"SELECT s.id AS "id: StaffId", s.email, s.totp_secret, s.totp_enabled_at IS NOT NULL AS "enabled!"
             FROM staff_challenges c JOIN staff s ON s.id = c.staff_id
            WHERE c.token_hash = $1 AND c.used_at IS NULL AND c.expires_at > now() AND s.active"#,
        auth::token_hash(challenge),
    )
    .fetch_optional(pool)
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
/// `INVALID_CHALLENGE`, `INVALID_TOTP`, `ENROLLMENT_REQUIRED`, `TOO_MANY_ATTEMPTS`,
/// `INTERNAL` (e.g. a `staff.totp_key` that doesn't open the stored secret).
pub async fn verify(
    pool: &PgPool,
    s: &StaffSettings,
    challenge: &str,
    code: &str,
    ip: Option<&str>,
) -> Result<String, Error> {
    let owner = challenge_owner(pool, challenge).await?;
    if !owner.enabled {
        return Err(Error::Enrollment("enroll an authenticator first"));
    }
    let attempt = reserve(pool, s, &owner.email, ip).await?;
    let mut tx = pool.begin().await?;
    let is_totp = code.trim().len() == 6 && code.trim().bytes().all(|b| b.is_ascii_digit());
    let accepted = if is_totp {
        totp::accept_step(&mut tx, s, &owner, code).await.map(|()| "totp")
    } else {
        totp::use_recovery_code(&mut tx, s, owner.id, code)
            .await
            .map(|()| "recovery code")
    };
    let method = match accepted {
        Ok(m) => m,
        Err(e) => return Err(code_failed(pool, tx, &attempt, &owner, ip, "staff.login.code_failed", e).await),
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
    auth::succeeded(&mut tx, &attempt).await?;
    tx.commit().await?;
    Ok(token)
}
