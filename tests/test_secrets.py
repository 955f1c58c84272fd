"""Secrets (docs/contract.md §9): the bot token, the webhook secret and the Twilio auth token
never appear in logs or in anything the service answers — not even when the Bot
API and Twilio are unreachable and every error is being logged."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tests.fakes import telegram_api as tg
from tests.fakes import twilio_api as tw
from tests.processes import (
    clean_env,
    free_port,
    get_json,
    start_serve,
    stop,
    wait_until,
    write_config,
)

TOKEN = "987654321:AAH-secret-token-do-not-log-0123456789"
WEBHOOK_SECRET = "webhook-secret-do-not-log-42"
AUTH_TOKEN = "twilio-auth-token-do-not-log-99"
ACCOUNT = "AC" + "1" * 32


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_secrets_stay_out_of_logs_and_answers_even_when_everything_fails(tmp_path: Path) -> None:
    port, dead_port = free_port(), free_port()  # nothing listens on dead_port
    config = write_config(tmp_path, port)
    env = clean_env() | {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{dead_port}/bot",
        "TWILIO_ACCOUNT_SID": ACCOUNT,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_BASE_URL": f"http://127.0.0.1:{dead_port}",
    }
    log_path = tmp_path / "serve.log"
    process = start_serve(config, log_path, env)
    base = f"http://127.0.0.1:{port}"
    answers: list[bytes] = []
    try:
        health = wait_until(lambda: get_json(f"{base}/healthz"))
        answers.append(json.dumps(health).encode())
        update = json.dumps(tg.private_text(5550001, "Jalan di desa kami berlubang besar")).encode()
        for secret in (WEBHOOK_SECRET, "wrong"):
            status, body = post(
                f"{base}/webhooks/telegram",
                update,
                {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret},
            )
            answers.append(body)
        assert status == 403
        params = tw.inbound_params("whatsapp:+6281234567890", "halo", account_sid=ACCOUNT)
        signature = tw.sign("https://iceta.example.go.id/webhooks/whatsapp", params, AUTH_TOKEN)
        form = urllib.parse.urlencode(params).encode()
        for header in (signature, "forged"):
            status, body = post(
                f"{base}/webhooks/whatsapp",
                form,
                {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": header},
            )
            answers.append(body)
        assert status == 403
        # give the senders time to fail against the dead endpoints, and log it
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and "unreachable" not in log_path.read_text():
            time.sleep(0.2)
    finally:
        stop(process)
    log_text = log_path.read_text()
    assert "unreachable" in log_text, "the failures were not logged: the check would prove nothing"
    assert "registering the Telegram webhook failed" in log_text
    for secret in (TOKEN, WEBHOOK_SECRET, AUTH_TOKEN, TOKEN.split(":")[1]):
        assert secret not in log_text, "a secret reached the log"
        assert all(secret.encode() not in answer for answer in answers), (
            "a secret reached an answer"
        )


def test_a_password_in_the_replica_url_is_kept_out_of_the_logs() -> None:
    import io
    import logging

    from bot.config import parse_config
    from run_bot import RedactSecrets, redact_config_secrets
    from tests.harness import TEST_CONFIG

    written = io.StringIO()
    handler = logging.StreamHandler(written)
    handler.addFilter(RedactSecrets([]))
    logging.getLogger().addHandler(handler)
    try:
        url = "s3://iceta:s3cr%2Ft-Pa55@minio.example.go.id:9000/iceta"
        redact_config_secrets(parse_config({**TEST_CONFIG, "replication": {"url": url}}))
        logging.getLogger("iceta.test").warning("litestream: cannot reach %s (s3cr/t-Pa55)", url)
    finally:
        logging.getLogger().removeHandler(handler)
    line = written.getvalue()
    assert "s3cr" not in line and "Pa55" not in line
    assert "[redacted]" in line and "minio.example.go.id" in line
