"""The citizens' look-up: a point, a name or a choice from lists, answered with a card.

A card holds only what the law has posted publicly: the team, its leader's and deputies'
names and phones, and the commune police's contact.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, replace

from flask import current_app

from geo.maps import MapParts
from portal.errors import BadParameter, NotFound
from portal.extensions import db
from portal.i18n import _, current_language
from portal.lookup import index as lookup_index
from portal.lookup import maps, queries
from portal.lookup.cache import TimedCache
from portal.models import Level, Role
from portal.pagination import Page, paginate
from portal.streets import services as streets
from portal.text import search_text, search_words, vietnamese_key, without_kind

VILLAGES_PER_PAGE = 100
OUTLINE_TOLERANCE = 0.00003  # about 3 m: invisible on a phone, keeps the card light
EMERGENCY = "113"
VNEID_URL = "https://vneid.gov.vn/"


class OutsideEveryArea(NotFound):
    pass


@dataclass(frozen=True)
class Place:
    id: int
    level: str
    kind: str
    code: str | None
    name: str


@dataclass(frozen=True)
class Person:
    name: str
    phone: str | None


@dataclass
class TeamCard:
    name: str
    phone: str | None
    leader: Person | None = None
    deputies: list[Person] = field(default_factory=list)


@dataclass(frozen=True)
class Police:
    name: str
    phone: str | None
    address: str | None


@dataclass
class Card:
    """What a citizen sees for a place: the area found or chosen and who keeps it safe."""

    area: Place
    village: Place | None
    commune: Place | None
    province: Place | None
    team: TeamCard | None
    police: Police | None
    outline: dict | None = None  # GeoJSON geometry, for the map
    border_with: list[Place] = field(default_factory=list)
    # the areas beside it, for the map: JSON text of [{"id", "name", "outline"}] (neighbours())
    neighbours: str = ""
    point: tuple[float, float] | None = None  # (lat, lon) looked up

    @property
    def covered(self) -> bool:
        return self.team is not None


def phone_text(phone: str) -> str:
    """Digits grouped as Vietnamese write them: 0912 345 678, 024 3825 1234."""
    if len(phone) == 10:
        return f"{phone[:4]} {phone[4:7]} {phone[7:]}"
    if len(phone) == 11:
        return f"{phone[:3]} {phone[3:7]} {phone[7:]}"
    return phone


# --- parsing -------------------------------------------------------------------------------


def coordinate(name: str, value: str | None, limit: float) -> float:
    """A latitude or longitude from the query string, or BadParameter naming it."""
    if value is None or not value.strip():
        raise BadParameter(name, _("Thiếu tham số {name}.", name=name))
    try:
        number = float(value)
    except ValueError:
        raise BadParameter(
            name, _("Tham số {name} phải là một số thập phân, ví dụ 21.0368.", name=name)
        ) from None
    if not math.isfinite(number) or abs(number) > limit:
        raise BadParameter(
            name,
            _(
                "Tham số {name} phải nằm trong khoảng -{limit} đến {limit}.",
                name=name,
                limit=int(limit),
            ),
        )
    return number


def point_args(args) -> tuple[float, float]:
    """(lat, lon) from request arguments; lat is checked first."""
    return coordinate("lat", args.get("lat"), 90), coordinate("lon", args.get("lon"), 180)


# --- look-ups ------------------------------------------------------------------------------


cards = TimedCache()


def at_point(lat: float, lon: float, *, with_outline: bool = True) -> Card:
    """The card of the deepest current area at the point; OutsideEveryArea when there is none.

    With the worker's index (portal.lookup.index, LOOKUP_INDEX) the areas come from memory
    and the cards are kept until the data they show changes; without it, or while the index
    is being built, from the database.
    """
    index = lookup_index.current()
    points = index.current_points() if index is not None else None
    if points is not None:
        hits = points.areas_at(lon, lat)
    else:
        _plan_once()
        hits = db.session.execute(queries.areas_at(lon, lat)).all()
    if not hits:
        raise OutsideEveryArea(
            _(
                "Không có địa bàn nào trong dữ liệu tại điểm ({lat}, {lon}).",
                lat=format(lat, ".6f"),  # no f-string in _(): pybabel extract warns
                lon=format(lon, ".6f"),
            )
        )
    found = hits[0]
    # a point on a shared border belongs to each neighbour: we answer with one, name the others
    border_with = [
        Place(h.id, h.level, "", None, h.name) for h in hits[1:] if h.level == found.level
    ]
    key = (found.id, with_outline, current_language())  # the police's name is translated
    if index is not None:
        card = index.kept_card(key, lambda: _planned_card(found.id, with_outline))
    else:
        card = cards.get(key, lambda: _card(found.id, with_outline))
    return replace(card, border_with=border_with, point=(lat, lon))  # the kept card unchanged


def api_body(card: Card, lat: float, lon: float, body_of) -> bytes | None:
    """/api/lookup's body kept pre-rendered by the worker's index, when it may be."""
    index = lookup_index.of(current_app)
    if index is None or current_language() != "vi":
        return None
    return lookup_index.api_body(index, card, lat, lon, body_of)


def card_fragment(card: Card, lat: float, lon: float) -> bytes | None:
    """The card fragment kept pre-rendered by the worker's index, when it may be."""
    index = lookup_index.of(current_app)
    if index is None or current_language() != "vi":
        return None
    return lookup_index.card_body(index, card, lat, lon)


def for_area(area_id: int) -> Card:
    """The card of a current area (its shareable page); NotFound otherwise."""
    key = (area_id, True, current_language())
    index = lookup_index.current()
    if index is not None:  # kept until the data changes, as at_point's
        return index.kept_card(key, lambda: _planned_card(area_id, with_outline=True))
    _plan_once()
    return cards.get(key, lambda: _card(area_id, with_outline=True))


def _plan_once() -> None:
    """Let each of the look-up's prepared statements keep one plan instead of re-planning it.

    PostgreSQL re-plans a prepared statement while a plan for the actual point looks cheaper
    than a generic one, which it always does for a point: planning then costs more than running
    (0.4 ms against 0.2 for the parts query, 1.0 against 0.4 for the card). The generic plans
    use the same indexes. SET LOCAL ends with this request's transaction.
    """
    db.session.execute(queries.SET_GENERIC_PLANS)


def _planned_card(area_id: int, with_outline: bool) -> Card:
    _plan_once()
    return _card(area_id, with_outline)


def _card(area_id: int, with_outline: bool) -> Card:
    tolerance = OUTLINE_TOLERANCE if with_outline else None
    row = db.session.execute(queries.chain(area_id, tolerance)).one_or_none()
    if row is None or row.valid_to is not None:
        raise NotFound(
            _("Không tìm thấy địa bàn số {id}, hoặc địa bàn đã hết hiệu lực.", id=area_id)
        )
    chain = [
        Place(row.id, row.level, row.kind, row.code, row.name),
        _place(row, "parent_"),
        _place(row, "grand_"),
    ]
    by_level = {p.level: p for p in chain if p is not None}
    commune = by_level.get(Level.COMMUNE.value)
    card = Card(
        area=chain[0],
        village=by_level.get(Level.VILLAGE.value),
        commune=commune,
        province=by_level.get(Level.PROVINCE.value),
        team=_team(row.team) if chain[0].level == Level.VILLAGE.value else None,
        police=_police(row, commune),
        outline=json.loads(row.outline) if row.outline else None,
    )
    if with_outline and row.outline and card.area.level != Level.PROVINCE.value:
        card.neighbours = neighbours(card.area.id, row.parent_id)
    return card


def neighbours(area_id: int, parent_id: int | None) -> str:
    """The areas beside one, named with their commune when it is another one, as the JSON text
    of a list of {"id", "name", "outline"} ("" when none). Kept as text, not parsed: each worker
    keeps thousands of cards for anyone who asks, and parsed outlines weigh six times more."""
    rows = db.session.execute(queries.neighbours(area_id, OUTLINE_TOLERANCE))
    items = []
    for id_, name, their_parent, parent, outline in rows:
        if not outline:
            continue
        shown = name if their_parent == parent_id or not parent else f"{name}, {parent}"
        # the outline is the database's GeoJSON: valid JSON as it is, not parsed again
        items.append(f'{{"id":{int(id_)},"name":{json.dumps(shown)},"outline":{outline}}}')
    if not items:
        return ""
    # as Jinja's tojson: no <, >, & or ' left to end an element or an attribute
    text = "[" + ",".join(items) + "]"
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("'", "\\u0027")):
        text = text.replace(char, escaped)
    return text


def _place(row, prefix: str) -> Place | None:
    if getattr(row, f"{prefix}id") is None:
        return None
    return Place(*(getattr(row, f"{prefix}{k}") for k in ("id", "level", "kind", "code", "name")))


def _police(row, commune: Place | None) -> Police | None:
    """The commune police's recorded contact; named after the commune when none is recorded."""
    if commune is None:
        return None
    if row.police_name:
        return Police(row.police_name, row.police_phone, row.police_address)
    return Police(police_name_of(commune.name), None, None)


def police_name_of(commune_name: str) -> str:
    """ "Phường Ba Đình" -> "Công an phường Ba Đình"."""
    return _("Công an {commune}", commune=commune_name[:1].lower() + commune_name[1:])


def _team(team: dict | None) -> TeamCard | None:
    if team is None:
        return None
    card = TeamCard(team["name"], team["phone"])
    for person in team["people"] or ():
        if person["role"] == Role.LEADER.value:
            card.leader = Person(person["name"], person["phone"])
        else:
            card.deputies.append(Person(person["name"], person["phone"]))
    return card


# --- names and lists -----------------------------------------------------------------------


def search(text: str, page: int = 1) -> Page | None:
    """Communes and villages by name, ignoring diacritics; None when the text is too short."""
    if search_text(text) is None:
        return None
    found = paginate(queries.search(search_words(text)), page, rows=True)
    found.notes["streets"] = streets.search(text) if page == 1 else []  # issue 14: streets
    return found


@dataclass(frozen=True)
class Choice:
    id: int
    name: str
    kind: str
    own_name: str  # without its kind: what a citizen looks for ("Ba Đình" under B)


@dataclass
class Lists:
    """The lists a citizen chooses from: provinces (when several), the chosen one's communes
    and the chosen commune's villages, each in Vietnamese alphabetical order, the choice kept."""

    provinces: list[Choice]
    communes: list[Choice]
    province_id: int | None
    commune_id: int | None = None
    villages: list[Choice] = field(default_factory=list)
    village_id: int | None = None


def in_order(rows) -> list[Choice]:
    """Rows (id, name, kind) as choices, by their own names in Vietnamese order."""
    choices = [Choice(r.id, r.name, r.kind, without_kind(r.name)) for r in rows]
    return sorted(choices, key=lambda c: (vietnamese_key(c.own_name), vietnamese_key(c.name)))


def lists(card: Card | None = None, province_id: int | None = None) -> Lists:
    """The lists, with the card's province, commune and village chosen in them."""
    if card is not None and card.province is not None:
        province_id = card.province.id
    provinces = in_order(db.session.execute(queries.provinces()).all())
    if province_id is None and len(provinces) == 1:
        province_id = provinces[0].id
    chosen = Lists(provinces, [], province_id)
    if province_id is not None:
        chosen.communes = in_order(db.session.execute(queries.children(province_id)).all())
    if card is not None and card.commune is not None:
        chosen.commune_id = card.commune.id
        chosen.villages = in_order(db.session.execute(queries.children(card.commune.id)).all())
        chosen.village_id = card.village.id if card.village else None
    return chosen


def chosen(province_id: int | None, commune_id: int | None, village_id: int | None) -> int | None:
    """The deepest choice that belongs to the one above it: a village kept from an earlier
    commune is dropped when the commune is changed (the form sends both)."""
    if (
        village_id is not None
        and commune_id is not None
        and db.session.scalar(queries.parent_of(village_id)) == commune_id
    ):
        return village_id
    return commune_id or village_id or province_id


def children(area_id: int, page: int = 1) -> Page:
    return paginate(queries.children(area_id), page, VILLAGES_PER_PAGE, rows=True)


# --- pages -------------------------------------------------------------------------------


@dataclass
class StartPage:
    q: str
    results: Page | None
    lists: Lists
    map: MapParts | None


def start_page(q: str, page: int, province_id: int | None) -> StartPage:
    return StartPage(
        q, search(q, page) if q else None, lists(province_id=province_id), maps.overview()
    )


@dataclass
class CardPage:
    card: Card
    villages: Page | None  # a commune's villages, a province's communes
    lists: Lists
    map: MapParts | None


def card_page(card: Card, page: int = 1) -> CardPage:
    below = None if card.area.level == Level.VILLAGE.value else children(card.area.id, page)
    return CardPage(card, below, lists(card), maps.for_card(card))


# --- JSON ----------------------------------------------------------------------------------


def card_json(card: Card, url_for_area) -> dict:
    """The card as the API's JSON: the public fields only, and each area's shareable URL."""

    def place(p: Place | None) -> dict | None:
        if p is None:
            return None
        return {"id": p.id, "name": p.name, "code": p.code, "url": url_for_area(p.id)}

    def person(p: Person | None) -> dict | None:
        return None if p is None else {"name": p.name, "phone": p.phone}

    team = None
    if card.team:
        team = {
            "name": card.team.name,
            "phone": card.team.phone,
            "leader": person(card.team.leader),
            "deputies": [person(d) for d in card.team.deputies],
        }
    police = None
    if card.police:
        police = {
            "name": card.police.name,
            "phone": card.police.phone,
            "address": card.police.address,
        }
    body = {
        "area": {**place(card.area), "level": card.area.level, "kind": card.area.kind},
        "village": place(card.village),
        "commune": place(card.commune),
        "province": place(card.province),
        "covered": card.covered,
        "team": team,
        "police": police,
        "border_with": [place(p) for p in card.border_with],
        "report": {"emergency_phone": EMERGENCY, "vneid": VNEID_URL},
    }
    if card.point:
        body["point"] = {"lat": card.point[0], "lon": card.point[1]}
    return body
