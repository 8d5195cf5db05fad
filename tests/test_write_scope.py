"""Writes are scoped like reads: a planner creates or changes only areas they can see, whatever
the file or the form says; and every change can be reverted exactly.

The attack this answers: a commune officer's file carrying another commune's village code
updated that village, with no more than an "outside the parent" warning.
"""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
import shapely
from geoalchemy2.shape import to_shape
from sqlalchemy import delete, func, select, update

from portal.models import (
    Area,
    AreaVersion,
    BoundaryChange,
    ImportBatch,
    ImportFeature,
    ImportProblem,
    TeamArea,
)
from tests.conftest import csrf_token, signed_in, through_job

TODAY = date.today().isoformat()
OWN, OTHER = "00004", "00008"  # Phường Ba Đình (canbo.xa's) and a neighbouring commune


def commune(session, code):
    return session.scalar(select(Area).where(Area.code == code, Area.level == "commune"))


def villages(session, commune_code):
    parent = commune(session, commune_code)
    return session.scalars(
        select(Area).where(Area.parent_id == parent.id, Area.valid_to.is_(None)).order_by(Area.code)
    ).all()


def collection(*features):
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def feature(code, name, geom, **props):
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, **props},
        "geometry": shapely.geometry.mapping(geom),
    }


def upload(client, data, **form):
    fields = {
        "level": "village",
        "crs": "auto",
        "csrf_token": csrf_token(client, "/boundaries/"),
        **form,
        "file": (io.BytesIO(data), "villages.geojson"),
    }
    response = client.post("/boundaries/uploads", data=fields, content_type="multipart/form-data")
    return through_job(client, response)


def commit(client, batch_url, mode="all"):
    return client.post(
        batch_url + "/commit",
        data={
            "mode": mode,
            "decision_number": "15/QĐ-UBND",
            "decision_date": TODAY,
            "csrf_token": csrf_token(client, "/boundaries/"),
        },
    )


def state(session, area_id):
    session.expire_all()
    area = session.get(Area, area_id)
    return (area.name, area.name_en, area.valid_to, to_shape(area.geom).wkb)


# --- scope of writes -----------------------------------------------------------------------


def test_an_officers_file_cannot_touch_another_communes_village(app, demo):
    target = villages(demo, OTHER)[0]
    before = state(demo, target.id)
    officer = signed_in(app, "canbo.xa")
    # that village's own code and shape, renamed: the file of the attack
    data = collection(feature(target.code, "Thôn Bị Chiếm", to_shape(target.geom)))
    response = upload(officer, data)
    assert response.status_code == 303
    page = officer.get(response.headers["Location"]).get_data(as_text=True)
    assert "Nằm ngoài xã, phường bạn phụ trách" in page
    assert "Mã này đã là của một địa bàn thuộc đơn vị cấp trên khác" in page
    refused = commit(officer, response.headers["Location"])
    assert refused.status_code == 422
    assert state(demo, target.id) == before
    assert not demo.scalar(select(func.count()).where(Area.name == "Thôn Bị Chiếm"))


def test_an_officers_feature_reaching_outside_the_commune_is_an_error_an_admins_a_warning(
    app, demo
):
    own = villages(demo, OWN)[0]
    other = commune(demo, OTHER)
    # a new village with a second part, about 3 ha, well inside the neighbouring commune
    chunk = to_shape(other.geom).representative_point().buffer(0.001)
    reach = shapely.MultiPolygon([to_shape(own.geom).geoms[0].buffer(-0.0003), chunk])
    data = collection(feature("00004-new", "Tổ dân phố Mới", reach))
    officer = signed_in(app, "canbo.xa")
    response = upload(officer, data)
    page = officer.get(response.headers["Location"]).get_data(as_text=True)
    assert "Nằm ngoài xã, phường bạn phụ trách" in page
    assert commit(officer, response.headers["Location"]).status_code == 422
    assert demo.scalar(select(func.count()).where(Area.code == "00004-new")) == 0

    admin = signed_in(app, "quantri")
    response = upload(admin, data, commune_id=str(commune(demo, OWN).id))
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Nằm ngoài đơn vị cấp trên" in page  # a warning the admin may accept
    assert "Nằm ngoài xã, phường bạn phụ trách" not in page


def test_an_admins_file_cannot_move_a_village_to_another_commune_by_its_code(app, demo):
    target = villages(demo, OTHER)[0]
    before = state(demo, target.id)
    own = villages(demo, OWN)[0]
    admin = signed_in(app, "quantri")
    inside_own = to_shape(own.geom).buffer(-0.0002)
    data = collection(feature(target.code, "Thôn Lạc", inside_own))
    response = upload(admin, data, commune_id=str(commune(demo, OWN).id))
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "Mã này đã là của một địa bàn thuộc đơn vị cấp trên khác" in page
    assert commit(admin, response.headers["Location"]).status_code == 422
    assert state(demo, target.id) == before


def test_a_stored_plan_reaching_outside_is_refused_again_at_commit(app, demo):
    """The dry run is kept in the database; whatever it holds, the commit checks once more."""
    officer = signed_in(app, "canbo.xa")
    own = villages(demo, OWN)[0]
    data = collection(feature("00004-x", "Tổ dân phố X", to_shape(own.geom).buffer(-0.0002)))
    response = upload(officer, data)
    batch = demo.scalar(select(ImportBatch).order_by(ImportBatch.id.desc()))
    other = commune(demo, OTHER)
    demo.execute(
        update(ImportFeature).where(ImportFeature.batch_id == batch.id).values(parent_id=other.id)
    )
    demo.execute(delete(ImportProblem).where(ImportProblem.batch_id == batch.id))
    demo.commit()
    refused = commit(officer, response.headers["Location"])
    assert refused.status_code == 422
    assert demo.scalar(select(func.count()).where(Area.code == "00004-x")) == 0


@pytest.mark.parametrize("action", ["edit", "split", "merge", "revert"])
def test_edits_splits_merges_and_reverts_stay_in_the_officers_commune(app, demo, action):
    officer = signed_in(app, "canbo.xa")
    theirs = villages(demo, OTHER)
    token = csrf_token(officer, "/boundaries/")
    decision = {"decision_number": "1/QĐ", "decision_date": TODAY, "csrf_token": token}
    before = [state(demo, v.id) for v in theirs[:2]]
    if action == "edit":
        shape_ = to_shape(theirs[0].geom).buffer(-0.0002)
        response = officer.post(
            f"/boundaries/villages/{theirs[0].id}/edit",
            data={**decision, "geometry": json.dumps(shapely.geometry.mapping(shape_))},
        )
    elif action == "split":
        minx, miny, maxx, maxy = to_shape(theirs[0].geom).bounds
        line = shapely.LineString([(minx - 1, (miny + maxy) / 2), (maxx + 1, (miny + maxy) / 2)])
        response = officer.post(
            f"/boundaries/villages/{theirs[0].id}/edit",
            data={
                **decision,
                "action": "split",
                "line": json.dumps(shapely.geometry.mapping(line)),
                "name_a": "A",
                "name_b": "B",
            },
        )
    elif action == "merge":
        own_commune = commune(demo, OWN)
        own = villages(demo, OWN)[0]
        response = officer.post(
            f"/boundaries/communes/{own_commune.id}/merge",
            data={**decision, "name": "Gộp", "area_ids": [str(own.id), str(theirs[0].id)]},
        )
    else:
        change = BoundaryChange(
            kind="edit",
            commune_id=commune(demo, OTHER).id,
            decision_number="1",
            decision_date=date.today(),
            actor="quantri",
            before_ids=[theirs[0].id],
            after_ids=[theirs[0].id],
        )
        demo.add(change)
        demo.commit()
        response = officer.post(f"/boundaries/changes/{change.id}/revert", data=decision)
    assert response.status_code == 404
    assert [state(demo, v.id) for v in theirs[:2]] == before


# --- exact reverts ---------------------------------------------------------------------------


def snapshot(session, commune_code):
    """Everything a change and its revert may touch, in a comparable form."""
    session.expire_all()
    parent = commune(session, commune_code)
    current = session.execute(
        select(
            Area.id,
            Area.code,
            Area.kind,
            Area.name,
            Area.name_en,
            Area.population,
            Area.households,
            Area.valid_from,
            Area.decision_number,
            Area.decision_date,
            func.ST_AsBinary(Area.geom),
        )
        .where(Area.parent_id == parent.id, Area.valid_to.is_(None))
        .order_by(Area.id)
    ).all()
    cover = session.execute(
        select(TeamArea.team_id, TeamArea.area_id, TeamArea.valid_from, TeamArea.valid_to)
        .where(TeamArea.commune_id == parent.id, TeamArea.valid_to.is_(None))
        .order_by(TeamArea.area_id)
    ).all()
    versions = session.execute(
        select(AreaVersion.id, AreaVersion.area_id, AreaVersion.name, AreaVersion.valid_to)
    ).all()
    return current, cover, versions


def assert_restored(session, commune_code, original):
    areas, cover, versions = snapshot(session, commune_code)
    assert areas == original[0]
    assert cover == original[1]
    assert set(original[2]) <= set(versions)  # history kept, and nothing of it rewritten
    assert len(versions) > len(original[2])  # what was undone is kept as a version too


def revert(client, change_id):
    response = client.post(
        f"/boundaries/changes/{change_id}/revert",
        data={"csrf_token": csrf_token(client, "/boundaries/")},
    )
    assert response.status_code == 303, response.get_data(as_text=True)[-500:]


def last_change(session):
    return session.scalar(select(BoundaryChange).order_by(BoundaryChange.id.desc()))


def test_reverting_an_import_restores_the_villages_it_updated_and_ends_those_it_made(app, demo):
    officer = signed_in(app, "canbo.xa")
    first, second = villages(demo, OWN)[:2]
    original = snapshot(demo, OWN)
    assert original[1], "the demo's villages have teams"
    # update two villages (a new name, English name and boundary) and create a third
    hole = to_shape(first.geom).buffer(-0.0004)
    data = collection(
        feature(
            first.code,
            first.name + " (mới)",
            to_shape(first.geom).difference(hole),
            name_en="Renamed",
        ),
        feature(second.code, second.name, to_shape(second.geom), name_en="Group Two"),
        feature("00004-999", "Tổ dân phố Mới", hole),
    )
    response = upload(officer, data)
    assert commit(officer, response.headers["Location"], mode="all").status_code == 303
    change = last_change(demo)
    assert change.kind == "import" and len(change.version_ids) == 2
    demo.expire_all()
    assert demo.get(Area, first.id).name == first.name + " (mới)"
    assert demo.get(Area, second.id).name_en == "Group Two"
    assert snapshot(demo, OWN)[1] == original[1]  # an import leaves coverage alone

    revert(officer, change.id)
    assert_restored(demo, OWN, original)


def test_reverting_a_drawn_boundary_restores_it_exactly(app, demo):
    officer = signed_in(app, "canbo.xa")
    village = villages(demo, OWN)[0]
    original = snapshot(demo, OWN)
    smaller = to_shape(village.geom).buffer(-0.0002)
    response = officer.post(
        f"/boundaries/villages/{village.id}/edit",
        data={
            "geometry": json.dumps(shapely.geometry.mapping(smaller)),
            "decision_number": "12/QĐ-UBND",
            "decision_date": TODAY,
            "csrf_token": csrf_token(officer, "/boundaries/"),
        },
    )
    assert response.status_code == 303
    revert(officer, last_change(demo).id)
    assert_restored(demo, OWN, original)


def test_reverting_a_split_restores_the_village_and_its_teams_rows(app, demo):
    officer = signed_in(app, "canbo.xa")
    village = villages(demo, OWN)[0]
    original = snapshot(demo, OWN)
    minx, miny, maxx, maxy = to_shape(village.geom).bounds
    line = shapely.LineString([(minx - 0.01, (miny + maxy) / 2), (maxx + 0.01, (miny + maxy) / 2)])
    response = officer.post(
        f"/boundaries/villages/{village.id}/edit",
        data={
            "action": "split",
            "line": json.dumps(shapely.geometry.mapping(line)),
            "name_a": "Tổ 1A",
            "name_b": "Tổ 1B",
            "decision_number": "7/QĐ",
            "decision_date": TODAY,
            "csrf_token": csrf_token(officer, "/boundaries/"),
        },
    )
    assert response.status_code == 303
    assert snapshot(demo, OWN)[0] != original[0]
    revert(officer, last_change(demo).id)
    areas, cover, _versions = snapshot(demo, OWN)
    assert areas == original[0]
    assert cover == original[1]  # the same rows: the team's start date is not today's


def test_reverting_a_merge_restores_both_villages_and_both_teams(app, demo):
    officer = signed_in(app, "canbo.xa")
    first, second = villages(demo, OWN)[:2]
    original = snapshot(demo, OWN)
    response = officer.post(
        f"/boundaries/communes/{first.parent_id}/merge",
        data={
            "area_ids": [str(first.id), str(second.id)],
            "name": "Tổ dân phố 1-2",
            "decision_number": "9/QĐ",
            "decision_date": TODAY,
            "csrf_token": csrf_token(officer, "/boundaries/"),
        },
    )
    assert response.status_code == 303
    revert(officer, last_change(demo).id)
    areas, cover, _versions = snapshot(demo, OWN)
    assert areas == original[0]
    assert cover == original[1]


def test_the_cli_records_its_import_so_it_can_be_reverted_and_can_dry_run(app, demo, tmp_path):
    village = villages(demo, OWN)[0]
    original = snapshot(demo, OWN)
    path = tmp_path / "ba_dinh.geojson"
    path.write_bytes(
        collection(feature(village.code, "Tổ dân phố Đổi Tên", to_shape(village.geom)))
    )
    runner = app.test_cli_runner()
    args = ["import-boundaries", str(path), "--level", "village", "--parent", OWN]
    dry = runner.invoke(args=[*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "0 mới, 1 cập nhật" in dry.output and "Không ghi gì." in dry.output
    assert snapshot(demo, OWN) == original

    result = runner.invoke(args=[*args, "--decision", "3/QĐ"])
    assert result.exit_code == 0, result.output
    change = last_change(demo)
    assert change.kind == "import" and change.actor.startswith("cli:")
    assert change.after_ids == [village.id]
    assert f"Thay đổi số {change.id}" in result.output

    revert(signed_in(app, "quantri"), change.id)
    assert_restored(demo, OWN, original)
