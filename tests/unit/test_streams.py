"""Stream slots per client (pure bookkeeping), and answers that fail after they started.

The cap itself, over a real socket, is tested in tests/test_stream_disconnects.py.
"""

from __future__ import annotations

import gc
import logging
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar import Litestar, get
from litestar.response import Stream
from litestar.testing import AsyncTestClient

from service.http.disconnects import DisconnectsAreNormal
from service.http.streams import StreamSlot, StreamSlots

CLIENTS = ["10.0.0.1", "10.0.0.2", "2001:db8::1"]

operations = st.lists(
    st.tuples(st.sampled_from(["take", "release", "release-again"]), st.sampled_from(CLIENTS)),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(per_client=st.integers(min_value=0, max_value=4), operations=operations)
def test_no_client_holds_more_slots_than_its_cap_and_each_release_counts_once(
    per_client: int, operations: list[tuple[str, str]]
) -> None:
    slots = StreamSlots(per_client)
    held: dict[str, list[StreamSlot]] = {client: [] for client in CLIENTS}
    released: dict[str, list[StreamSlot]] = {client: [] for client in CLIENTS}
    for operation, client in operations:
        if operation == "take":
            slot = slots.take(client)
            full = per_client and len(held[client]) >= per_client
            assert (slot is None) == bool(full)
            if slot is not None:
                held[client].append(slot)
        elif operation == "release" and held[client]:
            slot = held[client].pop()
            slot.release()
            released[client].append(slot)
        elif operation == "release-again" and released[client]:
            released[client][-1].release()  # a second release gives nothing back again
        for name in CLIENTS:
            assert slots.open_for(name) == len(held[name])
            if per_client:
                assert slots.open_for(name) <= per_client
    assert slots.total == sum(len(h) for h in held.values())


def test_a_stream_never_started_gives_its_slot_back_when_collected() -> None:
    slots = StreamSlots(1)
    slot = slots.take("10.0.0.1")
    assert slot is not None and slots.take("10.0.0.1") is None

    async def never_iterated() -> AsyncIterator[str]:
        yield "never"

    stream = never_iterated()
    slot.release_with(stream)
    del stream
    gc.collect()
    assert slots.open_for("10.0.0.1") == 0
    assert slots.take("10.0.0.1") is not None


class ClientDisconnected(OSError):
    """What an ASGI 2.4 server raises from `send` once the client is gone (uvicorn's name)."""


def _app(fail_with: type[Exception], middleware: DisconnectsAreNormal) -> Litestar:
    @get("/stream")
    async def stream() -> Stream:
        async def chunks() -> AsyncIterator[str]:
            yield "first\n"
            raise fail_with("the second chunk could not be sent")

        return Stream(chunks())

    return Litestar(route_handlers=[stream], middleware=[middleware], logging_config=None)


async def test_a_client_leaving_mid_answer_is_logged_once_as_such_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    middleware = DisconnectsAreNormal()
    caplog.set_level(logging.INFO, logger="timeline.http")
    async with AsyncTestClient(_app(ClientDisconnected, middleware)) as client:
        for _ in range(5):
            response = await client.get("/stream")
            assert response.status_code == 200  # it started: the disconnect came after
    lines = [r for r in caplog.records if r.name == "timeline.http"]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert lines[0].levelno == logging.INFO and lines[0].exc_info is None
    assert "ClientDisconnected" in lines[0].getMessage()
    assert middleware.seen == {"ClientDisconnected"}


async def test_any_other_failure_mid_answer_is_logged_with_its_cause_each_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="timeline.http")
    raised = 0
    async with AsyncTestClient(_app(TimeoutError, DisconnectsAreNormal())) as client:
        for _ in range(3):
            try:
                await client.get("/stream")
            except Exception:  # the test transport re-raises what the app raised
                raised += 1
    lines = [r for r in caplog.records if r.name == "timeline.http"]
    assert Counter(r.levelno for r in lines) == {logging.ERROR: 3}
    for record in lines:
        assert "TimeoutError" in record.getMessage()
        assert record.exc_info is not None and record.exc_info[0] is TimeoutError
    assert raised == 3, "the failure is still raised to the server"
