-- Customer inquiries (1:1 문의) and their answers, e-mailed to `email`; and single-use
-- password reset links (only a SHA-256 of the token is stored).

CREATE TABLE inquiries (
    id           uuid PRIMARY KEY,
    -- NULL for a guest's inquiry (and once a member's account is gone).
    customer_id  uuid REFERENCES customers (id) ON DELETE SET NULL,
    order_id     uuid REFERENCES orders (id) ON DELETE SET NULL,
    -- Where the answer goes: the member's account e-mail, or the guest's order's e-mail.
    email        text NOT NULL,
    name         text NOT NULL,
    category     text NOT NULL CHECK (category IN ('ORDER', 'DELIVERY', 'RETURN', 'PRODUCT', 'ACCOUNT', 'OTHER')),
    title        text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 100),
    body         text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 5000),
    status       text NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'ANSWERED')),
    answer       text CHECK (char_length(answer) BETWEEN 1 AND 5000),
    answered_by  uuid REFERENCES staff (id),
    answered_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'ANSWERED') = (answer IS NOT NULL AND answered_at IS NOT NULL))
);
-- `me { inquiries }`, newest first.
CREATE INDEX inquiries_customer_idx ON inquiries (customer_id, created_at DESC, id DESC) WHERE customer_id IS NOT NULL;
-- Admin `inquiries`, newest first, with and without a status filter.
CREATE INDEX inquiries_status_idx ON inquiries (status, created_at DESC, id DESC);
CREATE INDEX inquiries_list_idx ON inquiries (created_at DESC, id DESC);

CREATE TABLE password_resets (
    token_hash  bytea PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX password_resets_customer_idx ON password_resets (customer_id);
