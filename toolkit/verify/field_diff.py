"""The field-level diff of a sample: source value, expected value, value read back, verdict.

For every sampled record that reached the destination and every field written to it:

* **source** — the export's own value(s) the mapping reads (a list source shows the first
  non-empty value, a template its rendering, a constant says so);
* **expected** — the value after mapping, exactly as the engine sent it (from the ledger);
* **actual** — the value read back from the destination through the adapter;
* **verdict** — ``equal`` (source, expected and actual agree), ``transformed as expected``
  (the mapping changed the value and the destination holds the changed value), ``mismatch``
  (the destination holds something else) or ``missing`` (expected a value, found none — or
  the record itself is not there).

Values compare after light normalisation only: empty means None, numbers compare as numbers,
lists as sets, text stripped. Anything more forgiving would hide the problems a sample exists
to show.
"""

from __future__ import annotations

import dataclasses
import math
from decimal import Decimal
from typing import Any, Callable

import pandas as pd

from ..load.attachments import FILE_INPUTS, FILE_OBJECT
from ..destinations import Destination
from ..shapes import SOURCE_ID_FIELD
from ..load.ledger import Ledger
from ..mapping import MappingSpec, ObjectMap, Plan
from ..shapes import Snapshot

__all__ = ["VERDICTS", "diff_sample", "same_value", "verdict"]

VERDICTS = ("equal", "transformed as expected", "mismatch", "missing")


def _empty(v: Any) -> bool:
    if v is None or v is pd.NA:
        return True
    if isinstance(v, float):
        return math.isnan(v)
    if isinstance(v, str):
        return not v.strip()
    return len(v) == 0 if hasattr(v, "__len__") else False


def _number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float, Decimal)):
        return float(v)
    try:
        return float(str(v).strip().replace(",", "").lstrip("$"))
    except ValueError:
        return None


def same_value(a: Any, b: Any) -> bool:
    """Whether two field values are the same after light normalisation."""
    if _empty(a) or _empty(b):
        return _empty(a) and _empty(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return str(a).strip().lower() == str(b).strip().lower()
    if isinstance(a, (list, tuple, set)) or isinstance(b, (list, tuple, set)):
        as_set = lambda v: {str(x).strip() for x in (v if isinstance(v, (list, tuple, set)) else [v])}  # noqa: E731
        return as_set(a) == as_set(b)
    if isinstance(a, (int, float, Decimal)) or isinstance(b, (int, float, Decimal)):
        x, y = _number(a), _number(b)
        return x is not None and y is not None and abs(x - y) < 1e-6
    return str(a).strip() == str(b).strip()


def verdict(source: Any, expected: Any, actual: Any) -> str:
    """The diff verdict for one field (see the module docstring)."""
    if not _empty(expected) and _empty(actual):
        return "missing"
    if not same_value(expected, actual):
        return "mismatch"
    return "equal" if same_value(source, expected) else "transformed as expected"


def _source_readers(om: ObjectMap) -> dict[tuple[str, str], Callable[[pd.Series], Any]]:
    """(part, name) -> function of a source row giving the value the mapping reads."""
    def cell(col):
        return lambda row: row.get(col) if not _empty(row.get(col)) else None

    def first(cols):
        return lambda row: next((row.get(c) for c in cols if not _empty(row.get(c))), None)

    class _Blank(dict):  # a column the template names that the export lacks (a derived one) reads empty
        def __missing__(self, key):
            return ""

    def template(text):
        return lambda row: text.format_map(_Blank({k: ("" if _empty(v) else v) for k, v in row.items()})).strip() or None

    out: dict[tuple[str, str], Callable] = {}
    tags = []
    for fm in om.fields:
        if not fm.active:
            continue
        if fm.value is not None:
            reader = (lambda v: lambda row: v)(fm.value)
        elif fm.template:
            reader = template(fm.template)
        elif isinstance(fm.source, list):
            reader = first(fm.source)
        else:
            reader = cell(fm.source)
        if fm.target == "tags":
            tags.append(reader)
            continue
        key = ("custom", fm.custom_key) if fm.custom_key else ("fields", fm.target)
        out.setdefault(key, reader)
    if tags:
        out[("tags", "tags")] = lambda row: [v for r in tags if not _empty(v := r(row))]
    for target, spec in (om.extra.get("unique") or {}).items():
        if ("fields", target) in out:
            out[("custom", spec["keep_in"])] = out[("fields", target)]
    out[("custom", SOURCE_ID_FIELD)] = cell(om.key)
    if om.owner:
        out[("owner", "owner_id")] = cell(om.owner["column"])
    for name, spec in om.links.items():
        out[("links", name)] = cell(spec["column"])
    if om.pipeline and (om.pipeline.get("stage") or {}).get("column"):
        out[("fields", om.pipeline.get("stage_field", "pipelineStageId"))] = cell(om.pipeline["stage"]["column"])
        # a pipeline named by a column (one per case type), or the one pipeline the rule names
        out[("fields", om.pipeline.get("id_field", "pipelineId"))] = (
            cell(om.pipeline["column"]) if om.pipeline.get("column") else (lambda row, n=om.pipeline.get("name"): n))
    return out


def _parts(rec: dict) -> dict[tuple[str, str], Any]:
    out = {("fields", k): v for k, v in (rec.get("fields") or {}).items()}
    out.update({("custom", k): v for k, v in (rec.get("custom") or {}).items()})
    out.update({("links", k): v for k, v in (rec.get("links") or {}).items()})
    if rec.get("tags"):
        out[("tags", "tags")] = rec["tags"]
    if rec.get("owner_id") is not None:
        out[("owner", "owner_id")] = rec["owner_id"]
    return out


def diff_sample(plan: Plan, spec: MappingSpec, snapshot: Snapshot, ledger: Ledger, dest: Destination,
                read: Callable | None = None, read_back: Callable | None = None) -> pd.DataFrame:
    """One row per sampled record and field: object, source_key, field, source, expected, actual, verdict.

    Args:
        plan: the sample that was loaded.
        spec: the mapping it was loaded with (to name each field's source values).
        snapshot: the source read.
        ledger: the staging ledger (what was written, and where).
        dest: the staging destination, to read back from.
        read: how to call the destination (the engine's retrying ``call``); default direct.
        read_back: how to list whole objects (the engine's :meth:`~toolkit.load.engine.Engine.read_back`);
            when given, the sample is read back by listing the staging account's objects
            (a page holds up to a hundred records) instead of one call per record.
    """
    read = read or (lambda fn, *a: fn(*a))
    listed: dict[str, dict[str, Any]] | None = None
    if read_back is not None:
        got_back = read_back([op.target for op in plan.objects if op.records])
        listed = {obj: {r.id: r for r in recs if r.id} for obj, recs in got_back.items()
                  if not isinstance(recs, BaseException)}
    maps = {om.source: om for om in spec.objects}
    fates = ledger.fates()
    rows = []
    for op in plan.objects:
        om = maps.get(op.source_object)
        readers = _source_readers(om) if om else {}
        df = snapshot.tables[op.source_object]
        key_col = om.key if om else snapshot.schema[op.source_object].key
        by_key = df.assign(__k=df[key_col].astype("string").str.strip()).drop_duplicates("__k").set_index("__k")
        ids = ledger.id_map(op.source_object, op.target)
        reads = []
        for pr in op.records:
            mapped = ids.get(pr.source_key)
            written = ledger.last_write(op.source_object, pr.source_key, op.target) if mapped else None
            if not mapped:
                got = None
            elif listed is not None and op.target in listed:
                got = listed[op.target].get(mapped[0])
            else:
                got = read(dest.get, op.target, mapped[0])
            reads.append((pr, mapped, written, got))
        # an object whose records never read back an owner has none in this destination (a
        # HighLevel note or file): its owner is not a field to diff
        owned = any(got is not None and got.owner_id for *_, got in reads)
        skip = {("owner", "owner_id")} if not owned else set()
        if op.target == FILE_OBJECT:  # where the engine read the file from, not stored values
            skip.update(("fields", name) for name in FILE_INPUTS)
        if op.target in dest.without_source_id:  # the object cannot hold one (see the adapter)
            skip.add(("custom", SOURCE_ID_FIELD))
        for pr, mapped, written, got in reads:
            row = by_key.loc[pr.source_key].to_dict() if pr.source_key in by_key.index else {}
            base = {"object": f"{op.source_object} -> {op.target}", "source_key": pr.source_key}
            if written is None or got is None:
                fate = fates.get((op.source_object, pr.source_key), ("not loaded", ""))
                if not mapped and fate[0] in ("skipped", "merged", "excluded"):
                    continue  # meant to stay out (the coverage table and the run's report say why)
                why = "not in the destination" if mapped else f"{fate[0]}: {fate[1]}"
                rows.append({**base, "field": "(record)", "source": pr.source_key, "expected": "a record",
                             "actual": why, "verdict": "missing"})
                continue
            expected, actual = _parts(written.after or {}), _parts(dataclasses.asdict(got))
            for part, name in (k for k in expected if k not in skip):
                reader = readers.get((part, name))
                source = reader(row) if reader else None
                exp, act = expected[(part, name)], actual.get((part, name))
                label = name if part in {"fields", "tags", "owner"} else f"{part}.{name}"
                rows.append({**base, "field": label, "source": source, "expected": exp, "actual": act,
                             "verdict": verdict(source, exp, act)})
    return pd.DataFrame(rows, columns=["object", "source_key", "field", "source", "expected", "actual", "verdict"])
