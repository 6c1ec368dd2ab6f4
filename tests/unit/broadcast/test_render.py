"""Channel templates: each format's limits, escaping, the reference, determinism."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.base import Event
from helix.broadcast.items import Item
from helix.broadcast.render import (
    SMS_SEGMENT,
    X_MAX,
    escape_mdv2,
    render,
    render_email,
    render_sms,
    render_telegram,
    render_x,
    x_weight,
)
from helix.broadcast.signals import default_registry
from helix.testing.fake_channels_http import check_markdown_v2
from tests.unit import _factories as f

SIGNALS = [
    f.cluster_targeted(),
    f.oi_spike(),
    f.volume_spike(),
    f.stop_hunt(),
    f.imbalance_ranked(),
    f.oi_spike(reason="OI jumped 4.7% (506 → 530); z 16.53 ≥ 2.5 over 8 bars and |Δ| ≥ 2%"),
]
IDS = [type(s).__name__ for s in SIGNALS[:-1]] + ["unicode-reason"]


def item(event: Event) -> Item:
    described = default_registry().describe(event)
    assert described is not None
    return described


def long_item(reason: str) -> Item:
    return Item(
        kind="oi_spike", ref="0b1c2d3e", title="Open interest spike", market="bybit BTCUSDT",
        headline="OI +4.74% to 530 (z 16.5), new longs", score=16.5,
        facts=tuple((f"fact {i}", "x" * 40) for i in range(60)), reason=reason, ts_event=0,
    )  # fmt: skip


@pytest.mark.parametrize("event", SIGNALS, ids=IDS)
@pytest.mark.parametrize("channel", ["telegram", "x", "email", "sms"])
def test_every_message_carries_the_reference(event: Event, channel: str) -> None:
    message = render(channel, item(event), image=True)  # type: ignore[arg-type]
    assert event.event_id.hex[:8] in message.text
    assert message.ref == event.event_id.hex[:8]


@pytest.mark.parametrize("event", SIGNALS, ids=IDS)
def test_telegram_text_parses_as_markdown_v2(event: Event) -> None:
    for caption in (False, True):
        text = render_telegram(item(event), caption=caption).text
        assert check_markdown_v2(text) is None, text


def test_a_bare_reserved_character_is_what_telegram_rejects() -> None:
    assert check_markdown_v2("price 95.5") is not None
    assert check_markdown_v2(escape_mdv2("price 95.5 (up) #ref")) is None


def test_telegram_caption_fits_1024_and_text_4096() -> None:
    big = long_item("because " * 600)
    assert len(render_telegram(big, caption=True).text) <= 1024
    assert len(render_telegram(big, caption=False).text) <= 4096
    assert check_markdown_v2(render_telegram(big, caption=True).text) is None


@pytest.mark.parametrize("event", SIGNALS, ids=IDS)
def test_x_posts_fit_280_weighted(event: Event) -> None:
    assert x_weight(render_x(item(event)).text) <= X_MAX


@given(st.text(min_size=0, max_size=600))
def test_x_fits_any_reason_and_keeps_the_reference(reason: str) -> None:
    text = render_x(long_item(reason)).text
    assert x_weight(text) <= X_MAX
    assert text.endswith("#0b1c2d3e")


def test_x_weight_counts_cjk_and_symbols_double() -> None:
    assert x_weight("abc") == 3
    assert x_weight("≥→") == 4
    assert x_weight("日本") == 4


@pytest.mark.parametrize("event", SIGNALS, ids=IDS)
def test_sms_is_one_ascii_segment(event: Event) -> None:
    text = render_sms(item(event)).text
    assert len(text) <= SMS_SEGMENT
    assert text.isascii()
    assert text.endswith(f"#{event.event_id.hex[:8]}")


def test_email_shows_the_heatmap_inline_only_with_one() -> None:
    with_image = render_email(item(f.cluster_targeted()), image=True)
    assert with_image.image_cid
    assert f'src="cid:{with_image.image_cid}"' in with_image.html
    without = render_email(item(f.cluster_targeted()), image=False)
    assert without.image_cid == ""
    assert "cid:" not in without.html
    assert without.subject.startswith("[Helix] ")


def test_email_html_escapes_the_reason() -> None:
    html = render_email(long_item("<script>alert(1)</script> & more"), image=False).html
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize("channel", ["telegram", "x", "email", "sms"])
def test_rendering_is_deterministic(channel: str) -> None:
    a = render(channel, item(f.stop_hunt()), image=True)  # type: ignore[arg-type]
    b = render(channel, item(f.stop_hunt()), image=True)  # type: ignore[arg-type]
    assert a == b
    assert a.digest == b.digest
