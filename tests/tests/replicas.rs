//! Two `jangteo serve` processes on one database, as a growing shop runs them: 50 buyers
//! spread over both race for the last 10 units. Only the database can keep this right.

use jangteo_tests::{TestDb, binary::serve, product_with_stock, race_checkout, uuid_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_service_processes_sell_exactly_the_stock() {
    let db = TestDb::create().await;
    let pool = db.pool(2).await;
    let v = product_with_stock(&pool, "replicas", &[(9900, 10), (4900, 10)], false).await;
    let (_a, first) = serve(&db, &[]).await;
    let (_b, second) = serve(&db, &[]).await;
    let (sold, out) = race_checkout(
        &[first, second],
        50,
        &[vec![(&v[0], 1), (&v[1], 1)], vec![(&v[1], 1), (&v[0], 1)]],
    )
    .await;
    assert_eq!((sold, out), (10, 40));
    for variant in &v {
        let (on_hand, allocated): (i32, i32) = sqlx::query_as("SELECT on_hand, allocated FROM variants WHERE id = $1")
            .bind(uuid_of(variant))
            .fetch_one(&pool)
            .await
            .expect("variant");
        assert_eq!((on_hand, allocated), (10, 10));
        let moved: i64 = sqlx::query_scalar("SELECT sum(delta_allocated) FROM stock_movements WHERE variant_id = $1")
            .bind(uuid_of(variant))
            .fetch_one(&pool)
            .await
            .expect("sum");
        assert_eq!(moved, 10);
    }
}
