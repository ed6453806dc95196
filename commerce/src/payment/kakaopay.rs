//! KakaoPay online single payment, the current API (payments.md §2): `ready` at checkout,
//! `approve` with the `pg_token` the customer comes back with, `order` to look up, `cancel`.
//! `Authorization: SECRET_KEY {key}`, JSON bodies. KakaoPay sends no webhooks.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    KakaoPaySettings, Provider,
    gateway::{GatewayCancel, GatewayError, GatewayPayment, GatewayStatus, parse_time, send, unparsed},
};

/// The KakaoPay client.
#[derive(Clone)]
pub struct KakaoPay {
    http: reqwest::Client,
    base: String,
    auth: SecretString,
    cid: String,
}

impl std::fmt::Debug for KakaoPay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KakaoPay")
            .field("base", &self.base)
            .field("cid", &self.cid)
            .finish_non_exhaustive()
    }
}

/// What `ready` is asked for.
#[derive(Clone, Debug, Serialize)]
pub struct ReadyRequest {
    /// Our order number.
    pub partner_order_id: String,
    /// The customer id, or `guest`.
    pub partner_user_id: String,
    /// `상품명 외 N건`.
    pub item_name: String,
    /// Units in the order.
    pub quantity: i64,
    /// The order total.
    pub total_amount: i64,
    /// Its tax-free part.
    pub tax_free_amount: i64,
    /// Where KakaoPay sends the customer with `pg_token`.
    pub approval_url: String,
    /// Where it sends a customer who cancelled.
    pub cancel_url: String,
    /// Where it sends a customer whose payment failed.
    pub fail_url: String,
}

/// `ready`'s answer: the tid and where to send the customer.
#[derive(Clone, Debug, Deserialize)]
pub struct Ready {
    /// The payment's id (20 characters).
    pub tid: String,
    /// For a PC browser.
    pub next_redirect_pc_url: String,
    /// For a mobile browser.
    pub next_redirect_mobile_url: String,
    /// For an app.
    pub next_redirect_app_url: String,
}

#[derive(Deserialize)]
struct Amount {
    total: i64,
}

#[derive(Deserialize)]
struct Approved {
    tid: String,
    partner_order_id: String,
    payment_method_type: Option<String>,
    amount: Amount,
    approved_at: Option<String>,
}

#[derive(Deserialize)]
struct OrderStatus {
    tid: String,
    status: String,
    partner_order_id: String,
    payment_method_type: Option<String>,
    amount: Option<Amount>,
    cancel_available_amount: Option<Amount>,
    approved_at: Option<String>,
}

#[derive(Deserialize)]
struct Cancelled {
    aid: Option<String>,
    approved_cancel_amount: Option<Amount>,
    cancel_available_amount: Option<Amount>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error_code: i64,
    error_message: Option<String>,
    extras: Option<Extras>,
}

#[derive(Deserialize)]
struct Extras {
    method_result_code: Option<String>,
    method_result_message: Option<String>,
}

fn error(status: u16, body: &[u8]) -> GatewayError {
    let Ok(e) = serde_json::from_slice::<ErrorBody>(body) else {
        return unparsed(status, body);
    };
    let (code, message) = match e.extras {
        Some(Extras {
            method_result_code: Some(c),
            method_result_message,
        }) => (c, method_result_message.or(e.error_message).unwrap_or_default()),
        _ => (e.error_code.to_string(), e.error_message.unwrap_or_default()),
    };
    // -780: approval failure (the customer's card or account refused it).
    if e.error_code == -780 {
        GatewayError::Declined { code, message }
    } else {
        GatewayError::Failed { status, code, message }
    }
}

impl KakaoPay {
    pub(crate) fn new(http: reqwest::Client, s: &KakaoPaySettings) -> KakaoPay {
        let key = s.secret_key.as_ref().map_or("", |k| k.expose_secret());
        KakaoPay {
            http,
            base: s.base_url.trim_end_matches('/').to_owned(),
            auth: SecretString::from(format!("SECRET_KEY {key}")),
            cid: s.cid.clone(),
        }
    }

    fn post(&self, op: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}/online/v1/payment/{op}", self.base))
            .header(reqwest::header::AUTHORIZATION, self.auth.expose_secret())
    }

    /// `ready`: opens a payment; the customer goes to one of the answer's URLs.
    pub async fn ready(&self, req: &ReadyRequest) -> Result<Ready, GatewayError> {
        let mut body = serde_json::to_value(req).unwrap_or(Value::Null);
        body["cid"] = self.cid.clone().into();
        let (ready, _raw): (Ready, Value) = send(Provider::KakaoPay, self.post("ready").json(&body), error).await?;
        Ok(ready)
    }

    /// `approve`: takes the money the customer agreed to.
    pub async fn approve(
        &self,
        tid: &str,
        partner_order_id: &str,
        partner_user_id: &str,
        pg_token: &str,
    ) -> Result<GatewayPayment, GatewayError> {
        let body = serde_json::json!({
            "cid": self.cid, "tid": tid, "partner_order_id": partner_order_id,
            "partner_user_id": partner_user_id, "pg_token": pg_token,
        });
        let (a, raw): (Approved, Value) = send(Provider::KakaoPay, self.post("approve").json(&body), error).await?;
        Ok(GatewayPayment {
            provider: Provider::KakaoPay,
            provider_id: a.tid,
            order_ref: a.partner_order_id,
            status: GatewayStatus::Paid,
            total: a.amount.total,
            balance: a.amount.total,
            method: method(a.payment_method_type.as_deref()),
            paid_at: a.approved_at.as_deref().and_then(parse_time),
            receipt_url: None,
            account: None,
            secret: None,
            failure: None,
            transaction_key: None,
            raw,
        })
    }

    /// `order`: the payment as KakaoPay has it now.
    pub async fn order(&self, tid: &str) -> Result<GatewayPayment, GatewayError> {
        let body = serde_json::json!({ "cid": self.cid, "tid": tid });
        let (o, raw): (OrderStatus, Value) = send(Provider::KakaoPay, self.post("order").json(&body), error).await?;
        let status = match o.status.as_str() {
            "SUCCESS_PAYMENT" => GatewayStatus::Paid,
            "PART_CANCEL_PAYMENT" => GatewayStatus::PartiallyCancelled,
            "CANCEL_PAYMENT" => GatewayStatus::Cancelled,
            "FAIL_AUTH_PASSWORD" | "QUIT_PAYMENT" | "FAIL_PAYMENT" => GatewayStatus::Failed,
            _ => GatewayStatus::Pending,
        };
        let total = o.amount.map_or(0, |a| a.total);
        Ok(GatewayPayment {
            provider: Provider::KakaoPay,
            provider_id: o.tid,
            order_ref: o.partner_order_id,
            status,
            total,
            balance: o.cancel_available_amount.map_or(total, |a| a.total),
            method: method(o.payment_method_type.as_deref()),
            paid_at: o.approved_at.as_deref().and_then(parse_time),
            receipt_url: None,
            account: None,
            secret: None,
            failure: None,
            transaction_key: None,
            raw,
        })
    }

    /// `cancel`: refunds `amount` (its tax-free part given), guarded by what we believe is
    /// still cancellable.
    pub async fn cancel(
        &self,
        tid: &str,
        amount: i64,
        tax_free: i64,
        cancellable: i64,
    ) -> Result<GatewayCancel, GatewayError> {
        let body = serde_json::json!({
            "cid": self.cid, "tid": tid, "cancel_amount": amount,
            "cancel_tax_free_amount": tax_free, "cancel_available_amount": cancellable,
        });
        let (c, raw): (Cancelled, Value) = send(Provider::KakaoPay, self.post("cancel").json(&body), error).await?;
        Ok(GatewayCancel {
            transaction_key: c.aid.unwrap_or_default(),
            amount: c.approved_cancel_amount.map_or(amount, |a| a.total),
            balance: c.cancel_available_amount.map_or(cancellable - amount, |a| a.total),
            raw,
        })
    }
}

fn method(t: Option<&str>) -> String {
    match t {
        Some("MONEY") => "EASY_PAY",
        _ => "CARD",
    }
    .to_owned()
}
