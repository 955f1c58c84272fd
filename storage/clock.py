"""The local console's simulated clock offset, kept across restarts."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlite_utils import Database

from storage.db import to_db_time, transaction


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
