"""Kill the broadcaster between "sent" and "recorded", restart: what the far sides end up with.

The broadcaster runs in a child process (``python -m tests.integration.test_broadcast_crash``)
against the fakes.  Each fake is told to *hold* the next message: it takes it (the message is
delivered) and withholds the answer.  Once all four hold one, the child is killed with SIGKILL:
the ledger has each attempt's intent and no outcome.  A fresh broadcaster then settles them:

* SMS: Twilio's message list has it (by its reference): recorded as sent, not resent;
* X: resent, refused as duplicate content: recorded as sent, one post;
* Telegram and email (nothing to ask): ``skip`` records the outcome unknown and does not
  resend (one message); ``resend`` sends again (two: at least once, never lost).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NATS

from helix.broadcast.credentials import broadcast_secrets, secret_values
from helix.broadcast.decide import DeliveryKey, Policy, attempted
from helix.broadcast.journal import Journal
from helix.broadcast.routing import parse_routes
from helix.broadcast.runner import run_broadcaster
from helix.broadcast.signals import default_registry
from helix.broadcast.wiring import build_clients
from helix.settings import load_settings
from helix.store.connect import connect
from helix.testing.fake_channels import FakeChannels
from helix.testing.fake_channels_smtp import FakeSmtp
from tests.integration.test_broadcast import FAST, NO_DOTENV, SMTP_PASSWORD, SMTP_USER, Bed, bed_for
from tests.unit import _factories as f

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHANNELS = ("telegram", "x", "email", "sms")


@pytest.fixture
def fake() -> Iterator[FakeChannels]:
    with FakeChannels() as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with FakeSmtp(tls=True, user=SMTP_USER, password=SMTP_PASSWORD) as server:
        yield server


@pytest.fixture
async def bed(nc: NATS, fake: FakeChannels, smtp: FakeSmtp) -> AsyncIterator[Bed]:
    async with bed_for(nc, fake, smtp) as b:
        yield b


async def kill_between_sent_and_recorded(bed: Bed, tmp_path: Path) -> None:
    """Run a broadcaster in a child process and SIGKILL it while all four far sides hold a
    delivered message whose answer has not come back."""
    assert bed.smtp is not None
    for api in ("telegram", "x", "sms"):
        bed.fake.hold(api)  # type: ignore[arg-type]
    bed.smtp.hold()
    env = {**os.environ, **bed.environ(), "PYTHONPATH": str(ROOT)}
    log = (tmp_path / "child.log").open("w")
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.test_broadcast_crash", bed.tag,
         str(bed.first_seq)],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        await asyncio.to_thread(bed.fake.wait_holding, 3, 60)
        await asyncio.to_thread(bed.smtp.wait_holding, 60)
        for channel in CHANNELS:  # the far sides have it; the ledger only the intent
            assert await bed.steps(channel) == ["attempted:1"]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        log.close()
    assert child.returncode == -signal.SIGKILL, (tmp_path / "child.log").read_text()
    bed.fake.release()  # the answers now go to a dead socket
    bed.smtp.release()
    assert (bed.fake.count("telegram"), bed.fake.count("x"), bed.fake.count("sms")) == (1, 1, 1)
    assert len(bed.smtp.messages) == 1


async def test_killed_between_sent_and_recorded_each_message_is_there_once(
    bed: Bed, tmp_path: Path
) -> None:
    assert bed.smtp is not None
    await bed.publish(bed.signal(f.cluster_targeted, score=44.6))
    await kill_between_sent_and_recorded(bed, tmp_path)

    await bed.run()  # the restart
    assert (bed.fake.count("telegram"), bed.fake.count("x"), bed.fake.count("sms")) == (1, 1, 1)
    assert len(bed.smtp.messages) == 1
    assert await bed.steps("sms") == ["attempted:1", "failed:unknown:retry", "sent:reconciled"]
    assert await bed.steps("x") == [
        "attempted:1", "failed:unknown:retry", "attempted:2", "sent:duplicate"]  # fmt: skip
    assert await bed.steps("telegram") == ["attempted:1", "failed:unknown:final"]
    assert await bed.steps("email") == ["attempted:1", "failed:unknown:final"]

    await bed.run()  # and again: nothing more
    assert (bed.fake.count("telegram"), bed.fake.count("x"), bed.fake.count("sms")) == (1, 1, 1)
    assert len(bed.smtp.messages) == 1


async def test_resend_policy_trades_a_duplicate_for_never_losing_one(
    bed: Bed, tmp_path: Path
) -> None:
    assert bed.smtp is not None
    bed.extra = {"HELIX_BROADCAST_UNKNOWN": "resend"}
    await bed.publish(bed.signal(f.cluster_targeted, score=44.6))
    await kill_between_sent_and_recorded(bed, tmp_path)

    await bed.run(
        policy=Policy(max_attempts=4, backoff_s=0.05, backoff_max_s=0.2, unknown="resend")
    )
    assert (bed.fake.count("x"), bed.fake.count("sms")) == (1, 1)  # still exactly once
    assert bed.fake.count("telegram") == 2  # no way to ask Telegram: at least once
    assert len(bed.smtp.messages) == 2
    ids = {m["Message-ID"] for m in bed.smtp.messages}
    assert len(ids) == 1  # the same Message-ID: mail clients can fold the copy


async def test_an_intent_that_never_left_is_sent_where_the_far_side_can_say_so(bed: Bed) -> None:
    """Killed after writing the intent, before the request left: nothing reached anyone."""
    signal_ = bed.signal(f.cluster_targeted, score=44.6)
    await bed.publish(signal_)
    seq = bed.first_seq
    journal = Journal(bed.nc, prefix=bed.prefix)
    for channel in CHANNELS:
        key = DeliveryKey(channel, signal_, seq)  # type: ignore[arg-type]
        await journal.append(
            attempted(key, 1, ref=signal_.event_id.hex[:8], digest="-", now=1), expect=0
        )

    await bed.run()
    assert (bed.fake.count("sms"), bed.fake.count("x")) == (1, 1)  # exactly once
    assert await bed.steps("sms") == [
        "attempted:1", "failed:unknown:retry", "failed:not_sent:retry", "attempted:2",
        "sent:sent"]  # fmt: skip
    assert bed.fake.count("telegram") == 0  # at most once: this one is lost (and recorded so)
    assert await bed.steps("telegram") == ["attempted:1", "failed:unknown:final"]


async def child(tag: str, first_seq: int) -> None:
    """The broadcaster the tests kill: follows the ledger until it is killed."""
    env = dict(os.environ)
    settings = load_settings(env, dotenv=NO_DOTENV)
    secrets = broadcast_secrets(env, dotenv=NO_DOTENV)
    registry = default_registry()
    assert settings.nats_url is not None
    nc = await connect(settings.nats_url, name="broadcast-crash-child")
    await run_broadcaster(
        nc, build_clients(settings, secrets), registry=registry,
        routes=parse_routes(settings.broadcast_routes, registry.kind_names()),
        policy=FAST, subjects=[f"ldg.signal.*.t{tag}.>"], prefix=f"ldg.broadcast.t{tag}",
        first_seq=first_seq, secrets=secret_values(secrets),
    )  # fmt: skip


if __name__ == "__main__":
    asyncio.run(child(sys.argv[1], int(sys.argv[2])))
