"""``helix import``: recorded files -> events on the market fast path, nothing lost.

Each line is parsed by the chosen format; events go through :class:`MarketAppender` (acked,
de-duplicated by event id); a line that cannot be parsed becomes a
:class:`~events.ops.DeadLetter` on ``dlq.import.<format>`` with the file, line number and
reason, and the import goes on.  A file imported in full is recorded in the ledger
(:class:`~events.ops.ImportCompleted`, keyed by the file's SHA-256 and the parser's
:attr:`~helix.importers.formats.RecordParser.key`, its format plus options such as
``--symbol``), so importing it again the same way — under any name, at any later time —
publishes nothing, while the same bytes read as another symbol or interval are a new import.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from nats.aio.client import Client as NATS

from events.ops import DeadLetter, ImportCompleted
from helix.clock import Clock
from helix.codec import Codec
from helix.errors import ValidationError
from helix.importers.formats import RecordParser
from helix.store.jsraw import direct_get_last
from helix.store.market import MarketAppender, event_headers
from helix.store.streams import LEDGER


@dataclass
class ImportSummary:
    files: int = 0
    read: int = 0
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    already: list[str] = field(default_factory=list)
    truncated: bool = False

    def add(self, other: ImportSummary) -> None:
        self.files += other.files
        self.read += other.read
        self.imported += other.imported
        self.duplicates += other.duplicates
        self.rejected += other.rejected
        self.skipped.update(other.skipped)
        self.already.extend(other.already)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_subject(sha256: str, fmt: str, prefix: str = "ldg.ops.import") -> str:
    """Where a completed import of these bytes *in this format* is recorded (the same file
    read with the wrong format, all dead letters, must not block the right one).  ``fmt`` is
    the parser's ``key``: the format's name plus its options."""
    return f"{prefix}.{fmt.replace('.', '_')}.{sha256}"


async def find_import(
    nc: NATS, sha: str, fmt: str, *, prefix: str = "ldg.ops.import", codec: Codec | None = None
) -> ImportCompleted | None:
    """The ledger's record of a completed import of these bytes in this format, if any."""
    done = await direct_get_last(nc, LEDGER, manifest_subject(sha, fmt, prefix))
    if done is None:
        return None
    event = (codec or Codec()).decode(done.data)
    return event if isinstance(event, ImportCompleted) else None


async def record_import(
    nc: NATS,
    *,
    sha: str,
    name: str,
    fmt: str,
    source: str,
    now_ns: int,
    read: int,
    imported: int,
    duplicates: int,
    rejected: int = 0,
    skipped: int = 0,
    prefix: str = "ldg.ops.import",
    codec: Codec | None = None,
) -> None:
    """Record in the ledger that these bytes were imported in full in this format."""
    done = ImportCompleted(
        event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"import:{fmt}:{sha}"),
        ts_event=now_ns,
        ts_recorded=now_ns,
        source=source,
        vertical="ops",
        sha256=sha,
        name=name,
        format=fmt,
        read=read,
        imported=imported,
        duplicates=duplicates,
        rejected=rejected,
        skipped=skipped,
    )
    await nc.jetstream().publish(
        manifest_subject(sha, fmt, prefix),
        (codec or Codec()).encode(done),
        headers=event_headers(done),
    )


class Importer:
    """Imports files of one format; see the module docstring."""

    def __init__(
        self,
        nc: NATS,
        fmt: RecordParser,
        *,
        clock: Clock,
        codec: Codec | None = None,
        progress: Callable[[ImportSummary], None] | None = None,
        subject_prefix: str = "mkt",
        manifest_prefix: str = "ldg.ops.import",
        dlq_prefix: str = "dlq.import",
    ) -> None:
        self.nc = nc
        self.subject_prefix = subject_prefix
        self.manifest_prefix = manifest_prefix
        self.dlq_prefix = dlq_prefix
        self.fmt = fmt
        self.clock = clock
        self.codec = codec or Codec()
        self.progress = progress

    async def import_file(self, path: Path) -> ImportSummary:
        """Import one file (or nothing, if the ledger says it was imported before)."""
        summary = ImportSummary(files=1)
        sha = await asyncio.to_thread(file_sha256, path)
        where = await asyncio.to_thread(lambda: str(path.resolve()))
        done = await find_import(
            self.nc, sha, self.fmt.key, prefix=self.manifest_prefix, codec=self.codec
        )
        if done is not None:
            summary.already.append(path.name)
            return summary
        dlq_subject = f"{self.dlq_prefix}.{self.fmt.name.replace('.', '_')}"
        async with (
            MarketAppender(self.nc, codec=self.codec, subject_prefix=self.subject_prefix) as app,
            MarketAppender(self.nc, codec=self.codec) as dlq,
        ):
            records = self.fmt.records(path)
            while True:
                try:
                    line_no, raw = next(records)
                except StopIteration:
                    break
                except ValidationError as exc:  # the file itself is unreadable from here on
                    summary.rejected += 1
                    await self._dead_letter(dlq, dlq_subject, where, 0, b"", f"file: {exc}")
                    summary.truncated = True
                    break
                summary.read += 1
                try:
                    parsed = self.fmt.parse(raw)
                except ValidationError as exc:
                    summary.rejected += 1
                    await self._dead_letter(dlq, dlq_subject, where, line_no, raw, str(exc))
                    continue
                if parsed.skipped:
                    summary.skipped[parsed.skipped] += 1
                for event in parsed.events:
                    await app.append(event)
                if self.progress is not None and summary.read % 20_000 == 0:
                    summary.imported, summary.duplicates = app.stats.stored, app.stats.duplicates
                    self.progress(summary)
            stats = await app.flush()
            await dlq.flush()
        summary.imported = stats.stored
        summary.duplicates = stats.duplicates
        if not summary.truncated:  # a file that broke off may be imported again once fixed
            await self._record_completion(path, sha, summary)
        return summary

    async def _dead_letter(
        self, app: MarketAppender, subject: str, where: str, line_no: int, raw: bytes, reason: str
    ) -> None:
        now = self.clock.now_ns()
        letter = DeadLetter(
            event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"import:{where}:{line_no}"),
            ts_event=now,
            ts_recorded=now,
            source=f"import:{self.fmt.name}",
            vertical="ops",
            origin=f"import:{where}:{line_no}",
            reason=reason,
            raw=raw,
        )
        await app.publish_raw(subject, self.codec.encode(letter), event_headers(letter))

    async def _record_completion(self, path: Path, sha: str, s: ImportSummary) -> None:
        await record_import(
            self.nc,
            sha=sha,
            name=path.name,
            fmt=self.fmt.key,
            source="helix-import",
            now_ns=self.clock.now_ns(),
            read=s.read,
            imported=s.imported,
            duplicates=s.duplicates,
            rejected=s.rejected,
            skipped=sum(s.skipped.values()),
            prefix=self.manifest_prefix,
            codec=self.codec,
        )
