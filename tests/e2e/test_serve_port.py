"""A second `timeline serve` on a port a running server holds refuses to start, in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from urllib.parse import urlsplit

from tests.support.apitools import serving


def test_a_second_server_on_a_taken_port_exits_with_one_line(database_url: str) -> None:
    env = {"TIMELINE_DATABASE_URL": database_url, "PATH": os.environ["PATH"]}
    with serving(env, []) as base:
        port = str(urlsplit(base).port)
        second = subprocess.run(
            [sys.executable, "-m", "service.cli", "serve", "--port", port, "--no-seed"],
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
    said = second.stderr.decode().strip().splitlines()
    assert second.returncode != 0
    assert said == [
        f"timeline serve: port {port} on 127.0.0.1 is already in use (another "
        "server?); not starting"
    ]
