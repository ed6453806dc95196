//! SMS, LMS and KakaoTalk Alimtalk out: files under `sms.dir` (the default) or Solapi's
//! `POST /messages/v4/send-many/detail` with its HMAC-SHA256 header (messaging.md §3).

use std::path::PathBuf;

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;

use super::{SendError, SmsSettings};

/// An SMS's limit in EUC-KR bytes; above it the text goes as LMS.
pub const SMS_BYTES: usize = 90;

/// A text message to one phone.
#[derive(Clone, Debug)]
pub struct Text {
    /// Digits, e.g. `01012345678`.
    pub to: String,
    /// The body (with `(광고)` and the opt-out line for marketing).
    pub text: String,
    /// LMS title, when the text is too long for an SMS.
    pub subject: String,
    /// Alimtalk first: the channel (pfId), the approved template's id and its variables;
    /// when Alimtalk fails, the same text goes as SMS/LMS.
    pub alimtalk: Option<Alimtalk>,
}

/// An Alimtalk message's template.
#[derive(Clone, Debug)]
pub struct Alimtalk {
    /// The shop's KakaoTalk channel.
    pub pf_id: String,
    /// The approved template.
    pub template_id: String,
    /// `#{name}` → value.
    pub variables: serde_json::Map<String, Value>,
}

/// What was sent: the channel it went by and the provider's id.
#[derive(Clone, Debug)]
pub struct Sent {
    /// `ALIMTALK`, `SMS` or `LMS`.
    pub channel: &'static str,
    /// The provider's message id (or the file name).
    pub provider_id: String,
}

/// The EUC-KR length of `text`: Korean counts 2, ASCII 1 (what carriers count).
pub fn euc_kr_len(text: &str) -> usize {
    let (bytes, _, _) = encoding_rs::EUC_KR.encode(text);
    bytes.len()
}

/// `SMS` up to 90 EUC-KR bytes, else `LMS`.
pub fn sms_kind(text: &str) -> &'static str {
    if euc_kr_len(text) <= SMS_BYTES { "SMS" } else { "LMS" }
}

/// Where text messages go.
pub enum Texter {
    /// One file per message.
    Files(PathBuf),
    /// Solapi.
    Solapi(Solapi),
}

/// Solapi's client.
pub struct Solapi {
    http: reqwest::Client,
    base_url: String,
    key: SecretString,
    secret: SecretString,
    sender: String,
}

impl Texter {
    /// Solapi when both its key and secret are set, else files.
    pub fn from_settings(settings: &SmsSettings, http: &reqwest::Client) -> Texter {
        match (&settings.solapi_key, &settings.solapi_secret) {
            (Some(key), Some(secret)) => Texter::Solapi(Solapi {
                http: http.clone(),
                base_url: settings.base_url.trim_end_matches('/').to_owned(),
                key: key.clone(),
                secret: secret.clone(),
                sender: settings.sender.chars().filter(char::is_ascii_digit).collect(),
            }),
            _ => Texter::Files(settings.dir.clone()),
        }
    }

    /// Which provider this is, for the message log.
    pub fn provider(&self) -> &'static str {
        match self {
            Texter::Files(_) => "file",
            Texter::Solapi(_) => "solapi",
        }
    }

    /// Sends `msg`: Alimtalk when it has a template (Solapi resends it as SMS/LMS if Kakao
    /// can't deliver it; an Alimtalk refused outright is sent again here as SMS/LMS), else
    /// SMS or LMS by length.
    pub async fn send(&self, msg: &Text) -> Result<Sent, SendError> {
        match self {
            Texter::Files(dir) => {
                let kind = if msg.alimtalk.is_some() {
                    "ALIMTALK"
                } else {
                    sms_kind(&msg.text)
                };
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| SendError::Retry(format!("messages dir: {e}")))?;
                let name = format!(
                    "{}-{}.txt",
                    chrono::Utc::now().format("%Y%m%dT%H%M%S%.3f"),
                    uuid::Uuid::now_v7().simple()
                );
                let body = format!("To: {}\nType: {kind}\n\n{}\n", msg.to, msg.text);
                tokio::fs::write(dir.join(&name), body)
                    .await
                    .map_err(|e| SendError::Retry(format!("message file: {e}")))?;
                Ok(Sent {
                    channel: kind,
                    provider_id: name,
                })
            }
            Texter::Solapi(api) => {
                if let Some(at) = &msg.alimtalk {
                    match api.send_one(alimtalk_body(api, msg, at)).await {
                        Ok(id) => {
                            return Ok(Sent {
                                channel: "ALIMTALK",
                                provider_id: id,
                            });
                        }
                        // Refused at intake (unknown template, text ≠ template): as SMS.
                        Err(SendError::Rejected(why)) => {
                            tracing::warn!(reason = %why, "Alimtalk refused; sending as SMS/LMS");
                        }
                        Err(e) => return Err(e),
                    }
                }
                let kind = sms_kind(&msg.text);
                let id = api.send_one(text_body(api, msg, kind)).await?;
                Ok(Sent {
                    channel: kind,
                    provider_id: id,
                })
            }
        }
    }
}

fn text_body(api: &Solapi, msg: &Text, kind: &str) -> Value {
    let mut m = json!({ "to": msg.to, "from": api.sender, "text": msg.text, "type": kind });
    if kind == "LMS" && !msg.subject.is_empty() {
        m["subject"] = json!(fit(&msg.subject, SUBJECT_BYTES));
    }
    m
}

/// An LMS title's limit in EUC-KR bytes.
pub const SUBJECT_BYTES: usize = 40;

/// `text` cut at a character boundary to at most `max` EUC-KR bytes.
pub fn fit(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars() {
        out.push(c);
        if euc_kr_len(&out) > max {
            out.pop();
            break;
        }
    }
    out.trim_end().to_owned()
}

fn alimtalk_body(api: &Solapi, msg: &Text, at: &Alimtalk) -> Value {
    json!({
        "to": msg.to,
        "from": api.sender,
        "text": msg.text,
        "type": "ATA",
        "kakaoOptions": {
            "pfId": at.pf_id,
            "templateId": at.template_id,
            "variables": at.variables,
            // Kakao can't deliver (not a KakaoTalk user, blocked): Solapi resends as SMS/LMS.
            "disableSms": false,
        },
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SendReply {
    #[serde(default)]
    failed_message_list: Vec<Failed>,
    #[serde(default)]
    message_list: Vec<Accepted>,
    group_info: Option<GroupInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupInfo {
    group_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Failed {
    status_code: String,
    status_message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Accepted {
    message_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorReply {
    error_code: String,
    error_message: String,
}

impl Solapi {
    /// `Authorization: HMAC-SHA256 apiKey=…, date=…, salt=…, signature=hex(HMAC(secret, date + salt))`,
    /// with a fresh salt every time (Solapi refuses a signature seen within 15 minutes).
    fn authorization(&self, date: &str, salt: &str) -> Result<String, SendError> {
        Ok(format!(
            "HMAC-SHA256 apiKey={}, date={date}, salt={salt}, signature={}",
            self.key.expose_secret(),
            signature(self.secret.expose_secret(), date, salt)?
        ))
    }

    async fn send_one(&self, message: Value) -> Result<String, SendError> {
        let date = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| SendError::Retry(format!("randomness: {e}")))?;
        let salt = hex(&salt);
        let resp = self
            .http
            .post(format!("{}/messages/v4/send-many/detail", self.base_url))
            .header("Authorization", self.authorization(&date, &salt)?)
            .json(&json!({ "messages": [message], "showMessageList": true }))
            .send()
            .await
            .map_err(|e| SendError::Retry(format!("Solapi: {}", e.without_url())))?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| SendError::Retry(format!("Solapi: {}", e.without_url())))?;
        if !status.is_success() {
            let e = serde_json::from_slice::<ErrorReply>(&bytes).ok();
            let text = e.as_ref().map_or_else(
                || format!("Solapi answered HTTP {status}"),
                |e| format!("Solapi {}: {}", e.error_code, e.error_message),
            );
            return Err(if status.is_server_error() || status.as_u16() == 429 {
                SendError::Retry(text)
            } else if matches!(status.as_u16(), 401 | 403) {
                SendError::Config(text)
            } else {
                SendError::Rejected(text)
            });
        }
        let reply: SendReply =
            serde_json::from_slice(&bytes).map_err(|e| SendError::Retry(format!("Solapi reply: {e}")))?;
        if let Some(f) = reply.failed_message_list.first() {
            return Err(SendError::Rejected(format!(
                "Solapi {}: {}",
                f.status_code, f.status_message
            )));
        }
        Ok(reply
            .message_list
            .into_iter()
            .find_map(|m| m.message_id)
            .or_else(|| reply.group_info.and_then(|g| g.group_id))
            .unwrap_or_default())
    }
}

/// hex(HMAC-SHA256(secret, date + salt)).
pub fn signature(secret: &str, date: &str, salt: &str) -> Result<String, SendError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|e| SendError::Config(format!("sms.solapi_secret: {e}")))?;
    mac.update(date.as_bytes());
    mac.update(salt.as_bytes());
    Ok(hex(&mac.finalize().into_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_matches_the_vector() {
        let sig = signature("test-api-secret", "2019-07-01T00:41:48Z", "jqsba2jxjnrjor").expect("hmac");
        assert_eq!(sig, "0012d7796a0671e2f2eac00d56fac3ee9212f507dab85021973f3cce353c113b");
    }

    #[test]
    fn korean_counts_two_bytes_and_ninety_bytes_is_an_sms() {
        assert_eq!(euc_kr_len("가나다abc"), 9);
        assert_eq!(sms_kind(&"가".repeat(45)), "SMS");
        assert_eq!(sms_kind(&"가".repeat(46)), "LMS");
        assert_eq!(sms_kind(&"a".repeat(90)), "SMS");
        let title = fit("[장터 뉴트리션] 주문이 접수되었습니다 (20261203-000001)", SUBJECT_BYTES);
        assert!(
            euc_kr_len(&title) <= SUBJECT_BYTES && title.starts_with("[장터 뉴트리션] 주문이"),
            "{title}"
        );
    }
}
