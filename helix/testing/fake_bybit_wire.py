"""Bybit v5 wire items for the private side of :class:`helix.testing.fake_bybit.FakeBybit`.

Pure functions from the ledger records to the JSON objects Bybit sends: the same object is a
REST ``list`` item and a private WebSocket ``data`` item (``order``, ``execution``,
``position``, ``wallet``).  Numbers are strings, as on Bybit: prices with the instrument's
tick decimals, quantities with its qty-step decimals, amounts (values, fees, PnL) exact
without trailing zeros.  Fields the fake does not model carry Bybit's neutral values
(``""``, ``"0"``, ``"UNKNOWN"``, ``"None"``).  ``avgPrice`` is ``""`` until an order has
filled (unified-account behaviour).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from helix.testing.fake_bybit_ledger import (
    LEVERAGE,
    MM_RATE,
    ZERO,
    Execution,
    Order,
    Position,
    Rules,
    Wallet,
)


def amount(value: Decimal) -> str:
    """Exact, no exponent, no trailing zeros: ``Decimal("1.2300") -> "1.23"``."""
    return "0" if value == 0 else format(value.normalize(), "f")


def _fixed(value: Decimal, step: Decimal) -> str:
    exp = step.as_tuple().exponent  # "0.10" -> 2 decimals, like Bybit's priceScale
    places = -exp if isinstance(exp, int) and exp < 0 else 0
    return f"{value:.{places}f}" if value % step == 0 else amount(value)


def price(value: Decimal | None, rules: Rules) -> str:
    """A price with the tick's decimals (``None`` -> zero, as Bybit shows unset prices)."""
    return _fixed(ZERO if value is None else value, rules.tick)


def qty(value: Decimal, rules: Rules) -> str:
    return _fixed(value, rules.qty_step)


def order_item(o: Order, rules: Rules) -> dict[str, Any]:
    avg = o.avg_price
    tpsl = o.take_profit is not None or o.stop_loss is not None
    leaves_value = o.leaves_qty * o.price if o.price is not None else ZERO
    return {
        "category": "linear",
        "symbol": o.symbol,
        "orderId": o.order_id,
        "orderLinkId": o.order_link_id,
        "blockTradeId": "",
        "side": o.side,
        "orderType": o.order_type,
        "price": price(o.price, rules),
        "qty": qty(o.qty, rules),
        "timeInForce": o.time_in_force,
        "orderStatus": o.status,
        "isLeverage": "",
        "positionIdx": 0,
        "createType": "CreateByUser",
        "cancelType": o.cancel_type,
        "rejectReason": o.reject_reason,
        "avgPrice": "" if avg is None else amount(avg),
        "leavesQty": qty(o.leaves_qty, rules),
        "leavesValue": amount(leaves_value),
        "cumExecQty": qty(o.cum_exec_qty, rules),
        "cumExecValue": amount(o.cum_exec_value),
        "cumExecFee": amount(o.cum_exec_fee),
        "feeCurrency": "",
        "closedPnl": "0",
        "stopOrderType": "",
        "orderIv": "",
        "marketUnit": "",
        "triggerPrice": price(None, rules),
        "triggerBy": "",
        "triggerDirection": 0,
        "takeProfit": price(o.take_profit, rules),
        "stopLoss": price(o.stop_loss, rules),
        "tpslMode": "Full" if tpsl else "",
        "tpTriggerBy": "LastPrice" if o.take_profit is not None else "",
        "slTriggerBy": "LastPrice" if o.stop_loss is not None else "",
        "tpLimitPrice": price(None, rules),
        "slLimitPrice": price(None, rules),
        "ocoTriggerBy": "",
        "lastPriceOnCreated": price(o.last_price_on_created, rules),
        "basePrice": "",
        "reduceOnly": o.reduce_only,
        "closeOnTrigger": False,
        "placeType": "",
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "slippageToleranceType": "UNKNOWN",
        "slippageTolerance": "0",
        "createdTime": str(o.created_ms),
        "updatedTime": str(o.updated_ms),
    }


def execution_item(e: Execution, rules: Rules) -> dict[str, Any]:
    return {
        "category": "linear",
        "symbol": e.symbol,
        "execId": e.exec_id,
        "execType": e.exec_type,
        "orderId": e.order_id,
        "orderLinkId": e.order_link_id,
        "side": e.side,
        "orderType": e.order_type,
        "stopOrderType": "UNKNOWN",
        "orderPrice": price(e.order_price, rules),
        "orderQty": qty(e.order_qty, rules),
        "leavesQty": qty(e.leaves_qty, rules),
        "execPrice": price(e.exec_price, rules),
        "execQty": qty(e.exec_qty, rules),
        "execValue": amount(e.exec_value),
        "execFee": amount(e.exec_fee),
        "feeRate": amount(e.fee_rate),
        "feeCurrency": "",
        "execTime": str(e.exec_time),
        "isMaker": e.is_maker,
        "closedSize": qty(e.closed_size, rules),
        "markPrice": price(e.mark_price, rules),
        "indexPrice": "",
        "underlyingPrice": "",
        "tradeIv": "",
        "markIv": "",
        "blockTradeId": "",
        "execPnl": amount(e.exec_pnl),
        "createType": "CreateByUser" if e.exec_type == "Trade" else "",
        "extraFees": "",
        "seq": e.seq,
    }


def position_item(p: Position, rules: Rules, *, ws: bool) -> dict[str, Any]:
    """REST ``/v5/position/list`` item (``avgPrice``) or WS ``position`` item (``entryPrice``)."""
    item: dict[str, Any] = {
        "category": "linear",
        "symbol": p.symbol,
        "side": p.side,
        "size": qty(p.size, rules),
        "positionIdx": 0,
        "tradeMode": 0,
        "riskId": 1,
        "riskLimitValue": "2000000",
        "leverage": amount(LEVERAGE),
        "autoAddMargin": 0,
        "markPrice": price(p.mark_price, rules),
        "liqPrice": "",
        "bustPrice": "",
        "positionValue": amount(p.value),
        "positionIM": amount(p.value / LEVERAGE),
        "positionMM": amount(p.value * MM_RATE),
        "positionBalance": amount(p.value / LEVERAGE),
        "takeProfit": price(p.take_profit, rules),
        "stopLoss": price(p.stop_loss, rules),
        "trailingStop": "0",
        "unrealisedPnl": amount(p.unrealised_pnl),
        "curRealisedPnl": amount(p.cur_realised_pnl),
        "cumRealisedPnl": amount(p.cum_realised_pnl),
        "sessionAvgPrice": "",
        "positionStatus": "Normal",
        "adlRankIndicator": 2 if p.qty else 0,
        "isReduceOnly": False,
        "mmrSysUpdatedTime": "",
        "leverageSysUpdatedTime": "",
        "createdTime": str(p.created_ms),
        "updatedTime": str(p.updated_ms),
        "seq": p.seq,
    }
    item["entryPrice" if ws else "avgPrice"] = amount(p.entry_price)
    item["breakEvenPrice"] = ""
    return item


def wallet_item(w: Wallet) -> dict[str, Any]:
    """A UNIFIED account with one USDT coin (USDT counted at 1 USD)."""
    equity = w.equity

    def rate(margin: Decimal) -> str:
        return amount(round(margin / equity, 4)) if equity > 0 else "0"

    coin = {
        "coin": "USDT",
        "equity": amount(equity),
        "usdValue": amount(equity),
        "walletBalance": amount(w.balance),
        "unrealisedPnl": amount(w.unrealised_pnl),
        "cumRealisedPnl": amount(w.cum_realised_pnl),
        "totalOrderIM": "0",
        "totalPositionIM": amount(w.initial_margin),
        "totalPositionMM": amount(w.maintenance_margin),
        "locked": "0",
        "bonus": "0",
        "borrowAmount": "0",
        "accruedInterest": "0",
        "availableToWithdraw": "",
        "marginCollateral": True,
        "collateralSwitch": True,
        "spotHedgingQty": "0",
    }
    return {
        "accountType": "UNIFIED",
        "accountIMRate": rate(w.initial_margin),
        "accountMMRate": rate(w.maintenance_margin),
        "accountLTV": "0",
        "totalEquity": amount(equity),
        "totalWalletBalance": amount(w.balance),
        "totalMarginBalance": amount(equity),
        "totalAvailableBalance": amount(equity - w.initial_margin),
        "totalPerpUPL": amount(w.unrealised_pnl),
        "totalInitialMargin": amount(w.initial_margin),
        "totalMaintenanceMargin": amount(w.maintenance_margin),
        "coin": [coin],
    }
