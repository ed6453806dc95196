-- The contract step of 20261208120000_media.sql: the releases since that one read and write
-- `media` and `product_media`, and none of the releases that may still be running reads or
-- writes `product_images` (its rows were copied to `media` then). Its trigger
-- (20261208110000_catalog_notify.sql) goes with it.
DROP TABLE product_images;
