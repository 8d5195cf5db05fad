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


def _take(found: list[bytes], windows: list[tuple[timedelta, int]], count: bool) -> None:
    """Check the keys against each (window, limit) in one pass over their rows, then (with
    count) count one more for each; TooMany, counting nothing, when a limit is reached."""
    if count:
        _lock(found)
    now = datetime.now(UTC)
    columns = []
    for window, _limit in windows:
        recent = TipLimit.at > now - window
        columns += [func.count().filter(recent), func.min(TipLimit.at).filter(recent)]
    longest = max(window for window, _limit in windows)
    rows = db.session.execute(
        select(*columns)
        .where(TipLimit.key.in_(found), TipLimit.at > now - longest)
        .group_by(TipLimit.key)
    ).all()
    for row in rows:
        for i, (window, limit) in enumerate(windows):
            used, oldest = row[2 * i], row[2 * i + 1]
            if used >= limit:
                seconds = (oldest + window - now).total_seconds()
                raise TooMany(max(1, int(seconds // 60) + 1))
    if count:
        db.session.execute(insert(TipLimit), [{"key": k} for k in found])
        db.session.execute(delete(TipLimit).where(TipLimit.at < now - KEEP))  # kept briefly


def take(address: str | None, device: str | None, *, count: bool = True) -> None:
    """Count one tip, or raise TooMany (and count nothing) when a limit is reached; with
    count=False only check (before the costly work, such as re-encoding a photo)."""
    config = current_app.config
    windows = [
        (timedelta(hours=1), config["TIP_MAX_PER_HOUR"]),
        (timedelta(days=1), config["TIP_MAX_PER_DAY"]),
    ]
    _take(keys(address, device), windows, count)


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
    limit = current_app.config["TIP_STATUS_PER_HOUR"]
    _take(keys(_wide(address), None, kind="status"), [(timedelta(hours=1), limit)], True)
