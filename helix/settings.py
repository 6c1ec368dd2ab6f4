"""One typed, frozen settings object built from ``HELIX_*`` environment variables.

Values come from the process environment, then from a ``.env`` file in the working directory
(the environment wins).  Build it once in the composition root (:func:`load_settings`), then pass
it down explicitly.  Secrets are redacted from ``repr``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import msgspec

from helix.errors import ConfigError

PREFIX = "HELIX_"
_SECRET_WORDS = ("secret", "password", "token", "key")


class Settings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Everything Helix can be configured with.

    Attributes:
        home: data folder for embedded services (NATS store, PostgreSQL cluster, logs).
        nats_url: an external NATS server; unset means start the embedded one.
        database_url: an external PostgreSQL; unset means start the embedded one.
        nats_port / pg_port: ports for embedded services; 0 picks a free port once and keeps it.
        market_max_age_days / market_max_bytes: MARKET stream retention (0 / -1 = unlimited).
        sync: JetStream fsync policy: ``always`` (fsync every write, the default: an acked ledger
            event survives power loss) or a Go duration such as ``1s`` / ``2m`` (the server's
            default is 2m, which Jepsen showed loses acked writes on power loss).
        market_persist: ``async`` lets the MARKET stream ack before its write reaches disk
            (recorded market data can be re-fetched; ledger events never use it) or ``default``.
            Only on one replica: JetStream refuses async persist on a replicated stream.
        duplicate_window_s: JetStream de-duplication window for ``Nats-Msg-Id``.
        nats_cluster: embedded nats-server nodes (``helix services up --cluster 3``; 0 = the
            number remembered by the last ``up``, else one server).  Ignored with ``nats_url``,
            which may list several comma-separated servers of an external cluster.
        stream_replicas: replicas of MARKET, LEDGER and DLQ (0 = 3 on an embedded cluster of 3+
            nodes, else 1; set 3 for an external cluster).  An R3 stream acks after a quorum
            (2 of 3) stored the write; existing streams are scaled up, never down.
        live_trading: the explicit switch for live venues; paper trading is the default.
        bybit_*_url: Bybit endpoints (mainnet by default; testnet, demo, a regional domain or a
            local fake are just other URLs).
        bybit_symbols_per_connection: symbols on one public WebSocket connection.
        metrics_port: Prometheus metrics of long-running commands (0 = off).
        signal_*: the perps scanner's bar interval, heatmap window and thresholds (see
            :class:`helix.strategies.scanner.ScannerConfig`; defaults from quant.md App. A).
        paper_balance: opening balance of a paper account (quote currency).
        fund_*: the fund (:class:`commands.fund.FundConfig`): its id, the trading accounts whose
            book it owns (comma-separated, ``*`` = all), the first NAV per unit, the performance
            fee over each lot's high-water mark, the annual management fee, and affiliate tiers
            ``min_referred_aum:rate;...`` (decimal strings, so money never passes through float).
        risk_*: the risk guardian's limits (:class:`commands.risk.RiskConfig`): one symbol's
            exposure as a share of equity, gross leverage, open orders, the price band around
            the mark, the day's loss as a share of equity.
        telegram_* / x_api_url / twilio_* / sms_to / smtp_* / email_*: where the broadcaster
            (:mod:`helix.broadcast`) sends; the secrets (bot token, OAuth keys, Twilio SID and
            auth token, SMTP login) are not settings but read by
            :mod:`helix.broadcast.credentials`.  ``smtp_ca_file`` trusts a private relay's CA.
        polymarket_*_url: Polymarket's CLOB REST, Gamma, Data API and CLOB WebSocket base
            (``/market`` and ``/user`` are appended); ``polymarket_chain_id`` 137 (Polygon) or
            80002 (Amoy); ``polymarket_signature_type`` 0 EOA, 1 proxy, 2 safe; the wallet key
            and API key are not settings but read by :mod:`helix.venues.credentials`.
            ``polymarket_poll_s``: how often Gamma and the Data API are polled.
        poly_*: the wallet hunter and the oracle (quant.md §6–8, App. A): smart score and
            resolved-market minimum of a smart wallet, the sync window, minimum co-entries and
            minimum fill notional of the sync graph, the checklist pass mark and the items that must
            pass whatever the score (``poly_checklist_required``), λ of fractional
            Kelly, the copy-trader's stake cap (share of equity), its exit step and the signal kinds
            it enters (``poly_copy_kinds``: ``hybrid_signal`` alone follows only confirmed ones).
        hybrid_window_s: how close in time a Polymarket and a perps signal must be to fuse.
        broadcast_routes: which item kinds (and minimum scores) go to which channel
            (:mod:`helix.broadcast.routing`).
        broadcast_unknown: after an attempt whose outcome is unknown, on a channel that cannot
            be asked what it received (Telegram, email): ``skip`` (at most once) or ``resend``
            (at least once).
        broadcast_max_attempts / broadcast_backoff_s / broadcast_backoff_max_s: retries per
            delivery, with exponential backoff (a ``retry_after`` from the far side wins).
        broadcast_timeout_s: one request to a channel.
        broadcast_heatmap_window: the heatmap attached to a signal (``24h``).
    """

    home: str = ""
    nats_url: str | None = None
    database_url: str | None = None
    nats_port: int = 0
    pg_port: int = 0
    market_max_age_days: int = 0
    market_max_bytes: int = -1
    dlq_max_age_days: int = 365
    sync: str = "always"
    market_persist: Literal["default", "async"] = "async"
    duplicate_window_s: int = 120
    nats_cluster: int = 0
    stream_replicas: int = 0
    live_trading: bool = False
    log_level: str = "INFO"
    bybit_rest_url: str = "https://api.bybit.com"
    bybit_ws_public_url: str = "wss://stream.bybit.com/v5/public/linear"
    bybit_ws_private_url: str = "wss://stream.bybit.com/v5/private"
    bybit_symbols_per_connection: int = 50
    metrics_port: int = 9464
    signal_interval: str = "5m"
    signal_window: str = "24h"
    signal_cluster_score_min: float = 12.0
    signal_cooldown_min: int = 60
    signal_spike_window: int = 48
    signal_oi_z_min: float = 2.5
    signal_oi_pct_min: float = 0.005
    signal_volume_z_min: float = 2.5
    signal_rvol_min: float = 2.0
    signal_wick_ratio: float = 0.5
    signal_rank_every_min: int = 60
    signal_reach: float = 0.02
    signal_sweep_bars: int = 3
    paper_balance: float = 100_000.0
    risk_max_position_pct: float = 0.10
    risk_max_leverage: float = 3.0
    risk_max_open_orders: int = 50
    risk_price_band: float = 0.05
    risk_daily_loss_pct: float = 0.03
    telegram_api_url: str = "https://api.telegram.org"
    telegram_chat_id: str = ""
    x_api_url: str = "https://api.x.com"
    twilio_api_url: str = "https://api.twilio.com"
    twilio_from: str = ""
    sms_to: str = ""
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_ca_file: str = ""
    email_from: str = ""
    email_to: str = ""
    broadcast_routes: str = (
        "telegram:*;email:*;x:liquidation_cluster_targeted,stop_hunt,oi_spike,volume_spike;"
        "sms:liquidation_cluster_targeted:30"
    )
    broadcast_unknown: Literal["skip", "resend"] = "skip"
    broadcast_max_attempts: int = 8
    broadcast_backoff_s: float = 2.0
    broadcast_backoff_max_s: float = 900.0
    broadcast_timeout_s: float = 30.0
    broadcast_heatmap_window: str = "24h"
    fund_id: str = "helix"
    fund_accounts: str = "*"
    fund_initial_nav: str = "10"
    fund_performance_fee: str = "0.20"
    fund_management_fee: str = "0.02"
    fund_affiliate_tiers: str = "0:0.10;100000:0.15;1000000:0.20"
    polymarket_clob_url: str = "https://clob.polymarket.com"
    polymarket_gamma_url: str = "https://gamma-api.polymarket.com"
    polymarket_data_url: str = "https://data-api.polymarket.com"
    polymarket_ws_url: str = "wss://ws-subscriptions-clob.polymarket.com/ws"
    polymarket_chain_id: int = 137
    polymarket_signature_type: int = 0
    polymarket_poll_s: float = 30.0
    poly_smart_score_min: float = 30.0
    poly_smart_n_min: int = 20
    poly_sync_window_s: int = 600
    poly_sync_w_min: int = 2
    poly_sync_min_notional: float = 50.0
    poly_checklist_min: int = 70
    poly_checklist_required: str = "smart_money"
    poly_kelly_fraction: float = 0.5
    poly_risk_cap: float = 0.10
    poly_exit_step: float = 0.10
    poly_copy_kinds: str = "poly_signal,hybrid_signal"
    hybrid_window_s: int = 3600

    def __repr__(self) -> str:
        parts = []
        for name in self.__struct_fields__:
            value = getattr(self, name)
            if value and any(w in name for w in _SECRET_WORDS):
                value = "***"
            elif isinstance(value, str) and "://" in value:
                value = _redact_url(value)
            parts.append(f"{name}={value!r}")
        return f"Settings({', '.join(parts)})"

    __str__ = __repr__

    @property
    def home_path(self) -> Path:
        return Path(self.home)


def _redact_url(url: str) -> str:
    """Hide passwords and tokens: ``user:pass@``, ``token@`` and ``?password=...``."""
    scheme, _, rest = url.partition("://")
    creds, at, host = rest.rpartition("@")
    if at:
        user = creds.split(":", 1)[0] if ":" in creds else ""
        rest = f"{user}:***@{host}" if user else f"***@{host}"
    rest = re.sub(r"(?i)((?:password|token|secret)=)[^&]*", r"\1***", rest)
    return f"{scheme}://{rest}"


def default_home() -> str:
    """The per-user data folder; root (a service account) uses ``/var/lib/helix``.

    Root's own home is closed to other users, and the embedded PostgreSQL must run as an
    unprivileged user that can reach its data directory.
    """
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return "/var/lib/helix"
    from platformdirs import user_data_dir

    return user_data_dir("helix", appauthor=False)


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a ``.env`` file: ``KEY=value`` lines, ``#`` comments, optional quotes."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        if line.startswith("export "):
            line = line[len("export ") :]
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def load_settings(
    environ: Mapping[str, str] | None = None, *, dotenv: Path | None = None
) -> Settings:
    """Build :class:`Settings` from the environment (and ``.env``).

    ``HELIX_*`` variables that are not settings are left to the integrations that read them.

    Raises:
        ConfigError: a value of the wrong type.
    """
    env: dict[str, str] = {}
    env.update(read_dotenv(dotenv if dotenv is not None else Path.cwd() / ".env"))
    env.update(environ if environ is not None else os.environ)
    raw: dict[str, object] = {}
    known = set(Settings.__struct_fields__)
    for key, value in env.items():
        if not key.startswith(PREFIX):
            continue
        name = key[len(PREFIX) :].lower()
        if name not in known:
            # Other HELIX_* variables belong to integrations (venue keys, test knobs).
            continue
        if value != "":  # an empty variable means "use the default"
            raw[name] = value
    if not raw.get("home"):
        raw["home"] = default_home()
    try:
        return msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"invalid HELIX_* setting: {exc}") from exc


BYBIT_TESTNET = {
    "bybit_rest_url": "https://api-testnet.bybit.com",
    "bybit_ws_public_url": "wss://stream-testnet.bybit.com/v5/public/linear",
    "bybit_ws_private_url": "wss://stream-testnet.bybit.com/v5/private",
}


def with_bybit_testnet(settings: Settings) -> Settings:
    """The testnet endpoints, except where a URL was configured explicitly."""
    defaults = Settings(home=settings.home)
    changes = {
        k: v for k, v in BYBIT_TESTNET.items() if getattr(settings, k) == getattr(defaults, k)
    }
    return msgspec.structs.replace(settings, **changes)
