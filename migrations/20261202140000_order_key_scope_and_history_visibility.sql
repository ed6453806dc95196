-- Idempotency keys belong to the cart that placed the order: a replay must come with the
-- same cart token (the cart row is deleted at checkout, so its token's SHA-256 is kept on
-- the order). Orders placed before this have none: their keys can no longer be replayed.
ALTER TABLE orders ADD COLUMN cart_token_hash bytea;

-- Which history notes the customer may read: their own words (a cancel reason they gave).
-- Staff notes and system texts stay internal. The default keeps a row written by the
-- previous release internal.
ALTER TABLE order_history ADD COLUMN note_for_customer boolean NOT NULL DEFAULT false;
UPDATE order_history SET note_for_customer = true WHERE actor = 'guest' OR actor LIKE 'customer:%';
