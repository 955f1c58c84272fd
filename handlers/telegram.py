"""Telegram: every quirk of the Bot API lives here and nowhere else.

Inbound: `POST /webhooks/telegram` (secret header checked in constant time)
or long polling; both turn one raw Update into an `Inbound` through
`parse_update` and hand it to `Ingest`, deduplicated by `update_id`.

Outbound: `TelegramSender` sends outbox rows with python-telegram-bot:
plain text (no parse mode, so no character a citizen types can break a
message), split at 4096 characters, cards edited in place, photos and
documents re-sent by file id, Telegram's rate limits respected, and its
errors turned into retry / follow the migration / give up.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, request
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest

from bot.config import Config
from bot.model import Attachment, Button, Inbound, Location, Outbound
from handlers.channels import Built, Wiring
from handlers.delivery import RetryLater, Sent, Undeliverable
from handlers.ingest import Ingest
from handlers.vcard import parse_vcard
from storage.clock import Clock, utc_now
from storage.connections import Databases
from storage.db import transaction
from storage.media import media
from storage.repository import SqliteStore

log = logging.getLogger(__name__)

TELEGRAM = "telegram"  # the channel name
TEXT_LIMIT = 4096
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/webhooks/telegram"
MAX_STORE_ATTEMPTS = 5  # polling: tries to store one update before it is skipped


# --------------------------------------------------------------------------
# Inbound: raw Update -> Inbound
# --------------------------------------------------------------------------


class InvalidUpdate(ValueError):
    """The body is not a Telegram Update we can read."""


@dataclass(frozen=True)
class ParsedUpdate:
    """What one Update means to us. `inbound` is None for updates we only note."""

    update_id: int
    inbound: Inbound | None = None
    callback_query_id: str = ""
    migration: tuple[str, str] | None = None  # (old chat id, new chat id)
    joined: tuple[str, str] | None = None  # (chat id, title) when the bot was added to a group


def parse_update(raw: Any) -> ParsedUpdate:
    """Read one Bot API Update (a JSON object); raises `InvalidUpdate` for anything else."""
    if not isinstance(raw, dict):
        raise InvalidUpdate("the body must be a JSON object")
    update_id = raw.get("update_id")
    if isinstance(update_id, bool) or not isinstance(update_id, int):
        raise InvalidUpdate("update_id must be an integer")
    try:
        return _interpret(_Raw(raw), update_id)
    except (AttributeError, TypeError, ValueError, KeyError, IndexError) as error:
        raise InvalidUpdate(f"malformed update: {type(error).__name__}") from None


class _Raw:
    """Attribute access over a raw Bot API object, named as python-telegram-bot names it
    (`from` is `from_user`). Reading the few fields we need straight from the JSON
    costs a fraction of building the full `Update` object on every webhook."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        return _raw(self._data.get("from" if name == "from_user" else name))


class _RawList:
    """A JSON array, its items wrapped only when read (a hostile body may nest deeply)."""

    __slots__ = ("_items",)

    def __init__(self, items: list[Any]) -> None:
        self._items = items

    def __getitem__(self, index: int) -> Any:
        return _raw(self._items[index])

    def __len__(self) -> int:
        return len(self._items)


def _raw(value: Any) -> Any:
    if isinstance(value, dict):
        return _Raw(value)
    if isinstance(value, list):
        return _RawList(value)
    return value


def _interpret(update: Any, update_id: int) -> ParsedUpdate:
    provider_id = str(update_id)
    if update.callback_query is not None:
        query = update.callback_query
        message = query.message
        if message is None or query.data is None:
            return ParsedUpdate(update_id, callback_query_id=_text(query.id))
        chat = message.chat
        user = query.from_user
        return ParsedUpdate(
            update_id,
            Inbound(
                channel=TELEGRAM,
                chat_id=_id(chat.id),
                provider_id=provider_id,
                sender_id=_id(user.id),
                sender_name=_full_name(user),
                is_group=chat.type != "private",
                button_data=_text(query.data)[:64],
            ),
            callback_query_id=_text(query.id),
        )
    if update.my_chat_member is not None:
        member = update.my_chat_member
        if member.new_chat_member.status in ("member", "administrator"):
            return ParsedUpdate(update_id, joined=(_id(member.chat.id), _text(member.chat.title)))
        return ParsedUpdate(update_id)
    message = update.message
    if message is None:  # edited messages, channel posts, ...: noted, not acted on
        return ParsedUpdate(update_id)
    chat = message.chat
    if message.migrate_to_chat_id:
        return ParsedUpdate(update_id, migration=(_id(chat.id), _id(message.migrate_to_chat_id)))
    if message.migrate_from_chat_id:
        return ParsedUpdate(update_id, migration=(_id(message.migrate_from_chat_id), _id(chat.id)))
    user = message.from_user
    if user is None or user.is_bot:
        return ParsedUpdate(update_id)
    reply = message.reply_to_message
    return ParsedUpdate(
        update_id,
        Inbound(
            channel=TELEGRAM,
            chat_id=_id(chat.id),
            provider_id=provider_id,
            sender_id=_id(user.id),
            sender_name=_full_name(user),
            text=_text(message.text) or _text(message.caption),
            is_group=chat.type != "private",
            attachments=_attachments(message),
            location=_location(message),
            reply_to_message_id=_id(reply.message_id) if reply is not None else "",
        ),
    )


# python-telegram-bot builds objects from whatever JSON it is given without checking
# types, so each field we keep is checked here: a number where Telegram sends text,
# or a latitude of 1e308, makes the update malformed instead of crashing the core.


def _text(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError("a text field is not text")
    return value


def _id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("an id is not an integer")
    return str(value)


def _full_name(user: Any) -> str:
    return " ".join(part for part in (_text(user.first_name), _text(user.last_name)) if part)


def _file_id(item: Any) -> str:
    file_id = _text(item.file_id)
    if not file_id:
        raise ValueError("a file without a file_id")
    return file_id


def _point(location: Any, address: str = "") -> Location:
    latitude, longitude = location.latitude, location.longitude
    for value, bound in ((latitude, 90), (longitude, 180)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not -bound <= value <= bound  # also false for NaN
        ):
            raise ValueError("a location off the map")
    return Location(float(latitude), float(longitude), address)


def _attachments(message: Any) -> tuple[Attachment, ...]:
    found: list[Attachment] = []
    if message.photo:
        found.append(Attachment("photo", _file_id(message.photo[-1]), "image/jpeg"))
    for kind, item in (
        ("voice", message.voice),
        ("voice", message.audio),
        ("video", message.video),
        ("video", message.video_note),
        ("document", message.document),
    ):
        if item is not None:
            found.append(
                Attachment(
                    kind,
                    _file_id(item),
                    _text(getattr(item, "mime_type", "")),
                    _text(getattr(item, "file_name", "")),
                )
            )
    if message.sticker is not None:
        found.append(Attachment("sticker", _file_id(message.sticker)))
    if message.contact is not None:  # a shared contact: its name and number, no file
        contact = message.contact
        number = _text(contact.phone_number).strip()
        if not number:
            raise ValueError("a contact without a phone number")
        name = " ".join(p for p in (_text(contact.first_name), _text(contact.last_name)) if p)
        found.append(Attachment("contact", f"tel:{number[:32]}", "text/vcard", name[:128]))
    return tuple(found)


def _location(message: Any) -> Location | None:
    if message.venue is not None:
        venue = message.venue
        address = ", ".join(part for part in (_text(venue.title), _text(venue.address)) if part)
        return _point(venue.location, address)
    if message.location is not None:
        return _point(message.location)
    return None


class TelegramReceiver:
    """Shared by the webhook and polling: one raw update into the core, once."""

    def __init__(self, ingest: Ingest, databases: Databases, clock: Clock = utc_now) -> None:
        self.ingest = ingest
        self.databases = databases
        self.clock = clock

    def receive(self, raw: Any) -> None:
        parsed = parse_update(raw)
        db = self.databases.get()
        store = SqliteStore(db)
        if parsed.migration is not None:
            old, new = parsed.migration
            original = store.original_chat(TELEGRAM, old)
            with transaction(db):
                store.record_chat_migration(TELEGRAM, original, new, self.clock())
            log.info("Telegram chat %s migrated to supergroup %s", old, new)
        if parsed.joined is not None:
            log.info(
                "bot added to Telegram group %r (chat id %s)", parsed.joined[1], parsed.joined[0]
            )
        answer: tuple[Outbound, ...] = ()
        if parsed.callback_query_id:
            chat = parsed.inbound.chat_id if parsed.inbound else ""
            answer = (
                Outbound(
                    TELEGRAM, chat, "", kind="callback_answer", topic=parsed.callback_query_id
                ),
            )
        if parsed.inbound is None:
            if answer:
                with transaction(db):
                    store.queue(answer[0], self.clock())
            return
        inbound = parsed.inbound
        if inbound.is_group:  # only groups migrate (to a supergroup): citizens' chats never do
            original = store.original_chat(TELEGRAM, inbound.chat_id)
            if original != inbound.chat_id:  # config.yaml still names the old group id
                inbound = replace(inbound, chat_id=original)
        self.ingest.receive(inbound, also_queue=answer)


def webhook_blueprint(receiver: TelegramReceiver, secret: str) -> Blueprint:
    """`POST /webhooks/telegram`: 403 without the secret, 400 for garbage, 200 once stored."""
    blueprint = Blueprint("telegram", __name__)
    expected = secret.encode()

    @blueprint.post(WEBHOOK_PATH)
    def telegram_webhook() -> tuple[Response, int]:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not expected or not hmac.compare_digest(given, expected):
            return jsonify({"error": "wrong or missing secret token"}), 403
        raw = request.get_json(silent=True, force=True)
        try:
            receiver.receive(raw)
        except InvalidUpdate as error:
            return jsonify({"error": str(error)}), 400
        return jsonify({"ok": True}), 200

    return blueprint


# --------------------------------------------------------------------------
# Outbound: outbox rows -> Bot API calls
# --------------------------------------------------------------------------


def utf16_length(text: str) -> int:
    """Telegram counts message length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split a long text into parts Telegram accepts, at a line or word break when possible."""
    parts: list[str] = []
    rest = text
    while utf16_length(rest) > limit:
        cut = _prefix_within(rest, limit)
        window = rest[:cut]
        breaks = [window.rfind("\n"), window.rfind(" ")]
        best = max(breaks)
        if best > cut // 2:
            cut = best + 1
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:]
    if rest.strip() or not parts:
        parts.append(rest)
    return parts


def fit(text: str, limit: int = TEXT_LIMIT) -> str:
    """`text` cut (with an ellipsis) to what one Telegram message holds."""
    if utf16_length(text) <= limit:
        return text
    return text[: _prefix_within(text, limit - 1)] + "…"


def _prefix_within(text: str, limit: int) -> int:
    """The longest prefix length (in characters) whose UTF-16 length is within `limit`."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def keyboard(outbound: Outbound) -> InlineKeyboardMarkup | None:
    if not outbound.buttons:
        return None
    return _markup(outbound.buttons)


@functools.lru_cache(maxsize=512)
def _markup(buttons: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup:
    """Telegram's keyboard for our buttons. Most replies carry one of a few menus (the
    category question has ~20 buttons), so each is built once; PTB's objects are
    immutable, so sharing them is safe."""
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.label[:64], callback_data=b.data[:64]) for b in row]
            for row in buttons
        ]
    )


@dataclass
class RateLimits:
    """Telegram's limits: ~30 messages/s overall, 20 a minute to one group."""

    overall_per_second: float = 30
    group_per_minute: float = 20
    group_period_seconds: float = 60


def make_bot(token: str, base_url: str | None, limits: RateLimits | None = None) -> ExtBot[None]:
    """A python-telegram-bot Bot honouring `TELEGRAM_API_BASE_URL` and Telegram's rate limits."""
    limits = limits or RateLimits()
    base = base_url or "https://api.telegram.org/bot"
    file_base = base[: -len("bot")] + "file/bot" if base.endswith("/bot") else base
    return ExtBot(
        token,
        base_url=base,
        base_file_url=file_base,
        request=HTTPXRequest(connection_pool_size=8, read_timeout=20, connect_timeout=10),
        get_updates_request=HTTPXRequest(read_timeout=40),
        rate_limiter=AIORateLimiter(
            overall_max_rate=limits.overall_per_second,
            overall_time_period=1,
            group_max_rate=limits.group_per_minute,
            group_time_period=limits.group_period_seconds,
            max_retries=0,
        ),
    )


class _Loop:
    """A private asyncio loop, run from one thread, for a python-telegram-bot Bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.loop = asyncio.new_event_loop()
        self.initialized = False
        self.lock = threading.Lock()

    def run(self, coroutine_factory: Callable[[], Any]) -> Any:
        with self.lock:
            if not self.initialized:
                self.loop.run_until_complete(self.bot.initialize())
                self.initialized = True
            return self.loop.run_until_complete(coroutine_factory())

    def close(self) -> None:
        with self.lock:
            if self.initialized:
                self.loop.run_until_complete(self.bot.shutdown())
            self.loop.close()


def _seconds(value: int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    """Delivers outbox rows to Telegram chats (citizens' private chats and staff groups)."""

    channel = TELEGRAM

    def __init__(self, bot: Bot, databases: Databases, clock: Clock = utc_now) -> None:
        self.runner = _Loop(bot)
        self.bot = bot
        self.databases = databases
        self.clock = clock

    def download(self, attachment: Attachment) -> tuple[bytes, str]:
        """The bytes of a file a Telegram user sent (for passing it on to another channel)."""

        async def fetch() -> bytes:
            file = await self.bot.get_file(attachment.ref)
            return bytes(await file.download_as_bytearray())

        try:
            data = self.runner.run(fetch)
        except TelegramError as error:
            raise RetryLater(f"Telegram file download failed: {type(error).__name__}") from None
        default = {"photo": "image/jpeg", "voice": "audio/ogg", "video": "video/mp4"}
        return data, attachment.mime or default.get(attachment.kind, "application/octet-stream")

    def send(self, outbound: Outbound, edit_message_id: str | None) -> Sent:
        db = self.databases.get()
        store = SqliteStore(db)
        chat_id = store.chat_of(TELEGRAM, outbound.chat_id)
        if edit_message_id is None:
            for attachment in outbound.attachments:
                if attachment.ref.startswith("media:"):
                    found = media(db, attachment.ref)
                    if found is not None and found.status == "pending":
                        raise RetryLater("an attachment is still being downloaded", 5)
        try:
            return self.runner.run(lambda: self._send(chat_id, outbound, edit_message_id))
        except RetryAfter as error:
            raise RetryLater("Telegram flood control", _seconds(error.retry_after)) from None
        except ChatMigrated as error:
            db = self.databases.get()
            with transaction(db):
                SqliteStore(db).record_chat_migration(
                    TELEGRAM, outbound.chat_id, str(error.new_chat_id), self.clock()
                )
            log.warning(
                "Telegram chat %s migrated to %s; resending there", chat_id, error.new_chat_id
            )
            raise RetryLater("group migrated to a supergroup", 0) from None
        except Forbidden as error:
            raise Undeliverable(f"Telegram: {error.message}", blocked=True) from None
        except BadRequest as error:
            raise Undeliverable(f"Telegram refused the message: {error.message}") from None
        except NetworkError as error:  # includes TimedOut
            raise RetryLater(f"Telegram unreachable: {type(error).__name__}") from None

    async def _send(self, chat_id: str, outbound: Outbound, edit_message_id: str | None) -> Sent:
        bot = self.bot
        if outbound.kind == "callback_answer":
            with contextlib.suppress(BadRequest):  # too old (over ~15 s): nothing to answer
                await bot.answer_callback_query(outbound.topic)
            return Sent([])
        markup = keyboard(outbound)
        if edit_message_id is not None:
            try:
                await bot.edit_message_text(
                    fit(outbound.text),
                    chat_id=chat_id,
                    message_id=int(edit_message_id),
                    reply_markup=markup,
                )
                return Sent([edit_message_id])
            except BadRequest as error:
                if "not modified" in error.message.lower():
                    return Sent([edit_message_id])
                log.info(
                    "card %s in %s cannot be edited (%s); sending anew",
                    edit_message_id,
                    chat_id,
                    error.message,
                )
        ids: list[str] = []
        if outbound.kind == "card":  # one message, so it can be edited in place later
            parts = [fit(outbound.text)]
        else:
            parts = split_text(outbound.text) if outbound.text else []
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            message = await bot.send_message(chat_id, part, reply_markup=markup if last else None)
            ids.append(str(message.message_id))
        for attachment in outbound.attachments:
            message_id = await self._send_attachment(chat_id, attachment)
            if message_id:
                ids.append(message_id)
        if outbound.location is not None and outbound.location.latitude is not None:
            message = await bot.send_location(
                chat_id, outbound.location.latitude, outbound.location.longitude
            )
            ids.append(str(message.message_id))
        if not ids:  # nothing to say (e.g. an attachment only another channel can show)
            message = await bot.send_message(chat_id, "📎")
            ids.append(str(message.message_id))
        return Sent(ids)

    async def _send_attachment(self, chat_id: str, attachment: Attachment) -> str:
        payload: Any = attachment.ref
        if attachment.ref.startswith("local:"):
            return ""  # a photo named on the local console: there is no file to send
        if attachment.kind == "contact" and attachment.ref.startswith("tel:"):
            number = attachment.ref.removeprefix("tel:")
            message = await self.bot.send_contact(chat_id, number, attachment.name or number)
            return str(message.message_id)
        if attachment.ref.startswith("media:"):  # received on another channel, fetched by us
            found = media(self.databases.get(), attachment.ref)
            if found is None or found.status != "stored":
                return ""
            payload = Path(found.path).read_bytes()
            if attachment.kind == "contact":  # a WhatsApp vCard: shown as a contact
                card = parse_vcard(payload)
                if card is not None:
                    name, number = card
                    message = await self.bot.send_contact(chat_id, number, name or number)
                    return str(message.message_id)
        sender = {
            "photo": self.bot.send_photo,
            "voice": self.bot.send_voice,
            "video": self.bot.send_video,
        }.get(attachment.kind, self.bot.send_document)
        message = await sender(chat_id, payload)
        return str(message.message_id)


# --------------------------------------------------------------------------
# Start-up: register the webhook, or poll
# --------------------------------------------------------------------------


@dataclass
class TelegramRuntime:
    """Registers the webhook on start, or runs long polling in a thread."""

    bot: Bot
    receiver: TelegramReceiver
    mode: str
    webhook_url: str = ""
    secret: str = ""
    poll_timeout: int = 25
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        target = self._register_webhook if self.mode == "webhook" else self._poll
        self._thread = threading.Thread(target=target, name=f"telegram-{self.mode}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.poll_timeout + 5)

    def _register_webhook(self) -> None:
        runner = _Loop(self.bot)
        delay = 1.0
        try:
            while not self._stop.is_set():
                try:
                    runner.run(
                        lambda: self.bot.set_webhook(
                            self.webhook_url,
                            secret_token=self.secret,
                            allowed_updates=ALLOWED_UPDATES,
                        )
                    )
                    log.info("Telegram webhook registered at %s", self.webhook_url)
                    return
                except TelegramError as error:
                    log.error(
                        "registering the Telegram webhook failed: %s; retrying in %.0fs",
                        error,
                        delay,
                    )
                    self._stop.wait(delay)
                    delay = min(delay * 2, 300)
        finally:
            runner.close()

    def _poll(self) -> None:
        runner = _Loop(self.bot)
        offset: int | None = None
        failures: dict[int, int] = {}
        try:
            runner.run(lambda: self.bot.delete_webhook())
            log.info("Telegram polling started")
            while not self._stop.is_set():
                try:
                    updates = runner.run(
                        lambda offset=offset: self.bot.get_updates(
                            offset=offset,
                            timeout=self.poll_timeout,
                            allowed_updates=ALLOWED_UPDATES,
                        )
                    )
                except RetryAfter as error:
                    self._stop.wait(_seconds(error.retry_after))
                    continue
                except TelegramError as error:
                    log.warning("Telegram polling failed: %s", error)
                    self._stop.wait(2)
                    continue
                for update in updates:
                    try:
                        self.receiver.receive(update.to_dict())
                    except InvalidUpdate as error:
                        log.warning("ignoring unreadable update %s: %s", update.update_id, error)
                    except Exception:
                        # Not stored: do not confirm it; Telegram hands it out again —
                        # unless it failed every time, so one bad update cannot stop the rest.
                        failures[update.update_id] = failures.get(update.update_id, 0) + 1
                        log.exception("storing update %s failed", update.update_id)
                        if failures[update.update_id] < MAX_STORE_ATTEMPTS:
                            self._stop.wait(2)
                            break
                        log.error(
                            "skipping update %s after %d failures",
                            update.update_id,
                            MAX_STORE_ATTEMPTS,
                        )
                    offset = update.update_id + 1  # stored before it is confirmed
        except TelegramError as error:
            log.error("Telegram polling stopped: %s", error)
        finally:
            runner.close()


# --------------------------------------------------------------------------
# The channel plug-in (handlers/channels.py)
# --------------------------------------------------------------------------


class TelegramChannel:
    """Telegram: citizens' private chats, and the staff groups."""

    name = TELEGRAM
    secrets = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET")
    hosts_staff = True
    external = True

    def off_reason(self, config: Config, environ: Mapping[str, str]) -> str | None:
        if not environ.get("TELEGRAM_BOT_TOKEN"):
            return "TELEGRAM_BOT_TOKEN is not set"
        if config.telegram.mode == "webhook" and not environ.get("TELEGRAM_WEBHOOK_SECRET"):
            return "telegram.mode is webhook but TELEGRAM_WEBHOOK_SECRET is not set"
        if config.telegram.mode == "webhook" and not config.service.public_url:
            return "telegram.mode is webhook but service.public_url is not set"
        return None

    def build(self, wiring: Wiring) -> Built:
        config, environ = wiring.config, wiring.environ
        token = environ["TELEGRAM_BOT_TOKEN"]
        secret = environ.get("TELEGRAM_WEBHOOK_SECRET", "")
        base_url = environ.get("TELEGRAM_API_BASE_URL") or None
        limits = wiring.options.get("telegram_limits")
        limits = limits if isinstance(limits, RateLimits) else None
        sender = TelegramSender(make_bot(token, base_url, limits), wiring.databases, wiring.clock)
        receiver = TelegramReceiver(wiring.ingest, wiring.databases, clock=wiring.clock)
        blueprints = (
            [webhook_blueprint(receiver, secret)] if config.telegram.mode == "webhook" else []
        )
        # The runtime gets a Bot of its own: it runs on its own thread and event loop,
        # and a Bot's connection pool belongs to the loop it was started on.
        runtime = TelegramRuntime(
            make_bot(token, base_url, limits),
            receiver,
            config.telegram.mode,
            webhook_url=config.service.public_url + WEBHOOK_PATH,
            secret=secret,
        )
        return Built(sender, blueprints, [runtime])


CHANNEL = TelegramChannel()
