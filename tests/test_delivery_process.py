"""With ICETA_DELIVERY_PROCESS set and a provider channel on, `serve` sends replies
from a delivery process of its own.

It must never outlive serve (even a SIGKILLed serve), and if it dies, serve
delivers itself: a citizen is answered either way.
"""

from __future__ import annotations

import os
import re
import signal
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


@pytest.mark.parametrize("setting", [{}, {"ICETA_DELIVERY_PROCESS": "0"}])
def test_by_default_serve_is_one_process(
    tmp_path: Path, api: FakeTelegramApi, setting: dict[str, str]
) -> None:
    serve = Serve(tmp_path, api, setting)
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
