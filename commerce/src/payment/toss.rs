//! Toss Payments Core API v1 (payments.md §1): confirm, look up, cancel, issue virtual
//! accounts. Auth `Basic base64("{secretKey}:")`; every POST carries an `Idempotency-Key`.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{
    Provider, TossSettings,
    gateway::{GatewayCancel, GatewayError, GatewayPayment, GatewayStatus, IssuedAccount, parse_time, send, unparsed},
};

/// The Toss client.
#[derive(Clone)]
pub struct Toss {
    http: reqwest::Client,
    base: String,
    auth: SecretString,
    /// What the storefront's SDK opens the payment window with.
    pub client_key: String,
    /// Where virtual accounts are issued (bank code).
    pub virtual_account_bank: String,
}

impl std::fmt::Debug for Toss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Toss").field("base", &self.base).finish_non_exhaustive()
    }
}

/// A refund account (환불계좌) for a virtual-account payment, as Toss names its fields.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundReceiveAccount {
    /// Bank code or name.
    pub bank: String,
    /// Digits only.
    pub account_number: String,
    /// 예금주.
    pub holder_name: String,
}

/// What a virtual account is issued for.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VirtualAccountRequest {
    /// The order total.
    pub amount: i64,
    /// Our order number.
    pub order_id: String,
    /// `상품명 외 N건`.
    pub order_name: String,
    /// The depositor's name.
    pub customer_name: String,
    /// Bank code.
    pub bank: String,
    /// Hours until the deadline.
    pub valid_hours: i64,
    /// The orderer's e-mail.
    pub customer_email: String,
    /// The tax-free part.
    pub tax_free_amount: i64,
    /// A cash receipt to issue on deposit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cash_receipt: Option<CashReceiptRequest>,
}

/// `cashReceipt` of a virtual-account issuance.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CashReceiptRequest {
    /// `소득공제` or `지출증빙`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Phone, business or card number.
    pub registration_number: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payment {
    payment_key: String,
    order_id: String,
    status: String,
    method: Option<String>,
    total_amount: i64,
    balance_amount: i64,
    approved_at: Option<String>,
    last_transaction_key: Option<String>,
    receipt: Option<Url>,
    virtual_account: Option<VirtualAccount>,
    secret: Option<String>,
    failure: Option<Failure>,
    cancels: Option<Vec<Cancel>>,
}

#[derive(Deserialize)]
struct Url {
    url: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VirtualAccount {
    account_number: String,
    bank_code: Option<String>,
    customer_name: Option<String>,
    due_date: Option<String>,
}

#[derive(Deserialize)]
struct Failure {
    code: String,
    message: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Cancel {
    transaction_key: String,
    cancel_amount: i64,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

/// A Toss bank code's name (payments.md §1.6).
pub fn bank_name(code: &str) -> &str {
    match code {
        "06" => "KB국민은행",
        "03" => "IBK기업은행",
        "11" => "NH농협은행",
        "88" => "신한은행",
        "20" => "우리은행",
        "81" => "하나은행",
        "71" => "우체국",
        "45" => "새마을금고",
        "07" => "Sh수협은행",
        "32" => "부산은행",
        "31" => "iM뱅크(대구)",
        "34" => "광주은행",
        "39" => "경남은행",
        "37" => "전북은행",
        "89" => "케이뱅크",
        other => other,
    }
}

fn error(status: u16, body: &[u8]) -> GatewayError {
    let Ok(ErrorBody { code, message }) = serde_json::from_slice(body) else {
        return unparsed(status, body);
    };
    // Refusals about the card or the customer's limits: another card may work.
    let declined = code.starts_with("REJECT_")
        || code.starts_with("EXCEED_")
        || code.starts_with("INVALID_CARD")
        || code.starts_with("NOT_SUPPORTED_CARD")
        || matches!(
            code.as_str(),
            "BELOW_MINIMUM_AMOUNT" | "INVALID_STOPPED_CARD" | "INVALID_PASSWORD" | "NOT_AVAILABLE_PAYMENT"
        );
    if declined {
        GatewayError::Declined { code, message }
    } else {
        GatewayError::Failed { status, code, message }
    }
}

impl Toss {
    pub(crate) fn new(http: reqwest::Client, s: &TossSettings) -> Toss {
        let key = s.secret_key.as_ref().map_or("", |k| k.expose_secret());
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{key}:"))
        );
        Toss {
            http,
            base: s.base_url.trim_end_matches('/').to_owned(),
            auth: SecretString::from(auth),
            client_key: s.client_key.clone().unwrap_or_default(),
            virtual_account_bank: s.virtual_account_bank.clone(),
        }
    }

    fn post(&self, path: &str, idempotency_key: &str) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::AUTHORIZATION, self.auth.expose_secret())
            .header("Idempotency-Key", idempotency_key)
    }

    async fn payment(&self, req: reqwest::RequestBuilder) -> Result<GatewayPayment, GatewayError> {
        let (p, raw): (Payment, Value) = send(Provider::Toss, req, error).await?;
        Ok(convert(p, raw))
    }

    /// `POST /v1/payments/confirm`: approves what the customer authorised in the window.
    pub async fn confirm(
        &self,
        payment_key: &str,
        order_id: &str,
        amount: i64,
        idempotency_key: &str,
    ) -> Result<GatewayPayment, GatewayError> {
        let body = serde_json::json!({ "paymentKey": payment_key, "orderId": order_id, "amount": amount });
        self.payment(self.post("/v1/payments/confirm", idempotency_key).json(&body))
            .await
    }

    /// `GET /v1/payments/{paymentKey}`.
    pub async fn get(&self, payment_key: &str) -> Result<GatewayPayment, GatewayError> {
        let url = format!("{}/v1/payments/{}", self.base, urlencode(payment_key));
        self.payment(
            self.http
                .get(url)
                .header(reqwest::header::AUTHORIZATION, self.auth.expose_secret()),
        )
        .await
    }

    /// `GET /v1/payments/orders/{orderId}`.
    pub async fn get_by_order(&self, order_id: &str) -> Result<GatewayPayment, GatewayError> {
        let url = format!("{}/v1/payments/orders/{}", self.base, urlencode(order_id));
        self.payment(
            self.http
                .get(url)
                .header(reqwest::header::AUTHORIZATION, self.auth.expose_secret()),
        )
        .await
    }

    /// `POST /v1/payments/{paymentKey}/cancel`: the whole balance when `amount` is `None`.
    pub async fn cancel(
        &self,
        payment_key: &str,
        reason: &str,
        amount: Option<i64>,
        tax_free: i64,
        account: Option<&RefundReceiveAccount>,
        idempotency_key: &str,
    ) -> Result<GatewayCancel, GatewayError> {
        let mut body = serde_json::json!({ "cancelReason": truncate(reason, 200), "taxFreeAmount": tax_free });
        if let Some(a) = amount {
            body["cancelAmount"] = a.into();
        }
        if let Some(acc) = account {
            body["refundReceiveAccount"] = serde_json::to_value(acc).unwrap_or(Value::Null);
        }
        let path = format!("/v1/payments/{}/cancel", urlencode(payment_key));
        let (p, raw): (Payment, Value) =
            send(Provider::Toss, self.post(&path, idempotency_key).json(&body), error).await?;
        let last = p.cancels.as_ref().and_then(|c| c.last());
        Ok(GatewayCancel {
            transaction_key: last
                .map(|c| c.transaction_key.clone())
                .or_else(|| p.last_transaction_key.clone())
                .unwrap_or_default(),
            amount: last.map_or(0, |c| c.cancel_amount),
            balance: p.balance_amount,
            raw,
        })
    }

    /// `POST /v1/virtual-accounts`: issues an account for the order.
    pub async fn issue_virtual_account(
        &self,
        req: &VirtualAccountRequest,
        idempotency_key: &str,
    ) -> Result<GatewayPayment, GatewayError> {
        self.payment(self.post("/v1/virtual-accounts", idempotency_key).json(req))
            .await
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Path-segment escaping for ids the gateway made (they are `[A-Za-z0-9_-]` in practice).
pub(crate) fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn convert(p: Payment, raw: Value) -> GatewayPayment {
    let status = match p.status.as_str() {
        "DONE" => GatewayStatus::Paid,
        "WAITING_FOR_DEPOSIT" => GatewayStatus::WaitingForDeposit,
        "CANCELED" => GatewayStatus::Cancelled,
        "PARTIAL_CANCELED" => GatewayStatus::PartiallyCancelled,
        "ABORTED" | "EXPIRED" => GatewayStatus::Failed,
        _ => GatewayStatus::Pending, // READY, IN_PROGRESS
    };
    let method = match p.method.as_deref() {
        Some("카드") => "CARD",
        Some("가상계좌") => "VIRTUAL_ACCOUNT",
        Some("간편결제") => "EASY_PAY",
        Some("계좌이체") => "TRANSFER",
        Some("휴대폰") => "MOBILE",
        Some(_) => "OTHER",
        None => "UNKNOWN",
    };
    let account = p.virtual_account.map(|va| {
        let code = va.bank_code.unwrap_or_default();
        IssuedAccount {
            bank: bank_name(&code).to_owned(),
            number: va.account_number,
            holder: va.customer_name.unwrap_or_default(),
            due_at: va
                .due_date
                .as_deref()
                .and_then(parse_time)
                .unwrap_or_else(|| Utc::now() + chrono::Duration::days(7)),
        }
    });
    GatewayPayment {
        provider: Provider::Toss,
        provider_id: p.payment_key,
        order_ref: p.order_id,
        status,
        total: p.total_amount,
        balance: p.balance_amount,
        method: method.to_owned(),
        paid_at: p.approved_at.as_deref().and_then(parse_time),
        receipt_url: p.receipt.and_then(|r| r.url),
        account,
        secret: p.secret,
        failure: p.failure.map(|f| (f.code, f.message)),
        transaction_key: p.last_transaction_key,
        raw,
    }
}

/// When Toss says a virtual account's deadline is, for an account issued `valid_hours`
/// from `now` (what we store before the answer says otherwise).
pub fn due_at(now: DateTime<Utc>, valid_hours: i64) -> DateTime<Utc> {
    now + chrono::Duration::hours(valid_hours.clamp(1, 720))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_refusals_are_declines_and_the_rest_failures() {
        let body = r#"{"code":"REJECT_CARD_COMPANY","message":"거절"}"#.as_bytes();
        assert!(matches!(error(403, body), GatewayError::Declined { .. }));
        let body = br#"{"code":"FAILED_INTERNAL_SYSTEM_PROCESSING","message":"x"}"#;
        assert!(matches!(error(500, body), GatewayError::Failed { status: 500, .. }));
        assert_eq!(error(502, b"<html>").code(), "HTTP_502");
    }
}
