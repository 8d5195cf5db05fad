"""Responses compressed with brotli or gzip, and what keeps that safe against BREACH.

What is compressed: HTML pages and fragments, JSON and GeoJSON, CSS, JavaScript, SVG and CSV,
above 500 bytes; brotli when the browser takes it, else gzip. Not compressed: what is compressed
already (GeoPackage and zip downloads, images), streamed responses, errors and redirects.

BREACH: a compressed response that carries a secret and reflects what an attacker sent lets
them guess the secret byte by byte from the response's size. Our pages reflect the search text
and form values, and every page carries the CSRF token. So:
- the CSRF token is masked anew in every place it is written (masked_csrf_token): a random pad
  and the token XOR the pad, so that no two responses carry the same bytes and there is nothing
  stable to guess; the server unmasks what comes back (MaskedCSRFProtect) before Flask-WTF
  checks it as usual;
- the session cookie is SameSite=Lax: a page on another site cannot make the browser send it on
  the thousands of background requests the attack needs, so those requests see the sign-in page;
- the session id travels only in the cookie, never in a body.
"""

from __future__ import annotations

import base64
import secrets

from flask import Flask
from flask_compress import Compress
from flask_wtf.csrf import CSRFProtect, generate_csrf

COMPRESSED_TYPES = [
    "text/html",
    "text/css",
    "text/csv",
    "text/plain",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/geo+json",
    "image/svg+xml",
    "application/vnd.mapbox-vector-tile",  # protobuf of names and coordinates: about half
]
MASKED = "m."  # a masked token starts so; anything else is checked as it came

compress = Compress()


def masked_csrf_token() -> str:
    """This session's CSRF token, masked with a fresh random pad (see the module's note)."""
    token = generate_csrf().encode()
    pad = secrets.token_bytes(len(token))
    masked = pad + bytes(a ^ b for a, b in zip(pad, token, strict=True))
    return MASKED + base64.urlsafe_b64encode(masked).decode()


def unmask(value: str | None) -> str | None:
    """The token a masked one carries; a value that is not masked (or not well formed) comes
    back as it is, and Flask-WTF refuses it."""
    if not value or not value.startswith(MASKED):
        return value
    try:
        raw = base64.urlsafe_b64decode(value[len(MASKED) :].encode())
    except ValueError:
        return value
    half = len(raw) // 2
    if not raw or len(raw) % 2:
        return value
    token = bytes(a ^ b for a, b in zip(raw[:half], raw[half:], strict=True))
    try:
        return token.decode("ascii")
    except UnicodeDecodeError:
        return value


class MaskedCSRFProtect(CSRFProtect):
    """Flask-WTF's CSRF protection, reading the masked tokens our pages carry."""

    def _get_csrf_token(self):
        return unmask(super()._get_csrf_token())


def init_app(app: Flask) -> None:
    """Before the other after-request hooks are registered, so that it runs last (Flask runs
    them in reverse): the body it compresses is final."""
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_BR_LEVEL", 4)  # fast: pages are made per request
    app.config.setdefault("COMPRESS_LEVEL", 6)
    app.config.setdefault("COMPRESS_MIN_SIZE", 500)
    app.config.setdefault("COMPRESS_STREAMS", False)
    compress.init_app(app)


def use_masked_tokens(app: Flask) -> None:
    """Templates write the masked token: after CSRFProtect has set its own helper, both as a
    global and by a context processor (a later processor wins)."""
    app.jinja_env.globals["csrf_token"] = masked_csrf_token
    app.context_processor(lambda: {"csrf_token": masked_csrf_token})
