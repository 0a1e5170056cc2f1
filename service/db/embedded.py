"""The embedded PostgreSQL (from the `pgserver` package), used when no database URL is set.

Run as root, pgserver runs PostgreSQL as a system user `pgserver` and opens read/execute
permission on every parent folder of the data directory. So as root the default data directory
is `/var/lib/sanctions-timeline/pgdata`, whose parents are world-readable already; as a normal
user it is the user's data directory (e.g. `~/.local/share/sanctions-timeline/pgdata`), and
nothing is opened. Several processes may share one data directory: the second joins the
running server, and the last one to leave stops it.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import platformdirs

ROOT_DATA_DIR = Path("/var/lib/sanctions-timeline")


def default_data_dir() -> Path:
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return ROOT_DATA_DIR
    return Path(platformdirs.user_data_dir("sanctions-timeline"))


@contextlib.contextmanager
def embedded_postgres(data_dir: Path | None = None) -> Iterator[str]:
    """Start (or join) the embedded server; yield its URL; stop it when the last user leaves."""
    base = (data_dir or default_data_dir()).expanduser().resolve()
    base.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); pgserver copes.
        warnings.simplefilter("ignore")
        import pgserver

        server = pgserver.get_server(base / "pgdata", cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()
