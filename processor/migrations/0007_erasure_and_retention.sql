-- Erasure and retention (issue 17). Data that ends when it must: a customer's erasure request
-- and the purge after retention delete rows and leave a tombstone on chat.sessions.

-- One row per erasure request: the audit trail. When, by whom (an API client id, or cli:<user>),
-- how many sessions and rows; never the customer hash.
CREATE TABLE erasures (
    erasure_id      uuid PRIMARY KEY,
    requested_at    timestamptz NOT NULL,
    requested_by    text NOT NULL,
    sessions        integer NOT NULL CHECK (sessions >= 0),   -- sessions the request found
    sessions_erased integer NOT NULL DEFAULT 0,
    rows_deleted    bigint NOT NULL DEFAULT 0,
    completed_at    timestamptz                                -- NULL: still pending
);

-- An erasure's progress, one row per session it found, named by digest (sha256 of
-- 'session:<id>'), not by id: the worker marks each as its partition applies the erasure.
CREATE TABLE erasure_sessions (
    erasure_id     uuid NOT NULL REFERENCES erasures ON DELETE CASCADE,
    session_digest text NOT NULL,
    erased_at      timestamptz,
    rows_deleted   integer,
    PRIMARY KEY (erasure_id, session_digest)
);
CREATE INDEX erasure_sessions_pending ON erasure_sessions (session_digest)
    WHERE erased_at IS NULL;

-- The deny list: digests of erased session ids ('session:<id>') and customer hashes
-- ('customer:<hash>'). An update of an erased session is refused; a new session whose first
-- update names an erased customer with an event from before the erasure is refused too.
CREATE TABLE erased_ids (
    digest     text PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('session', 'customer')),
    erased_at  timestamptz NOT NULL,
    erasure_id uuid NOT NULL
);

-- A tombstone (a key with no value) for the compacted chat.sessions goes through the outbox
-- like every other record, so a crash cannot lose it.
ALTER TABLE outbox ALTER COLUMN value DROP NOT NULL;

-- The retention scan finds archived sessions past the purge period, oldest first.
CREATE INDEX sessions_purge_scan ON sessions (coalesce(last_interaction_at, created_at))
    WHERE status = 'archived';
-- Erasure finds a customer's issued sessions, superseded ones included.
CREATE INDEX issued_sessions_by_customer ON issued_sessions (customer_id_hashed);
