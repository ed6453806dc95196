//! TOTP two-factor login (RFC 6238, SHA-1, 6 digits, 30 s, ±1 step): enrollment,
//! activation with recovery codes (owns `staff_recovery_codes`). A time step once accepted
//! is never accepted again. TOTP secrets are stored encrypted (XChaCha20-Poly1305, bound to
//! the staff id); recovery codes as HMAC-SHA256 under a key derived from the same setting.
//!
//! A bad `staff.totp_key`, a failing random number generator, cipher or QR encoder are the
//! server's faults (`INTERNAL`), never the caller's.

use base64::{Engine, engine::general_purpose::STANDARD};
use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, KeyInit, Payload},
};
use chrono::Utc;
use secrecy::ExposeSecret;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use totp_rs::{Builder, Totp};

use super::{
    SessionGrant, audit,
    login::{ChallengeOwner, challenge_owner, code_failed, reserve},
    session::new_session,
};
use crate::{Error, auth, ids::StaffId, settings::StaffSettings};

fn fault(what: &'static str, reason: &impl std::fmt::Display) -> Error {
    Error::Fault {
        what,
        reason: reason.to_string(),
    }
}

/// The 32-byte server key of `staff.totp_key`. Errors: `INTERNAL` (not base64 of 32 bytes).
fn server_key(s: &StaffSettings) -> Result<[u8; 32], Error> {
    STANDARD
        .decode(s.totp_key.expose_secret().trim())
        .ok()
        .and_then(|k| <[u8; 32]>::try_from(k).ok())
        .ok_or_else(|| fault("staff.totp_key", &"not base64 of 32 bytes"))
}

fn cipher(s: &StaffSettings) -> Result<XChaCha20Poly1305, Error> {
    XChaCha20Poly1305::new_from_slice(&server_key(s)?).map_err(|e| fault("staff.totp_key", &e))
}

/// The key recovery codes are hashed under: derived from `staff.totp_key` with its own
/// label, so the cipher key itself never keys anything else.
fn recovery_key(s: &StaffSettings) -> Result<Vec<u8>, Error> {
    Ok(auth::hmac_sha256(&server_key(s)?, b"jangteo/staff/recovery-codes/v1"))
}

/// A key for another use (`label` says which: unsubscribe links), derived from
/// `staff.totp_key` like the recovery-code key. Errors: `INTERNAL` (bad key).
pub fn derived_key(s: &StaffSettings, label: &[u8]) -> Result<Vec<u8>, Error> {
    Ok(auth::hmac_sha256(&server_key(s)?, label))
}

/// What is stored for a recovery code (scheme `hmac-sha256`).
fn recovery_hash(key: &[u8], code: &str) -> Vec<u8> {
    auth::hmac_sha256(key, normalise_recovery(code).as_bytes())
}

/// Encrypts a TOTP secret for a staff member: nonce (24 bytes) || ciphertext. Errors:
/// `INTERNAL` (bad key, random number generator).
pub fn seal(s: &StaffSettings, staff: StaffId, secret: &[u8]) -> Result<Vec<u8>, Error> {
    let mut nonce = [0u8; 24];
    getrandom::fill(&mut nonce).map_err(|e| fault("random number generator", &e))?;
    let sealed = cipher(s)?
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: secret,
                aad: staff.0.as_bytes(),
            },
        )
        .map_err(|e| fault("TOTP secret encryption", &e))?;
    Ok([nonce.as_slice(), &sealed].concat())
}

/// Decrypts what [`seal`] made for the same staff member. Errors: `INTERNAL` (another
/// key, or damaged data: the server's fault either way).
pub fn open(s: &StaffSettings, staff: StaffId, sealed: &[u8]) -> Result<Vec<u8>, Error> {
    let bad = || {
        fault(
            "staff.totp_key",
            &"the stored TOTP secret does not decrypt with this key",
        )
    };
    let (nonce, body) = sealed.split_at_checked(24).ok_or_else(bad)?;
    let nonce: [u8; 24] = nonce.try_into().map_err(|_| bad())?;
    cipher(s)?
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: body,
                aad: staff.0.as_bytes(),
            },
        )
        .map_err(|_| bad())
}

/// The TOTP of a secret: RFC 6238, SHA-1, 6 digits, 30 s steps, ±1 step. Errors:
/// `INTERNAL` (the secrets are ours, so one the builder refuses is a fault).
pub fn totp(secret: Vec<u8>, account: &str, issuer: &str) -> Result<Totp, Error> {
    Builder::new()
        .with_secret(secret)
        .with_account_name(account)
        .with_issuer(Some(issuer))
        .build()
        .map_err(|e| fault("TOTP", &e))
}

/// What enrollment shows: the otpauth URL (with its `secret`) and the same as a QR code.
#[derive(Debug)]
pub struct Enrollment {
    /// `otpauth://totp/…?secret=…`
    pub otpauth_url: String,
    /// `data:image/png;base64,…`
    pub qr_code_png: String,
}

/// Starts (or restarts) enrollment: a new secret, stored encrypted, not active until
/// [`totp_activate`]. Errors: `INVALID_CHALLENGE`, `ENROLLMENT_REQUIRED` (already enrolled),
/// `INTERNAL` (bad key, random number generator, QR code).
pub async fn totp_enroll(pool: &PgPool, s: &StaffSettings, challenge: &str) -> Result<Enrollment, Error> {
    let owner = challenge_owner(pool, challenge).await?;
    if owner.enabled {
        return Err(Error::Enrollment("two-factor login is already set up"));
    }
    let mut secret = vec![0u8; 20];
    getrandom::fill(&mut secret).map_err(|e| fault("random number generator", &e))?;
    let t = totp(secret.clone(), &owner.email, &s.issuer)?;
    let otpauth_url = t.to_url().map_err(|e| fault("TOTP URL", &e))?;
    let qr = t.to_qr_base64().map_err(|e| fault("QR code", &e))?;
    let sealed = seal(s, owner.id, &secret)?;
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "UPDATE staff SET totp_secret = $2, updated_at = now() WHERE id = $1 AND totp_enabled_at IS NULL",
        owner.id as StaffId,
        sealed,
    )
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        Some(owner.id),
        "staff.totp.enroll",
        &owner.id.to_string(),
        json!({}),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(Enrollment {
        otpauth_url,
        qr_code_png: format!("data:image/png;base64,{qr}"),
    })
}

/// Accepts `code` for the secret if its step is newer than the last accepted one, and
/// records the step. Errors: `INVALID_TOTP` (wrong, or a step already used),
/// `ENROLLMENT_REQUIRED`, `INTERNAL` (the secret doesn't open).
pub(super) async fn accept_step(
    conn: &mut PgConnection,
    s: &StaffSettings,
    owner: &ChallengeOwner,
    code: &str,
) -> Result<(), Error> {
    let sealed = owner
        .secret
        .as_deref()
        .ok_or(Error::Enrollment("enroll an authenticator first"))?;
    let t = totp(open(s, owner.id, sealed)?, &owner.email, &s.issuer)?;
    let now = u64::try_from(Utc::now().timestamp()).unwrap_or(0);
    let step = t.check(code.trim(), now).ok_or(Error::InvalidTotp)?;
    let step = i64::try_from(step).map_err(|_| Error::InvalidTotp)?;
    // A step once accepted is never accepted again (RFC 6238 §5.2).
    let r = sqlx::query!(
        "UPDATE staff SET totp_last_step = $2 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
        owner.id as StaffId,
        step,
    )
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() == 0 {
        return Err(Error::InvalidTotp);
    }
    Ok(())
}

fn recovery_code() -> Result<String, Error> {
    // Crockford's base32 without I, L, O, U: easy to read and to type.
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).map_err(|e| fault("random number generator", &e))?;
    let chars: String = bytes.iter().map(|b| ALPHABET[usize::from(b % 32)] as char).collect();
    Ok(format!("{}-{}", &chars[..5], &chars[5..]))
}

/// Spends one of the staff member's recovery codes. Errors: `INVALID_TOTP` (unknown or
/// used), `INTERNAL` (bad key).
pub(super) async fn use_recovery_code(
    conn: &mut PgConnection,
    s: &StaffSettings,
    staff: StaffId,
    code: &str,
) -> Result<(), Error> {
    // Codes made before keyed hashing ('sha256') work until they are used.
    let r = sqlx::query!(
        "UPDATE staff_recovery_codes SET used_at = now()
          WHERE staff_id = $1 AND used_at IS NULL
            AND ((scheme = 'hmac-sha256' AND code_hash = $2) OR (scheme = 'sha256' AND code_hash = $3))",
        staff as StaffId,
        recovery_hash(&recovery_key(s)?, code),
        auth::token_hash(&normalise_recovery(code)),
    )
    .execute(&mut *conn)
    .await?;
    if r.rows_affected() == 0 {
        return Err(Error::InvalidTotp);
    }
    Ok(())
}

fn normalise_recovery(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Finishes enrollment with a first code: TOTP on, ten recovery codes (shown once, stored
/// as HMAC-SHA256), a session. Errors: `INVALID_CHALLENGE`, `INVALID_TOTP`,
/// `ENROLLMENT_REQUIRED`, `TOO_MANY_ATTEMPTS`, `INTERNAL` (bad key, random number generator).
pub async fn totp_activate(
    pool: &PgPool,
    s: &StaffSettings,
    challenge: &str,
    code: &str,
    ip: Option<&str>,
) -> Result<SessionGrant, Error> {
    let owner = challenge_owner(pool, challenge).await?;
    if owner.enabled {
        return Err(Error::Enrollment("two-factor login is already set up"));
    }
    let codes = (0..10)
        .map(|_| recovery_code())
        .collect::<Result<Vec<String>, Error>>()?;
    let key = recovery_key(s)?;
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| recovery_hash(&key, c)).collect();
    let ids: Vec<uuid::Uuid> = codes.iter().map(|_| uuid::Uuid::now_v7()).collect();
    let attempt = reserve(pool, s, &owner.email, ip).await?;
    let mut tx = pool.begin().await?;
    if let Err(e) = accept_step(&mut tx, s, &owner, code).await {
        return Err(code_failed(pool, tx, &attempt, &owner, ip, "staff.totp.activate_failed", e).await);
    }
    sqlx::query!(
        "UPDATE staff SET totp_enabled_at = now(), updated_at = now() WHERE id = $1",
        owner.id as StaffId
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "INSERT INTO staff_recovery_codes (id, staff_id, code_hash, scheme)
         SELECT id, $1, h, 'hmac-sha256' FROM UNNEST($2::uuid[], $3::bytea[]) AS t (id, h)",
        owner.id as StaffId,
        &ids,
        &hashes,
    )
    .execute(&mut *tx)
    .await?;
    let token = new_session(&mut tx, s, owner.id, challenge).await?;
    audit(
        &mut tx,
        Some(owner.id),
        "staff.totp.activate",
        &owner.id.to_string(),
        json!({}),
        ip,
    )
    .await?;
    auth::succeeded(&mut tx, &attempt).await?;
    tx.commit().await?;
    Ok(SessionGrant {
        token,
        recovery_codes: codes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> StaffSettings {
        crate::Settings::defaults().staff
    }

    #[test]
    fn rfc_6238_sha1_vectors_through_our_totp() {
        // RFC 6238 Appendix B, SHA-1 secret "12345678901234567890"; 6 digits are the last
        // six of the RFC's eight.
        let t = totp(b"12345678901234567890".to_vec(), "rfc@example.com", "Jangteo").expect("totp");
        for (time, code) in [
            (59u64, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(t.generate(time).to_string(), code, "T = {time}");
            assert_eq!(t.check(code, time), Some(time / 30), "accepted at its own step");
        }
        // ±1 step of 30 s, no more.
        assert!(t.check("287082", 59 + 30).is_some());
        assert!(t.check("287082", 59 + 61).is_none());
    }

    #[test]
    fn secrets_are_sealed_per_staff_member() {
        let s = settings();
        let (a, b) = (StaffId::generate(), StaffId::generate());
        let sealed = seal(&s, a, b"a secret of twenty b").expect("seal");
        assert_eq!(open(&s, a, &sealed).expect("open"), b"a secret of twenty b");
        assert!(open(&s, b, &sealed).is_err(), "bound to its owner");
        let mut other = s.clone();
        other.totp_key = STANDARD.encode([7u8; 32]).into();
        assert!(open(&other, a, &sealed).is_err(), "needs the key");
        assert!(!sealed.windows(20).any(|w| w == b"a secret of twenty b"));
    }

    #[test]
    fn a_bad_key_is_the_servers_fault() {
        let mut s = settings();
        for bad in ["not base64!", "c2hvcnQ=", ""] {
            s.totp_key = bad.to_owned().into();
            for e in [
                seal(&s, StaffId::generate(), b"twenty bytes secret!").expect_err("no key"),
                open(&s, StaffId::generate(), &[0u8; 60]).expect_err("no key"),
                recovery_key(&s).expect_err("no key"),
            ] {
                assert_eq!(e.code(), crate::Code::Internal, "{bad:?}: {e}");
                assert!(e.is_fault());
            }
        }
        // Data the key doesn't open is a fault too, not the caller's mistake.
        let e = open(&settings(), StaffId::generate(), &[0u8; 60]).expect_err("garbage");
        assert_eq!(e.code(), crate::Code::Internal);
    }

    #[test]
    fn recovery_codes_are_keyed_hashes() {
        let s = settings();
        let key = recovery_key(&s).expect("key");
        let code = recovery_code().expect("code");
        assert_eq!(recovery_hash(&key, &code.to_lowercase()), recovery_hash(&key, &code));
        assert_ne!(recovery_hash(&key, &code), auth::token_hash(&normalise_recovery(&code)));
        let mut other = s.clone();
        other.totp_key = STANDARD.encode([7u8; 32]).into();
        let other_key = recovery_key(&other).expect("key");
        assert_ne!(
            recovery_hash(&other_key, &code),
            recovery_hash(&key, &code),
            "needs the key"
        );
        assert_ne!(
            key.as_slice(),
            server_key(&s).expect("key").as_slice(),
            "a key of its own"
        );
    }

    #[test]
    fn recovery_codes_read_well_and_normalise() {
        let c = recovery_code().expect("code");
        assert_eq!(c.len(), 11);
        assert_eq!(normalise_recovery(&c.to_lowercase()), normalise_recovery(&c));
        assert_eq!(normalise_recovery(" ab12c-3d4e5 "), "AB12C3D4E5");
    }
}
