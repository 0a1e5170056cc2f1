"""Every CLI error is one clear line and a non-zero exit; verify and replay load no database
driver."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from service.eventlog.store import EventStore
from tests.support.builders import registered

LOADS_NO_DRIVER = (
    "import sys; from service.cli.main import main; code = main(sys.argv[1:]); "
    "assert 'asyncpg' not in sys.modules, 'asyncpg was imported'; raise SystemExit(code)"
)


def timeline(*args: str, url: str | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ}
    if url is not None:
        env["TIMELINE_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-c", LOADS_NO_DRIVER, *args]
        if url is None
        else [sys.executable, "-m", "service.cli", *args],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )


def one_line(done: subprocess.CompletedProcess[bytes]) -> str:
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_import_of_a_missing_file_is_one_line(database_url: str, tmp_path: Path) -> None:
    done = timeline("import", str(tmp_path / "nope.ndjson"), url=database_url)
    assert done.returncode == 1
    assert one_line(done).startswith("timeline import: No such file or directory")


def test_verify_refuses_an_empty_file_without_loading_a_driver(tmp_path: Path) -> None:
    empty = tmp_path / "empty.ndjson"
    empty.write_bytes(b"")
    done = timeline("verify", str(empty))
    assert done.returncode == 1, done.stderr
    assert one_line(done) == "verify: the file holds no events: an empty file is not an export"


async def test_replay_of_an_unknown_entity_says_so_without_loading_a_driver(
    database_url: str, store: EventStore, tmp_path: Path
) -> None:
    await store.append([registered("ymtc")])
    export = tmp_path / "log.ndjson"
    exported = timeline("export", "--out", str(export), url=database_url)
    assert exported.returncode == 0, exported.stderr
    known = timeline("replay", str(export), "--as-of", "2024-01-01", "--entity", "ymtc")
    assert known.returncode == 0, known.stderr
    assert b'"ymtc"' in known.stdout
    done = timeline("replay", str(export), "--as-of", "2024-01-01", "--entity", "nosuch")
    assert done.returncode == 1, done.stderr
    assert one_line(done) == "replay: unknown entity 'nosuch': no event of the export"
    assert done.stdout == b""
