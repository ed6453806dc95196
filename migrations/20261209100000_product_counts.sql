-- How many products are published, kept by triggers on `products`, so the storefront
-- listing's unfiltered `totalCount` reads one row instead of counting the catalog at every
-- request (a sixth of the listing statement's time at 1,000 products, more as it grows).
-- One row, not appended deltas as in `customer_counts`: products are written by staff, a
-- few at a time, so waiting on the row costs nobody; the storefront reads it far more often.
-- Expand-only: the previous release never reads this table, and its writes to `products`
-- are counted by the triggers like ours.

CREATE TABLE product_counts (
    only_row  boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    published bigint NOT NULL CHECK (published >= 0)
);

-- Inserts and deletes: one statement's rows at once (a bulk seed is one statement). A
-- statement that adds or removes no published product (a draft) leaves the row alone.
CREATE FUNCTION product_counts_added() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n bigint := (SELECT count(*) FROM added WHERE published);
BEGIN
    IF n <> 0 THEN
        UPDATE product_counts SET published = published + n;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION product_counts_removed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n bigint := (SELECT count(*) FROM removed WHERE published);
BEGIN
    IF n <> 0 THEN
        UPDATE product_counts SET published = published - n;
    END IF;
    RETURN NULL;
END $$;

-- Updates: only a publish or an unpublish fires (the WHEN clause costs nothing otherwise),
-- so a price or name change adds no write.
CREATE FUNCTION product_counts_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE product_counts SET published = published + CASE WHEN NEW.published THEN 1 ELSE -1 END;
    RETURN NULL;
END $$;

CREATE FUNCTION product_counts_emptied() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE product_counts SET published = 0;
    RETURN NULL;
END $$;

CREATE TRIGGER product_counts_added AFTER INSERT ON products
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION product_counts_added();
CREATE TRIGGER product_counts_removed AFTER DELETE ON products
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION product_counts_removed();
CREATE TRIGGER product_counts_moved AFTER UPDATE ON products FOR EACH ROW
    WHEN (OLD.published IS DISTINCT FROM NEW.published)
    EXECUTE FUNCTION product_counts_moved();
CREATE TRIGGER product_counts_emptied AFTER TRUNCATE ON products
    FOR EACH STATEMENT EXECUTE FUNCTION product_counts_emptied();

-- The products there are now: CREATE TRIGGER locked out writers until this commits, so the
-- backfill and the triggers neither miss nor double a row.
INSERT INTO product_counts (published) SELECT count(*) FROM products WHERE published;
