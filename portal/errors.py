"""Typed domain errors, and the one place where errors become HTML pages, fragments or JSON."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask, current_app, g, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from portal.extensions import db, htmx
from portal.i18n import N_, _


class DomainError(Exception):
    """A failure the user can understand; status is the HTTP status it maps to."""

    status = 400
    retry_after: int | None = None  # seconds, sent as Retry-After (a 429 says when to retry)

    def __init__(self, message: str, *, details: list | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []


class BadParameter(DomainError):
    """A query or form parameter the request cannot be served with; the message and details
    name it."""

    def __init__(self, name: str, message: str):
        super().__init__(message, details=[{"parameter": name}])
        self.parameter = name


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Invalid(DomainError):
    status = 422


class DatabaseUnavailable(DomainError):
    """The database (or the primary, for a write) does not answer: try again shortly."""

    status = 503


# Seconds a client is told to wait when the database is down or restarting (Retry-After).
RETRY_AFTER_SECONDS = 5

# SQLSTATE classes that mean "the server cannot serve this now", not "this request is wrong":
# 08 connection exception, 57P admin shutdown / crash shutdown / cannot connect now,
# 25006 read-only transaction (a write reached a replica or a primary being demoted).
_UNAVAILABLE_STATES = ("08", "57P", "25006", "53300")


def database_unavailable(exc: BaseException) -> bool:
    """Whether a database error means the server is unreachable, restarting or read-only."""
    if isinstance(exc, sa_exc.TimeoutError):  # the pool waited in vain for a connection
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, sa_exc.InterfaceError):
        return True
    state = getattr(exc.orig, "sqlstate", None) or ""
    if state.startswith(_UNAVAILABLE_STATES):
        return True
    # psycopg's refusal to connect carries no SQLSTATE: "connection refused", "server closed"
    return isinstance(exc, sa_exc.OperationalError) and not state


class FormInvalid(Invalid):
    """Bad form input: one message per field, shown beside the field; nothing was changed."""

    def __init__(self, fields: dict[str, str]):
        details = [{"field": name, "message": message} for name, message in fields.items()]
        super().__init__(" ".join(fields.values()), details=details)
        self.fields = fields


@dataclass
class ErrorView:
    status: int
    title: str
    message: str
    details: list = field(default_factory=list)


_TITLES = {
    400: N_("Yêu cầu không hợp lệ"),
    403: N_("Không có quyền truy cập"),
    404: N_("Không tìm thấy"),
    405: N_("Phương thức không được phép"),
    413: N_("Tệp quá lớn"),
    415: N_("Kiểu nội dung không được hỗ trợ"),  # issue 16: the API takes JSON only
    422: N_("Dữ liệu không hợp lệ"),
    429: N_("Quá nhiều yêu cầu"),
    500: N_("Lỗi hệ thống"),
    503: N_("Dịch vụ tạm thời không sẵn sàng"),
}


def _wants_json() -> bool:
    if request.path.startswith(("/api/", "/healthz", "/ogc/")):  # /ogc/: JSON only
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not htmx


# Parts of the site that speak a standard of their own answer errors in it: URL prefix ->
# renderer of an ErrorView (portal.open311: Open311's error list, in JSON or XML)
_RENDERERS: dict[str, Callable[[ErrorView], ResponseReturnValue]] = {}


def errors_under(prefix: str, render: Callable[[ErrorView], ResponseReturnValue]) -> None:
    """Errors of every URL under `prefix` (the portal's own too: 404, 405, 500) are `render`'s."""
    _RENDERERS[prefix] = render


def render_error(view: ErrorView):
    for prefix, render in _RENDERERS.items():
        if request.path.startswith(prefix):
            return render(view)
    if _wants_json():
        body = {"error": view.title, "message": view.message, "status": view.status}
        if view.details:
            body["details"] = view.details
        return jsonify(body), view.status
    template = "errors/_error.html" if htmx else "errors/page.html"
    response = render_template(template, error=view)
    headers = {}
    if htmx:
        # show the message where the request came from, whatever target it aimed at
        headers = {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}
    return response, view.status, headers


def discard_session() -> None:
    """Drop the request's session after the database failed under it: rolled back when its
    connection still answers, else invalidated (closed without a word to the server, which
    has already thrown the transaction away). Never raises: a dead connection refuses even a
    rollback."""
    try:
        db.session.rollback()
    except Exception:
        try:
            db.session.invalidate()
        except Exception:
            current_app.logger.warning("could not invalidate a dead connection", exc_info=True)
        db.session.registry.clear()  # the next request starts with a session of its own


def register(app: Flask) -> None:
    # Registered after db.init_app, so it runs before Flask-SQLAlchemy's own teardown, which
    # would roll back on a connection that died mid-request (PostgreSQL killed or restarted)
    # and turn the answer already made, often a 503, into gunicorn's bare 500.
    @app.teardown_appcontext
    def _end_session(_exc):
        try:
            db.session.remove()
        except sa_exc.SQLAlchemyError as exc:
            current_app.logger.warning("database gone at the end of a request: %s", exc)
            discard_session()

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        if isinstance(exc, DatabaseUnavailable):
            return unavailable(exc)
        title = _(_TITLES.get(exc.status, _TITLES[400]))
        response = render_error(ErrorView(exc.status, title, exc.message, exc.details))
        if exc.retry_after is None:
            return response
        body, status, headers = _as_response(response)
        return body, status, {**headers, "Retry-After": str(exc.retry_after)}

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        title = _(_TITLES.get(status, exc.name))
        message = _(MESSAGES.get(status, "")) or exc.description or ""
        if status == 400 and "CSRF" in (exc.description or ""):
            message = _("Phiên làm việc đã hết hạn hoặc thiếu mã CSRF. Hãy tải lại trang.")
        return render_error(ErrorView(status, title, message))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        if database_unavailable(exc):
            return unavailable(exc)
        app.logger.exception("unhandled error")
        return render_error(
            ErrorView(500, _(_TITLES[500]), _("Đã có lỗi xảy ra. Xin thử lại sau."))
        )


def unavailable(exc: BaseException):
    """503 with Retry-After: the database is down, restarting or read-only; nothing was done."""
    current_app.logger.warning("database unavailable: %s", type(exc).__name__)
    discard_session()  # the connection is dead: drop it so the next request starts afresh
    # the page is drawn as for a visitor: the account's row expired with the rollback, and
    # reading it again would ask the database that just failed
    g.account = None
    message = _(
        "Cơ sở dữ liệu tạm thời không trả lời nên yêu cầu này chưa được thực hiện. "
        "Xin thử lại sau {seconds} giây.",
        seconds=RETRY_AFTER_SECONDS,
    )
    response, status, headers = _as_response(render_error(ErrorView(503, _(_TITLES[503]), message)))
    headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response, status, headers


def _as_response(result) -> tuple:
    if len(result) == 3:
        body, status, headers = result
        return body, status, dict(headers)
    body, status = result
    return body, status, {}


MESSAGES = {
    403: N_("Tài khoản của bạn không được phép xem trang này."),
    404: N_("Trang hoặc đối tượng bạn tìm không tồn tại, hoặc nằm ngoài phạm vi của bạn."),
    405: N_("Địa chỉ này không nhận phương thức yêu cầu đó."),
    413: N_("Tệp tải lên vượt quá 50 MB."),
}
