"""Vietnamese first, English second: the source strings are Vietnamese, English is a gettext lookup.

The Vietnamese text is the msgid; translations/en/LC_MESSAGES/messages.po holds its English
(README: Translations). scripts/setup.sh compiles it to messages.mo; the app refuses to start
without an up-to-date .mo rather than show English pages half in Vietnamese. Numbers and dates
are written by Babel in the user's language: 1.234,5 and 28/11/2026 in Vietnamese, 1,234.5 and
28 Nov 2026 in English (day and month in words: no reader takes it for 11 November or 2 Dec).
"""

from __future__ import annotations

import os
import tempfile
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import format_time as babel_format_time
from babel.numbers import format_decimal
from flask import Flask, g, has_request_context, request, session
from flask_babel import Babel, get_translations

LANGUAGES = ("vi", "en")
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"
DOMAIN = "messages"
# the portal's clock for display: every date and time a user reads is Vietnam's
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# Babel's locale per language: British English writes 24-hour times and day before month
LOCALES = {"vi": Locale.parse("vi"), "en": Locale.parse("en_GB")}
DATE_FORMATS = {"vi": "dd/MM/yyyy", "en": "d MMM yyyy"}
DATETIME_FORMATS = {"vi": "dd/MM/yyyy HH:mm", "en": "d MMM yyyy, HH:mm"}
DAY_MONTH_FORMATS = {"vi": "dd/MM", "en": "d MMM"}  # a week's days, where the year is plain
MONTH_FORMATS = {"vi": "MM/yyyy", "en": "MMM yyyy"}
TIME_FORMAT = "HH:mm"


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


def language_asked(parameter: str) -> str | None:
    """The language a client without a session asks for (a GIS or Open311 client): the query
    parameter first (vi, en, en_US, en-GB…), else an Accept-Language preferring English to
    Vietnamese (a tie is Vietnamese); None when it asks for neither."""
    lang = request.args.get(parameter, "").replace("_", "-").split("-")[0].lower()
    if lang in LANGUAGES:
        return lang
    return "en" if request.accept_languages.best_match(LANGUAGES) == "en" else None


def current_locale() -> Locale:
    """Babel's locale for the current language (Flask-Babel's locale selector too)."""
    return LOCALES[current_language()]


def _(text: str, /, **params) -> str:
    """Translate a Vietnamese source string into the current language, then fill {params}."""
    if current_language() != "vi":  # Vietnamese is the msgid itself: no catalogue to read
        text = get_translations().gettext(text)
    return text.format(**params) if params else text


def N_(text: str, /) -> str:
    """Mark a string kept in a table for pybabel extract; label() or _() translates it at use."""
    return text


def label(table: dict[str, str], key: str) -> str:
    """A code's label from a table of Vietnamese labels, translated; the code itself if absent."""
    return _(table.get(key, key))


# the thousands separator of each language, for whole numbers without Babel's pattern machinery
GROUP = {lang: locale.number_symbols["latn"]["group"] for lang, locale in LOCALES.items()}


def number(n: float | None, digits: int = 0) -> str:
    """A number as the user's language writes it: 1.234,5 in Vietnamese, 1,234.5 in English."""
    if n is None:
        return "—"
    if digits <= 0:
        # what Babel writes for "#,##0", 7 times faster: a page of figures has a thousand of them
        return f"{n:,.0f}".replace(",", GROUP[current_language()])
    return format_decimal(n, format="#,##0." + "0" * digits, locale=current_locale())


def decimal(n: float | None, digits: int = 1) -> str:
    """Up to `digits` decimals, none when the number is whole: 12,5 / 12 (12.5 / 12 in English)."""
    if n is None:
        return "—"
    pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "")
    return format_decimal(n, format=pattern, locale=current_locale())


def thousands(n: float) -> str:
    """A whole number, thousands grouped in the user's language: 20.000 / 20,000."""
    return number(n)


def _local(moment: datetime) -> datetime:
    # a naive datetime is taken as already local (the portal stores aware ones)
    return moment.astimezone(LOCAL_TZ) if moment.tzinfo else moment


def format_date(day: date | datetime | None) -> str:
    """A date in the user's language: 28/11/2026 or 28 Nov 2026; — when there is none."""
    if day is None:
        return "—"
    lang = current_language()
    return babel_format_date(_day(day), DATE_FORMATS[lang], locale=LOCALES[lang])


def _day(day: date | datetime) -> date:
    return _local(day).date() if isinstance(day, datetime) else day


def format_day_month(day: date | datetime | None) -> str:
    """A day of a month, the year left out: 28/11 or 28 Nov."""
    if day is None:
        return "—"
    lang = current_language()
    return babel_format_date(_day(day), DAY_MONTH_FORMATS[lang], locale=LOCALES[lang])


def format_month(day: date | datetime | None) -> str:
    """A month: 11/2026 or Nov 2026."""
    if day is None:
        return "—"
    lang = current_language()
    return babel_format_date(_day(day), MONTH_FORMATS[lang], locale=LOCALES[lang])


def format_datetime(moment: datetime | None) -> str:
    """A moment in Vietnam's time, in the user's language: 28/11/2026 14:05 / 28 Nov 2026, 14:05."""
    if moment is None:
        return "—"
    lang = current_language()
    return babel_format_datetime(_local(moment), DATETIME_FORMATS[lang], locale=LOCALES[lang])


def format_time(moment: datetime | time | None) -> str:
    """A time of day in Vietnam's time, 24-hour in both languages: 14:05."""
    if moment is None:
        return "—"
    if isinstance(moment, datetime):
        moment = _local(moment)
    return babel_format_time(moment, TIME_FORMAT, locale=current_locale())


def catalogue(lang: str = "en") -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def stale_catalogues() -> list[Path]:
    """The .po files whose .mo is missing or older: what `pybabel compile` still has to do."""
    return [
        po
        for po in sorted(TRANSLATIONS.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
        if not po.with_suffix(".mo").exists()
        or po.stat().st_mtime > po.with_suffix(".mo").stat().st_mtime
    ]


def compile_catalogues() -> None:
    """Compile what is stale, each .mo written whole then renamed (parallel test workers)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in stale_catalogues():
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parent.parent.name)
        fd, tmp = tempfile.mkstemp(dir=po.parent, suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as out:
            write_mo(out, catalog)
        os.replace(tmp, po.with_suffix(".mo"))


def init_app(app: Flask) -> None:
    stale = stale_catalogues()
    if stale:
        # English pages would silently fall back to Vietnamese: refuse, and say what to run
        raise RuntimeError(
            f"Translations not compiled: {', '.join(str(p) for p in stale)} has no up-to-date "
            ".mo. Run scripts/setup.sh, or: .venv/bin/pybabel compile -d translations"
        )
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "vi")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", str(LOCAL_TZ))
    # our own _ and filters in templates, not Jinja's i18n extension (it would replace _)
    Babel(app, locale_selector=lambda: str(current_locale()), configure_jinja=False)
    app.jinja_env.globals.update(_=_, current_language=current_language)
    app.jinja_env.filters.update(
        thousands=thousands,
        number=number,
        decimal=decimal,
        date=format_date,
        datetime=format_datetime,
        time=format_time,
        day_month=format_day_month,
        month=format_month,
    )
