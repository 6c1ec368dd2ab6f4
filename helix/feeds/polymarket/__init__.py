"""Polymarket feeds: Gamma listings, Data API wallet trades and the CLOB market channel.

:mod:`helix.feeds.polymarket.convert` turns the venue's wire payloads into Helix events (pure);
:class:`helix.venues.polymarket_sdk.PolymarketGateway` does the I/O.
"""
