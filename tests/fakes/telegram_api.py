"""A local stand-in for the Telegram Bot API, for end-to-end tests.

The real python-telegram-bot talks HTTP to it on 127.0.0.1::

    with FakeTelegramApi() as api:
        bot = telegram.Bot(api.token, base_url=api.base_url, base_file_url=api.base_file_url)
        api.push_update(private_text(111, "halo"))      # served by getUpdates
        api.wait_for_sent(111)                           # what the citizen got

It answers like Telegram (same JSON shapes, status codes and error descriptions), records
every call, validates what the bot sends (length limits counted in UTF-16 code units,
callback_data size) and injects the failures a bot must survive: 429 retry_after, group
migrated to a supergroup, bot blocked, 5xx and dropped connections.

Sized to what the bot uses: it sends plain text, so a call with ``parse_mode`` or entities
is refused (a change that starts sending markup must model it here first).

Only the standard library is used. Update builders (``private_text``, ``callback_query``...)
at the bottom of the module return dicts shaped exactly like Bot API ``Update`` JSON.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import re
import socket
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from email.message import Message as _MimeHeaders
from email.utils import collapse_rfc2231_value
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = [
    "DEFAULT_BOT_USERNAME",
    "DEFAULT_TOKEN",
    "ApiCall",
    "FakeTelegramApi",
    "UploadedFile",
    "callback_query",
    "chat_member",
    "group_migrated",
    "group_photo",
    "group_text",
    "my_chat_member",
    "private_contact",
    "private_document",
    "private_location",
    "private_photo",
    "private_sticker",
    "private_text",
    "private_voice",
    "utf16_len",
]

JsonDict = dict[str, Any]

DEFAULT_TOKEN = "123456:TEST-token"
DEFAULT_BOT_USERNAME = "iceta_test_bot"
DEFAULT_BOT_FIRST_NAME = "I-Ceta Bot"

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
FAILURE_KINDS = frozenset(
    {"retry_after", "migrated", "forbidden", "bad_request", "server_error", "network"}
)
# Kinds of message content, in the order Telegram objects are checked.
CONTENT_KINDS = (
    "text",
    "photo",
    "document",
    "voice",
    "video",
    "audio",
    "animation",
    "sticker",
    "venue",
    "location",
    "contact",
)
_MEDIA_KINDS = ("photo", "document", "voice", "video", "audio", "animation", "sticker")
_CONTENT_KEYS = frozenset(CONTENT_KINDS) | {"entities", "caption", "caption_entities"}
_FILE_ID_PREFIXES = {
    "photo": "AgACAgUAAxk",
    "document": "BQACAgUAAxk",
    "voice": "AwACAgUAAxk",
    "video": "BAACAgUAAxk",
    "audio": "CQACAgUAAxk",
    "animation": "CgACAgUAAxk",
    "sticker": "CAACAgUAAxk",
}
_FILE_FOLDERS = {
    "photo": ("photos", ".jpg"),
    "document": ("documents", ""),
    "voice": ("voice", ".oga"),
    "video": ("videos", ".mp4"),
    "audio": ("music", ".mp3"),
    "animation": ("animations", ".mp4"),
    "sticker": ("stickers", ".webp"),
}
_DEFAULT_MIME = {
    "document": "application/octet-stream",
    "voice": "audio/ogg",
    "video": "video/mp4",
    "audio": "audio/mpeg",
    "animation": "video/mp4",
}
# Parameters that are plain strings on the wire; everything else is JSON-encoded by clients.
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "url",
        "secret_token",
        "callback_query_id",
        "inline_message_id",
        "file_id",
        "title",
        "address",
        "description",
        "short_description",
        "name",
        "action",
        "language_code",
        "emoji",
        "ip_address",
        "phone_number",
        "first_name",
        "last_name",
        "vcard",
        "performer",
        "foursquare_id",
        "foursquare_type",
        "google_place_id",
        "google_place_type",
        "business_connection_id",
        "message_effect_id",
        *_MEDIA_KINDS,
        "video_note",
        "thumbnail",
        "certificate",
    }
)
_DEFAULT_ALLOWED_UPDATES_EXCLUDED = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)
_CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
_CONFLICT_POLLING = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


# --------------------------------------------------------------------------------------------
# Errors and small helpers
# --------------------------------------------------------------------------------------------


class _ApiError(Exception):
    """An error answer of the Bot API: HTTP status, description and optional parameters."""

    def __init__(self, code: int, description: str, parameters: JsonDict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> JsonDict:
        body: JsonDict = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad_request(detail: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {detail}")


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram counts in."""
    return len(text.encode("utf-16-le")) // 2


def _chat_key(value: Any) -> int:
    """Normalise a chat_id parameter (int, numeric string or @username) to an int."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        stripped = value.strip()
        if re.fullmatch(r"-?\d+", stripped):
            return int(stripped)
        if stripped.startswith("@") and len(stripped) > 1:
            # Public usernames resolve to a stable (fake) channel/supergroup id.
            return -(1_000_000_000_000 + zlib.crc32(stripped.lower().encode()) % 10**9)
    raise _bad_request("chat not found")


def _int_param(params: JsonDict, name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad_request(f'parameter "{name}" must be a Number') from None


def _unique_id(file_id: str) -> str:
    return "AgAD" + hashlib.sha1(file_id.encode()).hexdigest()[:12]


def _default_chat(chat_id: int) -> JsonDict:
    if chat_id > 0:
        return {"id": chat_id, "first_name": f"User {chat_id}", "type": "private"}
    return {"id": chat_id, "title": f"Group {chat_id}", "type": "supergroup"}


def _content_kind(message: JsonDict) -> str | None:
    return next((kind for kind in CONTENT_KINDS if kind in message), None)


# --------------------------------------------------------------------------------------------
# Text: the bot sends plain text only, so this stand-in parses no markup
# --------------------------------------------------------------------------------------------


def _trimmed(text: str, entities: list[JsonDict]) -> tuple[str, list[JsonDict]]:
    """Strip surrounding whitespace like Telegram does, shifting entities accordingly."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text) - utf16_len(text.lstrip())
    size = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        end = min(size, entity["offset"] + entity["length"] - lead)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


# --------------------------------------------------------------------------------------------
# Request parsing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (what python-telegram-bot sends for InputFile)."""

    field: str
    filename: str
    content_type: str
    content: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.content)


def _decode_param(name: str, value: str) -> Any:
    """Turn one form value back into its JSON type (clients JSON-encode non-string values)."""
    if name in _STRING_PARAMS:
        return value
    if name in ("chat_id", "from_chat_id"):
        return int(value) if re.fullmatch(r"-?\d+", value.strip()) else value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _header_param(header: str, name: str, param: str) -> str | None:
    headers = _MimeHeaders()
    headers[name] = header
    value = headers.get_param(param, header=name)
    if value is None or isinstance(value, str):
        return value
    return collapse_rfc2231_value(value)


def _parse_multipart(body: bytes, content_type: str) -> JsonDict:
    boundary = _header_param(content_type, "content-type", "boundary")
    if not boundary:
        raise _bad_request("can't parse multipart/form-data request")
    params: JsonDict = {}
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    for part in (b"\r\n" + body).split(delimiter)[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = _header_param(disposition, "content-disposition", "name")
        if not name:
            continue
        filename = _header_param(disposition, "content-disposition", "filename")
        if filename is None:
            params[name] = content.decode("utf-8")
        else:
            params[name] = UploadedFile(
                field=name,
                filename=filename,
                content_type=headers.get("content-type", "application/octet-stream"),
                content=content,
            )
    return params


def _parse_params(query: str, content_type: str, body: bytes) -> JsonDict:
    raw: JsonDict = dict(parse_qsl(query, keep_blank_values=True))
    media_type = content_type.split(";")[0].strip().lower()
    if body:
        if media_type == "application/json":
            try:
                loaded = json.loads(body)
            except ValueError:
                raise _bad_request("can't parse JSON encoded request") from None
            if not isinstance(loaded, dict):
                raise _bad_request("can't parse JSON encoded request")
            raw.update(loaded)
        elif media_type == "multipart/form-data":
            raw.update(_parse_multipart(body, content_type))
        else:
            raw.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return {
        name: _decode_param(name, value) if isinstance(value, str) else value
        for name, value in raw.items()
    }


# --------------------------------------------------------------------------------------------
# Recorded calls and internal state
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiCall:
    """One recorded Bot API request and what the fake answered."""

    method: str
    params: JsonDict
    at: float
    status: int = 200
    response: JsonDict = field(default_factory=dict, repr=False)
    messages: tuple[JsonDict, ...] = field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> int | None:
        try:
            return _chat_key(self.params.get("chat_id"))
        except _ApiError:
            return None

    @property
    def description(self) -> str | None:
        return self.response.get("description")


@dataclass
class _Failure:
    method: str  # lower-case method name or "*"
    chat_id: int | None
    remaining: int
    error: str
    retry_after: int
    migrate_to_chat_id: int | None
    description: str | None

    def matches(self, method: str, chat_id: int | None) -> bool:
        if self.method not in ("*", method):
            return False
        return self.chat_id is None or self.chat_id == chat_id

    def to_error(self, chat_id: int | None) -> _ApiError:
        if self.error == "retry_after":
            return _ApiError(
                429,
                self.description or f"Too Many Requests: retry after {self.retry_after}",
                {"retry_after": self.retry_after},
            )
        if self.error == "migrated":
            new_id = self.migrate_to_chat_id or _supergroup_id(chat_id)
            return _migrated_error(new_id, self.description)
        if self.error == "forbidden":
            return _ApiError(403, self.description or _forbidden_description(chat_id))
        if self.error == "server_error":
            return _ApiError(502, self.description or "Bad Gateway")
        return _ApiError(400, self.description or "Bad Request: chat not found")


def _supergroup_id(chat_id: int | None) -> int:
    return int(f"-100{abs(chat_id)}") if chat_id else -1001234567890


def _migrated_error(new_chat_id: int, description: str | None = None) -> _ApiError:
    return _ApiError(
        400,
        description or "Bad Request: group chat was upgraded to a supergroup chat",
        {"migrate_to_chat_id": new_chat_id},
    )


def _forbidden_description(chat_id: int | None) -> str:
    if chat_id is not None and chat_id < 0:
        return "Forbidden: bot was kicked from the supergroup chat"
    return "Forbidden: bot was blocked by the user"


@dataclass
class _StoredFile:
    file_id: str
    file_path: str
    content: bytes | None
    file_name: str | None = None
    mime_type: str | None = None

    @property
    def file_unique_id(self) -> str:
        return _unique_id(self.file_id)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, api: FakeTelegramApi, host: str) -> None:
        self.api = api
        super().__init__((host, 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-request (cancelled long polls) are normal here.
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without this, Nagle + delayed ACK
        # stall every response by ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.api._track(self.connection, add=True)

    def finish(self) -> None:
        with suppress(OSError):
            super().finish()
        self.server.api._track(self.connection, add=False)

    def do_POST(self) -> None:
        self.server.api._serve_http(self)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass


# --------------------------------------------------------------------------------------------
# The fake Bot API
# --------------------------------------------------------------------------------------------


class FakeTelegramApi:
    """A Bot API server on 127.0.0.1 that records calls and answers like Telegram.

    Use as a context manager (or ``start()`` / ``stop()``). Point python-telegram-bot at
    ``base_url`` and ``base_file_url``. All public methods are thread-safe.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_username: str = DEFAULT_BOT_USERNAME,
        bot_first_name: str = DEFAULT_BOT_FIRST_NAME,
        strict_webhook: bool = False,
        host: str = "127.0.0.1",
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        self.bot_username = bot_username
        self.bot_user: JsonDict = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.strict_webhook = strict_webhook
        self.host = host

        self._cond = threading.Condition(threading.RLock())
        self._local = threading.local()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._stopping = False
        self._connections: set[socket.socket] = set()

        self._calls: list[ApiCall] = []
        self._messages: dict[tuple[int, int], JsonDict] = {}
        self._deleted: dict[tuple[int, int], JsonDict] = {}  # last state of deleted messages
        self._chats: dict[int, JsonDict] = {}
        self._files: dict[str, _StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._updates: list[JsonDict] = []
        self._poll_generation = 0
        self._allowed_updates: list[str] = []
        self._webhook: JsonDict = {}
        self._answered_callbacks: set[str] = set()
        self._failures: list[_Failure] = []
        self._migrated: dict[int, int] = {}
        self._blocked: set[int] = set()
        self._group_limit: int | None = None
        self._group_sends: dict[int, list[float]] = {}
        self._media_groups = itertools.count(13_000_000_000_000_001)

        handlers: dict[str, Callable[[JsonDict], Any]] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "sendPhoto": lambda p: self._send_media(p, "photo"),
            "sendDocument": lambda p: self._send_media(p, "document"),
            "sendVoice": lambda p: self._send_media(p, "voice"),
            "sendVideo": lambda p: self._send_media(p, "video"),
            "sendLocation": self._send_location,
            "sendContact": self._send_contact,
            "editMessageText": self._edit_message_text,
            "answerCallbackQuery": self._answer_callback_query,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getUpdates": self._get_updates,
            "getFile": self._get_file,
        }
        self._handlers = {name.lower(): handler for name, handler in handlers.items()}

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeTelegramApi:
        """Start serving on an ephemeral port (idempotent)."""
        if self._server is not None:
            return self
        with self._cond:
            self._stopping = False
        server = _Server(self, self.host)
        self._server = server
        self._port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-telegram-api:{self._port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; pending long polls return empty and open connections are closed."""
        server = self._server
        if server is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            connections = list(self._connections)
        server.shutdown()
        server.server_close()
        for connection in connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeTelegramApi:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeTelegramApi is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """Bot API base for python-telegram-bot (it appends the token and "/method")."""
        return f"http://{self.host}:{self.port}/bot"

    def environ(self, webhook_secret: str) -> dict[str, str]:
        """The environment that points I-Ceta's Telegram channel at this stand-in."""
        return {
            "TELEGRAM_BOT_TOKEN": self.token,
            "TELEGRAM_WEBHOOK_SECRET": webhook_secret,
            "TELEGRAM_API_BASE_URL": self.base_url,
        }

    @property
    def base_file_url(self) -> str:
        """File download base for python-telegram-bot (it appends the token and the path)."""
        return f"http://{self.host}:{self.port}/file/bot"

    # ---- recorded calls -------------------------------------------------------------------

    @property
    def calls(self) -> list[ApiCall]:
        """A snapshot of every recorded call, oldest first."""
        with self._cond:
            return list(self._calls)

    def calls_to(self, method: str) -> list[ApiCall]:
        """Recorded calls of one method (case-insensitive, like Telegram)."""
        name = method.lower()
        return [call for call in self.calls if call.method.lower() == name]

    def clear(self) -> None:
        """Forget recorded calls (messages, webhook, files and failure settings stay)."""
        with self._cond:
            self._calls.clear()

    def sent_to(self, chat_id: int | str) -> list[JsonDict]:
        """Every message the bot successfully sent to a chat, in order.

        Each entry: ``method``, ``chat_id``, ``message_id``, ``kind`` (text, photo...),
        ``text`` / ``caption`` as the person sees them (markup removed), ``raw`` (the text or
        caption parameter as sent), ``parse_mode``, ``reply_markup`` (decoded), ``params``,
        ``deleted``, and ``message``: the Message as it is now (edits applied), ready to pass
        to ``callback_query`` or as ``reply_to_message``.
        """
        key = _chat_key(chat_id)
        entries: list[JsonDict] = []
        with self._cond:
            for call in self._calls:
                for index, sent in enumerate(call.messages):
                    if sent["chat"]["id"] == key:
                        entries.append(self._sent_entry(call, index, sent))
        return entries

    def _sent_entry(self, call: ApiCall, index: int, sent: JsonDict) -> JsonDict:
        params = call.params
        if call.method.lower() == "sendmediagroup":
            media = params.get("media") or []
            item = media[index] if index < len(media) and isinstance(media[index], dict) else {}
            raw, parse_mode, markup = item.get("caption"), item.get("parse_mode"), None
        else:
            raw = params.get("text", params.get("caption"))
            parse_mode, markup = params.get("parse_mode"), params.get("reply_markup")
        key = (sent["chat"]["id"], sent["message_id"])
        current = self._messages.get(key) or self._deleted.get(key) or sent
        return {
            "method": call.method,
            "chat_id": sent["chat"]["id"],
            "message_id": sent["message_id"],
            "kind": _content_kind(sent),
            "text": sent.get("text"),
            "caption": sent.get("caption"),
            "raw": raw,
            "parse_mode": parse_mode,
            "reply_markup": markup,
            "reply_to_message_id": (sent.get("reply_to_message") or {}).get("message_id"),
            "params": params,
            "deleted": key in self._deleted,
            "message": copy.deepcopy(current),
        }

    def message(self, chat_id: int | str, message_id: int) -> JsonDict | None:
        """The current state of a message (edits applied), or None if unknown or deleted."""
        with self._cond:
            found = self._messages.get((_chat_key(chat_id), int(message_id)))
            return copy.deepcopy(found) if found is not None else None

    def wait_for(self, predicate: Callable[[ApiCall], bool] | str, timeout: float = 5.0) -> ApiCall:
        """Wait until a recorded call matches (a predicate, or a method name) and return it.

        Calls already recorded count. Raises AssertionError listing the calls on timeout.
        """
        label = repr(predicate) if isinstance(predicate, str) else predicate.__qualname__

        def matches(call: ApiCall) -> bool:
            if isinstance(predicate, str):
                return call.method.lower() == predicate.lower()
            try:
                return bool(predicate(call))
            except (KeyError, IndexError, TypeError, AttributeError):
                return False

        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for call in self._calls:
                    if matches(call):
                        return call
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"no Bot API call matching {label} within {timeout}s.\n{self.dump()}"
                    )
                self._cond.wait(remaining)

    def wait_for_sent(
        self, chat_id: int | str, count: int = 1, timeout: float = 5.0
    ) -> list[JsonDict]:
        """Wait until the bot has sent at least ``count`` messages to a chat; return them all."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                sent = self.sent_to(chat_id)
                if len(sent) >= count:
                    return sent
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"expected {count} message(s) sent to {chat_id} within {timeout}s, "
                        f"got {len(sent)}.\n{self.dump()}"
                    )
                self._cond.wait(remaining)

    def dump(self, last: int = 40) -> str:
        """A readable listing of the recorded calls (getUpdates polls summarised)."""
        calls = self.calls
        polls = sum(1 for call in calls if call.method.lower() == "getupdates")
        shown = [call for call in calls if call.method.lower() != "getupdates"][-last:]
        lines = [f"recorded calls: {len(calls)} ({polls} getUpdates not shown)"]
        for call in shown:
            detail = call.params.get("text") or call.params.get("caption") or ""
            if not call.ok:
                detail = f"-> {call.description}  {detail}"
            detail = str(detail).replace("\n", "\\n")
            if len(detail) > 100:
                detail = detail[:97] + "..."
            lines.append(f"  {call.status} {call.method} chat={call.chat_id} {detail}")
        return "\n".join(lines)

    # ---- updates, webhook, files ----------------------------------------------------------

    def push_update(self, update: JsonDict) -> JsonDict:
        """Queue an update for getUpdates (and remember its messages, chats and users)."""
        if not isinstance(update.get("update_id"), int):
            raise ValueError("an Update needs an integer update_id")
        with self._cond:
            self._updates.append(copy.deepcopy(update))
            self._remember(update)
            self._cond.notify_all()
        return update

    @property
    def pending_updates(self) -> list[JsonDict]:
        """Updates queued and not yet confirmed by a getUpdates offset."""
        with self._cond:
            return copy.deepcopy(self._updates)

    @property
    def allowed_updates(self) -> list[str]:
        """The allowed_updates last given to getUpdates or setWebhook ([] = Telegram default)."""
        with self._cond:
            return list(self._allowed_updates)

    @property
    def webhook(self) -> JsonDict:
        """The registered webhook: url, secret, max_connections... ({} when none)."""
        with self._cond:
            return copy.deepcopy(self._webhook)

    def remember(self, update: JsonDict) -> None:
        """Learn an update's messages, chats and users without queueing it.

        Use it when a test delivers an update to the bot some other way, so later copy,
        forward and reply calls find the original message like Telegram would.
        """
        with self._cond:
            self._remember(update)

    def deliver_webhook(
        self,
        update: JsonDict,
        *,
        url: str | None = None,
        secret_token: str | None = None,
        timeout: float = 10.0,
    ) -> tuple[int, bytes]:
        """POST an update to the webhook like Telegram does; return (status, body).

        Uses the registered url and secret unless given (e.g. to reach a local server while
        the registered url is the public one).
        """
        with self._cond:
            target = url or self._webhook.get("url")
            secret = secret_token if secret_token is not None else self._webhook.get("secret")
            self._remember(update)
        if not target:
            raise RuntimeError("no webhook registered and no url given")
        request = urllib.request.Request(
            target,
            data=json.dumps(update).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        if secret:
            request.add_header("X-Telegram-Bot-Api-Secret-Token", secret)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def add_file(self, file_id: str, content: bytes, file_path: str | None = None) -> str:
        """Make a file downloadable via getFile + GET /file/bot<token>/<path>; return the path."""
        with self._cond:
            path = file_path or f"documents/file_{next(self._file_counter)}"
            self._files[file_id] = _StoredFile(file_id, path, content)
            return path

    def file_content(self, file_id: str) -> bytes | None:
        """Bytes of a file the bot uploaded (or a test added), by file_id."""
        with self._cond:
            stored = self._files.get(file_id)
            return stored.content if stored is not None else None

    # ---- failure injection ----------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        chat_id: int | str | None = None,
        times: int = 1,
        error: str = "retry_after",
        retry_after: int = 1,
        migrate_to_chat_id: int | None = None,
        description: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` ("*" = any), optionally to one chat, fail.

        ``error``: retry_after (429 + parameters.retry_after), migrated (400 +
        parameters.migrate_to_chat_id), forbidden (403, bot blocked/kicked), bad_request (400,
        "chat not found" unless ``description``), server_error (502) or network (the
        connection is dropped without an answer and nothing is done).
        """
        if error not in FAILURE_KINDS:
            raise ValueError(f"error must be one of {sorted(FAILURE_KINDS)}")
        with self._cond:
            self._failures.append(
                _Failure(
                    method="*" if method == "*" else method.lower(),
                    chat_id=None if chat_id is None else _chat_key(chat_id),
                    remaining=times,
                    error=error,
                    retry_after=retry_after,
                    migrate_to_chat_id=migrate_to_chat_id,
                    description=description,
                )
            )

    def chat_migrated(self, old_chat_id: int, new_chat_id: int) -> None:
        """From now on every call to ``old_chat_id`` fails with migrate_to_chat_id, like Telegram."""
        with self._cond:
            self._migrated[_chat_key(old_chat_id)] = new_chat_id
            old_chat = self._chats.get(_chat_key(old_chat_id))
            title = old_chat.get("title") if old_chat else None
            self._chats.setdefault(
                new_chat_id,
                {"id": new_chat_id, "title": title or f"Group {new_chat_id}", "type": "supergroup"},
            )

    def block(self, chat_id: int | str) -> None:
        """Every later send/edit to this chat gets 403 (user blocked the bot / bot kicked)."""
        with self._cond:
            self._blocked.add(_chat_key(chat_id))

    def unblock(self, chat_id: int | str) -> None:
        """Undo ``block``."""
        with self._cond:
            self._blocked.discard(_chat_key(chat_id))

    def limit_group_sends(self, per_minute: int | None = 20) -> None:
        """Answer 429 once a group/supergroup got ``per_minute`` messages in 60 s (None = off)."""
        with self._cond:
            self._group_limit = per_minute
            self._group_sends.clear()

    # ---- HTTP -----------------------------------------------------------------------------

    def _track(self, connection: socket.socket, *, add: bool) -> None:
        with self._cond:
            if add:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)

    def _serve_http(self, handler: _Handler) -> None:
        body = _read_body(handler)
        url = urlsplit(handler.path)
        path = unquote(url.path)
        if path.startswith("/file/bot"):
            self._serve_file(handler, path)
            return
        match = re.fullmatch(r"/bot([^/]*)/([A-Za-z_]*)", path)
        if match is None or not match.group(2):
            _reply_json(handler, 404, _ApiError(404, "Not Found").payload())
            return
        token, method = match.groups()
        if token != self.token:
            _reply_json(handler, 401, _ApiError(401, "Unauthorized").payload())
            return
        try:
            params = _parse_params(url.query, handler.headers.get("Content-Type", ""), body)
        except _ApiError as error:
            _reply_json(handler, error.code, error.payload())
            return
        status, payload = self._call(method, params)
        if status == 0:
            handler.close_connection = True
            with suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        _reply_json(handler, status, payload)

    def _serve_file(self, handler: _Handler, path: str) -> None:
        prefix = f"/file/bot{self.token}/"
        stored = None
        if path.startswith(prefix):
            file_path = path[len(prefix) :]
            with self._cond:
                stored = next((f for f in self._files.values() if f.file_path == file_path), None)
        if stored is None or stored.content is None:
            _reply_json(handler, 404, _ApiError(404, "Not Found").payload())
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "application/octet-stream")
        handler.send_header("Content-Length", str(len(stored.content)))
        handler.end_headers()
        handler.wfile.write(stored.content)

    def _call(self, method: str, params: JsonDict) -> tuple[int, JsonDict]:
        """Run one API method; record it. Status 0 means: drop the connection."""
        name = method.lower()
        self._local.created = []
        with self._cond:
            try:
                chat_id = _chat_key(params["chat_id"]) if "chat_id" in params else None
            except _ApiError:
                chat_id = None
            try:
                failure = self._take_failure(name, chat_id)
                if failure is not None and failure.error == "network":
                    status, payload = 0, {}
                else:
                    if failure is not None:
                        raise failure.to_error(chat_id)
                    self._check_chat_state(name, chat_id)
                    handler = self._handlers.get(name)
                    if handler is None:
                        raise _ApiError(404, "Not Found")
                    payload = {"ok": True, "result": handler(params)}
                    status = 200
            except _ApiError as error:
                status, payload = error.code, error.payload()
            created = tuple(self._local.created)
            self._count_group_sends(created)
            self._calls.append(
                ApiCall(
                    method=method,
                    params=params,
                    at=time.time(),
                    status=status,
                    response=payload,
                    messages=created,
                )
            )
            self._cond.notify_all()
        return status, payload

    def _take_failure(self, name: str, chat_id: int | None) -> _Failure | None:
        for failure in self._failures:
            if failure.matches(name, chat_id):
                failure.remaining -= 1
                if failure.remaining <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def _check_chat_state(self, name: str, chat_id: int | None) -> None:
        if chat_id is None:
            return
        if chat_id in self._migrated:
            raise _migrated_error(self._migrated[chat_id])
        sending = name.startswith(("send", "edit", "copy", "forward"))
        if sending and chat_id in self._blocked:
            raise _ApiError(403, _forbidden_description(chat_id))
        if sending and self._group_limit is not None and chat_id < 0:
            now = time.monotonic()
            recent = [t for t in self._group_sends.get(chat_id, []) if now - t < 60]
            self._group_sends[chat_id] = recent
            if len(recent) >= self._group_limit:
                wait = max(1, math.ceil(recent[0] + 60 - now))
                raise _ApiError(
                    429, f"Too Many Requests: retry after {wait}", {"retry_after": wait}
                )

    def _count_group_sends(self, created: Iterable[JsonDict]) -> None:
        if self._group_limit is None:
            return
        for sent in created:
            chat_id = sent["chat"]["id"]
            if chat_id < 0:
                self._group_sends.setdefault(chat_id, []).append(time.monotonic())

    # ---- shared building blocks -----------------------------------------------------------

    def _remember(self, update: JsonDict) -> None:
        for kind in ("message", "edited_message", "channel_post", "edited_channel_post"):
            message = update.get(kind)
            if isinstance(message, dict):
                self._remember_message(message)
        query = update.get("callback_query")
        if isinstance(query, dict) and isinstance(query.get("message"), dict):
            self._learn_chat(query["message"].get("chat"))
        member = update.get("my_chat_member") or update.get("chat_member")
        if isinstance(member, dict):
            self._learn_chat(member.get("chat"))

    def _remember_message(self, message: JsonDict) -> None:
        chat = message.get("chat") or {}
        self._learn_chat(chat)
        if isinstance(message.get("reply_to_message"), dict):
            self._remember_message(message["reply_to_message"])
        if isinstance(chat.get("id"), int) and isinstance(message.get("message_id"), int):
            key = (chat["id"], message["message_id"])
            _MESSAGE_IDS.seen(*key)
            if key not in self._messages:
                stored = copy.deepcopy(message)
                stored.pop("reply_to_message", None)
                self._messages[key] = stored

    def _learn_chat(self, chat: Any) -> None:
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            self._chats[chat["id"]] = {**self._chats.get(chat["id"], {}), **chat}

    def _chat_object(self, chat_id: int) -> JsonDict:
        known = self._chats.get(chat_id)
        return dict(known) if known else _default_chat(chat_id)

    def _require_chat(self, params: JsonDict) -> int:
        value = params.get("chat_id")
        if value is None or value == "":
            raise _bad_request("chat_id is empty")
        return _chat_key(value)

    def _format(self, raw: str, parse_mode: Any, entities: Any) -> tuple[str, list[JsonDict]]:
        # The bot sends plain text (no parse_mode, no entities): a call with markup is
        # refused loudly, so a change that starts sending it brings its own stand-in.
        if parse_mode:
            raise _bad_request(
                f"this stand-in takes plain text only; parse_mode {parse_mode!r} is not modelled"
            )
        if isinstance(entities, list) and entities:
            raise _bad_request("this stand-in takes plain text only; entities are not modelled")
        return _trimmed(raw, [])

    def _text(self, params: JsonDict) -> tuple[str, list[JsonDict]]:
        raw = params.get("text")
        if raw is None or raw == "":
            raise _bad_request("message text is empty")
        text, entities = self._format(str(raw), params.get("parse_mode"), params.get("entities"))
        if not text:
            raise _bad_request("message text is empty")
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise _bad_request("message is too long")
        return text, entities

    def _caption(self, params: JsonDict) -> tuple[str, list[JsonDict]]:
        raw = params.get("caption")
        if raw is None or raw == "":
            return "", []
        caption, entities = self._format(
            str(raw), params.get("parse_mode"), params.get("caption_entities")
        )
        if utf16_len(caption) > MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
        return caption, entities

    def _markup(self, value: Any) -> JsonDict | None:
        """Validate reply_markup like Telegram; return it decoded (None when absent)."""
        if value is None or value == "":
            return None
        if not isinstance(value, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in value:
            rows = value.get("keyboard")
            if rows is not None and not (
                isinstance(rows, list) and all(isinstance(row, list) for row in rows)
            ):
                raise _bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array')
            return value
        rows = value["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad_request(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        buttons = [button for row in rows for button in row]
        if len(buttons) > MAX_INLINE_BUTTONS:
            raise _bad_request("reply markup is too long")
        for button in buttons:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise _bad_request(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            if "callback_data" in button:
                data = button["callback_data"]
                size = len(data.encode()) if isinstance(data, str) else 0
                if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                    raise _bad_request("BUTTON_DATA_INVALID")
            elif not set(button) - {"text", "style", "icon_custom_emoji_id"}:
                raise _bad_request(
                    "can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
        return value

    def _reply_target(self, chat_id: int, params: JsonDict) -> JsonDict | None:
        reply = params.get("reply_parameters")
        target_chat, message_id, lenient = chat_id, None, False
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            lenient = bool(reply.get("allow_sending_without_reply"))
            if reply.get("chat_id") is not None:
                target_chat = _chat_key(reply["chat_id"])
        elif params.get("reply_to_message_id") is not None:
            message_id = params["reply_to_message_id"]
            lenient = bool(params.get("allow_sending_without_reply"))
        if message_id is None:
            return None
        key = (target_chat, int(message_id))
        if key in self._deleted and not lenient:
            raise _bad_request("message to be replied not found")
        original = self._messages.get(key)
        if original is None:
            return None  # not seen by the fake (e.g. delivered straight to a webhook)
        replied = copy.deepcopy(original)
        replied.pop("reply_to_message", None)
        return replied

    def _new_message(
        self, chat_id: int, params: JsonDict, content: JsonDict, markup: JsonDict | None
    ) -> JsonDict:
        message: JsonDict = {
            "message_id": _MESSAGE_IDS.next(chat_id),
            "from": dict(self.bot_user),
            "chat": self._chat_object(chat_id),
            "date": int(time.time()),
        }
        replied = self._reply_target(chat_id, params)
        if replied is not None:
            message["reply_to_message"] = replied
        message.update(content)
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        self._local.created.append(copy.deepcopy(message))
        return copy.deepcopy(message)

    def _stored_file(self, kind: str, value: Any, params: JsonDict) -> _StoredFile:
        """Resolve a media parameter: an upload, attach://name, a URL or a file_id."""
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
            if not isinstance(value, UploadedFile):
                raise _bad_request("can't parse InputMedia: media not found")
        if isinstance(value, UploadedFile):
            return self._register_upload(kind, value.content, value.filename, value.content_type)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            name = urlsplit(value).path.rpartition("/")[2] or None
            return self._register_upload(kind, b"", name, None)
        if isinstance(value, str) and value.strip():
            known = self._files.get(value)
            return known or _StoredFile(value, f"{_FILE_FOLDERS[kind][0]}/{value}", None)
        raise _bad_request(f"there is no {kind} in the request")

    def _register_upload(
        self, kind: str, content: bytes, file_name: str | None, mime_type: str | None
    ) -> _StoredFile:
        number = next(self._file_counter)
        folder, suffix = _FILE_FOLDERS[kind]
        file_id = f"{_FILE_ID_PREFIXES[kind]}{number:06d}-fake"
        if kind == "document" and file_name and "." in file_name:
            suffix = "." + file_name.rpartition(".")[2]
        stored = _StoredFile(file_id, f"{folder}/file_{number}{suffix}", content, file_name)
        stored.mime_type = mime_type
        self._files[file_id] = stored
        return stored

    def _media_object(self, kind: str, stored: _StoredFile, params: JsonDict) -> Any:
        base: JsonDict = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if stored.content:
            base["file_size"] = len(stored.content)
        if kind == "photo":
            thumb_id = f"{stored.file_id}-thumb"
            if stored.content is not None and thumb_id not in self._files:
                self._files[thumb_id] = _StoredFile(
                    thumb_id, stored.file_path + ".thumb", stored.content
                )
            small = {
                "file_id": thumb_id,
                "file_unique_id": _unique_id(thumb_id),
                "width": 90,
                "height": 68,
            }
            return [small, {**base, "width": 1280, "height": 960}]
        if kind == "sticker":
            return {
                **base,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        mime = stored.mime_type
        if not mime or mime == "application/octet-stream":
            mime = _DEFAULT_MIME.get(kind)
        media = dict(base)
        if kind in ("voice", "video", "audio", "animation"):
            media["duration"] = _int_param(params, "duration", 1)
        if kind in ("video", "animation"):
            media["width"] = _int_param(params, "width", 1280)
            media["height"] = _int_param(params, "height", 720)
        if kind in ("document", "audio", "animation") and stored.file_name:
            media["file_name"] = stored.file_name
        if mime:
            media["mime_type"] = mime
        return media

    # ---- API methods ----------------------------------------------------------------------

    def _get_me(self, params: JsonDict) -> JsonDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _send_message(self, params: JsonDict) -> JsonDict:
        chat_id = self._require_chat(params)
        text, entities = self._text(params)
        markup = self._markup(params.get("reply_markup"))
        content: JsonDict = {"text": text}
        if entities:
            content["entities"] = entities
        return self._new_message(chat_id, params, content, markup)

    def _send_media(self, params: JsonDict, kind: str) -> JsonDict:
        chat_id = self._require_chat(params)
        stored = self._stored_file(kind, params.get(kind), params)
        caption, entities = ("", []) if kind == "sticker" else self._caption(params)
        markup = self._markup(params.get("reply_markup"))
        content: JsonDict = {kind: self._media_object(kind, stored, params)}
        if caption:
            content["caption"] = caption
        if entities:
            content["caption_entities"] = entities
        return self._new_message(chat_id, params, content, markup)

    def _location(self, params: JsonDict) -> JsonDict:
        try:
            latitude = float(params["latitude"])
            longitude = float(params["longitude"])
        except (KeyError, TypeError, ValueError):
            raise _bad_request("wrong location specified") from None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise _bad_request("wrong location specified")
        return {"latitude": latitude, "longitude": longitude}

    def _send_location(self, params: JsonDict) -> JsonDict:
        chat_id = self._require_chat(params)
        location = self._location(params)
        markup = self._markup(params.get("reply_markup"))
        return self._new_message(chat_id, params, {"location": location}, markup)

    def _send_contact(self, params: JsonDict) -> JsonDict:
        chat_id = self._require_chat(params)
        if not params.get("phone_number") or not params.get("first_name"):
            raise _bad_request("phone number and first name must be non-empty")
        contact = {"phone_number": params["phone_number"], "first_name": params["first_name"]}
        markup = self._markup(params.get("reply_markup"))
        return self._new_message(chat_id, params, {"contact": contact}, markup)

    def _editable(self, params: JsonDict) -> JsonDict | None:
        """The bot's stored message an edit targets, or None for inline messages."""
        if params.get("inline_message_id"):
            return None
        chat_id = self._require_chat(params)
        message_id = _int_param(params, "message_id")
        if message_id is None:
            raise _bad_request("message identifier is not specified")
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise _bad_request("message to edit not found")
        if (message.get("from") or {}).get("id") != self.bot_id:
            raise _bad_request("message can't be edited")
        return message

    @staticmethod
    def _apply_edit(message: JsonDict, changes: JsonDict) -> JsonDict:
        if all(message.get(key) == value for key, value in changes.items()):
            raise _bad_request(NOT_MODIFIED)
        for key, value in changes.items():
            if value:
                message[key] = value
            else:
                message.pop(key, None)
        message["edit_date"] = max(int(time.time()), message["date"])
        return copy.deepcopy(message)

    def _inline_markup(self, params: JsonDict) -> JsonDict | None:
        markup = self._markup(params.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad_request("inline keyboard expected")
        return markup

    def _edit_message_text(self, params: JsonDict) -> JsonDict | bool:
        message = self._editable(params)
        text, entities = self._text(params)
        markup = self._inline_markup(params)
        if message is None:
            return True
        if "text" not in message:
            raise _bad_request("there is no text in the message to edit")
        changes = {"text": text, "entities": entities or None, "reply_markup": markup}
        return self._apply_edit(message, changes)

    def _answer_callback_query(self, params: JsonDict) -> bool:
        query_id = params.get("callback_query_id")
        if not query_id:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(str(params.get("text") or "")) > MAX_CALLBACK_ANSWER_LENGTH:
            raise _bad_request("MESSAGE_TOO_LONG")
        if str(query_id) in self._answered_callbacks:
            raise _bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self._answered_callbacks.add(str(query_id))
        return True

    def _set_webhook(self, params: JsonDict) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(params)
        scheme = urlsplit(url).scheme
        if scheme not in ("http", "https") or (self.strict_webhook and scheme != "https"):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        if self.strict_webhook and (urlsplit(url).port or 443) not in (80, 88, 443, 8443):
            raise _bad_request(
                "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443"
            )
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if "allowed_updates" in params:
            self._allowed_updates = list(params.get("allowed_updates") or [])
        self._webhook = {
            "url": url,
            "secret": None if secret is None else str(secret),
            "max_connections": _int_param(params, "max_connections", 40),
            "has_custom_certificate": isinstance(params.get("certificate"), UploadedFile),
            "ip_address": params.get("ip_address"),
        }
        return True

    def _delete_webhook(self, params: JsonDict) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = {}
        return True

    def _deliverable(self) -> list[JsonDict]:
        allowed = set(self._allowed_updates)

        def wanted(update: JsonDict) -> bool:
            kind = next((key for key in update if key != "update_id"), "")
            return kind in allowed if allowed else kind not in _DEFAULT_ALLOWED_UPDATES_EXCLUDED

        # Telegram never delivers updates of types the bot did not ask for.
        self._updates = [update for update in self._updates if wanted(update)]
        return self._updates

    def _get_updates(self, params: JsonDict) -> list[JsonDict]:
        if self._webhook:
            raise _ApiError(409, _CONFLICT_WEBHOOK)
        if "allowed_updates" in params:
            self._allowed_updates = list(params.get("allowed_updates") or [])
        offset = _int_param(params, "offset", 0) or 0
        limit = min(max(_int_param(params, "limit", 100) or 100, 1), 100)
        timeout = min(max(float(params.get("timeout") or 0), 0.0), 60.0)
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self._cond.notify_all()  # a concurrent long poll gets terminated, like Telegram does
        deadline = time.monotonic() + timeout
        while True:
            if generation != self._poll_generation:
                raise _ApiError(409, _CONFLICT_POLLING)
            ready = self._deliverable()
            if ready or self._stopping:
                return copy.deepcopy(ready[:limit])
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            self._cond.wait(remaining)

    def _get_file(self, params: JsonDict) -> JsonDict:
        stored = self._files.get(str(params.get("file_id") or ""))
        if stored is None:
            raise _bad_request("invalid file_id")
        size = len(stored.content or b"")
        if size > MAX_DOWNLOAD_BYTES:
            raise _bad_request("file is too big")
        result: JsonDict = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id}
        if size:
            result["file_size"] = size
        result["file_path"] = stored.file_path
        return result


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _reply_json(handler: BaseHTTPRequestHandler, status: int, payload: JsonDict) -> None:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    except OSError:
        handler.close_connection = True  # the client went away (e.g. a cancelled long poll)


# --------------------------------------------------------------------------------------------
# Update builders: dicts shaped exactly like Bot API Update JSON
# --------------------------------------------------------------------------------------------


class _MessageIds:
    """Per-chat message ids shared by builders and fakes, so they never collide."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[int, int] = {}

    def next(self, chat_id: int) -> int:
        with self._lock:
            self._last[chat_id] = self._last.get(chat_id, 0) + 1
            return self._last[chat_id]

    def seen(self, chat_id: int, message_id: int) -> None:
        with self._lock:
            self._last[chat_id] = max(self._last.get(chat_id, 0), message_id)


_MESSAGE_IDS = _MessageIds()
_ids_lock = threading.Lock()
_update_ids = itertools.count(1)
_callback_ids = itertools.count(4_382_000_000_000_000_001)


def _next_update_id() -> int:
    with _ids_lock:
        return next(_update_ids)


def _user(
    user_id: int, first_name: str, username: str | None, language_code: str | None = "id"
) -> JsonDict:
    user: JsonDict = {"id": user_id, "is_bot": False, "first_name": first_name}
    if username:
        user["username"] = username
    if language_code:
        user["language_code"] = language_code
    return user


def _private_chat(user_id: int, first_name: str, username: str | None) -> JsonDict:
    chat: JsonDict = {"id": user_id, "first_name": first_name}
    if username:
        chat["username"] = username
    chat["type"] = "private"
    return chat


def _group_chat(chat_id: int, title: str | None) -> JsonDict:
    return {
        "id": chat_id,
        "title": title or f"Group {chat_id}",
        "type": "supergroup" if chat_id < 0 else "group",
    }


def _as_message(value: JsonDict) -> JsonDict:
    """Accept a Message dict, a ``sent_to`` entry or an Update holding a message."""
    if "message" in value and ("method" in value or "update_id" in value):
        value = value["message"]
    return copy.deepcopy(value)


def _command_entities(text: str) -> list[JsonDict]:
    match = re.match(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])", text)
    if match is None:
        return []
    return [{"offset": 0, "length": len(match.group()), "type": "bot_command"}]


def _message(
    chat: JsonDict,
    sender: JsonDict,
    reply_to_message: JsonDict | None,
    message_id: int | None,
    **content: Any,
) -> JsonDict:
    if message_id is None:
        message_id = _MESSAGE_IDS.next(chat["id"])
    else:
        _MESSAGE_IDS.seen(chat["id"], message_id)
    message: JsonDict = {
        "message_id": message_id,
        "from": sender,
        "chat": chat,
        "date": int(time.time()),
    }
    if reply_to_message is not None:
        replied = _as_message(reply_to_message)
        replied.pop("reply_to_message", None)
        message["reply_to_message"] = replied
    message.update({key: value for key, value in content.items() if value not in (None, "", [])})
    return message


def _update(kind: str, payload: JsonDict) -> JsonDict:
    return {"update_id": _next_update_id(), kind: payload}


def _photo_sizes(file_id: str) -> list[JsonDict]:
    return [
        {
            "file_id": f"{file_id}-thumb",
            "file_unique_id": _unique_id(f"{file_id}-thumb"),
            "file_size": 1_342,
            "width": 90,
            "height": 68,
        },
        {
            "file_id": file_id,
            "file_unique_id": _unique_id(file_id),
            "file_size": 123_456,
            "width": 1280,
            "height": 960,
        },
    ]


def _text_message(
    chat: JsonDict,
    sender: JsonDict,
    text: str,
    reply_to_message: JsonDict | None,
    message_id: int | None,
) -> JsonDict:
    return _message(
        chat,
        sender,
        reply_to_message,
        message_id,
        text=text,
        entities=_command_entities(text),
    )


def private_text(
    user_id: int,
    text: str,
    first_name: str = "Siti",
    username: str | None = None,
    reply_to_message: JsonDict | None = None,
    *,
    message_id: int | None = None,
) -> JsonDict:
    """A citizen's text in a private chat (commands get a bot_command entity)."""
    chat = _private_chat(user_id, first_name, username)
    sender = _user(user_id, first_name, username)
    return _update("message", _text_message(chat, sender, text, reply_to_message, message_id))


def private_photo(
    user_id: int,
    file_id: str,
    caption: str = "",
    first_name: str = "Siti",
    username: str | None = None,
    reply_to_message: JsonDict | None = None,
    *,
    media_group_id: str | None = None,
    message_id: int | None = None,
) -> JsonDict:
    """A photo (two sizes, the largest last with ``file_id``) sent in a private chat."""
    chat = _private_chat(user_id, first_name, username)
    sender = _user(user_id, first_name, username)
    message = _message(
        chat,
        sender,
        reply_to_message,
        message_id,
        media_group_id=media_group_id,
        photo=_photo_sizes(file_id),
        caption=caption,
    )
    return _update("message", message)


def private_location(
    user_id: int,
    lat: float,
    lon: float,
    first_name: str = "Siti",
    username: str | None = None,
    *,
    message_id: int | None = None,
) -> JsonDict:
    """A shared location pin in a private chat."""
    chat = _private_chat(user_id, first_name, username)
    sender = _user(user_id, first_name, username)
    location = {"latitude": lat, "longitude": lon}
    return _update("message", _message(chat, sender, None, message_id, location=location))


def private_voice(
    user_id: int,
    file_id: str = "AwACAgUAAxkBAAIBvoice",
    duration: int = 4,
    first_name: str = "Siti",
    username: str | None = None,
    *,
    message_id: int | None = None,
) -> JsonDict:
    """A voice note in a private chat."""
    chat = _private_chat(user_id, first_name, username)
    sender = _user(user_id, first_name, username)
    voice = {
        "duration": duration,
        "mime_type": "audio/ogg",
        "file_id": file_id,
        "file_unique_id": _unique_id(file_id),
        "file_size": 8_000 * duration,
    }
    return _update("message", _message(chat, sender, None, message_id, voice=voice))


def private_document(
    user_id: int,
    file_id: str = "BQACAgUAAxkBAAIBdocument",
    file_name: str = "laporan.pdf",
    mime_type: str = "application/pdf",
    caption: str = "",
    first_name: str = "Siti",
    username: str | None = None,
    *,
    message_id: int | None = None,
) -> JsonDict:
    """A document in a private chat."""
    chat = _private_chat(user_id, first_name, username)
    sender = _user(user_id, first_name, username)
    document = {
        "file_name": file_name,
        "mime_type": mime_type,
        "file_id": file_id,
        "file_unique_id": _unique_id(file_id),
        "file_size": 54_321,
    }
    message = _message(chat, sender, None, message_id, document=document, caption=caption)
    return _update("message", message)


def private_sticker(
    user_id: int,
    file_id: str = "CAACAgIAAxkBAAIBsticker",
    emoji: str = "👍",
    first_name: str = "Siti",
    username: str | None = None,
    *,
    message_id: int | None = None,
) -> JsonDict:
    """A sticker in a private chat."""
    chat = _private_chat(user_id, first_name, username)
    sender = _user(user_id, first_name, username)
    sticker = {
        "width": 512,
        "height": 512,
        "emoji": emoji,
        "set_name": "HotCherry",
        "is_animated": False,
        "is_video": False,
        "type": "regular",
        "file_id": file_id,
        "file_unique_id": _unique_id(file_id),
        "file_size": 25_000,
    }
    return _update("message", _message(chat, sender, None, message_id, sticker=sticker))


def private_contact(
    user_id: int,
    phone_number: str,
    first_name: str = "Siti",
    username: str | None = None,
    *,
    message_id: int | None = None,
) -> JsonDict:
    """The citizen sharing their own contact (phone number) in a private chat."""
    chat = _private_chat(user_id, first_name, username)
    sender = _user(user_id, first_name, username)
    contact = {"phone_number": phone_number, "first_name": first_name, "user_id": user_id}
    return _update("message", _message(chat, sender, None, message_id, contact=contact))


def group_text(
    chat_id: int,
    user_id: int,
    text: str,
    first_name: str = "Budi",
    reply_to_message: JsonDict | None = None,
    *,
    username: str | None = None,
    title: str | None = None,
    message_id: int | None = None,
) -> JsonDict:
    """A staff member's text in a group (``/cmd`` and ``/cmd@botname`` get bot_command)."""
    chat = _group_chat(chat_id, title)
    sender = _user(user_id, first_name, username)
    return _update("message", _text_message(chat, sender, text, reply_to_message, message_id))


def group_photo(
    chat_id: int,
    user_id: int,
    file_id: str,
    caption: str = "",
    first_name: str = "Budi",
    reply_to_message: JsonDict | None = None,
    *,
    username: str | None = None,
    title: str | None = None,
    message_id: int | None = None,
) -> JsonDict:
    """A photo posted in a group, optionally as a reply."""
    chat = _group_chat(chat_id, title)
    sender = _user(user_id, first_name, username)
    message = _message(
        chat,
        sender,
        reply_to_message,
        message_id,
        photo=_photo_sizes(file_id),
        caption=caption,
    )
    return _update("message", message)


def _default_bot_user() -> JsonDict:
    return {
        "id": int(DEFAULT_TOKEN.split(":")[0]),
        "is_bot": True,
        "first_name": DEFAULT_BOT_FIRST_NAME,
        "username": DEFAULT_BOT_USERNAME,
    }


def callback_query(
    chat_id: int,
    user_id: int,
    message: JsonDict | int,
    data: str,
    first_name: str = "Budi",
    *,
    username: str | None = None,
) -> JsonDict:
    """A button press on ``message`` (a Message dict or ``sent_to`` entry the fake returned).

    An int is taken as the message_id of a bot message in ``chat_id``.
    """
    if isinstance(message, int):
        chat = _default_chat(chat_id)
        pressed: JsonDict = {
            "message_id": message,
            "from": _default_bot_user(),
            "chat": chat,
            "date": int(time.time()),
            "text": "",
        }
    else:
        pressed = _as_message(message)
        if pressed["chat"]["id"] != chat_id:
            raise ValueError(f"message is in chat {pressed['chat']['id']}, not {chat_id}")
    with _ids_lock:
        query_id = str(next(_callback_ids))
    chat_instance = str(zlib.crc32(f"{chat_id}".encode()) * 7919 - 2**31)
    query = {
        "id": query_id,
        "from": _user(user_id, first_name, username),
        "message": pressed,
        "chat_instance": chat_instance,
        "data": data,
    }
    return _update("callback_query", query)


def chat_member(user: JsonDict, status: str) -> JsonDict:
    """A ChatMember JSON object for ``user`` with one of Telegram's statuses."""
    member: JsonDict = {"user": user, "status": status}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(
            can_be_edited=False,
            is_anonymous=False,
            can_manage_chat=True,
            can_delete_messages=True,
            can_manage_video_chats=True,
            can_restrict_members=True,
            can_promote_members=False,
            can_change_info=True,
            can_invite_users=True,
            can_post_stories=False,
            can_edit_stories=False,
            can_delete_stories=False,
            can_pin_messages=True,
            can_manage_topics=False,
        )
    elif status == "kicked":
        member["until_date"] = 0
    elif status == "restricted":
        member.update(
            is_member=True,
            can_send_messages=False,
            can_send_audios=False,
            can_send_documents=False,
            can_send_photos=False,
            can_send_videos=False,
            can_send_video_notes=False,
            can_send_voice_notes=False,
            can_send_polls=False,
            can_send_other_messages=False,
            can_add_web_page_previews=False,
            can_change_info=False,
            can_invite_users=False,
            can_pin_messages=False,
            can_manage_topics=False,
            until_date=0,
        )
    elif status not in ("member", "left"):
        raise ValueError(f"unknown chat member status {status!r}")
    return member


def my_chat_member(
    chat_id: int,
    user_id: int,
    new_status: str,
    old_status: str = "left",
    first_name: str = "Budi",
    *,
    title: str | None = None,
    bot_user: JsonDict | None = None,
) -> JsonDict:
    """The bot's own membership changed: added to a group, or blocked in a private chat."""
    private = chat_id > 0
    chat = _private_chat(chat_id, first_name, None) if private else _group_chat(chat_id, title)
    bot = bot_user or _default_bot_user()
    payload = {
        "chat": chat,
        "from": _user(user_id, first_name, None),
        "date": int(time.time()),
        "old_chat_member": chat_member(bot, old_status),
        "new_chat_member": chat_member(bot, new_status),
    }
    return _update("my_chat_member", payload)


def group_migrated(
    old_chat_id: int,
    new_chat_id: int,
    user_id: int = 1,
    first_name: str = "Budi",
    *,
    title: str | None = None,
) -> JsonDict:
    """The service message Telegram posts in a group that became a supergroup."""
    chat = {"id": old_chat_id, "title": title or f"Group {old_chat_id}", "type": "group"}
    sender = _user(user_id, first_name, None)
    message = _message(chat, sender, None, None, migrate_to_chat_id=new_chat_id)
    return _update("message", message)
