"""Bearer tokens: `tl_<id>_<secret>`. Only SHA-256(secret) is stored; comparison is constant-time.

Validated tokens are cached in the process for a few seconds so a burst of writes does not pay a
database round trip each; a revocation therefore takes effect within `CACHE_SECONDS`.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

import asyncpg

from service import clock

SCOPES = ("write",)
CACHE_SECONDS = 5.0

_TOKEN = re.compile(r"^tl_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$")

_INSERT = "INSERT INTO api_tokens (id, name, scope, secret_hash) VALUES ($1, $2, $3, $4)"
_BY_ID = "SELECT scope, secret_hash FROM api_tokens WHERE id = $1 AND revoked_at IS NULL"
_LIST = "SELECT id, name, scope, created_at, revoked_at FROM api_tokens ORDER BY created_at, id"
_REVOKE = "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL"

_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str
    name: str
    scope: str
    created_at: _dt.datetime
    revoked_at: _dt.datetime | None


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def create_token(conn: asyncpg.Connection | asyncpg.Pool, *, scope: str, name: str) -> str:
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; known: {', '.join(SCOPES)}")
    token_id = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    secret = secrets.token_urlsafe(32)
    await conn.execute(_INSERT, token_id, name, scope, _digest(secret))
    return f"tl_{token_id}_{secret}"


async def list_tokens(conn: asyncpg.Connection | asyncpg.Pool) -> list[TokenInfo]:
    return [TokenInfo(**dict(row)) for row in await conn.fetch(_LIST)]


async def revoke_token(conn: asyncpg.Connection | asyncpg.Pool, token_id: str) -> bool:
    return (await conn.execute(_REVOKE, token_id)).endswith(" 1")


class TokenChecker:
    """Answers "which scope does this bearer token grant?" (None: no valid token)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._cache: dict[str, tuple[float, str]] = {}

    async def scope_of(self, token: str) -> str | None:
        match = _TOKEN.match(token)
        if match is None:
            return None
        cached = self._cache.get(token)
        now = clock.monotonic()
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        row = await self._pool.fetchrow(_BY_ID, match[1])
        # Compare a digest even when the id is unknown, so timing does not tell ids apart.
        stored = bytes(row["secret_hash"]) if row is not None else bytes(32)
        if not hmac.compare_digest(stored, _digest(match[2])) or row is None:
            self._cache.pop(token, None)
            return None
        self._cache[token] = (now, row["scope"])
        return row["scope"]
