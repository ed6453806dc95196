//! The audit log of staff actions and login events (owns `audit_log`).

use chrono::Utc;
use sqlx::{PgConnection, PgPool};

use super::{Permission, Principal};
use crate::{Error, ids::StaffId, pagination::Page};

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
    /// The name of the bot account the staff member acted through (the Slack bot), if they
    /// did.
    pub via_bot: Option<String>,
    /// When.
    pub created_at: chrono::DateTime<Utc>,
}

/// The audit log, newest first (cursor: the entry id), filtered by staff, action prefix
/// and time, with the count over all pages when `total`. OWNER only. Errors: `FORBIDDEN`.
pub async fn audit_log(
    pool: &PgPool,
    by: Principal,
    filter: &AuditFilter,
    first: u32,
    before_id: Option<i64>,
    total: bool,
) -> Result<Page<AuditEntry>, Error> {
    by.require(Permission::ManageStaff, "read the audit log")?;
    let mut conn = pool.acquire().await?;
    let rows = audit_page(&mut conn, filter, first, before_id, total).await?;
    let count = crate::pagination::total(total, rows.first().map(|r| r.1), || async {
        // The first row of the first page carries the count.
        let head = audit_page(&mut conn, filter, 1, None, true).await?;
        Ok::<_, Error>(head.first().and_then(|r| r.1).unwrap_or(0))
    })
    .await?;
    Ok(Page::from_rows(rows, first, count, |(e, _)| {
        let cursor = e.id.to_string();
        (e, cursor)
    }))
}

/// One page of [`audit_log`] (`first` + 1 rows), each with the count when `total`; the
/// filter is written once, in `m`, for the page and for the count.
async fn audit_page(
    conn: &mut PgConnection,
    filter: &AuditFilter,
    first: u32,
    before_id: Option<i64>,
    total: bool,
) -> Result<Vec<(AuditEntry, Option<i64>)>, Error> {
    let rows = sqlx::query!(
        r#"WITH m AS NOT MATERIALIZED (
               SELECT * FROM audit_log a
                WHERE ($2::uuid IS NULL OR a.staff_id = $2)
                  AND ($3::text IS NULL OR a.action LIKE $3 || '%')
                  AND ($4::timestamptz IS NULL OR a.created_at >= $4)
                  AND ($5::timestamptz IS NULL OR a.created_at < $5))
           SELECT m.id AS "id!", m.staff_id AS "staff_id: StaffId", s.email AS "staff_email?", m.action AS "action!",
                  m.target AS "target!", m.summary AS "summary!", m.ip, m.created_at AS "created_at!",
                  CASE WHEN m.via_bot IS NOT NULL THEN coalesce(b.name, 'bot') END AS via_bot,
                  CASE WHEN $7 THEN (SELECT count(*) FROM m) END AS total
             FROM m LEFT JOIN staff s ON s.id = m.staff_id LEFT JOIN staff b ON b.id = m.via_bot
            WHERE $1::bigint IS NULL OR m.id < $1
            ORDER BY m.id DESC LIMIT $6"#,
        before_id,
        filter.staff.map(|s| s.0),
        filter.action_prefix,
        filter.from,
        filter.to,
        i64::from(first) + 1,
        total,
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let e = AuditEntry {
                id: r.id,
                staff_id: r.staff_id,
                staff_email: r.staff_email,
                action: r.action,
                target: r.target,
                summary: r.summary,
                ip: r.ip,
                via_bot: r.via_bot,
                created_at: r.created_at,
            };
            (e, r.total)
        })
        .collect())
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

/// Who an audit entry names: a staff member (or nobody, e.g. an unknown e-mail's failed
/// login) and the bot account they acted through, if any. A [`Principal`] gives both; a
/// bare `Option<StaffId>` is a staff member acting on their own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuditActor {
    /// The staff member.
    pub staff: Option<StaffId>,
    /// The bot account they acted through (the Slack bot).
    pub via_bot: Option<StaffId>,
}

impl From<Option<StaffId>> for AuditActor {
    fn from(staff: Option<StaffId>) -> AuditActor {
        AuditActor { staff, via_bot: None }
    }
}

impl From<Principal> for AuditActor {
    fn from(p: Principal) -> AuditActor {
        AuditActor {
            staff: Some(p.id),
            via_bot: p.via_bot,
        }
    }
}

/// Records a staff action or login event; `by` is a [`Principal`] (who, and through which
/// bot) or an `Option<StaffId>`.
pub async fn audit(
    conn: &mut PgConnection,
    by: impl Into<AuditActor>,
    action: &str,
    target: &str,
    summary: serde_json::Value,
    ip: Option<&str>,
) -> Result<(), Error> {
    let by = by.into();
    sqlx::query!(
        "INSERT INTO audit_log (staff_id, action, target, summary, ip, via_bot) VALUES ($1, $2, $3, $4, $5, $6)",
        by.staff.map(|s| s.0),
        action,
        target,
        summary,
        ip,
        by.via_bot.map(|s| s.0),
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}
