"""Backtests: replays of the market log through the live code (strategies, risk guardian,
paper venue), deterministic, isolated from everything live."""
