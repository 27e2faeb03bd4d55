"""The mapping as a spreadsheet, for sign-off by someone without Jupyter — and back.

``export_mapping(spec, "signoff.xlsx")`` writes three sheets: *routes* (one row per route:
source object, target, its ``where`` rule, included or excluded and why), *fields* (one row per
field: object route, source, target, type, status, confidence, reason) and *values* (one row per
value-map entry). A ``.csv`` file holds all three in one table with a ``section`` column
(``route``, ``field``, ``value``). Whoever signs off edits a route's ``where`` and ``status``
(included / excluded, with a ``reason``), a field's ``target``, ``type`` and ``status``
(proposed / confirmed / excluded) and the value maps, adds value rows, and may add their name in
``confirmed_by``; ``import_mapping`` reads the edits back into the mapping, checking every row
and naming the row and column of any mistake.

Route rows are matched by ``id`` (the route's number) and field rows by ``<route number>.<field
number>``, so two fields on the same column (a referral source kept as a tag and as a custom
field) stay apart; the id column must not be edited. Sheets written before routes were editable
(no *routes* sheet, no ``route`` rows) still import: their routes are left as they are.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from ..errors import MappingError
from ..spreadsheet_cells import restore, write_csv, write_xlsx
from ._rules import rule_problem
from ._spec import CUSTOM_TYPES, ROUTE_STATUSES, STATUSES, MappingSpec

__all__ = ["export_mapping", "import_mapping", "value_maps_table", "FIELD_COLUMNS", "VALUE_COLUMNS", "ROUTE_COLUMNS"]

ROUTE_COLUMNS = ["id", "source", "target", "where", "status", "reason", "confirmed_by"]

FIELD_COLUMNS = ["id", "object", "source", "target", "type", "status", "confidence", "reason", "transform", "name",
                 "options", "confirmed_by"]
VALUE_COLUMNS = ["object", "column", "source_value", "destination_value"]


def _source_text(fm) -> str:
    if isinstance(fm.source, list):
        return " | ".join(fm.source)
    if fm.source is not None:
        return str(fm.source)
    return fm.template or ("collect" if fm.extra.get("collect") else repr(fm.value))


def _routes(spec: MappingSpec) -> pd.DataFrame:
    rows = [{"id": str(i), "source": om.source, "target": om.target, "where": om.where or "",
             "status": "included" if om.included else "excluded", "reason": "" if om.included else om.extra.get("reason", ""),
             "confirmed_by": om.extra.get("confirmed_by", "")} for i, om in enumerate(spec.objects)]
    return pd.DataFrame(rows, columns=ROUTE_COLUMNS)


def _tables(spec: MappingSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, values = [], []
    for i, om in enumerate(spec.objects):
        route = f"{om.source} -> {om.target}"
        for j, fm in enumerate(om.fields):
            rows.append({"id": f"{i}.{j}", "object": route, "source": _source_text(fm), "target": fm.target or "",
                         "type": fm.type or "", "status": fm.status, "confidence": fm.confidence, "reason": fm.reason,
                         "transform": fm.transform or "", "name": fm.name or "",
                         "options": "; ".join(fm.options or []), "confirmed_by": fm.extra.get("confirmed_by", "")})
        for column, vmap in om.values.items():
            for src, dst in vmap.items():
                values.append({"object": route, "column": column, "source_value": src, "destination_value": dst})
    return pd.DataFrame(rows, columns=FIELD_COLUMNS), pd.DataFrame(values, columns=VALUE_COLUMNS)


def value_maps_table(spec: MappingSpec) -> pd.DataFrame:
    """Every value-map entry (pick-lists, stages, carrier spellings) as one row, for confirmation."""
    values = _tables(spec)[1]
    for om in spec.objects:
        if om.pipeline:
            st = om.pipeline.get("stage") or {}
            route = f"{om.source} -> {om.target}"
            maps = st.get("maps") or ({om.pipeline.get("name", ""): st["map"]} if st.get("map") else {})
            rows = [{"object": route, "column": f"{st.get('column')} (stage, {pipe})", "source_value": k,
                     "destination_value": v} for pipe, m in maps.items() for k, v in m.items()]
            values = pd.concat([values, pd.DataFrame(rows, columns=VALUE_COLUMNS)], ignore_index=True)
    return values


def export_mapping(spec: MappingSpec, path: str | Path) -> Path:
    """Write the mapping for sign-off as ``.xlsx`` (three sheets) or ``.csv`` (one table).

    Raises:
        MappingError: the file type is neither.
    """
    path = Path(path)
    fields, values = _tables(spec)
    routes = _routes(spec)
    if path.suffix.lower() == ".xlsx":
        write_xlsx({"routes": routes, "fields": fields, "values": values}, path,
                   widths={"routes": [6, 22, 30, 60, 11, 50, 16],
                           "fields": [6, 28, 28, 26, 14, 11, 11, 70, 12, 22, 30, 16], "values": [28, 22, 28, 28]})
    elif path.suffix.lower() == ".csv":
        # route rows go last and ``where`` is the last column, so the rows and columns of a sheet
        # written before routes were editable keep their places
        both = pd.concat([fields.assign(section="field"),
                          values.rename(columns={"column": "source", "destination_value": "target"}).assign(section="value"),
                          routes.assign(section="route", object=routes.source + " -> " + routes.target)],
                         ignore_index=True)
        cols = ["section"] + FIELD_COLUMNS[:3] + ["source_value"] + FIELD_COLUMNS[3:] + ["where"]
        write_csv(both.reindex(columns=cols), path)
    else:
        raise MappingError(f"{path}: a sign-off sheet is .xlsx or .csv")
    return path


def _read(path: Path) -> tuple[pd.DataFrame | None, pd.DataFrame, pd.DataFrame, str]:
    """(routes or None when the sheet has none, fields, values, how to name a row)."""
    if not path.is_file():
        raise MappingError(f"sign-off sheet {path} does not exist")
    if path.suffix.lower() == ".xlsx":
        sheets = pd.read_excel(path, sheet_name=None, dtype=str, keep_default_na=False)
        for name in ("fields", "values"):
            if name not in sheets:
                raise MappingError(f"{path}: the workbook has no {name!r} sheet")
        return sheets.get("routes"), sheets["fields"], sheets["values"], "sheet {sheet}, row {row}"
    if path.suffix.lower() == ".csv":
        both = pd.read_csv(path, dtype=str, keep_default_na=False)
        both = both.rename(columns=restore).map(restore)  # cells the export neutralised
        if "section" not in both.columns:
            raise MappingError(f"{path}: no 'section' column; export the sheet with `crm-migrate mapping export`")
        routes = both[both.section == "route"]
        fields = both[both.section == "field"]
        values = both[both.section == "value"].rename(columns={"source": "column", "target": "destination_value"})
        return (routes if len(routes) else None), fields, values, "row {row}"
    raise MappingError(f"{path}: a sign-off sheet is .xlsx or .csv")


def _import_routes(spec: MappingSpec, routes: pd.DataFrame, at, confirmed_by: str | None, now: str) -> None:
    """Apply the routes table: each route's ``where`` rule and whether it is loaded at all.

    ``at(row, column)`` names a cell for error messages.
    """
    missing = [c for c in ("id", "where", "status") if c not in routes.columns]
    if missing:
        raise MappingError(f"{at(None, None)}: the routes table lacks column(s) {', '.join(missing)}")
    for idx, row in routes.iterrows():
        try:
            om = spec.objects[int(str(row["id"]).strip())]
        except (ValueError, IndexError):
            raise MappingError(f"{at(idx, 'id')}: id {row['id']!r} names no route of this mapping "
                               "(was the id column edited?)") from None
        for column, have in (("source", om.source), ("target", om.target)):
            given = str(row.get(column, "") or "").strip()
            if given and given != have:
                raise MappingError(f"{at(idx, column)}: route {row['id']} is {om.label}; its {column} cannot be "
                                   f"changed in the sheet (found {given!r}) - change it in mapping.yaml")
        status = str(row["status"]).strip().lower() or "included"
        if status not in ROUTE_STATUSES:
            raise MappingError(f"{at(idx, 'status')}: route status {row['status']!r} is not one of {list(ROUTE_STATUSES)}")
        where = str(row["where"]).strip() or None
        problem = rule_problem(where, spec.params) if where else None
        if problem:
            raise MappingError(f"{at(idx, 'where')}: route {om.label}: {problem}")
        included = status == "included"
        reason = str(row.get("reason", "") or "").strip()
        same_reason = included or not reason or reason == om.extra.get("reason")
        if where == om.where and included == om.included and same_reason:
            continue  # untouched: keeps whoever confirmed it before
        who = str(row.get("confirmed_by", "") or "").strip() or confirmed_by or "sign-off sheet"
        om.where = where
        om.set_included(included, reason or f"excluded by {who}")
        om.extra.update(confirmed_by=who, confirmed_at=now)


def import_mapping(spec: MappingSpec, path: str | Path, *, confirmed_by: str | None = None) -> MappingSpec:
    """Apply the edits in a sign-off sheet to ``spec`` (in place) and return it.

    A field whose status becomes ``confirmed`` is stamped with who (``confirmed_by`` from the
    row, else the argument) and when.

    A route whose ``where`` or status changes is stamped the same way; an excluded route
    keeps the row's ``reason`` (else who excluded it).

    Raises:
        MappingError: naming the sheet row (and, for routes, the column) of an unknown id,
            status or type, a custom target without a type, an edited route source or target,
            or a ``where`` rule that does not parse or uses an unknown ``@param``.
    """
    path = Path(path)
    routes, fields, values, where = _read(path)
    missing = [c for c in ("id", "target", "type", "status") if c not in fields.columns]
    if missing:
        raise MappingError(f"{path}: the fields table lacks column(s) {', '.join(missing)}")
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if routes is not None:
        def cell(idx, column):
            if idx is None:
                return f"{path.name}: " + ("sheet routes" if "sheet" in where else "route rows")
            return f"{path.name}: " + where.format(sheet="routes", row=idx + 2) + f", column {column}"
        _import_routes(spec, routes, cell, confirmed_by, now)
    for pos, (idx, row) in enumerate(fields.iterrows()):
        at = f"{path.name}: " + where.format(sheet="fields", row=(idx + 2 if "sheet" in where else idx + 2))
        try:
            i, j = (int(x) for x in str(row["id"]).split("."))
            om, fm = spec.objects[i], spec.objects[i].fields[j]
        except (ValueError, IndexError):
            raise MappingError(f"{at}: id {row['id']!r} names no field of this mapping (was the id column edited?)") from None
        status = str(row["status"]).strip().lower()
        if status not in STATUSES:
            raise MappingError(f"{at}: status {row['status']!r} is not one of {sorted(STATUSES)}")
        target = str(row["target"]).strip() or None
        ftype = str(row["type"]).strip() or None
        if target and target.startswith("custom:") and status != "excluded" and ftype not in CUSTOM_TYPES:
            raise MappingError(f"{at}: custom field {target!r} needs a type, one of {sorted(CUSTOM_TYPES)}")
        if target is None and fm.target is not None and status == "confirmed":
            status = "excluded"  # an emptied target, confirmed, means "do not migrate"
        changed = (target, ftype, status) != (fm.target, fm.type, fm.status)
        fm.target, fm.type, fm.status = target, ftype, status
        if "options" in row and str(row["options"]).strip():
            fm.options = [o.strip() for o in str(row["options"]).split(";") if o.strip()]
        if "name" in row and str(row["name"]).strip():
            fm.name = str(row["name"]).strip()
        if status == "confirmed" and (changed or "confirmed_at" not in fm.extra):
            who = str(row.get("confirmed_by", "") or "").strip() or confirmed_by or "sign-off sheet"
            fm.extra.update(confirmed_by=who, confirmed_at=now)
    routes = {f"{o.source} -> {o.target}": o for o in spec.objects}
    seen: set[tuple[str, str]] = set()
    for idx, row in values.iterrows():
        at = f"{path.name}: " + where.format(sheet="values", row=idx + 2)
        om = routes.get(str(row["object"]).strip())
        if om is None:
            raise MappingError(f"{at}: object {row['object']!r} is not a route of this mapping")
        column = str(row["column"]).strip()
        if (om.source, column) not in seen:  # the sheet holds the whole map for a column it lists
            om.values[column] = {}
            seen.add((om.source, column))
        om.values[column][str(row["source_value"])] = str(row["destination_value"])
    return spec
