"""The filters every incident list and map shares: kinds, statuses, source and period, read from
the query string (a bad one is a 400 naming it) and applied to a select() over Incident."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select

from portal.errors import BadParameter
from portal.i18n import LOCAL_TZ, _
from portal.inputs import to_id
from portal.models import INCIDENT_KINDS, Incident, Source, Status

MAX_DAYS = 400  # a year and a little: a quarter or a year chosen from any day
PERIODS = ("7", "30", "90", "365")  # the quick choices, in days up to today
FIRST_YEAR, LAST_YEAR = 1900, 2999  # any real period, far from date.min and date.max


def today() -> date:
    return datetime.now(LOCAL_TZ).date()


@dataclass(frozen=True)
class Filters:
    """What to show; dates are local (Vietnam) and both inclusive."""

    since: date
    until: date
    kinds: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    source: str | None = None
    commune_id: int | None = None  # the admin narrowing the city to one commune
    open_only: bool = False  # the queue's default: what still waits for an officer
    extra: dict = field(default_factory=dict, compare=False)

    def query_args(self) -> dict:
        """The filters as query-string arguments, for links that keep them (pagination)."""
        args: dict = {"from": self.since.isoformat(), "to": self.until.isoformat()}
        if self.kinds:
            args["kind"] = list(self.kinds)
        if self.statuses:
            args["status"] = list(self.statuses)
        if self.source:
            args["source"] = self.source
        if self.commune_id:
            args["commune_id"] = self.commune_id
        args["open"] = "1" if self.open_only else "0"
        return args


def _day(args, name: str) -> date | None:
    text = args.get(name, "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise ValueError(day)  # the calendar's ends overflowed a day or a period away: 500
        return day
    except ValueError:
        raise BadParameter(
            name, _("Ngày “{name}” không đúng dạng năm-tháng-ngày.", name=name)
        ) from None


def parse_filters(args, *, default_days: int = 30) -> Filters:
    """Filters from the query string (a MultiDict); a bad one is a 400 naming it."""
    end = _day(args, "to") or today()
    days = args.get("days", "").strip()
    if days:
        if days not in PERIODS:
            raise BadParameter("days", _("Khoảng thời gian không có trong danh sách."))
        start = end - timedelta(days=int(days) - 1)
    else:
        start = _day(args, "from") or end - timedelta(days=default_days - 1)
    if end < start:
        raise BadParameter("to", _("Ngày “đến” phải sau ngày “từ”."))
    if (end - start).days > MAX_DAYS:
        raise BadParameter("from", _("Chọn một khoảng tối đa {n} ngày.", n=MAX_DAYS))
    kinds = tuple(k for k in args.getlist("kind") if k)
    for kind in kinds:
        if kind not in INCIDENT_KINDS:
            raise BadParameter("kind", _("Loại việc không có trong danh sách."))
    statuses = tuple(s for s in args.getlist("status") if s)
    for status in statuses:
        if status not in Status.ALL:
            raise BadParameter("status", _("Trạng thái không có trong danh sách."))
    source = args.get("source", "").strip() or None
    if source is not None and source not in Source.ALL:
        raise BadParameter("source", _("Nguồn tin không có trong danh sách."))
    commune_id = None
    if args.get("commune_id", "").strip():
        commune_id = to_id(args["commune_id"].strip())
        if commune_id is None:
            raise BadParameter("commune_id", _("Giá trị không đúng."))
    open_only = args.get("open", "") == "1"
    return Filters(start, end, kinds, statuses, source, commune_id, open_only)


FUTURE_SLACK = timedelta(minutes=10)  # a phone's clock a little ahead


def occurred_at(text: str, oldest_days: int, too_old: str) -> tuple[datetime | None, str | None]:
    """When something happened, as a form or JSON gives it (ISO; without an offset it is
    Vietnam's local time), and what is wrong with it: missing, not a time, in the future, or
    more than `oldest_days` ago (`too_old`, the caller's message)."""
    if not text:
        return None, _("Cho biết việc xảy ra lúc nào.")
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None, _("Thời gian không đúng dạng (ngày, giờ).")
    if when.tzinfo is None:
        when = when.replace(tzinfo=LOCAL_TZ)
    now = datetime.now(UTC)
    if when > now + FUTURE_SLACK:
        return when, _("Thời gian xảy ra không được ở tương lai.")
    if when < now - timedelta(days=oldest_days):
        return when, too_old
    return when, None


def bounds(filters: Filters) -> tuple[datetime, datetime]:
    """The period as a half-open range of instants: [first day 00:00, day after last 00:00)."""
    start = datetime.combine(filters.since, time(), LOCAL_TZ)
    end = datetime.combine(filters.until + timedelta(days=1), time(), LOCAL_TZ)
    return start, end


def apply(query: Select, filters: Filters) -> Select:
    """Restrict a select() over Incident to the filters (scope is the caller's, separately).

    Merged duplicates are left out: they are shown on the item they were merged into.
    """
    start, end = bounds(filters)
    query = query.where(
        Incident.occurred_at >= start,
        Incident.occurred_at < end,
        Incident.merged_into_id.is_(None),
    )
    if filters.kinds:
        query = query.where(Incident.kind.in_(filters.kinds))
    if filters.statuses:
        query = query.where(Incident.status.in_(filters.statuses))
    elif filters.open_only:
        query = query.where(Incident.status.in_(Status.OPEN))
    if filters.source:
        query = query.where(Incident.source == filters.source)
    if filters.commune_id:
        query = query.where(Incident.commune_id == filters.commune_id)
    return query
