"""Sign-in throttling by account name at an address, and by address, shared by every worker
through PostgreSQL.

Why the account limit counts per (name, address) and not per name alone: counted per name, a
stranger's five wrong passwords locked a known account name (names follow patterns and are no
secret) for everyone, a denial of service that needs no skill at all. Counted per pair, the
stranger locks the name at their own address only; its owner still signs in from theirs.

Guessing one account's password from many addresses is met elsewhere. The password policy (12
characters at least, none of the commonest 30,000 passwords, zxcvbn score 3: some 10^8 guesses
expected) leaves far too many candidates for 5 tries per address per 15 minutes (480 a day): a
botnet of a thousand addresses would need months per account. The per-address limit (30 failures
across all names) stops one address from spraying a common password over many names, and an IPv6
address counts by its /64, the block one subscriber is given, so nobody steps through their own
addresses. argon2id keeps a copied accounts table from being cracked offline instead, so online
guessing, bounded here, is the only way in.

The name is counted as typed, whether or not such an account exists, so the answers never tell
an attacker which names are real.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, insert, select

from portal.extensions import db
from portal.models import LoginFailure

NAME_CHARS = 80  # as long as any account name (accounts.username); longer ones match none


def _address(address: str | None) -> str:
    """The address as throttling counts it: IPv4 as is, IPv6 by its /64."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:  # not an address (a misconfigured proxy's header): as is, bounded
        return (address or "unknown")[:45]
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def keys(username: str, address: str | None) -> tuple[str, str]:
    """The two counters a sign-in goes against: the name at this address, and the address."""
    name = username.strip().lower()[:NAME_CHARS].replace("\x00", "")
    where = _address(address)
    return f"user:{name}@{where}", f"ip:{where}"


def _window() -> datetime:
    return datetime.now(UTC) - timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])


def retry_after_minutes(username: str, address: str | None) -> int | None:
    """Minutes until a sign-in may be tried again, or None when it may be tried now."""
    config = current_app.config
    user_key, ip_key = keys(username, address)
    since = _window()
    rows = db.session.execute(
        select(LoginFailure.key, func.count(), func.min(LoginFailure.at))
        .where(LoginFailure.key.in_([user_key, ip_key]), LoginFailure.at > since)
        .group_by(LoginFailure.key)
    ).all()
    limits = {user_key: config["LOGIN_MAX_PER_ACCOUNT"], ip_key: config["LOGIN_MAX_PER_ADDRESS"]}
    blocked_until = None
    for key, count, oldest in rows:
        if count >= limits[key]:
            until = oldest + timedelta(minutes=config["LOGIN_WINDOW_MINUTES"])
            blocked_until = max(blocked_until or until, until)
    if blocked_until is None:
        return None
    seconds = (blocked_until - datetime.now(UTC)).total_seconds()
    return max(1, int(seconds // 60) + 1)


def record_failure(username: str, address: str | None) -> None:
    """Count a failed sign-in against both keys; committed at once, whatever happens next."""
    db.session.execute(insert(LoginFailure), [{"key": k} for k in keys(username, address)])
    # old rows are of no use: keep the table small
    db.session.execute(
        delete(LoginFailure).where(LoginFailure.at < datetime.now(UTC) - timedelta(days=1))
    )
    db.session.commit()


def clear_account(username: str, address: str | None) -> None:
    """A successful sign-in forgets the name's failures at this address (not the address's, nor
    the name's at other addresses: an owner signing in must not unlock a stranger's guessing)."""
    db.session.execute(delete(LoginFailure).where(LoginFailure.key == keys(username, address)[0]))
