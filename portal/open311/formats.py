"""Open311's two formats: JSON through Flask, XML through the standard library's ElementTree
(which escapes every text), and Open311's error list in either."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from flask import Response, jsonify, request

PREFIX = "/open311/"
EXTENSIONS = ("json", "xml")
XML_TYPE = "text/xml; charset=utf-8"  # the type GeoReport v2 names for its XML
# a list's element name in XML → the name of each of its items
ITEMS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
}
# characters XML 1.0 cannot hold at all, escaped or not (ElementTree writes them as they are,
# and the document no longer parses): controls other than tab/newline/CR, surrogates, FFFE/FFFF
NOT_XML = re.compile(r"[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _fill(element: ET.Element, value) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item)
    elif isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(element, ITEMS[element.tag]), item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:  # null is an empty element
        element.text = NOT_XML.sub("\ufffd", str(value))  # e.g. a URL's %0B said back


def to_xml(root: str, value) -> bytes:
    """A value as Open311 XML: a dict's keys as elements, a list's items named by ITEMS."""
    element = ET.Element(root)
    _fill(element, value)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def render(value, fmt: str, root: str, status: int = 200) -> Response:
    """A value as JSON or, for fmt "xml", as XML under the root element `root`."""
    if fmt == "xml":
        return Response(to_xml(root, value), status, content_type=XML_TYPE)
    response = jsonify(value)
    response.status_code = status
    return response


def fmt_of_path(path: str) -> str:
    """The format a URL asks for, for answers made before (or without) its route: .xml or JSON."""
    return "xml" if path.rsplit("?", 1)[0].endswith(".xml") else "json"


def error_list(status: int, message: str, details: list) -> list[dict]:
    """Open311's errors: one per bad field (named as the client sent it), or the message, after
    the parameter it names if any: "description: …"."""
    fields = [d for d in details if "field" in d]
    if fields:
        return [{"code": status, "description": f"{d['field']}: {d['message']}"} for d in fields]
    named = [d["parameter"] for d in details if "parameter" in d]
    if named:
        message = f"{named[0]}: {message}"
    return [{"code": status, "description": message}]


def error(status: int, message: str, details: list) -> tuple[Response, int]:
    """An error of an Open311 URL: its list in the URL's format. A bad field is 400, as Open311
    clients expect, where the portal's own API answers 422."""
    status = 400 if status == 422 else status
    body = error_list(status, message, details)
    return render(body, fmt_of_path(request.path), "errors", status), status
