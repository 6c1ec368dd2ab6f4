"""Bybit v5 public feed: ``pybit`` WebSocket + HTTP, gap repair, dead letters, backfill."""
