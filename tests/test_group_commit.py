"""Messages arriving together are committed together, each still all-or-nothing."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlite_utils import Database

from storage.connections import Databases
from storage.db import BatchFailed, GroupCommit, transaction

THREADS = 8


@pytest.fixture
def databases(tmp_path: Path) -> Databases:
    databases = Databases(tmp_path / "iceta.db")
    db = databases.get()
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE)")
    return databases


def bodies(path: str) -> list[str]:
    """What another connection (another process, after a crash) would read."""
    other = sqlite3.connect(path)
    try:
        return sorted(row[0] for row in other.execute("SELECT body FROM notes").fetchall())
    finally:
        other.close()


def insert(body: str, fail: bool = False):  # noqa: ANN201 - a unit of work
    def work(db: Database) -> int:
        cursor = db.execute("INSERT INTO notes (body) VALUES (?)", [body])
        if fail:
            raise ValueError(f"no {body}")
        return int(cursor.lastrowid or 0)

    return work


def run_together(databases: Databases, commits: GroupCommit, works: list) -> list:  # noqa: ANN001
    """Each work from its own thread, all queued while a slow first unit holds the commit."""
    results: list = [None] * len(works)
    connected = threading.Barrier(len(works) + 1)
    go, gate = threading.Event(), threading.Event()

    def submit(index: int) -> None:
        databases.get()  # each thread's own connection, opened (and migrated) up front
        connected.wait()
        go.wait()
        try:
            results[index] = commits.run(works[index])
        except Exception as error:  # the caller's own exception, raised in its thread
            results[index] = error

    def slow(db: Database) -> str:
        gate.wait(10)
        return "first"

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(works))]
    for thread in threads:
        thread.start()
    connected.wait()
    leader = threading.Thread(target=lambda: results.append(commits.run(slow)))
    leader.start()
    while commits._leader is None:  # the slow unit leads; the others queue behind it
        time.sleep(0.001)
    go.set()
    while len(commits._queue) < len(works):
        time.sleep(0.001)
    gate.set()
    for thread in [leader, *threads]:
        thread.join(10)
    return results


def test_concurrent_units_share_one_commit_and_each_gets_its_own_result(
    databases: Databases,
) -> None:
    commits = GroupCommit(databases.get)
    works = [insert(f"pesan {i}") for i in range(THREADS)]
    results = run_together(databases, commits, works)

    assert results[-1] == "first"
    assert sorted(results[:-1]) == list(range(1, THREADS + 1))  # each its own row id
    assert bodies(databases.path) == sorted(f"pesan {i}" for i in range(THREADS))
    assert (commits.batches, commits.units) == (2, THREADS + 1)  # the slow one, then the rest


def test_a_failing_unit_is_rolled_back_alone_and_its_caller_gets_the_error(
    databases: Databases,
) -> None:
    commits = GroupCommit(databases.get)
    works = [insert("satu"), insert("dua", fail=True), insert("tiga")]
    results = run_together(databases, commits, works)

    assert isinstance(results[1], ValueError) and str(results[1]) == "no dua"
    assert bodies(databases.path) == ["satu", "tiga"]
    assert commits.batches == 2


def test_a_failed_commit_stores_nothing_and_every_caller_hears_of_it(
    databases: Databases,
) -> None:
    db = databases.get()
    db.execute("CREATE TABLE parents (id INTEGER PRIMARY KEY)")
    db.execute(
        "CREATE TABLE children (parent INTEGER REFERENCES parents (id) "
        "DEFERRABLE INITIALLY DEFERRED)"
    )

    def orphan(db: Database) -> None:  # only the COMMIT checks a deferred foreign key
        db.execute("INSERT INTO children (parent) VALUES (42)")

    commits = GroupCommit(databases.get)
    results = run_together(databases, commits, [insert("satu"), orphan, insert("tiga")])

    failures = results[:3]
    assert all(isinstance(failure, BatchFailed) for failure in failures)
    assert all(isinstance(failure.__cause__, sqlite3.IntegrityError) for failure in failures)
    assert len({id(failure) for failure in failures}) == 3  # one per caller's thread
    assert bodies(databases.path) == []
    assert db.execute("SELECT count(*) FROM children").fetchone()[0] == 0


def test_alone_a_unit_is_its_own_transaction(databases: Databases) -> None:
    commits = GroupCommit(databases.get)
    assert commits.run(insert("satu")) == 1
    with pytest.raises(ValueError, match="no dua"):
        commits.run(insert("dua", fail=True))
    assert bodies(databases.path) == ["satu"]
    assert not databases.get().conn.in_transaction


def test_inside_the_callers_own_transaction_a_unit_joins_it(databases: Databases) -> None:
    commits = GroupCommit(databases.get)
    db = databases.get()
    with transaction(db):
        commits.run(insert("satu"))
        with pytest.raises(ValueError):
            commits.run(insert("dua", fail=True))  # undone alone
        assert bodies(databases.path) == []  # not committed before the caller's COMMIT
    assert bodies(databases.path) == ["satu"]


def test_a_unit_whose_error_ends_the_transaction_takes_the_batch_with_it(
    databases: Databases,
) -> None:
    """Some errors (a full disk, an I/O error, RAISE(ROLLBACK)) end the whole
    transaction: the units after it must not commit on their own, and the units
    before it must not be reported stored."""
    db = databases.get()
    db.execute("CREATE TABLE refused (body TEXT)")
    db.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON refused "
        "BEGIN SELECT RAISE(ROLLBACK, 'disk is full'); END"
    )

    def rolls_everything_back(db: Database) -> None:
        db.execute("INSERT INTO refused VALUES ('x')")

    commits = GroupCommit(databases.get)
    works = [insert("satu"), rolls_everything_back, insert("tiga")]
    results = run_together(databases, commits, works)

    assert isinstance(results[1], sqlite3.IntegrityError)  # its own error
    assert isinstance(results[0], BatchFailed) and isinstance(results[2], BatchFailed)
    assert bodies(databases.path) == []
    assert commits.run(insert("tiga")) == 1  # alone, it goes through (the table was empty)
    assert bodies(databases.path) == ["tiga"]
