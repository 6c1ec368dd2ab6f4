-- Liquidation heatmaps (projections/heatmap.py) and signals (projections/signals.py).

-- 5-minute bars per market: the heatmap model's inputs.  Prices are NULL for a bucket that has
-- only seen a ticker (open interest) so far.  open/close keep their (ts, seq) keys so batches
-- merge in any order; kline volumes are kept apart from trade volumes (trades win).  Volumes
-- are exact numeric sums, so the bars do not depend on how the log was cut into batches.
CREATE TABLE IF NOT EXISTS heatmap_bars (
    venue         text             NOT NULL,
    symbol        text             NOT NULL,
    bucket        timestamptz      NOT NULL,
    start_ns      bigint           NOT NULL,
    open          double precision,
    high          double precision,
    low           double precision,
    close         double precision,
    open_ts       bigint           NOT NULL,
    open_seq      bigint           NOT NULL,
    close_ts      bigint           NOT NULL,
    close_seq     bigint           NOT NULL,
    buy_quote     numeric          NOT NULL,
    sell_quote    numeric          NOT NULL,
    base_volume   numeric          NOT NULL,
    trades        bigint           NOT NULL,
    kline_quote   numeric          NOT NULL,
    kline_base    numeric          NOT NULL,
    oi            double precision,
    oi_ts         bigint           NOT NULL,
    liq_long_usd  numeric          NOT NULL,
    liq_short_usd numeric          NOT NULL,
    last_ts       bigint           NOT NULL,
    PRIMARY KEY (venue, symbol, bucket)
);
SELECT helix_hypertable('heatmap_bars', 'bucket', '30 days');

-- The latest event time seen per market (decides which windows have a newly closed bar).
CREATE TABLE IF NOT EXISTS heatmap_markets (
    venue   text   NOT NULL,
    symbol  text   NOT NULL,
    last_ts bigint NOT NULL,
    PRIMARY KEY (venue, symbol)
);

-- One row per market and window (12h ... 1y): the window's extent, its price axis (edges of
-- the 250 price bins) and summary figures.
CREATE TABLE IF NOT EXISTS heatmaps (
    venue            text             NOT NULL,
    symbol           text             NOT NULL,
    win              text             NOT NULL,
    start_ts         timestamptz      NOT NULL,
    end_ts           timestamptz      NOT NULL,
    compute_interval interval         NOT NULL,
    display_interval interval         NOT NULL,
    edges            double precision[] NOT NULL,
    price            double precision NOT NULL,
    oi_z             double precision,
    bars             integer          NOT NULL,
    has_oi           boolean          NOT NULL,
    long_usd         double precision NOT NULL,
    short_usd        double precision NOT NULL,
    PRIMARY KEY (venue, symbol, win)
);

-- Display columns: price candle of the column, notional per price bin (arrays indexed like
-- heatmaps.edges[1..250]), the model's consumed estimate and the liquidation prints.
CREATE TABLE IF NOT EXISTS heatmap_columns (
    venue         text               NOT NULL,
    symbol        text               NOT NULL,
    win           text               NOT NULL,
    ts            timestamptz        NOT NULL,
    open          double precision   NOT NULL,
    high          double precision   NOT NULL,
    low           double precision   NOT NULL,
    close         double precision   NOT NULL,
    consumed_usd  double precision   NOT NULL,
    liq_long_usd  double precision   NOT NULL,
    liq_short_usd double precision   NOT NULL,
    long_usd      double precision[] NOT NULL,
    short_usd     double precision[] NOT NULL,
    PRIMARY KEY (venue, symbol, win, ts)
);

-- One row per (column, price bin): what Grafana's heatmap panel reads.
CREATE OR REPLACE VIEW heatmap_cells AS
SELECT c.venue, c.symbol, c.win, c.ts, b.i AS bin,
       (h.edges[b.i] + h.edges[b.i + 1]) / 2 AS price,
       c.long_usd[b.i] AS long_usd,
       c.short_usd[b.i] AS short_usd,
       c.long_usd[b.i] + c.short_usd[b.i] AS total_usd
FROM heatmap_columns c
JOIN heatmaps h USING (venue, symbol, win)
CROSS JOIN LATERAL generate_subscripts(c.long_usd, 1) AS b(i);

-- The scored clusters of each window's latest column, best first (quant.md §3).
CREATE TABLE IF NOT EXISTS heatmap_clusters (
    venue      text             NOT NULL,
    symbol     text             NOT NULL,
    win        text             NOT NULL,
    rank       integer          NOT NULL,
    side       text             NOT NULL CHECK (side IN ('long', 'short')),
    price      double precision NOT NULL,
    price_low  double precision NOT NULL,
    price_high double precision NOT NULL,
    size_usd   double precision NOT NULL,
    distance   double precision NOT NULL,
    share      double precision NOT NULL,
    proximity  double precision NOT NULL,
    score      double precision NOT NULL,
    PRIMARY KEY (venue, symbol, win, rank)
);

-- Every signal in the ledger, with its reason and full payload.
CREATE TABLE IF NOT EXISTS signals (
    event_id  uuid             PRIMARY KEY,
    ts        timestamptz      NOT NULL,
    seq       bigint           NOT NULL,
    kind      text             NOT NULL,
    strategy  text             NOT NULL,
    venue     text             NOT NULL,
    symbol    text             NOT NULL,
    interval  text             NOT NULL,
    side      text,
    price     numeric,
    score     double precision,
    reason    text             NOT NULL,
    payload   jsonb            NOT NULL
);
CREATE INDEX IF NOT EXISTS signals_symbol_ts ON signals (symbol, ts);
CREATE INDEX IF NOT EXISTS signals_kind_ts ON signals (kind, ts);
