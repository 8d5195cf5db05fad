"""The demo's bulk generation as jobs: the whole city's villages, teams and accounts, then its
year of patrols, each written in one transaction, with progress (the CLI's `seed-demo` and
`seed-patrols` run them)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from portal.demo.patrols import clear_patrols, patrol_count, seed_patrols
from portal.demo.seed import seed
from portal.extensions import db
from portal.i18n import _, thousands
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


@handler("demo.patrols")
def seed_demo_patrols(
    ctx: JobContext, if_empty: bool = False, reset: bool = False, scale: float = 1.0
) -> dict:
    """Routes, a year of patrols and next week's plans for the demo's teams (seed-patrols)."""
    if patrol_count():
        if if_empty:
            return {"lines": ["Đã có nhật ký tuần tra: bỏ qua seed-patrols."], "patrols": 0}
        if not reset:
            raise JobFailed(_("Cơ sở dữ liệu đã có tuần tra: dùng --reset để tạo lại."))
        clear_patrols()
    summary = seed_patrols(scale=scale, progress=ctx.progress)
    return {
        "lines": [
            f"Xong: {thousands(summary.routes)} tuyến, {thousands(summary.patrols)} lượt tuần "
            f"tra trong một năm ({thousands(summary.violations)} vi phạm phát hiện, "
            f"{thousands(summary.cancelled)} lượt hủy), {thousands(summary.planned)} lượt đã "
            "lên lịch cho 7 ngày tới.",
            f"{summary.teams_idle} tổ chưa đi tuần lần nào; {summary.seconds:.0f} giây.",
        ],
        "patrols": summary.patrols,
        "violations": summary.violations,
        "endpoint": "areas.index",
        "args": {},
    }
