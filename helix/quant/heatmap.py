"""LHM-1 liquidation heatmap (``quant.md`` §2.2), vectorised over candles.

Every candle ``t`` opens 4 long and 4 short levels (one per leverage bucket) at the §1.3 estimator
``P_t(1 ∓ 1/L ± m)``; a long level is consumed by the first later candle with ``Low ≤ liq``, a short
one by the first later candle with ``High ≥ liq`` (inclusive, never by its own candle).

Implementation (exact restatement of §2.2, not an approximation):

* Consumption times do not depend on notionals, so they are found for all ``8n`` levels at once
  with a sparse-table (binary lifting) "first index at/below threshold" search.
* Steps 6 and 8 scale *every* active level by one factor, so a level's notional is
  ``opened × F_t / F_created`` with one running product ``F``. The only sequential part is a
  scalar recurrence (``C_t``, ``net_t``, ``A_t``, ``F_t``): a Python loop over plain floats, in
  blocks of 256 candles so that only levels consumed inside their own block are scattered from
  Python (the rest use one ``np.add.at`` per block). ``F`` is folded into the stored values when
  it drops below 1e-200, so it never underflows.
* Display columns ``S_j = S_{j−1}·F_j/F_{j−1} + opened_j − ended_j`` use ``np.bincount`` over
  (column, side, bin) keys: output memory is ``O(columns × bins)``, not ``O(candles × bins)``;
  transient memory is ``O(8n)`` per-level arrays plus a ``log2(n) × n`` range-minimum table
  (≈ 84 MB for a year of 1m candles).

Choices where §2.2 leaves room ([OURS], tested):

* ``ΔN_0`` uses ``prev_open_interest`` (default ``OI_0`` → ``ΔN_0 = 0``: the window starts empty).
* ``ΔN_t`` may be given directly in USD (``delta_notional``, as TV-2 does).
* Decay (step 8, off by default) is applied at the start of candle ``t ≥ 1`` to levels opened
  before ``t``, with ``Δt = ts_t − ts_{t−1}``; consumed notional ``C_t`` is measured after decay.
* ``net_t < 0`` with nothing active (``A_t = 0``) does nothing. A factor of 0 wipes all levels.
* Bins: ``edges`` are ascending; a level at ``edges[i] ≤ p < edges[i+1]`` goes to bin ``i`` (for
  ``Δ = 1`` edges at integers this is ``b = floor(p)``). Levels outside the edges stay in the state
  (they are consumed and scaled normally) but are not drawn. Default edges: 250 equal bins over
  ``[0.88·min(Low), 1.12·max(High)]``, which always contains every level (10x lies 9.5% away).
* Display: column ``j`` is the snapshot at candle ``(j+1)·display_every − 1`` plus the last candle
  when ``n`` is not a multiple. A year of 1m candles with ``display_every=1440`` gives 365 × 250.
* Float cancellation residues in the incremental grid: negatives are clipped to 0 and bins with
  no live level are set to exactly 0 (a per-bin live-level count is kept).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from helix.quant.liquidation import simplified_liquidation_prices

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

DEFAULT_LEVERAGES: tuple[float, ...] = (10.0, 25.0, 50.0, 100.0)
DEFAULT_WEIGHTS: tuple[float, ...] = (0.40, 0.30, 0.20, 0.10)
DEFAULT_BINS = 250
_RENORM = 1e-200
_BLOCK = 256

__all__ = ["HeatmapResult", "LevelsNow", "default_edges", "levels_now", "lhm1"]


@dataclass(frozen=True, slots=True)
class HeatmapResult:
    """LHM-1 output.

    Attributes:
        column_index: Candle index of each display column, shape ``(M,)``.
        column_ts: Timestamp (int ns) of each display column.
        edges: Price bin edges, shape ``(B + 1,)``.
        long: Long notional per column and bin (USD), shape ``(M, B)``.
        short: Short notional per column and bin (USD), shape ``(M, B)``.
        consumed: ``C_t`` per candle (realized-liquidation estimate), shape ``(n,)``.
        net: ``net_t`` per candle, shape ``(n,)``.
        active: Total active notional after each candle (drawn or not), shape ``(n,)``.
    """

    column_index: I64
    column_ts: I64
    edges: F64
    long: F64
    short: F64
    consumed: F64
    net: F64
    active: F64

    @property
    def total(self) -> F64:
        """Long + short notional per column and bin."""
        return np.asarray(self.long + self.short, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class LevelsNow:
    """The current heatmap column: levels still open after the last candle.

    Attributes:
        edges: Price bin edges, shape ``(B + 1,)``.
        long: Long notional per bin.
        short: Short notional per bin.
    """

    edges: F64
    long: F64
    short: F64


def default_edges(low: npt.ArrayLike, high: npt.ArrayLike, bins: int = DEFAULT_BINS) -> F64:
    """Default y axis: ``bins`` equal bins over ``[0.88·min(Low), 1.12·max(High)]`` (§2.2)."""
    lo = 0.88 * float(np.min(low))
    hi = 1.12 * float(np.max(high))
    return np.linspace(lo, hi, bins + 1, dtype=np.float64)


def _first_at_or_below(values: F64, start: I64, thresh: F64) -> I64:
    """First ``t ≥ start`` with ``values[t] ≤ thresh`` (``len(values)`` if none), vectorised.

    Uses a sparse table of range minima, ``table[k][i] = min(values[i : i + 2^k])`` (clipped at
    the end), and descends from the largest power of two.
    """
    n = values.shape[0]
    ext = np.append(values, np.inf)  # index n is a +inf sentinel
    tables = [ext]
    k = 1
    while (1 << k) <= n + 1:
        prev = tables[-1]
        half = 1 << (k - 1)
        cur = prev.copy()
        np.minimum(cur[:-half], prev[half:], out=cur[:-half])
        tables.append(cur)
        k += 1
    pos = np.minimum(start, n).astype(np.int32)
    for k in range(len(tables) - 1, -1, -1):
        step = 1 << k
        ok = tables[k].take(pos) > thresh
        ok &= pos <= n - step
        pos += ok.astype(np.int32) << k
    return np.where(ext.take(pos) <= thresh, pos, n).astype(np.int64)


def _column_indices(n: int, every: int) -> I64:
    idx = np.arange(every - 1, n, every, dtype=np.int64)
    if idx.size == 0 or idx[-1] != n - 1:
        idx = np.append(idx, np.int64(n - 1))
    return idx


def lhm1(
    ts: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    *,
    open_interest: npt.ArrayLike | None = None,
    prev_open_interest: float | None = None,
    delta_notional: npt.ArrayLike | None = None,
    vwap: npt.ArrayLike | None = None,
    taker_buy_quote: npt.ArrayLike | None = None,
    taker_sell_quote: npt.ArrayLike | None = None,
    long_share: npt.ArrayLike | None = None,
    mark_high: npt.ArrayLike | None = None,
    mark_low: npt.ArrayLike | None = None,
    leverages: tuple[float, ...] = DEFAULT_LEVERAGES,
    weights: tuple[float, ...] = DEFAULT_WEIGHTS,
    mmr: float = 0.005,
    net_uses_consumed: bool = True,
    half_life_ns: int | None = None,
    edges: npt.ArrayLike | None = None,
    display_every: int = 1,
) -> HeatmapResult:
    """Run LHM-1 over one window of candles (state starts empty at the window start).

    Open is not used by LHM-1 and is therefore not an argument.

    Args:
        ts: Candle open timestamps, int ns, ascending, shape ``(n,)``.
        high: Last-price highs.
        low: Last-price lows.
        close: Closes.
        open_interest: OI in base units per candle (used unless ``delta_notional`` is given).
        prev_open_interest: OI before the first candle; default ``OI_0`` (so ``ΔN_0 = 0``).
        delta_notional: ``ΔN_t`` directly in USD (overrides ``open_interest``).
        vwap: Candle VWAP (entry proxy); default typical price ``(H+L+C)/3``.
        taker_buy_quote: Taker buy quote volume per candle.
        taker_sell_quote: Taker sell quote volume per candle.
        long_share: Long share ``s_t`` directly (overrides taker volumes); default 0.5.
        mark_high: Mark-price highs, used for consumption when given.
        mark_low: Mark-price lows, used for consumption when given.
        leverages: Leverage buckets.
        weights: Bucket weights (sum 1).
        mmr: Maintenance rate ``m`` of the §1.3 estimator.
        net_uses_consumed: ``net_t = ΔN_t + C_t`` if true, else ``ΔN_t``.
        half_life_ns: Optional decay half-life in ns (step 8); ``None`` disables decay.
        edges: Ascending price bin edges; default :func:`default_edges`.
        display_every: Candles per display column (last snapshot of each group is shown).

    Returns:
        The heatmap and per-candle series.

    Raises:
        ValueError: On inconsistent shapes or missing OI input.
    """
    t_ns = np.asarray(ts, dtype=np.int64)
    h = np.asarray(high, dtype=np.float64)
    lo = np.asarray(low, dtype=np.float64)
    c = np.asarray(close, dtype=np.float64)
    n = t_ns.shape[0]
    if n == 0 or h.shape != (n,) or lo.shape != (n,) or c.shape != (n,):
        raise ValueError("ts/high/low/close must be non-empty 1-D arrays of equal length")
    if len(leverages) != len(weights) or display_every < 1:
        raise ValueError("leverages/weights length mismatch or display_every < 1")

    price = (h + lo + c) / 3.0 if vwap is None else np.asarray(vwap, dtype=np.float64)
    if delta_notional is not None:
        dn = np.asarray(delta_notional, dtype=np.float64)
    elif open_interest is not None:
        oi = np.asarray(open_interest, dtype=np.float64)
        first = oi[0] if prev_open_interest is None else prev_open_interest
        dn = np.diff(oi, prepend=first) * price
    else:
        raise ValueError("open_interest or delta_notional is required")
    if long_share is not None:
        share = np.asarray(long_share, dtype=np.float64)
    elif taker_buy_quote is not None and taker_sell_quote is not None:
        buy = np.asarray(taker_buy_quote, dtype=np.float64)
        tot = buy + np.asarray(taker_sell_quote, dtype=np.float64)
        share = np.divide(buy, tot, out=np.full(n, 0.5), where=tot > 0)
    else:
        share = np.full(n, 0.5)
    trig_h = h if mark_high is None else np.asarray(mark_high, dtype=np.float64)
    trig_l = lo if mark_low is None else np.asarray(mark_low, dtype=np.float64)
    decay = np.ones(n)
    if half_life_ns is not None:
        decay[1:] = np.exp2(-np.diff(t_ns).astype(np.float64) / float(half_life_ns))

    # Levels: columns 0..J-1 long, J..2J-1 short; prices (n, 2J).
    lev = np.asarray(leverages, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    nj = lev.shape[0]
    liq = np.concatenate(
        [
            simplified_liquidation_prices("long", price[:, None], lev[None, :], mmr),
            simplified_liquidation_prices("short", price[:, None], lev[None, :], mmr),
        ],
        axis=1,
    )
    start = np.repeat(np.arange(1, n + 1, dtype=np.int64), nj)
    death = np.empty((n, 2 * nj), dtype=np.int64)
    death[:, :nj] = _first_at_or_below(trig_l, start, liq[:, :nj].ravel()).reshape(n, nj)
    death[:, nj:] = _first_at_or_below(-trig_h, start, -liq[:, nj:].ravel()).reshape(n, nj)

    net, consumed, active, log_f, wipes = _recurrence(dn, share, decay, death, w, net_uses_consumed)
    # Effective end of each level: consumption or the first wipe after its creation.
    wipe_arr = np.asarray(wipes, dtype=np.int64)
    nxt = np.searchsorted(wipe_arr, np.arange(n), side="right")
    wipe_after = np.append(wipe_arr, n)[nxt]
    end = np.minimum(death, wipe_after[:, None])
    opened = np.where(net > 0, net, 0.0)
    base = np.concatenate(
        [opened[:, None] * share[:, None] * w, opened[:, None] * (1.0 - share[:, None]) * w],
        axis=1,
    )
    e = default_edges(lo, h) if edges is None else np.asarray(edges, dtype=np.float64)
    cols = _column_indices(n, display_every)
    long_g, short_g = _grid(base, liq, end, log_f, wipe_arr, e, cols, nj)
    return HeatmapResult(cols, t_ns[cols], e, long_g, short_g, consumed, net, active)


def _recurrence(
    dn: F64, share: F64, decay: F64, death: I64, w: F64, net_uses_consumed: bool
) -> tuple[F64, F64, F64, F64, list[int]]:
    """Scalar LHM-1 recurrence over blocks of ``_BLOCK`` candles.

    A level's notional is ``u_k·F`` with ``u_k = g_c·coef_k`` and ``g_c = net_c / F_c``. ``D[t]``
    accumulates ``Σ u`` of the levels consumed at ``t``. Levels consumed inside their own block
    are added to ``D`` by the Python loop; the rest are added with one ``np.add.at`` per block.
    """
    n, nl = death.shape
    coef = np.concatenate([share[:, None] * w, (1.0 - share[:, None]) * w], axis=1).ravel()
    dflat = death.ravel()
    created = np.repeat(np.arange(n, dtype=np.int64), nl)
    blk = created // _BLOCK
    live = dflat < n
    intra = live & (dflat // _BLOCK == blk)
    ext = live & ~intra
    ip = np.searchsorted(created[intra], np.arange(n + 1)).tolist()
    i_dead = (dflat[intra] - blk[intra] * _BLOCK).tolist()  # death index within the block
    i_coef = coef[intra].tolist()
    e_created, e_death, e_coef = created[ext], dflat[ext], coef[ext]
    bp = np.searchsorted(e_created, np.arange(0, n + _BLOCK, _BLOCK)).tolist()
    dsum = np.zeros(n + 1, dtype=np.float64)
    g_all = np.zeros(n, dtype=np.float64)
    dnl, decl = dn.tolist(), decay.tolist()
    net_o, cons_o, u_o, f_o = [0.0] * n, [0.0] * n, [0.0] * n, [0.0] * n
    wipes: list[int] = []
    shifts: list[tuple[int, float]] = []  # (t, log of the rescale applied after candle t)
    f, u_act = 1.0, 0.0
    for s in range(0, n, _BLOCK):
        e = min(s + _BLOCK, n)
        dl = dsum[s:e].tolist()
        gl = [0.0] * (e - s)
        for t in range(s, e):
            i = t - s
            f *= decl[t]
            d = dl[i]
            cons = f * d
            u_act -= d
            nt = dnl[t] + cons if net_uses_consumed else dnl[t]
            if nt > 0.0:
                g = nt / f
                gl[i] = g
                for q in range(ip[t], ip[t + 1]):
                    dl[i_dead[q]] += g * i_coef[q]
                u_act += g
            elif nt < 0.0:
                a_t = f * u_act
                if a_t > 0.0:
                    k = 1.0 + nt / a_t
                    if k <= 0.0:  # everything closed: wipe the state
                        wipes.append(t)
                        u_act, f = 0.0, 1.0
                        dl[i + 1 :] = [0.0] * (e - s - i - 1)
                        gl[: i + 1] = [0.0] * (i + 1)
                        dsum[e:] = 0.0
                    else:
                        f *= k
                        if f < _RENORM:  # fold F into the stored u's (u·F is unchanged)
                            dl[i + 1 :] = [x * f for x in dl[i + 1 :]]
                            gl[: i + 1] = [x * f for x in gl[: i + 1]]
                            dsum[e:] *= f
                            u_act *= f
                            shifts.append((t, math.log(f)))
                            f = 1.0
            net_o[t] = nt
            cons_o[t] = cons
            u_o[t] = u_act
            f_o[t] = f
        g_all[s:e] = gl
        a, b = bp[s // _BLOCK], bp[s // _BLOCK + 1]
        if b > a:
            np.add.at(dsum, e_death[a:b], g_all[e_created[a:b]] * e_coef[a:b])
    f_arr = np.asarray(f_o, dtype=np.float64)
    log_f = np.log(f_arr)
    for t_shift, shift in shifts:  # offsets are per epoch: a wipe restarts them at 0
        w_after = [x for x in wipes if x > t_shift]
        stop = w_after[0] if w_after else n
        log_f[t_shift:stop] += shift
    return (
        np.asarray(net_o, dtype=np.float64),
        np.asarray(cons_o, dtype=np.float64),
        np.maximum(np.asarray(u_o, dtype=np.float64) * f_arr, 0.0),
        log_f,
        wipes,
    )


def _grid(
    base: F64, liq: F64, end: I64, log_f: F64, wipes: I64, edges: F64, cols: I64, nj: int
) -> tuple[F64, F64]:
    """Build display columns: ``S_j = S_{j−1}·F_{T_j}/F_{T_{j−1}} + opened_j − ended_j``.

    ``opened_j``/``ended_j`` are computed for all columns at once with ``np.bincount`` over
    ``(column, side, bin)`` keys; only the ``O(columns × bins)`` rescaling is sequential.
    """
    n = base.shape[0]
    nb = edges.shape[0] - 1
    nk = 2 * nb
    m_cols = cols.shape[0]
    b = np.searchsorted(edges, liq, side="right") - 1
    keep = ((b >= 0) & (b < nb) & (base > 0)).ravel()
    key = (b + np.where(np.arange(2 * nj) >= nj, nb, 0)).ravel()[keep]
    created = np.repeat(np.arange(n, dtype=np.int64), 2 * nj)[keep]
    k_end = end.ravel()[keep]
    k_base = base.ravel()[keep]
    c_start = np.searchsorted(cols, created, side="left")  # first column showing the level
    c_end = np.searchsorted(cols, k_end, side="left")  # first column no longer showing it
    shown = c_end > c_start
    key, created, k_base = key[shown], created[shown], k_base[shown]
    c_start, c_end = c_start[shown], c_end[shown]
    lf_cols = np.append(log_f[cols], 0.0)
    add_v = k_base * np.exp(lf_cols[c_start] - log_f[created])
    add = np.bincount(c_start * nk + key, weights=add_v, minlength=m_cols * nk)
    add_n = np.bincount(c_start * nk + key, minlength=m_cols * nk)
    ended = c_end < m_cols
    ce = c_end[ended]
    sub_v = k_base[ended] * np.exp(lf_cols[ce] - log_f[created[ended]])
    sub = np.bincount(ce * nk + key[ended], weights=sub_v, minlength=m_cols * nk)
    sub_n = np.bincount(ce * nk + key[ended], minlength=m_cols * nk)
    add, sub = add.reshape(m_cols, nk), sub.reshape(m_cols, nk)
    add_n, sub_n = add_n.reshape(m_cols, nk), sub_n.reshape(m_cols, nk)
    col_list = cols.tolist()
    wipe_col = set(np.searchsorted(cols, wipes, side="left").tolist())
    out = np.zeros((m_cols, nk), dtype=np.float64)
    acc = np.zeros(nk, dtype=np.float64)
    cnt = np.zeros(nk, dtype=np.int64)  # live levels per bin: empty bins are exactly 0
    for j in range(m_cols):
        if j in wipe_col:  # everything shown before was wiped inside this column's interval
            acc[:] = 0.0
            cnt[:] = 0
        elif j > 0:
            acc *= math.exp(log_f[col_list[j]] - log_f[col_list[j - 1]])
            acc -= sub[j]
            cnt -= sub_n[j]
        acc += add[j]
        cnt += add_n[j]
        np.maximum(acc, 0.0, out=acc)
        acc[cnt == 0] = 0.0
        out[j] = acc
    return np.ascontiguousarray(out[:, :nb]), np.ascontiguousarray(out[:, nb:])


def levels_now(result: HeatmapResult) -> LevelsNow:
    """Levels remaining after the last candle (the current heatmap column).

    Args:
        result: Output of :func:`lhm1` (its last column is always the last candle).

    Returns:
        Long and short notional per bin with the bin edges.
    """
    return LevelsNow(result.edges, result.long[-1].copy(), result.short[-1].copy())
