-- Backtest runs (helix/backtest): one row per run with its manifest and metrics, and the
-- equity curve keyed by run id.  A run's events live in LEDGER under ldg.bt.<run id>.>; these
-- tables only index them for `helix backtest list|report|compare`.
CREATE TABLE IF NOT EXISTS backtest_runs (
    run_id        text        PRIMARY KEY,
    created_at    timestamptz NOT NULL DEFAULT now(),
    strategy      text        NOT NULL,
    params        jsonb       NOT NULL,
    start_ts      timestamptz,
    end_ts        timestamptz,
    symbols       text[]      NOT NULL,
    input_events  bigint      NOT NULL,
    input_hash    text        NOT NULL,
    output_events bigint      NOT NULL,
    output_hash   text        NOT NULL,
    manifest      text        NOT NULL,
    metrics       jsonb       NOT NULL,
    report_dir    text        NOT NULL,
    seconds       double precision NOT NULL
);

CREATE TABLE IF NOT EXISTS backtest_equity (
    run_id text        NOT NULL REFERENCES backtest_runs (run_id) ON DELETE CASCADE,
    ts     timestamptz NOT NULL,
    equity numeric     NOT NULL,
    PRIMARY KEY (run_id, ts)
);
