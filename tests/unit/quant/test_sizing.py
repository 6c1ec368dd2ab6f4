"""Tests for ``helix.quant.sizing``: every TV-6 vector of ``quant.md`` §6 plus edge cases."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from helix.errors import ValidationError
from helix.quant import sizing as sz

D = Decimal


def close(a: Decimal, b: Decimal | float | str, tol: float = 1e-9) -> bool:
    """Reference tolerance ``|a−b| <= tol·max(1, |b|)``."""
    bd = D(str(b))
    return abs(a - bd) <= D(str(tol)) * max(D(1), abs(bd))


# --- TV-6.a–c classic Kelly -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "b", "expected"), [("0.55", 1, "0.10"), ("0.60", 2, "0.40"), ("0.40", 1, "0")]
)
def test_tv6_abc_classic(p: str, b: int, expected: str) -> None:
    assert sz.kelly(D(p), b) == D(expected)


def test_tv6_c_raw_is_negative_but_size_is_zero() -> None:
    assert sz.kelly_raw(D("0.40"), 1) == D("-0.20")
    assert sz.kelly(0.40, 1) == 0


def test_float_inputs_go_through_repr() -> None:
    assert sz.kelly(0.55, 1.0) == D("0.10")


# --- TV-6.d–g binary Kelly ------------------------------------------------------------------


def test_tv6_d_binary_and_quarter() -> None:
    f = sz.binary_kelly(D("0.60"), D("0.50"))
    assert f == D("0.2")
    assert D("0.25") * f == D("0.05")
    r = sz.hybrid_binary("0.60", "0.60", "0.50", fraction="0.25")
    assert close(r.f, "0.05")


def test_tv6_e_binary() -> None:
    assert close(sz.binary_kelly(D("0.70"), D("0.55")), 1 / 3)


def test_tv6_f_binary_no_side() -> None:
    assert sz.binary_kelly(D("0.30"), D("0.60"), side="NO") == D("0.25")


def test_tv6_g_binary_with_fee() -> None:
    f = sz.binary_kelly(D("0.60"), D("0.50"), fee_per_share=D("0.01"))
    assert close(f, "0.183673", 1e-6)
    assert close(f, D("0.09") / D("0.49"))


def test_binary_no_edge_is_zero() -> None:
    assert sz.binary_kelly("0.40", "0.50") == 0
    assert sz.binary_kelly_raw("0.40", "0.50") == D("-0.2")


# --- TV-6.h–j perps -----------------------------------------------------------------------


def test_tv6_h_perp() -> None:
    b = sz.perp_odds(D("0.02"), D("0.04"), D("0.001"))
    assert close(b, D(13) / D(7))
    assert close(sz.kelly(D("0.45"), b), D(2) / D(13))
    assert close(sz.perp_kelly("0.45", "0.02", "0.04", "0.001"), D(1) / D(13))


def test_tv6_i_perp_position() -> None:
    pos = sz.perp_position("0.45", "0.02", "0.04", "0.001", 10_000)
    assert close(pos.f_risk, D(1) / D(13))
    assert pos.risk == D("769.23")
    # default ROUND_DOWN: never above the computed size (exact value 36,630.0366...)
    assert pos.notional == D("36630.03")
    assert close(pos.leverage, "3.663", 1e-4)
    disp = sz.perp_position("0.45", "0.02", "0.04", "0.001", 10_000, rounding=ROUND_HALF_UP)
    assert disp.risk == D("769.23")
    assert disp.notional == D("36630.04")


def test_tv6_j_max_leverage() -> None:
    assert sz.max_isolated_leverage(100_000, 98_000) == 33


def test_max_leverage_short_mirrors_long() -> None:
    # short E=100,000, SL=102,000: 1/(1.02·1.005 − 1 + 0.005) = 1/0.0301 = 33.2 → 33
    assert sz.max_isolated_leverage(100_000, 102_000, side="short") == 33
    # check: LP_short at 33x stays above the buffered stop, at 34x it does not
    lp33 = 100_000 * (1 + 1 / 33 - 0.005)
    lp34 = 100_000 * (1 + 1 / 34 - 0.005)
    assert lp33 >= 102_000 * 1.005 > lp34


def test_max_leverage_rejects_stop_on_wrong_side() -> None:
    with pytest.raises(ValidationError):
        sz.max_isolated_leverage(100, 101)
    with pytest.raises(ValidationError):
        sz.max_isolated_leverage(100, 99, side="short")


# --- TV-6.k Merton -------------------------------------------------------------------------


def test_tv6_k_merton() -> None:
    assert close(sz.merton_fraction(D("0.0005"), D("0.03")), "0.555556", 1e-6)
    assert close(sz.merton_fraction("0.0005", "0.03"), D(5) / D(9))


def test_merton_negative_drift() -> None:
    assert sz.merton_fraction("-0.0005", "0.03") == 0
    assert sz.merton_fraction("-0.0005", "0.03", allow_short=True) < 0


# --- TV-6.l–p hybrid ----------------------------------------------------------------------


def test_tv6_l_hybrid_brier_weights_and_cap() -> None:
    w = sz.brier_weight(D("0.20"), D("0.25"))
    assert close(w, D(5) / D(9))
    assert close(sz.logit("0.65"), "0.619039", 1e-6)
    assert close(sz.logit("0.55"), "0.200671", 1e-6)
    r = sz.hybrid_binary("0.65", "0.55", "0.50", w=w)
    assert close(r.p_h, "0.606613", 1e-6)
    assert close(r.f_star, "0.213226", 1e-6)
    assert close(r.p_h - D("0.5"), "0.106613", 1e-6)  # half Kelly before the cap
    assert r.f == D("0.10")
    assert not r.disagree


def test_tv6_m_stake_and_shares() -> None:
    r = sz.hybrid_binary("0.65", "0.55", "0.50", w=sz.brier_weight("0.20", "0.25"))
    pos = sz.binary_position(r.f, "0.50", 5_000)
    assert pos.stake == D("500.00")
    assert pos.shares == D("1000.00")


def test_tv6_n_equal_weights() -> None:
    r = sz.hybrid_binary("0.65", "0.55", "0.50")
    assert r.w == D("0.5")
    assert close(r.p_h, "0.601053", 1e-6)
    assert close(r.f_star, "0.202106", 1e-6)


def test_tv6_o_disagreement_guard() -> None:
    r = sz.hybrid_binary("0.62", "0.45", "0.50")
    assert r.disagree
    assert r.f == 0


def test_tv6_p_perp_hybrid() -> None:
    r = sz.hybrid_perp("0.45", "0.52", D(13) / D(7))
    assert close(r.p_h, "0.484926", 1e-6)
    assert close(r.f_star, "0.207579", 1e-6)
    assert close(r.f_star / 2, "0.103789", 1e-6)
    assert r.f == D("0.10")


def test_perp_hybrid_guard_uses_breakeven() -> None:
    # break-even 1/(1+13/7) = 0.35: 0.30 is below it, 0.50 above
    r = sz.hybrid_perp("0.30", "0.50", D(13) / D(7))
    assert r.disagree
    assert r.f == 0


def test_brier_weight_needs_30_resolved() -> None:
    assert sz.brier_weight("0.20", "0.25", n_a=29, n_b=100) == D("0.5")
    assert close(sz.brier_weight("0.20", "0.25", n_a=30, n_b=30), D(5) / D(9))


def test_hybrid_min_edge() -> None:
    # pooled 0.51 vs price 0.50: edge 0.01 < 0.02 → no bet
    assert sz.hybrid_binary("0.51", "0.51", "0.50").f == 0
    assert sz.hybrid_binary("0.51", "0.51", "0.50", min_edge=0).f > 0


# --- TV-6.q/r checklist ---------------------------------------------------------------------


def _all_pass() -> dict[str, bool]:
    return dict.fromkeys(sz.CHECKLIST_WEIGHTS, True)


def test_checklist_weights_total_100() -> None:
    assert sum(sz.CHECKLIST_WEIGHTS.values()) == 100


def test_tv6_q_checklist() -> None:
    items = _all_pass() | {"no_sync_dominance": False}
    assert sz.checklist_score(items) == 85
    assert sz.checklist_passes(items)


def test_tv6_r_checklist() -> None:
    items = _all_pass() | {"edge": False, "smart_money": False}
    assert sz.checklist_score(items) == 55
    assert not sz.checklist_passes(items)


def test_checklist_items_from_measurements() -> None:
    items = sz.checklist_items(
        edge="0.06",
        smart_wallets=2,
        sync_share="0.35",
        depth=5_000,
        stake=1_000,
        resolution_clear=True,
        days_to_resolution=30,
        adverse_move="0.10",
    )
    assert items == _all_pass() | {"no_sync_dominance": False}
    assert sz.checklist_score(items) == 85


def test_checklist_rejects_unknown_or_missing_items() -> None:
    with pytest.raises(ValidationError):
        sz.checklist_score({"edge": True})
    with pytest.raises(ValidationError):
        sz.checklist_score(_all_pass() | {"vibes": True})


# --- caps and validation --------------------------------------------------------------------


def test_per_position_cap() -> None:
    # full Kelly 0.40, half 0.20 → capped at 0.10
    assert sz.perp_kelly("0.60", "0.01", "0.02") == D("0.10")
    assert sz.perp_kelly("0.60", "0.01", "0.02", cap=1) == D("0.20")


def test_total_open_risk_cap() -> None:
    assert sz.apply_total_cap("0.10", "0.25") == D("0.05")
    assert sz.apply_total_cap("0.10", "0.35") == 0
    assert sz.apply_total_cap("0.10", "0") == D("0.10")


def test_binary_position_depth_cap() -> None:
    pos = sz.binary_position("0.10", "0.50", 5_000, book_depth=2_000)
    assert pos.stake == D("200.00")
    assert pos.shares == D("400.00")
    assert pos.f == D("0.04")


def test_binary_position_rounds_down() -> None:
    pos = sz.binary_position("0.1", "0.30", "1000.009")
    assert pos.stake == D("100.00")
    assert pos.shares == D("333.33")


@pytest.mark.parametrize("p", ["-0.01", "1.01", "nan", "inf", True, "abc"])
def test_invalid_probability(p: object) -> None:
    with pytest.raises(ValidationError):
        sz.kelly(p, 1)  # type: ignore[arg-type]


@pytest.mark.parametrize("b", [0, -1, "-0.5"])
def test_non_positive_odds(b: object) -> None:
    with pytest.raises(ValidationError):
        sz.kelly("0.5", b)  # type: ignore[arg-type]


def test_perp_target_not_covering_fee() -> None:
    with pytest.raises(ValidationError):
        sz.perp_odds("0.02", "0.001", "0.001")
    with pytest.raises(ValidationError):
        sz.perp_odds(0, "0.04")


@pytest.mark.parametrize(("price", "fee"), [("0", "0"), ("1", "0"), ("0.995", "0.01")])
def test_binary_invalid_price(price: str, fee: str) -> None:
    with pytest.raises(ValidationError):
        sz.binary_kelly("0.5", price, fee_per_share=fee)


def test_pool_rejects_certainties() -> None:
    with pytest.raises(ValidationError):
        sz.pool_log_odds("1", "0.5")
    with pytest.raises(ValidationError):
        sz.logit("0")


def test_sizes_never_negative_at_extremes() -> None:
    assert sz.kelly(0, 5) == 0
    assert sz.kelly(1, 5) == 1
    assert sz.binary_kelly(0, "0.5") == 0
    assert sz.perp_kelly(0, "0.02", "0.04") == 0
