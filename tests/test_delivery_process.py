"""With a provider channel on, `serve` sends replies from a delivery process of its own,
by default (ICETA_DELIVERY_PROCESS=0 keeps everything in one process).

It must never outlive serve (even a SIGKILLed serve), and if it dies, serve
delivers itself: a citizen is answered either way.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import telegram_api as tg
from tests.fakes.telegram_api import FakeTelegramApi
from tests.processes import clean_env, free_port, get_json, start_serve, stop, wait_until
from tests.processes import write_config as write_serve_config

SECRET = "delivery-process-secret-123"


class Serve:
    def __init__(self, tmp_path: Path, api: FakeTelegramApi, extra_env: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "serve.log"
        self.api = api
        env = clean_env() | api.environ(SECRET)
        self.process = start_serve(
            write_serve_config(tmp_path, self.port), self.log, env | extra_env
        )
        wait_until(lambda: get_json(f"{self.base}/healthz"))

    def delivery_pid(self) -> int | None:
        found = re.search(r"replies are sent by the delivery process (\d+)", self.log.read_text())
        return int(found.group(1)) if found else None

    def citizen_writes(self, chat_id: int, text: str) -> str:
        """The citizen's message through the webhook; the first reply they receive."""
        update = tg.private_text(chat_id, text)
        status, _ = self.api.deliver_webhook(
            update, url=f"{self.base}/webhooks/telegram", secret_token=SECRET
        )
        assert status == 200
        return self.api.wait_for_sent(chat_id, timeout=15)[0]["text"]


@pytest.fixture
def api() -> Iterator[FakeTelegramApi]:
    with FakeTelegramApi() as fake:
        yield fake


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its parent) is gone for our purposes
    state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    return state != "Z"


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _parent_or_none(pid: int) -> int | None:
    try:
        return parent_of(pid)
    except OSError:  # ended meanwhile
        return None


def gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_replies_are_sent_by_a_child_process_that_stops_with_serve(
    tmp_path: Path, api: FakeTelegramApi
) -> None:
    serve = Serve(tmp_path, api, {"ICETA_DELIVERY_PROCESS": "1"})
    try:
        pid = serve.delivery_pid()
        assert pid is not None and pid != serve.process.pid
        assert parent_of(pid) == serve.process.pid
        assert "Selamat datang di I-Ceta" in serve.citizen_writes(5550001, "/start")
    finally:
        stop(serve.process)
    assert gone_within(pid, 5)
    log = serve.log.read_text()
    assert f"delivery process {pid} stopped" in log
    assert " ERROR " not in log


def test_a_sigkilled_serve_leaves_no_delivery_process_behind(
    tmp_path: Path, api: FakeTelegramApi
) -> None:
    serve = Serve(tmp_path, api, {"ICETA_DELIVERY_PROCESS": "1"})
    pid = serve.delivery_pid()
    assert pid is not None
    serve.process.send_signal(signal.SIGKILL)
    serve.process.wait(timeout=10)
    # Its parent is gone, so nothing reaps it: "gone" is exited (a zombie of init) or reaped.
    assert gone_within(pid, 10), "the delivery process outlived serve"


def test_when_the_delivery_process_dies_serve_delivers_itself(
    tmp_path: Path, api: FakeTelegramApi
) -> None:
    serve = Serve(tmp_path, api, {"ICETA_DELIVERY_PROCESS": "1"})
    try:
        pid = serve.delivery_pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: "this process delivers now" in serve.log.read_text(), timeout=10)
        assert "Selamat datang di I-Ceta" in serve.citizen_writes(5550002, "/start")
    finally:
        stop(serve.process)


def test_the_delivery_process_is_the_default(tmp_path: Path, api: FakeTelegramApi) -> None:
    serve = Serve(tmp_path, api, {})
    try:
        pid = serve.delivery_pid()
        assert pid is not None and parent_of(pid) == serve.process.pid
        assert "Selamat datang di I-Ceta" in serve.citizen_writes(5550004, "/start")
    finally:
        stop(serve.process)
    assert gone_within(pid, 5)


@pytest.mark.parametrize("setting", ["0", "false", "off"])
def test_iceta_delivery_process_0_keeps_serve_one_process(
    tmp_path: Path, api: FakeTelegramApi, setting: str
) -> None:
    serve = Serve(tmp_path, api, {"ICETA_DELIVERY_PROCESS": setting})
    try:
        assert serve.delivery_pid() is None
        assert "Selamat datang di I-Ceta" in serve.citizen_writes(5550003, "/start")
        children = [
            entry.name
            for entry in Path("/proc").iterdir()
            if entry.name.isdigit() and _parent_or_none(int(entry.name)) == serve.process.pid
        ]
        assert children == []
    finally:
        stop(serve.process)


CLIENTS = 6
PER_CLIENT = 25


def citizen_load(serve: Serve, number: int, acknowledged: list[int], halt: threading.Event) -> None:
    """One client's citizens, each writing /start once through the webhook."""
    for index in range(PER_CLIENT):
        if halt.is_set():
            return
        user = 6_000_000 + number * 1000 + index
        try:
            status, _ = serve.api.deliver_webhook(
                tg.private_text(user, "/start"),
                url=f"{serve.base}/webhooks/telegram",
                secret_token=SECRET,
                timeout=5,
            )
        except (OSError, http.client.HTTPException):
            return  # serve died under us (even mid-answer): never acknowledged
        if status == 200:
            acknowledged.append(user)


@pytest.mark.parametrize("victim", ["serve", "delivery process"])
def test_sigkill_of_either_process_under_load_leaves_no_acknowledged_message_unanswered(
    tmp_path: Path, api: FakeTelegramApi, victim: str
) -> None:
    serve = Serve(tmp_path, api, {})
    delivery = serve.delivery_pid()
    assert delivery is not None
    acknowledged: list[int] = []
    halt = threading.Event()
    clients = [
        threading.Thread(target=citizen_load, args=(serve, n, acknowledged, halt))
        for n in range(CLIENTS)
    ]
    for thread in clients:
        thread.start()
    wait_until(lambda: len(acknowledged) >= CLIENTS * PER_CLIENT // 3, timeout=30)
    survivor = serve
    if victim == "serve":
        serve.process.send_signal(signal.SIGKILL)  # mid-load
        serve.process.wait(timeout=10)
        halt.set()
        assert gone_within(delivery, 10)
        survivor = Serve(tmp_path, api, {})  # started again on the same file
    else:
        os.kill(delivery, signal.SIGKILL)
        wait_until(lambda: "this process delivers now" in serve.log.read_text(), timeout=10)
    try:
        for thread in clients:
            thread.join(timeout=60)
        unanswered = lambda: [u for u in acknowledged if not api.sent_to(u)]  # noqa: E731
        wait_until(lambda: not unanswered(), timeout=60)
        assert unanswered() == []
        replies = {user: len(api.sent_to(user)) for user in acknowledged}
        assert set(replies.values()) <= {1, 2}
        # At-least-once towards Telegram: a kill between Telegram taking a message and our
        # recording it repeats that one message (one sending loop: at most one).
        assert sum(1 for count in replies.values() if count > 1) <= 1
    finally:
        halt.set()
        stop(survivor.process)
