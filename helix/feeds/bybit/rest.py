"""Bybit REST through ``pybit``'s HTTP client, pointed at the configured endpoint.

pybit builds its base URL from testnet/demo/domain flags; Helix's endpoint is a setting (any
URL: mainnet, testnet, a regional domain, a local fake), so it is assigned after construction,
which pybit supports (every call reads ``session.endpoint``).  Errors become Helix errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from pybit.exceptions import FailedRequestError, InvalidRequestError
from pybit.unified_trading import HTTP
from requests.exceptions import RequestException

from helix.errors import ServiceUnavailable, ValidationError


class BybitRest:
    """The public market endpoints Helix uses."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: int = 10,
        max_retries: int = 5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.http = HTTP(
            timeout=timeout, max_retries=max_retries, retry_delay=1, return_response_headers=True
        )
        self.http.endpoint = base_url.rstrip("/")
        self.sleep = sleep
        self.waited_s = 0.0

    def _respect_limits(self, headers: Mapping[str, str]) -> None:
        """Sleep until the window resets when the remaining request budget is (nearly) spent.

        pybit itself sleeps and retries when Bybit answers 10006 (rate limited); this keeps
        long backfills from hitting that at all.
        """
        remaining = headers.get("X-Bapi-Limit-Status")
        reset_ms = headers.get("X-Bapi-Limit-Reset-Timestamp")
        if remaining is None or reset_ms is None:
            return
        try:
            if int(remaining) > 1:
                return
            wait = int(reset_ms) / 1000 - time.time()
        except ValueError:
            return
        if 0 < wait < 60:
            self.waited_s += wait
            self.sleep(wait)

    def _call(self, method: str, **params: Any) -> dict[str, Any]:
        try:
            reply, _elapsed, headers = getattr(self.http, method)(**params)
            self._respect_limits(headers)
        except InvalidRequestError as exc:
            raise ValidationError(f"Bybit rejected {method}({params}): {exc}") from exc
        except (FailedRequestError, RequestException) as exc:
            raise ServiceUnavailable(f"Bybit {method} failed: {exc}") from exc
        result = reply.get("result")
        if not isinstance(result, dict):
            raise ServiceUnavailable(f"Bybit {method}: no result in {str(reply)[:200]}")
        return result

    def recent_trades(self, symbol: str, limit: int = 1000) -> list[dict[str, Any]]:
        """The latest trades as WebSocket-shaped items (``i, T, S, v, p, seq``), oldest first."""
        result = self._call(
            "get_public_trade_history", category="linear", symbol=symbol, limit=limit
        )
        items = [
            {
                "i": it["execId"],
                "T": int(it["time"]),
                "S": it["side"],
                "v": it["size"],
                "p": it["price"],
                "seq": int(it.get("seq") or 0),
            }
            for it in result.get("list", [])
        ]
        items.sort(key=lambda it: (it["T"], it["seq"]))
        return items

    def linear_usdt_perps(self) -> list[str]:
        """Every linear USDT perpetual that is trading now (``--all``)."""
        symbols: list[str] = []
        cursor = ""
        while True:
            params: dict[str, Any] = {"category": "linear", "limit": 1000}
            if cursor:
                params["cursor"] = cursor
            result = self._call("get_instruments_info", **params)
            for it in result.get("list", []):
                if (
                    it.get("status") == "Trading"
                    and it.get("quoteCoin") == "USDT"
                    and it.get("contractType") == "LinearPerpetual"
                ):
                    symbols.append(it["symbol"])
            cursor = result.get("nextPageCursor") or ""
            if not cursor:
                return sorted(set(symbols))

    def get(self, method: str, **params: Any) -> dict[str, Any]:
        """Any other public market call by pybit method name (kline, open interest, ...)."""
        return self._call(method, **params)
