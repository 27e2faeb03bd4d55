"""The sample: a small, representative, dependency-closed slice of a Plan for a staging account.

Representative: inside each destination object, records are grouped into strata by what makes
them behave differently in the CRM — pipeline stage, owner, and status (a ``status`` field and
every pick-list custom field named like a status or stage) — and picked round-robin across
strata, so that a 200-record sample shows every owner, every stage and every status before it
shows a second record of any. Objects get a share of the size in proportion to their record
counts, and take turns, so a small size still reaches every object.

Dependency-closed: a picked record brings the records it links to (a deal its contact, a
company its parent), so nothing in the sample fails for want of a parent; records whose
parents would not load at all are not offered. The total never exceeds the size asked for.
Selection is seeded, so the same export and seed give the same sample.
"""

from __future__ import annotations

import dataclasses

import random
from dataclasses import dataclass, field

from ..mapping import Plan, PlannedRecord

__all__ = ["SampleSelection", "select_sample", "PICKLIST_TYPES"]

PICKLIST_TYPES = {"single_option", "multiple_options", "checkbox"}
#: pick-list custom fields whose key holds one of these are status-like (patient_status, stage)
STATUS_WORDS = ("status", "stage")


@dataclass
class SampleSelection:
    """A sample and how it covers the plan.

    Attributes:
        plan: the sampled records, in load order, with the full plan's fields and pipelines.
        size: the size asked for.
        coverage: per object: records available and picked, strata seen and covered.
    """

    plan: Plan
    size: int
    coverage: list[dict] = field(default_factory=list)

    def count(self) -> int:
        return sum(len(o.records) for o in self.plan.objects)


def _stratum(pr: PlannedRecord, statuses: list[str]) -> tuple:
    rec = pr.record
    values = tuple(str(rec.custom.get(k)) for k in statuses)
    return (pr.pipeline[1] if pr.pipeline else None, pr.owner_email, str(rec.fields.get("status")), values)


def select_sample(plan: Plan, size: int = 200, seed: int = 0) -> SampleSelection:
    """Pick at most ``size`` records from ``plan``, stratified and dependency-closed.

    Raises:
        ValueError: ``size`` is not positive.
    """
    if size < 1:
        raise ValueError("the sample size must be at least 1")
    rng = random.Random(seed)
    # a record is (source object, key, target): one source record may become several records
    index: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
    by_id: dict[tuple[str, str, str], PlannedRecord] = {}
    for op in plan.objects:
        for pr in op.records:
            if not pr.skip_reason:
                ident = (pr.source_object, pr.source_key, op.target)
                by_id[ident] = pr
                index.setdefault((pr.source_object, pr.source_key), []).append(ident)

    def parents(pr: PlannedRecord, seen: set) -> list[tuple[str, str, str]] | None:
        """Every record ``pr`` needs, transitively; None when one of them will not load."""
        out = []
        for sobj, skey in pr.links.values():
            key = (sobj, plan.aliases.get((sobj, skey), skey))
            if key in seen:
                continue
            if key not in index:
                return None
            seen.add(key)
            for ident in index[key]:
                more = parents(by_id[ident], seen)
                if more is None:
                    return None
                out.extend([ident, *more])
        return out

    closures: dict[tuple[str, str, str], list[tuple[str, str, str]]] = {}
    for ident, pr in by_id.items():
        need = parents(pr, {ident[:2]})
        if need is not None:
            closures[ident] = need
    available = {(op.source_object, op.target): [pr for pr in op.records
                                                 if (pr.source_object, pr.source_key, op.target) in closures]
                 for op in plan.objects}
    total = sum(len(v) for v in available.values()) or 1
    quota = {k: min(len(recs), max(1, round(size * len(recs) / total))) for k, recs in available.items() if recs}

    picked: dict[tuple[str, str, str], None] = {}
    count: dict[tuple[str, str], int] = {}
    states = []
    # dependents first: their parents come with them and count against the parents' share
    for op in reversed(plan.objects):
        here = (op.source_object, op.target)
        statuses = sorted(cf.key for cf in plan.custom_fields if cf.object == op.target and cf.type in PICKLIST_TYPES
                          and any(w in cf.key for w in STATUS_WORDS))
        strata: dict[tuple, list[PlannedRecord]] = {}
        for pr in available.get(here) or []:
            strata.setdefault(_stratum(pr, statuses), []).append(pr)
        order = sorted(strata, key=repr)
        rng.shuffle(order)
        for key in order:
            rng.shuffle(strata[key])
        member = {(pr.source_object, pr.source_key, op.target): key for key, recs in strata.items() for pr in recs}
        states.append({"op": op, "here": here, "strata": strata, "order": order, "next": 0, "member": member,
                       "by": ["pipeline stage", "owner", "status", *statuses]})

    def covered(state) -> set:
        return {state["member"][k] for k in picked if k in state["member"]}

    def take(state) -> bool:
        """Pick one record (with what it needs) from the state's next stratum — one not yet
        represented, while there are any — that has a record that fits."""
        order, strata = state["order"], state["strata"]
        seen = covered(state)
        candidates = [s for s in order if s not in seen and strata[s]] or order
        for _ in range(len(order)):
            s = order[state["next"] % len(order)]
            state["next"] += 1
            if s not in candidates:
                continue
            while strata[s]:
                pr = strata[s].pop()
                ident = (pr.source_object, pr.source_key, state["op"].target)
                new = [k for k in dict.fromkeys([ident, *closures[ident]]) if k not in picked]
                if not new or len(picked) + len(new) > size:
                    continue
                for k in new:
                    picked[k] = None
                    count[(k[0], k[2])] = count.get((k[0], k[2]), 0) + 1
                return True
        return False

    def wants(state) -> bool:
        if count.get(state["here"], 0) < quota.get(state["here"], 0):
            return True
        # past its share, an object still shows each of its strata once
        return any(state["strata"][s] for s in state["order"] if s not in covered(state))

    # rounds: every object in turn takes one record from its next stratum, until each has its
    # share and every stratum, or nothing more fits - so a small size reaches every object
    progressed = True
    while progressed and len(picked) < size:
        progressed = False
        for state in states:
            if len(picked) < size and wants(state):
                progressed = take(state) or progressed
    coverage = [{"object": st["op"].source_object, "target": st["op"].target,
                 "available": len(available.get(st["here"]) or []), "picked": count.get(st["here"], 0),
                 "strata": len(st["order"]), "strata_covered": len(covered(st)), "stratified_by": st["by"]}
                for st in reversed(states)]
    chosen = [dataclasses.replace(op, records=[pr for pr in op.records
                                               if (pr.source_object, pr.source_key, op.target) in picked])
              for op in plan.objects]
    sub = Plan(plan.source, plan.destination, chosen, [], plan.custom_fields, plan.pipelines, plan.aliases,
               mapping=plan.mapping)
    return SampleSelection(sub, size, coverage)
