"""Sealing a stream and naming what a tampering changed: given messages and seals, then
findings."""

from __future__ import annotations

import uuid

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit.merkle import MerkleTree
from audit.seals import (
    Message,
    SealError,
    decide_seal,
    leaf_hashes,
    seal_text,
    verify_seals,
)
from audit.signing import FundKey, sign_message
from events.audit import Sealed
from events.base import Envelope

TEST_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # Hardhat #0
OTHER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # Hardhat #1
FUND = FundKey.from_private_key(TEST_KEY)


def envelope(ts: int) -> Envelope:
    return Envelope(
        event_id=uuid.UUID(int=ts), ts_event=ts, ts_recorded=ts, source="audit", vertical="fund"
    )


def ledger(n: int) -> list[Message]:
    return [
        (seq, msgspec.msgpack.encode({"seq": seq, "qty": str(seq * 3)})) for seq in range(1, n + 1)
    ]


def sealed(messages: list[Message], previous: Sealed | None = None, *, ts: int = 1) -> Sealed:
    return decide_seal(
        messages, stream="LEDGER", previous=previous, key=FUND, envelope=envelope(ts)
    )


def two_seals(messages: list[Message]) -> list[Sealed]:
    first = sealed(messages[:6], ts=1)
    return [first, sealed(messages, first, ts=2)]


LEDGER = ledger(10)
SEALS = two_seals(LEDGER)
MANIFEST = leaf_hashes(LEDGER)


def problems(
    messages: list[Message], seals: list[Sealed] = SEALS, *, manifest: bool = True
) -> list[str]:
    found = verify_seals(
        messages, seals, fund_address=FUND.address, manifest=MANIFEST if manifest else None
    )
    return [str(f) for f in found]


def replaced(messages: list[Message], seq: int, data: bytes) -> list[Message]:
    return [(s, data if s == seq else d) for s, d in messages]


# -- sealing ---------------------------------------------------------------------------------


def test_a_seal_covers_the_stream_from_one_and_extends_the_previous() -> None:
    first, second = SEALS
    assert (first.first_seq, first.last_seq, first.leaves) == (1, 6, 6)
    assert first.previous_seq == 0
    assert first.consistency == ()
    assert (second.previous_seq, second.previous_root) == (6, first.root)
    assert second.root == MerkleTree(MANIFEST).root().hex()
    assert second.signer == FUND.address
    assert second.ts_event == 2


def test_a_seal_survives_the_event_codec() -> None:
    encoded = msgspec.msgpack.encode(SEALS[1])
    assert msgspec.msgpack.decode(encoded, type=Sealed) == SEALS[1]


def test_sealing_refuses_a_gap_nothing_new_or_a_changed_prefix() -> None:
    with pytest.raises(SealError, match="sequence 3 missing"):
        sealed([m for m in LEDGER if m[0] != 3])
    with pytest.raises(SealError, match="nothing to seal"):
        sealed(LEDGER[:6], SEALS[0])
    with pytest.raises(SealError, match="nothing to seal"):
        sealed([])
    with pytest.raises(SealError, match="seal at 6: root mismatch"):
        sealed(replaced(LEDGER, 2, b"forged"), SEALS[0])


def test_an_untouched_stream_verifies() -> None:
    assert problems(LEDGER) == []
    assert problems(LEDGER, manifest=False) == []
    assert problems([*LEDGER, (11, b"not sealed yet")]) == []


# -- tampering -------------------------------------------------------------------------------


def test_an_altered_event_is_named() -> None:
    assert problems(replaced(LEDGER, 4, b"forged")) == [
        "sequence 4 altered",
        "seal at 6: root mismatch",
        "seal at 10: root mismatch",
    ]


def test_an_alteration_after_the_first_seal_spares_it() -> None:
    assert problems(replaced(LEDGER, 8, b"forged"), manifest=False) == ["seal at 10: root mismatch"]


def test_a_removed_event_is_named_with_or_without_manifest() -> None:
    removed = [m for m in LEDGER if m[0] != 4]
    expected = ["sequence 4 missing", "seal at 6: root mismatch", "seal at 10: root mismatch"]
    assert problems(removed) == expected
    assert problems(removed, manifest=False) == expected


def test_swapped_events_are_named() -> None:
    data = dict(LEDGER)
    swapped = replaced(replaced(LEDGER, 3, data[4]), 4, data[3])
    assert problems(swapped) == [
        "sequences 3 and 4 reordered",
        "seal at 6: root mismatch",
        "seal at 10: root mismatch",
    ]


def test_a_renumbered_copy_shows_where_each_event_went() -> None:
    kept = [data for seq, data in LEDGER if seq != 8]
    shifted = [(seq, data) for seq, data in enumerate(kept, start=1)]  # 9 and 10 move down
    assert problems(shifted) == [
        "sequence 8 holds the event sealed at 9",
        "sequence 9 holds the event sealed at 10",
        "sequence 10 missing",
        "seal at 10: root mismatch",
    ]


def test_a_seal_signed_by_another_key_or_edited_is_named() -> None:
    first, second = SEALS
    other = FundKey.from_private_key(OTHER_KEY)
    resigned = msgspec.structs.replace(second, signature=sign_message(seal_text(second), other))
    assert problems(LEDGER, [first, resigned]) == ["seal at 10: bad signature"]
    later = msgspec.structs.replace(first, ts_event=first.ts_event + 1)
    assert problems(LEDGER, [later, second]) == ["seal at 6: bad signature"]
    garbage = msgspec.structs.replace(first, signature="0xdead")
    assert problems(LEDGER, [garbage, second]) == ["seal at 6: bad signature"]


def test_history_rewritten_between_seals_is_not_consistent() -> None:
    # A key holder rewrites sequence 2 after the first seal and seals the result anyway.
    rewritten = replaced(LEDGER, 2, b"forged")
    tree = MerkleTree(leaf_hashes(rewritten))
    first = SEALS[0]
    forged = msgspec.structs.replace(
        sealed(rewritten, ts=2),
        previous_seq=first.last_seq,
        previous_root=first.root,
        consistency=tuple(p.hex() for p in tree.consistency_proof(6)),
    )
    forged = msgspec.structs.replace(forged, signature=sign_message(seal_text(forged), FUND))
    assert problems(rewritten, [first, forged], manifest=False) == [
        "seal at 6: root mismatch",
        "seal at 10: not consistent with the seal at 6",
    ]


def test_a_seal_that_skips_its_predecessor_is_named() -> None:
    first, second = SEALS
    assert problems(LEDGER, [second], manifest=False) == [
        "seal at 10: does not extend the seal at 0",
        "seal at 10: not consistent with the seal at 0",
    ]
    assert problems(LEDGER[:6], [first], manifest=False) == []


def test_a_manifest_no_seal_vouches_for_is_ignored() -> None:
    forged = [*MANIFEST[:3], bytes(32), *MANIFEST[4:]]
    found = verify_seals(
        replaced(LEDGER, 4, b"forged"), SEALS, fund_address=FUND.address, manifest=forged
    )
    assert [str(f) for f in found] == [
        "manifest of 10 leaves matches no seal: ignored",
        "seal at 6: root mismatch",
        "seal at 10: root mismatch",
    ]


@given(st.integers(1, 10), st.binary(max_size=12))
def test_any_single_alteration_is_named_exactly(seq: int, data: bytes) -> None:
    tampered = replaced(LEDGER, seq, data)
    if tampered == LEDGER:
        return
    found = verify_seals(tampered, SEALS, fund_address=FUND.address, manifest=MANIFEST)
    assert [f.message for f in found if f.kind != "root_mismatch"] == [f"sequence {seq} altered"]
    assert {f.seqs for f in found if f.kind == "root_mismatch"} == (
        {(6,), (10,)} if seq <= 6 else {(10,)}
    )
