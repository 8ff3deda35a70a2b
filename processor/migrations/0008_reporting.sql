-- Reporting contract (docs/reporting.md): views in their own schema for reporting consumers,
-- and a read-only role that may read them and nothing else. The views are the stable surface:
-- the tables beneath may change by a migration; a view's columns change only as a versioned,
-- documented change (CHANGELOG).
CREATE SCHEMA IF NOT EXISTS reporting;

-- One row per session, with its latest snapshot's reporting fields.
CREATE OR REPLACE VIEW reporting.sessions AS
SELECT s.persistent_session_id,
       s.status,
       s.customer_id_hashed,
       s.previous_session_id,
       s.current_conversation_id,
       s.resumed_from_conversation_id,
       s.latest_snapshot ->> 'intent' AS latest_intent,
       CASE WHEN jsonb_typeof(s.latest_snapshot -> 'stepsCompleted') = 'number'
            THEN (s.latest_snapshot ->> 'stepsCompleted')::numeric::integer END
           AS latest_steps_completed,
       s.latest_snapshot_at,
       s.last_interaction_at,
       s.expires_at,
       s.created_at,
       s.updated_at,
       s.version
FROM sessions s;

-- One row per Genesys conversation: the key to join Genesys analytics exports (conversationId).
CREATE OR REPLACE VIEW reporting.conversations AS
SELECT c.conversation_id,
       c.persistent_session_id,
       s.customer_id_hashed,
       c.state,
       c.media_type,
       c.queue_id,
       c.started_at,
       c.ended_at,
       c.ended_at - c.started_at AS duration,
       c.disconnect_type,
       c.resumed_from_conversation_id,
       c.concurrent_with,
       c.first_seen_at,
       (SELECT count(*) FROM snapshots n
        WHERE n.persistent_session_id = c.persistent_session_id
          AND n.conversation_id = c.conversation_id) AS snapshots
FROM session_conversations c
JOIN sessions s USING (persistent_session_id);

-- Snapshot history (PII already redacted before storage).
CREATE OR REPLACE VIEW reporting.snapshots AS
SELECT n.snapshot_id,
       n.persistent_session_id,
       n.conversation_id,
       n.snapshot_at,
       n.received_at,
       n.state ->> 'intent' AS intent,
       CASE WHEN jsonb_typeof(n.state -> 'stepsCompleted') = 'number'
            THEN (n.state ->> 'stepsCompleted')::numeric::integer END AS steps_completed,
       n.state,
       jsonb_array_length(n.pii_findings) AS pii_findings
FROM snapshots n;

-- Returns after an expiry: a new conversation tagged with the one it resumes from.
CREATE OR REPLACE VIEW reporting.resumptions AS
SELECT c.conversation_id,
       c.persistent_session_id,
       c.resumed_from_conversation_id,
       o.persistent_session_id AS resumed_from_session_id,
       c.started_at,
       o.ended_at AS resumed_from_ended_at,
       c.started_at - o.ended_at AS away_for
FROM session_conversations c
LEFT JOIN session_conversations o ON o.conversation_id = c.resumed_from_conversation_id
WHERE c.resumed_from_conversation_id IS NOT NULL;

-- Erasure requests: the audit trail (no customer data).
CREATE OR REPLACE VIEW reporting.erasures AS
SELECT erasure_id, requested_at, requested_by, completed_at, sessions, sessions_erased,
       rows_deleted
FROM erasures;

-- The read-only role. Roles belong to the cluster, not the database: another database of the
-- same cluster may have created it already (or be creating it now), and a migrating user without
-- CREATEROLE cannot create it at all; neither stops the migration (a NOTICE says what a DBA
-- runs instead). Grants are per database and are made whenever the role exists.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'chatstate_reporting') THEN
        BEGIN
            CREATE ROLE chatstate_reporting NOLOGIN;
        EXCEPTION
            WHEN insufficient_privilege THEN
                RAISE NOTICE 'chatstate: cannot create role chatstate_reporting (no CREATEROLE); '
                             'a DBA runs: CREATE ROLE chatstate_reporting NOLOGIN, then '
                             'chatstate db migrate again or the grants of docs/reporting.md';
            WHEN duplicate_object OR unique_violation THEN
                NULL;  -- another database's migration created it a moment ago
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'chatstate_reporting') THEN
        BEGIN
            GRANT USAGE ON SCHEMA reporting TO chatstate_reporting;
            GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO chatstate_reporting;
            ALTER DEFAULT PRIVILEGES IN SCHEMA reporting
                GRANT SELECT ON TABLES TO chatstate_reporting;
        EXCEPTION
            WHEN insufficient_privilege THEN
                RAISE NOTICE 'chatstate: cannot grant the reporting views to chatstate_reporting';
        END;
        BEGIN
            EXECUTE format('GRANT CONNECT ON DATABASE %I TO chatstate_reporting',
                           current_database());
        EXCEPTION
            WHEN insufficient_privilege THEN
                RAISE NOTICE 'chatstate: cannot grant CONNECT on this database to '
                             'chatstate_reporting (not its owner); a DBA runs it';
        END;
    END IF;
END
$$;
