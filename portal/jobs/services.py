"""Jobs as users see them: submitting one, its page, their recent jobs, what a job made."""

from __future__ import annotations

import logging

from flask import current_app
from sqlalchemy import Select, func, select, update

from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.i18n import N_, _
from portal.jobs import queue, runner
from portal.models import Job, JobFile
from portal.pagination import Page, paginate
from portal.security import current_account, current_scope

log = logging.getLogger(__name__)

# What each kind of job is called on its page and in the list.
KIND_LABELS = {
    "boundaries.upload": N_("Đọc và kiểm tra tệp ranh giới"),
    "boundaries.commit": N_("Nhập ranh giới"),
    "boundaries.export": N_("Xuất ranh giới"),
    "coverage.refresh": N_("Tính lại độ phủ"),
    "demo.seed": N_("Dựng dữ liệu mẫu"),
    "demo.patrols": N_("Sinh một năm tuần tra mẫu"),
    "demo.incidents": N_("Sinh một năm sự vụ, tin báo mẫu"),
    "demo.turnover": N_("Sinh thành viên vào, ra trong năm mẫu"),
    "patrols.track": N_("Đọc vết GPS của ca tuần tra"),
    "review.xlsx": N_("Xuất sơ kết ra XLSX"),  # issue 15: exports
}
STAGE_LABELS = {
    "queued": N_("Đang chờ"),
    "read": N_("Đọc tệp"),
    "check": N_("Kiểm tra"),
    "plan": N_("Đối chiếu với địa bàn hiện có"),
    "save": N_("Lưu kết quả kiểm tra"),
    "write": N_("Ghi ranh giới"),
    "export": N_("Xuất"),
    "coverage": N_("Tính độ phủ"),
    "seed": N_("Dựng dữ liệu"),
    "review": N_("Tính số liệu sơ kết"),  # issue 15: exports
    "done": N_("Xong"),
}
STATUS_LABELS = {
    "queued": N_("Đang chờ"),
    "running": N_("Đang chạy"),
    "done": N_("Xong"),
    "failed": N_("Lỗi"),
}


def submit(
    kind: str,
    params: dict,
    title: str,
    *,
    files: list[tuple[str, str, bytes]] = (),
    account_id: int | None = None,
    actor: str | None = None,
    run: bool = True,
) -> Job:
    """Record a job (and the file it will read), then hand it to the worker."""
    if kind not in runner.HANDLERS:
        raise ValueError(f"no handler for job kind {kind!r}")
    account = current_account()
    owner = account_id if account_id is not None else (account.id if account else None)
    _limit_pending(owner)
    job = Job(
        kind=kind,
        status="queued",
        created_by=owner,
        actor=actor or (account.username if account else "system"),
        title=title[:300],
        params=params,
        attempts=0,
        done=0,
        total=0,
        counts={},
    )
    db.session.add(job)
    db.session.flush()
    for filename, content_type, data in files:
        db.session.add(
            JobFile(
                job_id=job.id,
                role="input",
                filename=filename[:255],
                content_type=content_type[:100],
                size=len(data),
                data=data,
            )
        )
    db.session.commit()
    if not run:  # the caller runs it in its own process (the CLI)
        return job
    job_id = job.id
    if current_app.config["JOBS_INLINE"]:
        runner.execute(job_id)  # a failure rolls back the session: read the job afresh
        return db.session.get(Job, job_id)
    dispatch(job_id)
    return job


class TooManyJobs(DomainError):
    status = 429


def _limit_pending(account_id: int | None) -> None:
    """One account cannot fill the queue: a few jobs waiting or running at a time."""
    if account_id is None:
        return
    limit = current_app.config["JOBS_MAX_PENDING"]
    pending_now = db.session.scalar(
        select(func.count())
        .select_from(Job)
        .where(Job.created_by == account_id, Job.status.in_(("queued", "running")))
    )
    if pending_now >= limit:
        raise TooManyJobs(
            _(
                "Bạn đang có {n} việc chờ hoặc đang chạy; hãy đợi chúng xong rồi gửi thêm.",
                n=pending_now,
            )
        )


def dispatch(job_id: int) -> None:
    """Give the job to the worker. Should that fail, the worker's sweep finds it queued later."""
    try:
        queue_job_id = queue.defer(job_id)
    except Exception:
        log.exception("could not hand job %s to the queue; the worker's sweep will", job_id)
        return
    db.session.execute(update(Job).where(Job.id == job_id).values(queue_job_id=queue_job_id))
    db.session.commit()


def reload(job_id: int) -> Job:
    """A job as it is now in the database (not as this session last saw it)."""
    db.session.expire_all()
    return db.session.get(Job, job_id)


def _jobs() -> Select:
    """The jobs one may see: one's own; a city admin sees everyone's."""
    scope = current_scope()
    scope.require("admin", "commune_officer", "team_leader")
    query = select(Job)
    if not scope.is_admin:
        query = query.where(Job.created_by == scope.account_id)
    return query


def get(job_id: int) -> Job:
    job = db.session.scalar(_jobs().where(Job.id == job_id))
    if job is None:
        raise NotFound(_("Không tìm thấy việc số {id}.", id=job_id))
    return job


def recent(page: int = 1) -> Page:
    """The jobs one started, newest first (without their files)."""
    scope = current_scope()
    scope.require("admin", "commune_officer", "team_leader")
    query = select(Job).where(Job.created_by == scope.account_id).order_by(Job.id.desc())
    return paginate(query, page)


def output(job_id: int) -> JobFile:
    job = get(job_id)
    found = db.session.scalar(
        select(JobFile).where(JobFile.job_id == job.id, JobFile.role == "output")
    )
    if found is None:
        raise NotFound(_("Việc này không có tệp để tải về."))
    return found


def pending(kind: str, **params) -> bool:
    """Whether a job of this kind with these parameters is queued or running."""
    return bool(
        db.session.scalar(
            select(Job.id)
            .where(
                Job.kind == kind,
                Job.status.in_(("queued", "running")),
                Job.params.contains(params),
            )
            .limit(1)
        )
    )
