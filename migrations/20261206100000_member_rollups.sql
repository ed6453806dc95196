-- Member statistics without counting distinct buyers at read time. Each member's paid
-- order keeps when its customer's previous paid order was paid (`prev_paid_at`): a period's
-- buyers are its orders whose previous one fell before the period (or that have none),
-- its repeat buyers the orders with `customer_seq >= 2` whose previous one was the first
-- purchase or fell before the period. `member_periods` keeps those counts per day, ISO
-- week and month, added to in the transaction that pays; a range's totals are read off the
-- orders with the same rule (the range's first day in place of the period's).
-- Expand-only: the previous release ignores both.

ALTER TABLE orders ADD COLUMN prev_paid_at timestamptz;

CREATE TABLE member_periods (
    granularity text   NOT NULL CHECK (granularity IN ('day', 'week', 'month')),
    period      date   NOT NULL,
    buyers      bigint NOT NULL DEFAULT 0,
    first_time  bigint NOT NULL DEFAULT 0,
    repeat      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (granularity, period)
);

WITH prev AS (
    SELECT id, lag(paid_at) OVER (PARTITION BY customer_id ORDER BY customer_seq) AS p
      FROM orders WHERE customer_id IS NOT NULL AND customer_seq IS NOT NULL)
UPDATE orders o SET prev_paid_at = prev.p FROM prev WHERE prev.id = o.id AND prev.p IS NOT NULL;

INSERT INTO member_periods (granularity, period, buyers, first_time, repeat)
SELECT g, p,
       count(*) FILTER (WHERE pd IS NULL OR date_trunc(g, pd) < p),
       count(*) FILTER (WHERE s = 1),
       count(*) FILTER (WHERE s >= 2 AND (s = 2 OR date_trunc(g, pd) < p))
  FROM (SELECT g, date_trunc(g, (paid_at AT TIME ZONE 'Asia/Seoul')::date)::date AS p,
               (prev_paid_at AT TIME ZONE 'Asia/Seoul')::date AS pd, customer_seq AS s
          FROM orders, (VALUES ('day'), ('week'), ('month')) AS gs (g)
         WHERE customer_id IS NOT NULL AND customer_seq IS NOT NULL AND paid_at IS NOT NULL) o
 GROUP BY g, p;

-- A range's totals: one index-only pass over its members' orders.
CREATE INDEX orders_member_totals_idx ON orders (paid_at) INCLUDE (customer_seq, prev_paid_at)
    WHERE customer_id IS NOT NULL AND paid_at IS NOT NULL;
