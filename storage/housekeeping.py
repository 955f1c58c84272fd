"""Periodic tidying that keeps the hot tables small."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

import sqlite_utils

from storage.db import to_db_time, transaction

# Telegram and Twilio stop redelivering long before this.
DEDUPE_MEMORY = timedelta(days=14)


class _Databases(Protocol):
    def get(self) -> sqlite_utils.Database: ...


def forget_old_deliveries(databases: _Databases, now: datetime | None = None) -> int:
    """Drop de-duplication ids older than `DEDUPE_MEMORY`; returns how many went."""
    db = databases.get()
    cutoff = to_db_time((now or datetime.now(UTC)) - DEDUPE_MEMORY)
    with transaction(db):
        cursor = db.execute("DELETE FROM seen_inbound WHERE at < ?", [cutoff])
    return cursor.rowcount
