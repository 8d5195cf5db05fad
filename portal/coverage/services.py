"""Coverage of communes: computed by geo.coverage and stored per commune, so that the pages,
their filter and the downloads read stored rows and never compute on a request.

- compute_report(): the computation itself (what every page view used to run), for any
  commune, whoever asks: it only ever writes derived data.
- refresh(): computes communes and replaces their stored rows (the coverage.refresh job, the
  demo, the CLI's imports).
- request_refresh(): what a change to villages, teams or members calls: marks the commune
  stale and queues one refresh job for it, unless one is already queued.
- overview(), overview_map(), problems_csv(), gaps_geojson(): the pages' reads, scoped to the
  reader.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

import shapely
from flask import url_for
from geoalchemy2.shape import from_shape
from shapely import wkb
from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from geo import maps
from geo.coverage import Shares, Village, analyse
from portal import jobs, mapping
from portal.coverage import queries
from portal.downloads import csv_text
from portal.errors import NotFound
from portal.extensions import db
from portal.i18n import N_, _, decimal
from portal.models import Area, CoverageCommune, CoverageProblem, CoverageVillage, Job
from portal.pagination import Page, paginate
from portal.security import current_scope
from portal.teams import management  # its changes ask for refreshes: module, not names
from portal.teams.rules import Sizing

KINDS = ("no_team", "understaffed", "overstaffed", "no_leader", "unmapped", "overlap")
KIND_LABELS = {
    "no_team": N_("Chưa có tổ"),
    "understaffed": N_("Tổ thiếu người"),
    "overstaffed": N_("Tổ quá số người"),
    "no_leader": N_("Tổ chưa có tổ trưởng"),
    "unmapped": N_("Đất chưa thuộc thôn nào"),
    "overlap": N_("Thôn chồng lấn nhau"),
}
TEAM_KINDS = ("understaffed", "overstaffed", "no_leader")
# a village's status, drawn in the portal's status palette (geo.maps.STATUS_STYLES); a team
# without a leader gets its own colour, so that the legend can say exactly what each colour is
STATUS_STYLES = {
    "covered": maps.STATUS_STYLES["ok"],
    "understaffed": maps.STATUS_STYLES["warning"],
    "no_leader": {"color": "#023e8a", "weight": 1.5, "fillColor": "#48cae4", "fillOpacity": 0.5},
    "no_team": maps.STATUS_STYLES["error"],
    "overlap": maps.STATUS_STYLES["issue"],
    "unmapped": maps.STATUS_STYLES["unmapped"],
}
# the city map's communes: the share of their villages with a team, in bands (lightly filled,
# so that the villages with a problem, drawn over them, stand out)
SHARE_BANDS = (  # (key, lowest share, style)
    (
        "share_high",
        0.99,
        {"color": "#2d6a4f", "weight": 1.5, "fillColor": "#b7e4c7", "fillOpacity": 0.3},
    ),
    (
        "share_mid",
        0.95,
        {"color": "#8a5a00", "weight": 1.5, "fillColor": "#ffe8a3", "fillOpacity": 0.4},
    ),
    (
        "share_low",
        0.0,
        {"color": "#9d0208", "weight": 2, "fillColor": "#f8ad9d", "fillOpacity": 0.45},
    ),
)
MAP_STYLES = {**STATUS_STYLES, **{key: style for key, _low, style in SHARE_BANDS}}
PER_PAGE = 50
CHUNK = 16  # communes read and stored at a time: a few queries each, memory kept small
JOB_KIND = "coverage.refresh"

Progress = Callable[[str, int, int], None]


def kind_label(kind: str) -> str:
    return _(KIND_LABELS[kind])


def status_label(key: str) -> str:
    """What a colour of the coverage maps means: a village's status or a commune's band."""
    return {
        "covered": _("có tổ đủ người, có tổ trưởng"),
        "understaffed": _("tổ thiếu hoặc quá số người"),
        "no_leader": _("tổ chưa có tổ trưởng"),
        "no_team": _("chưa có tổ"),
        "overlap": _("thôn chồng lấn nhau"),
        "unmapped": _("đất chưa thuộc thôn nào"),
        "share_high": _("từ 99% thôn có tổ"),
        "share_mid": _("từ 95% đến dưới 99%"),
        "share_low": _("dưới 95%"),
    }[key]


def require_planner() -> None:
    """Coverage is the planners' view: city admins and commune officers."""
    current_scope().require("admin", "commune_officer")


# --- computing -----------------------------------------------------------------------------


@dataclass
class Computed:
    """One commune's coverage as computed, in the shape of its stored rows."""

    commune_id: int
    figures: dict  # coverage_communes' columns
    villages: list[dict] = field(default_factory=list)  # coverage_villages' rows
    problems: list[dict] = field(default_factory=list)  # coverage_problems' rows


@dataclass
class _Inputs:
    """What computing communes reads: outlines, villages, teams, rules, the city map's scale."""

    communes: list  # (id, parent_id, code, name, outline WKB)
    villages: dict[int, list]
    teams: dict[int, tuple]
    sizing: dict[int | None, Sizing]
    city_tolerance: dict[int | None, float]


def _load(commune_ids: list[int] | None) -> _Inputs:
    communes = db.session.execute(queries.current_communes(commune_ids)).all()
    ids = [c[0] for c in communes]
    villages: dict[int, list] = {i: [] for i in ids}
    teams: dict[int, tuple] = {}
    if ids:
        for row in db.session.execute(queries.villages(ids)):
            villages[row[1]].append(row)
        teams = {row[0]: tuple(row) for row in db.session.execute(queries.teams(ids))}
    provinces = list({c[1] for c in communes})
    # the city map shows every commune of the province: their outlines at that map's scale
    scale = {p: 0.0 for p in provinces}
    for province_id, *box in db.session.execute(queries.outline_bounds(provinces)):
        if None not in box:
            scale[province_id] = mapping.tolerance(box)
    return _Inputs(
        communes, villages, teams, {p: management.sizing_of_province(p) for p in provinces}, scale
    )


def compute_report(commune_ids: list[int] | None = None, *, maps_of: bool = True) -> list[Computed]:
    """Coverage of these current communes (all when None), computed now from their villages,
    teams and members: the work each coverage page did on every request before it was stored,
    and what the refresh job runs. Reads whatever the reader's scope: it makes derived data.
    maps_of=False leaves out the shapes only a commune's own map draws."""
    inputs = _load(commune_ids)
    return [_compute(commune, inputs, maps_of) for commune in inputs.communes]


def _compute(commune, inputs: _Inputs, maps_of: bool = True) -> Computed:
    commune_id, province_id, _code, _name, outline_wkb = commune
    outline = wkb.loads(outline_wkb) if outline_wkb is not None else shapely.Polygon()
    return compute_commune(
        commune_id,
        outline,
        inputs.villages[commune_id],
        inputs.teams,
        inputs.sizing[province_id],
        inputs.city_tolerance[province_id],
        maps_of=maps_of,
    )


def compute_commune(
    commune_id: int,
    outline,
    rows: list,
    teams: dict,
    sizing: Sizing,
    city_tolerance: float,
    *,
    maps_of: bool = True,
) -> Computed:
    """One commune: geo.coverage's analysis of its villages, each village's status, the
    problems in the order the page ranks ties, and the shapes its maps draw (its outline on
    the city's; with maps_of, its villages and unmapped land on its own)."""
    shapes = {row[0]: (row[2], wkb.loads(row[3])) for row in rows}
    people = {row[0]: row[4] for row in rows}
    coverage = analyse(
        outline, [Village(row[0], shapes[row[0]][1], row[4], row[5]) for row in rows]
    )
    tolerance = mapping.tolerance(outline.bounds) if not outline.is_empty else 0.0
    statuses = {row[0]: "covered" for row in rows}
    problems: list[dict] = []

    def add(kind, name, population, area, extent, **more):
        west, south, east, north = extent.bounds
        problems.append(
            {
                "position": len(problems),
                "kind": kind,
                "name": name,
                "members": None,
                "population": population,
                "area_m2": area,
                "west": west,
                "south": south,
                "east": east,
                "north": north,
                "area_id": None,
                "team_id": None,
                "geom": None,
                "shape": None,
                **more,
            }
        )

    covered_by: dict[int, list[int]] = {}
    for row in rows:
        if row[5] is None:
            statuses[row[0]] = "no_team"
            add("no_team", row[2], row[4], None, shapes[row[0]][1], area_id=row[0])
        else:
            covered_by.setdefault(row[5], []).append(row[0])
    for team_id, area_ids in covered_by.items():
        team = teams.get(team_id)
        if team is None:
            continue
        population = sum(people[i] or 0 for i in area_ids)
        shape = shapely.union_all([shapes[i][1] for i in area_ids])
        kinds = []
        size_problem = sizing.size_problem(team[3], population)
        if size_problem:
            kinds.append(size_problem)
        if team[4] == 0:
            kinds.append("no_leader")
        for kind in kinds:
            add(kind, team[2], population, None, shape, members=team[3], team_id=team_id)
        if kinds:
            # a wrong size is the larger problem: no leader only when the size is right
            status = "understaffed" if size_problem else "no_leader"
            for i in area_ids:
                statuses[i] = status
    for piece in coverage.overlaps:
        names = " / ".join(shapes[i][0] for i in piece.ids)
        add("overlap", names, None, piece.area_m2, piece.geom, geom=from_shape(piece.geom, 4326))
        for i in piece.ids:
            statuses[i] = "overlap"
    for piece in coverage.unmapped:
        add(
            "unmapped",
            "",
            None,
            piece.area_m2,
            piece.geom,
            geom=from_shape(piece.geom, 4326),
            shape=maps.display_shape(piece.geom, tolerance / 4) if maps_of else None,
        )
    counts = Counter(p["kind"] for p in problems)
    box = outline.bounds if not outline.is_empty else (None,) * 4
    figures = {
        "valid_coverage": coverage.valid_coverage,
        "villages": coverage.villages,
        "villages_with_team": coverage.villages_with_team,
        "population": coverage.population,
        "population_with_team": coverage.population_with_team,
        "land_m2": coverage.land_m2,
        "land_mapped_m2": coverage.land_mapped_m2,
        "counts": {k: counts[k] for k in KINDS if counts[k]},
        "outline": maps.display_shape(outline, city_tolerance) if not outline.is_empty else None,
        "west": box[0],
        "south": box[1],
        "east": box[2],
        "north": box[3],
    }
    villages = [
        {
            "area_id": i,
            "name": name,
            "status": statuses[i],
            "shape": maps.display_shape(shape, tolerance) if maps_of else None,
        }
        for i, (name, shape) in shapes.items()
    ]
    return Computed(commune_id, figures, villages, problems)


# --- storing -------------------------------------------------------------------------------

# the figures of a commune asked for and not computed yet
_NOTHING = {
    "valid_coverage": True,
    "villages": 0,
    "villages_with_team": 0,
    "population": 0,
    "population_with_team": 0,
    "land_m2": 0.0,
    "land_mapped_m2": 0.0,
    "counts": {},
}


def store(results: list[Computed], read_at: datetime) -> None:
    """Replace the communes' stored rows with these results, read at `read_at`. A change that
    marked a commune stale after that moment keeps it stale: its own refresh follows."""
    if not results:
        return
    ids = [r.commune_id for r in results]
    upsert = pg_insert(CoverageCommune).values(
        [{"commune_id": r.commune_id, "computed_at": read_at, **r.figures} for r in results]
    )
    columns = ["computed_at", *results[0].figures]
    db.session.execute(
        upsert.on_conflict_do_update(
            index_elements=[CoverageCommune.commune_id],
            set_={
                **{c: upsert.excluded[c] for c in columns},
                "stale_since": case(
                    (CoverageCommune.stale_since <= read_at, None),
                    else_=CoverageCommune.stale_since,
                ),
            },
        )
    )
    db.session.execute(delete(CoverageVillage).where(CoverageVillage.commune_id.in_(ids)))
    db.session.execute(delete(CoverageProblem).where(CoverageProblem.commune_id.in_(ids)))
    villages = [{"commune_id": r.commune_id, **v} for r in results for v in r.villages]
    if villages:
        db.session.execute(insert(CoverageVillage), villages)
    problems = [{"commune_id": r.commune_id, **p} for r in results for p in r.problems]
    if problems:
        db.session.execute(insert(CoverageProblem), problems)


def refresh(commune_ids: list[int] | None = None, progress: Progress | None = None) -> int:
    """Compute these communes (all current ones when None) and store the results, in the
    caller's transaction; how many were computed. Ids of communes no longer current lose their
    stored rows."""
    current = list(db.session.scalars(_current_ids(commune_ids)))
    if commune_ids is not None:
        gone = set(commune_ids) - set(current)
        if gone:
            db.session.execute(delete(CoverageCommune).where(CoverageCommune.commune_id.in_(gone)))
    total = len(current)
    if progress:
        progress("coverage", 0, total)
    for start in range(0, total, CHUNK):
        chunk = current[start : start + CHUNK]
        # the moment the data is read: what "computed at" means, and what clears "stale"
        read_at = db.session.scalar(select(func.clock_timestamp()))
        inputs = _load(chunk)
        results = []
        for n, commune in enumerate(inputs.communes, start=start + 1):
            results.append(_compute(commune, inputs))
            if progress:
                progress("coverage", n, total)
        store(results, read_at)
    db.session.flush()
    return total


def _current_ids(commune_ids: list[int] | None):
    query = select(Area.id).where(Area.level == "commune", Area.valid_to.is_(None))
    if commune_ids is not None:
        query = query.where(Area.id.in_(commune_ids))
    return query.order_by(Area.code)


# --- asking for a refresh ------------------------------------------------------------------


def communes_of_areas(area_ids: Iterable[int]) -> list[int]:
    """The communes whose coverage a change to these areas concerns."""
    ids = list(area_ids)
    if not ids:
        return []
    return sorted(i for i in db.session.scalars(queries.communes_of_areas(ids)) if i)


def mark_stale(commune_ids: list[int]) -> None:
    """Stored figures of these communes no longer hold (from now, unless already stale)."""
    if not commune_ids:
        return
    mark = pg_insert(CoverageCommune).values(
        [{"commune_id": i, "stale_since": func.clock_timestamp(), **_NOTHING} for i in commune_ids]
    )
    db.session.execute(
        mark.on_conflict_do_update(
            index_elements=[CoverageCommune.commune_id],
            set_={
                "stale_since": func.coalesce(CoverageCommune.stale_since, mark.excluded.stale_since)
            },
        )
    )


def _refreshes() -> list[tuple[int, str, set[int] | None, int | None]]:
    """Refresh jobs queued or running: id, status, the communes (None: all), who asked."""
    found = []
    for job_id, status, params, by in db.session.execute(queries.refresh_jobs()):
        ids = (params or {}).get("commune_ids")
        found.append((job_id, status, None if ids is None else set(ids), by))
    return found


def request_refresh(commune_ids: Iterable[int | None]) -> Job | None:
    """After a change to the villages, teams or members of these communes, made by whoever
    (a team leader too): mark them stale and queue one refresh for those that have none queued
    yet. A running refresh does not count: it may have read the villages before this change.
    Commits the caller's change with the mark."""
    ids = sorted({i for i in commune_ids if i})
    if not ids:
        return None
    mark_stale(ids)
    queued = [found for _id, status, found, _by in _refreshes() if status == "queued"]
    waiting = [i for i in ids if not any(found is None or i in found for found in queued)]
    if not waiting:
        db.session.commit()
        return None
    return submit(waiting)


def submit(commune_ids: list[int] | None) -> Job:
    """Queue a refresh of these communes (all when None) as the current account (or the
    system). Whoever asks, the job computes them: it writes only derived data, and each page
    shows a reader only the communes of their scope."""
    if commune_ids is None:
        title = _("Toàn thành phố")
    else:
        names = db.session.scalars(
            select(Area.name).where(Area.id.in_(commune_ids)).order_by(Area.code)
        ).all()
        title = names_title(names)
    return jobs.submit(JOB_KIND, {"commune_ids": commune_ids}, title)


def names_title(names: list[str], limit: int = 300) -> str:
    """The communes' names for a job's title, the whole names that fit and how many more
    ("…, Phường Láng … (+108)"): the jobs table keeps 300 characters, and a name cut in
    the middle ("Phường Văn Miếu - Q") reads as a wrong name."""
    title = ", ".join(names)
    if len(title) <= limit:
        return title
    shown: list[str] = []
    for name in names:
        more = f" … (+{len(names) - len(shown) - 1})"
        if len(", ".join([*shown, name])) + len(more) > limit:
            break
        shown.append(name)
    return f"{', '.join(shown)} … (+{len(names) - len(shown)})"


# --- what the pages read -------------------------------------------------------------------


@dataclass
class CommuneFigures:
    """A commune in the reader's scope with its stored figures (zeros if not computed yet)."""

    id: int
    code: str | None
    name: str
    computed_at: datetime | None
    stale_since: datetime | None
    valid_coverage: bool | None
    villages: int | None
    villages_with_team: int | None
    population: int | None
    population_with_team: int | None
    land_m2: float | None
    land_mapped_m2: float | None
    counts: dict | None
    west: float | None
    south: float | None
    east: float | None
    north: float | None
    refreshing: bool = False  # a refresh job for it is queued or running

    @property
    def computed(self) -> bool:
        return self.computed_at is not None

    @property
    def share_villages(self) -> float:
        return (self.villages_with_team or 0) / self.villages if self.villages else 0.0

    @property
    def without_team(self) -> int:
        return (self.counts or {}).get("no_team", 0)

    @property
    def unmapped_m2(self) -> float:
        return (self.land_m2 or 0.0) - (self.land_mapped_m2 or 0.0)


@dataclass
class Totals(Shares):
    villages: int = 0
    villages_with_team: int = 0
    population: int = 0
    population_with_team: int = 0
    land_m2: float = 0.0
    land_mapped_m2: float = 0.0


@dataclass
class Problem:
    """A row of the problem list, the CSV export and the map's zoom links."""

    kind: str
    commune: str
    name: str
    members: int | None
    population: int | None
    area_m2: float | None
    west: float
    south: float
    east: float
    north: float
    area_id: int | None
    team_id: int | None
    commune_id: int | None = None

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind)

    @property
    def label(self) -> str:
        if self.kind in TEAM_KINDS:
            return _("{team} ({n} người)", team=self.name, n=self.members)
        if self.kind == "unmapped":
            return _("Đất chưa thuộc thôn nào")
        return self.name

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (self.west, self.south, self.east, self.north)

    @cached_property  # read a few times by each row of the list
    def actions(self) -> list[tuple[str, str, bool]]:
        """What a row offers once clicked: (text, link, the main step?): open it, and the step
        that fixes it (a team for a village without one, a member for a team short of one)."""
        if self.kind == "no_team" and self.area_id:
            return [
                (_("Mở địa bàn"), url_for("areas.show", area_id=self.area_id), False),
                (_("Lập tổ"), url_for("teams.new", village=self.area_id), True),
            ]
        if self.team_id:
            steps = [(_("Mở tổ"), url_for("teams.show", team_id=self.team_id), False)]
            if self.kind in ("understaffed", "no_leader"):
                member = url_for("teams.new_member", team_id=self.team_id)
                steps.append((_("Bổ nhiệm thành viên"), member, True))
            return steps
        return []

    @property
    def url(self) -> str | None:
        if self.team_id:
            return url_for("teams.show", team_id=self.team_id)
        if self.area_id:
            return url_for("areas.show", area_id=self.area_id)
        return None


@dataclass
class Overview:
    """What a coverage page shows: one commune, or every commune in scope (the city)."""

    city: bool
    communes: list[CommuneFigures]
    problems: Page
    kind: str = ""
    only: int | None = None
    job_id: int | None = None  # the refresh running for this page, when the reader may see it

    @property
    def title(self) -> str:
        return self.communes[0].name if not self.city and self.communes else _("Toàn thành phố")

    @property
    def computed(self) -> list[CommuneFigures]:
        return [c for c in self.communes if c.computed]

    @property
    def missing(self) -> list[CommuneFigures]:
        return [c for c in self.communes if not c.computed]

    @property
    def computed_at(self) -> datetime | None:
        """When the oldest figures on the page were computed."""
        return min((c.computed_at for c in self.computed), default=None)

    @property
    def refreshing(self) -> bool:
        """A refresh of some commune of the page is queued or running."""
        return any(c.refreshing for c in self.communes)

    @property
    def stale(self) -> datetime | None:
        """The first change the figures miss that no refresh is on its way for (one failed)."""
        return min(
            (c.stale_since for c in self.communes if c.stale_since and not c.refreshing),
            default=None,
        )

    @property
    def invalid(self) -> int:
        return sum(1 for c in self.computed if not c.valid_coverage)

    @property
    def totals(self) -> Totals:
        totals = Totals()
        for c in self.computed:
            for name in vars(totals):
                setattr(totals, name, getattr(totals, name) + (getattr(c, name) or 0))
        return totals

    @property
    def counts(self) -> dict[str, int]:
        counts: Counter = Counter()
        for c in self.computed:
            counts.update(c.counts or {})
        return {k: counts[k] for k in KINDS}

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _figures(commune_id: int | None) -> list[CommuneFigures]:
    """The communes in the reader's scope (one, or all) with their stored figures."""
    rows = db.session.execute(current_scope().areas(queries.commune_figures(commune_id))).all()
    if commune_id and not rows:
        raise NotFound(_("Không tìm thấy địa bàn số {id}.", id=commune_id))
    return [CommuneFigures(**row._mapping) for row in rows]


def _follow(communes: list[CommuneFigures]) -> int | None:
    """Mark the communes a refresh is queued or running for; the job the reader may follow."""
    scope = current_scope()
    follow = None
    for job_id, _status, found, by in _refreshes():
        concerned = [c for c in communes if found is None or c.id in found]
        for c in concerned:
            c.refreshing = True
        if concerned and follow is None and (scope.is_admin or by == scope.account_id):
            follow = job_id
    return follow


def overview(
    commune_id: int | None = None, kind: str = "", only: int | None = None, page: int = 1
) -> Overview:
    """A coverage page from stored figures and problems. A commune never computed, or left
    stale with no refresh on its way (a refresh that failed), gets one queued now: the page
    says so, and the reader comes back to the figures."""
    require_planner()
    communes = _figures(commune_id)
    job_id = _follow(communes)
    lacking = [c.id for c in communes if (not c.computed or c.stale_since) and not c.refreshing]
    if lacking:
        job = submit(lacking)
        if job.status == "done":  # run at once (tests run jobs inline)
            communes = _figures(commune_id)
        job_id = _follow(communes)
    ids = [c.id for c in communes if c.computed]
    problems = paginate(queries.problems(ids, kind, only), page, PER_PAGE, rows=True)
    problems.items = [Problem(**row._mapping) for row in problems.items]
    return Overview(commune_id is None, communes, problems, kind, only, job_id)


def status(commune_id: int | None = None) -> Overview:
    """Only whether the page's figures are being computed (for the banner that polls)."""
    require_planner()
    communes = _figures(commune_id)
    job_id = _follow(communes)
    return Overview(commune_id is None, communes, Page([], 1, PER_PAGE, 0), job_id=job_id)


def _bounds(communes: list[CommuneFigures]) -> tuple[float, float, float, float] | None:
    boxes = [c for c in communes if c.computed and c.west is not None]
    if not boxes:
        return None
    return (
        min(c.west for c in boxes),
        min(c.south for c in boxes),
        max(c.east for c in boxes),
        max(c.north for c in boxes),
    )


def overview_map(result: Overview) -> maps.MapParts | None:
    """A commune: villages coloured by status and unmapped land. The city: communes coloured by
    their share of villages with a team (aggregated, light) and over them every village by its
    status, from vector tiles (portal.tiles) that the browser loads for the view it shows, so
    the page stays light at any zoom. Stored shapes; each village opens its page."""
    bounds = _bounds(result.communes)
    if bounds is None:
        return None
    if result.city:
        ids = [c.id for c in result.computed]
        return mapping.kept(
            ("city", tuple((c.id, c.name, c.computed_at) for c in result.computed)),
            lambda: city_map(bounds, db.session.execute(queries.outlines(ids)).all()),
        )
    commune = result.communes[0]
    names = tuple(db.session.scalars(queries.village_names(commune.id)))
    return mapping.kept(
        ("commune", commune.id, commune.computed_at, names),
        lambda: commune_map(
            bounds,
            db.session.execute(queries.village_statuses(commune.id)).all(),
            db.session.scalars(queries.unmapped_shapes(commune.id)).all(),
        ),
    )


def share_band(share: float) -> str:
    """The city map's band of a commune's share of villages with a team."""
    return next(key for key, low, _style in SHARE_BANDS if share >= low)


def legend(city: bool) -> list[tuple[str, list[tuple[str, str, dict]]]]:
    """What the map's colours mean, from the same styles the map draws with: groups of
    (heading, [(key, label, style)])."""
    # the city draws no unmapped land; zoomed in, it draws every village (covered ones too)
    keys = [k for k in STATUS_STYLES if k != "unmapped"] if city else list(STATUS_STYLES)
    villages = [(key, status_label(key), STATUS_STYLES[key]) for key in keys]
    if not city:
        return [(_("Thôn, tổ dân phố"), villages)]
    communes = [(key, status_label(key), style) for key, _low, style in SHARE_BANDS]
    return [
        (_("Xã, phường theo tỉ lệ thôn có tổ"), communes),
        (_("Thôn, tổ dân phố"), villages),
    ]


def _village(area_id: int, name: str, status: str, shape: dict) -> dict:
    # the tooltip names it; its popup says its status too and links its page
    more = {"state": status_label(status), "url": url_for("areas.show", area_id=area_id)}
    if status == "no_team":  # its next step, as on its row of the list
        more |= {"step_url": url_for("teams.new", village=area_id), "step": _("Lập tổ")}
    return _feature(shape, status, name, open=_("Mở địa bàn"), **more)


def city_map(bounds, outlines: list) -> maps.MapParts:
    """Communes coloured by their band of share of villages with a team ((id, name, outline,
    villages, villages with a team) each), and over them every village coloured by its status
    from the coverage tiles (a click opens its page; one without a team offers "Lập tổ")."""
    m = mapping.new_map(bounds)
    features = []
    for commune_id, name, outline, count, with_team in outlines:
        share = with_team / count if count else 0.0
        label = _("{name}: {p}% thôn có tổ", name=name, p=decimal(share * 100, 1))
        url = url_for("coverage.commune", commune_id=commune_id)
        features.append(_feature(outline, share_band(share), label, url=url, open=_("Xem phủ kín")))
    maps.add_status_layer(m, _collection(features), _("Xã, phường"), MAP_STYLES)
    add_village_tiles(m)
    return mapping.render(m, ("vectorgrid",))


def add_village_tiles(m) -> None:
    """Every village of the reader's scope by its stored status, from the coverage tiles."""
    maps.add_vector_tiles(
        m,
        mapping.tiles_url("coverage"),
        "coverage",
        STATUS_STYLES,
        "{name}",
        {key: status_label(key) for key in STATUS_STYLES},
        [
            maps.TileLink(mapping.url_pattern("areas.show", {"area_id": "{id}"}), _("Mở địa bàn")),
            maps.TileLink(
                mapping.url_pattern("teams.new", {"village": "{id}"}), _("Lập tổ"), ("no_team",)
            ),
        ],
    )


def commune_map(bounds, villages: list, unmapped: list) -> maps.MapParts:
    """Villages coloured by status ((id, name, status, shape) each) and unmapped land (shapes)."""
    m = mapping.new_map(bounds)
    features = [_village(*row) for row in villages]
    maps.add_status_layer(m, _collection(features), _("Thôn, tổ dân phố"), MAP_STYLES)
    land = _("Đất chưa thuộc thôn nào")
    pieces = [_feature(shape, "unmapped", land) for shape in unmapped]
    maps.add_status_layer(m, _collection(pieces), land, MAP_STYLES)
    return mapping.render(m)


def commune_villages(commune_id: int) -> str:
    """A commune's villages as the commune map draws them (GeoJSON, properties as map text):
    what the city map loads when zoomed in on a commune, so that the city page stays light."""
    require_planner()
    _figures(commune_id)  # out of the reader's scope: not found
    features = []
    for row in db.session.execute(queries.village_statuses(commune_id)):
        feature = _village(*row)
        properties = {k: maps.text(v) for k, v in feature["properties"].items()}
        features.append({**feature, "properties": properties})
    return json.dumps(_collection(features), ensure_ascii=False)


def _feature(shape: dict, status: str, label: str, **more: str) -> dict:
    properties = {"status": status, "label": label, **more}
    return {"type": "Feature", "geometry": shape, "properties": properties}


def _collection(features) -> dict:
    return {"type": "FeatureCollection", "features": features}


# --- downloads -----------------------------------------------------------------------------


def _download_scope(commune_id: int | None) -> tuple[list[CommuneFigures], dict[int, bool]]:
    require_planner()
    communes = _figures(commune_id)
    _follow(communes)
    return communes, {c.id: bool(c.refreshing or c.stale_since) for c in communes}


def _when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""


def problems_csv(commune_id: int | None = None) -> str:
    """The stored problems as CSV, with when each commune was computed and whether a refresh is
    on its way; names come from users, so every text cell is spreadsheet-safe."""
    communes, stale = _download_scope(commune_id)
    computed = {c.id: c.computed_at for c in communes if c.computed}
    header = [
        "kind",
        "commune",
        "what",
        "population",
        "area_m2",
        "west",
        "south",
        "east",
        "north",
        "computed_at",
        "stale",
    ]
    rows = (Problem(**row._mapping) for row in db.session.execute(queries.problems(list(computed))))
    return csv_text(
        header,
        (
            [
                p.kind,
                p.commune,
                p.label,
                p.population or "",
                round(p.area_m2, 1) if p.area_m2 is not None else "",
                *[round(v, 6) for v in p.bounds],
                _when(computed[p.commune_id]),
                "yes" if stale[p.commune_id] else "",
            ]
            for p in rows
        ),
    )


def gaps_geojson(commune_id: int | None = None) -> str:
    """Stored unmapped land as GeoJSON (RFC 7946: counter-clockwise, 6 decimals), with when each
    commune was computed and whether a refresh is on its way."""
    communes, stale = _download_scope(commune_id)
    ids = [c.id for c in communes if c.computed]
    features = [
        {
            "type": "Feature",
            "properties": {
                "commune": name,
                "commune_code": code,
                "area_m2": round(area, 1),
                "computed_at": _when(computed_at),
                "stale": stale[of],
            },
            "geometry": json.loads(
                shapely.to_geojson(
                    shapely.orient_polygons(shapely.set_precision(wkb.loads(geom), 1e-6))
                )
            ),
        }
        for of, name, code, area, geom, computed_at in db.session.execute(queries.gaps(ids))
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
