//! The one per-request look-up of every admin resolver: pool, settings, the caller's
//! address and, past the login steps, the signed-in staff member.

use std::sync::Arc;

use async_graphql::{Context, Result};
use commerce::{Error, Settings, staff};
use sqlx::PgPool;

use super::loaders::AdminLoaders;
use crate::{
    error::{lang, to_gql},
    storefront::Caller,
};

/// What an admin resolver takes from its request. `P` is the signed-in staff member
/// ([`Cx::staff`]), or `()` for the login steps ([`Cx::anonymous`]).
pub struct Cx<'a, P = staff::Principal> {
    /// The database.
    pub pool: &'a PgPool,
    /// The service's settings.
    pub settings: &'a Arc<Settings>,
    /// The caller's address, for the audit log.
    pub ip: Option<&'a str>,
    /// The bearer token sent with the request.
    pub bearer: Option<&'a str>,
    /// Who is asking.
    pub principal: P,
}

impl<'a> Cx<'a, ()> {
    /// A request that needs no session (the login steps).
    pub fn anonymous(ctx: &'a Context<'_>) -> Result<Cx<'a, ()>> {
        static NOBODY: Caller = Caller { bearer: None, ip: None };
        let caller = ctx.data_opt::<Caller>().unwrap_or(&NOBODY);
        Ok(Cx {
            pool: ctx.data::<PgPool>()?,
            settings: ctx.data::<Arc<Settings>>()?,
            ip: caller.ip.as_deref(),
            bearer: caller.bearer.as_deref(),
            principal: (),
        })
    }
}

/// The header with which a bot token's request names the Slack user it is made for: the
/// request then runs as the staff member linked to that user, through the bot
/// ([`commerce::staff::acting_for_slack_user`]). On any other token it is refused
/// (`FORBIDDEN`): a person's session never borrows someone else's rights.
pub const SLACK_USER_HEADER: &str = "x-jangteo-slack-user";

/// The value of [`SLACK_USER_HEADER`], when the request has one (an unreadable value is
/// kept as empty: it names nobody).
#[derive(Clone, Debug, Default)]
pub struct SlackUser(pub Option<String>);

/// What an admin request keeps for all its fields: whom it runs as, looked up once per
/// request (every root field asks, and up to 50 of them would each run the session's
/// UPDATE; an expected refusal such as `UNAUTHENTICATED` or `SLACK_USER_NOT_LINKED` is
/// kept too; faults are not, the next field tries again), and its DataLoaders, made when
/// a field first needs them.
#[derive(Default)]
pub struct SignedIn(
    tokio::sync::OnceCell<Result<staff::Principal, Arc<Error>>>,
    std::sync::OnceLock<AdminLoaders>,
);

impl<'a> Cx<'a> {
    /// A signed-in staff member's request, or a top-level error: `UNAUTHENTICATED`, and
    /// for a request naming a Slack user `FORBIDDEN`, `SLACK_USER_NOT_LINKED` or
    /// `TOO_MANY_ATTEMPTS` (see [`SLACK_USER_HEADER`]).
    pub async fn staff(ctx: &'a Context<'_>) -> Result<Cx<'a>> {
        let cx = Cx::anonymous(ctx)?;
        let Some(token) = cx.bearer else {
            return Err(to_gql(&Error::Unauthenticated, lang(ctx)));
        };
        let slack_user = ctx.data_opt::<SlackUser>().and_then(|s| s.0.as_deref());
        let look_up = async || {
            let kept = |r: Result<staff::Principal, Error>| match r {
                Err(e) if e.is_fault() => Err(e),
                r => Ok(r.map_err(Arc::new)),
            };
            let principal = match kept(staff::authenticate(cx.pool, &cx.settings.staff, token).await)? {
                Ok(p) => p,
                refused => return Ok(refused),
            };
            match slack_user {
                None => Ok(Ok(principal)),
                Some(user) => {
                    kept(staff::acting_for_slack_user(cx.pool, principal, user, &cx.settings.staff.throttle).await)
                }
            }
        };
        let found = match ctx.data_opt::<SignedIn>() {
            Some(cache) => cache.0.get_or_try_init(look_up).await.cloned(),
            None => look_up().await,
        };
        let principal = match found {
            Ok(Ok(p)) => p,
            Ok(Err(refused)) => return Err(to_gql(&refused, lang(ctx))),
            Err(fault) => return Err(to_gql(&fault, lang(ctx))),
        };
        Ok(Cx {
            pool: cx.pool,
            settings: cx.settings,
            ip: cx.ip,
            bearer: cx.bearer,
            principal,
        })
    }

    /// The request's admin DataLoaders (made on first use, on this request's pool).
    pub fn loaders(&self, ctx: &'a Context<'_>) -> Result<&'a AdminLoaders> {
        let kept = ctx
            .data_opt::<SignedIn>()
            .ok_or_else(|| async_graphql::Error::new("admin request data missing"))?;
        Ok(kept.1.get_or_init(|| AdminLoaders::new(self.pool)))
    }
}
