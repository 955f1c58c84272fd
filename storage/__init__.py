"""SQLite storage through sqlite-utils: connection, schema, the core's store, outbox.

Typical use by an edge::

    db = open_database(config.database)
    with transaction(db):
        if first_delivery(db, inbound.channel, inbound.provider_id, now):
            store = SqliteStore(db)
            ...  # run the core with `store`, which queues outbound messages
"""

from storage.db import from_db_time, open_database, ping, to_db_time, transaction
from storage.inbound import first_delivery, inbound_payload, record_inbound
from storage.outbox import (
    OutboxItem,
    backlog,
    card_message_id,
    chat_messages,
    claim_due,
    failed_count,
    mark_failed,
    mark_held,
    mark_retry,
    mark_sent,
    release_held,
)
from storage.repository import SqliteStore, record_notice

__all__ = [
    "OutboxItem",
    "SqliteStore",
    "backlog",
    "card_message_id",
    "claim_due",
    "failed_count",
    "first_delivery",
    "from_db_time",
    "inbound_payload",
    "mark_failed",
    "mark_held",
    "mark_retry",
    "mark_sent",
    "open_database",
    "ping",
    "record_inbound",
    "record_notice",
    "release_held",
    "chat_messages",
    "to_db_time",
    "transaction",
]
