//! A fake Toss Payments Core API v1 for end-to-end tests (payments.md §1, §5): confirm,
//! look-ups by `paymentKey` and `orderId`, cancel and virtual-account issuance, answered as
//! Toss documents them (Payment JSON with every field, null method blocks, Korean `method`,
//! `+09:00` times; errors as `{code, message}` with the documented HTTP status), behind
//! `Authorization: Basic base64("{secretKey}:")` and an `Idempotency-Key` store.
//!
//! Tests play the customer and Toss's other side with hooks: [`FakeToss::authorize`] (the
//! payment window finished), [`FakeToss::deposit`] (money arrived in a virtual account),
//! [`FakeToss::cancel_in_console`], [`FakeToss::age_authorization`], and
//! [`FakeToss::fail_next`] for declines, 500s, answers lost to a client timeout and answers
//! that disagree with the order. [`FakeToss::send_webhook`] delivers webhook bodies with
//! Toss's transmission headers.
//!
//! Choices where the documents say nothing (marked \[U\] in payments.md):
//! - A confirm whose `amount` differs from the authorised one answers 400 `INVALID_REQUEST`.
//! - Idempotency is scoped to key + method + path (the body is not compared) and kept for the
//!   fake's lifetime; every answer is stored except 500s, so a retry after a server error
//!   executes. Concurrent duplicates execute once: the store is checked and filled under the
//!   same lock as the work.
//! - A virtual account before its deposit cancels only as a whole; after it, refunds to the
//!   `refundReceiveAccount` complete at once (`refundStatus: "COMPLETED"`).
//! - Toss's "two cancels within 1 s" rule (`FORBIDDEN_CONSECUTIVE_REQUEST`) is not played.
//!
//! ```no_run
//! # async fn demo() {
//! use jangteo_tests::fakes::toss::{FakeToss, TossMethod};
//! let toss = FakeToss::start("test_sk_jangteo").await;
//! // settings: payments.toss.base_url = toss.base_url(), secret_key = "test_sk_jangteo"
//! let payment_key = toss.authorize("ord_0001", "티셔츠 외 1건", 15_000, TossMethod::Card);
//! // … the storefront's success URL gets paymentKey, orderId, amount; the service confirms …
//! assert_eq!(toss.confirm_count(), 1);
//! assert_eq!(toss.payment(&payment_key).expect("known")["status"], "DONE");
//! # }
//! ```

use std::{
    collections::{HashMap, VecDeque},
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use base64::Engine as _;
use chrono::{DateTime, FixedOffset, NaiveDateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use super::{Reply, random_string, send_timed};

/// The API version Payment objects report (`version`).
pub const API_VERSION: &str = "2022-11-16";
/// The merchant id Payment objects report (`mId`, the one of Toss's test examples).
pub const MID: &str = "tosspayments";
/// A payment must be confirmed within this long after the window finished (payments.md §1.2).
pub const CONFIRM_WINDOW: Duration = Duration::from_mins(10);
/// The longest `Idempotency-Key` Toss takes (characters).
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 300;
/// A virtual account's deadline when neither `validHours` nor `dueDate` is sent: 7 days.
pub const DEFAULT_VALID_HOURS: i64 = 7 * 24;
/// The longest deadline Toss gives a virtual account: 30 days.
pub const MAX_VALID_HOURS: i64 = 30 * 24;
/// Toss re-sends a webhook up to this many times after the first delivery fails.
pub const WEBHOOK_RETRIES: u32 = 7;
/// Bank codes Toss issues virtual accounts at (payments.md §1.6), with their short names,
/// which older API versions took instead of codes.
pub const BANKS: &[(&str, &str)] = &[
    ("39", "경남"),
    ("34", "광주"),
    ("06", "국민"),
    ("03", "기업"),
    ("11", "농협"),
    ("31", "대구"),
    ("32", "부산"),
    ("45", "새마을"),
    ("07", "수협"),
    ("88", "신한"),
    ("20", "우리"),
    ("71", "우체국"),
    ("37", "전북"),
    ("89", "케이뱅크"),
    ("81", "하나"),
];

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const DIGITS: &[u8] = b"0123456789";

/// How the customer paid in the payment window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TossMethod {
    /// A card: `method: "카드"` and a `card` block once approved.
    Card,
    /// An easy pay by its Korean provider name (`"토스페이"`, `"네이버페이"`…), paid from its
    /// balance: `method: "간편결제"`, an `easyPay` block and no `card` block.
    EasyPay(&'static str),
}

/// A failure the fake plays once, on the next call it applies to; queue several by calling
/// [`FakeToss::fail_next`] again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TossFailure {
    /// The next confirm that would approve answers 403 `REJECT_CARD_COMPANY`; the payment
    /// becomes `ABORTED` with that `failure`.
    Decline,
    /// The next confirm, cancel or virtual-account issuance answers 500
    /// `FAILED_INTERNAL_SYSTEM_PROCESSING`; nothing changes and nothing is stored under its
    /// `Idempotency-Key`.
    ServerError,
    /// The next confirm, cancel or virtual-account issuance executes and its answer is
    /// stored, but sent only after this long (the client gives up first); a retry with the
    /// same `Idempotency-Key` gets the stored answer at once.
    Timeout(Duration),
    /// The next confirm that would approve does, but its answer reports this `totalAmount`
    /// and `balanceAmount` (the stored answer too; look-ups tell the truth).
    AnswerAmount(i64),
}

/// One request the fake answered.
#[derive(Clone, Debug)]
pub struct TossCall {
    /// `GET` or `POST`.
    pub method: String,
    /// The request path (`/v1/payments/confirm`…).
    pub path: String,
    /// The `Idempotency-Key` header, if any.
    pub idempotency_key: Option<String>,
    /// The JSON body (`Null` when there was none or it was not JSON).
    pub body: Value,
    /// The HTTP status answered.
    pub status: u16,
    /// Whether the answer was a stored one, replayed for a repeated `Idempotency-Key`.
    pub replayed: bool,
}

/// One webhook delivery the fake made.
#[derive(Clone, Debug)]
pub struct TossWebhook {
    /// Where it was POSTed.
    pub url: String,
    /// `tosspayments-webhook-transmission-id` (`whtrans_…`), the same on every retry.
    pub transmission_id: String,
    /// `tosspayments-webhook-transmission-retried-count`: 0 on the first delivery.
    pub retried_count: u32,
    /// The body sent.
    pub body: Value,
    /// The receiver's HTTP status.
    pub status: u16,
}

/// A status, JSON answer pair.
#[derive(Clone, Debug)]
struct Answer {
    status: u16,
    body: Value,
}

fn error(status: u16, code: &str, message: &str) -> Answer {
    Answer {
        status,
        body: json!({ "code": code, "message": message }),
    }
}

fn invalid(message: &str) -> Answer {
    error(400, "INVALID_REQUEST", message)
}

fn session_gone() -> Answer {
    error(
        404,
        "NOT_FOUND_PAYMENT_SESSION",
        "결제 시간이 만료되어 결제 진행 데이터가 존재하지 않습니다.",
    )
}

fn not_found() -> Answer {
    error(404, "NOT_FOUND_PAYMENT", "존재하지 않는 결제 입니다.")
}

fn ok(body: Value) -> Answer {
    Answer { status: 200, body }
}

fn kst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).expect("+09:00 is an offset")
}

fn now_kst() -> DateTime<FixedOffset> {
    Utc::now().with_timezone(&kst())
}

/// `2024-01-01T10:00:20+09:00`, as Toss writes Payment times.
fn iso(t: DateTime<FixedOffset>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// `2024-01-01T10:00:20.123456`: a webhook's `createdAt` (Korean time, no zone).
fn webhook_time(t: DateTime<FixedOffset>) -> String {
    t.naive_local().format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// VAT inside a VAT-included amount: round(x / 11), as `Won::vat_included`.
fn vat_of(taxable: i64) -> i64 {
    taxable / 11 + i64::from(taxable % 11 >= 6)
}

/// `9FF15E1A29D0E77C218F57262BFA4986`-like.
fn transaction_key() -> String {
    random_string(b"0123456789ABCDEF", 32)
}

fn str_of<'a>(body: &'a Value, field: &str) -> Option<&'a str> {
    body.get(field).and_then(Value::as_str).filter(|s| !s.trim().is_empty())
}

/// A present, non-null member.
fn given<'a>(body: &'a Value, field: &str) -> Option<&'a Value> {
    body.get(field).filter(|v| !v.is_null())
}

fn digits_only(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Toss's `orderId` rule: 6–64 of `[A-Za-z0-9_-]`.
fn valid_order_id(s: &str) -> bool {
    (6..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Removes and returns the first queued failure `applies` accepts.
fn take(failures: &mut VecDeque<TossFailure>, applies: impl Fn(&TossFailure) -> bool) -> Option<TossFailure> {
    let i = failures.iter().position(applies)?;
    failures.remove(i)
}

#[derive(Clone, Debug)]
struct Account {
    number: String,
    bank_code: String,
    customer_name: String,
    due_date: DateTime<FixedOffset>,
    refund_status: &'static str,
    refund_account: Value,
    /// `cashReceipt` as asked at issuance: (type, registration number).
    cash_receipt: Option<(String, String)>,
}

#[derive(Clone, Debug)]
enum Paid {
    Card { approve_no: Option<String> },
    EasyPay(&'static str),
    VirtualAccount(Box<Account>),
}

#[derive(Clone, Debug)]
struct Payment {
    key: String,
    order_id: String,
    order_name: String,
    paid: Paid,
    status: &'static str,
    requested_at: DateTime<FixedOffset>,
    approved_at: Option<DateTime<FixedOffset>>,
    total: i64,
    balance: i64,
    /// The tax-free part of the balance.
    tax_free: i64,
    last_transaction_key: Option<String>,
    cancels: Vec<Value>,
    failure: Option<(&'static str, &'static str)>,
    secret: Option<String>,
    cash_receipt: Option<Value>,
    cash_receipts: Vec<Value>,
}

impl Payment {
    fn account(&self) -> Option<&Account> {
        match &self.paid {
            Paid::VirtualAccount(a) => Some(a),
            _ => None,
        }
    }

    fn method(&self) -> &'static str {
        match self.paid {
            Paid::Card { .. } => "카드",
            Paid::EasyPay(_) => "간편결제",
            Paid::VirtualAccount(_) => "가상계좌",
        }
    }

    /// The Payment object as Toss answers it: every field, null where it does not apply.
    fn json(&self) -> Value {
        let taxable = self.balance - self.tax_free;
        let vat = vat_of(taxable);
        let approved = self.approved_at.is_some();
        let card = match &self.paid {
            Paid::Card { approve_no } if approved => json!({
                "amount": self.total,
                "issuerCode": "41",
                "acquirerCode": "41",
                "number": "43301234****123*",
                "installmentPlanMonths": 0,
                "approveNo": approve_no,
                "useCardPoint": false,
                "cardType": "신용",
                "ownerType": "개인",
                "acquireStatus": if self.status == "CANCELED" { "CANCELED" } else { "READY" },
                "isInterestFree": false,
                "interestPayer": null,
            }),
            _ => Value::Null,
        };
        let easy_pay = match self.paid {
            Paid::EasyPay(provider) => json!({ "provider": provider, "amount": self.total, "discountAmount": 0 }),
            _ => Value::Null,
        };
        let account = self.account().map_or(Value::Null, |a| {
            json!({
                "accountType": "일반",
                "accountNumber": a.number,
                "bankCode": a.bank_code,
                "customerName": a.customer_name,
                "dueDate": iso(a.due_date),
                "refundStatus": a.refund_status,
                "expired": false,
                "settlementStatus": "INCOMPLETED",
                "refundReceiveAccount": a.refund_account,
            })
        });
        let receipt = match (&self.last_transaction_key, approved) {
            (Some(_), true) => json!({
                "url": format!("https://dashboard.tosspayments.com/receipt/redirection?transactionId={}&ref=PX", self.key)
            }),
            _ => Value::Null,
        };
        json!({
            "mId": MID,
            "version": API_VERSION,
            "paymentKey": self.key,
            "orderId": self.order_id,
            "orderName": self.order_name,
            "lastTransactionKey": self.last_transaction_key,
            "type": "NORMAL",
            "status": self.status,
            "method": self.method(),
            "currency": "KRW",
            "country": "KR",
            "totalAmount": self.total,
            "balanceAmount": self.balance,
            "suppliedAmount": taxable - vat,
            "vat": vat,
            "taxFreeAmount": self.tax_free,
            "taxExemptionAmount": 0,
            "requestedAt": iso(self.requested_at),
            "approvedAt": self.approved_at.map(iso),
            "useEscrow": false,
            "cultureExpense": false,
            "isPartialCancelable": true,
            "card": card,
            "virtualAccount": account,
            "transfer": null,
            "mobilePhone": null,
            "giftCertificate": null,
            "easyPay": easy_pay,
            "cashReceipt": self.cash_receipt,
            "cashReceipts": if self.cash_receipts.is_empty() { Value::Null } else { json!(self.cash_receipts) },
            "discount": null,
            "cancels": if self.cancels.is_empty() { Value::Null } else { json!(self.cancels) },
            "secret": self.secret,
            "failure": self.failure.map(|(code, message)| json!({ "code": code, "message": message })),
            "receipt": receipt,
            "checkout": { "url": format!("https://api.tosspayments.com/v1/payments/{}/checkout", self.key) },
            "metadata": null,
        })
    }

    /// Cancels `amount` (of which `tax_free` is tax-free) now.
    fn apply_cancel(&mut self, amount: i64, tax_free: i64, reason: &str) {
        let now = now_kst();
        self.balance -= amount;
        self.tax_free -= tax_free;
        let tx = transaction_key();
        self.cancels.push(json!({
            "transactionKey": tx,
            "cancelReason": reason,
            "cancelAmount": amount,
            "taxFreeAmount": tax_free,
            "taxExemptionAmount": 0,
            "refundableAmount": self.balance,
            "easyPayDiscountAmount": 0,
            "canceledAt": iso(now),
            "receiptKey": null,
            "cancelStatus": "DONE",
            "cancelRequestId": null,
        }));
        if let Some(receipt) = &self.cash_receipt {
            // The cash receipt is cancelled for the same amount (its history shows it).
            self.cash_receipts.push(json!({
                "receiptKey": receipt["receiptKey"],
                "issueNumber": random_string(DIGITS, 9),
                "receiptStatus": "COMPLETED",
                "transactionType": "CANCEL",
                "amount": amount,
                "taxFreeAmount": tax_free,
                "requestedAt": iso(now),
                "failure": null,
            }));
        }
        self.status = if self.balance == 0 {
            "CANCELED"
        } else {
            "PARTIAL_CANCELED"
        };
        self.last_transaction_key = Some(tx);
    }
}

#[derive(Clone, Copy, Debug)]
enum Route<'a> {
    Payment(&'a str),
    ByOrder(&'a str),
    Confirm,
    Cancel(&'a str),
    IssueVirtualAccount,
}

impl<'a> Route<'a> {
    fn parse(method: &Method, path: &'a str) -> Option<Route<'a>> {
        let segments: Vec<&str> = path.strip_prefix("/v1/")?.split('/').collect();
        match (method.as_str(), segments.as_slice()) {
            ("GET", ["payments", "orders", order_id]) => Some(Route::ByOrder(order_id)),
            ("GET", ["payments", key]) => Some(Route::Payment(key)),
            ("POST", ["payments", "confirm"]) => Some(Route::Confirm),
            ("POST", ["payments", key, "cancel"]) => Some(Route::Cancel(key)),
            ("POST", ["virtual-accounts"]) => Some(Route::IssueVirtualAccount),
            _ => None,
        }
    }
}

struct Served {
    answer: Answer,
    replayed: bool,
    delay: Option<Duration>,
}

impl Served {
    fn fresh(answer: Answer) -> Served {
        Served {
            answer,
            replayed: false,
            delay: None,
        }
    }
}

#[derive(Default)]
struct Inner {
    payments: HashMap<String, Payment>,
    /// orderId → the latest paymentKey for it.
    by_order: HashMap<String, String>,
    /// (Idempotency-Key, method, path) → the first answer.
    stored: HashMap<(String, String, String), Answer>,
    failures: VecDeque<TossFailure>,
    calls: Vec<TossCall>,
    webhooks: Vec<TossWebhook>,
    confirms: usize,
    cancels: usize,
}

impl Inner {
    /// Answers one request; the caller holds the lock throughout, so a repeated key can
    /// never execute twice.
    fn serve(
        &mut self,
        authorized: bool,
        method: &Method,
        path: &str,
        key: Option<&str>,
        body: Option<&Value>,
    ) -> Served {
        if !authorized {
            return Served::fresh(error(
                401,
                "UNAUTHORIZED_KEY",
                "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.",
            ));
        }
        let Some(route) = Route::parse(method, path) else {
            return Served::fresh(error(404, "NOT_FOUND", "존재하지 않는 API 입니다."));
        };
        match route {
            Route::Payment(payment_key) => {
                return Served::fresh(self.payments.get(payment_key).map_or_else(not_found, |p| ok(p.json())));
            }
            Route::ByOrder(order_id) => {
                let found = self.by_order.get(order_id).and_then(|k| self.payments.get(k));
                return Served::fresh(found.map_or_else(not_found, |p| ok(p.json())));
            }
            Route::Confirm | Route::Cancel(_) | Route::IssueVirtualAccount => {}
        }
        if let Some(k) = key {
            if k.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS {
                return Served::fresh(invalid("Idempotency-Key는 300자 이하여야 합니다."));
            }
            if let Some(first) = self.stored.get(&(k.to_owned(), method.to_string(), path.to_owned())) {
                return Served {
                    answer: first.clone(),
                    replayed: true,
                    delay: None,
                };
            }
        }
        let injected = take(&mut self.failures, |f| {
            matches!(f, TossFailure::ServerError | TossFailure::Timeout(_))
        });
        if injected == Some(TossFailure::ServerError) {
            return Served::fresh(error(
                500,
                "FAILED_INTERNAL_SYSTEM_PROCESSING",
                "내부 시스템 처리 작업이 실패했습니다. 잠시 후 다시 시도해주세요.",
            ));
        }
        let answer = match (body, route) {
            (None, _) => invalid("요청 본문이 올바른 JSON이 아닙니다."),
            (Some(b), Route::Confirm) => self.confirm(b),
            (Some(b), Route::Cancel(payment_key)) => self.cancel(payment_key, b),
            (Some(b), _) => self.issue_virtual_account(b),
        };
        if let Some(k) = key {
            self.stored
                .insert((k.to_owned(), method.to_string(), path.to_owned()), answer.clone());
        }
        let delay = match injected {
            Some(TossFailure::Timeout(d)) => Some(d),
            _ => None,
        };
        Served {
            answer,
            replayed: false,
            delay,
        }
    }

    /// `POST /v1/payments/confirm`.
    fn confirm(&mut self, body: &Value) -> Answer {
        let (Some(payment_key), Some(order_id), Some(amount)) = (
            str_of(body, "paymentKey"),
            str_of(body, "orderId"),
            body.get("amount").and_then(Value::as_i64),
        ) else {
            return invalid("paymentKey, orderId, amount는 필수 파라미터입니다.");
        };
        // A virtual account was issued over the API: there is no window session to confirm.
        let Some(p) = self.payments.get_mut(payment_key).filter(|p| p.account().is_none()) else {
            return session_gone();
        };
        if p.order_id != order_id {
            return invalid("주문번호(orderId)가 결제 정보와 일치하지 않습니다.");
        }
        match p.status {
            "IN_PROGRESS" => {}
            "EXPIRED" => return session_gone(),
            _ => return error(400, "ALREADY_PROCESSED_PAYMENT", "이미 처리된 결제 입니다."),
        }
        let now = now_kst();
        if now - p.requested_at > TimeDelta::from_std(CONFIRM_WINDOW).expect("10 minutes fit") {
            p.status = "EXPIRED";
            return session_gone();
        }
        if amount != p.total {
            // [U] Toss documents no code of its own for this.
            return invalid("결제 금액이 결제창에서 인증된 금액과 일치하지 않습니다.");
        }
        if take(&mut self.failures, |f| *f == TossFailure::Decline).is_some() {
            let (code, message) = (
                "REJECT_CARD_COMPANY",
                "카드사에서 결제를 거절했습니다. 다른 카드로 결제해 주세요.",
            );
            p.status = "ABORTED";
            p.failure = Some((code, message));
            return error(403, code, message);
        }
        p.status = "DONE";
        p.approved_at = Some(now);
        p.last_transaction_key = Some(transaction_key());
        if let Paid::Card { approve_no } = &mut p.paid {
            *approve_no = Some(random_string(DIGITS, 8));
        }
        self.confirms += 1;
        let mut answer = p.json();
        if let Some(TossFailure::AnswerAmount(n)) =
            take(&mut self.failures, |f| matches!(f, TossFailure::AnswerAmount(_)))
        {
            answer["totalAmount"] = n.into();
            answer["balanceAmount"] = n.into();
        }
        ok(answer)
    }

    /// `POST /v1/payments/{paymentKey}/cancel`.
    fn cancel(&mut self, payment_key: &str, body: &Value) -> Answer {
        let Some(p) = self.payments.get_mut(payment_key) else {
            return not_found();
        };
        let Some(reason) = str_of(body, "cancelReason") else {
            return invalid("취소 사유(cancelReason)는 필수 파라미터입니다.");
        };
        if reason.chars().count() > 200 {
            return invalid("취소 사유(cancelReason)는 200자 이하여야 합니다.");
        }
        match p.status {
            "DONE" | "PARTIAL_CANCELED" | "WAITING_FOR_DEPOSIT" => {}
            "CANCELED" => return error(400, "ALREADY_CANCELED_PAYMENT", "이미 취소된 결제 입니다."),
            _ => return error(403, "NOT_CANCELABLE_PAYMENT", "취소 할 수 없는 결제 입니다."),
        }
        let amount = match given(body, "cancelAmount") {
            None => p.balance,
            Some(v) => match v.as_i64().filter(|a| *a > 0) {
                Some(a) => a,
                None => return invalid("취소 금액(cancelAmount)이 올바르지 않습니다."),
            },
        };
        let Some(tax_free) = given(body, "taxFreeAmount")
            .map_or(Some(0), Value::as_i64)
            .filter(|t| *t >= 0)
        else {
            return invalid("면세 금액(taxFreeAmount)이 올바르지 않습니다.");
        };
        let not_cancelable = error(403, "NOT_CANCELABLE_AMOUNT", "취소 할 수 없는 금액 입니다.");
        if amount > p.balance || tax_free > amount || tax_free > p.tax_free {
            return not_cancelable;
        }
        if let Some(refundable) = given(body, "refundableAmount")
            && refundable.as_i64() != Some(p.balance)
        {
            // [U] code name from third-party copies of the error table.
            return error(400, "NOT_MATCHES_REFUNDABLE_AMOUNT", "잔액 결과가 일치하지 않습니다.");
        }
        let waiting = p.status == "WAITING_FOR_DEPOSIT";
        if let Paid::VirtualAccount(account) = &mut p.paid {
            if waiting {
                // [U] Before the deposit the account is closed as a whole.
                if amount != p.balance {
                    return not_cancelable;
                }
            } else {
                let Some(refund) = refund_account(given(body, "refundReceiveAccount")) else {
                    return error(
                        400,
                        "INVALID_REFUND_ACCOUNT_INFO",
                        "환불 계좌 정보(refundReceiveAccount)가 올바르지 않습니다.",
                    );
                };
                account.refund_account = refund;
                account.refund_status = "COMPLETED";
            }
        }
        p.apply_cancel(amount, tax_free, reason);
        self.cancels += 1;
        ok(p.json())
    }

    /// `POST /v1/virtual-accounts`.
    fn issue_virtual_account(&mut self, body: &Value) -> Answer {
        let (Some(amount), Some(order_id), Some(order_name), Some(customer_name), Some(bank)) = (
            body.get("amount").and_then(Value::as_i64),
            str_of(body, "orderId"),
            str_of(body, "orderName"),
            str_of(body, "customerName"),
            str_of(body, "bank"),
        ) else {
            return invalid("amount, orderId, orderName, customerName, bank는 필수 파라미터입니다.");
        };
        if amount <= 0 || !valid_order_id(order_id) || order_name.chars().count() > 100 {
            return invalid("amount, orderId 또는 orderName이 올바르지 않습니다.");
        }
        let Some(bank_code) = BANKS
            .iter()
            .find(|(code, name)| bank == *code || bank == *name)
            .map(|b| b.0)
        else {
            return invalid("가상계좌를 발급할 수 없는 은행입니다.");
        };
        let Some(tax_free) = given(body, "taxFreeAmount")
            .map_or(Some(0), Value::as_i64)
            .filter(|t| (0..=amount).contains(t))
        else {
            return invalid("면세 금액(taxFreeAmount)이 올바르지 않습니다.");
        };
        let now = now_kst();
        let due_date = match (given(body, "validHours"), given(body, "dueDate")) {
            (Some(_), Some(_)) => {
                return error(
                    400,
                    "INVALID_VALID_HOURS_WITH_DUE_DATE_AND_SINGLE",
                    "입금 유효 시간(validHours)과 입금 기한(dueDate)은 함께 보낼 수 없습니다.",
                );
            }
            (Some(hours), None) => match hours.as_i64().filter(|h| (1..=MAX_VALID_HOURS).contains(h)) {
                Some(h) => now + TimeDelta::hours(h),
                None => return invalid("입금 유효 시간(validHours)은 1시간에서 720시간 사이여야 합니다."),
            },
            (None, Some(due)) => match due.as_str().and_then(parse_due_date) {
                Some(d) if d > now && d - now <= TimeDelta::hours(MAX_VALID_HOURS) => d,
                _ => return invalid("입금 기한(dueDate)이 올바르지 않습니다."),
            },
            (None, None) => now + TimeDelta::hours(DEFAULT_VALID_HOURS),
        };
        let cash_receipt = match given(body, "cashReceipt") {
            None => None,
            Some(r) => match (str_of(r, "type"), str_of(r, "registrationNumber")) {
                (Some(kind @ ("소득공제" | "지출증빙")), Some(number)) if digits_only(number) => {
                    Some((kind.to_owned(), number.to_owned()))
                }
                _ => return invalid("현금영수증 정보(cashReceipt)가 올바르지 않습니다."),
            },
        };
        if self.by_order.contains_key(order_id) {
            return error(
                400,
                "DUPLICATED_ORDER_ID",
                "이미 승인 및 취소가 진행된 중복된 주문번호 입니다. 다른 주문번호로 진행해주세요.",
            );
        }
        let account = Account {
            number: random_string(DIGITS, 14),
            bank_code: bank_code.to_owned(),
            customer_name: customer_name.to_owned(),
            due_date: due_date.with_timezone(&kst()),
            refund_status: "NONE",
            refund_account: Value::Null,
            cash_receipt,
        };
        let p = Payment {
            key: random_string(ALNUM, 50),
            order_id: order_id.to_owned(),
            order_name: order_name.to_owned(),
            paid: Paid::VirtualAccount(Box::new(account)),
            status: "WAITING_FOR_DEPOSIT",
            requested_at: now,
            approved_at: None,
            total: amount,
            balance: amount,
            tax_free,
            last_transaction_key: None,
            cancels: Vec::new(),
            failure: None,
            secret: Some(format!("ps_{}", random_string(ALNUM, 28))),
            cash_receipt: None,
            cash_receipts: Vec::new(),
        };
        let answer = p.json();
        self.by_order.insert(p.order_id.clone(), p.key.clone());
        self.payments.insert(p.key.clone(), p);
        ok(answer)
    }
}

/// A `dueDate`: ISO 8601 with a zone, or without one in Korean time.
fn parse_due_date(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok().or_else(|| {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
            .ok()?
            .and_local_timezone(kst())
            .single()
    })
}

/// `refundReceiveAccount` as Payment's `virtualAccount.refundReceiveAccount`, if it is
/// complete and its `accountNumber` is digits only.
fn refund_account(given: Option<&Value>) -> Option<Value> {
    let a = given?;
    let (bank, number, holder) = (
        str_of(a, "bank")?,
        str_of(a, "accountNumber")?,
        str_of(a, "holderName")?,
    );
    digits_only(number).then(|| json!({ "bankCode": bank, "accountNumber": number, "holderName": holder }))
}

struct Shared {
    /// `{secretKey}:`, what the Basic credentials must decode to.
    credentials: String,
    root: String,
    inner: Mutex<Inner>,
    client: reqwest::Client,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking test thread must not hide the record from the others.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let Some((scheme, encoded)) = value.split_once(' ') else {
            return false;
        };
        scheme.eq_ignore_ascii_case("basic")
            && base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .is_ok_and(|d| d == self.credentials.as_bytes())
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let json: Option<Value> = serde_json::from_slice(&body).ok();
    let authorized = shared.authorized(&headers);
    let served = {
        let mut inner = shared.lock();
        let served = inner.serve(authorized, &method, &path, key.as_deref(), json.as_ref());
        inner.calls.push(TossCall {
            method: method.to_string(),
            path,
            idempotency_key: key,
            body: json.unwrap_or(Value::Null),
            status: served.answer.status,
            replayed: served.replayed,
        });
        served
    };
    if let Some(delay) = served.delay {
        // The work is done and stored; only the answer is late.
        tokio::time::sleep(delay).await;
    }
    let status = StatusCode::from_u16(served.answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        served.answer.body.to_string(),
    )
        .into_response()
}

/// Stops the server when the last handle goes.
struct Server(JoinHandle<()>);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A fake Toss Payments API on `127.0.0.1`; clones share it, and it stops when the last
/// one is dropped.
#[derive(Clone)]
pub struct FakeToss {
    shared: Arc<Shared>,
    _server: Arc<Server>,
}

impl FakeToss {
    /// Starts the fake on a random port; only `secret_key` authenticates (as
    /// `Basic base64("{secret_key}:")`), anything else answers 401 `UNAUTHORIZED_KEY`.
    pub async fn start(secret_key: &str) -> FakeToss {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared {
            credentials: format!("{secret_key}:"),
            root: format!("http://{addr}"),
            inner: Mutex::new(Inner::default()),
            client: super::http_client(),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeToss {
            shared,
            _server: Arc::new(Server(server)),
        }
    }

    /// `http://127.0.0.1:port`: the service's `payments.toss.base_url`.
    pub fn base_url(&self) -> String {
        self.shared.root.clone()
    }

    /// The customer finished the payment window for `order_id` and `amount`: a payment
    /// `IN_PROGRESS` is created (`requestedAt` now), and its `paymentKey` returned, as Toss
    /// puts it on the success URL. Panics on an `orderId` Toss refuses (6–64 of
    /// `[A-Za-z0-9_-]`, not already paid or issued) or an amount below 1.
    pub fn authorize(&self, order_id: &str, order_name: &str, amount: i64, method: TossMethod) -> String {
        self.authorize_with_tax_free(order_id, order_name, amount, 0, method)
    }

    /// [`FakeToss::authorize`] for a payment whose window was opened with `taxFreeAmount`
    /// (the SDK's `requestPayment` parameter): cancels may then carry that much tax-free.
    pub fn authorize_with_tax_free(
        &self,
        order_id: &str,
        order_name: &str,
        amount: i64,
        tax_free: i64,
        method: TossMethod,
    ) -> String {
        assert!((0..=amount).contains(&tax_free), "taxFreeAmount {tax_free}");
        assert!(
            valid_order_id(order_id),
            "Toss takes 6–64 of [A-Za-z0-9_-] as orderId: {order_id:?}"
        );
        assert!(amount > 0, "amount {amount}");
        let mut inner = self.shared.lock();
        if let Some(p) = inner.by_order.get(order_id).and_then(|k| inner.payments.get(k)) {
            // A window can be reopened after a failure, never after money moved.
            assert!(
                matches!(p.status, "IN_PROGRESS" | "ABORTED" | "EXPIRED"),
                "orderId {order_id} is already {}: Toss answers DUPLICATED_ORDER_ID",
                p.status
            );
        }
        let paid = match method {
            TossMethod::Card => Paid::Card { approve_no: None },
            TossMethod::EasyPay(provider) => Paid::EasyPay(provider),
        };
        let key = random_string(ALNUM, 50);
        let p = Payment {
            key: key.clone(),
            order_id: order_id.to_owned(),
            order_name: order_name.to_owned(),
            paid,
            status: "IN_PROGRESS",
            requested_at: now_kst(),
            approved_at: None,
            total: amount,
            balance: amount,
            tax_free,
            last_transaction_key: None,
            cancels: Vec::new(),
            failure: None,
            secret: None,
            cash_receipt: None,
            cash_receipts: Vec::new(),
        };
        inner.by_order.insert(order_id.to_owned(), key.clone());
        inner.payments.insert(key.clone(), p);
        key
    }

    /// Moves the authorisation of `payment_key` `minutes` into the past (`requestedAt`):
    /// past [`CONFIRM_WINDOW`] a confirm answers 404 `NOT_FOUND_PAYMENT_SESSION` and the
    /// payment becomes `EXPIRED`. Panics on an unknown key.
    pub fn age_authorization(&self, payment_key: &str, minutes: i64) {
        let mut inner = self.shared.lock();
        let p = inner.payments.get_mut(payment_key).expect("a known paymentKey");
        p.requested_at -= TimeDelta::minutes(minutes);
    }

    /// Plays `failure` once, on the next call it applies to (see [`TossFailure`]).
    pub fn fail_next(&self, failure: TossFailure) {
        self.shared.lock().failures.push_back(failure);
    }

    /// Confirms that approved money (not replays, not errors, not declines).
    pub fn confirm_count(&self) -> usize {
        self.shared.lock().confirms
    }

    /// Cancels over the API that executed (not replays, not errors, not console cancels).
    pub fn cancel_count(&self) -> usize {
        self.shared.lock().cancels
    }

    /// Every request so far, in arrival order.
    pub fn calls(&self) -> Vec<TossCall> {
        self.shared.lock().calls.clone()
    }

    /// The Payment JSON as `GET /v1/payments/{paymentKey}` answers it now.
    pub fn payment(&self, payment_key: &str) -> Option<Value> {
        self.shared.lock().payments.get(payment_key).map(Payment::json)
    }

    /// The latest `paymentKey` for `order_id` (authorised or issued).
    pub fn payment_key_of(&self, order_id: &str) -> Option<String> {
        self.shared.lock().by_order.get(order_id).cloned()
    }

    /// The virtual account of `order_id` got its deposit: the payment becomes `DONE`
    /// (`approvedAt`, a new `lastTransactionKey`, `cashReceipt` when one was asked at
    /// issuance). Returns the flat `DEPOSIT_CALLBACK` body Toss would POST:
    /// `{createdAt, secret, status: "DONE", transactionKey, orderId}`. Panics unless the
    /// order has a virtual account waiting for its deposit.
    pub fn deposit(&self, order_id: &str) -> Value {
        let mut inner = self.shared.lock();
        let key = inner.by_order.get(order_id).cloned().expect("a known orderId");
        let p = inner.payments.get_mut(&key).expect("the order's payment");
        assert_eq!(
            p.status, "WAITING_FOR_DEPOSIT",
            "{order_id} is not waiting for a deposit"
        );
        let now = now_kst();
        let tx = transaction_key();
        p.status = "DONE";
        p.approved_at = Some(now);
        p.last_transaction_key = Some(tx.clone());
        let asked = p.account().and_then(|a| a.cash_receipt.clone());
        if let Some((kind, _)) = asked {
            let receipt_key = random_string(ALNUM, 30);
            let issue_number = random_string(DIGITS, 9);
            p.cash_receipt = Some(json!({
                "type": kind,
                "receiptKey": receipt_key,
                "issueNumber": issue_number,
                "receiptUrl": format!("https://dashboard.tosspayments.com/receipt/mids/tosspayments/cash-receipts/{receipt_key}"),
                "amount": p.total,
                "taxFreeAmount": p.tax_free,
            }));
            p.cash_receipts.push(json!({
                "receiptKey": receipt_key,
                "issueNumber": issue_number,
                "receiptStatus": "COMPLETED",
                "transactionType": "CONFIRM",
                "amount": p.total,
                "taxFreeAmount": p.tax_free,
                "requestedAt": iso(now),
                "failure": null,
            }));
        }
        json!({
            "createdAt": webhook_time(now),
            "secret": p.secret,
            "status": "DONE",
            "transactionKey": tx,
            "orderId": order_id,
        })
    }

    /// The `PAYMENT_STATUS_CHANGED` body for the payment as it is now:
    /// `{eventType, createdAt (Korean time, no zone, 6 decimals), data: Payment}`. Panics on
    /// an unknown key.
    pub fn status_changed(&self, payment_key: &str) -> Value {
        let data = self.payment(payment_key).expect("a known paymentKey");
        json!({
            "eventType": "PAYMENT_STATUS_CHANGED",
            "createdAt": webhook_time(now_kst()),
            "data": data,
        })
    }

    /// Staff cancelled the payment's whole balance in the Toss console (`CANCELED`, balance
    /// 0, a `cancels[]` entry); out of band, so [`FakeToss::cancel_count`] does not count it.
    /// Panics unless the payment was approved or is waiting for a deposit.
    pub fn cancel_in_console(&self, payment_key: &str) {
        let mut inner = self.shared.lock();
        let p = inner.payments.get_mut(payment_key).expect("a known paymentKey");
        assert!(
            matches!(p.status, "DONE" | "PARTIAL_CANCELED" | "WAITING_FOR_DEPOSIT"),
            "cannot cancel a payment that is {}",
            p.status
        );
        let (amount, tax_free) = (p.balance, p.tax_free);
        p.apply_cancel(amount, tax_free, "관리자 취소");
    }

    /// POSTs a webhook `body` to `url` as Toss does: JSON, with
    /// `tosspayments-webhook-transmission-time`, `…-retried-count: 0` and a fresh
    /// `…-transmission-id` (`whtrans_…`).
    pub async fn send_webhook(&self, url: &str, body: &Value) -> Reply {
        let id = format!("whtrans_{}", random_string(b"abcdefghijklmnopqrstuvwxyz0123456789", 26));
        self.transmit(url, body, id, 0).await
    }

    /// Sends `body` to `url` again as Toss's retry of its earlier delivery there: the same
    /// transmission id, the retried count one up. Panics if it was never sent.
    pub async fn retry_webhook(&self, url: &str, body: &Value) -> Reply {
        let (id, count) = {
            let inner = self.shared.lock();
            let earlier: Vec<&TossWebhook> = inner
                .webhooks
                .iter()
                .filter(|w| w.url == url && w.body == *body)
                .collect();
            let first = earlier.first().expect("a webhook sent to this url before");
            (first.transmission_id.clone(), earlier.len())
        };
        let count = u32::try_from(count).expect("few retries");
        self.transmit(url, body, id, count).await
    }

    /// Delivers `body` as Toss does, with its schedule compressed to nothing: the first
    /// delivery, then up to [`WEBHOOK_RETRIES`] retries while the answer is not HTTP 200.
    /// Returns every answer.
    pub async fn deliver_webhook(&self, url: &str, body: &Value) -> Vec<Reply> {
        let mut replies = vec![self.send_webhook(url, body).await];
        while replies.last().is_some_and(|r| r.status != 200) && replies.len() <= WEBHOOK_RETRIES as usize {
            replies.push(self.retry_webhook(url, body).await);
        }
        replies
    }

    /// Every webhook delivery so far, in order.
    pub fn webhooks(&self) -> Vec<TossWebhook> {
        self.shared.lock().webhooks.clone()
    }

    async fn transmit(&self, url: &str, body: &Value, transmission_id: String, retried_count: u32) -> Reply {
        let request = self
            .shared
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            // [U] the documents name the header but show no value; ISO 8601 in Korean time.
            .header("tosspayments-webhook-transmission-time", iso(now_kst()))
            .header("tosspayments-webhook-transmission-id", &transmission_id)
            .header(
                "tosspayments-webhook-transmission-retried-count",
                retried_count.to_string(),
            )
            .body(body.to_string());
        let reply = send_timed(request).await;
        self.shared.lock().webhooks.push(TossWebhook {
            url: url.to_owned(),
            transmission_id,
            retried_count,
            body: body.clone(),
            status: reply.status,
        });
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "test_sk_jangteo_fake";

    struct Client {
        http: reqwest::Client,
        base: String,
        auth: String,
    }

    impl Client {
        fn new(toss: &FakeToss) -> Client {
            Client {
                http: crate::fakes::http_client(),
                base: toss.base_url(),
                auth: format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{KEY}:"))
                ),
            }
        }

        async fn post(&self, path: &str, idempotency_key: &str, body: &Value) -> (u16, Value) {
            let resp = self
                .http
                .post(format!("{}{path}", self.base))
                .header("Authorization", &self.auth)
                .header("Idempotency-Key", idempotency_key)
                .json(body)
                .send()
                .await
                .expect("the fake answers");
            (resp.status().as_u16(), resp.json().await.expect("JSON"))
        }

        async fn get(&self, path: &str) -> (u16, Value) {
            let resp = self
                .http
                .get(format!("{}{path}", self.base))
                .header("Authorization", &self.auth)
                .send()
                .await
                .expect("the fake answers");
            (resp.status().as_u16(), resp.json().await.expect("JSON"))
        }

        async fn confirm(&self, idempotency_key: &str, payment_key: &str, order_id: &str, amount: i64) -> (u16, Value) {
            let body = json!({ "paymentKey": payment_key, "orderId": order_id, "amount": amount });
            self.post("/v1/payments/confirm", idempotency_key, &body).await
        }
    }

    #[tokio::test]
    async fn only_the_secret_key_with_its_colon_authenticates() {
        let toss = FakeToss::start(KEY).await;
        let http = crate::fakes::http_client();
        let url = format!("{}/v1/payments/whatever", toss.base_url());
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        for auth in [
            None,
            Some(format!("Basic {}", b64(KEY))),
            Some(format!("Basic {}", b64("test_sk_other:"))),
            Some(format!("Bearer {KEY}")),
        ] {
            let mut req = http.get(&url);
            if let Some(a) = &auth {
                req = req.header("Authorization", a);
            }
            let resp = req.send().await.expect("answers");
            assert_eq!(resp.status().as_u16(), 401, "{auth:?}");
            let body: Value = resp.json().await.expect("JSON");
            assert_eq!(body["code"], "UNAUTHORIZED_KEY");
        }
        let (status, body) = Client::new(&toss).get("/v1/payments/whatever").await;
        assert_eq!((status, body["code"].as_str()), (404, Some("NOT_FOUND_PAYMENT")));
        assert_eq!(toss.calls().len(), 5);
    }

    #[tokio::test]
    async fn a_confirmed_card_payment_reads_as_toss_documents_and_cannot_be_confirmed_twice() {
        let toss = FakeToss::start(KEY).await;
        let client = Client::new(&toss);
        let pk = toss.authorize("ord_000123", "티셔츠 외 1건", 15_000, TossMethod::Card);
        let (status, p) = client.confirm("k-1", &pk, "ord_000123", 15_000).await;
        assert_eq!(status, 200, "{p}");
        assert_eq!(p["status"], "DONE");
        assert_eq!(p["method"], "카드");
        assert_eq!(
            (p["totalAmount"].as_i64(), p["balanceAmount"].as_i64()),
            (Some(15_000), Some(15_000))
        );
        assert_eq!(
            (p["suppliedAmount"].as_i64(), p["vat"].as_i64()),
            (Some(13_636), Some(1_364))
        );
        assert!(p["approvedAt"].as_str().expect("approvedAt").ends_with("+09:00"));
        assert!(p["requestedAt"].as_str().expect("requestedAt").ends_with("+09:00"));
        assert_eq!(p["card"]["cardType"], "신용");
        assert!(p["virtualAccount"].is_null() && p["easyPay"].is_null() && p["cancels"].is_null());
        assert!(p["lastTransactionKey"].is_string() && p["receipt"]["url"].is_string());
        let (status, by_order) = client.get("/v1/payments/orders/ord_000123").await;
        assert_eq!((status, &by_order), (200, &p));

        let (status, again) = client.confirm("k-2", &pk, "ord_000123", 15_000).await;
        assert_eq!(
            (status, again["code"].as_str()),
            (400, Some("ALREADY_PROCESSED_PAYMENT"))
        );
        assert_eq!(toss.confirm_count(), 1);
    }

    #[tokio::test]
    async fn a_repeated_idempotency_key_replays_the_first_answer_without_executing() {
        let toss = FakeToss::start(KEY).await;
        let client = Client::new(&toss);
        let pk = toss.authorize("ord_000124", "양말", 3_000, TossMethod::EasyPay("토스페이"));
        let (first, second) = tokio::join!(
            client.confirm("same-key", &pk, "ord_000124", 3_000),
            client.confirm("same-key", &pk, "ord_000124", 3_000),
        );
        assert_eq!(first, second);
        assert_eq!(first.0, 200);
        assert_eq!(first.1["method"], "간편결제");
        assert_eq!(first.1["easyPay"]["provider"], "토스페이");
        let third = client.confirm("same-key", &pk, "ord_000124", 3_000).await;
        assert_eq!(third, first);
        assert_eq!(toss.confirm_count(), 1);
        let replays = toss.calls().iter().filter(|c| c.replayed).count();
        assert_eq!(replays, 2);

        let long = "k".repeat(301);
        let (status, body) = client.confirm(&long, &pk, "ord_000124", 3_000).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_REQUEST")));
    }

    #[tokio::test]
    async fn a_confirm_checks_the_amount_the_order_and_the_ten_minutes() {
        let toss = FakeToss::start(KEY).await;
        let client = Client::new(&toss);
        let pk = toss.authorize("ord_000125", "모자", 20_000, TossMethod::Card);
        let (status, body) = client.confirm("a", &pk, "ord_000125", 2_000).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_REQUEST")));
        let (status, body) = client.confirm("b", &pk, "ord_999999", 20_000).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_REQUEST")));
        let (status, body) = client.confirm("c", "nope", "ord_000125", 20_000).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("NOT_FOUND_PAYMENT_SESSION"))
        );
        toss.age_authorization(&pk, 11);
        let (status, body) = client.confirm("d", &pk, "ord_000125", 20_000).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (404, Some("NOT_FOUND_PAYMENT_SESSION"))
        );
        assert_eq!(toss.payment(&pk).expect("known")["status"], "EXPIRED");
        assert_eq!(toss.confirm_count(), 0);
    }

    #[tokio::test]
    async fn injected_failures_decline_fail_delay_and_misreport() {
        let toss = FakeToss::start(KEY).await;
        let client = Client::new(&toss);

        let pk = toss.authorize("ord_000126", "장갑", 9_000, TossMethod::Card);
        toss.fail_next(TossFailure::ServerError);
        let (status, body) = client.confirm("x", &pk, "ord_000126", 9_000).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (500, Some("FAILED_INTERNAL_SYSTEM_PROCESSING"))
        );
        toss.fail_next(TossFailure::Decline);
        let (status, body) = client.confirm("x", &pk, "ord_000126", 9_000).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("REJECT_CARD_COMPANY")));
        let p = toss.payment(&pk).expect("known");
        assert_eq!(
            (p["status"].as_str(), p["failure"]["code"].as_str()),
            (Some("ABORTED"), Some("REJECT_CARD_COMPANY"))
        );

        let pk = toss.authorize("ord_000127", "장갑", 9_000, TossMethod::Card);
        toss.fail_next(TossFailure::Timeout(Duration::from_secs(30)));
        let late = client
            .http
            .post(format!("{}/v1/payments/confirm", client.base))
            .header("Authorization", &client.auth)
            .header("Idempotency-Key", "t-1")
            .json(&json!({ "paymentKey": pk, "orderId": "ord_000127", "amount": 9_000 }))
            .timeout(Duration::from_millis(300))
            .send()
            .await;
        assert!(late.is_err_and(|e| e.is_timeout()));
        assert_eq!(toss.confirm_count(), 1, "the money moved");
        let (status, body) = client.confirm("t-1", &pk, "ord_000127", 9_000).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("DONE")));
        assert_eq!(toss.confirm_count(), 1);

        let pk = toss.authorize("ord_000128", "장갑", 9_000, TossMethod::Card);
        toss.fail_next(TossFailure::AnswerAmount(900));
        let (status, body) = client.confirm("m", &pk, "ord_000128", 9_000).await;
        assert_eq!((status, body["totalAmount"].as_i64()), (200, Some(900)));
        assert_eq!(toss.payment(&pk).expect("known")["totalAmount"], 9_000);
    }

    #[tokio::test]
    async fn partial_cancels_cut_the_balance_until_nothing_is_left() {
        let toss = FakeToss::start(KEY).await;
        let client = Client::new(&toss);
        let pk = toss.authorize("ord_000129", "셔츠 외 2건", 30_000, TossMethod::Card);
        assert_eq!(client.confirm("c", &pk, "ord_000129", 30_000).await.0, 200);
        let path = format!("/v1/payments/{pk}/cancel");

        let (status, body) = client.post(&path, "r0", &json!({ "cancelAmount": 1_000 })).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_REQUEST")));
        let (status, p) = client
            .post(
                &path,
                "r1",
                &json!({ "cancelReason": "부분 반품", "cancelAmount": 10_000 }),
            )
            .await;
        assert_eq!((status, p["status"].as_str()), (200, Some("PARTIAL_CANCELED")));
        assert_eq!(p["balanceAmount"], 20_000);
        assert_eq!(p["cancels"][0]["cancelAmount"], 10_000);
        assert_eq!(p["cancels"][0]["refundableAmount"], 20_000);
        assert_eq!(p["lastTransactionKey"], p["cancels"][0]["transactionKey"]);
        assert_eq!(
            (p["suppliedAmount"].as_i64(), p["vat"].as_i64()),
            (Some(18_182), Some(1_818))
        );

        let (status, body) = client
            .post(&path, "r2", &json!({ "cancelReason": "과다", "cancelAmount": 20_001 }))
            .await;
        assert_eq!((status, body["code"].as_str()), (403, Some("NOT_CANCELABLE_AMOUNT")));
        let (status, p) = client.post(&path, "r3", &json!({ "cancelReason": "전체 반품" })).await;
        assert_eq!(
            (status, p["status"].as_str(), p["balanceAmount"].as_i64()),
            (200, Some("CANCELED"), Some(0))
        );
        let (status, body) = client.post(&path, "r4", &json!({ "cancelReason": "또" })).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("ALREADY_CANCELED_PAYMENT")));
        assert_eq!(toss.cancel_count(), 2);
    }

    #[tokio::test]
    async fn a_virtual_account_waits_for_its_deposit_and_refunds_to_an_account() {
        let toss = FakeToss::start(KEY).await;
        let client = Client::new(&toss);
        let issue = json!({
            "amount": 55_000, "orderId": "ord_000130", "orderName": "코트", "customerName": "김장터",
            "bank": "20", "validHours": 24, "customerEmail": "",
            "cashReceipt": { "type": "소득공제", "registrationNumber": "01011111111" },
        });
        let mut both = issue.clone();
        both["dueDate"] = "2030-01-01T00:00:00".into();
        let (status, body) = client.post("/v1/virtual-accounts", "v0", &both).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("INVALID_VALID_HOURS_WITH_DUE_DATE_AND_SINGLE"))
        );
        let (status, p) = client.post("/v1/virtual-accounts", "v1", &issue).await;
        assert_eq!(
            (status, p["status"].as_str(), p["method"].as_str()),
            (200, Some("WAITING_FOR_DEPOSIT"), Some("가상계좌"))
        );
        assert_eq!(p["virtualAccount"]["bankCode"], "20");
        assert!(
            p["virtualAccount"]["dueDate"]
                .as_str()
                .expect("dueDate")
                .ends_with("+09:00")
        );
        assert!(p["secret"].as_str().expect("secret").starts_with("ps_"));
        assert!(p["cashReceipt"].is_null());
        let (status, body) = client.post("/v1/virtual-accounts", "v2", &issue).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("DUPLICATED_ORDER_ID")));

        let callback = toss.deposit("ord_000130");
        assert_eq!(callback["secret"], p["secret"]);
        assert_eq!(callback["status"], "DONE");
        let pk = p["paymentKey"].as_str().expect("paymentKey");
        let now = toss.payment(pk).expect("known");
        assert_eq!(now["status"], "DONE");
        assert_eq!(now["lastTransactionKey"], callback["transactionKey"]);
        assert_eq!(now["cashReceipt"]["type"], "소득공제");
        assert_eq!(now["cashReceipt"]["amount"], 55_000);

        let path = format!("/v1/payments/{pk}/cancel");
        let (status, body) = client.post(&path, "c1", &json!({ "cancelReason": "변심" })).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("INVALID_REFUND_ACCOUNT_INFO"))
        );
        let account = json!({ "bank": "88", "accountNumber": "110-123-456789", "holderName": "김장터" });
        let (status, _) = client
            .post(
                &path,
                "c2",
                &json!({ "cancelReason": "변심", "refundReceiveAccount": account }),
            )
            .await;
        assert_eq!(status, 400);
        let account = json!({ "bank": "88", "accountNumber": "110123456789", "holderName": "김장터" });
        let (status, p) = client
            .post(
                &path,
                "c3",
                &json!({ "cancelReason": "변심", "refundReceiveAccount": account }),
            )
            .await;
        assert_eq!((status, p["status"].as_str()), (200, Some("CANCELED")));
        assert_eq!(
            p["virtualAccount"]["refundReceiveAccount"]["accountNumber"],
            "110123456789"
        );
    }

    #[tokio::test]
    async fn webhooks_carry_the_transmission_headers_and_retries_keep_the_id() {
        use axum::routing::post;
        let seen: Arc<Mutex<Vec<HeaderMap>>> = Arc::default();
        let record = seen.clone();
        let app = Router::new().route(
            "/hook",
            post(move |headers: HeaderMap| async move {
                let mut s = record.lock().expect("lock");
                s.push(headers);
                if s.len() < 3 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let receiver = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });

        let toss = FakeToss::start(KEY).await;
        let pk = toss.authorize("ord_000131", "컵", 5_000, TossMethod::Card);
        let replies = toss.deliver_webhook(&url, &toss.status_changed(&pk)).await;
        assert_eq!(replies.iter().map(|r| r.status).collect::<Vec<_>>(), [500, 500, 200]);
        let headers = seen.lock().expect("lock").clone();
        let get = |h: &HeaderMap, name: &str| h.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let ids: Vec<_> = headers
            .iter()
            .map(|h| get(h, "tosspayments-webhook-transmission-id"))
            .collect();
        assert!(ids[0].as_deref().is_some_and(|id| id.starts_with("whtrans_")));
        assert!(ids.iter().all(|id| *id == ids[0]));
        let counts: Vec<_> = headers
            .iter()
            .map(|h| get(h, "tosspayments-webhook-transmission-retried-count"))
            .collect();
        assert_eq!(counts, [Some("0".into()), Some("1".into()), Some("2".into())]);
        let webhooks = toss.webhooks();
        assert_eq!(webhooks.len(), 3);
        assert_eq!(webhooks[0].body["eventType"], "PAYMENT_STATUS_CHANGED");
        assert_eq!(webhooks[0].body["data"]["status"], "IN_PROGRESS");
        receiver.abort();
    }
}
