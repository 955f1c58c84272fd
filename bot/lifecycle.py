"""Ticket operations of docs/contract.md §3: each changes the ticket, records an event,
updates the card and tells the people concerned.

Callers check permissions; these functions check that the ticket's status
allows the operation and raise `NotAllowed` otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.cards import CARD_DESCRIPTION_LIMIT, refresh_card, render_card
from bot.catalog import say
from bot.model import Attachment, Button, Outbound, Status, Ticket
from bot.session import Session

ACTIVE = (Status.ASSIGNED, Status.RESPONDED, Status.WAITING_CITIZEN)


class NotAllowed(Exception):
    """The ticket's status does not allow this operation."""

    def __init__(self, ticket: Ticket) -> None:
        super().__init__(f"ticket {ticket.id} is {ticket.status}")
        self.ticket = ticket


def _require(ticket: Ticket, *statuses: Status) -> None:
    if ticket.status not in statuses:
        raise NotAllowed(ticket)


def file_ticket(session: Session, ticket: Ticket) -> Ticket:
    """Store a new complaint and route it: to its category's agency, else to dispatch."""
    ticket.status = Status.NEW
    ticket = session.store.add_ticket(ticket)
    session.record(ticket, f"citizen:{ticket.citizen_channel}", "created", from_agency="")
    category = session.config.category(ticket.category_id) if ticket.category_id else None
    if category is not None:
        _assign(session, ticket, category.agency, "system", "category", tell_citizen=False)
    else:
        session.store.save_ticket(ticket)
        session.send(render_card(session, ticket))
    if len(ticket.description) > CARD_DESCRIPTION_LIMIT:
        session.tell_staff(
            session.holder_chat(ticket), ticket.description, ticket, topic="full_text"
        )
    return ticket


def _assign(
    session: Session,
    ticket: Ticket,
    agency_id: str,
    actor: str,
    reason: str,
    *,
    tell_citizen: bool = True,
    action: str = "assigned",
) -> None:
    previous_status, previous_agency = ticket.status, ticket.agency_id
    ticket.agency_id = agency_id
    ticket.status = Status.ASSIGNED
    ticket.assigned_at = session.now
    ticket.deadline_at = session.deadline_for(session.now)
    ticket.resolution_deadline_at = session.resolution_deadline_for(ticket, session.now)
    ticket.first_response_at = None
    ticket.paused_at = None
    ticket.claimed_by = ""
    session.record(
        ticket,
        actor,
        action,
        from_status=previous_status,
        from_agency=previous_agency,
        detail=reason,
    )
    session.store.save_ticket(ticket)
    session.send(render_card(session, ticket))
    if tell_citizen:
        key = "transferred" if action == "transferred" else "assigned_to_agency"
        session.tell_citizen(
            ticket,
            key,
            agency=session.agency_name(agency_id),
            deadline=session.time(ticket.deadline_at, ticket.language),
        )


def assign(session: Session, ticket: Ticket, agency_id: str, actor: str) -> None:
    """Dispatch routes a ticket that no category could route (or that was bounced)."""
    _require(ticket, Status.NEW)
    _assign(session, ticket, agency_id, actor, "dispatch")
    session.tell_staff(
        session.agency_chat(""),
        session.staff_text(
            "assigned_staff", number=session.number(ticket), agency=session.agency_name(agency_id)
        ),
        ticket,
    )


def transfer(
    session: Session, ticket: Ticket, agency_id: str, actor: str, reason: str = ""
) -> None:
    """Move a ticket to another agency; the new agency's 24-hour clock starts now."""
    _require(ticket, *ACTIVE, Status.RESOLVED)
    old_agency, old_chat = ticket.agency_id, session.holder_chat(ticket)
    _assign(session, ticket, agency_id, actor, reason, action="transferred")
    moved = session.staff_text(
        "moved_transfer", agency=session.agency_name(agency_id), actor=actor_name(actor)
    )
    session.send(render_card(session, ticket, chat_id=old_chat, moved=moved))
    session.tell_staff(
        session.holder_chat(ticket),
        session.staff_text(
            "transferred_in", number=session.number(ticket), agency=session.agency_name(old_agency)
        ),
        ticket,
    )


def bounce(session: Session, ticket: Ticket, actor: str, reason: str) -> None:
    """'Bukan wewenang': the agency sends the ticket back to dispatch for re-routing."""
    _require(ticket, *ACTIVE)
    old_agency, old_chat, previous = ticket.agency_id, session.holder_chat(ticket), ticket.status
    ticket.agency_id = ""
    ticket.status = Status.NEW
    ticket.deadline_at = None
    ticket.resolution_deadline_at = None
    ticket.paused_at = None
    ticket.claimed_by = ""
    session.record(
        ticket, actor, "bounced", from_status=previous, from_agency=old_agency, detail=reason
    )
    session.store.save_ticket(ticket)
    moved = session.staff_text(
        "moved_bounce",
        dispatch=session.config.dispatch.name,
        actor=actor_name(actor),
        reason=reason,
    )
    session.send(render_card(session, ticket, chat_id=old_chat, moved=moved))
    refresh_card(session, ticket)
    session.tell_staff(
        session.holder_chat(ticket),
        session.staff_text(
            "moved_bounced_from", agency=session.agency_name(old_agency), reason=reason
        ),
        ticket,
    )


def reply(
    session: Session,
    ticket: Ticket,
    actor: str,
    text: str,
    attachments: tuple[Attachment, ...] = (),
) -> None:
    """Relay a staff answer to the citizen; the first one is the first response."""
    _require(ticket, Status.NEW, *ACTIVE, Status.RESOLVED)
    previous = ticket.status
    holder = session.agency_name(ticket.agency_id)
    if previous == Status.WAITING_CITIZEN:
        _resume_clock(session, ticket)
    _mark_first_response(session, ticket)
    if ticket.status in (Status.ASSIGNED, Status.WAITING_CITIZEN):
        ticket.status = Status.RESPONDED
    session.record(ticket, actor, "replied", from_status=previous, detail=text)
    session.store.save_ticket(ticket)
    session.tell_citizen(
        ticket, "agency_reply", agency=holder, text=text, attachments=attachments, topic="reply"
    )
    if previous != ticket.status:
        refresh_card(session, ticket)


def _mark_first_response(session: Session, ticket: Ticket) -> None:
    if ticket.agency_id and ticket.first_response_at is None:
        ticket.first_response_at = session.now
        ticket.paused_at = None


def ask(session: Session, ticket: Ticket, actor: str, question: str) -> None:
    """Ask the citizen for information; the response clock pauses until they answer."""
    _require(ticket, *ACTIVE)
    previous = ticket.status
    ticket.status = Status.WAITING_CITIZEN
    if ticket.paused_at is None:  # both clocks pause while the citizen is asked
        ticket.paused_at = session.now
    session.record(ticket, actor, "asked", from_status=previous, detail=question)
    session.store.save_ticket(ticket)
    session.tell_citizen(
        ticket,
        "agency_question",
        agency=session.agency_name(ticket.agency_id),
        text=question,
        topic="question",
    )
    refresh_card(session, ticket)


def citizen_follow_up(
    session: Session, ticket: Ticket, text: str, attachments: tuple[Attachment, ...]
) -> None:
    """Relay more information from the citizen to whoever holds the ticket."""
    previous = ticket.status
    key = "citizen_answer" if previous == Status.WAITING_CITIZEN else "follow_up"
    if previous == Status.WAITING_CITIZEN:
        _resume_clock(session, ticket)
        ticket.status = Status.RESPONDED if ticket.first_response_at else Status.ASSIGNED
    session.record(
        ticket,
        f"citizen:{ticket.citizen_channel}",
        "citizen_message",
        from_status=previous,
        detail=text,
    )
    session.store.save_ticket(ticket)
    chat = session.holder_chat(ticket)
    body = text or "📎"
    session.send(
        _staff_message(
            session,
            ticket,
            chat,
            session.staff_text(key, number=session.number(ticket), text=body),
            attachments,
        )
    )
    if previous != ticket.status:
        refresh_card(session, ticket)


def _staff_message(
    session: Session, ticket: Ticket, chat: str, text: str, attachments: tuple[Attachment, ...]
) -> Outbound:
    return Outbound(
        channel=session.staff_channel,
        chat_id=chat,
        text=text,
        ticket_id=ticket.id,
        attachments=attachments,
        topic="follow_up",
    )


def _resume_clock(session: Session, ticket: Ticket) -> None:
    """Push the deadlines back by the time spent waiting for the citizen: the response
    deadline while no response was given, and the resolution deadline."""
    paused_at = ticket.paused_at
    if paused_at is not None:
        if ticket.deadline_at is not None and ticket.first_response_at is None:
            working = session.config.sla.response_calendar == "working_hours"
            ticket.deadline_at = session.push_back(
                ticket.deadline_at, paused_at, office_time=working
            )
        if ticket.resolution_deadline_at is not None:  # counted in working days: office time
            ticket.resolution_deadline_at = session.push_back(
                ticket.resolution_deadline_at, paused_at, office_time=True
            )
    ticket.paused_at = None


def claim(session: Session, ticket: Ticket, actor: str) -> None:
    """An admin takes the ticket; the card shows who handles it."""
    _require(ticket, *ACTIVE)
    ticket.claimed_by = actor_name(actor)
    session.record(ticket, actor, "claimed", from_status=ticket.status)
    session.store.save_ticket(ticket)
    refresh_card(session, ticket)


def note(session: Session, ticket: Ticket, actor: str, text: str) -> None:
    """An internal note: recorded, never relayed to the citizen."""
    session.record(ticket, actor, "note", from_status=ticket.status, detail=text)
    session.store.save_ticket(ticket)


@dataclass(frozen=True)
class AskCitizen:
    """A question the citizen must now be asked, for the conversation (its only owner,
    bot/conversation.py) to expect."""

    ticket: Ticket
    question: str  # "confirm_fix": was it fixed?


def resolve(
    session: Session,
    ticket: Ticket,
    actor: str,
    closing_note: str = "",
    proof: tuple[Attachment, ...] = (),
) -> AskCitizen | None:
    """The agency says it is done (`proof`: photos of the fix). The citizen is asked to
    confirm (the returned question is for the citizen's conversation to expect) — or,
    with `sla.validate_resolution`, the ticket waits for dispatch or a supervisor to
    accept it first (None is returned; `accept_resolution` asks the citizen)."""
    _require(ticket, *ACTIVE)
    previous = ticket.status
    if previous == Status.WAITING_CITIZEN:
        _resume_clock(session, ticket)
    _mark_first_response(session, ticket)
    ticket.paused_at = None
    if proof:
        ticket.proof = [*ticket.proof, *proof]
    if session.config.sla.validate_resolution:
        ticket.status = Status.AWAITING_VALIDATION
        ticket.status_reason = closing_note  # told to the citizen once accepted
        session.record(
            ticket, actor, "validation_requested", from_status=previous, detail=closing_note
        )
        session.store.save_ticket(ticket)
        refresh_card(session, ticket)
        _ask_validators(session, ticket, actor, closing_note)
        return None
    ticket.status = Status.RESOLVED
    ticket.resolved_at = session.now
    session.record(ticket, actor, "resolved", from_status=previous, detail=closing_note)
    session.store.save_ticket(ticket)
    refresh_card(session, ticket)
    return _ask_citizen_to_confirm(session, ticket, closing_note)


def _ask_citizen_to_confirm(session: Session, ticket: Ticket, closing_note: str) -> AskCitizen:
    language = ticket.language
    session.tell_citizen(
        ticket,
        "resolved_ask",
        agency=session.agency_name(ticket.agency_id),
        note=say(language, "resolved_note", note=closing_note) if closing_note else "",
        buttons=confirm_buttons(ticket, language),
        attachments=tuple(ticket.proof),
        topic="confirm",
    )
    return AskCitizen(ticket, "confirm_fix")


def validators(session: Session) -> list[str]:
    """Who validates a resolution: dispatch and every supervisor chat."""
    return [session.config.dispatch.staff_chat, *session.config.supervisors.staff_chats]


def _ask_validators(session: Session, ticket: Ticket, actor: str, closing_note: str) -> None:
    number = session.number(ticket)
    text = session.staff_text(
        "validation_request",
        number=number,
        agency=session.agency_name(ticket.agency_id),
        actor=actor_name(actor),
        note=session.staff_text("validation_note", note=closing_note) if closing_note else "",
        proof=session.staff_text("validation_proof", count=len(ticket.proof))
        if ticket.proof
        else session.staff_text("validation_no_proof"),
    )
    buttons = (
        (
            Button(session.staff_text("btn_accept"), f"accept:{ticket.id}"),
            Button(session.staff_text("btn_send_back"), f"sendback:{ticket.id}"),
        ),
    )
    for chat in validators(session):
        session.send(
            Outbound(
                channel=session.staff_channel,
                chat_id=chat,
                text=text,
                ticket_id=ticket.id,
                buttons=buttons,
                attachments=tuple(ticket.proof),
                topic="validation",
            )
        )


def accept_resolution(session: Session, ticket: Ticket, actor: str) -> AskCitizen:
    """Dispatch or a supervisor accepts the agency's Selesai: the ticket is resolved and
    the citizen is asked to confirm, as without validation."""
    _require(ticket, Status.AWAITING_VALIDATION)
    closing_note = ticket.status_reason
    ticket.status = Status.RESOLVED
    ticket.resolved_at = session.now
    ticket.status_reason = ""
    session.record(
        ticket, actor, "resolved", from_status=Status.AWAITING_VALIDATION, detail=closing_note
    )
    session.store.save_ticket(ticket)
    refresh_card(session, ticket)
    session.tell_staff(
        session.holder_chat(ticket),
        session.staff_text(
            "validation_accepted", number=session.number(ticket), actor=actor_name(actor)
        ),
        ticket,
    )
    return _ask_citizen_to_confirm(session, ticket, closing_note)


def send_back(session: Session, ticket: Ticket, actor: str, reason: str) -> None:
    """Dispatch or a supervisor does not accept the agency's Selesai: back to the agency
    with the reason; the resolution clock keeps running."""
    _require(ticket, Status.AWAITING_VALIDATION)
    ticket.status = Status.RESPONDED
    ticket.status_reason = ""
    session.record(
        ticket, actor, "sent_back", from_status=Status.AWAITING_VALIDATION, detail=reason
    )
    session.store.save_ticket(ticket)
    refresh_card(session, ticket)
    session.tell_staff(
        session.holder_chat(ticket),
        session.staff_text(
            "validation_sent_back",
            number=session.number(ticket),
            actor=actor_name(actor),
            reason=reason,
        ),
        ticket,
    )


def classify(session: Session, ticket: Ticket, actor: str, complaint_class: str) -> None:
    """The agency gives the ticket its complaint class: the resolution deadline becomes
    that class's, counted from the current assignment (a pause now running is added
    when the citizen answers; earlier pauses are not credited again)."""
    _require(ticket, *ACTIVE, Status.AWAITING_VALIDATION)
    previous = session.resolution_class(ticket)
    ticket.resolution_class = complaint_class
    if ticket.assigned_at is not None:
        ticket.resolution_deadline_at = session.resolution_deadline_for(ticket, ticket.assigned_at)
    session.record(
        ticket,
        actor,
        "classified",
        from_status=ticket.status,
        detail=f"{previous} → {complaint_class}",
    )
    session.store.save_ticket(ticket)
    refresh_card(session, ticket)


def confirm_buttons(ticket: Ticket, language: str) -> tuple[tuple[Button, ...], ...]:
    return (
        (
            Button("1. " + say(language, "confirm_fixed"), f"fixed:{ticket.id}:1"),
            Button("2. " + say(language, "confirm_not_fixed"), f"fixed:{ticket.id}:2"),
        ),
    )


def confirm_fixed(session: Session, ticket: Ticket) -> None:
    """The citizen confirms the fix: the ticket closes."""
    _require(ticket, Status.RESOLVED)
    ticket.status = Status.CLOSED
    ticket.closed_at = session.now
    session.record(
        ticket, f"citizen:{ticket.citizen_channel}", "confirmed", from_status=Status.RESOLVED
    )
    session.store.save_ticket(ticket)
    refresh_card(session, ticket)
    session.tell_staff(
        session.holder_chat(ticket),
        session.staff_text("confirmed_staff", number=session.number(ticket)),
        ticket,
    )


def reopen(session: Session, ticket: Ticket) -> None:
    """The citizen says it is not fixed: back to `responded`, the agency is told."""
    _require(ticket, Status.RESOLVED)
    ticket.status = Status.RESPONDED
    ticket.resolved_at = None
    session.record(
        ticket, f"citizen:{ticket.citizen_channel}", "reopened", from_status=Status.RESOLVED
    )
    session.store.save_ticket(ticket)
    refresh_card(session, ticket)
    session.tell_staff(
        session.holder_chat(ticket),
        session.staff_text("reopened_staff", number=session.number(ticket)),
        ticket,
    )
    session.tell_citizen(ticket, "reopened", agency=session.agency_name(ticket.agency_id))


def auto_close(session: Session, ticket: Ticket) -> None:
    """No confirmation within `sla.confirm_days`: close and tell both sides."""
    _require(ticket, Status.RESOLVED)
    ticket.status = Status.CLOSED
    ticket.closed_at = session.now
    days = f"{session.config.sla.confirm_days:g}"  # 3, not 3.0
    session.record(ticket, "system", "auto_closed", from_status=Status.RESOLVED)
    session.store.save_ticket(ticket)
    refresh_card(session, ticket)
    session.tell_citizen(ticket, "auto_closed", days=days)
    session.tell_staff(
        session.holder_chat(ticket),
        session.staff_text("auto_closed_staff", number=session.number(ticket), days=days),
        ticket,
    )


def reject(session: Session, ticket: Ticket, actor: str, reason: str) -> None:
    """Spam or not a complaint: closed as rejected, the citizen is told why."""
    _require(ticket, Status.NEW, *ACTIVE)
    previous = ticket.status
    ticket.status = Status.REJECTED
    ticket.closed_at = session.now
    ticket.status_reason = reason
    session.record(ticket, actor, "rejected", from_status=previous, detail=reason)
    session.store.save_ticket(ticket)
    refresh_card(session, ticket)
    session.tell_citizen(ticket, "rejected", reason=reason)


def refer(session: Session, ticket: Ticket, actor: str, name: str, contact: str) -> None:
    """Outside the regency's authority: the citizen is told where to go."""
    _require(ticket, Status.NEW, *ACTIVE)
    previous = ticket.status
    ticket.status = Status.REFERRED
    ticket.closed_at = session.now
    ticket.status_reason = name
    session.record(ticket, actor, "referred", from_status=previous, detail=name)
    session.store.save_ticket(ticket)
    refresh_card(session, ticket)
    session.tell_citizen(ticket, "referred", name=name, contact=contact)


def actor_name(actor: str) -> str:
    """`Budi (pupr)` from an actor id like `staff:pupr:Budi`."""
    parts = actor.split(":", 2)
    if len(parts) == 3 and parts[0] == "staff":
        return f"{parts[2]} ({parts[1]})"
    return actor


def report_undeliverable(session: Session, ticket: Ticket, reason: str, blocked: bool) -> None:
    """A message to the citizen could not be delivered: the staff holding the ticket are told."""
    number = session.number(ticket)
    if blocked:
        text = session.staff_text(
            "delivery_blocked", number=number, channel=session.channel_name(ticket.citizen_channel)
        )
    else:
        text = session.staff_text("delivery_failed", number=number, reason=reason)
    session.record(ticket, "system", "delivery_failed", from_status=ticket.status, detail=reason)
    session.store.save_ticket(ticket)
    session.tell_staff(session.holder_chat(ticket), text, ticket, topic="delivery")
