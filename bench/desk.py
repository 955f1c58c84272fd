"""Benchmark of the web desk at 1,000,000 tickets: is every page fast on the server?

Builds a SQLite file (by the real migrations, so with the desk's FTS5 index and its
triggers) with N tickets over two years — descriptions are the real complaint texts of
tests/data/routing/ with a village name, so search words are spread as in life — two
events and two messages each, a third with a location, the last 10,000 open. Then it
signs in to the real desk (the Flask app `serve` builds, with a one-time link, like a
person) as the call center and as one agency, and times each request on the server
(Flask's test client: routing, SQL, templates; no network):

- list: the open list, every ticket sorted by deadline (first page and page 200),
  filtered by agency and category, and the agency's own list;
- search: words of the description in any order, common and rare, with and without an
  agency (FTS5);
- ticket page: random tickets with their timelines;
- overview: the call center's and an agency's (the counts and the overdue list);
- map: the GeoJSON of the open tickets with a location;
- the monthly report and the public page, and before everything the first (uncached)
  request of the overview, the report and the public page, whose figures are then kept
  for minutes;
- export: the same filtered list as CSV and as XLSX, about 10,000 rows.

Targets: each page under 100 ms (95th percentile), an export of 10,000 rows under 2 s,
the map's GeoJSON of every located open ticket (about 3,000) under 250 ms. Exit 1 when
one is missed.

    .venv/bin/python bench/desk.py                      # 1,000,000 tickets
    .venv/bin/python bench/desk.py --tickets 100000 --runs 10
    .venv/bin/python bench/desk.py --keep /tmp/desk.db  # build once, time again

Not a test: building the file takes a few minutes.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Config, load_config  # noqa: E402
from bot.staff import DESK_LINK_LIFETIME  # noqa: E402
from run_bot import build_service, settle_heap  # noqa: E402
from storage import desk as stored  # noqa: E402
from storage.db import open_database, to_db_time  # noqa: E402

OPEN = 10_000
BATCH = 50_000
PAGE_TARGET_MS = 100.0
EXPORT_TARGET_MS = 2_000.0
MAP_TARGET_MS = 250.0  # every located open ticket in one answer (issue 15 draws them)
VILLAGES = (
    "Lohbener", "Jatibarang", "Karangampel", "Juntinyuat", "Balongan", "Sindang",
    "Lelea", "Kertasemaya", "Krangkeng", "Haurgeulis", "Gabuswetan", "Cikedung",
    "Terisi", "Kandanghaur", "Losarang", "Anjatan", "Bongas", "Sukra", "Patrol",
    "Widasari", "Bangodua", "Tukdana", "Sliyeg", "Arahan", "Pasekan", "Cantigi",
)  # fmt: skip

INSERT_TICKET = """
    INSERT INTO tickets (id, citizen_channel, citizen_chat_id, citizen_name, citizen_phone,
        description, category_id, agency_id, status, latitude, longitude, address, language,
        created_at, assigned_at, deadline_at, first_response_at, resolved_at, closed_at,
        updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
INSERT_EVENT = (
    "INSERT INTO ticket_events (ticket_id, at, actor, action, from_status, to_status, "
    "from_agency, to_agency, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_MESSAGE = (
    "INSERT INTO messages (channel, chat_id, direction, ticket_id, text, at, status) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def t(moment: datetime | None) -> str | None:
    return to_db_time(moment) if moment is not None else None


def complaint_texts() -> list[tuple[str, str]]:
    """(text, category id) of the real complaints in the routing data."""
    path = ROOT / "tests" / "data" / "routing" / "complaints.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [(row["text"], row.get("label") or "") for row in rows if row.get("text")]


def build(path: Path, count: int, config: Config, now: datetime) -> float:
    """Create the database file with `count` tickets; returns the seconds it took."""
    started = time.perf_counter()
    open_database(path).close()  # the schema (and the FTS triggers), by the real migrations
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    rng = random.Random(7)
    texts = complaint_texts()
    categories = {c.id: c for c in config.categories}
    category_list = list(categories.values())
    tickets: list[tuple] = []
    events: list[tuple] = []
    messages: list[tuple] = []
    conn.execute("BEGIN")
    for ticket_id in range(1, count + 1):
        text, label = rng.choice(texts)
        category = categories.get(label) or rng.choice(category_list)
        village = rng.choice(VILLAGES)
        is_open = ticket_id > count - OPEN
        if is_open:
            created = now - timedelta(hours=rng.uniform(0, 60))
            status = rng.choices(
                ("assigned", "responded", "waiting_citizen", "new"), (60, 25, 10, 5)
            )[0]
        else:
            created = now - timedelta(days=730) * (1 - ticket_id / count) - timedelta(days=8)
            status = rng.choices(("closed", "rejected", "referred"), (90, 6, 4))[0]
        agency = "" if status == "new" else category.agency
        deadline = created + timedelta(hours=24) if agency else None
        answered = None
        if status not in ("assigned", "new"):
            answered = min(now, created + timedelta(hours=rng.expovariate(1 / 6)))
        closed = created + timedelta(days=rng.uniform(1, 6)) if not is_open else None
        channel = rng.choices(("whatsapp", "telegram", "phone"), (70, 20, 10))[0]
        phone = f"+62812{rng.randrange(10**7, 10**8)}"
        chat = phone.lstrip("+") if channel != "telegram" else str(rng.randrange(10**8, 10**9))
        located = rng.random() < 0.3
        tickets.append(
            (
                ticket_id,
                channel,
                chat,
                "Warga",
                phone if channel != "telegram" else "",
                f"{text} (Desa {village})",
                category.id if agency else "",
                agency,
                status,
                -6.33 + rng.uniform(-0.2, 0.2) if located else None,
                108.32 + rng.uniform(-0.2, 0.2) if located else None,
                f"Desa {village}" if located else None,
                "id",
                t(created),
                t(created) if agency else None,
                t(deadline),
                t(answered),
                t(closed),
                t(closed),
                t(closed or created),
            )
        )
        events.append(
            (ticket_id, t(created), "system", "assigned", "new", "assigned", "", agency, "category")
        )
        messages.append((channel, chat, "in", ticket_id, text, t(created), "received"))
        if answered is not None:
            reply = "Terima kasih, petugas kami menuju lokasi."
            events.append(
                (
                    ticket_id,
                    t(answered),
                    f"staff:{agency}:Admin",
                    "replied",
                    "assigned",
                    "responded",
                    agency,
                    agency,
                    reply,
                )
            )
            messages.append((channel, chat, "out", ticket_id, reply, t(answered), "sent"))
        if len(tickets) >= BATCH:
            _flush(conn, tickets, events, messages)
    _flush(conn, tickets, events, messages)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - started


def _flush(conn: sqlite3.Connection, tickets: list, events: list, messages: list) -> None:
    conn.executemany(INSERT_TICKET, tickets)
    conn.executemany(INSERT_EVENT, events)
    conn.executemany(INSERT_MESSAGE, messages)
    tickets.clear()
    events.clear()
    messages.clear()


def write_config(directory: Path, database: Path) -> Path:
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    config["service"]["database"] = str(database)
    config["service"]["public_url"] = "http://127.0.0.1:8080"
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


def signed_in_client(service: object, role: str, agency_id: str, chat_id: str) -> object:
    """A browser-like client holding a desk session, signed in by a one-time link."""
    db = service.databases.get()
    now = service.clock()
    token = stored.issue_link(
        db, role, agency_id, "local", chat_id, "Bench", now, DESK_LINK_LIFETIME
    )
    client = service.app.test_client()
    response = client.get(f"/desk/login/{token}")
    assert response.status_code == 303, response.status_code
    return client


def timed(client: object, url: str, runs: int) -> tuple[list[float], int, int]:
    """Server times (ms) of `runs` GETs of `url`, the last status and body size."""
    times: list[float] = []
    status = size = 0
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        body = response.get_data()
        times.append((time.perf_counter() - started) * 1000)
        size = len(body)
        status = response.status_code if status in (0, 200) else status  # the first failure
    return times, status, size


def machine_speed_ms() -> float:
    """A yardstick for reading the figures elsewhere: the best of five runs of a plain
    Python loop (about 12-15 ms on a current laptop)."""
    return min(timeit.repeat("sum(range(10**6))", number=1, repeat=5)) * 1000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--keep", type=Path, help="build this file once and reuse it")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="iceta-bench-desk-") as scratch:
        directory = Path(scratch)
        database = args.keep or directory / "desk.db"
        config_path = write_config(directory, database)
        config = load_config(config_path)
        now = datetime.now(UTC)
        built = "reused"
        if not database.exists():
            seconds = build(database, args.tickets, config, now)
            built = f"built in {seconds:.0f} s"
        size_mb = os.path.getsize(database) / 1e6
        service = build_service(config, {}, directory)
        settle_heap()  # as serve does once it is built
        total = service.databases.get().execute("SELECT count(*) FROM tickets").fetchone()[0]
        print(
            f"I-Ceta web desk benchmark — {total:,} tickets ({size_mb:,.0f} MB, {built}); "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
            f"{os.cpu_count()} CPUs; {args.runs} runs per row; this machine's speed: "
            f"sum(range(10**6)) in {machine_speed_ms():.0f} ms"
        )
        dispatch = signed_in_client(service, "dispatch", "", config.dispatch.staff_chat)
        pupr = config.agency("pupr")
        assert pupr is not None
        agency = signed_in_client(service, "agency", "pupr", pupr.staff_chat)
        rng = random.Random(3)
        prefix = config.service.ticket_prefix
        today = now.astimezone(config.service.tz).date()
        week_from = (today - timedelta(days=400)).isoformat()
        week_to = (today - timedelta(days=393)).isoformat()

        def random_ticket() -> str:
            return f"/desk/tickets/{prefix}-{rng.randrange(1, total + 1):06d}"

        # The figures behind the overview's charts, the monthly report and the public page
        # are read once and kept for minutes: their first, uncached request, on its own.
        last_month = (today.replace(day=1) - timedelta(days=1)).isoformat()[:7]
        public = service.app.test_client()
        cold = [
            ("overview (12 weeks of charts)", dispatch, "/desk"),
            ("monthly report, last month", dispatch, f"/desk/reports/monthly?month={last_month}"),
            ("public page (30 days, 12 weeks)", public, "/publik"),
        ]
        print(f"\n{'first request, nothing kept yet':34} {'ms':>10}")
        for name, client, url in cold:
            (first,), status, _ = timed(client, url, 1)
            print(f"{name:34} {first:10.0f}{'' if status == 200 else f'  (HTTP {status})'}")

        rows: list[tuple[str, object, str | Callable[[], str], float]] = [
            ("list: open, by deadline", dispatch, "/desk/tickets", PAGE_TARGET_MS),
            (
                "list: every ticket, by deadline",
                dispatch,
                "/desk/tickets?status=all",
                PAGE_TARGET_MS,
            ),
            (
                "list: all, page 200",
                dispatch,
                "/desk/tickets?status=all&page=200",
                PAGE_TARGET_MS,
            ),
            (
                "list: agency + category, all",
                dispatch,
                "/desk/tickets?status=all&agency=pdam&category=air_bersih",
                PAGE_TARGET_MS,
            ),
            ("list: the agency's own, open", agency, "/desk/tickets", PAGE_TARGET_MS),
            ("list: overdue", dispatch, "/desk/tickets?status=assigned&overdue=1", PAGE_TARGET_MS),
            (
                "search: 'jalan rusak', all",
                dispatch,
                "/desk/tickets?status=all&q=jalan+rusak",
                PAGE_TARGET_MS,
            ),
            (
                "search: 'lohbener sampah', all",
                dispatch,
                "/desk/tickets?status=all&q=sampah+lohbener",
                PAGE_TARGET_MS,
            ),
            (
                "search: agency, 'jalan', all",
                agency,
                "/desk/tickets?status=all&q=jalan",
                PAGE_TARGET_MS,
            ),
            ("search: open, 'air'", dispatch, "/desk/tickets?q=air", PAGE_TARGET_MS),
            ("ticket page (random)", dispatch, random_ticket, PAGE_TARGET_MS),
            ("overview: call center", dispatch, "/desk", PAGE_TARGET_MS),
            ("overview: agency", agency, "/desk", PAGE_TARGET_MS),
            ("map: open, GeoJSON (~3,000 pins)", dispatch, "/desk/map.geojson", MAP_TARGET_MS),
            (
                "monthly report (kept figures)",
                dispatch,
                f"/desk/reports/monthly?month={last_month}",
                PAGE_TARGET_MS,
            ),
            ("public page (kept figures)", public, "/publik", PAGE_TARGET_MS),
        ]
        export_filter = f"status=all&from={week_from}&to={week_to}"
        exports = [
            ("export: CSV, one week", f"/desk/tickets?{export_filter}&format=csv"),
            ("export: XLSX, one week", f"/desk/tickets?{export_filter}&format=xlsx"),
        ]
        print(f"\n{'request':34} {'median ms':>10} {'p95 ms':>8} {'target':>8}  result")
        missed = 0

        def report(name: str, times: list[float], status: int, target: float, note: str) -> bool:
            median, p95 = statistics.median(times), percentile(times, 0.95)
            ok = status == 200 and p95 < target
            result = "ok" if ok else f"MISSED (HTTP {status})"
            print(f"{name:34} {median:10.1f} {p95:8.1f} {target:8.0f}  {result}{note}")
            return ok

        for name, client, url, target in rows:
            times: list[float] = []
            status = 0
            timed(client, url() if callable(url) else url, 1)  # warm: templates compiled
            for _ in range(args.runs):
                shown = url() if callable(url) else url
                one, answered, _ = timed(client, shown, 1)
                times += one
                status = answered if status in (0, 200) else status
            missed += not report(name, times, status, target, "")
        for name, url in exports:
            times, status, size = timed(dispatch, url, max(5, args.runs // 4))
            missed += not report(name, times, status, EXPORT_TARGET_MS, f" ({size / 1e6:.1f} MB)")
        exported = dispatch.get(f"/desk/tickets?{export_filter}&format=csv").get_data(as_text=True)
        exported_rows = sum(1 for _ in csv.reader(io.StringIO(exported))) - 1
        print(f"\nrows in each export: {exported_rows:,} (target: 10,000 rows in under 2 s)")
        if args.keep is None:
            print("(the database file is removed; --keep PATH keeps it)")
        return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
