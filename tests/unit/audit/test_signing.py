"""Seal signatures: EIP-191 messages signed by the fund's key, which never shows itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.signing import (
    FundKey,
    fund_key,
    is_signed_by,
    recover_signer,
    seal_message,
    sign_message,
)
from helix.errors import ConfigError

# Hardhat/Anvil's public test account #0: a well-known throwaway key, never a real fund's.
TEST_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
TEST_ADDRESS = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
OTHER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"

TEXT = seal_message(
    stream="LEDGER",
    first_seq=1,
    last_seq=100,
    leaves=100,
    root="AB" * 32,
    previous_seq=0,
    previous_root="cd" * 32,
    ts=1_700_000_000_000_000_000,
)


def test_message_is_one_canonical_line() -> None:
    root, previous = "ab" * 32, "cd" * 32
    expected = f"helix-seal:v1:LEDGER:1:100:100:{root}:0:{previous}:1700000000000000000"
    assert expected == TEXT


def test_key_from_environment_wins_over_dotenv(tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"HELIX_FUND_PRIVATE_KEY={OTHER_KEY}\n")
    assert fund_key({}, dotenv=dotenv).address != TEST_ADDRESS
    key = fund_key({"HELIX_FUND_PRIVATE_KEY": TEST_KEY}, dotenv=dotenv)
    assert key.address == TEST_ADDRESS


def test_missing_or_invalid_key_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not set"):
        fund_key({}, dotenv=tmp_path / "none")
    with pytest.raises(ConfigError, match="not a valid private key") as info:
        fund_key({"HELIX_FUND_PRIVATE_KEY": "0x1234zz"}, dotenv=tmp_path / "none")
    assert "1234zz" not in str(info.value)
    assert info.value.__cause__ is None


def test_private_key_never_shows() -> None:
    key = FundKey.from_private_key(TEST_KEY)
    secret = TEST_KEY.removeprefix("0x")
    for shown in (repr(key), str(key), f"{key}", repr([key])):
        assert secret not in shown
        assert TEST_ADDRESS in shown


def test_signature_recovers_the_fund_address() -> None:
    signature = sign_message(TEXT, FundKey.from_private_key(TEST_KEY))
    assert signature.startswith("0x")
    assert len(signature) == 2 + 130
    assert recover_signer(TEXT, signature) == TEST_ADDRESS
    assert is_signed_by(TEXT, signature, TEST_ADDRESS.lower())


def test_another_text_key_or_garbage_does_not_verify() -> None:
    signature = sign_message(TEXT, FundKey.from_private_key(TEST_KEY))
    assert not is_signed_by(TEXT.replace(":100:", ":101:", 1), signature, TEST_ADDRESS)
    other = sign_message(TEXT, FundKey.from_private_key(OTHER_KEY))
    assert not is_signed_by(TEXT, other, TEST_ADDRESS)
    assert recover_signer(TEXT, "0xnothex") is None
    assert recover_signer(TEXT, "0x1234") is None
    assert recover_signer(TEXT, "0x" + "ff" * 65) is None  # r, s beyond the curve order
    assert not is_signed_by(TEXT, "", TEST_ADDRESS)
