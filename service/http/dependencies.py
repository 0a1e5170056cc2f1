"""What handlers are given, by name: the objects `create_app`'s lifespan builds, as Litestar
dependencies (`Provide`), so no handler reads `app.state` itself. Plus the moment of a read
(service/http/moment.py)."""

from __future__ import annotations

import asyncpg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.datastructures import State
from litestar.di import Provide

from service.audit.tree import TreeBuilder
from service.eventlog.store import EventStore
from service.eventlog.watch import LogWatcher
from service.http.answers import AnswerCache, ReadModelGate
from service.http.moment import DAY, MOMENT
from service.http.observability import Metrics
from service.reads.replicas import ReadRouter
from service.settings import Settings


def _settings(state: State) -> Settings:
    return state.settings


def _pool(state: State) -> asyncpg.Pool:
    return state.pool


def _store(state: State) -> EventStore:
    return state.store


def _watcher(state: State) -> LogWatcher:
    return state.watcher


def _router(state: State) -> ReadRouter:
    return state.router


def _gate(state: State) -> ReadModelGate:
    return state.gate


def _answers(state: State) -> AnswerCache:
    return state.answers


def _tree(state: State) -> TreeBuilder:
    return state.tree


def _metrics(state: State) -> Metrics:
    return state.metrics


def _followers(state: State) -> object:
    return state.followers


def _stream_slots(state: State) -> object:
    return state.stream_slots


def _signing_key(state: State) -> Ed25519PrivateKey:
    return state.signing_key


DEPENDENCIES: dict[str, Provide] = {
    "settings": Provide(_settings, sync_to_thread=False),
    "pool": Provide(_pool, sync_to_thread=False),
    "store": Provide(_store, sync_to_thread=False),
    "watcher": Provide(_watcher, sync_to_thread=False),
    "router": Provide(_router, sync_to_thread=False),
    "gate": Provide(_gate, sync_to_thread=False),
    "answers": Provide(_answers, sync_to_thread=False),
    "tree": Provide(_tree, sync_to_thread=False),
    "signing_key": Provide(_signing_key, sync_to_thread=False),
    "metrics": Provide(_metrics, sync_to_thread=False),
    "followers": Provide(_followers, sync_to_thread=False),
    "stream_slots": Provide(_stream_slots, sync_to_thread=False),
    "moment": MOMENT,
    "day": DAY,
}
