"""A citizen's tip, from the form or the API: checked, placed in its village, team and commune,
stored with its receipt code, and its status read back by that code.

The form and the API share this one path (parse → submit), so their rules and limits are the
same. What a reporter is shown (the receipt page, the status) never carries a contact, a photo or
anything about other tips.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from geo import photos
from portal.errors import DomainError, FormInvalid, NotFound
from portal.extensions import db
from portal.i18n import N_, _, format_date, format_time
from portal.incidents import kinds, placement
from portal.incidents.filters import LOCAL_TZ, occurred_at
from portal.inputs import to_id
from portal.lookup import maps as lookup_maps
from portal.lookup import services as lookup
from portal.lookup.services import coordinate
from portal.models import (
    TIP_KINDS,
    Area,
    Incident,
    IncidentPhoto,
    LocatedBy,
    Source,
    Status,
    TipContact,
)
from portal.tips import limits, receipts

DESCRIPTION_MIN = 10
DESCRIPTION_MAX = 2000
PLACE_NOTE_MAX = 200
CONTACT_MAX = 200
NAME_MAX = 120
OLDEST_DAYS = 90  # a tip about something older goes to the police in person
PHONE = re.compile(r"^(\+?84|0)\d{8,10}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


class TooManyTips(DomainError):
    status = 429

    def __init__(self, retry_minutes: int):
        super().__init__(
            _(
                "Bạn đã gửi nhiều tin trong thời gian ngắn. Hãy thử lại sau {n} phút; khi khẩn"
                " cấp, gọi 113.",
                n=retry_minutes,
            )
        )
        self.retry_minutes = retry_minutes
        self.retry_after = retry_minutes * 60


@dataclass
class TipInput:
    """A tip as read from the form or JSON, before it is checked against the database."""

    kind: str
    occurred_at: datetime
    description: str
    located_by: str
    lat: float | None = None
    lon: float | None = None
    village_id: int | None = None
    place_note: str | None = None
    contact_name: str | None = None
    contact: str | None = None
    photo: bytes | None = None


def _text(value) -> str:
    return str(value if value is not None else "").replace("\x00", "").strip()


def _when(value, errors: dict) -> datetime | None:
    too_old = _("Việc xảy ra quá {n} ngày: hãy báo trực tiếp công an xã, phường.", n=OLDEST_DAYS)
    when, problem = occurred_at(_text(value), OLDEST_DAYS, too_old)
    if problem:
        errors["occurred_at"] = problem
    return when


def _contact(value, errors: dict) -> str | None:
    text = _text(value)
    if not text:
        return None
    compact = re.sub(r"[\s.\-()]", "", text)
    if PHONE.match(compact):
        return compact
    if len(text) <= CONTACT_MAX and EMAIL.match(text):
        return text
    errors["contact"] = _("Nhập số điện thoại (ví dụ 0912 345 678) hoặc địa chỉ thư điện tử.")
    return None


def parse(data, photo: bytes | None = None) -> TipInput:
    """A tip from a form (MultiDict) or JSON (dict); FormInvalid names every bad field at once."""
    errors: dict[str, str] = {}
    kind = _text(data.get("kind"))
    if kind not in TIP_KINDS:
        errors["kind"] = _("Chọn loại việc trong danh sách.")
    when = _when(data.get("occurred_at"), errors)
    description = _text(data.get("description"))
    if len(description) < DESCRIPTION_MIN:
        errors["description"] = _("Mô tả việc đã xảy ra, ít nhất {n} ký tự.", n=DESCRIPTION_MIN)
    elif len(description) > DESCRIPTION_MAX:
        errors["description"] = _("Mô tả dài quá {n} ký tự.", n=DESCRIPTION_MAX)
    place_note = _text(data.get("place_note")) or None
    if place_note and len(place_note) > PLACE_NOTE_MAX:
        errors["place_note"] = _("Địa chỉ, mô tả nơi xảy ra dài quá {n} ký tự.", n=PLACE_NOTE_MAX)
    located_by = _text(data.get("located_by")) or None
    lat = lon = village_id = None
    has_point = _text(data.get("lat")) or _text(data.get("lon"))
    if has_point:
        try:
            lat = coordinate("lat", _text(data.get("lat")), 90)
            lon = coordinate("lon", _text(data.get("lon")), 180)
        except DomainError as exc:
            errors["where"] = exc.message
        located_by = located_by if located_by in (LocatedBy.MAP, LocatedBy.GPS) else LocatedBy.MAP
    elif _text(data.get("village_id")):
        village_id = to_id(_text(data.get("village_id")))
        if village_id is None:
            errors["where"] = _("Chọn thôn, tổ dân phố trong danh sách.")
        located_by = LocatedBy.VILLAGE
    else:
        errors["where"] = _(
            "Cho biết nơi xảy ra: chạm vào bản đồ, dùng vị trí của bạn hoặc chọn thôn, tổ dân phố."
        )
    contact_name = _text(data.get("contact_name")) or None
    if contact_name and len(contact_name) > NAME_MAX:
        errors["contact_name"] = _("Tên dài quá {n} ký tự.", n=NAME_MAX)
    contact = _contact(data.get("contact"), errors)
    if contact_name and not contact and "contact" not in errors:
        errors["contact"] = _("Để lại tên thì cho biết cả cách liên lạc, hoặc bỏ trống cả hai.")
    if errors:
        raise FormInvalid(errors)
    return TipInput(
        kind=kind,
        occurred_at=when,
        description=description,
        located_by=located_by,
        lat=lat,
        lon=lon,
        village_id=village_id,
        place_note=place_note,
        contact_name=contact_name,
        contact=contact,
        photo=photo or None,
    )


PHOTO_MESSAGES = {
    "empty_file": N_("Ảnh gửi lên trống."),
    "too_large": N_("Ảnh lớn quá {mb} MB. Hãy chọn ảnh nhỏ hơn."),
    "not_image": N_("Tệp này không phải ảnh JPEG, PNG hay WebP."),
    "too_many_pixels": N_("Ảnh có quá nhiều điểm ảnh (quá {mp} triệu) nên không được nhận."),
    "unreadable": N_("Không đọc được ảnh: tệp bị hỏng hoặc không đầy đủ."),
    "other": N_("Không xử lý được ảnh này. Hãy gửi ảnh khác hoặc bỏ ảnh."),
}


FIRST_LOOK = ("empty_file", "too_large", "not_image")  # refused before any decoder runs


def photo_message(code: str) -> str:
    limits_ = photos.DEFAULT_LIMITS
    text = PHOTO_MESSAGES.get(code, PHOTO_MESSAGES["other"])
    return _(text, mb=limits_.max_bytes >> 20, mp=limits_.max_pixels // 1_000_000)


def _place(tip: TipInput) -> placement.Placement:
    try:
        if tip.village_id is not None:
            return placement.in_village(tip.village_id)
        return placement.at_point(tip.lat, tip.lon)
    except placement.OutsideService as exc:
        raise FormInvalid({"where": str(exc)}) from None


def submit(tip: TipInput, address: str | None, device: str | None) -> Incident:
    """Place, check the limits, re-encode the photo and store the tip; its receipt is on it.

    Nothing is stored when anything is refused: the photo is re-encoded before the tip is
    counted, and a refused photo refuses the whole tip with a message saying why (one a decoder
    had to read is counted against the limits all the same).
    """
    where = _place(tip)
    try:
        limits.take(address, device, count=False)  # before the costly photo
    except limits.TooMany as exc:
        raise TooManyTips(exc.retry_minutes) from None
    clean = None
    if tip.photo is not None:
        try:
            clean = photos.reencode(tip.photo)
        except photos.PhotoProblem as exc:
            if exc.code not in FIRST_LOOK:
                # a decoder ran for it: counted as a tip, or broken photos would keep the
                # confined children busy without end
                try:
                    limits.take(address, device)
                except limits.TooMany as over:
                    raise TooManyTips(over.retry_minutes) from None
                db.session.commit()
            raise FormInvalid({"photo": photo_message(exc.code)}) from None
    try:
        limits.take(address, device)
    except limits.TooMany as exc:
        raise TooManyTips(exc.retry_minutes) from None
    incident = Incident(
        source=Source.TIP,
        kind=tip.kind,
        status=Status.RECEIVED,
        occurred_at=tip.occurred_at,
        description=tip.description,
        place_note=tip.place_note,
        geom=from_shape(Point(where.lon, where.lat), srid=4326),
        located_by=tip.located_by,
        area_id=where.village_id,
        commune_id=where.commune_id,
        team_id=where.team_id,
        handed_to_police=False,
        has_photo=clean is not None,
        has_contact=tip.contact is not None,
    )
    for _attempt in range(5):  # a receipt collision is one in 10^12: try another
        incident.receipt = receipts.new_receipt()
        try:
            with db.session.begin_nested():
                db.session.add(incident)
                db.session.flush()
            break
        except IntegrityError:
            continue  # the savepoint's rollback took the row back out of the session
    if tip.contact is not None:
        db.session.add(
            TipContact(incident_id=incident.id, name=tip.contact_name, contact=tip.contact)
        )
    if clean is not None:
        db.session.add(
            IncidentPhoto(
                incident_id=incident.id, data=clean.data, width=clean.width, height=clean.height
            )
        )
    db.session.commit()
    return incident


@dataclass(frozen=True)
class TipStatus:
    """What the holder of a receipt may see: no contact, photo, description or place."""

    receipt: str
    kind: str
    received_at: datetime
    commune: str
    status: str
    status_at: datetime
    merged: bool  # merged with another report of the same event: its status is shown

    @property
    def steps(self) -> list[tuple[str, bool]]:
        """The triage steps with whether each is reached, for the status page's progress."""
        order = [Status.RECEIVED, Status.CHECKED, "assessed", Status.PASSED, Status.CLOSED]
        reached = {
            Status.RECEIVED: 0,
            Status.CHECKED: 1,
            Status.VALUABLE: 2,
            Status.NOT_VALUABLE: 2,
            Status.PASSED: 3,
            Status.CLOSED: 4,
        }[self.status]
        return [(step, i <= reached) for i, step in enumerate(order)]

    def as_json(self) -> dict:
        return {
            "receipt": self.receipt,
            "kind": self.kind,
            "kind_label": kinds.kind_label(self.kind),
            "received_at": self.received_at.isoformat(),
            "commune": self.commune,
            "status": self.status,
            "status_label": kinds.status_label(self.status),
            "status_at": self.status_at.isoformat(),
            "merged": self.merged,
        }


STEP_LABELS = {
    Status.RECEIVED: N_("Đã nhận"),
    Status.CHECKED: N_("Đã kiểm tra"),
    "assessed": N_("Đã đánh giá giá trị của tin"),
    Status.PASSED: N_("Đã chuyển cơ quan công an xử lý"),
    Status.CLOSED: N_("Đã kết thúc"),
}


def step_label(step: str, current: str) -> str:
    """A step of the status page; the assessment says which way it went once made."""
    if step == "assessed" and current in (Status.VALUABLE, Status.NOT_VALUABLE):
        return kinds.status_label(current)
    return _(STEP_LABELS[step])


def local_time(value: datetime | None) -> str:
    """A time in Vietnam's time, hour first as the receipt reads: 21:30 28/11/2026 (28 Nov 2026)."""
    if value is None:
        return "—"
    return f"{format_time(value)} {format_date(value)}"


def status(receipt_text: str, address: str | None) -> TipStatus:
    """A tip's status by its receipt; NotFound for a code that is not one of ours."""
    try:
        limits.take_status_look(address)
    except limits.TooMany as exc:
        raise TooManyTips(exc.retry_minutes) from None
    code = receipts.normalise(receipt_text)
    db.session.commit()  # the look is counted whatever the answer
    if code is None:
        raise NotFound(_("Mã biên nhận gồm 8 chữ và số, ví dụ 7K2M-9QXA."))
    row = db.session.execute(
        select(Incident, Area.name)
        .join(Area, Area.id == Incident.commune_id)
        .where(Incident.receipt == code, Incident.source == Source.TIP)
    ).one_or_none()
    if row is None:
        raise NotFound(_("Không có tin báo nào với mã {code}. Hãy kiểm tra lại mã.", code=code))
    tip, commune = row
    shown = tip
    # a merged tip follows the report it was merged into (at most a few steps)
    for _step in range(5):
        if shown.merged_into_id is None:
            break
        shown = db.session.get(Incident, shown.merged_into_id)
    return TipStatus(
        receipt=tip.receipt,
        kind=tip.kind,
        received_at=tip.received_at,
        commune=commune,
        status=shown.status,
        status_at=shown.status_at,
        merged=shown is not tip,
    )


# --- the form page -------------------------------------------------------------------------


@dataclass
class FormPage:
    """The tip form: its map (around a chosen place, or the city), the lists to choose a village
    from, the values sent back with their errors."""

    map: object
    communes: list
    commune_id: int | None
    villages: list
    values: dict
    errors: dict
    area_id: int | None
    kinds: list[tuple[str, str]]


def villages_of(commune_id: int | None) -> list:
    """A commune's current villages (id, name), for the list to choose from."""
    if commune_id is None:
        return []
    return db.session.execute(
        select(Area.id, Area.name)
        .where(Area.parent_id == commune_id, Area.valid_to.is_(None))
        .order_by(Area.name_search, Area.id)
    ).all()


def form_page(area_id: int | None, commune_id: int | None, values=None, errors=None) -> FormPage:
    page_map = card = None
    if area_id is not None:
        card = lookup.for_area(area_id)  # NotFound for an area that is not current
        page_map = lookup_maps.for_card(card)
        if card.commune is not None:
            commune_id = commune_id or card.commune.id
    else:
        page_map = lookup_maps.overview()
    values = dict(values or {})
    values.setdefault("occurred_at", datetime.now(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M"))
    if area_id is not None and "village_id" not in values and card.area.level == "village":
        values["village_id"] = str(area_id)  # from a village's card: that village, unless pinned
    return FormPage(
        map=page_map,
        communes=lookup.lists().communes,
        commune_id=commune_id,
        villages=villages_of(commune_id),
        values=values,
        errors=errors or {},
        area_id=area_id,
        kinds=kinds.kind_choices(TIP_KINDS),
    )


def where_preview(lat: float, lon: float) -> placement.Placement | str:
    """Where a pin falls, for the form to confirm; a message when it is outside every commune."""
    try:
        return placement.at_point(lat, lon)
    except placement.OutsideService as exc:
        return str(exc)
