//! Catalog editing through `/admin/graphql`: categories, products, variants, publishing,
//! stock adjustments with movements; who may do what.

use commerce::staff::Role;
use jangteo_tests::{CHECKOUT, TestApp, checkout_input, data, staff_session, uuid_of};
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
