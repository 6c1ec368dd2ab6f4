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


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def every_seconds(text: str) -> float:
    """``"24h"`` -> 86400.0; units s, m, h, d.

    Raises:
        ConfigError: not a positive number followed by one of those units.
    """
    try:
        value, unit = float(text[:-1]), _UNITS[text[-1:]]
    except (ValueError, KeyError):
        raise ConfigError(
            f"--every {text!r}: give a number and a unit, e.g. 24h, 30m, 1d"
        ) from None
    if value <= 0:
        raise ConfigError(f"--every {text!r} must be positive")
    return value * unit


@audit_app.command("seal")
def seal(
    every: Annotated[
        str | None,
        typer.Option(help="seal on this schedule, e.g. 24h (until stopped)"),
    ] = None,
) -> None:
    """Seal the ledger up to its head (Merkle root over every stored event, signed by the fund's
    key); nothing is written if only the last seal was appended since it."""
    from audit.ledger import seal_if_new
    from audit.signing import fund_key
    from helix.bootstrap import runtime
    from helix.clock import SystemClock
    from helix.errors import ConcurrencyError

    key = fund_key()
    interval = every_seconds(every) if every else None

    def report(sealed: object | None) -> None:
        if sealed is None:
            out.print("nothing new since the last seal")
            return
        out.print(
            f"sealed LEDGER 1..{sealed.last_seq}: root {sealed.root} "  # type: ignore[attr-defined]
            f"(extends seal at {sealed.previous_seq}), signed by {sealed.signer}"  # type: ignore[attr-defined]
        )

    async def go() -> None:
        async with runtime(settings()) as rt:
            while True:
                try:
                    report(await seal_if_new(rt.nc, key, now_ns=SystemClock().now_ns()))
                except ConcurrencyError as exc:
                    if interval is None:
                        raise
                    out.print(f"[yellow]{exc}; next attempt in {every}[/]")
                if interval is None:
                    return
                await asyncio.sleep(interval)

    try:
        asyncio.run(go())
    except KeyboardInterrupt:
        out.print("stopped")


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
