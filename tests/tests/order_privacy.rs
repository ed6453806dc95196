//! What each side may read of an order: roles without personal data can't unmask an
//! order by searching for part of a phone or name (only a whole name, or a phone's last
//! four digits, which the masked order shows anyway), staff notes never reach the
//! customer, and the audit row of a deposit or a staff cancel commits with the change or
//! not at all.

use commerce::staff::Role;
use jangteo_tests::{CHECKOUT, TestApp, checkout_input, data, product_with_stock, staff_session, uuid_of};
use serde_json::{Value, json};

const SEARCH: &str = "query($q: String!) { orders(first: 10, filter: {search: $q}) {
    edges { node { number ordererName phone } } } }";
const ORDER_BY_NUMBER: &str = "query($n: String!, $e: String!) { orderByNumber(number: $n, email: $e) {
    number status history { actor fromStatus toStatus note at } timeline { status at }
    refunds { amount reason status } } }";
const ADMIN_ORDER: &str = "query($n: String) { order(number: $n) { status history { actor toStatus note } } }";
const DEPOSIT: &str = "mutation($id: ID!, $a: Won!) { orderMarkDeposited(orderId: $id, amount: $a) {
    order { status } userErrors { code } } }";
const SET_STATUS: &str = "mutation($id: ID!, $s: OrderStatus!, $note: String) {
    orderSetStatus(orderId: $id, status: $s, note: $note) { order { status } userErrors { code } } }";
const STAFF_CANCEL: &str = "mutation($id: ID!, $r: String) { orderCancel(orderId: $id, reason: $r) {
    order { status } userErrors { code } } }";
const GUEST_CANCEL: &str = "mutation($n: String!, $e: String, $r: String) {
    orderCancel(input: {number: $n, email: $e, reason: $r}) { order { status } userErrors { code } } }";

async fn place_order(app: &TestApp, variant: &str, email: &str) -> Value {
    let token = app.cart(&[(variant, 1)]).await;
    let r = app
        .gql(CHECKOUT, json!({ "t": token, "i": checkout_input(email) }))
        .await;
    let o = data(&r)["checkoutComplete"]["order"].clone();
    assert!(o["number"].is_string(), "{r}");
    o
}

/// The first error code of a response: a top-level error's, else the payload's.
fn code(r: &Value) -> Value {
    if let Some(e) = r.get("errors") {
        return e[0]["extensions"]["code"].clone();
    }
    let payload = r["data"]
        .as_object()
        .and_then(|o| o.values().next())
        .cloned()
        .unwrap_or_default();
    payload["userErrors"][0]["code"].clone()
}

fn numbers(r: &Value) -> Vec<String> {
    data(r)["orders"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["number"].as_str().expect("number").to_owned())
        .collect()
}

#[tokio::test]
async fn the_bot_finds_orders_by_number_whole_name_or_phone_end_never_by_parts() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "bot-search", &[(10000, 10)], false).await;
    let o = place_order(&app, &v[0], "buyer@example.com").await;
    let number = o["number"].as_str().expect("number");
    let bot = staff_session(&app.pool, "bot@jangteo.kr", Role::Bot).await;
    let cs = staff_session(&app.pool, "cs@jangteo.kr", Role::Cs).await;
    // checkout_input's orderer and recipient: 홍길동, 010-1234-5678.
    for q in [
        "010-1234-5678",
        "01012345678",
        "12345678",
        "1234",
        "678",
        "홍길",
        "길동",
        "buyer@example.com",
    ] {
        let r = app.admin(&bot, SEARCH, json!({ "q": q })).await;
        assert_eq!(
            numbers(&r),
            Vec::<String>::new(),
            "the bot found an order by {q:?}: {r}"
        );
    }
    // The roles that see personal data still search by name and phone.
    for q in ["010-1234-5678", "홍길동"] {
        let r = app.admin(&cs, SEARCH, json!({ "q": q })).await;
        assert_eq!(numbers(&r), [number], "{q}");
    }
    // By number, the whole name or the phone's end (what Slack's `/order` takes) the bot
    // finds it, masked.
    for q in [number, &number[number.len() - 6..], "홍길동", "5678"] {
        let r = app.admin(&bot, SEARCH, json!({ "q": q })).await;
        assert_eq!(numbers(&r), [number], "{q}");
        let node = &data(&r)["orders"]["edges"][0]["node"];
        assert_eq!(node["ordererName"], "홍*동");
        assert_eq!(node["phone"], "010-****-5678");
    }
}

#[tokio::test]
async fn staff_notes_and_cancel_reasons_never_reach_the_customer() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "notes", &[(10000, 10)], false).await;
    let cs = staff_session(&app.pool, "cs@jangteo.kr", Role::Cs).await;
    let o = place_order(&app, &v[0], "guest@example.com").await;
    let (id, number) = (o["id"].clone(), o["number"].clone());
    let r = app.admin(&cs, DEPOSIT, json!({ "id": id, "a": o["total"] })).await;
    assert_eq!(data(&r)["orderMarkDeposited"]["order"]["status"], "PAID", "{r}");
    let note = "INTERNAL-NOTE 블랙리스트 고객, 전화 응대 주의";
    let r = app
        .admin(&cs, SET_STATUS, json!({ "id": id, "s": "PREPARING", "note": note }))
        .await;
    assert_eq!(data(&r)["orderSetStatus"]["order"]["status"], "PREPARING", "{r}");
    let reason = "INTERNAL-REASON 재고 착오로 취소";
    let r = app.admin(&cs, STAFF_CANCEL, json!({ "id": id, "r": reason })).await;
    assert_eq!(data(&r)["orderCancel"]["order"]["status"], "CANCELLED", "{r}");

    let r = app
        .gql(ORDER_BY_NUMBER, json!({ "n": number, "e": "guest@example.com" }))
        .await;
    let shown = &data(&r)["orderByNumber"];
    let statuses: Vec<&str> = shown["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["toStatus"].as_str().expect("status"))
        .collect();
    assert_eq!(
        statuses,
        ["PENDING_PAYMENT", "AWAITING_DEPOSIT", "PAID", "PREPARING", "CANCELLED"],
        "the customer still sees every change"
    );
    // The refund of the staff cancel shows, without the staff's reason.
    assert_eq!(
        shown["refunds"],
        json!([{ "amount": o["total"], "reason": null, "status": "PENDING" }])
    );
    let text = r.to_string();
    for secret in ["INTERNAL-NOTE", "INTERNAL-REASON", "블랙리스트", "재고 착오", "staff:"] {
        assert!(!text.contains(secret), "{secret:?} reached the customer: {text}");
    }

    // Staff read both notes in the admin order's history.
    let r = app.admin(&cs, ADMIN_ORDER, json!({ "n": number })).await;
    let notes: Vec<&str> = data(&r)["order"]["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| h["note"].as_str().expect("note"))
        .collect();
    assert!(notes.contains(&note), "{r}");
    assert!(notes.contains(&reason), "{r}");
}

#[tokio::test]
async fn the_customer_reads_back_their_own_cancel_reason() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "own-reason", &[(10000, 10)], false).await;
    let o = place_order(&app, &v[0], "guest@example.com").await;
    let r = app
        .gql(
            GUEST_CANCEL,
            json!({ "n": o["number"], "e": "guest@example.com", "r": "마음이 바뀌었어요" }),
        )
        .await;
    assert_eq!(data(&r)["orderCancel"]["order"]["status"], "CANCELLED", "{r}");
    let r = app
        .gql(ORDER_BY_NUMBER, json!({ "n": o["number"], "e": "guest@example.com" }))
        .await;
    let history = data(&r)["orderByNumber"]["history"]
        .as_array()
        .expect("history")
        .clone();
    let last = history.last().expect("an entry");
    assert_eq!(last["toStatus"], "CANCELLED");
    assert_eq!(last["note"], "마음이 바뀌었어요");
    assert!(last["actor"].is_null(), "actors are for staff: {r}");
    // The system's own texts are not the customer's.
    assert_eq!(history[0]["note"], "");
}

/// Makes every audit insert of `action` fail, as a full disk or a broken constraint would.
async fn break_audit(app: &TestApp, action: &str) {
    for ddl in [
        "CREATE TABLE IF NOT EXISTS refused_audit (action text PRIMARY KEY)",
        "CREATE OR REPLACE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF EXISTS (SELECT 1 FROM refused_audit WHERE action = NEW.action) THEN
                 RAISE EXCEPTION 'audit refused';
             END IF;
             RETURN NEW;
         END $$",
        "CREATE OR REPLACE TRIGGER refuse_audit BEFORE INSERT ON audit_log
         FOR EACH ROW EXECUTE FUNCTION refuse_audit()",
    ] {
        sqlx::query(ddl).execute(&app.pool).await.expect("ddl");
    }
    sqlx::query("INSERT INTO refused_audit (action) VALUES ($1)")
        .bind(action)
        .execute(&app.pool)
        .await
        .expect("refuse");
}

async fn mend_audit(app: &TestApp) {
    sqlx::query("DELETE FROM refused_audit")
        .execute(&app.pool)
        .await
        .expect("mend");
}

async fn order_row(app: &TestApp, id: &Value) -> (String, i64, i64) {
    let id = uuid_of(id.as_str().expect("id"));
    sqlx::query_as(
        "SELECT status, (SELECT count(*) FROM payments WHERE order_id = $1),
                (SELECT count(*) FROM order_history WHERE order_id = $1)
           FROM orders WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .expect("order")
}

async fn audit_rows(app: &TestApp, action: &str, number: &Value) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = $1 AND target = $2")
        .bind(action)
        .bind(number.as_str().expect("number"))
        .fetch_one(&app.pool)
        .await
        .expect("audit")
}

#[tokio::test]
async fn a_deposit_or_staff_cancel_commits_with_its_audit_row_or_not_at_all() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "audit-tx", &[(10000, 10)], false).await;
    let cs = staff_session(&app.pool, "cs@jangteo.kr", Role::Cs).await;
    let o = place_order(&app, &v[0], "buyer@example.com").await;
    let (id, number) = (o["id"].clone(), o["number"].clone());
    let before = order_row(&app, &id).await;
    assert_eq!(before.0, "AWAITING_DEPOSIT");

    // The audit insert fails: the deposit is not recorded either.
    break_audit(&app, "order.deposit").await;
    let r = app.admin(&cs, DEPOSIT, json!({ "id": id, "a": o["total"] })).await;
    assert_eq!(code(&r), "INTERNAL", "{r}");
    assert_eq!(
        order_row(&app, &id).await,
        before,
        "the deposit outlived its failed audit row"
    );
    mend_audit(&app).await;
    let r = app.admin(&cs, DEPOSIT, json!({ "id": id, "a": o["total"] })).await;
    assert_eq!(data(&r)["orderMarkDeposited"]["order"]["status"], "PAID", "{r}");
    assert_eq!(audit_rows(&app, "order.deposit", &number).await, 1);
    let paid = order_row(&app, &id).await;
    assert_eq!((paid.0.as_str(), paid.1), ("PAID", 1));

    // The same for a staff cancel: status, stock and refund stay as they were.
    let allocated = || async {
        sqlx::query_scalar::<_, i32>("SELECT allocated FROM variants WHERE id = $1")
            .bind(uuid_of(&v[0]))
            .fetch_one(&app.pool)
            .await
            .expect("variant")
    };
    assert_eq!(allocated().await, 1);
    break_audit(&app, "order.cancel").await;
    let r = app
        .admin(&cs, STAFF_CANCEL, json!({ "id": id, "r": "고객 요청" }))
        .await;
    assert_eq!(code(&r), "INTERNAL", "{r}");
    assert_eq!(
        order_row(&app, &id).await,
        paid,
        "the cancel outlived its failed audit row"
    );
    assert_eq!(allocated().await, 1, "stock released without an audit row");
    mend_audit(&app).await;
    let r = app
        .admin(&cs, STAFF_CANCEL, json!({ "id": id, "r": "고객 요청" }))
        .await;
    assert_eq!(data(&r)["orderCancel"]["order"]["status"], "CANCELLED", "{r}");
    assert_eq!(audit_rows(&app, "order.cancel", &number).await, 1);
    assert_eq!(allocated().await, 0);
}
