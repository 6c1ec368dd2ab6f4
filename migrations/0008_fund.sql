-- Fund read models (projections/fund.py), projected from the Fund aggregate on
-- ldg.es.fund.e.> in LEDGER.  Money and units are numeric (exact); audits never read these
-- tables (audit/ replays the log), Grafana does.

-- Every NAV strike: the fund's books at that moment.
CREATE TABLE IF NOT EXISTS fund_nav (
    fund_id             text        NOT NULL,
    as_of               timestamptz NOT NULL,
    nav_per_unit        numeric     NOT NULL,
    net_assets          numeric     NOT NULL,
    fund_equity         numeric     NOT NULL,
    units_outstanding   numeric     NOT NULL,
    fees_payable        numeric     NOT NULL,
    commissions_payable numeric     NOT NULL,
    book_pnl            numeric     NOT NULL,
    seq                 bigint      NOT NULL,
    PRIMARY KEY (fund_id, as_of, seq)
);
SELECT helix_hypertable('fund_nav', 'as_of', '90 days');

-- One row per member: units held, money in and out, fees paid.
CREATE TABLE IF NOT EXISTS fund_members (
    fund_id         text        NOT NULL,
    member_id       text        NOT NULL,
    kyc_ref         text        NOT NULL,
    affiliate_id    text,
    units           numeric     NOT NULL,
    deposited       numeric     NOT NULL,
    withdrawn       numeric     NOT NULL,
    fees_paid       numeric     NOT NULL,
    joined_ts       timestamptz NOT NULL,
    updated_ts      timestamptz NOT NULL,
    last_seq        bigint      NOT NULL,
    PRIMARY KEY (fund_id, member_id)
);

-- Commissions accrued per affiliate.
CREATE TABLE IF NOT EXISTS fund_affiliates (
    fund_id         text        NOT NULL,
    affiliate_id    text        NOT NULL,
    accrued         numeric     NOT NULL,
    updated_ts      timestamptz NOT NULL,
    last_seq        bigint      NOT NULL,
    PRIMARY KEY (fund_id, affiliate_id)
);

-- Members' equity at the latest NAV of their fund.
CREATE OR REPLACE VIEW fund_member_equity AS
SELECT m.fund_id, m.member_id, m.units, n.nav_per_unit, m.units * n.nav_per_unit AS equity,
       m.deposited, m.withdrawn, m.fees_paid,
       m.units * n.nav_per_unit + m.withdrawn - m.deposited AS gain
FROM fund_members m
LEFT JOIN LATERAL (
    SELECT nav_per_unit FROM fund_nav f WHERE f.fund_id = m.fund_id
    ORDER BY as_of DESC, seq DESC LIMIT 1
) n ON true;

SELECT helix_grant_read_model(t) FROM unnest(ARRAY[
    'fund_nav', 'fund_members', 'fund_affiliates', 'fund_member_equity'
]::regclass[]) AS t;
