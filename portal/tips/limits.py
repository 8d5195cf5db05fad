"""Abuse limits on citizens' tips, per address and per device, shared by every worker through
PostgreSQL.

No address is stored: a tip is counted against HMAC-SHA256(SECRET_KEY, "ip:<address>") and
HMAC-SHA256(SECRET_KEY, "device:<cookie>"), and the counts are deleted after a day. Without the
key a hash cannot be turned back into an address by trying all 2^32 of them. An IPv6 address
counts by its /64 (one subscriber's block), as sign-in throttling does. The device is a random
id in a cookie the tip form sets: someone who clears cookies is still held by the address limit.

A transaction-scoped advisory lock per key makes check-and-count atomic, so two workers taking
two tips from the same address at the same instant cannot both slip under the limit.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, insert, select

from portal.auth.throttle import _address
from portal.extensions import db
from portal.models import TipLimit

KEEP = timedelta(days=1)


class TooMany(Exception):
    """Over a limit: retry_minutes says when a tip may be sent again."""

    def __init__(self, retry_minutes: int):
        super().__init__(retry_minutes)
        self.retry_minutes = retry_minutes


def _key(kind: str, value: str) -> bytes:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).digest()


def keys(address: str | None, device: str | None, kind: str = "tip") -> list[bytes]:
    """The keyed hashes a request counts against: its address, and its device when known."""
    found = [_key(f"{kind}-ip", _address(address))]
    if device:
        found.append(_key(f"{kind}-device", device[:64]))
    return found


def _lock(key_hashes: list[bytes]) -> None:
    for key in sorted(key_hashes):
        db.session.execute(
            select(func.pg_advisory_xact_lock(int.from_bytes(key[:8], "big", signed=True)))
        )


def take(address: str | None, device: str | None, *, count: bool = True) -> None:
    """Count one tip, or raise TooMany (and count nothing) when a limit is reached; with
    count=False only check (before the costly work, such as re-encoding a photo)."""
    config = current_app.config
    found = keys(address, device)
    if count:
        _lock(found)
    now = datetime.now(UTC)
    hour = now - timedelta(hours=1)
    # both windows in one pass over the key's rows of the last day
    rows = db.session.execute(
        select(
            func.count().filter(TipLimit.at > hour),
            func.min(TipLimit.at).filter(TipLimit.at > hour),
            func.count(),
            func.min(TipLimit.at),
        )
        .where(TipLimit.key.in_(found), TipLimit.at > now - timedelta(days=1))
        .group_by(TipLimit.key)
    ).all()
    for in_hour, oldest_in_hour, in_day, oldest_in_day in rows:
        for used, oldest, limit, window in (
            (in_hour, oldest_in_hour, config["TIP_MAX_PER_HOUR"], timedelta(hours=1)),
            (in_day, oldest_in_day, config["TIP_MAX_PER_DAY"], timedelta(days=1)),
        ):
            if used >= limit:
                seconds = (oldest + window - now).total_seconds()
                raise TooMany(max(1, int(seconds // 60) + 1))
    if not count:
        return
    db.session.execute(insert(TipLimit), [{"key": k} for k in found])
    db.session.execute(delete(TipLimit).where(TipLimit.at < now - KEEP))  # kept briefly


def _wide(address: str | None) -> str | None:
    """An IPv6 address as its /48 (a site's whole allocation): guessing receipts from the
    65,536 /64s of one site must not multiply the look-ups it is allowed."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address
    if ip.version == 6 and not ip.ipv4_mapped:
        return str(ipaddress.ip_network(f"{ip}/48", strict=False))
    return address


def take_status_look(address: str | None) -> None:
    """Count one status look-up by receipt for the address; TooMany past the hourly limit."""
    found = keys(_wide(address), None, kind="status")
    _lock(found)
    now = datetime.now(UTC)
    db.session.execute(delete(TipLimit).where(TipLimit.at < now - KEEP))  # kept briefly
    count = db.session.scalar(
        select(func.count()).where(TipLimit.key == found[0], TipLimit.at > now - timedelta(hours=1))
    )
    if count >= current_app.config["TIP_STATUS_PER_HOUR"]:
        raise TooMany(60)
    db.session.execute(insert(TipLimit), [{"key": found[0]}])
