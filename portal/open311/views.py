"""Open311 GeoReport v2 at /open311/v2/: discovery, services, a service's definition, requests
POST and GET. Public, no sign-in and no key, as the tip form; errors as Open311's error list."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, g, request, url_for

from portal.errors import NotFound, errors_under
from portal.extensions import csrf
from portal.i18n import _, language_asked
from portal.open311 import formats, services
from portal.tips import api_doc

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
# every error under /open311/ (a bad field, a 404 of an unknown URL, a 429, a 503) in Open311's
# error list and the URL's format
errors_under(formats.PREFIX, lambda view: formats.error(view.status, view.message, view.details))
FMT = "<ext>"  # json or xml (a plain argument: the route walks of the tests fill it in)


@bp.before_app_request
def choose_language():
    # before routing: a 404 or 405 of an Open311 URL speaks the client's language too
    if request.path.startswith(formats.PREFIX):
        lang = language_asked("locale")  # ?locale=en, or Accept-Language
        if lang:
            g.lang = lang


@bp.before_request
def known_format():
    if request.view_args.get("ext") not in formats.EXTENSIONS:
        raise NotFound(_("Open311 trả lời dạng .json hoặc .xml."))


@bp.after_app_request
def vary_on_language(response):
    if request.path.startswith(formats.PREFIX):
        response.vary.add("Accept-Language")
    return response


@bp.get(f"/discovery.{FMT}")
def discovery(ext: str):
    url = url_for("open311.discovery", ext="json", _external=True).rsplit("/", 1)[0]
    return formats.render(services.discovery(url), ext, "discovery")


@bp.get(f"/services.{FMT}")
def service_list(ext: str):
    return formats.render(services.services(), ext, "services")


@bp.get(f"/services/<service_code>.{FMT}")
def definition(service_code: str, ext: str):
    return formats.render(services.definition(service_code), ext, "service_definition")


@bp.post(f"/requests.{FMT}")
@csrf.exempt  # apps send no cookie and no token; a page of another site is refused by its Origin
def create(ext: str):
    """POST requests: form-encoded (as the spec), multipart with a `media` photo, or JSON."""
    services.refuse_cross_site(request.headers, request.host_url)
    if request.is_json:
        values, photo = api_doc.read_tip(request)
    else:
        values = request.form
        upload = request.files.get("media")
        photo = upload.read() if upload and upload.filename else None
    tip = services.submit(values, photo, request.remote_addr, datetime.now(UTC))
    return formats.render(services.received(tip), ext, "service_requests")


@bp.get(f"/requests.{FMT}")
def request_list(ext: str):
    asked = services.asked(request.args.get("service_request_id"))
    response = formats.render(
        services.requests(asked, request.remote_addr), ext, "service_requests"
    )
    response.cache_control.no_store = True  # receipts and their answers, as the status page
    return response


@bp.get(f"/requests/<service_request_id>.{FMT}")
def one_request(service_request_id: str, ext: str):
    found = services.request(service_request_id, request.remote_addr)
    response = formats.render(found, ext, "service_requests")
    response.cache_control.no_store = True
    return response
