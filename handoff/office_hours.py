"""Opening hours of the counsellor chat: weekly slots, French public holidays, extra closed days.

The hours come from a YAML file (`handoff/office_hours.yml` by default, see
its comments for the format) and are local times of Europe/Paris, so they
follow the changes to and from summer time. HANDOFF_FORCE_OPEN=open or closed
overrides them, for tests and for operations (a day without staff).

Public holidays are those of metropolitan France, computed for any year.
Alsace-Moselle's extra days (Good Friday, 26 December) are not included: add
them to `closed_dates` if the service is staffed from there.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Mapping, Optional
from zoneinfo import ZoneInfo

import yaml

from .config import FORCE_OPEN_VALUES, HandoffSettings, load_settings

__all__ = [
    "OfficeHours",
    "OfficeHoursError",
    "Slot",
    "easter_sunday",
    "format_opening",
    "french_public_holidays",
    "is_open",
    "load_office_hours",
    "next_opening",
]

logger = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "Europe/Paris"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# next_opening looks this many days ahead before it gives up.
MAX_LOOKAHEAD_DAYS = 400

FRENCH_WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
FRENCH_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)

_SLOT_PATTERN = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")


class OfficeHoursError(ValueError):
    """The office hours file is missing or invalid; the message names the file and the entry."""


@dataclass(frozen=True)
class Slot:
    """An opening slot of one day, in local time: open from `start` (included) to `end` (excluded)."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> "Slot":
        """Parse "HH:MM-HH:MM".

        Raises:
            ValueError: the text has another form, a time is invalid or the end is not after the start.
        """
        match = _SLOT_PATTERN.fullmatch(str(text))
        if match is None:
            raise ValueError(f"invalid slot {text!r}: expected HH:MM-HH:MM")
        start_hour, start_minute, end_hour, end_minute = (int(group) for group in match.groups())
        start = time(start_hour, start_minute)
        end = time(end_hour, end_minute)
        if end <= start:
            raise ValueError(f"invalid slot {text!r}: the end must be after the start")
        return cls(start, end)


def easter_sunday(year: int) -> date:
    """Return the date of Easter Sunday in the Gregorian calendar (Meeus/Jones/Butcher algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741 - the algorithm's own name
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1)


def french_public_holidays(year: int) -> dict[date, str]:
    """Return the 11 public holidays of metropolitan France in a year, with their French names."""
    easter = easter_sunday(year)
    return {
        date(year, 1, 1): "Jour de l'an",
        easter + timedelta(days=1): "Lundi de Pâques",
        date(year, 5, 1): "Fête du Travail",
        date(year, 5, 8): "Victoire 1945",
        easter + timedelta(days=39): "Ascension",
        easter + timedelta(days=50): "Lundi de Pentecôte",
        date(year, 7, 14): "Fête nationale",
        date(year, 8, 15): "Assomption",
        date(year, 11, 1): "Toussaint",
        date(year, 11, 11): "Armistice 1918",
        date(year, 12, 25): "Noël",
    }


def format_opening(moment: datetime, timezone: str = DEFAULT_TIMEZONE) -> str:
    """Format a time in French as in « lundi 7 décembre à 9 h » or « mardi 1er septembre à 9 h 30 ».

    The time is shown in `timezone`. The year is not shown, because an
    opening is at most days away.
    """
    local = _aware(moment).astimezone(ZoneInfo(timezone))
    day = "1er" if local.day == 1 else str(local.day)
    hour = f"{local.hour} h" if local.minute == 0 else f"{local.hour} h {local.minute:02d}"
    return f"{FRENCH_WEEKDAYS[local.weekday()]} {day} {FRENCH_MONTHS[local.month - 1]} à {hour}"


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: pass an aware datetime")
    return moment


class OfficeHours:
    """Weekly opening slots with public holidays and extra closed days.

    Args:
        weekly: slots of each weekday, Monday = 0.
        closed_dates: extra closed days.
        public_holidays: close on French public holidays.
        timezone: IANA name of the time zone of the slots.
        force_open: "open" or "closed" overrides everything; None follows the hours.
    """

    def __init__(
        self,
        weekly: Mapping[int, tuple[Slot, ...]],
        *,
        closed_dates: frozenset[date] = frozenset(),
        public_holidays: bool = True,
        timezone: str = DEFAULT_TIMEZONE,
        force_open: Optional[str] = None,
    ) -> None:
        if force_open is not None and force_open not in FORCE_OPEN_VALUES:
            raise ValueError(f"invalid force_open {force_open!r}; expected 'open', 'closed' or None")
        self.weekly = {weekday: tuple(sorted(weekly.get(weekday, ()), key=lambda slot: slot.start)) for weekday in range(7)}
        self.closed_dates = frozenset(closed_dates)
        self.public_holidays = public_holidays
        self.timezone = timezone
        self.zone = ZoneInfo(timezone)
        self.force_open = force_open

    @classmethod
    def from_file(cls, path: Path, *, force_open: Optional[str] = None) -> "OfficeHours":
        """Load the hours from a YAML file.

        Raises:
            OfficeHoursError: the file is missing or invalid.
        """
        try:
            content = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except OSError as error:
            raise OfficeHoursError(f"cannot read the office hours file {path}: {error.strerror}") from error
        except yaml.YAMLError as error:
            raise OfficeHoursError(f"invalid YAML in the office hours file {path}: {error}") from error
        try:
            return cls.from_dict(content or {}, force_open=force_open)
        except (ValueError, TypeError) as error:
            raise OfficeHoursError(f"invalid office hours file {path}: {error}") from error

    @classmethod
    def from_dict(cls, content: Mapping[str, Any], *, force_open: Optional[str] = None) -> "OfficeHours":
        """Build the hours from the content of an office hours file.

        Raises:
            ValueError: an entry is invalid; the message names it.
        """
        timezone = content.get("timezone") or DEFAULT_TIMEZONE
        try:
            ZoneInfo(timezone)
        except (KeyError, ValueError):
            raise ValueError(f"unknown time zone {timezone!r}") from None
        weekly_content = content.get("weekly") or {}
        unknown_days = set(weekly_content) - set(WEEKDAYS)
        if unknown_days:
            raise ValueError(f"unknown weekday(s) {', '.join(sorted(map(str, unknown_days)))} in 'weekly'")
        weekly = {}
        for weekday, name in enumerate(WEEKDAYS):
            slots = weekly_content.get(name) or []
            if isinstance(slots, str):
                slots = [slots]
            weekly[weekday] = tuple(Slot.parse(slot) for slot in slots)
        closed_dates: set[date] = set()
        for entry in content.get("closed_dates") or []:
            closed_dates.update(_parse_closed_entry(entry))
        return cls(
            weekly,
            closed_dates=frozenset(closed_dates),
            public_holidays=bool(content.get("public_holidays", True)),
            timezone=timezone,
            force_open=force_open,
        )

    def closure_reason(self, day: date) -> Optional[str]:
        """Return why a whole day is closed (« Noël », « fermeture exceptionnelle »), or None.

        A day without slots in the weekly hours is not reported here.
        """
        if self.public_holidays:
            holiday = french_public_holidays(day.year).get(day)
            if holiday is not None:
                return holiday
        if day in self.closed_dates:
            return "fermeture exceptionnelle"
        return None

    def is_open(self, now: datetime) -> bool:
        """Return whether the chat is open at `now` (an aware datetime)."""
        now = _aware(now)
        if self.force_open is not None:
            return self.force_open == "open"
        local = now.astimezone(self.zone)
        if self.closure_reason(local.date()) is not None:
            return False
        current = local.time().replace(tzinfo=None)
        return any(slot.start <= current < slot.end for slot in self.weekly[local.weekday()])

    def next_opening(self, now: datetime) -> Optional[datetime]:
        """Return when the chat opens next, as an aware datetime in the office time zone.

        Returns:
            `now` itself when the chat is open; None when forced closed or when
            no slot opens within 400 days (no slot configured at all).
        """
        now = _aware(now)
        if self.force_open == "open":
            return now
        if self.force_open == "closed":
            return None
        if self.is_open(now):
            return now
        local_now = now.astimezone(self.zone)
        for offset in range(MAX_LOOKAHEAD_DAYS):
            day = local_now.date() + timedelta(days=offset)
            if self.closure_reason(day) is not None:
                continue
            for slot in self.weekly[day.weekday()]:
                opening = datetime.combine(day, slot.start, tzinfo=self.zone)
                if opening > now:
                    return opening
        return None

    def format(self, moment: datetime) -> str:
        """Format a time in French in the office time zone (see `format_opening`)."""
        return format_opening(moment, self.timezone)


def _parse_closed_entry(entry: Any) -> list[date]:
    if isinstance(entry, datetime):
        raise ValueError(f"closed date {entry!r} has a time; expected a date YYYY-MM-DD")
    if isinstance(entry, date):
        return [entry]
    text = str(entry).strip()
    if ".." in text:
        first_text, last_text = (part.strip() for part in text.split("..", 1))
        first, last = _parse_date(first_text), _parse_date(last_text)
        if last < first:
            raise ValueError(f"closed range {text!r} ends before it starts")
        return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    return [_parse_date(text)]


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"invalid closed date {text!r}: expected YYYY-MM-DD") from None


_cache_lock = threading.Lock()
_cache: dict[tuple[str, Optional[str]], tuple[float, OfficeHours]] = {}


def load_office_hours(settings: Optional[HandoffSettings] = None) -> OfficeHours:
    """Return the office hours of the settings, read again when the file changed.

    Args:
        settings: None uses `load_settings()`.

    Raises:
        OfficeHoursError: the file is missing or invalid.
    """
    settings = settings or load_settings()
    path = Path(settings.office_hours_file)
    key = (str(path), settings.force_open)
    try:
        modified = path.stat().st_mtime
    except OSError as error:
        raise OfficeHoursError(f"cannot read the office hours file {path}: {error.strerror}") from error
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] == modified:
            return cached[1]
    hours = OfficeHours.from_file(path, force_open=settings.force_open)
    with _cache_lock:
        _cache[key] = (modified, hours)
    logger.info("Loaded office hours from %s", path)
    return hours


def is_open(now: Optional[datetime] = None, settings: Optional[HandoffSettings] = None) -> bool:
    """Return whether the chat is open at `now` (default: the clock) with the configured hours."""
    return load_office_hours(settings).is_open(now or datetime.now(ZoneInfo(DEFAULT_TIMEZONE)))


def next_opening(now: Optional[datetime] = None, settings: Optional[HandoffSettings] = None) -> Optional[datetime]:
    """Return the next opening after `now` (default: the clock) with the configured hours; see `OfficeHours.next_opening`."""
    return load_office_hours(settings).next_opening(now or datetime.now(ZoneInfo(DEFAULT_TIMEZONE)))
