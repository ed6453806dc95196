//! Staff accounts and their two-factor login (owns `staff`, `staff_recovery_codes`,
//! `staff_challenges`, `staff_sessions`, `audit_log`).
//!
//! Login is two steps: the password gives a short-lived challenge; the challenge and a
//! TOTP code (RFC 6238, SHA-1, 6 digits, 30 s, ±1 step) or a recovery code give a session.
//! A first login enrolls an authenticator before anything else. A time step once accepted
//! is never accepted again. TOTP secrets are stored encrypted (XChaCha20-Poly1305, bound
//! to the staff id).

use base64::{Engine, engine::general_purpose::STANDARD};
use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, KeyInit, Payload},
};
use chrono::{Duration, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use totp_rs::{Builder, Totp};

use crate::{
    Error,
    auth::{self, Limits, Scope},
    ids::StaffId,
    settings::StaffSettings,
    types::{Email, NewPassword},
};

/// What a staff member may do (checked in the core).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, strum::EnumIter, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    /// Everything, staff management included.
    Owner,
    /// Catalog, orders, reports.
    Manager,
    /// Orders and customers with full personal data; no reports.
    Cs,
    /// Read-only: reports, stock, orders with masked personal data (the Slack bot).
    Bot,
}

impl Role {
    /// The database and wire form.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// What an admin operation needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::EnumIter)]
pub enum Permission {
    /// Create, edit, publish products and categories; CMS pages.
    WriteCatalog,
    /// See stock levels.
    ReadStock,
    /// Adjust stock.
    WriteStock,
    /// See orders.
    ReadOrders,
    /// Change orders: deposits, cancels, refunds, status, shipments.
    WriteOrders,
    /// See customers' personal data unmasked.
    ReadPersonalData,
    /// Sales and member reports.
    ReadReports,
    /// Staff accounts, bot tokens, the audit log.
    ManageStaff,
}

impl Role {
    /// The role table of the admin API (issue #5): checked in the core.
    pub fn allows(self, p: Permission) -> bool {
        use Permission::{ReadOrders, ReadPersonalData, ReadReports, ReadStock, WriteCatalog, WriteOrders, WriteStock};
        match self {
            Role::Owner => true,
            Role::Manager => matches!(
                p,
                WriteCatalog | ReadStock | WriteStock | ReadOrders | WriteOrders | ReadPersonalData | ReadReports
            ),
            Role::Cs => matches!(p, ReadStock | ReadOrders | WriteOrders | ReadPersonalData),
            Role::Bot => matches!(p, ReadStock | ReadOrders | ReadReports),
        }
    }
}

impl Principal {
    /// `FORBIDDEN` unless the role allows `p`.
    pub fn require(self, p: Permission, action: &'static str) -> Result<(), Error> {
        if self.role.allows(p) {
            Ok(())
        } else {
            Err(Error::Forbidden { action })
        }
    }

    /// Whether personal data is shown unmasked to this staff member.
    pub fn sees_personal_data(self) -> bool {
        self.role.allows(Permission::ReadPersonalData)
    }
}

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

/// One audit log entry.
#[derive(Clone, Debug)]
pub struct AuditEntry {
    /// Its position (cursor).
    pub id: i64,
    /// Who, if known.
    pub staff_id: Option<StaffId>,
    /// Their e-mail, if known.
    pub staff_email: Option<String>,
    /// What, e.g. `order.refund`.
    pub action: String,
    /// On what.
    pub target: String,
    /// Before/after summary.
    pub summary: serde_json::Value,
    /// From where.
    pub ip: Option<String>,
    /// When.
    pub created_at: chrono::DateTime<Utc>,
}

/// The audit log, newest first, filtered by staff, action prefix and time. OWNER only.
/// Errors: `FORBIDDEN`.
pub async fn audit_log(
    pool: &PgPool,
    by: Principal,
    filter: &AuditFilter,
    first: u32,
    before_id: Option<i64>,
) -> Result<(Vec<AuditEntry>, bool), Error> {
    by.require(Permission::ManageStaff, "read the audit log")?;
    let rows = sqlx::query!(
        r#"SELECT a.id, a.staff_id AS "staff_id: StaffId", s.email AS "staff_email?", a.action, a.target, a.summary,
                  a.ip, a.created_at
             FROM audit_log a LEFT JOIN staff s ON s.id = a.staff_id
            WHERE ($1::bigint IS NULL OR a.id < $1)
              AND ($2::uuid IS NULL OR a.staff_id = $2)
              AND ($3::text IS NULL OR a.action LIKE $3 || '%')
              AND ($4::timestamptz IS NULL OR a.created_at >= $4)
              AND ($5::timestamptz IS NULL OR a.created_at < $5)
            ORDER BY a.id DESC LIMIT $6"#,
        before_id,
        filter.staff.map(|s| s.0),
        filter.action_prefix,
        filter.from,
        filter.to,
        i64::from(first) + 1,
    )
    .fetch_all(pool)
    .await?;
    let has_next = rows.len() > first as usize;
    let entries = rows
        .into_iter()
        .take(first as usize)
        .map(|r| AuditEntry {
            id: r.id,
            staff_id: r.staff_id,
            staff_email: r.staff_email,
            action: r.action,
            target: r.target,
            summary: r.summary,
            ip: r.ip,
            created_at: r.created_at,
        })
        .collect();
    Ok((entries, has_next))
}

/// Which audit entries to list.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    /// Only this staff member's.
    pub staff: Option<StaffId>,
    /// Only actions starting with this, e.g. `staff.login`.
    pub action_prefix: Option<String>,
    /// From (inclusive).
    pub from: Option<chrono::DateTime<Utc>>,
    /// To (exclusive).
    pub to: Option<chrono::DateTime<Utc>>,
}

/// A staff member.
#[derive(Clone, Debug)]
pub struct Staff {
    /// Their id.
    pub id: StaffId,
    /// Sign-in e-mail.
    pub email: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Two-factor login is set up.
    pub totp_enabled: bool,
}

/// A signed-in staff member, as the admin API sees them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Who.
    pub id: StaffId,
    /// What they may do.
    pub role: Role,
}

/// Records a staff action or login event.
pub async fn audit(
    conn: &mut PgConnection,
    staff: Option<StaffId>,
    action: &str,
    target: &str,
    summary: serde_json::Value,
    ip: Option<&str>,
) -> Result<(), Error> {
    sqlx::query!(
        "INSERT INTO audit_log (staff_id, action, target, summary, ip) VALUES ($1, $2, $3, $4, $5)",
        staff.map(|s| s.0),
        action,
        target,
        summary,
        ip,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn parse_role(s: &str) -> Result<Role, Error> {
    s.parse().map_err(|_| Error::Invalid {
        field: "role",
        reason: format!("unknown role {s}"),
    })
}

/// Creates a staff member (the CLI's `jangteo staff create`). Errors: `ALREADY_EXISTS`.
pub async fn create(
    pool: &PgPool,
    email: &Email,
    name: &str,
    role: Role,
    password: &NewPassword,
) -> Result<Staff, Error> {
    let name = crate::customer::parse_name(name, "name")?;
    let hash = auth::hash_password(password.expose().to_owned()).await?;
    let id = StaffId::generate();
    let mut tx = pool.begin().await?;
    let r = sqlx::query!(
        "INSERT INTO staff (id, email, name, role, password_hash) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (email) DO NOTHING",
        id as StaffId,
        email.as_str(),
        name,
        role.as_str(),
        hash,
    )
    .execute(&mut *tx)
    .await?;
    if r.rows_affected() == 0 {
        return Err(Error::AlreadyExists {
            what: "email",
            value: email.masked(),
        });
    }
    audit(
        &mut tx,
        None,
        "staff.create",
        &id.to_string(),
        json!({ "role": role.as_str() }),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(Staff {
        id,
        email: email.as_str().to_owned(),
        name,
        role,
        totp_enabled: false,
    })
}

/// A staff member by id. Errors: `NOT_FOUND`.
pub async fn get(pool: &PgPool, id: StaffId) -> Result<Staff, Error> {
    let r = sqlx::query!(
        r#"SELECT email, name, role, totp_enabled_at IS NOT NULL AS "totp!" FROM staff WHERE id = $1"#,
        id as StaffId
    )
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound { what: "staff" })?;
    Ok(Staff {
        id,
        email: r.email,
        name: r.name,
        role: parse_role(&r.role)?,
        totp_enabled: r.totp,
    })
}

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

async fn throttled(conn: &mut PgConnection, s: &StaffSettings, account: &str, ip: Option<&str>) -> Result<(), Error> {
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
async fn failed(
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

struct ChallengeOwner {
    id: StaffId,
    email: String,
    secret: Option<Vec<u8>>,
    enabled: bool,
}

async fn challenge_owner(conn: &mut PgConnection, challenge: &str) -> Result<ChallengeOwner, Error> {
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

fn cipher(s: &StaffSettings) -> Result<XChaCha20Poly1305, Error> {
    let key = STANDARD
        .decode(s.totp_key.trim())
        .ok()
        .filter(|k| k.len() == 32)
        .ok_or(Error::Invalid {
            field: "staff.totp_key",
            reason: "base64 of 32 bytes".into(),
        })?;
    XChaCha20Poly1305::new_from_slice(&key).map_err(|_| Error::Invalid {
        field: "staff.totp_key",
        reason: "base64 of 32 bytes".into(),
    })
}

/// Encrypts a TOTP secret for a staff member: nonce (24 bytes) || ciphertext.
pub fn seal(s: &StaffSettings, staff: StaffId, secret: &[u8]) -> Result<Vec<u8>, Error> {
    let mut nonce = [0u8; 24];
    getrandom::fill(&mut nonce).map_err(|e| Error::Invalid {
        field: "nonce",
        reason: e.to_string(),
    })?;
    let sealed = cipher(s)?
        .encrypt(
            &XNonce::from(nonce),
            Payload {
                msg: secret,
                aad: staff.0.as_bytes(),
            },
        )
        .map_err(|_| Error::Invalid {
            field: "totp",
            reason: "encryption failed".into(),
        })?;
    Ok([nonce.as_slice(), &sealed].concat())
}

/// Decrypts what [`seal`] made for the same staff member.
pub fn open(s: &StaffSettings, staff: StaffId, sealed: &[u8]) -> Result<Vec<u8>, Error> {
    let bad = || Error::Invalid {
        field: "totp",
        reason: "the secret does not decrypt with this key".into(),
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

/// The TOTP of a secret: RFC 6238, SHA-1, 6 digits, 30 s steps, ±1 step.
pub fn totp(secret: Vec<u8>, account: &str, issuer: &str) -> Result<Totp, Error> {
    Builder::new()
        .with_secret(secret)
        .with_account_name(account)
        .with_issuer(Some(issuer))
        .build()
        .map_err(|e| Error::Invalid {
            field: "totp",
            reason: e.to_string(),
        })
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
/// [`totp_activate`]. Errors: `INVALID_CHALLENGE`, `ENROLLMENT_REQUIRED` (already enrolled).
pub async fn totp_enroll(pool: &PgPool, s: &StaffSettings, challenge: &str) -> Result<Enrollment, Error> {
    let mut conn = pool.acquire().await?;
    let owner = challenge_owner(&mut conn, challenge).await?;
    if owner.enabled {
        return Err(Error::Enrollment("two-factor login is already set up"));
    }
    let mut secret = vec![0u8; 20];
    getrandom::fill(&mut secret).map_err(|e| Error::Invalid {
        field: "secret",
        reason: e.to_string(),
    })?;
    let t = totp(secret.clone(), &owner.email, &s.issuer)?;
    let otpauth_url = t.to_url().map_err(|e| Error::Invalid {
        field: "totp",
        reason: e.to_string(),
    })?;
    let qr = t.to_qr_base64().map_err(|e| Error::Invalid {
        field: "totp",
        reason: e.to_string(),
    })?;
    sqlx::query!(
        "UPDATE staff SET totp_secret = $2, updated_at = now() WHERE id = $1 AND totp_enabled_at IS NULL",
        owner.id as StaffId,
        seal(s, owner.id, &secret)?,
    )
    .execute(&mut *conn)
    .await?;
    audit(
        &mut conn,
        Some(owner.id),
        "staff.totp.enroll",
        &owner.id.to_string(),
        json!({}),
        None,
    )
    .await?;
    Ok(Enrollment {
        otpauth_url,
        qr_code_png: format!("data:image/png;base64,{qr}"),
    })
}

/// A session: the bearer token, and the recovery codes when they were just made.
#[derive(Debug)]
pub struct SessionGrant {
    /// `Authorization: Bearer …` for `/admin/graphql`.
    pub token: String,
    /// Ten one-time recovery codes, shown once (activation only).
    pub recovery_codes: Vec<String>,
}

/// Accepts `code` for the secret if its step is newer than the last accepted one, and
/// records the step. Errors: `INVALID_TOTP` (wrong, or a step already used).
async fn accept_step(
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

async fn new_session(
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

fn recovery_code() -> String {
    // Crockford's base32 without I, L, O, U: easy to read and to type.
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).expect("the OS random number generator works");
    let chars: String = bytes.iter().map(|b| ALPHABET[usize::from(b % 32)] as char).collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

fn normalise_recovery(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Finishes enrollment with a first code: TOTP on, ten recovery codes (shown once, stored
/// hashed), a session. Errors: `INVALID_CHALLENGE`, `INVALID_TOTP`, `ENROLLMENT_REQUIRED`,
/// `TOO_MANY_ATTEMPTS`.
pub async fn totp_activate(
    pool: &PgPool,
    s: &StaffSettings,
    challenge: &str,
    code: &str,
    ip: Option<&str>,
) -> Result<SessionGrant, Error> {
    let mut conn = pool.acquire().await?;
    let owner = challenge_owner(&mut conn, challenge).await?;
    if owner.enabled {
        return Err(Error::Enrollment("two-factor login is already set up"));
    }
    throttled(&mut conn, s, &owner.email, ip).await?;
    let mut tx = pool.begin().await?;
    if let Err(e) = accept_step(&mut tx, s, &owner, code).await {
        drop(tx);
        let wait = failed(
            &mut conn,
            Some(owner.id),
            &owner.email,
            ip,
            "staff.totp.activate_failed",
        )
        .await?;
        drop(conn);
        tokio::time::sleep(wait).await;
        return Err(e);
    }
    sqlx::query!(
        "UPDATE staff SET totp_enabled_at = now(), updated_at = now() WHERE id = $1",
        owner.id as StaffId
    )
    .execute(&mut *tx)
    .await?;
    let codes: Vec<String> = (0..10).map(|_| recovery_code()).collect();
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| auth::token_hash(&normalise_recovery(c))).collect();
    let ids: Vec<uuid::Uuid> = codes.iter().map(|_| uuid::Uuid::now_v7()).collect();
    sqlx::query!(
        "INSERT INTO staff_recovery_codes (id, staff_id, code_hash) SELECT id, $1, h FROM UNNEST($2::uuid[], $3::bytea[]) AS t (id, h)",
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
    tx.commit().await?;
    auth::clear_failures(&mut conn, Scope::Staff, &owner.email).await?;
    Ok(SessionGrant {
        token,
        recovery_codes: codes,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> StaffSettings {
        StaffSettings {
            totp_key: StaffSettings::DEMO_KEY.into(),
            issuer: "Jangteo".into(),
            challenge_minutes: 5,
            session_idle_minutes: 60,
            session_absolute_hours: 12,
            max_failures_per_account: 5,
            max_failures_per_ip: 20,
            window_minutes: 15,
        }
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
        other.totp_key = STANDARD.encode([7u8; 32]);
        assert!(open(&other, a, &sealed).is_err(), "needs the key");
        assert!(!sealed.windows(20).any(|w| w == b"a secret of twenty b"));
    }

    #[test]
    fn the_role_table() {
        use Permission::*;
        use strum::IntoEnumIterator;
        for p in Permission::iter() {
            assert!(Role::Owner.allows(p));
        }
        assert!(Role::Manager.allows(WriteCatalog) && Role::Manager.allows(ReadReports));
        assert!(!Role::Manager.allows(ManageStaff));
        assert!(Role::Cs.allows(WriteOrders) && Role::Cs.allows(ReadPersonalData));
        assert!(!Role::Cs.allows(ReadReports) && !Role::Cs.allows(WriteCatalog));
        for p in [WriteCatalog, WriteStock, WriteOrders, ReadPersonalData, ManageStaff] {
            assert!(
                !Role::Bot.allows(p),
                "the bot is read-only and never sees personal data: {p:?}"
            );
        }
        assert!(Role::Bot.allows(ReadReports) && Role::Bot.allows(ReadStock) && Role::Bot.allows(ReadOrders));
    }

    #[test]
    fn recovery_codes_read_well_and_normalise() {
        let c = recovery_code();
        assert_eq!(c.len(), 11);
        assert_eq!(normalise_recovery(&c.to_lowercase()), normalise_recovery(&c));
        assert_eq!(normalise_recovery(" ab12c-3d4e5 "), "AB12C3D4E5");
    }
}
