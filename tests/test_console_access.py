"""Who may open the try-it console and move its clock (no browser needed)."""

from __future__ import annotations

import copy
from pathlib import Path

from bot.config import parse_config
from run_bot import build_service
from tests.harness import TEST_CONFIG

OUTSIDE = {"REMOTE_ADDR": "203.0.113.7"}
SAME_ORIGIN = {"Origin": "http://localhost"}  # the test client's own origin


def service_with(tmp_path: Path, **service: object) -> object:
    raw = copy.deepcopy(TEST_CONFIG)
    raw["service"].update(service)
    return build_service(parse_config(raw), {}, tmp_path)


def test_the_console_answers_this_machine_only_by_default(tmp_path: Path) -> None:
    client = service_with(tmp_path).app.test_client()
    page = client.get("/try")
    assert page.status_code == 200 and b"konsol coba lokal" in page.data
    assert client.get("/try", environ_base=OUTSIDE).status_code == 403
    assert client.get("/try/console.js", environ_base=OUTSIDE).status_code == 403
    assert client.get("/local/clock", environ_base=OUTSIDE).status_code == 403
    assert (
        client.post("/local/clock", json={"advance_hours": 24}, environ_base=OUTSIDE).status_code
        == 403
    )
    assert client.get("/local/clock").json["offset_hours"] == 0
    # behind a reverse proxy on this machine the peer is 127.0.0.1: the proxy's header
    # says the person is elsewhere
    for header in ("X-Forwarded-For", "X-Real-IP", "Forwarded"):
        proxied = client.get("/try", headers={header: "203.0.113.7"})
        assert proxied.status_code == 403, header
        assert client.get("/local/clock", headers={header: "203.0.113.7"}).status_code == 403


def test_bound_to_a_public_address_the_console_is_off_unless_turned_on(tmp_path: Path) -> None:
    off = service_with(tmp_path / "off", host="0.0.0.0").app.test_client()
    assert off.get("/try").status_code == 404
    assert off.get("/local/chats").status_code == 404
    on = service_with(tmp_path / "on", host="0.0.0.0", local_console=True).app.test_client()
    assert on.get("/try", environ_base=OUTSIDE).status_code == 200


def test_the_clock_only_moves_forward_by_a_sane_amount(tmp_path: Path) -> None:
    service = service_with(tmp_path)
    client = service.app.test_client()
    for bad in (
        {"advance_hours": -1},
        {"advance_hours": 0},
        {"advance_hours": "24"},
        {"advance_hours": 10_000},
        [],
        {},
    ):
        assert client.post("/local/clock", json=bad).status_code == 400
    assert client.get("/local/clock").json["offset_hours"] == 0
    moved = client.post("/local/clock", json={"advance_hours": 12})
    assert (
        moved.status_code == 200
        and moved.json["offset_hours"] == 12
        and moved.json["simulated"] is True
    )
    assert moved.json["scan"] == {"reminders": 0, "overdue_alerts": 0, "auto_closed": 0}


def test_a_restart_keeps_the_simulated_clock(tmp_path: Path) -> None:
    first = service_with(tmp_path)
    moved = first.app.test_client().post("/local/clock", json={"advance_hours": 24})
    assert moved.status_code == 200 and moved.json["offset_hours"] == 24
    again = service_with(tmp_path)  # the same database, as after a restart
    clock = again.app.test_client().get("/local/clock").json
    assert clock["offset_hours"] == 24 and clock["simulated"] is True
    assert again.app.test_client().get("/favicon.ico").status_code == 200


def test_the_console_opens_the_desk_as_a_staff_panes_chat(tmp_path: Path) -> None:
    service = service_with(tmp_path)
    client = service.app.test_client()
    assert client.get("/local/clock").json["desk"] is True
    opened = client.post(
        "/try/desk", data={"chat": "agency:pupr", "name": "Admin"}, headers=SAME_ORIGIN
    )
    assert opened.status_code == 303 and opened.headers["Location"].startswith("/desk/login/")
    signed_in = client.get(opened.headers["Location"])
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/desk"
    overview = client.get("/desk").get_data(as_text=True)
    assert "Masuk sebagai Admin — Dinas PUPR" in overview


def test_the_desk_button_is_refused_from_outside_another_site_or_a_citizen(
    tmp_path: Path,
) -> None:
    service = service_with(tmp_path)
    client = service.app.test_client()
    dispatch = {"chat": "dispatch"}
    outside = client.post("/try/desk", data=dispatch, environ_base=OUTSIDE, headers=SAME_ORIGIN)
    assert outside.status_code == 403
    for headers in (
        {"Origin": "https://evil.example"},  # another site's form
        {"Sec-Fetch-Site": "cross-site"},
        {},  # a browser that says nothing of where the form came from
    ):
        assert client.post("/try/desk", data=dispatch, headers=headers).status_code == 403
    # a hostile name pointed at 127.0.0.1 (DNS rebinding): right origin, wrong host
    rebound = {"Origin": "http://evil.example:8080", "Host": "evil.example:8080"}
    assert client.post("/try/desk", data=dispatch, headers=rebound).status_code == 403
    citizen = client.post("/try/desk", data={"chat": "citizen:siti"}, headers=SAME_ORIGIN)
    assert citizen.status_code == 400 and "staff" in citizen.json["error"]
    unknown = client.post("/try/desk", data={"chat": "agency:nope"}, headers=SAME_ORIGIN)
    assert unknown.status_code == 404
    links = service.databases.get().execute("SELECT count(*) FROM desk_links").fetchone()[0]
    assert links == 0
