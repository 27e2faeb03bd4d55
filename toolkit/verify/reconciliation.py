"""Reconciliation: the source, the ledger and the destination read back, accounted for each other.

* **Fates** — every source record: created, updated, skipped with a reason, errored with a
  reason, rolled back, or *unaccounted* (no outcome in the ledger, or the ledger names a
  destination record that is not there).
* **Counts** per object: source records, each fate, destination records.
* **Field totals** — every numeric field the mapping writes (deal amounts, balances): the sum
  the source should produce over the records loaded, against the sum read back.
* **Population** — per field, the share of loaded records that should carry a value and the
  share that do.
* **Relationship integrity** — every loaded record's links (a deal's contact, a contact's
  company) point at the destination record its source link maps to, and that record exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

import pandas as pd

from ..load.attachments import FILE_INPUTS, FILE_OBJECT
from ..destinations import Destination, Record
from ..load.fates import fate_counts, fates_per_object, source_fates
from ..load.ledger import Ledger
from ..mapping import Plan
from ..shapes import Snapshot
from .readback import KINDS, compare, list_destination

__all__ = ["Reconciliation", "reconcile_run"]

LOADED = {"created", "updated"}


@dataclass
class Reconciliation:
    """The reconciliation's tables (see the module docstring)."""

    fates: pd.DataFrame
    objects: pd.DataFrame
    integrity: list[dict]
    field_totals: pd.DataFrame = field(default_factory=pd.DataFrame)
    population: pd.DataFrame = field(default_factory=pd.DataFrame)
    destination_counts: dict[str, int] = field(default_factory=dict)
    #: every difference the independent read-back found (see :mod:`.readback`)
    findings: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["kind", "object", "source_key", "field", "expected", "actual", "id"]))

    def summary(self) -> dict:
        figures = fate_counts(self.fates)
        unaccounted = figures["unaccounted"]
        off_totals = int((~self.field_totals["match"].astype(bool)).sum()) if len(self.field_totals) else 0
        by_kind = self.findings["kind"].value_counts().to_dict() if len(self.findings) else {}
        differences = {k: int(by_kind.get(k, 0)) for k in KINDS}
        problems = sum(differences.values())
        return {**figures, "broken_links": len(self.integrity), "totals_off": off_totals,
                "crm_records": int(sum(self.destination_counts.values())), **differences,
                "ok": (unaccounted == 0 and not self.integrity and off_totals == 0 and problems == 0
                       and figures["errors"] == figures["set_aside"])}

    def look_first(self) -> list[str]:
        """What to look at first when the reconciliation is not ok, most serious first."""
        s, out = self.summary(), []
        for key, what in (("unaccounted", "source records with no outcome"), ("errors", "source records in error"), ("missing in the CRM", "records missing in the CRM"),
                          ("duplicate Source ID", "Source IDs carried twice"),
                          ("unknown to the ledger", "CRM records the ledger does not know"),
                          ("edited in the CRM", "values edited in the CRM"),
                          ("changed in the source", "values changed in the source and not carried (run a delta)"),
                          ("deleted in the source", "records deleted in the source, still in the CRM"),
                          ("moved in the CRM", "records the ledger finds elsewhere"), ("broken_links", "broken links"),
                          ("totals_off", "field totals that differ")):
            n = s.get(key, 0) - (s.get("set_aside", 0) if key == "errors" else 0)
            if n:
                out.append(f"{n:,} {what}")
        return out

    def to_dict(self) -> dict:
        return {"summary": self.summary(), "look_first": self.look_first(), "objects": self.objects.to_dict("records"),
                "findings": self.findings.to_dict("records"),
                "field_totals": self.field_totals.to_dict("records"), "population": self.population.to_dict("records"),
                "integrity": self.integrity, "destination_counts": self.destination_counts,
                "fates": self.fates.to_dict("records")}


def _number(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def _filled(v: Any) -> bool:
    # an unticked checkbox reads back as False where the source simply had no value
    if v is None or v is pd.NA or v is False:
        return False
    if isinstance(v, float):
        return v == v
    if isinstance(v, str):
        return bool(v.strip())
    return len(v) > 0 if hasattr(v, "__len__") else True


def _one_by_one(dest: Destination, objects: list[str]) -> dict:
    out: dict = {}
    for obj in objects:
        try:
            out[obj] = list(dest.iter_records(obj))
        except NotImplementedError as exc:
            out[obj] = exc
    return out


def reconcile_run(snapshot: Snapshot, plan: Plan, ledger: Ledger, dest: Destination,
                  read_back: Callable[[list[str]], dict] | None = None) -> Reconciliation:
    """Account for every source record of ``snapshot`` and check the destination against ``plan``.

    Args:
        read_back: how to list objects' records (the engine's :meth:`~toolkit.load.engine.Engine.read_back`:
            retrying, side by side, inside the adapter's bulk reads); default the adapter's
            ``iter_records`` as it is, one object after another.
    """
    read_back = read_back or (lambda objs: _one_by_one(dest, objs))
    # the CRM listed on its own, object by object (only what the plan writes: listing every
    # object an adapter knows would spend the quota on records the migration never touched)
    listings = list_destination(plan, read_back)
    findings, found = compare(plan, snapshot, ledger, dest, listings)
    present: dict[str, dict[str, Record]] = {obj: lst.by_id for obj, lst in listings.items()}
    every = {rid for recs in present.values() for rid in recs}
    mapped = {(s, k): d for s, k, _, d in ledger.mapped()}
    # links point at the record a source object loads as first (a patient's person, not its lead)
    first: dict[str, str] = {}
    for op in plan.objects:
        first.setdefault(op.source_object, op.target)
    link_ids = {(s, k): d for s, k, o, d in ledger.mapped() if first.get(s) == o}

    # the one computation of every source record's fate (the same the other reports use), then
    # a record the ledger says is loaded but the CRM does not list is unaccounted for
    fate_df = source_fates(snapshot, ledger)
    ids = pd.Series([mapped.get(k) for k in zip(fate_df["object"], fate_df["source_key"])], index=fate_df.index,
                    dtype=object)
    lost = fate_df["fate"].isin(LOADED) & ~ids.isin(every)
    fate_df.loc[lost, "reason"] = ("ledger says " + fate_df.loc[lost, "fate"] + " as " + ids[lost].astype(str)
                                   + ", but the destination has no such record")
    fate_df.loc[lost, "fate"] = "unaccounted"
    per_object = fates_per_object(fate_df, snapshot.tables)

    totals, population, integrity = [], [], []
    for op in plan.objects:
        loaded = [(pr, found[(op.source_object, pr.source_key, op.target)]) for pr in op.records
                  if not pr.skip_reason and (op.source_object, pr.source_key, op.target) in found]
        if not loaded:
            continue
        label = f"{op.source_object} -> {op.target}"
        inputs = FILE_INPUTS if op.target == FILE_OBJECT else frozenset()
        names = dict.fromkeys([("fields", n) for pr, _ in loaded for n in pr.record.fields if n not in inputs]
                              + [("custom", n) for pr, _ in loaded for n in pr.record.custom])
        for part, name in names:
            exp = [getattr(pr.record, part).get(name) for pr, _ in loaded]
            act = [getattr(got, part).get(name) for _, got in loaded]
            population.append({"object": label, "field": name if part == "fields" else f"custom.{name}",
                               "expected_pct": round(100.0 * sum(map(_filled, exp)) / len(loaded), 1),
                               "destination_pct": round(100.0 * sum(map(_filled, act)) / len(loaded), 1)})
            vals = [v for v in exp if _filled(v)]
            if vals and all(isinstance(v, (int, float, Decimal)) and not isinstance(v, bool) for v in vals):
                totals.append(_total(op, part, name, loaded))
        readable = {name for _, got in loaded for name in got.links}
        for pr, got in loaded:
            for name, (sobj, skey) in pr.links.items():
                skey = plan.aliases.get((sobj, skey), skey)
                want = link_ids.get((sobj, skey), mapped.get((sobj, skey)))
                link = got.links.get(name)
                problem = None
                if name not in readable:
                    continue  # the adapter does not read this link back; nothing to compare
                if link is None:
                    problem = f"{name} is empty; expected {sobj} {skey}" + (f" ({want})" if want else "")
                elif link not in every:
                    problem = f"{name} points at {link}, which does not exist in the destination"
                elif want and link != want:
                    problem = f"{name} points at {link}, but {sobj} {skey} is {want}"
                if problem:
                    integrity.append({"object": label, "source_key": pr.source_key, "id": got.id, "problem": problem})
    # records the plan did not write, linking the way the plan links, must not dangle either
    # (links to things the toolkit does not list, such as a calendar, are not checked)
    ours = {(op.target, name) for op in plan.objects for pr in op.records for name in pr.links}
    seen = {i["id"] for i in integrity}
    for obj, recs in present.items():
        for rid, rec in recs.items():
            for name, link in rec.links.items():
                if (obj, name) in ours and link and link not in every and rid not in seen:
                    integrity.append({"object": obj, "source_key": None, "id": rid,
                                      "problem": f"{name} points at {link}, which does not exist in the destination"})
    return Reconciliation(fate_df, per_object, integrity, pd.DataFrame(totals),
                          pd.DataFrame(population), {o: len(r) for o, r in present.items()},
                          _table([f.to_dict() for f in findings],
                                 ["kind", "object", "source_key", "field", "expected", "actual", "id"]))


def _table(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """Rows as a table whose empty cells stay None (never NaN), as they read in the JSON figures."""
    df = pd.DataFrame(rows, columns=columns).astype(object)
    return df.where(df.notna(), None)


def _total(op, part: str, name: str, loaded: list) -> dict:
    """One numeric field summed over every record the mapping moves, source against CRM, with the
    difference explained: the records that did not move, and those whose value differs."""
    value = lambda rec: _number(getattr(rec, part).get(name))  # noqa: E731
    moving = [pr for pr in op.records if not pr.skip_reason]
    src_all = round(sum(n for pr in moving if (n := value(pr.record)) is not None), 2)
    src_loaded = round(sum(n for pr, _ in loaded if (n := value(pr.record)) is not None), 2)
    dst = round(sum(n for _, got in loaded if (n := value(got)) is not None), 2)
    loaded_keys = {pr.source_key for pr, _ in loaded}
    not_moved = [(pr.source_key, value(pr.record)) for pr in moving
                 if pr.source_key not in loaded_keys and value(pr.record)]
    differ = [(pr.source_key, value(pr.record), value(got)) for pr, got in loaded
              if abs((value(pr.record) or 0) - (value(got) or 0)) >= 0.005]
    why = []
    if not_moved:
        why.append(f"{len(not_moved)} records not in the CRM hold {round(sum(v for _, v in not_moved), 2):,} "
                   f"({', '.join(k for k, _ in not_moved[:5])}{'…' if len(not_moved) > 5 else ''})")
    if differ:
        why.append(f"{len(differ)} records differ: " + ", ".join(f"{k} {a} -> {b}" for k, a, b in differ[:5]))
    return {"object": f"{op.source_object} -> {op.target}", "field": name if part == "fields" else f"custom.{name}",
            "records": len(moving), "source_total_all": src_all, "source_total_loaded": src_loaded,
            "destination_total": dst, "difference": round(dst - src_all, 2), "explained_by": "; ".join(why),
            # what did not move is accounted for by its own fate; any other difference is not
            "match": abs(dst - src_loaded) < 0.005}
