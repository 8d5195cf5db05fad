"""Area browser: province -> communes -> villages, search, and an area's page with its map.

One URL per resource: an HTMX request for a part of the page (search results, a page of
children) gets that fragment, any other request the whole page.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from portal.areas import police, services
from portal.errors import FormInvalid
from portal.extensions import htmx
from portal.security import protect_blueprint
from portal.web import history_fragment, page_arg, see

bp = Blueprint("areas", __name__, url_prefix="/areas")
protect_blueprint(bp)
bp.add_app_template_global(services.kind_label, "kind_label")
bp.add_app_template_global(services.land_area_text, "land_area")


@bp.get("/")
def index():
    q = request.args.get("q", "").strip()
    results = services.search(q, page_arg()) if q else None
    if htmx and htmx.target == "search-results":
        return render_template("areas/_search_results.html", q=q, results=results)
    return render_template("areas/index.html", q=q, results=results, roots=services.roots())


@bp.get("/<int:area_id>")
def show(area_id: int):
    target = (htmx.target or "") if htmx else ""
    if target.startswith("children-"):
        area, page = services.children(area_id, page_arg())
        return render_template("areas/_children.html", parent=area, page=page)
    if target == "history":
        area, history = services.history(area_id, page_arg("history_page"))
        return history_fragment(history, "areas.show", area_id=area.id)
    view = services.area_view(area_id, page_arg(), page_arg("history_page"))
    return render_template("areas/page.html", view=view)


@bp.route("/<int:area_id>/police", methods=["GET", "POST"])
def edit_police(area_id: int):
    """The commune police's public contact, as citizens see it on the look-up."""
    commune = police.editable_commune(area_id)
    form, errors, status = police.form_for(commune), {}, 200
    if request.method == "POST":
        form = police.PoliceForm.from_form(request.form)
        try:
            police.save(commune, form)
        except FormInvalid as exc:
            errors, status = exc.fields, exc.status
        else:
            return see("areas.show", area_id=commune.id)
    page = render_template("areas/police.html", area=commune, form=form, errors=errors)
    return page, status
