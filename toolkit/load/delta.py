"""Delta selection: the part of a Plan that changed in the source since the last run.

The baseline is the newest finished full or delta run that has not been rolled back; its
watermark is the newest modification time the source showed then. Per source object:

* where the source keeps a modification time (``ObjectSchema.updated_column``), records
  modified at or after the watermark are taken (at, not only after: the source writes minutes,
  so edits made in the watermark's own minute are caught), and so is every other record already
  in the destination, because a source system does not always touch the modification time when
  it edits a record: the engine's content hash, beside the watermark, writes only those whose
  content really changed, at no API call for the rest;
* where it does not, every record is offered and the engine writes only those whose content
  hash differs from the one last written — a comparison that costs no API call;
* records of owners that the baseline run gave to the fallback user, and that now match a
  destination user, are taken, so they are reassigned;
* in both cases, records the ledger has never seen (new ones) or whose load was rolled back
  are taken; records that a skip rule leaves out are journaled only when newly left out.
  Records that failed before and did not change are not retried by a delta (they are counted
  in its report): running ``migrate`` again retries them, at no cost for the rest.

Records that were migrated but are no longer in the source are *reported*, never deleted in the
destination: a practice's CRM may hold work done on them since.
"""

from __future__ import annotations

import dataclasses

from dataclasses import dataclass, field

import pandas as pd

from ..errors import ConfigError, NotFoundError
from .ledger import Ledger
from ..mapping import ObjectPlan, Plan
from ..shapes import Snapshot

__all__ = ["DeltaSelection", "propagate_deletions", "select_changes"]


@dataclass
class DeltaSelection:
    """What a delta run will look at.

    Attributes:
        plan: the records to offer the engine.
        since: the baseline run's watermark.
        baseline_run: the run the delta continues from.
        objects: per source object: how changes were found and how many.
        deleted: migrated records no longer in the source (kept in the destination).
    """

    plan: Plan
    since: str | None
    baseline_run: str
    objects: list[dict] = field(default_factory=list)
    deleted: list[dict] = field(default_factory=list)


def _timestamps(snapshot: Snapshot, obj: str) -> tuple[str | None, pd.Series | None]:
    """(column, key -> parsed modification time) for ``obj``, when the source keeps one."""
    schema = snapshot.schema.get(obj)
    df = snapshot.tables.get(obj)
    col = schema.updated_column if schema else None
    if df is None or not col or col not in df.columns:
        return None, None
    fmt = (snapshot.meta.get("formats") or {}).get(obj, {}).get(col)
    parsed = pd.to_datetime(df[col], format=fmt, errors="coerce")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    keys = df[schema.key].astype("string").str.strip()
    return col, pd.Series(parsed.to_numpy(), index=keys.to_numpy()).groupby(level=0).max()


def _since(value: str | None) -> pd.Timestamp | None:
    if not value:
        return None
    ts = pd.Timestamp(value)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


def select_changes(plan: Plan, snapshot: Snapshot, ledger: Ledger,
                   matched_owners: set[str] | None = None) -> DeltaSelection:
    """Select what changed since the last finished full or delta run.

    Args:
        matched_owners: source owner emails that now match a destination user. Records of
            owners the baseline run had to give to the fallback user, and that match now, are
            offered too, so that creating the missing user and running a delta reassigns them.

    Raises:
        ConfigError: there is no finished full run to take a delta from.
    """
    base = ledger.last_run(("full", "delta"))
    if base is None:
        raise ConfigError("no finished full run in this workspace's ledger to take a delta from; "
                          "run `crm-migrate migrate` first (or let a paused one finish)")
    since = _since(base["watermark"])
    fates = ledger.fates()
    reassign = set(base["info"].get("unmatched_owners") or []) & set(matched_owners or ())
    objects, deleted = [], []

    def worth_noting(pr) -> bool:
        """A record the ledger has no say on yet: never seen, rolled back, or newly left out."""
        fate = fates.get((pr.source_object, pr.source_key))
        if pr.skip_reason:
            return fate is None or fate[0] not in {"skipped", "error"}
        return fate is None or fate[0] == "rolled back"

    chosen: list[ObjectPlan] = []
    for op in plan.objects:
        ids = ledger.id_map(op.source_object, op.target)
        col, stamps = _timestamps(snapshot, op.source_object)
        picked = []
        for pr in op.records:
            mapped = pr.source_key in ids
            if col is not None and since is not None:
                ts = stamps.get(pr.source_key)
                modified = ts is None or pd.isna(ts) or ts >= since
                # an edit the modification time missed is caught by the content hash (see above)
                take = ((modified or mapped) and (mapped or not pr.skip_reason or worth_noting(pr))) \
                    or worth_noting(pr)
            else:
                take = (mapped and not pr.skip_reason) or worth_noting(pr)
            if take or (mapped and not pr.skip_reason and pr.owner_email in reassign):
                picked.append(pr)
        chosen.append(dataclasses.replace(op, records=picked))
        df = snapshot.tables.get(op.source_object)
        key_col = snapshot.schema[op.source_object].key if op.source_object in snapshot.schema else None
        present = set(df[key_col].astype("string").str.strip().dropna()) if df is not None and key_col else set()
        gone = sorted(k for k in ids if k not in present)
        deleted.extend({"object": op.source_object, "source_key": k, "dest_object": op.target, "dest_id": ids[k][0],
                        "action": "kept in the destination: source deletions are reported, not propagated"}
                       for k in gone)
        chosen_ids = {id(pr) for pr in picked}
        failed = sum(1 for pr in op.records if id(pr) not in chosen_ids
                     and fates.get((pr.source_object, pr.source_key), ("",))[0] == "error")
        objects.append({"object": op.source_object, "target": op.target,
                        "method": f"modification time ({col}) and content hash" if col and since is not None
                        else "content hash",
                        "records": len(op.records), "offered": len(picked),
                        "new": sum(1 for pr in picked if pr.source_key not in ids and not pr.skip_reason),
                        "deleted_in_source": len(gone),
                        # a delta takes what changed; records that failed before and did not
                        # change are retried by running migrate again
                        "errored_before_not_retried": failed})
    def new(rows, fate):  # only what is not already journaled with the same fate and reason
        return [(o, k, r) for o, k, r in rows if fates.get((o, k)) != (fate, r)]

    sub = Plan(plan.source, plan.destination, chosen, new(plan.unrouted, "skipped"), plan.custom_fields, plan.pipelines,
               plan.aliases, mapping=plan.mapping, merged=new(plan.merged, "merged"),
               excluded=new(plan.excluded, "excluded"))
    return DeltaSelection(sub, base["watermark"], base["run_id"], objects, deleted)


def propagate_deletions(engine, ledger: Ledger, run_id: str, deleted: list[dict]) -> dict[str, int]:
    """Delete from the destination the records ``deleted`` lists (gone from the source).

    Each delete is journaled in the delta run ``run_id`` like any other write, with the record
    as last written as its ``before``, so rolling the delta back creates them again. Children go
    before their parents (the reverse of the load order). Updates each entry's ``action``.

    Returns:
        counts: ``deleted``, ``already gone`` and ``left in place`` (objects the CRM cannot delete
        through its API).
    """
    dest = engine.dest
    counts: dict[str, int] = {}
    for item in reversed(deleted):
        obj, key, dobj, did = item["object"], item["source_key"], item["dest_object"], item["dest_id"]
        if dobj in dest.undeletable:
            item["action"] = f"kept in the destination: {dest.name} cannot delete {dobj} records through its API"
            counts["left in place"] = counts.get("left in place", 0) + 1
            continue
        last = ledger.last_write(obj, key, dobj)
        before = last.after if last is not None else None
        seq = ledger.intent(run_id, "delete", source_object=obj, source_key=key, dest_object=dobj, dest_id=did,
                            before=before)
        try:
            engine.call(dest.delete, dobj, did)
            fate, item["action"] = "deleted", "deleted from the destination: deleted in the source"
        except NotFoundError:  # removed in the CRM already (or with its parent)
            fate, item["action"] = "already gone", "already gone from the destination"
        ledger.outcome(seq, reason="deleted in the source")
        counts[fate] = counts.get(fate, 0) + 1
    return counts
