//! Sales and member statistics: the reports equal a direct recomputation from the orders
//! (after payments, partial refunds and cancellations, live and rebuilt, across midnight in
//! Seoul), every period appears, and only OWNER, MANAGER and the bot see them.

use std::collections::BTreeMap;

use commerce::staff::Role;
use jangteo_tests::{CHECKOUT, TestApp, checkout_input, data, staff_session};
use serde_json::{Value, json};
use sqlx::PgPool;

const REPORT: &str = "query($from: Date!, $to: Date!, $g: Granularity!, $by: SalesGroupBy!, $c: SalesChannel) {
    salesReport(from: $from, to: $to, granularity: $g, groupBy: $by, channel: $c) {
      rows { period key label orders units grossSales discounts shippingFees refunds netSales }
      totals { orders units grossSales discounts shippingFees refunds netSales } } }";
const CART: &str = "mutation($c: SalesChannel!, $s: String, $lines: [CartLineInput!]) {
    cartCreate(input: {channel: $c, source: $s, lines: $lines}) { cart { token } userErrors { code message } } }";
const COUPON: &str =
    "mutation($t: String!, $c: String!) { cartCouponApply(token: $t, code: $c) { userErrors { code } } }";
const DEPOSIT: &str =
    "mutation($id: ID!, $a: Won!) { orderMarkDeposited(orderId: $id, amount: $a) { userErrors { code } } }";
const REFUND: &str = "mutation($id: ID!, $a: Won!) { orderRefund(orderId: $id, amount: $a, reason: \"부분 환불\") {
    userErrors { code message } } }";
const CANCEL: &str =
    "mutation($id: ID!) { orderCancel(orderId: $id, reason: \"고객 요청\") { userErrors { code message } } }";
const CHANNELS: [&str; 4] = ["PC_WEB", "MOBILE_WEB", "APP", "EXTERNAL"];

/// Per (day, key) figures: orders, units, gross, discounts, shipping, refunds.
type Cells = BTreeMap<(String, String), [i64; 6]>;

async fn variants(app: &TestApp) -> Vec<String> {
    let r = app
        .gql(
            "{ products(first: 50) { edges { node { variants { id quantityAvailable } } } } }",
            json!({}),
        )
        .await;
    data(&r)["products"]["edges"]
        .as_array()
        .expect("products")
        .iter()
        .flat_map(|e| e["node"]["variants"].as_array().cloned().unwrap_or_default())
        .filter(|v| v["quantityAvailable"].as_i64().unwrap_or(0) > 50)
        .filter_map(|v| v["id"].as_str().map(str::to_owned))
        .collect()
}

/// Places an order of `lines` on `channel`, with a coupon or not; returns (id, total).
async fn place(app: &TestApp, channel: &str, lines: &[(&str, i32)], coupon: Option<&str>) -> (String, i64) {
    let email = format!("buyer-{}@example.com", uuid::Uuid::now_v7().simple());
    let lines: Vec<Value> = lines
        .iter()
        .map(|(v, q)| json!({ "variantId": v, "quantity": q }))
        .collect();
    let source = (channel == "EXTERNAL").then_some("네이버 스마트스토어");
    let r = app
        .gql(CART, json!({ "c": channel, "s": source, "lines": lines }))
        .await;
    let token = data(&r)["cartCreate"]["cart"]["token"]
        .as_str()
        .expect("cart")
        .to_owned();
    if let Some(code) = coupon {
        // A coupon that doesn't apply (minimum not met) leaves the cart as it is.
        app.gql(COUPON, json!({ "t": token, "c": code })).await;
    }
    let r = app
        .gql(CHECKOUT, json!({ "t": token, "i": checkout_input(&email) }))
        .await;
    let o = &data(&r)["checkoutComplete"]["order"];
    assert!(!o.is_null(), "{r}");
    (
        o["id"].as_str().expect("id").to_owned(),
        o["total"].as_i64().expect("total"),
    )
}

fn ok(r: &Value, op: &str) {
    assert_eq!(data(r)[op]["userErrors"], json!([]), "{r}");
}

/// Random orders on every channel, some with a coupon; most paid; some refunded in part,
/// some cancelled after payment (after a partial refund, too), some cancelled unpaid, some
/// left unpaid.
async fn trade(app: &TestApp, staff: &str, n: usize) {
    let vs = variants(app).await;
    assert!(vs.len() >= 3, "the demo shop has variants in stock");
    fastrand::seed(10);
    for i in 0..n {
        let mut lines = Vec::new();
        for _ in 0..fastrand::usize(1..=3) {
            let v = vs[fastrand::usize(..vs.len())].as_str();
            if !lines.iter().any(|(l, _)| *l == v) {
                lines.push((v, fastrand::i32(1..=4)));
            }
        }
        let coupon = [None, Some("WELCOME10"), Some("THANKS3000")][i % 3];
        let (id, total) = place(app, CHANNELS[i % 4], &lines, coupon).await;
        match fastrand::u8(0..10) {
            0 => ok(&app.admin(staff, CANCEL, json!({ "id": id })).await, "orderCancel"),
            1 => {}
            roll => {
                ok(
                    &app.admin(staff, DEPOSIT, json!({ "id": id, "a": total })).await,
                    "orderMarkDeposited",
                );
                if roll <= 4 {
                    let part = fastrand::i64(1..=total);
                    ok(
                        &app.admin(staff, REFUND, json!({ "id": id, "a": part })).await,
                        "orderRefund",
                    );
                }
                if roll == 3 || roll == 5 {
                    ok(&app.admin(staff, CANCEL, json!({ "id": id })).await, "orderCancel");
                }
            }
        }
    }
}

/// The report's rows with figures, keyed by (period, key).
fn report_cells(r: &Value) -> Cells {
    let mut out = Cells::new();
    for row in data(r)["salesReport"]["rows"].as_array().expect("rows") {
        let n = |f: &str| row[f].as_i64().expect(f);
        let v = [
            n("orders"),
            n("units"),
            n("grossSales"),
            n("discounts"),
            n("shippingFees"),
            n("refunds"),
        ];
        assert_eq!(n("netSales"), v[2] - v[3] - v[5], "{row}");
        if v != [0; 6] {
            let key = row["key"].as_str().unwrap_or_default().to_owned();
            out.insert((row["period"].as_str().expect("period").to_owned(), key), v);
        }
    }
    out
}

/// Day × channel figures straight from orders and refunds (a refund is goods first, what
/// exceeds the goods still unrefunded is shipping), written apart from the rollups.
async fn direct_by_channel(pool: &PgPool, trunc: &str) -> Cells {
    let rows = sqlx::query_as::<_, (String, String, i64, i64, i64, i64, i64, i64)>(
        "WITH refund AS (
             SELECT r.created_at AS at, o.channel, r.amount,
                    least(r.amount, greatest(0, o.subtotal - o.discount - coalesce((
                        SELECT sum(p.amount) FROM refunds p WHERE p.order_id = r.order_id AND p.status <> 'FAILED'
                           AND (p.created_at, p.id) < (r.created_at, r.id)), 0))) AS goods
               FROM refunds r JOIN orders o ON o.id = r.order_id WHERE r.status <> 'FAILED'),
         facts AS (
             SELECT o.paid_at AS at, o.channel, 1 AS orders,
                    (SELECT coalesce(sum(quantity), 0) FROM order_lines l WHERE l.order_id = o.id AND NOT l.is_gift) AS units,
                    o.subtotal AS gross, o.discount, o.shipping_fee AS shipping, 0 AS refunds
               FROM orders o WHERE o.paid_at IS NOT NULL
             UNION ALL
             SELECT at, channel, 0, 0, 0, 0, -(amount - goods), goods FROM refund)
         SELECT to_char(date_trunc($1, at AT TIME ZONE 'Asia/Seoul'), 'YYYY-MM-DD'), channel,
                sum(orders)::int8, sum(units)::int8, sum(gross)::int8, sum(discount)::int8, sum(shipping)::int8,
                sum(refunds)::int8
           FROM facts GROUP BY 1, 2",
    )
    .bind(trunc)
    .fetch_all(pool)
    .await
    .expect("direct recomputation");
    rows.into_iter()
        .map(|(d, c, o, u, g, di, s, r)| ((d, c), [o, u, g, di, s, r]))
        .filter(|(_, v)| *v != [0; 6])
        .collect()
}

/// Day × SKU orders, units and gross straight from the paid orders' lines.
async fn direct_by_sku(pool: &PgPool, trunc: &str) -> BTreeMap<(String, String), [i64; 3]> {
    let rows = sqlx::query_as::<_, (String, String, i64, i64, i64)>(
        "SELECT to_char(date_trunc($1, o.paid_at AT TIME ZONE 'Asia/Seoul'), 'YYYY-MM-DD'), l.sku,
                count(DISTINCT o.id)::int8, sum(l.quantity)::int8, sum(l.line_total)::int8
           FROM orders o JOIN order_lines l ON l.order_id = o.id
          WHERE o.paid_at IS NOT NULL AND NOT l.is_gift GROUP BY 1, 2",
    )
    .bind(trunc)
    .fetch_all(pool)
    .await
    .expect("direct by SKU");
    rows.into_iter().map(|(d, s, o, u, g)| ((d, s), [o, u, g])).collect()
}

async fn report(app: &TestApp, staff: &str, range: (&str, &str), g: &str, by: &str) -> Value {
    let vars = json!({ "from": range.0, "to": range.1, "g": g, "by": by });
    let r = app.admin(staff, REPORT, vars).await;
    assert!(r.get("errors").is_none(), "{r}");
    r
}

/// Every cut of the report against the recomputation at granularity `g`.
async fn check_against_orders(app: &TestApp, staff: &str, range: (&str, &str), g: &str) {
    let trunc = g.to_lowercase();
    let by_channel = direct_by_channel(&app.pool, &trunc).await;
    assert!(!by_channel.is_empty(), "something was sold");
    let r = report(app, staff, range, g, "CHANNEL").await;
    assert_eq!(report_cells(&r), by_channel, "{g} by channel");
    // The whole: totals of every cut are the same, and equal the sum over channels.
    let mut whole = [0i64; 6];
    for v in by_channel.values() {
        (0..6).for_each(|i| whole[i] += v[i]);
    }
    let mut per_period: BTreeMap<String, [i64; 6]> = BTreeMap::new();
    for ((d, _), v) in &by_channel {
        let e = per_period.entry(d.clone()).or_default();
        (0..6).for_each(|i| e[i] += v[i]);
    }
    let none = report(app, staff, range, g, "NONE").await;
    let none_cells: BTreeMap<String, [i64; 6]> = report_cells(&none).into_iter().map(|((d, _), v)| (d, v)).collect();
    assert_eq!(none_cells, per_period, "{g} as a whole");
    let sku_direct = direct_by_sku(&app.pool, &trunc).await;
    for by in ["NONE", "CHANNEL", "SKU", "PRODUCT", "CATEGORY"] {
        let r = report(app, staff, range, g, by).await;
        let t = &data(&r)["salesReport"]["totals"];
        let totals = ["orders", "units", "grossSales", "discounts", "shippingFees", "refunds"].map(|f| t[f].as_i64());
        assert_eq!(totals, whole.map(Some), "{g} {by} totals");
        let cells = report_cells(&r);
        if by == "NONE" || by == "CHANNEL" {
            continue;
        }
        // Money spread over the lines adds up to each period's whole, to the won.
        for (period, want) in &per_period {
            let mut got = [0i64; 6];
            cells
                .iter()
                .filter(|((d, _), _)| d == period)
                .for_each(|(_, v)| (1..6).for_each(|i| got[i] += v[i]));
            assert_eq!(got[1..], want[1..], "{g} {by} {period}");
        }
        if by == "SKU" {
            let got: BTreeMap<(String, String), [i64; 3]> = cells
                .iter()
                .filter(|(_, v)| v[0] > 0)
                .map(|(k, v)| (k.clone(), [v[0], v[1], v[2]]))
                .collect();
            assert_eq!(got, sku_direct, "{g} by SKU");
        }
    }
}

async fn rollups(pool: &PgPool) -> Vec<(String, String, String, String, i64, i64, i64, i64, i64, i64, i64)> {
    sqlx::query_as(
        "SELECT dim, day::text, channel, key, orders, units, gross, discounts, shipping, refunds, shipping_refunds
           FROM sales_rollups ORDER BY 1, 2, 3, 4",
    )
    .fetch_all(pool)
    .await
    .expect("rollups")
}

#[tokio::test]
async fn reports_equal_a_recomputation_from_orders_live_and_rebuilt_across_midnight() {
    let app = TestApp::demo().await;
    let staff = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    trade(&app, &staff, 40).await;
    // Around today in Seoul (a run may cross midnight).
    let (from, to): (String, String) = sqlx::query_as(
        "SELECT ((now() AT TIME ZONE 'Asia/Seoul')::date - 1)::text, ((now() AT TIME ZONE 'Asia/Seoul')::date + 1)::text",
    )
    .fetch_one(&app.pool)
    .await
    .expect("today");
    // Live: kept by the transactions that paid, refunded and cancelled.
    check_against_orders(&app, &staff, (&from, &to), "DAY").await;
    // The rebuild from the orders gives the very same rows.
    let live = rollups(&app.pool).await;
    commerce::stats::rebuild(&app.pool).await.expect("rebuild");
    assert_eq!(rollups(&app.pool).await, live);

    // The same orders paid between 23:00 and 02:00 in Seoul on three nights of November,
    // refunded up to two days later.
    sqlx::query(
        "UPDATE orders o SET paid_at = timestamptz '2026-11-08 14:00:00+00' + (r.n % 3) * interval '7 days'
                                       + (r.n * 37 % 180) * interval '1 minute'
           FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM orders WHERE paid_at IS NOT NULL) r
          WHERE r.id = o.id",
    )
    .execute(&app.pool)
    .await
    .expect("shift payments");
    sqlx::query(
        "UPDATE refunds r SET created_at = o.paid_at + random() * interval '2 days'
           FROM orders o WHERE o.id = r.order_id",
    )
    .execute(&app.pool)
    .await
    .expect("shift refunds");
    let midnight_crossed: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT (paid_at AT TIME ZONE 'Asia/Seoul')::date) FROM orders WHERE paid_at IS NOT NULL",
    )
    .fetch_one(&app.pool)
    .await
    .expect("days");
    assert!(midnight_crossed > 3, "payments fall on both sides of midnight");
    commerce::stats::rebuild(&app.pool).await.expect("rebuild");
    for g in ["DAY", "WEEK", "MONTH"] {
        check_against_orders(&app, &staff, ("2026-11-01", "2026-11-30"), g).await;
    }
}

#[tokio::test]
async fn every_period_appears_with_zeros_and_weeks_start_on_monday() {
    let app = TestApp::spawn().await;
    let staff = staff_session(&app.pool, "manager@jangteo.kr", Role::Manager).await;
    let r = report(&app, &staff, ("2026-11-25", "2026-12-08"), "WEEK", "NONE").await;
    let rows = data(&r)["salesReport"]["rows"].as_array().expect("rows").clone();
    let periods: Vec<&str> = rows.iter().filter_map(|r| r["period"].as_str()).collect();
    assert_eq!(periods, ["2026-11-23", "2026-11-30", "2026-12-07"]);
    assert!(
        rows.iter()
            .all(|r| r["key"].is_null() && r["netSales"] == 0 && r["orders"] == 0)
    );
    let r = report(&app, &staff, ("2026-01-31", "2026-03-01"), "MONTH", "CHANNEL").await;
    let rows = data(&r)["salesReport"]["rows"].as_array().expect("rows").clone();
    assert_eq!(rows.len(), 3 * 4, "every month × every channel");
    assert_eq!(rows[0]["period"], "2026-01-01");
    assert_eq!(rows[11]["period"], "2026-03-01");
    assert!(
        rows.iter()
            .any(|r| r["key"] == "MOBILE_WEB" && r["label"] == "모바일 웹")
    );
    let r = report(&app, &staff, ("2026-11-01", "2026-11-30"), "DAY", "SKU").await;
    assert_eq!(data(&r)["salesReport"]["rows"].as_array().map(Vec::len), Some(30));
    let vars = json!({ "from": "2026-11-01", "to": "2026-11-30", "g": "DAY", "by": "NONE", "c": "APP" });
    let r = app.admin(&staff, REPORT, vars).await;
    assert_eq!(data(&r)["salesReport"]["totals"]["orders"], 0);
}

#[tokio::test]
async fn a_range_that_ends_before_it_starts_or_is_too_long_is_refused() {
    let app = TestApp::spawn().await;
    let staff = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    for (from, to, g) in [("2026-12-02", "2026-12-01", "DAY"), ("2020-01-01", "2026-12-01", "DAY")] {
        let vars = json!({ "from": from, "to": to, "g": g, "by": "NONE" });
        let r = app.admin(&staff, REPORT, vars).await;
        assert_eq!(r["errors"][0]["extensions"]["code"], "INVALID_INPUT", "{r}");
    }
    let vars = json!({ "from": "2026-13-01", "to": "2026-12-01", "g": "DAY", "by": "NONE" });
    let r = app.admin(&staff, REPORT, vars).await;
    assert!(
        r["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("YYYY-MM-DD")),
        "{r}"
    );
}

/// A report's fields repeat on every row (up to 100,000): thousands of aliases on a row,
/// directly or through a fragment, are refused before anything runs.
#[tokio::test]
async fn a_row_selected_with_thousands_of_aliases_is_too_complex() {
    let app = TestApp::spawn().await;
    let staff = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let aliases = (0..2000)
        .map(|i| format!("a{i}: netSales"))
        .collect::<Vec<_>>()
        .join(" ");
    let range = "from: \"2025-12-01\", to: \"2026-11-30\", granularity: DAY";
    for q in [
        format!("{{ salesReport({range}, groupBy: SKU) {{ rows {{ {aliases} }} }} }}"),
        format!(
            "{{ salesReport({range}, groupBy: SKU) {{ rows {{ ...R }} }} }} fragment R on SalesReportRow {{ {aliases} }}"
        ),
        format!(
            "{{ memberReport({range}) {{ rows {{ {} }} }} }}",
            aliases.replace("netSales", "signUps")
        ),
    ] {
        let r = app.admin(&staff, &q, json!({})).await;
        assert_eq!(r["errors"][0]["message"], "Query is too complex.", "{r}");
        assert!(r.get("data").is_none_or(Value::is_null), "{r}");
    }
    // What the bot and an admin UI ask still runs: every field of a row and the totals.
    let r = app
        .admin(
            &staff,
            REPORT,
            json!({ "from": "2025-12-01", "to": "2026-11-30", "g": "WEEK", "by": "SKU" }),
        )
        .await;
    assert!(r.get("errors").is_none(), "{r}");
}

#[tokio::test]
async fn reports_are_for_owners_managers_and_the_bot_never_cs() {
    let app = TestApp::spawn().await;
    let queries = [
        "{ salesReport(from: \"2026-11-01\", to: \"2026-11-30\", granularity: DAY) { totals { orders } } }",
        "{ salesSummary(date: \"2026-11-30\") { orders } }",
        "{ memberReport(from: \"2026-11-01\", to: \"2026-11-30\", granularity: WEEK) { totals { signUps } } }",
        "{ customerStats { total } }",
    ];
    for role in [Role::Owner, Role::Manager, Role::Cs, Role::Bot] {
        let token = staff_session(&app.pool, &format!("{}@jangteo.kr", role.as_str().to_lowercase()), role).await;
        for q in queries {
            let r = app.admin(&token, q, json!({})).await;
            if role == Role::Cs {
                assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{q}: {r}");
                assert!(r["data"].is_null(), "{r}");
            } else {
                assert!(r.get("errors").is_none(), "{role:?} {q}: {r}");
            }
        }
    }
    let r = app.admin("not-a-token", queries[0], json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{r}");
}

const SIGN_UP: &str = "mutation($i: CustomerSignUpInput!) { customerSignUp(input: $i) { customer { id } userErrors { code field message } } }";

#[tokio::test]
async fn the_summary_and_the_member_report_count_days_buyers_and_repeat_buyers() {
    let app = TestApp::demo().await;
    let staff = staff_session(&app.pool, "bot@jangteo.kr", Role::Bot).await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let mut members = Vec::new();
    for (i, sms) in [(1, true), (2, false), (3, false)] {
        let input = json!({ "email": format!("m{i}@example.com"), "password": "jangteo1234!", "name": "김민지",
            "mobile": format!("010 9876 543{i}"), "termsAccepted": true, "privacyAccepted": true, "marketingSms": sms });
        let r = app.gql(SIGN_UP, json!({ "i": input })).await;
        assert_eq!(data(&r)["customerSignUp"]["userErrors"], json!([]), "{r}");
        members.push(jangteo_tests::uuid_of(
            data(&r)["customerSignUp"]["customer"]["id"].as_str().expect("customer"),
        ));
    }
    let vs = variants(&app).await;
    // Member 0 buys twice, member 1 once, member 2 never; one guest order; one unpaid.
    let buyers = [
        Some(members[0]),
        Some(members[0]),
        Some(members[1]),
        None,
        Some(members[1]),
    ];
    let mut paid = Vec::new();
    for (i, who) in buyers.iter().enumerate() {
        let (id, total) = place(&app, "MOBILE_WEB", &[(vs[i % vs.len()].as_str(), 2)], None).await;
        sqlx::query("UPDATE orders SET customer_id = $1 WHERE id = $2")
            .bind(who)
            .bind(jangteo_tests::uuid_of(&id))
            .execute(&app.pool)
            .await
            .expect("member order");
        if i < 4 {
            ok(
                &app.admin(&owner, DEPOSIT, json!({ "id": id, "a": total })).await,
                "orderMarkDeposited",
            );
            paid.push(total);
        }
    }
    // Everything happened on 2026-11-20 in Seoul (the shop's sign-ups and payments at 10:00).
    for fix in [
        "UPDATE customers SET created_at = '2026-11-20 01:00:00+00'",
        "UPDATE orders SET paid_at = timestamptz '2026-11-20 01:00:00+00' + (customer_seq IS NULL)::int * interval '1 minute'
          WHERE paid_at IS NOT NULL",
    ] {
        sqlx::query(fix).execute(&app.pool).await.expect("fix the day");
    }
    commerce::stats::rebuild(&app.pool).await.expect("rebuild");
    let today = "2026-11-20";
    let summary_query = "query($d: Date) { salesSummary(date: $d) { date orders netSales averageOrderValue
        previousDay { orders netSales } sameDayLastWeek { orders } topProducts { name units netSales } } }";
    let r = app.admin(&staff, summary_query, json!({ "d": today })).await;
    let s = &data(&r)["salesSummary"];
    assert_eq!(s["date"], today);
    assert_eq!(s["orders"], 4);
    let goods: i64 = sqlx::query_scalar("SELECT sum(subtotal - discount)::int8 FROM orders WHERE paid_at IS NOT NULL")
        .fetch_one(&app.pool)
        .await
        .expect("goods");
    assert_eq!(s["netSales"], goods);
    assert_eq!(s["averageOrderValue"], (goods + 2) / 4);
    assert_eq!(s["previousDay"]["orders"], 0);
    let top = s["topProducts"].as_array().expect("top");
    assert!(!top.is_empty() && top.len() <= 5);
    assert!(
        top.windows(2)
            .all(|w| w[0]["netSales"].as_i64() >= w[1]["netSales"].as_i64())
    );
    assert_eq!(top.iter().map(|t| t["units"].as_i64().unwrap_or(0)).sum::<i64>(), 8);
    // No date: today in Seoul.
    let before = chrono::Utc::now()
        .with_timezone(&commerce::SHOP_TZ)
        .date_naive()
        .to_string();
    let r = app.admin(&staff, summary_query, json!({})).await;
    let after = chrono::Utc::now()
        .with_timezone(&commerce::SHOP_TZ)
        .date_naive()
        .to_string();
    let date = data(&r)["salesSummary"]["date"].as_str().unwrap_or_default().to_owned();
    assert!(date == before || date == after, "{date}");

    let member_query = "query($f: Date!, $t: Date!) { memberReport(from: $f, to: $t, granularity: DAY) {
        rows { period signUps buyers firstTimeBuyers repeatBuyers repeatRate }
        totals { signUps buyers firstTimeBuyers repeatBuyers repeatRate } }
      customerStats { total withOrders marketingEmail marketingSms byTier { tier count } } }";
    let r = app.admin(&staff, member_query, json!({ "f": today, "t": today })).await;
    let m = &data(&r)["memberReport"];
    assert_eq!(m["rows"].as_array().map(Vec::len), Some(1));
    let want = json!({ "signUps": 3, "buyers": 2, "firstTimeBuyers": 2, "repeatBuyers": 1, "repeatRate": 0.5 });
    assert_eq!(m["totals"], want);
    let c = &data(&r)["customerStats"];
    assert_eq!((c["total"].as_i64(), c["withOrders"].as_i64()), (Some(3), Some(2)));
    assert_eq!(
        (c["marketingSms"].as_i64(), c["marketingEmail"].as_i64()),
        (Some(1), Some(0))
    );
    assert_eq!(c["byTier"][0], json!({ "tier": "BASIC", "count": 3 }));
    assert_eq!(c["byTier"].as_array().map(Vec::len), Some(4));
}

#[tokio::test]
async fn the_first_start_after_the_statistics_migration_counts_the_orders_paid_before() {
    let app = TestApp::demo().await;
    let staff = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    trade(&app, &staff, 8).await;
    let live = rollups(&app.pool).await;
    assert!(!live.is_empty());
    // As the migration leaves a database whose orders predate it.
    sqlx::query("DELETE FROM sales_rollups")
        .execute(&app.pool)
        .await
        .expect("empty");
    sqlx::query("UPDATE stats_state SET rebuilt_at = NULL")
        .execute(&app.pool)
        .await
        .expect("unset");
    commerce::db::migrate(&app.pool).await.expect("start");
    assert_eq!(rollups(&app.pool).await, live);
    // Once: the next start leaves the rows alone.
    sqlx::query("DELETE FROM sales_rollups WHERE dim = 'SKU'")
        .execute(&app.pool)
        .await
        .expect("cut");
    commerce::db::migrate(&app.pool).await.expect("start again");
    assert!(rollups(&app.pool).await.len() < live.len());
}

#[tokio::test]
async fn a_cancel_after_a_partial_refund_owes_only_the_rest() {
    let app = TestApp::demo().await;
    let staff = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let vs = variants(&app).await;
    let (id, total) = place(&app, "APP", &[(vs[0].as_str(), 3)], None).await;
    ok(
        &app.admin(&staff, DEPOSIT, json!({ "id": id, "a": total })).await,
        "orderMarkDeposited",
    );
    ok(
        &app.admin(&staff, REFUND, json!({ "id": id, "a": 1_000 })).await,
        "orderRefund",
    );
    ok(&app.admin(&staff, CANCEL, json!({ "id": id })).await, "orderCancel");
    let refunded: Vec<i64> = sqlx::query_scalar("SELECT amount FROM refunds ORDER BY created_at, id")
        .fetch_all(&app.pool)
        .await
        .expect("refunds");
    assert_eq!(refunded, [1_000, total - 1_000]);
    let r = report(&app, &staff, ("2026-01-01", "2027-12-31"), "MONTH", "NONE").await;
    let t = &data(&r)["salesReport"]["totals"];
    assert_eq!(t["netSales"], 0, "{t}");
    assert_eq!(t["shippingFees"], 0, "{t}");
}

#[tokio::test]
async fn sales_charts_come_as_png_and_svg_of_the_asked_size_with_korean_titles() {
    use base64::Engine;
    let app = TestApp::demo().await;
    let staff = staff_session(&app.pool, "bot@jangteo.kr", Role::Bot).await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    trade(&app, &owner, 6).await;
    let q = "query($k: ChartKind!, $w: Int = 1200, $h: Int = 600, $by: SalesGroupBy = NONE) {
        salesChart(from: \"2026-11-01\", to: \"2027-01-31\", granularity: WEEK, groupBy: $by, kind: $k, width: $w, height: $h)
        { png svg } }";
    for (kind, title) in [
        ("LINE", "순매출"),
        ("CHANNEL_BARS", "채널별"),
        ("TOP_BARS", "상품별"),
        ("MEMBERS", "회원"),
    ] {
        let r = app.admin(&staff, q, json!({ "k": kind, "w": 640, "h": 360 })).await;
        let chart = &data(&r)["salesChart"];
        let uri = chart["png"].as_str().expect("png");
        let b64 = uri.strip_prefix("data:image/png;base64,").expect("a PNG data URI");
        let png = base64::engine::general_purpose::STANDARD.decode(b64).expect("base64");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{kind}");
        // IHDR: width and height, big-endian, right after the signature and chunk header.
        assert_eq!(png[16..24], [0, 0, 2, 128, 0, 0, 1, 104], "{kind} is 640×360");
        let svg = chart["svg"].as_str().expect("svg");
        assert!(
            svg.starts_with("<svg") && svg.contains(title),
            "{kind}: {}",
            &svg[..svg.len().min(300)]
        );
    }
    for (w, h) in [(199, 600), (1200, 2001), (-1, 600)] {
        let r = app.admin(&staff, q, json!({ "k": "LINE", "w": w, "h": h })).await;
        assert_eq!(r["errors"][0]["extensions"]["code"], "INVALID_INPUT", "{w}×{h}: {r}");
    }
    let cs = staff_session(&app.pool, "cs@jangteo.kr", Role::Cs).await;
    let r = app.admin(&cs, q, json!({ "k": "LINE" })).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "FORBIDDEN", "{r}");
}

/// `memberReport` as counted directly: distinct buyers of each period (and of the range)
/// among the members' orders paid in `from..=to`, with the periods the range cuts counting
/// only their days in it.
async fn members_counted_directly(pool: &PgPool, from: &str, to: &str, g: &str) -> Value {
    let rows: Vec<(Option<chrono::NaiveDate>, i64, i64, i64)> = sqlx::query_as(
        "SELECT date_trunc($1, paid_at AT TIME ZONE 'Asia/Seoul')::date,
                count(DISTINCT customer_id), count(*) FILTER (WHERE customer_seq = 1),
                count(DISTINCT customer_id) FILTER (WHERE customer_seq >= 2)
           FROM orders
          WHERE customer_id IS NOT NULL AND paid_at IS NOT NULL
            AND paid_at >= ($2::date)::timestamp AT TIME ZONE 'Asia/Seoul'
            AND paid_at < ($3::date + 1)::timestamp AT TIME ZONE 'Asia/Seoul'
          GROUP BY GROUPING SETS ((1), ())",
    )
    .bind(g.to_lowercase())
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .expect("direct count");
    let figures = |(b, f, r): (i64, i64, i64)| json!({ "buyers": b, "firstTimeBuyers": f, "repeatBuyers": r });
    let mut periods = serde_json::Map::new();
    let mut totals = figures((0, 0, 0));
    for (period, b, f, r) in rows {
        match period {
            Some(p) => {
                periods.insert(p.to_string(), figures((b, f, r)));
            }
            None => totals = figures((b, f, r)),
        }
    }
    json!({ "periods": periods, "totals": totals })
}

/// The report's buyers in the shape of [`members_counted_directly`] (periods without buyers
/// left out).
async fn members_reported(app: &TestApp, staff: &str, from: &str, to: &str, granularity: &str) -> Value {
    let query = "query($f: Date!, $t: Date!, $g: Granularity!) { memberReport(from: $f, to: $t, granularity: $g) {
        rows { period buyers firstTimeBuyers repeatBuyers } totals { buyers firstTimeBuyers repeatBuyers } } }";
    let resp = app
        .admin(staff, query, json!({ "f": from, "t": to, "g": granularity }))
        .await;
    let report = &data(&resp)["memberReport"];
    let mut periods = serde_json::Map::new();
    for row in report["rows"].as_array().expect("rows") {
        if row["buyers"].as_i64().unwrap_or(0) > 0 {
            let period = row["period"].as_str().expect("period").to_owned();
            let mut figures = row.clone();
            figures.as_object_mut().expect("row").remove("period");
            periods.insert(period, figures);
        }
    }
    json!({ "periods": periods, "totals": report["totals"] })
}

#[tokio::test]
async fn the_member_report_equals_counting_distinct_buyers_over_any_range_kept_live_and_rebuilt() {
    let app = TestApp::demo().await;
    let owner = staff_session(&app.pool, "owner@jangteo.kr", Role::Owner).await;
    let mut members = Vec::new();
    for i in 0..6 {
        let input = json!({ "email": format!("member{i}@example.com"), "password": "jangteo1234!", "name": "김민지",
            "mobile": format!("010 5555 000{i}"), "termsAccepted": true, "privacyAccepted": true });
        let r = app.gql(SIGN_UP, json!({ "i": input })).await;
        members.push(jangteo_tests::uuid_of(
            data(&r)["customerSignUp"]["customer"]["id"].as_str().expect("customer"),
        ));
    }
    let vs = variants(&app).await;
    let mut rng = fastrand::Rng::with_seed(20_261_203);
    let pay = |who: uuid::Uuid, i: usize| {
        let (app, owner, vs) = (&app, &owner, &vs);
        async move {
            let (id, total) = place(app, "PC_WEB", &[(vs[i % vs.len()].as_str(), 1)], None).await;
            sqlx::query("UPDATE orders SET customer_id = $1 WHERE id = $2")
                .bind(who)
                .bind(jangteo_tests::uuid_of(&id))
                .execute(&app.pool)
                .await
                .expect("member order");
            ok(
                &app.admin(owner, DEPOSIT, json!({ "id": id, "a": total })).await,
                "orderMarkDeposited",
            );
        }
    };
    // 30 payments, then spread over 80 days (across weeks and months) and rebuilt.
    for i in 0..30 {
        pay(members[rng.usize(..members.len())], i).await;
    }
    sqlx::query(
        "UPDATE orders SET paid_at = now() - (random_days || ' days')::interval - (id::text < '8')::int * interval '9 hours'
           FROM (SELECT id AS oid, (abs(hashtext(id::text)) % 80 + 1)::text AS random_days FROM orders) r
          WHERE r.oid = orders.id AND paid_at IS NOT NULL",
    )
    .execute(&app.pool)
    .await
    .expect("spread the payments");
    commerce::stats::rebuild(&app.pool).await.expect("rebuild");
    // Then more payments now: members who bought before, some twice today.
    for i in 0..8 {
        pay(members[i % 4], 100 + i).await;
    }
    let today = chrono::Utc::now().with_timezone(&commerce::SHOP_TZ).date_naive();
    let day = |back: u64| (today - chrono::Days::new(back)).to_string();
    for (from, to) in [
        (day(90), day(0)),
        (day(45), day(3)),
        (day(17), day(0)),
        (day(0), day(0)),
        (day(33), day(33)),
    ] {
        for g in ["DAY", "WEEK", "MONTH"] {
            assert_eq!(
                members_reported(&app, &owner, &from, &to, g).await,
                members_counted_directly(&app.pool, &from, &to, g).await,
                "{from}..{to} by {g}"
            );
        }
    }
}
