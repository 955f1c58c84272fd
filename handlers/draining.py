"""A graceful stop: on SIGTERM `serve` stops taking requests, lets the ones in flight
finish, and only then shuts down.

`Draining` wraps the WSGI app. Once `stop_taking()` is called every new request
answers 503 with `Retry-After` (Telegram sends the webhook again; Twilio does when its
webhook URL asks for retries on 5xx, see README; `/healthz` says "stopping", so a load
balancer takes the node out), while the requests already inside run to their end. `wait_until_idle()` returns when none is left, or after a timeout.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.wsgi import ClosingIterator

RETRY_AFTER_SECONDS = 10


class Draining:
    """The app, counting the requests inside it; refusing new ones while stopping."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self._lock = threading.Condition()
        self._inside = 0
        self._stopping = False
        self.finished_while_stopping = 0

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        with self._lock:
            refused = self._stopping
            if not refused:
                self._inside += 1
        if refused:  # /healthz too, so that a load balancer takes this node out
            health = environ.get("PATH_INFO") == "/healthz"
            start_response(
                "503 Service Unavailable",
                [
                    (
                        "Content-Type",
                        "application/json" if health else "text/plain; charset=utf-8",
                    ),
                    ("Retry-After", str(RETRY_AFTER_SECONDS)),
                ],
            )
            if health:
                return [b'{"status": "stopping", "reason": "serve is stopping (SIGTERM)"}\n']
            return [b"stopping: try again shortly\n"]
        try:
            answer = self.app(environ, start_response)
        except BaseException:
            self._left()
            raise
        return ClosingIterator(answer, [self._left])  # counted until the body is sent

    def _left(self) -> None:
        with self._lock:
            self._inside -= 1
            if self._stopping:
                self.finished_while_stopping += 1
            self._lock.notify_all()

    @property
    def stopping(self) -> bool:
        with self._lock:
            return self._stopping

    @property
    def inside(self) -> int:
        with self._lock:
            return self._inside

    def stop_taking(self) -> None:
        with self._lock:
            self._stopping = True

    def wait_until_idle(self, timeout: float) -> bool:
        """True when no request is left inside, False when `timeout` ran out first."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._inside > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            return True
