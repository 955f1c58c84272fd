"""Benchmark of the deadline scan: does its cost follow open tickets, not history?

Builds a SQLite file per size with N closed tickets (three events and one
notice each, spread over two years) and the same 10,000 open tickets (half
awaiting a first response with deadlines spread over the next day and the
last few hours, the rest answered, waiting for the citizen, resolved or new),
then times the real scan (`handlers.deadlines.scan`, one BEGIN IMMEDIATE
transaction with its notices and outbox rows):

- catch-up: the first scan, with every due reminder and alert still unsent;
- drain: scans at the same moment until the per-chat caps let everything out;
- idle: a scan with nothing new to say (what most minutes are);
- minute: scans a minute apart, each sending what came due in that minute;
- digest reads: the queries behind the daily digest and /stats (7 days).

Every assigned open ticket has a resolution deadline (5 working days), as every
assignment gets one. With the working calendar on (the default; `--no-calendar` for
the shipped `sla.response_calendar: hours` without a ladder), the response deadline
counts office hours, assignments spread over the last week and a two-rung escalation
ladder runs.

    .venv/bin/python bench/deadline_scan.py                # 0, 100k and 1M closed
    .venv/bin/python bench/deadline_scan.py --closed 0,100000 --runs 5

Not a test: it takes a few minutes and prints a table.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlite_utils import Database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bot.config import Config, parse_config  # noqa: E402
from bot.model import LOCAL  # noqa: E402
from handlers.deadlines import ScanReport, scan  # noqa: E402
from storage import deadlines as due  # noqa: E402
from storage.db import open_database, to_db_time  # noqa: E402

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 09.00 WIB
HOUR = timedelta(hours=1)
BATCH = 50_000

INSERT_TICKET = """
    INSERT INTO tickets (id, citizen_channel, citizen_chat_id, citizen_name, description,
        category_id, agency_id, status, language, created_at, assigned_at, deadline_at,
        first_response_at, paused_at, resolved_at, closed_at, updated_at, resolution_deadline_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
INSERT_EVENT = (
    "INSERT INTO ticket_events (ticket_id, at, actor, action, from_status, to_status, "
    "from_agency, to_agency) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_NOTICE = "INSERT INTO notices (kind, ticket_id, key, chat_id, at) VALUES (?, ?, ?, ?, ?)"


def t(moment: datetime | None) -> str | None:
    return to_db_time(moment) if moment is not None else None


def closed_tickets(
    count: int, config: Config, rng: random.Random
) -> Iterator[tuple[tuple, list[tuple], tuple]]:
    """(ticket row, its events, one notice) for `count` closed tickets over two years."""
    categories = config.categories
    for ticket_id in range(1, count + 1):
        category = rng.choice(categories)
        created = NOW - timedelta(days=730) * rng.random() - timedelta(days=8)
        deadline = created + timedelta(hours=24)
        answered = created + timedelta(hours=rng.expovariate(1 / 6))
        resolved = answered + timedelta(hours=rng.uniform(1, 72))
        closed = resolved + timedelta(hours=rng.uniform(1, 72))
        status = rng.choices(("closed", "rejected", "referred"), (90, 6, 4))[0]
        row = (
            ticket_id,
            LOCAL,
            f"citizen:w{ticket_id}",
            "Warga",
            "Jalan berlubang di depan balai desa",
            category.id,
            category.agency,
            status,
            "id",
            t(created),
            t(created),
            t(deadline),
            t(answered),
            None,
            t(resolved),
            t(closed),
            t(closed),
            None,
        )
        events = [
            (ticket_id, t(created), "system", "assigned", "new", "assigned", "", category.agency),
            (
                ticket_id,
                t(answered),
                "staff",
                "replied",
                "assigned",
                "responded",
                category.agency,
                category.agency,
            ),
            (
                ticket_id,
                t(closed),
                "citizen",
                "confirmed",
                "resolved",
                status,
                category.agency,
                category.agency,
            ),
        ]
        chat = next(str(a.telegram_chat_id) for a in config.agencies if a.id == category.agency)
        notice = ("reminder", ticket_id, f"12h@{t(created)}", chat, t(deadline - 12 * HOUR))
        yield row, events, notice


def open_tickets(
    first_id: int, count: int, config: Config, rng: random.Random
) -> Iterator[tuple[tuple, list[tuple]]]:
    """(ticket row, its events) for `count` open tickets around NOW."""
    categories = config.categories
    calendar = config.working_calendar
    on_calendar = config.sla.response_calendar == "working_hours"
    for ticket_id in range(first_id, first_id + count):
        category = rng.choice(categories)
        agency = category.agency
        kind = rng.choices(
            ("awaiting", "responded", "waiting", "resolved", "new"), (50, 25, 10, 10, 5)
        )[0]
        if on_calendar:  # deadlines three working days out: spread over the last week
            assigned = NOW - timedelta(hours=rng.uniform(0, 120 if kind == "awaiting" else 240))
            deadline = calendar.add_working_time(assigned, timedelta(hours=24))
            fix_by = calendar.close_of_working_day(assigned, 5)
        else:
            assigned = NOW - timedelta(hours=rng.uniform(0, 30 if kind == "awaiting" else 72))
            deadline = assigned + timedelta(hours=24)
            fix_by = calendar.close_of_working_day(assigned, 5)  # as every assignment has
        answered = paused = resolved = None
        status = {"awaiting": "assigned", "waiting": "waiting_citizen"}.get(kind, kind)
        if kind == "responded":
            answered = min(NOW, assigned + timedelta(hours=rng.uniform(0, 20)))
        elif kind == "waiting":
            paused = assigned + (NOW - assigned) * rng.random()
        elif kind == "resolved":
            answered = assigned + (NOW - assigned) * rng.random() / 2
            resolved = NOW - timedelta(days=4) * rng.random()
        if kind == "new":
            agency, deadline, assigned, fix_by = "", None, None, None
        created = assigned or NOW - timedelta(hours=rng.uniform(0, 5))
        row = (
            ticket_id,
            LOCAL,
            f"citizen:w{ticket_id}",
            "Warga",
            "Jalan berlubang di depan balai desa",
            category.id if agency else "",
            agency,
            status,
            "id",
            t(created),
            t(assigned),
            t(deadline),
            t(answered),
            t(paused),
            t(resolved),
            None,
            t(created),
            t(fix_by),
        )
        events = []
        if assigned is not None:
            events.append(
                (ticket_id, t(assigned), "system", "assigned", "new", "assigned", "", agency)
            )
        if answered is not None:
            events.append(
                (
                    ticket_id,
                    t(answered),
                    "staff",
                    "replied",
                    "assigned",
                    "responded",
                    agency,
                    agency,
                )
            )
        yield row, events


def build(path: Path, closed: int, open_count: int, config: Config) -> float:
    """Create the database file; returns the seconds it took."""
    started = time.perf_counter()
    open_database(path).close()  # the schema, by the real migrations
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    rng = random.Random(42)
    conn.execute("BEGIN")
    tickets: list[tuple] = []
    events: list[tuple] = []
    notices: list[tuple] = []
    for row, ticket_events, notice in closed_tickets(closed, config, rng):
        tickets.append(row)
        events.extend(ticket_events)
        notices.append(notice)
        if len(tickets) >= BATCH:
            _flush(conn, tickets, events, notices)
    for row, ticket_events in open_tickets(closed + 1, open_count, config, rng):
        tickets.append(row)
        events.extend(ticket_events)
    _flush(conn, tickets, events, notices)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - started


def _flush(conn: sqlite3.Connection, tickets: list, events: list, notices: list) -> None:
    conn.executemany(INSERT_TICKET, tickets)
    conn.executemany(INSERT_EVENT, events)
    conn.executemany(INSERT_NOTICE, notices)
    tickets.clear()
    events.clear()
    notices.clear()


def timed_scan(db: Database, config: Config, now: datetime) -> tuple[float, ScanReport]:
    started = time.perf_counter()
    report = scan(db, config, now, LOCAL)
    return (time.perf_counter() - started) * 1000, report


def _said(report: ScanReport) -> int:
    """Tickets reminded, alerted, escalated (per rung) and auto-closed by one scan."""
    return report.reminders + report.overdue_alerts + report.escalations + report.auto_closed


def bench_config(calendar: bool) -> Config:
    """The shipped config; with `calendar`, office-hours deadlines and a two-rung ladder
    (the supervisors at the deadline, dispatch a day later)."""
    raw = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    if calendar:
        supervisors = raw["supervisors"]["telegram_chat_ids"]
        raw["sla"]["response_calendar"] = "working_hours"
        raw["sla"]["escalation"] = [
            {"after_hours": 0, "chats": supervisors[:1]},
            {"after_hours": 24, "chats": [raw["dispatch"]["telegram_chat_id"]]},
        ]
        raw["calendar"]["extra_days_off"] = ["2026-12-24"]
    return parse_config(raw)


def measure(path: Path, config: Config, runs: int) -> dict[str, object]:
    db = open_database(path)
    try:
        catch_up_ms, first = timed_scan(db, config, NOW)
        drained = 1
        sent = _said(first)
        drain_ms = catch_up_ms
        while True:
            ms, report = timed_scan(db, config, NOW)
            drain_ms += ms
            if not _said(report):
                break
            drained += 1
            sent += _said(report)
        idle = [timed_scan(db, config, NOW)[0] for _ in range(runs)]
        minute: list[float] = []
        minute_sent = 0
        for index in range(1, runs + 1):
            ms, report = timed_scan(db, config, NOW + timedelta(minutes=index))
            minute.append(ms)
            minute_sent += _said(report)
        digest: list[float] = []
        for _ in range(runs):
            started = time.perf_counter()
            due.assignments_between(db, NOW - timedelta(days=7), NOW)
            due.overdue_tickets(db, NOW)
            digest.append((time.perf_counter() - started) * 1000)
        awaiting = db.execute(
            "SELECT count(*) FROM tickets WHERE status = 'assigned' AND first_response_at IS NULL"
        ).fetchone()[0]
    finally:
        db.close()
    return {
        "catch_up_ms": catch_up_ms,
        "catch_up_sent": _said(first),
        "drain_scans": drained,
        "drain_ms": drain_ms,
        "sent": sent,
        "idle_ms": statistics.median(idle),
        "minute_ms": statistics.median(minute),
        "minute_max_ms": max(minute),
        "minute_sent": minute_sent / runs,
        "digest_ms": statistics.median(digest),
        "awaiting": awaiting,
    }


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--closed", default="0,100000,1000000", help="comma-separated sizes")
    parser.add_argument("--open", type=int, default=10_000, dest="open_count")
    parser.add_argument("--runs", type=int, default=15, help="scans per median")
    parser.add_argument("--dir", help="where to build the files (default: a temp dir)")
    parser.add_argument(
        "--no-calendar",
        dest="calendar",
        action="store_false",
        help="calendar-hour response deadlines and no escalation ladder, as shipped",
    )
    args = parser.parse_args()
    config = bench_config(args.calendar)
    sizes = [int(size) for size in args.closed.split(",")]
    print(f"machine: {machine()}")
    print(
        f"{args.open_count:,} open tickets; {len(config.agencies)} agencies; "
        f"calendar {'on' if args.calendar else 'off'}; "
        f"medians of {args.runs} runs; times in ms\n"
    )
    header = (
        "| closed tickets | db size | build | catch-up scan (sent) | scans to drain (total) "
        "| idle scan | minute scan (max) | digest reads |"
    )
    print(header)
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        for size in sizes:
            path = Path(folder) / f"bench-{size}.db"
            build_s = build(path, size, args.open_count, config)
            result = measure(path, config, args.runs)
            megabytes = sum(p.stat().st_size for p in Path(folder).glob(f"bench-{size}.db*")) / 1e6
            print(
                f"| {size:,} | {megabytes:,.0f} MB | {build_s:.0f} s "
                f"| {result['catch_up_ms']:.0f} ({result['catch_up_sent']}) "
                f"| {result['drain_scans']} ({result['drain_ms']:.0f}) "
                f"| {result['idle_ms']:.1f} "
                f"| {result['minute_ms']:.1f} ({result['minute_max_ms']:.1f}) "
                f"| {result['digest_ms']:.1f} |",
                flush=True,
            )
            for file in Path(folder).glob(f"bench-{size}.db*"):
                file.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
