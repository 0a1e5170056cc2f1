"""A PostgreSQL cluster under a test's control: initdb, start, stop (any mode), freeze, thaw.

Built from the binaries the `pgserver` package ships. Run as root, PostgreSQL refuses to run as
root, so (as pgserver itself does) the cluster runs as the system user `pgserver`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ScratchCluster:
    def __init__(self, root: Path, *, initdb: bool = True) -> None:
        """A cluster in `root`/pgdata, made by initdb; with `initdb=False` the folder is left
        for the caller to fill (a standby's, from pg_basebackup)."""
        import pgserver

        self.bin = Path(pgserver.__file__).parent / "pginstall" / "bin"
        self.root = root
        self.data = root / "pgdata"
        self.sockets = root / "sockets"
        self.port = _free_port()
        self._user: str | None = None
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            import pwd

            from pgserver.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

            self._user = "pgserver"
            ensure_user_exists(self._user)
            ensure_prefix_permissions(self.bin)
            ensure_folder_permissions(self.bin, 0o055)
            ensure_folder_permissions(self.bin.parent / "lib", 0o044)
            entry = pwd.getpwnam(self._user)
            for folder in (root, self.sockets):
                folder.mkdir(exist_ok=True)
                os.chown(folder, entry.pw_uid, entry.pw_gid)
        else:
            self.sockets.mkdir(exist_ok=True)
        del pgserver
        if initdb:
            self._run(
                "initdb", "-D", str(self.data), "--auth=trust", "-U", "postgres", "-E", "utf8"
            )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        with tempfile.TemporaryFile() as out:
            result = subprocess.run(
                [str(self.bin / program), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                user=self._user,
                timeout=120,
                check=False,
            )
            if result.returncode != 0:
                out.seek(0)
                raise RuntimeError(f"{program} failed: {out.read().decode(errors='replace')}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1"
        log = self.root / "postgres.log"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(log), "-w", "start")

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def processes(self) -> list[int]:
        """The postmaster and every process it started (backends, checkpointer, ...)."""
        pid_file = self.data / "postmaster.pid"
        postmaster = int(pid_file.read_text().split("\n", 1)[0])
        found = [postmaster]
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                parent = int(stat.rsplit(")", 1)[1].split()[1])
                if parent == postmaster:
                    found.append(int(entry.name))
        return found

    def freeze(self) -> None:
        """SIGSTOP the whole server: connections are accepted by the kernel but never answered,
        like a database host that vanished from the network."""
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


@contextlib.contextmanager
def scratch_cluster() -> Iterator[ScratchCluster]:
    """A started cluster in a fresh folder under the system temp dir (world-traversable, so the
    `pgserver` user can reach it when run as root); stopped and removed at the end."""
    with tempfile.TemporaryDirectory(prefix="timeline-scratch-pg-") as folder:
        cluster = ScratchCluster(Path(folder))
        cluster.start()
        try:
            yield cluster
        finally:
            with contextlib.suppress(Exception):
                cluster.thaw()
            with contextlib.suppress(Exception):
                cluster.stop("immediate")
