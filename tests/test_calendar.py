"""The working calendar and the deadlines of docs/contract.md §14 on a fixed clock and a
real SQLite file: office hours, a weekend, a public holiday (Christmas, from the
holidays package) and a *cuti bersama* day (24 December, from `calendar.extra_days_off`);
response deadlines in working hours, resolution deadlines in working days by class,
reminders held to office hours, the escalation ladder across a restart, and validation
before closing.

The calendar of December 2026 these tests walk through (WIB):

    Wed 23  working day, 08:00-16:00
    Thu 24  cuti bersama (extra_days_off)
    Fri 25  Christmas (public holiday)
    Sat 26, Sun 27  weekend
    Mon 28 .. Thu 31  working days
    Fri  1 Jan 2027  New Year's Day (public holiday)
"""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError, parse_config
from bot.model import Attachment, Status
from bot.workdays import OfficeHours, WorkingCalendar
from storage.deadlines import assignments_between
from tests.harness import (
    DISPATCH_CHAT,
    PUPR_CHAT,
    SUPERVISOR_CHAT,
    TEST_CONFIG,
    Chat,
    Service,
)
from tests.test_conversation import file_road_complaint
from tests.test_desk import csrf_of, desk_app, sign_in

WIB = ZoneInfo("Asia/Jakarta")
HEAD_CHAT = "-1001000000100"  # the agency head's chat (first rung of the ladder)
SEKDA_CHAT = "-1001000000101"  # the regional secretary's chat (last rung)


def wib(day: int, hour: int, minute: int = 0, month: int = 12, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=WIB)


def config_with(**sla: Any) -> dict[str, Any]:
    config = copy.deepcopy(TEST_CONFIG)
    config["sla"] = {**config["sla"], "remind_outside_hours": False, **sla}
    config["calendar"] = {
        "office_hours": {
            "mon": "08:00-16:00",
            "tue": "08:00-16:00",
            "wed": "08:00-16:00",
            "thu": "08:00-16:00",
            "fri": "08:00-16:30",
        },
        "public_holidays": "ID",
        "extra_days_off": ["2026-12-24"],
    }
    return config


def start(tmp_path: Path, config: dict[str, Any], now: datetime) -> Service:
    service = Service.start(tmp_path, config)
    service.clock.now = now.astimezone(UTC)
    return service


def ticket_row(service: Service, ticket_id: int = 1) -> dict[str, Any]:
    return service.rows("SELECT * FROM tickets WHERE id = ?", [ticket_id])[0]


def local(stored: str) -> datetime:
    return datetime.fromisoformat(stored).astimezone(WIB)


def at(service: Service, moment: datetime) -> Any:
    service.clock.now = moment.astimezone(UTC)
    return service.scan_deadlines()


# --------------------------------------------------------------------------
# The calendar's arithmetic
# --------------------------------------------------------------------------


@pytest.fixture
def calendar() -> WorkingCalendar:
    return parse_config(config_with()).working_calendar


def test_days_off_are_the_weekend_the_public_holidays_and_cuti_bersama(
    calendar: WorkingCalendar,
) -> None:
    assert calendar.is_working_day(date(2026, 12, 23))
    assert not calendar.is_working_day(date(2026, 12, 24))  # cuti bersama, from config
    assert calendar.holiday_name(date(2026, 12, 25)) == "Christmas Day"
    assert not calendar.is_working_day(date(2026, 12, 25))
    assert not calendar.is_working_day(date(2026, 12, 26))
    assert not calendar.is_working_day(date(2026, 12, 27))
    assert calendar.is_working_day(date(2026, 12, 28))
    assert not calendar.is_working_day(date(2027, 1, 1))  # the next year is known too
    assert calendar.is_open(wib(23, 8))
    assert not calendar.is_open(wib(23, 16))  # closing time is closed
    assert not calendar.is_open(wib(23, 21))
    assert calendar.next_opening(wib(23, 21)) == wib(28, 8)
    assert calendar.next_opening(wib(23, 10)) == wib(23, 10)


def test_working_time_skips_nights_and_days_off(calendar: WorkingCalendar) -> None:
    # 2 h on Wednesday, nothing until Monday, 8 h Monday, 8 h Tuesday, 6 h Wednesday.
    assert calendar.add_working_time(wib(23, 14), timedelta(hours=24)) == wib(30, 14)
    assert calendar.add_working_time(wib(23, 14), timedelta(hours=2)) == wib(23, 16)
    assert calendar.add_working_time(wib(23, 20), timedelta(hours=1)) == wib(28, 9)
    assert calendar.working_time_between(wib(23, 14), wib(30, 14)) == timedelta(hours=24)
    assert calendar.working_time_between(wib(24, 9), wib(27, 23)) == timedelta(0)
    # Friday closes at 16:30.
    assert calendar.add_working_time(wib(18, 16), timedelta(hours=1)) == wib(21, 8, 30)


def test_working_days_are_counted_from_the_day_after(calendar: WorkingCalendar) -> None:
    # Mon 28, Tue 29, Wed 30, Thu 31, then Mon 4 Jan (1 Jan is New Year's Day).
    assert calendar.close_of_working_day(wib(23, 14), 5) == wib(4, 16, month=1, year=2027)
    assert calendar.close_of_working_day(wib(23, 23, 59), 1) == wib(28, 16)


def test_office_hours_and_days_off_are_checked_when_the_config_is_read() -> None:
    raw = config_with(escalation=[{"after_hours": 24, "chats": [1]}, {"after_hours": 0}])
    raw["calendar"]["office_hours"]["fri"] = "16:00-08:00"
    raw["calendar"]["extra_days_off"] = ["besok"]
    raw["calendar"]["public_holidays"] = "XX"
    with pytest.raises(ConfigError) as error:
        parse_config(raw)
    problems = "\n".join(error.value.problems)
    assert "calendar.office_hours.fri: must be office hours" in problems
    assert "calendar.extra_days_off[0]: must be a date" in problems
    assert "calendar.public_holidays: must be a country code" in problems
    assert "sla.escalation[1].chats: " in problems
    raw = config_with()
    raw["categories"][0]["class"] = "sengketaa"
    with pytest.raises(ConfigError) as error:
        parse_config(raw)
    assert error.value.problems == [
        "categories[0].class: unknown class 'sengketaa' "
        "(sla.resolution_days has: informasi, pengaduan, sengketa, lapangan)"
    ]
    assert OfficeHours.parse("07:30-16:00") == OfficeHours.parse(" 07:30 - 16:00 ")


# --------------------------------------------------------------------------
# Deadlines and reminders on the calendar
# --------------------------------------------------------------------------


def test_working_hours_deadline_and_reminders_only_in_office_hours(tmp_path: Path) -> None:
    service = start(tmp_path, config_with(response_calendar="working_hours"), wib(23, 14))
    siti = Chat(service, "citizen:siti", name="Siti Aminah")
    pupr = Chat(service, PUPR_CHAT, group=True, name="Budi")
    file_road_complaint(siti)
    row = ticket_row(service)
    assert local(row["deadline_at"]) == wib(30, 14)  # 24 office hours later
    assert local(row["resolution_deadline_at"]) == wib(4, 16, month=1, year=2027)
    acknowledgement = siti.last_bot_message()["text"]
    assert "Batas waktu tanggapan: 30 Des 2026 14.00 WIB" in acknowledgement, acknowledgement
    pupr.inbox()

    assert at(service, wib(30, 2)).reminders == 0  # 12 h before the deadline: night
    assert at(service, wib(30, 7, 59)).reminders == 0
    assert pupr.inbox() == ""
    assert at(service, wib(30, 8)).reminders == 1  # the offices open: the 12-hour stage
    assert "Pengingat: 1 tiket belum ditanggapi" in pupr.inbox()
    assert at(service, wib(30, 9)).reminders == 0  # said once
    assert at(service, wib(30, 12)).reminders == 1  # 2 h before, in office hours
    assert at(service, wib(30, 14)).overdue_alerts == 1
    assert "melewati batas 24 jam" in pupr.inbox()


def test_a_night_reminder_is_sent_when_remind_outside_hours_is_on(tmp_path: Path) -> None:
    service = start(tmp_path, config_with(remind_outside_hours=True), wib(23, 14))
    file_road_complaint(Chat(service, "citizen:siti", name="Siti Aminah"))
    assert local(ticket_row(service)["deadline_at"]) == wib(24, 14)  # calendar hours
    assert at(service, wib(24, 2)).reminders == 1  # 02:00 on a day off, as configured


def test_in_hours_mode_a_reminder_due_at_night_waits_for_the_morning(tmp_path: Path) -> None:
    # Filed Monday 21:00: deadline Tuesday 21:00, its 12-hour reminder at 09:00 Tuesday,
    # its 2-hour one at 19:00 (after closing): held, and past the deadline by morning.
    service = start(tmp_path, config_with(), wib(21, 21))
    pupr = Chat(service, PUPR_CHAT, group=True, name="Budi")
    file_road_complaint(Chat(service, "citizen:siti", name="Siti Aminah"))
    pupr.inbox()
    assert local(ticket_row(service)["deadline_at"]) == wib(22, 21)
    assert at(service, wib(22, 9)).reminders == 1
    assert at(service, wib(22, 19)).reminders == 0
    assert at(service, wib(22, 21)).overdue_alerts == 1  # the promise is 24 hours: kept


def test_a_pause_for_the_citizen_moves_both_deadlines_by_office_time(tmp_path: Path) -> None:
    service = start(tmp_path, config_with(response_calendar="working_hours"), wib(23, 9))
    siti = Chat(service, "citizen:siti", name="Siti Aminah")
    pupr = Chat(service, PUPR_CHAT, group=True, name="Budi")
    file_road_complaint(siti)
    before = ticket_row(service)
    assert local(before["deadline_at"]) == wib(30, 9)  # 7 h Wed, 8 h Mon, 8 h Tue, 1 h Wed
    service.clock.now = wib(23, 15).astimezone(UTC)
    pupr.says("/tanya ICT-000001 Di RT berapa tepatnya?")
    service.clock.now = wib(28, 10).astimezone(UTC)  # answered Monday 10:00
    assert "Pesan ini tentang pengaduan yang mana?" in siti.says("RT 03 RW 02, depan masjid")
    siti.says("1")
    after = ticket_row(service)
    # Paused 1 h on Wednesday and 2 h on Monday (the days off in between do not count).
    assert local(after["deadline_at"]) == wib(30, 12)
    # 4 Jan 16:00 plus 3 office hours: 5 Jan is Isra Mi'raj, so Wednesday 6 Jan 11:00.
    assert local(after["resolution_deadline_at"]) == wib(6, 11, month=1, year=2027)
    assert after["status"] == Status.ASSIGNED


def test_the_class_sets_the_resolution_deadline(tmp_path: Path) -> None:
    service = start(tmp_path, config_with(), wib(23, 9))
    siti = Chat(service, "citizen:siti", name="Siti Aminah")
    pupr = Chat(service, PUPR_CHAT, group=True, name="Budi")
    file_road_complaint(siti)
    assert ticket_row(service)["resolution_class"] == ""  # the category's: pengaduan
    answer = pupr.says("/kelas ICT-000001 lapangan")
    assert "ICT-000001 berkelas lapangan: batas penyelesaian 60 hari kerja" in answer
    row = ticket_row(service)
    assert row["resolution_class"] == "lapangan"
    # 60 working days after 23 Dec 2026: 4 in December, 19 in January (1 Jan, Isra Mi'raj
    # on 5 Jan off), 20 in February, and in March Nyepi (8th), Eid al-Fitr (10th, 11th)
    # and Good Friday (26th) off: the 60th is Monday 29 March.
    assert local(row["resolution_deadline_at"]) == wib(29, 16, month=3, year=2027)
    card = pupr.last_bot_message(1, kind="card")["text"]
    assert "Batas penyelesaian:" in card and "(lapangan, 60 hari kerja)" in card
    assert "tidak dikenal" in pupr.says("/kelas ICT-000001 darurat")
    assert ticket_row(service)["resolution_class"] == "lapangan"  # unchanged
    status = siti.says("status ICT-000001")
    assert "Target penyelesaian: 29 Mar 2027 16.00 WIB" in status, status


def test_the_resolution_deadline_is_reminded_alerted_and_recorded(tmp_path: Path) -> None:
    service = start(tmp_path, config_with(), wib(21, 9))  # Monday 21 December
    siti = Chat(service, "citizen:siti", name="Siti Aminah")
    pupr = Chat(service, PUPR_CHAT, group=True, name="Budi")
    supervisors = Chat(service, SUPERVISOR_CHAT, group=True, name="Pak Bupati")
    file_road_complaint(siti)
    # Tue 22, Wed 23, (24, 25 and the weekend off), Mon 28, Tue 29, Wed 30.
    assert local(ticket_row(service)["resolution_deadline_at"]) == wib(30, 16)
    pupr.says("/balas ICT-000001 Tim kami akan survei lokasi besok")  # the first response
    pupr.inbox(), supervisors.inbox()

    assert at(service, wib(30, 4)).reminders == 0  # 12 h before: at night, held
    assert at(service, wib(30, 8)).reminders == 1
    assert "1 tiket belum selesai, batas penyelesaian segera habis" in pupr.inbox()
    assert at(service, wib(30, 14)).reminders == 1  # the 2-hour stage
    pupr.inbox()
    assert at(service, wib(30, 16)).overdue_alerts == 1
    assert "1 tiket melewati batas penyelesaian" in supervisors.inbox()
    assert "Mohon segera diselesaikan" in pupr.inbox()
    [breach] = service.rows("SELECT detail FROM ticket_events WHERE action = 'breached'")
    assert breach["detail"] == "resolution 30 Des 2026 16.00 WIB"
    client = desk_app(service).test_client()
    sign_in(service, client, DISPATCH_CHAT, "Rina")
    page = client.get("/desk/tickets/ICT-000001").get_data(as_text=True)
    assert "Lewat batas penyelesaian" in page and "Lewat batas tanggapan" not in page
    assert "Pengingat penyelesaian 12 jam sebelum batas, ke Dinas PUPR" in page
    # Answered in time: the late fix is not a late response.
    assert service.rows("SELECT count(*) AS n FROM notices WHERE kind = 'overdue'")[0]["n"] == 0
    [stint] = assignments_between(service.databases.get(), wib(21, 0), wib(22, 0))
    assert stint.first_response_at is not None and not stint.breached
    assert at(service, wib(31, 9)).overdue_alerts == 0  # the next round is a day later


LADDER = [
    {"after_hours": 0, "chats": [int(HEAD_CHAT)]},
    {"after_hours": 24, "chats": [int(SUPERVISOR_CHAT)]},
    {"after_hours": 72, "chats": [int(SEKDA_CHAT)]},
]


def escalations(service: Service) -> list[tuple[str, str]]:
    service.delivery.drain()
    rows = service.rows(
        "SELECT chat_id, text FROM messages WHERE direction = 'out' AND text LIKE '⏫%' ORDER BY id"
    )
    return [(row["chat_id"], row["text"].split(":")[0]) for row in rows]


def test_escalation_steps_in_order_each_once_across_a_restart(tmp_path: Path) -> None:
    config = config_with(remind_outside_hours=True, escalation=LADDER)
    service = start(tmp_path, config, wib(21, 9))
    file_road_complaint(Chat(service, "citizen:siti", name="Siti Aminah"))
    assert at(service, wib(22, 8, 59)).escalations == 0
    report = at(service, wib(22, 9))  # the response deadline: the agency head
    assert (report.overdue_alerts, report.escalations) == (1, 1)
    head = Chat(service, HEAD_CHAT, group=True)
    assert head.inbox() == (
        "⏫ Eskalasi tahap 1: 1 tiket melewati batas tanggapan\n"
        "\nDinas PUPR (1)\n"
        "• ICT-000001 — Jalan dan jembatan rusak — terlambat 0 menit"
    )
    assert at(service, wib(23, 8, 59)).escalations == 0
    assert at(service, wib(23, 9)).escalations == 1  # 24 hours later: the supervisors
    assert "⏫ Eskalasi tahap 2: 1 tiket melewati batas tanggapan lebih dari 1 hari" in (
        Chat(service, SUPERVISOR_CHAT, group=True).inbox()
    )

    restarted = start(tmp_path, config, wib(23, 9))  # a new process on the same file
    assert restarted.scan_deadlines().escalations == 0
    assert at(restarted, wib(25, 8, 59)).escalations == 0
    assert at(restarted, wib(25, 9)).escalations == 1  # 72 hours later: the Sekda
    assert at(restarted, wib(25, 9, 1)).escalations == 0
    assert escalations(restarted) == [
        (HEAD_CHAT, "⏫ Eskalasi tahap 1"),
        (SUPERVISOR_CHAT, "⏫ Eskalasi tahap 2"),
        (SEKDA_CHAT, "⏫ Eskalasi tahap 3"),
    ]
    keys = restarted.rows("SELECT key FROM notices WHERE kind = 'escalation' ORDER BY id")
    assert [row["key"].split("@")[0] for row in keys] == ["step1", "step2", "step3"]
    client = desk_app(restarted).test_client()
    sign_in(restarted, client, DISPATCH_CHAT, "Rina")
    page = client.get("/desk/tickets/ICT-000001").get_data(as_text=True)
    assert f"Eskalasi tahap 1, ke {HEAD_CHAT}" in page
    assert "Eskalasi tahap 2, ke Supervisor" in page
    assert f"Eskalasi tahap 3, ke {SEKDA_CHAT}" in page


def test_escalation_steps_missed_while_down_are_sent_in_order(tmp_path: Path) -> None:
    service = start(tmp_path, config_with(escalation=LADDER), wib(21, 9))
    file_road_complaint(Chat(service, "citizen:siti", name="Siti Aminah"))
    assert at(service, wib(28, 10)).escalations == 3  # nothing ran for six days
    assert [chat for chat, _ in escalations(service)] == [HEAD_CHAT, SUPERVISOR_CHAT, SEKDA_CHAT]
    assert at(service, wib(28, 11)).escalations == 0


def test_an_answer_stops_the_response_ladder(tmp_path: Path) -> None:
    service = start(tmp_path, config_with(escalation=LADDER), wib(21, 9))
    file_road_complaint(Chat(service, "citizen:siti", name="Siti Aminah"))
    at(service, wib(22, 9))
    Chat(service, PUPR_CHAT, group=True, name="Budi").says("/balas ICT-000001 Sedang dicek")
    assert at(service, wib(25, 10)).escalations == 0
    assert escalations(service) == [(HEAD_CHAT, "⏫ Eskalasi tahap 1")]


# --------------------------------------------------------------------------
# Validation before closing
# --------------------------------------------------------------------------

PROOF = Attachment("photo", "local:jalan-ditambal.jpg", "image/jpeg", "jalan-ditambal.jpg")
PROOF_AGAIN = Attachment("photo", "local:jalan-diaspal.jpg", "image/jpeg", "jalan-diaspal.jpg")


def test_a_ticket_through_validation_sent_back_then_accepted_then_confirmed(
    tmp_path: Path,
) -> None:
    service = start(tmp_path, config_with(validate_resolution=True), wib(21, 9))
    siti = Chat(service, "citizen:siti", name="Siti Aminah")
    pupr = Chat(service, PUPR_CHAT, group=True, name="Budi")
    dispatch = Chat(service, DISPATCH_CHAT, group=True, name="Rina")
    supervisors = Chat(service, SUPERVISOR_CHAT, group=True, name="Pak Sekda")
    file_road_complaint(siti)
    deadline = ticket_row(service)["resolution_deadline_at"]
    pupr.inbox(), dispatch.inbox(), supervisors.inbox()

    # The agency says Selesai with a photo of the fix: it waits for validation.
    service.clock.now = wib(22, 10).astimezone(UTC)
    answer = pupr.says("/selesai ICT-000001 Lubang sudah ditambal", attachments=(PROOF,))
    assert "ICT-000001 ditandai selesai dan menunggu validasi" in answer
    assert ticket_row(service)["status"] == Status.AWAITING_VALIDATION
    card = pupr.last_bot_message(1, kind="card")
    assert "🔎 ICT-000001 · Menunggu validasi" in card["text"] and card["buttons"] == []
    assert siti.inbox() == ""  # the citizen is asked only once it is accepted
    request = dispatch.last_bot_message(1)
    assert request["text"] == (
        "🔎 Validasi ICT-000001: Dinas PUPR (Budi (pupr)) menyatakan sudah selesai.\n"
        "Catatan: Lubang sudah ditambal\n"
        "Bukti perbaikan: 1 foto terlampir.\n"
        "Terima: /terima ICT-000001 · Kembalikan: /kembalikan ICT-000001 <alasan>"
    )
    assert request["photos"] == ["jalan-ditambal.jpg"]
    assert [b["label"] for row in request["buttons"] for b in row] == ["✅ Terima", "↩️ Kembalikan"]
    assert "🔎 Validasi ICT-000001" in supervisors.inbox()
    # An agency cannot validate its own work.
    assert pupr.says("/terima ICT-000001") == (
        "Validasi ICT-000001 dilakukan oleh call center atau supervisor."
    )
    assert ticket_row(service)["status"] == Status.AWAITING_VALIDATION

    # Dispatch sends it back once, with the reason; the resolution clock keeps running.
    service.clock.now = wib(22, 11).astimezone(UTC)
    sent_back = dispatch.says("/kembalikan ICT-000001 Foto belum menunjukkan ruas yang dilaporkan")
    assert "ICT-000001 dikembalikan ke instansi" in sent_back
    assert (
        "↩️ Penyelesaian ICT-000001 dikembalikan oleh Rina (dispatch): "
        "Foto belum menunjukkan ruas yang dilaporkan"
    ) in pupr.inbox()
    row = ticket_row(service)
    assert (row["status"], row["resolution_deadline_at"]) == (Status.RESPONDED, deadline)
    assert siti.inbox() == ""

    # Fixed again; a supervisor accepts from the button; the citizen sees the proof.
    service.clock.now = wib(23, 9).astimezone(UTC)
    pupr.says("/selesai ICT-000001 Sudah diaspal ulang", attachments=(PROOF_AGAIN,))
    supervisors.inbox()
    service.clock.now = wib(23, 10).astimezone(UTC)
    assert "ICT-000001 diterima" in supervisors.presses("accept:1")
    assert "Penyelesaian ICT-000001 diterima oleh" in pupr.inbox()
    asked = siti.last_bot_message(1)
    assert asked["text"] == (
        "Dinas PUPR menyatakan pengaduan ICT-000001 sudah selesai ditangani.\n"
        "Catatan: Sudah diaspal ulang\n"
        "Apakah masalahnya sudah beres?\n1. Sudah beres\n2. Belum beres"
    )
    assert asked["photos"] == ["jalan-ditambal.jpg", "jalan-diaspal.jpg"]
    assert ticket_row(service)["status"] == Status.RESOLVED

    # The citizen confirms and rates.
    assert "Beri nilai layanan untuk ICT-000001" in siti.says("1")
    assert "Ada komentar?" in siti.says("5")
    assert "Pengaduan ICT-000001 ditutup" in siti.says("Cepat ditangani, terima kasih")
    assert ticket_row(service)["status"] == Status.CLOSED
    events = service.rows("SELECT action, actor, detail FROM ticket_events ORDER BY id")
    assert [(e["action"], e["actor"], e["detail"]) for e in events[2:]] == [
        ("validation_requested", "staff:pupr:Budi", "Lubang sudah ditambal"),
        ("sent_back", "staff:dispatch:Rina", "Foto belum menunjukkan ruas yang dilaporkan"),
        ("validation_requested", "staff:pupr:Budi", "Sudah diaspal ulang"),
        ("resolved", "staff:supervisor:Pak Sekda", "Sudah diaspal ulang"),
        ("confirmed", "citizen:local", ""),
        ("rated", "citizen:local", "5/5 Cepat ditangani, terima kasih"),
    ]
    # The first response was the agency's first Selesai, a day after assignment.
    [stint] = assignments_between(service.databases.get(), wib(21, 0), wib(22, 0))
    assert stint.first_response_at == wib(22, 10)


def test_validation_from_the_web_desk(tmp_path: Path) -> None:
    service = start(tmp_path, config_with(validate_resolution=True), wib(21, 9))
    siti = Chat(service, "citizen:siti", name="Siti Aminah")
    file_road_complaint(siti)
    siti.inbox()
    agency, dispatch = desk_app(service).test_client(), desk_app(service).test_client()
    sign_in(service, agency, PUPR_CHAT, "Budi")
    sign_in(service, dispatch, DISPATCH_CHAT, "Rina")

    page = agency.get("/desk/tickets/ICT-000001").get_data(as_text=True)
    assert "Batas penyelesaian" in page and "30 Des 2026 16.00 WIB (pengaduan)" in page
    response = agency.post(
        "/desk/tickets/ICT-000001/resolve", data={"csrf": csrf_of(page), "text": "Sudah ditambal"}
    )
    assert "done=done_resolve_validation" in response.headers["Location"]
    assert ticket_row(service)["status"] == Status.AWAITING_VALIDATION
    page = agency.get("/desk/tickets/ICT-000001").get_data(as_text=True)
    assert "/accept" not in page  # an agency is not offered validation
    refused = agency.post("/desk/tickets/ICT-000001/accept", data={"csrf": csrf_of(page)})
    assert "refused=action_validators_only" in refused.headers["Location"]
    assert ticket_row(service)["status"] == Status.AWAITING_VALIDATION

    page = dispatch.get("/desk/tickets/ICT-000001").get_data(as_text=True)
    assert 'action="/desk/tickets/ICT-000001/accept"' in page
    assert "Ditandai selesai, menunggu validasi" in page  # on the timeline
    empty = dispatch.post("/desk/tickets/ICT-000001/send_back", data={"csrf": csrf_of(page)})
    assert "refused=action_needs_text" in empty.headers["Location"]  # a reason is needed
    dispatch.post(
        "/desk/tickets/ICT-000001/send_back",
        data={"csrf": csrf_of(page), "text": "Belum ada foto"},
    )
    assert ticket_row(service)["status"] == Status.RESPONDED
    page = agency.get("/desk/tickets/ICT-000001").get_data(as_text=True)
    agency.post("/desk/tickets/ICT-000001/resolve", data={"csrf": csrf_of(page), "text": "Beres"})
    page = dispatch.get("/desk/tickets/ICT-000001").get_data(as_text=True)
    done = dispatch.post("/desk/tickets/ICT-000001/accept", data={"csrf": csrf_of(page)})
    assert "done=done_accept" in done.headers["Location"]
    assert "sudah selesai ditangani.\nCatatan: Beres\nApakah masalahnya sudah beres?" in (
        siti.inbox()
    )
    assert "Terima kasih!" in siti.says("1")
