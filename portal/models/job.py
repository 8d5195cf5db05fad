"""Long work done off the request path: a job's record, its progress and its files.

procrastinate's own tables only dispatch work to the worker; these rows are what a user sees.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, LargeBinary, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class Job(db.Model):
    """One piece of long work: an upload's dry run, a commit, an export, the demo."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    # queued, running, done, failed
    status: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    actor: Mapped[str] = mapped_column(String(120))  # for the audit trail of what it writes
    title: Mapped[str] = mapped_column(String(300))  # what the user asked for, e.g. the file name
    params: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # the progress, written while the work runs (by its own connection: see portal.jobs.runner)
    stage: Mapped[str | None] = mapped_column(String(20))
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    counts: Mapped[dict] = mapped_column(JSONB, default=dict)  # stage -> items done
    progress_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    message: Mapped[str | None] = mapped_column(Text)  # why it failed, or a note
    result: Mapped[dict | None] = mapped_column(JSONB)  # e.g. {"batch_id": 7}
    queue_job_id: Mapped[int | None] = mapped_column(BigInteger)  # procrastinate's job

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        return min(99, round(100 * self.done / self.total)) if self.total else 0


class JobFile(db.Model):
    """A file a job reads (an upload, until the job is over) or makes (an export)."""

    __tablename__ = "job_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(10))  # input, output
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
