"""Sending what the outbox holds, through one sender per channel, with retries.

A row leaves the outbox only when its channel's API accepted it. A crash
between "decided" and "sent" leaves the row pending, so the next process
sends it. Channel quirks live in the senders, not here.

When the database cannot be written (a full or read-only disk, docs/contract.md
§12) the loops wait and try again every few seconds. A row the provider accepted
but that could not be marked sent is kept in memory and marked before anything
else is claimed, so it is not sent a second time when space returns (only a
process that dies meanwhile, or another process claiming the row once its lease
ran out, still sends it again: delivery stays at-least-once).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot import engine
from bot.config import Config
from bot.model import LOCAL, Outbound
from storage.clock import Clock, utc_now
from storage.connections import Databases
from storage.db import transaction, write_failure
from storage.outbox import (
    OutboxItem,
    card_message_id,
    claim_due,
    lease_owners,
    mark_failed,
    mark_held,
    mark_retry,
    mark_sent,
    release_leases,
)
from storage.repository import SqliteStore

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(minutes=10)
CHANNEL_OFF_RETRY = timedelta(minutes=1)
STORAGE_RETRY_SECONDS = 5.0  # how often the loops look again while the database cannot be written


class CannotRecord(Exception):
    """A delivery pass stopped: the database cannot be written (`reason`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Unrecorded:
    """A row the provider accepted whose `mark_sent` failed: to be recorded, not resent."""

    channel: str
    message_ids: list[str]
    at: datetime


class RetryLater(Exception):
    """The channel is busy or unreachable; try again after `seconds`."""

    def __init__(self, reason: str, seconds: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.seconds = seconds


class Undeliverable(Exception):
    """The message can never be delivered (blocked by the user, chat gone)."""

    def __init__(self, reason: str, blocked: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.blocked = blocked


class Held(Exception):
    """The message may not go out yet (WhatsApp's 24-hour window is closed); it waits
    in the outbox until the citizen writes again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Sent:
    """Provider ids of the messages that carried one outbound (a long text may be split)."""

    message_ids: list[str]


class Sender(Protocol):
    channel: str

    def send(self, outbound: Outbound, edit_message_id: str | None) -> Sent:
        """Deliver `outbound`; edit `edit_message_id` in place when given (cards)."""
        ...


def lease_owner() -> str:
    """This process, as the owner of outbox leases: host, pid and a per-start token."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def owner_is_gone(owner: str, me: str) -> bool:
    """Whether a lease owner is a process of this host that no longer runs."""
    host, _, rest = owner.partition(":")
    pid_text, _, token = rest.partition(":")
    my_host, _, my_rest = me.partition(":")
    my_pid, _, my_token = my_rest.partition(":")
    if host != my_host or not pid_text.isdigit():
        return False  # another machine's process: its leases simply expire
    if pid_text == my_pid:
        return token != my_token  # an earlier run that had our pid (e.g. pid 1 in a container)
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Delivery:
    """Drains the outbox: claims due rows, sends them, records the result."""

    def __init__(
        self,
        databases: Databases,
        config: Config,
        senders: dict[str, Sender],
        staff_channel: str = LOCAL,
        clock: Clock = utc_now,
    ) -> None:
        self.databases = databases
        self.config = config
        self.senders = senders
        self.staff_channel = staff_channel
        self.clock = clock
        self._wakes: dict[str, threading.Event] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.owner = lease_owner()
        self._forward: Callable[[Collection[str] | None], None] | None = None
        self._unrecorded: dict[int, _Unrecorded] = {}  # outbox id -> sent, not yet marked
        self._unrecorded_lock = threading.Lock()

    def take_back_dead_leases(self) -> int:
        """Rows a killed process had claimed are sent now, not when its lease runs out."""
        db = self.databases.get()
        released = 0
        try:
            for owner in lease_owners(db, self.clock()):
                if owner_is_gone(owner, self.owner):
                    released += release_leases(db, owner)
        except Exception as error:
            failure = write_failure(error)
            if failure is None:
                raise
            # their leases simply run out (30 s) and the rows are sent then
            log.warning("cannot take back dead leases now: %s", failure.reason)
        if released:
            log.warning("took back %d outbox rows leased by a process that is gone", released)
        return released

    # --- one pass
    def run_once(self, limit: int = 50, channels: Collection[str] | None = None) -> int:
        """Send every due row (up to `limit`, optionally of some channels only);
        returns how many were attempted. Raises `CannotRecord` when the database
        cannot be written (nothing is lost: the rows wait in the outbox)."""
        self._record_unrecorded(channels)
        db = self.databases.get()
        try:
            items = claim_due(db, self.clock(), limit=limit, owner=self.owner, channels=channels)
        except Exception as error:
            failure = write_failure(error)
            if failure is None:
                raise
            raise CannotRecord(failure.reason) from error
        for item in items:
            if item.id in self._unrecorded:  # sent already: record it, never send it again
                self._record_unrecorded((item.outbound.channel,))
                continue
            self._deliver(item)
        return len(items)

    @property
    def unrecorded(self) -> list[int]:
        """Outbox rows sent whose sending could not be recorded yet (the database was full)."""
        with self._unrecorded_lock:
            return sorted(self._unrecorded)

    def _record_unrecorded(self, channels: Collection[str] | None) -> None:
        """Mark sent what was sent while the database could not be written."""
        with self._unrecorded_lock:
            waiting = [
                (item_id, entry)
                for item_id, entry in self._unrecorded.items()
                if channels is None or entry.channel in channels
            ]
        for item_id, entry in waiting:
            try:
                mark_sent(self.databases.get(), item_id, entry.message_ids, entry.at)
            except LookupError:
                log.warning("outbox %s, sent while the disk was full, is gone", item_id)
            except Exception as error:
                failure = write_failure(error)
                if failure is None:
                    raise
                raise CannotRecord(failure.reason) from error
            else:
                log.info("outbox %s, sent while the database was not writable, recorded", item_id)
            with self._unrecorded_lock:
                self._unrecorded.pop(item_id, None)

    def drain(self, max_passes: int = 100) -> None:
        """Send until nothing is due (tests and one-shot commands)."""
        for _ in range(max_passes):
            if self.run_once() == 0:
                return

    def _deliver(self, item: OutboxItem) -> None:
        db = self.databases.get()
        outbound = item.outbound
        sender = self.senders.get(outbound.channel)
        now = self.clock()
        if sender is None:
            mark_retry(
                db,
                item.id,
                f"channel {outbound.channel} is off",
                now + CHANNEL_OFF_RETRY,
                count_attempt=False,
            )
            return
        edit_id = None
        if outbound.kind == "card" and outbound.ticket_id is not None:
            edit_id = card_message_id(db, outbound.channel, outbound.chat_id, outbound.ticket_id)
        try:
            sent = sender.send(outbound, edit_id)
        except Exception as error:
            failure = write_failure(error)
            if failure is None:
                return self._refused(item, error)
            # the sender's own bookkeeping could not be written: this row waits
            raise CannotRecord(failure.reason) from error
        at = self.clock()
        try:
            mark_sent(db, item.id, sent.message_ids, at)
        except Exception as error:
            failure = write_failure(error)
            if failure is None:
                raise
            with self._unrecorded_lock:
                self._unrecorded[item.id] = _Unrecorded(outbound.channel, sent.message_ids, at)
            log.warning(
                "outbox %s was sent, but the database cannot record it (%s): it is recorded "
                "when it can, and not sent again",
                item.id,
                failure.reason,
            )
            raise CannotRecord(failure.reason) from error

    def _refused(self, item: OutboxItem, error: Exception) -> None:
        """What the sender's exception means for the row: retry later, give up, or hold."""
        db = self.databases.get()
        if isinstance(error, RetryLater):
            attempts = item.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                self._give_up(item, f"{error.reason} (after {attempts} attempts)", blocked=False)
                return
            delay = (
                timedelta(seconds=error.seconds)
                if error.seconds is not None
                else _backoff(attempts)
            )
            log.warning("outbox %s: %s; retrying in %s", item.id, error.reason, delay)
            mark_retry(db, item.id, error.reason, self.clock() + delay)
        elif isinstance(error, Undeliverable):
            self._give_up(item, error.reason, blocked=error.blocked)
        elif isinstance(error, Held):
            log.info("outbox %s held: %s", item.id, error.reason)
            mark_held(db, item.id, error.reason)
        else:  # a bug or an unexpected API answer: retry, loudly
            log.error("outbox %s: sending failed", item.id, exc_info=error)
            attempts = item.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                self._give_up(item, f"{type(error).__name__}", blocked=False)
            else:
                mark_retry(
                    db,
                    item.id,
                    f"{type(error).__name__}: {error}"[:500],
                    self.clock() + _backoff(attempts),
                )

    def _give_up(self, item: OutboxItem, reason: str, blocked: bool) -> None:
        """Stop retrying; tell the ticket's staff chat when a citizen could not be reached."""
        db = self.databases.get()
        now = self.clock()
        log.error("outbox %s to %s: giving up: %s", item.id, item.outbound.channel, reason)
        with transaction(db):
            mark_failed(db, item.id, reason, now)
            outbound = item.outbound
            if outbound.ticket_id is None:
                return
            store = SqliteStore(db)
            ticket = store.ticket(outbound.ticket_id)
            if ticket is None or (outbound.channel, outbound.chat_id) != (
                ticket.citizen_channel,
                ticket.citizen_chat_id,
            ):
                return
            engine.delivery_failed(
                store, self.config, now, self.staff_channel, ticket, reason, blocked
            )
        self.wake()

    # --- the background loop
    def forward_wakes(self, to: Callable[[Collection[str] | None], None] | None) -> None:
        """Pass wake-ups on (to the delivery process) instead of running loops here;
        None: back to the loops of this process."""
        self._forward = to

    def wake(self, channels: Collection[str] | None = None) -> None:
        """Tell the loops of `channels` (all when None) that rows are waiting."""
        forward = self._forward
        if forward is not None:
            forward(channels)
            return
        for channel, event in self._wakes.items():
            if channels is None or channel in channels:
                event.set()

    def start(self, idle_seconds: float = 1.0) -> None:
        """One loop per channel, so a throttled Telegram group never holds up WhatsApp
        or local replies (rows of a channel that is off simply wait, counted in /healthz)."""
        self.take_back_dead_leases()
        for channel in self.senders:
            wake = self._wakes.setdefault(channel, threading.Event())

            def loop(channel: str = channel, wake: threading.Event = wake) -> None:
                waiting_for_storage = False
                while not self._stop.is_set():
                    try:
                        busy = self.run_once(channels=(channel,)) > 0
                    except Exception as error:
                        failure = write_failure(error)
                        if failure is None:
                            log.exception("delivery pass (%s) failed", channel)
                            busy = False
                        else:  # the rows wait in the outbox; look again in a few seconds
                            if not waiting_for_storage:
                                log.warning(
                                    "delivery (%s) waits: the database cannot be written (%s)",
                                    channel,
                                    failure.reason,
                                )
                            waiting_for_storage = True
                            self._stop.wait(STORAGE_RETRY_SECONDS)
                            continue
                    if waiting_for_storage:
                        log.info("delivery (%s) goes on: the database can be written", channel)
                        waiting_for_storage = False
                    if not busy:
                        wake.wait(idle_seconds)
                        wake.clear()

            thread = threading.Thread(target=loop, name=f"delivery-{channel}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        """Stop the loops (each finishes the message in hand), then hand back the rows
        this process claimed and did not send, so the next process sends them at once
        rather than after their lease runs out."""
        self._stop.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout=10)
        if any(thread.is_alive() for thread in self._threads):
            log.warning("a delivery loop did not stop in time; its rows wait for their lease")
            return
        if self.unrecorded:  # first: rows sent while the disk was full are not "unsent"
            try:
                self._record_unrecorded(None)
            except Exception:
                log.error(
                    "outbox rows %s were sent but could not be recorded (the database cannot "
                    "be written): they will be sent again after the restart",
                    self.unrecorded,
                )
        try:
            handed_back = release_leases(self.databases.get(), self.owner)
        except Exception:  # a stopping process must not fail on this; the lease expires
            log.exception("could not hand back unsent outbox rows")
            return
        if handed_back:
            log.info("stopping: %d unsent outbox rows handed back", handed_back)


def _backoff(attempts: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(seconds=2 ** min(attempts, 10)))


def oldest_age(oldest: datetime | None, now: datetime) -> float | None:
    return None if oldest is None else round((now - oldest).total_seconds(), 1)
