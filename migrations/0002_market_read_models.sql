-- Market read models.  Time-series tables become hypertables when TimescaleDB is installed
-- (helix_hypertable below); every query Helix ships uses date_bin, which works on both.

CREATE OR REPLACE FUNCTION helix_hypertable(tbl regclass, time_col text, chunk interval)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        EXECUTE format(
            'SELECT create_hypertable(%L, %L, chunk_time_interval => %L::interval, if_not_exists => true, migrate_data => true)',
            tbl, time_col, chunk);
    END IF;
END $$;

-- 1-minute OHLCV from trades.  open/close are the first/last trade by (ts_event, stream seq),
-- kept with their keys so batches merge in any order.
CREATE TABLE IF NOT EXISTS candles_1m (
    venue       text        NOT NULL,
    symbol      text        NOT NULL,
    bucket      timestamptz NOT NULL,
    open        numeric     NOT NULL,
    high        numeric     NOT NULL,
    low         numeric     NOT NULL,
    close       numeric     NOT NULL,
    volume      numeric     NOT NULL,
    trades      bigint      NOT NULL,
    buy_volume  numeric     NOT NULL,
    sell_volume numeric     NOT NULL,
    open_ts     bigint      NOT NULL,
    open_seq    bigint      NOT NULL,
    close_ts    bigint      NOT NULL,
    close_seq   bigint      NOT NULL,
    PRIMARY KEY (venue, symbol, bucket)
);
SELECT helix_hypertable('candles_1m', 'bucket', '7 days');

CREATE TABLE IF NOT EXISTS open_interest (
    venue               text        NOT NULL,
    symbol              text        NOT NULL,
    ts                  timestamptz NOT NULL,
    open_interest       numeric     NOT NULL,
    open_interest_value numeric,
    PRIMARY KEY (venue, symbol, ts)
);
SELECT helix_hypertable('open_interest', 'ts', '30 days');

CREATE TABLE IF NOT EXISTS funding (
    venue           text        NOT NULL,
    symbol          text        NOT NULL,
    ts              timestamptz NOT NULL,
    funding_rate    numeric     NOT NULL,
    next_funding_ts timestamptz,
    mark_price      numeric,
    index_price     numeric,
    PRIMARY KEY (venue, symbol, ts)
);
SELECT helix_hypertable('funding', 'ts', '30 days');

-- Every liquidation print.  side is the liquidation order's side (a long is liquidated by a sell).
CREATE TABLE IF NOT EXISTS liquidations (
    venue    text        NOT NULL,
    symbol   text        NOT NULL,
    ts       timestamptz NOT NULL,
    key      text        NOT NULL,
    side     text        NOT NULL CHECK (side IN ('buy', 'sell')),
    price    numeric     NOT NULL,
    qty      numeric     NOT NULL,
    notional numeric     NOT NULL,
    seq      bigint      NOT NULL,
    PRIMARY KEY (venue, symbol, ts, key)
);
SELECT helix_hypertable('liquidations', 'ts', '7 days');

CREATE TABLE IF NOT EXISTS liquidations_1m (
    venue          text        NOT NULL,
    symbol         text        NOT NULL,
    bucket         timestamptz NOT NULL,
    long_notional  numeric     NOT NULL,
    short_notional numeric     NOT NULL,
    long_qty       numeric     NOT NULL,
    short_qty      numeric     NOT NULL,
    count          bigint      NOT NULL,
    PRIMARY KEY (venue, symbol, bucket)
);
SELECT helix_hypertable('liquidations_1m', 'bucket', '30 days');
