"""`make run` never serves as root (scripts/serve.sh), and the service user holds only its own
secrets: the session key and the portal role's database password, not the superuser's or the
schema owner's."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, _free_port

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0, reason="only root can switch to the service user"
)
SERVICE_USER = "antt-portal"
LOCAL = ROOT / ".local"


def uids(pid: int) -> set[int]:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return {int(u) for u in line.split()[1:]}
    raise AssertionError(f"no Uid line for {pid}")


def children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in text:
            found.append(int(status.parent.name))
    return found


def in_session(sid: int, word: bytes) -> list[int]:
    """Python processes of session `sid` whose command line has `word` (e.g. the job worker)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(fields[3]) == sid and b"python" in cmdline[0] and word in cmdline:
            found.append(int(stat.parent.name))
    return found


def readable_by_user(path: Path) -> bool:
    return (
        subprocess.run(
            [
                "setpriv",
                f"--reuid={SERVICE_USER}",
                f"--regid={SERVICE_USER}",
                "--init-groups",
                "cat",
                str(path),
            ],
            capture_output=True,
        ).returncode
        == 0
    )


def test_make_run_serves_as_an_unprivileged_user_with_its_own_secrets(app):
    port = _free_port()
    env = {
        **os.environ,
        "BIND": f"127.0.0.1:{port}",
        "WORKERS": "1",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "PORTAL_ENV": "testing",
    }
    server = subprocess.Popen(
        [str(ROOT / "scripts" / "serve.sh")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    assert r.status == 200
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("serve.sh did not start: " + server.stderr.read().decode()[-2000:])
                time.sleep(0.3)
        service_uid = pwd.getpwnam(SERVICE_USER).pw_uid
        assert service_uid != 0
        # serve.sh execs gunicorn: the process we started is its master
        assert uids(server.pid) == {service_uid}
        # (the job worker's keeper loop was started by serve.sh before it became gunicorn)
        workers = [
            pid
            for pid in children(server.pid)
            if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        assert workers, "gunicorn has no worker"
        for worker in workers:
            assert uids(worker) == {service_uid}
        # the job worker runs beside gunicorn, as the same unprivileged user
        deadline = time.monotonic() + 20
        while not (job_workers := in_session(server.pid, b"worker")):
            assert time.monotonic() < deadline, "no job worker started"
            time.sleep(0.3)
        for pid in job_workers:
            assert uids(pid) == {service_uid}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
    secret_key = LOCAL / "secret_key"
    assert secret_key.stat().st_uid == service_uid
    assert secret_key.stat().st_mode & 0o777 == 0o600
    assert readable_by_user(secret_key)
    assert readable_by_user(LOCAL / "pg.app.password")
    for other in ("pg.password", "pg.owner.password"):
        if (LOCAL / other).exists():
            assert not readable_by_user(LOCAL / other), other
