"""The destination read back on its own and compared, record by record and field by field, with
what the confirmed mapping says should be there for the current source.

The CRM is listed object by object (its listing endpoints, page by page) and indexed by the
Source ID each migrated record carries - not looked up through the ledger's memory of what it
wrote. Against that, every record the plan moves is checked, and every way the CRM can differ is
named by source key and field (:data:`KINDS`):

* **missing in the CRM** - the record is not there (deleted in the CRM, or never made);
* **edited in the CRM** - a field holds something other than what was written;
* **changed in the source** - the export now says something the CRM was never sent (run a delta);
* **duplicate Source ID** - two CRM records carry the same source record's id;
* **unknown to the ledger** - a record carries a Source ID the workspace's ledger does not map (the
  orphan of a lost answer, or of an earlier workspace);
* **moved in the CRM** - the ledger's record is gone but another carries its Source ID;
* **deleted in the source** - the export no longer has the record, the CRM still does.

Broken links and field totals are checked by :mod:`.reconciliation`, on the same listings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..destinations import Destination
from ..load.ledger import Ledger
from ..shapes import FILE_INPUTS, FILE_OBJECT, SOURCE_ID_FIELD, Plan, Record, Snapshot
from .field_diff import same_value

__all__ = ["KINDS", "Finding", "Listing", "list_destination", "compare"]

KINDS = ("missing in the CRM", "edited in the CRM", "changed in the source", "duplicate Source ID",
         "unknown to the ledger", "moved in the CRM", "deleted in the source")


@dataclass
class Finding:
    """One difference between the CRM and what the mapping says should be there."""

    kind: str
    object: str
    source_key: str
    field: str | None = None
    expected: Any = None
    actual: Any = None
    id: str | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Listing:
    """One destination object read back: by destination id, and by Source ID."""

    by_id: dict[str, Record]
    by_source: dict[str, list[Record]]


def list_destination(plan: Plan, read_back: Callable[[list[str]], dict[str, Any]]) -> dict[str, Listing]:
    """Every object the plan writes, read back in full (listing calls only).

    Args:
        read_back: objects -> each one's records (the engine's :meth:`~toolkit.load.engine.Engine.read_back`,
            which lists them side by side); an object the adapter cannot list maps to a
            NotImplementedError and is left out (the caller says so).
    """
    out: dict[str, Listing] = {}
    wanted = list(dict.fromkeys(o.target for o in plan.objects if o.records))
    for obj, records in read_back(wanted).items():
        if isinstance(records, NotImplementedError):
            continue
        if isinstance(records, BaseException):
            raise records
        by_source: dict[str, list[Record]] = {}
        for rec in records:
            sid = rec.custom.get(SOURCE_ID_FIELD)
            if sid not in (None, ""):
                by_source.setdefault(str(sid), []).append(rec)
        out[obj] = Listing({r.id: r for r in records if r.id}, by_source)
    return out


def _written(ledger: Ledger, pr, target: str) -> dict | None:
    entry = ledger.last_write(pr.source_object, pr.source_key, target)
    return entry.after if entry is not None and isinstance(entry.after, dict) else None


def compare(plan: Plan, snapshot: Snapshot, ledger: Ledger, dest: Destination,
            listings: dict[str, Listing]) -> tuple[list[Finding], dict[tuple[str, str, str], Record]]:
    """Every difference between the CRM and the plan; and each moved record's CRM record.

    Returns:
        (findings, (source object, key, target) -> the CRM record found for it, by the ledger's
        id or else by its Source ID).
    """
    findings: list[Finding] = []
    found: dict[tuple[str, str, str], Record] = {}
    mapped: dict[tuple[str, str, str], str] = {(s, k, o): d for s, k, o, d in ledger.mapped()}
    fates = ledger.fates()
    for op in plan.objects:
        listing = listings.get(op.target)
        if listing is None:
            continue
        sid_ok = op.target not in dest.without_source_id
        # fields the adapter never reads back (an opportunity's contact on HighLevel) are not compared
        readable: dict[str, set[str]] = {"fields": set(), "custom": set()}
        for rec in listing.by_id.values():
            readable["fields"].update(rec.fields)
            readable["custom"].update(rec.custom)
        inputs = FILE_INPUTS if op.target == FILE_OBJECT else frozenset()
        pipe = set(op.pipeline_fields or ())
        for pr in op.records:
            if pr.skip_reason or fates.get((pr.source_object, pr.source_key), ("",))[0] in ("merged", "excluded"):
                continue
            dest_id = mapped.get((pr.source_object, pr.source_key, op.target))
            got = listing.by_id.get(dest_id) if dest_id else None
            carriers = listing.by_source.get(pr.source_key, []) if sid_ok else []
            where = dict(object=f"{pr.source_object} -> {op.target}", source_key=pr.source_key)
            if got is None and carriers:
                got = carriers[0]
                if dest_id:
                    findings.append(Finding("moved in the CRM", **where, expected=dest_id, actual=got.id, id=got.id))
                else:
                    findings.append(Finding("unknown to the ledger", **where, actual=got.id, id=got.id))
            if got is None:
                if dest_id or fates.get((pr.source_object, pr.source_key), ("",))[0] in ("created", "updated"):
                    findings.append(Finding("missing in the CRM", **where, expected=dest_id))
                continue
            found[(pr.source_object, pr.source_key, op.target)] = got
            written = _written(ledger, pr, op.target)
            for part in ("fields", "custom"):
                planned = getattr(pr.record, part)
                sent = (written or {}).get(part) or {}
                for name, want in sent.items():
                    if name in inputs or name in pipe or (part == "custom" and name == SOURCE_ID_FIELD):
                        continue
                    if name not in readable[part]:
                        continue
                    have = getattr(got, part).get(name)
                    if not same_value(want, have):
                        label = name if part == "fields" else f"custom.{name}"
                        findings.append(Finding("edited in the CRM", **where, field=label, expected=want, actual=have,
                                                id=got.id))
                for name, want in planned.items():
                    if name in inputs or name in pipe or name not in sent:
                        continue
                    if not same_value(want, sent[name]):
                        label = name if part == "fields" else f"custom.{name}"
                        findings.append(Finding("changed in the source", **where, field=label, expected=want,
                                                actual=sent[name], id=got.id))
    # the CRM's side: Source IDs twice, and Source IDs nobody planned or mapped
    ours: dict[str, set[str]] = {}
    for op in plan.objects:
        ours.setdefault(op.target, set()).update(pr.source_key for pr in op.records)
    known = {(o, k) for (_, k, o) in mapped}
    # two tables keyed by row numbers both give a CRM object a "3": one record of each is no duplicate
    source_of = {dest_id: sobj for (sobj, _, _), dest_id in mapped.items()}
    for obj, listing in listings.items():
        for sid, recs in listing.by_source.items():
            groups: dict[str | None, int] = {}
            for r in recs:
                groups[source_of.get(r.id)] = groups.get(source_of.get(r.id), 0) + 1
            if any(n > 1 for n in groups.values()) or (None in groups and len(groups) > 1):
                findings.append(Finding("duplicate Source ID", obj, sid, expected=1, actual=len(recs),
                                        id=", ".join(r.id or "" for r in recs)))
            if sid not in ours.get(obj, set()) and (obj, sid) not in known:
                findings.append(Finding("unknown to the ledger", obj, sid, actual=recs[0].id, id=recs[0].id))
    # records the export no longer has, still in the CRM
    current = {name: set(df[snapshot.schema[name].key].astype("string").str.strip().dropna())
               for name, df in snapshot.tables.items() if name in snapshot.schema}
    for (sobj, key, obj), dest_id in mapped.items():
        # a record derived from another (a picture taken out of a note: "<note id>#image-1") goes with it
        if sobj in current and key.split("#", 1)[0] not in current[sobj] and obj in listings \
                and dest_id in listings[obj].by_id:
            findings.append(Finding("deleted in the source", f"{sobj} -> {obj}", key, actual=dest_id, id=dest_id))
    return findings, found
