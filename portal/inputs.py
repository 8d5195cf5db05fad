"""What the portal accepts from a request, checked in one place for every route.

No input may reach the database in a form it refuses (a 500):

- Control characters: PostgreSQL cannot store NUL in text, and no name, number or search needs
  the other C0 controls (they also break the XML of KML and GeoPackage exports). Any query or
  form value, parameter name or uploaded file name holding one is refused with 400 naming it.
- Integers: every id column is a PostgreSQL integer. `<int:…>` in a route matches nothing past
  it (404, as for any id one cannot see), and ids typed into query strings and forms go through
  `to_id` (portal.web wraps it for views).
- Lengths: a text longer than the String(n) column that stores it is a field error, with the
  length read from the model, so a column widened by a migration needs no second edit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Flask, request
from sqlalchemy import inspect
from werkzeug.routing import IntegerConverter

from portal.errors import BadParameter
from portal.i18n import _

MAX_ID = 2**31 - 1  # PostgreSQL's integer, the type of every id column
# C0 controls but tab, line feed and carriage return, which a textarea may send
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _numbers_up_to(limit: int) -> str:
    """A regular expression for the numbers 0 to `limit` written without leading zeros."""
    digits = str(limit)
    width = len(digits)
    parts = ["0"] + ([rf"[1-9][0-9]{{0,{width - 2}}}"] if width > 1 else [])
    for i, digit in enumerate(digits):  # `limit`'s first i digits, then a smaller one
        low = 1 if i == 0 else 0
        if int(digit) > low:
            rest = width - i - 1
            parts.append(
                f"{digits[:i]}[{low}-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else "")
            )
    parts.append(digits)
    return "(?:" + "|".join(parts) + ")"


class IdConverter(IntegerConverter):
    """`<int:…>` for every route: a number no id column can hold matches nothing (404).

    The limit is in the regular expression, not only in to_python: werkzeug answers 405, not
    404, when a path's converter refuses it for one method while another method's rule exists.
    """

    regex = _numbers_up_to(MAX_ID)

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


def to_id(text: str | None) -> int | None:
    """The id typed, or None: ASCII digits only (str.isdigit also takes "²", which int()
    refuses) and within PostgreSQL's integer."""
    text = (text or "").strip().lstrip("0")
    if not text.isascii() or not text.isdigit() or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if number <= MAX_ID else None


def to_page(text: str | None) -> int:
    """A page number: anything that is not one means the first page; a number past the last
    page is an empty page, kept within what PostgreSQL's OFFSET can take."""
    text = (text or "").strip().lstrip("0")
    if not text.isascii() or not text.isdigit():
        return 1
    return int(text) if len(text) <= len(str(MAX_ID)) and int(text) <= MAX_ID else MAX_ID


def _shown(name: str) -> str:
    """A parameter's name as a message can show it: controls replaced, and not too long."""
    name = CONTROL.sub("\ufffd", name)
    return name if len(name) <= 40 else name[:40] + "…"


def refuse_control_characters() -> None:
    """Before every view: 400 naming the first parameter holding a control character."""
    sources = [request.args.items(multi=True), request.form.items(multi=True)]
    sources.append((name, file.filename or "") for name, file in request.files.items(multi=True))
    for pairs in sources:
        for name, value in pairs:
            if CONTROL.search(name) or CONTROL.search(value):
                raise BadParameter(
                    name,
                    _(
                        "Tham số “{name}” chứa ký tự điều khiển (như NUL), không được chấp nhận.",
                        name=_shown(name),
                    ),
                )


def too_long(values: Mapping[str, Any], model: type | None = None, **columns) -> dict[str, str]:
    """{field: message} for each text longer than the String(n) column that stores it: the
    model's column of the same name, or the column given for the field (names=Area.name)."""
    known = inspect(model).columns if model is not None else {}
    errors = {}
    for field, value in values.items():
        column = columns.get(field)
        if column is None:
            column = known.get(field)
        limit = getattr(getattr(column, "type", None), "length", None)
        if isinstance(value, str) and limit and len(value) > limit:
            errors[field] = _("Dài quá {n} ký tự cho phép (đang có {m}).", n=limit, m=len(value))
    return errors


def init_app(app: Flask) -> None:
    """Before any blueprint adds its routes: the converter is looked up as rules are added."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(refuse_control_characters)
