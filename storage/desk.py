"""The web desk's storage: sign-in links, sessions, the audit trail, and the queries
behind the ticket list, its exports, the map, a ticket's timeline and the call-back list.

Links and sessions are random 256-bit secrets handed to the person once; only their
SHA-256 is stored, so a copy of the database signs nobody in. The list reads through
the indexes of migration m008 and FTS5 (`tickets_fts`), and pages by LIMIT, never by
counting a million rows.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.model import OPEN_STATUSES, Ticket, TicketQuery
from storage.db import from_db_time, to_db_time, transaction
from storage.repository import ticket_from_row

# A session's last use is written at most this often (a page view is a read).
_TOUCH_EVERY = timedelta(minutes=1)
_OPEN = tuple(sorted(str(s) for s in OPEN_STATUSES))
# Word for word the WHERE of the partial index tickets_open_by_deadline (migration m008).
_OPEN_SQL = "status IN ('new', 'assigned', 'responded', 'waiting_citizen', 'awaiting_validation', 'resolved')"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------
# Sign-in links and sessions
# --------------------------------------------------------------------------


def issue_link(
    db: Database,
    role: str,
    agency_id: str,
    chat_channel: str,
    chat_id: str,
    name: str,
    now: datetime,
    lifetime: timedelta,
) -> str:
    """A new sign-in token (in the caller's transaction); only its hash is kept."""
    token = secrets.token_urlsafe(32)  # 256 bits
    db.execute(
        """
        INSERT INTO desk_links (token_hash, role, agency_id, chat_channel, chat_id, name,
                                created_at, expires_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
            _hash(token),
            role,
            agency_id,
            chat_channel,
            chat_id,
            name,
            to_db_time(now),
            to_db_time(now + lifetime),
        ],
    )
    return token


@dataclass(frozen=True)
class DeskSession:
    """A signed-in person: the role of the chat they asked from, and the form token."""

    role: str  # agency, dispatch or supervisor (bot.staff)
    agency_id: str
    name: str
    chat_channel: str
    chat_id: str
    csrf: str
    language: str
    created_at: datetime


@dataclass(frozen=True)
class SignIn:
    """A redeemed link: the new session and the secret for its cookie."""

    session_id: str
    session: DeskSession


def redeem_link(db: Database, token: str, now: datetime) -> SignIn | None:
    """Use a sign-in token once: a new session, or None when the token is unknown,
    already used or expired."""
    with transaction(db):
        row = db.execute(
            """
            SELECT role, agency_id, chat_channel, chat_id, name FROM desk_links
            WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
            """,
            [_hash(token), to_db_time(now)],
        ).fetchone()
        if row is None:
            return None
        role, agency_id, chat_channel, chat_id, name = row
        db.execute(
            "UPDATE desk_links SET used_at = ? WHERE token_hash = ?",
            [to_db_time(now), _hash(token)],
        )
        session_id = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        db.execute(
            """
            INSERT INTO desk_sessions (id_hash, role, agency_id, chat_channel, chat_id, name,
                                       csrf, created_at, last_seen_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                _hash(session_id),
                role,
                agency_id,
                chat_channel,
                chat_id,
                name,
                csrf,
                to_db_time(now),
                to_db_time(now),
            ],
        )
        add_audit(db, now, role, agency_id, name, "signed_in", None, f"{chat_channel}:{chat_id}")
    session = DeskSession(role, agency_id, name, chat_channel, chat_id, csrf, "", now)
    return SignIn(session_id, session)


def find_session(
    db: Database, session_id: str, now: datetime, idle: timedelta
) -> DeskSession | None:
    """The live session of a cookie, or None (unknown, ended, or idle too long: then it
    is ended). A use is recorded at most once a minute."""
    if not session_id or len(session_id) > 200:
        return None
    row = db.execute(
        """
        SELECT role, agency_id, chat_channel, chat_id, name, csrf, language, created_at,
               last_seen_at
        FROM desk_sessions WHERE id_hash = ? AND ended_at IS NULL
        """,
        [_hash(session_id)],
    ).fetchone()
    if row is None:
        return None
    role, agency_id, chat_channel, chat_id, name, csrf, language, created, seen = row
    last_seen = from_db_time(seen)
    if now - last_seen >= idle:
        end_session(db, session_id, "idle", now)
        return None
    if now - last_seen >= _TOUCH_EVERY:
        with transaction(db):
            db.execute(
                "UPDATE desk_sessions SET last_seen_at = ? WHERE id_hash = ?",
                [to_db_time(now), _hash(session_id)],
            )
    return DeskSession(
        role, agency_id, name, chat_channel, chat_id, csrf, language, from_db_time(created)
    )


def end_session(db: Database, session_id: str, reason: str, now: datetime) -> None:
    """End a session (logout, idle, or the config no longer gives its chat the role)."""
    with transaction(db):
        row = db.execute(
            "SELECT role, agency_id, name FROM desk_sessions WHERE id_hash = ? AND ended_at IS NULL",
            [_hash(session_id)],
        ).fetchone()
        if row is None:
            return
        db.execute(
            "UPDATE desk_sessions SET ended_at = ?, end_reason = ? WHERE id_hash = ?",
            [to_db_time(now), reason, _hash(session_id)],
        )
        add_audit(db, now, row[0], row[1], row[2], "signed_out", None, reason)


def set_language(db: Database, session_id: str, language: str) -> None:
    with transaction(db):
        db.execute(
            "UPDATE desk_sessions SET language = ? WHERE id_hash = ?",
            [language, _hash(session_id)],
        )


def add_audit(
    db: Database,
    now: datetime,
    role: str,
    agency_id: str,
    name: str,
    action: str,
    ticket_id: int | None,
    detail: str = "",
) -> None:
    """Record who saw or did what, when (UU PDP: personal data access is accountable)."""
    with transaction(db):
        db.execute(
            """
            INSERT INTO desk_audit (at, role, agency_id, name, action, ticket_id, detail)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            [to_db_time(now), role, agency_id, name, action, ticket_id, detail[:500]],
        )


# --------------------------------------------------------------------------
# The ticket list, its exports and the map
# --------------------------------------------------------------------------


# Late: past the deadline with no first response and the clock running (Ticket.is_late;
# the deadline scan's own queries are in storage/deadlines.py). One parameter: now.
_LATE_SQL = (
    "(status = 'assigned' AND first_response_at IS NULL AND paused_at IS NULL AND deadline_at <= ?)"
)


def _match_expression(words: tuple[str, ...]) -> str:
    """An FTS5 query: every word, in any order, as a word or the start of one."""
    return " ".join('"' + word.replace('"', "") + '"*' for word in words)


# How a word search is run. Matching a word is cheap (FTS5 reads its index); what costs is
# reaching the tickets. Few matches: look each one up and sort them. Many: walk the list
# in deadline order and keep the ones that match, so the first page is found early
# (`+id` keeps SQLite from looking up every match instead).
_FEW_MATCHES = 20_000


def _where(db: Database, query: TicketQuery) -> tuple[str, list[Any]]:
    """The WHERE of a list query: fixed SQL text with every value a parameter (the
    queries that splice it in are built only from these clauses)."""
    clauses: list[str] = []
    params: list[Any] = []
    if query.statuses:
        if set(query.statuses) == set(_OPEN):
            clauses.append(_OPEN_SQL)
        else:
            clauses.append(f"status IN ({', '.join('?' for _ in query.statuses)})")
            params += list(query.statuses)
    if query.agency_id is not None:
        clauses.append("agency_id = ?")
        params.append(query.agency_id)
    if query.category_id:
        clauses.append("category_id = ?")
        params.append(query.category_id)
    if query.channel:
        clauses.append("citizen_channel = ?")
        params.append(query.channel)
    if query.overdue:
        assert query.now is not None
        clauses.append(_LATE_SQL)
        params.append(to_db_time(query.now))
    if query.created_from is not None:
        clauses.append("created_at >= ?")
        params.append(to_db_time(query.created_from))
    if query.created_before is not None:
        clauses.append("created_at < ?")
        params.append(to_db_time(query.created_before))
    if query.words:
        expression = _match_expression(query.words)
        (matches,) = db.execute(
            "SELECT count(*) FROM (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ? "
            "LIMIT ?)",
            [expression, _FEW_MATCHES + 1],
        ).fetchone()
        column = "id" if matches <= _FEW_MATCHES else "+id"
        clauses.append(f"{column} IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ?)")  # noqa: S608
        params.append(expression)
    return (" AND ".join(clauses) or "1"), params


def list_tickets(db: Database, query: TicketQuery, page_size: int) -> tuple[list[Ticket], bool]:
    """One page of the list, sorted by deadline (unrouted first), and whether another
    page follows."""
    where, params = _where(db, query)
    offset = (query.page - 1) * page_size
    rows = _dicts(
        db,
        f"SELECT * FROM tickets WHERE {where} ORDER BY deadline_at, id LIMIT ? OFFSET ?",  # noqa: S608
        [*params, page_size + 1, offset],
    )
    tickets = [ticket_from_row(row) for row in rows[:page_size]]
    return tickets, len(rows) > page_size


def export_tickets(db: Database, query: TicketQuery, limit: int) -> Iterator[Ticket]:
    """Every ticket of the filtered list (every page), in list order, up to `limit`."""
    where, params = _where(db, query)
    cursor = db.execute(
        f"SELECT * FROM tickets WHERE {where} ORDER BY deadline_at, id LIMIT ?",  # noqa: S608
        [*params, limit],
    )
    keys = [c[0] for c in cursor.description]
    while True:
        batch = cursor.fetchmany(500)
        if not batch:
            return
        for row in batch:
            yield ticket_from_row(dict(zip(keys, row, strict=True)))


@dataclass(frozen=True)
class MapPoint:
    """A located ticket, as the map needs it (not the whole row)."""

    id: int
    status: str
    category_id: str
    agency_id: str
    latitude: float
    longitude: float
    late: bool


def map_points(db: Database, query: TicketQuery, now: datetime, limit: int) -> list[MapPoint]:
    """Tickets of the filtered list that have coordinates, in list order."""
    where, params = _where(db, query)
    rows = db.execute(
        f"SELECT id, status, category_id, agency_id, latitude, longitude, ({_LATE_SQL}) "  # noqa: S608
        f"FROM tickets WHERE {where} AND latitude IS NOT NULL ORDER BY deadline_at, id LIMIT ?",
        [to_db_time(now), *params, limit],
    )
    return [MapPoint(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6])) for r in rows]


def open_counts(db: Database, agency_id: str | None) -> dict[str, int]:
    """Open tickets by status (of one agency, or all), read from the partial indexes."""
    sql = f"SELECT status, count(*) FROM tickets WHERE {_OPEN_SQL}"  # noqa: S608
    params: list[Any] = []
    if agency_id is not None:
        sql += " AND agency_id = ?"
        params.append(agency_id)
    return {status: count for status, count in db.execute(sql + " GROUP BY status", params)}


def open_by_agency(db: Database) -> dict[str, int]:
    """Open tickets per agency ('' for dispatch), from the partial index."""
    sql = f"SELECT agency_id, count(*) FROM tickets WHERE {_OPEN_SQL} GROUP BY agency_id"  # noqa: S608
    return {agency: count for agency, count in db.execute(sql)}


def overdue_by_agency(db: Database, now: datetime) -> dict[str, int]:
    """Tickets past their deadline without a first response, per agency."""
    rows = db.execute(
        f"SELECT agency_id, count(*) FROM tickets WHERE {_LATE_SQL} GROUP BY agency_id",  # noqa: S608
        [to_db_time(now)],
    )
    return {agency: count for agency, count in rows}


# --------------------------------------------------------------------------
# A ticket's timeline
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened to a ticket: an event, or a message in or out."""

    at: datetime
    kind: str  # "event", "in" (from the citizen), "out" (to the citizen or staff), "notice"
    action: str  # the event's action, the message's channel, or the notice's kind
    actor: str
    text: str
    chat_id: str = ""
    attachments: tuple[dict[str, Any], ...] = ()


def timeline(db: Database, ticket_id: int) -> list[TimelineEntry]:
    """Events and messages of a ticket, oldest first."""
    entries = [
        TimelineEntry(from_db_time(at), "event", action, actor, detail)
        for at, action, actor, detail in db.execute(
            "SELECT at, action, actor, detail FROM ticket_events WHERE ticket_id = ? ORDER BY id",
            [ticket_id],
        )
    ]
    for at, direction, channel, chat_id, text, payload in db.execute(
        """
        SELECT at, direction, channel, chat_id, text, payload FROM messages
        WHERE ticket_id = ? ORDER BY id
        """,
        [ticket_id],
    ):
        try:
            decoded = json.loads(payload or "{}")
        except ValueError:
            decoded = {}
        attachments = tuple(a for a in decoded.get("attachments", []) if isinstance(a, dict))
        entries.append(
            TimelineEntry(from_db_time(at), direction, channel, "", text, chat_id, attachments)
        )
    # Reminders and overdue alerts about it, as the deadline scan recorded them (through
    # the expression index notices_once; the key is "<stage>@<assignment>"; a breach is
    # its own event already).
    for kind, key, chat_id, at in db.execute(
        """
        SELECT kind, key, chat_id, at FROM notices
        WHERE kind IN ('reminder', 'overdue', 'resolution_reminder', 'resolution_overdue',
                       'escalation', 'resolution_escalation')
          AND coalesce(ticket_id, 0) = ?
        """,
        [ticket_id],
    ):
        entries.append(
            TimelineEntry(from_db_time(at), "notice", kind, "system", key.split("@", 1)[0], chat_id)
        )
    entries.sort(key=lambda entry: entry.at)
    return entries


# --------------------------------------------------------------------------
# The call-back list: what agencies answered to phone callers (channel bot.model.PHONE)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class CallBack:
    """A message for a caller that the call center must pass on by phone."""

    message_id: int
    ticket_id: int | None
    phone: str
    text: str
    at: datetime
    provider_id: str = ""  # the id the message was "sent" under (a caller's answer replies to it)


_WAITING = (
    "SELECT id, ticket_id, chat_id, text, at, provider_message_id FROM messages "
    "WHERE channel = 'phone' AND direction = 'out' AND status = 'sent'"
)


def _call_back(row: tuple[Any, ...]) -> CallBack:
    return CallBack(row[0], row[1], row[2], row[3], from_db_time(row[4]), row[5] or "")


def call_backs(db: Database, limit: int = 200) -> list[CallBack]:
    """Answers for phone callers not yet passed on, oldest first."""
    rows = db.execute(f"{_WAITING} ORDER BY id LIMIT ?", [limit]).fetchall()  # noqa: S608
    return [_call_back(row) for row in rows]


def waiting_call_back(db: Database, message_id: int) -> CallBack | None:
    """One answer still waiting on the call-back list, or None."""
    row = db.execute(f"{_WAITING} AND id = ?", [message_id]).fetchone()  # noqa: S608
    return _call_back(row) if row is not None else None


def mark_called_back(db: Database, message_id: int) -> CallBack | None:
    """The call center told the caller (in the caller's transaction); None when the
    message is not (or no longer) waiting."""
    item = waiting_call_back(db, message_id)
    if item is not None:
        db.execute("UPDATE messages SET status = 'told' WHERE id = ?", [message_id])
    return item


def _dicts(db: Database, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    cursor = db.execute(sql, params)
    keys = [c[0] for c in cursor.description]
    return [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]
