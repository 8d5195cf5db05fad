"""The worker: runs queued jobs one at a time, and sweeps up after a worker that died.

Started beside gunicorn by `make run` (scripts/serve.sh) and by the tests:
`flask --app wsgi worker`. procrastinate's worker sends a heartbeat; a job whose worker stopped
beating (killed, machine lost) is found by the sweep. Its transaction was rolled back by
PostgreSQL when the connection dropped, so nothing of it is written: the sweep runs it once more,
or, after JOBS_MAX_ATTEMPTS, marks it failed with a message.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from flask import Flask
from procrastinate.jobs import Status
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.i18n import _
from portal.jobs import queue
from portal.models import Job, JobFile

log = logging.getLogger(__name__)


def run(app: Flask, *, wait: bool = True) -> None:
    """Run the worker until it is stopped (SIGTERM, Ctrl-C), or until the queue is empty."""
    queue._flask_app = app
    asyncio.run(_main(app, wait))


async def _main(app: Flask, wait: bool) -> None:
    jobs_queue = queue.queue_app(app)
    async with jobs_queue.open_async():
        sweeper = asyncio.create_task(_sweep_forever(app))
        try:
            await jobs_queue.run_worker_async(
                wait=wait,
                concurrency=1,  # jobs are synchronous and heavy: one at a time
                name="portal-worker",
                update_heartbeat_interval=app.config["JOBS_HEARTBEAT_SECONDS"],
                stalled_worker_timeout=app.config["JOBS_STALLED_SECONDS"],
                fetch_job_polling_interval=5,
                # our jobs table keeps the record; procrastinate's row is only the hand-over
                delete_jobs="successful",
            )
        finally:
            sweeper.cancel()


async def _sweep_forever(app: Flask) -> None:
    while True:
        try:
            await sweep(app)
        except Exception:
            log.exception("the job sweep failed; trying again later")
        await asyncio.sleep(app.config["JOBS_SWEEP_SECONDS"])


async def sweep(app: Flask) -> None:
    """Jobs whose worker died go back to the queue, or fail; jobs never handed over are."""
    manager = queue.queue_app(app).job_manager
    stalled = await manager.get_stalled_jobs(
        seconds_since_heartbeat=app.config["JOBS_STALLED_SECONDS"]
    )
    for queued in stalled:
        job_id = queued.task_kwargs.get("job_id")
        again = await asyncio.to_thread(interrupted, app, job_id)
        if again:
            await manager.retry_job(queued)
        else:
            await manager.finish_job(queued, status=Status.FAILED, delete_job=False)
    await asyncio.to_thread(_forget_old_files, app)
    for job_id in await asyncio.to_thread(_orphans, app):
        new_id = await queue.queue_app(app).tasks[queue.TASK].defer_async(job_id=job_id)
        await asyncio.to_thread(_set_queue_id, app, job_id, new_id)


def interrupted(app: Flask, job_id: int | None) -> bool:
    """A job whose worker died mid-way: True to run it again, False when it is over."""
    with app.app_context(), Session(db.engine) as session:
        job = session.get(Job, job_id, with_for_update=True) if job_id else None
        if job is None or job.finished:
            return False
        limit = app.config["JOBS_MAX_ATTEMPTS"]
        if job.attempts < limit:
            job.status = "queued"
            job.message = _(
                "Tiến trình xử lý dừng giữa chừng (lần {n}); không có gì được ghi. Đang chạy lại.",
                n=job.attempts,
            )
        else:
            job.status = "failed"
            job.finished_at = datetime.now(UTC)
            job.message = _(
                "Tiến trình xử lý dừng giữa chừng {n} lần; không có gì được ghi. Hãy thử lại"
                " hoặc báo quản trị viên.",
                n=job.attempts,
            )
        log.warning("job %s interrupted after %s attempts: %s", job_id, job.attempts, job.status)
        session.commit()
        return job.status == "queued"


def _orphans(app: Flask) -> list[int]:
    """Queued jobs with no live queue entry (the hand-over failed), a minute on."""
    with app.app_context(), db.engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT j.id FROM jobs j"
                    " LEFT JOIN procrastinate_jobs q ON q.id = j.queue_job_id"
                    "  AND q.status IN ('todo', 'doing')"
                    " WHERE j.status = 'queued' AND q.id IS NULL"
                    "  AND j.created_at < now() - interval '1 minute'"
                )
            ).scalars()
        )


def _set_queue_id(app: Flask, job_id: int, queue_job_id: int) -> None:
    with app.app_context(), Session(db.engine) as session:
        session.execute(update(Job).where(Job.id == job_id).values(queue_job_id=queue_job_id))
        session.commit()


def _forget_old_files(app: Flask) -> None:
    """An export's file is kept for its owner a few days (JOBS_KEEP_FILES_DAYS), then dropped."""
    with app.app_context(), Session(db.engine) as session:
        session.execute(
            delete(JobFile).where(
                JobFile.role == "output",
                JobFile.job_id.in_(
                    select(Job.id).where(
                        Job.finished_at
                        < func.now() - timedelta(days=app.config["JOBS_KEEP_FILES_DAYS"])
                    )
                ),
            )
        )
        session.commit()
