-- The back office's order and customer lists (issue 9):
-- * 직원 메모: an internal note on an order, never shown to the customer.
-- * Keyset indexes for each sort of the admin order list (created, updated, total; the
--   id breaks ties) and for a customer's orders and the customer list.
ALTER TABLE orders ADD COLUMN staff_memo text CHECK (char_length(staff_memo) BETWEEN 1 AND 2000);

CREATE INDEX orders_created_id_idx ON orders (created_at, id);
CREATE INDEX orders_updated_id_idx ON orders (updated_at, id);
CREATE INDEX orders_total_id_idx ON orders (total, id);
CREATE INDEX orders_customer_created_id_idx ON orders (customer_id, created_at, id) WHERE customer_id IS NOT NULL;
CREATE INDEX orders_status_created_idx ON orders (status, created_at, id);

CREATE INDEX customers_created_id_idx ON customers (created_at, id);
CREATE INDEX customers_name_id_idx ON customers (name, id);
