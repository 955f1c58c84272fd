"""The monthly report (`/desk/reports/monthly`) on a fixed set of tickets whose figures
are worked out by hand below, checked on the page, in the CSV and cell by cell in the
XLSX, and against the supervisors' daily digest of the same days.

The month: November 2026 (service time, WIB). Four stints begin on 26 Nov:
- ICT-000001 (road) at PUPR 09.00: answered 11.00 (2 h), resolved the next day, the
  citizen confirms and rates 5;
- ICT-000002 (rubbish) at DLH 09.00: not answered by its deadline (27 Nov 09.00, the
  scan records it at 13.00), still unanswered when the month ends, answered 2 Dec
  10.00 (6 days 1 hour = 145 h after it was assigned);
- ICT-000003 (road) at PUPR 09.00, transferred to DLH at 10.00 (PUPR: moved away, not
  answered, not decided); at DLH answered 13.00 (3 h).
Dinas Kesehatan has no ticket and is listed all the same.
"""

from __future__ import annotations

import csv
import io
import re

import openpyxl
from flask.testing import FlaskClient

from tests.harness import DISPATCH_CHAT, DLH_CHAT, PUPR_CHAT, SUPERVISOR_CHAT, Chat, Service, texts
from tests.test_conversation import file_road_complaint
from tests.test_desk import client, desk_app, file_rubbish_complaint, service, sign_in

__all__ = ["client", "service"]  # fixtures

NOVEMBER = "/desk/reports/monthly?month=2026-11"
COLUMNS = [
    "Diterima",
    "Ditanggapi atau lewat batas",
    "Tepat waktu",
    "% tepat waktu",
    "Terlambat di akhir bulan",
    "Median tanggapan (jam)",
    "Persentil 90 (jam)",
    "Diselesaikan",
    "Dikonfirmasi pelapor",
    "Dinilai",
    "Rata-rata nilai (1-5)",
    "Dibuka lagi",
    "Dialihkan/dikembalikan",
]
# By hand, from the module docstring (None: nothing to show).
PUPR = ["Dinas PUPR", 2, 1, 1, 1.0, 0, 2.0, 2.0, 1, 1, 1, 5.0, 0, 1]
DLH = ["Dinas Lingkungan Hidup", 2, 2, 1, 0.5, 1, 3.0, 145.0, 0, 0, 0, None, 0, 0]
DINKES = ["Dinas Kesehatan", 0, 0, 0, None, 0, None, None, 0, 0, 0, None, 0, 0]
TOTAL = ["Seluruh instansi", 4, 3, 2, round(2 / 3, 4), 1, 3.0, 145.0, 1, 1, 1, 5.0, 0, 1]
# Categories: three road stints (ICT-000001, and ICT-000003 at both agencies), one rubbish.
JALAN = ["Jalan dan jembatan rusak", 3, 2, 2, 1.0, 0, 2.0, 3.0, 1, 1, 1, 5.0, 0, 1]
SAMPAH = ["Sampah dan kebersihan", 1, 1, 0, 0.0, 1, 145.0, 145.0, 0, 0, 0, None, 0, 0]
KESEHATAN = ["Layanan kesehatan", 0, 0, 0, None, 0, None, None, 0, 0, 0, None, 0, 0]


def the_month(service: Service) -> None:
    """The tickets of the module docstring, on the harness clock (26 Nov 09.00 WIB)."""
    siti = Chat(service, "citizen:siti", name="Siti Aminah", phone="+6281234567890")
    file_road_complaint(siti)
    file_rubbish_complaint(service)
    file_road_complaint(Chat(service, "citizen:ujang", name="Ujang", phone="+6281311112222"))
    pupr = Chat(service, PUPR_CHAT, group=True, name="Budi")
    dlh = Chat(service, DLH_CHAT, group=True, name="Dewi")
    service.clock.advance(hours=1)  # 10.00
    assert "Dinas Lingkungan Hidup" in pupr.says("/alihkan ICT-000003 dlh")
    service.clock.advance(hours=1)  # 11.00
    assert "diteruskan ke pelapor" in pupr.says("/balas ICT-000001 Tim kami survei besok")
    service.clock.advance(hours=2)  # 13.00
    assert "diteruskan ke pelapor" in dlh.says("/balas ICT-000003 Kami cek saluran")
    service.clock.advance(days=1)  # 27 Nov 13.00: ICT-000002 is 4 hours late
    pupr.says("/selesai ICT-000001 Lubang sudah ditambal")
    siti.says("1")  # fixed
    siti.says("5")
    siti.says("0")
    service.scan_deadlines()
    [breached] = service.rows("select ticket_id from ticket_events where action = 'breached'")
    assert breached["ticket_id"] == 2
    # 2 Dec 10.00 WIB: 6 days and 1 hour after ICT-000002 reached DLH
    service.clock.advance(days=5, hours=-3)
    assert "diteruskan ke pelapor" in dlh.says("/balas ICT-000002 Maaf, sudah diangkut")


def test_the_monthly_report_has_each_agencys_figures_as_worked_out_by_hand(
    service: Service, client: FlaskClient
) -> None:
    the_month(service)
    sign_in(service, client, SUPERVISOR_CHAT, "Pak Kepala")

    workbook = client.get(f"{NOVEMBER}&format=xlsx")
    assert workbook.status_code == 200
    assert workbook.headers["Content-Disposition"].endswith("filename=laporan-2026-11.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(workbook.data))
    assert book.sheetnames == ["Instansi", "Kategori"]
    agencies = [[c.value for c in row] for row in book["Instansi"].iter_rows()]
    assert agencies[0][0] == "Laporan bulanan I-Ceta: November 2026"
    assert agencies[3] == ["Instansi", *COLUMNS]
    assert agencies[4:] == [PUPR, DLH, DINKES, TOTAL]  # cell by cell
    assert book["Instansi"].cell(row=5, column=5).number_format == "0%"
    categories = [[c.value for c in row] for row in book["Kategori"].iter_rows()]
    assert categories[3] == ["Kategori", *COLUMNS]
    assert categories[4:] == [JALAN, SAMPAH, KESEHATAN]

    exported = client.get(f"{NOVEMBER}&format=csv")
    assert exported.headers["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    pupr_line = next(line for line in lines if line[1:2] == ["Dinas PUPR"])
    assert pupr_line == ["Instansi", "Dinas PUPR", "2", "1", "1", "1.0", "0", "2.0", "2.0",
                         "1", "1", "1", "5.0", "0", "1"]  # fmt: skip
    dinkes_line = next(line for line in lines if line[1:2] == ["Dinas Kesehatan"])
    assert dinkes_line[2:4] == ["0", "0"] and dinkes_line[5] == ""

    html = client.get(NOVEMBER).get_data(as_text=True)
    assert "Laporan bulanan I-Ceta: November 2026" in html
    assert "<td>Dinas Lingkungan Hidup</td><td>2</td><td>2</td><td>1</td><td>50 %</td>" in html
    # the chart counts tickets filed (two road tickets), the table stints (three)
    assert "<svg" in html and "Jalan dan jembatan rusak: 2" in html
    actions = [r["action"] for r in service.rows("select action from desk_audit")]
    assert actions == ["signed_in", "report_xlsx", "report_csv"]


def test_the_report_agrees_with_the_daily_digest_of_the_same_days(
    service: Service, client: FlaskClient
) -> None:
    the_month(service)
    # 3 Dec 07.00 WIB: the digest's week is 26 Nov – 2 Dec, the same four stints.
    service.clock.now = service.clock.now.replace(day=3, hour=0, minute=0)
    assert service.send_digest() == 1
    digest = texts(service.received(SUPERVISOR_CHAT))
    sign_in(service, client, SUPERVISOR_CHAT, "Pak Kepala")
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"{NOVEMBER}&format=xlsx").data))
    lines = {row[0].value: [c.value for c in row] for row in book["Instansi"].iter_rows(min_row=5)}
    for agency in ("Dinas PUPR", "Dinas Lingkungan Hidup"):
        part = digest.split(f"{agency} — terlambat sekarang", 1)[1]
        week = re.search(r"7 hari terakhir [^:]*: (\d+) diterima · (\d+)/(\d+) dijawab", part)
        assert week, part
        received, on_time, decided = (int(n) for n in week.groups())
        assert [received, decided, on_time] == lines[agency][1:4]
    assert "Tanpa tiket dalam 7 hari: Dinas Kesehatan" in digest
    assert lines["Dinas Kesehatan"][1] == 0  # quiet in the digest, listed in the report


def test_an_agency_sees_only_its_own_line_and_a_bad_month_is_a_clear_400(
    service: Service, client: FlaskClient
) -> None:
    the_month(service)
    sign_in(service, client, PUPR_CHAT, "Budi")
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"{NOVEMBER}&format=xlsx").data))
    names = [row[0].value for row in book["Instansi"].iter_rows(min_row=5)]
    assert names == ["Dinas PUPR", "Seluruh instansi"]
    categories = [row[0].value for row in book["Kategori"].iter_rows(min_row=5)]
    assert categories == ["Jalan dan jembatan rusak"]
    for bad in ("2026-13", "11-2026", "1999-01", "2026-11&format=pdf", "x" * 500):
        response = client.get(f"/desk/reports/monthly?month={bad}")
        assert response.status_code == 400, bad
    assert "month must be YYYY-MM" in client.get("/desk/reports/monthly?month=2026-13").get_data(
        as_text=True
    )


def test_without_a_month_the_report_is_last_months_and_without_a_session_nothing(
    service: Service, client: FlaskClient
) -> None:
    the_month(service)
    assert desk_app(service).test_client().get(NOVEMBER).status_code == 303
    sign_in(service, client, DISPATCH_CHAT, "Rina")
    page = client.get("/desk/reports/monthly").get_data(as_text=True)
    assert "November 2026" in page  # it is December now
    service.clock.advance(days=40)  # January 2027: the session has long ended
    sign_in(service, client, DISPATCH_CHAT, "Rina")
    page = client.get("/desk/reports/monthly").get_data(as_text=True)
    assert "Desember 2026" in page and "<td>Dinas PUPR</td><td>0</td>" in page


def test_a_rejected_late_ticket_is_not_late_at_the_end_and_a_rating_without_comment_counts(
    service: Service, client: FlaskClient
) -> None:
    file_road_complaint(Chat(service, "citizen:siti", name="Siti Aminah"))  # PUPR
    warga = Chat(service, "citizen:warga", name="Warga Dua")
    file_rubbish_complaint(service)  # DLH
    service.clock.advance(hours=1)
    dlh = Chat(service, DLH_CHAT, group=True, name="Dewi")
    dlh.says("/selesai ICT-000002 Sudah diangkut")
    warga.says("1")  # fixed
    warga.says("4")  # the score...
    warga.says("batal")  # ...and no comment
    assert service.rows("select ticket_id, score from ratings") == [{"ticket_id": 2, "score": 4}]
    service.clock.advance(hours=29)  # ICT-000001 is past its deadline
    service.scan_deadlines()
    Chat(service, PUPR_CHAT, group=True, name="Budi").says(
        "/tolak ICT-000001 Bukan jalan kabupaten"
    )
    service.clock.advance(days=5)  # December
    sign_in(service, client, SUPERVISOR_CHAT, "Pak Kepala")
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"{NOVEMBER}&format=xlsx").data))
    lines = {row[0].value: [c.value for c in row] for row in book["Instansi"].iter_rows(min_row=5)}
    pupr, dlh_line = lines["Dinas PUPR"], lines["Dinas Lingkungan Hidup"]
    assert pupr[1:6] == [1, 1, 0, 0.0, 0]  # late, but rejected before the month ended
    assert dlh_line[COLUMNS.index("Dinilai") + 1 :][:2] == [1, 4.0]
