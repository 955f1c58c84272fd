"""WhatsApp end to end: the real twilio client talking HTTP to a local stand-in of
Twilio's REST API, Twilio's webhooks posted (signed with RequestValidator) to the
real Flask routes, the agency on Telegram through the Bot API stand-in, and a
real SQLite file. Assertions are on what each side received."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from bot.config import parse_config
from handlers.telegram import RateLimits
from handlers.whatsapp import MediaFetcher, normalise_number, parse_form, split_body
from handlers.whatsapp_window import WHATSAPP
from run_bot import Service, build_service
from storage.clock import utc_now
from tests.fakes import telegram_api as tg
from tests.fakes import twilio_api as tw
from tests.fakes.telegram_api import FakeTelegramApi, UploadedFile
from tests.fakes.twilio_api import FakeTwilioApi
from tests.harness import TEST_CONFIG, Clock

PUBLIC = "https://iceta.example.go.id"
SITI = "whatsapp:+6281234567890"
JOKO = "whatsapp:+6285700001111"
PUPR = -1001000000001
BUDI = 7770001
JPEG = b"\xff\xd8\xff\xe0" + b"jalan-berlubang" * 100

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class WhatsAppWorld:
    def __init__(self, service: Service, twilio: FakeTwilioApi, telegram: FakeTelegramApi) -> None:
        self.service = service
        self.twilio = twilio
        self.telegram = telegram
        self.client: FlaskClient = service.app.test_client()

    # --- Twilio calling us
    def post(self, path: str, params: dict[str, str], *, signature: str | None = None) -> Any:
        header = (
            signature
            if signature is not None
            else tw.sign(PUBLIC + path, params, self.twilio.auth_token)
        )
        response = self.client.post(path, data=params, headers={"X-Twilio-Signature": header})
        self.settle()
        return response

    def settle(self) -> None:
        fetcher = self.service.runtime(WHATSAPP, MediaFetcher)
        if fetcher is not None:
            fetcher.fetch_pending()
        self.service.delivery.drain()

    def citizen(self, body: str = "", who: str = SITI, **kwargs: Any) -> Any:
        return self.post("/webhooks/whatsapp", self.twilio.inbound_params(who, body, **kwargs))

    def status(self, sid: str, status: str, error_code: int | None = None) -> Any:
        params = tw.status_callback_params(
            sid, status, to=SITI, from_="whatsapp:+14155238886", error_code=error_code
        )
        return self.post("/webhooks/whatsapp/status", params)

    # --- what people received
    def bodies(self, to: str = SITI) -> list[str]:
        return [m["body"] or "" for m in self.twilio.messages_to(to)]

    def last_body(self, to: str = SITI) -> str:
        return self.bodies(to)[-1]

    def card(self) -> dict[str, Any]:
        return next(m for m in self.telegram.sent_to(PUPR) if "Kategori:" in (m.get("text") or ""))

    def staff_reply(self, text: str) -> None:
        self.telegram_post(tg.group_text(PUPR, BUDI, text, reply_to_message=self.card()["message"]))

    def telegram_post(self, update: dict[str, Any]) -> None:
        self.client.post(
            "/webhooks/telegram",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": "tg-secret-123456"},
        )
        self.settle()

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        return list(self.service.databases.get().query(sql, params or []))

    def file_complaint(self, who: str = SITI) -> None:
        self.citizen("Jalan di Desa Lohbener berlubang besar sekali", who)
        for choice in ("1", "0", "0", "1"):
            self.citizen(choice, who)

    def move_whatsapp_clock(self, **delta: float) -> Clock:
        clock = Clock(datetime.now(UTC) + timedelta(**delta))
        self.service.delivery.senders[WHATSAPP].clock = clock
        self.service.delivery.clock = clock
        return clock

    def restore_clocks(self) -> None:
        self.service.delivery.senders[WHATSAPP].clock = utc_now
        self.service.delivery.clock = utc_now


def start_world(
    tmp_path: Path, twilio: FakeTwilioApi, telegram: FakeTelegramApi, template: str = ""
) -> WhatsAppWorld:
    raw = copy.deepcopy(TEST_CONFIG)
    raw["service"]["public_url"] = PUBLIC
    raw["whatsapp"] = {"from": "whatsapp:+14155238886", "update_template_sid": template}
    environ = twilio.environ() | telegram.environ("tg-secret-123456")
    limits = RateLimits(overall_per_second=1000, group_per_minute=1000, group_period_seconds=1)
    service = build_service(
        parse_config(raw), environ, tmp_path, options={"telegram_limits": limits}
    )
    service.delivery.senders[WHATSAPP].interval = 0
    return WhatsAppWorld(service, twilio, telegram)


@pytest.fixture
def twilio() -> Iterator[FakeTwilioApi]:
    with FakeTwilioApi() as fake:
        yield fake


@pytest.fixture
def telegram() -> Iterator[FakeTelegramApi]:
    with FakeTelegramApi() as fake:
        yield fake


@pytest.fixture
def world(tmp_path: Path, twilio: FakeTwilioApi, telegram: FakeTelegramApi) -> WhatsAppWorld:
    return start_world(tmp_path, twilio, telegram)


def test_full_lifecycle_with_a_whatsapp_citizen_and_a_telegram_agency(
    world: WhatsAppWorld, twilio: FakeTwilioApi, telegram: FakeTelegramApi
) -> None:
    response = world.citizen("halo")
    assert response.status_code == 200
    assert response.mimetype == "text/xml" and response.data.decode().endswith("<Response/>")
    assert (
        "Selamat datang di I-Ceta" in world.last_body()
        and "1. Buat pengaduan baru" in world.last_body()
    )
    world.citizen("Jalan di Desa Lohbener berlubang besar sejak bulan lalu")
    assert "1. Jalan dan jembatan rusak (disarankan)" in world.last_body()
    world.citizen("1")
    world.citizen(
        "", latitude=-6.3269, longitude=108.3249, address="Jl. Raya Lohbener", label="Balai Desa"
    )
    photo_url = twilio.add_media(JPEG)
    world.citizen("", media=[(photo_url, "image/jpeg")])
    assert "Foto diterima (1)" in world.last_body()
    world.citizen("selesai")
    assert "Lokasi: Balai Desa, Jl. Raya Lohbener" in world.last_body()
    world.citizen("1")
    assert "nomor ICT-000001" in world.last_body()

    # media fetched with the account's credentials and passed on as a real upload
    assert any(request.had_auth for request in twilio.media_requests)
    card = world.card()
    assert "Siti +62 812-****-7890" in card["text"] and "6281234567890" not in card["text"]
    assert "· WhatsApp\n" in card["text"]  # the channel, as it writes its name
    photo = next(m for m in telegram.sent_to(PUPR) if m["method"] == "sendPhoto")
    uploaded = photo["params"]["photo"]
    assert isinstance(uploaded, UploadedFile) and uploaded.content == JPEG  # bytes, not a URL
    assert telegram.file_content(photo["message"]["photo"][-1]["file_id"]) == JPEG
    [stored] = world.rows("select status, size from media")
    assert stored == {"status": "stored", "size": len(JPEG)}

    world.staff_reply("Tim kami survei besok pagi")
    assert world.last_body() == "Tanggapan Dinas PUPR untuk ICT-000001:\nTim kami survei besok pagi"
    assert all(
        m["status_callback"] == PUBLIC + "/webhooks/whatsapp/status" for m in twilio.messages
    )
    world.telegram_post(tg.group_text(PUPR, BUDI, "/selesai ICT-000001 Sudah ditambal"))
    assert "1. Sudah beres\n2. Belum beres" in world.last_body()
    world.citizen("1")
    world.citizen("4")
    world.citizen("Terima kasih, cepat")
    assert "Terima kasih atas penilaian Anda" in world.last_body()
    assert world.rows("select score, comment from ratings") == [
        {"score": 4, "comment": "Terima kasih, cepat"}
    ]


def test_a_retried_message_sid_is_handled_once(world: WhatsAppWorld, twilio: FakeTwilioApi) -> None:
    params = twilio.inbound_params(SITI, "halo")
    assert world.post("/webhooks/whatsapp", params).status_code == 200
    assert world.post("/webhooks/whatsapp", params).status_code == 200
    assert len(twilio.messages_to(SITI)) == 1


def test_unsigned_wrongly_signed_and_tampered_requests_are_refused(
    world: WhatsAppWorld, twilio: FakeTwilioApi
) -> None:
    params = twilio.inbound_params(SITI, "halo")
    assert world.client.post("/webhooks/whatsapp", data=params).status_code == 403
    assert (
        world.post("/webhooks/whatsapp", params, signature="bm90IGEgc2lnbmF0dXJl").status_code
        == 403
    )
    signature = tw.sign(PUBLIC + "/webhooks/whatsapp", params, twilio.auth_token)
    tampered = {**params, "Body": "halo [tampered]"}
    assert world.post("/webhooks/whatsapp", tampered, signature=signature).status_code == 403
    wrong_token = tw.sign(PUBLIC + "/webhooks/whatsapp", params, "another-token")
    assert world.post("/webhooks/whatsapp", params, signature=wrong_token).status_code == 403
    status = tw.status_callback_params(
        "SM" + "0" * 32, "delivered", to=SITI, from_="whatsapp:+14155238886"
    )
    assert world.client.post("/webhooks/whatsapp/status", data=status).status_code == 403
    assert world.rows("select count(*) n from messages") == [{"n": 0}]
    assert twilio.messages == []


def test_signature_holds_behind_a_proxy_with_a_query_string(
    world: WhatsAppWorld, twilio: FakeTwilioApi
) -> None:
    params = twilio.inbound_params(SITI, "halo")
    path = "/webhooks/whatsapp?source=proxy"
    signature = tw.sign(PUBLIC + path, params, twilio.auth_token)
    response = world.client.post(
        path,
        data=params,
        headers={"X-Twilio-Signature": signature},
        base_url="http://10.0.0.5:8080",
    )
    assert response.status_code == 200


def test_signature_over_the_url_with_its_default_port_is_accepted_too(
    world: WhatsAppWorld, twilio: FakeTwilioApi
) -> None:
    """Twilio signs the webhook URL as written in its console, ":443" included."""
    params = twilio.inbound_params(SITI, "halo")
    with_port = "https://iceta.example.go.id:443/webhooks/whatsapp"
    signature = tw.sign(with_port, params, twilio.auth_token)
    assert world.post("/webhooks/whatsapp", params, signature=signature).status_code == 200
    again = {**params, "MessageSid": "SM" + "b" * 32}
    other_port = tw.sign(with_port.replace(":443", ":8443"), again, twilio.auth_token)
    assert world.post("/webhooks/whatsapp", again, signature=other_port).status_code == 403


def test_garbage_gets_a_4xx_and_changes_nothing(world: WhatsAppWorld) -> None:
    for params in (
        {},
        {"MessageSid": "nope", "From": SITI},
        {"MessageSid": "SM" + "a" * 32, "From": "not a number"},
    ):
        assert world.post("/webhooks/whatsapp", params).status_code == 400
    assert world.rows("select count(*) n from messages") == [{"n": 0}]


def test_long_replies_are_split_and_numbers_normalised(world: WhatsAppWorld) -> None:
    world.file_complaint()
    world.staff_reply("Rincian pekerjaan: " + "tambal sulam aspal, " * 150)
    parts = [b for b in world.bodies() if "tambal" in b]
    assert len(parts) == 2 and all(len(p) <= 1600 for p in parts)
    assert normalise_number("whatsapp:081234567890") == SITI
    assert normalise_number("+62 812-3456-7890") == SITI
    assert split_body("a" * 3300) == ["a" * 1600, "a" * 1600, "a" * 100]


def test_every_inbound_field_is_optional_and_parsed(twilio: FakeTwilioApi) -> None:
    params = twilio.inbound_params(
        "whatsapp:+62 857-0000-1111",
        "",
        button_payload="fixed:1:1",
        button_text="Sudah beres",
        original_replied_message_sid="SM" + "b" * 32,
        media=[
            ("https://api.twilio.com/x/Media/ME1", "image/jpeg"),
            ("https://api.twilio.com/x/Media/ME2", "application/pdf"),
        ],
    )
    inbound = parse_form(params)
    assert inbound.chat_id == JOKO and inbound.phone == "+6285700001111"
    assert inbound.button_data == "fixed:1:1" and inbound.text == "Sudah beres"
    assert [a.kind for a in inbound.attachments] == ["photo", "document"]
    assert inbound.reply_to_message_id == "SM" + "b" * 32


def test_outside_the_window_the_template_goes_and_the_text_waits(
    tmp_path: Path, twilio: FakeTwilioApi, telegram: FakeTelegramApi
) -> None:
    world = start_world(tmp_path, twilio, telegram, template="HX" + "c" * 32)
    world.file_complaint()
    world.move_whatsapp_clock(hours=25)
    world.staff_reply("Perbaikan dijadwalkan Senin")
    template = twilio.messages_to(SITI)[-1]
    assert template["content_sid"] == "HX" + "c" * 32 and template["content_variables"] == {
        "1": "ICT-000001"
    }
    assert not any("Senin" in b for b in world.bodies())
    world.staff_reply("Mohon kirim foto terbaru")
    assert len([m for m in twilio.messages_to(SITI) if m["content_sid"]]) == 1, (
        "one template per closed window"
    )
    assert world.rows("select count(*) n from outbox where status = 'held'") == [{"n": 2}]
    world.restore_clocks()
    world.citizen("Baik, terima kasih")  # the citizen writes: the window opens, held texts go
    bodies = world.bodies()
    assert any("Perbaikan dijadwalkan Senin" in b for b in bodies) and any(
        "foto terbaru" in b for b in bodies
    )
    assert bodies.index(next(b for b in bodies if "Senin" in b)) < bodies.index(
        next(b for b in bodies if "foto terbaru" in b)
    )


def test_without_a_template_the_agency_is_told_to_wait(world: WhatsAppWorld) -> None:
    world.file_complaint()
    world.move_whatsapp_clock(hours=30)
    world.staff_reply("Perbaikan dijadwalkan Senin")
    assert "ditahan" in world.telegram.sent_to(PUPR)[-1]["text"]
    assert world.rows("select count(*) n from outbox where status = 'held'") == [{"n": 1}]


def test_a_63016_answer_is_handled_like_a_closed_window(
    world: WhatsAppWorld, twilio: FakeTwilioApi
) -> None:
    world.file_complaint()
    twilio.window_closed(SITI)
    world.staff_reply("Perbaikan dijadwalkan Senin")
    assert world.rows("select count(*) n from outbox where status = 'held'") == [{"n": 1}]
    twilio.window_open(SITI)
    world.citizen("Halo, bagaimana kabarnya?")
    assert any("Senin" in b for b in world.bodies())


def test_a_63016_in_a_later_status_callback_holds_the_text_and_tells_the_agency(
    world: WhatsAppWorld, twilio: FakeTwilioApi
) -> None:
    world.file_complaint()
    world.staff_reply("Perbaikan dijadwalkan Senin")
    sid = twilio.messages_to(SITI)[-1]["sid"]
    told_before = len(world.telegram.sent_to(PUPR))
    world.status(sid, "failed", error_code=63016)
    assert world.rows("select count(*) n from outbox where status = 'held'") == [{"n": 1}]
    told = world.telegram.sent_to(PUPR)[told_before:]
    assert [m["text"] for m in told if "ditahan" in m["text"]], "the agency learns the reply waits"
    world.citizen("Halo, ada kabar?")
    assert len([b for b in world.bodies() if "Senin" in b]) == 2


def test_a_63016_in_a_later_status_callback_sends_the_template_once_then_the_texts_in_order(
    tmp_path: Path, twilio: FakeTwilioApi, telegram: FakeTelegramApi
) -> None:
    template_sid = "HX" + "d" * 32
    world = start_world(tmp_path, twilio, telegram, template=template_sid)
    world.file_complaint()
    world.staff_reply("Perbaikan dijadwalkan Senin")
    world.staff_reply("Mohon kirim foto terbaru")
    first, second = [m["sid"] for m in twilio.messages_to(SITI)[-2:]]
    world.status(first, "failed", error_code=63016)
    world.status(second, "failed", error_code=63016)  # the same closed window

    templates = [m for m in twilio.messages_to(SITI) if m["content_sid"]]
    assert len(templates) == 1, "one template per closed window"
    assert templates[0]["content_sid"] == template_sid
    assert templates[0]["content_variables"] == {"1": "ICT-000001"}
    assert world.rows("select count(*) n from outbox where status = 'held'") == [{"n": 2}]

    sent_before = len(twilio.messages_to(SITI))
    world.citizen("Baik, saya tunggu")
    again = [m["body"] for m in twilio.messages_to(SITI)[sent_before:] if m["body"]]
    senin = next(i for i, b in enumerate(again) if "Perbaikan dijadwalkan Senin" in b)
    foto = next(i for i, b in enumerate(again) if "Mohon kirim foto terbaru" in b)
    assert senin < foto, "held texts go out in the order they were written"
    assert world.rows("select count(*) n from outbox where status = 'held'") == [{"n": 0}]


def test_status_callbacks_only_move_forward_and_failures_reach_the_agency(
    world: WhatsAppWorld, twilio: FakeTwilioApi
) -> None:
    world.file_complaint()
    world.staff_reply("Kami datang jam 10")
    sid = twilio.messages_to(SITI)[-1]["sid"]
    for status in ("delivered", "sent", "queued", "read", "delivered"):
        assert world.status(sid, status).status_code == 200
    assert world.rows("select status from messages where provider_message_id = ?", [sid]) == [
        {"status": "read"}
    ]
    world.staff_reply("Mohon siapkan akses jalan")
    second = twilio.messages_to(SITI)[-1]["sid"]
    world.status(second, "undelivered", error_code=30003)
    world.status(second, "delivered")
    assert world.rows("select status from messages where provider_message_id = ?", [second]) == [
        {"status": "undelivered"}
    ]
    assert "tidak dapat dihubungi" in world.telegram.sent_to(PUPR)[-1]["text"]


def test_rate_limit_63018_backs_off_and_retries(
    world: WhatsAppWorld, twilio: FakeTwilioApi
) -> None:
    clock = Clock(datetime.now(UTC) + timedelta(seconds=1))
    world.service.delivery.clock = clock
    twilio.fail_next(to=SITI, code=63018)
    world.citizen("halo")
    assert twilio.messages_to(SITI) == []
    [row] = world.rows("select status, last_error from outbox where chat_id = ?", [SITI])
    assert row["status"] == "pending" and "63018" in row["last_error"]
    clock.advance(seconds=5)
    world.service.delivery.drain()
    assert "Selamat datang" in world.last_body()


def test_a_staff_photo_is_served_to_twilio_from_an_expiring_url(
    world: WhatsAppWorld, telegram: FakeTelegramApi
) -> None:
    world.file_complaint()
    telegram.add_file("AgACAgUAAxkBAAIBstaff", b"\xff\xd8staff-photo")
    world.telegram_post(
        tg.group_photo(
            PUPR,
            BUDI,
            "AgACAgUAAxkBAAIBstaff",
            "Sudah ditambal",
            reply_to_message=world.card()["message"],
        )
    )
    [media_message] = [m for m in world.twilio.messages_to(SITI) if m["media_urls"]]
    url = media_message["media_urls"][0]
    assert url.startswith(PUBLIC + "/media/") and len(url.rsplit("/", 1)[1]) >= 40
    path = url.removeprefix(PUBLIC)
    assert world.client.get(path).data == b"\xff\xd8staff-photo"
    assert world.client.get("/media/" + "x" * 43).status_code == 404
    database = world.service.databases.get()
    database.execute("update media set token_expires_at = '2000-01-01T00:00:00.000000+00:00'")
    assert world.client.get(path).status_code == 404


def test_stop_opts_out_of_non_essential_messages(world: WhatsAppWorld) -> None:
    world.file_complaint()
    world.citizen("STOP")
    assert "tidak akan menerima pesan yang tidak penting" in world.last_body()
    world.telegram_post(tg.group_text(PUPR, BUDI, "/selesai ICT-000001"))
    world.citizen("1")
    assert world.last_body() == "Terima kasih atas konfirmasinya. Pengaduan ICT-000001 ditutup."


# --- every real message shape (forms shaped as Twilio posts them) -----------------

VCARD = (
    b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:Kuwu;Darso;;;\r\nFN:Darso Kuwu\r\n"
    b"item1.TEL;waid=6281398765432:+62 813-9876-5432\r\nitem1.X-ABLabel:Ponsel\r\nEND:VCARD\r\n"
)


def _media_message(world: WhatsAppWorld, content: bytes, content_type: str, **kw: Any) -> Any:
    url = world.twilio.add_media(content, content_type)
    return world.citizen(kw.pop("body", ""), media=[(url, content_type)], **kw)


def test_a_shared_vcard_reaches_the_agency_as_name_and_number(
    world: WhatsAppWorld, telegram: FakeTelegramApi
) -> None:
    _media_message(world, VCARD, "text/vcard")
    assert world.last_body() == (
        "Kartu kontak diterima dan dilampirkan pada pengaduan. "
        "Sekarang ceritakan masalahnya dengan teks."
    )
    world.file_complaint()
    assert "(kartu kontak terlampir)" in world.card()["text"]
    [sent] = [m for m in telegram.sent_to(PUPR) if m["method"] == "sendContact"]
    assert sent["params"]["first_name"] == "Darso Kuwu"
    assert sent["params"]["phone_number"] == "+6281398765432"


def test_a_sticker_gets_one_friendly_answer_and_is_never_fetched_or_filed(
    world: WhatsAppWorld,
) -> None:
    response = _media_message(world, b"RIFF\x00\x00WEBPVP8 sticker", "image/webp")
    assert response.status_code == 200
    assert world.bodies() == [
        "Terima kasih stikernya 🙂 Stiker tidak kami lampirkan pada pengaduan. "
        "Silakan ketik pengaduan Anda, atau kirim foto atau lokasi."
    ]
    assert world.twilio.media_requests == [] and world.rows("select * from media") == []
    world.file_complaint()
    assert "webp" not in world.rows("select attachments from tickets")[0]["attachments"]


@pytest.mark.parametrize(
    ("content_type", "method"),
    [("audio/ogg", "sendVoice"), ("video/mp4", "sendVideo"), ("application/pdf", "sendDocument")],
)
def test_voice_notes_videos_and_documents_are_attached_and_relayed(
    world: WhatsAppWorld, telegram: FakeTelegramApi, content_type: str, method: str
) -> None:
    _media_message(world, b"file-bytes-" + content_type.encode(), content_type)
    assert "Lampiran diterima" in world.last_body()
    world.file_complaint()
    [sent] = [m for m in telegram.sent_to(PUPR) if m["method"] == method]
    assert sent["kind"] in ("voice", "video", "document")
    assert world.rows("select status from media") == [{"status": "stored"}]


def test_a_shared_place_is_the_location_with_its_name(world: WhatsAppWorld) -> None:
    world.citizen("Jalan di depan pasar berlubang besar sekali")
    world.citizen("1")
    world.citizen(latitude=-6.3268, longitude=108.3252, label="Pasar Baru", address="Jl. Suprapto")
    world.citizen("0")
    world.citizen("1")
    assert "Pasar Baru, Jl. Suprapto" in world.card()["text"]


def test_a_forwarded_message_is_read_as_the_citizens_text(
    world: WhatsAppWorld, twilio: FakeTwilioApi
) -> None:
    params = twilio.inbound_params(SITI, "Sampah di TPS Desa Kenanga sudah menumpuk seminggu")
    params |= {"Forwarded": "true", "FrequentlyForwarded": "false"}
    world.post("/webhooks/whatsapp", params)
    assert "Saran kami: 2. Sampah dan kebersihan ⭐" in world.last_body()


def test_a_reply_to_the_acknowledgement_goes_to_that_ticket(world: WhatsAppWorld) -> None:
    world.file_complaint()
    acknowledgement = world.twilio.messages_to(SITI)[-1]["sid"]
    world.citizen("Lubangnya makin besar", original_replied_message_sid=acknowledgement)
    assert "Tambahan informasi untuk ICT-000001 sudah diteruskan" in world.last_body()


def test_the_desk_shows_a_whatsapp_photo_and_plays_its_voice_note(
    world: WhatsAppWorld, twilio: FakeTwilioApi, telegram: FakeTelegramApi
) -> None:
    """What the citizen sent, fetched from Twilio once, is on the desk's ticket page:
    the photo as an image, the voice note in a player, each served with its type."""
    voice = b"OggS\x00\x02" + b"suara-warga" * 50
    world.citizen("Jalan di Desa Lohbener berlubang besar sejak bulan lalu")
    world.citizen("1")
    world.citizen("0")  # no location
    world.citizen("", media=[(twilio.add_media(JPEG), "image/jpeg")])
    world.citizen("", media=[(twilio.add_media(voice, "audio/ogg"), "audio/ogg")])
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    world.citizen("", media=[(twilio.add_media(svg, "image/svg+xml"), "image/svg+xml")])
    world.citizen("selesai")
    world.citizen("1")
    assert "nomor ICT-000001" in world.last_body()

    world.telegram_post(tg.group_text(PUPR, BUDI, "/dasbor"))
    link = next(
        m["text"] for m in reversed(telegram.sent_to(PUPR)) if "/desk/login/" in (m["text"] or "")
    )
    token = link.split("/desk/login/", 1)[1].split()[0]
    assert world.client.get(f"/desk/login/{token}").status_code == 303
    page = world.client.get("/desk/tickets/ICT-000001").get_data(as_text=True)
    assert '<img src="/desk/tickets/ICT-000001/files/0"' in page
    assert '<audio controls preload="none" src="/desk/tickets/ICT-000001/files/1">' in page
    photo = world.client.get("/desk/tickets/ICT-000001/files/0")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg" and photo.data == JPEG
    # a citizen's file never runs as part of the desk
    assert photo.headers["X-Content-Type-Options"] == "nosniff"
    assert photo.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    played = world.client.get("/desk/tickets/ICT-000001/files/1")
    assert played.status_code == 200 and played.mimetype == "audio/ogg" and played.data == voice
    drawing = world.client.get("/desk/tickets/ICT-000001/files/2")  # may carry script
    assert drawing.headers["Content-Disposition"] == "attachment"
    assert drawing.mimetype == "application/octet-stream" and drawing.data == svg
    assert world.client.get("/desk/tickets/ICT-000001/files/3").status_code == 404
    fetched = [r for r in twilio.media_requests if r.path.startswith("/2010-04-01/")]
    assert len(fetched) == 3  # fetched from Twilio once each, not again for the desk
