"""The deadline scan's queries: what is due now, read through partial indexes.

Every query here starts from `tickets_awaiting_response` or
`tickets_awaiting_confirmation` (migration m002), which hold only open tickets
in one status, so a scan costs the same with a thousand or a million closed
tickets. The statistics start from `ticket_events_by_action` and read only
the days asked for.

A notice key is `<stage>@<assigned_at as stored>` (see `bot.deadlines.notice_key`):
the queries build the same text to skip what was already recorded, so a scan
with nothing new to say reads only index entries.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.model import Assignment, Status, Stint, Ticket
from storage.db import from_db_time, to_db_time
from storage.repository import ticket_from_row

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NO_END = 2**63 - 1  # "no later move" for a stint still running


def _microseconds(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


# The two clocks a ticket runs (docs/contract.md §6, §14): the column holding its
# deadline and when it is running. Each condition repeats its partial index's WHERE
# (tickets_awaiting_response, tickets_awaiting_resolution) so SQLite reads only that.
_CLOCKS = {
    "response": (
        "deadline_at",
        "t.status = 'assigned' AND t.first_response_at IS NULL AND t.paused_at IS NULL",
    ),
    "resolution": (
        "resolution_deadline_at",
        "t.status IN ('assigned', 'responded', 'awaiting_validation')"
        " AND t.resolution_deadline_at IS NOT NULL AND t.paused_at IS NULL",
    ),
}


def reminder_candidates(
    db: Database,
    kind: str,
    now: datetime,
    stages: Sequence[tuple[timedelta, str]],
    clock: str = "response",
) -> list[tuple[Ticket, str]]:
    """Tickets whose `clock` runs and whose latest reminder stage has come and has no
    `kind` notice yet, with that stage's label; nearest deadline first.

    `stages` are (time before the deadline, label). A ticket's stage is the
    smallest offset whose moment has passed, while the deadline is still ahead: a
    scan that missed the 12-hour reminder and runs 1 hour before the deadline sends
    only the 2-hour one (nobody needs to hear "12 hours left" then). At the deadline
    a ticket is overdue, no longer reminded. This is the one place the stage is
    decided; `bot.deadlines.plan_notices` takes it as given.
    """
    if not stages:
        return []
    column, running = _CLOCKS[clock]
    thresholds = sorted((to_db_time(now + offset), label) for offset, label in stages)
    rows = db.query(
        f"""
        WITH due AS (
            SELECT t.id,
                (SELECT json_extract(s.value, '$[1]') FROM json_each(:stages) AS s
                 WHERE json_extract(s.value, '$[0]') >= t.{column}
                 ORDER BY json_extract(s.value, '$[0]') LIMIT 1) AS stage
            FROM tickets AS t
            WHERE {running}
              AND t.{column} > :now AND t.{column} <= :horizon
        )
        SELECT t.*, due.stage AS stage FROM due JOIN tickets AS t ON t.id = due.id
        WHERE NOT EXISTS (
            -- coalesce(t.id, 0), not t.id: only an operand without column affinity
            -- lets SQLite search the expression index notices_once
            SELECT 1 FROM notices AS n
            WHERE n.kind = :kind AND coalesce(n.ticket_id, 0) = coalesce(t.id, 0)
              AND n.key = due.stage || '@' || t.assigned_at
        )
        ORDER BY t.{column}, t.id
        """,  # noqa: S608 - our own column names
        {
            "stages": json.dumps(thresholds),
            "now": to_db_time(now),
            "horizon": thresholds[-1][0],
            "kind": kind,
        },
    )
    return [(ticket_from_row(row), row["stage"]) for row in rows]


def overdue_candidates(
    db: Database, kind: str, now: datetime, repeat: timedelta, clock: str = "response"
) -> list[tuple[Ticket, int]]:
    """Tickets past their `clock`'s deadline whose current alert round has no `kind`
    notice yet, with the round.

    Round 0 starts at the deadline, round n after n × `repeat` (whole microseconds).
    The one place the round is decided. Most late first.
    """
    column, running = _CLOCKS[clock]
    rows = db.query(
        f"""
        WITH late AS (
            SELECT t.id,
                (:now_us - (CAST(strftime('%s', substr(t.{column}, 1, 19)) AS INTEGER)
                            * 1000000 + CAST(substr(t.{column}, 21, 6) AS INTEGER)))
                / :repeat_us AS round
            FROM tickets AS t
            WHERE {running} AND t.{column} <= :now
        )
        SELECT t.*, late.round AS round FROM late JOIN tickets AS t ON t.id = late.id
        WHERE NOT EXISTS (
            SELECT 1 FROM notices AS n
            WHERE n.kind = :kind AND coalesce(n.ticket_id, 0) = coalesce(t.id, 0)
              AND n.key = late.round || '@' || t.assigned_at
        )
        ORDER BY t.{column}, t.id
        """,  # noqa: S608 - our own column names
        {
            "now": to_db_time(now),
            "now_us": _microseconds(now),
            "repeat_us": max(1, repeat // _MICROSECOND),
            "kind": kind,
        },
    )
    return [(ticket_from_row(row), int(row["round"])) for row in rows]


def escalation_candidates(
    db: Database,
    kind: str,
    now: datetime,
    steps: Sequence[tuple[timedelta, str]],
    clock: str = "response",
) -> list[tuple[Ticket, str]]:
    """Tickets past their `clock`'s deadline by at least a step's time, for each step
    (time after the deadline, label) with no `kind` notice yet: each step is due once
    per assignment, in order; after a pause in service every step passed is due.
    Most late first, then by step."""
    column, running = _CLOCKS[clock]
    found: list[tuple[Ticket, str]] = []
    for after, label in steps:
        rows = db.query(
            f"""
            SELECT t.* FROM tickets AS t
            WHERE {running} AND t.{column} <= :cutoff
              AND NOT EXISTS (
                SELECT 1 FROM notices AS n
                WHERE n.kind = :kind AND coalesce(n.ticket_id, 0) = coalesce(t.id, 0)
                  AND n.key = :label || '@' || t.assigned_at
              )
            ORDER BY t.{column}, t.id
            """,  # noqa: S608 - our own column names
            {"cutoff": to_db_time(now - after), "kind": kind, "label": label},
        )
        found += [(ticket_from_row(row), label) for row in rows]
    return found


def overdue_tickets(db: Database, now: datetime, clock: str = "response") -> list[Ticket]:
    """Every ticket past its `clock`'s deadline (clock running), most late first."""
    column, running = _CLOCKS[clock]
    rows = db.query(
        f"""
        SELECT t.* FROM tickets AS t
        WHERE {running} AND t.{column} <= :now
        ORDER BY t.{column}, t.id
        """,  # noqa: S608 - our own column names
        {"now": to_db_time(now)},
    )
    return [ticket_from_row(row) for row in rows]


def confirmations_expired(db: Database, resolved_before: datetime, limit: int) -> list[Ticket]:
    """Resolved tickets still unconfirmed, resolved at or before `resolved_before`; oldest first."""
    rows = db.query(
        """
        SELECT * FROM tickets
        WHERE status = 'resolved' AND resolved_at <= :before
        ORDER BY resolved_at, id
        LIMIT :limit
        """,
        {"before": to_db_time(resolved_before), "limit": limit},
    )
    return [ticket_from_row(row) for row in rows]


# A stint begins with an `assigned` or `transferred` event and ends at the ticket's next
# move (`assigned`, `transferred`, `bounced`); the events between belong to it.
_STINTS = """
    WITH stint AS (
        SELECT e.id, e.ticket_id, e.to_agency AS agency_id, e.at AS assigned_at,
            coalesce((SELECT min(m.id) FROM ticket_events AS m
                      WHERE m.ticket_id = e.ticket_id AND m.id > e.id
                        AND m.action IN ('assigned', 'transferred', 'bounced')),
                     :no_end) AS ended_id
        FROM ticket_events AS e
        WHERE e.action IN ('assigned', 'transferred')
          AND e.at >= :start AND e.at < :end AND e.to_agency != ''
    )
    SELECT s.ticket_id, s.agency_id, s.assigned_at,
        (SELECT min(r.at) FROM ticket_events AS r
         WHERE r.ticket_id = s.ticket_id AND r.id > s.id AND r.id < s.ended_id
           AND r.action IN ('replied', 'resolved', 'validation_requested'))
            AS first_response_at,
        EXISTS (SELECT 1 FROM ticket_events AS b
                WHERE b.ticket_id = s.ticket_id AND b.id > s.id AND b.id < s.ended_id
                  AND b.action = 'breached' AND b.detail NOT LIKE 'resolution%')
            AS breached,
        t.assigned_at = s.assigned_at AND t.agency_id = s.agency_id AS is_current,
        t.status, t.deadline_at, t.first_response_at AS ticket_first_response_at,
        t.paused_at{outcomes}
    FROM stint AS s JOIN tickets AS t ON t.id = s.ticket_id
    ORDER BY s.assigned_at, s.id
"""
_OUTCOMES = """,
        t.category_id,
        (SELECT min(b.at) FROM ticket_events AS b
         WHERE b.ticket_id = s.ticket_id AND b.id > s.id AND b.id < s.ended_id
           AND b.action = 'breached' AND b.detail NOT LIKE 'resolution%') AS breached_at,
        (SELECT x.at FROM ticket_events AS x WHERE x.id = s.ended_id) AS ended_at,
        (SELECT min(f.at) FROM ticket_events AS f
         WHERE f.ticket_id = s.ticket_id AND f.id > s.id AND f.id < s.ended_id
           AND f.action IN ('rejected', 'referred', 'confirmed', 'auto_closed'))
            AS finished_at,
        (SELECT x.action FROM ticket_events AS x WHERE x.id = s.ended_id) AS ended_by,
        EXISTS (SELECT 1 FROM ticket_events AS o
                WHERE o.ticket_id = s.ticket_id AND o.id > s.id AND o.id < s.ended_id
                  AND o.action = 'resolved') AS resolved,
        EXISTS (SELECT 1 FROM ticket_events AS o
                WHERE o.ticket_id = s.ticket_id AND o.id > s.id AND o.id < s.ended_id
                  AND o.action = 'confirmed') AS confirmed,
        EXISTS (SELECT 1 FROM ticket_events AS o
                WHERE o.ticket_id = s.ticket_id AND o.id > s.id AND o.id < s.ended_id
                  AND o.action = 'reopened') AS reopened,
        (SELECT r.score FROM ratings AS r
         WHERE r.ticket_id = s.ticket_id AND r.at >= s.assigned_at
           AND r.at < coalesce((SELECT x.at FROM ticket_events AS x WHERE x.id = s.ended_id),
                               '9999')) AS rating"""


def assignments_between(db: Database, start: datetime, end: datetime) -> list[Assignment]:
    """Stints at agencies that began in [start, end), oldest first.

    Its first response is the first `replied` or `resolved` event inside it; it is
    breached when a `breached` event falls inside it.
    """
    return [_assignment(row) for row in _stint_rows(db, start, end, "")]


def stints_between(db: Database, start: datetime, end: datetime) -> list[Stint]:
    """The stints that began in [start, end) with what became of each (so far): the
    monthly report's rows. A rating counts for the stint in which the citizen gave it
    (the score is stored at once, before the comment is asked for)."""
    return [
        Stint(
            assignment=_assignment(row),
            category_id=row["category_id"],
            breached_at=from_db_time(row["breached_at"]),
            ended_at=from_db_time(row["ended_at"]),
            finished_at=from_db_time(row["finished_at"]),
            resolved=bool(row["resolved"]),
            confirmed=bool(row["confirmed"]),
            reopened=bool(row["reopened"]),
            moved_away=row["ended_by"] in ("transferred", "bounced"),
            rating=row["rating"],
        )
        for row in _stint_rows(db, start, end, _OUTCOMES)
    ]


def _stint_rows(db: Database, start: datetime, end: datetime, outcomes: str) -> list[dict]:
    return list(
        db.query(
            _STINTS.format(outcomes=outcomes),
            {"start": to_db_time(start), "end": to_db_time(end), "no_end": _NO_END},
        )
    )


def _assignment(row: dict[str, Any]) -> Assignment:
    current = bool(row["is_current"])
    awaiting = (
        current
        and row["status"] == Status.ASSIGNED
        and row["ticket_first_response_at"] is None
        and row["paused_at"] is None
    )
    return Assignment(
        ticket_id=row["ticket_id"],
        agency_id=row["agency_id"],
        assigned_at=from_db_time(row["assigned_at"]),
        first_response_at=from_db_time(row["first_response_at"]),
        breached=bool(row["breached"]),
        deadline_at=from_db_time(row["deadline_at"]) if current else None,
        awaiting=awaiting,
    )


def any_ticket(db: Database) -> bool:
    """Whether a ticket was ever filed (the rowid's b-tree answers without a scan)."""
    return db.execute("SELECT max(id) FROM tickets").fetchone()[0] is not None
