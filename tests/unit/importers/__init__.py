"""Unit tests of the recorded-file importers (pure parsers, no services)."""
