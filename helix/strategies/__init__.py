"""Strategies: pure consumers of market events that emit signal events.

They read no clock and do no I/O (time comes from the events), so the same code runs live, after
a restart and in backtests; :mod:`helix.strategies.runtime` is the thin shell that feeds them from
the log and publishes what they emit.
"""
