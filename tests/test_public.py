"""The public page `/publik` (docs/contract.md §11) through the real Flask app on a real
SQLite file: each agency's answers of the last 30 days, "too few to rank", tracking one
ticket by its number, and nothing personal anywhere on it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.config import parse_config
from bot.model import Location
from handlers.public import public_blueprint
from tests.harness import DLH_CHAT, PUPR_CHAT, TEST_CONFIG, Chat, Service
from tests.test_conversation import file_road_complaint
from tests.test_desk import file_rubbish_complaint

PUBLIC_CONFIG = {**TEST_CONFIG, "public": {"enabled": True, "min_tickets": 2}}


@pytest.fixture
def service(tmp_path: Path) -> Service:
    return Service.start(tmp_path, PUBLIC_CONFIG)


@pytest.fixture
def public(service: Service) -> FlaskClient:
    app = Flask(__name__)
    app.register_blueprint(public_blueprint(service.config, service.databases, service.clock))
    return app.test_client()


def rubbish_from(citizen: Chat) -> None:
    citizen.says("Sampah di saluran depan pasar belum diangkut seminggu")
    citizen.says("2")
    citizen.says("0")
    citizen.says("0")
    citizen.says("1")


def plain(html: str) -> str:
    """The page's text as a person reads it (tags and runs of spaces gone)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_each_agency_shows_its_share_in_time_with_the_count_behind_it(
    service: Service, public: FlaskClient
) -> None:
    file_road_complaint(Chat(service, "citizen:siti", name="Siti Aminah"))  # PUPR
    file_rubbish_complaint(service)  # DLH
    rubbish_from(Chat(service, "citizen:asep", name="Asep"))  # DLH again
    service.clock.advance(hours=2)
    Chat(service, DLH_CHAT, group=True, name="Dewi").says("/balas ICT-000002 Segera diangkut")
    service.clock.advance(hours=30)  # ICT-000001 and ICT-000003 are past their deadline
    service.scan_deadlines()
    Chat(service, PUPR_CHAT, group=True, name="Budi").says("/balas ICT-000001 Maaf terlambat")

    response = public.get("/publik")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert response.headers["Content-Security-Policy"] == (  # no script, nothing from elsewhere
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    text = plain(response.get_data(as_text=True))
    assert "I-Ceta: seberapa cepat pengaduan warga ditanggapi" in text
    # DLH: 2 received, 1 of 2 decided in time; PUPR: 1 decided (late) < min_tickets 2
    assert "Dinas Lingkungan Hidup 2 50 % (1 dari 2) 2 jam" in text
    assert "Dinas PUPR 1 Terlalu sedikit untuk dinilai (1 dari minimal 2) 1 hari 8 jam" in text
    assert "Dinas Kesehatan 0 Terlalu sedikit untuk dinilai (0 dari minimal 2) -" in text
    assert text.index("Dinas Lingkungan Hidup 2") < text.index("Dinas PUPR 1")  # ranked first
    assert "Sampah dan kebersihan: 2" in text and "Jalan dan jembatan rusak: 1" in text
    assert text.count("ditanggapi tepat waktu per minggu") == 3  # one chart per agency
    # the charts rank no week on fewer than min_tickets either (here: PUPR's one ticket)
    html = response.get_data(as_text=True)
    pupr_chart = html.split("Dinas PUPR: ditanggapi tepat waktu per minggu", 1)[1]
    pupr_chart = pupr_chart.split("</svg>", 1)[0]
    assert "terlalu sedikit untuk dinilai (kurang dari 2)" in pupr_chart
    assert "0 dari 1 tepat waktu" not in html
    english = plain(public.get("/publik?lang=en").get_data(as_text=True))
    assert "Dinas Lingkungan Hidup 2 50 % (1 of 2) 2 h" in english


def test_a_ticket_is_tracked_by_its_number_with_only_its_status_and_dates(
    service: Service, public: FlaskClient
) -> None:
    file_road_complaint(Chat(service, "citizen:siti", name="Siti Aminah"))
    service.clock.advance(hours=3)
    Chat(service, PUPR_CHAT, group=True, name="Budi").says("/balas ICT-000001 Tim kami survei")
    response = public.get("/publik?nomor=ict 1")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    text = plain(response.get_data(as_text=True))
    assert (
        "Nomor tiket ICT-000001 Status sudah ditanggapi Dibuat 26 Nov 2026 09.00 WIB "
        "Tanggapan pertama 26 Nov 2026 12.00 WIB"
    ) in text
    assert "Batas tanggapan" not in text  # answered: the deadline no longer matters
    missing = public.get("/publik?nomor=ICT-000099")
    assert missing.status_code == 404
    assert "Tiket ICT-000099 tidak ditemukan." in plain(missing.get_data(as_text=True))
    for garbage in ("abc", "ICT-99999999999999999999", "%00", "<script>", "x" * 5000):
        answer = public.get("/publik", query_string={"nomor": garbage})
        assert answer.status_code == 200, garbage
        assert "Nomor tiket tidak bisa dibaca" in answer.get_data(as_text=True)
        assert "<script>" not in answer.get_data(as_text=True)


def test_the_public_page_shows_nothing_personal(service: Service, public: FlaskClient) -> None:
    secrets = ["Siti Aminah", "6281234567890", "1234567890", "Lohbener berlubang", "dua bulan"]
    siti = Chat(service, "citizen:siti", name="Siti Aminah", phone="+6281234567890")
    siti.says("Jalan di Desa Lohbener berlubang besar, sudah dua bulan")
    siti.says("1")
    siti.says("", location=Location(-6.326912, 108.324987))
    siti.says("0")  # no photo
    siti.says("1")
    secrets += ["-6.32", "108.32", "326912", "324987"]
    asep = Chat(service, "citizen:asep", name="Asep Sunandar", phone="+6285712345678")
    asep.says("Sampah di saluran depan rumah belum diangkut seminggu")
    asep.says("2")
    asep.says("Gang Mawar nomor 7 RT 03 Desa Sindang")  # a written address
    asep.says("0")
    asep.says("1")
    secrets += ["Asep Sunandar", "6285712345678", "Gang Mawar", "saluran depan rumah"]
    file_rubbish_complaint(service)
    secrets += ["Warga Dua", "6281399998888", "TPS Pasar Baru", "bau sekali"]
    rahasia = Chat(service, "citizen:rahasia", name="Rahasiawati", phone="+6281377778888")
    rahasia.says("Jalan berlubang di Cikedung, pelakunya tetangga saya")
    rahasia.says("1")
    rahasia.says("", location=Location(-6.512345, 108.198765))
    rahasia.says("0")
    rahasia.says("2")  # confidential
    secrets += ["Rahasiawati", "6281377778888", "tetangga saya", "-6.51", "108.19"]
    Chat(service, DLH_CHAT, group=True, name="Dewi").says(
        "/balas ICT-000003 Petugas Pak Darmin datang besok ke rumah Ibu"
    )
    secrets += ["Dewi", "Darmin", "rumah Ibu"]
    service.clock.advance(hours=30)
    service.scan_deadlines()
    stored = service.rows("select citizen_name, address, latitude from tickets order by id")
    assert [row["citizen_name"] for row in stored] == [
        "Siti Aminah",
        "Asep Sunandar",
        "Warga Dua",
        "Rahasiawati",
    ]
    assert stored[0]["latitude"] == -6.326912 and "Gang Mawar" in stored[1]["address"]
    pages = [
        public.get(url).get_data(as_text=True)
        for url in (
            "/publik",
            "/publik?lang=en",
            "/publik?nomor=ICT-000001",
            "/publik?nomor=2",
            "/publik?nomor=3&lang=en",
            "/publik?nomor=4",
        )
    ]
    assert "ICT-000001" in pages[2] and "Batas tanggapan" in pages[2]  # its clock runs
    assert "ICT-000004" in pages[-1]  # the confidential ticket is tracked, nothing more
    for page in pages:
        for secret in secrets:
            assert secret not in page, secret


def test_the_public_page_is_off_unless_the_config_turns_it_on(tmp_path: Path) -> None:
    from run_bot import build_service

    config = parse_config({**TEST_CONFIG, "service": {**TEST_CONFIG["service"]}})
    assert config.public.enabled is False
    off = build_service(config, {}, tmp_path).app.test_client()
    assert off.get("/publik").status_code == 404
    on = build_service(parse_config(PUBLIC_CONFIG), {}, tmp_path).app.test_client()
    assert on.get("/publik").status_code == 200
    assert on.get("/publik/static/style.css").status_code == 200
