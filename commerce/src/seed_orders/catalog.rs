//! What there is to sell: the catalog's variants, coupons and gift rules as the seeder reads them.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::Error;

pub(super) struct Sku {
    pub(super) variant: Uuid,
    pub(super) product: Uuid,
    pub(super) product_name: String,
    pub(super) variant_name: String,
    pub(super) sku: String,
    pub(super) price: i64,
    pub(super) tax_free: bool,
}

pub(super) struct Coupon {
    pub(super) id: Uuid,
    pub(super) code: String,
    pub(super) kind: String,
    pub(super) value: i64,
    pub(super) max_discount: Option<i64>,
    pub(super) min_subtotal: i64,
    pub(super) starts_at: Option<DateTime<Utc>>,
    pub(super) ends_at: Option<DateTime<Utc>>,
    /// Uses left, when limited.
    pub(super) left: Option<i64>,
    pub(super) once_per_customer: bool,
    pub(super) members_only: bool,
}

impl Coupon {
    /// Mirrors [`pricing::coupon_discount`] for a coupon that applies.
    pub(super) fn discount(&self, subtotal: i64) -> i64 {
        let raw = if self.kind == "PERCENT" {
            let pct = subtotal * self.value.clamp(0, 100) / 100;
            self.max_discount.map_or(pct, |cap| pct.min(cap))
        } else {
            self.value
        };
        raw.clamp(0, subtotal)
    }
}

pub(super) struct GiftRule {
    pub(super) min_subtotal: Option<i64>,
    pub(super) required_product: Option<Uuid>,
    pub(super) channel: Option<String>,
    pub(super) starts_at: Option<DateTime<Utc>>,
    pub(super) ends_at: Option<DateTime<Utc>>,
    pub(super) quantity: i32,
    pub(super) gift: Sku,
}

pub(super) struct Catalog {
    pub(super) skus: Vec<Sku>,
    pub(super) coupons: Vec<Coupon>,
    pub(super) gifts: Vec<GiftRule>,
    pub(super) carriers: Vec<String>,
}

impl Catalog {
    pub(super) async fn load(conn: &mut PgConnection) -> Result<Catalog, Error> {
        let skus: Vec<Sku> = sqlx::query!(
            r#"SELECT v.id, v.product_id, p.name AS product_name, v.name AS variant_name, v.sku, v.price, p.tax_free
                 FROM variants v JOIN products p ON p.id = v.product_id
                WHERE p.published AND v.price > 0
                ORDER BY p.created_at, p.id, v.position, v.sku"#
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| Sku {
            variant: r.id,
            product: r.product_id,
            product_name: r.product_name,
            variant_name: r.variant_name,
            sku: r.sku,
            price: r.price,
            tax_free: r.tax_free,
        })
        .collect();
        if skus.is_empty() {
            return Err(Error::Invalid {
                field: "catalog",
                reason: "no published variant with a price to order: seed a catalog first \
                         (`jangteo seed --demo` or `--products N --variants M`)"
                    .into(),
            });
        }
        let coupons = sqlx::query!(
            "SELECT id, code, kind, value, max_discount, min_subtotal, starts_at, ends_at, usage_limit, used_count,
                    per_customer_limit, members_only
               FROM coupons WHERE active ORDER BY created_at, code"
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| Coupon {
            id: r.id,
            code: r.code,
            kind: r.kind,
            value: r.value,
            max_discount: r.max_discount,
            min_subtotal: r.min_subtotal,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            left: r.usage_limit.map(|l| i64::from(l) - i64::from(r.used_count)),
            once_per_customer: r.per_customer_limit == Some(1),
            members_only: r.members_only,
        })
        .collect();
        let gifts = sqlx::query!(
            r#"SELECT g.min_subtotal, g.required_product_id, g.channel, g.starts_at, g.ends_at, g.gift_quantity,
                      v.id, v.product_id, p.name AS product_name, v.name AS variant_name, v.sku, p.tax_free
                 FROM gift_rules g JOIN variants v ON v.id = g.gift_variant_id JOIN products p ON p.id = v.product_id
                WHERE g.active AND p.published
                ORDER BY g.created_at, g.id"#
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| GiftRule {
            min_subtotal: r.min_subtotal,
            required_product: r.required_product_id,
            channel: r.channel,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            quantity: r.gift_quantity,
            gift: Sku {
                variant: r.id,
                product: r.product_id,
                product_name: r.product_name,
                variant_name: r.variant_name,
                sku: r.sku,
                price: 0,
                tax_free: r.tax_free,
            },
        })
        .collect();
        let carriers = sqlx::query_scalar!("SELECT code FROM carriers WHERE active ORDER BY position, code")
            .fetch_all(&mut *conn)
            .await?;
        Ok(Catalog {
            skus,
            coupons,
            gifts,
            carriers,
        })
    }
}
