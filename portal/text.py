"""Vietnamese text: NFC for storage, a folded form for search that ignores diacritics."""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def nfc(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def fold(text: str) -> str:
    """Lower case without diacritics: "Phường Ba Đình" -> "phuong ba dinh"."""
    # đ has no combining mark to strip: it is its own letter, so it is mapped by hand
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    # composed again: a Hangul syllable decomposes into letters that are not marks, and the
    # folded name must fit the same column as the name
    return _SPACES.sub(" ", unicodedata.normalize("NFC", stripped.lower())).strip()


MIN_QUERY = 2  # one letter matches nearly every name


def search_text(text: str) -> str | None:
    """What a search box asks for, folded; None when it is too short to search on."""
    folded = fold(text)
    return folded if len(folded) >= MIN_QUERY else None


def like_pattern(folded: str) -> str:
    """A LIKE pattern for text anywhere in a value, LIKE's own wildcards escaped."""
    return "%" + folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
