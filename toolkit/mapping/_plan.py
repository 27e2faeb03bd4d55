"""Building a Plan: destination-ready records from a Snapshot and a MappingSpec.

Pure and vectorised: each mapped field is computed for a whole column at once, and no network
call is made. Lookups to other records are kept as *source* keys; the engine turns them into
destination ids once the records they point at exist.
"""

from __future__ import annotations

import hashlib
import json
import string
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..destinations._base import SOURCE_ID_FIELD, CustomField, Record
from ..errors import MappingError
from ..snapshot import Snapshot
from ._dedupe import find_duplicates
from ._spec import FieldMap, MappingSpec, ObjectMap
from ._transforms import apply_transform

__all__ = ["Plan", "ObjectPlan", "PlannedRecord", "build_plan", "UNMAPPED_STAGE"]

UNMAPPED_STAGE = "Unmapped — Review Required"


@dataclass
class PlannedRecord:
    """One record to write, with everything the engine needs and nothing it must look up."""

    source_object: str
    source_key: str
    record: Record
    owner_email: str | None = None
    links: dict[str, tuple[str, str]] = field(default_factory=dict)
    pipeline: tuple[str, str] | None = None
    flags: list[str] = field(default_factory=list)
    skip_reason: str | None = None
    content_hash: str = ""


@dataclass
class ObjectPlan:
    source_object: str
    target: str
    records: list[PlannedRecord]
    pipeline_fields: tuple[str, str] | None = None


@dataclass
class Plan:
    """Everything a run will write, in load order.

    Attributes:
        objects: per mapped (source object, target) pair, in dependency order.
        unrouted: (source object, key, reason) for records no route takes — e.g. objects this
            mapping does not migrate — so that every source record is accounted for.
        custom_fields: custom fields that must exist before loading.
        pipelines: pipeline name -> stage names the records use.
        aliases: (source object, duplicate key) -> the key of the record it duplicates, so
            that records pointing at a duplicate link to the record kept.
    """

    source: str
    destination: str
    objects: list[ObjectPlan]
    unrouted: list[tuple[str, str, str]]
    custom_fields: list[CustomField]
    pipelines: dict[str, set[str]]
    aliases: dict[tuple[str, str], str] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {f"{o.source_object}->{o.target}": len(o.records) for o in self.objects}

    def owner_emails(self) -> dict[str, int]:
        """Source owner email -> records it owns (``""`` for records whose owner has no email)."""
        out: dict[str, int] = {}
        for o in self.objects:
            for r in o.records:
                if r.skip_reason is None and r.owner_email is not None:
                    out[r.owner_email] = out.get(r.owner_email, 0) + 1
        return out


def _column(df: pd.DataFrame, name: str, obj: str) -> pd.Series:
    if name not in df.columns:
        raise MappingError(f"mapping for {obj}: source column {name!r} is not in the export (columns: {', '.join(df.columns)})")
    return df[name]


def _lookup(snapshot: Snapshot, values: pd.Series, spec: dict | list[dict], obj: str) -> pd.Series:
    """Replace each value by a column of the record it points at; a list of hops is followed in turn."""
    for hop in spec if isinstance(spec, list) else [spec]:
        other = snapshot.tables.get(hop["object"])
        if other is None:
            raise MappingError(f"mapping for {obj}: lookup object {hop['object']!r} is not in the export")
        for col in (hop["key"], hop["value"]):
            _column(other, col, hop["object"])
        table = other.drop_duplicates(hop["key"]).set_index(hop["key"])[hop["value"]]
        values = values.map(table).astype("object")
    return values


def _template(df: pd.DataFrame, template: str, obj: str) -> pd.Series:
    out = pd.Series("", index=df.index, dtype="string")
    for literal, name, _, _ in string.Formatter().parse(template):
        out = out + (literal or "")
        if name:
            out = out + _column(df, name, obj).astype("string").fillna("")
    out = out.str.strip()
    return out.mask(out == "").astype("object")


def _field_values(snapshot: Snapshot, df: pd.DataFrame, om: ObjectMap, fm: FieldMap) -> tuple[pd.Series, pd.Series]:
    if fm.value is not None:
        return pd.Series([fm.value] * len(df), index=df.index, dtype="object"), pd.Series(pd.NA, index=df.index, dtype="object")
    if fm.template is not None:
        raw = _template(df, fm.template, om.source)
    else:
        cols = [fm.source] if isinstance(fm.source, str) else list(fm.source)
        raw = _column(df, cols[0], om.source)
        for c in cols[1:]:
            nxt = _column(df, c, om.source)
            raw = raw.where(raw.notna() & (raw.astype("string").str.strip() != ""), nxt)
    if fm.lookup:
        raw = _lookup(snapshot, raw, fm.lookup, om.source)
    vmap = om.values.get(fm.source) if isinstance(fm.source, str) else None
    if vmap:
        mapped = raw.map(lambda v: vmap.get(v, vmap.get(str(v).strip(), v)) if v is not pd.NA and v is not None else v)
        raw = mapped.astype("object")
    values, problems = apply_transform(fm.transform, raw)
    if fm.type == "single_option" and fm.options:
        allowed = set(fm.options)
        bad = values.notna() & ~values.isin(allowed)
        problems = problems.where(~bad, "value " + values.astype("string") + f" is not an option of {fm.target}")
        values = values.where(~bad, pd.NA)
    return values, problems


def _move_shared_values(om: ObjectMap, df: pd.DataFrame, key: pd.Series, columns: dict[str, pd.Series],
                        skip: pd.Series) -> dict[object, list[str]]:
    """Keep values the destination treats as unique (a contact's email or phone) on one record only.

    Family members share a home phone, and children often carry a parent's email; a CRM that
    matches contacts on those fields would refuse or merge them. The first record (in export
    order, where guarantors come first) keeps the value; the others carry it in the custom field
    named by ``unique.<target>.keep_in`` and are flagged.
    """
    notes: dict[object, list[str]] = {}
    for target, spec in (om.extra.get("unique") or {}).items():
        if target not in columns:
            continue
        values = columns[target]
        live = values.notna() & skip.isna()
        norm = values[live].astype("string").str.strip().str.lower()
        first_key = pd.Series(key.loc[norm.index].to_numpy(), index=norm.index).groupby(norm.to_numpy()).transform("first")
        dup = norm.duplicated(keep="first")
        moved = dup[dup].index
        extra = "custom:" + spec["keep_in"]
        columns[extra] = pd.Series(pd.NA, index=values.index, dtype="object")
        columns[extra].loc[moved] = values.loc[moved]
        columns[target] = values.where(~values.index.isin(moved), pd.NA)
        for i in moved:
            notes.setdefault(i, []).append(f"{target} shared with {first_key[i]}: kept in {spec['keep_in']}")
    return notes


def _hash(payload: dict) -> str:
    return hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _object_plan(snapshot: Snapshot, om: ObjectMap, dest_objects: dict[str, list[CustomField]],
                 pipelines: dict[str, set[str]], aliases: dict[tuple[str, str], str]
                 ) -> tuple[ObjectPlan, list[tuple[str, str, str]]]:
    df = snapshot.tables.get(om.source)
    if df is None:
        raise MappingError(f"mapping names source object {om.source!r}, which the export does not have")
    key = _column(df, om.key, om.source).astype("string").str.strip()
    routed = df.index if not om.where else df.query(om.where, engine="python").index
    left_out = [(om.source, str(key[i]), f"not routed to {om.target}: fails `{om.where}`") for i in df.index.difference(routed)]
    df = df.loc[routed]

    skip = pd.Series(pd.NA, index=df.index, dtype="object")
    for rule in om.skip:
        if "where" in rule:
            hit = df.query(rule["where"], engine="python").index
            skip.loc[hit] = skip.loc[hit].fillna(rule["reason"])
    dedupe = om.extra.get("dedupe")
    if dedupe:
        index_of = dict(zip(key.loc[df.index], df.index))
        for keep, dup, why in find_duplicates(df, key_column=om.key, **dedupe):
            i = index_of.get(dup)
            if i is not None and pd.isna(skip[i]):
                skip[i] = f"duplicate of {keep} ({why})"
                aliases[(om.source, dup)] = keep
    blank_key = key.loc[df.index].isna() | (key.loc[df.index] == "")
    skip[blank_key] = f"no {om.key}: a record without its source id cannot be traced"

    columns: dict[str, pd.Series] = {}
    problems: list[pd.Series] = []
    for fm in om.fields:
        if not fm.active:
            continue
        values, probs = _field_values(snapshot, df, om, fm)
        if fm.target == "tags":
            columns.setdefault("__tags", pd.Series([[] for _ in range(len(df))], index=df.index, dtype="object"))
            columns["__tags"] = columns["__tags"].combine(values, lambda acc, v: acc + [v] if isinstance(v, str) and v else acc)
        elif fm.target in columns:  # several sources for one target: the first non-empty wins
            columns[fm.target] = columns[fm.target].where(columns[fm.target].notna(), values)
        else:
            columns[fm.target] = values
        problems.append(probs.map(lambda p, t=fm.target: f"{t}: {p}" if isinstance(p, str) else None))

    shared_notes = _move_shared_values(om, df, key, columns, skip)

    owners = None
    if om.owner:
        owners = _column(df, om.owner["column"], om.source)
        if om.owner.get("lookup"):
            owners = _lookup(snapshot, owners, om.owner["lookup"], om.source)
        owners = owners.astype("string").str.strip().str.lower().astype("object")

    stage = None
    if om.pipeline:
        pname = om.pipeline["name"]
        st = om.pipeline.get("stage") or {}
        fallback = st.get("fallback", UNMAPPED_STAGE)
        smap = st.get("map") or {}
        if st.get("column"):
            stage = _column(df, st["column"], om.source).map(lambda v: smap.get(v, fallback) if isinstance(v, str) else fallback)
        else:
            stage = pd.Series(st.get("value", fallback), index=df.index)
        pipelines.setdefault(pname, set()).update(stage.unique().tolist())

    link_cols = {name: _column(df, spec["column"], om.source).astype("string").str.strip() for name, spec in om.links.items()}
    flag_hits: list[tuple[pd.Index, str, str | None]] = [
        (df.query(r["where"], engine="python").index, r["reason"], r.get("tag")) for r in om.flags
    ]

    records: list[PlannedRecord] = []
    targets = [t for t in columns if not t.startswith("__") and t != "tags"]
    for i in df.index:
        fields: dict[str, Any] = {}
        custom: dict[str, Any] = {SOURCE_ID_FIELD: key[i]}
        for t in targets:
            v = columns[t][i]
            if v is pd.NA or v is None or (isinstance(v, float) and pd.isna(v)):
                continue
            if t.startswith("custom:"):
                custom[t[7:]] = v
            else:
                fields[t] = v
        tags = list(dict.fromkeys(columns["__tags"][i])) if "__tags" in columns else []
        flags = [p for s in problems if isinstance(p := s[i], str)]
        flags.extend(shared_notes.get(i, []))
        for idx, reason, tag in flag_hits:
            if i in idx:
                flags.append(reason)
                if tag:
                    tags.append(tag)
        links = {name: (om.links[name]["object"], col[i]) for name, col in link_cols.items() if isinstance(col[i], str) and col[i]}
        owner = owners[i] if owners is not None and isinstance(owners[i], str) else ("" if owners is not None else None)
        pr = PlannedRecord(
            source_object=om.source,
            source_key=str(key[i]),
            record=Record(object=om.target, fields=fields, custom=custom, tags=tags),
            owner_email=owner,
            links=links,
            pipeline=(om.pipeline["name"], stage[i]) if stage is not None else None,
            flags=flags,
            skip_reason=skip[i] if isinstance(skip[i], str) else None,
        )
        pr.content_hash = _hash({"f": fields, "c": custom, "t": tags, "o": owner, "l": links, "p": pr.pipeline})
        records.append(pr)

    for target, spec in (om.extra.get("unique") or {}).items():
        dest_objects.setdefault(om.target, []).append(CustomField(
            key=spec["keep_in"], name=spec.get("name") or spec["keep_in"].replace("_", " ").title(), type="text",
            object=om.target))
    for fm in om.fields:
        if fm.active and fm.custom_key:
            dest_objects.setdefault(om.target, []).append(CustomField(
                key=fm.custom_key, name=fm.name or fm.custom_key.replace("_", " ").title(), type=fm.type,
                object=om.target, options=list(fm.options or [])))
    pf = (om.pipeline.get("id_field", "pipelineId"), om.pipeline.get("stage_field", "pipelineStageId")) if om.pipeline else None
    return ObjectPlan(om.source, om.target, records, pf), left_out


def build_plan(snapshot: Snapshot, spec: MappingSpec, load_order: tuple[str, ...] = ()) -> Plan:
    """Turn a Snapshot into a Plan according to ``spec``.

    Args:
        snapshot: the source data.
        spec: the confirmed mapping.
        load_order: destination objects in the order the destination needs them (the
            adapter's ``objects``); targets not listed load last, in mapping order.

    Raises:
        MappingError: the mapping names a column or object the export does not have.
    """
    custom: dict[str, list[CustomField]] = {}
    pipelines: dict[str, set[str]] = {}
    aliases: dict[tuple[str, str], str] = {}
    plans, unrouted = [], []
    for om in spec.objects:
        op, left = _object_plan(snapshot, om, custom, pipelines, aliases)
        plans.append(op)
        unrouted.extend(left)
    rank = {name: i for i, name in enumerate(load_order)}
    plans.sort(key=lambda p: rank.get(p.target, len(rank)))

    routed = {o.source_object for o in plans}
    for obj, df in snapshot.tables.items():
        if obj in routed:
            continue
        key = snapshot.schema[obj].key if obj in snapshot.schema else df.columns[0]
        reason = f"{obj} is not migrated by this mapping"
        unrouted.extend((obj, str(k), reason) for k in df[key].astype("string").fillna(""))

    fields: list[CustomField] = []
    seen: set[tuple[str, str]] = set()
    for target in dict.fromkeys([o.target for o in plans]):
        for cf in [CustomField(SOURCE_ID_FIELD, "Source ID", "text", target)] + custom.get(target, []):
            if (cf.object, cf.key) not in seen:
                seen.add((cf.object, cf.key))
                fields.append(cf)
    return Plan(spec.source, spec.destination, plans, unrouted, fields, pipelines, aliases)
