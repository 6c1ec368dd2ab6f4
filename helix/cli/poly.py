"""``helix poly`` and ``helix auto``: the Polymarket vertical's command groups.

The commands live in their own modules (``poly_data``: resolve; ``poly_views``: markets,
wallets, clusters; ``poly_trade``: trade and the copy-trader), which register on these groups.
"""

from __future__ import annotations

from helix.cli.app import group

poly_app = group("poly", "Polymarket: markets, wallets, sync clusters, manual trades.")
auto_app = group("auto", "Auto-traders that follow signals (paper unless --live).")
