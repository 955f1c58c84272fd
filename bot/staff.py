"""Agency groups, dispatch and supervisors (docs/contract.md §5): commands, card buttons
and replies that reach the citizen.

Messages in a staff chat are internal unless they reply to a bot message
about a ticket or use `/reply`. An agency chat acts only on its own tickets;
dispatch and supervisors act on all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot import conversation, deadlines, lifecycle
from bot.config import Config
from bot.model import Attachment, Button, Inbound, Status, Ticket
from bot.session import Session
from bot.tickets import parse_id, parse_number
from bot.timefmt import format_duration

AGENCY, DISPATCH, SUPERVISOR = "agency", "dispatch", "supervisor"
DESK_LINK_LIFETIME = timedelta(minutes=10)  # a sign-in link to the web desk

COMMANDS: dict[str, str] = {
    "reply": "reply",
    "balas": "reply",
    "claim": "claim",
    "ambil": "claim",
    "close": "close",
    "selesai": "close",
    "transfer": "transfer",
    "alihkan": "transfer",
    "bounce": "bounce",
    "bukan": "bounce",
    "reject": "reject",
    "tolak": "reject",
    "note": "note",
    "catatan": "note",
    "ask": "ask",
    "tanya": "ask",
    "open": "open",
    "daftar": "open",
    "help": "help",
    "bantuan": "help",
    "start": "help",
    "assign": "assign",
    "teruskan": "assign",
    "refer": "refer",
    "rujuk": "refer",
    "overdue": "overdue",
    "terlambat": "overdue",
    "stats": "stats",
    "statistik": "stats",
    "dasbor": "desk",
    "desk": "desk",
    "accept": "accept",
    "terima": "accept",
    "sendback": "send_back",
    "kembalikan": "send_back",
    "class": "classify",
    "kelas": "classify",
}
# The name staff see in prompts, in the service language.
_LOCAL_NAME = {
    "reply": "/balas",
    "transfer": "/alihkan",
    "bounce": "/bukan",
    "reject": "/tolak",
    "note": "/catatan",
    "ask": "/tanya",
    "assign": "/teruskan",
    "refer": "/rujuk",
    "close": "/selesai",
    "claim": "/ambil",
    "send_back": "/kembalikan",
    "classify": "/kelas",
    "accept": "/terima",
}
_NEEDS_TEXT = {"reply", "note", "ask", "bounce", "reject", "send_back"}
_VALIDATION = {"accept", "send_back"}  # dispatch and supervisors only


@dataclass(frozen=True)
class Role:
    """Who a staff chat is: an agency's group, dispatch, or supervisors."""

    kind: str
    agency_id: str = ""

    @property
    def key(self) -> str:
        return self.agency_id if self.kind == AGENCY else self.kind

    def may_act_on(self, ticket: Ticket) -> bool:
        return self.kind != AGENCY or ticket.agency_id == self.agency_id


def role_display(config: Config, role: Role, supervisor: str) -> str:
    """How a role is named to people: the agency's short name, the call center's name,
    or `supervisor` (the caller's word for it, in its language)."""
    if role.kind == AGENCY:
        agency = config.agency(role.agency_id)
        return agency.display if agency else role.agency_id
    if role.kind == DISPATCH:
        return config.dispatch.name
    return supervisor


def role_of_chat(config: Config, channel: str, chat_id: str, staff_channel: str) -> Role | None:
    """The staff role of a chat in this config, or None (a citizen's private chat, or a
    chat the config no longer names)."""
    if channel != staff_channel:
        return None
    if config.is_dispatch_chat(chat_id):
        return Role(DISPATCH)
    if config.is_supervisor_chat(chat_id):
        return Role(SUPERVISOR)
    agency = config.agency_for_chat(chat_id)
    return Role(AGENCY, agency.id) if agency is not None else None


def parse_command(text: str) -> tuple[str, str] | None:
    """`/balas@IcetaBot ICT-1 halo` -> ("reply", "ICT-1 halo"); ("unknown", …) for a
    command we do not know; None when the text is not a command at all.

    Any whitespace ends the command's name (a space, a tab, a line break, the
    no-break space some keyboards insert); the rest keeps its line breaks.
    """
    stripped = text.strip()
    if not stripped.startswith("/"):
        return None
    head, rest = _first_word(stripped)
    name = head[1:].split("@", 1)[0].lower()
    command = COMMANDS.get(name)
    return (command, rest.strip()) if command else ("unknown", rest.strip())


def _first_word(text: str) -> tuple[str, str]:
    """The first word and the rest, split at the first run of any whitespace."""
    parts = text.strip().split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


def handle_staff(session: Session, inbound: Inbound, role: Role) -> int | None:
    """Handle one message or button press in a staff chat; returns the ticket it concerned."""
    return _StaffChat(session, inbound, role).run()


class _StaffChat:
    def __init__(self, session: Session, inbound: Inbound, role: Role) -> None:
        self.session = session
        self.inbound = inbound
        self.role = role
        self.actor = f"staff:{role.key}:{inbound.sender_name or inbound.sender_id or '?'}"

    def say(
        self,
        key: str,
        ticket: Ticket | None = None,
        buttons: tuple[tuple[Button, ...], ...] = (),
        **values: object,
    ) -> None:
        self.session.tell_staff(
            self.inbound.chat_id, self.session.staff_text(key, **values), ticket, buttons
        )

    def run(self) -> int | None:
        if self.inbound.button_data:
            return self._button(self.inbound.button_data)
        parsed = parse_command(self.inbound.text)
        if parsed is not None:
            return self._command(*parsed)
        ticket = self._replied_ticket()
        if ticket is None:
            return None  # internal conversation among staff
        if not self._allowed(ticket):
            return ticket.id
        text = self.inbound.text.strip()
        photos = tuple(a for a in self.inbound.attachments if a.kind != "sticker")
        if not text and not photos:
            return ticket.id
        return self._do("reply", ticket, text, photos)

    # --- finding the ticket
    def _replied_ticket(self) -> Ticket | None:
        message_id = self.inbound.reply_to_message_id
        if not message_id:
            return None
        ticket_id = self.session.store.ticket_for_message(
            self.inbound.channel, self.inbound.chat_id, message_id
        )
        return self.session.store.ticket(ticket_id) if ticket_id else None

    def _allowed(self, ticket: Ticket) -> bool:
        if self.role.may_act_on(ticket):
            return True
        self.say("not_your_ticket", number=self.session.number(ticket))
        return False

    # --- commands
    def _command(self, command: str, rest: str) -> int | None:
        if command == "unknown":
            self.say("unknown_command")
            return None
        if command == "help":
            self._help()
            return None
        if command == "open":
            self._open_list()
            return None
        if command == "desk":
            self._desk_link()
            return None
        if command in ("overdue", "stats"):
            if self.role.kind != SUPERVISOR:
                self.say("supervisor_only")
                return None
            if command == "overdue":
                self._overdue()
            else:
                self._stats()
            return None
        ticket, rest = self._ticket_argument(rest)
        if ticket is None:
            return None
        if not self._allowed(ticket):
            return ticket.id
        photos = tuple(a for a in self.inbound.attachments if a.kind != "sticker")
        if command in _NEEDS_TEXT and not rest and not (command == "reply" and photos):
            key = "need_reason" if command in ("bounce", "reject") else "need_text"
            self.say(key, command=_LOCAL_NAME[command], number=self.session.number(ticket))
            return ticket.id
        return self._do(command, ticket, rest, photos)

    def _ticket_argument(self, rest: str) -> tuple[Ticket | None, str]:
        prefix = self.session.config.service.ticket_prefix
        first, remainder = _first_word(rest)
        ticket_id = parse_number(prefix, first) if first else None
        if ticket_id is None:
            # `ICT 42 text`: the prefix and the number as two words
            words = rest.split(None, 2)
            if len(words) >= 2 and words[0].upper() == prefix.upper():
                ticket_id = parse_number(prefix, words[0] + words[1])
                remainder = words[2] if len(words) > 2 else ""
        if ticket_id is not None:
            ticket = self.session.store.ticket(ticket_id)
            if ticket is None:
                self.say("unknown_ticket", number=self.session.number(ticket_id))
            return ticket, remainder.strip()
        replied = self._replied_ticket()
        if replied is not None:
            return replied, rest.strip()
        self.say("need_ticket", command="/balas", example=self.session.number(42))
        return None, rest

    def _do(
        self, command: str, ticket: Ticket, rest: str, photos: tuple[Attachment, ...] = ()
    ) -> int | None:
        session, number = self.session, self.session.number(ticket)
        try:
            if command == "reply":
                lifecycle.reply(session, ticket, self.actor, rest, photos)
                self.say("reply_sent", ticket, number=number)
            elif command == "claim":
                lifecycle.claim(session, ticket, self.actor)
            elif command == "close":
                asked = lifecycle.resolve(session, ticket, self.actor, rest, photos)
                if asked is None:
                    self.say("validation_requested_staff", ticket, number=number)
                else:
                    conversation.expect_fix_confirmation(session, asked)
                    self.say("resolved_staff", ticket, number=number)
            elif command in _VALIDATION:
                self._validate(command, ticket, rest)
            elif command == "classify":
                self._classify(ticket, rest)
            elif command == "note":
                lifecycle.note(session, ticket, self.actor, rest)
                self.say("note_saved", ticket, number=number)
            elif command == "ask":
                lifecycle.ask(session, ticket, self.actor, rest)
                self.say("asked_staff", ticket, number=number)
            elif command == "bounce":
                lifecycle.bounce(session, ticket, self.actor, rest)
                self.say(
                    "bounced_staff", ticket, number=number, dispatch=session.config.dispatch.name
                )
            elif command == "reject":
                lifecycle.reject(session, ticket, self.actor, rest)
                self.say("rejected_staff", ticket, number=number, reason=rest)
            elif command in ("transfer", "assign"):
                self._move(command, ticket, rest)
            elif command == "refer":
                self._refer(ticket, rest)
        except lifecycle.NotAllowed:
            self.say(
                "not_allowed_status",
                number=number,
                status=session.staff_text(f"staff_status_{ticket.status}"),
            )
        return ticket.id

    def _validate(self, command: str, ticket: Ticket, rest: str) -> None:
        """`/terima` or `/kembalikan <reason>` on a ticket awaiting validation."""
        session, number = self.session, self.session.number(ticket)
        if self.role.kind == AGENCY:
            self.say("validators_only", number=number)
            return
        if command == "accept":
            asked = lifecycle.accept_resolution(session, ticket, self.actor)
            conversation.expect_fix_confirmation(session, asked)
            self.say("accepted_staff", ticket, number=number)
        else:
            lifecycle.send_back(session, ticket, self.actor, rest)
            self.say("sent_back_staff", ticket, number=number, reason=rest)

    def _classify(self, ticket: Ticket, rest: str) -> None:
        """`/kelas <ticket> <class>`: the class sets the resolution deadline."""
        session = self.session
        wanted = rest.split(" ", 1)[0].lower() if rest else ""
        classes = session.config.sla.resolution_days
        if wanted not in classes:
            choices = ", ".join(f"{name} ({days})" for name, days in classes.items())
            self.say("unknown_class", number=session.number(ticket), choices=choices)
            return
        lifecycle.classify(session, ticket, self.actor, wanted)
        self.say(
            "classified_staff",
            ticket,
            number=session.number(ticket),
            kind=wanted,
            days=classes[wanted],
            deadline=session.time(ticket.resolution_deadline_at),
        )

    def _move(self, command: str, ticket: Ticket, rest: str) -> None:
        session = self.session
        agency_id = rest.split(" ", 1)[0].lower() if rest else ""
        reason = rest.split(" ", 1)[1] if " " in rest else ""
        if not agency_id:
            self._pick_agency(ticket)
            return
        if session.config.agency(agency_id) is None:
            choices = ", ".join(a.id for a in session.config.agencies)
            self.say("unknown_agency", agency=agency_id[:40], choices=choices)
            return
        if agency_id == ticket.agency_id:
            self.say(
                "same_agency", number=session.number(ticket), agency=session.agency_name(agency_id)
            )
            return
        if ticket.status == Status.NEW:
            lifecycle.assign(session, ticket, agency_id, self.actor)
        else:
            lifecycle.transfer(session, ticket, agency_id, self.actor, reason)
            self.say(
                "transferred_staff",
                ticket,
                number=session.number(ticket),
                agency=session.agency_name(agency_id),
            )

    def _pick_agency(self, ticket: Ticket) -> None:
        action = "assign" if ticket.status == Status.NEW else "transfer"
        rows = tuple(
            (Button(agency.name, f"{action}:{ticket.id}:{agency.id}"),)
            for agency in self.session.config.agencies
            if agency.id != ticket.agency_id
        )
        self.say("pick_agency", ticket, rows, number=self.session.number(ticket))

    def _refer(self, ticket: Ticket, rest: str) -> None:
        session = self.session
        referral_id = rest.split(" ", 1)[0].lower() if rest else ""
        referral = session.config.referral(referral_id) if referral_id else None
        if referral is None:
            rows = tuple(
                (Button(r.name, f"refer:{ticket.id}:{r.id}"),) for r in session.config.referrals
            )
            self.say("pick_referral", ticket, rows, number=session.number(ticket))
            return
        lifecycle.refer(session, ticket, self.actor, referral.name, referral.contact)
        self.say("referred_staff", ticket, number=session.number(ticket), name=referral.name)

    # --- card buttons
    def _button(self, data: str) -> int | None:
        parts = data.split(":")
        ticket_id = parse_id(parts[1]) if len(parts) >= 2 else None
        if ticket_id is None:
            return None
        action, ticket = parts[0], self.session.store.ticket(ticket_id)
        if ticket is None:
            return None
        if not self._allowed(ticket):
            return ticket.id
        argument = parts[2] if len(parts) > 2 else ""
        number = self.session.number(ticket)
        if action in ("claim",):
            return self._do("claim", ticket, "")
        if action == "resolve":
            return self._do("close", ticket, "")
        if action == "accept":
            return self._do("accept", ticket, "")
        if action == "sendback":
            self.say("need_reason", ticket, command=_LOCAL_NAME["send_back"], number=number)
            return ticket.id
        if action in ("transfer", "assign", "route"):
            return self._do("assign" if action == "route" else action, ticket, argument)
        if action == "refer":
            return self._do("refer", ticket, argument)
        if action in ("bounce", "reject"):
            self.say("need_reason", ticket, command=_LOCAL_NAME[action], number=number)
            return ticket.id
        return None

    # --- the web desk
    def _desk_link(self) -> None:
        """A one-time sign-in link for the desk with this chat's role, to the person who
        asked: privately when they have a chat with the bot, else in this chat."""
        session, inbound = self.session, self.inbound
        name = inbound.sender_name or inbound.sender_id or "?"
        token = session.store.issue_desk_link(
            self.role.kind,
            self.role.agency_id,
            inbound.channel,
            inbound.chat_id,
            name[:80],
            session.now,
            DESK_LINK_LIFETIME,
        )
        role = role_display(session.config, self.role, session.staff_text("desk_role_supervisor"))
        text = session.staff_text(
            "desk_link",
            service=session.config.service.name,
            role=role,
            name=name,
            url=f"{session.config.service.base_url}/desk/login/{token}",
            minutes=int(DESK_LINK_LIFETIME.total_seconds() // 60),
        )
        private = inbound.sender_id
        if (
            private
            and private != inbound.chat_id
            and session.store.conversation(inbound.channel, private)
        ):
            session.tell_staff(private, text, topic="desk_link")
            self.say("desk_link_private", name=name)
        else:
            session.tell_staff(inbound.chat_id, text, topic="desk_link")

    # --- lists
    def _help(self) -> None:
        heading = {DISPATCH: "help_heading_dispatch", SUPERVISOR: "help_heading_supervisor"}
        text = self.session.staff_text(heading.get(self.role.kind, "help_heading_agency"))
        self.session.tell_staff(self.inbound.chat_id, text + self.session.staff_text("staff_help"))

    def _open_list(self) -> None:
        session = self.session
        if self.role.kind == AGENCY:
            tickets = session.store.agency_open_tickets(self.role.agency_id)
        elif self.role.kind == DISPATCH:
            tickets = session.store.agency_open_tickets("")
        else:
            tickets = session.store.all_open_tickets()
        if not tickets:
            self.say("open_none")
            return
        lines = [session.staff_text("open_header", count=len(tickets))]
        for ticket in tickets[:50]:
            lines.append(
                session.staff_text(
                    "open_item",
                    number=session.number(ticket),
                    category=session.category_label(ticket.category_id, session.staff_language),
                    status=session.staff_text(f"staff_status_{ticket.status}"),
                    due=self._due(ticket),
                )
            )
        session.tell_staff(self.inbound.chat_id, "\n".join(lines))

    def _due(self, ticket: Ticket) -> str:
        session = self.session
        language = session.staff_language
        if ticket.deadline_at is None or ticket.first_response_at is not None:
            return session.staff_text("due_none")
        if ticket.paused_at is not None:  # waiting for the citizen: the clock stands still
            left = format_duration(ticket.deadline_at - ticket.paused_at, language)
            return session.staff_text("due_paused", left=left)
        if ticket.deadline_at >= session.now:
            return session.staff_text(
                "due_in", left=format_duration(ticket.deadline_at - session.now, language)
            )
        return session.staff_text(
            "due_over", late=format_duration(session.now - ticket.deadline_at, language)
        )

    def _overdue(self) -> None:
        deadlines.tell_overdue(self.session, self.inbound.chat_id)

    def _stats(self) -> None:
        deadlines.tell_stats(self.session, self.inbound.chat_id)
