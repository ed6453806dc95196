//! E-mail out: `.eml` files (the default), SMTP through lettre, or Mandrill's
//! `messages/send` (messaging.md §5).

use std::{path::PathBuf, time::Duration};

use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use super::{MailSettings, SendError};

/// One e-mail, rendered.
#[derive(Clone, Debug)]
pub struct Email {
    /// Recipient address.
    pub to: String,
    /// Subject.
    pub subject: String,
    /// HTML body, CSS inlined.
    pub html: String,
    /// Plain-text body.
    pub text: String,
    /// Extra headers: `List-Unsubscribe` for marketing.
    pub list_unsubscribe: Option<String>,
}

/// Where e-mail goes.
pub enum Mailer {
    /// One `.eml` file per message under a folder.
    Files(PathBuf),
    /// An SMTP relay.
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Mailchimp Transactional.
    Mandrill {
        /// Client with timeouts.
        http: reqwest::Client,
        /// `https://mandrillapp.com`.
        base_url: String,
        /// The API key (in the body, as Mandrill wants it).
        key: SecretString,
    },
}

impl Mailer {
    /// The mailer `settings` ask for: Mandrill with a key, else SMTP with a URL, else files.
    /// An SMTP URL without `tls=` gets STARTTLS required unless the relay is on loopback.
    pub fn from_settings(settings: &MailSettings, http: &reqwest::Client) -> Result<Mailer, SendError> {
        if let Some(key) = &settings.mandrill_key {
            return Ok(Mailer::Mandrill {
                http: http.clone(),
                base_url: settings.mandrill_base_url.trim_end_matches('/').to_owned(),
                key: key.clone(),
            });
        }
        if let Some(url) = &settings.smtp_url {
            let url = with_starttls(url.expose_secret());
            let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
                .map_err(|e| SendError::Config(format!("mail.smtp_url: {e}")))?
                .timeout(Some(Duration::from_secs(20)))
                .build();
            return Ok(Mailer::Smtp(transport));
        }
        Ok(Mailer::Files(settings.dir.clone()))
    }

    /// Which provider this is, for the message log.
    pub fn provider(&self) -> &'static str {
        match self {
            Mailer::Files(_) => "file",
            Mailer::Smtp(_) => "smtp",
            Mailer::Mandrill { .. } => "mandrill",
        }
    }

    /// Sends `email` from `from`; the provider's id of the message.
    pub async fn send(&self, from: &str, email: &Email) -> Result<String, SendError> {
        match self {
            Mailer::Files(dir) => {
                let msg = build(from, email)?;
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| SendError::Retry(format!("mail dir: {e}")))?;
                let name = format!(
                    "{}-{}.eml",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S%.3f"),
                    uuid::Uuid::now_v7().simple()
                );
                tokio::fs::write(dir.join(&name), msg.formatted())
                    .await
                    .map_err(|e| SendError::Retry(format!("mail file: {e}")))?;
                Ok(name)
            }
            Mailer::Smtp(transport) => {
                let msg = build(from, email)?;
                let reply = transport.send(msg).await.map_err(|e| {
                    if e.is_permanent() {
                        SendError::Rejected(format!("SMTP: {e}"))
                    } else {
                        SendError::Retry(format!("SMTP: {e}"))
                    }
                })?;
                Ok(reply.message().collect::<Vec<_>>().join(" "))
            }
            Mailer::Mandrill { http, base_url, key } => mandrill(http, base_url, key, from, email).await,
        }
    }
}

fn with_starttls(url: &str) -> String {
    let Ok(parsed) = url::Url::parse(url) else {
        return url.to_owned();
    };
    let loopback = matches!(parsed.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if parsed.scheme() == "smtp" && !loopback && !parsed.query_pairs().any(|(k, _)| k == "tls") {
        let sep = if parsed.query().is_some() { '&' } else { '?' };
        return format!("{url}{sep}tls=required");
    }
    url.to_owned()
}

fn build(from: &str, email: &Email) -> Result<Message, SendError> {
    let from: Mailbox = from.parse().map_err(|e| SendError::Config(format!("mail.from: {e}")))?;
    let to: Mailbox = email
        .to
        .parse()
        .map_err(|e| SendError::Rejected(format!("recipient address: {e}")))?;
    let mut builder = Message::builder().from(from).to(to).subject(&email.subject);
    if let Some(link) = &email.list_unsubscribe {
        builder = builder
            .header(ListUnsubscribe(format!("<{link}>")))
            .header(ListUnsubscribePost);
    }
    builder
        .multipart(MultiPart::alternative_plain_html(
            email.text.clone(),
            email.html.clone(),
        ))
        .map_err(|e| SendError::Rejected(format!("message: {e}")))
}

/// `List-Unsubscribe` (RFC 2369): mail clients' own unsubscribe button.
#[derive(Clone)]
struct ListUnsubscribe(String);

impl lettre::message::header::Header for ListUnsubscribe {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }
    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post` (RFC 8058): the one-click form of it.
#[derive(Clone)]
struct ListUnsubscribePost;

impl lettre::message::header::Header for ListUnsubscribePost {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }
    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".into())
    }
}

#[derive(Deserialize)]
struct MandrillResult {
    email: String,
    status: String,
    reject_reason: Option<String>,
    #[serde(rename = "_id")]
    id: String,
}

#[derive(Deserialize)]
struct MandrillError {
    name: String,
    message: String,
}

async fn mandrill(
    http: &reqwest::Client,
    base_url: &str,
    key: &SecretString,
    from: &str,
    email: &Email,
) -> Result<String, SendError> {
    let from: Mailbox = from.parse().map_err(|e| SendError::Config(format!("mail.from: {e}")))?;
    let mut headers = serde_json::Map::new();
    if let Some(link) = &email.list_unsubscribe {
        headers.insert("List-Unsubscribe".into(), json!(format!("<{link}>")));
        headers.insert("List-Unsubscribe-Post".into(), json!("List-Unsubscribe=One-Click"));
    }
    let body = json!({
        "key": key.expose_secret(),
        "message": {
            "html": email.html,
            "text": email.text,
            "subject": email.subject,
            "from_email": from.email.to_string(),
            "from_name": from.name,
            "to": [{ "email": email.to, "type": "to" }],
            "headers": headers,
            "auto_text": false,
            "track_clicks": false,
        },
        "async": false,
    });
    let resp = http
        .post(format!("{base_url}/api/1.0/messages/send.json"))
        .json(&body)
        .send()
        .await
        .map_err(|e| SendError::Retry(format!("Mandrill: {}", e.without_url())))?;
    let status = resp.status();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| SendError::Retry(format!("Mandrill: {}", e.without_url())))?;
    if !status.is_success() {
        return Err(match serde_json::from_slice::<MandrillError>(&bytes) {
            Ok(e) if e.name == "Invalid_Key" || e.name == "ValidationError" => {
                SendError::Config(format!("Mandrill {}: {}", e.name, e.message))
            }
            Ok(e) => SendError::Retry(format!("Mandrill {}: {}", e.name, e.message)),
            Err(_) => SendError::Retry(format!("Mandrill answered HTTP {status}")),
        });
    }
    let results: Vec<MandrillResult> =
        serde_json::from_slice(&bytes).map_err(|e| SendError::Retry(format!("Mandrill reply: {e}")))?;
    let r = results
        .into_iter()
        .find(|r| r.email.eq_ignore_ascii_case(&email.to))
        .ok_or_else(|| SendError::Retry("Mandrill reply names no such recipient".into()))?;
    match r.status.as_str() {
        "sent" | "queued" | "scheduled" => Ok(r.id),
        other => Err(SendError::Rejected(format!(
            "Mandrill {other}: {}",
            r.reject_reason.unwrap_or_default()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_get_starttls_unless_told_or_on_loopback() {
        assert_eq!(
            with_starttls("smtp://u:p@mail.example:587"),
            "smtp://u:p@mail.example:587?tls=required"
        );
        assert_eq!(
            with_starttls("smtp://mail.example:25?tls=opportunistic"),
            "smtp://mail.example:25?tls=opportunistic"
        );
        assert_eq!(with_starttls("smtp://127.0.0.1:2525"), "smtp://127.0.0.1:2525");
        assert_eq!(with_starttls("smtps://u:p@mail.example"), "smtps://u:p@mail.example");
    }

    #[test]
    fn a_message_is_multipart_with_encoded_korean_subject() {
        let email = Email {
            to: "buyer@example.com".into(),
            subject: "주문이 접수되었습니다".into(),
            html: "<p>안녕하세요</p>".into(),
            text: "안녕하세요".into(),
            list_unsubscribe: Some("https://shop.example/unsubscribe?t=x".into()),
        };
        let msg = build("장터 <no-reply@jangteo.example>", &email).expect("message");
        let raw = String::from_utf8(msg.formatted()).expect("utf-8");
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("Subject: =?utf-8?"));
        assert!(raw.contains("List-Unsubscribe: <https://shop.example/unsubscribe?t=x>"));
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
    }
}
