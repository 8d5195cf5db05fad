"""Fast pages (issue 11): an upload's dry run kept as rows and read a page or a view at a time,
lists that read no shapes, compressed responses, fingerprinted assets, and an indicator for
every HTMX request."""

from __future__ import annotations

import gzip
import json
import os
import re
from html.parser import HTMLParser
from typing import ClassVar

import brotli
import pytest
import shapely
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import MultiPolygon, Point, box
from sqlalchemy import event, select

from geo.checks import SpatialIssue
from geo.features import Feature, Problem
from geo.partition import as_multipolygon
from portal.boundaries import batches, planning
from portal.compression import masked_csrf_token, unmask
from portal.extensions import db
from portal.models import Account, Area, AreaShape, ImportBatch, Level, Team
from tests.conftest import csrf_token, signed_in

HX = {"HX-Request": "true"}


def square(x: float, y: float, size: float = 0.001) -> MultiPolygon:
    return MultiPolygon([box(x, y, x + size, y + size)])


def item(index, geom, *, action="create", kind="to_dan_pho", repaired=None, code=None):
    code = code or f"T-{index}"
    feature = Feature(index, code, f"Tổ dân phố {index}", None, {}, geom, repaired)
    return planning.PlannedFeature(feature, kind, None, action, None)


def a_plan() -> planning.Plan:
    """Four features: clean, warned, invalid with a repair, and one without a kind; an error,
    two warnings (one on the file), and a note."""
    items = [
        item(1, square(105.80, 21.00)),
        item(2, square(105.81, 21.00), action="update"),
        item(3, None, repaired=square(105.82, 21.00), action="blocked"),
        item(4, square(105.90, 21.10), kind=None, action="unchanged"),
    ]
    problems = [
        Problem(3, "T-3", "invalid_geometry", "Self-intersection", (105.005, 21.005), True),
    ]
    warnings = [
        SpatialIssue(
            0, "gap", 1234.5, (105.8055, 21.0002), shape=box(105.805, 21.0, 105.806, 21.0005)
        ),
        SpatialIssue(
            2, "overlap", 55.25, (105.8105, 21.0005), "Tổ dân phố 1", Point(1, 1).buffer(1)
        ),
    ]
    notes = [{"kind": "layers", "layers": ["a", "b"], "chosen": "a"}]
    return planning.Plan(Level.VILLAGE, "WGS 84", items, problems, warnings, notes)


def new_batch(session, plan, *, parent_id=None, username="quantri") -> ImportBatch:
    batch = ImportBatch(
        created_by=session.scalar(select(Account.id).where(Account.username == username)),
        filename="t.geojson",
        level=plan.level.value,
        parent_id=parent_id,
        source_crs=plan.source_crs,
        status="draft",
    )
    session.add(batch)
    batches.save_plan(batch, plan)
    session.commit()
    return batch


def test_a_plan_saved_as_rows_loads_back_the_same(demo):
    plan = a_plan()
    batch = new_batch(demo, plan)
    loaded = batches.load_plan(batch)
    assert loaded.level == plan.level and loaded.source_crs == plan.source_crs
    assert [(i.kind, i.parent_id, i.action, i.area_id) for i in loaded.items] == [
        (i.kind, i.parent_id, i.action, i.area_id) for i in plan.items
    ]
    for got, want in zip(loaded.items, plan.items, strict=True):
        g, w = got.feature, want.feature
        assert (g.index, g.code, g.name, g.name_en) == (w.index, w.code, w.name, w.name_en)
        for a, b in ((g.geometry, w.geometry), (g.repaired, w.repaired)):
            assert (a is None and b is None) or a.equals_exact(b, 0)
    assert loaded.problems == plan.problems
    assert [(w.index, w.kind, w.area_m2, w.where, w.other) for w in loaded.warnings] == [
        (w.index, w.kind, w.area_m2, w.where, w.other) for w in plan.warnings
    ]
    for got, want in zip(loaded.warnings, plan.warnings, strict=True):
        assert got.shape.equals_exact(want.shape, 0)
    assert loaded.notes == plan.notes
    # the counts the page shows, kept on the batch row
    assert (batch.feature_count, batch.creates, batch.updates, batch.unchanged) == (4, 1, 1, 1)
    assert (batch.blocked, batch.error_count, batch.warning_count) == (1, 1, 2)
    assert batch.usable == len(plan.writable(repairs=True, clean_only=False)) == 3
    assert batch.clean == len(plan.writable(repairs=False, clean_only=True)) == 1
    assert batches.counts(batch) == {"create": 1, "update": 1, "unchanged": 1, "blocked": 1}
    assert batches.bounds(batch) == pytest.approx((105.80, 21.00, 105.901, 21.101))
    assert batches.notes(batch) == [planning.describe_note(plan.notes[0])]


def test_problems_come_a_page_at_a_time_errors_first(demo):
    items = [item(i, square(105.8 + i * 0.002, 21.0)) for i in range(1, 81)]
    problems = [Problem(i, f"T-{i}", "missing_name") for i in range(41, 81)]
    warnings = [SpatialIssue(i, "overlap", 10.0, (105.8, 21.0), "x") for i in range(1, 71)]
    warnings.append(SpatialIssue(0, "gap", 500.0, (105.8, 21.0)))
    plan = planning.Plan(Level.VILLAGE, "WGS 84", items, problems, warnings)
    batch = new_batch(demo, plan)
    first = batches.problems_page(batch, 1)
    assert first.total == 111 and len(first.items) == 50
    assert [r.severity for r in first.items[:40]] == ["error"] * 40
    assert [r.index for r in first.items[:3]] == [41, 42, 43]
    assert first.items[40].severity == "warning" and first.items[40].index == 1
    assert first.items[0].name == "Tổ dân phố 41"
    assert first.items[0].text.startswith("Đối tượng #41 (mã T-41): Thiếu tên")
    last = batches.problems_page(batch, 3)
    assert len(last.items) == 11 and not last.has_more
    assert last.items[-1].index == 0  # the file's own warning comes last
    assert last.items[-1].text.startswith("Tệp: Khoảng trống")


def test_the_dry_run_page_shows_counts_and_one_page_and_fetches_its_features(admin, demo):
    batch = new_batch(demo, a_plan())
    page = admin.get(f"/boundaries/uploads/{batch.id}").get_data(as_text=True)
    assert "4 đối tượng" in page and "mới 1" in page and "cập nhật 1" in page
    assert "Tất cả đối tượng dùng được (3)" in page
    assert "Chỉ các đối tượng không có vấn đề (1)" in page
    assert f"/boundaries/uploads/{batch.id}/features.geojson" in page
    assert "Tổ dân phố 4" not in page  # no feature is inlined; the map fetches them
    assert "batch-map.js" in page
    fragment = admin.get(
        f"/boundaries/uploads/{batch.id}?problems_page=1", headers={**HX, "HX-Target": "problems"}
    ).get_data(as_text=True)
    assert "<html" not in fragment and "Self-intersection" in fragment


def test_features_come_by_view_and_only_to_those_who_see_the_batch(app, demo):
    ba_dinh = demo.scalar(select(Area).where(Area.code == "00004"))
    other = demo.scalar(select(Area).where(Area.code == "00008"))
    plan = a_plan()
    plan.items[0].feature.name = "<b>Tổ</b> & 1"
    mine = new_batch(demo, plan, parent_id=ba_dinh.id, username="canbo.xa")
    theirs = new_batch(demo, a_plan(), parent_id=other.id).id
    capped = json.loads(batches.features_in_view(mine, (105.0, 20.0, 106.0, 22.0), 0.0001, 2))
    officer = signed_in(app, "canbo.xa")
    url = f"/boundaries/uploads/{mine.id}/features.geojson"
    found = officer.get(url + "?bbox=105.7995,20.9995,105.8105,21.0005")
    assert found.status_code == 200 and found.mimetype == "application/geo+json"
    features = found.get_json()["features"]
    labels = sorted(
        f["properties"]["label"] for f in features if f["properties"]["status"] != "issue"
    )
    assert labels == ["#1 &lt;b&gt;Tổ&lt;/b&gt; &amp; 1 (T-1)", "#2 Tổ dân phố 2 (T-2)"]
    statuses = {f["properties"]["label"][:2]: f["properties"]["status"] for f in features}
    assert statuses["#2"] == "warning"
    # the file's gap lies in view: drawn as a place to look at, labelled with its warning
    issues = [f for f in features if f["properties"]["status"] == "issue"]
    assert [f["properties"]["label"] for f in issues] == [
        "Tệp: Khoảng trống 1.234 m² không thuộc đối tượng nào"
    ]
    everything = officer.get(url + "?bbox=105,20,106,22").get_json()
    assert len([f for f in everything["features"] if f["properties"]["status"] != "issue"]) == 4
    assert not everything["truncated"]
    assert capped["truncated"] and len(capped["features"]) == 2
    assert capped["features"][0]["properties"]["status"] == "error"  # what needs looking first
    assert officer.get(url + "?bbox=1,2,3").status_code == 400
    assert officer.get(url + "?bbox=106,21,105,22").status_code == 400
    assert officer.get(url).status_code == 400
    other_url = f"/boundaries/uploads/{theirs}"
    assert officer.get(other_url + "/features.geojson?bbox=105,20,106,22").status_code == 404
    assert officer.get(other_url).status_code == 404


@pytest.fixture
def statements(app):
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_the_boundaries_list_reads_no_features_problems_or_shapes(admin, demo, statements):
    new_batch(demo, a_plan())
    statements.clear()
    page = admin.get("/boundaries/")
    assert page.status_code == 200 and "t.geojson" in page.get_data(as_text=True)
    sql = "\n".join(statements)
    assert "import_batches" in sql
    assert "import_features" not in sql and "import_problems" not in sql
    assert "import_batches.result" not in sql and "import_batches.source_crs" not in sql
    assert "areas.geom" not in sql and "ST_AsEWKB" not in sql


def test_pages_about_areas_read_no_full_boundary(admin, demo, statements):
    village = demo.scalar(select(Area).where(Area.code == "00004-003"))
    commune = village.parent_id
    for url in (
        "/areas/",
        f"/areas/{commune}",
        f"/areas/{village.id}",
        f"/boundaries/communes/{commune}/merge",
        f"/teams/new?commune_id={commune}",
        "/teams/",
    ):
        statements.clear()
        assert admin.get(url).status_code == 200, url
        assert not [s for s in statements if "areas.geom" in s], url


def test_area_shapes_follow_the_areas_and_a_dense_ring_is_edited_simplified(admin, demo):
    village = demo.scalar(select(Area).where(Area.code == "00004-003"))
    shape = demo.get(AreaShape, village.id)
    assert shape.vertices == shapely.get_num_coordinates(to_shape(village.geom))
    dense = as_multipolygon(shapely.segmentize(to_shape(village.geom), 0.000001))
    assert shapely.get_num_coordinates(dense) > 6000
    village.geom = from_shape(dense, srid=4326)
    demo.commit()
    demo.expire_all()
    shape = demo.get(AreaShape, village.id)
    assert shape.vertices == shapely.get_num_coordinates(dense)
    assert shapely.get_num_coordinates(to_shape(shape.geom)) < 1000
    assert shape.area_m2 == pytest.approx(
        demo.scalar(
            select(db.func.ST_Area(db.func.Geography(Area.geom))).where(Area.id == village.id)
        )
    )
    page = admin.get(f"/boundaries/villages/{village.id}/edit").get_data(as_text=True)
    assert 'data-testid="simplified"' in page
    drawn = json.loads(re.search(r'id="village-geometry">(.*?)</script>', page).group(1))
    assert shapely.get_num_coordinates(shapely.geometry.shape(drawn)) < 1000
    assert shapely.geometry.shape(drawn).symmetric_difference(dense).area < 1e-8


def test_pages_json_and_assets_are_compressed_with_brotli_or_gzip(admin, demo):
    page = admin.get("/areas/", headers={"Accept-Encoding": "br, gzip"})
    assert page.headers["Content-Encoding"] == "br"
    assert "Accept-Encoding" in page.headers["Vary"] and "HX-Request" in page.headers["Vary"]
    assert "<html" in brotli.decompress(page.data).decode()
    page = admin.get("/areas/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip"
    assert "<html" in gzip.decompress(page.data).decode()
    assert "Content-Encoding" not in admin.get("/areas/").headers  # not asked: plain
    batch = new_batch(demo, a_plan())
    found = admin.get(
        f"/boundaries/uploads/{batch.id}/features.geojson?bbox=105,20,106,22",
        headers={"Accept-Encoding": "br"},
    )
    assert found.headers["Content-Encoding"] == "br"
    assert json.loads(brotli.decompress(found.data))["type"] == "FeatureCollection"
    css = admin.get("/static/css/portal.css", headers={"Accept-Encoding": "gzip"})
    assert css.headers["Content-Encoding"] == "gzip"
    js = admin.get("/vendor/leaflet/dist/leaflet.js", headers={"Accept-Encoding": "br"})
    assert js.headers["Content-Encoding"] == "br"
    # a GeoPackage is compressed already: sent as it is
    commune = demo.scalar(select(Area.id).where(Area.level == "commune").limit(1))
    gpkg = admin.get(
        f"/boundaries/export.gpkg?commune_id={commune}", headers={"Accept-Encoding": "br, gzip"}
    )
    assert gpkg.status_code == 200 and "Content-Encoding" not in gpkg.headers
    assert gpkg.data[:16] == b"SQLite format 3\x00"


def test_the_csrf_token_differs_in_every_response_and_still_works(app, demo):
    officer = signed_in(app, "canbo.xa")
    first, second = csrf_token(officer, "/boundaries/"), csrf_token(officer, "/boundaries/")
    assert first != second  # nothing stable for a compression side channel to find
    # the same session token beneath: Flask-WTF signs it with the second it was issued, so
    # two responses a second apart differ in that stamp and its signature only
    assert unmask(first).split(".")[0] == unmask(second).split(".")[0]
    page = officer.get("/boundaries/").get_data(as_text=True)
    tokens = set(re.findall(r'name="csrf_token" value="([^"]+)"', page))
    assert len(tokens) > 1  # each place in one page masked anew too
    response = officer.post("/lang", data={"lang": "en", "next": "/areas/", "csrf_token": first})
    assert response.status_code == 302
    with app.test_request_context("/"):
        assert masked_csrf_token().startswith("m.")
    refused = officer.post("/lang", data={"lang": "vi", "next": "/", "csrf_token": "m.AAAA"})
    assert refused.status_code == 400


ASSET = re.compile(r'(?:src|href)="(/(?:static|vendor)/[^"]+)"')


def test_assets_carry_their_hash_and_are_kept_a_year(admin, demo):
    commune = demo.scalar(select(Area.id).where(Area.code == "00004"))
    urls = set()
    for path in ("/areas/", f"/areas/{commune}", f"/coverage/{commune}", "/tra-cuu"):
        urls.update(ASSET.findall(admin.get(path).get_data(as_text=True)))
    assert any("leaflet.js" in u for u in urls) and any("portal.css" in u for u in urls)
    for url in urls:
        assert re.search(r"\?v=[0-9a-f]{12}$", url), url
        response = admin.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    css = next(u for u in urls if "portal.css" in u)
    stale = admin.get(css.split("?")[0] + "?v=000000000000")
    assert stale.status_code == 302 and stale.headers["Location"].endswith(css)
    assert admin.get(css.split("?")[0]).headers["Cache-Control"] == "no-cache"
    assert admin.get("/static/nothing.css?v=000000000000").status_code == 404


def test_templates_name_our_files_through_the_helpers():
    from tests.conftest import ROOT

    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        assert "url_for('static'" not in text and 'url_for("static"' not in text, path
        assert not re.search(r"""(?:src|href)=["']/(?:static|vendor)/""", text), path


class _Htmx(HTMLParser):
    """Every element that makes an HTMX request, with the indicators it or its ancestors name."""

    VOID: ClassVar = {"input", "meta", "link", "br", "img", "hr", "source", "area", "col", "wbr"}

    def __init__(self):
        super().__init__()
        self.stack: list[str | None] = []
        self.requests: list[tuple[str, str | None]] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        own = attrs.get("hx-indicator")
        inherited = own or next((i for i in reversed(self.stack) if i), None)
        for verb in ("hx-get", "hx-post"):
            if verb in attrs:
                self.requests.append((f"<{tag} {verb}={attrs[verb]}>", inherited))
        if tag not in self.VOID:
            self.stack.append(own)

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()


def test_every_htmx_request_shows_an_indicator(app, admin, demo):
    commune = demo.scalar(select(Area.id).where(Area.code == "00004"))
    team = demo.scalar(select(Team.id).order_by(Team.id).limit(1))
    account = demo.scalar(select(Account.id).where(Account.username == "canbo.xa"))
    pages = [
        "/areas/",
        f"/areas/{commune}",
        "/teams/",
        f"/teams/{team}",
        f"/teams/{team}/edit",
        f"/teams/{team}/members/new",
        "/accounts/",
        f"/accounts/{account}",
        "/accounts/new",
        "/boundaries/",
        "/coverage/",
        f"/coverage/{commune}",
        "/tra-cuu",
    ]
    checked = 0
    for path in pages:
        parser = _Htmx()
        parser.feed(admin.get(path).get_data(as_text=True))
        for element, indicator in parser.requests:
            assert indicator, (path, element)
            assert indicator.startswith("#") and indicator[1:] in parser.ids, (path, indicator)
            checked += 1
    assert checked > 10


def test_the_migration_moves_stored_json_into_rows_and_back():
    """Batches stored as JSON before migration 0008 become rows with their counts; the
    downgrade gives the JSON back."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from tests.conftest import (
        APP_ROLE,
        DB_SUFFIX,
        OWNER,
        ROOT,
        database_url_for,
        fresh_database,
        grant_app,
        make_app,
        migrate,
    )

    migrations = str(ROOT / "migrations")
    scratch = make_app(fresh_database("antt_portal_batch_rows"))
    plan = a_plan()
    features, problems = planning.plan_to_json(plan)
    with scratch.app_context():
        upgrade(directory=migrations, revision="0006")
        if not os.environ.get("TEST_DATABASE_URL"):
            name = scratch.config["SQLALCHEMY_DATABASE_URI"].rsplit("/", 1)[1]
            grant_app(database_url_for(name.removesuffix(DB_SUFFIX), "admin"), OWNER, APP_ROLE)
        db.session.execute(
            text(
                "INSERT INTO import_batches (id, filename, level, source_crs, features, problems,"
                " status) VALUES (7, 'old.geojson', 'village', 'WGS 84', CAST(:f AS jsonb),"
                " CAST(:p AS jsonb), 'draft')"
            ),
            {"f": json.dumps(features), "p": json.dumps(problems)},
        )
        db.session.commit()
        db.session.remove()
    migrate(scratch)  # to the head, with the portal role's grants
    with scratch.app_context():
        batch = db.session.get(ImportBatch, 7)
        assert (batch.feature_count, batch.creates, batch.updates, batch.blocked) == (4, 1, 1, 1)
        assert (batch.usable, batch.clean, batch.error_count, batch.warning_count) == (3, 1, 1, 2)
        assert batches.bounds(batch) == pytest.approx((105.80, 21.00, 105.901, 21.101))
        loaded = batches.load_plan(batch)
        assert loaded.problems == plan.problems and loaded.notes == plan.notes
        assert [w.kind for w in loaded.warnings] == [w.kind for w in plan.warnings]
        for got, want in zip(loaded.items, plan.items, strict=True):
            assert (got.feature.code, got.action, got.kind) == (
                want.feature.code,
                want.action,
                want.kind,
            )
            shown = got.feature.geometry or got.feature.repaired
            assert shown.equals_exact(want.feature.geometry or want.feature.repaired, 1e-12)
        page = batches.problems_page(batch, 1)
        assert [r.severity for r in page.items] == ["error", "warning", "warning"]
        assert page.items[-1].index == 0
        statuses = dict(
            db.session.execute(
                text("SELECT index, status FROM import_features WHERE batch_id = 7")
            ).all()
        )
        assert statuses == {1: "ok", 2: "warning", 3: "error", 4: "unchanged"}
        db.session.remove()
        downgrade(directory=migrations, revision="0006")
        back = db.session.execute(
            text("SELECT features, problems FROM import_batches WHERE id = 7")
        ).one()
        assert [f["code"] for f in back.features] == [f["code"] for f in features]
        assert [(p["severity"], p["kind"]) for p in back.problems] == [
            (p["severity"], p.get("kind")) for p in problems
        ]
        db.session.remove()
        db.engine.dispose()
