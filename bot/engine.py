"""The core's single entry point: one inbound message, one decision.

`handle` looks at which chat a message came from (a citizen's private chat,
an agency group, dispatch, the supervisors) and runs the matching part of the
core. The caller wraps it in one transaction with the store it passes in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.config import Config
from bot.conversation import handle_citizen
from bot.model import LOCAL, Inbound, Outbound
from bot.session import Session
from bot.staff import AGENCY, DISPATCH, SUPERVISOR, Role, handle_staff
from bot.store import Store


@dataclass(frozen=True)
class Outcome:
    """What handling one message did: the ticket it concerned and what was said."""

    ticket_id: int | None
    said: tuple[Outbound, ...]


def staff_role(config: Config, channel: str, chat_id: str, staff_channel: str) -> Role | None:
    """The staff role of a chat, or None for a citizen's private chat."""
    if channel != staff_channel:
        return None
    if config.is_dispatch_chat(chat_id):
        return Role(DISPATCH)
    if config.is_supervisor_chat(chat_id):
        return Role(SUPERVISOR)
    agency = config.agency_for_chat(chat_id)
    if agency is not None:
        return Role(AGENCY, agency.id)
    return None


def handle(
    store: Store,
    config: Config,
    inbound: Inbound,
    now: datetime,
    staff_channel: str = LOCAL,
) -> Outcome:
    """Run one inbound message through the core as of `now`."""
    session = Session(store=store, config=config, now=now, staff_channel=staff_channel)
    role = staff_role(config, inbound.channel, inbound.chat_id, staff_channel)
    if role is not None:
        ticket_id = handle_staff(session, inbound, role)
    elif inbound.is_group:
        ticket_id = None  # a group the bot was added to that is not configured: stay quiet
    else:
        ticket_id = handle_citizen(session, inbound)
    return Outcome(ticket_id, tuple(session.said))
