"""``helix audit seal --every``: the schedule's duration parsing."""

from __future__ import annotations

import pytest

from helix.cli.app import every_seconds
from helix.errors import ConfigError


@pytest.mark.parametrize(("text", "seconds"), [("24h", 86_400), ("30m", 1_800), ("1d", 86_400),
                                               ("0.5s", 0.5)])  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert every_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "24", "h", "1w", "-1h", "0m", "abc"])
def test_bad_durations_say_what_to_give(text: str) -> None:
    with pytest.raises(ConfigError, match="--every"):
        every_seconds(text)
