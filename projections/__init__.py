"""The read side: projectors turn the event log into PostgreSQL/TimescaleDB read models.

Each module holds one read model (a pure fold of events into rows, and the SQL that writes
them); :mod:`projections.runner` applies batches exactly once, with the checkpoint in the same
transaction.
"""
