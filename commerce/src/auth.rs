//! Secrets: argon2id password hashes, random tokens stored as SHA-256, and login throttling
//! (owns `login_failures`).

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgConnection;

use crate::Error;

/// Hashes a password with argon2id (default parameters: 19 MiB, 2 passes), on a blocking
/// thread: it is slow on purpose.
pub async fn hash_password(password: String) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| Error::Invalid {
                field: "password",
                reason: e.to_string(),
            })
    })
    .await
    .map_err(|e| Error::Invalid {
        field: "password",
        reason: e.to_string(),
    })?
}

/// A hash of a password nobody has: verifying against it costs what a real check costs, so
/// an unknown e-mail answers in the same time as a wrong password.
static DUMMY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let (random, _) = new_token();
    Argon2::default()
        .hash_password(random.as_bytes())
        .map(|h| h.to_string())
        .unwrap_or_default()
});

/// Whether `password` matches `hash` (`None`: check against a dummy and answer false).
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let real = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        let ok = PasswordHash::new(&hash)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok());
        real && ok
    })
    .await
    .unwrap_or(false)
}

/// A new random token (256 bits, base64url) and the hash to store for it.
///
/// # Panics
/// If the OS random number generator fails: nothing safe can go on without it.
pub fn new_token() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    // The OS RNG failing is not something to carry on from.
    getrandom::fill(&mut bytes).expect("the OS random number generator works");
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = token_hash(&token);
    (token, hash)
}

/// What is stored for a token: its SHA-256.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Who is logging in, for throttling.
#[derive(Clone, Copy, Debug)]
pub enum Scope {
    /// A customer.
    Customer,
    /// A staff member.
    Staff,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::Customer => "customer",
            Scope::Staff => "staff",
        }
    }
}

/// Throttling limits.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Failures per account in the window.
    pub per_account: i64,
    /// Failures per IP in the window.
    pub per_ip: i64,
    /// The window, which is also how long a lock lasts.
    pub window: Duration,
}

/// `TOO_MANY_ATTEMPTS` when the account or the IP has failed too often within the window.
pub async fn check_throttle(
    conn: &mut PgConnection,
    scope: Scope,
    account: &str,
    ip: Option<&str>,
    limits: Limits,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let since = now - limits.window;
    let account_key = format!("email:{account}");
    let ip_key = ip.map(|ip| format!("ip:{ip}"));
    let row = sqlx::query!(
        r#"SELECT count(*) FILTER (WHERE key = $2) AS "account!",
                  count(*) FILTER (WHERE key = $3) AS "ip!",
                  min(at) FILTER (WHERE key = $2) AS account_oldest,
                  min(at) FILTER (WHERE key = $3) AS ip_oldest
             FROM login_failures
            WHERE scope = $1 AND key IN ($2, $3) AND at > $4"#,
        scope.as_str(),
        account_key,
        ip_key,
        since,
    )
    .fetch_one(&mut *conn)
    .await?;
    let locked_until = |oldest: Option<DateTime<Utc>>| oldest.map(|o| o + limits.window);
    let until = if row.account >= limits.per_account {
        locked_until(row.account_oldest)
    } else if row.ip >= limits.per_ip {
        locked_until(row.ip_oldest)
    } else {
        None
    };
    match until {
        Some(until) => Err(Error::TooManyAttempts {
            retry_after_secs: (until - now).num_seconds().max(1),
        }),
        None => Ok(()),
    }
}

/// Records a failed login for the account and the IP (and prunes day-old rows).
pub async fn record_failure(
    conn: &mut PgConnection,
    scope: Scope,
    account: &str,
    ip: Option<&str>,
) -> Result<(), Error> {
    let keys: Vec<String> = std::iter::once(format!("email:{account}"))
        .chain(ip.map(|ip| format!("ip:{ip}")))
        .collect();
    sqlx::query!(
        "WITH pruned AS (DELETE FROM login_failures WHERE at < now() - interval '1 day')
         INSERT INTO login_failures (scope, key) SELECT $1, k FROM UNNEST($2::text[]) AS k",
        scope.as_str(),
        &keys,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Forgets an account's failures after a successful login.
pub async fn clear_failures(conn: &mut PgConnection, scope: Scope, account: &str) -> Result<(), Error> {
    sqlx::query!(
        "DELETE FROM login_failures WHERE scope = $1 AND key = $2",
        scope.as_str(),
        format!("email:{account}"),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse 1".into()).await.expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse 1".into(), Some(h.clone())).await);
        assert!(!verify_password("wrong horse 1".into(), Some(h)).await);
        assert!(!verify_password("anything".into(), None).await);
    }

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, ha) = new_token();
        let (b, _) = new_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a), ha);
        assert_eq!(ha.len(), 32);
    }
}
