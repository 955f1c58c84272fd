"""The web desk (docs/contract.md §10): staff sign in from their chat with a one-time
link, then list, search, read and answer tickets, take complaints by phone and call
callers back. Server-rendered pages (Flask, Jinja templates in handlers/templates/desk),
readable without JavaScript and on a phone.

It is also the `phone` channel's plug-in: what agencies answer to a phone caller is
"delivered" onto the call center's call-back list.

Rules live in bot/desk.py and go through bot/engine.py; this module turns requests into
them. Every page needs a session (else 303 to /desk/login); every form carries the
session's CSRF token; an agency's session sees only its agency's tickets (another's is
404, like a missing one); sign-ins, ticket views and exports are audited.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import hmac
import io
import itertools
import json
import secrets
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Response,
    g,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
)

from bot import desk, engine, report
from bot.catalog import LANGUAGES, say
from bot.config import Agency, Config
from bot.conversation import awaits_answer, matcher_for
from bot.deadlines import ResponseStats, Window
from bot.desk import DeskUser
from bot.model import OPEN311, PHONE, Assignment, Inbound, Location, Outbound, Status, Ticket
from bot.routing import suggestion_id
from bot.staff import AGENCY, DISPATCH, Role, role_display, role_of_chat
from bot.tickets import format_number, parse_number
from bot.timefmt import format_date, format_duration, format_month, format_time
from handlers.channels import Built, Wiring
from handlers.charts import category_bars, on_time_chart
from handlers.delivery import Sent
from handlers.desk_catalog import desk_text, event_name, has_desk_text
from handlers.desk_reports import (
    report_csv,
    report_tables,
    report_xlsx,
    shown_value,
    spreadsheet_safe,
)
from handlers.figures import KeptFigures
from handlers.ingest import Ingest
from storage import desk as stored
from storage.clock import Clock
from storage.connections import Databases
from storage.db import transaction
from storage.deadlines import assignments_between, stints_between
from storage.media import media
from storage.report import filed_by_category
from storage.repository import SqliteStore

COOKIE = "iceta_desk"
TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"
MAP_LIMIT = 5000
FIGURES_FRESH = timedelta(minutes=1)
XLSX_IN_MEMORY_ROWS = 20_000
MAX_ID = 2**62  # a row id SQLite can hold; anything bigger is not one of ours
# Every file /desk/static/ serves, with its type: nothing else under handlers/static/.
_STATIC_FILES = {
    "desk.css": "text/css",
    "map.js": "text/javascript",
    "vendor/leaflet/leaflet.js": "text/javascript",
    "vendor/leaflet/leaflet.css": "text/css",
    "vendor/markercluster/leaflet.markercluster.js": "text/javascript",
    "vendor/markercluster/MarkerCluster.css": "text/css",
    "vendor/markercluster/MarkerCluster.Default.css": "text/css",
    **{
        f"vendor/leaflet/images/{name}": "image/png"
        for name in ("layers.png", "layers-2x.png", "marker-icon.png", "marker-icon-2x.png",
                     "marker-shadow.png")
    },
}  # fmt: skip


class PhoneSender:
    """The phone channel: an answer for a caller goes onto the call-back list (the
    `messages` row `mark_sent` writes, status 'sent' until an operator marks it told)."""

    channel = PHONE

    def send(self, outbound: Outbound, edit_message_id: str | None) -> Sent:
        return Sent([f"callback-{secrets.token_hex(8)}"])


@dataclass
class _Desk:
    config: Config
    databases: Databases
    clock: Clock
    staff_channel: str
    wake: Callable[[], None]
    senders: Mapping[str, Any]

    # Figures that are slow to read at 1,000,000 tickets, kept for a while.
    figures: KeptFigures = field(init=False)

    def __post_init__(self) -> None:
        self.figures = KeptFigures(self.databases)

    def user(self) -> DeskUser:
        return g.desk_user

    def kept(self, key: str, now: datetime, fresh: timedelta, read: Callable[[], Any]) -> Any:
        return self.figures.kept(key, now, fresh, read)

    def week_assignments(self, week: Window, now: datetime) -> list[Assignment]:
        return self.kept(
            f"digest-week:{week.start.isoformat()}",
            now,
            FIGURES_FRESH,
            lambda: assignments_between(self.databases.get(), week.start, week.end),
        )

    def language(self) -> str:
        return g.desk_language

    def t(self, key: str, **values: object) -> str:
        return desk_text(self.language(), key, **values)

    def has(self, key: str) -> bool:
        return has_desk_text(self.language(), key)


def desk_blueprint(
    config: Config,
    databases: Databases,
    clock: Clock,
    staff_channel: str,
    wake: Callable[[], None],
    senders: Mapping[str, Any],
    ingest: Ingest,
) -> Blueprint:
    """Every /desk route."""
    blueprint = Blueprint("desk", __name__, template_folder=str(TEMPLATES))
    state = _Desk(config, databases, clock, staff_channel, wake, senders)
    secure = config.service.is_https

    def page(template: str, status: int = 200, **values: object) -> Response:
        response = make_response(
            render_template(
                f"desk/{template}",
                t=state.t,
                language=state.language(),
                other_language="en" if state.language() == "id" else "id",
                user=getattr(g, "desk_user", None),
                role_name=_role_name(config, g.desk_user.role, state.language())
                if getattr(g, "desk_user", None)
                else "",
                csrf=getattr(g, "desk_csrf", ""),
                service=config.service.name,
                status_label=lambda s: _status_label(state, s),
                **values,
            ),
            status,
        )
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    def signed_in(view: Callable[..., Response]) -> Callable[..., Response]:
        @wraps(view)
        def wrapper(*args: object, **kwargs: object) -> Response:
            g.desk_language = config.service.language
            session_id = request.cookies.get(COOKIE, "")
            db = databases.get()
            now = clock()
            found = stored.find_session(db, session_id, now, desk.SESSION_IDLE)
            if found is None:
                return redirect("/desk/login", 303)
            role = Role(found.role, found.agency_id)
            if role_of_chat(config, found.chat_channel, found.chat_id, staff_channel) != role:
                stored.end_session(db, session_id, "config", now)
                return redirect("/desk/login?ended=config", 303)
            g.desk_user = DeskUser(role, found.name, found.chat_channel, found.chat_id)
            g.desk_csrf = found.csrf
            g.desk_session_id = session_id
            if found.language in LANGUAGES:
                g.desk_language = found.language
            if request.method == "POST":
                given = request.form.get("csrf", "")
                if not given or not hmac.compare_digest(given, found.csrf):
                    return page("message.html", 403, message=state.t("csrf_refused"))
            return view(*args, **kwargs)

        return wrapper

    # --- signing in and out
    @blueprint.get("/desk/login")
    def login_help() -> Response:
        g.desk_language = _language_of_request(config)
        note = ""
        if request.args.get("ended") == "config":
            note = state.t("session_ended_config")
        elif request.args.get("out"):
            note = state.t("logged_out")
        return page("login.html", note=note)

    @blueprint.get("/desk/login/<token>")
    def login(token: str) -> Response:
        g.desk_language = _language_of_request(config)
        now = clock()
        signin = stored.redeem_link(databases.get(), token[:200], now)
        if signin is None:
            return page("login.html", 403, note=state.t("login_refused"))
        response = redirect("/desk", 303)
        response.set_cookie(
            COOKIE,
            signin.session_id,
            httponly=True,
            samesite="Lax",
            secure=secure,
            path="/desk",
            max_age=int(desk.SESSION_IDLE.total_seconds()),
        )
        return response

    @blueprint.post("/desk/logout")
    @signed_in
    def logout() -> Response:
        stored.end_session(databases.get(), g.desk_session_id, "logout", clock())
        response = redirect("/desk/login?out=1", 303)
        response.delete_cookie(COOKIE, path="/desk")
        return response

    @blueprint.post("/desk/language")
    @signed_in
    def switch_language() -> Response:
        language = request.form.get("language", "")
        if language in LANGUAGES:
            stored.set_language(databases.get(), g.desk_session_id, language)
        back = request.form.get("next", "/desk")
        safe = back.startswith("/desk") and "//" not in back and back.isprintable()
        return redirect(back if safe and len(back) <= 2000 else "/desk", 303)

    # --- the overview
    @blueprint.get("/desk")
    @signed_in
    def overview() -> Response:
        db, user, now = databases.get(), state.user(), clock()
        show = _viewer(state)
        agency_filter = user.role.agency_id if user.role.kind == AGENCY else None
        counts = stored.open_counts(db, agency_filter)
        overdue_query = desk.scoped(
            desk.parse_query({"status": "assigned", "overdue": "1"}, config, now), user.role
        )
        overdue, _ = stored.list_tickets(db, overdue_query, desk.PAGE_SIZE)
        queue: list[Ticket] = []
        if user.role.kind == DISPATCH:
            queue, _ = stored.list_tickets(
                db, desk.parse_query({"agency": "dispatch"}, config, now), desk.PAGE_SIZE
            )
        week = desk.figures_week(now, config)
        first, last = desk.window_dates(week, config)
        shown_agencies = [
            a for a in config.agencies if user.role.kind != AGENCY or a.id == user.role.agency_id
        ]
        figures = desk.agency_figures(
            config,
            shown_agencies,
            state.week_assignments(week, now),
            stored.open_by_agency(db),
            stored.overdue_by_agency(db, now),
            now,
        )
        callbacks = len(stored.call_backs(db)) if user.role.kind == DISPATCH else 0
        return page(
            "overview.html",
            charts=_charts(state, now, shown_agencies, user.role),
            counts=counts,
            total=sum(counts.values()),
            overdue=[show(t) for t in overdue],
            queue=[show(t) for t in queue],
            figures=figures,
            week_first=first.isoformat(),
            week_last=last.isoformat(),
            week_label=state.t(
                "overview_week",
                first=format_date(first, state.language()),
                last=format_date(last, state.language()),
            ),
            hours=f"{config.sla.response_hours:g}",
            duration=lambda span: format_duration(span, state.language()) if span else "-",
            callbacks=callbacks,
        )

    # --- the monthly report
    @blueprint.get("/desk/reports/monthly")
    @signed_in
    def monthly() -> Response:
        db, user, now = databases.get(), state.user(), clock()
        args = _query_args()
        wanted = args.get("month", "") or _last_month(now, config)
        try:
            first_day = report.parse_month(wanted)
        except report.BadMonth as problem:
            return page("message.html", 400, message=state.t("bad_query", problem=str(problem)))
        kind = args.get("format", "")
        if kind not in ("", "csv", "xlsx"):
            return page("message.html", 400, message=state.t("bad_query", problem="format"))
        window = report.month_window(first_day, config)
        agencies = None
        if user.role.kind == AGENCY:
            agencies = [a for a in config.agencies if a.id == user.role.agency_id]
        stints = state.kept(  # read once a minute for every role; each role's report too
            f"month-stints:{first_day.isoformat()}",
            now,
            FIGURES_FRESH,
            lambda: stints_between(db, window.start, window.end),
        )
        made = state.kept(
            f"month:{first_day.isoformat()}:{user.role.agency_id}",
            now,
            FIGURES_FRESH,
            lambda: report.monthly_report(config, window, stints, now, agencies),
        )
        agency_id = user.role.agency_id if user.role.kind == AGENCY else None
        filed = state.kept(
            f"filed:{window.start.isoformat()}:{agency_id}",
            now,
            FIGURES_FRESH,
            lambda: filed_by_category(db, window.start, window.end, agency_id),
        )
        language = state.language()
        month_name = format_month(first_day, language)
        title = state.t("report_title", month=month_name, service=config.service.name)
        made_line = state.t(
            "report_made", when=format_time(made.made_at, config.service.timezone, language)
        )
        by_agency, by_category = report_tables(made, state.t, language)
        tables = [(state.t("report_sheet_agencies"), by_agency)]
        tables.append((state.t("report_sheet_categories"), by_category))
        if kind:
            stored.add_audit(
                db, now, user.role.kind, user.role.agency_id, user.name,
                f"report_{kind}", None, first_day.isoformat()[:7],
            )  # fmt: skip
            name = f"laporan-{first_day.isoformat()[:7]}.{kind}"
            if kind == "csv":
                response = Response(
                    report_csv(f"{title} — {made_line}", tables),
                    mimetype="text/csv; charset=utf-8",
                )
                response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
                return response
            return send_file(
                report_xlsx(title, made_line, tables),
                mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                as_attachment=True,
                download_name=name,
            )
        names = {c.id: c.text(language) for c in config.categories}
        counts = [(names.get(cid) or state.t("no_category"), n) for cid, n in filed.items()]
        return page(
            "report.html",
            title=title,
            made_line=made_line,
            month=first_day.isoformat()[:7],
            tables=tables,
            shown_value=shown_value,
            hours=f"{config.sla.response_hours:g}",
            bars=category_bars(state.t("chart_categories_month", month=month_name), counts),
        )

    # --- the list and its exports
    def filter_form(args: Mapping[str, str]) -> dict[str, Any]:
        """What the list's filter form (also on the map) needs."""
        return {
            "args": args,
            "config": config,
            "agency_fixed": state.user().role.kind == AGENCY,
            "channels": sorted({"telegram", "whatsapp", "local", PHONE, OPEN311}),
            "status_options": [("open", state.t("status_open")), ("all", state.t("status_all"))]
            + [(s, _status_label(state, s)) for s in desk.STATUS_FILTERS if s != "open"],
        }

    @blueprint.get("/desk/tickets")
    @signed_in
    def ticket_list() -> Response:
        db, user, now = databases.get(), state.user(), clock()
        args = _query_args()
        try:
            query = desk.scoped(desk.parse_query(args, config, now), user.role)
        except desk.BadQuery as problem:
            return page("message.html", 400, message=state.t("bad_query", problem=str(problem)))
        export = args.get("format", "")
        if export in ("csv", "xlsx"):
            stored.add_audit(
                db,
                now,
                user.role.kind,
                user.role.agency_id,
                user.name,
                f"export_{export}",
                None,
                request.query_string.decode("utf-8", errors="replace")[:500],
            )
            tickets = stored.export_tickets(db, query, desk.MAX_EXPORT_ROWS)
            show = _viewer(state)
            return _export(state, export, (show(t) for t in tickets))
        if export:
            return page("message.html", 400, message=state.t("bad_query", problem="format"))
        tickets, more = stored.list_tickets(db, query, desk.PAGE_SIZE)
        params = {k: v for k, v in args.items() if k != "page" and v}
        return page(
            "tickets.html",
            tickets=[_viewer(state)(t) for t in tickets],
            more=more,
            page_number=query.page,
            params=params,
            **filter_form(args),
        )

    # --- one ticket
    def _ticket_or_404(number: str) -> Ticket | None:
        ticket_id = parse_number(config.service.ticket_prefix, number)
        if ticket_id is None:
            return None
        ticket = SqliteStore(databases.get()).ticket(ticket_id)
        if ticket is None or not desk.may_see(state.user().role, ticket):
            return None  # another agency's ticket reads exactly like a missing one
        return ticket

    @blueprint.get("/desk/tickets/<number>")
    @signed_in
    def ticket_page(number: str) -> Response:
        ticket = _ticket_or_404(number)
        if ticket is None:
            return page("message.html", 404, message=state.t("not_found"))
        db, user, now = databases.get(), state.user(), clock()
        assert ticket.id is not None
        stored.add_audit(
            db, now, user.role.kind, user.role.agency_id, user.name, "viewed", ticket.id
        )
        entries = stored.timeline(db, ticket.id)
        return page(
            "ticket.html",
            ticket=_viewer(state)(ticket),
            attachments=list(enumerate(ticket.attachments)),
            timeline=entries,
            citizen_chat=ticket.citizen_chat_id,
            # what went to staff chats (cards carry the citizen's full number) is shown
            # only to dispatch, who sees the number anyway
            staff_texts=user.role.kind == DISPATCH,
            when=lambda moment: _when(state, moment),
            event_name=lambda action, detail: event_name(state.language(), action, detail),
            actor_name=lambda actor: _actor_name(state, actor),
            notice_name=lambda entry: _notice_name(state, entry),
            actions=_actions_for(user.role, ticket),
            agencies=[a for a in config.agencies if a.id != ticket.agency_id],
            done=_known(state, request.args.get("done", "")),
            refused=_known(state, request.args.get("refused", "")),
            file_of=lambda index: f"/desk/tickets/{number}/files/{index}",
        )

    @blueprint.post("/desk/tickets/<number>/<action>")
    @signed_in
    def ticket_action(number: str, action: str) -> Response:
        ticket = _ticket_or_404(number)
        if ticket is None:
            return page("message.html", 404, message=state.t("not_found"))
        if action not in desk.ACTIONS:
            return page("message.html", 400, message=state.t("action_unknown"))
        text = request.form.get("text", "")[:4000]
        agency_id = request.form.get("agency", "")[:60]
        db = databases.get()
        shown = format_number(config.service.ticket_prefix, ticket.id or 0)
        try:
            with transaction(db):
                done, _ = engine.desk_action(
                    SqliteStore(db),
                    config,
                    clock(),
                    staff_channel,
                    state.user(),
                    action,
                    ticket,
                    text,
                    agency_id,
                )
        except desk.ActionRefused as refused:
            return redirect(f"/desk/tickets/{shown}?refused={refused.key}", 303)
        wake()
        return redirect(f"/desk/tickets/{shown}?done={done}", 303)

    @blueprint.get("/desk/tickets/<number>/files/<int:index>")
    @signed_in
    def ticket_file(number: str, index: int) -> Response:
        ticket = _ticket_or_404(number)
        if ticket is None or not 0 <= index < len(ticket.attachments):
            return page("message.html", 404, message=state.t("not_found"))
        if ticket.confidential and state.user().role.kind != DISPATCH:
            return page("message.html", 404, message=state.t("not_found"))
        attachment = ticket.attachments[index]
        user = state.user()
        stored.add_audit(
            databases.get(),
            clock(),
            user.role.kind,
            user.role.agency_id,
            user.name,
            "file",
            ticket.id,
            str(index),
        )
        if attachment.ref.startswith("media:"):
            found = media(databases.get(), attachment.ref)
            if found is None or not found.path or not Path(found.path).exists():
                return page("message.html", 404, message=state.t("not_found"))
            return _served_file(
                send_file(found.path, mimetype=found.content_type or attachment.mime)
            )
        download = getattr(senders.get(ticket.citizen_channel), "download", None)
        if download is None:
            return page("message.html", 404, message=state.t("not_found"))
        try:
            data, mime = download(attachment)
        except Exception:  # the provider could not give it now
            return page("message.html", 404, message=state.t("not_found"))
        return _served_file(send_file(io.BytesIO(data), mimetype=mime))

    # --- complaints taken by phone, and calling back
    @blueprint.route("/desk/phone", methods=["GET", "POST"])
    @signed_in
    def phone() -> Response:
        if state.user().role.kind != DISPATCH:
            return page("message.html", 403, message=state.t("dispatch_only"))
        form = {
            k: request.form.get(k, "")[:4000]
            for k in ("name", "phone", "description", "category", "address")
        }
        problems: list[str] = []
        suggestions: list[str] = []
        filed = ""
        if request.method == "POST":
            call = desk.PhoneCall(
                form["name"], form["phone"], form["description"], form["category"], form["address"]
            )
            if request.form.get("suggest"):
                found = matcher_for(config).suggest(form["description"])
                suggestions = [suggestion_id(s.option) for s in found]
            else:
                problems = desk.check_call(call, config)
                if not problems:
                    db = databases.get()
                    with transaction(db):
                        ticket, _ = engine.file_phone_call(
                            SqliteStore(db), config, clock(), staff_channel, call, state.user()
                        )
                    wake()
                    filed = format_number(config.service.ticket_prefix, ticket.id or 0)
                    form = dict.fromkeys(form, "")
        labels = {c.id: c.text(state.language()) for c in config.categories}
        shown = [labels[s] for s in suggestions if s in labels]
        if suggestions and not form["category"]:
            first = next((s for s in suggestions if s in labels), "")
            form["category"] = first
        return page(
            "phone.html",
            400 if problems else 200,
            form=form,
            problems=[state.t(p) for p in problems],
            suggestions=shown,
            suggested=bool(request.form.get("suggest")),
            filed=filed,
            categories=config.categories,
        )

    @blueprint.get("/desk/callbacks")
    @signed_in
    def callbacks() -> Response:
        if state.user().role.kind != DISPATCH:
            return page("message.html", 403, message=state.t("dispatch_only"))
        items = stored.call_backs(databases.get())
        return page(
            "callbacks.html",
            items=items,
            number=lambda ticket_id: format_number(config.service.ticket_prefix, ticket_id or 0),
            when=lambda moment: _when(state, moment),
            done=request.args.get("done", ""),
            refused=request.args.get("refused", ""),
        )

    @blueprint.post("/desk/callbacks/<int:message_id>/told")
    @signed_in
    def told(message_id: int) -> Response:
        if state.user().role.kind != DISPATCH:
            return page("message.html", 403, message=state.t("dispatch_only"))
        if message_id > MAX_ID:
            return page("message.html", 404, message=state.t("not_found"))
        db = databases.get()
        with transaction(db):
            item = stored.mark_called_back(db, message_id)
            store = SqliteStore(db)
            ticket = store.ticket(item.ticket_id) if item and item.ticket_id else None
            if item is not None and ticket is not None:
                engine.called_back(
                    store, config, clock(), staff_channel, ticket, state.user(), item.text
                )
        return redirect("/desk/callbacks?done=1", 303)

    @blueprint.post("/desk/callbacks/<int:message_id>/answer")
    @signed_in
    def caller_answered(message_id: int) -> Response:
        """What the caller said back on the phone (a confirmation, a rating, an answer to
        the agency's question) goes into the conversation as the caller's own message,
        and the item counts as told."""
        if state.user().role.kind != DISPATCH:
            return page("message.html", 403, message=state.t("dispatch_only"))
        if message_id > MAX_ID:
            return page("message.html", 404, message=state.t("not_found"))
        text = request.form.get("text", "").strip()[:4000]
        db = databases.get()
        item = stored.waiting_call_back(db, message_id)
        if item is None:  # told meanwhile, by someone else
            return redirect("/desk/callbacks?done=1", 303)
        if not text:
            return redirect("/desk/callbacks?refused=answer_empty", 303)
        store = SqliteStore(db)
        ticket = store.ticket(item.ticket_id) if item.ticket_id else None
        awaiting = awaits_answer(store.conversation(PHONE, item.phone))
        inbound = Inbound(
            channel=PHONE,
            chat_id=item.phone,
            provider_id=f"desk-answer-{message_id}-{secrets.token_hex(8)}",
            sender_id=item.phone,
            sender_name=ticket.citizen_name if ticket else "",
            phone=item.phone,
            text=text,
            # a reply to the agency's message, unless the caller answers a question
            # the conversation is waiting on (is it fixed? a rating?)
            reply_to_message_id="" if awaiting else item.provider_id,
        )
        operator = state.user()

        def told(db: Any, now: datetime) -> None:
            passed_on = stored.mark_called_back(db, message_id)
            told_store = SqliteStore(db)
            # read again: the caller's answer, just handled, may have closed it
            current = told_store.ticket(item.ticket_id) if item.ticket_id else None
            if passed_on is not None and current is not None:
                engine.called_back(
                    told_store, config, now, staff_channel, current, operator, passed_on.text
                )

        ingest.receive(inbound, also_record=told)
        return redirect("/desk/callbacks?done=answer", 303)

    # --- the map
    def points(args: Mapping[str, str]) -> list[dict[str, Any]]:
        """The located tickets of the filtered list, with what a map pin shows."""
        user, now, language = state.user(), clock(), state.language()
        query = desk.scoped(desk.parse_query(args, config, now), user.role)
        categories = {c.id: c.text(language) for c in config.categories}
        agencies = {a.id: a.display for a in config.agencies}
        labels: dict[str, str] = {}
        shown = []
        for point in stored.map_points(databases.get(), query, now, MAP_LIMIT):
            number = format_number(config.service.ticket_prefix, point.id)
            status = "late" if point.late else point.status
            if status not in labels:
                labels[status] = say(language, f"staff_status_{status}")
            shown.append(
                {
                    "number": number,
                    "status": point.status,
                    "status_label": labels[status],
                    "late": point.late,
                    "category": categories.get(point.category_id)
                    or say(language, "category_other"),
                    "agency": agencies.get(point.agency_id, config.dispatch.name),
                    "latitude": point.latitude,
                    "longitude": point.longitude,
                    "url": f"/desk/tickets/{number}",
                }
            )
        return shown

    @blueprint.get("/desk/map.geojson")
    @signed_in
    def map_geojson() -> Response:
        args = _query_args()
        try:
            located = points(args)
        except desk.BadQuery as problem:
            return Response(json.dumps({"error": str(problem)}), 400, mimetype="application/json")
        features = [
            {
                "type": "Feature",
                "geometry": {
                    "type": "Point",
                    "coordinates": [round(p["longitude"], 6), round(p["latitude"], 6)],
                },
                "properties": {
                    k: p[k]
                    for k in (
                        "number",
                        "status",
                        "status_label",
                        "late",
                        "category",
                        "agency",
                        "url",
                    )
                },
            }
            for p in located
        ]
        body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)
        return Response(body, 200, mimetype="application/geo+json")

    @blueprint.get("/desk/map")
    @signed_in
    def map_page() -> Response:
        args = _query_args()
        try:
            located = points(args)
        except desk.BadQuery as problem:
            return page("message.html", 400, message=state.t("bad_query", problem=str(problem)))
        for point in located:
            point["map_link"] = Location(point["latitude"], point["longitude"]).map_link
        params = {k: v for k, v in args.items() if k != "page" and v}
        return page(
            "map.html",
            located=located,
            geojson="/desk/map.geojson" + (f"?{urlencode(params)}" if params else ""),
            tile_url=config.desk.tile_url,
            tile_attribution=config.desk.tile_attribution,
            **filter_form(args),
        )

    @blueprint.get("/desk/static/<path:name>")
    def static_file(name: str) -> Response:
        """Our own scripts and the map's library files (Leaflet, from its npm package)."""
        if name not in _STATIC_FILES:
            return Response("not found", 404, mimetype="text/plain")
        response = send_file(STATIC / name, mimetype=_STATIC_FILES[name])
        response.headers["Cache-Control"] = "public, max-age=86400"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    return blueprint


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _last_month(now: datetime, config: Config) -> str:
    """The month before this one, as YYYY-MM (the report a supervisor asks for first)."""
    first = report.this_month(now, config)
    return (first - timedelta(days=1)).isoformat()[:7]


def _charts(state: _Desk, now: datetime, agencies: list[Agency], role: Role) -> dict[str, Any]:
    """The overview's charts: each agency's share answered in time over the last 12 weeks,
    and the digest week's tickets by category."""
    config, language = state.config, state.language()
    weeks, per_week = state.figures.weeks(config, now)
    labels = [format_date(w.start.astimezone(config.service.tz).date(), language) for w in weeks]

    def describe(label: str, stats: ResponseStats) -> str:
        if not stats.decided:
            return state.t("chart_week_none", week=label)
        return state.t(
            "chart_week_tip",
            week=label,
            on_time=stats.on_time,
            decided=stats.decided,
            percent=stats.on_time_percent,
        )

    series = report.weekly_series(agencies, per_week)
    week = weeks[-1]
    agency_id = role.agency_id if role.kind == AGENCY else None
    filed = state.kept(
        f"filed:{week.start.isoformat()}:{agency_id}",
        now,
        FIGURES_FRESH,
        lambda: filed_by_category(state.databases.get(), week.start, week.end, agency_id),
    )
    names = {c.id: c.text(language) for c in config.categories}
    counts = [(names.get(cid) or state.t("no_category"), n) for cid, n in filed.items()]
    first, last = desk.window_dates(week, config)
    return {
        "on_time": [
            (
                line.agency.display,
                on_time_chart(
                    state.t("chart_on_time", agency=line.agency.display),
                    line.weeks,
                    labels,
                    describe,
                ),
            )
            for line in series
        ],
        "categories": category_bars(
            state.t(
                "chart_categories",
                first=format_date(first, language),
                last=format_date(last, language),
            ),
            counts,
        ),
        "any_filed": bool(counts),
    }


def _known(state: _Desk, key: str) -> str:
    """A catalog key from the address (`?done=…`), or "" when it is not one of ours."""
    return key if key and state.has(key) else ""


def _query_args() -> dict[str, str]:
    """The list's filters as the request gives them (the first of a repeated one)."""
    return {key: value for key, value in request.args.items() if isinstance(value, str)}


def _language_of_request(config: Config) -> str:
    wanted = request.args.get("lang", "")
    return wanted if wanted in LANGUAGES else config.service.language


def _role_name(config: Config, role: Role, language: str) -> str:
    return role_display(config, role, desk_text(language, "role_supervisor"))


def _actor_name(state: _Desk, actor: str) -> str:
    """Who did it, as an event's actor is written (`citizen:…`, `staff:<key>:<name>`,
    `system`), in words."""
    kind, _, rest = actor.partition(":")
    if kind == "citizen":
        return state.t("actor_citizen")
    if kind == "staff":
        key, _, name = rest.partition(":")
        agency = state.config.agency(key)
        return f"{name} · {agency.display}" if agency and name else name or key
    return state.t("actor_system") if actor == "system" else actor


def _notice_name(state: _Desk, entry: stored.TimelineEntry) -> str:
    """A reminder or overdue alert the scan sent, and to whom."""
    role = role_of_chat(state.config, state.staff_channel, entry.chat_id, state.staff_channel)
    # An escalation rung may go to a chat with no role here (the head's, the Sekda's).
    chat = role_display(state.config, role, state.t("role_supervisor")) if role else entry.chat_id
    chat = chat or "-"
    if entry.action in ("reminder", "resolution_reminder"):
        key = f"notice_{entry.action}"
        return state.t(key, stage=entry.text.removesuffix("h"), chat=chat)
    if entry.action.endswith("escalation"):  # the key's stage is "step2"
        return state.t("notice_escalation", stage=entry.text.removeprefix("step"), chat=chat)
    return state.t(f"notice_{entry.action}", chat=chat)


def _viewer(state: _Desk) -> desk.Viewer:
    """Shows this request's tickets to its signed-in role."""
    return desk.Viewer(state.config, state.user().role, state.clock(), state.language())


def _status_label(state: _Desk, status: str) -> str:
    return say(state.language(), f"staff_status_{status}")


def _when(state: _Desk, moment: datetime) -> str:
    return format_time(moment, state.config.service.timezone, state.language())


def _actions_for(role: Role, ticket: Ticket) -> list[str]:
    """The actions worth offering on this ticket's page (the core still checks)."""
    if not ticket.is_open:
        return ["note"]
    if not ticket.agency_id:  # at dispatch
        return ["transfer", "reply", "ask", "reject", "note"]
    if ticket.status == Status.AWAITING_VALIDATION:
        return ["reply", "note"] if role.kind == AGENCY else ["accept", "send_back", "note"]
    offered = ["reply", "ask", "claim", "resolve", "transfer", "bounce", "reject", "note"]
    if ticket.claimed_by:
        offered.remove("claim")
    return offered


_EXPORT_COLUMNS = (
    ("col_number", "number"),
    ("col_status", "status_label"),
    ("col_category", "category"),
    ("col_agency", "agency"),
    ("col_citizen", "citizen"),
    ("col_channel", "channel"),
    ("col_description", "description"),
    ("col_address", "address"),
    ("col_created", "created"),
    ("col_deadline", "deadline"),
    ("col_first_response", "first_response"),
)
_EXPORT_NAMES = [name for _, name in _EXPORT_COLUMNS]
# In XLSX these columns are real dates, read from the view's moments.
_EXPORT_TIMES = {
    "created": "created_at",
    "deadline": "deadline_at",
    "first_response": "first_response_at",
}


def _export(state: _Desk, kind: str, views: Iterator[desk.TicketView]) -> Response:
    heading = [state.t(key) for key, _ in _EXPORT_COLUMNS]
    day = state.clock().astimezone(state.config.service.tz).date().isoformat()
    if kind == "csv":

        def rows() -> Iterator[str]:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(heading)
            for shown in views:
                writer.writerow([_cell(getattr(shown, name)) for name in _EXPORT_NAMES])
                if buffer.tell() > 64 * 1024:
                    yield buffer.getvalue()
                    buffer.seek(0)
                    buffer.truncate()
            yield buffer.getvalue()

        response = Response(stream_with_context(rows()), mimetype="text/csv; charset=utf-8")
        response.headers["Content-Disposition"] = f'attachment; filename="tiket-{day}.csv"'
        return response
    # Up to XLSX_IN_MEMORY_ROWS the workbook is built in memory (fastest); a bigger export
    # is written row by row to temporary files (constant_memory), so memory stays flat up
    # to the 100,000-row cap.
    with _no_collection():
        first = list(itertools.islice(views, XLSX_IN_MEMORY_ROWS + 1))
        small = len(first) <= XLSX_IN_MEMORY_ROWS
        output = _workbook(state, heading, itertools.chain(first, views), small)
    response = send_file(
        output,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=f"tiket-{day}.xlsx",
    )
    return response


@contextlib.contextmanager
def _no_collection() -> Iterator[None]:
    """No cyclic garbage collection while a workbook is built: its 100,000s of cells are
    small acyclic objects, and the collections they would set off cost a fifth of the
    export's time. (Process-wide for a second; whichever export ends last turns it back
    on when it was on.)"""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _workbook(
    state: _Desk, heading: list[str], views: Iterator[desk.TicketView], small: bool
) -> io.BytesIO:
    """The list as an XLSX workbook: the heading, then one row per ticket."""
    import xlsxwriter

    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        output, {"in_memory": True} if small else {"constant_memory": True}
    )
    sheet = workbook.add_worksheet("Tiket")
    bold = workbook.add_format({"bold": True})
    # times as real dates (sortable, filterable) in the service's zone, named in the heading
    when = workbook.add_format({"num_format": "d mmm yyyy hh:mm"})
    zone = format_time(state.clock(), state.config.service.timezone).rsplit(" ", 1)[-1]
    titles = [
        f"{title} ({zone})" if name in _EXPORT_TIMES else title
        for title, name in zip(heading, _EXPORT_NAMES, strict=True)
    ]
    sheet.write_row(0, 0, titles, bold)
    for name in _EXPORT_TIMES:
        sheet.set_column(_EXPORT_NAMES.index(name), _EXPORT_NAMES.index(name), 17)
    write, write_number, tz = sheet.write_string, sheet.write_number, state.config.service.tz
    for row, shown in enumerate(views, start=1):
        for column, name in enumerate(_EXPORT_NAMES):
            moment_of = _EXPORT_TIMES.get(name)
            if moment_of is None:  # text (write_string never makes a formula)
                write(row, column, str(getattr(shown, name)))
            elif (moment := getattr(shown, moment_of)) is not None:
                write_number(row, column, _excel_day(moment, tz), when)
    workbook.close()
    output.seek(0)
    return output


_UNIX_EPOCH_IN_EXCEL = 25569  # 1970-01-01 as an Excel (1900 system) day number


def _excel_day(moment: datetime, tz: tzinfo) -> float:
    """A moment as Excel's date number in the zone `tz` (days since 1899-12-30, the time
    as the fraction): what write_datetime computes, at a fraction of its cost."""
    offset = moment.astimezone(tz).utcoffset()
    local_seconds = moment.timestamp() + (offset.total_seconds() if offset else 0.0)
    return local_seconds / 86400 + _UNIX_EPOCH_IN_EXCEL


# Files a citizen sent that a browser may show inline; anything else is a download.
_INLINE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "audio/", "video/")


def _served_file(response: Response) -> Response:
    """A citizen's file, served so that it cannot run as part of the desk: never sniffed,
    sandboxed, and downloaded unless it is a picture, a sound or a video."""
    if not response.mimetype.startswith(_INLINE_TYPES):
        response.headers["Content-Disposition"] = "attachment"
        response.mimetype = "application/octet-stream"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response.headers["Cache-Control"] = "no-store"
    return response


def _cell(value: object) -> str:
    """A CSV cell: text that a spreadsheet would run as a formula is quoted."""
    return str(spreadsheet_safe(str(value)))


# --------------------------------------------------------------------------
# The plug-in: the phone channel and the desk's pages
# --------------------------------------------------------------------------


class DeskChannel:
    """The web desk: the call center's phone channel, and the pages staff sign in to."""

    name = PHONE
    secrets: tuple[str, ...] = ()
    hosts_staff = False
    external = False  # no outside provider: the console's clock may still be moved

    def off_reason(self, config: Config, environ: Mapping[str, str]) -> str | None:
        return None if config.desk.enabled else "desk.enabled is false"

    def build(self, wiring: Wiring) -> Built:
        blueprint = desk_blueprint(
            wiring.config,
            wiring.databases,
            wiring.clock,
            wiring.staff_channel,
            wiring.delivery.wake,
            wiring.senders,
            wiring.ingest,
        )
        return Built(PhoneSender(), [blueprint], [])


CHANNEL = DeskChannel()
