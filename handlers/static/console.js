// The local try-it console: three chats talking to the real I-Ceta core through /local/.
"use strict";

const TEXT = {
  id: {
    title: "I-Ceta — konsol coba lokal",
    lead: "Warga, grup instansi dan pimpinan berbicara dengan bot sungguhan di komputer ini.",
    simulation: "SIMULASI",
    clock_label: "Waktu layanan:",
    plus1: "+1 jam", plus12: "+12 jam", plus24: "+24 jam",
    citizen: "Warga", citizen_name: "nama", agency: "Grup instansi", supervisors: "Pimpinan",
    send: "Kirim", type_message: "Tulis pesan…", type_staff: "Balas kartu atau ketik /bantuan…",
    type_supervisor: "/terlambat atau /statistik", send_location: "Kirim lokasi", send_photo: "Kirim foto",
    reply: "balas", replying: "Membalas:", empty: "Belum ada pesan.", ahead: "(dimajukan {h} jam)",
    advanced: "Waktu dimajukan {h} jam. Pemindaian tenggat: {reminders} pengingat, {overdue} peringatan terlambat, {closed} ditutup otomatis.",
    scan_failed: "Waktu dimajukan {h} jam, tetapi pemindaian tenggat gagal (lihat log layanan).",
    too_long: "Pesan terlalu panjang: {n} karakter, paling banyak {max}. Persingkat lalu kirim lagi.",
    not_sent: "Pesan tidak terkirim: {error}",
    staff_on_telegram: "Grup instansi memakai Telegram (token bot terpasang).",
    clock_off: "Jam simulasi tidak tersedia saat Telegram atau WhatsApp aktif.",
    dispatch: "Call center", switch: "English",
    stale_button: "Pilihan ini sudah lewat; pakai pesan terbaru.",
    open_desk: "Buka dasbor",
  },
  en: {
    title: "I-Ceta — local try-it console",
    lead: "A citizen, an agency group and the supervisors talk to the real bot on this computer.",
    simulation: "SIMULATION",
    clock_label: "Service time:",
    plus1: "+1 hour", plus12: "+12 hours", plus24: "+24 hours",
    citizen: "Citizen", citizen_name: "name", agency: "Agency group", supervisors: "Supervisors",
    send: "Send", type_message: "Type a message…", type_staff: "Reply to a card or type /help…",
    type_supervisor: "/overdue or /stats", send_location: "Send location", send_photo: "Send photo",
    reply: "reply", replying: "Replying to:", empty: "No messages yet.", ahead: "(moved {h} h ahead)",
    advanced: "Time moved ahead by {h} h. Deadline scan: {reminders} reminders, {overdue} overdue alerts, {closed} closed automatically.",
    scan_failed: "Time moved ahead by {h} h, but the deadline scan failed (see the service log).",
    too_long: "The message is too long: {n} characters, at most {max}. Shorten it and send again.",
    not_sent: "The message was not sent: {error}",
    staff_on_telegram: "Agency groups are on Telegram (a bot token is set).",
    clock_off: "The simulated clock is off while Telegram or WhatsApp is on.",
    dispatch: "Call center", switch: "Bahasa Indonesia",
    stale_button: "This choice has passed; use the latest message.",
    open_desk: "Open the desk",
  },
};

// Sample pins the 📍 button cycles through (approximate points in Indramayu).
const PLACES = [
  { latitude: -6.3269, longitude: 108.3249, address: "Jl. Jend. Sudirman, Indramayu" },
  { latitude: -6.3594, longitude: 108.2931, address: "Desa Lohbener, Kec. Lohbener" },
  { latitude: -6.4712, longitude: 108.3073, address: "Jl. Mayor Dasuki, Jatibarang" },
  { latitude: -6.3376, longitude: 108.3345, address: "Pasar Baru, Kec. Indramayu" },
];

let language = localStorage.getItem("iceta-language") || "id";
let photoCount = 0;
let maxText = 4096;
let serviceTimeZone = undefined; // the service's, from /local/clock; bubble times follow it
const replyTo = {};
const shown = {};

function t(key, values = {}) {
  let text = (TEXT[language] || TEXT.id)[key] || key;
  for (const [name, value] of Object.entries(values)) text = text.replace(`{${name}}`, value);
  return text;
}

function applyLanguage() {
  document.documentElement.lang = language;
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t(el.dataset.i18nPlaceholder); });
  document.querySelectorAll("[data-i18n-title]").forEach((el) => { el.title = t(el.dataset.i18nTitle); });
  document.getElementById("language").textContent = t("switch");
  Object.keys(shown).forEach((pane) => { shown[pane] = ""; });
  refreshAll();
  refreshClock();
}

function chatOf(pane) {
  if (pane === "citizen") {
    const name = document.getElementById("citizen-name").value.trim().replace(/[^A-Za-z0-9_.-]/g, "") || "siti";
    return `citizen:${name}`;
  }
  if (pane === "staff") return document.getElementById("staff-chat").value;
  return "supervisors";
}

function senderName(pane) {
  if (pane === "citizen") return document.getElementById("citizen-name").value.trim() || "Siti";
  return pane === "staff" ? "Admin" : "Pimpinan";
}

async function api(path, options = {}) {
  const response = await fetch(path, { headers: { "Content-Type": "application/json" }, ...options });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function composerError(pane, text) {
  const box = document.querySelector(`#pane-${pane} .composer-error`);
  box.textContent = text || "";
  box.hidden = !text;
}

// Sends; true when the service accepted it. A refusal is said beside the composer.
async function send(pane, fields) {
  const chat = chatOf(pane);
  if (!chat) return false;
  const body = { chat, name: senderName(pane), ...fields };
  if (replyTo[pane]) body.reply_to = replyTo[pane].id;
  let accepted = false;
  try {
    await api("/local/messages", { method: "POST", body: JSON.stringify(body) });
    accepted = true;
    composerError(pane, "");
    if (replyTo[pane]) setReply(pane, null);
  } catch (error) {
    composerError(pane, t("not_sent", { error: error.message }));
  }
  setTimeout(() => refresh(pane), 150);
  setTimeout(refreshAll, 600);
  return accepted;
}

function setReply(pane, message) {
  replyTo[pane] = message;
  const box = document.querySelector(`#pane-${pane} .replying`);
  box.hidden = !message;
  if (message) box.querySelector("span").textContent = `${t("replying")} ${message.text.split("\n")[0].slice(0, 60)}`;
}

function describe(message) {
  // What a person sent without typing: a pressed button, a photo, a location.
  if (message.pressed) return `▸ ${message.text || message.pressed_label || message.pressed}`;
  if (message.photos && message.photos.length) return `📷 ${message.photos.join(", ")}`;
  if (message.location) return `📍 ${message.location.address || `${message.location.latitude}, ${message.location.longitude}`}`;
  return "";
}

function render(pane, messages) {
  const list = document.querySelector(`#pane-${pane} .messages`);
  const signature = JSON.stringify(messages.map((m) => [m.id, m.text, m.buttons]));
  if (shown[pane] === signature) return;
  shown[pane] = signature;
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren();
  if (!messages.length) {
    const empty = document.createElement("li");
    empty.className = "empty";
    empty.textContent = t("empty");
    list.append(empty);
  }
  // Only the latest question's buttons still mean something; cards keep theirs (they
  // are edited in place as the ticket changes).
  const asking = messages.filter((m) => m.from === "bot" && m.kind !== "card" && m.buttons && m.buttons.length);
  const current = asking.length ? asking[asking.length - 1].id : null;
  for (const message of messages) {
    const item = document.createElement("li");
    item.className = `msg ${message.from} ${message.kind}`;
    item.dataset.messageId = message.message_id || "";
    const text = document.createElement("div");
    text.className = "text";
    text.textContent = message.pressed ? describe(message) : message.text || describe(message);
    item.append(text);
    if (message.from === "bot" && message.buttons && message.buttons.length) {
      const buttons = document.createElement("div");
      buttons.className = "buttons";
      for (const row of message.buttons) {
        for (const button of row) {
          const element = document.createElement("button");
          element.type = "button";
          element.textContent = button.label;
          if (message.kind !== "card" && message.id !== current) {
            element.disabled = true;
            element.title = t("stale_button");
          }
          element.addEventListener("click", () => send(pane, { button: button.data, label: button.label }));
          buttons.append(element);
        }
      }
      item.append(buttons);
    }
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = new Date(message.at).toLocaleTimeString(language === "id" ? "id-ID" : "en-GB", { hour: "2-digit", minute: "2-digit", timeZone: serviceTimeZone });
    if (message.from === "bot" && message.message_id) {
      const link = document.createElement("button");
      link.type = "button";
      link.className = "reply-link";
      link.textContent = `↩ ${t("reply")}`;
      link.addEventListener("click", () => setReply(pane, { id: message.message_id, text: message.text }));
      meta.append(link);
    }
    item.append(meta);
    list.append(item);
  }
  if (atBottom) list.scrollTop = list.scrollHeight;
}

async function refresh(pane) {
  const chat = chatOf(pane);
  if (!chat) return;
  try {
    const body = await api(`/local/messages?chat=${encodeURIComponent(chat)}`);
    render(pane, body.messages);
  } catch (error) {
    const list = document.querySelector(`#pane-${pane} .messages`);
    list.replaceChildren(Object.assign(document.createElement("li"), { className: "empty", textContent: error.message }));
    shown[pane] = "";
  }
}

function refreshAll() { ["citizen", "staff", "supervisors"].forEach(refresh); }

function notice(text) { document.getElementById("clock-result").textContent = text; }

async function refreshClock() {
  try {
    const clock = await api(`/local/clock?lang=${language}`);
    if (clock.timezone && clock.timezone !== serviceTimeZone) {
      serviceTimeZone = clock.timezone;
      Object.keys(shown).forEach((pane) => { shown[pane] = ""; });
    }
    document.getElementById("clock-now").textContent = clock.shown;
    document.getElementById("clock-offset").textContent = clock.offset_hours ? t("ahead", { h: clock.offset_hours }) : "";
    document.querySelectorAll("[data-advance]").forEach((b) => { b.disabled = !clock.can_simulate; b.title = clock.can_simulate ? "" : t("clock_off"); });
    document.querySelectorAll(".open-desk").forEach((form) => { form.hidden = !clock.desk; });
  } catch (error) {
    notice(error.message);
  }
}

async function advance(hours) {
  try {
    const result = await api(`/local/clock?lang=${language}`, { method: "POST", body: JSON.stringify({ advance_hours: hours }) });
    const scan = result.scan;
    notice(scan
      ? t("advanced", { h: hours, reminders: scan.reminders, overdue: scan.overdue_alerts, closed: scan.auto_closed })
      : t("scan_failed", { h: hours }));
  } catch (error) {
    notice(error.message);
  }
  refreshClock();
  setTimeout(refreshAll, 300);
  setTimeout(refreshAll, 1200);
}

async function loadChats() {
  const select = document.getElementById("staff-chat");
  const body = await api("/local/chats");
  if (body.max_text) maxText = body.max_text;
  if (!localStorage.getItem("iceta-language") && TEXT[body.language]) language = body.language;
  select.replaceChildren();
  for (const chat of body.staff.filter((c) => c.chat !== "supervisors")) {
    select.append(new Option(chat.chat === "dispatch" ? `${t("dispatch")} — ${chat.name}` : chat.name, chat.chat));
  }
  if (!body.staff.length) {
    document.querySelector("#pane-staff .messages").textContent = t("staff_on_telegram");
    document.querySelector("#pane-supervisors .messages").textContent = t("staff_on_telegram");
  } else {
    select.value = localStorage.getItem("iceta-staff") || "agency:pupr";
    if (!select.value) select.selectedIndex = 0;
  }
}

function wire() {
  document.querySelectorAll(".pane").forEach((section) => {
    const pane = section.dataset.pane;
    section.querySelector(".composer").addEventListener("submit", async (event) => {
      event.preventDefault();
      const input = event.target.elements.text;
      const text = input.value.trim();
      if (!text) return;
      if (text.length > maxText) { // kept in the box, so it can be shortened
        composerError(pane, t("too_long", { n: text.length, max: maxText }));
        return;
      }
      if (await send(pane, { text })) input.value = "";
    });
    section.querySelector(".cancel-reply").addEventListener("click", () => setReply(pane, null));
    const desk = section.querySelector(".open-desk");
    if (desk) desk.addEventListener("submit", () => { // the desk, as this pane's chat
      desk.elements.chat.value = chatOf(pane);
      desk.elements.name.value = senderName(pane);
    });
  });
  let placeIndex = 0;
  document.querySelector('[data-send="location"]').addEventListener("click", () => {
    const place = PLACES[placeIndex % PLACES.length];
    placeIndex += 1;
    send("citizen", { location: place });
  });
  document.querySelector('[data-send="photo"]').addEventListener("click", () => {
    photoCount += 1;
    send("citizen", { photos: [`foto-${photoCount}.jpg`] });
  });
  document.querySelectorAll("[data-advance]").forEach((button) =>
    button.addEventListener("click", () => advance(Number(button.dataset.advance))));
  document.getElementById("staff-chat").addEventListener("change", (event) => {
    localStorage.setItem("iceta-staff", event.target.value);
    shown.staff = "";
    refresh("staff");
  });
  document.getElementById("citizen-name").addEventListener("change", () => { shown.citizen = ""; refresh("citizen"); });
  document.getElementById("language").addEventListener("click", () => {
    language = language === "id" ? "en" : "id";
    localStorage.setItem("iceta-language", language);
    applyLanguage();
  });
}

wire();
loadChats().then(applyLanguage).catch((error) => notice(error.message));
setInterval(refreshAll, 1000);
setInterval(refreshClock, 15000);
