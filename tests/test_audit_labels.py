"""Change histories read in Vietnamese: every logged field has a label, ids show as names."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import CheckConstraint, event, inspect, select

from portal import audit
from portal.models import Area, Member, Team, TeamArea
from tests.conftest import signed_in


def logged_columns():
    """(entity type, column, model) of every column the audit log writes."""
    for model, (entity_type, _owner) in audit.AUDITED.items():
        for column in inspect(model).mapper.column_attrs:
            if column.key not in audit.NOT_LOGGED:
                yield entity_type, column.key, model


def test_every_logged_field_has_a_vietnamese_label(app):
    # the app has registered every feature's audited models (incidents add theirs)
    assert "incident" in {entity for entity, _c, _m in logged_columns()}
    missing = [
        f"{entity}.{column}"
        for entity, column, _model in logged_columns()
        if audit._field_label(column, entity) == column
    ]
    assert missing == [], "add these to portal.audit.FIELD_LABELS"


CODED = re.compile(r"^\s*(\w+) IN \(([^)]*)\)\s*$")


def coded_columns():
    """(entity type, column, codes) for every column a CHECK constraint limits to a list."""
    for model, (entity_type, _owner) in audit.AUDITED.items():
        for constraint in model.__table__.constraints:
            if not isinstance(constraint, CheckConstraint):
                continue
            found = CODED.match(str(constraint.sqltext))
            if found and found.group(1) not in audit.NOT_LOGGED:
                codes = re.findall(r"'([^']*)'", found.group(2))
                yield entity_type, found.group(1), codes


def test_every_coded_value_has_a_vietnamese_label(app):
    coded = list(coded_columns())
    assert ("member", "role") in {(e, c) for e, c, _codes in coded}
    missing = [
        f"{entity}.{column}={code}"
        for entity, column, codes in coded
        for code in codes
        if audit._display(code, entity, column) == code
    ]
    assert missing == [], "add these to portal.audit.VALUE_LABELS"


@pytest.mark.parametrize(
    ("value", "field", "shown"),
    [
        ("2025-03-01", "birth_date", "01/03/2025"),
        (True, "is_active", "Có"),
        (False, "joint_police", "Không"),
        (1234.5, "length_m", "1.234,5"),
        ("22:00:00", "night_start", "22:00"),
        (0.875, "followed_share", "88%"),
        (1107535, "patrol_id", "#1107535"),
        ("0912345678", "phone", "0912 345 678"),
        ({"type": "MultiLineString", "vertices": 5, "bbox": [1, 2, 3, 4]}, "geom", "Đường, 5 đỉnh"),
    ],
)
def test_values_read_as_people_write_them(app, value, field, shown):
    assert audit._display(value, "", field) == shown


def test_a_members_history_names_their_village_and_team(app, demo):
    member = demo.scalar(select(Member).order_by(Member.id).limit(1))
    home = demo.scalar(
        select(Area)
        .join(TeamArea, TeamArea.area_id == Area.id)
        .where(TeamArea.team_id == member.team_id)
        .limit(1)
    )
    other = demo.scalar(
        select(Area).where(Area.level == "village", Area.id != member.residence_area_id).limit(1)
    )
    other_id, other_name, team_id = other.id, other.name, member.team_id
    member_id, member_name = member.id, member.full_name
    member.residence_area_id = other.id
    member.birth_date = date(1970, 5, 17)
    member.education = "higher"
    demo.commit()
    assert home is not None
    page = signed_in(app, "quantri").get(f"/teams/{team_id}").get_data(as_text=True)
    history = page[page.index('id="history"') :]
    assert "Nơi cư trú" in history and other_name in history
    assert "Ngày sinh" in history and "17/05/1970" in history
    assert "Trung cấp trở lên" in history
    for raw in ("residence_area_id", "birth_date", "higher", f"<td>{other_id}</td>"):
        assert raw not in history
    # the entry is about the member by name, not by their row's number
    assert f"Sửa thành viên {member_name}" in history
    assert f"#{member_id}" not in history and "Mã số" not in history


def test_names_are_read_in_one_query_per_page(app, demo):
    areas = demo.scalars(select(Area.id).where(Area.level == "village").limit(5)).all()
    teams = demo.scalars(select(Team.id).limit(5)).all()
    members = demo.scalars(select(Member.id).limit(5)).all()
    entries = [
        audit.AuditEntry(
            entity_type="team_area",
            changes={"area_id": [None, areas[i]], "team_id": [teams[i], None]},
        )
        for i in range(5)
    ] + [audit.AuditEntry(entity_type="patrol_member", changes={"member_id": [None, members[0]]})]
    queries = []
    connection = demo.connection()
    listener = lambda *_args: queries.append(1)  # noqa: E731
    event.listen(connection, "before_cursor_execute", listener)
    try:
        names = audit.referenced_names(entries)
    finally:
        event.remove(connection, "before_cursor_execute", listener)
    assert len(queries) == 1
    assert len(names) == 11
    assert {table for table, _id in names} == {"area", "team", "member"}
