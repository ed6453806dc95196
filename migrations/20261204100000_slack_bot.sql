-- What the service keeps for the Slack bot (issue 11). Additive only: the previous release
-- runs against it unchanged.
--
-- * Staff are linked to Slack users (`staff.slack_user_id`, UNIQUE since the staff
--   migration): Slack ids are `U…` or `W…` and upper-case.
-- * The audit log marks what a staff member did through the Slack bot: `via_bot` is the
--   bot account's staff id (no foreign key: the mark outlives the bot's row).
-- * Run claims: one row per (name, period), so of two bot replicas exactly one posts the
--   daily report or an alert (`botRunClaim`).
-- * Slack threads by key (a Sentry issue): the first writer's (channel, ts) wins.
-- * Proactive alerts: a condition that holds has one open row (cleared_at IS NULL) per
--   (kind, key), kept unique by the partial index however many pollers evaluate at once.
-- * Deposits that arrived for an expired order, which staff report with
--   `orderMarkDeposited` (refused: the order's stock was released), for the alert.
ALTER TABLE staff ADD CONSTRAINT staff_slack_user_id_check CHECK (slack_user_id ~ '^[UW][A-Z0-9]{2,20}$');

ALTER TABLE audit_log ADD COLUMN via_bot uuid;

CREATE TABLE bot_run_claims (
    name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    period     text NOT NULL CHECK (char_length(period) BETWEEN 1 AND 100),
    claimed_by uuid REFERENCES staff (id) ON DELETE SET NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, period)
);

CREATE TABLE bot_threads (
    key        text PRIMARY KEY CHECK (char_length(key) BETWEEN 1 AND 200),
    channel    text NOT NULL CHECK (char_length(channel) BETWEEN 1 AND 100),
    ts         text NOT NULL CHECK (char_length(ts) BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE alerts (
    id           uuid PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('LOW_STOCK', 'SOLD_OUT', 'PAYMENT_FAILURES', 'ORDERS_BELOW_USUAL',
                                               'DEPOSIT_AFTER_EXPIRY', 'STAFF_LOCKED')),
    key          text NOT NULL,
    severity     text NOT NULL CHECK (severity IN ('INFO', 'WARNING', 'CRITICAL')),
    title        text NOT NULL,
    detail       text NOT NULL,
    order_number text,
    variant_id   uuid,
    sku          text,
    raised_at    timestamptz NOT NULL DEFAULT now(),
    cleared_at   timestamptz
);
CREATE UNIQUE INDEX alerts_open_key ON alerts (kind, key) WHERE cleared_at IS NULL;
CREATE INDEX alerts_cleared_idx ON alerts (cleared_at) WHERE cleared_at IS NOT NULL;

CREATE TABLE deposits_after_expiry (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id   uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    amount     bigint NOT NULL CHECK (amount >= 0),
    staff_id   uuid REFERENCES staff (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deposits_after_expiry_created_idx ON deposits_after_expiry (created_at);

-- The alert conditions, each read through a small index: variants at or under their
-- threshold, recent failed payments, recent expiries.
CREATE INDEX variants_low_stock_idx ON variants (product_id) WHERE on_hand - allocated <= low_stock_threshold;
CREATE INDEX payments_failed_idx ON payments (created_at) WHERE status = 'FAILED';
CREATE INDEX order_history_expired_idx ON order_history (created_at) WHERE to_status = 'EXPIRED';
