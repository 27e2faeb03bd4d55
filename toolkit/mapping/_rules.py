"""The rules a mapping can state beyond "column → field", applied by build_plan.

Each is a key in ``mapping.yaml`` and a vectorised function here:

- ``derive`` (object): computed columns, from other objects or from dates, that routing and
  fields can use — e.g. a patient's open treatment plans and months since the last visit::

      derive:
        open_plans: {collect: {object: treatment_plans, by: PatientID, how: count, where: "Status == 'Accepted'"}}
        last_visit: {collect: {object: appointments, by: PatientID, column: AptDate, how: latest}}
        months_since_visit: {months_since: last_visit}
      where: "open_plans > 0 and not (months_since_visit <= @lead_recency_months)"

  ``@name`` in a ``where`` is read from the mapping's top-level ``params`` (plus ``as_of``, the
  date "months since" counts to: ``params.as_of`` or the extraction date).
- ``collect`` (field): a value gathered from related records of another object — the latest
  treatment plan's status on a person, the lab case status, every procedure code joined.
- ``where``/``otherwise`` (field): the field holds its value only on rows that match; the rest
  get ``otherwise`` (a referring dentist's checkbox is true for dentists, false for others).
- ``split``/``item`` and ``format`` (field): one of several values in a cell ("Google; Friend" →
  primary and secondary tag), and a text around the value ("Referral: {}").
- ``hierarchy`` (object): parent links within an object, with circular chains collapsed flat and
  the broken link kept in a text field.
- ``pipeline`` (object): pipeline → pipeline and stage → stage maps (per pipeline if need be),
  the fallback stage for unmapped values, and stage probabilities kept in a decimal field.
- ``custom_values`` (object): a practice's own custom fields, kept by the source as one row per
  record and field (with a table defining the fields), turned into one custom field each with
  the type the definition gives.
"""

from __future__ import annotations

import ast
import re
from typing import Any, Iterable

import pandas as pd

from ..errors import MappingError
from ._transforms import parse_dates

__all__ = ["custom_values", "stage_probability", "collect", "derive_columns", "months_since", "apply_field_rules", "circular_parents", "pipeline_and_stage",
           "pipeline_maps", "query"]

HOWS = {"count", "exists", "first", "last", "latest", "earliest", "join", "sum", "max", "min", "json"}


def query(df: pd.DataFrame, expr: str, params: dict, where: str) -> pd.Index:
    """Rows of ``df`` matching ``expr``; ``@name`` is read from ``params``.

    Raises:
        MappingError: the expression names a column or parameter that does not exist.
    """
    try:
        return df.query(expr, engine="python", local_dict=params).index
    except (KeyError, NameError, pd.errors.UndefinedVariableError) as exc:
        raise MappingError(f"{where}: rule `{expr}` names something the export or params do not have ({exc})") from None
    except SyntaxError as exc:
        raise MappingError(f"{where}: rule `{expr}` is not a valid expression ({exc.msg})") from None


def rule_problem(expr: str, params: dict, columns: Iterable[str] | None = None) -> str | None:
    """Why ``expr`` cannot serve as a ``where`` rule, or None when it can — without the data.

    Checks what can be checked before the export is read: the expression parses (pandas
    query syntax: Python comparisons, ``and``/``or``/``not``, ``in``, method calls such as
    ``Email.isna()``, `` `Odd Name` `` in backticks), every ``@name`` is a param (or
    ``as_of``), and, when ``columns`` is given, every column it names exists.
    """
    text = str(expr).strip()
    if not text:
        return "the rule is empty"
    quoted: list[str] = []

    def unquote(m: re.Match) -> str:
        quoted.append(m.group(1))
        return f"__quoted_{len(quoted) - 1}"

    plain = re.sub(r"`([^`]*)`", unquote, text)
    wanted = re.findall(r"@([A-Za-z_]\w*)", plain)
    unknown = sorted({p for p in wanted if p not in params and p != "as_of"})
    if unknown:
        return f"rule `{text}` uses @{', @'.join(unknown)}, not among the mapping's params ({', '.join(sorted(params)) or 'none'})"
    try:
        tree = ast.parse(re.sub(r"@(?=[A-Za-z_])", "__param_", plain), mode="eval")
    except SyntaxError as exc:
        return f"rule `{text}` is not a valid expression ({exc.msg})"
    if columns is None:
        return None
    known = set(columns)
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not n.id.startswith("__param_")}
    named = {quoted[int(n[len("__quoted_"):])] if n.startswith("__quoted_") else n for n in names}
    missing = sorted(named - known)
    if missing:
        return f"rule `{text}` names column(s) {', '.join(missing)}, which the export does not have"
    return None


def collect(snapshot, df: pd.DataFrame, spec: dict, on: str, params: dict, where: str) -> pd.Series:
    """For each row of ``df``, a value from the rows of another object that point at it.

    Args:
        spec: ``{object, by, column, how, order, where, sep}``; ``by`` is the other object's
            column holding this object's ``on`` value; ``how`` one of count, exists, first, last,
            latest/earliest (by ``order``, parsed as dates), join, sum, max, min, or json: the
            rows themselves as a JSON array (``columns``: which, default all but ``by``; in
            ``order``), for a long-text field that keeps a whole history.
    """
    other = snapshot.tables.get(spec["object"])
    if other is None:
        raise MappingError(f"{where}: collect names object {spec['object']!r}, which the export does not have")
    how = spec.get("how", "latest")
    if how not in HOWS:
        raise MappingError(f"{where}: collect how {how!r} is not one of {sorted(HOWS)}")
    by = spec.get("by", on)
    for col in [by] + [c for c in (spec.get("column"), spec.get("order")) if c]:
        if col not in other.columns:
            raise MappingError(f"{where}: {spec['object']} has no column {col!r}")
    rows = other.loc[query(other, spec["where"], params, where)] if spec.get("where") else other
    keys = df[on].astype("string").str.strip()
    group = rows[by].astype("string").str.strip()
    if how == "json":
        import json

        cols = spec.get("columns") or [c for c in rows.columns if c != by]
        missing = [c for c in cols if c not in rows.columns]
        if missing:
            raise MappingError(f"{where}: {spec['object']} has no column {missing[0]!r}")
        frame = rows[cols].astype("object").where(rows[cols].notna(), None)
        if spec.get("order"):
            stamps, _ = parse_dates(rows[spec["order"]])
            frame = frame.assign(_t=stamps.values).sort_values("_t", kind="stable").drop(columns="_t")
        owners = group.loc[frame.index]
        packed: dict[str, list] = {}
        for owner, row in zip(owners, frame.to_dict("records")):
            if owner is not pd.NA and owner is not None:
                packed.setdefault(owner, []).append(row)
        text = {k: json.dumps(v, ensure_ascii=False, default=str) for k, v in packed.items()}
        return keys.map(text).astype("object")
    if how in {"count", "exists"}:
        counts = group.value_counts()
        out = keys.map(counts).fillna(0).astype(int)
        return (out > 0) if how == "exists" else out
    col = spec.get("column")
    if col is None:
        raise MappingError(f"{where}: collect how {how!r} needs a column")
    values = rows[col]
    if how in {"latest", "earliest", "max", "min"} and (spec.get("order") or how in {"latest", "earliest"}):
        order_col = spec.get("order", col)
        stamps, _ = parse_dates(rows[order_col])
        frame = pd.DataFrame({"g": group, "v": values, "t": stamps}).dropna(subset=["g", "t"])
        frame = frame.sort_values("t", kind="stable")
        pick = frame.groupby("g", sort=False).last() if how in {"latest", "max"} else frame.groupby("g", sort=False).first()
        return keys.map(pick["v"]).astype("object")
    frame = pd.DataFrame({"g": group, "v": values}).dropna()
    if how == "join":
        sep = spec.get("sep", ", ")
        joined = frame.groupby("g", sort=False)["v"].agg(lambda s: sep.join(dict.fromkeys(s.astype(str))))
        return keys.map(joined).astype("object")
    if how in {"sum", "max", "min"}:
        nums = pd.to_numeric(frame["v"].astype("string").str.replace(r"[$,\s]", "", regex=True), errors="coerce")
        agg = nums.groupby(frame["g"]).agg(how)
        return keys.map(agg).astype("object")
    pick = frame.groupby("g", sort=False)["v"].agg("first" if how == "first" else "last")
    return keys.map(pick).astype("object")


def months_since(values: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    """Whole months (fractional) from each date to ``as_of``; NaN where there is no date."""
    stamps = values if pd.api.types.is_datetime64_any_dtype(values) else parse_dates(values.astype("object"))[0]
    return (as_of - stamps).dt.days / 30.4375


def derive_columns(snapshot, df: pd.DataFrame, om, params: dict) -> pd.DataFrame:
    """``df`` with the object's ``derive`` columns added, in the order they are written."""
    derive = om.extra.get("derive") or {}
    if not derive:
        return df
    df = df.copy()
    for name, spec in derive.items():
        where = f"mapping for {om.source}: derive {name}"
        if "collect" in spec:
            df[name] = collect(snapshot, df, spec["collect"], spec.get("on", om.key), params, where)
        elif "months_since" in spec:
            src = spec["months_since"]
            if src not in df.columns:
                raise MappingError(f"{where}: months_since names column {src!r}, which is not there")
            df[name] = months_since(df[src], params["as_of"])
        elif "at" in spec:
            df[name] = at_time(df, spec["at"], where)
        elif "minutes_between" in spec:
            start, end = spec["minutes_between"]
            for col in (start, end):
                if col not in df.columns:
                    raise MappingError(f"{where}: minutes_between names column {col!r}, which is not there")
            delta = parse_dates(df[end].astype("object"))[0] - parse_dates(df[start].astype("object"))[0]
            df[name] = (delta.dt.total_seconds() / 60).round().astype("object").where(delta.notna(), pd.NA)
        elif "lookup" in spec:  # a value of the record another column points at (a document's contact)
            hop = spec["lookup"]
            other = snapshot.tables.get(hop["object"])
            if other is None or hop["value"] not in other.columns or hop["column"] not in df.columns:
                raise MappingError(f"{where}: lookup names {hop['object']}.{hop['value']} or column {hop['column']!r}, "
                                   "which the export does not have")
            table = dict(zip(other[hop["key"]].astype("string").str.strip(), other[hop["value"]]))
            df[name] = df[hop["column"]].astype("string").str.strip().map(table).astype("object")
        elif "value" in spec:
            df[name] = spec["value"]
        else:
            raise MappingError(f"{where}: needs collect, months_since, at, minutes_between or value")
    return df


def at_time(df: pd.DataFrame, spec: dict, where: str) -> pd.Series:
    """An ISO date-time from a date column, an optional time column and optional minutes to add.

    ``{date: AptDate, time: AptTime, plus_minutes: DurationMin}`` gives an appointment's end.
    """
    for key in ("date", "time", "plus_minutes"):
        if spec.get(key) and spec[key] not in df.columns:
            raise MappingError(f"{where}: at.{key} names column {spec[key]!r}, which is not there")
    days, _ = parse_dates(df[spec["date"]].astype("object"))
    stamp = days.dt.normalize()
    if spec.get("time"):
        t = pd.to_timedelta(df[spec["time"]].astype("string").str.strip() + ":00", errors="coerce")
        stamp = stamp + t.fillna(pd.Timedelta(0))
    if spec.get("plus_minutes"):
        mins = pd.to_numeric(df[spec["plus_minutes"]], errors="coerce").fillna(0)
        stamp = stamp + pd.to_timedelta(mins, unit="m")
    return stamp.dt.strftime("%Y-%m-%dT%H:%M:%S").astype("object").where(stamp.notna(), pd.NA)


def apply_field_rules(values: pd.Series, df: pd.DataFrame, fm, params: dict, where: str) -> pd.Series:
    """A field's split/item, format and where/otherwise, after its transform."""
    extra = fm.extra
    if extra.get("split"):
        parts = values.astype("string").str.split(extra["split"], regex=False)
        item = extra.get("item", 0)
        def pick(p):
            if not isinstance(p, list):
                return pd.NA
            p = [x.strip() for x in p if x and x.strip()]
            if item == "rest":
                return p[1:] or pd.NA
            return p[item] if len(p) > int(item) else pd.NA
        values = parts.map(pick).astype("object")
    if extra.get("format"):
        fmt = extra["format"]
        values = values.map(lambda v: ([fmt.format(x) for x in v] if isinstance(v, list) else fmt.format(v))
                            if not _missing(v) else v).astype("object")
    if fm.where:
        hit = df.index.isin(query(df, fm.where, params, where))
        otherwise = extra.get("otherwise", pd.NA)
        values = values.where(hit, otherwise).astype("object")
    return values


def _missing(v: Any) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and v != v)


def circular_parents(keys: pd.Series, parents: pd.Series) -> dict[str, list[str]]:
    """Records on a circular parent chain -> the chain (a company that is its own parent included)."""
    parent_of = {k: p for k, p in zip(keys, parents) if isinstance(k, str) and isinstance(p, str) and p}
    on_cycle: dict[str, list[str]] = {}
    for start in parent_of:
        if start in on_cycle:
            continue
        path, seen, node = [], {}, start
        while node in parent_of and node not in seen:
            seen[node] = len(path)
            path.append(node)
            node = parent_of[node]
        if node in seen:
            cycle = path[seen[node]:]
            for member in cycle:
                on_cycle[member] = cycle + [cycle[0]]
    return on_cycle


def pipeline_and_stage(df: pd.DataFrame, spec: dict, obj: str, fallback_default: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(pipeline, stage, review note) per row, from the object's ``pipeline`` rule."""
    def column(name):
        if name not in df.columns:
            raise MappingError(f"mapping for {obj}: pipeline column {name!r} is not in the export")
        return df[name]

    if spec.get("column"):
        pmap = spec.get("map") or {}
        default = spec.get("name") or fallback_default
        raw = column(spec["column"]).astype("string").str.strip()
        # a pipeline value with no map entry keeps its own name (the pipeline is created)
        pipeline = raw.map(lambda v: pmap.get(v, v) if isinstance(v, str) and v else default)
    else:
        pipeline = pd.Series(spec["name"], index=df.index, dtype="object")
    st = spec.get("stage") or {}
    fallback = st.get("fallback", fallback_default)
    notes = pd.Series(pd.NA, index=df.index, dtype="object")
    if st.get("column"):
        raw = column(st["column"])
        flat = st.get("map") or {}
        per = st.get("maps") or {}
        stage = pd.Series([(per.get(p) or flat).get(v, fallback) if isinstance(v, str) else fallback
                           for p, v in zip(pipeline, raw)], index=df.index, dtype="object")
        unmapped = stage.eq(fallback)
        notes = notes.where(~unmapped, "stage " + raw.astype("string").fillna("(blank)").map(repr)
                            + f" has no mapping to a destination stage: placed in {fallback!r} for review")
    else:
        stage = pd.Series(st.get("value", fallback), index=df.index, dtype="object")
    return pipeline.astype("object"), stage, notes


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def pipeline_maps(df: pd.DataFrame, stage_column: str, *, pipeline_column: str | None = None, name: str | None = None,
                  existing: dict[str, list[str]] | None = None, fallback: str = "Unmapped — Review Required") -> dict:
    """A ``pipeline`` rule generated from the values an export actually holds (what the audit lists).

    Args:
        df: the source object's table.
        stage_column: its stage column.
        pipeline_column: its pipeline column, when records belong to several pipelines.
        name: the pipeline's name when there is no pipeline column.
        existing: destination pipeline name -> its stage names, when the destination has them
            already; source values are matched to them by name (case and punctuation ignored) and
            values with no match go to ``fallback``. Without it every value keeps its own name,
            and the stages are created.
    """
    existing = existing or {}
    by_norm = {_norm(p): p for p in existing}
    rule: dict[str, Any] = {}
    if pipeline_column:
        pvals = sorted(df[pipeline_column].dropna().astype(str).str.strip().unique())
        rule["column"] = pipeline_column
        rule["map"] = {v: by_norm.get(_norm(v), v) for v in pvals}
        groups = {rule["map"][v]: df.loc[df[pipeline_column].astype("string").str.strip() == v, stage_column] for v in pvals}
    else:
        rule["name"] = name or "Pipeline"
        groups = {rule["name"]: df[stage_column]}
    maps = {}
    for pipe, stages in groups.items():
        known = {_norm(s): s for s in existing.get(pipe, [])}
        values = sorted(stages.dropna().astype(str).str.strip().unique())
        maps[pipe] = {v: (known.get(_norm(v), fallback) if known else v) for v in values}
    stage: dict[str, Any] = {"column": stage_column, "fallback": fallback}
    if pipeline_column:
        stage["maps"] = maps
    else:
        stage["map"] = maps[rule["name"]]
    rule["stage"] = stage
    return rule


#: a source's custom-field data types -> our custom-field types (and the transform they need)
SOURCE_TYPES = {"text": ("text", None), "string": ("text", None), "memo": ("large_text", None),
                "yesno": ("checkbox", "yn_bool"), "boolean": ("checkbox", "yn_bool"), "checkbox": ("checkbox", "yn_bool"),
                "pick": ("single_option", None), "picklist": ("single_option", None), "list": ("single_option", None),
                "multipick": ("multiple_options", None), "date": ("date", "date"), "datetime": ("datetime", "datetime"),
                "number": ("number", "number"), "integer": ("number", "number"), "money": ("monetary", "money"),
                "currency": ("monetary", "money"), "phone": ("phone", "phone_e164"), "email": ("email", "email"),
                "percent": ("number", "number"), "decimal": ("number", "number")}


def custom_values(snapshot, df: pd.DataFrame, om, where: str) -> list[tuple[str, str, str, list[str], pd.Series, pd.Series]]:
    """(key, label, type, options, values, problems) for each custom field a source defines.

    ``custom_values: {object: patient_custom_values, by: PatientID, field: FieldID, value: Value,
    definitions: {object: custom_fields, key: FieldID, name: Name, type: DataType, options: Options,
    where: "..."}}`` (``where`` keeps the definitions that apply to this object). Where a record
    has several values for one field (a KPI per period), the last row's is kept.
    """
    import re

    from ._transforms import apply_transform

    spec = om.extra["custom_values"]
    vals, defs = snapshot.tables.get(spec["object"]), snapshot.tables.get(spec["definitions"]["object"])
    if vals is None and defs is None:
        return []  # an export without custom-field tables (they are optional in a layout) has none
    if vals is None or defs is None:
        missing = spec["object"] if vals is None else spec["definitions"]["object"]
        raise MappingError(f"{where}: custom_values names object {missing!r}, which the export does not have")
    d = spec["definitions"]
    keys = df[spec.get("on", om.key)].astype("string").str.strip()
    if d.get("where"):  # definitions for this object only (e.g. applies_to == 'patient')
        defs = defs.loc[query(defs, d["where"], {}, where)]
    out = []
    for _, row in defs.iterrows():
        label = str(row[d["name"]]).strip()
        key = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
        ftype, transform = SOURCE_TYPES.get(str(row.get(d.get("type", ""), "text")).strip().lower(), ("text", None))
        raw_opts = row.get(d.get("options", ""), pd.NA) if d.get("options") else pd.NA
        options = [o.strip() for o in str(raw_opts).split("|") if o.strip()] if isinstance(raw_opts, str) else []
        if ftype == "checkbox":
            options = []
        mine = vals[vals[spec["field"]].astype("string").str.strip() == str(row[d["key"]]).strip()]
        per_record = mine.drop_duplicates(spec["by"], keep="last").set_index(spec["by"])[spec["value"]]
        raw = keys.map(per_record).astype("object")
        values, problems = apply_transform(transform, raw)
        out.append((key, label, ftype, options, values, problems))
    return out


def stage_probability(snapshot, df: pd.DataFrame, rule: dict, stage: pd.Series, where: str) -> pd.Series:
    """Each record's stage probability (a decimal percentage), from the pipeline rule's ``probability``.

    ``values: {<destination stage>: 40}`` gives it per stage; ``from: {object: case_pipelines,
    pipeline: Pipeline, stage: Stage, value: Probability}`` reads it from the source's own table
    of stages, matched on the record's *source* pipeline and stage.
    """
    prob = rule["stage"]["probability"]
    out = stage.map({str(k): float(v) for k, v in (prob.get("values") or {}).items()}).astype("object")
    src = prob.get("from")
    if src:
        table = snapshot.tables.get(src["object"])
        if table is None:
            raise MappingError(f"{where}: probability names object {src['object']!r}, which the export does not have")
        value = pd.to_numeric(table[src["value"]], errors="coerce")
        stage_col = rule["stage"]["column"]
        if src.get("pipeline") and rule.get("column"):
            lookup = dict(zip(zip(table[src["pipeline"]].astype(str), table[src["stage"]].astype(str)), value))
            keys = list(zip(df[rule["column"]].astype(str), df[stage_col].astype(str)))
        else:
            lookup = dict(zip(table[src["stage"]].astype(str), value))
            keys = list(df[stage_col].astype(str))
        found = pd.Series([lookup.get(k) for k in keys], index=df.index, dtype="object")
        out = found.where(found.notna(), out)
    return out.map(lambda v: float(v) if not _missing(v) else pd.NA).astype("object")
