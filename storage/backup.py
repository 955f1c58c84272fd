"""Backups of the database and its media files, and putting one back.

A backup is SQLite's online backup of the whole file in one read transaction: a
consistent snapshot taken while `serve` keeps writing (WAL readers do not block
writers). It is written under a temporary name, checked with `PRAGMA integrity_check`,
and only then renamed to `iceta-<UTC time>.db`, so a backup file that exists is whole.
Media files (citizens' photos and voice notes) never change once written: each backup
copies the ones its folder's `media/` does not have yet.

`serve` holds a shared lock on `<database>.lock` while it runs (its delivery process
inherits it); `restore` needs that lock exclusively, so it is refused while any `serve`
runs on the database.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

PREFIX = "iceta-"
SUFFIX = ".db"
MEDIA = "media"
STALE_PARTIAL_SECONDS = 6 * 3600  # a half-written backup older than this is no one's
ROOM_MARGIN_BYTES = 64 * 1024 * 1024  # left free on the disk after a backup


class BackupError(Exception):
    """A backup or restore that could not be done; the message says why."""


class ServeRunning(BackupError):
    """`restore` while a `serve` holds the database."""


@dataclass(frozen=True)
class Backup:
    """A backup written: its file, its size and how many media files it added."""

    path: Path
    size: int
    media_copied: int


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


@contextmanager
def held_by_serve(database: Path) -> Iterator[None]:
    """While `serve` runs: a shared lock that tells `restore` to keep off."""
    database.parent.mkdir(parents=True, exist_ok=True)
    handle = open(lock_path(database), "a+")  # noqa: SIM115 (held for the whole run)
    try:
        fcntl.flock(handle, fcntl.LOCK_SH)
        yield
    finally:
        handle.close()


def backup_name(now: datetime) -> str:
    return f"{PREFIX}{now.astimezone(UTC).strftime('%Y%m%dT%H%M%S%fZ')}{SUFFIX}"


def write_backup(database: Path, media_dir: Path, directory: Path, now: datetime) -> Backup:
    """A checked copy of `database` in `directory`, and the media files it lacks."""
    if not database.exists():
        raise BackupError(f"no database at {database}")
    directory.mkdir(parents=True, exist_ok=True)
    _check_room(database, directory)
    for stale in directory.glob(f"{PREFIX}*{SUFFIX}.partial"):  # a run cut short by a stop
        if stale.stat().st_mtime < time.time() - STALE_PARTIAL_SECONDS:
            stale.unlink(missing_ok=True)
    target = directory / backup_name(now)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        source = sqlite3.connect(_read_only(database), uri=True, timeout=30)
        try:
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)  # every page in one step: one consistent snapshot
                copy.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
            finally:
                copy.close()
        finally:
            source.close()
    except sqlite3.Error as error:
        partial.unlink(missing_ok=True)
        raise BackupError(f"{database} could not be copied: {error}") from None
    problem = integrity_problem(partial)
    if problem:
        partial.unlink(missing_ok=True)
        raise BackupError(f"the copy failed its integrity check: {problem}")
    with open(partial, "rb") as written:
        os.fsync(written.fileno())
    os.replace(partial, target)
    copied = copy_media(media_dir, directory / MEDIA)
    return Backup(target, target.stat().st_size, copied)


def _check_room(database: Path, directory: Path) -> None:
    """Refuse a backup that would fill the disk (often the database's own): it needs the
    database's size and its log's, and ROOM_MARGIN_BYTES left over."""
    wal = database.with_name(database.name + "-wal")
    needed = database.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    free = shutil.disk_usage(directory).free
    if free < needed + ROOM_MARGIN_BYTES:
        raise BackupError(
            f"not enough free space in {directory}: the backup needs about "
            f"{(needed + ROOM_MARGIN_BYTES) / 1e6:.0f} MB, {free / 1e6:.0f} MB are free"
        )


def prune_media(directory: Path) -> int:
    """Remove from `directory/media` the files that no backup left there refers to, so a
    photo the retention job removed leaves the backups with the last backup that had it
    (UU PDP); how many were removed. Nothing is removed when a backup cannot be read."""
    folder = directory / MEDIA
    if not folder.is_dir():
        return 0
    wanted: set[str] = set()
    for backup in backups_in(directory):
        try:
            conn = sqlite3.connect(_read_only(backup), uri=True)
            try:
                rows = conn.execute("SELECT path FROM media WHERE path != ''").fetchall()
            finally:
                conn.close()
        except sqlite3.Error:
            return 0
        wanted.update(Path(row[0]).name for row in rows)
    removed = 0
    for file in folder.iterdir():
        if file.is_file() and file.name not in wanted and not file.name.endswith(".partial"):
            file.unlink(missing_ok=True)
            removed += 1
    return removed


def integrity_problem(path: Path) -> str:
    """ "" when SQLite's integrity check passes on `path`; else what it found."""
    try:
        conn = sqlite3.connect(_read_only(path), uri=True)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
            conn.execute("SELECT count(*) FROM tickets").fetchone()  # ours, not any SQLite
        finally:
            conn.close()
    except sqlite3.Error as error:
        return str(error)
    found = [row[0] for row in rows]
    return "" if found == ["ok"] else "; ".join(found)[:500]


def _read_only(path: Path) -> str:
    return path.resolve().as_uri() + "?mode=ro"


def copy_media(source: Path, target: Path) -> int:
    """Copy the media files `target` does not have yet; how many were copied."""
    if not source.is_dir():
        return 0
    target.mkdir(parents=True, exist_ok=True)
    copied = 0
    for file in source.iterdir():
        if file.is_file() and not (target / file.name).exists():
            shutil.copy2(file, target / (file.name + ".partial"))
            os.replace(target / (file.name + ".partial"), target / file.name)
            copied += 1
    return copied


def backups_in(directory: Path) -> list[Path]:
    """The backups in `directory`, oldest first (their names sort by time)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())


def prune(directory: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` backups; the ones removed."""
    found = backups_in(directory)
    removed = found[: max(0, len(found) - keep)]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


@contextmanager
def restoring(database: Path) -> Iterator[None]:
    """Hold `database` for a restore: its lock, exclusively. ServeRunning while a `serve`
    (or its delivery process) holds it shared."""
    database.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path(database), "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ServeRunning(
                f"serve is running on {database}: stop it first, then restore"
            ) from None
        yield


@dataclass(frozen=True)
class Replaced:
    """What a restore set aside: the old file (None: there was none) and Litestream's
    local state of it (None: there was none)."""

    kept: Path | None
    litestream_state: Path | None


def put_in_place(staged: Path, database: Path, now: datetime) -> Replaced:
    """Move the restored file `staged` (whole, checked) in place of `database`, under
    `restoring`. The old file is kept as `<database>.before-restore-<UTC time>` with its
    WAL (when a checkpoint could not fold it in) and Litestream's local state beside it:
    they belong to the old file, not to the restored one."""
    _checkpointed(staged)  # one self-contained file, no sidecars, before it moves
    for leftover in ("-wal", "-shm"):
        staged.with_name(staged.name + leftover).unlink(missing_ok=True)
    with open(staged, "rb") as written:
        os.fsync(written.fileno())
    aside = database.with_name(
        f"{database.name}.before-restore-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    )
    kept = state = None
    if database.exists():
        kept = aside
        _checkpointed(database)
        os.replace(database, kept)
        wal = database.with_name(database.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            os.replace(wal, kept.with_name(kept.name + "-wal"))
    database.with_name(database.name + "-wal").unlink(missing_ok=True)  # folded, or no file
    old_state = litestream_state(database)  # also when the file itself was lost
    if old_state.exists():
        state = litestream_state(aside)
        os.replace(old_state, state)
    database.with_name(database.name + "-shm").unlink(missing_ok=True)
    os.replace(staged, database)
    return Replaced(kept, state)


def litestream_state(database: Path) -> Path:
    """Where Litestream keeps its local state of `database` (`.<name>-litestream`)."""
    return database.with_name(f".{database.name}-litestream")


def restore_backup(backup: Path, database: Path, media_dir: Path, now: datetime) -> Path:
    """Put `backup` in place of `database` (refused while `serve` holds it); the old
    file is kept beside it as `<database>.before-restore-<time>`, which is returned
    (or the database path itself when there was none)."""
    problem = integrity_problem(backup) if backup.is_file() else f"no file at {backup}"
    if problem:
        raise BackupError(f"{backup} is not a usable backup: {problem}")
    with restoring(database):
        staged = database.with_name(database.name + ".restoring")
        shutil.copy2(backup, staged)
        replaced = put_in_place(staged, database, now)
        copy_media(backup.parent / MEDIA, media_dir)
    return replaced.kept or database


def _checkpointed(database: Path) -> None:
    """Fold a file's WAL into it, so the file alone is whole (a damaged one stays as is)."""
    try:
        conn = sqlite3.connect(database)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
    except sqlite3.Error:
        pass  # a damaged old file is kept as it is
