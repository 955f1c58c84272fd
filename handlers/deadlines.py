"""The deadline scan and the daily digest: a timer tick turned into one transaction.

Gather (indexed queries for what is due), decide (bot/deadlines.py), apply:
record each notice and queue its messages in the same `BEGIN IMMEDIATE`
transaction. A notice already recorded is never said again, so a restart, a
repeated scan or a concurrent `check-deadlines` sends nothing twice; one that
came due while nothing was running is found by the next scan, since what is
due is derived from ticket rows, not from a job store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlite_utils import Database

from bot import deadlines, engine
from bot.config import Config
from bot.model import LOCAL
from storage import deadlines as due
from storage.clock import Clock, utc_now
from storage.connections import Databases
from storage.db import transaction, write_failure
from storage.repository import SqliteStore, record_notice

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScanReport:
    """What one scan did."""

    as_of: datetime
    reminders: int = 0  # tickets whose agency was reminded
    overdue_alerts: int = 0  # overdue tickets alerted
    escalations: int = 0  # escalation notices (ticket and rung)
    auto_closed: int = 0
    messages: int = 0  # outbox rows queued

    def summary(self, timezone: tzinfo) -> str:
        """One line for people and cron logs."""
        when = self.as_of.astimezone(timezone).isoformat(timespec="seconds")
        return (
            f"scan as of {when}: {_count(self.reminders, 'reminder')}, "
            f"{_count(self.overdue_alerts, 'overdue alert')}, {self.auto_closed} auto-closed"
            + (f", {_count(self.escalations, 'escalation')}" if self.escalations else "")
        )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def scan(db: Database, config: Config, now: datetime, staff_channel: str = LOCAL) -> ScanReport:
    """One deadline scan as of `now`: reminders, overdue alerts, escalations and breaches
    of both clocks (first response, resolution), and auto-close."""
    sla = config.sla
    stages = [(offset, deadlines.reminder_label(offset)) for offset in sla.reminder_offsets]
    steps = [(step.after, deadlines.escalation_label(i)) for i, step in enumerate(sla.escalation)]
    if deadlines.reminders_wait(config, now):
        stages = []  # outside office hours: the reminder still due goes out at opening
    with transaction(db):
        found = [
            deadlines.ClockDue(
                clock,
                due.reminder_candidates(db, clock.reminder, now, stages, clock.name),
                due.overdue_candidates(db, clock.overdue, now, sla.overdue_repeat, clock.name),
                due.escalation_candidates(db, clock.escalation, now, steps, clock.name)
                if steps
                else [],
            )
            for clock in deadlines.CLOCKS
        ]
        outcome = engine.scan_deadlines(
            SqliteStore(db),
            config,
            now,
            staff_channel,
            found,
            due.confirmations_expired(db, now - sla.confirm_window, limit=deadlines.MAX_AUTO_CLOSE),
            lambda n: record_notice(db, n.kind, n.ticket.id, n.key, n.chat_id, now),
        )
    return ScanReport(
        as_of=now,
        reminders=outcome.announced.reminded,
        overdue_alerts=outcome.announced.alerted,
        escalations=outcome.announced.escalated,
        auto_closed=outcome.auto_closed,
        messages=len(outcome.said),
    )


def send_digest(db: Database, config: Config, now: datetime, staff_channel: str = LOCAL) -> int:
    """Today's digest to every supervisor chat that has not had it; returns messages queued.

    Nothing before `supervisors.digest_time` (service time zone). Run it at that
    time and again after a restart: each chat gets each day's digest once.
    """
    day = deadlines.digest_day(now, config)
    if day is None:
        return 0
    if not due.any_ticket(db):
        return 0  # a new installation: nothing to report yet, and nothing recorded as sent
    with transaction(db):
        chats = [
            chat_id
            for chat_id in config.supervisors.staff_chats
            if record_notice(db, deadlines.DIGEST, None, day.isoformat(), chat_id, now)
        ]
        if not chats:
            return 0
        said = engine.send_digest(SqliteStore(db), config, now, staff_channel, day, chats)
    return len(said)


class DeadlineJobs:
    """The scheduler's entry points: the minute scan and the daily digest.

    Each run uses the calling thread's own connection; a failure is logged and
    the next run tries again (nothing is recorded unless it was queued). While the
    database cannot be written (a full disk) each run's transaction rolls back whole:
    the scan says so once and catches up at the first run after space returns.
    """

    def __init__(
        self,
        databases: Databases,
        config: Config,
        staff_channel: str = LOCAL,
        clock: Clock = utc_now,
        on_queued: Callable[[], None] | None = None,
    ) -> None:
        self.databases = databases
        self.config = config
        self.staff_channel = staff_channel
        self.clock = clock
        self.on_queued = on_queued
        self._postponed: set[str] = set()  # jobs waiting for the database to take writes

    def _failed(self, job: str, error: Exception) -> None:
        failure = write_failure(error)
        if failure is None:
            log.error("%s failed", job, exc_info=error)
        elif job not in self._postponed:
            self._postponed.add(job)
            log.warning("%s postponed: the database cannot be written (%s)", job, failure.reason)

    def _done(self, job: str) -> None:
        if job in self._postponed:
            self._postponed.discard(job)
            log.info("%s runs again: the database can be written", job)

    def scan(self) -> ScanReport | None:
        try:
            report = scan(self.databases.get(), self.config, self.clock(), self.staff_channel)
        except Exception as error:
            self._failed("deadline scan", error)
            return None
        self._done("deadline scan")
        if report.messages:
            log.info("%s", report.summary(self.config.service.tz))
            self._queued()
        if "daily digest" in self._postponed:
            self.digest()  # it runs once a day: a digest the full disk stopped goes out now
        return report

    def digest(self) -> int:
        try:
            queued = send_digest(
                self.databases.get(), self.config, self.clock(), self.staff_channel
            )
        except Exception as error:
            self._failed("daily digest", error)
            return 0
        self._done("daily digest")
        if queued:
            log.info("daily digest: %d messages queued", queued)
            self._queued()
        return queued

    def _queued(self) -> None:
        if self.on_queued is not None:
            self.on_queued()
