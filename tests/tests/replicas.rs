//! Two `jangteo serve` processes on one database, as a growing shop runs them: 50 buyers
//! spread over both race for the last 10 units. Only the database can keep this right.

use std::{
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use jangteo_tests::{TestDb, product_with_stock, race_checkout, uuid_of};

struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn spawn(db: &TestDb) -> (Service, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let child = Command::new(jangteo_tests::binary::jangteo_path())
        .args(["serve", "--no-migrate", "--listen", &format!("127.0.0.1:{port}")])
        .env("DATABASE_URL", db.url())
        // Not the demo: a TOTP key and a bank account of its own (`serve` refuses the demo
        // key, and bank transfer to the demo account, outside `--demo`).
        .env(
            "JANGTEO_STAFF__TOTP_KEY",
            "cmVwbGljYXMtdGVzdC10b3RwLWtleS0zMi1ieXRlcyE=",
        )
        .env("JANGTEO_BANK_TRANSFER__ACCOUNT_NUMBER", "999901-01-000002")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn jangteo");
    let service = Service(child);
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/readyz")).await
            && r.status().is_success()
        {
            return (service, base);
        }
        assert!(Instant::now() < deadline, "jangteo did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_service_processes_sell_exactly_the_stock() {
    let db = TestDb::create().await;
    let pool = db.pool(2).await;
    let v = product_with_stock(&pool, "replicas", &[(9900, 10), (4900, 10)], false).await;
    let (_a, first) = spawn(&db).await;
    let (_b, second) = spawn(&db).await;
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
