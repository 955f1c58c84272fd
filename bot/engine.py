"""The core's single entry point: every event the edges bring, one decision each.

`handle` looks at which chat a message came from (a citizen's private chat,
an agency group, dispatch, the supervisors) and runs the matching part of the
core. The other events are the deadline scan (`scan_deadlines`), the daily digest
(`send_digest`), a reply that cannot reach its citizen (`delivery_failed`) and a
notice for the staff holding a ticket (`tell_holder`). The caller wraps each in one
transaction with the store it passes in; each returns what was said.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from bot import deadlines, desk, lifecycle, open311
from bot.config import Config
from bot.conversation import handle_citizen
from bot.model import LOCAL, Inbound, Outbound, Ticket
from bot.session import Session
from bot.staff import handle_staff, role_of_chat
from bot.store import Store


@dataclass(frozen=True)
class Outcome:
    """What handling one message did: the ticket it concerned and what was said."""

    ticket_id: int | None
    said: tuple[Outbound, ...]


def handle(
    store: Store,
    config: Config,
    inbound: Inbound,
    now: datetime,
    staff_channel: str = LOCAL,
) -> Outcome:
    """Run one inbound message through the core as of `now`."""
    session = _session(store, config, now, staff_channel)
    role = role_of_chat(config, inbound.channel, inbound.chat_id, staff_channel)
    if role is not None:
        ticket_id = handle_staff(session, inbound, role)
    elif inbound.is_group:
        ticket_id = None  # a group the bot was added to that is not configured: stay quiet
    else:
        ticket_id = handle_citizen(session, inbound)
    return Outcome(ticket_id, tuple(session.said))


def _session(store: Store, config: Config, now: datetime, staff_channel: str) -> Session:
    return Session(store=store, config=config, now=now, staff_channel=staff_channel)


@dataclass(frozen=True)
class ScanOutcome:
    """What one deadline scan said and did."""

    announced: deadlines.Announced
    auto_closed: int
    said: tuple[Outbound, ...]


def scan_deadlines(
    store: Store,
    config: Config,
    now: datetime,
    staff_channel: str,
    due: Sequence[deadlines.ClockDue],
    closable: Iterable[Ticket],
    record: Callable[[deadlines.Notice], bool],
) -> ScanOutcome:
    """One deadline scan over what storage found due, per clock (reminders with their
    stage label, overdue tickets with their alert round, escalation rungs): the
    notices (each said only when `record` newly records it), breaches, and resolved
    tickets the citizen never confirmed closed."""
    session = _session(store, config, now, staff_channel)
    plan = deadlines.NoticePlan()
    for clock_due in due:
        deadlines.plan_notices(
            session,
            clock_due.reminders,
            clock_due.overdue,
            clock_due.clock,
            clock_due.escalations,
            plan,
        )
    fresh = [notice for notice in plan.notices if record(notice)]
    announced = deadlines.announce(session, fresh, plan.deferred)
    window = config.sla.confirm_window
    expired = [t for t in closable if deadlines.confirmation_expired(t, now, window)]
    for ticket in expired:
        lifecycle.auto_close(session, ticket)
    return ScanOutcome(announced, len(expired), tuple(session.said))


def send_digest(
    store: Store, config: Config, now: datetime, staff_channel: str, day: date, chats: list[str]
) -> tuple[Outbound, ...]:
    """The daily digest of `day` to the given supervisor chats."""
    session = _session(store, config, now, staff_channel)
    deadlines.send_digest(session, day, chats)
    return tuple(session.said)


def delivery_failed(
    store: Store,
    config: Config,
    now: datetime,
    staff_channel: str,
    ticket: Ticket,
    reason: str,
    blocked: bool,
) -> tuple[Outbound, ...]:
    """A reply could not reach the ticket's citizen: the staff holding it are told."""
    session = _session(store, config, now, staff_channel)
    lifecycle.report_undeliverable(session, ticket, reason, blocked)
    return tuple(session.said)


def tell_holder(
    store: Store,
    config: Config,
    now: datetime,
    staff_channel: str,
    ticket: Ticket,
    key: str,
    **values: object,
) -> tuple[Outbound, ...]:
    """A catalog message `key` for the staff holding `ticket` (its agency, or dispatch)."""
    session = _session(store, config, now, staff_channel)
    session.tell_staff(
        session.holder_chat(ticket),
        session.staff_text(key, number=session.number(ticket), **values),
        ticket,
        topic="delivery",
    )
    return tuple(session.said)


# --------------------------------------------------------------------------
# The web desk: the same core as the chat commands
# --------------------------------------------------------------------------


def desk_action(
    store: Store,
    config: Config,
    now: datetime,
    staff_channel: str,
    user: desk.DeskUser,
    action: str,
    ticket: Ticket,
    text: str,
    agency_id: str = "",
) -> tuple[str, tuple[Outbound, ...]]:
    """An action from a ticket page (reply, claim, resolve, transfer, bounce, reject,
    note, ask): the desk catalog key of what was done, and what was said. Raises
    `desk.ActionRefused` when it cannot be taken (the caller's transaction rolls back)."""
    session = _session(store, config, now, staff_channel)
    done = desk.act(session, user, action, ticket, text, agency_id)
    return done, tuple(session.said)


def file_phone_call(
    store: Store,
    config: Config,
    now: datetime,
    staff_channel: str,
    call: desk.PhoneCall,
    operator: desk.DeskUser,
) -> tuple[Ticket, tuple[Outbound, ...]]:
    """A complaint taken by phone: a ticket on the phone channel, routed as any other."""
    session = _session(store, config, now, staff_channel)
    ticket = desk.file_call(session, call, operator)
    return ticket, tuple(session.said)


def called_back(
    store: Store,
    config: Config,
    now: datetime,
    staff_channel: str,
    ticket: Ticket,
    operator: desk.DeskUser,
    text: str,
) -> None:
    """The call center passed an agency's answer on to the caller by phone."""
    session = _session(store, config, now, staff_channel)
    session.record(ticket, operator.actor, "called_back", detail=text[:500])
    store.save_ticket(ticket)


# --------------------------------------------------------------------------
# Open311: a service request filed by an outside client
# --------------------------------------------------------------------------


def file_open311_request(
    store: Store,
    config: Config,
    now: datetime,
    staff_channel: str,
    request: open311.ServiceRequest,
    client: str,
) -> tuple[Ticket, str, tuple[Outbound, ...]]:
    """A `POST requests` from the client `client` (a key's label): a ticket on the
    open311 channel, routed as any other; with the service notice the client is told."""
    session = _session(store, config, now, staff_channel)
    ticket = open311.file_request(session, request, client)
    return ticket, open311.service_notice(ticket, session), tuple(session.said)
