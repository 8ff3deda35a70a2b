-- `chatstate dlq replay` re-produces a dead letter at most once: the mark is written before the
-- record is produced (and removed if producing fails), so a second replay of the same dead
-- letter, from any machine, is refused. A mark whose produced_at stays NULL is a replay that
-- was interrupted after the mark: look for the record carrying header
-- chatstate-replay-of=<dlq_topic>:<dlq_partition>:<dlq_offset> on the source topic.
CREATE TABLE dlq_replays (
    dlq_topic          text    NOT NULL,
    dlq_partition      integer NOT NULL,
    dlq_offset         bigint  NOT NULL,
    source_topic       text    NOT NULL,
    from_redacted      boolean NOT NULL,  -- the redacted copy (--redacted), not the original
    started_at         timestamptz NOT NULL DEFAULT now(),
    produced_at        timestamptz,
    produced_partition integer,
    produced_offset    bigint,
    PRIMARY KEY (dlq_topic, dlq_partition, dlq_offset)
);
