//! `customerStats` reads counts that triggers on `customers` keep; they must equal counting
//! the customers directly after concurrent sign-ups, first purchases, consent changes, tier
//! moves, deletions, the nightly fold and a statistics rebuild.

use commerce::staff::Role;
use jangteo_tests::{CHECKOUT, TestApp, checkout_input, data, product_with_stock, staff_session, uuid_of};
use serde_json::{Value, json};

const SIGN_UP: &str = "mutation($i: CustomerSignUpInput!) { customerSignUp(input: $i) {
    customer { id } userErrors { code message } } }";
const STATS: &str = "{ customerStats { total withOrders marketingEmail marketingSms byTier { tier count } } }";
const DEPOSIT: &str =
    "mutation($id: ID!, $a: Won!) { orderMarkDeposited(orderId: $id, amount: $a) { userErrors { code } } }";

/// `customerStats` as counted from the customers themselves, in the API's shape.
async fn counted(pool: &sqlx::PgPool) -> Value {
    let (total, with_orders, email, sms): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE paid_orders > 0), count(*) FILTER (WHERE marketing_email),
                count(*) FILTER (WHERE marketing_sms) FROM customers",
    )
    .fetch_one(pool)
    .await
    .expect("count");
    let tiers: Vec<(String, i64)> = sqlx::query_as(
        "SELECT t.code, count(c.id) FROM member_tiers t LEFT JOIN customers c ON c.tier = t.code
          GROUP BY t.code, t.position ORDER BY t.position",
    )
    .fetch_all(pool)
    .await
    .expect("tiers");
    let by_tier: Vec<Value> = tiers
        .into_iter()
        .map(|(tier, count)| json!({ "tier": tier, "count": count }))
        .collect();
    json!({ "total": total, "withOrders": with_orders, "marketingEmail": email, "marketingSms": sms,
            "byTier": by_tier })
}

async fn reported(app: &TestApp, staff: &str) -> Value {
    let r = app.admin(staff, STATS, json!({})).await;
    data(&r)["customerStats"].clone()
}

#[tokio::test]
async fn the_member_counts_equal_counting_the_customers_through_every_change() {
    let app = TestApp::demo().await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let before = reported(&app, &owner).await;
    assert_eq!(before, counted(&app.pool).await);

    // Twelve sign-ups at once, with every mix of consents.
    let sign_ups = (0..12).map(|i| {
        let input = json!({ "email": format!("count{i}@example.com"), "password": "jangteo1234!",
            "name": "박서준", "mobile": format!("010 5555 {i:04}"), "termsAccepted": true,
            "privacyAccepted": true, "marketingEmail": i % 2 == 0, "marketingSms": i % 3 == 0 });
        let app = &app;
        async move {
            let r = app.gql(SIGN_UP, json!({ "i": input })).await;
            assert_eq!(data(&r)["customerSignUp"]["userErrors"], json!([]), "{r}");
            uuid_of(data(&r)["customerSignUp"]["customer"]["id"].as_str().expect("id"))
        }
    });
    let members = futures::future::join_all(sign_ups).await;
    let now = reported(&app, &owner).await;
    assert_eq!(now, counted(&app.pool).await);
    assert_eq!(now["total"].as_i64(), before["total"].as_i64().map(|n| n + 12));
    assert_eq!(
        now["marketingEmail"].as_i64(),
        before["marketingEmail"].as_i64().map(|n| n + 6)
    );

    // Member 0 pays twice (one move, not two), member 1 once; a guest order moves nobody.
    let vs = product_with_stock(&app.pool, "count-drink", &[(12_000, 100)], false).await;
    for who in [Some(members[0]), Some(members[0]), Some(members[1]), None] {
        let token = app.cart(&[(vs[0].as_str(), 1)]).await;
        let r = app
            .gql(
                CHECKOUT,
                json!({ "t": token, "i": checkout_input("buyer@example.com") }),
            )
            .await;
        let order = &data(&r)["checkoutComplete"]["order"];
        let id = order["id"].as_str().expect("order").to_owned();
        sqlx::query("UPDATE orders SET customer_id = $1 WHERE id = $2")
            .bind(who)
            .bind(uuid_of(&id))
            .execute(&app.pool)
            .await
            .expect("member order");
        let r = app
            .admin(&owner, DEPOSIT, json!({ "id": id, "a": order["total"] }))
            .await;
        assert_eq!(data(&r)["orderMarkDeposited"]["userErrors"], json!([]), "{r}");
    }
    let now = reported(&app, &owner).await;
    assert_eq!(now, counted(&app.pool).await);
    assert_eq!(now["withOrders"].as_i64(), before["withOrders"].as_i64().map(|n| n + 2));

    // Consents withdrawn and given, tiers moved (one statement over many rows), one deleted.
    for change in [
        "UPDATE customers SET marketing_email = NOT marketing_email WHERE email LIKE 'count1%'",
        "UPDATE customers SET marketing_sms = true, tier = 'GOLD' WHERE email LIKE 'count%' AND paid_orders > 0",
        "UPDATE customers SET tier = 'SILVER' WHERE email IN ('count2@example.com', 'count3@example.com')",
        "UPDATE customers SET points = points + 100 WHERE email LIKE 'count%'",
        "DELETE FROM customers WHERE email = 'count5@example.com'",
    ] {
        sqlx::query(change).execute(&app.pool).await.expect(change);
        assert_eq!(reported(&app, &owner).await, counted(&app.pool).await, "after {change}");
    }
    let tiers = reported(&app, &owner).await["byTier"].clone();
    assert_eq!(tiers[1], json!({ "tier": "SILVER", "count": 2 }));
    assert_eq!(tiers[2], json!({ "tier": "GOLD", "count": 2 }));

    // The fold leaves one row per key and the same figures; so does a rebuild.
    let rows = commerce::stats::compact_customer_counts(&app.pool).await.expect("fold");
    let keys: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT (tier, paid_orders > 0, marketing_email, marketing_sms)) FROM customers",
    )
    .fetch_one(&app.pool)
    .await
    .expect("keys");
    assert_eq!(i64::try_from(rows).ok(), Some(keys));
    assert_eq!(reported(&app, &owner).await, counted(&app.pool).await);
    commerce::stats::rebuild(&app.pool).await.expect("rebuild");
    assert_eq!(reported(&app, &owner).await, counted(&app.pool).await);
}
