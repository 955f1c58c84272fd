"""The schema, as named migrations applied in order (sqlite-utils `Migrations`).

Never edit a migration that has shipped: add the next `mNNN_...` function.
The open-status lists below are frozen copies of `bot.model.OPEN_STATUSES`
on purpose (a schema must not change when code does); a test checks they
still agree, and repository queries repeat them word for word so SQLite can
use the partial indexes.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from storage.db import transaction

migrations = Migrations("iceta")

_M001_INITIAL = (
    # AUTOINCREMENT: a ticket number is never handed out twice, even if the
    # highest ticket row were ever removed.
    """
    CREATE TABLE tickets (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        citizen_channel TEXT NOT NULL,
        citizen_chat_id TEXT NOT NULL,
        citizen_name TEXT NOT NULL DEFAULT '',
        citizen_phone TEXT NOT NULL DEFAULT '',
        description TEXT NOT NULL DEFAULT '',
        category_id TEXT NOT NULL DEFAULT '',
        agency_id TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'new',
        confidential INTEGER NOT NULL DEFAULT 0,
        latitude REAL,
        longitude REAL,
        address TEXT, -- NULL means no location at all
        attachments TEXT NOT NULL DEFAULT '[]',
        language TEXT NOT NULL DEFAULT 'id',
        created_at TEXT NOT NULL,
        assigned_at TEXT,
        deadline_at TEXT,
        first_response_at TEXT,
        paused_at TEXT,
        resolved_at TEXT,
        closed_at TEXT,
        claimed_by TEXT NOT NULL DEFAULT '',
        status_reason TEXT NOT NULL DEFAULT '',
        updated_at TEXT
    )
    """,
    """
    CREATE INDEX tickets_open_by_agency ON tickets (agency_id, deadline_at, id)
    WHERE status IN ('new', 'assigned', 'responded', 'waiting_citizen', 'resolved')
    """,
    "CREATE INDEX tickets_by_citizen ON tickets (citizen_channel, citizen_chat_id, id)",
    """
    CREATE INDEX tickets_open_status ON tickets (status)
    WHERE status IN ('new', 'assigned', 'responded', 'waiting_citizen', 'resolved')
    """,
    """
    CREATE TABLE ticket_events (
        id INTEGER PRIMARY KEY,
        ticket_id INTEGER NOT NULL REFERENCES tickets (id),
        at TEXT NOT NULL,
        actor TEXT NOT NULL DEFAULT '',
        action TEXT NOT NULL,
        from_status TEXT NOT NULL DEFAULT '',
        to_status TEXT NOT NULL DEFAULT '',
        from_agency TEXT NOT NULL DEFAULT '',
        to_agency TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT ''
    )
    """,
    "CREATE INDEX ticket_events_by_ticket ON ticket_events (ticket_id, id)",
    # AUTOINCREMENT: messages.outbox_id must never point at a reused id.
    """
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TEXT NOT NULL,
        channel TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        ticket_id INTEGER REFERENCES tickets (id),
        kind TEXT NOT NULL DEFAULT 'text',
        payload TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        lease_until TEXT,
        last_error TEXT NOT NULL DEFAULT '',
        sent_at TEXT,
        failed_at TEXT,
        provider_message_ids TEXT NOT NULL DEFAULT '[]'
    )
    """,
    "CREATE INDEX outbox_due ON outbox (status, next_attempt_at)",
    "CREATE INDEX outbox_by_chat ON outbox (channel, chat_id, status, id)",
    "CREATE INDEX outbox_by_ticket ON outbox (ticket_id, kind, channel, chat_id, id)",
    """
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY,
        channel TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
        provider_message_id TEXT,
        ticket_id INTEGER REFERENCES tickets (id),
        text TEXT NOT NULL DEFAULT '',
        payload TEXT NOT NULL DEFAULT '{}',
        at TEXT NOT NULL,
        outbox_id INTEGER REFERENCES outbox (id),
        status TEXT NOT NULL DEFAULT 'received'
    )
    """,
    """
    CREATE UNIQUE INDEX messages_by_provider_id
    ON messages (channel, chat_id, direction, provider_message_id)
    WHERE provider_message_id IS NOT NULL
    """,
    "CREATE INDEX messages_by_ticket ON messages (ticket_id)",
    "CREATE INDEX messages_by_chat ON messages (channel, chat_id, id)",
    """
    CREATE TABLE conversations (
        channel TEXT NOT NULL,
        chat_id TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'idle',
        draft TEXT NOT NULL DEFAULT '{}',
        context TEXT NOT NULL DEFAULT '{}',
        language TEXT NOT NULL DEFAULT '',
        welcomed INTEGER NOT NULL DEFAULT 0,
        opted_out INTEGER NOT NULL DEFAULT 0,
        name TEXT NOT NULL DEFAULT '',
        phone TEXT NOT NULL DEFAULT '',
        updated_at TEXT,
        last_inbound_at TEXT,
        PRIMARY KEY (channel, chat_id)
    )
    """,
    """
    CREATE TABLE seen_inbound (
        channel TEXT NOT NULL,
        provider_id TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (channel, provider_id)
    )
    """,
    """
    CREATE TABLE notices (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        ticket_id INTEGER REFERENCES tickets (id),
        key TEXT NOT NULL DEFAULT '',
        chat_id TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL
    )
    """,
    # UNIQUE(kind, ticket_id, key, chat_id), except that NULLs are distinct in
    # a plain unique index: coalesce so a digest (no ticket) is unique too.
    """
    CREATE UNIQUE INDEX notices_once
    ON notices (kind, coalesce(ticket_id, 0), key, chat_id)
    """,
    """
    CREATE TABLE ratings (
        ticket_id INTEGER PRIMARY KEY REFERENCES tickets (id),
        score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
        comment TEXT NOT NULL DEFAULT '',
        at TEXT NOT NULL
    )
    """,
    """
    CREATE TABLE chat_migrations (
        channel TEXT NOT NULL,
        old_chat_id TEXT NOT NULL,
        new_chat_id TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (channel, old_chat_id)
    )
    """,
)


@migrations()
def m001_initial(db: Database) -> None:
    """Tickets, their events, messages, conversations, outbox and bookkeeping."""
    for statement in _M001_INITIAL:
        db.execute(statement)


_M002_DEADLINE_INDEXES = (
    # The deadline scan reads only tickets still waiting for a first response,
    # by deadline: its cost follows open tickets, never the closed ones.
    """
    CREATE INDEX tickets_awaiting_response ON tickets (deadline_at)
    WHERE status = 'assigned' AND first_response_at IS NULL
    """,
    # Resolved tickets waiting for the citizen's confirmation (auto-close).
    """
    CREATE INDEX tickets_awaiting_confirmation ON tickets (resolved_at)
    WHERE status = 'resolved'
    """,
    # The digest and /stats read a few days of assignments, responses and breaches.
    "CREATE INDEX ticket_events_by_action ON ticket_events (action, at)",
)


@migrations()
def m002_deadline_indexes(db: Database) -> None:
    """Indexes for the deadline scan, auto-close and the supervisors' statistics."""
    for statement in _M002_DEADLINE_INDEXES:
        db.execute(statement)


def apply(db: Database) -> None:
    """Apply pending migrations.

    Inside one `BEGIN IMMEDIATE` transaction, so two processes starting on a
    new file at once do not both try to create the tables: the second waits,
    then finds nothing pending. (So every migration must be transactional.)
    """
    with transaction(db):
        migrations.apply(db)


@migrations()
def m003_media(db: Database) -> None:
    """Media received from WhatsApp (downloaded after the webhook) and media served to Twilio."""
    db.execute(
        """
        CREATE TABLE media (
            key TEXT PRIMARY KEY,
            channel TEXT NOT NULL,
            source_url TEXT NOT NULL DEFAULT '',
            content_type TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'pending', -- pending | stored | failed
            path TEXT NOT NULL DEFAULT '',
            size INTEGER NOT NULL DEFAULT 0,
            error TEXT NOT NULL DEFAULT '',
            attempts INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            fetched_at TEXT,
            token TEXT UNIQUE,           -- unguessable name under which it is served
            token_expires_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX media_pending ON media (created_at) WHERE status = 'pending'")


@migrations()
def m004_lease_owner_and_retention(db: Database) -> None:
    """Who holds an outbox lease (so a restart can take back a dead process's leases),
    and when a closed ticket's personal data was removed by the retention job."""
    db.execute("ALTER TABLE outbox ADD COLUMN lease_owner TEXT")
    db.execute("ALTER TABLE tickets ADD COLUMN anonymised_at TEXT")
    db.execute(
        "CREATE INDEX tickets_to_anonymise ON tickets (closed_at) "
        "WHERE anonymised_at IS NULL AND status IN ('closed', 'rejected', 'referred')"
    )


@migrations()
def m005_outbox_queue_index(db: Database) -> None:
    """Each channel's delivery loop takes its oldest pending rows: an index in that
    order, so a claim reads ~`limit` rows instead of sorting the whole backlog
    (10 ms at 6,000 pending rows, under the write lock) on every pass."""
    db.execute("DROP INDEX outbox_due")
    db.execute("CREATE INDEX outbox_queue ON outbox (status, channel, id)")


@migrations()
def m006_keyed_tables_without_rowid(db: Database) -> None:
    """Two tables every inbound message writes to are looked up only by their key:
    stored in the key's own b-tree (no rowid table beside it), each message writes
    one b-tree less for each."""
    db.execute(
        """
        CREATE TABLE seen_inbound_by_key (
            channel TEXT NOT NULL,
            provider_id TEXT NOT NULL,
            at TEXT NOT NULL,
            PRIMARY KEY (channel, provider_id)
        ) WITHOUT ROWID
        """
    )
    db.execute("INSERT INTO seen_inbound_by_key SELECT channel, provider_id, at FROM seen_inbound")
    db.execute("DROP TABLE seen_inbound")
    db.execute("ALTER TABLE seen_inbound_by_key RENAME TO seen_inbound")
    db.execute(
        """
        CREATE TABLE conversations_by_key (
            channel TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'idle',
            draft TEXT NOT NULL DEFAULT '{}',
            context TEXT NOT NULL DEFAULT '{}',
            language TEXT NOT NULL DEFAULT '',
            welcomed INTEGER NOT NULL DEFAULT 0,
            opted_out INTEGER NOT NULL DEFAULT 0,
            name TEXT NOT NULL DEFAULT '',
            phone TEXT NOT NULL DEFAULT '',
            updated_at TEXT,
            last_inbound_at TEXT,
            PRIMARY KEY (channel, chat_id)
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        INSERT INTO conversations_by_key
        SELECT channel, chat_id, state, draft, context, language, welcomed, opted_out,
               name, phone, updated_at, last_inbound_at
        FROM conversations
        """
    )
    db.execute("DROP TABLE conversations")
    db.execute("ALTER TABLE conversations_by_key RENAME TO conversations")


@migrations()
def m007_simulated_clock(db: Database) -> None:
    """How far the local console's simulation moved the service clock ahead, so a
    restart keeps it (tickets would otherwise look created in the future)."""
    db.execute(
        """
        CREATE TABLE simulated_clock (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            offset_seconds REAL NOT NULL,
            updated_at TEXT NOT NULL
        )
        """
    )


@migrations()
def m008_web_desk(db: Database) -> None:
    """The web desk (docs/contract.md §10): sign-in links and sessions (stored as hashes
    of their secrets), the audit trail of who saw what, full-text search of
    descriptions (FTS5, kept by triggers), and the indexes the ticket list sorts by."""
    db.execute(
        """
        CREATE TABLE desk_links (
            token_hash TEXT PRIMARY KEY,
            role TEXT NOT NULL,
            agency_id TEXT NOT NULL DEFAULT '',
            chat_channel TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE desk_sessions (
            id_hash TEXT PRIMARY KEY,
            role TEXT NOT NULL,
            agency_id TEXT NOT NULL DEFAULT '',
            chat_channel TEXT NOT NULL,
            chat_id TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            csrf TEXT NOT NULL,
            language TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            ended_at TEXT,
            end_reason TEXT NOT NULL DEFAULT ''
        ) WITHOUT ROWID
        """
    )
    db.execute(
        """
        CREATE TABLE desk_audit (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            role TEXT NOT NULL,
            agency_id TEXT NOT NULL DEFAULT '',
            name TEXT NOT NULL DEFAULT '',
            action TEXT NOT NULL,
            ticket_id INTEGER,
            detail TEXT NOT NULL DEFAULT ''
        )
        """
    )
    db.execute("CREATE INDEX desk_audit_by_ticket ON desk_audit (ticket_id, id)")
    db.execute(
        """
        CREATE VIRTUAL TABLE tickets_fts USING fts5(
            description, content='tickets', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2'
        )
        """
    )
    db.execute("INSERT INTO tickets_fts (rowid, description) SELECT id, description FROM tickets")
    db.execute(
        """
        CREATE TRIGGER tickets_fts_insert AFTER INSERT ON tickets BEGIN
            INSERT INTO tickets_fts (rowid, description) VALUES (new.id, new.description);
        END
        """
    )
    db.execute(
        """
        CREATE TRIGGER tickets_fts_update AFTER UPDATE OF description ON tickets
        WHEN old.description IS NOT new.description BEGIN
            INSERT INTO tickets_fts (tickets_fts, rowid, description)
            VALUES ('delete', old.id, old.description);
            INSERT INTO tickets_fts (rowid, description) VALUES (new.id, new.description);
        END
        """
    )
    db.execute(
        """
        CREATE TRIGGER tickets_fts_delete AFTER DELETE ON tickets BEGIN
            INSERT INTO tickets_fts (tickets_fts, rowid, description)
            VALUES ('delete', old.id, old.description);
        END
        """
    )
    # The list is sorted by deadline (unrouted tickets, which have none, first).
    db.execute("CREATE INDEX tickets_by_deadline ON tickets (deadline_at, id)")
    db.execute(
        """
        CREATE INDEX tickets_open_by_deadline ON tickets (deadline_at, id)
        WHERE status IN ('new', 'assigned', 'responded', 'waiting_citizen', 'resolved')
        """
    )
    # The call center's call-back list: answers to phone callers not yet passed on.
    db.execute(
        """
        CREATE INDEX messages_to_call_back ON messages (id)
        WHERE channel = 'phone' AND direction = 'out' AND status = 'sent'
        """
    )


@migrations()
def m009_tickets_by_created(db: Database) -> None:
    """The desk's `from`/`to` filters and its exports of a period read tickets by the day
    they were filed (an export of a week at 1,000,000 tickets: 0.5 s of scanning without)."""
    db.execute("CREATE INDEX tickets_by_created ON tickets (created_at)")


@migrations()
def m010_delivery_counts_and_write_probe(db: Database) -> None:
    """What became of delivery attempts, counted per channel in the same transaction
    that records each (`iceta_deliveries_total` on /metrics, whichever process sent),
    and the one row /healthz rewrites to learn whether the disk takes writes again."""
    db.execute(
        """
        CREATE TABLE delivery_counts (
            channel TEXT NOT NULL,
            result TEXT NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (channel, result)
        ) WITHOUT ROWID
        """
    )
    db.execute("CREATE TABLE write_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at TEXT NOT NULL)")


_OPEN_M011 = (
    "('new', 'assigned', 'responded', 'waiting_citizen', 'awaiting_validation', 'resolved')"
)
_OPEN_INDEXES = (
    ("tickets_open_by_agency", "agency_id, deadline_at, id"),
    ("tickets_open_status", "status"),
    ("tickets_open_by_deadline", "deadline_at, id"),
)


@migrations()
def m011_resolution_deadlines(db: Database) -> None:
    """The resolution deadline (working days by complaint class, docs/contract.md §14),
    the class the agency gave, the agency's proof of the fix, and the index the deadline
    scan reads them through: only tickets whose fix is still owed, so the scan stays
    flat in closed tickets."""
    db.execute("ALTER TABLE tickets ADD COLUMN resolution_class TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE tickets ADD COLUMN resolution_deadline_at TEXT")
    db.execute("ALTER TABLE tickets ADD COLUMN proof TEXT NOT NULL DEFAULT '[]'")
    # awaiting_validation is an open status: the partial indexes of open tickets again,
    # with it in their list.
    for name, columns in _OPEN_INDEXES:
        db.execute(f"DROP INDEX {name}")
        db.execute(f"CREATE INDEX {name} ON tickets ({columns}) WHERE status IN {_OPEN_M011}")
    db.execute(
        """
        CREATE INDEX tickets_awaiting_resolution ON tickets (resolution_deadline_at)
        WHERE status IN ('assigned', 'responded', 'awaiting_validation')
          AND resolution_deadline_at IS NOT NULL
        """
    )
