"""Unit-test setup: keep Hypothesis' caches out of the repository; no example deadlines.

Hypothesis writes a constants/unicode cache under ``./.hypothesis`` even when the example
database is disabled; point it at the temp dir unless the caller chose a location.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", str(Path(tempfile.gettempdir()) / "helix-hypothesis")
)

# No per-example deadline: a deadline is a timing assertion, and on a loaded CI machine it fails
# correct code (speed lives in `helix bench`, never in tests).
from hypothesis import settings

settings.register_profile("helix", deadline=None)
settings.load_profile("helix")
