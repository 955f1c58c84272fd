"""Channels as plug-ins: what a chat channel gives the service, and what it gets.

A channel (Telegram, WhatsApp through Twilio, and next a second WhatsApp provider or
the web desk) is one module in handlers/ that exposes a `CHANNEL` object with:

- `name`: the channel name stored on chats and outbox rows ("telegram");
- `secrets`: the environment variables that must never reach a log line;
- `hosts_staff`: whether agency groups, dispatch and supervisors can sit on it;
- `external`: whether it talks to an outside provider (the web desk's phone channel
  does not; while an external one is on, the console cannot move the clock);
- `off_reason(config, environ)`: why it cannot run with this config and environment
  (None when it can), shown in the log and on /healthz;
- `build(wiring)`: its parts, from the shared ones in `Wiring`: a `Sender` for its
  outbox rows, the Flask blueprints of its webhooks, and the background runtimes
  (pollers, media fetchers) that `serve` starts and stops.

The composition root (`run_bot.py`) keeps the one list of channels and wires them;
nothing else names them. The local console is not a plug-in: it is always there on
loopback, and it is the staff channel when no channel that hosts staff is on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bot.config import Config
from bot.model import Attachment

if TYPE_CHECKING:
    from flask import Blueprint

    from handlers.delivery import Delivery, Sender
    from handlers.ingest import Ingest
    from storage.clock import ServiceClock
    from storage.connections import Databases


class Runtime(Protocol):
    """A background part of a channel (a poller, a media fetcher)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class Wiring:
    """The shared parts a channel is built from."""

    config: Config
    environ: Mapping[str, str]
    databases: Databases
    ingest: Ingest
    delivery: Delivery
    clock: ServiceClock
    staff_channel: str
    media_dir: Path
    senders: Mapping[str, Sender]  # every channel's sender, filled as they are built
    options: Mapping[str, object] = field(default_factory=dict)  # test hooks, by name

    def staff_file(self, attachment: Attachment) -> tuple[bytes, str]:
        """The bytes and type of a file staff sent on the staff channel (looked up when
        needed, so the staff channel may be built after the channel asking)."""
        download: Callable[[Attachment], tuple[bytes, str]] | None = getattr(
            self.senders.get(self.staff_channel), "download", None
        )
        if download is None:
            raise LookupError(f"the staff channel {self.staff_channel} keeps no files")
        return download(attachment)


@dataclass
class Built:
    """A channel's parts, as `Channel.build` returns them."""

    sender: Sender
    blueprints: list[Blueprint] = field(default_factory=list)
    runtimes: list[Runtime] = field(default_factory=list)


@runtime_checkable
class Channel(Protocol):
    """What a channel module's `CHANNEL` provides (see the module docstring)."""

    name: str
    secrets: tuple[str, ...]
    hosts_staff: bool
    external: bool  # talks to an outside provider (then the console's clock stays real)

    def off_reason(self, config: Config, environ: Mapping[str, str]) -> str | None: ...

    def build(self, wiring: Wiring) -> Built: ...
