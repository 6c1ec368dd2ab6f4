"""Venues: where orders are executed (``paper`` from the market log, ``bybit`` live)."""
