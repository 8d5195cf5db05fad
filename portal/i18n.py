"""Vietnamese first, English second: the source strings are Vietnamese, English is a lookup.

A small catalogue in code instead of gettext files: no compile step at set-up, and a test checks
that every string the portal marks with _() has its English.
"""

from __future__ import annotations

from flask import Flask, g, has_request_context, session

from portal.translations import EN

LANGUAGES = ("vi", "en")


def current_language() -> str:
    if not has_request_context():  # the CLI speaks Vietnamese
        return "vi"
    lang = g.get("lang")
    if lang:
        return lang
    # Vietnamese unless the user chose English: a browser's English default is no such choice
    lang = session.get("lang")
    if lang not in LANGUAGES:
        lang = "vi"
    g.lang = lang
    return lang


def _(text: str, /, **params) -> str:
    """Translate a Vietnamese source string into the current language, then fill {params}."""
    if current_language() == "en":
        text = EN.get(text, text)
    return text.format(**params) if params else text


def label(table: dict[str, str], key: str) -> str:
    """A code's label from a table of Vietnamese labels, translated; the code itself if absent."""
    return _(table.get(key, key))


def thousands(n: float) -> str:
    """A whole number as Vietnamese writes it, thousands with dots: 20.000 (in both languages:
    the portal's figures read the same to every user)."""
    return f"{n:,.0f}".replace(",", ".")


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(_=_, current_language=current_language)
    app.jinja_env.filters["thousands"] = thousands
