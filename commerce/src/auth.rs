//! Secrets and login throttling (owns `login_throttle`): argon2id password hashes, bounded
//! by a process-wide semaphore; random tokens stored as SHA-256; keyed hashes (HMAC-SHA256).
//!
//! Throttling counts an attempt per (account, client address) BEFORE its password or code
//! is checked, with one conditional upsert, so however many arrive at once no more checks
//! run than the limit allows. A success takes its attempt back. A pair that failed too
//! often is locked for the window; the account itself is locked only by a sustained attack
//! from several addresses, and one address only at a high bound (a shared proxy carries
//! many people). Settings: [`ThrottleSettings`].

use std::{net::IpAddr, sync::LazyLock, time::Duration as StdDuration};

use argon2::{
    Argon2,
    password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use tokio::sync::Semaphore;

use crate::{Error, settings::ThrottleSettings};

/// Password hashes running at once: one per core. Each argon2id call takes 19 MiB and a
/// core for tens of milliseconds; unbounded, 150 sign-ups at once took the process from
/// 162 MB to 833 MB and starved every other request of CPU.
static HASHING: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZero::get)));

/// Runs `f` (password hashing) on a blocking thread once a hashing permit is free. Callers
/// hold no database connection while they wait here.
async fn hashing<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, Error> {
    let fault = |reason: String| Error::Fault {
        what: "password hashing",
        reason,
    };
    let _permit = HASHING.acquire().await.map_err(|e| fault(e.to_string()))?;
    tokio::task::spawn_blocking(f).await.map_err(|e| fault(e.to_string()))
}

/// Hashes a password with argon2id (default parameters: 19 MiB, 2 passes), on a blocking
/// thread, at most one per core at a time. Errors: `INTERNAL` (a hashing fault).
pub async fn hash_password(password: String) -> Result<String, Error> {
    hashing(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
    })
    .await?
    .map_err(|e| Error::Fault {
        what: "password hashing",
        reason: e.to_string(),
    })
}

/// A hash of a password nobody has: verifying against it costs what a real check costs, so
/// an unknown e-mail answers in the same time as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let (random, _) = new_token();
    Argon2::default()
        .hash_password(random.as_bytes())
        .map(|h| h.to_string())
        .unwrap_or_default()
});

/// Whether `password` matches `hash` (`None`: check against a dummy and answer false), on
/// a blocking thread, at most one per core at a time. Errors: `INTERNAL` (the hashing task
/// was lost).
pub async fn verify_password(password: String, hash: Option<String>) -> Result<bool, Error> {
    hashing(move || {
        let real = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        let ok = PasswordHash::new(&hash)
            .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok());
        real && ok
    })
    .await
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

/// HMAC-SHA256 of `message` under `key`: for secrets that are short enough to guess
/// offline from a plain hash (recovery codes), and for deriving keys with a label.
///
/// # Panics
/// Never: HMAC takes keys of any length.
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length; `new_from_slice` can't fail for it.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// Who is logging in, for throttling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// The key a client address is counted under: IPv4 as is, IPv6 by its /64 (one home or
/// phone gets a whole /64), `""` when unknown.
fn client_key(ip: Option<&str>) -> String {
    match ip.map(|s| (s, s.parse::<IpAddr>().map(|ip| ip.to_canonical()))) {
        Some((_, Ok(IpAddr::V6(v6)))) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some((_, Ok(v4))) => v4.to_string(),
        Some((raw, Err(_))) => raw.to_owned(),
        None => String::new(),
    }
}

/// A login attempt counted against its (account, client address) before its check.
#[derive(Debug)]
#[must_use = "an attempt is counted as a failure until it is released or succeeds"]
pub struct Attempt {
    scope: Scope,
    account: String,
    client: String,
    /// The pair's counted attempts in the window, this one included.
    pub failures: i32,
}

impl Attempt {
    /// How long to wait before answering this attempt's failure: 100 ms, doubled for each
    /// earlier failure of the pair, at most 2 s. The caller waits holding no connection.
    pub fn delay(&self) -> StdDuration {
        let earlier = u32::try_from(self.failures.saturating_sub(1)).unwrap_or(0).min(5);
        StdDuration::from_millis(100 << earlier).min(StdDuration::from_secs(2))
    }
}

/// Which lock refused an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lock {
    /// This account from this address failed too often.
    AccountAndAddress,
    /// The account failed too often from several addresses.
    Account,
    /// This address failed too often, over all accounts.
    Address,
}

impl Lock {
    /// For logs and audit summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            Lock::AccountAndAddress => "account_and_address",
            Lock::Account => "account",
            Lock::Address => "address",
        }
    }
}

/// Counts a login attempt of `account` from `ip` before its password or code is checked.
/// One conditional upsert on the pair's row is both the check and the count, so parallel
/// attempts can't run more checks than `max_failures_per_account_and_ip`. Holds a pooled
/// connection for that one statement only. Errors: `TOO_MANY_ATTEMPTS` (with the lock in
/// the log), `INTERNAL`.
pub async fn reserve(
    pool: &PgPool,
    scope: Scope,
    account: &str,
    ip: Option<&str>,
    t: &ThrottleSettings,
) -> Result<Attempt, Error> {
    let client = client_key(ip);
    let failures = sqlx::query_scalar!(
        r#"WITH stats AS (
               SELECT count(*) FILTER (WHERE account = $2 AND failures > 0) AS addresses,
                      coalesce(sum(failures) FILTER (WHERE account = $2), 0) AS account_failures,
                      coalesce(sum(failures) FILTER (WHERE client = $3), 0) AS client_failures
                 FROM login_throttle
                WHERE scope = $1 AND (account = $2 OR client = $3) AND first_at > now() - make_interval(mins => $4)
           )
           INSERT INTO login_throttle AS t (scope, account, client, failures, first_at, last_at)
           SELECT $1, $2, $3, 1, now(), now() FROM stats
            WHERE NOT (addresses >= $6 AND account_failures >= $7) AND client_failures < $8
           ON CONFLICT (scope, account, client) DO UPDATE
              SET failures = CASE WHEN t.first_at <= now() - make_interval(mins => $4) THEN 1 ELSE t.failures + 1 END,
                  first_at = CASE WHEN t.first_at <= now() - make_interval(mins => $4) THEN now() ELSE t.first_at END,
                  last_at = now()
            WHERE t.first_at <= now() - make_interval(mins => $4) OR t.failures < $5
           RETURNING failures"#,
        scope.as_str(),
        account,
        client,
        t.window_minutes,
        t.max_failures_per_account_and_ip,
        t.account_lock_addresses,
        t.account_lock_failures,
        t.max_failures_per_ip,
    )
    .fetch_optional(pool)
    .await?;
    match failures {
        Some(failures) => Ok(Attempt {
            scope,
            account: account.to_owned(),
            client,
            failures,
        }),
        None => {
            let (lock, retry_after_secs) = which_lock(pool, scope, account, &client, t).await?;
            crate::metrics::login_locked(scope.as_str(), lock.as_str());
            tracing::warn!(
                scope = scope.as_str(),
                lock = lock.as_str(),
                "login refused after repeated failures"
            );
            Err(Error::TooManyAttempts { retry_after_secs })
        }
    }
}

/// Why [`reserve`] refused, and for how long (at least: a sum may stay over its bound a
/// little longer than its oldest pair's window).
async fn which_lock(
    pool: &PgPool,
    scope: Scope,
    account: &str,
    client: &str,
    t: &ThrottleSettings,
) -> Result<(Lock, i64), Error> {
    let r = sqlx::query!(
        r#"SELECT coalesce(max(failures) FILTER (WHERE account = $2 AND client = $3), 0) AS "pair!",
                  min(first_at) FILTER (WHERE account = $2 AND client = $3) AS pair_since,
                  count(*) FILTER (WHERE account = $2 AND failures > 0) AS "addresses!",
                  coalesce(sum(failures) FILTER (WHERE account = $2), 0) AS "account!",
                  min(first_at) FILTER (WHERE account = $2) AS account_since,
                  coalesce(sum(failures) FILTER (WHERE client = $3), 0) AS "client!",
                  min(first_at) FILTER (WHERE client = $3) AS client_since
             FROM login_throttle
            WHERE scope = $1 AND (account = $2 OR client = $3) AND first_at > now() - make_interval(mins => $4)"#,
        scope.as_str(),
        account,
        client,
        t.window_minutes,
    )
    .fetch_one(pool)
    .await?;
    let (lock, since) = if r.pair >= t.max_failures_per_account_and_ip {
        (Lock::AccountAndAddress, r.pair_since)
    } else if r.addresses >= t.account_lock_addresses && r.account >= t.account_lock_failures {
        (Lock::Account, r.account_since)
    } else {
        (Lock::Address, r.client_since)
    };
    let now = Utc::now();
    let until = since.map_or(now, |s: DateTime<Utc>| {
        s + Duration::minutes(i64::from(t.window_minutes))
    });
    Ok((lock, (until - now).num_seconds().max(1)))
}

/// An account that failed logins too often: locked for every address
/// ([`Lock::Account`]), or for the address it failed from ([`Lock::AccountAndAddress`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountLock {
    /// The account (the normalised e-mail tried).
    pub account: String,
    /// Which lock holds; [`Lock::Account`] when both do.
    pub lock: Lock,
    /// Failed attempts counted in the window, over all addresses.
    pub failures: i64,
    /// When it lifts (at least; see [`reserve`]).
    pub until: DateTime<Utc>,
}

/// The accounts of `scope` that [`reserve`] refuses now, from some address or from all, by
/// the same bounds; only `account` when given. One statement over the window's rows.
pub async fn locked_accounts(
    conn: &mut PgConnection,
    scope: Scope,
    account: Option<&str>,
    t: &ThrottleSettings,
) -> Result<Vec<AccountLock>, Error> {
    let rows = sqlx::query!(
        r#"SELECT account AS "account!",
                  count(*) FILTER (WHERE failures > 0) >= $5 AND coalesce(sum(failures), 0) >= $6 AS "account_wide!",
                  coalesce(sum(failures), 0)::int8 AS "failures!",
                  CASE WHEN count(*) FILTER (WHERE failures > 0) >= $5 AND coalesce(sum(failures), 0) >= $6
                       THEN min(first_at) ELSE min(first_at) FILTER (WHERE failures >= $4) END
                      + make_interval(mins => $3) AS "until!"
             FROM login_throttle
            WHERE scope = $1 AND ($2::text IS NULL OR account = $2) AND first_at > now() - make_interval(mins => $3)
            GROUP BY account
           HAVING max(failures) >= $4 OR (count(*) FILTER (WHERE failures > 0) >= $5 AND coalesce(sum(failures), 0) >= $6)
            ORDER BY account"#,
        scope.as_str(),
        account,
        t.window_minutes,
        t.max_failures_per_account_and_ip,
        t.account_lock_addresses,
        t.account_lock_failures,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AccountLock {
            account: r.account,
            lock: if r.account_wide {
                Lock::Account
            } else {
                Lock::AccountAndAddress
            },
            failures: r.failures,
            until: r.until,
        })
        .collect())
}

/// Takes a counted attempt back: its check passed, but the login is not over (the staff
/// password step before the second factor).
pub async fn release(conn: &mut PgConnection, a: &Attempt) -> Result<(), Error> {
    sqlx::query!(
        "UPDATE login_throttle SET failures = greatest(failures - 1, 0)
          WHERE scope = $1 AND account = $2 AND client = $3",
        a.scope.as_str(),
        a.account,
        a.client,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The login is complete: the pair's failures are forgotten (other addresses' stay).
pub async fn succeeded(conn: &mut PgConnection, a: &Attempt) -> Result<(), Error> {
    sqlx::query!(
        "DELETE FROM login_throttle WHERE scope = $1 AND account = $2 AND client = $3",
        a.scope.as_str(),
        a.account,
        a.client,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The check failed: the attempt stays counted. Prunes rows idle for a day.
pub async fn failed(conn: &mut PgConnection, a: &Attempt) -> Result<(), Error> {
    tracing::warn!(scope = a.scope.as_str(), failures = a.failures, "failed login");
    crate::metrics::login_failed(a.scope.as_str());
    sqlx::query!("DELETE FROM login_throttle WHERE last_at < now() - interval '1 day'")
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
        assert!(
            verify_password("correct horse 1".into(), Some(h.clone()))
                .await
                .expect("verify")
        );
        assert!(!verify_password("wrong horse 1".into(), Some(h)).await.expect("verify"));
        assert!(!verify_password("anything".into(), None).await.expect("verify"));
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

    #[test]
    fn hmac_sha256_matches_rfc_4231() {
        // RFC 4231 test case 2.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().concat();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn clients_count_by_address_and_ipv6_by_64() {
        assert_eq!(client_key(Some("203.0.113.7")), "203.0.113.7");
        assert_eq!(client_key(Some("::ffff:203.0.113.7")), "203.0.113.7");
        assert_eq!(
            client_key(Some("2001:db8:1:2:aaaa::1")),
            client_key(Some("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(client_key(Some("2001:db8:1:2::1")), client_key(Some("2001:db8:1:3::1")));
        assert_eq!(client_key(None), "");
    }

    #[test]
    fn delays_grow_and_stop_at_two_seconds() {
        let attempt = |failures| Attempt {
            scope: Scope::Customer,
            account: String::new(),
            client: String::new(),
            failures,
        };
        assert_eq!(attempt(1).delay(), StdDuration::from_millis(100));
        assert_eq!(attempt(3).delay(), StdDuration::from_millis(400));
        assert_eq!(attempt(40).delay(), StdDuration::from_secs(2));
    }
}
