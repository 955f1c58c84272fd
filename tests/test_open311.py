"""Open311 GeoReport v2 (docs/contract.md §11) through the real Flask app on a real SQLite
file: conformance in the spirit of open311-validator (every resource in JSON and XML),
the filters of GET requests, the error arrays, a POST that becomes a ticket whose card
reaches the agency, what is never published, and garbage that never gets a 5xx.

Staff sit on the local channel here (the same core as Telegram groups).
"""

from __future__ import annotations

import json
import logging
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.config import parse_config
from bot.model import LOCAL, OPEN311, Location, Ticket
from handlers.open311 import KEYS_VARIABLE, Open311Sender, api_keys, open311_blueprint
from handlers.web import create_app
from run_bot import RedactSecrets, build_service, decide_channels, secret_values
from storage.db import transaction
from storage.repository import SqliteStore
from tests.harness import DISPATCH_CHAT, PUPR_CHAT, START, TEST_CONFIG, Chat, Service

KEY = "open311-test-key-0123456789"
SECOND_KEY = "open311-second-client-abcdef"
BASE = "/open311/v2"
FORMATS = ("json", "xml")
W3C = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
SERVICE_FIELDS = ("service_code", "service_name", "description", "metadata", "type", "keywords")
REQUEST_FIELDS = (
    "service_request_id",
    "status",
    "service_name",
    "service_code",
    "requested_datetime",
    "updated_datetime",
)
CODES = {"jalan", "sampah", "kesehatan", "LAINNYA"}


def open311_app(service: Service, config: dict[str, Any] | None = None) -> Flask:
    """The real app (its body limit, JSON reader and query check) with the Open311 routes
    over the harness's service; the open311 sender delivers what the core says."""
    parsed = parse_config(config) if config is not None else service.config
    service.delivery.senders[OPEN311] = Open311Sender()
    blueprint = open311_blueprint(
        parsed,
        service.databases,
        service.clock,
        LOCAL,
        service.delivery.wake,
        api_keys({KEYS_VARIABLE: f"{KEY}, {SECOND_KEY}"}),
    )
    return create_app(
        parsed,
        service.databases,
        service.ingest,
        decide_channels(parsed, {}),
        clock=service.clock,
        extra_blueprints=(blueprint,),
    )


@pytest.fixture
def service(tmp_path: Path) -> Service:
    return Service.start(tmp_path)


@pytest.fixture
def client(service: Service) -> FlaskClient:
    return open311_app(service).test_client()


def publishing_config() -> dict[str, Any]:
    return {**TEST_CONFIG, "open311": {"publish_descriptions": True}}


ROAD = {
    "api_key": KEY,
    "service_code": "jalan",
    "lat": "-6.326912",
    "long": "108.324987",
    "description": "Jalan berlubang besar di depan balai desa Juntinyuat",
    "first_name": "Karta",
    "last_name": "Wijayakusuma",
    "phone": "0812 3456 7001",
}


def post(client: FlaskClient, fields: dict[str, Any], fmt: str = "json") -> Any:
    response = client.post(f"{BASE}/requests.{fmt}", data=fields)
    return response


def file_by_post(client: FlaskClient, **fields: str) -> str:
    response = post(client, {**ROAD, **fields})
    assert response.status_code == 200, response.get_data(as_text=True)
    [filed] = response.get_json()
    return filed["service_request_id"]


def file_by_chat(
    service: Service,
    chat_id: str,
    name: str,
    phone: str,
    description: str,
    *,
    location: Location | None = None,
    address: str = "",
    confidential: bool = False,
) -> None:
    """A road complaint written in the chat, as a citizen does (category 1 is jalan)."""
    citizen = Chat(service, chat_id, name=name, phone=phone)
    citizen.says(description)
    citizen.says("1")
    if location is not None:
        citizen.says("", location=location)
    else:
        citizen.says(address or "0")
    citizen.says("0")  # no photo
    citizen.says("2" if confidential else "1")


def get(client: FlaskClient, path: str, fmt: str, query: str = "") -> Any:
    return client.get(f"{BASE}/{path}.{fmt}" + (f"?{query}" if query else ""))


def xml_of(response: Any, root: str) -> ET.Element:
    body = response.get_data()
    assert body.startswith(b'<?xml version="1.0" encoding="utf-8"?>'), body[:80]
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    element = ET.fromstring(body)
    assert element.tag == root
    return element


def items(response: Any, fmt: str, root: str, item: str) -> list[dict[str, Any]]:
    """A list answer as dicts, from JSON or from the spec's XML (`<root><item>…`)."""
    if fmt == "json":
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        value = response.get_json()
        assert isinstance(value, list)
        return value
    rows = []
    for child in xml_of(response, root):
        assert child.tag == item
        rows.append({field.tag: field.text for field in child})
    return rows


def requests_of(response: Any, fmt: str) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return items(response, fmt, "service_requests", "request")


def numbers(response: Any, fmt: str = "json") -> list[str]:
    return [r["service_request_id"] for r in requests_of(response, fmt)]


def assert_w3c(value: str) -> None:
    assert W3C.fullmatch(value), value
    assert datetime.fromisoformat(value).utcoffset() is not None, value


def assert_error(response: Any, fmt: str, code: int) -> str:
    """The spec's error array, with `code` as the HTTP status and in the array."""
    assert response.status_code == code, response.get_data(as_text=True)
    [problem] = items(response, fmt, "errors", "error")
    assert str(problem["code"]) == str(code)
    assert problem["description"]
    return str(problem["description"])


# --------------------------------------------------------------------------
# Conformance: every resource, in JSON and in XML
# --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_discovery_names_the_endpoint_and_its_formats(client: FlaskClient, fmt: str) -> None:
    response = get(client, "discovery", fmt)
    assert response.status_code == 200
    if fmt == "json":
        found = response.get_json()
        [endpoint] = found["endpoints"]
        formats = endpoint["formats"]
    else:
        root = xml_of(response, "discovery")
        found = {child.tag: child.text for child in root}
        [element] = root.find("endpoints") or []
        endpoint = {child.tag: child.text for child in element}
        formats = [f.text for f in element.find("formats") or []]
    assert found["changeset"] and found["contact"] and found["key_service"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://localhost/open311/v2"
    assert endpoint["type"] in ("production", "test")
    assert set(formats) == {"application/json", "text/xml"}


def test_discovery_uses_the_public_url(service: Service) -> None:
    raw = {**TEST_CONFIG, "service": {**TEST_CONFIG["service"], "public_url": "https://x.id"}}
    client = open311_app(service, raw).test_client()
    [endpoint] = get(client, "discovery", "json").get_json()["endpoints"]
    assert endpoint["url"] == "https://x.id/open311/v2"


@pytest.mark.parametrize("fmt", FORMATS)
def test_services_have_the_required_fields_and_valid_values(client: FlaskClient, fmt: str) -> None:
    response = get(client, "services", fmt)
    assert response.status_code == 200
    listed = items(response, fmt, "services", "service")
    assert [s["service_code"] for s in listed] == ["jalan", "sampah", "kesehatan", "LAINNYA"]
    for service in listed:
        for field in (*SERVICE_FIELDS, "group"):
            assert field in service, (service, field)
        assert service["service_name"] and service["description"]
        assert service["metadata"] in (False, "false")  # a JSON boolean; XML's text
        assert service["type"] in ("realtime", "batch", "blackbox")
    road = listed[0]
    assert road["service_name"] == "Jalan dan jembatan rusak"
    assert road["group"] == "Dinas PUPR"
    assert road["keywords"] == "jalan, jembatan, aspal, berlubang"
    assert listed[-1]["group"] == "Call Center I-Ceta"


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_service_has_a_definition(client: FlaskClient, fmt: str) -> None:
    for code in sorted(CODES):
        response = get(client, f"services/{code}", fmt)
        assert response.status_code == 200, code
        if fmt == "json":
            definition = response.get_json()
            assert definition == {"service_code": code, "attributes": []}
        else:
            root = xml_of(response, "service_definition")
            assert root.findtext("service_code") == code
            attributes = root.find("attributes")
            assert attributes is not None and list(attributes) == []
    assert "not found" in assert_error(get(client, "services/jalan-raya", fmt), fmt, 404)
    assert_error(get(client, "services/JALAN", fmt), fmt, 404)


def check_request(request: dict[str, Any]) -> None:
    """What open311-validator checks of a request: the required fields, their values."""
    for field in REQUEST_FIELDS:
        assert request.get(field), (request, field)
    assert re.fullmatch(r"ICT-\d{6}", request["service_request_id"])
    assert request["status"] in ("open", "closed")
    assert request["service_code"] in CODES
    assert_w3c(request["requested_datetime"])
    assert_w3c(request["updated_datetime"])
    if request.get("expected_datetime"):
        assert_w3c(request["expected_datetime"])
    assert request["requested_datetime"].endswith("+07:00")  # the service time zone
    for coordinate in ("lat", "long"):
        if request.get(coordinate) not in (None, ""):
            value = float(request[coordinate])
            assert round(value, 3) == value, request


@pytest.mark.parametrize("fmt", FORMATS)
def test_requests_and_one_request_conform(service: Service, client: FlaskClient, fmt: str) -> None:
    file_by_chat(
        service,
        "citizen:siti",
        "Siti Aminah",
        "+6281234567890",
        "Jalan di Desa Lohbener berlubang besar, sudah dua bulan",
        location=Location(-6.326912, 108.324987),
    )
    service.clock.advance(hours=1)
    file_by_post(client, service_code="sampah", description="Sampah menumpuk di pasar baru")
    listed = requests_of(get(client, "requests", fmt), fmt)
    assert [r["service_request_id"] for r in listed] == ["ICT-000002", "ICT-000001"]
    for request in listed:
        check_request(request)
    chat, posted = listed[1], listed[0]
    assert chat["service_code"] == "jalan" and chat["agency_responsible"] == "Dinas PUPR"
    assert chat["requested_datetime"] == "2026-11-26T09:00:00+07:00"
    assert chat["expected_datetime"] == "2026-11-27T09:00:00+07:00"  # the 24-hour deadline
    assert float(chat["lat"]) == -6.327 and float(chat["long"]) == 108.325
    assert chat["status_notes"] == "Diteruskan ke instansi; menunggu tanggapan."
    assert posted["agency_responsible"] == "Dinas Lingkungan Hidup"
    for number in ("ICT-000001", "ICT-000002"):
        [one] = requests_of(get(client, f"requests/{number}", fmt), fmt)
        check_request(one)
        assert one == next(r for r in listed if r["service_request_id"] == number)
    # the ticket number is read as the product reads it everywhere
    assert numbers(get(client, "requests/ict000001", fmt), fmt) == ["ICT-000001"]


def test_resolved_is_open_until_confirmed_and_a_rejection_is_closed(
    service: Service, client: FlaskClient
) -> None:
    road = file_by_post(client)
    other = file_by_post(client, service_code="LAINNYA", description="Ada yang aneh di desa")
    pupr = Chat(service, PUPR_CHAT, group=True, name="Budi")
    pupr.says(f"/selesai {road} Lubang sudah ditambal")
    [resolved] = requests_of(get(client, f"requests/{road}", "json"), "json")
    assert resolved["status"] == "open" and resolved["expected_datetime"] is None
    assert "menunggu konfirmasi" in resolved["status_notes"]
    Chat(service, DISPATCH_CHAT, group=True, name="Rina").says(f"/tolak {other} bukan pengaduan")
    [rejected] = requests_of(get(client, f"requests/{other}", "json"), "json")
    assert rejected["status"] == "closed" and rejected["status_notes"].startswith("Ditolak")
    assert rejected["agency_responsible"] == "Call Center I-Ceta"
    service.clock.advance(days=3, minutes=1)
    service.scan_deadlines()  # nobody confirms an Open311 ticket: it closes by itself
    [closed] = requests_of(get(client, f"requests/{road}", "json"), "json")
    assert closed["status"] == "closed" and closed["status_notes"] == "Selesai."
    assert closed["updated_datetime"] == "2026-11-29T09:01:00+07:00"  # when it closed


# --------------------------------------------------------------------------
# GET requests: the filters
# --------------------------------------------------------------------------


@pytest.fixture
def three_days(service: Service, client: FlaskClient) -> FlaskClient:
    """ICT-000001 jalan (day 1, resolved: open), ICT-000002 sampah (day 2, open),
    ICT-000003 LAINNYA (day 3, rejected: closed), each filed at 09.00 WIB."""
    file_by_post(client)
    service.clock.advance(days=1)
    file_by_post(client, service_code="sampah", description="Sampah menumpuk di pasar baru")
    service.clock.advance(days=1)
    file_by_post(client, service_code="LAINNYA", description="Ada yang aneh di desa kami")
    Chat(service, PUPR_CHAT, group=True).says("/selesai ICT-000001 Sudah ditambal")
    Chat(service, DISPATCH_CHAT, group=True).says("/tolak ICT-000003 bukan pengaduan")
    return client


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["ICT-000003", "ICT-000002", "ICT-000001"]),  # newest first
        ("service_request_id=ICT-000001,ICT-000003", ["ICT-000003", "ICT-000001"]),
        ("service_request_id=ICT-000002&status=closed", ["ICT-000002"]),  # it overrides
        ("service_request_id=2,%20ICT-000099", ["ICT-000002"]),  # an unknown one is absent
        ("service_code=sampah", ["ICT-000002"]),
        ("service_code=jalan,LAINNYA", ["ICT-000003", "ICT-000001"]),
        ("service_code=LAINNYA", ["ICT-000003"]),
        ("service_code=jalan&service_code=sampah", ["ICT-000002", "ICT-000001"]),
        ("status=open", ["ICT-000002", "ICT-000001"]),  # resolved is still open
        ("status=closed", ["ICT-000003"]),
        ("status=open,closed", ["ICT-000003", "ICT-000002", "ICT-000001"]),
        ("status=closed&service_code=jalan", []),
        ("start_date=2026-11-27", ["ICT-000003", "ICT-000002"]),  # a date: its whole day
        ("end_date=2026-11-26", ["ICT-000001"]),
        ("start_date=2026-11-27&end_date=2026-11-27", ["ICT-000002"]),
        ("start_date=2026-11-27T02:00:00Z", ["ICT-000003", "ICT-000002"]),  # inclusive
        ("end_date=2026-11-27T02:00:00Z", ["ICT-000002", "ICT-000001"]),  # inclusive
        ("start_date=2026-11-27T09:00:01%2B07:00", ["ICT-000003"]),
        ("start_date=2026-11-27T09:00:00+07:00", ["ICT-000003", "ICT-000002"]),  # "+" as sent
        ("start_date=2026-11-26T00:00Z&end_date=2026-11-27T00:00Z&status=open", ["ICT-000001"]),
        ("start_date=&end_date=&status=&service_code=", ["ICT-000003", "ICT-000002", "ICT-000001"]),
        (
            "jurisdiction_id=indramayu.go.id&page=2&x[]=1",
            ["ICT-000003", "ICT-000002", "ICT-000001"],
        ),
    ],
)
def test_the_filters_find_the_right_requests(
    three_days: FlaskClient, query: str, expected: list[str]
) -> None:
    for fmt in FORMATS:
        assert numbers(get(three_days, "requests", fmt, query), fmt) == expected, (fmt, query)


def test_without_dates_the_last_90_days(service: Service, three_days: FlaskClient) -> None:
    service.clock.advance(days=89)  # ICT-000001 was filed 91 days ago, ICT-000002 90
    assert numbers(get(three_days, "requests", "json")) == ["ICT-000003", "ICT-000002"]
    old = numbers(get(three_days, "requests", "json", "start_date=2026-11-26"))
    assert old == ["ICT-000003", "ICT-000002", "ICT-000001"]
    # a number is found whenever it was filed
    assert numbers(get(three_days, "requests/ICT-000001", "json")) == ["ICT-000001"]


def test_at_most_1000_requests_the_newest(service: Service, client: FlaskClient) -> None:
    db = service.databases.get()
    with transaction(db):
        store = SqliteStore(db)
        for minute in range(1005):
            store.add_ticket(
                Ticket(
                    id=None,
                    citizen_channel=LOCAL,
                    citizen_chat_id=f"citizen:{minute}",
                    citizen_name="",
                    description="Jalan berlubang",
                    created_at=START + timedelta(minutes=minute),
                    category_id="jalan",
                )
            )
    service.clock.advance(days=1)
    listed = numbers(get(client, "requests", "json"))
    assert len(listed) == 1000
    assert listed[0] == "ICT-001005" and listed[-1] == "ICT-000006"
    assert len(numbers(get(client, "requests", "xml"), "xml")) == 1000


# --------------------------------------------------------------------------
# Errors: the spec's array, in the format asked for
# --------------------------------------------------------------------------

BAD_QUERIES = [
    "status=pending",
    "status=OPEN",
    "start_date=yesterday",
    "start_date=2026-02-30",
    "start_date=2026-11-01T00:00:00",  # no offset
    "start_date=2026-11-01T25:00:00Z",
    "start_date=2026-11-01T00:00:00%2B99:00",
    "start_date=0001-01-01T00:00:00Z",
    "end_date=99999-01-01",
    "start_date=2026-11-20&end_date=2026-11-01",  # after the end
    "start_date=2026-01-01&end_date=2026-11-01",  # more than 90 days
    "start_date=2026-11-01&start_date=2026-11-02",  # twice
    "service_request_id=abc",
    "service_request_id=ICT-000001,%C2%B2",
    "service_request_id=" + ",".join(["1"] * 1001),
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_parameters_are_400_with_the_error_array(three_days: FlaskClient, fmt: str) -> None:
    for query in BAD_QUERIES:
        assert_error(get(three_days, "requests", fmt, query), fmt, 400)
    described = assert_error(get(three_days, "requests", fmt, "status=pending"), fmt, 400)
    assert described.startswith("status:")


@pytest.mark.parametrize("fmt", FORMATS)
def test_unknown_codes_ids_and_resources_are_404(three_days: FlaskClient, fmt: str) -> None:
    assert_error(get(three_days, "requests", fmt, "service_code=jalan,listrik"), fmt, 404)
    for number in ("ICT-000099", "ICT-999999999", "0", "abc", "9" * 40, "ICT-000001x"):
        assert_error(get(three_days, f"requests/{number}", fmt), fmt, 404)
    assert_error(get(three_days, "tokens/123", fmt), fmt, 404)
    assert_error(three_days.get(f"{BASE}/services.csv"), "json", 404)
    assert_error(three_days.get(f"{BASE}/requests/ICT-000001"), "json", 404)
    assert_error(three_days.get(f"{BASE}/"), "json", 404)


@pytest.mark.parametrize("fmt", FORMATS)
def test_other_methods_are_405(three_days: FlaskClient, fmt: str) -> None:
    for path in ("discovery", "services", "services/jalan", "requests", "requests/ICT-000001"):
        for method in ("PUT", "PATCH", "DELETE"):
            response = three_days.open(f"{BASE}/{path}.{fmt}", method=method)
            assert_error(response, fmt, 405)
            assert "GET" in response.headers["Allow"]
        if path != "requests":
            assert_error(three_days.post(f"{BASE}/{path}.{fmt}", data=ROAD), fmt, 405)
    assert three_days.head(f"{BASE}/requests.{fmt}").status_code == 200


# --------------------------------------------------------------------------
# POST requests: a complaint from a keyed client
# --------------------------------------------------------------------------


def counts(service: Service) -> dict[str, int]:
    return {
        table: service.rows(f"select count(*) n from {table}")[0]["n"]  # noqa: S608 - fixed names
        for table in ("tickets", "ticket_events", "outbox", "messages", "conversations")
    }


def test_a_post_becomes_a_ticket_whose_card_reaches_the_agency(
    service: Service, client: FlaskClient
) -> None:
    response = post(client, {**ROAD, "account_id": "acct-778899", "email": "k@example.org"})
    assert response.status_code == 200
    assert response.get_json() == [
        {
            "service_request_id": "ICT-000001",
            "service_notice": "Pengaduan diteruskan ke Dinas PUPR, yang wajib menanggapi "
            "paling lambat 27 Nov 2026 09.00 WIB.",
            "account_id": None,
        }
    ]
    [ticket] = service.rows(
        "select citizen_channel, citizen_chat_id, citizen_name, citizen_phone, agency_id, "
        "category_id, status, latitude, longitude, address, deadline_at from tickets"
    )
    assert ticket == {
        "citizen_channel": "open311",
        "citizen_chat_id": "key1:account:acct-778899",
        "citizen_name": "Karta Wijayakusuma",
        "citizen_phone": "+6281234567001",
        "agency_id": "pupr",
        "category_id": "jalan",
        "status": "assigned",
        "latitude": -6.326912,
        "longitude": 108.324987,
        "address": "",
        "deadline_at": "2026-11-27T02:00:00.000000+00:00",
    }
    card = Chat(service, PUPR_CHAT, group=True, name="Budi").last_bot_message(kind="card")
    assert card["text"].startswith("🔴 ICT-000001 · Menunggu tanggapan\n")
    assert "Uraian: Jalan berlubang besar di depan balai desa Juntinyuat" in card["text"]
    assert "Pelapor: Karta Wijayakusuma +62 812-****-7001 · Open311" in card["text"]
    assert "https://maps.google.com/?q=-6.326912,108.324987" in card["text"]
    assert "6281234567001" not in card["text"]  # masked for the agency
    events = service.rows("select actor, action from ticket_events order by id")
    assert events == [
        {"actor": "citizen:open311", "action": "created"},
        {"actor": "system", "action": "assigned"},
        {"actor": "open311:key1", "action": "open311_request"},
    ]
    # the usual deadline: a reminder 12 hours before it, to the agency
    service.clock.advance(hours=12)
    service.scan_deadlines()
    assert "ICT-000001" in Chat(service, PUPR_CHAT, group=True).inbox()
    # what the agency answers is kept as sent on the open311 channel (the client polls)
    Chat(service, PUPR_CHAT, group=True, name="Budi").says("/balas ICT-000001 Besok ditambal")
    service.delivery.drain()
    [answered] = service.rows(
        "select chat_id, status, text from messages where channel = 'open311' and direction = 'out'"
    )
    assert answered["chat_id"] == "key1:account:acct-778899" and answered["status"] == "sent"
    [shown] = requests_of(get(client, "requests/ICT-000001", "json"), "json")
    assert shown["status_notes"] == "Instansi sudah menanggapi; sedang ditindaklanjuti."
    assert "Besok" not in json.dumps(shown)


def test_a_post_in_xml_or_json_and_to_dispatch(service: Service, client: FlaskClient) -> None:
    response = client.post(
        f"{BASE}/requests.xml",
        data={
            "api_key": SECOND_KEY,
            "service_code": "LAINNYA",
            "address_string": "Pasar Jatibarang",
            "description": "Ada masalah yang saya tidak tahu kategorinya",
        },
    )
    assert response.status_code == 200
    root = xml_of(response, "service_requests")
    [request] = root
    assert request.tag == "request"
    assert request.findtext("service_request_id") == "ICT-000001"
    assert "Call Center I-Ceta akan meneruskannya" in (request.findtext("service_notice") or "")
    assert request.find("account_id") is not None
    as_json = client.post(
        f"{BASE}/requests.json",
        json={**ROAD, "lat": -6.3269, "long": 108.3249, "device_id": "dev-1"},
    )
    assert as_json.status_code == 200, as_json.get_data(as_text=True)
    rows = service.rows("select citizen_chat_id, agency_id, address, latitude from tickets")
    assert rows[0]["agency_id"] == "" and rows[0]["address"] == "Pasar Jatibarang"
    assert rows[0]["citizen_chat_id"].startswith("key2:")  # a fresh id, one per request
    assert rows[1] == {
        "citizen_chat_id": "key1:device:dev-1",
        "agency_id": "pupr",
        "address": "",
        "latitude": -6.3269,
    }
    dispatch = Chat(service, DISPATCH_CHAT, group=True).last_bot_message(kind="card")
    assert "ICT-000001" in dispatch["text"] and "Open311" in dispatch["text"]
    assert [e["actor"] for e in service.rows("select actor from ticket_events")].count(
        "open311:key2"
    ) == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_wrong_or_missing_key_is_403_and_changes_nothing(
    service: Service, client: FlaskClient, fmt: str
) -> None:
    before = counts(service)
    for key in (None, "", "wrong", KEY + " ", KEY[:-1], KEY.upper(), "é" * 30):
        fields = {k: v for k, v in ROAD.items() if k != "api_key"}
        if key is not None:
            fields["api_key"] = key
        assert_error(post(client, fields, fmt), fmt, 403)
        assert_error(client.post(f"{BASE}/requests.{fmt}", json=fields), fmt, 403)
    # a wrong key is refused before anything else is looked at
    assert_error(post(client, {"api_key": "wrong", "service_code": "nope"}, fmt), fmt, 403)
    assert counts(service) == before
    # a key in the address is not taken (it would reach access logs): the body only
    response = client.post(f"{BASE}/requests.{fmt}?api_key={KEY}", data={**ROAD, "api_key": ""})
    assert_error(response, fmt, 403)
    assert counts(service) == before


@pytest.mark.parametrize(
    ("change", "code", "about"),
    [
        ({"service_code": ""}, 400, "service_code"),
        ({"service_code": "listrik"}, 404, "service_code"),
        ({"lat": "", "long": ""}, 400, "location"),
        ({"long": ""}, 400, "lat, long"),
        ({"lat": "-91"}, 400, "lat"),
        ({"long": "180.5"}, 400, "long"),
        ({"lat": "nan"}, 400, "lat"),
        ({"lat": "1e308"}, 400, "lat"),
        ({"lat": "١٢"}, 400, "lat"),
        ({"lat": "1_0"}, 400, "lat"),
        ({"description": ""}, 400, "description"),
        ({"description": "rusak"}, 400, "description"),
        ({"description": "x" * 4001}, 400, "description"),
        ({"lat": "", "long": "", "address_string": "a" * 301}, 400, "address_string"),
    ],
)
def test_a_post_with_a_problem_is_refused_and_files_nothing(
    service: Service, client: FlaskClient, change: dict[str, str], code: int, about: str
) -> None:
    before = counts(service)
    for fmt in FORMATS:
        described = assert_error(post(client, {**ROAD, **change}, fmt), fmt, code)
        assert described.startswith(about), described
    assert counts(service) == before


def test_a_post_keeps_what_it_can_and_drops_the_rest(service: Service, client: FlaskClient) -> None:
    file_by_post(
        client,
        phone="not a number",
        first_name="",
        last_name="",
        description="  Jalan berlubang\x00 di\x07 Desa Sukra  ",
        media_url="http://example.org/a.jpg",
        email="a@example.org",
    )
    [row] = service.rows(
        "select citizen_name, citizen_phone, description, attachments from tickets"
    )
    assert row == {
        "citizen_name": "",
        "citizen_phone": "",
        "description": "Jalan berlubang di Desa Sukra",
        "attachments": "[]",
    }


# --------------------------------------------------------------------------
# What is never published
# --------------------------------------------------------------------------

SECRET_WORDS = [
    # names and chats
    "Siti",
    "Aminah",
    "Wulandari",
    "Karta",
    "Wijayakusuma",
    "Darsono",
    "Rahasiawati",
    "citizen:",
    "acct-778899",
    "dev-XYZ123",
    "key1",
    # numbers and e-mail, however written
    "81234567890",
    "812-****",
    "1234-567",
    "4567890",
    "34567001",
    "3456 7001",
    "karta@",
    "example.org",
    # addresses
    "Siliwangi",
    "Melati",
    "Pahing",
    "Juntikedokan",
    # the exact coordinates
    "326912",
    "324987",
    "6.3269",
    "108.3249",
    # staff free text
    "Kuswara",
    "Tertutup",
]
DESCRIPTION_WORDS = ["Lohbener", "Kenanga", "menyengat", "Cikedung", "Bangodua"]
CONFIDENTIAL_WORDS = ["Cikedung", "Rahasiawati"]


def file_the_leaky_tickets(service: Service, client: FlaskClient) -> None:
    """Tickets full of personal data, through the chat and through POST."""
    file_by_chat(
        service,
        "citizen:siti",
        "Siti Aminah Wulandari",
        "+6281234567890",
        "Jalan di Desa Lohbener berlubang besar, sudah dua bulan",
        location=Location(-6.326912, 108.324987, "Jl. Siliwangi Gang Melati No. 17"),
    )
    file_by_chat(
        service,
        "citizen:darsono",
        "Darsono",
        "+6281299990000",
        "Jalan berlubang di Bangodua dekat rumah saya",
        address="Jl. Siliwangi Gang Melati No. 17",
    )
    file_by_chat(
        service,
        "citizen:rahasia",
        "Rahasiawati",
        "+6281377778888",
        "Jalan berlubang di Cikedung, pelakunya tetangga saya",
        location=Location(-6.512345, 108.198765),
        confidential=True,
    )
    file_by_post(
        client,
        first_name="Karta",
        last_name="Wijayakusuma",
        phone="0812 3456 7001",
        email="karta@example.org",
        address_string="Blok Pahing RT 03 RW 02 Desa Juntikedokan",
        account_id="acct-778899",
        device_id="dev-XYZ123",
        description="Saluran di Gang Kenanga mampet, bau menyengat; hubungi saya "
        "0812-3456-7001 atau karta@example.org",
    )
    pupr = Chat(service, PUPR_CHAT, group=True, name="Kuswara")
    pupr.says("/balas ICT-000001 Pak Kuswara akan datang besok")
    pupr.says("/tolak ICT-000002 Tertutup: sudah ditangani warga")
    filed = service.rows(
        "select citizen_channel, status, confidential, latitude, address from tickets order by id"
    )
    assert filed == [
        {
            "citizen_channel": "local",
            "status": "responded",
            "confidential": 0,
            "latitude": -6.326912,
            "address": "Jl. Siliwangi Gang Melati No. 17",
        },
        {
            "citizen_channel": "local",
            "status": "rejected",
            "confidential": 0,
            "latitude": None,
            "address": "Jl. Siliwangi Gang Melati No. 17",
        },
        {
            "citizen_channel": "local",
            "status": "assigned",
            "confidential": 1,
            "latitude": -6.512345,  # stored, and never placed on a public map
            "address": "",
        },
        {
            "citizen_channel": "open311",
            "status": "assigned",
            "confidential": 0,
            "latitude": -6.326912,
            "address": "Blok Pahing RT 03 RW 02 Desa Juntikedokan",
        },
    ]


def every_answer(client: FlaskClient) -> list[str]:
    """Every Open311 answer there is, in both formats."""
    paths = ["discovery", "services", *(f"services/{code}" for code in sorted(CODES))]
    queries = [
        "",
        "status=open",
        "status=closed",
        "service_code=jalan",
        "service_request_id=1,2,3,4,5",
        "start_date=2026-11-01&end_date=2026-11-30",
    ]
    answers = []
    for fmt in FORMATS:
        for path in paths:
            answers.append(get(client, path, fmt).get_data(as_text=True))
        for query in queries:
            answers.append(get(client, "requests", fmt, query).get_data(as_text=True))
        for ticket_id in range(1, 5):
            response = get(client, f"requests/ICT-{ticket_id:06d}", fmt)
            assert response.status_code == 200
            answers.append(response.get_data(as_text=True))
    return answers


def assert_absent(answers: list[str], words: list[str]) -> None:
    for answer in answers:
        for word in words:
            assert word.lower() not in answer.lower(), (word, answer[:2000])


def test_nothing_personal_is_ever_published(service: Service, client: FlaskClient) -> None:
    file_the_leaky_tickets(service, client)
    answers = every_answer(client)
    assert_absent(answers, SECRET_WORDS + DESCRIPTION_WORDS)
    located = [r for r in requests_of(get(client, "requests", "json"), "json") if r["lat"]]
    assert {(r["lat"], r["long"]) for r in located} == {(-6.327, 108.325)}
    assert_absent(answers, ["-6.51", "108.19", "108.2"])  # the confidential one, even rounded


def test_published_descriptions_never_of_a_confidential_ticket(service: Service) -> None:
    client = open311_app(service, publishing_config()).test_client()
    file_the_leaky_tickets(service, client)
    answers = every_answer(client)
    assert_absent(answers, SECRET_WORDS + CONFIDENTIAL_WORDS)
    by_number = {
        r["service_request_id"]: r for r in requests_of(get(client, "requests", "json"), "json")
    }
    assert by_number["ICT-000001"]["description"] == (
        "Jalan di Desa Lohbener berlubang besar, sudah dua bulan"
    )
    assert by_number["ICT-000003"]["description"] is None  # confidential
    assert by_number["ICT-000004"]["description"] == (  # numbers and e-mail blanked
        "Saluran di Gang Kenanga mampet, bau menyengat; hubungi saya […] atau […]"
    )
    xml = get(client, "requests/ICT-000002", "xml")
    assert xml_of(xml, "service_requests").findtext("request/description") == (
        "Jalan berlubang di Bangodua dekat rumah saya"
    )


def test_numbers_glued_to_words_or_written_with_brackets_are_blanked_too(
    service: Service,
) -> None:
    client = open311_app(service, publishing_config()).test_client()
    written = (
        "Sampah menumpuk, kontak HP081234567890 / WA 0812_3456_7891 / 0812/3456/7892 / "
        "+62 (812) 3456-7893 kapan saja"
    )
    file_by_post(client, description=written)
    [request] = requests_of(get(client, "requests", "json"), "json")
    assert request["description"] == ("Sampah menumpuk, kontak HP[…] / WA […]/[…] / […] kapan saja")


# --------------------------------------------------------------------------
# Garbage never gets a 5xx
# --------------------------------------------------------------------------

GARBAGE_QUERIES: list[bytes] = [
    b"start_date=\xff\xfe",
    b"status=%ff",
    b"start_date=" + b"9" * 10_000,
    b"start_date=1e308",
    b"start_date=-1",
    b"start_date=2026-11-01T00:00:00.1234567Z",
    b"end_date=2999-12-31T23:59:59-23:59",
    b"start_date=2000-01-01T00:00:00%2B23:59&end_date=2000-01-01",
    b"start_date=%00",
    b"service_request_id=" + b"9" * 5000,
    b"service_request_id=" + b",".join([b"1"] * 50_000),
    b"service_request_id=ICT-" + b"9" * 50,
    b"service_request_id=-1",
    b"service_request_id=%C2%B2",
    b"service_request_id=%00",
    b"service_code=,,,",
    b"service_code=" + b"x" * 10_000,
    b"service_code=../../etc/passwd",
    b"service_code[]=jalan&status[]=open",
    b"status=open&status=closed&status=" + b"open," * 10_000,
    b"a=" + b"q" * 5000,
    b"%ff=%fe",
    b"api_key=" + KEY.encode(),
]
GARBAGE_BODIES: list[tuple[bytes, str | None]] = [
    (b"", None),
    (b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded"),
    (b"service_code=jalan&service_code=sampah&api_key=" + KEY.encode(), None),
    (b"api_key=" + KEY.encode() + b"&description=%ED%A0%80%ED%A0%80%ED%A0%80x", None),
    (b"api_key=" + KEY.encode() + b"&description=" + b"b" * 2_000_000, None),
    (json.dumps({"api_key": KEY, "service_code": ["jalan"]}).encode(), "application/json"),
    (json.dumps({"api_key": KEY, "lat": True, "long": 1}).encode(), "application/json"),
    (json.dumps({"api_key": KEY, "lat": 1e308, "long": -1e308}).encode(), "application/json"),
    (json.dumps({"api_key": [KEY]}).encode(), "application/json"),
    (json.dumps({**ROAD, "description": {"a": 1}}).encode(), "application/json"),
    (b'{"api_key": "' + KEY.encode() + b'", "description": "\\ud800 lone"}', "application/json"),
    (b"[" * 100_000 + b"]" * 100_000, "application/json"),
    (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "application/json"),
    (b"null", "application/json"),
    (b"[1, 2]", "application/json"),
    ('{"api_key": "x"}'.encode("utf-16"), "application/json; charset=utf-16"),
    (b'--x\r\nContent-Disposition: form-data; name="api_key"\r\n\r\nx', "multipart/form-data"),
    (b'--x\r\nContent-Disposition: form-data; name="api_key"\r\n\r\nno end', None),
    (b"<service_request/>", "text/xml"),
]
GARBAGE_PATHS = [
    "requests.json",
    "requests.xml",
    "requests/ICT-000001.json",
    "requests/%ff%fe.json",
    "requests/99999999999999999999.xml",
    "requests/.json",
    "requests/ICT-000001.json.xml",
    "services.json",
    "services/..%2f..%2fweb.py.json",
    "services/%00.xml",
    "discovery.xml",
    "x" * 5000 + ".json",
]


def test_garbage_never_gets_a_5xx_and_never_files(service: Service, client: FlaskClient) -> None:
    file_by_post(client)
    before = counts(service)
    for path in GARBAGE_PATHS:
        for query in GARBAGE_QUERIES:
            response = client.get(
                f"{BASE}/{path}", environ_overrides={"QUERY_STRING": query.decode("latin-1")}
            )
            assert response.status_code < 500, (path, query[:80])
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"):
            assert client.open(f"{BASE}/{path}", method=method).status_code < 500
    for path in GARBAGE_PATHS[:3]:
        for body, content_type in GARBAGE_BODIES:
            for query in (b"", b"api_key=" + KEY.encode(), b"api_key=\xff"):
                response = client.post(
                    f"{BASE}/{path}",
                    data=body,
                    content_type=content_type or "application/x-www-form-urlencoded",
                    environ_overrides={"QUERY_STRING": query.decode("latin-1")},
                )
                shown = (path, body[:80], content_type, query)
                assert 400 <= response.status_code < 500, shown
                fmt = "xml" if ".xml" in path else "json"
                assert_error(response, fmt, response.status_code)  # the spec's errors, always
    assert counts(service) == before


# --------------------------------------------------------------------------
# The plug-in
# --------------------------------------------------------------------------


def test_the_channel_is_on_by_default_and_off_when_disabled(tmp_path: Path) -> None:
    on = build_service(parse_config(TEST_CONFIG), {KEYS_VARIABLE: KEY}, tmp_path / "on")
    assert on.channels.as_dict()["open311"] is True
    assert on.delivery.senders[OPEN311].channel == OPEN311
    client = on.app.test_client()
    assert client.get(f"{BASE}/services.json").status_code == 200
    filed = client.post(f"{BASE}/requests.json", data=ROAD)
    assert filed.status_code == 200, filed.get_data(as_text=True)
    raw = {**TEST_CONFIG, "open311": {"enabled": False}}
    off = build_service(parse_config(raw), {KEYS_VARIABLE: KEY}, tmp_path / "off")
    assert off.channels.as_dict()["open311"] is False
    assert off.channels.reasons["open311"] == "open311.enabled is false"
    assert off.app.test_client().get(f"{BASE}/services.json").status_code == 404


def test_keys_shorter_than_16_characters_are_not_accepted(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        keys = api_keys({KEYS_VARIABLE: f" short , {KEY},,{SECOND_KEY} "})
    assert keys == {KEY: "key2", SECOND_KEY: "key4"}
    assert "key 1 of ICETA_OPEN311_KEYS is shorter" in caplog.text
    assert "short" not in caplog.text.replace("shorter", "")
    assert api_keys({}) == {}


def test_each_key_of_the_list_is_redacted_from_the_log() -> None:
    redaction = RedactSecrets(secret_values({KEYS_VARIABLE: f"{KEY}, {SECOND_KEY}"}))
    line = redaction.redact(f"POST /open311/v2/requests.json?api_key={SECOND_KEY} and {KEY}")
    assert KEY not in line and SECOND_KEY not in line
    assert line.count("[redacted]") == 2
