"""Aggregate ids <-> NATS subject tokens: reversible and always a legal token."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from helix.eventstore.subjects import decode_id, encode_id, safe_token

FORBIDDEN = (".", "*", ">")


def _is_legal_token(token: str) -> bool:
    return bool(token) and not any(c in FORBIDDEN or c.isspace() for c in token)


def test_uuid_round_trips() -> None:
    value = uuid.UUID("0b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b")
    assert encode_id(value) == "u0b1c2d3e4f5046178a9b0c1d2e3f4a5b"
    assert decode_id(encode_id(value)) == value


@pytest.mark.parametrize("text", ["abc", "BTCUSDT", "order_42", "a-b-c", "0", "x" * 200])
def test_safe_string_is_kept_readable(text: str) -> None:
    assert encode_id(text) == "s" + text
    assert decode_id(encode_id(text)) == text


def test_uuid_shaped_string_stays_a_string() -> None:
    text = "0b1c2d3e-4f50-4617-8a9b-0c1d2e3f4a5b"
    decoded = decode_id(encode_id(text))
    assert isinstance(decoded, str)
    assert decoded == text


@pytest.mark.parametrize(
    "text",
    ["a.b", "with space", "*", ">", "mkt.>", "tab\there", "ünïcödé", "日本語", "🚀", "", "x" * 201],
)
def test_unsafe_string_round_trips_as_hex(text: str) -> None:
    token = encode_id(text)
    assert token.startswith("x")
    assert _is_legal_token(token)
    assert decode_id(token) == text


@pytest.mark.parametrize("token", ["", "z123", "?abc"])
def test_decode_rejects_unknown_prefix(token: str) -> None:
    with pytest.raises(ValueError, match="not an aggregate token"):
        decode_id(token)


@pytest.mark.parametrize("text", ["BTCUSDT", "my-app_1"])
def test_safe_token_of_safe_name_is_the_name(text: str) -> None:
    assert safe_token(text) == text


@pytest.mark.parametrize("text", ["my.app", "a b", "*", "ünï"])
def test_safe_token_of_unsafe_name_is_legal(text: str) -> None:
    assert _is_legal_token(safe_token(text))


@pytest.mark.parametrize("text", ["abc\n", "BTCUSDT\n"])
def test_trailing_newline_is_not_safe(text: str) -> None:
    assert _is_legal_token(encode_id(text))


@hsettings(database=None, max_examples=300, deadline=None)
@given(st.uuids())
def test_any_uuid_round_trips(value: uuid.UUID) -> None:
    assert decode_id(encode_id(value)) == value


@hsettings(database=None, max_examples=500, deadline=None)
@given(st.text())
def test_any_text_round_trips(text: str) -> None:
    assert decode_id(encode_id(text)) == text


@hsettings(database=None, max_examples=500, deadline=None)
# A trailing newline is the known exception, covered by test_trailing_newline_is_not_safe.
@given(st.text().filter(lambda s: not s.endswith("\n")))
def test_any_text_encodes_to_a_legal_token(text: str) -> None:
    assert _is_legal_token(encode_id(text))
