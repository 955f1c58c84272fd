"""How real citizens write (issue: understand real citizens), as transcript tests.

A complaint in several bubbles, greetings of any length, thank-yous, scam messages,
a power cut that belongs to PLN, shared contacts and stickers: what the citizen
typed, what the bot answered, and what reached the agency — on the shipped config's
wording where it matters, with a real SQLite file and a fixed clock.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from bot.model import Attachment, Location
from tests.harness import DISPATCH_CHAT, PUPR_CHAT, TEST_CONFIG, Chat, Service

PHOTO = Attachment("photo", "local:jalan.jpg", "image/jpeg", "jalan.jpg")
STICKER = Attachment("sticker", "sticker-1", "image/webp")
CONTACT = Attachment("contact", "tel:+6281398765432", "text/vcard", "Pak Kuwu Darso")


@pytest.fixture
def service(tmp_path: Path) -> Service:
    raw = copy.deepcopy(TEST_CONFIG)
    raw["categories"][0]["general_keywords"] = ["rusak"]
    raw["categories"].append(
        {
            "id": "lampu_jalan",
            "label": "Lampu jalan mati",
            "agency": "pupr",
            "keywords": ["lampu jalan", "pju"],
            "general_keywords": ["lampu", "gelap"],
        }
    )
    raw["referrals"][0]["keywords"] = ["listrik", "pln", "mati listrik", "byar pet"]
    raw["referrals"][0]["general_keywords"] = ["padam"]
    return Service.start(tmp_path, raw)


@pytest.fixture
def siti(service: Service) -> Chat:
    return Chat(service, "citizen:siti", name="Siti Aminah", phone="+6281234567890")


def tickets(service: Service) -> list[dict]:
    return service.rows("select * from tickets")


def test_a_complaint_in_three_bubbles_reaches_the_agency_card_whole(
    service: Service, siti: Chat
) -> None:
    first = siti.says("Jalan di Desa Lohbener rusak")
    assert "kategori apa" in first
    assert "Saran kami: 1. Jalan dan jembatan rusak ⭐" in first
    second = siti.says("lubangnya dalam sekali, sudah dua bulan")
    assert second.startswith("Pesan ini kami tambahkan ke uraian pengaduan.")
    assert "kategori apa" in second  # the step's question again
    third = siti.says("kemarin ada motor jatuh di situ, tolong segera diperbaiki")
    assert "kami tambahkan ke uraian" in third
    assert "Pilihan tidak dikenal" in siti.says("ok")  # a short unknown word: choose a number
    siti.says("1")
    assert "Kirim foto" in siti.says("Depan SDN 1 Lohbener")  # an address, not the complaint
    summary = siti.says("0")
    assert "Uraian: Jalan di Desa Lohbener rusak\nlubangnya dalam sekali" in summary
    siti.says("1")
    [ticket] = tickets(service)
    assert ticket["description"] == (
        "Jalan di Desa Lohbener rusak\n"
        "lubangnya dalam sekali, sudah dua bulan\n"
        "kemarin ada motor jatuh di situ, tolong segera diperbaiki"
    )
    assert ticket["address"] == "Depan SDN 1 Lohbener"
    card = Chat(service, PUPR_CHAT, group=True).last_bot_message(kind="card")
    for bubble in ticket["description"].splitlines():
        assert bubble in card["text"]


def test_more_of_the_complaint_at_the_location_photo_and_confirm_steps(
    service: Service, siti: Chat
) -> None:
    siti.says("Sampah menumpuk di pinggir jalan desa")
    siti.says("2")
    at_location = siti.says("baunya menyengat sampai ke rumah rumah warga sekitar sini")
    assert "kami tambahkan ke uraian" in at_location and "Di mana lokasinya" in at_location
    siti.says("Jl. Raya Sindang")
    at_photo = siti.says("sudah seminggu tidak diangkut petugas")
    assert "kami tambahkan ke uraian" in at_photo and "Kirim foto" in at_photo
    with_caption = siti.says("ini fotonya pak", attachments=(PHOTO,))
    assert "kami tambahkan ke uraian" in with_caption and "Foto diterima (1)" in with_caption
    siti.says("selesai")
    at_confirm = siti.says("mohon segera diangkut sebelum musim hujan")
    assert "kami tambahkan ke uraian" in at_confirm and "Periksa pengaduan Anda" in at_confirm
    assert "mohon segera diangkut" in at_confirm  # the summary shows the whole complaint
    siti.says("1")
    [ticket] = tickets(service)
    assert ticket["description"].splitlines() == [
        "Sampah menumpuk di pinggir jalan desa",
        "baunya menyengat sampai ke rumah rumah warga sekitar sini",
        "sudah seminggu tidak diangkut petugas",
        "ini fotonya pak",
        "mohon segera diangkut sebelum musim hujan",
    ]
    assert ticket["address"] == "Jl. Raya Sindang" and ticket["agency_id"] == "dlh"


def test_suggestions_are_recomputed_on_the_whole_description(siti: Chat) -> None:
    first = siti.says("Tolong pak, di gang kami sudah seminggu")
    assert "Saran kami" not in first
    second = siti.says("lampu jalannya mati semua, gelap gulita")
    assert "Saran kami: 4. Lampu jalan mati ⭐" in second
    assert "1. Jalan dan jembatan rusak\n" in second  # "jalan" inside "lampu jalan" is not a road


def test_a_long_greeting_gets_the_welcome_and_starts_nothing(service: Service, siti: Chat) -> None:
    answer = siti.says("Assalamualaikum, selamat pagi pak")
    assert "Selamat datang di I-Ceta" in answer and "1. Buat pengaduan baru" in answer
    answer = siti.says("Assalamu'alaikum wr. wb. Selamat siang bapak/ibu admin, punten mau tanya")
    assert "selamat datang kembali" in answer
    assert tickets(service) == []
    assert service.rows("select state from conversations")[0]["state"] == "idle"


def test_a_thank_you_files_nothing(service: Service, siti: Chat) -> None:
    answer = siti.says("terima kasih, jalannya sudah diperbaiki")
    assert (
        answer == "Sama-sama, terima kasih sudah memberi kabar. Bila ada masalah lain, ketik menu."
    )
    assert siti.says("Makasih min, mantap").startswith("Sama-sama")
    assert tickets(service) == []
    # thanks that still complains is a complaint
    answer = siti.says("Terima kasih, tapi jalan di depan balai desa masih berlubang")
    assert "kategori apa" in answer


def test_thanks_after_the_fix_confirms_it(service: Service, siti: Chat) -> None:
    siti.says("Jalan di Desa Lohbener berlubang besar, sudah dua bulan")
    for choice in ("1", "0", "0", "1"):
        siti.says(choice)
    pupr = Chat(service, PUPR_CHAT, group=True, name="Budi")
    pupr.says("/selesai ICT-000001 sudah ditambal")
    assert "Apakah masalahnya sudah beres" in siti.inbox()
    assert "Beri nilai layanan" in siti.says("terima kasih, sudah diperbaiki")
    assert tickets(service)[0]["status"] == "closed"


@pytest.mark.parametrize(
    "message",
    [
        "Selamat! Nomor Anda memenangkan hadiah undian Rp 50 juta, hubungi kami",
        "Mohon bantu kirim pulsa 100rb ke 081234567890, nanti saya ganti",
        "Transfer dulu ke rekening BRI 1234-5678-9012 atas nama panitia",
        "Cek info lengkap di bit.ly/bansos-2026 sekarang juga",
    ],
)
def test_scam_and_spam_are_asked_about_never_filed(
    service: Service, siti: Chat, message: str
) -> None:
    answer = siti.says(message)
    assert "Apakah ini pengaduan?" in answer and "tidak pernah meminta uang" in answer
    assert "kategori" not in answer
    assert siti.says("2") == "Baik, pesan itu tidak kami proses.\nKetik menu untuk melihat pilihan."
    assert tickets(service) == []


def test_a_real_complaint_with_a_link_goes_on_when_the_citizen_says_so(
    service: Service, siti: Chat
) -> None:
    siti.says("Jalan rusak parah, beritanya di https://radarcirebon.id/jalan-rusak")
    assert "kategori apa" in siti.says("1")
    for choice in ("1", "0", "0", "1"):
        siti.says(choice)
    assert tickets(service)[0]["description"].startswith("Jalan rusak parah, beritanya")


def test_a_power_cut_is_referred_to_pln(service: Service, siti: Chat) -> None:
    answer = siti.says("Listrik di Desa Kenanga byar pet terus sejak kemarin sore")
    assert "bukan kewenangan Pemerintah Kabupaten Indramayu, melainkan PLN UP3 Indramayu" in answer
    assert "telepon 123 atau aplikasi PLN Mobile" in answer
    assert "⭐" not in answer  # no regency category is put forward
    assert "Pengaduan yang sedang ditulis telah dibatalkan" in siti.says("batal")
    assert tickets(service) == []


def test_a_shared_contact_is_attached_and_reaches_the_agency(service: Service, siti: Chat) -> None:
    answer = siti.says("", attachments=(CONTACT,))
    assert answer == (
        "Kontak Pak Kuwu Darso diterima dan dilampirkan pada pengaduan. "
        "Sekarang ceritakan masalahnya dengan teks."
    )
    siti.says("Jembatan penghubung dua desa putus, hubungi kuwu untuk lokasinya")
    for choice in ("1", "0", "0", "1"):
        siti.says(choice)
    [ticket] = tickets(service)
    assert "tel:+6281398765432" in ticket["attachments"]
    card = Chat(service, PUPR_CHAT, group=True).last_bot_message(kind="card")
    assert "👤 Kontak dari warga: Pak Kuwu Darso +6281398765432" in card["text"]


def test_a_sticker_gets_one_friendly_answer_at_any_step_and_is_never_evidence(
    service: Service, siti: Chat
) -> None:
    assert siti.says("", attachments=(STICKER,)).startswith("Terima kasih stikernya")
    siti.says("Jalan di Desa Lohbener berlubang besar")
    assert siti.says("", attachments=(STICKER,)).startswith("Terima kasih stikernya")
    siti.says("1")
    siti.says("0")
    siti.says("", attachments=(STICKER,))
    siti.says("0")
    assert "Lampiran: 0" in Chat(service, "citizen:siti").last_bot_message()["text"]
    siti.says("1")
    assert "sticker" not in tickets(service)[0]["attachments"]


def test_a_photo_with_a_location_while_idle_still_starts_a_draft(
    service: Service, siti: Chat
) -> None:
    answer = siti.says("", attachments=(PHOTO,), location=Location(-6.33, 108.32))
    assert answer == "Lampiran diterima. Sekarang ceritakan masalahnya dengan teks."
    assert Chat(service, DISPATCH_CHAT, group=True).inbox() == ""


def test_the_whole_transcript_of_a_greeting_a_thank_you_and_a_power_cut(siti: Chat) -> None:
    """Every message the bot says, in order and word for word (an extra or a missing
    message fails, as in Zulip's verify_dialog)."""
    menu = "Silakan pilih:\n1. Buat pengaduan baru\n2. Status pengaduan saya\n3. Bantuan"
    siti.verify_dialog(
        [
            (
                "Assalamualaikum, selamat pagi pak",
                [
                    "Selamat datang di I-Ceta, layanan pengaduan Pemerintah Kabupaten "
                    "Indramayu. Data dan nomor Anda hanya dipakai untuk menindaklanjuti "
                    "pengaduan Anda dan tidak dibagikan kepada pihak lain.\n\n" + menu
                ],
            ),
            (
                "terima kasih, jalannya sudah diperbaiki",
                ["Sama-sama, terima kasih sudah memberi kabar. Bila ada masalah lain, ketik menu."],
            ),
            (
                "Listrik di rumah kami mati sejak tadi malam, byar pet terus",
                [
                    "Masalah ini tampaknya bukan kewenangan Pemerintah Kabupaten Indramayu, "
                    "melainkan PLN UP3 Indramayu. Silakan hubungi: telepon 123 atau aplikasi "
                    "PLN Mobile.\nJika pengaduan Anda tetap untuk Pemkab, pilih kategorinya di "
                    "bawah; ketik batal bila sudah cukup.\n\n"
                    "Masalah ini termasuk kategori apa? Balas dengan nomornya.\n"
                    "1. Jalan dan jembatan rusak\n2. Sampah dan kebersihan\n"
                    "3. Layanan kesehatan\n4. Lampu jalan mati\n0. Lainnya / tidak tahu"
                ],
            ),
            ("batal", ["Pengaduan yang sedang ditulis telah dibatalkan.\n\n" + menu]),
        ]
    )
