"""The migration summary: what the runs did, what did not move and why, and how fast it went.

Read from the workspace alone — the ledger (runs, fates, journal timestamps), the mapping and the
source export — so it can be written at any time after a run, without calling the destination:

* counts per object and fate, and each run's mode, status and duration;
* fields not migrated and why: excluded or unmapped fields (the mapping's reason), source columns
  the mapping never mentions, and objects no route takes;
* owners (providers) that matched no destination user, with their records;
* errors, each with its reason, and the reasons ranked;
* throughput over time: destination writes per time bucket, from the journal's timestamps.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..load.fates import fate_counts, fates_per_object, source_fates

__all__ = ["RunSummary", "summarize_runs", "throughput"]

#: journal outcomes that are one write to the destination each
_WRITES = ("create", "update", "delete", "restore")


def throughput(times: pd.Series, runs: list[dict] | None = None) -> tuple[pd.Series, str]:
    """Writes per time bucket, and the bucket's name; the bucket is sized to give ~60 points."""
    if times.empty:
        return pd.Series(dtype=float), "minute"
    t = pd.to_datetime(times, utc=True, format="ISO8601")
    span = (t.max() - t.min()).total_seconds()
    for seconds, name in ((0.1, "100 ms"), (0.25, "250 ms"), (0.5, "500 ms"), (1, "second"), (5, "5 seconds"), (15, "15 seconds"), (60, "minute"), (300, "5 minutes"),
                          (900, "15 minutes"), (3600, "hour"), (86400, "day")):
        if span / seconds <= 90:
            break
    counts = pd.Series(1, index=t).sort_index().resample(pd.Timedelta(seconds=seconds)).sum()
    # a closing zero, so that the last bucket is drawn with its width on a step chart
    counts[counts.index[-1] + pd.Timedelta(seconds=seconds)] = 0
    return counts.astype(float), name


@dataclass
class RunSummary:
    """The summary's tables and figures (see the module docstring)."""

    runs: pd.DataFrame
    per_object: pd.DataFrame
    not_migrated: pd.DataFrame
    owners: pd.DataFrame
    errors: pd.DataFrame
    timeline: pd.Series
    bucket: str
    marks: list[tuple] = field(default_factory=list)
    #: :func:`~toolkit.load.fates.fate_counts` of every source record
    fates: dict = field(default_factory=dict)

    def summary(self) -> dict:
        writes = float(self.timeline.sum()) if len(self.timeline) else 0.0
        busy = (len(self.timeline[self.timeline > 0]) * _seconds(self.bucket)) if len(self.timeline) else 0
        unmatched = self.owners[~self.owners["matched"]] if len(self.owners) else self.owners
        return {"runs": len(self.runs), **self.fates,
                "fields not migrated": len(self.not_migrated), "unmatched providers": len(unmatched),
                "writes": int(writes), "peak writes per minute": int(round(self.peak_per_minute())),
                "active seconds": int(busy)}

    def peak_per_minute(self) -> float:
        if not len(self.timeline):
            return 0.0
        return float(self.timeline.max()) * 60.0 / _seconds(self.bucket)

    def to_dict(self) -> dict:
        return {"summary": self.summary(), "runs": self.runs.to_dict("records"),
                "per_object": self.per_object.to_dict("records"), "not_migrated": self.not_migrated.to_dict("records"),
                "unmatched_owners": self.owners.to_dict("records"), "errors": self.errors.to_dict("records"),
                "throughput": {"bucket": self.bucket,
                               "points": [{"at": t.isoformat(), "writes": int(v)} for t, v in self.timeline.items()]}}


def _seconds(bucket: str) -> float:
    n, _, unit = bucket.partition(" ") if bucket[0].isdigit() else ("1", " ", bucket)
    return float(n) * {"ms": 0.001, "second": 1, "seconds": 1, "minute": 60, "minutes": 60, "hour": 3600,
                       "day": 86400}[unit.strip()]


def _not_migrated(snapshot, spec, unrouted: dict[str, str]) -> pd.DataFrame:
    rows = []
    routed = {o.source for o in spec.objects} if spec else set()
    for o in (spec.objects if spec else []):
        mentioned: set[str] = set()
        for f in o.fields:
            cols = f.source if isinstance(f.source, list) else [f.source] if f.source else []
            mentioned.update(cols)
            if not f.active:
                for c in cols:
                    rows.append({"object": o.source, "field": c, "why": f.reason or "excluded in the mapping"})
        mentioned.update(s for s in [(o.owner or {}).get("column"), o.key] if s)
        mentioned.update(link.get("column") for link in (o.links or {}).values())
        mentioned.add(((o.pipeline or {}).get("stage") or {}).get("column"))
        for col in snapshot.tables.get(o.source, pd.DataFrame()).columns:
            if col not in mentioned:
                rows.append({"object": o.source, "field": col, "why": "the mapping does not mention it"})
    for obj in snapshot.tables:
        if obj not in routed:
            rows.append({"object": obj, "field": "(every field)",
                         "why": unrouted.get(obj) or "no route in the mapping: the object is not migrated"})
    return pd.DataFrame(rows, columns=["object", "field", "why"])


def summarize_runs(ledger, snapshot, spec, owners_file: Path | None = None) -> RunSummary:
    """Build the summary from a workspace's ledger, source and mapping (no destination call)."""
    runs = ledger.runs()
    run_rows = [{"run": r["run_id"], "mode": r["mode"], "status": r["status"], "started": r["started_at"],
                 "finished": r["finished_at"] or "", "seconds": round(float((r["info"] or {}).get("seconds") or 0), 1),
                 "message": (r["info"] or {}).get("message", "")} for r in runs]
    # the same computation of each source record's fate as the migrate and reconcile reports
    fate_df = source_fates(snapshot, ledger)
    fate_df["reason"] = fate_df["reason"].fillna("")
    reasons = {}
    for obj, fate, reason in zip(fate_df["object"], fate_df["fate"], fate_df["reason"]):
        if fate == "skipped" and obj not in reasons:
            reasons[obj] = reason
    per_object = fates_per_object(fate_df, snapshot.tables)
    errors = fate_df[fate_df["fate"] == "error"][["object", "source_key", "reason"]].reset_index(drop=True)
    owners = pd.DataFrame(columns=["source_owner", "records", "destination_user", "matched", "action"])
    if owners_file is not None and owners_file.is_file():
        data = json.loads(owners_file.read_text(encoding="utf-8"))
        owners = pd.DataFrame(data.get("owners") or [], columns=owners.columns)
    # A narrow query straight on the journal: the summary needs only timestamps, and decoding every
    # entry's before/after values would cost minutes on a large run.
    placeholders = ",".join("?" * len(_WRITES))
    stamps = pd.DataFrame(ledger.db.execute(
        f"SELECT ts, run_id FROM journal WHERE state = 'done' AND op IN ({placeholders}) AND source_object IS NOT NULL",
        _WRITES).fetchall(), columns=["ts", "run_id"])
    timeline, bucket = throughput(stamps["ts"])
    marks = [(pd.Timestamp(r["started_at"]), r["mode"]) for r in runs if r["started_at"]] if len(timeline) else []
    return RunSummary(pd.DataFrame(run_rows, columns=["run", "mode", "status", "started", "finished", "seconds", "message"]),
                      per_object, _not_migrated(snapshot, spec, reasons), owners, errors, timeline,
                      bucket, marks, fate_counts(fate_df))
