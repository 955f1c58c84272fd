"""Outbox leases after a crash: a dead process's claims are taken back at start,
a live process's claims are left alone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.model import LOCAL, Outbound
from handlers.delivery import Delivery, Sent, owner_is_gone
from handlers.local import LocalSender
from storage.outbox import claim_due
from storage.repository import SqliteStore
from tests.harness import Service


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_dead_processs_leases_are_taken_back_a_live_ones_kept(tmp_path: Path) -> None:
    service = Service.start(tmp_path)
    db = service.databases.get()
    store = SqliteStore(db)
    for chat in ("citizen:a", "citizen:b"):
        store.queue(Outbound(LOCAL, chat, "halo"), service.clock())
    host = socket.gethostname()
    dead = f"{host}:{dead_pid()}:aaaa"
    alive = f"{host}:{os.getppid()}:bbbb"
    assert len(claim_due(db, service.clock(), limit=1, owner=dead)) == 1
    assert len(claim_due(db, service.clock(), limit=1, owner=alive)) == 1
    assert claim_due(db, service.clock(), owner="x") == []  # both leased
    assert service.delivery.take_back_dead_leases() == 1
    [again] = claim_due(db, service.clock(), owner=service.delivery.owner)
    assert again.outbound.chat_id == "citizen:a"


def test_who_counts_as_gone() -> None:
    me = f"{socket.gethostname()}:{os.getpid()}:mine"
    assert owner_is_gone(f"{socket.gethostname()}:{os.getpid()}:earlier-run", me)
    assert not owner_is_gone(me, me)
    assert not owner_is_gone(f"other-host:{dead_pid()}:x", me)
    assert owner_is_gone(f"{socket.gethostname()}:{dead_pid()}:x", me)
    assert not owner_is_gone("garbage", me)


class StuckTelegram:
    """A Bot API that does not answer (a group throttled for a minute, a network stall)."""

    channel = "telegram"

    def __init__(self) -> None:
        self.release = threading.Event()

    def send(self, outbound: Outbound, edit_message_id: str | None) -> Sent:
        self.release.wait(10)
        return Sent(["1"])


def test_a_stuck_channel_does_not_hold_up_the_others(tmp_path: Path) -> None:
    service = Service.start(tmp_path)
    stuck = StuckTelegram()
    delivery = Delivery(
        service.databases, service.config, {LOCAL: LocalSender(), "telegram": stuck}
    )
    store = SqliteStore(service.databases.get())
    now = datetime.now(UTC)
    store.queue(Outbound("telegram", "-1001000000001", "kartu"), now)
    store.queue(Outbound(LOCAL, "citizen:siti", "balasan"), now)
    delivery.start(idle_seconds=0.05)
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not service.rows(
            "select 1 from outbox where channel = 'local' and status = 'sent'"
        ):
            time.sleep(0.02)
        assert service.rows("select channel, status from outbox order by id") == [
            {"channel": "telegram", "status": "pending"},
            {"channel": "local", "status": "sent"},
        ]
    finally:
        stuck.release.set()
        delivery.stop()
    assert service.rows("select status from outbox where channel = 'telegram'") == [
        {"status": "sent"}
    ]
