"""Duty time: a member's shifts as hours per local day, and the province's allowance rule applied
to a month (Hanoi: days of at least N hours; Ho Chi Minh City: night shifts, capped a month).

Pure functions on timezone-aware datetimes; the days are Vietnam's local days (UTC+7), whatever
zone the times come in. Seconds are counted as integers so that 1 h 20 + 2 h 40 is exactly 4 h.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
HOUR = 3600

Shift = tuple[datetime, datetime]


@dataclass(frozen=True)
class DailyHours:
    """A local day with at least `min_hours` of duty counts as a duty day."""

    min_hours: float


@dataclass(frozen=True)
class NightShifts:
    """A night with at least `min_hours` inside [start, end) counts as a night shift, at most
    `max_per_month` a month; a night belongs to the date of its evening."""

    min_hours: float
    start: time = time(22, 0)
    end: time = time(6, 0)
    max_per_month: int | None = None


Rule = DailyHours | NightShifts


@dataclass
class MonthDuty:
    """One member's month: seconds per local day of the month, and what the rule counts."""

    seconds_by_day: dict[date, int] = field(default_factory=dict)
    counted: list[date] = field(default_factory=list)  # duty days, or nights (evening dates)
    excess: list[date] = field(default_factory=list)  # qualifying nights past the month's cap

    @property
    def hours_by_day(self) -> dict[date, float]:
        return {d: s / HOUR for d, s in self.seconds_by_day.items()}

    @property
    def total_hours(self) -> float:
        return sum(self.seconds_by_day.values()) / HOUR

    @property
    def count(self) -> int:
        return len(self.counted)


def _seconds(delta: timedelta) -> int:
    return round(delta.total_seconds())


def merge(shifts: Iterable[Shift]) -> list[Shift]:
    """Shifts sorted and joined where they overlap or touch: two patrols at once are one time."""
    merged: list[list[datetime]] = []
    for start, end in sorted((s, e) for s, e in shifts if e > s):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL)


def seconds_per_day(shifts: Iterable[Shift]) -> dict[date, int]:
    """Duty seconds per local day, the shifts merged and split at local midnights."""
    days: dict[date, int] = {}
    for start, end in merge(shifts):
        day = start.astimezone(LOCAL).date()
        while _midnight(day) < end:
            part = min(end, _midnight(day + timedelta(days=1))) - max(start, _midnight(day))
            if (seconds := _seconds(part)) > 0:
                days[day] = days.get(day, 0) + seconds
            day += timedelta(days=1)
    return days


def _window(evening: date, start: time, end: time) -> Shift:
    """The night window opening on `evening` (closing the next morning if it crosses midnight)."""
    close_day = evening + timedelta(days=1) if end <= start else evening
    return datetime.combine(evening, start, LOCAL), datetime.combine(close_day, end, LOCAL)


def night_seconds(shifts: Iterable[Shift], start: time, end: time) -> dict[date, int]:
    """Duty seconds inside the night window, per night, keyed by the date of its evening."""
    nights: dict[date, int] = {}
    for s, e in merge(shifts):
        # a window that opened the evening before can hold the early hours of the shift
        evening = s.astimezone(LOCAL).date() - timedelta(days=1)
        while datetime.combine(evening, start, LOCAL) < e:
            w_start, w_end = _window(evening, start, end)
            inside = min(e, w_end) - max(s, w_start)
            if (seconds := _seconds(inside)) > 0:
                nights[evening] = nights.get(evening, 0) + seconds
            evening += timedelta(days=1)
    return nights


def month_days(year: int, month: int) -> list[date]:
    return [date(year, month, d) for d in range(1, calendar.monthrange(year, month)[1] + 1)]


def month_duty(shifts: Iterable[Shift], rule: Rule | None, year: int, month: int) -> MonthDuty:
    """A member's month under the rule: hours per day of the month and the days or nights that
    count (none without a rule)."""
    shifts = list(shifts)
    in_month = set(month_days(year, month))
    per_day = {d: s for d, s in seconds_per_day(shifts).items() if d in in_month}
    result = MonthDuty(seconds_by_day=dict(sorted(per_day.items())))
    if isinstance(rule, DailyHours):
        result.counted = [d for d, s in result.seconds_by_day.items() if s >= rule.min_hours * HOUR]
    elif isinstance(rule, NightShifts):
        nights = night_seconds(shifts, rule.start, rule.end)
        qualifying = sorted(
            d for d, s in nights.items() if d in in_month and s >= rule.min_hours * HOUR
        )
        cap = len(qualifying) if rule.max_per_month is None else rule.max_per_month
        result.counted, result.excess = qualifying[:cap], qualifying[cap:]
    return result
