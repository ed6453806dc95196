//! Checkout: a cart becomes an order in ONE transaction (DESIGN.md §3): re-priced on the
//! server, stock allocated with one conditional UPDATE per line in variant-id order (so
//! concurrent checkouts never deadlock), coupon use counted, movements written, the cart
//! emptied. Any failure rolls everything back. The same idempotency key from the same cart
//! (and customer) gives the same order; from another cart it is `IDEMPOTENCY_KEY_REUSED`.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use crate::{
    Error, Settings, Won,
    address::PostalAddress,
    cart,
    error::CouponProblem,
    ids::{AddressId, CustomerId, OrderId, OrderLineId, VariantId},
    order::{self, Actor, Order, OrderKey},
    payment::{Gateways, Provider},
    pricing::PricedLine,
    types::{Email, PhoneNumber},
};

/// How the customer pays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaymentMethod {
    /// 무통장입금 into the shop's account: the order waits for the deposit.
    BankTransfer,
    /// A virtual account (가상계좌) issued by Toss for this order.
    VirtualAccount,
    /// Card or easy pay in the Toss payment window.
    Toss,
    /// KakaoPay.
    KakaoPay,
    /// PortOne V2 (Inicis, KCP, … behind one channel).
    PortOne,
}

impl PaymentMethod {
    /// Every method, in the order a storefront lists them.
    pub const ALL: [PaymentMethod; 5] = [
        PaymentMethod::Toss,
        PaymentMethod::KakaoPay,
        PaymentMethod::PortOne,
        PaymentMethod::VirtualAccount,
        PaymentMethod::BankTransfer,
    ];

    /// As stored and shown: `BANK_TRANSFER`, `VIRTUAL_ACCOUNT`, `TOSS`, `KAKAOPAY`, `PORTONE`.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentMethod::BankTransfer => "BANK_TRANSFER",
            PaymentMethod::VirtualAccount => "VIRTUAL_ACCOUNT",
            PaymentMethod::Toss => "TOSS",
            PaymentMethod::KakaoPay => "KAKAOPAY",
            PaymentMethod::PortOne => "PORTONE",
        }
    }

    /// From the stored form.
    pub fn parse(s: &str) -> Option<PaymentMethod> {
        PaymentMethod::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The gateway that takes this method's money (`None` for bank transfer).
    pub fn provider(self) -> Option<Provider> {
        match self {
            PaymentMethod::BankTransfer => None,
            PaymentMethod::VirtualAccount | PaymentMethod::Toss => Some(Provider::Toss),
            PaymentMethod::KakaoPay => Some(Provider::KakaoPay),
            PaymentMethod::PortOne => Some(Provider::PortOne),
        }
    }

    /// Whether the shop can take it now: bank transfer with a real account (or in demo
    /// mode), a gateway with its keys.
    pub fn is_available(self, settings: &Settings, gateways: &Gateways) -> bool {
        match self.provider() {
            None => settings.bank_transfer_available(),
            Some(p) => gateways.has(p),
        }
    }

    /// Whether the order waits for a deposit into an account (a cash receipt can be asked).
    pub fn is_deposit(self) -> bool {
        matches!(self, PaymentMethod::BankTransfer | PaymentMethod::VirtualAccount)
    }

    /// Whether checkout calls the gateway before the order is shown (KakaoPay `ready`, the
    /// virtual account's issuance): the cart stays until that succeeds.
    fn opens_at_gateway(self) -> bool {
        matches!(self, PaymentMethod::KakaoPay | PaymentMethod::VirtualAccount)
    }
}

/// A cash receipt (현금영수증) asked for at checkout.
#[derive(Clone, PartialEq, Eq)]
pub struct CashReceipt {
    /// 소득공제 (a person's) or 지출증빙 (a business's).
    pub kind: CashReceiptKind,
    /// A phone, business registration or cash-receipt card number: digits only.
    pub number: String,
}

impl std::fmt::Debug for CashReceipt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CashReceipt")
            .field("kind", &self.kind)
            .field("number", &crate::types::mask_digits(&self.number))
            .finish()
    }
}

/// The two kinds of cash receipt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CashReceiptKind {
    /// 소득공제: for a person's income deduction.
    IncomeDeduction,
    /// 지출증빙: a business's proof of expense.
    ExpenditureProof,
}

impl CashReceiptKind {
    /// As stored: `INCOME_DEDUCTION`, `EXPENDITURE_PROOF`.
    pub fn as_str(self) -> &'static str {
        match self {
            CashReceiptKind::IncomeDeduction => "INCOME_DEDUCTION",
            CashReceiptKind::ExpenditureProof => "EXPENDITURE_PROOF",
        }
    }

    /// From the stored form.
    pub fn parse(s: &str) -> Option<CashReceiptKind> {
        match s {
            "INCOME_DEDUCTION" => Some(CashReceiptKind::IncomeDeduction),
            "EXPENDITURE_PROOF" => Some(CashReceiptKind::ExpenditureProof),
            _ => None,
        }
    }

    /// As Toss names it: `소득공제`, `지출증빙`.
    pub fn toss_name(self) -> &'static str {
        match self {
            CashReceiptKind::IncomeDeduction => "소득공제",
            CashReceiptKind::ExpenditureProof => "지출증빙",
        }
    }
}

impl CashReceipt {
    /// Checks the number: 10–19 digits once dashes and spaces are dropped (a mobile number,
    /// a business registration number, a cash-receipt card). Errors: `INVALID_INPUT` on
    /// `cashReceipt.number`.
    pub fn parse(kind: CashReceiptKind, number: &str) -> Result<CashReceipt, Error> {
        let digits: String = number.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
        if !(10..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::Invalid {
                field: "cashReceipt.number",
                reason: "10–19 digits: a mobile, business registration or cash-receipt card number".into(),
            });
        }
        Ok(CashReceipt { kind, number: digits })
    }
}

/// Where the order goes.
#[derive(Clone, Debug)]
pub enum ShipTo {
    /// An address entered at checkout.
    Address(PostalAddress),
    /// One of the signed-in customer's saved addresses.
    Saved(AddressId),
}

/// Checks a 입금자명 (the name a bank-transfer deposit is sent under): 1–20 characters after
/// trimming. Errors: `INVALID_INPUT` on `depositorName`.
pub fn parse_depositor_name(s: &str) -> Result<String, Error> {
    let s = s.trim();
    if s.is_empty() || s.chars().count() > 20 {
        return Err(Error::Invalid {
            field: "depositorName",
            reason: "1–20 characters".into(),
        });
    }
    Ok(s.to_owned())
}

/// What checkout needs besides the cart, parsed.
#[derive(Clone, Debug)]
pub struct CheckoutInput {
    /// Orderer e-mail (order mail, guest lookup).
    pub email: Email,
    /// Orderer phone.
    pub phone: PhoneNumber,
    /// 주문자.
    pub orderer_name: String,
    /// Where it goes.
    pub ship_to: ShipTo,
    /// 입금자명 for a bank transfer ([`parse_depositor_name`]); the orderer's name (its first
    /// 20 characters) when absent.
    pub depositor_name: Option<String>,
    /// 배송 메모.
    pub delivery_note: String,
    /// How they pay.
    pub payment_method: PaymentMethod,
    /// The client's key for this attempt: a retry with it from the same cart returns the
    /// same order.
    pub idempotency_key: String,
    /// The total the customer was shown, if the client sends it: a different server total
    /// is refused with `PRICE_CHANGED`.
    pub expected_total: Option<Won>,
    /// A cash receipt for a bank transfer or virtual account.
    pub cash_receipt: Option<CashReceipt>,
}

/// Checks an idempotency key: 8–128 printable ASCII characters.
pub fn parse_idempotency_key(s: &str) -> Result<String, Error> {
    let ok = (8..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| s.to_owned()).ok_or(Error::Invalid {
        field: "idempotencyKey",
        reason: "8–128 printable ASCII characters".into(),
    })
}

/// Places the order. A key already used by this cart (its token) and customer answers with
/// that order; a key used by any other cart or customer is `IDEMPOTENCY_KEY_REUSED`, telling
/// nothing about the order. Errors (nothing is left behind): `NOT_FOUND` (cart),
/// `CART_EMPTY`, `OUT_OF_STOCK`, `PRICE_CHANGED` (the cart then shows the new prices),
/// `COUPON_INVALID`, `INVALID_INPUT`, `IDEMPOTENCY_KEY_REUSED`. The order is as the
/// customer sees it ([`Order::for_customer`]). `PAYMENT_METHOD_UNAVAILABLE`: bank transfer
/// while the account is the demo one outside demo mode, or a gateway without its keys. A
/// saved address ([`ShipTo::Saved`]) must be the signed-in customer's: `UNAUTHENTICATED`
/// for a guest, `NOT_FOUND` for anyone else's.
///
/// A bank transfer waits for its deposit (`AWAITING_DEPOSIT`); a gateway order waits for
/// its payment (`PENDING_PAYMENT`, see [`crate::payment::session`]). KakaoPay's `ready`
/// and a virtual account's issuance happen here, after the order is committed and without
/// holding a connection; if the gateway fails, the order is cancelled (stock released),
/// the cart is kept and the error is the gateway's (`PAYMENT_FAILED`).
pub async fn complete(
    pool: &PgPool,
    settings: &Settings,
    gateways: &Gateways,
    cart_token: &str,
    input: CheckoutInput,
    customer: Option<CustomerId>,
) -> Result<Order, Error> {
    let method = input.payment_method;
    if !method.is_available(settings, gateways) {
        return Err(Error::PaymentMethodUnavailable {
            method: method.as_str(),
        });
    }
    if input.cash_receipt.is_some() && !method.is_deposit() {
        return Err(Error::Invalid {
            field: "cashReceipt",
            reason: "only for bank transfer and virtual account".into(),
        });
    }
    let token_hash = crate::auth::token_hash(cart_token);
    let placed = place(pool, settings, cart_token, &token_hash, &input, customer, Utc::now()).await;
    let id = match placed {
        Ok(id) => id,
        Err(e) if lost_to_same_key(&e) => {
            // Another attempt with this key won while this one waited (on the cart's row
            // lock, or on the key's unique index entry): answer with its order if it came
            // from this cart and customer.
            let mut conn = pool.acquire().await?;
            match earlier_order(&mut conn, &input.idempotency_key, &token_hash, customer).await? {
                Some(id) => id,
                None => return Err(e),
            }
        }
        Err(e @ Error::PriceChanged { .. }) => {
            // Refused once; the cart now carries the prices the customer will be shown.
            let mut conn = pool.acquire().await?;
            cart::accept_current_prices(&mut conn, cart_token).await?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    if method.opens_at_gateway() {
        crate::payment::session::open(pool, settings, gateways, id, cart_token).await?;
    }
    let mut conn = pool.acquire().await?;
    order::get(&mut conn, &OrderKey::Id(id))
        .await?
        .map(Order::for_customer)
        .ok_or(Error::NotFound { what: "order" })
}

fn lost_to_same_key(e: &Error) -> bool {
    match e {
        Error::NotFound { what: "cart" } => true,
        Error::Db(sqlx::Error::Database(db)) => {
            db.code().as_deref() == Some("23505") && db.constraint() == Some("orders_idempotency_key_key")
        }
        _ => false,
    }
}

/// The order an earlier attempt with `key` placed, when it came from the cart whose token
/// hashes to `token_hash` and (for a signed-in caller) the same customer; `None` when the key
/// is unused. A key of any other checkout is `IDEMPOTENCY_KEY_REUSED`: knowing a key must not
/// be enough to read someone's order.
async fn earlier_order(
    conn: &mut sqlx::PgConnection,
    key: &str,
    token_hash: &[u8],
    customer: Option<CustomerId>,
) -> Result<Option<OrderId>, Error> {
    let row = sqlx::query!(
        r#"SELECT id AS "id: OrderId",
                  COALESCE(cart_token_hash = $2 AND ($3::uuid IS NULL OR customer_id = $3), false) AS "same!"
             FROM orders WHERE idempotency_key = $1"#,
        key,
        token_hash,
        customer.map(|c| c.0),
    )
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        None => Ok(None),
        Some(r) if r.same => Ok(Some(r.id)),
        Some(_) => Err(Error::IdempotencyKeyReused),
    }
}

#[allow(clippy::too_many_lines)] // one transaction, read top to bottom
async fn place(
    pool: &PgPool,
    settings: &Settings,
    cart_token: &str,
    token_hash: &[u8],
    input: &CheckoutInput,
    customer: Option<CustomerId>,
    now: DateTime<Utc>,
) -> Result<OrderId, Error> {
    let mut tx = pool.begin().await?;
    // A retry finds its order here. Two attempts with one key at once both get past this;
    // the second then waits on the first's entry in the unique index of `idempotency_key`,
    // fails there, and `complete` answers with the first's order. Another cart's key stops
    // here, before anything of this cart is read.
    if let Some(id) = earlier_order(&mut tx, &input.idempotency_key, token_hash, customer).await? {
        return Ok(id);
    }

    let address = match &input.ship_to {
        ShipTo::Address(a) => a.clone(),
        ShipTo::Saved(id) => saved_address(&mut tx, *id, customer).await?,
    };
    let cart = cart::view(&mut tx, cart_token, &settings.shipping, true, now).await?;
    let zonecode = address.zonecode()?;
    let zonecode = Some(&zonecode);
    // Re-priced for the real destination.
    let priced = crate::pricing::price(crate::pricing::PricingInput {
        lines: cart
            .priced
            .lines
            .iter()
            .filter(|l| !l.is_gift)
            .map(|l| l.line.clone())
            .collect(),
        coupon: None,
        gift_rules: Vec::new(),
        channel: &cart.channel,
        zonecode,
        shipping: &settings.shipping,
        now,
    })?;
    let regular: Vec<&PricedLine> = cart.priced.lines.iter().filter(|l| !l.is_gift).collect();
    if regular.is_empty() {
        return Err(Error::CartEmpty);
    }
    for l in &regular {
        if !l.line.published {
            return Err(Error::OutOfStock {
                variant: l.line.variant_id,
                sku: l.line.sku.clone(),
                line: Some(l.line.line_id.clone()),
                available: 0,
            });
        }
        if l.line.price != l.line.seen_price {
            return Err(Error::PriceChanged {
                line: l.line.line_id.clone(),
                sku: l.line.sku.clone(),
                was: l.line.seen_price,
                now: l.line.price,
            });
        }
    }
    if let Some(p) = cart.priced.coupon_problem {
        return Err(Error::CouponInvalid(p));
    }
    let discount = cart.priced.discount;
    let shipping_fee = priced.shipping_fee;
    let subtotal = cart.priced.subtotal;
    let total = subtotal
        .checked_sub(discount)
        .and_then(|t| t.checked_add(shipping_fee))
        .ok_or(Error::Invalid {
            field: "total",
            reason: "out of range".into(),
        })?;
    if let Some(expected) = input.expected_total
        && expected != total
    {
        return Err(Error::PriceChanged {
            line: "total".into(),
            sku: "total".into(),
            was: expected,
            now: total,
        });
    }

    // Allocate in variant-id order, gifts after the bought units of the same variant.
    let mut wanted: BTreeMap<(VariantId, bool), (i32, &PricedLine)> = BTreeMap::new();
    for l in &cart.priced.lines {
        wanted.entry((l.line.variant_id, l.is_gift)).or_insert((0, l)).0 += l.line.quantity;
    }
    let mut allocated = std::collections::HashSet::new();
    let mut movements: (Vec<uuid::Uuid>, Vec<i32>) = (Vec::new(), Vec::new());
    for ((variant, is_gift), (qty, line)) in &wanted {
        let r = sqlx::query!(
            "UPDATE variants SET allocated = allocated + $2, updated_at = now()
              WHERE id = $1 AND on_hand - allocated >= $2",
            *variant as VariantId,
            qty,
        )
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            if *is_gift {
                // A gift out of stock never blocks the order.
                continue;
            }
            let available = sqlx::query_scalar!(
                r#"SELECT on_hand - allocated AS "available!" FROM variants WHERE id = $1"#,
                *variant as VariantId
            )
            .fetch_optional(&mut *tx)
            .await?
            .unwrap_or(0);
            return Err(Error::OutOfStock {
                variant: *variant,
                sku: line.line.sku.clone(),
                line: Some(line.line.line_id.clone()),
                available: available.max(0),
            });
        }
        allocated.insert((*variant, *is_gift));
        movements.0.push(variant.0);
        movements.1.push(*qty);
    }
    let placed: Vec<&PricedLine> = cart
        .priced
        .lines
        .iter()
        .filter(|l| allocated.contains(&(l.line.variant_id, l.is_gift)))
        .collect();

    let actor = customer.or(cart.customer_id).map_or(Actor::Guest, Actor::Customer);
    let customer_id = customer.or(cart.customer_id);
    let coupon_id = match &cart.coupon_code {
        Some(code) => Some(use_coupon(&mut tx, code, customer_id, &input.email).await?),
        None => None,
    };

    let tax_free = placed
        .iter()
        .filter(|l| l.line.tax_free)
        .map(|l| l.line_total.get())
        .sum::<i64>();
    let tax_free = Won::new(if subtotal == Won::ZERO {
        0
    } else {
        tax_free
            - i64::try_from(i128::from(discount.get()) * i128::from(tax_free) / i128::from(subtotal.get())).unwrap_or(0)
    })
    .unwrap_or(Won::ZERO);
    let vat = total.checked_sub(tax_free).unwrap_or(Won::ZERO).vat_included();
    let id = OrderId::generate();
    let method = input.payment_method;
    let bank_transfer = method == PaymentMethod::BankTransfer;
    let bank = &settings.bank_transfer;
    let due = bank_transfer.then(|| now + Duration::days(bank.due_days));
    let a = &address;
    // A virtual account is issued in the depositor's name too.
    let depositor = method.is_deposit().then(|| {
        input
            .depositor_name
            .clone()
            .unwrap_or_else(|| input.orderer_name.chars().take(20).collect())
    });
    let status = if bank_transfer {
        "AWAITING_DEPOSIT"
    } else {
        "PENDING_PAYMENT"
    };
    let n = placed.len();
    let mut cols = LineColumns::with_capacity(n);
    for (i, l) in placed.iter().enumerate() {
        cols.push(i, l);
    }
    sqlx::query!(
        r#"WITH o AS (
               INSERT INTO orders (id, number, status, channel, channel_source, customer_id, email, phone,
                    orderer_name, recipient, recipient_phone, zonecode, road_address, jibun_address, building_name,
                    detail_address, delivery_note, payment_method, subtotal, discount, shipping_fee, total,
                    tax_free_amount, vat, coupon_id, coupon_code, idempotency_key, deposit_bank, deposit_account,
                    deposit_holder, deposit_due_at, cart_token_hash, depositor_name,
                    cash_receipt_type, cash_receipt_number)
               VALUES ($1, to_char(now() AT TIME ZONE 'Asia/Seoul', 'YYYYMMDD') || '-'
                           || lpad(((nextval('order_number_seq') - 1) % 999999 + 1)::text, 6, '0'),
                       $46, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                       $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $44, $45, $47, $48)
               RETURNING id),
           l AS (
               INSERT INTO order_lines (id, order_id, variant_id, product_id, product_name, variant_name, sku,
                                        unit_price, quantity, line_total, is_gift, tax_free, position)
               SELECT t.id, $1, t.variant_id, t.product_id, t.product_name, t.variant_name, t.sku, t.unit_price,
                      t.quantity, t.unit_price * t.quantity, t.is_gift, t.tax_free, t.position
                 FROM UNNEST($30::uuid[], $31::uuid[], $32::uuid[], $33::text[], $34::text[], $35::text[],
                             $36::int8[], $37::int4[], $38::bool[], $39::bool[], $40::int4[])
                      AS t (id, variant_id, product_id, product_name, variant_name, sku, unit_price, quantity,
                            is_gift, tax_free, position)),
           h AS (
               INSERT INTO order_history (order_id, from_status, to_status, actor, note)
               SELECT $1, f, t, $41, n
                 FROM (VALUES (1, NULL, 'PENDING_PAYMENT', 'order placed'),
                              (2, 'PENDING_PAYMENT', 'AWAITING_DEPOSIT', 'bank transfer: waiting for the deposit'))
                      AS v (i, f, t, n)
                WHERE i = 1 OR $46 = 'AWAITING_DEPOSIT'
                ORDER BY i),
           m AS (
               INSERT INTO stock_movements (variant_id, delta_allocated, reason, order_id, actor)
               SELECT v, q, 'ORDER_PLACED', $1, $41 FROM UNNEST($42::uuid[], $43::int4[]) AS t (v, q)),
           r AS (
               INSERT INTO coupon_redemptions (id, coupon_id, order_id, customer_id, email)
               SELECT gen_random_uuid(), $23, $1, $4, $5 WHERE $23::uuid IS NOT NULL),
           -- A bank transfer's "order placed" message with the account and due time, in the
           -- order's transaction (a gateway order's message waits for its payment).
           j AS (
               INSERT INTO jobs (id, kind, payload)
               SELECT $49, 'notify.order', jsonb_build_object('order', $1::uuid, 'status', 'AWAITING_DEPOSIT')
                WHERE $46 = 'AWAITING_DEPOSIT')
           SELECT id FROM o"#,
        id as OrderId,
        cart.channel,
        cart.channel_source,
        customer_id as Option<CustomerId>,
        input.email.as_str(),
        input.phone.as_str(),
        input.orderer_name,
        a.recipient,
        a.phone,
        a.zonecode,
        a.road_address,
        a.jibun_address,
        a.building_name,
        a.detail_address,
        input.delivery_note,
        input.payment_method.as_str(),
        subtotal.get(),
        discount.get(),
        shipping_fee.get(),
        total.get(),
        tax_free.get(),
        vat.get(),
        coupon_id,
        cart.coupon_code,
        input.idempotency_key,
        bank_transfer.then_some(bank.bank.as_str()),
        bank_transfer.then_some(bank.account_number.as_str()),
        bank_transfer.then_some(bank.holder.as_str()),
        due,
        &cols.ids,
        &cols.variants,
        &cols.products,
        &cols.product_names,
        &cols.variant_names,
        &cols.skus,
        &cols.prices,
        &cols.quantities,
        &cols.gifts,
        &cols.tax_free,
        &cols.positions,
        actor.label(),
        &movements.0,
        &movements.1,
        token_hash,
        depositor,
        status,
        input.cash_receipt.as_ref().map(|c| c.kind.as_str()),
        input.cash_receipt.as_ref().map(|c| c.number.as_str()),
        crate::ids::JobId::generate() as crate::ids::JobId,
    )
    .fetch_one(&mut *tx)
    .await?;
    if method == PaymentMethod::PortOne {
        crate::payment::session::open_portone(&mut tx, id, total).await?;
    }
    if !method.opens_at_gateway() {
        // KakaoPay and virtual accounts keep the cart until the gateway has answered.
        delete_cart(&mut tx, cart.id).await?;
    }
    tx.commit().await?;
    crate::metrics::order_placed(&cart.channel);
    tracing::info!(order = %id, lines = n, "order placed");
    Ok(id)
}

/// Deletes a cart that became an order.
pub(crate) async fn delete_cart(conn: &mut sqlx::PgConnection, id: crate::ids::CartId) -> Result<(), Error> {
    sqlx::query!("DELETE FROM carts WHERE id = $1", id as crate::ids::CartId)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The saved address `id` of the signed-in `customer`. Errors: `UNAUTHENTICATED` (a
/// guest), `NOT_FOUND` (no such address, or someone else's: the same answer).
async fn saved_address(
    conn: &mut sqlx::PgConnection,
    id: AddressId,
    customer: Option<CustomerId>,
) -> Result<PostalAddress, Error> {
    let customer = customer.ok_or(Error::Unauthenticated)?;
    let a = sqlx::query!(
        "SELECT recipient, phone, zonecode, road_address, jibun_address, building_name, detail_address
           FROM addresses WHERE id = $1 AND customer_id = $2",
        id as AddressId,
        customer as CustomerId,
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound { what: "address" })?;
    Ok(PostalAddress {
        recipient: a.recipient,
        phone: a.phone,
        zonecode: a.zonecode,
        road_address: a.road_address,
        jibun_address: a.jibun_address,
        building_name: a.building_name,
        detail_address: a.detail_address,
    })
}

/// Counts a coupon use, all conditions checked in the UPDATE itself; the per-customer
/// count is taken under a lock on (coupon, customer) so two orders can't both slip in.
async fn use_coupon(
    conn: &mut sqlx::PgConnection,
    code: &str,
    customer: Option<CustomerId>,
    email: &Email,
) -> Result<uuid::Uuid, Error> {
    let who = customer.map_or_else(|| email.as_str().to_owned(), |c| c.to_string());
    sqlx::query!(
        "SELECT pg_advisory_xact_lock(hashtextextended($1 || '/' || $2, 11))",
        code,
        who
    )
    .execute(&mut *conn)
    .await?;
    let r = sqlx::query!(
        r#"UPDATE coupons SET used_count = used_count + 1
            WHERE code = $1 AND active
              AND (usage_limit IS NULL OR used_count < usage_limit)
              AND (per_customer_limit IS NULL OR per_customer_limit > (
                   SELECT count(*) FROM coupon_redemptions r
                    WHERE r.coupon_id = coupons.id AND (r.customer_id = $2 OR r.email = $3)))
           RETURNING id, usage_limit IS NOT NULL AND used_count > usage_limit AS "over!""#,
        code,
        customer.map(|c| c.0),
        email.as_str(),
    )
    .fetch_optional(&mut *conn)
    .await?;
    match r {
        Some(r) => Ok(r.id),
        None => {
            let used_up = sqlx::query_scalar!(
                r#"SELECT usage_limit IS NOT NULL AND used_count >= usage_limit AS "used_up!" FROM coupons WHERE code = $1"#,
                code
            )
            .fetch_optional(&mut *conn)
            .await?;
            Err(Error::CouponInvalid(match used_up {
                None => CouponProblem::Unknown,
                Some(true) => CouponProblem::UsedUp,
                Some(false) => CouponProblem::PerCustomerLimit,
            }))
        }
    }
}

/// Order line columns for the `UNNEST` insert.
struct LineColumns {
    ids: Vec<uuid::Uuid>,
    variants: Vec<uuid::Uuid>,
    products: Vec<uuid::Uuid>,
    product_names: Vec<String>,
    variant_names: Vec<String>,
    skus: Vec<String>,
    prices: Vec<i64>,
    quantities: Vec<i32>,
    gifts: Vec<bool>,
    tax_free: Vec<bool>,
    positions: Vec<i32>,
}

impl LineColumns {
    fn with_capacity(n: usize) -> LineColumns {
        LineColumns {
            ids: Vec::with_capacity(n),
            variants: Vec::with_capacity(n),
            products: Vec::with_capacity(n),
            product_names: Vec::with_capacity(n),
            variant_names: Vec::with_capacity(n),
            skus: Vec::with_capacity(n),
            prices: Vec::with_capacity(n),
            quantities: Vec::with_capacity(n),
            gifts: Vec::with_capacity(n),
            tax_free: Vec::with_capacity(n),
            positions: Vec::with_capacity(n),
        }
    }

    fn push(&mut self, i: usize, l: &PricedLine) {
        self.ids.push(OrderLineId::generate().0);
        self.variants.push(l.line.variant_id.0);
        self.products.push(l.line.product_id.0);
        self.product_names.push(l.line.product_name.clone());
        self.variant_names.push(l.line.variant_name.clone());
        self.skus.push(l.line.sku.clone());
        self.prices.push(l.unit_price.get());
        self.quantities.push(l.line.quantity);
        self.gifts.push(l.is_gift);
        self.tax_free.push(l.line.tax_free);
        self.positions.push(i32::try_from(i).unwrap_or(i32::MAX));
    }
}
