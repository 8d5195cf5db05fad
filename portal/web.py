"""Small helpers every feature's views share."""

from __future__ import annotations

import math

from flask import make_response, redirect, render_template, request, url_for

from portal.errors import BadParameter, FormInvalid, NotFound
from portal.extensions import htmx
from portal.i18n import _
from portal.inputs import to_id, to_page


def page_arg(name: str = "page") -> int:
    """A page number from the query string; anything odd means the first page, a number past
    the last page an empty page."""
    return to_page(request.args.get(name))


def id_arg(name: str) -> int | None:
    """An id from the query string; None when absent or empty. One that no row can have (not a
    number, or past PostgreSQL's integer) is not found, like an id outside one's scope."""
    text = request.args.get(name, "").strip()
    if not text:
        return None
    number = to_id(text)
    if number is None:
        raise NotFound(_("Không tìm thấy đối tượng mà tham số “{name}” chỉ tới.", name=name))
    return number


def bbox_arg(name: str = "bbox") -> tuple[float, float, float, float]:
    """A map view as west,south,east,north in degrees (Leaflet's toBBoxString); a 400 naming
    the parameter when it is missing, not four numbers, or not a box on the globe."""
    parts = request.args.get(name, "").split(",")
    try:
        box = tuple(float(p) for p in parts)
    except ValueError:
        box = ()
    if len(box) != 4 or not all(math.isfinite(v) for v in box):
        raise BadParameter(name, _("“{name}” phải là bốn số: tây,nam,đông,bắc.", name=name))
    west, south, east, north = box
    # Leaflet's view may wrap past the antimeridian or the poles: keep the part on the globe
    west, east = max(west, -180.0), min(east, 180.0)
    south, north = max(south, -90.0), min(north, 90.0)
    if west >= east or south >= north:
        raise BadParameter(name, _("“{name}” không phải một khung trên bản đồ.", name=name))
    return west, south, east, north


def _not_an_id(name: str) -> FormInvalid:
    return FormInvalid({name: _("Lựa chọn không hợp lệ: không có đối tượng nào như vậy.")})


def form_id(name: str) -> int | None:
    """An id chosen in the posted form; None when absent or empty, a field error when no row
    can have it."""
    text = request.form.get(name, "").strip()
    if not text:
        return None
    number = to_id(text)
    if number is None:
        raise _not_an_id(name)
    return number


def form_ids(name: str) -> list[int]:
    """The ids chosen in a multiple choice of the posted form; a field error if one cannot be."""
    numbers = [to_id(text) for text in request.form.getlist(name) if text.strip()]
    if None in numbers:
        raise _not_an_id(name)
    return numbers


def history_fragment(history, endpoint: str, **args) -> str:
    """An entity's change history, as the fragment its page swaps in (#history)."""
    return render_template("audit/_history.html", history=history, endpoint=endpoint, args=args)


def changed(body):
    """A response after a change: the page's history section reloads itself."""
    response = make_response(body)
    response.headers["HX-Trigger"] = "audit-changed"
    return response


def see(endpoint: str, **args):
    """After a change, go to its page: HTMX follows with a full page load, a plain form with a
    303 (so that reloading does not post again)."""
    target = url_for(endpoint, **args)
    if htmx:
        return "", 204, {"HX-Redirect": target}
    return redirect(target, code=303)
