//! Admin staff management (OWNER): the staff list, the Slack bot's tokens, and staff
//! linked to Slack users.

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset};
use commerce::{Error, ids::BotTokenId, staff};

use super::{
    connection::{connection, wants_total},
    context::Cx,
    login::StaffMember,
    seoul,
};
use crate::{
    error::GqlResult,
    storefront::{UserError, split},
};

/// A bot token; its secret was shown once, when it was made, and never again.
#[derive(SimpleObject)]
pub struct BotToken {
    /// Opaque id, for `botTokenRevoke`.
    id: ID,
    /// The bot's name.
    name: String,
    /// The e-mail of who made it.
    created_by: Option<String>,
    /// Made at.
    created_at: DateTime<FixedOffset>,
    /// Last request it authenticated; null if never used.
    last_used_at: Option<DateTime<FixedOffset>>,
    /// Stops working at; null: until revoked.
    expires_at: Option<DateTime<FixedOffset>>,
    /// Revoked at; null while it works.
    revoked_at: Option<DateTime<FixedOffset>>,
}

impl From<staff::BotToken> for BotToken {
    fn from(t: staff::BotToken) -> BotToken {
        BotToken {
            id: ID(t.id.to_string()),
            name: t.name,
            created_by: t.created_by,
            created_at: seoul(t.created_at),
            last_used_at: t.last_used_at.map(seoul),
            expires_at: t.expires_at.map(seoul),
            revoked_at: t.revoked_at.map(seoul),
        }
    }
}

connection!(BotTokenConnection, BotTokenEdge, BotToken, "bot tokens");
connection!(StaffConnection, StaffEdge, StaffMember, "staff members");

/// A new bot token.
#[derive(SimpleObject)]
pub struct BotTokenCreatePayload {
    /// `Authorization: Bearer …` for the bot; shown only now.
    token: Option<String>,
    /// The token as `botTokens` lists it.
    bot_token: Option<BotToken>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// The result of revoking a bot token.
#[derive(SimpleObject)]
pub struct BotTokenRevokePayload {
    /// The token, revoked.
    bot_token: Option<BotToken>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// The result of linking a staff member to a Slack user.
#[derive(SimpleObject)]
pub struct StaffSlackLinkPayload {
    /// The staff member after it.
    staff: Option<StaffMember>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// Admin staff queries.
#[derive(Default)]
pub struct StaffQuery;

#[Object]
impl StaffQuery {
    /// Every staff member (the bot's account included), oldest first, with role, two-factor
    /// state and latest sign-in (OWNER).
    async fn staff(&self, ctx: &Context<'_>, first: Option<i64>, after: Option<String>) -> Result<StaffConnection> {
        let cx = Cx::staff(ctx).await?;
        let first = commerce::pagination::page_size(first).gql(ctx)?;
        let page = staff::list(cx.pool, cx.principal, first, after.as_deref(), wants_total(ctx))
            .await
            .gql(ctx)?;
        Ok(StaffConnection::from_page(page, StaffMember::from))
    }

    /// The Slack bot's tokens, newest first, revoked and expired ones included (OWNER).
    async fn bot_tokens(
        &self,
        ctx: &Context<'_>,
        first: Option<i64>,
        after: Option<String>,
    ) -> Result<BotTokenConnection> {
        let cx = Cx::staff(ctx).await?;
        let first = commerce::pagination::page_size(first).gql(ctx)?;
        let after = after
            .map(|a| a.parse::<BotTokenId>().map_err(|_| Error::InvalidCursor))
            .transpose()
            .gql(ctx)?;
        let page = staff::bot_tokens(cx.pool, cx.principal, first, after, wants_total(ctx))
            .await
            .gql(ctx)?;
        Ok(BotTokenConnection::from_page(page, BotToken::from))
    }
}

/// Admin staff mutations.
#[derive(Default)]
pub struct StaffMutation;

#[Object]
impl StaffMutation {
    /// A long-lived token for the Slack bot (role BOT), valid for `expiresInDays` (1–3650)
    /// or until revoked. OWNER only.
    async fn bot_token_create(
        &self,
        ctx: &Context<'_>,
        name: String,
        expires_in_days: Option<i32>,
    ) -> Result<BotTokenCreatePayload> {
        let cx = Cx::staff(ctx).await?;
        let days = expires_in_days.map(i64::from);
        let r = staff::bot_token_create(cx.pool, cx.principal, &name, days, cx.ip).await;
        let (made, user_errors) = split(ctx, r)?;
        let (token, bot_token) = match made {
            Some(m) => (Some(m.token), Some(m.listed.into())),
            None => (None, None),
        };
        Ok(BotTokenCreatePayload {
            token,
            bot_token,
            user_errors,
        })
    }

    /// Links a staff member to their Slack user (`U0123ABCD`), so the Slack bot answers
    /// them with their role; `slackUserId: null` unlinks. A Slack user is linked to one
    /// staff member at most (`ALREADY_EXISTS`); bot accounts are never linked
    /// (`INVALID_INPUT`). Audited. OWNER only.
    async fn staff_slack_link(
        &self,
        ctx: &Context<'_>,
        staff_id: ID,
        slack_user_id: Option<String>,
    ) -> Result<StaffSlackLinkPayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async {
            staff::slack_link(
                cx.pool,
                cx.principal,
                staff_id.parse()?,
                slack_user_id.as_deref(),
                cx.ip,
            )
            .await
        }
        .await;
        let (member, user_errors) = split(ctx, r)?;
        Ok(StaffSlackLinkPayload {
            staff: member.map(StaffMember::from),
            user_errors,
        })
    }

    /// Revokes a bot token: its next request is `UNAUTHENTICATED`. OWNER only.
    async fn bot_token_revoke(&self, ctx: &Context<'_>, id: ID) -> Result<BotTokenRevokePayload> {
        let cx = Cx::staff(ctx).await?;
        let r = async { staff::bot_token_revoke(cx.pool, cx.principal, id.parse()?, cx.ip).await }.await;
        let (revoked, user_errors) = split(ctx, r)?;
        Ok(BotTokenRevokePayload {
            bot_token: revoked.map(BotToken::from),
            user_errors,
        })
    }
}
