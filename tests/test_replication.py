"""Replication with Litestream (docs/contract.md §12), with real processes: a loaded
`serve`, the real `litestream` binary and a `file://` replica.

The drill: load, stop the load and wait until the replica has the last transaction,
SIGKILL `serve` and Litestream, delete the database, `restore --from-replica`, start
again: every acknowledged message is there. Litestream replicates asynchronously
(about once a second), so what was acknowledged in the last second before a crash
that nothing waited out may not have reached the replica: the drill waits for the
replica first, as `lag_seconds` lets an operator see it.

In the drill `serve` runs litestream itself (`replication.url` set) and reports its lag
in /healthz and /metrics; the supervisor's own tests run it on its own.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bot.config import load_config
from handlers.replication import (
    LagTracker,
    ReplicaSupervisor,
    ReplicationError,
    litestream_binary,
    local_txid,
    restore_from_replica,
    shown_url,
)
from storage.backup import litestream_state
from tests.processes import (
    ROOT,
    clean_env,
    free_port,
    get_json,
    post_local,
    start_serve,
    stop,
    wait_until,
    write_config,
)

CLIENTS = 4
LOAD_SECONDS = 4.0


def with_replica(config: Path, url: str) -> Path:
    """A copy of `config` with `replication.url` set."""
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    settings["replication"] = {"url": url}
    replicated = config.with_name("replicated.yaml")
    replicated.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    return replicated


def run_restore(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "run_bot.py", "restore", "--from-replica", "--config", str(config)],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def client(port: int, number: int, acknowledged: list[str], halt: threading.Event) -> None:
    """Messages from new citizens until `halt`; the ones answered 202 are acknowledged."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    index = 0
    while not halt.is_set():
        citizen = f"c{number}-{index}"
        index += 1
        try:
            response = post_local(connection, citizen, f"msg-{citizen}")
        except (OSError, http.client.HTTPException):
            return
        if response.status == 202:
            acknowledged.append(citizen)


def replica_txid(url: str) -> int:
    """The newest transaction in the replica, read from the replica itself."""
    listed = subprocess.run(
        [str(litestream_binary()), "ltx", "-json", "-level", "all", url],
        capture_output=True,
        check=True,
        timeout=30,
    )
    return max((int(f["max_txid"], 16) for f in json.loads(listed.stdout)), default=0)


def after(moment: datetime) -> Callable[[dict[str, Any]], bool]:
    """Caught up, as found by a look taken after `moment`."""
    return lambda health: bool(
        health["caught_up"]
        and health["checked_at"]
        and datetime.fromisoformat(health["checked_at"]) > moment
    )


def test_the_drill_sigkill_delete_restore_start_keeps_every_acknowledged_message(
    tmp_path: Path,
) -> None:
    port = free_port()
    config = write_config(tmp_path, port)
    url = (tmp_path / "replica").as_uri()
    replicated = with_replica(config, url)  # serve supervises litestream itself
    database = tmp_path / "iceta.db"
    log = tmp_path / "serve.log"
    base = f"http://127.0.0.1:{port}"
    first = start_serve(replicated, log)
    try:
        wait_until(lambda: get_json(f"{base}/healthz")["replication"]["running"])

        acknowledged: list[str] = []
        halt = threading.Event()
        threads = [
            threading.Thread(target=client, args=(port, n, acknowledged, halt))
            for n in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        time.sleep(LOAD_SECONDS)
        halt.set()
        for thread in threads:
            thread.join(timeout=10)
        halted = datetime.now(UTC)
        assert len(acknowledged) > 50, "the load did not get going"

        # The replica catches up: a look after the load ended finds nothing missing, in
        # /healthz and /metrics alike.
        def replication() -> dict[str, Any]:
            return get_json(f"{base}/healthz")["replication"]

        health = wait_until(lambda: after(halted)(h := replication()) and h, timeout=20)
        assert health["running"] and health["lag_seconds"] == 0
        assert replica_txid(url) >= health["txid"] > 0
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as answer:  # noqa: S310
            scraped = {
                sample.name: sample.value
                for family in text_string_to_metric_families(answer.read().decode())
                for sample in family.samples
            }
        assert scraped["iceta_replication_up"] == 1.0
        assert scraped["iceta_replication_lag_seconds"] == 0.0

        refused = run_restore(replicated)  # while serve runs: refused, nothing touched
        assert refused.returncode == 2, refused.stderr
        assert "serve is running" in refused.stderr

        child = health["pid"]
        assert child is not None
        first.send_signal(signal.SIGKILL)
        os.kill(child, signal.SIGKILL)  # the machine is lost: both at once
        first.wait(timeout=10)
    finally:
        stop(first)

    for suffix in ("", "-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)

    restored = run_restore(replicated)
    assert restored.returncode == 0, restored.stderr
    assert f"to {database}" in restored.stdout and "integrity check ok" in restored.stdout
    assert not litestream_state(database).exists()  # the old file's Litestream state moved aside
    assert list(tmp_path.glob(".iceta.db.before-restore-*-litestream"))

    second = start_serve(replicated, log)  # replicating again from the restored state
    try:
        wait_until(lambda: get_json(f"{base}/healthz")["replication"]["running"])
        wait_until(lambda: get_json(f"{base}/healthz")["outbox"]["backlog"] == 0, timeout=30)
        db = sqlite3.connect(database)
        inbound = dict(
            db.execute(
                "select substr(chat_id, 9), count(*) from messages where direction = 'in' "
                "and chat_id like 'citizen:%' group by chat_id"
            ).fetchall()
        )
        answers = dict(
            db.execute(
                "select substr(chat_id, 9), count(*) from messages where direction = 'out' "
                "and chat_id like 'citizen:%' group by chat_id"
            ).fetchall()
        )
        db.close()
        missing = [c for c in acknowledged if inbound.get(c) != 1]
        unanswered = [c for c in acknowledged if answers.get(c) != 1]
        assert missing == [], f"{len(missing)} acknowledged but not restored: {missing[:5]}"
        assert unanswered == [], f"not answered exactly once: {unanswered[:5]}"
        said = get_json(f"{base}/local/messages?chat=citizen:{acknowledged[-1]}")["messages"]
        assert [m["from"] for m in said] == ["person", "bot"]
    finally:
        stop(second)


def test_restore_from_replica_needs_replication_url(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, free_port()))
    assert config.replication.url == ""
    assert restore_from_replica(config, tmp_path / "iceta.db") == 2


def test_restore_from_an_empty_replica_fails_and_leaves_the_database(tmp_path: Path) -> None:
    database = small_database(tmp_path, rows=3)
    config = with_replica(write_config(tmp_path, free_port()), (tmp_path / "none").as_uri())
    done = run_restore(config)
    assert done.returncode == 1
    assert "restore failed" in done.stderr
    assert count(database) == 3
    assert not list(tmp_path.glob("iceta.db.before-restore-*"))


# --------------------------------------------------------------------------
# The supervisor on its own database
# --------------------------------------------------------------------------


def small_database(tmp_path: Path, rows: int = 1) -> Path:
    database = tmp_path / "iceta.db"
    with sqlite3.connect(database) as db:
        db.execute("pragma journal_mode=wal")
        db.execute("create table if not exists tickets (n integer)")
        db.execute("create table if not exists messages (n integer)")
        db.executemany("insert into tickets values (?)", [(n,) for n in range(rows)])
    return database


def count(database: Path) -> int:
    with sqlite3.connect(database) as db:
        return db.execute("select count(*) from tickets").fetchone()[0]


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[ReplicaSupervisor]:
    supervisor = ReplicaSupervisor(small_database(tmp_path), (tmp_path / "replica").as_uri())
    supervisor.start()
    try:
        wait_until(lambda: supervisor.health()["caught_up"], timeout=20)
        yield supervisor
    finally:
        supervisor.stop()


def test_the_supervisor_restarts_litestream_killed_with_sigkill(
    tmp_path: Path, supervised: ReplicaSupervisor
) -> None:
    # (and while a Litestream replicates the file, restore keeps off it)
    settings = load_config(with_replica(write_config(tmp_path, free_port()), supervised.url))
    assert restore_from_replica(settings, supervised.database) == 2
    config = supervised.config_path
    assert config.stat().st_mode & 0o777 == 0o600
    assert yaml.safe_load(config.read_text())["dbs"] == [
        {"path": str(supervised.database), "replicas": [{"url": supervised.url}]}
    ]
    first = supervised.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    second = wait_until(lambda: supervised.pid not in (None, first) and supervised.pid, 10)
    health = supervised.health()
    assert health["running"] and health["restarts"] == 1
    assert "killed by SIGKILL" in health["last_error"]

    with sqlite3.connect(supervised.database) as db:  # and it replicates again
        db.execute("insert into tickets values (42)")
    written = datetime.now(UTC)
    wait_until(lambda: after(written)(supervised.health()), timeout=15)
    assert replica_txid(supervised.url) == supervised.health()["txid"]

    supervised.stop()  # SIGTERM, its last sync, gone
    assert supervised.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(second, 0)


def test_lag_grows_while_litestream_is_stuck_and_falls_back_after(
    supervised: ReplicaSupervisor,
) -> None:
    halt = threading.Event()

    def write() -> None:
        db = sqlite3.connect(supervised.database, isolation_level=None)
        while not halt.wait(0.1):
            db.execute("insert into tickets values (1)")
        db.close()

    writer = threading.Thread(target=write)
    writer.start()
    child = supervised.pid
    assert child is not None
    try:
        os.kill(child, signal.SIGSTOP)  # alive but not replicating: no restart either
        stuck = wait_until(lambda: (h := supervised.health())["lag_seconds"] >= 3 and h, 15)
        assert stuck["running"] and stuck["restarts"] == 0 and not stuck["caught_up"]
    finally:
        os.kill(child, signal.SIGCONT)
    wait_until(lambda: supervised.health()["lag_seconds"] < 2, timeout=15)  # writes go on
    halt.set()
    writer.join(timeout=10)
    halted = datetime.now(UTC)
    wait_until(lambda: after(halted)(supervised.health()), timeout=15)
    assert supervised.pid == child


OWNER = """
import sys, time
from pathlib import Path
from handlers.replication import ReplicaSupervisor
supervisor = ReplicaSupervisor(Path(sys.argv[1]), sys.argv[2])
supervisor.start()
while not supervisor.health()["caught_up"]:
    time.sleep(0.1)
print(supervisor.pid, flush=True)
time.sleep(600)
"""


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state in ("Z", "X")  # a zombie has stopped; only its parent may reap it


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_litestream_dies_with_a_sigkilled_owner_and_the_next_one_uploads_the_rest(
    tmp_path: Path,
) -> None:
    database = small_database(tmp_path, rows=1)
    url = (tmp_path / "replica").as_uri()
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(database), url],
        cwd=ROOT,
        env=clean_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None
        child = int(owner.stdout.readline())
        with sqlite3.connect(database) as db:  # committed, and at once the owner dies
            db.executemany("insert into tickets values (?)", [(n,) for n in range(500)])
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=10)
        wait_until(lambda: gone(child), timeout=40)  # SIGTERM from the kernel: no orphan
    finally:
        stop(owner)
    # Its last upload may have missed the last transaction; it had read it, though, and
    # the next Litestream on this file (serve started again) uploads it.
    assert local_txid(litestream_state(database)) >= 2
    again = ReplicaSupervisor(database, url)
    again.start()
    try:
        started = datetime.now(UTC)
        wait_until(lambda: after(started)(again.health()), timeout=20)
    finally:
        again.stop()
    copy = tmp_path / "copy.db"
    subprocess.run(
        [str(litestream_binary()), "restore", "-o", str(copy), url], check=True, timeout=60
    )
    assert count(copy) == 501


def test_a_new_empty_database_does_not_bury_the_replica(tmp_path: Path) -> None:
    url = (tmp_path / "replica").as_uri()
    old = ReplicaSupervisor(small_database(tmp_path, rows=5), url)
    old.start()
    try:
        wait_until(lambda: old.health()["caught_up"], timeout=20)
    finally:
        old.stop()
    fresh = tmp_path / "lost" / "iceta.db"  # the database was lost; serve made a new one
    fresh.parent.mkdir()
    small_database(fresh.parent, rows=0)
    with pytest.raises(ReplicationError, match="restore --from-replica"):
        ReplicaSupervisor(fresh, url).start()


def test_a_new_empty_database_is_not_replicated_to_a_replica_that_cannot_be_listed(
    tmp_path: Path,
) -> None:
    fresh = small_database(tmp_path, rows=0)  # as after a lost disk, or a first start
    unreadable = "file:///dev/null/replica"  # listing it fails, as an unreachable bucket
    with pytest.raises(ReplicationError, match="could not be listed"):
        ReplicaSupervisor(fresh, unreadable).start()


def test_lag_is_the_age_of_the_oldest_transaction_the_replica_lacks() -> None:
    tracker = LagTracker(now=100.0)
    assert tracker.lag(101.0) == 1.0  # nothing known yet: counted from the start
    tracker.observed(102.0, (1, 10, 1), txid=3, replicated=3)
    assert tracker.lag(103.0) == 0.0
    tracker.observed(104.0, (1, 20, 2), txid=4, replicated=3)
    tracker.observed(105.0, (1, 30, 3), txid=6, replicated=3)
    assert tracker.lag(106.0) == 2.0  # txid 4, first seen at 104
    tracker.observed(107.0, (1, 40, 4), txid=7, replicated=5)
    assert tracker.lag(107.5) == 2.5  # txid 6, seen at 105
    tracker.unobserved(108.0, (1, 40, 4))  # litestream gone, the WAL unchanged
    assert tracker.lag(108.0) == 3.0
    tracker.observed(109.0, (1, 40, 4), txid=7, replicated=7)
    tracker.unobserved(110.0, (1, 50, 5))  # gone, and the WAL moved on
    assert tracker.lag(112.0) == 2.0
    tracker.observed(113.0, (1, 60, 6), txid=8, replicated=7)  # back: the change is txid 8
    assert tracker.lag(113.0) == 3.0
    tracker.observed(114.0, (1, 60, 6), txid=8, replicated=8)
    assert tracker.lag(114.0) == 0.0


def test_the_local_position_is_read_from_the_l0_file_names(tmp_path: Path) -> None:
    assert local_txid(tmp_path) == 0
    level0 = tmp_path / "ltx" / "0"
    level0.mkdir(parents=True)
    for name in ("0000000000000001-0000000000000009.ltx", "000000000000000a-000000000000001f.ltx"):
        (level0 / name).write_bytes(b"")
    assert local_txid(tmp_path) == 0x1F


def test_a_password_in_the_replica_url_is_not_shown() -> None:
    assert shown_url("sftp://user:secret@host:22/iceta") == "sftp://user:***@host:22/iceta"
    assert shown_url("s3://bucket/iceta?endpoint=minio:9000") == (
        "s3://bucket/iceta?endpoint=minio:9000"
    )
