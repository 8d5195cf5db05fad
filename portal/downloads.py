"""Files the portal hands out: one response for every export, and CSV a spreadsheet cannot run."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable

from flask import Response

# A text cell starting with one of these is taken for a formula by Excel, LibreOffice or Google
# Sheets (OWASP, "CSV injection"): =HYPERLINK(...) in a village's name would run on the
# planner's computer when they open the export.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A text cell a spreadsheet would read as a formula, with a leading apostrophe so that it
    shows as the text it is. Numbers we write (areas, coordinates, even negative ones) stay
    numbers: only text from users can carry a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(header: list[str], rows: Iterable[Iterable[object]]) -> str:
    """CSV with every text cell made spreadsheet-safe, behind a BOM so that spreadsheet
    programs read it as UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([spreadsheet_safe(v) for v in header])
    writer.writerows([spreadsheet_safe(v) for v in row] for row in rows)
    return "\ufeff" + out.getvalue()


def attachment(body: str | bytes, mimetype: str, filename: str) -> Response:
    """A download saved as `filename`, never stored by a browser or proxy cache: an export holds
    a scope's data whoever asked for it, and a shared computer's cache must not keep it."""
    safe_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename)  # nothing that could end the header
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{safe_name}"',
            "Cache-Control": "no-store",
        },
    )
