"""Tests of handoff.office_hours with the default file handoff/office_hours.yml."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from handoff.config import DEFAULT_OFFICE_HOURS_FILE, load_settings
from handoff.office_hours import (
    OfficeHours,
    OfficeHoursError,
    easter_sunday,
    format_opening,
    french_public_holidays,
    load_office_hours,
)

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.fixture(scope="module")
def hours() -> OfficeHours:
    return OfficeHours.from_file(DEFAULT_OFFICE_HOURS_FILE)


def test_weekday_morning_open(hours):
    assert hours.is_open(paris(2026, 12, 8, 10, 0))


def test_weekday_before_nine_closed(hours):
    assert not hours.is_open(paris(2026, 12, 8, 8, 59))


def test_weekday_six_pm_closed(hours):
    assert not hours.is_open(paris(2026, 12, 8, 18, 0))


def test_saturday_morning_open(hours):
    assert hours.is_open(paris(2026, 12, 5, 11, 0))


def test_saturday_afternoon_closed(hours):
    assert not hours.is_open(paris(2026, 12, 5, 14, 0))


def test_sunday_closed(hours):
    assert not hours.is_open(paris(2026, 12, 6, 10, 0))


def test_bastille_day_closed(hours):
    assert not hours.is_open(paris(2027, 7, 14, 10, 0))


def test_easter_monday_2027_closed(hours):
    assert not hours.is_open(paris(2027, 3, 29, 10, 0))


def test_utc_input_converted(hours):
    # 08:30 UTC in July is 10:30 in Paris (summer time).
    assert hours.is_open(datetime(2026, 7, 15, 8, 30, tzinfo=ZoneInfo("UTC")))


def test_naive_datetime_rejected(hours):
    with pytest.raises(ValueError):
        hours.is_open(datetime(2026, 12, 8, 10, 0))


@pytest.mark.parametrize(
    "year, expected",
    [(2024, date(2024, 3, 31)), (2025, date(2025, 4, 20)), (2026, date(2026, 4, 5)), (2027, date(2027, 3, 28))],
)
def test_easter_sunday(year, expected):
    assert easter_sunday(year) == expected


def test_movable_holidays_2026():
    holidays = french_public_holidays(2026)
    assert holidays[date(2026, 4, 6)] == "Lundi de Pâques"
    assert holidays[date(2026, 5, 14)] == "Ascension"
    assert holidays[date(2026, 5, 25)] == "Lundi de Pentecôte"
    assert len(holidays) == 11


def test_next_opening_saturday_afternoon(hours):
    opening = hours.next_opening(paris(2026, 12, 5, 14, 0))
    assert opening == paris(2026, 12, 7, 9, 0)
    assert hours.format(opening) == "lundi 7 décembre à 9 h"


def test_next_opening_skips_holiday(hours):
    # Christmas 2026 is a Friday: the next opening is Saturday 26 at 10:00.
    assert hours.next_opening(paris(2026, 12, 24, 19, 0)) == paris(2026, 12, 26, 10, 0)


def test_next_opening_when_open_is_now(hours):
    now = paris(2026, 12, 8, 10, 0)
    assert hours.next_opening(now) == now


def test_format_first_of_month_and_minutes():
    assert format_opening(paris(2026, 9, 1, 9, 30)) == "mardi 1er septembre à 9 h 30"


def test_format_converts_to_paris():
    assert format_opening(datetime(2026, 12, 7, 8, 0, tzinfo=ZoneInfo("UTC"))) == "lundi 7 décembre à 9 h"


def test_force_open(hours):
    forced = OfficeHours(hours.weekly, force_open="open")
    sunday = paris(2026, 12, 6, 3, 0)
    assert forced.is_open(sunday)
    assert forced.next_opening(sunday) == sunday


def test_force_closed(hours):
    forced = OfficeHours(hours.weekly, force_open="closed")
    assert not forced.is_open(paris(2026, 12, 8, 10, 0))
    assert forced.next_opening(paris(2026, 12, 8, 10, 0)) is None


def test_closed_dates_range():
    hours = OfficeHours.from_dict(
        {"weekly": {"monday": ["09:00-18:00"], "tuesday": "09:00-18:00"}, "closed_dates": ["2026-12-07..2026-12-08"]}
    )
    assert not hours.is_open(paris(2026, 12, 8, 10, 0))
    assert hours.next_opening(paris(2026, 12, 7, 10, 0)) == paris(2026, 12, 14, 9, 0)


def test_closed_date_from_yaml_date():
    hours = OfficeHours.from_dict({"weekly": {"tuesday": ["09:00-18:00"]}, "closed_dates": [date(2026, 12, 8)]})
    assert not hours.is_open(paris(2026, 12, 8, 10, 0))


def test_public_holidays_can_be_off():
    hours = OfficeHours.from_dict({"weekly": {"wednesday": ["09:00-18:00"]}, "public_holidays": False})
    assert hours.is_open(paris(2027, 7, 14, 10, 0))


@pytest.mark.parametrize(
    "content",
    [
        {"weekly": {"funday": ["09:00-18:00"]}},
        {"weekly": {"monday": ["18:00-09:00"]}},
        {"weekly": {"monday": ["9h-18h"]}},
        {"closed_dates": ["2026-13-01"]},
        {"timezone": "Europe/Nowhere"},
    ],
)
def test_invalid_content_rejected(content):
    with pytest.raises(ValueError):
        OfficeHours.from_dict(content)


def test_missing_file_error(tmp_path):
    with pytest.raises(OfficeHoursError):
        OfficeHours.from_file(tmp_path / "absent.yml")


def test_load_from_settings_force_open():
    settings = load_settings({"HANDOFF_FORCE_OPEN": "closed", "HANDOFF_SECRET_KEY": "k"})
    assert not load_office_hours(settings).is_open(paris(2026, 12, 8, 10, 0))
