"""The web desk (docs/contract.md §10) through the real Flask app on a real SQLite file:
sign-in from the chat, the list and its search and exports, a ticket page's actions
reaching the citizen, phone complaints and the call-back list, and who may see what.

Staff sit on the local channel here (the same core as Telegram groups); a browser test
of the same pages is in tests/test_desk_browser.py.
"""

from __future__ import annotations

import csv
import gc
import io
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.config import parse_config
from bot.model import LOCAL, PHONE, Attachment, Location
from handlers.desk import COOKIE, PhoneSender, desk_blueprint
from handlers.local import LocalSender
from tests.harness import (
    DISPATCH_CHAT,
    DLH_CHAT,
    PUPR_CHAT,
    SUPERVISOR_CHAT,
    TEST_CONFIG,
    Chat,
    Service,
)
from tests.test_conversation import file_road_complaint

LINK = re.compile(r"/desk/login/([A-Za-z0-9_-]+)")


def desk_app(service: Service, config: dict | None = None) -> Flask:
    parsed = parse_config(config) if config is not None else service.config
    service.delivery.senders[PHONE] = PhoneSender()
    app = Flask(__name__)
    app.register_blueprint(
        desk_blueprint(
            parsed,
            service.databases,
            service.clock,
            LOCAL,
            service.delivery.wake,
            {LOCAL: LocalSender(), PHONE: PhoneSender()},
            service.ingest,
        )
    )
    return app


@pytest.fixture
def service(tmp_path: Path) -> Service:
    return Service.start(tmp_path)


@pytest.fixture
def client(service: Service) -> FlaskClient:
    return desk_app(service).test_client()


def sign_in(service: Service, client: FlaskClient, chat_id: str, name: str) -> str:
    """Ask for a link with /dasbor in a staff chat and open it; returns the link's token."""
    answer = Chat(service, chat_id, group=True, name=name).says("/dasbor")
    found = LINK.search(answer)
    assert found, answer
    response = client.get(f"/desk/login/{found.group(1)}")
    assert response.status_code == 303 and response.headers["Location"] == "/desk"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/desk" in cookie
    return found.group(1)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def file_rubbish_complaint(service: Service) -> None:
    warga = Chat(service, "citizen:warga", name="Warga Dua", phone="+6281399998888")
    warga.says("Sampah menumpuk di TPS Pasar Baru, bau sekali sampai ke rumah warga")
    warga.says("2")
    warga.says("", location=Location(-6.3269, 108.3249))
    warga.says("0")
    warga.says("1")


# --------------------------------------------------------------------------
# Signing in
# --------------------------------------------------------------------------


def test_dasbor_in_an_agency_chat_gives_a_one_time_link_that_signs_in(
    service: Service, client: FlaskClient
) -> None:
    answer = Chat(service, PUPR_CHAT, group=True, name="Budi").says("/dasbor")
    assert "Masuk ke dasbor I-Ceta sebagai Dinas PUPR (Budi)" in answer
    assert "berlaku 10 menit dan hanya sekali pakai" in answer
    token = LINK.search(answer).group(1)  # type: ignore[union-attr]
    assert len(token) >= 43  # 256 bits, URL-safe base64
    [row] = service.rows("select * from desk_links")
    assert token not in str(row)  # only the hash is stored
    first = client.get(f"/desk/login/{token}")
    assert first.status_code == 303
    overview = client.get("/desk")
    assert overview.status_code == 200
    assert "Masuk sebagai Budi — Dinas PUPR" in overview.get_data(as_text=True)
    again = desk_app(service).test_client().get(f"/desk/login/{token}")
    assert again.status_code == 403
    assert "tidak berlaku lagi" in again.get_data(as_text=True)
    audit = service.rows("select action, name, agency_id from desk_audit")
    assert audit == [{"action": "signed_in", "name": "Budi", "agency_id": "pupr"}]


def test_an_expired_link_is_refused(service: Service, client: FlaskClient) -> None:
    answer = Chat(service, PUPR_CHAT, group=True, name="Budi").says("/desk")
    token = LINK.search(answer).group(1)  # type: ignore[union-attr]
    service.clock.advance(minutes=10)
    response = client.get(f"/desk/login/{token}")
    assert response.status_code == 403
    assert client.get("/desk").status_code == 303
    assert service.rows("select count(*) as n from desk_sessions") == [{"n": 0}]


def test_without_a_session_no_desk_route_shows_data(service: Service, client: FlaskClient) -> None:
    file_road_complaint(Chat(service, "citizen:siti", name="Siti Aminah"))
    for path in (
        "/desk",
        "/desk/tickets",
        "/desk/tickets?q=lubang",
        "/desk/tickets?format=csv",
        "/desk/tickets?format=xlsx",
        "/desk/tickets/ICT-000001",
        "/desk/tickets/ICT-000001/files/0",
        "/desk/phone",
        "/desk/callbacks",
        "/desk/map",
        "/desk/map.geojson",
    ):
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["Location"] == "/desk/login", path
        assert b"Lohbener" not in response.data, path
    for path in ("/desk/tickets/ICT-000001/reply", "/desk/phone", "/desk/logout"):
        response = client.post(path, data={"text": "halo", "csrf": "x"})
        assert response.status_code == 303, path
    assert service.rows("select count(*) as n from ticket_events where action = 'replied'") == [
        {"n": 0}
    ]
    howto = client.get("/desk/login")
    assert howto.status_code == 200 and "/dasbor" in howto.get_data(as_text=True)


def test_logout_ends_the_session(service: Service, client: FlaskClient) -> None:
    sign_in(service, client, PUPR_CHAT, "Budi")
    csrf = csrf_of(client.get("/desk").get_data(as_text=True))
    response = client.post("/desk/logout", data={"csrf": csrf})
    assert response.status_code == 303
    assert client.get("/desk").status_code == 303
    [session] = service.rows("select end_reason from desk_sessions")
    assert session == {"end_reason": "logout"}


def test_a_session_ends_when_the_config_no_longer_gives_the_chat_its_role(
    service: Service, client: FlaskClient, tmp_path: Path
) -> None:
    sign_in(service, client, PUPR_CHAT, "Budi")
    assert client.get("/desk").status_code == 200
    moved = {
        **TEST_CONFIG,
        "agencies": [
            {**TEST_CONFIG["agencies"][0], "telegram_chat_id": -1001000000077},
            *TEST_CONFIG["agencies"][1:],
        ],
    }
    restarted = desk_app(service, moved).test_client()
    restarted.set_cookie(COOKIE, client.get_cookie(COOKIE, path="/desk").value, path="/desk")
    response = restarted.get("/desk")
    assert response.status_code == 303 and "ended=config" in response.headers["Location"]
    assert service.rows("select end_reason from desk_sessions") == [{"end_reason": "config"}]


def test_a_session_ends_after_eight_idle_hours(service: Service, client: FlaskClient) -> None:
    sign_in(service, client, PUPR_CHAT, "Budi")
    service.clock.advance(hours=7, minutes=59)
    assert client.get("/desk").status_code == 200  # a use keeps it alive
    service.clock.advance(hours=8)
    assert client.get("/desk").status_code == 303


# --------------------------------------------------------------------------
# The list, search and exports; who sees what
# --------------------------------------------------------------------------


def test_an_agency_finds_its_ticket_by_words_in_any_order(
    service: Service, client: FlaskClient
) -> None:
    file_road_complaint(Chat(service, "citizen:siti", name="Siti Aminah", phone="+6281234567890"))
    file_rubbish_complaint(service)
    sign_in(service, client, PUPR_CHAT, "Budi")
    page = client.get("/desk/tickets?q=berlubang+lohbener").get_data(as_text=True)
    assert "ICT-000001" in page
    page = client.get("/desk/tickets?q=lohb").get_data(as_text=True)  # the start of a word
    assert "ICT-000001" in page
    assert "ICT-000001" not in client.get("/desk/tickets?q=jembatan").get_data(as_text=True)
    # the rubbish complaint is DLH's: not listed, not found, not exported, 404
    everything = client.get("/desk/tickets?status=all&agency=dlh").get_data(as_text=True)
    assert "ICT-000002" not in everything and "ICT-000001" in everything
    assert "ICT-000002" not in client.get("/desk/tickets?q=sampah").get_data(as_text=True)
    assert client.get("/desk/tickets/ICT-000002").status_code == 404
    assert client.get("/desk/tickets/ICT-000099").status_code == 404
    exported = client.get("/desk/tickets?status=all&format=csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(exported)))
    assert rows[0][:3] == ["Nomor", "Status", "Kategori"]
    assert [r[0] for r in rows[1:]] == ["ICT-000001"]
    assert "+62 812-****-7890" in exported and "6281234567890" not in exported
    geo = client.get("/desk/map.geojson?status=all").get_json()
    assert geo["features"] == []  # DLH's located ticket is not on PUPR's map


def test_dispatch_sees_every_ticket_with_full_numbers_and_exports_xlsx(
    service: Service, client: FlaskClient
) -> None:
    file_road_complaint(Chat(service, "citizen:siti", name="Siti Aminah", phone="+6281234567890"))
    file_rubbish_complaint(service)
    sign_in(service, client, DISPATCH_CHAT, "Rina")
    page = client.get("/desk/tickets").get_data(as_text=True)
    assert "ICT-000001" in page and "ICT-000002" in page
    response = client.get("/desk/tickets?format=xlsx")
    assert response.status_code == 200
    assert gc.isenabled()  # the workbook is built without collections; they are back on
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0][0] == "Nomor" and {v[0] for v in values[1:]} == {"ICT-000001", "ICT-000002"}
    assert any("+6281234567890" in str(v) for v in values[1])
    assert values[0][8] == "Dibuat (WIB)"  # times are real dates, in the service's zone
    created = service.clock.now.astimezone(ZoneInfo("Asia/Jakarta")).replace(tzinfo=None)
    assert isinstance(values[1][8], datetime) and abs(values[1][8] - created) < timedelta(seconds=1)
    geo = client.get("/desk/map.geojson").get_json()
    [point] = geo["features"]
    assert point["properties"]["number"] == "ICT-000002"
    assert point["geometry"]["coordinates"] == [108.3249, -6.3269]
    actions = [row["action"] for row in service.rows("select action from desk_audit")]
    assert actions == ["signed_in", "export_xlsx"]


def test_a_bad_filter_is_a_clear_400(service: Service, client: FlaskClient) -> None:
    sign_in(service, client, DISPATCH_CHAT, "Rina")
    for query in ("status=gone", "agency=nope", "from=26-11-2026", "page=0", "format=pdf"):
        response = client.get(f"/desk/tickets?{query}")
        assert response.status_code == 400, query
        assert "Filter tidak bisa dibaca" in response.get_data(as_text=True)


# --------------------------------------------------------------------------
# A ticket page: the chat commands' effects
# --------------------------------------------------------------------------


def test_a_reply_from_the_ticket_page_reaches_the_citizen_and_edits_the_card(
    service: Service, client: FlaskClient
) -> None:
    siti = Chat(service, "citizen:siti", name="Siti Aminah")
    file_road_complaint(siti)
    siti.says("")  # read what she was told so far
    sign_in(service, client, PUPR_CHAT, "Budi")
    page = client.get("/desk/tickets/ICT-000001").get_data(as_text=True)
    assert "Jalan di Desa Lohbener berlubang besar" in page
    assert "Pengaduan dibuat" in page and "Diteruskan ke instansi" in page  # its events
    response = client.post(
        "/desk/tickets/ICT-000001/reply",
        data={"csrf": csrf_of(page), "text": "Tim kami survei besok pagi"},
    )
    assert response.status_code == 303 and "done=done_reply" in response.headers["Location"]
    assert "Tanggapan Dinas PUPR untuk ICT-000001:\nTim kami survei besok pagi" in siti.says("")
    card = Chat(service, PUPR_CHAT, group=True).last_bot_message(kind="card")
    assert "Sudah ditanggapi" in card["text"]
    [event] = service.rows("select actor, detail from ticket_events where action = 'replied'")
    assert event == {"actor": "staff:pupr:Budi (desk)", "detail": "Tim kami survei besok pagi"}
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Balasan dikirim ke pelapor." in page and "Tim kami survei besok pagi" in page


def test_a_post_without_the_csrf_token_changes_nothing(
    service: Service, client: FlaskClient
) -> None:
    file_road_complaint(Chat(service, "citizen:siti", name="Siti Aminah"))
    sign_in(service, client, PUPR_CHAT, "Budi")
    for data in ({"text": "halo"}, {"text": "halo", "csrf": "forged"}):
        response = client.post("/desk/tickets/ICT-000001/reply", data=data)
        assert response.status_code == 403
    assert service.rows("select status from tickets") == [{"status": "assigned"}]
    assert service.rows("select count(*) as n from ticket_events where action = 'replied'") == [
        {"n": 0}
    ]


def test_another_agencys_ticket_cannot_be_acted_on(service: Service, client: FlaskClient) -> None:
    file_rubbish_complaint(service)
    sign_in(service, client, PUPR_CHAT, "Budi")
    csrf = csrf_of(client.get("/desk").get_data(as_text=True))
    response = client.post("/desk/tickets/ICT-000001/claim", data={"csrf": csrf})
    assert response.status_code == 404
    assert service.rows("select claimed_by from tickets") == [{"claimed_by": ""}]


def test_an_action_the_status_does_not_allow_is_refused_with_a_reason(
    service: Service, client: FlaskClient
) -> None:
    file_road_complaint(Chat(service, "citizen:siti", name="Siti Aminah"))
    sign_in(service, client, PUPR_CHAT, "Budi")
    csrf = csrf_of(client.get("/desk").get_data(as_text=True))
    empty = client.post("/desk/tickets/ICT-000001/reply", data={"csrf": csrf, "text": " "})
    assert "refused=action_needs_text" in empty.headers["Location"]
    client.post("/desk/tickets/ICT-000001/resolve", data={"csrf": csrf})
    again = client.post("/desk/tickets/ICT-000001/claim", data={"csrf": csrf})
    assert "refused=action_not_now" in again.headers["Location"]
    assert "tidak bisa untuk tiket dengan status sekarang" in client.get(
        again.headers["Location"]
    ).get_data(as_text=True)


def test_transfer_from_the_desk_moves_the_ticket(service: Service, client: FlaskClient) -> None:
    file_road_complaint(Chat(service, "citizen:siti", name="Siti Aminah"))
    sign_in(service, client, PUPR_CHAT, "Budi")
    csrf = csrf_of(client.get("/desk").get_data(as_text=True))
    response = client.post(
        "/desk/tickets/ICT-000001/transfer",
        data={"csrf": csrf, "agency": "dlh", "text": "saluran, bukan jalan"},
    )
    assert "done=done_transfer" in response.headers["Location"]
    assert service.rows("select agency_id from tickets") == [{"agency_id": "dlh"}]
    assert "ICT-000001" in Chat(service, DLH_CHAT, group=True).last_bot_message(kind="card")["text"]
    assert client.get("/desk/tickets/ICT-000001").status_code == 404  # no longer PUPR's


# --------------------------------------------------------------------------
# Phone complaints and the call-back list
# --------------------------------------------------------------------------


def test_a_phone_complaint_reaches_the_agency_and_its_answer_the_call_back_list(
    service: Service, client: FlaskClient
) -> None:
    sign_in(service, client, DISPATCH_CHAT, "Rina")
    form = client.get("/desk/phone").get_data(as_text=True)
    csrf = csrf_of(form)
    call = {
        "csrf": csrf,
        "name": "Pak Karta",
        "phone": "0812 3456 7001",
        "description": "Jalan berlubang di depan balai desa Juntinyuat",
        "category": "",
        "address": "Balai Desa Juntinyuat",
    }
    suggested = client.post("/desk/phone", data={**call, "suggest": "1"}).get_data(as_text=True)
    assert "Saran kategori: Jalan dan jembatan rusak" in suggested
    assert service.rows("select count(*) as n from tickets") == [{"n": 0}]
    filed = client.post("/desk/phone", data={**call, "category": "jalan"})
    assert filed.status_code == 200
    assert "Pengaduan tercatat dengan nomor ICT-000001" in filed.get_data(as_text=True)
    [ticket] = service.rows("select citizen_channel, citizen_chat_id, agency_id from tickets")
    assert ticket == {
        "citizen_channel": "phone",
        "citizen_chat_id": "+6281234567001",
        "agency_id": "pupr",
    }
    pupr = Chat(service, PUPR_CHAT, group=True, name="Budi")
    card = pupr.last_bot_message(kind="card")
    assert "Jalan berlubang di depan balai desa Juntinyuat" in card["text"]
    assert "+62 812-****-7001" in card["text"] and "telepon" in card["text"]
    pupr.says("/balas ICT-000001 Besok tim kami menambal")
    service.delivery.drain()
    listed = client.get("/desk/callbacks").get_data(as_text=True)
    assert "Besok tim kami menambal" in listed and "+6281234567001" in listed
    message_id = re.search(r"/desk/callbacks/(\d+)/told", listed).group(1)  # type: ignore[union-attr]
    told = client.post(f"/desk/callbacks/{message_id}/told", data={"csrf": csrf})
    assert told.status_code == 303
    assert "Besok tim kami menambal" not in client.get("/desk/callbacks").get_data(as_text=True)
    events = [r["action"] for r in service.rows("select action from ticket_events order by id")]
    assert events == ["created", "assigned", "phoned", "replied", "called_back"]


def test_a_phone_form_with_problems_files_nothing(service: Service, client: FlaskClient) -> None:
    sign_in(service, client, DISPATCH_CHAT, "Rina")
    csrf = csrf_of(client.get("/desk/phone").get_data(as_text=True))
    response = client.post(
        "/desk/phone",
        data={"csrf": csrf, "name": "", "phone": "abc", "description": "rusak", "category": "x"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    for problem in ("Isi nama penelepon", "Nomor telepon tidak bisa dibaca", "minimal 10 huruf"):
        assert problem in page
    assert service.rows("select count(*) as n from tickets") == [{"n": 0}]


def test_only_dispatch_takes_phone_complaints(service: Service, client: FlaskClient) -> None:
    sign_in(service, client, PUPR_CHAT, "Budi")
    assert client.get("/desk/phone").status_code == 403
    assert client.get("/desk/callbacks").status_code == 403


def test_supervisors_see_every_agency_but_masked_numbers(
    service: Service, client: FlaskClient
) -> None:
    file_road_complaint(Chat(service, "citizen:siti", name="Siti Aminah", phone="+6281234567890"))
    sign_in(service, client, SUPERVISOR_CHAT, "Pak Bupati")
    overview = client.get("/desk").get_data(as_text=True)
    assert "Dinas PUPR" in overview and "Dinas Lingkungan Hidup" in overview
    page = client.get("/desk/tickets/ICT-000001").get_data(as_text=True)
    assert "+62 812-****-7890" in page and "6281234567890" not in page


def test_the_desk_switches_to_english(service: Service, client: FlaskClient) -> None:
    sign_in(service, client, PUPR_CHAT, "Budi")
    csrf = csrf_of(client.get("/desk").get_data(as_text=True))
    client.post("/desk/language", data={"csrf": csrf, "language": "en", "next": "/desk"})
    page = client.get("/desk/tickets").get_data(as_text=True)
    assert "Words in the description" in page and "Sign out" in page


def test_overdue_tickets_are_on_the_agency_overview(service: Service, client: FlaskClient) -> None:
    file_road_complaint(Chat(service, "citizen:siti", name="Siti Aminah"))
    sign_in(service, client, PUPR_CHAT, "Budi")
    assert "ICT-000001" not in client.get("/desk/tickets?overdue=1&status=assigned").get_data(
        as_text=True
    )
    service.clock.advance(hours=25)
    sign_in(service, client, PUPR_CHAT, "Budi")  # the first session idled out meanwhile
    assert "ICT-000001" in client.get("/desk/tickets?overdue=1&status=assigned").get_data(
        as_text=True
    )
    page = client.get("/desk").get_data(as_text=True)
    assert "TERLAMBAT" in page and "ICT-000001" in page


def test_supervisors_see_the_digests_figures_with_the_tickets_behind_them(
    service: Service, client: FlaskClient
) -> None:
    file_road_complaint(Chat(service, "citizen:siti", name="Siti Aminah"))
    service.clock.advance(hours=2)
    Chat(service, PUPR_CHAT, group=True, name="Budi").says("/balas ICT-000001 Tim kami survei")
    service.clock.advance(hours=22)  # the next day: yesterday is in the digest's week
    sign_in(service, client, SUPERVISOR_CHAT, "Pak Bupati")
    overview = client.get("/desk").get_data(as_text=True)
    row = re.search(r"<tr><td>Dinas PUPR</td>(.*?)</tr>", overview, re.S)
    assert row, overview
    cells = re.findall(r"<td>(.*?)</td>", row.group(1), re.S)
    received = re.search(r'href="([^"]+)">1</a>', cells[2])
    assert received, cells
    assert cells[3] == "1/1 (100 %)" and cells[4] == "2 jam", cells
    listed = client.get(received.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "ICT-000001" in listed
    dlh = re.search(r"<tr><td>Dinas Lingkungan Hidup</td>(.*?)</tr>", overview, re.S)
    assert dlh and re.findall(r"<td>(.*?)</td>", dlh.group(1), re.S)[3:] == ["-", "-"]


def test_an_agency_sees_only_its_own_figures(service: Service, client: FlaskClient) -> None:
    file_road_complaint(Chat(service, "citizen:siti", name="Siti Aminah"))
    sign_in(service, client, DLH_CHAT, "Rina")
    overview = client.get("/desk").get_data(as_text=True)
    assert "<td>Dinas Lingkungan Hidup</td>" in overview
    assert "Dinas PUPR" not in overview


def test_the_timeline_shows_the_reminders_and_alerts_sent(
    service: Service, client: FlaskClient
) -> None:
    file_road_complaint(Chat(service, "citizen:siti", name="Siti Aminah"))
    service.clock.advance(hours=13)
    service.scan_deadlines()  # 12 hours before the deadline: the agency is reminded
    service.clock.advance(hours=12)
    service.scan_deadlines()  # past the deadline: the overdue alert
    sign_in(service, client, DISPATCH_CHAT, "Rina")
    page = client.get("/desk/tickets/ICT-000001").get_data(as_text=True)
    assert "Pengingat 12 jam sebelum batas waktu, ke Dinas PUPR" in page
    assert "Peringatan terlambat, ke Supervisor" in page
    assert "Lewat batas tanggapan" in page  # the breach event


def test_a_console_sample_photo_is_named_not_shown_as_a_broken_image(
    service: Service, client: FlaskClient
) -> None:
    siti = Chat(service, "citizen:siti", name="Siti Aminah")
    siti.says("Jalan di Desa Lohbener berlubang besar, sudah dua bulan")
    siti.says("1")
    siti.says("0")
    sample = Attachment("photo", "local:foto-1.jpg", "image/jpeg", "foto-1.jpg")
    siti.says("", attachments=(sample,))
    siti.says("selesai")
    siti.says("1")
    sign_in(service, client, PUPR_CHAT, "Budi")
    page = client.get("/desk/tickets/ICT-000001").get_data(as_text=True)
    assert "📷 foto-1.jpg (foto contoh dari konsol coba, tanpa berkas)" in page
    assert "<img" not in page


def _file_phone_call(service: Service, client: FlaskClient) -> str:
    sign_in(service, client, DISPATCH_CHAT, "Rina")
    csrf = csrf_of(client.get("/desk/phone").get_data(as_text=True))
    client.post(
        "/desk/phone",
        data={
            "csrf": csrf,
            "name": "Pak Karta",
            "phone": "0812 3456 7001",
            "description": "Jalan berlubang di depan balai desa Juntinyuat",
            "category": "jalan",
            "address": "",
        },
    )
    return csrf


def _waiting(client: FlaskClient, text: str) -> str:
    """The id of the call-back item that says `text`."""
    listed = client.get("/desk/callbacks").get_data(as_text=True)
    for item in re.findall(r"<li>(.*?)</li>", listed, re.S):
        if text in item:
            return re.search(r"/desk/callbacks/(\d+)/answer", item).group(1)  # type: ignore[union-attr]
    raise AssertionError(f"no call-back item says {text!r}: {listed}")


def _caller_says(service: Service, client: FlaskClient, csrf: str, item: str, text: str) -> Any:
    """The operator writes down what the caller said back to call-back item `item`."""
    response = client.post(f"/desk/callbacks/{item}/answer", data={"csrf": csrf, "text": text})
    service.delivery.drain()
    return response


def test_what_a_caller_says_back_confirms_and_rates_the_fix(
    service: Service, client: FlaskClient
) -> None:
    csrf = _file_phone_call(service, client)
    pupr = Chat(service, PUPR_CHAT, group=True, name="Budi")
    pupr.says("/selesai ICT-000001 Sudah ditambal")
    service.delivery.drain()
    asked = _waiting(client, "Apakah masalahnya sudah beres?")
    answered = _caller_says(service, client, csrf, asked, "1")
    assert answered.status_code == 303 and "done=answer" in answered.headers["Location"]
    [ticket] = service.rows("select status from tickets")
    assert ticket == {"status": "closed"}
    rating = _waiting(client, "Beri nilai layanan")
    assert asked != rating  # the confirmation question left the list
    _caller_says(service, client, csrf, rating, "5")
    _caller_says(service, client, csrf, _waiting(client, "Ada komentar?"), "Cepat, terima kasih")
    # each time the caller's word is handled first, then the item is marked told
    events = [r["action"] for r in service.rows("select action from ticket_events order by id")]
    assert events[3:] == [
        "resolved",
        "confirmed",  # "1"
        "called_back",
        "called_back",  # "5" (the rating waits for the comment)
        "rated",  # the comment (its question was not about one ticket: no called_back)
    ]
    assert [r["score"] for r in service.rows("select score from ratings")] == [5]
    told_agency = pupr.inbox()
    assert "Nilai pelapor untuk ICT-000001: 5/5" in told_agency
    assert "Cepat, terima kasih" in told_agency


def test_a_callers_remark_reaches_the_agency_as_their_message(
    service: Service, client: FlaskClient
) -> None:
    csrf = _file_phone_call(service, client)
    pupr = Chat(service, PUPR_CHAT, group=True, name="Budi")
    pupr.says("/balas ICT-000001 Besok tim kami menambal")
    service.delivery.drain()
    item = _waiting(client, "Besok tim kami menambal")
    empty = _caller_says(service, client, csrf, item, " ")
    assert "refused=answer_empty" in empty.headers["Location"]
    assert _waiting(client, "Besok tim kami menambal") == item  # still waiting
    _caller_says(service, client, csrf, item, "Lubangnya makin besar, tolong pagi")
    assert "Lubangnya makin besar, tolong pagi" in pupr.inbox()
    listed = client.get("/desk/callbacks").get_data(as_text=True)
    assert "Besok tim kami menambal" not in listed
    no_token = client.post(f"/desk/callbacks/{item}/answer", data={"text": "lagi"})
    assert no_token.status_code == 403


def test_garbage_in_the_address_is_a_clear_answer_never_a_500(
    service: Service, client: FlaskClient
) -> None:
    file_road_complaint(Chat(service, "citizen:siti", name="Siti Aminah"))
    sign_in(service, client, DISPATCH_CHAT, "Rina")
    for query in ("to=9999-12-31", "from=0001-01-01", "page=999999", "page=-1"):
        for path in ("/desk/tickets", "/desk/map.geojson"):
            assert client.get(f"{path}?{query}").status_code == 400, (path, query)
    assert client.get("/desk/tickets?status=all&q=%FF%FE&format=csv").status_code == 200
    page = client.get("/desk/tickets/ICT-000001?done=zzz&refused=__class__")
    assert page.status_code == 200 and "notice" not in page.get_data(as_text=True)
    csrf = csrf_of(page.get_data(as_text=True))
    back = client.post(
        "/desk/language", data={"csrf": csrf, "language": "en", "next": "/desk\r\nX-Evil: 1"}
    )
    assert back.status_code == 303 and back.headers["Location"] == "/desk"
    huge = str(2**64)
    for action in ("told", "answer"):
        answer = client.post(f"/desk/callbacks/{huge}/{action}", data={"csrf": csrf, "text": "1"})
        assert answer.status_code == 404


def test_an_agency_does_not_see_what_went_to_staff_chats_on_the_timeline(
    service: Service, client: FlaskClient
) -> None:
    """The cards in staff chats carry the citizen's full number (dispatch's card) or a
    confidential citizen's name: on the timeline only dispatch reads them."""
    siti = Chat(service, "citizen:siti", name="Siti Aminah", phone="+6281234567890")
    file_road_complaint(siti)
    sign_in(service, client, PUPR_CHAT, "Budi")
    page = client.get("/desk/tickets/ICT-000001").get_data(as_text=True)
    assert "Ke grup staf" in page and "Balas pesan ini untuk menjawab warga" not in page
    assert "6281234567890" not in page and "1234-567" not in page
    sign_in(service, client, DISPATCH_CHAT, "Rina")
    page = client.get("/desk/tickets/ICT-000001").get_data(as_text=True)
    assert "Balas pesan ini untuk menjawab warga" in page


def test_the_timeline_has_the_conversation_that_drafted_the_complaint(
    service: Service, client: FlaskClient
) -> None:
    siti = Chat(service, "citizen:siti", name="Siti Aminah")
    siti.says("halo")  # before the complaint: not part of it
    service.clock.advance(minutes=1)
    file_road_complaint(siti)
    siti.says("terima kasih")  # after it
    sign_in(service, client, DISPATCH_CHAT, "Rina")
    page = client.get("/desk/tickets/ICT-000001").get_data(as_text=True)
    assert "Jalan di Desa Lohbener berlubang besar, sudah dua bulan" in page
    assert "Masalah ini termasuk kategori apa?" in page  # the bot's side too
    linked = service.rows(
        "select text from messages where chat_id = 'citizen:siti' and direction = 'in' "
        "and ticket_id is null order by id"
    )
    assert [row["text"] for row in linked][0] == "halo"
