//! The shop, order by order: who buys what, when, with which coupon, and what became of it.

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};
use uuid::Uuid;

use super::{
    OrderSeed, SeededOrders,
    batch::Batch,
    calendar::{Day, HOURS, Rng, cumulative, secs},
    catalog::Catalog,
    people::{ADDRESSES, GIVEN, Loyalty, Member, NOTES, Person, SURNAMES},
};
use crate::{SHOP_TZ, Settings, Won, pricing, types::Zonecode};

/// The channels with their base shares, and which share of each is members'.
pub(super) const CHANNELS: [(&str, f64, f64); 4] = [
    ("PC_WEB", 0.15, 0.70),
    ("MOBILE_WEB", 0.55, 0.72),
    ("APP", 0.20, 0.97),
    ("EXTERNAL", 0.10, 0.10),
];
pub(super) const MARKETPLACES: [(&str, f64); 3] =
    [("네이버 스마트스토어", 6.0), ("쿠팡", 3.0), ("카카오톡 선물하기", 1.0)];

/// Of member orders, the share by a customer buying for the first time (early on, all are).
pub(super) const NEW_MEMBER_SHARE: f64 = 0.42;
/// The chance that a returning member's order is their last.
pub(super) const CHURN: f64 = 0.06;
/// Sign-ups that never order, per new buying member.
pub(super) const IDLE_SIGN_UPS: f64 = 0.3;
/// Orders that use a coupon (when one applies).
pub(super) const COUPON_SHARE: f64 = 0.15;

pub(super) struct Shop<'a> {
    pub(super) rng: Rng,
    pub(super) now: DateTime<Utc>,
    pub(super) start: DateTime<Utc>,
    pub(super) due: Duration,
    pub(super) shipping: &'a crate::settings::ShippingSettings,
    pub(super) catalog: Catalog,
    pub(super) run: String,
    pub(super) sku_weights: Vec<f64>,
    pub(super) hours: Vec<f64>,
    /// Channel shares in office hours (more PC) and outside them.
    pub(super) channels_office: Vec<f64>,
    pub(super) channels_other: Vec<f64>,
    pub(super) surnames: Vec<f64>,
    pub(super) addresses: Vec<f64>,
    pub(super) zonecodes: Vec<Option<Zonecode>>,
    pub(super) notes: Vec<f64>,
    pub(super) marketplaces: Vec<f64>,
    pub(super) members: Vec<Member>,
    /// How likely each member is to come back.
    pub(super) loyalty: Loyalty,
    pub(super) guests: u64,
    pub(super) customers: u64,
    /// Orders so far, and those a coupon applied to, to reach [`COUPON_SHARE`].
    pub(super) coupon_eligible: u64,
    pub(super) stats: SeededOrders,
}

/// One order, decided.
pub(super) struct Planned {
    pub(super) at: DateTime<Utc>,
    pub(super) channel: &'static str,
    pub(super) source: Option<&'static str>,
    pub(super) member: Option<usize>,
    pub(super) first_order: bool,
}

impl<'a> Shop<'a> {
    pub(super) fn new(seed: OrderSeed, settings: &'a Settings, catalog: Catalog, run: String) -> Shop<'a> {
        let mut rng = Rng(seed.seed);
        // Best sellers: a Zipf-like share by a shuffled rank of the products, and within a
        // product, its first options more than the later ones.
        let mut products: Vec<Uuid> = Vec::new();
        for s in &catalog.skus {
            if products.last() != Some(&s.product) {
                products.push(s.product);
            }
        }
        for i in (1..products.len()).rev() {
            products.swap(i, rng.below(i + 1));
        }
        let rank: std::collections::HashMap<Uuid, usize> = products.iter().enumerate().map(|(i, p)| (*p, i)).collect();
        let mut weights = Vec::with_capacity(catalog.skus.len());
        let mut position = 0usize;
        for (i, s) in catalog.skus.iter().enumerate() {
            position = if i > 0 && catalog.skus[i - 1].product == s.product {
                position + 1
            } else {
                0
            };
            let r = rank.get(&s.product).copied().unwrap_or(0);
            weights.push(1.0 / ((r + 1) as f64).powf(0.9) / ((position + 1) as f64).powf(0.6));
        }
        Shop {
            now: seed.now,
            start: seed.now - Duration::days(i64::from(seed.days)),
            due: Duration::days(settings.bank_transfer.due_days.max(1)),
            shipping: &settings.shipping,
            sku_weights: cumulative(&weights),
            hours: cumulative(&HOURS),
            channels_office: cumulative(&CHANNELS.map(|(c, share, _)| if c == "PC_WEB" { share * 1.6 } else { share })),
            channels_other: cumulative(&CHANNELS.map(|(c, share, _)| if c == "PC_WEB" { share * 0.75 } else { share })),
            surnames: cumulative(&SURNAMES.map(|s| s.1)),
            addresses: cumulative(&ADDRESSES.map(|a| a.0)),
            zonecodes: ADDRESSES.iter().map(|a| Zonecode::parse(a.1).ok()).collect(),
            notes: cumulative(&NOTES.map(|n| n.1)),
            marketplaces: cumulative(&MARKETPLACES.map(|m| m.1)),
            catalog,
            run,
            members: Vec::new(),
            loyalty: Loyalty::default(),
            guests: 0,
            customers: 0,
            coupon_eligible: 0,
            stats: SeededOrders::default(),
            rng,
        }
    }

    /// The day's order times, in order: hours by [`HOURS`], inside the day's part of the period.
    pub(super) fn order_times(&mut self, day: &Day) -> Vec<DateTime<Utc>> {
        let midnight = SHOP_TZ
            .from_local_datetime(&day.date.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .map_or(day.start, |t| t.to_utc());
        let mut times: Vec<DateTime<Utc>> = (0..day.orders)
            .map(|_| {
                for _ in 0..32 {
                    let h = self.rng.pick(&self.hours) as i64;
                    let t = midnight + secs(h * 3600 + self.rng.range(0, 3600));
                    if t >= day.start && t < day.end {
                        return t;
                    }
                }
                day.start + secs(self.rng.range(0, (day.end - day.start).num_seconds().max(1)))
            })
            .collect();
        times.sort_unstable();
        times
    }

    pub(super) fn person(&mut self) -> Person {
        let surname = SURNAMES[self.rng.pick(&self.surnames)].0;
        let name = format!("{surname}{}", GIVEN[self.rng.below(GIVEN.len())]);
        let mobile = if self.rng.chance(0.97) {
            format!("010{:08}", self.rng.below(100_000_000))
        } else {
            let prefix = ["011", "016", "017", "019"][self.rng.below(4)];
            format!("{prefix}{:07}", self.rng.below(10_000_000))
        };
        let address = self.rng.pick(&self.addresses);
        let detail = if ADDRESSES[address].4.is_empty() && self.rng.chance(0.3) {
            format!("{}층", 1 + self.rng.below(5))
        } else {
            format!(
                "{}동 {}호",
                101 + self.rng.below(12),
                (1 + self.rng.below(25)) * 100 + 1 + self.rng.below(4)
            )
        };
        Person {
            name,
            mobile,
            address,
            detail,
        }
    }

    /// A customer signing up at `created`, into the batch.
    pub(super) fn sign_up(&mut self, created: DateTime<Utc>, batch: &mut Batch) -> Member {
        self.customers += 1;
        let p = self.person();
        let id = self.rng.id_at(created);
        let email = format!("seed-{}-{}@example.com", self.run, self.customers);
        let marketing_email = self.rng.chance(0.42);
        let marketing_sms = self.rng.chance(if marketing_email { 0.6 } else { 0.1 });
        let c = &mut batch.customers;
        c.ids.push(id);
        c.emails.push(email.clone());
        c.names.push(p.name.clone());
        c.mobiles.push(p.mobile.clone());
        c.created.push(created);
        c.marketing_email.push(marketing_email);
        c.marketing_sms.push(marketing_sms);
        self.stats.customers += 1;
        Member {
            id,
            email,
            name: p.name,
            mobile: p.mobile,
            address: p.address,
            detail: p.detail,
            orders: 0,
        }
    }

    /// Members who sign up on `day` and never order (yet).
    pub(super) fn sign_ups(&mut self, day: &Day, batch: &mut Batch) {
        let expected = day.orders as f64 * 0.7 * NEW_MEMBER_SHARE * IDLE_SIGN_UPS;
        let n = expected.floor() as u64 + u64::from(self.rng.chance(expected.fract()));
        let span = (day.end - day.start).num_seconds().max(1);
        for _ in 0..n {
            let at = day.start + secs(self.rng.range(0, span));
            self.sign_up(at, batch);
        }
    }

    /// A returning member, by loyalty; now and then it is their last order.
    pub(super) fn returning(&mut self) -> usize {
        let m = self.loyalty.find(self.rng.f64() * self.loyalty.total());
        if self.rng.chance(CHURN) {
            self.loyalty.set(m, 0.0);
        }
        m
    }

    pub(super) fn plan(&mut self, at: DateTime<Utc>, batch: &mut Batch) -> Planned {
        let seoul = at.with_timezone(&SHOP_TZ);
        let office = seoul.weekday().num_days_from_monday() < 5 && (9..18).contains(&seoul.hour());
        let shares = if office {
            &self.channels_office
        } else {
            &self.channels_other
        };
        let (channel, _, members) = CHANNELS[self.rng.pick(shares)];
        let source = (channel == "EXTERNAL").then(|| MARKETPLACES[self.rng.pick(&self.marketplaces)].0);
        if !self.rng.chance(members) {
            return Planned {
                at,
                channel,
                source,
                member: None,
                first_order: false,
            };
        }
        let (member, first_order) = if self.loyalty.total() <= 0.0 || self.rng.chance(NEW_MEMBER_SHARE) {
            // Most sign up at checkout; some joined weeks before their first order.
            let before = if self.rng.chance(0.65) {
                self.rng.range(60, 20 * 60)
            } else {
                self.rng.range(3600, 45 * 86_400)
            };
            let mut created = at - secs(before);
            if created < self.start {
                created = self.start + secs(self.rng.range(0, (at - self.start).num_seconds().max(1)));
            }
            let m = self.sign_up(created.min(at), batch);
            self.members.push(m);
            // Half never come back; of the rest, some are regulars and a few buy all the time.
            let loyalty = match self.rng.f64() {
                x if x < 0.5 => 0.0,
                x if x < 0.8 => 1.0,
                x if x < 0.95 => 3.0,
                _ => 10.0,
            };
            self.loyalty.push(loyalty);
            (self.members.len() - 1, true)
        } else {
            (self.returning(), false)
        };
        self.members[member].orders += 1;
        Planned {
            at,
            channel,
            source,
            member: Some(member),
            first_order,
        }
    }

    /// Lines: 1–3 different variants by popularity, quantities by price.
    pub(super) fn lines(&mut self) -> Vec<(usize, i32)> {
        let n = [1, 1, 1, 1, 1, 2, 2, 2, 3, 3][self.rng.below(10)].min(self.catalog.skus.len());
        let mut lines: Vec<(usize, i32)> = Vec::with_capacity(n);
        while lines.len() < n {
            let i = self.rng.pick(&self.sku_weights);
            if lines.iter().any(|l| l.0 == i) {
                continue;
            }
            let price = self.catalog.skus[i].price;
            let q = if price < 5_000 {
                [1, 1, 2, 3, 5, 5, 10, 10][self.rng.below(8)]
            } else if price < 20_000 {
                [1, 1, 1, 1, 1, 1, 1, 2, 2, 3][self.rng.below(10)]
            } else {
                [1, 1, 1, 1, 1, 1, 1, 1, 2][self.rng.below(9)]
            };
            lines.push((i, q));
        }
        lines
    }

    /// The best coupon the customer may use on `subtotal` at `at`, if they use one.
    pub(super) fn coupon(&mut self, p: &Planned, subtotal: i64) -> Option<usize> {
        let eligible: Vec<usize> = (0..self.catalog.coupons.len())
            .filter(|&i| {
                let c = &self.catalog.coupons[i];
                c.starts_at.is_none_or(|s| s <= p.at)
                    && c.ends_at.is_none_or(|e| p.at < e)
                    && c.left.is_none_or(|l| l > 0)
                    && c.min_subtotal <= subtotal
                    && (!c.members_only || p.member.is_some())
                    && (!c.once_per_customer || p.member.is_none() || p.first_order)
            })
            .collect();
        if eligible.is_empty() {
            return None;
        }
        self.coupon_eligible += 1;
        // Use a coupon on as many of the eligible orders as makes COUPON_SHARE of all.
        let rate = self.coupon_eligible as f64 / (self.stats.orders + 1) as f64;
        if !self.rng.chance((COUPON_SHARE / rate).min(1.0)) {
            return None;
        }
        let best = eligible
            .into_iter()
            .max_by_key(|&i| (self.catalog.coupons[i].discount(subtotal), std::cmp::Reverse(i)))?;
        if let Some(l) = &mut self.catalog.coupons[best].left {
            *l -= 1;
        }
        Some(best)
    }

    /// Places one order at `at` into the batch.
    #[allow(clippy::too_many_lines)] // one order, from the cart to where it is now
    pub(super) fn order(&mut self, at: DateTime<Utc>, batch: &mut Batch) {
        let p = self.plan(at, batch);
        let lines = self.lines();
        let subtotal: i64 = lines
            .iter()
            .map(|&(i, q)| self.catalog.skus[i].price * i64::from(q))
            .sum();
        let tax_free_subtotal: i64 = lines
            .iter()
            .filter(|&&(i, _)| self.catalog.skus[i].tax_free)
            .map(|&(i, q)| self.catalog.skus[i].price * i64::from(q))
            .sum();
        let coupon = self.coupon(&p, subtotal);
        let discount = coupon.map_or(0, |c| self.catalog.coupons[c].discount(subtotal));

        // Who orders, and where it goes.
        let orderer = match p.member {
            Some(m) => {
                let m = &self.members[m];
                Person {
                    name: m.name.clone(),
                    mobile: m.mobile.clone(),
                    address: m.address,
                    detail: m.detail.clone(),
                }
            }
            None => self.person(),
        };
        let email = match p.member {
            Some(m) => self.members[m].email.clone(),
            None => {
                self.guests += 1;
                format!("seed-{}-g{}@example.com", self.run, self.guests)
            }
        };
        let for_someone_else = p.source == Some("카카오톡 선물하기") || self.rng.chance(0.12);
        let recipient = if for_someone_else {
            self.person()
        } else {
            orderer.clone()
        };
        let address = ADDRESSES[recipient.address];
        let zonecode = self.zonecodes[recipient.address].as_ref();
        let subtotal_won = Won::new(subtotal).unwrap_or(Won::ZERO);
        let shipping_fee = pricing::shipping_fee(self.shipping, subtotal_won, zonecode).get();
        let total = subtotal - discount + shipping_fee;
        let tax_free = if subtotal == 0 {
            0
        } else {
            tax_free_subtotal - (i128::from(discount) * i128::from(tax_free_subtotal) / i128::from(subtotal)) as i64
        };
        let vat = Won::new(total - tax_free).unwrap_or(Won::ZERO).vat_included().get();

        // What happened to it since.
        let t = self.timeline(at, total, &lines);
        let id = self.rng.id_at(at);
        let o = &mut batch.orders;
        o.ids.push(id);
        o.status.push(t.status);
        o.channels.push(p.channel);
        o.sources.push(p.source);
        o.customers.push(p.member.map(|m| self.members[m].id));
        o.emails.push(email);
        o.phones.push(orderer.mobile.clone());
        o.orderer_names.push(orderer.name);
        o.recipients.push(recipient.name);
        o.recipient_phones.push(recipient.mobile);
        o.zonecodes.push(address.1);
        o.road_addresses.push(address.2);
        o.jibun_addresses.push(address.3);
        o.buildings.push(address.4);
        o.details.push(recipient.detail);
        o.notes.push(NOTES[self.rng.pick(&self.notes)].0);
        o.subtotals.push(subtotal);
        o.discounts.push(discount);
        o.shipping_fees.push(shipping_fee);
        o.totals.push(total);
        o.tax_free.push(tax_free);
        o.vat.push(vat);
        o.coupon_ids.push(coupon.map(|c| self.catalog.coupons[c].id));
        o.coupon_codes
            .push(coupon.map(|c| self.catalog.coupons[c].code.clone()));
        o.created.push(at);
        o.paid.push(t.paid);
        o.prepared.push(t.prepared);
        o.shipped.push(t.shipped);
        o.delivered.push(t.delivered);
        o.completed.push(t.completed);
        o.cancelled.push(t.cancelled);
        o.expired.push(t.expired);
        o.updated.push(t.updated);
        o.payment_ids.push(t.paid.map(|at| self.rng.id_at(at)));
        o.shipment_ids.push(t.shipped.map(|at| self.rng.id_at(at)));
        let carrier = match self.catalog.carriers.len() {
            0 => None,
            // Most shops ship with one courier, sometimes another.
            n => Some(if self.rng.chance(0.8) { 0 } else { self.rng.below(n) }),
        };
        o.carriers.push(carrier.map(|c| self.catalog.carriers[c].clone()));

        let mut position = 0;
        for &(i, q) in &lines {
            batch.lines.push(
                &mut self.rng,
                id,
                at,
                &self.catalog.skus[i],
                self.catalog.skus[i].price,
                q,
                false,
                position,
            );
            position += 1;
        }
        if let Some(rule) = self.catalog.gifts.iter().find(|g| {
            g.min_subtotal.is_none_or(|m| subtotal >= m)
                && g.channel.as_deref().is_none_or(|c| c == p.channel)
                && g.required_product
                    .is_none_or(|r| lines.iter().any(|&(i, _)| self.catalog.skus[i].product == r))
                && g.starts_at.is_none_or(|s| s <= at)
                && g.ends_at.is_none_or(|e| at < e)
        }) {
            batch
                .lines
                .push(&mut self.rng, id, at, &rule.gift, 0, rule.quantity, true, position);
        }
        if let Some((amount, when, reason)) = t.refund {
            let r = &mut batch.refunds;
            r.ids.push(self.rng.id_at(when));
            r.orders.push(id);
            r.amounts.push(amount);
            r.reasons.push(reason);
            r.actors.push(if t.cancelled.is_some() {
                p.member.map_or_else(
                    || "guest".to_owned(),
                    |m| format!("customer:cus_{}", self.members[m].id.simple()),
                )
            } else {
                "system".to_owned()
            });
            r.created.push(when);
        }

        let s = &mut self.stats;
        s.orders += 1;
        s.paid += u64::from(t.paid.is_some());
        s.unpaid += u64::from(t.paid.is_none());
        s.cancelled_after_payment += u64::from(t.paid.is_some() && t.cancelled.is_some());
        s.partly_refunded += u64::from(t.refund.is_some() && t.cancelled.is_none());
        s.by_members += u64::from(p.member.is_some());
        s.with_coupon += u64::from(coupon.is_some());
        s.lines += (lines.len() + usize::from(batch.lines.last_is_gift_of(id))) as u64;
    }

    /// What happened to an order placed at `at`, as of now.
    pub(super) fn timeline(&mut self, at: DateTime<Utc>, total: i64, lines: &[(usize, i32)]) -> Timeline {
        let now = self.now;
        let due = at + self.due;
        let mut t = Timeline {
            status: "PAID",
            updated: at,
            ..Timeline::default()
        };
        // Never paid: the deposit did not come by the due time, or they changed their mind.
        if self.rng.chance(0.04) {
            if due <= now && self.rng.chance(0.7) {
                t.status = "EXPIRED";
                t.expired = Some(due);
                t.updated = due;
            } else {
                let until = due.min(now);
                let when = at + secs(self.rng.range(0, (until - at).num_seconds().max(1)));
                t.status = "CANCELLED";
                t.cancelled = Some(when);
                t.updated = when;
            }
            return t;
        }
        // Deposits come within minutes, hours, or a day or two.
        let wait = match self.rng.f64() {
            x if x < 0.45 => self.rng.range(60, 30 * 60),
            x if x < 0.80 => self.rng.range(30 * 60, 8 * 3600),
            _ => self.rng.range(8 * 3600, 60 * 3600),
        };
        let room = (now - at).num_seconds().max(1);
        let paid = at + secs(if wait < room { wait } else { self.rng.range(0, room) });
        t.paid = Some(paid);
        t.updated = paid;
        let within = |rng: &mut Rng, from: DateTime<Utc>, lo: i64, hi: i64| {
            let when = from + secs(rng.range(lo, hi));
            if when <= now {
                when
            } else {
                from + secs(rng.range(0, (now - from).num_seconds().max(1)))
            }
        };
        // Cancelled after payment, before it ships: refunded in full.
        if self.rng.chance(0.031) && total > 0 {
            let when = within(&mut self.rng, paid, 20 * 60, 30 * 3600);
            t.status = "CANCELLED";
            t.cancelled = Some(when);
            t.updated = when;
            t.refund = Some((total, when, "고객 요청 취소"));
            return t;
        }
        let steps: [(&'static str, i64, i64); 4] = [
            ("PREPARING", 3600, 18 * 3600),
            ("SHIPPED", 4 * 3600, 30 * 3600),
            ("DELIVERED", 12 * 3600, 48 * 3600),
            // Purchase confirmed by the customer, or 7 days after delivery.
            ("COMPLETED", 86_400, 7 * 86_400),
        ];
        let mut last = paid;
        for (i, (status, lo, hi)) in steps.into_iter().enumerate() {
            let (lo, hi) = if status == "COMPLETED" && self.rng.chance(0.65) {
                (7 * 86_400, 7 * 86_400 + 3600)
            } else {
                (lo, hi)
            };
            let when = last + secs(self.rng.range(lo, hi));
            if when > now {
                break;
            }
            t.status = status;
            t.updated = when;
            last = when;
            match i {
                0 => t.prepared = Some(when),
                1 => t.shipped = Some(when),
                2 => t.delivered = Some(when),
                _ => t.completed = Some(when),
            }
        }
        // A damaged or missing item, refunded a few days after delivery.
        if let Some(delivered) = t.delivered
            && self.rng.chance(0.021)
        {
            let when = delivered + secs(self.rng.range(86_400, 5 * 86_400));
            let goods: Vec<i64> = lines
                .iter()
                .map(|&(i, q)| self.catalog.skus[i].price * i64::from(q))
                .collect();
            let amount = if goods.len() > 1 {
                goods[self.rng.below(goods.len())]
            } else {
                ((total as f64 * (0.1 + 0.3 * self.rng.f64())) as i64 / 100 * 100).max(100)
            };
            if when <= now && amount > 0 && amount < total {
                t.refund = Some((amount, when, "상품 파손 부분 환불"));
            }
        }
        t
    }
}

#[derive(Default)]
pub(super) struct Timeline {
    pub(super) status: &'static str,
    pub(super) paid: Option<DateTime<Utc>>,
    pub(super) prepared: Option<DateTime<Utc>>,
    pub(super) shipped: Option<DateTime<Utc>>,
    pub(super) delivered: Option<DateTime<Utc>>,
    pub(super) completed: Option<DateTime<Utc>>,
    pub(super) cancelled: Option<DateTime<Utc>>,
    pub(super) expired: Option<DateTime<Utc>>,
    pub(super) updated: DateTime<Utc>,
    pub(super) refund: Option<(i64, DateTime<Utc>, &'static str)>,
}
