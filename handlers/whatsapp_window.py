"""WhatsApp's 24-hour customer-service window: the one place its rules live.

WhatsApp lets a business send free-form messages to a person only within 24 hours of
that person's last message; outside that window only an approved template may go.
The rules hold for every WhatsApp provider (Twilio today, the Cloud API next), so
nothing here speaks a provider's API:

- `is_open`: the citizen wrote less than 24 hours ago.
- `close`: a message may not go out. The sender holds it (raises `Held`); once per
  closed window — keyed by the citizen's last message — the approved template is
  queued (`TEMPLATE` rows, which the sender sends as the provider's template), or,
  when none is configured, the staff holding the ticket are told the reply waits.
- `refused_after_sending`: the provider accepted a message and reported later, in a
  status callback, that the window was closed (Twilio's 63016). A held copy of the
  text is queued, and the window is closed exactly as above.
- `reopen`: the citizen wrote, so held messages become due again, oldest first.

A closed window is learned three ways — before sending (`is_open`), in the provider's
answer to the send, and in a later status callback — and all three end in `close`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlite_utils import Database

from bot import engine
from bot.config import Config
from bot.model import Outbound
from storage.db import to_db_time
from storage.outbox import release_held, requeue_held
from storage.repository import SqliteStore, record_notice

WHATSAPP = "whatsapp"  # the channel name, whichever provider carries it
DISPLAY_NAME = "WhatsApp"  # as staff messages name the channel
WINDOW = timedelta(hours=24)
TEMPLATE = "template"  # the outbox kind of the approved out-of-window template
NOTICE = "whatsapp_window"  # the notices kind: one template (or staff notice) per window


def last_inbound(db: Database, chat_id: str) -> datetime | None:
    """When the citizen last wrote on WhatsApp, or None if never."""
    conversation = SqliteStore(db).conversation(WHATSAPP, chat_id)
    return conversation.last_inbound_at if conversation else None


def is_open(db: Database, chat_id: str, now: datetime) -> bool:
    """Whether a free-form message may go to this chat now."""
    last = last_inbound(db, chat_id)
    return last is not None and now - last < WINDOW


def close(
    db: Database,
    config: Config,
    staff_channel: str,
    chat_id: str,
    ticket_id: int | None,
    now: datetime,
) -> None:
    """A message to `chat_id` waits for the window: queue the template, or tell the staff
    holding the ticket, once per closed window. Runs in the caller's transaction."""
    last = last_inbound(db, chat_id)
    key = to_db_time(last) if last else "never"
    if not record_notice(db, NOTICE, None, key, chat_id, now):
        return  # this closed window was already announced
    store = SqliteStore(db)
    if config.whatsapp.update_template_sid:
        store.queue(
            Outbound(WHATSAPP, chat_id, "", ticket_id=ticket_id, kind=TEMPLATE, topic=TEMPLATE),
            now,
        )
        return
    ticket = store.ticket(ticket_id) if ticket_id is not None else None
    if ticket is not None:
        engine.tell_holder(
            store, config, now, staff_channel, ticket, "window_closed_staff", channel=DISPLAY_NAME
        )


def refused_after_sending(
    db: Database,
    config: Config,
    staff_channel: str,
    outbox_id: int,
    chat_id: str,
    ticket_id: int | None,
    reason: str,
    now: datetime,
) -> None:
    """A sent message was refused later for the closed window: hold a copy of it and
    close the window. Runs in the caller's transaction."""
    requeue_held(db, outbox_id, reason, now)
    close(db, config, staff_channel, chat_id, ticket_id, now)


def reopen(db: Database, chat_id: str, now: datetime) -> int:
    """The citizen wrote: their held messages are due again; returns how many."""
    return release_held(db, WHATSAPP, chat_id, now)
