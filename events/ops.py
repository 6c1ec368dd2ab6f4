"""Operational events: dead letters and other facts about Helix itself."""

from __future__ import annotations

from events.base import Event


class DeadLetter(Event, frozen=True, kw_only=True, tag="ops.dead_letter.v1"):
    """Input Helix could not turn into an event, kept with the reason (nothing is lost).

    Attributes:
        origin: where it came from (``import:/path/file.gz:123``, ``feed:bybit:publicTrade``).
        reason: why it was rejected.
        raw: the input, verbatim.
    """

    origin: str
    reason: str
    raw: bytes


class ImportCompleted(Event, frozen=True, kw_only=True, tag="ops.import_completed.v1"):
    """A recorded file was imported in full (``helix import`` skips it next time).

    Attributes:
        sha256: digest of the file's bytes (its identity, whatever its name).
        name: the file name when imported.
        format: the parser used (``binance-ws``, ...).
        read / imported / duplicates / rejected / skipped: the import's counts.
    """

    sha256: str
    name: str
    format: str
    read: int
    imported: int
    duplicates: int
    rejected: int
    skipped: int
