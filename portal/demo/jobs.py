"""The demo's bulk generation as jobs: the whole city's villages, teams and accounts, and a year
of patrols, each written in one transaction with progress (the CLI's `seed-demo` and
`seed-patrols` run them)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from portal.demo.patrols import seed_patrols
from portal.demo.seed import seed
from portal.extensions import db
from portal.i18n import _
from portal.jobs.runner import JobContext, JobFailed, handler
from portal.models import Area, Patrol, Team


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


@handler("demo.patrols")
def seed_demo_patrols(ctx: JobContext, if_empty: bool = False, scale: float = 1.0) -> dict:
    """A year of patrols for the demo's teams, a month at a time with progress."""
    if not db.session.scalar(select(func.count()).select_from(Team)):
        raise JobFailed(_("Chưa có tổ nào: chạy seed-demo trước."))
    if db.session.scalar(select(func.count()).select_from(Patrol)):
        if if_empty:
            return {"lines": ["Đã có ca tuần tra: bỏ qua seed-patrols."], "patrols": 0}
        raise JobFailed(_("Đã có ca tuần tra: chỉ sinh dữ liệu mẫu vào cơ sở dữ liệu chưa có."))
    if not 0 < scale <= 10:
        raise JobFailed(_("Tỉ lệ phải lớn hơn 0 và không quá 10."))
    summary = seed_patrols(scale=scale, progress=ctx.progress)
    return {
        "lines": [
            f"Xong: {summary.routes} tuyến, {summary.patrols} ca tuần tra"
            f" ({summary.done} đã tuần tra), {summary.violations} vi phạm phát hiện;"
            f" {summary.idle_teams} tổ không tuần tra."
        ],
        "patrols": summary.patrols,
        "endpoint": "patrols.activity",
        "args": {},
    }
