//! A fake PortOne V2 (payments.md §3): `GET /payments/{paymentId}` and `POST
//! /payments/{paymentId}/cancel` with `Authorization: PortOne {apiSecret}`, the customer's
//! payment window as test hooks ([`FakePortOne::pay`], [`FakePortOne::fail`],
//! [`FakePortOne::issue_virtual_account`], [`FakePortOne::deposit`]), and PortOne's
//! `2024-04-25` webhooks towards our listener, signed per Standard Webhooks.
//!
//! Answers follow PortOne's schema: payments are a union discriminated by `status`, errors are
//! `{"type": "PAYMENT_NOT_FOUND", "message": "…"}` with the documented HTTP status, times are
//! RFC 3339 UTC (`2024-04-25T10:00:00.000Z`), amounts integer KRW. The fake knows only the
//! payments a hook created: any other `paymentId` is 404, as an unpaid attempt is to a
//! server that never saw it.
//!
//! ```no_run
//! # async fn demo(listener: &str) {
//! use jangteo_tests::fakes::{Signing, portone::{FakePortOne, PortOneMethod, TEST_API_SECRET, TEST_WEBHOOK_SECRET}};
//! let portone = FakePortOne::start(TEST_API_SECRET, TEST_WEBHOOK_SECRET).await;
//! // settings: payments.portone.base_url = portone.base_url(), store_id = STORE_ID, …
//! portone.pay("ord_01", "제주 감귤 5kg", 23_000, PortOneMethod::Card);
//! let reply = portone.send_webhook(listener, "Transaction.Paid", "ord_01", Signing::Valid).await;
//! assert_eq!(reply.status, 200);
//! # }
//! ```

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Map, Value, json};
use sha2::Sha256;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::{Reply, Signing, UPPER_ALNUM, random_string, send_timed, tamper_body, unix_now};

/// The store every payment belongs to (`storeId`).
pub const STORE_ID: &str = "store-3f1c2b7e-9a4d-4c6b-8e2f-5d7a1b0c9e84";
/// The merchant (`merchantId`).
pub const MERCHANT_ID: &str = "merchant-8b2d4f6a-1c3e-4a5b-9d7f-0e2c4a6b8d1f";
/// The one channel: KG Inicis (`INICIS_V2`), a test channel.
pub const CHANNEL_KEY: &str = "channel-key-test-inicis";
/// The channel's PG provider.
pub const PG_PROVIDER: &str = "INICIS_V2";
/// The PG's merchant id on the channel (Inicis' test MID).
pub const PG_MERCHANT_ID: &str = "INIpayTest";
/// An API secret for tests.
pub const TEST_API_SECRET: &str = "portone-v2-test-api-secret-0JANGTEO0";
/// A webhook secret for tests, in PortOne's `whsec_<base64>` form.
pub const TEST_WEBHOOK_SECRET: &str = "whsec_amFuZ3Rlby1wb3J0b25lLXdlYmhvb2stdGVzdC1rZXk=";
/// Standard Webhooks' tolerance for `webhook-timestamp` (PortOne's SDK: ±5 minutes).
pub const WEBHOOK_TOLERANCE_SECS: i64 = 300;

/// A failure a test asks for with [`FakePortOne::fail_next`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortOneFailure {
    /// The next call (after the secret check) answers 502 `{"type": "PG_PROVIDER", "message",
    /// "pgCode", "pgMessage"}`, changing nothing.
    ServerError,
}

/// How the customer paid in the PortOne window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortOneMethod {
    /// A card (`PaymentMethodCard`, Shinhan, lump sum).
    Card,
    /// An easy pay (`PaymentMethodEasyPay`) of this provider: `KAKAOPAY`, `NAVERPAY`, `TOSSPAY`…
    EasyPay(&'static str),
}

/// One request the fake answered.
#[derive(Clone, Debug)]
pub struct PortOneCall {
    /// `GET` or `POST`.
    pub method: String,
    /// The path as received, percent-decoded (`/payments/ord_01/cancel`).
    pub path: String,
    /// The query string, if any (`storeId=…`).
    pub query: Option<String>,
    /// The JSON body received (`Null` for a GET or a body that is not JSON).
    pub body: Value,
    /// The HTTP status answered.
    pub status: u16,
    /// The JSON answered.
    pub answer: Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    VirtualAccountIssued,
    Paid,
    Failed,
    PartialCancelled,
    Cancelled,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::VirtualAccountIssued => "VIRTUAL_ACCOUNT_ISSUED",
            Status::Paid => "PAID",
            Status::Failed => "FAILED",
            Status::PartialCancelled => "PARTIAL_CANCELLED",
            Status::Cancelled => "CANCELLED",
        }
    }
}

#[derive(Debug)]
struct Payment {
    id: String,
    transaction_id: String,
    order_name: String,
    status: Status,
    method: Option<Value>,
    total: i64,
    tax_free: i64,
    vat: i64,
    requested_at: String,
    updated_at: String,
    status_changed_at: String,
    paid_at: Option<String>,
    failed_at: Option<String>,
    failure: Option<Value>,
    pg_tx_id: Option<String>,
    receipt_url: Option<String>,
    cash_receipt: Option<Value>,
    cancellations: Vec<Value>,
    cancelled: i64,
    cancelled_tax_free: i64,
    cancelled_vat: i64,
    cancelled_at: Option<String>,
}

impl Payment {
    /// A new attempt at `id` (a fresh `transactionId`), requested now.
    fn attempt(id: &str, order_name: &str, amount: i64, status: Status, now: &str) -> Payment {
        Payment {
            id: id.to_owned(),
            transaction_id: Uuid::now_v7().to_string(),
            order_name: order_name.to_owned(),
            status,
            method: None,
            total: amount,
            tax_free: 0,
            vat: vat_of(amount),
            requested_at: now.to_owned(),
            updated_at: now.to_owned(),
            status_changed_at: now.to_owned(),
            paid_at: None,
            failed_at: None,
            failure: None,
            pg_tx_id: None,
            receipt_url: None,
            cash_receipt: None,
            cancellations: Vec::new(),
            cancelled: 0,
            cancelled_tax_free: 0,
            cancelled_vat: 0,
            cancelled_at: None,
        }
    }

    fn set_status(&mut self, status: Status, now: &str) {
        self.status = status;
        now.clone_into(&mut self.status_changed_at);
        now.clone_into(&mut self.updated_at);
    }

    fn paid_by_virtual_account(&self) -> bool {
        self.method
            .as_ref()
            .is_some_and(|m| m["type"] == "PaymentMethodVirtualAccount")
    }

    fn json(&self) -> Value {
        let paid = matches!(self.status, Status::Paid | Status::PartialCancelled | Status::Cancelled);
        let mut p = json!({
            "status": self.status.as_str(),
            "id": self.id,
            "transactionId": self.transaction_id,
            "merchantId": MERCHANT_ID,
            "storeId": STORE_ID,
            "channel": {
                "type": "TEST",
                "id": "channel-id-test-inicis",
                "key": CHANNEL_KEY,
                "name": "KG이니시스 테스트",
                "pgProvider": PG_PROVIDER,
                "pgMerchantId": PG_MERCHANT_ID,
            },
            "version": "V2",
            "requestedAt": self.requested_at,
            "updatedAt": self.updated_at,
            "statusChangedAt": self.status_changed_at,
            "orderName": self.order_name,
            "amount": {
                "total": self.total,
                "taxFree": self.tax_free,
                "vat": self.vat,
                "supply": self.total - self.tax_free - self.vat,
                "discount": 0,
                "paid": if paid { self.total } else { 0 },
                "cancelled": self.cancelled,
                "cancelledTaxFree": self.cancelled_tax_free,
            },
            "currency": "KRW",
            "customer": {},
            "isCulturalExpense": false,
        });
        let extra = [
            ("method", self.method.clone()),
            ("pgTxId", self.pg_tx_id.clone().map(Value::String)),
            ("paidAt", self.paid_at.clone().map(Value::String)),
            ("receiptUrl", self.receipt_url.clone().map(Value::String)),
            ("cashReceipt", self.cash_receipt.clone()),
            ("failedAt", self.failed_at.clone().map(Value::String)),
            ("failure", self.failure.clone()),
            ("cancelledAt", self.cancelled_at.clone().map(Value::String)),
        ];
        for (name, value) in extra {
            if let Some(v) = value {
                p[name] = v;
            }
        }
        if matches!(self.status, Status::PartialCancelled | Status::Cancelled) {
            p["cancellations"] = Value::Array(self.cancellations.clone());
        }
        p
    }
}

/// `round(taxable / 11)`: the VAT inside a VAT-included amount.
fn vat_of(taxable: i64) -> i64 {
    taxable / 11 + i64::from(taxable % 11 >= 6)
}

/// RFC 3339 UTC with milliseconds, as PortOne writes times.
fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn now() -> String {
    rfc3339(Utc::now())
}

fn digits(len: usize) -> String {
    random_string(b"0123456789", len)
}

/// A webhook as built once per event: PortOne retries an event with the same id and body.
#[derive(Clone, Debug)]
struct Event {
    id: String,
    body: Vec<u8>,
}

struct Inner {
    payments: HashMap<String, Payment>,
    calls: Vec<PortOneCall>,
    server_errors: usize,
    cancels: usize,
    /// (type, paymentId, cancellationId) → the event.
    events: HashMap<(String, String, Option<String>), Event>,
}

struct Shared {
    api_secret: String,
    root: String,
    inner: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking test thread must not hide the record from the others.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A fake PortOne V2 API on `127.0.0.1`, and PortOne's webhook sender; the server stops when
/// dropped.
pub struct FakePortOne {
    shared: Arc<Shared>,
    server: JoinHandle<()>,
    webhook_secret: String,
    webhook_key: Vec<u8>,
    client: reqwest::Client,
}

impl Drop for FakePortOne {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The HMAC key of a Standard Webhooks secret: `whsec_` stripped, the rest base64-decoded.
/// Panics if the rest is not base64.
pub fn webhook_key(secret: &str) -> Vec<u8> {
    let b64 = secret.strip_prefix("whsec_").unwrap_or(secret);
    STANDARD
        .decode(b64)
        .unwrap_or_else(|e| panic!("a webhook secret is whsec_<base64> ({e})"))
}

/// Base64 HMAC-SHA256 under `key` of `{id}.{timestamp}.{body}`: one Standard Webhooks
/// signature, the part after `v1,` in `webhook-signature`.
pub fn standard_webhooks_signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

impl FakePortOne {
    /// Starts the fake on a random port; it accepts `Authorization: PortOne {api_secret}` and
    /// signs webhooks with `webhook_secret` (`whsec_<base64>`, e.g. [`TEST_WEBHOOK_SECRET`]).
    pub async fn start(api_secret: &str, webhook_secret: &str) -> FakePortOne {
        let webhook_key = webhook_key(webhook_secret);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared {
            api_secret: api_secret.to_owned(),
            root: format!("http://{addr}"),
            inner: Mutex::new(Inner {
                payments: HashMap::new(),
                calls: Vec::new(),
                server_errors: 0,
                cancels: 0,
                events: HashMap::new(),
            }),
        });
        let app = Router::new()
            .route("/payments/{payment_id}", get(get_payment))
            .route("/payments/{payment_id}/cancel", post(cancel_payment))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakePortOne {
            shared,
            server,
            webhook_secret: webhook_secret.to_owned(),
            webhook_key,
            client: super::http_client(),
        }
    }

    /// `http://127.0.0.1:port`, as `https://api.portone.io` is in production.
    pub fn base_url(&self) -> String {
        self.shared.root.clone()
    }

    /// The webhook secret it signs with (`whsec_…`).
    pub fn webhook_secret(&self) -> String {
        self.webhook_secret.clone()
    }

    /// The customer paid in the PortOne window: `payment_id` becomes `PAID` for `amount` (a
    /// tampering browser may have sent any amount), with `paidAt`, `pgTxId` and `receiptUrl`.
    /// A failed attempt or an unpaid virtual account at the same id is replaced by this new,
    /// successful attempt (a fresh `transactionId`). Panics if `payment_id` is already paid:
    /// PortOne lets only one attempt succeed.
    pub fn pay(&self, payment_id: &str, order_name: &str, amount: i64, method: PortOneMethod) {
        let method = match method {
            PortOneMethod::Card => json!({
                "type": "PaymentMethodCard",
                "card": {
                    "publisher": "SHINHAN_CARD",
                    "issuer": "SHINHAN_CARD",
                    "brand": "LOCAL",
                    "type": "CREDIT",
                    "ownerType": "PERSONAL",
                    "bin": "45184200",
                    "name": "신한카드",
                    "number": "451842******1234",
                },
                "approvalNumber": digits(8),
                "installment": { "month": 0, "isInterestFree": false },
            }),
            PortOneMethod::EasyPay(provider) => json!({
                "type": "PaymentMethodEasyPay",
                "provider": provider,
                "easyPayMethod": { "type": "PaymentMethodEasyPayMethodCharge" },
            }),
        };
        let root = self.base_url();
        let mut inner = self.shared.lock();
        let now = now();
        let mut p = Payment::attempt(payment_id, order_name, amount, Status::Paid, &now);
        if let Some(old) = inner.payments.get(payment_id) {
            assert!(
                matches!(old.status, Status::Failed | Status::VirtualAccountIssued),
                "{payment_id} is already {}: only one attempt can succeed",
                old.status.as_str()
            );
            p.requested_at.clone_from(&old.requested_at);
        }
        p.method = Some(method);
        p.paid_at = Some(now);
        p.pg_tx_id = Some(format!("StdpayCARDINIpayTest{}", digits(14)));
        p.receipt_url = Some(format!("{root}/receipts/{}", p.transaction_id));
        inner.payments.insert(payment_id.to_owned(), p);
    }

    /// The customer's attempt failed in the PortOne window: `FAILED` with `failedAt` and
    /// `failure{reason, pgCode, pgMessage}` (a card declined for its limit). Panics if
    /// `payment_id` is already paid.
    pub fn fail(&self, payment_id: &str, order_name: &str, amount: i64) {
        let mut inner = self.shared.lock();
        if let Some(old) = inner.payments.get(payment_id) {
            assert!(
                matches!(old.status, Status::Failed | Status::VirtualAccountIssued),
                "{payment_id} is already {}",
                old.status.as_str()
            );
        }
        let now = now();
        let mut p = Payment::attempt(payment_id, order_name, amount, Status::Failed, &now);
        p.failed_at = Some(now);
        p.failure = Some(json!({
            "reason": "카드 한도가 초과되었습니다.",
            "pgCode": "P003",
            "pgMessage": "[P003] 한도초과 거래입니다.",
        }));
        inner.payments.insert(payment_id.to_owned(), p);
    }

    /// The customer chose a virtual account: `VIRTUAL_ACCOUNT_ISSUED` with a Shinhan account
    /// (`PaymentMethodVirtualAccount`, `NORMAL`, due in 72 hours) waiting for `amount`. Panics
    /// if `payment_id` is already paid.
    pub fn issue_virtual_account(&self, payment_id: &str, order_name: &str, amount: i64) {
        let mut inner = self.shared.lock();
        if let Some(old) = inner.payments.get(payment_id) {
            assert!(
                old.status == Status::Failed,
                "{payment_id} is already {}",
                old.status.as_str()
            );
        }
        let issued = Utc::now();
        let now = rfc3339(issued);
        let mut p = Payment::attempt(payment_id, order_name, amount, Status::VirtualAccountIssued, &now);
        p.method = Some(json!({
            "type": "PaymentMethodVirtualAccount",
            "bank": "SHINHAN",
            "accountNumber": format!("56211{}", digits(9)),
            "accountType": "NORMAL",
            "remitteeName": "장터",
            "expiredAt": rfc3339(issued + chrono::Duration::hours(72)),
            "issuedAt": now,
        }));
        p.pg_tx_id = Some(format!("StdpayVBNKINIpayTest{}", digits(14)));
        inner.payments.insert(payment_id.to_owned(), p);
    }

    /// The customer deposited into the virtual account: `VIRTUAL_ACCOUNT_ISSUED` → `PAID`, with
    /// `paidAt`, `receiptUrl` and the cash receipt (소득공제, `PERSONAL`) issued on deposit
    /// (payments.md §5). Panics if `payment_id` is not waiting for a deposit.
    pub fn deposit(&self, payment_id: &str) {
        let root = self.base_url();
        let mut inner = self.shared.lock();
        let p = inner
            .payments
            .get_mut(payment_id)
            .unwrap_or_else(|| panic!("no payment {payment_id}"));
        assert!(
            p.status == Status::VirtualAccountIssued,
            "{payment_id} is {}, not waiting for a deposit",
            p.status.as_str()
        );
        let now = now();
        p.set_status(Status::Paid, &now);
        p.paid_at = Some(now.clone());
        p.receipt_url = Some(format!("{root}/receipts/{}", p.transaction_id));
        p.cash_receipt = Some(json!({
            "status": "ISSUED",
            "type": "PERSONAL",
            "pgReceiptId": format!("CR{}", digits(12)),
            "issueNumber": digits(9),
            "totalAmount": p.total,
            "taxFreeAmount": p.tax_free,
            "currency": "KRW",
            "url": format!("{root}/cash-receipts/{}", p.transaction_id),
            "issuedAt": now,
        }));
    }

    /// Queues a failure for the next call.
    pub fn fail_next(&self, f: PortOneFailure) {
        match f {
            PortOneFailure::ServerError => self.shared.lock().server_errors += 1,
        }
    }

    /// Cancels that succeeded.
    pub fn cancel_count(&self) -> usize {
        self.shared.lock().cancels
    }

    /// Every request so far, oldest first.
    pub fn calls(&self) -> Vec<PortOneCall> {
        self.shared.lock().calls.clone()
    }

    /// `payment_id` as `GET /payments/{paymentId}` would answer it now.
    pub fn payment(&self, payment_id: &str) -> Option<Value> {
        self.shared.lock().payments.get(payment_id).map(Payment::json)
    }

    /// The `2024-04-25` webhook of type `kind` (`Transaction.Paid`, `Transaction.Cancelled`,
    /// `Transaction.VirtualAccountIssued`…; any string, to test that unknown types are ignored)
    /// about `payment_id`, and its three Standard Webhooks headers (`webhook-id`,
    /// `webhook-timestamp`, `webhook-signature: v1,…`) signed as `signing` says
    /// ([`Signing::Stale`]: ten minutes old, outside the five-minute tolerance).
    ///
    /// The body is `{"type","timestamp","data":{"storeId","paymentId","transactionId"
    /// [,"cancellationId"]}}`; cancel types carry the latest cancellation's id. An event is
    /// built once: asking again for the same type, payment and cancellation gives PortOne's
    /// retry (same `webhook-id`, same body, a fresh `webhook-timestamp`). A payment the fake
    /// does not know gets a made-up `transactionId`.
    pub fn webhook(&self, kind: &str, payment_id: &str, signing: Signing) -> (Vec<(String, String)>, Vec<u8>) {
        let event = self.event(kind, payment_id);
        let now = unix_now();
        let timestamp = if signing == Signing::Stale { now - 600 } else { now };
        let key = if signing == Signing::WrongSecret {
            [b"not-".as_slice(), &self.webhook_key].concat()
        } else {
            self.webhook_key.clone()
        };
        let signature = standard_webhooks_signature(&key, &event.id, timestamp, &event.body);
        let mut headers = vec![
            ("webhook-id".to_owned(), event.id.clone()),
            ("webhook-timestamp".to_owned(), timestamp.to_string()),
        ];
        if signing != Signing::Unsigned {
            headers.push(("webhook-signature".to_owned(), format!("v1,{signature}")));
        }
        let body = if signing == Signing::Tampered {
            tamper_body(&event.body)
        } else {
            event.body
        };
        (headers, body)
    }

    fn event(&self, kind: &str, payment_id: &str) -> Event {
        let mut inner = self.shared.lock();
        let (transaction_id, cancellation_id) = match inner.payments.get(payment_id) {
            Some(p) => (
                p.transaction_id.clone(),
                kind.contains("Cancel")
                    .then(|| p.cancellations.last().and_then(|c| c["id"].as_str()).map(str::to_owned))
                    .flatten(),
            ),
            None => (Uuid::now_v7().to_string(), None),
        };
        let key = (kind.to_owned(), payment_id.to_owned(), cancellation_id.clone());
        inner
            .events
            .entry(key)
            .or_insert_with(|| {
                let s = |v: &str| Value::String(v.to_owned()).to_string();
                let cancellation = cancellation_id.map_or_else(String::new, |c| format!(r#","cancellationId":{}"#, s(&c)));
                // Written by hand to keep PortOne's documented member order.
                let body = format!(
                    r#"{{"type":{},"timestamp":{},"data":{{"storeId":{},"paymentId":{},"transactionId":{}{cancellation}}}}}"#,
                    s(kind),
                    s(&now()),
                    s(STORE_ID),
                    s(payment_id),
                    s(&transaction_id),
                );
                Event {
                    id: format!("msg_{}", random_string(UPPER_ALNUM, 27)),
                    body: body.into_bytes(),
                }
            })
            .clone()
    }

    /// POSTs [`FakePortOne::webhook`] to `url` as `application/json`; asking again for the same
    /// event sends PortOne's retry (same `webhook-id`).
    pub async fn send_webhook(&self, url: &str, kind: &str, payment_id: &str, signing: Signing) -> Reply {
        let (headers, body) = self.webhook(kind, payment_id, signing);
        self.resend(url, &headers, &body).await
    }

    /// POSTs `body` with `headers` to `url` verbatim (adding `Content-Type: application/json`
    /// unless given): a replay of a delivery, signature and timestamp included.
    pub async fn resend(&self, url: &str, headers: &[(String, String)], body: &[u8]) -> Reply {
        let mut req = self.client.post(url);
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("content-type")) {
            req = req.header(reqwest::header::CONTENT_TYPE, "application/json");
        }
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        send_timed(req.body(body.to_vec())).await
    }
}

/// An answered error: `{type, message[, pgCode, pgMessage]}`.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    kind: &'static str,
    message: String,
    pg: Option<(&'static str, &'static str)>,
}

impl Refusal {
    fn body(&self) -> Value {
        let mut b = json!({ "type": self.kind, "message": self.message });
        if let Some((code, message)) = self.pg {
            b["pgCode"] = json!(code);
            b["pgMessage"] = json!(message);
        }
        b
    }
}

fn refuse(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        kind,
        message: message.into(),
        pg: None,
    }
}

fn invalid(message: impl Into<String>) -> Refusal {
    refuse(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
}

fn conflict(kind: &'static str, message: impl Into<String>) -> Refusal {
    refuse(StatusCode::CONFLICT, kind, message)
}

/// The secret check and a queued outage, before any other.
fn gate(shared: &Shared, inner: &mut Inner, headers: &HeaderMap) -> Result<(), Refusal> {
    let expected = format!("PortOne {}", shared.api_secret);
    if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "인증 정보가 올바르지 않습니다. (Authorization: PortOne {apiSecret})",
        ));
    }
    if inner.server_errors > 0 {
        inner.server_errors -= 1;
        return Err(Refusal {
            pg: Some(("9999", "PG사 시스템 장애입니다. 잠시 후 다시 시도해 주세요.")),
            ..refuse(StatusCode::BAD_GATEWAY, "PG_PROVIDER", "PG사에서 오류가 발생했습니다.")
        });
    }
    Ok(())
}

/// A `storeId` other than [`STORE_ID`] is not this secret's store.
fn check_store(store_id: Option<&str>) -> Result<(), Refusal> {
    match store_id {
        Some(s) if s != STORE_ID => Err(refuse(
            StatusCode::FORBIDDEN,
            "FORBIDDEN",
            format!("상점 {s}에 접근할 권한이 없습니다."),
        )),
        _ => Ok(()),
    }
}

fn not_found(payment_id: &str) -> Refusal {
    refuse(
        StatusCode::NOT_FOUND,
        "PAYMENT_NOT_FOUND",
        format!("결제 건이 존재하지 않습니다: {payment_id}"),
    )
}

fn record(
    inner: &mut Inner,
    method: &str,
    path: String,
    query: Option<String>,
    body: Value,
    answer: Result<Value, Refusal>,
) -> Response {
    let (status, answer) = match answer {
        Ok(v) => (StatusCode::OK, v),
        Err(r) => (r.status, r.body()),
    };
    inner.calls.push(PortOneCall {
        method: method.to_owned(),
        path,
        query,
        body,
        status: status.as_u16(),
        answer: answer.clone(),
    });
    (status, Json(answer)).into_response()
}

async fn get_payment(
    State(shared): State<Arc<Shared>>,
    Path(payment_id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let mut inner = shared.lock();
    let answer = gate(&shared, &mut inner, &headers).and_then(|()| {
        let store_id = form_urlencoded::parse(query.as_deref().unwrap_or_default().as_bytes())
            .find(|(k, _)| k == "storeId")
            .map(|(_, v)| v.into_owned());
        check_store(store_id.as_deref())?;
        inner
            .payments
            .get(&payment_id)
            .map(Payment::json)
            .ok_or_else(|| not_found(&payment_id))
    });
    record(
        &mut inner,
        "GET",
        format!("/payments/{payment_id}"),
        query,
        Value::Null,
        answer,
    )
}

async fn cancel_payment(
    State(shared): State<Arc<Shared>>,
    Path(payment_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let received = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut inner = shared.lock();
    let answer = gate(&shared, &mut inner, &headers).and_then(|()| {
        let Value::Object(req) = &received else {
            return Err(invalid("요청 본문이 JSON 객체가 아닙니다."));
        };
        let request = CancelRequest::parse(req)?;
        let root = shared.root.clone();
        let p = inner
            .payments
            .get_mut(&payment_id)
            .ok_or_else(|| not_found(&payment_id))?;
        let answer = cancel(p, &request, &root)?;
        inner.cancels += 1;
        Ok(answer)
    });
    let path = format!("/payments/{payment_id}/cancel");
    record(&mut inner, "POST", path, None, received, answer)
}

/// `POST /payments/{paymentId}/cancel`'s body.
#[derive(Debug)]
struct CancelRequest {
    reason: String,
    amount: Option<i64>,
    tax_free: Option<i64>,
    vat: Option<i64>,
    guard: Option<i64>,
    refund_account: bool,
}

impl CancelRequest {
    fn parse(req: &Map<String, Value>) -> Result<CancelRequest, Refusal> {
        let int = |field: &str| match req.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_i64()
                .filter(|n| *n >= 0)
                .map(Some)
                .ok_or_else(|| invalid(format!("{field}은(는) 0 이상의 정수여야 합니다."))),
        };
        let reason = match req.get("reason") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            _ => return Err(invalid("reason은 필수입니다.")),
        };
        let amount = int("amount")?;
        if amount == Some(0) {
            return Err(invalid("amount는 0보다 커야 합니다."));
        }
        check_store(req.get("storeId").and_then(Value::as_str))?;
        let refund_account = match req.get("refundAccount") {
            None | Some(Value::Null) => false,
            Some(Value::Object(a)) => {
                for field in ["bank", "number", "holderName"] {
                    if a.get(field).and_then(Value::as_str).is_none_or(str::is_empty) {
                        return Err(invalid(format!("refundAccount.{field}은(는) 필수입니다.")));
                    }
                }
                true
            }
            Some(_) => return Err(invalid("refundAccount는 객체여야 합니다.")),
        };
        match req.get("requester").and_then(Value::as_str) {
            None | Some("CUSTOMER" | "ADMIN") => {}
            Some(other) => {
                return Err(invalid(format!(
                    "requester {other}는 CUSTOMER 또는 ADMIN이어야 합니다."
                )));
            }
        }
        Ok(CancelRequest {
            reason,
            amount,
            tax_free: int("taxFreeAmount")?,
            vat: int("vatAmount")?,
            guard: int("currentCancellableAmount")?,
            refund_account,
        })
    }
}

fn cancel(p: &mut Payment, req: &CancelRequest, root: &str) -> Result<Value, Refusal> {
    match p.status {
        Status::Paid | Status::PartialCancelled => {}
        Status::Cancelled => return Err(conflict("PAYMENT_ALREADY_CANCELLED", "이미 취소된 결제 건입니다.")),
        s => {
            let message = format!("결제가 완료되지 않은 결제 건입니다: {}", s.as_str());
            return Err(conflict("PAYMENT_NOT_PAID", message));
        }
    }
    let cancellable = p.total - p.cancelled;
    if req.guard.is_some_and(|g| g != cancellable) {
        return Err(conflict(
            "CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN",
            format!("취소 가능 잔액 검증에 실패했습니다: 잔액 {cancellable}"),
        ));
    }
    let amount = req.amount.unwrap_or(cancellable);
    if amount > cancellable {
        return Err(conflict(
            "CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT",
            format!("취소 금액이 취소 가능 금액({cancellable})을 초과합니다."),
        ));
    }
    let tax_free = req.tax_free.unwrap_or(0);
    if tax_free > p.tax_free - p.cancelled_tax_free {
        return Err(conflict(
            "CANCEL_TAX_FREE_AMOUNT_EXCEEDS_CANCELLABLE_TAX_FREE_AMOUNT",
            "취소 면세 금액이 취소 가능한 면세 금액을 초과합니다.",
        ));
    }
    // The last cancel takes what VAT is left, so rounding never leaves a won behind.
    let vat_left = p.vat - p.cancelled_vat;
    let vat = req.vat.unwrap_or(if amount == cancellable {
        vat_left
    } else {
        vat_of(amount - tax_free).min(vat_left)
    });
    if tax_free + vat > amount {
        return Err(conflict(
            "SUM_OF_PARTS_EXCEEDS_CANCEL_AMOUNT",
            "면세 금액 등 하위 항목들의 합이 전체 취소 금액을 초과합니다.",
        ));
    }
    // payments.md §3.4: a virtual account is refunded to an account the customer names.
    if p.paid_by_virtual_account() && !req.refund_account {
        return Err(invalid("가상계좌 결제 건의 환불에는 refundAccount가 필요합니다."));
    }
    let now = now();
    let cancellation = json!({
        "status": "SUCCEEDED",
        "id": Uuid::now_v7().to_string(),
        "pgCancellationId": format!("StdpayCancelINIpayTest{}", digits(12)),
        "totalAmount": amount,
        "taxFreeAmount": tax_free,
        "vatAmount": vat,
        "reason": req.reason,
        "cancelledAt": now,
        "requestedAt": now,
        "receiptUrl": format!("{root}/receipts/{}", p.transaction_id),
    });
    p.cancellations.push(cancellation.clone());
    p.cancelled += amount;
    p.cancelled_tax_free += tax_free;
    p.cancelled_vat += vat;
    p.cancelled_at = Some(now.clone());
    let fully = p.cancelled == p.total;
    p.set_status(
        if fully {
            Status::Cancelled
        } else {
            Status::PartialCancelled
        },
        &now,
    );
    if p.paid_by_virtual_account()
        && let Some(m) = p.method.as_mut()
    {
        m["refundStatus"] = json!("COMPLETED");
    }
    if fully && let Some(r) = p.cash_receipt.as_mut() {
        r["status"] = json!("CANCELLED");
        r["cancelledAt"] = json!(now);
    }
    Ok(json!({ "cancellation": cancellation }))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(portone: &FakePortOne, secret: &str, payment_id: &str) -> (u16, Value) {
        let res = super::super::http_client()
            .get(format!("{}/payments/{payment_id}", portone.base_url()))
            .header("Authorization", format!("PortOne {secret}"))
            .send()
            .await
            .expect("the fake answers");
        (res.status().as_u16(), res.json().await.expect("JSON"))
    }

    async fn cancel(portone: &FakePortOne, payment_id: &str, body: &Value) -> (u16, Value) {
        let res = super::super::http_client()
            .post(format!("{}/payments/{payment_id}/cancel", portone.base_url()))
            .header("Authorization", format!("PortOne {TEST_API_SECRET}"))
            .json(body)
            .send()
            .await
            .expect("the fake answers");
        (res.status().as_u16(), res.json().await.expect("JSON"))
    }

    async fn start() -> FakePortOne {
        FakePortOne::start(TEST_API_SECRET, TEST_WEBHOOK_SECRET).await
    }

    #[tokio::test]
    async fn a_missing_or_wrong_secret_is_401() {
        let portone = start().await;
        portone.pay("ord_01", "감귤", 1000, PortOneMethod::Card);
        let (status, body) = get(&portone, "wrong-secret", "ord_01").await;
        assert_eq!((status, body["type"].as_str()), (401, Some("UNAUTHORIZED")), "{body}");
        let res = super::super::http_client()
            .get(format!("{}/payments/ord_01", portone.base_url()))
            .header("Authorization", format!("Bearer {TEST_API_SECRET}"))
            .send()
            .await
            .expect("answer");
        assert_eq!(res.status().as_u16(), 401);
        assert_eq!(portone.calls().len(), 2);
    }

    #[tokio::test]
    async fn a_paid_payment_has_the_paid_shape() {
        let portone = start().await;
        let (status, missing) = get(&portone, TEST_API_SECRET, "ord_never").await;
        assert_eq!((status, missing["type"].as_str()), (404, Some("PAYMENT_NOT_FOUND")));

        portone.pay("ord 01/가", "제주 감귤 5kg", 23_000, PortOneMethod::Card);
        let (status, p) = get(&portone, TEST_API_SECRET, "ord%2001%2F%EA%B0%80").await;
        assert_eq!(status, 200, "{p}");
        assert_eq!(p["status"], "PAID");
        assert_eq!(p["id"], "ord 01/가");
        assert_eq!(p["storeId"], STORE_ID);
        assert_eq!(p["version"], "V2");
        assert_eq!(p["currency"], "KRW");
        assert_eq!(p["orderName"], "제주 감귤 5kg");
        assert_eq!(p["amount"]["total"], 23_000);
        assert_eq!(p["amount"]["paid"], 23_000);
        assert_eq!(p["amount"]["vat"], 2091);
        assert_eq!(p["amount"]["cancelled"], 0);
        assert_eq!(p["method"]["type"], "PaymentMethodCard");
        assert_eq!(p["channel"]["key"], CHANNEL_KEY);
        assert_eq!(p["channel"]["pgProvider"], "INICIS_V2");
        assert_eq!(p["channel"]["type"], "TEST");
        for field in ["paidAt", "requestedAt", "updatedAt", "statusChangedAt"] {
            let t = p[field].as_str().expect(field);
            assert!(
                t.ends_with('Z') && DateTime::parse_from_rfc3339(t).is_ok(),
                "{field}: {t}"
            );
        }
        assert!(p["pgTxId"].is_string() && p["receiptUrl"].is_string() && p["transactionId"].is_string());
        assert!(p.get("cancellations").is_none() && p.get("failure").is_none());

        portone.fail("ord_02", "감귤", 1000);
        let failed = portone.payment("ord_02").expect("payment");
        assert_eq!(failed["status"], "FAILED");
        assert!(failed["failure"]["pgCode"].is_string() && failed["failedAt"].is_string());

        portone.issue_virtual_account("ord_03", "감귤", 5000);
        let (_, va) = get(&portone, TEST_API_SECRET, "ord_03").await;
        assert_eq!(va["status"], "VIRTUAL_ACCOUNT_ISSUED");
        assert_eq!(va["method"]["type"], "PaymentMethodVirtualAccount");
        assert_eq!(va["method"]["bank"], "SHINHAN");
        assert_eq!(va["amount"]["paid"], 0);
        portone.deposit("ord_03");
        let (_, deposited) = get(&portone, TEST_API_SECRET, "ord_03").await;
        assert_eq!(deposited["status"], "PAID");
        assert_eq!(deposited["cashReceipt"]["status"], "ISSUED");
        assert_eq!(deposited["transactionId"], va["transactionId"]);
    }

    #[tokio::test]
    async fn a_partial_cancel_then_an_over_cancel_then_the_rest() {
        let portone = start().await;
        portone.pay("ord_01", "감귤", 10_000, PortOneMethod::EasyPay("KAKAOPAY"));
        let (status, body) = cancel(&portone, "ord_01", &json!({ "amount": 100 })).await;
        assert_eq!((status, body["type"].as_str()), (400, Some("INVALID_REQUEST")));

        let (status, part) = cancel(
            &portone,
            "ord_01",
            &json!({ "reason": "부분 환불", "amount": 3000, "currentCancellableAmount": 10_000 }),
        )
        .await;
        assert_eq!(status, 200, "{part}");
        let c = &part["cancellation"];
        assert_eq!(
            (c["status"].as_str(), c["totalAmount"].as_i64()),
            (Some("SUCCEEDED"), Some(3000))
        );
        assert_eq!(c["vatAmount"], 273);
        let p = portone.payment("ord_01").expect("payment");
        assert_eq!(p["status"], "PARTIAL_CANCELLED");
        assert_eq!(p["amount"]["cancelled"], 3000);
        assert_eq!(p["cancellations"].as_array().map(Vec::len), Some(1));

        let (status, stale) = cancel(
            &portone,
            "ord_01",
            &json!({ "reason": "x", "amount": 1000, "currentCancellableAmount": 10_000 }),
        )
        .await;
        assert_eq!(
            (status, stale["type"].as_str()),
            (409, Some("CANCELLABLE_AMOUNT_CONSISTENCY_BROKEN"))
        );
        let (status, over) = cancel(&portone, "ord_01", &json!({ "reason": "x", "amount": 8000 })).await;
        assert_eq!(
            (status, over["type"].as_str()),
            (409, Some("CANCEL_AMOUNT_EXCEEDS_CANCELLABLE_AMOUNT"))
        );

        let (status, rest) = cancel(&portone, "ord_01", &json!({ "reason": "전액 환불" })).await;
        assert_eq!(status, 200, "{rest}");
        assert_eq!(rest["cancellation"]["totalAmount"], 7000);
        assert_eq!(rest["cancellation"]["vatAmount"], 636);
        let p = portone.payment("ord_01").expect("payment");
        assert_eq!(p["status"], "CANCELLED");
        assert!(p["cancelledAt"].is_string());
        let (status, again) = cancel(&portone, "ord_01", &json!({ "reason": "x" })).await;
        assert_eq!(
            (status, again["type"].as_str()),
            (409, Some("PAYMENT_ALREADY_CANCELLED"))
        );
        assert_eq!(portone.cancel_count(), 2);

        portone.fail("ord_02", "감귤", 1000);
        let (status, unpaid) = cancel(&portone, "ord_02", &json!({ "reason": "x" })).await;
        assert_eq!((status, unpaid["type"].as_str()), (409, Some("PAYMENT_NOT_PAID")));
        let (status, _) = cancel(&portone, "ord_never", &json!({ "reason": "x" })).await;
        assert_eq!(status, 404);

        portone.fail_next(PortOneFailure::ServerError);
        let (status, down) = get(&portone, TEST_API_SECRET, "ord_01").await;
        assert_eq!((status, down["type"].as_str()), (502, Some("PG_PROVIDER")));
        assert!(down["pgCode"].is_string() && down["pgMessage"].is_string());
    }

    /// The receiver side of Standard Webhooks, written from the spec rather than from the
    /// sender's helper.
    fn verifies(headers: &[(String, String)], body: &[u8]) -> bool {
        let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let (Some(id), Some(ts), Some(sigs)) = (
            header("webhook-id"),
            header("webhook-timestamp"),
            header("webhook-signature"),
        ) else {
            return false;
        };
        let Ok(ts_num) = ts.parse::<i64>() else { return false };
        if (unix_now() - ts_num).abs() > 300 {
            return false;
        }
        let key = STANDARD
            .decode(TEST_WEBHOOK_SECRET.trim_start_matches("whsec_"))
            .expect("base64");
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).expect("key");
        mac.update(&[id.as_bytes(), b".", ts.as_bytes(), b".", body].concat());
        let expected = STANDARD.encode(mac.finalize().into_bytes());
        sigs.split(' ')
            .any(|s| s.strip_prefix("v1,") == Some(expected.as_str()))
    }

    #[tokio::test]
    async fn webhooks_are_signed_per_standard_webhooks() {
        let portone = start().await;
        portone.pay("ord_01", "감귤", 1000, PortOneMethod::Card);
        let (headers, body) = portone.webhook("Transaction.Paid", "ord_01", Signing::Valid);
        assert!(verifies(&headers, &body), "{headers:?}");
        let hook: Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(hook["type"], "Transaction.Paid");
        assert_eq!(hook["data"]["storeId"], STORE_ID);
        assert_eq!(hook["data"]["paymentId"], "ord_01");
        assert_eq!(
            hook["data"]["transactionId"],
            portone.payment("ord_01").expect("p")["transactionId"]
        );
        assert!(hook["data"].get("cancellationId").is_none());
        assert!(headers[0].1.starts_with("msg_"));
        assert!(String::from_utf8_lossy(&body).starts_with(r#"{"type":"Transaction.Paid","timestamp":""#));

        for signing in [
            Signing::Unsigned,
            Signing::WrongSecret,
            Signing::Tampered,
            Signing::Stale,
        ] {
            let (h, b) = portone.webhook("Transaction.Paid", "ord_01", signing);
            assert!(!verifies(&h, &b), "{signing:?} verified");
        }
        let (retry_headers, retry_body) = portone.webhook("Transaction.Paid", "ord_01", Signing::Valid);
        assert_eq!((&retry_headers[0], &retry_body), (&headers[0], &body));

        cancel(&portone, "ord_01", &json!({ "reason": "x" })).await;
        let (_, body) = portone.webhook("Transaction.Cancelled", "ord_01", Signing::Valid);
        let hook: Value = serde_json::from_slice(&body).expect("JSON");
        let p = portone.payment("ord_01").expect("p");
        assert_eq!(hook["data"]["cancellationId"], p["cancellations"][0]["id"]);
    }

    #[tokio::test]
    async fn send_webhook_posts_json_and_resend_replays_it() {
        type Seen = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;
        async fn receive(State(seen): State<Seen>, headers: HeaderMap, body: Bytes) -> StatusCode {
            seen.lock().expect("lock").push((headers, body));
            StatusCode::OK
        }
        let seen: Seen = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/webhooks/portone", listener.local_addr().expect("addr"));
        let app = Router::new()
            .route("/webhooks/portone", post(receive))
            .with_state(seen.clone());
        let server = tokio::spawn(async move { axum::serve(listener, app).await });

        let portone = start().await;
        portone.issue_virtual_account("ord_01", "감귤", 5000);
        let reply = portone
            .send_webhook(&url, "Transaction.VirtualAccountIssued", "ord_01", Signing::Valid)
            .await;
        assert_eq!(reply.status, 200);
        let (headers, body) = portone.webhook("Transaction.VirtualAccountIssued", "ord_01", Signing::Valid);
        assert_eq!(portone.resend(&url, &headers, &body).await.status, 200);
        server.abort();

        let seen = seen.lock().expect("lock");
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].0["content-type"], "application/json");
        assert_eq!(seen[0].0["webhook-id"], seen[1].0["webhook-id"]);
        assert_eq!(seen[0].1, seen[1].1);
        let pairs: Vec<(String, String)> = ["webhook-id", "webhook-timestamp", "webhook-signature"]
            .iter()
            .map(|k| ((*k).to_owned(), seen[0].0[*k].to_str().expect("ASCII").to_owned()))
            .collect();
        assert!(verifies(&pairs, &seen[0].1));
    }
}
