"""The demo's year of incidents and tips: about 17,900 citizens' tips (8,800 of them valuable)
and 7,400 items recorded by teams (3,100 violations, 1,900 fires, 1,700 rescues, a few hundred
accidents and disputes) over the same year as the demo's patrols, up to now.

Each item lies at a random point inside a village (PostGIS ST_GeneratePoints), in the village's
commune and under the team covering it; its triage went as far as its age allows (the last
days' items are still received or checked, older ones passed to the police or closed). Most
team violations are the findings of the demo's patrols, linked to the patrol that found them.
Drawn in numpy and written with COPY month by month, like the patrols. Deterministic for a given
seed, database and `now`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import delete, func, select, text

from portal.demo import names
from portal.extensions import db
from portal.models import Account, Incident, TipContact
from portal.models.patrol import VIOLATION_KINDS

SEED = 20251113
DAYS = 365
LOCAL_OFFSET = timedelta(hours=7)  # Asia/Ho_Chi_Minh: UTC+7 all year, no daylight saving

TIPS_A_YEAR = 17_900
VALUABLE_TIPS_A_YEAR = 8_800
TEAM_A_YEAR = {"violation": 3_100, "fire": 1_900, "rescue": 1_700, "accident": 420, "dispute": 330}
# Theft, disorder and traffic make most of what citizens report.
TIP_KIND_SHARES = {
    "theft": 0.24,
    "disorder": 0.19,
    "traffic": 0.17,
    "suspicious": 0.10,
    "drugs": 0.08,
    "gambling": 0.08,
    "fire_risk": 0.06,
    "other": 0.08,
}
# How likely a tip of each kind is to prove valuable (relative: the total is fixed).
TIP_VALUE_ODDS = {
    "theft": 1.2,
    "disorder": 1.0,
    "traffic": 0.9,
    "suspicious": 0.8,
    "drugs": 1.6,
    "gambling": 1.4,
    "fire_risk": 1.1,
    "other": 0.5,
}
VIOLATION_KIND_WEIGHTS = np.array([0.22, 0.17, 0.12, 0.05, 0.08, 0.05, 0.09, 0.17, 0.05])
ON_PATROL_SHARE = 0.6  # team violations that are a patrol's findings, linked to it
CONTACT_SHARE = 0.15  # tips that leave a way to reach the reporter
NAMED_CONTACT_SHARE = 0.7  # ... and a name with it
PLACE_NOTE_SHARE = 0.35
HANDED_SHARE = 0.3  # violations not found on a patrol, handed over to the commune police
# Of the items found valuable, the share passed to the police (with a case reference); the
# rest the commune closes itself. Tips' share is high: a valuable tip is a police matter.
PASSED_SHARE = {"tip": 0.85, "fire": 0.6, "rescue": 0.2, "accident": 0.7, "dispute": 0.25}
VALUABLE_SHARE = {"violation": 1.0, "fire": 1.0, "rescue": 1.0, "accident": 0.9, "dispute": 0.8}
CLOSED_AFTER_PASSED = 0.4  # passed items whose case the police closed since
CLOSED_NOT_VALUABLE = 0.85

# Local hour an item happened: citizens' tips in the day and the evening, violations at night
# (when the patrols go out).
DAY_HOURS = np.array(
    [2, 1.5, 1, 0.7, 0.5, 0.7, 1.5, 3, 4, 4, 4, 4, 3.5, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6, 5, 4, 3],
    dtype=float,
)
NIGHT_HOURS = np.array(
    [7, 4, 1, 0.5, 0.3, 0.3, 0.5, 2, 3, 3, 2, 1, 0.5, 1, 2, 2, 2, 1, 2, 9, 14, 14, 11, 9],
    dtype=float,
)
WEEKDAY_WEIGHTS = np.array([1.0, 1.0, 1.0, 1.02, 1.1, 1.3, 1.25])  # Monday … Sunday
LOCATED_BY = ("map", "gps", "village")
LOCATED_TIP = np.array([0.55, 0.35, 0.10])
LOCATED_TEAM = np.array([0.35, 0.60, 0.05])

RECEIPT_ALPHABET = np.array(list("0123456789ABCDEFGHJKMNPQRSTVWXYZ"))

Progress = Callable[[str, int, int], None]

DESCRIPTIONS = {
    "theft": (
        "Mất trộm xe máy {bike} dựng trước cửa nhà, {when}.",
        "Kẻ gian cạy cửa vào nhà lấy trộm tiền và điện thoại khi gia đình đi vắng.",
        "Hai thanh niên đi xe máy giật túi xách của một phụ nữ {where}.",
        "Mất trộm bình ắc quy và gương xe để ở {where}.",
        "Nghi có người lấy trộm gà, vịt của các hộ gia đình {when}.",
    ),
    "disorder": (
        "Một nhóm thanh niên tụ tập uống rượu, hát karaoke ồn ào {where} đến khuya.",
        "Xô xát, cãi chửi nhau {where}, nhiều người tụ tập xem.",
        "Nhóm thanh niên rú ga, nẹt pô gây ồn {when}.",
        "Hàng xóm mở loa công suất lớn hát karaoke quá 22 giờ, ảnh hưởng cả khu.",
    ),
    "drugs": (
        "Nghi có người sử dụng ma túy trong căn nhà bỏ hoang {where}.",
        "Thấy vỏ bơm kim tiêm vứt {where}, nghi có người tiêm chích.",
        "Nhiều người lạ ra vào một nhà trọ vào ban đêm, nghi mua bán ma túy.",
        "Nhóm thanh niên sử dụng bóng cười, nghi có cả ma túy tổng hợp, {where}.",
    ),
    "gambling": (
        "Có nhóm người tụ tập đánh bạc ăn tiền {where}.",
        "Nghi có tổ chức ghi lô đề tại một quán nước {where}.",
        "Một nhóm chơi xóc đĩa ăn tiền trong nhà dân {when}.",
    ),
    "traffic": (
        "Xe tải chở vật liệu chạy tốc độ cao, rơi vãi đất cát {where}.",
        "Ô tô đỗ chắn lối đi {where}, xe cứu thương khó ra vào.",
        "Nhóm thanh niên đua xe trái phép {when}.",
        "Hàng quán lấn chiếm vỉa hè, lòng đường {where}, gây ùn tắc.",
        "Xe máy đi ngược chiều, không đội mũ bảo hiểm thường xuyên {where}.",
    ),
    "fire_risk": (
        "Đường dây điện chằng chịt, có tia lửa {where}.",
        "Một hộ kinh doanh tích trữ nhiều bình ga trong nhà ở.",
        "Người dân đốt rác, rơm rạ sát khu nhà ở {when}.",
        "Nhà trọ không có bình chữa cháy, lối thoát hiểm bị khóa.",
    ),
    "suspicious": (
        "Người lạ đi xe máy không biển số lảng vảng quan sát các nhà {when}.",
        "Có người lạ hỏi thăm nhà có người già ở một mình, nghi lừa đảo.",
        "Một ô tô lạ đỗ nhiều ngày {where}, không rõ chủ.",
        "Nhóm người lạ thuê nhà trọ nhưng không khai báo tạm trú.",
    ),
    "other": (
        "Chó thả rông không rọ mõm {where}, đã cắn một cháu nhỏ.",
        "Nắp cống bị mất {where}, nguy hiểm cho người đi đường.",
        "Cây to có nguy cơ đổ {where}.",
        "Đổ trộm phế thải xây dựng {where} {when}.",
    ),
    "fire": (
        "Cháy tủ điện, đường dây điện {where}.",
        "Cháy bếp trong nhà dân do sơ ý khi đun nấu.",
        "Cháy đống rác, cỏ khô lan sát nhà ở {where}.",
        "Cháy xe máy đang dựng trong nhà, khói lan sang nhà bên cạnh.",
        "Rò rỉ khí ga gây cháy nhỏ tại một quán ăn.",
    ),
    "rescue": (
        "Người già đi lạc, không nhớ đường về nhà.",
        "Cháu nhỏ bị kẹt trong nhà khóa trái cửa, tổ phá khóa đưa ra.",
        "Cây đổ đè lên người đi đường sau mưa giông {where}.",
        "Người bị ngã xuống ao, mương {where}.",
        "Hỗ trợ di dời tài sản của các hộ bị ngập nước {when}.",
    ),
    "accident": (
        "Va chạm giữa hai xe máy {where}, một người bị thương nhẹ.",
        "Xe máy tự ngã do đường trơn {where}.",
        "Ô tô va chạm với xe đạp điện của học sinh {where}.",
    ),
    "dispute": (
        "Tranh chấp lối đi chung giữa hai hộ liền kề.",
        "Hai gia đình xô xát vì xây nhà lấn sang đất của nhau.",
        "Mâu thuẫn giữa chủ nhà trọ và người thuê về tiền điện nước.",
    ),
}
# A team's violation, told by its kind (portal.models.VIOLATION_KINDS).
VIOLATION_DESCRIPTIONS = {
    "public_order": (
        "Nhóm thanh niên tụ tập gây mất trật tự {where}, tổ yêu cầu giải tán.",
        "Người say rượu gây rối, chửi bới người đi đường {where}.",
    ),
    "traffic": (
        "Thanh niên điều khiển xe máy lạng lách, không đội mũ bảo hiểm {where}.",
        "Xe tải đỗ sai quy định, chắn lối đi {where}.",
    ),
    "theft": (
        "Phát hiện đối tượng đang cạy khóa xe máy {where}.",
        "Tổ bắt quả tang người lấy trộm tài sản {where}.",
    ),
    "drugs": (
        "Phát hiện nhóm người sử dụng trái phép chất ma túy {where}.",
        "Kiểm tra nhóm thanh niên có biểu hiện nghi sử dụng ma túy {where}.",
    ),
    "gambling": (
        "Phát hiện nhóm người đánh bạc ăn tiền {where}.",
        "Phát hiện điểm ghi lô đề {where}.",
    ),
    "fire_safety": (
        "Hộ kinh doanh để hàng hóa dễ cháy chắn lối thoát nạn.",
        "Đốt vàng mã, rác thải sát khu dân cư {where}, không có người trông coi.",
    ),
    "residence": (
        "Nhà trọ có người ở nhưng chưa khai báo tạm trú.",
        "Phát hiện người lạ lưu trú qua đêm không khai báo {where}.",
    ),
    "sidewalk": (
        "Hàng quán lấn chiếm vỉa hè, lòng đường {where}.",
        "Dựng mái che, bày hàng hóa lấn chiếm lối đi chung {where}.",
    ),
    "other": (
        "Vứt rác, đổ phế thải xây dựng không đúng nơi quy định {where}.",
        "Thả rông gia súc trên đường {where}.",
    ),
}
WHERE = (
    "ở đầu ngõ",
    "gần chợ",
    "cạnh nhà văn hóa",
    "trước cổng trường",
    "ở bãi đất trống",
    "ven đê",
    "ở khu nhà trọ",
    "gần cây xăng",
    "ở ngã ba",
    "quanh hồ",
)
WHEN = ("vào ban đêm", "lúc rạng sáng", "vào buổi trưa", "chiều tối", "vào cuối tuần", "đêm qua")
BIKES = ("Honda Wave", "Honda Vision", "Yamaha Sirius", "Honda Air Blade", "Yamaha Exciter")
PLACE_NOTES = (
    "số {n} ngõ {m}",
    "ngách {m}/{n}",
    "cạnh nhà văn hóa",
    "đầu ngõ {m}",
    "gần cổng chợ",
    "trước trường tiểu học",
    "cuối xóm, sát bờ ao",
)
ACTIONS = {
    "violation": (
        "Nhắc nhở, lập biên bản",
        "Nhắc nhở, yêu cầu cam kết không tái phạm",
        "Lập biên bản, yêu cầu chấm dứt vi phạm",
    ),
    "violation_handed": (
        "Lập biên bản, bàn giao công an xã",
        "Giữ người vi phạm, báo công an xã đến xử lý",
        "Tạm giữ tang vật, bàn giao công an xã",
    ),
    "fire": (
        "Dùng bình chữa cháy tại chỗ dập tắt đám cháy, báo 114",
        "Ngắt điện, sơ tán người dân, phối hợp lực lượng chữa cháy",
        "Dập lửa cùng người dân, kiểm tra không còn nguy cơ cháy lại",
    ),
    "rescue": (
        "Sơ cứu, đưa người bị nạn đến trạm y tế",
        "Tìm thấy và đưa về với gia đình",
        "Hỗ trợ người dân, báo công an xã",
    ),
    "accident": (
        "Sơ cứu người bị nạn, phân luồng giao thông, báo công an",
        "Bảo vệ hiện trường, chờ công an đến giải quyết",
    ),
    "dispute": (
        "Hòa giải tại chỗ, hai bên thống nhất",
        "Mời hai bên lên nhà văn hóa hòa giải",
        "Báo công an xã, tổ hòa giải cơ sở tiếp tục giải quyết",
    ),
}

# What a team does about some kinds of violation, now and then instead of the above.
VIOLATION_ACTIONS = {
    "public_order": "Giải tán, ghi nhận sự việc",
    "gambling": "Giải tán, ghi nhận sự việc",
    "sidewalk": "Yêu cầu tháo dỡ, dọn trả vỉa hè",
    "residence": "Hướng dẫn chủ nhà khai báo tạm trú",
    "fire_safety": "Yêu cầu dọn lối thoát nạn, trang bị bình chữa cháy",
}
OFFICE_OPENS_H = 7.5  # the commune's officers decide, pass and close in office hours
OFFICE_CLOSES_H = 17.5

INCIDENT_COLUMNS = (
    "id",
    "source",
    "kind",
    "violation_kind",
    "receipt",
    "status",
    "status_at",
    "valuable",
    "case_ref",
    "passed_at",
    "occurred_at",
    "received_at",
    "description",
    "place_note",
    "geom",
    "located_by",
    "area_id",
    "commune_id",
    "team_id",
    "patrol_id",
    "action_taken",
    "handed_to_police",
    "recorded_by",
    "has_photo",
    "has_contact",
)


@dataclass
class IncidentSummary:
    tips: int = 0
    valuable: int = 0  # tips found valuable so far
    contacts: int = 0
    team: int = 0
    on_patrol: int = 0  # violations linked to the patrol that found them
    kinds: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class _Villages:
    """The current villages as arrays: where items are placed."""

    ids: np.ndarray
    communes: np.ndarray
    teams: np.ndarray  # -1 for a village no team covers
    weights: np.ndarray


def seed_incidents(
    *,
    scale: float = 1.0,
    now: datetime | None = None,
    seed: int = SEED,
    progress: Progress | None = None,
) -> IncidentSummary:
    """A year of tips and team incidents up to `now`, placed in the villages and triaged."""
    started = time.perf_counter()
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    now_s = int(now.timestamp())
    today = (now + LOCAL_OFFSET).date()
    rng = np.random.default_rng(seed)
    summary = IncidentSummary()
    villages = _load_villages(today)
    if villages is None:
        return summary
    first = today - timedelta(days=DAYS)
    items = _draw_items(rng, villages, first, now_s, scale)
    _triage(rng, items, now_s)
    if progress:
        progress("points", 0, 1)
    _place(items, villages, seed)
    if progress:
        progress("points", 1, 1)
    _write(rng, items, villages, now_s, summary, progress)
    for table in ("incidents", "tip_contacts"):
        db.session.execute(text(f"ANALYZE {table}"))
    summary.seconds = time.perf_counter() - started
    return summary


def clear_incidents() -> None:
    """Delete every incident and tip, with their contacts and photos."""
    db.session.execute(text("UPDATE incidents SET merged_into_id = NULL"))
    db.session.execute(delete(TipContact))
    db.session.execute(text("DELETE FROM incident_photos"))
    db.session.execute(delete(Incident))


def incident_count() -> int:
    """How many incidents and tips the database holds (the job skips a database that has some)."""
    return db.session.scalar(select(func.count()).select_from(Incident)) or 0


# --- where ----------------------------------------------------------------------------------


def _load_villages(today) -> _Villages | None:
    rows = db.session.execute(
        text(
            """
            SELECT DISTINCT ON (v.id) v.id, v.parent_id, t.id AS team_id, v.population,
                   ST_Area(v.geom::geography) AS m2
              FROM areas v
              LEFT JOIN team_areas ta ON ta.area_id = v.id AND ta.valid_from <= :today
                   AND (ta.valid_to IS NULL OR ta.valid_to > :today)
              LEFT JOIN teams t ON t.id = ta.team_id AND t.established_on <= :today
                   AND (t.dissolved_on IS NULL OR t.dissolved_on > :today)
             WHERE v.level = 'village' AND v.geom IS NOT NULL AND v.valid_to IS NULL
               AND NOT ST_IsEmpty(v.geom)
             ORDER BY v.id, t.id NULLS LAST
            """
        ),
        {"today": today},
    ).all()
    if not rows:
        return None
    area = np.array([max(r.m2 or 0.0, 100.0) for r in rows])
    population = np.array([r.population if r.population else np.nan for r in rows], dtype=float)
    # Weighted by population, and more than in proportion where people live densely: the
    # inner wards' small, crowded residential groups report more per resident (traffic, theft,
    # disorder) than the outer communes' villages. A village without a population counts by the
    # inverse of its area (a small village is a dense one).
    known = ~np.isnan(population)
    weights = np.empty(len(rows))
    if known.any():
        density = population[known] / area[known]
        ratio = np.clip(density / np.median(density), 0.25, 16.0)
        weights[known] = population[known] * np.sqrt(ratio)
        fill = np.median(weights[known])
    else:
        fill = 1.0
    weights[~known] = fill * np.clip(np.median(area) / area[~known], 0.1, 10.0)
    return _Villages(
        ids=np.array([r.id for r in rows], dtype=np.int64),
        communes=np.array([r.parent_id for r in rows], dtype=np.int64),
        teams=np.array([r.team_id if r.team_id else -1 for r in rows], dtype=np.int64),
        weights=weights / weights.sum(),
    )


def _place(items: dict, villages: _Villages, seed: int) -> None:
    """A random point inside each item's village, drawn by PostGIS in one statement (each
    village with its own seed: one seed for all would draw the same pattern in each)."""
    village = items["village"]
    counts = np.bincount(village, minlength=len(villages.ids))
    used = np.nonzero(counts)[0]
    rows = db.session.execute(
        text(
            """
            SELECT g.id, ST_X(p.geom) AS x, ST_Y(p.geom) AS y
              FROM unnest(CAST(:ids AS bigint[]), CAST(:ns AS int[])) AS g(id, n)
              JOIN areas a ON a.id = g.id
             CROSS JOIN LATERAL ST_Dump(
                   ST_GeneratePoints(a.geom, g.n, ((:seed + g.id * 7919) % 2000000000)::int + 1)
                   ) AS p
             ORDER BY g.id, p.path
            """
        ),
        {
            "ids": villages.ids[used].tolist(),
            "ns": counts[used].tolist(),
            "seed": seed,
        },
    ).all()
    # rows come village by village in id order, as the items sorted by village id
    order = np.argsort(villages.ids[village], kind="stable")
    if len(rows) != len(order):
        raise RuntimeError("PostGIS drew fewer points than asked")
    x = np.empty(len(village))
    y = np.empty(len(village))
    x[order] = [r.x for r in rows]
    y[order] = [r.y for r in rows]
    items["x"], items["y"] = x, y


# --- what and when --------------------------------------------------------------------------


def _draw_items(rng, villages: _Villages, first, now_s: int, scale: float) -> dict:
    """Every item's source, kind, village and times, as arrays; the violations found on the
    demo's patrols taken from their findings."""
    groups = []  # (source, kind, count)
    tip_counts = rng.multinomial(
        round(TIPS_A_YEAR * scale), np.array(list(TIP_KIND_SHARES.values()))
    )
    groups += [("tip", k, int(n)) for k, n in zip(TIP_KIND_SHARES, tip_counts, strict=True)]
    groups += [("team", k, round(n * scale)) for k, n in TEAM_A_YEAR.items()]
    source = np.concatenate([np.full(n, s, dtype=object) for s, _, n in groups])
    kind = np.concatenate([np.full(n, k, dtype=object) for _, k, n in groups])
    n = len(kind)
    tip = source == "tip"
    covered = villages.teams >= 0
    team_weights = villages.weights * covered
    village = rng.choice(len(villages.ids), n, p=villages.weights)
    if team_weights.sum() > 0:
        village[~tip] = rng.choice(
            len(villages.ids), int((~tip).sum()), p=team_weights / team_weights.sum()
        )
    else:  # no team anywhere: nothing for teams to record
        keep = tip
        source, kind, village = source[keep], kind[keep], village[keep]
        tip, n = source == "tip", int(keep.sum())

    # when: a day of the year (today only up to now), then a local hour
    first_midnight = int(datetime.combine(first, datetime.min.time(), UTC).timestamp()) - 7 * 3600
    days = np.arange(DAYS + 1)
    weekday = (first.weekday() + days) % 7
    day_w = WEEKDAY_WEIGHTS[weekday].astype(float)
    day_w[-1] *= max(min((now_s - first_midnight - DAYS * 86400) / 86400, 1.0), 0.0)
    day = rng.choice(len(days), n, p=day_w / day_w.sum())
    night = kind == "violation"
    hours = np.where(
        night,
        rng.choice(24, n, p=NIGHT_HOURS / NIGHT_HOURS.sum()),
        rng.choice(24, n, p=DAY_HOURS / DAY_HOURS.sum()),
    )
    occurred = first_midnight + day * 86400 + hours * 3600 + rng.integers(0, 3600, n)
    cutoff = now_s - 600
    late = occurred > cutoff
    occurred[late] = cutoff - rng.integers(0, 6 * 3600, int(late.sum()))
    # reported a few minutes to a few hours later; teams record theirs sooner
    delay = np.where(
        tip,
        np.clip(rng.lognormal(np.log(45 * 60), 1.0, n), 180, 12 * 3600),
        np.clip(rng.lognormal(np.log(20 * 60), 0.9, n), 120, 6 * 3600),
    ).astype(np.int64)
    received = occurred + delay

    violation_kind = np.full(n, None, dtype=object)
    is_violation = kind == "violation"
    violation_kind[is_violation] = np.array(VIOLATION_KINDS, dtype=object)[
        rng.choice(
            len(VIOLATION_KINDS),
            int(is_violation.sum()),
            p=VIOLATION_KIND_WEIGHTS / VIOLATION_KIND_WEIGHTS.sum(),
        )
    ]
    handed = np.zeros(n, dtype=bool)
    handed[is_violation] = rng.random(int(is_violation.sum())) < HANDED_SHARE
    items = {
        "source": source,
        "kind": kind,
        "violation_kind": violation_kind,
        "village": village,
        "occurred": occurred,
        "received": received,
        "handed": handed,
        "patrol": np.full(n, None, dtype=object),
    }
    _from_findings(rng, items, villages, first, now_s)
    late = items["received"] > now_s
    items["received"][late] = items["occurred"][late] + (
        (now_s - items["occurred"][late]) * rng.random(int(late.sum()))
    ).astype(np.int64)
    return items


def _from_findings(rng, items: dict, villages: _Villages, first, now_s: int) -> None:
    """Turn a share of the violations into the patrols' own findings: the kind the patrol
    recorded, a village of its team, a time during the patrol, handed over as it was."""
    violations = np.nonzero(items["kind"] == "violation")[0]
    wanted = round(ON_PATROL_SHARE * len(violations))
    if not wanted:
        return
    rows = db.session.execute(
        text(
            """
            SELECT p.id, p.team_id, p.handed_to_police AS handed,
                   extract(epoch FROM p.started_at)::bigint AS started,
                   extract(epoch FROM p.ended_at)::bigint AS ended, f.kind, f.count
              FROM patrol_findings f JOIN patrols p ON p.id = f.patrol_id
             WHERE p.status = 'done' AND p.day >= :first AND p.ended_at < :now
             ORDER BY p.id, f.kind
            """
        ),
        {"first": first, "now": datetime.fromtimestamp(now_s, UTC)},
    ).all()
    team_villages: dict[int, list[int]] = {}
    for i, team in enumerate(villages.teams.tolist()):
        if team >= 0:
            team_villages.setdefault(team, []).append(i)
    units = []  # one per violation found: (patrol row, handed)
    seen: dict[int, int] = {}
    for row in rows:
        for _ in range(row.count):
            rank = seen.get(row.id, 0)
            seen[row.id] = rank + 1
            if row.team_id in team_villages:
                units.append((row, rank < row.handed))
    if not units:
        return
    picked = rng.choice(len(units), min(wanted, len(units)), replace=False)
    picked.sort()
    for at, unit in zip(violations[: len(picked)], picked, strict=True):
        row, handed = units[unit]
        own = team_villages[row.team_id]
        weights = villages.weights[own]
        items["village"][at] = own[int(rng.choice(len(own), p=weights / weights.sum()))]
        items["violation_kind"][at] = row.kind
        items["patrol"][at] = row.id
        items["handed"][at] = handed
        items["occurred"][at] = row.started + int((row.ended - row.started) * rng.uniform(0.1, 0.9))
        items["received"][at] = row.ended + int(rng.integers(5 * 60, 90 * 60))


def _triage(rng, items: dict, now_s: int) -> None:
    """How far each item's triage went by now: the steps' times drawn from the item's receipt,
    the status the last step reached."""
    kind, source = items["kind"], items["source"]
    n = len(kind)
    tip = source == "tip"
    valuable = np.zeros(n, dtype=bool)
    tips = np.nonzero(tip)[0]
    if len(tips):
        odds = np.array([TIP_VALUE_ODDS[k] for k in kind[tips]])
        count = min(round(VALUABLE_TIPS_A_YEAR / TIPS_A_YEAR * len(tips)), len(tips))
        valuable[rng.choice(tips, count, replace=False, p=odds / odds.sum())] = True
    team = ~tip
    share = np.array([VALUABLE_SHARE.get(k, 1.0) for k in kind])
    valuable[team] = rng.random(int(team.sum())) < share[team]
    passes_share = np.array([PASSED_SHARE.get(k, 0.0) for k in kind])
    passes_share[tip] = PASSED_SHARE["tip"]
    passes = valuable & (rng.random(n) < passes_share)
    is_violation = kind == "violation"
    passes[is_violation] = valuable[is_violation] & items["handed"][is_violation]
    closes = np.where(
        passes,
        rng.random(n) < CLOSED_AFTER_PASSED,
        np.where(valuable, True, rng.random(n) < CLOSED_NOT_VALUABLE),
    )

    hour = 3600
    received = items["received"]
    checked = received + np.where(
        tip,
        np.clip(rng.lognormal(np.log(5 * hour), 0.9, n), 600, 4 * 86400),
        np.clip(rng.lognormal(np.log(2 * hour), 0.8, n), 300, 2 * 86400),
    ).astype(np.int64)
    # a tip is checked by whoever is on duty, day or night; the later steps in office hours
    decided = _office_hours(
        rng,
        checked + np.clip(rng.lognormal(np.log(20 * hour), 0.8, n), hour, 10 * 86400),
        checked + 600,
    )
    passed = _office_hours(
        rng,
        decided + np.clip(rng.lognormal(np.log(3 * 86400), 0.7, n), 2 * hour, 30 * 86400),
        decided + 600,
    )
    closed = _office_hours(
        rng,
        np.where(passes, passed, decided)
        + np.clip(rng.lognormal(np.log(12 * 86400), 0.6, n), 86400, 40 * 86400),
        np.where(passes, passed, decided) + 600,
    )

    status = np.full(n, "received", dtype=object)
    status_at = received.copy()
    for step, at, reached in (
        ("checked", checked, np.ones(n, dtype=bool)),
        ("valuable", decided, valuable),
        ("not_valuable", decided, ~valuable),
        ("passed", passed, passes),
        ("closed", closed, closes),
    ):
        done = reached & (at <= now_s)
        status[done], status_at[done] = step, at[done]
    items["status"], items["status_at"] = status, status_at
    decided_yet = decided <= now_s
    items["valuable"] = np.where(decided_yet, valuable, None)
    items["passed_at"] = np.where(passes & (passed <= now_s), passed, -1)
    items["handed"] = items["handed"] | (team & (items["passed_at"] >= 0))


def _office_hours(rng, at: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Times moved into the officers' working day (the next one when the day is over), and
    never before `after`."""
    at = at.astype(np.int64)
    local = at + 7 * 3600
    midnight = local - local % 86400
    hour = (local % 86400) / 3600
    morning = midnight + (OFFICE_OPENS_H * 3600 + rng.integers(0, 3 * 3600, len(at))).astype(
        np.int64
    )
    moved = np.where(
        hour < OFFICE_OPENS_H,
        morning,
        np.where(hour >= OFFICE_CLOSES_H, morning + 86400, local),
    )
    return np.maximum(moved - 7 * 3600, after.astype(np.int64))


# --- writing --------------------------------------------------------------------------------


def _write(rng, items: dict, villages: _Villages, now_s: int, summary, progress) -> None:
    """Ids in the order items were received, case references numbered by year, then one COPY
    per month and table."""
    order = np.argsort(items["received"], kind="stable")
    items = {k: v[order] for k, v in items.items()}
    n = len(order)
    tip = items["source"] == "tip"
    items["receipt"] = np.full(n, None, dtype=object)
    items["receipt"][tip] = _receipts(rng, int(tip.sum()))
    items["case_ref"] = _case_refs(items["passed_at"])
    recorded_by = _team_accounts()
    months = (items["received"] + 7 * 3600).astype("datetime64[s]").astype("datetime64[M]")
    month_keys = np.unique(months)
    raw = db.session.connection().connection.driver_connection
    for m, month in enumerate(month_keys):
        at = np.nonzero(months == month)[0]
        _write_month(rng, raw, {k: v[at] for k, v in items.items()}, villages, recorded_by, summary)
        if progress:
            progress("incidents", m + 1, len(month_keys))
    for k in np.unique(items["kind"]).tolist():
        summary.kinds[k] = int((items["kind"] == k).sum())
    for s in np.unique(items["status"]).tolist():
        summary.statuses[s] = int((items["status"] == s).sum())
    summary.tips = int(tip.sum())
    summary.team = n - summary.tips
    summary.valuable = int((tip & (items["valuable"] == True)).sum())  # noqa: E712  (object array)
    summary.on_patrol = int(sum(p is not None for p in items["patrol"]))


def _write_month(rng, raw, items: dict, villages: _Villages, recorded_by, summary) -> None:
    n = len(items["kind"])
    ids = _next_ids(raw, n)
    village = items["village"]
    tip = items["source"] == "tip"
    team_of = villages.teams[village]
    contact = tip & (rng.random(n) < CONTACT_SHARE)
    located = np.where(
        tip,
        rng.choice(3, n, p=LOCATED_TIP),
        rng.choice(3, n, p=LOCATED_TEAM),
    )
    notes = rng.random(n) < PLACE_NOTE_SHARE
    kinds = items["kind"].tolist()
    xs, ys = items["x"].tolist(), items["y"].tolist()  # floats whose repr round-trips exactly
    rows = []
    for i in range(n):
        k = kinds[i]
        team = int(team_of[i])
        action = None
        if not tip[i]:
            key = "violation_handed" if k == "violation" and items["handed"][i] else k
            options = ACTIONS[key]
            action = options[int(rng.integers(len(options)))]
            special = VIOLATION_ACTIONS.get(items["violation_kind"][i])
            if key == "violation" and special and rng.random() < 0.5:
                action = special
        rows.append(
            (
                int(ids[i]),
                items["source"][i],
                k,
                items["violation_kind"][i],
                items["receipt"][i],
                items["status"][i],
                _stamp(items["status_at"][i]),
                items["valuable"][i],
                items["case_ref"][i],
                _stamp(items["passed_at"][i]) if items["passed_at"][i] >= 0 else None,
                _stamp(items["occurred"][i]),
                _stamp(items["received"][i]),
                _description(rng, k, items["violation_kind"][i]),
                _place_note(rng) if notes[i] else None,
                f"SRID=4326;POINT({xs[i]!r} {ys[i]!r})",
                LOCATED_BY[located[i]],
                int(villages.ids[village[i]]),
                int(villages.communes[village[i]]),
                team if team >= 0 else None,
                items["patrol"][i],
                action,
                bool(items["handed"][i]),
                None if tip[i] else recorded_by.get(team, "demo"),
                False,
                bool(contact[i]),
            )
        )
    _copy(raw, "incidents", INCIDENT_COLUMNS, rows)
    contacts = [
        (int(ids[i]), *_contact(rng), _stamp(items["received"][i])) for i in np.nonzero(contact)[0]
    ]
    _copy(raw, "tip_contacts", ("incident_id", "name", "contact", "created_at"), contacts)
    summary.contacts += len(contacts)


def _receipts(rng, n: int) -> np.ndarray:
    """n distinct receipts "XXXX-XXXX" in the portal's alphabet, none already in use."""
    taken = set(db.session.scalars(select(Incident.receipt).where(Incident.receipt.is_not(None))))
    out: list[str] = []
    seen = set(taken)
    while len(out) < n:
        codes = RECEIPT_ALPHABET[rng.integers(0, len(RECEIPT_ALPHABET), (n - len(out), 8))]
        for code in codes:
            receipt = "".join(code[:4]) + "-" + "".join(code[4:])
            if receipt not in seen:
                seen.add(receipt)
                out.append(receipt)
    return np.array(out, dtype=object)


def _case_refs(passed_at: np.ndarray) -> np.ndarray:
    """The police's case references, numbered in the order cases were passed within a year."""
    refs = np.full(len(passed_at), None, dtype=object)
    counters: dict[int, int] = {}
    for i in np.argsort(passed_at, kind="stable"):
        if passed_at[i] < 0:
            continue
        year = datetime.fromtimestamp(int(passed_at[i]) + 7 * 3600, UTC).year
        counters[year] = counters.get(year, 0) + 1
        refs[i] = f"CAX-{year}-{counters[year]:06d}"
    return refs


def _team_accounts() -> dict[int, str]:
    """The account that records a team's items: its leader's, where the demo has one."""
    found: dict[int, str] = {}
    for team_id, username in db.session.execute(
        select(Account.team_id, Account.username)
        .where(Account.team_id.is_not(None))
        .order_by(Account.id)
    ):
        found.setdefault(team_id, username)
    return found


def _description(rng, kind: str, violation_kind: str | None) -> str:
    options = VIOLATION_DESCRIPTIONS[violation_kind] if violation_kind else DESCRIPTIONS[kind]
    template = options[int(rng.integers(len(options)))]
    return template.format(
        where=WHERE[int(rng.integers(len(WHERE)))],
        when=WHEN[int(rng.integers(len(WHEN)))],
        bike=BIKES[int(rng.integers(len(BIKES)))],
    )


def _place_note(rng) -> str:
    note = PLACE_NOTES[int(rng.integers(len(PLACE_NOTES)))]
    return note.format(n=int(rng.integers(1, 120)), m=int(rng.integers(1, 60)))


def _contact(rng) -> tuple[str | None, str]:
    """A reporter's name (or none) and phone number."""
    name = None
    if rng.random() < NAMED_CONTACT_SHARE:
        female = rng.random() < 0.45
        pick = lambda options: options[int(rng.integers(len(options)))]  # noqa: E731
        middle = pick(names.MIDDLE_FEMALE if female else names.MIDDLE_MALE)
        given = pick(names.GIVEN_FEMALE if female else names.GIVEN_MALE)
        name = f"{pick(names.SURNAMES)} {middle} {given}"
    prefix = ("09", "03", "08", "07")[int(rng.integers(4))]
    return name, prefix + "".join(str(d) for d in rng.integers(0, 10, 8))


def _next_ids(raw, n: int) -> np.ndarray:
    """n ids from the incidents' sequence, so contacts can name their item."""
    with raw.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('incidents', 'id')) FROM generate_series(1, %s)",
            (n,),
        )
        return np.array([r[0] for r in cursor.fetchall()], dtype=np.int64)


def _stamp(seconds) -> str:
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%d %H:%M:%S+00")


def _field(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool | np.bool_):
        return "t" if value else "f"
    return (
        str(value)
        .replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )


def _copy(raw, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Rows as COPY text in one statement."""
    if not rows:
        return
    body = "".join("\t".join(_field(v) for v in row) + "\n" for row in rows)
    with raw.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        copy.write(body)
