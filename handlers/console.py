"""The local try-it console (`GET /try`): three chats side by side on the local channel,
and a simulated clock to see 24-hour deadlines pass in a minute.

Plain HTML, CSS and a little JavaScript from `handlers/static/`, no build step.
Loopback only, like the local channel, unless `service.local_console: true`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, redirect, request, send_from_directory

from bot.catalog import LANGUAGES
from bot.config import Config
from bot.model import LOCAL
from bot.staff import DESK_LINK_LIFETIME, role_of_chat
from bot.timefmt import format_time
from handlers.local import MAX_NAME, BadRequest, chat_id_for, is_loopback_request
from storage.clock import ServiceClock, save_simulated_offset
from storage.connections import Databases
from storage.db import transaction
from storage.desk import issue_link

STATIC = Path(__file__).resolve().parent / "static"
MAX_ADVANCE_HOURS = 24 * 7

# Runs the deadline scan and the digest as of the (advanced) clock; returns what the
# scan did (reminders, overdue_alerts, auto_closed), or None when it failed.
Simulation = Callable[[], dict[str, int] | None]


def console_blueprint(
    config: Config,
    clock: ServiceClock,
    databases: Databases,
    simulate: Simulation | None,
    desk_on: bool = False,
) -> Blueprint:
    """`/try` and its assets, `/local/clock` to read and fast-forward the service clock,
    and `POST /try/desk` to open the web desk as a staff pane's chat.

    `simulate` is None when a real channel is on: then time cannot be moved. `desk_on`:
    the web desk is served and the staff chats are local ones (the button is shown).
    """
    blueprint = Blueprint("console", __name__)

    @blueprint.before_request
    def loopback_only() -> Response | None:
        if not current_app.config.get("LOCAL_CONSOLE_OPEN") and not is_loopback_request():
            response = jsonify({"error": "the local console is only reachable from this machine"})
            response.status_code = 403
            return response
        return None

    @blueprint.get("/try")
    def page() -> Response:
        response = send_from_directory(STATIC, "console.html", mimetype="text/html")
        response.headers["Cache-Control"] = "no-store"
        return response

    @blueprint.get("/try/<name>")
    def asset(name: str) -> Response:
        if name not in ("console.css", "console.js", "favicon.svg"):
            return jsonify({"error": "not found"}), 404  # type: ignore[return-value]
        return send_from_directory(STATIC, name)

    @blueprint.get("/favicon.ico")
    def favicon() -> Response:
        return send_from_directory(STATIC, "favicon.svg", mimetype="image/svg+xml")

    def clock_state() -> dict[str, object]:
        now = clock()
        language = request.args.get("lang", config.service.language)
        if language not in LANGUAGES:
            language = config.service.language
        return {
            "now": now.isoformat(timespec="seconds"),
            "timezone": config.service.timezone,  # bubble times are shown in it
            "shown": format_time(now, config.service.timezone, language),
            "offset_hours": round(clock.offset.total_seconds() / 3600, 2),
            "simulated": clock.offset > timedelta(0),
            "can_simulate": simulate is not None,
            "desk": desk_on,
        }

    @blueprint.get("/local/clock")
    def read_clock() -> Response:
        return jsonify(clock_state())

    @blueprint.post("/local/clock")
    def advance_clock() -> tuple[Response, int]:
        if simulate is None:
            return jsonify(
                {"error": "the clock can be moved only while Telegram and WhatsApp are off"}
            ), 409
        body = request.get_json(silent=True)
        hours = body.get("advance_hours") if isinstance(body, dict) else None
        if (
            isinstance(hours, bool)
            or not isinstance(hours, int | float)
            or not 0 < hours <= MAX_ADVANCE_HOURS
        ):
            return jsonify(
                {
                    "error": f"'advance_hours' must be a number above 0 and at most {MAX_ADVANCE_HOURS}"
                }
            ), 400
        clock.advance(timedelta(hours=hours))
        save_simulated_offset(databases.get(), clock.offset, clock())
        scan = simulate()
        return jsonify({**clock_state(), "scan": scan}), 200

    @blueprint.post("/try/desk")
    def open_desk() -> Response:
        """Sign in to the desk as the chosen pane's chat would with /dasbor: a one-time
        link, redeemed at once (303 to it). Loopback only, like the whole console."""
        if not desk_on:
            return _refused("the web desk is off, or staff chats are on Telegram", 404)
        if not _from_the_console():
            return _refused("open the desk from the console itself", 403)
        try:
            chat_id, is_staff = chat_id_for(config, request.form.get("chat", "")[:80], True)
        except BadRequest as problem:
            return _refused(problem.message, problem.status)
        role = role_of_chat(config, LOCAL, chat_id, LOCAL) if is_staff else None
        if role is None:
            return _refused("only a staff pane (an agency, dispatch, supervisors) opens the desk")
        name = request.form.get("name", "").strip()[:MAX_NAME] or "Konsol"
        db = databases.get()
        with transaction(db):
            token = issue_link(
                db, role.kind, role.agency_id, LOCAL, chat_id, name, clock(), DESK_LINK_LIFETIME
            )
        return redirect(f"/desk/login/{token}", 303)

    return blueprint


def _from_the_console() -> bool:
    """The sign-in button was pressed on this console's own page: the browser says the
    form came from this origin (Origin, or Sec-Fetch-Site when Origin is absent), and —
    unless the console is open to the network — the address is this machine's by name,
    so a hostile page cannot reach it by pointing its own name at 127.0.0.1."""
    if not current_app.config.get("LOCAL_CONSOLE_OPEN"):
        host = request.host.lower()
        name = host.split("]", 1)[0] + "]" if host.startswith("[") else host.rsplit(":", 1)[0]
        if name not in ("127.0.0.1", "localhost", "[::1]"):
            return False
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin == request.host_url.rstrip("/")
    return request.headers.get("Sec-Fetch-Site") == "same-origin"


def _refused(message: str, status: int = 400) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response
