"""The engine: executes a Plan against a destination adapter, recording everything in the ledger.

For each record: journal the intent, call the destination, journal the outcome (and the id map)
— in that order, so that a crash between call and record is visible on restart as a pending
intent, settled by looking the record up by its Source ID field instead of creating it twice.

Order: objects load in the adapter's ``objects`` order (users → companies → contacts → deals →
activities → notes → files → custom-object records → associations, as far as the destination
has them); inside one object, records that point at another record of the same object (a
company's parent) load after it, level by level. A record whose link target failed or was left
out is journaled with the reason, never linked to nothing.

Calls run on a small thread pool per destination account (``workers``) that shares the account's
one rate limiter, so the quota stays saturated when each call is slow (a remote CRM answers in
hundreds of milliseconds). Records are prepared as the workers take them, so an object's first
calls go out while its later records are still being prepared, and the set-up calls before the
records (custom objects, custom fields) go side by side on the same limiter. Transient failures (:class:`~toolkit.errors.RetriableError`) are retried
with jittered exponential back-off, honouring the wait the destination asked for; before a create
is retried after a failure that may have reached the server (5xx, reset, timeout), the record is
looked up by its Source ID, so a lost response never becomes a duplicate. Request errors
(:class:`~toolkit.errors.FatalError`) end that record as errored with the vendor's message; a
spent daily quota (:class:`~toolkit.errors.QuotaExhaustedError`) stops the run cleanly with the
time it can resume.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Callable


from .progress import ObjectProgress, emit_event, notice
from .attachments import FILE_OBJECT, LINK_FIELD, check_file, files_kept_as_links, link_field, link_text
from ..destinations import Destination, Record
from ..errors import (FatalError, MappingError, NotFoundError, PartialWriteError, QuotaExhaustedError,
                     RateLimitedError, RetriableError)
from .ledger import UNCHANGED, Ledger
from .load_order import layers, ordered
from ..mapping import ObjectPlan, Plan, PlannedRecord
from .owner_resolution import OwnerResolution
from .provisioning import Provisioning
from .retries import Retrier
from .run_result import RunResult

__all__ = ["Engine", "RunResult", "BULK_BATCH"]

#: records per bulk create call (Freshsales bulk upsert takes 100, research freshsales.md §6)
BULK_BATCH = 100


class _Missing(Exception):
    """A record cannot be written because a record it links to is not in the destination."""

    def __init__(self, op: str, reason: str):
        self.op, self.reason = op, reason


class Engine:
    """Runs plans against one destination account.

    Args:
        destination: the adapter.
        ledger: the workspace's ledger.
        max_attempts: tries per call before a transient failure becomes the record's error.
        progress: show tqdm bars (per object, with rate, ETA and the limit being waited on).
        sleep: injected for tests.
        workers: calls in flight at once against this account (they share its rate limiter).
        read_before: read each record from the destination before updating it, so a rollback
            restores edits made in the CRM since the last run (one extra call per update).
            Without it, the values the toolkit last wrote (from the ledger) are the "before".
        pace: fraction of the vendor's burst quota to use (sets the shared limiter's safety).
        files_root: the folder file records' paths are relative to (the export); no file outside
            it (or ``own_files``) is ever read.
        own_files: folders of files the toolkit wrote itself (pictures taken out of notes),
            whose absolute paths file records may carry.
        max_file_bytes: largest file to upload; default the adapter's ``max_file_bytes``.
        note_unchanged: journal a "skip: unchanged" line for records with nothing to write
            (a full run accounts for every record; a delta leaves unchanged ones out).
    """

    def __init__(self, destination: Destination, ledger: Ledger, *, max_attempts: int = 6,
                 progress: bool = True, sleep: Callable[[float], None] = time.sleep, workers: int = 1,
                 read_before: bool = False, pace: float | None = None, files_root: str | Path | None = None,
                 max_file_bytes: int | None = None, note_unchanged: bool = True,
                 own_files: tuple[str | Path, ...] = ()):
        self.dest, self.ledger = destination, ledger
        self.max_attempts, self.progress, self.sleep = max_attempts, progress, sleep
        self.workers, self.read_before = max(1, int(workers)), read_before
        self.files_root, self.note_unchanged, self.own_files = files_root, note_unchanged, tuple(own_files)
        self.max_file_bytes = max_file_bytes if max_file_bytes is not None else destination.max_file_bytes
        if pace is not None and destination.limiter is not None:
            destination.limiter.safety = float(pace)
        self.retry = Retrier(max_attempts, sleep)
        #: what must exist before records load (custom fields, custom objects, pipelines)
        self.provisioning = Provisioning(destination, ledger, self.call, workers=self.workers)

    # --- calls with retries -------------------------------------------------------------
    def call(self, fn, *args):
        """Call the destination, retrying transient failures with jittered back-off."""
        return self.retry.call(fn, *args)

    def read_all(self, object: str) -> list[Record]:
        """Every record of ``object`` (``iter_records``), surviving transient failures mid-listing."""
        return self.retry.read_all(lambda: self.dest.iter_records(object))

    def read_back(self, objects: list[str]) -> dict[str, list[Record] | Exception]:
        """Every record of each of ``objects``, read in bulk for a read-back (reconcile, a
        sample's diff): the objects listed side by side on the account's limiter, inside the
        adapter's :meth:`~toolkit.destinations.Destination.reading` (per-parent reads made once).

        Returns:
            object -> its records, or the exception its listing ended with (NotImplementedError
            for an object the adapter cannot list).
        """
        objects = list(dict.fromkeys(objects))

        def one(obj: str) -> list[Record] | Exception:
            t0 = time.monotonic()
            try:
                got = self.read_all(obj)
            except NotImplementedError as exc:
                return exc
            if self.progress:
                took = time.monotonic() - t0
                notice("read_back", f"read back {obj}: {len(got):,} records in {took:.1f} s", object=obj,
                       records=len(got), seconds=round(took, 1))
            return got

        with self.dest.reading(objects, self.workers, self.call):
            if self.workers == 1 or len(objects) < 2:
                return {obj: one(obj) for obj in objects}
            with ThreadPoolExecutor(max_workers=min(self.workers, len(objects)), thread_name_prefix="read") as pool:
                return dict(zip(objects, pool.map(one, objects)))

    def _create(self, record: Record, source_key: str) -> tuple[str, str | None]:
        """Create, retrying; returns (id, a note when the record needed completing).

        After a failure the server may have acted on (5xx, reset, timeout), the record is looked
        up by its Source ID before trying again. A create of several calls that failed after the
        record was made (:class:`PartialWriteError`) is never sent again: the record is completed
        by writing it over, and if that fails too its id is still returned, so the ledger knows
        it and the next run completes it.
        """
        failures = limited = 0
        while True:
            try:
                return self.dest.create(record), None
            except PartialWriteError as exc:
                try:
                    self._complete(record, exc.id)
                except (FatalError, RetriableError, MappingError, QuotaExhaustedError) as again:
                    return exc.id, f"created, but not complete ({again}); the next run writes it again"
                return exc.id, None
            except RetriableError as exc:
                failures, limited = self.retry.count(exc, failures, limited)
                if not isinstance(exc, RateLimitedError):  # a 429 was refused before any work
                    found = self.call(self.dest.find_by_source_id, record.object, source_key)
                    if found:
                        self._complete(record, found)
                        return found, None

    def _complete(self, record: Record, found: str) -> None:
        """Write the planned record over one found by Source ID after a failed or interrupted create.

        Some creates take more than one call (a HighLevel custom-object record, then its relation
        to the contact); the record may exist while a later step never ran. Writing the planned
        values and links once more is harmless when they all landed, and completes it when not.
        Files are uploaded whole or not at all, and have nothing to complete.
        """
        if record.object != FILE_OBJECT:
            self.call(self.dest.update, dataclasses.replace(record, id=found))

    # --- before loading -----------------------------------------------------------------
    def settle_pending(self, run_id: str) -> int:
        """Settle intents left without an outcome by an interrupted run; returns how many."""
        settled = 0
        for entry in self.ledger.pending():
            obj = entry.dest_object or ""
            if entry.op == "create" and entry.source_key:
                found = self.call(self.dest.find_by_source_id, obj, entry.source_key)
                if found:
                    if isinstance(entry.after, dict):  # the record as it was to be created
                        self._complete(Record(**entry.after), found)
                    self.ledger.outcome(entry.seq, dest_id=found, content_hash=entry.content_hash,
                                        reason="settled on resume: found by Source ID")
                else:
                    self.call(self.dest.settle_lost_create, obj, entry.source_key)
                    self.ledger.outcome(entry.seq, state="abandoned", reason="interrupted before the destination created it")
            elif entry.op in {"provision", "delete"} and obj.startswith("custom_field:"):
                have = {cf.key: cf for cf in self.call(self.dest.list_custom_fields, obj.split(":", 1)[1])}
                made = have.get(entry.source_key or "")
                if entry.op == "provision" and made is not None:
                    self.ledger.outcome(entry.seq, dest_id=made.id, after=dataclasses.asdict(made),
                                        reason="settled on resume: the field exists")
                elif entry.op == "delete" and made is None:
                    self.ledger.outcome(entry.seq, reason="settled on resume: the field is gone")
                else:
                    self.ledger.outcome(entry.seq, state="abandoned", reason="interrupted before the destination acted")
            elif entry.op == "delete" and entry.dest_id:
                gone = self.call(self.dest.get, obj, entry.dest_id) is None
                self.ledger.outcome(entry.seq, state="done" if gone else "abandoned", reason="settled on resume")
            else:
                # An update or restore that may or may not have landed: its hash is not recorded,
                # so the next pass writes it again (writing the same values twice is harmless).
                self.ledger.outcome(entry.seq, state="abandoned", reason="interrupted; redone by the next run")
            settled += 1
        return settled

    # --- the run --------------------------------------------------------------------------
    def run(self, plan: Plan, owners: OwnerResolution | None, *, mode: str = "full",
            watermark: str | None = None, info: dict | None = None,
            custom_objects: dict[str, dict] | None = None, whole: Plan | None = None) -> RunResult:
        """Load ``plan``. Safe to call again after any interruption: it resumes.

        Args:
            custom_objects: the custom objects the plan loads (key -> ``{singular, plural,
                primary_field}``), made to exist before their fields and records.
            whole: the full plan ``plan`` was taken from (a delta's changes): a parent record
                rewritten by the delta keeps the links to its oversize files although the
                files themselves are not offered again.

        Raises:
            ConfigError: owners cannot be resolved, or the plan routes records to custom objects
                the destination does not have (both checked before anything is journaled), or a
                pipeline the plan needs is missing.
        """
        if owners is not None and self.dest.has_owners:
            owners.check()
        self.provisioning.check_custom_objects(plan)
        t0 = time.monotonic()
        run_id = self.ledger.start_run(mode, {"counts": plan.counts(), **(info or {})})
        result = RunResult(run_id, mode, "running")
        self.retry.counts = result.retries
        self._targets: dict[str, str] = {}
        self._links: dict[tuple[str, str], list] = {}
        for o in self.ordered(plan.objects):  # a source object loaded as two targets: the first
            self._targets.setdefault(o.source_object, o.target)
        limiter = self.dest.limiter
        if limiter is not None and limiter.daily_exhausted():
            # A new run asks the server again: the daily quota may have reset since the last
            # one stopped. If it has not, the first answer says so and the run pauses at once.
            limiter.daily_remaining = None
        try:
            self.settle_pending(run_id)
            self.provisioning.ensure_custom_objects(custom_objects or {}, run_id)
            self._links = files_kept_as_links(whole or plan, self._targets, self.files_root, self.max_file_bytes,
                                              self.own_files)
            self.provisioning.provision(plan, run_id, [link_field(t) for t in sorted({self._targets[p[0]] for p in self._links})])
            stages = self.provisioning.pipelines(plan, run_id)
            for op, fate, rows in (("skip", "skipped", plan.unrouted), ("merge", "merged", plan.merged),
                                   ("exclude", "excluded", plan.excluded), ("error", "error", plan.quarantined)):
                self.ledger.note_many(run_id, op, [(o, k, None, r) for o, k, r in rows])
                if rows:
                    result.add(fate, len(rows))
            result.set_aside = len(plan.quarantined)
            for op in self.ordered(plan.objects):
                self._load_object(op, owners, stages, run_id, result, plan.aliases)
            result.status = "finished"
        except QuotaExhaustedError as exc:
            result.status, result.resume_at = "paused", exc.resume_at
            result.message = (f"stopped cleanly before the daily API quota ran out ({exc}); run the same command "
                              f"again after {exc.resume_at or 'the quota resets'} to resume")
        except BaseException as exc:
            result.status, result.message = "interrupted", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            result.seconds = time.monotonic() - t0
            self.ledger.finish_run(run_id, result.status, watermark if result.status == "finished" else None,
                                   {"counts": result.counts, "message": result.message, "seconds": result.seconds,
                                    "retries": result.retries, "files_as_links": result.files_as_links,
                                    "resume_at": result.resume_at, "set_aside": result.set_aside,
                                    "quota": self._quota_seen(), **(info or {})})
            emit_event("run_finished", run_id=run_id, mode=mode, status=result.status, counts=result.counts,
                       seconds=round(result.seconds, 1), resume_at=result.resume_at)
        return result

    def _quota_seen(self) -> dict | None:
        limiter = self.dest.limiter  # None: the adapter paces itself and has nothing to say
        return limiter.seen() if limiter is not None else None

    def ordered(self, objects: list[ObjectPlan]) -> list[ObjectPlan]:
        """Object plans in the adapter's load order (targets it does not list keep theirs, last)."""
        return ordered(objects, tuple(self.dest.objects))

    def _supported(self, target: str) -> bool:
        return not self.dest.objects or ":" in target or target in self.dest.objects

    def _load_object(self, op: ObjectPlan, owners, stages, run_id, result, aliases) -> None:
        ids = self.ledger.id_map(op.source_object, op.target)
        bar = ObjectProgress(len(op.records), f"{op.source_object} -> {op.target}", enabled=self.progress)
        notes: list[tuple[str, tuple]] = []
        try:
            if not self._supported(op.target):
                why = (f"the {self.dest.name} adapter cannot write {op.target} records "
                       f"(it writes {', '.join(self.dest.objects)})")
                for pr in op.records:
                    notes.append(("error", (pr.source_object, pr.source_key, op.target, why)))
                result.add("error", len(op.records))
                bar.update(len(op.records))
                return
            for layer, cyclic in layers(op, aliases):
                # a route's own map serves its self-links only where its source object loads first
                first = self._targets.get(op.source_object) == op.target
                maps: dict[str, dict] = {op.source_object: ids} if first else {}
                tasks = self._tasks(layer, cyclic, op, owners, stages, aliases, maps, ids, notes, result, bar)
                # prepared as the workers take them, so the first calls go out while the rest are
                # still being prepared (a file is checked on disk; links are looked up)
                self._execute(tasks, ids, run_id, result, bar)
                self._flush(run_id, notes)
        finally:
            self._flush(run_id, notes)
            bar.close()

    def _tasks(self, layer, cyclic, op, owners, stages, aliases, maps, ids, notes, result, bar):
        """The writes one layer needs, prepared one by one; records with nothing to write are
        noted (skipped, merged, errored or unchanged) on the way."""
        fates: list = []
        for pr in layer:
            try:
                record, write_hash = self._prepare(pr, op, owners, stages, aliases, maps, fates, cyclic)
                if op.target == FILE_OBJECT:
                    record = self._file(pr, record, result)
            except _Missing as miss:
                notes.append((miss.op, (pr.source_object, pr.source_key, op.target, miss.reason)))
                result.add({"skip": "skipped", "merge": "merged"}.get(miss.op, "error"))
                bar.update()
                continue
            existing = ids.get(pr.source_key)
            if existing and existing[1] == write_hash:
                if self.note_unchanged:
                    notes.append(("skip", (pr.source_object, pr.source_key, op.target, UNCHANGED, existing[0])))
                result.add("unchanged")
                bar.update()
                continue
            yield pr, record, existing[0] if existing else None, write_hash

    def _flush(self, run_id: str, notes: list) -> None:
        for op in ("skip", "merge", "error"):
            self.ledger.note_many(run_id, op, [row for kind, row in notes if kind == op])
        notes.clear()

    def _prepare(self, pr: PlannedRecord, op: ObjectPlan, owners, stages, aliases, maps, fates, cyclic):
        """The record as it will be written (links as destination ids, owner, stage) and its hash."""
        if pr.skip_reason:
            kept = aliases.get((pr.source_object, pr.source_key))
            if kept is not None:  # a likely duplicate, folded into the record kept
                raise _Missing("merge", f"merged into {pr.source_object} {kept}: {pr.skip_reason}")
            raise _Missing("skip", pr.skip_reason)
        record = dataclasses.replace(pr.record, links={}, fields=dict(pr.record.fields), custom=dict(pr.record.custom),
                                     tags=list(pr.record.tags))
        for name, (sobj, skey) in pr.links.items():
            skey = aliases.get((sobj, skey), skey)
            table = maps.get(sobj)
            if table is None:  # links point at the record the source object loads as first
                table = maps[sobj] = self.ledger.id_map(sobj, self._targets.get(sobj))
            if skey in table:
                record.links[name] = table[skey][0]
                continue
            # a source object routed two ways (a patient as a contact, or as a lead): the other way
            other = self.ledger.id_map(sobj)
            if skey in other:
                record.links[name] = other[skey][0]
                continue
            if sobj == op.source_object and skey in cyclic:
                raise _Missing("error", f"its {sobj} {skey} is part of a circular chain of links, so neither can load first")
            if not fates:
                fates.append(self.ledger.fates())
            fate = fates[0].get((sobj, skey))
            # A record whose target was deliberately left out is left out too; one whose
            # target failed or never existed is an error someone must look at.
            if fate and fate[0] in ("skipped", "excluded"):
                raise _Missing("skip", f"its {sobj} {skey} was {fate[0]} ({fate[1]})")
            if fate:
                raise _Missing("error", f"its {sobj} {skey} was not migrated ({fate[0]}: {fate[1]})")
            raise _Missing("error", f"its {sobj} {skey} does not exist in the source (broken reference)")
        if pr.pipeline and op.pipeline_fields:
            pid, sid = stages[pr.pipeline]
            record.fields[op.pipeline_fields[0]], record.fields[op.pipeline_fields[1]] = pid, sid
        if owners is not None and self.dest.has_owners and op.target not in self.dest.ownerless:
            if op.owner_required and (pr.owner_email or "").strip().lower() not in owners.matched:
                who = (f"{pr.owner_email} has no {self.dest.display_name or self.dest.name} user" if pr.owner_email
                       else "its owner has no email in the source, so no user can be matched")
                raise _Missing("skip", f"{who}; these records belong to that person only: kept in the source "
                                       "and listed in the report")
            record.owner_id = owners.owner_id(pr.owner_email)
        kept = self._links.get((pr.source_object, pr.source_key))
        if kept and self._targets.get(pr.source_object) == op.target:
            record.custom[LINK_FIELD] = link_text(kept)
        # What lands in the destination depends on resolved ids too: a record whose owner can
        # now be matched, or whose stage was remapped, is rewritten although its source is not.
        resolved = json.dumps([pr.content_hash, record.owner_id, sorted(record.links.items()),
                               [record.fields.get(f) for f in op.pipeline_fields or ()],
                               record.custom.get(LINK_FIELD)], default=str)
        return record, hashlib.sha1(resolved.encode()).hexdigest()

    # --- writing ----------------------------------------------------------------------------
    def _execute(self, tasks, ids: dict, run_id: str, result: RunResult, bar) -> None:
        """Write ``tasks`` on the worker pool; tally fates; re-raise a spent quota after draining.

        New records of an object the adapter can create in bulk (``bulk_objects`` and
        ``create_many``, e.g. Freshsales' bulk upsert) go in batches of :data:`BULK_BATCH`.
        """
        tasks = iter(tasks)
        first = next(tasks, None)
        if first is None:
            return
        tasks = itertools.chain([first], tasks)
        if self.dest.has("bulk_create") and first[1].object in self.dest.bulk_objects:
            tasks = list(tasks)
            new = [t for t in tasks if t[2] is None]
            tasks = [t for t in tasks if t[2] is not None]
            for start in range(0, len(new), BULK_BATCH):
                for fate in self._write_many(new[start:start + BULK_BATCH], ids, run_id):
                    result.add(fate)
                    bar.update()
            if not tasks:
                return
        status = _Status(self.dest.limiter)
        stop: BaseException | None = None
        if self.workers == 1:
            for task in tasks:
                try:
                    result.add(self._write(*task, ids, run_id))
                except QuotaExhaustedError as exc:
                    stop = exc
                    break
                bar.update()
                status.show(bar)
        else:
            pending: set[Future] = set()
            queue = iter(tasks)
            with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="engine") as pool:
                try:
                    while True:
                        while stop is None and len(pending) < self.workers * 2:
                            task = next(queue, None)
                            if task is None:
                                break
                            pending.add(pool.submit(self._write, *task, ids, run_id))
                        if not pending:
                            break
                        done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                        for fut in done:
                            exc = fut.exception()
                            if isinstance(exc, QuotaExhaustedError):
                                stop = stop or exc
                            elif exc is not None:
                                stop = exc
                            else:
                                result.add(fut.result())
                                bar.update()
                        status.show(bar)
                except BaseException:
                    for fut in pending:
                        fut.cancel()
                    raise
        if stop is not None:
            raise stop

    def _before(self, pr: PlannedRecord, record: Record) -> dict | None:
        """What the record holds before an update: read back, or as last written; None if gone."""
        if not self.read_before:
            last = self.ledger.last_write(pr.source_object, pr.source_key, record.object)
            if last is not None and isinstance(last.after, dict):
                return last.after
        got = self.call(self.dest.get, record.object, record.id)
        return dataclasses.asdict(got) if got is not None else None

    def _write(self, pr: PlannedRecord, record: Record, existing: str | None, write_hash: str, ids: dict,
               run_id: str) -> str:
        """Create or update one record, journaled; returns its fate. Runs on a worker thread."""
        flags = "; ".join(pr.flags) or None
        seq = None
        where = dict(source_object=pr.source_object, source_key=pr.source_key, dest_object=record.object)
        try:
            if existing:
                record.id = existing
                before = self._before(pr, record)
                if before is not None:
                    seq = self.ledger.intent(run_id, "update", dest_id=existing, before=before,
                                             after=dataclasses.asdict(record), content_hash=write_hash, **where)
                    try:
                        self.call(self.dest.update, record)
                    except NotFoundError:  # deleted in the destination since: create it again
                        self.ledger.outcome(seq, state="abandoned", reason="gone from the destination; created again")
                    else:
                        self.ledger.outcome(seq, content_hash=write_hash, reason=flags)
                        ids[pr.source_key] = (existing, write_hash)
                        return "updated"
                record.id = None
            seq = self.ledger.intent(run_id, "create", after=dataclasses.asdict(record), content_hash=write_hash, **where)
            new_id, incomplete = self._create(record, pr.source_key)
            # an incomplete record keeps no hash: the next run sees it differ and writes it again
            done_hash = None if incomplete else write_hash
            self.ledger.outcome(seq, dest_id=new_id, content_hash=done_hash,
                                reason="; ".join(r for r in (flags, incomplete) if r) or None)
            ids[pr.source_key] = (new_id, done_hash)
            return "created"
        except QuotaExhaustedError:
            if seq is not None:  # refused before sending: nothing reached the destination
                self.ledger.outcome(seq, state="abandoned", reason="daily quota spent; written by the resumed run")
            raise
        except (FatalError, RetriableError, MappingError) as exc:
            if seq is not None:
                self.ledger.outcome(seq, state="failed", reason=str(exc))
            else:
                self.ledger.note(run_id, "error", reason=str(exc), **where)
            return "error"

    def _write_many(self, batch: list, ids: dict, run_id: str) -> list[str]:
        """Create a batch in one bulk call, each record journaled as its own intent and outcome.

        A retried batch cannot duplicate: bulk upsert keys every item on its Source ID.
        """
        seqs = [self.ledger.intent(run_id, "create", source_object=pr.source_object, source_key=pr.source_key,
                                   dest_object=record.object, after=dataclasses.asdict(record), content_hash=h)
                for pr, record, _, h in batch]
        try:
            answers = self.call(self.dest.create_many, [record for _, record, _, _ in batch])
        except QuotaExhaustedError:
            for seq in seqs:
                self.ledger.outcome(seq, state="abandoned", reason="daily quota spent; written by the resumed run")
            raise
        except (FatalError, RetriableError, MappingError) as exc:
            answers = [exc] * len(batch)
        fates = []
        for (pr, _, _, h), seq, answer in zip(batch, seqs, answers):
            if isinstance(answer, Exception):
                self.ledger.outcome(seq, state="failed", reason=str(answer))
                fates.append("error")
            else:
                self.ledger.outcome(seq, dest_id=str(answer), content_hash=h, reason="; ".join(pr.flags) or None)
                ids[pr.source_key] = (str(answer), h)
                fates.append("created")
        return fates

    # --- files --------------------------------------------------------------------------------
    def _file(self, pr: PlannedRecord, record: Record, result: RunResult) -> Record:
        check = check_file(record.fields, self.files_root, self.max_file_bytes, self.own_files)
        if check.problem:
            raise _Missing("error", check.problem)
        if check.upload:
            record.fields["path"] = str(check.path)
            record.fields.pop("size", None)  # the export's declared size is ours to check, not a field
            return record
        parent = next(iter(pr.links.values()), None)
        target = self._targets.get(parent[0]) if parent else None
        if target is None:
            raise _Missing("error", f"file {check.relative} is over the {self.max_file_bytes} byte limit and has "
                                    "no record to keep its link on")
        result.files_as_links.append({"source_object": pr.source_object, "source_key": pr.source_key,
                                      "file": check.relative, "bytes": check.size, "limit": self.max_file_bytes,
                                      "kept_on": f"{target} of {parent[0]} {parent[1]}", "field": LINK_FIELD})
        # the file stays where it is; its path travels in the parent's link field: merged into it
        raise _Missing("merge", f"merged into {parent[0]} {parent[1]}: larger than the destination's "
                                f"{self.max_file_bytes} byte limit ({check.size} bytes), kept as a link in its "
                                f"{target} field {LINK_FIELD}")


class _Status:
    """The limit the workers are waiting on, kept on screen for a few seconds after each wait."""

    def __init__(self, limiter):
        self.limiter, self.text, self.until = limiter, "", 0.0

    def show(self, bar) -> None:
        if self.limiter is None or bar.disable:
            return
        reason = getattr(self.limiter, "wait_reason", None)
        now = time.monotonic()
        if reason:
            self.text, self.until = f"waiting on {reason}", now + 3.0
        elif now > self.until:
            self.text = ""
        bar.set_postfix_str(self.text, refresh=False)
