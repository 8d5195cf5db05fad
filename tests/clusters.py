"""Throwaway installations for the tests that stop, kill or replicate PostgreSQL.

The suite's own cluster is shared by every test process, so nothing may stop it. An
`Installation` is a second copy of the project's state: scripts/pg.sh with PORTAL_LOCAL set
makes its own cluster (own passwords, own port) with PostgreSQL's crash-safe defaults
(PORTAL_PG_DURABLE=1: fsync and synchronous_commit on, as in production), the migrations build
its schema as the owner role, and gunicorn serves it as `make run` does. The same script makes
its streaming replica, so the tests drive the tool an operator uses.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = ROOT / "scripts" / "pg.sh"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Installation:
    """A cluster of its own, migrated, with the portal's roles and grants."""

    local: Path
    servers: list[subprocess.Popen] = field(default_factory=list)

    @classmethod
    def create(cls, *, replica: bool = False) -> Installation:
        # under /tmp with leave to pass through, so that the `postgres` user reaches the data
        # (pg.sh puts it under /var/lib/antt-portal when it cannot: cleaned up by destroy())
        local = Path(tempfile.mkdtemp(prefix="antt-install-"))
        local.chmod(0o711)
        made = cls(local)
        made.pg("start")
        made.pg("createdb")
        made.flask("db", "upgrade", "--directory", str(ROOT / "migrations"))
        made.pg("grant")
        if replica:
            made.pg("replica", "start")
        return made

    # --- the tools -------------------------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PORTAL_LOCAL": str(self.local),
            "PORTAL_PG_DURABLE": "1",
            # a port far from the suite's cluster (54329…) and from other installations
            "PORTAL_PGPORT": os.environ.get("PORTAL_TEST_PGPORT", str(_free_port())),
            "PORTAL_ENV": "testing",
            "SECRET_KEY": "fault-test-key",
            "PYTHONPATH": str(ROOT),
        }

    def pg(self, *args: str) -> str:
        done = subprocess.run(
            [str(PG), *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg.sh {' '.join(args)} failed: {done.stderr[-2000:]}")
        return done.stdout.strip()

    def flask(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed: {done.stderr[-2000:]}")
        return done.stdout

    def url(self, role: str = "app", name: str = "antt_portal") -> str:
        """The primary as one of the roles (portal.config.DB_ROLES)."""
        user, file_name = {
            "admin": ("portal", "pg.password"),
            "owner": ("portal_owner", "pg.owner.password"),
            "app": ("portal_app", "pg.app.password"),
        }[role]
        password = (self.local / file_name).read_text().strip()
        return f"postgresql+psycopg://{user}:{password}@127.0.0.1:{self.port}/{name}"

    def replica_url(self, name: str = "antt_portal") -> str:
        return self.pg("replica", "url", name)

    @property
    def port(self) -> int:
        return int((self.local / "pg.port").read_text())

    @property
    def data(self) -> Path:
        return Path(os.path.realpath(self.local / "pg")) / "data"

    # --- what happens to the server --------------------------------------------------------

    def start(self) -> None:
        self.pg("start")

    def stop(self) -> None:
        self.pg("stop")

    def kill9(self) -> None:
        """SIGKILL to the postmaster and every backend at once: a crash, not a shutdown."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        backends = subprocess.run(
            ["pgrep", "-P", str(postmaster)], capture_output=True, text=True
        ).stdout.split()
        for pid in [postmaster, *map(int, backends)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while _alive(postmaster) and time.monotonic() < deadline:
            time.sleep(0.05)

    # --- the portal on it ------------------------------------------------------------------

    def serve(
        self,
        workers: int = 2,
        extra_env: dict | None = None,
        log: Path | None = None,
        *,
        wait: bool = True,
    ):
        """gunicorn on a free port against this installation; (base URL, process). With
        wait=False it returns at once (boot meanwhile, then wait_until_up)."""
        log = log or self.local / f"gunicorn-{len(self.servers)}.log"
        env = {**self.env, "DATABASE_URL": self.url(), **(extra_env or {})}
        base, server = gunicorn(env, log, workers, wait=wait)
        self.servers.append(server)
        return base, server

    @staticmethod
    def wait_until_up(base: str, server: subprocess.Popen, limit: float = 90) -> None:
        wait_until_up(base, server, limit)

    def destroy(self) -> None:
        for server in self.servers:
            if server.poll() is None:
                server.terminate()
                try:
                    server.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    server.kill()
        with contextlib.suppress(RuntimeError):  # not running, or already gone
            self.pg("replica", "stop")
        # an immediate shutdown (SIGQUIT): the data is thrown away, so no shutdown checkpoint
        # writing shared buffers out with fsync on (seconds on a busy machine)
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, ValueError):
            postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
            os.kill(postmaster, signal.SIGQUIT)
            deadline = time.monotonic() + 20
            while _alive(postmaster) and time.monotonic() < deadline:
                time.sleep(0.05)
        home = Path(os.path.realpath(self.local / "pg"))
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(self.local, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def gunicorn(env: dict, log: Path, workers: int = 2, *, wait: bool = True):
    """`wsgi:app` under gunicorn with production's settings (deploy/gunicorn.conf.py: JSON logs,
    Prometheus' shared folder when env names one) on a free loopback port; (base URL, process).
    With wait=False it returns at once (boot meanwhile, then wait_until_up)."""
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(ROOT / "deploy" / "gunicorn.conf.py"),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        # a file, not a pipe: a pipe nobody reads fills up and then blocks the server
        stderr=log.open("w"),
    )
    server.log = log
    base = f"http://127.0.0.1:{port}"
    if wait:
        wait_until_up(base, server)
    return base, server


def wait_until_up(base: str, server: subprocess.Popen, limit: float = 90) -> None:
    """Until /healthz answers (an unwell answer counts: it is up); RuntimeError with the log's
    tail when gunicorn exits or does not answer in time."""
    deadline = time.monotonic() + limit
    while True:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2)
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                tail = server.log.read_text()[-2000:]
                raise RuntimeError("gunicorn did not start: " + tail) from None
            time.sleep(0.2)
