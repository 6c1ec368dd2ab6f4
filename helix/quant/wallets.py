"""Polymarket wallet metrics: the avg-cost PnL engine, the smart score and pre-news entries
(quant.md §7).

Pure maths, no I/O.  Money, prices and sizes are ``Decimal``; time is int UTC ns.  Scores and
ratios (ROI, z, SS, win rate, Brier) are ``float``.

**Engine** (§7.1, the Polymarket pnl-subgraph method, one :class:`OutcomePosition` per
``(wallet, market = condition id, outcome name)``):

* BUY(price, q): ``avg ← (avg·amount + price·q)/(amount + q)``, ``amount += q``,
  ``total_bought += q``, ``cost += price·q``.
* SELL(price, q): ``q' = min(q, amount)`` (tokens acquired outside the tracked fills carry no
  PnL), ``realized += q'·(price − avg)``, ``amount −= q'``.  ``avg`` is unchanged.
* Resolution (our addition): the remaining amount is redeemed at the outcome's payout, as if
  the wallet had redeemed (losers often never do).  A fill that arrives for an already
  resolved market is applied and the new amount is redeemed at once, so no resolved position
  ever stays open.  A wallet's own redemption (a SELL after resolution) then finds amount 0 and
  changes nothing, so it is never counted twice.
* Unrealized = ``amount·(mark − avg)``; a position of a resolved market has none.

Arithmetic runs in :data:`CONTEXT` (28 significant digits, ROUND_HALF_EVEN) whatever the
thread's decimal context is, so results are reproducible.

**Samples of the smart score** (§7.4; our decision for markets with several outcomes): the
sample is built per *outcome position* of a resolved market that the wallet bought
(``total_bought > 0``), one :class:`ResolvedSample` each.

* ``c_i`` / ``o_i`` (z and Brier): only positions that still held tokens when the market
  resolved (``held``).  ``c_i`` is the avg-cost price of the tokens redeemed at resolution
  (the avg BUY price of the position held to resolution), ``o_i`` its payout.  A wallet that
  held YES and NO of one market gives two samples, (c_YES, o_YES) and (c_NO, o_NO): a hedge
  contributes ``(1 − c_YES − c_NO)`` to Σ(o − c), which is 0 for a pair bought at fair prices.
* ``ROI_r``: realized PnL over cost of *every* bought position of the resolved markets,
  including positions sold out before resolution.
* ``n`` (shrinkage, ``smart``/``insider_watch`` thresholds, win rate, pre-news ratio): the
  number of resolved *markets* the wallet bought in, not the number of samples.
* Win rate: a resolved (wallet, market) pair is a win when the realized PnL summed over its
  outcomes is > 0.

**Pre-news entries** (§7.3): :func:`move_events` finds moves of ≥ 20pp within 24h on an hourly
YES-midpoint series (greedy by earliest start: the first start that has a qualifying end wins,
its window ends at the extreme of the move within 24h, and the next move may start at that
end, never inside the window).  :func:`is_prenews` checks one BUY against those moves.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal

from helix.errors import ValidationError

CONTEXT = Context(prec=28)
"""Decimal context of every engine operation (28 digits, ROUND_HALF_EVEN)."""

ZERO = Decimal(0)
ONE = Decimal(1)
HOUR_NS = 3_600 * 1_000_000_000

SMART_THRESHOLD = 30.0  # SS ≥ 30 (§7.4)
SMART_MIN_RESOLVED = 20  # n ≥ 20
INSIDER_RATIO = 0.3  # prenews_ratio ≥ 0.3
INSIDER_MAX_RESOLVED = 10  # n ≤ 10
SHRINK_N = 20  # n/(n+20)

MOVE_MIN = Decimal("0.20")  # §7.3: |p(T1) − p(T0)| ≥ 0.20
MOVE_WINDOW_NS = 24 * HOUR_NS  # T1 − T0 ≤ 24h
PRENEWS_LOOKBACK_NS = 72 * HOUR_NS  # T0 − 72h ≤ t_e < T0
PRENEWS_MAX_GAP = Decimal("0.05")  # |p(t_e) − p(T0)| ≤ 0.05
PRENEWS_MIN_NOTIONAL = Decimal(500)  # notional ≥ $500

_SIDES = {"buy": "buy", "sell": "sell", "BUY": "buy", "SELL": "sell", "Buy": "buy", "Sell": "sell"}


def _check_price(x: Decimal, name: str) -> None:
    if not isinstance(x, Decimal) or not x.is_finite() or not ZERO <= x <= ONE:
        raise ValidationError(f"{name} must be a Decimal in [0, 1], got {x!r}")


def _check_size(x: Decimal, name: str) -> None:
    if not isinstance(x, Decimal) or not x.is_finite() or x < 0:
        raise ValidationError(f"{name} must be a finite Decimal >= 0, got {x!r}")


# --- fills and the avg-cost engine ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WalletFill:
    """One fill of one wallet on one outcome token.

    ``side`` is ``"buy"`` or ``"sell"`` (``"BUY"``/``"Buy"`` are normalised); ``size`` is the
    number of outcome tokens (≥ 0), ``price`` the token price in [0, 1], ``ts`` int UTC ns.

    Raises:
        ValidationError: on a bad side, a negative or non-finite size, a price outside [0, 1].
    """

    wallet: str
    market: str
    outcome: str
    side: str
    size: Decimal
    price: Decimal
    ts: int

    def __post_init__(self) -> None:
        side = _SIDES.get(self.side)
        if side is None:
            raise ValidationError(f"side must be 'buy' or 'sell', got {self.side!r}")
        if side is not self.side:
            object.__setattr__(self, "side", side)
        _check_size(self.size, "size")
        _check_price(self.price, "price")

    @property
    def notional(self) -> Decimal:
        """``size · price`` in USDC."""
        return self.size * self.price

    @property
    def is_buy(self) -> bool:
        return self.side == "buy"


@dataclass(slots=True)
class OutcomePosition:
    """The Polymarket avg-cost engine for one (wallet, market, outcome); see the module doc.

    ``redeemed`` and ``redeemed_basis`` (Σ avg·q over the tokens redeemed at resolution) give
    the sample price ``c_i = redeemed_basis / redeemed`` of §7.4.
    """

    amount: Decimal = ZERO
    avg_price: Decimal = ZERO
    realized: Decimal = ZERO
    total_bought: Decimal = ZERO
    cost: Decimal = ZERO  # Σ price·q over BUYs
    first_buy_ts: int | None = None
    payout: Decimal | None = None  # set when the market resolved
    redeemed: Decimal = ZERO
    redeemed_basis: Decimal = ZERO

    def buy(self, price: Decimal, q: Decimal, ts: int | None = None) -> None:
        """BUY ``q`` tokens at ``price``: update the average, the amount, the cost."""
        if not q:
            return
        c = CONTEXT  # Context methods: exact and fast, whatever the thread's context is
        pq = c.multiply(price, q)
        new_amount = c.add(self.amount, q)
        self.avg_price = c.divide(c.add(c.multiply(self.avg_price, self.amount), pq), new_amount)
        self.amount = new_amount
        self.total_bought = c.add(self.total_bought, q)
        self.cost = c.add(self.cost, pq)
        if ts is not None and (self.first_buy_ts is None or ts < self.first_buy_ts):
            self.first_buy_ts = ts

    def sell(self, price: Decimal, q: Decimal) -> Decimal:
        """SELL ``q`` tokens at ``price``; only ``min(q, amount)`` realise PnL.

        Returns:
            The realized delta ``q'·(price − avg)``.
        """
        qq = q if q < self.amount else self.amount
        if qq <= 0:
            return ZERO
        c = CONTEXT
        delta = c.multiply(qq, c.subtract(price, self.avg_price))
        self.realized = c.add(self.realized, delta)
        self.amount = c.subtract(self.amount, qq)
        return delta

    def resolve(self, payout: Decimal) -> Decimal:
        """Redeem the remaining amount at ``payout`` (our addition to §7.1).

        Calling it again with the same payout redeems only what was bought since.

        Returns:
            The realized delta ``amount·(payout − avg)``.

        Raises:
            ValidationError: if the payout is outside [0, 1] or differs from an earlier one.
        """
        _check_price(payout, "payout")
        if self.payout is not None and self.payout != payout:
            raise ValidationError(f"position already resolved at {self.payout}, not {payout}")
        self.payout = payout
        qq = self.amount
        if qq <= 0:
            return ZERO
        c = CONTEXT
        delta = c.multiply(qq, c.subtract(payout, self.avg_price))
        self.realized = c.add(self.realized, delta)
        self.redeemed = c.add(self.redeemed, qq)
        self.redeemed_basis = c.add(self.redeemed_basis, c.multiply(qq, self.avg_price))
        self.amount = ZERO
        return delta

    def apply_fill(self, fill: WalletFill, payout: Decimal | None = None) -> None:
        """BUY or SELL by ``fill``; with the ``payout`` of a market that already resolved, the
        tokens are redeemed at once.

        Raises:
            ValidationError: as :meth:`resolve`.
        """
        if fill.is_buy:
            self.buy(fill.price, fill.size, fill.ts)
        else:
            self.sell(fill.price, fill.size)
        if payout is not None:
            self.resolve(payout)

    def unrealized(self, mark: Decimal) -> Decimal:
        """``amount·(mark − avg)``; 0 once resolved."""
        if self.payout is not None or not self.amount:
            return ZERO
        return CONTEXT.multiply(self.amount, CONTEXT.subtract(mark, self.avg_price))

    @property
    def held_price(self) -> Decimal | None:
        """``c_i``: avg cost of the tokens held to resolution (None if none were)."""
        if self.redeemed <= 0:
            return None
        return CONTEXT.divide(self.redeemed_basis, self.redeemed)


# --- the smart score --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResolvedSample:
    """One bought outcome position of a resolved market (see the module doc).

    ``avg_price`` is ``c_i`` and ``payout`` is ``o_i``; they enter z and Brier only when
    ``held`` (tokens were held to resolution).  ``realized`` and ``cost`` always enter ROI_r.
    """

    avg_price: Decimal
    payout: Decimal
    realized: Decimal
    cost: Decimal
    held: bool = True
    market: str = ""
    outcome: str = ""


def clip(x: float, lo: float = -1.0, hi: float = 1.0) -> float:
    return lo if x < lo else hi if x > hi else x


def skill_z(resolved: Sequence[ResolvedSample]) -> float:
    """``z = Σ(o − c)/sqrt(Σ c(1 − c))`` over the held samples; 0 when the denominator is 0."""
    num = 0.0
    var = 0.0
    for s in resolved:
        if s.held:
            c = float(s.avg_price)
            num += float(s.payout) - c
            var += c * (1.0 - c)
    return num / math.sqrt(var) if var > 0 else 0.0


def roi_realized(resolved: Sequence[ResolvedSample]) -> float:
    """``ROI_r = Σ realized / Σ cost``; 0 when nothing was spent."""
    cost = sum((s.cost for s in resolved), ZERO)
    if cost <= 0:
        return 0.0
    return float(sum((s.realized for s in resolved), ZERO) / cost)


def brier(resolved: Sequence[ResolvedSample]) -> float | None:
    """Calibration: mean ``(c_i − o_i)²`` over the held samples, None without any."""
    held = [(float(s.avg_price) - float(s.payout)) ** 2 for s in resolved if s.held]
    return sum(held) / len(held) if held else None


def smart_score(
    resolved: Sequence[ResolvedSample], prenews_ratio: float, *, n: int | None = None
) -> tuple[float, float, float]:
    """The smart score of §7.4.

    ``SS = 100·n/(n+20)·[0.5·clip(z/3) + 0.3·clip(ROI_r) + 0.2·prenews_ratio]``, range −80..100.

    Args:
        resolved: the wallet's samples (one per bought outcome position of a resolved market).
        prenews_ratio: §7.3 ratio in [0, 1].
        n: the number of resolved markets; defaults to ``len(resolved)`` (one sample per
            market, as in TV-7).  :class:`WalletBook` passes the market count.

    Returns:
        ``(SS, z, ROI_r)``.
    """
    nn = len(resolved) if n is None else n
    z = skill_z(resolved)
    roi_r = roi_realized(resolved)
    if nn <= 0:
        return 0.0, z, roi_r
    core = 0.5 * clip(z / 3.0) + 0.3 * clip(roi_r) + 0.2 * prenews_ratio
    return 100.0 * nn / (nn + SHRINK_N) * core, z, roi_r


def is_smart(
    ss: float, n: int, *, threshold: float = SMART_THRESHOLD, min_n: int = SMART_MIN_RESOLVED
) -> bool:
    """Smart wallet: ``SS ≥ 30`` and ``n ≥ 20``."""
    return ss >= threshold and n >= min_n


def is_insider_watch(
    prenews_ratio: float,
    n: int,
    *,
    min_ratio: float = INSIDER_RATIO,
    max_n: int = INSIDER_MAX_RESOLVED,
) -> bool:
    """Insider-watch flag: ``prenews_ratio ≥ 0.3`` and ``n ≤ 10`` (with n ≥ 1)."""
    return n >= 1 and prenews_ratio >= min_ratio and n <= max_n


@dataclass(frozen=True, slots=True)
class WalletMetrics:
    """Everything §7 says about one wallet (see the module doc for the sample rules).

    ``n_markets`` counts every market with a fill; ``n_resolved`` the resolved markets the
    wallet bought in (the ``n`` of §7.4); ``n_samples`` the held outcome positions behind z
    and ``brier``.  ``roi`` is ``(realized + unrealized)/cost`` (0 when cost is 0).
    """

    wallet: str
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    cost: Decimal
    roi: float
    n_markets: int
    n_resolved: int
    win_rate: float | None
    brier: float | None
    z: float
    roi_realized: float
    prenews_ratio: float
    smart_score: float
    smart: bool
    insider_watch: bool
    n_samples: int = 0


# --- the book ---------------------------------------------------------------------------------

Key = tuple[str, str]  # (market, outcome)


@dataclass(slots=True)
class _Resolution:
    payouts: dict[str, Decimal]
    ts: int


@dataclass(slots=True)
class WalletBook:
    """Positions of many wallets, updated one fill at a time (deterministic: the same fills in
    the same order give the same book; wallets and positions iterate in sorted order).

    Resolutions are idempotent: resolving a market again with the same payouts changes nothing.
    """

    _positions: dict[str, dict[Key, OutcomePosition]] = field(default_factory=dict)
    # market -> (wallet, outcome) -> the same position objects, so resolving is O(holders)
    _by_market: dict[str, dict[tuple[str, str], OutcomePosition]] = field(default_factory=dict)
    _resolved: dict[str, _Resolution] = field(default_factory=dict)
    fills_applied: int = 0

    @classmethod
    def from_positions(cls, positions: Mapping[str, Mapping[Key, OutcomePosition]]) -> WalletBook:
        """A book of positions kept elsewhere (the same objects, not copies), keyed wallet ->
        ``(market, outcome)``.  Positions resolved elsewhere keep their payouts, but the book
        knows no resolution: a fill applied later is not redeemed at once."""
        book = cls()
        for wallet, held in positions.items():
            book._positions[wallet] = dict(held)
            for (market, outcome), pos in held.items():
                book._by_market.setdefault(market, {})[(wallet, outcome)] = pos
        return book

    def apply(self, fill: WalletFill) -> OutcomePosition:
        """Apply one fill; returns the updated position.

        A fill of an already resolved market is redeemed at once at the outcome's payout.

        Raises:
            ValidationError: for a fill of a resolved market whose outcome has no payout.
        """
        res = self._resolved.get(fill.market)
        payout = None
        if res is not None:
            payout = res.payouts.get(fill.outcome)
            if payout is None:
                raise ValidationError(
                    f"market {fill.market} resolved without a payout for {fill.outcome!r}"
                )
        book = self._positions.get(fill.wallet)
        if book is None:
            book = self._positions[fill.wallet] = {}
        key = (fill.market, fill.outcome)
        pos = book.get(key)
        if pos is None:
            pos = book[key] = OutcomePosition()
            self._by_market.setdefault(fill.market, {})[(fill.wallet, fill.outcome)] = pos
        pos.apply_fill(fill, payout)
        self.fills_applied += 1
        return pos

    def apply_all(self, fills: Iterable[WalletFill]) -> None:
        """Apply fills in the given order."""
        for f in fills:
            self.apply(f)

    def resolve(self, market: str, payouts: Mapping[str, Decimal], ts: int) -> set[str]:
        """Resolve ``market``: redeem every position at its outcome's payout.

        Returns:
            The wallets whose positions were resolved (empty when repeated).

        Raises:
            ValidationError: for payouts outside [0, 1], a position whose outcome has no
                payout, or payouts that differ from an earlier resolution.  Nothing changes then.
        """
        for name, p in payouts.items():
            _check_price(p, f"payout of {name!r}")
        prior = self._resolved.get(market)
        if prior is not None:
            if prior.payouts != dict(payouts):
                raise ValidationError(f"market {market} already resolved with {prior.payouts}")
            return set()
        held = self._by_market.get(market, {})
        for _, outcome in held:
            if outcome not in payouts:
                raise ValidationError(f"market {market}: no payout for {outcome!r}")
        self._resolved[market] = _Resolution(dict(payouts), ts)
        for (_, outcome), pos in held.items():
            pos.resolve(payouts[outcome])
        return {w for w, _ in held}

    def resolution(self, market: str) -> tuple[Mapping[str, Decimal], int] | None:
        """``(payouts, ts)`` of a resolved market, else None."""
        res = self._resolved.get(market)
        return None if res is None else (dict(res.payouts), res.ts)

    def is_resolved(self, market: str) -> bool:
        return market in self._resolved

    def wallets(self) -> Iterator[str]:
        """Every wallet with a position, sorted."""
        return iter(sorted(self._positions))

    def wallets_in(self, market: str) -> list[str]:
        """Wallets with a position in ``market``, sorted."""
        return sorted({w for w, _ in self._by_market.get(market, {})})

    def positions(self, wallet: str) -> dict[Key, OutcomePosition]:
        """The wallet's positions keyed ``(market, outcome)``, sorted by key (live objects)."""
        book = self._positions.get(wallet, {})
        return {k: book[k] for k in sorted(book)}

    def samples(self, wallet: str) -> list[ResolvedSample]:
        """Smart-score samples: bought outcome positions of resolved markets, sorted by key."""
        out: list[ResolvedSample] = []
        for (market, outcome), pos in self.positions(wallet).items():
            if pos.payout is None or pos.total_bought <= 0:
                continue
            c = pos.held_price
            out.append(
                ResolvedSample(
                    avg_price=pos.avg_price if c is None else c,
                    payout=pos.payout,
                    realized=pos.realized,
                    cost=pos.cost,
                    held=c is not None,
                    market=market,
                    outcome=outcome,
                )
            )
        return out

    def metrics(
        self,
        wallet: str,
        marks: Mapping[Key, Decimal] | None = None,
        prenews_markets: Collection[str] | None = None,
        *,
        smart_threshold: float = SMART_THRESHOLD,
        smart_min_resolved: int = SMART_MIN_RESOLVED,
        insider_ratio: float = INSIDER_RATIO,
        insider_max_resolved: int = INSIDER_MAX_RESOLVED,
    ) -> WalletMetrics:
        """Metrics of one wallet (§7.1, §7.3, §7.4).

        Args:
            wallet: the proxy wallet address.
            marks: mark price per ``(market, outcome)`` for open positions (CLOB mid, or last
                trade on a one-sided book).  An open position without a mark adds 0 unrealized.
            prenews_markets: markets where this wallet made ≥ 1 pre-news entry (§7.3); only
                resolved ones count in the ratio.
            smart_threshold: SS threshold of ``smart``.
            smart_min_resolved: minimum ``n`` of ``smart``.
            insider_ratio: minimum pre-news ratio of ``insider_watch``.
            insider_max_resolved: maximum ``n`` of ``insider_watch``.
        """
        marks = marks or {}
        prenews = prenews_markets or ()
        c = CONTEXT
        realized = ZERO
        unrealized = ZERO
        cost = ZERO
        markets: set[str] = set()
        market_pnl: dict[str, Decimal] = {}
        for (market, outcome), pos in self.positions(wallet).items():
            markets.add(market)
            realized = c.add(realized, pos.realized)
            cost = c.add(cost, pos.cost)
            if pos.payout is None:
                mark = marks.get((market, outcome))
                if mark is not None:
                    unrealized = c.add(unrealized, pos.unrealized(mark))
            elif pos.total_bought > 0:
                market_pnl[market] = c.add(market_pnl.get(market, ZERO), pos.realized)
        samples = self.samples(wallet)
        n = len(market_pnl)
        ratio = sum(1 for m in market_pnl if m in prenews) / n if n else 0.0
        ss, z, roi_r = smart_score(samples, ratio, n=n)
        wins = sum(1 for v in market_pnl.values() if v > 0)
        return WalletMetrics(
            wallet=wallet,
            realized_pnl=realized,
            unrealized_pnl=unrealized,
            cost=cost,
            roi=float(c.divide(c.add(realized, unrealized), cost)) if cost > 0 else 0.0,
            n_markets=len(markets),
            n_resolved=n,
            win_rate=wins / n if n else None,
            brier=brier(samples),
            z=z,
            roi_realized=roi_r,
            prenews_ratio=ratio,
            smart_score=ss,
            smart=is_smart(ss, n, threshold=smart_threshold, min_n=smart_min_resolved),
            insider_watch=is_insider_watch(
                ratio, n, min_ratio=insider_ratio, max_n=insider_max_resolved
            ),
            n_samples=sum(1 for s in samples if s.held),
        )


# --- pre-news entries (§7.3) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MoveEvent:
    """A move ``[t0, t1]`` of the YES midpoint from ``p0`` to ``p1`` (``|p1 − p0| ≥ 0.20``)."""

    t0: int
    t1: int
    p0: Decimal
    p1: Decimal

    @property
    def up(self) -> bool:
        return self.p1 > self.p0

    @property
    def size(self) -> Decimal:
        return abs(self.p1 - self.p0)


def _check_series(series: Sequence[tuple[int, Decimal]]) -> None:
    for i in range(1, len(series)):
        if series[i][0] <= series[i - 1][0]:
            raise ValidationError("series must be sorted by strictly increasing time")


def move_events(
    series: Sequence[tuple[int, Decimal]],
    *,
    min_move: Decimal = MOVE_MIN,
    window_ns: int = MOVE_WINDOW_NS,
) -> list[MoveEvent]:
    """Move events of §7.3 on a YES-midpoint series ``[(ts_ns, p), ...]`` (hourly in practice).

    Greedy by earliest start: the first ``T0`` in time order that has a later point within
    ``window_ns`` with ``|p − p(T0)| ≥ min_move`` starts a move; the first such point gives its
    direction and ``T1`` is the extreme of the price in that direction within the window
    (earliest on ties).  The scan resumes at ``T1``, so overlapping windows collapse to the one
    with the earliest ``T0`` and a continuous run is one move.

    Note the consequence of "earliest ``T0``": on a flat series that jumps at ``t``, ``T0`` is
    ``t − 24h`` (the earliest start whose window still reaches the jump), so a BUY in the last
    24h before the jump is not *pre*-news by §7.3 (it is inside the move's window).

    Raises:
        ValidationError: if the series is not sorted by strictly increasing time.
    """
    _check_series(series)
    out: list[MoveEvent] = []
    n = len(series)
    i = 0
    while i < n:
        t0, p0 = series[i]
        hit = -1
        j = i + 1
        while j < n and series[j][0] - t0 <= window_ns:
            if abs(series[j][1] - p0) >= min_move:
                hit = j
                break
            j += 1
        if hit < 0:
            i += 1
            continue
        # T1: the extreme of the move in its direction within the window (earliest on ties),
        # so one continuous run is one event, not several touching ones.
        sign = 1 if series[hit][1] > p0 else -1
        best = hit
        j = hit + 1
        while j < n and series[j][0] - t0 <= window_ns:
            if sign * (series[j][1] - series[best][1]) > 0:
                best = j
            j += 1
        t1, p1 = series[best]
        out.append(MoveEvent(t0=t0, t1=t1, p0=p0, p1=p1))
        i = best
    return out


def price_at(series: Sequence[tuple[int, Decimal]], ts: int) -> Decimal | None:
    """The last value of ``series`` at or before ``ts`` (as-of), None before the first point."""
    k = bisect_right(series, ts, key=lambda x: x[0])
    return series[k - 1][1] if k else None


def is_prenews(
    entry_ts: int,
    entry_price: Decimal,
    notional: Decimal,
    outcome_is_yes: bool,
    moves: Sequence[MoveEvent],
    series: Sequence[tuple[int, Decimal]],
    *,
    lookback_ns: int = PRENEWS_LOOKBACK_NS,
    max_gap: Decimal = PRENEWS_MAX_GAP,
    min_notional: Decimal = PRENEWS_MIN_NOTIONAL,
) -> bool:
    """Is a BUY a pre-news entry (§7.3)?

    True when, for some move: the token is on the side of the move (YES if up, NO if down),
    ``T0 − 72h ≤ t_e < T0``, ``|p(t_e) − p(T0)| ≤ 0.05`` and the notional is ≥ $500.
    ``p(t_e)`` is the series' as-of value at the entry; before the first point it falls back
    to the YES price implied by the fill (``entry_price``, or ``1 − entry_price`` for NO).
    """
    if notional < min_notional:
        return False
    p_e = price_at(series, entry_ts)
    if p_e is None:
        p_e = entry_price if outcome_is_yes else ONE - entry_price
    for mv in moves:
        if (
            mv.up == outcome_is_yes
            and mv.t0 - lookback_ns <= entry_ts < mv.t0
            and abs(p_e - mv.p0) <= max_gap
        ):
            return True
    return False


def prenews_wallets(
    fills: Iterable[WalletFill],
    series: Sequence[tuple[int, Decimal]],
    yes_outcome: str,
    *,
    min_move: Decimal = MOVE_MIN,
    window_ns: int = MOVE_WINDOW_NS,
    lookback_ns: int = PRENEWS_LOOKBACK_NS,
    max_gap: Decimal = PRENEWS_MAX_GAP,
    min_notional: Decimal = PRENEWS_MIN_NOTIONAL,
) -> set[str]:
    """Wallets with ≥ 1 pre-news BUY among ``fills`` of one market whose YES-midpoint series
    is ``series``.  ``yes_outcome`` names the YES token (compared case-insensitively); every
    other outcome counts as NO."""
    moves = move_events(series, min_move=min_move, window_ns=window_ns)
    if not moves:
        return set()
    yes = yes_outcome.casefold()
    out: set[str] = set()
    for f in fills:
        if f.side != "buy" or f.wallet in out:
            continue
        if is_prenews(
            f.ts,
            f.price,
            f.notional,
            f.outcome.casefold() == yes,
            moves,
            series,
            lookback_ns=lookback_ns,
            max_gap=max_gap,
            min_notional=min_notional,
        ):
            out.add(f.wallet)
    return out
