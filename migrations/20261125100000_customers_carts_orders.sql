-- Customers, carts, promotions (gift rules, coupons), orders with their history, stock
-- movements, bank-transfer payments and refunds. Forward-only.

CREATE TABLE customers (
    id                  uuid PRIMARY KEY,
    email               text NOT NULL CHECK (email = lower(email) AND email LIKE '%_@_%'),
    password_hash       text NOT NULL,
    name                text NOT NULL CHECK (name <> ''),
    mobile              text NOT NULL CHECK (mobile ~ '^01[016789][0-9]{7,8}$'),
    terms_agreed_at     timestamptz NOT NULL,
    privacy_agreed_at   timestamptz NOT NULL,
    marketing_email     boolean NOT NULL DEFAULT false,
    marketing_email_at  timestamptz,
    marketing_sms       boolean NOT NULL DEFAULT false,
    marketing_sms_at    timestamptz,
    tier                text NOT NULL DEFAULT 'BASIC',
    points              bigint NOT NULL DEFAULT 0 CHECK (points >= 0),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX customers_email_key ON customers (email);

-- Access tokens: only a SHA-256 of the token is stored.
CREATE TABLE customer_sessions (
    token_hash  bytea PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX customer_sessions_customer_idx ON customer_sessions (customer_id);

-- Failed logins, per account and per IP, for throttling (pruned by age).
CREATE TABLE login_failures (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scope  text NOT NULL,           -- 'customer' | 'staff'
    key    text NOT NULL,           -- 'email:…' | 'ip:…'
    at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_key_idx ON login_failures (scope, key, at);

CREATE TABLE addresses (
    id             uuid PRIMARY KEY,
    customer_id    uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    recipient      text NOT NULL CHECK (recipient <> ''),
    phone          text NOT NULL,
    zonecode       text NOT NULL CHECK (zonecode ~ '^[0-9]{5}$'),
    road_address   text NOT NULL,
    jibun_address  text NOT NULL DEFAULT '',
    building_name  text NOT NULL DEFAULT '',
    detail_address text NOT NULL DEFAULT '',
    is_default     boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX addresses_customer_idx ON addresses (customer_id, created_at);
CREATE UNIQUE INDEX addresses_one_default ON addresses (customer_id) WHERE is_default;

-- The cart token is a bearer secret of an anonymous cart (like a cart id elsewhere); it is
-- stored as is so a customer's cart can be handed back to them at login.
CREATE TABLE carts (
    id             uuid PRIMARY KEY,
    token          text NOT NULL UNIQUE,
    customer_id    uuid REFERENCES customers (id) ON DELETE CASCADE,
    channel        text NOT NULL CHECK (channel IN ('PC_WEB', 'MOBILE_WEB', 'APP', 'EXTERNAL')),
    channel_source text,
    coupon_code    text,
    zonecode       text CHECK (zonecode ~ '^[0-9]{5}$'),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK ((channel = 'EXTERNAL') = (channel_source IS NOT NULL))
);
-- A logged-in customer has one cart.
CREATE UNIQUE INDEX carts_customer_key ON carts (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX carts_updated_idx ON carts (updated_at);

CREATE TABLE cart_lines (
    id         uuid PRIMARY KEY,
    cart_id    uuid NOT NULL REFERENCES carts (id) ON DELETE CASCADE,
    variant_id uuid NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    quantity   integer NOT NULL CHECK (quantity > 0),
    -- The price the customer saw when adding; checkout refuses a changed price once.
    unit_price bigint NOT NULL CHECK (unit_price >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (cart_id, variant_id)
);

-- Gift with purchase: when the condition holds, the gift joins the cart at ₩0.
CREATE TABLE gift_rules (
    id                  uuid PRIMARY KEY,
    name                text NOT NULL,
    active              boolean NOT NULL DEFAULT true,
    min_subtotal        bigint CHECK (min_subtotal >= 0),
    required_product_id uuid REFERENCES products (id) ON DELETE CASCADE,
    channel             text CHECK (channel IN ('PC_WEB', 'MOBILE_WEB', 'APP', 'EXTERNAL')),
    gift_variant_id     uuid NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    gift_quantity       integer NOT NULL DEFAULT 1 CHECK (gift_quantity > 0),
    starts_at           timestamptz,
    ends_at             timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE coupons (
    id                 uuid PRIMARY KEY,
    code               text NOT NULL UNIQUE CHECK (code = upper(code) AND code <> ''),
    name               text NOT NULL,
    kind               text NOT NULL CHECK (kind IN ('FIXED', 'PERCENT')),
    value              bigint NOT NULL CHECK (value > 0),     -- won, or percent (1–100)
    max_discount       bigint CHECK (max_discount > 0),       -- cap for PERCENT
    min_subtotal       bigint NOT NULL DEFAULT 0 CHECK (min_subtotal >= 0),
    starts_at          timestamptz,
    ends_at            timestamptz,
    usage_limit        integer CHECK (usage_limit > 0),
    per_customer_limit integer CHECK (per_customer_limit > 0),
    used_count         integer NOT NULL DEFAULT 0 CHECK (used_count >= 0),
    active             boolean NOT NULL DEFAULT true,
    created_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (kind <> 'PERCENT' OR value <= 100),
    CHECK (usage_limit IS NULL OR used_count <= usage_limit)
);

CREATE SEQUENCE order_number_seq;

CREATE TABLE orders (
    id               uuid PRIMARY KEY,
    number           text NOT NULL UNIQUE,
    status           text NOT NULL CHECK (status IN ('PENDING_PAYMENT', 'AWAITING_DEPOSIT', 'PAID', 'EXPIRED',
                         'PREPARING', 'SHIPPED', 'DELIVERED', 'COMPLETED', 'CANCELLED', 'RETURN_REQUESTED', 'RETURNED')),
    channel          text NOT NULL,
    channel_source   text,
    customer_id      uuid REFERENCES customers (id) ON DELETE SET NULL,
    email            text NOT NULL,
    phone            text NOT NULL,
    orderer_name     text NOT NULL,
    recipient        text NOT NULL,
    recipient_phone  text NOT NULL,
    zonecode         text NOT NULL,
    road_address     text NOT NULL,
    jibun_address    text NOT NULL DEFAULT '',
    building_name    text NOT NULL DEFAULT '',
    detail_address   text NOT NULL DEFAULT '',
    delivery_note    text NOT NULL DEFAULT '',
    payment_method   text NOT NULL,
    subtotal         bigint NOT NULL CHECK (subtotal >= 0),
    discount         bigint NOT NULL CHECK (discount >= 0),
    shipping_fee     bigint NOT NULL CHECK (shipping_fee >= 0),
    total            bigint NOT NULL CHECK (total >= 0),
    tax_free_amount  bigint NOT NULL CHECK (tax_free_amount >= 0),
    vat              bigint NOT NULL CHECK (vat >= 0),
    coupon_id        uuid REFERENCES coupons (id),
    coupon_code      text,
    idempotency_key  text UNIQUE,
    deposit_bank     text,
    deposit_account  text,
    deposit_holder   text,
    deposit_due_at   timestamptz,
    paid_at          timestamptz,
    cancelled_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (total = subtotal - discount + shipping_fee)
);
CREATE INDEX orders_customer_idx ON orders (customer_id, created_at DESC) WHERE customer_id IS NOT NULL;
CREATE INDEX orders_created_idx ON orders (created_at DESC);
CREATE INDEX orders_deposit_due_idx ON orders (deposit_due_at) WHERE status = 'AWAITING_DEPOSIT';

CREATE TABLE order_lines (
    id           uuid PRIMARY KEY,
    order_id     uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    variant_id   uuid REFERENCES variants (id) ON DELETE SET NULL,
    product_id   uuid REFERENCES products (id) ON DELETE SET NULL,
    product_name text NOT NULL,
    variant_name text NOT NULL,
    sku          text NOT NULL,
    unit_price   bigint NOT NULL CHECK (unit_price >= 0),
    quantity     integer NOT NULL CHECK (quantity > 0),
    line_total   bigint NOT NULL CHECK (line_total = unit_price * quantity),
    is_gift      boolean NOT NULL DEFAULT false,
    tax_free     boolean NOT NULL DEFAULT false,
    position     integer NOT NULL
);
CREATE INDEX order_lines_order_idx ON order_lines (order_id, position);
CREATE INDEX order_lines_variant_idx ON order_lines (variant_id);

-- Who moved an order from where to where, and when.
CREATE TABLE order_history (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id    uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    from_status text,
    to_status   text NOT NULL,
    actor       text NOT NULL,   -- 'customer:<id>' | 'guest' | 'staff:<id>' | 'system'
    note        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_history_order_idx ON order_history (order_id, id);

CREATE TABLE coupon_redemptions (
    id          uuid PRIMARY KEY,
    coupon_id   uuid NOT NULL REFERENCES coupons (id),
    order_id    uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    customer_id uuid REFERENCES customers (id) ON DELETE SET NULL,
    email       text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX coupon_redemptions_customer_idx ON coupon_redemptions (coupon_id, customer_id);
CREATE INDEX coupon_redemptions_email_idx ON coupon_redemptions (coupon_id, email);

-- Every stock change, in the transaction that makes it.
CREATE TABLE stock_movements (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    variant_id      uuid NOT NULL REFERENCES variants (id) ON DELETE CASCADE,
    delta_on_hand   integer NOT NULL DEFAULT 0,
    delta_allocated integer NOT NULL DEFAULT 0,
    reason          text NOT NULL,   -- ORDER_PLACED | ORDER_CANCELLED | PAYMENT_EXPIRED | ADJUSTMENT | …
    order_id        uuid REFERENCES orders (id) ON DELETE SET NULL,
    actor           text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stock_movements_variant_idx ON stock_movements (variant_id, id);
CREATE INDEX stock_movements_order_idx ON stock_movements (order_id);

-- One row per payment attempt or deposit.
CREATE TABLE payments (
    id              uuid PRIMARY KEY,
    order_id        uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    provider        text NOT NULL,          -- BANK_TRANSFER | TOSS | KAKAOPAY | PORTONE
    provider_id     text,
    method          text NOT NULL,
    amount          bigint NOT NULL CHECK (amount >= 0),
    status          text NOT NULL,          -- PAID | FAILED | CANCELLED …
    idempotency_key text UNIQUE,
    raw             jsonb,
    actor           text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payments_order_idx ON payments (order_id);

-- Refunds are their own rows, never edits of the order.
CREATE TABLE refunds (
    id          uuid PRIMARY KEY,
    order_id    uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    amount      bigint NOT NULL CHECK (amount > 0),
    reason      text NOT NULL DEFAULT '',
    status      text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DONE', 'FAILED')),
    actor       text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refunds_order_idx ON refunds (order_id);
