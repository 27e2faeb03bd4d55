"""The ledger: one SQLite file per workspace that is the audit log, the resume point, the delta
baseline and the rollback script at once.

Tables:
    runs       one row per run (mode, start, end, status, watermark).
    records    source record -> destination id, with the content hash last written.
    journal    every operation: intent first, outcome after (create, update, skip, error,
               delete, provision), with the destination's before/after values.

Rule: write the intent before calling the destination and the outcome after it. An intent
without an outcome means the process died in between; :meth:`Ledger.pending` lists them so that
the engine settles each by looking the record up in the destination — never by creating twice.
The file is created readable by its owner only (it holds patient data) and runs in WAL mode.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

__all__ = ["Ledger", "JournalEntry"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, mode TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
    status TEXT NOT NULL, watermark TEXT, info TEXT
);
CREATE TABLE IF NOT EXISTS records (
    source_object TEXT NOT NULL, source_key TEXT NOT NULL, dest_object TEXT NOT NULL,
    dest_id TEXT NOT NULL, content_hash TEXT, run_id TEXT, updated_at TEXT,
    PRIMARY KEY (source_object, source_key, dest_object)
);
CREATE INDEX IF NOT EXISTS records_dest ON records (dest_object, dest_id);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, ts TEXT NOT NULL,
    op TEXT NOT NULL, state TEXT NOT NULL, source_object TEXT, source_key TEXT,
    dest_object TEXT, dest_id TEXT, reason TEXT, before TEXT, after TEXT, intent_seq INTEGER
);
CREATE INDEX IF NOT EXISTS journal_run ON journal (run_id, seq);
CREATE INDEX IF NOT EXISTS journal_src ON journal (source_object, source_key);
"""

OPS = {"create", "update", "skip", "error", "delete", "restore", "provision"}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class JournalEntry:
    seq: int
    run_id: str
    ts: str
    op: str
    state: str
    source_object: str | None
    source_key: str | None
    dest_object: str | None
    dest_id: str | None
    reason: str | None
    before: Any
    after: Any
    intent_seq: int | None


class Ledger:
    """The workspace's ledger.

    Args:
        path: the SQLite file; created (mode 0600) if missing.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        # FULL: an outcome row must survive a power cut before the next call is made.
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(_SCHEMA)
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                os.chmod(side, 0o600)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- runs ---------------------------------------------------------------------------
    def start_run(self, mode: str, info: dict | None = None) -> str:
        run_id = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self.db.execute(
            "INSERT INTO runs (run_id, mode, started_at, status, info) VALUES (?,?,?,?,?)",
            (run_id, mode, _now(), "running", json.dumps(info or {})),
        )
        return run_id

    def finish_run(self, run_id: str, status: str, watermark: str | None = None, info: dict | None = None) -> None:
        self.db.execute(
            "UPDATE runs SET finished_at=?, status=?, watermark=COALESCE(?, watermark), info=COALESCE(?, info) WHERE run_id=?",
            (_now(), status, watermark, json.dumps(info) if info is not None else None, run_id),
        )

    def runs(self) -> list[dict]:
        cur = self.db.execute("SELECT run_id, mode, started_at, finished_at, status, watermark, info FROM runs ORDER BY started_at")
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, row)) | {"info": json.loads(row[-1] or "{}")} for row in cur]

    def last_run(self, modes: tuple[str, ...] = ("full", "delta", "sample"), status: str = "finished") -> dict | None:
        for run in reversed(self.runs()):
            if run["mode"] in modes and run["status"] == status:
                return run
        return None

    # --- journal ------------------------------------------------------------------------
    def intent(self, run_id: str, op: str, *, source_object: str | None = None, source_key: str | None = None,
               dest_object: str | None = None, dest_id: str | None = None, before: Any = None,
               after: Any = None) -> int:
        """Journal what is about to be done; returns the intent's sequence number."""
        assert op in OPS, op
        cur = self.db.execute(
            "INSERT INTO journal (run_id, ts, op, state, source_object, source_key, dest_object, dest_id, before, after)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)",
            (run_id, _now(), op, "intent", source_object, source_key, dest_object, dest_id,
             _dump(before), _dump(after)),
        )
        return cur.lastrowid

    def outcome(self, intent_seq: int, *, state: str = "done", dest_id: str | None = None, reason: str | None = None,
                after: Any = None, content_hash: str | None = None) -> None:
        """Record the outcome of an intent, and (for a done create/update) the id map, atomically."""
        row = self.db.execute(
            "SELECT run_id, op, source_object, source_key, dest_object, dest_id, before FROM journal WHERE seq=?",
            (intent_seq,),
        ).fetchone()
        run_id, op, sobj, skey, dobj, did, before = row
        did = dest_id or did
        with self.db:
            self.db.execute("BEGIN")
            self.db.execute(
                "INSERT INTO journal (run_id, ts, op, state, source_object, source_key, dest_object, dest_id, reason,"
                " before, after, intent_seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (run_id, _now(), op, state, sobj, skey, dobj, did, reason, before,
                 _dump(after), intent_seq),
            )
            if state == "done" and op in {"create", "update", "restore"} and sobj and did:
                self._map(sobj, skey, dobj, did, content_hash, run_id)
            if state == "done" and op == "delete" and did:
                self.db.execute("DELETE FROM records WHERE dest_object=? AND dest_id=?", (dobj, did))

    def note(self, run_id: str, op: str, *, source_object: str | None = None, source_key: str | None = None,
             dest_object: str | None = None, dest_id: str | None = None, reason: str | None = None,
             after: Any = None) -> None:
        """Journal an operation that involves no destination call (a skip, an error found in planning)."""
        self.db.execute(
            "INSERT INTO journal (run_id, ts, op, state, source_object, source_key, dest_object, dest_id, reason, after)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)",
            (run_id, _now(), op, "done", source_object, source_key, dest_object, dest_id, reason, _dump(after)),
        )

    def note_many(self, run_id: str, op: str, rows: list[tuple[str, str, str | None, str]]) -> None:
        """Journal many (source_object, source_key, dest_object, reason) no-call operations in one transaction."""
        ts = _now()
        with self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT INTO journal (run_id, ts, op, state, source_object, source_key, dest_object, reason)"
                " VALUES (?,?,?,?,?,?,?,?)",
                [(run_id, ts, op, "done", so, sk, do, reason) for so, sk, do, reason in rows],
            )

    def pending(self) -> list[JournalEntry]:
        """Intents with no outcome: the process stopped between the call and its record."""
        return [self._entry(r) for r in self.db.execute(
            "SELECT * FROM journal j WHERE state='intent' AND NOT EXISTS"
            " (SELECT 1 FROM journal o WHERE o.intent_seq = j.seq) ORDER BY seq"
        )]

    def journal(self, run_id: str | None = None) -> Iterator[JournalEntry]:
        sql, args = "SELECT * FROM journal", ()
        if run_id:
            sql, args = sql + " WHERE run_id=?", (run_id,)
        for row in self.db.execute(sql + " ORDER BY seq", args):
            yield self._entry(row)

    # --- the id map ---------------------------------------------------------------------
    def _map(self, sobj, skey, dobj, did, content_hash, run_id) -> None:
        self.db.execute(
            "INSERT INTO records (source_object, source_key, dest_object, dest_id, content_hash, run_id, updated_at)"
            " VALUES (?,?,?,?,?,?,?) ON CONFLICT (source_object, source_key, dest_object) DO UPDATE SET"
            " dest_id=excluded.dest_id, content_hash=COALESCE(excluded.content_hash, records.content_hash),"
            " run_id=excluded.run_id, updated_at=excluded.updated_at",
            (sobj, skey, dobj, did, content_hash, run_id, _now()),
        )

    def set_mapping(self, source_object: str, source_key: str, dest_object: str, dest_id: str,
                    content_hash: str | None, run_id: str) -> None:
        """Record an id mapping found outside a journaled call (e.g. settling a pending intent)."""
        self._map(source_object, source_key, dest_object, dest_id, content_hash, run_id)

    def forget(self, dest_object: str, dest_id: str) -> None:
        self.db.execute("DELETE FROM records WHERE dest_object=? AND dest_id=?", (dest_object, dest_id))

    def id_map(self, source_object: str, dest_object: str | None = None) -> dict[str, tuple[str, str | None]]:
        """source key -> (destination id, content hash) for one source object."""
        sql = "SELECT source_key, dest_id, content_hash FROM records WHERE source_object=?"
        args: tuple = (source_object,)
        if dest_object:
            sql, args = sql + " AND dest_object=?", args + (dest_object,)
        return {k: (d, h) for k, d, h in self.db.execute(sql, args)}

    def fates(self) -> dict[tuple[str, str], tuple[str, str | None]]:
        """(source object, source key) -> (latest fate, reason) over all runs.

        The fate is the last finished create/update/skip/error for the record, except that a
        later "skip: unchanged" never hides the create or update that put the record there.
        """
        out: dict[tuple[str, str], tuple[str, str | None]] = {}
        rows = self.db.execute(
            "SELECT source_object, source_key, op, state, reason FROM journal"
            " WHERE source_object IS NOT NULL AND op IN ('create','update','skip','error','delete','restore')"
            " AND state IN ('done','failed') ORDER BY seq"
        )
        for sobj, skey, op, state, reason in rows:
            key = (sobj, skey)
            if state == "failed":
                out[key] = ("error", reason)
            elif op == "skip" and reason == UNCHANGED and key in out and out[key][0] in {"created", "updated"}:
                continue
            elif op in {"create", "update"}:
                out[key] = (op + "d", reason)
            elif op == "delete":
                out[key] = ("rolled back", reason)
            elif op == "skip":
                out[key] = ("skipped", reason)
            elif op == "error":
                out[key] = ("error", reason)
        return out

    @staticmethod
    def _entry(row) -> JournalEntry:
        seq, run_id, ts, op, state, so, sk, do, di, reason, before, after, iseq = row
        return JournalEntry(seq, run_id, ts, op, state, so, sk, do, di, reason, _load(before), _load(after), iseq)


#: the reason journaled when a record's content hash equals what was last written
UNCHANGED = "unchanged since the last run"


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str, sort_keys=True)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)
