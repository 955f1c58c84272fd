"""The Flask app: webhooks, health, and the local channel. Built by `create_app`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from bot.config import Config
from bot.model import LOCAL
from handlers.delivery import oldest_age
from handlers.ingest import Ingest
from handlers.local import local_blueprint
from handlers.metrics import install_metrics
from storage.clock import Clock, utc_now
from storage.connections import Databases
from storage.db import BatchFailed, ping, write_failure, write_health
from storage.health import write_problem
from storage.outbox import backlog, failed_count

log = logging.getLogger(__name__)

# Anything bigger is not a chat message; refuse it before reading it.
MAX_BODY_BYTES = 256 * 1024
# What a webhook is told when the database cannot take its message (docs/contract.md §12).
RETRY_AFTER_SECONDS = 30


class JsonBodies(DefaultJSONProvider):
    """JSON as every route reads request bodies (`request.get_json`).

    Python's json module accepts two things nothing downstream can keep: a
    lone surrogate (`"\\ud800"`, which SQLite cannot encode) and nesting past
    the recursion limit (a RecursionError). Both become a ValueError, which
    `get_json` treats like any other body that is not JSON: a 400.
    """

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        pending = [value]
        while pending:  # a loop, not recursion: the value may be nested ~900 deep
            item = pending.pop()
            if isinstance(item, str):
                if not item.isascii() and not encodable(item):
                    raise ValueError("a JSON string holds a lone surrogate")
            elif isinstance(item, dict):
                pending.extend(item)
                pending.extend(item.values())
            elif isinstance(item, list):
                pending.extend(item)
        return value


def encodable(text: str) -> bool:
    """Whether `text` can be written as UTF-8 (no lone surrogates from a bad escape)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass
class Channels:
    """Which channels are on, and why not when off (shown in logs and /healthz)."""

    on: dict[str, bool] = field(default_factory=dict)  # the plug-ins, by name
    external: set[str] = field(default_factory=set)  # those that talk to a provider
    local: bool = True
    reasons: dict[str, str] = field(default_factory=dict)

    def is_on(self, name: str) -> bool:
        return self.local if name == LOCAL else self.on.get(name, False)

    @property
    def any_provider(self) -> bool:
        """Whether any channel that talks to an outside provider is on."""
        return any(on for name, on in self.on.items() if name in self.external)

    def as_dict(self) -> dict[str, bool]:
        return {**self.on, LOCAL: self.local}


def create_app(
    config: Config,
    databases: Databases,
    ingest: Ingest,
    channels: Channels,
    *,
    local_console_open: bool = False,
    staff_channel: str = LOCAL,
    extra_blueprints: tuple[Blueprint, ...] = (),
    clock: Clock = utc_now,
    metrics_token: str | None = None,
    health_parts: Mapping[str, Callable[[], Any]] | None = None,
) -> Flask:
    """The web app of one service: routes of docs/contract.md §7 for the channels that are on.

    `metrics_token` (`ICETA_METRICS_TOKEN`) lets others than this machine read /metrics;
    `health_parts` adds sections to /healthz (the nightly backup's last result).
    """
    app = Flask(__name__)
    app.json = JsonBodies(app)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["LOCAL_CONSOLE_OPEN"] = local_console_open
    # first, so that its timer starts before any other hook may answer
    install_metrics(
        app,
        config,
        databases,
        [name for name, on in channels.as_dict().items() if on],
        clock,
        token=metrics_token,
        replication=(health_parts or {}).get("replication"),
    )

    @app.before_request
    def readable_query_string() -> tuple[Response, int] | None:
        # werkzeug decodes it as strict UTF-8 when first read (request.args,
        # request.full_path) and raises on raw bytes a client may still send.
        if request.path.startswith("/open311/"):
            return None  # Open311 answers it itself, as the spec's error array
        try:
            request.query_string.decode("utf-8")
        except UnicodeDecodeError:
            return jsonify({"error": "the query string is not UTF-8"}), 400
        return None

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        db_ok = False
        pending, oldest, failed = 0, None, 0
        now = clock()
        try:
            db = databases.get()
            db_ok = ping(db)
            pending, oldest = backlog(db, now)
            failed = failed_count(db)
        except Exception:  # the answer is the report: the database is not reachable
            db_ok = False
        problem = None
        if db_ok:
            try:
                problem = write_problem(databases, now)
            except Exception:
                log.exception("checking whether the database can be written failed")
                problem = "checking whether the database can be written failed"
        status = "error" if not db_ok else "degraded" if problem else "ok"
        body = {
            "status": status,
            "reason": problem if db_ok else "the database does not answer",
            "service": config.service.name,
            "database": db_ok,
            "writable": db_ok and problem is None,
            "channels": channels.as_dict(),
            "outbox": {
                "backlog": pending,
                "oldest_age_seconds": oldest_age(oldest, now),
                "failed": failed,
            },
        }
        for name, part in (health_parts or {}).items():  # the nightly backup, replication
            body[name] = part()
        return jsonify(body), 200 if status == "ok" else 503

    if channels.local:
        app.register_blueprint(
            local_blueprint(ingest, databases, config, staff_is_local=staff_channel == LOCAL)
        )
    for blueprint in extra_blueprints:
        app.register_blueprint(blueprint)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        return jsonify({"error": error.description}), error.code or 500

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response, int]:
        failure = write_failure(error)
        if failure is not None or isinstance(error, BatchFailed):
            return cannot_store(
                failure.reason if failure else str(error), failure is not None and failure.lasting
            )
        app.logger.exception("unhandled error")
        return jsonify({"error": "internal error"}), 500

    def cannot_store(reason: str, lasting: bool) -> tuple[Response, int]:
        """The database could not take what this request brought (a full or read-only
        disk, a lock held too long): nothing of it is stored (its transaction rolled
        back), so the sender is asked to try again — Telegram and Twilio retry a 5xx."""
        if lasting:  # usually noted already by the transaction; not when it wrote outside one
            write_health(databases.path).failed(reason)
        route = request.url_rule.rule if request.url_rule else "?"  # never a path's token
        log.warning("%s %s: 503, nothing stored: %s", request.method, route, reason)
        response = jsonify({"error": "cannot store this now; try again later"})
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response, 503

    return app
