//! Staff accounts and their two-factor login (owns `staff`, `staff_recovery_codes`,
//! `staff_challenges`, `staff_sessions`, `audit_log`).
//!
//! Login is two steps ([`login`]): the password gives a short-lived challenge; the challenge
//! and a TOTP code or a recovery code give a session ([`session`]). A first login enrolls an
//! authenticator ([`totp`]) before anything else. What each role may do is in [`role`]; what
//! staff did is in the audit log ([`audit`]); the Slack bot's tokens are in [`bot`], and
//! staff linked to Slack users, for whom the bot acts, in [`slack`].

pub mod audit;
pub mod bot;
pub mod login;
pub mod role;
pub mod session;
pub mod slack;
pub mod totp;

use serde_json::json;
use sqlx::PgPool;

pub use audit::{AuditActor, AuditEntry, AuditFilter, audit, audit_log};
pub use bot::{BotToken, NewBotToken, bot_token_create, bot_token_revoke, bot_tokens};
pub use login::{Challenge, login, verify};
pub use role::{Permission, Principal, Role};
pub use session::{SessionGrant, authenticate, logout};
pub use slack::{acting_for_slack_user, slack_link};
pub use totp::{Enrollment, open, seal, totp, totp_activate, totp_enroll};

use crate::{
    Error, auth,
    ids::StaffId,
    types::{Email, NewPassword},
};

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
    /// The Slack user linked to this staff member (`U…`/`W…`), whose commands to the Slack
    /// bot run with this member's role.
    pub slack_user_id: Option<String>,
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
    let name = crate::types::parse_name(name, "name")?;
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
        slack_user_id: None,
    })
}

/// A staff member by id. Errors: `NOT_FOUND`.
pub async fn get(pool: &PgPool, id: StaffId) -> Result<Staff, Error> {
    let r = sqlx::query!(
        r#"SELECT email, name, role, totp_enabled_at IS NOT NULL AS "totp!", slack_user_id FROM staff WHERE id = $1"#,
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
        slack_user_id: r.slack_user_id,
    })
}

/// The id of the staff member who signs in as `email`. Errors: `NOT_FOUND`.
pub async fn id_by_email(pool: &PgPool, email: &Email) -> Result<StaffId, Error> {
    sqlx::query_scalar!(
        r#"SELECT id AS "id: StaffId" FROM staff WHERE email = $1"#,
        email.as_str()
    )
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound { what: "staff" })
}

/// The active owner who signs in as `email`, as the command line acts (`jangteo staff
/// bot-token`, `jangteo staff link-slack`): whoever can run the binary against the database
/// is trusted as that owner, and the audit log names them. Errors: `NOT_FOUND` (no such
/// staff member), `FORBIDDEN` (not an active owner).
pub async fn owner_by_email(pool: &PgPool, email: &Email) -> Result<Principal, Error> {
    let m = member(pool, id_by_email(pool, email).await?).await?;
    if m.staff.role != Role::Owner || !m.active {
        return Err(Error::Forbidden {
            action: "act as an owner on the command line",
        });
    }
    Ok(Principal::new(m.staff.id, Role::Owner))
}

/// A staff member as the staff list shows them.
#[derive(Clone, Debug)]
pub struct StaffListed {
    /// The member.
    pub staff: Staff,
    /// Can sign in.
    pub active: bool,
    /// Their latest sign-in (a session started); `None` if never.
    pub last_login_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Created.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A staff member by id, as the staff list shows them. Errors: `NOT_FOUND`.
pub async fn member(pool: &PgPool, id: StaffId) -> Result<StaffListed, Error> {
    let r = sqlx::query!(
        r#"SELECT s.email, s.name, s.role, s.totp_enabled_at IS NOT NULL AS "totp!", s.slack_user_id, s.active,
                  s.created_at,
                  (SELECT max(x.created_at) FROM staff_sessions x WHERE x.staff_id = s.id AND x.kind = 'SESSION')
                      AS last_login_at
             FROM staff s WHERE s.id = $1"#,
        id as StaffId
    )
    .fetch_optional(pool)
    .await?
    .ok_or(Error::NotFound { what: "staff" })?;
    Ok(StaffListed {
        staff: Staff {
            id,
            email: r.email,
            name: r.name,
            role: parse_role(&r.role)?,
            totp_enabled: r.totp,
            slack_user_id: r.slack_user_id,
        },
        active: r.active,
        last_login_at: r.last_login_at,
        created_at: r.created_at,
    })
}

/// Every staff member, oldest first (cursor: the staff id), with the count over all pages
/// when `total`. OWNER only. Errors: `FORBIDDEN`, `INVALID_CURSOR`.
pub async fn list(
    pool: &PgPool,
    by: Principal,
    first: u32,
    after: Option<&str>,
    total: bool,
) -> Result<crate::pagination::Page<StaffListed>, Error> {
    by.require(Permission::ManageStaff, "list staff")?;
    let after = after
        .map(|a| a.parse::<StaffId>().map_err(|_| Error::InvalidCursor))
        .transpose()?;
    let rows = sqlx::query!(
        r#"SELECT s.id AS "id: StaffId", s.email, s.name, s.role, s.totp_enabled_at IS NOT NULL AS "totp!",
                  s.slack_user_id, s.active, s.created_at,
                  (SELECT max(x.created_at) FROM staff_sessions x WHERE x.staff_id = s.id AND x.kind = 'SESSION')
                      AS last_login_at,
                  CASE WHEN $3 THEN (SELECT count(*) FROM staff) END AS total
             FROM staff s
            WHERE $1::uuid IS NULL OR s.id > $1
            ORDER BY s.id LIMIT $2"#,
        after.map(|a| a.0),
        i64::from(first) + 1,
        total,
    )
    .fetch_all(pool)
    .await?;
    let count = crate::pagination::total(total, rows.first().map(|r| r.total), || {
        sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM staff"#).fetch_one(pool)
    })
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let listed = StaffListed {
            staff: Staff {
                id: r.id,
                email: r.email,
                name: r.name,
                role: parse_role(&r.role)?,
                totp_enabled: r.totp,
                slack_user_id: r.slack_user_id,
            },
            active: r.active,
            last_login_at: r.last_login_at,
            created_at: r.created_at,
        };
        items.push(listed);
    }
    Ok(crate::pagination::Page::from_rows(items, first, count, |s| {
        let cursor = s.staff.id.to_string();
        (s, cursor)
    }))
}
