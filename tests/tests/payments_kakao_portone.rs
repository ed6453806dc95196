//! KakaoPay and PortOne V2 end to end (issue 12), through the real service against the
//! fake gateways (`fakes::kakaopay`, `fakes::portone`).

use jangteo_tests::{
    data,
    fakes::{
        Signing,
        kakaopay::KakaoFailure,
        portone::{CHANNEL_KEY, PortOneFailure, PortOneMethod, STORE_ID},
    },
    payments::{ORDER_CANCEL, ORDER_REFUND, PayShop, STOREFRONT},
};
use serde_json::{Value, json};

fn code(payload: &Value) -> &str {
    payload["userErrors"][0]["code"].as_str().unwrap_or("")
}

async fn kakao_order(shop: &PayShop, qty: i32) -> (String, i64, String) {
    let placed = shop.checkout("KAKAOPAY", qty).await;
    assert_eq!(placed["userErrors"], json!([]), "{placed}");
    let number = placed["order"]["number"].as_str().expect("number").to_owned();
    let total = placed["order"]["total"].as_i64().expect("total");
    let tid = shop.kakao.last_tid().expect("ready was called");
    let url = placed["paymentSession"]["redirectUrl"].as_str().expect("redirect");
    let ready = shop.kakao.order(&tid).expect("ready");
    assert_eq!(ready["status"], "READY");
    assert!(
        url.contains(&tid) && url.contains("pc"),
        "the PC page for a PC_WEB order: {url}"
    );
    (number, total, tid)
}

fn kakao_confirm(number: &str, pg_token: &str) -> Value {
    json!({ "provider": "KAKAOPAY", "orderNumber": number, "pgToken": pg_token })
}

#[tokio::test]
async fn kakaopay_ready_happens_at_checkout_and_approve_at_confirm_once() {
    let shop = PayShop::start().await;
    let (number, total, tid) = kakao_order(&shop, 2).await;
    let ready = shop.kakao.ready_request(&tid).expect("ready body");
    assert_eq!(ready["partner_order_id"], number);
    assert_eq!(ready["total_amount"], total);
    assert_eq!(ready["tax_free_amount"], 0);
    assert_eq!(ready["cid"], "TC0ONETIME");
    let approval = ready["approval_url"].as_str().unwrap_or("");
    assert!(
        approval.starts_with(&format!("{STOREFRONT}/payments/kakaopay/approve")),
        "{approval}"
    );

    let token = shop.kakao.approve_in_app(&tid);
    let answers = futures::future::join_all((0..5).map(|_| shop.confirm(kakao_confirm(&number, &token)))).await;
    for a in &answers {
        assert_eq!(a["order"]["status"], "PAID", "{a}");
    }
    assert_eq!(shop.kakao.approve_count(), 1, "approved once");
    let o = shop.order(&number).await;
    assert_eq!(
        (&o["payments"][0]["provider"], &o["payments"][0]["status"]),
        (&json!("KAKAOPAY"), &json!("PAID"))
    );
    // Another token proves nothing about this order.
    let guess = shop.confirm(kakao_confirm(&number, "guessed-token")).await;
    assert_eq!(code(&guess), "ORDER_NOT_PAYABLE", "{guess}");
}

#[tokio::test]
async fn a_kakaopay_decline_leaves_the_order_payable() {
    let shop = PayShop::start().await;
    let (number, _total, tid) = kakao_order(&shop, 1).await;
    let token = shop.kakao.approve_in_app(&tid);
    shop.kakao.fail_next(KakaoFailure::Decline);
    let r = shop.confirm(kakao_confirm(&number, &token)).await;
    assert_eq!(code(&r), "PAYMENT_DECLINED", "{r}");
    assert!(
        r["userErrors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("USER_LOCKED"),
        "{r}"
    );
    assert_eq!(shop.order(&number).await["status"], "PENDING_PAYMENT");
}

#[tokio::test]
async fn a_kakaopay_answer_for_another_amount_is_cancelled_there() {
    let shop = PayShop::start().await;
    let (number, total, tid) = kakao_order(&shop, 1).await;
    let token = shop.kakao.approve_in_app(&tid);
    shop.kakao.fail_next(KakaoFailure::AnswerAmount(total - 1_000));
    let r = shop.confirm(kakao_confirm(&number, &token)).await;
    assert_eq!(code(&r), "AMOUNT_MISMATCH", "{r}");
    assert_eq!(shop.kakao.cancel_count(), 1);
    assert_eq!(shop.order(&number).await["status"], "PENDING_PAYMENT");
}

#[tokio::test]
async fn a_failed_kakaopay_ready_cancels_the_order_and_keeps_the_cart() {
    let shop = PayShop::start().await;
    let token = shop.app.cart(&[(shop.variants[0].as_str(), 2)]).await;
    shop.kakao.fail_next(KakaoFailure::ServerError);
    let r = shop.checkout_cart(&token, "KAKAOPAY", json!({})).await;
    assert_eq!(code(&r), "PAYMENT_FAILED", "{r}");
    assert!(r["order"].is_null());
    assert_eq!(shop.available().await, 20, "stock released");
    let again = shop.checkout_cart(&token, "KAKAOPAY", json!({})).await;
    assert_eq!(again["order"]["status"], "PENDING_PAYMENT", "{again}");
    assert!(again["paymentSession"]["redirectUrl"].is_string());
}

#[tokio::test]
async fn kakaopay_refunds_carry_the_tax_free_part() {
    let shop = PayShop::start().await;
    let lines = [(shop.variants[0].as_str(), 1), (shop.tax_free.as_str(), 1)];
    let placed = shop.checkout_lines("KAKAOPAY", &lines, json!({})).await;
    let number = placed["order"]["number"].as_str().expect("number").to_owned();
    let tid = shop.kakao.last_tid().expect("tid");
    assert_eq!(
        shop.kakao.ready_request(&tid).expect("ready")["tax_free_amount"],
        10_000
    );
    let token = shop.kakao.approve_in_app(&tid);
    assert_eq!(
        shop.confirm(kakao_confirm(&number, &token)).await["order"]["status"],
        "PAID"
    );
    let owner = shop.owner().await;
    let r = shop
        .app
        .admin(&owner, ORDER_REFUND, json!({ "n": number, "a": 14_000 }))
        .await;
    assert_eq!(data(&r)["orderRefund"]["userErrors"], json!([]), "{r}");
    let cancel = shop
        .kakao
        .calls()
        .into_iter()
        .rfind(|c| c.path.ends_with("/cancel"))
        .expect("cancel");
    assert_eq!(
        (
            cancel.body["cancel_amount"].as_i64(),
            cancel.body["cancel_tax_free_amount"].as_i64()
        ),
        (Some(14_000), Some(5_000))
    );
    assert_eq!(shop.kakao.order(&tid).expect("order")["status"], "PART_CANCEL_PAYMENT");
    let r = shop.app.admin(&owner, ORDER_CANCEL, json!({ "n": number })).await;
    assert_eq!(data(&r)["orderCancel"]["order"]["status"], "CANCELLED", "{r}");
    assert_eq!(shop.kakao.order(&tid).expect("order")["status"], "CANCEL_PAYMENT");
}

async fn portone_order(shop: &PayShop) -> (String, i64, String) {
    let placed = shop.checkout("PORTONE", 1).await;
    assert_eq!(placed["userErrors"], json!([]), "{placed}");
    let s = &placed["paymentSession"];
    assert_eq!(
        (&s["storeId"], &s["channelKey"]),
        (&json!(STORE_ID), &json!(CHANNEL_KEY))
    );
    let number = placed["order"]["number"].as_str().expect("number").to_owned();
    let total = placed["order"]["total"].as_i64().expect("total");
    let payment_id = s["paymentId"].as_str().expect("paymentId").to_owned();
    assert!(payment_id.len() >= 30, "unguessable: {payment_id}");
    (number, total, payment_id)
}

fn portone_confirm(number: &str, payment_id: &str) -> Value {
    json!({ "provider": "PORTONE", "orderNumber": number, "paymentId": payment_id })
}

#[tokio::test]
async fn a_portone_payment_is_looked_up_and_its_amount_checked() {
    let shop = PayShop::start().await;
    let (number, total, payment_id) = portone_order(&shop).await;
    shop.portone
        .pay(&payment_id, "쉐이크", total, PortOneMethod::EasyPay("NAVERPAY"));
    let paid = shop.confirm(portone_confirm(&number, &payment_id)).await;
    assert_eq!(paid["order"]["status"], "PAID", "{paid}");
    assert_eq!(paid["order"]["payments"][0]["provider"], "PORTONE");
    // Another order's paymentId, or a made-up one, pays nothing.
    let (other, _, _) = portone_order(&shop).await;
    let r = shop.confirm(portone_confirm(&other, &payment_id)).await;
    assert_eq!(code(&r), "NOT_FOUND", "{r}");
    assert_eq!(shop.order(&other).await["status"], "PENDING_PAYMENT");
}

#[tokio::test]
async fn a_tampered_portone_amount_is_cancelled_and_refused() {
    let shop = PayShop::start().await;
    let (number, total, payment_id) = portone_order(&shop).await;
    // The browser asked PortOne for ₩100.
    shop.portone.pay(&payment_id, "쉐이크", 100, PortOneMethod::Card);
    let r = shop.confirm(portone_confirm(&number, &payment_id)).await;
    assert_eq!(code(&r), "AMOUNT_MISMATCH", "{r}");
    assert_eq!(shop.portone.cancel_count(), 1, "the ₩100 went back");
    assert_eq!(shop.order(&number).await["status"], "PENDING_PAYMENT");
    assert_eq!(
        shop.kept_money().await,
        vec![("PORTONE".into(), "AMOUNT_MISMATCH".into(), 100, true)]
    );
    assert!(total > 100);
}

#[tokio::test]
async fn portone_webhooks_are_verified_handled_once_and_believed_only_after_a_lookup() {
    let shop = PayShop::start().await;
    let (number, total, payment_id) = portone_order(&shop).await;
    let url = format!("{}/webhooks/portone", shop.app.base);
    // Before the customer paid: a genuine but early event changes nothing.
    let early = shop
        .portone
        .send_webhook(&url, "Transaction.Ready", &payment_id, Signing::Valid)
        .await;
    assert_eq!(early.status, 200, "{}", early.text());
    assert_eq!(shop.order(&number).await["status"], "PENDING_PAYMENT");
    shop.portone.pay(&payment_id, "쉐이크", total, PortOneMethod::Card);
    let (headers, body) = shop.portone.webhook("Transaction.Paid", &payment_id, Signing::Valid);
    let r = shop.portone.resend(&url, &headers, &body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(shop.order(&number).await["status"], "PAID");
    let replay = shop.portone.resend(&url, &headers, &body).await;
    assert_eq!(
        (replay.status, replay.json()["result"].clone()),
        (200, json!("duplicate"))
    );
    // The customer's own confirmation afterwards returns the paid order.
    let r = shop.confirm(portone_confirm(&number, &payment_id)).await;
    assert_eq!(r["order"]["status"], "PAID", "{r}");
    let o = shop.order(&number).await;
    assert_eq!(o["payments"].as_array().map(Vec::len), Some(1), "{o}");
}

#[tokio::test]
async fn every_kind_of_bad_portone_signature_is_refused() {
    let shop = PayShop::start().await;
    let (number, total, payment_id) = portone_order(&shop).await;
    shop.portone.pay(&payment_id, "쉐이크", total, PortOneMethod::Card);
    let url = format!("{}/webhooks/portone", shop.app.base);
    for bad in [
        Signing::Unsigned,
        Signing::WrongSecret,
        Signing::Tampered,
        Signing::Stale,
    ] {
        let r = shop
            .portone
            .send_webhook(&url, "Transaction.Paid", &payment_id, bad)
            .await;
        assert_eq!(r.status, 401, "{bad:?}: {}", r.text());
    }
    assert_eq!(shop.order(&number).await["status"], "PENDING_PAYMENT");
    let calls = shop.portone.calls().into_iter().filter(|c| c.method == "GET").count();
    assert_eq!(calls, 0, "nothing was looked up for a forged delivery");
}

#[tokio::test]
async fn a_portone_refund_error_changes_nothing_and_a_retry_refunds() {
    let shop = PayShop::start().await;
    let (number, total, payment_id) = portone_order(&shop).await;
    shop.portone.pay(&payment_id, "쉐이크", total, PortOneMethod::Card);
    assert_eq!(
        shop.confirm(portone_confirm(&number, &payment_id)).await["order"]["status"],
        "PAID"
    );
    let owner = shop.owner().await;
    shop.portone.fail_next(PortOneFailure::ServerError);
    let r = shop.app.admin(&owner, ORDER_CANCEL, json!({ "n": number })).await;
    let p = &data(&r)["orderCancel"];
    assert_eq!(p["userErrors"][0]["code"], "PAYMENT_FAILED", "{r}");
    assert_eq!(shop.order(&number).await["status"], "PAID", "unchanged");
    let r = shop.app.admin(&owner, ORDER_CANCEL, json!({ "n": number })).await;
    assert_eq!(data(&r)["orderCancel"]["order"]["status"], "CANCELLED", "{r}");
    assert_eq!(
        shop.portone.payment(&payment_id).expect("payment")["status"],
        "CANCELLED"
    );
    assert_eq!(
        shop.order(&number).await["refunds"],
        json!([{ "amount": total, "status": "DONE" }])
    );
}

#[tokio::test]
async fn a_portone_virtual_account_waits_for_its_deposit_and_the_webhook_pays_it() {
    let shop = PayShop::start().await;
    let (number, total, payment_id) = portone_order(&shop).await;
    shop.portone.issue_virtual_account(&payment_id, "쉐이크", total);
    let r = shop.confirm(portone_confirm(&number, &payment_id)).await;
    assert_eq!(r["order"]["status"], "AWAITING_DEPOSIT", "{r}");
    let o = shop.order(&number).await;
    let account = &o["bankTransfer"];
    assert!(account["accountNumber"].as_str().is_some_and(|n| !n.is_empty()), "{o}");
    assert_eq!(account["amount"], total);
    shop.portone.deposit(&payment_id);
    let url = format!("{}/webhooks/portone", shop.app.base);
    let r = shop
        .portone
        .send_webhook(&url, "Transaction.Paid", &payment_id, Signing::Valid)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(shop.order(&number).await["status"], "PAID");
}

#[tokio::test]
async fn kakaopay_sends_a_mobile_customer_to_its_mobile_page() {
    let shop = PayShop::start().await;
    let r = shop
        .app
        .gql(
            "mutation($v: ID!) { cartCreate(input: {channel: MOBILE_WEB, lines: [{variantId: $v, quantity: 1}]}) { cart { token } } }",
            json!({ "v": shop.variants[0] }),
        )
        .await;
    let token = data(&r)["cartCreate"]["cart"]["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let placed = shop.checkout_cart(&token, "KAKAOPAY", json!({})).await;
    let url = placed["paymentSession"]["redirectUrl"].as_str().expect("redirect");
    assert!(url.ends_with("/mobile"), "{url}");
}
