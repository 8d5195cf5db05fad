"""Password hashing with argon2id, and the policy a new password must meet."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

MIN_LENGTH = 12
MIN_STRENGTH = 3  # zxcvbn's score from 0 to 4: 3 means "safely unguessable" online
# The 30,000 commonest passwords (zxcvbn's list from leaked password sets) and a few that
# Vietnamese users favour; checked whole and with trailing digits and symbols removed.
COMMON = frozenset(FREQUENCY_LISTS["passwords"]) | {
    "matkhau",
    "anhyeuem",
    "emyeuanh",
    "vietnam",
    "hanoi",
    "saigon",
    "congan",
    "baove",
}
_TAIL = re.compile(r"[\d\W_]+$")

_hasher = PasswordHasher()
# verified against when the username is unknown, so that both cases cost the same time
_DUMMY_HASH = _hasher.hash("not-a-real-password-only-for-timing")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def weakness(password: str, username: str = "") -> str | None:
    """Why the password may not be used (a key for the message), or None if it is fine."""
    if len(password) < MIN_LENGTH:
        return "too_short"
    lowered = password.lower()
    if lowered in COMMON or _TAIL.sub("", lowered) in COMMON:
        return "common"
    if username and username.lower() in lowered:
        return "contains_username"
    # zxcvbn refuses more than 72 characters (ValueError); the first 72 tell the strength well
    # enough, and a longer password is no weaker for what follows
    if zxcvbn(password[:72], user_inputs=[username] if username else [])["score"] < MIN_STRENGTH:
        return "guessable"
    return None
