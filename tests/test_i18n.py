"""The gettext catalogue: every string pybabel extracts has its English, and nothing else is in it.

The check extracts exactly as `make translations` does (babel.cfg), so a string the check sees
is a string the translator is given. Vietnamese stays NFC, placeholders survive translation, and
English pages ask the catalogue for nothing it lacks.
"""

from __future__ import annotations

import ast
import re
import unicodedata
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from portal import i18n
from tests.conftest import ROOT, csrf_token

# _("...") or _('...') in Jinja; a literal first argument only
MARKED = re.compile(r"""\b_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")
VIETNAMESE = re.compile(r"[À-ỹĐđ]")


def extracted(root: Path = ROOT) -> dict[str, list[str]]:
    """msgid -> ["file:line", ...], as `pybabel extract -F babel.cfg` finds them under root."""
    with (root / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        root, method_map, options_map
    ):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


def load_catalogue(path: Path | None = None) -> Catalog:
    with (path or i18n.catalogue("en")).open("rb") as f:
        return read_po(f, locale="en")


def untranslated(found: dict[str, list[str]], catalogue: Catalog) -> list[str]:
    """'file:line: msgid' of each extracted string without English (absent, empty or fuzzy)."""
    missing = []
    for msgid, places in found.items():
        message = catalogue.get(msgid)
        if message is None or not message.string or message.fuzzy:
            missing += [f"{place}: {msgid!r}" for place in places]
    return sorted(missing)


def obsolete(found: dict[str, list[str]], catalogue: Catalog) -> list[str]:
    """Catalogue entries no source string asks for (`make translations` drops them)."""
    return sorted(m.id for m in catalogue if m.id and m.id not in found)


@pytest.fixture(scope="module")
def found() -> dict[str, list[str]]:
    return extracted()


@pytest.fixture(scope="module")
def catalogue() -> Catalog:
    return load_catalogue()


def test_every_extracted_string_has_english(found, catalogue):
    missing = untranslated(found, catalogue)
    assert missing == [], (
        "strings without English; run `make translations`, translate the empty msgstr in "
        f"{i18n.catalogue('en').relative_to(ROOT)}:\n" + "\n".join(missing)
    )


def test_no_obsolete_translations(found, catalogue):
    # a string changed in the code leaves its old entry: the translator would work for nothing
    assert obsolete(found, catalogue) == [], "run `make translations` (it drops them)"


def test_the_check_catches_an_untranslated_string(tmp_path, catalogue):
    (tmp_path / "babel.cfg").write_text((ROOT / "babel.cfg").read_text())
    (tmp_path / "portal").mkdir()
    (tmp_path / "portal" / "new.py").write_text(
        'from portal.i18n import _, N_\n\nTABLE = {"a": N_("Địa bàn")}\n'
        'TEXT = _("Một câu mới chưa dịch", n=1)\n'
    )
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "new.html").write_text('<p>\n{{ _("Trang mới chưa dịch") }}</p>\n')
    found = extracted(tmp_path)
    assert set(found) == {"Địa bàn", "Một câu mới chưa dịch", "Trang mới chưa dịch"}
    assert untranslated(found, catalogue) == [
        "portal/new.py:4: 'Một câu mới chưa dịch'",
        "templates/new.html:2: 'Trang mới chưa dịch'",
    ]
    assert "Địa bàn" not in obsolete(found, catalogue)
    assert "Đăng nhập" in obsolete(found, catalogue)


def test_a_fuzzy_or_empty_translation_counts_as_missing(tmp_path):
    po = tmp_path / "messages.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
        '#, fuzzy\nmsgid "Đăng nhập"\nmsgstr "Sign in"\n\nmsgid "Đăng xuất"\nmsgstr ""\n'
    )
    found = {"Đăng nhập": ["a.py:1"], "Đăng xuất": ["a.py:2"]}
    assert untranslated(found, load_catalogue(po)) == ["a.py:1: 'Đăng nhập'", "a.py:2: 'Đăng xuất'"]


def python_marked() -> dict[str, str]:
    """_("…") literals as Python's own parser reads them: pybabel must miss none of them."""
    found = {}
    for path in ROOT.glob("portal/**/*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "N_")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found[node.args[0].value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    for path in ROOT.glob("templates/**/*.html"):
        for match in MARKED.finditer(path.read_text()):
            found[match.group(1) or match.group(2)] = str(path.relative_to(ROOT))
    return found


def test_pybabel_misses_no_marked_string(found):
    # pybabel skips a _() nested in another _()'s arguments: such a string would go untranslated
    assert {s: where for s, where in python_marked().items() if s not in found} == {}


def message_tables() -> dict[str, set[str]]:
    """Tables of Vietnamese labels translated at use (label(), _(variable)): marked with N_()."""
    from portal import audit
    from portal.accounts.services import ROLE_LABELS as ACCOUNT_ROLES
    from portal.areas.services import KIND_LABELS
    from portal.auth.services import PASSWORD_PROBLEMS
    from portal.boundaries.planning import PROBLEM_TEXT, WARNING_TEXT
    from portal.boundaries.views import BATCH_STATUS, CHANGE_KINDS, PLAN_ACTIONS
    from portal.coverage.services import KIND_LABELS as COVERAGE_KINDS
    from portal.errors import _TITLES, MESSAGES
    from portal.incidents import kinds as incident_kinds
    from portal.incidents import maps as incident_maps
    from portal.incidents import services as incidents
    from portal.jobs.services import KIND_LABELS as JOB_KINDS
    from portal.jobs.services import STAGE_LABELS as JOB_STAGES
    from portal.jobs.services import STATUS_LABELS as JOB_STATUSES
    from portal.ogc import collections as ogc_collections
    from portal.patrols import routes as patrol_routes
    from portal.patrols import services as patrols
    from portal.patrols.tracks import PROBLEM_TEXT as TRACK_PROBLEMS
    from portal.review import emulation
    from portal.review import services as review
    from portal.teams import management as teams_management
    from portal.teams import services as teams_services
    from portal.teams.services import EDUCATION_LABELS
    from portal.teams.services import ROLE_LABELS as MEMBER_ROLES
    from portal.tips import services as tips

    tables = {
        "boundaries.planning.PROBLEM_TEXT": PROBLEM_TEXT,
        "boundaries.planning.WARNING_TEXT": WARNING_TEXT,
        "boundaries.views.BATCH_STATUS": BATCH_STATUS,
        "boundaries.views.CHANGE_KINDS": CHANGE_KINDS,
        "boundaries.views.PLAN_ACTIONS": PLAN_ACTIONS,
        "coverage.services.KIND_LABELS": COVERAGE_KINDS,
        "teams.services.EDUCATION_LABELS": EDUCATION_LABELS,
        "areas.services.KIND_LABELS": KIND_LABELS,
        "errors._TITLES": _TITLES,
        "errors.MESSAGES": MESSAGES,
        "accounts.services.ROLE_LABELS": ACCOUNT_ROLES,
        "teams.services.ROLE_LABELS": MEMBER_ROLES,
        "auth.services.PASSWORD_PROBLEMS": PASSWORD_PROBLEMS,
        "audit.ACTION_LABELS": audit.ACTION_LABELS,
        "audit.ENTITY_LABELS": audit.ENTITY_LABELS,
        "audit.FIELD_LABELS": audit.FIELD_LABELS,
        "audit.ENTITY_FIELD_LABELS": audit.ENTITY_FIELD_LABELS,
        "audit.LEVEL_LABELS": audit.LEVEL_LABELS,
        "audit.DUTY_RULE_LABELS": audit.DUTY_RULE_LABELS,
        "audit.GEOMETRY_TYPES": audit.GEOMETRY_TYPES,
        "jobs.services.KIND_LABELS": JOB_KINDS,
        "jobs.services.STAGE_LABELS": JOB_STAGES,
        "jobs.services.STATUS_LABELS": JOB_STATUSES,
        "patrols.services.STATUS_LABELS": patrols.STATUS_LABELS,
        "patrols.services.VIOLATION_LABELS": patrols.VIOLATION_LABELS,
        "patrols.services.ACTIVITY_LABELS": patrols.ACTIVITY_LABELS,
        "patrols.services.CITY_LEVEL_LABELS": patrols.CITY_LEVEL_LABELS,
        "patrols.services.WEEKDAYS": dict(enumerate(patrols.WEEKDAYS)),
        "patrols.routes.PROBLEMS": patrol_routes.PROBLEMS,
        "patrols.tracks.PROBLEM_TEXT": TRACK_PROBLEMS,
        "incidents.kinds.KIND_LABELS": incident_kinds.KIND_LABELS,
        "incidents.kinds.STATUS_LABELS": incident_kinds.STATUS_LABELS,
        "incidents.kinds.SOURCE_LABELS": incident_kinds.SOURCE_LABELS,
        "incidents.kinds.LOCATED_LABELS": incident_kinds.LOCATED_LABELS,
        "incidents.services.STEP_LABELS": incidents.STEP_LABELS,
        "tips.services.STEP_LABELS": tips.STEP_LABELS,
        "review.services.FIGURES": review.FIGURES,
        "tips.services.PHOTO_MESSAGES": tips.PHOTO_MESSAGES,
        # issue 14: teams and members
        "teams.management.MEMBER_FIELD_LABELS": teams_management.MEMBER_FIELD_LABELS,
        "teams.management.TEAM_FIELD_LABELS": teams_management.TEAM_FIELD_LABELS,
        "teams.services.STATUS_LABELS": teams_services.STATUS_LABELS,
        "teams.services.SORT_LABELS": teams_services.SORT_LABELS,
        # issue 15: emulation ranking (importing it registers its audit labels too)
        "review.emulation.LABELS": emulation.LABELS,
        # issue 17: the incidents map's villages from vector tiles
        "incidents.maps.VILLAGE_LEVELS": incident_maps.VILLAGE_LEVELS,
        # issue 17: the OGC API's layers, named and described per request
        "ogc.collections.COLLECTIONS titles": {
            c.id: c.title for c in ogc_collections.COLLECTIONS.values()
        },
        "ogc.collections.COLLECTIONS descriptions": {
            c.id: c.description for c in ogc_collections.COLLECTIONS.values()
        },
    }
    return {name: set(table.values()) for name, table in tables.items()}


def test_label_tables_are_marked_for_extraction(found):
    # a table's text not in N_() is never extracted, so never translated: English pages show it
    unmarked = {name: texts - set(found) for name, texts in message_tables().items()}
    assert {name: texts for name, texts in unmarked.items() if texts} == {}


def test_vietnamese_sources_are_nfc(found):
    for text in found:
        assert unicodedata.normalize("NFC", text) == text, text


def test_placeholders_match(catalogue):
    for message in catalogue:
        if message.id and message.string:
            ours = sorted(re.findall(r"{\w+}", message.id))
            assert ours == sorted(re.findall(r"{\w+}", message.string)), message.id


def test_the_catalogue_compiles_without_errors(catalogue):
    # pybabel compile fails set-up on these: "80% số" reads to Babel as a %s placeholder
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalogue.check()]
    assert problems == []


def test_the_compiled_catalogue_is_the_one_used(app):
    with app.test_request_context():
        from flask import session

        session["lang"] = "en"
        assert i18n._("Đăng nhập") == "Sign in"
        assert i18n._("Mật khẩu phải có ít nhất {n} ký tự.", n=12) == (
            "A password needs at least 12 characters."
        )
        assert i18n.label({"x": i18n.N_("Xã")}, "x") == "Commune"
    with app.test_request_context():
        assert i18n._("Đăng nhập") == "Đăng nhập"  # Vietnamese: the msgid itself


def test_the_portal_refuses_to_start_without_the_compiled_catalogue(app, monkeypatch):
    monkeypatch.setattr(i18n, "stale_catalogues", lambda: [i18n.catalogue("en")])
    from flask import Flask

    with pytest.raises(RuntimeError, match="pybabel compile"):
        i18n.init_app(Flask(__name__))


def test_stale_means_older_than_the_po(tmp_path, monkeypatch):
    po = tmp_path / "en" / "LC_MESSAGES" / "messages.po"
    po.parent.mkdir(parents=True)
    po.write_text('msgid "Xã"\nmsgstr "Commune"\n')
    monkeypatch.setattr(i18n, "TRANSLATIONS", tmp_path)
    assert i18n.stale_catalogues() == [po]
    i18n.compile_catalogues()
    assert i18n.stale_catalogues() == []
    assert po.with_suffix(".mo").stat().st_size > 0


ENGLISH_PAGES = [
    "/",
    "/tra-cuu",
    "/bao-tin",
    "/areas/",
    "/accounts/",
    "/accounts/new",
    "/boundaries/",
    "/coverage/",
    "/incidents/",
    "/incidents/map",
    "/jobs/",
    "/patrols/",
    "/patrols/activity",
    "/patrols/log",
    "/review/",
    "/review/emulation",
    "/review/print",
    "/teams/",
    "/teams/new",
]


def test_english_pages_ask_the_catalogue_for_nothing_it_lacks(admin, monkeypatch):
    """Every Vietnamese text an English page passes through _() is in the catalogue (the pages a
    test can reach; a code shown as its own label, such as a role's key, is not Vietnamese)."""
    catalogue = load_catalogue()
    asked: set[str] = set()
    real = i18n.get_translations

    class Recording:
        def __init__(self, translations):
            self.translations = translations

        def gettext(self, text):
            asked.add(text)
            return self.translations.gettext(text)

    monkeypatch.setattr(i18n, "get_translations", lambda: Recording(real()))
    token = csrf_token(admin, "/areas/")
    admin.post("/lang", data={"lang": "en", "next": "/areas/", "csrf_token": token})
    for path in ENGLISH_PAGES:
        response = admin.get(path, follow_redirects=True)
        assert response.status_code == 200, (path, response.status_code)
        assert '<html lang="en">' in response.text, path
    lacking = {t for t in asked if VIETNAMESE.search(t) and not catalogue.get(t)}
    assert lacking == set()
    assert len(asked) > 100


def in_language(app, lang: str):
    context = app.test_request_context()
    context.push()
    from flask import session

    session["lang"] = lang
    return context


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("vi", ["1.234.567", "1.234,5", "98,0", "2,5", "28/11/2026", "28/11/2026 14:05", "14:05"]),
        (
            "en",
            ["1,234,567", "1,234.5", "98.0", "2.5", "28 Nov 2026", "28 Nov 2026, 14:05", "14:05"],
        ),
    ],
)
def test_numbers_and_dates_in_the_users_language(app, lang, expected):
    from datetime import UTC, date, datetime

    context = in_language(app, lang)
    try:
        moment = datetime(2026, 11, 28, 7, 5, tzinfo=UTC)  # 14:05 in Vietnam
        shown = [
            i18n.thousands(1234567),
            i18n.number(1234.5, 1),
            i18n.number(98, 1),
            i18n.decimal(2.50, 2),
            i18n.format_date(date(2026, 11, 28)),
            i18n.format_datetime(moment),
            i18n.format_time(moment),
        ]
    finally:
        context.pop()
    assert shown == expected


def test_the_command_line_writes_vietnamese():
    from datetime import date

    assert i18n.thousands(20000) == "20.000"
    assert i18n.format_date(date(2026, 2, 5)) == "05/02/2026"
    assert i18n._("Đăng nhập") == "Đăng nhập"


def test_english_pages_write_numbers_and_dates_in_english(admin, demo):
    from sqlalchemy import select

    from portal.models import Area

    area = demo.scalars(
        select(Area).where(Area.population >= 1000, Area.valid_to.is_(None)).limit(1)
    ).one()
    vietnamese = admin.get(f"/areas/{area.id}").text
    assert f"{area.population:,}".replace(",", ".") in vietnamese
    assert area.valid_from.strftime("%d/%m/%Y") in vietnamese
    token = csrf_token(admin, "/areas/")
    admin.post("/lang", data={"lang": "en", "next": "/areas/", "csrf_token": token})
    english = admin.get(f"/areas/{area.id}").text
    assert f"{area.population:,}" in english
    assert area.valid_from.strftime("%-d %b %Y") in english


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_whole_numbers_written_as_babel_writes_them(app, lang):
    import random

    from babel.numbers import format_decimal

    rng = random.Random(17)
    values = [0, 7, -1234, 999, 1000, 1234567.5, 2.5, 3.5, -0.4, 10**12]
    values += [rng.randint(-(10**9), 10**9) for _ in range(300)]
    values += [rng.uniform(-1e7, 1e7) for _ in range(300)]
    context = in_language(app, lang)
    try:
        ours = [i18n.number(v) for v in values]
    finally:
        context.pop()
    locale = i18n.LOCALES[lang]
    assert ours == [format_decimal(v, format="#,##0", locale=locale) for v in values]
