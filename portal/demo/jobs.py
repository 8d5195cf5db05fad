"""The demo's bulk generation as jobs: the whole city's villages, teams and accounts, then its
year of patrols and its year of incidents and tips, each written in one transaction, with
progress (the CLI's `seed-demo`, `seed-patrols` and `seed-incidents` run them)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from portal.demo.incidents import clear_incidents, incident_count, seed_incidents
from portal.demo.patrols import clear_patrols, patrol_count, seed_patrols
from portal.demo.seed import seed
from portal.demo.turnover import demo_year as turnover_year
from portal.demo.turnover import fit_patrols, moves_in, seed_turnover
from portal.extensions import db
from portal.i18n import _, thousands
from portal.incidents.kinds import KIND_LABELS, STATUS_LABELS
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
    # issue 15: after the turnover, who was serving on each patrol's day (a --reset year)
    fitted, dropped = fit_patrols()
    return {
        "lines": [
            f"Xong: {thousands(summary.routes)} tuyến, {thousands(summary.patrols)} lượt tuần "
            f"tra trong một năm ({thousands(summary.violations)} vi phạm phát hiện, "
            f"{thousands(summary.cancelled)} lượt hủy), {thousands(summary.planned)} lượt đã "
            "lên lịch cho 7 ngày tới.",
            f"{summary.teams_idle} tổ chưa đi tuần lần nào; {summary.seconds:.0f} giây.",
        ]
        + (
            [f"{thousands(fitted + dropped)} lượt giao cho người đang làm vào ngày tuần tra."]
            if fitted or dropped
            else []
        ),
        "patrols": summary.patrols,
        "violations": summary.violations,
        "endpoint": "areas.index",
        "args": {},
    }


@handler("demo.incidents")
def seed_demo_incidents(
    ctx: JobContext, if_empty: bool = False, reset: bool = False, scale: float = 1.0
) -> dict:
    """A year of citizens' tips and teams' incidents for the demo (seed-incidents)."""
    if incident_count():
        if if_empty:
            return {"lines": ["Đã có sự vụ, tin báo: bỏ qua seed-incidents."], "incidents": 0}
        if not reset:
            raise JobFailed(_("Cơ sở dữ liệu đã có sự vụ, tin báo: dùng --reset để tạo lại."))
        clear_incidents()
    summary = seed_incidents(scale=scale, progress=ctx.progress)
    kinds = "; ".join(f"{KIND_LABELS[k]} {thousands(n)}" for k, n in summary.kinds.items())
    statuses = "; ".join(f"{STATUS_LABELS[s]} {thousands(n)}" for s, n in summary.statuses.items())
    endpoint = "incidents.queue"
    return {
        "lines": [
            f"Xong: {thousands(summary.tips)} tin báo của người dân ({thousands(summary.valuable)}"
            f" có giá trị, {thousands(summary.contacts)} để lại liên lạc) và"
            f" {thousands(summary.team)} sự vụ do các tổ ghi nhận"
            f" ({thousands(summary.on_patrol)} vi phạm gắn với ca tuần tra).",
            f"Theo loại: {kinds}.",
            f"Theo trạng thái: {statuses}.",
            f"{summary.seconds:.1f} giây.",
        ],
        "incidents": summary.tips + summary.team,
        "tips": summary.tips,
        "endpoint": endpoint,
        "args": {},
    }


# --- issue 15: the demo's turnover ---
@handler("demo.turnover")
def seed_demo_turnover(ctx: JobContext, if_empty: bool = False) -> dict:
    """Members who left and joined over the demo's year, after its patrols (seed-turnover)."""
    first, stop = turnover_year()
    if moves_in(first, stop):
        if if_empty:
            return {"lines": ["Đã có thành viên vào, ra trong năm: bỏ qua seed-turnover."]}
        raise JobFailed(_("Đã có thành viên vào, ra trong năm mẫu: không sinh thêm."))
    summary = seed_turnover(progress=ctx.progress)
    return {
        "lines": [
            f"Xong: {thousands(summary.left)} thành viên thôi trong năm {summary.first:%d/%m/%Y}"
            f" – {summary.stop - timedelta(days=1):%d/%m/%Y} ({summary.leaders} tổ trưởng, có"
            f" tổ phó lên thay), {thousands(summary.joined)} người mới được bổ nhiệm,"
            f" {summary.waiting} chỗ còn trống cuối năm.",
            f"{thousands(summary.patrol_rows)} lượt tuần tra của người đã thôi chuyển cho người"
            f" đang làm ({thousands(summary.dropped)} lượt bỏ bớt);"
            f" {len(summary.communes)} xã, phường cần tính lại độ phủ; {summary.seconds:.1f} giây.",
        ],
        "left": summary.left,
        "joined": summary.joined,
        "endpoint": "teams.index",
        "args": {},
    }
