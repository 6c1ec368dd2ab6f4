"""Broadcast: signals to Telegram, X, email and SMS, each exactly once where the far side allows.

Layout: :mod:`.items` / :mod:`.signals` (what is broadcast: a registry from event type to a
neutral :class:`~helix.broadcast.items.Item`), :mod:`.routing` (which kinds and scores go
where), :mod:`.render` (one template per channel), :mod:`.images` (heatmap PNGs),
:mod:`.telegram` / :mod:`.x` / :mod:`.twilio` / :mod:`.smtp` (the clients, one shape:
:mod:`.channel`), :mod:`.decide` (pure decisions), :mod:`.journal` (the ledger records),
:mod:`.runner` (the consumer) and :mod:`.wiring` (settings to clients).

**Exactly once per (item, channel).**  The broadcaster's memory is the ledger: every attempt
is a write-ahead intent (``broadcast.attempted``) then an outcome (``broadcast.sent`` /
``broadcast.failed``) on a subject per delivery, whose id is derived from (item event id,
channel); each write names the sequence it expects on that subject, so no two broadcasters can
both send one delivery.  A crash can only leave one thing open per channel: an intent without
an outcome, i.e. a message that may or may not have left.  What settles it is the far side:

========= ====================================================== ==========================
channel   mechanism (real, in the far side's API)                 guarantee over a crash
========= ====================================================== ==========================
sms       Twilio lists sent messages; each body carries the       exactly once
          item's reference, found again by listing
x         X refuses a post duplicating a recent one of the        exactly once within X's
          account; texts are deterministic and unique, so a       (undocumented) duplicate
          resend either posts (it never landed) or is refused     window
telegram  none (no idempotency key, a bot cannot list what it     at most once (``skip``) or
          sent); ``message_id`` recorded on success               at least once (``resend``)
email     none (``250`` after DATA is final and cannot be         as Telegram; the stable
          queried); stable ``Message-ID`` per delivery            Message-ID lets mail
                                                                  clients fold a resend
========= ====================================================== ==========================

Outside the crash window every channel is exact: answers that say "not sent" (429 with
``retry_after``, connection refused, 4xx) are retried or recorded as final, and answers with
an id are recorded with it.  A replay or backtest never broadcasts: see
:func:`helix.broadcast.runner.check_live`.
"""
