"""The public look-up's fast path: a WSGI layer that answers a known point from memory.

Measured on this 2-core machine (bench/bench_lookup.py): through Flask, an anonymous
/api/lookup spends about 1.5 ms of CPU around a 0.2 ms query: the request and app contexts,
the session cookie, the account, language, CSRF and Talisman hooks, the control-character
check, compression and the Vary hook. Those make the answer right for anyone, but for an
anonymous GET of a well-formed point whose answer this worker has already made they always
give the same headers and body. So, for exactly:

    GET /api/lookup?lat=<number>&lon=<number>                      (either order)
    GET /tra-cuu/diem?lat=…&lon=…  with HX-Request: true and HX-Target: card

sent without a cookie (no session: Vietnamese, nobody signed in), this layer finds the area
in the worker's point index (portal.lookup.index) and answers with the body and headers
Flask gave for the same area the first time: the body's point filled in, a fresh CSP nonce,
compressed as Flask-Compress would (its own functions). Anything else, or anything it has
not seen yet (a first answer, a point on a border, outside every area, a bad number, the
index being rebuilt, the once-a-second generation check being due: Flask makes it), goes to
Flask unchanged, and Flask's answer teaches it the headers.
"""

from __future__ import annotations

import logging
import re

from flask import Flask
from flask_compress.flask_compress import _choose_algorithm, _compress_data
from flask_talisman.talisman import NONCE_LENGTH, get_random_string
from werkzeug.http import http_date

from portal.compression import compress
from portal.lookup import index as lookup_index

log = logging.getLogger(__name__)

NUMBER = r"-?[0-9]{1,3}(?:\.[0-9]{1,20})?"
QUERY = re.compile(rf"(lat|lon)=({NUMBER})&(lat|lon)=({NUMBER})")
NONCE = re.compile(r"'nonce-[^']*'")
# set per response, never taken from the first one
PER_RESPONSE = {"content-length", "content-encoding", "hx-push-url", "date", "server"}
LIMITS = {"lat": 90.0, "lon": 180.0}
# header sets kept, one per (kind, scheme, Host, ...): the Host is the client's to choose, so a
# visitor sending a new one each time must not grow a worker's memory without end
MAX_HEADER_SETS = 64
CONDITIONAL = (
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_IF_UNMODIFIED_SINCE",
    "HTTP_IF_RANGE",
    "HTTP_RANGE",
)


class FastLookup:
    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        try:
            asked = self._asked(environ)
        except Exception:  # never worse than Flask: anything odd goes there
            log.exception("look-up fast path")
            asked = None
        if asked is None:
            return self.wsgi_app(environ, start_response)
        kind, lat, lon, url_key = asked
        environ[lookup_index.ENVIRON_KEY] = (kind, url_key)
        try:
            answer = self._answer(environ, kind, lat, lon, url_key)
        except Exception:
            log.exception("look-up fast path")
            answer = None
        if answer is not None:
            headers, body = answer
            start_response("200 OK", headers)
            return [body]
        return self._learn(environ, start_response, kind, url_key)

    def _asked(self, environ):
        """(kind, lat, lon, url key) of a request this layer may answer, else None."""
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("HTTP_COOKIE"):
            return None
        if any(environ.get(h) for h in CONDITIONAL):  # werkzeug's make_conditional answers
            return None
        path = environ.get("PATH_INFO")
        if path == "/api/lookup":
            kind = "json"
        elif (
            path == "/tra-cuu/diem"
            and environ.get("HTTP_HX_REQUEST") == "true"
            and environ.get("HTTP_HX_TARGET") == "card"
        ):
            kind = "card"
        else:
            return None
        found = QUERY.fullmatch(environ.get("QUERY_STRING", ""))
        if found is None or found.group(1) == found.group(3):
            return None
        values = {found.group(1): float(found.group(2)), found.group(3): float(found.group(4))}
        if any(abs(values[name]) > limit for name, limit in LIMITS.items()):
            return None  # Flask says which is wrong
        # everything the answer's URLs and headers depend on (url_for, Talisman's https)
        url_key = (
            environ.get("wsgi.url_scheme"),
            environ.get("HTTP_HOST"),
            environ.get("SERVER_NAME"),
            environ.get("SERVER_PORT"),
            environ.get("SCRIPT_NAME", ""),
            environ.get("HTTP_X_FORWARDED_PROTO"),
        )
        return kind, values["lat"], values["lon"], url_key

    def _answer(self, environ, kind, lat, lon, url_key):
        index = lookup_index.of(self.app)
        if index.due():
            # Flask checks the generation (once a second): when the database does not answer,
            # a check here and Flask's again would cost the request two connect timeouts
            return None
        points = index.current_points()
        headers = index.headers.get((kind, url_key))
        if points is None or headers is None:
            return None
        hits = points.areas_at(lon, lat)
        if not hits or any(h.level == hits[0].level for h in hits[1:]):
            return None  # outside (Flask's 404) or on a border (Flask names the neighbours)
        template = index.answers.get((kind, hits[0].id, "vi", url_key))
        if template is None:
            return None
        body = template.fill(lat, lon, lookup_index.dumps(self.app))
        headers = [(name, fresh_nonce(value)) for name, value in headers]
        if kind == "card":
            headers.append(("HX-Push-Url", f"{environ['PATH_INFO']}?{environ['QUERY_STRING']}"))
        mimetype = next((v for n, v in headers if n.lower() == "content-type"), "")
        body, encoding = compressed(self.app, environ, body, mimetype.split(";")[0].strip())
        if encoding:
            headers.append(("Content-Encoding", encoding))
            if self.app.config["COMPRESS_EVALUATE_CONDITIONAL_REQUEST"]:
                headers.append(("Date", http_date()))  # as make_conditional() adds it
        headers.append(("Content-Length", str(len(body))))
        return headers, body

    def _learn(self, environ, start_response, kind, url_key):
        """Flask answers; when its view answered from a kept template, keep its headers."""

        def listening(status, headers, exc_info=None):
            if status.startswith("200 ") and environ.get(lookup_index.ANSWERED_KEY):
                kept = [(n, v) for n, v in headers if n.lower() not in PER_RESPONSE]
                if not any(n.lower() == "set-cookie" for n, _ in kept):
                    index = lookup_index.of(self.app)
                    if len(index.headers) >= MAX_HEADER_SETS:
                        index.headers.clear()  # learned again on demand, as the answers are
                    index.headers[(kind, url_key)] = kept
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, listening)


def fresh_nonce(value: str) -> str:
    """Talisman's nonce, made anew for this response as Talisman makes it."""
    if "'nonce-" not in value:
        return value
    return NONCE.sub(f"'nonce-{get_random_string(NONCE_LENGTH)}'", value)


def compressed(app: Flask, environ, body: bytes, mimetype: str) -> tuple[bytes, str | None]:
    """As Flask-Compress compresses (portal.compression): its choice and its functions."""
    accept = environ.get("HTTP_ACCEPT_ENCODING", "")
    if (
        not accept
        or len(body) < app.config["COMPRESS_MIN_SIZE"]
        or mimetype not in compress.compress_mimetypes_set
    ):
        return body, None
    algorithm = _choose_algorithm(compress.enabled_algorithms, accept)
    if algorithm is None:
        return body, None
    return _compress_data(app, body, algorithm), algorithm


def init_app(app: Flask) -> None:
    lookup_index.init_app(app)
    app.wsgi_app = FastLookup(app, app.wsgi_app)
