//! Columns, and one transaction per batch: the planned rows written
//! column-wise through `UNNEST` of arrays, 50,000 orders to a transaction.

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::{calendar::Rng, catalog::Sku};
use crate::{Error, SHOP_TZ, Settings};

#[derive(Default)]
pub(super) struct CustomerColumns {
    pub(super) ids: Vec<Uuid>,
    pub(super) emails: Vec<String>,
    pub(super) names: Vec<String>,
    pub(super) mobiles: Vec<String>,
    pub(super) created: Vec<DateTime<Utc>>,
    pub(super) marketing_email: Vec<bool>,
    pub(super) marketing_sms: Vec<bool>,
}

#[derive(Default)]
pub(super) struct OrderColumns {
    pub(super) ids: Vec<Uuid>,
    pub(super) status: Vec<&'static str>,
    pub(super) channels: Vec<&'static str>,
    pub(super) sources: Vec<Option<&'static str>>,
    pub(super) customers: Vec<Option<Uuid>>,
    pub(super) emails: Vec<String>,
    pub(super) phones: Vec<String>,
    pub(super) orderer_names: Vec<String>,
    pub(super) recipients: Vec<String>,
    pub(super) recipient_phones: Vec<String>,
    pub(super) zonecodes: Vec<&'static str>,
    pub(super) road_addresses: Vec<&'static str>,
    pub(super) jibun_addresses: Vec<&'static str>,
    pub(super) buildings: Vec<&'static str>,
    pub(super) details: Vec<String>,
    pub(super) notes: Vec<&'static str>,
    pub(super) subtotals: Vec<i64>,
    pub(super) discounts: Vec<i64>,
    pub(super) shipping_fees: Vec<i64>,
    pub(super) totals: Vec<i64>,
    pub(super) tax_free: Vec<i64>,
    pub(super) vat: Vec<i64>,
    pub(super) coupon_ids: Vec<Option<Uuid>>,
    pub(super) coupon_codes: Vec<Option<String>>,
    pub(super) created: Vec<DateTime<Utc>>,
    pub(super) paid: Vec<Option<DateTime<Utc>>>,
    pub(super) prepared: Vec<Option<DateTime<Utc>>>,
    pub(super) shipped: Vec<Option<DateTime<Utc>>>,
    pub(super) delivered: Vec<Option<DateTime<Utc>>>,
    pub(super) completed: Vec<Option<DateTime<Utc>>>,
    pub(super) cancelled: Vec<Option<DateTime<Utc>>>,
    pub(super) expired: Vec<Option<DateTime<Utc>>>,
    pub(super) updated: Vec<DateTime<Utc>>,
    pub(super) payment_ids: Vec<Option<Uuid>>,
    pub(super) shipment_ids: Vec<Option<Uuid>>,
    pub(super) carriers: Vec<Option<String>>,
}

#[derive(Default)]
pub(super) struct LineColumns {
    pub(super) ids: Vec<Uuid>,
    pub(super) orders: Vec<Uuid>,
    pub(super) variants: Vec<Uuid>,
    pub(super) products: Vec<Uuid>,
    pub(super) product_names: Vec<String>,
    pub(super) variant_names: Vec<String>,
    pub(super) skus: Vec<String>,
    pub(super) prices: Vec<i64>,
    pub(super) quantities: Vec<i32>,
    pub(super) gifts: Vec<bool>,
    pub(super) tax_free: Vec<bool>,
    pub(super) positions: Vec<i32>,
}

impl LineColumns {
    #[allow(clippy::too_many_arguments)] // one line's columns
    pub(super) fn push(
        &mut self,
        rng: &mut Rng,
        order: Uuid,
        at: DateTime<Utc>,
        s: &Sku,
        price: i64,
        q: i32,
        gift: bool,
        pos: i32,
    ) {
        self.ids.push(rng.id_at(at));
        self.orders.push(order);
        self.variants.push(s.variant);
        self.products.push(s.product);
        self.product_names.push(s.product_name.clone());
        self.variant_names.push(s.variant_name.clone());
        self.skus.push(s.sku.clone());
        self.prices.push(price);
        self.quantities.push(q);
        self.gifts.push(gift);
        self.tax_free.push(s.tax_free);
        self.positions.push(pos);
    }

    pub(super) fn last_is_gift_of(&self, order: Uuid) -> bool {
        self.orders.last() == Some(&order) && self.gifts.last() == Some(&true)
    }
}

#[derive(Default)]
pub(super) struct RefundColumns {
    pub(super) ids: Vec<Uuid>,
    pub(super) orders: Vec<Uuid>,
    pub(super) amounts: Vec<i64>,
    pub(super) reasons: Vec<&'static str>,
    pub(super) actors: Vec<String>,
    pub(super) created: Vec<DateTime<Utc>>,
}

#[derive(Default)]
pub(super) struct Batch {
    pub(super) customers: CustomerColumns,
    pub(super) orders: OrderColumns,
    pub(super) lines: LineColumns,
    pub(super) refunds: RefundColumns,
}

impl Batch {
    /// Inserts the batch in one transaction and empties it; returns the orders inserted.
    #[allow(clippy::too_many_lines)] // one statement per table, columns spelled out
    pub(super) async fn insert(
        &mut self,
        pool: &PgPool,
        settings: &Settings,
        password_hash: &str,
    ) -> Result<u64, Error> {
        let batch = std::mem::take(self);
        let (c, o, l, r) = (&batch.customers, &batch.orders, &batch.lines, &batch.refunds);
        let mut tx = pool.begin().await?;
        sqlx::query!(
            "INSERT INTO customers (id, email, password_hash, name, mobile, terms_agreed_at, privacy_agreed_at,
                                    marketing_email, marketing_email_at, marketing_sms, marketing_sms_at,
                                    created_at, updated_at)
             SELECT id, email, $6, name, mobile, created, created, me, CASE WHEN me THEN created END,
                    ms, CASE WHEN ms THEN created END, created, created
               FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $7::bool[], $8::bool[])
                    AS t (id, email, name, mobile, created, me, ms)",
            &c.ids,
            &c.emails,
            &c.names,
            &c.mobiles,
            &c.created,
            password_hash,
            &c.marketing_email,
            &c.marketing_sms,
        )
        .execute(&mut *tx)
        .await?;
        // Numbers as checkout makes them (Seoul date of the order, then the sequence), so
        // orders placed later never collide with these.
        let seq = sqlx::query_scalar!(
            r#"SELECT nextval('order_number_seq') AS "n!" FROM generate_series(1, $1::int8)"#,
            o.ids.len() as i64
        )
        .fetch_all(&mut *tx)
        .await?;
        let numbers: Vec<String> = o
            .created
            .iter()
            .zip(&seq)
            .map(|(at, n)| {
                format!(
                    "{}-{:06}",
                    at.with_timezone(&SHOP_TZ).format("%Y%m%d"),
                    (n - 1) % 999_999 + 1
                )
            })
            .collect();
        // Tracking numbers from the same sequence: unique.
        let tracking: Vec<String> = seq.iter().map(|n| format!("6{:011}", n % 100_000_000_000)).collect();
        let bank = &settings.bank_transfer;
        sqlx::query!(
            r#"WITH t AS (
                   SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::uuid[],
                          $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
                          $14::text[], $15::text[], $16::text[], $17::text[], $18::int8[], $19::int8[], $20::int8[],
                          $21::int8[], $22::int8[], $23::int8[], $24::uuid[], $25::text[], $26::timestamptz[],
                          $27::timestamptz[], $28::timestamptz[], $29::timestamptz[], $30::timestamptz[],
                          $31::timestamptz[], $32::timestamptz[], $33::timestamptz[], $34::timestamptz[],
                          $35::uuid[], $36::uuid[], $37::text[], $38::text[])
                        AS t (id, number, status, channel, channel_source, customer_id, email, phone, orderer_name,
                              recipient, recipient_phone, zonecode, road_address, jibun_address, building_name,
                              detail_address, delivery_note, subtotal, discount, shipping_fee, total, tax_free, vat,
                              coupon_id, coupon_code, created_at, paid_at, prepared_at, shipped_at, delivered_at,
                              completed_at, cancelled_at, expired_at, updated_at, payment_id, shipment_id, carrier,
                              tracking)),
               o AS (
                   INSERT INTO orders (id, number, status, channel, channel_source, customer_id, email, phone,
                        orderer_name, recipient, recipient_phone, zonecode, road_address, jibun_address,
                        building_name, detail_address, delivery_note, payment_method, subtotal, discount,
                        shipping_fee, total, tax_free_amount, vat, coupon_id, coupon_code, deposit_bank,
                        deposit_account, deposit_holder, deposit_due_at, depositor_name, paid_at, cancelled_at,
                        created_at, updated_at)
                   SELECT id, number, status, channel, channel_source, customer_id, email, phone, orderer_name,
                          recipient, recipient_phone, zonecode, road_address, jibun_address, building_name,
                          detail_address, delivery_note, 'BANK_TRANSFER', subtotal, discount, shipping_fee, total,
                          tax_free, vat, coupon_id, coupon_code, $39, $40, $41,
                          created_at + make_interval(hours => 24 * $42::int4), left(orderer_name, 20), paid_at,
                          cancelled_at, created_at, updated_at
                     FROM t),
               h AS (
                   INSERT INTO order_history (order_id, from_status, to_status, actor, note, note_for_customer,
                                              created_at)
                   SELECT t.id, e.from_status, e.to_status, e.actor, e.note, e.for_customer, e.at
                     FROM t CROSS JOIN LATERAL (
                          SELECT CASE WHEN t.customer_id IS NULL THEN 'guest'
                                      ELSE 'customer:cus_' || replace(t.customer_id::text, '-', '') END AS who) a
                     CROSS JOIN LATERAL (VALUES
                          (NULL::text, 'PENDING_PAYMENT', a.who, 'order placed', false, t.created_at),
                          ('PENDING_PAYMENT', 'AWAITING_DEPOSIT', a.who, 'bank transfer: waiting for the deposit',
                           false, t.created_at),
                          ('AWAITING_DEPOSIT', 'PAID', 'system', 'deposit confirmed', false, t.paid_at),
                          ('PAID', 'PREPARING', 'system', '', false, t.prepared_at),
                          ('PREPARING', 'SHIPPED', 'system', '', false, t.shipped_at),
                          ('SHIPPED', 'DELIVERED', 'system', '', false, t.delivered_at),
                          ('DELIVERED', 'COMPLETED', 'system', '', false, t.completed_at),
                          (CASE WHEN t.paid_at IS NULL THEN 'AWAITING_DEPOSIT' ELSE 'PAID' END, 'CANCELLED', a.who,
                           '단순 변심', true, t.cancelled_at),
                          ('AWAITING_DEPOSIT', 'EXPIRED', 'system', 'deposit not received by the due time', false,
                           t.expired_at))
                          AS e (from_status, to_status, actor, note, for_customer, at)
                    WHERE e.at IS NOT NULL),
               p AS (
                   INSERT INTO payments (id, order_id, provider, method, amount, status, actor, created_at)
                   SELECT payment_id, id, 'BANK_TRANSFER', 'BANK_TRANSFER', total, 'PAID', 'system', paid_at
                     FROM t WHERE paid_at IS NOT NULL),
               s AS (
                   INSERT INTO shipments (id, order_id, carrier_code, tracking_number, status, actor, created_at,
                                          delivered_at)
                   SELECT shipment_id, id, carrier, tracking,
                          CASE WHEN delivered_at IS NULL THEN 'IN_TRANSIT' ELSE 'DELIVERED' END, 'system', shipped_at,
                          delivered_at
                     FROM t WHERE shipped_at IS NOT NULL AND carrier IS NOT NULL),
               r AS (
                   INSERT INTO coupon_redemptions (id, coupon_id, order_id, customer_id, email, created_at)
                   SELECT gen_random_uuid(), coupon_id, id, customer_id, email, created_at
                     FROM t WHERE coupon_id IS NOT NULL),
               k AS (
                   UPDATE coupons c SET used_count = c.used_count + u.n
                     FROM (SELECT coupon_id, count(*)::int AS n FROM t WHERE coupon_id IS NOT NULL
                            GROUP BY coupon_id) u
                    WHERE c.id = u.coupon_id)
               SELECT count(*) AS "n!" FROM t"#,
            &o.ids,
            &numbers,
            &o.status as &[&str],
            &o.channels as &[&str],
            &o.sources as &[Option<&str>],
            &o.customers as &[Option<Uuid>],
            &o.emails,
            &o.phones,
            &o.orderer_names,
            &o.recipients,
            &o.recipient_phones,
            &o.zonecodes as &[&str],
            &o.road_addresses as &[&str],
            &o.jibun_addresses as &[&str],
            &o.buildings as &[&str],
            &o.details,
            &o.notes as &[&str],
            &o.subtotals,
            &o.discounts,
            &o.shipping_fees,
            &o.totals,
            &o.tax_free,
            &o.vat,
            &o.coupon_ids as &[Option<Uuid>],
            &o.coupon_codes as &[Option<String>],
            &o.created,
            &o.paid as &[Option<DateTime<Utc>>],
            &o.prepared as &[Option<DateTime<Utc>>],
            &o.shipped as &[Option<DateTime<Utc>>],
            &o.delivered as &[Option<DateTime<Utc>>],
            &o.completed as &[Option<DateTime<Utc>>],
            &o.cancelled as &[Option<DateTime<Utc>>],
            &o.expired as &[Option<DateTime<Utc>>],
            &o.updated,
            &o.payment_ids as &[Option<Uuid>],
            &o.shipment_ids as &[Option<Uuid>],
            &o.carriers as &[Option<String>],
            &tracking,
            bank.bank,
            bank.account_number,
            bank.holder,
            i32::try_from(bank.due_days).unwrap_or(3),
        )
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query!(
            "INSERT INTO order_lines (id, order_id, variant_id, product_id, product_name, variant_name, sku,
                                      unit_price, quantity, line_total, is_gift, tax_free, position)
             SELECT id, order_id, variant_id, product_id, product_name, variant_name, sku, unit_price, quantity,
                    unit_price * quantity, is_gift, tax_free, position
               FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[], $7::text[],
                           $8::int8[], $9::int4[], $10::bool[], $11::bool[], $12::int4[])
                    AS t (id, order_id, variant_id, product_id, product_name, variant_name, sku, unit_price,
                          quantity, is_gift, tax_free, position)",
            &l.ids,
            &l.orders,
            &l.variants,
            &l.products,
            &l.product_names,
            &l.variant_names,
            &l.skus,
            &l.prices,
            &l.quantities,
            &l.gifts,
            &l.tax_free,
            &l.positions,
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            "INSERT INTO refunds (id, order_id, amount, reason, status, actor, created_at)
             SELECT id, order_id, amount, reason, 'DONE', actor, created
               FROM UNNEST($1::uuid[], $2::uuid[], $3::int8[], $4::text[], $5::text[], $6::timestamptz[])
                    AS t (id, order_id, amount, reason, actor, created)",
            &r.ids,
            &r.orders,
            &r.amounts,
            &r.reasons as &[&str],
            &r.actors,
            &r.created,
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(o.ids.len() as u64)
    }
}
