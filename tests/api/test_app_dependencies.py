"""The objects handlers are given by name are the running app's own, of the declared types."""

from __future__ import annotations

import re

from litestar.testing import AsyncTestClient

from service.http.app import Followers
from service.http.dependencies import DEPENDENCIES, STATE_OBJECTS
from tests.support.apitools import assert_problem


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


async def test_every_api_and_widget_route_resolves_its_dependencies_one_at_a_time(
    client: AsyncTestClient,
) -> None:
    # Litestar resolves a level of a handler's dependencies that holds more than one inside an
    # anyio task group, on every request: on a cached read that costs more than the answer.
    # So each read is given one dependency (`read`, `log`, or one app object) per level.
    checked = 0
    for route in client.app.routes:
        if not route.path.startswith(("/v1/", "/embed/")):
            continue
        for handler in getattr(route, "route_handlers", ()):
            batches = handler.create_kwargs_model(route.path_parameters).dependency_batches
            levels = [sorted(dependency.key for dependency in batch) for batch in batches]
            assert all(len(level) == 1 for level in levels), (route.path, levels)
            checked += 1
    assert checked >= 10, checked  # the entity, list, change, timeline, log and embed reads


async def test_a_dated_read_takes_as_of_and_a_read_at_a_moment_does_not(
    client: AsyncTestClient,
) -> None:
    # The state's `read` is the dated one (its handler's own dependency), the timeline's not.
    state = await client.get("/v1/entities/nobody/state?as_of=2020-01-01")
    assert_problem(state, 404, "entity_id")
    timeline = await client.get("/v1/entities/nobody/timeline?as_of=2020-01-01")
    assert_problem(timeline, 400, "as_of")
