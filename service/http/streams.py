"""How many live streams each client holds open, capped per client (remote address).

A stream costs the server a socket and a waiter for as long as the client stays; without a cap
one client could hold thousands. A slot is taken before the stream's answer starts (so one more
is refused with 429 while the answer can still be a problem document) and given back when the
stream ends, however it ends: the stream's own `finally`, or, if the stream was never started
(the client left before its first message), when the stream object is collected.
"""

from __future__ import annotations

import weakref


class StreamSlot:
    """One client's hold on one live stream; `release` gives it back (once, however often it
    is called)."""

    __slots__ = ("__weakref__", "_client", "_slots")

    def __init__(self, slots: StreamSlots, client: str) -> None:
        self._slots: StreamSlots | None = slots
        self._client = client

    def release(self) -> None:
        slots, self._slots = self._slots, None
        if slots is not None:
            slots._give_back(self._client)

    def release_with(self, stream: object) -> None:
        """Also release when `stream` is collected (a stream that was never iterated never
        runs its `finally`)."""
        weakref.finalize(stream, self.release)


class StreamSlots:
    def __init__(self, per_client: int) -> None:
        """`per_client`: streams one client may hold at once; 0 means no cap."""
        self.per_client = per_client
        self._open: dict[str, int] = {}

    def open_for(self, client: str) -> int:
        return self._open.get(client, 0)

    @property
    def total(self) -> int:
        return sum(self._open.values())

    def take(self, client: str) -> StreamSlot | None:
        """A slot for one more stream of `client`, or None if it holds its share already."""
        held = self._open.get(client, 0)
        if self.per_client and held >= self.per_client:
            return None
        self._open[client] = held + 1
        return StreamSlot(self, client)

    def _give_back(self, client: str) -> None:
        held = self._open.get(client, 0) - 1
        if held > 0:
            self._open[client] = held
        else:
            self._open.pop(client, None)
