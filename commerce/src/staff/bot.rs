//! Bot tokens: long-lived bearer tokens for the Slack bot (role `BOT`), kept hashed in
//! `staff_sessions` (kind `BOT`). The owner makes, lists and revokes them; one may expire.
//! [`super::authenticate`] refuses a revoked or expired token on its next request.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};

use super::{Permission, Principal, audit};
use crate::{
    Error, auth,
    ids::{BotTokenId, StaffId},
    pagination::Page,
    types::parse_name,
};

/// The longest expiry a bot token can be given, in days (ten years).
pub const MAX_EXPIRY_DAYS: i64 = 3650;

/// A bot token as the owner sees it; the secret is never stored nor shown again.
#[derive(Clone, Debug)]
pub struct BotToken {
    /// Its id.
    pub id: BotTokenId,
    /// The bot's name.
    pub name: String,
    /// The e-mail of the staff member who made it, if they still exist.
    pub created_by: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last authenticated a request, if ever.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new bot token: the secret, shown this once, and the token as it is listed.
#[derive(Debug)]
pub struct NewBotToken {
    /// `Authorization: Bearer …` for the bot.
    pub token: String,
    /// The token as [`bot_tokens`] lists it.
    pub listed: BotToken,
}

/// Issues a long-lived token for the Slack bot (role `BOT`) named `name`, creating the bot's
/// staff row if needed, valid for `expires_in_days` (1 to [`MAX_EXPIRY_DAYS`]) or until
/// revoked. OWNER only. Errors: `FORBIDDEN`, `INVALID_INPUT` (name, expiry).
pub async fn bot_token_create(
    pool: &PgPool,
    by: Principal,
    name: &str,
    expires_in_days: Option<i64>,
    ip: Option<&str>,
) -> Result<NewBotToken, Error> {
    by.require(Permission::ManageStaff, "create bot tokens")?;
    let name = parse_name(name, "name")?;
    let expires_at = match expires_in_days {
        None => None,
        Some(d) if (1..=MAX_EXPIRY_DAYS).contains(&d) => Some(Utc::now() + Duration::days(d)),
        Some(_) => {
            return Err(Error::Invalid {
                field: "expiresInDays",
                reason: format!("1–{MAX_EXPIRY_DAYS} days"),
            });
        }
    };
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
    let id = BotTokenId::generate();
    sqlx::query!(
        "INSERT INTO staff_sessions (id, token_hash, staff_id, kind, absolute_expires_at, created_by)
         VALUES ($1, $2, $3, 'BOT', $4, $5)",
        id as BotTokenId,
        hash,
        bot as StaffId,
        expires_at,
        by.id as StaffId,
    )
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        by,
        "staff.bot_token.create",
        &id.to_string(),
        json!({ "name": name, "bot": bot.to_string(), "expires_at": expires_at }),
        ip,
    )
    .await?;
    let listed = one(&mut tx, id).await?.ok_or(Error::NotFound { what: "bot token" })?;
    tx.commit().await?;
    Ok(NewBotToken { token, listed })
}

/// Bot tokens, newest first (revoked and expired ones included), a page at a time (cursor:
/// the token id), with the count over all pages when `total`. OWNER only.
/// Errors: `FORBIDDEN`.
pub async fn bot_tokens(
    pool: &PgPool,
    by: Principal,
    first: u32,
    after: Option<BotTokenId>,
    total: bool,
) -> Result<Page<BotToken>, Error> {
    by.require(Permission::ManageStaff, "list bot tokens")?;
    let rows = sqlx::query!(
        r#"SELECT ss.id AS "id: BotTokenId", st.name, c.email AS "created_by?", ss.created_at,
                  NULLIF(ss.last_seen_at, ss.created_at) AS last_used_at,
                  ss.absolute_expires_at AS expires_at, ss.revoked_at,
                  CASE WHEN $3 THEN (SELECT count(*) FROM staff_sessions WHERE kind = 'BOT') END AS total
             FROM staff_sessions ss
             JOIN staff st ON st.id = ss.staff_id
             LEFT JOIN staff c ON c.id = ss.created_by
            WHERE ss.kind = 'BOT'
              AND ($1::uuid IS NULL
                   OR (ss.created_at, ss.id) < (SELECT created_at, id FROM staff_sessions WHERE id = $1))
            ORDER BY ss.created_at DESC, ss.id DESC LIMIT $2"#,
        after.map(|a| a.0),
        i64::from(first) + 1,
        total,
    )
    .fetch_all(pool)
    .await?;
    let count = crate::pagination::total(total, rows.first().map(|r| r.total), || {
        sqlx::query_scalar!(r#"SELECT count(*) AS "n!" FROM staff_sessions WHERE kind = 'BOT'"#).fetch_one(pool)
    })
    .await?;
    Ok(Page::from_rows(rows, first, count, |r| {
        let t = BotToken {
            id: r.id,
            name: r.name,
            created_by: r.created_by,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            expires_at: r.expires_at,
            revoked_at: r.revoked_at,
        };
        let cursor = t.id.to_string();
        (t, cursor)
    }))
}

/// Revokes a bot token: its next request is `UNAUTHENTICATED`. Revoking a revoked token
/// changes nothing. The audit row is written in the same transaction. OWNER only.
/// Errors: `FORBIDDEN`, `NOT_FOUND`.
pub async fn bot_token_revoke(
    pool: &PgPool,
    by: Principal,
    id: BotTokenId,
    ip: Option<&str>,
) -> Result<BotToken, Error> {
    by.require(Permission::ManageStaff, "revoke bot tokens")?;
    let mut tx = pool.begin().await?;
    let revoked = sqlx::query_scalar!(
        r#"UPDATE staff_sessions SET revoked_at = now()
            WHERE id = $1 AND kind = 'BOT' AND revoked_at IS NULL
        RETURNING staff_id AS "bot: StaffId""#,
        id as BotTokenId
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(bot) = revoked {
        audit(
            &mut tx,
            by,
            "staff.bot_token.revoke",
            &id.to_string(),
            json!({ "bot": bot.to_string() }),
            ip,
        )
        .await?;
    }
    let token = one(&mut tx, id).await?.ok_or(Error::NotFound { what: "bot token" })?;
    tx.commit().await?;
    Ok(token)
}

/// One bot token as listed, if there is one with this id.
async fn one(conn: &mut PgConnection, id: BotTokenId) -> Result<Option<BotToken>, Error> {
    Ok(sqlx::query_as!(
        BotToken,
        r#"SELECT ss.id AS "id: BotTokenId", st.name, c.email AS "created_by?", ss.created_at,
                  NULLIF(ss.last_seen_at, ss.created_at) AS last_used_at,
                  ss.absolute_expires_at AS expires_at, ss.revoked_at
             FROM staff_sessions ss
             JOIN staff st ON st.id = ss.staff_id
             LEFT JOIN staff c ON c.id = ss.created_by
            WHERE ss.id = $1 AND ss.kind = 'BOT'"#,
        id as BotTokenId
    )
    .fetch_optional(&mut *conn)
    .await?)
}
