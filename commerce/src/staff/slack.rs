//! Staff linked to Slack users (owns `staff.slack_user_id`), and the bot acting for them.
//!
//! The owner links a staff member to their Slack user ([`slack_link`]). A request made with
//! a bot token may then name a Slack user: it runs as the linked staff member, with their
//! role, through the bot ([`acting_for_slack_user`]): personal data stays masked as the
//! bot sees it, and the audit log names the staff member and the bot.

use serde_json::json;
use sqlx::PgPool;

use super::{Permission, Principal, Role, StaffListed, audit, member, parse_role};
use crate::{
    Error,
    auth::{self, Lock, Scope},
    ids::StaffId,
    settings::ThrottleSettings,
};

/// A Slack user id: `U` or `W` and 2–20 upper-case letters or digits (`U0123ABCD`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SlackUserId(String);

impl SlackUserId {
    /// Parses a Slack user id (surrounding blanks ignored). Errors: `INVALID_INPUT` on
    /// `field`.
    pub fn parse(s: &str, field: &'static str) -> Result<SlackUserId, Error> {
        let s = s.trim();
        let rest = s.strip_prefix(['U', 'W']).unwrap_or("");
        let ok = (2..=20).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        ok.then(|| SlackUserId(s.to_owned())).ok_or(Error::Invalid {
            field,
            reason: "a Slack user id (U… or W…, upper-case letters and digits)".into(),
        })
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Links staff member `staff` to Slack user `slack_user_id`, or unlinks them (`None`); the
/// staff member after it. A change is audited (`staff.slack_link`); linking what is already
/// linked changes nothing. A bot account is never linked. OWNER only. Errors: `FORBIDDEN`,
/// `NOT_FOUND`, `INVALID_INPUT` (`slackUserId` malformed, `staffId` a bot account),
/// `ALREADY_EXISTS` (`slackUserId` linked to another staff member).
pub async fn slack_link(
    pool: &PgPool,
    by: Principal,
    staff: StaffId,
    slack_user_id: Option<&str>,
    ip: Option<&str>,
) -> Result<StaffListed, Error> {
    by.require(Permission::ManageStaff, "link staff to Slack users")?;
    let slack = slack_user_id
        .map(|s| SlackUserId::parse(s, "slackUserId"))
        .transpose()?;
    let mut tx = pool.begin().await?;
    let current = sqlx::query!(
        "SELECT role, slack_user_id FROM staff WHERE id = $1 FOR UPDATE",
        staff as StaffId
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound { what: "staff" })?;
    if parse_role(&current.role)? == Role::Bot {
        return Err(Error::Invalid {
            field: "staffId",
            reason: "a bot account can't be linked to a Slack user".into(),
        });
    }
    let wanted = slack.as_ref().map(SlackUserId::as_str);
    if current.slack_user_id.as_deref() != wanted {
        sqlx::query!(
            "UPDATE staff SET slack_user_id = $2, updated_at = now() WHERE id = $1",
            staff as StaffId,
            wanted,
        )
        .execute(&mut *tx)
        .await
        .map_err(|e| Error::unique(e, "slackUserId", wanted.unwrap_or_default()))?;
        audit(
            &mut tx,
            by,
            "staff.slack_link",
            &staff.to_string(),
            json!({ "from": current.slack_user_id, "to": wanted }),
            ip,
        )
        .await?;
    }
    tx.commit().await?;
    member(pool, staff).await
}

/// The principal of a bot token's request made for Slack user `slack_user_id`: the linked
/// staff member, with their role, acting through the bot (`via_bot`), so personal data
/// stays masked and the audit log marks the bot. One statement, and one more only when the
/// member has failed logins to check. Errors: `FORBIDDEN` (`bot` is not a bot account: only
/// bot tokens act for Slack users; or the staff member is deactivated),
/// `SLACK_USER_NOT_LINKED` (malformed, or no staff member linked), `TOO_MANY_ATTEMPTS` (the
/// member's account is locked by failed logins from several addresses, as a login from
/// anywhere would be).
pub async fn acting_for_slack_user(
    pool: &PgPool,
    bot: Principal,
    slack_user_id: &str,
    throttle: &ThrottleSettings,
) -> Result<Principal, Error> {
    if bot.role != Role::Bot || bot.via_bot.is_some() {
        return Err(Error::Forbidden {
            action: "act for a Slack user (bot tokens only)",
        });
    }
    let slack = SlackUserId::parse(slack_user_id, "X-Jangteo-Slack-User").map_err(|_| Error::SlackUserNotLinked)?;
    let mut conn = pool.acquire().await?;
    let found = sqlx::query!(
        r#"SELECT s.id AS "id: StaffId", s.role, s.active, s.email,
                  EXISTS (SELECT 1 FROM login_throttle t
                           WHERE t.scope = 'staff' AND t.account = s.email AND t.failures > 0) AS "failed!"
             FROM staff s WHERE s.slack_user_id = $1"#,
        slack.as_str()
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::SlackUserNotLinked)?;
    let role = parse_role(&found.role)?;
    if role == Role::Bot {
        return Err(Error::SlackUserNotLinked);
    }
    if !found.active {
        return Err(Error::Forbidden {
            action: "act as a deactivated staff member",
        });
    }
    if found.failed {
        let locks = auth::locked_accounts(&mut conn, Scope::Staff, Some(&found.email), throttle).await?;
        if let Some(l) = locks.iter().find(|l| l.lock == Lock::Account) {
            let secs = (l.until - chrono::Utc::now()).num_seconds().max(1);
            return Err(Error::TooManyAttempts { retry_after_secs: secs });
        }
    }
    Ok(Principal {
        id: found.id,
        role,
        via_bot: Some(bot.id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_user_ids_are_u_or_w_and_upper_case() {
        for ok in ["U0123ABCD", "W012A3CDE", " UAB ", "U12345678901234567890"] {
            assert!(SlackUserId::parse(ok, "f").is_ok(), "{ok}");
        }
        for bad in [
            "",
            "U1",
            "u0123ABCD",
            "U0123abcd",
            "B0123ABCD",
            "U0123-ABC",
            "U123456789012345678901",
            "U０１２",
        ] {
            assert!(SlackUserId::parse(bad, "f").is_err(), "{bad}");
        }
        assert_eq!(
            SlackUserId::parse(" U0123ABCD\n", "f")
                .map(|s| s.as_str().to_owned())
                .ok(),
            Some("U0123ABCD".to_owned())
        );
    }
}
