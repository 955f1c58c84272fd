"""The nightly backup `serve` writes (docs/contract.md §12), and what it last did.

At `backup.time` (service time zone) it writes a checked backup into `backup.directory`
(`storage/backup.py`: online copy, integrity check, media files), keeps the newest
`backup.keep`, and says so in the log; `/healthz` shows the last result. A failure is
logged as an error and shown too; the next night tries again.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from storage.backup import BackupError, prune, prune_media, write_backup
from storage.clock import Clock

log = logging.getLogger("iceta.backup")


@dataclass(frozen=True)
class BackupResult:
    at: datetime
    ok: bool
    file: str = ""
    size: int = 0
    problem: str = ""


class NightlyBackup:
    """One backup run at a time; the last result for /healthz."""

    def __init__(
        self, database: Path, media_dir: Path, directory: Path, keep: int, clock: Clock
    ) -> None:
        self.database = database
        self.media_dir = media_dir
        self.directory = directory
        self.keep = keep
        self.clock = clock
        self.last: BackupResult | None = None
        self._running = threading.Lock()

    def run(self) -> BackupResult | None:
        """Write, check and prune; None when a run is already going."""
        if not self._running.acquire(blocking=False):
            return None
        try:
            now = self.clock()
            try:
                written = write_backup(self.database, self.media_dir, self.directory, now)
            except (BackupError, OSError) as error:
                self.last = BackupResult(now, False, problem=str(error)[:300])
                log.error("nightly backup failed: %s", error)
                return self.last
            removed = prune(self.directory, self.keep)
            unreferenced = prune_media(self.directory)
            self.last = BackupResult(now, True, str(written.path), written.size)
            log.info(
                "nightly backup written: %s (%.1f MB, integrity check ok, %d media files "
                "copied, %d old backups and %d media files no backup refers to removed)",
                written.path,
                written.size / 1e6,
                written.media_copied,
                len(removed),
                unreferenced,
            )
            return self.last
        finally:
            self._running.release()

    def health(self) -> dict[str, Any]:
        """What /healthz says of the backups."""
        last = self.last
        shown: dict[str, Any] = {"keep": self.keep}  # no path: /healthz may be public
        if last is None:
            shown["last"] = None
        else:
            shown["last"] = {
                "at": last.at.isoformat(),
                "ok": last.ok,
                "file": Path(last.file).name if last.file else "",
                "integrity_check": "ok" if last.ok else "",
                "problem": last.problem,
            }
        return shown
