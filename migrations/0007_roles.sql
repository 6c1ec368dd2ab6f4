-- Least privilege on the read side.  Roles are cluster-wide, grants are per database:
--   helix_reader     SELECT on the read models (and projection_checkpoints, for the operations
--                    dashboard); every transaction read-only.  Grafana connects as it.
--   helix_projector  SELECT/INSERT/UPDATE/DELETE/TRUNCATE on the read models and the projectors'
--                    bookkeeping; SELECT on helix_migrations (to see the schema is current).
--                    No DDL: it owns nothing and may not create in the schema.
-- Whoever runs the migrations (the embedded cluster's superuser, POSTGRES_USER in docker
-- compose) owns every table and view.  The roles are created without a password: the embedded
-- cluster trusts local connections; a deployment sets passwords (deploy/init.py does).
-- A migration that adds a read model grants it with SELECT helix_grant_read_model('table').

DO $$
DECLARE
    r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['helix_reader', 'helix_projector'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE', r);
            EXCEPTION
                WHEN duplicate_object OR unique_violation THEN
                    NULL;  -- another database of this cluster created it meanwhile
                WHEN insufficient_privilege THEN
                    RAISE EXCEPTION 'role % does not exist and % may not create roles', r, current_user
                        USING HINT = 'create roles helix_reader and helix_projector (LOGIN), '
                                     'or run the migrations as a role with CREATEROLE';
            END;
        END IF;
    END LOOP;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO helix_reader, helix_projector',
                   current_database());
END $$;

ALTER ROLE helix_reader SET default_transaction_read_only = on;

-- Nobody but the owner creates objects here (PostgreSQL 15's default; older servers let PUBLIC).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO helix_reader, helix_projector;

CREATE OR REPLACE FUNCTION helix_grant_read_model(tbl regclass, readable boolean DEFAULT true)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = tbl) IN ('v', 'm') THEN
        EXECUTE format('GRANT SELECT ON %s TO helix_projector', tbl);
    ELSE
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON %s TO helix_projector', tbl);
    END IF;
    IF readable THEN
        EXECUTE format('GRANT SELECT ON %s TO helix_reader', tbl);
    END IF;
END $$;
REVOKE EXECUTE ON FUNCTION helix_grant_read_model(regclass, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION helix_hypertable(regclass, text, interval) FROM PUBLIC;

-- Read models (tables and views) of migrations 0001-0006.
SELECT helix_grant_read_model(t) FROM unnest(ARRAY[
    'projection_checkpoints',
    'candles_1m', 'open_interest', 'funding', 'liquidations', 'liquidations_1m',
    'heatmap_bars', 'heatmaps', 'heatmap_columns', 'heatmap_clusters', 'heatmap_cells',
    'signals',
    'orders', 'order_commands_rejected', 'fills', 'positions', 'funding_payments', 'pnl_daily',
    'accounts', 'position_marks', 'pnl_daily_with_unrealized',
    'backtest_runs', 'backtest_equity'
]::regclass[]) AS t;

-- The heatmap projector's own bookkeeping (latest event time per market): not a read model.
SELECT helix_grant_read_model('heatmap_markets', readable => false);
GRANT SELECT ON helix_migrations TO helix_projector;
