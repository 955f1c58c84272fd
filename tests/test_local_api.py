"""The local channel's JSON API through the real Flask app: good input talks to the
core, bad input gets a clear 4xx and changes nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from handlers.web import create_app
from run_bot import decide_channels
from tests.harness import Service


@pytest.fixture
def service(tmp_path: Path) -> Service:
    return Service.start(tmp_path)


@pytest.fixture
def client(service: Service) -> FlaskClient:
    app = create_app(
        service.config,
        service.databases,
        service.ingest,
        decide_channels(service.config, {}),  # no secrets: only the local console is on
        clock=service.clock,
    )
    return app.test_client()


def counts(service: Service) -> dict[str, int]:
    return {
        table: service.rows(f"select count(*) n from {table}")[0]["n"]  # noqa: S608 - fixed names
        for table in ("messages", "tickets", "outbox", "seen_inbound", "conversations")
    }


def test_a_citizen_files_a_complaint_and_an_agency_answers(
    client: FlaskClient, service: Service
) -> None:
    for text in ("Jalan di Desa Lohbener berlubang besar sekali", "1", "0", "0", "1"):
        response = client.post(
            "/local/messages", json={"chat": "citizen:siti", "text": text, "name": "Siti"}
        )
        assert response.status_code == 202, response.json
    service.delivery.drain()
    citizen = client.get("/local/messages?chat=citizen:siti").json["messages"]
    assert "ICT-000001" in citizen[-1]["text"] and citizen[-1]["from"] == "bot"
    card = [
        m
        for m in client.get("/local/messages?chat=agency:pupr").json["messages"]
        if m["kind"] == "card"
    ][-1]
    assert card["buttons"][0][0] == {"label": "Ambil", "data": "claim:1"}
    reply = {
        "chat": "agency:pupr",
        "text": "Besok kami perbaiki",
        "reply_to": card["message_id"],
        "name": "Budi",
    }
    assert client.post("/local/messages", json=reply).status_code == 202
    service.delivery.drain()
    latest = client.get("/local/messages?chat=citizen:siti").json["messages"][-1]
    assert latest["text"] == "Tanggapan Dinas PUPR untuk ICT-000001:\nBesok kami perbaiki"


def test_pressing_a_button_is_the_same_as_typing_its_number(
    client: FlaskClient, service: Service
) -> None:
    client.post("/local/messages", json={"chat": "citizen:ani", "text": "halo"})
    client.post("/local/messages", json={"chat": "citizen:ani", "button": "1"})
    service.delivery.drain()
    assert (
        "Ceritakan masalahnya"
        in client.get("/local/messages?chat=citizen:ani").json["messages"][-1]["text"]
    )


def test_a_pressed_button_is_shown_by_its_label(client: FlaskClient, service: Service) -> None:
    client.post("/local/messages", json={"chat": "citizen:ani", "text": "halo"})
    service.delivery.drain()  # the menu is on screen
    client.post("/local/messages", json={"chat": "citizen:ani", "button": "1"})  # no label sent
    service.delivery.drain()
    client.post(
        "/local/messages",
        json={"chat": "citizen:ani", "button": "menu", "label": "Menu utama"},
    )
    service.delivery.drain()
    pressed = [
        m for m in client.get("/local/messages?chat=citizen:ani").json["messages"] if m["pressed"]
    ]
    assert [(m["pressed"], m["pressed_label"], m["text"]) for m in pressed] == [
        ("1", "1. Buat pengaduan baru", ""),  # the label of the button it pressed
        ("menu", "", "Menu utama"),  # the label the console sent
    ]


BAD_BODIES: list[tuple[Any, str]] = [
    ({}, "'chat' is required"),
    ({"text": "halo"}, "'chat' is required"),
    ({"chat": "citizen:siti"}, "send at least one of"),
    ({"chat": 5, "text": "halo"}, "'chat' must be a string"),
    ({"chat": "citizen:siti", "text": ["halo"]}, "'text' must be a string"),
    ({"chat": "citizen:siti", "text": "x" * 5000}, "'text' is too long"),
    ({"chat": "citizen:si ti", "text": "halo"}, "chat must be"),
    ({"chat": "agency:nope", "text": "halo"}, "unknown agency"),
    ({"chat": "citizen:siti", "text": "halo", "admin": True}, "unknown field(s): admin"),
    ({"chat": "citizen:siti", "location": {"latitude": 100, "longitude": 1}}, "location.latitude"),
    ({"chat": "citizen:siti", "location": {"latitude": "x", "longitude": 1}}, "location.latitude"),
    ({"chat": "citizen:siti", "photos": "a.jpg"}, "'photos' must be a list"),
    ({"chat": "citizen:siti", "text": "halo", "label": "Kirim"}, "send it with 'button'"),
    ({"chat": "citizen:siti", "button": "1", "label": "x" * 201}, "'label' is too long"),
    (["chat", "citizen:siti"], "must be a JSON object"),
    ("halo", "must be a JSON object"),
]


@pytest.mark.parametrize(("body", "message"), BAD_BODIES)
def test_bad_input_gets_a_clear_4xx_and_changes_nothing(
    client: FlaskClient, service: Service, body: Any, message: str
) -> None:
    before = counts(service)
    response = client.post("/local/messages", json=body)
    assert 400 <= response.status_code < 500
    assert message in response.json["error"]
    assert counts(service) == before


def test_a_megabyte_of_text_is_refused_before_reading(
    client: FlaskClient, service: Service
) -> None:
    before = counts(service)
    response = client.post(
        "/local/messages", json={"chat": "citizen:siti", "text": "a" * 1_000_000}
    )
    assert response.status_code == 413
    assert "error" in response.json
    assert counts(service) == before


def test_not_json_and_broken_json_are_refused(client: FlaskClient, service: Service) -> None:
    before = counts(service)
    assert client.post("/local/messages", data="chat=citizen:siti&text=halo").status_code == 415
    broken = client.post(
        "/local/messages", data=b'{"chat": "citizen:siti", "te', content_type="application/json"
    )
    assert broken.status_code == 400 and "not valid JSON" in broken.json["error"]
    undecodable = client.post(
        "/local/messages", data=b"\xff\xfe\x00garbage", content_type="application/json"
    )
    assert undecodable.status_code == 400
    assert client.get("/local/messages?chat=citizen:siti&after=abc").status_code == 400
    assert counts(service) == before


def test_the_local_channel_refuses_other_machines(client: FlaskClient, service: Service) -> None:
    before = counts(service)
    response = client.post(
        "/local/messages",
        json={"chat": "citizen:siti", "text": "halo"},
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    assert response.status_code == 403
    assert client.get("/local/chats", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 403
    assert counts(service) == before


def test_healthz_reports_database_channels_and_outbox(
    client: FlaskClient, service: Service
) -> None:
    client.post("/local/messages", json={"chat": "citizen:siti", "text": "halo"})
    service.clock.advance(seconds=30)
    health = client.get("/healthz").json
    assert health["status"] == "ok" and health["database"] is True
    assert health["channels"] == {
        "phone": True,
        "open311": True,
        "telegram": False,
        "whatsapp": False,
        "local": True,
    }
    assert health["outbox"]["backlog"] == 1 and health["outbox"]["oldest_age_seconds"] == 30.0
    service.delivery.drain()
    assert client.get("/healthz").json["outbox"]["backlog"] == 0
