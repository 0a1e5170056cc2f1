"""One database per data dir: every command finds it the same way (`--data-dir`, or
`TIMELINE_DATA_DIR`), and commands that only use a database never make one, so a token cannot
end up in a database the server does not use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.apitools import registration, serving


def _env(home: Path, **extra: str) -> dict[str, str]:
    """No TIMELINE_DATABASE_URL: the embedded database, in the data dir the command is given."""
    return {"PATH": os.environ["PATH"], "HOME": str(home), **extra}


def _timeline(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.parametrize(
    "command",
    [
        ["tokens", "create", "--scope", "write"],
        ["tokens", "list"],
        ["tokens", "revoke", "abcdefghijkl"],
        ["projections", "rebuild"],
        ["export", "--out", "-"],
    ],
    ids=" ".join,
)
@pytest.mark.parametrize("given_by", ["flag", "environment"])
def test_a_command_refuses_a_data_dir_with_no_database_and_makes_none(
    tmp_path: Path, command: list[str], given_by: str
) -> None:
    empty = tmp_path / "no-database-here"
    if given_by == "flag":
        done = _timeline(_env(tmp_path), *command, "--data-dir", str(empty))
    else:
        done = _timeline(_env(tmp_path, TIMELINE_DATA_DIR=str(empty)), *command)
    assert done.returncode == 1
    assert done.stdout == ""
    said = done.stderr.strip().splitlines()
    assert len(said) == 1, done.stderr
    assert said[0].startswith(f"timeline {command[0]}: no database in {empty.resolve()};")
    assert "--data-dir" in said[0]
    assert not (empty / "pgdata").exists()


def test_a_token_made_for_the_servers_data_dir_is_accepted_by_that_server(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    env = _env(tmp_path)
    with serving(env, ["--data-dir", str(data_dir)], timeout=180) as base:
        by_flag = _timeline(
            env, "tokens", "create", "--scope", "write", "--data-dir", str(data_dir)
        )
        by_env = _timeline(
            _env(tmp_path, TIMELINE_DATA_DIR=str(data_dir)), "tokens", "create", "--scope", "write"
        )
        for made in (by_flag, by_env):
            assert made.returncode == 0, made.stderr
            assert f"in the embedded database in {data_dir.resolve()}" in made.stderr
            token = made.stdout.strip()
            response = httpx.post(
                f"{base}/v1/events",
                json=registration(f"company-{token[3:9].lower()}"),
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            assert response.status_code == 201, response.text
        elsewhere = _timeline(
            env, "tokens", "create", "--scope", "write", "--data-dir", str(tmp_path / "other")
        )
        assert elsewhere.returncode == 1
        assert not (tmp_path / "other" / "pgdata").exists()
