"""The layers of the OGC API: which view each reads, its fields, and who may read it.

Plain data, no database (titles and descriptions only marked for the catalogue, translated per
request): the provider, the pygeoapi configuration and the tests all read the same definitions.
The fields listed are exactly the view's columns less the geometry; a public view holds nothing
else (migration 0017).
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.i18n import N_

# pygeoapi's field types (JSON Schema's)
STRING, INTEGER, NUMBER, BOOLEAN, DATE, DATETIME = (
    "string",
    "integer",
    "number",
    "boolean",
    "date",
    "date-time",
)


@dataclass(frozen=True)
class Collection:
    id: str
    view: str
    title: str  # Vietnamese; translated per request
    description: str
    fields: dict[str, str]
    staff: bool = False
    # a condition on indexed columns that holds for every feature in the box (w, s, e, n
    # bound as :w :s :e :n), for views whose geometry is computed: the box is then found on
    # the areas' GiST index before the exact test on the computed geometry
    bbox_hint: str | None = None
    order: tuple[str, ...] = ("id",)
    id_type: str = INTEGER
    # a page's ids first, then its rows (portal.ogc.queries.items): for views with costly
    # columns per row; not where the id is computed (it has no index to find the page by)
    page_by_id: bool = True
    # the view's geometry is a point on the surface of the area this column names (made by the
    # view per row): a page's rows are then chosen without it and their points made after, so
    # that an OFFSET does not make one for every row it skips (portal.ogc.queries.items)
    point_in: str | None = None


AREA = {"id": INTEGER, "code": STRING, "name": STRING, "kind": STRING}
POLICE = {"police_name": STRING, "police_phone": STRING, "police_address": STRING}

COLLECTIONS: dict[str, Collection] = {
    c.id: c
    for c in (
        Collection(
            "provinces",
            "ogc_provinces",
            N_("Tỉnh, thành phố"),
            N_("Tỉnh, thành phố hiện hành, với ranh giới."),
            dict(AREA),
        ),
        Collection(
            "communes",
            "ogc_communes",
            N_("Xã, phường"),
            N_("Xã, phường, đặc khu hiện hành, với ranh giới và liên hệ công an xã."),
            {**AREA, "province": STRING, **POLICE},
        ),
        Collection(
            "villages",
            "ogc_villages",
            N_("Thôn, tổ dân phố"),
            N_(
                "Thôn, tổ dân phố hiện hành, với tổ bảo vệ an ninh, trật tự phụ trách và liên hệ"
                " công khai như trang tra cứu."
            ),
            {
                **AREA,
                "commune_id": INTEGER,
                "commune": STRING,
                "province": STRING,
                "team_name": STRING,
                "team_phone": STRING,
                "leader_name": STRING,
                "leader_phone": STRING,
                "deputy_contacts": STRING,  # "name (phone); …"
                **POLICE,
            },
        ),
        Collection(
            "village_months",
            "ogc_village_months",
            N_("Tuần tra và tin báo theo thôn, tháng"),
            N_(
                "Số lượt tuần tra, vi phạm phát hiện, tin báo và sự việc của mỗi thôn, tổ dân phố"
                " theo tháng; vị trí là một điểm trong thôn (ranh giới ở lớp thôn, tổ dân phố)."
            ),
            {
                "id": STRING,
                "village_id": INTEGER,
                "village": STRING,
                "commune_id": INTEGER,
                "commune": STRING,
                "month": STRING,
                "patrols": INTEGER,
                "violations": INTEGER,
                "incidents": INTEGER,
                "tips": INTEGER,
                "fires": INTEGER,
                "rescues": INTEGER,
            },
            bbox_hint=(
                "village_id IN (SELECT id FROM areas WHERE geom && "
                "ST_MakeEnvelope(:w, :s, :e, :n, 4326))"
            ),
            order=("village_id", "month"),
            id_type=STRING,
            page_by_id=False,
            point_in="village_id",
        ),
        Collection(
            "coverage",
            "ogc_coverage",
            N_("Phủ kín theo thôn"),
            N_("Tình trạng phủ kín của mỗi thôn, tổ dân phố (lần tính gần nhất) và tổ phụ trách."),
            {
                **AREA,
                "commune_id": INTEGER,
                "commune": STRING,
                "team_id": INTEGER,
                "team_name": STRING,
                "status": STRING,
                "computed_at": DATETIME,
                "stale": BOOLEAN,
                "population": INTEGER,
            },
            staff=True,
        ),
        Collection(
            "teams",
            "ogc_teams",
            N_("Tổ bảo vệ an ninh, trật tự"),
            N_(
                "Các tổ đang hoạt động, số thành viên và quy định về quân số; hình là các thôn tổ"
                " phụ trách."
            ),
            {
                "id": INTEGER,
                "team_id": INTEGER,
                "name": STRING,
                "phone": STRING,
                "commune_id": INTEGER,
                "commune": STRING,
                "established_on": DATE,
                "members": INTEGER,
                "leaders": INTEGER,
                "deputies": INTEGER,
                "min_members": INTEGER,
                "max_members": INTEGER,
                "villages": INTEGER,
            },
            staff=True,
            bbox_hint=(
                "id IN (SELECT ta.team_id FROM team_areas ta JOIN areas a ON a.id = ta.area_id"
                " WHERE a.geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326))"
            ),
        ),
        Collection(
            "routes",
            "ogc_routes",
            N_("Tuyến tuần tra"),
            N_("Tuyến tuần tra đang dùng của các tổ (bản vẽ hiện hành)."),
            {
                "id": INTEGER,
                "name": STRING,
                "team_id": INTEGER,
                "team_name": STRING,
                "commune_id": INTEGER,
                "commune": STRING,
                "version": INTEGER,
                "length_m": NUMBER,
            },
            staff=True,
        ),
    )
}

PUBLIC = tuple(c.id for c in COLLECTIONS.values() if not c.staff)
STAFF = tuple(c.id for c in COLLECTIONS.values() if c.staff)
