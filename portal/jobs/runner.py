"""Running a job: its writes in one transaction, its progress seen while it runs.

A handler is a function registered for a kind of job. It receives a JobContext and the job's
parameters, reports progress through the context, and returns the job's result (a small dict,
e.g. {"batch_id": 7}). Whatever it writes, and the job's "done", are committed together at the
end, or not at all: a handler's own commits only release savepoints. If the worker is killed
midway, PostgreSQL rolls the transaction back; portal.jobs.worker then retries the job once or
marks it failed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import current_app, g
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from portal.audit import cli_actor
from portal.errors import DomainError, Invalid
from portal.extensions import db
from portal.i18n import _
from portal.models import Account, Job, JobFile

log = logging.getLogger(__name__)

Handler = Callable[..., dict | None]
HANDLERS: dict[str, Handler] = {}


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that does a kind of job."""

    def register(func: Handler) -> Handler:
        HANDLERS[kind] = func
        return func

    return register


class JobFailed(Invalid):
    """A job could not do its work; the message is shown on the job's page."""


@dataclass
class JobContext:
    """What a handler sees of its job: who asked, its files, and a way to report progress."""

    job_id: int
    account_id: int | None
    actor: str
    _write: Callable[[dict], None]
    _echo: Callable[[str, int, int], None] | None = None  # the CLI's progress bar
    _counts: dict = field(default_factory=dict)
    _last: float = 0.0
    _stage: str | None = None

    def progress(self, stage: str, done: int, total: int, *, counted: bool = True) -> None:
        """Stage and counts; written at most a few times a second, and on every change of stage."""
        if counted:
            self._counts[stage] = done
        if self._echo:
            self._echo(stage, done, total)
        now = time.monotonic()
        if stage != self._stage or done >= total or now - self._last >= 0.3:
            self._stage, self._last = stage, now
            self._write(
                {
                    "stage": stage,
                    "done": done,
                    "total": total,
                    "counts": dict(self._counts),
                    "progress_at": datetime.now(UTC),
                }
            )
        delay = current_app.config.get("JOBS_STEP_DELAY", 0)
        if delay:  # tests slow a job down to stop its worker midway
            time.sleep(delay)

    def step(self, stage: str, *, finished: bool = False) -> None:
        """A stage of one step (reading a file, saving a result): named while it runs, not
        counted, since "1" says nothing about how much was done."""
        self.progress(stage, int(finished), 1, counted=False)

    def input(self) -> JobFile:
        found = db.session.scalar(
            select(JobFile).where(JobFile.job_id == self.job_id, JobFile.role == "input")
        )
        if found is None:
            raise JobFailed(_("Tệp tải lên không còn: hãy tải lên lại."))
        return found

    def output(self, filename: str, content_type: str, data: bytes) -> None:
        db.session.add(
            JobFile(
                job_id=self.job_id,
                role="output",
                filename=filename,
                content_type=content_type,
                size=len(data),
                data=data,
            )
        )


def failure_text(exc: BaseException) -> str:
    """What the job's page says went wrong: our own messages as they are, nothing internal."""
    if isinstance(exc, DomainError):
        details = [d for d in exc.details if isinstance(d, str)]
        return "\n".join([exc.message, *details[:20]])
    return _("Lỗi không mong đợi khi xử lý; đã ghi lại để quản trị viên xem. Hãy thử lại sau.")


def execute(job_id: int, echo: Callable[[str, int, int], None] | None = None) -> None:
    """Run one job now, in this process: in a transaction of its own (the worker, the CLI), or
    inline in the caller's session (tests, whose transaction is rolled back)."""
    if current_app.config["JOBS_INLINE"]:
        _execute_inline(job_id, echo)
    else:
        _execute_in_transaction(job_id, echo)


def _start(session: Session, job_id: int) -> Job | None:
    job = session.get(Job, job_id, with_for_update=True)
    if job is None or job.finished:
        return None
    job.status, job.started_at, job.message = "running", datetime.now(UTC), None
    job.stage, job.done, job.total, job.counts = None, 0, 0, {}  # a new attempt starts afresh
    job.attempts += 1
    return job


def _finish(session: Session, job: Job, result: dict | None) -> None:
    session.execute(
        update(Job)
        .where(Job.id == job.id)
        .values(
            status="done",
            stage="done",
            result=result or {},
            finished_at=datetime.now(UTC),
            done=Job.total,
        )
    )
    session.execute(delete(JobFile).where(JobFile.job_id == job.id, JobFile.role == "input"))


def _execute_in_transaction(job_id: int, echo=None) -> None:
    engine = db.engine
    with Session(engine) as session:
        job = _start(session, job_id)
        session.commit()
        if job is None:
            return
        kind, params, account_id, actor = job.kind, dict(job.params), job.created_by, job.actor
    # progress goes through a connection of its own, committed at once, so the page sees it
    progress_connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def write(values: dict) -> None:
        progress_connection.execute(update(Job).where(Job.id == job_id).values(**values))

    connection = engine.connect()
    transaction = connection.begin()
    # the caller's session (the CLI's), put back at the end
    previous = db.session.registry() if db.session.registry.has() else None
    # the handler's db.session: on this one transaction; its commits release savepoints
    db.session.registry.set(
        Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    )
    token = cli_actor.set(actor)
    try:
        _act_as(account_id)
        context = JobContext(job_id, account_id, actor, write, echo)
        result = HANDLERS[kind](context, **params)
        job = db.session.get(Job, job_id)
        _finish(db.session, job, result)
        db.session.flush()
        transaction.commit()
    except Exception as exc:
        transaction.rollback()
        log.exception("job %s (%s) failed", job_id, kind)
        fail(job_id, failure_text(exc))
    finally:
        cli_actor.reset(token)
        db.session.remove()
        if previous is not None:
            db.session.registry.set(previous)
        connection.close()
        progress_connection.close()


def _act_as(account_id: int | None) -> None:
    """The job reads and writes with the scope of who asked for it, as their request would:
    the same scope rules then hold in the worker (portal.security.current_scope reads g)."""
    from portal.scope import scope_for

    if account_id is None:  # the CLI's jobs (the demo): no account, no scope beyond that
        g.account, g.scope = None, scope_for(None)
        return
    account = db.session.get(Account, account_id)
    if account is None or not account.is_active:
        raise JobFailed(_("Tài khoản yêu cầu việc này không còn hoạt động."))
    g.account, g.scope = account, scope_for(account)


def _execute_inline(job_id: int, echo=None) -> None:
    """In the caller's session: the tests' transaction, rolled back after each test."""
    job = _start(db.session, job_id)
    if job is None:
        return

    def write(values: dict) -> None:
        db.session.execute(update(Job).where(Job.id == job_id).values(**values))

    token = cli_actor.set(job.actor)
    try:
        context = JobContext(job_id, job.created_by, job.actor, write, echo)
        result = HANDLERS[job.kind](context, **job.params)
        _finish(db.session, job, result)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        log.warning("job %s (%s) failed: %s", job_id, job.kind, exc)
        fail(job_id, failure_text(exc), session=db.session)
    finally:
        cli_actor.reset(token)
    db.session.expire_all()


def fail(job_id: int, message: str, session: Session | None = None) -> None:
    """Mark a job failed, with what the user should read, in a transaction of its own."""
    values = {"status": "failed", "message": message, "finished_at": datetime.now(UTC)}
    if session is not None:
        session.execute(update(Job).where(Job.id == job_id).values(**values))
        session.commit()
        return
    with Session(db.engine) as own:
        own.execute(update(Job).where(Job.id == job_id).values(**values))
        own.execute(delete(JobFile).where(JobFile.job_id == job_id, JobFile.role == "input"))
        own.commit()
