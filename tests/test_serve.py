"""`run_bot.py serve` as a real process: it starts without tokens, says what is off,
answers /healthz, and a reply committed by a process that died is sent by the next."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(tmp_path: Path, port: int) -> Path:
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    config["service"]["database"] = str(tmp_path / "iceta.db")
    config["service"]["port"] = port
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def wait_until(check: Any, timeout: float = 20.0) -> Any:
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


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    port = free_port()
    config = write_config(tmp_path, port)
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "run_bot.py", "serve", "--config", str(config)],
            cwd=ROOT,
            env=clean_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        yield process, base, log_path
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_serve_without_tokens_starts_and_says_what_is_off(
    serve: tuple[subprocess.Popen[str], str, Path],
) -> None:
    process, base, log_path = serve
    health = wait_until(lambda: get_json(f"{base}/healthz"))
    assert health["status"] == "ok" and health["database"] is True
    assert health["channels"] == {"telegram": False, "whatsapp": False, "local": True}
    log = log_path.read_text()
    assert "channel telegram: off (TELEGRAM_BOT_TOKEN is not set)" in log
    assert "channel whatsapp: off (TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN are not set)" in log
    assert f"try it: open {base}/try in a browser" in log
    assert process.poll() is None


def test_a_reply_committed_by_a_killed_process_is_sent_by_the_next(
    tmp_path: Path, serve: tuple[subprocess.Popen[str], str, Path]
) -> None:
    process, base, _ = serve
    wait_until(lambda: get_json(f"{base}/healthz"))
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=10)
    # A process that commits a complaint and the bot's reply, then dies before sending.
    script = textwrap.dedent(
        f"""
        import os, signal
        from bot.config import load_config
        from bot.model import LOCAL, Inbound
        from handlers.ingest import Databases, Ingest
        config = load_config({str(tmp_path / "config.yaml")!r})
        ingest = Ingest(Databases(config.service.database), config, LOCAL)
        ingest.receive(Inbound(LOCAL, "citizen:siti", "crash-1", text="halo", sender_name="Siti"))
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    died = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=clean_env(), timeout=60)
    assert died.returncode == -signal.SIGKILL
    port = int(base.rsplit(":", 1)[1])
    log_path = tmp_path / "second.log"
    with log_path.open("w") as log:
        second = subprocess.Popen(
            [sys.executable, "run_bot.py", "serve", "--config", str(write_config(tmp_path, port))],
            cwd=ROOT,
            env=clean_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        messages = wait_until(
            lambda: [
                m
                for m in get_json(f"{base}/local/messages?chat=citizen:siti")["messages"]
                if m["from"] == "bot"
            ]
        )
        assert "Selamat datang di I-Ceta" in messages[0]["text"]
        assert get_json(f"{base}/healthz")["outbox"]["backlog"] == 0
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=10)


def test_serve_with_a_telegram_token_registers_the_webhook_and_answers_it(tmp_path: Path) -> None:
    from tests.fakes import telegram_api as tg
    from tests.fakes.telegram_api import FakeTelegramApi

    port = free_port()
    config = write_config(tmp_path, port)
    secret = "outside-secret-123456"
    with FakeTelegramApi() as api:
        env = clean_env() | {
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_WEBHOOK_SECRET": secret,
            "TELEGRAM_API_BASE_URL": api.base_url,
        }
        log_path = tmp_path / "serve.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "run_bot.py", "serve", "--config", str(config)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            base = f"http://127.0.0.1:{port}"
            health = wait_until(lambda: get_json(f"{base}/healthz"))
            assert health["channels"]["telegram"] is True
            api.wait_for("setWebhook", timeout=10)
            assert api.webhook["url"] == "https://iceta.example.go.id/webhooks/telegram"
            update = tg.private_text(5550001, "/start")
            status, _ = api.deliver_webhook(
                update, url=f"{base}/webhooks/telegram", secret_token=secret
            )
            assert status == 200
            wrong, _ = api.deliver_webhook(
                update, url=f"{base}/webhooks/telegram", secret_token="nope"
            )
            assert wrong == 403
            sent = api.wait_for_sent(5550001, timeout=10)
            assert "Selamat datang di I-Ceta" in sent[0]["text"]
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=15)
        log_text = log_path.read_text()
        assert api.token not in log_text and secret not in log_text
        assert "channel telegram: on" in log_text


def test_serve_with_twilio_credentials_answers_signed_webhooks_from_outside(tmp_path: Path) -> None:
    from tests.fakes import twilio_api as tw
    from tests.fakes.twilio_api import FakeTwilioApi

    port = free_port()
    config = write_config(tmp_path, port)
    public_url = "https://iceta.example.go.id"
    with FakeTwilioApi() as twilio:
        env = clean_env() | {
            "TWILIO_ACCOUNT_SID": twilio.account_sid,
            "TWILIO_AUTH_TOKEN": twilio.auth_token,
            "TWILIO_API_BASE_URL": twilio.base_url,
        }
        log_path = tmp_path / "serve.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "run_bot.py", "serve", "--config", str(config)],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            base = f"http://127.0.0.1:{port}"
            health = wait_until(lambda: get_json(f"{base}/healthz"))
            assert health["channels"]["whatsapp"] is True
            params = twilio.inbound_params("whatsapp:+6281234567890", "halo")
            # Twilio signs the public address; the request reaches us through a proxy.
            signature = tw.sign(public_url + "/webhooks/whatsapp", params, twilio.auth_token)
            status, content_type, body = tw.post_signed(
                f"{base}/webhooks/whatsapp", params, signature=signature
            )
            assert status == 200 and content_type.startswith("text/xml")
            assert body.decode().endswith("<Response/>")
            assert tw.post_signed(f"{base}/webhooks/whatsapp", params, unsigned=True)[0] == 403
            message = twilio.wait_for_message("whatsapp:+6281234567890", timeout=10)
            assert "Selamat datang di I-Ceta" in message["body"]
            assert message["status_callback"] == public_url + "/webhooks/whatsapp/status"
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=15)
        log_text = log_path.read_text()
        assert twilio.auth_token not in log_text
        assert "channel whatsapp: on" in log_text
