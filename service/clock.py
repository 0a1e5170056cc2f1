"""The one place that reads the wall clock. Everything else takes time as a parameter."""

from __future__ import annotations

import datetime as _dt
import time


def now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def monotonic() -> float:
    """Seconds on a clock that never goes backwards, for timeouts and cache ages."""
    return time.monotonic()
