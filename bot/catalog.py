"""Every sentence the bot says to a person, in Bahasa Indonesia and English.

Logic never holds citizen-facing text: it asks for a message by key and fills
in the values. Both languages must have the same keys and placeholders (a
test keeps them so).
"""

from __future__ import annotations

from typing import Any

ID: dict[str, str] = {
    # --- citizen: menu and help
    "welcome_first": (
        "Selamat datang di {service}, layanan pengaduan Pemerintah Kabupaten Indramayu. "
        "Data dan nomor Anda hanya dipakai untuk menindaklanjuti pengaduan Anda "
        "dan tidak dibagikan kepada pihak lain."
    ),
    "welcome_again": "Halo{name}, selamat datang kembali di {service}.",
    "menu": "Silakan pilih:\n1. Buat pengaduan baru\n2. Status pengaduan saya\n3. Bantuan",
    "menu_new": "Buat pengaduan baru",
    "menu_status": "Status pengaduan saya",
    "menu_help": "Bantuan",
    "help": (
        "Cara memakai {service}:\n"
        '• Ceritakan masalah Anda dalam satu pesan (mis. "Jalan di Desa Lohbener berlubang '
        'besar"), lalu pilih kategori, kirim lokasi dan foto.\n'
        "• Anda akan menerima nomor tiket. Instansi wajib menanggapi dalam {hours} jam.\n"
        "• Ketik status untuk melihat pengaduan Anda, batal untuk membatalkan, "
        "menu untuk kembali ke menu.\n"
        "• Ketik english to switch to English."
    ),
    "menu_hint": "Ketik menu untuk melihat pilihan.",
    "cancelled": "Pengaduan yang sedang ditulis telah dibatalkan.",
    "nothing_to_cancel": "Tidak ada pengaduan yang sedang ditulis.",
    "draft_expired": (
        "Draf pengaduan Anda sebelumnya kedaluwarsa karena tidak ada balasan selama "
        "{hours} jam, jadi kami hapus."
    ),
    "language_set": "Bahasa diganti ke Bahasa Indonesia.",
    "sticker_reply": (
        "Terima kasih stikernya 🙂 Stiker tidak kami lampirkan pada pengaduan. "
        "Silakan ketik pengaduan Anda, atau kirim foto atau lokasi."
    ),
    "thanks_reply": (
        "Sama-sama, terima kasih sudah memberi kabar. Bila ada masalah lain, ketik menu."
    ),
    "is_it_a_complaint": (
        "Pesan ini berisi tautan, nomor rekening atau tawaran pulsa/hadiah. Petugas "
        "I-Ceta tidak pernah meminta uang, pulsa atau data rekening. Apakah ini pengaduan?"
    ),
    "is_complaint_yes": "Ya, ini pengaduan",
    "is_complaint_no": "Bukan",
    "not_a_complaint": "Baik, pesan itu tidak kami proses.",
    "added_to_description": "Pesan ini kami tambahkan ke uraian pengaduan.",
    "location_received": "Lokasi diterima.",
    "contact_received": "Kontak {name} diterima dan dilampirkan pada pengaduan.",
    "contact_card_received": "Kartu kontak diterima dan dilampirkan pada pengaduan.",
    "attachment_received_short": "Lampiran diterima.",
    "ask_text_too": "Sekarang ceritakan masalahnya dengan teks.",
    "referral_suggested": (
        "Masalah ini tampaknya bukan kewenangan Pemerintah Kabupaten Indramayu, melainkan "
        "{name}. Silakan hubungi: {contact}.\n"
        "Jika pengaduan Anda tetap untuk Pemkab, pilih kategorinya di bawah; ketik batal "
        "bila sudah cukup."
    ),
    "category_suggestions": "Saran kami: {choices}",
    "category_maybe": "(mungkin)",
    "empty_message": "Pesan Anda kosong. Silakan ketik pengaduan Anda.",
    # --- citizen: writing a complaint
    "ask_description": (
        "Ceritakan masalahnya: apa yang terjadi dan di mana. Anda juga boleh mengirim "
        "foto, pesan suara atau dokumen."
    ),
    "description_too_short": (
        "Mohon jelaskan lebih lengkap (minimal {min} huruf), misalnya apa masalahnya dan di mana."
    ),
    "attachment_received": "Lampiran diterima. Sekarang ceritakan masalahnya dengan teks.",
    "ask_category": "Masalah ini termasuk kategori apa? Balas dengan nomornya.",
    "category_suggested": "(disarankan)",
    "category_other": "Lainnya / tidak tahu",
    "skip": "Lewati",
    "done": "Selesai",
    "invalid_choice": "Pilihan tidak dikenal. Balas dengan salah satu nomor di atas.",
    "ask_location": (
        "Di mana lokasinya? Bagikan lokasi (📎 → Lokasi) atau ketik alamatnya "
        "(jalan, desa, kecamatan). Ketik 0 untuk lewati."
    ),
    "location_skip_hint": "Ketik 0 untuk lewati.",
    "ask_photo": "Kirim foto kondisinya (boleh lebih dari satu). Ketik 0 untuk lewati.",
    "photo_received": "Foto diterima ({count}). Kirim foto lain atau ketik selesai.",
    "photo_prompt": "Kirim foto, ketik selesai bila sudah, atau 0 untuk lewati.",
    "summary": (
        "Periksa pengaduan Anda:\n"
        "Kategori: {category}\n"
        "Uraian: {description}\n"
        "Lokasi: {location}\n"
        "Lampiran: {attachments}"
    ),
    "summary_no_location": "-",
    "summary_shared_location": "titik lokasi dibagikan",
    "confirm_choices": "1. Kirim\n2. Kirim rahasia (nama dan nomor Anda disembunyikan dari instansi)\n3. Batal",
    "confirm_send": "Kirim",
    "confirm_send_confidential": "Kirim rahasia",
    "confirm_cancel": "Batal",
    "acknowledged": (
        "Terima kasih, pengaduan Anda tercatat dengan nomor {number}.\n"
        "Diteruskan ke: {agency}\n"
        "Batas waktu tanggapan: {deadline}\n"
        "Simpan nomor ini untuk mengecek status (ketik: status {number})."
    ),
    "acknowledged_dispatch": (
        "Terima kasih, pengaduan Anda tercatat dengan nomor {number}.\n"
        "Petugas {dispatch} akan meneruskannya ke instansi yang berwenang; Anda akan "
        "diberi tahu instansi dan batas waktu tanggapannya."
    ),
    "acknowledged_confidential": "Identitas Anda dirahasiakan dari instansi.",
    # --- citizen: follow-ups
    "which_ticket": (
        "Anda punya pengaduan yang masih berjalan. Pesan ini tentang pengaduan yang mana?"
    ),
    "which_ticket_new": "Pengaduan baru",
    "follow_up_sent": "Tambahan informasi untuk {number} sudah diteruskan ke {agency}.",
    "ticket_line": "{number} — {agency} — {status}",
    # --- citizen: status
    "status_none": "Anda belum punya pengaduan. Ketik 1 untuk membuat pengaduan baru.",
    "status_header": "Pengaduan Anda:",
    "status_item": "• {number} — {agency} — {status}{deadline}",
    "status_deadline": " — batas tanggapan {deadline}",
    "status_deadline_late": " — TERLAMBAT, batas tanggapan {deadline} sudah lewat",
    "status_detail": (
        "{number}\nKategori: {category}\nInstansi: {agency}\nStatus: {status}\n"
        "Dibuat: {created}{deadline}\nUraian: {description}"
    ),
    "status_detail_deadline": "\nBatas tanggapan: {deadline}",
    "status_detail_resolution": "\nTarget penyelesaian: {deadline}",
    "status_detail_resolution_late": (
        "\nTERLAMBAT: target penyelesaian {deadline} sudah lewat; instansi sudah diingatkan."
    ),
    "status_detail_deadline_late": (
        "\nTERLAMBAT: batas tanggapan {deadline} sudah lewat dan instansi belum menanggapi."
    ),
    "status_not_found": "Pengaduan {number} tidak ditemukan.",
    "status_more": "…dan {count} pengaduan lama lainnya.",
    # --- citizen: hearing from the agency
    "agency_reply": "Tanggapan {agency} untuk {number}:\n{text}",
    "agency_question": (
        "{agency} membutuhkan informasi tambahan untuk {number}:\n{text}\n\n"
        "Balas pesan ini dengan jawaban Anda."
    ),
    "assigned_to_agency": (
        "Pengaduan {number} diteruskan ke {agency}. Batas waktu tanggapan: {deadline}."
    ),
    "transferred": (
        "Pengaduan {number} dialihkan ke {agency} yang lebih berwenang. "
        "Batas waktu tanggapan: {deadline}."
    ),
    "rejected": "Pengaduan {number} tidak dapat kami proses. Alasan: {reason}",
    "referred": (
        "Pengaduan {number} berada di luar kewenangan Pemerintah Kabupaten Indramayu. "
        "Silakan hubungi {name}: {contact}"
    ),
    "resolved_ask": (
        "{agency} menyatakan pengaduan {number} sudah selesai ditangani.{note}\n"
        "Apakah masalahnya sudah beres?\n1. Sudah beres\n2. Belum beres"
    ),
    "resolved_note": "\nCatatan: {note}",
    "confirm_fixed": "Sudah beres",
    "confirm_not_fixed": "Belum beres",
    "reopened": ("Terima kasih. Pengaduan {number} dibuka kembali dan {agency} sudah diberi tahu."),
    "ask_rating": "Terima kasih! Beri nilai layanan untuk {number}: 1 (buruk) sampai 5 (sangat baik).",
    "closed_thanks": "Terima kasih atas konfirmasinya. Pengaduan {number} ditutup.",
    "rating_range": "Nilai diisi angka 1 (buruk) sampai 5 (sangat baik). Berapa nilai Anda untuk {number}?",
    "ask_rating_comment": "Ada komentar? Ketik komentar Anda, atau 0 untuk lewati.",
    "rating_thanks": "Terima kasih atas penilaian Anda. Pengaduan {number} ditutup.",
    "auto_closed": (
        "Pengaduan {number} ditutup karena tidak ada konfirmasi dalam {days} hari. "
        "Jika masalahnya belum beres, kirim pengaduan baru."
    ),
    "opted_out": (
        "Anda tidak akan menerima pesan yang tidak penting lagi. Tanggapan atas pengaduan "
        "Anda tetap kami kirim. Ketik MULAI untuk mengaktifkan kembali."
    ),
    "opted_in": "Pesan pemberitahuan diaktifkan kembali.",
    # --- statuses as citizens read them
    "status_new": "menunggu diteruskan",
    "status_assigned": "diteruskan, menunggu tanggapan",
    "status_responded": "sudah ditanggapi",
    "status_waiting_citizen": "menunggu jawaban Anda",
    "status_resolved": "selesai, menunggu konfirmasi Anda",
    "status_awaiting_validation": "hasil penanganan sedang diperiksa",
    "status_closed": "ditutup",
    "status_rejected": "ditolak",
    "status_referred": "dirujuk ke instansi lain",
}

EN: dict[str, str] = {
    "welcome_first": (
        "Welcome to {service}, the complaint service of the Indramayu Regency Government. "
        "Your data and number are used only to follow up your complaints "
        "and are not shared with anyone else."
    ),
    "welcome_again": "Hello{name}, welcome back to {service}.",
    "menu": "Please choose:\n1. New complaint\n2. Status of my complaints\n3. Help",
    "menu_new": "New complaint",
    "menu_status": "Status of my complaints",
    "menu_help": "Help",
    "help": (
        "How to use {service}:\n"
        '• Describe the problem in one message (e.g. "Big potholes on the road in '
        'Lohbener village"), then choose a category, send the location and photos.\n'
        "• You get a ticket number. The agency must respond within {hours} hours.\n"
        "• Type status to see your complaints, cancel to cancel, "
        "menu for the menu.\n"
        "• Ketik indonesia untuk Bahasa Indonesia."
    ),
    "menu_hint": "Type menu to see the choices.",
    "cancelled": "The complaint you were writing has been cancelled.",
    "nothing_to_cancel": "You are not writing a complaint.",
    "draft_expired": (
        "Your earlier draft complaint expired after {hours} hours without a reply, "
        "so we removed it."
    ),
    "language_set": "Language switched to English.",
    "sticker_reply": (
        "Thanks for the sticker 🙂 Stickers are not attached to complaints. "
        "Please type your complaint, or send a photo or a location."
    ),
    "thanks_reply": "You're welcome, and thank you for letting us know. For anything else, type menu.",
    "is_it_a_complaint": (
        "This message contains a link, a bank account number or an offer of phone credit or "
        "a prize. I-Ceta staff never ask for money, phone credit or bank details. Is this a "
        "complaint?"
    ),
    "is_complaint_yes": "Yes, it is a complaint",
    "is_complaint_no": "No",
    "not_a_complaint": "All right, we will not process that message.",
    "added_to_description": "We added this message to the complaint's description.",
    "location_received": "Location received.",
    "contact_received": "Contact {name} received and attached to the complaint.",
    "contact_card_received": "Contact card received and attached to the complaint.",
    "attachment_received_short": "Attachment received.",
    "ask_text_too": "Now describe the problem in text.",
    "referral_suggested": (
        "This looks like a matter not for the Indramayu regency government but for {name}. "
        "Please contact: {contact}.\n"
        "If your complaint is still for the regency, choose its category below; type cancel "
        "if that is all."
    ),
    "category_suggestions": "Our suggestion: {choices}",
    "category_maybe": "(maybe)",
    "empty_message": "Your message is empty. Please type your complaint.",
    "ask_description": (
        "Describe the problem: what happened and where. You may also send photos, "
        "voice notes or documents."
    ),
    "description_too_short": (
        "Please describe it in more detail (at least {min} letters): what and where."
    ),
    "attachment_received": "Attachment received. Now describe the problem in text.",
    "ask_category": "Which category is it? Reply with its number.",
    "category_suggested": "(suggested)",
    "category_other": "Other / don't know",
    "skip": "Skip",
    "done": "Done",
    "invalid_choice": "Unknown choice. Reply with one of the numbers above.",
    "ask_location": (
        "Where is it? Share a location (📎 → Location) or type the address "
        "(street, village, district). Type 0 to skip."
    ),
    "location_skip_hint": "Type 0 to skip.",
    "ask_photo": "Send photos of it (more than one is fine). Type 0 to skip.",
    "photo_received": "Photo received ({count}). Send another or type done.",
    "photo_prompt": "Send a photo, type done when finished, or 0 to skip.",
    "summary": (
        "Check your complaint:\n"
        "Category: {category}\n"
        "Description: {description}\n"
        "Location: {location}\n"
        "Attachments: {attachments}"
    ),
    "summary_no_location": "-",
    "summary_shared_location": "location pin shared",
    "confirm_choices": "1. Send\n2. Send confidentially (your name and number are hidden from the agency)\n3. Cancel",
    "confirm_send": "Send",
    "confirm_send_confidential": "Send confidentially",
    "confirm_cancel": "Cancel",
    "acknowledged": (
        "Thank you, your complaint is registered as {number}.\n"
        "Forwarded to: {agency}\n"
        "Response deadline: {deadline}\n"
        "Keep this number to check the status (type: status {number})."
    ),
    "acknowledged_dispatch": (
        "Thank you, your complaint is registered as {number}.\n"
        "{dispatch} will forward it to the responsible agency; you will be told "
        "which agency and its response deadline."
    ),
    "acknowledged_confidential": "Your identity is hidden from the agency.",
    "which_ticket": "You have complaints in progress. Which one is this message about?",
    "which_ticket_new": "New complaint",
    "follow_up_sent": "Your additional information for {number} was forwarded to {agency}.",
    "ticket_line": "{number} — {agency} — {status}",
    "status_none": "You have no complaints yet. Type 1 to file a new complaint.",
    "status_header": "Your complaints:",
    "status_item": "• {number} — {agency} — {status}{deadline}",
    "status_deadline": " — response due {deadline}",
    "status_deadline_late": " — LATE, the response was due {deadline}",
    "status_detail": (
        "{number}\nCategory: {category}\nAgency: {agency}\nStatus: {status}\n"
        "Filed: {created}{deadline}\nDescription: {description}"
    ),
    "status_detail_deadline": "\nResponse due: {deadline}",
    "status_detail_resolution": "\nResolution due: {deadline}",
    "status_detail_resolution_late": (
        "\nLATE: the resolution was due {deadline}; the agency has been reminded."
    ),
    "status_detail_deadline_late": (
        "\nLATE: the response was due {deadline} and the agency has not answered yet."
    ),
    "status_not_found": "Complaint {number} was not found.",
    "status_more": "…and {count} older complaints.",
    "agency_reply": "Response from {agency} on {number}:\n{text}",
    "agency_question": (
        "{agency} needs more information on {number}:\n{text}\n\nReply to this message with your answer."
    ),
    "assigned_to_agency": "Complaint {number} was forwarded to {agency}. Response deadline: {deadline}.",
    "transferred": (
        "Complaint {number} was transferred to {agency}, which is responsible for it. "
        "Response deadline: {deadline}."
    ),
    "rejected": "We cannot process complaint {number}. Reason: {reason}",
    "referred": (
        "Complaint {number} is outside the authority of the Indramayu Regency Government. "
        "Please contact {name}: {contact}"
    ),
    "resolved_ask": (
        "{agency} reports that complaint {number} has been resolved.{note}\n"
        "Is the problem fixed?\n1. Fixed\n2. Not fixed"
    ),
    "resolved_note": "\nNote: {note}",
    "confirm_fixed": "Fixed",
    "confirm_not_fixed": "Not fixed",
    "reopened": "Thank you. Complaint {number} is reopened and {agency} has been told.",
    "ask_rating": "Thank you! Rate the service for {number}: 1 (poor) to 5 (excellent).",
    "closed_thanks": "Thank you for confirming. Complaint {number} is closed.",
    "rating_range": "A rating is a number from 1 (poor) to 5 (excellent). How do you rate {number}?",
    "ask_rating_comment": "Any comment? Type it, or 0 to skip.",
    "rating_thanks": "Thank you for your rating. Complaint {number} is closed.",
    "auto_closed": (
        "Complaint {number} was closed because there was no confirmation within {days} days. "
        "If the problem is not fixed, please file a new complaint."
    ),
    "opted_out": (
        "You will no longer receive non-essential messages. Responses to your complaints "
        "will still be sent. Type START to turn them back on."
    ),
    "opted_in": "Notifications are turned back on.",
    "status_new": "waiting to be forwarded",
    "status_assigned": "forwarded, waiting for a response",
    "status_responded": "responded",
    "status_waiting_citizen": "waiting for your answer",
    "status_resolved": "resolved, waiting for your confirmation",
    "status_awaiting_validation": "the fix is being checked",
    "status_closed": "closed",
    "status_rejected": "rejected",
    "status_referred": "referred to another institution",
}

# Staff-facing text (agency groups, dispatch, supervisors) follows the service
# language too; kept in the same catalog so nothing is hard-coded in logic.
ID_STAFF: dict[str, str] = {
    "card": (
        "{icon} {number} · {status}\n"
        "Kategori: {category}\n"
        "Uraian: {description}\n"
        "Lokasi: {location}\n"
        "Pelapor: {citizen} · {channel}\n"
        "Dibuat: {created}\n"
        "Batas tanggapan: {deadline}{resolution}{claimed}{extra}"
    ),
    "card_resolution": "\nBatas penyelesaian: {deadline} ({kind}, {days} hari kerja){late}",
    "card_resolution_late": " — TERLAMBAT",
    "card_proof": "\nBukti perbaikan: {count} foto",
    "card_claimed": "\nDitangani: {who}",
    "channel_local": "konsol coba",
    "channel_phone": "telepon (call center)",
    "card_attachments": "\nLampiran: {count}",
    "card_contact": "\n👤 Kontak dari warga: {name} {number}",
    "card_contact_file": "(kartu kontak terlampir)",
    "card_confidential": "(dirahasiakan)",
    "card_no_deadline": "-",
    "card_moved": "\n{what}",
    "card_hint": "\nBalas pesan ini untuk menjawab warga. /bantuan untuk perintah.",
    "btn_claim": "Ambil",
    "btn_resolve": "Selesai",
    "btn_transfer": "Alihkan",
    "btn_bounce": "Bukan wewenang",
    "btn_reject": "Tolak",
    "btn_route": "Teruskan",
    "btn_refer": "Rujuk",
    "staff_status_new": "Baru — menunggu diteruskan",
    "staff_status_assigned": "Menunggu tanggapan",
    "staff_status_late": "TERLAMBAT — belum ditanggapi, batas waktu sudah lewat",
    "staff_status_responded": "Sudah ditanggapi",
    "staff_status_waiting_citizen": "Menunggu jawaban warga",
    "staff_status_resolved": "Selesai — menunggu konfirmasi warga",
    "staff_status_awaiting_validation": "Menunggu validasi call center / supervisor",
    "staff_status_closed": "Ditutup",
    "staff_status_rejected": "Ditolak",
    "staff_status_referred": "Dirujuk",
    "moved_transfer": "Dialihkan ke {agency} oleh {actor}",
    "moved_bounce": "Dikembalikan ke {dispatch} oleh {actor}: {reason}",
    "moved_bounced_from": "Dikembalikan oleh {agency}: {reason}",
    "follow_up": "💬 Tambahan dari pelapor {number}:\n{text}",
    "citizen_answer": "💬 Jawaban pelapor {number}:\n{text}",
    "reply_sent": "✅ Tanggapan untuk {number} diteruskan ke pelapor.",
    "note_saved": "📝 Catatan internal untuk {number} disimpan (tidak dikirim ke pelapor).",
    "claimed": "👤 {number} ditangani oleh {who}.",
    "resolved_staff": "✅ {number} ditandai selesai. Pelapor diminta konfirmasi.",
    "validation_requested_staff": (
        "🔎 {number} ditandai selesai dan menunggu validasi call center atau supervisor."
    ),
    "validation_request": (
        "🔎 Validasi {number}: {agency} ({actor}) menyatakan sudah selesai.{note}\n{proof}\n"
        "Terima: /terima {number} · Kembalikan: /kembalikan {number} <alasan>"
    ),
    "validation_note": "\nCatatan: {note}",
    "validation_proof": "Bukti perbaikan: {count} foto terlampir.",
    "validation_no_proof": "Tanpa foto bukti perbaikan.",
    "validation_accepted": "✅ Penyelesaian {number} diterima oleh {actor}. Pelapor diminta konfirmasi.",
    "validation_sent_back": (
        "↩️ Penyelesaian {number} dikembalikan oleh {actor}: {reason}\n"
        "Batas penyelesaian tetap berjalan. Tandai /selesai lagi setelah diperbaiki."
    ),
    "accepted_staff": "✅ {number} diterima. Pelapor diminta konfirmasi.",
    "sent_back_staff": "↩️ {number} dikembalikan ke instansi: {reason}",
    "validators_only": "Validasi {number} dilakukan oleh call center atau supervisor.",
    "btn_accept": "✅ Terima",
    "btn_send_back": "↩️ Kembalikan",
    "unknown_class": "Kelas untuk {number} tidak dikenal. Pilihan (hari kerja): {choices}",
    "classified_staff": (
        "🏷️ {number} berkelas {kind}: batas penyelesaian {days} hari kerja, {deadline}."
    ),
    "asked_staff": "❓ Pertanyaan untuk {number} dikirim ke pelapor. Tenggat dijeda.",
    "transferred_staff": "↪️ {number} dialihkan ke {agency}.",
    "transferred_in": "↪️ {number} dialihkan ke instansi Anda dari {agency}.",
    "bounced_staff": "↩️ {number} dikembalikan ke {dispatch}.",
    "rejected_staff": "⛔ {number} ditolak: {reason}",
    "referred_staff": "📨 {number} dirujuk ke {name}.",
    "assigned_staff": "➡️ {number} diteruskan ke {agency}.",
    "reopened_staff": "🔁 Pelapor menyatakan {number} BELUM beres. Tiket dibuka kembali.",
    "confirmed_staff": "🎉 Pelapor menyatakan {number} sudah beres.",
    "rated_staff": "⭐ Nilai pelapor untuk {number}: {score}/5{comment}",
    "auto_closed_staff": "🔒 {number} ditutup otomatis: tidak ada konfirmasi pelapor dalam {days} hari.",
    "pick_agency": "Alihkan {number} ke instansi mana?",
    "pick_referral": "Rujuk {number} ke mana?",
    "need_reason": "Tulis alasannya: {command} {number} <alasan>",
    "need_text": "Tulis pesannya: {command} {number} <teks>",
    "need_ticket": "Sebutkan nomor tiket, mis. {command} {example} …, atau balas pesan tiketnya.",
    "unknown_ticket": "Tiket {number} tidak ditemukan.",
    "not_your_ticket": "{number} bukan tiket instansi ini.",
    "unknown_agency": "Instansi '{agency}' tidak dikenal. Pilihan: {choices}",
    "same_agency": "{number} sudah di {agency}.",
    "not_allowed_status": "{number} berstatus {status}; perintah ini tidak bisa dipakai.",
    "unknown_command": "Perintah tidak dikenal. Ketik /bantuan untuk daftar perintah.",
    "supervisor_only": "Perintah ini hanya untuk grup pimpinan.",
    "open_none": "Tidak ada tiket terbuka. 👍",
    "open_header": "Tiket terbuka ({count}), tenggat terdekat dulu:",
    "open_item": "• {number} — {category} — {status} — {due}",
    "due_in": "sisa {left}",
    "due_over": "TERLAMBAT {late}",
    "due_none": "tanpa tenggat",
    "due_paused": "dijeda, menunggu pelapor (sisa {left})",
    "overdue_none": "Tidak ada tiket yang terlambat. 👍",
    "overdue_header": "🚨 {count} tiket melewati batas {hours} jam tanpa tanggapan{part}",
    "overdue_agency": "\n{agency} ({count})",
    "overdue_item": "• {number} — {category} — terlambat {late}",
    "stats_header": "📊 Statistik {service} per {when}{part}",
    "stats_none": "Belum ada tiket.",
    # --- deadlines: reminders, overdue alerts, the digest (bot/deadlines.py)
    "part": " ({index}/{total})",
    "reminder_header": (
        "⏰ Pengingat: {count} tiket belum ditanggapi, batas {hours} jam segera habis{part}"
    ),
    "reminder_item": "• {number} — {category} — sisa {left} (batas {deadline})",
    "reply_line": "   ↳ /balas {number} <tanggapan>",
    "batch_reply_one": "Balas pesan ini atau ketik /balas {number} <tanggapan> untuk menjawab pelapor.",
    "batch_reply_many": (
        "Pesan ini memuat beberapa tiket, jadi membalasnya tidak sampai ke pelapor: "
        "jawab tiap tiket dengan /balas NOMOR <tanggapan>."
    ),
    "more_next_scan": "…dan {count} tiket lain menyusul di pesan berikutnya.",
    "more_not_listed": "…dan {count} tiket lain.",
    "overdue_agency_header": (
        "🚨 {count} tiket melewati batas {hours} jam tanpa tanggapan{part}\n"
        "Pimpinan sudah diberi tahu. Mohon segera dijawab."
    ),
    "resolution_limit": "penyelesaian",
    "resolution_reminder_header": (
        "⏰ Pengingat: {count} tiket belum selesai, batas penyelesaian segera habis{part}"
    ),
    "resolution_overdue_header": "🚨 {count} tiket melewati batas penyelesaian{part}",
    "resolution_overdue_agency_header": (
        "🚨 {count} tiket melewati batas penyelesaian{part}\n"
        "Pimpinan sudah diberi tahu. Mohon segera diselesaikan."
    ),
    "escalation_response": "tanggapan",
    "escalation_resolution": "penyelesaian",
    "escalation_header": (
        "⏫ Eskalasi tahap {step}: {count} tiket melewati batas {deadline} lebih dari {after}{part}"
    ),
    "escalation_header_at_deadline": (
        "⏫ Eskalasi tahap {step}: {count} tiket melewati batas {deadline}{part}"
    ),
    "digest_header": (
        "📊 Ringkasan harian {service}, {day}{part}\nTiket yang diteruskan ke instansi {period}"
    ),
    "digest_none": "Tidak ada tiket yang diteruskan ke instansi {period}.",
    "digest_today": (
        "\nHari ini sampai {when}: {count} tiket sudah diteruskan; angkanya masuk ringkasan besok."
    ),
    "digest_period": "{first} – {last}",
    "report_agency": "\n{agency} — terlambat sekarang: {overdue}",
    "report_resolution_overdue": ", lewat batas penyelesaian: {count}",
    "report_window": "  {window}: {received} diterima · {answered} · median tanggapan pertama {median}",
    "report_answered": "{on_time}/{decided} dijawab ≤{hours} jam ({percent}%)",
    "report_answered_none": "belum ada yang jatuh tempo",
    "report_quiet": "\nTanpa tiket dalam 7 hari: {agencies}",
    "window_yesterday": "Kemarin ({first})",
    "window_week": "7 hari terakhir ({first} – {last})",
    "window_day": "24 jam terakhir",
    "window_days": "7 hari terakhir",
    "help_heading_agency": "Perintah grup instansi:\n",
    "help_heading_dispatch": (
        "Perintah call center:\n"
        "/teruskan (/assign) TIKET ID-INSTANSI — teruskan ke instansi\n"
        "/rujuk (/refer) TIKET ID-RUJUKAN — rujuk ke lembaga di luar pemkab\n"
        "\nSeperti grup instansi:\n"
    ),
    "help_heading_supervisor": (
        "Perintah pimpinan:\n"
        "/terlambat (/overdue) — tiket yang melewati batas\n"
        "/statistik (/stats) — angka 24 jam dan 7 hari terakhir\n"
        "/teruskan (/assign) TIKET ID-INSTANSI, /rujuk (/refer) TIKET ID-RUJUKAN\n"
        "/terima (/accept) TIKET, /kembalikan (/sendback) TIKET alasan — validasi penyelesaian\n"
        "\nSeperti grup instansi:\n"
    ),
    "staff_help": (
        "/balas (/reply) TIKET teks — jawab pelapor\n"
        "/ambil (/claim) TIKET — tangani tiket\n"
        "/selesai (/close) TIKET [catatan] — tandai selesai\n"
        "/alihkan (/transfer) TIKET ID-INSTANSI — alihkan\n"
        "/bukan (/bounce) TIKET alasan — bukan wewenang, kembali ke call center\n"
        "/tolak (/reject) TIKET alasan — tolak (spam / bukan pengaduan)\n"
        "/catatan (/note) TIKET teks — catatan internal\n"
        "/tanya (/ask) TIKET pertanyaan — tanya pelapor\n"
        "/kelas (/class) TIKET KELAS — kelas pengaduan (batas penyelesaian)\n"
        "/daftar (/open) — tiket terbuka\n"
        "/dasbor (/desk) — tautan masuk ke dasbor web\n"
        "Membalas (reply) pesan kartu tiket = menjawab pelapor. "
        "Pesan lain di grup tidak dikirim ke pelapor."
    ),
    "desk_link": (
        "🔐 Masuk ke dasbor {service} sebagai {role} ({name}):\n{url}\n"
        "Tautan berlaku {minutes} menit dan hanya sekali pakai. Jangan teruskan ke orang lain."
    ),
    "desk_link_private": "🔐 Tautan masuk dasbor untuk {name} sudah dikirim lewat pesan pribadi.",
    "desk_role_supervisor": "supervisor",
    "delivery_blocked": (
        "⚠️ Pesan untuk pelapor {number} tidak terkirim: pelapor memblokir bot atau "
        "tidak bisa dihubungi lewat {channel}."
    ),
    "delivery_failed": "⚠️ Pesan untuk pelapor {number} gagal dikirim: {reason}",
    "window_closed_staff": (
        "⏳ Pesan untuk pelapor {number} ditahan: {channel} hanya mengizinkan pesan bebas dalam "
        "24 jam setelah pelapor terakhir menulis. Pesan akan terkirim begitu pelapor menulis lagi."
    ),
    "reason_unreachable": "nomor pelapor tidak dapat dihubungi (ponsel mati atau di luar jangkauan)",
    "reason_not_on_channel": "nomor pelapor tidak terdaftar di {channel}",
    "reason_rejected": "{channel} menolak pesan ini",
    "reason_window": "di luar jendela 24 jam {channel}",
    "reason_unknown": "kesalahan pengiriman (kode {code})",
}

EN_STAFF: dict[str, str] = {
    "card": (
        "{icon} {number} · {status}\n"
        "Category: {category}\n"
        "Description: {description}\n"
        "Location: {location}\n"
        "Citizen: {citizen} · {channel}\n"
        "Filed: {created}\n"
        "Response due: {deadline}{resolution}{claimed}{extra}"
    ),
    "card_resolution": "\nResolution due: {deadline} ({kind}, {days} working days){late}",
    "card_resolution_late": " — LATE",
    "card_proof": "\nProof of the fix: {count} photos",
    "card_claimed": "\nHandled by: {who}",
    "channel_local": "try-it console",
    "channel_phone": "phone (call center)",
    "card_attachments": "\nAttachments: {count}",
    "card_contact": "\n👤 Contact shared by the citizen: {name} {number}",
    "card_contact_file": "(contact card attached)",
    "card_confidential": "(confidential)",
    "card_no_deadline": "-",
    "card_moved": "\n{what}",
    "card_hint": "\nReply to this message to answer the citizen. /help for commands.",
    "btn_claim": "Claim",
    "btn_resolve": "Resolve",
    "btn_transfer": "Transfer",
    "btn_bounce": "Not ours",
    "btn_reject": "Reject",
    "btn_route": "Route",
    "btn_refer": "Refer",
    "staff_status_new": "New — waiting to be routed",
    "staff_status_assigned": "Waiting for a response",
    "staff_status_late": "LATE — not answered, the deadline has passed",
    "staff_status_responded": "Responded",
    "staff_status_waiting_citizen": "Waiting for the citizen",
    "staff_status_resolved": "Resolved — waiting for confirmation",
    "staff_status_awaiting_validation": "Waiting for validation by the call center / a supervisor",
    "staff_status_closed": "Closed",
    "staff_status_rejected": "Rejected",
    "staff_status_referred": "Referred",
    "moved_transfer": "Transferred to {agency} by {actor}",
    "moved_bounce": "Sent back to {dispatch} by {actor}: {reason}",
    "moved_bounced_from": "Sent back by {agency}: {reason}",
    "follow_up": "💬 More from the citizen on {number}:\n{text}",
    "citizen_answer": "💬 The citizen's answer on {number}:\n{text}",
    "reply_sent": "✅ Response on {number} forwarded to the citizen.",
    "note_saved": "📝 Internal note on {number} saved (not sent to the citizen).",
    "claimed": "👤 {number} is handled by {who}.",
    "resolved_staff": "✅ {number} marked resolved. The citizen is asked to confirm.",
    "validation_requested_staff": (
        "🔎 {number} marked resolved and waiting for validation by the call center or a supervisor."
    ),
    "validation_request": (
        "🔎 Validate {number}: {agency} ({actor}) says it is resolved.{note}\n{proof}\n"
        "Accept: /accept {number} · Send back: /sendback {number} <reason>"
    ),
    "validation_note": "\nNote: {note}",
    "validation_proof": "Proof of the fix: {count} photos attached.",
    "validation_no_proof": "No photo of the fix.",
    "validation_accepted": (
        "✅ The resolution of {number} was accepted by {actor}. The citizen is asked to confirm."
    ),
    "validation_sent_back": (
        "↩️ The resolution of {number} was sent back by {actor}: {reason}\n"
        "The resolution deadline keeps running. Mark it /close again once fixed."
    ),
    "accepted_staff": "✅ {number} accepted. The citizen is asked to confirm.",
    "sent_back_staff": "↩️ {number} sent back to the agency: {reason}",
    "validators_only": "{number} is validated by the call center or a supervisor.",
    "btn_accept": "✅ Accept",
    "btn_send_back": "↩️ Send back",
    "unknown_class": "Unknown class for {number}. Choices (working days): {choices}",
    "classified_staff": "🏷️ {number} is class {kind}: resolution due in {days} working days, {deadline}.",
    "asked_staff": "❓ Question on {number} sent to the citizen. The deadline is paused.",
    "transferred_staff": "↪️ {number} transferred to {agency}.",
    "transferred_in": "↪️ {number} transferred to your agency from {agency}.",
    "bounced_staff": "↩️ {number} sent back to {dispatch}.",
    "rejected_staff": "⛔ {number} rejected: {reason}",
    "referred_staff": "📨 {number} referred to {name}.",
    "assigned_staff": "➡️ {number} routed to {agency}.",
    "reopened_staff": "🔁 The citizen says {number} is NOT fixed. The ticket is reopened.",
    "confirmed_staff": "🎉 The citizen confirms {number} is fixed.",
    "rated_staff": "⭐ Citizen's rating for {number}: {score}/5{comment}",
    "auto_closed_staff": "🔒 {number} closed automatically: no confirmation within {days} days.",
    "pick_agency": "Transfer {number} to which agency?",
    "pick_referral": "Refer {number} to whom?",
    "need_reason": "Give the reason: {command} {number} <reason>",
    "need_text": "Give the message: {command} {number} <text>",
    "need_ticket": "Name the ticket, e.g. {command} {example} …, or reply to the ticket's message.",
    "unknown_ticket": "Ticket {number} not found.",
    "not_your_ticket": "{number} is not this agency's ticket.",
    "unknown_agency": "Unknown agency '{agency}'. Choices: {choices}",
    "same_agency": "{number} is already with {agency}.",
    "not_allowed_status": "{number} is {status}; this command cannot be used.",
    "unknown_command": "Unknown command. Type /help for the list.",
    "supervisor_only": "This command is for the supervisors' chat only.",
    "open_none": "No open tickets. 👍",
    "open_header": "Open tickets ({count}), nearest deadline first:",
    "open_item": "• {number} — {category} — {status} — {due}",
    "due_in": "{left} left",
    "due_over": "OVERDUE {late}",
    "due_none": "no deadline",
    "due_paused": "paused, waiting for the citizen ({left} left)",
    "overdue_none": "No overdue tickets. 👍",
    "overdue_header": "🚨 {count} tickets past the {hours}-hour deadline without a response{part}",
    "overdue_agency": "\n{agency} ({count})",
    "overdue_item": "• {number} — {category} — {late} late",
    "stats_header": "📊 {service} statistics as of {when}{part}",
    "stats_none": "No tickets yet.",
    "part": " ({index}/{total})",
    "reminder_header": (
        "⏰ Reminder: {count} tickets without a response, the {hours}-hour deadline is near{part}"
    ),
    "reminder_item": "• {number} — {category} — {left} left (due {deadline})",
    "reply_line": "   ↳ /reply {number} <response>",
    "batch_reply_one": "Reply to this message or type /reply {number} <response> to answer the citizen.",
    "batch_reply_many": (
        "This message lists several tickets, so replying to it does not reach a citizen: "
        "answer each ticket with /reply NUMBER <response>."
    ),
    "more_next_scan": "…and {count} more tickets follow in the next message.",
    "more_not_listed": "…and {count} more tickets.",
    "overdue_agency_header": (
        "🚨 {count} tickets past the {hours}-hour deadline without a response{part}\n"
        "The supervisors have been told. Please answer now."
    ),
    "resolution_limit": "resolution",
    "resolution_reminder_header": (
        "⏰ Reminder: {count} tickets not yet resolved, the resolution deadline is near{part}"
    ),
    "resolution_overdue_header": "🚨 {count} tickets past the resolution deadline{part}",
    "resolution_overdue_agency_header": (
        "🚨 {count} tickets past the resolution deadline{part}\n"
        "The supervisors have been told. Please resolve them now."
    ),
    "escalation_response": "response",
    "escalation_resolution": "resolution",
    "escalation_header": (
        "⏫ Escalation step {step}: {count} tickets more than {after} past the {deadline} "
        "deadline{part}"
    ),
    "escalation_header_at_deadline": (
        "⏫ Escalation step {step}: {count} tickets past the {deadline} deadline{part}"
    ),
    "digest_header": "📊 {service} daily digest, {day}{part}\nTickets routed to agencies {period}",
    "digest_none": "No ticket was routed to an agency {period}.",
    "digest_today": (
        "\nToday until {when}: {count} tickets routed so far; they count in tomorrow's digest."
    ),
    "digest_period": "{first} – {last}",
    "report_agency": "\n{agency} — overdue now: {overdue}",
    "report_resolution_overdue": ", past the resolution deadline: {count}",
    "report_window": "  {window}: {received} received · {answered} · median first response {median}",
    "report_answered": "{on_time}/{decided} answered ≤{hours}h ({percent}%)",
    "report_answered_none": "none due yet",
    "report_quiet": "\nNo tickets in 7 days: {agencies}",
    "window_yesterday": "Yesterday ({first})",
    "window_week": "Last 7 days ({first} – {last})",
    "window_day": "Last 24 hours",
    "window_days": "Last 7 days",
    "help_heading_agency": "Agency group commands:\n",
    "help_heading_dispatch": (
        "Call center commands:\n"
        "/assign (/teruskan) TICKET AGENCY-ID — route to an agency\n"
        "/refer (/rujuk) TICKET REFERRAL-ID — refer outside the regency\n"
        "\nAs in agency groups:\n"
    ),
    "help_heading_supervisor": (
        "Supervisor commands:\n"
        "/overdue (/terlambat) — tickets past their deadline\n"
        "/stats (/statistik) — the last 24 hours and 7 days\n"
        "/assign (/teruskan) TICKET AGENCY-ID, /refer (/rujuk) TICKET REFERRAL-ID\n"
        "/accept (/terima) TICKET, /sendback (/kembalikan) TICKET reason — validate a resolution\n"
        "\nAs in agency groups:\n"
    ),
    "staff_help": (
        "/reply (/balas) TICKET text — answer the citizen\n"
        "/claim (/ambil) TICKET — take the ticket\n"
        "/close (/selesai) TICKET [note] — mark resolved\n"
        "/transfer (/alihkan) TICKET AGENCY-ID — transfer\n"
        "/bounce (/bukan) TICKET reason — not ours, back to the call center\n"
        "/reject (/tolak) TICKET reason — reject (spam / not a complaint)\n"
        "/note (/catatan) TICKET text — internal note\n"
        "/ask (/tanya) TICKET question — ask the citizen\n"
        "/class (/kelas) TICKET CLASS — complaint class (resolution deadline)\n"
        "/open (/daftar) — open tickets\n"
        "/desk (/dasbor) — a sign-in link to the web desk\n"
        "Replying to a ticket card answers the citizen. "
        "Other messages in the group are not sent to the citizen."
    ),
    "desk_link": (
        "🔐 Sign in to the {service} desk as {role} ({name}):\n{url}\n"
        "The link is valid for {minutes} minutes and works once. Do not pass it on."
    ),
    "desk_link_private": "🔐 The desk sign-in link for {name} was sent to them privately.",
    "desk_role_supervisor": "supervisor",
    "delivery_blocked": (
        "⚠️ The message to the citizen on {number} was not delivered: the citizen blocked "
        "the bot or cannot be reached on {channel}."
    ),
    "delivery_failed": "⚠️ The message to the citizen on {number} failed: {reason}",
    "window_closed_staff": (
        "⏳ The message to the citizen on {number} is held: {channel} allows free-form messages only "
        "within 24 hours of the citizen's last message. It goes out as soon as the citizen writes again."
    ),
    "reason_unreachable": "the citizen's phone cannot be reached (off or out of coverage)",
    "reason_not_on_channel": "the citizen's number is not on {channel}",
    "reason_rejected": "{channel} refused this message",
    "reason_window": "outside {channel}'s 24-hour window",
    "reason_unknown": "delivery error (code {code})",
}

CATALOG: dict[str, dict[str, str]] = {"id": ID | ID_STAFF, "en": EN | EN_STAFF}
LANGUAGES = tuple(CATALOG)


def say(language: str, key: str, **values: Any) -> str:
    """The message `key` in `language` (Indonesian when unknown), filled with `values`."""
    messages = CATALOG.get(language) or CATALOG["id"]
    return messages[key].format(**values)
