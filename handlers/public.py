"""`/publik`: how each agency answers, for anyone to see (docs/contract.md §11).

Per agency over the last 30 days: tickets received, the share answered within the
deadline with the count it rests on (an agency with fewer decided tickets than
`public.min_tickets` is "too few to rank"), the median first response; tickets by
category; each agency's weeks as a chart. And tracking of one ticket by its number:
its status and dates, nothing else.

Nothing personal is shown: no names, numbers, descriptions or locations. The figures
are the digest's (`response_stats`), kept five minutes; the page is in Indonesian or
English (`?lang=en`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, make_response, render_template, request, send_file

from bot import report
from bot.catalog import LANGUAGES, say
from bot.config import Agency, Config
from bot.deadlines import ResponseStats
from bot.model import Ticket
from bot.tickets import format_number, parse_number
from bot.timefmt import format_date, format_duration, format_time
from handlers.charts import category_bars, on_time_chart
from handlers.desk_catalog import desk_text
from handlers.figures import KeptFigures
from storage.clock import Clock
from storage.connections import Databases
from storage.deadlines import assignments_between
from storage.report import filed_by_category
from storage.repository import SqliteStore

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
FRESH = timedelta(minutes=5)
# No script, nothing from elsewhere; the charts are inline SVG with presentation attributes.
_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)


@dataclass(frozen=True)
class AgencyLine:
    """One agency on the public page."""

    agency: Agency
    stats: ResponseStats
    ranked: bool


@dataclass(frozen=True)
class Tracked:
    """What the page says of one ticket: its status and dates."""

    number: str
    status: str
    dates: list[tuple[str, str]]


def public_blueprint(config: Config, databases: Databases, clock: Clock) -> Blueprint:
    """The public page and its stylesheet."""
    blueprint = Blueprint("public", __name__, template_folder=str(TEMPLATES))
    kept = KeptFigures(databases)

    def figures(now: datetime) -> dict[str, Any]:
        return kept.kept("public", now, FRESH, lambda: read_figures(now))

    def read_figures(now: datetime) -> dict[str, Any]:
        db = databases.get()
        window = report.public_window(now)
        in_window = report.by_agency(assignments_between(db, window.start, window.end), now)
        lines = []
        for agency in config.agencies:
            stats = in_window.get(agency.id, ResponseStats())
            lines.append(
                AgencyLine(agency, stats, report.rankable(stats, config.public.min_tickets))
            )
        lines.sort(
            key=lambda line: (
                not line.ranked,
                -(line.stats.on_time / line.stats.decided) if line.ranked else 0,
                line.agency.display,
            )
        )
        weeks, per_week = kept.weeks(config, now)
        return {
            "at": now,
            "window": window,
            "lines": lines,
            "filed": filed_by_category(db, window.start, window.end),
            "weeks": weeks,
            "series": report.weekly_series(config.agencies, per_week),
        }

    @blueprint.get("/publik")
    def public_page() -> Response:
        language = request.args.get("lang", "")
        language = language if language in LANGUAGES else config.service.language

        def t(key: str, **values: object) -> str:
            return desk_text(language, key, **values)

        now = clock()
        shown = figures(now)
        number = request.args.get("nomor", "")
        tracked: Tracked | None = None
        track_problem = ""
        if number:
            tracked, track_problem = _track(config, databases, number, language, t)
        tz = config.service.tz
        window = shown["window"]
        names = {c.id: c.text(language) for c in config.categories}
        counts = [(names.get(cid) or t("no_category"), n) for cid, n in shown["filed"].items()]
        labels = [format_date(w.start.astimezone(tz).date(), language) for w in shown["weeks"]]
        charts = [
            (
                line.agency.display,
                on_time_chart(
                    t("chart_on_time", agency=line.agency.display),
                    line.weeks,
                    labels,
                    _describer(t, config.public.min_tickets),
                    min_decided=config.public.min_tickets,
                ),
            )
            for line in shown["series"]
        ]
        body = render_template(
            "public/page.html",
            t=t,
            language=language,
            other_language="en" if language == "id" else "id",
            service=config.service.name,
            hours=f"{config.sla.response_hours:g}",
            first=format_date(window.start.astimezone(tz).date(), language),
            last=format_date(window.end.astimezone(tz).date(), language),
            lines=shown["lines"],
            min_tickets=config.public.min_tickets,
            duration=lambda span: format_duration(span, language) if span else "-",
            bars=category_bars(t("public_by_category"), counts),
            any_filed=bool(counts),
            charts=charts,
            number=number[:40],
            tracked=tracked,
            track_problem=track_problem,
            made=format_time(shown["at"], config.service.timezone, language),
        )
        response = make_response(body, 404 if track_problem == "missing" else 200)
        response.headers["Content-Security-Policy"] = _POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        # The figures are public and the same for everyone; a tracked ticket is not cached.
        response.headers["Cache-Control"] = "no-store" if number else "public, max-age=300"
        return response

    @blueprint.get("/publik/static/style.css")
    def stylesheet() -> Response:
        return send_file(STATIC / "desk.css", mimetype="text/css", max_age=86400)

    return blueprint


def _describer(t: Callable[..., str], min_decided: int) -> Callable[[str, ResponseStats], str]:
    """Each week's tooltip; a week with too few decided tickets says so, not its share."""

    def describe(label: str, stats: ResponseStats) -> str:
        if not stats.decided:
            return t("chart_week_none", week=label)
        if stats.decided < min_decided:
            return t("chart_week_few", week=label, min=min_decided)
        return t(
            "chart_week_tip",
            week=label,
            on_time=stats.on_time,
            decided=stats.decided,
            percent=stats.on_time_percent,
        )

    return describe


def _track(
    config: Config, databases: Databases, number: str, language: str, t: Callable[..., str]
) -> tuple[Tracked | None, str]:
    """The ticket of that number as the public may see it, or why not ("bad", "missing")."""
    ticket_id = parse_number(config.service.ticket_prefix, number[:40])
    if ticket_id is None:  # (parse_number reads at most nine digits)
        return None, "bad"
    ticket = SqliteStore(databases.get()).ticket(ticket_id)
    if ticket is None:
        return None, "missing"
    return _tracked(config, ticket, language, t), ""


def _tracked(config: Config, ticket: Ticket, language: str, t: Callable[..., str]) -> Tracked:
    zone = config.service.timezone
    moments: list[tuple[str, datetime | None]] = [("public_filed", ticket.created_at)]
    if ticket.awaiting_response:  # the agency's clock runs (not paused for the citizen)
        moments.append(("public_deadline", ticket.deadline_at))
    moments += [
        ("public_first_response", ticket.first_response_at),
        ("public_resolved", ticket.resolved_at),
        ("public_closed", ticket.closed_at),
    ]
    return Tracked(
        number=format_number(config.service.ticket_prefix, ticket.id or 0),
        status=say(language, f"status_{ticket.status}"),
        dates=[(t(key), format_time(when, zone, language)) for key, when in moments if when],
    )
