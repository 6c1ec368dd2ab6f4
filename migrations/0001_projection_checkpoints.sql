-- Where each projector stands in the log.  Advanced in the same transaction as the projector's
-- writes, so a read model is exactly what the log up to `seq` produces.
CREATE TABLE IF NOT EXISTS projection_checkpoints (
    name          text PRIMARY KEY,
    stream        text        NOT NULL,
    seq           bigint      NOT NULL DEFAULT 0,     -- last stream sequence applied
    last_event_ns bigint,                             -- ts_recorded of that event
    events        bigint      NOT NULL DEFAULT 0,     -- events applied since the last rebuild
    state         text        NOT NULL DEFAULT 'idle', -- idle | running | failed
    error         text,
    error_seq     bigint,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
