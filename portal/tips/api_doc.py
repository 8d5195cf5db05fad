"""The JSON API's request reading and its OpenAPI document (served at /api/openapi.json)."""

from __future__ import annotations

import base64
import binascii
import re

from portal.errors import BadParameter, FormInvalid
from portal.i18n import _
from portal.inputs import CONTROL, _shown
from portal.models import TIP_KINDS

SURROGATE = re.compile("[\ud800-\udfff]")  # half a UTF-16 pair, which JSON may escape
PHOTO_BASE64_MAX = 14 << 20  # a 10 MB photo grows by a third in base64


def read_tip(request) -> tuple[dict, bytes | None]:
    """The posted JSON object and its decoded photo; 400 for a body that is not a JSON object."""
    if not request.is_json:
        raise BadParameter("body", _("Gửi nội dung dạng JSON (Content-Type: application/json)."))
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


ERROR = {
    "type": "object",
    "required": ["error", "message", "status"],
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "status": {"type": "integer"},
        "details": {"type": "array", "items": {"type": "object"}},
    },
}
STATUS = {
    "type": "object",
    "required": ["receipt", "kind", "received_at", "commune", "status", "status_at", "merged"],
    "properties": {
        "receipt": {"type": "string", "pattern": "^[0-9A-Z]{4}-[0-9A-Z]{4}$"},
        "kind": {"type": "string", "enum": list(TIP_KINDS)},
        "kind_label": {"type": "string"},
        "received_at": {"type": "string", "format": "date-time"},
        "commune": {"type": "string"},
        "status": {
            "type": "string",
            "enum": ["received", "checked", "valuable", "not_valuable", "passed", "closed"],
        },
        "status_label": {"type": "string"},
        "status_at": {"type": "string", "format": "date-time"},
        "merged": {
            "type": "boolean",
            "description": "Merged with another report of the same event, whose status is shown.",
        },
    },
}
TIP = {
    "type": "object",
    "required": ["kind", "occurred_at", "description"],
    "description": "Where: lat and lon (a pin or the phone's location), or village_id.",
    "properties": {
        "kind": {"type": "string", "enum": list(TIP_KINDS)},
        "occurred_at": {
            "type": "string",
            "description": "ISO 8601; without an offset it is Vietnam's local time.",
            "examples": ["2026-11-28T21:30:00+07:00"],
        },
        "description": {"type": "string", "minLength": 10, "maxLength": 2000},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "lon": {"type": "number", "minimum": -180, "maximum": 180},
        "located_by": {"type": "string", "enum": ["map", "gps"]},
        "village_id": {"type": "integer"},
        "place_note": {"type": "string", "maxLength": 200},
        "contact_name": {"type": "string", "maxLength": 120},
        "contact": {
            "type": "string",
            "maxLength": 200,
            "description": "A phone number or e-mail address; read only by the commune's"
            " police officers. Leave out to stay anonymous.",
        },
        "photo_base64": {
            "type": "string",
            "description": "A JPEG, PNG or WebP photo, at most 10 MB; re-encoded without"
            " metadata (EXIF, GPS) before it is stored.",
        },
    },
}


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def document() -> dict:
    """OpenAPI 3.1: the look-up and the tips."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Cổng tổ bảo vệ ANTT cơ sở: API công khai",
            "version": "1.0",
            "description": "Look up the security team of a place; send a tip and follow it by"
            " its receipt. Emergencies go to 113, 114 or 115, never to this API.",
        },
        "paths": {
            "/api/lookup": {
                "get": {
                    "summary": "The team and police of the place at a point",
                    "parameters": [
                        {
                            "name": name,
                            "in": "query",
                            "required": True,
                            "schema": {"type": "number", "minimum": -lim, "maximum": lim},
                        }
                        for name, lim in (("lat", 90), ("lon", 180))
                    ],
                    "responses": {
                        "200": {
                            "description": "The card",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "400": _error("A missing or bad parameter, named in details"),
                        "404": _error("No area at this point"),
                    },
                }
            },
            "/api/tips": {
                "post": {
                    "summary": "Send a tip; the answer holds its receipt code",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Tip"}}
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "Received",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["receipt", "status", "status_url"],
                                        "properties": {
                                            "receipt": {"type": "string"},
                                            "status": {"type": "string"},
                                            "status_url": {"type": "string", "format": "uri"},
                                        },
                                    }
                                }
                            },
                        },
                        "400": _error("The body is not a JSON object"),
                        "422": _error("Bad fields, each named in details"),
                        "429": _error("Too many tips from this address or device"),
                    },
                }
            },
            "/api/tips/{receipt}": {
                "get": {
                    "summary": "A tip's status by its receipt code",
                    "parameters": [
                        {
                            "name": "receipt",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "The status",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/TipStatus"}
                                }
                            },
                        },
                        "404": _error("No tip has this code"),
                        "429": _error("Too many look-ups from this address"),
                    },
                }
            },
        },
        "components": {"schemas": {"Tip": TIP, "TipStatus": STATUS, "Error": ERROR}},
    }
