//! PortOne V2 (payments.md §3): the browser SDK pays into our `storeId` through a
//! `channelKey` (Inicis, KCP, …); the server looks the payment up by the `paymentId` it
//! chose, cancels it, and verifies webhooks (Standard Webhooks, `whsec_` secret).

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use sha2::Sha256;

use super::{
    PortOneSettings, Provider,
    gateway::{GatewayCancel, GatewayError, GatewayPayment, GatewayStatus, IssuedAccount, parse_time, send, unparsed},
    toss::urlencode,
};

/// The PortOne client.
#[derive(Clone)]
pub struct PortOne {
    http: reqwest::Client,
    base: String,
    auth: SecretString,
    webhook_secret: SecretString,
    /// The store the browser SDK pays into.
    pub store_id: String,
    /// The channel (PG contract) the browser SDK uses.
    pub channel_key: String,
}

impl std::fmt::Debug for PortOne {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortOne")
            .field("base", &self.base)
            .field("store_id", &self.store_id)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payment {
    status: String,
    id: String,
    amount: Amount,
    method: Option<Method>,
    paid_at: Option<String>,
    receipt_url: Option<String>,
    failure: Option<Failure>,
    pg_tx_id: Option<String>,
}

#[derive(Deserialize)]
struct Amount {
    total: i64,
    #[serde(default)]
    cancelled: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Method {
    #[serde(rename = "type")]
    kind: Option<String>,
    bank: Option<String>,
    account_number: Option<String>,
    remittee_name: Option<String>,
    expired_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Failure {
    reason: Option<String>,
    pg_code: Option<String>,
    pg_message: Option<String>,
}

#[derive(Deserialize)]
struct CancelAnswer {
    cancellation: Cancellation,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cancellation {
    status: String,
    id: String,
    total_amount: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    #[serde(rename = "type")]
    kind: String,
    message: Option<String>,
    pg_code: Option<String>,
    pg_message: Option<String>,
}

fn error(status: u16, body: &[u8]) -> GatewayError {
    let Ok(e) = serde_json::from_slice::<ErrorBody>(body) else {
        return unparsed(status, body);
    };
    match (e.pg_code, e.pg_message) {
        (Some(code), message) => GatewayError::Failed {
            status,
            code,
            message: message.or(e.message).unwrap_or_default(),
        },
        (None, _) => GatewayError::Failed {
            status,
            code: e.kind,
            message: e.message.unwrap_or_default(),
        },
    }
}

/// Why a webhook was refused before it was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WebhookRejection {
    /// A header is missing or malformed.
    Missing,
    /// No signature matches.
    BadSignature,
    /// The timestamp is more than five minutes away from now.
    Stale,
}

/// The Standard Webhooks tolerance PortOne documents.
const TOLERANCE_SECS: i64 = 300;

impl PortOne {
    pub(crate) fn new(http: reqwest::Client, s: &PortOneSettings) -> PortOne {
        let key = s.api_secret.as_ref().map_or("", |k| k.expose_secret());
        PortOne {
            http,
            base: s.base_url.trim_end_matches('/').to_owned(),
            auth: SecretString::from(format!("PortOne {key}")),
            webhook_secret: s
                .webhook_secret
                .clone()
                .unwrap_or_else(|| SecretString::from(String::new())),
            store_id: s.store_id.clone().unwrap_or_default(),
            channel_key: s.channel_key.clone().unwrap_or_default(),
        }
    }

    /// `GET /payments/{paymentId}`.
    pub async fn get(&self, payment_id: &str) -> Result<GatewayPayment, GatewayError> {
        let url = format!("{}/payments/{}", self.base, urlencode(payment_id));
        let req = self
            .http
            .get(url)
            .query(&[("storeId", self.store_id.as_str())])
            .header(reqwest::header::AUTHORIZATION, self.auth.expose_secret());
        let (p, raw): (Payment, Value) = send(Provider::PortOne, req, error).await?;
        Ok(convert(p, raw))
    }

    /// `POST /payments/{paymentId}/cancel`: `amount` (the whole rest when `None`), its
    /// tax-free part, guarded by what we believe is still cancellable.
    pub async fn cancel(
        &self,
        payment_id: &str,
        reason: &str,
        amount: Option<i64>,
        tax_free: i64,
        cancellable: i64,
    ) -> Result<GatewayCancel, GatewayError> {
        let mut body = serde_json::json!({
            "storeId": self.store_id, "reason": reason.chars().take(200).collect::<String>(),
            "taxFreeAmount": tax_free, "currentCancellableAmount": cancellable, "requester": "ADMIN",
        });
        if let Some(a) = amount {
            body["amount"] = a.into();
        }
        let url = format!("{}/payments/{}/cancel", self.base, urlencode(payment_id));
        let req = self
            .http
            .post(url)
            .header(reqwest::header::AUTHORIZATION, self.auth.expose_secret())
            .json(&body);
        let (c, raw): (CancelAnswer, Value) = send(Provider::PortOne, req, error).await?;
        if c.cancellation.status == "FAILED" {
            return Err(GatewayError::Failed {
                status: 200,
                code: "CANCELLATION_FAILED".into(),
                message: "PortOne could not cancel the payment".into(),
            });
        }
        Ok(GatewayCancel {
            transaction_key: c.cancellation.id,
            amount: c.cancellation.total_amount,
            balance: cancellable - c.cancellation.total_amount,
            raw,
        })
    }

    /// Verifies a webhook delivery as Standard Webhooks specifies: HMAC-SHA256 under the
    /// base64-decoded `whsec_` secret over `{id}.{timestamp}.{raw body}`, any `v1,` entry of
    /// `webhook-signature` matching in constant time, the timestamp within five minutes of
    /// `now` (unix seconds). Only then may the body be parsed.
    pub fn verify_webhook(&self, h: WebhookHeaders<'_>, body: &[u8], now: i64) -> Result<(), WebhookRejection> {
        verify(self.webhook_secret.expose_secret(), h, body, now)
    }
}

/// The Standard Webhooks headers of a PortOne delivery.
#[derive(Clone, Copy, Debug)]
pub struct WebhookHeaders<'a> {
    /// `webhook-id`.
    pub id: Option<&'a str>,
    /// `webhook-timestamp` (unix seconds).
    pub timestamp: Option<&'a str>,
    /// `webhook-signature` (`v1,<base64>` entries, space-separated).
    pub signature: Option<&'a str>,
}

/// [`PortOne::verify_webhook`] with the secret given.
fn verify(secret: &str, h: WebhookHeaders<'_>, body: &[u8], now: i64) -> Result<(), WebhookRejection> {
    let (Some(id), Some(ts), Some(sig)) = (h.id, h.timestamp, h.signature) else {
        return Err(WebhookRejection::Missing);
    };
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| WebhookRejection::BadSignature)?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).map_err(|_| WebhookRejection::BadSignature)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(body);
    let matches = sig.split(' ').filter_map(|e| e.strip_prefix("v1,")).any(|b64| {
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .is_ok_and(|given| mac.clone().verify_slice(&given).is_ok())
    });
    if !matches {
        return Err(WebhookRejection::BadSignature);
    }
    let ts: i64 = ts.parse().map_err(|_| WebhookRejection::Missing)?;
    if (now - ts).abs() > TOLERANCE_SECS {
        return Err(WebhookRejection::Stale);
    }
    Ok(())
}

fn convert(p: Payment, raw: Value) -> GatewayPayment {
    let status = match p.status.as_str() {
        "PAID" => GatewayStatus::Paid,
        "VIRTUAL_ACCOUNT_ISSUED" => GatewayStatus::WaitingForDeposit,
        "PARTIAL_CANCELLED" => GatewayStatus::PartiallyCancelled,
        "CANCELLED" => GatewayStatus::Cancelled,
        "FAILED" => GatewayStatus::Failed,
        _ => GatewayStatus::Pending, // READY, PAY_PENDING
    };
    let kind = p.method.as_ref().and_then(|m| m.kind.as_deref()).unwrap_or("");
    let method = match kind {
        "PaymentMethodCard" => "CARD",
        "PaymentMethodVirtualAccount" => "VIRTUAL_ACCOUNT",
        "PaymentMethodEasyPay" => "EASY_PAY",
        "PaymentMethodTransfer" => "TRANSFER",
        "PaymentMethodMobile" => "MOBILE",
        "" => "UNKNOWN",
        _ => "OTHER",
    };
    let account = p.method.as_ref().filter(|_| method == "VIRTUAL_ACCOUNT").and_then(|m| {
        Some(IssuedAccount {
            bank: m.bank.clone().unwrap_or_default(),
            number: m.account_number.clone()?,
            holder: m.remittee_name.clone().unwrap_or_default(),
            due_at: m.expired_at.as_deref().and_then(parse_time)?,
        })
    });
    GatewayPayment {
        provider: Provider::PortOne,
        provider_id: p.id.clone(),
        order_ref: p.id,
        status,
        total: p.amount.total,
        balance: p.amount.total - p.amount.cancelled,
        method: method.to_owned(),
        paid_at: p.paid_at.as_deref().and_then(parse_time),
        receipt_url: p.receipt_url,
        account,
        secret: None,
        failure: p.failure.map(|f| {
            (
                f.pg_code.unwrap_or_else(|| "FAILED".into()),
                f.pg_message.or(f.reason).unwrap_or_default(),
            )
        }),
        transaction_key: p.pg_tx_id,
        raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hd<'a>(id: Option<&'a str>, timestamp: Option<&'a str>, signature: Option<&'a str>) -> WebhookHeaders<'a> {
        WebhookHeaders {
            id,
            timestamp,
            signature,
        }
    }

    fn sign(key: &[u8], id: &str, ts: &str, body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("key");
        mac.update(format!("{id}.{ts}.").as_bytes());
        mac.update(body);
        format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        )
    }

    #[test]
    fn standard_webhooks_signatures_are_checked_over_the_raw_body_and_time() {
        let key = b"portone-webhook-test-key";
        let secret = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key));
        let body = br#"{"type":"Transaction.Paid","data":{"paymentId":"pay_1"}}"#;
        let now = 1_760_000_000;
        let ts = now.to_string();
        let good = sign(key, "msg_1", &ts, body);
        assert_eq!(
            verify(&secret, hd(Some("msg_1"), Some(&ts), Some(&good)), body, now),
            Ok(())
        );
        let several = format!("v1,AAAA {good}");
        assert_eq!(
            verify(&secret, hd(Some("msg_1"), Some(&ts), Some(&several)), body, now),
            Ok(())
        );
        let tampered = br#"{ "type":"Transaction.Paid","data":{"paymentId":"pay_1"}}"#;
        assert_eq!(
            verify(&secret, hd(Some("msg_1"), Some(&ts), Some(&good)), tampered, now),
            Err(WebhookRejection::BadSignature)
        );
        assert_eq!(
            verify(&secret, hd(Some("msg_2"), Some(&ts), Some(&good)), body, now),
            Err(WebhookRejection::BadSignature)
        );
        assert_eq!(
            verify(&secret, hd(Some("msg_1"), Some(&ts), Some(&good)), body, now + 301),
            Err(WebhookRejection::Stale)
        );
        let other = sign(b"another key", "msg_1", &ts, body);
        assert_eq!(
            verify(&secret, hd(Some("msg_1"), Some(&ts), Some(&other)), body, now),
            Err(WebhookRejection::BadSignature)
        );
        assert_eq!(
            verify(&secret, hd(None, Some(&ts), Some(&good)), body, now),
            Err(WebhookRejection::Missing)
        );
    }
}
