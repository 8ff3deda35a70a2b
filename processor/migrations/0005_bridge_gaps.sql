-- The Genesys bridge's memory of what it may have missed. Notifications sent while no socket
-- was connected are lost by Genesys; each such window is a gap, filled afterwards from the REST
-- API (analytics details query + GET conversation). A gap with backfilled_at NULL is still owed.
CREATE TABLE bridge_gaps (
    id            bigserial   PRIMARY KEY,
    started_at    timestamptz NOT NULL,           -- the last moment the bridge knew it was reading
    ended_at      timestamptz NOT NULL,           -- when a socket was subscribed and reading again
    reason        text        NOT NULL,           -- socket_lost, restart, channel_failed
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    backfilled_at timestamptz,
    conversations integer,                        -- how many the backfill produced
    CHECK (ended_at >= started_at)
);
CREATE INDEX bridge_gaps_owed ON bridge_gaps (started_at) WHERE backfilled_at IS NULL;

-- One row per bridge deployment: the active bridge (the advisory-lock holder) writes alive_at
-- every few seconds, so the next one to start knows from when it must backfill.
CREATE TABLE bridge_state (
    name     text        PRIMARY KEY,
    alive_at timestamptz NOT NULL
);
