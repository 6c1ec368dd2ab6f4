-- Polymarket read models (projections/poly_markets.py, wallets.py, wallet_clusters.py,
-- poly_positions.py, hybrid_roi.py).  Prices of outcome tokens are probabilities in [0, 1],
-- sizes are shares, money is USDC; all numeric (exact).  *_ns columns are int UTC nanoseconds
-- (projector state that must compare exactly); *_ts columns are timestamptz for people.

-- Markets as Gamma lists them (the latest listing wins), with their resolution.  A market
-- first seen through its resolution has an empty question until a listing arrives.
CREATE TABLE IF NOT EXISTS poly_markets (
    condition_id      text        PRIMARY KEY,
    market_id         text        NOT NULL,
    question          text        NOT NULL,
    slug              text        NOT NULL,
    event_slug        text        NOT NULL,
    outcomes          text[]      NOT NULL,
    token_ids         text[]      NOT NULL,
    prices            numeric[]   NOT NULL,     -- Gamma's outcome prices, index-aligned
    end_ts            timestamptz,
    active            boolean     NOT NULL,
    closed            boolean     NOT NULL,
    neg_risk          boolean     NOT NULL,
    tick_size         numeric,
    min_size          numeric,
    volume            numeric,
    liquidity         numeric,
    listed_ts         timestamptz,              -- the latest listing (NULL: never listed)
    winner            text,                     -- NULL until resolved
    payouts           numeric[],
    resolution_origin text,                     -- gamma | clob | manual | import
    resolution_note   text,
    resolved_ts       timestamptz,
    updated_ts        timestamptz NOT NULL,
    last_seq          bigint      NOT NULL
);
CREATE INDEX IF NOT EXISTS poly_markets_open ON poly_markets (end_ts) WHERE active AND NOT closed;

-- One row per outcome token: its market and outcome (NULL until a listing or resolution names
-- them), the top of its CLOB book and its last CLOB trade.
CREATE TABLE IF NOT EXISTS poly_tokens (
    token_id         text        PRIMARY KEY,
    condition_id     text,
    outcome          text,
    outcome_index    integer,
    best_bid         numeric,
    best_ask         numeric,
    mid              numeric,
    bid_depth        numeric,
    ask_depth        numeric,
    book_ts          timestamptz,
    last_trade_price numeric,
    last_trade_ts    timestamptz,
    updated_ts       timestamptz NOT NULL,
    last_seq         bigint      NOT NULL
);
CREATE INDEX IF NOT EXISTS poly_tokens_market ON poly_tokens (condition_id, outcome_index);

-- The wallets projector's state.  One row per (wallet, market, outcome): Polymarket's
-- average-cost position (quant.md §7.1, helix/quant/wallets.py OutcomePosition) with our
-- redemption at resolution.
CREATE TABLE IF NOT EXISTS wallet_positions (
    wallet         text    NOT NULL,
    condition_id   text    NOT NULL,
    outcome        text    NOT NULL,
    amount         numeric NOT NULL,
    avg_price      numeric NOT NULL,
    realized       numeric NOT NULL,
    total_bought   numeric NOT NULL,
    cost           numeric NOT NULL,            -- Σ price·q over BUYs
    first_buy_ns   bigint,
    payout         numeric,                     -- set when the market resolved
    redeemed       numeric NOT NULL,            -- tokens redeemed at resolution
    redeemed_basis numeric NOT NULL,            -- Σ avg·q over them (c_i = basis / redeemed)
    prenews        boolean NOT NULL,            -- a pre-news entry (§7.3), judged at resolution
    trades         integer NOT NULL,
    volume         numeric NOT NULL,            -- Σ price·q over BUYs and SELLs
    first_ns       bigint  NOT NULL,
    last_ns        bigint  NOT NULL,
    PRIMARY KEY (wallet, condition_id, outcome)
);
CREATE INDEX IF NOT EXISTS wallet_positions_market ON wallet_positions (condition_id, outcome);

-- BUYs large enough to be pre-news entries (notional ≥ $500), judged when the market resolves.
CREATE TABLE IF NOT EXISTS wallet_entries (
    condition_id text    NOT NULL,
    outcome      text    NOT NULL,
    wallet       text    NOT NULL,
    ts_ns        bigint  NOT NULL,
    size         numeric NOT NULL,
    price        numeric NOT NULL,
    seq          bigint  NOT NULL,
    PRIMARY KEY (condition_id, seq)
);

-- The outcomes of each market (outcomes[1] is YES for the pre-news check) and, once resolved,
-- the payouts that count for the wallets (the first resolution).
CREATE TABLE IF NOT EXISTS wallet_markets (
    condition_id text      PRIMARY KEY,
    outcomes     text[]    NOT NULL,
    payouts      numeric[],
    resolved_ns  bigint
);

-- Which market and outcome a token is (from listings, resolutions and trades): books are per token.
CREATE TABLE IF NOT EXISTS wallet_tokens (
    token_id     text PRIMARY KEY,
    condition_id text NOT NULL,
    outcome      text NOT NULL
);

-- The marks of unrealised PnL per (market, outcome): the latest book mid (NULL after a
-- one-sided book), else the latest wallet trade price.
CREATE TABLE IF NOT EXISTS wallet_marks (
    condition_id text    NOT NULL,
    outcome      text    NOT NULL,
    mid          numeric,
    mid_ns       bigint,
    trade_price  numeric,
    trade_ns     bigint,
    PRIMARY KEY (condition_id, outcome)
);

-- Hourly prices per (market, outcome): the last book mid and the last trade price seen in each
-- UTC hour (by event time).  The pre-news check (§7.3) runs on coalesce(mid, trade).
CREATE TABLE IF NOT EXISTS poly_prices_hourly (
    condition_id text        NOT NULL,
    outcome      text        NOT NULL,
    hour         timestamptz NOT NULL,
    mid          numeric,
    trade_price  numeric,
    PRIMARY KEY (condition_id, outcome, hour)
);
SELECT helix_hypertable('poly_prices_hourly', 'hour', '30 days');

-- Per wallet: PnL (average cost), ROI, record on resolved markets and the smart score (§7.4).
-- unrealized_pnl marks open positions at wallet_marks as of the latest event that moved them.
CREATE TABLE IF NOT EXISTS wallets (
    wallet         text             PRIMARY KEY,
    realized_pnl   numeric          NOT NULL,
    unrealized_pnl numeric          NOT NULL,
    total_pnl      numeric          GENERATED ALWAYS AS (realized_pnl + unrealized_pnl) STORED,
    cost           numeric          NOT NULL,
    roi            double precision NOT NULL,   -- (realised + unrealised) / cost
    n_markets      integer          NOT NULL,
    n_resolved     integer          NOT NULL,
    win_rate       double precision,            -- NULL: nothing resolved
    brier          double precision,            -- mean (c_i − o_i)², NULL: nothing resolved
    z              double precision NOT NULL,
    roi_realized   double precision NOT NULL,
    prenews_ratio  double precision NOT NULL,
    smart_score    double precision NOT NULL,
    smart          boolean          NOT NULL,
    insider_watch  boolean          NOT NULL,
    trades         integer          NOT NULL,
    volume         numeric          NOT NULL,
    first_trade_ts timestamptz      NOT NULL,
    last_trade_ts  timestamptz      NOT NULL
);
CREATE INDEX IF NOT EXISTS wallets_score ON wallets (smart_score DESC);
CREATE INDEX IF NOT EXISTS wallets_pnl ON wallets (total_pnl DESC);

-- Synced wallet clusters (quant.md §8), the latest ClusterSynced of each cluster id.
CREATE TABLE IF NOT EXISTS wallet_clusters (
    cluster_id    text             PRIMARY KEY,
    members       text[]           NOT NULL,
    markets       text[]           NOT NULL,     -- condition_id:outcome pairs
    density       double precision NOT NULL,
    edges         integer          NOT NULL,
    core          text[]           NOT NULL,
    delta_t_s     integer          NOT NULL,
    w_min         integer          NOT NULL,
    strategy      text             NOT NULL,
    reason        text             NOT NULL,
    times_seen    integer          NOT NULL,
    first_seen_ts timestamptz      NOT NULL,
    last_seen_ts  timestamptz      NOT NULL,
    last_seq      bigint           NOT NULL
);

-- Every WalletScored signal (a smart score crossing its threshold).
CREATE TABLE IF NOT EXISTS wallet_scores (
    ts            timestamptz      NOT NULL,
    wallet        text             NOT NULL,
    crossed       text             NOT NULL CHECK (crossed IN ('up', 'down')),
    smart_score   double precision NOT NULL,
    threshold     double precision NOT NULL,
    n_resolved    integer          NOT NULL,
    z             double precision NOT NULL,
    roi_realized  double precision NOT NULL,
    prenews_ratio double precision NOT NULL,
    win_rate      double precision,
    brier         double precision,
    realized_pnl  numeric          NOT NULL,
    cost          numeric          NOT NULL,
    strategy      text             NOT NULL,
    event_id      uuid             NOT NULL,
    seq           bigint           NOT NULL,
    PRIMARY KEY (wallet, ts, seq)
);
SELECT helix_hypertable('wallet_scores', 'ts', '90 days');

-- Our accounts' Polymarket positions, per (account, outcome token), from FillBooked.
CREATE TABLE IF NOT EXISTS poly_positions (
    account      text        NOT NULL,
    token_id     text        NOT NULL,
    size         numeric     NOT NULL,          -- shares held after the last fill
    avg_entry    numeric     NOT NULL,          -- 0 when flat
    realized_pnl numeric     NOT NULL,          -- fees excluded
    fees         numeric     NOT NULL,
    cost         numeric     NOT NULL,          -- Σ qty·price over the fills that added shares
    fills        integer     NOT NULL,
    opened_ts    timestamptz NOT NULL,
    updated_ts   timestamptz NOT NULL,
    last_seq     bigint      NOT NULL,
    PRIMARY KEY (account, token_id)
);

-- poly_positions with their market and mark: the payout once resolved, else the book mid,
-- else the last CLOB trade.
CREATE OR REPLACE VIEW poly_position_marks AS
SELECT p.account, p.token_id, t.condition_id, t.outcome, m.question, p.size, p.avg_entry,
       p.realized_pnl, p.fees, p.cost, p.fills, p.opened_ts, p.updated_ts, p.last_seq,
       k.mark,
       CASE WHEN k.mark IS NULL THEN NULL ELSE (k.mark - p.avg_entry) * p.size END
           AS unrealized_pnl,
       m.winner
FROM poly_positions p
LEFT JOIN poly_tokens t ON t.token_id = p.token_id
LEFT JOIN poly_markets m ON m.condition_id = t.condition_id
LEFT JOIN LATERAL (
    SELECT coalesce(
        CASE WHEN m.payouts IS NOT NULL AND t.outcome_index IS NOT NULL
             THEN m.payouts[t.outcome_index + 1] END,
        t.mid, t.last_trade_price) AS mark
) k ON true;

-- Perps and Polymarket legs per UTC day, account and strategy (definitions: hybrid_roi.py).
CREATE TABLE IF NOT EXISTS hybrid_roi (
    day            date    NOT NULL,
    account        text    NOT NULL,
    strategy       text    NOT NULL,
    perps_realized numeric NOT NULL,
    perps_fees     numeric NOT NULL,
    funding        numeric NOT NULL,
    perps_cost     numeric NOT NULL,
    poly_realized  numeric NOT NULL,
    poly_fees      numeric NOT NULL,
    poly_cost      numeric NOT NULL,
    fills          bigint  NOT NULL,
    perps_pnl      numeric GENERATED ALWAYS AS (perps_realized - perps_fees + funding) STORED,
    poly_pnl       numeric GENERATED ALWAYS AS (poly_realized - poly_fees) STORED,
    combined_pnl   numeric GENERATED ALWAYS AS
                       (perps_realized - perps_fees + funding + poly_realized - poly_fees) STORED,
    combined_cost  numeric GENERATED ALWAYS AS (perps_cost + poly_cost) STORED,
    perps_roi      numeric GENERATED ALWAYS AS
                       ((perps_realized - perps_fees + funding) / NULLIF(perps_cost, 0)) STORED,
    poly_roi       numeric GENERATED ALWAYS AS
                       ((poly_realized - poly_fees) / NULLIF(poly_cost, 0)) STORED,
    combined_roi   numeric GENERATED ALWAYS AS
                       ((perps_realized - perps_fees + funding + poly_realized - poly_fees)
                        / NULLIF(perps_cost + poly_cost, 0)) STORED,
    PRIMARY KEY (day, account, strategy)
);

-- The hybrid_roi projector's state: the strategy of each position's latest fill (funding
-- payments belong to it).
CREATE TABLE IF NOT EXISTS hybrid_position_strategy (
    account  text NOT NULL,
    venue    text NOT NULL,
    symbol   text NOT NULL,
    strategy text NOT NULL,
    PRIMARY KEY (account, venue, symbol)
);

SELECT helix_grant_read_model(t) FROM unnest(ARRAY[
    'poly_markets', 'poly_tokens', 'wallet_positions', 'poly_prices_hourly', 'wallets',
    'wallet_clusters', 'wallet_scores', 'poly_positions', 'poly_position_marks', 'hybrid_roi'
]::regclass[]) AS t;

-- Projector bookkeeping: not read models.
SELECT helix_grant_read_model(t, readable => false) FROM unnest(ARRAY[
    'wallet_entries', 'wallet_markets', 'wallet_tokens', 'wallet_marks',
    'hybrid_position_strategy'
]::regclass[]) AS t;
