"""What the core needs from storage, as a Protocol.

The core is handed an object with these methods, already inside one
transaction; it never opens connections or commits. storage/ implements it
on SQLite.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from bot.model import Assignment, Conversation, Outbound, Ticket, TicketEvent


class Store(Protocol):
    def conversation(self, channel: str, chat_id: str) -> Conversation | None: ...

    def save_conversation(self, conversation: Conversation) -> None: ...

    def add_ticket(self, ticket: Ticket) -> Ticket:
        """Insert a new ticket; returns it with its id (the ticket number) set."""
        ...

    def ticket(self, ticket_id: int) -> Ticket | None: ...

    def save_ticket(self, ticket: Ticket) -> None: ...

    def add_event(self, event: TicketEvent) -> None: ...

    def events(self, ticket_id: int) -> list[TicketEvent]: ...

    def link_messages(self, channel: str, chat_id: str, since: datetime, ticket_id: int) -> None:
        """The chat's messages since `since` that belong to no ticket become this ticket's
        (what the citizen and the bot said while the complaint was drafted)."""
        ...

    def citizen_tickets(self, channel: str, chat_id: str, open_only: bool = False) -> list[Ticket]:
        """The citizen's tickets, newest first."""
        ...

    def agency_open_tickets(self, agency_id: str) -> list[Ticket]:
        """Open tickets of one agency ('' for dispatch), oldest deadline first."""
        ...

    def all_open_tickets(self) -> list[Ticket]: ...

    def overdue_tickets(self, now: datetime, clock: str = "response") -> list[Ticket]:
        """Tickets past their `clock`'s deadline (`response`: without a first response;
        `resolution`: the fix still owed), clock running, most late first."""
        ...

    def assignments_between(self, start: datetime, end: datetime) -> list[Assignment]:
        """Stints at agencies that began in [start, end), with how each was answered."""
        ...

    def ticket_for_message(self, channel: str, chat_id: str, message_id: str) -> int | None:
        """The ticket a bot message (by provider message id) was about."""
        ...

    def queue(self, outbound: Outbound, now: datetime) -> None:
        """Put a message in the outbox, in the caller's transaction."""
        ...

    def add_rating(self, ticket_id: int, score: int, comment: str, at: datetime) -> None: ...

    def rating(self, ticket_id: int) -> tuple[int, str] | None: ...

    def issue_desk_link(
        self,
        role: str,
        agency_id: str,
        chat_channel: str,
        chat_id: str,
        name: str,
        now: datetime,
        lifetime: timedelta,
    ) -> str:
        """A new one-time sign-in token for the web desk (random; only its hash is kept)."""
        ...
