"""Boundary work done as jobs (portal.jobs): reading and checking an upload, writing it, and
exporting the whole city. Each runs with the scope of the planner who asked for it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import current_app
from sqlalchemy import select

from geo.sandbox import ProcessLimits
from portal.boundaries import batches, editing, exports, planning, services
from portal.coverage import services as coverage
from portal.errors import NotFound
from portal.extensions import db
from portal.i18n import _
from portal.jobs.runner import JobContext, JobFailed, handler
from portal.models import Area, ImportBatch, Level
from portal.security import current_scope


@handler("boundaries.upload")
def read_upload(
    ctx: JobContext, level: str, parent_id: int | None, crs_key: str, layer: str | None
) -> dict:
    """The dry run: read and check the file, compare it with what is there, keep the result."""
    editing.require_editor()
    parent = None
    if parent_id is not None:
        parent = db.session.scalar(
            current_scope().areas(select(Area).where(Area.id == parent_id, Area.level == "commune"))
        )
        if parent is None:
            raise NotFound(_("Không tìm thấy xã, phường đã chọn."))
    upload = ctx.input()
    seconds = current_app.config["UPLOAD_READ_SECONDS"]
    ctx.step("read")
    plan = planning.plan_file(
        upload.data,
        upload.filename,
        Level(level),
        parent_code=parent.code if parent else None,
        crs_key=crs_key,
        layer=layer,
        confine_to=services.confined_to(),
        process=ProcessLimits(cpu_seconds=seconds, wall_seconds=seconds * 1.5),
        progress=ctx.progress,
    )
    ctx.step("save")
    batch = ImportBatch(
        created_by=ctx.account_id,
        filename=upload.filename,
        level=level,
        parent_id=parent.id if parent else None,
        source_crs=plan.source_crs,
        status="draft",
    )
    db.session.add(batch)
    batches.save_plan(batch, plan)
    ctx.step("save", finished=True)
    return _to_batch(batch)


def _to_batch(batch: ImportBatch) -> dict:
    return {
        "batch_id": batch.id,
        "endpoint": "boundaries.batch",
        "args": {"batch_id": batch.id},
        "follow": True,  # the planner waits for this page
    }


@handler("boundaries.commit")
def commit_upload(
    ctx: JobContext, batch_id: int, mode: str, repairs: bool, number: str, when: str
) -> dict:
    """Write the reviewed upload: every usable feature, or only the clean ones."""
    batch = services.get_batch(batch_id, for_update=True)  # the same scoped look-up as the page
    if batch.status != "draft":
        raise JobFailed(_("Lần tải lên này đã được xử lý."))
    plan = batches.load_plan(batch)
    clean_only = mode == "clean"
    if not plan.writable(repairs=repairs, clean_only=clean_only):
        raise JobFailed(_("Không có đối tượng nào để nhập với lựa chọn này."))
    decided = date.fromisoformat(when)
    report = planning.apply_plan(
        plan,
        repairs=repairs,
        clean_only=clean_only,
        valid_from=decided,
        decision_number=number,
        decision_date=decided,
        actor=ctx.actor,
        note=batch.filename,
        confine_to=services.confined_to(),
        progress=ctx.progress,
    )
    # coverage of the communes it touched, in this same job and transaction (a job of its own
    # would be handed to the worker before this one's writes are committed)
    coverage.refresh(coverage.communes_of_areas(report.area_ids), progress=ctx.progress)
    batch.status = "committed"
    batch.committed_at = datetime.now(UTC)
    batch.result = {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "change_id": report.change_id,
    }
    return _to_batch(batch)


@handler("boundaries.export")
def export_city(ctx: JobContext, fmt: str) -> dict:
    """The whole city's current boundaries as one file, kept for the planner to download."""
    ctx.step("export")
    name, body = exports.build(fmt, None)
    ctx.output(name, exports.MIMETYPES[fmt], body)
    ctx.step("export", finished=True)
    return {"endpoint": "jobs.download", "args": {"job_id": ctx.job_id}, "file": name}
