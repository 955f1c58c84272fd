"""Whether the database can be written now (docs/contract.md §12), for /healthz and /metrics.

Two signs, both cheap:

- the disk that holds the file: mounted read-only, or with less than
  `MIN_FREE_BYTES` left (`statvfs`, no write);
- this process's own writes: the file's `WriteHealth` (storage/db.py) is set by a
  transaction that failed for a full, read-only or failing disk and cleared by the
  next that committed a change. While it is set, each look also tries one small
  write (the `write_probe` row), so the state clears by itself when space returns,
  even when nothing else writes meanwhile.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Protocol

import sqlite_utils

from storage.db import to_db_time, transaction, write_failure, write_health

# Below this, the next webhook's transaction may well not fit: say so before it fails.
MIN_FREE_BYTES = 1024 * 1024


class _Databases(Protocol):
    path: str

    def get(self) -> sqlite_utils.Database: ...


def _disk(path: str) -> os.statvfs_result | None:
    if path == ":memory:":
        return None
    try:
        return os.statvfs(os.path.dirname(os.path.abspath(path)))
    except OSError:
        return None  # not ours to judge: the writes themselves will tell


def disk_problem(path: str) -> str | None:
    """Why the disk holding the database file at `path` cannot take writes, if it cannot."""
    disk = _disk(path)
    if disk is None:
        return None
    if disk.f_flag & os.ST_RDONLY:
        return "the file system holding the database is mounted read-only"
    free = disk.f_bavail * disk.f_frsize
    if free < MIN_FREE_BYTES:
        return f"the disk holding the database is full ({free // 1024} KiB free)"
    return None


def free_bytes(path: str) -> int | None:
    """Space left for us on the disk holding the database file (None when unknown)."""
    disk = _disk(path)
    return None if disk is None else disk.f_bavail * disk.f_frsize


def probe_write(databases: _Databases, now: datetime) -> str | None:
    """One small committed write; why it failed (None: it worked, and the file's write
    health is clear again). Errors that say nothing about the storage are raised."""
    db = databases.get()
    try:
        with transaction(db):
            db.execute(
                "INSERT INTO write_probe (id, at) VALUES (1, ?) "
                "ON CONFLICT (id) DO UPDATE SET at = excluded.at",
                [to_db_time(now)],
            )
    except Exception as error:
        failure = write_failure(error)
        if failure is None:
            raise
        if not failure.lasting:  # busy for a moment: that says nothing about the disk
            return write_health(databases.path).problem
        return failure.reason
    return None


def write_problem(databases: _Databases, now: datetime) -> str | None:
    """Why the database cannot be written now, or None when it can (as far as we know
    without writing; with one small write while this process's writes are failing)."""
    disk = disk_problem(databases.path)
    if disk is not None:
        return disk
    if write_health(databases.path).problem is None:
        return None
    return probe_write(databases, now)
