"""Profiling a Snapshot: the facts of a data-quality audit that need no suite.

Counts, missing values per column, values that cannot be converted (emails, phones, dates) with
their file line numbers, the date layouts each date column uses, pick-list inventories, broken
references and likely duplicate people.
"""

from __future__ import annotations

import pandas as pd

from ..mapping import apply_transform, find_duplicates, parse_dates
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
        blank = df.apply(lambda c: c.isna() | (c.astype("string").str.strip() == ""))
        info["missing"] = {c: int(n) for c, n in blank.sum().items()}
        invalid: dict[str, dict] = {}
        layouts: dict[str, dict[str, int]] = {}
        for col, typ in (schema.columns.items() if schema else []):
            if col not in df.columns:
                continue
            if typ in _CHECKS:
                _, problems = apply_transform(_CHECKS[typ], df[col])
                bad = problems.dropna()
                if len(bad):
                    invalid[col] = {"type": typ, "count": int(len(bad)), "rows": [
                        {"line": int(lines[i]), "id": _s(ids[i]), "value": _s(df.at[i, col]), "problem": p}
                        for i, p in bad.head(max_listed).items()]}
            if typ in {"date", "datetime"}:
                _, used = parse_dates(df[col])
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
            known = set(snapshot.tables[tobj][tcol].dropna())
            vals = df[col]
            broken = vals.notna() & ~vals.isin(known) & (vals.astype("string").str.strip() != "")
            for i in vals[broken].head(max_listed).index:
                refs.append({"line": int(lines[i]), "id": _s(ids[i]), "column": col, "value": _s(vals[i]),
                             "points_at": target})
        info["broken_references"] = refs
        if dedupe and obj in dedupe:
            pairs = find_duplicates(df, key_column=key, **dedupe[obj])
            line_of = dict(zip(ids, lines))
            info["duplicates"] = [{"kept": a, "duplicate": b, "why": why, "lines": [int(line_of[a]), int(line_of[b])]}
                                  for a, b, why in pairs]
        out["objects"][obj] = info
    return out


def _s(v):
    return None if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)) else str(v)
