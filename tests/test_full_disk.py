"""A full disk (docs/contract.md §12): the database lives on a small tmpfs that a filler
file fills until SQLite cannot write. Then webhooks answer 503 with `Retry-After` and
store nothing, /healthz says `degraded` and why, delivery and the deadline scan wait.
When the filler goes, everything recovers by itself — no restart: the retried messages
are accepted, /healthz is ok, every acknowledged message is stored once and answered
once. (Mounting needs root; without it these tests are skipped.)

Also a read-only database (SQLite's `query_only`: the SQLITE_READONLY a read-only file
gives), which answers the same way.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import json
import logging
import os
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from bot.config import parse_config
from bot.model import LOCAL, Outbound
from handlers.deadlines import DeadlineJobs
from handlers.delivery import STORAGE_RETRY_SECONDS, CannotRecord, Sent
from handlers.telegram import SECRET_HEADER, RateLimits
from run_bot import Service as RunningService
from run_bot import build_service
from storage.db import open_database
from tests.fakes import telegram_api as tg
from tests.fakes.telegram_api import FakeTelegramApi
from tests.harness import PUPR_CHAT, TEST_CONFIG, Chat, Clock, Service
from tests.processes import clean_env, free_port, start_serve, stop, wait_until, write_config
from tests.test_conversation import file_road_complaint
from tests.test_metrics import local_app, parse, value

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SECRET = "full-disk-webhook-secret-123"
DISK_BYTES = 16 * 1024 * 1024
CITIZENS = [5551000 + n for n in range(60)]
WELCOME = "Selamat datang di I-Ceta"


class SmallDisk:
    """A tmpfs mounted at `path`, and a filler file that fills it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / "filler"

    def fill(self) -> None:
        """Grow the filler until not one more byte fits (again: whatever was freed
        meanwhile, e.g. by a WAL file cut back after a checkpoint, is taken too)."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            for size in (1 << 20, 1 << 16, 1 << 12, 1 << 9, 1):
                block = b"\0" * size
                while True:
                    try:
                        os.write(fd, block)
                    except OSError as error:
                        if error.errno != errno.ENOSPC:
                            raise
                        break
        finally:
            os.close(fd)
        assert self.free_bytes() == 0

    def free(self) -> None:
        self.filler.unlink()

    def free_bytes(self) -> int:
        stats = os.statvfs(self.path)
        return stats.f_bavail * stats.f_frsize


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(mount_point)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except FileNotFoundError:
        pytest.skip("no mount command: the full-disk tests need to mount a small tmpfs")
    if mounted.returncode != 0:
        pytest.skip(
            "mounting a small tmpfs is not permitted here (the full-disk tests need root): "
            + (mounted.stderr.strip() or f"exit {mounted.returncode}")
        )
    try:
        yield SmallDisk(mount_point)
    finally:
        unmounted = subprocess.run(["umount", str(mount_point)], capture_output=True, timeout=30)
        if unmounted.returncode != 0:  # a connection still open: let it go when it closes
            subprocess.run(["umount", "-l", str(mount_point)], check=False, timeout=30)


@pytest.fixture
def api() -> Iterator[FakeTelegramApi]:
    with FakeTelegramApi() as fake:
        yield fake


def readonly_rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows read by a connection of our own that never writes."""
    db = sqlite3.connect(path)
    try:
        return db.execute(sql, params).fetchall()
    finally:
        db.close()


def traces_of(path: Path, update: dict[str, Any]) -> dict[str, int]:
    """What the database holds of one Telegram update: every place a message leaves rows."""
    chat = str(update["message"]["chat"]["id"])
    counts = {
        "seen": "select count(*) from seen_inbound where channel = 'telegram' and provider_id = ?",
        "messages in": "select count(*) from messages where chat_id = ? and direction = 'in'",
        "conversations": "select count(*) from conversations where chat_id = ?",
        "outbox": "select count(*) from outbox where chat_id = ?",
    }
    key = {"seen": str(update["update_id"])}
    return {
        name: readonly_rows(path, sql, (key.get(name, chat),))[0][0] for name, sql in counts.items()
    }


def welcomes(api: FakeTelegramApi, citizen: int) -> list[str]:
    return [m["text"] for m in api.sent_to(citizen) if WELCOME in (m.get("text") or "")]


# --------------------------------------------------------------------------
# The real Flask app in this process (delivery run by hand)
# --------------------------------------------------------------------------


def telegram_service(disk: SmallDisk, api: FakeTelegramApi) -> RunningService:
    """What `serve` builds, Telegram (the stand-in) and the local channel on, its database
    on the small disk (created with the real migrations first)."""
    database = disk.path / "iceta.db"
    open_database(database).close()
    raw = copy.deepcopy(TEST_CONFIG)
    raw["service"]["public_url"] = "https://iceta.example.go.id"
    raw["service"]["database"] = str(database)
    raw["telegram"] = {"mode": "webhook"}
    limits = RateLimits(overall_per_second=1000, group_per_minute=1000, group_period_seconds=1)
    return build_service(
        parse_config(raw), api.environ(SECRET), disk.path, options={"telegram_limits": limits}
    )


def post_update(client: FlaskClient, update: dict[str, Any]) -> Any:
    return client.post("/webhooks/telegram", json=update, headers={SECRET_HEADER: SECRET})


def test_a_full_disk_refuses_webhooks_and_everything_recovers_when_space_returns(
    disk: SmallDisk, api: FakeTelegramApi
) -> None:
    service = telegram_service(disk, api)
    database = disk.path / "iceta.db"
    client = service.app.test_client()
    clock = Clock(datetime.now(UTC) + timedelta(hours=1))  # what the test queues is due
    service.delivery.clock = clock

    def deliver() -> None:
        with contextlib.suppress(CannotRecord):  # the disk is full: the rows wait
            service.delivery.drain()

    first = tg.private_text(CITIZENS[0], "/start")
    assert post_update(client, first).status_code == 200
    deliver()
    accepted = [first]
    refused: list[dict[str, Any]] = []

    for citizen in CITIZENS[1:]:
        disk.fill()
        update = tg.private_text(citizen, "/start")
        answer = post_update(client, update)
        if answer.status_code == 200:  # it still fitted (the write-ahead log had room)
            accepted.append(update)
            deliver()
            continue
        assert answer.status_code == 503, answer.get_data(as_text=True)
        assert answer.headers["Retry-After"] == "30"
        assert "try again later" in answer.json["error"]
        # rolled back whole: not seen, no message, no conversation, no reply queued
        assert traces_of(database, update) == dict.fromkeys(
            ("seen", "messages in", "conversations", "outbox"), 0
        )
        refused.append(update)
        if len(refused) == 3:
            break
    assert len(refused) == 3, "the database never failed to write on the full disk"

    local = client.post("/local/messages", json={"chat": "citizen:siti", "text": "halo"})
    assert local.status_code == 503 and local.headers["Retry-After"] == "30"
    assert readonly_rows(database, "select count(*) from messages where chat_id = 'citizen:siti'")[
        0
    ] == (0,)

    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json["status"] == "degraded" and health.json["writable"] is False
    assert "full" in health.json["reason"] and health.json["database"] is True
    samples = parse(client.get("/metrics").get_data(as_text=True))
    assert value(samples, "iceta_webhook_requests_total", channel="telegram", code="503") == 3
    assert value(samples, "iceta_webhook_requests_total", channel="local", code="503") == 1
    assert value(samples, "iceta_database_writable") == 0
    deliver()  # nothing can be recorded: nothing more goes out
    clock.advance(minutes=5)  # any lease taken meanwhile has run out
    deliver()

    disk.free()
    health = client.get("/healthz")  # no restart: its probe write finds the disk writable
    assert health.status_code == 200, health.json
    assert health.json["status"] == "ok" and health.json["reason"] is None
    for update in refused:  # Telegram sends each again
        assert post_update(client, update).status_code == 200
    assert (
        client.post("/local/messages", json={"chat": "citizen:siti", "text": "halo"}).status_code
        == 202
    )
    service.delivery.drain()

    for update in accepted + refused:
        citizen = update["message"]["chat"]["id"]
        assert len(welcomes(api, citizen)) == 1, api.dump()
        assert traces_of(database, update)["seen"] == 1
        assert traces_of(database, update)["messages in"] == 1
    assert service.delivery.unrecorded == []
    statuses = dict(readonly_rows(database, "select status, count(*) from outbox group by status"))
    assert set(statuses) == {"sent"}
    samples = parse(client.get("/metrics").get_data(as_text=True))
    assert value(samples, "iceta_database_writable") == 1
    assert value(samples, "iceta_deliveries_total", channel="telegram", result="sent") == len(
        accepted + refused
    )
    assert value(samples, "iceta_webhook_requests_total", channel="telegram", code="200") == len(
        accepted + refused
    ) + len(refused) - len(refused)
    service.databases.get().close()


def test_a_reply_sent_as_the_disk_fills_is_recorded_later_and_not_sent_twice(
    disk: SmallDisk, api: FakeTelegramApi
) -> None:
    service = telegram_service(disk, api)
    client = service.app.test_client()
    clock = Clock(datetime.now(UTC) + timedelta(hours=1))  # what the test queues is due
    service.delivery.clock = clock
    sender = service.delivery.senders["telegram"]
    send = sender.send

    def send_then_fill(outbound: Outbound, edit_message_id: str | None) -> Sent:
        sent = send(outbound, edit_message_id)
        disk.fill()  # between Telegram accepting the message and our recording it
        return sent

    sender.send = send_then_fill  # type: ignore[method-assign]
    assert post_update(client, tg.private_text(CITIZENS[0], "/start")).status_code == 200
    with pytest.raises(CannotRecord):
        service.delivery.drain()
    assert len(welcomes(api, CITIZENS[0])) == 1
    [(row_id, status)] = readonly_rows(disk.path / "iceta.db", "select id, status from outbox")
    assert status == "pending" and service.delivery.unrecorded == [row_id]

    clock.advance(minutes=5)  # its 30-second lease ran out long ago: still not sent again
    with pytest.raises(CannotRecord):
        service.delivery.drain()
    assert len(welcomes(api, CITIZENS[0])) == 1

    sender.send = send  # type: ignore[method-assign]
    disk.free()
    service.delivery.drain()
    assert len(welcomes(api, CITIZENS[0])) == 1
    assert readonly_rows(disk.path / "iceta.db", "select status from outbox") == [("sent",)]
    assert service.delivery.unrecorded == []
    samples = parse(client.get("/metrics").get_data(as_text=True))
    assert value(samples, "iceta_deliveries_total", channel="telegram", result="sent") == 1
    service.databases.get().close()


def test_the_deadline_scan_waits_for_space_and_reminds_once(
    disk: SmallDisk, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    service = Service.start(disk.path)
    file_road_complaint(Chat(service, "citizen:siti", name="Siti"))
    service.received(PUPR_CHAT)  # the card
    service.clock.advance(hours=13)  # 11 hours left: the 12-hour reminder is due
    jobs = DeadlineJobs(service.databases, service.config, LOCAL, clock=service.clock)

    disk.fill()
    assert jobs.scan() is None  # failed, and said why; nothing recorded, nothing queued
    assert jobs.scan() is None
    assert caplog.text.count("deadline scan postponed: the database cannot be written") == 1
    assert service.rows("select count(*) n from notices")[0]["n"] == 0

    disk.free()
    report = jobs.scan()
    assert report is not None and report.reminders == 1
    assert "deadline scan runs again" in caplog.text
    assert jobs.scan().reminders == 0  # type: ignore[union-attr]
    reminders = [m for m in service.received(PUPR_CHAT) if "Pengingat" in m["text"]]
    assert len(reminders) == 1
    service.databases.get().close()


def test_a_read_only_database_answers_503_until_it_can_be_written(tmp_path: Path) -> None:
    service = Service.start(tmp_path)
    client = local_app(service)
    db = service.databases.get()  # the connection this thread's requests use
    db.execute("PRAGMA query_only = ON")
    answer = client.post("/local/messages", json={"chat": "citizen:siti", "text": "halo"})
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "30"
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json["status"] == "degraded"
    assert "readonly" in health.json["reason"]
    assert service.rows("select count(*) n from messages")[0]["n"] == 0

    db.execute("PRAGMA query_only = OFF")
    assert client.get("/healthz").json["status"] == "ok"
    assert (
        client.post("/local/messages", json={"chat": "citizen:siti", "text": "halo"}).status_code
        == 202
    )
    assert WELCOME in service.received("citizen:siti")[0]["text"]


# --------------------------------------------------------------------------
# A real serve: its delivery loops, scheduler and checkpoints run meanwhile
# --------------------------------------------------------------------------


def http(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, Any, Any]:
    """(status, headers, JSON body) of one request, errors included."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url,
        data=data,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.headers, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read() or b"null")


@pytest.mark.parametrize("delivery_process", ["0", "1"], ids=["one-process", "delivery-process"])
def test_serve_rides_out_a_full_disk_without_a_restart(
    tmp_path: Path, disk: SmallDisk, api: FakeTelegramApi, delivery_process: str
) -> None:
    database = disk.path / "iceta.db"
    open_database(database).close()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    env = clean_env() | api.environ(SECRET) | {"ICETA_DELIVERY_PROCESS": delivery_process}
    process = start_serve(write_config(tmp_path, port, database=str(database)), log_path, env)
    webhook = f"{base}/webhooks/telegram"
    secret = {SECRET_HEADER: SECRET}
    try:
        wait_until(lambda: http("GET", f"{base}/healthz")[0] == 200)
        first = tg.private_text(CITIZENS[0], "/start")
        assert http("POST", webhook, first, secret)[0] == 200
        api.wait_for_sent(CITIZENS[0], timeout=15)
        accepted, refused = [first], []
        refusals = 0  # 503 answers to Telegram

        def telegram_posts(update: dict[str, Any]) -> bool:
            """Post on the full disk: True when stored (it still fitted), False when refused."""
            nonlocal refusals
            disk.fill()
            status, headers, body = http("POST", webhook, update, secret)
            if status == 200:
                return True
            assert status == 503 and headers["Retry-After"] == "30", body
            assert traces_of(database, update) == dict.fromkeys(
                ("seen", "messages in", "conversations", "outbox"), 0
            )
            refusals += 1
            return False

        for citizen in CITIZENS[1:]:
            update = tg.private_text(citizen, "/start")
            (accepted if telegram_posts(update) else refused).append(update)
            if len(refused) == 3:
                break
        assert len(refused) == 3, "the database never failed to write on the full disk"
        disk.fill()
        status, headers, _ = http(
            "POST", f"{base}/local/messages", {"chat": "citizen:siti", "text": "halo"}
        )
        assert status == 503 and headers["Retry-After"] == "30"
        status, _, health = http("GET", f"{base}/healthz")
        assert status == 503 and health["status"] == "degraded" and "full" in health["reason"]
        time.sleep(STORAGE_RETRY_SECONDS + 1)  # the delivery loops and checkpoints meet it too
        for update in list(refused):  # Telegram tries again meanwhile
            if telegram_posts(update):  # a checkpoint let the log start over: it fitted
                refused.remove(update)
                accepted.append(update)
        assert process.poll() is None
        status, _, health = http("GET", f"{base}/healthz")
        assert status == 503 and health["status"] == "degraded"

        disk.free()
        wait_until(lambda: http("GET", f"{base}/healthz")[2]["status"] == "ok", timeout=30)
        for update in refused:  # Telegram sends each again
            assert http("POST", webhook, update, secret)[0] == 200
        status, _, _ = http(
            "POST", f"{base}/local/messages", {"chat": "citizen:siti", "text": "halo"}
        )
        assert status == 202
        everyone = accepted + refused
        for update in everyone:
            api.wait_for_sent(update["message"]["chat"]["id"], timeout=30)
        wait_until(lambda: http("GET", f"{base}/healthz")[2]["outbox"]["backlog"] == 0, timeout=30)
        for update in everyone:
            assert len(welcomes(api, update["message"]["chat"]["id"])) == 1, api.dump()
            traces = traces_of(database, update)
            assert traces["seen"] == 1 and traces["messages in"] == 1
        with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:  # noqa: S310
            samples = parse(response.read().decode())
        requests = "iceta_webhook_requests_total"
        assert value(samples, requests, channel="telegram", code="503") == refusals
        assert value(samples, requests, channel="telegram", code="200") == len(everyone)
        sent = value(samples, "iceta_deliveries_total", channel="telegram", result="sent")
        assert sent == len(everyone) == len(api.calls_to("sendMessage"))
        assert process.poll() is None
    finally:
        stop(process)
    log = log_path.read_text()
    assert "cannot be written" in log and "can be written again" in log
    assert "Traceback" not in log, log


def test_a_backup_that_would_fill_the_disk_is_refused_before_writing(
    tmp_path: Path, disk: SmallDisk
) -> None:
    from storage.backup import BackupError, write_backup

    database = tmp_path / "iceta.db"
    open_database(database).close()  # a few hundred KB; a backup keeps 64 MB free beside it
    target = disk.path / "backups"
    with pytest.raises(BackupError, match="not enough free space"):
        write_backup(database, tmp_path / "media", target, datetime.now(UTC))
    assert list(target.iterdir()) == []  # nothing half-written
