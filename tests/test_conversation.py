"""Transcript tests of the citizen conversation (docs/contract.md §4), in Indonesian.

Each test reads like the chat it checks: what the citizen typed, and what the
bot answered, on a real SQLite file with a fixed clock.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.model import Attachment, Location
from tests.harness import DISPATCH_CHAT, DLH_CHAT, PUPR_CHAT, SUPERVISOR_CHAT, Chat, Service

PHOTO = Attachment("photo", "local:jalan.jpg", "image/jpeg", "jalan.jpg")

# The bot's exact words at each step (verify_dialog compares every message, in order).
WELCOME = (
    "Selamat datang di I-Ceta, layanan pengaduan Pemerintah Kabupaten Indramayu. Data dan "
    "nomor Anda hanya dipakai untuk menindaklanjuti pengaduan Anda dan tidak dibagikan "
    "kepada pihak lain.\n\nSilakan pilih:\n1. Buat pengaduan baru\n2. Status pengaduan "
    "saya\n3. Bantuan"
)
ASK_DESCRIPTION = (
    "Ceritakan masalahnya: apa yang terjadi dan di mana. Anda juga boleh mengirim foto, "
    "pesan suara atau dokumen."
)
TOO_SHORT = "Mohon jelaskan lebih lengkap (minimal 10 huruf), misalnya apa masalahnya dan di mana."
ROAD_CATEGORIES = (
    "Masalah ini termasuk kategori apa? Balas dengan nomornya.\n"
    "Saran kami: 1. Jalan dan jembatan rusak ⭐\n"
    "1. Jalan dan jembatan rusak (disarankan)\n2. Sampah dan kebersihan\n"
    "3. Layanan kesehatan\n0. Lainnya / tidak tahu"
)
ASK_LOCATION = (
    "Di mana lokasinya? Bagikan lokasi (📎 → Lokasi) atau ketik alamatnya (jalan, desa, "
    "kecamatan). Ketik 0 untuk lewati."
)
ASK_PHOTO = "Kirim foto kondisinya (boleh lebih dari satu). Ketik 0 untuk lewati."
SEND_CHOICES = (
    "1. Kirim\n2. Kirim rahasia (nama dan nomor Anda disembunyikan dari instansi)\n3. Batal"
)


def filed(agency: str, number: str = "ICT-000001") -> str:
    return (
        f"Terima kasih, pengaduan Anda tercatat dengan nomor {number}.\n"
        f"Diteruskan ke: {agency}\nBatas waktu tanggapan: 27 Nov 2026 09.00 WIB\n"
        f"Simpan nomor ini untuk mengecek status (ketik: status {number})."
    )


@pytest.fixture
def service(tmp_path: Path) -> Service:
    return Service.start(tmp_path)


@pytest.fixture
def siti(service: Service) -> Chat:
    return Chat(service, "citizen:siti", name="Siti Aminah", phone="+6281234567890")


@pytest.fixture
def pupr(service: Service) -> Chat:
    return Chat(service, PUPR_CHAT, group=True, name="Budi")


def file_road_complaint(siti: Chat) -> None:
    siti.says("Jalan di Desa Lohbener berlubang besar, sudah dua bulan")
    siti.says("1")
    siti.says("0")
    siti.says("0")
    siti.says("1")


def test_greeting_shows_welcome_with_data_use_then_menu(siti: Chat) -> None:
    welcome_back = (
        "Halo Siti Aminah, selamat datang kembali di I-Ceta.\n\n"
        "Silakan pilih:\n1. Buat pengaduan baru\n2. Status pengaduan saya\n3. Bantuan"
    )
    siti.verify_dialog(
        [
            ("halo", [WELCOME]),
            ("/start", [welcome_back]),
            ("oke", [welcome_back]),  # short text while idle: the menu again
            (
                "3",
                [
                    "Cara memakai I-Ceta:\n• Ceritakan masalah Anda dalam satu pesan (mis. "
                    '"Jalan di Desa Lohbener berlubang besar"), lalu pilih kategori, kirim '
                    "lokasi dan foto.\n• Anda akan menerima nomor tiket. Instansi wajib "
                    "menanggapi dalam 24 jam.\n• Ketik status untuk melihat pengaduan Anda, "
                    "batal untuk membatalkan, menu untuk kembali ke menu.\n• Ketik english "
                    "to switch to English."
                ],
            ),
        ]
    )


def test_full_complaint_through_the_menu(service: Service, siti: Chat) -> None:
    """Every message, in order and word for word (Zulip's verify_dialog): an extra
    message, a missing one or a changed word fails."""
    siti.verify_dialog(
        [
            ("halo", [WELCOME]),
            ("1", [ASK_DESCRIPTION]),
            ("rusak", [TOO_SHORT]),
            ("Aspal jalan di depan SDN 1 Jatibarang berlubang", [ROAD_CATEGORIES]),
            ("9", ["Pilihan tidak dikenal. Balas dengan salah satu nomor di atas."]),
            ("1", [ASK_LOCATION]),
            ("Jl. Raya Jatibarang No. 5, Kec. Jatibarang", [ASK_PHOTO]),
        ]
    )
    assert "Foto diterima (1)" in siti.says("", attachments=(PHOTO,))
    siti.verify_dialog(
        [
            (
                "selesai",
                [
                    "Periksa pengaduan Anda:\nKategori: Jalan dan jembatan rusak\n"
                    "Uraian: Aspal jalan di depan SDN 1 Jatibarang berlubang\n"
                    "Lokasi: Jl. Raya Jatibarang No. 5, Kec. Jatibarang\nLampiran: 1\n\n"
                    + SEND_CHOICES
                ],
            ),
            ("1", [filed("Dinas PUPR")]),
        ]
    )
    [ticket] = service.rows("select * from tickets")
    assert ticket["status"] == "assigned"
    assert ticket["agency_id"] == "pupr"
    assert ticket["address"] == "Jl. Raya Jatibarang No. 5, Kec. Jatibarang"
    assert "jalan.jpg" in ticket["attachments"]
    card = Chat(service, PUPR_CHAT, group=True).last_bot_message(kind="card")
    assert "ICT-000001" in card["text"]
    assert "Siti Aminah +62 812-****-7890" in card["text"]
    assert "6281234567890" not in card["text"]
    assert [b["label"] for b in card["buttons"][0]] == ["Ambil", "Selesai"]
    events = service.rows("select action from ticket_events order by id")
    assert [e["action"] for e in events] == ["created", "assigned"]


def test_fast_path_with_shared_location_and_confidential_send(service: Service, siti: Chat) -> None:
    answer = siti.says("Sampah menumpuk di TPS Pasar Baru, bau sekali sampai ke rumah warga")
    assert "2. Sampah dan kebersihan (disarankan)" in answer
    assert "Di mana lokasinya" in siti.says("2")
    assert "Kirim foto" in siti.says("", location=Location(-6.3269, 108.3249))
    siti.verify_dialog(
        [
            (
                "lewati",
                [
                    "Periksa pengaduan Anda:\nKategori: Sampah dan kebersihan\n"
                    "Uraian: Sampah menumpuk di TPS Pasar Baru, bau sekali sampai ke rumah "
                    "warga\nLokasi: titik lokasi dibagikan\nLampiran: 0\n\n" + SEND_CHOICES
                ],
            ),
            (
                "2",
                [filed("Dinas Lingkungan Hidup") + "\nIdentitas Anda dirahasiakan dari instansi."],
            ),
        ]
    )
    card = Chat(service, DLH_CHAT, group=True).last_bot_message(kind="card")
    assert "(dirahasiakan)" in card["text"]
    assert "Siti" not in card["text"] and "7890" not in card["text"]
    assert "maps.google.com/?q=-6.326900,108.324900" in card["text"]


def test_other_category_goes_to_dispatch_who_routes_it(service: Service, siti: Chat) -> None:
    siti.says("Ada pungutan liar di kantor desa untuk surat keterangan")
    siti.says("0")
    siti.says("Desa Sukra")
    siti.says("0")
    answer = siti.says("1")
    assert "ICT-000001" in answer and "Call Center I-Ceta akan meneruskannya" in answer
    dispatch = Chat(service, DISPATCH_CHAT, group=True, name="Rina")
    card = dispatch.last_bot_message(kind="card")
    assert "Baru — menunggu diteruskan" in card["text"]
    assert "Siti Aminah +6281234567890" in card["text"]  # dispatch alone sees the full number
    choices = dispatch.presses("route:1")
    assert "Alihkan ICT-000001 ke instansi mana?" in choices
    dispatch.presses("assign:1:pupr")
    assert "diteruskan ke Dinas PUPR" in siti.inbox()
    assert "Batas waktu tanggapan: 27 Nov 2026 09.00 WIB" in texts_of(service, "citizen:siti")
    assert (
        "ICT-000001" in Chat(service, PUPR_CHAT, group=True).last_bot_message(kind="card")["text"]
    )


def texts_of(service: Service, chat_id: str) -> str:
    return "\n".join(m["text"] for m in service.all_messages(chat_id) if m["from"] == "bot")


@pytest.mark.parametrize("step_inputs", [[], ["1"], ["1", "Jl. Mangga"], ["1", "0", "0"]])
def test_cancel_at_any_step_drops_the_draft(
    service: Service, siti: Chat, step_inputs: list[str]
) -> None:
    siti.says("Jalan berlubang di depan balai desa Karangampel")
    for said in step_inputs:
        siti.says(said)
    assert "telah dibatalkan" in siti.says("batal")
    assert service.rows("select count(*) n from tickets")[0]["n"] == 0
    assert service.rows("select state from conversations")[0]["state"] == "idle"


def test_menu_word_mid_draft_drops_it_and_shows_the_menu(siti: Chat) -> None:
    siti.says("Jalan berlubang di depan balai desa Karangampel")
    answer = siti.says("menu")
    assert "telah dibatalkan" in answer and "1. Buat pengaduan baru" in answer


def test_draft_survives_a_restart_and_expires_after_a_day_of_silence(tmp_path: Path) -> None:
    first = Service.start(tmp_path)
    Chat(first, "citizen:ani").says("Jalan berlubang di depan balai desa Karangampel")
    second = Service.start(tmp_path)  # a new process on the same database file
    ani = Chat(second, "citizen:ani")
    assert "Di mana lokasinya" in ani.says("1")
    second.clock.advance(hours=25)
    answer = ani.says("Jl. Mangga")
    assert "kedaluwarsa" in answer


def test_photo_while_idle_starts_a_draft_with_it(service: Service, siti: Chat) -> None:
    assert "Lampiran diterima" in siti.says("", attachments=(PHOTO,))
    assert "kategori apa" in siti.says("Jembatan bambu di Desa Tugu hampir putus")
    siti.says("1")
    siti.says("0")
    assert "Lampiran: 1" in siti.says("0")


def test_sticker_and_empty_message_get_a_polite_answer(siti: Chat) -> None:
    sticker = Attachment("sticker", "sticker-1")
    assert "Terima kasih stikernya" in siti.says("", attachments=(sticker,))


def test_status_lists_own_tickets_and_hides_others(service: Service, siti: Chat) -> None:
    file_road_complaint(siti)
    listing = siti.says("status")
    assert "ICT-000001 — Dinas PUPR — diteruskan, menunggu tanggapan" in listing
    detail = siti.says("status ict 1")
    assert (
        "Kategori: Jalan dan jembatan rusak" in detail
        and "Batas tanggapan: 27 Nov 2026 09.00 WIB" in detail
    )
    other = Chat(service, "citizen:joko")
    assert other.says("status ICT-000001") == "Pengaduan ICT-000001 tidak ditemukan."
    assert other.says("status ICT-000077") == "Pengaduan ICT-000077 tidak ditemukan."
    assert "belum punya pengaduan" in other.says("2")


def test_more_text_while_a_ticket_is_open_asks_which_one(
    service: Service, siti: Chat, pupr: Chat
) -> None:
    file_road_complaint(siti)
    pupr.inbox()
    question = siti.says("Lubangnya makin besar setelah hujan semalam")
    assert "tentang pengaduan yang mana" in question
    assert "1. ICT-000001 — Dinas PUPR" in question and "0. Pengaduan baru" in question
    assert "sudah diteruskan ke Dinas PUPR" in siti.says("1")
    assert (
        "Tambahan dari pelapor ICT-000001:\nLubangnya makin besar setelah hujan semalam"
        in pupr.inbox()
    )
    siti.says("Lampu jalan di gang Melati mati sejak seminggu lalu")
    assert "kategori apa" in siti.says("0")


def test_reply_to_a_bot_message_goes_to_that_ticket(
    service: Service, siti: Chat, pupr: Chat
) -> None:
    file_road_complaint(siti)
    acknowledgement = siti.last_bot_message(ticket_id=1)
    pupr.inbox()
    answer = siti.says(
        "Foto tambahan sudah saya kirim kemarin", reply_to=acknowledgement["message_id"]
    )
    assert "sudah diteruskan ke Dinas PUPR" in answer
    assert "Foto tambahan sudah saya kirim kemarin" in pupr.inbox()


def test_agency_reply_resolution_confirmation_and_rating(
    service: Service, siti: Chat, pupr: Chat
) -> None:
    file_road_complaint(siti)
    card = pupr.last_bot_message(kind="card")
    service.clock.advance(hours=3)
    assert "diteruskan ke pelapor" in pupr.says(
        "Tim kami survei besok pagi", reply_to=card["message_id"]
    )
    assert "Tanggapan Dinas PUPR untuk ICT-000001:\nTim kami survei besok pagi" in siti.inbox()
    pupr.says("Ini catatan internal tim saja")  # not a reply: stays in the group
    pupr.says("/catatan ICT-000001 cek anggaran pemeliharaan")
    assert "cek anggaran" not in siti.inbox()
    pupr.presses("claim:1")
    card = pupr.last_bot_message(kind="card")
    assert "Ditangani: Budi (pupr)" in card["text"]  # the card, edited in place
    assert [b["label"] for b in card["buttons"][0]] == ["Selesai"]  # no second claim
    service.clock.advance(days=1)
    pupr.says("/selesai ICT-000001 Lubang sudah ditambal")
    asked = siti.inbox()
    assert (
        "menyatakan pengaduan ICT-000001 sudah selesai" in asked
        and "Catatan: Lubang sudah ditambal" in asked
    )
    siti.verify_dialog(
        [
            (
                "1",
                [
                    "Terima kasih! Beri nilai layanan untuk ICT-000001: 1 (buruk) sampai "
                    "5 (sangat baik)."
                ],
            ),
            (
                "7",
                [
                    "Nilai diisi angka 1 (buruk) sampai 5 (sangat baik). Berapa nilai Anda "
                    "untuk ICT-000001?"
                ],
            ),
            ("5", ["Ada komentar? Ketik komentar Anda, atau 0 untuk lewati."]),
            (
                "Cepat sekali, terima kasih",
                ["Terima kasih atas penilaian Anda. Pengaduan ICT-000001 ditutup."],
            ),
        ]
    )
    assert service.rows("select score, comment from ratings") == [
        {"score": 5, "comment": "Cepat sekali, terima kasih"}
    ]
    [ticket] = service.rows("select status, first_response_at from tickets")
    assert ticket["status"] == "closed" and ticket["first_response_at"].startswith(
        "2026-11-26T05:00"
    )
    assert "Nilai pelapor untuk ICT-000001: 5/5 — Cepat sekali" in pupr.inbox()


def test_not_fixed_reopens_and_tells_the_agency(service: Service, siti: Chat, pupr: Chat) -> None:
    file_road_complaint(siti)
    pupr.says("/close ICT-000001")
    siti.inbox()
    assert "dibuka kembali" in siti.presses("fixed:1:2")
    assert "BELUM beres" in pupr.inbox()
    assert service.rows("select status from tickets")[0]["status"] == "responded"


def test_agency_question_pauses_and_the_answer_is_relayed(
    service: Service, siti: Chat, pupr: Chat
) -> None:
    file_road_complaint(siti)
    pupr.says("/tanya ICT-000001 Di RT berapa tepatnya?")
    assert "membutuhkan informasi tambahan" in siti.inbox()
    service.clock.advance(hours=5)
    question = siti.last_bot_message(ticket_id=1)
    siti.says("RT 03 RW 02", reply_to=question["message_id"])
    assert "Jawaban pelapor ICT-000001:\nRT 03 RW 02" in pupr.inbox()
    [ticket] = service.rows("select status, deadline_at from tickets")
    assert ticket["status"] == "assigned"
    assert ticket["deadline_at"].startswith("2026-11-27T07:00")  # pushed back by the 5 hours waited


def test_agency_cannot_touch_another_agencys_ticket(service: Service, siti: Chat) -> None:
    file_road_complaint(siti)
    dlh = Chat(service, DLH_CHAT, group=True)
    assert "bukan tiket instansi ini" in dlh.says("/balas ICT-000001 halo")
    assert "halo" not in siti.inbox().split("---")[-1]
    assert service.rows("select status from tickets")[0]["status"] == "assigned"


def test_transfer_bounce_and_reject(service: Service, siti: Chat, pupr: Chat) -> None:
    file_road_complaint(siti)
    siti.inbox()
    pupr.says("/alihkan ICT-000001 dlh")
    assert "dialihkan ke Dinas Lingkungan Hidup" in siti.inbox()
    assert (
        "Dialihkan ke Dinas Lingkungan Hidup oleh Budi (pupr)"
        in pupr.last_bot_message(kind="card")["text"]
    )
    dlh = Chat(service, DLH_CHAT, group=True, name="Wati")
    dlh.says("/bukan ICT-000001 ini wewenang provinsi")
    dispatch = Chat(service, DISPATCH_CHAT, group=True, name="Rina")
    assert "Dikembalikan oleh Dinas Lingkungan Hidup: ini wewenang provinsi" in dispatch.inbox()
    dispatch.says("/tolak ICT-000001 bukan pengaduan")
    assert "tidak dapat kami proses. Alasan: bukan pengaduan" in siti.inbox()
    actions = [r["action"] for r in service.rows("select action from ticket_events order by id")]
    assert actions == ["created", "assigned", "transferred", "bounced", "rejected"]


def test_english_switch(siti: Chat) -> None:
    assert "Language switched to English" in siti.says("english")
    assert "Which category is it?" in siti.says("The bridge in Tugu village is about to collapse")


def test_a_redelivered_message_is_handled_once(service: Service, siti: Chat) -> None:
    first = service.send("citizen:siti", "halo", provider_id="same-id")
    second = service.send("citizen:siti", "halo", provider_id="same-id")
    assert len(first) == 1 and second == []
    assert service.rows("select count(*) n from messages where direction = 'in'")[0]["n"] == 1


def test_stop_opts_out_of_rating_prompts_but_not_replies(
    service: Service, siti: Chat, pupr: Chat
) -> None:
    file_road_complaint(siti)
    assert "tidak akan menerima pesan yang tidak penting" in siti.says("STOP")
    pupr.says("/balas ICT-000001 Sedang kami tangani")
    assert "Sedang kami tangani" in siti.inbox()


def test_open_list_shows_a_paused_clock_while_waiting_for_the_citizen(
    service: Service, siti: Chat, pupr: Chat
) -> None:
    file_road_complaint(siti)
    service.clock.advance(hours=4)
    pupr.says("/tanya ICT-000001 Di RT berapa?")
    service.clock.advance(hours=30)  # the citizen has not answered yet
    listing = pupr.says("/daftar")
    assert "ICT-000001" in listing and "dijeda, menunggu pelapor (sisa 20 jam)" in listing
    assert "TERLAMBAT" not in listing


def test_commands_split_at_any_whitespace_and_keep_line_breaks(
    service: Service, siti: Chat, pupr: Chat
) -> None:
    file_road_complaint(siti)
    pupr.says("/balas\u00a0ICT-000001\tBaris pertama\nBaris kedua")
    assert "untuk ICT-000001:\nBaris pertama\nBaris kedua" in siti.inbox()


def test_each_staff_chat_gets_help_for_its_own_role(service: Service, pupr: Chat) -> None:
    agency = pupr.says("/bantuan")
    assert agency.startswith("Perintah grup instansi:\n/balas (/reply) TIKET teks")
    assert "/teruskan" not in agency and "/terlambat" not in agency
    dispatch = Chat(service, DISPATCH_CHAT, group=True, name="Rina").says("/bantuan")
    assert dispatch.startswith(
        "Perintah call center:\n/teruskan (/assign) TIKET ID-INSTANSI — teruskan ke instansi"
    )
    assert "Seperti grup instansi:\n/balas (/reply)" in dispatch and "/terlambat" not in dispatch
    supervisors = Chat(service, SUPERVISOR_CHAT, group=True, name="Pak Kadis").says("/help")
    assert supervisors.startswith("Perintah pimpinan:\n/terlambat (/overdue)")


def test_the_card_names_the_citizens_channel_in_words(siti: Chat, pupr: Chat) -> None:
    file_road_complaint(siti)
    card = pupr.last_bot_message(ticket_id=1, kind="card")["text"]
    assert "· konsol coba\n" in card and "Local" not in card


def test_a_resolved_card_has_no_buttons_left(siti: Chat, pupr: Chat) -> None:
    file_road_complaint(siti)
    assert pupr.last_bot_message(ticket_id=1, kind="card")["buttons"]
    pupr.says("/balas ICT-000001 Sudah kami tambal")
    pupr.presses("resolve:1")
    card = pupr.last_bot_message(ticket_id=1, kind="card")
    assert card["text"].startswith("✅ ICT-000001 · Selesai — menunggu konfirmasi warga")
    assert card["buttons"] == [], "resolved: the citizen confirms, staff have nothing to press"
