"""The demo's bulk generation as a job: the whole city's villages, teams and accounts written
in one transaction, with progress (the CLI's `seed-demo` runs it)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from portal.demo.seed import seed
from portal.extensions import db
from portal.i18n import _
from portal.jobs.runner import JobContext, JobFailed, handler
from portal.models import Area


@handler("demo.seed")
def seed_demo(
    ctx: JobContext,
    data_dir: str | None,
    if_empty: bool = False,
    reset: bool = False,
    limit_communes: int | None = None,
) -> dict:
    lines: list[str] = []
    if db.session.scalar(select(func.count()).select_from(Area)) and not (if_empty or reset):
        raise JobFailed(_("Cơ sở dữ liệu đã có địa bàn: dùng --reset để thay toàn bộ."))
    summary = seed(
        Path(data_dir) if data_dir else None,
        if_empty=if_empty,
        reset=reset,
        limit_communes=limit_communes,
        echo=lines.append,
        progress=ctx.progress,
    )
    return {
        "lines": lines,
        "villages": summary.villages if summary else 0,
        "endpoint": "areas.index",
        "args": {},
    }
