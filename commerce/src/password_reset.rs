//! Customer password reset by an e-mailed, single-use link; owns `password_resets`.
//!
//! A request always answers alike (an unknown e-mail gets nothing, and is not told so). The
//! link carries 32 random bytes (base64url); only their SHA-256 is stored. A link works for
//! 30 minutes, once; a new request voids the earlier links of the customer. A reset sets the
//! new password and ends every session of the customer, in one transaction.

use chrono::{Duration, Utc};
use serde_json::json;
use sqlx::PgPool;

use crate::{
    Error, auth,
    ids::CustomerId,
    types::{Email, NewPassword},
};

/// How long a reset link works.
pub const VALID_FOR: Duration = Duration::minutes(30);

/// Sends a reset link to `email` if a customer has it; nothing otherwise, with the same
/// answer (`Ok`). `storefront_url` is where the link points
/// (`{storefront_url}/account/reset-password?token=…`). Earlier unused links of the
/// customer stop working. Errors: `INVALID_INPUT` (`email` malformed).
pub async fn request(pool: &PgPool, storefront_url: &str, email: &str) -> Result<(), Error> {
    let email = Email::parse(email)?;
    let mut tx = pool.begin().await?;
    let Some(c) = sqlx::query!(
        r#"SELECT id AS "id: CustomerId", name FROM customers WHERE email = $1"#,
        email.as_str()
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        tracing::info!("password reset asked for an unknown e-mail");
        return Ok(());
    };
    let (token, token_hash) = auth::new_token();
    // Earlier links of this customer, and anyone's long dead ones, go.
    sqlx::query!(
        "DELETE FROM password_resets WHERE customer_id = $1 OR expires_at < now() - interval '1 day'",
        c.id as CustomerId,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO password_resets (token_hash, customer_id, expires_at) VALUES ($1, $2, $3)",
        token_hash,
        c.id as CustomerId,
        Utc::now() + VALID_FOR,
    )
    .execute(&mut *tx)
    .await?;
    crate::notify::enqueue_email(
        &mut tx,
        "password_reset",
        email.as_str(),
        Some(c.id),
        json!({
            "customer": { "name": c.name },
            "reset_url_base": format!("{}/account/reset-password?token=", storefront_url.trim_end_matches('/')),
            "secret": token,
        }),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(customer = %c.id, "password reset link sent");
    Ok(())
}

/// Sets a new password with a reset link's `token`: the link is used up, every session of
/// the customer ends. The password is hashed before any connection is taken. Errors:
/// `INVALID_TOKEN` (unknown, expired or used link).
pub async fn reset(pool: &PgPool, token: &str, password: NewPassword) -> Result<CustomerId, Error> {
    let token_hash = auth::token_hash(token.trim());
    // A cheap look first: a dead link costs no hashing. The UPDATE below is the check.
    let live = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM password_resets
                           WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()) AS "live!""#,
        token_hash,
    )
    .fetch_one(pool)
    .await?;
    if !live {
        return Err(Error::InvalidToken);
    }
    let hash = auth::hash_password(password.expose().to_owned()).await?;
    let mut tx = pool.begin().await?;
    let customer = sqlx::query_scalar!(
        r#"UPDATE password_resets SET used_at = now()
            WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
           RETURNING customer_id AS "id: CustomerId""#,
        token_hash,
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::InvalidToken)?;
    sqlx::query!(
        "UPDATE customers SET password_hash = $2, updated_at = now() WHERE id = $1",
        customer as CustomerId,
        hash,
    )
    .execute(&mut *tx)
    .await?;
    let ended = sqlx::query!(
        "UPDATE customer_sessions SET revoked_at = now() WHERE customer_id = $1 AND revoked_at IS NULL",
        customer as CustomerId,
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    tracing::info!(customer = %customer, sessions_ended = ended, "password reset");
    Ok(customer)
}
