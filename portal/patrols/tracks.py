"""A patrol's GPS track: a GPX file uploaded as the path it actually took, and how much of its
planned route it followed (within 30 m) and where it went off.

The file is read only by geo.tracks, in geo.sandbox's confined child: a small one while the
request waits, a larger one as a job (portal.patrols.jobs). A refused file changes nothing; an
accepted one replaces the patrol's earlier track.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geo import routes
from geo.sandbox import ProcessLimits
from geo.tracks import DEFAULT_LIMITS, TrackProblem, TrackRead, first_look, read_gpx
from portal.errors import FormInvalid, NotFound
from portal.extensions import db
from portal.i18n import N_, _, format_datetime, label, thousands
from portal.jobs import services as jobs
from portal.models import Job, Patrol, PatrolTrack, RouteVersion
from portal.patrols import routes as patrol_routes
from portal.security import current_account, current_scope

FOLLOW_WITHIN_M = 30.0

# What is wrong with a refused GPX file (geo.tracks.PROBLEMS), in words.
PROBLEM_TEXT = {
    "empty_file": N_("Tệp trống"),
    "too_large": N_("Tệp quá lớn (tối đa {limit} MB)"),
    "not_gpx_name": N_("Chỉ nhận tệp GPX (tên tệp kết thúc bằng .gpx)"),
    "not_xml": N_("Tệp không phải XML hợp lệ: tệp hỏng, bị cắt giữa chừng hoặc không phải tệp GPX"),
    "xml_entities": N_("Tệp chứa khai báo DTD hoặc thực thể XML (bị từ chối vì an toàn)"),
    "not_gpx": N_("Tệp là XML nhưng không phải GPX (phần tử gốc {detail})"),
    "bad_point": N_("Có điểm thiếu hoặc sai vĩ độ, kinh độ"),
    "too_many_points": N_("Tệp có quá nhiều điểm (tối đa {limit})"),
    "too_many_segments": N_("Tệp có quá nhiều đoạn vết (tối đa {limit})"),
    "no_track": (
        N_(
            "Tệp không có vết (track) hay tuyến nào từ hai điểm trở lên; "
            "có thể chỉ có điểm đánh dấu"
        )
    ),
    "outside_vietnam": N_("Vết đi ra ngoài Việt Nam (vĩ độ, kinh độ {detail})"),
    "unreadable": N_("Không đọc được tệp GPX"),
    "reader_timeout": N_("Đọc tệp quá lâu nên đã dừng (tệp quá lớn hoặc quá phức tạp)"),
    "reader_memory": N_("Đọc tệp cần quá nhiều bộ nhớ nên đã dừng"),
    "reader_crashed": N_("Trình đọc tệp dừng bất thường: tệp hỏng hoặc không đúng định dạng"),
    "reader_output": N_("Tệp cho ra quá nhiều dữ liệu"),
}


def describe(problem: TrackProblem) -> str:
    """One sentence: what is wrong with the file, and where when that is known."""
    limits = DEFAULT_LIMITS
    limit = {
        "too_large": limits.max_bytes // (1024 * 1024),
        "too_many_points": thousands(limits.max_points),
        "too_many_segments": thousands(limits.max_segments),
    }.get(problem.code)
    if problem.code in ("too_many_points", "too_many_segments") and "> " in problem.detail:
        limit = thousands(int(problem.detail.rsplit("> ", 1)[1]))  # the limit the reader used
    text = label(PROBLEM_TEXT, problem.code).format(limit=limit, detail=problem.detail[:80])
    where = []
    if problem.segment:
        where.append(_("đoạn vết thứ {n}", n=problem.segment))
    if problem.line:
        where.append(_("dòng {n}", n=problem.line))
    return f"{text} ({', '.join(where)})." if where else f"{text}."


def get_patrol(patrol_id: int) -> Patrol:
    """The patrol, if in scope: a leader's own team, an officer's commune, or the admin's city."""
    scope = current_scope()
    scope.require("admin", "commune_officer", "team_leader")
    patrol = db.session.scalar(
        scope.team_rows(select(Patrol).where(Patrol.id == patrol_id), Patrol)
    )
    if patrol is None:
        raise NotFound(_("Không tìm thấy ca tuần tra số {id}.", id=patrol_id))
    return patrol


@dataclass
class TrackView:
    patrol: Patrol
    track: PatrolTrack | None
    route: RouteVersion | None
    # the formats the fragment shows times and lengths in
    local_time = staticmethod(lambda moment: local_time(moment))
    distance = staticmethod(lambda value: patrol_routes.metres(value))

    @property
    def followed_percent(self) -> int | None:
        share = self.track.followed_share if self.track else None
        return None if share is None else round(share * 100)

    @property
    def off_route_m(self) -> float:
        if self.track is None or self.track.off_route is None:
            return 0.0
        return routes.length_m(to_shape(self.track.off_route))

    def off_stretches(self, most: int = 5) -> list[Stretch]:
        """Where the track left the route: its longest stretches off it, longest first."""
        if self.track is None or self.track.off_route is None:
            return []
        stretches = [
            Stretch(routes.length_m(part), part.coords[0][1], part.coords[0][0])
            for part in to_shape(self.track.off_route).geoms
        ]
        return sorted(stretches, key=lambda s: -s.length_m)[:most]


@dataclass(frozen=True)
class Stretch:
    """A stretch of the track off the route: how long, and where it starts (lat, lon)."""

    length_m: float
    lat: float
    lon: float


def local_time(moment: datetime | None) -> str:
    """A moment in Vietnam's time in the user's language; a dash when unknown."""
    try:
        return format_datetime(moment)
    except (OverflowError, ValueError):  # a stored time at the calendar's edge
        return "—"


def track_view(patrol_id: int) -> TrackView:
    patrol = get_patrol(patrol_id)
    return TrackView(patrol, db.session.get(PatrolTrack, patrol.id), _route(patrol))


def _route(patrol: Patrol) -> RouteVersion | None:
    if patrol.route_version_id is None:
        return None
    return db.session.get(RouteVersion, patrol.route_version_id)


def upload_track(patrol_id: int, filename: str, data: bytes) -> PatrolTrack | Job:
    """Read a GPX file as the patrol's track: at once when small, else as a job (returned)."""
    patrol = get_patrol(patrol_id)
    # a track is where a patrol went: none for a cancelled one, or one that has not begun
    if patrol.status == "cancelled":
        raise FormInvalid({"file": _("Ca tuần tra đã hủy không có vết GPS.")})
    if patrol.status != "done" and patrol.planned_start > datetime.now(UTC):
        raise FormInvalid({"file": _("Ca tuần tra chưa bắt đầu: tải vết GPS sau khi đi tuần.")})
    filename = (filename or "").replace("\\", "/").rsplit("/", 1)[-1][:255]
    if not data:
        raise FormInvalid({"file": _("Chọn một tệp GPX để tải lên.")})
    problem = first_look(data, filename, DEFAULT_LIMITS)  # refused before a job keeps the file
    if problem:
        raise FormInvalid({"file": describe(problem)})
    config = current_app.config
    if len(data) > config["TRACK_INLINE_BYTES"]:
        return jobs.submit(
            "patrols.track",
            {"patrol_id": patrol.id},
            _("Vết GPS “{name}”", name=filename),
            files=[(filename, "application/gpx+xml", data)],
        )
    seconds = config["TRACK_READ_SECONDS"]
    read = read_gpx(
        data, filename, process=ProcessLimits(cpu_seconds=seconds, wall_seconds=seconds * 1.5)
    )
    if read.problem:
        raise FormInvalid({"file": describe(read.problem)})
    return save_track(patrol, read, filename, current_account().username)


def save_track(patrol: Patrol, read: TrackRead, filename: str, actor: str) -> PatrolTrack:
    """Store a track read without a problem, replacing the patrol's earlier one, with how much
    of the patrol's route it followed."""
    line = read.line
    route = _route(patrol)
    share = off = None
    if route is not None and route.geom is not None:
        following = routes.follow(to_shape(route.geom), line, FOLLOW_WITHIN_M)
        share = following.share
        off = from_shape(following.off_route, srid=4326) if following.off_route_m > 0 else None
    session: Session = db.session
    track = session.get(PatrolTrack, patrol.id) or PatrolTrack(patrol_id=patrol.id)
    track.geom = from_shape(line, srid=4326)
    track.points = read.points
    track.length_m = routes.length_m(line)
    track.started_at = read.started_at
    track.ended_at = read.ended_at
    track.followed_share = share
    track.off_route = off
    track.filename = filename
    track.uploaded_by = actor
    track.uploaded_at = func.now()  # a replaced track's time is the new upload's
    session.add(track)
    session.commit()
    return track


def remove_track(patrol_id: int) -> None:
    """Remove the patrol's track (the patrol itself stays)."""
    patrol = get_patrol(patrol_id)
    track = db.session.get(PatrolTrack, patrol.id)
    if track is None:
        raise NotFound(_("Ca tuần tra này chưa có vết GPS."))
    db.session.delete(track)
    db.session.commit()
