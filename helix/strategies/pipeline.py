"""Market events through a strategy and the execution service: the loop live sessions and
backtests share.

For each market event, in log order: the service sees it (marks, paper fills, funding), the
scanner may emit signals, and when it does the book is brought up to date and the auto-trader's
commands are executed one by one.  A live ``helix trade serve --autotrade`` session and a
backtest of the same events therefore decide the same orders and fills.
"""

from __future__ import annotations

from events.base import Event
from events.signals import Signal
from helix.strategies.autotrader import AutoTrader
from helix.strategies.scanner import PerpsScanner
from helix.trading.service import ExecutionService


class TradingPipeline:
    """See the module docstring.  ``trader`` None: signals only."""

    def __init__(
        self, svc: ExecutionService, scanner: PerpsScanner, trader: AutoTrader | None
    ) -> None:
        self.svc = svc
        self.scanner = scanner
        self.trader = trader

    async def on_market(self, seq: int, event: Event) -> list[Signal]:
        svc = self.svc
        svc.feed(seq, event)
        signals = self.scanner.on_event(seq, event)
        if signals and self.trader is not None:
            await svc.queue.join()  # decide on the book as of this event
            account = self.trader.cfg.account
            for sig in signals:
                for cmd in self.trader.on_signal(
                    sig, book=svc.book, marks=svc.marks, instruments=svc.instruments,
                    equity=svc.equity(account),
                ):  # fmt: skip
                    await svc.execute(cmd)
        return signals
