"""One call that audits a Snapshot and returns everything the audit report shows."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from ..shapes import Snapshot
from .._arrow_bytes import arrow_strings, longest_bytes
from ._expectations import load_great_expectations, run_suite
from ._integrity import parent_cycles
from ._profile import CHECKED_TYPES, line_numbers, profile_object, reference_lookups

__all__ = ["AuditReport", "run_audit", "outsized_values", "MAX_VALUE_CHARS", "MAX_TEXT_CHARS"]

#: the longest value a field other than free text takes: a CRM's short-text fields hold far
#: less, so anything over this is a broken export (a runaway quote, a pasted document)
MAX_VALUE_CHARS = 10_000
#: the longest free text (notes, descriptions) a CRM's long-text field holds
MAX_TEXT_CHARS = 65_535
_FREE_TEXT = ("note", "text", "body", "description", "comment", "memo", "narrative", "message", "content")


@dataclass
class AuditReport:
    """The audit's findings.

    Attributes:
        source: source name.
        profile: see :func:`toolkit.audit.profile`.
        expectations: object -> results of its GX suite (see ``run_suite``).
        drift: schema drift found by the reader, per object: ``{file, layout, missing, extra,
            renamed, duplicated, fix, message}`` (see :mod:`toolkit.sources._drift`).
        read_errors: files or records the reader could not read, each ``{object, file, row,
            column, message}``: the audit goes on without them and says so.
        integrity: object -> records whose parent chain loops back (``{line, id, column, value,
            cycle}``).
        empty: objects read with no records (see :meth:`~toolkit.shapes.Snapshot.empty_objects`).
        outsized: values longer than any CRM field takes, ``{object, file, line, column, id, length}``.
        gx: what the workspace's GX project holds of this audit: ``results`` (the validation
            result files saved), ``data_docs`` (the Data Docs index, when built) and
            ``checkpoints`` (object -> GX's own verdict, when the checkpoints ran).
    """

    source: str
    profile: dict
    expectations: dict[str, list[dict]]
    drift: dict
    read_errors: list[dict] = field(default_factory=list)
    integrity: dict[str, list[dict]] = field(default_factory=dict)
    empty: list[dict] = field(default_factory=list)
    outsized: list[dict] = field(default_factory=list)
    gx: dict = field(default_factory=dict)

    def summary(self) -> dict:
        failed = [(o, r) for o, rs in self.expectations.items() for r in rs if not r["success"]]
        invalid = sum(v["count"] for o in self.profile["objects"].values() for v in o["invalid"].values())
        return {
            "source": self.source,
            "objects": len(self.profile["counts"]),
            "records": int(sum(self.profile["counts"].values())),
            "counts": self.profile["counts"],
            "expectations_run": sum(len(rs) for rs in self.expectations.values()),
            "expectations_failed": len(failed),
            "rows_failing_expectations": sum(r["unexpected_count"] for _, r in failed),
            "invalid_values": invalid,
            "duplicates": sum(len(o.get("duplicates", [])) for o in self.profile["objects"].values()),
            "broken_references": sum(len(o["broken_references"]) for o in self.profile["objects"].values()),
            "parent_cycles": sum(len(v) for v in self.integrity.values()),
            "schema_drift": len(self.drift),
            "read_errors": len(self.read_errors),
            "empty_objects": len(self.empty),
            "outsized_values": len(self.outsized),
        }

    def failures(self) -> pd.DataFrame:
        """One row per (expectation, failing row): which rows fail which expectation."""
        rows = [{"object": o, "file": r["file"], "expectation": r["expectation"], "column": r["column"], "why": r["why"],
                 "line": f["line"], "id": f["id"], "value": f["value"]}
                for o, rs in self.expectations.items() for r in rs for f in r["failures"]]
        return pd.DataFrame(rows, columns=["object", "file", "expectation", "column", "why", "line", "id", "value"])

    def findings(self) -> pd.DataFrame:
        """Every flagged cell in one table: ``object, file, line, column, id, value, check, why``.

        ``check`` says which part of the audit raised it: ``expectation`` (a GX suite),
        ``invalid`` (a value that will not convert), ``reference`` (points at nothing),
        ``duplicate`` (the later of a likely duplicate pair), ``cycle`` (parent chain loops),
        ``drift`` (header differs from the layout), ``unreadable`` (the reader left it out),
        ``empty`` (a file with no records) or ``outsized`` (a value no CRM field holds).
        """
        # rows as tuples in the frame's column order (hundreds of thousands at a million patients)
        rows = [(o, r["file"], f["line"], r["column"], f["id"], f["value"], "expectation",
                 f"{r['expectation']}: {r['why']}")
                for o, rs in self.expectations.items() for r in rs for f in r["failures"]]
        for o, info in self.profile["objects"].items():
            for col, inv in info["invalid"].items():
                rows += [(o, info["file"], x["line"], col, x["id"], x["value"], "invalid", x["problem"])
                         for x in inv["rows"]]
            rows += [(o, info["file"], x["line"], x["column"], x["id"], x["value"], "reference",
                      f"points at no {x['points_at']}") for x in info["broken_references"]]
            rows += [(o, info["file"], x["lines"][1], info["key"], x["duplicate"], x["duplicate"], "duplicate",
                      f"likely duplicate of {x['kept']} ({x['why']})") for x in info.get("duplicates", [])]
        for o, found in self.integrity.items():
            file = self.profile["objects"].get(o, {}).get("file", o)
            rows += [(o, file, x["line"], x["column"], x["id"], x["value"], "cycle",
                      "parent chain loops: " + " -> ".join(x["cycle"])) for x in found]
        rows += [(o, d["file"], 1, None, None, None, "drift", d["message"]) for o, d in self.drift.items()]
        rows += [(e.get("object"), e.get("file"), e.get("row"), e.get("column"), None, None, "unreadable",
                  e["message"]) for e in self.read_errors]
        rows += [(e["object"], e["file"], 2, None, None, None, "empty",
                  "no records, only a header" + (f"; yet {', '.join(e['referred_by'])} refer to it: the export is "
                                                 "incomplete and a migration refuses it" if e["referred_by"] else ""))
                 for e in self.empty]
        rows += [(o["object"], o["file"], o["line"], o["column"], o["id"], f"({o['length']:,} characters)", "outsized",
                  f"a value of {o['length']:,} characters: longer than a CRM field holds ({MAX_VALUE_CHARS:,})")
                 for o in self.outsized]
        return pd.DataFrame.from_records(rows, columns=["object", "file", "line", "column", "id", "value", "check",
                                                        "why"])

    def to_dict(self) -> dict:
        return {"summary": self.summary(), "profile": self.profile, "expectations": self.expectations,
                "drift": self.drift, "read_errors": self.read_errors, "integrity": self.integrity,
                "empty": self.empty, "outsized": self.outsized, "gx": self.gx}


def outsized_values(snapshot: Snapshot, limit: int = MAX_VALUE_CHARS, text_limit: int = MAX_TEXT_CHARS) -> list[dict]:
    """Values longer than a CRM field takes (``limit``; ``text_limit`` for free-text columns)."""
    out = []
    for obj, df in snapshot.tables.items():
        if not len(df):
            continue
        schema = snapshot.schema.get(obj)
        key = schema.key if schema else None
        lines = line_numbers(snapshot, obj)
        for col in df.columns:
            cap = text_limit if any(w in col.lower() for w in _FREE_TEXT) else limit
            data = arrow_strings(df[col])
            if data is not None and longest_bytes(data) <= cap:
                continue  # no value has more characters than bytes: none is over the cap
            lengths = df[col].str.len()
            longest = lengths.max(skipna=True)
            if pd.isna(longest) or longest <= cap:
                continue
            for pos in (lengths > cap).fillna(False).to_numpy().nonzero()[0][:1000]:
                out.append({"object": obj, "file": schema.file if schema else obj,
                            "line": int(lines.iloc[pos]) if lines is not None else int(pos) + 2, "column": col,
                            "id": str(df[key].iloc[pos]) if key in df.columns else None,
                            "length": int(lengths.iloc[pos])})
    return out


def _release() -> None:
    """Return per-object working memory (Arrow's pool keeps freed blocks) before the next."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


class _InThisThread:
    """The executor for ``workers=1``: each task runs when submitted, in the caller's thread
    (profilers and debuggers see it)."""

    def submit(self, fn, *args, suite: bool = False) -> Future:
        done: Future = Future()
        done.set_result(fn(*args))  # an error is raised here, before the next task starts
        return done

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return None


class _Workers:
    """Threads that take the audit's tasks in the order given (costliest first), except that a
    suite is passed over, for the next task that is not one, while another suite runs.

    Suites validate one at a time (one GX context, not made to be shared), so two suites side by
    side keep one thread waiting for the other; a profile beside a suite keeps both busy.
    """

    def __init__(self, count: int):
        self._cond = threading.Condition()
        self._queue: list[tuple[str, Callable, tuple, Future]] = []
        self._suites_running = 0
        self._closed = False
        self._threads = [threading.Thread(target=self._work, name=f"audit_{i}", daemon=True) for i in range(count)]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable, *args, suite: bool = False) -> Future:
        done: Future = Future()
        with self._cond:
            self._queue.append(("suite" if suite else "other", fn, args, done))
            self._cond.notify()
        return done

    def _take(self) -> tuple[str, Callable, tuple, Future]:
        """The next task for a free thread (called holding the lock, with the queue not empty)."""
        if self._suites_running:
            for i, task in enumerate(self._queue):
                if task[0] != "suite":
                    return self._queue.pop(i)
        return self._queue.pop(0)

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return
                kind, fn, args, done = self._take()
                self._suites_running += kind == "suite"
            try:
                if done.set_running_or_notify_cancel():
                    try:
                        done.set_result(fn(*args))
                    except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for it
                        done.set_exception(exc)
            finally:
                with self._cond:
                    self._suites_running -= kind == "suite"

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._cond:
            self._closed = True
            if cancel_futures:
                for *_task, done in self._queue:
                    done.cancel()
                self._queue.clear()
            self._cond.notify_all()
        if wait:
            for thread in self._threads:
                thread.join()


class _WhenReady(Mapping):
    """The id look-ups as a mapping that waits for them only when first read: a profile gets
    through its columns' checks while the look-ups are still running."""

    def __init__(self, future: Future):
        self._future = future

    def __getitem__(self, key):
        return self._future.result()[key]

    def __iter__(self):
        return iter(self._future.result())

    def __len__(self) -> int:
        return len(self._future.result())


def _profile_cost(snapshot: Snapshot, obj: str, dedupe: dict) -> int:
    """A rough estimate of an object's profiling time, for ordering the work: rows times the
    columns whose values are checked, the duplicate search counting as ten such columns."""
    schema = snapshot.schema.get(obj)
    checked = sum(1 for t in (schema.columns.values() if schema else []) if t in CHECKED_TYPES)
    return len(snapshot.tables[obj]) * (1 + checked + (10 if obj in dedupe else 0))


def _suite_cost(snapshot: Snapshot, obj: str, path: Path) -> int:
    """The same for a suite: rows times half its expectations (GX checks are vectorised)."""
    try:
        count = len(json.loads(path.read_text(encoding="utf-8")).get("expectations", []))
    except (OSError, ValueError):
        count = 1
    return len(snapshot.tables[obj]) * max(count, 1) // 2


#: objects audited side by side by default: most of the work is Arrow and numpy, which run
#: outside Python's lock, and each object in flight adds its own working memory to the peak
DEFAULT_WORKERS = 2


def run_audit(snapshot: Snapshot, expectations_dir: str | Path, *, workers: int | None = None) -> AuditReport:
    """Profile ``snapshot`` and run every suite in ``expectations_dir/<source>/``.

    ``expectations_dir/<source>/audit.yaml`` may say which objects hold people and which of
    their columns identify a person (``dedupe``, for duplicate detection), and which objects form
    a hierarchy (``hierarchies: {object: parent column}``, checked for loops). A Snapshot may
    name, per table, the suite to use (``meta["suites"][table]``: generic exports, whose tables
    are named after files) and the columns its roles stand for (``meta["roles"][table]``).

    Args:
        snapshot: what the source read.
        expectations_dir: the folder of suites (``expectations/``).
        workers: threads that profile objects and run their suites side by side (default
            :data:`DEFAULT_WORKERS`, at most the machine's cores; 1 runs everything in turn).
            The report is the same whatever the number: only the time and the peak memory move.
    """
    folder = Path(expectations_dir) / snapshot.source
    hints_file = folder / "audit.yaml"
    hints = yaml.safe_load(hints_file.read_text(encoding="utf-8")) if hints_file.is_file() else {}
    dedupe = dict((hints or {}).get("dedupe") or {})
    for obj, kind in (snapshot.meta.get("suites") or {}).items():  # role-based, for generic exports
        spec = ((hints or {}).get("dedupe_by_kind") or {}).get(kind)
        roles = (snapshot.meta.get("roles") or {}).get(obj) or {}
        if spec and obj not in dedupe:
            cols = {k: roles.get(v[1:-1]) if isinstance(v, str) else [roles[x[1:-1]] for x in v if x[1:-1] in roles]
                    for k, v in spec.items()}
            if all(cols.values()):
                dedupe[obj] = cols
    suites = snapshot.meta.get("suites") or {}
    suite_of = {obj: folder / f"{suites.get(obj, obj)}.json" for obj in snapshot.tables}
    suite_of = {obj: path for obj, path in suite_of.items() if path.is_file()}

    def suite(obj: str) -> list[dict]:
        schema = snapshot.schema.get(obj)
        df = snapshot.tables[obj]
        found = run_suite(df, suite_of[obj], key=schema.key if schema else df.columns[0],
                          file=schema.file if schema else obj, lines=line_numbers(snapshot, obj),
                          roles=(snapshot.meta.get("roles") or {}).get(obj))
        _release()
        return found

    if workers is None:
        workers = min(DEFAULT_WORKERS, os.cpu_count() or 1)
    workers = max(1, int(workers))
    pool = _Workers(workers) if workers > 1 else _InThisThread()
    try:
        # GX's imports (seconds) and the id look-ups every profile needs go first, side by side
        ready = pool.submit(load_great_expectations) if suite_of else None
        refs = pool.submit(reference_lookups, snapshot)
        outsized = pool.submit(outsized_values, snapshot)

        def profiled(obj: str) -> dict:
            found = profile_object(snapshot, obj, _WhenReady(refs), dedupe=dedupe or None)
            _release()
            return found

        # the costliest tasks first, so that the last one to finish is a short one
        tasks = [(_profile_cost(snapshot, obj, dedupe), profiled, obj) for obj in snapshot.tables]
        tasks += [(_suite_cost(snapshot, obj, path), suite, obj) for obj, path in suite_of.items()]
        jobs = {(fn, obj): pool.submit(fn, obj, suite=fn is suite)
                for _cost, fn, obj in sorted(tasks, key=lambda t: -t[0])}
        prof_jobs = {obj: jobs[(profiled, obj)] for obj in snapshot.tables}
        suite_jobs = {obj: jobs[(suite, obj)] for obj in suite_of}
        if ready is not None:
            ready.result()
        prof = {"counts": snapshot.counts(), "objects": {obj: prof_jobs[obj].result() for obj in snapshot.tables}}
        results = {obj: suite_jobs[obj].result() for obj in snapshot.tables if obj in suite_jobs}
    except BaseException:  # a failed task or Ctrl-C: start nothing more
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    integrity = {}
    for obj, parent in ((hints or {}).get("hierarchies") or {}).items():
        if obj in snapshot.tables and obj in snapshot.schema:
            found = parent_cycles(snapshot.tables[obj], key=snapshot.schema[obj].key, parent=parent,
                                  lines=line_numbers(snapshot, obj))
            if found:
                integrity[obj] = found
    return AuditReport(snapshot.source, prof, results, snapshot.meta.get("drift", {}),
                       list(snapshot.meta.get("read_errors", [])), integrity, snapshot.empty_objects(),
                       outsized.result())
