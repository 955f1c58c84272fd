"""Crash safety (docs/contract.md §8): a real `serve` under load from concurrent clients,
killed with SIGKILL mid-load and restarted. Every message that was acknowledged
is stored and answered, none twice, and the outbox drains.

The replies go out on the local channel, whose "send" is the database write
itself, so "never twice" is exact here. (Over Telegram or Twilio a kill between
the provider accepting a message and us recording it can repeat that one
message after restart: delivery is at-least-once, never lost.)
"""

from __future__ import annotations

import http.client
import signal
import sqlite3
import threading
import time
from pathlib import Path

from tests.processes import (
    free_port,
    get_json,
    post_local,
    start_serve,
    stop,
    wait_until,
    write_config,
)

CLIENTS = 6
PER_CLIENT = 60


def client(
    port: int, number: int, acknowledged: list[str], attempted: list[str], halt: threading.Event
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    for index in range(PER_CLIENT):
        if halt.is_set():
            return
        citizen = f"c{number}-{index}"
        attempted.append(citizen)
        try:
            response = post_local(connection, citizen, f"msg-{citizen}")
        except (OSError, http.client.HTTPException):
            return  # the server died under us: this message was never acknowledged
        if response.status == 202:
            acknowledged.append(citizen)


def test_sigkill_under_load_loses_nothing_acknowledged_and_repeats_nothing(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, port)
    log = tmp_path / "serve.log"
    base = f"http://127.0.0.1:{port}"
    first = start_serve(config, log)
    wait_until(lambda: get_json(f"{base}/healthz"))

    acknowledged: list[str] = []
    attempted: list[str] = []
    halt = threading.Event()
    threads = [
        threading.Thread(target=client, args=(port, n, acknowledged, attempted, halt))
        for n in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < CLIENTS * PER_CLIENT // 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    first.send_signal(signal.SIGKILL)  # mid-load: clients are still sending
    first.wait(timeout=10)
    halt.set()
    for thread in threads:
        thread.join(timeout=10)
    assert acknowledged, "no message was acknowledged before the kill"
    assert len(acknowledged) < len(attempted) <= CLIENTS * PER_CLIENT, (
        "the kill did not land mid-load"
    )

    second = start_serve(config, log)
    try:
        wait_until(lambda: get_json(f"{base}/healthz"))
        wait_until(lambda: get_json(f"{base}/healthz")["outbox"]["backlog"] == 0, timeout=30)
        database = sqlite3.connect(tmp_path / "iceta.db")
        inbound = {
            row[0].removeprefix("citizen:"): row[1]
            for row in database.execute(
                "select chat_id, count(*) from messages where direction = 'in' "
                "and chat_id like 'citizen:%' group by chat_id"
            )
        }
        answers = {
            row[0].removeprefix("citizen:"): row[1]
            for row in database.execute(
                "select chat_id, count(*) from messages where direction = 'out' "
                "and chat_id like 'citizen:%' group by chat_id"
            )
        }
        pending = database.execute("select count(*) from outbox where status != 'sent'").fetchone()[
            0
        ]
        database.close()
        missing = [c for c in acknowledged if inbound.get(c) != 1]
        unanswered = [c for c in acknowledged if answers.get(c) != 1]
        assert missing == [], f"acknowledged but not stored: {missing[:5]}"
        assert unanswered == [], f"acknowledged but not answered exactly once: {unanswered[:5]}"
        assert all(count == 1 for count in answers.values()), "someone was answered twice"
        assert set(answers) <= set(inbound), "an answer without its message"
        assert pending == 0
        # and the transcript a person would read says the same
        sample = acknowledged[-1]
        said = get_json(f"{base}/local/messages?chat=citizen:{sample}")["messages"]
        assert [m["from"] for m in said] == ["person", "bot"]
        assert "Selamat datang di I-Ceta" in said[1]["text"]
    finally:
        stop(second)
