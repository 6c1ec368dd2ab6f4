"""Sealing a stream and verifying its seals: the pure core of ``helix audit seal/verify``.

A seal covers a stream from sequence 1 to ``last_seq``; leaf ``i`` is the stored bytes of the
message at sequence ``i + 1``, hashed per RFC 6962 (:mod:`audit.merkle`).  Each seal names the
seal it extends and carries the consistency proof from that seal's tree, so the seals alone
show the log was only ever appended to, and the stored messages show it still holds what was
sealed.

How a tampering is named.  A root says *that* something changed, not *what*.  To say what,
:func:`verify_seals` compares the stored messages with a **manifest**: the per-leaf hashes as
they were at sealing time (:func:`leaf_hashes`, kept beside the seal by the export).  The
manifest need not be trusted: it is used only if its own Merkle root equals a signed seal's
root.  Sequence ``s`` is then, by what the stream holds at ``s`` now:

* nothing, in a stream that stores everything up to the last seal: ``sequence s missing``
  (``LEDGER`` denies deletes, so a removed message leaves a gap; a gap is found even with no
  manifest);
* the event sealed at ``t`` while ``t`` holds the one sealed at ``s``:
  ``sequences s and t reordered``;
* the event sealed at another sequence ``t`` (a longer shuffle, or a renumbered copy of the
  stream): ``sequence s holds the event sealed at t``;
* anything else: ``sequence s altered``.

Without a manifest only gaps and per-seal failures (``seal at N: root mismatch``) are named.
"""

from __future__ import annotations

import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import msgspec

from audit.merkle import EMPTY_ROOT, MerkleTree, hash_leaf, verify_consistency
from audit.signing import FundKey, is_signed_by, seal_message, sign_message
from events.audit import Sealed
from events.base import Envelope
from helix.errors import DomainError

Message = tuple[int, bytes]  # (stream sequence, stored bytes)
FindingKind = Literal[
    "missing",
    "altered",
    "reordered",
    "moved",
    "root_mismatch",
    "bad_signature",
    "malformed",
    "broken_chain",
    "inconsistent",
    "bad_manifest",
]
# Stands in for a missing message so later leaves keep their positions; no leaf hashes to it
# (it would take a SHA-256 preimage), so a seal over a gap can never match.
_ABSENT = b"\xff" * 32


class SealError(DomainError):
    """The stream cannot be sealed as asked (a gap, nothing new, a changed sealed prefix)."""


@dataclass(frozen=True)
class Finding:
    """One thing verification found wrong.

    Attributes:
        kind: what went wrong.
        seqs: the stream sequences concerned (for a seal: its ``last_seq``).
        message: the human sentence, e.g. ``sequence 42 altered``.
    """

    kind: FindingKind
    seqs: tuple[int, ...]
    message: str

    def __str__(self) -> str:
        return self.message


def leaf_hashes(messages: Iterable[Message]) -> list[bytes]:
    """The RFC 6962 leaf hashes of a stream's messages from sequence 1, in order.

    Args:
        messages: ``(sequence, stored bytes)`` pairs in sequence order, starting at 1.

    Raises:
        SealError: a sequence is missing or out of order (a seal must cover a gapless prefix).
    """
    hashes: list[bytes] = []
    for seq, data in messages:
        expected = len(hashes) + 1
        if seq != expected:
            what = f"sequence {expected} missing" if seq > expected else f"sequence {seq} repeated"
            raise SealError(f"cannot seal: {what}")
        hashes.append(hash_leaf(data))
    return hashes


def seal_text(seal: Sealed) -> str:
    """The canonical text ``seal.signature`` signs (see :func:`audit.signing.seal_message`)."""
    return seal_message(
        stream=seal.stream,
        first_seq=seal.first_seq,
        last_seq=seal.last_seq,
        leaves=seal.leaves,
        root=seal.root,
        previous_seq=seal.previous_seq,
        previous_root=seal.previous_root,
        ts=seal.ts_event,
    )


def decide_seal(
    messages: Iterable[Message],
    *,
    stream: str,
    previous: Sealed | None,
    key: FundKey,
    envelope: Envelope,
) -> Sealed:
    """The signed seal of ``messages`` (the whole stream so far), extending ``previous``.

    Args:
        messages: ``(sequence, stored bytes)`` from sequence 1 up to the last one to seal.
        stream: the stream's name.
        previous: the latest seal of this stream, if any.
        key: the fund's signing key.
        envelope: event id and times of the new event; ``ts_event`` is the signed sealing time.

    Raises:
        SealError: a gap, nothing new since ``previous``, or the prefix ``previous`` sealed no
            longer has its root (the ledger changed: verify it rather than seal over it).
    """
    tree = MerkleTree(leaf_hashes(messages))
    n = tree.size
    prev_seq, prev_root, proof = 0, EMPTY_ROOT, []
    if previous is not None:
        prev_seq = previous.last_seq
        if n <= prev_seq:
            raise SealError(f"nothing to seal: {stream} has no event after {prev_seq}")
        if tree.root(previous.leaves).hex() != previous.root.lower():
            raise SealError(f"cannot seal: seal at {prev_seq}: root mismatch")
        prev_root, proof = tree.root(previous.leaves), tree.consistency_proof(previous.leaves)
    elif n == 0:
        raise SealError(f"nothing to seal: {stream} is empty")
    unsigned = Sealed(
        **envelope,
        stream=stream,
        first_seq=1,
        last_seq=n,
        leaves=n,
        root=tree.root().hex(),
        previous_seq=prev_seq,
        previous_root=prev_root.hex(),
        consistency=tuple(p.hex() for p in proof),
        signer=key.address,
        signature="",
    )
    # Sign exactly what a verifier will rebuild from the event (one code path: seal_text).
    return msgspec.structs.replace(unsigned, signature=sign_message(seal_text(unsigned), key))


def verify_seals(
    messages: Iterable[Message],
    seals: Sequence[Sealed],
    *,
    fund_address: str,
    manifest: Sequence[bytes] | None = None,
) -> list[Finding]:
    """Everything wrong with a stream's seals and the messages they cover (empty: all good).

    Each seal is recomputed from the stored messages, its signature checked against the
    fund's address, and each pair of consecutive seals checked for a valid chain and
    consistency proof.  Findings on sequences come first (by sequence), then findings on
    seals (by ``last_seq``).

    Args:
        messages: ``(sequence, stored bytes)`` of the stream, in any order.
        seals: the stream's ``Sealed`` events.
        fund_address: the address every seal must be signed by.
        manifest: leaf hashes recorded at sealing time (see the module docstring); it is used
            only if its root equals the root of the seal covering as many leaves.
    """
    stored = {seq: hash_leaf(data) for seq, data in messages}
    ordered = sorted(seals, key=lambda s: s.last_seq)
    sealed_to = max((s.last_seq for s in ordered), default=0)
    findings: list[Finding] = []
    reference = _checked_manifest(manifest, ordered, findings)
    findings[:0] = _sequence_findings(stored, sealed_to, reference)
    current = MerkleTree(stored.get(seq, _ABSENT) for seq in range(1, sealed_to + 1))
    previous: Sealed | None = None
    for seal in ordered:
        findings.extend(_seal_findings(seal, previous, current, fund_address))
        previous = seal
    return findings


def _checked_manifest(
    manifest: Sequence[bytes] | None, seals: Sequence[Sealed], findings: list[Finding]
) -> Sequence[bytes] | None:
    """``manifest`` if a signed seal vouches for it (else a finding and None)."""
    if manifest is None:
        return None
    size = len(manifest)
    vouching = [s for s in seals if s.leaves == size and s.first_seq == 1]
    try:
        root = MerkleTree(manifest).root().hex()
    except ValueError:
        root = ""
    if any(s.root.lower() == root for s in vouching):
        return manifest
    findings.append(
        Finding("bad_manifest", (size,), f"manifest of {size} leaves matches no seal: ignored")
    )
    return None


def _sequence_findings(
    stored: dict[int, bytes], sealed_to: int, reference: Sequence[bytes] | None
) -> list[Finding]:
    """Per-sequence findings: gaps up to ``sealed_to``, and differences from ``reference``."""
    if reference is None:
        return [
            Finding("missing", (seq,), f"sequence {seq} missing")
            for seq in range(1, sealed_to + 1)
            if seq not in stored
        ]
    differ = [seq for seq in range(1, len(reference) + 1) if stored.get(seq) != reference[seq - 1]]
    # Only differing positions can hold a moved event's original place (a moved event left
    # a different one behind), so index just those: memory stays O(changes), not O(leaves).
    sealed_at = {reference[seq - 1]: seq for seq in differ}
    out: list[Finding] = []
    for seq in differ:
        now = stored.get(seq)
        other = sealed_at.get(now) if now is not None else None
        if now is None:
            out.append(Finding("missing", (seq,), f"sequence {seq} missing"))
        elif other is not None and stored.get(other) == reference[seq - 1]:
            if seq < other:  # a swap is one finding, reported at its first sequence
                text = f"sequences {seq} and {other} reordered"
                out.append(Finding("reordered", (seq, other), text))
        elif other is not None:
            text = f"sequence {seq} holds the event sealed at {other}"
            out.append(Finding("moved", (seq, other), text))
        else:
            out.append(Finding("altered", (seq,), f"sequence {seq} altered"))
    out.extend(
        Finding("missing", (seq,), f"sequence {seq} missing")
        for seq in range(len(reference) + 1, sealed_to + 1)
        if seq not in stored
    )
    return out


def _seal_findings(
    seal: Sealed, previous: Sealed | None, current: MerkleTree, fund_address: str
) -> list[Finding]:
    """What is wrong with one seal, given the one before it and the stream as stored."""
    at = seal.last_seq

    def finding(kind: FindingKind, what: str) -> Finding:
        return Finding(kind, (at,), f"seal at {at}: {what}")

    if seal.first_seq != 1 or seal.leaves != seal.last_seq or seal.leaves < 1:
        return [finding("malformed", f"covers {seal.first_seq}..{at} with {seal.leaves} leaves")]
    out: list[Finding] = []
    root = _unhex(seal.root)
    if current.root(seal.leaves) != root:
        out.append(finding("root_mismatch", "root mismatch"))
    signed = is_signed_by(seal_text(seal), seal.signature, fund_address)
    if not signed or seal.signer.lower() != fund_address.lower():
        out.append(finding("bad_signature", "bad signature"))
    prev_seq, prev_leaves, prev_root = 0, 0, EMPTY_ROOT
    if previous is not None:
        prev_seq, prev_leaves, prev_root = previous.last_seq, previous.leaves, _unhex(previous.root)
    if seal.previous_seq != prev_seq or _unhex(seal.previous_root) != prev_root:
        out.append(finding("broken_chain", f"does not extend the seal at {prev_seq}"))
    proof = [_unhex(p) for p in seal.consistency]
    if not verify_consistency(prev_leaves, seal.leaves, prev_root, root, proof):
        out.append(finding("inconsistent", f"not consistent with the seal at {prev_seq}"))
    return out


def _unhex(text: str) -> bytes:
    """Hex to bytes; malformed hex becomes ``b""``, which matches no hash."""
    try:
        return bytes.fromhex(text.removeprefix("0x"))
    except (ValueError, binascii.Error):
        return b""
