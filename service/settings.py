"""Configuration, from the environment (each also a CLI flag where it fits)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import msgspec


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str | None = None
    """A PostgreSQL URL. None: start the embedded PostgreSQL in `data_dir`."""
    data_dir: Path | None = None
    """Where the embedded PostgreSQL keeps its files. None: the default (see embedded.py)."""
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    pool_min_size: int = 1
    pool_max_size: int = 10
    seed: bool = True
    sse_heartbeat_seconds: float = 15.0
    max_body_bytes: int = 4 * 1024 * 1024
    signing_key_file: Path | None = None
    """The Ed25519 key that signs log heads. None: `<data dir>/signing-key.pem`."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = env.get("TIMELINE_DATA_DIR")
        key_file = env.get("TIMELINE_SIGNING_KEY_FILE")
        return cls(
            database_url=env.get("TIMELINE_DATABASE_URL") or None,
            data_dir=Path(data_dir) if data_dir else None,
            host=env.get("TIMELINE_HOST", "127.0.0.1"),
            port=int(env.get("TIMELINE_PORT", "8000")),
            workers=int(env.get("TIMELINE_WORKERS", "1")),
            pool_max_size=int(env.get("TIMELINE_POOL_MAX_SIZE", "10")),
            sse_heartbeat_seconds=float(env.get("TIMELINE_SSE_HEARTBEAT_SECONDS", "15")),
            signing_key_file=Path(key_file) if key_file else None,
        )

    def to_env(self) -> dict[str, str]:
        """The environment that gives these settings back to a worker process."""
        env = {
            "TIMELINE_HOST": self.host,
            "TIMELINE_PORT": str(self.port),
            "TIMELINE_WORKERS": str(self.workers),
            "TIMELINE_POOL_MAX_SIZE": str(self.pool_max_size),
            "TIMELINE_SSE_HEARTBEAT_SECONDS": str(self.sse_heartbeat_seconds),
        }
        if self.database_url:
            env["TIMELINE_DATABASE_URL"] = self.database_url
        if self.data_dir is not None:
            env["TIMELINE_DATA_DIR"] = str(self.data_dir)
        if self.signing_key_file is not None:
            env["TIMELINE_SIGNING_KEY_FILE"] = str(self.signing_key_file)
        return env
