"""A graceful stop (docs/contract.md §12): SIGTERM to a loaded `serve` stops it taking
requests (503 with Retry-After, so providers send again), lets the ones in flight finish,
hands back the outbox rows it claimed, and exits 0 — and after a restart every
acknowledged message is stored and answered exactly once."""

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

CLIENTS = 8


def poster(
    port: int,
    number: int,
    acknowledged: list[str],
    refused: list[tuple[int, str]],
    halt: threading.Event,
) -> None:
    index = 0
    while not halt.is_set():
        citizen = f"g{number}-{index}"
        index += 1
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            response = post_local(connection, citizen, f"m-{citizen}")
            connection.close()
        except (OSError, http.client.HTTPException):
            time.sleep(0.05)  # stopped, or not yet started again
            continue
        if response.status == 202:
            acknowledged.append(citizen)
        else:
            refused.append((response.status, response.getheader("Retry-After") or ""))


def test_sigterm_under_load_finishes_what_is_inside_and_loses_nothing(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, port)
    log = tmp_path / "serve.log"
    base = f"http://127.0.0.1:{port}"
    first = start_serve(config, log)
    wait_until(lambda: get_json(f"{base}/healthz"))
    acknowledged: list[str] = []
    refused: list[tuple[int, str]] = []
    halt = threading.Event()
    clients = [
        threading.Thread(target=poster, args=(port, n, acknowledged, refused, halt))
        for n in range(CLIENTS)
    ]
    for thread in clients:
        thread.start()
    try:
        wait_until(lambda: len(acknowledged) >= 150, timeout=30)
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=30) == 0  # a clean exit, within systemd's stop timeout
        stopped = log.read_text()
        assert "SIGTERM: taking no new requests" in stopped
        assert "requests finished while stopping" in stopped
        assert " ERROR " not in stopped and "Traceback" not in stopped
        assert all(status == 503 and retry == "10" for status, retry in refused), refused[:3]
        second = start_serve(config, log)
        try:
            wait_until(lambda: get_json(f"{base}/healthz"))
            wait_until(lambda: len(acknowledged) >= 250, timeout=30)  # taking messages again
            halt.set()
            for thread in clients:
                thread.join(timeout=20)
            wait_until(lambda: get_json(f"{base}/healthz")["outbox"]["backlog"] == 0, timeout=30)
            with sqlite3.connect(tmp_path / "iceta.db") as database:
                inbound = dict(
                    database.execute(
                        "select chat_id, count(*) from messages where direction = 'in' "
                        "group by chat_id"
                    ).fetchall()
                )
                answers = dict(
                    database.execute(
                        "select chat_id, count(*) from messages where direction = 'out' "
                        "group by chat_id"
                    ).fetchall()
                )
            missing = [c for c in acknowledged if inbound.get(f"citizen:{c}") != 1]
            unanswered = [c for c in acknowledged if answers.get(f"citizen:{c}") != 1]
            assert missing == [] and unanswered == [], (missing[:5], unanswered[:5])
            assert all(count == 1 for count in answers.values()), "someone was answered twice"
        finally:
            stop(second)
    finally:
        halt.set()
        stop(first)


def test_while_stopping_new_requests_and_healthz_get_503_and_those_inside_finish() -> None:
    from werkzeug.test import Client
    from werkzeug.wrappers import Response

    from handlers.draining import Draining

    inside, release = threading.Event(), threading.Event()

    def slow_app(environ: dict, start_response: object) -> object:
        if environ["PATH_INFO"] == "/slow":
            inside.set()
            release.wait(10)
        return Response("done")(environ, start_response)

    draining = Draining(slow_app)
    answers: list[str] = []

    def call() -> None:
        response = Client(draining).get("/slow")
        answers.append(response.text)
        response.close()  # as a server does once the body is sent

    caller = threading.Thread(target=call)
    caller.start()
    assert inside.wait(5) and draining.inside == 1
    draining.stop_taking()
    refused = Client(draining).get("/webhooks/telegram")
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "10"
    health = Client(draining).get("/healthz")
    assert health.status_code == 503 and health.json["status"] == "stopping"
    assert not draining.wait_until_idle(0.2)  # the slow one is still inside
    release.set()
    assert draining.wait_until_idle(5)
    caller.join(5)
    assert answers == ["done"] and draining.finished_while_stopping == 1
