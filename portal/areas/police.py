"""The commune police's public contact, kept by the commune's planners, shown to citizens."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from portal.areas import queries
from portal.areas.services import get_area
from portal.errors import FormInvalid, NotFound
from portal.extensions import db
from portal.i18n import _
from portal.inputs import too_long
from portal.lookup.services import police_name_of
from portal.models import Area, Level, PoliceContact
from portal.security import current_scope
from portal.teams.management import phone_problem
from portal.text import nfc


@dataclass
class PoliceForm:
    name: str = ""
    phone: str = ""
    address: str = ""

    @classmethod
    def from_form(cls, data) -> PoliceForm:
        return cls(
            name=nfc(data.get("name", "")),
            phone="".join(data.get("phone", "").split()),  # "024 3825 1234" as typed
            address=nfc(data.get("address", "")),
        )


def editable_commune(area_id: int) -> Area:
    """A current commune in the user's scope that the user may keep, or NotFound."""
    current_scope().require("admin", "commune_officer")
    area = get_area(area_id)
    if area.level != Level.COMMUNE.value or not area.is_current:
        raise NotFound(_("Liên hệ công an chỉ có ở xã, phường đang hiệu lực."))
    return area


def contact_of(commune_id: int) -> PoliceContact | None:
    return db.session.scalar(queries.police_contact(commune_id))


def form_for(commune: Area) -> PoliceForm:
    contact = contact_of(commune.id)
    if contact is None:
        return PoliceForm(name=police_name_of(commune.name))
    return PoliceForm(contact.name, contact.phone or "", contact.address or "")


def save(commune: Area, form: PoliceForm) -> PoliceContact:
    """Record the contact; FormInvalid (nothing changed) names each wrong field."""
    errors = too_long(asdict(form), PoliceContact)
    if not form.name:
        errors["name"] = _("Nhập tên đơn vị công an.")
    if problem := phone_problem(form.phone):
        errors["phone"] = problem
    if errors:
        raise FormInvalid(errors)
    contact = contact_of(commune.id) or PoliceContact(commune_id=commune.id)
    contact.name, contact.phone, contact.address = (
        form.name,
        form.phone or None,
        form.address or None,
    )
    db.session.add(contact)
    db.session.commit()
    return contact
