"""The public JSON API's OpenAPI 3.1 document, served at /api/openapi.json.

It describes every JSON endpoint anyone may call without signing in: the look-up
(/api/lookup), the tips (/api/tips, /api/tips/{receipt}), this document, /healthz, and the
probes for systemd and load balancers (/livez, /readyz). It is
exact on purpose: tests/test_api_schema.py runs schemathesis against the app with it, and
every answer (status, content type, headers, body) must match what is written here. Objects
the portal answers with forbid properties they do not list, so that a field added, renamed or
left out is caught; what the portal takes in allows unknown properties, which it ignores.

Pure data: no app context, so the tests can load it before the app exists.
"""

from __future__ import annotations

import copy

from portal.errors import RETRY_AFTER_SECONDS
from portal.inputs import MAX_ID
from portal.models import TIP_KINDS, Level, Status
from portal.tips import receipts
from portal.tips.services import (
    CONTACT_MAX,
    DESCRIPTION_MAX,
    DESCRIPTION_MIN,
    NAME_MAX,
    PLACE_NOTE_MAX,
)

_CODE = f"[{receipts.ALPHABET}]{{4}}"
RECEIPT_PATTERN = f"^{_CODE}-{_CODE}$"  # as the portal gives it: 7K2M-9QXA
# as it may be typed back: any case, with or without the dash or a space (O, I, L and U are
# read as 0, 1, 1 and V, since the alphabet leaves them out)
RECEIPT_TYPED = "^[0-9A-Za-z]{4}[- ]?[0-9A-Za-z]{4}$"
# what a 422 of POST /api/tips names, one message per field (portal.tips.services.parse, submit)
TIP_FIELDS = (
    "kind",
    "occurred_at",
    "description",
    "place_note",
    "where",
    "contact_name",
    "contact",
    "photo",
)


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict) -> dict:
    """A value or null: `type: [x, "null"]` for a plain type, anyOf for a reference."""
    if "$ref" in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    return {**schema, "type": [schema["type"], "null"]}


def _object(properties: dict, required: list[str] | None = None, **extra) -> dict:
    """An object the portal answers with: every property listed, none other allowed."""
    return {
        "type": "object",
        "required": list(properties) if required is None else required,
        "properties": properties,
        "additionalProperties": False,
        **extra,
    }


TEXT = {"type": "string", "minLength": 1}
URL = {"type": "string", "format": "uri"}
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}

PARAMETER_DETAIL = _object({"parameter": {"type": "string"}}, description="The bad parameter.")
FIELD_DETAIL = _object(
    {"field": {"type": "string", "enum": list(TIP_FIELDS)}, "message": TEXT},
    description="A bad field and what is wrong with it, to show beside it.",
)
ERROR = _object(
    {
        "error": {**TEXT, "description": "The status's title, in the reader's language."},
        "message": {**TEXT, "description": "What went wrong, for a person to read."},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "details": {
            "type": "array",
            "minItems": 1,
            "items": {"anyOf": [_ref("ParameterDetail"), _ref("FieldDetail")]},
        },
    },
    required=["error", "message", "status"],
)

PLACE = _object(
    {"id": ID, "name": TEXT, "code": _nullable({"type": "string"}), "url": URL},
    description="An area, with the URL of its public page.",
)
AREA = _object(
    {
        **PLACE["properties"],
        "level": {"type": "string", "enum": [level.value for level in Level]},
        "kind": {"type": "string", "description": "thon, to_dan_pho, phuong, xa, …"},
    },
    description="The area found: the deepest current one at the point.",
)
PERSON = _object({"name": TEXT, "phone": _nullable({"type": "string"})})
TEAM = _object(
    {
        "name": TEXT,
        "phone": _nullable({"type": "string"}),
        "leader": _nullable(_ref("Person")),
        "deputies": {"type": "array", "items": _ref("Person")},
    },
    description="The grassroots security team of the village.",
)
POLICE = _object(
    {
        "name": TEXT,
        "phone": _nullable({"type": "string"}),
        "address": _nullable({"type": "string"}),
    },
    description="The commune's police.",
)
CARD = _object(
    {
        "area": _ref("Area"),
        "village": _nullable(_ref("Place")),
        "commune": _nullable(_ref("Place")),
        "province": _nullable(_ref("Place")),
        "covered": {"type": "boolean", "description": "Whether a team covers the place."},
        "team": _nullable(_ref("Team")),
        "police": _nullable(_ref("Police")),
        "border_with": {
            "type": "array",
            "items": _ref("Place"),
            "description": "Areas of the same level the point also touches (on a border).",
        },
        "report": _object(
            {"emergency_phone": {"type": "string", "const": "113"}, "vneid": URL},
            description="Where to report: the police's emergency number and VNeID.",
        ),
        "point": _object(
            {
                "lat": {"type": "number", "minimum": -90, "maximum": 90},
                "lon": {"type": "number", "minimum": -180, "maximum": 180},
            },
            description="The point looked up.",
        ),
    },
    description="What a citizen may know of a place: its areas, team and police.",
)

TIP = {
    "type": "object",
    "required": ["kind", "occurred_at", "description"],
    "description": "Where: lat and lon (a pin or the phone's location), or village_id. Numbers"
    " may also be sent as strings. Unknown properties are ignored.",
    "properties": {
        "kind": {"type": "string", "enum": list(TIP_KINDS)},
        "occurred_at": {
            "type": "string",
            "description": "ISO 8601; without an offset it is Vietnam's local time. Not in the"
            " future, at most 90 days ago.",
            "examples": ["2026-11-28T21:30:00+07:00", "2026-11-28T21:30"],
        },
        "description": {
            "type": "string",
            "minLength": DESCRIPTION_MIN,
            "maxLength": DESCRIPTION_MAX,
            "description": f"At least {DESCRIPTION_MIN} characters besides spaces at the ends.",
        },
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "lon": {"type": "number", "minimum": -180, "maximum": 180},
        "located_by": {"type": "string", "enum": ["map", "gps"], "default": "map"},
        "village_id": {**ID, "description": "A current village; used when lat and lon are not."},
        "place_note": {"type": "string", "maxLength": PLACE_NOTE_MAX},
        "contact_name": {
            "type": "string",
            "maxLength": NAME_MAX,
            "description": "Only with a contact.",
        },
        "contact": {
            "type": "string",
            "maxLength": CONTACT_MAX,
            "description": "A Vietnamese phone number or an e-mail address; read only by the"
            " commune's police officers. Leave out to stay anonymous.",
        },
        "photo_base64": {
            "type": "string",
            "contentEncoding": "base64",
            "description": "A JPEG, PNG or WebP photo, at most 10 MB; re-encoded without"
            " metadata (EXIF, GPS) before it is stored.",
        },
    },
}
TIP_RECEIVED = _object(
    {
        "receipt": {"type": "string", "pattern": RECEIPT_PATTERN},
        "status": {"type": "string", "const": Status.RECEIVED},
        "status_url": {**URL, "description": "GET it for the tip's status."},
    }
)
TIP_STATUS = _object(
    {
        "receipt": {"type": "string", "pattern": RECEIPT_PATTERN},
        "kind": {"type": "string", "enum": list(TIP_KINDS)},
        "kind_label": TEXT,
        "received_at": {"type": "string", "format": "date-time"},
        "commune": TEXT,
        "status": {"type": "string", "enum": list(Status.ALL)},
        "status_label": TEXT,
        "status_at": {"type": "string", "format": "date-time"},
        "merged": {
            "type": "boolean",
            "description": "Merged with another report of the same event, whose status is shown.",
        },
    },
    description="What the holder of a receipt may see: no contact, photo, description or place.",
)
HEALTH = _object(
    {
        "status": {"type": "string", "const": "ok"},
        "database": {"type": "string", "description": "PostgreSQL's version (operators only)."},
        "postgis": {"type": "string", "description": "PostGIS's version (operators only)."},
    },
    required=["status"],
)
HEALTH_DOWN = _object({"status": {"type": "string", "const": "error"}})
LIVE = _object({"status": {"type": "string", "const": "ok"}})
READINESS = _object(
    {
        "status": {"type": "string", "enum": ["ok", "error"]},
        "checks": _object(
            {
                "database": {
                    "type": "string",
                    "enum": ["ok", "error"],
                    "description": "The database answers within two seconds.",
                },
                "migrations": {
                    "type": "string",
                    "enum": ["ok", "behind", "unknown"],
                    "description": "The schema is at the migrations' head (unknown: no database).",
                },
                "worker": {
                    "type": "string",
                    "enum": ["ok", "stale", "none", "unknown"],
                    "description": "A job worker's heartbeat is fresh; stale: too old; none: no"
                    " worker has one.",
                },
            },
            required=["database", "migrations", "worker"],
        ),
    },
    required=["status", "checks"],
)


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _error(
    status: int, description: str, detail: str | None = None, *, headers=None, required=False
) -> dict:
    """A response with the Error body, its status pinned (and its details' kind, if any)."""
    pinned: dict = {"properties": {"status": {"const": status}}}
    if detail is not None:
        pinned["properties"]["details"] = {"items": _ref(detail)}
    if required:
        pinned["required"] = ["details"]
    response = {"description": description, "content": _json({"allOf": [_ref("Error"), pinned]})}
    if headers:
        response["headers"] = headers
    return response


RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}
UNAVAILABLE = _error(
    503,
    "The database does not answer (down, restarting or read-only): nothing was done; try again"
    f" after Retry-After seconds ({RETRY_AFTER_SECONDS}).",
    headers=RETRY_AFTER,
)
NO_STORE = {
    "Cache-Control": {
        "description": "Never kept by a browser or a proxy.",
        "required": True,
        "schema": {"type": "string", "pattern": "no-store"},
    }
}


BAD_PARAMETER = _error(
    400,
    "A parameter holds a control character (such as NUL): refused before anything else,"
    " on every URL; named in details",
    "ParameterDetail",
    required=True,
)


def _unavailable() -> dict:
    return {"$ref": "#/components/responses/Unavailable"}


def _bad_parameter() -> dict:
    return {"$ref": "#/components/responses/BadParameter"}


def _point(name: str, limit: int, example: float) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": True,
        "description": "Decimal degrees (WGS 84).",
        "schema": {"type": "number", "minimum": -limit, "maximum": limit},
        "example": example,
    }


LOOKUP = {
    "get": {
        "operationId": "lookup",
        "summary": "The team and police of the place at a point",
        "parameters": [_point("lat", 90, 21.0285), _point("lon", 180, 105.8542)],
        "responses": {
            "200": {
                "description": "The card of the deepest current area at the point",
                "headers": {
                    "Cache-Control": {
                        "description": "Public, kept for a few minutes; never kept when"
                        " asked by a signed-in account (no-store), as every answer to one.",
                        "required": True,
                        "schema": {
                            "type": "string",
                            "pattern": r"^(public\b.*\bmax-age=\d+.*|no-store)$",
                        },
                    }
                },
                "content": _json(_ref("Card")),
            },
            "400": _error(
                400,
                "A missing or bad parameter, named in details",
                "ParameterDetail",
                required=True,
            ),
            "404": _error(404, "No area at this point"),
            "503": _unavailable(),
        },
    }
}
TIPS = {
    "post": {
        "operationId": "sendTip",
        "summary": "Send a tip; the answer holds its receipt code",
        "description": "Emergencies go to 113, 114 or 115, never to this API. Limited per"
        " address: a few tips an hour and a day.",
        "requestBody": {"required": True, "content": _json(_ref("Tip"))},
        "responses": {
            "201": {
                "description": "Received and stored",
                "headers": {
                    "Location": {
                        "description": "The tip's status URL, as status_url.",
                        "required": True,
                        "schema": URL,
                    }
                },
                "content": _json(_ref("TipReceived")),
            },
            "400": _error(
                400,
                "The body is not a JSON object, or a value holds a control character or half"
                " a UTF-16 pair (named in details)",
                "ParameterDetail",
            ),
            "413": _error(413, "The body is larger than the portal takes (50 MB)"),
            "415": _error(
                415, "The body is not sent as application/json", "ParameterDetail", required=True
            ),
            "422": _error(
                422,
                "Bad fields, each named in details; nothing stored",
                "FieldDetail",
                required=True,
            ),
            "429": _error(
                429,
                "Too many tips from this address; Retry-After and the message say when to retry",
                headers=RETRY_AFTER,
            ),
            "503": _unavailable(),
        },
    }
}
TIP_STATUS_PATH = {
    "get": {
        "operationId": "tipStatus",
        "summary": "A tip's status by its receipt code",
        "description": "Limited per address: every look, found or not, counts.",
        "parameters": [
            {
                "name": "receipt",
                "in": "path",
                "required": True,
                "description": "The receipt code, as given (7K2M-9QXA) or typed: any case, the"
                " dash left out or a space; O, I, L and U are read as 0, 1, 1 and V.",
                "schema": {"type": "string", "pattern": RECEIPT_TYPED},
                "example": "7K2M-9QXA",
            }
        ],
        "responses": {
            "200": {
                "description": "The status",
                "headers": NO_STORE,
                "content": _json(_ref("TipStatus")),
            },
            "400": _bad_parameter(),
            "404": _error(404, "No tip has this code, or it cannot be a code"),
            "429": _error(429, "Too many look-ups from this address", headers=RETRY_AFTER),
            "503": _unavailable(),
        },
    }
}
DOCUMENT_PATH = {
    "get": {
        "operationId": "openapi",
        "summary": "This document",
        "responses": {
            "200": {
                "description": "OpenAPI 3.1",
                "content": _json(
                    {
                        "type": "object",
                        "required": ["openapi", "info", "paths"],
                        "properties": {"openapi": {"type": "string", "const": "3.1.0"}},
                    }
                ),
            },
            "400": _bad_parameter(),
            "503": _unavailable(),
        },
    }
}
HEALTH_PATH = {
    "get": {
        "operationId": "health",
        "summary": "Up or down, for load balancers",
        "parameters": [
            {
                "name": "detail",
                "in": "query",
                "required": False,
                "description": "1: the database's and PostGIS's versions, for a city admin or"
                " a request on the machine itself (loopback, no proxy); ignored otherwise.",
                "schema": {"type": "string", "enum": ["1"]},
            }
        ],
        "responses": {
            "200": {"description": "Up", "content": _json(_ref("Health"))},
            "400": _bad_parameter(),
            "503": {
                "description": "The database does not answer",
                "content": _json(
                    {
                        "anyOf": [
                            _ref("HealthDown"),
                            {"allOf": [_ref("Error"), {"properties": {"status": {"const": 503}}}]},
                        ]
                    }
                ),
            },
        },
    }
}


LIVE_PATH = {
    "get": {
        "operationId": "livez",
        "summary": "The process answers (never asks the database): for systemd's watchdog",
        "responses": {"200": {"description": "Alive", "content": _json(_ref("Live"))}},
    }
}
READY_PATH = {
    "get": {
        "operationId": "readyz",
        "summary": "Ready for traffic: database, schema and job worker; for load balancers",
        "responses": {
            "200": {"description": "Ready", "content": _json(_ref("Readiness"))},
            "503": {
                "description": "Not ready: `checks` names what failed",
                "content": _json(
                    {
                        "anyOf": [
                            _ref("Readiness"),
                            {"allOf": [_ref("Error"), {"properties": {"status": {"const": 503}}}]},
                        ]
                    }
                ),
            },
        },
    }
}


_DOCUMENT = {
    "openapi": "3.1.0",
    "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
    "info": {
        "title": "Cổng tổ bảo vệ ANTT cơ sở: API công khai",
        "version": "1.1",
        "description": "Look up the security team of a place; send a tip and follow it by"
        " its receipt. Emergencies go to 113, 114 or 115, never to this API. Every error"
        " answers the Error object with the same status.",
    },
    "paths": {
        "/api/lookup": LOOKUP,
        "/api/tips": TIPS,
        "/api/tips/{receipt}": TIP_STATUS_PATH,
        "/api/openapi.json": DOCUMENT_PATH,
        "/healthz": HEALTH_PATH,
        "/livez": LIVE_PATH,
        "/readyz": READY_PATH,
    },
    "components": {
        "schemas": {
            "Error": ERROR,
            "ParameterDetail": PARAMETER_DETAIL,
            "FieldDetail": FIELD_DETAIL,
            "Place": PLACE,
            "Area": AREA,
            "Person": PERSON,
            "Team": TEAM,
            "Police": POLICE,
            "Card": CARD,
            "Tip": TIP,
            "TipReceived": TIP_RECEIVED,
            "TipStatus": TIP_STATUS,
            "Health": HEALTH,
            "HealthDown": HEALTH_DOWN,
            "Live": LIVE,
            "Readiness": READINESS,
        },
        "responses": {"Unavailable": UNAVAILABLE, "BadParameter": BAD_PARAMETER},
    },
}


def document() -> dict:
    """OpenAPI 3.1: the look-up, the tips, this document and the health checks (a fresh copy:
    schemathesis writes into the document it is given)."""
    return copy.deepcopy(_DOCUMENT)
