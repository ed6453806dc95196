-- Login throttling per (account, client address), race-free (issue 8): an attempt is
-- counted here BEFORE its password or code is checked, by one conditional upsert on the
-- pair's row, so no more than the allowed number of checks run however many arrive at
-- once. A success takes its attempt back. The account-wide lock (many addresses) and the
-- per-address bound are sums over these rows.
CREATE TABLE login_throttle (
    scope    text NOT NULL CHECK (scope IN ('customer', 'staff')),
    account  text NOT NULL,        -- the normalised e-mail tried (known or not)
    client   text NOT NULL,        -- the client address (IPv6: its /64); '' when unknown
    failures integer NOT NULL,     -- attempts counted in the window that did not succeed
    first_at timestamptz NOT NULL, -- the window of this pair starts here
    last_at  timestamptz NOT NULL,
    PRIMARY KEY (scope, account, client)
);
CREATE INDEX login_throttle_client_idx ON login_throttle (scope, client);

-- login_failures is no longer written; the previous release may still read it, so a later
-- migration drops it.

-- Recovery codes are stored as HMAC-SHA256 under a key derived from staff.totp_key
-- ('hmac-sha256'); codes made before are plain SHA-256 ('sha256', the default an older
-- release still writes) and keep working until used.
ALTER TABLE staff_recovery_codes
    ADD COLUMN scheme text NOT NULL DEFAULT 'sha256' CHECK (scheme IN ('sha256', 'hmac-sha256'));
