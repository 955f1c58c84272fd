"""`run_bot.py check-deadlines --now` from outside, beside a running `serve` (docs/contract.md §7):
a complaint filed through the local channel, then single scans as separate
processes at chosen moments; what they send is read back from the running
service's local transcripts."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.processes import (
    ROOT,
    clean_env,
    free_port,
    get_json,
    start_serve,
    stop,
    wait_until,
    write_config,
)

WIB = ZoneInfo("Asia/Jakarta")


def post_json(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def check_deadlines(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "run_bot.py", "check-deadlines", "--config", str(config), *extra],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def bot_texts(base: str, chat: str) -> list[str]:
    messages = get_json(f"{base}/local/messages?chat={chat}")["messages"]
    return [m["text"] for m in messages if m["from"] == "bot"]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    # Real time: the reminder must not wait for office hours whenever the suite runs.
    config = write_config(tmp_path, port, sla={"remind_outside_hours": True})
    process = start_serve(config, tmp_path / "serve.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: get_json(f"{base}/healthz"))
        yield base, config
    finally:
        stop(process)


def test_check_deadlines_beside_a_running_serve(running: tuple[str, Path], tmp_path: Path) -> None:
    base, config = running
    for text in ("Jalan di Desa Lohbener berlubang besar, sudah dua bulan", "1", "0", "0", "1"):
        post_json(f"{base}/local/messages", {"chat": "citizen:siti", "name": "Siti", "text": text})
    acknowledgement = wait_until(
        lambda: [t for t in bot_texts(base, "citizen:siti") if "ICT-000001" in t]
    )
    assert "Diteruskan ke: Dinas PUPR" in acknowledgement[-1]
    with sqlite3.connect(tmp_path / "iceta.db") as db:
        [(deadline_text,)] = db.execute("select deadline_at from tickets").fetchall()
    deadline = datetime.fromisoformat(deadline_text)

    two_hours_before = (deadline - timedelta(hours=2)).astimezone(WIB)
    first = check_deadlines(config, "--now", two_hours_before.isoformat())
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == (
        f"scan as of {two_hours_before.isoformat(timespec='seconds')}: "
        "1 reminder, 0 overdue alerts, 0 auto-closed"
    )
    reminders = [t for t in bot_texts(base, "agency:pupr") if t.startswith("⏰")]
    assert len(reminders) == 1
    assert "• ICT-000001 — Jalan dan jembatan rusak — sisa 2 jam" in reminders[0]

    # Again, with the same moment written without an offset (service time zone): nothing new.
    naive = two_hours_before.replace(tzinfo=None).isoformat()
    again = check_deadlines(config, "--now", naive)
    assert again.returncode == 0, again.stderr
    assert "0 reminders, 0 overdue alerts" in again.stdout
    assert [t for t in bot_texts(base, "agency:pupr") if t.startswith("⏰")] == reminders

    late = check_deadlines(config, "--now", deadline.isoformat())
    assert late.returncode == 0, late.stderr
    assert "0 reminders, 1 overdue alert, 0 auto-closed" in late.stdout
    alerts = [t for t in bot_texts(base, "supervisors") if t.startswith("🚨")]
    assert len(alerts) == 1
    assert (
        "Dinas PUPR (1)\n• ICT-000001 — Jalan dan jembatan rusak — terlambat 0 menit" in alerts[0]
    )
    told = [t for t in bot_texts(base, "agency:pupr") if t.startswith("🚨")]
    assert len(told) == 1 and "Pimpinan sudah diberi tahu" in told[0]
    assert get_json(f"{base}/healthz")["outbox"]["backlog"] == 0


@pytest.mark.parametrize("value", ["kemarin", "2026-13-45T09:00", "27/11/2026"])
def test_a_bad_now_exits_2_with_one_line(tmp_path: Path, value: str) -> None:
    config = write_config(tmp_path, free_port())
    result = check_deadlines(config, "--now", value)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"--now: {value!r} is not an ISO 8601 time, e.g. 2026-11-27T09:00:00+07:00"
    )
    assert not (tmp_path / "iceta.db").exists()  # refused before touching anything
