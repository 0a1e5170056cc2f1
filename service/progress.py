"""Progress of long jobs (import, rebuild, replay, export) on a terminal, on standard error."""

from __future__ import annotations

import sys
from typing import TextIO

from service import clock


class ProgressLine:
    """`label  done/total  pct  rate/s` redrawn in place on a terminal, or a line every few
    seconds when standard error is not one (CI logs)."""

    def __init__(self, label: str, *, stream: TextIO | None = None, every: float = 0.2) -> None:
        self._label = label
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._every = every if self._tty else 5.0
        self._start = clock.monotonic()
        self._last = 0.0
        self._done = 0
        self._total: int | None = None

    def __call__(self, done: int, total: int | None = None) -> None:
        self._done, self._total = done, total if total is not None else self._total
        now = clock.monotonic()
        if now - self._last >= self._every:
            self._last = now
            self._draw(final=False)

    def finish(self) -> None:
        self._draw(final=True)

    def _draw(self, *, final: bool) -> None:
        elapsed = max(clock.monotonic() - self._start, 1e-9)
        rate = self._done / elapsed
        if self._total:
            pct = 100.0 * self._done / self._total
            text = f"{self._label}  {self._done:,}/{self._total:,}  {pct:5.1f}%  {rate:,.0f}/s"
        else:
            text = f"{self._label}  {self._done:,}  {rate:,.0f}/s"
        if final:
            text += f"  done in {elapsed:.1f}s"
        if self._tty:
            self._stream.write("\r\x1b[2K" + text + ("\n" if final else ""))
        else:
            self._stream.write(text + "\n")
        self._stream.flush()
