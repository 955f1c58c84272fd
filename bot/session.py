"""One event's working context: the store, the config, the moment, what to say.

Every core operation runs inside a `Session`. Messages go straight into the
store's outbox (the same transaction as the change that caused them) and are
also kept on the session so tests and edges can see what was said.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.catalog import say
from bot.config import CHANNEL_NAMES, Config
from bot.model import LOCAL, PHONE, Attachment, Button, Outbound, Status, Ticket, TicketEvent
from bot.store import Store
from bot.tickets import format_number
from bot.timefmt import format_time
from bot.workdays import WorkingCalendar


def channel_name(channel: str, language: str) -> str:
    """How staff read a channel's name: the local console and the call center's phone in
    words, others as their provider writes its name (`bot.config.CHANNEL_NAMES`)."""
    if channel == LOCAL:
        return say(language, "channel_local")
    if channel == PHONE:
        return say(language, "channel_phone")
    return CHANNEL_NAMES.get(channel, channel.capitalize())


@dataclass
class Session:
    store: Store
    config: Config
    now: datetime
    staff_channel: str = LOCAL  # where agency groups, dispatch and supervisors are
    said: list[Outbound] = field(default_factory=list)

    # --- language and formatting
    @property
    def staff_language(self) -> str:
        return self.config.service.language

    def number(self, ticket: Ticket | int) -> str:
        ticket_id = ticket if isinstance(ticket, int) else ticket.id
        assert ticket_id is not None
        return format_number(self.config.service.ticket_prefix, ticket_id)

    def time(self, moment: datetime | None, language: str | None = None) -> str:
        if moment is None:
            return "-"
        return format_time(moment, self.config.service.timezone, language or self.staff_language)

    def staff_text(self, key: str, **values: object) -> str:
        return say(self.staff_language, key, **values)

    def channel_name(self, channel: str) -> str:
        """How staff texts name a channel: the local console in words, others as their
        provider writes its name (`bot.config.CHANNEL_NAMES`)."""
        return channel_name(channel, self.staff_language)

    def agency_name(self, agency_id: str) -> str:
        if not agency_id:
            return self.config.dispatch.name
        agency = self.config.agency(agency_id)
        return agency.display if agency else agency_id

    def category_label(self, category_id: str, language: str) -> str:
        category = self.config.category(category_id) if category_id else None
        if category is None:
            return say(language, "category_other")
        return category.text(language)

    # --- deadlines: the one place each is worked out (docs/contract.md §6, §14)
    @property
    def calendar(self) -> WorkingCalendar:
        return self.config.working_calendar

    def deadline_for(self, assigned_at: datetime) -> datetime:
        """The first-response deadline of an assignment made at `assigned_at`:
        `sla.response_hours` later, in calendar hours or office hours."""
        sla = self.config.sla
        if sla.response_calendar == "working_hours":
            return self.calendar.add_working_time(assigned_at, sla.response_time)
        return assigned_at + sla.response_time

    def resolution_class(self, ticket: Ticket) -> str:
        """The ticket's complaint class: the one the agency gave, else its category's."""
        return self.config.complaint_class(ticket.resolution_class, ticket.category_id)

    def resolution_days(self, ticket: Ticket) -> int:
        return self.config.sla.resolution_days[self.resolution_class(ticket)]

    def resolution_deadline_for(self, ticket: Ticket, assigned_at: datetime) -> datetime:
        """The resolution deadline: the close of the class's n-th working day after the
        day of assignment."""
        return self.calendar.close_of_working_day(assigned_at, self.resolution_days(ticket))

    def push_back(self, deadline: datetime, paused_at: datetime, *, office_time: bool) -> datetime:
        """`deadline` moved on by the time spent waiting for the citizen since `paused_at`:
        the office time in it when `office_time`, else all of it."""
        if office_time:
            waited = self.calendar.working_time_between(paused_at, self.now)
            return self.calendar.add_working_time(deadline, waited)
        return deadline + max(timedelta(0), self.now - paused_at)

    # --- where staff chats are
    def holder_chat(self, ticket: Ticket) -> str:
        """The staff chat responsible for the ticket now: its agency, or dispatch."""
        return self.agency_chat(ticket.agency_id)

    def agency_chat(self, agency_id: str) -> str:
        agency = self.config.agency(agency_id) if agency_id else None
        return agency.staff_chat if agency else self.config.dispatch.staff_chat

    # --- saying things
    def send(self, outbound: Outbound) -> None:
        self.store.queue(outbound, self.now)
        self.said.append(outbound)

    def tell_staff(
        self,
        chat_id: str,
        text: str,
        ticket: Ticket | None = None,
        buttons: tuple[tuple[Button, ...], ...] = (),
        topic: str = "staff",
    ) -> None:
        self.send(
            Outbound(
                channel=self.staff_channel,
                chat_id=chat_id,
                text=text,
                ticket_id=ticket.id if ticket else None,
                buttons=buttons,
                topic=topic,
            )
        )

    def tell_citizen(
        self,
        ticket: Ticket,
        key: str,
        *,
        buttons: tuple[tuple[Button, ...], ...] = (),
        essential: bool = True,
        topic: str = "citizen",
        attachments: tuple[Attachment, ...] = (),
        **values: object,
    ) -> None:
        if not essential:  # only non-essential messages heed an opt-out
            conversation = self.store.conversation(ticket.citizen_channel, ticket.citizen_chat_id)
            if conversation is not None and conversation.opted_out:
                return
        text = say(ticket.language, key, number=self.number(ticket), **values)
        self.send(
            Outbound(
                channel=ticket.citizen_channel,
                chat_id=ticket.citizen_chat_id,
                text=text,
                ticket_id=ticket.id,
                buttons=buttons,
                attachments=attachments,
                essential=essential,
                topic=topic,
            )
        )

    # --- recording changes
    def record(
        self,
        ticket: Ticket,
        actor: str,
        action: str,
        *,
        from_status: Status | str = "",
        from_agency: str | None = None,
        detail: str = "",
    ) -> None:
        assert ticket.id is not None
        ticket.updated_at = self.now
        self.store.add_event(
            TicketEvent(
                ticket_id=ticket.id,
                at=self.now,
                actor=actor,
                action=action,
                from_status=str(from_status),
                to_status=str(ticket.status),
                from_agency=ticket.agency_id if from_agency is None else from_agency,
                to_agency=ticket.agency_id,
                detail=detail,
            )
        )
