"""The demo data set: real Hanoi communes (or a synthetic city), villages, teams and members.

Deterministic: the same input gives the same villages, names and defects every time. Planted
defects for planners to find: villages without a team, under-staffed teams, teams without a
leader, and slivers of commune land that no village covers.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import shapely
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import delete, func, insert, select, text, update

from geo.partition import carve_sliver, partition
from portal.auth.services import create_account
from portal.boundaries.planning import import_features
from portal.coverage import services as coverage
from portal.demo import names
from portal.extensions import db
from portal.lookup.services import police_name_of
from portal.models import (
    Account,
    AccountRole,
    Area,
    AreaVersion,
    BoundaryChange,
    BoundaryFlag,
    CoverageCommune,
    CoverageProblem,
    CoverageVillage,
    DutyRule,
    ImportBatch,
    Incident,
    IncidentPhoto,
    Job,
    Level,
    Member,
    Patrol,
    PatrolActivity,
    PatrolFinding,
    PatrolMember,
    PatrolRoute,
    PatrolRules,
    PatrolTrack,
    PoliceContact,
    RouteVersion,
    SizingRule,
    Team,
    TeamArea,
    TipContact,
    TipLimit,
)
from portal.text import fold

SEED = 20240701  # Law 30/2023/QH15 came into force on 1 July 2024
LAW_IN_FORCE = date(2024, 7, 1)
LAYOUT_2025 = date(2025, 7, 1)

# Share of villages / teams given each planted defect.
NO_TEAM_SHARE = 0.012
UNDERSTAFFED_SHARE = 0.02
NO_LEADER_SHARE = 0.004
SLIVER_EVERY = 9  # one commune in this many has an unmapped sliver
SLIVER_WIDTH_DEG = 0.0004  # about 40 m
NO_POLICE_PHONE_EVERY = 20  # one commune in this many has no police contact on record

DEMO_ACCOUNTS = (
    # username, password, full name, role
    ("quantri", "ha-noi-an-toan-2025", "Quản trị thành phố", AccountRole.ADMIN),
    ("canbo.xa", "ba-dinh-binh-yen-2025", "Cán bộ công an xã", AccountRole.COMMUNE_OFFICER),
    ("totruong", "to-dan-pho-vung-manh", "Tổ trưởng tổ bảo vệ ANTT", AccountRole.TEAM_LEADER),
)


@dataclass
class SeedSummary:
    communes: int = 0
    villages: int = 0
    teams: int = 0
    members: int = 0
    villages_without_team: int = 0
    understaffed_teams: int = 0
    teams_without_leader: int = 0
    slivers: int = 0
    police_contacts: int = 0


def seed(
    data_dir: Path | None,
    *,
    if_empty: bool = False,
    reset: bool = False,
    limit_communes: int | None = None,
    echo: Callable[[str], None] = print,
    progress=None,
) -> SeedSummary | None:
    if db.session.scalar(select(func.count()).select_from(Area)):
        if if_empty:
            echo("Dữ liệu đã có sẵn: bỏ qua seed-demo.")
            return None
        if not reset:
            raise SystemExit("The database already holds areas: use --reset to replace them.")
        _wipe()
    province_file = data_dir / "hanoi_province2025_sapnhap.geojson" if data_dir else None
    communes_file = data_dir / "hanoi_communes2025_sapnhap.geojson" if data_dir else None
    if province_file and province_file.exists() and communes_file.exists():
        echo(f"Nạp ranh giới thật của Hà Nội từ {data_dir}")
        _import_real(province_file, communes_file, limit_communes, progress)
    else:
        echo("Không thấy dữ liệu Hà Nội: dựng một thành phố mẫu tổng hợp")
        _build_synthetic_city(limit_communes or 24)
    province = db.session.scalar(select(Area).where(Area.level == Level.PROVINCE.value))
    db.session.add(
        SizingRule(province_id=province.id, min_members=3, max_members=5, max_deputies=1)
    )
    # Hanoi's allowance: a day of at least 4 hours' duty; routes may leave the villages by 50 m
    db.session.add(
        PatrolRules(
            province_id=province.id,
            route_tolerance_m=50.0,
            duty_rule=DutyRule.DAILY_HOURS,
            min_hours_per_day=4.0,
        )
    )
    summary = _build_villages_and_teams(province, progress)
    summary.police_contacts = _police_contacts(province)
    accounts = _demo_accounts()
    # fresh statistics after a bulk load, so the planner picks the indexes at once
    for table in ("areas", "area_parts", "teams", "team_areas", "members"):
        db.session.execute(text(f"ANALYZE {table}"))
    # the coverage pages read stored figures: the demo leaves them computed
    coverage.refresh(progress=progress)
    for table in ("coverage_communes", "coverage_villages", "coverage_problems"):
        db.session.execute(text(f"ANALYZE {table}"))
    db.session.commit()
    echo(
        f"Xong: {summary.communes} xã/phường, {summary.villages} thôn/tổ dân phố, "
        f"{summary.teams} tổ, {summary.members} thành viên."
    )
    echo(
        f"Lỗi cài sẵn cho cán bộ tìm: {summary.villages_without_team} thôn chưa có tổ, "
        f"{summary.understaffed_teams} tổ thiếu người, {summary.teams_without_leader} tổ "
        f"chưa có tổ trưởng, {summary.slivers} dải đất chưa thuộc thôn nào."
    )
    echo("Tài khoản mẫu (tên đăng nhập / mật khẩu):")
    for username, password, label in accounts:
        echo(f"  {username} / {password}   {label}")
    return summary


def _wipe() -> None:
    # the jobs stay in their list, no longer naming the demo accounts they were run by (the
    # running seed's own row, started from the CLI by no account, is left alone: its progress
    # is written from another connection, which must not wait on this transaction)
    db.session.execute(update(Job).where(Job.created_by.is_not(None)).values(created_by=None))
    db.session.execute(update(BoundaryChange).values(reverts_id=None, reverted_by_id=None))
    db.session.execute(update(PatrolRoute).values(current_version_id=None))
    db.session.execute(update(Incident).values(merged_into_id=None))
    for model in (
        TipLimit,
        TipContact,
        IncidentPhoto,
        Incident,
        PatrolActivity,
        PatrolTrack,
        PatrolFinding,
        PatrolMember,
        Patrol,
        RouteVersion,
        PatrolRoute,
        PatrolRules,
        CoverageProblem,
        CoverageVillage,
        CoverageCommune,
        PoliceContact,
        BoundaryFlag,
        ImportBatch,
        AreaVersion,
        BoundaryChange,
        Account,
        Member,
        TeamArea,
        Team,
        SizingRule,
    ):
        db.session.execute(delete(model))
    # children before parents
    for level in (Level.VILLAGE, Level.COMMUNE, Level.DISTRICT, Level.PROVINCE):
        db.session.execute(delete(Area).where(Area.level == level.value))
    db.session.commit()


def _import_real(province_file: Path, communes_file: Path, limit: int | None, progress) -> None:
    import_features(
        province_file.read_bytes(),
        Level.PROVINCE,
        valid_from=LAYOUT_2025,
        decision_number="202/2025/QH15",
    )
    data = communes_file.read_bytes()
    if limit:
        doc = json.loads(data)
        doc["features"] = doc["features"][:limit]
        data = json.dumps(doc, ensure_ascii=False).encode()
    import_features(
        data,
        Level.COMMUNE,
        parent_code="01",
        valid_from=LAYOUT_2025,
        decision_number="1656/NQ-UBTVQH15",
        progress=progress,
    )


def _build_synthetic_city(n_communes: int) -> None:
    """A made-up city near Hanoi's latitude, for machines without the shared data."""
    rng = random.Random(SEED)
    outline = shapely.Point(105.85, 21.03).buffer(0.12, quad_segs=24)
    city = Area(
        level=Level.PROVINCE.value,
        kind="thanh_pho",
        code="99",
        name="Thành phố Mẫu",
        name_en="Sample City",
        name_search=fold("Thành phố Mẫu"),
        geom=from_shape(shapely.MultiPolygon([outline]), srid=4326),
        valid_from=LAYOUT_2025,
    )
    db.session.add(city)
    db.session.flush()
    for i, part in enumerate(partition(outline, n_communes, rng), start=1):
        # the centre is urban (phường), the rim rural (xã)
        urban = part.centroid.distance(outline.centroid) < 0.06
        name = f"{'Phường' if urban else 'Xã'} {rng.choice(names.VILLAGE_WORDS)} {i}"
        db.session.add(
            Area(
                level=Level.COMMUNE.value,
                kind="phuong" if urban else "xa",
                parent_id=city.id,
                code=f"99{i:03d}",
                name=name,
                name_search=fold(name),
                geom=from_shape(part, srid=4326),
                valid_from=LAYOUT_2025,
            )
        )
    db.session.flush()


def _village_count(commune: Area, rng: random.Random) -> int:
    # Hanoi: about 5,400 villages and residential groups in 126 communes; urban wards are
    # divided more finely (tổ dân phố of a few hundred households) than rural communes.
    if commune.kind == "phuong":
        return rng.randint(42, 68)
    return rng.randint(26, 44)


def _build_villages_and_teams(province: Area, progress) -> SeedSummary:
    summary = SeedSummary()
    communes = db.session.scalars(
        select(Area)
        .where(Area.parent_id == province.id, Area.level == Level.COMMUNE.value)
        .order_by(Area.code)
    ).all()
    summary.communes = len(communes)
    rng = random.Random(SEED)
    village_rows: list[dict] = []
    for n, commune in enumerate(communes, start=1):
        crng = random.Random(f"{SEED}:{commune.code}")
        parts = partition(to_shape(commune.geom), _village_count(commune, crng), crng)
        if n % SLIVER_EVERY == 0 and len(parts) > 2:
            index = crng.randrange(len(parts))
            carved = carve_sliver(parts, index, SLIVER_WIDTH_DEG)
            if carved:
                parts[index] = carved[0]
                summary.slivers += 1
        # north to south, west to east: numbering that reads like a real list
        parts.sort(key=lambda p: (-round(p.centroid.y, 3), p.centroid.x))
        urban = commune.kind == "phuong"
        words = list(names.VILLAGE_WORDS)
        crng.shuffle(words)
        for i, part in enumerate(parts, start=1):
            if urban:
                name, kind = f"Tổ dân phố số {i}", "to_dan_pho"
                households = crng.randint(150, 450)
            else:
                word = words[(i - 1) % len(words)]
                suffix = f" {(i - 1) // len(words) + 1}" if i > len(words) else ""
                name, kind = f"Thôn {word}{suffix}", "thon"
                households = crng.randint(180, 620)
            village_rows.append(
                {
                    "level": Level.VILLAGE.value,
                    "kind": kind,
                    "parent_id": commune.id,
                    "code": f"{commune.code}-{i:03d}",
                    "name": name,
                    "name_search": fold(name),
                    "population": int(households * crng.uniform(3.1, 3.8)),
                    "households": households,
                    "geom": from_shape(shapely.orient_polygons(part), srid=4326),
                    "valid_from": LAYOUT_2025,
                    "decision_number": f"{crng.randint(100, 999)}/QĐ-UBND",
                    "decision_date": LAYOUT_2025,
                }
            )
        if progress:
            progress("villages", n, len(communes))
    village_ids = insert_rows(Area, village_rows)
    summary.villages = len(village_ids)

    commune_by_id = {c.id: c for c in communes}
    team_rows, covered = [], []
    for row, area_id in zip(village_rows, village_ids, strict=True):
        if rng.random() < NO_TEAM_SHARE:
            summary.villages_without_team += 1
            continue
        commune = commune_by_id[row["parent_id"]]
        established = LAW_IN_FORCE + timedelta(days=rng.randint(0, 120))
        name = f"Tổ bảo vệ ANTT {row['name']}"
        team_rows.append(
            {
                "commune_id": commune.id,
                "name": name,
                "name_search": fold(f"{name} {commune.name}"),
                "phone": _phone(rng),
                "decision_number": f"{rng.randint(1, 999)}/QĐ-UBND",
                "decision_date": established,
                "established_on": established,
            }
        )
        covered.append((area_id, row, established))
    team_ids = insert_rows(Team, team_rows)
    summary.teams = len(team_ids)
    insert_rows(
        TeamArea,
        [
            {
                "team_id": team_id,
                "commune_id": row["parent_id"],
                "area_id": area_id,
                "valid_from": established,
            }
            for team_id, (area_id, row, established) in zip(team_ids, covered, strict=True)
        ],
    )

    member_rows = []
    for team_id, (area_id, row, established) in zip(team_ids, covered, strict=True):
        commune = commune_by_id[row["parent_id"]]
        if rng.random() < UNDERSTAFFED_SHARE:
            size = 2
            summary.understaffed_teams += 1
        else:
            size = rng.choices((3, 4, 5), weights=(42, 40, 18))[0]
        has_leader = rng.random() >= NO_LEADER_SHARE
        if not has_leader:
            summary.teams_without_leader += 1
        for k in range(size):
            role = "member"
            if k == 0 and has_leader:
                role = "leader"
            elif k == 1:
                role = "deputy"
            member_rows.append(_member(rng, team_id, area_id, role, commune, established))
    insert_rows(Member, member_rows)
    summary.members = len(member_rows)
    return summary


def _police_contacts(province: Area) -> int:
    """The commune police's office line (made up: the demo's numbers reach no one)."""
    communes = db.session.execute(
        select(Area.id, Area.code, Area.name)
        .where(Area.parent_id == province.id, Area.level == Level.COMMUNE.value)
        .order_by(Area.code)
    ).all()
    rows = [
        {
            "commune_id": commune.id,
            "name": police_name_of(commune.name),
            "phone": _landline(random.Random(f"{SEED}:police:{commune.code}")),
        }
        for n, commune in enumerate(communes, start=1)
        if n % NO_POLICE_PHONE_EVERY
    ]
    return len(insert_rows(PoliceContact, rows))


def insert_rows(model, rows: list[dict]) -> list[int]:
    """Insert rows in batches (a few statements, not one per row); their ids in row order."""
    return list(
        db.session.scalars(insert(model).returning(model.id, sort_by_parameter_order=True), rows)
    )


def _phone(rng: random.Random) -> str:
    return rng.choice(("09", "03", "08", "07")) + "".join(str(rng.randint(0, 9)) for _ in range(8))


def _landline(rng: random.Random) -> str:
    return "0243" + "".join(str(rng.randint(0, 9)) for _ in range(7))  # Hanoi's 024 3xxx xxxx


def _member(rng, team_id, area_id, role, commune: Area, appointed: date) -> dict:
    female = rng.random() < 0.18
    middle = rng.choice(names.MIDDLE_FEMALE if female else names.MIDDLE_MALE)
    given = rng.choice(names.GIVEN_FEMALE if female else names.GIVEN_MALE)
    full_name = f"{rng.choice(names.SURNAMES)} {middle} {given}"
    age = rng.randint(25, 66) if role != "member" else rng.randint(20, 68)
    birth = appointed - timedelta(days=age * 365 + rng.randint(0, 364))
    return {
        "team_id": team_id,
        "full_name": full_name,
        "role": role,
        "phone": _phone(rng),
        "birth_date": birth,
        "residence_area_id": area_id,
        "resident_since": birth + timedelta(days=365 * rng.randint(0, max(age - 18, 1))),
        "education": rng.choices(
            ("lower_secondary", "upper_secondary", "higher"), weights=(30, 55, 15)
        )[0],
        "appointment_number": f"{rng.randint(1, 999)}/QĐ-UBND",
        "appointment_date": appointed,
        "appointment_signer": f"Chủ tịch UBND {commune.name}",
    }


def _demo_accounts() -> list[tuple[str, str, str]]:
    """One account per role; the commune officer and team leader sit in the first commune."""
    commune = db.session.scalar(
        select(Area).where(Area.level == Level.COMMUNE.value).order_by(Area.code).limit(1)
    )
    team = db.session.scalar(
        select(Team).where(Team.commune_id == commune.id).order_by(Team.id).limit(1)
    )
    made = []
    for username, password, label, role in DEMO_ACCOUNTS:
        scope = {}
        if role == AccountRole.COMMUNE_OFFICER:
            scope = {"commune_id": commune.id}
            label = f"{label} – {commune.name}"
        elif role == AccountRole.TEAM_LEADER:
            scope = {"team_id": team.id}
            label = f"{label} – {team.name}, {commune.name}"
        create_account(username, password, label, role, **scope)
        made.append((username, password, label))
    return made
