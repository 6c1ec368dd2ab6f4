"""Member exports: built from a sealed log, verified offline, every tampering named."""

from __future__ import annotations

import base64
import json
import uuid
from decimal import Decimal as D
from pathlib import Path

import pytest

from audit.export import as_json, build_export, verify_export, write_export
from audit.merkle import MerkleTree, hash_leaf
from audit.seals import decide_seal
from audit.signing import FundKey
from commands.fund_fees import decide_crystallise
from events.audit import Sealed
from events.base import Envelope
from helix.codec import Codec
from helix.errors import DomainError
from tests.unit.fund.test_tv9b import CONFIG, tv9b

FUND = FundKey.from_private_key("0x" + "66" * 32)
OTHER = FundKey.from_private_key("0x" + "77" * 32)
DAY = 86_400_000_000_000
Log = tuple[list[tuple[int, bytes]], Sealed]


@pytest.fixture
def log() -> Log:
    fund, _ = tv9b()
    fund.apply(
        decide_crystallise(fund.state, CONFIG, period_end=3, days=D(1), envelope=fund.env(3))
    )
    codec = Codec()
    messages = [(i, codec.encode(e)) for i, e in enumerate(fund.events, start=1)]
    env: Envelope = {
        "event_id": uuid.uuid4(),
        "ts_event": 5,
        "ts_recorded": 5,
        "source": "t",
        "vertical": "fund",
    }
    seal = decide_seal(messages, stream="LEDGER", previous=None, key=FUND, envelope=env)
    return messages, seal


def export_to(tmp_path: Path, log: Log, member: str = "alice") -> Path:
    messages, seal = log
    ex = build_export(messages, seal, member_id=member, fund_id="fund-1", accounts=None,
                      period_from=0, period_to=10**19)  # fmt: skip
    write_export(ex, tmp_path / member)
    return tmp_path / member


def lines(d: Path) -> list[str]:
    return (d / "events.jsonl").read_text().splitlines()


def test_export_verifies_and_shows_the_tv9b_figures(tmp_path: Path, log: Log) -> None:
    d = export_to(tmp_path, log)
    result = verify_export(d, fund_address=FUND.address)
    assert result.findings == []
    st = result.statement
    assert st is not None
    assert st.closing_units.quantize(D("0.000001")) == D("68.727273")
    assert st.closing_value == D("756.00")
    assert [f.amount for f in st.flows] == [D(1000), D(-300)]
    assert [(f.kind, f.amount) for f in st.fees] == [("performance", D("14.00"))]
    assert (d / "statement.pdf").read_bytes().startswith(b"%PDF")
    assert "68.727272" in (d / "statement.html").read_text()


def test_nothing_of_another_member_is_exported(tmp_path: Path, log: Log) -> None:
    d = export_to(tmp_path, log)
    text = (d / "events.jsonl").read_text() + (d / "statement.json").read_text()
    assert "bob" not in text
    assert "b-1" not in text


def test_an_edited_byte_is_named(tmp_path: Path, log: Log) -> None:
    d = export_to(tmp_path, log)
    rows = lines(d)
    item = json.loads(rows[2])
    data = bytearray(base64.b64decode(item["leaf"]))
    data[-1] ^= 0x01
    item["leaf"] = base64.b64encode(bytes(data)).decode()
    rows[2] = json.dumps(item)
    (d / "events.jsonl").write_text("\n".join(rows) + "\n")
    findings = verify_export(d, fund_address=FUND.address).findings
    assert any(f"sequence {item['seq']}: not in the sealed ledger" in f for f in findings), findings


def test_a_dropped_event_is_named(tmp_path: Path, log: Log) -> None:
    d = export_to(tmp_path, log)
    rows = lines(d)
    dropped = json.loads(rows[1])["seq"]
    (d / "events.jsonl").write_text("\n".join(rows[:1] + rows[2:]) + "\n")
    findings = verify_export(d, fund_address=FUND.address).findings
    assert any(f"sequence {dropped}: proven in proofs.json but missing" in f for f in findings)


def test_swapped_events_are_named(tmp_path: Path, log: Log) -> None:
    d = export_to(tmp_path, log)
    rows = lines(d)
    rows[1], rows[2] = rows[2], rows[1]
    (d / "events.jsonl").write_text("\n".join(rows) + "\n")
    second = json.loads(rows[2])["seq"]
    findings = verify_export(d, fund_address=FUND.address).findings
    assert any(f"sequence {second}: out of order" in f for f in findings), findings


def test_an_edited_figure_is_named(tmp_path: Path, log: Log) -> None:
    d = export_to(tmp_path, log)
    st = json.loads((d / "statement.json").read_text())
    st["closing_value"] = "856.00"
    (d / "statement.json").write_text(json.dumps(st))
    findings = verify_export(d, fund_address=FUND.address).findings
    assert findings == ["statement closing_value: shown Decimal('856.00'), the events give "
                        "Decimal('756.00')"]  # fmt: skip


def test_another_members_event_slipped_in_is_named(tmp_path: Path, log: Log) -> None:
    messages, _seal = log
    d = export_to(tmp_path, log)
    codec = Codec()
    seq, data = next(
        (s, m) for s, m in messages if getattr(codec.decode(m), "member_id", "") == "bob"
    )
    proofs = json.loads((d / "proofs.json").read_text())
    tree = MerkleTree(hash_leaf(m) for _s, m in messages)
    proofs["proofs"][str(seq)] = [p.hex() for p in tree.inclusion_proof(seq - 1)]
    (d / "proofs.json").write_text(json.dumps(proofs))
    item = {"seq": seq, "leaf": base64.b64encode(data).decode(),
            "event": as_json(codec.decode(data))}  # fmt: skip
    rows = sorted([*lines(d), json.dumps(item)], key=lambda r: json.loads(r)["seq"])
    (d / "events.jsonl").write_text("\n".join(rows) + "\n")
    findings = verify_export(d, fund_address=FUND.address).findings
    assert any(f"sequence {seq}: names another member" in f for f in findings), findings


def test_a_seal_by_another_key_is_named(tmp_path: Path, log: Log) -> None:
    d = export_to(tmp_path, log)
    assert verify_export(d, fund_address=OTHER.address).findings == [
        f"seal signature is not by {OTHER.address}"
    ]


def test_a_log_that_differs_from_its_seal_is_refused(log: Log) -> None:
    messages, seal = log
    changed = [(s, m + b"x" if s == 3 else m) for s, m in messages]
    with pytest.raises(DomainError, match="differs from its latest seal"):
        build_export(changed, seal, member_id="alice", fund_id="fund-1", accounts=None,
                     period_from=0, period_to=DAY)  # fmt: skip


def test_a_message_that_is_no_event_is_sealed_but_never_exported(tmp_path: Path, log: Log) -> None:
    messages, _ = log
    messages = [*messages, (len(messages) + 1, b"event 0")]  # a stray publish on the ledger
    env: Envelope = {"event_id": uuid.uuid4(), "ts_event": 6, "ts_recorded": 6, "source": "t",
                     "vertical": "fund"}  # fmt: skip
    seal = decide_seal(messages, stream="LEDGER", previous=None, key=FUND, envelope=env)
    d = export_to(tmp_path, (messages, seal))
    assert verify_export(d, fund_address=FUND.address).findings == []
    assert str(len(messages)) not in json.loads((d / "proofs.json").read_text())["proofs"]
