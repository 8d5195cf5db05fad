"""Every string marked for translation has its English, and Vietnamese stays NFC."""

from __future__ import annotations

import ast
import re
import unicodedata

from portal.translations import EN
from tests.conftest import ROOT

# _("...") or _('...') in Python and Jinja; a literal first argument only
MARKED = re.compile(r"""\b_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")


def marked_strings() -> dict[str, str]:
    found = {}
    for path in ROOT.glob("portal/**/*.py"):
        # the parser joins adjacent literals, as Python does: _("a" "b") marks "ab"
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "_"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found[node.args[0].value] = str(path.relative_to(ROOT))
    for path in ROOT.glob("templates/**/*.html"):
        for match in MARKED.finditer(path.read_text()):
            found[match.group(1) or match.group(2)] = str(path.relative_to(ROOT))
    return found


def message_tables() -> set[str]:
    """Sentences kept in tables (problem kinds, kind labels) and translated through _(...)."""
    from portal import audit
    from portal.accounts.services import ROLE_LABELS as ACCOUNT_ROLES
    from portal.areas.services import KIND_LABELS
    from portal.auth.services import PASSWORD_PROBLEMS
    from portal.boundaries.planning import PROBLEM_TEXT, WARNING_TEXT
    from portal.boundaries.views import BATCH_STATUS, CHANGE_KINDS, PLAN_ACTIONS
    from portal.coverage.services import KIND_LABELS as COVERAGE_KINDS
    from portal.errors import _TITLES, MESSAGES
    from portal.incidents import kinds as incident_kinds
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

    tables = [
        PROBLEM_TEXT,
        WARNING_TEXT,
        BATCH_STATUS,
        CHANGE_KINDS,
        PLAN_ACTIONS,
        COVERAGE_KINDS,
        EDUCATION_LABELS,
        KIND_LABELS,
        _TITLES,
        MESSAGES,
        ACCOUNT_ROLES,
        MEMBER_ROLES,
        PASSWORD_PROBLEMS,
        audit.ACTION_LABELS,
        audit.ENTITY_LABELS,
        audit.FIELD_LABELS,
        audit.ENTITY_FIELD_LABELS,
        audit.LEVEL_LABELS,
        audit.DUTY_RULE_LABELS,
        audit.GEOMETRY_TYPES,
        JOB_KINDS,
        JOB_STAGES,
        JOB_STATUSES,
        patrols.STATUS_LABELS,
        patrols.VIOLATION_LABELS,
        patrols.ACTIVITY_LABELS,
        patrols.CITY_LEVEL_LABELS,
        dict(enumerate(patrols.WEEKDAYS)),
        patrol_routes.PROBLEMS,
        TRACK_PROBLEMS,
        incident_kinds.KIND_LABELS,
        incident_kinds.STATUS_LABELS,
        incident_kinds.SOURCE_LABELS,
        incident_kinds.LOCATED_LABELS,
        incidents.STEP_LABELS,
        tips.STEP_LABELS,
        review.FIGURES,
        tips.PHOTO_MESSAGES,
        # issue 14: teams and members
        teams_management.MEMBER_FIELD_LABELS,
        teams_management.TEAM_FIELD_LABELS,
        teams_services.STATUS_LABELS,
        teams_services.SORT_LABELS,
        # issue 15: emulation ranking (importing it registers its audit labels too)
        emulation.LABELS,
        # issue 17: the OGC API's layers, named and described per request
        {c.id: c.title for c in ogc_collections.COLLECTIONS.values()},
        {c.id: c.description for c in ogc_collections.COLLECTIONS.values()},
    ]
    return {text for table in tables for text in table.values()}


def test_every_marked_string_has_english():
    missing = {s: where for s, where in marked_strings().items() if s not in EN}
    missing.update({s: "table" for s in message_tables() if s not in EN})
    assert missing == {}


def test_no_stale_translations():
    used = set(marked_strings()) | message_tables()
    assert set(EN) - used == set()


def test_vietnamese_sources_are_nfc():
    for text in [*marked_strings(), *message_tables()]:
        assert unicodedata.normalize("NFC", text) == text, text


def test_placeholders_match():
    for vi, en in EN.items():
        assert sorted(re.findall(r"{\w+}", vi)) == sorted(re.findall(r"{\w+}", en)), vi
