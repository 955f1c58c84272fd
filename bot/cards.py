"""The ticket card an agency group (or dispatch) sees, edited in place as it changes."""

from __future__ import annotations

from bot.model import Button, Outbound, Status, Ticket
from bot.session import Session
from bot.tickets import mask_phone

_ICONS = {
    Status.NEW: "🆕",
    Status.ASSIGNED: "🔴",
    Status.RESPONDED: "🟢",
    Status.WAITING_CITIZEN: "🟡",
    Status.AWAITING_VALIDATION: "🔎",
    Status.RESOLVED: "✅",
    Status.CLOSED: "🔒",
    Status.REJECTED: "⛔",
    Status.REFERRED: "📨",
}

LATE_ICON = "⏰"  # past the response deadline, still unanswered

# Longest description shown on a card; the full text follows as its own message.
CARD_DESCRIPTION_LIMIT = 1500


def citizen_label(session: Session, ticket: Ticket, for_dispatch: bool) -> str:
    """Who filed it, as the staff chat may see it (masked; hidden when confidential)."""
    if ticket.confidential and not for_dispatch:
        return session.staff_text("card_confidential")
    phone = ticket.citizen_phone
    shown_phone = (phone if for_dispatch else mask_phone(phone)) if phone else ""
    parts = [part for part in (ticket.citizen_name, shown_phone) if part]
    label = " ".join(parts) or "-"
    if ticket.confidential:
        label += " " + session.staff_text("card_confidential")
    return label


def location_text(ticket: Ticket) -> str:
    location = ticket.location
    if location is None:
        return "-"
    parts = []
    if location.address:
        parts.append(location.address)
    if location.map_link:
        parts.append(location.map_link)
    return " ".join(parts) or "-"


def card_buttons(session: Session, ticket: Ticket) -> tuple[tuple[Button, ...], ...]:
    if not ticket.is_open or ticket.status in (Status.RESOLVED, Status.AWAITING_VALIDATION):
        # closed, resolved and waiting for the citizen, or waiting for its validators
        # (who have their own message with buttons): nothing to press
        return ()
    text = session.staff_text
    ticket_id = ticket.id
    if not ticket.agency_id:  # at dispatch
        return (
            (Button(text("btn_route"), f"route:{ticket_id}"),),
            (
                Button(text("btn_refer"), f"refer:{ticket_id}"),
                Button(text("btn_reject"), f"reject:{ticket_id}"),
            ),
        )
    first_row: tuple[Button, ...] = (Button(text("btn_resolve"), f"resolve:{ticket_id}"),)
    if not ticket.claimed_by:
        first_row = (Button(text("btn_claim"), f"claim:{ticket_id}"), *first_row)
    return (
        first_row,
        (
            Button(text("btn_transfer"), f"transfer:{ticket_id}"),
            Button(text("btn_bounce"), f"bounce:{ticket_id}"),
            Button(text("btn_reject"), f"reject:{ticket_id}"),
        ),
    )


def resolution_line(session: Session, ticket: Ticket) -> str:
    """The card's resolution deadline with its class and working days ('' if none)."""
    if ticket.resolution_deadline_at is None or not ticket.is_open:
        return ""
    return session.staff_text(
        "card_resolution",
        deadline=session.time(ticket.resolution_deadline_at),
        kind=session.resolution_class(ticket),
        days=session.resolution_days(ticket),
        late=session.staff_text("card_resolution_late")
        if ticket.is_resolution_late(session.now)
        else "",
    )


def render_card(
    session: Session,
    ticket: Ticket,
    chat_id: str | None = None,
    moved: str = "",
) -> Outbound:
    """The card of `ticket` for `chat_id` (default: whoever holds it now).

    `moved` marks a card left behind in a chat that no longer holds the ticket;
    such a card carries no buttons.
    """
    target = chat_id or session.holder_chat(ticket)
    for_dispatch = target == session.config.dispatch.staff_chat
    language = session.staff_language
    description = ticket.description
    if len(description) > CARD_DESCRIPTION_LIMIT:
        description = description[:CARD_DESCRIPTION_LIMIT] + "…"
    extra = ""
    if ticket.attachments:
        extra += session.staff_text("card_attachments", count=len(ticket.attachments))
    for contact in (a for a in ticket.attachments if a.kind == "contact"):
        extra += session.staff_text(
            "card_contact",
            name=contact.name or "-",
            number=contact.ref.removeprefix("tel:")
            if contact.ref.startswith("tel:")
            else session.staff_text("card_contact_file"),
        )
    if ticket.proof:
        extra += session.staff_text("card_proof", count=len(ticket.proof))
    if moved:
        extra += session.staff_text("card_moved", what=moved)
    elif ticket.is_open:
        extra += session.staff_text("card_hint")
    late = ticket.is_late(session.now)
    text = session.staff_text(
        "card",
        icon=LATE_ICON if late else _ICONS[ticket.status],
        number=session.number(ticket),
        status=session.staff_text("staff_status_late")
        if late
        else session.staff_text(f"staff_status_{ticket.status}"),
        category=session.category_label(ticket.category_id, language),
        description=description,
        location=location_text(ticket),
        citizen=citizen_label(session, ticket, for_dispatch),
        channel=session.channel_name(ticket.citizen_channel),
        created=session.time(ticket.created_at),
        deadline=session.time(ticket.deadline_at)
        if ticket.deadline_at
        else session.staff_text("card_no_deadline"),
        resolution=resolution_line(session, ticket),
        claimed=session.staff_text("card_claimed", who=ticket.claimed_by)
        if ticket.claimed_by
        else "",
        extra=extra,
    )
    return Outbound(
        channel=session.staff_channel,
        chat_id=target,
        text=text,
        ticket_id=ticket.id,
        kind="card",
        buttons=() if moved else card_buttons(session, ticket),
        attachments=tuple(ticket.attachments),
        location=ticket.location
        if ticket.location and ticket.location.latitude is not None
        else None,
        topic="card",
    )


def refresh_card(session: Session, ticket: Ticket) -> None:
    """Queue the card of `ticket` for its holder; the edge edits it in place if sent before."""
    session.send(render_card(session, ticket))
