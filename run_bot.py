"""I-Ceta Bot: the command line and the composition root.

This is the one place that reads the config file and the environment and
wires the core, the storage and the edges together.

    python run_bot.py serve [--config PATH]
    python run_bot.py check-config [--config PATH]
    python run_bot.py check-deadlines [--config PATH] [--now ISO8601]
"""

from __future__ import annotations

import _thread
import argparse
import functools
import importlib
import logging
import os
import pkgutil
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from bot.config import Config, ConfigError, load_config

if TYPE_CHECKING:
    from apscheduler.schedulers.background import BackgroundScheduler
    from flask import Flask

    from handlers.backups import NightlyBackup
    from handlers.channels import Channel, Runtime
    from handlers.delivery import Delivery
    from handlers.delivery_process import DeliveryProcess
    from handlers.ingest import Ingest
    from handlers.replication import ReplicaSupervisor
    from handlers.web import Channels
    from storage.clock import ServiceClock
    from storage.connections import Databases

R = TypeVar("R")

log = logging.getLogger("iceta")


@dataclass
class Service:
    """Everything `serve` runs, built from config and environment."""

    config: Config
    app: Flask
    ingest: Ingest
    delivery: Delivery
    scheduler: BackgroundScheduler
    channels: Channels
    databases: Databases
    clock: ServiceClock  # the service clock (the local console may fast-forward it)
    # each channel's background parts (pollers, media fetchers), started by serve
    runtimes: dict[str, list[Runtime]] = field(default_factory=dict)
    backups: NightlyBackup | None = None  # with backup.directory set
    replication: ReplicaSupervisor | None = None  # with replication.url; started by serve only

    def runtime(self, channel: str, kind: type[R]) -> R | None:
        """The running part of `kind` that `channel` has, if any."""
        return next((r for r in self.runtimes.get(channel, []) if isinstance(r, kind)), None)


@functools.cache
def channel_plugins() -> tuple[Channel, ...]:
    """The one registry of channels: every module in handlers/ that exposes a `CHANNEL`
    (handlers/channels.py says what it provides), in module-name order. A new channel
    is a new module; nothing here changes."""
    import handlers

    found = []
    for module in sorted(pkgutil.iter_modules(handlers.__path__), key=lambda m: m.name):
        plugin = getattr(importlib.import_module(f"handlers.{module.name}"), "CHANNEL", None)
        if plugin is not None:
            found.append(plugin)
    return tuple(found)


def secret_variables() -> tuple[str, ...]:
    """Every channel's secrets and the metrics token: never written to a log line."""
    from handlers import metrics

    channels = tuple(name for channel in channel_plugins() for name in channel.secrets)
    return channels + tuple(metrics.SECRETS) + REPLICA_SECRETS


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """The secrets' values, and each comma-separated part of one (a list of API keys),
    so that one key of a list is redacted on its own too."""
    values = [environ.get(name, "") for name in secret_variables()]
    parts = [part.strip() for value in values if "," in value for part in value.split(",")]
    return values + parts


class RedactSecrets(logging.Filter):
    """Replaces every secret from the environment in log lines, tracebacks included."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = [secret for secret in secrets if len(secret) >= 6]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            record.msg = self.redact(record.getMessage())
            record.args = ()
            if record.exc_info and not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            if record.exc_text:
                record.exc_text = self.redact(record.exc_text)
        return True


def configure_logging(environ: Mapping[str, str]) -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every request URL at INFO, and Bot API URLs carry the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    redaction = RedactSecrets(secret_values(environ))
    for handler in logging.getLogger().handlers:
        handler.addFilter(redaction)


def redact_config_secrets(config: Config) -> None:
    """A password written into `replication.url` (s3://key:secret@…) is a secret too:
    kept out of every log line, Litestream's relayed ones included."""
    from urllib.parse import urlsplit

    password = urlsplit(config.replication.url).password if config.replication.url else None
    if not password:
        return
    from urllib.parse import unquote

    for handler in logging.getLogger().handlers:
        for found in handler.filters:
            if isinstance(found, RedactSecrets):
                found.secrets += [p for p in {password, unquote(password)} if len(p) >= 6]


def config_path(argument: str | None, environ: Mapping[str, str]) -> Path:
    return Path(argument or environ.get("ICETA_CONFIG") or "config.yaml")


def database_path(config: Config, base_dir: Path) -> Path:
    """The database file; a relative `service.database` is relative to `base_dir`."""
    return resolved(config.service.database, base_dir)


def resolved(path: str, base_dir: Path) -> Path:
    """A path from the config; a relative one is relative to `base_dir`."""
    given = Path(path)
    return given if given.is_absolute() else base_dir / given


def backup(config: Config, directory: str) -> int:
    """`backup DIR`: a checked copy of the database and the media files, beside `serve`."""
    from storage.backup import BackupError, write_backup

    database = database_path(config, Path.cwd())
    try:
        written = write_backup(
            database, database.parent / "media", Path(directory), datetime.now(UTC)
        )
    except (BackupError, OSError) as error:
        print(f"backup failed: {error}", file=sys.stderr)
        return 1
    print(written.path)
    log.info(
        "backup written: %s (%.1f MB, integrity check ok, %d media files copied)",
        written.path,
        written.size / 1e6,
        written.media_copied,
    )
    return 0


def restore(config: Config, file: str | None, from_replica: bool) -> int:
    """`restore FILE` (or `--from-replica`): the backup in place of the database, refused
    while `serve` runs on it (exit 2)."""
    from storage.backup import BackupError, ServeRunning, restore_backup

    database = database_path(config, Path.cwd())
    if from_replica:
        from handlers.replication import restore_from_replica

        return restore_from_replica(config, database)
    if not file:
        print("restore needs a backup FILE (or --from-replica)", file=sys.stderr)
        return 2
    try:
        kept = restore_backup(Path(file), database, database.parent / "media", datetime.now(UTC))
    except ServeRunning as error:
        print(str(error), file=sys.stderr)
        return 2
    except (BackupError, OSError) as error:
        print(f"restore failed: {error}", file=sys.stderr)
        return 1
    print(f"restored {file} to {database}")
    if kept != database:
        print(f"the database it replaced is kept as {kept}")
    return 0


def decide_channels(config: Config, environ: Mapping[str, str]) -> Channels:
    """Which channels run, from the config and the environment (and why the others do not)."""
    from bot.model import LOCAL
    from handlers.web import Channels

    local_on = config.service.local_console_enabled
    channels = Channels(local=local_on)
    for channel in channel_plugins():
        reason = channel.off_reason(config, environ)
        channels.on[channel.name] = reason is None
        if channel.external:
            channels.external.add(channel.name)
        if reason is not None:
            channels.reasons[channel.name] = reason
    if not local_on:
        channels.reasons[LOCAL] = (
            f"service.host {config.service.host} is not loopback and service.local_console is not true"
        )
    return channels


def build_service(
    config: Config,
    environ: Mapping[str, str],
    base_dir: Path,
    options: Mapping[str, object] | None = None,
) -> Service:
    """Wire the pieces for `serve` (and for tests that run the real thing in-process).

    `options` reach every channel's `build` (test hooks, such as a channel's rate limits).
    """
    from apscheduler.schedulers.background import BackgroundScheduler

    from bot.model import LOCAL, PHONE
    from handlers.channels import Wiring
    from handlers.console import console_blueprint
    from handlers.deadlines import DeadlineJobs
    from handlers.delivery import Delivery, Sender
    from handlers.ingest import Ingest
    from handlers.local import LocalSender
    from handlers.web import create_app
    from storage.clock import ServiceClock, simulated_offset
    from storage.connections import Databases
    from storage.housekeeping import forget_old_deliveries
    from storage.retention import retention_job

    database = database_path(config, base_dir)
    databases = Databases(database)
    channels = decide_channels(config, environ)
    plugins = [c for c in channel_plugins() if channels.is_on(c.name)]
    # Staff sit on the first channel that can host them, else on the local console.
    staff_channel = next((c.name for c in plugins if c.hosts_staff), LOCAL)

    senders: dict[str, Sender] = {LOCAL: LocalSender()}
    clock = ServiceClock()
    if channels.local and not channels.any_provider:
        # the console's simulation survives a restart (else tickets look created later)
        clock.offset = simulated_offset(databases.get())
    delivery = Delivery(databases, config, senders, staff_channel=staff_channel, clock=clock)
    ingest = Ingest(
        databases, config, staff_channel=staff_channel, clock=clock, on_queued=delivery.wake
    )
    wiring = Wiring(
        config,
        environ,
        databases,
        ingest,
        delivery,
        clock,
        staff_channel,
        media_dir=database.parent / "media",
        senders=senders,
        options=options or {},
    )
    blueprints = []
    runtimes: dict[str, list[Runtime]] = {}
    for plugin in plugins:
        built = plugin.build(wiring)
        senders[plugin.name] = built.sender
        blueprints += built.blueprints
        runtimes[plugin.name] = built.runtimes
    backups = None
    health_parts: dict[str, Callable[[], object]] = {}
    if config.backup.directory:
        from handlers.backups import NightlyBackup

        backups = NightlyBackup(
            database,
            database.parent / "media",
            resolved(config.backup.directory, base_dir),
            config.backup.keep,
            lambda: datetime.now(
                UTC
            ),  # real time: the console's simulated clock would misorder names
        )
        health_parts["backup"] = backups.health
    replication = None
    if config.replication.url:  # built here (no side effect), started by serve after the fork
        from handlers.replication import ReplicaSupervisor

        replication = ReplicaSupervisor(database, config.replication.url, environ=environ)
        health_parts["replication"] = replication.health
    app = create_app(
        config,
        databases,
        ingest,
        channels,
        local_console_open=bool(config.service.local_console),
        staff_channel=staff_channel,
        extra_blueprints=tuple(blueprints),
        clock=clock,
        metrics_token=environ.get("ICETA_METRICS_TOKEN") or None,
        health_parts=health_parts,
    )
    if config.public.enabled:
        from handlers.public import public_blueprint

        app.register_blueprint(public_blueprint(config, databases, clock))
    scheduler = BackgroundScheduler(timezone=config.service.timezone)
    scheduler.add_job(
        forget_old_deliveries,
        "interval",
        hours=6,
        args=[databases],
        id="forget-old-deliveries",
        replace_existing=True,
        max_instances=1,
        coalesce=True,
    )
    # Privacy (docs/contract.md §9): closed tickets lose personal data after the retention period.
    scheduler.add_job(
        retention_job,
        "cron",
        hour=2,
        minute=30,
        args=[databases, config.privacy.retention, clock],
        id="retention",
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=6 * 3600,
    )
    # Deadlines (docs/contract.md §6): what is due is derived from ticket rows and each
    # notice is recorded, so the first runs right at start catch up on anything
    # that came due while the service was down, and nothing is said twice.
    deadline_jobs = DeadlineJobs(
        databases, config, staff_channel, clock=clock, on_queued=delivery.wake
    )
    started = datetime.now(UTC)
    scheduler.add_job(
        deadline_jobs.scan,
        "interval",
        minutes=1,
        id="deadline-scan",
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        next_run_time=started,
    )
    scheduler.add_job(
        deadline_jobs.digest,
        "cron",
        hour=config.supervisors.digest_at.hour,
        minute=config.supervisors.digest_at.minute,
        id="daily-digest",
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
        next_run_time=started,
    )
    if channels.local:

        def simulate() -> dict[str, int] | None:
            """The console moved the clock: run what the scheduler would have run by now;
            what the scan did, or None when it failed (the log says why)."""
            report = deadline_jobs.scan()
            deadline_jobs.digest()
            if report is None:
                return None
            return {
                "reminders": report.reminders,
                "overdue_alerts": report.overdue_alerts,
                "auto_closed": report.auto_closed,
            }

        app.register_blueprint(
            console_blueprint(
                config,
                clock,
                databases,
                None if channels.any_provider else simulate,
                desk_on=channels.is_on(PHONE) and staff_channel == LOCAL,
            )
        )

    if backups is not None:
        scheduler.add_job(
            backups.run,
            "cron",
            hour=config.backup.at.hour,
            minute=config.backup.at.minute,
            id="nightly-backup",
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )
    return Service(
        config,
        app,
        ingest,
        delivery,
        scheduler,
        channels,
        databases,
        clock,
        runtimes,
        backups,
        replication,
    )


_OFF = ("", "0", "false", "no", "off")
# The replica's credentials, as Litestream reads them from the environment.
REPLICA_SECRETS = (
    "LITESTREAM_ACCESS_KEY_ID",
    "LITESTREAM_SECRET_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)
STOP_GRACE_SECONDS = 20  # deploy/iceta-bot.service gives the whole stop 90 s


def delivery_process_wanted(environ: Mapping[str, str]) -> bool:
    """The delivery process is the default; ICETA_DELIVERY_PROCESS=0 (false, no, off)
    turns it off."""
    setting = environ.get("ICETA_DELIVERY_PROCESS", "").strip().lower()
    return not setting or setting not in _OFF


def fork_delivery_process(config: Config, environ: Mapping[str, str]) -> DeliveryProcess:
    """The delivery process: its own service (connections, senders), only delivering."""
    from handlers.delivery_process import DeliveryProcess, Relay

    channel_plugins()  # their modules are imported before the fork, shared with the child

    def run_delivery(relay: Relay) -> None:
        service = build_service(config, environ, Path.cwd())
        service.delivery.start()
        relay(service.delivery.wake)
        service.delivery.stop()

    return DeliveryProcess.fork(run_delivery)


def settle_heap() -> None:
    """Once everything long-lived is built: move it out of the garbage collector's view
    (gc.freeze), so a collection during a big request (an XLSX export builds 100,000s
    of small objects) does not walk the whole service each time."""
    import gc

    gc.collect()
    gc.freeze()


def deadline_rules(config: Config) -> str:
    """One line for the start-up log: how this config counts deadlines (contract §6, §14)."""
    sla, calendar = config.sla, config.calendar
    hours = "office hours" if sla.response_calendar == "working_hours" else "calendar hours"
    days_off = f"public holidays {calendar.public_holidays or 'none'}, "
    days_off += f"{len(calendar.extra_days_off)} extra days off"
    reminders = "round the clock" if sla.remind_outside_hours else "in office hours only"
    classes = ", ".join(f"{name} {days}" for name, days in sla.resolution_days.items())
    return (
        f"first response in {sla.response_hours:g} {hours} ({days_off}); "
        f"reminders {reminders}; resolution in working days ({classes}); "
        f"escalation {len(sla.escalation)} steps; "
        f"validation {'on' if sla.validate_resolution else 'off'}"
    )


def serve(config: Config, environ: Mapping[str, str]) -> int:
    from storage.backup import held_by_serve

    # While serve (and the delivery process it forks) runs, `restore` keeps off the file.
    with held_by_serve(database_path(config, Path.cwd())):
        return _serve(config, environ)


def _serve(config: Config, environ: Mapping[str, str]) -> int:
    from waitress import create_server

    # By default, with a provider channel on, replies go out from a process of its own
    # (handlers/delivery_process.py; docs/contract.md §7), forked first, before any
    # database or thread: sending through a provider's library then takes no interpreter
    # time from the webhooks. ICETA_DELIVERY_PROCESS=0 keeps everything in this process.
    delivery_process = None
    if delivery_process_wanted(environ):
        channels = decide_channels(config, environ)
        if channels.any_provider:
            from storage.db import open_database

            # Create and migrate the file now, closed again before the fork: the two
            # processes do not race to set it up, and the child inherits no open file.
            open_database(database_path(config, Path.cwd())).close()
            delivery_process = fork_delivery_process(config, environ)
    else:
        log.info("ICETA_DELIVERY_PROCESS=0: replies are sent by this process")
    service = build_service(config, environ, Path.cwd())
    if service.replication is not None:  # after the fork: the child must not supervise it
        from handlers.replication import ReplicationError

        try:
            service.replication.start()
        except ReplicationError as error:
            log.error("replication: %s", error)
            if delivery_process is not None:
                delivery_process.stop()
            return 2
    from bot.conversation import matcher_for
    from bot.model import PHONE

    matcher_for(config)  # built now, not on the first citizen's message
    settle_heap()
    host, port = config.service.host, config.service.port
    for name in service.channels.as_dict():
        if name in service.channels.reasons:
            log.info("channel %s: off (%s)", name, service.channels.reasons[name])
        else:
            log.info("channel %s: on", name)
    from handlers.draining import Draining

    draining = Draining(service.app)  # on SIGTERM: no new requests, those inside finish
    server = create_server(draining, host=host, port=port, threads=8, ident="iceta")
    checkpoints = service.databases.checkpoint_in_background()
    delivery = service.delivery
    if delivery_process is None:
        delivery.start()
    else:
        delivery.forward_wakes(delivery_process.wake)

        def deliver_here() -> None:
            delivery.forward_wakes(None)
            delivery.start()

        delivery_process.watch(on_death=deliver_here)
        log.info("replies are sent by the delivery process %s", delivery_process.pid)
    service.scheduler.start()
    for runtime in (r for parts in service.runtimes.values() for r in parts):
        runtime.start()
    shown_host = f"[{host}]" if ":" in host else host
    log.info("serving on http://%s:%s (health: /healthz)", shown_host, server.effective_port)
    if service.channels.local:
        log.info(
            "try it: open http://%s:%s/try in a browser (citizen, agency group and "
            "supervisors side by side; the JSON API is under /local/)",
            shown_host,
            server.effective_port,
        )
    if service.channels.is_on(PHONE):
        log.info(
            "web desk: http://%s:%s/desk — staff sign in with /dasbor in their chat (its links "
            "point at %s/desk) or the console's Buka dasbor button; phone complaints too",
            shown_host,
            server.effective_port,
            config.service.base_url,
        )
    if config.public.enabled:
        log.info("public page: http://%s:%s/publik", shown_host, server.effective_port)
    if service.backups is not None:
        log.info(
            "nightly backup at %s into %s (the newest %d kept)",
            config.backup.time,
            service.backups.directory,
            config.backup.keep,
        )
    else:
        log.info("nightly backup: off (backup.directory is not set)")
    if service.replication is None:
        log.info("replication: off (replication.url is not set)")
    log.info("deadlines: %s", deadline_rules(config))

    def stop(signum: int, frame: object) -> None:
        """SIGTERM: stop taking requests (503 with Retry-After), let the ones inside
        finish (at most STOP_GRACE_SECONDS), then stop as Ctrl-C does."""
        if draining.stopping:
            return
        log.info("SIGTERM: taking no new requests; %d in flight finish first", draining.inside)
        draining.stop_taking()
        if delivery_process is not None:  # its exit, from here on, is no death to take over
            delivery_process.shutting_down()

        def finish() -> None:
            if not draining.wait_until_idle(STOP_GRACE_SECONDS):
                log.warning(
                    "%d requests still running after %d s", draining.inside, STOP_GRACE_SECONDS
                )
            log.info("requests finished while stopping: %d", draining.finished_while_stopping)
            _thread.interrupt_main()  # KeyboardInterrupt in the server's loop

        threading.Thread(target=finish, name="stopping", daemon=True).start()

    # interrupt_main() raises KeyboardInterrupt only where SIGINT has Python's handler:
    # started in the background (`nohup … &`) SIGINT may be ignored, so give it back.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, stop)
    try:
        server.run()
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        # Stopping now, in order: a second Ctrl-C or SIGTERM must not cut it short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if delivery_process is not None:
            delivery_process.shutting_down()
            delivery.forward_wakes(lambda channels: None)
        for runtime in (r for parts in service.runtimes.values() for r in parts):
            runtime.stop()
        service.scheduler.shutdown(wait=False)
        service.delivery.stop()
        server.close()
        if delivery_process is not None:
            delivery_process.stop()
        if service.replication is not None:
            service.replication.stop()  # after the last writer: its last sync has everything
        checkpoints.stop()
        commits = service.ingest.commits
        if commits.batches:
            log.info(
                "stopped: %d inbound messages committed in %d transactions",
                commits.units,
                commits.batches,
            )
    return 0


def parse_moment(text: str, timezone: tzinfo) -> datetime:
    """`--now`: ISO 8601 with an offset, or without one in the service time zone."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"--now: {text!r} is not an ISO 8601 time, e.g. 2026-11-27T09:00:00+07:00"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=timezone)
    return moment


def check_deadlines(config: Config, environ: Mapping[str, str], now_text: str | None) -> int:
    """One deadline scan as of `--now`, then deliver what is queued with serve's senders.

    Safe beside a running `serve`: the scan is one `BEGIN IMMEDIATE` transaction
    that records every notice it sends, and outbox rows are leased before sending.
    """
    from handlers.deadlines import scan
    from storage.clock import ServiceClock

    try:
        as_of = parse_moment(now_text, config.service.tz) if now_text else datetime.now(UTC)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    service = build_service(config, environ, Path.cwd())
    staff_channel = getattr(service.ingest, "staff_channel", "local")
    report = scan(service.databases.get(), config, as_of, staff_channel)
    clock = service.clock
    if isinstance(clock, ServiceClock) and as_of > clock():
        # Rows queued "as of" a later moment are due only then: deliver as of it.
        clock.advance(as_of - clock())
    service.delivery.drain()
    print(report.summary(config.service.tz))
    return 0


def check_config(path: Path) -> int:
    try:
        load_config(path)
    except ConfigError as error:
        for problem in error.problems:
            print(problem)
        return 2
    print(f"{path}: OK")
    return 0


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(prog="run_bot.py", description="I-Ceta Bot")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("serve", "run the whole service (web server, scheduler, senders)"),
        ("check-config", "validate the config file"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--config", help="config file (default: $ICETA_CONFIG or config.yaml)")
    deadlines_command = commands.add_parser(
        "check-deadlines", help="one deadline scan as of --now, sending what is due"
    )
    deadlines_command.add_argument(
        "--config", help="config file (default: $ICETA_CONFIG or config.yaml)"
    )
    deadlines_command.add_argument(
        "--now",
        metavar="ISO8601",
        help="scan as of this moment (default: now); without an offset, in service.timezone",
    )
    backup_command = commands.add_parser(
        "backup", help="a consistent copy of the database and media files, while serve runs"
    )
    backup_command.add_argument(
        "--config", help="config file (default: $ICETA_CONFIG or config.yaml)"
    )
    backup_command.add_argument("directory", metavar="DIR", help="where to write the backup")
    restore_command = commands.add_parser(
        "restore", help="put a backup in place of the database (not while serve runs)"
    )
    restore_command.add_argument(
        "--config", help="config file (default: $ICETA_CONFIG or config.yaml)"
    )
    restore_command.add_argument("file", metavar="FILE", nargs="?", help="a backup file")
    restore_command.add_argument(
        "--from-replica",
        action="store_true",
        help="the newest state from the Litestream replica at replication.url",
    )
    args = parser.parse_args(argv)
    path = config_path(args.config, environ)
    if args.command == "check-config":
        return check_config(path)
    configure_logging(environ)
    try:
        config = load_config(path)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 2
    redact_config_secrets(config)
    if args.command == "check-deadlines":
        return check_deadlines(config, environ, args.now)
    if args.command == "backup":
        return backup(config, args.directory)
    if args.command == "restore":
        return restore(config, args.file, args.from_replica)
    return serve(config, environ)


if __name__ == "__main__":
    sys.exit(main())
