//! Admin staff management: bot tokens.

use async_graphql::{Context, Object, Result, SimpleObject};
use commerce::staff;

use super::context::Cx;
use crate::storefront::{UserError, split};

/// A new bot token.
#[derive(SimpleObject)]
pub struct BotTokenCreatePayload {
    /// `Authorization: Bearer …` for the bot; shown only now.
    token: Option<String>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// Admin staff mutations.
#[derive(Default)]
pub struct StaffMutation;

#[Object]
impl StaffMutation {
    /// A long-lived token for the Slack bot (role BOT). OWNER only.
    async fn bot_token_create(&self, ctx: &Context<'_>, name: String) -> Result<BotTokenCreatePayload> {
        let cx = Cx::staff(ctx).await?;
        let r = staff::bot_token_create(cx.pool, cx.principal, &name, cx.ip).await;
        let (token, user_errors) = split(ctx, r)?;
        Ok(BotTokenCreatePayload { token, user_errors })
    }
}
