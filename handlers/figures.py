"""Figures that are slow to read at 1,000,000 tickets, kept in memory for a while.

A week holds ~10,000 stints there (0.2 s to read); the charts want twelve weeks, the
report a month. Each is read at most once per its freshness, and a week that ended more
than seven days ago is kept for hours (late answers to it are rare; the digest counted it
long ago). Two requests at the same moment may both read: harmless, both get the truth.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from bot import report
from bot.config import Config
from bot.deadlines import ResponseStats, Window
from storage.connections import Databases
from storage.deadlines import assignments_between

RECENT_FRESH = timedelta(minutes=10)
SETTLED_FRESH = timedelta(hours=6)
_MAX_KEPT = 128


class KeptFigures:
    """Values by key, each read again once older than the freshness asked for."""

    def __init__(self, databases: Databases) -> None:
        self.databases = databases
        self._kept: dict[str, tuple[datetime, Any]] = {}
        self._reading: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def kept(self, key: str, now: datetime, fresh: timedelta, read: Callable[[], Any]) -> Any:
        """`read()`, or what it gave less than `fresh` ago for the same key. One thread
        reads a key at a time: the others wait for its value rather than read too."""
        found = self._kept.get(key)
        if found is not None and timedelta(0) <= now - found[0] < fresh:
            return found[1]
        with self._guard:
            reading = self._reading.setdefault(key, threading.Lock())
        with reading:
            found = self._kept.get(key)  # read meanwhile by the thread we waited for
            if found is not None and timedelta(0) <= now - found[0] < fresh:
                return found[1]
            value = read()
            with self._guard:
                if len(self._kept) >= _MAX_KEPT:  # the least recently read go first
                    for old in sorted(self._kept, key=lambda k: self._kept[k][0])[:16]:
                        del self._kept[old]
                        self._reading.pop(old, None)
                self._kept[key] = (now, value)
            return value

    def weeks(
        self, config: Config, now: datetime
    ) -> tuple[list[Window], list[Mapping[str, ResponseStats]]]:
        """The charted weeks and, for each, every agency's response figures."""
        weeks = report.charted_weeks(now, config)
        figures: list[Mapping[str, ResponseStats]] = []
        for week in weeks:
            settled = week.end + timedelta(days=7) < now
            figures.append(
                self.kept(
                    f"week:{week.start.isoformat()}",
                    now,
                    SETTLED_FRESH if settled else RECENT_FRESH,
                    lambda week=week: report.by_agency(
                        assignments_between(self.databases.get(), week.start, week.end), now
                    ),
                )
            )
        return weeks, figures
