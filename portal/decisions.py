"""Decisions (quyết định) behind every change: the date checks they all share."""

from __future__ import annotations

from datetime import date

from portal.i18n import _


def parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        return None


def decision_date(value: str | None) -> tuple[date | None, str | None]:
    """The date of a decision, and what is wrong with it (missing, or in the future)."""
    parsed = parse_date(value)
    if parsed is None:
        return None, _("Nhập ngày quyết định (ngày/tháng/năm).")
    if parsed > date.today():
        return parsed, _("Ngày quyết định không được ở tương lai.")
    return parsed, None
