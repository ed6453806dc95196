//! A rolling deploy drops nothing. Two `jangteo serve` replicas run behind a round-robin
//! balancer (`jangteo_tests::proxy`, health-checking `/readyz` like a cloud balancer or
//! kube-proxy) under a closed-loop load of catalog reads and checkouts. Each replica is
//! replaced in turn the way Kubernetes does it with `maxSurge: 1, maxUnavailable: 0`: start
//! the new one, wait until the balancer sees it ready, SIGTERM the old one. Every request is
//! answered without error, and every answered checkout is exactly one order.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use jangteo_tests::{
    CART_CREATE, CHECKOUT, TestDb, binary::serve, checkout_input, data, product_with_stock, proxy::Proxy, uuid_of,
};
use serde_json::{Value, json};

/// Long enough for the balancer's 100 ms health checks to see 503 and stop sending.
const DRAIN_MS: &str = "2000";

const LISTING: &str =
    "query Listing { products(first: 5) { edges { node { name variants { sku price quantityAvailable } } } } }";

#[derive(Default)]
struct Tally {
    reads: AtomicUsize,
    orders: Mutex<Vec<String>>,
    failures: Mutex<Vec<String>>,
}

impl Tally {
    fn answered(&self) -> usize {
        self.reads.load(Ordering::SeqCst) + self.orders.lock().expect("orders").len()
    }

    fn fail(&self, what: String) {
        self.failures.lock().expect("failures").push(what);
    }

    /// Waits until `more` requests beyond now were answered.
    async fn wait_for(&self, more: usize) {
        let target = self.answered() + more;
        let deadline = std::time::Instant::now() + Duration::from_mins(1);
        while self.answered() < target {
            assert!(std::time::Instant::now() < deadline, "the load stalled");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A client as a browser or app is one: connections kept alive, dropped after 300 ms idle.
/// (A connection that sat idle through a whole drain would be closed by the server's
/// shutdown under a request written at that instant; balancers stop using a draining
/// backend's idle connections the same way.)
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_millis(300))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

async fn post(client: &reqwest::Client, url: &str, body: &Value) -> Result<Value, String> {
    let response = client
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| format!("send: {e:?}"))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| format!("body: {e:?}"))?;
    if !status.is_success() {
        return Err(format!("HTTP {status}: {text}"));
    }
    let value: Value = serde_json::from_str(&text).map_err(|e| format!("json {e}: {text}"))?;
    if value.get("errors").is_some() {
        return Err(format!("errors: {value}"));
    }
    Ok(value)
}

async fn reader(url: String, tally: Arc<Tally>, stop: tokio::sync::watch::Receiver<bool>) {
    let client = client();
    while !*stop.borrow() {
        match post(&client, &url, &json!({ "query": LISTING })).await {
            Ok(r) if data(&r)["products"]["edges"].as_array().is_some_and(|e| !e.is_empty()) => {
                tally.reads.fetch_add(1, Ordering::SeqCst);
            }
            Ok(r) => tally.fail(format!("listing: {r}")),
            Err(e) => tally.fail(format!("listing: {e}")),
        }
    }
}

async fn buyer(url: String, variant: String, tally: Arc<Tally>, stop: tokio::sync::watch::Receiver<bool>) {
    let client = client();
    while !*stop.borrow() {
        let lines = json!([{ "variantId": variant, "quantity": 1 }]);
        let cart = match post(
            &client,
            &url,
            &json!({ "query": CART_CREATE, "variables": { "lines": lines } }),
        )
        .await
        {
            Ok(r) => data(&r)["cartCreate"]["cart"]["token"].as_str().map(str::to_owned),
            Err(e) => {
                tally.fail(format!("cartCreate: {e}"));
                continue;
            }
        };
        let Some(token) = cart else {
            tally.fail("cartCreate: no cart".into());
            continue;
        };
        let body =
            json!({ "query": CHECKOUT, "variables": { "t": token, "i": checkout_input("rolling@example.com") } });
        match post(&client, &url, &body).await {
            Ok(r) => match data(&r)["checkoutComplete"]["order"]["number"].as_str() {
                Some(number) => tally.orders.lock().expect("orders").push(number.to_owned()),
                None => tally.fail(format!("checkout: {r}")),
            },
            Err(e) => tally.fail(format!("checkout: {e}")),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rolling_deploy_under_load_drops_nothing() {
    let db = TestDb::create().await;
    let pool = db.pool(2).await;
    let variant = product_with_stock(&pool, "rolling", &[(12_900, 100_000)], false)
        .await
        .remove(0);
    let env = [("JANGTEO_HTTP__DRAIN_MS", DRAIN_MS)];

    let proxy = Proxy::start().await;
    let mut replicas = Vec::new();
    for _ in 0..2 {
        let (service, base) = serve(&db, &env).await;
        let backend = proxy.add(&base);
        proxy.wait_ready(&backend).await;
        replicas.push((service, backend));
    }

    let url = format!("http://{}/graphql", proxy.addr);
    let tally = Arc::new(Tally::default());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut load = Vec::new();
    for _ in 0..3 {
        load.push(tokio::spawn(reader(url.clone(), tally.clone(), stopped.clone())));
        load.push(tokio::spawn(buyer(
            url.clone(),
            variant.clone(),
            tally.clone(),
            stopped.clone(),
        )));
    }
    tally.wait_for(30).await;

    // The rolling deploy: a new replica first, then the old one stops.
    for _ in 0..2 {
        let (mut old, old_backend) = replicas.remove(0);
        let (service, base) = serve(&db, &env).await;
        let backend = proxy.add(&base);
        proxy.wait_ready(&backend).await;
        let before = tally.answered();
        let exit = old.terminate(Duration::from_secs(30)).await;
        assert!(exit.success(), "the old replica exited with {exit}");
        assert!(
            old_backend.saw_draining(),
            "/readyz answered 503 while the old replica drained"
        );
        assert!(old_backend.connections() > 0, "the old replica took part in the load");
        assert!(tally.answered() > before, "the load went on during the drain");
        proxy.remove(&old_backend);
        replicas.push((service, backend));
        tally.wait_for(30).await;
    }
    stop.send(true).expect("stop the load");
    for task in load {
        task.await.expect("load task");
    }

    let failures = tally.failures.lock().expect("failures").clone();
    assert!(failures.is_empty(), "{} failed requests: {failures:#?}", failures.len());
    let orders = tally.orders.lock().expect("orders").clone();
    let mut distinct = orders.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), orders.len(), "an order number was answered twice");
    let (in_db, units): (i64, i64) = sqlx::query_as(
        "SELECT count(DISTINCT o.id), coalesce(sum(l.quantity), 0)::bigint
         FROM orders o JOIN order_lines l ON l.order_id = o.id",
    )
    .fetch_one(&pool)
    .await
    .expect("orders");
    assert_eq!(
        in_db,
        i64::try_from(orders.len()).expect("count"),
        "orders answered = orders kept"
    );
    assert_eq!(units, in_db, "one unit per order");
    let allocated: i32 = sqlx::query_scalar("SELECT allocated FROM variants WHERE id = $1")
        .bind(uuid_of(&variant))
        .fetch_one(&pool)
        .await
        .expect("variant");
    assert_eq!(i64::from(allocated), in_db, "stock allocated once per order");
    assert!(tally.reads.load(Ordering::SeqCst) > 0 && in_db > 0);
}
