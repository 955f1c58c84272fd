"""The web desk in a real browser: headless Chromium (Debian's) driven by Playwright
against a real `serve` process with the local channel, beside the try-it console.

An agency admin asks for a link with /dasbor in the agency chat, signs in, finds a
ticket by a word of its description and answers it from the ticket page — the citizen
gets the answer in their chat and the agency's card changes. The call center takes a
complaint by phone, the card reaches the agency, and the agency's answer waits on the
call-back list until an operator marks it told. Each page is saved as a screenshot
(desktop and 390 px wide) under tests/artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import playwright.sync_api as playwright_api
import pytest

from tests.test_console import (
    ARTIFACTS,
    launch_chromium,
    pane,
    press,
    running_serve,
    say,
    shows,
    skip_location_photo_and_send,
)

LINK = re.compile(r"http://127\.0\.0\.1:\d+/desk/login/[A-Za-z0-9_-]{43}")
PHONE_WIDTH = 390


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with running_serve(tmp_path, public=True) as base:
        yield base


@pytest.fixture
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        launched = launch_chromium(playwright)
        yield launched
        launched.close()


def open_page(browser: object, url: str, width: int = 1400) -> object:
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.set_default_timeout(10_000)
    page.goto(url)
    return page


def choose_staff_chat(console: object, chat: str) -> None:
    console.locator("#staff-chat").select_option(chat)
    playwright_api.expect(console.locator("#staff-chat")).to_have_value(chat)


def ask_for_a_link(console: object) -> str:
    """/dasbor in the staff pane's chat; the sign-in link the bot answers with."""
    say(console, "staff", "/dasbor")
    shows(console, "staff", "/desk/login/")
    found = LINK.findall(pane(console, "staff").locator(".messages").inner_text())
    assert found, pane(console, "staff").locator(".messages").inner_text()
    return found[-1]


def file_complaint(console: object, text: str, category: str) -> None:
    say(console, "citizen", text)
    press(console, "citizen", category)
    skip_location_photo_and_send(console)


def save(page: object, name: str) -> None:
    """The page at desktop width, then at a phone's: nothing wider than the screen."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"desk-{name}.png"), full_page=True)
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{name} is {width} px wide on a {PHONE_WIDTH} px phone"
    page.screenshot(path=str(ARTIFACTS / f"desk-{name}-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 900})


def test_an_agency_signs_in_from_its_chat_finds_a_ticket_and_answers_it(
    server: str, browser: object
) -> None:
    expect = playwright_api.expect
    console = open_page(browser, f"{server}/try")
    file_complaint(console, "Jalan di Desa Lohbener berlubang besar sekali", "Jalan dan jembatan")
    shows(console, "citizen", "ICT-000001")
    console.locator("#citizen-name").fill("budi")
    console.locator("#citizen-name").dispatch_event("change")
    file_complaint(console, "Jembatan kayu di Jatibarang retak dan miring", "Jalan dan jembatan")
    shows(console, "citizen", "ICT-000002")

    choose_staff_chat(console, "agency:pupr")
    link = ask_for_a_link(console)
    desk = open_page(browser, link)
    expect(desk.locator("h1")).to_contain_text("Ringkasan — Dinas PUPR")
    expect(desk.locator(".who")).to_contain_text("Masuk sebagai Admin")
    expect(desk.locator(".figure").first).to_contain_text("2")
    save(desk, "overview-agency")

    # the same link a second time is refused
    again = open_page(browser, link)
    expect(again.locator("main")).to_contain_text("/dasbor")
    assert "/desk/login/" in again.url

    desk.locator("nav a", has_text="Tiket").click()
    expect(desk.locator("table.tickets tbody tr")).to_have_count(2)
    desk.locator("input[name=q]").fill("lohbener jalan")
    desk.locator("button", has_text="Tampilkan").click()
    rows = desk.locator("table.tickets tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("ICT-000001")
    expect(rows.first).to_contain_text("Lohbener")
    save(desk, "tickets")

    rows.first.locator("a", has_text="ICT-000001").click()
    expect(desk.locator("h1")).to_contain_text("ICT-000001")
    expect(desk.locator("dl.card")).to_contain_text("Jalan di Desa Lohbener berlubang")
    expect(desk.locator(".timeline")).to_contain_text("Pengaduan dibuat")
    # the whole conversation that drafted it, both ways
    expect(desk.locator(".timeline")).to_contain_text("Jalan di Desa Lohbener berlubang")
    expect(desk.locator(".timeline")).to_contain_text("Masalah ini termasuk kategori apa?")
    expect(desk.locator(".timeline")).not_to_contain_text("Balas pesan ini")  # staff cards
    reply = desk.locator("form.action-reply")
    reply.locator("textarea").fill("Tim kami survei ke Lohbener besok pagi")
    reply.locator("button").click()
    expect(desk.locator(".notice.ok")).to_contain_text("Balasan dikirim ke pelapor")
    expect(desk.locator(".timeline")).to_contain_text("Tim kami survei ke Lohbener besok pagi")
    save(desk, "ticket")

    # the citizen (siti) receives it in her chat; the agency's card changed in place
    console.locator("#citizen-name").fill("siti")
    console.locator("#citizen-name").dispatch_event("change")
    shows(console, "citizen", "Tim kami survei ke Lohbener besok pagi")
    card = pane(console, "staff").locator(".msg.card", has_text="ICT-000001")
    expect(card).to_contain_text("Sudah ditanggapi")

    desk.locator("button", has_text="Keluar").click()
    expect(desk.locator("main")).to_contain_text("/dasbor")
    desk.goto(f"{server}/desk/tickets/ICT-000001")
    assert "/desk/login" in desk.url
    expect(desk.locator("main")).not_to_contain_text("Lohbener")


def test_the_call_center_takes_a_phone_complaint_and_calls_the_caller_back(
    server: str, browser: object
) -> None:
    expect = playwright_api.expect
    console = open_page(browser, f"{server}/try")
    choose_staff_chat(console, "dispatch")
    desk = open_page(browser, ask_for_a_link(console))
    expect(desk.locator("h1")).to_contain_text("Call Center I-Ceta")

    desk.locator("nav a", has_text="Pengaduan telepon").click()
    form = desk.locator("form.phone")
    form.locator("input[name=name]").fill("Ibu Warsih")
    form.locator("input[name=phone]").fill("0812-3456-7890")
    form.locator("textarea[name=description]").fill(
        "Lampu jalan PJU di depan SDN 1 Lohbener mati sudah tiga malam, gelap sekali"
    )
    form.locator("input[name=address]").fill("Jl. Raya Lohbener")
    form.locator("button", has_text="Sarankan kategori").click()
    expect(desk.locator(".suggestions")).to_contain_text("Lampu jalan (PJU) mati")
    expect(desk.locator("select[name=category]")).to_have_value("lampu_jalan")
    save(desk, "phone")
    desk.locator("form.phone button", has_text="Simpan pengaduan").click()
    expect(desk.locator("#filed")).to_contain_text("ICT-000001")

    # the card reaches the agency the category belongs to, like a chat complaint's
    choose_staff_chat(console, "agency:disperkim")
    card = pane(console, "staff").locator(".msg.card", has_text="ICT-000001")
    expect(card).to_contain_text("Lampu jalan PJU di depan SDN 1 Lohbener")
    expect(card).not_to_contain_text("3456")  # the caller's number is masked
    card.locator(".reply-link").click()
    say(console, "staff", "Petugas PJU datang besok siang")

    # the agency's answer waits on the call-back list until an operator has told the caller
    desk.locator("nav a", has_text="Hubungi balik").click()
    item = desk.locator("ul.callbacks li", has_text="ICT-000001")
    expect(item).to_contain_text("Petugas PJU datang besok siang")
    expect(item.locator("a[href^='tel:']")).to_contain_text("3456")  # dispatch sees it whole
    save(desk, "callbacks")
    # the operator calls, passes it on, and writes down what the caller said back
    item.locator("form.answer textarea").fill("Baik, saya tunggu. Lampunya di tiang kedua")
    item.locator("form.answer button").click()
    expect(desk.locator(".notice.ok")).to_contain_text("balasan penelepon diteruskan")
    shows(console, "staff", "Baik, saya tunggu. Lampunya di tiang kedua")  # the agency hears it
    # the agency's answer left the list (what the bot says back to the caller, once
    # delivered, waits its own turn there)
    expect(desk.locator("main")).not_to_contain_text("Petugas PJU datang besok siang")

    desk.goto(f"{server}/desk/tickets/ICT-000001")
    expect(desk.locator("dl.card")).to_contain_text("telepon (call center)")
    expect(desk.locator(".timeline")).to_contain_text("Petugas PJU datang besok siang")
    expect(desk.locator("dl.card")).not_to_contain_text("Menunggu")


def test_a_supervisor_switches_the_desk_to_english(server: str, browser: object) -> None:
    expect = playwright_api.expect
    console = open_page(browser, f"{server}/try")
    say(console, "supervisors", "/dasbor")
    shows(console, "supervisors", "/desk/login/")
    link = LINK.findall(pane(console, "supervisors").locator(".messages").inner_text())[-1]
    desk = open_page(browser, link)
    expect(desk.locator("table.agencies")).to_contain_text("Dinas PUPR")
    desk.locator("button", has_text="English").click()
    expect(desk.locator("nav")).to_contain_text("Overview")
    expect(desk.locator("table.agencies thead")).to_contain_text("Agency")
    save(desk, "overview-supervisor")


def test_the_consoles_button_opens_the_desk_as_the_chosen_pane(
    server: str, browser: object
) -> None:
    expect = playwright_api.expect
    console = open_page(browser, f"{server}/try")
    choose_staff_chat(console, "agency:dlh")
    button = pane(console, "staff").locator(".open-desk button")
    expect(button).to_have_text("Buka dasbor")
    with console.context.expect_page() as opened:
        button.click()
    desk = opened.value
    expect(desk.locator(".who")).to_contain_text("Masuk sebagai Admin — DLH")
    expect(desk.locator("nav")).not_to_contain_text("Pengaduan telepon")  # an agency's desk

    with console.context.expect_page() as opened:
        pane(console, "supervisors").locator(".open-desk button").click()
    expect(opened.value.locator(".who")).to_contain_text("Masuk sebagai Pimpinan — Supervisor")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    console.screenshot(path=str(ARTIFACTS / "console-desk-button.png"))


def as_citizen(console: object, name: str) -> None:
    """The citizen pane becomes another citizen's chat."""
    console.locator("#citizen-name").fill(name)
    console.locator("#citizen-name").dispatch_event("change")


def file_located_complaint(console: object, text: str, category: str, number: str) -> None:
    """A complaint whose citizen shares a location (the console's next place)."""
    as_citizen(console, f"warga{number[-1]}")
    say(console, "citizen", text)
    press(console, "citizen", category)
    shows(console, "citizen", "Di mana lokasinya?")
    pane(console, "citizen").locator('[data-send="location"]').click()
    shows(console, "citizen", "Kirim foto kondisinya")
    press(console, "citizen", "Lewati")
    press(console, "citizen", "1. Kirim")
    shows(console, "citizen", number)


def test_the_map_draws_every_located_ticket_and_the_public_page_tracks_one(
    server: str, browser: object
) -> None:
    expect = playwright_api.expect
    console = open_page(browser, f"{server}/try")
    file_located_complaint(console, "Jalan berlubang di depan kantor", "Jalan dan", "ICT-000001")
    file_located_complaint(console, "Sampah menumpuk di Lohbener", "Sampah", "ICT-000002")
    file_located_complaint(console, "Jembatan retak di Jatibarang", "Jalan dan", "ICT-000003")
    as_citizen(console, "warga4")
    file_complaint(console, "Lampu jalan mati di gang kami", "Lampu jalan")  # no location
    shows(console, "citizen", "ICT-000004")

    choose_staff_chat(console, "dispatch")
    desk = open_page(browser, ask_for_a_link(console))
    expect(desk.locator("h1")).to_contain_text("Ringkasan")
    expect(desk.locator("svg.chart.on-time").first).to_be_visible()  # the 12 weeks' charts
    desk.goto(f"{server}/desk/map")
    box = desk.locator("#map")
    expect(box).to_have_attribute("data-pins", "3")  # the GeoJSON's three located tickets
    assert desk.evaluate("typeof L.markerClusterGroup") == "function"  # from our own files
    # every pin is drawn on its own or inside a cluster that counts it
    drawn = desk.evaluate(
        """() => document.querySelectorAll('.leaflet-marker-icon.pin').length +
           [...document.querySelectorAll('.marker-cluster span')]
             .reduce((sum, label) => sum + Number(label.textContent), 0)"""
    )
    assert drawn == 3
    expect(desk.locator(".leaflet-control-attribution")).to_contain_text("OpenStreetMap")
    save(desk, "map")
    desk.goto(f"{server}/desk/map?category=jalan&status=all")
    expect(box).to_have_attribute("data-pins", "2")  # the list's filters apply

    public = open_page(browser, f"{server}/publik")
    expect(public.locator("h1")).to_contain_text("seberapa cepat pengaduan warga ditanggapi")
    expect(public.locator("table.public tr", has_text="DLH")).to_contain_text("Terlalu sedikit")
    expect(public.locator("svg.chart.categories")).to_be_visible()
    public.locator("input[name=nomor]").fill("ICT-000002")
    public.locator("button", has_text="Lacak").click()
    expect(public.locator("dl.tracked")).to_contain_text("diteruskan, menunggu tanggapan")
    assert "Lohbener" not in public.content()  # the description stays private
    save(public, "public")
