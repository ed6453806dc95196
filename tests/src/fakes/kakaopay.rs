//! A fake KakaoPay online single payment (payments.md §2), the new API only: `POST
//! /online/v1/payment/{ready,approve,order,cancel}` with JSON bodies and
//! `Authorization: SECRET_KEY {key}`; the customer's side (authenticating in KakaoPay, which
//! hands a `pg_token` to `approval_url`) is a test hook or a GET on the redirect URLs.
//!
//! Answers follow the documented contract: `{"error_code": <negative>, "error_message": "…"}`
//! with a 4xx status on refusals, 401 with `-401` on a bad key, 503 with `-9798` when a test
//! asks for an outage (Kakao's common error table). Which negative code each payment refusal
//! carries is [U] (see [`error_code`]): adapters should branch on the status and treat any
//! negative code as a refusal. Times are Korean local time without a zone
//! (`2024-01-01T10:00:00`).
//!
//! ```no_run
//! # async fn demo() {
//! use jangteo_tests::fakes::kakaopay::{FakeKakaoPay, TEST_SECRET_KEY};
//! let kakao = FakeKakaoPay::start(TEST_SECRET_KEY).await;
//! // settings: payments.kakaopay.base_url = kakao.base_url(), secret_key = TEST_SECRET_KEY
//! // … the service calls /ready; the customer approves in KakaoPay:
//! let tid = kakao.last_tid().expect("ready was called");
//! let pg_token = kakao.approve_in_app(&tid);
//! // … the browser lands on approval_url?pg_token=…; the service calls /approve.
//! assert_eq!(kakao.approve_count(), 1);
//! # }
//! ```

use std::{
    collections::{HashMap, VecDeque},
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
use serde_json::{Map, Value, json};
use tokio::task::JoinHandle;

use super::{UPPER_ALNUM, random_string};

/// KakaoPay's test merchant code for single payments.
pub const TEST_CID: &str = "TC0ONETIME";
/// A secret key for tests, shaped as the dev keys KakaoPay issues (`DEV` + hex).
pub const TEST_SECRET_KEY: &str = "DEV5B8C0E2A4F7D9136A0B2C4E6F8A1D3E5C7B9";
/// Where the four API paths live under [`FakeKakaoPay::base_url`].
pub const API_PREFIX: &str = "/online/v1/payment";

/// The `error_code`s the fake answers. `INVALID_REQUEST`, `UNAUTHORIZED` and `UNDER_MAINTENANCE`
/// are in Kakao's common error table and `APPROVAL_FAILURE` in payments.md §2.6; the others
/// are [U]: seen in integrations, not in a retrieved official page.
pub mod error_code {
    /// A required field is missing, or a value has the wrong type or range (HTTP 400).
    pub const INVALID_REQUEST: i64 = -2;
    /// Missing or wrong `Authorization` (HTTP 401).
    pub const UNAUTHORIZED: i64 = -401;
    /// Service under maintenance (HTTP 503).
    pub const UNDER_MAINTENANCE: i64 = -9798;
    /// Approve before the customer authenticated, with a wrong `pg_token`, or after the
    /// customer quit or failed [U].
    pub const NOT_AUTHENTICATED: i64 = -701;
    /// Approve of a payment already approved [U].
    pub const ALREADY_APPROVED: i64 = -702;
    /// Cancel of a payment already fully cancelled [U].
    pub const ALREADY_CANCELLED: i64 = -703;
    /// A `tid` the fake never issued [U].
    pub const TID_NOT_FOUND: i64 = -721;
    /// `cid`, `partner_order_id` or `partner_user_id` differ from those sent to ready [U].
    pub const ORDER_MISMATCH: i64 = -726;
    /// The card company or bank declined (`extras.method_result_code` says why).
    pub const APPROVAL_FAILURE: i64 = -780;
    /// Cancel of more than is left to cancel, or of a payment never approved [U].
    pub const CANCEL_AMOUNT_EXCEEDED: i64 = -798;
    /// `cancel_available_amount` differs from what is left to cancel [U].
    pub const CANCEL_AVAILABLE_MISMATCH: i64 = -799;
}

/// A failure a test asks for with [`FakeKakaoPay::fail_next`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KakaoFailure {
    /// The next call (any path, after the key check) answers 503
    /// `{"error_code": -9798, "error_message": …}`, changing nothing.
    ServerError,
    /// The next approve that would succeed answers 400 `{"error_code": -780, "error_message":
    /// "approval failure!", "extras": {"method_result_code": "USER_LOCKED", …}}`; the payment
    /// becomes `FAIL_PAYMENT` and no money moves.
    Decline,
    /// The next approve that would succeed moves this amount instead, and says so in
    /// `amount.total` (and `/order` agrees): a gateway answer that disagrees with the order.
    AnswerAmount(i64),
}

/// One request the fake answered.
#[derive(Clone, Debug)]
pub struct KakaoCall {
    /// `POST` for the API, `GET` for the redirect URLs.
    pub method: String,
    /// The path (`/online/v1/payment/approve`).
    pub path: String,
    /// The JSON body received (`Null` when absent or not JSON).
    pub body: Value,
    /// The HTTP status answered.
    pub status: u16,
    /// The JSON answered (`Null` for a redirect).
    pub answer: Value,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Ready,
    /// The customer authenticated; the merchant has not approved yet.
    AuthPassword,
    SuccessPayment,
    PartCancelPayment,
    CancelPayment,
    FailPayment,
    QuitPayment,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ready => "READY",
            Status::AuthPassword => "AUTH_PASSWORD",
            Status::SuccessPayment => "SUCCESS_PAYMENT",
            Status::PartCancelPayment => "PART_CANCEL_PAYMENT",
            Status::CancelPayment => "CANCEL_PAYMENT",
            Status::FailPayment => "FAIL_PAYMENT",
            Status::QuitPayment => "QUIT_PAYMENT",
        }
    }

    fn approved(self) -> bool {
        matches!(
            self,
            Status::SuccessPayment | Status::PartCancelPayment | Status::CancelPayment
        )
    }
}

/// KakaoPay's `amount` object.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Amount {
    total: i64,
    tax_free: i64,
    vat: i64,
    point: i64,
    discount: i64,
    green_deposit: i64,
}

impl Amount {
    fn json(self) -> Value {
        json!({
            "total": self.total,
            "tax_free": self.tax_free,
            "vat": self.vat,
            "point": self.point,
            "discount": self.discount,
            "green_deposit": self.green_deposit,
        })
    }

    fn plus(self, o: Amount) -> Amount {
        Amount {
            total: self.total + o.total,
            tax_free: self.tax_free + o.tax_free,
            vat: self.vat + o.vat,
            point: self.point + o.point,
            discount: self.discount + o.discount,
            green_deposit: self.green_deposit + o.green_deposit,
        }
    }

    fn minus(self, o: Amount) -> Amount {
        Amount {
            total: self.total - o.total,
            tax_free: self.tax_free - o.tax_free,
            vat: self.vat - o.vat,
            point: self.point - o.point,
            discount: self.discount - o.discount,
            green_deposit: self.green_deposit - o.green_deposit,
        }
    }
}

/// `round(taxable / 11)`: KakaoPay's default VAT (ready and cancel).
fn vat_of(taxable: i64) -> i64 {
    taxable / 11 + i64::from(taxable % 11 >= 6)
}

#[derive(Debug)]
struct Payment {
    tid: String,
    cid: String,
    partner_order_id: String,
    partner_user_id: String,
    item_name: String,
    item_code: Option<String>,
    quantity: i64,
    /// What ready asked for.
    planned: Amount,
    /// `CARD` or `MONEY`: ready's `payment_method_type`, else `CARD`.
    method: &'static str,
    install_month: i64,
    approval_url: String,
    cancel_url: String,
    fail_url: String,
    request: Value,
    status: Status,
    pg_token: Option<String>,
    /// The money that moved at approve.
    approved: Option<Amount>,
    canceled: Amount,
    created_at: String,
    approved_at: Option<String>,
    canceled_at: Option<String>,
    actions: Vec<Value>,
}

impl Payment {
    fn approved_amount(&self) -> Amount {
        self.approved.unwrap_or_default()
    }

    fn cancel_available(&self) -> Amount {
        self.approved_amount().minus(self.canceled)
    }

    fn card_info(&self) -> Option<Value> {
        (self.method == "CARD").then(|| {
            json!({
                "kakaopay_purchase_corp": "신한카드",
                "kakaopay_purchase_corp_code": "03",
                "kakaopay_issuer_corp": "신한카드",
                "kakaopay_issuer_corp_code": "03",
                "bin": "451842",
                "card_type": "신용",
                "install_month": format!("{:02}", self.install_month),
                "approved_id": "30012345",
                "card_mid": "456789012",
                "interest_free_install": "N",
                "installment_type": "CARD_INSTALLMENT",
                "card_item_code": "",
            })
        })
    }

    fn order_json(&self) -> Value {
        let approved = self.approved.is_some();
        let mut o = json!({
            "tid": self.tid,
            "cid": self.cid,
            "status": self.status.as_str(),
            "partner_order_id": self.partner_order_id,
            "partner_user_id": self.partner_user_id,
            "payment_method_type": approved.then_some(self.method),
            "amount": self.approved.unwrap_or(self.planned).json(),
            "canceled_amount": self.canceled.json(),
            "cancel_available_amount": self.cancel_available().json(),
            "item_name": self.item_name,
            "item_code": self.item_code,
            "quantity": self.quantity,
            "created_at": self.created_at,
            "approved_at": self.approved_at,
            "canceled_at": self.canceled_at,
            "payment_action_details": self.actions,
        });
        if approved && self.method == "CARD" {
            o["selected_card_info"] = json!({
                "card_bin": "451842",
                "install_month": self.install_month,
                "installment_type": "CARD_INSTALLMENT",
                "card_corp_name": "신한카드",
                "interest_free_install": "N",
            });
        }
        o
    }

    /// One `payment_action_details` entry.
    fn record_action(&mut self, aid: &str, at: &str, amount: Amount, kind: &str, payload: Option<&str>) {
        self.actions.push(json!({
            "aid": aid,
            "approved_at": at,
            "amount": amount.total,
            "point_amount": amount.point,
            "discount_amount": amount.discount,
            "green_deposit": amount.green_deposit,
            "payment_action_type": kind,
            "payload": payload.unwrap_or_default(),
        }));
    }
}

struct Inner {
    payments: HashMap<String, Payment>,
    /// tids in the order ready issued them.
    tids: Vec<String>,
    calls: Vec<KakaoCall>,
    server_errors: usize,
    approve_twists: VecDeque<KakaoFailure>,
    approves: usize,
    cancels: usize,
}

struct Shared {
    secret_key: String,
    root: String,
    inner: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking test thread must not hide the record from the others.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A fake KakaoPay on `127.0.0.1`; stops when dropped.
pub struct FakeKakaoPay {
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Drop for FakeKakaoPay {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeKakaoPay {
    /// Starts the fake on a random port; it accepts `Authorization: SECRET_KEY {secret_key}`.
    pub async fn start(secret_key: &str) -> FakeKakaoPay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared {
            secret_key: secret_key.to_owned(),
            root: format!("http://{addr}"),
            inner: Mutex::new(Inner {
                payments: HashMap::new(),
                tids: Vec::new(),
                calls: Vec::new(),
                server_errors: 0,
                approve_twists: VecDeque::new(),
                approves: 0,
                cancels: 0,
            }),
        });
        let app = Router::new()
            .route(&format!("{API_PREFIX}/redirect/{{tid}}/{{device}}"), get(redirect))
            .route(&format!("{API_PREFIX}/{{op}}"), post(api))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeKakaoPay { shared, server }
    }

    /// `http://127.0.0.1:port`: the host, as `https://open-api.kakaopay.com` is in production
    /// (the API lives under [`API_PREFIX`]).
    pub fn base_url(&self) -> String {
        self.shared.root.clone()
    }

    /// The customer authenticated in KakaoPay for `tid`: the payment waits for the merchant's
    /// approve (`/order` says `AUTH_PASSWORD`; approve makes it `SUCCESS_PAYMENT`). Returns the
    /// `pg_token` KakaoPay appends to `approval_url` (the same one if called again). Panics if
    /// ready never issued `tid` or the payment is past waiting.
    pub fn approve_in_app(&self, tid: &str) -> String {
        let mut inner = self.shared.lock();
        let p = inner
            .payments
            .get_mut(tid)
            .unwrap_or_else(|| panic!("no ready for {tid}"));
        authenticate(p).unwrap_or_else(|s| panic!("{tid} is {s}, not waiting for the customer"))
    }

    /// The customer closed the KakaoPay window: `QUIT_PAYMENT` (KakaoPay sends the browser to
    /// `cancel_url`). Panics as [`FakeKakaoPay::approve_in_app`] does.
    pub fn quit_in_app(&self, tid: &str) {
        self.end_in_app(tid, Status::QuitPayment);
    }

    /// The customer's authentication failed: `FAIL_PAYMENT` (KakaoPay sends the browser to
    /// `fail_url`). Panics as [`FakeKakaoPay::approve_in_app`] does.
    pub fn fail_in_app(&self, tid: &str) {
        self.end_in_app(tid, Status::FailPayment);
    }

    fn end_in_app(&self, tid: &str, to: Status) {
        let mut inner = self.shared.lock();
        let p = inner
            .payments
            .get_mut(tid)
            .unwrap_or_else(|| panic!("no ready for {tid}"));
        assert!(
            matches!(p.status, Status::Ready | Status::AuthPassword),
            "{tid} is {}, not waiting for the customer",
            p.status.as_str()
        );
        p.status = to;
    }

    /// Queues a failure; see [`KakaoFailure`] for which call each one hits.
    pub fn fail_next(&self, f: KakaoFailure) {
        let mut inner = self.shared.lock();
        match f {
            KakaoFailure::ServerError => inner.server_errors += 1,
            twist => inner.approve_twists.push_back(twist),
        }
    }

    /// Approves that moved money (declined and refused ones not counted).
    pub fn approve_count(&self) -> usize {
        self.shared.lock().approves
    }

    /// Cancels that succeeded.
    pub fn cancel_count(&self) -> usize {
        self.shared.lock().cancels
    }

    /// Every request so far, oldest first.
    pub fn calls(&self) -> Vec<KakaoCall> {
        self.shared.lock().calls.clone()
    }

    /// The tid of the latest successful ready, if any.
    pub fn last_tid(&self) -> Option<String> {
        self.shared.lock().tids.last().cloned()
    }

    /// The body ready received for `tid` (to check `approval_url`, `tax_free_amount`…).
    pub fn ready_request(&self, tid: &str) -> Option<Value> {
        self.shared.lock().payments.get(tid).map(|p| p.request.clone())
    }

    /// `tid` as `/order` would answer it now.
    pub fn order(&self, tid: &str) -> Option<Value> {
        self.shared.lock().payments.get(tid).map(Payment::order_json)
    }
}

/// The customer authenticates: `READY` → `AUTH_PASSWORD` with a `pg_token` (kept if it already
/// has one). Err: the status, when the payment is past waiting.
fn authenticate(p: &mut Payment) -> Result<String, &'static str> {
    match p.status {
        Status::Ready | Status::AuthPassword => {
            p.status = Status::AuthPassword;
            Ok(p.pg_token.get_or_insert_with(|| random_string(UPPER_ALNUM, 20)).clone())
        }
        other => Err(other.as_str()),
    }
}

/// An answered refusal: `{error_code, error_message[, extras]}`.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    code: i64,
    message: String,
    extras: Option<Value>,
}

impl Refusal {
    fn body(&self) -> Value {
        let mut b = json!({ "error_code": self.code, "error_message": self.message });
        if let Some(extras) = &self.extras {
            b["extras"] = extras.clone();
        }
        b
    }
}

/// A 400 refusal.
fn refuse(code: i64, message: impl Into<String>) -> Refusal {
    Refusal {
        status: StatusCode::BAD_REQUEST,
        code,
        message: message.into(),
        extras: None,
    }
}

type Fields = Map<String, Value>;

/// A required, non-empty string.
fn text(req: &Fields, field: &str) -> Result<String, Refusal> {
    match req.get(field) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        None | Some(Value::Null) => Err(refuse(error_code::INVALID_REQUEST, format!("{field} is required"))),
        Some(_) => Err(refuse(
            error_code::INVALID_REQUEST,
            format!("{field} must be a non-empty string"),
        )),
    }
}

fn opt_text(req: &Fields, field: &str) -> Result<Option<String>, Refusal> {
    match req.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => text(req, field).map(Some),
    }
}

/// A required integer (a JSON number, not a string of digits).
fn int(req: &Fields, field: &str) -> Result<i64, Refusal> {
    match req.get(field) {
        None | Some(Value::Null) => Err(refuse(error_code::INVALID_REQUEST, format!("{field} is required"))),
        Some(v) => v
            .as_i64()
            .ok_or_else(|| refuse(error_code::INVALID_REQUEST, format!("{field} must be an integer"))),
    }
}

fn opt_int(req: &Fields, field: &str) -> Result<Option<i64>, Refusal> {
    match req.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => int(req, field).map(Some),
    }
}

fn invalid(ok: bool, message: &str) -> Result<(), Refusal> {
    if ok {
        Ok(())
    } else {
        Err(refuse(error_code::INVALID_REQUEST, message))
    }
}

/// Korean local time without a zone, as KakaoPay writes times.
fn kst_now() -> String {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Seoul)
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// `prefix` + 19 digits: a 20-character TID or AID.
fn kakao_id(prefix: char) -> String {
    format!("{prefix}{}", random_string(b"0123456789", 19))
}

async fn api(State(shared): State<Arc<Shared>>, Path(op): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let received = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut inner = shared.lock();
    let (status, answer) = match answer(&shared, &mut inner, &op, &headers, &body) {
        Ok(v) => (StatusCode::OK, v),
        Err(r) => (r.status, r.body()),
    };
    inner.calls.push(KakaoCall {
        method: "POST".to_owned(),
        path: format!("{API_PREFIX}/{op}"),
        body: received,
        status: status.as_u16(),
        answer: answer.clone(),
    });
    (status, Json(answer)).into_response()
}

fn answer(shared: &Shared, inner: &mut Inner, op: &str, headers: &HeaderMap, body: &[u8]) -> Result<Value, Refusal> {
    let expected = format!("SECRET_KEY {}", shared.secret_key);
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if auth != Some(expected.as_str()) {
        return Err(Refusal {
            status: StatusCode::UNAUTHORIZED,
            code: error_code::UNAUTHORIZED,
            message: "invalid secret key (Authorization: SECRET_KEY {key})".to_owned(),
            extras: None,
        });
    }
    if inner.server_errors > 0 {
        inner.server_errors -= 1;
        return Err(Refusal {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: error_code::UNDER_MAINTENANCE,
            message: "서비스 점검중입니다.".to_owned(),
            extras: None,
        });
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/json"));
    invalid(json, "Content-Type must be application/json")?;
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(body) else {
        return Err(refuse(error_code::INVALID_REQUEST, "the body must be a JSON object"));
    };
    match op {
        "ready" => ready(&shared.root, inner, &req),
        "approve" => approve(inner, &req),
        "order" => order(inner, &req),
        "cancel" => cancel(inner, &req),
        _ => Err(Refusal {
            status: StatusCode::NOT_FOUND,
            code: error_code::INVALID_REQUEST,
            message: format!("no such API: {op}"),
            extras: None,
        }),
    }
}

fn ready(root: &str, inner: &mut Inner, req: &Fields) -> Result<Value, Refusal> {
    let mut p = ready_payment(req)?;
    p.tid = loop {
        let t = kakao_id('T');
        if !inner.payments.contains_key(&t) {
            break t;
        }
    };
    let tid = p.tid.clone();
    let created_at = p.created_at.clone();
    inner.payments.insert(tid.clone(), p);
    inner.tids.push(tid.clone());
    let redirect = |device: &str| format!("{root}{API_PREFIX}/redirect/{tid}/{device}");
    let app_scheme = format!("kakaotalk://kakaopay/pg?url={}", redirect("app"));
    Ok(json!({
        "tid": tid,
        "next_redirect_app_url": redirect("app"),
        "next_redirect_mobile_url": redirect("mobile"),
        "next_redirect_pc_url": redirect("pc"),
        "android_app_scheme": app_scheme,
        "ios_app_scheme": app_scheme,
        "created_at": created_at,
    }))
}

/// The `READY` payment a valid ready body asks for (its `tid` still empty).
fn ready_payment(req: &Fields) -> Result<Payment, Refusal> {
    let cid = text(req, "cid")?;
    let partner_order_id = text(req, "partner_order_id")?;
    let partner_user_id = text(req, "partner_user_id")?;
    let item_name = text(req, "item_name")?;
    let quantity = int(req, "quantity")?;
    let total = int(req, "total_amount")?;
    let tax_free = int(req, "tax_free_amount")?;
    let approval_url = text(req, "approval_url")?;
    let cancel_url = text(req, "cancel_url")?;
    let fail_url = text(req, "fail_url")?;
    let vat = opt_int(req, "vat_amount")?.unwrap_or(vat_of(total - tax_free));
    let green_deposit = opt_int(req, "green_deposit")?.unwrap_or(0);
    let install_month = opt_int(req, "install_month")?.unwrap_or(0);
    let method = match opt_text(req, "payment_method_type")?.as_deref() {
        None | Some("CARD") => "CARD",
        Some("MONEY") => "MONEY",
        Some(_) => {
            return Err(refuse(
                error_code::INVALID_REQUEST,
                "payment_method_type must be CARD or MONEY",
            ));
        }
    };
    invalid(cid.chars().count() == 10, "cid must be 10 characters")?;
    for (field, value) in [
        ("partner_order_id", &partner_order_id),
        ("partner_user_id", &partner_user_id),
        ("item_name", &item_name),
    ] {
        invalid(
            value.chars().count() <= 100,
            &format!("{field} is longer than 100 characters"),
        )?;
    }
    for (ok, message) in [
        (quantity > 0, "quantity must be positive"),
        (total > 0, "total_amount must be positive"),
        (
            (0..=total).contains(&tax_free),
            "tax_free_amount must be between 0 and total_amount",
        ),
        (
            vat >= 0 && vat + tax_free <= total,
            "vat_amount + tax_free_amount exceed total_amount",
        ),
        (
            (0..=total).contains(&green_deposit),
            "green_deposit must be between 0 and total_amount",
        ),
        (
            (0..=12).contains(&install_month),
            "install_month must be between 0 and 12",
        ),
    ] {
        invalid(ok, message)?;
    }
    Ok(Payment {
        tid: String::new(),
        cid,
        partner_order_id,
        partner_user_id,
        item_name,
        item_code: opt_text(req, "item_code")?,
        quantity,
        planned: Amount {
            total,
            tax_free,
            vat,
            green_deposit,
            ..Amount::default()
        },
        method,
        install_month,
        approval_url,
        cancel_url,
        fail_url,
        request: Value::Object(req.clone()),
        status: Status::Ready,
        pg_token: None,
        approved: None,
        canceled: Amount::default(),
        created_at: kst_now(),
        approved_at: None,
        canceled_at: None,
        actions: Vec::new(),
    })
}

/// The payment `tid` names, if its `cid` is the one ready was given.
fn payment<'a>(payments: &'a mut HashMap<String, Payment>, req: &Fields) -> Result<&'a mut Payment, Refusal> {
    let cid = text(req, "cid")?;
    let tid = text(req, "tid")?;
    let p = payments
        .get_mut(&tid)
        .ok_or_else(|| refuse(error_code::TID_NOT_FOUND, format!("invalid tid: {tid}")))?;
    if p.cid != cid {
        return Err(refuse(error_code::ORDER_MISMATCH, "cid does not match the payment's"));
    }
    Ok(p)
}

fn approve(inner: &mut Inner, req: &Fields) -> Result<Value, Refusal> {
    let partner_order_id = text(req, "partner_order_id")?;
    let partner_user_id = text(req, "partner_user_id")?;
    let pg_token = text(req, "pg_token")?;
    let payload = opt_text(req, "payload")?;
    let p = payment(&mut inner.payments, req)?;
    if p.partner_order_id != partner_order_id || p.partner_user_id != partner_user_id {
        return Err(refuse(
            error_code::ORDER_MISMATCH,
            "partner_order_id or partner_user_id differ from those sent to ready",
        ));
    }
    match p.status {
        Status::AuthPassword => {}
        s if s.approved() => return Err(refuse(error_code::ALREADY_APPROVED, "payment already approved")),
        Status::Ready => {
            return Err(refuse(
                error_code::NOT_AUTHENTICATED,
                "payment is not authenticated yet",
            ));
        }
        s => {
            let message = format!("payment can not be approved: {}", s.as_str());
            return Err(refuse(error_code::NOT_AUTHENTICATED, message));
        }
    }
    if p.pg_token.as_deref() != Some(pg_token.as_str()) {
        return Err(refuse(error_code::NOT_AUTHENTICATED, "invalid pg_token"));
    }
    let amount = match inner.approve_twists.pop_front() {
        Some(KakaoFailure::Decline) => {
            p.status = Status::FailPayment;
            return Err(Refusal {
                extras: Some(json!({
                    "method_result_code": "USER_LOCKED",
                    "method_result_message": "결제수단이 잠겨 있습니다. 카카오페이에 문의해 주세요.",
                })),
                ..refuse(error_code::APPROVAL_FAILURE, "approval failure!")
            });
        }
        Some(KakaoFailure::AnswerAmount(total)) => {
            let tax_free = p.planned.tax_free.min(total);
            Amount {
                total,
                tax_free,
                vat: vat_of(total - tax_free),
                ..Amount::default()
            }
        }
        Some(KakaoFailure::ServerError) | None => p.planned,
    };
    let aid = kakao_id('A');
    let approved_at = kst_now();
    p.status = Status::SuccessPayment;
    p.approved = Some(amount);
    p.approved_at = Some(approved_at.clone());
    p.record_action(&aid, &approved_at, amount, "PAYMENT", payload.as_deref());
    let mut answer = json!({
        "aid": aid,
        "tid": p.tid,
        "cid": p.cid,
        "partner_order_id": p.partner_order_id,
        "partner_user_id": p.partner_user_id,
        "payment_method_type": p.method,
        "amount": amount.json(),
        "item_name": p.item_name,
        "item_code": p.item_code,
        "quantity": p.quantity,
        "created_at": p.created_at,
        "approved_at": approved_at,
        "payload": payload,
    });
    if let Some(card) = p.card_info() {
        answer["card_info"] = card;
    }
    inner.approves += 1;
    Ok(answer)
}

fn order(inner: &mut Inner, req: &Fields) -> Result<Value, Refusal> {
    payment(&mut inner.payments, req).map(|p| p.order_json())
}

fn cancel(inner: &mut Inner, req: &Fields) -> Result<Value, Refusal> {
    let amount = int(req, "cancel_amount")?;
    let tax_free = int(req, "cancel_tax_free_amount")?;
    let vat = opt_int(req, "cancel_vat_amount")?;
    let guard = opt_int(req, "cancel_available_amount")?;
    let payload = opt_text(req, "payload")?;
    let p = payment(&mut inner.payments, req)?;
    match p.status {
        Status::SuccessPayment | Status::PartCancelPayment => {}
        Status::CancelPayment => return Err(refuse(error_code::ALREADY_CANCELLED, "payment already cancelled")),
        s => {
            let message = format!("nothing to cancel: the payment is {}", s.as_str());
            return Err(refuse(error_code::CANCEL_AMOUNT_EXCEEDED, message));
        }
    }
    invalid(amount > 0, "cancel_amount must be positive")?;
    invalid(tax_free >= 0, "cancel_tax_free_amount must not be negative")?;
    let available = p.cancel_available();
    if guard.is_some_and(|g| g != available.total) {
        return Err(refuse(
            error_code::CANCEL_AVAILABLE_MISMATCH,
            format!("cancel_available_amount does not match: {} left", available.total),
        ));
    }
    if amount > available.total || tax_free > available.tax_free {
        return Err(refuse(
            error_code::CANCEL_AMOUNT_EXCEEDED,
            format!("cancel amount exceeds the cancellable amount: {} left", available.total),
        ));
    }
    invalid(tax_free <= amount, "cancel_tax_free_amount exceeds cancel_amount")?;
    // The last cancel takes what VAT is left, so rounding never leaves a won behind.
    let vat = vat.unwrap_or(if amount == available.total {
        available.vat
    } else {
        vat_of(amount - tax_free).min(available.vat)
    });
    invalid(
        (0..=available.vat).contains(&vat) && vat + tax_free <= amount,
        "cancel_vat_amount out of range",
    )?;
    let this = Amount {
        total: amount,
        tax_free,
        vat,
        ..Amount::default()
    };
    let aid = kakao_id('A');
    let canceled_at = kst_now();
    p.canceled = p.canceled.plus(this);
    p.status = if p.cancel_available().total == 0 {
        Status::CancelPayment
    } else {
        Status::PartCancelPayment
    };
    p.canceled_at = Some(canceled_at.clone());
    p.record_action(&aid, &canceled_at, this, "CANCEL", payload.as_deref());
    let answer = json!({
        "aid": aid,
        "tid": p.tid,
        "cid": p.cid,
        "status": p.status.as_str(),
        "partner_order_id": p.partner_order_id,
        "partner_user_id": p.partner_user_id,
        "payment_method_type": p.method,
        "item_name": p.item_name,
        "item_code": p.item_code,
        "quantity": p.quantity,
        "amount": p.approved_amount().json(),
        "approved_cancel_amount": this.json(),
        "canceled_amount": p.canceled.json(),
        "cancel_available_amount": p.cancel_available().json(),
        "created_at": p.created_at,
        "approved_at": p.approved_at,
        "canceled_at": canceled_at,
        "payload": payload,
    });
    inner.cancels += 1;
    Ok(answer)
}

/// The page behind `next_redirect_*_url`, played by the customer: `?result=approve` (the
/// default) authenticates and 302s to `approval_url?pg_token=…`; `?result=cancel` quits
/// (`QUIT_PAYMENT`, 302 to `cancel_url`); `?result=fail` fails (`FAIL_PAYMENT`, 302 to `fail_url`).
async fn redirect(
    State(shared): State<Arc<Shared>>,
    Path((tid, device)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let result = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "result")
        .map_or_else(|| "approve".to_owned(), |(_, v)| v.into_owned());
    let mut inner = shared.lock();
    let answer = match inner.payments.get_mut(&tid) {
        Some(p) if ["app", "mobile", "pc"].contains(&device.as_str()) => match result.as_str() {
            "approve" => authenticate(p)
                .map(|token| with_query(&p.approval_url, "pg_token", &token))
                .map_err(|s| (StatusCode::CONFLICT, format!("payment is {s}"))),
            "cancel" | "fail" if matches!(p.status, Status::Ready | Status::AuthPassword) => {
                let (to, url) = if result == "cancel" {
                    (Status::QuitPayment, p.cancel_url.clone())
                } else {
                    (Status::FailPayment, p.fail_url.clone())
                };
                p.status = to;
                Ok(url)
            }
            "cancel" | "fail" => Err((StatusCode::CONFLICT, format!("payment is {}", p.status.as_str()))),
            _ => Err((
                StatusCode::BAD_REQUEST,
                "result must be approve, cancel or fail".to_owned(),
            )),
        },
        _ => Err((StatusCode::NOT_FOUND, "no such payment page".to_owned())),
    };
    let status = answer.as_ref().map_or_else(|(s, _)| *s, |_| StatusCode::FOUND);
    inner.calls.push(KakaoCall {
        method: "GET".to_owned(),
        path: format!("{API_PREFIX}/redirect/{tid}/{device}"),
        body: Value::Null,
        status: status.as_u16(),
        answer: Value::Null,
    });
    match answer {
        Ok(location) => (StatusCode::FOUND, [(header::LOCATION, location)]).into_response(),
        Err((status, text)) => (status, text).into_response(),
    }
}

/// `url` with `name=value` appended to its query.
fn with_query(url: &str, name: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    let pair: String = form_urlencoded::Serializer::new(String::new())
        .append_pair(name, value)
        .finish();
    format!("{url}{sep}{pair}")
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Client {
        http: reqwest::Client,
        base: String,
        key: String,
    }

    impl Client {
        fn new(kakao: &FakeKakaoPay, key: &str) -> Client {
            Client {
                http: super::super::http_client(),
                base: kakao.base_url(),
                key: key.to_owned(),
            }
        }

        async fn post(&self, op: &str, body: &Value) -> (u16, Value) {
            let res = self
                .http
                .post(format!("{}{API_PREFIX}/{op}", self.base))
                .header("Authorization", format!("SECRET_KEY {}", self.key))
                .json(body)
                .send()
                .await
                .expect("the fake answers");
            let status = res.status().as_u16();
            (status, res.json().await.expect("JSON"))
        }
    }

    fn ready_body(total: i64) -> Value {
        json!({
            "cid": TEST_CID,
            "partner_order_id": "ord_01",
            "partner_user_id": "cus_01",
            "item_name": "제주 감귤 5kg",
            "quantity": 1,
            "total_amount": total,
            "tax_free_amount": 0,
            "approval_url": "http://shop.test/pay/kakao/approve?order=ord_01",
            "cancel_url": "http://shop.test/pay/kakao/cancel",
            "fail_url": "http://shop.test/pay/kakao/fail",
        })
    }

    fn approve_body(tid: &str, pg_token: &str) -> Value {
        json!({
            "cid": TEST_CID, "tid": tid, "partner_order_id": "ord_01",
            "partner_user_id": "cus_01", "pg_token": pg_token,
        })
    }

    /// Ready and approve `total`; returns the tid.
    async fn paid(kakao: &FakeKakaoPay, c: &Client, total: i64) -> String {
        let (status, ready) = c.post("ready", &ready_body(total)).await;
        assert_eq!(status, 200, "{ready}");
        let tid = ready["tid"].as_str().expect("tid").to_owned();
        let token = kakao.approve_in_app(&tid);
        let (status, approved) = c.post("approve", &approve_body(&tid, &token)).await;
        assert_eq!(status, 200, "{approved}");
        tid
    }

    #[tokio::test]
    async fn a_missing_or_wrong_secret_key_is_401() {
        let kakao = FakeKakaoPay::start(TEST_SECRET_KEY).await;
        let http = super::super::http_client();
        let url = format!("{}{API_PREFIX}/ready", kakao.base_url());
        for auth in [
            None,
            Some("SECRET_KEY DEVwrong".to_owned()),
            Some(format!("KakaoAK {TEST_SECRET_KEY}")),
        ] {
            let mut req = http.post(&url).json(&ready_body(1000));
            if let Some(a) = &auth {
                req = req.header("Authorization", a);
            }
            let res = req.send().await.expect("answer");
            assert_eq!(res.status().as_u16(), 401, "{auth:?}");
            let body: Value = res.json().await.expect("JSON");
            assert_eq!(body["error_code"], -401);
            assert!(body["error_message"].is_string());
        }
        assert!(kakao.calls().iter().all(|c| c.status == 401));
        assert_eq!(kakao.calls().len(), 3);
    }

    #[tokio::test]
    async fn ready_refuses_a_missing_field() {
        let kakao = FakeKakaoPay::start(TEST_SECRET_KEY).await;
        let c = Client::new(&kakao, TEST_SECRET_KEY);
        let mut body = ready_body(1000);
        body.as_object_mut().expect("object").remove("fail_url");
        let (status, answer) = c.post("ready", &body).await;
        assert_eq!((status, answer["error_code"].as_i64()), (400, Some(-2)), "{answer}");
        assert!(kakao.last_tid().is_none());
    }

    #[tokio::test]
    async fn ready_then_approve_in_app_then_one_approve() {
        let kakao = FakeKakaoPay::start(TEST_SECRET_KEY).await;
        let c = Client::new(&kakao, TEST_SECRET_KEY);
        let (status, ready) = c.post("ready", &ready_body(23_000)).await;
        assert_eq!(status, 200, "{ready}");
        let tid = ready["tid"].as_str().expect("tid").to_owned();
        assert_eq!(tid.len(), 20);
        assert!(tid.starts_with('T'));
        for field in [
            "next_redirect_app_url",
            "next_redirect_mobile_url",
            "next_redirect_pc_url",
        ] {
            let url = ready[field].as_str().expect(field);
            assert!(url.starts_with(&kakao.base_url()) && url.contains(&tid), "{url}");
        }
        assert_eq!(ready["created_at"].as_str().map(str::len), Some(19), "{ready}");
        assert_eq!(kakao.order(&tid).expect("order")["status"], "READY");
        assert_eq!(kakao.ready_request(&tid).expect("request")["total_amount"], 23_000);

        let (status, early) = c.post("approve", &approve_body(&tid, "NOTYETAUTHENTICATED1")).await;
        assert_eq!(status, 400);
        assert!(early["error_code"].as_i64().is_some_and(|c| c < 0), "{early}");

        let token = kakao.approve_in_app(&tid);
        assert_eq!(kakao.order(&tid).expect("order")["status"], "AUTH_PASSWORD");
        let (status, wrong) = c.post("approve", &approve_body(&tid, "WRONGTOKEN0000000000")).await;
        assert_eq!(
            (status, wrong["error_code"].as_i64()),
            (400, Some(error_code::NOT_AUTHENTICATED))
        );
        let mut other_order = approve_body(&tid, &token);
        other_order["partner_order_id"] = json!("ord_02");
        let (status, _) = c.post("approve", &other_order).await;
        assert_eq!(status, 400);

        let (status, approved) = c.post("approve", &approve_body(&tid, &token)).await;
        assert_eq!(status, 200, "{approved}");
        assert_eq!(approved["amount"]["total"], 23_000);
        assert_eq!(approved["amount"]["vat"], 2091);
        assert_eq!(approved["payment_method_type"], "CARD");
        assert!(approved["card_info"].is_object());
        assert_eq!(approved["aid"].as_str().map(str::len), Some(20));
        let (status, order) = c.post("order", &json!({ "cid": TEST_CID, "tid": tid })).await;
        assert_eq!(status, 200);
        assert_eq!(order["status"], "SUCCESS_PAYMENT");
        assert_eq!(order["cancel_available_amount"]["total"], 23_000);
        assert_eq!(order["payment_action_details"][0]["payment_action_type"], "PAYMENT");

        let (status, again) = c.post("approve", &approve_body(&tid, &token)).await;
        assert_eq!(
            (status, again["error_code"].as_i64()),
            (400, Some(error_code::ALREADY_APPROVED))
        );
        assert_eq!(kakao.approve_count(), 1);
    }

    #[tokio::test]
    async fn the_redirect_page_sends_the_browser_to_approval_url_with_a_pg_token() {
        let kakao = FakeKakaoPay::start(TEST_SECRET_KEY).await;
        let c = Client::new(&kakao, TEST_SECRET_KEY);
        let (_, ready) = c.post("ready", &ready_body(5000)).await;
        let pc = ready["next_redirect_pc_url"].as_str().expect("url");
        super::super::install_tls();
        let browser = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        let res = browser.get(pc).send().await.expect("answer");
        assert_eq!(res.status().as_u16(), 302);
        let location = res.headers()["location"].to_str().expect("ASCII").to_owned();
        let tid = ready["tid"].as_str().expect("tid");
        let token = kakao.approve_in_app(tid);
        assert_eq!(
            location,
            format!("http://shop.test/pay/kakao/approve?order=ord_01&pg_token={token}")
        );
    }

    #[tokio::test]
    async fn a_partial_cancel_then_an_over_cancel() {
        let kakao = FakeKakaoPay::start(TEST_SECRET_KEY).await;
        let c = Client::new(&kakao, TEST_SECRET_KEY);
        let tid = paid(&kakao, &c, 10_000).await;
        let cancel = |amount: i64, guard: Option<i64>| {
            let mut b = json!({
                "cid": TEST_CID, "tid": tid, "cancel_amount": amount, "cancel_tax_free_amount": 0,
            });
            if let Some(g) = guard {
                b["cancel_available_amount"] = json!(g);
            }
            b
        };
        let (status, part) = c.post("cancel", &cancel(3000, Some(10_000))).await;
        assert_eq!(status, 200, "{part}");
        assert_eq!(part["status"], "PART_CANCEL_PAYMENT");
        assert_eq!(part["approved_cancel_amount"]["total"], 3000);
        assert_eq!(part["approved_cancel_amount"]["vat"], 273);
        assert_eq!(part["canceled_amount"]["total"], 3000);
        assert_eq!(part["cancel_available_amount"]["total"], 7000);

        let (status, stale) = c.post("cancel", &cancel(1000, Some(10_000))).await;
        assert_eq!(
            (status, stale["error_code"].as_i64()),
            (400, Some(error_code::CANCEL_AVAILABLE_MISMATCH))
        );
        let (status, over) = c.post("cancel", &cancel(8000, None)).await;
        assert_eq!(status, 400);
        assert!(over["error_code"].as_i64().is_some_and(|c| c < 0), "{over}");

        let (status, rest) = c.post("cancel", &cancel(7000, Some(7000))).await;
        assert_eq!(status, 200, "{rest}");
        assert_eq!(rest["status"], "CANCEL_PAYMENT");
        assert_eq!(rest["canceled_amount"]["vat"], 909);
        assert_eq!(rest["cancel_available_amount"]["total"], 0);
        let (status, again) = c.post("cancel", &cancel(1, None)).await;
        assert_eq!(
            (status, again["error_code"].as_i64()),
            (400, Some(error_code::ALREADY_CANCELLED))
        );
        assert_eq!(kakao.cancel_count(), 2);
        assert_eq!(
            kakao.order(&tid).expect("order")["payment_action_details"]
                .as_array()
                .map(Vec::len),
            Some(3)
        );
    }

    #[tokio::test]
    async fn queued_failures_hit_the_calls_they_name() {
        let kakao = FakeKakaoPay::start(TEST_SECRET_KEY).await;
        let c = Client::new(&kakao, TEST_SECRET_KEY);
        kakao.fail_next(KakaoFailure::ServerError);
        let (status, down) = c.post("ready", &ready_body(1000)).await;
        assert_eq!((status, down["error_code"].as_i64()), (503, Some(-9798)));

        kakao.fail_next(KakaoFailure::Decline);
        let (_, ready) = c.post("ready", &ready_body(1000)).await;
        let tid = ready["tid"].as_str().expect("tid").to_owned();
        let token = kakao.approve_in_app(&tid);
        let (status, declined) = c.post("approve", &approve_body(&tid, &token)).await;
        assert_eq!((status, declined["error_code"].as_i64()), (400, Some(-780)));
        assert_eq!(declined["extras"]["method_result_code"], "USER_LOCKED");
        assert_eq!(kakao.order(&tid).expect("order")["status"], "FAIL_PAYMENT");

        kakao.fail_next(KakaoFailure::AnswerAmount(100));
        let tid = paid(&kakao, &c, 1000).await;
        assert_eq!(kakao.order(&tid).expect("order")["amount"]["total"], 100);
        assert_eq!(kakao.approve_count(), 1);
    }
}
