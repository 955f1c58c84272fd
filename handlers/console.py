"""The local try-it console (`GET /try`): three chats side by side on the local channel,
and a simulated clock to see 24-hour deadlines pass in a minute.

Plain HTML, CSS and a little JavaScript from `handlers/static/`, no build step.
Loopback only, like the local channel, unless `service.local_console: true`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory

from bot.catalog import LANGUAGES
from bot.config import Config
from bot.timefmt import format_time
from handlers.local import is_loopback_request
from storage.clock import ServiceClock, save_simulated_offset
from storage.connections import Databases

STATIC = Path(__file__).resolve().parent / "static"
MAX_ADVANCE_HOURS = 24 * 7

# Runs the deadline scan and the digest as of the (advanced) clock; returns what the
# scan did (reminders, overdue_alerts, auto_closed), or None when it failed.
Simulation = Callable[[], dict[str, int] | None]


def console_blueprint(
    config: Config, clock: ServiceClock, databases: Databases, simulate: Simulation | None
) -> Blueprint:
    """`/try` and its assets, plus `/local/clock` to read and fast-forward the service clock.

    `simulate` is None when a real channel is on: then time cannot be moved.
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

    return blueprint
