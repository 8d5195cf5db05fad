"""Labels and colours of the kinds and statuses of tips and incidents (Vietnamese, translated)."""

from __future__ import annotations

from portal.i18n import N_, _, label

KIND_LABELS = {
    # a citizen's tip
    "theft": N_("Trộm cắp"),
    "disorder": N_("Đánh nhau, gây rối"),
    "drugs": N_("Ma túy"),
    "gambling": N_("Cờ bạc"),
    "traffic": N_("Giao thông"),
    "fire_risk": N_("Nguy cơ cháy nổ"),
    "suspicious": N_("Người, phương tiện khả nghi"),
    "other": N_("Việc khác"),
    # a team's incident
    "violation": N_("Vi phạm pháp luật"),
    "fire": N_("Cháy, nổ"),
    "rescue": N_("Cứu nạn, cứu hộ"),
    "accident": N_("Tai nạn giao thông"),
    "dispute": N_("Hòa giải mâu thuẫn"),
}
STATUS_LABELS = {
    "received": N_("Mới nhận"),
    "checked": N_("Đã kiểm tra"),
    "valuable": N_("Có giá trị"),
    "not_valuable": N_("Không có giá trị"),
    "passed": N_("Đã chuyển công an"),
    "closed": N_("Đã kết thúc"),
}
SOURCE_LABELS = {"tip": N_("Tin báo của người dân"), "team": N_("Tổ ghi nhận")}
LOCATED_LABELS = {
    "map": N_("Ghim trên bản đồ"),
    "gps": N_("Vị trí của điện thoại"),
    "village": N_("Chọn thôn, tổ dân phố"),
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
