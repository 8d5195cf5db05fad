"""Logs as JSON lines, one per event, with the request's id; nothing a reporter or a password
would regret.

Every line is one JSON object: time, level, logger, message, and within a request its
`request_id` and `route` (the URL rule, e.g. /bao-tin/theo-doi, never the path asked for: tips'
pages carry receipt codes), with `exception` when there is one. The id comes from a well-formed
`X-Request-ID` (nginx sets one) or is made here, and is sent back on every response, so that an
operator can match a user's complaint, nginx's line and ours.

The portal writes its own access line per request (RequestLog, outermost WSGI layer, so that it
sees the look-up's fast path and the whole body too): method, rule, endpoint, status, duration
and bytes; no client address, query string, path values or user agent. gunicorn's own access
log is off (deploy/gunicorn.conf.py), its error log goes through the same formatter.

Redact, on every handler, is the second line of defence: passwords, tokens, cookies, session
ids, receipt codes, query strings, e-mail addresses and Vietnamese phone numbers in a message,
its arguments or an exception's text are masked, whatever the code that logged them meant to do.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import sys
import time

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter as _JsonFormatter

HEADER = "X-Request-ID"
ENVIRON_ID = "portal.request_id"
ENVIRON_ROUTE = "portal.route"  # (rule, endpoint), set by Flask once it has matched the URL
VALID_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
MASK = "[redacted]"

# (pattern, replacement), applied in order; each keeps what says what was hidden
_RULES: list[tuple[re.Pattern, str]] = [
    # PostgreSQL's DETAIL repeats the values hide_parameters hides ("Failing row contains (…)",
    # "Key (username)=(…)"): a reporter's name among them, which no pattern below would catch
    (re.compile(r"\b(DETAIL:\s+)[^\n]+"), r"\1" + MASK),
    # key=value and "key": "value" forms of secrets; the key stays, the value goes
    (
        re.compile(
            r"(?i)(\b(?:password|passwd|pwd|mat_khau|secret|token|api[_-]?key|session(?:_?id)?"
            r"|sid|authorization)\b[\"']?\s*[:=]\s*)"
            # an Authorization's scheme goes with its credentials, which follow it
            r"((?:(?:Bearer|Basic|Token|Digest)\s+)?(?:\"[^\"]*\"|'[^']*'|[^\s,;&}]+))"
        ),
        r"\1" + MASK,
    ),
    (re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 " + MASK),
    (re.compile(r"\bantt_[A-Za-z0-9_-]{8,}"), "antt_" + MASK),  # the portal's API tokens
    (re.compile(r"(?i)\b(Cookie|Set-Cookie):[^\n]*"), r"\1: " + MASK),
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    # Vietnamese phone numbers: 0 or +84/84, then 9 or 10 digits, spaces, dots or dashes between
    (re.compile(r"(?<![\w.+])(?:\+?84[ .-]?|0)\d(?:[ .-]?\d){8,9}(?!\w)"), "[phone]"),
    # the same with the prefix or the area code in brackets: (024) 3825 1234, (+84) 912 345 678
    (re.compile(r"\(\+?(?:84|0)\d{0,3}\)[ .-]?\d(?:[ .-]?\d){6,8}(?!\w)"), "[phone]"),
    # a tip's receipt code (portal.tips.receipts), in a URL or not
    (re.compile(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}\b"), "[receipt]"),
    # typed in small letters (the portal reads it so): its alphabet only, which has no i, l, o
    # or u, so that words such as "read-only" stay
    (re.compile(r"(?i)\b[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}\b"), "[receipt]"),
    # a query string in a URL someone logged (gunicorn's "Error handling request /x?…")
    (re.compile(r"(/[^\s?\"']*)\?[^\s\"']+"), r"\1?" + MASK),
]


def redact(text: str) -> str:
    """`text` with every secret, contact and receipt code masked."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


_STANDARD = set(vars(logging.LogRecord("x", 0, "", 0, "", None, None))) | {"message", "asctime"}


class Redact(logging.Filter):
    """Masks secrets and contacts in a record's message, arguments, exception and extras."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_portal_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: its parts, not the crash of the logger
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.exc_info = None  # the text above (redacted) stands for it everywhere
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, redact(value))
        record._portal_redacted = True
        return True


class RequestContext(logging.Filter):
    """Adds the request's id and URL rule to a line logged while a request is handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id") and has_request_context():
            record.request_id = request_id()
            rule = request.url_rule
            record.route = rule.rule if rule is not None else None
        return True


class JsonFormatter(_JsonFormatter):
    """One JSON object per line: time, level, logger, message, then the context and extras."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")
        kwargs.setdefault("json_ensure_ascii", False)
        super().__init__(["levelname", "name", "message"], *args, **kwargs)

    def process_log_record(self, log_data: dict) -> dict:
        if "exc_info" in log_data:
            log_data["exception"] = log_data.pop("exc_info")
        first = {key: log_data.pop(key) for key in ("time", "level", "logger", "message")}
        return {**first, **log_data}


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is now (the tests swap it), as logging's last resort does."""

    def __init__(self, level: int = logging.NOTSET):
        logging.Handler.__init__(self, level)

    @property
    def stream(self):
        return sys.stderr


def json_handler() -> logging.Handler:
    handler = StderrHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestContext())
    handler.addFilter(Redact())
    return handler


def configured() -> bool:
    """Whether this process logs JSON lines already (configure, or gunicorn's configuration)."""
    return any(isinstance(h, StderrHandler) for h in logging.getLogger().handlers)


def configure(level: str | None = None) -> None:
    """JSON lines on stderr from every logger, once per process (gunicorn's configuration may
    have done it already: deploy/gunicorn.conf.py), and Redact on every handler there is."""
    root = logging.getLogger()
    if not configured():
        root.addHandler(json_handler())
    for handler in root.handlers:
        if not any(isinstance(f, Redact) for f in handler.filters):
            handler.addFilter(RequestContext())
            handler.addFilter(Redact())
    root.setLevel((level or os.environ.get("PORTAL_LOG_LEVEL", "INFO")).upper())
    # the development server's own access line has the client's address and the raw path
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # each script load


def request_id() -> str:
    """This request's id: the one RequestLog took or made, else one made now."""
    if "request_id" not in g:
        g.request_id = request.environ.get(ENVIRON_ID) or _take_or_make(request.environ)
    return g.request_id


def _take_or_make(environ) -> str:
    given = environ.get("HTTP_X_REQUEST_ID", "")
    value = given if VALID_ID.fullmatch(given) else secrets.token_hex(16)
    environ[ENVIRON_ID] = value
    return value


access = logging.getLogger("portal.access")


class RequestLog:
    """Outermost WSGI layer: the request id in and out, and one access line per request."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        rid = _take_or_make(environ)
        seen: dict = {}

        def start(status, headers, exc_info=None):
            seen["status"] = int(status.split(" ", 1)[0])
            seen["length"] = next((v for k, v in headers if k.lower() == "content-length"), None)
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            headers.append((HEADER, rid))
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, start)
        line = _AccessLine(environ, seen, started, rid)
        wrapper = environ.get("wsgi.file_wrapper")
        if isinstance(wrapper, type) and isinstance(body, wrapper):
            # a file gunicorn sends with sendfile(): left as it is, logged now
            line.write(int(seen.get("length") or 0))
            return body
        return _Body(body, line)


class _AccessLine:
    """The one access line of a request, written once its body is sent (or given up)."""

    def __init__(self, environ, seen, started, rid):
        self.environ, self.seen, self.started, self.rid = environ, seen, started, rid
        self.written = False

    def write(self, sent: int) -> None:
        if self.written:
            return
        self.written = True
        rule, endpoint = self.environ.get(ENVIRON_ROUTE) or _fast_route(self.environ)
        method = self.environ.get("REQUEST_METHOD", "")
        status = self.seen.get("status")
        access.info(
            "%s %s %s",
            method,
            rule or "-",
            status,
            extra={
                "request_id": self.rid,
                "route": rule,
                "method": method,
                "endpoint": endpoint,
                "status": status,
                "duration_ms": round((time.perf_counter() - self.started) * 1000, 1),
                "bytes": sent,
                # made of the rule, endpoint, method and numbers only: nothing to mask, and
                # Redact's patterns would add some 40 µs to every request
                "_portal_redacted": True,
            },
        )


class _Body:
    """The response's body, counted as it is sent; the access line at its end or close."""

    def __init__(self, body, line: _AccessLine):
        self.body, self.line, self.sent = body, line, 0

    def __iter__(self):
        for chunk in self.body:
            self.sent += len(chunk)
            yield chunk
        self.line.write(self.sent)

    def close(self):
        try:
            if hasattr(self.body, "close"):
                self.body.close()
        finally:
            self.line.write(self.sent)


def _fast_route(environ) -> tuple[str | None, str | None]:
    """The rule of a look-up answered by its fast path (portal.lookup.fast), before Flask."""
    from portal.lookup import index as lookup_index

    asked = environ.get(lookup_index.ENVIRON_KEY)
    if asked is None:
        return None, None  # no rule matched: a 404 (its path is not logged)
    if asked[0] == "json":
        return "/api/lookup", "lookup.api"
    return "/tra-cuu/diem", "lookup.point"


def init_app(app: Flask) -> None:
    """JSON logs for the process, and the request id and access line for every request."""
    configure()
    from flask.logging import default_handler

    app.logger.removeHandler(default_handler)  # the root's JSON handler has its lines
    app.wsgi_app = RequestLog(app, app.wsgi_app)

    @app.before_request
    def _note_route():
        rule = request.url_rule
        request.environ[ENVIRON_ROUTE] = (rule.rule if rule else None, request.endpoint)
        request_id()

    # first of the before-request hooks: a line any other one logs has the id and route
    funcs = app.before_request_funcs.setdefault(None, [])
    funcs.insert(0, funcs.pop())
