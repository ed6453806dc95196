//! Catalog editing through `/admin/graphql`: categories, products, variants, publishing,
//! stock adjustments with movements; who may do what.

use commerce::staff::Role;
use jangteo_tests::{CHECKOUT, TestApp, checkout_input, data, product_with_stock, staff_session, uuid_of};
use serde_json::{Value, json};

const PRODUCT: &str = "mutation($i: ProductInput!) { productCreate(input: $i) { id product { slug published } userErrors { code field } } }";
const VARIANT: &str =
    "mutation($p: ID!, $i: VariantInput!, $n: Int) { variantCreate(productId: $p, input: $i, onHand: $n) {
    id product { variants { sku price compareAtPrice quantityAvailable } } userErrors { code field } } }";
const ADJUST: &str = "mutation($v: ID!, $d: Int!, $r: String!) { stockAdjust(variantId: $v, delta: $d, reason: $r) {
    onHand available userErrors { code field } } }";

fn first_error(r: &Value, op: &str) -> Value {
    data(r)[op]["userErrors"][0]["code"].clone()
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // one story, told in order
async fn manage_the_catalog_and_its_stock() {
    let app = TestApp::spawn().await;
    let mgr = staff_session(&app.pool, "mgr@jangteo.kr", Role::Manager).await;
    let r = app
        .admin(
            &mgr,
            "mutation { categoryCreate(input: {slug: \"drinks\", name: \"음료\"}) { id userErrors { code } } }",
            json!({}),
        )
        .await;
    let parent = data(&r)["categoryCreate"]["id"].clone();
    let r = app.admin(&mgr, "mutation($p: ID) { categoryCreate(input: {slug: \"tea\", name: \"차\", parentId: $p}) { id userErrors { code } } }", json!({ "p": parent })).await;
    let child = data(&r)["categoryCreate"]["id"].clone();
    let r = app.admin(&mgr, "mutation($id: ID!, $p: ID) { categoryUpdate(id: $id, input: {slug: \"drinks\", name: \"음료\", parentId: $p}) { userErrors { code field } } }", json!({ "id": parent, "p": child })).await;
    assert_eq!(first_error(&r, "categoryUpdate"), "INVALID_INPUT", "no cycles");

    let input = json!({ "slug": "green-tea", "name": "유기농 녹차", "description": "<p>제주 <b>녹차</b></p><script>x()</script>",
        "categoryId": child, "images": [{ "url": "https://cdn.jangteo.kr/tea.png", "alt": "녹차" }] });
    let r = app.admin(&mgr, PRODUCT, json!({ "i": input })).await;
    let p = &data(&r)["productCreate"];
    assert_eq!(
        p["product"],
        json!({ "slug": "green-tea", "published": false }),
        "new products start as drafts"
    );
    let pid = p["id"].clone();
    let r = app.admin(&mgr, PRODUCT, json!({ "i": input })).await;
    assert_eq!(first_error(&r, "productCreate"), "ALREADY_EXISTS");
    let desc: String = sqlx::query_scalar("SELECT description FROM products")
        .fetch_one(&app.pool)
        .await
        .expect("desc");
    assert!(desc.contains("<b>녹차</b>") && !desc.contains("script"), "{desc}");

    let r = app.admin(&mgr, VARIANT, json!({ "p": pid, "i": { "sku": "TEA-20", "options": [{ "name": "구성", "value": "20티백" }], "price": 9900, "compareAtPrice": 12000 }, "n": 30 })).await;
    let vid = data(&r)["variantCreate"]["id"].as_str().expect("variant").to_owned();
    assert_eq!(
        data(&r)["variantCreate"]["product"]["variants"][0],
        json!({ "sku": "TEA-20", "price": 9900, "compareAtPrice": 12000, "quantityAvailable": 30 })
    );
    let r = app
        .admin(
            &mgr,
            VARIANT,
            json!({ "p": pid, "i": { "sku": "TEA-20", "price": 100 } }),
        )
        .await;
    assert_eq!(first_error(&r, "variantCreate"), "ALREADY_EXISTS");
    let r = app
        .admin(
            &mgr,
            VARIANT,
            json!({ "p": pid, "i": { "sku": "TEA-40", "price": 5000, "compareAtPrice": 4000 } }),
        )
        .await;
    assert_eq!(
        data(&r)["variantCreate"]["userErrors"][0]["field"],
        json!(["compareAtPrice"])
    );

    // Drafts are invisible to shoppers until published.
    let r = app.gql("{ product(slug: \"green-tea\") { name } }", json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_FOUND");
    let r = app
        .admin(
            &mgr,
            "mutation($id: ID!) { productPublish(id: $id, published: true) { product { published } } }",
            json!({ "id": pid }),
        )
        .await;
    assert_eq!(data(&r)["productPublish"]["product"]["published"], true);
    let r = app
        .gql(
            "{ products(filter: {categorySlug: \"drinks\"}) { edges { node { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&r)["products"]["edges"][0]["node"]["name"], "유기농 녹차");

    // Stock: adjustments with a reason; never below what orders hold.
    let token = app.cart(&[(&vid, 25)]).await;
    data(
        &app.gql(CHECKOUT, json!({ "t": token, "i": checkout_input("tea@example.com") }))
            .await,
    );
    let r = app.admin(&mgr, ADJUST, json!({ "v": vid, "d": -6, "r": "파손" })).await;
    assert_eq!(
        first_error(&r, "stockAdjust"),
        "INVALID_INPUT",
        "30 on hand, 25 held: 24 would be too few"
    );
    let r = app.admin(&mgr, ADJUST, json!({ "v": vid, "d": -5, "r": "파손" })).await;
    assert_eq!(
        data(&r)["stockAdjust"],
        json!({ "onHand": 25, "available": 0, "userErrors": [] })
    );
    let r = app
        .admin(&mgr, ADJUST, json!({ "v": vid, "d": 100, "r": "입고" }))
        .await;
    assert_eq!(data(&r)["stockAdjust"]["available"], 100);
    let moved: (i64, i64) = sqlx::query_as(
        "SELECT sum(delta_on_hand)::int8, sum(delta_allocated)::int8 FROM stock_movements WHERE variant_id = $1",
    )
    .bind(uuid_of(&vid))
    .fetch_one(&app.pool)
    .await
    .expect("movements");
    assert_eq!(moved, (125, 25), "opening 30 − 5 + 100 on hand; 25 allocated");
    let r = app
        .admin(
            &mgr,
            "{ stock(sku: \"TEA-20\") { nodes { sku onHand allocated available productName } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&r)["stock"]["nodes"],
        json!([{ "sku": "TEA-20", "onHand": 125, "allocated": 25, "available": 100, "productName": "유기농 녹차" }])
    );
    let r = app
        .admin(
            &mgr,
            "{ stock(search: \"녹차\") { nodes { sku } } low: stock(lowStock: 5) { nodes { sku } } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&r)["stock"]["nodes"], json!([{ "sku": "TEA-20" }]));
    assert_eq!(data(&r)["low"]["nodes"], json!([]));
}

#[tokio::test]
async fn cs_and_the_bot_cannot_edit_the_catalog() {
    let app = TestApp::spawn().await;
    let cs = staff_session(&app.pool, "cs@jangteo.kr", Role::Cs).await;
    let bot = staff_session(&app.pool, "bot@jangteo.kr", Role::Bot).await;
    for token in [&cs, &bot] {
        let r = app
            .admin(token, PRODUCT, json!({ "i": { "slug": "x", "name": "x" } }))
            .await;
        assert_eq!(first_error(&r, "productCreate"), "FORBIDDEN");
        let r = app
            .admin(token, "{ stock(lowStock: 10) { nodes { sku } } }", json!({}))
            .await;
        assert!(r.get("errors").is_none(), "both may read stock: {r}");
    }
    let v = jangteo_tests::product_with_stock(&app.pool, "held", &[(1000, 5)], false).await;
    let r = app
        .admin(&cs, ADJUST, json!({ "v": v[0], "d": 1, "r": "재고 조사" }))
        .await;
    assert_eq!(first_error(&r, "stockAdjust"), "FORBIDDEN");
    let r = app
        .admin(&bot, ADJUST, json!({ "v": v[0], "d": 1, "r": "재고 조사" }))
        .await;
    assert_eq!(first_error(&r, "stockAdjust"), "FORBIDDEN");
}

#[tokio::test]
async fn admin_products_resolve_their_category_and_variants() {
    let app = TestApp::spawn().await;
    let mgr = staff_session(&app.pool, "mgr@jangteo.kr", Role::Manager).await;
    let r = app
        .admin(
            &mgr,
            "mutation { categoryCreate(input: {slug: \"tea\", name: \"차\"}) { id userErrors { code } } }",
            json!({}),
        )
        .await;
    let category = data(&r)["categoryCreate"]["id"].clone();
    let r = app
        .admin(
            &mgr,
            PRODUCT,
            json!({ "i": { "slug": "green", "name": "녹차", "categoryId": category } }),
        )
        .await;
    let product = data(&r)["productCreate"]["id"].clone();
    let r = app
        .admin(
            &mgr,
            VARIANT,
            json!({ "p": product, "i": { "sku": "GREEN-1", "price": 5000 }, "n": 3 }),
        )
        .await;
    assert_eq!(data(&r)["variantCreate"]["userErrors"], json!([]));
    // A draft, read the way the admin UI does: the storefront's types need their loaders.
    let r = app
        .admin(
            &mgr,
            "query($id: ID) { product(id: $id) { published category { name } variants { sku } } }",
            json!({ "id": product }),
        )
        .await;
    assert_eq!(
        data(&r)["product"],
        json!({ "published": false, "category": { "name": "차" }, "variants": [{ "sku": "GREEN-1" }] })
    );
}

/// Every product code (slug) reachable by walking `products` pages of 2 with `vars`.
async fn walk(app: &TestApp, token: &str, vars: Value) -> (Vec<String>, Value) {
    let q = "query($a: String, $f: AdminProductFilter, $s: ProductSortInput) {
        products(first: 2, after: $a, filter: $f, sort: $s) {
            totalCount edges { cursor node { slug } } pageInfo { hasNextPage endCursor } } }";
    let mut slugs = Vec::new();
    let mut vars = vars;
    loop {
        let r = app.admin(token, q, vars.clone()).await;
        let page = &data(&r)["products"];
        for e in page["edges"].as_array().expect("edges") {
            slugs.push(e["node"]["slug"].as_str().expect("slug").to_owned());
        }
        if page["pageInfo"]["hasNextPage"] != true {
            return (slugs, page["totalCount"].clone());
        }
        vars["a"] = page["pageInfo"]["endCursor"].clone();
    }
}

#[tokio::test]
async fn products_list_drafts_filter_and_page_in_every_order() {
    let app = TestApp::spawn().await;
    let bot = staff_session(&app.pool, "bot@jangteo.kr", Role::Bot).await;
    // (slug, price, stock): stock ≤ 5 (the default threshold) is low.
    for (slug, price, stock) in [
        ("b-tea", 3000, 50),
        ("a-coffee", 9000, 2),
        ("d-milk", 1000, 40),
        ("c-juice", 5000, 5),
        ("e-water", 500, 100),
    ] {
        product_with_stock(&app.pool, slug, &[(price, stock)], false).await;
    }
    sqlx::query("UPDATE products SET published = false WHERE slug IN ('a-coffee', 'e-water')")
        .execute(&app.pool)
        .await
        .expect("drafts");
    let cat = uuid::Uuid::now_v7();
    let sub = uuid::Uuid::now_v7();
    sqlx::query("INSERT INTO categories (id, slug, name) VALUES ($1, 'drinks', '음료')")
        .bind(cat)
        .execute(&app.pool)
        .await
        .expect("category");
    sqlx::query("INSERT INTO categories (id, parent_id, slug, name) VALUES ($1, $2, 'tea', '차')")
        .bind(sub)
        .bind(cat)
        .execute(&app.pool)
        .await
        .expect("subcategory");
    sqlx::query("UPDATE products SET category_id = CASE slug WHEN 'b-tea' THEN $1 ELSE $2 END WHERE slug IN ('b-tea', 'c-juice')")
        .bind(sub)
        .bind(cat)
        .execute(&app.pool)
        .await
        .expect("categorize");

    let all = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let (slugs, total) = walk(&app, &bot, json!({})).await;
    assert_eq!(
        slugs,
        all(&["e-water", "c-juice", "d-milk", "a-coffee", "b-tea"]),
        "newest first, drafts included"
    );
    assert_eq!(total, 5);
    let (slugs, _) = walk(&app, &bot, json!({ "s": { "field": "NAME" } })).await;
    assert_eq!(slugs, all(&["a-coffee", "b-tea", "c-juice", "d-milk", "e-water"]));
    let (slugs, _) = walk(&app, &bot, json!({ "s": { "field": "PRICE", "direction": "DESC" } })).await;
    assert_eq!(slugs, all(&["a-coffee", "c-juice", "b-tea", "d-milk", "e-water"]));
    let (slugs, total) = walk(&app, &bot, json!({ "f": { "published": false } })).await;
    assert_eq!((slugs, total), (all(&["e-water", "a-coffee"]), json!(2)));
    let (slugs, _) = walk(&app, &bot, json!({ "f": { "published": true, "lowStock": true } })).await;
    assert_eq!(slugs, all(&["c-juice"]), "5 available is at the threshold");
    let (slugs, _) = walk(
        &app,
        &bot,
        json!({ "f": { "lowStock": false }, "s": { "field": "NAME" } }),
    )
    .await;
    assert_eq!(slugs, all(&["b-tea", "d-milk", "e-water"]));
    let (slugs, _) = walk(
        &app,
        &bot,
        json!({ "f": { "categoryId": format!("cat_{}", cat.simple()) }, "s": { "field": "NAME" } }),
    )
    .await;
    assert_eq!(slugs, all(&["b-tea", "c-juice"]), "subcategories included");
    let (slugs, _) = walk(&app, &bot, json!({ "f": { "search": "coffee-0" } })).await;
    assert_eq!(slugs, all(&["a-coffee"]), "by SKU too");
    let (slugs, total) = walk(&app, &bot, json!({ "f": { "search": "없는 상품" } })).await;
    assert_eq!((slugs.len(), total), (0, json!(0)));

    // A cursor belongs to its order.
    let r = app
        .admin(
            &bot,
            "{ products(first: 1, sort: {field: NAME}) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let cursor = data(&r)["products"]["pageInfo"]["endCursor"].clone();
    let r = app
        .admin(
            &bot,
            "query($a: String) { products(after: $a) { nodes { slug } } }",
            json!({ "a": cursor }),
        )
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "INVALID_CURSOR");
    let r = app
        .admin(&bot, "{ products(first: 101) { nodes { slug } } }", json!({}))
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "PAGE_SIZE_EXCEEDED");
}

#[tokio::test]
async fn variants_carry_their_low_stock_threshold() {
    let app = TestApp::spawn().await;
    let mgr = staff_session(&app.pool, "mgr@jangteo.kr", Role::Manager).await;
    let r = app
        .admin(&mgr, PRODUCT, json!({ "i": { "slug": "oats", "name": "귀리" } }))
        .await;
    let pid = data(&r)["productCreate"]["id"].clone();
    let r = app
        .admin(
            &mgr,
            VARIANT,
            json!({ "p": pid, "i": { "sku": "OATS-1", "price": 4000, "lowStockThreshold": 10 }, "n": 8 }),
        )
        .await;
    let vid = data(&r)["variantCreate"]["id"].clone();
    let r = app
        .admin(
            &mgr,
            VARIANT,
            json!({ "p": pid, "i": { "sku": "OATS-2", "price": 4000 }, "n": 8 }),
        )
        .await;
    assert_eq!(data(&r)["variantCreate"]["userErrors"], json!([]));
    let q = "{ stock(belowThreshold: true) { nodes { sku available lowStockThreshold lowStock } }
               ok: stock(belowThreshold: false) { nodes { sku lowStockThreshold } } }";
    let r = app.admin(&mgr, q, json!({})).await;
    assert_eq!(
        data(&r)["stock"]["nodes"],
        json!([{ "sku": "OATS-1", "available": 8, "lowStockThreshold": 10, "lowStock": true }])
    );
    assert_eq!(
        data(&r)["ok"]["nodes"],
        json!([{ "sku": "OATS-2", "lowStockThreshold": 5 }]),
        "5 by default"
    );

    let update =
        "mutation($id: ID!, $i: VariantInput!) { variantUpdate(id: $id, input: $i) { userErrors { code field } } }";
    let r = app
        .admin(
            &mgr,
            update,
            json!({ "id": vid, "i": { "sku": "OATS-1", "price": 4500 } }),
        )
        .await;
    assert_eq!(data(&r)["variantUpdate"]["userErrors"], json!([]));
    let r = app
        .admin(
            &mgr,
            "{ stock(sku: \"OATS-1\") { nodes { lowStockThreshold } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&r)["stock"]["nodes"][0]["lowStockThreshold"],
        10,
        "absent: unchanged"
    );
    for (input, field) in [
        (
            json!({ "sku": "OATS-1", "price": 4500, "lowStockThreshold": -1 }),
            "lowStockThreshold",
        ),
        (json!({ "sku": "OATS-1", "price": -1 }), "price"),
        (
            json!({ "sku": "OATS-1", "price": 100, "compareAtPrice": -5 }),
            "compareAtPrice",
        ),
    ] {
        let r = app.admin(&mgr, update, json!({ "id": vid, "i": input })).await;
        assert_eq!(
            data(&r)["variantUpdate"]["userErrors"],
            json!([{ "code": "INVALID_INPUT", "field": [field] }]),
            "{input}"
        );
    }
    let r = app
        .admin(
            &mgr,
            update,
            json!({ "id": vid, "i": { "sku": "OATS-1", "price": 4500, "lowStockThreshold": 0 } }),
        )
        .await;
    assert_eq!(data(&r)["variantUpdate"]["userErrors"], json!([]));
    let r = app
        .admin(
            &mgr,
            "{ stock(belowThreshold: true) { nodes { sku } } products(filter: {lowStock: true}) { nodes { slug } } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&r)["stock"]["nodes"], json!([]));
    assert_eq!(data(&r)["products"]["nodes"], json!([]));
}

#[tokio::test]
async fn stock_adjust_returns_the_line_and_movements_say_who_and_why() {
    let app = TestApp::spawn().await;
    let mgr = staff_session(&app.pool, "mgr@jangteo.kr", Role::Manager).await;
    let cs = staff_session(&app.pool, "cs@jangteo.kr", Role::Cs).await;
    let v = product_with_stock(&app.pool, "rice", &[(20000, 10)], false).await;
    let adjust = "mutation($v: ID!, $d: Int!, $r: String!) { stockAdjust(variantId: $v, delta: $d, reason: $r) {
        onHand available stockItem { sku onHand allocated available lowStock variant { sku price } product { slug } }
        userErrors { code } } }";
    let r = app.admin(&mgr, adjust, json!({ "v": v[0], "d": 5, "r": "입고" })).await;
    assert_eq!(
        data(&r)["stockAdjust"],
        json!({ "onHand": 15, "available": 15, "userErrors": [], "stockItem": {
            "sku": "RICE-0", "onHand": 15, "allocated": 0, "available": 15, "lowStock": false,
            "variant": { "sku": "RICE-0", "price": 20000 }, "product": { "slug": "rice" } } })
    );
    let cart = app.cart(&[(&v[0], 3)]).await;
    let r = app
        .gql(CHECKOUT, json!({ "t": cart, "i": checkout_input("rice@example.com") }))
        .await;
    let number = data(&r)["checkoutComplete"]["order"]["number"].clone();
    let r = app
        .admin(&mgr, adjust, json!({ "v": v[0], "d": -2, "r": "파손" }))
        .await;
    assert_eq!(data(&r)["stockAdjust"]["stockItem"]["available"], 10);

    let q = "query($v: ID!, $a: String) { stockMovements(variantId: $v, first: 2, after: $a) {
        totalCount nodes { deltaOnHand deltaAllocated reason note actor staffName orderNumber createdAt }
        pageInfo { hasNextPage endCursor } } }";
    let r = app.admin(&cs, q, json!({ "v": v[0] })).await;
    let page = &data(&r)["stockMovements"];
    assert_eq!(
        (&page["totalCount"], &page["pageInfo"]["hasNextPage"]),
        (&json!(3), &json!(true)),
        "{r}"
    );
    let newest = &page["nodes"][0];
    assert_eq!(
        (
            &newest["deltaOnHand"],
            &newest["reason"],
            &newest["note"],
            &newest["staffName"],
            &newest["orderNumber"]
        ),
        (
            &json!(-2),
            &json!("ADJUSTMENT"),
            &json!("파손"),
            &json!("직원"),
            &Value::Null
        )
    );
    assert!(
        newest["actor"].as_str().is_some_and(|a| a.starts_with("staff:stf_")),
        "{newest}"
    );
    let placed = &page["nodes"][1];
    assert_eq!(
        (
            &placed["deltaAllocated"],
            &placed["reason"],
            &placed["note"],
            &placed["staffName"],
            &placed["orderNumber"]
        ),
        (&json!(3), &json!("ORDER_PLACED"), &Value::Null, &Value::Null, &number)
    );
    let r = app
        .admin(&cs, q, json!({ "v": v[0], "a": page["pageInfo"]["endCursor"] }))
        .await;
    let rest = &data(&r)["stockMovements"];
    assert_eq!(rest["nodes"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        (&rest["nodes"][0]["note"], &rest["pageInfo"]["hasNextPage"]),
        (&json!("입고"), &json!(false))
    );

    let r = app
        .admin(&cs, q, json!({ "v": "var_0193a0a0a0a07a0a8a0a0a0a0a0a0a0a" }))
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn categories_come_parents_first_and_one_by_id() {
    let app = TestApp::spawn().await;
    let cs = staff_session(&app.pool, "cs@jangteo.kr", Role::Cs).await;
    let (top, child, other) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
    for (id, parent, slug, position) in [
        (top, None, "drinks", 1),
        (child, Some(top), "tea", 0),
        (other, None, "snacks", 0),
    ] {
        sqlx::query("INSERT INTO categories (id, parent_id, slug, name, position) VALUES ($1, $2, $3, $3, $4)")
            .bind(id)
            .bind(parent)
            .bind(slug)
            .bind(position)
            .execute(&app.pool)
            .await
            .expect("category");
    }
    let r = app
        .admin(
            &cs,
            "{ categories { slug parent { slug } children { slug } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&r)["categories"],
        json!([
            { "slug": "snacks", "parent": null, "children": [] },
            { "slug": "drinks", "parent": null, "children": [{ "slug": "tea" }] },
            { "slug": "tea", "parent": { "slug": "drinks" }, "children": [] },
        ])
    );
    let q = "query($id: ID!) { category(id: $id) { slug parent { slug } } }";
    let r = app
        .admin(&cs, q, json!({ "id": format!("cat_{}", child.simple()) }))
        .await;
    assert_eq!(
        data(&r)["category"],
        json!({ "slug": "tea", "parent": { "slug": "drinks" } })
    );
    let r = app
        .admin(&cs, q, json!({ "id": "cat_0193a0a0a0a07a0a8a0a0a0a0a0a0a0a" }))
        .await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_FOUND");
}
