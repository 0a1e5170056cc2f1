"""The projector as a process of its own: `timeline serve` with TIMELINE_PROJECTOR=0 leaves the
read models alone; `timeline projections run` keeps them current and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.support.apitools import listing, registration, serving


def _token(url: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "tokens", "create", "--scope", "write"],
        env={**os.environ, "TIMELINE_DATABASE_URL": url},
        capture_output=True,
        check=True,
    )
    return done.stdout.decode().strip()


def _members(base: str) -> httpx.Response:
    return httpx.get(
        f"{base}/v1/lists/us-entity-list/members", params={"as_of": "2023-01-01"}, timeout=15
    )


def _metric(base: str, name: str) -> float:
    for line in httpx.get(f"{base}/metrics", timeout=5).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"no {name} in /metrics")


def _list_ymtc(base: str, token: str) -> None:
    """Register the Entity List and YMTC and list YMTC on it, through the running server."""
    written = httpx.post(
        f"{base}/v1/events",
        json=[
            registration("us-entity-list", "list"),
            registration("ymtc"),
            listing("ymtc", "2022-12-16"),
        ],
        headers={"Authorization": f"Bearer {token}"},
        timeout=15,
    )
    assert written.status_code == 201, written.text


def test_read_models_are_kept_by_a_separate_projector_process_when_the_service_runs_none(
    database_url: str,
) -> None:
    env = {"TIMELINE_DATABASE_URL": database_url, "TIMELINE_PROJECTOR": "0"}
    token = _token(database_url)
    with serving(env, []) as base:
        _list_ymtc(base, token)
        # No projector anywhere: answers that need the read models wait (5 s), then say so.
        waiting = _members(base)
        assert waiting.status_code == 503, waiting.text
        assert "read models" in waiting.json()["detail"]
        assert _metric(base, "timeline_read_model_position") == 0

        projector = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "projections", "run"],
            env={**os.environ, "TIMELINE_DATABASE_URL": database_url},
            stderr=subprocess.PIPE,
        )
        try:
            # The projector process starts (imports, connects) and catches up; a machine
            # under load may take longer than one request's wait, so ask again until then.
            deadline = time.monotonic() + 60
            answer = _members(base)
            while answer.status_code == 503 and time.monotonic() < deadline:
                answer = _members(base)
            assert answer.status_code == 200, answer.text
            assert [m["entity"] for m in answer.json()["members"]] == ["ymtc"]
            deadline = time.monotonic() + 10
            while _metric(base, "timeline_read_model_position") < 3:
                assert time.monotonic() < deadline, "the service never learnt the progress"
                time.sleep(0.2)
        finally:
            projector.send_signal(signal.SIGTERM)
            _, err = projector.communicate(timeout=20)
        assert projector.returncode == 0, err.decode()
        assert "projector stopped" in err.decode()


def _projector_pids(port: int) -> set[int]:
    """`timeline projections run` processes started for the server on `port` (their
    environment is the workers': it names the port)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            if b"projections" not in argv or b"run" not in argv:
                continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                environ = f.read().split(b"\0")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if f"TIMELINE_PORT={port}".encode() in environ:
            found.add(int(entry))
    return found


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_runs_the_projector_in_one_process_of_its_own_and_starts_it_again_if_it_dies(
    database_url: str, workers: int
) -> None:
    token = _token(database_url)
    with serving({"TIMELINE_DATABASE_URL": database_url}, ["--workers", str(workers)]) as base:
        port = int(base.rpartition(":")[2])
        first = _projector_pids(port)
        assert len(first) == 1, first
        _list_ymtc(base, token)
        answer = _members(base)
        assert answer.status_code == 200, answer.text
        assert [m["entity"] for m in answer.json()["members"]] == ["ymtc"]

        # A projector that dies is started again, and keeps the read models.
        os.kill(first.pop(), signal.SIGKILL)
        _wait_for(lambda: len(_projector_pids(port) - first) == 1, 20, "no new projector")
        more = httpx.post(
            f"{base}/v1/events",
            json=[registration("smic"), listing("smic", "2020-12-18")],
            headers={"Authorization": f"Bearer {token}"},
            timeout=15,
        )
        assert more.status_code == 201, more.text
        again = _members(base)
        assert again.status_code == 200, again.text
        assert sorted(m["entity"] for m in again.json()["members"]) == ["smic", "ymtc"]
    _wait_for(lambda: not _projector_pids(port), 20, "the projector outlived the server")
