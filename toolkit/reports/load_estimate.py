"""The estimate: how long the load takes at the destination's quota, and how hard the migration is.

From the source's record counts and the plan the mapping makes of them (no network call), and
the destination's limits (:mod:`toolkit.reports.quotas`):

* **calls**: the calls each destination record's write takes (fewer where a bulk endpoint
  carries many, more where the CRM needs a second call: a HighLevel custom record's relation to
  its contact, a file's attaching note), plus set-up (users, pipelines, one custom-field list per
  object, one create per custom field, each custom object's schema) and the reconciliation's
  read-back (list pages, and the reads under each contact where the CRM keeps records there);
* **minimum load time**: the calls at the fastest sustained rate the burst and hourly limits
  allow — the time the API is busy, if nothing else ever waited;
* **calendar days**: the days the load spans at the daily cap (requests, or Pipedrive tokens).

The complexity grade is our own rule, four factors each scored 1 (low) to 3 (high):

=================== ==================================================== ====== ====== =====
factor              measured as                                          1      2      3
=================== ==================================================== ====== ====== =====
object compatibility share of source records no route takes to a          ≤ 10%  ≤ 40%  more
                    destination object (they stay behind or need a
                    custom object)
mapping clarity     share of active fields neither confirmed by a person  ≤ 10%  ≤ 30%  more
                    nor proposed with confidence ≥ 0.9
API limits          calendar days at the daily cap                        1      ≤ 5    more
volume              destination records to write                          < 10k  < 250k more
=================== ==================================================== ====== ====== =====

The sum (4–12) gives the grade: 4–5 **A** straightforward, 6–7 **B** moderate, 8–9 **C**
involved, 10–12 **D** complex.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..shapes import UNMAPPED_STAGE
from .quotas import Quota

__all__ = ["Estimate", "estimate_plan", "GRADES", "grade"]

GRADES = ((5, "A", "straightforward"), (7, "B", "moderate"), (9, "C", "involved"), (12, "D", "complex"))
CLEAR_CONFIDENCE = 0.9


def _score(value: float, low: float, mid: float) -> int:
    return 1 if value <= low else 2 if value <= mid else 3


def grade(scores: list[int]) -> tuple[str, str]:
    """The letter and word for a total of factor scores."""
    total = sum(scores)
    return next((letter, word) for top, letter, word in GRADES if total <= top)


@dataclass
class Estimate:
    """The estimate of one migration.

    Attributes:
        objects: per route: source object, destination object, records to write, write calls, units.
        unrouted: source object -> records no route takes.
        setup_calls, verify_calls: calls outside the writes.
        calls, units: totals (units are requests, or tokens for Pipedrive).
        load_seconds: the minimum load time.
        calendar_days: days at the daily cap.
        factors: one row per complexity factor: value, score, why.
        grade, grade_word: the complexity grade.
        assumptions: what was assumed, in words.
    """

    source: str
    destination: str
    source_records: int
    objects: list[dict]
    unrouted: dict[str, int]
    setup_calls: int
    verify_calls: int
    calls: int
    units: float
    unit: str
    rate: float
    daily: int | None
    load_seconds: float
    calendar_days: int
    factors: list[dict]
    grade: str
    grade_word: str
    quota_source: str
    assumptions: list[str] = field(default_factory=list)

    @property
    def records(self) -> int:
        return int(sum(o["records"] for o in self.objects))

    def summary(self) -> dict:
        out = {"source records": self.source_records, "records to write": self.records, "API calls": self.calls}
        if self.unit != "requests":
            out[f"{self.unit} used"] = int(math.ceil(self.units))
        return out | {"minimum load time": human_duration(self.load_seconds),
                      "calendar days at the daily cap": self.calendar_days,
                      f"complexity: {self.grade_word}": self.grade}

    def to_dict(self) -> dict:
        return {"summary": self.summary(), "source": self.source, "destination": self.destination,
                "objects": self.objects, "unrouted": self.unrouted, "setup_calls": self.setup_calls,
                "verify_calls": self.verify_calls, "calls": self.calls, "units": self.units, "unit": self.unit,
                "rate_per_second": self.rate, "daily_cap": self.daily, "load_seconds": round(self.load_seconds, 1),
                "calendar_days": self.calendar_days, "factors": self.factors, "grade": self.grade,
                "grade_word": self.grade_word, "quota_source": self.quota_source, "assumptions": self.assumptions}


def human_duration(seconds: float) -> str:
    """``3 h 20 min``, ``45 min``, ``12 s``."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    if minutes < 60:
        return f"{minutes:.0f} min"
    hours, rest = divmod(minutes, 60)
    if hours < 48:
        return f"{hours:.0f} h {rest:.0f} min"
    return f"{hours / 24:.1f} days"


def estimate_plan(plan, snapshot, spec, quota: Quota, *, assumptions: list[str] | None = None) -> Estimate:
    """Estimate the load of ``plan`` (built from ``snapshot`` under ``spec``) at ``quota``.

    ``plan`` and ``spec`` may be ``None`` (no mapping for the pair yet): every source record is
    then counted as one record to write, and mapping clarity is scored high.
    """
    assumptions = list(assumptions or []) + list(quota.assumptions)
    counts = snapshot.counts()
    if plan is None:
        # No mapping for this pair yet: every source record counted as one record to write.
        routes = [(obj, "record", n, 0, 0.0) for obj, n in counts.items()]
        unrouted: dict[str, int] = {}
        n_custom, targets = 0, {"record"}
        assumptions.append("no mapping yet: every source record counted as one destination record (an upper bound)")
    else:
        # the last figure: calls for what the CRM sets by a call of its own (a HighLevel contact's business)
        routes = [(op.source_object, op.target, sum(1 for r in op.records if r.skip_reason is None),
                   sum(1 for r in op.records if r.skip_reason is not None),
                   sum(quota.part_calls(op.target, {**r.record.links, **{k: v for k, v in r.links.items() if v}},
                                        r.record.fields) for r in op.records if r.skip_reason is None))
                  for op in plan.objects]
        unrouted = {}
        for obj, _key, _reason in plan.unrouted + plan.excluded + plan.merged:
            unrouted[obj] = unrouted.get(obj, 0) + 1
        n_custom = len(plan.custom_fields)
        targets = {op.target for op in plan.objects} | {cf.object for cf in plan.custom_fields}
    rows = []
    for source, target, n, skipped, part_calls in routes:
        batches = math.ceil(n / quota.per_call(target))
        calls = math.ceil(batches * quota.calls_for(target))
        if quota.per_call(target) > 1:  # what each bulk call is followed by (a job to poll, ids to find)
            calls += math.ceil(batches * quota.calls_per_batch)
        calls += math.ceil(part_calls)
        units = calls * quota.cost(target) if quota.unit == "tokens" else calls
        rows.append({"source": source, "destination": target, "records": n, "skipped by rule": skipped,
                     "write calls": calls, quota.unit: units})
    custom_objects = {t for t in targets if t.startswith("custom_object:")}
    # users, pipelines, one field list per object, one create per field, each custom object's
    # schema, the reads each object costs besides (catalogues again, view ids, what is there
    # already), and (where the API makes them) each pipeline and its stages, review stage included
    pipelines = (plan.pipelines if plan is not None else None) or {}
    setup = 2 + len(targets) + n_custom + quota.setup_per_custom_object * len(custom_objects) + \
        quota.run_reads + quota.object_reads(targets) + \
        math.ceil((quota.setup_per_pipeline + quota.reads_per_pipeline) * len(pipelines)
                  + quota.setup_per_stage * sum(len(set(st) | {UNMAPPED_STAGE}) for st in pipelines.values()))
    parents = sum(r["records"] for r in rows if r["destination"] in quota.reads_under)
    # reconcile: every object listed a page at a time, and what hangs under each parent read there
    verify = sum(math.ceil(max(r["records"], 1) / quota.page_size) for r in rows) + \
        parents * quota.reads_per_contact(targets)
    write_calls = sum(r["write calls"] for r in rows)
    calls = write_calls + setup + verify
    units = sum(r[quota.unit] for r in rows) + (setup + verify) * (quota.list_cost if quota.unit == "tokens" else 1)
    load_seconds = calls / quota.rate
    days = max(1, math.ceil(units / quota.daily)) if quota.daily else 1

    total = max(sum(counts.values()), 1)
    left_out = sum(unrouted.values()) / total
    fields = [f for o in (spec.objects if spec else []) for f in o.fields if f.active]
    unclear = (sum(1 for f in fields if f.status != "confirmed" and f.confidence < CLEAR_CONFIDENCE) / len(fields)
               if fields else 1.0)
    records = sum(r["records"] for r in rows)
    factors = [
        {"factor": "object compatibility", "value": f"{left_out:.0%} of records have no destination object",
         "score": _score(left_out, 0.10, 0.40),
         "why": ("left behind: " + ", ".join(f"{o} ({n:,})" for o, n in sorted(unrouted.items(), key=lambda kv: -kv[1])))
         if unrouted else "every source object has a destination"},
        {"factor": "mapping clarity", "value": f"{unclear:.0%} of fields unclear", "score": _score(unclear, 0.10, 0.30),
         "why": "no mapping yet" if spec is None else
         f"{len(fields)} active fields; unclear = not confirmed and confidence below {CLEAR_CONFIDENCE}"},
        {"factor": "API limits", "value": f"{days} calendar day{'s' if days != 1 else ''}", "score": _score(days, 1, 5),
         "why": f"{math.ceil(units):,} {quota.unit} against {quota.daily:,} a day" if quota.daily else "no daily cap"},
        {"factor": "volume", "value": f"{records:,} records", "score": _score(records, 9_999, 249_999),
         "why": "destination records to write"},
    ]
    letter, word = grade([f["score"] for f in factors])
    return Estimate(source=snapshot.source, destination=quota.name, source_records=sum(counts.values()), objects=rows,
                    unrouted=unrouted, setup_calls=setup, verify_calls=verify, calls=calls, units=units,
                    unit=quota.unit, rate=quota.rate, daily=quota.daily, load_seconds=load_seconds,
                    calendar_days=days, factors=factors, grade=letter, grade_word=word,
                    quota_source=quota.source, assumptions=assumptions)
