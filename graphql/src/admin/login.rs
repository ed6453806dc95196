//! Staff login: password, TOTP enrollment and verification, logout, `staffMe`.

use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset};
use commerce::{Error, staff};

use super::context::Cx;
use crate::{
    error::GqlResult,
    storefront::{UserError, split},
};

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
    /// The Slack user linked to this staff member (`U…`/`W…`): the Slack bot acts for
    /// them with this member's role (`staffSlackLink`); null if none.
    slack_user_id: Option<String>,
    /// Can sign in.
    active: bool,
    /// Their latest sign-in (a session started; Seoul time); null if never.
    last_login_at: Option<DateTime<FixedOffset>>,
}

impl From<staff::StaffListed> for StaffMember {
    fn from(s: staff::StaffListed) -> StaffMember {
        StaffMember {
            id: ID(s.staff.id.to_string()),
            email: s.staff.email,
            name: s.staff.name,
            role: s.staff.role.into(),
            totp_enabled: s.staff.totp_enabled,
            slack_user_id: s.staff.slack_user_id,
            active: s.active,
            last_login_at: s.last_login_at.map(super::seoul),
        }
    }
}

/// Staff login queries.
#[derive(Default)]
pub struct LoginQuery;

#[Object]
impl LoginQuery {
    /// The signed-in staff member; for a bot token's request naming a Slack user
    /// (`X-Jangteo-Slack-User`), the staff member linked to it.
    async fn staff_me(&self, ctx: &Context<'_>) -> Result<StaffMember> {
        let cx = Cx::staff(ctx).await?;
        Ok(staff::member(cx.pool, cx.principal.id).await.gql(ctx)?.into())
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

/// Staff login mutations.
#[derive(Default)]
pub struct LoginMutation;

#[Object]
impl LoginMutation {
    /// Step one: e-mail and password → a challenge.
    async fn staff_login(&self, ctx: &Context<'_>, email: String, password: String) -> Result<StaffLoginPayload> {
        let cx = Cx::anonymous(ctx)?;
        let r = staff::login(cx.pool, &cx.settings.staff, &email, &password, cx.ip).await;
        let (c, user_errors) = split(ctx, r)?;
        Ok(StaffLoginPayload {
            enrollment_required: c.as_ref().map(|c| c.enrollment_required),
            challenge: c.map(|c| c.token),
            user_errors,
        })
    }

    /// First login: a new authenticator secret for the challenge's staff member.
    async fn staff_totp_enroll(&self, ctx: &Context<'_>, challenge: String) -> Result<StaffTotpEnrollPayload> {
        let cx = Cx::anonymous(ctx)?;
        let r = staff::totp_enroll(cx.pool, &cx.settings.staff, &challenge).await;
        let (e, user_errors) = split(ctx, r)?;
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
        let cx = Cx::anonymous(ctx)?;
        let r = staff::totp_activate(cx.pool, &cx.settings.staff, &challenge, &code, cx.ip).await;
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
        let cx = Cx::anonymous(ctx)?;
        let r = staff::verify(cx.pool, &cx.settings.staff, &challenge, &code, cx.ip).await;
        let (token, user_errors) = split(ctx, r)?;
        Ok(StaffVerifyTotpPayload { token, user_errors })
    }

    /// Ends the session sent with this request.
    async fn staff_logout(&self, ctx: &Context<'_>) -> Result<StaffLogoutPayload> {
        let cx = Cx::anonymous(ctx)?;
        let r = match cx.bearer {
            Some(t) => staff::logout(cx.pool, t, cx.ip).await,
            None => Err(Error::Unauthenticated),
        };
        let (ok, user_errors) = split(ctx, r)?;
        Ok(StaffLogoutPayload {
            ok: ok.is_some(),
            user_errors,
        })
    }
}
