"""Media files: what was received (and still has to be fetched) and what is served.

A WhatsApp photo arrives as a Twilio URL that needs the account's credentials;
it is registered here in the webhook's transaction and fetched right after.
A staff photo for a WhatsApp citizen is stored here and served to Twilio
under an unguessable, expiring token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlite_utils import Database

from storage.db import from_db_time, to_db_time, transaction


@dataclass(frozen=True)
class MediaFile:
    key: str
    channel: str
    source_url: str
    content_type: str
    status: str
    path: str
    size: int
    error: str
    attempts: int


def _media(row: dict) -> MediaFile:
    return MediaFile(
        row["key"],
        row["channel"],
        row["source_url"],
        row["content_type"],
        row["status"],
        row["path"],
        row["size"],
        row["error"],
        row["attempts"],
    )


def register_media(
    db: Database, key: str, channel: str, source_url: str, content_type: str, at: datetime
) -> None:
    """Note a received file to fetch (in the caller's transaction); a repeat is ignored."""
    db.execute(
        "INSERT OR IGNORE INTO media (key, channel, source_url, content_type, created_at) VALUES (?, ?, ?, ?, ?)",
        [key, channel, source_url, content_type, to_db_time(at)],
    )


def media(db: Database, key: str) -> MediaFile | None:
    rows = list(db.query("SELECT * FROM media WHERE key = ?", [key]))
    return _media(rows[0]) if rows else None


def pending_media(db: Database, limit: int = 20) -> list[MediaFile]:
    rows = db.query(
        "SELECT * FROM media WHERE status = 'pending' ORDER BY created_at LIMIT ?", [limit]
    )
    return [_media(row) for row in rows]


def store_media(
    db: Database, key: str, path: str, size: int, content_type: str, at: datetime
) -> None:
    with transaction(db):
        db.execute(
            "UPDATE media SET status = 'stored', path = ?, size = ?, content_type = ?, fetched_at = ?, "
            "error = '' WHERE key = ?",
            [path, size, content_type, to_db_time(at), key],
        )


def media_failed(db: Database, key: str, error: str, final: bool) -> None:
    """A failed fetch: counted, and final once retrying makes no sense."""
    with transaction(db):
        db.execute(
            "UPDATE media SET attempts = attempts + 1, error = ?, status = CASE WHEN ? THEN 'failed' "
            "ELSE status END WHERE key = ?",
            [error[:500], 1 if final else 0, key],
        )


def add_served_media(
    db: Database,
    key: str,
    channel: str,
    path: str,
    size: int,
    content_type: str,
    token: str,
    expires_at: datetime,
    at: datetime,
) -> None:
    """A file we serve to a provider under `token` until `expires_at`."""
    with transaction(db):
        db.execute(
            "INSERT OR REPLACE INTO media (key, channel, content_type, status, path, size, created_at, "
            "fetched_at, token, token_expires_at) VALUES (?, ?, ?, 'stored', ?, ?, ?, ?, ?, ?)",
            [
                key,
                channel,
                content_type,
                path,
                size,
                to_db_time(at),
                to_db_time(at),
                token,
                to_db_time(expires_at),
            ],
        )


def served_media(db: Database, token: str, now: datetime) -> MediaFile | None:
    """The file served under `token`, unless unknown or expired."""
    rows = list(db.query("SELECT * FROM media WHERE token = ? AND status = 'stored'", [token]))
    if not rows or rows[0]["token_expires_at"] is None:
        return None
    if from_db_time(rows[0]["token_expires_at"]) <= now:
        return None
    return _media(rows[0])
