"""Live market-data feeds: venue adapters that turn WebSocket frames into events on the log."""
