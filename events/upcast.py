"""Upcasters: turn a stored payload of an older schema version into the current shape.

The log is never rewritten, so an event appended under schema N keeps its bytes (and its
hash) for ever. Readers upcast on the way in: `upcast(type, version, payload)` applies the
registered one-step functions N -> N+1 -> ... until the type's current version.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from events.types import EVENT_TYPES

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]

_REGISTRY: dict[tuple[str, int], Upcaster] = {}


class UpcastError(ValueError):
    pass


def current_version(type_name: str) -> int:
    cls = EVENT_TYPES.get(type_name)
    if cls is None:
        raise UpcastError(f"unknown event type {type_name!r}")
    return cls.schema_version


def upcaster(type_name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register a function that turns `type_name` schema `from_version` into `from_version + 1`."""

    def register(fn: Upcaster) -> Upcaster:
        key = (type_name, from_version)
        if key in _REGISTRY:
            raise UpcastError(f"an upcaster for {type_name} v{from_version} is already registered")
        _REGISTRY[key] = fn
        return fn

    return register


def upcast(type_name: str, version: int, payload: Payload) -> Payload:
    target = current_version(type_name)
    if version > target:
        raise UpcastError(f"{type_name} schema {version} is newer than this code knows ({target})")
    while version < target:
        step = _REGISTRY.get((type_name, version))
        if step is None:
            raise UpcastError(f"no upcaster from {type_name} schema {version}")
        payload = step(dict(payload))
        version += 1
    return payload


@upcaster("ExitAnnounced", 1)
def _exit_announced_impact_usd_to_impact(payload: Payload) -> Payload:
    """Schema 1 carried the loss as a bare `impact_usd` number; schema 2 names the currency."""
    amount = payload.pop("impact_usd", None)
    if amount is not None:
        payload["impact"] = {"amount": amount, "currency": "USD"}
    return payload
