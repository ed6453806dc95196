//! A fake Sweet Tracker (스마트택배 API, messaging.md §4): `GET /api/v1/companylist`,
//! `GET /api/v1/recommend` and `GET /api/v1/trackingInfo`, authenticated by the `t_key` query
//! parameter alone.
//!
//! Refusals are HTTP 200 with `{"status": false, "msg": "<Korean reason>", "code": "<n>"}`, as
//! Sweet Tracker answers: a missing or wrong `t_key`, a carrier code not in `companylist`, or
//! an invoice no test set up (see [`error_code`]; the values are ours, the vendor's are not
//! published). A shipment exists once a test calls [`FakeSweetTracker::set_level`]; its
//! `trackingDetails` hold one entry per level reached, an hour apart from six hours before
//! it was set up (so level 6 is an hour ago), in the fake's fixed story of every shipment.
//!
//! ```no_run
//! # async fn demo() {
//! use jangteo_tests::fakes::sweettracker::{FakeSweetTracker, TEST_T_KEY};
//! let tracker = FakeSweetTracker::start(TEST_T_KEY).await;
//! tracker.set_level("04", "123456789012", 3); // CJ대한통운, 배송중
//! // settings: shipping.sweettracker.base_url = tracker.base_url() …
//! tracker.set_level("04", "123456789012", 6); // 배송 완료: complete = true
//! # }
//! ```

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
};

use axum::{
    Json, Router,
    extract::{Query, State},
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// A `t_key` for tests.
pub const TEST_T_KEY: &str = "TESTtKey0123456789abcdef";

/// The carriers `companylist` serves: code, name (messaging.md §4).
pub const CARRIERS: [(&str, &str); 5] = [
    ("01", "우체국택배"),
    ("04", "CJ대한통운"),
    ("05", "한진택배"),
    ("06", "로젠택배"),
    ("08", "롯데택배"),
];

/// What `kind` says at each level, 1 to 6 (messaging.md §4).
pub const LEVEL_KINDS: [&str; 6] = ["배송준비중", "집화완료", "배송중", "지점 도착", "배송출발", "배송 완료"];

/// Where each level's event happens, in the fake's story of every shipment.
const LEVEL_PLACES: [&str; 6] = [
    "서울강남",
    "서울강남",
    "대전HUB",
    "부산해운대",
    "부산해운대",
    "부산해운대",
];

/// The `code`s of the fake's `status: false` answers: our own values (Sweet Tracker's are
/// not published); adapters should test `status == false`, not the code.
pub mod error_code {
    /// A required parameter is missing.
    pub const MISSING_PARAMETER: &str = "101";
    /// A carrier code not in `companylist`.
    pub const UNKNOWN_CARRIER: &str = "102";
    /// A missing or wrong `t_key`.
    pub const INVALID_KEY: &str = "104";
    /// No shipment with that carrier and invoice.
    pub const NO_SUCH_INVOICE: &str = "105";
}

struct Shipment {
    level: u8,
    /// When level 1 happened.
    start: DateTime<Utc>,
}

#[derive(Default)]
struct Inner {
    /// `(carrier code, invoice)` → shipment.
    shipments: HashMap<(String, String), Shipment>,
    calls: Vec<(String, String)>,
}

struct Shared {
    t_key: String,
    inner: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking test thread must not hide the record from the others.
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A fake Sweet Tracker on `127.0.0.1`; stops when dropped.
pub struct FakeSweetTracker {
    shared: Arc<Shared>,
    root: String,
    server: JoinHandle<()>,
}

impl Drop for FakeSweetTracker {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeSweetTracker {
    /// Starts the fake on a random port, accepting `t_key`.
    pub async fn start(t_key: &str) -> FakeSweetTracker {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared {
            t_key: t_key.to_owned(),
            inner: Mutex::new(Inner::default()),
        });
        let app = Router::new()
            .route("/api/v1/companylist", get(company_list))
            .route("/api/v1/recommend", get(recommend))
            .route("/api/v1/trackingInfo", get(tracking_info))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeSweetTracker {
            shared,
            root: format!("http://{addr}"),
            server,
        }
    }

    /// `http://127.0.0.1:port`, no trailing slash: what `https://info.sweettracker.co.kr` is
    /// in production.
    pub fn base_url(&self) -> String {
        self.root.clone()
    }

    /// Puts shipment `invoice` of carrier `code` at `level` (1 배송준비중 … 6 배송 완료),
    /// creating it if needed. Moving a level back drops the later details. Panics on a level
    /// outside 1..=6 or a carrier not in [`CARRIERS`].
    pub fn set_level(&self, code: &str, invoice: &str, level: u8) {
        assert!((1..=6).contains(&level), "Sweet Tracker levels are 1 to 6, not {level}");
        assert!(carrier_name(code).is_some(), "carrier {code} is not in companylist");
        let mut inner = self.shared.lock();
        inner
            .shipments
            .entry((code.to_owned(), invoice.to_owned()))
            // Fixed at creation, six hours back: every level's time stays put as the shipment
            // moves on, and even level 6 (an hour ago) is in the past.
            .or_insert_with(|| Shipment {
                level,
                // Whole seconds, as the vendor's times are.
                start: DateTime::from_timestamp(Utc::now().timestamp() - 6 * 3600, 0).unwrap_or_default(),
            })
            .level = level;
    }

    /// The `trackingInfo` requests received, as `(t_code, t_invoice)`, oldest first (refused
    /// ones included, with empty strings for missing parameters).
    pub fn calls(&self) -> Vec<(String, String)> {
        self.shared.lock().calls.clone()
    }
}

fn carrier_name(code: &str) -> Option<&'static str> {
    CARRIERS.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// Sweet Tracker's refusal, HTTP 200.
fn refusal(code: &str, msg: &str) -> Response {
    Json(json!({ "status": false, "msg": msg, "code": code })).into_response()
}

/// The `t_key` check every path does first.
fn key_ok(shared: &Shared, q: &HashMap<String, String>) -> bool {
    q.get("t_key").is_some_and(|k| *k == shared.t_key)
}

fn invalid_key() -> Response {
    refusal(error_code::INVALID_KEY, "유효하지 않은 키입니다.")
}

async fn company_list(State(shared): State<Arc<Shared>>, Query(q): Query<HashMap<String, String>>) -> Response {
    if !key_ok(&shared, &q) {
        return invalid_key();
    }
    let companies: Vec<Value> = CARRIERS
        .iter()
        .map(|(code, name)| json!({ "Code": code, "Name": name, "International": "false" }))
        .collect();
    Json(json!({ "Company": companies })).into_response()
}

/// The carriers that have a shipment with this invoice.
async fn recommend(State(shared): State<Arc<Shared>>, Query(q): Query<HashMap<String, String>>) -> Response {
    if !key_ok(&shared, &q) {
        return invalid_key();
    }
    let Some(invoice) = q.get("t_invoice").filter(|i| !i.is_empty()) else {
        return refusal(error_code::MISSING_PARAMETER, "운송장 번호를 입력해 주세요.");
    };
    let inner = shared.lock();
    let found: Vec<Value> = CARRIERS
        .iter()
        .filter(|(code, _)| inner.shipments.contains_key(&((*code).to_owned(), invoice.clone())))
        .map(|(code, name)| json!({ "Code": code, "Name": name }))
        .collect();
    Json(json!({ "Recommend": found })).into_response()
}

async fn tracking_info(State(shared): State<Arc<Shared>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let code = q.get("t_code").cloned().unwrap_or_default();
    let invoice = q.get("t_invoice").cloned().unwrap_or_default();
    let mut inner = shared.lock();
    inner.calls.push((code.clone(), invoice.clone()));
    if !key_ok(&shared, &q) {
        return invalid_key();
    }
    if code.is_empty() || invoice.is_empty() {
        return refusal(
            error_code::MISSING_PARAMETER,
            "택배사 코드와 운송장 번호를 입력해 주세요.",
        );
    }
    if carrier_name(&code).is_none() {
        return refusal(error_code::UNKNOWN_CARRIER, "택배사 코드가 올바르지 않습니다.");
    }
    let Some(s) = inner.shipments.get(&(code.clone(), invoice.clone())) else {
        return refusal(
            error_code::NO_SUCH_INVOICE,
            "유효하지 않은 운송장번호 이거나 택배사 코드 입니다.",
        );
    };
    Json(tracking_json(&invoice, s)).into_response()
}

/// One `trackingDetails` entry.
fn detail(level: u8, at: DateTime<Utc>) -> Value {
    let i = usize::from(level - 1);
    let seoul = at.with_timezone(&chrono_tz::Asia::Seoul);
    json!({
        "time": at.timestamp_millis(),
        "timeString": seoul.format("%Y-%m-%d %H:%M:%S").to_string(),
        "where": LEVEL_PLACES[i],
        "kind": LEVEL_KINDS[i],
        "level": level,
        "telno": "1588-1255",
        "telno2": if level == 5 { "010-1234-5678" } else { "" },
        "manName": if level == 5 { "김배송" } else { "" },
        "manPic": "",
        "remark": null,
        "code": null,
    })
}

fn tracking_json(invoice: &str, s: &Shipment) -> Value {
    let details: Vec<Value> = (1..=s.level)
        .map(|l| detail(l, s.start + Duration::hours(i64::from(l - 1))))
        .collect();
    let complete = s.level == 6;
    let last = details.last().cloned().unwrap_or(Value::Null);
    json!({
        "result": "Y",
        "senderName": "장터상점",
        "receiverName": "홍*동",
        "receiverAddr": "부산광역시 해운대구 *****",
        "itemName": "테스트 상품",
        "itemImage": "",
        "invoiceNo": invoice,
        "orderNumber": null,
        "adUrl": null,
        "estimate": null,
        "productInfo": null,
        "zipCode": null,
        "recipient": "",
        "level": s.level,
        "complete": complete,
        "completeYN": if complete { "Y" } else { "N" },
        "firstDetail": details.first().cloned().unwrap_or(Value::Null),
        "lastDetail": last.clone(),
        "lastStateDetail": last,
        "trackingDetails": details,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(tracker: &FakeSweetTracker, path: &str, query: &[(&str, &str)]) -> Value {
        let res = super::super::http_client()
            .get(format!("{}{path}", tracker.base_url()))
            .query(query)
            .send()
            .await
            .expect("answer");
        assert_eq!(res.status().as_u16(), 200, "Sweet Tracker answers 200 even to refusals");
        res.json().await.expect("JSON")
    }

    #[tokio::test]
    async fn companylist_has_capitalized_keys_and_the_five_carriers() {
        let tracker = FakeSweetTracker::start(TEST_T_KEY).await;
        let list = get(&tracker, "/api/v1/companylist", &[("t_key", TEST_T_KEY)]).await;
        let codes: Vec<&str> = list["Company"]
            .as_array()
            .expect("Company")
            .iter()
            .map(|c| c["Code"].as_str().expect("Code"))
            .collect();
        assert_eq!(codes, ["01", "04", "05", "06", "08"]);
        assert_eq!(list["Company"][1]["Name"], "CJ대한통운");
        assert_eq!(list["Company"][1]["International"], "false");
        let bad = get(&tracker, "/api/v1/companylist", &[("t_key", "nope")]).await;
        assert_eq!((&bad["status"], &bad["code"]), (&json!(false), &json!("104")));
    }

    #[tokio::test]
    async fn tracking_walks_levels_one_to_six_and_completes_only_at_six() {
        let tracker = FakeSweetTracker::start(TEST_T_KEY).await;
        for level in 1..=6u8 {
            tracker.set_level("04", "123456789012", level);
            let info = get(
                &tracker,
                "/api/v1/trackingInfo",
                &[("t_key", TEST_T_KEY), ("t_code", "04"), ("t_invoice", "123456789012")],
            )
            .await;
            assert_eq!(info["level"], level, "{info}");
            assert_eq!(info["complete"], level == 6);
            assert_eq!(info["completeYN"], if level == 6 { "Y" } else { "N" });
            let details = info["trackingDetails"].as_array().expect("details");
            assert_eq!(details.len(), usize::from(level));
            let last = details.last().expect("a detail");
            assert_eq!(last["kind"], LEVEL_KINDS[usize::from(level - 1)]);
            assert_eq!(last["level"], level);
            assert_eq!(info["lastDetail"], *last);
            let times: Vec<i64> = details.iter().map(|d| d["time"].as_i64().expect("ms")).collect();
            assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
            let ts = last["timeString"].as_str().expect("timeString");
            let parsed = chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S").expect("format");
            let seoul = chrono::DateTime::from_timestamp_millis(times[times.len() - 1])
                .expect("ms")
                .with_timezone(&chrono_tz::Asia::Seoul)
                .naive_local();
            assert_eq!(parsed, seoul, "timeString is Seoul time");
        }
        assert_eq!(tracker.calls().len(), 6);
        assert_eq!(tracker.calls()[0], ("04".to_owned(), "123456789012".to_owned()));
    }

    #[tokio::test]
    async fn refusals_are_200_with_status_false() {
        let tracker = FakeSweetTracker::start(TEST_T_KEY).await;
        tracker.set_level("05", "555", 2);
        for (query, code) in [
            ([("t_key", "wrong"), ("t_code", "05"), ("t_invoice", "555")], "104"),
            ([("t_key", TEST_T_KEY), ("t_code", "99"), ("t_invoice", "555")], "102"),
            ([("t_key", TEST_T_KEY), ("t_code", "04"), ("t_invoice", "555")], "105"),
        ] {
            let r = get(&tracker, "/api/v1/trackingInfo", &query).await;
            assert_eq!(r["status"], false, "{r}");
            assert_eq!(r["code"], code);
            assert!(r["msg"].as_str().is_some_and(|m| !m.is_ascii()), "a Korean reason: {r}");
        }
        let rec = get(
            &tracker,
            "/api/v1/recommend",
            &[("t_key", TEST_T_KEY), ("t_invoice", "555")],
        )
        .await;
        assert_eq!(rec["Recommend"], json!([{ "Code": "05", "Name": "한진택배" }]));
        assert_eq!(tracker.calls().len(), 3);
    }
}
