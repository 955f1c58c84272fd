"""The retention job (docs/contract.md §9, UU PDP No. 27/2022): closed tickets lose the
citizen's personal data after `privacy.retention_days`; the statistics stay.

What goes: the citizen's name, number and chat id, the description, location,
photos (files deleted), every message text and payload of the ticket, event
details (notes, replies), the rating comment, and the outbox copies. What stays:
ticket number, category, agency, status, every timestamp (assignment, deadline,
first response, resolution, closing), the event trail's actions and statuses,
and the rating score — enough for the digest and `/stats`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlite_utils import Database

from storage.db import to_db_time, transaction

log = logging.getLogger(__name__)

BATCH = 200


def anonymise_closed_tickets(db: Database, cutoff: datetime, now: datetime) -> int:
    """Anonymise closed tickets closed before `cutoff`; returns how many were done."""
    done = 0
    while True:
        with transaction(db):
            rows = list(
                db.query(
                    "SELECT id, attachments, proof, citizen_channel, citizen_chat_id FROM tickets "
                    "WHERE anonymised_at IS NULL AND status IN ('closed', 'rejected', 'referred') "
                    "AND closed_at < ? "
                    "ORDER BY closed_at LIMIT ?",
                    [to_db_time(cutoff), BATCH],
                )
            )
            if not rows:
                break
            ids = json.dumps([row["id"] for row in rows])
            files = _media_files(db, rows)
            for row in rows:  # the chat id is the citizen's number on WhatsApp
                _unlink_chat(db, row["id"], row["citizen_channel"], row["citizen_chat_id"])
                _forget_idle_citizen(db, row["citizen_channel"], row["citizen_chat_id"], cutoff)
            _scrub(db, ids, to_db_time(now))
        for path in files:  # after the commit: a crash leaves a file, never a dangling row
            Path(path).unlink(missing_ok=True)
        done += len(rows)
    if done:
        log.info("retention: anonymised %d closed tickets", done)
    return done


def _media_files(db: Database, rows: list[dict]) -> list[str]:
    keys = [
        attachment["ref"]
        for row in rows
        for column in ("attachments", "proof")  # the proof photos show the place too
        for attachment in json.loads(row[column] or "[]")
        if str(attachment.get("ref", "")).startswith("media:")
    ]
    if not keys:
        return []
    found = db.query(
        "SELECT path FROM media WHERE key IN (SELECT value FROM json_each(?)) AND path != ''",
        [json.dumps(keys)],
    )
    paths = [row["path"] for row in found]
    db.execute(
        "UPDATE media SET path = '', source_url = '', status = 'failed', error = 'removed by retention' "
        "WHERE key IN (SELECT value FROM json_each(?))",
        [json.dumps(keys)],
    )
    return paths


def _scrub(db: Database, ids: str, at: str) -> None:
    db.execute(
        "UPDATE tickets SET citizen_name = '', citizen_phone = '', citizen_chat_id = '', "
        "description = '', latitude = NULL, longitude = NULL, address = NULL, attachments = '[]', proof = '[]', "
        "claimed_by = '', anonymised_at = ? WHERE id IN (SELECT value FROM json_each(?))",
        [at, ids],
    )
    db.execute(
        "UPDATE messages SET text = '', payload = '{}' "
        "WHERE ticket_id IN (SELECT value FROM json_each(?))",
        [ids],
    )
    db.execute(
        "UPDATE ticket_events SET detail = '' WHERE ticket_id IN (SELECT value FROM json_each(?))",
        [ids],
    )
    db.execute(
        "UPDATE ratings SET comment = '' WHERE ticket_id IN (SELECT value FROM json_each(?))",
        [ids],
    )
    db.execute(
        "UPDATE outbox SET payload = json_set(payload, '$.text', '', '$.attachments', json('[]'), "
        "'$.location', NULL) WHERE status != 'pending' "
        "AND ticket_id IN (SELECT value FROM json_each(?))",
        [ids],
    )


def _unlink_chat(db: Database, ticket_id: int, channel: str, chat_id: str) -> None:
    """Replace the citizen's chat id on the ticket's messages and outbox rows."""
    if not chat_id:
        return
    db.execute(
        "UPDATE messages SET chat_id = 'anonymised:m' || id "
        "WHERE ticket_id = ? AND channel = ? AND chat_id = ?",
        [ticket_id, channel, chat_id],
    )
    db.execute(
        "UPDATE outbox SET chat_id = 'anonymised:o' || id, "
        "payload = json_set(payload, '$.chat_id', 'anonymised:o' || id) "
        "WHERE ticket_id = ? AND channel = ? AND chat_id = ? AND status != 'pending'",
        [ticket_id, channel, chat_id],
    )


def _forget_idle_citizen(db: Database, channel: str, chat_id: str, cutoff: datetime) -> None:
    """A citizen with nothing open and silent since before the cutoff: their chat goes too."""
    if not chat_id:
        return
    still_open = db.execute(
        "SELECT 1 FROM tickets WHERE citizen_channel = ? AND citizen_chat_id = ? "
        "AND status NOT IN ('closed', 'rejected', 'referred') LIMIT 1",
        [channel, chat_id],
    ).fetchone()
    if still_open:
        return
    db.execute(
        "DELETE FROM conversations WHERE channel = ? AND chat_id = ? "
        "AND (last_inbound_at IS NULL OR last_inbound_at < ?)",
        [channel, chat_id, to_db_time(cutoff)],
    )
    db.execute(
        "UPDATE messages SET text = '', payload = '{}', chat_id = 'anonymised:m' || id "
        "WHERE channel = ? AND chat_id = ? AND ticket_id IS NULL AND at < ?",
        [channel, chat_id, to_db_time(cutoff)],
    )
    db.execute(
        "UPDATE outbox SET chat_id = 'anonymised:o' || id, payload = json_set(payload, "
        "'$.text', '', '$.chat_id', 'anonymised:o' || id, '$.attachments', json('[]')) "
        "WHERE channel = ? AND chat_id = ? AND ticket_id IS NULL AND status != 'pending' "
        "AND created_at < ?",
        [channel, chat_id, to_db_time(cutoff)],
    )


class _Databases(Protocol):
    def get(self) -> Database: ...


def retention_job(
    databases: _Databases, retention: timedelta, clock: Callable[[], datetime]
) -> int:
    """The scheduler's entry point: anonymise what is older than `retention`."""
    now = clock()
    return anonymise_closed_tickets(databases.get(), now - retention, now)
