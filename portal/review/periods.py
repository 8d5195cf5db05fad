"""The periods a review covers: a month, a quarter, a year, the twelve months to a month, or any
stretch of days; each knows the period before it and which of its days lie in whole months."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from portal.errors import FormInvalid
from portal.i18n import _, format_date, format_month

KINDS = ("twelve", "month", "quarter", "year", "custom")
ROMAN = ("I", "II", "III", "IV")
MAX_DAYS = 3 * 366  # a custom period of more than three years is a mistake, not a report
EARLIEST = date(2000, 1, 1)
EARLIEST_LISTED = 2024  # the law took effect on 1 July 2024: the form lists years from then


def kind_label(kind: str) -> str:
    return {
        "twelve": _("12 tháng"),
        "month": _("Tháng"),
        "quarter": _("Quý"),
        "year": _("Năm"),
        "custom": _("Tùy chọn"),
    }[kind]


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """The first of the month `months` after day's month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """Days start ≤ day < stop, of one kind (portal.review.periods.KINDS)."""

    kind: str
    start: date
    stop: date

    @property
    def last(self) -> date:
        return self.stop - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.stop - self.start).days

    def previous(self) -> Period:
        """The period of the same kind just before: the month, quarter or year before, or as
        many days before a custom period."""
        if self.kind == "custom":
            return Period("custom", self.start - timedelta(days=self.days), self.start)
        months = {"month": 1, "quarter": 3, "year": 12, "twelve": 12}[self.kind]
        return Period(self.kind, add_months(self.start, -months), self.start)

    def whole_months(self) -> tuple[date, date] | None:
        """The first whole month inside the period and the first month after the last one, or
        None when no whole month lies inside."""
        first = self.start if self.start.day == 1 else add_months(self.start, 1)
        stop = month_start(self.stop)
        return (first, stop) if first < stop else None

    def edges(self) -> list[tuple[date, date]]:
        """The stretches of days outside whole months (read from the rows, not the figures)."""
        whole = self.whole_months()
        if whole is None:
            return [(self.start, self.stop)]
        return [(a, b) for a, b in ((self.start, whole[0]), (whole[1], self.stop)) if a < b]

    def months(self) -> list[date]:
        """The first day of every month the period touches, for the charts by month."""
        out, month = [], month_start(self.start)
        while month < self.stop:
            out.append(month)
            month = add_months(month, 1)
        return out

    @property
    def label(self) -> str:
        s, last = self.start, self.last
        if self.kind == "month":
            return _("Tháng {month}", month=format_month(s))
        if self.kind == "quarter":
            return _("Quý {q}/{y}", q=ROMAN[(s.month - 1) // 3], y=s.year)
        if self.kind == "year":
            return _("Năm {y}", y=s.year)
        if self.kind == "twelve":
            return _(
                "12 tháng, từ tháng {a} đến hết tháng {b}", a=format_month(s), b=format_month(last)
            )
        return _("Từ {a} đến {b}", a=format_date(s), b=format_date(last))

    def args(self) -> dict[str, str]:
        """The query arguments that name this period (parse() reads them back)."""
        if self.kind == "custom":
            return {"kind": "custom", "from": self.start.isoformat(), "to": self.last.isoformat()}
        out = {"kind": self.kind, "year": str(self.start.year)}
        if self.kind == "quarter":
            out["quarter"] = str((self.start.month - 1) // 3 + 1)
        if self.kind in ("month", "twelve"):
            # the twelve months are named by their last month
            month = self.last if self.kind == "twelve" else self.start
            out.update(year=str(month.year), month=str(month.month))
        return out

    @property
    def slug(self) -> str:
        """A short name for file names: 2026-11, 2026-Q4, 2026, 2025-12_2026-11, 2026-01-05_…"""
        s, last = self.start, self.last
        if self.kind == "month":
            return f"{s:%Y-%m}"
        if self.kind == "quarter":
            return f"{s.year}-Q{(s.month - 1) // 3 + 1}"
        if self.kind == "year":
            return str(s.year)
        if self.kind == "twelve":
            return f"{s:%Y-%m}_{last:%Y-%m}"
        return f"{s:%Y-%m-%d}_{last:%Y-%m-%d}"


def _int(args, name: str, low: int, high: int, default: int) -> int:
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    # isdecimal, not isdigit: "²" is a digit that int() cannot read (a 500), "２" reads as 2
    if not raw.isdecimal() or len(raw) > 6 or not low <= int(raw) <= high:
        raise FormInvalid({name: _("Chọn một giá trị từ {a} đến {b}.", a=low, b=high)})
    return int(raw)


def _date(args, name: str, latest: date) -> date:
    raw = (args.get(name) or "").strip()
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise FormInvalid({name: _("Nhập ngày theo dạng năm-tháng-ngày.")}) from None
    if day < EARLIEST:
        raise FormInvalid({name: _("Ngày trước năm 2000.")})
    if day > latest:
        # as the years the form takes: 9999-12-31 has no day after it to end the period on
        raise FormInvalid({name: _("Chọn một ngày đến hết năm {y}.", y=latest.year)})
    return day


def parse(args, today: date) -> Period:
    """The period the query arguments ask for; the twelve months to this month by default.

    FormInvalid names the argument that is wrong."""
    kind = (args.get("kind") or "twelve").strip()
    if kind not in KINDS:
        raise FormInvalid({"kind": _("Chọn tháng, quý, năm, 12 tháng hoặc tùy chọn.")})
    if kind == "custom":
        latest = date(today.year + 1, 12, 31)
        start, last = _date(args, "from", latest), _date(args, "to", latest)
        if last < start:
            raise FormInvalid({"to": _("Ngày cuối phải sau ngày đầu.")})
        if (last - start).days >= MAX_DAYS:
            raise FormInvalid({"to": _("Chọn một kỳ không quá ba năm.")})
        return Period("custom", start, last + timedelta(days=1))
    year = _int(args, "year", EARLIEST.year, today.year + 1, today.year)
    if kind == "year":
        return Period("year", date(year, 1, 1), date(year + 1, 1, 1))
    if kind == "quarter":
        quarter = _int(args, "quarter", 1, 4, (today.month - 1) // 3 + 1)
        start = date(year, 3 * quarter - 2, 1)
        return Period("quarter", start, add_months(start, 3))
    month = _int(args, "month", 1, 12, today.month)
    start = date(year, month, 1)
    if kind == "month":
        return Period("month", start, add_months(start, 1))
    return Period("twelve", add_months(start, -11), add_months(start, 1))
