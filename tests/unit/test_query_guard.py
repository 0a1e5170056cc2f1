"""The strict query guard, on an app of its own (no database): it refuses what a route does not
take, and works out what a route takes once, not on every request."""

from __future__ import annotations

from typing import Annotated

import pytest
from litestar import Litestar, get
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Parameter
from litestar.testing import TestClient

from service.http.query_guard import strict_query
from service.http.responses import EXCEPTION_HANDLERS


@get("/things/{thing_id:str}", sync_to_thread=False)
def thing(thing_id: str, colour: Annotated[str | None, Parameter()] = None) -> dict:
    return {"id": thing_id, "colour": colour}


def _client() -> TestClient:
    return TestClient(
        Litestar([thing], guards=[strict_query], exception_handlers=EXCEPTION_HANDLERS)
    )


def test_a_parameter_the_route_does_not_take_or_one_given_twice_is_a_400() -> None:
    with _client() as client:
        assert client.get("/things/a", params={"colour": "red"}).status_code == 200
        unknown = client.get("/things/a", params={"color": "red"})
        assert (unknown.status_code, unknown.json()["field"]) == (400, "color")
        twice = client.get("/things/a?colour=red&colour=blue")
        assert (twice.status_code, twice.json()["field"]) == (400, "colour")


def test_what_a_route_takes_is_worked_out_once_not_per_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with _client() as client:
        assert client.get("/things/a", params={"colour": "red"}).status_code == 200
        made = []
        original = BaseRouteHandler.create_kwargs_model

        def counted(self: BaseRouteHandler, path_parameters: dict) -> object:
            made.append(self)
            return original(self, path_parameters)

        monkeypatch.setattr(BaseRouteHandler, "create_kwargs_model", counted)
        for colour in ("red", "green", "blue"):
            response = client.get("/things/b", params={"colour": colour})
            assert response.status_code == 200 and response.json()["colour"] == colour
        assert made == [], "the guard worked out the route's parameters again"
