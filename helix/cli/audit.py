"""``helix audit``: seal the ledger and verify it (from the log, never from a read model)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated

import typer

from helix.cli.app import every_seconds, group, out, settings
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


def utc_ns(text: str, option: str) -> int:
    """``2026-01-31`` or an ISO datetime (UTC unless it says otherwise) in ns.

    Raises:
        ConfigError: not a date.
    """
    import datetime as dt

    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"{option} {text!r}: give a date like 2026-01-31 or an ISO time"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp()) * 1_000_000_000 + when.microsecond * 1_000


@audit_app.command("export")
def export(
    member: Annotated[str, typer.Option(help="the member's id")],
    out_dir: Annotated[Path, typer.Option("--out", help="folder to write the export into")],
    start: Annotated[str | None, typer.Option("--from", help="period start (UTC date)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="period end (UTC date/time)")] = None,
) -> None:
    """Write a member's statement (HTML, PDF, JSON), events (JSON Lines, CSV), an inclusion
    proof of each against the latest seal, and the seal's signature — from the log only."""
    from audit.ledger import export_member
    from helix.bootstrap import runtime
    from helix.clock import SystemClock
    from helix.fund.runtime import fund_accounts

    cfg = settings()
    period_from = utc_ns(start, "--from") if start else 0
    period_to = utc_ns(end, "--to") if end else SystemClock().now_ns()
    if period_to < period_from:
        raise ConfigError("--to is before --from")

    async def go() -> tuple[object, list[Path]]:
        async with runtime(cfg) as rt:
            return await export_member(
                rt.nc, out_dir, member_id=member, fund_id=cfg.fund_id,
                accounts=fund_accounts(cfg), period_from=period_from, period_to=period_to,
            )  # fmt: skip

    result, files = asyncio.run(go())
    sealed = result.seal  # type: ignore[attr-defined]
    out.print(f"exported {len(result.records)} events of {member} "  # type: ignore[attr-defined]
              f"(sealed through LEDGER {sealed.last_seq}, root {sealed.root[:16]}...)")  # fmt: skip
    for f in files:
        out.print(f"  {f}")


@audit_app.command("verify")
def verify(
    directory: Annotated[
        Path | None, typer.Argument(help="a member export to check offline")
    ] = None,
    log: Annotated[bool, typer.Option("--log", help="verify the whole ledger")] = False,
    address: Annotated[str | None, typer.Option(help="the fund's signing address")] = None,
) -> None:
    """Check a member export offline (proofs, signature, statement replay), or with ``--log``
    recompute every seal of the ledger; name every difference (exit 3 if there is any)."""
    if directory is not None:
        verify_dir(directory, address)
        return
    if not log:
        raise ConfigError("give an export folder, or --log to verify the whole ledger")
    from audit.ledger import verify_log
    from helix.bootstrap import runtime

    signer = fund_address(address)

    from audit.navcheck import BookCheck
    from helix.fund.runtime import fund_accounts, fund_config

    cfg = settings()

    async def go() -> tuple[list[object], int, int]:
        async with runtime(cfg) as rt:
            findings, seals, messages = await verify_log(
                rt.nc, signer, fund_config=fund_config(cfg),
                book=BookCheck(cfg.fund_id, fund_accounts(cfg)),
            )  # fmt: skip
            return list(findings), seals, messages

    findings, seals, messages = asyncio.run(go())
    for f in findings:
        out.print(f"[red]✗[/] {f}")
    if seals == 0:
        out.print("no seals yet: `helix audit seal` writes the first")
    elif not findings:
        out.print(f"ok: {seals} seal(s) over {messages:,} ledger events, all consistent and "
                  f"signed by {signer}; every NAV strike recomputes")  # fmt: skip
    if findings:
        raise typer.Exit(3)


def verify_dir(directory: Path, address: str | None) -> None:
    from audit.export import verify_export

    if not directory.is_dir():
        raise ConfigError(f"{directory} is not a folder")
    expected = address or os.environ.get("HELIX_FUND_ADDRESS")
    result = verify_export(directory, fund_address=expected)
    for f in result.findings:
        out.print(f"[red]✗[/] {f}")
    if result.findings:
        raise typer.Exit(3)
    out.print(f"ok: {result.events} events of member {result.member_id}, each proven in the "
              f"sealed ledger; the statement replays; signed by {result.signer}")  # fmt: skip
    if expected is None:
        out.print("[yellow]note:[/] checked against the signer named in the seal; compare it "
                  "with the fund's published address (or pass --address)")  # fmt: skip
