-- A projector run as N workers (helix projections run --workers N): worker `part` of
-- `partitions` applies only the events whose partition key (the subject's last token, the
-- symbol) hashes to `part`, and keeps its own position here, advanced in the same transaction
-- as its writes.  While a projector has rows here its projection_checkpoints.seq is the
-- position the split started from; it moves again when the workers are merged back.
CREATE TABLE IF NOT EXISTS projection_partitions (
    name          text        NOT NULL,
    partitions    integer     NOT NULL,
    part          integer     NOT NULL,
    seq           bigint      NOT NULL DEFAULT 0,      -- last stream sequence read by this worker
    last_event_ns bigint,
    events        bigint      NOT NULL DEFAULT 0,      -- events this worker applied
    state         text        NOT NULL DEFAULT 'idle', -- idle | running | failed
    error         text,
    error_seq     bigint,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, part),
    CHECK (part >= 0 AND part < partitions)
);

SELECT helix_grant_read_model('projection_partitions');
