"""Backups and restores (docs/contract.md §12) with real processes: `run_bot.py backup`
while 8 clients post to a real `serve`, `run_bot.py restore` of that file, and `serve`
started again on it; restore refused while serve runs; the nightly backup's pruning and
its check; and bad input refused with nothing changed."""

from __future__ import annotations

import http.client
import json
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

from handlers.backups import NightlyBackup
from storage.backup import backups_in, integrity_problem, write_backup
from storage.connections import Databases
from tests.processes import (
    ROOT,
    clean_env,
    free_port,
    get_json,
    post_local,
    start_serve,
    stop,
    wait_until,
)
from tests.processes import write_config as serve_config

CLIENTS = 8


def run_bot(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "run_bot.py", *args],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def poster(
    port: int, number: int, acknowledged: list[tuple[float, str]], halt: threading.Event
) -> None:
    """A client posting messages until told to stop; (when answered, message id) of each
    message the server acknowledged."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    index = 0
    while not halt.is_set():
        message = f"b{number}-{index}"
        response = post_local(connection, message, message)
        if response.status == 202:
            acknowledged.append((time.monotonic(), message))
        index += 1


def stored_ids(database: Path) -> set[str]:
    with sqlite3.connect(database) as conn:
        rows = conn.execute(
            "SELECT provider_message_id FROM messages WHERE direction = 'in'"
        ).fetchall()
    return {row[0] for row in rows}


def test_a_backup_taken_under_load_restores_every_message_acknowledged_before_it(
    tmp_path: Path,
) -> None:
    port = free_port()
    config = serve_config(tmp_path, port)
    database = tmp_path / "iceta.db"
    base = f"http://127.0.0.1:{port}"
    serve = start_serve(config, tmp_path / "serve.log")
    try:
        wait_until(lambda: get_json(f"{base}/healthz"))
        acknowledged: list[tuple[float, str]] = []
        halt = threading.Event()
        clients = [
            threading.Thread(target=poster, args=(port, n, acknowledged, halt))
            for n in range(CLIENTS)
        ]
        for thread in clients:
            thread.start()
        wait_until(lambda: len(acknowledged) >= 200, timeout=30)
        began = time.monotonic()
        before = {message for at, message in acknowledged if at < began}
        made = run_bot("backup", "--config", str(config), str(tmp_path / "backups"))
        wait_until(lambda: len(acknowledged) >= len(before) + 50, timeout=30)  # still taking
        halt.set()
        for thread in clients:
            thread.join(timeout=20)
        assert made.returncode == 0, made.stderr
        backup = Path(made.stdout.strip().splitlines()[-1])
        assert backup.parent == tmp_path / "backups" and backup.name.startswith("iceta-")
        assert integrity_problem(backup) == ""

        refused = run_bot("restore", "--config", str(config), str(backup))
        assert refused.returncode == 2 and "serve is running" in refused.stderr
        assert stored_ids(database) >= before  # the refusal changed nothing
    finally:
        stop(serve)

    everything = stored_ids(database)
    restored = run_bot("restore", "--config", str(config), str(backup))
    assert restored.returncode == 0, restored.stderr
    assert "the database it replaced is kept as" in restored.stdout
    in_backup = stored_ids(database)
    assert before <= in_backup  # every message acknowledged before the backup began
    assert in_backup < everything  # and not the ones after: it is that moment's copy
    [kept] = [p for p in tmp_path.glob("iceta.db.before-restore-*") if p.name[-4:] != "-wal"]
    assert not kept.with_name(kept.name + "-wal").exists()  # folded in: serve had stopped
    assert stored_ids(kept) == everything

    again = start_serve(config, tmp_path / "serve.log")
    try:
        health = wait_until(lambda: get_json(f"{base}/healthz"))
        assert health["database"] is True
        # the restored service answers: a new message is stored beside the restored ones
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        body = json.dumps({"chat": "citizen:after", "text": "halo", "id": "after-restore"})
        connection.request("POST", "/local/messages", body, {"Content-Type": "application/json"})
        assert connection.getresponse().status == 202
    finally:
        stop(again)
    assert stored_ids(database) == in_backup | {"after-restore"}


def test_the_nightly_backup_checks_what_it_wrote_copies_media_and_keeps_the_newest(
    tmp_path: Path,
) -> None:
    database = tmp_path / "data" / "iceta.db"
    Databases(database)  # created by the real migrations
    media = database.parent / "media"
    media.mkdir()
    for name in ("photo-1.jpg", "photo-2.jpg"):
        (media / name).write_bytes(b"\xff\xd8 " + name.encode())
    with sqlite3.connect(database) as conn:
        for key, name in (("m1", "photo-1.jpg"), ("m2", "photo-2.jpg")):
            conn.execute(
                "INSERT INTO media (key, channel, status, path, created_at) "
                "VALUES (?, 'whatsapp', 'stored', ?, '2026-11-20T00:00:00+00:00')",
                [key, str(media / name)],
            )
    moments = iter(datetime(2026, 11, day, 19, 0, tzinfo=UTC) for day in range(20, 30))
    nightly = NightlyBackup(
        database, media, tmp_path / "backups", keep=3, clock=lambda: next(moments)
    )
    assert nightly.health()["last"] is None
    for _ in range(2):
        result = nightly.run()
        assert result is not None and result.ok, result
    # the retention job removes photo-2 (UU PDP): the backups let go of it once none
    # of those kept has it any more
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE media SET path = '' WHERE key = 'm2'")
    (media / "photo-2.jpg").unlink()
    copies = tmp_path / "backups" / "media"
    for night in range(3):
        result = nightly.run()
        assert result is not None and result.ok, result
        assert (copies / "photo-2.jpg").exists() == (night < 2), night  # until 2 nights go
    kept = backups_in(tmp_path / "backups")
    assert [p.name for p in kept] == [
        "iceta-20261122T190000000000Z.db",
        "iceta-20261123T190000000000Z.db",
        "iceta-20261124T190000000000Z.db",
    ]
    assert (copies / "photo-1.jpg").read_bytes() == b"\xff\xd8 photo-1.jpg"
    health = nightly.health()["last"]
    assert health["ok"] and health["integrity_check"] == "ok"
    assert health["file"] == "iceta-20261124T190000000000Z.db"

    # a database that cannot be read: the failure is recorded, nothing is pruned
    database.write_bytes(b"not a database at all")
    for leftover in ("-wal", "-shm"):
        database.with_name(database.name + leftover).unlink(missing_ok=True)
    failed = nightly.run()
    assert failed is not None and not failed.ok and failed.problem
    assert nightly.health()["last"]["ok"] is False
    assert backups_in(tmp_path / "backups") == kept


def test_restore_refuses_a_file_that_is_not_a_backup_and_changes_nothing(tmp_path: Path) -> None:
    config = serve_config(tmp_path, free_port())
    database = tmp_path / "iceta.db"
    Databases(database)
    before = database.read_bytes()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    for candidate in (garbage, tmp_path / "missing.db"):
        answer = run_bot("restore", "--config", str(config), str(candidate))
        assert answer.returncode == 1, answer
        assert "not a usable backup" in answer.stderr
    assert database.read_bytes() == before
    assert not list(tmp_path.glob("iceta.db.before-restore-*"))
    nothing = run_bot("restore", "--config", str(config))
    assert nothing.returncode == 2 and "FILE" in nothing.stderr


def test_a_backup_of_a_missing_database_fails_clearly(tmp_path: Path) -> None:
    config = yaml.safe_load(serve_config(tmp_path, free_port()).read_text(encoding="utf-8"))
    config["service"]["database"] = str(tmp_path / "nowhere" / "iceta.db")
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    answer = run_bot("backup", "--config", str(path), str(tmp_path / "b"))
    assert answer.returncode == 1 and "no database at" in answer.stderr
    assert not (tmp_path / "b").exists() or not list((tmp_path / "b").iterdir())


def test_a_backup_is_written_whole_or_not_at_all(tmp_path: Path) -> None:
    database = tmp_path / "iceta.db"
    Databases(database)
    written = write_backup(database, tmp_path / "media", tmp_path / "b", datetime.now(UTC))
    assert written.path.exists() and not list((tmp_path / "b").glob("*.partial"))
    with sqlite3.connect(written.path) as copy:
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file


def test_healthz_shows_the_last_nightly_backup(tmp_path: Path) -> None:
    from bot.config import parse_config
    from run_bot import build_service
    from tests.harness import TEST_CONFIG

    config = parse_config(
        {
            **TEST_CONFIG,
            "service": {**TEST_CONFIG["service"], "database": str(tmp_path / "iceta.db")},
            "backup": {"directory": str(tmp_path / "nightly"), "time": "02:30", "keep": 2},
        }
    )
    service = build_service(config, {}, tmp_path)
    client = service.app.test_client()
    assert client.get("/healthz").get_json()["backup"]["last"] is None
    job = service.scheduler.get_job("nightly-backup")
    assert job is not None and str(job.trigger) == "cron[hour='2', minute='30']"
    assert service.backups is not None and service.backups.run() is not None
    shown = client.get("/healthz").get_json()["backup"]
    assert shown["keep"] == 2 and shown["last"]["ok"] is True
    assert shown["last"]["file"] == backups_in(tmp_path / "nightly")[0].name
