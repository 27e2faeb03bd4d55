"""What the notebooks display: figure cards, charts and tables built from the steps' results.

Kept out of the notebooks so that they stay one call per step, and the same views render the
same way in JupyterLab and in the HTML reports. Each ``show_*`` takes a step's result and a
``part`` (``"summary"``, ``"table"``, …; ``"all"`` shows every part under its own heading).

Inside a report (see :func:`toolkit.begin_report`), every view also writes the table it shows as
CSV beside the report and carries a PHI-masked rendering of itself for ``--redact``.
"""

from __future__ import annotations

import pandas as pd

from . import blocks
from .display import emit, parts as _parts, show_frame, show_summary

__all__ = ["show_counts", "show_missing", "show_table", "show_findings", "owner_table", "not_loaded", "show_summary",
           "show_audit", "show_owners", "show_sample_diff", "show_reconciliation", "emit", "show_frame"]


# --- generic views, kept for the first notebooks ---------------------------------------------
def show_mapping_fields(spec, grid=None) -> None:
    """Every field of the mapping as a table; given the review ``grid``, drawn again in place each
    time the grid saves, so that it shows what ``mapping.yaml`` now holds."""
    import uuid

    from ..mapping import mapping_table

    display_id = f"mapping-fields-{uuid.uuid4().hex}"  # a new output each time the cell runs

    def draw() -> None:
        show_frame("mapping_fields", mapping_table(spec), display_id=display_id)

    draw.redraws_mapping_fields = True
    draw()
    if grid is not None:  # the cell run again: its old table is gone, so stop redrawing that one
        grid.on_save[:] = [c for c in grid.on_save if not getattr(c, "redraws_mapping_fields", False)] + [draw]


def show_table(df: pd.DataFrame, max_rows: int = 200, name: str = "table") -> None:
    """Display a table, saying how many rows were left out when it is long."""
    show_frame(name, df if df is not None else pd.DataFrame(), max_rows=max_rows)


def show_counts(report) -> None:
    """Records per object, as a chart."""
    emit(blocks.bars(pd.Series(report.profile["counts"]), unit="records", label="records per object"), phi=False)


def show_missing(report) -> None:
    """Share of empty values per field of each object that has any, as a chart."""
    rows = {}
    for obj, info in report.profile["objects"].items():
        n = max(info["records"], 1)
        for col, missing in info["missing"].items():
            if missing:
                rows[f"{obj}.{col}"] = 100.0 * missing / n
    emit(blocks.bars(pd.Series(rows, dtype=float), percent=True, tone="warn", label="empty values per field"),
         phi=False)


def show_findings(report) -> None:
    """Duplicates, unconvertible values and broken references, each with file lines."""
    for part in ("duplicates", "invalid", "references"):
        show_audit(report, part)


def owner_table(outcome) -> pd.DataFrame:
    """Owner resolution as a table: matched, unmatched, records, recommended action."""
    owners = getattr(outcome, "owners", outcome)
    return pd.DataFrame(owners.rows())


def not_loaded(rec) -> pd.DataFrame:
    """Source records that were skipped, errored or are unaccounted for, with reasons."""
    df = rec.fates
    return df[~df["fate"].isin(["created", "updated"])].sort_values(["fate", "object", "source_key"])


def _n(n: int, one: str, many: str | None = None) -> str:
    """``1 likely duplicate``, ``3 likely duplicates``."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


# --- audit ------------------------------------------------------------------------------------
def _audit_rows(report) -> dict[str, pd.DataFrame]:
    dup, bad, refs, dates, picks, inventory = [], [], [], [], [], []
    for obj, info in report.profile["objects"].items():
        n = max(info["records"], 1)
        dup += [{"object": obj, "kept": d["kept"], "duplicate": d["duplicate"], "why": d["why"],
                 "lines": ", ".join(map(str, d["lines"]))} for d in info.get("duplicates", [])]
        for col, v in info["invalid"].items():
            bad += [{"object": obj, "file": info["file"], "line": r["line"], "id": r["id"], "column": col,
                     "value": r["value"], "problem": r["problem"]} for r in v["rows"]]
        refs += [{"object": obj, "file": info["file"], **r} for r in info["broken_references"]]
        for col, layouts in info.get("date_layouts", {}).items():
            used = {k: v for k, v in layouts.items() if v}
            dates.append({"object": obj, "column": col, "layouts": " · ".join(f"{k} ({v:,})" for k, v in used.items()),
                          "consistent": "consistent" if len(used) <= 1 else "mixed"})
        for col, values in info.get("picklists", {}).items():
            picks += [{"object": obj, "column": col, "value": v, "records": c} for v, c in values.items()]
        for col, missing in info["missing"].items():
            inventory.append({"object": obj, "field": col, "filled": info["records"] - missing, "empty": missing,
                              "filled %": round(100.0 * (info["records"] - missing) / n, 1)})
    review = report.failures()
    review = review[review["expectation"].str.contains("not_be_null", na=False)]
    return {"duplicates": pd.DataFrame(dup), "invalid": pd.DataFrame(bad), "references": pd.DataFrame(refs),
            "dates": pd.DataFrame(dates), "picklists": pd.DataFrame(picks), "inventory": pd.DataFrame(inventory),
            "review": review[["object", "file", "line", "id", "column", "why"]].rename(
                columns={"column": "missing", "why": "why it matters"})}


def show_audit(report, part: str = "all") -> None:
    """The data-quality audit: ``summary``, ``counts``, ``missing``, ``review`` (records missing
    required fields), ``failures``, ``duplicates``, ``invalid``, ``references``, ``dates``,
    ``picklists``, ``inventory``, ``drift``, ``gx`` (what the workspace's GX project holds) or
    ``set_aside`` (rows the reader could not read, by file and line)."""
    rows = _audit_rows(report)
    s = report.summary()

    def summary():
        unread = s.get("read_errors", 0)
        problems = s["expectations_failed"] + s["invalid_values"] + s["duplicates"] + s["broken_references"] + unread
        verdict = (f"The export is clean: {s['records']:,} records in {s['objects']} objects pass every check"
                   if not problems else
                   (f"{_n(unread, 'row', 'rows')} set aside as unreadable, " if unread else "") +
                   f"{_n(s['rows_failing_expectations'], 'row fails', 'rows fail')} checks, "
                   f"{_n(s['duplicates'], 'likely duplicate')} and {_n(s['broken_references'], 'broken reference')} "
                   "need a decision before the load")
        show_summary({"records": s["records"], "objects": s["objects"], "rows set aside": unread,
                      "checks failed": s["expectations_failed"],
                      "rows failing checks": s["rows_failing_expectations"], "values that will not convert":
                      s["invalid_values"], "likely duplicates": s["duplicates"], "broken references":
                      s["broken_references"]}, verdict=verdict, ok=not problems,
                     tones={"rows set aside": "bad" if unread else "good",
                            "checks failed": "bad" if s["expectations_failed"] else "good",
                            "likely duplicates": "warn" if s["duplicates"] else "good",
                            "broken references": "bad" if s["broken_references"] else "good"})

    def set_aside():
        # rows (or whole files) the reader could not read: each by file and line, never loaded
        if not report.read_errors:
            emit(blocks.banner("Every row of every file was read", "good"), phi=False)
            return
        show_frame("rows_set_aside", pd.DataFrame(
            [{"object": e.get("object"), "file": e.get("file"), "line": e.get("row"), "column": e.get("column"),
              "why": e.get("message")} for e in report.read_errors],
            columns=["object", "file", "line", "column", "why"]))

    def drift():
        drift_rows = [{"object": o, **(d if isinstance(d, dict) else {"drift": d})} for o, d in (report.drift or {}).items()]
        if not drift_rows:
            emit(blocks.banner("No schema drift: every file has exactly the declared columns", "good"), phi=False)
        else:
            show_frame("schema_drift", pd.DataFrame(drift_rows))

    def gx():
        saved = (report.gx or {}).get("results") or []
        where = f"{len(saved)} validation results saved in the workspace's GX project (gx/)"
        if (report.gx or {}).get("data_docs"):
            where += f"; Data Docs at {report.gx['data_docs']}"
        emit(blocks.banner(where, "good" if saved else "warn"), phi=False)
        runs = (report.gx or {}).get("checkpoints")
        if runs is not None:
            audit_ok = {o: all(r["success"] for r in rs) for o, rs in report.expectations.items()}
            show_frame("gx_checkpoints", pd.DataFrame(
                [{"object": o, "checkpoint": c["checkpoint"], "GX verdict": "pass" if c["success"] else "fail",
                  "expectations": c["statistics"].get("evaluated_expectations"),
                  "failed": c["statistics"].get("unsuccessful_expectations"),
                  "agrees with the audit": audit_ok.get(o) == c["success"]} for o, c in runs.items()],
                columns=["object", "checkpoint", "GX verdict", "expectations", "failed", "agrees with the audit"]))

    verdicts = {"consistent": "good", "mixed": "warn"}
    _parts({
        "summary": summary, "counts": lambda: show_counts(report), "missing": lambda: show_missing(report),
        "review": lambda: show_frame("needs_manual_review", rows["review"], interactive=len(rows["review"]) > 15,
                                     panes=("object", "missing")),
        "failures": lambda: show_frame("failing_rows", report.failures(), interactive=True,
                                       panes=("object", "column", "expectation"), hint_column="column",
                                       value_columns=("value",)),
        "duplicates": lambda: show_frame("likely_duplicates", rows["duplicates"]),
        "invalid": lambda: show_frame("values_that_will_not_convert", rows["invalid"], interactive=len(rows["invalid"]) > 15,
                                      panes=("object", "column"), hint_column="column", value_columns=("value",)),
        "references": lambda: show_frame("broken_references", rows["references"], hints={"value": "id"}),
        "dates": lambda: show_frame("date_layouts", rows["dates"], pills={"consistent": verdicts}),
        "picklists": lambda: show_frame("picklist_values", rows["picklists"], interactive=len(rows["picklists"]) > 25,
                                        panes=("object", "column")),
        "inventory": lambda: show_frame("field_inventory", rows["inventory"], interactive=True, panes=("object",)),
        "drift": drift, "gx": gx, "set_aside": set_aside,
    }, part, "the audit")


# --- owner resolution -------------------------------------------------------------------------
def show_owners(owners, part: str = "all") -> None:
    """Owner resolution: ``summary`` and ``table`` (every source owner, its records and the action)."""
    owners = getattr(owners, "owners", owners)
    df = pd.DataFrame(owners.rows())

    def summary():
        unmatched = df[~df["matched"]] if len(df) else df
        n_un = int(unmatched["records"].sum()) if len(unmatched) else 0
        fallback = owners.fallback.email if owners.fallback else "none named"
        verdict = ("Every record owner matches a destination user" if not len(unmatched) else
                   f"{len(unmatched)} owners match no destination user: their {n_un:,} records go to {fallback}"
                   if owners.fallback else f"{len(unmatched)} owners match no user and no fallback user is named")
        show_summary({"owners": len(df), "matched": int(df["matched"].sum()) if len(df) else 0,
                      "unmatched": len(unmatched), "records to the fallback user": n_un, "fallback user": fallback},
                     verdict=verdict, ok=not len(unmatched) or (None if owners.fallback else False),
                     tone="warn" if len(unmatched) and owners.fallback else None,
                     tones={"unmatched": "warn" if len(unmatched) else "good"})

    def table():
        shown = df.assign(matched=df["matched"].map({True: "matched", False: "unmatched"})) if len(df) else df
        show_frame("owner_resolution", shown.sort_values(["matched", "records"], ascending=[False, False]) if len(df) else df,
                   pills={"matched": {"matched": "good", "unmatched": "warn"}})

    _parts({"summary": summary, "table": table}, part, "owner resolution")


# --- sample field-level diff --------------------------------------------------------------------
VERDICT_TONES = {"mismatch": "bad", "missing": "warn", "transformed as expected": "info", "transformed": "info",
                 "equal": "good"}
_DIFF_ALIASES = {"source": "source_value", "value_source": "source_value", "expected_value": "expected",
                 "destination_value": "read_back", "actual": "read_back", "actual_value": "read_back",
                 "readback": "read_back", "destination": "read_back", "record": "source_key", "key": "source_key",
                 "source_id": "source_key", "target": "field", "destination_field": "field"}


def diff_frame(diff) -> pd.DataFrame:
    """The sample diff as one table, mismatches first, whatever shape it came in (a DataFrame,
    a list of row dicts, ``{"rows": [...]}``, or the path of ``sample.json``)."""
    import json
    from pathlib import Path

    if isinstance(diff, (str, Path)):
        diff = json.loads(Path(diff).read_text(encoding="utf-8"))
    for attr in ("rows", "fields", "diff"):
        if isinstance(diff, dict) and attr in diff:
            diff = diff[attr]
        elif not isinstance(diff, (dict, list, pd.DataFrame)) and hasattr(diff, attr):
            diff = getattr(diff, attr)
    df = pd.DataFrame(diff).rename(columns=_DIFF_ALIASES)
    rank = {v: i for i, v in enumerate(VERDICT_TONES)}
    df = df.assign(_rank=df["verdict"].map(lambda v: rank.get(str(v), len(rank))))
    front = [c for c in ("verdict", "object", "source_key", "field", "source_value", "expected", "read_back") if c in df]
    rest = [c for c in df.columns if c not in front and c != "_rank"]
    return df.sort_values(["_rank"] + [c for c in ("object", "source_key", "field") if c in df], kind="stable")[front + rest]


def show_sample_diff(diff, part: str = "all") -> None:
    """The sample's field-level diff: ``summary``, ``by_field`` and ``table`` (interactive,
    filterable by verdict, object and field; mismatches first)."""
    df = diff_frame(diff)
    counts = df["verdict"].value_counts()

    def summary():
        bad = int(counts.get("mismatch", 0) + counts.get("missing", 0))
        records = df[["object", "source_key"]].drop_duplicates().shape[0] if "source_key" in df else len(df)
        by_verdict = {v: int(counts[v]) for v in VERDICT_TONES if v in counts}
        by_verdict |= {str(k): int(n) for k, n in counts.items() if k not in by_verdict}
        show_summary({"records sampled": records, "fields compared": len(df), **by_verdict},
                     verdict=("Every sampled field reads back as the mapping expects" if not bad else
                              f"{bad:,} fields do not read back as expected: see the mismatches at the top of the table"),
                     ok=not bad, tones={k: t for k, t in VERDICT_TONES.items()})

    def by_field():
        tally = df.groupby(["field", "verdict"]).size().unstack(fill_value=0) if len(df) else pd.DataFrame()
        order = [v for v in VERDICT_TONES if v in tally.columns] + [v for v in tally.columns if v not in VERDICT_TONES]
        tally = tally[order] if len(tally) else tally
        bad_cols = [c for c in ("mismatch", "missing") if c in tally]
        bad = tally[bad_cols].sum(axis=1) if bad_cols else pd.Series(0, index=tally.index)
        shown = tally[bad > 0].assign(_bad=bad[bad > 0]).sort_values("_bad", ascending=False).drop(columns="_bad")
        fine = int((bad == 0).sum())
        if not len(shown):
            emit(blocks.banner(f"All {fine} fields read back as expected", "good"), phi=False)
            return
        emit(blocks.stacked_bars(shown, VERDICT_TONES)
             + blocks.note(f"{fine} other fields read back equal or transformed as expected in every sampled record."),
             phi=False)

    def table():
        show_frame("sample_diff", df, interactive=True, panes=("verdict", "object", "field"),
                   pills={"verdict": VERDICT_TONES}, hint_column="field",
                   value_columns=("source_value", "expected", "read_back"))

    _parts({"summary": summary, "by_field": by_field, "table": table}, part, "the sample diff")


# --- reconciliation ---------------------------------------------------------------------------
FATE_TONES = {"unaccounted": "bad", "error": "bad", "skipped": "warn", "rolled back": "info", "created": "good",
              "updated": "good"}


def _frame(value) -> pd.DataFrame | None:
    if value is None:
        return None
    return value if isinstance(value, pd.DataFrame) else pd.DataFrame(value)


def show_reconciliation(rec, part: str = "all") -> None:
    """Reconciliation: ``summary`` (red/green), ``objects``, ``totals`` (field totals source vs
    destination), ``population`` (field population rates), ``integrity`` and ``fates`` (every
    source record, not-loaded first)."""
    s = rec.summary()

    def summary():
        ok = bool(s.get("ok", not s.get("unaccounted") and not s.get("broken_links")))
        verdict = (f"All {s['source_records']:,} source records are accounted for and every link holds" if ok else
                   f"{s.get('unaccounted', 0):,} source records are unaccounted for and "
                   f"{s.get('broken_links', 0):,} links are broken")
        show_summary({k: v for k, v in s.items() if k != "ok"}, verdict=verdict, ok=ok,
                     tones={"unaccounted": "bad" if s.get("unaccounted") else "good",
                            "errors": "bad" if s.get("errors") else "good",
                            "broken_links": "bad" if s.get("broken_links") else "good"})

    def optional(attr: str, name: str, **kw):
        df = _frame(getattr(rec, attr, None))
        if df is None:
            emit(blocks.note(f"not computed by this run ({name})"), phi=False)
        else:
            show_frame(name, df, **kw)

    def fates():
        df = rec.fates.assign(_r=rec.fates["fate"].map(lambda f: list(FATE_TONES).index(f) if f in FATE_TONES else 0))
        show_frame("record_fates", df.sort_values(["_r", "object", "source_key"]).drop(columns="_r"), interactive=True,
                   panes=("fate", "object"), pills={"fate": FATE_TONES})

    match = {"True": "good", "False": "bad", "yes": "good", "no": "bad", "match": "good", "mismatch": "bad"}
    _parts({
        "summary": summary, "objects": lambda: show_frame("per_object", rec.objects),
        "totals": lambda: optional("field_totals", "field_totals", pills={"match": match}),
        "population": lambda: optional("population", "field_population"),
        "integrity": lambda: show_frame("relationship_integrity", pd.DataFrame(rec.integrity)) if rec.integrity else
        emit(blocks.banner("Every link holds: each record points at a record that exists", "good"), phi=False),
        "fates": fates,
    }, part, "the reconciliation")


#: how each fate is coloured where source records are counted
OUTCOME_TONES = {"created": "good", "updated": "good", "merged": "info", "excluded": "neutral", "skipped": "warn",
              "error": "bad", "rolled back": "neutral", "unaccounted": "bad"}


def show_outcomes(per_object: pd.DataFrame, errors: pd.DataFrame | None = None) -> None:
    """Every source object's records by fate, as one stacked bar per object, then the records
    in error as a table (object, source key, reason), most common reason first.

    Args:
        per_object: :func:`toolkit.load.fates.fates_per_object`'s table.
        errors: the source records in error (``object``, ``source_key``, ``reason``).
    """
    if per_object is None or not len(per_object):
        emit(blocks.note("No source records."), phi=False)
        return
    tally = per_object.set_index("object").drop(columns=["source"], errors="ignore")
    tally = tally[[c for c in OUTCOME_TONES if c in tally.columns]]
    emit(blocks.stacked_bars(tally, OUTCOME_TONES), phi=False)
    show_frame("outcomes_per_object", per_object)
    if errors is None:
        return
    if not len(errors):
        emit(blocks.banner("No source record ended in an error", "good"), phi=False)
        return
    common = errors["reason"].map(errors["reason"].value_counts())
    shown = errors.assign(_n=common).sort_values(["_n", "object", "source_key"], ascending=[False, True, True])
    show_frame("records_in_error", shown.drop(columns="_n"), interactive=len(errors) > 15, panes=("object",))


# --- a dental group's roll-up -----------------------------------------------------------------
def show_group(rollup: dict, part: str = "all") -> None:
    """A group's practices side by side (``toolkit.group_rollup``): ``summary`` (the group's
    totals and verdict) and ``practices`` (one row per practice: stage, fates, CRM records, ok)."""
    t = rollup["totals"]

    def summary():
        verdict = (f"{rollup['group']}: all {rollup['of']} practices reconciled with nothing to look at"
                   if rollup["ok"] else
                   f"{rollup['group']}: {rollup['reconciled']} of {rollup['of']} practices reconciled; "
                   "the practices below marked not ok need a look first")
        show_summary({"practices": rollup["of"], "reconciled": rollup["reconciled"],
                      "source records": t["source_records"], "created": t["created"], "merged": t["merged"],
                      "excluded": t["excluded"], "skipped": t["skipped"], "errors": t["errors"],
                      "unaccounted": t["unaccounted"], "CRM records": t["crm_records"]},
                     verdict=verdict, ok=rollup["ok"],
                     tones={"errors": "bad" if t["errors"] else "good",
                            "unaccounted": "bad" if t["unaccounted"] else "good"})

    def practices():
        cols = ["practice", "source", "destination", "stage", "source_records", "created", "updated", "merged",
                "excluded", "skipped", "errors", "unaccounted", "crm_records", "ok", "look first"]
        frame = pd.DataFrame(rollup["practices"]).reindex(columns=cols)
        show_frame("practices", frame.rename(columns={"source_records": "source records",
                                                      "crm_records": "CRM records"}))

    _parts({"summary": summary, "practices": practices}, part, "the group roll-up")
