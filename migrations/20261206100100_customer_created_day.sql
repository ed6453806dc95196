-- Sign-ups per Seoul day without converting every customer's time at read time: the
-- member report groups this column's index (days, then weeks or months of them).
-- Expand-only: the previous release ignores it.
ALTER TABLE customers ADD COLUMN created_day date
    GENERATED ALWAYS AS ((created_at AT TIME ZONE 'Asia/Seoul')::date) STORED;
CREATE INDEX customers_created_day_idx ON customers (created_day);
