-- Staff accounts with TOTP two-factor login, sessions and the audit log (DESIGN.md §3, §6).

CREATE TABLE staff (
    id              uuid PRIMARY KEY,
    email           text NOT NULL UNIQUE CHECK (email = lower(email) AND email LIKE '%_@_%'),
    name            text NOT NULL CHECK (name <> ''),
    role            text NOT NULL CHECK (role IN ('OWNER', 'MANAGER', 'CS', 'BOT')),
    password_hash   text NOT NULL,
    -- XChaCha20-Poly1305 nonce || ciphertext of the TOTP secret, bound to the staff id.
    totp_secret     bytea,
    totp_enabled_at timestamptz,
    -- The last accepted TOTP time step: a step is never accepted twice.
    totp_last_step  bigint,
    slack_user_id   text UNIQUE,
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE staff_recovery_codes (
    id        uuid PRIMARY KEY,
    staff_id  uuid NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    code_hash bytea NOT NULL,
    used_at   timestamptz,
    UNIQUE (staff_id, code_hash)
);

-- After the password, before the second factor: short-lived, single use.
CREATE TABLE staff_challenges (
    token_hash bytea PRIMARY KEY,
    staff_id   uuid NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE TABLE staff_sessions (
    token_hash          bytea PRIMARY KEY,
    staff_id            uuid NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    kind                text NOT NULL DEFAULT 'SESSION' CHECK (kind IN ('SESSION', 'BOT')),
    created_at          timestamptz NOT NULL DEFAULT now(),
    last_seen_at        timestamptz NOT NULL DEFAULT now(),
    absolute_expires_at timestamptz,
    revoked_at          timestamptz
);
CREATE INDEX staff_sessions_staff_idx ON staff_sessions (staff_id);

CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    staff_id   uuid REFERENCES staff (id) ON DELETE SET NULL,
    action     text NOT NULL,
    target     text NOT NULL DEFAULT '',
    summary    jsonb NOT NULL DEFAULT '{}',
    ip         text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_created_idx ON audit_log (created_at DESC, id DESC);
CREATE INDEX audit_log_staff_idx ON audit_log (staff_id, created_at DESC);
