"""Hostile input (docs/contract.md §8): whatever arrives, the edges answer with a result or
a typed rejection, the core never crashes, and a refused request changes nothing.

Properties (hypothesis) of the four parsers that read the outside world — the
Telegram update, Twilio's form, staff commands, config.yaml — and of the citizen
conversation driven by random messages on a real SQLite file; then a fuzz pass
over every HTTP route of the real app, Telegram and WhatsApp on against the
stand-ins: never a 5xx, and nothing stored for a 4xx.

Examples are derandomized so CI is stable; `ICETA_FUZZ=deep` runs twenty times
as many with a random seed, for hunting.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import yaml
from flask import request
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator
from werkzeug.exceptions import HTTPException

from bot.config import Config, ConfigError, load_config, parse_config
from bot.model import Attachment, Inbound, Location
from bot.staff import COMMANDS, parse_command
from bot.tickets import find_number, mask_phone, parse_number
from handlers.telegram import (
    SECRET_HEADER,
    TEXT_LIMIT,
    InvalidUpdate,
    ParsedUpdate,
    RateLimits,
    parse_update,
    split_text,
    utf16_length,
)
from handlers.whatsapp import BODY_LIMIT, InvalidMessage, normalise_number, parse_form, split_body
from run_bot import Service as RunningService
from run_bot import build_service
from tests.fakes import telegram_api as tg
from tests.fakes import twilio_api as tw
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.twilio_api import FakeTwilioApi
from tests.harness import DISPATCH_CHAT, PUPR_CHAT, SUPERVISOR_CHAT, TEST_CONFIG, Service

ROOT = Path(__file__).resolve().parent.parent
DEEP = os.environ.get("ICETA_FUZZ") == "deep"

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def fuzz(examples: int) -> settings:
    """Hypothesis settings: fixed examples in CI, many random ones with ICETA_FUZZ=deep."""
    return settings(
        max_examples=examples * 20 if DEEP else examples,
        deadline=None,
        derandomize=not DEEP,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --------------------------------------------------------------------------
# Values as JSON and YAML give them
# --------------------------------------------------------------------------

TELEGRAM_KEYS = [
    "update_id",
    "message",
    "edited_message",
    "callback_query",
    "my_chat_member",
    "message_id",
    "from",
    "chat",
    "date",
    "text",
    "caption",
    "photo",
    "file_id",
    "file_unique_id",
    "id",
    "type",
    "title",
    "is_bot",
    "first_name",
    "last_name",
    "reply_to_message",
    "location",
    "latitude",
    "longitude",
    "venue",
    "address",
    "data",
    "voice",
    "audio",
    "document",
    "sticker",
    "mime_type",
    "file_name",
    "migrate_to_chat_id",
    "migrate_from_chat_id",
    "new_chat_member",
    "old_chat_member",
    "status",
    "user",
    "entities",
]
ODD_NUMBERS = [0, -1, 2**31, 2**63, -(2**63) - 1, 10**30, 1e308, -0.0, math.inf, math.nan]
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(ODD_NUMBERS)
    | st.floats()
    | st.text(max_size=30)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(TELEGRAM_KEYS) | st.text(max_size=8), inner, max_size=6)
    ),
    max_leaves=25,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place inside a JSON-like value: dict keys and list indexes, outermost first."""
    if prefix:
        yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


@st.composite
def mutated(draw: st.DrawFn, originals: list[Any], values: st.SearchStrategy[Any]) -> Any:
    """One of `originals` with one to four places deleted or replaced by a random value."""
    value = copy.deepcopy(draw(st.sampled_from(originals)))
    for _ in range(draw(st.integers(1, 4))):
        places = list(_paths(value))
        if not places:
            break
        place = draw(st.sampled_from(places))
        parent = value
        for part in place[:-1]:
            parent = parent[part]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[place[-1]]
        else:
            parent[place[-1]] = draw(values)
    return value


# --------------------------------------------------------------------------
# Telegram: parse_update
# --------------------------------------------------------------------------

CITIZEN, PUPR, BUDI = 5550001, -1001000000001, 7770001


def _real_updates() -> list[dict[str, Any]]:
    card = tg.group_text(PUPR, 1, "Tiket ICT-000001\nKategori: Jalan")["message"]
    card["from"] = {"id": 1, "is_bot": True, "first_name": "I-Ceta"}
    venue = tg.private_location(CITIZEN, -6.33, 108.32)
    venue["message"]["venue"] = {
        "location": {"latitude": -6.33, "longitude": 108.32},
        "title": "Balai Desa",
        "address": "Jl. Raya Lohbener",
    }
    return [
        tg.private_text(CITIZEN, "Jalan di Desa Lohbener berlubang besar"),
        tg.private_text(CITIZEN, "/start"),
        tg.group_text(PUPR, BUDI, "/balas ICT-000001 Besok kami datang"),
        tg.group_text(PUPR, BUDI, "Besok kami datang", reply_to_message=card),
        tg.callback_query(PUPR, BUDI, card, "claim:1"),
        tg.callback_query(CITIZEN, CITIZEN, tg.private_text(CITIZEN, "x"), "fixed:1:1"),
        tg.private_photo(CITIZEN, "AgACAgUAAxkBAAIBphoto", caption="lubang"),
        tg.group_photo(PUPR, BUDI, "AgACAgUAAxkBAAIBgroup", reply_to_message=card),
        tg.private_location(CITIZEN, -6.33, 108.32),
        venue,
        tg.private_voice(CITIZEN),
        tg.private_document(CITIZEN),
        tg.private_sticker(CITIZEN),
        tg.private_contact(CITIZEN, "+6281234567890"),
        tg.my_chat_member(PUPR, BUDI, "member"),
        tg.my_chat_member(CITIZEN, CITIZEN, "kicked", old_status="member"),
        tg.group_migrated(-4001, -1002001),
    ]


REAL_UPDATES = _real_updates()


def check_inbound(inbound: Inbound) -> None:
    """What every edge must hand the core: text where text is expected, sane coordinates."""
    for name in (
        "channel",
        "chat_id",
        "provider_id",
        "sender_id",
        "sender_name",
        "phone",
        "text",
        "button_data",
        "reply_to_message_id",
    ):
        assert isinstance(getattr(inbound, name), str), (name, getattr(inbound, name))
    assert inbound.chat_id and inbound.provider_id
    assert isinstance(inbound.is_group, bool)
    assert isinstance(inbound.attachments, tuple)
    for attachment in inbound.attachments:
        assert isinstance(attachment, Attachment)
        assert all(isinstance(getattr(attachment, f), str) for f in ("kind", "ref", "mime", "name"))
        assert attachment.ref
    location = inbound.location
    if location is not None:
        assert isinstance(location, Location) and isinstance(location.address, str)
        for value, bound in ((location.latitude, 90), (location.longitude, 180)):
            assert isinstance(value, float | int) and not isinstance(value, bool), location
            assert math.isfinite(value) and -bound <= value <= bound, location


def check_update(raw: Any) -> None:
    try:
        parsed = parse_update(raw)
    except InvalidUpdate as rejection:
        assert str(rejection)
        return
    assert isinstance(parsed, ParsedUpdate)
    assert isinstance(parsed.update_id, int) and not isinstance(parsed.update_id, bool)
    assert isinstance(parsed.callback_query_id, str)
    for pair in (parsed.migration, parsed.joined):
        assert pair is None or all(isinstance(part, str) for part in pair)
    if parsed.inbound is not None:
        check_inbound(parsed.inbound)
        for chat in (parsed.inbound.chat_id, parsed.inbound.sender_id):
            assert re.fullmatch(r"-?[0-9]+", chat), chat


@fuzz(300)
@given(json_values)
def test_any_json_value_is_an_update_or_an_invalid_update(raw: Any) -> None:
    check_update(raw)


@fuzz(600)
@given(mutated(REAL_UPDATES, json_values))
# Found by this property: python-telegram-bot does not check types, so a number where
# text belongs reached the core as an int (and crashed it), a missing first_name became
# a None sender name, a numeric callback id or an empty file_id went on to the senders.
@example({"update_id": 1, "message": {**REAL_UPDATES[0]["message"], "text": 5}})
@example(
    {
        "update_id": 2,
        "message": {
            **REAL_UPDATES[0]["message"],
            "from": {"id": 1, "is_bot": False, "first_name": 7},
        },
    }
)
@example(
    {
        "update_id": 8,
        "message": {
            **REAL_UPDATES[0]["message"],
            "from": {"id": 1, "is_bot": False, "first_name": None},
        },
    }
)
@example({"update_id": 3, "callback_query": {**REAL_UPDATES[4]["callback_query"], "id": 9}})
@example({"update_id": 7, "callback_query": {"id": None, "chat_instance": "1", "data": "claim:1"}})
@example(
    {
        "update_id": 4,
        "message": {
            **REAL_UPDATES[6]["message"],
            "photo": [{"file_id": "", "file_unique_id": "u", "width": 1, "height": 1}],
        },
    }
)
# Found too: coordinates JSON allows but no map does (NaN, 1e308, latitude 91).
@example(
    {
        "update_id": 5,
        "message": {
            **REAL_UPDATES[8]["message"],
            "location": {"latitude": math.nan, "longitude": 1},
        },
    }
)
@example(
    {
        "update_id": 6,
        "message": {**REAL_UPDATES[8]["message"], "location": {"latitude": 1e308, "longitude": 1}},
    }
)
@example(
    {
        "update_id": 9,
        "message": {
            **REAL_UPDATES[9]["message"],
            "venue": {"location": {"latitude": 91, "longitude": 1}, "title": "x", "address": "y"},
        },
    }
)
def test_a_damaged_real_update_is_an_update_or_an_invalid_update(raw: Any) -> None:
    check_update(raw)


def test_every_real_update_still_parses() -> None:
    """The mutations start from updates the parser reads (a broken base proves nothing)."""
    for raw in REAL_UPDATES:
        parsed = parse_update(raw)
        assert parsed.update_id == raw["update_id"]
    texts = [parse_update(raw).inbound for raw in REAL_UPDATES[:3]]
    assert [inbound.text for inbound in texts if inbound] == [
        "Jalan di Desa Lohbener berlubang besar",
        "/start",
        "/balas ICT-000001 Besok kami datang",
    ]


# --------------------------------------------------------------------------
# WhatsApp: parse_form, normalise_number
# --------------------------------------------------------------------------

TWILIO_KEYS = [
    "MessageSid",
    "SmsMessageSid",
    "From",
    "Body",
    "NumMedia",
    "Latitude",
    "Longitude",
    "Address",
    "Label",
    "ProfileName",
    "WaId",
    "ButtonPayload",
    "ButtonText",
    "OriginalRepliedMessageSid",
] + [f"{name}{index}" for name in ("MediaUrl", "MediaContentType") for index in range(12)]
SID = "SM" + "0123456789abcdef" * 2
ODD_FORM_VALUES = [
    "",
    SID,
    "MM" + "f" * 32,
    "whatsapp:+6281234567890",
    "+62 812-3456-7890",
    "081234567890",
    "whatsapp:+٦٢٨١٢٣٤٥٦٧٨٩",  # Arabic-Indic digits
    "whatsapp:+６２８１２３４５６７８",  # full-width digits
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e309",
    "-6.33",
    "108.32",
    "90.0000001",
    "-1",
    "10",
    "99999999999999999999",
    "²",
    "https://api.twilio.com/media/ME1",
    "http://",
    "image/jpeg",
    "\x00",
    "x" * 5000,
    "😀" * 700,
]
form_values = st.sampled_from(ODD_FORM_VALUES) | st.text(max_size=40)
forms = st.dictionaries(
    st.sampled_from(TWILIO_KEYS) | st.text(max_size=10), form_values, max_size=12
)
REAL_FORMS = [
    tw.inbound_params("whatsapp:+6281234567890", "Jalan di Desa Lohbener berlubang"),
    tw.inbound_params(
        "whatsapp:+6281234567890",
        media=[
            ("https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", "image/jpeg")
        ],
    ),
    tw.inbound_params(
        "whatsapp:+6281234567890", latitude=-6.33, longitude=108.32, address="Jl. Raya"
    ),
    tw.inbound_params("whatsapp:+6281234567890", button_payload="fixed:1:1", button_text="Sudah"),
]


def check_form(form: dict[str, str]) -> None:
    try:
        inbound = parse_form(form)
    except InvalidMessage as rejection:
        assert str(rejection)
        return
    check_inbound(inbound)
    assert re.fullmatch(r"whatsapp:\+[0-9]{6,15}", inbound.chat_id), inbound.chat_id
    assert inbound.phone == inbound.chat_id.removeprefix("whatsapp:")
    assert len(inbound.attachments) <= 10
    assert len(inbound.button_data) <= 64 and len(inbound.sender_name) <= 64


@fuzz(400)
@given(forms)
# Found: `\D` let Arabic-Indic digits into the chat id. The rest were already refused.
@example({"MessageSid": SID, "From": "whatsapp:+٦٢٨١٢٣٤٥٦٧٨٩"})
@example({"MessageSid": SID, "From": "081234567890", "Latitude": "nan", "Longitude": "1"})
@example({"MessageSid": SID, "From": "081234567890", "Latitude": "1", "Longitude": "-inf"})
@example({"MessageSid": SID, "From": "081234567890", "NumMedia": "99999999999999999999"})
@example({"MessageSid": SID, "From": "081234567890", "NumMedia": "²"})
def test_any_form_is_an_inbound_or_an_invalid_message(form: dict[str, str]) -> None:
    check_form(form)


@fuzz(300)
@given(mutated(REAL_FORMS, form_values))
def test_a_damaged_real_form_is_an_inbound_or_an_invalid_message(form: dict[str, str]) -> None:
    check_form(form)


@fuzz(300)
@given(st.text() | st.sampled_from(ODD_FORM_VALUES))
@example("whatsapp:+６２８１２３４５６７８")
def test_a_number_is_normalised_or_refused(raw: str) -> None:
    try:
        number = normalise_number(raw)
    except InvalidMessage:
        return
    assert re.fullmatch(r"whatsapp:\+[0-9]{6,15}", number), number


# --------------------------------------------------------------------------
# Staff commands, ticket numbers, masked phones
# --------------------------------------------------------------------------

KNOWN = set(COMMANDS.values()) | {"unknown"}


@fuzz(500)
@given(st.text() | st.builds(lambda a, b: f"/{a}{b}", st.sampled_from(sorted(COMMANDS)), st.text()))
def test_any_text_is_a_command_or_not(text: str) -> None:
    parsed = parse_command(text)
    if parsed is None:
        assert not text.strip().startswith("/")
        return
    command, rest = parsed
    assert command in KNOWN and isinstance(rest, str)
    assert rest == rest.strip()


@fuzz(300)
@given(
    alias=st.sampled_from(sorted(COMMANDS)),
    shout=st.booleans(),
    bot=st.sampled_from(["", "@IcetaBot", "@iceta_bot"]),
    separator=st.sampled_from([" ", "\n", "  ", " \n"]),
    rest=st.text(),
)
@example(alias="balas", shout=False, bot="@bot", separator=" ", rest="ICT-000001 x")
@example(alias="alihkan", shout=True, bot="", separator="\n", rest="ICT 1 dlh\nbaris dua")
def test_a_command_reads_back_as_itself(
    alias: str, shout: bool, bot: str, separator: str, rest: str
) -> None:
    name = alias.upper() if shout else alias
    assert parse_command(f"/{name}{bot}{separator}{rest}") == (COMMANDS[alias], rest.strip())


prefixes = st.from_regex(r"[A-Z]{1,8}", fullmatch=True)


@fuzz(400)
@given(prefixes, st.text() | st.sampled_from(["²", "ICT-²", "١٢", "ICT 0", "0", "9" * 30]))
@example("ICT", "²")  # found: isdigit() says yes, int() says no (ValueError)
@example("ICT", "⁴²")
def test_ticket_numbers_are_found_or_not(prefix: str, text: str) -> None:
    for found in (parse_number(prefix, text), find_number(prefix, text)):
        assert found is None or (isinstance(found, int) and 0 < found < 10**9)


@fuzz(200)
@given(
    prefixes,
    st.integers(1, 10**9 - 1),
    st.sampled_from(["{p}-{n:06d}", "{p}{n}", "{p} {n}", "{n}"]),
)
def test_a_ticket_number_reads_back_as_itself(prefix: str, ticket_id: int, shape: str) -> None:
    typed = shape.format(p=prefix, n=ticket_id)
    assert parse_number(prefix, typed) == ticket_id
    assert parse_number(prefix, typed.lower()) == ticket_id
    if "{p}" in shape:
        assert find_number(prefix, f"tolong cek {typed}, terima kasih") == ticket_id


@fuzz(400)
@given(st.text() | st.from_regex(r"(whatsapp:)?\+?[0-9 \-]{0,20}", fullmatch=True))
@example("12345678")  # found: 8 digits, and the first 5 and last 4 were all of them
@example("+123456789")
def test_a_masked_phone_shows_at_most_the_first_5_and_last_4_digits(phone: str) -> None:
    masked = mask_phone(phone)
    digits = re.sub(r"[^0-9]", "", phone)
    shown = re.sub(r"[^0-9]", "", masked)
    assert len(shown) <= 9
    if shown:
        assert shown == digits[:5] + digits[-4:]
        assert len(digits) - len(shown) >= 1, f"{phone!r} shown whole as {masked!r}"


# --------------------------------------------------------------------------
# config.yaml: parse_config, load_config
# --------------------------------------------------------------------------

SHIPPED = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
CONFIG_KEYS = sorted(
    {str(place[-1]) for place in _paths(SHIPPED) if isinstance(place[-1], str)}
    | {"local_console", "short_name", "from", "en"}
)
yaml_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from(ODD_NUMBERS)
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["", " ", "07:00", "25:00", "ICT", "Asia/Jakarta", "../../etc/zone", "\n"])
    | st.dates()
    | st.binary(max_size=8)
)
yaml_keys = st.sampled_from(CONFIG_KEYS) | st.text(max_size=10) | st.integers() | st.none()
yaml_values = st.recursive(
    yaml_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(yaml_keys, inner, max_size=5),
    max_leaves=20,
)


def check_config(parse: Any) -> None:
    try:
        config = parse()
    except ConfigError as error:
        assert error.problems
        for problem in error.problems:
            assert isinstance(problem, str) and problem.strip(), error.problems
            assert len(problem.splitlines()) == 1, problem
        return
    assert isinstance(config, Config)


@fuzz(300)
@given(yaml_values)
@example({"\r": None})  # found: a key that is a line break made a problem of two lines
@example({"agencies": [{"": 1}]})
def test_any_yaml_value_is_a_config_or_a_config_error(raw: Any) -> None:
    check_config(lambda: parse_config(raw))


@fuzz(400)
@given(mutated([SHIPPED], yaml_values))
# An unknown key or agency written across two lines made a two-line problem.
@example({**SHIPPED, "service": {**SHIPPED["service"], "a\nb": 1}})
@example({**SHIPPED, "categories": [{**SHIPPED["categories"][0], "agency": "pu\npr"}]})
def test_a_damaged_shipped_config_is_a_config_or_a_config_error(raw: Any) -> None:
    check_config(lambda: parse_config(raw))


def _bomb(levels: int) -> bytes:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * 9) + "]")
    lines.append(f"agencies: *a{levels - 1}")
    return "\n".join(lines).encode()


CONFIG_FILES = [
    b"",
    b"\xff\xfe\x00garbage",
    b"\xef\xbb\xbfservice: {name: x}",  # a BOM, then too little
    b"[" * 5000 + b"]" * 5000,
    b"- " * 5000 + b"x",
    b"!!python/object/apply:os.system ['echo pwned']",
    b"service: !!python/object:bot.config.Config {}",
    b"a: !!binary AAAA\nb: !!timestamp 2020-99-99\nc: !!set {x, y}",
    b"sla: {response_hours: .nan, confirm_days: .inf}",
    b"supervisors: {digest_time: 17:30}",
    b"sla:\n  x: 1\nsla:\n  y: 2\n",
    b"\x00",
    b"key: \x85value\xe2\x80\xa8",
    _bomb(9),
]


@fuzz(200)
@given(st.binary(max_size=300) | st.sampled_from(CONFIG_FILES))
@example(_bomb(9))  # billion laughs: 9**9 strings if expanded; refused at the first level
def test_any_config_file_is_a_config_or_a_config_error(content: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "config.yaml"
        path.write_bytes(content)
        check_config(lambda: load_config(path))


# --------------------------------------------------------------------------
# The conversation: random messages through the real core on a real SQLite file
# --------------------------------------------------------------------------

CITIZEN_CHAT = "citizen:warga"
CITIZEN_WORDS = (
    [str(number) for number in range(21)]
    + ["batal", "cancel", "menu", "status", "status ICT-000001", "status ict 2", "selesai"]
    + ["lewati", "STOP", "berhenti", "mulai", "english", "indonesia", "halo", "/start", "²"]
    + ["bantuan", "", "   ", "99999999999999999999", "١", "１"]
)
LONG_TEXTS = [
    "Jalan di Desa Lohbener berlubang besar sekali",
    "Sampah menumpuk di TPS dekat pasar, bau sekali",
    "x" * 4096,
    "😀" * 4000,
    "<b>&amp;</b> *_[`~|>#+-=(){}.!\\" * 40,
    "baris\n" * 700,
    "\x00\u200b\u202e kiri ke kanan",
]
BUTTONS = [
    "1",
    "2",
    "3",
    "0",
    "fixed:1:1",
    "fixed:1:2",
    "fixed:x",
    "fixed:x:1",
    "fixed:²:1",
    "fixed:99999999999999999999:1",
    "claim:1",
    "claim:999",
    "claim:²",
    "claim:99999999999999999999",
    "resolve:1",
    "transfer:1",
    "transfer:1:dlh",
    "assign:1:zzz",
    "route:1:pupr",
    "refer:1:pln",
    "refer:1:nope",
    "bounce:1",
    "reject:1",
    ":",
    "::::",
]
STAFF_TEXTS = [
    "/balas ICT-000001 Besok kami datang",
    "/balas@IcetaBot ICT-000001 halo",
    "/ambil ICT-000001",
    "/selesai ICT-000001 sudah diperbaiki",
    "/alihkan ICT-000001 dlh",
    "/alihkan ICT-000001 nope",
    "/alihkan ICT-000001",
    "/bukan ICT-000001 bukan wewenang kami",
    "/tolak ICT-000001 spam",
    "/catatan ICT 1 catatan internal",
    "/tanya ICT-000001 alamat lengkapnya?",
    "/rujuk ICT-000001 pln",
    "/teruskan ICT-000001 pupr",
    "/daftar",
    "/bantuan",
    "/statistik",
    "/terlambat",
    "/balas",
    "/balas ICT-999999999 x",
    "/balas ICT-0 x",
    "/balas ICT-² x",
    "/balas 99999999999999999999 x",
    "/xyz",
    "obrolan internal",
]
FILE_COMPLAINT = ["Jalan di Desa Lohbener berlubang besar sekali", "1", "0", "0", "1"]
STAFF_CHATS = [PUPR_CHAT, DISPATCH_CHAT, SUPERVISOR_CHAT]

Step = tuple[str, str, str]  # (who, text, button)
citizen_steps = st.tuples(
    st.just("citizen"),
    st.sampled_from(CITIZEN_WORDS + LONG_TEXTS) | st.text(max_size=40),
    st.just(""),
) | st.tuples(st.just("citizen"), st.just(""), st.sampled_from(BUTTONS) | st.text(max_size=80))
staff_steps = st.tuples(
    st.sampled_from(STAFF_CHATS),
    st.sampled_from(STAFF_TEXTS) | st.text(max_size=40),
    st.just(""),
) | st.tuples(st.sampled_from(STAFF_CHATS), st.just(""), st.sampled_from(BUTTONS))
other_steps = st.sampled_from(
    [
        ("file", "", ""),  # a whole complaint: text, category, no location, no photo, send
        ("reply-to-card", "Tim kami datang besok", ""),
        ("reply-to-card", "", ""),
        ("citizen-location", "", ""),
        ("citizen-photo", "", ""),
    ]
)
steps = st.lists(citizen_steps | staff_steps | other_steps, min_size=1, max_size=14)


def _play(service: Service, step: Step) -> None:
    who, text, button = step
    if who == "citizen":
        service.send(CITIZEN_CHAT, text, button=button)
    elif who == "file":
        for said in FILE_COMPLAINT:
            service.send(CITIZEN_CHAT, said)
    elif who == "reply-to-card":
        cards = service.rows(
            "select provider_message_id id from messages where chat_id = ? and direction = 'out' "
            "and provider_message_id is not null order by id desc limit 1",
            [PUPR_CHAT],
        )
        reply_to = cards[0]["id"] if cards else "local-nothing"
        attachments = (
            () if text else (Attachment("photo", "local:foto.jpg", "image/jpeg", "foto.jpg"),)
        )
        service.send(PUPR_CHAT, text, group=True, reply_to=reply_to, attachments=attachments)
    elif who == "citizen-location":
        service.send(CITIZEN_CHAT, location=Location(-6.33, 108.32, "Jl. Raya Lohbener"))
    elif who == "citizen-photo":
        photo = Attachment("photo", "local:lubang.jpg", "image/jpeg", "lubang.jpg")
        service.send(CITIZEN_CHAT, attachments=(photo,))
    else:
        service.send(who, text, group=True, name="Budi", button=button)


def check_said(service: Service) -> None:
    """Every message the core queued says something, in parts each channel accepts."""
    for row in service.rows("select payload from outbox"):
        said = json.loads(row["payload"])
        if said.get("kind") == "callback_answer":
            continue
        text = said.get("text") or ""
        assert text.strip() or said.get("attachments") or said.get("location"), said
        if utf16_length(text) > TEXT_LIMIT:
            # A long description echoed in a summary or card: the senders split it.
            parts = split_text(text)
            assert all(0 < utf16_length(part) <= TEXT_LIMIT for part in parts)
            assert "".join("".join(parts).split()) == "".join(text.split())
        assert all(len(part) <= BODY_LIMIT for part in split_body(text))


@fuzz(60)
@given(steps)
# Found: "²" typed as a choice or a rating ("²".isdigit(), but int("²") raises), and a
# ticket id in button data too big for SQLite (OverflowError), each crashed the core.
@example([("citizen", FILE_COMPLAINT[0], ""), ("citizen", "²", "")])
@example(
    [("file", "", ""), (PUPR_CHAT, "/selesai ICT-000001 beres", ""), ("citizen", "1", "")]
    + [("citizen", "²", "")]
)
@example([("file", "", ""), ("citizen", "", "fixed:99999999999999999999:1")])
@example([("file", "", ""), (PUPR_CHAT, "", "claim:99999999999999999999")])
@example([("file", "", ""), (PUPR_CHAT, "", "claim:²")])
# A 4,096-character follow-up relayed with its header: longer than one Telegram message.
@example([("file", "", ""), ("citizen", "x" * 4096, ""), ("citizen", "1", "")])
def test_random_chats_never_crash_the_core(played: list[Step]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        service = Service.start(Path(directory))
        for step in played:
            _play(service, step)
        service.delivery.drain()
        crashed = service.rows("select chat_id, text from messages where status = 'error'")
        assert crashed == [], crashed
        check_said(service)


# --------------------------------------------------------------------------
# Every HTTP route of the real app: never a 5xx, nothing stored for a 4xx
# --------------------------------------------------------------------------

PUBLIC = "https://iceta.example.go.id"
TELEGRAM_SECRET = "tg-secret-123456"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


class World:
    """The real app, built by `run_bot.build_service`, and a client that asks it things."""

    def __init__(self, service: RunningService, twilio_token: str) -> None:
        self.service = service
        self.client: FlaskClient = service.app.test_client()
        self.twilio_token = twilio_token
        db = service.databases.get()
        self.tables = [
            row["name"]
            for row in db.query("select name from sqlite_master where type = 'table'")
            if not row["name"].startswith(("sqlite_", "_"))
        ]

    def counts(self) -> dict[str, int]:
        db = self.service.databases.get()
        return {
            table: db.execute(f"select count(*) from [{table}]").fetchone()[0]  # noqa: S608
            for table in self.tables
        }

    def twilio_signature(self, path: str, query: bytes, body: bytes, content_type: str) -> str:
        """Signed the way Twilio signs, over exactly the fields Flask will read."""
        app = self.service.app
        with app.test_request_context(
            path,
            method="POST",
            data=body,
            content_type=content_type,
            environ_overrides={"QUERY_STRING": query.decode("latin-1")},
        ):
            try:
                form = request.form
            except HTTPException:
                form = {}
            shown = query.decode("utf-8", "replace")
            url = PUBLIC + path + (f"?{shown}" if shown else "")
            # the MultiDict itself, not a dict of it: a repeated key is signed with every value
            return RequestValidator(self.twilio_token).compute_signature(url, form)

    def ask(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        content_type: str | None = None,
        query: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> int:
        headers = dict(headers or {})
        if path == "/webhooks/telegram":
            headers.setdefault(SECRET_HEADER, TELEGRAM_SECRET)
        if path.startswith("/webhooks/whatsapp") and "X-Twilio-Signature" not in headers:
            headers["X-Twilio-Signature"] = self.twilio_signature(
                path, query, body, content_type or ""
            )
        before = self.counts()
        response = self.client.open(
            path,
            method=method,
            data=body,
            content_type=content_type,
            headers=headers,
            # raw bytes on the request line, as a WSGI server passes them
            environ_overrides={"QUERY_STRING": query.decode("latin-1")},
        )
        status = response.status_code
        shown = f"{method} {path}?{query[:60]!r} {content_type} {body[:120]!r} -> {status}"
        assert status < 500, f"{shown}: {response.get_data()[:300]!r}"
        if 400 <= status < 500:
            assert self.counts() == before, f"{shown} stored something"
        return status


def _build_world(directory: Path, twilio: FakeTwilioApi, telegram: FakeTelegramApi) -> World:
    raw = copy.deepcopy(TEST_CONFIG)
    raw["service"]["public_url"] = PUBLIC
    environ = twilio.environ() | telegram.environ(TELEGRAM_SECRET)
    limits = RateLimits(overall_per_second=1000, group_per_minute=1000, group_period_seconds=1)
    service = build_service(
        parse_config(raw), environ, directory, options={"telegram_limits": limits}
    )
    assert service.channels.as_dict() == {
        "phone": True,
        "open311": True,
        "telegram": True,
        "whatsapp": True,
        "local": True,
    }
    return World(service, twilio.auth_token)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with FakeTwilioApi() as twilio, FakeTelegramApi() as telegram:
        yield _build_world(tmp_path_factory.mktemp("world"), twilio, telegram)


@pytest.fixture(scope="module")
def local_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """Telegram and WhatsApp off: staff chats and the simulated clock on the local channel."""
    service = build_service(parse_config(TEST_CONFIG), {}, tmp_path_factory.mktemp("local"))
    return World(service, "")


ROUTES = [
    ("POST", "/webhooks/telegram"),
    ("POST", "/webhooks/whatsapp"),
    ("POST", "/webhooks/whatsapp/status"),
    ("POST", "/local/messages"),
    ("GET", "/local/messages"),
    ("GET", "/local/chats"),
    ("GET", "/local/clock"),
    ("POST", "/local/clock"),
    ("GET", "/try"),
    ("GET", "/try/console.js"),
    ("GET", "/try/..%2fweb.py"),
    ("GET", "/media/" + "A" * 30),
    ("GET", "/media/%ff%fe"),
    ("GET", "/healthz"),
    ("GET", "/nowhere"),
    ("POST", "/"),
    ("PUT", "/webhooks/telegram"),
    ("DELETE", "/local/messages"),
    ("PATCH", "/webhooks/whatsapp"),
    ("GET", "/webhooks/whatsapp/status"),
    ("GET", "/open311/v2/requests.json"),
    ("POST", "/open311/v2/requests.json"),
    ("POST", "/open311/v2/requests.xml"),
    ("GET", "/open311/v2/requests/ICT-000001.xml"),
    ("GET", "/open311/v2/services/jalan.json"),
    ("DELETE", "/open311/v2/requests.json"),
]
UPDATE = json.dumps(REAL_UPDATES[0]).encode()
LOCAL_MESSAGE = b'{"chat": "citizen:siti", "text": "halo"}'
DEEP_LIST = b"[" * 700 + b"]" * 700  # deep, yet within what json parses
NEAR_LIMIT = 200_000  # characters: under the 256 KB body limit
HOSTILE_BODIES: list[bytes] = [
    b"",
    b"\xff\xfe\x00garbage",
    b"\x00" * 64,
    UPDATE[: len(UPDATE) // 2],  # truncated JSON
    b"[]",
    b"null",
    b"123456789012345678901234567890",
    b'"text"',
    b'{"update_id": "1"}',
    b'{"update_id": 1, "update_id": 2, "message": {}}',  # duplicate keys
    b'{"chat": "citizen:siti", "chat": "agency:pupr", "text": "halo"}',
    b'{"update_id": 7, "message": NaN}',
    b'{"chat": "citizen:siti", "text": "\\ud800 lone surrogate"}',
    b'{"update_id": 8, "message": {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"},'
    b' "from": {"id": 1, "is_bot": false, "first_name": "\\udfff"}, "text": "\\ud83d"}}',
    b"[" * 100_000 + b"]" * 100_000,  # nested deeper than any recursion limit
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    UPDATE.replace(b'"Jalan di Desa Lohbener berlubang besar"', DEEP_LIST),
    UPDATE.replace(b'"update_id"', b'"deep": ' + DEEP_LIST + b', "update_id"'),
    b'{"chat": "citizen:siti", "text": "halo", "location": ' + DEEP_LIST + b"}",
    json.dumps(tg.private_text(CITIZEN + 1, "a" * NEAR_LIMIT)).encode(),
    urlencode(tw.inbound_params("whatsapp:+6281234567891", "b" * NEAR_LIMIT)).encode(),
    b"chat=citizen%3Asiti&text=halo&text=dua",  # a form where JSON is expected
    b"MessageSid=%ZZ&From=%&Body=%ff%fe%00",  # invalid percent-encoding
    b"Body=" + b"%F0%9F%98%80" * 100,
    b"Body=%ED%A0%80&From=whatsapp%3A%2B6281234567890&MessageSid=" + SID.encode(),
    b'{"chat": "citizen:siti", "text": "' + b"a" * 300_000 + b'"}',  # 300 KB
    b"Body=" + b"b" * 2_000_000,  # 2 MB
    LOCAL_MESSAGE.replace(b"halo", b"h\x00alo"),
    '{"chat": "citizen:siti", "text": "halo"}'.encode("utf-16"),
    b'--x\r\nContent-Disposition: form-data; name="Body"\r\n\r\nhalo\r\n--x--\r\n',
    b'--x\r\nContent-Disposition: form-data; name="Body"\r\n\r\nno end',
]
CONTENT_TYPES: list[str | None] = [
    None,
    JSON,
    FORM,
    "multipart/form-data; boundary=x",
    "multipart/form-data",
    "text/plain",
    "application/json; charset=utf-16",
    "application/x-www-form-urlencoded; charset=latin-1",
    "text/xml",
    "\x00/\x00",
]
QUERIES: list[bytes] = [
    b"",
    b"chat=citizen:siti",
    b"chat=citizen:siti&after=%",
    b"chat=citizen:siti&after=%zz",
    b"chat=citizen:siti&after=\xb2",  # a superscript two, latin-1 on the wire
    b"chat=citizen:siti&after=%C2%B2",  # the same, percent-encoded UTF-8
    b"chat=citizen:siti&after=99999999999999999999",
    b"chat=agency:pupr",
    b"chat=agency:%ff&after=1",
    b"chat=\xff\xfe",
    b"%ff=%fe",
    b"a=" + b"q" * 5000,
]


def _local_message_fields() -> st.SearchStrategy[dict[str, Any]]:
    chats = st.sampled_from(
        ["citizen:siti", "citizen:x" * 10, "agency:pupr", "agency:zz", "dispatch", "supervisors"]
    ) | st.text(max_size=20)
    fields = {
        "text": st.text(max_size=50) | st.sampled_from(["x" * 4097, "\x00", "²"]),
        "button": st.sampled_from(BUTTONS) | st.text(max_size=70),
        "reply_to": st.text(max_size=10),
        "name": st.text(max_size=70),
        "id": st.text(max_size=10),
        "location": json_values,
        "photos": json_values,
    }
    return st.fixed_dictionaries(
        {"chat": chats}, optional={k: v | json_values for k, v in fields.items()}
    )


def _bodies() -> st.SearchStrategy[bytes]:
    as_json = (json_values | mutated(REAL_UPDATES, json_values) | _local_message_fields()).map(
        lambda value: json.dumps(value).encode()
    )
    as_form = (forms | mutated(REAL_FORMS, form_values)).map(lambda form: urlencode(form).encode())
    return st.binary(max_size=200) | as_json | as_form | st.sampled_from(HOSTILE_BODIES)


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_refuses_hostile_bodies_without_a_5xx(
    world: World, method: str, path: str
) -> None:
    for body in HOSTILE_BODIES:
        for content_type in CONTENT_TYPES:
            world.ask(method, path, body, content_type)
    for query in QUERIES:
        world.ask(method, path, LOCAL_MESSAGE, JSON, query=query)


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/local/messages"), ("GET", "/local/messages"), ("POST", "/local/clock")],
)
def test_local_staff_chats_and_clock_refuse_hostile_bodies(
    local_world: World, method: str, path: str
) -> None:
    for body in HOSTILE_BODIES:
        for content_type in (JSON, FORM, None):
            local_world.ask(method, path, body, content_type)
    for query in QUERIES:
        local_world.ask(method, path, b'{"advance_hours": 1e308}', JSON, query=query)


def test_unsigned_and_wrongly_signed_webhooks_change_nothing(world: World) -> None:
    form = urlencode(REAL_FORMS[0]).encode()
    for path in ("/webhooks/whatsapp", "/webhooks/whatsapp/status"):
        for signature in ("", "x", "\x00", "A" * 10_000):
            assert (
                world.ask("POST", path, form, FORM, headers={"X-Twilio-Signature": signature})
                == 403
            )
    for secret in ("", "wrong", "é", TELEGRAM_SECRET + " "):
        assert (
            world.ask("POST", "/webhooks/telegram", UPDATE, JSON, headers={SECRET_HEADER: secret})
            == 403
        )


@fuzz(400)
@given(
    route=st.sampled_from(ROUTES),
    body=_bodies(),
    content_type=st.sampled_from(CONTENT_TYPES)
    | st.text(st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=30),
    query=st.sampled_from(QUERIES) | st.binary(max_size=30),
)
def test_random_requests_to_every_route_never_get_a_5xx(
    world: World, route: tuple[str, str], body: bytes, content_type: str | None, query: bytes
) -> None:
    method, path = route
    world.ask(method, path, body, content_type, query=query)
