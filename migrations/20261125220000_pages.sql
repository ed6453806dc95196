-- CMS pages and notices. The body is HTML sanitized on save (ammonia allow-list).

CREATE TABLE pages (
    id         uuid PRIMARY KEY,
    slug       text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    kind       text NOT NULL DEFAULT 'PAGE' CHECK (kind IN ('PAGE', 'NOTICE')),
    title      text NOT NULL CHECK (title <> ''),
    body       text NOT NULL DEFAULT '',
    published  boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pages_published_idx ON pages (kind, updated_at DESC) WHERE published;
