"""The job queue end to end: a real worker process on a committed database.

Queued, running with progress, done; a failure's message; the worker killed mid-commit (nothing
written, the job run again); killed twice (failed, with a message).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import func, select

from portal.extensions import db
from portal.jobs import services
from portal.models import Account, Area, ImportBatch, Job
from tests.conftest import ROOT, SHARED_DATA, fresh_database, make_app, migrate, seed, stop

CODE_PREFIX = "JOBTEST-"


@pytest.fixture(scope="module")
def jobs_app():
    """A committed demo of one commune in its own database; jobs go to the queue."""
    url = fresh_database("antt_portal_jobs")
    app = make_app(url)
    migrate(app)
    app.config["JOBS_INLINE"] = False
    with app.app_context():
        seed(SHARED_DATA, limit_communes=1, echo=lambda _line: None)
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def start_worker(jobs_app):
    """Start workers as `make run` does, quick to notice a dead one; all stopped at the end."""
    started = []
    log = Path(tempfile.mkdtemp(prefix="job-worker-")) / "worker.log"

    def start(step_delay: float = 0.0) -> subprocess.Popen:
        env = {
            **os.environ,
            "DATABASE_URL": jobs_app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": "jobs-test-key",
            "PORTAL_ENV": "testing",
            "PORTAL_JOBS_INLINE": "0",
            "PORTAL_JOBS_HEARTBEAT": "0.5",
            "PORTAL_JOBS_STALLED": "2",
            "PORTAL_JOBS_SWEEP": "0.5",
            "PORTAL_JOBS_STEP_DELAY": str(step_delay),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("a"),
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            stop(process)


def officer(app) -> Account:
    return db.session.scalar(select(Account).where(Account.username == "canbo.xa"))


def squares_inside(app, n: int, prefix: str) -> bytes:
    """n new villages: small squares in a row inside the officer's commune."""
    commune = db.session.get(Area, officer(app).commune_id)
    outline = to_shape(commune.geom)
    centre = outline.representative_point()
    features = []
    for i in range(n):
        square = shapely.box(0, 0, 0.00005, 0.00005)
        square = shapely.affinity.translate(square, centre.x + (i % 10) * 0.00006, centre.y)
        square = shapely.affinity.translate(square, 0, (i // 10) * 0.00006)
        features.append(
            {
                "type": "Feature",
                "properties": {"code": f"{prefix}{i:03}", "name": f"Tổ dân phố Thử {i}"},
                "geometry": shapely.geometry.mapping(square),
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}).encode()


def submit_upload(app, n: int, prefix: str = CODE_PREFIX) -> int:
    account = officer(app)
    job = services.submit(
        "boundaries.upload",
        {"level": "village", "parent_id": account.commune_id, "crs_key": "auto", "layer": None},
        "thu.geojson",
        files=[("thu.geojson", "application/geo+json", squares_inside(app, n, prefix))],
        account_id=account.id,
        actor=account.username,
    )
    return job.id


def submit_commit(app, batch_id: int) -> int:
    account = officer(app)
    job = services.submit(
        "boundaries.commit",
        {
            "batch_id": batch_id,
            "mode": "all",
            "repairs": True,
            "number": "01/QĐ-UBND",
            "when": "2026-11-01",
        },
        "thu.geojson",
        account_id=account.id,
        actor=account.username,
    )
    return job.id


def job_now(job_id: int) -> Job:
    return services.reload(job_id)


# a deadline only for a job that is really stuck: a machine running the suite on every core
# (and a worker started and killed twice) may take over a minute
def wait_for(job_id: int, predicate, seconds: float = 180, seen: list | None = None) -> Job:
    deadline = time.monotonic() + seconds
    while True:
        job = job_now(job_id)
        if seen is not None:
            seen.append((job.status, job.stage, job.done, job.total))
        if predicate(job):
            return job
        assert time.monotonic() < deadline, f"job {job_id} stuck: {job.status} {job.message}"
        time.sleep(0.05)


def written(prefix: str = CODE_PREFIX) -> int:
    db.session.expire_all()
    return db.session.scalar(
        select(func.count()).select_from(Area).where(Area.code.startswith(prefix))
    )


def test_a_job_is_queued_runs_with_progress_and_is_done(jobs_app, start_worker):
    with jobs_app.app_context():
        upload_id = submit_upload(jobs_app, 30)
        assert job_now(upload_id).status == "queued"  # no worker yet: it waits
        start_worker(step_delay=0.05)
        seen = []
        upload = wait_for(upload_id, lambda j: j.finished, seen=seen)
        assert upload.status == "done", upload.message
        batch = db.session.get(ImportBatch, upload.result["batch_id"])
        assert batch.status == "draft" and batch.created_by == officer(jobs_app).id
        # counted in features checked; reading and saving are named steps, not counts of one
        assert upload.counts == {"check": 30}
        commit_id = submit_commit(jobs_app, batch.id)
        commit = wait_for(commit_id, lambda j: j.finished, seen=seen)
        assert commit.status == "done", commit.message
        assert written() == 30
        assert commit.counts["write"] == 30 and commit.attempts == 1
        # the page could follow it: running, with a stage and counts between none and all
        assert ("queued", None, 0, 0) in seen
        assert any(s == "running" and st == "write" and 0 < d < t for s, st, d, t in seen)


def test_a_failed_job_says_what_went_wrong(jobs_app, start_worker):
    with jobs_app.app_context():
        start_worker()
        job = wait_for(submit_commit(jobs_app, 987654), lambda j: j.finished)
        assert job.status == "failed"
        assert "Không tìm thấy lần tải lên số 987654" in job.message


def upload_then_stop(jobs_app, start_worker, n: int, prefix: str) -> int:
    """A draft upload made by a worker that is then stopped: its commit will wait in the queue."""
    worker = start_worker()
    upload = wait_for(submit_upload(jobs_app, n, prefix), lambda j: j.finished)
    assert upload.status == "done", upload.message
    stop(worker)
    return submit_commit(jobs_app, upload.result["batch_id"])


def kill_midway(start_worker, job_id: int, prefix: str, attempt: int = 1) -> None:
    worker = start_worker(step_delay=0.05)
    wait_for(
        job_id,
        lambda j: j.status == "running" and j.attempts == attempt and j.counts.get("write", 0) >= 3,
    )
    worker.send_signal(signal.SIGKILL)  # no goodbye: the transaction dies with the connection
    worker.wait()
    time.sleep(0.5)
    assert written(prefix) == 0  # nothing half done
    assert job_now(job_id).status == "running"  # until a worker notices


def test_a_worker_killed_midway_writes_nothing_and_the_job_runs_again(jobs_app, start_worker):
    with jobs_app.app_context():
        commit_id = upload_then_stop(jobs_app, start_worker, 25, "JOBKILL-")
        kill_midway(start_worker, commit_id, "JOBKILL-")
        start_worker()  # a new worker notices the dead one and runs the job again
        job = wait_for(commit_id, lambda j: j.finished)
        assert job.status == "done", job.message
        assert job.attempts == 2
        assert written("JOBKILL-") == 25  # once, whole


def test_a_job_whose_worker_dies_twice_fails_with_a_message(jobs_app, start_worker):
    with jobs_app.app_context():
        commit_id = upload_then_stop(jobs_app, start_worker, 25, "JOBTWICE-")
        kill_midway(start_worker, commit_id, "JOBTWICE-")
        # the next worker runs it again (slowly), and is killed too
        kill_midway(start_worker, commit_id, "JOBTWICE-", attempt=2)
        start_worker()
        job = wait_for(commit_id, lambda j: j.finished)
        assert job.status == "failed"
        assert "dừng giữa chừng 2 lần" in job.message and "không có gì được ghi" in job.message
        assert written("JOBTWICE-") == 0
