"""Position sizing: classic, perp and binary Kelly, hybrid Kelly, caps, checklist (quant.md §6).

Number handling (our choice, tested in ``tests/unit/quant/test_sizing.py``):

* Every input that is a fraction, price, probability or amount is accepted as ``Decimal``,
  ``int``, ``str`` or ``float``. A ``float`` is converted through ``repr`` (``0.55`` becomes
  ``Decimal("0.55")``, not the binary expansion), so the reference vectors reproduce exactly.
  ``bool`` and non-finite values raise :class:`~helix.errors.ValidationError`.
* Arithmetic runs in a local ``decimal`` context of 28 significant digits, ``ROUND_HALF_EVEN``
  (``CONTEXT``). Fractions of equity (``f*``, ``f``) are returned at that precision, unquantized.
  The hybrid log-odds pool uses ``Decimal.ln``/``Decimal.exp`` in the same context.
* Money (risk, notional, stake) is quantized to ``money_quantum`` (default ``0.01``) and share
  counts to ``share_quantum`` (default ``0.01``), both with ``rounding`` (default ``ROUND_DOWN``,
  so rounding never takes a position above its computed or capped size). Pass
  ``rounding=ROUND_HALF_UP`` to get the reference's display rounding.
* Sizes are never negative: no edge gives 0 (the reference never asks for a short from Kelly;
  a short is a separate trade with its own ``p``). Only the ``*_raw`` helpers return the signed
  value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_FLOOR, Context, Decimal, localcontext
from typing import Literal

from helix.errors import ValidationError

Num = Decimal | int | str | float
Side = Literal["long", "short"]

CONTEXT = Context(prec=28)
"""Decimal context for all sizing arithmetic (28 digits, ROUND_HALF_EVEN)."""

ZERO = Decimal(0)
ONE = Decimal(1)
DEFAULT_FRACTION = Decimal("0.5")  # λ, half Kelly (Appendix A); 0.25 for low confidence
DEFAULT_CAP = Decimal("0.10")  # per position: risk (perps) or stake (binaries)
DEFAULT_TOTAL_CAP = Decimal("0.30")  # total open risk
DEFAULT_MIN_EDGE = Decimal("0.02")  # p − c' for binaries
DEFAULT_MMR = Decimal("0.005")
DEFAULT_BUFFER = Decimal("0.005")
CENT = Decimal("0.01")
MIN_RESOLVED = 30  # resolved forecasts per source before Brier weights are used


def to_decimal(x: Num, name: str = "value") -> Decimal:
    """Convert ``x`` to a finite ``Decimal`` (floats via ``repr``).

    Raises:
        ValidationError: for bools, unparsable strings and non-finite values.
    """
    if isinstance(x, bool):
        raise ValidationError(f"{name} must be a number, got bool")
    try:
        d = Decimal(repr(x)) if isinstance(x, float) else Decimal(x)
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise ValidationError(f"{name} is not a number: {x!r}") from exc
    if not d.is_finite():
        raise ValidationError(f"{name} must be finite, got {x!r}")
    return d


def _prob(p: Num, name: str = "p", *, open_interval: bool = False) -> Decimal:
    d = to_decimal(p, name)
    if open_interval and not ZERO < d < ONE:
        raise ValidationError(f"{name} must be in (0, 1), got {d}")
    if not ZERO <= d <= ONE:
        raise ValidationError(f"{name} must be in [0, 1], got {d}")
    return d


def _positive(x: Num, name: str, *, strict: bool = True) -> Decimal:
    d = to_decimal(x, name)
    if d < 0 or (strict and d == 0):
        raise ValidationError(f"{name} must be {'>' if strict else '>='} 0, got {d}")
    return d


def _non_negative(x: Num, name: str) -> Decimal:
    return _positive(x, name, strict=False)


def _fraction_and_cap(fraction: Num, cap: Num) -> tuple[Decimal, Decimal]:
    return _prob(fraction, "fraction"), _prob(cap, "cap")


def _effective_price(price: Num, fee_per_share: Num) -> Decimal:
    """``c' = price + fee_per_share``; price in (0, 1) and ``c' < 1`` (odds > 0)."""
    c = _prob(price, "price", open_interval=True) + _non_negative(fee_per_share, "fee_per_share")
    if c >= ONE:
        raise ValidationError(f"effective price {c} >= 1: odds would be <= 0")
    return c


def _quantize(x: Decimal, quantum: Num, rounding: str) -> Decimal:
    q = _positive(quantum, "quantum")
    with localcontext(CONTEXT):
        return x.quantize(q, rounding=rounding)


# ---------------------------------------------------------------------------------------------
# §6.1 classic Kelly and Merton


def kelly_raw(p: Num, b: Num) -> Decimal:
    """Signed classic Kelly ``f* = p − (1−p)/b`` (§6.1); negative means "do not bet".

    Args:
        p: win probability in [0, 1].
        b: net odds (win ``b`` per 1 risked), > 0.
    """
    pd, bd = _prob(p), _positive(b, "b")
    with localcontext(CONTEXT):
        return pd - (ONE - pd) / bd


def kelly(p: Num, b: Num) -> Decimal:
    """Classic Kelly fraction clipped at 0: no edge means no bet (TV-6.a–c)."""
    return max(ZERO, kelly_raw(p, b))


def merton_fraction(mu: Num, sigma: Num, *, allow_short: bool = False) -> Decimal:
    """Continuous Kelly ``f* = μ/σ²`` (notional as a multiple of equity, TV-6.k).

    Args:
        mu: per-period excess return.
        sigma: per-period volatility, > 0.
        allow_short: return a negative value for ``μ < 0`` instead of 0.
    """
    m, s = to_decimal(mu, "mu"), _positive(sigma, "sigma")
    with localcontext(CONTEXT):
        f = m / (s * s)
    return f if allow_short else max(ZERO, f)


# ---------------------------------------------------------------------------------------------
# §6.2 perps


def perp_odds(sl: Num, tp: Num, fee: Num = 0) -> Decimal:
    """Net odds of a perp trade ``b = (tp − fee)/(sl + fee)`` (fractions of entry, §6.2).

    Raises:
        ValidationError: if ``sl <= 0``, ``tp <= 0``, ``fee < 0`` or ``tp <= fee`` (odds <= 0).
    """
    s, t, f = _positive(sl, "sl"), _positive(tp, "tp"), _non_negative(fee, "fee")
    if t <= f:
        raise ValidationError(f"target {t} does not cover the fee {f}: odds would be <= 0")
    with localcontext(CONTEXT):
        return (t - f) / (s + f)


def perp_kelly(
    p: Num,
    sl: Num,
    tp: Num,
    fee: Num = 0,
    *,
    fraction: Num = DEFAULT_FRACTION,
    cap: Num = DEFAULT_CAP,
) -> Decimal:
    """Fraction of equity risked (lost at the stop): ``min(cap, λ·max(0, f*(p, b)))``."""
    lam, c = _fraction_and_cap(fraction, cap)
    with localcontext(CONTEXT):
        return min(c, lam * kelly(p, perp_odds(sl, tp, fee)))


@dataclass(frozen=True, slots=True)
class PerpSizing:
    """Result of :func:`perp_position`.

    Attributes:
        b: net odds.  f_star: full Kelly (clipped at 0).  f_risk: capped λ·f*.
        risk: equity lost if the stop is hit (money-quantized).
        notional: position notional ``f_risk·equity/(sl + fee)`` (money-quantized).
        leverage: implied leverage ``notional/equity`` from the unrounded notional.
    """

    b: Decimal
    f_star: Decimal
    f_risk: Decimal
    risk: Decimal
    notional: Decimal
    leverage: Decimal


def perp_position(
    p: Num,
    sl: Num,
    tp: Num,
    fee: Num,
    equity: Num,
    *,
    fraction: Num = DEFAULT_FRACTION,
    cap: Num = DEFAULT_CAP,
    money_quantum: Num = CENT,
    rounding: str = ROUND_DOWN,
) -> PerpSizing:
    """Size a perp trade with stop and target (§6.2, TV-6.h/i)."""
    eq = _positive(equity, "equity")
    b = perp_odds(sl, tp, fee)
    f_star = kelly(p, b)
    f_risk = perp_kelly(p, sl, tp, fee, fraction=fraction, cap=cap)
    with localcontext(CONTEXT):
        risk = f_risk * eq
        notional = risk / (to_decimal(sl) + to_decimal(fee))
        leverage = notional / eq
    return PerpSizing(
        b=b,
        f_star=f_star,
        f_risk=f_risk,
        risk=_quantize(risk, money_quantum, rounding),
        notional=_quantize(notional, money_quantum, rounding),
        leverage=leverage,
    )


def max_isolated_leverage(
    entry: Num,
    stop: Num,
    *,
    side: Side = "long",
    mmr: Num = DEFAULT_MMR,
    buf: Num = DEFAULT_BUFFER,
) -> int:
    """Largest integer isolated leverage whose liquidation price stays beyond the stop (§6.2).

    Long: ``floor(1/(1 + m − (SL/E)(1 − buf)))`` (TV-6.j). Short, from the same §1.3 estimator
    ``LP = E(1 + 1/L − m) ≥ SL(1 + buf)``: ``floor(1/((SL/E)(1 + buf) − 1 + m))``.
    A result of 0 means no leverage ≥ 1 satisfies the guard.

    Raises:
        ValidationError: if the stop is not on the losing side of entry or a denominator is <= 0.
    """
    e, s = _positive(entry, "entry"), _positive(stop, "stop")
    m, bf = _prob(mmr, "mmr"), _prob(buf, "buf")
    if side == "long" and s >= e:
        raise ValidationError("a long's stop must be below entry")
    if side == "short" and s <= e:
        raise ValidationError("a short's stop must be above entry")
    with localcontext(CONTEXT):
        r = s / e
        den = ONE + m - r * (ONE - bf) if side == "long" else r * (ONE + bf) - ONE + m
        if den <= 0:
            raise ValidationError("leverage guard undefined: non-positive denominator")
        return int((ONE / den).to_integral_value(rounding=ROUND_FLOOR))


def apply_total_cap(f: Num, open_risk: Num, total_cap: Num = DEFAULT_TOTAL_CAP) -> Decimal:
    """Shrink a new position's fraction so total open risk stays ≤ ``total_cap`` (30%)."""
    fd, o, t = _non_negative(f, "f"), _non_negative(open_risk, "open_risk"), _prob(total_cap)
    with localcontext(CONTEXT):
        return max(ZERO, min(fd, t - o))


# ---------------------------------------------------------------------------------------------
# §6.3 binaries


def binary_kelly_raw(p: Num, price: Num, *, fee_per_share: Num = 0) -> Decimal:
    """Signed binary Kelly ``(p − c')/(1 − c')`` with ``c' = price + fee_per_share`` (§6.3).

    ``p`` and ``price`` refer to the same outcome (the one being bought).

    Raises:
        ValidationError: ``p`` outside [0, 1], price outside (0, 1), or ``c' >= 1``.
    """
    pd = _prob(p)
    c = _effective_price(price, fee_per_share)
    with localcontext(CONTEXT):
        return (pd - c) / (ONE - c)


def binary_kelly(
    p_yes: Num, price: Num, *, side: Literal["YES", "NO"] = "YES", fee_per_share: Num = 0
) -> Decimal:
    """Full binary Kelly for buying ``side`` at ``price``, clipped at 0 (TV-6.d–g).

    For ``side="NO"``, ``p_yes`` is still the YES probability; ``q = 1 − p_yes`` is used with
    the NO price.
    """
    p = _prob(p_yes, "p_yes")
    q = p if side == "YES" else ONE - p
    return max(ZERO, binary_kelly_raw(q, price, fee_per_share=fee_per_share))


@dataclass(frozen=True, slots=True)
class BinarySizing:
    """Result of :func:`binary_position`: fraction ``f``, ``stake`` and ``shares``."""

    f: Decimal
    stake: Decimal
    shares: Decimal


def binary_position(
    f: Num,
    price: Num,
    bankroll: Num,
    *,
    fee_per_share: Num = 0,
    book_depth: Num | None = None,
    depth_share: Num = DEFAULT_CAP,
    money_quantum: Num = CENT,
    share_quantum: Num = CENT,
    rounding: str = ROUND_DOWN,
) -> BinarySizing:
    """Stake ``f·bankroll`` and shares ``stake/c'`` (§6.3, TV-6.m).

    ``f`` is an already sized fraction (e.g. from :func:`hybrid_binary`). If ``book_depth``
    (money within 2¢ of mid) is given, the stake is capped at ``depth_share·book_depth`` (§6.4)
    and ``f`` is reported after that cap. Stake is money-quantized first, then shares are
    computed from the quantized stake and quantized to ``share_quantum``.
    """
    fd, bank = _prob(f, "f"), _positive(bankroll, "bankroll")
    c = _effective_price(price, fee_per_share)
    with localcontext(CONTEXT):
        stake = fd * bank
        if book_depth is not None:
            stake = min(stake, _prob(depth_share) * _non_negative(book_depth, "book_depth"))
        stake_q = _quantize(stake, money_quantum, rounding)
        shares = _quantize(stake_q / c, share_quantum, rounding)
        return BinarySizing(f=stake / bank, stake=stake_q, shares=shares)


# ---------------------------------------------------------------------------------------------
# §6.5 hybrid Kelly


def logit(p: Num) -> Decimal:
    """``ln(p/(1−p))`` for ``p`` in (0, 1)."""
    pd = _prob(p, open_interval=True)
    with localcontext(CONTEXT):
        return (pd / (ONE - pd)).ln()


def brier_weight(
    bs_a: Num, bs_b: Num, *, n_a: int | None = None, n_b: int | None = None
) -> Decimal:
    """Weight of source A: ``(1/BS_A)/((1/BS_A)+(1/BS_B))``, or 0.5 until both sources have
    ``MIN_RESOLVED`` (30) resolved forecasts (counts of ``None`` mean "enough")."""
    if (n_a is not None and n_a < MIN_RESOLVED) or (n_b is not None and n_b < MIN_RESOLVED):
        return DEFAULT_FRACTION
    a, b = _positive(bs_a, "bs_a"), _positive(bs_b, "bs_b")
    with localcontext(CONTEXT):
        return (ONE / a) / (ONE / a + ONE / b)


def pool_log_odds(p_a: Num, p_b: Num, w: Num = DEFAULT_FRACTION) -> Decimal:
    """Logarithmic opinion pool: ``logit(p_h) = w·logit(p_A) + (1−w)·logit(p_B)``.

    Raises:
        ValidationError: probabilities outside (0, 1) or ``w`` outside [0, 1].
    """
    wd = _prob(w, "w")
    with localcontext(CONTEXT):
        z = wd * logit(p_a) + (ONE - wd) * logit(p_b)
        return ONE / (ONE + (-z).exp())


def _sign(x: Decimal) -> int:
    return (x > 0) - (x < 0)


@dataclass(frozen=True, slots=True)
class HybridResult:
    """Result of the hybrid Kelly: weight, pooled p, full Kelly, final fraction, guard flag."""

    w: Decimal
    p_h: Decimal
    f_star: Decimal
    f: Decimal
    disagree: bool


def _hybrid(
    p_a: Num, p_b: Num, ref: Decimal, w: Num, fraction: Num, cap: Num
) -> tuple[Decimal, Decimal, Decimal, Decimal, bool]:
    lam, c = _fraction_and_cap(fraction, cap)
    wd = _prob(w, "w")
    pa, pb = _prob(p_a, "p_a"), _prob(p_b, "p_b")
    disagree = _sign(pa - ref) != _sign(pb - ref)
    return wd, pool_log_odds(pa, pb, wd), lam, c, disagree


def hybrid_binary(
    p_a: Num,
    p_b: Num,
    price: Num,
    *,
    w: Num = DEFAULT_FRACTION,
    fee_per_share: Num = 0,
    fraction: Num = DEFAULT_FRACTION,
    cap: Num = DEFAULT_CAP,
    min_edge: Num = DEFAULT_MIN_EDGE,
) -> HybridResult:
    """Hybrid Kelly for a binary (§6.5, TV-6.l/n/o): pool, guard, then ``min(cap, λ·f*)``.

    The guard compares both sources with the effective price ``c'``; ``f = 0`` when they sit on
    different sides of it (a source exactly at ``c'`` counts as disagreeing). ``f = 0`` also
    when the pooled edge ``p_h − c'`` is below ``min_edge`` (§6.4).
    """
    c = _effective_price(price, fee_per_share)
    wd, p_h, lam, cp, disagree = _hybrid(p_a, p_b, c, w, fraction, cap)
    f_star = binary_kelly(p_h, price, fee_per_share=fee_per_share)
    with localcontext(CONTEXT):
        ok = not disagree and p_h - c >= to_decimal(min_edge, "min_edge")
        f = min(cp, lam * f_star) if ok else ZERO
    return HybridResult(w=wd, p_h=p_h, f_star=f_star, f=f, disagree=disagree)


def hybrid_perp(
    p_a: Num,
    p_b: Num,
    b: Num,
    *,
    w: Num = DEFAULT_FRACTION,
    fraction: Num = DEFAULT_FRACTION,
    cap: Num = DEFAULT_CAP,
) -> HybridResult:
    """Hybrid Kelly for a perp (§6.5, TV-6.p); the guard uses break-even ``1/(1+b)``."""
    bd = _positive(b, "b")
    with localcontext(CONTEXT):
        breakeven = ONE / (ONE + bd)
    wd, p_h, lam, cp, disagree = _hybrid(p_a, p_b, breakeven, w, fraction, cap)
    f_star = kelly(p_h, bd)
    with localcontext(CONTEXT):
        f = ZERO if disagree else min(cp, lam * f_star)
    return HybridResult(w=wd, p_h=p_h, f_star=f_star, f=f, disagree=disagree)


# ---------------------------------------------------------------------------------------------
# §6.6 checklist

CHECKLIST_WEIGHTS: Mapping[str, int] = {
    "edge": 25,  # p_h − c' ≥ 0.05
    "smart_money": 20,  # ≥ 2 wallets with SS ≥ 30 net long our outcome in 72h
    "no_sync_dominance": 15,  # synced-cluster share of our side's 24h volume < 30%
    "liquidity": 15,  # depth within 2¢ of mid ≥ 5× intended stake
    "resolution_clarity": 10,  # manual flag
    "horizon": 10,  # time to resolution ≤ 30 days
    "no_adverse_move": 5,  # price not moved ≥ 15pp against us in 24h
}
CHECKLIST_PASS = 70


def checklist_score(passed: Mapping[str, bool]) -> int:
    """Sum of the weights of the passed items (0–100, §6.6, TV-6.q/r).

    Raises:
        ValidationError: for an unknown item or a missing one.
    """
    unknown = set(passed) - set(CHECKLIST_WEIGHTS)
    missing = set(CHECKLIST_WEIGHTS) - set(passed)
    if unknown or missing:
        raise ValidationError(
            f"checklist items: unknown {sorted(unknown)}, missing {sorted(missing)}"
        )
    return sum(wt for k, wt in CHECKLIST_WEIGHTS.items() if passed[k])


def checklist_passes(passed: Mapping[str, bool], threshold: int = CHECKLIST_PASS) -> bool:
    """Whether the checklist allows the bet: ``score ≥ threshold`` (70)."""
    return checklist_score(passed) >= threshold


def checklist_items(
    *,
    edge: Num,
    smart_wallets: int,
    sync_share: Num,
    depth: Num,
    stake: Num,
    resolution_clear: bool,
    days_to_resolution: Num,
    adverse_move: Num,
) -> dict[str, bool]:
    """Evaluate the §6.6 pass conditions from measurements (feed the result to the score).

    Args:
        edge: ``p_h − c'``.  smart_wallets: wallets with SS ≥ 30 net long our outcome (72h).
        sync_share: synced-cluster share of our side's 24h volume.  depth: book depth within
        2¢ of mid.  stake: intended stake.  resolution_clear: manual flag.
        days_to_resolution: days left.  adverse_move: price move against our side in 24h,
        as a probability fraction (0.15 = 15pp).
    """
    return {
        "edge": to_decimal(edge, "edge") >= Decimal("0.05"),
        "smart_money": smart_wallets >= 2,
        "no_sync_dominance": to_decimal(sync_share, "sync_share") < Decimal("0.30"),
        "liquidity": to_decimal(depth, "depth") >= 5 * to_decimal(stake, "stake"),
        "resolution_clarity": bool(resolution_clear),
        "horizon": to_decimal(days_to_resolution, "days_to_resolution") <= 30,
        "no_adverse_move": to_decimal(adverse_move, "adverse_move") < Decimal("0.15"),
    }
