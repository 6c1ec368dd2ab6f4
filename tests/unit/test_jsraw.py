"""Parsing JetStream publish acks (plain, batch, duplicate, error) without a server."""

from __future__ import annotations

import msgspec
import pytest

from helix.errors import StoreError
from helix.store.jsraw import ERR_WRONG_LAST_SEQUENCE, Ack, parse_ack

BATCH_ACK = b'{"stream":"T1","seq":3,"batch":"abc","count":3}'
DUPLICATE_ACK = b'{"stream":"T1","seq":6,"duplicate":true}'
ERROR_ACK = (
    b'{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 2"},'
    b'"stream":"T1","seq":0}'
)


def test_plain_ack() -> None:
    ack = parse_ack(b'{"stream":"LEDGER","seq":42,"domain":"hub"}')
    assert (ack.stream, ack.seq, ack.duplicate, ack.count) == ("LEDGER", 42, False, 0)
    assert ack.error is None


def test_plain_ack_has_no_error_code() -> None:
    ack = parse_ack(b'{"stream":"LEDGER","seq":42}')
    assert ack.err_code == 0
    assert ack.description == ""


def test_batch_ack() -> None:
    ack = parse_ack(BATCH_ACK)
    assert (ack.stream, ack.seq, ack.count) == ("T1", 3, 3)
    assert not ack.duplicate


def test_duplicate_ack() -> None:
    ack = parse_ack(DUPLICATE_ACK)
    assert (ack.stream, ack.seq, ack.duplicate) == ("T1", 6, True)


def test_error_ack_fields() -> None:
    ack = parse_ack(ERROR_ACK)
    assert ack.err_code == ERR_WRONG_LAST_SEQUENCE
    assert ack.description == "wrong last sequence: 2"
    assert ack.seq == 0


def test_error_ack_keeps_raw_error() -> None:
    assert parse_ack(ERROR_ACK).error == {
        "code": 400,
        "err_code": 10071,
        "description": "wrong last sequence: 2",
    }


def test_error_without_err_code() -> None:
    ack = parse_ack(b'{"error":{"code":503,"description":"no responders"}}')
    assert ack.err_code == 0
    assert ack.description == "no responders"


def test_ack_is_frozen() -> None:
    ack = parse_ack(BATCH_ACK)
    with pytest.raises(AttributeError):
        ack.seq = 4  # type: ignore[misc]


def test_ack_defaults() -> None:
    assert parse_ack(b"{}") == Ack()


@pytest.mark.parametrize(
    "data",
    [b"", b"not json", b"[]", b"null", b'{"stream":', b'{"seq":"three"}', b'{"error":"x"}'],
    ids=["empty", "text", "array", "null", "truncated", "bad-seq", "bad-error"],
)
def test_garbage_raises_store_error(data: bytes) -> None:
    with pytest.raises(StoreError, match="unreadable JetStream ack"):
        parse_ack(data)


def test_store_error_chains_the_decode_error() -> None:
    with pytest.raises(StoreError) as info:
        parse_ack(b"not json")
    assert isinstance(info.value.__cause__, msgspec.DecodeError)
