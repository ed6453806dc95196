//! Stock for staff: adjustments with a movement each, the stock list (low stock, search)
//! and a variant's movements. Owns writes to `variants.on_hand` outside orders.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::json;
use sqlx::PgPool;

use super::refusal;
use crate::{
    Error,
    ids::{ProductId, VariantId},
    pagination::Page,
    staff::{Permission, Principal, audit},
};

/// Adjusts stock on hand by `delta` (a count, a delivery, breakage) with a movement that
/// records who (`actor`) and why (`note`); it never goes below what placed orders hold.
/// Returns the stock line after it. Errors: `FORBIDDEN`, `NOT_FOUND`, `INVALID_INPUT`
/// (reason, or too little left).
pub async fn adjust_stock(
    pool: &PgPool,
    by: Principal,
    id: VariantId,
    delta: i32,
    reason: &str,
    ip: Option<&str>,
) -> Result<StockItem, Error> {
    by.require(Permission::WriteStock, "adjust stock")?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 || delta == 0 {
        return Err(Error::Invalid {
            field: "reason",
            reason: "a non-zero delta and a reason (1–200 characters)".into(),
        });
    }
    let mut tx = pool.begin().await?;
    let r = sqlx::query!(
        "UPDATE variants SET on_hand = on_hand + $2, updated_at = now()
          WHERE id = $1 AND on_hand + $2 >= allocated AND on_hand + $2 >= 0
          RETURNING sku, on_hand, allocated",
        id as VariantId,
        delta,
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(r) = r else {
        return Err(refusal(&mut tx, id, "delta", "stock on hand cannot go below what orders hold").await);
    };
    sqlx::query!(
        "INSERT INTO stock_movements (variant_id, delta_on_hand, reason, actor, note) VALUES ($1, $2, 'ADJUSTMENT', $3, $4)",
        id as VariantId,
        delta,
        format!("staff:{}", by.id),
        reason,
    )
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        by,
        "stock.adjust",
        &r.sku,
        json!({ "delta": delta, "reason": reason, "on_hand": r.on_hand }),
        ip,
    )
    .await?;
    let item = stock_item(&mut tx, id).await?;
    tx.commit().await?;
    Ok(item)
}

/// One stock line, `NOT_FOUND` when the variant is gone.
async fn stock_item(conn: &mut sqlx::PgConnection, id: VariantId) -> Result<StockItem, Error> {
    let r = sqlx::query!(
        r#"SELECT v.id AS "variant_id: VariantId", p.id AS "product_id: ProductId", p.name AS product_name,
                  v.name AS variant_name, v.sku, v.on_hand, v.allocated, v.low_stock_threshold, p.published
             FROM variants v JOIN products p ON p.id = v.product_id WHERE v.id = $1"#,
        id as VariantId
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound { what: "variant" })?;
    Ok(StockItem {
        variant_id: r.variant_id,
        product_id: r.product_id,
        product_name: r.product_name,
        variant_name: r.variant_name,
        sku: r.sku,
        on_hand: r.on_hand,
        allocated: r.allocated,
        available: r.on_hand - r.allocated,
        low_stock_threshold: r.low_stock_threshold,
        published: r.published,
    })
}

/// A stock line for staff.
#[derive(Clone, Debug)]
pub struct StockItem {
    /// The variant.
    pub variant_id: VariantId,
    /// Its product.
    pub product_id: ProductId,
    /// Product name.
    pub product_name: String,
    /// Variant name.
    pub variant_name: String,
    /// SKU.
    pub sku: String,
    /// In the warehouse.
    pub on_hand: i32,
    /// Held by placed orders.
    pub allocated: i32,
    /// Sellable.
    pub available: i32,
    /// At or below this many available, the variant is low on stock.
    pub low_stock_threshold: i32,
    /// Listed.
    pub published: bool,
}

/// Which stock lines to list.
#[derive(Clone, Debug, Default)]
pub struct StockFilter {
    /// This SKU exactly.
    pub sku: Option<String>,
    /// A part of the SKU, product or variant name.
    pub search: Option<String>,
    /// At or below this many available.
    pub low: Option<i32>,
    /// `Some(true)`: at or below each variant's own low-stock threshold; `Some(false)`: above it.
    pub below_threshold: Option<bool>,
}

/// Stock lines, fewest available first, then by SKU (cursor: both, opaque), a page at a
/// time, with the count over all pages when `total`. Errors: `FORBIDDEN`, `INVALID_CURSOR`.
pub async fn stock(
    pool: &PgPool,
    by: Principal,
    filter: &StockFilter,
    first: u32,
    after: Option<&str>,
    total: bool,
) -> Result<Page<StockItem>, Error> {
    by.require(Permission::ReadStock, "read stock")?;
    let after = after.map(decode_stock_cursor).transpose()?;
    let mut conn = pool.acquire().await?;
    let rows = stock_page(&mut conn, filter, first, after.as_ref(), total).await?;
    let count = crate::pagination::total(total, rows.first().map(|r| r.total), || async {
        // The first row of the first page carries the count.
        let head = stock_page(&mut conn, filter, 1, None, true).await?;
        Ok::<_, Error>(head.first().and_then(|r| r.total).unwrap_or(0))
    })
    .await?;
    Ok(Page::from_rows(rows, first, count, |r| {
        let cursor = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&(r.available, &r.sku)).unwrap_or_default());
        let item = StockItem {
            variant_id: r.variant_id,
            product_id: r.product_id,
            product_name: r.product_name,
            variant_name: r.variant_name,
            sku: r.sku,
            on_hand: r.on_hand,
            allocated: r.allocated,
            available: r.available,
            low_stock_threshold: r.low_stock_threshold,
            published: r.published,
        };
        (item, cursor)
    }))
}

fn decode_stock_cursor(cursor: &str) -> Result<(i32, String), Error> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| Error::InvalidCursor)?;
    serde_json::from_slice(&bytes).map_err(|_| Error::InvalidCursor)
}

/// A row of [`stock`] with the count when asked for.
struct StockRow {
    variant_id: VariantId,
    product_id: ProductId,
    product_name: String,
    variant_name: String,
    sku: String,
    on_hand: i32,
    allocated: i32,
    available: i32,
    low_stock_threshold: i32,
    published: bool,
    total: Option<i64>,
}

/// One page of [`stock`] (`first` + 1 rows); the filter is written once, in `m`.
async fn stock_page(
    conn: &mut sqlx::PgConnection,
    filter: &StockFilter,
    first: u32,
    after: Option<&(i32, String)>,
    total: bool,
) -> Result<Vec<StockRow>, Error> {
    let pattern = filter
        .search
        .as_deref()
        .map(|s| crate::types::contains_pattern(s.trim()));
    Ok(sqlx::query_as!(
        StockRow,
        r#"WITH m AS NOT MATERIALIZED (
               SELECT v.id AS variant_id, p.id AS product_id, p.name AS product_name, v.name AS variant_name,
                      v.sku, v.on_hand, v.allocated, (v.on_hand - v.allocated) AS available,
                      v.low_stock_threshold, p.published
                 FROM variants v JOIN products p ON p.id = v.product_id
                WHERE ($1::text IS NULL OR v.sku = $1)
                  AND ($2::text IS NULL OR v.sku ILIKE $2 OR p.name ILIKE $2 OR v.name ILIKE $2)
                  AND ($3::int IS NULL OR v.on_hand - v.allocated <= $3)
                  AND ($8::bool IS NULL OR (v.on_hand - v.allocated <= v.low_stock_threshold) = $8))
           SELECT variant_id AS "variant_id!: VariantId", product_id AS "product_id!: ProductId",
                  product_name AS "product_name!", variant_name AS "variant_name!", sku AS "sku!",
                  on_hand AS "on_hand!", allocated AS "allocated!", available AS "available!",
                  low_stock_threshold AS "low_stock_threshold!", published AS "published!", CASE WHEN $7 THEN (SELECT count(*) FROM m) END AS total
             FROM m
            WHERE $4::int IS NULL OR (available, sku) > ($4, $5)
            ORDER BY available, sku LIMIT $6"#,
        filter.sku.as_deref().map(str::trim),
        pattern,
        filter.low,
        after.map(|a| a.0),
        after.map(|a| a.1.as_str()),
        i64::from(first) + 1,
        total,
        filter.below_threshold,
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// One change of a variant's stock.
#[derive(Clone, Debug)]
pub struct StockMovement {
    /// Its position (cursor).
    pub id: i64,
    /// The variant.
    pub variant_id: VariantId,
    /// Change of units on hand.
    pub delta_on_hand: i32,
    /// Change of units held by placed orders.
    pub delta_allocated: i32,
    /// Why, as a kind: `ADJUSTMENT`, `ORDER_PLACED`, `ORDER_CANCELLED`, `PAYMENT_EXPIRED`, `SHIPPED`…
    pub reason: String,
    /// Why, in staff's words (adjustments); empty when none.
    pub note: String,
    /// Who: `staff:stf_…`, `customer:cus_…`, `guest` or `system`.
    pub actor: String,
    /// The staff member's name when `actor` is one who still exists.
    pub staff_name: Option<String>,
    /// The order's number when an order caused it.
    pub order_number: Option<String>,
    /// When.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A variant's stock movements, newest first (cursor: the movement id), with the count
/// over all pages when `total`. Needs stock reading (every role). Errors: `FORBIDDEN`,
/// `NOT_FOUND` (variant), `INVALID_CURSOR`.
pub async fn stock_movements(
    pool: &PgPool,
    by: Principal,
    variant: VariantId,
    first: u32,
    after: Option<&str>,
    total: bool,
) -> Result<Page<StockMovement>, Error> {
    by.require(Permission::ReadStock, "read stock")?;
    let before = after
        .map(|a| a.parse::<i64>().map_err(|_| Error::InvalidCursor))
        .transpose()?;
    let mut conn = pool.acquire().await?;
    let exists = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM variants WHERE id = $1) AS "e!""#,
        variant as VariantId
    )
    .fetch_one(&mut *conn)
    .await?;
    if !exists {
        return Err(Error::NotFound { what: "variant" });
    }
    // Adjustments before `note` existed wrote `staff:stf_…: <reason>` into actor.
    let rows = sqlx::query!(
        r#"SELECT m.id, m.delta_on_hand, m.delta_allocated, m.reason, m.created_at,
                  CASE WHEN m.actor ~ '^staff:stf_[0-9a-f]{32}: ' THEN left(m.actor, 42) ELSE m.actor END AS "actor!",
                  CASE WHEN m.note = '' AND m.actor ~ '^staff:stf_[0-9a-f]{32}: ' THEN substr(m.actor, 45)
                       ELSE m.note END AS "note!",
                  s.name AS "staff_name?", o.number AS "order_number?",
                  CASE WHEN $4 THEN (SELECT count(*) FROM stock_movements WHERE variant_id = $1) END AS total
             FROM stock_movements m
             -- CASE, not AND: only CASE promises the cast never sees `guest` or `system`.
             LEFT JOIN staff s ON s.id = CASE WHEN m.actor ~ '^staff:stf_[0-9a-f]{32}'
                                              THEN substr(m.actor, 11, 32)::uuid END
             LEFT JOIN orders o ON o.id = m.order_id
            WHERE m.variant_id = $1 AND ($2::bigint IS NULL OR m.id < $2)
            ORDER BY m.id DESC LIMIT $3"#,
        variant as VariantId,
        before,
        i64::from(first) + 1,
        total,
    )
    .fetch_all(&mut *conn)
    .await?;
    let count = crate::pagination::total(total, rows.first().map(|r| r.total), || {
        sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM stock_movements WHERE variant_id = $1"#,
            variant as VariantId
        )
        .fetch_one(&mut *conn)
    })
    .await?;
    Ok(Page::from_rows(rows, first, count, |r| {
        let cursor = r.id.to_string();
        let m = StockMovement {
            id: r.id,
            variant_id: variant,
            delta_on_hand: r.delta_on_hand,
            delta_allocated: r.delta_allocated,
            reason: r.reason,
            note: r.note,
            actor: r.actor,
            staff_name: r.staff_name,
            order_number: r.order_number,
            created_at: r.created_at,
        };
        (m, cursor)
    }))
}
