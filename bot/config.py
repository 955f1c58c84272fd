"""The service configuration (config.yaml): its shape, its defaults and its checks.

`load_config` reads a YAML file and `parse_config` validates an already-parsed
value; both return a `Config` or raise `ConfigError`, whose `problems` are one
line each, starting with the dotted key path that is wrong, e.g.
``sla.response_hours: must be greater than 0`` or
``categories[3].agency: unknown agency 'xyz'``. No YAML content, however broken,
makes either function raise anything else.

The key names of docs/contract.md §7 are fixed; keys added here are `service.local_console`,
`sla.draft_expiry_hours`, `agencies[].short_name`, `categories[].general_keywords` and
`categories[].examples` (the same on referrals), `referrals`, `privacy` and
`sla.remind_outside_hours`; those of §10–§14 (`desk`, `public`, `open311`, `backup`,
`replication`, `calendar`, `sla.response_calendar` …) are fixed there.
Secrets never live here: tokens come from the environment (see run_bot.py).
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import types
from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import date, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import holidays
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from bot.workdays import WEEKDAYS, OfficeHours, WorkingCalendar, default_office_hours

__all__ = [
    "Agency",
    "CalendarConfig",
    "Category",
    "CategoryLabel",
    "Config",
    "ConfigError",
    "DispatchConfig",
    "EscalationStep",
    "PrivacyConfig",
    "Referral",
    "ServiceConfig",
    "SlaConfig",
    "SupervisorsConfig",
    "TelegramConfig",
    "WhatsAppConfig",
    "load_config",
    "parse_config",
]


# How staff texts write each provider channel's name (the core never names one itself).
CHANNEL_NAMES = {"telegram": "Telegram", "whatsapp": "WhatsApp"}


class ConfigError(Exception):
    """The configuration is unusable; `problems` holds one line per problem.

    Each line starts with the dotted key path it is about (`config` for the
    file as a whole), so an operator can find the key to fix.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: list[str] = list(problems) or ["config: invalid configuration"]
        super().__init__("\n".join(self.problems))


# --------------------------------------------------------------------------
# Reusable field types and checks
# --------------------------------------------------------------------------

# Raised by validators that check several items at once: `ctx["problems"]` is a
# list of (sub-path, message) pairs, the sub-path relative to the model raising it.
_MULTI = "config_problems"
# A message that already says what the value was: no "(got ...)" after it.
_PLAIN = "config_value_plain"

_SLUG = re.compile(r"[a-z0-9_-]{1,32}")
_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_PREFIX = re.compile(r"[A-Z]{1,8}")
_WHATSAPP_FROM = re.compile(r"whatsapp:\+[1-9]\d{5,14}")
_MAX_HOURS = 24 * 366  # upper bounds keep timedelta arithmetic far from overflow


def _problem(message: str, *, show_input: bool = True) -> PydanticCustomError:
    return PydanticCustomError("config_value" if show_input else _PLAIN, message)


def _problems(pairs: list[tuple[str, str]]) -> PydanticCustomError:
    summary = "; ".join(f"{path}: {message}" for path, message in pairs)
    return PydanticCustomError(_MULTI, "{summary}", {"summary": summary, "problems": pairs})


def _not_bool(value: object) -> object:
    # YAML reads `yes`/`true` as booleans and pydantic would quietly take them as 1.
    if isinstance(value, bool):
        raise _problem("must be a number")
    return value


def _none_as_list(value: object) -> object:
    # `keywords:` with nothing after it reads as null; take it as an empty list.
    return [] if value is None else value


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise _problem(
            "must be a short lowercase id: letters a-z, digits, '-' or '_', at most 32 characters"
        )
    return value


def _keyword(value: str) -> str:
    value = " ".join(value.lower().split())
    if not value:
        raise _problem("must not be empty", show_input=False)
    return value


def _unique_keywords(keywords: list[str]) -> list[str]:
    return list(dict.fromkeys(keywords))


def _chat_id(value: int) -> int:
    if value == 0:
        raise _problem("must be a Telegram chat id, not 0", show_input=False)
    return value


Slug = Annotated[str, AfterValidator(_slug)]
Text = Annotated[str, Field(min_length=1)]
Keyword = Annotated[str, AfterValidator(_keyword)]
Keywords = Annotated[
    list[Keyword], BeforeValidator(_none_as_list), AfterValidator(_unique_keywords)
]
Example = Annotated[str, Field(min_length=1, max_length=1000)]
Examples = Annotated[list[Example], BeforeValidator(_none_as_list)]
ChatId = Annotated[int, BeforeValidator(_not_bool), AfterValidator(_chat_id)]
Hours = Annotated[
    float, BeforeValidator(_not_bool), Field(gt=0, le=_MAX_HOURS, allow_inf_nan=False)
]


class _Section(BaseModel):
    """Base of every config model: unknown keys are errors, text is trimmed."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ServiceConfig(_Section):
    """`service:` — identity, locale, storage and the web server address."""

    name: Text = "I-Ceta"
    ticket_prefix: str = "ICT"
    timezone: str = "Asia/Jakarta"
    language: Literal["id", "en"] = "id"
    database: Text = "data/iceta.db"
    public_url: str = ""
    host: Text = "127.0.0.1"
    port: Annotated[int, BeforeValidator(_not_bool), Field(ge=1, le=65535)] = 8080
    # None: the local try-it console (/try) is served only when host is loopback.
    local_console: bool | None = None

    @field_validator("ticket_prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        if not _PREFIX.fullmatch(value):
            raise _problem("must be 1 to 8 uppercase letters A-Z, e.g. ICT")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
            raise _problem("must be an IANA time zone name, e.g. Asia/Jakarta") from None
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or parts.query
            or parts.fragment
            or any(ch.isspace() for ch in value)
        ):
            raise _problem(
                "must be an http(s) URL without query or fragment, e.g. https://iceta.example.go.id"
            )
        return value.rstrip("/")

    @property
    def tz(self) -> ZoneInfo:
        """The service time zone, for showing times to people."""
        return ZoneInfo(self.timezone)

    @property
    def base_url(self) -> str:
        """Where people reach `serve`: `public_url`, else its own address (links in chat
        messages, such as the desk's sign-in link, are built on it)."""
        if self.public_url:
            return self.public_url
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    @property
    def is_https(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def local_console_enabled(self) -> bool:
        """Whether /try is served: `local_console` if set, else only on a loopback host."""
        if self.local_console is not None:
            return self.local_console
        return _is_loopback(self.host)


# LAPOR! SP4N's follow-up deadlines in working days, by complaint class.
DEFAULT_RESOLUTION_DAYS = {"informasi": 5, "pengaduan": 5, "sengketa": 14, "lapangan": 60}
DEFAULT_CLASS = "pengaduan"
WorkingDays = Annotated[int, BeforeValidator(_not_bool), Field(ge=1, le=366)]


class EscalationStep(_Section):
    """One rung of `sla.escalation`: who is told once a deadline was missed this long ago."""

    after_hours: Annotated[
        float, BeforeValidator(_not_bool), Field(ge=0, le=_MAX_HOURS, allow_inf_nan=False)
    ]
    chats: Annotated[list[ChatId], Field(min_length=1)]

    @property
    def after(self) -> timedelta:
        return timedelta(hours=self.after_hours)

    @property
    def staff_chats(self) -> list[str]:
        return [str(chat) for chat in self.chats]


def _resolution_days(value: object) -> object:
    # A class left out keeps its default: `{sengketa: 10}` changes only sengketa.
    if isinstance(value, Mapping):
        return {**DEFAULT_RESOLUTION_DAYS, **value}
    return value


class SlaConfig(_Section):
    """`sla:` — the first-response deadline and its reminders (docs/contract.md §6), the
    resolution deadlines, the escalation ladder and validation (§14)."""

    response_hours: Hours = 24
    remind_before_hours: list[Hours] = Field(default_factory=lambda: [12.0, 2.0])
    overdue_repeat_hours: Hours = 24
    confirm_days: Annotated[
        float, BeforeValidator(_not_bool), Field(gt=0, le=366, allow_inf_nan=False)
    ] = 3
    draft_expiry_hours: Hours = 24
    # hours: 24 calendar hours (the I-Ceta promise); working_hours: office hours only.
    response_calendar: Literal["hours", "working_hours"] = "hours"
    # Reminders wait for office hours (calendar.office_hours) unless this is true.
    remind_outside_hours: bool = False
    resolution_days: Annotated[dict[Slug, WorkingDays], BeforeValidator(_resolution_days)] = Field(
        default_factory=lambda: dict(DEFAULT_RESOLUTION_DAYS)
    )
    escalation: Annotated[list[EscalationStep], BeforeValidator(_none_as_list)] = Field(
        default_factory=list
    )
    validate_resolution: bool = False

    @field_validator("escalation")
    @classmethod
    def _check_escalation(cls, value: list[EscalationStep]) -> list[EscalationStep]:
        out_of_order = [
            (
                f"[{index}].after_hours",
                f"{step.after_hours:g} must be later than the step before "
                f"({value[index - 1].after_hours:g})",
            )
            for index, step in enumerate(value)
            if index and step.after_hours <= value[index - 1].after_hours
        ]
        if out_of_order:
            raise _problems(out_of_order)
        return value

    @field_validator("remind_before_hours")
    @classmethod
    def _check_reminders(cls, value: list[float], info: ValidationInfo) -> list[float]:
        response_hours = info.data.get("response_hours")
        if response_hours is not None:
            late = [
                (f"[{index}]", f"{hours:g} must be less than response_hours ({response_hours:g})")
                for index, hours in enumerate(value)
                if hours >= response_hours
            ]
            if late:
                raise _problems(late)
        # Stored earliest-first (largest offset first), each offset once.
        return sorted(set(value), reverse=True)

    @property
    def response_time(self) -> timedelta:
        """Assignment → deadline."""
        return timedelta(hours=self.response_hours)

    @property
    def reminder_offsets(self) -> list[timedelta]:
        """How long before the deadline each reminder is due, largest first."""
        return [timedelta(hours=hours) for hours in self.remind_before_hours]

    @property
    def overdue_repeat(self) -> timedelta:
        """Interval between repeated overdue alerts."""
        return timedelta(hours=self.overdue_repeat_hours)

    @property
    def confirm_window(self) -> timedelta:
        """How long a resolved ticket waits for the citizen before closing."""
        return timedelta(days=self.confirm_days)

    @property
    def draft_expiry(self) -> timedelta:
        """Silence after which an unfinished complaint draft is dropped."""
        return timedelta(hours=self.draft_expiry_hours)


class TelegramConfig(_Section):
    """`telegram:` — how updates arrive (the token is in the environment)."""

    mode: Literal["webhook", "polling"] = "webhook"


class WhatsAppConfig(_Section):
    """`whatsapp:` — the Twilio sender and the out-of-window template."""

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True)

    from_: str = Field("whatsapp:+14155238886", alias="from")
    update_template_sid: str = ""

    @field_validator("from_")
    @classmethod
    def _check_from(cls, value: str) -> str:
        if not _WHATSAPP_FROM.fullmatch(value):
            raise _problem(
                'must be "whatsapp:+" then the number with country code, e.g. "whatsapp:+6281234567890"'
            )
        return value

    @field_validator("update_template_sid")
    @classmethod
    def _check_template(cls, value: str) -> str:
        if value and not value.startswith("HX"):
            raise _problem('must be empty or a Twilio Content SID starting with "HX"')
        return value


class DispatchConfig(_Section):
    """`dispatch:` — the call-center group that routes what no category could."""

    name: Text
    telegram_chat_id: ChatId

    @property
    def staff_chat(self) -> str:
        """The dispatch group's address on the staff channel."""
        return str(self.telegram_chat_id)


def _digest_time(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        # A YAML 1.1 loader reads unquoted 17:30 as the number 1050.
        raise _problem('must be a time written in quotes, e.g. "07:00"')
    return value


class SupervisorsConfig(_Section):
    """`supervisors:` — who gets overdue alerts and the daily digest."""

    telegram_chat_ids: Annotated[list[ChatId], BeforeValidator(_none_as_list)] = Field(
        default_factory=list
    )
    digest_time: Annotated[str, BeforeValidator(_digest_time)] = "07:00"

    @field_validator("digest_time")
    @classmethod
    def _check_digest_time(cls, value: str) -> str:
        match = _TIME.fullmatch(value)
        if not match:
            raise _problem('must be a 24-hour time "HH:MM", e.g. "07:00"')
        return f"{int(match.group(1)):02d}:{match.group(2)}"  # "7:00" -> "07:00"

    @property
    def staff_chats(self) -> list[str]:
        """The supervisors' addresses on the staff channel."""
        return [str(chat) for chat in self.telegram_chat_ids]

    @property
    def digest_at(self) -> time:
        """`digest_time` as a wall-clock time in the service time zone."""
        hour, minute = self.digest_time.split(":")
        return time(int(hour), int(minute))


class Agency(_Section):
    """One perangkat daerah with its Telegram staff group."""

    id: Slug
    name: Text
    telegram_chat_id: ChatId
    short_name: str = ""

    @property
    def staff_chat(self) -> str:
        """The agency group's address on the staff channel."""
        return str(self.telegram_chat_id)

    @property
    def display(self) -> str:
        """The name to show in menus and acknowledgements."""
        return self.short_name or self.name


def _label_from_text(value: object) -> object:
    # `label: Jalan rusak` is short for `label: {id: Jalan rusak}`.
    return {"id": value} if isinstance(value, str) else value


class CategoryLabel(_Section):
    """A category's menu label: Indonesian (required) and English (optional)."""

    id: Text
    en: str = ""

    def text(self, lang: str) -> str:
        """The label in `lang`, falling back to Indonesian."""
        return self.en if lang == "en" and self.en else self.id


class Category(_Section):
    """A citizen-facing complaint category, in menu order, routed to one agency."""

    id: Slug
    label: Annotated[CategoryLabel, BeforeValidator(_label_from_text)]
    agency: Text  # an agency id; checked against `agencies` by Config
    keywords: Keywords = Field(default_factory=list)
    general_keywords: Keywords = Field(default_factory=list)  # weigh less (jalan, kotor)
    examples: Examples = Field(default_factory=list)  # real complaints, for the matcher
    # Its complaint class (a key of sla.resolution_days): how long the fix may take.
    complaint_class: Slug = Field(DEFAULT_CLASS, alias="class")

    def text(self, lang: str) -> str:
        """The menu label in `lang` ("id" or "en"), falling back to Indonesian."""
        return self.label.text(lang)


class Referral(_Section):
    """An office outside the regency's authority (e.g. PLN) a citizen is sent to."""

    id: Slug
    name: Text
    contact: Text
    keywords: Keywords = Field(default_factory=list)
    general_keywords: Keywords = Field(default_factory=list)
    examples: Examples = Field(default_factory=list)


class PrivacyConfig(_Section):
    """`privacy:` — retention of personal data (UU PDP No. 27/2022)."""

    retention_days: Annotated[int, BeforeValidator(_not_bool), Field(gt=0, le=36500)] = 730

    @property
    def retention(self) -> timedelta:
        """How long a closed ticket keeps the citizen's personal data."""
        return timedelta(days=self.retention_days)


def _tile_url(value: str) -> str:
    if not value.startswith(("https://", "http://", "/")) or not all(
        part in value for part in ("{z}", "{x}", "{y}")
    ):
        raise _problem("must be a tile address with {z}, {x} and {y}, such as " + OSM_TILES)
    return value


OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'


class DeskConfig(_Section):
    """`desk:` — the web desk (docs/contract.md §10) and its phone channel."""

    enabled: bool = True
    # The map's tiles (Leaflet's URL template) and the credit the tile server asks for.
    tile_url: Annotated[str, AfterValidator(_tile_url)] = OSM_TILES
    tile_attribution: Text = OSM_ATTRIBUTION


def _clock_time(value: str) -> str:
    try:
        if not re.fullmatch(r"\d{2}:\d{2}", value):
            raise ValueError(value)
        time.fromisoformat(value)
    except ValueError:
        raise _problem('must be a time of day as "HH:MM", such as "02:00"') from None
    return value


class BackupConfig(_Section):
    """`backup:` — the nightly backup `serve` writes (docs/contract.md §12); off until
    `directory` is set."""

    directory: str = ""
    time: Annotated[str, AfterValidator(_clock_time)] = "02:00"
    keep: Annotated[int, BeforeValidator(_not_bool), Field(ge=1, le=3650)] = 14

    @property
    def at(self) -> time:
        return time.fromisoformat(self.time)


def _replica_url(value: str) -> str:
    if value and "://" not in value:
        raise _problem(
            "must be a Litestream replica URL, such as s3://bucket/iceta or file:///mnt/replica"
        )
    return value


class ReplicationConfig(_Section):
    """`replication:` — continuous replication with Litestream (docs/contract.md §12)."""

    url: Annotated[str, AfterValidator(_replica_url)] = ""


class PublicConfig(_Section):
    """`public:` — the public accountability page `/publik` (docs/contract.md §11)."""

    enabled: bool = False
    # An agency with fewer tickets than this in the 30 days is "too few to rank".
    min_tickets: Annotated[int, BeforeValidator(_not_bool), Field(ge=1, le=100_000)] = 10


def _office_hours(value: str) -> str:
    try:
        return str(OfficeHours.parse(value))
    except ValueError as error:
        reason = "" if "expected" in str(error) else f" that closes after it opens ({value})"
        raise _problem(
            f'must be office hours as "HH:MM-HH:MM", such as "08:00-16:00"{reason}',
            show_input=not reason,
        ) from None


def _day_off(value: object) -> object:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise _problem('must be a date as "YYYY-MM-DD", such as "2026-12-24"') from None
    return value


def _country(value: object) -> object:
    if value is None or value is False:
        return ""
    if isinstance(value, str) and value.strip():
        if value.strip().upper() not in holidays.list_supported_countries():
            raise _problem(
                "must be a country code the holidays package knows, such as ID, "
                "or empty for no public holidays"
            )
        return value.strip().upper()
    return value


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class CalendarConfig(_Section):
    """`calendar:` — the working calendar (docs/contract.md §14): office hours per weekday
    (a weekday left out is a day off), public holidays and extra days off (cuti bersama)."""

    office_hours: Annotated[
        dict[Weekday, Annotated[str, AfterValidator(_office_hours)]], Field(min_length=1)
    ] = Field(default_factory=default_office_hours)
    public_holidays: Annotated[str, BeforeValidator(_country)] = "ID"
    extra_days_off: Annotated[
        list[Annotated[date, BeforeValidator(_day_off)]], BeforeValidator(_none_as_list)
    ] = Field(default_factory=list)

    def working_calendar(self, timezone: ZoneInfo) -> WorkingCalendar:
        return WorkingCalendar(
            timezone,
            {
                WEEKDAYS.index(day): OfficeHours.parse(hours)
                for day, hours in self.office_hours.items()
            },
            self.public_holidays,
            self.extra_days_off,
        )


class Open311Config(_Section):
    """`open311:` — the Open311 GeoReport v2 API under /open311/v2/ (docs/contract.md §11)."""

    enabled: bool = True
    # Descriptions are citizens' own words: published only when this is true, and never
    # for a confidential ticket.
    publish_descriptions: bool = False


# Sections that may be left empty (`sla:` with nothing under it) and then get defaults.
_DEFAULTED_SECTIONS = (
    "service",
    "sla",
    "calendar",
    "telegram",
    "whatsapp",
    "supervisors",
    "privacy",
    "desk",
    "public",
    "open311",
    "backup",
    "replication",
)


class Config(_Section):
    """The whole config.yaml."""

    service: ServiceConfig = Field(default_factory=ServiceConfig)
    sla: SlaConfig = Field(default_factory=SlaConfig)
    calendar: CalendarConfig = Field(default_factory=CalendarConfig)
    telegram: TelegramConfig = Field(default_factory=TelegramConfig)
    whatsapp: WhatsAppConfig = Field(default_factory=WhatsAppConfig)
    dispatch: DispatchConfig
    supervisors: SupervisorsConfig = Field(default_factory=SupervisorsConfig)
    agencies: list[Agency] = Field(min_length=1)
    categories: list[Category] = Field(min_length=1)
    referrals: Annotated[list[Referral], BeforeValidator(_none_as_list)] = Field(
        default_factory=list
    )
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)
    desk: DeskConfig = Field(default_factory=DeskConfig)
    public: PublicConfig = Field(default_factory=PublicConfig)
    open311: Open311Config = Field(default_factory=Open311Config)
    backup: BackupConfig = Field(default_factory=BackupConfig)
    replication: ReplicationConfig = Field(default_factory=ReplicationConfig)

    @model_validator(mode="before")
    @classmethod
    def _empty_sections(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            for key in _DEFAULTED_SECTIONS:
                if key in data and data[key] is None:
                    data[key] = {}
        return data

    @model_validator(mode="after")
    def _cross_references(self) -> Config:
        found: list[tuple[str, str]] = []
        found += _duplicates("agencies", "agency id", enumerate(a.id for a in self.agencies))
        found += _duplicates("categories", "category id", enumerate(c.id for c in self.categories))
        found += _duplicates("referrals", "referral id", enumerate(r.id for r in self.referrals))
        agency_ids = [agency.id for agency in self.agencies]
        for index, category in enumerate(self.categories):
            if category.agency not in agency_ids:
                found.append(
                    (f"categories[{index}].agency", _unknown_agency(category.agency, agency_ids))
                )
        classes = list(self.sla.resolution_days)
        for index, category in enumerate(self.categories):
            if category.complaint_class not in classes:
                found.append(
                    (
                        f"categories[{index}].class",
                        f"unknown class {category.complaint_class!r} "
                        f"(sla.resolution_days has: {', '.join(classes)})",
                    )
                )
        for index, agency in enumerate(self.agencies):
            if agency.id == "dispatch":
                found.append(
                    (f"agencies[{index}].id", "'dispatch' is reserved for the dispatch desk")
                )
        found += _duplicate_chats(self)
        if found:
            raise _problems(found)
        return self

    @cached_property
    def memo(self) -> dict[Hashable, Any]:
        """What the core derives from this (unchanging) config and keeps, by key: the
        category menu, the keyword needles. Not part of the config itself."""
        return {}

    def agency(self, agency_id: str) -> Agency | None:
        """The agency with this id, or None."""
        by_id = self.memo.get("agencies_by_id")
        if by_id is None:
            by_id = self.memo["agencies_by_id"] = {a.id: a for a in self.agencies}
        return by_id.get(agency_id)

    def category(self, category_id: str) -> Category | None:
        """The category with this id, or None."""
        by_id = self.memo.get("categories_by_id")
        if by_id is None:
            by_id = self.memo["categories_by_id"] = {c.id: c for c in self.categories}
        return by_id.get(category_id)

    @property
    def working_calendar(self) -> WorkingCalendar:
        """The office calendar in the service time zone (one per config, kept)."""
        calendar = self.memo.get("working_calendar")
        if calendar is None:
            calendar = self.memo.setdefault(
                "working_calendar", self.calendar.working_calendar(self.service.tz)
            )
        return calendar

    def complaint_class(self, given: str, category_id: str) -> str:
        """A ticket's complaint class: the one the agency `given`, else its category's,
        else the default (a key of `sla.resolution_days`)."""
        if given in self.sla.resolution_days:
            return given
        category = self.category(category_id) if category_id else None
        return category.complaint_class if category is not None else DEFAULT_CLASS

    def referral(self, referral_id: str) -> Referral | None:
        """The referral with this id, or None."""
        return next((r for r in self.referrals if r.id == referral_id), None)

    def agency_for_chat(self, chat_id: int | str) -> Agency | None:
        """The agency whose staff group is `chat_id` (compared as text), or None."""
        wanted = str(chat_id).strip()
        return next((a for a in self.agencies if a.staff_chat == wanted), None)

    def is_dispatch_chat(self, chat_id: int | str) -> bool:
        """Whether `chat_id` is the dispatch group."""
        return self.dispatch.staff_chat == str(chat_id).strip()

    def is_supervisor_chat(self, chat_id: int | str) -> bool:
        """Whether `chat_id` is one of the supervisor chats."""
        wanted = str(chat_id).strip()
        return wanted in self.supervisors.staff_chats


def _raw_cross_references(raw: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The cross-reference problems readable from the raw file alone (categories naming
    an unknown agency, duplicate ids), for when the typed check could not run."""

    def ids(section: str) -> list[tuple[int, str]]:
        items = raw.get(section)
        if not isinstance(items, list):
            return []
        return [
            (index, item["id"])
            for index, item in enumerate(items)
            if isinstance(item, Mapping) and isinstance(item.get("id"), str)
        ]

    agencies = ids("agencies")
    found = _duplicates("agencies", "agency id", agencies)
    found += _duplicates("categories", "category id", ids("categories"))
    categories = raw.get("categories")
    if agencies and isinstance(categories, list):
        known = [agency_id for _, agency_id in agencies]
        for index, category in enumerate(categories):
            agency = category.get("agency") if isinstance(category, Mapping) else None
            if isinstance(agency, str) and agency not in known:
                found.append((f"categories[{index}].agency", _unknown_agency(agency, known)))
    return found


def _duplicates(section: str, what: str, ids: Iterable[tuple[int, str]]) -> list[tuple[str, str]]:
    """A problem for each id seen before, by (index in `section`, id)."""
    first: dict[str, int] = {}
    found = []
    for index, item_id in ids:
        if item_id in first:
            found.append(
                (
                    f"{section}[{index}].id",
                    f"duplicate {what} '{item_id}' (also {section}[{first[item_id]}].id)",
                )
            )
        else:
            first[item_id] = index
    return found


def _unknown_agency(agency_id: str, known: list[str]) -> str:
    close = difflib.get_close_matches(agency_id.lower(), known, n=1)
    if close:
        return f"unknown agency {agency_id!r}; did you mean '{close[0]}'?"
    return f"unknown agency {agency_id!r} (known: {', '.join(known)})"


def _duplicate_chats(config: Config) -> list[tuple[str, str]]:
    # Every Telegram chat plays exactly one role; a shared chat would make
    # "which agency is this group?" ambiguous.
    owners: list[tuple[str, int]] = [
        ("dispatch.telegram_chat_id", config.dispatch.telegram_chat_id)
    ]
    owners += [
        (f"supervisors.telegram_chat_ids[{i}]", chat)
        for i, chat in enumerate(config.supervisors.telegram_chat_ids)
    ]
    owners += [
        (f"agencies[{i}].telegram_chat_id", a.telegram_chat_id)
        for i, a in enumerate(config.agencies)
    ]
    first: dict[int, str] = {}
    found = []
    for path, chat in owners:
        if chat in first:
            found.append((path, f"chat id {chat} is used twice (also {first[chat]})"))
        else:
            first[chat] = path
    return found


# --------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------

_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 base-60 numbers, rejecting duplicate keys.

    Plain SafeLoader reads `digest_time: 17:30` as the integer 1050 and keeps
    only the last of two `sla:` sections; both hide mistakes.
    """

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                    continue
                if key_node.value in seen:
                    raise yaml.constructor.ConstructorError(
                        None,
                        None,
                        f"duplicate key '{key_node.value}' (first at line {seen[key_node.value]})",
                        key_node.start_mark,
                    )
                seen[key_node.value] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


_ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag not in (_INT_TAG, _FLOAT_TAG)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ConfigLoader.add_implicit_resolver(
    _FLOAT_TAG,
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
            |\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
            |[-+]?\.(?:inf|Inf|INF)
            |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)
_ConfigLoader.add_implicit_resolver(
    _INT_TAG,
    re.compile(
        r"""^(?:[-+]?0b[0-1_]+
            |[-+]?0[0-7_]+
            |[-+]?(?:0|[1-9][0-9_]*)
            |[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
    ),
    list("-+0123456789"),
)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _parse_yaml(text: str) -> object:
    try:
        return yaml.load(text, Loader=_ConfigLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = _one_line(exc.problem or exc.context or "cannot be parsed")
        if exc.context and exc.problem:
            context_mark = exc.context_mark
            started = f" at line {context_mark.line + 1}" if context_mark is not None else ""
            problem += f" ({_one_line(exc.context)}{started})"
        raise ConfigError([f"config: invalid YAML{where}: {problem}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"config: invalid YAML: {_one_line(exc)}"]) from None
    except RecursionError:
        raise ConfigError(["config: invalid YAML: nested too deeply"]) from None
    except Exception as exc:  # PyYAML constructors leak plain errors on odd scalars
        # e.g. `2024-13-45` (ValueError) or `!!timestamp 2020-99` (AttributeError)
        raise ConfigError([f"config: invalid YAML value: {_one_line(exc)}"]) from None


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate the YAML config file at `path`.

    Raises `ConfigError` for an unreadable file, invalid YAML or invalid values.
    """
    try:
        # utf-8-sig: editors on Windows like to start the file with a BOM
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError([f"config: file not found: {os.fspath(path)}"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [f"config: {os.fspath(path)} is not UTF-8 text (bad byte at offset {exc.start})"]
        ) from None
    except OSError as exc:
        reason = exc.strerror or _one_line(exc)
        raise ConfigError([f"config: cannot read {os.fspath(path)}: {reason}"]) from None
    except ValueError as exc:  # e.g. a NUL byte in the path
        raise ConfigError([f"config: cannot read {path!r}: {_one_line(exc)}"]) from None
    return parse_config(_parse_yaml(text))


def parse_config(raw: object) -> Config:
    """Validate an already-parsed config value (what YAML gives) into a `Config`.

    Raises `ConfigError` listing every problem found, one line each.
    """
    if raw is None:
        raise ConfigError(
            ["config: the file is empty; it needs at least dispatch, agencies and categories"]
        )
    if not isinstance(raw, Mapping):
        raise ConfigError(
            [
                f"config: the top level must be a mapping of sections (service:, sla:, ...), got {_show(raw)}"
            ]
        )
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        # When a section is itself invalid the cross-reference check never ran: run
        # it on the raw file too, so one run names every problem.
        lines = _problem_lines(exc) + [
            f"{path}: {message}" for path, message in _raw_cross_references(raw)
        ]
        raise ConfigError(list(dict.fromkeys(lines))) from None
    except RecursionError:
        raise ConfigError(["config: nested too deeply"]) from None


# --------------------------------------------------------------------------
# Turning pydantic errors into one-line problems
# --------------------------------------------------------------------------

_MESSAGES: dict[str, str] = {
    "missing": "is required",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "string_type": "must be text",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list, e.g. [a, b]",
    "dict_type": "must be a mapping of keys",
    "model_type": "must be a mapping of keys",
    "model_attributes_type": "must be a mapping of keys",
    "string_too_short": "must not be empty",
}
# Error types whose message needs no "(got ...)" after it.
_NO_INPUT = frozenset(
    {"missing", "extra_forbidden", _MULTI, _PLAIN, "invalid_key", "too_short", "string_too_short"}
)


def _show(value: object) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple | set):
        return "a list"
    shown = repr(value) if isinstance(value, str) else _one_line(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _path(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            # An empty key or one with a line break is shown quoted: one problem, one line.
            name = str(part)
            name = name if name and name.isprintable() else repr(name)
            path += f".{name}" if path else name
    return path


def _join(path: str, sub_path: str) -> str:
    if not path:
        return sub_path
    return path + sub_path if sub_path.startswith("[") else f"{path}.{sub_path}"


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin is Union or origin is types.UnionType:
            models = [arg for arg in get_args(annotation) if _is_model(arg)]
            if not models:
                return annotation
            annotation = models[0]
        else:
            return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _allowed_keys(loc: Sequence[int | str]) -> list[str]:
    """The keys the model at `loc` (a pydantic location) accepts."""
    node: Any = Config
    for part in loc:
        node = _unwrap(node)
        if isinstance(part, int):
            if get_origin(node) is not list:
                return []
            node = get_args(node)[0]
        elif _is_model(node):
            field = next(
                (f for name, f in node.model_fields.items() if part in (name, f.alias)), None
            )
            if field is None:
                return []
            node = field.annotation
        else:
            return []
    node = _unwrap(node)
    if not _is_model(node):
        return []
    return [field.alias or name for name, field in node.model_fields.items()]


def _unknown_key(loc: Sequence[int | str]) -> str:
    key = str(loc[-1])
    allowed = _allowed_keys(loc[:-1])
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"unknown key; did you mean '{close[0]}'?"
    if allowed:
        return f"unknown key (allowed here: {', '.join(allowed)})"
    return "unknown key"


def _message(error: Any) -> str:
    kind: str = error["type"]
    if kind == "extra_forbidden":
        return _unknown_key(error["loc"])
    message = _MESSAGES.get(kind)
    if message is None:
        message = _one_line(error["msg"])
        message = message.removeprefix("Value error, ")
        if message.startswith("Input should be "):
            message = "must be " + message.removeprefix("Input should be ")
        if kind == "too_short" and "at least 1 item" in message:
            message = "must not be empty"
    if kind not in _NO_INPUT and "input" in error:
        message += f" (got {_show(error['input'])})"
    return message


def _problem_lines(exc: ValidationError) -> list[str]:
    lines: list[str] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        if error["type"] == _MULTI:
            for sub_path, message in error["ctx"]["problems"]:
                lines.append(f"{_join(_path(loc), sub_path)}: {message}")
        elif error["type"] == "invalid_key":
            lines.append(f"{_path(loc[:-1]) or 'config'}: key {_show(loc[-1])} must be text")
        else:
            lines.append(f"{_path(loc) or 'config'}: {_message(error)}")
    return list(dict.fromkeys(lines))
