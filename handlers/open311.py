"""Open311 GeoReport v2 under /open311/v2/ (docs/contract.md §11), in JSON and XML.

    GET  /open311/v2/discovery.{json,xml}
    GET  /open311/v2/services.{json,xml}
    GET  /open311/v2/services/<service_code>.{json,xml}
    GET  /open311/v2/requests.{json,xml}    service_request_id, service_code, status,
                                            start_date, end_date (others ignored)
    POST /open311/v2/requests.{json,xml}    api_key (from ICETA_OPEN311_KEYS), …
    GET  /open311/v2/requests/<service_request_id>.{json,xml}

It is also the `open311` channel's plug-in: what the core says to the "citizen" of a
ticket filed here has no chat to go to (the client polls its request), so the sender
marks it sent, as the phone channel does for the call-back list.

The rules are core (bot/open311.py, filing through bot/engine.py); the reads are
storage/open311.py. Every refusal is the spec's error array with a 4xx: 400 for a bad
parameter, 403 for a missing or wrong api_key, 404 for an unknown service or request,
405 for another method; never a 5xx for what a client sends.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, Response, request
from werkzeug.exceptions import HTTPException

from bot import engine, open311
from bot.config import Config
from bot.model import OPEN311, Outbound
from bot.open311 import Open311Error
from handlers.channels import Built, Wiring
from handlers.delivery import Sent
from handlers.web import encodable
from storage import open311 as stored
from storage.clock import Clock
from storage.connections import Databases
from storage.db import transaction
from storage.repository import SqliteStore

log = logging.getLogger(__name__)

PREFIX = "/open311/v2"
KEYS_VARIABLE = "ICETA_OPEN311_KEYS"
MIN_KEY_LENGTH = 16  # shorter keys in the variable are not accepted (and logged as such)
MAX_BODY_BYTES = 64 * 1024  # a POST of every field at its longest is far less
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]  # others than GET/POST: a 405 array
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
# The scalar fields of POST requests (anything else, e.g. attribute[…], is ignored).
POST_FIELDS = (
    "api_key",
    "jurisdiction_id",
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
    "media_url",
)
# In XML, the element of each item of a list (the spec's `<services><service>…`).
XML_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
}
# Characters XML 1.0 cannot carry at all (they are dropped from what is written).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Open311Sender:
    """The open311 channel: there is no chat to deliver to (the client reads its request
    with `GET requests/<id>`), so what the core says to the citizen is marked sent."""

    channel = OPEN311

    def send(self, outbound: Outbound, edit_message_id: str | None) -> Sent:
        return Sent([f"open311-{secrets.token_hex(8)}"])


def api_keys(environ: Mapping[str, str]) -> dict[str, str]:
    """The accepted keys of ICETA_OPEN311_KEYS (comma-separated), each with the label its
    tickets are filed under: `key1`, `key2`, … by position (never the key itself)."""
    keys: dict[str, str] = {}
    for index, key in enumerate(environ.get(KEYS_VARIABLE, "").split(","), start=1):
        key = key.strip()
        if len(key) >= MIN_KEY_LENGTH:
            keys.setdefault(key, f"key{index}")
        elif key:
            log.warning(
                "open311: key %d of %s is shorter than %d characters and not accepted",
                index,
                KEYS_VARIABLE,
                MIN_KEY_LENGTH,
            )
    return keys


def client_of(keys: Mapping[str, str], given: str) -> str | None:
    """The label of the key `given`, or None (compared in constant time, every key)."""
    found = None
    candidate = given.encode("utf-8", "replace")
    for key, label in keys.items():
        if hmac.compare_digest(key.encode("utf-8"), candidate):
            found = label
    return found


# --------------------------------------------------------------------------
# Answers: JSON, or the spec's XML
# --------------------------------------------------------------------------


def _xml_element(tag: str, value: Any) -> ET.Element:
    element = ET.Element(tag)
    if isinstance(value, dict):
        for key, item in value.items():
            element.append(_xml_element(key, item))
    elif isinstance(value, list):
        item_tag = XML_ITEMS.get(tag, "item")
        for item in value:
            element.append(_xml_element(item_tag, item))
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = _NOT_XML.sub("", str(value))
    return element


def to_xml(root: str, payload: Any) -> bytes:
    """`payload` as the spec's XML under `root`, with the UTF-8 declaration."""
    body = ET.tostring(_xml_element(root, payload), encoding="unicode")
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body).encode("utf-8")


def answer(fmt: str, root: str, payload: Any, status: int = 200) -> Response:
    """`payload` in the format asked for (`json` or `xml`; the XML root is `root`)."""
    if fmt == "xml":
        body = to_xml(root, payload)
    else:
        fmt = "json"
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    response = Response(body, status, content_type=FORMATS[fmt])
    if request.method in ("GET", "HEAD"):
        response.headers["Access-Control-Allow-Origin"] = "*"  # open data
    return response


def error(fmt: str, code: int, description: str) -> Response:
    """The spec's error array (`[{"code": 400, "description": "…"}]`, `<errors>…`)."""
    return answer(fmt, "errors", [{"code": code, "description": description}], code)


def _split(name: str) -> tuple[str, str]:
    """`jalan.json` -> (`jalan`, `json`); a missing or unknown format gives ""."""
    stem, dot, fmt = name.rpartition(".")
    if not dot or fmt not in FORMATS:
        return name, ""
    return stem, fmt


# --------------------------------------------------------------------------
# Reading a POST body
# --------------------------------------------------------------------------


def _scalar(key: str, value: Any) -> str | None:
    """A JSON value of a field as text; None for null (an absent field). Raises for a
    value that cannot be one field's value (a list, an object, true/false)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise Open311Error(400, f"{key}: must be a single text value")
    return str(value)


def post_fields() -> dict[str, str]:
    """The fields of a POST: form-encoded (the spec), multipart, or a JSON object. Only
    the known scalar fields are kept; a field given twice or as a list is a 400."""
    try:
        fields = _read_body()
    except HTTPException as problem:  # werkzeug's own refusal (too large, bad multipart)
        code = problem.code if problem.code and 400 <= problem.code < 500 else 400
        raise Open311Error(code, "the body cannot be read") from None
    for key, value in fields.items():
        if not encodable(value):
            raise Open311Error(400, f"{key}: not valid UTF-8 text")
    return fields


def _read_body() -> dict[str, str]:
    fields: dict[str, str] = {}
    if request.mimetype == "application/json":
        raw = request.stream.read(MAX_BODY_BYTES + 1)
        if len(raw) > MAX_BODY_BYTES:
            raise Open311Error(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
        try:
            body = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):
            raise Open311Error(400, "the body is not a JSON object in UTF-8") from None
        if not isinstance(body, dict):
            raise Open311Error(400, "the body is not a JSON object in UTF-8")
        for key in POST_FIELDS:
            value = _scalar(key, body.get(key))
            if value is not None:
                fields[key] = value
    else:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            raise Open311Error(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
        form = request.form
        for key in POST_FIELDS:
            values = form.getlist(key)
            if len(values) > 1:
                raise Open311Error(400, f"{key}: given more than once")
            if values:
                fields[key] = values[0]
    return fields


def query_args() -> dict[str, str]:
    """The query's parameters, a repeated one joined by commas (the spec's lists)."""
    return {key: ",".join(request.args.getlist(key)) for key in request.args}


# --------------------------------------------------------------------------
# The routes
# --------------------------------------------------------------------------


def open311_blueprint(
    config: Config,
    databases: Databases,
    clock: Clock,
    staff_channel: str,
    wake: Callable[[], None],
    keys: Mapping[str, str],
) -> Blueprint:
    """Every /open311/v2 route."""
    blueprint = Blueprint("open311", __name__)

    @blueprint.before_request
    def readable_query_string() -> Response | None:
        try:
            request.query_string.decode("utf-8")
        except UnicodeDecodeError:
            _, fmt = _split(request.path)
            return error(fmt, 400, "the query string is not UTF-8")
        return None

    def refused(fmt: str, allowed: tuple[str, ...]) -> Response | None:
        if request.method in allowed or (request.method == "HEAD" and "GET" in allowed):
            return None
        response = error(fmt, 405, f"{request.method} is not allowed here")
        response.headers["Allow"] = ", ".join(allowed)
        return response

    def endpoint_url() -> str:
        base = config.service.public_url.rstrip("/") or request.url_root.rstrip("/")
        return base + PREFIX

    @blueprint.route(f"{PREFIX}/<name>", methods=METHODS)
    def resource(name: str) -> Response:
        stem, fmt = _split(name)
        if not fmt or stem not in ("discovery", "services", "requests"):
            return error(fmt or "json", 404, f"no resource {name[:60]!r}; see discovery.json")
        allowed = ("GET", "POST") if stem == "requests" else ("GET",)
        refusal = refused(fmt, allowed)
        if refusal is not None:
            return refusal
        try:
            if stem == "discovery":
                return answer(fmt, "discovery", open311.discovery(config, endpoint_url()))
            if stem == "services":
                return answer(fmt, "services", open311.services(config))
            if request.method == "POST":
                return file_request(fmt)
            return list_requests(fmt)
        except Open311Error as problem:
            return error(fmt, problem.code, problem.description)

    @blueprint.route(f"{PREFIX}/", methods=METHODS)
    @blueprint.route(f"{PREFIX}/<path:rest>", methods=METHODS)
    def elsewhere(rest: str = "") -> Response:
        _, fmt = _split(rest)
        return error(fmt or "json", 404, "no such resource; see discovery.json")

    @blueprint.route(f"{PREFIX}/services/<name>", methods=METHODS)
    def service_definition(name: str) -> Response:
        code, fmt = _split(name)
        if not fmt:
            return error("json", 404, "use services/<service_code>.json or .xml")
        refusal = refused(fmt, ("GET",))
        if refusal is not None:
            return refusal
        try:
            definition = open311.service_definition(config, code)
        except Open311Error as problem:
            return error(fmt, problem.code, problem.description)
        return answer(fmt, "service_definition", definition)

    @blueprint.route(f"{PREFIX}/requests/<name>", methods=METHODS)
    def one_request(name: str) -> Response:
        number, fmt = _split(name)
        if not fmt:
            return error("json", 404, "use requests/<service_request_id>.json or .xml")
        refusal = refused(fmt, ("GET",))
        if refusal is not None:
            return refusal
        ticket_id = open311.request_id(number, config)
        found = stored.tickets_by_ids(databases.get(), [ticket_id]) if ticket_id else []
        if not found:
            return error(fmt, 404, f"service_request_id {number[:40]!r} not found")
        return answer(fmt, "service_requests", [open311.published(found[0], config)])

    def list_requests(fmt: str) -> Response:
        query = open311.parse_query(query_args(), config, clock())
        db = databases.get()
        if query.ticket_ids:
            tickets = stored.tickets_by_ids(db, query.ticket_ids)
        else:
            assert query.start is not None and query.end is not None
            tickets = stored.tickets_filed_between(
                db,
                query.start,
                query.end,
                category_ids=query.category_ids,
                other_than=[c.id for c in config.categories] if query.other else None,
                statuses=query.statuses,
                limit=query.limit,
            )
        return answer(fmt, "service_requests", [open311.published(t, config) for t in tickets])

    def file_request(fmt: str) -> Response:
        try:
            fields = post_fields()
            unreadable: Open311Error | None = None
        except Open311Error as problem:
            fields, unreadable = {}, problem
        # the key only from the body, as the spec has it: in the address it would reach
        # proxies' access logs, which no redaction here can clean
        given = fields.get("api_key", "")
        client = client_of(keys, given) if given else None
        if client is None:  # before anything else: a wrong key learns nothing more
            raise Open311Error(403, "api_key: missing or not valid")
        if unreadable is not None:
            raise unreadable
        checked = open311.read_request(fields, config, client, secrets.token_hex(8))
        db = databases.get()
        with transaction(db):
            ticket, notice, _ = engine.file_open311_request(
                SqliteStore(db), config, clock(), staff_channel, checked, client
            )
        wake()
        filed = open311.published(ticket, config)["service_request_id"]
        log.info("open311: %s filed by %s", filed, client)
        return answer(
            fmt,
            "service_requests",
            [{"service_request_id": filed, "service_notice": notice, "account_id": None}],
        )

    return blueprint


# --------------------------------------------------------------------------
# The plug-in
# --------------------------------------------------------------------------


class Open311Channel:
    """Open311 GeoReport v2: open data for anyone, complaints from keyed clients."""

    name = OPEN311
    secrets: tuple[str, ...] = (KEYS_VARIABLE,)
    hosts_staff = False
    external = False  # no outside provider: the console's clock may still be moved

    def off_reason(self, config: Config, environ: Mapping[str, str]) -> str | None:
        return None if config.open311.enabled else "open311.enabled is false"

    def build(self, wiring: Wiring) -> Built:
        keys = api_keys(wiring.environ)
        if not keys:
            log.info("open311: no key in %s, so POST requests is refused", KEYS_VARIABLE)
        blueprint = open311_blueprint(
            wiring.config,
            wiring.databases,
            wiring.clock,
            wiring.staff_channel,
            wiring.delivery.wake,
            keys,
        )
        return Built(Open311Sender(), [blueprint], [])


CHANNEL = Open311Channel()
