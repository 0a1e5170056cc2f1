"""`/v1/log`: the signed tree head, the public key, inclusion and consistency proofs.

`LogController` is given `signing_key` (the Ed25519 private key from `service.audit.keys`) and,
on the routes that read the tree, `log` (an `AuditedLog`: the running
`service.audit.tree.TreeBuilder`, the key, the log and its watcher, as one dependency so that
Litestar resolves it without a task group): `start(state, settings)` sets up the tree and the key
in the app's lifespan, `stop(state)` ends the builder.

The head is for the tree's current size, which lags the log by the moments it takes to hash
new events. A proof for a size the log has but the tree has not reached yet waits for it a
little, then answers 409 (retry). Proofs for a given size never change: they are served as
immutable with a strong ETag.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import QueryParameter

from projections.audit import signing
from service.audit import keys
from service.audit.tree import BeyondTree, TreeBuilder, TreeHead
from service.errors import BadRequest, NotFound, NotYet
from service.eventlog.store import EventStore
from service.eventlog.watch import LogWatcher
from service.http.reads import json_answer
from service.http.responses import IMMUTABLE, REVALIDATE, etag_matches, etag_of

CATCH_UP_SECONDS = 2.0
"""How long a proof request waits for the tree to reach a size the log already has."""
NO_CACHE = "no-cache"
T = TypeVar("T")


class InvalidParameter(BadRequest):
    slug = "invalid-parameter"
    title = "A parameter is not valid"


class NoSuchSize(NotFound):
    slug = "no-such-size"
    title = "The log is not that large"


class TreeBehind(NotYet):
    slug = "tree-behind"
    title = "The Merkle tree has not reached that size yet"


class InclusionAnswer(msgspec.Struct, frozen=True):
    """The event at `position` is leaf `leaf_index` (= position - 1) of the tree of `size`
    leaves: `verify_inclusion(leaf_hash, leaf_index, size, proof, root of a head of size)`."""

    position: int
    leaf_index: int
    size: int
    leaf_hash: str
    proof: list[str]


class ConsistencyAnswer(msgspec.Struct, frozen=True):
    """The tree of `from` leaves is a prefix of that of `to` leaves:
    `verify_consistency(from, to, proof, old head's root, new head's root)`."""

    first: int = msgspec.field(name="from")
    second: int = msgspec.field(name="to")
    proof: list[str]


# --------------------------------------------------------------------------- lifespan


async def start(state: State, settings: object) -> None:
    """Load (or make) the signing key and start the tree builder, woken by `state.watcher`."""
    state.signing_key = await asyncio.to_thread(keys.signing_key, settings)
    tree = TreeBuilder(state.pool)
    # Paced: under a stream of appends the tree grows by every append of the last moment
    # (FOLLOW_PACE) at once, not by one transaction, round trips and all, per append.
    await tree.start(state.watcher.paced())
    state.tree = tree


async def stop(state: State) -> None:
    tree: TreeBuilder | None = getattr(state, "tree", None)
    if tree is not None:
        await tree.stop()


# --------------------------------------------------------------------------- heads

_signed: dict[tuple[str, int, bytes, object], signing.SignedHead] = {}


def signed_head(key: Ed25519PrivateKey, head: TreeHead) -> signing.SignedHead:
    """The head signed with `key`. Ed25519 is deterministic and the timestamp is when the
    tree reached its size, so every process signs the same size to the same bytes."""
    assert head.timestamp is not None
    cache_key = (signing.key_id(key.public_key()), head.size, head.root, head.timestamp)
    found = _signed.get(cache_key)
    if found is None:
        found = signing.sign_head(key, head.size, head.root, head.timestamp)
        if len(_signed) > 16:
            _signed.clear()
        _signed[cache_key] = found
    return found


@dataclass(frozen=True, slots=True)
class AuditedLog:
    """The log and its Merkle tree, as the tree routes read them."""

    tree: TreeBuilder
    signing_key: Ed25519PrivateKey
    watcher: LogWatcher
    store: EventStore


def provide_audited_log(state: State) -> AuditedLog:
    return AuditedLog(state["tree"], state["signing_key"], state["watcher"], state["store"])


AUDITED_LOG = Provide(provide_audited_log, sync_to_thread=False)


# --------------------------------------------------------------------------- proofs


async def _beyond(log: AuditedLog, exc: BeyondTree, field: str) -> None:
    """Raise the problem for a size the tree has not reached: 404 beyond the log, else 409."""
    log_size = max(log.watcher.position, (await log.store.head()).position)
    if exc.size > log_size:
        raise NoSuchSize(
            f"the log has {log_size} events; there is no tree of size {exc.size}", field=field
        ) from None
    raise TreeBehind(
        f"the tree covers {exc.tree_size} of the log's {log_size} events; retry shortly",
        field=field,
        retry_after=1,
    ) from None


_SIZE_SCHEMA = {"pattern": "^[0-9]+$"}


def _size_param(text: str, field: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise InvalidParameter(f"must be an integer >= 0, not {text!r}", field=field)
    return int(text)


def _immutable(explicit: bool, *parts: object) -> dict[str, str]:
    if explicit:
        return {"ETag": etag_of(*parts), "Cache-Control": IMMUTABLE}
    return {"Cache-Control": NO_CACHE}


async def _retrying(log: AuditedLog, ask: Callable[[], Awaitable[T]]) -> T:
    """`ask()`; if the tree is behind a size the log already has, wait (briefly) for this
    process's builder to reach it, then ask once more."""
    try:
        return await ask()
    except BeyondTree as exc:
        if exc.size > log.watcher.position or not await log.tree.wait_for(
            exc.size, CATCH_UP_SECONDS
        ):
            raise
    return await ask()


NOT_MODIFIED = b""


class LogController(Controller):
    path = "/v1/log"
    tags = ("audit",)
    cache_control = None

    @get(
        "/head",
        operation_id="logHead",
        summary="The signed head of the log's Merkle tree (size, root hash, timestamp, signature)",
        description=(
            "Ed25519 over `sanctions-timeline tree head v1\\n<size>\\n<root hex>\\n<timestamp>"
            "\\n<key_id>\\n`; see docs/audit.md. `timestamp` is when the tree reached `size`. The "
            "tree follows the log within moments; `size` says which prefix of the log it covers."
        ),
        responses=json_answer(signing.SignedHead),
    )
    async def head(self, request: Request, log: NamedDependency[AuditedLog]) -> Response[bytes]:
        head = signed_head(log.signing_key, await log.tree.current())
        etag = etag_of("head", head.size, head.root_hash, head.timestamp.isoformat(), head.key_id)
        headers = {"ETag": etag, "Cache-Control": NO_CACHE}
        if etag_matches(request, etag):
            return Response(NOT_MODIFIED, status_code=304, headers=headers)
        return Response(signing.encode_head(head), media_type="application/json", headers=headers)

    @get(
        "/key",
        operation_id="logKey",
        summary="The public key that signs tree heads",
        description="`public_key` is the raw 32-byte Ed25519 key in base64; `key_id` the first 16 "
        "hex digits of its SHA-256. Pin it once, and compare it with a published copy.",
        responses=json_answer(signing.KeyInfo),
    )
    async def key(
        self, request: Request, signing_key: NamedDependency[Ed25519PrivateKey]
    ) -> Response[bytes]:
        info = signing.key_info(signing_key.public_key())
        etag = etag_of("key", info.key_id)
        headers = {"ETag": etag, "Cache-Control": REVALIDATE}
        if etag_matches(request, etag):
            return Response(NOT_MODIFIED, status_code=304, headers=headers)
        return Response(msgspec.json.encode(info), media_type="application/json", headers=headers)

    @get(
        "/proof/inclusion",
        operation_id="inclusionProof",
        summary="Proof that the event at `position` is in the tree of `size` leaves",
        description=(
            "RFC 6962 audit path (hex hashes, leaf to root) of leaf `position - 1`. Check it with "
            "`verify_inclusion(leaf_hash, leaf_index, size, proof, root)`, the root from a "
            "verified head of that size. Without `size`, the current tree's size (the answer "
            "names it)."
        ),
        responses=json_answer(InclusionAnswer),
    )
    async def inclusion(
        self,
        request: Request,
        log: NamedDependency[AuditedLog],
        position: Annotated[
            int | None,
            QueryParameter(ge=1, le=2**62, description="A log position (1-based); required"),
        ] = None,
        size: Annotated[
            int | None,
            QueryParameter(ge=1, le=2**62, description="The tree size (default: the current)"),
        ] = None,
    ) -> Response[bytes]:
        if position is None:
            raise InvalidParameter("the log position of the event is required", field="position")
        if size is not None and position > size:
            raise InvalidParameter(
                f"position {position} is not in a tree of size {size}", field="position"
            )
        headers = _immutable(size is not None, "inclusion", position, size)
        if size is not None and etag_matches(request, headers["ETag"]):
            return Response(NOT_MODIFIED, status_code=304, headers=headers)
        try:
            answer = await _retrying(log, lambda: log.tree.inclusion(position, size))
        except BeyondTree as exc:
            await _beyond(log, exc, "size" if size is not None else "position")
            raise
        body = InclusionAnswer(
            position=answer.position,
            leaf_index=answer.position - 1,
            size=answer.size,
            leaf_hash=answer.leaf_hash.hex(),
            proof=[h.hex() for h in answer.proof],
        )
        return Response(msgspec.json.encode(body), media_type="application/json", headers=headers)

    @get(
        "/proof/consistency",
        operation_id="consistencyProof",
        summary="Proof that the tree of `from` leaves is a prefix of the tree of `to` leaves",
        description=(
            "RFC 6962 consistency proof (hex hashes). Check it with `verify_consistency(from, to, "
            "proof, old root, new root)`, both roots from verified heads. Without `to`, the "
            "current tree's size (the answer names it)."
        ),
        responses=json_answer(ConsistencyAnswer),
    )
    async def consistency(
        self,
        request: Request,
        log: NamedDependency[AuditedLog],
        first_text: Annotated[
            str | None,
            QueryParameter(
                name="from",
                description="The older tree size (an integer >= 0); required",
                schema_extra=_SIZE_SCHEMA,
            ),
        ] = None,
        second_text: Annotated[
            str | None,
            QueryParameter(
                name="to",
                description="The newer tree size (an integer >= 0; default: the current)",
                schema_extra=_SIZE_SCHEMA,
            ),
        ] = None,
    ) -> Response[bytes]:
        # Parsed here rather than by the framework, whose errors would name the Python parameter.
        if first_text is None:
            raise InvalidParameter("the older tree size is required", field="from")
        first = _size_param(first_text, "from")
        second = None if second_text is None else _size_param(second_text, "to")
        if second is not None and first > second:
            raise InvalidParameter(f"from ({first}) must not exceed to ({second})", field="from")
        headers = _immutable(second is not None, "consistency", first, second)
        if second is not None and etag_matches(request, headers["ETag"]):
            return Response(NOT_MODIFIED, status_code=304, headers=headers)
        try:
            answer = await _retrying(log, lambda: log.tree.consistency(first, second))
        except BeyondTree as exc:
            await _beyond(log, exc, "to" if second is not None else "from")
            raise
        body = ConsistencyAnswer(
            first=answer.first, second=answer.second, proof=[h.hex() for h in answer.proof]
        )
        return Response(msgspec.json.encode(body), media_type="application/json", headers=headers)
