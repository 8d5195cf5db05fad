"""The tips API's request reading. Its OpenAPI document is portal/openapi.py."""

from __future__ import annotations

import base64
import binascii
import re

from portal.errors import BadParameter, FormInvalid
from portal.i18n import _
from portal.inputs import CONTROL, _shown

SURROGATE = re.compile("[\ud800-\udfff]")  # half a UTF-16 pair, which JSON may escape
PHOTO_BASE64_MAX = 14 << 20  # a 10 MB photo grows by a third in base64


class NotJson(BadParameter):
    """A body sent as something else than JSON (a form, text): 415, as Flask's own get_json."""

    status = 415


def read_tip(request) -> tuple[dict, bytes | None]:
    """The posted JSON object and its decoded photo; 415 for a body not sent as JSON, 400 for
    one that is not a JSON object."""
    if not request.is_json:
        raise NotJson("body", _("Gửi nội dung dạng JSON (Content-Type: application/json)."))
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # JSON nested thousands deep: silent= only catches ValueError
        data = None
    if not isinstance(data, dict):
        raise BadParameter("body", _("Nội dung phải là một đối tượng JSON."))
    # numbers are accepted for the point and the village as well as strings
    data = {k: v for k, v in data.items() if isinstance(v, str | int | float) and v is not True}
    for name, value in data.items():  # as every form's values are, before any view
        if isinstance(value, str) and CONTROL.search(value):
            raise BadParameter(
                name,
                _(
                    "Tham số “{name}” chứa ký tự điều khiển (như NUL), không được chấp nhận.",
                    name=_shown(name),
                ),
            )
        if isinstance(value, str) and SURROGATE.search(value):  # "\ud800": no UTF-8 holds it
            raise BadParameter(
                name, _("Tham số “{name}” chứa ký tự không hợp lệ.", name=_shown(name))
            )
    photo = None
    encoded = data.pop("photo_base64", None)
    if encoded:
        if not isinstance(encoded, str) or len(encoded) > PHOTO_BASE64_MAX:
            raise FormInvalid({"photo": _("Ảnh lớn quá 10 MB. Hãy chọn ảnh nhỏ hơn.")})
        try:
            photo = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise FormInvalid({"photo": _("photo_base64 không phải chuỗi base64.")}) from None
    return data, photo
