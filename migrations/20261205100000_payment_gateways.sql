-- Korean payment gateways (Toss Payments, KakaoPay, PortOne V2) and Toss virtual accounts.
-- Expand-only: the previous release ignores the new columns and tables.

-- A confirmation in flight claims its order until this time, so a second click waits for
-- the first's answer instead of charging again, and expiry leaves the order alone.
ALTER TABLE orders
    ADD COLUMN payment_claimed_until timestamptz,
    -- 현금영수증 asked at checkout (bank transfer, virtual account); the number is personal data.
    ADD COLUMN cash_receipt_type   text CHECK (cash_receipt_type IN ('INCOME_DEDUCTION', 'EXPENDITURE_PROOF')),
    ADD COLUMN cash_receipt_number text;
CREATE INDEX orders_pending_payment_idx ON orders (created_at) WHERE status = 'PENDING_PAYMENT';

-- One row per gateway attempt: a session opened at checkout (KakaoPay tid, PortOne
-- paymentId, Toss virtual account), or a Toss paymentKey confirmed.
ALTER TABLE payments
    ADD COLUMN failure_code     text,
    ADD COLUMN failure_message  text,
    ADD COLUMN paid_at          timestamptz,
    ADD COLUMN receipt_url      text,
    ADD COLUMN cancelled_amount bigint NOT NULL DEFAULT 0 CHECK (cancelled_amount >= 0),
    -- SHA-256 of a virtual account's deposit-callback secret (Toss `secret`).
    ADD COLUMN secret_hash      bytea,
    -- What the storefront needs to open the gateway (KakaoPay's redirect URLs).
    ADD COLUMN session          jsonb,
    ADD COLUMN updated_at       timestamptz NOT NULL DEFAULT now();
CREATE UNIQUE INDEX payments_provider_id_key ON payments (provider, provider_id) WHERE provider_id IS NOT NULL;

-- A refund made at a gateway carries the gateway's transaction key.
ALTER TABLE refunds
    ADD COLUMN provider        text,
    ADD COLUMN transaction_key text,
    ADD COLUMN tax_free_amount bigint NOT NULL DEFAULT 0 CHECK (tax_free_amount >= 0);

-- Every gateway webhook delivery, by the gateway's own event id: a repeat is a no-op.
CREATE TABLE webhook_events (
    provider    text NOT NULL,
    event_id    text NOT NULL,
    event_type  text NOT NULL,
    order_id    uuid REFERENCES orders (id) ON DELETE SET NULL,
    outcome     text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, event_id)
);

-- Money that arrived for an order that could not take it (a deposit after expiry, a wrong
-- amount, a gateway approval of an expired order): kept for staff to refund.
ALTER TABLE deposits_after_expiry
    ADD COLUMN provider  text NOT NULL DEFAULT 'BANK_TRANSFER',
    ADD COLUMN reference text,
    ADD COLUMN reason    text NOT NULL DEFAULT 'EXPIRED' CHECK (reason IN ('EXPIRED', 'AMOUNT_MISMATCH', 'NOT_PAYABLE')),
    ADD COLUMN refunded  boolean NOT NULL DEFAULT false;
