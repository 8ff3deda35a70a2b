-- chatstate's record of persistent sessions. These tables are a contract with reporting
-- consumers: change them only by a new numbered migration and a CHANGELOG entry.

-- One row per persistent session: the latest, fully applied state.
CREATE TABLE sessions (
    persistent_session_id        uuid PRIMARY KEY,
    status                       text NOT NULL
        CHECK (status IN ('active', 'idle', 'expired', 'archived', 'closed')),
    version                      bigint NOT NULL CHECK (version >= 0),  -- +1 per applied change
    customer_id_hashed           text CHECK (customer_id_hashed ~ '^[0-9a-f]{64}$'),
    previous_session_id          uuid,      -- the expired session this one continues
    current_conversation_id      uuid,      -- the conversation to resume
    resumed_from_conversation_id uuid,      -- audit tag: the old conversation it resumed from
    latest_snapshot              jsonb,     -- PII already redacted
    latest_snapshot_at           timestamptz,
    latest_snapshot_content_id   text,
    last_interaction_at          timestamptz,
    expires_at                   timestamptz,
    created_at                   timestamptz NOT NULL,
    updated_at                   timestamptz NOT NULL
);
CREATE INDEX sessions_expiry_scan ON sessions (expires_at) WHERE status IN ('active', 'idle');
CREATE INDEX sessions_by_customer ON sessions (customer_id_hashed);

-- Sessions the HTTP API issued. The partial unique index is what makes two tabs asking at the
-- same moment get the same session: the database decides, not timing.
CREATE TABLE issued_sessions (
    persistent_session_id uuid PRIMARY KEY,
    customer_id_hashed    text NOT NULL CHECK (customer_id_hashed ~ '^[0-9a-f]{64}$'),
    previous_session_id   uuid,
    issued_at             timestamptz NOT NULL,
    superseded_at         timestamptz
);
CREATE UNIQUE INDEX issued_sessions_one_current
    ON issued_sessions (customer_id_hashed) WHERE superseded_at IS NULL;

-- Every Genesys conversation a session has had.
CREATE TABLE session_conversations (
    conversation_id              uuid PRIMARY KEY,
    persistent_session_id        uuid NOT NULL REFERENCES sessions ON DELETE CASCADE,
    state                        text NOT NULL CHECK (state IN ('live', 'ended')),
    media_type                   text,
    queue_id                     text,
    started_at                   timestamptz,
    ended_at                     timestamptz,
    disconnect_type              text,
    resumed_from_conversation_id uuid,
    concurrent_with              uuid,      -- another conversation of the session was live
    first_seen_at                timestamptz NOT NULL,
    updated_at                   timestamptz NOT NULL
);
CREATE INDEX session_conversations_by_session ON session_conversations (persistent_session_id);
CREATE INDEX session_conversations_live ON session_conversations (first_seen_at)
    WHERE state = 'live';

-- Snapshot history: every accepted snapshot, including ones too old to become the latest.
CREATE TABLE snapshots (
    snapshot_id           bigserial PRIMARY KEY,
    persistent_session_id uuid NOT NULL REFERENCES sessions ON DELETE CASCADE,
    conversation_id       uuid,
    snapshot_at           timestamptz NOT NULL,   -- the data action's own timestamp
    received_at           timestamptz NOT NULL,
    source_id             text NOT NULL UNIQUE,   -- the source record: a replay is a no-op
    state                 jsonb NOT NULL,
    custom_properties     jsonb,
    pii_findings          jsonb NOT NULL DEFAULT '[]',  -- paths and kinds, never values
    committed_at          timestamptz NOT NULL DEFAULT clock_timestamp()  -- for latency figures
);
CREATE INDEX snapshots_by_session ON snapshots (persistent_session_id, snapshot_at DESC);

-- Genesys events whose conversation has no known session yet. Stage 1 parks them here; they
-- are forwarded when the mapping becomes known, and alert as unmapped after the grace period.
CREATE TABLE unmapped_conversations (
    conversation_id uuid PRIMARY KEY,
    first_seen_at   timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL,
    observations    jsonb NOT NULL,     -- normalised observations, oldest first (bounded)
    dropped         integer NOT NULL DEFAULT 0
);

-- Records to publish after the transaction that produced them committed (transactional
-- outbox): a crash between commit and produce re-sends them instead of losing them.
CREATE TABLE outbox (
    outbox_id  bigserial PRIMARY KEY,
    topic      text NOT NULL,
    key        bytea,
    value      bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Kafka positions committed in the same transaction as the rows they produced.
CREATE TABLE consumer_positions (
    consumer    text NOT NULL,
    topic       text NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (consumer, topic, partition)
);

-- Alerts already raised, by dedup key: on-call never gets the same alert twice.
CREATE TABLE alert_log (
    dedup_key   text PRIMARY KEY,
    alert_type  text NOT NULL,
    subject     text NOT NULL,
    first_at    timestamptz NOT NULL,
    last_at     timestamptz NOT NULL,
    occurrences integer NOT NULL DEFAULT 1
);
