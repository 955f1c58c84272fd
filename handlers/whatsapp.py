"""WhatsApp through Twilio: every quirk of Twilio's Messaging API lives here.

Inbound: `POST /webhooks/whatsapp` (signature over `service.public_url` + path
+ query, so it holds behind a reverse proxy), stored and deduplicated by
`MessageSid` before the empty TwiML answer; media are registered in that same
transaction and fetched right after by `MediaFetcher`, never inside the request.

Outbound: `WhatsAppSender` sends outbox rows with twilio's client: bodies split
at 1,600 characters, choices as the numbered lines the core already writes,
one media per message, a status callback on each. Outside WhatsApp's 24-hour
window the approved template goes out instead and the full text is held until
the citizen writes again. `POST /webhooks/whatsapp/status` moves each
message's status forward only and reports final failures to the agency.
"""

from __future__ import annotations

import hmac
import json
import logging
import mimetypes
import re
import secrets
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import sqlite_utils
from flask import Blueprint, Response, request, send_file
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot import engine
from bot.catalog import say
from bot.config import Config
from bot.model import Attachment, Inbound, Location, Outbound
from bot.tickets import format_number
from handlers import whatsapp_window
from handlers.channels import Built, Wiring
from handlers.delivery import Held, RetryLater, Sent, Undeliverable
from handlers.ingest import Ingest
from handlers.whatsapp_window import WHATSAPP
from storage.clock import Clock, utc_now
from storage.connections import Databases
from storage.db import transaction
from storage.media import (
    add_served_media,
    media,
    media_failed,
    pending_media,
    register_media,
    served_media,
    store_media,
)
from storage.outbox import outbound_message, set_message_status
from storage.repository import SqliteStore

log = logging.getLogger(__name__)
# twilio logs every request at INFO; the service logs what matters itself.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)

BODY_LIMIT = 1600
MAX_MEDIA = 10
MAX_MEDIA_BYTES = 16 * 1024 * 1024
MEDIA_TYPES = (
    "image/",
    "audio/",
    "video/",
    "application/pdf",
    "text/vcard",  # a shared contact
    "text/x-vcard",
    "application/msword",
    "application/vnd.",
)
SERVED_MEDIA_LIFETIME = timedelta(hours=24)
SIGNATURE_HEADER = "X-Twilio-Signature"
INBOUND_PATH = "/webhooks/whatsapp"
STATUS_PATH = "/webhooks/whatsapp/status"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

# Twilio message statuses in the order they happen; failures are terminal.
STATUS_RANK = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "read": 4,
    "failed": 9,
    "undelivered": 9,
}
# Error codes with a plain-language reason for the agency (catalog keys).
REASONS = {
    "63003": "reason_not_on_channel",
    "63024": "reason_not_on_channel",
    "30003": "reason_unreachable",
    "30005": "reason_not_on_channel",
    "30006": "reason_not_on_channel",
    "30007": "reason_rejected",
    "63013": "reason_rejected",
    "63016": "reason_window",
}


# --------------------------------------------------------------------------
# Inbound: Twilio's form post -> Inbound
# --------------------------------------------------------------------------


class InvalidMessage(ValueError):
    """The form is not a Twilio inbound message we can read."""


def normalise_number(raw: str) -> str:
    """`whatsapp:+6281234567890` from `whatsapp:+62 812-3456-7890`, `081234567890`, `6281…`."""
    value = raw.strip().removeprefix("whatsapp:")
    digits = re.sub(r"[^0-9]", "", value)  # not \D: it keeps Arabic-Indic and full-width digits
    if not 6 <= len(digits) <= 15:
        raise InvalidMessage("From is not a phone number")
    if not value.startswith("+") and digits.startswith("0"):
        digits = "62" + digits[1:]  # a local Indonesian number
    return f"whatsapp:+{digits}"


def _media_kind(content_type: str, message_type: str = "") -> str:
    if message_type == "sticker" or (content_type == "image/webp" and message_type != "image"):
        return "sticker"  # WhatsApp stickers are WebP images: not evidence
    if content_type.split(";")[0].strip() in ("text/vcard", "text/x-vcard"):
        return "contact"
    if content_type.startswith("image/"):
        return "photo"
    if content_type.startswith("audio/"):
        return "voice"
    if content_type.startswith("video/"):
        return "video"
    return "document"


def _float(form: Mapping[str, str], key: str) -> float | None:
    try:
        value = float(form.get(key, ""))
    except ValueError:
        return None
    return value if value == value and abs(value) <= 180 else None  # not NaN, in range


def parse_form(form: Mapping[str, str]) -> Inbound:
    """Read one inbound WhatsApp message; every field is optional except MessageSid and From."""
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or ""
    if not re.fullmatch(r"[A-Z]{2}[0-9a-fA-F]{32}", sid):
        raise InvalidMessage("MessageSid is missing or malformed")
    chat_id = normalise_number(form.get("From", ""))
    try:
        count = int(form.get("NumMedia", "0") or 0)
    except ValueError:
        count = 0
    attachments: list[Attachment] = []
    for index in range(min(max(count, 0), MAX_MEDIA)):
        url = form.get(f"MediaUrl{index}", "")
        content_type = form.get(f"MediaContentType{index}", "")
        if url.startswith(("http://", "https://")):
            kind = _media_kind(content_type, form.get("MessageType", "").lower())
            attachments.append(Attachment(kind, f"media:{sid}:{index}", content_type))
    location = None
    latitude, longitude = _float(form, "Latitude"), _float(form, "Longitude")
    if latitude is not None and longitude is not None and abs(latitude) <= 90:
        address = ", ".join(
            part for part in (form.get("Label", ""), form.get("Address", "")) if part
        )
        location = Location(latitude, longitude, address[:500])
    body = form.get("Body", "")
    button = form.get("ButtonPayload", "")
    return Inbound(
        channel=WHATSAPP,
        chat_id=chat_id,
        provider_id=sid,
        sender_id=form.get("WaId", "") or chat_id,
        sender_name=form.get("ProfileName", "")[:64],
        phone=chat_id.removeprefix("whatsapp:"),
        text=body if body or not button else form.get("ButtonText", ""),
        attachments=tuple(attachments),
        location=location,
        button_data=button[:64],
        reply_to_message_id=form.get("OriginalRepliedMessageSid", ""),
    )


def media_urls(form: Mapping[str, str], inbound: Inbound) -> dict[str, tuple[str, str]]:
    """The Twilio URL and type of each attachment key of `inbound`."""
    urls: dict[str, tuple[str, str]] = {}
    for attachment in inbound.attachments:
        if attachment.kind == "sticker":
            continue  # never fetched: a sticker is not kept as evidence
        index = attachment.ref.rsplit(":", 1)[1]
        urls[attachment.ref] = (
            form.get(f"MediaUrl{index}", ""),
            form.get(f"MediaContentType{index}", ""),
        )
    return urls


@dataclass
class Twilio:
    """Credentials and addresses of the Twilio account."""

    account_sid: str
    auth_token: str
    public_url: str
    api_base_url: str = ""

    def client(self) -> Client:
        client = Client(self.account_sid, self.auth_token)
        if self.api_base_url:
            client.api.base_url = self.api_base_url.rstrip("/")
        return client

    def signature_valid(self, path_with_query: str, form: Any, signature: str) -> bool:
        if not signature:
            return False
        url = self.public_url + path_with_query
        validator, params = RequestValidator(self.auth_token), _SignedParams(form)
        # The usual case first: Twilio signed exactly the URL we know (one HMAC, the
        # library's own). Only when that fails, the library's full check, which also
        # tries the URL with and without an explicit port.
        expected = validator.compute_signature(url, params)
        if hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            return True
        return validator.validate(url, params, signature)


class _SignedParams(dict[str, list[str]]):
    """The form as twilio's validator reads it best: it asks each key for `getall` and,
    on Flask's MultiDict, falls back through two caught AttributeErrors per key and
    URL variant — a noticeable share of a webhook's time."""

    def __init__(self, form: Any) -> None:
        super().__init__(
            form.lists() if hasattr(form, "lists") else ((k, [v]) for k, v in form.items())
        )

    def getall(self, name: str) -> list[str]:
        return self[name]


class WhatsAppReceiver:
    """Stores inbound messages and status callbacks; wakes the workers that follow up."""

    def __init__(
        self,
        ingest: Ingest,
        databases: Databases,
        config: Config,
        staff_channel: str,
        wake_fetcher: Callable[[], None] = lambda: None,
        wake_delivery: Callable[[Collection[str] | None], None] = lambda channels: None,
        clock: Clock = utc_now,
    ) -> None:
        self.ingest = ingest
        self.databases = databases
        self.config = config
        self.staff_channel = staff_channel
        self.wake_fetcher = wake_fetcher
        self.wake_delivery = wake_delivery
        self.clock = clock

    def receive(self, form: Mapping[str, str]) -> None:
        inbound = parse_form(form)
        urls = media_urls(form, inbound)

        def bookkeeping(db: sqlite_utils.Database, now: datetime) -> None:
            for key, (url, content_type) in urls.items():
                register_media(db, key, WHATSAPP, url, content_type, now)
            # The citizen wrote: the 24-hour window is open again for held replies.
            whatsapp_window.reopen(db, inbound.chat_id, now)

        self.ingest.receive(inbound, also_record=bookkeeping)
        if urls:
            self.wake_fetcher()
        self.wake_delivery((WHATSAPP,))  # held replies may have been released

    def status(self, form: Mapping[str, str]) -> None:
        """Apply one status callback: forward only; a final failure is told to the agency."""
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        status = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
        if not sid or status not in STATUS_RANK:
            raise InvalidMessage("MessageSid or MessageStatus is missing or unknown")
        code = form.get("ErrorCode", "")
        db = self.databases.get()
        now = self.clock()
        with transaction(db):
            row = outbound_message(db, WHATSAPP, sid)
            if row is None:
                return  # a template or a message from before this database: nothing to update
            current = STATUS_RANK.get(row["status"], 0)
            if current >= STATUS_RANK["failed"] or STATUS_RANK[status] <= current:
                return  # out of order or after a final state: statuses never go back
            set_message_status(db, row["id"], status)
            if status not in ("failed", "undelivered"):
                return
            store = SqliteStore(db)
            ticket = store.ticket(row["ticket_id"]) if row["ticket_id"] else None
            if code == "63016" and row["outbox_id"] and row["kind"] != whatsapp_window.TEMPLATE:
                # sent, then refused for the closed window: the same text waits again
                whatsapp_window.refused_after_sending(
                    db,
                    self.config,
                    self.staff_channel,
                    row["outbox_id"],
                    row["chat_id"],
                    row["ticket_id"],
                    "outside the WhatsApp 24-hour window (63016)",
                    now,
                )
            elif ticket is not None:
                reason = say(
                    self.config.service.language,
                    REASONS.get(code, "reason_unknown"),
                    code=code or "?",
                    channel=whatsapp_window.DISPLAY_NAME,
                )
                engine.delivery_failed(
                    store, self.config, now, self.staff_channel, ticket, reason, blocked=False
                )
        self.wake_delivery(None)


def webhook_blueprint(
    receiver: WhatsAppReceiver, twilio: Twilio, databases: Databases, clock: Clock = utc_now
) -> Blueprint:
    """Twilio's two webhooks and the media URL it fetches staff photos from."""
    blueprint = Blueprint("whatsapp", __name__)

    def signed() -> bool:
        path = request.full_path.rstrip("?") if request.query_string == b"" else request.full_path
        return twilio.signature_valid(path, request.form, request.headers.get(SIGNATURE_HEADER, ""))

    @blueprint.post(INBOUND_PATH)
    def inbound() -> Response:
        if not signed():
            return _text("invalid signature", 403)
        try:
            receiver.receive(request.form.to_dict())  # Twilio sends each field once
        except InvalidMessage as error:
            return _text(str(error), 400)
        return Response(EMPTY_TWIML, status=200, mimetype="text/xml")

    @blueprint.post(STATUS_PATH)
    def status() -> Response:
        if not signed():
            return _text("invalid signature", 403)
        try:
            receiver.status(request.form)
        except InvalidMessage as error:
            return _text(str(error), 400)
        return _text("ok", 200)

    @blueprint.get("/media/<token>")
    def served(token: str) -> Response:
        if not re.fullmatch(r"[A-Za-z0-9_\-]{20,100}", token):
            return _text("not found", 404)
        found = served_media(databases.get(), token, clock())
        if found is None or not Path(found.path).is_file():
            return _text("not found", 404)
        return send_file(found.path, mimetype=found.content_type or "application/octet-stream")

    return blueprint


def _text(message: str, status: int) -> Response:
    return Response(message, status=status, mimetype="text/plain")


# --------------------------------------------------------------------------
# Media: fetch what citizens sent, with the account's credentials
# --------------------------------------------------------------------------


class MediaFetcher:
    """Downloads registered WhatsApp media right after the webhook, in a thread."""

    def __init__(
        self, databases: Databases, twilio: Twilio, media_dir: Path, clock: Clock = utc_now
    ) -> None:
        self.databases = databases
        self.twilio = twilio
        self.media_dir = media_dir
        self.clock = clock
        self.session = requests.Session()
        self.session.auth = (twilio.account_sid, twilio.auth_token)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def fetch_pending(self) -> int:
        """Fetch every pending file once; returns how many were tried."""
        db = self.databases.get()
        items = pending_media(db)
        for item in items:
            self._fetch(item.key, item.source_url, item.content_type, item.attempts)
        return len(items)

    def _fetch(self, key: str, url: str, declared_type: str, attempts: int) -> None:
        db = self.databases.get()
        try:
            with self.session.get(url, stream=True, timeout=30, allow_redirects=True) as response:
                if response.status_code != 200:
                    media_failed(
                        db,
                        key,
                        f"HTTP {response.status_code}",
                        final=attempts >= 4 or response.status_code == 404,
                    )
                    return
                content_type = (
                    response.headers.get("Content-Type", declared_type).split(";")[0].strip()
                )
                if not content_type.startswith(MEDIA_TYPES):
                    media_failed(db, key, f"type {content_type[:80]} is not accepted", final=True)
                    return
                length = int(response.headers.get("Content-Length") or 0)
                if length > MAX_MEDIA_BYTES:
                    media_failed(db, key, f"too large ({length} bytes)", final=True)
                    return
                data = bytearray()
                for chunk in response.iter_content(64 * 1024):
                    data.extend(chunk)
                    if len(data) > MAX_MEDIA_BYTES:
                        media_failed(db, key, "too large", final=True)
                        return
        except requests.RequestException as error:
            media_failed(db, key, f"{type(error).__name__}", final=attempts >= 4)
            return
        extension = mimetypes.guess_extension(content_type) or ".bin"
        self.media_dir.mkdir(parents=True, exist_ok=True)
        path = self.media_dir / (re.sub(r"[^A-Za-z0-9_-]", "_", key) + extension)
        path.write_bytes(bytes(data))
        store_media(db, key, str(path), len(data), content_type, self.clock())

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    busy = self.fetch_pending() > 0
                except Exception:
                    log.exception("fetching media failed")
                    busy = False
                if not busy:
                    self._wake.wait(5)
                    self._wake.clear()

        self._thread = threading.Thread(target=loop, name="media-fetcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


# --------------------------------------------------------------------------
# Outbound: outbox rows -> Messages.json
# --------------------------------------------------------------------------


def _refusal(error: TwilioRestException) -> RetryLater | Undeliverable:
    """What Twilio refusing a message means for the outbox: try again later (rate
    limits, Twilio's own faults) or give up (everything else)."""
    code = str(error.code or "")
    reason = f"Twilio {code or error.status}: {error.msg}"[:300]
    if code in ("63018", "20429") or error.status == 429 or error.status >= 500:
        return RetryLater(reason)
    return Undeliverable(reason)


def split_body(text: str, limit: int = BODY_LIMIT) -> list[str]:
    """Parts of at most `limit` characters, cut at a line or word break when possible."""
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n"), window.rfind(" "))
        cut = cut + 1 if cut > limit // 2 else limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:]
    if rest.strip() or not parts:
        parts.append(rest)
    return parts


class WhatsAppSender:
    """Delivers outbox rows to WhatsApp citizens through Twilio."""

    channel = WHATSAPP

    def __init__(
        self,
        twilio: Twilio,
        databases: Databases,
        config: Config,
        staff_channel: str,
        media_dir: Path,
        fetch_foreign_file: Callable[[Attachment], tuple[bytes, str]] | None = None,
        clock: Clock = utc_now,
        messages_per_second: float = 20,
    ) -> None:
        self.twilio = twilio
        self.client = twilio.client()
        self.databases = databases
        self.config = config
        self.staff_channel = staff_channel
        self.media_dir = media_dir
        self.fetch_foreign_file = fetch_foreign_file
        self.clock = clock
        self.interval = 1.0 / messages_per_second
        self._last_send = 0.0

    # --- the 24-hour window (its rules: handlers.whatsapp_window)
    def _hold(self, outbound: Outbound, reason: str) -> None:
        """The window is closed: announce it once (template or staff), then hold."""
        db = self.databases.get()
        with transaction(db):
            whatsapp_window.close(
                db,
                self.config,
                self.staff_channel,
                outbound.chat_id,
                outbound.ticket_id,
                self.clock(),
            )
        raise Held(reason)

    def _send_template(self, outbound: Outbound) -> Sent:
        """The approved template (allowed outside the window), naming the ticket."""
        template = self.config.whatsapp.update_template_sid
        if not template:  # the config changed since it was queued
            raise Undeliverable("no update_template_sid is configured")
        number = (
            format_number(self.config.service.ticket_prefix, outbound.ticket_id)
            if outbound.ticket_id is not None
            else self.config.service.name
        )
        try:
            sid = self._create(
                to=outbound.chat_id,
                content_sid=template,
                content_variables=json.dumps({"1": number}),
            )
        except TwilioRestException as error:
            raise _refusal(error) from None
        except (TwilioException, requests.RequestException) as error:
            raise RetryLater(f"Twilio unreachable: {type(error).__name__}") from None
        return Sent([sid])

    # --- sending
    def send(self, outbound: Outbound, edit_message_id: str | None) -> Sent:
        if outbound.kind == whatsapp_window.TEMPLATE:
            return self._send_template(outbound)
        if not whatsapp_window.is_open(self.databases.get(), outbound.chat_id, self.clock()):
            self._hold(outbound, "outside the WhatsApp 24-hour window")
        sids: list[str] = []
        # Every write first (files, served-media rows): a full disk then fails the row
        # before any part is sent, so nothing goes out twice when space returns.
        urls = [url for url in (self._media_url(a) for a in outbound.attachments) if url]
        try:
            for part in split_body(outbound.text) if outbound.text else []:
                sids.append(self._create(to=outbound.chat_id, body=part))
            for url in urls:
                sids.append(self._create(to=outbound.chat_id, media_url=[url]))
            if outbound.location is not None and outbound.location.map_link:
                sids.append(self._create(to=outbound.chat_id, body=outbound.location.map_link))
        except TwilioRestException as error:
            code = str(error.code or "")
            if code == "63016":
                self._hold(outbound, "Twilio 63016: outside the 24-hour window")
            raise _refusal(error) from None
        except (TwilioException, requests.RequestException) as error:
            raise RetryLater(f"Twilio unreachable: {type(error).__name__}") from None
        return Sent(sids)

    def _create(self, **fields: Any) -> str:
        wait = self._last_send + self.interval - time.monotonic()
        if wait > 0:  # stay under the sender's rate limit
            time.sleep(wait)
        self._last_send = time.monotonic()
        callback = self.twilio.public_url + STATUS_PATH if self.twilio.public_url else None
        message = self.client.messages.create(
            from_=self.config.whatsapp.from_, status_callback=callback, **fields
        )
        return str(message.sid)

    def _media_url(self, attachment: Attachment) -> str:
        """An unguessable, expiring URL under which Twilio fetches this file from us."""
        db = self.databases.get()
        if attachment.ref.startswith("local:"):
            return ""
        if attachment.ref.startswith("media:"):
            stored = media(db, attachment.ref)
            if stored is None or stored.status != "stored":
                if stored is not None and stored.status == "pending":
                    raise RetryLater("media still downloading", 5)
                return ""
            data, content_type, path = None, stored.content_type, Path(stored.path)
        elif self.fetch_foreign_file is not None:
            try:
                data, content_type = self.fetch_foreign_file(attachment)
            except LookupError:  # the staff channel keeps no files (the local console)
                return ""
            path = (
                self.media_dir
                / f"out-{secrets.token_hex(8)}{mimetypes.guess_extension(content_type) or '.bin'}"
            )
            self.media_dir.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        else:
            return ""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        add_served_media(
            db,
            f"served:{token}",
            WHATSAPP,
            str(path),
            path.stat().st_size,
            content_type,
            token,
            now + SERVED_MEDIA_LIFETIME,
            now,
        )
        return f"{self.twilio.public_url}/media/{token}"


# --------------------------------------------------------------------------
# The channel plug-in (handlers/channels.py)
# --------------------------------------------------------------------------


class TwilioWhatsAppChannel:
    """WhatsApp through Twilio: citizens only (staff never sit on WhatsApp)."""

    name = WHATSAPP
    secrets = ("TWILIO_AUTH_TOKEN",)
    hosts_staff = False
    external = True

    def off_reason(self, config: Config, environ: Mapping[str, str]) -> str | None:
        if not (environ.get("TWILIO_ACCOUNT_SID") and environ.get("TWILIO_AUTH_TOKEN")):
            return "TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN are not set"
        if not config.service.public_url:
            return "service.public_url is not set (Twilio signs requests with it)"
        return None

    def build(self, wiring: Wiring) -> Built:
        config, environ = wiring.config, wiring.environ
        twilio = Twilio(
            environ["TWILIO_ACCOUNT_SID"],
            environ["TWILIO_AUTH_TOKEN"],
            config.service.public_url,
            environ.get("TWILIO_API_BASE_URL", ""),
        )
        fetcher = MediaFetcher(wiring.databases, twilio, wiring.media_dir, clock=wiring.clock)
        sender = WhatsAppSender(
            twilio,
            wiring.databases,
            config,
            wiring.staff_channel,
            wiring.media_dir,
            fetch_foreign_file=wiring.staff_file,
            clock=wiring.clock,
        )
        receiver = WhatsAppReceiver(
            wiring.ingest,
            wiring.databases,
            config,
            wiring.staff_channel,
            wake_fetcher=fetcher.wake,
            wake_delivery=wiring.delivery.wake,
            clock=wiring.clock,
        )
        blueprint = webhook_blueprint(receiver, twilio, wiring.databases, clock=wiring.clock)
        return Built(sender, [blueprint], [fetcher])


CHANNEL = TwilioWhatsAppChannel()
