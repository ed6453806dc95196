//! Customer access tokens after login: their expiry and their renewal (rows of
//! `customer_sessions`, which `customer::login` creates and `customer::logout` revokes).

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use crate::{Error, auth, ids::CustomerId, settings::CustomerSettings};

/// A fresh access token.
#[derive(Debug)]
pub struct Renewed {
    /// The new token (`Authorization: Bearer …`); the old one no longer works.
    pub token: String,
    /// When the new token stops working.
    pub expires_at: DateTime<Utc>,
    /// Whose it is.
    pub customer: CustomerId,
}

/// When a live token stops working. Errors: `UNAUTHENTICATED` (unknown, expired, revoked).
pub async fn expires_at(pool: &PgPool, token: &str) -> Result<DateTime<Utc>, Error> {
    sqlx::query_scalar!(
        "SELECT expires_at FROM customer_sessions
          WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()",
        auth::token_hash(token),
    )
    .fetch_optional(pool)
    .await?
    .ok_or(Error::Unauthenticated)
}

/// Swaps a live token for a new one that lives `session_days` from now, revoking the old
/// one in the same statement (of two renewals of one token at once, one wins).
/// Errors: `UNAUTHENTICATED` (unknown, expired, revoked).
pub async fn renew(pool: &PgPool, settings: &CustomerSettings, token: &str) -> Result<Renewed, Error> {
    let (new, new_hash) = auth::new_token();
    let expires_at = Utc::now() + Duration::days(settings.session_days);
    let customer = sqlx::query_scalar!(
        r#"WITH old AS (
               UPDATE customer_sessions SET revoked_at = now()
                WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()
               RETURNING customer_id)
           INSERT INTO customer_sessions (token_hash, customer_id, expires_at)
           SELECT $2, customer_id, $3 FROM old
           RETURNING customer_id AS "id: CustomerId""#,
        auth::token_hash(token),
        new_hash,
        expires_at,
    )
    .fetch_optional(pool)
    .await?
    .ok_or(Error::Unauthenticated)?;
    tracing::info!(customer = %customer, "customer token renewed");
    Ok(Renewed {
        token: new,
        expires_at,
        customer,
    })
}
