"""Keep third-party libraries off the network.

unstructured pings a telemetry endpoint when it is imported unless
``DO_NOT_TRACK`` / ``SCARF_NO_ANALYTICS`` are set; Prefect's server sends
analytics unless told not to. ``ensure_offline_env`` sets those switches
(without overriding a user's explicit choice) and is called before the first
import of either library.
"""

from __future__ import annotations

import os

_DEFAULTS = {
    "DO_NOT_TRACK": "1",
    "SCARF_NO_ANALYTICS": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "HF_HUB_OFFLINE": "1",
    "OMP_THREAD_LIMIT": "1",
}


def ensure_offline_env() -> None:
    for key, value in _DEFAULTS.items():
        os.environ.setdefault(key, value)
