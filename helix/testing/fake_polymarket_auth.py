"""What the fake Polymarket CLOB checks, the way the real one does (no mocks of the signer).

* L1 (``/auth/api-key``, ``/auth/derive-api-key``): the EIP-712 ``ClobAuth`` signature in
  ``POLY_SIGNATURE`` must recover (eth-account) to ``POLY_ADDRESS``.
* L2 (every trading/account call): ``POLY_SIGNATURE`` must equal
  ``urlsafe_b64(HMAC_SHA256(urlsafe_b64decode(secret), ts + METHOD + path + body))``.
* Orders: the V2 EIP-712 ``Order`` (domain "Polymarket CTF Exchange" version "2", chain id,
  standard or neg-risk exchange) must recover to the order's ``signer``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils.crypto import keccak

CLOB_AUTH_MESSAGE = "This message attests that I control the given wallet"
STANDARD_EXCHANGE = "0xE111180000d2663C0091e4f400237545B87B996B"
NEG_RISK_EXCHANGE = "0xe2222d279d744050d28e00520010520000310F59"
ZERO32 = "0x" + "00" * 32

_ORDER_FIELDS = [
    {"name": "salt", "type": "uint256"},
    {"name": "maker", "type": "address"},
    {"name": "signer", "type": "address"},
    {"name": "tokenId", "type": "uint256"},
    {"name": "makerAmount", "type": "uint256"},
    {"name": "takerAmount", "type": "uint256"},
    {"name": "side", "type": "uint8"},
    {"name": "signatureType", "type": "uint8"},
    {"name": "timestamp", "type": "uint256"},
    {"name": "metadata", "type": "bytes32"},
    {"name": "builder", "type": "bytes32"},
]
_DOMAIN_FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def recover_clob_auth(
    *, address: str, timestamp: str, nonce: int, signature: str, chain_id: int
) -> str:
    """The address that signed an L1 ``ClobAuth`` message."""
    typed = {
        "domain": {"name": "ClobAuthDomain", "version": "1", "chainId": chain_id},
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
            ],
            "ClobAuth": [
                {"name": "address", "type": "address"},
                {"name": "timestamp", "type": "string"},
                {"name": "nonce", "type": "uint256"},
                {"name": "message", "type": "string"},
            ],
        },
        "primaryType": "ClobAuth",
        "message": {
            "address": address,
            "timestamp": timestamp,
            "nonce": nonce,
            "message": CLOB_AUTH_MESSAGE,
        },
    }
    return str(Account.recover_message(encode_typed_data(full_message=typed), signature=signature))


def hmac_signature(secret: str, timestamp: str, method: str, path: str, body: str) -> str:
    raw = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
    message = f"{timestamp}{method}{path}{body}"
    digest = hmac.new(raw, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()


def order_typed_data(order: Mapping[str, Any], *, chain_id: int, exchange: str) -> dict[str, Any]:
    """The V2 typed data of a posted order (``order`` is the JSON ``order`` object)."""
    return {
        "types": {"EIP712Domain": _DOMAIN_FIELDS, "Order": _ORDER_FIELDS},
        "primaryType": "Order",
        "domain": {
            "name": "Polymarket CTF Exchange",
            "version": "2",
            "chainId": chain_id,
            "verifyingContract": exchange,
        },
        "message": {
            "salt": int(order["salt"]),
            "maker": order["maker"],
            "signer": order["signer"],
            "tokenId": int(order["tokenId"]),
            "makerAmount": int(order["makerAmount"]),
            "takerAmount": int(order["takerAmount"]),
            "side": 0 if order["side"] == "BUY" else 1,
            "signatureType": int(order["signatureType"]),
            "timestamp": int(order["timestamp"]),
            "metadata": order.get("metadata") or ZERO32,
            "builder": order.get("builder") or ZERO32,
        },
    }


def order_hash_and_signer(
    order: Mapping[str, Any], *, chain_id: int, exchange: str
) -> tuple[str, str]:
    """(order hash ``0x..``, recovered signer) of a posted V2 order.

    Raises:
        ValueError / KeyError / TypeError: the order or its signature cannot be read.
    """
    signable = encode_typed_data(
        full_message=order_typed_data(order, chain_id=chain_id, exchange=exchange)
    )
    digest = "0x" + keccak(b"\x19" + signable.version + signable.header + signable.body).hex()
    signer = Account.recover_message(signable, signature=order["signature"])
    return digest, str(signer)
