//! Jobs and notifications end to end: an order's life mails and texts the customer with
//! nobody pressing a button (a real SMTP server on loopback, fake Solapi and Sweet
//! Tracker), a rolled-back checkout enqueues nothing, schedules run once however many
//! workers tick, a worker killed with `kill -9` mid-job leaves the job to run again once,
//! and advertising asked for at night waits for the morning.

use std::{sync::Arc, time::Duration};

use commerce::{
    Settings,
    jobs::{self, NewJob, handlers, handlers::Runner, schedule, worker},
    staff::Role,
};
use jangteo_tests::{
    CHECKOUT, TestApp, checkout_input, data,
    fakes::{
        solapi::{FakeSolapi, TEST_API_KEY, TEST_API_SECRET, TEST_SENDER},
        sweettracker::FakeSweetTracker,
    },
    product_with_stock,
    smtp::SmtpSink,
    staff_session, wait_until,
};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::sync::oneshot;

const SHIP: &str =
    "mutation($id: ID!, $c: String!, $t: String!) { shipmentCreate(orderId: $id, carrier: $c, trackingNumber: $t) {
    order { status } userErrors { code } } }";
const DEPOSIT: &str = "mutation($id: ID!, $a: Won!) { orderMarkDeposited(orderId: $id, amount: $a) { order { status } userErrors { code } } }";
const PF_ID: &str = "KA01PF-JANGTEO";
const SWEET_KEY: &str = "sweet-test-key";

/// The settings of a shop with every provider pointed at a fake.
fn providers(s: &mut Settings, smtp: &str, solapi: &str, sweet: &str) {
    s.mail.smtp_url = Some(SecretString::from(smtp.to_owned()));
    s.sms.solapi_key = Some(SecretString::from(TEST_API_KEY));
    s.sms.solapi_secret = Some(SecretString::from(TEST_API_SECRET));
    solapi.clone_into(&mut s.sms.base_url);
    TEST_SENDER.clone_into(&mut s.sms.sender);
    s.kakao.pfid = Some(PF_ID.to_owned());
    for notice in ["payment_confirmed", "shipped"] {
        s.kakao.templates.insert(notice.into(), format!("TPL-{notice}"));
    }
    s.tracking.sweettracker_key = Some(SecretString::from(SWEET_KEY));
    sweet.clone_into(&mut s.tracking.base_url);
    s.jobs.retry_base_secs = 1;
}

/// A worker running in the test process until the returned sender fires.
fn spawn_worker(app: &TestApp, settings: &Settings) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let settings = Arc::new(settings.clone());
    let runner = Arc::new(Runner::new(app.pool.clone(), settings.clone()).expect("runner"));
    let (tx, rx) = oneshot::channel::<()>();
    let pool = app.pool.clone();
    let handle = tokio::spawn(async move {
        let stop = async move {
            let _ = rx.await;
        };
        worker::run(pool, runner, settings.jobs.clone(), false, stop)
            .await
            .expect("worker");
    });
    (tx, handle)
}

async fn job_state(app: &TestApp, id: commerce::ids::JobId) -> (String, i32) {
    sqlx::query_as("SELECT state, attempts FROM jobs WHERE id = $1")
        .bind(id.0)
        .fetch_one(&app.pool)
        .await
        .expect("job")
}

async fn job_states(app: &TestApp, kind: &str) -> Vec<(String, i32)> {
    sqlx::query_as("SELECT state, attempts FROM jobs WHERE kind = $1 ORDER BY created_at")
        .bind(kind)
        .fetch_all(&app.pool)
        .await
        .expect("jobs")
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // one order's whole life, step by step
async fn an_orders_life_mails_and_texts_the_customer_without_anyone_pressing_a_button() {
    let smtp = SmtpSink::start(Some(("shop", "mail-secret"))).await;
    let solapi = FakeSolapi::start(TEST_API_KEY, TEST_API_SECRET).await;
    // Approved Alimtalk templates: the exact text of templates/*.txt's sms block.
    solapi.register_template(
        PF_ID,
        "TPL-payment_confirmed",
        "[#{상점명}] #{고객명}님, 주문(#{주문번호}) 결제 #{결제금액}원이 완료되었습니다. 상품을 준비해 보내 드리겠습니다.",
    );
    let sweet = FakeSweetTracker::start(SWEET_KEY).await;
    let (smtp_url, solapi_url, sweet_url) = (smtp.url(), solapi.base_url(), sweet.base_url());
    let mut settings = Settings::defaults();
    providers(&mut settings, &smtp_url, &solapi_url, &sweet_url);
    let app = TestApp::spawn_with(jangteo_tests::Options {
        configure: Some(Box::new(move |s| providers(s, &smtp_url, &solapi_url, &sweet_url))),
        ..Default::default()
    })
    .await;
    let (stop, worker) = spawn_worker(&app, &settings);
    let v = product_with_stock(&app.pool, "shake", &[(19500, 10)], false).await;
    let mgr = staff_session(&app.pool, "mgr@jangteo.kr", Role::Manager).await;

    // Placed by bank transfer: the account and the due time, by e-mail and SMS.
    let token = app.cart(&[(&v[0], 2)]).await;
    let r = app
        .gql(
            CHECKOUT,
            json!({ "t": token, "i": checkout_input("buyer@example.com") }),
        )
        .await;
    let o = data(&r)["checkoutComplete"]["order"].clone();
    let number = o["number"].as_str().expect("number").to_owned();
    let mails = smtp.wait_for(1, Duration::from_secs(30)).await;
    let placed = &mails[0];
    assert_eq!(placed.to, ["buyer@example.com"]);
    assert_eq!(placed.authenticated_as.as_deref(), Some("shop"));
    assert_eq!(
        placed.subject,
        format!("[장터 뉴트리션] 주문이 접수되었습니다 ({number})")
    );
    let text = placed.text.as_deref().expect("text part");
    assert!(text.contains("국민은행 123401-04-567890"), "{text}");
    assert!(text.contains("입금 기한"), "{text}");
    let html = placed.html.as_deref().expect("html part");
    assert!(html.contains(&number) && html.contains("42,000원"), "{html}");
    assert!(!html.contains("<style") && html.contains("style=\""), "CSS inlined");
    assert!(
        html.contains("(주)장터뉴트리션") && html.contains("1588-0000"),
        "legal footer"
    );

    // Paid: Alimtalk with the approved template.
    let r = app
        .admin(&mgr, DEPOSIT, json!({ "id": o["id"], "a": o["total"] }))
        .await;
    assert_eq!(data(&r)["orderMarkDeposited"]["order"]["status"], "PAID");
    let mails = smtp.wait_for(2, Duration::from_secs(30)).await;
    assert_eq!(
        mails[1].subject,
        format!("[장터 뉴트리션] 결제가 완료되었습니다 ({number})")
    );

    // Shipped: the carrier and the tracking link. Its Alimtalk template is not approved
    // (Solapi refuses it at intake), so the service sends the same text as LMS.
    let r = app
        .admin(&mgr, SHIP, json!({ "id": o["id"], "c": "CJ", "t": "601234567890" }))
        .await;
    assert_eq!(data(&r)["shipmentCreate"]["order"]["status"], "SHIPPED");
    let mails = smtp.wait_for(3, Duration::from_secs(30)).await;
    let shipped = mails[2].text.as_deref().expect("text");
    assert!(
        shipped.contains("CJ대한통운") && shipped.contains("601234567890"),
        "{shipped}"
    );
    assert!(shipped.contains("https://trace.cjlogistics.com/next/tracking.html?wblNo=601234567890"));

    // Delivered: the hourly sync reads level 6 from Sweet Tracker.
    sweet.set_level("04", "601234567890", 5);
    let mut conn = app.pool.acquire().await.expect("conn");
    jobs::enqueue(&mut conn, NewJob::new(handlers::TRACK_SHIPMENTS, json!({})))
        .await
        .expect("enqueue");
    wait_until("the first sync", || async {
        job_states(&app, handlers::TRACK_SHIPMENTS).await[0].0 == "DONE"
    })
    .await;
    let status: String = sqlx::query_scalar("SELECT status FROM orders WHERE number = $1")
        .bind(&number)
        .fetch_one(&app.pool)
        .await
        .expect("status");
    assert_eq!(status, "SHIPPED", "level 5 is out for delivery, not delivered");
    sweet.set_level("04", "601234567890", 6);
    jobs::enqueue(&mut conn, NewJob::new(handlers::TRACK_SHIPMENTS, json!({})))
        .await
        .expect("enqueue");
    let mails = smtp.wait_for(4, Duration::from_secs(30)).await;
    assert_eq!(
        mails[3].subject,
        format!("[장터 뉴트리션] 배송이 완료되었습니다 ({number})")
    );
    let status: String = sqlx::query_scalar("SELECT status FROM orders WHERE number = $1")
        .bind(&number)
        .fetch_one(&app.pool)
        .await
        .expect("status");
    assert_eq!(status, "DELIVERED");

    // By phone: SMS for the placed order (no template), Alimtalk for the payment, LMS for
    // the unapproved shipped template, SMS for the delivery.
    wait_until("four texts", || async { solapi.sent().len() >= 4 }).await;
    let sent = solapi.sent();
    let kinds: Vec<&str> = sent.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds, ["LMS", "ATA", "LMS", "SMS"], "{sent:#?}");
    assert!(sent[0].text.contains("123401-04-567890"));
    assert_eq!(sent[1].template_id.as_deref(), Some("TPL-payment_confirmed"));
    assert!(sent.iter().all(|m| m.to == "01012345678" && m.from == TEST_SENDER));
    // Every message is logged once; no job is left failing.
    let logged: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE status = 'SENT'")
        .fetch_one(&app.pool)
        .await
        .expect("messages");
    assert_eq!(logged, 8);
    let failed: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 'FAILED'")
        .fetch_one(&app.pool)
        .await
        .expect("jobs");
    assert_eq!(failed, 0);
    let _ = stop.send(());
    worker.await.expect("worker stopped");
}

#[tokio::test]
async fn a_rolled_back_checkout_enqueues_nothing_and_a_placed_one_one_message() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "last", &[(10000, 1), (5000, 10)], false).await;
    let token = app.cart(&[(&v[1], 1), (&v[0], 1)]).await;
    // Someone else buys the last unit of the second line first.
    sqlx::query("UPDATE variants SET on_hand = 0 WHERE id = $1")
        .bind(jangteo_tests::uuid_of(&v[0]))
        .execute(&app.pool)
        .await
        .expect("stock");
    let r = app
        .gql(CHECKOUT, json!({ "t": token, "i": checkout_input("a@example.com") }))
        .await;
    assert_eq!(data(&r)["checkoutComplete"]["userErrors"][0]["code"], "OUT_OF_STOCK");
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&app.pool)
        .await
        .expect("jobs");
    assert_eq!(jobs, 0, "the rolled-back order left a job");
    let token = app.cart(&[(&v[1], 1)]).await;
    let r = app
        .gql(CHECKOUT, json!({ "t": token, "i": checkout_input("a@example.com") }))
        .await;
    assert_eq!(data(&r)["checkoutComplete"]["order"]["status"], "AWAITING_DEPOSIT");
    let kinds: Vec<(String, Value)> = sqlx::query_as("SELECT kind, payload FROM jobs")
        .fetch_all(&app.pool)
        .await
        .expect("jobs");
    assert_eq!(kinds.len(), 1);
    assert_eq!(kinds[0].0, "notify.order");
    assert_eq!(kinds[0].1["status"], "AWAITING_DEPOSIT");
}

#[tokio::test]
async fn however_many_workers_tick_each_schedule_runs_once_per_period() {
    let app = TestApp::spawn().await;
    let settings = Arc::new(Settings::defaults());
    let now = chrono::Utc::now();
    let ticks = (0..8).map(|_| {
        let (pool, settings) = (app.pool.clone(), settings.clone());
        tokio::spawn(async move { schedule::tick(&pool, now, &settings).await.expect("tick") })
    });
    let enqueued: usize = futures::future::join_all(ticks)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .sum();
    let schedules = schedule::schedules(&settings).len();
    assert_eq!(enqueued, schedules, "each schedule's period once, whoever ticked first");
    // Two workers run them: each job once.
    let runner = Arc::new(Runner::new(app.pool.clone(), settings.clone()).expect("runner"));
    let (a, b) = tokio::join!(
        worker::drain(&app.pool, &runner, &settings.jobs),
        worker::drain(&app.pool, &runner, &settings.jobs)
    );
    assert_eq!(a.expect("a") + b.expect("b"), schedules);
    let rows: Vec<(String, String, i32)> = sqlx::query_as("SELECT kind, state, attempts FROM jobs ORDER BY kind")
        .fetch_all(&app.pool)
        .await
        .expect("jobs");
    assert!(rows.iter().all(|(_, s, n)| s == "DONE" && *n == 1), "{rows:?}");
    // The next tick in the same period adds nothing.
    assert_eq!(schedule::tick(&app.pool, now, &settings).await.expect("tick"), 0);
}

/// A TCP listener that accepts and never answers: a provider hanging mid-call.
async fn black_hole() -> (String, tokio::task::JoinHandle<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().expect("addr");
    let h = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    (format!("http://{addr}"), h)
}

fn worker_process(app: &TestApp, tracking_url: &str) -> tokio::process::Child {
    let mut c = jangteo_tests::binary::jangteo();
    c.args(["worker", "--no-migrate"])
        .env("DATABASE_URL", app.db_url())
        .env("JANGTEO_TRACKING__SWEETTRACKER_KEY", SWEET_KEY)
        .env("JANGTEO_TRACKING__BASE_URL", tracking_url)
        .env("JANGTEO_JOBS__LEASE_SECS", "2")
        .env("JANGTEO_JOBS__POLL_SECS", "1")
        .env("JANGTEO_JOBS__SHUTDOWN_GRACE_SECS", "1")
        .env(
            "JANGTEO_MAIL__DIR",
            std::env::temp_dir().join(format!("jangteo-mail-{}", app.db_name())),
        )
        .env(
            "JANGTEO_SMS__DIR",
            std::env::temp_dir().join(format!("jangteo-sms-{}", app.db_name())),
        )
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    tokio::process::Command::from(c)
        .kill_on_drop(true)
        .spawn()
        .expect("spawn worker")
}

#[tokio::test]
async fn a_worker_killed_mid_job_leaves_it_to_run_again_once() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "parcel", &[(30000, 5)], false).await;
    let mgr = staff_session(&app.pool, "mgr@jangteo.kr", Role::Manager).await;
    let token = app.cart(&[(&v[0], 1)]).await;
    let r = app
        .gql(CHECKOUT, json!({ "t": token, "i": checkout_input("k@example.com") }))
        .await;
    let o = data(&r)["checkoutComplete"]["order"].clone();
    app.admin(&mgr, DEPOSIT, json!({ "id": o["id"], "a": o["total"] }))
        .await;
    let r = app
        .admin(&mgr, SHIP, json!({ "id": o["id"], "c": "CJ", "t": "601234567890" }))
        .await;
    assert_eq!(data(&r)["shipmentCreate"]["order"]["status"], "SHIPPED");
    let mut conn = app.pool.acquire().await.expect("conn");
    let job = jobs::enqueue(&mut conn, NewJob::new(handlers::TRACK_SHIPMENTS, json!({})))
        .await
        .expect("enqueue")
        .expect("new job");

    // The first worker's Sweet Tracker never answers: it is mid-job when killed.
    let (hole, _hole) = black_hole().await;
    let mut first = worker_process(&app, &hole);
    wait_until("the first worker to take the job", || async {
        job_state(&app, job).await == ("RUNNING".to_owned(), 1)
    })
    .await;
    first.start_kill().expect("kill -9");
    first.wait().await.expect("reaped");

    // A new worker with a working Sweet Tracker takes it once the lease has passed.
    let sweet = FakeSweetTracker::start(SWEET_KEY).await;
    sweet.set_level("04", "601234567890", 6);
    let mut second = worker_process(&app, &sweet.base_url());
    wait_until("the job to complete", || async {
        job_state(&app, job).await == ("DONE".to_owned(), 2)
    })
    .await;
    let (status, delivered_notices): (String, i64) = sqlx::query_as(
        "SELECT o.status, (SELECT count(*) FROM jobs j WHERE j.kind = 'notify.order' AND j.payload->>'status' = 'DELIVERED')
           FROM orders o WHERE o.id = $1",
    )
    .bind(jangteo_tests::uuid_of(o["id"].as_str().expect("id")))
    .fetch_one(&app.pool)
    .await
    .expect("order");
    assert_eq!((status.as_str(), delivered_notices), ("DELIVERED", 1));
    assert!(!sweet.calls().is_empty(), "asked by the second worker");
    // SIGTERM: the worker leaves cleanly and deregisters.
    let pid = second.id().expect("pid");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let exit = tokio::time::timeout(Duration::from_secs(20), second.wait())
        .await
        .expect("stopped in time")
        .expect("exit");
    assert!(exit.success(), "{exit:?}");
    let workers: i64 = sqlx::query_scalar("SELECT count(*) FROM workers")
        .fetch_one(&app.pool)
        .await
        .expect("workers");
    assert_eq!(workers, 1, "only the killed worker's row is left");
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // the night, the morning, the link: one story
async fn advertising_asked_for_at_night_waits_for_the_morning_and_reaches_only_consenting_members() {
    let mail_dir = tempfile::tempdir().expect("dir");
    let dir = mail_dir.path().to_owned();
    // "Night" is whatever hour it is now in Seoul, for two hours.
    let hour = chrono::Utc::now()
        .with_timezone(&commerce::SHOP_TZ)
        .format("%H")
        .to_string();
    let hour: u32 = hour.parse().expect("hour");
    let night = move |s: &mut Settings| {
        s.marketing.quiet_from_hour = hour;
        s.marketing.quiet_until_hour = (hour + 2) % 24;
    };
    let app = TestApp::spawn_with(jangteo_tests::Options {
        configure: Some(Box::new(move |s| {
            night(s);
            s.mail.dir = dir;
        })),
        ..Default::default()
    })
    .await;
    for (email, consent) in [("yes@example.com", true), ("no@example.com", false)] {
        let q = "mutation($i: CustomerSignUpInput!) { customerSignUp(input: $i) { userErrors { code } } }";
        let r = app
            .gql(
                q,
                json!({ "i": { "email": email, "password": "correct-horse-7", "name": "김고객", "mobile": "010-2222-3333",
                             "termsAccepted": true, "privacyAccepted": true, "marketingEmail": consent } }),
            )
            .await;
        assert_eq!(data(&r)["customerSignUp"]["userErrors"], json!([]), "{r}");
    }
    let mgr = staff_session(&app.pool, "mgr@jangteo.kr", Role::Manager).await;
    let send = "mutation($i: MessageSendInput!) { messageSend(input: $i) { jobId recipients scheduledAt userErrors { code field } } }";
    let input = json!({ "channel": "EMAIL", "subject": "12월 할인", "body": "전 상품 10% 할인", "marketing": true });
    let r = app.admin(&mgr, send, json!({ "i": input })).await;
    let p = &data(&r)["messageSend"];
    assert_eq!(p["recipients"], 1, "{r}");
    let at = chrono::DateTime::parse_from_rfc3339(p["scheduledAt"].as_str().expect("at")).expect("time");
    assert!(at > chrono::Utc::now(), "held: {at}");
    assert_eq!(
        at.with_timezone(&commerce::SHOP_TZ).format("%M:%S").to_string(),
        "00:00"
    );
    // CS may not send to customers.
    let cs = staff_session(&app.pool, "cs@jangteo.kr", Role::Cs).await;
    let r = app.admin(&cs, send, json!({ "i": input })).await;
    assert_eq!(data(&r)["messageSend"]["userErrors"][0]["code"], "FORBIDDEN");

    // A worker now runs nothing of it: the job waits.
    let mut settings = Settings::defaults();
    night(&mut settings);
    settings.mail.dir = mail_dir.path().to_owned();
    let runner = Runner::new(app.pool.clone(), Arc::new(settings.clone())).expect("runner");
    worker::drain(&app.pool, &runner, &settings.jobs).await.expect("drain");
    let send_state: Vec<(String, i32)> = job_states(&app, "marketing.send").await;
    assert_eq!(send_state, [("QUEUED".to_owned(), 0)]);
    let ads = || {
        std::fs::read_dir(mail_dir.path())
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| std::fs::read(e.path()).expect("eml"))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
            .into_iter()
            .filter(|raw| String::from_utf8_lossy(raw).contains("=?utf-8?b?KOq0keqzoCkg"))
            .count()
    };
    assert_eq!(ads(), 0);

    // Morning: the job is due and the quiet hours are over.
    sqlx::query("UPDATE jobs SET run_at = now() WHERE kind = 'marketing.send'")
        .execute(&app.pool)
        .await
        .expect("morning");
    let day = Settings::defaults();
    let mut morning = settings.clone();
    morning.marketing = day.marketing.clone();
    morning.marketing.quiet_from_hour = (hour + 12) % 24;
    morning.marketing.quiet_until_hour = (hour + 13) % 24;
    let runner = Runner::new(app.pool.clone(), Arc::new(morning.clone())).expect("runner");
    worker::drain(&app.pool, &runner, &morning.jobs).await.expect("drain");
    let ads_sent: Vec<(String, bool)> =
        sqlx::query_as("SELECT recipient, marketing FROM messages WHERE template = 'marketing' AND status = 'SENT'")
            .fetch_all(&app.pool)
            .await
            .expect("messages");
    assert_eq!(ads_sent, [("yes@example.com".to_owned(), true)]);
    let eml = std::fs::read_dir(mail_dir.path())
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| std::fs::read(e.path()).expect("eml"))
        .find(|raw| String::from_utf8_lossy(raw).contains("List-Unsubscribe:"))
        .expect("the advertisement");
    let mail = jangteo_tests::smtp::ReceivedMail::parse("", &[], eml);
    assert!(mail.subject.starts_with("(광고)"), "{}", mail.subject);
    let link = mail
        .header("List-Unsubscribe")
        .expect("header")
        .trim_matches(['<', '>'])
        .to_owned();
    assert!(
        mail.text.as_deref().expect("text").contains(&link),
        "the body carries the link too"
    );
    // The link, opened, asks; posted, unsubscribes; forged, is refused.
    let path = link
        .split_once("127.0.0.1:8080")
        .map(|(_, p)| p.to_owned())
        .expect("path");
    let page = app.request(reqwest::Method::GET, &path).send().await.expect("get");
    assert_eq!(page.status(), 200);
    let consent = || async {
        sqlx::query_scalar::<_, bool>("SELECT marketing_email FROM customers WHERE email = 'yes@example.com'")
            .fetch_one(&app.pool)
            .await
            .expect("consent")
    };
    assert!(consent().await, "GET changes nothing");
    let forged = format!("{}x", &path[..path.len() - 2]);
    let r = app.request(reqwest::Method::POST, &forged).send().await.expect("post");
    assert_eq!(r.status(), 400);
    let r = app.request(reqwest::Method::POST, &path).send().await.expect("post");
    assert_eq!(r.status(), 200);
    assert!(!consent().await, "unsubscribed");
}

#[tokio::test]
async fn a_week_after_delivery_the_purchase_completes_itself_and_earns_the_tiers_points() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "points", &[(20000, 5)], false).await;
    let mgr = staff_session(&app.pool, "mgr@jangteo.kr", Role::Manager).await;
    let q = "mutation($i: CustomerSignUpInput!) { customerSignUp(input: $i) { customer { id } userErrors { code } } }";
    let r = app
        .gql(
            q,
            json!({ "i": { "email": "member@example.com", "password": "correct-horse-7", "name": "김회원",
                         "mobile": "010-2222-3333", "termsAccepted": true, "privacyAccepted": true } }),
        )
        .await;
    let member = jangteo_tests::uuid_of(data(&r)["customerSignUp"]["customer"]["id"].as_str().expect("id"));
    sqlx::query("UPDATE customers SET tier = 'GOLD' WHERE id = $1")
        .bind(member)
        .execute(&app.pool)
        .await
        .expect("tier");
    let token = app.cart(&[(&v[0], 2)]).await;
    let r = app
        .gql(
            CHECKOUT,
            json!({ "t": token, "i": checkout_input("member@example.com") }),
        )
        .await;
    let o = data(&r)["checkoutComplete"]["order"].clone();
    let id = jangteo_tests::uuid_of(o["id"].as_str().expect("id"));
    sqlx::query("UPDATE orders SET customer_id = $2 WHERE id = $1")
        .bind(id)
        .bind(member)
        .execute(&app.pool)
        .await
        .expect("member's order");
    app.admin(&mgr, DEPOSIT, json!({ "id": o["id"], "a": o["total"] }))
        .await;
    app.admin(&mgr, SHIP, json!({ "id": o["id"], "c": "CJ", "t": "601234567890" }))
        .await;
    let set = "mutation($id: ID!) { orderSetStatus(orderId: $id, status: DELIVERED) { order { status } userErrors { code } } }";
    let r = app.admin(&mgr, set, json!({ "id": o["id"] })).await;
    assert_eq!(data(&r)["orderSetStatus"]["order"]["status"], "DELIVERED", "{r}");

    let settings = Arc::new(Settings::defaults());
    let runner = Runner::new(app.pool.clone(), settings.clone()).expect("runner");
    let complete = || async {
        let mut conn = app.pool.acquire().await.expect("conn");
        jobs::enqueue(&mut conn, NewJob::new(handlers::AUTO_COMPLETE, json!({})))
            .await
            .expect("enqueue");
        worker::drain(&app.pool, &runner, &settings.jobs).await.expect("drain");
        sqlx::query_as::<_, (String, i64)>(
            "SELECT o.status, c.points FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.id = $1",
        )
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .expect("order")
    };
    assert_eq!(complete().await, ("DELIVERED".to_owned(), 0), "not a week yet");
    sqlx::query("UPDATE order_history SET created_at = now() - interval '8 days' WHERE order_id = $1 AND to_status = 'DELIVERED'")
        .bind(id)
        .execute(&app.pool)
        .await
        .expect("a week later");
    // GOLD earns 3 % of the goods (₩40,000), not of the shipping fee.
    assert_eq!(complete().await, ("COMPLETED".to_owned(), 1200));
    assert_eq!(complete().await, ("COMPLETED".to_owned(), 1200), "once");
    let ledger: Vec<(i64, String)> = sqlx::query_as("SELECT delta, reason FROM point_movements WHERE customer_id = $1")
        .bind(member)
        .fetch_all(&app.pool)
        .await
        .expect("ledger");
    assert_eq!(ledger, [(1200, "PURCHASE_CONFIRMED".to_owned())]);
}

#[tokio::test]
async fn staff_see_a_failed_job_with_its_error_and_put_it_back() {
    let app = TestApp::spawn().await;
    let mut conn = app.pool.acquire().await.expect("conn");
    // A kind no worker knows fails for good at once, with its reason.
    let job = jobs::enqueue(&mut conn, NewJob::new("bogus.kind", json!({ "secret": "reset-token" })))
        .await
        .expect("enqueue")
        .expect("job");
    let settings = Settings::defaults();
    let runner = Runner::new(app.pool.clone(), Arc::new(settings.clone())).expect("runner");
    worker::drain(&app.pool, &runner, &settings.jobs).await.expect("drain");
    let mgr = staff_session(&app.pool, "mgr@jangteo.kr", Role::Manager).await;
    let list = "query($s: JobState) { jobs(first: 10, filter: {state: $s}) { totalCount
        nodes { id kind state attempts lastError payload } } }";
    let r = app.admin(&mgr, list, json!({ "s": "FAILED" })).await;
    let jobs = &data(&r)["jobs"];
    assert_eq!(jobs["totalCount"], 1, "{r}");
    let node = &jobs["nodes"][0];
    assert_eq!(node["id"], job.to_string());
    assert_eq!(
        (node["state"].clone(), node["attempts"].clone()),
        (json!("FAILED"), json!(1))
    );
    assert!(
        node["lastError"]
            .as_str()
            .expect("error")
            .contains("unknown job kind bogus.kind")
    );
    assert!(
        !node["payload"].as_str().expect("payload").contains("reset-token"),
        "secrets redacted"
    );

    let retry = "mutation($id: ID!) { jobRetry(id: $id) { job { state attempts } userErrors { code } } }";
    let bot = staff_session(&app.pool, "bot@jangteo.kr", Role::Bot).await;
    let r = app.admin(&bot, retry, json!({ "id": job.to_string() })).await;
    assert_eq!(data(&r)["jobRetry"]["userErrors"][0]["code"], "FORBIDDEN");
    let r = app.admin(&mgr, retry, json!({ "id": job.to_string() })).await;
    assert_eq!(data(&r)["jobRetry"]["job"], json!({ "state": "QUEUED", "attempts": 0 }));
    // Queued already: nothing to retry.
    let r = app.admin(&mgr, retry, json!({ "id": job.to_string() })).await;
    assert_eq!(data(&r)["jobRetry"]["userErrors"][0]["code"], "INVALID_INPUT");
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_log WHERE action = 'job.retry'")
        .fetch_one(&app.pool)
        .await
        .expect("audit");
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn at_shutdown_a_job_still_in_flight_after_the_grace_goes_back_to_the_queue_unspent() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "grace", &[(30000, 5)], false).await;
    let mgr = staff_session(&app.pool, "mgr@jangteo.kr", Role::Manager).await;
    let token = app.cart(&[(&v[0], 1)]).await;
    let r = app
        .gql(CHECKOUT, json!({ "t": token, "i": checkout_input("g@example.com") }))
        .await;
    let o = data(&r)["checkoutComplete"]["order"].clone();
    app.admin(&mgr, DEPOSIT, json!({ "id": o["id"], "a": o["total"] }))
        .await;
    app.admin(&mgr, SHIP, json!({ "id": o["id"], "c": "CJ", "t": "601234567890" }))
        .await;
    // Only the tracking job: the order's messages are not what this test is about.
    sqlx::query("DELETE FROM jobs").execute(&app.pool).await.expect("clear");
    let mut conn = app.pool.acquire().await.expect("conn");
    let job = jobs::enqueue(&mut conn, NewJob::new(handlers::TRACK_SHIPMENTS, json!({})))
        .await
        .expect("enqueue")
        .expect("job");
    let (hole, _hole) = black_hole().await;
    let mut settings = Settings::defaults();
    settings.tracking.sweettracker_key = Some(SecretString::from(SWEET_KEY));
    settings.tracking.base_url = hole;
    settings.jobs.shutdown_grace_secs = 1;
    let (stop, worker) = spawn_worker(&app, &settings);
    wait_until("the worker to take the job", || async {
        job_state(&app, job).await == ("RUNNING".to_owned(), 1)
    })
    .await;
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), worker)
        .await
        .expect("stopped after the grace")
        .expect("worker");
    // Back in the queue, the interrupted attempt not counted, for the next worker.
    assert_eq!(job_state(&app, job).await, ("QUEUED".to_owned(), 0));
    let workers: i64 = sqlx::query_scalar("SELECT count(*) FROM workers")
        .fetch_one(&app.pool)
        .await
        .expect("workers");
    assert_eq!(workers, 0, "a clean stop deregisters");
}

#[tokio::test]
async fn the_dormant_policy_signs_out_idle_members_and_a_sign_in_wakes_them() {
    let app = TestApp::spawn().await;
    let up = "mutation($i: CustomerSignUpInput!) { customerSignUp(input: $i) { userErrors { code } } }";
    let login = "mutation { customerLogin(email: \"idle@example.com\", password: \"correct-horse-7\") { accessToken userErrors { code } } }";
    app.gql(
        up,
        json!({ "i": { "email": "idle@example.com", "password": "correct-horse-7", "name": "김휴면",
                     "mobile": "010-2222-3333", "termsAccepted": true, "privacyAccepted": true } }),
    )
    .await;
    let r = app.gql(login, json!({})).await;
    assert!(data(&r)["customerLogin"]["accessToken"].is_string(), "{r}");
    let dormant = || async {
        sqlx::query_as::<_, (bool, i64)>(
            "SELECT c.dormant_at IS NOT NULL,
                    (SELECT count(*) FROM customer_sessions s WHERE s.customer_id = c.id AND s.revoked_at IS NULL)
               FROM customers c WHERE c.email = 'idle@example.com'",
        )
        .fetch_one(&app.pool)
        .await
        .expect("customer")
    };
    let mut policy = Settings::defaults().customers.dormant;
    assert_eq!(
        jobs::dormant::apply(&app.pool, &policy).await.expect("off"),
        0,
        "off by default"
    );
    policy.enabled = true;
    assert_eq!(
        jobs::dormant::apply(&app.pool, &policy).await.expect("on"),
        0,
        "signed in today"
    );
    for sql in [
        "UPDATE customers SET created_at = now() - interval '400 days'",
        "UPDATE customer_sessions SET created_at = now() - interval '400 days'",
    ] {
        sqlx::query(sql).execute(&app.pool).await.expect("a year passes");
    }
    assert_eq!(jobs::dormant::apply(&app.pool, &policy).await.expect("on"), 1);
    assert_eq!(dormant().await, (true, 0), "dormant and signed out");
    let r = app.gql(login, json!({})).await;
    assert!(data(&r)["customerLogin"]["accessToken"].is_string(), "{r}");
    assert_eq!(dormant().await, (false, 1), "awake again");
}

#[tokio::test]
async fn with_a_mandrill_key_mail_goes_through_mandrill_and_a_bounce_fails_the_job_for_good() {
    use jangteo_tests::fakes::mandrill::FakeMandrill;
    let mandrill = FakeMandrill::start("md-test-key").await;
    let app = TestApp::spawn().await;
    let mut settings = Settings::defaults();
    settings.mail.mandrill_key = Some(SecretString::from("md-test-key"));
    mandrill.base_url().clone_into(&mut settings.mail.mandrill_base_url);
    let mut conn = app.pool.acquire().await.expect("conn");
    for to in ["ok@example.com", "rejected@example.com"] {
        commerce::notify::enqueue_email(
            &mut conn,
            "welcome",
            to,
            None,
            json!({ "customer": { "name": "김고객" } }),
        )
        .await
        .expect("enqueue");
    }
    let runner = Runner::new(app.pool.clone(), Arc::new(settings.clone())).expect("runner");
    worker::drain(&app.pool, &runner, &settings.jobs).await.expect("drain");
    let sent = mandrill.messages();
    assert_eq!(sent.len(), 2, "{sent:#?}");
    assert_eq!(sent[0]["subject"], "[장터 뉴트리션] 회원이 되신 것을 환영합니다");
    assert_eq!(sent[0]["from_email"], "no-reply@jangteo.example");
    assert!(sent[0]["html"].as_str().expect("html").contains("김고객"));
    let outcome: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT m.recipient, m.status, j.state FROM messages m JOIN jobs j ON j.id = m.job_id ORDER BY m.recipient",
    )
    .fetch_all(&app.pool)
    .await
    .expect("messages");
    assert_eq!(
        outcome,
        [
            ("ok@example.com".to_owned(), "SENT".to_owned(), Some("DONE".to_owned())),
            (
                "rejected@example.com".to_owned(),
                "FAILED".to_owned(),
                Some("FAILED".to_owned())
            ),
        ]
    );
}
