"""The local try-it console in a real browser: headless Chromium (Debian's) driven by
Playwright against a real `serve` process. A citizen files a complaint, the agency
answers and closes it, the citizen rates it, and a fast-forward shows an overdue
alert — each step asserted on what is on the screen; each pane is saved as a
screenshot under tests/artifacts/ for people to look at."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import playwright.sync_api as playwright_api
import pytest

from tests.processes import (
    ROOT,
    free_port,
    get_json,
    start_serve,
    stop,
    wait_until,
    write_config,
)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "tests" / "artifacts"

if not Path(CHROMIUM).exists():  # `make test` installs it; a silent skip would hide that
    raise RuntimeError(
        "Debian's chromium is missing: run `make browser` (apt-get install chromium)"
    )


@contextmanager
def running_serve(tmp_path: Path, public: bool = False, **service: object) -> Iterator[str]:
    """A real `serve` on a free loopback port, with the shipped config and `service` keys
    overridden; its base URL. `public`: links in chats point at this serve, as they
    would at a real `public_url`."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    if public:
        service["public_url"] = base
    process = start_serve(write_config(tmp_path, port, **service), tmp_path / "serve.log")
    try:
        wait_until(lambda: get_json(f"{base}/healthz"))
        yield base
    finally:
        stop(process)


def launch_chromium(playwright: object) -> object:
    """Debian's Chromium, headless, as every browser test here runs it."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    with running_serve(tmp_path) as base:
        yield base


@pytest.fixture
def page(server: str) -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{server}/try")
        yield page
        browser.close()


def pane(page: object, name: str) -> object:
    return page.locator(f"#pane-{name}")


def say(page: object, name: str, text: str) -> None:
    composer = pane(page, name).locator("form.composer input[name=text]")
    composer.fill(text)
    composer.press("Enter")


def shows(page: object, name: str, text: str) -> None:
    playwright_api.expect(pane(page, name).locator(".messages")).to_contain_text(text)


def press(page: object, name: str, label: str) -> None:
    pane(page, name).locator(".msg .buttons button", has_text=label).last.click()


def skip_location_photo_and_send(page: object, *, english: bool = False) -> None:
    """The citizen, at the location step, skips location and photo and sends."""
    skip, send = ("Skip", "1. Send") if english else ("Lewati", "1. Kirim")
    press(page, "citizen", skip)
    press(page, "citizen", skip)
    press(page, "citizen", send)


def test_complaint_answered_closed_rated_then_an_overdue_alert(page: object, server: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    expect = playwright_api.expect
    expect(page.locator("h1")).to_contain_text("konsol coba lokal")

    # the citizen files a complaint
    say(page, "citizen", "Jalan di Desa Lohbener berlubang besar sekali")
    shows(page, "citizen", "Masalah ini termasuk kategori apa?")
    press(page, "citizen", "Jalan dan jembatan rusak")
    shows(page, "citizen", "Di mana lokasinya?")
    press(page, "citizen", "Lewati")
    shows(page, "citizen", "Kirim foto kondisinya")
    pane(page, "citizen").locator('[data-send="photo"]').click()
    shows(page, "citizen", "Foto diterima (1)")
    press(page, "citizen", "Selesai")
    shows(page, "citizen", "Periksa pengaduan Anda")
    press(page, "citizen", "1. Kirim")
    shows(page, "citizen", "tercatat dengan nomor ICT-000001")

    # the agency sees the card and answers by replying to it
    staff = pane(page, "staff")
    expect(staff.locator("#staff-chat")).to_have_value("agency:pupr")
    card = staff.locator(".msg.card", has_text="ICT-000001")
    expect(card).to_contain_text("Menunggu tanggapan")
    card.locator(".reply-link").click()
    say(page, "staff", "Tim kami survei besok pagi")
    shows(page, "citizen", "Tim kami survei besok pagi")
    expect(card).to_contain_text("Sudah ditanggapi")  # the card changed in place

    # the agency closes it, the citizen confirms and rates
    card.locator(".buttons button", has_text="Selesai").click()
    shows(page, "citizen", "Apakah masalahnya sudah beres?")
    press(page, "citizen", "1. Sudah beres")
    shows(page, "citizen", "Beri nilai layanan")
    press(page, "citizen", "5")
    shows(page, "citizen", "Ada komentar?")
    say(page, "citizen", "Cepat sekali, terima kasih")
    shows(page, "citizen", "Terima kasih atas penilaian Anda")
    expect(card).to_contain_text("Ditutup")
    shows(page, "staff", "Nilai pelapor untuk ICT-000001: 5/5")

    # a second complaint nobody answers; a day passes in a click
    page.locator("#citizen-name").fill("budi")
    page.locator("#citizen-name").dispatch_event("change")
    say(page, "citizen", "Sampah menumpuk di TPS Pasar Baru sudah seminggu")
    press(page, "citizen", "Sampah")
    skip_location_photo_and_send(page)
    shows(page, "citizen", "ICT-000002")
    page.locator("[data-advance='24']").click()
    expect(page.locator("#clock-result")).to_contain_text("Waktu dimajukan 24 jam")
    expect(page.locator("#clock-offset")).to_contain_text("dimajukan 24")
    shows(page, "supervisors", "ICT-000002")
    shows(page, "supervisors", "terlambat")

    for name in ("citizen", "staff", "supervisors"):
        pane(page, name).screenshot(path=str(ARTIFACTS / f"console-{name}.png"))
    page.screenshot(path=str(ARTIFACTS / "console.png"), full_page=True)
    assert (ARTIFACTS / "console-supervisors.png").stat().st_size > 5_000


def test_english_switch_and_a_phone_sized_screen(page: object) -> None:
    expect = playwright_api.expect
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#language").click()
    expect(page.locator("h1")).to_contain_text("local try-it console")
    expect(pane(page, "citizen").locator("h2")).to_contain_text("Citizen")
    box = pane(page, "citizen").bounding_box()
    assert box is not None and box["width"] <= 390
    say(page, "citizen", "english")
    shows(page, "citizen", "Language switched to English")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console-phone.png"), full_page=True)


def person_bubbles(page: object, name: str) -> object:
    return pane(page, name).locator(".msg.person .text")


def test_pressed_buttons_show_their_labels_in_both_panes(page: object) -> None:
    expect = playwright_api.expect
    say(page, "citizen", "Jalan di Desa Lohbener berlubang besar sekali")
    press(page, "citizen", "Jalan dan jembatan rusak")
    shows(page, "citizen", "Di mana lokasinya?")
    expect(person_bubbles(page, "citizen").last).to_have_text(
        re.compile(r"^▸ (⭐ )?1\. Jalan dan jembatan rusak$")
    )
    old_choice = pane(page, "citizen").locator(".msg .buttons button", has_text="Jalan dan")
    expect(old_choice.first).to_be_disabled()  # an answered question's buttons are spent
    press(page, "citizen", "Lewati")
    expect(person_bubbles(page, "citizen").last).to_have_text("▸ 0. Lewati")
    press(page, "citizen", "Lewati")
    press(page, "citizen", "1. Kirim")
    shows(page, "citizen", "ICT-000001")
    expect(person_bubbles(page, "citizen").last).to_have_text("▸ 1. Kirim")

    card = pane(page, "staff").locator(".msg.card", has_text="ICT-000001")
    card.locator(".buttons button", has_text="Ambil").click()
    expect(person_bubbles(page, "staff").last).to_have_text("▸ Ambil")
    expect(pane(page, "staff").locator(".messages")).not_to_contain_text("claim:1")
    expect(pane(page, "citizen").locator(".messages")).not_to_contain_text("fixed:")


def test_an_over_long_message_stays_in_the_box_with_its_error(page: object) -> None:
    expect = playwright_api.expect
    composer = pane(page, "citizen").locator("form.composer input[name=text]")
    too_long = "Jalan rusak " * 400  # 4,800 characters: over the 4,096 limit
    composer.fill(too_long)
    composer.press("Enter")
    error = pane(page, "citizen").locator(".composer-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Pesan terlalu panjang: 4799 karakter, paling banyak 4096")
    expect(composer).to_have_value(too_long)  # kept, to be shortened
    expect(person_bubbles(page, "citizen")).to_have_count(0)
    expect(page.locator("#clock-result")).to_have_text("")

    composer.fill("Jalan di Desa Lohbener berlubang besar sekali")
    composer.press("Enter")
    shows(page, "citizen", "Masalah ini termasuk kategori apa?")
    expect(error).to_be_hidden()
    expect(composer).to_have_value("")


def test_a_late_ticket_says_so_on_its_card_and_in_the_citizens_status(page: object) -> None:
    expect = playwright_api.expect
    say(page, "citizen", "Jalan di Desa Lohbener berlubang besar sekali")
    press(page, "citizen", "Jalan dan jembatan rusak")
    skip_location_photo_and_send(page)
    shows(page, "citizen", "ICT-000001")
    card = pane(page, "staff").locator(".msg.card", has_text="ICT-000001")
    expect(card).to_contain_text("🔴 ICT-000001")

    page.locator("[data-advance='24']").click()
    expect(page.locator("#clock-result")).to_contain_text(
        "Waktu dimajukan 24 jam. Pemindaian tenggat:"
    )
    expect(page.locator("#clock-result")).to_contain_text("1 peringatan terlambat")
    expect(card).to_contain_text("⏰ ICT-000001")
    expect(card).to_contain_text("TERLAMBAT — belum ditanggapi")
    expect(card).not_to_contain_text("Menunggu tanggapan")
    say(page, "citizen", "status")
    shows(page, "citizen", "TERLAMBAT, batas tanggapan")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pane(page, "staff").screenshot(path=str(ARTIFACTS / "console-staff-late.png"))


def test_the_console_in_english_end_to_end(page: object) -> None:
    expect = playwright_api.expect
    page.locator("#language").click()
    expect(page.locator("h1")).to_contain_text("local try-it console")
    # Indonesian month names unlike English; waited for, as the clock is drawn again in
    # the new language a moment after the switch
    months_id = re.compile("Des |Agu |Okt |Mei ")
    clock = page.locator("#clock-now")
    expect(clock).not_to_have_text("…")
    expect(clock).not_to_have_text(months_id)

    say(page, "citizen", "english")
    shows(page, "citizen", "Language switched to English")
    say(page, "citizen", "The road in Lohbener village has a big hole")
    shows(page, "citizen", "Which category is it?")
    press(page, "citizen", "Damaged roads and bridges")
    expect(person_bubbles(page, "citizen").last).to_contain_text("Damaged roads and bridges")
    skip_location_photo_and_send(page, english=True)
    shows(page, "citizen", "your complaint is registered as ICT-000001")

    composer = pane(page, "citizen").locator("form.composer input[name=text]")
    composer.fill("x" * 5000)
    composer.press("Enter")
    expect(pane(page, "citizen").locator(".composer-error")).to_contain_text(
        "The message is too long: 5000 characters, at most 4096"
    )
    page.locator("[data-advance='1']").click()
    expect(page.locator("#clock-result")).to_contain_text(
        "Time moved ahead by 1 h. Deadline scan: 0 reminders, 0 overdue alerts"
    )
    expect(clock).not_to_have_text(months_id)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console-english.png"), full_page=True)


def test_a_service_in_english_is_english_end_to_end(tmp_path: Path) -> None:
    """With `service.language: en` the page, the citizen's chat, the agency's card and
    its lateness, the clock and the notices are all English (no Indonesian month)."""
    expect = playwright_api.expect
    port = free_port()
    process = start_serve(write_config(tmp_path, port, language="en"), tmp_path / "serve.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: get_json(f"{base}/healthz"))
        with playwright_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            # a browser far from Indramayu: bubble times still read in the service's zone
            context = browser.new_context(
                viewport={"width": 1400, "height": 900}, timezone_id="America/New_York"
            )
            page = context.new_page()
            page.set_default_timeout(10_000)
            page.goto(f"{base}/try")
            expect(page.locator("h1")).to_contain_text("local try-it console")
            say(page, "citizen", "The road in Lohbener village has a big hole")
            shows(page, "citizen", "Which category is it?")
            first = get_json(f"{base}/local/messages?chat=citizen:siti")["messages"][0]
            sent_at = datetime.fromisoformat(first["at"].replace("Z", "+00:00"))
            wib = sent_at.astimezone(ZoneInfo("Asia/Jakarta")).strftime("%H:%M")
            expect(pane(page, "citizen").locator(".msg .meta").first).to_contain_text(wib)
            press(page, "citizen", "Damaged roads and bridges")
            skip_location_photo_and_send(page, english=True)
            shows(page, "citizen", "your complaint is registered as ICT-000001")
            card = pane(page, "staff").locator(".msg.card", has_text="ICT-000001")
            expect(card).to_contain_text("Waiting for a response")
            page.locator("[data-advance='24']").click()
            expect(page.locator("#clock-result")).to_contain_text("Time moved ahead by 24 h")
            expect(card).to_contain_text("LATE — not answered")
            say(page, "citizen", "status")
            shows(page, "citizen", "LATE, the response was due")
            for name in ("citizen", "staff", "supervisors"):
                text = pane(page, name).inner_text()
                for month in ("Des ", "Agu ", "Okt ", "Mei "):
                    assert month not in text, (name, month)
            assert "Des " not in page.locator("#clock-now").inner_text()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "console-service-english.png"), full_page=True)
            browser.close()
    finally:
        stop(process)
