//! Admin audit log: who did what, newest first (OWNER).

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset};
use commerce::{Error, ids::StaffId, staff};

use super::{
    connection::{connection, wants_total},
    context::Cx,
    seoul,
};
use crate::error::GqlResult;

/// Which audit entries to list.
#[derive(InputObject, Default)]
pub struct AuditFilterInput {
    /// Only this staff member's.
    staff_id: Option<ID>,
    /// Actions starting with this, e.g. `staff.login` or `order.`.
    action: Option<String>,
    /// At or after.
    from: Option<DateTime<FixedOffset>>,
    /// Before.
    to: Option<DateTime<FixedOffset>>,
}

/// One audit log entry.
#[derive(SimpleObject)]
pub struct AuditEntry {
    /// Position.
    id: ID,
    /// Who.
    staff_id: Option<ID>,
    /// Their e-mail.
    staff_email: Option<String>,
    /// What, e.g. `order.refund`.
    action: String,
    /// On what.
    target: String,
    /// Before/after summary (JSON).
    summary: String,
    /// From where.
    ip: Option<String>,
    /// The bot's name when the staff member did it through the Slack bot; null otherwise.
    via_bot: Option<String>,
    /// When.
    at: DateTime<FixedOffset>,
}

connection!(AuditConnection, AuditEdge, AuditEntry, "audit entries");

impl From<staff::AuditEntry> for AuditEntry {
    fn from(e: staff::AuditEntry) -> AuditEntry {
        AuditEntry {
            id: ID(e.id.to_string()),
            staff_id: e.staff_id.map(|s| ID(s.to_string())),
            staff_email: e.staff_email,
            action: e.action,
            target: e.target,
            summary: e.summary.to_string(),
            ip: e.ip,
            via_bot: e.via_bot,
            at: seoul(e.created_at),
        }
    }
}

/// Admin audit queries.
#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// The audit log, newest first (OWNER).
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i64>,
        after: Option<String>,
        filter: Option<AuditFilterInput>,
    ) -> Result<AuditConnection> {
        let cx = Cx::staff(ctx).await?;
        let first = commerce::pagination::page_size(first).gql(ctx)?;
        let before = match after {
            None => None,
            Some(a) => Some(a.parse::<i64>().map_err(|_| Error::InvalidCursor).gql(ctx)?),
        };
        let f = filter.unwrap_or_default();
        let staff_id = f.staff_id.as_ref().map(|s| s.parse::<StaffId>()).transpose().gql(ctx)?;
        let filter = staff::AuditFilter {
            staff: staff_id,
            action_prefix: f.action,
            from: f.from.map(|t| t.to_utc()),
            to: f.to.map(|t| t.to_utc()),
        };
        let page = staff::audit_log(cx.pool, cx.principal, &filter, first, before, wants_total(ctx))
            .await
            .gql(ctx)?;
        Ok(AuditConnection::from_page(page, AuditEntry::from))
    }
}
