"""Which database a command works on: one per data dir, found the same way by every command.

Every command that reaches the database takes its settings from the environment
(`TIMELINE_DATABASE_URL`, `TIMELINE_DATA_DIR`, ...) with the command's `--data-dir` over
`TIMELINE_DATA_DIR` (`service.cli.audit.settings_for`). Only `serve` and the imports may start
an embedded database in a data dir that has none; every other command (tokens, projections,
export) refuses: a token made in a database no server uses would be refused by the server
with 401, without a word of why.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from service.cli.failures import CommandFailed
from service.db.connection import resolved_url
from service.db.embedded import default_data_dir
from service.settings import Settings


class NoDatabase(CommandFailed):
    """The data dir holds no database, and this command does not make one."""


def data_dir_of(settings: Settings) -> Path:
    """The folder the embedded database of these settings lives in, as an absolute path."""
    return (settings.data_dir or default_data_dir()).expanduser().resolve()


def embedded_exists(settings: Settings) -> bool:
    """Whether the data dir of these settings holds an embedded database already."""
    return (data_dir_of(settings) / "pgdata" / "PG_VERSION").is_file()


def where(settings: Settings) -> str:
    """Where the database is, for a message: the data dir, or that a URL names it."""
    if settings.database_url:
        return "the database of TIMELINE_DATABASE_URL"
    return f"the embedded database in {data_dir_of(settings)}"


def require_database(settings: Settings) -> None:
    """Raise `NoDatabase` when the settings name an embedded database that is not there."""
    if settings.database_url or embedded_exists(settings):
        return
    raise NoDatabase(
        f"no database in {data_dir_of(settings)}; give the --data-dir (or TIMELINE_DATA_DIR) "
        "that `timeline serve` uses, or start `timeline serve` there first"
    )


@contextlib.contextmanager
def database_url(settings: Settings, *, create: bool) -> Iterator[str]:
    """The URL of the settings' database (an embedded one started for the block); unless
    `create`, refuse a data dir with no database in it instead of making one."""
    if not create:
        require_database(settings)
    with resolved_url(settings) as url:
        yield url
