"""The extraction's durable memory: one SQLite file in the workspace (``source_state/exact.sqlite``).

Every page is committed in one transaction together with the link to the next page, so a process
killed at any moment resumes at the first page it had not stored and never asks for a stored page
again; a day-capped run resumes the same way the next day. The file also keeps the extracted
records (a delta run updates them in place), the deletions ``sync/Deleted`` reported or an ID
sweep found (with the ids swept so far, so a sweep resumes too), each
stream's delta watermark, the 4xx errors per endpoint (the error budget must survive restarts,
research note exact.md §2), what the rate limits looked like at the last call (so the next process
does not start by overrunning the minute), and endpoints a division turned out not to have.

Durability: WAL journal with ``synchronous=FULL`` (a commit is on disk before we move on). The
file is created readable by its owner only: it holds patient data.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

__all__ = ["Checkpoints", "Run", "StreamState"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, started REAL NOT NULL,
                                 finished REAL);
CREATE TABLE IF NOT EXISTS streams (run_id INTEGER NOT NULL, name TEXT NOT NULL, next_url TEXT,
                                    pages INTEGER NOT NULL DEFAULT 0, records INTEGER NOT NULL DEFAULT 0,
                                    done INTEGER NOT NULL DEFAULT 0, watermark TEXT,
                                    PRIMARY KEY (run_id, name));
CREATE TABLE IF NOT EXISTS pages (run_id INTEGER NOT NULL, stream TEXT NOT NULL, url TEXT NOT NULL,
                                  records INTEGER NOT NULL, fetched REAL NOT NULL);
CREATE TABLE IF NOT EXISTS records (object TEXT NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL,
                                    seen_run INTEGER NOT NULL, PRIMARY KEY (object, key));
CREATE TABLE IF NOT EXISTS marks (object TEXT PRIMARY KEY, watermark TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deletions (run_id INTEGER NOT NULL, object TEXT NOT NULL, key TEXT NOT NULL,
                                      deleted_at TEXT, deleted_by TEXT);
CREATE TABLE IF NOT EXISTS errors (endpoint TEXT NOT NULL, at REAL NOT NULL, status INTEGER NOT NULL,
                                   message TEXT);
CREATE TABLE IF NOT EXISTS settings (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS swept (run_id INTEGER NOT NULL, object TEXT NOT NULL, key TEXT NOT NULL,
                                  PRIMARY KEY (run_id, object, key));
"""


@dataclass
class Run:
    id: int
    kind: str  # "full" or "delta"
    resumed: bool


@dataclass
class StreamState:
    next_url: str | None
    pages: int
    records: int
    done: bool
    watermark: str | None


class Checkpoints:
    """Open (creating if needed) the checkpoint file at ``path``."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)
        # files made before deletions said how they were found gain the column in place
        if "found_by" not in {r[1] for r in self.db.execute("PRAGMA table_info(deletions)")}:
            self.db.execute("ALTER TABLE deletions ADD COLUMN found_by TEXT")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Checkpoints":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _tx(self):
        return _Transaction(self.db)

    # --- runs and streams -----------------------------------------------------------------------
    def open_run(self, *, delta_allowed: bool) -> Run | None:
        """The unfinished run to resume, else a new one (full the first time, delta after).

        Returns None when a full extraction exists and ``delta_allowed`` is false: nothing to do.
        """
        row = self.db.execute("SELECT id, kind FROM runs WHERE finished IS NULL ORDER BY id DESC LIMIT 1").fetchone()
        if row:
            return Run(row[0], row[1], True)
        has_full = self.db.execute("SELECT 1 FROM runs WHERE kind = 'full' AND finished IS NOT NULL").fetchone()
        if has_full and not delta_allowed:
            return None
        cur = self.db.execute("INSERT INTO runs (kind, started) VALUES (?, ?)",
                              ("delta" if has_full else "full", time.time()))
        return Run(cur.lastrowid, "delta" if has_full else "full", False)

    def finish_run(self, run: Run) -> None:
        self.db.execute("UPDATE runs SET finished = ? WHERE id = ?", (time.time(), run.id))

    def last_finished_run(self) -> tuple[int, str, float] | None:
        return self.db.execute("SELECT id, kind, finished FROM runs WHERE finished IS NOT NULL "
                               "ORDER BY id DESC LIMIT 1").fetchone()

    def stream(self, run: Run, name: str) -> StreamState:
        row = self.db.execute("SELECT next_url, pages, records, done, watermark FROM streams "
                              "WHERE run_id = ? AND name = ?", (run.id, name)).fetchone()
        if row is None:
            return StreamState(None, 0, 0, False, None)
        return StreamState(row[0], row[1], row[2], bool(row[3]), row[4])

    def commit_page(self, run: Run, name: str, url: str, rows: list[tuple[str, dict]], next_url: str | None,
                    watermark: str | None, settings: dict[str, Any] | None = None, *, replace: bool = False) -> None:
        """Store one page's records and where to continue, atomically and durably.

        The last page (``next_url`` None) also finishes the stream in the same transaction: see
        :meth:`finish_stream` for ``replace``.
        """
        with self._tx():
            self._upsert(name, rows, run.id)
            self._page(run, name, url, len(rows), next_url, watermark)
            self._settings(settings or {})
            if next_url is None:
                self._finish(run, name, replace)

    def commit_deletions(self, run: Run, name: str, url: str, entries: list[dict], removals: list[tuple[str, str]],
                         next_url: str | None, watermark: str | None, settings: dict[str, Any] | None = None) -> None:
        """One page of ``sync/Deleted``: remove the stored records it names and remember each removal."""
        with self._tx():
            for entry, (obj, key) in zip(entries, removals):
                gone = self.db.execute("DELETE FROM records WHERE object = ? AND key = ?", (obj, key)).rowcount
                if gone:
                    self.db.execute("INSERT INTO deletions (run_id, object, key, deleted_at, deleted_by, found_by) "
                                    "VALUES (?, ?, ?, ?, ?, 'sync/Deleted')",
                                    (run.id, obj, key, entry.get("DeletedDate"), entry.get("DeletedBy")))
            self._page(run, name, url, len(entries), next_url, watermark)
            self._settings(settings or {})
            if next_url is None:
                self._finish(run, name, False)

    def commit_sweep(self, run: Run, name: str, obj: str, url: str, keys: list[str], next_url: str | None,
                     settings: dict[str, Any] | None = None) -> None:
        """One page of an ID sweep of ``obj`` (every id the source still has).

        The last page settles the sweep in the same transaction: every stored record of ``obj``
        whose id the sweep did not see is gone from the source, so it is removed from the stored
        copy and recorded as a deletion found by the sweep.
        """
        with self._tx():
            self.db.executemany("INSERT OR IGNORE INTO swept VALUES (?, ?, ?)", [(run.id, obj, k) for k in keys])
            self._page(run, name, url, len(keys), next_url, None)
            self._settings(settings or {})
            if next_url is None:
                gone = [k for (k,) in self.db.execute(
                    "SELECT key FROM records WHERE object = ? AND key NOT IN "
                    "(SELECT key FROM swept WHERE run_id = ? AND object = ?) ORDER BY rowid", (obj, run.id, obj))]
                self.db.executemany("INSERT INTO deletions (run_id, object, key, found_by) VALUES (?, ?, ?, 'ID sweep')",
                                    [(run.id, obj, k) for k in gone])
                self.db.executemany("DELETE FROM records WHERE object = ? AND key = ?", [(obj, k) for k in gone])
                self.db.execute("DELETE FROM swept WHERE run_id = ? AND object = ?", (run.id, obj))
                self._finish(run, name, False)

    def _upsert(self, obj: str, rows: Iterable[tuple[str, dict]], run_id: int) -> None:
        # ON CONFLICT keeps the rowid, so a record keeps its place in the table it first appeared in
        self.db.executemany(
            "INSERT INTO records (object, key, data, seen_run) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (object, key) DO UPDATE SET data = excluded.data, seen_run = excluded.seen_run",
            [(obj, key, json.dumps(rec, ensure_ascii=False), run_id) for key, rec in rows])

    def _page(self, run: Run, name: str, url: str, n: int, next_url: str | None, watermark: str | None) -> None:
        self.db.execute("INSERT INTO pages VALUES (?, ?, ?, ?, ?)", (run.id, name, url, n, time.time()))
        self.db.execute(
            "INSERT INTO streams (run_id, name, next_url, pages, records, done, watermark) "
            "VALUES (?, ?, ?, 1, ?, ?, ?) "
            "ON CONFLICT (run_id, name) DO UPDATE SET next_url = excluded.next_url, pages = pages + 1, "
            "records = records + excluded.records, done = excluded.done, "
            "watermark = COALESCE(excluded.watermark, watermark)",
            (run.id, name, next_url, n, 0, watermark))

    def finish_stream(self, run: Run, name: str, *, replace: bool) -> None:
        """Mark a stream read to the end and move its watermark forward; ``replace`` drops records
        of a fully re-read object that this run did not see (they are gone from the source)."""
        with self._tx():
            self._finish(run, name, replace)

    def _finish(self, run: Run, name: str, replace: bool) -> None:
        self.db.execute("INSERT INTO streams (run_id, name, done) VALUES (?, ?, 1) "
                        "ON CONFLICT (run_id, name) DO UPDATE SET done = 1, next_url = NULL", (run.id, name))
        wm = self.db.execute("SELECT watermark FROM streams WHERE run_id = ? AND name = ?",
                             (run.id, name)).fetchone()[0]
        if wm is not None:
            self.db.execute("INSERT INTO marks VALUES (?, ?) ON CONFLICT (object) DO UPDATE SET "
                            "watermark = excluded.watermark", (name, wm))
        if replace:
            self.db.execute("DELETE FROM records WHERE object = ? AND seen_run <> ?", (name, run.id))

    def mark(self, name: str) -> str | None:
        row = self.db.execute("SELECT watermark FROM marks WHERE object = ?", (name,)).fetchone()
        return row[0] if row else None

    def pages(self, run_id: int | None = None) -> list[tuple[int, str, str]]:
        q = "SELECT run_id, stream, url FROM pages" + (" WHERE run_id = ?" if run_id else "") + " ORDER BY rowid"
        return self.db.execute(q, (run_id,) if run_id else ()).fetchall()

    # --- records ------------------------------------------------------------------------------------
    def records(self, obj: str) -> list[dict]:
        return [json.loads(d) for (d,) in self.db.execute(
            "SELECT data FROM records WHERE object = ? ORDER BY rowid", (obj,))]

    def deletions(self, run_id: int | None = None) -> list[dict]:
        q = "SELECT run_id, object, key, deleted_at, deleted_by, found_by FROM deletions"
        rows = self.db.execute(q + (" WHERE run_id = ?" if run_id else "") + " ORDER BY rowid",
                               (run_id,) if run_id else ()).fetchall()
        return [{"run": r, "object": o, "key": k, "deleted_at": at, "deleted_by": by, "found_by": how}
                for r, o, k, at, by, how in rows]

    # --- the error budget and settings ----------------------------------------------------------
    def add_error(self, endpoint: str, status: int, message: str, at: float) -> None:
        self.db.execute("INSERT INTO errors VALUES (?, ?, ?, ?)", (endpoint, at, status, message[:500]))

    def errors_since(self, endpoint: str, since: float) -> list[float]:
        return [t for (t,) in self.db.execute("SELECT at FROM errors WHERE endpoint = ? AND at > ? ORDER BY at",
                                             (endpoint, since))]

    def setting(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT v FROM settings WHERE k = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_settings(self, values: dict[str, Any]) -> None:
        with self._tx():
            self._settings(values)

    def _settings(self, values: dict[str, Any]) -> None:
        self.db.executemany("INSERT INTO settings VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                            [(k, json.dumps(v)) for k, v in values.items()])


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, *_):
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
