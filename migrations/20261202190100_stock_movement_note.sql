-- Why staff adjusted stock (`stockMovements.note`), apart from who (`actor`): adjustments
-- used to write `staff:stf_…: <reason>` into `actor`; the listing still reads those.
ALTER TABLE stock_movements ADD COLUMN note text NOT NULL DEFAULT '';
