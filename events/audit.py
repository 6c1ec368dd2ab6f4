"""Audit events: Merkle seals of the ledger (``helix audit seal``)."""

from __future__ import annotations

from events.base import Event


class Sealed(Event, frozen=True, kw_only=True, tag="audit.sealed.v1"):
    """The fund signed the Merkle root of a stream's events ``first_seq..last_seq``.

    Leaf ``i`` is the stored bytes of the message at sequence ``first_seq + i`` (RFC 6962
    hashing, see :mod:`audit.merkle`).  ``ts_event`` is the sealing time; it is signed.

    Attributes:
        stream: the sealed stream (``LEDGER``).
        first_seq: the first sealed sequence (1: a seal always covers the stream from its start,
            so consecutive seals are prefixes of one another).
        last_seq: the last sealed sequence.
        leaves: the number of leaves (``last_seq - first_seq + 1``).
        root: the Merkle Tree Hash, lowercase hex.
        previous_seq: ``last_seq`` of the seal this one extends (0 for the first seal).
        previous_root: that seal's root (the empty tree's hash for the first seal).
        consistency: the RFC 6962 consistency proof from the previous tree to this one, hex,
            so that anyone holding two seals can check the log was only appended to.
        signer: the fund's checksummed address.
        signature: EIP-191 signature of :func:`audit.signing.seal_message`, ``0x`` hex.
    """

    stream: str
    first_seq: int
    last_seq: int
    leaves: int
    root: str
    previous_seq: int
    previous_root: str
    consistency: tuple[str, ...]
    signer: str
    signature: str


AuditEvent = Sealed
