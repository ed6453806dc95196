//! Notifications: e-mail, SMS/LMS and KakaoTalk Alimtalk; owns `messages`.
//!
//! Changes enqueue a job in their own transaction (`notify.order` when an order moves,
//! `notify.email` for one e-mail); the worker renders the notice ([`templates`]) and sends
//! it through the configured providers ([`mail`], [`sms`]). Each send is logged in
//! `messages` under its job, so a job retried after a crash skips what already went out.
//! Order and shipping messages are transactional and always go; marketing and the
//! automations go only to members who consented, with an unsubscribe link.

pub mod mail;
pub mod marketing;
pub mod orders;
pub mod sms;
pub mod templates;
pub mod unsubscribe;

use std::{collections::BTreeMap, path::PathBuf, sync::Arc};

use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::{PgConnection, PgPool};

use crate::{
    Error, Settings,
    ids::{CustomerId, JobId, MessageId, OrderId},
    jobs::{NewJob, enqueue, worker::JobFailure},
};

/// `mail.*`.
#[derive(Clone, Debug, Deserialize)]
pub struct MailSettings {
    /// The sender, `이름 <address>`.
    pub from: String,
    /// `smtp://user:pass@host:587` (STARTTLS), `smtps://…` (TLS): send through this relay.
    pub smtp_url: Option<SecretString>,
    /// Send through Mandrill with this key (wins over SMTP).
    pub mandrill_key: Option<SecretString>,
    /// `https://mandrillapp.com`.
    pub mandrill_base_url: String,
    /// Without a relay: one `.eml` file per message here.
    pub dir: PathBuf,
    /// Who gets the daily sales report (empty: active owners and managers).
    #[serde(default)]
    pub report_to: Vec<String>,
}

/// `sms.*`.
#[derive(Clone, Debug, Deserialize)]
pub struct SmsSettings {
    /// Solapi's API key.
    pub solapi_key: Option<SecretString>,
    /// Solapi's API secret.
    pub solapi_secret: Option<SecretString>,
    /// The registered sender number.
    pub sender: String,
    /// `https://api.solapi.com`.
    pub base_url: String,
    /// Without Solapi: one file per message here.
    pub dir: PathBuf,
}

/// `kakao.*`: Alimtalk.
#[derive(Clone, Debug, Deserialize)]
pub struct KakaoSettings {
    /// The shop's KakaoTalk channel (발신 프로필).
    pub pfid: Option<String>,
    /// Notice → approved template id.
    #[serde(default)]
    pub templates: BTreeMap<String, String>,
}

/// `marketing.*`.
#[derive(Clone, Debug, Deserialize)]
pub struct MarketingSettings {
    /// The free opt-out number SMS ads must end with (`080-…`).
    pub opt_out_number: String,
    /// Seoul hour from which marketing is held…
    pub quiet_from_hour: u32,
    /// …until this hour.
    pub quiet_until_hour: u32,
}

/// Why a message did not go.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Try again later (provider down, timeout, a full disk).
    #[error("{0}")]
    Retry(String),
    /// The provider refused this message for good (bad address, unknown template).
    #[error("{0}")]
    Rejected(String),
    /// Our settings are wrong (key, sender): staff must fix them, then retry the job.
    #[error("{0}")]
    Config(String),
}

impl From<SendError> for JobFailure {
    fn from(e: SendError) -> Self {
        match e {
            // A settings fix comes from staff; retrying on a timer until then is noise, but a
            // short outage of a provider's auth is not unheard of: retry, then fail visibly.
            SendError::Retry(m) | SendError::Config(m) => JobFailure::Retry(m),
            SendError::Rejected(m) => JobFailure::Permanent(m),
        }
    }
}

/// What a message is about, for the log.
#[derive(Clone, Copy, Debug, Default)]
pub struct About {
    /// The customer it went to.
    pub customer: Option<CustomerId>,
    /// The order it is about.
    pub order: Option<OrderId>,
    /// An advertisement (광고).
    pub marketing: bool,
}

/// The providers, built once per worker.
pub struct Notifier {
    mailer: mail::Mailer,
    texter: sms::Texter,
    settings: Arc<Settings>,
}

impl Notifier {
    /// The providers `settings` ask for. Errors: a malformed `mail.smtp_url`.
    pub fn new(settings: Arc<Settings>, http: &reqwest::Client) -> Result<Notifier, SendError> {
        Ok(Notifier {
            mailer: mail::Mailer::from_settings(&settings.mail, http)?,
            texter: sms::Texter::from_settings(&settings.sms, http),
            settings,
        })
    }

    /// The settings it was built with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The shop part of every template's context: name, storefront, the legal footer.
    pub fn shop(&self) -> Value {
        let s = &self.settings.shop;
        let b = &s.business;
        json!({
            "name": s.name, "url": s.storefront_url.trim_end_matches('/'),
            "company_name": b.company_name, "ceo": b.ceo, "registration_number": b.registration_number,
            "mail_order_number": b.mail_order_number, "address": b.address, "phone": b.phone, "email": b.email,
        })
    }

    /// Renders `notice` with `ctx` once, for every channel and recipient it then goes to.
    /// An unknown notice fails for good.
    pub fn prepare(&self, notice: &str, ctx: &Value, about: About) -> Result<Prepared, JobFailure> {
        let notice = *templates::NOTICES
            .iter()
            .find(|n| **n == notice)
            .ok_or_else(|| JobFailure::Permanent(format!("no template {notice}")))?;
        Ok(Prepared {
            notice,
            rendered: templates::render(notice, ctx)?,
            variables: alimtalk_variables(ctx),
            about,
        })
    }

    /// E-mails a prepared notice to `to`, once per job and address.
    pub async fn email(
        &self,
        pool: &PgPool,
        job: JobId,
        p: &Prepared,
        to: &str,
        unsubscribe_url: Option<String>,
    ) -> Result<(), JobFailure> {
        if already_sent(pool, job, to, true).await? {
            return Ok(());
        }
        let r = &p.rendered;
        let email = mail::Email {
            to: to.to_owned(),
            subject: r.subject.clone(),
            html: r.html.clone(),
            text: r.text.clone(),
            list_unsubscribe: unsubscribe_url,
        };
        let sent = self.mailer.send(&self.settings.mail.from, &email).await;
        log(pool, job, p, "EMAIL", to, self.mailer.provider(), sent.as_deref()).await?;
        sent.map(drop).map_err(JobFailure::from)
    }

    /// Texts a prepared notice's `sms` block to `phone`: Alimtalk when the notice has an
    /// approved template (and a channel is set) and is no advertisement, else SMS/LMS; once
    /// per job and phone. A notice without an `sms` block sends nothing.
    pub async fn text(&self, pool: &PgPool, job: JobId, p: &Prepared, phone: &str) -> Result<(), JobFailure> {
        let phone: String = phone.chars().filter(char::is_ascii_digit).collect();
        let Some(text) = &p.rendered.sms else { return Ok(()) };
        if phone.is_empty() || already_sent(pool, job, &phone, false).await? {
            return Ok(());
        }
        let kakao = &self.settings.kakao;
        let alimtalk = match (&kakao.pfid, kakao.templates.get(p.notice)) {
            (Some(pf_id), Some(template_id)) if !p.about.marketing => Some(sms::Alimtalk {
                pf_id: pf_id.clone(),
                template_id: template_id.clone(),
                variables: p.variables.clone(),
            }),
            _ => None,
        };
        // The channel a failure is logged under: what was tried first.
        let tried = if alimtalk.is_some() {
            "ALIMTALK"
        } else {
            sms::sms_kind(text)
        };
        let msg = sms::Text {
            to: phone.clone(),
            text: text.clone(),
            subject: p.rendered.subject.clone(),
            alimtalk,
        };
        let sent = self.texter.send(&msg).await;
        let channel = sent.as_ref().map_or(tried, |s| s.channel);
        let result = sent
            .as_ref()
            .map(|s| s.provider_id.as_str())
            .map_err(ToString::to_string);
        log(
            pool,
            job,
            p,
            channel,
            &phone,
            self.texter.provider(),
            result.as_deref().map_err(String::as_str),
        )
        .await?;
        sent.map(drop).map_err(JobFailure::from)
    }
}

/// A notice rendered for its channels, with what the log says of it.
pub struct Prepared {
    notice: &'static str,
    rendered: templates::Rendered,
    variables: serde_json::Map<String, Value>,
    about: About,
}

/// The variables an Alimtalk template may use (`#{고객명}`, `#{주문번호}`, …), from the
/// notice's context.
fn alimtalk_variables(ctx: &Value) -> serde_json::Map<String, Value> {
    let mut v = serde_json::Map::new();
    let mut put = |name: &str, value: &Value| {
        let s = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return,
        };
        v.insert(format!("#{{{name}}}"), Value::String(s));
    };
    put("상점명", &ctx["shop"]["name"]);
    put("고객명", &ctx["order"]["orderer_name"]);
    put("주문번호", &ctx["order"]["number"]);
    // As the text shows it: `42,000` (the template writes `#{결제금액}원`).
    put(
        "결제금액",
        &ctx["order"]["total"]
            .as_i64()
            .map_or(Value::Null, |n| Value::String(templates::thousands(n))),
    );
    put("택배사", &ctx["order"]["shipments"][0]["carrier_name"]);
    put("송장번호", &ctx["order"]["shipments"][0]["tracking_number"]);
    v
}

async fn already_sent(pool: &PgPool, job: JobId, recipient: &str, email: bool) -> Result<bool, Error> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM messages WHERE job_id = $1 AND recipient = $2 AND status = 'SENT'
                             AND (channel = 'EMAIL') = $3) AS "sent!""#,
        job as JobId,
        recipient,
        email,
    )
    .fetch_one(pool)
    .await?)
}

async fn log(
    pool: &PgPool,
    job: JobId,
    p: &Prepared,
    channel: &str,
    recipient: &str,
    provider: &str,
    result: Result<&str, impl std::fmt::Display>,
) -> Result<(), JobFailure> {
    let (status, provider_id, error) = match result {
        Ok(id) => ("SENT", Some(id), None),
        Err(e) => ("FAILED", None, Some(e.to_string())),
    };
    sqlx::query!(
        "INSERT INTO messages (id, job_id, template, channel, recipient, customer_id, order_id, subject, marketing,
                               provider, provider_id, status, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT DO NOTHING",
        MessageId::generate() as MessageId,
        job as JobId,
        p.notice,
        channel,
        recipient,
        p.about.customer as Option<CustomerId>,
        p.about.order as Option<OrderId>,
        p.rendered.subject,
        p.about.marketing,
        provider,
        provider_id,
        status,
        error,
    )
    .execute(pool)
    .await
    .map_err(Error::from)?;
    Ok(())
}

/// The job kind of one e-mail.
pub const EMAIL_JOB: &str = "notify.email";

/// Enqueues one e-mail of `notice` to `to` inside the caller's transaction. `ctx` is the
/// template's context without `shop` (added when it is sent); a `secret` in it (a reset
/// link) is removed from the job once it is sent and never shown to staff.
pub async fn enqueue_email(
    conn: &mut PgConnection,
    notice: &'static str,
    to: &str,
    customer: Option<CustomerId>,
    ctx: Value,
) -> Result<(), Error> {
    let secret = ctx.get("secret").cloned();
    let mut payload = json!({ "notice": notice, "to": to, "customer": customer, "ctx": ctx });
    if let Some(s) = secret {
        payload["secret"] = s;
        if let Some(c) = payload["ctx"].as_object_mut() {
            c.remove("secret");
        }
    }
    enqueue(conn, NewJob::new(EMAIL_JOB, payload)).await?;
    Ok(())
}

/// Runs a `notify.email` job.
pub async fn run_email(pool: &PgPool, notifier: &Notifier, job: JobId, payload: &Value) -> Result<(), JobFailure> {
    let notice = payload["notice"]
        .as_str()
        .ok_or_else(|| JobFailure::Permanent("no notice".into()))?;
    let to = payload["to"]
        .as_str()
        .ok_or_else(|| JobFailure::Permanent("no recipient".into()))?;
    let customer: Option<CustomerId> = serde_json::from_value(payload["customer"].clone()).unwrap_or(None);
    let mut ctx = payload["ctx"].clone();
    if !ctx.is_object() {
        ctx = json!({});
    }
    ctx["shop"] = notifier.shop();
    if let Some(secret) = payload.get("secret").and_then(Value::as_str) {
        // The reset link: its token lives only in the job until it is sent.
        ctx["reset_url"] = json!(format!(
            "{}{secret}",
            ctx["reset_url_base"].as_str().unwrap_or_default()
        ));
    }
    let about = About {
        customer,
        ..About::default()
    };
    let prepared = notifier.prepare(notice, &ctx, about)?;
    notifier.email(pool, job, &prepared, to, None).await
}
