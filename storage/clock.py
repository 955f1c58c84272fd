"""The one clock every part of the service reads (`Clock`), and where the local
console's simulated offset is kept across restarts."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlite_utils import Database

from storage.db import to_db_time, transaction

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class ServiceClock:
    """The service's clock: real time, plus an offset only the local console's
    simulation may move forward (to see a 24-hour deadline pass in a demo)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, span: timedelta) -> datetime:
        with self._lock:
            self.offset += span
        return self()


def simulated_offset(db: Database) -> timedelta:
    """How far the simulation moved the clock ahead (zero when it never did)."""
    row = db.execute("SELECT offset_seconds FROM simulated_clock WHERE id = 1").fetchone()
    return timedelta(seconds=row[0]) if row else timedelta(0)


def save_simulated_offset(db: Database, offset: timedelta, now: datetime) -> None:
    with transaction(db):
        db.execute(
            """
            INSERT INTO simulated_clock (id, offset_seconds, updated_at) VALUES (1, ?, ?)
            ON CONFLICT (id) DO UPDATE SET
                offset_seconds = excluded.offset_seconds, updated_at = excluded.updated_at
            """,
            [offset.total_seconds(), to_db_time(now)],
        )
