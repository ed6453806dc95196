-- The durable job queue (DESIGN.md §3 Jobs) and the log of every message sent.
-- A job is inserted in the transaction of the change that causes it; workers take due jobs
-- with FOR UPDATE SKIP LOCKED and hold a lease (`locked_until`) while they run them, so a
-- job whose worker died runs again once the lease has passed.

CREATE TABLE jobs (
    id           uuid PRIMARY KEY,
    kind         text NOT NULL CHECK (kind ~ '^[a-z_.]+$'),
    payload      jsonb NOT NULL DEFAULT '{}',
    state        text NOT NULL DEFAULT 'QUEUED' CHECK (state IN ('QUEUED', 'RUNNING', 'DONE', 'FAILED')),
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL DEFAULT 8 CHECK (max_attempts > 0),
    run_at       timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    locked_by    text,
    last_error   text,
    -- Schedules and "once per …" automations: one job per key, ever.
    dedup_key    text UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    CHECK ((state = 'RUNNING') = (locked_until IS NOT NULL))
);
CREATE INDEX jobs_due_idx ON jobs (run_at) WHERE state = 'QUEUED';
CREATE INDEX jobs_lease_idx ON jobs (locked_until) WHERE state = 'RUNNING';
CREATE INDEX jobs_list_idx ON jobs (created_at DESC, id DESC);
CREATE INDEX jobs_state_idx ON jobs (state, kind, created_at DESC);

-- Wakes idle workers when the inserting transaction commits (NOTIFY is transactional).
CREATE FUNCTION jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('jangteo_jobs', '');
    RETURN NULL;
END $$;
-- Per row, so a statement that inserts no job (a checkout by card) notifies nobody; the
-- notifications of one transaction fold into one.
CREATE TRIGGER jobs_notify AFTER INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION jobs_notify();

-- What was sent to whom, by which provider: a job retried after a crash skips what it
-- already sent (one row per job, channel and recipient).
CREATE TABLE messages (
    id           uuid PRIMARY KEY,
    job_id       uuid REFERENCES jobs (id) ON DELETE SET NULL,
    template     text NOT NULL,
    channel      text NOT NULL CHECK (channel IN ('EMAIL', 'SMS', 'LMS', 'ALIMTALK')),
    recipient    text NOT NULL,
    customer_id  uuid REFERENCES customers (id) ON DELETE SET NULL,
    order_id     uuid REFERENCES orders (id) ON DELETE SET NULL,
    subject      text NOT NULL DEFAULT '',
    marketing    boolean NOT NULL DEFAULT false,
    provider     text NOT NULL,
    provider_id  text,
    status       text NOT NULL CHECK (status IN ('SENT', 'FAILED')),
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX messages_once ON messages (job_id, channel, recipient) WHERE status = 'SENT';
CREATE INDEX messages_order_idx ON messages (order_id, created_at) WHERE order_id IS NOT NULL;
CREATE INDEX messages_customer_idx ON messages (customer_id, created_at) WHERE customer_id IS NOT NULL;

-- Running workers, so `serve` knows whether it must still expire unpaid orders itself.
CREATE TABLE workers (
    id         text PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT now(),
    seen_at    timestamptz NOT NULL DEFAULT now()
);

-- Delivery tracking through Sweet Tracker: its carrier code, and what it last said.
ALTER TABLE carriers ADD COLUMN sweettracker_code text;
UPDATE carriers SET sweettracker_code = v.code
  FROM (VALUES ('CJ', '04'), ('EPOST', '01'), ('HANJIN', '05'), ('LOTTE', '08'), ('LOGEN', '06')) AS v (carrier, code)
 WHERE carriers.code = v.carrier;
ALTER TABLE shipments ADD COLUMN tracking_level smallint CHECK (tracking_level BETWEEN 1 AND 6);
ALTER TABLE shipments ADD COLUMN tracked_at timestamptz;
CREATE INDEX shipments_in_transit_idx ON shipments (tracked_at NULLS FIRST) WHERE status = 'IN_TRANSIT';

-- The dormant-account policy (off by default): when a member was marked dormant.
ALTER TABLE customers ADD COLUMN dormant_at timestamptz;
