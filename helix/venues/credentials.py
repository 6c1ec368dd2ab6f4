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
