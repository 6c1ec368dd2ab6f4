"""Signing ledger seals with the fund's Ethereum key (EIP-191 ``personal_sign`` messages).

The signed message is a canonical line of text (:func:`seal_message`) naming everything a seal
asserts: the stream, the sealed range and leaf count, the root, the previous seal it extends
and the sealing time.  Text, not bytes, so that a wallet or any EIP-191 tool can show what is
being signed and check it independently.  Sizes are signed with the roots because a Merkle
proof binds the tree size only through the root.

The private key comes only from ``HELIX_FUND_PRIVATE_KEY`` in the environment or ``.env``
(never from :class:`~helix.settings.Settings`, which is printed in diagnostics); :class:`FundKey`
never shows it in ``repr``.  The fund's address is public.
"""

from __future__ import annotations

import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys.exceptions import BadSignature
from eth_utils.exceptions import ValidationError as EthValidationError

from helix.errors import ConfigError
from helix.settings import read_dotenv

KEY_VARIABLE = "HELIX_FUND_PRIVATE_KEY"
MESSAGE_VERSION = "helix-seal:v1"
SIGNATURE_SIZE = 65  # r (32) || s (32) || v (1)


@dataclass(frozen=True)
class FundKey:
    """The fund's signing key; ``repr`` shows the address only."""

    private_key: str = field(repr=False)
    address: str

    @classmethod
    def from_private_key(cls, private_key: str) -> FundKey:
        """The key and its checksummed address.

        Raises:
            ConfigError: not a valid secp256k1 private key (the message never quotes it).
        """
        try:
            address = Account.from_key(private_key).address
        except (ValueError, TypeError, binascii.Error):
            # ``from None``: the library's own error may quote the key, so no chained cause.
            raise ConfigError(f"{KEY_VARIABLE} is not a valid private key") from None
        return cls(private_key=private_key, address=address)

    def __repr__(self) -> str:
        return f"FundKey(address={self.address!r}, private_key='***')"

    __str__ = __repr__


def fund_key(environ: Mapping[str, str] | None = None, *, dotenv: Path | None = None) -> FundKey:
    """The fund's key from ``HELIX_FUND_PRIVATE_KEY`` (environment first, then ``.env``).

    Args:
        environ: the environment (``os.environ`` by default).
        dotenv: the ``.env`` file (``./.env`` by default).

    Raises:
        ConfigError: the variable is unset, empty or not a private key.
    """
    env = dict(read_dotenv(dotenv if dotenv is not None else Path.cwd() / ".env"))
    env.update(environ if environ is not None else os.environ)
    raw = env.get(KEY_VARIABLE, "").strip()
    if not raw:
        raise ConfigError(f"{KEY_VARIABLE} is not set: sealing needs the fund's signing key")
    return FundKey.from_private_key(raw)


def seal_message(
    *,
    stream: str,
    first_seq: int,
    last_seq: int,
    leaves: int,
    root: str,
    previous_seq: int,
    previous_root: str,
    ts: int,
) -> str:
    """The canonical text a seal's signature covers (roots as lowercase hex, ``ts`` in ns).

    ``helix-seal:v1:<stream>:<first_seq>:<last_seq>:<leaves>:<root>:<previous_seq>:
    <previous_root>:<ts>`` on one line.
    """
    fields = (stream, first_seq, last_seq, leaves, root.lower(), previous_seq)
    tail = (previous_root.lower(), ts)
    return ":".join([MESSAGE_VERSION, *map(str, fields), *map(str, tail)])


def sign_message(text: str, key: FundKey) -> str:
    """The EIP-191 signature of ``text`` by ``key``, as ``0x``-prefixed hex (65 bytes)."""
    signed = Account.sign_message(encode_defunct(text=text), private_key=key.private_key)
    return "0x" + bytes(signed.signature).hex()


def recover_signer(text: str, signature: str) -> str | None:
    """The checksummed address that signed ``text``, or None if ``signature`` is malformed."""
    try:
        sig = bytes.fromhex(signature.removeprefix("0x"))
    except ValueError:
        return None
    if len(sig) != SIGNATURE_SIZE:  # the library fails on short input with a bare IndexError
        return None
    try:
        return str(Account.recover_message(encode_defunct(text=text), signature=sig))
    except (ValueError, EthValidationError, BadSignature):  # r/s/v out of range: no signer
        return None


def is_signed_by(text: str, signature: str, address: str) -> bool:
    """Whether ``signature`` over ``text`` was made by ``address`` (any hex case)."""
    signer = recover_signer(text, signature)
    return signer is not None and signer.lower() == address.lower()
