"""`run_bot.py serve` as a real process: it starts without tokens, says what is off,
answers /healthz, and a reply committed by a process that died is sent by the next."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    port = free_port()
    config = write_config(tmp_path, port)
    log_path = tmp_path / "serve.log"
    process = start_serve(config, log_path)
    try:
        yield process, f"http://127.0.0.1:{port}", log_path
    finally:
        stop(process)


def test_serve_without_tokens_starts_and_says_what_is_off(
    serve: tuple[subprocess.Popen[bytes], str, Path],
) -> None:
    process, base, log_path = serve
    health = wait_until(lambda: get_json(f"{base}/healthz"))
    assert health["status"] == "ok" and health["database"] is True
    assert health["channels"] == {
        "phone": True,
        "open311": True,
        "telegram": False,
        "whatsapp": False,
        "local": True,
    }
    log = log_path.read_text()
    assert "channel telegram: off (TELEGRAM_BOT_TOKEN is not set)" in log
    assert "channel whatsapp: off (TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN are not set)" in log
    assert f"try it: open {base}/try in a browser" in log
    assert process.poll() is None


def test_a_reply_committed_by_a_killed_process_is_sent_by_the_next(
    tmp_path: Path, serve: tuple[subprocess.Popen[bytes], str, Path]
) -> None:
    process, base, _ = serve
    wait_until(lambda: get_json(f"{base}/healthz"))
    stop(process)
    # A process that commits a complaint and the bot's reply, then dies before sending.
    script = textwrap.dedent(
        f"""
        import os, signal
        from bot.config import load_config
        from bot.model import LOCAL, Inbound
        from handlers.ingest import Ingest
        from storage.connections import Databases
        config = load_config({str(tmp_path / "config.yaml")!r})
        ingest = Ingest(Databases(config.service.database), config, LOCAL)
        ingest.receive(Inbound(LOCAL, "citizen:siti", "crash-1", text="halo", sender_name="Siti"))
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    died = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=clean_env(), timeout=60)
    assert died.returncode == -signal.SIGKILL
    port = int(base.rsplit(":", 1)[1])
    second = start_serve(write_config(tmp_path, port), tmp_path / "second.log")
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
        stop(second)


def test_serve_with_a_telegram_token_registers_the_webhook_and_answers_it(tmp_path: Path) -> None:
    from tests.fakes import telegram_api as tg
    from tests.fakes.telegram_api import FakeTelegramApi

    port = free_port()
    config = write_config(tmp_path, port)
    secret = "outside-secret-123456"
    with FakeTelegramApi() as api:
        env = clean_env() | api.environ(secret)
        log_path = tmp_path / "serve.log"
        process = start_serve(config, log_path, env)
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
            stop(process)
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
        env = clean_env() | twilio.environ()
        log_path = tmp_path / "serve.log"
        process = start_serve(config, log_path, env)
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
            stop(process)
        log_text = log_path.read_text()
        assert twilio.auth_token not in log_text
        assert "channel whatsapp: on" in log_text
