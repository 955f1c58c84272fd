"""Opening the SQLite database, transactions, and how times are stored.

Every datetime is stored as UTC text of one fixed width
(`2026-11-26T14:00:00.000000+00:00`), so comparing the text compares the time
and `ORDER BY` on a time column is chronological.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Generic, TypeVar, overload

from sqlite_utils import Database

MEMORY = ":memory:"
_log = logging.getLogger(__name__)
CACHE_KIB = 512

T = TypeVar("T")

# One lock per database file (per Database for ":memory:" and connections opened
# elsewhere): threads that share a connection take turns at transactions instead
# of writing into each other's, and threads of this process writing to one file
# through their own connections queue here and are woken the moment the writer
# commits. Left to SQLite, each would poll the write lock with the busy handler's
# growing sleeps (up to 100 ms a try): that was most of the webhook latency under
# load (see bench/load.py). Other processes still meet SQLite's busy timeout.
_locks: weakref.WeakKeyDictionary[Database, threading.RLock] = weakref.WeakKeyDictionary()
_file_locks: dict[str, threading.RLock] = {}
_locks_guard = threading.Lock()


@overload
def to_db_time(moment: datetime) -> str: ...
@overload
def to_db_time(moment: None) -> None: ...
def to_db_time(moment: datetime | None) -> str | None:
    """A timezone-aware datetime as fixed-width UTC text; None stays None."""
    if moment is None:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: storage needs timezone-aware times")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@overload
def from_db_time(text: str) -> datetime: ...
@overload
def from_db_time(text: None) -> None: ...
def from_db_time(text: str | None) -> datetime | None:
    """Stored time text back as an aware UTC datetime; None or '' gives None."""
    if not text:
        return None
    return datetime.fromisoformat(text).astimezone(UTC)


def open_database(path: str | Path) -> Database:
    """Connect (WAL, busy timeout, foreign keys) and apply pending migrations.

    `path` may be ":memory:". The parent folder of a file is created. The
    connection is in autocommit mode: writes outside `transaction()` commit
    one statement at a time, like sqlite-utils' own methods do.
    """
    if str(path) == MEMORY:
        target = MEMORY
    else:
        file = Path(path)
        file.parent.mkdir(parents=True, exist_ok=True)
        target = str(file)
    conn = sqlite3.connect(target, isolation_level=None, check_same_thread=False, timeout=10)
    try:
        conn.execute("PRAGMA journal_mode=WAL")  # an in-memory database stays "memory"
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        # 512 KiB of page cache per connection (SQLite's default is 2 MiB): serve keeps
        # one connection per thread, and the file's pages are in the OS's cache anyway.
        conn.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        db = Database(conn)
        if target != MEMORY:
            lock = _file_lock(target)
            health = write_health(target)
            with _locks_guard:
                _locks[db] = lock
                _healths[db] = health
        from storage.migrations import apply  # here: migrations imports this module

        apply(db)
    except BaseException:
        conn.close()
        raise
    return db


def _file_lock(path: str) -> threading.RLock:
    """The lock this process's writers to the file at `path` take turns at."""
    with _locks_guard:
        return _file_locks.setdefault(os.path.realpath(path), threading.RLock())


def _lock(db: Database) -> threading.RLock:
    with _locks_guard:
        lock = _locks.get(db)
        if lock is None:
            lock = _locks[db] = threading.RLock()
        return lock


@contextmanager
def transaction(db: Database) -> Iterator[Database]:
    """One write transaction: `BEGIN IMMEDIATE` … `COMMIT`, `ROLLBACK` on any exception.

    IMMEDIATE takes the write lock up front, so two processes never both read
    then fail to upgrade to a write (they wait up to the busy timeout instead).
    Nested use (same thread) becomes a savepoint of the outer transaction.
    Threads sharing one `Database` are serialised here, and so are threads
    writing to one file through their own `open_database` connections; still,
    prefer one connection per thread, since reads outside `transaction()` are not.

    A transaction that fails because the disk is full, read-only or failing is
    noted in the file's `WriteHealth` (what /healthz reports); one that commits a
    change clears it.
    """
    with _lock(db):
        if db.conn.in_transaction:
            with db.atomic():
                yield db
            return
        health = _healths.get(db)
        changes = db.conn.total_changes
        try:
            db.conn.execute("BEGIN IMMEDIATE")
        except BaseException as error:
            _note_failure(health, error)
            raise
        try:
            yield db
        except BaseException as error:
            # Some errors (e.g. SQLITE_FULL) already ended the transaction.
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            _note_failure(health, error)
            raise
        try:
            db.conn.execute("COMMIT")
        except BaseException as error:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            _note_failure(health, error)
            raise
        if health is not None and db.conn.total_changes != changes:
            health.succeeded()  # something was written: the disk takes writes again


def ping(db: Database) -> bool:
    """True when the database answers a trivial query."""
    try:
        row = db.execute("SELECT 1").fetchone()
    except sqlite3.Error:
        return False
    return row is not None and row[0] == 1


class _Unit(Generic[T]):
    """One caller's unit of work waiting for a group commit, and what came of it."""

    __slots__ = ("done", "error", "result", "work")

    def __init__(self, work: Callable[[Database], T]) -> None:
        self.work = work
        self.done = False
        self.result: T | None = None
        self.error: BaseException | None = None

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value] - set when done without error


class GroupCommit:
    """Commits the units of work of concurrent callers together: one SQLite
    transaction, each unit in its own savepoint.

    A unit is all-or-nothing (an exception rolls back its savepoint only and is
    raised in its caller), and `run` returns only after the COMMIT that made it
    durable, so a webhook still answers only for what is stored. The first
    caller to arrive leads: it takes every unit queued while the previous
    commit ran and commits them in one go; the others wait for their result.
    Under load that is one BEGIN/COMMIT (and one turn at the write lock, one
    write of each shared index page) for several messages instead of one each.
    """

    def __init__(self, database: Callable[[], Database]) -> None:
        self._database = database  # this thread's connection
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[_Unit[object]] = []
        self._leader: int | None = None
        self.batches = 0
        self.units = 0

    def run(self, work: Callable[[Database], T]) -> T:
        """Run `work(db)` in a savepoint of a shared transaction; its result after COMMIT."""
        me = threading.get_ident()
        if self._leader == me or self._database().conn.in_transaction:
            # Called from inside a transaction of this thread (work that submits work, or
            # a caller's own transaction): join it, or we would wait for ourselves.
            return _in_savepoint(self._database(), work)
        unit: _Unit[T] = _Unit(work)
        with self._cond:
            self._queue.append(unit)  # type: ignore[arg-type] - results are per unit
            while self._leader is not None and not unit.done:
                self._cond.wait()
            if unit.done:
                return unit.outcome()
            self._leader = me
            batch, self._queue = self._queue, []
        try:
            self._commit(batch)
        finally:
            with self._cond:
                self._leader = None
                for waiting in batch:
                    waiting.done = True
                self._cond.notify_all()
        return unit.outcome()

    def _commit(self, batch: list[_Unit[object]]) -> None:
        try:
            db = self._database()
            with transaction(db):
                if len(batch) == 1:  # alone: its transaction is its savepoint
                    [unit] = batch
                    try:
                        unit.result = unit.work(db)
                    except Exception as error:
                        unit.error = error
                        raise _UnitFailed from error  # roll the transaction back
                else:
                    for unit in batch:
                        try:
                            unit.result = _in_savepoint(db, unit.work)
                        except Exception as error:  # this unit only: the others go on ...
                            unit.error = error
                            if not db.conn.in_transaction:
                                # ... unless its error ended the whole transaction (a full
                                # disk, an I/O error): what the others did is gone too
                                raise _UnitFailed from error
        except _UnitFailed as failed:  # what ended the transaction is why the rest failed
            self._fail_the_rest(batch, failed.__cause__)
        except BaseException as error:  # BEGIN or COMMIT failed: nobody is stored
            self._fail_the_rest(batch, error)
            if not isinstance(error, Exception):
                raise
        self.batches += 1
        self.units += len(batch)

    @staticmethod
    def _fail_the_rest(batch: list[_Unit[object]], cause: BaseException | None) -> None:
        """Every unit without an error of its own was not stored: tell each caller so."""
        for unit in batch:
            if unit.error is None:
                failed = BatchFailed("the shared transaction was not committed")
                failed.__cause__ = cause
                unit.result, unit.error = None, failed


class BatchFailed(Exception):
    """The transaction a unit shared with others did not commit (another unit's error
    ended it, or COMMIT itself failed): this unit was not stored, through no fault
    of its own. Running it again, alone, may well succeed."""


class _UnitFailed(Exception):
    """A unit's own error that must roll the whole transaction back."""


def _in_savepoint(db: Database, work: Callable[[Database], T]) -> T:
    """`work(db)` inside the open transaction, undone alone if it raises."""
    db.conn.execute("SAVEPOINT unit")
    try:
        result = work(db)
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK TO unit")
            db.conn.execute("RELEASE unit")
        raise
    db.conn.execute("RELEASE unit")
    return result


class Checkpoints:
    """Copies the write-ahead log back into the database file from a thread of its own.

    SQLite otherwise checkpoints inside whichever COMMIT crosses 1,000 WAL pages:
    that writer copies the pages and syncs the file while holding the write lock,
    and every webhook queued behind it waits. Here a PASSIVE checkpoint copies
    them every `interval` seconds while writers go on. Under steady writes a
    passive checkpoint never finds the log fully copied at a transaction's start,
    so the log would grow without end: once it holds `restart_pages`, a RESTART
    checkpoint runs while this process's writers wait at the file's lock (the
    pages are mostly copied already: it syncs and lets the next writer start the
    log over).
    """

    def __init__(self, path: str, interval: float = 0.25, restart_pages: int = 4000) -> None:
        self.path = path
        self.interval = interval
        self.restart_pages = restart_pages
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0
        self.restarts = 0
        self._restarted_at = -1

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="wal-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop, and copy what is left (with nothing else writing, a quick one)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        with contextlib.suppress(sqlite3.Error):
            self.run_once()

    def run_once(self) -> tuple[int, int, int]:
        """One checkpoint: (1 if it could not finish, WAL pages, pages copied)."""
        conn = sqlite3.connect(self.path, timeout=5, isolation_level=None)
        try:
            conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
            row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            # (Until the next write, a log just started over still reports its old size.)
            if row[1] >= self.restart_pages and row[1] != self._restarted_at:
                # This process's writers wait at the lock meanwhile: give readers still in
                # the log at most RESTART_WAIT_MS, else leave it for the next run.
                conn.execute(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
                with _file_lock(self.path):
                    row = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
                self.restarts += 1
                if row[0] == 0:
                    self._restarted_at = row[1]
        finally:
            conn.close()
        self.runs += 1
        return int(row[0]), int(row[1]), int(row[2])

    def _loop(self) -> None:
        failing = False  # said once, not four times a second while the disk is full
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except sqlite3.Error as error:  # locked for a moment: the next run catches up
                if not failing:
                    _log.warning("WAL checkpoint failed: %s", error)
                failure = write_failure(error)
                failing = failure is not None and failure.lasting
                continue
            except Exception:  # never end the thread: commits no longer checkpoint
                _log.exception("WAL checkpoint failed")
                continue
            if failing:
                _log.info("WAL checkpoints work again")
                failing = False


WAL_SIZE_LIMIT = 64 * 1024 * 1024
RESTART_WAIT_MS = 200


def background_checkpoints(db: Database) -> None:
    """This connection's commits no longer checkpoint (a `Checkpoints` thread does)."""
    db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")


# --------------------------------------------------------------------------
# When the database cannot be written (docs/contract.md §12)
# --------------------------------------------------------------------------

# SQLite's primary result codes (the low byte of an extended one, e.g. SQLITE_IOERR_WRITE)
_BUSY, _LOCKED, _READONLY, _IOERR, _FULL, _CANTOPEN = 5, 6, 8, 10, 13, 14
_DISK_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EIO}


@dataclass(frozen=True)
class WriteFailure:
    """Why a write did not happen, when the storage is to blame and not the caller."""

    reason: str  # e.g. "database or disk is full (SQLITE_FULL)"
    lasting: bool  # the disk (full, read-only, failing) until someone acts; else a busy lock


def write_failure(error: BaseException | None) -> WriteFailure | None:
    """What `error`, or an error it was raised from (`__cause__`), says about the storage:
    a full, read-only or failing disk (lasting), a lock held too long (not lasting), or
    nothing (None: a bug, bad input)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, sqlite3.Error):
            code = getattr(error, "sqlite_errorcode", None)
            if code is not None:
                name = getattr(error, "sqlite_errorname", "") or ""
                reason = f"{error} ({name})" if name else str(error)
                if code & 0xFF in (_FULL, _READONLY, _IOERR, _CANTOPEN):
                    return WriteFailure(reason, lasting=True)
                if code & 0xFF in (_BUSY, _LOCKED):
                    return WriteFailure(reason, lasting=False)
        elif isinstance(error, OSError) and error.errno in _DISK_ERRNOS:
            name = errno.errorcode.get(error.errno or 0, "")
            return WriteFailure(f"{error.strerror} ({name})", lasting=True)
        error = error.__cause__
    return None


class WriteHealth:
    """Whether this process's writes to one database file are failing, and why.

    Set by any transaction that fails for a lasting storage reason (a webhook's, a
    delivery's, the deadline scan's), cleared by the next one that commits a change
    (or by /healthz's probe write) once the disk has room again (a small write may
    fit while it is still full). Logged once each way, not at every failure.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.problem: str | None = None
        self.since: float | None = None  # time.time() of the first failure

    def failed(self, reason: str) -> None:
        with self._lock:
            first = self.problem is None
            self.problem = reason
            if first:
                self.since = time.time()
        if first:
            _log.error(
                "the database %s cannot be written: %s; what cannot be stored is answered 503",
                self.path,
                reason,
            )

    def succeeded(self) -> None:
        if self.problem is None:
            return
        from storage.health import disk_problem  # here: health imports this module

        if disk_problem(self.path) is not None:
            return  # a small write fitted, but the disk is still full: not over yet
        with self._lock:
            if self.problem is None:
                return
            since, self.problem, self.since = self.since, None, None
        _log.warning(
            "the database %s can be written again (after %.0f s)",
            self.path,
            time.time() - (since or time.time()),
        )


_healths: weakref.WeakKeyDictionary[Database, WriteHealth] = weakref.WeakKeyDictionary()
_file_healths: dict[str, WriteHealth] = {}


def write_health(path: str | Path) -> WriteHealth:
    """The write health of the database file at `path`, shared by all its connections
    in this process."""
    real = os.path.realpath(str(path))
    with _locks_guard:
        health = _file_healths.get(real)
        if health is None:
            health = _file_healths[real] = WriteHealth(str(path))
        return health


def _note_failure(health: WriteHealth | None, error: BaseException) -> None:
    failure = write_failure(error)
    if health is not None and failure is not None and failure.lasting:
        health.failed(failure.reason)
