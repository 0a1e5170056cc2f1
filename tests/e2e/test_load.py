"""The bounded load test (bench/load_test.py), short, as a test.

It runs the real `timeline serve` with the seed against a fresh database of the harness's server,
8 writers and 32 readers for 8 s, then checks the log and the answers. The script is run as a
subprocess (the same code and checks as the full 30 s run) and writes its report as JSON, which
is asserted on here, invariant by invariant, so a failure names the broken one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WRITERS, READERS, SECONDS = 8, 32, 8

READ_ROUTES = {
    "GET state now",
    "GET state past known_at",
    "GET state now If-None-Match",
    "GET list members now",
    "GET list members past",
    "GET /v1/events page",
    "GET /v1/timeline",
    "GET entity timeline",
    "GET /health",
    "GET /health/live",
}
DELIBERATE = {
    "deliberate 422 invalid event": "422",
    "deliberate 401 bad token": "401",
    "deliberate 409 id conflict": "409",
    "deliberate 409 stale expected_position": "409",
    "deliberate 200 repeat": "200",
}


@pytest.fixture
def load_report(database_url: str, tmp_path: Path) -> dict:
    out = tmp_path / "report.json"
    argv = [sys.executable, str(REPO / "bench" / "load_test.py"), "--target-database"]
    argv += [database_url, "--writers", str(WRITERS), "--readers", str(READERS)]
    argv += ["--duration", str(SECONDS), "--json", str(out)]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=180)
    if not out.exists():
        raise AssertionError(f"load_test.py wrote no report ({done.returncode}):\n"
                             f"{done.stdout}\n{done.stderr}")  # fmt: skip
    report = json.loads(out.read_text())
    report["_output"] = done.stdout
    report["_returncode"] = done.returncode
    return report


def test_8_writers_32_readers_lose_nothing_duplicate_nothing_and_get_no_unexpected_error(
    load_report: dict,
) -> None:
    report = load_report
    routes = report["routes"]
    log = report["log"]

    # Load of every kind was there.
    assert report["writers"] == WRITERS and report["readers"] == READERS
    assert READ_ROUTES <= set(routes), sorted(routes)
    assert log["accepted"] > WRITERS * 10, "the writers appended too little to prove anything"
    for route, status in DELIBERATE.items():
        assert routes[route]["requests"] > 0, route
        assert routes[route]["statuses"] == {status: routes[route]["requests"]}, route

    # No unexpected answer anywhere (5xx, timeouts, connection errors, wrong statuses).
    assert {name: r["failures"] for name, r in routes.items() if r["failures"]} == {}

    # The log is the seed plus exactly the accepted events (by id: none lost, none duplicated,
    # none from a refused request), at positions 1..N, and its chain and signed head verify.
    assert log["positions_gap_free"]
    assert (log["lost"], log["duplicated"], log["moved"], log["unexplained"]) == (0, 0, 0, 0)
    assert log["refused_ids_checked"] > 0 and log["refused_in_log"] == 0
    assert log["log_size"] == log["seed_events"] + log["accepted"]
    chain = report["chain"]
    assert chain["verified"] and chain["events"] == log["log_size"]
    assert chain["signature_checked"] and chain["head_size"] >= 1
    assert report["past_answers_checked"] > 0

    # And nothing else the script checks (answers at a past known_at unchanged, /v1/events
    # pages gap-free and chained, /health's log size) went wrong.
    assert report["violations"] == [], report["_output"]
    assert report["_returncode"] == 0, report["_output"]
