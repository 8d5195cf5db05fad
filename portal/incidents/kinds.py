"""Labels and colours of the kinds and statuses of tips and incidents (Vietnamese, translated)."""

from __future__ import annotations

from portal.i18n import _, label

KIND_LABELS = {
    # a citizen's tip
    "theft": "Trộm cắp",
    "disorder": "Đánh nhau, gây rối",
    "drugs": "Ma túy",
    "gambling": "Cờ bạc",
    "traffic": "Giao thông",
    "fire_risk": "Nguy cơ cháy nổ",
    "suspicious": "Người, phương tiện khả nghi",
    "other": "Việc khác",
    # a team's incident
    "violation": "Vi phạm pháp luật",
    "fire": "Cháy, nổ",
    "rescue": "Cứu nạn, cứu hộ",
    "accident": "Tai nạn giao thông",
    "dispute": "Hòa giải mâu thuẫn",
}
STATUS_LABELS = {
    "received": "Mới nhận",
    "checked": "Đã kiểm tra",
    "valuable": "Có giá trị",
    "not_valuable": "Không có giá trị",
    "passed": "Đã chuyển công an",
    "closed": "Đã kết thúc",
}
SOURCE_LABELS = {"tip": "Tin báo của người dân", "team": "Tổ ghi nhận"}
LOCATED_LABELS = {
    "map": "Ghim trên bản đồ",
    "gps": "Vị trí của điện thoại",
    "village": "Chọn thôn, tổ dân phố",
}
# one colour per kind on the maps (markers, legend); tips warm, team incidents cool
KIND_COLOURS = {
    "theft": "#d62828",
    "disorder": "#f77f00",
    "drugs": "#6a040f",
    "gambling": "#9d4edd",
    "traffic": "#fcbf49",
    "fire_risk": "#e85d04",
    "suspicious": "#7f5539",
    "other": "#6c757d",
    "violation": "#1d3557",
    "fire": "#ff0054",
    "rescue": "#2a9d8f",
    "accident": "#457b9d",
    "dispute": "#588157",
}
# a marker's outline says its status: open items stand out, finished ones fade
STATUS_STYLES = {
    "received": {"color": "#ffffff", "weight": 3, "fillOpacity": 0.95},
    "checked": {"color": "#ffffff", "weight": 2, "fillOpacity": 0.9},
    "valuable": {"color": "#000000", "weight": 2, "fillOpacity": 0.9},
    "not_valuable": {"color": "#adb5bd", "weight": 1, "fillOpacity": 0.45},
    "passed": {"color": "#000000", "weight": 1, "fillOpacity": 0.6},
    "closed": {"color": "#adb5bd", "weight": 1, "fillOpacity": 0.45},
}


def kind_label(kind: str | None) -> str:
    return label(KIND_LABELS, kind) if kind else "—"


def status_label(status: str | None) -> str:
    return label(STATUS_LABELS, status) if status else "—"


def source_label(source: str | None) -> str:
    return label(SOURCE_LABELS, source) if source else "—"


def located_label(how: str | None) -> str:
    return label(LOCATED_LABELS, how) if how else "—"


def kind_choices(kinds) -> list[tuple[str, str]]:
    return [(k, _(KIND_LABELS[k])) for k in kinds]
