"""The local channel: citizens, agency groups and supervisors talking to the real core
through a small JSON API, without any Telegram or Twilio account.

Chats are named `citizen:<name>`, `agency:<id>`, `dispatch` and `supervisors`.
Staff chats exist here only while the staff channel is local (no Telegram
token); otherwise agencies work in their Telegram groups.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from bot.config import Config
from bot.model import LOCAL, Attachment, Inbound, Location, Outbound
from handlers.delivery import Sent
from handlers.ingest import Ingest
from storage.connections import Databases
from storage.outbox import chat_messages

MAX_TEXT = 4096
MAX_LABEL = 200
MAX_NAME = 64
MAX_BUTTON = 64
_CITIZEN = re.compile(r"citizen:[A-Za-z0-9_.\-]{1,40}")


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class LocalSender:
    """Delivers to local chats: the message simply becomes part of the chat's transcript."""

    channel = LOCAL

    def send(self, outbound: Outbound, edit_message_id: str | None) -> Sent:
        if edit_message_id is not None:
            return Sent([edit_message_id])
        return Sent([f"local-{uuid.uuid4().hex}"])


def chat_id_for(config: Config, chat: str, staff_is_local: bool) -> tuple[str, bool]:
    """The core chat id of a local chat name, and whether it is a staff group."""
    if _CITIZEN.fullmatch(chat):
        return chat, False
    if chat in ("dispatch", "supervisors") or chat.startswith("agency:"):
        if not staff_is_local:
            raise BadRequest("staff chats are on Telegram while a bot token is set", 409)
        if chat == "dispatch":
            return config.dispatch.staff_chat, True
        if chat == "supervisors":
            if not config.supervisors.staff_chats:
                raise BadRequest("no supervisor chat is configured", 404)
            return config.supervisors.staff_chats[0], True
        agency = config.agency(chat.removeprefix("agency:"))
        if agency is None:
            raise BadRequest(f"unknown agency in chat '{chat[:60]}'", 404)
        return agency.staff_chat, True
    raise BadRequest(
        "chat must be 'citizen:<name>' (letters, digits, . _ -), 'agency:<id>', "
        "'dispatch' or 'supervisors'"
    )


def _string(body: dict[str, Any], key: str, limit: int, required: bool = False) -> str:
    value = body.get(key)
    if value is None:
        if required:
            raise BadRequest(f"'{key}' is required")
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"'{key}' must be a string")
    if len(value) > limit:
        raise BadRequest(f"'{key}' is too long ({len(value)} characters, at most {limit})")
    return value


def _location(raw: Any) -> Location | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BadRequest("'location' must be an object with latitude and longitude")
    latitude, longitude = raw.get("latitude"), raw.get("longitude")
    for name, value, bound in (("latitude", latitude, 90), ("longitude", longitude, 180)):
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not -bound <= value <= bound
        ):
            raise BadRequest(f"'location.{name}' must be a number between -{bound} and {bound}")
    address = raw.get("address", "")
    if not isinstance(address, str) or len(address) > 500:
        raise BadRequest("'location.address' must be a string of at most 500 characters")
    return Location(float(latitude), float(longitude), address)


def _photos(raw: Any) -> tuple[Attachment, ...]:
    if raw is None:
        return ()
    if (
        not isinstance(raw, list)
        or len(raw) > 10
        or not all(isinstance(p, str) and 0 < len(p) <= 200 for p in raw)
    ):
        raise BadRequest(
            "'photos' must be a list of at most 10 names (strings up to 200 characters)"
        )
    return tuple(Attachment("photo", f"local:{name}", "image/jpeg", name) for name in raw)


def parse_local_message(config: Config, body: Any, staff_is_local: bool) -> Inbound:
    """Validate a local-console message; raises BadRequest with a clear message."""
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    known = {"chat", "text", "button", "label", "reply_to", "name", "location", "photos", "id"}
    unknown = set(body) - known
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(sorted(unknown))[:200]}")
    chat = _string(body, "chat", 60, required=True)
    chat_id, is_group = chat_id_for(config, chat, staff_is_local)
    text = _string(body, "text", MAX_TEXT)
    button = _string(body, "button", MAX_BUTTON)
    label = _string(body, "label", MAX_LABEL)
    if label and not button:
        raise BadRequest("'label' is the label of a pressed 'button'; send it with 'button'")
    if button and label and not text:
        text = label  # as WhatsApp sends a button's text with its payload
    name = _string(body, "name", MAX_NAME)
    reply_to = _string(body, "reply_to", 100)
    message_id = _string(body, "id", 100) or uuid.uuid4().hex
    location = _location(body.get("location"))
    photos = _photos(body.get("photos"))
    if not (text.strip() or button or location or photos):
        raise BadRequest("send at least one of 'text', 'button', 'location' or 'photos'")
    default_name = chat.split(":", 1)[1] if chat.startswith("citizen:") else "Admin"
    return Inbound(
        channel=LOCAL,
        chat_id=chat_id,
        provider_id=message_id,
        sender_id=chat,
        sender_name=name or default_name,
        text=text,
        is_group=is_group,
        attachments=photos,
        location=location,
        button_data=button,
        reply_to_message_id=reply_to,
    )


def transcript(databases: Databases, chat_id: str, after: int) -> list[dict[str, Any]]:
    """Every message of a local chat in order: what people sent and what the bot said."""
    rows = chat_messages(databases.get(), LOCAL, chat_id, after)
    out = []
    labels: dict[str, str] = {}  # button data -> the label it last had on a bot message
    for row in rows:
        payload = json.loads(row["payload"] or "{}")
        if row["direction"] == "out":
            for line in payload.get("buttons", []):
                labels.update((b["data"], b["label"]) for b in line)
        pressed = payload.get("button_data", "")
        out.append(
            {
                "id": row["id"],
                "message_id": row["provider_message_id"],
                "from": "person" if row["direction"] == "in" else "bot",
                "text": row["text"] or "",
                "kind": payload.get("kind", "text"),
                "buttons": payload.get("buttons", []),
                "pressed": pressed,
                "pressed_label": labels.get(pressed, "") if pressed else "",
                "photos": [
                    a.get("name") or a.get("ref", "") for a in payload.get("attachments", [])
                ],
                "location": payload.get("location"),
                "ticket_id": row["ticket_id"],
                "at": row["at"],
            }
        )
    return out


def local_blueprint(
    ingest: Ingest, databases: Databases, config: Config, staff_is_local: bool
) -> Blueprint:
    blueprint = Blueprint("local", __name__, url_prefix="/local")

    @blueprint.before_request
    def loopback_only() -> Response | None:
        if not current_app.config.get("LOCAL_CONSOLE_OPEN") and not is_loopback_request():
            return _error("the local channel is only reachable from this machine", 403)
        return None

    @blueprint.errorhandler(BadRequest)
    def bad_request(error: BadRequest) -> Response:
        return _error(error.message, error.status)

    @blueprint.get("/chats")
    def chats() -> Response:
        staff = []
        if staff_is_local:
            staff = [{"chat": "dispatch", "name": config.dispatch.name}]
            staff += [{"chat": f"agency:{a.id}", "name": a.name} for a in config.agencies]
            if config.supervisors.staff_chats:
                staff.append({"chat": "supervisors", "name": "Pimpinan"})
        return jsonify(
            {
                "staff": staff,
                "citizen": "citizen:<name>",
                "max_text": MAX_TEXT,
                "language": config.service.language,  # the page's until a person switches
            }
        )

    @blueprint.post("/messages")
    def send() -> tuple[Response, int]:
        if not request.is_json:
            raise BadRequest("send JSON (Content-Type: application/json)", 415)
        body = request.get_json(silent=True)
        if body is None:
            raise BadRequest("the body is not valid JSON")
        inbound = parse_local_message(config, body, staff_is_local)
        outcome = ingest.receive(inbound)
        return jsonify(
            {
                "accepted": True,
                "duplicate": outcome is None,
                "ticket_id": outcome.ticket_id if outcome else None,
            }
        ), 202

    @blueprint.get("/messages")
    def read() -> Response:
        chat = request.args.get("chat", "")
        after_raw = request.args.get("after", "0")
        if not (after_raw.isascii() and after_raw.isdigit() and len(after_raw) <= 18):
            raise BadRequest("'after' must be a message id (a whole number)")
        chat_id, _ = chat_id_for(config, chat, staff_is_local)
        return jsonify({"chat": chat, "messages": transcript(databases, chat_id, int(after_raw))})

    return blueprint


_FORWARDED = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def is_loopback_request() -> bool:
    """Whether the request came from this machine: the TCP peer is loopback and no
    reverse proxy forwarded it (behind nginx on the same host every request arrives
    from 127.0.0.1, but one carrying a forwarding header came from elsewhere)."""
    address = request.remote_addr or ""
    if any(request.headers.get(name) for name in _FORWARDED):
        return False
    return address.startswith("127.") or address in ("::1", "localhost")


def _error(message: str, status: int) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response
