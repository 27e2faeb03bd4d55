"""The engine: executes a Plan against a destination adapter, recording everything in the ledger.

For each record: journal the intent, call the destination, journal the outcome (and the id map)
— in that order, so that a crash between call and record is visible on restart as a pending
intent, settled by looking the record up by its Source ID field instead of creating it twice.
Transient failures (:class:`~toolkit.errors.RetriableError`) are retried with jittered
exponential back-off, honouring the wait the destination asked for; request errors
(:class:`~toolkit.errors.FatalError`) end that record as errored with the vendor's message; a
spent daily quota (:class:`~toolkit.errors.QuotaExhaustedError`) stops the run cleanly.
"""

from __future__ import annotations

import dataclasses
import random
import time
from dataclasses import dataclass, field
from typing import Callable

from tqdm.auto import tqdm

from .destinations import CustomField, Destination, Pipeline
from .errors import ConfigError, FatalError, QuotaExhaustedError, RateLimitedError, RetriableError
from .ledger import UNCHANGED, Ledger
from .mapping import UNMAPPED_STAGE, Plan, PlannedRecord
from .owner_resolution import OwnerResolution

__all__ = ["Engine", "RunResult"]


@dataclass
class RunResult:
    """What a run did. ``counts`` maps fate (created, updated, skipped, error) to records."""

    run_id: str
    mode: str
    status: str
    counts: dict[str, int] = field(default_factory=dict)
    message: str = ""
    seconds: float = 0.0

    def add(self, fate: str, n: int = 1) -> None:
        self.counts[fate] = self.counts.get(fate, 0) + n


class Engine:
    """Runs plans against one destination account.

    Args:
        destination: the adapter.
        ledger: the workspace's ledger.
        max_attempts: tries per call before a transient failure becomes the record's error.
        progress: show tqdm bars.
        sleep: injected for tests.
    """

    def __init__(self, destination: Destination, ledger: Ledger, *, max_attempts: int = 6,
                 progress: bool = True, sleep: Callable[[float], None] = time.sleep):
        self.dest, self.ledger = destination, ledger
        self.max_attempts, self.progress, self.sleep = max_attempts, progress, sleep
        self._rng = random.Random()

    # --- calls with retries -------------------------------------------------------------
    def call(self, fn, *args):
        """Call the destination, retrying transient failures with jittered back-off."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                return fn(*args)
            except RetriableError as exc:
                if attempt == self.max_attempts:
                    raise
                wait = min(30.0, 0.5 * 2 ** (attempt - 1)) * (0.5 + self._rng.random())
                if isinstance(exc, RateLimitedError) and exc.retry_after:
                    wait = max(wait, exc.retry_after)
                self.sleep(wait)

    # --- before loading -----------------------------------------------------------------
    def settle_pending(self, run_id: str) -> int:
        """Settle intents left without an outcome by an interrupted run; returns how many."""
        settled = 0
        for entry in self.ledger.pending():
            if entry.op == "create" and entry.source_key:
                found = self.call(self.dest.find_by_source_id, entry.dest_object, entry.source_key)
                if found:
                    self.ledger.outcome(entry.seq, dest_id=found, reason="settled on resume: found by Source ID")
                else:
                    self.ledger.outcome(entry.seq, state="abandoned", reason="interrupted before the destination created it")
            elif entry.op == "delete" and entry.dest_id:
                gone = self.call(self.dest.get, entry.dest_object, entry.dest_id) is None
                self.ledger.outcome(entry.seq, state="done" if gone else "abandoned", reason="settled on resume")
            else:
                # An update or provision that may or may not have landed: the content hash was not
                # recorded, so the next pass simply writes it again (updates are idempotent).
                self.ledger.outcome(entry.seq, state="abandoned", reason="interrupted; redone by this run")
            settled += 1
        return settled

    def provision(self, plan: Plan, run_id: str) -> list[CustomField]:
        """Create the custom fields the plan needs and the destination lacks."""
        created = []
        for obj in dict.fromkeys(cf.object for cf in plan.custom_fields):
            existing = {cf.key for cf in self.call(self.dest.list_custom_fields, obj)}
            for cf in (c for c in plan.custom_fields if c.object == obj and c.key not in existing):
                seq = self.ledger.intent(run_id, "provision", dest_object=f"custom_field:{obj}", source_key=cf.key,
                                         after=dataclasses.asdict(cf))
                made = self.call(self.dest.create_custom_field, cf)
                self.ledger.outcome(seq, dest_id=made.id, after=dataclasses.asdict(made))
                created.append(made)
        return created

    def pipelines(self, plan: Plan) -> dict[tuple[str, str], tuple[str, str]]:
        """(pipeline name, stage name) -> (pipeline id, stage id), falling back to the review stage.

        Raises:
            ConfigError: a pipeline, or its review stage, does not exist in the destination.
        """
        if not plan.pipelines:
            return {}
        have: dict[str, Pipeline] = {p.name.strip().lower(): p for p in self.call(self.dest.list_pipelines)}
        out = {}
        for name, stages in plan.pipelines.items():
            pipe = have.get(name.strip().lower())
            if pipe is None:
                raise ConfigError(f"pipeline {name!r} does not exist in the destination; create it with stages "
                                  f"{', '.join(sorted(stages | {UNMAPPED_STAGE}))}")
            for stage in stages:
                st = pipe.stage(stage) or pipe.stage(UNMAPPED_STAGE)
                if st is None:
                    raise ConfigError(f"pipeline {name!r} has no stage {stage!r} and no {UNMAPPED_STAGE!r} stage")
                out[(name, stage)] = (pipe.id, st.id)
        return out

    # --- the run --------------------------------------------------------------------------
    def run(self, plan: Plan, owners: OwnerResolution | None, *, mode: str = "full",
            watermark: str | None = None) -> RunResult:
        """Load ``plan``. Safe to call again after any interruption: it resumes."""
        t0 = time.monotonic()
        run_id = self.ledger.start_run(mode, {"counts": plan.counts()})
        result = RunResult(run_id, mode, "running")
        try:
            if owners is not None and self.dest.has_owners:
                owners.check()
            self.settle_pending(run_id)
            self.provision(plan, run_id)
            stages = self.pipelines(plan)
            self.ledger.note_many(run_id, "skip", [(o, k, None, r) for o, k, r in plan.unrouted])
            result.add("skipped", len(plan.unrouted))
            for op in plan.objects:
                self._load_object(op, owners, stages, run_id, result, plan.aliases)
            result.status = "finished"
        except QuotaExhaustedError as exc:
            result.status, result.message = "paused", f"daily quota spent; resume after {exc.resume_at or 'the reset'}"
        finally:
            result.seconds = time.monotonic() - t0
            self.ledger.finish_run(run_id, result.status, watermark if result.status == "finished" else None,
                                   {"counts": result.counts, "message": result.message, "seconds": result.seconds})
        return result

    def _load_object(self, op, owners, stages, run_id, result, aliases) -> None:
        ids = {k: v for k, v in self.ledger.id_map(op.source_object, op.target).items()}
        linked: dict[str, dict[str, tuple[str, str | None]]] = {}
        fates = None
        bar = tqdm(op.records, desc=f"{op.source_object} -> {op.target}", unit="rec", disable=not self.progress,
                   mininterval=0.5)
        for pr in bar:
            if pr.skip_reason:
                self.ledger.note(run_id, "skip", source_object=pr.source_object, source_key=pr.source_key,
                                 dest_object=op.target, reason=pr.skip_reason)
                result.add("skipped")
                continue
            record = dataclasses.replace(pr.record, links={}, fields=dict(pr.record.fields))
            missing = None
            for name, (sobj, skey) in pr.links.items():
                skey = aliases.get((sobj, skey), skey)
                table = linked.setdefault(sobj, self.ledger.id_map(sobj))
                if skey in table:
                    record.links[name] = table[skey][0]
                    continue
                fates = fates if fates is not None else self.ledger.fates()
                fate = fates.get((sobj, skey))
                # A record whose parent was deliberately left out is left out too; one whose
                # parent failed or never existed is an error someone must look at.
                if fate and fate[0] == "skipped":
                    missing = ("skip", f"its {sobj} {skey} was skipped ({fate[1]})")
                elif fate:
                    missing = ("error", f"its {sobj} {skey} was not migrated ({fate[0]}: {fate[1]})")
                else:
                    missing = ("error", f"its {sobj} {skey} does not exist in the source (broken reference)")
                break
            if missing:
                self.ledger.note(run_id, missing[0], source_object=pr.source_object, source_key=pr.source_key,
                                 dest_object=op.target, reason=missing[1])
                result.add("skipped" if missing[0] == "skip" else "error")
                continue
            if pr.pipeline and op.pipeline_fields:
                pid, sid = stages[pr.pipeline]
                record.fields[op.pipeline_fields[0]], record.fields[op.pipeline_fields[1]] = pid, sid
            if owners is not None and self.dest.has_owners:
                record.owner_id = owners.owner_id(pr.owner_email)
            self._write(pr, record, ids, run_id, result)
            if self.progress and getattr(self.dest, "limiter", None) is not None:
                reason = getattr(self.dest.limiter, "wait_reason", None)
                if reason:
                    bar.set_postfix_str(reason, refresh=False)

    def _write(self, pr: PlannedRecord, record, ids, run_id, result) -> None:
        existing = ids.get(pr.source_key)
        if existing and existing[1] == pr.content_hash:
            self.ledger.note(run_id, "skip", source_object=pr.source_object, source_key=pr.source_key,
                             dest_object=record.object, dest_id=existing[0], reason=UNCHANGED)
            result.add("unchanged")
            return
        try:
            if existing:
                record.id = existing[0]
                before = self.call(self.dest.get, record.object, record.id)
                if before is None:  # deleted in the destination since: create it again
                    existing = None
                    record.id = None
            if existing:
                seq = self.ledger.intent(run_id, "update", source_object=pr.source_object, source_key=pr.source_key,
                                         dest_object=record.object, dest_id=record.id,
                                         before=dataclasses.asdict(before), after=dataclasses.asdict(record))
                self.call(self.dest.update, record)
                self.ledger.outcome(seq, content_hash=pr.content_hash, reason="; ".join(pr.flags) or None)
                result.add("updated")
            else:
                seq = self.ledger.intent(run_id, "create", source_object=pr.source_object, source_key=pr.source_key,
                                         dest_object=record.object, after=dataclasses.asdict(record))
                new_id = self.call(self.dest.create, record)
                self.ledger.outcome(seq, dest_id=new_id, content_hash=pr.content_hash, reason="; ".join(pr.flags) or None)
                ids[pr.source_key] = (new_id, pr.content_hash)
                result.add("created")
        except QuotaExhaustedError:
            raise
        except (FatalError, RetriableError) as exc:
            if "seq" in locals():
                self.ledger.outcome(seq, state="failed", reason=str(exc))
            else:
                self.ledger.note(run_id, "error", source_object=pr.source_object, source_key=pr.source_key,
                                 dest_object=record.object, reason=str(exc))
            result.add("error")
