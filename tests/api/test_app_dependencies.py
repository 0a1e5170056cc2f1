"""The objects handlers are given by name are the running app's own, of the declared types."""

from __future__ import annotations

import re

from litestar.testing import AsyncTestClient

from service.http.app import Followers
from service.http.dependencies import DEPENDENCIES, STATE_OBJECTS


async def test_every_named_state_object_is_built_by_the_app_with_its_declared_type(
    client: AsyncTestClient,
) -> None:
    state = client.app.state
    for name, kind in STATE_OBJECTS.items():
        assert name in DEPENDENCIES, name
        assert isinstance(state[name], kind), (name, type(state[name]), kind)
    assert isinstance(state["followers"], Followers)


async def test_a_handler_is_given_the_app_states_object_itself(client: AsyncTestClient) -> None:
    # /metrics is given `metrics` by name: what it renders is the app's own registry.
    metrics = client.app.state["metrics"]
    metrics.projected(424242)
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert re.search(r" 424242(\.0)?$", response.text, re.MULTILINE), response.text
