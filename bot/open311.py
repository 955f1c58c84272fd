"""Open311 GeoReport v2 (docs/contract.md §11): what the API publishes and what it files.

Pure policy, like the rest of the core. The edge (handlers/open311.py) reads the HTTP
request, storage (storage/open311.py) finds the tickets, and this module decides:

- the service list: one service per category (`service_code` is the category id), and
  `LAINNYA` for what no category covers (filed to dispatch, like the chat's "0");
- how `GET requests` reads its filters (`parse_query`), with the spec's defaults: the
  last 90 days, at most 1000 requests, newest first;
- how a ticket is published (`published`): the ticket number, `open` or `closed`, a fixed
  phrase for its status, the category, the agency, the times in the service time zone,
  coordinates rounded to 3 decimals (about 110 m); never the citizen's name, number,
  chat, address or files, and the description only when `open311.publish_descriptions`
  is true and the ticket is not confidential (phone numbers and e-mail addresses in it
  are blanked even then);
- how `POST requests` is checked (`read_request`) and filed (`file_request`): a normal
  ticket routed to the category's agency, with the usual card, deadline, reminders and
  alerts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from bot import lifecycle
from bot.catalog import say
from bot.config import Category, Config
from bot.model import OPEN311, OPEN_STATUSES, Location, Status, Ticket
from bot.session import Session
from bot.tickets import format_number, parse_number

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-02"  # when this API last changed (discovery's `changeset`)
OTHER_CODE = "LAINNYA"  # never a category id: those are lowercase slugs
DEFAULT_SPAN = timedelta(days=90)
MAX_SPAN = timedelta(days=90)
MAX_REQUESTS = 1000
MAX_IDS = MAX_REQUESTS
MAX_CODES = 200
DESCRIPTION_LIMIT = 4000
MIN_DESCRIPTION = 10
ADDRESS_LIMIT = 300
NAME_LIMIT = 60
CLIENT_ID_LIMIT = 100
COORDINATE_DECIMALS = 3
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)

# "resolved" is open: the agency says it is fixed, the citizen has not confirmed, and a
# "not fixed" reopens it (it closes by itself after sla.confirm_days).
OPEN = "open"
CLOSED = "closed"
STATUS_FILTERS: dict[str, tuple[str, ...]] = {
    OPEN: tuple(sorted(str(s) for s in OPEN_STATUSES)),
    CLOSED: tuple(sorted(str(s) for s in Status if s not in OPEN_STATUSES)),
}

# The API's own sentences (the chat's are in bot/catalog.py).
TEXTS: dict[str, dict[str, str]] = {
    "id": {
        "status_new": "Diterima; menunggu diteruskan ke instansi yang berwenang.",
        "status_assigned": "Diteruskan ke instansi; menunggu tanggapan.",
        "status_responded": "Instansi sudah menanggapi; sedang ditindaklanjuti.",
        "status_waiting_citizen": "Instansi menunggu keterangan dari pelapor.",
        "status_resolved": "Instansi menyatakan selesai; menunggu konfirmasi pelapor.",
        "status_awaiting_validation": "Instansi menyatakan selesai; hasilnya sedang diperiksa.",
        "status_closed": "Selesai.",
        "status_rejected": "Ditolak: bukan pengaduan yang dapat ditindaklanjuti.",
        "status_referred": "Di luar kewenangan Pemerintah Kabupaten; pelapor diarahkan ke "
        "pihak yang berwenang.",
        "service_description": "Pengaduan {label}, ditangani {agency}.",
        "other_description": "Pengaduan yang tidak termasuk kategori lain; {dispatch} "
        "meneruskannya ke instansi yang berwenang.",
        "notice_assigned": "Pengaduan diteruskan ke {agency}, yang wajib menanggapi paling "
        "lambat {deadline}.",
        "notice_dispatch": "Pengaduan diterima; {dispatch} akan meneruskannya ke instansi "
        "yang berwenang.",
        "contact": "{service}, layanan pengaduan Pemerintah Kabupaten Indramayu ({dispatch}).",
        "key_service": "Kunci API (api_key) untuk mengirim pengaduan diberikan oleh "
        "pengelola {service}.",
    },
    "en": {
        "status_new": "Received; waiting to be routed to the agency in charge.",
        "status_assigned": "Routed to the agency; waiting for its response.",
        "status_responded": "The agency has responded; work is under way.",
        "status_waiting_citizen": "The agency is waiting for details from the reporter.",
        "status_resolved": "The agency reports it resolved; waiting for the reporter's "
        "confirmation.",
        "status_awaiting_validation": "The agency reports it resolved; the fix is being checked.",
        "status_closed": "Done.",
        "status_rejected": "Rejected: not a complaint that can be acted on.",
        "status_referred": "Outside the regency's authority; the reporter was directed to "
        "the office in charge.",
        "service_description": "Complaints about {label}, handled by {agency}.",
        "other_description": "Complaints no other category covers; {dispatch} routes them to "
        "the agency in charge.",
        "notice_assigned": "Routed to {agency}, which must respond by {deadline}.",
        "notice_dispatch": "Received; {dispatch} will route it to the agency in charge.",
        "contact": "{service}, the complaint service of the Indramayu regency ({dispatch}).",
        "key_service": "API keys (api_key) for filing requests are issued by the operators "
        "of {service}.",
    },
}


def text(language: str, key: str, **values: object) -> str:
    """An Open311 sentence in `language` (Indonesian when unknown)."""
    return (TEXTS.get(language) or TEXTS["id"])[key].format(**values)


class Open311Error(Exception):
    """A request the API refuses: the HTTP code of the spec's error array, and why."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _bad(description: str) -> Open311Error:
    return Open311Error(400, description)


# --------------------------------------------------------------------------
# Discovery and services
# --------------------------------------------------------------------------


def discovery(config: Config, endpoint_url: str) -> dict[str, Any]:
    """The Service Discovery document of this one endpoint."""
    language, service = config.service.language, config.service.name
    return {
        "changeset": CHANGESET,
        "contact": text(language, "contact", service=service, dispatch=config.dispatch.name),
        "key_service": text(language, "key_service", service=service),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": endpoint_url,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }


def _service(
    code: str, name: str, description: str, keywords: list[str], group: str
) -> dict[str, Any]:
    return {
        "service_code": code,
        "service_name": name,
        "description": description,
        "metadata": False,  # no extra attributes: a definition lists none
        "type": "realtime",  # the ticket number is answered at once
        "keywords": ", ".join(keywords),
        "group": group,
    }


def services(config: Config) -> list[dict[str, Any]]:
    """Every category in config order, then `LAINNYA` (dispatch routes it)."""
    language = config.service.language
    listed = [
        _service(
            category.id,
            category.text(language),
            text(
                language,
                "service_description",
                label=category.text(language),
                agency=_agency_name(config, category.agency),
            ),
            category.keywords,
            _agency_name(config, category.agency),
        )
        for category in config.categories
    ]
    listed.append(
        _service(
            OTHER_CODE,
            say(language, "category_other"),
            text(language, "other_description", dispatch=config.dispatch.name),
            [],
            config.dispatch.name,
        )
    )
    return listed


def service_definition(config: Config, code: str) -> dict[str, Any]:
    """A service's definition: no attributes (`metadata` is false for every service)."""
    if not is_service(config, code):
        raise Open311Error(404, f"service_code {_shown(code)} not found")
    return {"service_code": code, "attributes": []}


def is_service(config: Config, code: str) -> bool:
    return code == OTHER_CODE or config.category(code) is not None


def _agency_name(config: Config, agency_id: str) -> str:
    agency = config.agency(agency_id) if agency_id else None
    return agency.display if agency else config.dispatch.name


def _shown(value: str) -> str:
    """A client's value, quoted and cut short, for an error description."""
    return repr(value[:40])


# --------------------------------------------------------------------------
# GET requests: the filters
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestQuery:
    """What `GET requests` asks for. With `ticket_ids` nothing else counts (the spec:
    service_request_id "overrides all other arguments")."""

    ticket_ids: tuple[int, ...] = ()
    category_ids: tuple[str, ...] = ()  # empty with `other` false: every service
    other: bool = False  # also the tickets of no configured category (LAINNYA)
    statuses: tuple[str, ...] = ()  # ticket statuses; empty: all
    start: datetime | None = None  # requested_datetime from (inclusive)
    end: datetime | None = None  # requested_datetime up to (inclusive)
    limit: int = MAX_REQUESTS

    @property
    def by_service(self) -> bool:
        return bool(self.category_ids) or self.other


def _items(value: str) -> list[str]:
    """A comma-delimited list of the spec (`open,closed`), empty items dropped."""
    return [item.strip() for item in value.split(",") if item.strip()]


def parse_query(args: Mapping[str, str], config: Config, now: datetime) -> RequestQuery:
    """The filters of `GET requests` (`service_request_id`, `service_code`, `status`,
    `start_date`, `end_date`; others ignored). An empty parameter is an absent one."""
    ids_text = args.get("service_request_id", "")
    if ids_text:
        return RequestQuery(ticket_ids=parse_ids(ids_text, config))
    codes = _items(args.get("service_code", ""))
    if len(codes) > MAX_CODES:
        raise _bad(f"service_code: at most {MAX_CODES} codes")
    for code in codes:
        if not is_service(config, code):
            raise Open311Error(404, f"service_code {_shown(code)} not found")
    statuses: list[str] = []
    for status in _items(args.get("status", "")):
        if status not in STATUS_FILTERS:
            raise _bad(f"status: must be open or closed, not {_shown(status)}")
        statuses += STATUS_FILTERS[status]
    tz = config.service.tz
    start = _moment(args.get("start_date", ""), "start_date", tz, end_of_day=False)
    end = _moment(args.get("end_date", ""), "end_date", tz, end_of_day=True)
    if start is None and end is None:
        start, end = now - DEFAULT_SPAN, now
    elif start is None:
        assert end is not None
        start = end - DEFAULT_SPAN
    elif end is None:
        end = start + DEFAULT_SPAN
    if start > end:
        raise _bad("start_date: must not be after end_date")
    if end - start > MAX_SPAN:
        raise _bad("start_date, end_date: may not span more than 90 days")
    return RequestQuery(
        category_ids=tuple(dict.fromkeys(c for c in codes if c != OTHER_CODE)),
        other=OTHER_CODE in codes,
        statuses=tuple(sorted(set(statuses))) if len(set(statuses)) < len(Status) else (),
        start=start,
        end=end,
    )


def parse_ids(value: str, config: Config) -> tuple[int, ...]:
    """Ticket ids from `ICT-000123,ICT-000124` (the product's numbers; `123` works too)."""
    items = _items(value)
    if len(items) > MAX_IDS:
        raise _bad(f"service_request_id: at most {MAX_IDS} ids")
    ids: list[int] = []
    for item in items:
        ticket_id = request_id(item, config)
        if ticket_id is None:
            raise _bad(f"service_request_id: {_shown(item)} is not a request id such as ICT-000123")
        ids.append(ticket_id)
    return tuple(dict.fromkeys(ids))


def request_id(value: str, config: Config) -> int | None:
    """The ticket id of a service_request_id, or None when it cannot be one."""
    if len(value) > 40:
        return None
    return parse_number(config.service.ticket_prefix, value)


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DATETIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)(Z|[+-]\d{2}:?\d{2})", re.ASCII
)


def _moment(value: str, name: str, tz: tzinfo, *, end_of_day: bool) -> datetime | None:
    """A W3C datetime (`2026-12-01T00:00:00Z`, `…+07:00`) or a date (`2026-12-01`, the
    whole day in the service time zone). A `+` sent unencoded arrives as a space: read so."""
    text_value = value.strip()
    if not text_value:
        return None
    problem = _bad(f"{name}: must be a W3C datetime with its offset, such as 2026-12-01T00:00:00Z")
    if len(text_value) > 40:
        raise problem
    text_value = re.sub(r" (\d{2}:?\d{2})$", r"+\1", text_value)
    try:
        if _DATE.fullmatch(text_value):
            day = date.fromisoformat(text_value)
            moment = datetime.combine(day, time.max if end_of_day else time.min, tzinfo=tz)
        elif _DATETIME.fullmatch(text_value):
            moment = datetime.fromisoformat(text_value.replace("Z", "+00:00"))
            day = moment.date()
        else:
            raise problem
    except ValueError:
        raise problem from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise _bad(f"{name}: must be between {FIRST_DAY.year} and {LAST_DAY.year}")
    return moment


# --------------------------------------------------------------------------
# A ticket as the API publishes it
# --------------------------------------------------------------------------

# Seven or more digits with spaces, dots, dashes, slashes, underscores or brackets
# between them, even glued to letters ("HP081234567890", "+62 (812) 3456-7890").
_PHONE_IN_TEXT = re.compile(r"(?<!\d)\+?\(?\d[\d ./_()-]{5,20}\d(?!\d)")
_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_HIDDEN = "[…]"


def open311_status(status: Status | str) -> str:
    return OPEN if Status(status) in OPEN_STATUSES else CLOSED


def service_code(config: Config, ticket: Ticket) -> str:
    return ticket.category_id if config.category(ticket.category_id) else OTHER_CODE


def published(ticket: Ticket, config: Config) -> dict[str, Any]:
    """A ticket as a GeoReport `request`: nothing that names or locates the citizen."""
    assert ticket.id is not None
    language, tz = config.service.language, config.service.tz
    category: Category | None = config.category(ticket.category_id)
    # a confidential ticket is not even placed on a map: in a village, 110 m is a few houses
    location = None if ticket.confidential else ticket.location
    closed = open311_status(ticket.status) == CLOSED
    updated = (ticket.closed_at if closed else None) or ticket.updated_at or ticket.created_at
    return {
        "service_request_id": format_number(config.service.ticket_prefix, ticket.id),
        "status": open311_status(ticket.status),
        "status_notes": text(language, f"status_{Status(ticket.status)}"),
        "service_name": category.text(language) if category else say(language, "category_other"),
        "service_code": category.id if category else OTHER_CODE,
        "description": public_description(ticket, config),
        "agency_responsible": _agency_name(config, ticket.agency_id),
        "service_notice": None,
        "requested_datetime": w3c(ticket.created_at, tz),
        "updated_datetime": w3c(updated, tz),
        # the response deadline, while the agency's clock runs for it
        "expected_datetime": w3c(ticket.deadline_at, tz) if ticket.awaiting_response else None,
        "address": None,  # a typed address is an exact location: never published
        "lat": _rounded(location.latitude if location else None),
        "long": _rounded(location.longitude if location else None),
        "media_url": None,  # citizens' photos are personal data
    }


def public_description(ticket: Ticket, config: Config) -> str | None:
    """The citizen's words when the operator publishes them, never a confidential
    ticket's; phone numbers and e-mail addresses in them are blanked."""
    if not config.open311.publish_descriptions or ticket.confidential:
        return None
    shown = _EMAIL_IN_TEXT.sub(_HIDDEN, ticket.description)
    shown = _PHONE_IN_TEXT.sub(_HIDDEN, shown)
    return shown[:DESCRIPTION_LIMIT]


def w3c(moment: datetime | None, tz: tzinfo) -> str | None:
    """`2026-12-02T10:00:00+07:00`: W3C/ISO 8601 with the service time zone's offset."""
    if moment is None:
        return None
    return moment.astimezone(tz).isoformat(timespec="seconds")


def _rounded(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(value, COORDINATE_DECIMALS)


# --------------------------------------------------------------------------
# POST requests: a complaint from an Open311 client
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceRequest:
    """A checked `POST requests`. `citizen_chat` is the ticket's chat on the open311
    channel: the client's account or device id, else a fresh id the edge made."""

    category_id: str  # "" for LAINNYA: dispatch routes it
    description: str
    latitude: float | None
    longitude: float | None
    address: str
    name: str
    phone: str  # E.164, or "" when none was given that reads as a phone number
    citizen_chat: str


_PHONE = re.compile(r"\+?[0-9][0-9 .-]{6,18}[0-9]")  # as the desk's phone form reads it
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CLIENT_ID = re.compile(r"[\x21-\x7e]{1,100}")


def _clean(value: str) -> str:
    """Text as a ticket keeps it: no control characters but line breaks and tabs."""
    return _CONTROL.sub("", value).strip()


_DEGREES = re.compile(r"[+-]?\d{1,3}(?:\.\d{1,15})?", re.ASCII)


def _coordinate(value: str, name: str, bound: float) -> float:
    if not _DEGREES.fullmatch(value):
        raise _bad(f"{name}: must be a number of degrees (WGS84), such as -6.3269")
    number = float(value)
    if not -bound <= number <= bound:
        raise _bad(f"{name}: must be between -{bound:g} and {bound:g}")
    return number


def e164(phone: str) -> str:
    """A phone number in E.164 (+62…), an Indonesian 0… number read as +62."""
    digits = re.sub(r"[^0-9]", "", phone)
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    return "+" + digits


def read_request(
    fields: Mapping[str, str], config: Config, client: str, fresh_id: str
) -> ServiceRequest:
    """The fields of `POST requests` checked: `service_code` (required), a location
    (`lat` and `long`, or `address_string`), `description` (required here, 10 to 4000
    characters), and the optional `first_name`, `last_name`, `phone`, `account_id`,
    `device_id`. `email` and `media_url` are not kept. Raises Open311Error."""
    code = fields.get("service_code", "").strip()
    if not code:
        raise _bad("service_code: required")
    if not is_service(config, code):
        raise Open311Error(404, f"service_code {_shown(code)} not found")
    lat_text, long_text = fields.get("lat", "").strip(), fields.get("long", "").strip()
    address = _clean(fields.get("address_string", ""))
    latitude = longitude = None
    if lat_text or long_text:
        if not (lat_text and long_text):
            raise _bad("lat, long: both are needed")
        latitude = _coordinate(lat_text, "lat", 90)
        longitude = _coordinate(long_text, "long", 180)
    elif not address:
        raise _bad("location: lat and long, or address_string, is required")
    if len(address) > ADDRESS_LIMIT:
        raise _bad(f"address_string: at most {ADDRESS_LIMIT} characters")
    description = _clean(fields.get("description", ""))
    if len(description) < MIN_DESCRIPTION:
        raise _bad(f"description: required, at least {MIN_DESCRIPTION} characters")
    if len(description) > DESCRIPTION_LIMIT:
        raise _bad(f"description: at most {DESCRIPTION_LIMIT} characters")
    names = [_clean(fields.get(key, ""))[:NAME_LIMIT] for key in ("first_name", "last_name")]
    phone_text = fields.get("phone", "").strip()
    phone = e164(phone_text) if _PHONE.fullmatch(phone_text) else ""
    return ServiceRequest(
        category_id="" if code == OTHER_CODE else code,
        description=description,
        latitude=latitude,
        longitude=longitude,
        address=address,
        name=" ".join(n for n in names if n),
        phone=phone,
        citizen_chat=_citizen_chat(fields, client, fresh_id),
    )


def _citizen_chat(fields: Mapping[str, str], client: str, fresh_id: str) -> str:
    """`<client>:account:<id>`, `<client>:device:<id>`, else `<client>:<fresh id>`: one
    chat per person the client knows, never shared between clients."""
    for key, kind in (("account_id", "account"), ("device_id", "device")):
        given = fields.get(key, "").strip()
        if _CLIENT_ID.fullmatch(given):
            return f"{client}:{kind}:{given}"
    return f"{client}:{fresh_id}"


def file_request(session: Session, request: ServiceRequest, client: str) -> Ticket:
    """A service request becomes a normal ticket on the open311 channel, routed like any
    other (its card reaches the agency's staff group); what the agency answers is kept
    for the client, which reads the status by polling."""
    location = None
    if request.latitude is not None or request.address:
        location = Location(request.latitude, request.longitude, request.address)
    ticket = Ticket(
        id=None,
        citizen_channel=OPEN311,
        citizen_chat_id=request.citizen_chat,
        citizen_name=request.name,
        citizen_phone=request.phone,
        description=request.description,
        created_at=session.now,
        category_id=request.category_id,
        location=location,
        language=session.config.service.language,
    )
    ticket = lifecycle.file_ticket(session, ticket)
    session.record(ticket, f"open311:{client}", "open311_request", detail=client)
    session.store.save_ticket(ticket)
    return ticket


def service_notice(ticket: Ticket, session: Session) -> str:
    """What the client is told on filing: who handles it, and by when."""
    language = session.config.service.language
    if ticket.agency_id and ticket.deadline_at is not None:
        return text(
            language,
            "notice_assigned",
            agency=session.agency_name(ticket.agency_id),
            deadline=session.time(ticket.deadline_at, language),
        )
    return text(language, "notice_dispatch", dispatch=session.config.dispatch.name)
