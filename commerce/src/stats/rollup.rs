//! The sales rollups (owns `sales_rollups`, `stats_state`, `customers.paid_orders`,
//! `customers.first_paid_at`, `orders.customer_seq`): what a payment or a refund adds,
//! written in the transaction that pays or refunds, and the rebuild from the orders.
//!
//! One function ([`Facts::of_order`]) turns an order and its refunds into rollup rows, for
//! the live events and for [`rebuild`] alike, so the two cannot disagree.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{
    Error, SHOP_TZ,
    ids::{OrderId, RefundId},
};

/// The Seoul calendar day of an instant.
pub(crate) fn seoul_day(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&SHOP_TZ).date_naive()
}

/// Splits `amount` over `weights` in proportion, to the won: the floors first, then one
/// won each to the largest remainders (ties to the earlier weight), so the parts always add
/// up to `amount`. With no weight at all, the first part takes everything.
pub fn allocate(amount: i64, weights: &[i64]) -> Vec<i64> {
    let total: i128 = weights.iter().map(|w| i128::from((*w).max(0))).sum();
    let mut parts = vec![0i64; weights.len()];
    if weights.is_empty() {
        return parts;
    }
    if total == 0 {
        parts[0] = amount;
        return parts;
    }
    let mut remainders = Vec::with_capacity(weights.len());
    let mut given: i64 = 0;
    for (i, w) in weights.iter().enumerate() {
        let exact = i128::from(amount) * i128::from((*w).max(0));
        // |amount × w / total| ≤ |amount|, so the quotient fits.
        let floor = i64::try_from(exact.div_euclid(total)).unwrap_or(0);
        parts[i] = floor;
        given += floor;
        remainders.push((exact.rem_euclid(total), i));
    }
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders
        .into_iter()
        .take(usize::try_from(amount - given).unwrap_or(0))
    {
        parts[i] += 1;
    }
    parts
}

/// One line of a paid order, as the rollups cut it.
#[derive(Clone, Debug)]
pub(crate) struct Line {
    pub sku: String,
    pub sku_label: String,
    pub product: Option<Uuid>,
    pub product_label: String,
    pub category: Option<Uuid>,
    pub category_label: Option<String>,
    pub quantity: i64,
    pub total: i64,
}

/// A paid order: what it sold, and when and where.
#[derive(Clone, Debug)]
pub(crate) struct PaidOrder {
    pub id: OrderId,
    pub channel: String,
    pub paid_at: DateTime<Utc>,
    pub subtotal: i64,
    pub discount: i64,
    pub shipping: i64,
    /// Lines that were sold (gifts at ₩0 are not sales).
    pub lines: Vec<Line>,
}

/// A refund of a paid order, with what was refunded before it (goods come first).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Refund {
    pub at: DateTime<Utc>,
    pub amount: i64,
    pub refunded_before: i64,
}

/// The `channel` of the rollup rows that hold every channel together.
pub(crate) const ALL_CHANNELS: &str = "*";

/// The cut of a rollup row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Dim {
    All,
    Sku,
    Product,
    Category,
}

impl Dim {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Dim::All => "ALL",
            Dim::Sku => "SKU",
            Dim::Product => "PRODUCT",
            Dim::Category => "CATEGORY",
        }
    }
}

/// The key of a rollup row.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct RowKey {
    pub dim: Dim,
    pub day: NaiveDate,
    pub channel: String,
    pub key: String,
}

/// What an event adds to one rollup row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Sums {
    pub label: String,
    pub orders: i64,
    pub units: i64,
    pub gross: i64,
    pub discounts: i64,
    pub shipping: i64,
    pub refunds: i64,
    pub shipping_refunds: i64,
}

impl Sums {
    fn add(&mut self, o: &Sums) {
        if !o.label.is_empty() {
            self.label.clone_from(&o.label);
        }
        self.orders += o.orders;
        self.units += o.units;
        self.gross += o.gross;
        self.discounts += o.discounts;
        self.shipping += o.shipping;
        self.refunds += o.refunds;
        self.shipping_refunds += o.shipping_refunds;
    }

    fn negate(&mut self) {
        for v in [
            &mut self.orders,
            &mut self.units,
            &mut self.gross,
            &mut self.discounts,
            &mut self.shipping,
            &mut self.refunds,
            &mut self.shipping_refunds,
        ] {
            *v = -*v;
        }
    }
}

/// Rollup rows being added up, in key order (the order they are written in, so two
/// transactions lock shared rows in the same order and never deadlock).
#[derive(Debug, Default)]
pub(crate) struct Facts(BTreeMap<RowKey, Sums>);

impl Facts {
    /// Adds `s` to the row of `channel` and to the row of all channels ([`ALL_CHANNELS`]),
    /// which reports without a channel read: a quarter of the rows to add up.
    fn add(&mut self, dim: Dim, day: NaiveDate, channel: &str, key: &str, s: &Sums) {
        for channel in [channel, ALL_CHANNELS] {
            let k = RowKey {
                dim,
                day,
                channel: channel.to_owned(),
                key: key.to_owned(),
            };
            self.0.entry(k).or_default().add(s);
        }
    }

    /// The rows of each line's cuts (SKU, product, category) for per-line amounts; an
    /// order counts once per key however many of its lines share it.
    fn add_cuts(&mut self, o: &PaidOrder, day: NaiveDate, per_line: &[Sums]) {
        let mut by_key: BTreeMap<(Dim, String), Sums> = BTreeMap::new();
        for (l, s) in o.lines.iter().zip(per_line) {
            let cuts = [
                (Dim::Sku, l.sku.clone(), l.sku_label.clone()),
                (
                    Dim::Product,
                    l.product.map(|p| p.to_string()).unwrap_or_default(),
                    l.product_label.clone(),
                ),
                (
                    Dim::Category,
                    l.category.map(|c| c.to_string()).unwrap_or_default(),
                    l.category_label.clone().unwrap_or_default(),
                ),
            ];
            for (dim, key, label) in cuts {
                let e = by_key.entry((dim, key)).or_default();
                e.add(&Sums { label, ..s.clone() });
                e.orders = s.orders;
            }
        }
        for ((dim, key), s) in by_key {
            self.add(dim, day, &o.channel, &key, &s);
        }
    }

    /// The sale of a paid order, on the Seoul day it was paid: discount and shipping fee
    /// spread over its lines by value.
    pub(crate) fn sale(&mut self, o: &PaidOrder, sign: i64) {
        let day = seoul_day(o.paid_at);
        let values: Vec<i64> = o.lines.iter().map(|l| l.total).collect();
        let discounts = allocate(o.discount, &values);
        let shipping = allocate(o.shipping, &values);
        let mut per_line: Vec<Sums> = o
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| Sums {
                orders: 1,
                units: l.quantity,
                gross: l.total,
                discounts: discounts[i],
                shipping: shipping[i],
                ..Sums::default()
            })
            .collect();
        let mut all = Sums {
            orders: 1,
            units: o.lines.iter().map(|l| l.quantity).sum(),
            gross: o.subtotal,
            discounts: o.discount,
            shipping: o.shipping,
            ..Sums::default()
        };
        if sign < 0 {
            all.negate();
            per_line.iter_mut().for_each(Sums::negate);
        }
        self.add(Dim::All, day, &o.channel, "", &all);
        self.add_cuts(o, day, &per_line);
    }

    /// A refund, on the Seoul day it was made: goods first (up to what the goods brought in
    /// and earlier refunds left), the rest shipping; each spread over the lines like the
    /// sale was. It adds no order and no unit.
    pub(crate) fn refund(&mut self, o: &PaidOrder, r: Refund, sign: i64) {
        let day = seoul_day(r.at);
        let goods = o.subtotal - o.discount;
        let goods_room = (goods - r.refunded_before).max(0);
        let goods_part = r.amount.min(goods_room);
        let shipping_part = r.amount - goods_part;
        let values: Vec<i64> = o.lines.iter().map(|l| l.total).collect();
        let discounts = allocate(o.discount, &values);
        let net: Vec<i64> = values.iter().zip(&discounts).map(|(v, d)| v - d).collect();
        let shipping = allocate(o.shipping, &values);
        let goods_parts = allocate(goods_part, &net);
        let shipping_parts = allocate(shipping_part, &shipping);
        let mut per_line: Vec<Sums> = (0..o.lines.len())
            .map(|i| Sums {
                refunds: goods_parts[i],
                shipping_refunds: shipping_parts[i],
                ..Sums::default()
            })
            .collect();
        let mut all = Sums {
            refunds: goods_part,
            shipping_refunds: shipping_part,
            ..Sums::default()
        };
        if sign < 0 {
            all.negate();
            per_line.iter_mut().for_each(Sums::negate);
        }
        self.add(Dim::All, day, &o.channel, "", &all);
        self.add_cuts(o, day, &per_line);
    }

    /// Adds the rows to `sales_rollups`, in key order.
    pub(crate) async fn write(self, conn: &mut PgConnection) -> Result<(), Error> {
        let rows: Vec<(RowKey, Sums)> = self.0.into_iter().collect();
        for chunk in rows.chunks(5_000) {
            let mut c = Columns::default();
            for (k, s) in chunk {
                c.dim.push(k.dim.as_str().to_owned());
                c.day.push(k.day);
                c.channel.push(k.channel.clone());
                c.key.push(k.key.clone());
                c.label.push(s.label.clone());
                c.orders.push(s.orders);
                c.units.push(s.units);
                c.gross.push(s.gross);
                c.discounts.push(s.discounts);
                c.shipping.push(s.shipping);
                c.refunds.push(s.refunds);
                c.shipping_refunds.push(s.shipping_refunds);
            }
            sqlx::query!(
                "INSERT INTO sales_rollups AS r
                        (dim, day, channel, key, label, orders, units, gross, discounts, shipping, refunds, shipping_refunds)
                 SELECT * FROM UNNEST($1::text[], $2::date[], $3::text[], $4::text[], $5::text[], $6::int8[], $7::int8[],
                                      $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::int8[])
                  ORDER BY 1, 2, 3, 4
                 ON CONFLICT (dim, channel, day, key) DO UPDATE SET
                    label = CASE WHEN EXCLUDED.label = '' THEN r.label ELSE EXCLUDED.label END,
                    orders = r.orders + EXCLUDED.orders, units = r.units + EXCLUDED.units,
                    gross = r.gross + EXCLUDED.gross, discounts = r.discounts + EXCLUDED.discounts,
                    shipping = r.shipping + EXCLUDED.shipping, refunds = r.refunds + EXCLUDED.refunds,
                    shipping_refunds = r.shipping_refunds + EXCLUDED.shipping_refunds",
                &c.dim,
                &c.day,
                &c.channel,
                &c.key,
                &c.label,
                &c.orders,
                &c.units,
                &c.gross,
                &c.discounts,
                &c.shipping,
                &c.refunds,
                &c.shipping_refunds,
            )
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

/// Columns of rollup rows, for one `UNNEST` upsert.
#[derive(Default)]
struct Columns {
    dim: Vec<String>,
    day: Vec<NaiveDate>,
    channel: Vec<String>,
    key: Vec<String>,
    label: Vec<String>,
    orders: Vec<i64>,
    units: Vec<i64>,
    gross: Vec<i64>,
    discounts: Vec<i64>,
    shipping: Vec<i64>,
    refunds: Vec<i64>,
    shipping_refunds: Vec<i64>,
}

/// Paid orders with their sold lines: one order (`Some(id)`) or all of them, in id order.
/// The category is the product's category now.
macro_rules! paid_lines {
    ($ids:expr) => {
        sqlx::query!(
            r#"SELECT o.id AS "id: OrderId", o.channel, o.paid_at AS "paid_at!", o.subtotal, o.discount,
                      o.shipping_fee, l.sku AS "sku?", l.product_name AS "product_name?",
                      l.variant_name AS "variant_name?", l.product_id, p.category_id AS "category_id?",
                      c.name AS "category_name?", l.quantity::int8 AS "quantity?", l.line_total AS "line_total?"
                 FROM orders o
                 LEFT JOIN order_lines l ON l.order_id = o.id AND NOT l.is_gift
                 LEFT JOIN products p ON p.id = l.product_id
                 LEFT JOIN categories c ON c.id = p.category_id
                WHERE o.paid_at IS NOT NULL AND ($1::uuid[] IS NULL OR o.id = ANY($1))
                ORDER BY o.id, l.position"#,
            $ids,
        )
    };
}

/// Groups the rows of [`paid_lines!`] (ordered by order) into orders.
#[derive(Default)]
struct OrderAssembler {
    current: Option<PaidOrder>,
}

impl OrderAssembler {
    /// Adds a row; returns the previous order when this row starts a new one.
    fn push(&mut self, head: PaidOrder, line: Option<Line>) -> Option<PaidOrder> {
        let done = match &self.current {
            Some(o) if o.id == head.id => None,
            _ => self.current.replace(head),
        };
        if let (Some(o), Some(l)) = (self.current.as_mut(), line) {
            o.lines.push(l);
        }
        done
    }

    fn finish(self) -> Option<PaidOrder> {
        self.current
    }
}

/// One row of [`paid_lines!`] as an order head and maybe a line.
macro_rules! assemble_row {
    ($r:expr) => {{
        let r = $r;
        let head = PaidOrder {
            id: r.id,
            channel: r.channel,
            paid_at: r.paid_at,
            subtotal: r.subtotal,
            discount: r.discount,
            shipping: r.shipping_fee,
            lines: Vec::new(),
        };
        let line = match (r.sku, r.quantity, r.line_total) {
            (Some(sku), Some(quantity), Some(total)) => {
                let product_label = r.product_name.unwrap_or_default();
                let sku_label = match r.variant_name.as_deref() {
                    Some(v) if !v.is_empty() && v != product_label => format!("{product_label} {v}"),
                    _ => product_label.clone(),
                };
                Some(Line {
                    sku,
                    sku_label,
                    product: r.product_id,
                    product_label,
                    category: r.category_id,
                    category_label: r.category_name,
                    quantity,
                    total,
                })
            }
            _ => None,
        };
        (head, line)
    }};
}

async fn paid_order(conn: &mut PgConnection, id: OrderId) -> Result<Option<PaidOrder>, Error> {
    let rows = paid_lines!(Some(&[id.0][..])).fetch_all(&mut *conn).await?;
    let mut asm = OrderAssembler::default();
    for r in rows {
        let (head, line) = assemble_row!(r);
        asm.push(head, line);
    }
    Ok(asm.finish())
}

/// Adds a just-paid order to the rollups and gives it its place among its customer's
/// paid orders, inside the transaction that pays it (the order's `paid_at` already set).
/// Errors: only faults.
pub(crate) async fn record_paid(conn: &mut PgConnection, id: OrderId) -> Result<(), Error> {
    let Some(order) = paid_order(conn, id).await? else {
        return Ok(());
    };
    // The customer row serialises two payments of one customer, so each gets its own place.
    sqlx::query!(
        "WITH c AS (
             UPDATE customers SET paid_orders = paid_orders + 1, first_paid_at = coalesce(first_paid_at, $2)
              WHERE id = (SELECT customer_id FROM orders WHERE id = $1) RETURNING paid_orders)
         UPDATE orders SET customer_seq = (SELECT paid_orders FROM c) WHERE id = $1 AND EXISTS (SELECT 1 FROM c)",
        id as OrderId,
        order.paid_at,
    )
    .execute(&mut *conn)
    .await?;
    let mut facts = Facts::default();
    facts.sale(&order, 1);
    // After the sales rows: a rebuild holds those, so this waits for it too.
    facts.write(conn).await?;
    super::members::record_paid(conn, id).await
}

/// Adds a refund just recorded (`sign` 1), or takes a failed one back out (`sign` -1),
/// inside the transaction that writes the refund row. Errors: only faults.
pub(crate) async fn record_refund(conn: &mut PgConnection, id: RefundId, sign: i64) -> Result<(), Error> {
    let Some(r) = sqlx::query!(
        r#"SELECT r.order_id AS "order_id: OrderId", r.amount, r.created_at,
                  (SELECT coalesce(sum(p.amount), 0) FROM refunds p
                    WHERE p.order_id = r.order_id AND p.status <> 'FAILED'
                      AND (p.created_at, p.id) < (r.created_at, r.id))::int8 AS "before!"
             FROM refunds r WHERE r.id = $1"#,
        id as RefundId,
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(());
    };
    let Some(order) = paid_order(conn, r.order_id).await? else {
        return Ok(());
    };
    let mut facts = Facts::default();
    let refund = Refund {
        at: r.created_at,
        amount: r.amount,
        refunded_before: r.before,
    };
    facts.refund(&order, refund, sign);
    facts.write(conn).await
}

/// What [`rebuild`] recomputed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rebuilt {
    /// Paid orders read.
    pub orders: u64,
    /// Refunds read.
    pub refunds: u64,
    /// Rollup rows written.
    pub rows: u64,
}

/// Recomputes the statistics from the orders: the sales rollups, each customer's paid
/// orders and each order's place among them. One transaction; reports read the old rows
/// until it commits. Run after a bulk load (`jangteo seed --orders`), by the first start
/// after the statistics migration, or by hand (`jangteo stats rebuild`). Errors: only faults.
pub async fn rebuild(pool: &PgPool) -> Result<Rebuilt, Error> {
    let mut tx = pool.begin().await?;
    let done = rebuild_in(&mut tx).await?;
    tx.commit().await?;
    // Setting every customer's paid orders left a row or two per customer who moved.
    super::compact_customer_counts(pool).await?;
    Ok(done)
}

/// [`rebuild`] inside the caller's transaction.
async fn rebuild_in(tx: &mut PgConnection) -> Result<Rebuilt, Error> {
    // A million orders take longer than the pool's statement timeout allows a request.
    sqlx::query!("SET LOCAL statement_timeout = 0")
        .execute(&mut *tx)
        .await?;
    // One rebuild at a time; live payments wait for it rather than add to rows it replaces.
    sqlx::query!("LOCK TABLE sales_rollups IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    sqlx::query!("DELETE FROM sales_rollups").execute(&mut *tx).await?;
    let mut refunds: HashMap<OrderId, Vec<Refund>> = HashMap::new();
    let mut refund_count = 0u64;
    {
        let mut rows = sqlx::query!(
            r#"SELECT order_id AS "order_id: OrderId", amount, created_at,
                      (coalesce(sum(amount) OVER (PARTITION BY order_id ORDER BY created_at, id
                                                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0))::int8
                        AS "before!"
                 FROM refunds WHERE status <> 'FAILED'"#
        )
        .fetch(&mut *tx);
        while let Some(r) = rows.try_next().await? {
            refund_count += 1;
            refunds.entry(r.order_id).or_default().push(Refund {
                at: r.created_at,
                amount: r.amount,
                refunded_before: r.before,
            });
        }
    }
    let mut facts = Facts::default();
    let mut orders = 0u64;
    {
        let mut add = |o: PaidOrder| {
            orders += 1;
            facts.sale(&o, 1);
            for r in refunds.get(&o.id).into_iter().flatten() {
                facts.refund(&o, *r, 1);
            }
        };
        let mut asm = OrderAssembler::default();
        let mut rows = paid_lines!(None::<&[Uuid]>).fetch(&mut *tx);
        while let Some(r) = rows.try_next().await? {
            let (head, line) = assemble_row!(r);
            if let Some(done) = asm.push(head, line) {
                add(done);
            }
        }
        if let Some(last) = asm.finish() {
            add(last);
        }
    }
    let rows = facts.0.len() as u64;
    facts.write(tx).await?;
    sqlx::query!(
        "WITH seq AS (
             SELECT id, row_number() OVER (PARTITION BY customer_id ORDER BY paid_at, id) AS n
               FROM orders WHERE customer_id IS NOT NULL AND paid_at IS NOT NULL)
         UPDATE orders o SET customer_seq = seq.n FROM seq
          WHERE seq.id = o.id AND o.customer_seq IS DISTINCT FROM seq.n"
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        "UPDATE customers c SET paid_orders = coalesce(s.n, 0), first_paid_at = s.first
           FROM customers c2
           LEFT JOIN (SELECT customer_id, count(*)::int AS n, min(paid_at) AS first FROM orders
                       WHERE customer_id IS NOT NULL AND paid_at IS NOT NULL GROUP BY customer_id) s
                  ON s.customer_id = c2.id
          WHERE c.id = c2.id
            AND (c.paid_orders IS DISTINCT FROM coalesce(s.n, 0) OR c.first_paid_at IS DISTINCT FROM s.first)"
    )
    .execute(&mut *tx)
    .await?;
    super::members::rebuild(&mut *tx).await?;
    sqlx::query!("UPDATE stats_state SET rebuilt_at = now()")
        .execute(&mut *tx)
        .await?;
    Ok(Rebuilt {
        orders,
        refunds: refund_count,
        rows,
    })
}

/// Rebuilds once after the statistics migration, when orders were paid before it (the
/// migration leaves `stats_state.rebuilt_at` empty then). Several replicas starting at
/// once rebuild once: the second waits for the first's transaction, then finds it done.
/// Errors: only faults.
pub async fn rebuild_if_needed(pool: &PgPool) -> Result<Option<Rebuilt>, Error> {
    let needed = sqlx::query_scalar!(r#"SELECT rebuilt_at IS NULL AS "needed!" FROM stats_state"#)
        .fetch_optional(pool)
        .await?
        .unwrap_or(false);
    if !needed {
        return Ok(None);
    }
    let mut tx = pool.begin().await?;
    let still = sqlx::query_scalar!(r#"SELECT rebuilt_at IS NULL AS "needed!" FROM stats_state FOR UPDATE"#)
        .fetch_optional(&mut *tx)
        .await?
        .unwrap_or(false);
    if !still {
        return Ok(None);
    }
    let done = rebuild_in(&mut tx).await?;
    tx.commit().await?;
    super::compact_customer_counts(pool).await?;
    Ok(Some(done))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn allocation_follows_the_weights_to_the_won() {
        assert_eq!(allocate(5_000, &[30_000, 10_000]), vec![3_750, 1_250]);
        assert_eq!(allocate(100, &[1, 1, 1]), vec![34, 33, 33]);
        assert_eq!(allocate(3_000, &[0, 0]), vec![3_000, 0]);
        assert_eq!(allocate(0, &[5, 7]), vec![0, 0]);
        assert!(allocate(10, &[]).is_empty());
    }

    proptest! {
        #[test]
        fn allocation_adds_up_and_stays_within_one_won_of_the_share(
            amount in 0i64..10_000_000_000,
            weights in proptest::collection::vec(0i64..100_000_000, 1..12),
        ) {
            let parts = allocate(amount, &weights);
            prop_assert_eq!(parts.iter().sum::<i64>(), amount);
            let total: i128 = weights.iter().map(|w| i128::from(*w)).sum();
            if total > 0 {
                for (p, w) in parts.iter().zip(&weights) {
                    let share = i128::from(amount) * i128::from(*w);
                    prop_assert!((i128::from(*p) * total - share).abs() < total, "{} of {} by {}", p, amount, w);
                }
            }
        }
    }

    fn order(lines: &[(i64, i64)], discount: i64, shipping: i64) -> PaidOrder {
        PaidOrder {
            id: OrderId(Uuid::now_v7()),
            channel: "PC_WEB".into(),
            paid_at: "2026-11-30T15:30:00Z".parse().unwrap_or_default(),
            subtotal: lines.iter().map(|(_, t)| t).sum(),
            discount,
            shipping,
            lines: lines
                .iter()
                .enumerate()
                .map(|(i, (q, t))| Line {
                    sku: format!("SKU-{i}"),
                    sku_label: format!("상품 {i}"),
                    product: Some(Uuid::from_u128(7)),
                    product_label: "상품".into(),
                    category: None,
                    category_label: None,
                    quantity: *q,
                    total: *t,
                })
                .collect(),
        }
    }

    fn all_row(f: &Facts) -> Sums {
        let mut s = Sums::default();
        for (k, v) in &f.0 {
            if k.dim == Dim::All && k.channel != ALL_CHANNELS {
                s.add(v);
            }
        }
        s
    }

    #[test]
    fn a_sale_counts_on_its_seoul_day_and_its_cuts_add_up() {
        let o = order(&[(2, 7_000), (1, 3_900)], 1_000, 3_000);
        let mut f = Facts::default();
        f.sale(&o, 1);
        // Paid 2026-11-30 15:30 UTC = 12-01 00:30 in Seoul.
        assert!(
            f.0.keys()
                .all(|k| k.day == NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default())
        );
        let all = all_row(&f);
        assert_eq!(
            (all.orders, all.units, all.gross, all.discounts, all.shipping),
            (1, 3, 10_900, 1_000, 3_000)
        );
        let skus: Vec<&Sums> =
            f.0.iter()
                .filter(|(k, _)| k.dim == Dim::Sku && k.channel == ALL_CHANNELS)
                .map(|(_, v)| v)
                .collect();
        assert_eq!(skus.iter().map(|s| s.discounts).sum::<i64>(), 1_000);
        assert_eq!(skus.iter().map(|s| s.shipping).sum::<i64>(), 3_000);
        // Both lines are one product: one order, all units.
        let product: Vec<&Sums> =
            f.0.iter()
                .filter(|(k, _)| k.dim == Dim::Product && k.channel == ALL_CHANNELS)
                .map(|(_, v)| v)
                .collect();
        assert_eq!((product.len(), product[0].orders, product[0].units), (1, 1, 3));
    }

    #[test]
    fn a_refund_is_goods_first_and_shipping_only_beyond_them() {
        let o = order(&[(1, 30_000)], 0, 3_000);
        let mut f = Facts::default();
        let at = o.paid_at;
        f.refund(
            &o,
            Refund {
                at,
                amount: 10_000,
                refunded_before: 0,
            },
            1,
        );
        f.refund(
            &o,
            Refund {
                at,
                amount: 23_000,
                refunded_before: 10_000,
            },
            1,
        );
        let all = all_row(&f);
        assert_eq!(
            (all.refunds, all.shipping_refunds, all.orders, all.units),
            (30_000, 3_000, 0, 0)
        );
        let mut g = Facts::default();
        g.refund(
            &o,
            Refund {
                at,
                amount: 23_000,
                refunded_before: 10_000,
            },
            1,
        );
        g.refund(
            &o,
            Refund {
                at,
                amount: 23_000,
                refunded_before: 10_000,
            },
            -1,
        );
        assert!(g.0.values().all(|s| *s
            == Sums {
                label: s.label.clone(),
                ..Sums::default()
            }));
    }
}
