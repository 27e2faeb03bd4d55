"""Checks across records that a Great Expectations suite cannot express: parent chains.

An organisation whose parent chain comes back to itself (A's parent is B, B's parent is A) cannot
be loaded into any CRM's account hierarchy: whichever is created first points at one that does
not exist yet, for ever. Every record on such a loop is reported with the loop itself.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["parent_cycles"]


def parent_cycles(df: pd.DataFrame, *, key: str, parent: str, lines: pd.Series,
                  max_listed: int = 500) -> list[dict]:
    """Records whose parent chain loops back.

    Args:
        df: the object's rows.
        key: the record id column.
        parent: the column naming the parent record (same object).
        lines: file line of each row.

    Returns:
        ``[{line, id, column, value, cycle}]`` for every record on a loop (``cycle`` lists the
        ids in order, starting from the record itself).
    """
    if key not in df.columns or parent not in df.columns or df.empty:
        return []
    ids = df[key].astype("string")
    parents = df[parent].astype("string").str.strip()
    up = {k: p for k, p in zip(ids.tolist(), parents.tolist())
          if isinstance(k, str) and isinstance(p, str) and p}
    state: dict[str, int] = {}  # 1 = being walked, 2 = done
    on_cycle: dict[str, list[str]] = {}
    for start in up:
        path, node = [], start
        while node in up and state.get(node) is None:
            state[node] = 1
            path.append(node)
            node = up[node]
        if node in up and state.get(node) == 1:  # came back to this walk: a loop
            loop = path[path.index(node):]
            for i, member in enumerate(loop):
                on_cycle[member] = loop[i:] + loop[:i]
        for n in path:
            state[n] = 2
    out = []
    line_of = dict(zip(ids.tolist(), lines.tolist()))
    for k, loop in on_cycle.items():
        out.append({"line": int(line_of[k]), "id": k, "column": parent, "value": up[k],
                    "cycle": loop})
    out.sort(key=lambda r: r["line"])
    return out[:max_listed]
