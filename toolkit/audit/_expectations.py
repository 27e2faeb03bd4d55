"""Running the Great Expectations suites in ``expectations/<source>/<object>.json`` (GX 1.x API).

Suites are plain GX suite JSON (``{"name", "expectations": [{"type", "kwargs", "meta"}]}``) so an
analyst can edit them, or build them in GX itself, without touching the toolkit. Each result is
brought back to what a person acts on: which rows (file line numbers and record ids) fail which
expectation, and with what value.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import numpy as np
import pandas as pd

from .._slow_imports import import_great_expectations
from .._arrow_bytes import arrow_strings, rows_at, spread_sample, values_at
from ._string_hash import string_keys

__all__ = ["run_suite", "resolve_roles", "load_great_expectations", "LINE"]

log = logging.getLogger(__name__)

LINE = "__line__"
_CONTEXT = None
#: guards the one GX context and batch definition; validations run one at a time under it (the
#: audit runs suites beside other work in threads, and GX's objects are not made to be shared)
_CONTEXT_LOCK = threading.RLock()
_BATCH_DEF = None


def _context():
    global _CONTEXT
    with _CONTEXT_LOCK:
        if _CONTEXT is None:
            gx = import_great_expectations()
            from great_expectations.data_context.types.base import ProgressBarsConfig

            logging.getLogger("great_expectations").setLevel(logging.ERROR)
            ctx = gx.get_context(mode="ephemeral")
            ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
            _CONTEXT = ctx
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


#: Column-map expectations whose verdict on a row depends on that row's value alone: GX checks
#: each distinct value of the column once and the verdict spreads back to every row holding it.
_VALUE_ONLY = frozenset({
    "expect_column_values_to_not_be_null",
    "expect_column_values_to_match_regex",
    "expect_column_values_to_not_match_regex",
    "expect_column_values_to_match_regex_list",
    "expect_column_values_to_not_match_regex_list",
    "expect_column_values_to_be_in_set",
    "expect_column_values_to_not_be_in_set",
    "expect_column_values_to_be_between",
    "expect_column_value_lengths_to_be_between",
    "expect_column_value_lengths_to_equal",
    "expect_column_values_to_match_strftime_format",
    "expect_column_values_to_be_dateutil_parseable",
    "expect_column_values_to_be_json_parseable",
})
#: table-level expectations that look at the column names only (validated on zero rows)
_SCHEMA_ONLY = frozenset({
    "expect_table_columns_to_match_set",
    "expect_table_columns_to_match_ordered_list",
    "expect_table_column_count_to_equal",
    "expect_table_column_count_to_be_between",
})
_NULL_CHECKS = frozenset({"expect_column_values_to_not_be_null"})
_UNIQUE = "expect_column_values_to_be_unique"
#: distinct-value frames: columns whose distinct counts are within this factor share one batch
_GROUP_FACTOR = 4
_SMALL_GROUP = 20_000
_IDX = "__toolkit_index__"
_SAMPLE = 20_000
_DISTINCT_SHARE = 0.1


def _failures(pos: np.ndarray, lines: np.ndarray, ids: pd.Series, values: pd.Series | None) -> list[dict]:
    """``[{line, id, value}]`` for the failing row positions ``pos`` (converted in bulk: one
    ``take`` per column, not one lookup per row)."""
    if not len(pos):
        return []
    vals = values_at(values, pos, _plain) if values is not None else [None] * len(pos)
    return [{"line": ln, "id": i, "value": v}
            for ln, i, v in zip(lines[pos].tolist(), values_at(ids, pos, _plain), vals)]


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
        One dict per expectation, in GX's result order (grouped by column, in order of first
        appearance in the suite): ``expectation``, ``column``, ``why``,
        ``success``, ``unexpected_count``, ``element_count``, ``failures`` (``[{line, id,
        value}]``, every failing row).

    How (GX decides every verdict; only the amount of data it is shown changes):

    * column-map expectations whose verdict depends on the value alone (regex, set, range,
      lengths, formats) are validated on each column's *distinct* values (plus one null when
      the column has any), in a few small batches; each distinct value's verdict spreads back
      to the rows holding it, and the counts and ``mostly`` success are recomputed from the
      rows, exactly as GX computes them;
    * uniqueness of a column of strings is validated on the rows whose 64-bit key repeats
      (every row of a repeated value is among them; see :func:`_by_candidates`);
    * expectations that need every row (other uniqueness, multi-column, table-level checks),
      null checks (a vectorised test, cheaper than factorizing) and value checks on columns
      of mostly distinct values (ids, timestamps: judged from the first rows) run in one batch
      on all rows of just the columns they name; schema checks (the column set) on zero rows.
    """
    spec = json.loads(Path(suite_path).read_text(encoding="utf-8"))
    if roles is not None:
        spec = resolve_roles(spec, roles)
    if not spec["expectations"]:
        return []
    # GX reports failing rows as positions of a plain RangeIndex; asking it for id columns
    # instead makes it look each failing row up one at a time. Positions are turned into
    # lines/ids/values here.
    frame = df if isinstance(df.index, pd.RangeIndex) and df.index.start == 0 and df.index.step == 1 \
        else df.reset_index(drop=True)
    n = len(frame)
    line_arr = np.asarray(lines, dtype=np.int64)
    ids = frame[key] if key in frame.columns else pd.Series(pd.NA, index=frame.index)
    exps = [dict(e) for e in spec["expectations"]]
    for i, e in enumerate(exps):
        e["meta"] = {**(e.get("meta") or {}), _IDX: i}

    by_value: dict[str, list[int]] = {}
    by_keys: dict[str, list[int]] = {}
    schema_only: list[int] = []
    rows_cols: list[str] = []
    by_rows: list[int] = []
    by_columns: dict[tuple, list[int]] = {}
    few: dict[str, bool] = {}
    for i, e in enumerate(exps):
        kw = e.get("kwargs") or {}
        col = kw.get("column")
        if (n and e["type"] in _VALUE_ONLY and e["type"] not in _NULL_CHECKS and isinstance(col, str)
                and col in frame.columns and not kw.get("row_condition")
                and few.setdefault(col, _few_distinct(frame[col]))):
            by_value.setdefault(col, []).append(i)
        elif e["type"] in _SCHEMA_ONLY:
            schema_only.append(i)
        elif (e["type"] == _UNIQUE and isinstance(col, str) and col in frame.columns
              and not kw.get("row_condition") and arrow_strings(frame[col]) is not None):
            by_keys.setdefault(col, []).append(i)
        else:
            cols = [c for c in _named_columns(kw) if c in frame.columns]
            if not cols and not _named_columns(kw):
                cols = list(frame.columns)  # a table-level check that may look at the rows
            if e["type"] in _NULL_CHECKS:  # GX filters no rows for these: one batch for all
                rows_cols += cols
                by_rows.append(i)
            else:  # GX copies the batch without the column's nulls, per expectation: own batch
                by_columns.setdefault(tuple(dict.fromkeys(cols)), []).append(i)
    batches = [(list(cols), idxs) for cols, idxs in by_columns.items()]
    if by_rows:
        batches.append((list(dict.fromkeys(rows_cols)), by_rows))

    out: list[dict | None] = [None] * len(exps)
    name = f"{spec['name']}#{id(df)}"
    if schema_only:
        for r in _validate(frame.iloc[:0], [exps[i] for i in schema_only], f"{name}-schema"):
            out[r["_idx"]] = _row_result(r, exps, frame, n, line_arr, ids, file)
    for g, (cols, idxs) in enumerate(batches):
        sub = frame[cols] if cols else frame.iloc[:, :0]
        for r in _validate(sub, [exps[i] for i in idxs], f"{name}-rows{g}"):
            out[r["_idx"]] = _row_result(r, exps, frame, n, line_arr, ids, file)
        del sub
    if by_value:
        _by_distinct(frame, by_value, exps, out, name, line_arr, ids, file)
    for g, (col, idxs) in enumerate(by_keys.items()):
        _by_candidates(frame, col, idxs, exps, out, f"{name}-unique{g}", line_arr, ids, file)
    # GX reports a suite's results grouped by domain (column), groups in order of first
    # appearance; the results come back in that order, as one GX validation would give them
    first: dict = {}
    for i, e in enumerate(exps):
        first.setdefault(_domain(e.get("kwargs") or {}), i)
    order = sorted(range(len(exps)), key=lambda i: (first[_domain(exps[i].get("kwargs") or {})], i))
    return [out[i] for i in order]


def _domain(kw: dict):
    if isinstance(kw.get("column"), str):
        return ("column", kw["column"])
    if kw.get("column_list"):
        return ("columns", tuple(kw["column_list"]))
    if kw.get("column_A") or kw.get("column_B"):
        return ("pair", kw.get("column_A"), kw.get("column_B"))
    return ("table",)


def _few_distinct(s: pd.Series) -> bool:
    """Whether a column repeats its values enough for validating its distinct values to pay:
    by an estimate from 20,000 rows spread over it, at most a tenth of its filled rows hold
    distinct values. (Only speed depends on it: both ways give GX's verdict on every row.)
    Null checks and columns of mostly distinct values (ids, timestamps) are cheaper to validate
    row by row than to factorize first.

    The share of distinct values in the sample itself says little: a column of a few thousand
    dates over millions of rows shows nearly all of them in 20,000 rows. What the sample does
    show is how often values recur, which is what :func:`_distinct_estimate` reads."""
    n = len(s)
    if n <= _SAMPLE:
        return True
    sample = spread_sample(s, _SAMPLE)  # spread over the file: exports are often sorted
    present = sample.dropna()  # GX judges no null, and many nulls would look like repeats
    if not len(present):
        return True
    estimate = _distinct_estimate(present.value_counts().to_numpy())
    return estimate <= n * len(present) / len(sample) * _DISTINCT_SHARE


def _distinct_estimate(counts: np.ndarray) -> float:
    """Distinct values in a whole column, from how often each value of a sample occurs in it
    (bias-corrected Chao1: ``d + f1 (f1 - 1) / (2 (f2 + 1))`` with ``f1`` values seen once and
    ``f2`` seen twice). Values seen once say that many more are unseen; a column of time
    stamps, where most are seen once, comes out large however skewed its repeats."""
    f1 = int((counts == 1).sum())
    f2 = int((counts == 2).sum())
    return len(counts) + f1 * (f1 - 1) / (2 * (f2 + 1))


def _named_columns(kw: dict) -> list[str]:
    cols = [kw[k] for k in ("column", "column_A", "column_B") if isinstance(kw.get(k), str)]
    cols += [c for c in (kw.get("column_list") or []) if isinstance(c, str)]
    return cols


def _validate(frame: pd.DataFrame, exps: list[dict], name: str) -> list[dict]:
    """GX validation of ``frame`` against ``exps``: per expectation ``{_idx, success, result,
    config}`` (``result`` holds GX's unexpected positions of ``frame``)."""
    gx = import_great_expectations()
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    from great_expectations.execution_engine import pandas_execution_engine as engine

    # GX fingerprints each batch (hashing every cell, twice per validation) unless the frame is
    # larger than its HASH_THRESHOLD; the fingerprint only labels the batch in the result's
    # metadata, which the audit does not use, and costs more than the checks themselves. Skip it
    # the way GX itself does for large frames.
    with _CONTEXT_LOCK:
        threshold = engine.HASH_THRESHOLD
        engine.HASH_THRESHOLD = 0
        suite = gx.ExpectationSuite(name=name, expectations=[ExpectationConfiguration(**e) for e in exps])
        try:
            batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
            # failing rows as positions only: no values (looked up in bulk here) and no query
            # string (GX filters the whole batch a second time to write one)
            result = batch.validate(suite, result_format={"result_format": "COMPLETE",
                                                          "exclude_unexpected_values": True,
                                                          "return_unexpected_index_query": False})
        finally:
            engine.HASH_THRESHOLD = threshold
    found = []
    for r in result.results:
        cfg = r.expectation_config
        found.append({"_idx": int((cfg.meta or {})[_IDX]), "success": bool(r.success),
                      "result": dict(r.result or {})})
    return found


def load_great_expectations() -> None:
    """Import Great Expectations and set up its context (seconds of imports), so that it can be
    done beside other work before the first suite runs."""
    _batch_definition()


def preload_great_expectations() -> threading.Thread:
    """Start :func:`load_great_expectations` in a daemon thread and return it.

    Called before a source is read for an audit: GX's imports are Python code, and reading an
    export leaves part of the cores idle (Arrow parses outside Python's lock), so the import
    costs the audit less there than beside the audit's own work. ``run_audit`` waits for it
    (the context's lock) or, if it failed, loads GX itself and raises what went wrong.
    """
    def load() -> None:
        try:
            load_great_expectations()
        except Exception:  # noqa: BLE001 - run_audit loads again, and raises, on its own thread
            log.debug("loading Great Expectations ahead of the audit failed", exc_info=True)

    thread = threading.Thread(target=load, name="gx-preload", daemon=True)
    thread.start()
    return thread


def _batch_definition():
    """One dataframe asset and whole-frame batch definition for every validation: adding them
    per suite re-serialises the context's configuration each time."""
    global _BATCH_DEF
    with _CONTEXT_LOCK:
        if _BATCH_DEF is None:
            ctx = _context()
            source = ctx.data_sources.add_or_update_pandas(name="audit")
            try:
                asset = source.get_asset("frames")
            except LookupError:
                asset = source.add_dataframe_asset("frames")
            try:
                _BATCH_DEF = asset.get_batch_definition("whole")
            except (KeyError, LookupError, ValueError):
                _BATCH_DEF = asset.add_batch_definition_whole_dataframe("whole")
        return _BATCH_DEF


def _entry(e: dict, file: str, success: bool, unexpected: int, element_count: int, result: dict,
           failures) -> dict:
    kw = e.get("kwargs") or {}
    meta = {k: v for k, v in (e.get("meta") or {}).items() if k != _IDX}
    return {
        "expectation": e["type"],
        "column": kw.get("column"),
        # the expectation as run (a role suite's roles made columns): GX results are rebuilt from it
        "kwargs": {k: _plain(v) for k, v in kw.items()},
        "why": meta.get("why", ""),
        "success": bool(success),
        "unexpected_count": int(unexpected),
        "element_count": int(element_count),
        "details": {k: _plain(v) for k, v in result.items() if k in {"observed_value", "details"}},
        "file": file,
        "failures": failures,
    }


def _row_result(r: dict, exps: list[dict], frame: pd.DataFrame, n: int, line_arr: np.ndarray,
                ids: pd.Series, file: str) -> dict:
    """A result GX computed on all rows (positions are row positions)."""
    e = exps[r["_idx"]]
    col = (e.get("kwargs") or {}).get("column")
    res = r["result"]
    pos = np.asarray(res.get("unexpected_index_list") or [], dtype=np.int64)
    failures = _failures(pos, line_arr, ids, frame[col] if col in frame.columns else None)
    return _entry(e, file, r["success"], int(res.get("unexpected_count") or len(failures)),
                  int(res.get("element_count") or n), res, failures)


def _factorize(s: pd.Series) -> tuple[np.ndarray, pd.Series, int]:
    """(codes per row, the distinct values in the column's own dtype — plus one null when the
    column has any, so GX judges the null too —, how many rows are null). Null rows get the
    code of that trailing null."""
    arr = s.array
    codes, uniq = pd.factorize(arr, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    k = len(uniq)
    missing = codes < 0
    nulls = int(missing.sum())
    if nulls:
        codes[missing] = k
    values = pd.Series(uniq, dtype=s.dtype if isinstance(uniq, pd.api.extensions.ExtensionArray)
                       else None)
    take = np.arange(k + (1 if nulls else 0), dtype=np.int64)
    if nulls:
        take[-1] = -1
    return codes, pd.Series(values.array.take(take, allow_fill=True)), nulls


def _by_distinct(frame: pd.DataFrame, by_value: dict[str, list[int]], exps: list[dict],
                 out: list, name: str, line_arr: np.ndarray, ids: pd.Series, file: str) -> None:
    n = len(frame)
    cols = []
    for col in by_value:
        codes, distinct, nulls = _factorize(frame[col])
        cols.append((col, codes, distinct, nulls))
    cols.sort(key=lambda c: -len(c[2]))
    groups: list[list] = []
    for c in cols:
        if groups and (len(c[2]) * _GROUP_FACTOR >= len(groups[-1][0][2])
                       or len(groups[-1][0][2]) <= _SMALL_GROUP):
            groups[-1].append(c)
        else:
            groups.append([c])
    for g, members in enumerate(groups):
        size = len(members[0][2])
        batch = {}
        for col, _codes, distinct, _nulls in members:
            pad = np.full(size, -1, dtype=np.int64)
            pad[:len(distinct)] = np.arange(len(distinct))
            batch[col] = pd.Series(distinct.array.take(pad, allow_fill=True))
        bframe = pd.DataFrame(batch)
        info = {col: (codes, distinct, nulls) for col, codes, distinct, nulls in members}
        idxs = [i for col, *_ in members for i in by_value[col]]
        for r in _validate(bframe, [exps[i] for i in idxs], f"{name}-values{g}"):
            e = exps[r["_idx"]]
            col = e["kwargs"]["column"]
            codes, distinct, nulls = info[col]
            res = r["result"]
            if "unexpected_index_list" not in res:  # GX could not evaluate it: report as GX did
                out[r["_idx"]] = _entry(e, file, r["success"], int(res.get("unexpected_count") or 0),
                                        n, res, [])
                continue
            bad_values = np.asarray(res.get("unexpected_index_list") or [], dtype=np.int64)
            bad_values = bad_values[bad_values < len(distinct)]  # padding rows are not values
            bad = np.zeros(len(distinct), dtype=bool)
            bad[bad_values] = True
            pos = np.flatnonzero(bad[codes]) if len(bad_values) else np.zeros(0, np.int64)
            out[r["_idx"]] = _entry(e, file, _success(e, n, nulls, len(pos)), len(pos), n, res,
                                    _failures(pos, line_arr, ids, frame[col]))
        del bframe, batch


def _success(e: dict, n: int, nulls: int, unexpected: int) -> bool:
    """An expectation's verdict from its counts over all ``n`` rows, as GX computes it."""
    mostly = (e.get("kwargs") or {}).get("mostly", 1)
    mostly = 1 if mostly is None else mostly
    if e["type"] in _NULL_CHECKS:  # GX: share of all rows
        considered = n
    else:  # GX: share of the non-null rows; vacuously true when there are none
        considered = n - nulls
    return True if considered == 0 or n == 0 else (considered - unexpected) / considered >= mostly


def _by_candidates(frame: pd.DataFrame, col: str, idxs: list[int], exps: list[dict], out: list,
                   name: str, line_arr: np.ndarray, ids: pd.Series, file: str) -> None:
    """Uniqueness checks, validated by GX on the rows that may repeat a value.

    A value can only repeat where its 64-bit key repeats (equal strings, equal keys: see
    :mod:`toolkit.audit._string_hash`), so GX is shown just those rows — every row of every
    repeated value, plus the rare rows whose keys collide, which GX then finds unique. Its
    failing rows are the column's failing rows; the counts and ``mostly`` verdict are recomputed
    over all rows. (GX's own check hashes every value into a table: about two seconds and
    most of a gigabyte for a column of four million ids.)
    """
    n = len(frame)
    data = arrow_strings(frame[col])
    keys = string_keys(data)
    valid = np.asarray(data.is_valid().to_numpy(zero_copy_only=False), dtype=bool) if data.null_count \
        else np.ones(n, dtype=bool)
    nulls = int(n - valid.sum())
    ordered = np.sort(keys[valid])
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    cand = np.flatnonzero(valid & np.isin(keys, repeated)) if len(repeated) else np.zeros(0, np.int64)
    sub = pd.DataFrame({col: rows_at(frame[col], cand)})
    for r in _validate(sub, [exps[i] for i in idxs], name):
        e = exps[r["_idx"]]
        res = r["result"]
        pos = cand[np.asarray(res.get("unexpected_index_list") or [], dtype=np.int64)]
        out[r["_idx"]] = _entry(e, file, _success(e, n, nulls, len(pos)), len(pos), n, res,
                                _failures(pos, line_arr, ids, frame[col]))


def _plain(v):
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
        return None
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    return v if isinstance(v, (int, float, bool)) else str(v)
