"""Telegram end to end: the real python-telegram-bot talking HTTP to a local
stand-in of the Bot API, updates posted to the real `/webhooks/telegram` route,
a real SQLite file. Assertions are on what each chat received."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from bot.config import parse_config
from handlers.telegram import (
    SECRET_HEADER,
    RateLimits,
    TelegramRuntime,
    fit,
    split_text,
    utf16_length,
)
from run_bot import Service, build_service
from tests.fakes import telegram_api as tg
from tests.fakes.telegram_api import FakeTelegramApi
from tests.harness import TEST_CONFIG, Clock

SECRET = "webhook-secret-0123456789"
CITIZEN = 5550001
OTHER_CITIZEN = 5550002
PUPR = -1001000000001
DLH = -1001000000002
DISPATCH = -1001000000000
SUPERVISORS = -1001000000099
BUDI = 7770001

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class TelegramWorld:
    """The service, the fake Bot API and helpers to talk like Telegram does."""

    def __init__(
        self, service: Service, api: FakeTelegramApi, client: FlaskClient, mode: str = "webhook"
    ) -> None:
        self.service = service
        self.api = api
        self.client = client
        self.mode = mode

    def post(self, update: dict[str, Any], secret: str | None = SECRET) -> int:
        """Deliver an update as Telegram would in this mode: POST it, or hand it to getUpdates."""
        if self.mode == "polling":
            self.api.push_update(update)
            stored = "select 1 from seen_inbound where provider_id = ?"
            update_id = [str(update["update_id"])]
            deadline = time.monotonic() + 10
            while not self.rows(stored, update_id) and time.monotonic() < deadline:
                time.sleep(0.01)
            self.service.delivery.drain()
            return 200 if self.rows(stored, update_id) else 0
        headers = {SECRET_HEADER: secret} if secret is not None else {}
        status = self.client.post("/webhooks/telegram", json=update, headers=headers).status_code
        self.service.delivery.drain()
        return status

    def citizen(self, text: str, user: int = CITIZEN, **kwargs: Any) -> int:
        return self.post(tg.private_text(user, text, **kwargs))

    def press(self, chat_id: int, message: dict[str, Any], data: str, user: int = CITIZEN) -> int:
        name = "Siti" if user == CITIZEN else "Budi"
        return self.post(tg.callback_query(chat_id, user, message, data, first_name=name))

    def texts(self, chat_id: int) -> list[str]:
        return [m.get("text") or m.get("caption") or "" for m in self.api.sent_to(chat_id)]

    def last(self, chat_id: int) -> dict[str, Any]:
        return self.api.sent_to(chat_id)[-1]

    def card(self, chat_id: int, number: str = "ICT-000001") -> dict[str, Any]:
        cards = [
            m
            for m in self.api.sent_to(chat_id)
            if m["method"] == "sendMessage"
            and number in (m.get("text") or "")
            and "Kategori:" in m["text"]
        ]
        assert cards, self.api.dump()
        return cards[0]

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        return list(self.service.databases.get().query(sql, params or []))

    def file_complaint(
        self, text: str = "Jalan di Desa Lohbener berlubang besar sekali", user: int = CITIZEN
    ) -> None:
        self.citizen(text, user)
        for choice in ("1", "0", "0", "1"):
            self.citizen(choice, user)


def start_world(tmp_path: Path, api: FakeTelegramApi, mode: str = "webhook") -> TelegramWorld:
    raw = copy.deepcopy(TEST_CONFIG)
    raw["service"]["public_url"] = "https://iceta.example.go.id"
    raw["telegram"] = {"mode": mode}
    environ = api.environ(SECRET)
    limits = RateLimits(overall_per_second=1000, group_per_minute=1000, group_period_seconds=1)
    service = build_service(
        parse_config(raw), environ, tmp_path, options={"telegram_limits": limits}
    )
    return TelegramWorld(service, api, service.app.test_client(), mode)


@pytest.fixture
def api() -> Iterator[FakeTelegramApi]:
    with FakeTelegramApi() as fake:
        yield fake


@pytest.fixture
def world(tmp_path: Path, api: FakeTelegramApi) -> TelegramWorld:
    return start_world(tmp_path, api)


@pytest.fixture(params=["webhook", "polling"])
def any_mode(
    request: pytest.FixtureRequest, tmp_path: Path, api: FakeTelegramApi
) -> Iterator[TelegramWorld]:
    world = start_world(tmp_path, api, mode=request.param)
    if request.param == "polling":
        telegram_runtime(world).poll_timeout = 1
        telegram_runtime(world).start()
    yield world
    if request.param == "polling":
        telegram_runtime(world).stop()


def telegram_runtime(world: TelegramWorld) -> TelegramRuntime:
    runtime = world.service.runtime("telegram", TelegramRuntime)
    assert runtime is not None, "the Telegram channel is on"
    return runtime


def test_full_lifecycle(any_mode: TelegramWorld, api: FakeTelegramApi) -> None:
    world = any_mode
    assert world.citizen("/start") == 200
    welcome = world.last(CITIZEN)
    assert "Selamat datang di I-Ceta" in welcome["text"]
    labels = [row[0]["text"] for row in welcome["reply_markup"]["inline_keyboard"]]
    assert labels == ["1. Buat pengaduan baru", "2. Status pengaduan saya", "3. Bantuan"]

    world.citizen("Jalan di Desa Lohbener berlubang besar sejak bulan lalu")
    categories = world.last(CITIZEN)
    assert "1. Jalan dan jembatan rusak (disarankan)" in categories["text"]
    world.press(CITIZEN, categories["message"], "1")
    assert api.calls_to("answerCallbackQuery"), "the button press was not answered"
    assert "Di mana lokasinya" in world.last(CITIZEN)["text"]
    world.post(tg.private_location(CITIZEN, -6.3269, 108.3249))
    world.post(tg.private_photo(CITIZEN, "AgACAgUAAxkBAAIBphoto1"))
    assert "Foto diterima (1)" in world.last(CITIZEN)["text"]
    world.citizen("selesai")
    world.press(CITIZEN, world.last(CITIZEN)["message"], "1")
    acknowledgement = world.last(CITIZEN)["text"]
    assert "nomor ICT-000001" in acknowledgement and "Batas waktu tanggapan: " in acknowledgement

    card = world.card(PUPR)
    assert "Siti" in card["text"] and "Telegram" in card["text"]
    buttons = [b["text"] for row in card["reply_markup"]["inline_keyboard"] for b in row]
    assert buttons == ["Ambil", "Selesai", "Alihkan", "Bukan wewenang", "Tolak"]
    methods = [m["method"] for m in api.sent_to(PUPR)]
    assert "sendPhoto" in methods and "sendLocation" in methods
    photo = next(m for m in api.sent_to(PUPR) if m["method"] == "sendPhoto")
    assert photo["params"]["photo"] == "AgACAgUAAxkBAAIBphoto1"

    # the agency answers by replying to the card; an internal note and chatter stay inside
    world.post(
        tg.group_text(PUPR, BUDI, "Tim kami survei besok pagi", reply_to_message=card["message"])
    )
    assert "Tanggapan Dinas PUPR untuk ICT-000001:\nTim kami survei besok pagi" in world.texts(
        CITIZEN
    )
    world.post(tg.group_text(PUPR, BUDI, "/catatan ICT-000001 anggaran pemeliharaan cukup"))
    world.post(tg.group_text(PUPR, BUDI, "Siapa yang ke lapangan besok?"))
    assert not any("anggaran" in t or "lapangan" in t for t in world.texts(CITIZEN))
    edited = api.message(PUPR, card["message_id"])
    assert "Sudah ditanggapi" in edited["text"], "the card was not edited in place"

    world.press(PUPR, card["message"], "claim:1", user=BUDI)
    assert "Ditangani: Budi" in api.message(PUPR, card["message_id"])["text"]
    world.post(tg.group_text(PUPR, BUDI, "/selesai@iceta_test_bot ICT-000001 Sudah ditambal"))
    question = world.last(CITIZEN)
    assert (
        "sudah selesai ditangani" in question["text"]
        and "Catatan: Sudah ditambal" in question["text"]
    )
    world.press(CITIZEN, question["message"], "fixed:1:1")
    assert "Beri nilai layanan" in world.last(CITIZEN)["text"]
    world.citizen("5")
    world.citizen("Cepat dan rapi")
    assert "Terima kasih atas penilaian Anda" in world.last(CITIZEN)["text"]
    assert world.rows("select score, comment from ratings") == [
        {"score": 5, "comment": "Cepat dan rapi"}
    ]
    assert world.rows("select status from tickets") == [{"status": "closed"}]
    assert "Ditutup" in api.message(PUPR, card["message_id"])["text"]
    assert "5/5" in world.texts(PUPR)[-1]


def test_polling_mode_runs_the_same_conversation(tmp_path: Path, api: FakeTelegramApi) -> None:
    world = start_world(tmp_path, api, mode="polling")
    runtime = telegram_runtime(world)
    runtime.poll_timeout = 1
    runtime.start()
    try:
        api.push_update(
            tg.private_text(CITIZEN, "Sampah menumpuk di TPS Pasar Baru sudah seminggu")
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not world.rows(
            "select 1 from messages where direction = 'in'"
        ):
            time.sleep(0.05)
        world.service.delivery.drain()
        assert "2. Sampah dan kebersihan (disarankan)" in world.last(CITIZEN)["text"]
        assert api.calls_to("deleteWebhook"), "polling must remove a webhook first"
    finally:
        runtime.stop()


def test_webhook_is_registered_with_the_secret(world: TelegramWorld, api: FakeTelegramApi) -> None:
    runtime = telegram_runtime(world)
    runtime.start()
    api.wait_for("setWebhook")
    runtime.stop()
    assert api.webhook["url"] == "https://iceta.example.go.id/webhooks/telegram"
    [call] = api.calls_to("setWebhook")
    assert call.params["secret_token"] == SECRET
    assert set(call.params["allowed_updates"]) >= {"message", "callback_query"}


def test_wrong_or_missing_secret_and_garbage_are_refused(world: TelegramWorld) -> None:
    update = tg.private_text(CITIZEN, "halo")
    assert world.post(update, secret=None) == 403
    assert world.post(update, secret="wrong") == 403
    client = world.client
    headers = {SECRET_HEADER: SECRET}
    assert (
        client.post("/webhooks/telegram", data=b"\xff\x00not json", headers=headers).status_code
        == 400
    )
    assert client.post("/webhooks/telegram", json=[1, 2], headers=headers).status_code == 400
    assert (
        client.post("/webhooks/telegram", json={"update_id": "x"}, headers=headers).status_code
        == 400
    )
    assert (
        client.post(
            "/webhooks/telegram", json={"update_id": 1, "message": "nope"}, headers=headers
        ).status_code
        == 400
    )
    assert world.rows("select count(*) n from messages") == [{"n": 0}]
    assert world.rows("select count(*) n from seen_inbound") == [{"n": 0}]


def test_a_redelivered_update_is_handled_once(world: TelegramWorld, api: FakeTelegramApi) -> None:
    update = tg.private_text(CITIZEN, "halo")
    assert world.post(update) == 200
    assert world.post(update) == 200
    assert len(api.sent_to(CITIZEN)) == 1


HOSTILE = "<b>tebal</b> <script>alert(1)</script> & *_[]()~`>#+-=|{}.! 😡🚧 \\ &amp; <a href='x'>"


def test_hostile_text_reaches_the_agency_intact(world: TelegramWorld, api: FakeTelegramApi) -> None:
    unit = HOSTILE + " Jalan rusak parah. "
    long_text = unit * (5000 // len(unit) + 1)
    assert 5000 < len(long_text) < 8000
    world.file_complaint(long_text)
    card = world.card(PUPR)
    assert HOSTILE in card["text"]
    full = [
        m["text"]
        for m in api.sent_to(PUPR)
        if m["method"] == "sendMessage" and "Kategori:" not in m["text"]
    ]
    assert len(full) == 2 and all(utf16_length(part) <= 4096 for part in full)
    assert "".join(full).replace(" ", "") == long_text.replace(" ", "")
    # and the agency's hostile answer reaches the citizen untouched
    world.post(tg.group_text(PUPR, BUDI, HOSTILE, reply_to_message=card["message"]))
    assert world.texts(CITIZEN)[-1].endswith(HOSTILE)


def test_split_text_keeps_every_character() -> None:
    text = "😀" * 3000 + "\n" + "kata " * 400
    parts = split_text(text)
    assert all(utf16_length(p) <= 4096 for p in parts)
    assert "".join(parts).replace("\n", "").replace(" ", "") == text.replace("\n", "").replace(
        " ", ""
    )


def test_retry_after_waits_and_retries(world: TelegramWorld, api: FakeTelegramApi) -> None:
    clock = Clock(datetime.now(UTC) + timedelta(seconds=1))
    world.service.delivery.clock = clock
    api.fail_next("sendMessage", chat_id=CITIZEN, error="retry_after", retry_after=7)
    world.citizen("halo")
    assert world.texts(CITIZEN) == []
    [row] = world.rows(
        "select status, last_error, next_attempt_at from outbox where chat_id = '5550001'"
    )
    assert row["status"] == "pending" and "flood" in row["last_error"]
    clock.advance(seconds=6)
    world.service.delivery.drain()
    assert world.texts(CITIZEN) == []
    clock.advance(seconds=2)
    world.service.delivery.drain()
    assert "Selamat datang" in world.texts(CITIZEN)[0]


def test_a_migrated_group_is_followed_and_remembered(
    world: TelegramWorld, api: FakeTelegramApi
) -> None:
    new_id = -1009999999999
    api.chat_migrated(PUPR, new_id)
    world.file_complaint()
    card = world.card(new_id)
    assert world.rows("select old_chat_id, new_chat_id from chat_migrations") == [
        {"old_chat_id": str(PUPR), "new_chat_id": str(new_id)}
    ]
    # staff in the new supergroup are still Dinas PUPR
    world.post(tg.group_text(new_id, BUDI, "Segera kami cek", reply_to_message=card["message"]))
    assert world.texts(CITIZEN)[-1].endswith("Segera kami cek")
    assert not [m for m in api.sent_to(PUPR)], "nothing may go to the old group id"


def test_a_citizen_who_blocked_the_bot_is_reported_to_the_agency(
    world: TelegramWorld, api: FakeTelegramApi
) -> None:
    world.file_complaint()
    card = world.card(PUPR)
    api.block(CITIZEN)
    world.post(
        tg.group_text(PUPR, BUDI, "Mohon kirim foto lokasi", reply_to_message=card["message"])
    )
    assert "pelapor memblokir bot" in world.texts(PUPR)[-1]
    assert world.rows("select count(*) n from outbox where status = 'failed'") == [{"n": 1}]


def test_network_errors_retry_with_backoff_then_give_up_loudly(
    world: TelegramWorld, api: FakeTelegramApi
) -> None:
    world.file_complaint()
    card = world.card(PUPR)
    clock = Clock(datetime.now(UTC) + timedelta(seconds=1))
    world.service.delivery.clock = clock
    api.fail_next("sendMessage", chat_id=CITIZEN, error="server_error", times=50)
    world.post(tg.group_text(PUPR, BUDI, "Kami datang jam 10", reply_to_message=card["message"]))
    for _ in range(10):
        clock.advance(minutes=11)
        world.service.delivery.drain()
    assert "gagal dikirim" in world.texts(PUPR)[-1]
    health = world.client.get("/healthz").json
    assert health["outbox"]["failed"] == 1
    assert health["channels"]["telegram"] is True


def test_an_agency_acts_only_on_its_own_tickets(world: TelegramWorld, api: FakeTelegramApi) -> None:
    world.file_complaint()
    assert world.card(PUPR)
    world.post(tg.group_text(DLH, BUDI, "/selesai ICT-000001"))
    assert "bukan tiket instansi ini" in world.texts(DLH)[-1]
    world.post(tg.group_text(DLH, BUDI, "/tolak ICT-000001 spam"))
    assert world.rows("select status from tickets") == [{"status": "assigned"}]


def test_supervisor_commands_only_in_supervisor_chats(world: TelegramWorld) -> None:
    world.file_complaint()
    world.post(tg.group_text(PUPR, BUDI, "/terlambat"))
    assert "hanya untuk grup pimpinan" in world.texts(PUPR)[-1]
    world.post(tg.group_text(SUPERVISORS, BUDI, "/overdue"))
    assert "Tidak ada tiket yang terlambat" in world.texts(SUPERVISORS)[-1]


def test_stickers_and_status_of_someone_elses_ticket(world: TelegramWorld) -> None:
    world.file_complaint()
    world.post(tg.private_sticker(OTHER_CITIZEN))
    assert "Terima kasih stikernya" in world.texts(OTHER_CITIZEN)[-1]
    world.citizen("status ICT-000001", user=OTHER_CITIZEN)
    assert world.texts(OTHER_CITIZEN)[-1] == "Pengaduan ICT-000001 tidak ditemukan."


def test_a_card_stays_one_message_however_long_and_edits_in_place(
    world: TelegramWorld, api: FakeTelegramApi
) -> None:
    world.file_complaint("🚧" * 1400 + " jalan rusak")
    world.post(tg.group_text(PUPR, BUDI, "/alamat"))  # noise in the group
    cards = [m for m in api.sent_to(PUPR) if m.get("reply_markup")]
    assert len(cards) == 1 and utf16_length(cards[0]["text"]) <= 4096
    world.press(PUPR, cards[0]["message"], "claim:1", user=BUDI)
    edited = api.message(PUPR, cards[0]["message_id"])
    assert "Ditangani: Budi" in edited["text"]
    assert edited["reply_markup"]["inline_keyboard"][0][0]["text"] == "Selesai"


def test_fit_cuts_by_telegrams_utf16_count() -> None:
    assert fit("halo") == "halo"
    cut = fit("😀" * 3000)
    assert utf16_length(cut) <= 4096 and cut.endswith("…") and cut.startswith("😀" * 2000)


# --- every real message shape (payloads shaped as the Bot API sends them) -----------


def _private(update_kind: str = "message", **content: Any) -> dict[str, Any]:
    """A private-chat update from the citizen with `content` as Telegram nests it."""
    message = {
        "message_id": int(time.time() * 1000) % 1_000_000_000,
        "from": {"id": CITIZEN, "is_bot": False, "first_name": "Siti", "language_code": "id"},
        "chat": {"id": CITIZEN, "first_name": "Siti", "type": "private"},
        "date": int(time.time()),
        **content,
    }
    return {"update_id": tg._next_update_id(), update_kind: message}


def _file(file_id: str, **extra: Any) -> dict[str, Any]:
    return {"file_id": file_id, "file_unique_id": f"u-{file_id[-8:]}", "file_size": 20_480, **extra}


def _file_then_describe(world: TelegramWorld, update: dict[str, Any]) -> None:
    assert world.post(update) == 200
    assert "Lampiran diterima" in world.texts(CITIZEN)[-1]
    world.file_complaint("Jalan di Desa Lohbener berlubang besar sekali")


def test_a_shared_contact_reaches_the_agency_as_name_and_number(
    world: TelegramWorld, api: FakeTelegramApi
) -> None:
    contact = {"phone_number": "6281398765432", "first_name": "Darso", "last_name": "Kuwu"}
    assert world.post(_private(contact=contact)) == 200
    assert world.texts(CITIZEN)[-1] == (
        "Kontak Darso Kuwu diterima dan dilampirkan pada pengaduan. "
        "Sekarang ceritakan masalahnya dengan teks."
    )
    world.file_complaint("Jembatan penghubung dua desa putus, hubungi kuwu untuk lokasinya")
    assert "👤 Kontak dari warga: Darso Kuwu 6281398765432" in world.card(PUPR)["text"]
    [sent] = [m for m in api.sent_to(PUPR) if m["method"] == "sendContact"]
    assert sent["params"]["phone_number"] == "6281398765432"
    assert sent["params"]["first_name"] == "Darso Kuwu"


def test_a_voice_note_is_attached_and_relayed(world: TelegramWorld, api: FakeTelegramApi) -> None:
    voice = _file("AwACAgUAAxkBAAIvoicenote1", duration=6, mime_type="audio/ogg")
    _file_then_describe(world, _private(voice=voice))
    [sent] = [m for m in api.sent_to(PUPR) if m["method"] == "sendVoice"]
    assert sent["params"]["voice"] == "AwACAgUAAxkBAAIvoicenote1"


def test_a_video_note_is_attached_and_relayed(world: TelegramWorld, api: FakeTelegramApi) -> None:
    video_note = _file("DQACAgUAAxkBAAIvideonote", duration=9, length=240)
    _file_then_describe(world, _private(video_note=video_note))
    [sent] = [m for m in api.sent_to(PUPR) if m["method"] == "sendVideo"]
    assert sent["params"]["video"] == "DQACAgUAAxkBAAIvideonote"


def test_a_document_with_its_caption_is_the_complaint(
    world: TelegramWorld, api: FakeTelegramApi
) -> None:
    document = _file("BQACAgUAAxkBAAIdocument", file_name="surat.pdf", mime_type="application/pdf")
    world.post(_private(document=document, caption="Surat permohonan perbaikan jalan desa kami"))
    assert "kategori apa" in world.texts(CITIZEN)[-1]
    for choice in ("1", "0", "0", "1"):
        world.citizen(choice)
    [sent] = [m for m in api.sent_to(PUPR) if m["method"] == "sendDocument"]
    assert sent["params"]["document"] == "BQACAgUAAxkBAAIdocument"
    assert "Surat permohonan perbaikan jalan desa kami" in world.card(PUPR)["text"]


def test_a_venue_is_the_location_with_its_name(world: TelegramWorld, api: FakeTelegramApi) -> None:
    world.citizen("Jalan di depan pasar berlubang besar sekali")
    world.citizen("1")
    point = {"latitude": -6.3268, "longitude": 108.3252}
    venue = {"location": point, "title": "Pasar Baru Indramayu", "address": "Jl. Letjen Suprapto"}
    world.post(_private(location=point, venue=venue))
    assert "Kirim foto" in world.texts(CITIZEN)[-1]
    world.citizen("0")
    world.citizen("1")
    assert "Pasar Baru Indramayu, Jl. Letjen Suprapto" in world.card(PUPR)["text"]
    [pin] = [m for m in api.sent_to(PUPR) if m["method"] == "sendLocation"]
    assert float(pin["params"]["latitude"]) == -6.3268


def test_a_forwarded_message_is_read_as_the_citizens_text(world: TelegramWorld) -> None:
    origin = {
        "type": "user",
        "sender_user": {"id": 5550077, "is_bot": False, "first_name": "Tetangga"},
        "date": int(time.time()) - 3600,
    }
    world.post(
        _private(forward_origin=origin, text="Sampah di TPS Desa Kenanga sudah menumpuk seminggu")
    )
    assert "Saran kami: 2. Sampah dan kebersihan ⭐" in world.texts(CITIZEN)[-1]


def test_edits_and_reactions_are_noted_and_change_nothing(world: TelegramWorld) -> None:
    world.citizen("Jalan di Desa Lohbener berlubang besar sekali")
    before = world.texts(CITIZEN)
    edited = _private("edited_message", text="Jalan di Desa Lohbener berlubang", edit_date=1)
    assert world.post(edited) == 200
    reaction = {
        "chat": {"id": CITIZEN, "first_name": "Siti", "type": "private"},
        "message_id": 7,
        "user": {"id": CITIZEN, "is_bot": False, "first_name": "Siti"},
        "date": int(time.time()),
        "old_reaction": [],
        "new_reaction": [{"type": "emoji", "emoji": "👍"}],
    }
    assert world.post({"update_id": tg._next_update_id(), "message_reaction": reaction}) == 200
    assert world.texts(CITIZEN) == before  # no answer to either
    assert world.rows("select state from conversations") == [{"state": "category"}]
    world.citizen("1")  # the draft goes on as before
    assert "Di mana lokasinya" in world.texts(CITIZEN)[-1]


def test_a_reply_to_the_acknowledgement_goes_to_that_ticket(
    world: TelegramWorld, api: FakeTelegramApi
) -> None:
    world.file_complaint()
    acknowledgement = world.last(CITIZEN)["message"]
    world.post(tg.private_text(CITIZEN, "Lubangnya makin besar", reply_to_message=acknowledgement))
    assert "Tambahan informasi untuk ICT-000001 sudah diteruskan" in world.texts(CITIZEN)[-1]
    assert any("Lubangnya makin besar" in text for text in world.texts(PUPR))
