-- Member tiers as the database sees them (kept equal to settings `customers.tiers` by
-- `serve` and `worker` at start), and the ledger of points: a purchase confirmed earns the
-- member's tier rate of the goods paid for, once per order.

CREATE TABLE member_tiers (
    code        text PRIMARY KEY,
    name        text NOT NULL,
    threshold   bigint NOT NULL CHECK (threshold >= 0),
    points_rate integer NOT NULL CHECK (points_rate BETWEEN 0 AND 100),
    position    integer NOT NULL
);
INSERT INTO member_tiers (code, name, threshold, points_rate, position) VALUES
    ('BASIC', '일반', 0, 1, 0), ('SILVER', '실버', 150000, 2, 1), ('GOLD', '골드', 400000, 3, 2), ('VIP', 'VIP', 1000000, 5, 3);

CREATE TABLE point_movements (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    order_id    uuid REFERENCES orders (id) ON DELETE SET NULL,
    delta       bigint NOT NULL,
    reason      text NOT NULL CHECK (reason IN ('PURCHASE_CONFIRMED', 'USED', 'RESTORED', 'ADJUSTED')),
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX point_movements_once ON point_movements (order_id, reason) WHERE reason = 'PURCHASE_CONFIRMED';
CREATE INDEX point_movements_customer_idx ON point_movements (customer_id, created_at DESC);
