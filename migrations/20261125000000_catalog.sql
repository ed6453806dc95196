-- Catalog: categories (a tree), products, variants with stock, product images.
-- Forward-only; see migrations/README.md.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE categories (
    id          uuid PRIMARY KEY,
    parent_id   uuid REFERENCES categories (id) ON DELETE RESTRICT,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name        text NOT NULL CHECK (name <> ''),
    description text NOT NULL DEFAULT '',
    position    integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (parent_id IS DISTINCT FROM id)
);
CREATE INDEX categories_parent_idx ON categories (parent_id, position, name);

CREATE TABLE products (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name        text NOT NULL CHECK (name <> ''),
    description text NOT NULL DEFAULT '',  -- HTML
    category_id uuid REFERENCES categories (id) ON DELETE SET NULL,
    published   boolean NOT NULL DEFAULT false,
    tax_free    boolean NOT NULL DEFAULT false,
    -- Lowest variant price; kept by a trigger on variants so the PRICE listing has an index.
    price_min   bigint NOT NULL DEFAULT 0,
    -- What `search` matches: name and description text, lower-cased, tags stripped.
    search_text text GENERATED ALWAYS AS (
        lower(name || ' ' || regexp_replace(description, '<[^>]*>', ' ', 'g'))
    ) STORED,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- One index per listing order offered (storefront lists published products only);
-- each serves both directions.
CREATE INDEX products_newest_idx ON products (created_at, id) WHERE published;
CREATE INDEX products_price_idx ON products (price_min, id) WHERE published;
CREATE INDEX products_name_idx ON products (name, id) WHERE published;
CREATE INDEX products_category_idx ON products (category_id, created_at, id) WHERE published;
-- Substring search for Hangul ("단백" in "고단백 쉐이크"): trigram GIN.
CREATE INDEX products_search_idx ON products USING gin (search_text gin_trgm_ops);

CREATE TABLE product_images (
    id         uuid PRIMARY KEY,
    product_id uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    url        text NOT NULL CHECK (url <> ''),
    alt        text NOT NULL DEFAULT '',
    position   integer NOT NULL DEFAULT 0
);
CREATE INDEX product_images_product_idx ON product_images (product_id, position);

CREATE TABLE variants (
    id               uuid PRIMARY KEY,
    product_id       uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    sku              text NOT NULL UNIQUE CHECK (sku <> ''),
    name             text NOT NULL DEFAULT '',
    -- [{"name": "맛", "value": "초코"}, …] in the product's option order.
    options          jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(options) = 'array'),
    price            bigint NOT NULL CHECK (price >= 0),
    compare_at_price bigint CHECK (compare_at_price >= 0),
    on_hand          integer NOT NULL DEFAULT 0 CHECK (on_hand >= 0),
    allocated        integer NOT NULL DEFAULT 0 CHECK (allocated >= 0 AND allocated <= on_hand),
    position         integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX variants_product_idx ON variants (product_id, position);
-- `inStock` filter: products with some available variant.
CREATE INDEX variants_available_idx ON variants (product_id) WHERE on_hand > allocated;

CREATE FUNCTION products_refresh_price_min() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pid uuid;
BEGIN
    FOR pid IN
        SELECT DISTINCT x FROM unnest(ARRAY[
            CASE WHEN TG_OP <> 'INSERT' THEN OLD.product_id END,
            CASE WHEN TG_OP <> 'DELETE' THEN NEW.product_id END]) AS x
        WHERE x IS NOT NULL
    LOOP
        UPDATE products
           SET price_min = COALESCE((SELECT min(price) FROM variants WHERE product_id = pid), 0)
         WHERE id = pid;
    END LOOP;
    RETURN NULL;
END $$;

-- Only price changes touch products: stock updates on checkout must stay one-row writes.
CREATE TRIGGER variants_price_min
    AFTER INSERT OR DELETE OR UPDATE OF price, product_id ON variants
    FOR EACH ROW EXECUTE FUNCTION products_refresh_price_min();
