"""The one shape every channel client has, and what a send can come back with.

A client turns a rendered :class:`~helix.broadcast.render.Message` into one call to the far
side and classifies what happened:

* :class:`Delivered`: the far side has it (with its id when it said one);
* :class:`Refused` with ``outcome="not_sent"``: it answered no, or was never reached
  (connection refused, 429, a 4xx, an SMTP reply code before the message was accepted);
* :class:`Refused` with ``outcome="unknown"``: the request may have arrived (a timeout or a
  dropped connection after it was sent, a 5xx where the far side may have acted).

``recovery`` says how a client settles an unknown outcome (which is also what a broadcaster
killed between sending and recording leaves behind):

* ``lookup``: :meth:`ChannelClient.lookup` asks the far side what it has (Twilio lists the
  messages sent to the number);
* ``resend``: sending the same message again is safe because the far side refuses a copy
  (X refuses a post whose text duplicates a recent post of the account);
* ``none``: nothing can be asked (Telegram, SMTP); the ``broadcast_unknown`` setting chooses
  at most once (``skip``) or at least once (``resend``).

No client ever puts a secret in a reason: reasons quote the far side's own error text and
exception class names, never a URL (a Telegram token is part of its URLs).
"""

from __future__ import annotations

import contextlib
import email.utils
import time
from dataclasses import dataclass
from typing import Literal, Protocol

from events.broadcast import Channel, Outcome, SentHow
from helix.broadcast.render import Message
from helix.errors import InfrastructureError

Recovery = Literal["lookup", "resend", "none"]


@dataclass(frozen=True)
class Delivered:
    remote_id: str
    how: SentHow = "sent"


@dataclass(frozen=True)
class Refused:
    """The attempt did not knowingly deliver.

    Attributes:
        outcome: ``not_sent`` or ``unknown``.
        reason: the far side's words or the error's class (never a secret).
        status: HTTP status or SMTP reply code.
        retryable: a later attempt may succeed (429, 5xx, network); False for a 4xx that will
            not change (a bad token, an unknown chat).
        retry_after_s: how long the far side asked us to wait, if it said.
    """

    outcome: Outcome
    reason: str
    status: int | None = None
    retryable: bool = True
    retry_after_s: float | None = None


Result = Delivered | Refused


class ChannelError(InfrastructureError):
    """A channel could not be asked what it received (a failed lookup)."""


class ChannelClient(Protocol):
    """One broadcast channel (see the module docstring)."""

    channel: Channel
    takes_images: bool
    recovery: Recovery

    async def send(self, message: Message, image: bytes | None, *, key: str) -> Result:
        """Send once.  ``key`` is the delivery's stable id (SMTP makes it the Message-ID)."""
        ...

    async def lookup(self, message: Message, since_ns: int) -> str | None:
        """The far side's id of ``message`` if it has it (sent after ``since_ns``), else None.

        Raises:
            ChannelError: the far side could not be asked (try again later).
        """
        ...

    async def close(self) -> None: ...


def retry_after_from_headers(headers: dict[str, str], now_s: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or an HTTP date) or X's
    ``x-rate-limit-reset`` (unix seconds), whichever says longer; None if neither is there."""
    now = time.time() if now_s is None else now_s
    waits: list[float] = []
    h = {k.lower(): v for k, v in headers.items()}
    ra = h.get("retry-after", "").strip()
    if ra:
        try:
            waits.append(float(ra))
        except ValueError:
            with contextlib.suppress(TypeError, ValueError):
                waits.append(email.utils.parsedate_to_datetime(ra).timestamp() - now)
    reset = h.get("x-rate-limit-reset", "").strip()
    if reset and h.get("x-rate-limit-remaining", "0").strip() == "0":
        with contextlib.suppress(ValueError):
            waits.append(float(reset) - now)
    return max(0.0, *waits) if waits else None


def classify_status(status: int, reason: str, retry_after_s: float | None) -> Refused:
    """The usual reading of an HTTP error status (a channel may override it).

    429 and 408: not sent, retry (after ``retry_after_s``).  5xx: not sent, retry (a channel
    whose far side may act before failing reports ``unknown`` itself).  Other 4xx: final.
    """
    if status in (408, 429):
        return Refused("not_sent", reason, status, True, retry_after_s)
    if status >= 500:
        return Refused("not_sent", reason, status, True, retry_after_s)
    return Refused("not_sent", reason, status, False)
