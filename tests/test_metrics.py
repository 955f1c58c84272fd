"""`GET /metrics` (docs/contract.md §12) through the real Flask app, read back with
prometheus-client's own parser: the numbers a person would check against what the
webhooks were sent, what /healthz says, the tickets stored and what the Telegram
stand-in received — also from a real `serve` whose replies go out from its delivery
process."""

from __future__ import annotations

import copy
import re
import sqlite3
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from bot.config import parse_config
from bot.model import OPEN_STATUSES
from handlers.web import create_app
from run_bot import build_service, decide_channels
from storage.db import from_db_time
from tests.fakes import telegram_api as tg
from tests.fakes.telegram_api import FakeTelegramApi
from tests.harness import PUPR_CHAT, TEST_CONFIG, Chat, Clock, Service
from tests.processes import clean_env, free_port, get_json, start_serve, stop, wait_until
from tests.processes import write_config as write_serve_config
from tests.test_conversation import file_road_complaint
from tests.test_telegram import SECRET, start_world

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

TOKEN = "metrics-token-0123456789abcdef"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client: FlaskClient, **request: Any) -> Samples:
    response = client.get("/metrics", **request)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/plain")
    return parse(response.get_data(as_text=True))


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def labelled(samples: Samples, name: str, label: str) -> dict[str, float]:
    """{label value: sample value} of one metric with one label."""
    return {dict(key[1])[label]: v for key, v in samples.items() if key[0] == name}


@pytest.fixture
def api() -> Iterator[FakeTelegramApi]:
    with FakeTelegramApi() as fake:
        yield fake


@pytest.fixture
def service(tmp_path: Path) -> Service:
    return Service.start(tmp_path)


def local_app(service: Service, token: str | None = None) -> FlaskClient:
    """The app `serve` builds with only the local channel on, on the harness's clock."""
    app = create_app(
        service.config,
        service.databases,
        service.ingest,
        decide_channels(service.config, {}),
        clock=service.clock,
        metrics_token=token,
    )
    return app.test_client()


# --------------------------------------------------------------------------
# Webhooks and deliveries
# --------------------------------------------------------------------------


def test_webhook_requests_are_counted_by_channel_and_status(
    tmp_path: Path, api: FakeTelegramApi
) -> None:
    world = start_world(tmp_path, api)
    for n in range(5):
        assert world.citizen("/start", user=5550100 + n) == 200
    assert world.post(tg.private_text(5550200, "/start"), secret="wrong") == 403
    assert world.post(tg.private_text(5550201, "/start"), secret=None) == 403
    local = world.client.post("/local/messages", json={"chat": "citizen:siti", "text": "halo"})
    assert local.status_code == 202
    assert world.client.get("/webhooks/telegram").status_code == 405  # no route matched
    assert world.client.post("/webhooks/nowhere", json={}).status_code == 404
    world.client.get("/healthz")

    samples = scrape(world.client)
    requests = "iceta_webhook_requests_total"
    assert value(samples, requests, channel="telegram", code="200") == 5
    assert value(samples, requests, channel="telegram", code="403") == 2
    assert value(samples, requests, channel="local", code="202") == 1
    # only the intake routes that matched are counted: no label from a path anyone may send
    assert {key[1] for key in samples if key[0] == requests} == {
        (("channel", "telegram"), ("code", "200")),
        (("channel", "telegram"), ("code", "403")),
        (("channel", "local"), ("code", "202")),
    }
    assert value(samples, "iceta_webhook_seconds_count", channel="telegram") == 7
    assert value(samples, "iceta_webhook_seconds_count", channel="local") == 1
    assert value(samples, "iceta_webhook_seconds_bucket", channel="telegram", le="+Inf") == 7
    assert 0 < value(samples, "iceta_webhook_seconds_sum", channel="telegram") < 10  # type: ignore[operator]

    # the five welcomes went out, each once, and the counter says so
    assert len(api.calls_to("sendMessage")) == 5
    assert value(samples, "iceta_deliveries_total", channel="telegram", result="sent") == 5


def test_deliveries_count_what_became_of_each_attempt(tmp_path: Path, api: FakeTelegramApi) -> None:
    world = start_world(tmp_path, api)
    clock = Clock(datetime.now(world.service.clock().tzinfo))
    world.service.delivery.clock = clock
    api.fail_next("sendMessage", chat_id=5550301, error="server_error", times=2)
    api.fail_next("sendMessage", chat_id=5550302, error="forbidden")
    for user in (5550300, 5550301, 5550302):
        assert world.citizen("/start", user=user) == 200
    for _ in range(3):  # past each retry's backoff
        clock.advance(minutes=1)
        world.service.delivery.drain()

    samples = scrape(world.client)
    deliveries = {
        result: value(samples, "iceta_deliveries_total", channel="telegram", result=result)
        for result in ("sent", "retry", "held", "failed")
    }
    assert deliveries == {"sent": 2, "retry": 2, "held": 0, "failed": 1}
    assert len(api.sent_to(5550300)) == len(api.sent_to(5550301)) == 1
    assert api.sent_to(5550302) == []
    stored = {
        row["status"]: row["n"]
        for row in world.rows("select status, count(*) n from outbox group by status")
    }
    assert stored == {"sent": 2, "failed": 1}
    # every channel that is on has its series, at 0 when nothing happened there
    assert value(samples, "iceta_deliveries_total", channel="local", result="sent") == 0


# --------------------------------------------------------------------------
# What is read from SQLite at each scrape
# --------------------------------------------------------------------------


def test_the_outbox_figures_agree_with_healthz(service: Service) -> None:
    client = local_app(service)
    for name in ("siti", "budi", "wati"):
        assert client.post("/local/messages", json={"chat": f"citizen:{name}", "text": "halo"})
    service.clock.advance(seconds=30)
    assert client.post("/local/messages", json={"chat": "citizen:joko", "text": "halo"})
    service.clock.advance(seconds=12.5)

    health = client.get("/healthz").json
    samples = scrape(client)
    backlog = labelled(samples, "iceta_outbox_backlog", "channel")
    oldest = labelled(samples, "iceta_outbox_oldest_seconds", "channel")
    assert health["outbox"]["backlog"] == 4 == sum(backlog.values())
    assert backlog == {"local": 4, "phone": 0, "open311": 0}
    assert health["outbox"]["oldest_age_seconds"] == 42.5 == max(oldest.values())
    assert oldest == {"local": 42.5, "phone": 0, "open311": 0}

    service.delivery.drain()
    health = client.get("/healthz").json
    samples = scrape(client)
    assert (
        health["outbox"]["backlog"]
        == 0
        == sum(labelled(samples, "iceta_outbox_backlog", "channel").values())
    )
    assert health["outbox"]["oldest_age_seconds"] is None
    assert value(samples, "iceta_outbox_oldest_seconds", channel="local") == 0
    assert value(samples, "iceta_deliveries_total", channel="local", result="sent") == 4
    assert value(samples, "iceta_database_up") == 1
    assert value(samples, "iceta_database_writable") == 1


def file_unrouted_complaint(chat: Chat) -> None:
    chat.says("Ada masalah di kantor desa kami, pelayanannya lambat sekali")
    for choice in ("0", "0", "0", "1"):  # Lainnya (dispatch), no location, no photo, send
        chat.says(choice)


def test_open_and_overdue_tickets_per_agency_agree_with_the_tickets_stored(
    service: Service,
) -> None:
    client = local_app(service)
    file_road_complaint(Chat(service, "citizen:siti", name="Siti"))
    file_road_complaint(Chat(service, "citizen:budi", name="Budi"))
    warga = Chat(service, "citizen:warga", name="Warga")
    warga.says("Sampah menumpuk di TPS Pasar Baru, bau sekali sampai ke rumah warga")
    for choice in ("2", "0", "0", "1"):  # Sampah dan kebersihan (dlh), no location or photo
        warga.says(choice)
    file_unrouted_complaint(Chat(service, "citizen:joko", name="Joko"))
    service.clock.advance(hours=25)  # past the 24-hour response deadline
    Chat(service, PUPR_CHAT, group=True, name="Admin PUPR").says(
        "/balas ICT-000001 Tim kami survei besok pagi"
    )

    samples = scrape(client)
    opened = labelled(samples, "iceta_tickets_open", "agency")
    overdue = labelled(samples, "iceta_tickets_overdue", "agency")
    assert opened == {"pupr": 2, "dlh": 1, "dinkes": 0, "dispatch": 1}
    assert overdue == {"pupr": 1, "dlh": 1, "dinkes": 0, "dispatch": 0}

    # the same, counted by hand from the ticket rows
    now = service.clock()
    by_hand_open: dict[str, int] = {}
    by_hand_late: dict[str, int] = {}
    for row in service.rows("select * from tickets"):
        agency = row["agency_id"] or "dispatch"
        if row["status"] in {str(s) for s in OPEN_STATUSES}:
            by_hand_open[agency] = by_hand_open.get(agency, 0) + 1
        if (
            row["status"] == "assigned"
            and row["first_response_at"] is None
            and row["paused_at"] is None
            and from_db_time(row["deadline_at"]) <= now
        ):
            by_hand_late[agency] = by_hand_late.get(agency, 0) + 1
    assert {k: v for k, v in opened.items() if v} == by_hand_open
    assert {k: v for k, v in overdue.items() if v} == by_hand_late


# --------------------------------------------------------------------------
# Who may read it
# --------------------------------------------------------------------------

REMOTE = {"REMOTE_ADDR": "203.0.113.9"}


def test_only_this_machine_reads_metrics_without_the_token(service: Service) -> None:
    client = local_app(service)
    assert client.get("/metrics").status_code == 200  # loopback (the test client's 127.0.0.1)
    assert client.get("/metrics", environ_base=REMOTE).status_code == 403
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/metrics", environ_base=REMOTE, headers=bearer).status_code == 403
    # a proxy on this machine relays others: loopback, but not this machine asking
    relayed = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert relayed.status_code == 403


def test_with_the_token_others_may_read_metrics(service: Service) -> None:
    client = local_app(service, token=TOKEN)
    refused = client.get("/metrics", environ_base=REMOTE)
    assert refused.status_code == 403
    assert TOKEN not in refused.get_data(as_text=True)
    for wrong in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "Bearer"):
        answer = client.get("/metrics", environ_base=REMOTE, headers={"Authorization": wrong})
        assert answer.status_code == 403, wrong
    scraped = scrape(client, environ_base=REMOTE, headers={"Authorization": f"Bearer {TOKEN}"})
    assert value(scraped, "iceta_database_up") == 1
    relayed = {"Authorization": f"bearer {TOKEN}", "X-Forwarded-For": "203.0.113.9"}
    assert client.get("/metrics", headers=relayed).status_code == 200
    assert client.get("/metrics").status_code == 200  # this machine, as without a token


def test_a_short_token_is_not_used(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    client = local_app(service, token="short-token")
    answer = client.get(
        "/metrics", environ_base=REMOTE, headers={"Authorization": "Bearer short-token"}
    )
    assert answer.status_code == 403
    assert "ICETA_METRICS_TOKEN is shorter than 16 characters" in caplog.text


def test_an_openmetrics_scraper_gets_openmetrics(service: Service) -> None:
    client = local_app(service)
    answer = client.get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/openmetrics-text")
    assert answer.get_data(as_text=True).endswith("# EOF\n")


# --------------------------------------------------------------------------
# Both processes: a real serve with its delivery process
# --------------------------------------------------------------------------


def http_metrics(base: str) -> Samples:
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:  # noqa: S310 - loopback
        return parse(response.read().decode())


def test_serve_shows_what_its_delivery_process_sent(tmp_path: Path, api: FakeTelegramApi) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "serve.log"
    env = clean_env() | api.environ(SECRET) | {"ICETA_DELIVERY_PROCESS": "1"}
    process = start_serve(write_serve_config(tmp_path, port), log_path, env)
    try:
        wait_until(lambda: get_json(f"{base}/healthz"))
        pid = wait_until(lambda: _delivery_pid(log_path))
        citizens = [5550400 + n for n in range(4)]
        for citizen in citizens:
            status, _ = api.deliver_webhook(
                tg.private_text(citizen, "/start"),
                url=f"{base}/webhooks/telegram",
                secret_token=SECRET,
            )
            assert status == 200
        for citizen in citizens:
            api.wait_for_sent(citizen, timeout=15)

        def all_sent() -> Samples | None:
            samples = http_metrics(base)
            count = value(samples, "iceta_deliveries_total", channel="telegram", result="sent")
            return samples if count == len(citizens) else None

        sent = wait_until(all_sent)
        assert len(api.calls_to("sendMessage")) == 4
        assert value(sent, "iceta_webhook_requests_total", channel="telegram", code="200") == 4
        with sqlite3.connect(tmp_path / "iceta.db") as db:
            owners = {row[0] for row in db.execute("select lease_owner from outbox")}
        # they were leased, sent and recorded by the delivery process, not by serve
        assert len(owners) == 1 and f":{pid}:" in owners.pop()
        assert pid != process.pid
    finally:
        stop(process)


def _delivery_pid(log_path: Path) -> int | None:
    found = re.search(r"replies are sent by the delivery process (\d+)", log_path.read_text())
    return int(found.group(1)) if found else None


def test_build_service_serves_metrics(tmp_path: Path) -> None:
    raw = copy.deepcopy(TEST_CONFIG)
    service = build_service(parse_config(raw), {}, tmp_path)
    samples = scrape(service.app.test_client())
    assert value(samples, "iceta_tickets_open", agency="pupr") == 0
    assert value(samples, "process_cpu_seconds_total") is not None
