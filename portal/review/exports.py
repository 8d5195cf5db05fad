"""The review as files: a CSV of each table (small, made in the request), the XLSX of every
table (one sheet each, made by a job: portal.review.jobs) and the printable official report.

The tables are built once here from a Review, as plain rows of numbers and text, so that the
CSV, the workbook and the printed report show the same figures under the same headings.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, NamedStyle, Side
from openpyxl.utils import get_column_letter

from portal import jobs
from portal.downloads import attachment, csv_text, spreadsheet_safe
from portal.errors import NotFound
from portal.i18n import _, current_language, format_date, format_month, thousands
from portal.i18n import number as number_text
from portal.incidents import kinds as incident_kinds
from portal.incidents.filters import today
from portal.models import Job
from portal.review import periods, services
from portal.review.queries import Place
from portal.review.services import UNIT_FIGURES, Figures, Review
from portal.text import fold, without_kind

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JOB_KIND = "review.xlsx"
TABLES = ("tong-hop", "theo-thang", "theo-loai", "theo-don-vi")
# figures with decimals (a share, hours): one decimal in the files, as on the page
DECIMALS = {"coverage", "handover_hours"}
MONTH_FIGURES = ("patrols", "violations", "tips", "valuable", "fire", "rescue")


@dataclass
class Table:
    """One table of the review: its sheet's name, headings, rows and (maybe) a total row."""

    key: str
    name: str
    header: list[str]
    rows: list[list] = field(default_factory=list)
    total: list | None = None

    @property
    def all_rows(self) -> list[list]:
        return self.rows + ([self.total] if self.total else [])


def number(key: str, value) -> float | int | None:
    """A figure for a cell: a number (never text), one decimal for shares and hours."""
    if value is None:
        return None
    return round(float(value), 1) if key in DECIMALS else int(value)


def _summary(r: Review) -> Table:
    table = Table(
        "tong-hop",
        _("Tổng hợp"),
        [_("Chỉ tiêu"), _("Kỳ này"), _("Kỳ trước"), _("Tăng, giảm"), _("Tăng, giảm (%)")],
    )
    for c in r.changes:
        percent = round(c.percent, 1) if c.percent is not None else None
        delta = number(c.key, c.delta) if c.delta is not None else None
        table.rows.append([c.label, number(c.key, c.now), number(c.key, c.before), delta, percent])
    return table


def _month_values(f: Figures) -> list[int]:
    return [f.value(k) for k in MONTH_FIGURES]


def _months(r: Review) -> Table:
    table = Table(
        "theo-thang",
        _("Theo tháng"),
        [_("Tháng"), *(services.figure_label(k) for k in MONTH_FIGURES)],
    )
    table.rows = [[m.label, *_month_values(m.figures)] for m in r.months_shown]
    table.total = [_("Cộng"), *_month_values(r.figures)]
    return table


def _kinds(r: Review) -> Table:
    table = Table(
        "theo-loai",
        _("Theo loại"),
        [_("Nguồn"), _("Loại"), _("Số tin, vụ"), _("Có giá trị"), _("Đã chuyển công an")],
    )
    table.rows = [
        [incident_kinds.source_label(k.source), k.label, k.items, k.valuable, k.passed]
        for k in r.kinds
    ]
    return table


def _units(r: Review) -> Table:
    name = _("Theo xã, phường") if r.place.level == "city" else _("Theo tổ")
    table = Table(
        "theo-don-vi", name, [r.unit_heading, *(services.figure_label(k) for k in UNIT_FIGURES)]
    )
    table.rows = [[u.name, *(number(k, u.figures.value(k)) for k in UNIT_FIGURES)] for u in r.units]
    return table


def tables(r: Review) -> list[Table]:
    """Every table of the review, in the report's order; a team has no table by unit."""
    out = [_summary(r), _months(r), _kinds(r)]
    if r.units:
        out.append(_units(r))
    return out


def table(r: Review, key: str) -> Table:
    for t in tables(r):
        if t.key == key:
            return t
    raise NotFound(_("Không có bảng này."))


# --- files ----------------------------------------------------------------------------------


def filename(r: Review, ext: str, table_key: str | None = None) -> str:
    """so-ket_phuong-ba-dinh_2025-12_2026-11.xlsx: the place and the period, in ASCII."""
    place = re.sub(r"[^a-z0-9]+", "-", fold(r.title)).strip("-") or "so-ket"
    parts = ["so-ket", place, r.period.slug] + ([table_key] if table_key else [])
    return "_".join(parts) + "." + ext


def review_for(args, commune_id: int | None, team_id: int | None) -> Review:
    """The review the arguments name, within the account's scope (404 outside it)."""
    place = services.place_for(commune_id, team_id)
    return services.review(periods.parse(args, today()), place)


def csv_download(args, commune_id: int | None, team_id: int | None, key: str):
    """One table as CSV, made at once: a table is at most a few hundred rows."""
    if key not in TABLES:
        raise NotFound(_("Không có bảng này."))
    r = review_for(args, commune_id, team_id)
    found = table(r, key)
    body = csv_text(found.header, found.all_rows)
    return attachment(body.encode("utf-8"), "text/csv", filename(r, "csv", key))


def _styles() -> list[NamedStyle]:
    """Cell styles registered once per book, taken by name (see portal.duty.sheets)."""
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    return [
        NamedStyle(
            "review_head",
            font=Font(bold=True),
            border=box,
            alignment=Alignment(horizontal="center", vertical="center", wrap_text=True),
        ),
        NamedStyle("review_text", border=box),
        NamedStyle("review_int", border=box, number_format="#,##0"),
        NamedStyle("review_decimal", border=box, number_format="#,##0.0"),
        NamedStyle("review_total", border=box, font=Font(bold=True), number_format="#,##0"),
    ]


def _previous_note(r: Review) -> str:
    """Why the changes of flows are blank: the portal had not recorded the period before."""
    if r.previous_complete:
        return ""
    since = format_month(r.records_since)
    return _("Kỳ trước chưa đủ số liệu (cổng ghi nhận từ tháng {m}).", m=since) + " "


def _write_table(ws, r: Review, t: Table) -> None:
    width = len(t.header)
    last = get_column_letter(max(width, 2))
    ws.append([spreadsheet_safe(f"{r.title} · {r.period.label}")])
    ws.merge_cells(f"A1:{last}1")
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(
        [
            spreadsheet_safe(
                _("So với kỳ trước: {p}.", p=r.previous.label)
                + " "
                + _previous_note(r)
                + _("Số tổ, thành viên và thôn có tổ tính đến ngày {d}.", d=format_date(r.as_of))
            )
        ]
    )
    ws.merge_cells(f"A2:{last}2")
    ws["A2"].font = Font(italic=True)
    ws.append([])
    ws.append([spreadsheet_safe(h) for h in t.header])
    for cell in ws[4]:
        cell.style = "review_head"
    for row in t.rows:
        ws.append([spreadsheet_safe(v) for v in row])
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, float):
                cell.style = "review_decimal"
            elif isinstance(cell.value, int):
                cell.style = "review_int"
            else:
                cell.style = "review_text"
    if t.total:
        ws.append([spreadsheet_safe(v) for v in t.total])
        for cell in ws[ws.max_row]:
            cell.style = "review_total"
    ws.freeze_panes = "B5"  # the headings and the first column stay in view
    ws.column_dimensions["A"].width = 44 if t.key == "tong-hop" else 28
    for c in range(2, width + 1):
        ws.column_dimensions[get_column_letter(c)].width = 14
    ws.row_dimensions[4].height = 45
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.print_title_rows = "4:4"


def workbook(r: Review, progress=None) -> bytes:
    """The review as an XLSX book, one sheet per table."""
    book = Workbook()
    for style in _styles():
        book.add_named_style(style)
    book.remove(book.active)
    found = tables(r)
    for n, t in enumerate(found, 1):
        _write_table(book.create_sheet(t.name[:31]), r, t)
        if progress:
            progress("export", n, len(found))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def start_xlsx(args, commune_id: int | None, team_id: int | None) -> Job:
    """The XLSX as a job the user follows on its page; scope and period checked now (a wrong
    one answers at once) and again in the job, as the account that asked."""
    place = services.place_for(commune_id, team_id)
    period = periods.parse(args, today())
    title = services._title(place)[0]
    label = _("Sơ kết {place}, {period} (XLSX)", place=title, period=period.label)
    params = {"commune": place.commune_id, "team": place.team_id, "period": period.args()}
    return jobs.submit(JOB_KIND, params, label)


# --- the printed report -----------------------------------------------------------------------


@dataclass
class Report:
    """The review laid out as an official report (Nghị định 30/2020/NĐ-CP): who issues it,
    its number line, place and date, title, and who receives and signs it."""

    review: Review
    tables: dict[str, Table]
    issuer_above: str | None  # the body above the issuer, e.g. "CÔNG AN THÀNH PHỐ HÀ NỘI"
    issuer: str
    who: str  # the issuer in a sentence: "Công an Phường Ba Đình"
    number_code: str  # "BC-CAP": the number itself is written in by the office
    place_name: str  # "Hà Nội", "Ba Đình"
    day: date
    recipients: list[str]
    signer: str


def _police_of(commune_name: str) -> str:
    return _("Công an {name}", name=commune_name).upper()


def report(args, commune_id: int | None, team_id: int | None) -> Report:
    """The printable report of the review the arguments name (scope as for the page)."""
    r = review_for(args, commune_id, team_id)
    city = r.title if r.place.level == "city" else services._title(Place("city"))[0]
    city_police = _police_of(city)
    if r.place.level == "city":
        issuer_above, issuer, code = None, city_police, "BC-CATP"
        place_name = without_kind(city)
        recipients = [_("Ủy ban nhân dân thành phố (để báo cáo);"), _("Lưu: VT.")]
        signer = _("GIÁM ĐỐC")
        who = _("Công an {name}", name=city)
    else:
        commune = r.commune_name or ""
        phuong = commune.lower().startswith("phường")
        code = "BC-CAP" if phuong else "BC-CAX"
        place_name = without_kind(commune)
        recipients = [
            _("Công an thành phố (để báo cáo);"),
            _("Ủy ban nhân dân {name} (để báo cáo);", name=commune),
            _("Lưu: VT."),
        ]
        if r.place.level == "team":
            issuer_above, issuer = _police_of(commune), (r.team_name or "").upper()
            code, signer = "BC-TBV", _("TỔ TRƯỞNG")
            who = r.team_name or ""
            recipients.insert(0, _("Công an {name};", name=commune))
        else:
            issuer_above, issuer = city_police, _police_of(commune)
            signer = _("TRƯỞNG CÔNG AN")
            who = _("Công an {name}", name=commune)
    return Report(
        review=r,
        tables={t.key: t for t in tables(r)},
        issuer_above=issuer_above,
        issuer=issuer,
        who=who,
        number_code=code,
        place_name=place_name,
        day=today(),
        recipients=recipients,
        signer=signer,
    )


def cell_text(value) -> str:
    """A table cell as the printed report writes it: 1.234, 98,9, "—" for none."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return number_text(value, 1)
    if isinstance(value, int):
        return thousands(value)
    return str(value)


def date_line(report: Report) -> str:
    """ "Hà Nội, ngày 05 tháng 02 năm 2026": a day below 10, and January and February, with a
    leading zero (Nghị định 30/2020/NĐ-CP, Phụ lục I)."""
    day = report.day
    if current_language() != "vi":
        # the decree's words are Vietnamese; an English reader gets the portal's own date
        return _("{place}, {date}", place=report.place_name, date=format_date(day))
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return _(
        "{place}, ngày {d} tháng {m} năm {y}",
        place=report.place_name,
        d=format(day.day, "02d"),  # no f-string in _(): pybabel warns
        m=month,
        y=day.year,
    )
