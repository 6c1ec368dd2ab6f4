"""Aggregate ids <-> NATS subject tokens.

A subject token may not contain ``.``, ``*``, ``>`` or white space, so ids are encoded:
``u<32 hex>`` for a UUID, ``s<text>`` for a safe string, ``x<hex of utf-8>`` otherwise.
The encoding is reversible, so the subject alone says which aggregate a message belongs to.
"""

from __future__ import annotations

import re
from uuid import UUID

_SAFE = re.compile(r"[A-Za-z0-9_\-]{1,200}")


def encode_id(originator_id: UUID | str) -> str:
    if isinstance(originator_id, UUID):
        return "u" + originator_id.hex
    if _SAFE.fullmatch(originator_id):
        return "s" + originator_id
    return "x" + originator_id.encode().hex()


def decode_id(token: str) -> UUID | str:
    kind, body = token[:1], token[1:]
    if kind == "u":
        return UUID(hex=body)
    if kind == "s":
        return body
    if kind == "x":
        return bytes.fromhex(body).decode()
    raise ValueError(f"not an aggregate token: {token!r}")


def safe_token(text: str) -> str:
    """A subject token for a free-form name (application names, upstream names)."""
    return encode_id(text)[1:] if _SAFE.fullmatch(text) else encode_id(text)
