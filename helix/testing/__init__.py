"""Test doubles for external services (local fakes that speak the real wire formats)."""

from helix.testing.fake_bybit import FakeBybit, FakeStats, FakeTrade

__all__ = ["FakeBybit", "FakeStats", "FakeTrade"]
