"""The one place that reads the wall clock. Everything else takes time as a parameter."""

from __future__ import annotations

import datetime as _dt


def now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)
