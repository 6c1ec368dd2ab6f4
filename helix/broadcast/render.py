"""One message per channel, from an :class:`~helix.broadcast.items.Item` and a template.

=========== ================================ ===================================================
channel     format                           limits kept here
=========== ================================ ===================================================
sms         plain ASCII text                 one GSM-7 segment (160) where it fits; at most 1600
telegram    MarkdownV2 (every reserved       4096 characters; 1024 as a photo caption
            character escaped)
x           plain text                       280, weighted as X counts (most CJK, emoji and
                                             symbols count 2)
email       subject + plain text + HTML      HTML shows the heatmap inline (``cid:``)
=========== ================================ ===================================================

Every message ends with the item's reference (``#1a2b3c4d``): followers can quote it, and it is
how a message is found again on a far side that can be listed (Twilio).  Rendering is a pure
function of the item, so a resend after a restart is the same text.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import unicodedata
from dataclasses import dataclass

from events.broadcast import Channel
from helix.broadcast.items import Item

TELEGRAM_TEXT_MAX = 4096
TELEGRAM_CAPTION_MAX = 1024
X_MAX = 280
SMS_SEGMENT = 160
SMS_MAX = 1600

SMS_TEMPLATE = "HELIX {title}: {market} {headline} #{ref}"
X_TEMPLATE = "{title} | {market}\n{headline}\n{reason}\n#{ref}"
TELEGRAM_TEMPLATE = "*{title}* \\| {market}\n{headline}\n\n{facts}\n\n_{reason}_\n\\#{ref}"
EMAIL_SUBJECT_TEMPLATE = "[Helix] {title}: {market} #{ref}"
EMAIL_TEXT_TEMPLATE = "{title} | {market}\n{headline}\n\n{facts}\n\n{reason}\n\n#{ref}\n"
EMAIL_HTML_TEMPLATE = """<html><body style="font-family:sans-serif">
<h2>{title} <small>{market}</small></h2>
<p><b>{headline}</b></p>
<table cellpadding="3">{rows}</table>
<p><i>{reason}</i></p>{image}
<p style="color:#888">Helix #{ref}</p>
</body></html>
"""

_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!\\")


@dataclass(frozen=True)
class Message:
    """A rendered message for one channel.

    Attributes:
        channel: where it goes.
        ref: the item's reference (in the text).
        text: the body (SMS, MarkdownV2 for Telegram, X post, email's plain part).
        subject / html: email only.
        image_cid: the ``Content-ID`` the HTML shows the heatmap under ("" without one).
    """

    channel: Channel
    ref: str
    text: str
    subject: str = ""
    html: str = ""
    image_cid: str = ""

    @property
    def digest(self) -> str:
        """SHA-256 of everything the far side gets (the image aside)."""
        blob = "\x00".join((self.channel, self.subject, self.text, self.html))
        return hashlib.sha256(blob.encode()).hexdigest()


def escape_mdv2(text: str) -> str:
    """Escape every MarkdownV2 reserved character (Telegram rejects a bare one)."""
    return "".join("\\" + c if c in _MDV2_RESERVED else c for c in text)


def x_weight(text: str) -> int:
    """The length X counts: 1 per code point in its light ranges, 2 for the rest.

    (twitter-text v3 config: 0-4351, 8192-8205, 8208-8223, 8242-8247 weigh 1; there are no URLs
    in these messages, which X would count as 23.)
    """
    total = 0
    for ch in unicodedata.normalize("NFC", text):
        cp = ord(ch)
        light = cp <= 4351 or 8192 <= cp <= 8205 or 8208 <= cp <= 8223 or 8242 <= cp <= 8247
        total += 1 if light else 2
    return total


def ascii_text(text: str) -> str:
    """Plain ASCII for SMS (GSM-7 friendly): accents stripped, other symbols dropped."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(folded.split())


def _trim(text: str, limit: int, weight: object = len) -> str:
    """Cut ``text`` to ``limit`` (by ``weight``), ending with an ellipsis if cut."""
    measure = weight if callable(weight) else len
    if measure(text) <= limit:
        return text
    while text and measure(text + "...") > limit:
        text = text[:-1]
    return text.rstrip() + "..."


def render_sms(item: Item) -> Message:
    fields = {k: ascii_text(v) for k, v in _fields(item).items()}
    text = SMS_TEMPLATE.format(**fields)
    if len(text) > SMS_SEGMENT:  # drop the headline's tail, keep the reference
        tail = f" #{item.ref}"
        text = _trim(text[: -len(tail)], SMS_SEGMENT - len(tail)) + tail
    return Message("sms", item.ref, text[:SMS_MAX])


def render_x(item: Item) -> Message:
    fields = _fields(item)
    text = X_TEMPLATE.format(**fields)
    if x_weight(text) > X_MAX:
        fixed = x_weight(X_TEMPLATE.format(**{**fields, "reason": ""}))
        reason = _trim(item.reason, max(X_MAX - fixed, 0), x_weight)
        text = X_TEMPLATE.format(**{**fields, "reason": reason})
        if x_weight(text) > X_MAX:
            tail = f"\n#{item.ref}"
            text = _trim(text[: -len(tail)], X_MAX - x_weight(tail), x_weight) + tail
    return Message("x", item.ref, text)


def render_telegram(item: Item, *, caption: bool) -> Message:
    """MarkdownV2; ``caption``: it goes under a photo (1024 characters, not 4096)."""
    limit = TELEGRAM_CAPTION_MAX if caption else TELEGRAM_TEXT_MAX
    e = {k: escape_mdv2(v) for k, v in _fields(item).items()}
    facts = [f"{escape_mdv2(label)}: {escape_mdv2(value)}" for label, value in item.facts]
    text = TELEGRAM_TEMPLATE.format(**e, facts="\n".join(facts))
    while len(text) > limit and facts:  # drop facts from the end, then shorten the reason
        facts.pop()
        text = TELEGRAM_TEMPLATE.format(**e, facts="\n".join(facts))
    if len(text) > limit:
        room = limit - len(TELEGRAM_TEMPLATE.format(**{**e, "reason": ""}, facts=""))
        reason = escape_mdv2(_trim(item.reason, max(room // 2, 0)))  # escaping may double it
        text = TELEGRAM_TEMPLATE.format(**{**e, "reason": reason}, facts="")
    return Message("telegram", item.ref, text)


def render_email(item: Item, *, image: bool) -> Message:
    f = _fields(item)
    h = {k: html_lib.escape(v) for k, v in f.items()}
    rows = "".join(
        f"<tr><td>{html_lib.escape(label)}</td><td>{html_lib.escape(value)}</td></tr>"
        for label, value in item.facts
    )
    cid = f"heatmap-{item.ref}@helix" if image else ""
    img = f'\n<p><img src="cid:{cid}" alt="liquidation heatmap" width="800"></p>' if image else ""
    facts = "\n".join(f"{label}: {value}" for label, value in item.facts)
    return Message(
        "email",
        item.ref,
        EMAIL_TEXT_TEMPLATE.format(**f, facts=facts),
        subject=EMAIL_SUBJECT_TEMPLATE.format(**f),
        html=EMAIL_HTML_TEMPLATE.format(**h, rows=rows, image=img),
        image_cid=cid,
    )


def render(channel: Channel, item: Item, *, image: bool = False) -> Message:
    """The message for ``channel`` (``image``: a heatmap goes with it)."""
    if channel == "sms":
        return render_sms(item)
    if channel == "x":
        return render_x(item)
    if channel == "telegram":
        return render_telegram(item, caption=image)
    return render_email(item, image=image)


def _fields(item: Item) -> dict[str, str]:
    return {
        "title": item.title,
        "market": item.market,
        "headline": item.headline,
        "reason": item.reason,
        "ref": item.ref,
    }
