"""Helix kernel and integrations: settings, event store, services, CLI.

Nothing here does work at import time; :mod:`helix.bootstrap` is the composition root.
"""

__version__ = "0.1.0"
