"""The report's and the public page's counts that are not stints: tickets filed per
category over a span (read through `tickets_by_created`)."""

from __future__ import annotations

from datetime import datetime

from sqlite_utils import Database

from storage.db import to_db_time


def filed_by_category(
    db: Database, start: datetime, end: datetime, agency_id: str | None = None
) -> dict[str, int]:
    """Tickets filed in [start, end) per category (those at `agency_id` now, if given)."""
    sql = "SELECT category_id, count(*) FROM tickets WHERE created_at >= ? AND created_at < ?"
    params: list[object] = [to_db_time(start), to_db_time(end)]
    if agency_id is not None:
        sql += " AND agency_id = ?"
        params.append(agency_id)
    rows = db.execute(sql + " GROUP BY category_id", params).fetchall()
    return {category or "": count for category, count in rows}
