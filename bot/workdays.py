"""The working calendar (docs/contract.md §14): office hours per weekday, Indonesia's
public holidays and the yearly *cuti bersama* days, and the arithmetic deadlines need
— so many working hours, or so many working days, after a moment.

Pure: moments in, moments out, in the service's time zone. Every deadline is worked
out here and in `bot.session.Session` (the one place that picks the rule), never in a
query, so the scan reads stored deadlines and stays flat in closed tickets.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

import holidays

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# A calendar without a working day in this many days is a configuration error, caught
# when the config is read; the loops below never search further.
_HORIZON_DAYS = 3 * 366


@dataclass(frozen=True)
class OfficeHours:
    """One weekday's opening and closing time (local), e.g. 08:00-16:00."""

    opens: time
    closes: time

    @classmethod
    def parse(cls, text: str) -> OfficeHours:
        """`"08:00-16:00"`; raises ValueError with a reason a person can act on."""
        parts = text.replace(" ", "").split("-")
        if len(parts) != 2:
            raise ValueError(f"expected HH:MM-HH:MM, got {text!r}")
        try:
            opens, closes = (time.fromisoformat(part) for part in parts)
        except ValueError:
            raise ValueError(f"expected HH:MM-HH:MM, got {text!r}") from None
        if (opens.second, opens.microsecond, closes.second, closes.microsecond) != (0, 0, 0, 0):
            raise ValueError(f"expected HH:MM-HH:MM, got {text!r}")
        if closes <= opens:
            raise ValueError(f"closes before it opens: {text!r}")
        return cls(opens, closes)

    def __str__(self) -> str:
        return f"{self.opens:%H:%M}-{self.closes:%H:%M}"


class WorkingCalendar:
    """When the regency's offices work: which days, which hours."""

    def __init__(
        self,
        timezone: tzinfo,
        office_hours: Mapping[int, OfficeHours],
        public_holidays: str = "",
        days_off: Iterable[date] = (),
    ) -> None:
        self.timezone = timezone
        self.office_hours = dict(office_hours)  # weekday (Monday = 0) -> hours
        self.public_holidays = public_holidays  # a country code for the holidays package
        self.days_off = frozenset(days_off)
        self._holidays: dict[int, dict[date, str]] = {}
        self._lock = threading.Lock()

    # --- days
    def holiday_name(self, day: date) -> str:
        """The public holiday on `day` ('' if none), as the holidays package names it."""
        if not self.public_holidays:
            return ""
        year = self._holidays.get(day.year)
        if year is None:
            with self._lock:
                listed = holidays.country_holidays(self.public_holidays, years=day.year)
                year = self._holidays.setdefault(day.year, dict(listed.items()))
        return year.get(day, "")

    def is_working_day(self, day: date) -> bool:
        return (
            day.weekday() in self.office_hours
            and day not in self.days_off
            and not self.holiday_name(day)
        )

    def hours_on(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's opening and closing moments, or None on a day off."""
        if not self.is_working_day(day):
            return None
        hours = self.office_hours[day.weekday()]
        return (
            datetime.combine(day, hours.opens, tzinfo=self.timezone),
            datetime.combine(day, hours.closes, tzinfo=self.timezone),
        )

    def _days_from(self, day: date) -> Iterable[tuple[date, datetime, datetime]]:
        """Working days from `day` on (itself included), with their hours."""
        for offset in range(_HORIZON_DAYS):
            current = day + timedelta(days=offset)
            hours = self.hours_on(current)
            if hours is not None:
                yield current, *hours

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.timezone)

    # --- moments
    def is_open(self, moment: datetime) -> bool:
        """Whether `moment` falls inside office hours on a working day."""
        local = self._local(moment)
        hours = self.hours_on(local.date())
        return hours is not None and hours[0] <= local < hours[1]

    def next_opening(self, moment: datetime) -> datetime:
        """`moment` itself when the offices are open then, else when they next open."""
        local = self._local(moment)
        for _, opens, closes in self._days_from(local.date()):
            if local < closes:
                return max(local, opens)
        raise ValueError("no working day ahead in the calendar")

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of office time after `start` (office time only counts).

        A deadline that falls exactly at closing time stays there (16:00), rather
        than moving to the next opening; no time at all leaves `start` as it is.
        """
        if duration <= timedelta(0):
            return start
        left = duration
        local = self._local(start)
        for _, opens, closes in self._days_from(local.date()):
            begin = max(local, opens)
            if begin >= closes:
                continue
            if begin + left <= closes:
                return begin + left
            left -= closes - begin
        raise ValueError("no working day ahead in the calendar")

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Office time from `start` to `end` (zero if `end` is not after `start`)."""
        total = timedelta(0)
        local, finish = self._local(start), self._local(end)
        if finish <= local:
            return total
        for day, opens, closes in self._days_from(local.date()):
            if day > finish.date():
                break
            begin, stop = max(local, opens), min(finish, closes)
            if stop > begin:
                total += stop - begin
        return total

    def close_of_working_day(self, start: datetime, days: int) -> datetime:
        """Closing time of the `days`-th working day after the day of `start`.

        As Indonesian public services count a follow-up deadline in working days, the
        day a complaint arrives is not counted: assigned on Monday, 5 working days
        end when the office closes the next Monday (a day off on the way moves it on).
        """
        if days < 1:
            raise ValueError("days must be at least 1")
        first = self._local(start).date() + timedelta(days=1)
        for counted, (_, _, closes) in enumerate(self._days_from(first), start=1):
            if counted == days:
                return closes
        raise ValueError("no working day ahead in the calendar")


def default_office_hours() -> dict[str, str]:
    """Indonesian civil-service hours (37.5 hours a week): Monday to Thursday 08:00-16:00,
    Friday 08:00-16:30."""
    return {day: "08:00-16:00" for day in WEEKDAYS[:4]} | {"fri": "08:00-16:30"}
