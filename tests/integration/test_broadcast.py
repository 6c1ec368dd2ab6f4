"""The broadcaster on real NATS against the fake Telegram/Twilio/X server and a real SMTP server.

Every test writes its signals to the live LEDGER under a venue of its own
(``ldg.signal.<kind>.t<tag>.<symbol>``) and its records under ``ldg.broadcast.t<tag>``, so tests
never see each other's signals.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from nats.aio.client import Client as NATS

from events.broadcast import (
    BroadcastAttempted,
    BroadcastFailed,
    BroadcastOpened,
    BroadcastRecord,
    BroadcastSent,
)
from events.signals import Signal
from helix.broadcast.credentials import broadcast_secrets, secret_values
from helix.broadcast.decide import Policy
from helix.broadcast.images import HeatmapImages, ImageSource
from helix.broadcast.journal import Journal
from helix.broadcast.routing import parse_routes
from helix.broadcast.runner import ChannelStats, run_broadcaster
from helix.broadcast.signals import default_registry
from helix.broadcast.wiring import build_clients
from helix.codec import Codec
from helix.errors import ConcurrencyError, ConfigError
from helix.settings import Settings, load_settings
from helix.store.streams import LEDGER, StreamSpec, ensure_stream, ensure_streams
from helix.strategies.runtime import publish_signals
from helix.testing.fake_channels import FakeChannels
from helix.testing.fake_channels_smtp import FakeSmtp
from projections.heatmap import StoredHeatmap
from tests.unit import _factories as f

pytestmark = pytest.mark.integration

FAST = Policy(max_attempts=4, backoff_s=0.05, backoff_max_s=0.2, unknown="skip")
SMTP_USER, SMTP_PASSWORD = "smtp-login-7f3a", "smtp-secret-pw"
NO_DOTENV = Path("/nonexistent/.env")


def heatmap(venue: str, symbol: str) -> StoredHeatmap:
    m, b = 12, 20
    close = np.linspace(95_000, 96_000, m)
    grid = np.random.default_rng(1).random((m, b)) * 1e6
    return StoredHeatmap(
        venue=venue, symbol=symbol, window="24h", start_ns=0, end_ns=m * 3_600_000_000_000,
        edges=np.linspace(94_000, 97_000, b + 1), price=96_000.0, oi_z=None,
        column_ts=np.arange(1, m + 1, dtype=np.int64) * 3_600_000_000_000, open=close,
        high=close + 50, low=close - 50, close=close, long=grid, short=grid[::-1].copy(),
        consumed=np.zeros(m), clusters=[],
    )  # fmt: skip


def btc_heatmaps() -> HeatmapImages:
    """Pictures for BTCUSDT only (other markets have no heatmap yet)."""

    async def load(venue: str, symbol: str, window: str) -> Any:
        return heatmap(venue, symbol) if symbol == "BTCUSDT" else None

    return HeatmapImages(load)


@dataclass
class Bed:
    """One test's corner of the live ledger, the fakes and the settings that point at them."""

    nc: NATS
    fake: FakeChannels
    smtp: FakeSmtp | None
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    extra: dict[str, str] = field(default_factory=dict)
    first_seq: int = 0

    @property
    def venue(self) -> str:
        return f"t{self.tag}"

    @property
    def prefix(self) -> str:
        return f"ldg.broadcast.t{self.tag}"

    def environ(self) -> dict[str, str]:
        env = {"HELIX_HOME": "/tmp/unused", **self.fake.environ(), **self.extra}
        return {**env, **(self.smtp.environ() if self.smtp else {})}

    def settings(self) -> Settings:
        return load_settings(self.environ(), dotenv=NO_DOTENV)

    def signal(self, make: Any = f.oi_spike, **kw: Any) -> Signal:
        fields = {"event_id": uuid.uuid4(), "venue": self.venue, "symbol": "ETHUSDT", **kw}
        return make(**fields)  # type: ignore[no-any-return]

    async def publish(self, *signals: Signal) -> None:
        for s in signals:
            await publish_signals(self.nc, [s], prefix="ldg.signal", codec=Codec())

    async def run(
        self, channels: list[str] | None = None, *, policy: Policy = FAST,
        images: ImageSource | None = None, first_seq: int | None = -1, routes: str | None = None,
        **kw: Any,
    ) -> list[ChannelStats]:  # fmt: skip
        settings, secrets = self.settings(), broadcast_secrets(self.environ(), dotenv=NO_DOTENV)
        registry = default_registry()
        return await run_broadcaster(
            self.nc, build_clients(settings, secrets, channels),  # type: ignore[arg-type]
            registry=registry,
            routes=parse_routes(routes or settings.broadcast_routes, registry.kind_names()),
            policy=policy, images=images, subjects=[f"ldg.signal.*.{self.venue}.>"],
            prefix=self.prefix, first_seq=self.first_seq if first_seq == -1 else first_seq,
            until_caught_up=True, secrets=secret_values(secrets), **kw,
        )  # fmt: skip

    async def records(self, channel: str | None = None) -> list[BroadcastRecord]:
        events = await Journal(self.nc, prefix=self.prefix).read(channel)  # type: ignore[arg-type]
        return [e for _, e in events if isinstance(e, BroadcastRecord)]

    async def steps(self, channel: str) -> list[str]:
        """``attempted:1``, ``failed:unknown:final``, ``sent:duplicate``, ... in order."""
        out = []
        for r in await self.records(channel):
            if isinstance(r, BroadcastAttempted):
                out.append(f"attempted:{r.attempt}")
            elif isinstance(r, BroadcastSent):
                out.append(f"sent:{r.how}")
            elif isinstance(r, BroadcastFailed):
                out.append(f"failed:{r.outcome}:{'final' if r.final else 'retry'}")
        return out


@pytest.fixture
def fake() -> Iterator[FakeChannels]:
    with FakeChannels() as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    with FakeSmtp(tls=True, user=SMTP_USER, password=SMTP_PASSWORD) as server:
        yield server


@contextlib.asynccontextmanager
async def bed_for(nc: NATS, fake: FakeChannels, smtp: FakeSmtp | None) -> AsyncIterator[Bed]:
    await ensure_streams(nc.jetstream(), Settings(home="/tmp/unused"))
    info = await nc.jetstream().stream_info(LEDGER)
    yield Bed(nc, fake, smtp, first_seq=info.state.last_seq + 1)


@pytest.fixture
async def bed(nc: NATS, fake: FakeChannels, smtp: FakeSmtp) -> AsyncIterator[Bed]:
    async with bed_for(nc, fake, smtp) as b:
        yield b


async def test_each_signal_reaches_each_routed_channel_once(bed: Bed) -> None:
    cluster = bed.signal(f.cluster_targeted, symbol="BTCUSDT", score=44.6)
    spike = bed.signal(f.oi_spike)
    await bed.publish(cluster, spike)
    stats = await bed.run(images=btc_heatmaps())
    assert {s.channel: s.sent for s in stats} == {"telegram": 2, "x": 2, "email": 2, "sms": 1}

    fake, smtp = bed.fake, bed.smtp
    assert smtp is not None
    tg = fake.telegram.messages
    assert [m["photo"] is not None for m in tg] == [True, False]  # the BTC heatmap, then none
    assert tg[0]["parse_mode"] == "MarkdownV2"
    assert [bool(t["media_ids"]) for t in fake.x.tweets] == [True, False]
    assert [m["body"].endswith(f"#{cluster.event_id.hex[:8]}") for m in fake.twilio.messages] == [
        True
    ]
    assert len(smtp.messages) == 2
    kinds = [p.get_content_type() for p in smtp.messages[0].walk()]
    assert kinds == ["multipart/alternative", "text/plain", "multipart/related", "text/html",
                     "image/png"]  # fmt: skip
    assert smtp.auth_attempts
    assert all(ok for _, ok in smtp.auth_attempts)

    sent = [r for r in await bed.records() if isinstance(r, BroadcastSent)]
    assert sorted((r.channel, r.item_id) for r in sent) == sorted(
        [(c, s.event_id) for c in ("telegram", "x", "email") for s in (cluster, spike)]
        + [("sms", cluster.event_id)]
    )
    by_channel = {r.channel: r.remote_id for r in sent if r.item_id == cluster.event_id}
    assert by_channel["telegram"] == str(tg[0]["message_id"])
    assert by_channel["x"] == fake.x.tweets[0]["id"]
    assert by_channel["sms"] == fake.twilio.messages[0]["sid"]
    assert by_channel["email"] == smtp.messages[0]["Message-ID"]

    again = await bed.run(images=btc_heatmaps())  # a restart sends nothing twice
    assert sum(s.attempts for s in again) == 0
    assert (fake.count("telegram"), fake.count("x"), fake.count("sms")) == (2, 2, 1)
    assert len(smtp.messages) == 2


async def test_flood_control_retry_after_is_honoured(bed: Bed) -> None:
    await bed.publish(bed.signal())
    bed.fake.fail("telegram", 429, retry_after=1)
    bed.fake.fail("x", 429, retry_after=1)
    t0 = time.monotonic()
    await bed.run(["telegram", "x"])
    assert time.monotonic() - t0 >= 0.9
    for channel in ("telegram", "x"):
        assert await bed.steps(channel) == [
            "attempted:1", "failed:not_sent:retry", "attempted:2", "sent:sent"]  # fmt: skip
    failed = [r for r in await bed.records("telegram") if isinstance(r, BroadcastFailed)]
    assert failed[0].status == 429
    assert failed[0].retry_at is not None
    assert failed[0].retry_at - failed[0].ts_recorded >= 1_000_000_000
    assert (bed.fake.count("telegram"), bed.fake.count("x")) == (1, 1)


async def test_a_twilio_5xx_is_settled_by_listing_before_sending_again(bed: Bed) -> None:
    await bed.publish(bed.signal(f.cluster_targeted, score=44.6))
    bed.fake.fail("sms", 500)
    await bed.run(["sms"])
    assert await bed.steps("sms") == [
        "attempted:1", "failed:unknown:retry", "failed:not_sent:retry", "attempted:2",
        "sent:sent"]  # fmt: skip
    assert bed.fake.count("sms") == 1
    assert ("sms", "GET", f"/2010-04-01/Accounts/{bed.fake.twilio.account_sid}/Messages.json") in (
        bed.fake.requests
    )


async def test_smtp_4xx_is_retried_and_5xx_is_final(bed: Bed) -> None:
    assert bed.smtp is not None
    first, second = bed.signal(), bed.signal()
    await bed.publish(first, second)
    bed.smtp.fail(451)
    bed.smtp.fail(554)
    await bed.run(["email"])
    assert await bed.steps("email") == [
        "attempted:1", "failed:not_sent:retry", "attempted:2", "failed:not_sent:final",
        "attempted:1", "sent:sent"]  # fmt: skip
    assert len(bed.smtp.messages) == 1


async def test_a_permanent_refusal_is_final_and_the_channel_moves_on(bed: Bed) -> None:
    await bed.publish(bed.signal(), bed.signal())
    bed.fake.fail("telegram", 400)
    await bed.run(["telegram"])
    assert await bed.steps("telegram") == [
        "attempted:1", "failed:not_sent:final", "attempted:1", "sent:sent"]  # fmt: skip
    assert bed.fake.count("telegram") == 1


async def test_a_lost_answer_is_settled_per_channel(bed: Bed) -> None:
    """The far side took it but its answer never came (a timeout)."""
    bed.extra = {"HELIX_BROADCAST_TIMEOUT_S": "0.5"}
    await bed.publish(bed.signal())
    bed.fake.hold("telegram")
    bed.fake.hold("x")
    await bed.run(["telegram", "x"])
    bed.fake.release()
    assert await bed.steps("telegram") == ["attempted:1", "failed:unknown:final"]  # at most once
    assert await bed.steps("x") == ["attempted:1", "failed:unknown:retry", "attempted:2",
                                    "sent:duplicate"]  # fmt: skip
    assert (bed.fake.count("telegram"), bed.fake.count("x")) == (1, 1)


async def test_the_broadcaster_refuses_anything_but_the_live_ledger(bed: Bed) -> None:
    await bed.publish(bed.signal())
    for kwargs in ({"stream": "BACKTEST"}, {"subjects": ["bt.signal.>"]},
                   {"prefix": "bt.broadcast"}):  # fmt: skip
        settings, secrets = bed.settings(), broadcast_secrets(bed.environ(), dotenv=NO_DOTENV)
        with pytest.raises(ConfigError):
            await run_broadcaster(
                bed.nc, build_clients(settings, secrets), registry=default_registry(),
                routes=parse_routes("telegram:*", default_registry().kind_names()), policy=FAST,
                until_caught_up=True, **kwargs,  # type: ignore[arg-type]
            )  # fmt: skip
    assert bed.fake.requests == []


async def test_backtest_signals_in_another_stream_are_never_broadcast(bed: Bed) -> None:
    js = bed.nc.jetstream()
    stream, prefix = f"BT_{bed.tag}", f"bt{bed.tag}.signal"
    await ensure_stream(
        js, StreamSpec(name=stream, subjects=(f"bt{bed.tag}.>",), allow_atomic=True)
    )
    try:
        signal = bed.signal()
        await publish_signals(bed.nc, [signal], prefix=prefix, codec=Codec())
        stats = await bed.run(["telegram"])
        assert stats[0].attempts == 0
        assert bed.fake.count("telegram") == 0
    finally:
        await js.delete_stream(stream)


async def test_a_channel_starts_at_the_head_when_it_first_runs(bed: Bed) -> None:
    await bed.publish(bed.signal())  # history: never sent
    await bed.run(["telegram"], first_seq=None)
    assert bed.fake.count("telegram") == 0
    opened = await Journal(bed.nc, prefix=bed.prefix).read("telegram")
    assert [type(e) for _, e in opened] == [BroadcastOpened]
    await bed.publish(bed.signal())
    await bed.run(["telegram"], first_seq=None)
    assert bed.fake.count("telegram") == 1


async def test_two_broadcasters_never_send_one_delivery_twice(bed: Bed) -> None:
    signals = [bed.signal() for _ in range(5)]
    await bed.publish(*signals)
    results = await asyncio.gather(
        bed.run(["telegram"]), bed.run(["telegram"]), return_exceptions=True
    )
    errors = [r for r in results if isinstance(r, BaseException)]
    assert all(isinstance(e, ConcurrencyError) for e in errors), errors
    assert len(errors) < 2
    assert await bed.run(["telegram"]) is not None  # whatever the loser left is finished
    assert bed.fake.count("telegram") == 5
    sent = [r for r in await bed.records("telegram") if isinstance(r, BroadcastSent)]
    assert sorted(r.item_id for r in sent) == sorted(s.event_id for s in signals)


async def test_secrets_never_reach_logs_or_the_ledger(
    bed: Bed, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await bed.publish(bed.signal(f.cluster_targeted, score=44.6))
    bed.fake.fail("telegram", 500)
    bed.fake.fail("sms", 429)
    bed.fake.fail("x", 503)
    await bed.run()
    bed.extra = {
        "HELIX_TELEGRAM_BOT_TOKEN": "999:wrong-token-value",
        "HELIX_SMTP_PASSWORD": "nope-wrong-pw",
    }
    await bed.publish(bed.signal())
    await bed.run(["telegram", "email"])
    secrets = secret_values(broadcast_secrets(bed.environ(), dotenv=NO_DOTENV))
    secrets += [SMTP_PASSWORD, bed.fake.telegram.token, bed.fake.twilio.auth_token]
    reasons = " ".join(getattr(r, "reason", "") + repr(r) for r in await bed.records())
    assert "Unauthorized" in reasons  # the far side's words are kept
    ours = "\n".join(  # the fakes' own logs are the far side's, not ours
        r.getMessage() for r in caplog.records if not r.name.startswith(("mail.log", "aiohttp."))
    )
    assert "sent" in ours
    assert not [s for s in secrets if s in ours or s in reasons]
