"""A member's audit export: build it from the sealed log (pure), write it, verify it offline.

The directory holds

* ``events.jsonl`` — one line per included event: its stream sequence, its stored bytes
  (base64: exactly what the seal's leaf hashes) and the decoded event (JSON);
* ``events.csv`` — the same events, one row each, for a spreadsheet;
* ``proofs.json`` — an RFC 6962 inclusion proof of every included event against the seal;
* ``seal.json`` — the seal (root, size, time) and the fund's signature over it;
* ``statement.json`` / ``statement.html`` / ``statement.pdf`` — the statement replayed from the
  included events (:mod:`audit.statement`).

:func:`verify_export` needs nothing but the directory (and, ideally, the fund's published
address): each event's bytes must decode to the event shown, its proof must reach the signed
root, nothing of another member may appear, and replaying the events must give the statement.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import msgspec

from audit.merkle import MerkleTree, hash_leaf, verify_inclusion
from audit.seals import Message, seal_text
from audit.signing import is_signed_by
from audit.statement import Statement, concerns, foreign, statement, tagged_events
from events.audit import Sealed
from events.base import Event
from helix.codec import Codec
from helix.errors import DomainError, ValidationError

FILES = ("events.jsonl", "events.csv", "proofs.json", "seal.json", "statement.json")


class ExportedEvent(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    leaf: str  # base64 of the stored bytes
    event: dict[str, object]


class Proofs(msgspec.Struct, frozen=True, kw_only=True):
    tree_size: int
    root: str
    proofs: dict[str, list[str]]  # sequence -> audit path (hex), leaf index = sequence - 1


@dataclass(frozen=True)
class Export:
    seal: Sealed
    records: list[tuple[int, bytes, Event]]
    proofs: Proofs
    statement: Statement


def build_export(
    messages: list[Message],
    seal: Sealed,
    *,
    member_id: str,
    fund_id: str,
    accounts: frozenset[str] | None,
    period_from: int,
    period_to: int,
) -> Export:
    """The member's export from the stream's messages ``1..seal.last_seq``.

    Raises:
        DomainError: the messages do not give the seal's root (the log changed since it was
            sealed: run ``helix audit verify --log``), or the member has no event in it.
    """
    messages = [m for m in messages if m[0] <= seal.last_seq]
    tree = MerkleTree(hash_leaf(data) for _seq, data in messages)
    if tree.size != seal.leaves or tree.root().hex() != seal.root:
        raise DomainError("the ledger differs from its latest seal: run `helix audit verify --log`")
    records = [
        (seq, data, event)
        for seq, data, event in tagged_events(messages)  # fund and booked-position events
        if concerns(event, member_id, fund_id, accounts)
    ]
    if not any(getattr(e, "member_id", None) == member_id for _s, _d, e in records):
        raise DomainError(f"member {member_id} has no event in the sealed ledger")
    proofs = Proofs(
        tree_size=tree.size, root=seal.root,
        proofs={str(seq): [p.hex() for p in tree.inclusion_proof(seq - 1)]
                for seq, _d, _e in records},
    )  # fmt: skip
    st = statement((e for _s, _d, e in records), member_id=member_id, fund_id=fund_id,
                   period_from=period_from, period_to=period_to)  # fmt: skip
    return Export(seal=seal, records=records, proofs=proofs, statement=st)


def as_json(event: Event) -> dict[str, object]:
    """The event as the export shows it (plain JSON values: Decimals and UUIDs as strings)."""
    shown: dict[str, object] = msgspec.json.decode(msgspec.json.encode(event))
    return shown


def iso(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts / 1e9, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_export(export: Export, out_dir: Path) -> list[Path]:
    """Write the directory (see the module docstring); returns the files written."""
    from audit.render import render_html, render_pdf

    out_dir.mkdir(parents=True, exist_ok=True)
    enc = msgspec.json.Encoder(decimal_format="string")
    lines = [
        enc.encode(
            ExportedEvent(seq=seq, leaf=base64.b64encode(data).decode(), event=as_json(event))
        )
        for seq, data, event in export.records
    ]
    (out_dir / "events.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    with (out_dir / "events.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["seq", "time_utc", "type", "member_id", "amount", "units", "nav_per_unit"])
        for seq, _data, e in export.records:
            w.writerow([seq, iso(e.ts_event), e.type, getattr(e, "member_id", ""),
                        getattr(e, "amount", getattr(e, "amount_paid", "")),
                        getattr(e, "units", getattr(e, "units_redeemed", "")),
                        getattr(e, "nav_per_unit", "")])  # fmt: skip
    (out_dir / "proofs.json").write_bytes(msgspec.json.format(enc.encode(export.proofs)))
    (out_dir / "seal.json").write_bytes(msgspec.json.format(enc.encode(export.seal)))
    (out_dir / "statement.json").write_bytes(msgspec.json.format(enc.encode(export.statement)))
    (out_dir / "statement.html").write_text(render_html(export.statement, export.seal))
    render_pdf(export.statement, export.seal, out_dir / "statement.pdf")
    return [out_dir / n for n in (*FILES, "statement.html", "statement.pdf")]


@dataclass(frozen=True)
class Verification:
    findings: list[str]
    member_id: str
    events: int
    signer: str
    statement: Statement | None


def verify_export(directory: Path, *, fund_address: str | None = None) -> Verification:
    """Check an export offline; every problem is a finding (empty: the export is what the
    signed log says)."""
    findings: list[str] = []
    missing = [n for n in FILES if not (directory / n).is_file()]
    if missing:
        return Verification([f"missing file: {n}" for n in missing], "", 0, "", None)
    dec = msgspec.json.Decoder
    try:
        seal = dec(Sealed).decode((directory / "seal.json").read_bytes())
        proofs = dec(Proofs).decode((directory / "proofs.json").read_bytes())
        claimed = dec(Statement).decode((directory / "statement.json").read_bytes())
        raw = (directory / "events.jsonl").read_bytes().splitlines()
        lines = [dec(ExportedEvent).decode(line) for line in raw if line.strip()]
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return Verification([f"malformed export: {exc}"], "", 0, "", None)

    signer = fund_address or seal.signer
    if not is_signed_by(seal_text(seal), seal.signature, signer):
        findings.append(f"seal signature is not by {signer}")
    if proofs.root != seal.root or proofs.tree_size != seal.leaves:
        findings.append("proofs.json is not against the seal's tree")
    root = bytes.fromhex(seal.root)
    codec = Codec()
    events: list[Event] = []
    last = 0
    for item in lines:
        where = f"event at sequence {item.seq}"
        if item.seq <= last:
            findings.append(f"{where}: out of order or repeated")
        last = max(last, item.seq)
        data = base64.b64decode(item.leaf)
        path = [bytes.fromhex(h) for h in proofs.proofs.get(str(item.seq), [])]
        if not verify_inclusion(hash_leaf(data), item.seq - 1, seal.leaves, path, root):
            findings.append(f"{where}: not in the sealed ledger (altered, or its proof is wrong)")
        try:
            event = codec.decode(data)
        except ValidationError:
            findings.append(f"{where}: stored bytes are not an event")
            continue
        if as_json(event) != item.event:
            findings.append(f"{where}: shown event differs from its stored bytes")
        if foreign(event, claimed.member_id):
            findings.append(f"{where}: names another member")
        events.append(event)
    shown = {str(item.seq) for item in lines}
    for seq in sorted((k for k in proofs.proofs if k not in shown), key=int):
        findings.append(f"event at sequence {seq}: proven in proofs.json but missing (removed?)")
    replayed = statement(events, member_id=claimed.member_id, fund_id=claimed.fund_id,
                         period_from=claimed.period_from, period_to=claimed.period_to)  # fmt: skip
    if replayed != claimed:
        for field in Statement.__struct_fields__:
            if getattr(replayed, field) != getattr(claimed, field):
                findings.append(f"statement {field}: shown {getattr(claimed, field)!r}, "
                                f"the events give {getattr(replayed, field)!r}")  # fmt: skip
    return Verification(findings, claimed.member_id, len(lines), signer, replayed)
