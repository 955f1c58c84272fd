"""The service's SQLite connections: one per thread, opened on first use."""

from __future__ import annotations

import threading
from pathlib import Path

import sqlite_utils

from storage.db import Checkpoints, background_checkpoints, open_database


class Databases:
    """One SQLite connection per thread (waitress serves from a thread pool)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        open_database(self.path).close()  # create the file and migrate once, up front
        self.checkpoints: Checkpoints | None = None

    def get(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = open_database(self.path)
            if self.checkpoints is not None:  # they run in the background, not on commits
                background_checkpoints(db)
            self._local.db = db
        return db

    def checkpoint_in_background(self) -> Checkpoints:
        """From now on, connections opened here leave WAL checkpoints to one background
        thread, so no webhook's COMMIT waits for one (call before serving)."""
        if self.checkpoints is None:
            self.checkpoints = Checkpoints(self.path)
            self.checkpoints.start()
        return self.checkpoints
