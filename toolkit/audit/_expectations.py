"""Running the Great Expectations suites in ``expectations/<source>/<object>.json`` (GX 1.x API).

Suites are plain GX suite JSON (``{"name", "expectations": [{"type", "kwargs", "meta"}]}``) so an
analyst can edit them, or build them in GX itself, without touching the toolkit. Each result is
brought back to what a person acts on: which rows (file line numbers and record ids) fail which
expectation, and with what value.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["run_suite", "resolve_roles", "LINE"]

LINE = "__line__"
_CONTEXT = None


def _context():
    global _CONTEXT
    if _CONTEXT is None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        _CONTEXT = gx.get_context(mode="ephemeral")
        _CONTEXT.variables.progress_bars = ProgressBarsConfig(globally=False)
    return _CONTEXT


def resolve_roles(spec: dict, roles: dict[str, str]) -> dict:
    """A role suite made concrete for one file.

    Suites for exports of unknown layout (``expectations/generic-csv/<kind>.json``) name roles
    instead of columns — ``"column": "{email}"`` — because every system calls its columns
    something else. Each role becomes the file's column for it (and ``"{regex:dob}"`` the pattern
    of the date layout detected for that column); an expectation whose role the file does not
    have is left out (there is nothing to check).
    """
    out = []
    for e in spec["expectations"]:
        kwargs, keep = dict(e.get("kwargs", {})), True
        for k, v in kwargs.items():
            if isinstance(v, str) and v.startswith("{") and v.endswith("}"):
                actual = roles.get(v[1:-1])
                if actual is None:
                    keep = False
                    break
                kwargs[k] = actual
        if keep:
            out.append({**e, "kwargs": kwargs})
    return {**spec, "expectations": out}


def run_suite(df: pd.DataFrame, suite_path: str | Path, *, key: str, file: str, lines: pd.Series,
              roles: dict[str, str] | None = None) -> list[dict]:
    """Validate ``df`` against the suite at ``suite_path``.

    Args:
        df: the object's rows, as read (strings).
        suite_path: GX suite JSON.
        key: the record id column, reported with each failing row.
        file: the export file, for the report.
        lines: the file line number of each row (aligned with ``df``).
        roles: role -> column, for a role suite (see :func:`resolve_roles`).

    Returns:
        One dict per expectation: ``expectation``, ``column``, ``why``, ``success``,
        ``unexpected_count``, ``element_count``, ``failures`` (``[{line, id, value}]``).
    """
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    spec = json.loads(Path(suite_path).read_text(encoding="utf-8"))
    if roles is not None:
        spec = resolve_roles(spec, roles)
    if not spec["expectations"]:
        return []
    ctx = _context()
    name = f"{spec['name']}#{id(df)}"
    suite = gx.ExpectationSuite(name=name, expectations=[ExpectationConfiguration(**e) for e in spec["expectations"]])
    suite = ctx.suites.add(suite)
    # GX reports failing rows as positions of a plain RangeIndex; asking it for id columns
    # instead makes it look each failing row up one at a time, which at a million rows with a
    # 12% missing-email rate takes minutes. Positions are turned into lines/ids/values below.
    frame = df if isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1 \
        else df.reset_index(drop=True)
    line_arr = np.asarray(lines, dtype=np.int64)
    ids = frame[key] if key in frame.columns else pd.Series(pd.NA, index=frame.index)
    source = ctx.data_sources.add_or_update_pandas(name="audit")
    try:
        asset = source.get_asset(name)
    except LookupError:
        asset = source.add_dataframe_asset(name)
    batch_def = asset.add_batch_definition_whole_dataframe(f"{name}-all")
    batch = batch_def.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(suite, result_format={"result_format": "COMPLETE", "exclude_unexpected_values": True})
    out = []
    for r in result.results:
        cfg = r.expectation_config
        col = cfg.kwargs.get("column")
        pos = np.asarray(r.result.get("unexpected_index_list") or [], dtype=np.int64)
        failures = []
        if len(pos):
            vals = frame[col].take(pos).tolist() if col in frame.columns else [None] * len(pos)
            failures = [{"line": int(ln), "id": _plain(i), "value": _plain(v)}
                        for ln, i, v in zip(line_arr[pos], ids.take(pos).tolist(), vals)]
        out.append({
            "expectation": cfg.type,
            "column": col,
            "why": (cfg.meta or {}).get("why", ""),
            "success": bool(r.success),
            "unexpected_count": int(r.result.get("unexpected_count") or len(failures)),
            "element_count": int(r.result.get("element_count") or len(df)),
            "details": {k: _plain(v) for k, v in r.result.items() if k in {"observed_value", "details"}},
            "file": file,
            "failures": failures,
        })
    ctx.suites.delete(name)
    return out


def _plain(v):
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
        return None
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v if isinstance(v, (int, float, bool)) else str(v)
