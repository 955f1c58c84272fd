"""The outbox: messages decided by the core, delivered afterwards by the edges.

A row is `pending` until delivered (`sent`), given up on (`failed`), or parked
(`held`, e.g. WhatsApp outside its 24-hour window) until the citizen writes
again. A sender claims due rows with a short lease, so two processes sending
at once never deliver the same row while it is leased. Delivery is
at-least-once: a sender that dies after sending but before `mark_sent` lets
the lease expire and the row is sent again.

Per chat the order is kept: a row is not claimed while an older row of the
same chat is still pending and not claimable (leased, or waiting to retry).
So a message that keeps failing holds back its chat until `mark_failed`.

Every outcome recorded here (sent, retry, held, failed) is also counted in
`delivery_counts`, in the same transaction: the counts are exactly the outcomes
stored, whichever process sent, and survive restarts (`iceta_deliveries_total`).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlite_utils import Database

from bot.model import Outbound
from storage.db import from_db_time, to_db_time, transaction
from storage.repository import dump_json


@dataclass(frozen=True)
class OutboxItem:
    """A claimed outbox row: what to send, and how often it was tried."""

    id: int
    outbound: Outbound
    attempts: int
    created_at: datetime


def claim_due(
    db: Database,
    now: datetime,
    limit: int = 20,
    lease_seconds: float = 30,
    channels: Collection[str] | None = None,
    owner: str = "",
) -> list[OutboxItem]:
    """Lease up to `limit` due pending rows, oldest first (optionally only some channels).

    Runs in its own `BEGIN IMMEDIATE` transaction (or a savepoint of the
    caller's), so a concurrent claim waits and then sees the leases.
    """
    at = to_db_time(now)
    lease_until = to_db_time(now + timedelta(seconds=lease_seconds))
    with transaction(db):
        if channels is None:
            channels = [
                row[0]
                for row in db.execute(
                    "SELECT DISTINCT channel FROM outbox WHERE status = 'pending'"
                ).fetchall()
            ]
        rows: list[dict[str, Any]] = []
        for channel in sorted(set(channels)):
            # Due: pending, its retry time reached, not leased, and no earlier row of
            # the same chat waiting for a retry or leased (a chat's messages go out in
            # order). Read in order from the channel's queue index, so a claim reads
            # about `limit` rows, not the whole backlog.
            rows += db.query(
                """
                SELECT id, payload, attempts, created_at FROM outbox AS o
                WHERE o.status = 'pending' AND o.channel = :channel
                  AND o.next_attempt_at <= :now
                  AND (o.lease_until IS NULL OR o.lease_until <= :now)
                  AND NOT EXISTS (
                      SELECT 1 FROM outbox AS earlier
                      WHERE earlier.channel = o.channel AND earlier.chat_id = o.chat_id
                        AND earlier.status = 'pending' AND earlier.id < o.id
                        AND (earlier.next_attempt_at > :now OR earlier.lease_until > :now)
                  )
                ORDER BY o.id
                LIMIT :limit
                """,
                {"now": at, "channel": channel, "limit": limit},
            )
        rows = sorted(rows, key=lambda row: row["id"])[:limit]
        db.execute(
            "UPDATE outbox SET lease_until = ?, lease_owner = ? "
            "WHERE id IN (SELECT value FROM json_each(?))",
            [lease_until, owner or None, json.dumps([row["id"] for row in rows])],
        )
    return [
        OutboxItem(
            id=row["id"],
            outbound=Outbound.from_dict(json.loads(row["payload"])),
            attempts=row["attempts"],
            created_at=from_db_time(row["created_at"]),
        )
        for row in rows
    ]


def lease_owners(db: Database, now: datetime) -> list[str]:
    """Owners of the leases still running on pending rows."""
    rows = db.query(
        "SELECT DISTINCT lease_owner FROM outbox WHERE status = 'pending' "
        "AND lease_until > ? AND lease_owner IS NOT NULL",
        [to_db_time(now)],
    )
    return [row["lease_owner"] for row in rows]


def release_leases(db: Database, owner: str) -> int:
    """Take back the leases of an owner that is gone (a process killed mid-send)."""
    with transaction(db):
        cursor = db.execute(
            "UPDATE outbox SET lease_until = NULL, lease_owner = NULL "
            "WHERE status = 'pending' AND lease_owner = ?",
            [owner],
        )
    return cursor.rowcount


def mark_sent(db: Database, item_id: int, provider_message_ids: list[str], now: datetime) -> None:
    """Record a delivery: the row becomes 'sent' and each provider message is kept.

    One `messages` row per provider message id (a long text may go out in
    parts), carrying the ticket, so a reply to any part finds the ticket. A
    card edited in place reports the same id again: that row is updated.
    """
    at = to_db_time(now)
    with transaction(db):
        row = db.execute(
            "SELECT channel, chat_id, ticket_id, payload, status FROM outbox WHERE id = ?",
            [item_id],
        ).fetchone()
        if row is None:
            raise LookupError(f"no outbox row {item_id}")
        channel, chat_id, ticket_id, payload, status = row
        if status != "sent":  # recorded twice (sent twice) is still one row delivered
            _count(db, channel, SENT)
        db.execute(
            """
            UPDATE outbox SET status = 'sent', sent_at = ?, lease_until = NULL,
                provider_message_ids = ?
            WHERE id = ?
            """,
            [at, dump_json(list(provider_message_ids)), item_id],
        )
        text = json.loads(payload)["text"]
        for provider_message_id in provider_message_ids:
            db.execute(
                """
                INSERT INTO messages (channel, chat_id, direction, provider_message_id,
                                      ticket_id, text, payload, at, outbox_id, status)
                VALUES (?, ?, 'out', ?, ?, ?, ?, ?, ?, 'sent')
                ON CONFLICT (channel, chat_id, direction, provider_message_id)
                    WHERE provider_message_id IS NOT NULL
                DO UPDATE SET ticket_id = excluded.ticket_id, text = excluded.text,
                    payload = excluded.payload, at = excluded.at,
                    outbox_id = excluded.outbox_id, status = excluded.status
                """,
                [channel, chat_id, provider_message_id, ticket_id, text, payload, at, item_id],
            )


def mark_retry(
    db: Database,
    item_id: int,
    error: str,
    next_attempt_at: datetime,
    *,
    count_attempt: bool = True,
) -> bool:
    """A failed attempt to try again at `next_attempt_at`; False unless the row was pending.

    `count_attempt=False` postpones without counting a try (e.g. channel off).
    """
    with transaction(db):
        cursor = db.execute(
            """
            UPDATE outbox SET attempts = attempts + ?, last_error = ?, next_attempt_at = ?,
                lease_until = NULL
            WHERE id = ? AND status = 'pending'
            """,
            [1 if count_attempt else 0, error, to_db_time(next_attempt_at), item_id],
        )
        if cursor.rowcount != 1:
            return False
        if count_attempt:  # a postponement (the channel is off) is not an attempt
            _count_row(db, item_id, RETRY)
        return True


def mark_failed(db: Database, item_id: int, error: str, now: datetime) -> bool:
    """Give up on a row (terminal); False unless it was pending."""
    with transaction(db):
        cursor = db.execute(
            """
            UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?,
                failed_at = ?, lease_until = NULL
            WHERE id = ? AND status = 'pending'
            """,
            [error, to_db_time(now), item_id],
        )
        if cursor.rowcount != 1:
            return False
        _count_row(db, item_id, FAILED)
        return True


def mark_held(db: Database, item_id: int, reason: str) -> bool:
    """Park a row until `release_held` for its chat; False unless it was pending."""
    with transaction(db):
        cursor = db.execute(
            """
            UPDATE outbox SET status = 'held', last_error = ?, lease_until = NULL
            WHERE id = ? AND status = 'pending'
            """,
            [reason, item_id],
        )
        if cursor.rowcount != 1:
            return False
        _count_row(db, item_id, HELD)
        return True


def release_held(db: Database, channel: str, chat_id: str, now: datetime) -> int:
    """Make a chat's held rows pending and due now; returns how many.

    One statement, atomic on its own: it runs on every inbound WhatsApp message,
    inside the webhook's transaction, so it adds no savepoint of its own.
    """
    cursor = db.execute(
        """
        UPDATE outbox SET status = 'pending', next_attempt_at = ?, lease_until = NULL
        WHERE channel = ? AND chat_id = ? AND status = 'held'
        """,
        [to_db_time(now), channel, chat_id],
    )
    return cursor.rowcount


def backlog(db: Database, now: datetime) -> tuple[int, datetime | None]:
    """(pending rows, created_at of the oldest) for health checks.

    Rows waiting to retry count too. `now` is not used by the query; the
    caller reports the age of the backlog as `now - oldest`.
    """
    row = db.execute("SELECT count(*), min(created_at) FROM outbox WHERE status = 'pending'")
    count, oldest = row.fetchone()
    return count, from_db_time(oldest)


def backlog_by_channel(db: Database) -> dict[str, tuple[int, datetime | None]]:
    """`backlog` per channel: (pending rows, created_at of the oldest), from the queue index."""
    rows = db.execute(
        "SELECT channel, count(*), min(created_at) FROM outbox WHERE status = 'pending' "
        "GROUP BY channel"
    )
    return {channel: (count, from_db_time(oldest)) for channel, count, oldest in rows}


# What `delivery_counts` counts, per channel.
SENT, RETRY, HELD, FAILED = "sent", "retry", "held", "failed"
RESULTS = (SENT, RETRY, HELD, FAILED)


def delivery_counts(db: Database) -> dict[tuple[str, str], int]:
    """Every delivery outcome ever recorded: {(channel, result): how many}."""
    return {
        (channel, result): n
        for channel, result, n in db.execute("SELECT channel, result, n FROM delivery_counts")
    }


def _count(db: Database, channel: str, result: str) -> None:
    db.execute(
        "INSERT INTO delivery_counts (channel, result, n) VALUES (?, ?, 1) "
        "ON CONFLICT (channel, result) DO UPDATE SET n = n + 1",
        [channel, result],
    )


def _count_row(db: Database, item_id: int, result: str) -> None:
    db.execute(
        "INSERT INTO delivery_counts (channel, result, n) "
        "SELECT channel, ?, 1 FROM outbox WHERE id = ? "
        "ON CONFLICT (channel, result) DO UPDATE SET n = n + 1",
        [result, item_id],
    )


def failed_count(db: Database) -> int:
    """How many rows were given up on."""
    return db.execute("SELECT count(*) FROM outbox WHERE status = 'failed'").fetchone()[0]


def card_message_id(db: Database, channel: str, chat_id: str, ticket_id: int) -> str | None:
    """The provider id of the ticket's latest sent card in that chat (to edit it in place).

    If the card went out in several parts, the first part's id.
    """
    row = db.execute(
        """
        SELECT provider_message_ids FROM outbox
        WHERE ticket_id = ? AND kind = 'card' AND channel = ? AND chat_id = ?
          AND status = 'sent' AND provider_message_ids != '[]'
        ORDER BY id DESC
        LIMIT 1
        """,
        [ticket_id, channel, chat_id],
    ).fetchone()
    return json.loads(row[0])[0] if row else None


def chat_messages(db: Database, channel: str, chat_id: str, after_id: int = 0) -> list[dict]:
    """Every message of one chat, both directions, in order (a transcript)."""
    return list(
        db.query(
            "SELECT id, direction, provider_message_id, ticket_id, text, payload, at, status "
            "FROM messages WHERE channel = ? AND chat_id = ? AND id > ? ORDER BY id",
            [channel, chat_id, after_id],
        )
    )


def outbound_message(db: Database, channel: str, provider_message_id: str) -> dict | None:
    """The message we sent under a provider's id (for status callbacks), with the kind
    of outbox row it carried (None for one sent before the outbox kept it), or None."""
    rows = list(
        db.query(
            "SELECT m.id, m.status, m.ticket_id, m.chat_id, m.outbox_id, o.kind FROM messages m "
            "LEFT JOIN outbox o ON o.id = m.outbox_id "
            "WHERE m.channel = ? AND m.direction = 'out' AND m.provider_message_id = ?",
            [channel, provider_message_id],
        )
    )
    return rows[0] if rows else None


def set_message_status(db: Database, message_id: int, status: str) -> None:
    db.execute("UPDATE messages SET status = ? WHERE id = ?", [status, message_id])


def requeue_held(db: Database, outbox_id: int, reason: str, now: datetime) -> None:
    """Queue a copy of an already sent row again, held (e.g. the provider later refused it
    for a closed window): it goes out when the row's chat is released."""
    at = to_db_time(now)
    db.execute(
        """
        INSERT INTO outbox (created_at, channel, chat_id, ticket_id, kind, payload, status,
            attempts, next_attempt_at, last_error)
        SELECT ?, channel, chat_id, ticket_id, kind, payload, 'held', 0, ?, ?
        FROM outbox WHERE id = ?
        """,
        [at, at, reason, outbox_id],
    )
