//! Toss Payments end to end (issue 12): the payment window's confirmation, its failure
//! modes, webhooks, virtual accounts and refunds, through the real service against the
//! fake Toss (`fakes::toss`).

use std::time::Duration;

use base64::Engine as _;

use jangteo_tests::{
    data,
    fakes::toss::{TossFailure, TossMethod},
    payments::{ORDER_CANCEL, ORDER_REFUND, PRICE, PayShop, STOREFRONT, TOSS_CLIENT},
};
use serde_json::{Value, json};

/// Checks out `qty` by Toss and has the customer authorise it in the window: (order
/// number, total, paymentKey).
async fn authorised(shop: &PayShop, qty: i32) -> (String, i64, String) {
    let placed = shop.checkout("TOSS", qty).await;
    assert_eq!(placed["userErrors"], json!([]), "{placed}");
    let number = placed["order"]["number"].as_str().expect("number").to_owned();
    let total = placed["order"]["total"].as_i64().expect("total");
    let key = shop.toss.authorize(&number, "쉐이크", total, TossMethod::Card);
    (number, total, key)
}

fn code(payload: &Value) -> &str {
    payload["userErrors"][0]["code"].as_str().unwrap_or("")
}

fn confirms(shop: &PayShop) -> usize {
    shop.toss
        .calls()
        .iter()
        .filter(|c| c.path == "/v1/payments/confirm")
        .count()
}

#[tokio::test]
async fn a_card_payment_is_confirmed_once_and_the_order_is_paid() {
    let shop = PayShop::start().await;
    let placed = shop.checkout("TOSS", 2).await;
    assert_eq!(placed["userErrors"], json!([]), "{placed}");
    let order = &placed["order"];
    let number = order["number"].as_str().expect("number");
    let total = order["total"].as_i64().expect("total");
    assert_eq!(order["status"], "PENDING_PAYMENT");
    assert_eq!(total, 2 * PRICE + 3_000, "shipping: ₩50,000 is not reached: {placed}");
    let s = &placed["paymentSession"];
    assert_eq!(
        (&s["provider"], &s["method"], &s["orderId"], &s["amount"]),
        (&json!("TOSS"), &json!("TOSS"), &json!(number), &json!(total))
    );
    assert_eq!(s["clientKey"], TOSS_CLIENT);
    assert_eq!(s["customerKey"], "ANONYMOUS", "a guest");
    assert_eq!(s["successUrl"], format!("{STOREFRONT}/payments/toss/success"));
    assert!(s["redirectUrl"].is_null() && s["paymentId"].is_null(), "{s}");
    assert_eq!(shop.available().await, 18, "stock is held while the window is open");

    let key = shop.toss.authorize(number, "쉐이크", total, TossMethod::Card);
    let paid = shop.confirm_toss(number, &key, total).await;
    assert_eq!(paid["userErrors"], json!([]), "{paid}");
    assert_eq!(paid["order"]["status"], "PAID");
    let p = &paid["order"]["payments"][0];
    assert_eq!(
        (&p["provider"], &p["status"], &p["amount"]),
        (&json!("TOSS"), &json!("PAID"), &json!(total))
    );
    assert!(p["receiptUrl"].as_str().is_some_and(|u| !u.is_empty()), "{p}");
    assert_eq!(shop.toss.confirm_count(), 1);
    let call = shop
        .toss
        .calls()
        .into_iter()
        .find(|c| c.path == "/v1/payments/confirm")
        .expect("confirm");
    assert_eq!(
        call.body,
        json!({ "paymentKey": key, "orderId": number, "amount": total })
    );
    assert!(
        call.idempotency_key.is_some_and(|k| !k.is_empty()),
        "confirm carries an Idempotency-Key"
    );

    // The customer's second click (or the success page reloaded) returns the paid order.
    let again = shop.confirm_toss(number, &key, total).await;
    assert_eq!(
        (&again["userErrors"], &again["order"]["status"]),
        (&json!([]), &json!("PAID"))
    );
    assert_eq!(shop.toss.confirm_count(), 1, "charged once");
    // Someone else's guess at the order number with a made-up key learns nothing.
    let guess = shop.confirm_toss(number, "tgen_guessed", total).await;
    assert_eq!(code(&guess), "ORDER_NOT_PAYABLE", "{guess}");
    assert!(guess["order"].is_null());
}

#[tokio::test]
async fn a_tampered_amount_is_refused_before_toss_is_asked() {
    let shop = PayShop::start().await;
    let (number, total, key) = authorised(&shop, 1).await;
    let r = shop.confirm_toss(&number, &key, total - 14_000).await;
    assert_eq!(code(&r), "AMOUNT_MISMATCH", "{r}");
    assert_eq!(confirms(&shop), 0, "Toss was never asked to confirm");
    assert_eq!(shop.order(&number).await["status"], "PENDING_PAYMENT");
}

#[tokio::test]
async fn ten_concurrent_confirmations_charge_once_and_all_see_the_paid_order() {
    let shop = PayShop::start().await;
    let (number, total, key) = authorised(&shop, 1).await;
    let answers = futures::future::join_all((0..10).map(|_| shop.confirm_toss(&number, &key, total))).await;
    for a in &answers {
        assert_eq!(
            (&a["userErrors"], &a["order"]["status"]),
            (&json!([]), &json!("PAID")),
            "{a}"
        );
    }
    assert_eq!(shop.toss.confirm_count(), 1, "one charge at Toss");
    let o = shop.order(&number).await;
    assert_eq!(o["payments"].as_array().map(Vec::len), Some(1), "{o}");
}

#[tokio::test]
async fn a_declined_card_leaves_the_order_payable_with_tosss_code() {
    let shop = PayShop::start().await;
    let (number, total, key) = authorised(&shop, 1).await;
    shop.toss.fail_next(TossFailure::Decline);
    let r = shop.confirm_toss(&number, &key, total).await;
    assert_eq!(code(&r), "PAYMENT_DECLINED", "{r}");
    let message = r["userErrors"][0]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("REJECT_CARD_COMPANY"),
        "the gateway's code is shown: {message}"
    );
    let o = shop.order(&number).await;
    assert_eq!(o["status"], "PENDING_PAYMENT");
    assert_eq!(o["payments"][0]["status"], "FAILED");
    // Another card in a new window.
    let second = shop
        .toss
        .authorize(&number, "쉐이크", total, TossMethod::EasyPay("토스페이"));
    let paid = shop.confirm_toss(&number, &second, total).await;
    assert_eq!(paid["order"]["status"], "PAID", "{paid}");
}

#[tokio::test]
async fn a_toss_server_error_fails_cleanly_and_a_retry_pays() {
    let shop = PayShop::start().await;
    let (number, total, key) = authorised(&shop, 1).await;
    shop.toss.fail_next(TossFailure::ServerError);
    let r = shop.confirm_toss(&number, &key, total).await;
    assert_eq!(code(&r), "PAYMENT_FAILED", "{r}");
    assert!(
        r["userErrors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("FAILED_INTERNAL_SYSTEM_PROCESSING")
    );
    assert_eq!(shop.order(&number).await["status"], "PENDING_PAYMENT");
    let paid = shop.confirm_toss(&number, &key, total).await;
    assert_eq!(paid["order"]["status"], "PAID", "{paid}");
    assert_eq!(shop.toss.confirm_count(), 1);
}

#[tokio::test]
async fn a_lost_answer_is_settled_by_the_retry_with_the_same_idempotency_key() {
    let shop = PayShop::start_with(1).await;
    let (number, total, key) = authorised(&shop, 1).await;
    // Toss approves, but the answer comes after our 1 s limit.
    shop.toss.fail_next(TossFailure::Timeout(Duration::from_secs(3)));
    let r = shop.confirm_toss(&number, &key, total).await;
    assert_eq!(code(&r), "PAYMENT_FAILED", "{r}");
    assert!(
        r["userErrors"][0]["message"].as_str().unwrap_or("").contains("TIMEOUT"),
        "{r}"
    );
    assert_eq!(
        shop.order(&number).await["status"],
        "PENDING_PAYMENT",
        "never PAID without Toss saying so"
    );
    let paid = shop.confirm_toss(&number, &key, total).await;
    assert_eq!(paid["order"]["status"], "PAID", "{paid}");
    assert_eq!(shop.toss.confirm_count(), 1, "the retry got Toss's stored answer");
    let keys: Vec<_> = shop
        .toss
        .calls()
        .into_iter()
        .filter(|c| c.path == "/v1/payments/confirm")
        .map(|c| c.idempotency_key)
        .collect();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0], keys[1], "the same operation, the same key");
}

#[tokio::test]
async fn a_lost_answer_is_settled_by_tosss_webhook_and_a_replay_changes_nothing() {
    let shop = PayShop::start_with(1).await;
    let (number, total, key) = authorised(&shop, 1).await;
    shop.toss.fail_next(TossFailure::Timeout(Duration::from_secs(3)));
    let r = shop.confirm_toss(&number, &key, total).await;
    assert_eq!(code(&r), "PAYMENT_FAILED", "{r}");
    let event = shop.toss.status_changed(&key);
    let first = shop.toss_webhook(&event).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(shop.order(&number).await["status"], "PAID");
    let replay = shop.toss_webhook(&event).await;
    assert_eq!(
        (replay.status, replay.json()["result"].clone()),
        (200, json!("duplicate"))
    );
    let o = shop.order(&number).await;
    assert_eq!(o["payments"].as_array().map(Vec::len), Some(1), "{o}");
}

#[tokio::test]
async fn a_forged_status_webhook_is_checked_with_toss_and_pays_nothing() {
    let shop = PayShop::start().await;
    let (number, total, key) = authorised(&shop, 1).await;
    // A confirmation that failed at Toss: the key is ours, the payment still in the window.
    shop.toss.fail_next(TossFailure::ServerError);
    assert_eq!(code(&shop.confirm_toss(&number, &key, total).await), "PAYMENT_FAILED");
    // The body says DONE; Toss says the payment is still in the window.
    let mut forged = shop.toss.status_changed(&key);
    forged["data"]["status"] = "DONE".into();
    forged["data"]["approvedAt"] = "2026-12-03T10:00:00+09:00".into();
    let lookups = || shop.toss.calls().iter().filter(|c| c.method == "GET").count();
    let r = shop.toss_webhook(&forged).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(lookups(), 1, "Toss was asked");
    assert_eq!(shop.order(&number).await["status"], "PENDING_PAYMENT");
    // Gibberish is refused before anything is looked up.
    let bad = shop.toss_webhook(&json!({ "hello": "world" })).await;
    assert_eq!(bad.status, 400);
    // An event about an order that is not ours is answered 200 so Toss stops.
    let foreign = shop
        .toss
        .authorize("ORDER-NOT-OURS-1", "남의 주문", 1000, TossMethod::Card);
    let before = lookups();
    let r = shop.toss_webhook(&shop.toss.status_changed(&foreign)).await;
    assert_eq!((r.status, r.json()["result"].clone()), (200, json!("ignored")));
    // Nor is one naming our order with a paymentKey we never confirmed.
    let mut made_up = shop.toss.status_changed(&foreign);
    made_up["data"]["orderId"] = number.clone().into();
    made_up["data"]["paymentKey"] = "tgen_made_up_key".into();
    let r = shop.toss_webhook(&made_up).await;
    assert_eq!((r.status, r.json()["result"].clone()), (200, json!("ignored")));
    assert_eq!(lookups(), before, "made-up events cost no call to Toss");
}

#[tokio::test]
async fn out_of_order_toss_events_end_in_what_toss_says_now() {
    let shop = PayShop::start().await;
    let (number, total, key) = authorised(&shop, 1).await;
    assert_eq!(shop.confirm_toss(&number, &key, total).await["order"]["status"], "PAID");
    let done = shop.toss.status_changed(&key);
    // Staff cancel in the Toss console; the CANCELED event arrives before the DONE one.
    shop.toss.cancel_in_console(&key);
    let cancelled = shop.toss.status_changed(&key);
    assert_eq!(shop.toss_webhook(&cancelled).await.status, 200);
    assert_eq!(shop.toss_webhook(&done).await.status, 200);
    let o = shop.order(&number).await;
    assert_eq!(o["payments"][0]["status"], "CANCELLED", "the payment follows Toss: {o}");
    assert_eq!(
        o["payments"].as_array().map(Vec::len),
        Some(1),
        "the late DONE paid nothing twice"
    );
}

#[tokio::test]
async fn an_order_unpaid_for_thirty_minutes_expires_and_releases_its_stock() {
    let shop = PayShop::start().await;
    let (number, total, key) = authorised(&shop, 3).await;
    assert_eq!(shop.available().await, 17);
    assert!(shop.expire_after(Duration::from_mins(29)).await.is_empty(), "not yet");
    assert_eq!(shop.expire_after(Duration::from_mins(31)).await, vec![number.clone()]);
    assert_eq!(shop.available().await, 20, "stock released");
    let r = shop.confirm_toss(&number, &key, total).await;
    assert_eq!(code(&r), "ORDER_NOT_PAYABLE", "{r}");
    assert_eq!(confirms(&shop), 0, "an expired order is never confirmed at Toss");
}

#[tokio::test]
async fn money_toss_took_for_an_expired_order_goes_back_and_is_kept_for_staff() {
    let shop = PayShop::start_with(1).await;
    let (number, total, key) = authorised(&shop, 1).await;
    // Approved at Toss, the answer lost; the order then expires.
    shop.toss.fail_next(TossFailure::Timeout(Duration::from_secs(3)));
    let _ = shop.confirm_toss(&number, &key, total).await;
    shop.expire_after(Duration::from_mins(31)).await;
    let r = shop.toss_webhook(&shop.toss.status_changed(&key)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(shop.order(&number).await["status"], "EXPIRED");
    assert_eq!(shop.toss.cancel_count(), 1, "cancelled at Toss");
    assert_eq!(shop.toss.payment(&key).expect("payment")["status"], "CANCELED");
    assert_eq!(
        shop.kept_money().await,
        vec![("TOSS".into(), "EXPIRED".into(), total, true)]
    );
}

#[tokio::test]
async fn an_answer_for_another_amount_is_cancelled_at_toss_and_nothing_is_paid() {
    let shop = PayShop::start().await;
    let (number, total, key) = authorised(&shop, 1).await;
    shop.toss.fail_next(TossFailure::AnswerAmount(total - 5_000));
    let r = shop.confirm_toss(&number, &key, total).await;
    assert_eq!(code(&r), "AMOUNT_MISMATCH", "{r}");
    assert_eq!(shop.order(&number).await["status"], "PENDING_PAYMENT");
    assert_eq!(shop.toss.cancel_count(), 1, "the money went back");
    assert_eq!(shop.kept_money().await.len(), 1);
    // Given back already: nothing for staff to do, no alert.
    let owner = shop.owner().await;
    let r = shop.app.admin(&owner, "{ alerts { kind key } }", json!({})).await;
    let alerts = data(&r)["alerts"].as_array().cloned().unwrap_or_default();
    assert!(alerts.iter().all(|a| a["kind"] != "DEPOSIT_AFTER_EXPIRY"), "{r}");
}

#[tokio::test]
async fn staff_refund_part_then_cancel_the_rest_through_toss_with_the_tax_free_share() {
    let shop = PayShop::start().await;
    // ₩15,000 taxable + ₩10,000 tax-free (₩3,000 shipping): tax-free ₩10,000 of ₩28,000.
    let lines = [(shop.variants[0].as_str(), 1), (shop.tax_free.as_str(), 1)];
    let placed = shop.checkout_lines("TOSS", &lines, json!({})).await;
    let number = placed["order"]["number"].as_str().expect("number").to_owned();
    let total = placed["order"]["total"].as_i64().expect("total");
    assert_eq!(
        (total, placed["order"]["taxFreeAmount"].as_i64()),
        (28_000, Some(10_000))
    );
    assert_eq!(
        placed["paymentSession"]["taxFreeAmount"], 10_000,
        "the SDK opens the window with it"
    );
    let key = shop
        .toss
        .authorize_with_tax_free(&number, "쉐이크 외 1건", total, 10_000, TossMethod::Card);
    assert_eq!(shop.confirm_toss(&number, &key, total).await["order"]["status"], "PAID");
    let owner = shop.owner().await;

    shop.toss.fail_next(TossFailure::ServerError);
    let refused = shop
        .app
        .admin(&owner, ORDER_REFUND, json!({ "n": number, "a": 7_000 }))
        .await;
    assert_eq!(
        data(&refused)["orderRefund"]["userErrors"][0]["code"],
        "PAYMENT_FAILED",
        "{refused}"
    );
    assert_eq!(
        shop.order(&number).await["refunded"],
        0,
        "a refused refund changes nothing"
    );

    let part = shop
        .app
        .admin(&owner, ORDER_REFUND, json!({ "n": number, "a": 7_000 }))
        .await;
    assert_eq!(data(&part)["orderRefund"]["userErrors"], json!([]), "{part}");
    let cancel = shop
        .toss
        .calls()
        .into_iter()
        .rfind(|c| c.path.ends_with("/cancel") && c.status == 200)
        .expect("cancel");
    assert_eq!(
        (
            cancel.body["cancelAmount"].as_i64(),
            cancel.body["taxFreeAmount"].as_i64()
        ),
        (Some(7_000), Some(2_500))
    );
    assert_eq!(shop.toss.payment(&key).expect("payment")["balanceAmount"], 21_000);

    let rest = shop.app.admin(&owner, ORDER_CANCEL, json!({ "n": number })).await;
    assert_eq!(data(&rest)["orderCancel"]["order"]["status"], "CANCELLED", "{rest}");
    let cancel = shop
        .toss
        .calls()
        .into_iter()
        .rfind(|c| c.path.ends_with("/cancel") && c.status == 200)
        .expect("cancel");
    assert_eq!(
        cancel.body["taxFreeAmount"].as_i64(),
        Some(7_500),
        "what is left of the tax-free part"
    );
    let p = shop.toss.payment(&key).expect("payment");
    assert_eq!((&p["status"], &p["balanceAmount"]), (&json!("CANCELED"), &json!(0)));
    let o = shop.order(&number).await;
    assert_eq!(o["refunded"], total);
    assert_eq!(
        o["refunds"],
        json!([{ "amount": 7_000, "status": "DONE" }, { "amount": 21_000, "status": "DONE" }])
    );
    assert_eq!(o["payments"][0]["status"], "CANCELLED");
    assert_eq!(shop.available().await, 20, "stock back");
}

async fn virtual_account(shop: &PayShop) -> (String, i64, Value) {
    let extra = json!({ "cashReceipt": { "type": "INCOME_DEDUCTION", "number": "010-1234-5678" } });
    let placed = shop
        .checkout_lines("VIRTUAL_ACCOUNT", &[(shop.variants[0].as_str(), 2)], extra)
        .await;
    assert_eq!(placed["userErrors"], json!([]), "{placed}");
    let number = placed["order"]["number"].as_str().expect("number").to_owned();
    let total = placed["order"]["total"].as_i64().expect("total");
    (number, total, placed)
}

#[tokio::test]
async fn a_virtual_account_is_issued_at_checkout_and_paid_by_the_deposit_callback_once() {
    let shop = PayShop::start().await;
    let (number, total, placed) = virtual_account(&shop).await;
    assert_eq!(placed["order"]["status"], "AWAITING_DEPOSIT");
    assert!(placed["paymentSession"].is_null());
    let account = &placed["order"]["bankTransfer"];
    assert_eq!(account["bank"], "우리은행");
    assert_eq!(account["amount"], total);
    assert!(
        account["accountNumber"].as_str().is_some_and(|n| n.len() >= 10),
        "{account}"
    );
    let issue = shop
        .toss
        .calls()
        .into_iter()
        .find(|c| c.path == "/v1/virtual-accounts")
        .expect("issued");
    assert_eq!(issue.body["orderId"], number);
    assert_eq!(issue.body["amount"], total);
    assert_eq!(
        issue.body["cashReceipt"],
        json!({ "type": "소득공제", "registrationNumber": "01012345678" })
    );
    assert!(issue.idempotency_key.is_some());

    // Staff cannot mark it deposited by hand: Toss does.
    let owner = shop.owner().await;
    let id = placed["order"]["id"].as_str().expect("id");
    let r = shop
        .app
        .admin(
            &owner,
            "mutation($id: ID!, $a: Won!) { orderMarkDeposited(orderId: $id, amount: $a) { userErrors { code } } }",
            json!({ "id": id, "a": total }),
        )
        .await;
    assert_eq!(
        data(&r)["orderMarkDeposited"]["userErrors"][0]["code"],
        "INVALID_STATE",
        "{r}"
    );
    let callback = shop.toss.deposit(&number);
    let mut forged = callback.clone();
    forged["secret"] = "ps_guessed".into();
    assert_eq!(shop.toss_webhook(&forged).await.status, 401, "a wrong secret");
    assert_eq!(
        shop.order(&number).await["status"],
        "AWAITING_DEPOSIT",
        "changes nothing"
    );

    let r = shop.toss_webhook(&callback).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let o = shop.order(&number).await;
    assert_eq!(o["status"], "PAID", "{o}");
    assert_eq!(
        (&o["payments"][0]["method"], &o["payments"][0]["status"]),
        (&json!("VIRTUAL_ACCOUNT"), &json!("PAID"))
    );
    let replay = shop.toss_webhook(&callback).await;
    assert_eq!(
        (replay.status, replay.json()["result"].clone()),
        (200, json!("duplicate"))
    );

    // Staff see the cash receipt to issue (the bot only its last digits).
    let q = "query($n: String!) { order(number: $n) { cashReceipt { type number } } }";
    let r = shop.app.admin(&owner, q, json!({ "n": number })).await;
    assert_eq!(
        data(&r)["order"]["cashReceipt"],
        json!({ "type": "INCOME_DEDUCTION", "number": "01012345678" })
    );
    let bot = jangteo_tests::staff_session(shop.pool(), "bot@jangteo.test", commerce::staff::Role::Bot).await;
    let r = shop.app.admin(&bot, q, json!({ "n": number })).await;
    assert_eq!(data(&r)["order"]["cashReceipt"]["number"], "*******5678");
    // Refunding a deposit needs the customer's account.
    let r = shop.app.admin(&owner, ORDER_CANCEL, json!({ "n": number })).await;
    assert_eq!(
        data(&r)["orderCancel"]["userErrors"][0]["field"],
        json!(["refundAccount"]),
        "{r}"
    );
    let acc = json!({ "bank": "국민은행", "number": "123456-01-234567", "holder": "홍길동" });
    let r = shop
        .app
        .admin(&owner, ORDER_CANCEL, json!({ "n": number, "acc": acc }))
        .await;
    assert_eq!(data(&r)["orderCancel"]["order"]["status"], "CANCELLED", "{r}");
    let cancel = shop
        .toss
        .calls()
        .into_iter()
        .rfind(|c| c.path.ends_with("/cancel"))
        .expect("cancel");
    assert_eq!(cancel.body["refundReceiveAccount"]["accountNumber"], "12345601234567");
}

#[tokio::test]
async fn a_deposit_after_expiry_is_recorded_for_a_refund_and_never_paid() {
    let shop = PayShop::start().await;
    let (number, total, _) = virtual_account(&shop).await;
    let expired = shop.expire_after(Duration::from_hours(96)).await;
    assert_eq!(expired, vec![number.clone()]);
    assert_eq!(shop.available().await, 20);
    let r = shop.toss_webhook(&shop.toss.deposit(&number)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(shop.order(&number).await["status"], "EXPIRED", "never silently PAID");
    assert_eq!(
        shop.kept_money().await,
        vec![("TOSS".into(), "EXPIRED".into(), total, false)]
    );
    // Staff (and the bot's alert channel) hear of it.
    let owner = shop.owner().await;
    let r = shop.app.admin(&owner, "{ alerts { kind key title } }", json!({})).await;
    let alerts = data(&r)["alerts"].as_array().cloned().unwrap_or_default();
    assert!(
        alerts
            .iter()
            .any(|a| a["kind"] == "DEPOSIT_AFTER_EXPIRY" && a["key"] == number.as_str()),
        "{r}"
    );
}

#[tokio::test]
async fn an_unpaid_virtual_account_cancelled_by_staff_is_closed_at_toss() {
    let shop = PayShop::start().await;
    let (number, _, _) = virtual_account(&shop).await;
    let owner = shop.owner().await;
    let r = shop.app.admin(&owner, ORDER_CANCEL, json!({ "n": number })).await;
    assert_eq!(data(&r)["orderCancel"]["order"]["status"], "CANCELLED", "{r}");
    let key = shop.toss.payment_key_of(&number).expect("key");
    assert_eq!(shop.toss.payment(&key).expect("payment")["status"], "CANCELED");
    assert_eq!(shop.order(&number).await["refunded"], 0);
}

#[tokio::test]
async fn a_failed_issuance_cancels_the_order_and_keeps_the_cart() {
    let shop = PayShop::start().await;
    let token = shop.app.cart(&[(shop.variants[0].as_str(), 2)]).await;
    shop.toss.fail_next(TossFailure::ServerError);
    let r = shop.checkout_cart(&token, "VIRTUAL_ACCOUNT", json!({})).await;
    assert_eq!(code(&r), "PAYMENT_FAILED", "{r}");
    assert_eq!(shop.available().await, 20, "stock released");
    // The same cart checks out again.
    let again = shop.checkout_cart(&token, "VIRTUAL_ACCOUNT", json!({})).await;
    assert_eq!(again["order"]["status"], "AWAITING_DEPOSIT", "{again}");
}

#[tokio::test]
async fn a_gateway_without_keys_is_not_offered() {
    let app = jangteo_tests::TestApp::spawn().await;
    let r = app.gql("{ shop { paymentMethods } }", json!({})).await;
    assert_eq!(data(&r)["shop"]["paymentMethods"], json!(["BANK_TRANSFER"]));
    let v = jangteo_tests::product_with_stock(&app.pool, "x", &[(1000, 5)], false).await;
    let token = app.cart(&[(v[0].as_str(), 1)]).await;
    let mut input = jangteo_tests::checkout_input("a@example.com");
    input["paymentMethod"] = "TOSS".into();
    let r = app
        .gql(jangteo_tests::CHECKOUT, json!({ "t": token, "i": input }))
        .await;
    assert_eq!(
        data(&r)["checkoutComplete"]["userErrors"][0]["code"],
        "PAYMENT_METHOD_UNAVAILABLE"
    );
    let shop = PayShop::start().await;
    let r = shop.app.gql("{ shop { paymentMethods } }", json!({})).await;
    assert_eq!(
        data(&r)["shop"]["paymentMethods"],
        json!(["TOSS", "KAKAOPAY", "PORTONE", "VIRTUAL_ACCOUNT", "BANK_TRANSFER"])
    );
}

#[tokio::test]
async fn a_customer_cancelling_a_card_order_is_refunded_through_toss() {
    let shop = PayShop::start().await;
    let (number, total, key) = authorised(&shop, 2).await;
    assert_eq!(shop.confirm_toss(&number, &key, total).await["order"]["status"], "PAID");
    let cancel = "mutation($i: OrderCancelInput!) { orderCancel(input: $i) {
        order { status refunded refunds { amount status } } userErrors { field code message } } }";
    let input = json!({ "number": number, "email": "buyer@example.com", "reason": "단순 변심" });
    shop.toss.fail_next(TossFailure::ServerError);
    let r = shop.app.gql(cancel, json!({ "i": input })).await;
    assert_eq!(
        data(&r)["orderCancel"]["userErrors"][0]["code"],
        "PAYMENT_FAILED",
        "{r}"
    );
    assert_eq!(shop.order(&number).await["status"], "PAID", "nothing changed");
    let r = shop.app.gql(cancel, json!({ "i": input })).await;
    let o = &data(&r)["orderCancel"]["order"];
    assert_eq!(o["status"], "CANCELLED", "{r}");
    assert_eq!(o["refunds"], json!([{ "amount": total, "status": "DONE" }]));
    assert_eq!(shop.toss.payment(&key).expect("payment")["status"], "CANCELED");
    assert_eq!(shop.available().await, 20);
}

#[tokio::test]
async fn a_payment_toss_already_processed_is_read_back_instead_of_failing() {
    let shop = PayShop::start().await;
    let (number, total, key) = authorised(&shop, 1).await;
    // Confirmed at Toss by another hand (another key): ours then hears ALREADY_PROCESSED_PAYMENT.
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{}:", jangteo_tests::payments::TOSS_SECRET));
    let direct = jangteo_tests::fakes::http_client()
        .post(format!("{}/v1/payments/confirm", shop.toss.base_url()))
        .header("Authorization", format!("Basic {auth}"))
        .header("Idempotency-Key", "someone-elses-key")
        .json(&json!({ "paymentKey": key, "orderId": number, "amount": total }))
        .send()
        .await
        .expect("confirm at the fake");
    assert_eq!(direct.status(), 200);
    let paid = shop.confirm_toss(&number, &key, total).await;
    assert_eq!(paid["order"]["status"], "PAID", "{paid}");
    assert_eq!(shop.toss.confirm_count(), 1, "no second charge");
    let refused = shop
        .toss
        .calls()
        .into_iter()
        .filter(|c| c.path == "/v1/payments/confirm" && c.status == 400)
        .count();
    assert_eq!(refused, 1, "Toss said ALREADY_PROCESSED_PAYMENT once");
}

#[tokio::test]
async fn a_refund_toss_made_for_a_cancel_that_then_failed_is_still_recorded() {
    let shop = PayShop::start().await;
    let (number, total, key) = authorised(&shop, 1).await;
    assert_eq!(shop.confirm_toss(&number, &key, total).await["order"]["status"], "PAID");
    let owner = shop.owner().await;
    // Toss takes two seconds to answer the cancel; meanwhile the order ships.
    shop.toss.fail_next(TossFailure::Timeout(Duration::from_secs(2)));
    let cancel = shop.app.admin(&owner, ORDER_CANCEL, json!({ "n": number }));
    let ships_meanwhile = async {
        let claimed = "SELECT payment_claimed_until IS NOT NULL FROM orders WHERE number = $1";
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !sqlx::query_scalar::<_, bool>(claimed)
            .bind(&number)
            .fetch_one(shop.pool())
            .await
            .expect("order")
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the cancel never claimed the order"
            );
            tokio::task::yield_now().await;
        }
        sqlx::query("UPDATE orders SET status = 'SHIPPED' WHERE number = $1")
            .bind(&number)
            .execute(shop.pool())
            .await
            .expect("ship");
    };
    let (r, ()) = tokio::join!(cancel, ships_meanwhile);
    assert_eq!(data(&r)["orderCancel"]["userErrors"][0]["code"], "INVALID_STATE", "{r}");
    assert_eq!(
        shop.toss.payment(&key).expect("payment")["status"],
        "CANCELED",
        "Toss refunded"
    );
    let o = shop.order(&number).await;
    assert_eq!(o["status"], "SHIPPED");
    assert_eq!(
        o["refunds"],
        json!([{ "amount": total, "status": "DONE" }]),
        "the money is on record"
    );
    assert_eq!(o["refunded"], total);
}
