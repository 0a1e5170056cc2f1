"""Is a follower of the log stuck? For `/health`.

The read models and the Merkle tree follow the log's head. Behind it is normal for a moment
(they catch up after each append); behind it *and not moving* for long is a stall: readers then
answer 503, or the signed head stops advancing, while the database itself is fine. `Follower`
measures that from samples (each `/health` call), so the followers need no hook of their own.
"""

from __future__ import annotations


class Follower:
    """How long one follower has been behind the head without moving, from samples."""

    def __init__(self) -> None:
        self._position: int | None = None
        self._stuck_since: float | None = None

    def stuck_for(self, head: int, position: int, now: float) -> float:
        """Sample: the head is at `head`, the follower at `position`, the time is `now` (a
        monotonic clock). Returns seconds it has been behind without moving (0 if it is not
        behind, or moved since the last sample)."""
        moved = self._position is None or position > self._position
        self._position = position
        if position >= head:
            self._stuck_since = None
            return 0.0
        if moved or self._stuck_since is None:
            self._stuck_since = now
        return max(0.0, now - self._stuck_since)
