"""What handlers are given, by name: the objects `create_app`'s lifespan builds, as Litestar
dependencies (`Provide`), so no handler reads `app.state` itself. Plus what a read route is
given: `read`, the moment of the read and the objects that answer it in one dependency
(service/http/read_request.py).

A handler names what it wants with its type, `store: NamedDependency[EventStore]`;
`STATE_OBJECTS` is the one list of those names and types, and each is provided the same way,
by `from_state`."""

from __future__ import annotations

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.datastructures import State
from litestar.di import Provide

from service.access.tokens import TokenChecker
from service.audit.tree import TreeBuilder
from service.eventlog.store import EventStore
from service.eventlog.watch import LogWatcher
from service.http.answers import AnswerCache, ReadModelGate
from service.http.audit import AUDITED_LOG
from service.http.observability import Metrics
from service.http.read_request import READ
from service.http.streams import StreamSlots
from service.reads.replicas import ReadRouter
from service.settings import Settings

STATE_OBJECTS: dict[str, type] = {
    "settings": Settings,
    "pool": asyncpg.Pool,
    "store": EventStore,
    "watcher": LogWatcher,
    "router": ReadRouter,
    "gate": ReadModelGate,
    "answers": AnswerCache,
    "tree": TreeBuilder,
    "signing_key": Ed25519PrivateKey,
    "metrics": Metrics,
    "tokens": TokenChecker,
    "stream_slots": StreamSlots,
    "followers": object,  # service.http.app.Followers (this module cannot import app.py)
}
"""The name of each object on `app.state` that handlers may be given, and what it is
(tests/api/test_app_dependencies.py checks the running app against it)."""


def from_state(name: str) -> Provide:
    """The dependency that gives `app.state`'s object `name`."""

    def provide(state: State) -> object:
        return state[name]

    provide.__name__ = provide.__qualname__ = f"provide_{name}"
    return Provide(provide, sync_to_thread=False)


DEPENDENCIES: dict[str, Provide] = {
    **{name: from_state(name) for name in STATE_OBJECTS},
    "read": READ,
    "log": AUDITED_LOG,
}
