"""Deadlines (docs/contract.md §6) with an injected clock on a real SQLite file: reminders
before the deadline, overdue alerts after it, pauses, transfers, auto-close, the
digest, and scans that restart or run at the same time.

The complaint of `file_road_complaint` is assigned to Dinas PUPR at 26 Nov 2026
09.00 WIB, so its deadline is 27 Nov 09.00 WIB; reminders are due 12 and 2 hours
before it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import deadlines, lifecycle
from bot.deadlines import Line, compose, text_length
from bot.model import LOCAL, Status, Ticket
from bot.session import Session
from handlers.deadlines import ScanReport, scan
from storage import deadlines as due
from storage.db import open_database, transaction
from storage.repository import SqliteStore
from tests.harness import (
    DLH_CHAT,
    PUPR_CHAT,
    START,
    SUPERVISOR_CHAT,
    TEST_CONFIG,
    Chat,
    Service,
)
from tests.test_conversation import file_road_complaint

DEADLINE = START + timedelta(hours=24)  # 27 Nov 2026 09.00 WIB
WIB_OFFSET = timedelta(hours=7)


@pytest.fixture
def service(tmp_path: Path) -> Service:
    return Service.start(tmp_path)


@pytest.fixture
def siti(service: Service) -> Chat:
    return Chat(service, "citizen:siti", name="Siti Aminah")


@pytest.fixture
def pupr(service: Service) -> Chat:
    return Chat(service, PUPR_CHAT, group=True, name="Budi")


@pytest.fixture
def supervisors(service: Service) -> Chat:
    return Chat(service, SUPERVISOR_CHAT, group=True, name="Pak Bupati")


def at(service: Service, moment: datetime) -> ScanReport:
    """Move the clock to `moment` and run one scan there."""
    service.clock.now = moment
    return service.scan_deadlines()


def file_tickets(service: Service, count: int, category: str = "jalan") -> list[Ticket]:
    """`count` complaints filed at once through the core (faster than chatting them in)."""
    db = service.databases.get()
    with transaction(db):
        session = Session(SqliteStore(db), service.config, service.clock.now, LOCAL)
        return [
            lifecycle.file_ticket(
                session,
                Ticket(
                    id=None,
                    citizen_channel=LOCAL,
                    citizen_chat_id=f"citizen:warga{index}",
                    citizen_name=f"Warga {index}",
                    description=f"Jalan berlubang di gang {index}, Desa Lohbener",
                    created_at=service.clock.now,
                    category_id=category,
                ),
            )
            for index in range(count)
        ]


# --------------------------------------------------------------------------
# What is due: the scan's queries decide the stage, once
# --------------------------------------------------------------------------

OFFSETS = [timedelta(hours=12), timedelta(hours=2)]
STAGES = [(offset, deadlines.reminder_label(offset)) for offset in OFFSETS]


def reminder_stages(service: Service, now: datetime) -> list[str]:
    db = service.databases.get()
    return [stage for _, stage in due.reminder_candidates(db, deadlines.REMINDER, now, STAGES)]


def overdue_rounds(service: Service, now: datetime) -> list[int]:
    db = service.databases.get()
    repeat = timedelta(hours=24)
    return [round_ for _, round_ in due.overdue_candidates(db, deadlines.OVERDUE, now, repeat)]


@pytest.mark.parametrize(
    ("before_deadline", "expected"),
    [
        (timedelta(hours=12, microseconds=1), []),
        (timedelta(hours=12), ["12h"]),
        (timedelta(hours=2, microseconds=1), ["12h"]),
        (timedelta(hours=2), ["2h"]),
        (timedelta(microseconds=1), ["2h"]),
        (timedelta(0), []),  # at the deadline it is overdue, no longer a reminder
    ],
)
def test_the_reminder_due_is_the_last_one_whose_moment_came(
    service: Service, siti: Chat, before_deadline: timedelta, expected: list[str]
) -> None:
    file_road_complaint(siti)
    assert reminder_stages(service, DEADLINE - before_deadline) == expected


@pytest.mark.parametrize(
    ("after_deadline", "expected"),
    [
        (timedelta(microseconds=-1), []),
        (timedelta(0), [0]),
        (timedelta(hours=24, microseconds=-1), [0]),
        (timedelta(hours=24), [1]),
        (timedelta(days=3, hours=1), [3]),
    ],
)
def test_overdue_rounds_start_at_the_deadline_and_repeat(
    service: Service, siti: Chat, after_deadline: timedelta, expected: list[int]
) -> None:
    file_road_complaint(siti)
    assert overdue_rounds(service, DEADLINE + after_deadline) == expected


@pytest.mark.parametrize(
    "changes",
    [
        {"status": Status.RESPONDED, "first_response_at": START},
        {"status": Status.WAITING_CITIZEN, "paused_at": START},
        {"status": Status.RESOLVED, "first_response_at": START, "resolved_at": START},
        {"status": Status.NEW, "agency_id": ""},
        {"status": Status.CLOSED},
    ],
)
def test_answered_waiting_resolved_or_unrouted_tickets_have_no_clock(
    service: Service, siti: Chat, changes: dict[str, object]
) -> None:
    file_road_complaint(siti)
    db = service.databases.get()
    store = SqliteStore(db)
    ticket = store.ticket(1)
    assert ticket is not None and ticket.deadline_at == DEADLINE
    for name, value in changes.items():
        setattr(ticket, name, value)
    with transaction(db):
        store.save_ticket(ticket)
    late = DEADLINE + timedelta(days=2)
    assert reminder_stages(service, DEADLINE - timedelta(hours=1)) == []
    assert overdue_rounds(service, late) == []
    assert not ticket.is_late(late)


def test_compose_splits_under_the_limit_in_order_and_repeats_group_headings() -> None:
    lines = [
        Line(f"• item {index:03d} " + "x" * 60, group=f"group {index // 30}")
        for index in range(100)
    ]

    def render(part: list[Line] | tuple[Line, ...], marker: str) -> str:
        body: list[str] = []
        group = None
        for line in part:
            if line.group != group:
                body.append(line.group)
            group = line.group
            body.append(line.text)
        return "\n".join([f"🚨 header{marker}", *body])

    messages = compose(lines, render, lambda index, total: f" ({index}/{total})", limit=1000)
    assert len(messages) > 3
    assert all(text_length(text) <= 1000 for text, _ in messages)
    assert [line for _, part in messages for line in part] == lines
    assert messages[0][0].startswith(f"🚨 header (1/{len(messages)})\ngroup 0\n• item 000")
    second_text, second_part = messages[1]
    assert second_text.split("\n")[1] == second_part[0].group  # the heading again


def test_a_line_too_long_for_any_message_is_shortened() -> None:
    [(text, _)] = compose(
        [Line("y" * 5000)], lambda part, _: "\n".join(line.text for line in part), str
    )
    assert text_length(text) <= deadlines.MESSAGE_LIMIT and text.endswith("…")


# --------------------------------------------------------------------------
# The scan: reminders and alerts at the right moment, each once
# --------------------------------------------------------------------------


def test_reminders_then_overdue_alerts_each_at_its_moment_and_once(
    service: Service, siti: Chat, pupr: Chat, supervisors: Chat
) -> None:
    file_road_complaint(siti)
    pupr.inbox()
    assert at(service, DEADLINE - timedelta(hours=12, minutes=1)) == ScanReport(
        DEADLINE - timedelta(hours=12, minutes=1)
    )
    assert pupr.inbox() == ""

    report = at(service, DEADLINE - timedelta(hours=12))
    assert (report.reminders, report.overdue_alerts) == (1, 0)
    reminder = pupr.inbox()
    assert reminder.startswith("⏰ Pengingat: 1 tiket belum ditanggapi, batas 24 jam")
    assert (
        "• ICT-000001 — Jalan dan jembatan rusak — sisa 12 jam (batas 27 Nov 2026 09.00 WIB)"
        in reminder
    )
    assert reminder.count("/balas ICT-000001") == 1, reminder  # the hint once
    assert "Balas pesan ini" in reminder  # one ticket: replying to it answers the citizen
    assert at(service, DEADLINE - timedelta(hours=11)).reminders == 0
    assert pupr.inbox() == ""

    assert at(service, DEADLINE - timedelta(hours=2)).reminders == 1
    assert "sisa 2 jam (batas 27 Nov 2026 09.00 WIB)" in pupr.inbox()
    assert supervisors.inbox() == ""

    report = at(service, DEADLINE)
    assert (report.reminders, report.overdue_alerts) == (0, 1)
    alert = supervisors.inbox()
    assert alert.startswith("🚨 1 tiket melewati batas 24 jam tanpa tanggapan")
    assert "Dinas PUPR (1)\n• ICT-000001 — Jalan dan jembatan rusak — terlambat 0 menit" in alert
    told = pupr.inbox()
    assert "Pimpinan sudah diberi tahu" in told and "/balas ICT-000001" in told
    assert at(service, DEADLINE + timedelta(hours=23, minutes=59)).overdue_alerts == 0
    assert supervisors.inbox() == "" and pupr.inbox() == ""

    assert at(service, DEADLINE + timedelta(hours=24)).overdue_alerts == 1  # repeated
    assert "terlambat 1 hari" in supervisors.inbox()
    assert "terlambat 1 hari" in pupr.inbox()
    breaches = service.rows(
        "select from_agency, to_status from ticket_events where action = 'breached'"
    )
    assert breaches == [{"from_agency": "pupr", "to_status": "assigned"}]  # recorded once


def test_a_late_ticket_says_it_is_late_on_its_card_and_in_the_citizens_status(
    service: Service, siti: Chat, pupr: Chat
) -> None:
    file_road_complaint(siti)
    card = pupr.last_bot_message(ticket_id=1, kind="card")["text"]
    assert card.startswith("🔴 ICT-000001") and "Menunggu tanggapan" in card
    service.clock.now = DEADLINE - timedelta(minutes=1)
    assert "batas tanggapan 27 Nov 2026 09.00 WIB" in siti.says("status")
    assert "TERLAMBAT" not in siti.says("status ICT-000001")

    at(service, DEADLINE + timedelta(minutes=5))
    card = pupr.last_bot_message(ticket_id=1, kind="card")["text"]
    assert card.startswith("⏰ ICT-000001"), card
    assert "TERLAMBAT — belum ditanggapi" in card and "Menunggu tanggapan" not in card
    listed = siti.says("status")
    assert "ICT-000001" in listed
    assert "TERLAMBAT, batas tanggapan 27 Nov 2026 09.00 WIB sudah lewat" in listed
    detail = siti.says("status ICT-000001")
    assert "TERLAMBAT: batas tanggapan 27 Nov 2026 09.00 WIB sudah lewat" in detail

    pupr.says("/balas ICT-000001 Tim kami berangkat besok pagi")  # answered: no longer late
    card = pupr.last_bot_message(ticket_id=1, kind="card")["text"]
    assert not card.startswith("⏰") and "TERLAMBAT" not in card
    assert "TERLAMBAT" not in siti.says("status")


def test_replying_to_a_one_ticket_reminder_answers_the_citizen(
    service: Service, siti: Chat, pupr: Chat
) -> None:
    file_road_complaint(siti)
    at(service, DEADLINE - timedelta(hours=2))
    reminder = pupr.last_bot_message(ticket_id=1)
    assert reminder["text"].startswith("⏰ Pengingat")
    siti.inbox()
    pupr.says("Tim kami berangkat sekarang", reply_to=reminder["message_id"])
    assert "Tanggapan Dinas PUPR untuk ICT-000001:\nTim kami berangkat sekarang" in siti.inbox()
    assert at(service, DEADLINE).overdue_alerts == 0


def test_answered_waiting_and_resolved_tickets_are_left_alone(
    service: Service, pupr: Chat, supervisors: Chat
) -> None:
    file_tickets(service, 3)
    service.clock.advance(hours=1)
    pupr.says("/balas ICT-000001 Sedang kami cek")
    pupr.says("/tanya ICT-000002 Di RT berapa?")
    pupr.says("/selesai ICT-000003 Sudah ditambal")
    pupr.inbox()
    for moment in (DEADLINE - timedelta(hours=12), DEADLINE - timedelta(hours=2), DEADLINE):
        assert at(service, moment) == ScanReport(moment)
    assert at(service, DEADLINE + timedelta(days=1)) == ScanReport(DEADLINE + timedelta(days=1))
    assert pupr.inbox() == "" and supervisors.inbox() == ""
    assert service.rows("select count(*) n from notices")[0]["n"] == 0


def test_waiting_for_the_citizen_pauses_the_clock(
    service: Service, siti: Chat, pupr: Chat, supervisors: Chat
) -> None:
    file_road_complaint(siti)
    service.clock.advance(hours=1)
    pupr.says("/tanya ICT-000001 Di RT berapa tepatnya?")
    question = siti.last_bot_message(ticket_id=1)
    assert at(service, DEADLINE - timedelta(hours=12)).reminders == 0  # paused: nothing
    service.clock.now = START + timedelta(hours=6)  # the citizen answers after 5 hours
    siti.says("RT 03 RW 02", reply_to=question["message_id"])
    pushed = DEADLINE + timedelta(hours=5)
    pupr.inbox()
    assert at(service, pushed - timedelta(hours=12, minutes=1)).reminders == 0
    assert at(service, pushed - timedelta(hours=12)).reminders == 1
    assert "sisa 12 jam (batas 27 Nov 2026 14.00 WIB)" in pupr.inbox()
    assert at(service, DEADLINE).overdue_alerts == 0  # the old deadline means nothing now
    assert at(service, pushed).overdue_alerts == 1
    assert "ICT-000001" in supervisors.inbox()


def test_a_transfer_restarts_the_clock_and_the_breach_stays_with_the_late_agency(
    service: Service, siti: Chat, pupr: Chat, supervisors: Chat
) -> None:
    file_road_complaint(siti)
    assert at(service, DEADLINE - timedelta(hours=12)).reminders == 1
    assert at(service, DEADLINE + timedelta(hours=1)).overdue_alerts == 1  # PUPR is late
    pupr.says("/alihkan ICT-000001 dlh")
    dlh = Chat(service, DLH_CHAT, group=True, name="Wati")
    dlh.inbox()
    transferred = service.clock.now
    # The new agency gets its own 24 hours and its own reminders.
    assert at(service, transferred + timedelta(hours=11)) == ScanReport(
        transferred + timedelta(hours=11)
    )
    assert at(service, transferred + timedelta(hours=12)).reminders == 1
    assert "⏰ Pengingat" in dlh.inbox() and "⏰" not in pupr.inbox()
    service.clock.advance(hours=1)
    dlh.says("/balas ICT-000001 Kami tangani minggu ini")
    assert at(service, transferred + timedelta(days=2)).overdue_alerts == 0

    breaches = service.rows("select from_agency from ticket_events where action = 'breached'")
    assert breaches == [{"from_agency": "pupr"}]
    supervisors.inbox()
    stats = supervisors.says("/statistik")
    assert "Dinas PUPR — terlambat sekarang: 0" in stats
    assert "7 hari terakhir: 1 diterima · 0/1 dijawab ≤24 jam (0%)" in stats
    assert "Dinas Lingkungan Hidup — terlambat sekarang: 0" in stats
    assert "7 hari terakhir: 1 diterima · 1/1 dijawab ≤24 jam (100%)" in stats


def test_resolved_tickets_close_after_confirm_days_without_an_answer(
    service: Service, siti: Chat, pupr: Chat
) -> None:
    file_road_complaint(siti)
    service.clock.advance(hours=2)
    pupr.says("/selesai ICT-000001 Lubang sudah ditambal")
    resolved = service.clock.now
    siti.inbox()
    pupr.inbox()
    assert at(service, resolved + timedelta(days=3, seconds=-1)).auto_closed == 0
    assert at(service, resolved + timedelta(days=3)).auto_closed == 1
    assert "ditutup karena tidak ada konfirmasi dalam 3 hari" in siti.inbox()
    assert "ditutup otomatis" in pupr.inbox()
    assert service.rows("select status from tickets") == [{"status": "closed"}]
    assert at(service, resolved + timedelta(days=4)).auto_closed == 0
    assert siti.inbox() == ""
    actions = [r["action"] for r in service.rows("select action from ticket_events")]
    assert actions.count("auto_closed") == 1


# --------------------------------------------------------------------------
# Batches: one message per group per scan, split, most urgent first
# --------------------------------------------------------------------------


def test_many_due_tickets_make_few_messages_under_telegrams_limit(
    service: Service, pupr: Chat, supervisors: Chat
) -> None:
    file_tickets(service, 30)
    service.clock.advance(hours=1)
    file_tickets(service, 30)  # deadlines an hour later: less urgent
    pupr.inbox()
    report = at(service, DEADLINE + timedelta(hours=1) - timedelta(hours=2))
    assert report.reminders == deadlines.MAX_TICKETS_PER_CHAT  # the rest next scan
    first_scan = [m for m in service.all_messages(PUPR_CHAT) if m["from"] == "bot"][-3:]
    messages = [m for m in first_scan if m["text"].startswith("⏰")]
    assert 1 < len(messages) <= 3
    for message in messages:
        assert len(message["text"].encode("utf-16-le")) // 2 <= 4096
        assert message["ticket_id"] is None  # several tickets: replying cannot answer one
        assert "/balas NOMOR" in message["text"]
    listed = "\n".join(m["text"] for m in messages)
    assert f"(1/{len(messages)})" in messages[0]["text"]
    assert listed.index("ICT-000001 ") < listed.index("ICT-000030 ") < listed.index("ICT-000031 ")
    assert "sisa 1 jam" in messages[0]["text"]  # the first thirty are due an hour earlier
    assert "…dan 20 tiket lain menyusul" in messages[-1]["text"]

    pupr.inbox()
    report = at(service, service.clock.now + timedelta(minutes=1))
    assert report.reminders == 20
    rest = pupr.inbox()
    assert rest.count("• ICT-") == 20 and "ICT-000060 " in rest and "ICT-000001 " not in rest
    reminded = service.rows("select ticket_id from notices where kind = 'reminder'")
    assert sorted(r["ticket_id"] for r in reminded) == list(range(1, 61))

    assert at(service, DEADLINE + timedelta(hours=1)).overdue_alerts == 40
    alert = supervisors.inbox()
    assert alert.count("• ICT-") == 40 and "Dinas PUPR (40)" in alert


def test_supervisors_overdue_alert_is_grouped_by_agency_and_never_a_reply_target(
    service: Service, supervisors: Chat
) -> None:
    file_tickets(service, 2, "jalan")
    file_tickets(service, 1, "sampah")
    at(service, DEADLINE + timedelta(minutes=5))
    alert = supervisors.last_bot_message()
    supervisors.inbox()
    assert alert["ticket_id"] is None
    assert "🚨 3 tiket melewati batas 24 jam" in alert["text"]
    assert "Dinas PUPR (2)\n• ICT-000001" in alert["text"]
    assert "Dinas Lingkungan Hidup (1)\n• ICT-000003" in alert["text"]
    assert alert["text"] == supervisors.says("/terlambat")  # /overdue reads the same numbers


# --------------------------------------------------------------------------
# Restarts and concurrent scans
# --------------------------------------------------------------------------


def test_a_restart_mid_way_sends_each_reminder_once_and_catches_up(
    tmp_path: Path, siti: Chat
) -> None:
    first = siti.service
    file_road_complaint(siti)
    first.clock.now = DEADLINE - timedelta(hours=12)
    assert first.scan_deadlines().reminders == 1  # committed, then the process dies unsent

    second = Service.start(tmp_path)  # a new process on the same file
    second.clock.now = first.clock.now
    assert second.scan_deadlines().reminders == 0
    reminders = [m for m in second.received(PUPR_CHAT) if m["text"].startswith("⏰")]
    assert len(reminders) == 1 and "sisa 12 jam" in reminders[0]["text"]

    # Down from before the 2-hour reminder until after it: the next scan sends it.
    third = Service.start(tmp_path)
    third.clock.now = DEADLINE - timedelta(minutes=30)
    assert third.scan_deadlines().reminders == 1
    assert "sisa 30 menit" in "\n".join(m["text"] for m in third.received(PUPR_CHAT))
    kinds = third.rows("select kind, key from notices order by id")
    assert [row["key"].split("@")[0] for row in kinds] == ["12h", "2h"]


def test_two_concurrent_scans_send_each_notice_once(service: Service, pupr: Chat) -> None:
    file_tickets(service, 5, "jalan")
    file_tickets(service, 3, "sampah")
    moment = DEADLINE  # each ticket is overdue: alerts to supervisors and both agencies
    barrier = threading.Barrier(2)
    reports: list[ScanReport] = []

    def run() -> None:
        db = open_database(service.path)  # its own connection, like another process
        try:
            barrier.wait()
            reports.append(scan(db, service.config, moment, LOCAL))
        finally:
            db.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(r.overdue_alerts for r in reports) == [0, 8]
    notices = service.rows("select kind, count(*) n from notices group by kind order by kind")
    # 8 tickets: one breach each, an alert to the supervisors and one to the agency
    assert notices == [{"kind": "breach", "n": 8}, {"kind": "overdue", "n": 16}]
    alerts = service.rows(
        "select chat_id, count(*) n from outbox where payload like '%🚨%' group by chat_id"
    )
    assert {row["chat_id"]: row["n"] for row in alerts} == {
        PUPR_CHAT: 1,
        DLH_CHAT: 1,
        SUPERVISOR_CHAT: 1,
    }


# --------------------------------------------------------------------------
# The digest and /stats
# --------------------------------------------------------------------------


def test_the_daily_digest_goes_out_once_at_digest_time_with_yesterdays_numbers(
    service: Service, supervisors: Chat, pupr: Chat
) -> None:
    file_tickets(service, 3)  # 26 Nov 09.00 WIB
    service.clock.advance(hours=3)
    pupr.says("/balas ICT-000001 Kami cek hari ini")  # answered in 3 hours
    service.clock.advance(hours=2)
    pupr.says("/balas ICT-000002 Besok kami datang")  # answered in 5 hours
    at(service, DEADLINE)  # ICT-000003 breaches at 27 Nov 09.00
    supervisors.inbox()

    service.clock.now = datetime(2026, 11, 28, 6, 59, tzinfo=UTC) - WIB_OFFSET
    assert service.send_digest() == 0  # before 07.00 WIB
    service.clock.now = datetime(2026, 11, 28, 7, 0, tzinfo=UTC) - WIB_OFFSET
    assert service.send_digest() == 1
    digest = supervisors.inbox()
    assert digest.startswith(
        "📊 Ringkasan harian I-Ceta, 28 Nov 2026\n"
        "Tiket yang diteruskan ke instansi 21 Nov 2026 – 27 Nov 2026\n"
    )
    assert "Dinas PUPR — terlambat sekarang: 1" in digest
    # yesterday (27 Nov) nothing was received; the week holds all three
    assert "  Kemarin (27 Nov 2026): 0 diterima · belum ada yang jatuh tempo" in digest
    assert (
        "  7 hari terakhir (21 Nov 2026 – 27 Nov 2026): 3 diterima · 2/3 dijawab ≤24 jam (67%)"
        " · median tanggapan pertama 3 jam"
    ) in digest
    assert "Hari ini" not in digest  # nothing was routed on 28 Nov
    assert "Tanpa tiket dalam 7 hari: Dinas Lingkungan Hidup, Dinas Kesehatan" in digest
    service.clock.advance(hours=3)
    assert service.send_digest() == 0  # once a day
    assert supervisors.inbox() == ""


def test_stats_and_the_digest_count_the_same_way(service: Service, supervisors: Chat) -> None:
    file_tickets(service, 2)
    service.clock.now = START + timedelta(hours=23)
    stats = supervisors.says("/stats")
    assert "24 jam terakhir: 2 diterima · belum ada yang jatuh tempo" in stats
    assert "Dinas PUPR — terlambat sekarang: 0" in stats
    service.clock.now = DEADLINE
    stats = supervisors.says("/stats")
    assert "Dinas PUPR — terlambat sekarang: 2" in stats
    assert "2 diterima · 0/2 dijawab ≤24 jam (0%)" in stats  # overdue counts before the scan


def test_stats_without_any_ticket(supervisors: Chat) -> None:
    assert "Belum ada tiket." in supervisors.says("/stats")


# --------------------------------------------------------------------------
# The queries
# --------------------------------------------------------------------------


def test_no_query_of_a_scan_or_the_digest_reads_a_whole_table(
    service: Service, siti: Chat, pupr: Chat
) -> None:
    """Every read goes through an index, so closed tickets cost nothing (bench/ measures it)."""
    file_road_complaint(siti)
    file_tickets(service, 3)
    service.clock.advance(hours=1)
    pupr.says("/balas ICT-000002 Kami cek")
    pupr.says("/selesai ICT-000003 Sudah")
    at(service, DEADLINE - timedelta(hours=2))
    db = service.databases.get()
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    try:
        at(service, DEADLINE + timedelta(days=4))
        service.clock.now += timedelta(hours=22)  # after 07.00 WIB
        assert service.send_digest() == 1
    finally:
        db.conn.set_trace_callback(None)
    reads = [
        sql
        for sql in statements
        if sql.lstrip().upper().startswith(("SELECT", "WITH")) and "sqlite_master" not in sql
    ]
    assert len(reads) > 5
    for sql in reads:
        plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}")]
        full_scans = [step for step in plan if step.startswith("SCAN") and "VIRTUAL" not in step]
        assert full_scans == [], (sql, plan)
        # by ticket too, not only by kind (which would read every reminder ever sent)
        notices = [step for step in plan if "notices_once" in step]
        assert all("<expr>=?" in step for step in notices), (sql, plan)
    used = " ".join(row[3] for sql in reads for row in db.execute(f"EXPLAIN QUERY PLAN {sql}"))
    for index in (
        "tickets_awaiting_response",
        "tickets_awaiting_resolution",
        "tickets_awaiting_confirmation",
        "notices_once",
        "ticket_events_by_action",
    ):
        assert index in used


def test_a_scan_records_the_stage_its_query_found_and_says_it_once(
    service: Service, siti: Chat
) -> None:
    file_road_complaint(siti)
    db = service.databases.get()
    now = DEADLINE - timedelta(hours=2)
    [(ticket, stage)] = due.reminder_candidates(db, deadlines.REMINDER, now, STAGES)
    assert stage == "2h"
    at(service, now)
    keys = [row["key"] for row in db.query("SELECT key FROM notices WHERE kind = 'reminder'")]
    assert keys == [deadlines.notice_key("2h", ticket)]
    assert reminder_stages(service, now) == []
    later = DEADLINE + timedelta(hours=48, microseconds=5)
    assert overdue_rounds(service, later) == [2]
    assert overdue_rounds(service, later - timedelta(microseconds=6)) == [1]
    at(service, later)
    keys = [row["key"] for row in db.query("SELECT key FROM notices WHERE kind = 'overdue'")]
    assert set(keys) == {deadlines.notice_key(2, ticket)}
    assert overdue_rounds(service, later) == []


def test_english_staff_texts(tmp_path: Path) -> None:
    config = {**TEST_CONFIG, "service": {**TEST_CONFIG["service"], "language": "en"}}
    service = Service.start(tmp_path, config)
    file_tickets(service, 2)
    at(service, DEADLINE - timedelta(hours=2))
    reminder = Chat(service, PUPR_CHAT, group=True).inbox()
    assert "⏰ Reminder: 2 tickets without a response, the 24-hour deadline is near" in reminder
    assert "answer each ticket with /reply NUMBER" in reminder


# --------------------------------------------------------------------------
# Over Telegram: the real sender, a local stand-in of the Bot API
# --------------------------------------------------------------------------


def test_a_reminder_in_a_telegram_group_is_answered_by_replying_to_it(tmp_path: Path) -> None:
    from tests.fakes import telegram_api as tg
    from tests.fakes.telegram_api import FakeTelegramApi
    from tests.test_telegram import BUDI, CITIZEN, PUPR, SUPERVISORS, start_world

    with FakeTelegramApi() as api:
        world = start_world(tmp_path, api)
        world.file_complaint()
        [(deadline_text,)] = [
            tuple(r.values()) for r in world.rows("select deadline_at from tickets")
        ]
        deadline = datetime.fromisoformat(deadline_text)
        db, config = world.service.databases.get(), world.service.config
        assert scan(db, config, deadline - timedelta(hours=2), "telegram").reminders == 1
        world.service.delivery.clock = lambda: deadline  # deliver as of the scan
        world.service.delivery.drain()
        [reminder] = [m for m in api.sent_to(PUPR) if (m.get("text") or "").startswith("⏰")]
        assert "ICT-000001 — Jalan dan jembatan rusak — sisa 2 jam" in reminder["text"]
        world.post(tg.group_text(PUPR, BUDI, "Tim sudah di lokasi", reply_to_message=reminder))
        assert (
            "Tanggapan Dinas PUPR untuk ICT-000001:\nTim sudah di lokasi"
            in world.texts(CITIZEN)[-1]
        )
        assert scan(db, config, deadline, "telegram").overdue_alerts == 0
        assert not [t for t in world.texts(SUPERVISORS) if t.startswith("🚨")]


def test_serve_schedules_one_scan_a_minute_and_the_digest_at_digest_time(tmp_path: Path) -> None:
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    from bot.config import parse_config
    from run_bot import build_service

    service = build_service(parse_config(TEST_CONFIG), {}, tmp_path)
    jobs = {job.id: job for job in service.scheduler.get_jobs()}  # type: ignore[attr-defined]
    assert set(jobs) == {"forget-old-deliveries", "deadline-scan", "daily-digest", "retention"}
    scan_job, digest_job = jobs["deadline-scan"], jobs["daily-digest"]
    assert isinstance(scan_job.trigger, IntervalTrigger)
    assert scan_job.trigger.interval == timedelta(minutes=1)
    assert isinstance(digest_job.trigger, CronTrigger)
    assert str(digest_job.trigger.timezone) == "Asia/Jakarta"
    fields = {field.name: str(field) for field in digest_job.trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("7", "0")
    for job in (scan_job, digest_job):
        assert job.max_instances == 1 and job.coalesce  # a slow run never overlaps the next


def test_a_digest_on_the_day_of_the_first_tickets_says_they_count_tomorrow(
    service: Service, supervisors: Chat
) -> None:
    service.clock.now = datetime(2026, 11, 26, 6, 0, tzinfo=UTC) - WIB_OFFSET
    file_tickets(service, 2)  # 26 Nov 06.00 WIB, before the 07.00 digest
    service.clock.now = datetime(2026, 11, 26, 7, 0, tzinfo=UTC) - WIB_OFFSET
    assert service.send_digest() == 1
    digest = supervisors.inbox()
    assert digest.startswith(
        "📊 Ringkasan harian I-Ceta, 26 Nov 2026\n"
        "Tiket yang diteruskan ke instansi 19 Nov 2026 – 25 Nov 2026\n"
    )
    assert "Tidak ada tiket yang diteruskan ke instansi 19 Nov 2026 – 25 Nov 2026." in digest
    assert "Belum ada tiket" not in digest
    assert (
        "Hari ini sampai 26 Nov 2026 07.00 WIB: 2 tiket sudah diteruskan; "
        "angkanya masuk ringkasan besok."
    ) in digest

    service.clock.now = datetime(2026, 11, 27, 7, 0, tzinfo=UTC) - WIB_OFFSET
    assert service.send_digest() == 1
    digest = supervisors.inbox()
    assert "Dinas PUPR — terlambat sekarang: 2" in digest  # 24 hours passed unanswered
    assert "  Kemarin (26 Nov 2026): 2 diterima" in digest


def test_no_digest_before_the_first_ticket_ever(service: Service, supervisors: Chat) -> None:
    service.clock.now = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)  # 08.00 WIB
    assert service.send_digest() == 0
    assert supervisors.inbox() == ""
    assert service.rows("select count(*) n from notices") == [{"n": 0}]
