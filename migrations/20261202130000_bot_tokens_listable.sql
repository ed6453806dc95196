-- Bot tokens are listed and revoked by an id, show who made them, and may expire
-- (absolute_expires_at, which now holds for bot tokens too). Every session row gets an id
-- by default, so the previous release's inserts keep working.
ALTER TABLE staff_sessions ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE staff_sessions ADD CONSTRAINT staff_sessions_id_key UNIQUE (id);
ALTER TABLE staff_sessions ADD COLUMN created_by uuid REFERENCES staff (id) ON DELETE SET NULL;
CREATE INDEX staff_sessions_bot_idx ON staff_sessions (created_at DESC, id DESC) WHERE kind = 'BOT';
