"""The OGC API's data and its API tokens: pages of features read through the request's scope,
and tokens made, listed, revoked and checked.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from datetime import UTC, datetime

from sqlalchemy import update

from portal.errors import FormInvalid, NotFound
from portal.extensions import db
from portal.i18n import _
from portal.models import Account, ApiToken
from portal.ogc import queries
from portal.ogc.collections import COLLECTIONS, INTEGER, NUMBER, Collection
from portal.scope import Scope

TOKEN_PREFIX = "antt_"  # tells a leaked secret apart in logs and scanners
NAME_MAX = 80


class BadValue(ValueError):
    """A query value that does not fit its field's type."""


def _typed(collection: Collection, name: str, value: str):
    kind = collection.fields[name]
    try:
        if kind == INTEGER:
            return int(value)
        if kind == NUMBER:
            return float(value)
    except ValueError as exc:
        raise BadValue(name) from exc
    return value


def _feature(collection: Collection, row, fields: list[str]) -> dict:
    values = row._mapping
    geometry = values["_geometry"]
    return {
        "type": "Feature",
        "id": values["id"],
        "geometry": json.loads(geometry) if geometry is not None else None,
        "properties": {name: values[name] for name in fields},
    }


def page(
    collection_id: str,
    scope: Scope,
    *,
    offset: int,
    limit: int,
    bbox: list[float],
    properties: list[tuple[str, str]],
    sortby: list[dict],
    select_properties: list[str],
    skip_geometry: bool,
    resulttype: str,
) -> dict:
    """One page of a collection as a GeoJSON FeatureCollection with numberMatched and
    numberReturned; pygeoapi adds the links (self, next, prev)."""
    collection = COLLECTIONS[collection_id]
    box = tuple(bbox[:4]) if bbox else None
    equals = {name: _typed(collection, name, value) for name, value in properties}
    matched = db.session.scalar(queries.matched(collection, scope, box=box, equals=equals))
    features = []
    if resulttype != "hits":
        fields = [f for f in collection.fields if not select_properties or f in select_properties]
        order = [(s["property"], s["order"] == "-") for s in sortby]
        rows = db.session.execute(
            queries.items(
                collection,
                scope,
                box=box,
                equals=equals,
                order=order,
                offset=offset,
                limit=limit,
                fields=fields,
                with_geometry=not skip_geometry,
            )
        )
        features = [_feature(collection, row, fields) for row in rows]
    return {
        "type": "FeatureCollection",
        "features": features,
        "numberMatched": matched,
        "numberReturned": len(features),
    }


def feature(collection_id: str, scope: Scope, fid: str) -> dict | None:
    """One feature by its id, if in scope; None when there is none."""
    collection = COLLECTIONS[collection_id]
    try:
        key = _typed(collection, "id", fid)
    except BadValue:
        return None
    row = db.session.execute(queries.one(collection, scope, key)).first()
    if row is None:
        return None
    return _feature(collection, row, list(collection.fields))


_extent: tuple[float, list[float] | None] = (0.0, None)
EXTENT_SECONDS = 300


def extent() -> list[float] | None:
    """The provinces' bounding box, every layer's extent; kept a few minutes per process (a
    boundary change moves it rarely, and clients only use it to zoom)."""
    global _extent
    at, box = _extent
    if time.monotonic() - at > EXTENT_SECONDS:
        row = db.session.execute(queries.extent(COLLECTIONS["provinces"])).first()
        box = None if row is None or row[0] is None else [round(float(v), 6) for v in row]
        _extent = (time.monotonic(), box)
    return box


# --- API tokens ----------------------------------------------------------------------------


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def account_for_token(secret: str) -> Account | None:
    """The active account a bearer token stands for, and the token's use noted; None for an
    unknown, revoked or deactivated one."""
    token = db.session.scalar(queries.token_by_hash(_hash(secret)))
    if token is None or token.revoked_at is not None:
        return None
    account = token.account
    if account is None or not account.is_active:
        return None
    # a bulk UPDATE: the audit log (ORM changes) does not log every read made with a token
    db.session.execute(
        update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=datetime.now(UTC))
    )
    db.session.commit()
    return account


def tokens_of(account: Account) -> list[ApiToken]:
    return list(db.session.scalars(queries.tokens_of(account.id)))


def create_token(account: Account, name: str) -> tuple[ApiToken, str]:
    """A new token for the account; its secret is returned once and never stored."""
    name = " ".join(name.split())
    if not name:
        raise FormInvalid({"name": _("Hãy đặt tên cho mã, ví dụ “QGIS máy phòng kế hoạch”.")})
    if len(name) > NAME_MAX:
        raise FormInvalid({"name": _("Tên dài quá {n} ký tự.", n=NAME_MAX)})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(account_id=account.id, name=name, token_hash=_hash(secret), prefix=secret[:12])
    db.session.add(token)
    db.session.commit()
    return token, secret


def get_token(account: Account, token_id: int) -> ApiToken:
    """One of the account's own tokens; another account's answers 404."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.account_id != account.id:
        raise NotFound(_("Không tìm thấy mã truy cập này."))
    return token


def revoke(account: Account, token_id: int) -> ApiToken:
    token = get_token(account, token_id)
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        db.session.commit()
    return token
