"""`SqliteStore`: the core's `bot.store.Store` on SQLite.

It never begins or commits: the caller wraps a whole event in
`storage.db.transaction(db)`, so the state change, its events and the outbox
rows it queues commit together or not at all.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.model import (
    Assignment,
    Attachment,
    Conversation,
    Location,
    Outbound,
    Status,
    Ticket,
    TicketEvent,
)
from storage.db import from_db_time, to_db_time

# Longest chat-migration chain followed; a guard against a cycle in bad data.
_MAX_CHAT_HOPS = 20


def dump_json(value: Any) -> str:
    """JSON text as stored: UTF-8 kept readable (emoji, Indonesian text)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _rows(db: Database, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """The rows of a SELECT as dicts, read to the end (so no statement stays open).

    Not sqlite-utils' `query`: it wraps every statement in a savepoint (to refuse
    ones that return no rows), three statements per read on every message's path.
    """
    cursor = db.execute(sql, params or [])
    keys = [column[0] for column in cursor.description]
    return [dict(zip(keys, row, strict=True)) for row in cursor.fetchall()]


def _one(db: Database, sql: str, params: list[Any]) -> dict[str, Any] | None:
    """The first row of a query (read to the end, so no statement stays open)."""
    rows = _rows(db, sql, params)
    return rows[0] if rows else None


def record_notice(
    db: Database, kind: str, ticket_id: int | None, key: str, chat_id: str, at: datetime
) -> bool:
    """Record that a reminder/alert/digest was sent; False if it already was.

    Callers queue the notice only when this returns True, in the same
    transaction, so a second scan or a concurrent process never repeats it.
    """
    cursor = db.execute(
        "INSERT OR IGNORE INTO notices (kind, ticket_id, key, chat_id, at) VALUES (?, ?, ?, ?, ?)",
        [kind, ticket_id, key, chat_id, to_db_time(at)],
    )
    return cursor.rowcount == 1


def _ticket_record(ticket: Ticket) -> dict[str, Any]:
    location = ticket.location
    return {
        "citizen_channel": ticket.citizen_channel,
        "citizen_chat_id": ticket.citizen_chat_id,
        "citizen_name": ticket.citizen_name,
        "citizen_phone": ticket.citizen_phone,
        "description": ticket.description,
        "category_id": ticket.category_id,
        "agency_id": ticket.agency_id,
        "status": str(Status(ticket.status)),
        "confidential": int(ticket.confidential),
        "latitude": location.latitude if location else None,
        "longitude": location.longitude if location else None,
        "address": location.address if location else None,
        "attachments": dump_json([a.to_dict() for a in ticket.attachments]),
        "language": ticket.language,
        "created_at": to_db_time(ticket.created_at),
        "assigned_at": to_db_time(ticket.assigned_at),
        "deadline_at": to_db_time(ticket.deadline_at),
        "first_response_at": to_db_time(ticket.first_response_at),
        "paused_at": to_db_time(ticket.paused_at),
        "resolved_at": to_db_time(ticket.resolved_at),
        "closed_at": to_db_time(ticket.closed_at),
        "claimed_by": ticket.claimed_by,
        "status_reason": ticket.status_reason,
        "updated_at": to_db_time(ticket.updated_at),
        "resolution_class": ticket.resolution_class,
        "resolution_deadline_at": to_db_time(ticket.resolution_deadline_at),
        "proof": dump_json([a.to_dict() for a in ticket.proof]),
    }


def ticket_from_row(row: dict[str, Any]) -> Ticket:
    """A `tickets` row (extra columns ignored) as a `Ticket`."""
    location = None
    if row["address"] is not None:
        location = Location(row["latitude"], row["longitude"], row["address"])
    return Ticket(
        id=row["id"],
        citizen_channel=row["citizen_channel"],
        citizen_chat_id=row["citizen_chat_id"],
        citizen_name=row["citizen_name"],
        description=row["description"],
        created_at=from_db_time(row["created_at"]),
        citizen_phone=row["citizen_phone"],
        category_id=row["category_id"],
        agency_id=row["agency_id"],
        status=Status(row["status"]),
        confidential=bool(row["confidential"]),
        location=location,
        attachments=[Attachment.from_dict(a) for a in json.loads(row["attachments"])],
        language=row["language"],
        assigned_at=from_db_time(row["assigned_at"]),
        deadline_at=from_db_time(row["deadline_at"]),
        first_response_at=from_db_time(row["first_response_at"]),
        paused_at=from_db_time(row["paused_at"]),
        resolved_at=from_db_time(row["resolved_at"]),
        closed_at=from_db_time(row["closed_at"]),
        claimed_by=row["claimed_by"],
        status_reason=row["status_reason"],
        updated_at=from_db_time(row["updated_at"]),
        resolution_class=row["resolution_class"],
        resolution_deadline_at=from_db_time(row["resolution_deadline_at"]),
        proof=[Attachment.from_dict(a) for a in json.loads(row["proof"])],
    )


def _conversation_from_row(row: dict[str, Any]) -> Conversation:
    return Conversation(
        channel=row["channel"],
        chat_id=row["chat_id"],
        state=row["state"],
        draft=json.loads(row["draft"]),
        context=json.loads(row["context"]),
        language=row["language"],
        welcomed=bool(row["welcomed"]),
        opted_out=bool(row["opted_out"]),
        name=row["name"],
        phone=row["phone"],
        updated_at=from_db_time(row["updated_at"]),
        last_inbound_at=from_db_time(row["last_inbound_at"]),
    )


def _event_from_row(row: dict[str, Any]) -> TicketEvent:
    return TicketEvent(
        ticket_id=row["ticket_id"],
        at=from_db_time(row["at"]),
        actor=row["actor"],
        action=row["action"],
        from_status=row["from_status"],
        to_status=row["to_status"],
        from_agency=row["from_agency"],
        to_agency=row["to_agency"],
        detail=row["detail"],
    )


class SqliteStore:
    """`bot.store.Store` over one sqlite-utils `Database`, inside the caller's transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # Conversations

    def conversation(self, channel: str, chat_id: str) -> Conversation | None:
        """The citizen's conversation, or None if they never wrote."""
        row = _one(
            self.db,
            "SELECT * FROM conversations WHERE channel = ? AND chat_id = ?",
            [channel, chat_id],
        )
        return _conversation_from_row(row) if row else None

    def save_conversation(self, conversation: Conversation) -> None:
        """Insert or replace the conversation of (channel, chat_id)."""
        self.db.execute(
            """
            INSERT INTO conversations (channel, chat_id, state, draft, context, language,
                welcomed, opted_out, name, phone, updated_at, last_inbound_at)
            VALUES (:channel, :chat_id, :state, :draft, :context, :language,
                :welcomed, :opted_out, :name, :phone, :updated_at, :last_inbound_at)
            ON CONFLICT (channel, chat_id) DO UPDATE SET
                state = excluded.state, draft = excluded.draft, context = excluded.context,
                language = excluded.language, welcomed = excluded.welcomed,
                opted_out = excluded.opted_out, name = excluded.name, phone = excluded.phone,
                updated_at = excluded.updated_at, last_inbound_at = excluded.last_inbound_at
            """,
            {
                "channel": conversation.channel,
                "chat_id": conversation.chat_id,
                "state": conversation.state,
                "draft": dump_json(conversation.draft),
                "context": dump_json(conversation.context),
                "language": conversation.language,
                "welcomed": int(conversation.welcomed),
                "opted_out": int(conversation.opted_out),
                "name": conversation.name,
                "phone": conversation.phone,
                "updated_at": to_db_time(conversation.updated_at),
                "last_inbound_at": to_db_time(conversation.last_inbound_at),
            },
        )

    # Tickets

    def add_ticket(self, ticket: Ticket) -> Ticket:
        """Insert a new ticket; returns a copy with `id` (the ticket number) set."""
        record = _ticket_record(ticket)
        if ticket.id is not None:
            record["id"] = ticket.id
        table = self.db.table("tickets")
        table.insert(record)
        return replace(ticket, id=table.last_pk, attachments=list(ticket.attachments))

    def ticket(self, ticket_id: int) -> Ticket | None:
        """The ticket with that number, or None."""
        row = _one(self.db, "SELECT * FROM tickets WHERE id = ?", [ticket_id])
        return ticket_from_row(row) if row else None

    def save_ticket(self, ticket: Ticket) -> None:
        """Write every field of an existing ticket."""
        if ticket.id is None:
            raise ValueError("save_ticket needs a ticket with an id; use add_ticket")
        record = _ticket_record(ticket)
        # the columns are `_ticket_record`'s keys: the one list of a ticket's columns
        assignments = ", ".join(f"{column} = :{column}" for column in record)
        cursor = self.db.execute(
            f"UPDATE tickets SET {assignments} WHERE id = :id",  # noqa: S608 - our own names
            {**record, "id": ticket.id},
        )
        if cursor.rowcount != 1:
            raise LookupError(f"no ticket {ticket.id} to save")

    def link_messages(self, channel: str, chat_id: str, since: datetime, ticket_id: int) -> None:
        self.db.execute(
            """
            UPDATE messages SET ticket_id = ?
            WHERE channel = ? AND chat_id = ? AND ticket_id IS NULL AND at >= ?
            """,
            [ticket_id, channel, chat_id, to_db_time(since)],
        )

    def add_event(self, event: TicketEvent) -> None:
        """Append one change to a ticket's history."""
        self.db.execute(
            """
            INSERT INTO ticket_events (ticket_id, at, actor, action, from_status, to_status,
                from_agency, to_agency, detail)
            VALUES (:ticket_id, :at, :actor, :action, :from_status, :to_status,
                :from_agency, :to_agency, :detail)
            """,
            {
                "ticket_id": event.ticket_id,
                "at": to_db_time(event.at),
                "actor": event.actor,
                "action": event.action,
                "from_status": event.from_status,
                "to_status": event.to_status,
                "from_agency": event.from_agency,
                "to_agency": event.to_agency,
                "detail": event.detail,
            },
        )

    def events(self, ticket_id: int) -> list[TicketEvent]:
        """A ticket's history, in the order it happened."""
        rows = _rows(
            self.db, "SELECT * FROM ticket_events WHERE ticket_id = ? ORDER BY id", [ticket_id]
        )
        return [_event_from_row(row) for row in rows]

    def citizen_tickets(self, channel: str, chat_id: str, open_only: bool = False) -> list[Ticket]:
        """The citizen's tickets, newest first."""
        if open_only:
            rows = _rows(
                self.db,
                """
                SELECT * FROM tickets
                WHERE citizen_channel = ? AND citizen_chat_id = ?
                  AND status IN ('new', 'assigned', 'responded', 'waiting_citizen', 'awaiting_validation', 'resolved')
                ORDER BY id DESC
                """,
                [channel, chat_id],
            )
        else:
            rows = _rows(
                self.db,
                """
                SELECT * FROM tickets WHERE citizen_channel = ? AND citizen_chat_id = ?
                ORDER BY id DESC
                """,
                [channel, chat_id],
            )
        return [ticket_from_row(row) for row in rows]

    def agency_open_tickets(self, agency_id: str) -> list[Ticket]:
        """Open tickets of one agency ('' for dispatch), oldest deadline first, no deadline last."""
        rows = _rows(
            self.db,
            """
            SELECT * FROM tickets
            WHERE agency_id = ?
              AND status IN ('new', 'assigned', 'responded', 'waiting_citizen', 'awaiting_validation', 'resolved')
            ORDER BY deadline_at IS NULL, deadline_at, id
            """,
            [agency_id],
        )
        return [ticket_from_row(row) for row in rows]

    def all_open_tickets(self) -> list[Ticket]:
        """Every open ticket, by number."""
        rows = _rows(
            self.db,
            """
            SELECT * FROM tickets
            WHERE status IN ('new', 'assigned', 'responded', 'waiting_citizen', 'awaiting_validation', 'resolved')
            ORDER BY id
            """,
        )
        return [ticket_from_row(row) for row in rows]

    def overdue_tickets(self, now: datetime, clock: str = "response") -> list[Ticket]:
        """Tickets past their `clock`'s deadline (clock running), most late first."""
        from storage import deadlines  # here: storage.deadlines imports this module

        return deadlines.overdue_tickets(self.db, now, clock)

    def assignments_between(self, start: datetime, end: datetime) -> list[Assignment]:
        """Stints at agencies that began in [start, end), with how each was answered."""
        from storage import deadlines

        return deadlines.assignments_between(self.db, start, end)

    def ticket_for_message(self, channel: str, chat_id: str, message_id: str) -> int | None:
        """The ticket a bot message (by provider message id) in that chat was about."""
        row = _one(
            self.db,
            """
            SELECT ticket_id FROM messages
            WHERE channel = ? AND chat_id = ? AND direction = 'out' AND provider_message_id = ?
            """,
            [channel, chat_id, message_id],
        )
        return row["ticket_id"] if row else None

    # Outbox

    def queue(self, outbound: Outbound, now: datetime) -> None:
        """Put a message in the outbox (pending, due now), in the caller's transaction."""
        when = to_db_time(now)
        self.db.execute(
            """
            INSERT INTO outbox (created_at, channel, chat_id, ticket_id, kind, payload, status,
                attempts, next_attempt_at)
            VALUES (:created_at, :channel, :chat_id, :ticket_id, :kind, :payload, :status,
                :attempts, :next_attempt_at)
            """,
            {
                "created_at": when,
                "channel": outbound.channel,
                "chat_id": outbound.chat_id,
                "ticket_id": outbound.ticket_id,
                "kind": outbound.kind,
                "payload": dump_json(outbound.to_dict()),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": when,
            },
        )

    # Ratings

    def add_rating(self, ticket_id: int, score: int, comment: str, at: datetime) -> None:
        """The citizen's rating of a ticket (1-5); a later rating replaces it."""
        self.db.execute(
            """
            INSERT INTO ratings (ticket_id, score, comment, at) VALUES (?, ?, ?, ?)
            ON CONFLICT (ticket_id) DO UPDATE
            SET score = excluded.score, comment = excluded.comment, at = excluded.at
            """,
            [ticket_id, score, comment, to_db_time(at)],
        )

    def rating(self, ticket_id: int) -> tuple[int, str] | None:
        """(score, comment) of a rated ticket, or None."""
        row = _one(self.db, "SELECT score, comment FROM ratings WHERE ticket_id = ?", [ticket_id])
        return (row["score"], row["comment"]) if row else None

    # Beyond the Protocol: used by edges and the deadline scan

    def chat_of(self, channel: str, chat_id: str) -> str:
        """The current id of a chat, following recorded migrations (old → new)."""
        current = chat_id
        seen = {current}
        for _ in range(_MAX_CHAT_HOPS):
            row = _one(
                self.db,
                "SELECT new_chat_id FROM chat_migrations WHERE channel = ? AND old_chat_id = ?",
                [channel, current],
            )
            if row is None or row["new_chat_id"] in seen:
                break
            current = row["new_chat_id"]
            seen.add(current)
        return current

    def original_chat(self, channel: str, chat_id: str) -> str:
        """The first id a migrated chat had (what config.yaml names), following migrations back."""
        current = chat_id
        seen = {current}
        for _ in range(_MAX_CHAT_HOPS):
            row = _one(
                self.db,
                "SELECT old_chat_id FROM chat_migrations WHERE channel = ? AND new_chat_id = ?",
                [channel, current],
            )
            if row is None or row["old_chat_id"] in seen:
                break
            current = row["old_chat_id"]
            seen.add(current)
        return current

    def issue_desk_link(
        self,
        role: str,
        agency_id: str,
        chat_channel: str,
        chat_id: str,
        name: str,
        now: datetime,
        lifetime: timedelta,
    ) -> str:
        from storage.desk import issue_link  # the desk's module reads tickets through this one

        return issue_link(self.db, role, agency_id, chat_channel, chat_id, name, now, lifetime)

    def record_chat_migration(self, channel: str, old: str, new: str, at: datetime) -> None:
        """Remember that chat `old` is now `new` (Telegram group → supergroup)."""
        if old == new:
            return
        self.db.execute(
            """
            INSERT INTO chat_migrations (channel, old_chat_id, new_chat_id, at) VALUES (?, ?, ?, ?)
            ON CONFLICT (channel, old_chat_id) DO UPDATE
            SET new_chat_id = excluded.new_chat_id, at = excluded.at
            """,
            [channel, old, new, to_db_time(at)],
        )
