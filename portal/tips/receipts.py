"""Receipt codes: what a citizen keeps to check their tip's status without signing in.

Eight characters of Crockford's base32 (no I, L, O, U: nothing to misread on a phone), shown as
XXXX-XXXX: 40 random bits, so guessing another's code is hopeless at the status page's limits.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 8
# what people type for the letters the alphabet leaves out
READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})


def new_receipt() -> str:
    code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
    return f"{code[:4]}-{code[4:]}"


def normalise(text: str | None) -> str | None:
    """A receipt as typed (any case, spaces or dashes, O for 0) in its stored form; None when it
    cannot be one."""
    raw = "".join(ch for ch in (text or "").upper() if ch.isalnum()).translate(READ_AS)
    if len(raw) != LENGTH or any(ch not in ALPHABET for ch in raw):
        return None
    return f"{raw[:4]}-{raw[4:]}"
