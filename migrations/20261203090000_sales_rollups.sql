-- Sales and member statistics (issue 10).
--
-- `sales_rollups` holds, per Seoul day, channel and cut, what was sold and refunded; the
-- transactions that pay an order or record a refund add to it (commerce::stats), so a
-- year's report reads a few thousand rows instead of a million orders. `dim` is the cut:
-- 'ALL' (key '': the whole day of a channel, with distinct orders), 'SKU' (key the line's
-- SKU), 'PRODUCT' (key the product id), 'CATEGORY' (key the category id, '' uncategorised).
-- Amounts are what the event added: an order's discount and shipping fee are spread over
-- its lines by value (largest remainder, so the cuts add up to the whole); a refund is
-- goods first, and only what exceeds the goods still unrefunded is shipping.
CREATE TABLE sales_rollups (
    dim              text NOT NULL CHECK (dim IN ('ALL', 'SKU', 'PRODUCT', 'CATEGORY')),
    day              date NOT NULL,
    -- '*': all channels together, what a report without a channel reads (a quarter of the rows).
    channel          text NOT NULL CHECK (channel IN ('PC_WEB', 'MOBILE_WEB', 'APP', 'EXTERNAL', '*')),
    key              text NOT NULL,
    -- The display name when the key was last sold (the catalog's current name wins).
    label            text NOT NULL,
    orders           bigint NOT NULL DEFAULT 0,
    units            bigint NOT NULL DEFAULT 0,
    gross            bigint NOT NULL DEFAULT 0,
    discounts        bigint NOT NULL DEFAULT 0,
    shipping         bigint NOT NULL DEFAULT 0,
    refunds          bigint NOT NULL DEFAULT 0,
    shipping_refunds bigint NOT NULL DEFAULT 0,
    -- A report reads one cut and one channel (or '*') over a range of days.
    PRIMARY KEY (dim, channel, day, key)
);

-- Members: how many paid orders a customer has, and when the first was paid; an order
-- keeps its place in its customer's sequence (1 = first purchase), so first-time and
-- repeat buyers of any period are read off the orders paid in it.
ALTER TABLE customers
    ADD COLUMN paid_orders   integer NOT NULL DEFAULT 0 CHECK (paid_orders >= 0),
    ADD COLUMN first_paid_at timestamptz;
ALTER TABLE orders ADD COLUMN customer_seq integer CHECK (customer_seq > 0);

-- Orders paid before this release: sequence them now.
WITH seq AS (
    SELECT id, row_number() OVER (PARTITION BY customer_id ORDER BY paid_at, id) AS n
      FROM orders WHERE customer_id IS NOT NULL AND paid_at IS NOT NULL)
UPDATE orders o SET customer_seq = seq.n FROM seq WHERE seq.id = o.id;
UPDATE customers c SET paid_orders = s.n, first_paid_at = s.first
  FROM (SELECT customer_id, count(*) AS n, min(paid_at) AS first FROM orders
         WHERE customer_id IS NOT NULL AND paid_at IS NOT NULL GROUP BY customer_id) s
 WHERE s.customer_id = c.id;

CREATE INDEX orders_member_paid_idx ON orders (paid_at) INCLUDE (customer_id, customer_seq)
    WHERE customer_id IS NOT NULL AND paid_at IS NOT NULL;
CREATE INDEX customers_created_idx ON customers (created_at);

-- Whether the rollups were filled from the orders already there (the first `serve` or
-- `jangteo stats rebuild` after this migration does it; `sales_rollups` is empty until then).
CREATE TABLE stats_state (
    singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    rebuilt_at   timestamptz
);
INSERT INTO stats_state (rebuilt_at)
SELECT CASE WHEN EXISTS (SELECT 1 FROM orders WHERE paid_at IS NOT NULL) THEN NULL ELSE now() END;
