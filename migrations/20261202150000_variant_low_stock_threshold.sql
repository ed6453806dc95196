-- Public stock (`Variant.stockStatus`): a variant with 1..=low_stock_threshold units available
-- reads LOW_STOCK ("품절 임박"); staff set the threshold per variant.
ALTER TABLE variants
    ADD COLUMN low_stock_threshold integer NOT NULL DEFAULT 5 CHECK (low_stock_threshold >= 0);
