"""Numba kernels behind :func:`helix.quant.heatmap.lhm1` (LHM-1, ``quant.md`` §2.2).

LHM-1 runs as two compiled passes over the ``8n`` levels (4 long and 4 short per candle). Each
pass is ``O(n)`` amortised.

1. :func:`liquidation_deaths` is a backward sweep. For every level it finds the first later
   candle that consumes it (``Low ≤ liq`` for a long, ``High ≥ liq`` for a short). The first
   index ``≥ s`` with ``v ≤ x`` is always a strict prefix-minimum record of ``v[s:]``. Sweeping
   ``s`` from the end keeps those records on a monotonic stack, so each level is one search on
   the stack. The search starts from the previous candle's answer for the same leverage. The
   stack only changes at its top from one candle to the next, so that answer is usually within
   a record or two. A branch-free count over a window of records around it settles most
   searches, and a binary search settles the rest.
2. :func:`lhm_run` is a single forward loop. It runs the scalar recurrence (``C_t``, ``net_t``,
   ``A_t``, ``F_t``) and builds the display columns as it goes.

   * A level's notional is ``u·F``, where ``F`` is the running product of the decay and close
     factors (steps 6 and 8 scale every active level by the same factor). Each new level adds
     its ``u`` to the slot of the candle that will consume it. Candle ``t`` reads its slot,
     which gives ``C_t = F·slot[t]``.
   * The current column is kept in the same ``u`` space, with one live-level count per bin. A
     level enters its bin when it opens, but only if it outlives the end of its first display
     column. Its removal is booked on the column in which it will be consumed. At the end of
     each column the bookings for that column are applied and the column is written out as
     ``u·F``. Negatives are clipped and a bin with no live level is exactly 0.

``F`` never underflows. When a factor would take it below ``RENORM``, a new *frame* starts: the
old ``F`` is recorded as the frame's ``rho`` (followed by the factor itself, if that is tiny
too), and ``F`` restarts at 1. A wipe (close factor ``≤ 0``) is a frame with ``rho = 0``. A
stored value records the frame it was written in, and a read brings it into the current frame
by multiplying it by the ``rho`` of the frames it missed. That loop stops at the first zero,
which comes after a few frames at most, because only the first ``rho`` of a pair can be above
``RENORM``. Each factor is applied on its own, never multiplied into another factor first, so
no value underflows before the exact product would. Wipes also drop the removals that were
booked before them, because a wiped level has already left its bin.

Inputs must be C-contiguous float64 arrays (int32 for ``death``) of consistent lengths. The
wrappers in :mod:`helix.quant.heatmap` check this, because numba does not check bounds. The
kernels release the GIL, so a heatmap computed in a worker thread (``asyncio.to_thread``) does
not stall the event loop.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]

RENORM = 1e-200
MAX_CANDLES = 2**31 - 2  # death indices are int32 (half the memory traffic of int64)

# Stack layout shared by the searches: positions 0.._W-1 hold −inf (they stand for "no record"),
# the records follow from position _W, and the _W + 1 positions above the top hold +inf. A
# window of 2·_W + 1 records around any position can then be read without bounds checks.
_W = 2

__all__ = [
    "MAX_CANDLES",
    "RENORM",
    "bin_index",
    "cache_misses",
    "first_at_or_below",
    "lhm_run",
    "liquidation_deaths",
]


# ---------------------------------------------------------------------------------------------
# 1. consumption times


@njit(cache=True, error_model="numpy")
def _new_stack(n: int, none: int) -> tuple[I64, F64]:
    """An empty stack with room for ``n`` records (see the layout at ``_W``).

    Only the sentinels are written: a push writes its record and the ``+inf`` above it, so the
    rest of the ``O(n)`` arrays is never filled (a random walk keeps a few hundred records).
    """
    idx = np.empty(n + 2 * _W + 2, dtype=np.int64)
    val = np.empty(n + 2 * _W + 2, dtype=np.float64)
    idx[:_W] = none
    val[:_W] = -np.inf
    val[_W : 2 * _W + 2] = np.inf
    return idx, val


@njit(cache=True, error_model="numpy")
def _push(st_idx: I64, st_val: F64, sp: int, idx: int, v: float) -> int:
    """Make ``idx`` the top record: pop the records it is not strictly below, then push it."""
    if v != v:  # NaN never satisfies ``≤ x``: it acts as +inf
        v = np.inf
    while sp > 0 and st_val[_W + sp - 1] >= v:
        sp -= 1
    st_idx[_W + sp] = idx
    st_val[_W + sp] = v
    for i in range(_W + 1):
        st_val[_W + sp + 1 + i] = np.inf
    return sp + 1


@njit(cache=True, error_model="numpy")
def _find(st_val: F64, sp: int, x: float, guess: int) -> int:
    """Position of the topmost record ``≤ x`` (``_W − 1`` if none), searched from ``guess``.

    The stack values rise strictly from the bottom (the far future's minimum) to the top (the
    nearest candle), so the records ``≤ x`` form a bottom segment. If the end of that segment
    lies within ``_W`` of ``guess``, the answer is a count over that window, with no branch to
    mispredict. Otherwise it is a binary search.
    """
    g = min(max(guess, _W), _W + sp - 1) if sp > 0 else _W
    if st_val[g - _W] <= x < st_val[g + _W + 1]:
        cnt = 0
        for i in range(-_W, _W + 1):
            cnt += st_val[g + i] <= x
        return g - _W - 1 + cnt
    if x != x:
        return _W - 1
    lo = _W - 1  # st_val[lo] ≤ x < st_val[hi]
    hi = _W + sp
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if st_val[mid] <= x:
            lo = mid
        else:
            hi = mid
    return lo


@njit(cache=True, error_model="numpy")
def _sweep4(
    trig_low: F64, trig_high: F64, price: F64, kl: F64, ks: F64, out: I32, first: int, cnt: int
) -> None:
    """One backward sweep for leverages ``first .. first+cnt−1`` (``cnt ≤ 4``).

    The four previous answers per side live in local variables rather than an array. Stores to
    an array would have to be assumed to alias the stack, and that costs about 15% of the sweep.
    Unused slots have a NaN multiplier, which never matches and is never written out.
    """
    n = price.shape[0]
    nj = out.shape[1] // 2
    l_idx, l_val = _new_stack(n, n)
    h_idx, h_val = _new_stack(n, n)
    a0, a1, a2, a3 = kl[0], kl[1], kl[2], kl[3]
    b0, b1, b2, b3 = ks[0], ks[1], ks[2], ks[3]
    g0 = g1 = g2 = g3 = _W - 1  # positions of the previous answers (longs)
    h0 = h1 = h2 = h3 = _W - 1  # (shorts)
    sl = 0
    sh = 0
    for c in range(n - 1, -1, -1):
        # The stacks hold the records of candles c+1..n-1: a level never meets its own candle.
        p = price[c]
        g0 = _find(l_val, sl, p * a0, g0)
        g1 = _find(l_val, sl, p * a1, g1)
        g2 = _find(l_val, sl, p * a2, g2)
        g3 = _find(l_val, sl, p * a3, g3)
        # Shorts: High ≥ liq  ⇔  −High ≤ −liq (negation is exact).
        h0 = _find(h_val, sh, -(p * b0), h0)
        h1 = _find(h_val, sh, -(p * b1), h1)
        h2 = _find(h_val, sh, -(p * b2), h2)
        h3 = _find(h_val, sh, -(p * b3), h3)
        out[c, first] = l_idx[g0]
        out[c, nj + first] = h_idx[h0]
        if cnt > 1:
            out[c, first + 1] = l_idx[g1]
            out[c, nj + first + 1] = h_idx[h1]
        if cnt > 2:
            out[c, first + 2] = l_idx[g2]
            out[c, nj + first + 2] = h_idx[h2]
        if cnt > 3:
            out[c, first + 3] = l_idx[g3]
            out[c, nj + first + 3] = h_idx[h3]
        sl = _push(l_idx, l_val, sl, c, trig_low[c])
        sh = _push(h_idx, h_val, sh, c, -trig_high[c])


@njit(cache=True, error_model="numpy", nogil=True)
def _deaths(trig_low: F64, trig_high: F64, price: F64, k_long: F64, k_short: F64) -> I32:
    n = price.shape[0]
    nj = k_long.shape[0]
    out = np.empty((n, 2 * nj), dtype=np.int32)  # int32: half the memory traffic of int64
    for first in range(0, nj, 4):  # one sweep per 4 leverages (the default has 4)
        cnt = min(4, nj - first)
        kl = np.full(4, np.nan)
        ks = np.full(4, np.nan)
        kl[:cnt] = k_long[first : first + cnt]
        ks[:cnt] = k_short[first : first + cnt]
        _sweep4(trig_low, trig_high, price, kl, ks, out, first, cnt)
    return out


@njit(cache=True, error_model="numpy", nogil=True)
def _first_at_or_below(values: F64, start: I64, thresh: F64) -> I64:
    n = values.shape[0]
    q = start.shape[0]
    order = np.argsort(start, kind="mergesort")
    out = np.empty(q, dtype=np.int64)
    st_idx, st_val = _new_stack(n, n)
    sp = 0
    t: int = n  # the stack holds the records of values[t:]
    for r in range(q - 1, -1, -1):
        i = int(order[r])
        s = max(int(start[i]), 0)
        while t > s:
            t -= 1
            sp = _push(st_idx, st_val, sp, t, values[t])
        out[i] = st_idx[_find(st_val, sp, thresh[i], _W + sp - 1)]  # no history: from the top
    return out


def liquidation_deaths(trig_low: F64, trig_high: F64, price: F64, k_long: F64, k_short: F64) -> I32:
    """Find the candle that consumes each level (``n`` if none does).

    Args:
        trig_low: Lows that trigger long levels (mark or last price), shape ``(n,)``.
        trig_high: Highs that trigger short levels, shape ``(n,)``.
        price: Entry proxy ``P_t``, shape ``(n,)``.
        k_long: Long multipliers ``1 − 1/L + m`` (level price ``P_t·k``), shape ``(J,)``.
        k_short: Short multipliers ``1 + 1/L − m``, shape ``(J,)``.

    Returns:
        ``death[t, j]`` for longs (``j < J``) and ``death[t, J + j]`` for shorts, shape
        ``(n, 2J)``. For a long it is the first ``t' > t`` with ``trig_low[t'] ≤ P_t·k_long[j]``;
        for a short, the first ``t' > t`` with ``trig_high[t'] ≥ P_t·k_short[j]``; ``n`` if there
        is none. NaN triggers never consume.
    """
    out: I32 = _deaths(trig_low, trig_high, price, k_long, k_short)
    return out


def first_at_or_below(values: F64, start: I64, thresh: F64) -> I64:
    """First ``t ≥ start[i]`` with ``values[t] ≤ thresh[i]``, for every query ``i``.

    Args:
        values: Series, shape ``(n,)``.
        start: First index of each query (negative counts as 0).
        thresh: Threshold of each query.

    Returns:
        The index per query, ``n`` where none qualifies.
    """
    out: I64 = _first_at_or_below(values, start, thresh)
    return out


# ---------------------------------------------------------------------------------------------
# 2. recurrence and display columns


@njit(cache=True, error_model="numpy")
def _in_frame(v: float, frm: int, to: int, rho: F64) -> float:
    """Re-express ``v``, stored in frame ``frm``, in frame ``to ≥ frm``."""
    e = frm + 1
    while e <= to and v != 0.0:
        v *= rho[e]
        e += 1
    return v


@njit(cache=True, error_model="numpy")
def _rescale(x: float, f: float, u: float, frame: int, rho: F64) -> tuple[float, float, int]:
    """Multiply every active notional by ``x > 0``, so ``F ← F·x``, starting frames if needed.

    ``rho`` must have room for two more frames. It is filled in place rather than returned,
    because returning an array costs reference counting on every call.
    """
    nf = f * x
    if nf >= RENORM:
        return nf, u, frame
    if f != 1.0:
        frame += 1
        rho[frame] = f
        u *= f
    f = x
    if f < RENORM:
        frame += 1
        rho[frame] = f
        u *= f
        f = 1.0
    return f, u, frame


@njit(cache=True, error_model="numpy")
def _bin(p: float, edges: F64, e0: float, inv_width: float, uniform: bool) -> int:
    """``searchsorted(edges, p, side="right") − 1`` if that is a bin, else −1.

    For uniform edges an arithmetic guess is tried first. It is accepted only if ``edges``
    confirm it, so the result is always exactly the searchsorted one.
    """
    nb = edges.shape[0] - 1
    if uniform:
        t = (p - e0) * inv_width
        if 0.0 <= t < nb:
            b = int(t)
            if edges[b] <= p < edges[b + 1]:
                return b
    if nb < 1 or not edges[0] <= p < edges[nb]:  # also rejects NaN
        return -1
    lo = 0  # edges[lo] ≤ p < edges[hi]
    hi = nb
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if edges[mid] <= p:
            lo = mid
        else:
            hi = mid
    return lo


@njit(cache=True, error_model="numpy", nogil=True)
def _bins(p: F64, edges: F64, uniform: bool) -> I64:
    nb = edges.shape[0] - 1
    e0 = edges[0] if nb > 0 else 0.0
    inv = nb / (edges[nb] - e0) if nb > 0 and edges[nb] > e0 else 0.0
    out = np.empty(p.shape[0], dtype=np.int64)
    for i in range(p.shape[0]):
        out[i] = _bin(p[i], edges, e0, inv, uniform)
    return out


def bin_index(p: F64, edges: F64, uniform: bool) -> I64:
    """Find the bin of each price as the grid kernel does (−1 outside the edges).

    Args:
        p: Prices.
        edges: Ascending bin edges, shape ``(B + 1,)``.
        uniform: Try the arithmetic guess first. Any edges give the same answer either way;
            the flag only changes the speed.

    Returns:
        ``np.searchsorted(edges, p, side="right") − 1`` where that lies in ``[0, B)``, else −1.
    """
    out: I64 = _bins(p, edges, uniform)
    return out


@njit(cache=True, error_model="numpy", nogil=True)
def _run(
    dn: F64,
    share: F64,
    decay: F64,
    death: I32,
    w: F64,
    w_sum: float,
    net_uses_consumed: bool,
    price: F64,
    k_long: F64,
    k_short: F64,
    every: int,
    edges: F64,
    uniform: bool,
) -> tuple[F64, F64, F64, F64, F64]:
    n = dn.shape[0]
    nj = w.shape[0]
    nb = max(edges.shape[0] - 1, 0)
    m = (n + every - 1) // every  # column j is the snapshot after candle min((j+1)·every−1, n−1)
    e0 = edges[0] if nb > 0 else 0.0
    inv = nb / (edges[nb] - e0) if nb > 0 and edges[nb] > e0 else 0.0

    slot = np.zeros(n, dtype=np.float64)  # Σu of the levels consumed at t, in frame slot_fr[t]
    slot_fr = np.zeros(n, dtype=np.int64)
    rho = np.empty(64, dtype=np.float64)
    rho[0] = 1.0
    frame = 0
    last_wipe = 0  # frame started by the latest wipe: values stored before it are gone
    f = 1.0  # F = Π rho[: frame + 1] · f
    u = 0.0  # Σu of the active levels, so A_t = f·u
    net = np.empty(n, dtype=np.float64)
    consumed = np.empty(n, dtype=np.float64)
    active = np.empty(n, dtype=np.float64)

    grid = np.zeros((2, m, nb), dtype=np.float64)  # [long/short, column, bin]
    acc = np.zeros((2, nb), dtype=np.float64)  # the current column in u space
    acc_n = np.zeros((2, nb), dtype=np.int64)  # live levels per bin
    acc_fr = np.zeros((2, nb), dtype=np.int64)
    book = np.zeros((m, 2, nb), dtype=np.float64)  # removals booked per column, in u space
    book_n = np.zeros((m, 2, nb), dtype=np.int64)
    book_fr = np.zeros((m, 2, nb), dtype=np.int64)
    col = 0
    t_col = min(every - 1, n - 1)

    for t in range(n):
        if frame + 4 >= rho.shape[0]:  # room for this candle's frames (at most 4)
            grown = np.empty(2 * rho.shape[0], dtype=np.float64)
            grown[: rho.shape[0]] = rho
            rho = grown
        if decay[t] != 1.0:  # step 8, before consumption
            f, u, frame = _rescale(decay[t], f, u, frame, rho)
        d = slot[t]
        if slot_fr[t] != frame:
            d = _in_frame(d, slot_fr[t], frame, rho)
        c = f * d
        u -= d
        nt = dn[t] + c if net_uses_consumed else dn[t]
        if nt > 0.0:
            g = nt / f  # u of the whole opened notional
            s = share[t]
            pc = price[t]
            for side in range(2):
                k_side = k_long if side == 0 else k_short
                for j in range(nj):
                    k = death[t, side * nj + j]
                    uk = g * (s * w[j] if side == 0 else (1.0 - s) * w[j])
                    if k < n:
                        if slot_fr[k] != frame:
                            slot[k] = _in_frame(slot[k], slot_fr[k], frame, rho)
                            slot_fr[k] = frame
                        slot[k] += uk
                    # Drawn only if still open at the end of its first column and inside the edges.
                    if k <= t_col or not uk > 0.0 or nb == 0:
                        continue
                    b = _bin(pc * k_side[j], edges, e0, inv, uniform)
                    if b < 0:
                        continue
                    if acc_fr[side, b] != frame:
                        if acc_fr[side, b] < last_wipe:
                            acc[side, b] = 0.0
                            acc_n[side, b] = 0
                        else:
                            acc[side, b] = _in_frame(acc[side, b], acc_fr[side, b], frame, rho)
                        acc_fr[side, b] = frame
                    acc[side, b] += uk
                    acc_n[side, b] += 1
                    if k < n:
                        kc = k // every  # the column in which it is no longer shown
                        if book_fr[kc, side, b] != frame:
                            if book_fr[kc, side, b] < last_wipe:
                                book[kc, side, b] = 0.0
                                book_n[kc, side, b] = 0
                            else:
                                book[kc, side, b] = _in_frame(
                                    book[kc, side, b], book_fr[kc, side, b], frame, rho
                                )
                            book_fr[kc, side, b] = frame
                        book[kc, side, b] += uk
                        book_n[kc, side, b] += 1
            u += g * w_sum
        elif nt < 0.0:
            a = f * u
            if a > 0.0:
                x = 1.0 + nt / a
                if x <= 0.0:  # everything closed: a frame with rho = 0 wipes the state
                    frame += 1
                    rho[frame] = 0.0
                    last_wipe = frame
                    f = 1.0
                    u = 0.0
                else:
                    f, u, frame = _rescale(x, f, u, frame, rho)
        net[t] = nt
        consumed[t] = c
        active[t] = max(f * u, 0.0)
        if t == t_col:  # snapshot: apply this column's removals, write it out as u·F
            for side in range(2):
                for b in range(nb):
                    v = 0.0
                    cnt = 0
                    if acc_fr[side, b] >= last_wipe:
                        v = _in_frame(acc[side, b], acc_fr[side, b], frame, rho)
                        cnt = acc_n[side, b]
                    if book_fr[col, side, b] >= last_wipe and book_n[col, side, b] != 0:
                        v -= _in_frame(book[col, side, b], book_fr[col, side, b], frame, rho)
                        cnt -= book_n[col, side, b]
                    if cnt == 0:  # float residues must not outlive the last level
                        v = 0.0
                    acc[side, b] = v
                    acc_n[side, b] = cnt
                    acc_fr[side, b] = frame
                    grid[side, col, b] = max(v * f, 0.0)
            col += 1
            t_col = min(t_col + every, n - 1)
    return net, consumed, active, grid[0], grid[1]


def lhm_run(
    dn: F64,
    share: F64,
    decay: F64,
    death: I32,
    w: F64,
    net_uses_consumed: bool,
    price: F64,
    k_long: F64,
    k_short: F64,
    every: int,
    edges: F64,
    uniform: bool,
) -> tuple[F64, F64, F64, F64, F64]:
    """Run the LHM-1 recurrence (§2.2 steps 2–8) and build the display columns.

    Args:
        dn: ``ΔN_t`` in USD, shape ``(n,)``.
        share: Long share ``s_t``, shape ``(n,)``.
        decay: Decay factor applied at the start of each candle (1 = none), shape ``(n,)``.
        death: Output of :func:`liquidation_deaths`, shape ``(n, 2J)``.
        w: Bucket weights, shape ``(J,)``.
        net_uses_consumed: ``net_t = ΔN_t + C_t`` if true, else ``ΔN_t``.
        price: Entry proxy ``P_t``, shape ``(n,)``.
        k_long: Long multipliers (level price ``P_t·k``), shape ``(J,)``.
        k_short: Short multipliers, shape ``(J,)``.
        every: Candles per display column.
        edges: Ascending bin edges, shape ``(B + 1,)``.
        uniform: Whether the edges are equally spaced (a speed hint: see :func:`bin_index`).

    Returns:
        ``(net, consumed, active, long, short)``: the per-candle series, then the long and short
        notional per display column and bin, each of shape ``(ceil(n / every), B)``.
    """
    # Σw correctly rounded: exactly 1.0 for weights meant to sum to 1 (0.4 + 0.3 + 0.2 + 0.1
    # is 0.9999999999999999 left to right). A_t must start exact. When a fixed USD amount is
    # closed each candle, its relative error doubles whenever A_t halves.
    w_sum = math.fsum(w.tolist())
    res: tuple[F64, F64, F64, F64, F64] = _run(
        dn, share, decay, death, w, w_sum, net_uses_consumed, price, k_long, k_short, every,
        edges, uniform,
    )  # fmt: skip
    return res


def cache_misses() -> int:
    """Count the kernel compilations so far that numba's on-disk cache could not serve.

    Returns:
        0 while every kernel has come from ``__pycache__`` (or none has run yet).
    """
    return sum(sum(k.stats.cache_misses.values()) for k in (_deaths, _run, _first_at_or_below))
