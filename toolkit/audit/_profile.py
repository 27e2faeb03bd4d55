"""Profiling a Snapshot: the facts of a data-quality audit that need no suite.

Counts, missing values per column, values that cannot be converted (emails, phones, dates) with
their file line numbers, the date layouts each date column uses, pick-list inventories, broken
references and likely duplicate people.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..mapping import find_duplicates
from .._arrow_bytes import chunk_bytes, rows_at, valid_rows, values_at
from ._fast_checks import column_checks
from ..shapes import Snapshot

__all__ = ["profile", "profile_object", "reference_lookups", "line_numbers", "CHECKED_TYPES"]

_CHECKS = {"email": "email", "phone": "phone_e164", "date": "date", "datetime": "datetime", "money": "money",
           "number": "number"}
#: column types whose values the profile checks one by one
CHECKED_TYPES = frozenset(_CHECKS)
_LAYOUT_NAMES = {"%m/%d/%Y": "MM/DD/YYYY", "%Y-%m-%d": "YYYY-MM-DD", "%m/%d/%y": "M/D/YY", "%m-%d-%Y": "MM-DD-YYYY",
                 "%d.%m.%Y": "DD.MM.YYYY", "%Y/%m/%d": "YYYY/MM/DD", "%m/%d/%Y %H:%M": "MM/DD/YYYY HH:MM"}


def line_numbers(snapshot: Snapshot, obj: str) -> pd.Series:
    """File line number of each row of ``obj`` (the header is line 1)."""
    df = snapshot.tables[obj]
    known = (snapshot.meta.get("line_numbers") or {}).get(obj)
    if known is not None:
        return pd.Series(np.asarray(known, dtype=np.int64), index=df.index)
    if "__line__" in df.attrs:
        return pd.Series(list(df.attrs["__line__"]), index=df.index)
    return pd.Series(np.arange(2, len(df) + 2, dtype=np.int64), index=df.index)


def _arrow(s: pd.Series) -> pa.ChunkedArray:
    """The column as Arrow ``large_string``: no copy for the reader's columns, which are held
    so (narrowing them to ``string`` copied every column's offsets, ~0.5 GB at a million
    patients)."""
    data = getattr(s.array, "_pa_array", None)
    if data is None or not (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
        data = pa.chunked_array([pa.array(s.astype("string").array)])
    return data if pa.types.is_large_string(data.type) else data.cast(pa.large_string())


def _null_count(s: pd.Series) -> int:
    """Missing values: Arrow keeps the count with the column; anything else is counted."""
    data = getattr(s.array, "_pa_array", None)
    return int(data.null_count) if data is not None else int(s.isna().sum())


def _blank_rows(s: pd.Series) -> np.ndarray:
    """Positions of non-null values that ``str.strip()`` leaves empty. Only an empty value or
    one whose first byte is not printable non-space ASCII can be; their first bytes are read
    straight from the Arrow buffers and just those values are stripped."""
    data = _arrow(s)
    parts, base = [], 0
    for chunk in data.chunks:
        n = len(chunk)
        if n == 0:
            continue
        offsets, body = chunk_bytes(chunk)
        if not len(body):
            body = np.zeros(1, dtype=np.uint8)
        starts = offsets[:-1]
        lengths = offsets[1:] - starts
        first = body[np.minimum(starts, len(body) - 1)]
        cand = (lengths <= 0) | (first < 0x21) | (first > 0x7E)
        if (valid := valid_rows(chunk)) is not None:
            cand &= valid
        parts.append(np.flatnonzero(cand) + base)
        base += n
    cand = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    if not len(cand):
        return cand
    sub = rows_at(s, cand).astype("string").str.strip()
    return cand[(sub == "").fillna(False).to_numpy(dtype=bool)]


def profile(snapshot: Snapshot, dedupe: dict[str, dict] | None = None, max_listed: int = 500) -> dict:
    """Profile every object of ``snapshot``.

    Args:
        snapshot: what the source read.
        dedupe: object -> ``find_duplicates`` column arguments, for the objects that hold people.
        max_listed: cap on listed problem rows per column (counts are always complete).

    Each column is factorized once; checks run per distinct value and only the rows that are
    listed are looked up (see :mod:`toolkit.audit._fast_checks`).
    """
    found_ids = reference_lookups(snapshot)
    return {"counts": snapshot.counts(),
            "objects": {obj: profile_object(snapshot, obj, found_ids, dedupe=dedupe, max_listed=max_listed)
                        for obj in snapshot.tables}}


def profile_object(snapshot: Snapshot, obj: str, found_ids: dict[tuple[str, str], pa.ChunkedArray],
                   dedupe: dict[str, dict] | None = None, max_listed: int = 500) -> dict:
    """One object's part of :func:`profile` (``found_ids`` from :func:`reference_lookups`).

    Reads the snapshot and writes nothing shared, so objects may be profiled side by side.
    """
    df = snapshot.tables[obj]
    schema = snapshot.schema.get(obj)
    lines = line_numbers(snapshot, obj).to_numpy()
    key = schema.key if schema else df.columns[0]
    keycol = df[key] if key in df.columns else None

    def ids_at(pos: list[int]) -> list:
        return [None] * len(pos) if keycol is None else values_at(keycol, pos, _s)

    info: dict = {"file": schema.file if schema else obj, "records": len(df), "key": key}
    info["missing"] = {c: _null_count(df[c]) + len(_blank_rows(df[c])) for c in df.columns}
    invalid: dict[str, dict] = {}
    layouts: dict[str, dict[str, int]] = {}
    for col, typ in (schema.columns.items() if schema else []):
        if col not in df.columns or (typ not in _CHECKS and typ not in {"date", "datetime"}):
            continue
        declared = ((snapshot.meta.get("formats") or {}).get(obj) or {}).get(col)
        codes, probs, used = column_checks(df[col], typ, declared)
        if probs is not None and len(probs):
            bad_u = probs.notna().to_numpy()
            bad = np.flatnonzero((codes >= 0) & bad_u[np.maximum(codes, 0)]) if bad_u.any() \
                else np.zeros(0, dtype=np.int64)
            if len(bad):
                text = probs.to_numpy(dtype=object)
                listed = bad[:max_listed].tolist()
                invalid[col] = {"type": typ, "count": int(len(bad)), "rows": [
                    {"line": int(lines[i]), "id": k, "value": v, "problem": text[codes[i]]}
                    for i, k, v in zip(listed, ids_at(listed), values_at(df[col], listed, _s))]}
        if used is not None:
            present = df[col].notna().to_numpy(dtype=bool) & (codes >= 0)
            per_code = np.bincount(codes[present], minlength=len(used))
            seen = np.flatnonzero(per_code)  # in order of first appearance, as value_counts
            label = used.cat.codes.to_numpy()[seen]  # -1: no layout reads the value
            order = pd.unique(label)
            totals = np.bincount(label.astype(np.int64) + 1, weights=per_code[seen],
                                 minlength=len(used.cat.categories) + 1)
            names = ["unreadable" if c < 0 else used.cat.categories[c] for c in order]
            counts = pd.Series(totals[order.astype(np.int64) + 1].astype(np.int64),
                               index=pd.Index(names, dtype=object)).sort_values(ascending=False)
            layouts[col] = {_LAYOUT_NAMES.get(k, k): int(v) for k, v in counts.items()}
    info["invalid"] = invalid
    info["date_layouts"] = layouts
    info["picklists"] = {c: {str(k): int(v) for k, v in df[c].value_counts().items()}
                         for c in (schema.picklists if schema else {}) if c in df.columns}
    refs = []
    for col, target in (schema.references.items() if schema else []):
        tobj, _, tcol = target.partition(".")
        if col not in df.columns or tobj not in snapshot.tables:
            continue
        vals = df[col]
        found = found_ids[(obj, col)]
        miss = np.flatnonzero(~np.asarray(pc.fill_null(found, True).to_numpy(), dtype=bool))
        if len(miss):
            sub = rows_at(vals, miss).astype("string").str.strip()
            miss = miss[(sub != "").fillna(False).to_numpy(dtype=bool)]
        listed = miss[:max_listed].tolist()
        refs += [{"line": int(lines[i]), "id": k, "column": col, "value": v, "points_at": target}
                 for i, k, v in zip(listed, ids_at(listed), values_at(vals, listed, _s))]
    info["broken_references"] = refs
    if dedupe and obj in dedupe:
        pairs = _duplicates(df, key, dedupe[obj])
        named = {k for a, b, _ in pairs for k in (a, b)}
        line_of: dict = {}
        if named and keycol is not None:
            ids = keycol.astype("string")
            pos = np.flatnonzero(ids.isin(named).fillna(False).to_numpy(dtype=bool))
            line_of = dict(zip(values_at(ids, pos.tolist(), _s), lines[pos].tolist()))  # the last row wins
        info["duplicates"] = [{"kept": a, "duplicate": b, "why": why, "lines": [int(line_of[a]), int(line_of[b])]}
                              for a, b, why in pairs]
    return info


def reference_lookups(snapshot: Snapshot) -> dict[tuple[str, str], pa.ChunkedArray]:
    """Per reference column ``(object, column)``: whether each value is one of its target's ids.

    Every column pointing at one target is looked up in a single ``is_in``: the call builds its
    hash set of the target's ids each time, and a million patient ids pointed at from a dozen
    columns made that set the larger part of the work.
    """
    wanted: dict[str, list[tuple[str, str]]] = {}
    for obj, df in snapshot.tables.items():
        schema = snapshot.schema.get(obj)
        for col, target in (schema.references.items() if schema else []):
            tobj = target.partition(".")[0]
            if col in df.columns and tobj in snapshot.tables:
                wanted.setdefault(target, []).append((obj, col))
    out: dict[tuple[str, str], pa.ChunkedArray] = {}
    for target, users in wanted.items():
        tobj, _, tcol = target.partition(".")
        # is_in builds its own hash set of the ids (repeats collapse there): no pc.unique first
        known = _arrow(snapshot.tables[tobj][tcol]).combine_chunks().drop_null()
        arrays = [_arrow(snapshot.tables[o][c]) for o, c in users]
        together = pa.chunked_array([ch for a in arrays for ch in a.chunks], type=pa.large_string())
        found = pc.is_in(together, value_set=known)
        start = 0
        for key, a in zip(users, arrays):
            out[key] = found.slice(start, len(a))
            start += len(a)
    return out


def _duplicates(df: pd.DataFrame, key: str, spec: dict) -> list[tuple[str, str, str]]:
    """Likely duplicate people, by the same rules the mapping skips them with."""
    return find_duplicates(df, key_column=key, first=spec["first"], last=spec["last"], dob=spec["dob"],
                           contact=list(spec["contact"]))


def _s(v):
    return None if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)) else str(v)
