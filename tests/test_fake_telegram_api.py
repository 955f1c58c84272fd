"""The Bot API stand-in behaves like Telegram, as seen through the real python-telegram-bot."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import AIORateLimiter, Application, CallbackQueryHandler, CommandHandler

from tests.fakes.telegram_api import (
    FakeTelegramApi,
    callback_query,
    group_migrated,
    group_photo,
    group_text,
    my_chat_member,
    private_contact,
    private_document,
    private_location,
    private_photo,
    private_sticker,
    private_text,
    private_voice,
)

T = TypeVar("T")

CITIZEN = 628123450001
AGENCY_GROUP = -1001000000001
STAFF = 5001
CARD_KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Ambil", callback_data="claim:ICT-000001"),
            InlineKeyboardButton("Selesai", callback_data="resolve:ICT-000001"),
        ]
    ]
)


@pytest.fixture
def api() -> Iterator[FakeTelegramApi]:
    with FakeTelegramApi() as fake:
        yield fake


def with_bot(api: FakeTelegramApi, scenario: Callable[[telegram.Bot], Awaitable[T]]) -> T:
    """Run ``scenario`` with an initialised real telegram.Bot pointed at the fake."""

    async def main() -> T:
        async with telegram.Bot(
            api.token, base_url=api.base_url, base_file_url=api.base_file_url
        ) as bot:
            return await scenario(bot)

    return asyncio.run(main())


def seconds(value: int | float | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def retry_after_of(error: RetryAfter) -> float:
    return seconds(error.retry_after)


# PTB 22 warns that RetryAfter.retry_after will become a timedelta; both forms are fine here.
ignore_retry_after_deprecation = pytest.mark.filterwarnings(
    "ignore::telegram.warnings.PTBDeprecationWarning"
)


def post(url: str, params: dict[str, Any], *, as_json: bool = False) -> tuple[int, dict]:
    """A raw Bot API request, as any HTTP client would send it."""
    if as_json:
        body, content_type = json.dumps(params).encode(), "application/json"
    else:
        body = urllib.parse.urlencode(params).encode()
        content_type = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_send_message_is_recorded_and_answered_like_telegram(api: FakeTelegramApi) -> None:
    async def scenario(bot: telegram.Bot) -> tuple[telegram.Message, telegram.Message]:
        first = await bot.send_message(CITIZEN, "Halo Siti", reply_markup=CARD_KEYBOARD)
        second = await bot.send_message(CITIZEN, "Pilih kategori", reply_to_message_id=1)
        return first, second

    first, second = with_bot(api, scenario)

    assert first.text == "Halo Siti" and first.entities == ()
    assert first.chat.id == CITIZEN and first.chat.type == "private"
    assert first.from_user.is_bot and first.from_user.username == api.bot_username
    assert first.reply_markup == CARD_KEYBOARD
    assert second.message_id > first.message_id
    sent = api.sent_to(CITIZEN)
    assert [m["text"] for m in sent] == ["Halo Siti", "Pilih kategori"]
    assert sent[0]["raw"] == "Halo Siti" and sent[0]["parse_mode"] is None
    assert sent[0]["reply_markup"] == {
        "inline_keyboard": [
            [
                {"text": "Ambil", "callback_data": "claim:ICT-000001"},
                {"text": "Selesai", "callback_data": "resolve:ICT-000001"},
            ]
        ]
    }
    assert sent[0]["message_id"] == first.message_id
    assert api.calls_to("getMe"), "Bot.initialize() calls getMe"
    assert api.sent_to(AGENCY_GROUP) == []


@pytest.mark.parametrize("mode", ["HTML", "MarkdownV2", "Markdown"])
def test_markup_is_refused_because_the_bot_sends_plain_text(
    api: FakeTelegramApi, mode: str
) -> None:
    with pytest.raises(BadRequest, match="plain text only"):
        with_bot(api, lambda bot: bot.send_message(CITIZEN, "Halo <b>Siti</b>", parse_mode=mode))
    [call] = api.calls_to("sendMessage")
    assert call.status == 400
    assert api.sent_to(CITIZEN) == []


def test_text_is_kept_as_sent_markup_characters_included(api: FakeTelegramApi) -> None:
    citizen_text = 'Lampu <mati> di "Jl. Sudirman" & AT&T <b> *murah* _a_ [x](y)'
    message = with_bot(api, lambda bot: bot.send_message(CITIZEN, citizen_text))
    assert message.text == citizen_text and message.entities == ()


def test_length_limits_count_utf16_units(api: FakeTelegramApi) -> None:
    with pytest.raises(BadRequest, match="Message is too long"):
        with_bot(api, lambda bot: bot.send_message(CITIZEN, "x" * 5000))
    with pytest.raises(BadRequest, match="Message is too long"):
        with_bot(api, lambda bot: bot.send_message(CITIZEN, "😀" * 2049))  # 4098 UTF-16 units
    with pytest.raises(BadRequest, match="Message text is empty"):
        with_bot(api, lambda bot: bot.send_message(CITIZEN, "  \n "))
    with pytest.raises(BadRequest, match="Message caption is too long"):
        with_bot(api, lambda bot: bot.send_photo(CITIZEN, "AgACphoto1", caption="y" * 1025))

    longest = with_bot(api, lambda bot: bot.send_message(CITIZEN, "x" * 4096))
    emoji = with_bot(api, lambda bot: bot.send_message(CITIZEN, "😀" * 2048))  # 4096 units
    assert len(longest.text) == 4096 and len(emoji.text) == 2048
    assert len(api.sent_to(CITIZEN)) == 2


def test_callback_data_over_64_bytes_is_refused(api: FakeTelegramApi) -> None:
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("Ambil", callback_data="c" * 65)]])
    just_fits = InlineKeyboardMarkup([[InlineKeyboardButton("Ambil", callback_data="é" * 32)]])

    with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
        with_bot(api, lambda bot: bot.send_message(AGENCY_GROUP, "kartu", reply_markup=too_long))
    card = with_bot(
        api, lambda bot: bot.send_message(AGENCY_GROUP, "kartu", reply_markup=just_fits)
    )

    assert card.reply_markup == just_fits


def test_edits_follow_telegram_rules(api: FakeTelegramApi) -> None:
    async def scenario(bot: telegram.Bot) -> telegram.Message:
        card = await bot.send_message(AGENCY_GROUP, "ICT-000001 — baru", reply_markup=CARD_KEYBOARD)
        with pytest.raises(BadRequest, match="Message is not modified"):
            await bot.edit_message_text(
                "ICT-000001 — baru", AGENCY_GROUP, card.message_id, reply_markup=CARD_KEYBOARD
            )
        with pytest.raises(BadRequest, match="Message to edit not found"):
            await bot.edit_message_text("x", AGENCY_GROUP, card.message_id + 1000)
        edited = await bot.edit_message_text("ICT-000001 — diambil", AGENCY_GROUP, card.message_id)
        assert edited.edit_date is not None and edited.reply_markup is None
        again = await bot.edit_message_text(
            "ICT-000001 — diambil", AGENCY_GROUP, card.message_id, reply_markup=CARD_KEYBOARD
        )
        assert again.reply_markup == CARD_KEYBOARD
        return card

    card = with_bot(api, scenario)

    [entry] = api.sent_to(AGENCY_GROUP)
    assert entry["message_id"] == card.message_id
    assert entry["message"]["text"] == "ICT-000001 — diambil"
    assert entry["message"]["reply_markup"] == CARD_KEYBOARD.to_dict()
    assert [c.status for c in api.calls_to("editMessageText")] == [400, 400, 200, 200]


@ignore_retry_after_deprecation
def test_retry_after_is_raised_then_the_call_succeeds(api: FakeTelegramApi) -> None:
    api.fail_next("sendMessage", chat_id=AGENCY_GROUP, error="retry_after", retry_after=7)

    async def scenario(bot: telegram.Bot) -> telegram.Message:
        with pytest.raises(RetryAfter) as refused:
            await bot.send_message(AGENCY_GROUP, "pengingat")
        assert retry_after_of(refused.value) == 7
        return await bot.send_message(AGENCY_GROUP, "pengingat")

    message = with_bot(api, scenario)

    assert message.text == "pengingat"
    failed, sent = api.calls_to("sendMessage")
    assert failed.status == 429 and failed.response["parameters"] == {"retry_after": 7}
    assert failed.description == "Too Many Requests: retry after 7"
    assert sent.ok and len(api.sent_to(AGENCY_GROUP)) == 1


@ignore_retry_after_deprecation
def test_group_send_limit_answers_429(api: FakeTelegramApi) -> None:
    api.limit_group_sends(per_minute=2)

    async def scenario(bot: telegram.Bot) -> None:
        await bot.send_message(AGENCY_GROUP, "satu")
        await bot.send_message(AGENCY_GROUP, "dua")
        await bot.send_message(CITIZEN, "private chats are not limited")
        with pytest.raises(RetryAfter) as refused:
            await bot.send_message(AGENCY_GROUP, "tiga")
        assert 0 < retry_after_of(refused.value) <= 60

    with_bot(api, scenario)


def test_migrated_group_raises_chat_migrated(api: FakeTelegramApi) -> None:
    new_id = -1009999999999
    api.fail_next("sendMessage", error="migrated", migrate_to_chat_id=new_id)
    api.chat_migrated(-4001, new_id)

    async def scenario(bot: telegram.Bot) -> telegram.Message:
        with pytest.raises(ChatMigrated) as once:
            await bot.send_message(-5001, "sekali")
        assert once.value.new_chat_id == new_id
        for _ in range(2):  # a migrated group stays migrated
            with pytest.raises(ChatMigrated) as always:
                await bot.send_message(-4001, "kartu")
            assert always.value.new_chat_id == new_id
        return await bot.send_message(new_id, "kartu")

    message = with_bot(api, scenario)

    assert message.chat.id == new_id and message.chat.type == "supergroup"
    assert api.calls_to("sendMessage")[1].description == (
        "Bad Request: group chat was upgraded to a supergroup chat"
    )


def test_blocked_user_and_kicked_bot_raise_forbidden(api: FakeTelegramApi) -> None:
    api.block(CITIZEN)
    api.fail_next("sendPhoto", chat_id=AGENCY_GROUP, error="forbidden")

    async def scenario(bot: telegram.Bot) -> None:
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(CITIZEN, "balasan dinas")
        with pytest.raises(Forbidden, match="bot was kicked from the supergroup chat"):
            await bot.send_photo(AGENCY_GROUP, "AgACphoto1")
        api.unblock(CITIZEN)
        await bot.send_message(CITIZEN, "balasan dinas")

    with_bot(api, scenario)

    assert [c.status for c in api.calls_to("sendMessage")] == [403, 200]


def test_server_errors_and_dropped_connections_raise_network_error(
    api: FakeTelegramApi,
) -> None:
    api.fail_next("sendMessage", error="server_error")
    api.fail_next("sendMessage", error="network")

    async def scenario(bot: telegram.Bot) -> None:
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(CITIZEN, "a")
        with pytest.raises(NetworkError):
            await bot.send_message(CITIZEN, "b")
        await bot.send_message(CITIZEN, "c")

    with_bot(api, scenario)

    assert [m["text"] for m in api.sent_to(CITIZEN)] == ["c"]


def test_webhook_registration_is_reflected_and_blocks_polling(api: FakeTelegramApi) -> None:
    url = "https://iceta.example.go.id/webhooks/telegram"

    async def scenario(bot: telegram.Bot) -> dict[str, Any]:
        assert await bot.set_webhook(
            url, secret_token="s3cret_token", allowed_updates=["message", "callback_query"]
        )
        registered = api.webhook
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates(timeout=0)
        assert await bot.delete_webhook()
        return registered

    registered = with_bot(api, scenario)

    assert registered["url"] == url and registered["secret"] == "s3cret_token"
    assert api.allowed_updates == ["message", "callback_query"]
    assert api.webhook == {}


def test_deliver_webhook_posts_the_update_with_the_secret(api: FakeTelegramApi) -> None:
    received: list[tuple[str | None, dict]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers.get("X-Telegram-Bot-Api-Secret-Token"), json.loads(body)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    update = private_text(CITIZEN, "halo")
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/telegram"
        with_bot(api, lambda bot: bot.set_webhook(url, secret_token="s3cret"))
        status, _ = api.deliver_webhook(update)
    finally:
        server.shutdown()
        server.server_close()

    assert status == 200
    assert received == [("s3cret", update)]


def test_get_updates_long_polls_until_an_update_is_pushed(api: FakeTelegramApi) -> None:
    update = private_text(CITIZEN, "Jalan berlubang di depan pasar")

    async def scenario(bot: telegram.Bot) -> tuple[tuple[Update, ...], float, tuple[Update, ...]]:
        timer = threading.Timer(0.3, api.push_update, args=(update,))
        started = time.monotonic()
        timer.start()
        try:
            updates = await bot.get_updates(timeout=5)
        finally:
            timer.cancel()
        waited = time.monotonic() - started
        confirmed = await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
        return updates, waited, confirmed

    updates, waited, confirmed = with_bot(api, scenario)

    assert 0.25 <= waited < 3
    assert [u.update_id for u in updates] == [update["update_id"]]
    assert updates[0].message.text == "Jalan berlubang di depan pasar"
    assert confirmed == ()
    assert api.pending_updates == []


def test_get_updates_honours_allowed_updates(api: FakeTelegramApi) -> None:
    api.push_update(my_chat_member(AGENCY_GROUP, STAFF, "member"))
    wanted = api.push_update(private_text(CITIZEN, "halo"))

    updates = with_bot(
        api, lambda bot: bot.get_updates(timeout=0, allowed_updates=["message", "callback_query"])
    )

    assert [u.update_id for u in updates] == [wanted["update_id"]]
    assert api.allowed_updates == ["message", "callback_query"]


def test_update_builders_parse_with_python_telegram_bot(api: FakeTelegramApi) -> None:
    card = with_bot(
        api,
        lambda bot: bot.send_message(AGENCY_GROUP, "ICT-000001", reply_markup=CARD_KEYBOARD),
    )
    [card_entry] = api.sent_to(AGENCY_GROUP)
    ack = with_bot(api, lambda bot: bot.send_message(CITIZEN, "Tiket ICT-000001 diterima"))
    bot = telegram.Bot(api.token, base_url=api.base_url)
    built = {
        "start": private_text(CITIZEN, "/start", username="siti_w"),
        "reply": private_text(CITIZEN, "sudah?", reply_to_message=api.sent_to(CITIZEN)[0]),
        "photo": private_photo(CITIZEN, "AgACphoto1", caption="lubang"),
        "location": private_location(CITIZEN, -6.3264, 108.32),
        "voice": private_voice(CITIZEN, "AwACvoice1", duration=7),
        "document": private_document(CITIZEN, "BQACdoc1", file_name="ktp.pdf"),
        "sticker": private_sticker(CITIZEN),
        "contact": private_contact(CITIZEN, "+628123450001"),
        "group": group_text(
            AGENCY_GROUP,
            STAFF,
            "/reply@iceta_test_bot ICT-000001 dikerjakan",
            reply_to_message=card_entry,
        ),
        "group_photo": group_photo(AGENCY_GROUP, STAFF, "AgACfix1", reply_to_message=card_entry),
        "press": callback_query(AGENCY_GROUP, STAFF, card_entry, "claim:ICT-000001"),
        "added": my_chat_member(AGENCY_GROUP, STAFF, "administrator"),
        "blocked": my_chat_member(CITIZEN, CITIZEN, "kicked", old_status="member"),
        "migrated": group_migrated(-4001, -1004001),
    }
    parsed = {name: Update.de_json(update, bot) for name, update in built.items()}

    ids = [update["update_id"] for update in built.values()]
    assert ids == sorted(set(ids))
    start = parsed["start"].message
    assert start.text == "/start" and start.chat.type == "private"
    assert start.from_user.first_name == "Siti" and start.from_user.username == "siti_w"
    assert start.parse_entities() == {start.entities[0]: "/start"}
    assert start.entities[0].type == "bot_command"
    reply = parsed["reply"].message.reply_to_message
    assert reply.message_id == ack.message_id and reply.from_user.is_bot
    assert reply.text == "Tiket ICT-000001 diterima"
    assert parsed["reply"].message.message_id > ack.message_id
    assert parsed["photo"].message.photo[-1].file_id == "AgACphoto1"
    assert parsed["photo"].message.caption == "lubang"
    assert parsed["location"].message.location.latitude == pytest.approx(-6.3264)
    assert parsed["voice"].message.voice.file_id == "AwACvoice1"
    assert parsed["document"].message.document.file_name == "ktp.pdf"
    assert parsed["sticker"].message.sticker.emoji
    assert parsed["contact"].message.contact.phone_number == "+628123450001"
    group = parsed["group"].message
    assert group.chat.type == "supergroup" and group.from_user.first_name == "Budi"
    assert group.entities[0].type == "bot_command"
    assert group.entities[0].length == len("/reply@iceta_test_bot")
    assert group.reply_to_message.message_id == card.message_id
    assert group.message_id > card.message_id, "builders and the fake share message ids"
    assert parsed["group_photo"].message.reply_to_message.text == "ICT-000001"
    press = parsed["press"].callback_query
    assert press.data == "claim:ICT-000001" and press.from_user.id == STAFF
    assert press.message.message_id == card.message_id
    assert press.message.reply_markup == CARD_KEYBOARD
    assert parsed["added"].my_chat_member.new_chat_member.status == "administrator"
    assert parsed["blocked"].my_chat_member.new_chat_member.status == "kicked"
    assert parsed["migrated"].message.migrate_to_chat_id == -1004001


def test_files_upload_and_download(api: FakeTelegramApi) -> None:
    path = api.add_file("AgACphoto1", b"\xff\xd8 jpeg from citizen", file_path="photos/file_1.jpg")

    async def scenario(bot: telegram.Bot) -> dict[str, Any]:
        citizen_photo = await bot.get_file("AgACphoto1")
        with pytest.raises(BadRequest, match="Invalid file_id"):
            await bot.get_file("no-such-file")
        return {
            "downloaded": bytes(await citizen_photo.download_as_bytearray()),
            "file": citizen_photo,
            "uploaded": await bot.send_photo(AGENCY_GROUP, b"\x89PNG card", caption="Foto lokasi"),
            "relayed": await bot.send_photo(AGENCY_GROUP, "AgACphoto1", caption="dari warga"),
            "voice": await bot.send_voice(AGENCY_GROUP, b"OggS voice", caption="suara warga"),
            "contact": await bot.send_contact(
                AGENCY_GROUP, phone_number="+6281398765432", first_name="Pak Kuwu"
            ),
            "document": await bot.send_document(CITIZEN, b"%PDF-1.4", filename="tiket.pdf"),
            "pin": await bot.send_location(AGENCY_GROUP, latitude=-6.3264, longitude=108.32),
        }

    result = with_bot(api, scenario)

    assert result["file"].file_path.endswith(path)
    assert result["downloaded"] == b"\xff\xd8 jpeg from citizen"
    uploaded = result["uploaded"]
    assert uploaded.caption == "Foto lokasi"
    assert api.file_content(uploaded.photo[-1].file_id) == b"\x89PNG card"
    assert result["relayed"].photo[-1].file_id == "AgACphoto1"
    assert api.file_content(result["voice"].voice.file_id) == b"OggS voice"
    assert result["contact"].contact.phone_number == "+6281398765432"
    assert result["document"].document.file_name == "tiket.pdf"
    assert result["pin"].location.longitude == pytest.approx(108.32)
    kinds = [m["kind"] for m in api.sent_to(AGENCY_GROUP)]
    assert kinds == ["photo", "photo", "voice", "contact", "location"]


def test_methods_the_bot_never_calls_are_not_served(api: FakeTelegramApi) -> None:
    """Sized to what the product uses: a method the bot does not call is a 404 here, so
    a change that starts calling one must model it in this stand-in first."""
    for method, params in (
        ("forwardMessage", {"chat_id": AGENCY_GROUP, "from_chat_id": CITIZEN, "message_id": 1}),
        ("sendMediaGroup", {"chat_id": AGENCY_GROUP, "media": "[]"}),
        ("setMyCommands", {"commands": "[]"}),
        ("deleteMessage", {"chat_id": AGENCY_GROUP, "message_id": 1}),
    ):
        status, body = post(f"{api.base_url}{api.token}/{method}", params)
        assert (status, body["ok"]) == (404, False), method
    assert api.sent_to(AGENCY_GROUP) == []


def test_callback_answers_are_single_use(api: FakeTelegramApi) -> None:
    async def scenario(bot: telegram.Bot) -> None:
        assert await bot.answer_callback_query("4382000000000000001", text="Diambil")
        with pytest.raises(BadRequest, match="Query is too old"):
            await bot.answer_callback_query("4382000000000000001")

    with_bot(api, scenario)


def test_unknown_method_wrong_token_and_json_bodies(api: FakeTelegramApi) -> None:
    status, body = post(f"{api.base_url}{api.token}/sendTelepathy", {"chat_id": CITIZEN})
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    status, body = post(f"{api.base_url}999:wrong/getMe", {})
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    status, body = post(
        f"{api.base_url}{api.token}/sendMessage",
        {"chat_id": CITIZEN, "text": "123", "reply_markup": {"inline_keyboard": []}},
        as_json=True,
    )
    assert status == 200 and body["result"]["text"] == "123"

    async def wrong_token() -> None:
        async with telegram.Bot("999:wrong", base_url=api.base_url):
            pass

    with pytest.raises(InvalidToken):
        asyncio.run(wrong_token())


def test_wait_for_returns_matches_and_explains_timeouts(api: FakeTelegramApi) -> None:
    with_bot(api, lambda bot: bot.send_message(CITIZEN, "halo"))

    call = api.wait_for(lambda c: c.params.get("text") == "halo", timeout=0.5)
    assert call.method == "sendMessage" and call.chat_id == CITIZEN
    with pytest.raises(AssertionError, match=f"200 sendMessage chat={CITIZEN} halo"):
        api.wait_for("editMessageText", timeout=0.2)
    api.clear()
    assert api.calls == []


def test_application_polls_replies_and_handles_button_presses(api: FakeTelegramApi) -> None:
    async def start(update: Update, context: Any) -> None:
        await update.effective_message.reply_text("Selamat datang", reply_markup=CARD_KEYBOARD)

    async def pressed(update: Update, context: Any) -> None:
        query = update.callback_query
        await query.answer("OK")
        await query.edit_message_text(f"Dipilih: {query.data}")

    async def main() -> telegram.Message:
        application = (
            Application.builder()
            .token(api.token)
            .base_url(api.base_url)
            .base_file_url(api.base_file_url)
            .rate_limiter(AIORateLimiter())
            .build()
        )
        application.add_handler(CommandHandler("start", start))
        application.add_handler(CallbackQueryHandler(pressed))
        async with application:
            await application.start()
            await application.updater.start_polling(poll_interval=0.0, timeout=1)
            api.push_update(private_text(CITIZEN, "/start"))
            [welcome] = await asyncio.to_thread(api.wait_for_sent, CITIZEN)
            api.push_update(callback_query(CITIZEN, CITIZEN, welcome, "claim:ICT-000001"))
            await asyncio.to_thread(api.wait_for, "editMessageText")
            await application.updater.stop()
            await application.stop()
        return welcome

    welcome = asyncio.run(main())

    assert welcome["text"] == "Selamat datang"
    assert welcome["reply_markup"] == CARD_KEYBOARD.to_dict()
    now = api.message(CITIZEN, welcome["message_id"])
    assert now is not None and now["text"] == "Dipilih: claim:ICT-000001"
    assert "reply_markup" not in now, "editing text without a keyboard removes it"
    [answer] = api.calls_to("answerCallbackQuery")
    assert answer.params["text"] == "OK"
    assert api.calls_to("deleteWebhook"), "run/start_polling clears the webhook first"
