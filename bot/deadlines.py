"""Response deadlines (docs/contract.md §6): reminders before the deadline, overdue alerts
after it, breaches that stay with the late agency, and the numbers supervisors
read — the daily digest, `/overdue` and `/stats`.

Pure policy: time comes in as `now`, tickets come from the store. Which reminder
stage or overdue round is due is decided once, by the scan's queries
(storage/deadlines.py), where they also skip what was already said. The scan in
handlers/deadlines.py hands those (ticket, stage) pairs here, records each
`Notice` (so nothing is said twice, even by two processes) and lets `announce` say
the fresh ones, all in one transaction.

A ticket's clock belongs to its current assignment (`assigned_at`): a transfer
starts a new one, so reminders and alerts are keyed by it; a pause for the
citizen pushes `deadline_at` back (bot/lifecycle.py) without starting a new one.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from bot.cards import refresh_card
from bot.config import Config
from bot.model import Assignment, Status, Ticket
from bot.session import Session
from bot.timefmt import format_date, format_duration

# Notice kinds, as recorded in the notices table.
REMINDER = "reminder"
OVERDUE = "overdue"
ESCALATION = "escalation"
BREACH = "breach"
DIGEST = "digest"
RESOLUTION_REMINDER = "resolution_reminder"
RESOLUTION_OVERDUE = "resolution_overdue"
RESOLUTION_ESCALATION = "resolution_escalation"


@dataclass(frozen=True)
class Clock:
    """One of a ticket's two deadlines (docs/contract.md §6, §14): the first response,
    and the fix. Each has its own notice kinds, so each is reminded, alerted and
    escalated once per assignment, and its own words in the staff messages."""

    name: str  # "response" | "resolution", as storage/deadlines.py names it
    reminder: str
    overdue: str
    escalation: str

    def deadline(self, ticket: Ticket) -> datetime:
        moment = ticket.deadline_at if self.name == "response" else ticket.resolution_deadline_at
        assert moment is not None
        return moment

    def breach_key(self, ticket: Ticket) -> str:
        return cycle(ticket) if self.name == "response" else f"resolution@{cycle(ticket)}"

    def text_key(self, key: str) -> str:
        """The catalog key of one of its messages: `reminder_header` for the response,
        `resolution_reminder_header` for the fix."""
        return key if self.name == "response" else f"resolution_{key}"


RESPONSE = Clock("response", REMINDER, OVERDUE, ESCALATION)
RESOLUTION = Clock("resolution", RESOLUTION_REMINDER, RESOLUTION_OVERDUE, RESOLUTION_ESCALATION)
CLOCKS = (RESPONSE, RESOLUTION)


def escalation_label(index: int) -> str:
    """`step1` for the first rung of `sla.escalation` (its notice-key stage)."""
    return f"step{index + 1}"


# The staff channel's limit for one text message, in UTF-16 code units (the
# strictest staff chat app allows 4096).
MESSAGE_LIMIT = 4096
# Tickets one chat hears about per scan and kind; the rest follow a scan later.
# Keeps a backlog to a few messages a minute (staff chat apps allow ~20 per group).
MAX_TICKETS_PER_CHAT = 40
# Tickets listed by /overdue; the rest are counted.
MAX_LISTED = 200
# Resolved tickets closed per scan, so one transaction stays short.
MAX_AUTO_CLOSE = 100
# Room kept in the first line for the part marker, e.g. " (12/13)".
_PART_ROOM = " (999/999)"


# --------------------------------------------------------------------------
# The keys notices are recorded under, and closing unconfirmed tickets
# --------------------------------------------------------------------------


def cycle(ticket: Ticket) -> str:
    """The ticket's current assignment as text (UTC, microseconds, as stored).

    Reminders and alerts are recorded once per assignment: a transfer starts a
    new one, so the new agency gets its own reminders.
    """
    assert ticket.assigned_at is not None
    return ticket.assigned_at.astimezone(UTC).isoformat(timespec="microseconds")


def notice_key(stage: str | int, ticket: Ticket) -> str:
    """The notices-table key of one stage of the ticket's current assignment."""
    return f"{stage}@{cycle(ticket)}"


def reminder_label(offset: timedelta) -> str:
    """`12h` for a reminder 12 hours before the deadline."""
    return f"{offset / timedelta(hours=1):g}h"


def confirmation_expired(ticket: Ticket, now: datetime, window: timedelta) -> bool:
    """A resolved ticket the citizen did not confirm within `window`."""
    return (
        ticket.status == Status.RESOLVED
        and ticket.resolved_at is not None
        and now - ticket.resolved_at >= window
    )


# --------------------------------------------------------------------------
# Planning a scan: which notices, to which chats
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """One thing to tell one chat about one ticket; recorded once, then said."""

    kind: str
    ticket: Ticket
    key: str
    chat_id: str
    clock: Clock  # which deadline it is about
    step: int = -1  # the escalation rung, for an escalation notice


@dataclass(frozen=True)
class ClockDue:
    """What storage found due on one clock at one scan."""

    clock: Clock
    reminders: Sequence[tuple[Ticket, str]] = ()
    overdue: Sequence[tuple[Ticket, int]] = ()
    escalations: Sequence[tuple[Ticket, str]] = ()


def reminders_wait(config: Config, now: datetime) -> bool:
    """Whether reminders hold until the offices open (`sla.remind_outside_hours` off and
    `now` outside office hours): the stage still due then is sent at opening."""
    return not config.sla.remind_outside_hours and not config.working_calendar.is_open(now)


@dataclass
class NoticePlan:
    """What a scan would say, and how many tickets wait for the next scan per chat."""

    notices: list[Notice] = field(default_factory=list)
    deferred: Counter[tuple[str, str]] = field(default_factory=Counter)


def plan_notices(
    session: Session,
    reminders_due: Iterable[tuple[Ticket, str]],
    overdue_due: Iterable[tuple[Ticket, int]],
    clock: Clock = RESPONSE,
    escalations_due: Iterable[tuple[Ticket, str]] = (),
    plan: NoticePlan | None = None,
) -> NoticePlan:
    """Decide who hears the reminders, overdue alerts and escalations of one `clock`
    due at `session.now` (added to `plan` when given).

    Which stage is due is storage's to say (`storage/deadlines.py` computes it where
    it skips what was already said): a reminder comes with its label (`12h`), an
    overdue ticket with its round, an escalation with its rung (`step1`). Reminders
    go to the ticket's agency group. An overdue round goes to every supervisor chat
    and to the agency group, with a breach notice the first time. An escalation rung
    goes to its own chats. Each chat hears about at most `MAX_TICKETS_PER_CHAT`
    tickets per scan and kind, most urgent first; the rest are counted in `deferred`.
    """
    config = session.config
    plan = plan if plan is not None else NoticePlan()

    def urgency(item: tuple[Ticket, object]) -> tuple[datetime, int]:
        return _urgency(item[0], clock)

    by_chat: dict[str, list[tuple[Ticket, str]]] = {}
    for ticket, label in reminders_due:
        by_chat.setdefault(session.agency_chat(ticket.agency_id), []).append((ticket, label))
    for chat_id, due in by_chat.items():
        due.sort(key=urgency)
        for ticket, label in due[:MAX_TICKETS_PER_CHAT]:
            key = notice_key(label, ticket)
            plan.notices.append(Notice(clock.reminder, ticket, key, chat_id, clock))
        if len(due) > MAX_TICKETS_PER_CHAT:
            plan.deferred[(clock.reminder, chat_id)] = len(due) - MAX_TICKETS_PER_CHAT

    late = sorted(overdue_due, key=urgency)
    supervisors = config.supervisors.staff_chats
    for index, (ticket, round_) in enumerate(late):
        chats = [*supervisors, session.agency_chat(ticket.agency_id)]
        if index >= MAX_TICKETS_PER_CHAT:
            plan.deferred.update((clock.overdue, chat_id) for chat_id in chats)
            continue
        key = notice_key(round_, ticket)
        plan.notices.extend(Notice(clock.overdue, ticket, key, chat_id, clock) for chat_id in chats)
        plan.notices.append(Notice(BREACH, ticket, clock.breach_key(ticket), "", clock))

    steps = config.sla.escalation
    per_step: dict[str, list[Ticket]] = {}
    for ticket, label in escalations_due:
        per_step.setdefault(label, []).append(ticket)
    for index, step in enumerate(steps):
        label = escalation_label(index)
        due_now = sorted(per_step.get(label, []), key=lambda t: _urgency(t, clock))
        for position, ticket in enumerate(due_now):
            if position >= MAX_TICKETS_PER_CHAT:
                plan.deferred.update((clock.escalation, chat) for chat in step.staff_chats)
                continue
            key = notice_key(label, ticket)
            plan.notices.extend(
                Notice(clock.escalation, ticket, key, chat, clock, index)
                for chat in step.staff_chats
            )
    return plan


def _urgency(ticket: Ticket, clock: Clock = RESPONSE) -> tuple[datetime, int]:
    assert ticket.id is not None
    return clock.deadline(ticket), ticket.id


# --------------------------------------------------------------------------
# Saying it: batched messages, split under the staff channel's limit
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One ticket's entry in a batched message (or a closing remark, without ticket).

    `group` is a heading (e.g. the agency) shown before the first line of each
    group in every message the group appears in.
    """

    text: str
    ticket: Ticket | None = None
    group: str = ""


def text_length(text: str) -> int:
    """Length as chat apps count it (UTF-16 code units: an emoji may count 2)."""
    return len(text.encode("utf-16-le")) // 2


def compose(
    lines: Sequence[Line],
    render: Callable[[Sequence[Line], str], str],
    part_label: Callable[[int, int], str],
    limit: int = MESSAGE_LIMIT,
) -> list[tuple[str, list[Line]]]:
    """Pack `lines`, in order, into as few messages as fit in `limit`.

    `render(lines, part)` builds one message (header, grouped lines, footer);
    `part_label(index, total)` the marker put in it when there are several.
    Returns each message's text with the lines it holds.
    """
    parts: list[list[Line]] = [[]]
    for line in lines:
        candidate = [*parts[-1], line]
        if text_length(render(candidate, _PART_ROOM)) <= limit:
            parts[-1] = candidate
            continue
        alone = _fit(line, render, limit)
        if parts[-1]:
            parts.append([alone])
        else:
            parts[-1] = [alone]
    total = len(parts)
    return [
        (render(part, part_label(index, total) if total > 1 else ""), part)
        for index, part in enumerate(parts, start=1)
        if part or total == 1
    ]


def _fit(line: Line, render: Callable[[Sequence[Line], str], str], limit: int) -> Line:
    """The line, shortened if even alone it would not fit in one message."""
    text = line.text
    while text and text_length(render([Line(text, line.ticket, line.group)], _PART_ROOM)) > limit:
        text = text[: max(0, len(text) - max(16, len(text) // 8))]
    return Line(text.rstrip() + ("…" if text != line.text else ""), line.ticket, line.group)


def _grouped(lines: Sequence[Line]) -> list[str]:
    out: list[str] = []
    group = None
    for line in lines:
        if line.group and line.group != group:
            out.append(line.group)
        group = line.group
        out.append(line.text)
    return out


def _tickets(lines: Iterable[Line]) -> list[Ticket]:
    return [line.ticket for line in lines if line.ticket is not None]


def _part(session: Session) -> Callable[[int, int], str]:
    return lambda index, total: session.staff_text("part", index=index, total=total)


def _hours(session: Session) -> str:
    return f"{session.config.sla.response_hours:g}"


def _limit(session: Session, clock: Clock) -> str:
    """How a header names the deadline: `24` (hours) for the response; for the fix, the
    words for a resolution deadline."""
    if clock.name == "response":
        return _hours(session)
    return session.staff_text("resolution_limit")


def _category(session: Session, ticket: Ticket) -> str:
    return session.category_label(ticket.category_id, session.staff_language)


def _left(session: Session, ticket: Ticket, clock: Clock = RESPONSE) -> str:
    return format_duration(clock.deadline(ticket) - session.now, session.staff_language)


def _late(session: Session, ticket: Ticket, clock: Clock = RESPONSE) -> str:
    return format_duration(session.now - clock.deadline(ticket), session.staff_language)


def _reply_footer(session: Session, tickets: Sequence[Ticket]) -> str:
    if len(tickets) == 1:
        return session.staff_text("batch_reply_one", number=session.number(tickets[0]))
    return session.staff_text("batch_reply_many")


def _tell_agency_batch(
    session: Session,
    chat_id: str,
    header_key: str,
    lines: list[Line],
    topic: str,
    count: int,
    clock: Clock = RESPONSE,
) -> None:
    """Tell an agency group about several of its tickets: a reply to a message that
    lists exactly one ticket answers its citizen; otherwise staff use /balas."""

    def render(part: Sequence[Line], marker: str) -> str:
        head = session.staff_text(
            clock.text_key(header_key), count=count, hours=_limit(session, clock), part=marker
        )
        body = _grouped(part)
        return "\n".join([head, *body, _reply_footer(session, _tickets(part))])

    for text, part in compose(lines, render, _part(session)):
        tickets = _tickets(part)
        session.tell_staff(chat_id, text, tickets[0] if len(tickets) == 1 else None, topic=topic)


def _reminder_lines(
    session: Session, tickets: Sequence[Ticket], deferred: int, clock: Clock = RESPONSE
) -> list[Line]:
    # One ticket: the footer already says how to answer it; several: a line each.
    several = len(tickets) > 1
    lines = [
        Line(
            session.staff_text(
                "reminder_item",
                number=session.number(ticket),
                category=_category(session, ticket),
                left=_left(session, ticket, clock),
                deadline=session.time(clock.deadline(ticket)),
            )
            + (
                "\n" + session.staff_text("reply_line", number=session.number(ticket))
                if several
                else ""
            ),
            ticket,
        )
        for ticket in sorted(tickets, key=lambda t: _urgency(t, clock))
    ]
    if deferred:
        lines.append(Line(session.staff_text("more_next_scan", count=deferred)))
    return lines


def _overdue_lines(
    session: Session,
    tickets: Sequence[Ticket],
    *,
    grouped: bool,
    reply_lines: bool,
    clock: Clock = RESPONSE,
) -> list[Line]:
    """Overdue tickets, most late first; grouped by agency (agencies by their most late)."""
    ordered = sorted(tickets, key=lambda t: _urgency(t, clock))
    if grouped:
        first_seen: dict[str, int] = {}
        for index, ticket in enumerate(ordered):
            first_seen.setdefault(ticket.agency_id, index)
        ordered.sort(key=lambda t: (first_seen[t.agency_id], _urgency(t, clock)))
    per_agency = Counter(ticket.agency_id for ticket in ordered)
    lines = []
    for ticket in ordered:
        text = session.staff_text(
            "overdue_item",
            number=session.number(ticket),
            category=_category(session, ticket),
            late=_late(session, ticket, clock),
        )
        if reply_lines:
            text += "\n" + session.staff_text("reply_line", number=session.number(ticket))
        group = ""
        if grouped:
            group = session.staff_text(
                "overdue_agency",
                agency=session.agency_name(ticket.agency_id),
                count=per_agency[ticket.agency_id],
            )
        lines.append(Line(text, ticket, group))
    return lines


def _tell_overdue_list(
    session: Session,
    chat_id: str,
    tickets: Sequence[Ticket],
    closing: str,
    count: int,
    clock: Clock = RESPONSE,
    header: Callable[[str], str] | None = None,
) -> None:
    """The supervisors' view: every overdue ticket, grouped by agency, no reply target.
    `header(part)` replaces the usual first line (an escalation names its rung)."""
    lines = _overdue_lines(session, tickets, grouped=True, reply_lines=False, clock=clock)
    if closing:
        lines.append(Line(closing))

    def render(part: Sequence[Line], marker: str) -> str:
        head = (
            header(marker)
            if header is not None
            else session.staff_text(
                clock.text_key("overdue_header"),
                count=count,
                hours=_limit(session, clock),
                part=marker,
            )
        )
        return "\n".join([head, *_grouped(part)])

    # Never carries a ticket: a supervisor's reply to an alert must not reach a citizen.
    for text, _ in compose(lines, render, _part(session)):
        session.tell_staff(chat_id, text, topic="overdue")


@dataclass(frozen=True)
class Announced:
    """What a scan said: tickets reminded, tickets alerted as overdue, breaches recorded,
    escalation notices sent (either clock)."""

    reminded: int = 0
    alerted: int = 0
    breached: int = 0
    escalated: int = 0


def announce(
    session: Session, fresh: Sequence[Notice], deferred: Counter[tuple[str, str]]
) -> Announced:
    """Say the notices just recorded: one batch per chat and kind, breaches as events."""
    batches: dict[tuple[str, str], list[Notice]] = {}
    breached = 0
    for notice in fresh:
        if notice.kind == BREACH:
            record_breach(session, notice.ticket, notice.clock)
            breached += 1
        else:
            batches.setdefault((notice.kind, notice.chat_id), []).append(notice)
    for (kind, chat_id), notices in batches.items():
        clock = notices[0].clock
        tickets = [notice.ticket for notice in notices]
        more = deferred[(kind, chat_id)]
        if kind == clock.reminder:
            lines = _reminder_lines(session, tickets, more, clock)
            _tell_agency_batch(
                session, chat_id, "reminder_header", lines, "reminder", len(tickets), clock
            )
        elif kind == clock.overdue:
            _tell_overdue(session, chat_id, tickets, more, clock)
        else:
            _tell_escalation(session, chat_id, notices, more)
    reminders = {RESPONSE.reminder, RESOLUTION.reminder}
    alerts = {RESPONSE.overdue, RESOLUTION.overdue}
    escalations = {RESPONSE.escalation, RESOLUTION.escalation}
    return Announced(
        reminded=len({(n.kind, n.ticket.id) for n in fresh if n.kind in reminders}),
        alerted=len({(n.kind, n.ticket.id) for n in fresh if n.kind in alerts}),
        breached=breached,
        escalated=len({(n.kind, n.key, n.ticket.id) for n in fresh if n.kind in escalations}),
    )


def _tell_overdue(
    session: Session, chat_id: str, tickets: list[Ticket], more: int, clock: Clock
) -> None:
    if session.config.is_supervisor_chat(chat_id):
        closing = session.staff_text("more_next_scan", count=more) if more else ""
        _tell_overdue_list(session, chat_id, tickets, closing, len(tickets), clock)
        return
    lines = _overdue_lines(
        session, tickets, grouped=False, reply_lines=len(tickets) > 1, clock=clock
    )
    if more:
        lines.append(Line(session.staff_text("more_next_scan", count=more)))
    _tell_agency_batch(
        session, chat_id, "overdue_agency_header", lines, "overdue", len(tickets), clock
    )


def _tell_escalation(session: Session, chat_id: str, notices: list[Notice], more: int) -> None:
    """One rung of the ladder to one chat: the tickets it escalates, grouped by agency,
    as the supervisors' overdue list (no reply target), one message per rung."""
    by_step: dict[int, list[Ticket]] = {}
    for notice in notices:
        by_step.setdefault(notice.step, []).append(notice.ticket)
    clock = notices[0].clock
    steps = session.config.sla.escalation
    for step, tickets in sorted(by_step.items()):
        after = steps[step].after if 0 <= step < len(steps) else None
        waited = format_duration(after, session.staff_language) if after else ""

        key = "escalation_header" if waited else "escalation_header_at_deadline"
        values = {
            "step": step + 1,
            "count": len(tickets),
            "deadline": session.staff_text(f"escalation_{clock.name}"),
            "after": waited,
        }

        def header(marker: str, key: str = key, values: dict[str, object] = values) -> str:
            return session.staff_text(key, part=marker, **values)

        closing = session.staff_text("more_next_scan", count=more) if more else ""
        _tell_overdue_list(session, chat_id, tickets, closing, len(tickets), clock, header)


def record_breach(session: Session, ticket: Ticket, clock: Clock = RESPONSE) -> None:
    """The agency missed a deadline: an event that stays with it after a transfer. Its
    detail says which deadline (`response` or `resolution`) and when it was."""
    session.record(
        ticket,
        "system",
        "breached",
        from_status=ticket.status,
        detail=f"{clock.name} {session.time(clock.deadline(ticket))}",
    )
    session.store.save_ticket(ticket)
    refresh_card(session, ticket)  # the card says it is late, edited in place


def overdue_now(session: Session) -> list[Ticket]:
    """Every ticket overdue at `session.now`, most late first: what `/overdue`, `/stats`
    and the digest count."""
    tickets = session.store.overdue_tickets(session.now)
    return [ticket for ticket in tickets if ticket.is_late(session.now)]


def resolution_overdue_now(session: Session) -> list[Ticket]:
    """Every ticket past its resolution deadline with the fix still owed, most late first."""
    tickets = session.store.overdue_tickets(session.now, RESOLUTION.name)
    return [ticket for ticket in tickets if ticket.is_resolution_late(session.now)]


def tell_overdue(session: Session, chat_id: str) -> None:
    """`/overdue`: every ticket overdue now, grouped by agency, most late first."""
    tickets = overdue_now(session)
    if not tickets:
        session.tell_staff(chat_id, session.staff_text("overdue_none"))
        return
    shown = tickets[:MAX_LISTED]
    hidden = len(tickets) - len(shown)
    closing = session.staff_text("more_not_listed", count=hidden) if hidden else ""
    _tell_overdue_list(session, chat_id, shown, closing, len(tickets))


# --------------------------------------------------------------------------
# The numbers: received, answered in time, overdue now, median first response
# --------------------------------------------------------------------------


def response_verdict(assignment: Assignment, now: datetime) -> bool | None:
    """True: answered by the deadline; False: the deadline was missed; None: still running
    (or moved on before its deadline without an answer)."""
    if assignment.breached:
        return False
    if assignment.first_response_at is not None:
        if assignment.deadline_at is not None:
            return assignment.first_response_at <= assignment.deadline_at
        return True
    if assignment.awaiting and assignment.deadline_at is not None:
        return False if now >= assignment.deadline_at else None
    return None


@dataclass(frozen=True)
class ResponseStats:
    """One agency's numbers over one window of assignments."""

    received: int = 0
    decided: int = 0  # answered, or past the deadline
    on_time: int = 0
    median_response: timedelta | None = None
    p90_response: timedelta | None = None  # nearest rank: 9 in 10 were answered this fast

    @property
    def on_time_percent(self) -> int | None:
        return round(100 * self.on_time / self.decided) if self.decided else None


def response_stats(assignments: Iterable[Assignment], now: datetime) -> ResponseStats:
    """Received, answered within the deadline (of those decided) and the median time
    from assignment to first response."""
    received = decided = on_time = 0
    response_times: list[timedelta] = []
    for assignment in assignments:
        received += 1
        verdict = response_verdict(assignment, now)
        if verdict is not None:
            decided += 1
            on_time += verdict
        if assignment.first_response_at is not None:
            response_times.append(assignment.first_response_at - assignment.assigned_at)
    if not response_times:
        return ResponseStats(received, decided, on_time)
    response_times.sort()
    median = statistics.median_low(response_times)
    p90 = response_times[math.ceil(0.9 * len(response_times)) - 1]
    return ResponseStats(received, decided, on_time, median, p90)


@dataclass(frozen=True)
class Window:
    """A span of time the numbers are counted over, with its catalog label."""

    label: str
    start: datetime
    end: datetime


def digest_windows(day: date, config: Config) -> list[Window]:
    """Yesterday and the seven days before `day`, midnight to midnight in the service time zone."""
    midnight = datetime.combine(day, time(0), tzinfo=config.service.tz)
    return [
        Window("window_yesterday", _days_before(midnight, 1), midnight),
        Window("window_week", _days_before(midnight, 7), midnight),
    ]


def _days_before(midnight: datetime, days: int) -> datetime:
    # Calendar days, so a day with a DST change still starts at midnight.
    earlier = midnight.date() - timedelta(days=days)
    return datetime.combine(earlier, time(0), tzinfo=midnight.tzinfo)


def rolling_windows(now: datetime) -> list[Window]:
    """The last 24 hours and the last 7 days up to `now` (for /stats)."""
    return [
        Window("window_day", now - timedelta(days=1), now),
        Window("window_days", now - timedelta(days=7), now),
    ]


def digest_day(now: datetime, config: Config) -> date | None:
    """The day whose digest is due at `now`: today once `supervisors.digest_time` has
    passed in the service time zone, else None (a day's digest is never sent late
    into the next day)."""
    local = now.astimezone(config.service.tz)
    return local.date() if local.time() >= config.supervisors.digest_at else None


def _report_lines(session: Session, windows: Sequence[Window]) -> list[Line]:
    """Per agency: overdue now, then one line per window."""
    store, now = session.store, session.now
    start = min(window.start for window in windows)
    end = max(window.end for window in windows)
    assignments = store.assignments_between(start, end)
    overdue = Counter(ticket.agency_id for ticket in overdue_now(session))
    unfixed = Counter(ticket.agency_id for ticket in resolution_overdue_now(session))
    lines: list[Line] = []
    quiet: list[str] = []
    for agency in session.config.agencies:
        mine = [a for a in assignments if a.agency_id == agency.id]
        if not mine and not overdue[agency.id] and not unfixed[agency.id]:
            quiet.append(agency.display)
            continue
        group = session.staff_text(
            "report_agency", agency=agency.display, overdue=overdue[agency.id]
        )
        if unfixed[agency.id]:  # the second deadline: fixes owed past their day
            group += session.staff_text("report_resolution_overdue", count=unfixed[agency.id])
        for window in windows:
            stats = response_stats(
                (a for a in mine if window.start <= a.assigned_at < window.end), now
            )
            lines.append(Line(_window_line(session, window, stats), group=group))
    if lines and quiet:
        lines.append(Line(session.staff_text("report_quiet", agencies=", ".join(quiet))))
    return lines


def _window_label(session: Session, window: Window) -> str:
    """The window's name, with the calendar days it covers (its end is exclusive)."""
    language = session.staff_language
    tz = session.config.service.tz
    first = window.start.astimezone(tz).date()
    last = (window.end.astimezone(tz) - timedelta(microseconds=1)).date()
    return session.staff_text(
        window.label, first=format_date(first, language), last=format_date(last, language)
    )


def _window_line(session: Session, window: Window, stats: ResponseStats) -> str:
    language = session.staff_language
    if stats.decided:
        answered = session.staff_text(
            "report_answered",
            on_time=stats.on_time,
            decided=stats.decided,
            hours=_hours(session),
            percent=stats.on_time_percent,
        )
    else:
        answered = session.staff_text("report_answered_none")
    median = (
        format_duration(stats.median_response, language)
        if stats.median_response is not None
        else "-"
    )
    return session.staff_text(
        "report_window",
        window=_window_label(session, window),
        received=stats.received,
        answered=answered,
        median=median,
    )


def _tell_report(
    session: Session,
    chat_ids: Sequence[str],
    header: Callable[[str], str],
    windows: list[Window],
    empty: str,
    after: Sequence[Line] = (),
) -> None:
    lines = _report_lines(session, windows) or [Line(empty)]
    lines += after

    def render(part: Sequence[Line], marker: str) -> str:
        return "\n".join([header(marker), *_grouped(part)])

    for text, _ in compose(lines, render, _part(session)):
        for chat_id in chat_ids:
            session.tell_staff(chat_id, text, topic="digest")


def send_digest(session: Session, day: date, chat_ids: Sequence[str]) -> None:
    """The daily digest for `day` to the given supervisor chats."""
    language = session.staff_language
    service = session.config.service.name

    windows = digest_windows(day, session.config)
    week = next(w for w in windows if w.label == "window_week")
    period = _window_label(session, Window("digest_period", week.start, week.end))

    def header(marker: str) -> str:
        shown_day = format_date(day, language)
        return session.staff_text(
            "digest_header", service=service, day=shown_day, part=marker, period=period
        )

    # Tickets received today are counted tomorrow; say so, or a digest sent on the day
    # of the first tickets reads as if there were none.
    today = {a.ticket_id for a in session.store.assignments_between(week.end, session.now)}
    after = (
        [Line(session.staff_text("digest_today", count=len(today), when=session.time(session.now)))]
        if today
        else []
    )
    empty = session.staff_text("digest_none", period=period)
    _tell_report(session, chat_ids, header, windows, empty, after)


def tell_stats(session: Session, chat_id: str) -> None:
    """`/stats`: the digest's numbers over the last 24 hours and 7 days, as of now."""
    service = session.config.service.name
    when = session.time(session.now)

    def header(marker: str) -> str:
        return session.staff_text("stats_header", service=service, when=when, part=marker)

    _tell_report(
        session, [chat_id], header, rolling_windows(session.now), session.staff_text("stats_none")
    )
