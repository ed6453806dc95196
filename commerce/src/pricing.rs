//! Pricing, pure: products subtotal, coupon discount, gifts, shipping fee, VAT. The cart
//! shows what this computes and checkout charges exactly that, computed again on the server.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::{
    Won,
    error::{CouponProblem, Error},
    ids::{ProductId, VariantId},
    settings::ShippingSettings,
    types::Zonecode,
};

/// A line as priced: current price, the price the customer saw, stock.
#[derive(Clone, Debug, Deserialize)]
pub struct LineInput {
    /// Cart line id (opaque), or the gift rule's for gifts.
    pub line_id: String,
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
    /// Units.
    pub quantity: i32,
    /// The price now.
    pub price: Won,
    /// The price when the customer added it.
    pub seen_price: Won,
    /// The "was" price shown struck through, if any.
    #[serde(default)]
    pub compare_at_price: Option<Won>,
    /// Units that can be bought now.
    pub available: i32,
    /// VAT-exempt product.
    pub tax_free: bool,
    /// Listed (a hidden product can't be bought).
    pub published: bool,
}

/// A coupon's terms, and what the cart's statement found about its uses.
// The flags are the row as the statement reads it; `coupon_discount` turns them into one
// `CouponProblem` in a fixed order.
#[allow(clippy::struct_excessive_bools)]
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CouponTerms {
    /// Its code.
    pub code: String,
    /// Display name, e.g. `첫 구매 10%`.
    #[serde(default)]
    pub name: String,
    /// A line shown under the name; empty when none.
    #[serde(default)]
    pub description: String,
    /// `FIXED` (won) or `PERCENT`.
    pub kind: String,
    /// Won or percent.
    pub value: i64,
    /// Cap on a percent discount.
    pub max_discount: Option<i64>,
    /// Minimum products subtotal.
    pub min_subtotal: i64,
    /// Window start.
    pub starts_at: Option<DateTime<Utc>>,
    /// Window end.
    pub ends_at: Option<DateTime<Utc>>,
    /// Switched on.
    pub active: bool,
    /// Deleted since it was applied to the cart.
    #[serde(default)]
    pub deleted: bool,
    /// Members only and the cart is a guest's.
    #[serde(default)]
    pub login_required: bool,
    /// Its total usage limit is reached.
    #[serde(default)]
    pub used_up: bool,
    /// The cart's customer has used it as often as allowed.
    #[serde(default)]
    pub customer_used_up: bool,
}

/// A gift-with-purchase rule with its gift's stock.
#[derive(Clone, Debug, Deserialize)]
pub struct GiftRule {
    /// Rule id (opaque), which is also the gift line's id.
    pub id: String,
    /// Its name, e.g. `5만원 이상 구매 사은품`.
    #[serde(default)]
    pub name: String,
    /// Minimum products subtotal, if any.
    pub min_subtotal: Option<i64>,
    /// A product the cart must contain, if any.
    pub required_product_id: Option<ProductId>,
    /// Only for this channel, if set.
    pub channel: Option<String>,
    /// The gift.
    pub gift: LineInput,
}

/// A problem worth showing next to the cart, not blocking it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// `LOW_STOCK`, `OUT_OF_STOCK`, `PRICE_CHANGED`, `GIFT_UNAVAILABLE`, `UNAVAILABLE`, or for
    /// the applied coupon (see [`coupon_warning_code`]) `COUPON_NOT_FOUND`, `COUPON_EXPIRED`,
    /// `COUPON_MINIMUM_NOT_MET`, `COUPON_USED_UP`, `COUPON_LOGIN_REQUIRED`, `COUPON_NOT_APPLICABLE`.
    pub code: &'static str,
    /// The line it is about.
    pub line_id: Option<String>,
    /// English detail; the edge translates by code.
    pub detail: String,
    /// For `COUPON_MINIMUM_NOT_MET`: the won still to add to the products subtotal.
    pub amount: Option<Won>,
}

/// The warning code of a coupon that gives no discount: the reason a shopper can act on.
pub fn coupon_warning_code(p: CouponProblem) -> &'static str {
    match p {
        CouponProblem::Unknown => "COUPON_NOT_FOUND",
        CouponProblem::Expired => "COUPON_EXPIRED",
        CouponProblem::MinSubtotal(_) => "COUPON_MINIMUM_NOT_MET",
        CouponProblem::UsedUp | CouponProblem::PerCustomerLimit => "COUPON_USED_UP",
        CouponProblem::LoginRequired => "COUPON_LOGIN_REQUIRED",
        CouponProblem::Inactive | CouponProblem::NotStarted => "COUPON_NOT_APPLICABLE",
    }
}

/// A gift the cart gets by adding to its products subtotal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GiftProgress {
    /// The rule's name.
    pub rule_name: String,
    /// Won still to add.
    pub remaining: Won,
}

/// A priced line.
#[derive(Clone, Debug)]
pub struct PricedLine {
    /// The input line.
    pub line: LineInput,
    /// The price charged per unit (₩0 for gifts).
    pub unit_price: Won,
    /// `unit_price × quantity`.
    pub line_total: Won,
    /// A gift with purchase.
    pub is_gift: bool,
}

/// A priced cart.
#[derive(Clone, Debug)]
pub struct Priced {
    /// Lines, gifts last.
    pub lines: Vec<PricedLine>,
    /// Products subtotal (gifts are ₩0).
    pub subtotal: Won,
    /// Coupon discount.
    pub discount: Won,
    /// Shipping fee: `shipping_base_fee + remote_area_fee`.
    pub shipping_fee: Won,
    /// The flat fee (₩0 from the free-shipping threshold, or for an empty cart).
    pub shipping_base_fee: Won,
    /// The Jeju / island fee of the zonecode, charged even when shipping is free.
    pub remote_area_fee: Won,
    /// What is charged: subtotal − discount + shipping.
    pub total: Won,
    /// How much more until shipping is free (₩0 once it is).
    pub free_shipping_remaining: Won,
    /// The VAT-exempt part of the total.
    pub tax_free: Won,
    /// VAT inside the total: `round((total − taxFree) / 11)`.
    pub vat: Won,
    /// Things to show beside the cart.
    pub warnings: Vec<Warning>,
    /// Why the applied coupon gives no discount, if it doesn't.
    pub coupon_problem: Option<CouponProblem>,
    /// The applied coupon, when it applies (its discount is `discount`).
    pub coupon: Option<CouponTerms>,
    /// Gift rules whose only unmet condition is the minimum subtotal (gift in stock), in
    /// rule order.
    pub gift_progress: Vec<GiftProgress>,
}

/// What to price.
pub struct PricingInput<'a> {
    /// The cart's lines.
    pub lines: Vec<LineInput>,
    /// The applied coupon.
    pub coupon: Option<CouponTerms>,
    /// Gift rules that are active now.
    pub gift_rules: Vec<GiftRule>,
    /// The cart's channel.
    pub channel: &'a str,
    /// Where it ships, once known.
    pub zonecode: Option<&'a Zonecode>,
    /// Fees.
    pub shipping: &'a ShippingSettings,
    /// Now.
    pub now: DateTime<Utc>,
}

fn won(x: i64) -> Won {
    Won::new(x).unwrap_or(Won::ZERO)
}

/// The discount a coupon gives on `subtotal`, or why it gives none; the minimum subtotal
/// is checked last, so it is reported only when adding products would make it apply.
pub fn coupon_discount(c: &CouponTerms, subtotal: Won, now: DateTime<Utc>) -> Result<Won, CouponProblem> {
    if c.deleted {
        return Err(CouponProblem::Unknown);
    }
    if !c.active {
        return Err(CouponProblem::Inactive);
    }
    if c.starts_at.is_some_and(|s| now < s) {
        return Err(CouponProblem::NotStarted);
    }
    if c.ends_at.is_some_and(|e| now >= e) {
        return Err(CouponProblem::Expired);
    }
    if c.login_required {
        return Err(CouponProblem::LoginRequired);
    }
    if c.used_up {
        return Err(CouponProblem::UsedUp);
    }
    if c.customer_used_up {
        return Err(CouponProblem::PerCustomerLimit);
    }
    if subtotal.get() < c.min_subtotal {
        return Err(CouponProblem::MinSubtotal(won(c.min_subtotal)));
    }
    let raw = match c.kind.as_str() {
        "PERCENT" => {
            let pct = i128::from(subtotal.get()) * i128::from(c.value.clamp(0, 100)) / 100;
            let pct = i64::try_from(pct).unwrap_or(i64::MAX);
            c.max_discount.map_or(pct, |cap| pct.min(cap))
        }
        _ => c.value,
    };
    Ok(won(raw.clamp(0, subtotal.get())))
}

/// The shipping fee for a products subtotal and destination.
pub fn shipping_fee(s: &ShippingSettings, subtotal: Won, zonecode: Option<&Zonecode>) -> Won {
    let (base, remote) = shipping_fees(s, subtotal, zonecode);
    won(base.get().saturating_add(remote.get()))
}

/// The shipping fee's two parts: the flat fee (₩0 from `free_over`) and the remote-area fee
/// of the zonecode (charged even when shipping is free); both ₩0 for an empty cart.
pub fn shipping_fees(s: &ShippingSettings, subtotal: Won, zonecode: Option<&Zonecode>) -> (Won, Won) {
    if subtotal == Won::ZERO {
        return (Won::ZERO, Won::ZERO);
    }
    let base = if subtotal.get() >= s.free_over { 0 } else { s.flat_fee };
    let extra = zonecode
        .and_then(|z| s.remote_areas.iter().find(|a| (a.from..=a.to).contains(&z.number())))
        .map_or(0, |a| a.fee);
    (won(base), won(extra))
}

/// Prices a cart: what the customer sees and what checkout charges.
#[allow(clippy::too_many_lines)] // one pass over the rules, in the order a receipt reads
pub fn price(input: PricingInput<'_>) -> Result<Priced, Error> {
    let mut warnings = Vec::new();
    let mut lines = Vec::new();
    let mut subtotal = Won::ZERO;
    let mut tax_free_subtotal = Won::ZERO;
    for l in input.lines {
        if !l.published {
            warnings.push(Warning {
                code: "UNAVAILABLE",
                line_id: Some(l.line_id.clone()),
                detail: l.sku.clone(),
                amount: None,
            });
        } else if l.available < l.quantity {
            let code = if l.available == 0 { "OUT_OF_STOCK" } else { "LOW_STOCK" };
            warnings.push(Warning {
                code,
                line_id: Some(l.line_id.clone()),
                detail: format!("{} available", l.available.max(0)),
                amount: None,
            });
        }
        if l.price != l.seen_price {
            warnings.push(Warning {
                code: "PRICE_CHANGED",
                line_id: Some(l.line_id.clone()),
                detail: format!("{} → {}", l.seen_price, l.price),
                amount: None,
            });
        }
        let total = l.price.checked_mul(i64::from(l.quantity)).ok_or(overflow())?;
        subtotal = subtotal.checked_add(total).ok_or(overflow())?;
        if l.tax_free {
            tax_free_subtotal = tax_free_subtotal.checked_add(total).ok_or(overflow())?;
        }
        lines.push(PricedLine {
            unit_price: l.price,
            line_total: total,
            is_gift: false,
            line: l,
        });
    }

    let (discount, coupon_problem, coupon) = match input.coupon {
        None => (Won::ZERO, None, None),
        Some(c) => match coupon_discount(&c, subtotal, input.now) {
            Ok(d) => (d, None, Some(c)),
            Err(p) => {
                warnings.push(Warning {
                    code: coupon_warning_code(p),
                    line_id: None,
                    detail: p.to_string(),
                    amount: match p {
                        CouponProblem::MinSubtotal(min) => min.checked_sub(subtotal),
                        _ => None,
                    },
                });
                (Won::ZERO, Some(p), None)
            }
        },
    };

    let mut gift_progress = Vec::new();
    for rule in input.gift_rules {
        let others_hold = rule.channel.as_deref().is_none_or(|c| c == input.channel)
            && rule
                .required_product_id
                .is_none_or(|p| lines.iter().any(|l| !l.is_gift && l.line.product_id == p));
        let gift_in_stock = rule.gift.published && rule.gift.available >= rule.gift.quantity;
        let missing = rule.min_subtotal.map_or(0, |m| m - subtotal.get());
        if others_hold && missing > 0 && gift_in_stock {
            gift_progress.push(GiftProgress {
                rule_name: rule.name.clone(),
                remaining: won(missing),
            });
        }
        let holds = others_hold && missing <= 0 && !lines.is_empty();
        if !holds {
            continue;
        }
        let gift = rule.gift;
        if !gift.published || gift.available < gift.quantity {
            // A gift out of stock never blocks the order: it is skipped with a notice.
            warnings.push(Warning {
                code: "GIFT_UNAVAILABLE",
                line_id: Some(gift.line_id.clone()),
                detail: gift.sku.clone(),
                amount: None,
            });
            continue;
        }
        lines.push(PricedLine {
            unit_price: Won::ZERO,
            line_total: Won::ZERO,
            is_gift: true,
            line: gift,
        });
    }

    let (shipping_base_fee, remote_area_fee) = shipping_fees(input.shipping, subtotal, input.zonecode);
    let shipping_fee = shipping_base_fee.checked_add(remote_area_fee).ok_or(overflow())?;
    let free_shipping_remaining = if subtotal == Won::ZERO {
        won(input.shipping.free_over)
    } else {
        won(input.shipping.free_over - subtotal.get())
    };
    let total = subtotal
        .checked_sub(discount)
        .and_then(|t| t.checked_add(shipping_fee))
        .ok_or(overflow())?;
    // The discount lowers the tax-free part in proportion to it.
    let tax_free = if subtotal == Won::ZERO {
        Won::ZERO
    } else {
        let share = i128::from(discount.get()) * i128::from(tax_free_subtotal.get()) / i128::from(subtotal.get());
        won(tax_free_subtotal.get() - i64::try_from(share).unwrap_or(0))
    };
    let vat = total.checked_sub(tax_free).unwrap_or(Won::ZERO).vat_included();
    Ok(Priced {
        lines,
        subtotal,
        discount,
        shipping_fee,
        shipping_base_fee,
        remote_area_fee,
        total,
        free_shipping_remaining,
        tax_free,
        vat,
        warnings,
        coupon_problem,
        coupon,
        gift_progress,
    })
}

fn overflow() -> Error {
    Error::Invalid {
        field: "quantity",
        reason: "amount too large".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::RemoteArea;
    use proptest::prelude::*;

    fn settings() -> ShippingSettings {
        ShippingSettings {
            flat_fee: 3000,
            free_over: 50000,
            remote_areas: vec![RemoteArea {
                name: "제주".into(),
                from: 63000,
                to: 63644,
                fee: 3000,
            }],
        }
    }

    fn line(price: i64, qty: i32, tax_free: bool) -> LineInput {
        LineInput {
            line_id: format!("l{price}"),
            variant_id: VariantId::generate(),
            product_id: ProductId::generate(),
            product_name: "상품".into(),
            variant_name: String::new(),
            sku: format!("SKU-{price}"),
            quantity: qty,
            price: won(price),
            seen_price: won(price),
            compare_at_price: None,
            available: 100,
            tax_free,
            published: true,
        }
    }

    fn priced(lines: Vec<LineInput>, coupon: Option<CouponTerms>, zone: Option<&str>) -> Priced {
        let z = zone.map(|z| Zonecode::parse(z).expect("zone"));
        let s = settings();
        price(PricingInput {
            lines,
            coupon,
            gift_rules: vec![],
            channel: "PC_WEB",
            zonecode: z.as_ref(),
            shipping: &s,
            now: Utc::now(),
        })
        .expect("priced")
    }

    fn coupon(kind: &str, value: i64, cap: Option<i64>, min: i64) -> CouponTerms {
        CouponTerms {
            code: "C".into(),
            kind: kind.into(),
            value,
            max_discount: cap,
            min_subtotal: min,
            starts_at: None,
            ends_at: None,
            active: true,
            ..CouponTerms::default()
        }
    }

    #[test]
    fn shipping_is_flat_free_over_threshold_and_extra_for_jeju() {
        let p = priced(vec![line(10000, 2, false)], None, None);
        assert_eq!(
            (p.subtotal.get(), p.shipping_fee.get(), p.total.get()),
            (20000, 3000, 23000)
        );
        assert_eq!(p.free_shipping_remaining.get(), 30000);
        let p = priced(vec![line(25000, 2, false)], None, None);
        assert_eq!((p.shipping_fee.get(), p.free_shipping_remaining.get()), (0, 0));
        let p = priced(vec![line(25000, 2, false)], None, Some("63100"));
        assert_eq!(
            p.shipping_fee.get(),
            3000,
            "Jeju pays its extra fee even when shipping is free"
        );
        let p = priced(vec![line(10000, 1, false)], None, Some("63644"));
        assert_eq!(p.shipping_fee.get(), 6000);
        let p = priced(vec![], None, Some("63100"));
        assert_eq!((p.shipping_fee.get(), p.total.get()), (0, 0));
    }

    #[test]
    fn coupons_fixed_percent_capped_and_minimum() {
        let p = priced(vec![line(30000, 1, false)], Some(coupon("FIXED", 5000, None, 0)), None);
        assert_eq!((p.discount.get(), p.total.get()), (5000, 28000));
        let p = priced(
            vec![line(30000, 1, false)],
            Some(coupon("PERCENT", 10, Some(2000), 0)),
            None,
        );
        assert_eq!(p.discount.get(), 2000);
        let p = priced(vec![line(30000, 1, false)], Some(coupon("PERCENT", 10, None, 0)), None);
        assert_eq!(p.discount.get(), 3000);
        let p = priced(
            vec![line(30000, 1, false)],
            Some(coupon("FIXED", 5000, None, 40000)),
            None,
        );
        assert_eq!(p.discount.get(), 0);
        assert_eq!(p.coupon_problem, Some(CouponProblem::MinSubtotal(won(40000))));
        let p = priced(vec![line(3000, 1, false)], Some(coupon("FIXED", 5000, None, 0)), None);
        assert_eq!(p.discount.get(), 3000, "never more than the subtotal");
    }

    #[test]
    fn vat_leaves_out_the_tax_free_part() {
        let p = priced(vec![line(11000, 1, false), line(5000, 1, true)], None, None);
        // total 19,000 = 16,000 + 3,000 shipping; tax-free 5,000; VAT = round(14,000 / 11) = 1,273
        assert_eq!((p.total.get(), p.tax_free.get(), p.vat.get()), (19000, 5000, 1273));
    }

    fn rule(min: Option<i64>, product: Option<ProductId>, channel: Option<&str>, available: i32) -> GiftRule {
        let mut gift = line(15000, 1, false);
        gift.line_id = "gft_1".into();
        gift.available = available;
        GiftRule {
            id: "gft_1".into(),
            name: "사은품".into(),
            min_subtotal: min,
            required_product_id: product,
            channel: channel.map(Into::into),
            gift,
        }
    }

    fn with_rules(lines: Vec<LineInput>, rules: Vec<GiftRule>, channel: &str) -> Priced {
        let s = settings();
        price(PricingInput {
            lines,
            coupon: None,
            gift_rules: rules,
            channel,
            zonecode: None,
            shipping: &s,
            now: Utc::now(),
        })
        .expect("priced")
    }

    #[test]
    fn gift_conditions_subtotal_product_and_channel() {
        let bought = line(20000, 2, false);
        let product = bought.product_id;
        let gifts = |p: &Priced| p.lines.iter().filter(|l| l.is_gift).count();
        assert_eq!(
            gifts(&with_rules(
                vec![bought.clone()],
                vec![rule(Some(40000), None, None, 5)],
                "PC_WEB"
            )),
            1
        );
        assert_eq!(
            gifts(&with_rules(
                vec![bought.clone()],
                vec![rule(Some(40001), None, None, 5)],
                "PC_WEB"
            )),
            0
        );
        assert_eq!(
            gifts(&with_rules(
                vec![bought.clone()],
                vec![rule(None, Some(product), None, 5)],
                "PC_WEB"
            )),
            1
        );
        let other = ProductId::generate();
        assert_eq!(
            gifts(&with_rules(
                vec![bought.clone()],
                vec![rule(None, Some(other), None, 5)],
                "PC_WEB"
            )),
            0
        );
        assert_eq!(
            gifts(&with_rules(
                vec![bought.clone()],
                vec![rule(None, None, Some("APP"), 5)],
                "PC_WEB"
            )),
            0
        );
        assert_eq!(
            gifts(&with_rules(
                vec![bought.clone()],
                vec![rule(None, None, Some("APP"), 5)],
                "APP"
            )),
            1
        );
        // Both conditions must hold.
        assert_eq!(
            gifts(&with_rules(
                vec![bought.clone()],
                vec![rule(Some(90000), Some(product), None, 5)],
                "PC_WEB"
            )),
            0
        );
        // An empty cart gets nothing; a gift out of stock is a warning, not a line.
        assert_eq!(gifts(&with_rules(vec![], vec![rule(None, None, None, 5)], "PC_WEB")), 0);
        let p = with_rules(vec![bought], vec![rule(None, None, None, 0)], "PC_WEB");
        assert_eq!(gifts(&p), 0);
        assert_eq!(
            p.warnings.iter().map(|w| w.code).collect::<Vec<_>>(),
            vec!["GIFT_UNAVAILABLE"]
        );
        assert_eq!(p.total.get(), 43000, "a gift never costs anything");
    }

    #[test]
    fn the_shipping_fee_is_base_plus_remote_area() {
        let p = priced(vec![line(10000, 1, false)], None, Some("63100"));
        assert_eq!(
            (p.shipping_base_fee.get(), p.remote_area_fee.get(), p.shipping_fee.get()),
            (3000, 3000, 6000)
        );
        let p = priced(vec![line(60000, 1, false)], None, Some("63100"));
        assert_eq!((p.shipping_base_fee.get(), p.remote_area_fee.get()), (0, 3000));
    }

    #[test]
    fn a_coupon_that_does_not_apply_says_why_with_the_missing_amount() {
        let codes = |c: CouponTerms| {
            let p = priced(vec![line(30000, 1, false)], Some(c), None);
            assert!(p.coupon.is_none() && p.discount == Won::ZERO);
            p.warnings
                .into_iter()
                .map(|w| (w.code, w.amount.map(Won::get)))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            codes(coupon("FIXED", 5000, None, 50000)),
            [("COUPON_MINIMUM_NOT_MET", Some(20000))]
        );
        let mut c = coupon("FIXED", 5000, None, 0);
        c.login_required = true;
        assert_eq!(codes(c.clone()), [("COUPON_LOGIN_REQUIRED", None)]);
        c.login_required = false;
        c.used_up = true;
        assert_eq!(codes(c.clone()), [("COUPON_USED_UP", None)]);
        c.used_up = false;
        c.ends_at = Some(Utc::now() - chrono::Duration::hours(1));
        assert_eq!(codes(c.clone()), [("COUPON_EXPIRED", None)]);
        c.deleted = true;
        assert_eq!(codes(c), [("COUPON_NOT_FOUND", None)]);
        let p = priced(vec![line(30000, 1, false)], Some(coupon("FIXED", 5000, None, 0)), None);
        assert_eq!(p.coupon.map(|c| c.code), Some("C".into()));
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn gift_progress_lists_rules_only_the_minimum_holds_back() {
        let bought = line(20000, 1, false);
        let other = ProductId::generate();
        let p = with_rules(
            vec![bought],
            vec![
                rule(Some(50000), None, None, 5),
                rule(Some(50000), None, Some("APP"), 5),
                rule(Some(50000), Some(other), None, 5),
                rule(Some(50000), None, None, 0),
                rule(Some(10000), None, None, 5),
            ],
            "PC_WEB",
        );
        assert_eq!(
            p.gift_progress,
            vec![GiftProgress {
                rule_name: "사은품".into(),
                remaining: won(30000)
            }]
        );
    }

    proptest! {
        #[test]
        fn totals_add_up(
            prices in proptest::collection::vec((0i64..200_000, 1i32..20, any::<bool>()), 0..6),
            fixed in 0i64..100_000, pct in 1i64..=100, cap in proptest::option::of(1i64..50_000), use_pct in any::<bool>()
        ) {
            let lines: Vec<LineInput> = prices.iter().enumerate().map(|(i, (p, q, t))| {
                let mut l = line(*p, *q, *t);
                l.line_id = format!("l{i}");
                l
            }).collect();
            let c = if use_pct { coupon("PERCENT", pct, cap, 0) } else { coupon("FIXED", fixed.max(1), None, 0) };
            let p = priced(lines, Some(c), Some("63001"));
            let sum: i64 = p.lines.iter().map(|l| l.line_total.get()).sum();
            prop_assert_eq!(p.subtotal.get(), sum);
            prop_assert!(p.discount <= p.subtotal);
            prop_assert_eq!(p.total.get(), p.subtotal.get() - p.discount.get() + p.shipping_fee.get());
            prop_assert!(p.tax_free <= p.total);
            prop_assert!(p.vat.get() * 11 <= p.total.get() - p.tax_free.get() + 5);
        }
    }
}
