-- The member base's counts (`customerStats`) without scanning every customer: triggers on
-- `customers` append signed counts per (tier, has a paid order, e-mail consent, SMS consent),
-- so a sign-up, a first purchase, a consent change or a tier move adds a row or two and
-- nobody waits on a shared counter. A read sums the rows; `stats::compact_customer_counts`
-- (the nightly prune, the seed and the rebuild) folds them into one row per key.
-- Expand-only: the previous release never reads this table, and its writes to `customers`
-- are counted by the triggers like ours.

CREATE TABLE customer_counts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tier            text NOT NULL,
    with_orders     boolean NOT NULL,
    marketing_email boolean NOT NULL,
    marketing_sms   boolean NOT NULL,
    n               bigint NOT NULL
);

-- Inserts and deletes: one statement's rows at once (a seed's COPY is one row per key).
CREATE FUNCTION customer_counts_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO customer_counts (tier, with_orders, marketing_email, marketing_sms, n)
    SELECT tier, paid_orders > 0, marketing_email, marketing_sms, count(*)
      FROM added GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END $$;

CREATE FUNCTION customer_counts_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO customer_counts (tier, with_orders, marketing_email, marketing_sms, n)
    SELECT tier, paid_orders > 0, marketing_email, marketing_sms, -count(*)
      FROM removed GROUP BY 1, 2, 3, 4;
    RETURN NULL;
END $$;

-- Updates: only rows whose key moves fire (the WHEN clause costs nothing otherwise), so the
-- payment path's `paid_orders + 1` after the first order, points and logins add nothing.
CREATE FUNCTION customer_counts_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO customer_counts (tier, with_orders, marketing_email, marketing_sms, n) VALUES
        (OLD.tier, OLD.paid_orders > 0, OLD.marketing_email, OLD.marketing_sms, -1),
        (NEW.tier, NEW.paid_orders > 0, NEW.marketing_email, NEW.marketing_sms, 1);
    RETURN NULL;
END $$;

CREATE FUNCTION customer_counts_emptied() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM customer_counts;
    RETURN NULL;
END $$;

CREATE TRIGGER customer_counts_added AFTER INSERT ON customers
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION customer_counts_added();
CREATE TRIGGER customer_counts_removed AFTER DELETE ON customers
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION customer_counts_removed();
CREATE TRIGGER customer_counts_moved AFTER UPDATE ON customers FOR EACH ROW
    WHEN (OLD.tier IS DISTINCT FROM NEW.tier
          OR (OLD.paid_orders > 0) IS DISTINCT FROM (NEW.paid_orders > 0)
          OR OLD.marketing_email IS DISTINCT FROM NEW.marketing_email
          OR OLD.marketing_sms IS DISTINCT FROM NEW.marketing_sms)
    EXECUTE FUNCTION customer_counts_moved();
CREATE TRIGGER customer_counts_emptied AFTER TRUNCATE ON customers
    FOR EACH STATEMENT EXECUTE FUNCTION customer_counts_emptied();

-- The customers there are now: CREATE TRIGGER locked out writers until this commits, so the
-- backfill and the triggers neither miss nor double a row.
INSERT INTO customer_counts (tier, with_orders, marketing_email, marketing_sms, n)
SELECT tier, paid_orders > 0, marketing_email, marketing_sms, count(*)
  FROM customers GROUP BY 1, 2, 3, 4;
