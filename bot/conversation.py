"""The citizen conversation of docs/contract.md §4, the same on every channel.

A state machine over `Conversation` rows: each inbound message moves the
citizen one step and produces what the bot says back. Choices are numbered
(typed numbers always work); the buttons carry the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from bot import lifecycle
from bot.catalog import say
from bot.config import Category, Config, Referral
from bot.language import GREETING, SUSPICIOUS, THANKS, message_kind, word_set
from bot.model import (
    RESOLUTION_PENDING,
    Attachment,
    Button,
    Conversation,
    Inbound,
    Location,
    Outbound,
    Status,
    Ticket,
)
from bot.routing import Matcher, best, routing_options
from bot.session import Session
from bot.tickets import find_number, parse_id, parse_number

FAST_PATH_LENGTH = 15  # idle text this long is taken as the complaint itself
MIN_DESCRIPTION = 10
MAX_DESCRIPTION = 4000  # a complaint in many bubbles stops growing here
MAX_PICK = 3

GREETINGS = {
    "/start",
    "start",
    "halo",
    "hallo",
    "hai",
    "hi",
    "hello",
    "p",
    "assalamualaikum",
    "assalamu'alaikum",
    "selamat pagi",
    "selamat siang",
    "selamat sore",
    "selamat malam",
}
CANCEL_WORDS = {"batal", "cancel", "/batal", "/cancel"}
MENU_WORDS = {"menu", "/menu"}
HELP_WORDS = {"bantuan", "help", "/help", "/bantuan"}
STATUS_WORDS = {"status", "/status", "cek", "cek status"}
SKIP_WORDS = {"0", "lewati", "skip"}
DONE_WORDS = {"selesai", "done", "sudah"}
STOP_WORDS = {"stop", "berhenti", "unsubscribe"}
RESUME_WORDS = {"mulai", "start", "unstop"}
LANGUAGE_WORDS = {"english": "en", "inggris": "en", "indonesia": "id", "bahasa": "id"}

# The conversation's states (stored as text on the conversation row); what each
# accepts and where it goes is the table `STATES` at the end of this module.
IDLE = "idle"
CONFIRM_COMPLAINT = "confirm_complaint"
DESCRIPTION = "description"
PICK_TICKET = "pick_ticket"
CATEGORY = "category"
LOCATION = "location"
PHOTO = "photo"
CONFIRM = "confirm"
CONFIRM_FIX = "confirm_fix"
RATE = "rate"
RATE_COMMENT = "rate_comment"
# Words that show a typed location is an address, not more of the complaint.
ADDRESS_WORDS = word_set(
    """
    jl jln jalan gg gang blok rt rw no nomor desa ds kelurahan kel kecamatan kec dusun
    dukuh kampung kp perum perumahan komplek kompleks depan dekat samping belakang
    sebelah seberang pertigaan perempatan simpang pasar masjid musala mushola sekolah
    sdn smpn kantor balai km gedung lapangan terminal stasiun pantai sungai kali
    """
)
ADDRESS_MAX_WORDS = 6  # a short text at the location step is taken as the address


def awaits_answer(conversation: Conversation | None) -> bool:
    """Whether the citizen's next message answers a question the conversation asked (is
    it fixed, a rating, a step of a draft) rather than being a message of its own."""
    return conversation is not None and conversation.state != IDLE


def handle_citizen(session: Session, inbound: Inbound) -> int | None:
    """Run one citizen message through the conversation; returns the ticket it concerned."""
    store = session.store
    conversation = store.conversation(inbound.channel, inbound.chat_id) or Conversation(
        inbound.channel, inbound.chat_id
    )
    chat = _Chat(session, conversation, inbound)
    ticket_id = chat.run()
    conversation.updated_at = session.now
    conversation.last_inbound_at = session.now
    store.save_conversation(conversation)
    return ticket_id


class _Chat:
    """One citizen message being handled: the conversation, the message, the replies."""

    def __init__(self, session: Session, conversation: Conversation, inbound: Inbound) -> None:
        self.session = session
        self.conversation = conversation
        self.inbound = inbound
        if inbound.sender_name:
            conversation.name = inbound.sender_name
        if inbound.phone:
            conversation.phone = inbound.phone
        self.text = (inbound.button_data or inbound.text or "").strip()
        self.word = " ".join(self.text.lower().split())

    # --- saying
    @property
    def language(self) -> str:
        return self.conversation.language or self.session.config.service.language

    def t(self, key: str, **values: object) -> str:
        return say(self.language, key, **values)

    def reply(
        self,
        text: str,
        buttons: tuple[tuple[Button, ...], ...] = (),
        ticket_id: int | None = None,
        essential: bool = True,
    ) -> None:
        self.session.send(
            Outbound(
                channel=self.inbound.channel,
                chat_id=self.inbound.chat_id,
                text=text,
                buttons=buttons,
                ticket_id=ticket_id,
                essential=essential,
                topic="conversation",
            )
        )

    def number(self, ticket_id: int) -> str:
        return self.session.number(ticket_id)

    # --- the dispatcher
    def run(self) -> int | None:
        conversation = self.conversation
        self._expire_stale_draft()
        data = self.inbound.button_data
        if data.startswith("fixed:"):
            return self._confirm_from_button(data)
        if self.word in STOP_WORDS:
            conversation.opted_out = True
            self.reply(self.t("opted_out"))
            return None
        if conversation.opted_out and self.word in RESUME_WORDS:
            conversation.opted_out = False
            self.reply(self.t("opted_in"))
            return None
        if self.word in LANGUAGE_WORDS:
            conversation.language = LANGUAGE_WORDS[self.word]
            self.reply(self.t("language_set") + "\n\n" + self.t("menu"), self._menu_buttons())
            return None
        if self.word in CANCEL_WORDS:
            self._cancel()
            return None
        if self._only_stickers():
            self.reply(self.t("sticker_reply"))
            return None
        if (
            self.word in MENU_WORDS
            or self.word in GREETINGS
            or (conversation.state not in DRAFT_STATES and message_kind(self.text) == GREETING)
        ):
            self._drop_draft(announce=True)
            self._welcome()
            return None
        if self.word in HELP_WORDS:
            self._help()
            return None
        if self._is_status_request():
            return self._status()
        replied_ticket = self._replied_ticket()
        if replied_ticket is not None and conversation.state not in DRAFT_STATES - {PICK_TICKET}:
            self._set_idle()
            self._follow_up(replied_ticket)
            return replied_ticket.id
        return STATES.get(conversation.state, STATES[IDLE]).handle(self)

    # --- words that work everywhere
    def _expire_stale_draft(self) -> None:
        conversation = self.conversation
        hours = self.session.config.sla.draft_expiry_hours
        if (
            conversation.state in DRAFT_STATES
            and conversation.updated_at is not None
            and self.session.now - conversation.updated_at > timedelta(hours=hours)
        ):
            self._set_idle()
            self.reply(self.t("draft_expired", hours=_hours(hours)))

    def _cancel(self) -> None:
        had_draft = self.conversation.state in DRAFT_STATES
        self._drop_draft(announce=False)
        self.reply(
            (self.t("cancelled") if had_draft else self.t("nothing_to_cancel"))
            + "\n\n"
            + self.t("menu"),
            self._menu_buttons(),
        )
        self._after_idle()

    def _drop_draft(self, announce: bool) -> None:
        if self.conversation.state in DRAFT_STATES and announce:
            self.reply(self.t("cancelled"))
        if self.conversation.state in DRAFT_STATES or self.conversation.state in (
            RATE,
            RATE_COMMENT,
        ):
            self._set_idle()

    def _set_idle(self) -> None:
        self.conversation.state = IDLE
        self.conversation.draft = {}
        for key in ("ticket", "pending", "pick"):
            self.conversation.context.pop(key, None)

    def _welcome(self) -> None:
        service = self.session.config.service.name
        if not self.conversation.welcomed:
            text = self.t("welcome_first", service=service)
            self.conversation.welcomed = True
        else:
            name = f" {self.conversation.name}" if self.conversation.name else ""
            text = self.t("welcome_again", service=service, name=name)
        self.reply(text + "\n\n" + self.t("menu"), self._menu_buttons())
        self._after_idle()

    def _menu_buttons(self) -> tuple[tuple[Button, ...], ...]:
        return (
            (Button("1. " + self.t("menu_new"), "1"),),
            (Button("2. " + self.t("menu_status"), "2"),),
            (Button("3. " + self.t("menu_help"), "3"),),
        )

    def _help(self) -> None:
        hours = _hours(self.session.config.sla.response_hours)
        self.reply(self.t("help", service=self.session.config.service.name, hours=hours))

    # --- status
    def _is_status_request(self) -> bool:
        first = self.word.split(" ", 1)[0] if self.word else ""
        if self.word in STATUS_WORDS:
            return True
        if first == "cek" and len(self.word) > len(first):  # "cek ICT-42", not "cek info di …"
            return find_number(self.session.config.service.ticket_prefix, self.text) is not None
        return first in {"status", "/status"} and len(self.word) > len(first)

    def _status(self) -> int | None:
        session = self.session
        prefix = session.config.service.ticket_prefix
        rest = self.text.split(None, 1)[1] if len(self.text.split(None, 1)) > 1 else ""
        if rest:
            wanted = parse_number(prefix, rest) or find_number(prefix, rest)
            ticket = session.store.ticket(wanted) if wanted else None
            if ticket is None or not self._owns(ticket):
                shown = session.number(wanted) if wanted else rest.strip()[:30]
                self.reply(self.t("status_not_found", number=shown))
                return None
            self.reply(self._ticket_detail(ticket), ticket_id=ticket.id)
            return ticket.id
        self._list_tickets()
        return None

    def _owns(self, ticket: Ticket) -> bool:
        return (ticket.citizen_channel, ticket.citizen_chat_id) == (
            self.inbound.channel,
            self.inbound.chat_id,
        )

    def _list_tickets(self) -> None:
        tickets = self.session.store.citizen_tickets(self.inbound.channel, self.inbound.chat_id)
        if not tickets:
            self.reply(self.t("status_none"))
            return
        lines = [self.t("status_header")]
        for ticket in tickets[:10]:
            lines.append(
                self.t(
                    "status_item",
                    number=self.number(ticket.id or 0),
                    agency=self.session.agency_name(ticket.agency_id),
                    status=self.t(f"status_{ticket.status}"),
                    deadline=self._deadline_suffix(ticket, "status_deadline"),
                )
            )
        if len(tickets) > 10:
            lines.append(self.t("status_more", count=len(tickets) - 10))
        self.reply("\n".join(lines))

    def _deadline_suffix(self, ticket: Ticket, key: str) -> str:
        if ticket.status != Status.ASSIGNED or ticket.deadline_at is None:
            return ""
        if ticket.is_late(self.session.now):
            key += "_late"
        return self.t(key, deadline=self.session.time(ticket.deadline_at, self.language))

    def _ticket_detail(self, ticket: Ticket) -> str:
        session = self.session
        return self.t(
            "status_detail",
            number=session.number(ticket),
            category=session.category_label(ticket.category_id, self.language),
            agency=session.agency_name(ticket.agency_id),
            status=self.t(f"status_{ticket.status}"),
            created=session.time(ticket.created_at, self.language),
            deadline=self._deadline_suffix(ticket, "status_detail_deadline")
            + self._resolution_suffix(ticket),
            description=ticket.description[:500],
        )

    def _resolution_suffix(self, ticket: Ticket) -> str:
        """The resolution deadline while the fix is still owed."""
        if ticket.resolution_deadline_at is None or ticket.status not in RESOLUTION_PENDING:
            return ""
        key = "status_detail_resolution"
        if ticket.is_resolution_late(self.session.now):
            key += "_late"
        return self.t(key, deadline=self.session.time(ticket.resolution_deadline_at, self.language))

    # --- follow-ups to open tickets
    def _replied_ticket(self) -> Ticket | None:
        message_id = self.inbound.reply_to_message_id
        if not message_id:
            return None
        ticket_id = self.session.store.ticket_for_message(
            self.inbound.channel, self.inbound.chat_id, message_id
        )
        ticket = self.session.store.ticket(ticket_id) if ticket_id else None
        if ticket is None or not self._owns(ticket) or not ticket.is_open:
            return None
        return ticket

    def _follow_up(
        self,
        ticket: Ticket,
        text: str | None = None,
        attachments: tuple[Attachment, ...] | None = None,
    ) -> None:
        body = self.text if text is None else text
        files = self.inbound.attachments if attachments is None else attachments
        lifecycle.citizen_follow_up(self.session, ticket, body, tuple(files))
        self.reply(
            self.t(
                "follow_up_sent",
                number=self.session.number(ticket),
                agency=self.session.agency_name(ticket.agency_id),
            ),
            ticket_id=ticket.id,
        )

    # --- idle
    def _on_idle(self) -> int | None:
        inbound = self.inbound
        if self.word == "1":
            self._start_draft()
            self.reply(self.t("ask_description"))
            return None
        if self.word == "2":
            self._list_tickets()
            return None
        if self.word == "3":
            self._help()
            return None
        files = self._files()
        if inbound.location is not None or files:
            self._start_draft()
            self._take_files(files)
            if inbound.location is not None:
                self.conversation.draft["location"] = inbound.location.to_dict()
            if len(self.text) >= MIN_DESCRIPTION:
                self.conversation.draft["description"] = self.text
                self._ask_category()
            else:
                self.reply(self._received_files(files) + " " + self.t("ask_text_too"))
            return None
        if not self.text:
            self.reply(self.t("empty_message") + "\n" + self.t("menu_hint"))
            return None
        kind = message_kind(self.text)
        if kind == THANKS:
            self.reply(self.t("thanks_reply"))
            return None
        if kind == SUSPICIOUS:
            self._ask_is_complaint()
            return None
        if len(self.text) < FAST_PATH_LENGTH:
            self._welcome()
            return None
        open_tickets = self.session.store.citizen_tickets(
            inbound.channel, inbound.chat_id, open_only=True
        )
        if open_tickets:
            self._ask_which_ticket(open_tickets[:MAX_PICK])
            return None
        self._start_draft()
        self.conversation.draft["description"] = self.text
        self._ask_category()
        return None

    def _files(self) -> list[Attachment]:
        return [a for a in self.inbound.attachments if a.kind != "sticker"]

    def _only_stickers(self) -> bool:
        """A sticker and nothing else: not evidence, and not a message to act on."""
        inbound = self.inbound
        return (
            bool(inbound.attachments)
            and not self.text
            and inbound.location is None
            and all(a.kind == "sticker" for a in inbound.attachments)
        )

    def _received_files(self, files: list[Attachment]) -> str:
        """What the bot says of attachments it took: contacts by name."""
        contacts = [a for a in files if a.kind == "contact"]
        if contacts and len(contacts) == len(files):
            names = [
                a.name or a.ref.removeprefix("tel:")
                for a in contacts
                if a.name or a.ref.startswith("tel:")
            ]
            if len(names) == len(contacts):
                return self.t("contact_received", name=", ".join(names))
            return self.t("contact_card_received")  # a vCard file: read when it arrives
        return self.t("attachment_received_short")

    # --- is this a complaint? (links, bank accounts, pulsa)
    def _ask_is_complaint(self) -> None:
        conversation = self.conversation
        conversation.state = CONFIRM_COMPLAINT
        conversation.context["pending"] = {
            "text": self.text,
            "attachments": [a.to_dict() for a in self._files()],
        }
        self.reply(
            self.t("is_it_a_complaint"),
            (
                (Button("1. " + self.t("is_complaint_yes"), "1"),),
                (Button("2. " + self.t("is_complaint_no"), "2"),),
            ),
        )

    def _on_confirm_complaint(self) -> int | None:
        pending = self.conversation.context.get("pending", {})
        if self.word == "1":
            self._start_draft()
            self.conversation.draft["description"] = pending.get("text", "")
            self._take_files([Attachment.from_dict(a) for a in pending.get("attachments", [])])
            self._ask_category()
            return None
        self._set_idle()
        if self.word == "2":
            self.reply(self.t("not_a_complaint") + "\n" + self.t("menu_hint"))
            return None
        return self._on_idle()  # they moved on: read this message afresh

    # --- a complaint in several bubbles
    def _add_to_description(self, text: str) -> bool:
        """Append a further bubble of the complaint to the draft's description."""
        draft = self.conversation.draft
        current = draft.get("description", "")
        if len(current) >= MAX_DESCRIPTION:
            return False
        joined = f"{current}\n{text}" if current else text
        draft["description"] = joined[:MAX_DESCRIPTION]
        return True

    def _more_of_the_complaint(self) -> bool:
        """Whether this text, not a valid choice at this step, continues the complaint."""
        return len(self.text) >= MIN_DESCRIPTION and not self.word.isdecimal()

    def _adds_to_the_complaint(self) -> bool:
        """More text of the complaint, or files or a location sent at a choice step."""
        return (
            self._more_of_the_complaint()
            or bool(self._files())
            or self.inbound.location is not None
        )

    def _take_bubble(self) -> str:
        """Add this message's text and files to the draft; the line that says so."""
        files = self._files()
        self._take_files(files)
        said = []
        if files:
            said.append(self._received_files(files))
        if self.text and self._add_to_description(self.text):
            said.append(self.t("added_to_description"))
        if self.inbound.location is not None:
            self.conversation.draft["location"] = self.inbound.location.to_dict()
            said.append(self.t("location_received"))
        return " ".join(said)

    def _take_files(self, files: list[Attachment]) -> None:
        stored = self.conversation.draft.setdefault("attachments", [])
        stored.extend(a.to_dict() for a in files)

    def _start_draft(self) -> None:
        self.conversation.state = DESCRIPTION
        # when it began: what is said from now on is this complaint's (the desk's timeline)
        self.conversation.draft = {"started": self.session.now.isoformat()}

    def _after_idle(self) -> None:
        """Back to idle: ask about a resolved ticket still waiting for the citizen's word."""
        conversation = self.conversation
        if conversation.state != IDLE:
            return
        for ticket_id in list(conversation.context.get("confirm_queue", [])):
            ticket = self.session.store.ticket(ticket_id)
            if ticket is None or ticket.status != Status.RESOLVED:
                conversation.context["confirm_queue"].remove(ticket_id)
                continue
            conversation.state = CONFIRM_FIX
            conversation.context["ticket"] = ticket_id
            self.reply(
                self.t(
                    "resolved_ask",
                    number=self.session.number(ticket),
                    agency=self.session.agency_name(ticket.agency_id),
                    note="",
                ),
                lifecycle.confirm_buttons(ticket, self.language),
                ticket_id=ticket_id,
            )
            return

    # --- which ticket is this about?
    def _ask_which_ticket(self, tickets: list[Ticket]) -> None:
        conversation = self.conversation
        conversation.state = PICK_TICKET
        conversation.context["pick"] = [t.id for t in tickets]
        conversation.context["pending"] = {
            "text": self.text,
            "attachments": [a.to_dict() for a in self._files()],
        }
        lines = [self.t("which_ticket")]
        buttons: list[tuple[Button, ...]] = []
        for index, ticket in enumerate(tickets, start=1):
            line = self.t(
                "ticket_line",
                number=self.session.number(ticket),
                agency=self.session.agency_name(ticket.agency_id),
                status=self.t(f"status_{ticket.status}"),
            )
            lines.append(f"{index}. {line}")
            buttons.append((Button(f"{index}. {self.session.number(ticket)}", str(index)),))
        new_label = self.t("which_ticket_new")
        lines.append(f"0. {new_label}")
        buttons.append((Button(f"0. {new_label}", "0"),))
        self.reply("\n".join(lines), tuple(buttons))

    def _on_pick_ticket(self) -> int | None:
        conversation = self.conversation
        choices: list[int] = conversation.context.get("pick", [])
        pending = conversation.context.get("pending", {})
        text = pending.get("text", "")
        files = tuple(Attachment.from_dict(a) for a in pending.get("attachments", []))
        if self.word == "0":
            self._start_draft()
            conversation.draft["description"] = text
            self._take_files(list(files))
            self._ask_category()
            return None
        if self.word.isdecimal() and 1 <= int(self.word) <= len(choices):
            ticket = self.session.store.ticket(choices[int(self.word) - 1])
            self._set_idle()
            if ticket is not None and ticket.is_open:
                self._follow_up(ticket, text, files)
                self._after_idle()
                return ticket.id
            self._welcome()
            return None
        self.reply(self.t("invalid_choice"))
        return None

    # --- writing a complaint
    def _on_description(self) -> int | None:
        files = self._files()
        self._take_files(files)
        if self.inbound.location is not None:
            self.conversation.draft["location"] = self.inbound.location.to_dict()
        if len(self.text) >= MIN_DESCRIPTION:
            self.conversation.draft["description"] = self.text
            self._ask_category()
        elif files:
            self.reply(self._received_files(files) + " " + self.t("ask_text_too"))
        elif self.inbound.location is not None:
            self.reply(self.t("attachment_received"))
        else:
            self.reply(self.t("description_too_short", min=MIN_DESCRIPTION))
        return None

    def _ask_category(self, before: str = "") -> None:
        """The category question, suggestions first (in score order, ⭐ on the best);
        a complaint that is best handled outside the regency is told where to go."""
        self.conversation.state = CATEGORY
        config = self.session.config
        matcher = matcher_for(config)
        description = self.conversation.draft.get("description", "")
        found = matcher.suggest(description)
        top = best(found)
        referral = top[0].option if top and isinstance(top[0].option, Referral) else None
        categories = [s for s in found if isinstance(s.option, Category)]
        starred = {s.option.id for s in best(categories)} if referral is None else set()
        ranked = tuple((s.option.id, s.option.id in starred) for s in categories)
        text, buttons = _memo(
            config,
            ("category_menu", self.language, ranked),
            lambda: _category_menu(config, self.language, ranked),
        )
        lead = [before] if before else []
        if referral is not None:
            lead.append(self.t("referral_suggested", name=referral.name, contact=referral.contact))
        self.reply("\n\n".join([*lead, text]), buttons)

    def _on_category(self) -> int | None:
        categories = self.session.config.categories
        if self._adds_to_the_complaint():
            self._ask_category(before=self._take_bubble())
            return None
        if self.word.isdecimal() and 0 <= int(self.word) <= len(categories):
            choice = int(self.word)
            self.conversation.draft["category"] = categories[choice - 1].id if choice else ""
            self.conversation.state = LOCATION
            if self.conversation.draft.get("location"):
                return self._ask_photo()
            self.reply(self.t("ask_location"), ((Button("0. " + self.t("skip"), "0"),),))
            return None
        self.reply(self.t("invalid_choice"))
        return None

    def _on_location(self) -> int | None:
        draft = self.conversation.draft
        files = self._files()
        if self.inbound.location is not None:
            draft["location"] = self.inbound.location.to_dict()
            return self._ask_photo()
        if files:
            self._take_files(files)
            self.reply(self.t("ask_location"))
            return None
        if self.word in SKIP_WORDS:
            return self._ask_photo()
        if self.text and not self._reads_as_address():
            self.reply(
                self._take_bubble() + "\n\n" + self.t("ask_location"),
                ((Button("0. " + self.t("skip"), "0"),),),
            )
            return None
        if self.text:
            draft["location"] = Location(address=self.text[:500]).to_dict()
            return self._ask_photo()
        self.reply(self.t("ask_location"))
        return None

    def _reads_as_address(self) -> bool:
        """A short text, or one with address words (jl., desa, depan …), is the address;
        a longer sentence without any is more of the complaint."""
        words = self.word.replace(".", " ").replace(",", " ").split()
        return len(words) <= ADDRESS_MAX_WORDS or any(w in ADDRESS_WORDS for w in words)

    def _ask_photo(self) -> None:
        self.conversation.state = PHOTO
        self.reply(self.t("ask_photo"), ((Button("0. " + self.t("skip"), "0"),),))

    def _on_photo(self) -> int | None:
        files = self._files()
        if files:
            self._take_files(files)
            count = len(self.conversation.draft.get("attachments", []))
            said = self.t("photo_received", count=count)
            if self.text and self._add_to_description(self.text):  # a caption
                said = self.t("added_to_description") + " " + said
            self.reply(said, ((Button(self.t("done"), "selesai"),),))
            return None
        if self.word in SKIP_WORDS or self.word in DONE_WORDS:
            return self._ask_confirm()
        if self._more_of_the_complaint():
            self.reply(
                self._take_bubble() + "\n\n" + self.t("photo_prompt"),
                ((Button(self.t("done"), "selesai"),),),
            )
            return None
        if self.inbound.location is not None:
            self.conversation.draft["location"] = self.inbound.location.to_dict()
        self.reply(self.t("photo_prompt"), ((Button(self.t("done"), "selesai"),),))
        return None

    def _ask_confirm(self, before: str = "") -> None:
        draft = self.conversation.draft
        self.conversation.state = CONFIRM
        location = Location.from_dict(draft.get("location"))
        if location is None:
            where = self.t("summary_no_location")
        else:
            where = location.address or self.t("summary_shared_location")
        summary = self.t(
            "summary",
            category=self.session.category_label(draft.get("category", ""), self.language),
            description=draft.get("description", ""),
            location=where,
            attachments=len(draft.get("attachments", [])),
        )
        buttons = (
            (Button("1. " + self.t("confirm_send"), "1"),),
            (Button("2. " + self.t("confirm_send_confidential"), "2"),),
            (Button("3. " + self.t("confirm_cancel"), "3"),),
        )
        lead = before + "\n\n" if before else ""
        self.reply(lead + summary + "\n\n" + self.t("confirm_choices"), buttons)

    def _on_confirm(self) -> int | None:
        if self.word == "3":
            self._cancel()
            return None
        if self.word not in {"1", "2"} and self._adds_to_the_complaint():
            self._ask_confirm(before=self._take_bubble())
            return None
        if self.word not in {"1", "2"}:
            self.reply(self.t("invalid_choice"))
            return None
        return self._file(confidential=self.word == "2")

    def _file(self, confidential: bool) -> int | None:
        session, draft, conversation = self.session, self.conversation.draft, self.conversation
        ticket = lifecycle.file_ticket(
            session,
            Ticket(
                id=None,
                citizen_channel=self.inbound.channel,
                citizen_chat_id=self.inbound.chat_id,
                citizen_name=conversation.name,
                citizen_phone=conversation.phone,
                description=draft.get("description", ""),
                created_at=session.now,
                category_id=draft.get("category", ""),
                confidential=confidential,
                location=Location.from_dict(draft.get("location")),
                attachments=[Attachment.from_dict(a) for a in draft.get("attachments", [])],
                language=self.language,
            ),
        )
        assert ticket.id is not None
        started = draft.get("started")
        if isinstance(started, str):
            session.store.link_messages(
                ticket.citizen_channel,
                ticket.citizen_chat_id,
                datetime.fromisoformat(started),
                ticket.id,
            )
        number = session.number(ticket)
        if ticket.agency_id:
            text = self.t(
                "acknowledged",
                number=number,
                agency=session.agency_name(ticket.agency_id),
                deadline=session.time(ticket.deadline_at, self.language),
            )
        else:
            text = self.t(
                "acknowledged_dispatch", number=number, dispatch=session.config.dispatch.name
            )
        if confidential:
            text += "\n" + self.t("acknowledged_confidential")
        self._set_idle()
        self.reply(text, ticket_id=ticket.id)
        self._after_idle()
        return ticket.id

    # --- after the agency resolves
    def _confirm_from_button(self, data: str) -> int | None:
        parts = data.split(":")
        ticket_id = parse_id(parts[1]) if len(parts) == 3 else None
        if ticket_id is None:
            self.reply(self.t("invalid_choice"))
            return None
        self.conversation.context["ticket"] = ticket_id
        self.word = parts[2]
        return self._on_confirm_fix()

    def _on_confirm_fix(self) -> int | None:
        conversation = self.conversation
        ticket_id = conversation.context.get("ticket")
        ticket = self.session.store.ticket(ticket_id) if ticket_id else None
        if ticket is None or not self._owns(ticket) or ticket.status != Status.RESOLVED:
            self._forget_confirmation(ticket_id)
            return self._on_idle()
        if self.word not in {"1", "2"} and message_kind(self.text) == THANKS:
            self.word = "1"  # "terima kasih, sudah diperbaiki" answers the question
        if self.word not in {"1", "2"}:
            self.reply(self.t("invalid_choice"), lifecycle.confirm_buttons(ticket, self.language))
            return ticket.id
        self._forget_confirmation(ticket.id)
        if self.word == "2":
            lifecycle.reopen(self.session, ticket)
            self._set_idle()
            self._after_idle()
            return ticket.id
        lifecycle.confirm_fixed(self.session, ticket)
        if conversation.opted_out:  # a rating prompt is not essential: skip it
            self._set_idle()
            self.reply(
                self.t("closed_thanks", number=self.session.number(ticket)), ticket_id=ticket.id
            )
            self._after_idle()
            return ticket.id
        conversation.state = RATE
        conversation.context["ticket"] = ticket.id
        buttons = (tuple(Button(str(score), str(score)) for score in range(1, 6)),)
        self.reply(
            self.t("ask_rating", number=self.session.number(ticket)),
            buttons,
            ticket.id,
            essential=False,
        )
        return ticket.id

    def _forget_confirmation(self, ticket_id: int | None) -> None:
        queue = self.conversation.context.get("confirm_queue", [])
        if ticket_id in queue:
            queue.remove(ticket_id)
        if self.conversation.state == CONFIRM_FIX:
            self._set_idle()

    def _on_rate(self) -> int | None:
        ticket_id = self.conversation.context.get("ticket")
        if not self.word.isdecimal() or not 1 <= int(self.word) <= 5 or ticket_id is None:
            if not self.word.isdecimal() and len(self.text) >= FAST_PATH_LENGTH:
                self._set_idle()  # they moved on to something else
                return self._on_idle()
            self.reply(self.t("rating_range", number=self.session.number(ticket_id or 0)))
            return ticket_id
        self.session.store.add_rating(ticket_id, int(self.word), "", self.session.now)
        self.conversation.state = RATE_COMMENT
        self.conversation.context["score"] = int(self.word)
        self.reply(self.t("ask_rating_comment"), ((Button("0. " + self.t("skip"), "0"),),))
        return ticket_id

    def _on_rate_comment(self) -> int | None:
        conversation = self.conversation
        ticket_id = conversation.context.get("ticket")
        score = int(conversation.context.pop("score", 0))
        comment = "" if self.word in SKIP_WORDS else self.text[:1000]
        ticket = self.session.store.ticket(ticket_id) if ticket_id else None
        self._set_idle()
        if ticket is None:
            return self._on_idle()
        if score:
            self.session.store.add_rating(ticket_id, score, comment, self.session.now)
            self.session.record(
                ticket,
                f"citizen:{ticket.citizen_channel}",
                "rated",
                from_status=ticket.status,
                detail=f"{score}/5 {comment}".strip(),
            )
            self.session.store.save_ticket(ticket)
            self.session.tell_staff(
                self.session.holder_chat(ticket),
                self.session.staff_text(
                    "rated_staff",
                    number=self.session.number(ticket),
                    score=score,
                    comment=f" — {comment}" if comment else "",
                ),
                ticket,
            )
        self.reply(self.t("rating_thanks", number=self.session.number(ticket)), ticket_id=ticket.id)
        self._after_idle()
        return ticket.id


def _hours(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


R = TypeVar("R")


def matcher_for(config: Config) -> Matcher[Category | Referral]:
    """The category matcher of `config`, built once (about a second for the shipped
    config's examples); `serve` builds it at start so no citizen waits for it."""
    return _memo(config, ("matcher",), lambda: Matcher(routing_options(config)))


def _memo(config: Config, key: tuple[object, ...], build: Callable[[], R]) -> R:
    """`build()`, kept in `config.memo` under `key` (the config never changes)."""
    found = config.memo.get(key)
    if found is None:
        found = build()
        if len(config.memo) < 4096:  # keys are a few menus per language: this stays small
            config.memo[key] = found
    return found  # type: ignore[no-any-return] - stored by this function


def _category_menu(
    config: Config, language: str, ranked: tuple[tuple[str, bool], ...]
) -> tuple[str, tuple[tuple[Button, ...], ...]]:
    """The category question: the suggestions in score order (⭐ on the best), then
    every category numbered in config order (numbers never change), suggestions marked.
    Buttons: the suggestions first, in score order."""
    numbers = {category.id: index for index, category in enumerate(config.categories, start=1)}
    labels = {category.id: category.text(language) for category in config.categories}
    suggested = {category_id: star for category_id, star in ranked}
    lines = [say(language, "ask_category")]
    if ranked:
        picks = "; ".join(
            f"{numbers[category_id]}. {labels[category_id]}" + (" ⭐" if star else "")
            for category_id, star in ranked
        )
        lines.append(say(language, "category_suggestions", choices=picks))
    best_mark, maybe_mark = say(language, "category_suggested"), say(language, "category_maybe")
    for category in config.categories:
        mark = ""
        if category.id in suggested:
            mark = " " + (best_mark if suggested[category.id] else maybe_mark)
        lines.append(f"{numbers[category.id]}. {labels[category.id]}{mark}")
    other = say(language, "category_other")
    lines.append(f"0. {other}")

    def button(category_id: str) -> tuple[Button, ...]:
        star = "⭐ " if suggested.get(category_id) else ""
        return (
            Button(
                f"{star}{numbers[category_id]}. {labels[category_id]}", str(numbers[category_id])
            ),
        )

    rows = [button(category_id) for category_id, _ in ranked]
    rows += [button(c.id) for c in config.categories if c.id not in suggested]
    rows.append((Button(f"0. {other}", "0"),))
    return "\n".join(lines), tuple(rows)


# --------------------------------------------------------------------------
# The state table: what each state accepts, where it goes, who handles it
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """One state of the citizen conversation. Words that work everywhere (batal, menu,
    bantuan, status, STOP, english/indonesia, a reply to a ticket's message) are read
    before any state (`_Chat.run`)."""

    accepts: str
    goes_to: tuple[str, ...]
    handle: Callable[[_Chat], int | None]
    draft: bool = False  # part of filing a complaint: cancel and expiry drop it


STATES: dict[str, State] = {
    IDLE: State(
        "a greeting or menu number; a complaint of 15+ characters, a photo, a location "
        "or a contact (starts a draft); a thank-you; a suspicious message",
        (DESCRIPTION, CATEGORY, PICK_TICKET, CONFIRM_COMPLAINT, CONFIRM_FIX),
        _Chat._on_idle,
    ),
    CONFIRM_COMPLAINT: State(
        "1 it is a complaint, 2 it is not; anything else is read as a new message",
        (CATEGORY, DESCRIPTION, IDLE),
        _Chat._on_confirm_complaint,
        draft=True,
    ),
    DESCRIPTION: State(
        "the complaint's text (at least 10 characters); photos and files are attached",
        (CATEGORY,),
        _Chat._on_description,
        draft=True,
    ),
    PICK_TICKET: State(
        "the number of an open ticket the message is about, or the new-complaint choice",
        (IDLE, CATEGORY, DESCRIPTION),
        _Chat._on_pick_ticket,
        draft=True,
    ),
    CATEGORY: State(
        "a category number (0: do not know); other text is more of the complaint",
        (LOCATION, PHOTO),
        _Chat._on_category,
        draft=True,
    ),
    LOCATION: State(
        "a shared pin, a typed address, or 0/lewati; other text is more of the complaint",
        (PHOTO,),
        _Chat._on_location,
        draft=True,
    ),
    PHOTO: State(
        "photos, then selesai, or 0/lewati; other text is more of the complaint",
        (CONFIRM,),
        _Chat._on_photo,
        draft=True,
    ),
    CONFIRM: State(
        "1 send, 2 send confidentially, 3 cancel; other text is more of the complaint",
        (IDLE,),
        _Chat._on_confirm,
        draft=True,
    ),
    CONFIRM_FIX: State(
        "1 fixed (or a thank-you), 2 not fixed, for the ticket the agency resolved",
        (RATE, CONFIRM_FIX, IDLE),
        _Chat._on_confirm_fix,
    ),
    RATE: State(
        "a rating 1-5; anything else is read as a new message", (RATE_COMMENT, IDLE), _Chat._on_rate
    ),
    RATE_COMMENT: State("a comment, or 0 for none", (IDLE,), _Chat._on_rate_comment),
}
DRAFT_STATES = frozenset(name for name, state in STATES.items() if state.draft)


def expect_fix_confirmation(session: Session, asked: lifecycle.AskCitizen) -> None:
    """The agency resolved a ticket: the citizen's conversation expects their answer,
    now if it is idle, else after what they are doing (one queue per chat)."""
    ticket = asked.ticket
    conversation = session.store.conversation(
        ticket.citizen_channel, ticket.citizen_chat_id
    ) or Conversation(ticket.citizen_channel, ticket.citizen_chat_id)
    queue = [tid for tid in conversation.context.get("confirm_queue", []) if tid != ticket.id]
    conversation.context["confirm_queue"] = [*queue, ticket.id]
    if conversation.state == IDLE:
        conversation.state = CONFIRM_FIX
        conversation.context["ticket"] = ticket.id
    conversation.updated_at = session.now
    session.store.save_conversation(conversation)
