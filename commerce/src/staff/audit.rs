//! The audit log of staff actions and login events (owns `audit_log`).

use chrono::Utc;
use sqlx::{PgConnection, PgPool};

use super::{Permission, Principal};
use crate::{Error, ids::StaffId};

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
