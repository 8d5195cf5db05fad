"""Open311 GeoReport v2 over the tips: our tip kinds as services, a service request as a tip.

Nothing here checks or stores a tip itself: a request is translated into the tip form's fields and
goes through portal.tips.services (parse, then submit), so its rules, text limits, placement
inside the served communes, per-address limits, audit and privacy are the form's, and a status is
read by the receipt through the same status look-up (counted, as the status page's).

What differs from the specification, and why (README, "Open311"):
- a request needs lat and long: the portal has no geocoder, so address_string alone cannot say
  which village's team receives the tip; address_string is kept as the form's place note;
- media_url is refused (400): the portal has no network out, and fetching a URL a client gives
  is server-side request forgery; a photo may be uploaded as the multipart file `media` instead;
- GET requests lists no one's tips: only those named by service_request_id (each a receipt,
  the secret that lets its reporter follow it) are answered, and each name counts as a look-up;
- a request's answer carries what the status page shows: no description, no point, no contact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from portal.errors import BadParameter, Forbidden, FormInvalid, NotFound
from portal.i18n import _
from portal.incidents import kinds
from portal.incidents.filters import LOCAL_TZ
from portal.models import TIP_KINDS, Incident, Status
from portal.tips import services as tips
from portal.tips.services import TipStatus

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-29T00:00:00+07:00"  # when the services last changed: clients re-read then
FORMATS = ("text/xml", "application/json")
MAX_IDS = 10  # receipts asked for at once; every one counts against the look-up limit
ATTRIBUTE_WHEN = "attribute[occurred_at]"


def _described() -> dict[str, tuple[str, str]]:
    """What each kind covers and the words it is searched by, in the request's language (literal
    _() calls, so that the translation check and the catalogue extraction see them)."""
    return {
        "theft": (
            _("Trộm, cướp, giật tài sản; xe, đồ đạc bị mất."),
            _("trộm, cướp, giật, mất cắp"),
        ),
        "disorder": (
            _("Đánh nhau, tụ tập gây rối, gây ồn ào mất trật tự."),
            _("đánh nhau, gây rối, ồn ào"),
        ),
        "drugs": (_("Mua bán, sử dụng, tàng trữ ma túy."), _("ma túy, nghiện")),
        "gambling": (_("Đánh bạc, tổ chức đánh bạc, lô đề."), _("cờ bạc, lô đề, cá độ")),
        "traffic": (
            _("Đua xe, lấn chiếm lòng đường, vi phạm giao thông kéo dài."),
            _("giao thông, đua xe, lấn chiếm"),
        ),
        "fire_risk": (
            _("Nguy cơ cháy nổ: tàng trữ xăng dầu, dây điện chập, lối thoát bị chặn."),
            _("cháy, nổ, xăng dầu, điện"),
        ),
        "suspicious": (
            _("Người lạ, phương tiện khả nghi, dò hỏi nhà vắng chủ."),
            _("khả nghi, người lạ, phương tiện lạ"),
        ),
        "other": (_("Việc khác về an ninh, trật tự ở khu dân cư."), _("khác, an ninh, trật tự")),
    }


# the tip form's fields as an Open311 client names them, for the errors it is told
PARAMETERS = {
    "kind": "service_code",
    "occurred_at": ATTRIBUTE_WHEN,
    "description": "description",
    "place_note": "address_string",
    "where": "lat, long",
    "contact_name": "first_name, last_name",
    "photo": "media",
}


def services() -> list[dict]:
    """GET services: every tip kind, named and described in the request's language."""
    described = _described()
    return [
        {
            "service_code": kind,
            "service_name": kinds.kind_label(kind),
            "description": described[kind][0],
            "metadata": True,  # one optional attribute: when it happened
            "type": "realtime",  # the receipt is the answer to the POST itself
            "keywords": described[kind][1],
            "group": _("Tin báo an ninh, trật tự"),
        }
        for kind in TIP_KINDS
    ]


def definition(service_code: str) -> dict:
    """GET services/{code}: the form's one field Open311 has no name for, when it happened."""
    if service_code not in TIP_KINDS:
        raise NotFound(
            _("Không có dịch vụ mã “{code}”; xem services.json.", code=service_code[:40])
        )
    when = {
        "variable": True,
        "code": "occurred_at",
        "datatype": "datetime",
        "required": False,
        "datatype_description": _(
            "ISO 8601, ví dụ 2026-11-28T21:30:00+07:00; không có múi giờ là giờ Việt Nam."
        ),
        "order": 1,
        "description": _(
            "Việc xảy ra lúc nào; bỏ trống là lúc gửi. Không quá {n} ngày trước.",
            n=tips.OLDEST_DAYS,
        ),
    }
    return {"service_code": service_code, "attributes": [when]}


def discovery(url: str) -> dict:
    """GET discovery: the one production endpoint, its formats and the specification."""
    return {
        "changeset": CHANGESET,
        "contact": _("Khẩn cấp gọi 113. Tin báo được công an xã, phường nơi xảy ra đọc."),
        "key_service": _("Không cần khóa API: gửi tin không cần đăng ký, như biểu mẫu báo tin."),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": url,
                "changeset": CHANGESET,
                "type": "production",
                "formats": list(FORMATS),
            }
        ],
    }


# --- POST requests ----------------------------------------------------------------------------


def _text(values: Mapping, name: str) -> str:
    value = values.get(name)
    return str(value).strip() if value is not None else ""


def refuse_cross_site(headers: Mapping, host_url: str) -> None:
    """Forbidden for a request a browser sends from another site's page. The spec's form-encoded
    POST needs no CORS preflight, so without this any page could send tips in its visitors'
    names and from their addresses (past the per-address limit); apps and servers send no
    Origin, and a web client elsewhere could not read our answer anyway (no CORS)."""
    origin = headers.get("Origin")
    ours = urlsplit(host_url).netloc
    if headers.get("Sec-Fetch-Site") == "cross-site" or (
        origin and urlsplit(origin).netloc != ours
    ):
        raise Forbidden(_("Không nhận tin báo gửi từ trang web của nơi khác."))


def to_tip_fields(values: Mapping, now: datetime) -> tuple[dict, dict[str, str]]:
    """The tip form's fields from an Open311 request, and the refusals Open311 alone makes
    (no service_code, media_url); the form's own rules are left to the form's parse."""
    refused: dict[str, str] = {}
    code = _text(values, "service_code")
    if not code:
        refused["service_code"] = _("Thiếu service_code: mã loại việc, xem services.json.")
    elif code not in TIP_KINDS:
        refused["service_code"] = _(
            "Không có dịch vụ mã “{code}”; xem services.json.", code=code[:40]
        )
    if _text(values, "media_url"):
        refused["media_url"] = _(
            "Không nhận media_url: cổng không tải tệp từ địa chỉ do người gửi đưa. Gửi lại không"
            " có media_url, hoặc gửi ảnh kèm theo dưới dạng tệp “media”."
        )
    phone, email = _text(values, "phone"), _text(values, "email")
    name = " ".join(p for p in (_text(values, "first_name"), _text(values, "last_name")) if p)
    fields = {
        "kind": code,
        # Open311 has no "when": without the attribute it is the time of sending
        "occurred_at": _text(values, ATTRIBUTE_WHEN) or now.astimezone(LOCAL_TZ).isoformat(),
        "description": _text(values, "description"),
        "lat": _text(values, "lat"),
        "lon": _text(values, "long"),
        "located_by": "map",
        "place_note": _text(values, "address_string"),
        "contact_name": name,
        "contact": phone or email,  # the form keeps one contact: the phone when both are given
    }
    return fields, refused


def _renamed(fields: dict[str, str], values: Mapping, has_point: bool) -> dict[str, str]:
    """The form's refusals under the names the Open311 client sent."""
    named = {}
    for field, message in fields.items():
        if field == "kind":
            continue  # said in Open311's words already
        if field == "contact":
            name = "phone" if _text(values, "phone") else "email"
        else:
            name = PARAMETERS.get(field, field)
        if field == "where" and not has_point:
            message = _(
                "Cần lat và long (WGS 84) của nơi xảy ra: cổng không tìm được vị trí từ"
                " address_string."
            )
        named[name] = message
    return named


def submit(values: Mapping, photo: bytes | None, address: str | None, now: datetime) -> Incident:
    """POST requests: the tip through the form's own parse and submit; FormInvalid naming every
    bad parameter at once, TooManyTips past the form's per-address limits."""
    fields, refused = to_tip_fields(values, now)
    has_point = bool(fields["lat"] or fields["lon"])
    try:
        tip = tips.parse(fields, photo)
    except FormInvalid as exc:
        raise FormInvalid({**refused, **_renamed(exc.fields, values, has_point)}) from None
    if refused:
        raise FormInvalid(refused)
    try:
        return tips.submit(tip, address, None)  # no device: the form's cookie is a browser's
    except FormInvalid as exc:  # a point outside the served communes, a refused photo
        raise FormInvalid(_renamed(exc.fields, values, has_point)) from None


def received(tip: Incident) -> list[dict]:
    """The answer to POST requests: the receipt is the service request's id."""
    notice = _(
        "Đã nhận tin. Giữ mã {code} để theo dõi tin; khi khẩn cấp, gọi 113.", code=tip.receipt
    )
    return [{"service_request_id": tip.receipt, "service_notice": notice, "account_id": None}]


# --- GET requests -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    """GET requests' parameters: only service_request_id is served."""

    ids: list[str]


def asked(service_request_id: str | None) -> Asked:
    """The receipts a list asks for; BadParameter for a list without any (we publish none)."""
    ids = list(dict.fromkeys(p.strip() for p in (service_request_id or "").split(",")))
    ids = [i for i in ids if i]
    if not ids:
        raise BadParameter(
            "service_request_id",
            _(
                "Danh sách tin báo không công khai: hãy nêu service_request_id (mã biên nhận,"
                " cách nhau bằng dấu phẩy) của tin bạn đã gửi."
            ),
        )
    if len(ids) > MAX_IDS:
        raise BadParameter(
            "service_request_id", _("Hỏi tối đa {n} mã biên nhận một lần.", n=MAX_IDS)
        )
    return Asked(ids)


def _stamp(value: datetime) -> str:
    return value.astimezone(LOCAL_TZ).isoformat(timespec="seconds")


def as_request(found: TipStatus) -> dict:
    """A tip as an Open311 service request, holding what the status page shows and no more: no
    description, point or contact; the address is the commune, as the page says it."""
    notes = kinds.status_label(found.status)
    if found.merged:
        notes += " " + _(
            "Tin của bạn được gộp với một tin khác về cùng việc; tình trạng là của tin đó."
        )
    return {
        "service_request_id": found.receipt,
        # open while an officer has still to act; passed to the police or closed: done here
        "status": "open" if found.status in Status.OPEN else "closed",
        "status_notes": notes,
        "service_name": kinds.kind_label(found.kind),
        "service_code": found.kind,
        "agency_responsible": None,
        "service_notice": None,
        "requested_datetime": _stamp(found.received_at),
        "updated_datetime": _stamp(found.status_at),
        "expected_datetime": None,
        "address": found.commune,
        "address_id": None,
        "zipcode": None,
    }


def request(receipt: str, address: str | None) -> list[dict]:
    """GET requests/{id}: one tip by its receipt; NotFound, TooManyTips as the status page."""
    return [as_request(tips.status(receipt, address))]


def requests(ids: Asked, address: str | None) -> list[dict]:
    """GET requests?service_request_id=a,b: the tips found among the receipts (each look
    counted); unknown ones are left out, as a search that found nothing."""
    found = []
    for receipt in ids.ids:
        try:
            found.append(as_request(tips.status(receipt, address)))
        except NotFound:
            continue
    return found
