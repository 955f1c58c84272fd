"""Channel-neutral values the core reads and writes.

Edges (handlers/) turn a chat provider's update or form post, or a local-console
request, into an `Inbound`; the core answers with `Outbound` values that the
outbox later delivers. Nothing here knows about any provider's API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

# The channel of the local console; every other channel names itself in its
# handlers/ module.
LOCAL = "local"
PHONE = "phone"  # complaints the call center takes by phone (the web desk)
OPEN311 = "open311"  # service requests filed through the Open311 GeoReport v2 API


class Status(StrEnum):
    """Ticket statuses of docs/contract.md §3."""

    NEW = "new"
    ASSIGNED = "assigned"
    RESPONDED = "responded"
    WAITING_CITIZEN = "waiting_citizen"
    # The agency said Selesai; dispatch or a supervisor validates it (sla.validate_resolution).
    AWAITING_VALIDATION = "awaiting_validation"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"
    REFERRED = "referred"


OPEN_STATUSES = frozenset(
    {
        Status.NEW,
        Status.ASSIGNED,
        Status.RESPONDED,
        Status.WAITING_CITIZEN,
        Status.AWAITING_VALIDATION,
        Status.RESOLVED,
    }
)
# Statuses in which the resolution clock runs (the fix is still owed).
RESOLUTION_PENDING = frozenset({Status.ASSIGNED, Status.RESPONDED, Status.AWAITING_VALIDATION})


@dataclass(frozen=True)
class Location:
    latitude: float | None = None
    longitude: float | None = None
    address: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"latitude": self.latitude, "longitude": self.longitude, "address": self.address}

    @property
    def map_link(self) -> str:
        """A map link to the pin, or "" for a typed address without coordinates."""
        if self.latitude is None or self.longitude is None:
            return ""
        return f"https://maps.google.com/?q={self.latitude:.6f},{self.longitude:.6f}"

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> Location | None:
        if not raw:
            return None
        return cls(raw.get("latitude"), raw.get("longitude"), raw.get("address") or "")


@dataclass(frozen=True)
class Attachment:
    """A photo, voice note, video or document sent by someone.

    `ref` is whatever the channel needs to fetch or resend it (a provider's
    file id, a stored media path, a local URL).
    """

    kind: str  # photo | voice | video | document | sticker
    ref: str
    mime: str = ""
    name: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "ref": self.ref, "mime": self.mime, "name": self.name}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Attachment:
        return cls(raw["kind"], raw["ref"], raw.get("mime", ""), raw.get("name", ""))


@dataclass(frozen=True)
class Button:
    """A pressable choice. Pressing it comes back as an Inbound with `data`."""

    label: str
    data: str


@dataclass(frozen=True)
class Inbound:
    """One message or button press from a person, normalised by an edge."""

    channel: str
    chat_id: str
    provider_id: str  # the provider's unique id, used for de-duplication
    sender_id: str = ""
    sender_name: str = ""
    phone: str = ""  # E.164 when the channel knows it (a phone-number channel)
    text: str = ""
    is_group: bool = False
    attachments: tuple[Attachment, ...] = ()
    location: Location | None = None
    button_data: str = ""  # set when a button was pressed instead of typing
    reply_to_message_id: str = ""  # provider id of the bot message replied to


@dataclass(frozen=True)
class Outbound:
    """Something the service must say to one chat.

    `kind` is "text" for a plain message or "card" for a ticket card, which
    an edge edits in place when it was sent before to the same chat.
    """

    channel: str
    chat_id: str
    text: str
    ticket_id: int | None = None
    kind: str = "text"
    buttons: tuple[tuple[Button, ...], ...] = ()  # rows of buttons
    attachments: tuple[Attachment, ...] = ()
    location: Location | None = None
    essential: bool = True  # False: suppressed for citizens who opted out
    topic: str = ""  # what it is about, e.g. "reply", "card", "reminder"

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "chat_id": self.chat_id,
            "text": self.text,
            "ticket_id": self.ticket_id,
            "kind": self.kind,
            "buttons": [[{"label": b.label, "data": b.data} for b in row] for row in self.buttons],
            "attachments": [a.to_dict() for a in self.attachments],
            "location": self.location.to_dict() if self.location else None,
            "essential": self.essential,
            "topic": self.topic,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Outbound:
        return cls(
            channel=raw["channel"],
            chat_id=raw["chat_id"],
            text=raw["text"],
            ticket_id=raw.get("ticket_id"),
            kind=raw.get("kind", "text"),
            buttons=tuple(
                tuple(Button(b["label"], b["data"]) for b in row) for row in raw.get("buttons", [])
            ),
            attachments=tuple(Attachment.from_dict(a) for a in raw.get("attachments", [])),
            location=Location.from_dict(raw.get("location")),
            essential=raw.get("essential", True),
            topic=raw.get("topic", ""),
        )


@dataclass
class Ticket:
    """A citizen's complaint and where it stands."""

    id: int | None
    citizen_channel: str
    citizen_chat_id: str
    citizen_name: str
    description: str
    created_at: datetime
    citizen_phone: str = ""
    category_id: str = ""
    agency_id: str = ""  # empty while with dispatch
    status: Status = Status.NEW
    confidential: bool = False
    location: Location | None = None
    attachments: list[Attachment] = field(default_factory=list)
    language: str = "id"
    assigned_at: datetime | None = None
    deadline_at: datetime | None = None
    first_response_at: datetime | None = None
    paused_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    claimed_by: str = ""
    status_reason: str = ""
    updated_at: datetime | None = None
    # The complaint class the agency gave it ('' = its category's class).
    resolution_class: str = ""
    resolution_deadline_at: datetime | None = None  # working days after assignment
    proof: list[Attachment] = field(default_factory=list)  # the agency's proof of the fix

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def awaiting_response(self) -> bool:
        """Whether the response clock is running: assigned, unanswered, not paused."""
        return (
            self.status == Status.ASSIGNED
            and bool(self.agency_id)
            and self.first_response_at is None
            and self.paused_at is None
            and self.deadline_at is not None
            and self.assigned_at is not None
        )

    def is_late(self, now: datetime) -> bool:
        """Past the response deadline without a first response, clock running."""
        return self.awaiting_response and self.deadline_at is not None and now >= self.deadline_at

    @property
    def awaiting_resolution(self) -> bool:
        """Whether the resolution clock is running: an agency owes the fix, not paused."""
        return (
            self.status in RESOLUTION_PENDING
            and bool(self.agency_id)
            and self.paused_at is None
            and self.resolution_deadline_at is not None
        )

    def is_resolution_late(self, now: datetime) -> bool:
        """Past the resolution deadline with the fix still owed, clock running."""
        deadline = self.resolution_deadline_at
        return self.awaiting_resolution and deadline is not None and now >= deadline


@dataclass(frozen=True)
class TicketEvent:
    """One change to a ticket: who, when, from -> to, why."""

    ticket_id: int
    at: datetime
    actor: str
    action: str
    from_status: str = ""
    to_status: str = ""
    from_agency: str = ""
    to_agency: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Assignment:
    """One stint of a ticket at an agency: from its assignment (or transfer in) to
    the next move, as the statistics read it from the ticket's events.

    `deadline_at` is known only while the stint is the ticket's current one (it
    includes time paused for the citizen); `awaiting` is true while that stint
    still waits for a first response with its clock running.
    """

    ticket_id: int
    agency_id: str
    assigned_at: datetime
    first_response_at: datetime | None = None
    breached: bool = False
    deadline_at: datetime | None = None
    awaiting: bool = False


@dataclass(frozen=True)
class Stint:
    """A stint at an agency with what became of it (the monthly report's figures):
    `breached_at` when its deadline was recorded as missed, `ended_at` when the ticket
    moved on (a transfer, a bounce or a new assignment), `finished_at` when it was
    rejected, referred or closed while there."""

    assignment: Assignment
    category_id: str
    breached_at: datetime | None = None
    ended_at: datetime | None = None
    finished_at: datetime | None = None  # rejected, referred or closed during the stint
    resolved: bool = False
    confirmed: bool = False
    reopened: bool = False
    moved_away: bool = False  # transferred to another agency or bounced to dispatch
    rating: int | None = None


@dataclass
class Conversation:
    """A citizen's chat with the bot: where they are in the dialogue.

    `draft` holds the complaint being written; `context` small per-step data
    (the ticket being confirmed, the pending follow-up text, ...).
    """

    channel: str
    chat_id: str
    state: str = "idle"
    draft: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    language: str = ""
    welcomed: bool = False
    opted_out: bool = False
    name: str = ""
    phone: str = ""
    updated_at: datetime | None = None
    last_inbound_at: datetime | None = None


@dataclass(frozen=True)
class TicketQuery:
    """What the web desk's ticket list (and its exports and the map) is asked for."""

    statuses: tuple[str, ...] = ()  # empty: every status
    agency_id: str | None = None  # None: every agency; "": dispatch's (unrouted)
    category_id: str = ""
    channel: str = ""
    overdue: bool = False
    words: tuple[str, ...] = ()
    created_from: datetime | None = None
    created_before: datetime | None = None
    page: int = 1
    now: datetime | None = field(default=None, compare=False)
