"""The review's map: a figure the user chooses, by commune for the city and by village for a
commune or a team, in five classes, with the same values in a table under it.

The city's communes take their figures from the review's units (what its table by commune
shows); villages are counted here (portal.review.queries.village_patrols, village_incidents)
by the review's rules. Shapes are those coverage stored, simplified at the map's scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import shapely

from geo import maps
from portal import mapping
from portal.errors import BadParameter, FormInvalid
from portal.extensions import db
from portal.i18n import _, thousands
from portal.incidents.filters import today
from portal.review import queries, services
from portal.review.periods import Period
from portal.review.queries import Place
from portal.review.services import Figures
from portal.text import vietnamese_key

# what each level can be coloured by: a village has no members nor a share of villages
CITY_FIGURES = (
    "patrols",
    "violations",
    "tips",
    "valuable",
    "fire",
    "rescue",
    "coverage",
    "patrols_per_member",
)
VILLAGE_FIGURES = ("patrols", "violations", "tips", "valuable", "fire", "rescue")
DEFAULT_FIGURE = "patrols"
DECIMAL_FIGURES = {"coverage", "patrols_per_member"}  # the others are counts
CLASSES = 5
# ColorBrewer's YlGnBu in five classes: sequential (light = few), readable by the colour-blind
RAMP = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
STYLES = {
    f"c{i}": {"color": "#495057", "weight": 1, "fillColor": colour, "fillOpacity": 0.75}
    for i, colour in enumerate(RAMP)
}
# an area without a value (a commune without villages has no share): pale, dashed outline
STYLES["none"] = {
    "color": "#6c757d",
    "weight": 1,
    "dashArray": "4 3",
    "fillColor": "#f1f3f5",
    "fillOpacity": 0.5,
}


def figure_label(key: str) -> str:
    if key == "patrols_per_member":
        return _("Lượt tuần tra mỗi thành viên")
    return services.figure_label(key)


def format_value(key: str, value) -> str:
    if key == "patrols_per_member" and value is not None:
        return services.decimal(value)
    return services.format_figure(key, value)


@dataclass
class MapRow:
    """One area of the map with its value and its class (c0…c4, or none)."""

    id: int
    name: str
    value: float | None
    text: str
    klass: str


@dataclass
class MapClass:
    key: str
    label: str
    style: dict
    count: int = 0


@dataclass
class MapSection:
    figure: str
    choices: list[tuple[str, str]]
    level: str  # commune (the city's map) or village
    args: dict  # the place's and period's arguments, for the figure's form
    rows: list[MapRow] = field(default_factory=list)  # highest value first
    classes: list[MapClass] = field(default_factory=list)
    map: maps.MapParts | None = None

    @property
    def figure_label(self) -> str:
        return figure_label(self.figure)

    @property
    def area_heading(self) -> str:
        return _("Xã, phường") if self.level == "commune" else _("Thôn, tổ dân phố")

    @property
    def table_summary(self) -> str:
        """The table's disclosure, its count with the areas' name (a plural in English)."""
        n = thousands(len(self.rows))
        if self.level == "commune":
            return _("Bảng số liệu của bản đồ ({n} xã, phường)", n=n)
        return _("Bảng số liệu của bản đồ ({n} thôn, tổ dân phố)", n=n)


# --- classes -----------------------------------------------------------------------------------


def breaks(values: list[float], places: int = 0) -> list[float]:
    """The upper bounds of at most five classes holding about as many areas each (quantiles,
    rounded to `places` decimals). Equal bounds merge: when most areas share a value (every
    village covered), the quantiles of the distinct values keep five classes if there are."""
    uppers = _quantiles(sorted(values), places)
    distinct = sorted({round(v, places) for v in values})
    if len(uppers) < min(CLASSES, len(distinct)):
        uppers = _quantiles(distinct, places)
    return uppers


def _quantiles(ordered: list[float], places: int) -> list[float]:
    uppers: list[float] = []
    for i in range(1, CLASSES + 1):
        bound = round(ordered[math.ceil(i * len(ordered) / CLASSES) - 1], places) if ordered else 0
        if not uppers or bound > uppers[-1]:
            uppers.append(bound)
    if ordered:
        uppers[-1] = max(uppers[-1], ordered[-1])  # rounding must not leave the largest out
    return uppers if ordered else []


def class_keys(count: int) -> list[str]:
    """The ramp's colours for `count` classes, spread over it: three classes are light, middle
    and dark, not the three lightest."""
    if count <= 1:
        return ["c2"][:count]
    return [f"c{round(i * (CLASSES - 1) / (count - 1))}" for i in range(count)]


def class_of(value: float | None, uppers: list[float]) -> str:
    if value is None or not uppers:
        return "none"
    index = next((i for i, u in enumerate(uppers) if value <= u), len(uppers) - 1)
    return class_keys(len(uppers))[index]


def _class_labels(key: str, uppers: list[float], lowest: float) -> list[str]:
    """Each class's range as the legend reads it: "3 – 7" for counts, "> 2,5 – 4,0" else."""
    labels = []
    for i, upper in enumerate(uppers):
        if key in DECIMAL_FIGURES:
            low = format_value(key, lowest if i == 0 else uppers[i - 1])
            prefix = "" if i == 0 else "> "
            labels.append(f"{prefix}{low} – {format_value(key, upper)}")
        else:
            low = int(lowest) if i == 0 else int(uppers[i - 1]) + 1
            high = int(upper)
            labels.append(
                format_value(key, high)
                if low == high
                else f"{format_value(key, low)} – {format_value(key, high)}"
            )
    return labels


def _classify(key: str, areas: list[tuple[int, str, float | None]]):
    """Rows (highest value first, then by name) and the legend's classes."""
    values = [v for _i, _n, v in areas if v is not None]
    uppers = breaks(values, 1 if key in DECIMAL_FIGURES else 0)
    rows = [MapRow(i, n, v, format_value(key, v), class_of(v, uppers)) for i, n, v in areas]
    rows.sort(key=lambda r: (r.value is None, -(r.value or 0), vietnamese_key(r.name)))
    labels = _class_labels(key, uppers, min(values)) if values else []
    keys = class_keys(len(labels))
    classes = [MapClass(k, label, STYLES[k]) for k, label in zip(keys, labels, strict=True)]
    if any(r.value is None for r in rows):
        classes.append(MapClass("none", _("Không có số liệu"), STYLES["none"]))
    counts = {c.key: 0 for c in classes}
    for r in rows:
        counts[r.klass] += 1
    for c in classes:
        c.count = counts[c.key]
    return rows, classes


# --- values ------------------------------------------------------------------------------------


def _commune_values(key: str, units: dict[int, Figures], names: dict[int, str]):
    return [(i, name, units.get(i, Figures()).value(key)) for i, name in names.items()]


def village_figures(period: Period, place: Place) -> dict[int, Figures]:
    """Patrols, violations, tips, valuable tips, fires and rescues per village of the place's
    commune over the period."""
    found: dict[int, Figures] = {}
    for row in db.session.execute(queries.village_patrols(period, place.commune_id)):
        f = found.setdefault(row.area_id, Figures())
        f.patrols, f.violations = int(row.patrols or 0), int(row.violations or 0)
    for row in db.session.execute(queries.village_incidents(period, place.commune_id)):
        f = found.setdefault(row.area_id, Figures())
        f.tips, f.valuable, f.fire, f.rescue = row.tips, row.valuable, row.fire, row.rescue
    return found


# --- the section -------------------------------------------------------------------------------


def _figure(asked: str | None, level: str) -> str:
    if asked and asked not in CITY_FIGURES:
        raise BadParameter("figure", _("Không có số liệu này cho bản đồ."))
    # a figure the city has but a village has not (a commune chosen after it): the default
    allowed = CITY_FIGURES if level == "commune" else VILLAGE_FIGURES
    return asked if asked in allowed else DEFAULT_FIGURE


def section(
    period: Period, place: Place, asked: str | None, units: dict[int, Figures] | None = None
) -> MapSection:
    """The map of the figure asked for; the city's `units` are the review's figures by commune
    (computed here when not given)."""
    level = "commune" if place.level == "city" else "village"
    key = _figure(asked, level)
    args = {"commune": place.commune_id, "team": place.team_id, **period.args()}
    args = {k: v for k, v in args.items() if v is not None}
    if level == "commune":
        if units is None:
            units = services.compute(period, place)[1]
        ids = [i for i in units if i is not None]
        shapes = queries.map_communes(ids, shapes=False)
        names = {r.id: (r.name, r.shape) for r in db.session.execute(shapes)}
        values = _commune_values(key, units, {i: n for i, (n, _s) in names.items()})
        outlines = lambda: queries.map_communes(ids)  # noqa: E731
        choices = CITY_FIGURES
    else:
        day = min(period.last, today())
        names = {
            r.id: (r.name, r.shape)
            for r in db.session.execute(queries.map_villages(day, place, shapes=False))
        }
        found = village_figures(period, place)
        values = [(i, n, found.get(i, Figures()).value(key)) for i, (n, _s) in names.items()]
        outlines = lambda: queries.map_villages(day, place)  # noqa: E731
        choices = VILLAGE_FIGURES
    rows, classes = _classify(key, values)
    result = MapSection(key, [(k, figure_label(k)) for k in choices], level, args, rows, classes)

    def draw() -> maps.MapParts | None:
        return _draw(result, {r.id: r.shape for r in db.session.execute(outlines())})

    # the same areas in the same classes with the same labels, outlined as when they last
    # changed (a boundary edit, a coverage refresh), draw the same map: kept by what it shows
    what = tuple((r.id, r.klass, r.name, r.text, names[r.id][1]) for r in rows)
    result.map = mapping.kept(("review", key, what), draw)
    return result


def _draw(result: MapSection, shapes: dict[int, dict]) -> maps.MapParts | None:
    """The areas coloured by class; each names itself and its value on hover or tap."""
    drawn = [r for r in result.rows if shapes.get(r.id)]
    if not drawn:
        return None
    boxes = [shapely.geometry.shape(shapes[r.id]).bounds for r in drawn]
    bounds = (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
    m = mapping.new_map(bounds)
    label = result.figure_label
    features = [
        {
            "type": "Feature",
            "geometry": shapes[r.id],
            # geo.maps escapes every property once (add_status_layer): names stay literal
            "properties": {"status": r.klass, "label": f"{r.name} · {label}: {r.text}"},
        }
        for r in drawn
    ]
    collection = {"type": "FeatureCollection", "features": features}
    # the tooltip alone: Leaflet opens it on a tap too, and a popup would say it twice
    maps.add_status_layer(m, collection, label, STYLES)
    return mapping.render(m)


def for_page(page: services.ReviewPage, asked: str | None) -> MapSection | None:
    """The page's map, from the review it shows (the city's communes from its units)."""
    review = page.review
    if review is None:
        return None
    units = {u.id: u.figures for u in review.units if u.id is not None}
    return section(
        review.period, review.place, asked, units if review.place.level == "city" else None
    )


def fragment(args, commune_id: int | None, team_id: int | None) -> MapSection | None:
    """The map alone, for another figure: the place within the account's scope, the period
    from the same arguments as the page (none when the period is wrong: the page says why)."""
    place = services.place_for(commune_id, team_id)
    try:
        period = services.parse_period(args)
    except FormInvalid:
        return None
    return section(period, place, args.get("figure"))


def assets() -> tuple[list[str], list[str]]:
    """The stylesheets and scripts a review map needs, for the page to load once (a map can
    arrive later through HTMX, which runs no scripts of its own)."""
    parts = mapping.render(mapping.new_map((105.3, 20.6, 106.0, 21.4)))
    return parts.css, parts.js
