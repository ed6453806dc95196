-- The order page and the customer's own actions on it (issue 9):
-- * 입금자명: the name a bank-transfer deposit is expected under, for staff to match it.
-- * When a shipment was delivered (the order page shows it per shipment). Shipments of
--   orders delivered before this read their time from the order's history.
-- * The account a guest's paid bank transfer is refunded to (personal data: staff only).
-- * Return requests (청약철회) with the lines they are about.
ALTER TABLE orders ADD COLUMN depositor_name text CHECK (char_length(depositor_name) BETWEEN 1 AND 20);

ALTER TABLE shipments ADD COLUMN delivered_at timestamptz;
UPDATE shipments s
   SET delivered_at = h.at, status = 'DELIVERED'
  FROM (SELECT order_id, min(created_at) AS at FROM order_history
         WHERE from_status = 'SHIPPED' AND to_status = 'DELIVERED' GROUP BY order_id) h
 WHERE h.order_id = s.order_id AND s.delivered_at IS NULL;

ALTER TABLE refunds
    ADD COLUMN account_bank   text,
    ADD COLUMN account_number text,
    ADD COLUMN account_holder text,
    ADD CONSTRAINT refunds_account_whole
        CHECK ((account_bank IS NULL) = (account_number IS NULL) AND (account_bank IS NULL) = (account_holder IS NULL));

CREATE TABLE return_requests (
    id         uuid PRIMARY KEY,
    order_id   uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    reason     text NOT NULL CHECK (reason <> ''),
    actor      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX return_requests_order_idx ON return_requests (order_id, created_at);

CREATE TABLE return_request_lines (
    return_request_id uuid NOT NULL REFERENCES return_requests (id) ON DELETE CASCADE,
    order_line_id     uuid NOT NULL REFERENCES order_lines (id) ON DELETE CASCADE,
    PRIMARY KEY (return_request_id, order_line_id)
);
