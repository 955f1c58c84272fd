"""The retention job (docs/contract.md §9): closed tickets lose the citizen's personal data
after `privacy.retention_days`; statistics stay; open and recent tickets are untouched."""

from __future__ import annotations

import json
from pathlib import Path

from bot.model import Attachment
from storage.media import register_media, store_media
from storage.retention import anonymise_closed_tickets
from tests.harness import PUPR_CHAT, SUPERVISOR_CHAT, Chat, Service

PHONE = "+6281234567890"


def closed_and_rated(service: Service, siti: Chat, pupr: Chat, photo_path: Path) -> None:
    db = service.databases.get()
    with db.conn:
        register_media(
            db, "media:SMx:0", "whatsapp", "https://api.twilio.com/x", "image/jpeg", service.clock()
        )
    photo_path.write_bytes(b"\xff\xd8photo")
    store_media(db, "media:SMx:0", str(photo_path), 7, "image/jpeg", service.clock())
    siti.says(
        "Jalan di depan rumah saya, Jl. Mangga 7 RT 02, berlubang",
        attachments=(Attachment("photo", "media:SMx:0", "image/jpeg"),),
    )
    siti.says("1")
    siti.says("Jl. Mangga 7, Desa Lohbener")
    siti.says("0")
    siti.says("1")
    service.clock.advance(hours=2)
    pupr.says("/balas ICT-000001 Bu Siti, kami datang besok ke Jl. Mangga 7")
    pupr.says("/catatan ICT-000001 pelapor tetangga pak lurah")
    pupr.says("/selesai ICT-000001")
    siti.says("1")
    siti.says("5")
    siti.says("Terima kasih Pak Budi, nomor saya 0812 3456 7890")


def test_closed_tickets_lose_personal_data_and_keep_statistics(tmp_path: Path) -> None:
    service = Service.start(tmp_path)
    siti = Chat(service, "citizen:siti", name="Siti Aminah", phone=PHONE)
    pupr = Chat(service, PUPR_CHAT, group=True, name="Budi")
    closed_and_rated(service, siti, pupr, tmp_path / "photo.jpg")
    ani = Chat(service, "citizen:ani", name="Ani", phone="+6285700001111")
    ani.says("Sampah menumpuk di TPS Pasar Baru sudah seminggu")
    for choice in ("2", "0", "0", "1"):
        ani.says(choice)  # ICT-000002 stays open
    service.delivery.drain()
    [before] = service.rows("select * from tickets where id = 1")

    # not yet: the retention period has not passed
    assert (
        anonymise_closed_tickets(
            service.databases.get(),
            service.clock() - service.config.privacy.retention,
            service.clock(),
        )
        == 0
    )
    service.clock.advance(days=731)
    now = service.clock()
    assert (
        anonymise_closed_tickets(
            service.databases.get(), now - service.config.privacy.retention, now
        )
        == 1
    )

    [after] = service.rows("select * from tickets where id = 1")
    for field in ("citizen_name", "citizen_phone", "citizen_chat_id", "description", "claimed_by"):
        assert after[field] == "", field
    assert after["address"] is None and after["latitude"] is None and after["attachments"] == "[]"
    assert after["anonymised_at"] is not None
    for kept in (
        "status",
        "agency_id",
        "category_id",
        "created_at",
        "assigned_at",
        "deadline_at",
        "first_response_at",
        "resolved_at",
        "closed_at",
    ):
        assert after[kept] == before[kept], kept
    assert service.rows("select score, comment from ratings") == [{"score": 5, "comment": ""}]
    assert [
        e["action"]
        for e in service.rows("select action from ticket_events where ticket_id = 1 order by id")
    ][:2] == ["created", "assigned"]
    assert service.rows(
        "select count(*) n from ticket_events where ticket_id = 1 and detail != ''"
    ) == [{"n": 0}]
    assert not (tmp_path / "photo.jpg").exists()

    # nothing personal left anywhere in the database for this citizen
    everything = json.dumps(
        service.rows("select * from messages")
        + service.rows("select * from outbox")
        + service.rows("select * from conversations")
    )
    for secret in (
        "Siti Aminah",
        "Mangga",
        "6281234567890",
        "0812 3456",
        "pak lurah",
        "citizen:siti",
    ):
        assert secret not in everything, secret
    # the open ticket and its citizen are untouched
    [open_ticket] = service.rows("select citizen_name, description from tickets where id = 2")
    assert open_ticket == {
        "citizen_name": "Ani",
        "description": "Sampah menumpuk di TPS Pasar Baru sudah seminggu",
    }
    # and the citizen no longer finds it
    assert "belum punya pengaduan" in siti.says("2")
    # a second run finds nothing more to do
    assert (
        anonymise_closed_tickets(
            service.databases.get(), now - service.config.privacy.retention, now
        )
        == 0
    )


def test_statistics_are_the_same_before_and_after(tmp_path: Path) -> None:
    service = Service.start(tmp_path)
    siti = Chat(service, "citizen:siti", name="Siti Aminah", phone=PHONE)
    pupr = Chat(service, PUPR_CHAT, group=True, name="Budi")
    closed_and_rated(service, siti, pupr, tmp_path / "photo.jpg")
    supervisors = Chat(service, SUPERVISOR_CHAT, group=True)
    before = supervisors.says("/statistik")
    assert "Dinas PUPR" in before and "1/1" in before
    service.clock.advance(minutes=1)
    now = service.clock()
    # as if the retention period were over
    assert anonymise_closed_tickets(service.databases.get(), now, now) == 1
    after = supervisors.says("/statistik")
    # the same numbers (only the "as of" minute in the heading moved on)
    assert after.split("\n", 1)[1] == before.split("\n", 1)[1]
