"""Venue API keys: read from the environment or ``.env`` only, never logged or echoed.

They are not fields of :class:`~helix.settings.Settings` (which is printed in diagnostics);
the live venue reads them here when, and only when, live trading is switched on.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from helix.settings import read_dotenv


@dataclass(frozen=True)
class Credentials:
    """An API key pair; ``repr`` never shows the secret (nor the whole key)."""

    key: str
    secret: str = field(repr=False)

    def __repr__(self) -> str:
        shown = f"{self.key[:3]}…" if self.key else ""
        return f"Credentials(key={shown!r}, secret='***')"

    __str__ = __repr__


def bybit_credentials(
    environ: Mapping[str, str] | None = None, *, dotenv: Path | None = None
) -> Credentials | None:
    """``HELIX_BYBIT_API_KEY`` / ``HELIX_BYBIT_API_SECRET`` (None unless both are set)."""
    env = dict(read_dotenv(dotenv if dotenv is not None else Path.cwd() / ".env"))
    env.update(environ if environ is not None else os.environ)
    key, secret = env.get("HELIX_BYBIT_API_KEY", ""), env.get("HELIX_BYBIT_API_SECRET", "")
    return Credentials(key, secret) if key and secret else None


@dataclass(frozen=True)
class PolymarketKeys:
    """The Polymarket wallet key (signs orders, EIP-712) and, when already created, the CLOB
    API key (L2 HMAC).  ``repr`` shows neither secret."""

    private_key: str = field(repr=False)
    funder: str = ""
    api_key: str = ""
    api_secret: str = field(default="", repr=False)
    api_passphrase: str = field(default="", repr=False)

    def __repr__(self) -> str:
        shown = f"{self.api_key[:3]}…" if self.api_key else ""
        return f"PolymarketKeys(private_key='***', funder={self.funder!r}, api_key={shown!r})"

    __str__ = __repr__


def polymarket_keys(
    environ: Mapping[str, str] | None = None, *, dotenv: Path | None = None
) -> PolymarketKeys | None:
    """``HELIX_POLYMARKET_PRIVATE_KEY`` (required), ``HELIX_POLYMARKET_FUNDER`` and
    ``HELIX_POLYMARKET_API_KEY`` / ``_API_SECRET`` / ``_API_PASSPHRASE`` (optional: derived
    from the wallet key when absent).  None unless the private key is set."""
    env = dict(read_dotenv(dotenv if dotenv is not None else Path.cwd() / ".env"))
    env.update(environ if environ is not None else os.environ)
    key = env.get("HELIX_POLYMARKET_PRIVATE_KEY", "")
    if not key:
        return None
    return PolymarketKeys(
        private_key=key,
        funder=env.get("HELIX_POLYMARKET_FUNDER", ""),
        api_key=env.get("HELIX_POLYMARKET_API_KEY", ""),
        api_secret=env.get("HELIX_POLYMARKET_API_SECRET", ""),
        api_passphrase=env.get("HELIX_POLYMARKET_API_PASSPHRASE", ""),
    )
