"""storage/ against real SQLite files: what goes in is what is stored and read back."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlite_utils import Database

from bot.model import (
    OPEN_STATUSES,
    Attachment,
    Button,
    Conversation,
    Inbound,
    Location,
    Outbound,
    Status,
    Ticket,
    TicketEvent,
)
from storage import (
    SqliteStore,
    backlog,
    card_message_id,
    chat_messages,
    claim_due,
    failed_count,
    first_delivery,
    from_db_time,
    mark_failed,
    mark_held,
    mark_retry,
    mark_sent,
    open_database,
    ping,
    record_inbound,
    record_notice,
    release_held,
    to_db_time,
    transaction,
)
from storage.migrations import migrations

WIB = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 11, 26, 21, 0, tzinfo=WIB)  # 14:00 UTC
TABLES = {
    "tickets",
    "ticket_events",
    "messages",
    "conversations",
    "outbox",
    "seen_inbound",
    "notices",
    "ratings",
    "chat_migrations",
}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "iceta.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[Database]:
    database = open_database(db_path)
    yield database
    database.close()


@pytest.fixture
def store(db: Database) -> SqliteStore:
    return SqliteStore(db)


def make_ticket(**changes: Any) -> Ticket:
    values: dict[str, Any] = {
        "id": None,
        "citizen_channel": "whatsapp",
        "citizen_chat_id": "whatsapp:+6281234567890",
        "citizen_name": "Siti Nurhaliza",
        "description": "Jalan berlubang di depan SDN 1 Jatibarang",
        "created_at": NOW,
    }
    values.update(changes)
    return Ticket(**values)


def add_ticket(db: Database, **changes: Any) -> Ticket:
    with transaction(db):
        return SqliteStore(db).add_ticket(make_ticket(**changes))


def queue(db: Database, outbound: Outbound, now: datetime = NOW) -> int:
    """Queue one message in its own transaction; returns the outbox row id."""
    with transaction(db):
        SqliteStore(db).queue(outbound, now)
    return db.execute("SELECT max(id) FROM outbox").fetchone()[0]


def outbox_row(db: Database, item_id: int) -> dict[str, Any]:
    return next(db.query("SELECT * FROM outbox WHERE id = ?", [item_id]))


# Connection and migrations


def test_open_database_creates_folder_applies_migrations_and_sets_pragmas(db_path: Path) -> None:
    db = open_database(db_path)
    try:
        assert db_path.is_file()
        assert set(db.table_names()) >= TABLES
        applied = [m.name for m in migrations.applied(db)]
        assert applied[0] == "m001_initial"
        assert applied == [m.name for m in migrations._migrations]  # every one, in order
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.execute("PRAGMA busy_timeout").fetchone()[0] == 10000
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert ping(db)
    finally:
        db.close()
    assert not ping(db)

    reopened = open_database(db_path)
    try:
        assert [m.name for m in migrations.applied(reopened)] == applied
        assert migrations.pending(reopened) == []
        count = reopened.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0]
        assert count == len(applied)
    finally:
        reopened.close()


def test_upgrading_keeps_conversations_and_seen_messages(db_path: Path) -> None:
    """m006 rebuilds two tables in place: what an older database held is all still there."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    old = Database(sqlite3.connect(db_path, isolation_level=None))
    migrations.apply(old, stop_before="m006_keyed_tables_without_rowid")
    old.execute(
        "INSERT INTO conversations (channel, chat_id, state, draft, name, phone, updated_at) "
        "VALUES ('whatsapp', 'whatsapp:+6281200000001', 'category', '{\"description\": \"x\"}', "
        "'Siti', '+6281200000001', '2026-11-26T02:00:00.000000+00:00')"
    )
    old.execute(
        "INSERT INTO seen_inbound VALUES ('telegram', '501', '2026-11-26T02:00:00.000000+00:00')"
    )
    old.conn.close()

    db = open_database(db_path)
    try:
        assert migrations.pending(db) == []
        conversation = SqliteStore(db).conversation("whatsapp", "whatsapp:+6281200000001")
        assert conversation is not None
        assert (conversation.state, conversation.name, conversation.draft) == (
            "category",
            "Siti",
            {"description": "x"},
        )
        assert db.execute("SELECT * FROM seen_inbound").fetchall() == [
            ("telegram", "501", "2026-11-26T02:00:00.000000+00:00")
        ]
        for table in ("conversations", "seen_inbound"):
            assert "WITHOUT ROWID" in db.table(table).schema
    finally:
        db.close()


def test_migrations_on_memory_database() -> None:
    db = open_database(":memory:")
    assert set(db.table_names()) >= TABLES
    assert migrations.pending(db) == []
    tickets = db.table("tickets")
    assert set(tickets.columns_dict) == {
        "id",
        "citizen_channel",
        "citizen_chat_id",
        "citizen_name",
        "citizen_phone",
        "description",
        "category_id",
        "agency_id",
        "status",
        "confidential",
        "latitude",
        "longitude",
        "address",
        "attachments",
        "language",
        "created_at",
        "assigned_at",
        "deadline_at",
        "first_response_at",
        "paused_at",
        "resolved_at",
        "closed_at",
        "claimed_by",
        "status_reason",
        "updated_at",
        "anonymised_at",
        "resolution_class",
        "resolution_deadline_at",
        "proof",
    }
    # Every Ticket field has a column (location as three), so nothing is dropped.
    ticket_fields = {f.name for f in fields(Ticket)} - {"location"}
    # (anonymised_at is the retention job's bookkeeping, not part of a Ticket)
    retention = {"anonymised_at"}
    assert ticket_fields | {"latitude", "longitude", "address"} | retention == set(
        tickets.columns_dict
    )
    conversation_fields = {f.name for f in fields(Conversation)}
    assert conversation_fields == set(db.table("conversations").columns_dict)
    assert {"ticket_id", "at", "actor", "action", "from_status", "to_status"} <= set(
        db.table("ticket_events").columns_dict
    )
    assert db.table("conversations").pks == ["channel", "chat_id"]
    assert db.table("seen_inbound").pks == ["channel", "provider_id"]
    assert db.table("chat_migrations").pks == ["channel", "old_chat_id"]
    assert db.table("ratings").pks == ["ticket_id"]
    assert "AUTOINCREMENT" in tickets.schema
    index_names = {
        row["name"]
        for row in db.query(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
    }
    assert {
        "tickets_open_by_agency",
        "tickets_by_citizen",
        "tickets_open_status",
        "ticket_events_by_ticket",
        "messages_by_provider_id",
        "messages_by_ticket",
        "messages_by_chat",
        "outbox_queue",
        "notices_once",
    } <= index_names
    db.close()


def test_migration_names_are_strictly_ordered() -> None:
    names = [m.name for m in migrations._migrations]
    assert names == sorted(names)
    assert all(name[0] == "m" and name[1:4].isdigit() for name in names)
    assert [int(name[1:4]) for name in names] == list(range(1, len(names) + 1))


def test_partial_index_statuses_match_open_statuses(db: Database) -> None:
    schema = db.table("tickets").schema + "".join(
        row["sql"] for row in db.query("SELECT sql FROM sqlite_master WHERE tbl_name = 'tickets'")
    )
    open_list = "'waiting_citizen', 'awaiting_validation', 'resolved')"
    assert f"status IN ('new', 'assigned', 'responded', {open_list}" in schema
    assert "'waiting_citizen', 'resolved')" not in schema  # every open index was rebuilt
    assert {str(s) for s in OPEN_STATUSES} == {
        "new",
        "assigned",
        "responded",
        "waiting_citizen",
        "awaiting_validation",
        "resolved",
    }


def test_agency_open_tickets_query_uses_the_partial_index(db: Database, store: SqliteStore) -> None:
    statements: list[tuple[str, Any]] = []
    with db.tracer(lambda sql, params: statements.append((sql, params))):
        store.agency_open_tickets("pupr")
    sql, params = next((s, p) for s, p in statements if "FROM tickets" in s)
    plan = " ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + sql, params))
    assert "tickets_open_by_agency" in plan


# Times


def test_db_time_is_fixed_width_utc_and_text_order_is_time_order() -> None:
    assert to_db_time(NOW) == "2026-11-26T14:00:00.000000+00:00"
    assert to_db_time(None) is None
    back = from_db_time(to_db_time(NOW))
    assert back == NOW and back.tzinfo == UTC
    assert from_db_time(None) is None and from_db_time("") is None
    earlier_in_utc = datetime(2026, 11, 26, 13, 59, 59, 999999, tzinfo=UTC)
    later_in_wib = datetime(2026, 11, 26, 21, 0, 0, 1, tzinfo=WIB)
    assert to_db_time(earlier_in_utc) < to_db_time(NOW) < to_db_time(later_in_wib)
    with pytest.raises(ValueError, match="naive"):
        to_db_time(datetime(2026, 11, 26, 14, 0))


# Tickets


def test_ticket_numbers_increase_survive_reopen_and_are_never_reused(db_path: Path) -> None:
    db = open_database(db_path)
    first = add_ticket(db)
    second = add_ticket(db)
    assert (first.id, second.id) == (1, 2)
    db.close()

    db = open_database(db_path)
    db.execute("DELETE FROM tickets WHERE id = 2")  # never done by the service
    third = add_ticket(db)
    assert third.id == 3
    db.close()


def test_ticket_round_trip_with_every_field(db: Database, store: SqliteStore) -> None:
    ticket = make_ticket(
        citizen_name="Dédé 🌧️ <b>Rahmat</b>",
        citizen_phone="+6281234567890",
        description='Banjir 50 cm 🌊 di Jl. Jend. Sudirman; air masuk rumah & "sekolah"\'',
        category_id="banjir",
        agency_id="pupr",
        status=Status.ASSIGNED,
        confidential=True,
        location=Location(-6.3275, 108.3249, "Jl. Jend. Sudirman No. 1, Indramayu"),
        attachments=[
            Attachment("photo", "AgACAgUAAxkBAAIB", "image/jpeg", "banjir.jpg"),
            Attachment("voice", "media/voice/01.ogg", "audio/ogg"),
        ],
        language="en",
        assigned_at=NOW + timedelta(minutes=5),
        deadline_at=NOW + timedelta(hours=24, minutes=5),
        first_response_at=NOW + timedelta(hours=2),
        paused_at=NOW + timedelta(hours=3),
        resolved_at=NOW + timedelta(days=1),
        closed_at=NOW + timedelta(days=4),
        claimed_by="tg:5551234",
        status_reason="butuh alat berat",
        updated_at=NOW + timedelta(days=4, seconds=1),
    )
    with transaction(db):
        saved = store.add_ticket(ticket)
    assert saved.id == 1 and ticket.id is None  # a copy, the argument is untouched

    loaded = store.ticket(1)
    assert loaded == saved
    assert loaded is not None and loaded.created_at.tzinfo == UTC
    row = db.table("tickets").get(1)
    assert row["created_at"] == "2026-11-26T14:00:00.000000+00:00"
    assert row["deadline_at"] == "2026-11-27T14:05:00.000000+00:00"
    assert row["confidential"] == 1
    assert row["status"] == "assigned"
    assert (row["latitude"], row["longitude"]) == (-6.3275, 108.3249)
    assert json.loads(row["attachments"])[0] == {
        "kind": "photo",
        "ref": "AgACAgUAAxkBAAIB",
        "mime": "image/jpeg",
        "name": "banjir.jpg",
    }
    assert "🌊" in row["description"]  # stored as text, not escaped

    assert loaded is not None
    loaded.status = Status.CLOSED
    loaded.agency_id = "dlh"
    loaded.location = None
    loaded.attachments = []
    loaded.deadline_at = None
    with transaction(db):
        store.save_ticket(loaded)
    assert store.ticket(1) == loaded
    assert store.ticket(2) is None


def test_ticket_location_none_and_address_only(store: SqliteStore, db: Database) -> None:
    no_location = add_ticket(db)
    address_only = add_ticket(db, location=Location(address="Pasar Baru Indramayu"))
    assert store.ticket(no_location.id or 0) is not None
    assert store.ticket(no_location.id or 0).location is None  # type: ignore[union-attr]
    assert store.ticket(address_only.id or 0).location == Location(  # type: ignore[union-attr]
        None, None, "Pasar Baru Indramayu"
    )


def test_save_ticket_needs_an_existing_ticket(store: SqliteStore) -> None:
    with pytest.raises(ValueError):
        store.save_ticket(make_ticket())
    with pytest.raises(LookupError):
        store.save_ticket(make_ticket(id=99))


def test_citizen_tickets_newest_first_and_open_only(db: Database, store: SqliteStore) -> None:
    old = add_ticket(db, status=Status.CLOSED)
    new = add_ticket(db, status=Status.ASSIGNED)
    add_ticket(db, citizen_chat_id="whatsapp:+6289999999999")
    chat = ("whatsapp", "whatsapp:+6281234567890")
    assert [t.id for t in store.citizen_tickets(*chat)] == [new.id, old.id]
    assert [t.id for t in store.citizen_tickets(*chat, open_only=True)] == [new.id]
    assert store.citizen_tickets("telegram", "whatsapp:+6281234567890") == []


def test_agency_open_tickets_by_deadline_then_number(db: Database, store: SqliteStore) -> None:
    late = add_ticket(db, agency_id="pupr", status=Status.ASSIGNED, deadline_at=NOW + timedelta(2))
    no_deadline = add_ticket(db, agency_id="pupr", status=Status.WAITING_CITIZEN)
    soon = add_ticket(db, agency_id="pupr", status=Status.RESPONDED, deadline_at=NOW)
    # Same instant written in another timezone sorts by time, then by number.
    soon_too = add_ticket(
        db, agency_id="pupr", status=Status.RESOLVED, deadline_at=NOW.astimezone(UTC)
    )
    add_ticket(db, agency_id="pupr", status=Status.CLOSED, deadline_at=NOW - timedelta(1))
    add_ticket(db, agency_id="dlh", status=Status.ASSIGNED, deadline_at=NOW - timedelta(1))
    dispatch = add_ticket(db, agency_id="", status=Status.NEW)

    assert [t.id for t in store.agency_open_tickets("pupr")] == [
        soon.id,
        soon_too.id,
        late.id,
        no_deadline.id,
    ]
    assert [t.id for t in store.agency_open_tickets("")] == [dispatch.id]
    assert [t.id for t in store.all_open_tickets()] == [1, 2, 3, 4, 6, 7]


def test_events_round_trip_in_order(db: Database, store: SqliteStore) -> None:
    ticket = add_ticket(db)
    assert ticket.id is not None
    created = TicketEvent(ticket.id, NOW, "citizen", "created", to_status="new")
    routed = TicketEvent(
        ticket.id,
        NOW + timedelta(minutes=1),
        "tg:777 (Operator Ani)",
        "assigned",
        from_status="new",
        to_status="assigned",
        from_agency="",
        to_agency="pupr",
        detail="kategori: jalan — rute otomatis ✅",
    )
    with transaction(db):
        store.add_event(created)
        store.add_event(routed)
    assert store.events(ticket.id) == [created, routed]
    assert store.events(ticket.id + 1) == []


def test_foreign_keys_are_enforced(store: SqliteStore) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        store.add_event(TicketEvent(404, NOW, "x", "created"))


# Conversations


def test_conversation_round_trip_and_replace(db: Database, store: SqliteStore) -> None:
    assert store.conversation("telegram", "123") is None
    conversation = Conversation(
        channel="telegram",
        chat_id="123",
        state="category",
        draft={"description": "Lampu PJU mati 💡 <i>3 malam</i>", "photos": ["AgAC", "AgAD"]},
        context={"ticket_id": 42, "suggested": ["jalan", "pju"]},
        language="id",
        welcomed=True,
        opted_out=False,
        name="Ujang",
        phone="",
        updated_at=NOW,
        last_inbound_at=NOW - timedelta(seconds=3),
    )
    with transaction(db):
        store.save_conversation(conversation)
    assert store.conversation("telegram", "123") == conversation
    assert store.conversation("whatsapp", "123") is None

    conversation.state = "idle"
    conversation.draft = {}
    conversation.opted_out = True
    with transaction(db):
        store.save_conversation(conversation)
    assert store.conversation("telegram", "123") == conversation
    assert db.table("conversations").count == 1


# Transactions


def test_transaction_rollback_leaves_nothing(db: Database, store: SqliteStore) -> None:
    with pytest.raises(RuntimeError, match="boom"), transaction(db):
        store.add_ticket(make_ticket())
        store.queue(Outbound("telegram", "1", "halo"), NOW)
        assert first_delivery(db, "telegram", "update-1", NOW)
        record_notice(db, "reminder", None, "12h", "-100", NOW)
        raise RuntimeError("boom")
    for table in TABLES:
        assert db.table(table).count == 0, table
    assert not db.conn.in_transaction
    # The delivery was not marked seen, so the provider's retry is handled...
    assert first_delivery(db, "telegram", "update-1", NOW)
    # ...and the rolled-back ticket did not use up a number.
    assert add_ticket(db).id == 1


def test_transaction_commit_is_visible_to_another_connection(db_path: Path) -> None:
    writer = open_database(db_path)
    reader = open_database(db_path)
    try:
        with transaction(writer):
            SqliteStore(writer).add_ticket(make_ticket())
            assert reader.table("tickets").count == 0  # not yet committed
        assert reader.table("tickets").count == 1
    finally:
        writer.close()
        reader.close()


def test_nested_transaction_is_a_savepoint(db: Database, store: SqliteStore) -> None:
    with transaction(db):
        store.add_ticket(make_ticket())
        with pytest.raises(KeyError), transaction(db):
            store.add_ticket(make_ticket())
            raise KeyError("inner")
        assert db.conn.in_transaction
    assert [row["id"] for row in db.query("SELECT id FROM tickets")] == [1]


def test_threads_with_their_own_connections_take_turns_without_busy_waits(
    db_path: Path,
) -> None:
    # Waitress threads each have a connection to the same file. They queue on
    # one lock instead of polling SQLite's (whose busy handler sleeps up to
    # 100 ms a try): with no busy timeout at all, the second writer still
    # gets in the moment the first commits, instead of "database is locked".
    first, second = open_database(db_path), open_database(db_path)
    second.execute("PRAGMA busy_timeout=0")
    inside, outcome = threading.Event(), []

    def write_second() -> None:
        inside.wait()
        try:
            with transaction(second):
                SqliteStore(second).add_ticket(make_ticket(description="second"))
            outcome.append("committed")
        except sqlite3.OperationalError as error:
            outcome.append(str(error))

    thread = threading.Thread(target=write_second)
    thread.start()
    try:
        with transaction(first):
            SqliteStore(first).add_ticket(make_ticket(description="first"))
            inside.set()
            thread.join(timeout=0.3)
            assert thread.is_alive()  # waiting for this transaction, not failing
        thread.join(timeout=5)
        assert outcome == ["committed"]
        rows = first.execute("SELECT description FROM tickets ORDER BY id").fetchall()
        assert rows == [("first",), ("second",)]
    finally:
        inside.set()
        thread.join(timeout=5)
        first.close()
        second.close()


# Inbound


def test_first_delivery_deduplicates_per_channel(db: Database) -> None:
    assert first_delivery(db, "whatsapp", "SM0123", NOW)
    assert not first_delivery(db, "whatsapp", "SM0123", NOW + timedelta(seconds=5))
    assert first_delivery(db, "telegram", "SM0123", NOW)
    assert first_delivery(db, "local", "", NOW)  # no id: cannot dedupe
    assert first_delivery(db, "local", "", NOW)
    row = db.table("seen_inbound").get(("whatsapp", "SM0123"))
    assert row["at"] == "2026-11-26T14:00:00.000000+00:00"


def test_record_inbound_stores_the_message(db: Database) -> None:
    ticket = add_ticket(db)
    inbound = Inbound(
        channel="telegram",
        chat_id="5551234",
        provider_id="update-9:msg-77",
        sender_id="5551234",
        sender_name="Ujang <script>",
        text="Masih belum diperbaiki 😡 *sudah 3 hari*",
        attachments=(Attachment("photo", "AgACAgUAAx", "image/jpeg"),),
        location=Location(-6.33, 108.32, ""),
        reply_to_message_id="501",
    )
    with transaction(db):
        message_id = record_inbound(db, inbound, ticket.id, NOW)
        assert record_inbound(db, inbound, ticket.id, NOW) == message_id
    row = db.table("messages").get(message_id)
    assert row["direction"] == "in"
    assert row["status"] == "received"
    assert row["provider_message_id"] == "update-9:msg-77"
    assert row["ticket_id"] == ticket.id
    assert row["text"] == "Masih belum diperbaiki 😡 *sudah 3 hari*"
    payload = json.loads(row["payload"])
    assert "raw" not in payload and "not stored" not in row["payload"]
    assert payload["sender_name"] == "Ujang <script>"
    assert payload["attachments"] == [
        {"kind": "photo", "ref": "AgACAgUAAx", "mime": "image/jpeg", "name": ""}
    ]
    assert payload["location"] == {"latitude": -6.33, "longitude": 108.32, "address": ""}
    assert payload["reply_to_message_id"] == "501"
    assert db.table("messages").count == 1

    sticker = Inbound("local", "browser-1", "", text="")
    other = record_inbound(db, sticker, None, NOW, status="error")
    assert db.table("messages").get(other)["provider_message_id"] is None
    assert db.table("messages").get(other)["status"] == "error"


# Outbox


def full_outbound(**changes: Any) -> Outbound:
    values: dict[str, Any] = {
        "channel": "telegram",
        "chat_id": "-1001000000001",
        "text": '<b>ICT-000001</b> Jalan rusak 🚧\nLokasi: Jl. Siliwangi & "Pasar"',
        "ticket_id": None,
        "kind": "card",
        "buttons": (
            (Button("Ambil", "claim:1"), Button("Selesai", "resolve:1")),
            (Button("Bukan wewenang", "bounce:1"),),
        ),
        "attachments": (Attachment("photo", "AgACAgUAAx", "image/jpeg", "foto.jpg"),),
        "location": Location(-6.3275, 108.3249, "Jl. Siliwangi"),
        "essential": False,
        "topic": "card",
    }
    values.update(changes)
    return Outbound(**values)


def test_queue_and_claim_round_trip_the_outbound(db: Database) -> None:
    ticket = add_ticket(db)
    outbound = full_outbound(ticket_id=ticket.id)
    item_id = queue(db, outbound)
    row = outbox_row(db, item_id)
    assert row["status"] == "pending"
    assert row["attempts"] == 0
    assert row["next_attempt_at"] == row["created_at"] == "2026-11-26T14:00:00.000000+00:00"
    assert (row["channel"], row["chat_id"], row["ticket_id"], row["kind"]) == (
        "telegram",
        "-1001000000001",
        ticket.id,
        "card",
    )
    assert json.loads(row["payload"]) == outbound.to_dict()

    [item] = claim_due(db, NOW)
    assert item.id == item_id
    assert item.outbound == outbound
    assert item.attempts == 0
    assert item.created_at == NOW and item.created_at.tzinfo == UTC
    assert outbox_row(db, item_id)["lease_until"] == "2026-11-26T14:00:30.000000+00:00"


def test_claim_due_leases_rows(db: Database) -> None:
    first = queue(db, Outbound("telegram", "A", "satu"))
    second = queue(db, Outbound("telegram", "B", "dua"))
    future = queue(db, Outbound("telegram", "C", "nanti"), now=NOW + timedelta(minutes=5))

    assert [i.id for i in claim_due(db, NOW, limit=1)] == [first]
    assert [i.id for i in claim_due(db, NOW, limit=1)] == [second]
    assert claim_due(db, NOW + timedelta(seconds=29)) == []  # both leased, third not due
    # The leases ran out (the sender died): both are claimed again, oldest first.
    assert [i.id for i in claim_due(db, NOW + timedelta(seconds=30))] == [first, second]
    mark_sent(db, first, ["m1"], NOW + timedelta(seconds=31))
    mark_sent(db, second, ["m2"], NOW + timedelta(seconds=31))
    assert [i.id for i in claim_due(db, NOW + timedelta(minutes=5))] == [future]


def test_claim_due_filters_channels(db: Database) -> None:
    telegram = queue(db, Outbound("telegram", "A", "tg"))
    whatsapp = queue(db, Outbound("whatsapp", "whatsapp:+62812", "wa"))
    assert claim_due(db, NOW, channels=[]) == []
    assert [i.id for i in claim_due(db, NOW, channels={"whatsapp", "local"})] == [whatsapp]
    assert [i.id for i in claim_due(db, NOW, channels=("telegram",))] == [telegram]


def test_claim_due_takes_the_oldest_rows_across_channels(db: Database) -> None:
    ids = [
        queue(db, Outbound(channel, f"{channel}-{n}", "x"))
        for n in range(3)
        for channel in ("whatsapp", "telegram", "local")
    ]
    assert [i.id for i in claim_due(db, NOW, limit=4)] == ids[:4]
    assert [i.id for i in claim_due(db, NOW, limit=2, channels=["telegram"])] == [ids[4], ids[7]]


def test_a_claim_reads_its_channel_queue_in_order_not_the_whole_backlog(db: Database) -> None:
    """With thousands of replies waiting, a claim must not sort the backlog under the
    write lock: the query walks the channel's queue index in id order."""
    for n in range(3):
        queue(db, Outbound("telegram", f"chat-{n}", "x"))
    claims: list[str] = []
    db.conn.set_trace_callback(
        lambda sql: claims.append(sql) if "SELECT id, payload" in sql else None
    )
    assert len(claim_due(db, NOW, limit=2, channels=["telegram"])) == 2
    db.conn.set_trace_callback(None)
    [claim] = claims
    plan = " ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + claim).fetchall())
    assert "USING INDEX outbox_queue" in plan
    assert "TEMP B-TREE" not in plan


def test_claim_due_keeps_order_within_a_chat(db: Database) -> None:
    first = queue(db, Outbound("telegram", "A", "satu"))
    second = queue(db, Outbound("telegram", "A", "dua"))
    other_chat = queue(db, Outbound("telegram", "B", "lain"))

    assert [i.id for i in claim_due(db, NOW, limit=1)] == [first]
    # `first` is being sent: `second` waits for it, another chat does not.
    assert [i.id for i in claim_due(db, NOW)] == [other_chat]
    mark_sent(db, other_chat, ["m3"], NOW)
    assert mark_retry(db, first, "429 retry_after=60", NOW + timedelta(seconds=60))
    assert claim_due(db, NOW + timedelta(seconds=59)) == []
    assert [i.id for i in claim_due(db, NOW + timedelta(seconds=60))] == [first, second]


def test_two_processes_never_claim_the_same_row(db_path: Path) -> None:
    setup = open_database(db_path)
    with transaction(setup):
        for n in range(200):
            SqliteStore(setup).queue(Outbound("telegram", f"chat-{n}", f"pesan {n}"), NOW)
    setup.close()

    claimed: list[list[int]] = [[], []]
    errors: list[BaseException] = []

    def sender(index: int) -> None:
        db = open_database(db_path)
        try:
            while items := claim_due(db, NOW, limit=3):
                claimed[index].extend(item.id for item in items)
        except BaseException as error:  # surfaced below
            errors.append(error)
        finally:
            db.close()

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    everything = claimed[0] + claimed[1]
    assert sorted(everything) == list(range(1, 201))  # each row exactly once


def test_mark_sent_records_messages_and_finds_the_ticket(db: Database, store: SqliteStore) -> None:
    ticket = add_ticket(db)
    long_text = "Balasan dari Dinas PUPR 👷 " * 200
    item_id = queue(db, Outbound("telegram", "5551234", long_text, ticket_id=ticket.id))
    claim_due(db, NOW)
    mark_sent(db, item_id, ["701", "702"], NOW + timedelta(seconds=2))

    row = outbox_row(db, item_id)
    assert row["status"] == "sent"
    assert row["sent_at"] == "2026-11-26T14:00:02.000000+00:00"
    assert row["lease_until"] is None
    assert json.loads(row["provider_message_ids"]) == ["701", "702"]
    messages = list(db.query("SELECT * FROM messages ORDER BY id"))
    assert [(m["provider_message_id"], m["direction"], m["status"]) for m in messages] == [
        ("701", "out", "sent"),
        ("702", "out", "sent"),
    ]
    assert all(m["ticket_id"] == ticket.id and m["outbox_id"] == item_id for m in messages)
    assert messages[0]["text"] == long_text

    assert store.ticket_for_message("telegram", "5551234", "701") == ticket.id
    assert store.ticket_for_message("telegram", "5551234", "702") == ticket.id
    assert store.ticket_for_message("telegram", "9999999", "701") is None
    assert store.ticket_for_message("whatsapp", "5551234", "701") is None
    # An inbound message with the same provider id is not a bot message.
    record_inbound(db, Inbound("telegram", "5551234", "703"), None, NOW)
    assert store.ticket_for_message("telegram", "5551234", "703") is None
    assert claim_due(db, NOW + timedelta(minutes=1)) == []


def test_retry_then_failed(db: Database) -> None:
    item_id = queue(db, Outbound("whatsapp", "whatsapp:+62812", "halo"))
    claim_due(db, NOW)
    assert mark_retry(db, item_id, "63018 rate limit", NOW + timedelta(minutes=1))
    row = outbox_row(db, item_id)
    assert (row["status"], row["attempts"], row["last_error"], row["lease_until"]) == (
        "pending",
        1,
        "63018 rate limit",
        None,
    )
    assert row["next_attempt_at"] == "2026-11-26T14:01:00.000000+00:00"
    assert claim_due(db, NOW + timedelta(seconds=59)) == []
    [item] = claim_due(db, NOW + timedelta(minutes=1))
    assert item.attempts == 1
    # Postponed without counting a try (the channel is switched off).
    assert mark_retry(db, item_id, "channel off", NOW + timedelta(minutes=1), count_attempt=False)
    assert outbox_row(db, item_id)["attempts"] == 1
    assert outbox_row(db, item_id)["last_error"] == "channel off"

    assert mark_failed(db, item_id, "403 Forbidden: bot was blocked", NOW + timedelta(minutes=1))
    row = outbox_row(db, item_id)
    assert (row["status"], row["attempts"], row["failed_at"]) == (
        "failed",
        2,
        "2026-11-26T14:01:00.000000+00:00",
    )
    assert failed_count(db) == 1
    # Terminal: nothing moves it back to pending.
    assert not mark_retry(db, item_id, "late", NOW)
    assert not mark_held(db, item_id, "late")
    assert outbox_row(db, item_id)["status"] == "failed"
    assert claim_due(db, NOW + timedelta(days=1)) == []


def test_held_rows_wait_for_release(db: Database) -> None:
    chat = ("whatsapp", "whatsapp:+6281234567890")
    first = queue(db, Outbound(*chat, "Balasan lengkap dari dinas"))
    second = queue(db, Outbound(*chat, "Tiket ditutup"))
    other = queue(db, Outbound("whatsapp", "whatsapp:+6289999", "lain"))
    claim_due(db, NOW)
    assert mark_held(db, first, "63016 outside the 24-hour window")
    assert mark_held(db, second, "63016 outside the 24-hour window")
    assert mark_retry(db, other, "x", NOW)  # back to pending, due now

    assert [i.id for i in claim_due(db, NOW + timedelta(hours=1))] == [other]
    mark_sent(db, other, ["SM01"], NOW + timedelta(hours=1))
    assert backlog(db, NOW) == (0, None)  # held rows are not backlog
    assert outbox_row(db, first)["last_error"] == "63016 outside the 24-hour window"

    later = NOW + timedelta(hours=2)
    assert release_held(db, *chat, later) == 2
    assert release_held(db, *chat, later) == 0
    assert outbox_row(db, first)["next_attempt_at"] == to_db_time(later)
    assert [i.id for i in claim_due(db, later)] == [first, second]


def test_backlog_counts_pending_and_oldest(db: Database) -> None:
    assert backlog(db, NOW) == (0, None)
    first = queue(db, Outbound("telegram", "A", "1"), now=NOW)
    queue(db, Outbound("telegram", "B", "2"), now=NOW + timedelta(minutes=3))
    count, oldest = backlog(db, NOW + timedelta(minutes=10))
    assert count == 2 and oldest == NOW and oldest is not None and oldest.tzinfo == UTC
    claim_due(db, NOW)
    mark_sent(db, first, ["1"], NOW)
    assert backlog(db, NOW) == (1, NOW + timedelta(minutes=3))
    assert failed_count(db) == 0


def test_card_message_id_is_the_latest_sent_card(db: Database) -> None:
    ticket = add_ticket(db)
    other_ticket = add_ticket(db)
    group = ("telegram", "-1001000000001")
    assert ticket.id is not None and other_ticket.id is not None
    assert card_message_id(db, *group, ticket.id) is None

    def send(outbound: Outbound, ids: list[str]) -> int:
        item_id = queue(db, outbound)
        claim_due(db, NOW)
        mark_sent(db, item_id, ids, NOW)
        return item_id

    send(full_outbound(ticket_id=ticket.id), ["100", "101"])
    send(Outbound(*group, "balasan", ticket_id=ticket.id), ["102"])  # a text, not a card
    send(full_outbound(ticket_id=other_ticket.id), ["103"])
    assert card_message_id(db, *group, ticket.id) == "100"

    send(full_outbound(ticket_id=ticket.id, text="status: responded"), ["200"])
    assert card_message_id(db, *group, ticket.id) == "200"
    # Edited in place: the edge reports the same message id again.
    send(full_outbound(ticket_id=ticket.id, text="status: resolved"), ["200"])
    assert card_message_id(db, *group, ticket.id) == "200"
    edited = next(db.query("SELECT * FROM messages WHERE provider_message_id = '200'"))
    assert edited["text"] == "status: resolved"
    assert card_message_id(db, "telegram", "-1009", ticket.id) is None

    pending_card = queue(db, full_outbound(ticket_id=ticket.id, text="not sent yet"))
    assert outbox_row(db, pending_card)["status"] == "pending"
    assert card_message_id(db, *group, ticket.id) == "200"


def test_chat_messages_is_the_transcript_of_one_chat(db: Database) -> None:
    chat = ("local", "citizen-1")
    for text in ["Selamat datang 👋", "1. Pengaduan baru", "ICT-000001 diterima"]:
        queue(db, Outbound(*chat, text))
    queue(db, Outbound("local", "citizen-2", "lain"))
    for item in claim_due(db, NOW):
        mark_sent(db, item.id, [f"local-{item.id}"], NOW + timedelta(seconds=1))
    queue(db, Outbound(*chat, "belum terkirim"))

    transcript = chat_messages(db, *chat)
    assert [m["text"] for m in transcript] == [
        "Selamat datang 👋",
        "1. Pengaduan baru",
        "ICT-000001 diterima",
    ]
    assert {m["direction"] for m in transcript} == {"out"}
    after_second = chat_messages(db, *chat, after_id=transcript[1]["id"])
    assert [m["text"] for m in after_second] == ["ICT-000001 diterima"]


# Ratings, notices, chat migrations


def test_rating_round_trip_and_replace(db: Database, store: SqliteStore) -> None:
    ticket = add_ticket(db)
    assert ticket.id is not None
    assert store.rating(ticket.id) is None
    store.add_rating(ticket.id, 4, "Cepat, terima kasih 🙏", NOW)
    assert store.rating(ticket.id) == (4, "Cepat, terima kasih 🙏")
    store.add_rating(ticket.id, 5, "", NOW + timedelta(days=1))
    assert store.rating(ticket.id) == (5, "")
    with pytest.raises(sqlite3.IntegrityError):
        store.add_rating(ticket.id, 6, "", NOW)
    with pytest.raises(sqlite3.IntegrityError):
        store.add_rating(ticket.id, 0, "", NOW)


def test_record_notice_only_once(db: Database, store: SqliteStore) -> None:
    ticket = add_ticket(db)
    assert record_notice(db, "reminder", ticket.id, "12h", "-1001000000001", NOW)
    assert not record_notice(db, "reminder", ticket.id, "12h", "-1001000000001", NOW)
    assert record_notice(db, "reminder", ticket.id, "2h", "-1001000000001", NOW)
    assert record_notice(db, "reminder", ticket.id, "12h", "-1001000000099", NOW)
    # Without a ticket (a daily digest) it is still recorded only once.
    assert record_notice(db, "digest", None, "2026-11-27", "-1001000000099", NOW)
    assert not record_notice(db, "digest", None, "2026-11-27", "-1001000000099", NOW)
    assert db.table("notices").count == 4


def test_chat_migration_chain(db: Database, store: SqliteStore) -> None:
    assert store.chat_of("telegram", "-100") == "-100"
    store.record_chat_migration("telegram", "-100", "-1001000000100", NOW)
    store.record_chat_migration("telegram", "-1001000000100", "-1001000000200", NOW)
    assert store.chat_of("telegram", "-100") == "-1001000000200"
    assert store.chat_of("telegram", "-1001000000100") == "-1001000000200"
    assert store.chat_of("whatsapp", "-100") == "-100"
    store.record_chat_migration("telegram", "-7", "-7", NOW)  # no-op
    assert store.chat_of("telegram", "-7") == "-7"
    # A cycle in bad data does not loop forever.
    store.record_chat_migration("telegram", "-1001000000200", "-100", NOW)
    assert store.chat_of("telegram", "-100") in {"-100", "-1001000000100", "-1001000000200"}
    row = db.table("chat_migrations").get(("telegram", "-100"))
    assert row["new_chat_id"] == "-1001000000100"
    assert row["at"] == "2026-11-26T14:00:00.000000+00:00"
