"""Delivery in a process of its own, beside the web process.

Sending a reply through python-telegram-bot or twilio costs a few milliseconds
of interpreter time each; in the web process that time is taken from the
webhooks (one interpreter runs one thread at a time), so under a flood of
complaints every reply sent slowed the intake. `serve` therefore forks, before
it opens the database or starts a thread, a process that only drains the
outbox. It shares nothing with the web process but the database file:

- the web process commits rows to the outbox and writes the channel names to a
  pipe (a wake-up; the delivery loops also look every second on their own);
- the delivery process leases rows in its own name, so after a crash the next
  start takes back only the leases of a process that is really gone;
- when the web process ends, even by SIGKILL, the pipe closes and the delivery
  process finishes the message in hand and exits;
- when the delivery process dies, the web process logs it and delivers itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Collection

log = logging.getLogger(__name__)

ALL = "*"

Wake = Callable[[Collection[str] | None], None]
Relay = Callable[[Wake], None]  # passes the web process's wake-ups on until it is gone


class _Stop(Exception):
    """SIGTERM in the delivery process."""


class DeliveryProcess:
    """The parent's handle on the forked delivery process."""

    def __init__(self, pid: int, wake_fd: int) -> None:
        self.pid = pid
        self._wake_fd = wake_fd
        self._fd_lock = threading.Lock()  # a closed fd's number is soon another file's
        self._stopping = False
        self._exited = threading.Event()
        self.exit_status: int | None = None
        self._on_death: Callable[[], None] = lambda: None
        self._watcher: threading.Thread | None = None
        # Wake-ups are gathered and written by one thread: under a flood of webhooks
        # many become one line on the pipe, and no webhook thread waits on a syscall.
        self._wanted: set[str] = set()
        self._wanted_lock = threading.Lock()
        self._kick = threading.Event()
        self._writer = threading.Thread(target=self._write_wakes, name="delivery-wake", daemon=True)
        self._writer.start()

    @classmethod
    def fork(cls, run_delivery: Callable[[Relay], object]) -> DeliveryProcess:
        """Fork; the child calls `run_delivery(relay)` and exits.

        Call before this process opens the database or starts any thread: the child
        must not inherit SQLite's state of open files, nor locks held by threads that
        do not exist in it. `run_delivery` builds its own connections and senders,
        starts delivering, calls `relay(wake)` (which passes the web process's
        wake-ups to `wake` and returns when the web process is gone or SIGTERM
        came), then stops delivering.
        """
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the delivery process
            status = 0
            try:
                os.close(write_fd)
                _run_child(read_fd, run_delivery)
            except BaseException:
                log.exception("the delivery process failed")
                status = 1
            finally:
                logging.shutdown()
                os._exit(status)
        os.close(read_fd)
        os.set_blocking(write_fd, False)
        return cls(pid, write_fd)

    def watch(self, on_death: Callable[[], None]) -> None:
        """Call `on_death` (from a thread) if the delivery process exits unasked."""
        self._on_death = on_death
        self._watcher = threading.Thread(target=self._wait, name="delivery-watch", daemon=True)
        self._watcher.start()

    def wake(self, channels: Collection[str] | None = None) -> None:
        """Tell the delivery process that rows of `channels` (None: any) are waiting."""
        with self._wanted_lock:
            self._wanted.update((ALL,) if channels is None else channels)
        self._kick.set()

    def _write_wakes(self) -> None:
        """The one writer of the pipe: what was asked for since its last line."""
        while True:
            self._kick.wait()
            self._kick.clear()
            with self._wanted_lock:
                wanted, self._wanted = self._wanted, set()
            if not wanted:
                continue
            names = ALL if ALL in wanted else " ".join(sorted(wanted))
            with self._fd_lock:
                if self._wake_fd < 0:
                    return  # stopping
                try:
                    os.write(self._wake_fd, names.encode() + b"\n")  # under PIPE_BUF: one piece
                except BlockingIOError:
                    pass  # the pipe is full: wake-ups are already waiting to be read
                except OSError:
                    pass  # the process is gone: the watcher takes over

    def shutting_down(self) -> None:
        """From now on an exit of the delivery process is expected (serve is stopping;
        SIGTERM may well reach both processes)."""
        self._stopping = True

    def stop(self, timeout: float = 20.0) -> None:
        """Close the pipe (the process finishes the message in hand) and wait for it."""
        self._stopping = True
        with self._fd_lock:
            fd, self._wake_fd = self._wake_fd, -1
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._kick.set()  # the writer sees the pipe closed and ends
        if self._watcher is None:
            self._wait()
        if not self._exited.wait(timeout):
            log.warning("the delivery process did not stop in %.0f s; terminating it", timeout)
            _signal(self.pid, signal.SIGTERM)
            if not self._exited.wait(5):
                _signal(self.pid, signal.SIGKILL)
                self._exited.wait(5)

    def _wait(self) -> None:
        try:
            _, status = os.waitpid(self.pid, 0)
        except ChildProcessError:
            status = 0
        self.exit_status = status
        self._exited.set()
        if not self._stopping:
            log.error(
                "the delivery process %s exited (status %s); this process delivers now",
                self.pid,
                status,
            )
            self._on_death()


def _signal(pid: int, number: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, number)


def _run_child(read_fd: int, run_delivery: Callable[[Relay], object]) -> None:
    # Ctrl-C in a terminal reaches the whole process group: the web process stops
    # and closes the pipe, which stops this one after the message in hand.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def on_term(signum: int, frame: object) -> None:
        raise _Stop

    signal.signal(signal.SIGTERM, on_term)
    pipe = os.fdopen(read_fd, "rb", buffering=0)

    def relay(wake: Wake) -> None:
        pending = b""
        try:
            while True:
                data = pipe.read(4096)
                if not data:
                    return  # EOF: the web process ended
                lines, _, pending = (pending + data).rpartition(b"\n")
                if lines:  # whole lines only: a read may end inside one
                    names = set(lines.decode(errors="replace").split())
                    wake(None if ALL in names else names)
        except _Stop:
            return

    log.info("delivery process %s started", os.getpid())
    run_delivery(relay)
    log.info("delivery process %s stopped", os.getpid())
