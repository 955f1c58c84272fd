"""The Open311 API's reads (docs/contract.md §11): tickets by number, and tickets filed in
a period, newest first, always bounded by LIMIT.

A period is read through the index `tickets_by_created` (migration m009) in its own
order, so the newest 1000 of 90 days are found without sorting the period; numbers are
primary-key lookups.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.model import Ticket
from storage.db import to_db_time
from storage.repository import ticket_from_row


def _tickets(db: Database, sql: str, params: list[Any]) -> list[Ticket]:
    cursor = db.execute(sql, params)
    keys = [column[0] for column in cursor.description]
    return [ticket_from_row(dict(zip(keys, row, strict=True))) for row in cursor.fetchall()]


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


def tickets_by_ids(db: Database, ticket_ids: Sequence[int]) -> list[Ticket]:
    """The tickets with these ids that exist, newest first."""
    if not ticket_ids:
        return []
    return _tickets(
        db,
        f"SELECT * FROM tickets WHERE id IN ({_marks(ticket_ids)}) ORDER BY id DESC LIMIT ?",  # noqa: S608
        [*ticket_ids, len(ticket_ids)],
    )


def tickets_filed_between(
    db: Database,
    start: datetime,
    end: datetime,
    *,
    category_ids: Sequence[str] = (),
    other_than: Sequence[str] | None = None,
    statuses: Sequence[str] = (),
    limit: int,
) -> list[Ticket]:
    """Tickets filed from `start` to `end` (both included), newest first, at most `limit`.

    `category_ids` and `other_than` together choose the categories: a ticket of one of
    `category_ids`, or (when `other_than` is given) of none of `other_than` (the tickets
    of no configured category); neither: every category. `statuses` empty: every status.
    """
    clauses = ["created_at >= ?", "created_at <= ?"]
    params: list[Any] = [to_db_time(start), to_db_time(end)]
    chosen: list[str] = []
    if category_ids:
        chosen.append(f"category_id IN ({_marks(category_ids)})")
        params += list(category_ids)
    if other_than is not None:
        chosen.append(f"category_id NOT IN ({_marks(other_than)})" if other_than else "1")
        params += list(other_than)
    if chosen:
        clauses.append("(" + " OR ".join(chosen) + ")")
    if statuses:
        clauses.append(f"status IN ({_marks(statuses)})")
        params += list(statuses)
    where = " AND ".join(clauses)
    return _tickets(
        db,
        f"SELECT * FROM tickets INDEXED BY tickets_by_created WHERE {where} "  # noqa: S608
        "ORDER BY created_at DESC, id DESC LIMIT ?",
        [*params, limit],
    )
