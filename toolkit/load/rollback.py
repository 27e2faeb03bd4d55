"""Rollback: replay one run's journal backwards so the destination is as it was before the run.

Every create the run made is deleted, every update is reversed by writing back the values the
record held before (the journal's ``before``: read from the destination, or what the toolkit had
last written there), and every custom field it provisioned is deleted — newest first, so a
deal goes before its contact and a field before nothing that still uses it. Objects the vendor
cannot delete (``Destination.undeletable``) are left and listed.

A rollback is itself a journaled run (mode ``rollback``): each reversal is an intent and an
outcome that name the entry they undo, so an interrupted rollback, run again, finishes the job
without repeating what it already did. Once complete, the reversed run is marked
``rolled back``: its operations no longer count for fates or for the delta watermark, so rolling
back a delta leaves the full run as the baseline and a new delta can run.

Where the destination deletes many records in one call (``destroy_many`` for the objects in its
``bulk_objects``, e.g. Freshsales' bulk delete), records created back to back are deleted in
chunks of :data:`~toolkit.load.engine.BULK_BATCH`: each record still gets its own intent before the
call and its own outcome after it, so resume and reconciliation see nothing different. A chunk
the bulk call fails on is deleted one record at a time (the call does not say which of its
records it could not delete, and deleting a record already gone is not an error).

Only the newest run still in effect can be rolled back; a run with later runs on top of it needs
those rolled back first (otherwise "before" would no longer mean anything).
"""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pandas as pd

from ..destinations import CustomField, Destination, Record
from .engine import BULK_BATCH, Engine
from .progress import ObjectProgress
from ..errors import ConfigError, FatalError, MappingError, QuotaExhaustedError, RetriableError
from .ledger import ROLLED_BACK, JournalEntry, Ledger

__all__ = ["RollbackResult", "rollback", "restore_record"]

#: run modes whose writes a rollback can reverse
REVERSIBLE = ("full", "delta", "sample", "adopt")


@dataclass
class RollbackResult:
    """What a rollback did: ``counts`` of deleted/restored/fields deleted/left/errors."""

    run_id: str
    of_run: str
    status: str
    counts: dict[str, int] = field(default_factory=dict)
    left: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    message: str = ""
    seconds: float = 0.0
    #: with ``since``: every run reversed, newest first
    of_runs: list[str] = field(default_factory=list)
    #: records a delta deleted (``--propagate-deletions``) and this rollback created again
    recreated: list[dict] = field(default_factory=list)

    def add(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def ok(self) -> bool:
        return self.status == "finished"

    def summary(self) -> dict:
        """The rollback's figures for a report's summary cards."""
        c = self.counts
        return {"status": self.status, "rolled back run": self.of_run, "deleted": c.get("deleted", 0),
                "restored": c.get("restored", 0), "created again": c.get("created again", 0),
                "custom fields deleted": c.get("custom fields deleted", 0),
                "left in place": len(self.left), "errors": len(self.errors), "seconds": round(self.seconds, 1)}

    def headline(self) -> str:
        if self.ok and len(self.of_runs) > 1:
            return (f"Runs {', '.join(reversed(self.of_runs))} are rolled back: the destination is as it was before "
                    f"run {self.of_run}")
        if self.ok:
            left = f"; {len(self.left)} records the destination cannot delete were left" if self.left else ""
            return f"Run {self.of_run} is rolled back: the destination is as it was before it{left}"
        return f"Run {self.of_run} is not fully rolled back ({self.status}): {self.message}"

    def left_table(self) -> pd.DataFrame:
        return pd.DataFrame(self.left, columns=["object", "id", "source_key", "why"])

    def errors_table(self) -> pd.DataFrame:
        return pd.DataFrame(self.errors, columns=["seq", "object", "id", "error"])


def _target_run(ledger: Ledger, run_id: str | None) -> dict:
    live = [r for r in ledger.runs() if r["mode"] in REVERSIBLE and r["status"] != ROLLED_BACK]
    if run_id is None:
        if not live:
            raise ConfigError("there is no run to roll back in this workspace's ledger")
        return live[-1]
    run = ledger.run(run_id)
    if run is None:
        known = ", ".join(r["run_id"] for r in live) or "none"
        raise ConfigError(f"no run {run_id} in the ledger (runs that can be rolled back: {known})")
    if run["mode"] not in REVERSIBLE:
        raise ConfigError(f"run {run_id} is a {run['mode']} run; only {', '.join(REVERSIBLE)} runs can be rolled back")
    if run["status"] == ROLLED_BACK:
        raise ConfigError(f"run {run_id} has already been rolled back")
    later = [r["run_id"] for r in live if r["started_at"] > run["started_at"]]
    if later:
        raise ConfigError(f"run {run_id} has later runs on top of it ({', '.join(later)}); roll those back first, "
                          "newest first")
    return run


def restore_record(entry: JournalEntry) -> Record:
    """The write that undoes update ``entry``: every value it changed, as it was before.

    Fields the update set that the record did not have before are cleared (None); fields it
    did not change are left out, so nothing else about the record is written.
    """
    before, after = entry.before or {}, entry.after or {}
    rec = Record(object=entry.dest_object or after.get("object", ""), id=entry.dest_id)
    for part in ("fields", "custom"):
        old, new = before.get(part) or {}, after.get(part) or {}
        setattr(rec, part, {k: old.get(k) for k, v in new.items() if old.get(k) != v})
    if after.get("tags") and sorted(after["tags"]) != sorted(before.get("tags") or []):
        rec.tags = list(before.get("tags") or [])
        # tags=[] cannot say "no tags": name the ones the update added so the adapter removes them
        rec.remove_tags = [t for t in after["tags"] if t not in rec.tags]
    if after.get("owner_id") is not None and after["owner_id"] != before.get("owner_id"):
        rec.owner_id = before.get("owner_id")
    return rec


def rollback(destination: Destination, ledger: Ledger, run_id: str | None = None, *, progress: bool = True,
             engine: Engine | None = None, since: str | None = None) -> RollbackResult:
    """Reverse run ``run_id`` (default: the newest run still in effect).

    Args:
        since: reverse this run and every later run still in effect, newest first (each its own
            journaled rollback run); the result adds them up. Runs a killed process left behind
            are among them, so one call undoes everything since a known point.

    Raises:
        ConfigError: no such run, not reversible, already rolled back, or later runs exist.
    """
    engine = engine or Engine(destination, ledger, progress=False)
    if since is None:
        return _rollback_one(destination, ledger, _target_run(ledger, run_id), engine, progress)
    first = ledger.run(since)
    if first is None or first["mode"] not in REVERSIBLE or first["status"] == ROLLED_BACK:
        live = [r["run_id"] for r in ledger.runs() if r["mode"] in REVERSIBLE and r["status"] != ROLLED_BACK]
        raise ConfigError(f"no run {since} in effect to roll back from (runs in effect: {', '.join(live) or 'none'})")
    total: RollbackResult | None = None
    while True:
        live = [r for r in ledger.runs() if r["mode"] in REVERSIBLE and r["status"] != ROLLED_BACK]
        if not live or live[-1]["started_at"] < first["started_at"] or ledger.run(since)["status"] == ROLLED_BACK:
            break
        one = _rollback_one(destination, ledger, live[-1], engine, progress)
        if total is None:
            total = one
            total.of_runs = [one.of_run]
        else:
            total.run_id, total.status, total.message = one.run_id, one.status, one.message
            total.of_runs.append(one.of_run)
            for k, v in one.counts.items():
                total.counts[k] = total.counts.get(k, 0) + v
            total.left += one.left
            total.errors += one.errors
            total.seconds += one.seconds
        if one.status != "finished":
            break
    assert total is not None
    total.of_run = since
    return total


def _rollback_one(destination: Destination, ledger: Ledger, target: dict, engine: Engine,
                  progress: bool) -> RollbackResult:
    """Reverse one run (``target``, a row of :meth:`Ledger.runs`)."""
    t0 = time.monotonic()
    rb = ledger.start_run("rollback", {"of": target["run_id"]})
    result = RollbackResult(rb, target["run_id"], "running")
    try:
        engine.settle_pending(rb)
        done = ledger.reversed_seqs()
        entries = [e for e in ledger.done_intents(target["run_id"], ("create", "update", "provision", "delete"))
                   if e.seq not in done]
        todo = list(reversed(entries))
        bar = ObjectProgress(len(todo), f"rollback {target['run_id']}", enabled=progress, unit="op")
        try:
            at = 0
            while at < len(todo):
                batch = _bulk_batch(destination, todo, at)
                side = [] if batch else _side_by_side(destination, todo, at, engine.workers)
                if batch:
                    _delete_many(engine, destination, ledger, rb, batch, result)
                elif side:
                    _delete_side_by_side(engine, destination, ledger, rb, side, result)
                    batch = side
                else:
                    _reverse(engine, destination, ledger, rb, todo[at], result)
                at += len(batch) or 1
                bar.update(len(batch) or 1)
        finally:
            bar.close()
        result.status = "finished" if not result.errors else "incomplete"
        if not result.errors:
            ledger.set_run_status(target["run_id"], ROLLED_BACK)
        else:
            result.message = (f"{len(result.errors)} operations could not be reversed; run the rollback again "
                              "(what is done stays done)")
    except QuotaExhaustedError as exc:
        result.status = "paused"
        result.message = f"daily quota nearly spent; run the rollback again after {exc.resume_at or 'the reset'}"
    except BaseException as exc:
        result.status, result.message = "interrupted", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        result.seconds = time.monotonic() - t0
        ledger.finish_run(rb, result.status, None, {"of": target["run_id"], "counts": result.counts,
                                                    "left": result.left, "errors": result.errors,
                                                    "message": result.message})
    return result


def _reverse(engine: Engine, dest: Destination, ledger: Ledger, rb: str, entry: JournalEntry,
             result: RollbackResult) -> None:
    obj = entry.dest_object or ""
    where = dict(source_object=entry.source_object, source_key=entry.source_key, dest_object=obj,
                 dest_id=entry.dest_id, reverses=entry.seq)
    if entry.op == "provision" and not obj.startswith("custom_field:"):
        # pipelines and stages a run created: the Destination seam has no way to delete them
        kind = obj.split(":", 1)[0]
        result.left.append({"object": kind, "id": entry.dest_id, "source_key": entry.source_key,
                            "why": f"a rollback does not delete {dest.name} {kind}s; remove it by hand if unwanted"})
        result.add("left in place")
        return
    if entry.op == "provision":
        spec = CustomField(**{k: v for k, v in (entry.after or {}).items() if k in CustomField.__dataclass_fields__})
        seq = ledger.intent(rb, "delete", **(where | {"source_key": spec.key}))
        call, what = (lambda: engine.call(dest.delete_custom_field, spec)), "custom fields deleted"
    elif entry.op == "delete":  # a delta that propagated a source deletion: create the record again
        _recreate(engine, dest, ledger, rb, entry, result)
        return
    elif entry.op == "create":
        dest_id = entry.dest_id
        if obj in dest.undeletable:
            result.left.append({"object": obj, "id": dest_id, "source_key": entry.source_key,
                                "why": f"{dest.name} cannot delete {obj} records through its API"})
            result.add("left in place")
            return
        seq = ledger.intent(rb, "delete", **(where | {"dest_id": dest_id}))
        call, what = (lambda: engine.call(dest.delete, obj, dest_id)), "deleted"
    else:
        record = restore_record(entry)
        previous = ledger.last_write(entry.source_object or "", entry.source_key or "", obj, before_seq=entry.seq)
        seq = ledger.intent(rb, "restore", before=entry.after, after=dataclasses.asdict(record), **where)
        call, what = (lambda: engine.call(dest.update, record)), "restored"
        try:
            call()
        except (FatalError, RetriableError, MappingError) as exc:
            ledger.outcome(seq, state="failed", reason=str(exc))
            result.errors.append({"seq": entry.seq, "object": obj, "id": entry.dest_id, "error": str(exc)})
            return
        ledger.outcome(seq, content_hash=previous.content_hash if previous else None,
                       reason=f"restored the values from before run {entry.run_id}")
        result.add(what)
        return
    try:
        call()
    except (FatalError, RetriableError, MappingError) as exc:
        ledger.outcome(seq, state="failed", reason=str(exc))
        result.errors.append({"seq": entry.seq, "object": obj, "id": entry.dest_id, "error": str(exc)})
        return
    ledger.outcome(seq, reason=f"rollback of run {entry.run_id}")
    result.add(what)


def _recreate(engine: Engine, dest: Destination, ledger: Ledger, rb: str, entry: JournalEntry,
              result: RollbackResult) -> None:
    """Undo a propagated deletion: create the record again as the toolkit last wrote it.

    It gets a new id; links of records created again later in this rollback (a deal of a
    patient deleted with it) follow the new id. What the CRM held on the deleted record beyond
    the toolkit's own writes (notes or files added there by hand) is not brought back.
    """
    obj = entry.dest_object or ""
    if not entry.before:
        result.errors.append({"seq": entry.seq, "object": obj, "id": entry.dest_id,
                              "error": "the ledger holds no copy of the deleted record to create again"})
        return
    fields = {k: v for k, v in entry.before.items() if k in Record.__dataclass_fields__}
    record = Record(**{**fields, "id": None})
    renamed = {r["old_id"]: r["new_id"] for r in result.recreated}
    record.links = {k: renamed.get(v, v) for k, v in record.links.items()}
    seq = ledger.intent(rb, "create", source_object=entry.source_object, source_key=entry.source_key,
                        dest_object=obj, after=dataclasses.asdict(record), reverses=entry.seq)
    try:
        new_id = engine.call(dest.create, record)
    except (FatalError, RetriableError, MappingError) as exc:
        ledger.outcome(seq, state="failed", reason=str(exc))
        result.errors.append({"seq": entry.seq, "object": obj, "id": entry.dest_id, "error": str(exc)})
        return
    ledger.outcome(seq, dest_id=str(new_id), reason=f"rollback of run {entry.run_id}: created again")
    result.recreated.append({"object": obj, "source_key": entry.source_key, "old_id": entry.dest_id,
                             "new_id": str(new_id)})
    result.add("created again")


def _bulk_batch(dest: Destination, todo: list[JournalEntry], start: int) -> list[JournalEntry]:
    """The creates from ``todo[start]`` on that one bulk delete can undo; empty when there are none.

    Only consecutive creates of one object are taken, so the newest-first order (a deal before
    its contact) holds. A lone record goes one by one: a bulk job costs a submit and a poll.
    """
    first = todo[start]
    obj = first.dest_object or ""
    if (first.op != "create" or not first.dest_id or obj in dest.undeletable
            or not dest.has("bulk_delete") or obj not in dest.bulk_objects):
        return []
    batch = []
    for entry in todo[start:start + BULK_BATCH]:
        if entry.op != "create" or entry.dest_object != obj or not entry.dest_id:
            break
        batch.append(entry)
    return batch if len(batch) > 1 else []


def _delete_many(engine: Engine, dest: Destination, ledger: Ledger, rb: str, batch: list[JournalEntry],
                 result: RollbackResult) -> None:
    """Delete ``batch`` (creates of one object) in one bulk call, journaled record by record."""
    obj = batch[0].dest_object or ""
    seqs = [ledger.intent(rb, "delete", source_object=e.source_object, source_key=e.source_key, dest_object=obj,
                          dest_id=e.dest_id, reverses=e.seq) for e in batch]
    try:
        engine.call(dest.destroy_many, obj, [e.dest_id for e in batch])
    except QuotaExhaustedError:
        for seq in seqs:  # refused before any work: the next rollback deletes them
            ledger.outcome(seq, state="abandoned", reason="daily quota spent; deleted by the resumed rollback")
        raise
    except (FatalError, RetriableError, MappingError) as exc:
        for entry, seq in zip(batch, seqs):
            try:
                engine.call(dest.delete, obj, entry.dest_id)
            except (FatalError, RetriableError, MappingError) as one:
                ledger.outcome(seq, state="failed", reason=str(one))
                result.errors.append({"seq": entry.seq, "object": obj, "id": entry.dest_id, "error": str(one)})
                continue
            ledger.outcome(seq, reason=f"rollback of run {entry.run_id} (one by one: the bulk delete failed: {exc})")
            result.add("deleted")
        return
    for entry, seq in zip(batch, seqs):
        ledger.outcome(seq, reason=f"rollback of run {entry.run_id} (bulk delete)")
        result.add("deleted")


def _side_by_side(dest: Destination, todo: list[JournalEntry], start: int, workers: int) -> list[JournalEntry]:
    """Consecutive creates of one object from ``todo[start]`` on, to delete from the engine's
    workers at once (an API without a bulk delete); empty with one worker or a lone record.

    Records of one object never wait on each other, so deleting them side by side keeps the
    newest-first order between objects (a deal before its contact). A batch is a few rounds of
    the workers, so an interrupted rollback leaves little in flight.
    """
    first = todo[start]
    obj = first.dest_object or ""
    if workers < 2 or first.op != "create" or not first.dest_id or obj in dest.undeletable:
        return []
    batch = []
    for entry in todo[start:start + workers * 64]:
        if entry.op != "create" or entry.dest_object != obj or not entry.dest_id:
            break
        batch.append(entry)
    return batch if len(batch) > 1 else []


def _delete_side_by_side(engine: Engine, dest: Destination, ledger: Ledger, rb: str, batch: list[JournalEntry],
                         result: RollbackResult) -> None:
    """Delete ``batch`` from the engine's workers (they share the account's limiter), journaled
    record by record: each worker writes its intent before its call and the outcome after it,
    so the ledger's writes overlap the other workers' calls."""
    obj = batch[0].dest_object or ""

    def one(entry: JournalEntry) -> Exception | None:
        seq = ledger.intent(rb, "delete", source_object=entry.source_object, source_key=entry.source_key,
                            dest_object=obj, dest_id=entry.dest_id, reverses=entry.seq)
        try:
            engine.call(dest.delete, obj, entry.dest_id)
        except QuotaExhaustedError as exc:  # refused before any work: the next rollback deletes it
            ledger.outcome(seq, state="abandoned", reason="daily quota spent; deleted by the resumed rollback")
            return exc
        except (FatalError, RetriableError, MappingError) as exc:
            ledger.outcome(seq, state="failed", reason=str(exc))
            return exc
        ledger.outcome(seq, reason=f"rollback of run {entry.run_id}")
        return None

    with ThreadPoolExecutor(max_workers=min(engine.workers, len(batch)), thread_name_prefix="rollback") as pool:
        outcomes = list(pool.map(one, batch))
    for entry, exc in zip(batch, outcomes):
        if exc is None:
            result.add("deleted")
        elif not isinstance(exc, QuotaExhaustedError):
            result.errors.append({"seq": entry.seq, "object": obj, "id": entry.dest_id, "error": str(exc)})
    spent = next((o for o in outcomes if isinstance(o, QuotaExhaustedError)), None)
    if spent is not None:
        raise spent
