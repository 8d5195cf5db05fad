"""The duty sheet as files: CSV (one table) and XLSX ready to print and sign (one sheet per team).

A team's month is a few dozen rows, a commune's a few hundred: both are built in the request
and sent at once, not as a job.
"""

from __future__ import annotations

import io
import re

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter

from portal.downloads import attachment, csv_text, spreadsheet_safe
from portal.duty.services import DutySheet, MemberRow, TeamBlock, month_text
from portal.i18n import _
from portal.teams.services import role_label

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
THIN = Side(style="thin")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)


def _styles() -> list[NamedStyle]:
    """The table's cell styles, registered once per book: a cell then takes a style by name,
    where setting its font, border and fill one by one costs openpyxl a hash of each (three
    times the time of filling a commune's book)."""
    return [
        NamedStyle("duty_head", font=Font(bold=True), alignment=CENTER, border=BOX),
        NamedStyle("duty_cell", border=BOX),
        NamedStyle("duty_day", border=BOX, alignment=Alignment(horizontal="center")),
        NamedStyle(
            "duty_counted",
            border=BOX,
            alignment=Alignment(horizontal="center"),
            font=Font(bold=True),
            fill=PatternFill("solid", start_color="D9EAD3"),
        ),
        NamedStyle("duty_total", font=Font(bold=True), border=BOX),
    ]


def title(sheet: DutySheet) -> str:
    return _(
        "BẢNG CHẤM CÔNG TRỰC TUẦN TRA THÁNG {month}/{year}",
        month=format(sheet.month.month, "02d"),  # no f-string: pybabel warns on one in _()
        year=sheet.month.year,
    )


def count_heading(sheet: DutySheet) -> str:
    return _("Số ca đêm") if sheet.nights else _("Số ngày trực")


def headings(sheet: DutySheet) -> list[str]:
    """STT, name, role, one column per day of the month, then the totals."""
    days = [str(d.day) for d in sheet.days]
    totals = [_("Tổng giờ"), count_heading(sheet)]
    if sheet.nights:
        totals.append(_("Ca vượt mức"))
    return [_("STT"), _("Họ và tên"), _("Chức danh"), *days, *totals]


def _hours(value: float) -> float | int | None:
    """Hours for a cell: a whole number as such, else two decimals; nothing for none."""
    if not value:
        return None
    value = round(value, 2)
    return int(value) if value == int(value) else value


def row_values(sheet: DutySheet, number: int, row: MemberRow) -> list:
    values = [number, row.member.full_name, role_label(row.member.role)]
    values += [_hours(row.hours(d)) for d in sheet.days]
    values += [_hours(row.duty.total_hours) or 0, row.duty.count]
    if sheet.nights:
        values.append(len(row.duty.excess))
    return values


def _filename(sheet: DutySheet, ext: str) -> str:
    who = f"to-{sheet.team.id}" if sheet.team else f"xa-{sheet.commune.id}"
    return f"bang-cham-cong-truc-{who}-{month_text(sheet.month)}.{ext}"


def csv_download(sheet: DutySheet):
    """One table, a team column first; UTF-8 with a BOM so that Excel reads Vietnamese."""
    rows = [
        [block.team.name, *row_values(sheet, n, row)]
        for block in sheet.blocks
        for n, row in enumerate(block.rows, 1)
    ]
    body = csv_text([_("Tên tổ"), *headings(sheet)], rows)
    return attachment(body.encode("utf-8"), "text/csv", _filename(sheet, "csv"))


def _sheet_name(name: str, taken: set[str]) -> str:
    """An Excel sheet name: no []:*?/\\, at most 31 characters, unique in the book."""
    base = re.sub(r"[\[\]:*?/\\]", " ", name).strip()[:28] or "Sheet"
    candidate, n = base, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{base[: 28 - len(str(n)) - 1]} {n}"
    taken.add(candidate.lower())
    return candidate


def _write_block(ws, sheet: DutySheet, block: TeamBlock | None) -> None:
    heads = headings(sheet)
    width = len(heads)
    last_col = get_column_letter(width)
    ws.append([spreadsheet_safe(_("Xã/phường: {name}", name=sheet.commune.name))])
    team_name = block.team.name if block else "—"
    ws.append([spreadsheet_safe(_("Tổ bảo vệ ANTT: {name}", name=team_name))])
    ws.append([title(sheet)])
    ws.merge_cells(f"A3:{last_col}3")
    ws["A3"].font = Font(bold=True, size=14)
    ws["A3"].alignment = CENTER
    ws.append([spreadsheet_safe(sheet.rule_text)])
    ws.merge_cells(f"A4:{last_col}4")
    ws["A4"].alignment = Alignment(horizontal="center")
    ws["A4"].font = Font(italic=True)
    ws.append([])
    head_row = ws.max_row + 1
    ws.append(heads)
    for cell in ws[head_row]:
        cell.style = "duty_head"
    rows = block.rows if block else []
    day_cols = range(4, 4 + len(sheet.days))
    for n, row in enumerate(rows, 1):
        ws.append([spreadsheet_safe(v) for v in row_values(sheet, n, row)])
        for cell in ws[ws.max_row]:
            cell.style = "duty_cell"
        for c, day in zip(day_cols, sheet.days, strict=True):
            ws.cell(ws.max_row, c).style = "duty_counted" if row.counts(day) else "duty_day"
    ws.append(
        [None, _("Cộng"), None, *([None] * len(sheet.days))]
        + [_hours(sum(r.duty.total_hours for r in rows)) or 0, sum(r.duty.count for r in rows)]
        + ([sum(len(r.duty.excess) for r in rows)] if sheet.nights else [])
    )
    for cell in ws[ws.max_row]:
        cell.style = "duty_total"
    ws.append([])
    ws.append([])
    date_row = ws.max_row + 1
    signers = [_("Người lập bảng"), _("Tổ trưởng"), _("Xác nhận của Công an xã")]
    # three signature blocks spread over the width: name and role, then the day columns
    third = max(width // 3, 1)
    cols = [1, 1 + third, 1 + 2 * third]
    ws.cell(date_row, cols[2], _("…, ngày … tháng … năm …")).font = Font(italic=True)
    for col, signer in zip(cols, signers, strict=True):
        ws.cell(date_row + 1, col, signer).font = Font(bold=True)
        ws.cell(date_row + 2, col, _("(Ký, ghi rõ họ tên)")).font = Font(italic=True)
    ws.column_dimensions["A"].width = 5
    ws.column_dimensions["B"].width = 26
    ws.column_dimensions["C"].width = 10
    for c in day_cols:
        ws.column_dimensions[get_column_letter(c)].width = 4.2  # narrow: 31 days on one page
    for c in range(4 + len(sheet.days), width + 1):
        ws.column_dimensions[get_column_letter(c)].width = 10
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{head_row}:{head_row}"
    ws.freeze_panes = ws.cell(head_row + 1, 4)


def xlsx_download(sheet: DutySheet):
    """A workbook with one sheet per team, set to print landscape on one page's width."""
    book = Workbook()
    book.remove(book.active)
    for style in _styles():
        book.add_named_style(style)
    taken: set[str] = set()
    for block in sheet.blocks or [None]:
        name = block.team.name if block else sheet.commune.name
        _write_block(book.create_sheet(_sheet_name(name, taken)), sheet, block)
    out = io.BytesIO()
    book.save(out)
    return attachment(out.getvalue(), XLSX, _filename(sheet, "xlsx"))
