-- Product media (issue 14): pictures staff upload or import, stored by the service (local
-- disk or S3) with their thumbnails, or an outside URL (the images of before, kept as they
-- were). Expand-only: `product_images` stays for the release still running; this release
-- reads and writes `media` and `product_media`; a later release drops `product_images`.

CREATE TABLE media (
    id           uuid PRIMARY KEY,
    -- LOCAL (media.dir), S3 (media.s3.bucket) or EXTERNAL (an outside URL, no renditions).
    storage      text NOT NULL CHECK (storage IN ('LOCAL', 'S3', 'EXTERNAL')),
    -- The original's key in the store, `{hex id}/original.{jpg|png|webp}`; the thumbnails sit
    -- beside it (`w320.webp`, `w320.jpg`). NULL for EXTERNAL.
    key          text CHECK (key ~ '^[0-9a-f]{32}/original\.(jpg|png|webp)$'),
    -- EXTERNAL only: where the picture is.
    url          text CHECK (url <> ''),
    content_type text,
    width        integer CHECK (width > 0),
    height       integer CHECK (height > 0),
    bytes        bigint CHECK (bytes >= 0),
    alt          text NOT NULL DEFAULT '',
    -- Thumbnail widths that exist (each as WebP and JPEG), ascending; only widths below the
    -- original's.
    widths       integer[] NOT NULL DEFAULT '{}',
    created_by   uuid REFERENCES staff (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((storage = 'EXTERNAL') = (url IS NOT NULL) AND (storage = 'EXTERNAL') = (key IS NULL))
);
CREATE INDEX media_created_idx ON media (created_at DESC, id DESC);

-- A product's pictures in order. A picture in use can't be deleted (RESTRICT): mediaDelete
-- refuses with MEDIA_IN_USE.
CREATE TABLE product_media (
    product_id uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    media_id   uuid NOT NULL REFERENCES media (id) ON DELETE RESTRICT,
    position   integer NOT NULL,
    PRIMARY KEY (product_id, media_id)
);
CREATE INDEX product_media_order_idx ON product_media (product_id, position);
CREATE INDEX product_media_media_idx ON product_media (media_id);

-- A variant's own picture (Variant.image); NULL: its product's first.
ALTER TABLE variants ADD COLUMN media_id uuid REFERENCES media (id) ON DELETE RESTRICT;
CREATE INDEX variants_media_idx ON variants (media_id) WHERE media_id IS NOT NULL;

-- The images of before become EXTERNAL media with the same ids, in the same order.
INSERT INTO media (id, storage, url, alt, created_at)
SELECT id, 'EXTERNAL', url, alt, now() FROM product_images;
INSERT INTO product_media (product_id, media_id, position)
SELECT product_id, id, row_number() OVER (PARTITION BY product_id ORDER BY position, id) - 1
  FROM product_images;

-- The storefront shows these rows: every replica's catalog cache drops on a change
-- (20261208110000_catalog_notify.sql).
CREATE TRIGGER catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON media
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
CREATE TRIGGER catalog_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON product_media
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_changed();
