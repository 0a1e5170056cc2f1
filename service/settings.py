"""Configuration, from the environment (each also a CLI flag where it fits)."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from pathlib import Path

import msgspec


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str | None = None
    """A PostgreSQL URL. None: start the embedded PostgreSQL in `data_dir`. Alone, it logs in
    as the owner of the tables, and the service's connections drop to the runtime role
    `timeline_runtime_<database>` (service/db/roles.py). With `migrate_database_url`, it is
    the runtime role's own login."""
    migrate_database_url: str | None = None
    """The owner's URL, for migrations only, when `database_url` logs in as the runtime role."""
    read_database_url: str | None = None
    """A read replica (hot standby) of `database_url`. Answers at a past `known_at`, which can
    never change, are read from it once it has replayed past that moment; everything else (and
    everything while it is behind or down) is read from the primary. None: no replica."""
    data_dir: Path | None = None
    """Where the embedded PostgreSQL keeps its files. None: the default (see embedded.py)."""
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    pool_min_size: int = 1
    pool_max_size: int = 10
    seed: bool = True
    projector: bool = True
    """Run the read-model projector inside the service. Off (`TIMELINE_PROJECTOR=0`): run
    `timeline projections run` as a process of its own (one is enough; several take turns);
    the service then reads the projector's progress from the database."""
    sse_heartbeat_seconds: float = 15.0
    sse_streams_per_client: int = 100
    """Live streams (`/v1/events/stream`) one client (remote address) may hold open at once; one
    more is refused with 429. 0: no cap. Behind a proxy every client has the proxy's address."""
    max_body_bytes: int = 4 * 1024 * 1024
    """The largest request body, in bytes; a larger one is refused with 413."""
    signing_key_file: Path | None = None
    """The Ed25519 key that signs log heads. None: `<data dir>/signing-key.pem`."""
    # Faults (docs/operations.md): every wait on the database is bounded, so a request fails
    # with 503 instead of hanging when PostgreSQL is gone or frozen.
    db_connect_timeout: float = 2.0
    """Seconds to open a new connection to PostgreSQL."""
    db_acquire_timeout: float = 5.0
    """Seconds a request waits for a pooled connection (including opening one)."""
    db_command_timeout: float = 10.0
    """Seconds one statement may take before it is cancelled."""
    health_timeout: float = 2.0
    """Seconds `/health` waits for the database before it says "down"."""
    stall_seconds: float = 30.0
    """`/health` says "degraded" (503) once the read models or the Merkle tree have stayed
    behind the log's head this long without moving, or the log watcher is this late to read
    the head."""
    shutdown_timeout: float = 30.0
    """On SIGTERM: seconds a worker may take to finish in-flight requests before it is killed."""
    access_log: bool = True
    """One JSON line per request on standard error (`timeline serve`)."""
    log_level: str = "info"
    public_url: str | None = None
    """The service's public origin (`https://timeline.example.org`): every absolute URL the
    service writes (oEmbed answers, embed discovery links) starts with it. None: pages carry
    relative links only, and oEmbed answers, built from the request's host, are not cached."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = env.get("TIMELINE_DATA_DIR")
        key_file = env.get("TIMELINE_SIGNING_KEY_FILE")
        return cls(
            database_url=env.get("TIMELINE_DATABASE_URL") or None,
            migrate_database_url=env.get("TIMELINE_MIGRATE_DATABASE_URL") or None,
            read_database_url=env.get("TIMELINE_READ_DATABASE_URL") or None,
            projector=env.get("TIMELINE_PROJECTOR", "1").lower() not in ("0", "false", "no"),
            data_dir=Path(data_dir) if data_dir else None,
            host=env.get("TIMELINE_HOST", "127.0.0.1"),
            port=int(env.get("TIMELINE_PORT", "8000")),
            workers=int(env.get("TIMELINE_WORKERS", "1")),
            pool_max_size=int(env.get("TIMELINE_POOL_MAX_SIZE", "10")),
            sse_heartbeat_seconds=float(env.get("TIMELINE_SSE_HEARTBEAT_SECONDS", "15")),
            sse_streams_per_client=int(env.get("TIMELINE_SSE_STREAMS_PER_CLIENT", "100")),
            max_body_bytes=int(env.get("TIMELINE_MAX_BODY_BYTES", str(4 * 1024 * 1024))),
            signing_key_file=Path(key_file) if key_file else None,
            db_connect_timeout=float(env.get("TIMELINE_DB_CONNECT_TIMEOUT", "2")),
            db_acquire_timeout=float(env.get("TIMELINE_DB_ACQUIRE_TIMEOUT", "5")),
            db_command_timeout=float(env.get("TIMELINE_DB_COMMAND_TIMEOUT", "10")),
            health_timeout=float(env.get("TIMELINE_HEALTH_TIMEOUT", "2")),
            stall_seconds=float(env.get("TIMELINE_STALL_SECONDS", "30")),
            shutdown_timeout=float(env.get("TIMELINE_SHUTDOWN_TIMEOUT", "30")),
            access_log=env.get("TIMELINE_ACCESS_LOG", "1").lower() not in ("0", "false", "no"),
            log_level=env.get("TIMELINE_LOG_LEVEL", "info"),
            public_url=public_url(env.get("TIMELINE_PUBLIC_URL")),
        )

    def to_env(self) -> dict[str, str]:
        """The environment that gives these settings back to a worker process."""
        env = {
            "TIMELINE_HOST": self.host,
            "TIMELINE_PORT": str(self.port),
            "TIMELINE_WORKERS": str(self.workers),
            "TIMELINE_POOL_MAX_SIZE": str(self.pool_max_size),
            "TIMELINE_SSE_HEARTBEAT_SECONDS": str(self.sse_heartbeat_seconds),
            "TIMELINE_SSE_STREAMS_PER_CLIENT": str(self.sse_streams_per_client),
            "TIMELINE_MAX_BODY_BYTES": str(self.max_body_bytes),
            "TIMELINE_DB_CONNECT_TIMEOUT": str(self.db_connect_timeout),
            "TIMELINE_DB_ACQUIRE_TIMEOUT": str(self.db_acquire_timeout),
            "TIMELINE_DB_COMMAND_TIMEOUT": str(self.db_command_timeout),
            "TIMELINE_HEALTH_TIMEOUT": str(self.health_timeout),
            "TIMELINE_STALL_SECONDS": str(self.stall_seconds),
            "TIMELINE_SHUTDOWN_TIMEOUT": str(self.shutdown_timeout),
            "TIMELINE_ACCESS_LOG": "1" if self.access_log else "0",
            "TIMELINE_PROJECTOR": "1" if self.projector else "0",
            "TIMELINE_LOG_LEVEL": self.log_level,
        }
        if self.public_url:
            env["TIMELINE_PUBLIC_URL"] = self.public_url
        if self.database_url:
            env["TIMELINE_DATABASE_URL"] = self.database_url
        if self.migrate_database_url:
            env["TIMELINE_MIGRATE_DATABASE_URL"] = self.migrate_database_url
        if self.read_database_url:
            env["TIMELINE_READ_DATABASE_URL"] = self.read_database_url
        if self.data_dir is not None:
            env["TIMELINE_DATA_DIR"] = str(self.data_dir)
        if self.signing_key_file is not None:
            env["TIMELINE_SIGNING_KEY_FILE"] = str(self.signing_key_file)
        return env


def public_url(value: str | None) -> str | None:
    """TIMELINE_PUBLIC_URL as an origin without a trailing slash; ValueError if it is not an
    http(s) URL with a host and nothing after the path."""
    if not value:
        return None
    parts = urllib.parse.urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(
            f"TIMELINE_PUBLIC_URL must be an http(s) URL such as "
            f"https://timeline.example.org, not {value!r}"
        )
    return value.strip().rstrip("/")
