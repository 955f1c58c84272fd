"""Real `run_bot.py` processes for tests: a free port, a temp config, start and stop."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(
    tmp_path: Path, port: int, *, sla: Mapping[str, Any] | None = None, **service: Any
) -> Path:
    """The shipped config.yaml with a database in `tmp_path`, the given port and
    any other `service:` (and `sla:`) keys overridden."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    config["service"]["database"] = str(tmp_path / "iceta.db")
    config["service"]["port"] = port
    config["service"].update(service)
    config["sla"].update(sla or {})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment without any channel credentials, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env | dict(extra or {})


def start_serve(
    config: Path, log_path: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """`python run_bot.py serve --config …`, its output appended to `log_path`."""
    with log_path.open("a") as log:
        return subprocess.Popen(
            [sys.executable, "run_bot.py", "serve", "--config", str(config)],
            cwd=ROOT,
            env=dict(env) if env is not None else clean_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """SIGTERM, as an operator would; SIGKILL if it does not go."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def wait_until(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """Poll `check` until it returns something truthy; its errors count as "not yet"."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as error:  # the server may still be starting
            last_error = error
        time.sleep(0.1)
    raise AssertionError(f"timed out; last error: {last_error}")


def post_local(
    connection: http.client.HTTPConnection, citizen: str, message_id: str, text: str = "halo"
) -> http.client.HTTPResponse:
    """One citizen's message through the local channel's API (`POST /local/messages`);
    the answer, its body read. Connection errors are the caller's to judge."""
    body = json.dumps({"chat": f"citizen:{citizen}", "text": text, "id": message_id})
    connection.request("POST", "/local/messages", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    return response
