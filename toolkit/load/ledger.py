"""The ledger: one SQLite file per workspace that is the audit log, the resume point, the delta
baseline and the rollback script at once.

Tables:
    meta       what the ledger belongs to: the workspace's id and the destination account.
    runs       one row per run (mode, start, end, status, watermark).
    records    source record -> destination id, with the content hash last written.
    journal    every operation: intent first, outcome after (create, update, skip, error,
               delete, restore, provision), with the destination's before/after values, the
               content hash a write carries and, for a rollback's operations, the entry it reverses.

Rule: write the intent before calling the destination and the outcome after it. An intent
without an outcome means the process died in between; :meth:`Ledger.pending` lists them so that
the engine settles each by looking the record up in the destination — never by creating twice.
The file is created readable by its owner only (it holds patient data) and runs in WAL mode.
One connection is shared by the engine's worker threads, so every statement runs under a lock.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

from ..errors import ConfigError

__all__ = ["Ledger", "JournalEntry", "UNCHANGED", "ROLLED_BACK", "INTERRUPTED", "LedgerMismatchError"]

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
    dest_object TEXT, dest_id TEXT, reason TEXT, before TEXT, after TEXT, intent_seq INTEGER,
    content_hash TEXT, reverses INTEGER
);
CREATE INDEX IF NOT EXISTS journal_run ON journal (run_id, seq);
CREATE INDEX IF NOT EXISTS journal_src ON journal (source_object, source_key);
CREATE INDEX IF NOT EXISTS journal_intent ON journal (intent_seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

#: columns added after the first release; an older ledger gains them on open
_ADDED_COLUMNS = {"content_hash": "TEXT", "reverses": "INTEGER"}
_COLUMNS = ("seq, run_id, ts, op, state, source_object, source_key, dest_object, dest_id, reason, before, after,"
            " intent_seq, content_hash, reverses")

OPS = {"create", "update", "skip", "error", "delete", "restore", "provision", "merge", "exclude"}
#: the status a run left "running" by a process that died takes when the next run starts
INTERRUPTED = "interrupted"
#: operations that leave a record in the destination carrying what we wrote
WRITES = ("create", "update", "restore")

#: the reason journaled when a record's content hash equals what was last written
UNCHANGED = "unchanged since the last run"
#: the status a run takes once a rollback has reversed it
ROLLED_BACK = "rolled back"


class LedgerMismatchError(ConfigError):
    """The ledger belongs to another workspace or destination account; nothing was written."""


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
    content_hash: str | None = None
    reverses: int | None = None


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
        self._lock = threading.RLock()
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        # FULL: an outcome row must survive a power cut before the next call is made.
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA busy_timeout=10000")
        self.db.executescript(_SCHEMA)
        have = {row[1] for row in self.db.execute("PRAGMA table_info(journal)")}
        for name, kind in _ADDED_COLUMNS.items():
            if name not in have:
                self.db.execute(f"ALTER TABLE journal ADD COLUMN {name} {kind}")
        for suffix in ("-wal", "-shm"):
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                os.chmod(side, 0o600)

    def close(self) -> None:
        with self._lock:
            self.db.close()

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _exec(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self.db.execute(sql, args).fetchall()

    # --- what the ledger belongs to ----------------------------------------------------------
    def meta(self) -> dict[str, str]:
        return dict(self._exec("SELECT key, value FROM meta"))

    def bind(self, *, workspace: str, account: str) -> None:
        """Tie the ledger to one workspace and one destination account, or check it is theirs.

        The first writing run records both; later runs must match, so that a ledger copied from
        another workspace, or a workspace pointed at another account, cannot be mistaken for the
        record of what this one wrote there.

        Raises:
            LedgerMismatchError: the ledger was written for another workspace or account.
        """
        have = self.meta()
        for key, value in (("workspace", workspace), ("account", account)):
            if key in have and have[key] != value:
                raise LedgerMismatchError(
                    f"the ledger {self.path} was written for {key} {have[key]!r}, not {value!r}: a ledger is the "
                    f"record of one workspace's writes to one account; start a new workspace (or move this "
                    f"ledger aside) to load elsewhere")
        with self._lock, self.db:
            self.db.execute("BEGIN")
            self.db.executemany("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)",
                                [("workspace", workspace), ("account", account)])

    def has_writes(self) -> bool:
        """Whether any run recorded a destination id (the ledger knows records it wrote)."""
        return bool(self._exec("SELECT 1 FROM records LIMIT 1")) or bool(
            self._exec("SELECT 1 FROM runs WHERE mode IN ('full','delta','adopt') LIMIT 1"))

    def close_dead_runs(self, by: str) -> list[str]:
        """Close runs a killed process left "running"; returns their ids.

        Only the holder of the workspace's writer lock may call this: while it holds the lock, no
        other process can be running, so a "running" run is one whose process died.
        """
        dead = [r[0] for r in self._exec("SELECT run_id FROM runs WHERE status='running'")]
        for run_id in dead:
            run = self.run(run_id) or {}
            info = dict(run.get("info") or {})
            info["message"] = (f"the process stopped before the run finished (killed or crashed); closed by {by}, "
                               "which settled its unfinished calls")
            self.finish_run(run_id, INTERRUPTED, None, info)
        return dead

    # --- runs ---------------------------------------------------------------------------
    def start_run(self, mode: str, info: dict | None = None) -> str:
        run_id = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self._exec("INSERT INTO runs (run_id, mode, started_at, status, info) VALUES (?,?,?,?,?)",
                   (run_id, mode, _now(), "running", json.dumps(info or {}, default=str)))
        return run_id

    def finish_run(self, run_id: str, status: str, watermark: str | None = None, info: dict | None = None) -> None:
        self._exec(
            "UPDATE runs SET finished_at=?, status=?, watermark=COALESCE(?, watermark), info=COALESCE(?, info) WHERE run_id=?",
            (_now(), status, watermark, json.dumps(info, default=str) if info is not None else None, run_id),
        )

    def set_run_status(self, run_id: str, status: str) -> None:
        """Change a run's status only (a rollback marks the run it reversed)."""
        self._exec("UPDATE runs SET status=? WHERE run_id=?", (status, run_id))

    def runs(self) -> list[dict]:
        """Every run, oldest first, ``info`` decoded."""
        with self._lock:
            cur = self.db.execute("SELECT run_id, mode, started_at, finished_at, status, watermark, info FROM runs"
                                  " ORDER BY started_at, rowid")
            cols = [c[0] for c in cur.description]
            rows = cur.fetchall()
        return [dict(zip(cols, row)) | {"info": json.loads(row[-1] or "{}")} for row in rows]

    def run(self, run_id: str) -> dict | None:
        return next((r for r in self.runs() if r["run_id"] == run_id), None)

    def last_run(self, modes: tuple[str, ...] = ("full", "delta", "sample"), status: str | None = "finished") -> dict | None:
        """The newest run of one of ``modes`` (with ``status``, unless None)."""
        for run in reversed(self.runs()):
            if run["mode"] in modes and (status is None or run["status"] == status):
                return run
        return None

    # --- journal ------------------------------------------------------------------------
    def intent(self, run_id: str, op: str, *, source_object: str | None = None, source_key: str | None = None,
               dest_object: str | None = None, dest_id: str | None = None, before: Any = None,
               after: Any = None, content_hash: str | None = None, reverses: int | None = None) -> int:
        """Journal what is about to be done; returns the intent's sequence number.

        Args:
            content_hash: the hash of the source record this write carries, so that an intent
                settled on resume can still record it.
            reverses: for a rollback's operations, the journal entry being undone.
        """
        assert op in OPS, op
        with self._lock:
            cur = self.db.execute(
                "INSERT INTO journal (run_id, ts, op, state, source_object, source_key, dest_object, dest_id, before,"
                " after, content_hash, reverses) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (run_id, _now(), op, "intent", source_object, source_key, dest_object, dest_id,
                 _dump(before), _dump(after), content_hash, reverses),
            )
            return cur.lastrowid

    def outcome(self, intent_seq: int, *, state: str = "done", dest_id: str | None = None, reason: str | None = None,
                after: Any = None, content_hash: str | None = None) -> None:
        """Record the outcome of an intent, and (for a done create/update) the id map, atomically."""
        with self._lock:
            row = self.db.execute(
                "SELECT run_id, op, source_object, source_key, dest_object, dest_id, before, reverses FROM journal"
                " WHERE seq=?", (intent_seq,),
            ).fetchone()
            run_id, op, sobj, skey, dobj, did, before, reverses = row
            did = dest_id or did
            with self.db:
                self.db.execute("BEGIN")
                self.db.execute(
                    "INSERT INTO journal (run_id, ts, op, state, source_object, source_key, dest_object, dest_id, reason,"
                    " before, after, intent_seq, content_hash, reverses) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (run_id, _now(), op, state, sobj, skey, dobj, did, reason, before,
                     _dump(after), intent_seq, content_hash, reverses),
                )
                if state == "done" and op in WRITES and sobj and did:
                    self._map(sobj, skey, dobj, did, content_hash, run_id, replace_hash=op == "restore")
                if state == "done" and op == "delete" and did:
                    self.db.execute("DELETE FROM records WHERE dest_object=? AND dest_id=?", (dobj, did))

    def note(self, run_id: str, op: str, *, source_object: str | None = None, source_key: str | None = None,
             dest_object: str | None = None, dest_id: str | None = None, reason: str | None = None,
             after: Any = None) -> None:
        """Journal an operation that involves no destination call (a skip, an error found in planning)."""
        self._exec(
            "INSERT INTO journal (run_id, ts, op, state, source_object, source_key, dest_object, dest_id, reason, after)"
            " VALUES (?,?,?,?,?,?,?,?,?,?)",
            (run_id, _now(), op, "done", source_object, source_key, dest_object, dest_id, reason, _dump(after)),
        )

    def note_many(self, run_id: str, op: str, rows: list[tuple]) -> None:
        """Journal many no-call operations in one transaction.

        Each row is (source_object, source_key, dest_object, reason) or, with the destination id
        known, (source_object, source_key, dest_object, reason, dest_id).
        """
        if not rows:
            return
        ts = _now()
        with self._lock, self.db:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT INTO journal (run_id, ts, op, state, source_object, source_key, dest_object, reason, dest_id)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                [(run_id, ts, op, "done", r[0], r[1], r[2], r[3], r[4] if len(r) > 4 else None) for r in rows],
            )

    def pending(self) -> list[JournalEntry]:
        """Intents with no outcome: the process stopped between the call and its record."""
        return [self._entry(r) for r in self._exec(
            f"SELECT {_COLUMNS} FROM journal j WHERE state='intent' AND NOT EXISTS"
            " (SELECT 1 FROM journal o WHERE o.intent_seq = j.seq) ORDER BY seq"
        )]

    def journal(self, run_id: str | None = None) -> Iterator[JournalEntry]:
        sql, args = f"SELECT {_COLUMNS} FROM journal", ()
        if run_id:
            sql, args = sql + " WHERE run_id=?", (run_id,)
        for row in self._exec(sql + " ORDER BY seq", args):
            yield self._entry(row)

    def done_intents(self, run_id: str, ops: tuple[str, ...]) -> list[JournalEntry]:
        """The intents of ``run_id`` among ``ops`` whose outcome is done, in journal order.

        These are what the run changed in the destination: what a rollback reverses. Each
        carries what only its outcome knows: the destination id of a create, and the object
        as the destination made it for a provision.
        """
        marks = ",".join("?" * len(ops))
        return [self._entry(r) for r in self._exec(
            f"SELECT {_picked()} FROM journal j JOIN journal o ON o.intent_seq = j.seq AND o.state = 'done'"
            f" WHERE j.run_id=? AND j.state='intent' AND j.op IN ({marks}) ORDER BY j.seq", (run_id, *ops))]

    def reversed_seqs(self) -> set[int]:
        """Journal entries a rollback has already undone (its own operation done)."""
        return {r[0] for r in self._exec(
            "SELECT j.reverses FROM journal j JOIN journal o ON o.intent_seq = j.seq AND o.state='done'"
            " WHERE j.reverses IS NOT NULL")}

    def last_write(self, source_object: str, source_key: str, dest_object: str,
                   before_seq: int | None = None) -> JournalEntry | None:
        """The newest done create/update/restore of one record (before ``before_seq`` if given).

        Its ``after`` is what the destination holds for the record as far as the toolkit knows,
        and its ``content_hash`` the hash that write carried.
        """
        sql = (f"SELECT {_picked()} FROM journal j JOIN journal o ON o.intent_seq = j.seq AND o.state='done'"
               " WHERE j.source_object=? AND j.source_key=? AND j.dest_object=? AND j.state='intent'"
               " AND j.op IN ('create','update','restore')")
        args: tuple = (source_object, source_key, dest_object)
        if before_seq is not None:
            sql, args = sql + " AND j.seq < ?", args + (before_seq,)
        rows = self._exec(sql + " ORDER BY j.seq DESC LIMIT 1", args)
        return self._entry(rows[0]) if rows else None

    # --- the id map ---------------------------------------------------------------------
    def _map(self, sobj, skey, dobj, did, content_hash, run_id, replace_hash: bool = False) -> None:
        hash_sql = "excluded.content_hash" if replace_hash else "COALESCE(excluded.content_hash, records.content_hash)"
        self.db.execute(
            "INSERT INTO records (source_object, source_key, dest_object, dest_id, content_hash, run_id, updated_at)"
            " VALUES (?,?,?,?,?,?,?) ON CONFLICT (source_object, source_key, dest_object) DO UPDATE SET"
            f" dest_id=excluded.dest_id, content_hash={hash_sql},"
            " run_id=excluded.run_id, updated_at=excluded.updated_at",
            (sobj, skey, dobj, did, content_hash, run_id, _now()),
        )

    def set_mapping(self, source_object: str, source_key: str, dest_object: str, dest_id: str,
                    content_hash: str | None, run_id: str) -> None:
        """Record an id mapping found outside a journaled call (e.g. settling a pending intent)."""
        with self._lock:
            self._map(source_object, source_key, dest_object, dest_id, content_hash, run_id)

    def forget(self, dest_object: str, dest_id: str) -> None:
        self._exec("DELETE FROM records WHERE dest_object=? AND dest_id=?", (dest_object, dest_id))

    def id_map(self, source_object: str, dest_object: str | None = None) -> dict[str, tuple[str, str | None]]:
        """source key -> (destination id, content hash) for one source object."""
        sql = "SELECT source_key, dest_id, content_hash FROM records WHERE source_object=?"
        args: tuple = (source_object,)
        if dest_object:
            sql, args = sql + " AND dest_object=?", args + (dest_object,)
        return {k: (d, h) for k, d, h in self._exec(sql, args)}

    def mapped(self) -> list[tuple[str, str, str, str]]:
        """Every (source object, source key, destination object, destination id) in the id map."""
        return [tuple(r) for r in self._exec("SELECT source_object, source_key, dest_object, dest_id FROM records")]

    def fates(self) -> dict[tuple[str, str], tuple[str, str | None]]:
        """(source object, source key) -> (latest fate, reason) over all runs.

        Per destination object, the fate is the last finished create/update/skip/error for the
        record, except that a later "skip: unchanged" never hides the create or update that put
        the record there. Operations of a run that was rolled back no longer count: the record
        keeps the fate an earlier run gave it (a rolled-back delta leaves the full run's), or,
        if no run still in effect touched it, its fate is "rolled back". A source record that
        becomes several destination records (an appointment as a deal and as an event) is an
        error if any of them is, else created, updated, merged (carried inside another record),
        rolled back, excluded (left out by the confirmed mapping) or skipped, in that order.
        """
        per: dict[tuple[str, str], dict[str | None, tuple[str, str | None]]] = {}
        undone: dict[tuple[str, str], dict[str | None, str]] = {}
        rows = self._exec(
            "SELECT j.source_object, j.source_key, j.dest_object, j.op, j.state, j.reason, j.run_id, r.status"
            " FROM journal j JOIN runs r ON r.run_id = j.run_id"
            " WHERE j.source_object IS NOT NULL AND j.op IN ('create','update','skip','error','delete','merge','exclude')"
            " AND j.state IN ('done','failed') AND (j.dest_object IS NULL OR j.dest_object NOT LIKE 'custom_field:%')"
            " ORDER BY j.seq"
        )
        for sobj, skey, dobj, op, state, reason, run_id, status in rows:
            key = (sobj, skey)
            out = per.setdefault(key, {})
            if status == ROLLED_BACK:
                undone.setdefault(key, {})[dobj] = run_id
            elif state == "failed":
                out[dobj] = ("error", reason)
            elif op == "skip" and reason == UNCHANGED and out.get(dobj, ("",))[0] in {"created", "updated"}:
                continue
            elif op in {"create", "update"}:
                out[dobj] = (op + "d", reason)
            elif op == "delete":
                out[dobj] = (ROLLED_BACK, reason)
            elif op == "skip":
                out[dobj] = ("skipped", reason)
            elif op == "merge":
                out[dobj] = ("merged", reason)
            elif op == "exclude":
                out[dobj] = ("excluded", reason)
            elif op == "error":
                out[dobj] = ("error", reason)
        for key, targets in undone.items():
            for dobj, run_id in targets.items():
                per.setdefault(key, {}).setdefault(dobj, (ROLLED_BACK, f"run {run_id} was rolled back"))
        return {key: _combined(targets) for key, targets in per.items() if targets}

    @staticmethod
    def _entry(row) -> JournalEntry:
        seq, run_id, ts, op, state, so, sk, do, di, reason, before, after, iseq, chash, rev = row
        return JournalEntry(seq, run_id, ts, op, state, so, sk, do, di, reason, _load(before), _load(after), iseq,
                            chash, rev)


_PRECEDENCE = ("error", "created", "updated", "merged", ROLLED_BACK, "excluded", "skipped")


def _combined(targets: dict[str | None, tuple[str, str | None]]) -> tuple[str, str | None]:
    """One fate for a source record from the fates of the destination records it became."""
    if len(targets) == 1:
        return next(iter(targets.values()))
    for fate in _PRECEDENCE:
        hits = [(d, r) for d, (f, r) in targets.items() if f == fate]
        if hits:
            if fate in {"error", "skipped", "excluded"}:
                return fate, "; ".join(f"{d}: {r}" if d else str(r) for d, r in hits)
            return fate, hits[0][1]
    return next(iter(targets.values()))


def _picked() -> str:
    """Columns of an intent ``j`` joined with its outcome ``o``, taking what only the outcome knows."""
    return ", ".join({"dest_id": "COALESCE(o.dest_id, j.dest_id)", "after": "COALESCE(o.after, j.after)"}
                     .get(c, "j." + c) for c in (c.strip() for c in _COLUMNS.split(",")))


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=_plain, sort_keys=True)


def _plain(value: Any) -> Any:
    # Decimals and numpy scalars become their Python number; anything else its text
    if isinstance(value, Decimal):
        return float(value)
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError):
            pass
    return str(value)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)
