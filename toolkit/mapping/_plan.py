"""Building a Plan: destination-ready records from a Snapshot and a MappingSpec.

Pure and vectorised: each mapped field is computed for a whole column at once, and no network
call is made. Lookups to other records are kept as *source* keys; the engine turns them into
destination ids once the records they point at exist.
"""

from __future__ import annotations

import hashlib
import json
import string
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import MappingError
from .inline_images import default_folder, extract_inline_images, has_inline_images, is_note_object
from ..shapes import (FILE_OBJECT, SET_ASIDE, SOURCE_ID_FIELD, UNMAPPED_STAGE, CustomField, ObjectPlan, Plan, PlannedRecord, Record,
                      Snapshot)
from ._catalog import destination_object
from ._dedupe import find_duplicates
from ._rules import (apply_field_rules, circular_parents, collect, custom_values, derive_columns, pipeline_and_stage,
                     query, stage_probability)
from ._spec import FieldMap, MappingSpec, ObjectMap
from ._transforms import apply_transform

__all__ = ["Plan", "ObjectPlan", "PlannedRecord", "build_plan", "UNMAPPED_STAGE"]

def _column(df: pd.DataFrame, name: str, obj: str) -> pd.Series:
    if name not in df.columns:
        raise MappingError(f"mapping for {obj}: source column {name!r} is not in the export (columns: {', '.join(df.columns)})")
    return df[name]


def _link_values(snapshot: Snapshot, df: pd.DataFrame, spec: dict, obj: str) -> pd.Series:
    """The keys of the records a link column points at. A link ``by`` another column (a company
    named "Acme" where companies are keyed by row) is turned into that record's key; a value
    naming no record is kept, so that the load reports it as a broken reference."""
    values = _column(df, spec["column"], obj).astype("string").str.strip()
    by = spec.get("by")
    if not by:
        return values
    other = snapshot.tables.get(spec["object"])
    key = snapshot.schema[spec["object"]].key if spec["object"] in snapshot.schema else None
    if other is None or key is None:
        raise MappingError(f"mapping for {obj}: link to {spec['object']!r} by {by!r}: that table or its key is "
                           "not in the export")
    _column(other, by, spec["object"])
    names = other[by].astype("string").str.strip()
    table = pd.Series(other[key].astype("string").values, index=names.values)
    table = table[~table.index.duplicated(keep="first")]
    mapped = values.map(table)
    return mapped.where(mapped.notna(), values).astype("string")


def _links_to_set_aside(snapshot: Snapshot, om, link_cols: dict[str, pd.Series]) -> dict:
    """Row index -> why the record waits: a link names a row the reader set aside as malformed.

    Such a record is skipped with that reason (it loads once the row is mended and the export read
    again), not reported as a broken reference: the record it names is in the export, damaged.
    """
    held: dict[str, list[dict]] = {}
    for q in snapshot.meta.get("quarantined") or []:
        held.setdefault(q["object"], []).append(q)
    out: dict = {}
    for name, spec in om.links.items():
        rows = held.get(spec["object"])
        if not rows:
            continue
        other = snapshot.tables.get(spec["object"])
        key = snapshot.schema[spec["object"]].key if spec["object"] in snapshot.schema else None
        if other is None or key is None:
            continue
        column = spec.get("by") or key
        named = {}
        for q in rows:
            v = (q.get("values") or {}).get(column)
            if v:
                named.setdefault(v, q)
        if not named:
            continue
        known = set(other[key].astype("string").dropna())
        for i, v in link_cols[name].items():
            if isinstance(v, str) and v not in known and v in named and i not in out:
                q = named[v]
                out[i] = (f"its {spec['object']} {v} is {q['file']} line {q['row']}, set aside as malformed "
                          f"({q['message']}): it loads once that row is mended")
    return out


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


def _field_values(snapshot: Snapshot, df: pd.DataFrame, om: ObjectMap, fm: FieldMap, params: dict
                  ) -> tuple[pd.Series, pd.Series]:
    where = f"mapping for {om.source}: field {fm.label}"
    if fm.value is not None:
        raw = pd.Series([fm.value] * len(df), index=df.index, dtype="object")
        return apply_field_rules(raw, df, fm, params, where), pd.Series(pd.NA, index=df.index, dtype="object")
    if fm.extra.get("collect"):
        spec = fm.extra["collect"]
        raw = collect(snapshot, df, spec, spec.get("on", om.key), params, where)
    elif fm.template is not None:
        raw = _template(df, fm.template, om.source)
    else:
        cols = [fm.source] if isinstance(fm.source, str) else list(fm.source)
        raw = _column(df, cols[0], om.source)
        for c in cols[1:]:
            nxt = _column(df, c, om.source)
            raw = raw.where(raw.notna() & (raw.astype("string").str.strip() != ""), nxt)
    if fm.lookup:
        raw = _lookup(snapshot, raw, fm.lookup, om.source)
    # a value map is keyed by the column the values come from (a collected column's too)
    column = fm.source if isinstance(fm.source, str) else (fm.extra.get("collect") or {}).get("column")
    vmap = om.values.get(column) if column else None
    if vmap:
        # "*" is the value for anything the map does not name (a deal's status for a stage nobody
        # mapped is "open"): a closed set of destination values is never sent a raw source value
        other = vmap.get("*")

        def one(v):
            if v is pd.NA or v is None:
                return v
            hit = vmap.get(v, vmap.get(str(v).strip()))
            return hit if hit is not None else (other if other is not None else v)

        raw = raw.map(one).astype("object")
    values, problems = apply_transform(fm.transform, raw)
    if fm.type == "single_option" and isinstance(fm.options, list) and fm.options:
        allowed = set(fm.options)
        bad = values.notna() & ~values.isin(allowed)
        problems = problems.where(~bad, "value " + values.astype("string") + f" is not an option of {fm.target}")
        values = values.where(~bad, pd.NA)
    return apply_field_rules(values, df, fm, params, where), problems


def _downgrade_multi_select(spec: MappingSpec, om: ObjectMap, notes: list[str]) -> ObjectMap:
    """Multi-select fields as comma-separated text where the destination object has no multi-select."""
    try:
        target = destination_object(spec.destination, om.target)
    except MappingError:
        return om  # a destination with no field list: nothing is assumed of it
    if target is None or target.multi_select or om.target in (spec.params.get("multi_select") or []):
        return om  # params.multi_select lists objects whose account plan has multi-select fields
    fields = []
    for fm in om.fields:
        if fm.active and fm.custom_key and fm.type == "multiple_options":
            fm = FieldMap(**{**fm.__dict__, "type": "text", "transform": "comma_list", "options": None})
            notes.append(f"{om.source} -> {om.target}: {fm.custom_key} kept as comma-separated text "
                         f"({spec.destination} {om.target} has no multi-select field)")
        fields.append(fm)
    return ObjectMap(**{**om.__dict__, "fields": fields})


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
                 pipelines: dict[str, set[str]], aliases: dict[tuple[str, str], str], params: dict,
                 spec_destination: str = "") -> tuple[ObjectPlan, list[tuple[str, str, str]]]:
    df = snapshot.tables.get(om.source)
    if df is None:
        raise MappingError(f"mapping names source object {om.source!r}, which the export does not have")
    key = _column(df, om.key, om.source).astype("string").str.strip()
    df = derive_columns(snapshot, df, om, params)
    here = f"mapping for {om.source} -> {om.target}"
    routed = df.index if not om.where else query(df, om.where, params, here)
    left_out = [(om.source, str(key[i]), f"not routed to {om.target}: fails `{om.where}`") for i in df.index.difference(routed)]
    df = df.loc[routed]

    skip = pd.Series(pd.NA, index=df.index, dtype="object")
    for rule in om.skip:
        if "where" in rule:
            hit = query(df, rule["where"], params, here)
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
        values, probs = _field_values(snapshot, df, om, fm, params)
        if fm.target == "tags":
            columns.setdefault("__tags", pd.Series([[] for _ in range(len(df))], index=df.index, dtype="object"))
            columns["__tags"] = columns["__tags"].combine(values, _add_tags)
        elif fm.target in columns:  # several sources for one target: the first non-empty wins
            columns[fm.target] = columns[fm.target].where(columns[fm.target].notna(), values)
        else:
            columns[fm.target] = values
        problems.append(probs.map(lambda p, t=fm.target: f"{t}: {p}" if isinstance(p, str) else None))

    if om.extra.get("custom_values"):
        for ckey, label, ftype, options, values, probs in custom_values(snapshot, df, om, here):
            columns["custom:" + ckey] = values
            problems.append(probs.map(lambda p, k=ckey: f"custom:{k}: {p}" if isinstance(p, str) else None))
            dest_objects.setdefault(om.target, []).append(CustomField(key=ckey, name=label, type=ftype, object=om.target,
                                                                      options=options))

    shared_notes = _move_shared_values(om, df, key, columns, skip)

    owners = None
    if om.owner:
        owners = _column(df, om.owner["column"], om.source)
        if om.owner.get("lookup"):
            owners = _lookup(snapshot, owners, om.owner["lookup"], om.source)
        owners = owners.astype("string").str.strip().str.lower().astype("object")

    stage = pipe = stage_notes = None
    if om.pipeline:
        pipe, stage, stage_notes = pipeline_and_stage(df, om.pipeline, om.source, UNMAPPED_STAGE)
        for p, st in set(zip(pipe, stage)):
            pipelines.setdefault(p, set()).add(st)
        prob = (om.pipeline.get("stage") or {}).get("probability")
        if prob:
            chance = stage_probability(snapshot, df, om.pipeline, stage, here)
            if prob.get("target"):  # the destination's own probability field (Freshsales, Pipedrive deals)
                columns[prob["target"]] = chance
            else:  # a decimal custom field where the destination has none (HighLevel)
                columns["custom:" + prob["field"]] = chance
                dest_objects.setdefault(om.target, []).append(CustomField(
                    key=prob["field"], name=prob.get("name") or "Stage Probability", type="number", object=om.target))

    hier_notes: dict[object, str] = {}
    hierarchy = om.extra.get("hierarchy")
    if hierarchy:
        parents = _column(df, hierarchy["parent"], om.source).astype("string").str.strip()
        cycles = circular_parents(key.loc[df.index], parents)
        known = set(key.loc[df.index].dropna())
        # a parent the export does not hold is a broken link too: the company loads flat, the id kept
        missing = parents.notna() & (parents != "") & ~parents.isin(known)
        broken = key.loc[df.index].isin(list(cycles)) | missing
        keep_in = "custom:" + hierarchy["keep_broken_in"]
        columns[keep_in] = parents.where(broken, pd.NA).astype("object")
        om = ObjectMap(**{**om.__dict__, "links": {**om.links, hierarchy["link"]: {"column": hierarchy["parent"],
                                                                                       "object": om.source}}})
        for i in df.index[broken]:
            if key[i] in cycles:
                chain = " -> ".join(cycles[key[i]])
                hier_notes[i] = f"circular parent chain {chain}: parent link dropped, kept in {hierarchy['keep_broken_in']}"
            else:
                hier_notes[i] = (f"parent {parents[i]} does not exist in the source: parent link dropped, kept in "
                                 f"{hierarchy['keep_broken_in']}")
        dest_objects.setdefault(om.target, []).append(CustomField(
            key=hierarchy["keep_broken_in"], name=hierarchy.get("name") or "Circular Parent", type="text", object=om.target))

    hier_link = hierarchy["link"] if hierarchy else None
    link_cols = {name: _link_values(snapshot, df, spec, om.source) for name, spec in om.links.items()}
    set_aside = _links_to_set_aside(snapshot, om, link_cols)
    flag_hits: list[tuple[pd.Index, str, str | None]] = [
        (query(df, r["where"], params, here), r["reason"], r.get("tag")) for r in om.flags
    ]

    records: list[PlannedRecord] = []
    targets = [t for t in columns if not t.startswith("__") and t != "tags"]
    # one pass over plain lists: indexing a Series per cell costs more than the whole plan
    at = df.index
    col = {t: columns[t].reindex(at).tolist() for t in targets}
    tag_col = columns["__tags"].reindex(at).tolist() if "__tags" in columns else None
    prob_cols = [s.reindex(at).tolist() for s in problems]
    keys, skips = key.reindex(at).tolist(), skip.reindex(at).tolist()
    notes_col = stage_notes.reindex(at).tolist() if stage_notes is not None else None
    pipes = pipe.reindex(at).tolist() if stage is not None else None
    stages = stage.reindex(at).tolist() if stage is not None else None
    owner_col = owners.reindex(at).tolist() if owners is not None else None
    link_lists = {name: c.reindex(at).tolist() for name, c in link_cols.items()}
    hits = [(set(idx), reason, tag) for idx, reason, tag in flag_hits]
    for pos, i in enumerate(at):
        fields: dict[str, Any] = {}
        custom: dict[str, Any] = {SOURCE_ID_FIELD: keys[pos]}
        for t in targets:
            v = col[t][pos]
            if v is pd.NA or v is None or (isinstance(v, float) and v != v):
                continue
            if t.startswith("custom:"):
                custom[t[7:]] = v
            else:
                fields[t] = v
        tags = list(dict.fromkeys(tag_col[pos])) if tag_col is not None else []
        flags = [p for c in prob_cols if isinstance(p := c[pos], str)]
        flags.extend(shared_notes.get(i, []))
        if notes_col is not None and isinstance(notes_col[pos], str):
            flags.append(notes_col[pos])
        if i in hier_notes:
            flags.append(hier_notes[i])
        for idx, reason, tag in hits:
            if i in idx:
                flags.append(reason)
                if tag:
                    tags.append(tag)
        links = {name: (om.links[name]["object"], c[pos]) for name, c in link_lists.items()
                 if isinstance(c[pos], str) and c[pos] and not (name == hier_link and i in hier_notes)}
        owner = (owner_col[pos] if isinstance(owner_col[pos], str) else "") if owner_col is not None else None
        pr = PlannedRecord(
            source_object=om.source,
            source_key=str(keys[pos]),
            record=Record(object=om.target, fields=fields, custom=custom, tags=tags),
            owner_email=owner,
            links=links,
            pipeline=(pipes[pos], stages[pos]) if stages is not None else None,
            flags=flags,
            skip_reason=skips[pos] if isinstance(skips[pos], str) else set_aside.get(i),
        )
        pr.content_hash = _hash({"f": fields, "c": custom, "t": tags, "o": owner, "l": links, "p": pr.pipeline})
        records.append(pr)

    for target, spec in (om.extra.get("unique") or {}).items():
        dest_objects.setdefault(om.target, []).append(CustomField(
            key=spec["keep_in"], name=spec.get("name") or spec["keep_in"].replace("_", " ").title(), type="text",
            object=om.target))
    for fm in om.fields:
        if fm.active and fm.custom_key:
            options = fm.options
            if options == "auto":  # the pick-list's options: the values this export holds,
                col = columns.get(fm.target)  # and every value the confirmed value map can send
                named = (om.values.get(fm.source) or {}).values() if isinstance(fm.source, str) else ()
                held = {str(v) for v in col.dropna()} if col is not None else set()
                options = sorted(held | {str(v) for v in named if v not in (None, "")})
            dest_objects.setdefault(om.target, []).append(CustomField(
                key=fm.custom_key, name=fm.name or fm.custom_key.replace("_", " ").title(), type=fm.type,
                object=om.target, options=list(options or [])))
    pf = _pipeline_fields(spec_destination, om) if om.pipeline else None
    return ObjectPlan(om.source, om.target, records, pf, bool((om.owner or {}).get("required"))), left_out


def _pipeline_fields(destination: str, om: ObjectMap) -> tuple[str, str]:
    """The fields a record's pipeline and stage ids go in: the rule's, else the destination's own."""
    ids = ("pipelineId", "pipelineStageId")
    try:
        target = destination_object(destination, om.target)
    except MappingError:
        target = None
    if target is not None:
        ids = (target.field_for("pipeline") or ids[0], target.field_for("stage") or ids[1])
    return om.pipeline.get("id_field", ids[0]), om.pipeline.get("stage_field", ids[1])


def build_plan(snapshot: Snapshot, spec: MappingSpec, load_order: tuple[str, ...] = (), *,
               inline_dir: str | Path | None = None) -> Plan:
    """Turn a Snapshot into a Plan according to ``spec``.

    Pictures embedded in notes (HTML data URIs, RTF ``\\pict`` groups) are written to
    ``inline_dir`` and planned as file records of the note's parent; the note keeps a marker
    where each picture was (:mod:`toolkit.mapping.inline_images`).

    Args:
        snapshot: the source data.
        spec: the confirmed mapping.
        load_order: destination objects in the order the destination needs them (the
            adapter's ``objects``); targets not listed load last, in mapping order.
        inline_dir: where pictures taken out of notes are written (a workspace's
            ``attachments/inline``); default a private folder named for the export.

    Raises:
        MappingError: the mapping names a column or object the export does not have.
    """
    custom: dict[str, list[CustomField]] = {}
    pipelines: dict[str, set[str]] = {}
    aliases: dict[tuple[str, str], str] = {}
    notes: list[str] = []
    params = spec.params
    as_of = params.get("as_of") or snapshot.extracted_at
    params["as_of"] = pd.Timestamp(as_of).tz_localize(None) if pd.Timestamp(as_of).tzinfo else pd.Timestamp(as_of)
    plans, unrouted, excluded = [], [], []
    for om in spec.objects:
        if om.extra.get("status") == "excluded":  # a whole route left out, with its reason
            excluded.append(om)
            continue
        om = _downgrade_multi_select(spec, om, notes)
        op, left = _object_plan(snapshot, om, custom, pipelines, aliases, params, spec.destination)
        plans.append(op)
        unrouted.extend(left)
        images = _inline_images(op, Path(inline_dir) if inline_dir else default_folder(snapshot.location))
        if images is not None:
            plans.append(images)
    rank = {name: i for i, name in enumerate(load_order)}
    plans.sort(key=lambda p: rank.get(p.target, len(rank)))

    # a record one route leaves out and another takes is accounted for by the one that takes it
    taken = {(o.source_object, r.source_key) for o in plans for r in o.records}
    unrouted = [u for u in unrouted if (u[0], u[1]) not in taken or not u[2].startswith("not routed to ")]
    routed = {o.source_object for o in plans}
    excluded_rows: list[tuple[str, str, str]] = []
    for om in excluded:  # its records are accounted for here unless another route takes them
        df = snapshot.tables.get(om.source)
        if om.source in routed or df is None or om.key not in df.columns:
            continue
        routed.add(om.source)
        why = f"route {om.source} -> {om.target} is excluded: {om.extra.get('reason', 'no reason given')}"
        excluded_rows.extend((om.source, str(k), why) for k in df[om.key].astype("string").fillna(""))
    # records carried inside others (a custom-field value on its contact, a referral source in
    # its patients' tags): merged, naming where they went
    merged: list[tuple[str, str, str]] = []
    planned: dict[str, set[str]] = {}
    for o in plans:  # a source object loaded by several routes (a person and a lead) counts once
        planned.setdefault(o.source_object, set()).update(r.source_key for r in o.records if not r.skip_reason)
    for carry in spec.extra.get("carried") or []:
        obj = carry.get("source")
        df = snapshot.tables.get(obj)
        if df is None or obj in routed:
            continue
        routed.add(obj)
        merged_rows, left = carried_rows(snapshot, obj, carry, planned)
        merged.extend(merged_rows)
        unrouted.extend(left)
        planned[obj] = {k for _, k, _ in merged_rows}  # later entries may be carried by these
    for obj, df in snapshot.tables.items():
        if obj in routed:
            continue
        key = snapshot.schema[obj].key if obj in snapshot.schema else df.columns[0]
        said = next((n.get("reason") for n in spec.extra.get("not_migrated") or [] if n.get("source") == obj), None)
        keys = df[key].astype("string").fillna("")
        if said:  # the confirmed mapping says why it stays behind
            excluded_rows.extend((obj, str(k), f"{obj} is not migrated: {said}") for k in keys)
        else:
            unrouted.extend((obj, str(k), f"{obj} is not migrated by this mapping (no route takes it)") for k in keys)
    merged_keys = {(o, k) for o, k, _ in merged}
    unrouted = [u for u in unrouted if (u[0], u[1]) not in merged_keys]

    fields: list[CustomField] = []
    seen: dict[tuple[str, str], CustomField] = {}
    for target in dict.fromkeys([o.target for o in plans]):
        for cf in [CustomField(SOURCE_ID_FIELD, "Source ID", "text", target)] + custom.get(target, []):
            first = seen.get((cf.object, cf.key))
            if first is None:
                seen[(cf.object, cf.key)] = cf
                fields.append(cf)
            elif first.type != cf.type:  # two tables fill one field, read as two types: text takes both
                first.type, first.options = "text", []
            elif cf.options:  # two tables fill one pick-list: it offers the values of both
                first.options = list(dict.fromkeys([*(first.options or []), *cf.options]))
    return Plan(spec.source, spec.destination, plans, unrouted, fields, pipelines, aliases, notes, mapping=spec,
                merged=merged, excluded=excluded_rows, quarantined=quarantined_rows(snapshot))


def quarantined_rows(snapshot: Snapshot) -> list[tuple[str, str, str]]:
    """(object, ``line N``, reason) for every row the reader set aside as malformed."""
    return [(q["object"], f"line {q['row']}", f"{q['file']} line {q['row']}: {q['message']}; {SET_ASIDE}")
            for q in snapshot.meta.get("quarantined") or []]


def carried_rows(snapshot: Snapshot, obj: str, carry: dict, planned: dict[str, set[str]]
                 ) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """How the records of ``obj`` are carried inside records of other objects.

    ``carry`` is a mapping's ``carried`` entry: ``{source, into, by | via, as}``. With ``by`` (a
    column of ``obj`` holding the key of an ``into`` record: a custom-field value, a form
    submission) each record is merged into that one record. With ``via`` (a column of ``into``
    holding this object's key: a referral source, a staff member) it is merged into every
    ``into`` record that names it; ``refs: [[object, column], ...]`` lists several such holders.
    With ``all: true`` every record is set-up the load provisions from (a pipeline's stages).
    A record no migrated (or itself carried) record takes is skipped, with why.

    Returns:
        (merged rows, skipped rows), each ``(object, key, reason)``.
    """
    df = snapshot.tables[obj]
    key = snapshot.schema[obj].key if obj in snapshot.schema else df.columns[0]
    how = carry.get("as") or "carried on it"
    keys = df[key].astype("string").fillna("")
    merged, left = [], []
    if carry.get("all"):  # set-up data the load provisions from (pipelines and their stages)
        return [(obj, str(k), f"merged into the destination's set-up: {how}") for k in keys], []
    if carry.get("by"):
        into = carry["into"]
        wanted = planned.get(into, set())
        parents = df[carry["by"]].astype("string").fillna("")
        for k, parent in zip(keys, parents):
            if parent in wanted:
                merged.append((obj, str(k), f"merged into {into} {parent}: {how}"))
            else:
                left.append((obj, str(k), f"its {into} {parent or '(none)'} is not migrated, so nothing carries it"))
        return merged, left
    refs = carry.get("refs") or [[carry["into"], carry["via"]]]
    count: dict[str, list[str]] = {}
    for holder, column in refs:
        other = snapshot.tables.get(holder)
        if other is None or column not in other.columns:
            raise MappingError(f"mapping: carried {obj} names {holder}.{column}, which the export does not have")
        holder_key = snapshot.schema[holder].key if holder in snapshot.schema else other.columns[0]
        pairs = other[[holder_key, column]].astype("string").dropna()
        pairs = pairs[pairs[holder_key].isin(planned.get(holder, set()))]
        for ref, n in pairs[column].value_counts().items():
            count.setdefault(str(ref), []).append(f"{n} {holder}")
    for k in keys:
        found = count.get(str(k))
        if found:
            merged.append((obj, str(k), f"merged into {', '.join(found)} record(s): {how}"))
        else:
            where = ", ".join(f"{h}.{c}" for h, c in refs)
            left.append((obj, str(k), f"no migrated record names it ({where})"))
    return merged, left


def _inline_images(op: ObjectPlan, folder: Path) -> ObjectPlan | None:
    """The pictures inside ``op``'s notes as file records; each note's text keeps a marker instead.

    Every picture is linked to whatever the note is linked to (its contact, deal, ...) and keyed
    ``<note id>#image-<n>``, so the engine uploads it (or keeps it as a link when too large),
    journals it, resumes and rolls it back like any other file. A picture that cannot be read
    is planned skipped, with the note and the reason, so the run reports it.
    """
    if op.target == FILE_OBJECT or not is_note_object(op.target):
        return None
    files: list[PlannedRecord] = []
    for pr in op.records:
        if pr.skip_reason:  # a note left out takes its pictures with it
            continue
        found = []
        for values in (pr.record.fields, pr.record.custom):
            for name, value in values.items():
                if isinstance(value, str) and has_inline_images(value):
                    got = extract_inline_images(pr.source_key, value, folder, start=len(found) + 1)
                    values[name] = got.text
                    found.extend(got.images)
        if not found:
            continue
        r = pr.record
        pr.content_hash = _hash({"f": r.fields, "c": r.custom, "t": r.tags, "o": pr.owner_email, "l": pr.links,
                                 "p": pr.pipeline})
        broken = [img.problem for img in found if img.problem]
        pr.flags.extend(broken)
        for img in found:
            key = f"{pr.source_key}#image-{img.n}"
            fields = {"path": str(img.path), "name": img.name} if img.path else {}
            # its bytes, not where the workspace keeps them, decide whether it is sent again
            digest = hashlib.sha1(img.path.read_bytes()).hexdigest() if img.path else ""
            rec = PlannedRecord(op.source_object, key, Record(object=FILE_OBJECT, fields=fields,
                                                               custom={SOURCE_ID_FIELD: key}),
                                links=dict(pr.links), skip_reason=img.problem)
            rec.content_hash = _hash({"n": img.name, "l": rec.links, "d": digest})
            files.append(rec)
    return ObjectPlan(op.source_object, FILE_OBJECT, files) if files else None


def _add_tags(acc: list, v) -> list:
    if isinstance(v, list):
        return acc + [x for x in v if isinstance(x, str) and x]
    return acc + [v] if isinstance(v, str) and v else acc
