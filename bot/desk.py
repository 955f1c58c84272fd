"""The web desk's rules (docs/contract.md §10): who signs in as what, which tickets a
role sees, how the list is asked for, and the actions staff take from a ticket page.

Pure policy, like the rest of the core: the desk's pages (handlers/desk.py) parse a
request into a `TicketQuery`, storage (storage/desk.py) answers it, and every action
goes through the same lifecycle as the chat commands, so the citizen hears the answer on
their own channel and the agency's card is edited.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from bot import conversation, lifecycle
from bot.catalog import say
from bot.config import Agency, Config
from bot.deadlines import ResponseStats, Window, digest_windows, response_stats
from bot.model import (
    OPEN_STATUSES,
    PHONE,
    RESOLUTION_PENDING,
    Assignment,
    Location,
    Status,
    Ticket,
    TicketQuery,
)
from bot.session import Session, channel_name
from bot.staff import AGENCY, DISPATCH, Role
from bot.tickets import format_number, mask_phone
from bot.timefmt import format_time

SESSION_IDLE = timedelta(hours=8)
PAGE_SIZE = 50
MAX_EXPORT_ROWS = 100_000
MAX_WORDS = 8
MAX_PAGE = 2_000  # 100,000 tickets a list deep: past that, a filter finds it faster
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)  # dates the list can be asked for

ACTIONS = (
    "reply",
    "claim",
    "resolve",
    "transfer",
    "bounce",
    "reject",
    "note",
    "ask",
    "accept",
    "send_back",
)
_NEEDS_TEXT = {"reply", "bounce", "reject", "note", "ask", "send_back"}
VALIDATION_ACTIONS = ("accept", "send_back")  # dispatch and supervisors (contract §14)
_WORD = re.compile(r"\w+", re.UNICODE)
_PHONE = re.compile(r"\+?[0-9][0-9 .-]{6,18}[0-9]")


@dataclass(frozen=True)
class DeskUser:
    """Who is signed in: a staff chat's role, and the person who asked for the link."""

    role: Role
    name: str
    chat_channel: str
    chat_id: str

    @property
    def actor(self) -> str:
        """As the ticket's events name them (the chat commands' form, from the desk)."""
        return f"staff:{self.role.key}:{self.name or '?'} (desk)"


def may_see(role: Role, ticket: Ticket) -> bool:
    """An agency sees only the tickets it holds; dispatch and supervisors see all."""
    return role.kind != AGENCY or ticket.agency_id == role.agency_id


# --------------------------------------------------------------------------
# The ticket list
# --------------------------------------------------------------------------


class BadQuery(ValueError):
    """A list filter that cannot be read; the message says which and why."""


STATUS_FILTERS: dict[str, tuple[str, ...]] = {
    "open": tuple(str(s) for s in OPEN_STATUSES),
    **{str(s): (str(s),) for s in Status},
}


def parse_query(args: Mapping[str, str], config: Config, now: datetime) -> TicketQuery:
    """The list filters of a request (`status`, `agency`, `category`, `channel`,
    `overdue=1`, `q`, `from`, `to` as dates in the service time zone, `page`)."""
    status = args.get("status", "open") or "open"
    if status == "all":
        statuses: tuple[str, ...] = ()
    elif status in STATUS_FILTERS:
        statuses = STATUS_FILTERS[status]
    else:
        raise BadQuery(f"status: unknown status {status[:40]!r}")
    agency = args.get("agency", "")
    agency_id: str | None = None
    if agency == "dispatch":
        agency_id = ""
    elif agency:
        if config.agency(agency) is None:
            raise BadQuery(f"agency: unknown agency {agency[:40]!r}")
        agency_id = agency
    category = args.get("category", "")
    if category and config.category(category) is None:
        raise BadQuery(f"category: unknown category {category[:40]!r}")
    channel = args.get("channel", "")[:40]
    words = tuple(w.lower() for w in _WORD.findall(args.get("q", "")[:200]))[:MAX_WORDS]
    tz = config.service.tz
    created_from = _day(args.get("from", ""), "from", tz)
    created_to = _day(args.get("to", ""), "to", tz)
    page_text = args.get("page", "1") or "1"
    if not page_text.isdecimal() or not 1 <= int(page_text) <= MAX_PAGE:
        raise BadQuery(f"page: must be a whole number from 1 to {MAX_PAGE}")
    return TicketQuery(
        statuses=statuses,
        agency_id=agency_id,
        category_id=category,
        channel=channel,
        overdue=args.get("overdue", "") in ("1", "true", "on"),
        words=words,
        created_from=created_from,
        created_before=created_to + timedelta(days=1) if created_to else None,
        page=int(page_text),
        now=now,
    )


def _day(text: str, name: str, tz: object) -> datetime | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadQuery(f"{name}: must be a date as YYYY-MM-DD") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise BadQuery(f"{name}: must be a date from {FIRST_DAY} to {LAST_DAY}")
    return datetime.combine(day, time(0), tzinfo=tz)  # type: ignore[arg-type]


def scoped(query: TicketQuery, role: Role) -> TicketQuery:
    """The query as the role may ask it: an agency's is always its own agency's."""
    if role.kind == AGENCY:
        return replace(query, agency_id=role.agency_id)
    return query


# --------------------------------------------------------------------------
# Actions from a ticket page: the chat commands' rules and effects
# --------------------------------------------------------------------------


class ActionRefused(Exception):
    """The action cannot be taken; `key` is the desk catalog's explanation."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def act(
    session: Session, user: DeskUser, action: str, ticket: Ticket, text: str, agency_id: str = ""
) -> str:
    """Take `action` on `ticket` as `user`; returns the desk catalog key saying what was
    done. Raises ActionRefused (nothing changed) when it cannot be taken."""
    if action not in ACTIONS:
        raise ActionRefused("action_unknown")
    if not may_see(user.role, ticket):
        raise ActionRefused("action_not_yours")
    text = text.strip()
    if action in _NEEDS_TEXT and not text:
        raise ActionRefused("action_needs_text")
    if action in VALIDATION_ACTIONS and user.role.kind == AGENCY:
        raise ActionRefused("action_validators_only")
    actor = user.actor
    try:
        if action == "reply":
            lifecycle.reply(session, ticket, actor, text)
        elif action == "claim":
            lifecycle.claim(session, ticket, actor)
        elif action == "resolve":
            asked = lifecycle.resolve(session, ticket, actor, text)
            if asked is None:  # waits for validation (sla.validate_resolution)
                return "done_resolve_validation"
            conversation.expect_fix_confirmation(session, asked)
        elif action == "accept":
            conversation.expect_fix_confirmation(
                session, lifecycle.accept_resolution(session, ticket, actor)
            )
        elif action == "send_back":
            lifecycle.send_back(session, ticket, actor, text)
        elif action == "note":
            lifecycle.note(session, ticket, actor, text)
        elif action == "ask":
            lifecycle.ask(session, ticket, actor, text)
        elif action == "bounce":
            lifecycle.bounce(session, ticket, actor, text)
        elif action == "reject":
            lifecycle.reject(session, ticket, actor, text)
        elif action == "transfer":
            if session.config.agency(agency_id) is None:
                raise ActionRefused("action_needs_agency")
            if agency_id == ticket.agency_id:
                raise ActionRefused("action_same_agency")
            if ticket.status == Status.NEW:
                lifecycle.assign(session, ticket, agency_id, actor)
            else:
                lifecycle.transfer(session, ticket, agency_id, actor, text)
    except lifecycle.NotAllowed:
        raise ActionRefused("action_not_now", status=ticket.status) from None
    return f"done_{action}"


# --------------------------------------------------------------------------
# Complaints taken by phone
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PhoneCall:
    """What the call center typed while the caller was on the line."""

    name: str
    phone: str
    description: str
    category_id: str
    address: str


def phone_chat(phone: str) -> str:
    """The phone channel's chat of a caller: their number in E.164 (+62…)."""
    digits = re.sub(r"[^0-9]", "", phone)
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    return "+" + digits


def check_call(call: PhoneCall, config: Config) -> list[str]:
    """What is wrong with the form (desk catalog keys); empty when it can be filed."""
    problems = []
    if not call.name.strip():
        problems.append("phone_need_name")
    if not _PHONE.fullmatch(call.phone.strip()):
        problems.append("phone_bad_number")
    if len(call.description.strip()) < 10:
        problems.append("phone_need_description")
    if call.category_id and config.category(call.category_id) is None:
        problems.append("phone_bad_category")
    return problems


def file_call(session: Session, call: PhoneCall, operator: DeskUser) -> Ticket:
    """A complaint taken by phone becomes a normal ticket on the phone channel, routed
    like any other; what the agency answers goes to the call-back list."""
    chat = phone_chat(call.phone)
    address = call.address.strip()[:300]
    ticket = Ticket(
        id=None,
        citizen_channel=PHONE,
        citizen_chat_id=chat,
        citizen_name=call.name.strip()[:120],
        citizen_phone=chat,
        description=call.description.strip()[:4000],
        created_at=session.now,
        category_id=call.category_id,
        location=Location(None, None, address) if address else None,
        language=session.config.service.language,
    )
    ticket = lifecycle.file_ticket(session, ticket)
    session.record(ticket, operator.actor, "phoned", detail=call.name.strip()[:120])
    session.store.save_ticket(ticket)
    return ticket


# --------------------------------------------------------------------------
# How a ticket reads on the desk, for one role
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketView:
    """A ticket as the desk shows it to one role, in one language (what the card says).
    Its times are kept as moments and written out only when read (`created`, …), so an
    export that writes real dates does not format them."""

    id: int
    number: str
    status: str
    status_label: str
    late: bool
    category: str
    agency: str
    citizen: str
    channel: str
    description: str
    address: str
    map_link: str
    created_at: datetime
    deadline_at: datetime | None
    first_response_at: datetime | None
    resolution_deadline_at: datetime | None
    resolution_class: str
    resolution_late: bool
    claimed_by: str
    confidential: bool
    latitude: float | None
    longitude: float | None
    shown_time: Callable[[datetime | None], str] = field(repr=False, compare=False)

    @property
    def created(self) -> str:
        return self.shown_time(self.created_at)

    @property
    def deadline(self) -> str:
        return self.shown_time(self.deadline_at)

    @property
    def first_response(self) -> str:
        return self.shown_time(self.first_response_at)

    @property
    def resolution_deadline(self) -> str:
        return self.shown_time(self.resolution_deadline_at)


class Viewer:
    """Shows tickets to one role, as of one moment, in one language. The labels every row
    needs (categories, agencies, statuses, channels) are looked up once, so a list or an
    export of thousands of rows pays for them once."""

    def __init__(self, config: Config, role: Role, now: datetime, language: str) -> None:
        self.config, self.role, self.now, self.language = config, role, now, language
        self._timezone = config.service.timezone
        self._categories = {c.id: c.text(language) for c in config.categories}
        self._other = say(language, "category_other")
        self._agencies = {a.id: a.display for a in config.agencies}
        self._statuses: dict[str, str] = {}
        self._channels: dict[str, str] = {}

    def _when(self, moment: datetime | None) -> str:
        return format_time(moment, self._timezone, self.language) if moment is not None else "-"

    def _status(self, status: str) -> str:
        label = self._statuses.get(status)
        if label is None:
            label = self._statuses[status] = say(self.language, f"staff_status_{status}")
        return label

    def _channel(self, channel: str) -> str:
        name = self._channels.get(channel)
        if name is None:
            name = self._channels[channel] = channel_name(channel, self.language)
        return name

    def __call__(self, ticket: Ticket) -> TicketView:
        assert ticket.id is not None
        late = ticket.is_late(self.now)
        location = ticket.location
        return TicketView(
            id=ticket.id,
            number=format_number(self.config.service.ticket_prefix, ticket.id),
            status=str(ticket.status),
            status_label=self._status("late" if late else str(ticket.status)),
            late=late,
            category=self._categories.get(ticket.category_id, self._other),
            agency=self._agencies.get(ticket.agency_id, self.config.dispatch.name),
            citizen=_citizen(ticket, self.role, self.language),
            channel=self._channel(ticket.citizen_channel),
            description=ticket.description,
            address=location.address if location else "",
            map_link=location.map_link if location else "",
            created_at=ticket.created_at,
            deadline_at=ticket.deadline_at,
            first_response_at=ticket.first_response_at,
            resolution_deadline_at=ticket.resolution_deadline_at
            if ticket.status in RESOLUTION_PENDING
            else None,
            resolution_class=self.config.complaint_class(
                ticket.resolution_class, ticket.category_id
            ),
            resolution_late=ticket.is_resolution_late(self.now),
            claimed_by=ticket.claimed_by,
            confidential=ticket.confidential,
            latitude=location.latitude if location else None,
            longitude=location.longitude if location else None,
            shown_time=self._when,
        )


def _citizen(ticket: Ticket, role: Role, language: str) -> str:
    """As on the card: masked for all but dispatch, hidden from them when confidential."""
    dispatch = role.kind == DISPATCH
    if ticket.confidential and not dispatch:
        return say(language, "card_confidential")
    phone = ticket.citizen_phone
    shown = (phone if dispatch else mask_phone(phone)) if phone else ""
    label = " ".join(p for p in (ticket.citizen_name, shown) if p) or "-"
    if ticket.confidential:
        label += " " + say(language, "card_confidential")
    return label


# --------------------------------------------------------------------------
# The overview's figures (the digest's numbers, per agency)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class AgencyFigures:
    """One agency's line on the overview: open and overdue now, and the digest's week."""

    agency: Agency
    open: int
    overdue: int
    week: ResponseStats


def figures_week(now: datetime, config: Config) -> Window:
    """The digest's week: the seven whole days before today (service time zone)."""
    today = now.astimezone(config.service.tz).date()
    return next(w for w in digest_windows(today, config) if w.label == "window_week")


def window_dates(window: Window, config: Config) -> tuple[date, date]:
    """The first and last calendar day of a window (its end is exclusive), as the list's
    `from` and `to` filters take them."""
    tz = config.service.tz
    first = window.start.astimezone(tz).date()
    last = (window.end.astimezone(tz) - timedelta(microseconds=1)).date()
    return first, last


def agency_figures(
    config: Config,
    agencies: list[Agency],
    assignments: list[Assignment],
    open_by_agency: Mapping[str, int],
    overdue_by_agency: Mapping[str, int],
    now: datetime,
) -> list[AgencyFigures]:
    """Per agency, what the digest says of it (received, answered in time, median first
    response over the week's stints) beside its open and overdue tickets now."""
    by_agency: dict[str, list[Assignment]] = {}
    for assignment in assignments:
        by_agency.setdefault(assignment.agency_id, []).append(assignment)
    return [
        AgencyFigures(
            agency,
            open_by_agency.get(agency.id, 0),
            overdue_by_agency.get(agency.id, 0),
            response_stats(by_agency.get(agency.id, []), now),
        )
        for agency in agencies
    ]
