"""Inbound side: de-duplicating provider deliveries and keeping what people sent.

Both run in the caller's transaction: if handling the message fails and rolls
back, the delivery is not marked as seen, so the provider's retry is handled.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlite_utils import Database

from bot.model import Inbound
from storage.db import to_db_time
from storage.repository import dump_json


def first_delivery(db: Database, channel: str, provider_id: str, at: datetime) -> bool:
    """True the first time (channel, provider_id) is seen, False for a re-delivery.

    An empty provider id cannot be de-duplicated, so it always counts as first.
    """
    if not provider_id:
        return True
    cursor = db.execute(
        "INSERT OR IGNORE INTO seen_inbound (channel, provider_id, at) VALUES (?, ?, ?)",
        [channel, provider_id, to_db_time(at)],
    )
    return cursor.rowcount == 1


def inbound_payload(inbound: Inbound) -> dict[str, Any]:
    """The inbound's fields as JSON-ready values, without the provider's raw payload."""
    return {
        "channel": inbound.channel,
        "chat_id": inbound.chat_id,
        "provider_id": inbound.provider_id,
        "sender_id": inbound.sender_id,
        "sender_name": inbound.sender_name,
        "phone": inbound.phone,
        "text": inbound.text,
        "is_group": inbound.is_group,
        "attachments": [a.to_dict() for a in inbound.attachments],
        "location": inbound.location.to_dict() if inbound.location else None,
        "button_data": inbound.button_data,
        "reply_to_message_id": inbound.reply_to_message_id,
    }


def record_inbound(
    db: Database,
    inbound: Inbound,
    ticket_id: int | None,
    at: datetime,
    *,
    status: str = "received",
) -> int:
    """Store a received message (direction 'in'); returns its `messages` row id.

    `status` is 'received', or e.g. 'error' for a message the core failed on.
    Recording the same provider message twice keeps the first row.
    """
    params = {
        "channel": inbound.channel,
        "chat_id": inbound.chat_id,
        "provider_message_id": inbound.provider_id or None,
        "ticket_id": ticket_id,
        "text": inbound.text,
        "payload": dump_json(inbound_payload(inbound)),
        "at": to_db_time(at),
        "status": status,
    }
    cursor = db.execute(
        """
        INSERT INTO messages
            (channel, chat_id, direction, provider_message_id, ticket_id, text, payload, at, status)
        VALUES
            (:channel, :chat_id, 'in', :provider_message_id, :ticket_id, :text, :payload, :at,
             :status)
        ON CONFLICT (channel, chat_id, direction, provider_message_id)
            WHERE provider_message_id IS NOT NULL
        DO NOTHING
        """,
        params,
    )
    if cursor.rowcount == 1 and cursor.lastrowid is not None:
        return cursor.lastrowid
    row = db.execute(
        """
        SELECT id FROM messages
        WHERE channel = ? AND chat_id = ? AND direction = 'in' AND provider_message_id = ?
        """,
        [inbound.channel, inbound.chat_id, inbound.provider_id],
    ).fetchone()
    return int(row[0])
