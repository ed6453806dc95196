//! The admin schema (`POST /admin/graphql`): staff login with TOTP, then the shop's
//! back office. Everything but the login steps needs a staff session with TOTP active.

use std::sync::Arc;

use async_graphql::{Context, EmptySubscription, Enum, ID, Object, Result, Schema, SchemaBuilder, SimpleObject};
use commerce::{Error, Settings, staff};
use sqlx::PgPool;

use crate::{
    error::{GqlResult, lang, to_gql},
    storefront::{Caller, UserError, split},
};

/// The admin schema type.
pub type AdminSchema = Schema<AdminQuery, AdminMutation, EmptySubscription>;

fn builder() -> SchemaBuilder<AdminQuery, AdminMutation, EmptySubscription> {
    Schema::build(AdminQuery, AdminMutation, EmptySubscription)
        .limit_depth(12)
        .limit_complexity(5000)
}

/// The schema with its shared data.
pub fn schema(pool: PgPool, settings: Arc<Settings>) -> AdminSchema {
    builder().data(pool).data(settings).finish()
}

/// The schema in SDL, as committed in `graphql/admin.graphql`.
pub fn sdl() -> String {
    builder().finish().sdl()
}

fn caller<'a>(ctx: &'a Context<'_>) -> &'a Caller {
    static NOBODY: Caller = Caller { bearer: None, ip: None };
    ctx.data_opt::<Caller>().unwrap_or(&NOBODY)
}

fn settings<'a>(ctx: &'a Context<'_>) -> Result<&'a Arc<Settings>> {
    ctx.data::<Arc<Settings>>()
}

/// The signed-in staff member, or a top-level `UNAUTHENTICATED` error.
pub async fn principal(ctx: &Context<'_>) -> Result<staff::Principal> {
    let pool = ctx.data::<PgPool>()?;
    let s = settings(ctx)?;
    let Some(token) = caller(ctx).bearer.as_deref() else {
        return Err(to_gql(&Error::Unauthenticated, lang(ctx)));
    };
    staff::authenticate(pool, &s.staff, token)
        .await
        .map_err(|e| to_gql(&e, lang(ctx)))
}

/// A staff role.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "commerce::staff::Role")]
pub enum StaffRole {
    /// Everything, staff management included.
    Owner,
    /// Catalog, orders, reports.
    Manager,
    /// Orders and customers.
    Cs,
    /// Read-only, masked personal data (the Slack bot).
    Bot,
}

/// A staff member.
#[derive(SimpleObject)]
pub struct StaffMember {
    /// Opaque id.
    id: ID,
    /// Sign-in e-mail.
    email: String,
    /// Name.
    name: String,
    /// Role.
    role: StaffRole,
    /// Two-factor login is set up.
    totp_enabled: bool,
}

impl From<staff::Staff> for StaffMember {
    fn from(s: staff::Staff) -> StaffMember {
        StaffMember {
            id: ID(s.id.to_string()),
            email: s.email,
            name: s.name,
            role: s.role.into(),
            totp_enabled: s.totp_enabled,
        }
    }
}

/// Admin queries.
pub struct AdminQuery;

#[Object]
impl AdminQuery {
    /// The signed-in staff member.
    async fn staff_me(&self, ctx: &Context<'_>) -> Result<StaffMember> {
        let p = principal(ctx).await?;
        let pool = ctx.data::<PgPool>()?;
        Ok(staff::get(pool, p.id).await.gql(ctx)?.into())
    }
}

/// Step one of a staff login.
#[derive(SimpleObject)]
pub struct StaffLoginPayload {
    /// For step two (`staffVerifyTotp`, or enrollment); valid for a few minutes, once.
    challenge: Option<String>,
    /// No authenticator yet: `staffTotpEnroll`, then `staffTotpActivate`.
    enrollment_required: Option<bool>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// An authenticator to add.
#[derive(SimpleObject)]
pub struct StaffTotpEnrollPayload {
    /// `otpauth://totp/…?secret=…` for the authenticator app.
    otpauth_url: Option<String>,
    /// The same as a QR code, `data:image/png;base64,…`.
    qr_code_png: Option<String>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// Two-factor login switched on.
#[derive(SimpleObject)]
pub struct StaffTotpActivatePayload {
    /// The session: `Authorization: Bearer …`.
    token: Option<String>,
    /// Ten one-time recovery codes, shown only now.
    recovery_codes: Option<Vec<String>>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// Step two of a staff login.
#[derive(SimpleObject)]
pub struct StaffVerifyTotpPayload {
    /// The session: `Authorization: Bearer …`.
    token: Option<String>,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// The result of logout.
#[derive(SimpleObject)]
pub struct StaffLogoutPayload {
    /// The session is revoked.
    ok: bool,
    /// What went wrong.
    user_errors: Vec<UserError>,
}

/// Admin mutations.
pub struct AdminMutation;

#[Object]
impl AdminMutation {
    /// Step one: e-mail and password → a challenge.
    async fn staff_login(&self, ctx: &Context<'_>, email: String, password: String) -> Result<StaffLoginPayload> {
        let pool = ctx.data::<PgPool>()?;
        let s = settings(ctx)?;
        let r = staff::login(pool, &s.staff, &email, &password, caller(ctx).ip.as_deref()).await;
        let (c, user_errors) = split(ctx, r)?;
        Ok(StaffLoginPayload {
            enrollment_required: c.as_ref().map(|c| c.enrollment_required),
            challenge: c.map(|c| c.token),
            user_errors,
        })
    }

    /// First login: a new authenticator secret for the challenge's staff member.
    async fn staff_totp_enroll(&self, ctx: &Context<'_>, challenge: String) -> Result<StaffTotpEnrollPayload> {
        let pool = ctx.data::<PgPool>()?;
        let s = settings(ctx)?;
        let (e, user_errors) = split(ctx, staff::totp_enroll(pool, &s.staff, &challenge).await)?;
        Ok(StaffTotpEnrollPayload {
            otpauth_url: e.as_ref().map(|e| e.otpauth_url.clone()),
            qr_code_png: e.map(|e| e.qr_code_png),
            user_errors,
        })
    }

    /// First login: a code from the new authenticator switches TOTP on.
    async fn staff_totp_activate(
        &self,
        ctx: &Context<'_>,
        challenge: String,
        code: String,
    ) -> Result<StaffTotpActivatePayload> {
        let pool = ctx.data::<PgPool>()?;
        let s = settings(ctx)?;
        let r = staff::totp_activate(pool, &s.staff, &challenge, &code, caller(ctx).ip.as_deref()).await;
        let (g, user_errors) = split(ctx, r)?;
        Ok(StaffTotpActivatePayload {
            token: g.as_ref().map(|g| g.token.clone()),
            recovery_codes: g.map(|g| g.recovery_codes),
            user_errors,
        })
    }

    /// Step two: a 6-digit code or a recovery code → a session.
    async fn staff_verify_totp(
        &self,
        ctx: &Context<'_>,
        challenge: String,
        code: String,
    ) -> Result<StaffVerifyTotpPayload> {
        let pool = ctx.data::<PgPool>()?;
        let s = settings(ctx)?;
        let r = staff::verify(pool, &s.staff, &challenge, &code, caller(ctx).ip.as_deref()).await;
        let (token, user_errors) = split(ctx, r)?;
        Ok(StaffVerifyTotpPayload { token, user_errors })
    }

    /// Ends the session sent with this request.
    async fn staff_logout(&self, ctx: &Context<'_>) -> Result<StaffLogoutPayload> {
        let pool = ctx.data::<PgPool>()?;
        let r = match caller(ctx).bearer.as_deref() {
            Some(t) => staff::logout(pool, t, caller(ctx).ip.as_deref()).await,
            None => Err(Error::Unauthenticated),
        };
        let (ok, user_errors) = split(ctx, r)?;
        Ok(StaffLogoutPayload {
            ok: ok.is_some(),
            user_errors,
        })
    }
}
