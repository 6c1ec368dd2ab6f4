-- Trading read models (projections/orders.py, positions.py, pnl.py, accounts.py), projected
-- from the trading aggregates on ldg.es.trading.e.> in LEDGER.  Money and quantities are
-- numeric (exact); times are the events' ts_event; seq columns are LEDGER stream sequences.

-- One row per order, as commands/orders.py::evolve_order leaves it.  An order refused by the
-- risk guardian has only its OrderRejected: side, type, quantity and the other fields of the
-- request are not in the log, so they are NULL.
CREATE TABLE IF NOT EXISTS orders (
    order_id            uuid        PRIMARY KEY,
    account             text        NOT NULL,
    venue               text        NOT NULL,
    symbol              text        NOT NULL,
    side                text        CHECK (side IN ('buy', 'sell')),
    order_type          text,
    qty                 numeric,                 -- total quantity (after modifications)
    limit_price         numeric,
    trigger_price       numeric,
    time_in_force       text,
    reduce_only         boolean,
    stop_loss           numeric,
    take_profit         numeric,
    parent_id           uuid,                    -- the entry of a stop-loss/take-profit child
    strategy            text,
    mode                text,
    command_id          text        NOT NULL,
    reference_price     numeric,                 -- the mark the risk checks used
    status              text        NOT NULL CHECK (status IN ('placed', 'sent', 'accepted',
                            'partially_filled', 'filled', 'cancelled', 'expired', 'rejected')),
    cum_qty             numeric     NOT NULL,
    avg_price           numeric     NOT NULL,    -- 0 until the first fill (as the domain)
    fees                numeric     NOT NULL,
    fills               integer     NOT NULL,
    venue_order_id      text        NOT NULL,    -- '' until accepted
    reject_stage        text,                    -- risk | venue
    reject_reason       text        NOT NULL,
    checks              text[]      NOT NULL,    -- the failed risk checks of a rejection
    cancel_reason       text        NOT NULL,    -- who asked (e.g. 'oco: <order> filled')
    pending_cancel      boolean     NOT NULL,
    pending_qty         numeric,                 -- a modification sent, not yet applied
    pending_limit_price numeric,
    created_ts          timestamptz NOT NULL,
    updated_ts          timestamptz NOT NULL,
    first_seq           bigint      NOT NULL,
    last_seq            bigint      NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_open ON orders (account, first_seq)
    WHERE status IN ('placed', 'sent', 'accepted', 'partially_filled');
CREATE INDEX IF NOT EXISTS orders_recent ON orders (first_seq DESC);

-- Cancels and modifications that could not apply (unknown or closed order, risk, venue), so
-- the CLI can say why.  order_id need not be in orders (a cancel of an unknown order).
CREATE TABLE IF NOT EXISTS order_commands_rejected (
    event_id   uuid        PRIMARY KEY,
    order_id   uuid        NOT NULL,
    command    text        NOT NULL CHECK (command IN ('cancel', 'modify')),
    reason     text        NOT NULL,
    checks     text[]      NOT NULL,
    command_id text        NOT NULL,
    ts         timestamptz NOT NULL,
    seq        bigint      NOT NULL
);
CREATE INDEX IF NOT EXISTS order_commands_rejected_order ON order_commands_rejected (order_id, seq);

-- One row per FillBooked: the fill and the position it left.  The key includes ts because a
-- hypertable's unique keys must hold its time column (an execution has one ts).
CREATE TABLE IF NOT EXISTS fills (
    ts           timestamptz NOT NULL,
    order_id     uuid        NOT NULL,
    exec_id      text        NOT NULL,
    account      text        NOT NULL,
    venue        text        NOT NULL,
    symbol       text        NOT NULL,
    side         text        NOT NULL CHECK (side IN ('buy', 'sell')),
    qty          numeric     NOT NULL,
    price        numeric     NOT NULL,
    fee          numeric     NOT NULL,
    realized_pnl numeric     NOT NULL,
    size_after   numeric     NOT NULL,
    entry_after  numeric     NOT NULL,
    strategy     text        NOT NULL,
    event_id     uuid        NOT NULL,
    seq          bigint      NOT NULL,
    PRIMARY KEY (order_id, exec_id, ts)
);
SELECT helix_hypertable('fills', 'ts', '30 days');
CREATE INDEX IF NOT EXISTS fills_market_ts ON fills (account, venue, symbol, ts);

-- One row per (account, venue, symbol), as commands/positions.py::evolve_position leaves it.
CREATE TABLE IF NOT EXISTS positions (
    account      text        NOT NULL,
    venue        text        NOT NULL,
    symbol       text        NOT NULL,
    size         numeric     NOT NULL,           -- signed, long > 0
    entry_price  numeric     NOT NULL,           -- 0 when flat
    realized_pnl numeric     NOT NULL,           -- fees excluded
    fees         numeric     NOT NULL,
    funding      numeric     NOT NULL,           -- received > 0, paid < 0
    net_pnl      numeric     GENERATED ALWAYS AS (realized_pnl - fees + funding) STORED,
    fills        integer     NOT NULL,
    updated_ts   timestamptz NOT NULL,
    last_seq     bigint      NOT NULL,
    PRIMARY KEY (account, venue, symbol)
);

-- One row per FundingBooked (ts is the funding time).
CREATE TABLE IF NOT EXISTS funding_payments (
    account    text        NOT NULL,
    venue      text        NOT NULL,
    symbol     text        NOT NULL,
    ts         timestamptz NOT NULL,
    rate       numeric     NOT NULL,
    mark_price numeric     NOT NULL,
    size       numeric     NOT NULL,
    amount     numeric     NOT NULL,
    event_id   uuid        NOT NULL,
    seq        bigint      NOT NULL,
    PRIMARY KEY (account, venue, symbol, ts)
);
SELECT helix_hypertable('funding_payments', 'ts', '90 days');

-- Realised PnL per UTC day (of ts_event), account, market and strategy; funding has no
-- strategy (strategy '').  volume is quote notional (qty * price).  Exact sums, so the rows do
-- not depend on how the log was cut into batches.
CREATE TABLE IF NOT EXISTS pnl_daily (
    day          date    NOT NULL,
    account      text    NOT NULL,
    venue        text    NOT NULL,
    symbol       text    NOT NULL,
    strategy     text    NOT NULL,
    realized_pnl numeric NOT NULL,
    fees         numeric NOT NULL,
    funding      numeric NOT NULL,
    net_pnl      numeric GENERATED ALWAYS AS (realized_pnl - fees + funding) STORED,
    fills        bigint  NOT NULL,
    volume       numeric NOT NULL,
    PRIMARY KEY (day, account, venue, symbol, strategy)
);

CREATE TABLE IF NOT EXISTS accounts (
    account     text        PRIMARY KEY,
    balance     numeric     NOT NULL,            -- opening balance (quote currency)
    mode        text        NOT NULL,
    opened      boolean     NOT NULL,
    halted      boolean     NOT NULL,
    halt_reason text        NOT NULL,
    updated_ts  timestamptz NOT NULL,
    last_seq    bigint      NOT NULL
);

-- Unrealised PnL is not stored (it moves with every price): each position marked at the
-- latest 1-minute close of its market in candles_1m (mark NULL when there is no candle).
CREATE OR REPLACE VIEW position_marks AS
SELECT p.account, p.venue, p.symbol, p.size, p.entry_price, p.realized_pnl, p.fees, p.funding,
       p.net_pnl, p.fills, p.updated_ts, p.last_seq,
       c.close AS mark_price,
       c.bucket AS mark_ts,
       (c.bucket AT TIME ZONE 'UTC')::date AS mark_day,
       CASE WHEN c.close IS NULL THEN NULL
            ELSE (c.close - p.entry_price) * p.size END AS unrealized_pnl
FROM positions p
LEFT JOIN LATERAL (
    SELECT close, bucket FROM candles_1m
    WHERE venue = p.venue AND symbol = p.symbol
    ORDER BY bucket DESC LIMIT 1
) c ON true;

-- pnl_daily per (day, account, venue, symbol), strategies summed, with the unrealised PnL of
-- the open position at the latest close on the row of that close's UTC day (today, while the
-- market feed runs; a row is added for an open position without fills that day).  Other days'
-- unrealised_pnl is NULL: past marks are not kept.  total_pnl = net_pnl + unrealised.
CREATE OR REPLACE VIEW pnl_daily_with_unrealized AS
WITH d AS (
    SELECT day, account, venue, symbol, sum(realized_pnl) AS realized_pnl, sum(fees) AS fees,
           sum(funding) AS funding, sum(net_pnl) AS net_pnl, sum(fills) AS fills,
           sum(volume) AS volume
    FROM pnl_daily
    GROUP BY day, account, venue, symbol
), m AS (
    SELECT account, venue, symbol, size, mark_price, mark_day, unrealized_pnl
    FROM position_marks
    WHERE size <> 0 AND mark_price IS NOT NULL
)
SELECT coalesce(d.day, m.mark_day) AS day,
       coalesce(d.account, m.account) AS account,
       coalesce(d.venue, m.venue) AS venue,
       coalesce(d.symbol, m.symbol) AS symbol,
       coalesce(d.realized_pnl, 0) AS realized_pnl,
       coalesce(d.fees, 0) AS fees,
       coalesce(d.funding, 0) AS funding,
       coalesce(d.net_pnl, 0) AS net_pnl,
       coalesce(d.fills, 0) AS fills,
       coalesce(d.volume, 0) AS volume,
       m.size AS position_size,
       m.mark_price,
       m.unrealized_pnl,
       coalesce(d.net_pnl, 0) + coalesce(m.unrealized_pnl, 0) AS total_pnl
FROM d
FULL JOIN m ON m.mark_day = d.day AND m.account = d.account AND m.venue = d.venue
           AND m.symbol = d.symbol;
