"""``helix fund`` as an operator runs it: members, flows, a NAV struck from the trading book in
the log (fills in the trading aggregates, marks in ``MARKET``), fees and affiliates."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from decimal import Decimal as D
from pathlib import Path

import pytest
from nats.aio.client import Client as NATS

from audit.signing import FundKey
from commands.store import Write
from events.market import Trade
from events.trading import FillBooked, position_id
from helix.codec import Codec
from helix.settings import load_settings
from helix.store.streams import ensure_streams
from helix.trading.ledger_store import LedgerEventStore
from tests.e2e.test_cli import helix as run_helix
from tests.services import RunningServices

pytestmark = pytest.mark.integration

KEY = "0x" + "33" * 32  # the key tests/integration/test_audit_cli.py seals LEDGER with


def helix(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_helix("fund", *args, env=env)


def audit(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_helix("audit", *args, env=env)


def figure(text: str, name: str) -> str:
    match = re.search(rf"│ {re.escape(name)}\s+│\s+(\S+) │", text)
    assert match, text
    return match.group(1)


async def seed_book(nc: NATS, services: RunningServices, account: str, venue: str) -> None:
    """Long 1 BTC bought at 60,000 (fee 30) in the trading aggregates; last trade at 61,000."""
    env = {"ts_event": 1, "ts_recorded": 1, "source": "test", "vertical": "perps"}
    fill = FillBooked(
        event_id=uuid.uuid4(), **env, account=account, venue=venue, symbol="BTCUSDT",  # type: ignore[arg-type]
        order_id=uuid.uuid4(), exec_id="x1", side="buy", qty=D(1), price=D(60000), fee=D(30),
        realized_pnl=D(0), size=D(1), entry_price=D(60000),
    )  # fmt: skip
    store = LedgerEventStore.open(
        nc, nats_url=services.nats_url, database_url=services.database_url
    )
    try:
        await store.append(
            [Write(position_id(account, venue, "BTCUSDT"), 0, [fill])], command_id=f"seed-{account}"
        )
    finally:
        await store.aclose()
    trade = Trade(
        event_id=uuid.uuid4(), **env, venue=venue, symbol="BTCUSDT", trade_id="t1",  # type: ignore[arg-type]
        price=D(61000), qty=D("0.1"), side="buy",
    )  # fmt: skip
    await nc.jetstream().publish(f"mkt.{venue}.trade.BTCUSDT", Codec().encode(trade))


async def test_operator_session(nc: NATS, services: RunningServices, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    account, venue = f"fund-{tag}", f"v{tag}"
    await ensure_streams(nc.jetstream(), load_settings({}, dotenv=Path("/nonexistent")))
    await seed_book(nc, services, account, venue)
    env = {
        "HELIX_HOME": str(tmp_path), "HELIX_NATS_URL": services.nats_url,
        "HELIX_DATABASE_URL": services.database_url, "HELIX_FUND_ID": f"f{tag}",
        "HELIX_FUND_ACCOUNTS": account,
    }  # fmt: skip

    def ok(*args: str) -> str:
        res = helix(*args, env=env)
        assert res.returncode == 0, res.stdout + res.stderr
        return res.stdout

    ok("member", "add", "alice", "--kyc", "K1")
    ok("member", "add", "bob", "--kyc", "K2", "--affiliate", "carol")
    refused = helix("member", "add", "eve", env=env)
    assert refused.returncode != 0
    assert "missing_kyc" in refused.stderr
    assert "1000.00000000 units at NAV 10" in ok("deposit", "alice", "10000")
    ok("deposit", "bob", "90000")
    bad = helix("deposit", "bob", "ten", env=env)
    assert bad.returncode != 0
    assert "'ten' is not a number" in bad.stderr

    # equity 100,000 + (61,000 - 60,000) - 30 = 100,970 over 10,000 units
    nav = ok("nav", "--strike")
    assert figure(nav, "NAV per unit") == "10.09700000"
    assert figure(nav, "book PnL (at strike)") == "970"
    assert figure(nav, "conservation gap") == "0"

    fees = ok("fees", "--crystallise", "--days", "365")
    assert "commission" in fees
    assert "carol" in ok("affiliates")
    assert "paid 0.01 to affiliate carol" in ok("payout", "affiliate", "carol", "0.01")
    greedy = helix("payout", "manager", "mgr", "1000000", env=env)
    assert greedy.returncode != 0
    assert "refused" in greedy.stderr
    lonely = helix("nav", "--every", "24h", env=env)
    assert lonely.returncode != 0
    assert "--every needs --strike" in lonely.stderr
    out = ok("withdraw", "alice", "--units", "100")
    assert "settled: 100 units at NAV 10.09700000, paid 1009.70" in out
    members = ok("member", "list")
    assert "alice" in members
    assert "bob" in members
    assert figure(ok("nav"), "conservation gap") == "0"
    too_much = helix("withdraw", "alice", "--units", "100000", env=env)
    assert too_much.returncode != 0
    assert "insufficient_units" in too_much.stderr

    # the member's audit export, from the sealed log, verified offline
    audit_env = {**env, "HELIX_FUND_PRIVATE_KEY": KEY}
    sealed = audit("seal", env=audit_env)
    assert sealed.returncode == 0, sealed.stdout + sealed.stderr
    folder = tmp_path / "alice-export"
    exported = audit("export", "--member", "alice", "--out", str(folder), env=audit_env)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    assert "bob" not in (folder / "events.jsonl").read_text()
    statement = json.loads((folder / "statement.json").read_text())
    # the same units the fund's books give alice (1,000, less fee units, less 100 redeemed)
    row = re.search(r"│ alice\s+│[^│]+│[^│]+│[^│]+│\s+(\S+) │", members)
    assert row, members
    assert statement["closing_units"] == row.group(1)
    assert D(statement["closing_units"]) < 900
    assert [f["kind"] for f in statement["flows"]] == ["deposit", "withdrawal"]
    assert statement["positions"][0]["symbol"] == "BTCUSDT"  # the fund's book, from its fills
    address = FundKey.from_private_key(KEY).address
    checked = audit("verify", str(folder), "--address", address, env={})
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # the whole log: every seal, and every strike of this fund against its booked fills
    whole = audit("verify", "--log", "--address", address, env=audit_env)
    assert whole.returncode == 0, whole.stdout + whole.stderr
    assert "every NAV strike recomputes" in whole.stdout

    rows = (folder / "events.jsonl").read_text().splitlines()
    rows[0], rows[1] = rows[1], rows[0]
    (folder / "events.jsonl").write_text("\n".join(rows) + "\n")
    swapped = audit("verify", str(folder), "--address", address, env={})
    assert swapped.returncode == 3
    assert "out of order" in swapped.stdout
