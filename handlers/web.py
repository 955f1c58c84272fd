"""The Flask app: webhooks, health, and the local channel. Built by `create_app`."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from bot.config import Config
from handlers.delivery import oldest_age
from handlers.ingest import Clock, Databases, Ingest, utc_now
from handlers.local import local_blueprint
from storage.db import ping
from storage.outbox import backlog, failed_count

# Anything bigger is not a chat message; refuse it before reading it.
MAX_BODY_BYTES = 256 * 1024


@dataclass
class Channels:
    """Which channels are on, and why not when off (shown in logs and /healthz)."""

    telegram: bool = False
    whatsapp: bool = False
    local: bool = True
    reasons: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, bool]:
        return {"telegram": self.telegram, "whatsapp": self.whatsapp, "local": self.local}


def create_app(
    config: Config,
    databases: Databases,
    ingest: Ingest,
    channels: Channels,
    *,
    local_console_open: bool = False,
    extra_blueprints: tuple[Blueprint, ...] = (),
    clock: Clock = utc_now,
) -> Flask:
    """The web app of one service: routes of PRODUCT.md §7 for the channels that are on."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["LOCAL_CONSOLE_OPEN"] = local_console_open

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        db_ok = False
        pending, oldest, failed = 0, None, 0
        try:
            db = databases.get()
            db_ok = ping(db)
            pending, oldest = backlog(db, clock())
            failed = failed_count(db)
        except Exception:  # the answer is the report: the database is not reachable
            db_ok = False
        body = {
            "status": "ok" if db_ok else "error",
            "service": config.service.name,
            "database": db_ok,
            "channels": channels.as_dict(),
            "outbox": {
                "backlog": pending,
                "oldest_age_seconds": oldest_age(oldest, clock()),
                "failed": failed,
            },
        }
        return jsonify(body), 200 if db_ok else 503

    if channels.local:
        app.register_blueprint(
            local_blueprint(ingest, databases, config, staff_is_local=not channels.telegram)
        )
    for blueprint in extra_blueprints:
        app.register_blueprint(blueprint)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        return jsonify({"error": error.description}), error.code or 500

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response, int]:
        app.logger.exception("unhandled error")
        return jsonify({"error": "internal error"}), 500

    return app
