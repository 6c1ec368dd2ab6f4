"""The simulator's ground truth: which stop hunts and liquidation cascades it planted.

``planted(config)`` runs the same per-symbol simulations as :func:`helix.sim.simulate` (the
events are identical; recording draws no random numbers) and returns, besides nothing else:

* :class:`PlantedHunt`: every stop hunt (``_maybe_hunt`` -> ``PricePath.start_hunt``): where it
  aimed, how far the mark got, why it ended, whether its push faded or stuck, and how many
  positions it liquidated.
* :class:`Cascade`: the liquidations of one position side that follow one another within
  ``cascade_gap_s`` seconds, with their count, notional and first/last print prices.

A detector under test reads the events (``simulate(config)``, or the log after ``helix demo``)
and its findings are matched against these lists, e.g. by symbol, direction and time.

Times are UTC ns on the events' clock.  The simulator advances one-second ticks: tick ``k``
ends at ``start_ns + k s``; a hunt is started at the end of a tick and pushes from the next
one; the forced prints of liquidations triggered at the end of tick ``k`` carry times within
the following second.  All prices are Decimals on the symbol's tick.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from events.market import Liquidation
from helix.sim.market import NS, SimConfig, _SymbolSim
from helix.sim.paths import SPECS, HuntEnd, HuntRecord

Direction = Literal["down", "up"]
Outcome = Literal["reversed", "stuck", "unfinished"]
PositionSide = Literal["long", "short"]


@dataclass(frozen=True)
class PlantedHunt:
    """One stop hunt the simulator ran.

    The hunt adds a steady drift to the perpetual's price (the ``j_hunt`` component of
    :mod:`helix.sim.paths`) that would carry the *mark* price from ``start_price`` to
    ``target_price`` by its deadline (2-10 minutes).  The target lies just beyond
    ``level_price``, the far edge of the 0.1% bin of liquidation prices the hunt aims at.  The
    traded price moves with the mark plus noise, wicks and liquidation impact.

    Attributes:
        symbol: the perpetual.
        start_ns: end of the tick in which the hunt started (its drift begins with the next).
        end_ns: end of the tick in which it ended; the run's end if it never did.
        direction: ``"down"`` (toward long liquidation levels) or ``"up"`` (shorts).
        level_price: far edge of the targeted bin of liquidation prices.
        target_price: the mark price the hunt aims at (the level plus a 0.03-0.15% overshoot).
        start_price: the mark price when it started.
        extreme_price: the furthest mark price in ``direction`` at the end of any tick from the
            start through the ending tick (``start_price`` if it never got further).  It is the
            price ``reached`` is judged on; traded prices may go further.
        reached: the hunt ended because, at the end of a tick, the mark was at or beyond the
            target.  So ``extreme_price`` is at or beyond ``target_price`` if it was reached,
            and short of it (or equal after rounding both to the tick) if not.
        ended_by: ``"target"`` (reached), ``"timeout"`` (its 2-10 minutes ran out),
            ``"liquidation"`` (the mark crossed liquidation prices in one of its ticks, short of
            the target: the sweep itself ends the push), or
            ``"end_of_run"`` (still running when the simulation stopped).
        outcome: what became of the hunt's push when it ended: ``"stuck"`` (30% chance: the
            displacement was moved into the fair price, a breakout that stays), ``"reversed"``
            (the displacement decays toward zero with a 4-minute half-life: a sweep and
            reversal, i.e. a wick, unless other flow moves price on), or ``"unfinished"``.
        liquidations: forced liquidation prints of positions crossed in the hunt's ticks, from
            the first tick after the start through the ending tick.
        liquidated_usd: their notional (print price times quantity).
    """

    symbol: str
    start_ns: int
    end_ns: int
    direction: Direction
    level_price: Decimal
    target_price: Decimal
    start_price: Decimal
    extreme_price: Decimal
    reached: bool
    ended_by: HuntEnd | Literal["end_of_run"]
    outcome: Outcome
    liquidations: int
    liquidated_usd: Decimal


@dataclass(frozen=True)
class Cascade:
    """Consecutive liquidations of one side of one symbol, each within the gap of the last.

    Every ``Liquidation`` event belongs to exactly one cascade (a lone one is a cascade of 1).

    Attributes:
        symbol: the perpetual.
        start_ns: ``ts_event`` of its first liquidation print.
        end_ns: ``ts_event`` of its last liquidation print.
        side: the side of the positions liquidated (longs are closed by sells).
        count: its liquidation prints.
        notional_usd: their notional (print price times quantity).
        price_from: the first print's price.
        price_to: the last print's price.
    """

    symbol: str
    start_ns: int
    end_ns: int
    side: PositionSide
    count: int
    notional_usd: Decimal
    price_from: Decimal
    price_to: Decimal


@dataclass(frozen=True)
class Truth:
    """What :func:`planted` found, each list ordered by ``(start_ns, symbol)``.

    Attributes:
        config: the simulation it describes.
        hunts: every stop hunt that ran for at least one tick.
        cascades: every run of same-side liquidations (see :class:`Cascade`).
    """

    config: SimConfig
    hunts: tuple[PlantedHunt, ...]
    cascades: tuple[Cascade, ...]


def planted(config: SimConfig, *, cascade_gap_s: float = 60.0) -> Truth:
    """Run the simulation of ``config`` and return the hunts and cascades it planted.

    Deterministic and pure: the same config gives the same truth, and the events of
    ``simulate(config)`` are not changed by it.

    Args:
        config: the simulation (e.g. the demo day, ``SimConfig(seed=7, duration_s=86_400)``).
        cascade_gap_s: the longest pause between two liquidation prints of one side that still
            continues a cascade.

    Raises:
        ValueError: ``cascade_gap_s`` is negative.
    """
    if cascade_gap_s < 0:
        raise ValueError("cascade_gap_s must not be negative")
    hunts: list[PlantedHunt] = []
    cascades: list[Cascade] = []
    for symbol in config.symbols:
        sim = _SymbolSim(config, symbol)
        liqs = [e for e in sim.run() if isinstance(e, Liquidation)]
        # Liquidations triggered in the run's last tick have no prints: their forced orders
        # would go out in the next second, which is not simulated.
        owners = sim.liq_hunts[: len(liqs)]
        hunts += _hunts(config, symbol, sim.path.hunts, liqs, owners)
        cascades += _cascades(symbol, liqs, int(cascade_gap_s * NS))
    hunts.sort(key=lambda h: (h.start_ns, h.symbol))
    cascades.sort(key=lambda c: (c.start_ns, c.symbol))
    return Truth(config=config, hunts=tuple(hunts), cascades=tuple(cascades))


def _price(log_price: float, decimals: int) -> Decimal:
    return Decimal(round(math.exp(log_price) * 10**decimals)).scaleb(-decimals)


def _hunts(
    config: SimConfig,
    symbol: str,
    records: Sequence[HuntRecord],
    liqs: Sequence[Liquidation],
    owners: Sequence[int],
) -> list[PlantedHunt]:
    count = [0] * len(records)
    usd = [Decimal(0)] * len(records)
    for liq, owner in zip(liqs, owners, strict=True):
        if owner >= 0:
            count[owner] += 1
            usd[owner] += liq.price * liq.qty
    decimals = SPECS[symbol].price_decimals
    out: list[PlantedHunt] = []
    for i, r in enumerate(records):
        if r.start_s >= config.duration_s:
            continue  # started after the last tick: it moved nothing
        ended_by: HuntEnd | Literal["end_of_run"] = r.ended_by or "end_of_run"
        outcome: Outcome = "unfinished" if r.stuck is None else "stuck" if r.stuck else "reversed"
        end_s = config.duration_s if r.end_s is None else r.end_s
        out.append(
            PlantedHunt(
                symbol=symbol,
                start_ns=config.start_ns + r.start_s * NS,
                end_ns=config.start_ns + end_s * NS,
                direction="down" if r.direction < 0 else "up",
                level_price=_price(r.level_log, decimals),
                target_price=_price(r.target_log, decimals),
                start_price=_price(r.start_log, decimals),
                extreme_price=_price(r.extreme_log, decimals),
                reached=ended_by == "target",
                ended_by=ended_by,
                outcome=outcome,
                liquidations=count[i],
                liquidated_usd=usd[i],
            )
        )
    return out


def _cascades(symbol: str, liqs: Sequence[Liquidation], gap_ns: int) -> list[Cascade]:
    runs: dict[PositionSide, list[Liquidation]] = {"long": [], "short": []}
    out: list[Cascade] = []

    def close(side: PositionSide) -> None:
        run = runs[side]
        if run:
            out.append(
                Cascade(
                    symbol=symbol,
                    start_ns=run[0].ts_event,
                    end_ns=run[-1].ts_event,
                    side=side,
                    count=len(run),
                    notional_usd=sum((e.price * e.qty for e in run), Decimal(0)),
                    price_from=run[0].price,
                    price_to=run[-1].price,
                )
            )
            runs[side] = []

    for liq in liqs:
        side = liq.position_side
        run = runs[side]
        if run and liq.ts_event - run[-1].ts_event > gap_ns:
            close(side)
        runs[side].append(liq)
    close("long")
    close("short")
    return out
