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
from ._fast_checks import date_layouts
from ._fast_checks import problems as value_problems
from ..snapshot import Snapshot

__all__ = ["profile", "line_numbers"]

_CHECKS = {"email": "email", "phone": "phone_e164", "date": "date", "datetime": "datetime", "money": "money",
           "number": "number"}
_LAYOUT_NAMES = {"%m/%d/%Y": "MM/DD/YYYY", "%Y-%m-%d": "YYYY-MM-DD", "%m/%d/%y": "M/D/YY", "%m-%d-%Y": "MM-DD-YYYY",
                 "%d.%m.%Y": "DD.MM.YYYY", "%Y/%m/%d": "YYYY/MM/DD", "%m/%d/%Y %H:%M": "MM/DD/YYYY HH:MM"}


def line_numbers(snapshot: Snapshot, obj: str) -> pd.Series:
    """File line number of each row of ``obj`` (the header is line 1)."""
    df = snapshot.tables[obj]
    known = (snapshot.meta.get("line_numbers") or {}).get(obj)
    if known is not None:
        return pd.Series(list(known), index=df.index)
    if "__line__" in df.attrs:
        return pd.Series(list(df.attrs["__line__"]), index=df.index)
    return pd.Series(range(2, len(df) + 2), index=df.index)


def profile(snapshot: Snapshot, dedupe: dict[str, dict] | None = None, max_listed: int = 500) -> dict:
    """Profile every object of ``snapshot``.

    Args:
        snapshot: what the source read.
        dedupe: object -> ``find_duplicates`` column arguments, for the objects that hold people.
        max_listed: cap on listed problem rows per column (counts are always complete).
    """
    out: dict = {"counts": snapshot.counts(), "objects": {}}
    for obj, df in snapshot.tables.items():
        schema = snapshot.schema.get(obj)
        lines = line_numbers(snapshot, obj)
        key = schema.key if schema else df.columns[0]
        ids = df[key].astype("string") if key in df.columns else pd.Series(pd.NA, index=df.index)
        info: dict = {"file": schema.file if schema else obj, "records": len(df), "key": key}
        info["missing"] = {c: int((df[c].isna() | (df[c].astype("string").str.strip() == "")).sum())
                           for c in df.columns}
        invalid: dict[str, dict] = {}
        layouts: dict[str, dict[str, int]] = {}
        for col, typ in (schema.columns.items() if schema else []):
            if col not in df.columns:
                continue
            if typ in _CHECKS:
                declared = ((snapshot.meta.get("formats") or {}).get(obj) or {}).get(col)
                bad = value_problems(df[col], typ, declared).dropna()
                if len(bad):
                    invalid[col] = {"type": typ, "count": int(len(bad)), "rows": [
                        {"line": int(lines[i]), "id": _s(ids[i]), "value": _s(df.at[i, col]), "problem": p}
                        for i, p in bad.head(max_listed).items()]}
            if typ in {"date", "datetime"}:
                used = date_layouts(df[col], ((snapshot.meta.get("formats") or {}).get(obj) or {}).get(col))
                counts = used.fillna("unreadable").where(df[col].notna(), None).dropna().value_counts()
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
            known = pa.array(pd.unique(snapshot.tables[tobj][tcol].dropna().astype("string")).astype(object),
                             type=pa.string())
            found = pc.is_in(pa.array(vals.astype("string").array).cast(pa.string()), value_set=known)
            hit = np.asarray(pc.fill_null(found, True).to_numpy(zero_copy_only=False))
            broken = pd.Series(~hit, index=vals.index) & (vals.astype("string").str.strip() != "").fillna(False)
            for i in vals[broken].head(max_listed).index:
                refs.append({"line": int(lines[i]), "id": _s(ids[i]), "column": col, "value": _s(vals[i]),
                             "points_at": target})
        info["broken_references"] = refs
        if dedupe and obj in dedupe:
            pairs = _duplicates(df, key, dedupe[obj])
            line_of = dict(zip(ids, lines))
            info["duplicates"] = [{"kept": a, "duplicate": b, "why": why, "lines": [int(line_of[a]), int(line_of[b])]}
                                  for a, b, why in pairs]
        out["objects"][obj] = info
    return out


def _duplicates(df: pd.DataFrame, key: str, spec: dict) -> list[tuple[str, str, str]]:
    """``find_duplicates`` on columns renamed to plain identifiers (it reads rows as named
    tuples, and "E-mail Address" is not one); reasons name the file's own columns again."""
    cols = [key, spec["first"], spec["last"], spec["dob"], *spec["contact"]]
    safe = {c: f"c{i}" for i, c in enumerate(dict.fromkeys(cols))}
    sub = df[list(safe)].rename(columns=safe)
    pairs = find_duplicates(sub, key_column=safe[key], first=safe[spec["first"]], last=safe[spec["last"]],
                            dob=safe[spec["dob"]], contact=[safe[c] for c in spec["contact"]])
    back = {v: k for k, v in safe.items()}
    return [(a, b, " ".join(back.get(w.rstrip(","), w.rstrip(",")) + ("," if w.endswith(",") else "")
                            for w in why.split(" "))) for a, b, why in pairs]


def _s(v):
    return None if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)) else str(v)
