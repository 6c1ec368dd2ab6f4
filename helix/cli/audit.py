"""``helix audit``: seal the ledger and verify it (from the log, never from a read model)."""

from __future__ import annotations

import asyncio
import os
from typing import Annotated

import typer

from helix.cli.app import group, out, settings
from helix.errors import ConfigError

audit_app = group("audit", "Ledger seals and their verification.")


def fund_address(explicit: str | None) -> str:
    """The address seals must be signed by: ``--address``, ``HELIX_FUND_ADDRESS``, or the
    configured key's own address.

    Raises:
        ConfigError: none of them is available.
    """
    if explicit:
        return explicit
    if os.environ.get("HELIX_FUND_ADDRESS"):
        return os.environ["HELIX_FUND_ADDRESS"]
    from audit.signing import fund_key

    try:
        return fund_key().address
    except ConfigError as exc:
        raise ConfigError(
            "which address signs the seals? give --address, HELIX_FUND_ADDRESS or the key"
        ) from exc


@audit_app.command("seal")
def seal() -> None:
    """Seal the ledger up to its head (Merkle root over every stored event, signed)."""
    from audit.ledger import seal as seal_ledger
    from audit.signing import fund_key
    from helix.bootstrap import runtime
    from helix.clock import SystemClock

    key = fund_key()

    async def go() -> object:
        async with runtime(settings()) as rt:
            return await seal_ledger(rt.nc, key, now_ns=SystemClock().now_ns())

    sealed = asyncio.run(go())
    out.print(
        f"sealed LEDGER 1..{sealed.last_seq}: root {sealed.root} "  # type: ignore[attr-defined]
        f"(extends seal at {sealed.previous_seq}), signed by {sealed.signer}"  # type: ignore[attr-defined]
    )


@audit_app.command("verify")
def verify(
    log: Annotated[bool, typer.Option("--log", help="verify the whole ledger")] = False,
    address: Annotated[str | None, typer.Option(help="the fund's signing address")] = None,
) -> None:
    """Recompute every seal from the stored events, check signatures and consistency, and name
    every difference (exit 3 if there is any)."""
    from audit.ledger import verify_log
    from helix.bootstrap import runtime

    if not log:
        raise ConfigError("give --log (verifying a member export comes with `helix audit export`)")
    signer = fund_address(address)

    async def go() -> tuple[list[object], int, int]:
        async with runtime(settings()) as rt:
            findings, seals, messages = await verify_log(rt.nc, signer)
            return list(findings), seals, messages

    findings, seals, messages = asyncio.run(go())
    for f in findings:
        out.print(f"[red]✗[/] {f}")
    if seals == 0:
        out.print("no seals yet: `helix audit seal` writes the first")
    elif not findings:
        out.print(f"ok: {seals} seal(s) over {messages:,} ledger events, all consistent and "
                  f"signed by {signer}")  # fmt: skip
    if findings:
        raise typer.Exit(3)
