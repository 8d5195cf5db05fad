"""Duty time on hand-computed shifts around midnight and month ends (local time is UTC+7)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from geo.duty import (
    LOCAL,
    DailyHours,
    NightShifts,
    merge,
    month_duty,
    night_seconds,
    seconds_per_day,
)

HANOI = DailyHours(min_hours=4)
HCMC = NightShifts(min_hours=4, start=time(22), end=time(6), max_per_month=10)


def at(y, m, d, hh, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=LOCAL)


def test_a_shift_across_midnight_counts_on_each_day():
    month = month_duty([(at(2026, 11, 1, 20), at(2026, 11, 2, 2))], HANOI, 2026, 11)
    assert month.hours_by_day == {date(2026, 11, 1): 4.0, date(2026, 11, 2): 2.0}
    assert month.counted == [date(2026, 11, 1)]  # 4 h counts, 2 h does not
    assert month.total_hours == 6.0


def test_utc_times_land_on_local_days():
    # 13:00–19:00 UTC is 20:00–02:00 in Vietnam
    shift = (datetime(2026, 11, 1, 13, tzinfo=UTC), datetime(2026, 11, 1, 19, tzinfo=UTC))
    assert seconds_per_day([shift]) == {date(2026, 11, 1): 4 * 3600, date(2026, 11, 2): 2 * 3600}
    # 17:30 UTC on 28 Feb is 00:30 on 1 March: a March shift
    early = (datetime(2026, 2, 28, 17, 30, tzinfo=UTC), datetime(2026, 2, 28, 22, tzinfo=UTC))
    assert month_duty([early], HANOI, 2026, 2).total_hours == 0
    march = month_duty([early], HANOI, 2026, 3)
    assert march.hours_by_day == {date(2026, 3, 1): 4.5}
    assert march.counted == [date(2026, 3, 1)]


def test_month_end_under_both_rules():
    shift = (at(2026, 1, 31, 23), at(2026, 2, 1, 3, 30))
    january, february = (month_duty([shift], HANOI, 2026, m) for m in (1, 2))
    assert january.hours_by_day == {date(2026, 1, 31): 1.0}
    assert february.hours_by_day == {date(2026, 2, 1): 3.5}
    assert january.counted == february.counted == []  # neither day reaches 4 h
    # the night of 31 January holds 4.5 h inside 22:00–06:00: a January night shift
    assert night_seconds([shift], time(22), time(6)) == {date(2026, 1, 31): 4.5 * 3600}
    assert month_duty([shift], HCMC, 2026, 1).counted == [date(2026, 1, 31)]
    assert month_duty([shift], HCMC, 2026, 2).counted == []


def test_overlapping_patrols_are_not_double_time():
    shifts = [(at(2026, 11, 5, 8), at(2026, 11, 5, 11)), (at(2026, 11, 5, 10), at(2026, 11, 5, 12))]
    assert merge(shifts) == [(at(2026, 11, 5, 8), at(2026, 11, 5, 12))]
    month = month_duty(shifts, HANOI, 2026, 11)
    assert month.hours_by_day == {date(2026, 11, 5): 4.0}
    assert month.counted == [date(2026, 11, 5)]


def test_two_short_patrols_add_up_to_a_day():
    shifts = [
        (at(2026, 11, 6, 7), at(2026, 11, 6, 8, 20)),
        (at(2026, 11, 6, 19), at(2026, 11, 6, 21, 40)),
    ]
    month = month_duty(shifts, HANOI, 2026, 11)
    assert month.seconds_by_day == {date(2026, 11, 6): 4 * 3600}  # 1 h 20 + 2 h 40, exactly
    assert month.counted == [date(2026, 11, 6)]


def test_exactly_four_hours_counts_and_a_minute_less_does_not():
    exact = month_duty([(at(2026, 11, 7, 8), at(2026, 11, 7, 12))], HANOI, 2026, 11)
    short = month_duty([(at(2026, 11, 7, 8, 1), at(2026, 11, 7, 12))], HANOI, 2026, 11)
    assert exact.count == 1
    assert short.count == 0


def test_night_from_nine_to_five_has_seven_hours_in_the_window():
    shift = (at(2026, 11, 10, 21), at(2026, 11, 11, 5))
    assert night_seconds([shift], time(22), time(6)) == {date(2026, 11, 10): 7 * 3600}
    assert month_duty([shift], NightShifts(min_hours=7), 2026, 11).counted == [date(2026, 11, 10)]
    assert month_duty([shift], NightShifts(min_hours=7.5), 2026, 11).counted == []


def test_nights_past_the_cap_are_reported_as_excess():
    shifts = [(at(2026, 11, d, 22), at(2026, 11, d + 1, 4)) for d in range(1, 12)]
    month = month_duty(shifts, HCMC, 2026, 11)
    assert month.counted == [date(2026, 11, d) for d in range(1, 11)]
    assert month.excess == [date(2026, 11, 11)]


def test_a_day_shift_is_no_night():
    month = month_duty([(at(2026, 11, 3, 8), at(2026, 11, 3, 16))], HCMC, 2026, 11)
    assert month.total_hours == 8
    assert month.counted == [] and month.excess == []


def test_a_shift_after_midnight_belongs_to_the_night_before():
    # 00:30–05:30 on 1 March is the night of 28 February: February's, not March's
    shift = (at(2026, 3, 1, 0, 30), at(2026, 3, 1, 5, 30))
    assert month_duty([shift], HCMC, 2026, 2).counted == [date(2026, 2, 28)]
    assert month_duty([shift], HCMC, 2026, 3).counted == []
    assert month_duty([shift], HANOI, 2026, 3).counted == [date(2026, 3, 1)]
