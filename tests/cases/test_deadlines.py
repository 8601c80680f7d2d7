"""Deadline arithmetic with China's 2025/2026 holidays and 调休 make-up working days."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from cases.deadlines import (
    SHANGHAI,
    Deadline,
    WorkCalendar,
    add_calendar_days,
    add_working_days,
    days_elapsed,
    deadline_for,
    end_of_day,
    is_overdue,
    local_date,
    paused_days,
    reminder_at,
    traffic_light,
    working_days_between,
)
from config.catalog import Catalog, load_calendar, load_rules

RULES = Catalog().deadlines


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return RULES.calendar


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


# --- the calendar file ------------------------------------------------------------------------

@pytest.mark.parametrize("day", [
    date(2025, 1, 1), date(2025, 1, 28), date(2025, 2, 4), date(2025, 5, 2), date(2025, 10, 8),
    date(2026, 1, 2), date(2026, 2, 16), date(2026, 2, 23), date(2026, 4, 6), date(2026, 5, 5),
    date(2026, 6, 19), date(2026, 9, 25), date(2026, 10, 1), date(2026, 10, 7),
])
def test_public_holidays_are_days_off(cal, day):
    assert not cal.is_working_day(day)


@pytest.mark.parametrize("day", [
    date(2025, 1, 26), date(2025, 2, 8), date(2025, 4, 27), date(2025, 9, 28), date(2025, 10, 11),
    date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9), date(2026, 9, 20),
    date(2026, 10, 10),
])
def test_make_up_weekend_days_are_working_days(cal, day):
    assert day.weekday() >= 5
    assert cal.is_working_day(day)


def test_ordinary_days(cal):
    assert cal.is_working_day(date(2026, 3, 4))          # Wednesday
    assert not cal.is_working_day(date(2026, 3, 7))      # Saturday
    assert not cal.is_working_day(date(2026, 3, 8))      # Sunday
    assert cal.is_working_day(date(2026, 2, 24))         # first day back after Spring Festival


def test_holiday_counts_per_year(cal):
    assert sum(d.year == 2025 for d in cal.holidays) == 1 + 8 + 3 + 5 + 3 + 8
    assert sum(d.year == 2026 for d in cal.holidays) == 3 + 9 + 3 + 5 + 3 + 3 + 7
    assert len(cal.workdays) == 11


def test_covers_only_the_years_in_the_file(cal):
    assert cal.covers(date(2026, 12, 31))
    assert not cal.covers(date(2027, 1, 1))
    assert not cal.is_working_day(date(2027, 1, 2))      # unknown year: weekends still off


def test_loading_rejects_a_make_up_day_on_a_weekday(tmp_path):
    path = tmp_path / "holidays.yaml"
    path.write_text("2026:\n  workdays: [2026-03-04]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a Saturday or Sunday"):
        load_calendar(path)


def test_loading_rejects_a_day_under_the_wrong_year(tmp_path):
    path = tmp_path / "holidays.yaml"
    path.write_text("2026:\n  holidays: ['2025-12-31 .. 2026-01-01']\n", encoding="utf-8")
    with pytest.raises(ValueError, match="listed under 2026"):
        load_calendar(path)


# --- day arithmetic ---------------------------------------------------------------------------

def test_add_calendar_days():
    assert add_calendar_days(date(2026, 3, 2), 15) == date(2026, 3, 17)
    assert add_calendar_days(date(2026, 12, 20), 15) == date(2027, 1, 4)


def test_working_days_skip_weekends(cal):
    # Thursday + 5 working days: Fri, Mon, Tue, Wed, Thu.
    assert add_working_days(date(2026, 3, 5), 5, cal) == date(2026, 3, 12)
    # Started on a Saturday: Mon..Fri.
    assert add_working_days(date(2026, 3, 7), 5, cal) == date(2026, 3, 13)
    assert add_working_days(date(2026, 3, 5), 0, cal) == date(2026, 3, 5)


def test_working_days_across_national_day_2026(cal):
    # Sep 30 (1), Oct 1–7 off, Oct 8 (2), Oct 9 (3), Sat Oct 10 make-up (4), Mon Oct 12 (5).
    assert add_working_days(date(2026, 9, 29), 5, cal) == date(2026, 10, 12)


def test_working_days_across_spring_festival_2026(cal):
    # Fri Feb 13 (1), Sat Feb 14 make-up (2), Feb 15–23 off, Feb 24 (3), 25 (4), 26 (5).
    assert add_working_days(date(2026, 2, 12), 5, cal) == date(2026, 2, 26)


def test_working_days_use_the_sunday_make_up_day_before_mid_autumn(cal):
    # Sun Sep 20 is a working day; Sep 25–27 is the Mid-Autumn holiday.
    assert add_working_days(date(2026, 9, 18), 5, cal) == date(2026, 9, 24)
    assert add_working_days(date(2026, 9, 18), 6, cal) == date(2026, 9, 28)


def test_working_days_across_spring_festival_2025(cal):
    # Sun Jan 26 make-up (1), Mon Jan 27 (2), Jan 28–Feb 4 off, Feb 5 (3), 6 (4), 7 (5).
    assert add_working_days(date(2025, 1, 24), 5, cal) == date(2025, 2, 7)


def test_working_days_between(cal):
    assert working_days_between(date(2026, 9, 29), date(2026, 10, 9), cal) == 3
    assert working_days_between(date(2026, 3, 2), date(2026, 3, 2), cal) == 0


def test_local_date_uses_shanghai_and_refuses_naive():
    assert local_date(datetime(2026, 3, 1, 17, 0, tzinfo=UTC)) == date(2026, 3, 2)
    assert local_date(datetime(2026, 3, 1, 15, 59, tzinfo=UTC)) == date(2026, 3, 1)
    with pytest.raises(ValueError):
        local_date(datetime(2026, 3, 1, 12, 0))


def test_end_of_day_is_midnight_shanghai():
    assert end_of_day(date(2026, 3, 17)) == datetime(2026, 3, 18, tzinfo=SHANGHAI)
    assert end_of_day(date(2026, 3, 17)) == datetime(2026, 3, 17, 16, tzinfo=UTC)


# --- statutory limits ------------------------------------------------------------------------

def test_limits_from_config():
    rules = RULES
    expected = {"routing": (15, "calendar"), "acceptance_notice": (15, "calendar"),
                "objection": (5, "working"), "handling": (60, "calendar"),
                "extension": (30, "calendar"), "review_request": (30, "calendar"),
                "review": (30, "calendar"), "second_review_request": (30, "calendar"),
                "second_review": (30, "calendar"), "rating": (15, "calendar")}
    assert {k: (v.days, v.basis) for k, v in rules.limits.items()} == expected
    assert rules.reminder_fraction == 0.8
    assert (rules.yellow_from, rules.red_after) == (15, 45)


def test_routing_deadline_is_15_calendar_days_start_day_not_counted(cal):
    d = deadline_for("routing", at(2026, 3, 2), rules=RULES)
    assert isinstance(d, Deadline)
    assert d.last_day == date(2026, 3, 17)
    assert d.due == datetime(2026, 3, 18, tzinfo=SHANGHAI)
    assert d.basis == "calendar"


def test_start_late_at_night_utc_counts_from_the_shanghai_date(cal):
    d = deadline_for("routing", datetime(2026, 3, 1, 17, 30, tzinfo=UTC), rules=RULES)
    assert d.last_day == date(2026, 3, 17)


def test_calendar_limit_ending_on_a_weekend_moves_to_monday(cal):
    assert deadline_for("routing", at(2026, 3, 6), rules=RULES).last_day == date(2026, 3, 23)


def test_calendar_limit_ending_in_spring_festival_moves_past_it(cal):
    # Feb 1 + 15 = Feb 16 (除夕, off) → first working day Feb 24.
    assert deadline_for("acceptance_notice", at(2026, 2, 1), rules=RULES).last_day == date(2026, 2, 24)


def test_calendar_limit_ending_on_a_make_up_saturday_stays(cal):
    # Feb 13 + 15 = Sat Feb 28, a 调休 working day.
    assert deadline_for("routing", at(2026, 2, 13), rules=RULES).last_day == date(2026, 2, 28)


def test_handling_ending_on_national_day_moves_to_october_8(cal):
    # Aug 2 + 60 = Oct 1.
    assert deadline_for("handling", at(2026, 8, 2), rules=RULES).last_day == date(2026, 10, 8)


def test_rolling_forward_can_be_switched_off(cal):
    strict = replace(RULES, roll_to_working_day=False)
    d = deadline_for("handling", at(2026, 8, 2), rules=strict)
    assert d.last_day == date(2026, 10, 1)


def test_objection_is_5_working_days_over_national_day(cal):
    d = deadline_for("objection", at(2026, 9, 29, 16), rules=RULES)
    assert d.basis == "working"
    assert d.last_day == date(2026, 10, 12)
    assert d.due == datetime(2026, 10, 13, tzinfo=SHANGHAI)


def test_handling_60_days_with_pause_and_extension(cal):
    start = at(2026, 3, 2)
    # Mar 2 + 60 = Fri May 1 (Labour Day, off until May 5) → Wed May 6.
    assert deadline_for("handling", start, rules=RULES).last_day == date(2026, 5, 6)
    # Waiting for the citizen from Mar 10 to Mar 20: 10 days do not count → Mon May 11.
    pause = paused_days(at(2026, 3, 10, 9), at(2026, 3, 20, 17))
    assert pause == 10
    assert deadline_for("handling", start, rules=RULES, paused_days=pause).last_day == date(2026, 5, 11)
    # Extension of 30 days: Mar 2 + 90 = Sun May 31 → Mon Jun 1.
    extended = deadline_for("handling", start, rules=RULES, extension_days=30)
    assert extended.last_day == date(2026, 6, 1)
    assert extended.days == 90
    both = deadline_for("handling", start, rules=RULES, paused_days=10, extension_days=30)
    assert both.last_day == date(2026, 6, 10)


def test_extension_over_30_days_is_refused(cal):
    with pytest.raises(ValueError, match="exceeds 30"):
        deadline_for("handling", at(2026, 3, 2), rules=RULES, extension_days=31)


def test_unknown_kind(cal):
    with pytest.raises(KeyError, match="unknown deadline kind"):
        deadline_for("lunch", at(2026, 3, 2), rules=RULES)


def test_review_and_second_review_are_30_days_each(cal):
    assert deadline_for("review_request", at(2026, 4, 1), rules=RULES).last_day == date(2026, 5, 6)
    assert deadline_for("review", at(2026, 6, 1), rules=RULES).last_day == date(2026, 7, 1)
    assert deadline_for("second_review", at(2026, 7, 2), rules=RULES).last_day == date(2026, 8, 3)


def test_pause_on_the_same_day_takes_nothing():
    assert paused_days(at(2026, 3, 10, 9), at(2026, 3, 10, 18)) == 0


def test_pause_in_working_days_over_national_day(cal):
    assert paused_days(at(2026, 9, 29), at(2026, 10, 9), "working", cal) == 3
    d = deadline_for("objection", at(2026, 9, 28), rules=RULES, paused_days=3)
    # 8 working days after Mon Sep 28: 29, 30, Oct 8, 9, 10, 12, 13, 14.
    assert d.last_day == date(2026, 10, 14)


def test_pause_cannot_end_before_it_begins():
    with pytest.raises(ValueError):
        paused_days(at(2026, 3, 10), at(2026, 3, 9))


# --- reminders, traffic lights, overdue --------------------------------------------------------

def test_reminder_at_80_percent():
    start = datetime(2026, 3, 2, tzinfo=SHANGHAI)
    due = datetime(2026, 3, 12, tzinfo=SHANGHAI)
    assert reminder_at(start, due) == datetime(2026, 3, 10, tzinfo=SHANGHAI)
    assert reminder_at(start, due, 0.5) == datetime(2026, 3, 7, tzinfo=SHANGHAI)
    with pytest.raises(ValueError):
        reminder_at(start, due, 1.5)


def test_reminder_for_a_real_deadline(cal):
    d = deadline_for("routing", datetime(2026, 3, 2, tzinfo=SHANGHAI), rules=RULES)
    # 16 days from Mar 2 00:00 to Mar 18 00:00; 80% = 12.8 days.
    assert reminder_at(d.start, d.due) == datetime(2026, 3, 14, 19, 12, tzinfo=SHANGHAI)


@pytest.mark.parametrize("days, light", [
    (0, "green"), (14, "green"), (15, "yellow"), (30, "yellow"), (45, "yellow"), (46, "red"),
])
def test_traffic_light(days, light):
    assert traffic_light(days, RULES) == light


def test_traffic_light_thresholds_are_configurable(tmp_path):
    path = tmp_path / "deadlines.yaml"
    path.write_text("limits: {}\ntraffic_lights: {yellow_from: 7, red_after: 10}\n",
                    encoding="utf-8")
    rules = load_rules(path, RULES.calendar)
    assert [traffic_light(d, rules) for d in (6, 7, 10, 11)] == ["green", "yellow", "yellow", "red"]


def test_days_elapsed_counts_shanghai_days_less_pauses():
    routed = at(2026, 3, 2, 23, 30)
    assert days_elapsed(routed, at(2026, 3, 17, 0, 10)) == 15
    assert days_elapsed(routed, at(2026, 3, 17, 0, 10), paused=5) == 10
    assert traffic_light(days_elapsed(routed, at(2026, 3, 17)), RULES) == "yellow"


def test_is_overdue_at_midnight_after_the_last_day(cal):
    d = deadline_for("routing", at(2026, 3, 2), rules=RULES)
    assert not is_overdue(d, at(2026, 3, 17, 23, 59))
    assert is_overdue(d, datetime(2026, 3, 18, tzinfo=SHANGHAI))
    assert is_overdue(d.due, at(2026, 3, 20))


def test_approved_extension_is_not_overdue(cal):
    original = deadline_for("handling", at(2026, 3, 2), rules=RULES)
    extended = deadline_for("handling", at(2026, 3, 2), rules=RULES, extension_days=30)
    now = at(2026, 5, 20)
    assert is_overdue(original, now)
    assert not is_overdue(original, now, extended=extended)
    assert is_overdue(original, at(2026, 6, 2), extended=extended)


def test_paused_limit_is_not_overdue(cal):
    d = deadline_for("handling", at(2026, 3, 2), rules=RULES)
    assert not is_overdue(d, d.due + timedelta(days=3), paused=True)
