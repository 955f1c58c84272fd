"""The numbers people are held to, over a month or a run of weeks.

The monthly report (per agency and per category), the weekly series the charts draw and
the public page's 30 days all count stints at agencies, and their response figures come
from `response_stats`, the one function the daily digest and `/statistik` use too: the
report for the digest's week shows the digest's numbers.

A stint's figures are followed to `now` (a ticket of March answered in April counts as
answered); "overdue at the end" looks at the window's end.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bot.config import Agency, Category, Config
from bot.deadlines import ResponseStats, Window, response_stats
from bot.model import Assignment, Stint

_MONTH = re.compile(r"(\d{4})-(\d{2})")
WEEKS_CHARTED = 12
PUBLIC_DAYS = 30


class BadMonth(ValueError):
    """A `month` that is not YYYY-MM of a real month (2000-2999)."""


@dataclass(frozen=True)
class Figures:
    """What became of one group's stints (an agency's, a category's, or all)."""

    response: ResponseStats
    overdue_at_end: int = 0  # unanswered past the deadline, still there, at the end
    resolved: int = 0  # marked resolved by the agency during the stint
    confirmed: int = 0  # the citizen confirmed the fix
    reopened: int = 0  # the citizen said it was not fixed
    moved_away: int = 0  # transferred to another agency or bounced to dispatch
    rated: int = 0
    rating_total: int = 0

    @property
    def received(self) -> int:
        return self.response.received

    @property
    def average_rating(self) -> float | None:
        return self.rating_total / self.rated if self.rated else None


@dataclass(frozen=True)
class MonthlyReport:
    """A month's figures, per agency (every agency, those without tickets too) and
    per category, with the whole regency's line."""

    window: Window
    made_at: datetime
    agencies: list[tuple[Agency, Figures]]
    categories: list[tuple[Category, Figures]]
    total: Figures
    uncategorised: Figures | None = None  # stints of tickets without a known category


def parse_month(text: str) -> date:
    """`YYYY-MM` as the first day of that month."""
    found = _MONTH.fullmatch(text.strip())
    if not found:
        raise BadMonth("month must be YYYY-MM, for example 2026-11")
    year, month = int(found.group(1)), int(found.group(2))
    if not (2000 <= year <= 2999 and 1 <= month <= 12):
        raise BadMonth("month must be YYYY-MM, for example 2026-11")
    return date(year, month, 1)


def month_window(first_day: date, config: Config) -> Window:
    """Midnight of the month's first day to midnight of the next month's, service time."""
    following = date(first_day.year + first_day.month // 12, first_day.month % 12 + 1, 1)
    tz = config.service.tz
    return Window(
        "window_month",
        datetime.combine(first_day, time(0), tzinfo=tz),
        datetime.combine(following, time(0), tzinfo=tz),
    )


def this_month(now: datetime, config: Config) -> date:
    return now.astimezone(config.service.tz).date().replace(day=1)


def figures(stints: Sequence[Stint], end: datetime, now: datetime) -> Figures:
    """The figures of these stints; `end` is the window's end (or now, if sooner)."""
    at_end = min(end, now)
    ratings = [s.rating for s in stints if s.rating is not None]
    return Figures(
        response=response_stats((s.assignment for s in stints), now),
        overdue_at_end=sum(1 for s in stints if _overdue_at(s, at_end)),
        resolved=sum(s.resolved for s in stints),
        confirmed=sum(s.confirmed for s in stints),
        reopened=sum(s.reopened for s in stints),
        moved_away=sum(s.moved_away for s in stints),
        rated=len(ratings),
        rating_total=sum(ratings),
    )


def _overdue_at(stint: Stint, moment: datetime) -> bool:
    answered = stint.assignment.first_response_at
    return (
        stint.breached_at is not None
        and stint.breached_at <= moment
        and (answered is None or answered > moment)
        and (stint.ended_at is None or stint.ended_at > moment)
        and (stint.finished_at is None or stint.finished_at > moment)
    )


def monthly_report(
    config: Config,
    window: Window,
    stints: Sequence[Stint],
    now: datetime,
    agencies: Sequence[Agency] | None = None,
) -> MonthlyReport:
    """The month's report from its stints; `agencies` limits it (an agency's own)."""
    shown = list(agencies if agencies is not None else config.agencies)
    ids = {agency.id for agency in shown}
    mine = [s for s in stints if s.assignment.agency_id in ids]
    by_agency = _grouped(mine, lambda s: s.assignment.agency_id)
    by_category = _grouped(mine, lambda s: s.category_id)
    categories = [c for c in config.categories if c.agency in ids or c.id in by_category]
    known = {c.id for c in categories}
    unknown = [s for s in mine if s.category_id not in known]  # none yet, or one removed
    return MonthlyReport(
        window=window,
        made_at=now,
        agencies=[(a, figures(by_agency.get(a.id, []), window.end, now)) for a in shown],
        categories=[(c, figures(by_category.get(c.id, []), window.end, now)) for c in categories],
        total=figures(mine, window.end, now),
        uncategorised=figures(unknown, window.end, now) if unknown else None,
    )


def _grouped(stints: Iterable[Stint], key: Callable[[Stint], str]) -> dict[str, list[Stint]]:
    groups: dict[str, list[Stint]] = {}
    for stint in stints:
        groups.setdefault(key(stint), []).append(stint)
    return groups


# --------------------------------------------------------------------------
# The weeks the charts draw, and the public page's days
# --------------------------------------------------------------------------


def charted_weeks(now: datetime, config: Config, count: int = WEEKS_CHARTED) -> list[Window]:
    """The last `count` whole weeks (7 days to last midnight, and the weeks before),
    oldest first, as the digest counts its week."""
    today = now.astimezone(config.service.tz).date()
    tz = config.service.tz
    weeks: list[Window] = []
    for back in range(count, 0, -1):
        first = today - timedelta(days=7 * back)
        weeks.append(
            Window(
                "window_week",
                datetime.combine(first, time(0), tzinfo=tz),
                datetime.combine(first + timedelta(days=7), time(0), tzinfo=tz),
            )
        )
    return weeks


@dataclass(frozen=True)
class WeeklySeries:
    """One agency's response figures, week by week (a week with nothing decided has
    `decided == 0`)."""

    agency: Agency
    weeks: list[ResponseStats]


def by_agency(assignments: Iterable[Assignment], now: datetime) -> dict[str, ResponseStats]:
    """Each agency's response figures over these stints (one pass, then the digest's
    `response_stats` per agency)."""
    groups: dict[str, list[Assignment]] = {}
    for assignment in assignments:
        groups.setdefault(assignment.agency_id, []).append(assignment)
    return {agency_id: response_stats(mine, now) for agency_id, mine in groups.items()}


def weekly_series(
    agencies: Sequence[Agency], weeks: Sequence[Mapping[str, ResponseStats]]
) -> list[WeeklySeries]:
    """Per agency, its figures of each week (from `by_agency` of each week's stints)."""
    return [
        WeeklySeries(agency, [week.get(agency.id, ResponseStats()) for week in weeks])
        for agency in agencies
    ]


def public_window(now: datetime) -> Window:
    """The public page's span: the 30 days up to now."""
    return Window("window_public", now - timedelta(days=PUBLIC_DAYS), now)


def rankable(stats: ResponseStats, min_tickets: int) -> bool:
    """Whether an agency has enough decided tickets for its share to mean something (a
    share of two tickets says nothing, as FixMyStreet learned)."""
    return stats.decided >= min_tickets
