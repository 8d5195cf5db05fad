"""Vietnamese text: NFC for storage, a folded form for search that ignores diacritics."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

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


# --- issue 14: citizen look-up (search words, Vietnamese order) ---------------------------

# What people type for the kinds of places: "tdp 7 ngoc ha", "p. ba dinh", "x. dong anh".
ABBREVIATIONS = {
    "tdp": "to dan pho",
    "kp": "khu pho",
    "p": "phuong",
    "x": "xa",
    "tt": "thi tran",
    "tp": "thanh pho",
    "q": "quan",
    "h": "huyen",
}
_STUCK = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")  # "tdp7" -> "tdp 7"
_PUNCTUATION = re.compile(r"[.,;:/()\-–]+")


@dataclass(frozen=True)
class Word:
    """One word of a search: folded, as typed (lower case, with its marks), and if a number."""

    folded: str
    typed: str

    @property
    def number(self) -> bool:
        return self.folded.isdigit()


def search_words(text: str) -> list[Word]:
    """The words a search matches on, abbreviations written out; "số" before a number dropped.

    "tdp 7 ngoc ha" -> to dan pho 7 ngoc ha; "p.Ba Đình" -> phuong ba đình.
    """
    spaced = _STUCK.sub(" ", _PUNCTUATION.sub(" ", nfc(text).lower()))
    words: list[Word] = []
    for typed in spaced.split():
        folded = fold(typed)
        if folded in ABBREVIATIONS and typed == folded:  # "xã" typed whole is no abbreviation
            words += [Word(w, w) for w in ABBREVIATIONS[folded].split()]
        else:
            words.append(Word(folded, typed))
    # "số 7" and "7" name the same village: some names write "số", others do not
    kept = [
        w
        for i, w in enumerate(words)
        if not (w.folded == "so" and i + 1 < len(words) and words[i + 1].number)
    ]
    # each word adds LIKE tests over every area: a URL of a thousand words kept the database
    # busy for a minute. A place and its commune are named in far fewer; repeats add nothing.
    return list(dict.fromkeys(kept))[:MAX_WORDS]


MAX_WORDS = 12


# Vietnamese alphabetical order: letters with marks after their base letter (a ă â, d đ, e ê,
# o ô ơ, u ư), then tones in the order dictionaries use (none, grave, hook, tilde, acute, dot).
_LETTERS = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
_TONES = {"\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
_LETTER_MARKS = {"\u0306", "\u0302", "\u031b"}  # breve, circumflex, horn: part of the letter


# the same names (communes, villages, teams) are sorted again and again
@functools.lru_cache(maxsize=16384)
def vietnamese_key(text: str) -> tuple:
    """A sort key in Vietnamese dictionary order: syllable by syllable, letters first, tones
    to break ties, numbers by value ("Thôn 2" before "Thôn 10")."""
    words: list[tuple] = []
    tones: list[int] = []
    for word in unicodedata.normalize("NFC", text.lower()).split():
        if word.isdigit():
            words.append((0, int(word), ()))
            continue
        letters = []
        for char in word:
            parts = unicodedata.normalize("NFD", char)
            base = parts[0] + "".join(m for m in parts[1:] if m in _LETTER_MARKS)
            base = unicodedata.normalize("NFC", base)
            tones.append(next((_TONES[m] for m in parts[1:] if m in _TONES), 0))
            position = _LETTERS.find(base)
            letters.append(position if position >= 0 else 100 + ord(base[0]))
        words.append((1, 0, tuple(letters)))
    return (words, tones)


KIND_PREFIXES = (
    "thành phố",
    "tỉnh",
    "thị trấn",
    "đặc khu",
    "phường",
    "xã",
    "tổ dân phố",
    "khu phố",
    "thôn",
    "làng",
    "ấp",
    "bản",
    "khóm",
)


def without_kind(name: str) -> str:
    """A place's own name, without the kind it starts with: "Phường Ba Đình" -> "Ba Đình"."""
    lowered = name.lower()
    for prefix in KIND_PREFIXES:
        if lowered.startswith(prefix + " ") and len(name) > len(prefix) + 1:
            return name[len(prefix) + 1 :]
    return name
