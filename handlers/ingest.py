"""From an edge's parsed `Inbound` to a committed decision: one event, one transaction.

Dedupe on the provider's id, run the core, store the message, its ticket
changes, events and outbox rows — all in one SQLite transaction — and only
then let the webhook answer. Sending happens later, from the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import datetime

import sqlite_utils

from bot import engine
from bot.config import Config
from bot.model import LOCAL, Inbound, Outbound
from storage.clock import Clock, utc_now
from storage.connections import Databases
from storage.db import BatchFailed, GroupCommit, write_failure
from storage.inbound import first_delivery, record_inbound
from storage.repository import SqliteStore

log = logging.getLogger(__name__)


class Ingest:
    """Receives normalised messages from every edge and commits what the core decides."""

    def __init__(
        self,
        databases: Databases,
        config: Config,
        staff_channel: str = LOCAL,
        clock: Clock = utc_now,
        on_queued: Callable[[Collection[str]], None] | None = None,
    ) -> None:
        self.databases = databases
        self.config = config
        self.staff_channel = staff_channel
        self.clock = clock
        self.on_queued = on_queued
        # messages arriving together are committed together (see GroupCommit)
        self.commits = GroupCommit(databases.get)

    def receive(
        self,
        inbound: Inbound,
        also_queue: tuple[Outbound, ...] = (),
        also_record: Callable[[sqlite_utils.Database, datetime], None] | None = None,
    ) -> engine.Outcome | None:
        """Handle `inbound` once; a redelivery of the same provider id returns None.

        `also_queue` holds what the edge itself owes the provider for this
        message (e.g. answering a Telegram button press), queued in the same
        transaction. `also_record` writes the edge's own bookkeeping (media to
        fetch, held replies to release) in that transaction too.
        """
        now = self.clock()

        def handle(db: sqlite_utils.Database) -> engine.Outcome | None:
            if not first_delivery(db, inbound.channel, inbound.provider_id, now):
                return None
            store = SqliteStore(db)
            outcome = engine.handle(store, self.config, inbound, now, self.staff_channel)
            record_inbound(db, inbound, outcome.ticket_id, now)
            for outbound in also_queue:
                store.queue(outbound, now)
            if also_record is not None:
                also_record(db, now)
            return outcome

        def keep_as_error(db: sqlite_utils.Database) -> engine.Outcome:
            if first_delivery(db, inbound.channel, inbound.provider_id, now):
                record_inbound(db, inbound, None, now, status="error")
                if also_record is not None:
                    also_record(db, now)
            return engine.Outcome(None, ())

        try:
            try:
                outcome = self.commits.run(handle)
            except BatchFailed:  # another message's failure undid this one: once more, alone
                outcome = self.commits.run(handle)
        except BatchFailed:
            raise  # storage itself is failing: no answer, so the provider sends it again
        except Exception as error:
            if write_failure(error) is not None:
                # The disk (full, read-only) or a lock, not the core: nothing was stored
                # and keeping it "as an error" would acknowledge it unhandled; the webhook
                # answers 503 and the provider sends it again.
                raise
            # A bug in the core must not lose the citizen's message: keep it,
            # marked as seen, so an operator can read it and the provider
            # does not redeliver it forever.
            log.exception("core failed on %s message %s", inbound.channel, inbound.provider_id)
            return self.commits.run(keep_as_error)
        if outcome is None:
            return None
        if (outcome.said or also_queue) and self.on_queued is not None:
            # wake only the channels that have something new to send
            self.on_queued({o.channel for o in outcome.said} | {o.channel for o in also_queue})
        return outcome
