//! Storefront catalog over HTTP against the demo shop: listings, pagination, filters,
//! search, detail, categories, errors, and the SQL statements a page costs.
#![allow(clippy::cast_possible_wrap, clippy::cast_sign_loss)] // counts in tests are small

use std::collections::HashSet;

use commerce::staff::Role;
use jangteo_tests::{Options, TestApp, data, product_with_stock, staff_session, uuid_of};
use serde_json::{Value, json};

const LIST: &str = r"
query List($first: Int, $after: String, $filter: ProductFilterInput, $sort: ProductSortInput) {
  products(first: $first, after: $after, filter: $filter, sort: $sort) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id slug name priceFrom createdAt inStock variants { sku price compareAtPrice inStock quantityAvailable } } }
  }
}";

/// Every published product reachable by walking pages of `first`, in listing order.
async fn walk(app: &TestApp, first: i64, filter: Value, sort: Value) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = Value::Null;
    loop {
        let r = app
            .gql(
                LIST,
                json!({ "first": first, "after": after, "filter": filter, "sort": sort }),
            )
            .await;
        let conn = &data(&r)["products"];
        let edges = conn["edges"].as_array().expect("edges");
        assert!(edges.len() as i64 <= first);
        out.extend(edges.iter().map(|e| e["node"].clone()));
        if !conn["pageInfo"]["hasNextPage"].as_bool().expect("bool") {
            break;
        }
        after = conn["pageInfo"]["endCursor"].clone();
        assert!(out.len() < 1000, "pagination does not end");
    }
    out
}

#[tokio::test]
async fn demo_listing_shows_hangul_products_with_variants() {
    let app = TestApp::demo().await;
    let r = app
        .gql(
            "{ products(first: 3) { edges { node { name variants { price } } } } }",
            json!({}),
        )
        .await;
    let edges = data(&r)["products"]["edges"].as_array().expect("edges").clone();
    assert_eq!(edges.len(), 3);
    for e in &edges {
        let name = e["node"]["name"].as_str().expect("name");
        assert!(name.chars().any(|c| ('가'..='힣').contains(&c)), "not Hangul: {name}");
        assert!(e["node"]["variants"][0]["price"].as_i64().expect("price") > 0);
    }
    let shop = app.gql("{ shop { name currency } }", json!({})).await;
    assert_eq!(data(&shop)["shop"]["currency"], "KRW");
}

#[tokio::test]
async fn pages_cover_every_published_product_once_in_each_order() {
    let app = TestApp::demo().await;
    let published: i64 = sqlx::query_scalar("SELECT count(*) FROM products WHERE published")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    let total = app.gql(LIST, json!({ "first": 1 })).await;
    assert_eq!(data(&total)["products"]["totalCount"], published);

    for (sort, key) in [
        (json!({ "field": "NEWEST" }), "createdAt"),
        (json!({ "field": "NEWEST", "direction": "ASC" }), "createdAt"),
        (json!({ "field": "PRICE" }), "priceFrom"),
        (json!({ "field": "PRICE", "direction": "DESC" }), "priceFrom"),
        (json!({ "field": "NAME" }), "name"),
    ] {
        let all = walk(&app, 7, json!({}), sort.clone()).await;
        assert_eq!(all.len() as i64, published, "{sort}");
        let ids: HashSet<_> = all.iter().map(|p| p["id"].as_str().expect("id").to_owned()).collect();
        assert_eq!(ids.len(), all.len(), "duplicates in {sort}");
        let desc = sort["direction"] == "DESC" || (sort["field"] == "NEWEST" && sort["direction"].is_null());
        for w in all.windows(2) {
            let (a, b) = (&w[0][key], &w[1][key]);
            let ordered = match (a.as_i64(), b.as_i64()) {
                (Some(a), Some(b)) => {
                    if desc {
                        a >= b
                    } else {
                        a <= b
                    }
                }
                _ => {
                    // createdAt: RFC 3339 with the same offset compares as text; names by code point.
                    let (a, b) = (a.as_str().expect("str"), b.as_str().expect("str"));
                    if desc { a >= b } else { a <= b }
                }
            };
            assert!(ordered, "{sort}: {a} then {b}");
        }
    }
    // A cursor from one order is refused by another.
    let r = app.gql(LIST, json!({ "first": 2, "sort": { "field": "PRICE" } })).await;
    let cursor = data(&r)["products"]["pageInfo"]["endCursor"].clone();
    let r = app
        .gql(
            LIST,
            json!({ "first": 2, "after": cursor, "sort": { "field": "NAME" } }),
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "INVALID_CURSOR");
    let r = app.gql(LIST, json!({ "first": 2, "after": "garbage" })).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "INVALID_CURSOR");
}

#[tokio::test]
async fn times_are_seoul_rfc3339() {
    let app = TestApp::demo().await;
    let r = app
        .gql("{ products(first: 1) { edges { node { createdAt } } } }", json!({}))
        .await;
    let at = data(&r)["products"]["edges"][0]["node"]["createdAt"]
        .as_str()
        .expect("time")
        .to_owned();
    assert!(at.ends_with("+09:00"), "{at}");
    assert!(chrono::DateTime::parse_from_rfc3339(&at).is_ok());
}

#[tokio::test]
async fn search_finds_hangul_substrings_in_name_and_description() {
    let app = TestApp::demo().await;
    let names = |v: &[Value]| {
        v.iter()
            .map(|p| p["name"].as_str().expect("name").to_owned())
            .collect::<Vec<_>>()
    };
    let found = walk(&app, 50, json!({ "search": "단백질" }), json!({ "field": "NAME" })).await;
    assert!(
        names(&found).contains(&"고단백 쉐이크".to_owned()),
        "{:?}",
        names(&found)
    );
    let found = walk(&app, 50, json!({ "search": "단백" }), json!({ "field": "NAME" })).await;
    assert!(names(&found).contains(&"고단백 쉐이크".to_owned()));
    // Every word must appear.
    let both = walk(
        &app,
        50,
        json!({ "search": "고단백 쉐이크" }),
        json!({ "field": "NAME" }),
    )
    .await;
    assert!(names(&both).contains(&"고단백 쉐이크".to_owned()));
    assert!(
        walk(&app, 50, json!({ "search": "고단백 자전거" }), Value::Null)
            .await
            .is_empty()
    );
    // LIKE wildcards are text, not patterns.
    let percent = walk(&app, 50, json!({ "search": "%" }), Value::Null).await;
    let with_percent: i64 =
        sqlx::query_scalar("SELECT count(*) FROM products WHERE published AND description LIKE '%\\%%'")
            .fetch_one(&app.pool)
            .await
            .expect("count");
    assert!(with_percent > 0, "the demo has descriptions with a literal %");
    assert_eq!(
        percent.len() as i64,
        with_percent,
        "`%` matches a literal percent sign only"
    );
    assert!(walk(&app, 50, json!({ "search": "_" }), Value::Null).await.is_empty());
    // Drafts never show.
    let draft: String = sqlx::query_scalar("SELECT name FROM products WHERE NOT published LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .expect("a draft");
    assert!(walk(&app, 50, json!({ "search": draft }), Value::Null).await.is_empty());
    let r = app.gql(LIST, json!({ "filter": { "search": "가".repeat(101) } })).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "INVALID_INPUT");
}

#[tokio::test]
async fn filters_by_category_tree_and_stock() {
    let app = TestApp::demo().await;
    let r = app
        .gql("{ categories { slug parent { slug } children { slug } } }", json!({}))
        .await;
    let cats = data(&r)["categories"].as_array().expect("list").clone();
    let child = cats.iter().find(|c| !c["parent"].is_null()).expect("a child category");
    let parent_slug = child["parent"]["slug"].as_str().expect("slug");
    let parent = cats.iter().find(|c| c["slug"] == parent_slug).expect("parent listed");
    assert!(
        parent["children"]
            .as_array()
            .expect("children")
            .iter()
            .any(|c| c["slug"] == child["slug"])
    );
    // Parents come before their children.
    let pos = |s: &Value| cats.iter().position(|c| c["slug"] == *s).expect("listed");
    assert!(pos(&parent["slug"]) < pos(&child["slug"]));

    let in_parent = walk(&app, 100, json!({ "categorySlug": parent_slug }), Value::Null).await;
    let in_child = walk(&app, 100, json!({ "categorySlug": child["slug"] }), Value::Null).await;
    assert!(!in_child.is_empty());
    for p in &in_child {
        assert!(in_parent.contains(p), "subcategory products belong to the parent too");
    }
    let via_category = app
        .gql(
            "query($s: String!) { category(slug: $s) { name products(first: 100) { totalCount } } }",
            json!({ "s": parent_slug }),
        )
        .await;
    assert_eq!(
        data(&via_category)["category"]["products"]["totalCount"],
        in_parent.len()
    );
    assert!(
        walk(&app, 100, json!({ "categorySlug": "no-such-category" }), Value::Null)
            .await
            .is_empty()
    );

    let all = walk(&app, 100, json!({}), Value::Null).await;
    let in_stock = walk(&app, 100, json!({ "inStock": true }), Value::Null).await;
    let sold_out = walk(&app, 100, json!({ "inStock": false }), Value::Null).await;
    assert_eq!(in_stock.len() + sold_out.len(), all.len());
    assert!(!sold_out.is_empty() && !in_stock.is_empty());
    assert!(in_stock.iter().all(|p| p["inStock"] == true));
    assert!(sold_out.iter().all(|p| {
        p["inStock"] == false
            && p["variants"]
                .as_array()
                .expect("v")
                .iter()
                .all(|v| v["quantityAvailable"] == 0)
    }));
}

#[tokio::test]
async fn product_detail_by_slug_or_id_and_stock_follows_allocation() {
    let app = TestApp::demo().await;
    let q = "query($slug: String, $id: ID) { product(slug: $slug, id: $id) { id name taxFree category { slug }
               images { url } variants { sku price compareAtPrice inStock quantityAvailable } } }";
    let r = app.gql(q, json!({ "slug": "high-protein-shake" })).await;
    let p = data(&r)["product"].clone();
    assert_eq!(p["name"], "고단백 쉐이크");
    assert!(!p["images"].as_array().expect("images").is_empty());
    let by_id = app.gql(q, json!({ "id": p["id"] })).await;
    assert_eq!(data(&by_id)["product"], p);

    // quantityAvailable is on hand − allocated.
    let sku = p["variants"][0]["sku"].as_str().expect("sku");
    let (on_hand,): (i32,) =
        sqlx::query_as("UPDATE variants SET allocated = on_hand - 2 WHERE sku = $1 RETURNING on_hand")
            .bind(sku)
            .fetch_one(&app.pool)
            .await
            .expect("update");
    assert!(on_hand >= 2);
    let r = app.gql(q, json!({ "slug": "high-protein-shake" })).await;
    assert_eq!(data(&r)["product"]["variants"][0]["quantityAvailable"], 2);
    sqlx::query("UPDATE variants SET allocated = on_hand WHERE sku = $1")
        .bind(sku)
        .execute(&app.pool)
        .await
        .expect("update");
    let r = app.gql(q, json!({ "slug": "high-protein-shake" })).await;
    assert_eq!(data(&r)["product"]["variants"][0]["inStock"], false);

    // Exactly one tax-free product in the demo.
    let tax_free: i64 = sqlx::query_scalar("SELECT count(*) FROM products WHERE tax_free")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(tax_free, 1);
}

#[tokio::test]
async fn unknown_or_ambiguous_lookups_are_clear_errors() {
    let app = TestApp::demo().await;
    let r = app
        .gql(r#"{ product(slug: "no-such-thing") { name } }"#, json!({}))
        .await;
    assert_eq!(r["data"]["product"], Value::Null);
    assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_FOUND");
    let r = app.gql(r#"{ product(id: "prd_nope") { name } }"#, json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "INVALID_ID");
    let r = app.gql("{ product { name } }", json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "INVALID_INPUT");
    let r = app
        .gql(
            r#"{ product(slug: "high-protein-shake", id: "prd_00000000000000000000000000000000") { name } }"#,
            json!({}),
        )
        .await;
    assert_eq!(r["data"]["product"], Value::Null);
    assert_eq!(r["errors"][0]["extensions"]["code"], "INVALID_INPUT", "both: {r}");
    let r = app.gql(r#"{ category(slug: "nope") { name } }"#, json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_FOUND");
    let draft: String = sqlx::query_scalar("SELECT slug FROM products WHERE NOT published LIMIT 1")
        .fetch_one(&app.pool)
        .await
        .expect("a draft");
    let r = app
        .gql(
            "query($s: String) { product(slug: $s) { name } }",
            json!({ "s": draft }),
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn page_size_is_capped_at_100_with_a_clear_error_in_the_callers_language() {
    let app = TestApp::demo().await;
    for (first, ok) in [
        (1000, false),
        (101, false),
        (0, false),
        (-1, false),
        (100, true),
        (1, true),
    ] {
        let r = app.gql(LIST, json!({ "first": first })).await;
        if ok {
            data(&r);
        } else {
            assert_eq!(
                r["errors"][0]["extensions"]["code"], "PAGE_SIZE_EXCEEDED",
                "first={first}"
            );
            assert_eq!(r["errors"][0]["path"], json!(["products"]));
        }
    }
    let en = app
        .request(reqwest::Method::POST, "/graphql")
        .header("accept-language", "en-US,en;q=0.9")
        .json(&json!({ "query": "{ products(first: 1000) { totalCount } }" }))
        .send()
        .await
        .expect("send");
    let body: Value = en.json().await.expect("json");
    assert_eq!(
        body["errors"][0]["message"],
        "first must be between 1 and 100, got 1000"
    );
    let r = app.gql("{ products(first: 1000) { totalCount } }", json!({})).await;
    assert!(r["errors"][0]["message"].as_str().expect("msg").contains("100까지"));
}

const PAGE_WITH_VARIANTS: &str = r"query($first: Int) { products(first: $first) { totalCount edges { node {
    id name slug priceFrom inStock images { url } category { name }
    variants { id sku price compareAtPrice quantityAvailable } } } } }";

#[tokio::test]
async fn a_page_costs_the_same_few_statements_whatever_its_size() {
    let app = TestApp::spawn_with(Options {
        count_statements: true,
        ..Options::default()
    })
    .await;
    commerce::demo::seed_bulk(&app.pool, 120, 3).await.expect("seed");
    let counter = app.counter.clone().expect("counting");
    let cost = |query: &'static str, vars: Value| {
        let (app, counter) = (&app, &counter);
        async move {
            let before = counter.get();
            let r = app.gql(query, vars).await;
            (counter.get() - before, r)
        }
    };
    // The page with variants and totalCount: one statement; categories: one more.
    for first in [1, 5, 20, 100] {
        let (n, r) = cost(PAGE_WITH_VARIANTS, json!({ "first": first })).await;
        assert_eq!(
            data(&r)["products"]["edges"].as_array().expect("edges").len(),
            first as usize
        );
        assert_eq!(n, 2, "first: {first}");
    }
    let (n, r) = cost(
        "{ products(first: 20) { totalCount edges { node { name variants { id price quantityAvailable } } } } }",
        json!({}),
    )
    .await;
    data(&r);
    assert_eq!(n, 1, "the issue's bound is 3");
    // Walking on: the cursor pages cost the same; an empty page counts separately.
    let (_, r) = cost("{ products(first: 100) { pageInfo { endCursor } } }", json!({})).await;
    let after = data(&r)["products"]["pageInfo"]["endCursor"].clone();
    let (n, r) = cost(
        "query($a: String) { products(first: 100, after: $a) { totalCount edges { node { variants { sku } } } } }",
        json!({ "a": after }),
    )
    .await;
    assert_eq!(data(&r)["products"]["totalCount"], 120);
    assert_eq!(n, 1);
    let (n, r) = cost(
        "query($s: String) { products(filter: {search: $s}) { totalCount edges { cursor } } }",
        json!({ "s": "없는상품" }),
    )
    .await;
    assert_eq!(data(&r)["products"]["totalCount"], 0);
    assert_eq!(n, 2);

    // Options come with the page's variants, and so do the variants' products and images.
    let (n, r) = cost(
        "{ products(first: 50) { edges { node { options { name values } } } } }",
        json!({}),
    )
    .await;
    assert_eq!(data(&r)["products"]["edges"].as_array().expect("edges").len(), 50);
    assert_eq!(n, 1);
    let (n, r) = cost(
        "{ products(first: 50) { edges { node { variants { product { slug } image { url } } } } } }",
        json!({}),
    )
    .await;
    assert!(data(&r)["products"]["edges"][49]["node"]["variants"][2]["product"]["slug"].is_string());
    assert_eq!(n, 1, "a variant of the page knows its product");

    // Detail: product, images and variants in one statement.
    let (_, r) = cost("{ products(first: 1) { edges { node { slug } } } }", json!({})).await;
    let slug = data(&r)["products"]["edges"][0]["node"]["slug"].clone();
    let (n, r) = cost(
        "query($s: String) { product(slug: $s) { name images { url } variants { price } } }",
        json!({ "s": slug }),
    )
    .await;
    assert_eq!(data(&r)["product"]["variants"].as_array().expect("variants").len(), 3);
    assert_eq!(n, 1);
    let (n, r) = cost("{ product(slug: \"bulk\") { name } }", json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_FOUND");
    assert_eq!(n, 1);
}

const STOCK: &str = "query($s: String) { product(slug: $s) { variants { sku stockStatus quantityAvailable } } }";

#[tokio::test]
async fn stock_status_follows_each_variants_low_stock_threshold() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(
        &app.pool,
        "stock",
        &[(1000, 0), (1000, 1), (1000, 5), (1000, 6), (1000, 3)],
        false,
    )
    .await;
    // The default threshold is 5; this variant's is 2, so 3 units are plenty.
    sqlx::query("UPDATE variants SET low_stock_threshold = 2 WHERE id = $1")
        .bind(uuid_of(&v[4]))
        .execute(&app.pool)
        .await
        .expect("threshold");
    let r = app.gql(STOCK, json!({ "s": "stock" })).await;
    let statuses: Vec<&str> = data(&r)["product"]["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .map(|v| v["stockStatus"].as_str().expect("status"))
        .collect();
    assert_eq!(statuses, ["SOLD_OUT", "LOW_STOCK", "LOW_STOCK", "IN_STOCK", "IN_STOCK"]);
    // Allocation counts: 6 on hand with 2 allocated is 4 available, a few left.
    sqlx::query("UPDATE variants SET allocated = 2 WHERE id = $1")
        .bind(uuid_of(&v[3]))
        .execute(&app.pool)
        .await
        .expect("allocate");
    let r = app.gql(STOCK, json!({ "s": "stock" })).await;
    assert_eq!(data(&r)["product"]["variants"][3]["stockStatus"], "LOW_STOCK");
    assert_eq!(
        data(&r)["product"]["variants"][3]["quantityAvailable"],
        4,
        "the demo shows exact stock"
    );
}

fn private_stock(s: &mut commerce::Settings) {
    s.demo = false;
}

fn public_stock(s: &mut commerce::Settings) {
    s.demo = false;
    s.storefront.show_exact_stock = true;
}

#[tokio::test]
async fn exact_stock_is_null_for_shoppers_unless_the_shop_shows_it_and_staff_always_see_it() {
    for (settings, shown) in [
        (private_stock as fn(&mut commerce::Settings), false),
        (public_stock, true),
    ] {
        let app = TestApp::spawn_with(Options {
            settings: Some(settings),
            ..Options::default()
        })
        .await;
        let v = product_with_stock(&app.pool, "hidden", &[(1000, 7)], false).await;
        let r = app.gql(STOCK, json!({ "s": "hidden" })).await;
        let variant = &data(&r)["product"]["variants"][0];
        assert_eq!(variant["stockStatus"], "IN_STOCK");
        let expected = if shown { json!(7) } else { Value::Null };
        assert_eq!(variant["quantityAvailable"], expected, "shown: {shown}");
        let token = app.cart(&[(&v[0], 2)]).await;
        let r = app
            .gql(
                "query($t: String!) { cart(token: $t) { lines { quantityAvailable variant { quantityAvailable } } } }",
                json!({ "t": token }),
            )
            .await;
        let line = &data(&r)["cart"]["lines"][0];
        assert_eq!(line["quantityAvailable"], expected, "cart line, shown: {shown}");
        assert_eq!(line["variant"]["quantityAvailable"], expected);

        let staff = staff_session(&app.pool, "ops@jangteo.example", Role::Cs).await;
        let r = app
            .admin(
                &staff,
                "{ product(slug: \"hidden\") { variants { quantityAvailable stockStatus } } }",
                json!({}),
            )
            .await;
        assert_eq!(data(&r)["product"]["variants"][0]["quantityAvailable"], 7, "staff: {r}");
    }
}

const OPTIONS: &str = "query($s: String, $sel: [SelectedOptionInput!]!) { product(slug: $s) {
    options { name values } variantBySelectedOptions(selectedOptions: $sel) { sku options { name value } } } }";

#[tokio::test]
async fn product_options_in_order_and_the_variant_of_an_exact_selection() {
    let app = TestApp::demo().await;
    let pick = |sel: Value| {
        let app = &app;
        async move {
            let r = app.gql(OPTIONS, json!({ "s": "high-protein-shake", "sel": sel })).await;
            data(&r)["product"].clone()
        }
    };
    let p = pick(json!([{ "name": "용량", "value": "500ml" }, { "name": "맛", "value": "바닐라" }])).await;
    assert_eq!(
        p["options"],
        json!([{ "name": "맛", "values": ["초코", "바닐라", "딸기"] }, { "name": "용량", "values": ["350ml", "500ml"] }])
    );
    assert_eq!(
        p["variantBySelectedOptions"]["sku"], "HPS-VANILLA-500",
        "any order of the options"
    );
    for (sel, why) in [
        (json!([{ "name": "맛", "value": "초코" }]), "a partial selection"),
        (
            json!([{ "name": "맛", "value": "민트" }, { "name": "용량", "value": "500ml" }]),
            "an unknown value",
        ),
        (
            json!([{ "name": "맛", "value": "초코" }, { "name": "맛", "value": "초코" }]),
            "an option twice",
        ),
        (
            json!([{ "name": "맛", "value": "초코" }, { "name": "용량", "value": "350ml" }, { "name": "색상", "value": "블랙" }]),
            "an option too many",
        ),
    ] {
        assert_eq!(pick(sel).await["variantBySelectedOptions"], Value::Null, "{why}");
    }
    // A product without options: no selectors, and the empty selection is its variant.
    let r = app
        .gql(OPTIONS, json!({ "s": "low-sugar-soy-meal-drink", "sel": [] }))
        .await;
    assert_eq!(data(&r)["product"]["options"], json!([]));
    assert_eq!(data(&r)["product"]["variantBySelectedOptions"]["sku"], "LSM-16PK");
}

#[tokio::test]
async fn an_image_without_alt_text_reads_null() {
    let app = TestApp::spawn().await;
    product_with_stock(&app.pool, "pictured", &[(1000, 1)], false).await;
    sqlx::query(
        "WITH m AS (INSERT INTO media (id, storage, url, alt)
             SELECT gen_random_uuid(), 'EXTERNAL', 'https://img.example/' || n, alt
               FROM (VALUES (0, ''), (1, '초코맛')) AS a (n, alt) RETURNING id, url)
         INSERT INTO product_media (product_id, media_id, position)
         SELECT p.id, m.id, right(m.url, 1)::int FROM m, products p WHERE p.slug = 'pictured'",
    )
    .execute(&app.pool)
    .await
    .expect("images");
    let r = app
        .gql("{ product(slug: \"pictured\") { images { url alt } } }", json!({}))
        .await;
    assert_eq!(
        data(&r)["product"]["images"],
        json!([{ "url": "https://img.example/0", "alt": null }, { "url": "https://img.example/1", "alt": "초코맛" }])
    );
}

#[tokio::test]
async fn prices_beyond_32_bits_are_whole_json_numbers() {
    let app = TestApp::spawn().await;
    let v = product_with_stock(&app.pool, "gold", &[(9_000_000_000, 999)], false).await;
    let r = app
        .gql(
            "{ product(slug: \"gold\") { priceFrom variants { price compareAtPrice } } }",
            json!({}),
        )
        .await;
    let p = &data(&r)["product"];
    assert_eq!(p["priceFrom"].as_i64(), Some(9_000_000_000));
    assert_eq!(p["variants"][0]["price"].as_i64(), Some(9_000_000_000));
    assert_eq!(p["variants"][0]["compareAtPrice"], Value::Null);
    let token = app.cart(&[(&v[0], 999)]).await;
    let r = app
        .gql(
            "query($t: String!) { cart(token: $t) { subtotal total lines { unitPrice lineTotal } } }",
            json!({ "t": token }),
        )
        .await;
    let c = &data(&r)["cart"];
    assert_eq!(c["subtotal"].as_i64(), Some(8_991_000_000_000));
    assert_eq!(c["lines"][0]["lineTotal"].as_i64(), Some(8_991_000_000_000));
    assert_eq!(c["total"].as_i64(), Some(8_991_000_000_000), "free shipping");
}

/// The two statements every storefront visit runs, a product page and the unfiltered
/// listing, are planned once per connection and not at each execution: PostgreSQL plans a
/// prepared statement afresh while a custom plan looks cheaper than the generic one, which
/// is what a bound `LIMIT` or a `slug = $1 OR id = $2` did (planning was a third of the
/// listing's time and six times the product page's execution).
#[tokio::test]
async fn the_hot_statements_keep_one_generic_plan() {
    use commerce::catalog::{Include, ProductFilter, ProductKey, ProductSort, list_products, product};
    use sqlx::{Acquire, Row};
    let db = jangteo_tests::TestDb::create().await;
    let pool = db.pool(1).await;
    // A catalog of a real shop's size, its statistics known: with a handful of rows every
    // plan costs the same and PostgreSQL keeps the generic one whatever the statement.
    commerce::demo::seed_bulk(&pool, 1_000, 3).await.expect("bulk catalog");
    sqlx::query("ANALYZE").execute(&pool).await.expect("analyze");
    let mut conn = pool.acquire().await.expect("connection");
    let conn = conn.acquire().await.expect("connection");
    let slugs: Vec<String> = sqlx::query_scalar("SELECT slug FROM products WHERE published ORDER BY slug")
        .fetch_all(&mut *conn)
        .await
        .expect("slugs");
    let include = Include {
        variants: true,
        total: true,
    };
    for i in 0..12 {
        let slug = &slugs[i % slugs.len()];
        let found = product(conn, &ProductKey::Slug(slug.clone())).await.expect("product");
        assert_eq!(found.map(|p| p.product.slug).as_ref(), Some(slug));
        let page = list_products(
            conn,
            &ProductFilter::default(),
            ProductSort::default(),
            20,
            None,
            include,
        )
        .await
        .expect("listing");
        assert!(!page.items.is_empty());
    }
    let plans = sqlx::query(
        "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements \
          WHERE statement LIKE '%json_agg%' AND statement NOT LIKE '%pg_prepared_statements%' \
          ORDER BY statement",
    )
    .fetch_all(&mut *conn)
    .await
    .expect("plans");
    let seen: Vec<String> = plans
        .iter()
        .map(|r| r.get::<String, _>(0).chars().take(80).collect())
        .collect();
    assert_eq!(
        plans.len(),
        2,
        "the product page's and the listing's statements: {seen:#?}"
    );
    for row in plans {
        let (statement, generic, custom): (String, i64, i64) = (row.get(0), row.get(1), row.get(2));
        let head: String = statement.chars().filter(|c| !c.is_whitespace()).take(60).collect();
        // PostgreSQL tries five custom plans before it compares; a statement without
        // parameters has none at all.
        assert!(custom <= 5, "{head}…: {custom} custom plans, {generic} generic");
        assert!(generic + custom >= 12, "{head}…: ran {generic} + {custom} times");
    }
}

/// The unfiltered listing's `totalCount` reads the count that triggers on `products` keep
/// (`product_counts`): it must equal counting the published products after drafts, publishes
/// and unpublishes (some at once), a bulk insert, staff deletions and a many-row delete.
#[tokio::test]
async fn the_listing_total_equals_counting_the_published_products_through_every_change() {
    const CREATE: &str = "mutation($i: ProductInput!) { productCreate(input: $i) { id userErrors { code } } }";
    const PUBLISH: &str = "mutation($id: ID!, $p: Boolean!) { productPublish(id: $id, published: $p) {
        product { published } userErrors { code } } }";
    const DELETE: &str = "mutation($id: ID!) { productDelete(id: $id) { userErrors { code } } }";
    let app = TestApp::demo().await;
    let staff = staff_session(&app.pool, "catalog@jangteo.example", Role::Manager).await;
    let check = |step: &'static str| {
        let app = &app;
        async move {
            let counted: i64 = sqlx::query_scalar("SELECT count(*) FROM products WHERE published")
                .fetch_one(&app.pool)
                .await
                .expect("count");
            let r = app.gql("{ products(first: 1) { totalCount } }", json!({})).await;
            assert_eq!(data(&r)["products"]["totalCount"], counted, "{step}");
            counted
        }
    };
    let demo = check("the demo catalog").await;
    assert!(demo > 0);

    // Six drafts: not counted until published.
    let mut ids = Vec::new();
    for i in 0..6 {
        let input = json!({ "slug": format!("count-{i}"), "name": format!("카운트 {i}") });
        let r = app.admin(&staff, CREATE, json!({ "i": input })).await;
        assert_eq!(data(&r)["productCreate"]["userErrors"], json!([]), "{r}");
        ids.push(data(&r)["productCreate"]["id"].clone());
    }
    assert_eq!(check("drafts").await, demo);

    // All six published at once, then two unpublished at once, and one published twice.
    let publish = async |ids: &[Value], published: bool| {
        futures::future::join_all(ids.iter().map(|id| {
            let (app, staff) = (&app, &staff);
            async move {
                let r = app.admin(staff, PUBLISH, json!({ "id": id, "p": published })).await;
                assert_eq!(data(&r)["productPublish"]["userErrors"], json!([]), "{r}");
            }
        }))
        .await;
    };
    publish(&ids, true).await;
    assert_eq!(check("six published at once").await, demo + 6);
    publish(&ids[..2], false).await;
    publish(&ids[2..3], true).await;
    assert_eq!(check("two unpublished, one published again").await, demo + 4);

    // A bulk catalog in one statement.
    commerce::demo::seed_bulk(&app.pool, 40, 1).await.expect("bulk");
    let bulk = check("a bulk insert").await;
    assert_eq!(bulk, demo + 44);

    // Staff delete a published product and a draft.
    for id in [&ids[5], &ids[0]] {
        let r = app.admin(&staff, DELETE, json!({ "id": id })).await;
        assert_eq!(data(&r)["productDelete"]["userErrors"], json!([]), "{r}");
    }
    assert_eq!(check("two deleted").await, bulk - 1);

    // Many rows in one statement, published and not.
    sqlx::query("DELETE FROM products WHERE slug LIKE 'bulk-%'")
        .execute(&app.pool)
        .await
        .expect("delete bulk");
    assert_eq!(check("a many-row delete").await, demo + 3);
}

/// Gives the product `slug` two stored pictures with thumbnails (a drawing, and a photo
/// without alt text), as uploads make them.
async fn stored_pictures(pool: &sqlx::PgPool, slug: &str) {
    sqlx::query(
        "WITH m AS (INSERT INTO media (id, storage, key, content_type, width, height, bytes, alt, widths)
           VALUES ('0123456789abcdef0123456789abcdef', 'LOCAL', '0123456789abcdef0123456789abcdef/original.png',
                   'image/png', 600, 400, 1000, '그림 \"1\"', '{160,320,480}'),
                  ('0123456789abcdef0123456789abcdee', 'LOCAL', '0123456789abcdef0123456789abcdee/original.jpg',
                   'image/jpeg', 1500, 1000, 1000, ' ', '{160,320,480,960,1440}')
           RETURNING id)
         INSERT INTO product_media (product_id, media_id, position)
         SELECT p.id, m.id, row_number() OVER (ORDER BY m.id DESC) FROM products p, m WHERE p.slug = $1",
    )
    .bind(slug)
    .execute(pool)
    .await
    .expect("pictures");
}

/// The response body as text: key order and number forms as the service wrote them.
async fn body_text(app: &TestApp, path: &str, token: Option<&str>, query: &str, variables: Value) -> String {
    let mut req = app
        .request(reqwest::Method::POST, path)
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send().await.expect("send").text().await.expect("text")
}

/// `query` with every selection set's fields wrapped in an inline fragment, `{ a b }` as
/// `{ ... { a b } }`: the same answer, which async-graphql must then resolve field by field
/// (a fragment is never written flat). `query` spells each set as `{ ` … ` }`.
fn through_the_engine(query: &str) -> String {
    query.replace("{ ", "{ ... { ").replace(" }", " } }")
}

/// Listings and product pages whose selections need no look-up are written as JSON text
/// (`flat`, the storefront's hot path). The answer must be async-graphql's own, byte for
/// byte: every such field of a page, a product, its pictures (with `url`'s arguments,
/// literal and variable) and its variants, aliases and `__typename`, with exact stock hidden
/// and shown, a product page, a category's listing, a page past the end, and through the
/// staff API. Selections that need a look-up (`category`, `options`) answer the same too.
#[tokio::test]
async fn flat_catalog_answers_are_the_engines() {
    const VARIANT: &str = "id sku name price compareAtPrice inStock stockStatus quantityAvailable \
                           t: __typename p: price q: quantityAvailable";
    const IMAGE: &str = "id url alt width height contentType small: url(width: 320) \
                         jpeg: url(width: $w, format: JPEG) __typename";
    let node = format!(
        "id slug name description published taxFree priceFrom inStock createdAt updatedAt \
         images {{ {IMAGE} }} variants {{ {VARIANT} }} __typename"
    );
    let queries = [
        format!(
            "query($w: Int) {{ products(first: 100) {{ totalCount edges {{ cursor node {{ {node} }} }} \
             nodes {{ slug }} pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }} __typename }} }}"
        ),
        "{ products(first: 2) { edges { node { slug variants { id } } } total: totalCount } }".to_owned(),
        "query($after: String) { products(first: 5, after: $after) { edges { cursor } pageInfo { hasNextPage endCursor } } }"
            .to_owned(),
        format!("query($w: Int, $slug: String) {{ product(slug: $slug) {{ {node} }} }}"),
        format!("query($w: Int) {{ category(slug: \"meal-replacement\") {{ name products(first: 3) {{ nodes {{ {node} }} }} }} }}"),
        "{ products(first: 3) { nodes { slug category { slug } options { name values } } } }".to_owned(),
    ];
    for (settings, shown) in [
        (private_stock as fn(&mut commerce::Settings), false),
        (public_stock, true),
    ] {
        let app = TestApp::spawn_with(Options {
            demo: true,
            settings: Some(settings),
            ..Options::default()
        })
        .await;
        // In stock, a few left, sold out.
        product_with_stock(&app.pool, "stock-mix", &[(1000, 50), (2000, 2), (3000, 0)], false).await;
        stored_pictures(&app.pool, "stock-mix").await;
        // The last page: after the second last product.
        let cursors = app
            .gql("{ products(first: 100) { edges { cursor } } }", json!({}))
            .await;
        let cursors = data(&cursors)["products"]["edges"].as_array().expect("edges").clone();
        let after = &cursors[cursors.len() - 2]["cursor"];
        let vars = json!({ "w": 300, "slug": "stock-mix", "after": after });
        for query in &queries {
            let flat = body_text(&app, "/graphql", None, query, vars.clone()).await;
            let engine = body_text(&app, "/graphql", None, &through_the_engine(query), vars.clone()).await;
            assert_eq!(flat, engine, "shown: {shown}, {query}");
            let v: Value = serde_json::from_str(&flat).expect("json");
            assert!(v.get("errors").is_none() && !data(&v).is_null(), "{query}: {flat}");
        }
        let listing: Value =
            serde_json::from_str(&body_text(&app, "/graphql", None, &queries[0], vars.clone()).await).expect("json");
        let edges = data(&listing)["products"]["edges"].as_array().expect("edges").clone();
        let mix = edges
            .iter()
            .find(|e| e["node"]["slug"] == "stock-mix")
            .expect("the product");
        let statuses: Vec<&Value> = mix["node"]["variants"]
            .as_array()
            .expect("variants")
            .iter()
            .map(|v| &v["stockStatus"])
            .collect();
        assert_eq!(statuses, ["IN_STOCK", "LOW_STOCK", "SOLD_OUT"]);
        assert_eq!(
            mix["node"]["variants"][1]["q"],
            if shown { json!(2) } else { Value::Null }
        );
        let images = &mix["node"]["images"];
        assert_eq!(
            images[0]["small"], "/media/0123456789abcdef0123456789abcdef/w320.webp",
            "{images}"
        );
        assert_eq!(
            images[0]["jpeg"], "/media/0123456789abcdef0123456789abcdef/w320.jpg",
            "{images}"
        );
        assert_eq!(images[0]["alt"], "그림 \"1\"", "{images}");
        assert_eq!(
            images[1]["small"], "/media/0123456789abcdef0123456789abcdee/w320.jpg",
            "{images}"
        );
        assert_eq!(images[1]["alt"], Value::Null, "{images}");
        assert_eq!(images[1]["width"], 1500, "{images}");

        let staff = staff_session(&app.pool, "ops@jangteo.example", Role::Cs).await;
        let query = format!("{{ products(first: 100) {{ edges {{ node {{ slug variants {{ {VARIANT} }} }} }} }} }}");
        let (a, b) = (
            body_text(&app, "/admin/graphql", Some(&staff), &query, json!({})).await,
            body_text(
                &app,
                "/admin/graphql",
                Some(&staff),
                &through_the_engine(&query),
                json!({}),
            )
            .await,
        );
        assert_eq!(a, b, "staff");
        let a: Value = serde_json::from_str(&a).expect("json");
        assert!(
            data(&a)["products"]["edges"][0]["node"]["variants"][0]["q"].is_number(),
            "{a}"
        );
    }
}
