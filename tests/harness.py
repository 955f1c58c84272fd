"""A whole I-Ceta service on a real SQLite file with a fixed clock, driven like a chat.

Messages go in through the real `Ingest` (dedupe, core, one transaction) and
come out through the real `Delivery` and the local channel's sender, so what a
test reads is what a person in that chat would have received.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.config import Config, parse_config
from bot.model import LOCAL, Inbound, Location
from handlers.deadlines import ScanReport, scan, send_digest
from handlers.delivery import Delivery
from handlers.ingest import Ingest
from handlers.local import LocalSender, transcript
from storage.connections import Databases

START = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # 09.00 WIB

TEST_CONFIG: dict[str, Any] = {
    "service": {
        "name": "I-Ceta",
        "ticket_prefix": "ICT",
        "timezone": "Asia/Jakarta",
        "language": "id",
    },
    "sla": {
        "response_hours": 24,
        "remind_before_hours": [12, 2],
        "overdue_repeat_hours": 24,
        "confirm_days": 3,
        # The tests of §6 run round the clock; tests/test_calendar.py holds reminders
        # to office hours, as the shipped config does.
        "remind_outside_hours": True,
    },
    "dispatch": {"name": "Call Center I-Ceta", "telegram_chat_id": -1001000000000},
    "supervisors": {"telegram_chat_ids": [-1001000000099], "digest_time": "07:00"},
    "agencies": [
        {"id": "pupr", "name": "Dinas PUPR", "telegram_chat_id": -1001000000001},
        {"id": "dlh", "name": "Dinas Lingkungan Hidup", "telegram_chat_id": -1001000000002},
        {"id": "dinkes", "name": "Dinas Kesehatan", "telegram_chat_id": -1001000000003},
    ],
    "categories": [
        {
            "id": "jalan",
            "label": {"id": "Jalan dan jembatan rusak", "en": "Damaged roads and bridges"},
            "agency": "pupr",
            "keywords": ["jalan", "jembatan", "aspal", "berlubang"],
        },
        {
            "id": "sampah",
            "label": {"id": "Sampah dan kebersihan", "en": "Waste and cleanliness"},
            "agency": "dlh",
            "keywords": ["sampah", "tps", "bau"],
        },
        {
            "id": "kesehatan",
            "label": {"id": "Layanan kesehatan", "en": "Health services"},
            "agency": "dinkes",
            "keywords": ["puskesmas", "dokter", "obat"],
        },
    ],
    "referrals": [
        {
            "id": "pln",
            "name": "PLN UP3 Indramayu",
            "contact": "telepon 123 atau aplikasi PLN Mobile",
            "keywords": ["listrik"],
        },
    ],
}

PUPR_CHAT = "-1001000000001"
DLH_CHAT = "-1001000000002"
DISPATCH_CHAT = "-1001000000000"
SUPERVISOR_CHAT = "-1001000000099"


class Clock:
    """The time, moved only by the test."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Service:
    path: Path
    config: Config
    clock: Clock
    databases: Databases
    ingest: Ingest
    delivery: Delivery
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _read: dict[str, int] = field(default_factory=dict)

    @classmethod
    def start(cls, tmp_path: Path, config: dict[str, Any] | None = None) -> Service:
        parsed = parse_config(config or TEST_CONFIG)
        clock = Clock()
        databases = Databases(tmp_path / "iceta.db")
        delivery = Delivery(databases, parsed, {LOCAL: LocalSender()}, LOCAL, clock)
        ingest = Ingest(databases, parsed, LOCAL, clock)
        return cls(tmp_path / "iceta.db", parsed, clock, databases, ingest, delivery)

    def send(
        self,
        chat_id: str,
        text: str = "",
        *,
        group: bool = False,
        name: str = "",
        button: str = "",
        reply_to: str = "",
        location: Location | None = None,
        attachments: tuple = (),
        provider_id: str | None = None,
        phone: str = "",
    ) -> list[dict[str, Any]]:
        """Send a message into a chat; returns what the bot said back to that chat."""
        inbound = Inbound(
            channel=LOCAL,
            chat_id=chat_id,
            provider_id=provider_id or f"m{next(self._ids)}-{uuid.uuid4().hex[:8]}",
            sender_id=name or chat_id,
            sender_name=name or ("Admin" if group else "Siti"),
            phone=phone,
            text=text,
            is_group=group,
            attachments=attachments,
            location=location,
            button_data=button,
            reply_to_message_id=reply_to,
        )
        self.ingest.receive(inbound)
        return self.received(chat_id)

    def received(self, chat_id: str) -> list[dict[str, Any]]:
        """Bot messages that reached `chat_id` since the last look (after delivery)."""
        self.delivery.drain()
        messages = [m for m in transcript(self.databases, chat_id, self._read.get(chat_id, 0))]
        if messages:
            self._read[chat_id] = messages[-1]["id"]
        return [m for m in messages if m["from"] == "bot"]

    def all_messages(self, chat_id: str) -> list[dict[str, Any]]:
        self.delivery.drain()
        return transcript(self.databases, chat_id, 0)

    def scan_deadlines(self) -> ScanReport:
        """One deadline scan at `clock.now`, on this service's database."""
        return scan(self.databases.get(), self.config, self.clock.now, LOCAL)

    def send_digest(self) -> int:
        """The daily digest as of `clock.now` (nothing before `digest_time`)."""
        return send_digest(self.databases.get(), self.config, self.clock.now, LOCAL)

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        return list(self.databases.get().query(sql, params or []))


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n---\n".join(m["text"] for m in messages)


class Chat:
    """One person's chat, for transcript tests that read like the conversation."""

    def __init__(
        self,
        service: Service,
        chat_id: str,
        *,
        group: bool = False,
        name: str = "",
        phone: str = "",
    ) -> None:
        self.service = service
        self.chat_id = chat_id
        self.group = group
        self.name = name
        self.phone = phone

    def says(self, text: str = "", **kwargs: Any) -> str:
        kwargs.setdefault("name", self.name)
        kwargs.setdefault("phone", self.phone)
        return texts(self.service.send(self.chat_id, text, group=self.group, **kwargs))

    def presses(self, button: str) -> str:
        return self.says("", button=button)

    def inbox(self) -> str:
        return texts(self.service.received(self.chat_id))

    def last_bot_message(
        self, ticket_id: int | None = None, kind: str | None = None
    ) -> dict[str, Any]:
        bot_messages = [
            m
            for m in self.service.all_messages(self.chat_id)
            if m["from"] == "bot"
            and (ticket_id is None or m["ticket_id"] == ticket_id)
            and (kind is None or m["kind"] == kind)
        ]
        assert bot_messages, f"no bot message in {self.chat_id}"
        return bot_messages[-1]

    def verify_dialog(self, steps: list[tuple[str, list[str]]]) -> None:
        """Zulip's `verify_dialog`, exactly: for each (what the person says, every message
        the bot answers), the bot says those messages, in that order, and nothing else."""
        for said, expected in steps:
            answers = [
                m["text"]
                for m in self.service.send(
                    self.chat_id, said, group=self.group, name=self.name, phone=self.phone
                )
            ]
            assert answers == expected, f"after {said!r} the bot said:\n" + "\n---\n".join(answers)
