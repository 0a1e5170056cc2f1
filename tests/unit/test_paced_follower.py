"""`Paced`: a follower of the log that works in steps is woken at once after a quiet spell, and
at most once per `pace` seconds while the log keeps moving."""

from __future__ import annotations

import asyncio
import itertools
import time

from service.eventlog.watch import Paced

PACE = 0.2


class Log:
    """A log whose head is always past what the follower has seen (appends keep coming), or
    never moves (`moving=False`)."""

    def __init__(self, *, moving: bool = True) -> None:
        self.moving = moving

    async def wait_beyond(self, position: int, seconds: float) -> bool:
        if not self.moving:
            await asyncio.sleep(seconds)
        return self.moving


async def test_the_first_wake_up_is_at_once() -> None:
    paced = Paced(Log().wait_beyond, PACE)
    started = time.monotonic()
    assert await paced.wait_beyond(0, 5) is True
    assert time.monotonic() - started < PACE / 2


async def test_while_the_log_keeps_moving_steps_begin_at_most_once_per_pace() -> None:
    paced = Paced(Log().wait_beyond, PACE)
    await paced.wait_beyond(0, 5)
    began = [time.monotonic()]
    for position in range(1, 4):
        assert await paced.wait_beyond(position, 5) is True
        began.append(time.monotonic())
    gaps = [b - a for a, b in itertools.pairwise(began)]
    assert all(gap >= PACE * 0.95 for gap in gaps), gaps


async def test_after_a_quiet_spell_longer_than_the_pace_the_wake_up_is_at_once() -> None:
    paced = Paced(Log().wait_beyond, PACE)
    await paced.wait_beyond(0, 5)
    await asyncio.sleep(PACE * 1.5)  # the follower's step, or a quiet log
    started = time.monotonic()
    assert await paced.wait_beyond(1, 5) is True
    assert time.monotonic() - started < PACE / 2


async def test_a_log_that_does_not_move_is_a_timeout_with_no_extra_wait() -> None:
    paced = Paced(Log(moving=False).wait_beyond, PACE)
    started = time.monotonic()
    assert await paced.wait_beyond(0, 0.05) is False
    assert await paced.wait_beyond(0, 0.05) is False
    assert time.monotonic() - started < 0.05 * 2 + PACE / 2
