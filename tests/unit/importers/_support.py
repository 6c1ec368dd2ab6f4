"""Helpers for the importer tests: the shared real data (skipped when absent) and temp files."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import pytest

from helix.importers.formats import RecordParser
from helix.store.market import MarketEvent

# The checkout's sibling ``shared/data`` (``../shared/data`` from the repository root).
SHARED_DATA = Path(__file__).resolve().parents[4] / "shared" / "data"


def shared_file(relative: str) -> Path:
    """A file under ``../shared/data``; skips the test cleanly when it is not there."""
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(f"shared data not available: {path}")
    return path


def first_records(parser: RecordParser, path: Path, n: int) -> list[tuple[int, bytes]]:
    """The first ``n`` records of a file, as the parser splits it."""
    return list(itertools.islice(parser.records(path), n))


def record_at(parser: RecordParser, path: Path, line_no: int) -> bytes:
    """The raw record on 1-based line ``line_no``."""
    for number, raw in parser.records(path):
        if number == line_no:
            return raw
    raise AssertionError(f"{path} has no record on line {line_no}")


def write_lines(path: Path, lines: list[bytes], *, gz: bool, eol: bytes = b"\n") -> Path:
    """Write ``lines`` to ``path`` (gzip-compressed when ``gz``) and return the path."""
    body = b"".join(line + eol for line in lines)
    if gz:
        path.write_bytes(gzip.compress(body, mtime=0))
    else:
        path.write_bytes(body)
    return path


def parse_all(parser: RecordParser, lines: list[bytes]) -> list[MarketEvent]:
    """Every event from ``lines`` (none may be malformed)."""
    return [event for raw in lines for event in parser.parse(raw).events]
