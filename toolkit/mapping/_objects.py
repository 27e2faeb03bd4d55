"""Proposing a whole mapping: which file becomes which destination object, its key, its links
and owner, its pipeline, and every column's target.

``propose_mapping(snapshot, destination)`` reads any Snapshot — a known source's or a folder of
CSV files from a system the toolkit has never seen (:func:`read_folder`) — and returns a
:class:`MappingSpec` in which every field is ``proposed``. Given a ``base`` (the pair's template),
it keeps the template and proposes only the columns the template does not mention, so a
practice's own extra columns are not lost silently.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from rapidfuzz import fuzz

from ..errors import MappingError, SourceError
from ..shapes import ObjectSchema, Snapshot
from ._carriers import carrier_value_map, cluster_carriers
from ._catalog import DestinationObject, custom_objects_allowed, destination_objects
from ._links import guess_key, propose_links, singular
from ._mixed import MixedTable, company_link, find_mixed, organisation_share
from ._profiling import ValueProfile, profile
from ._proposer import CONFIRM_THRESHOLD, propose_fields, rank_concepts
from ._rules import pipeline_maps, query
from ._spec import FieldMap, MappingSpec, ObjectMap

__all__ = ["propose_mapping", "propose_objects", "read_folder", "template_fits", "ObjectProposal"]

#: content that tells what a table is, when its name does not (concept -> kind, weight)
_KIND_EVIDENCE = {"first_name": ("person", 1.0), "last_name": ("person", 1.0), "birth_date": ("person", 1.0),
                  "email": ("person", 0.4), "mobile_phone": ("person", 0.5), "company_name": ("company", 0.8),
                  "website": ("company", 0.6), "employee_count": ("company", 1.0), "annual_revenue": ("company", 1.0),
                  "amount": ("deal", 0.6), "stage": ("deal", 1.0), "deal_name": ("deal", 1.0), "probability": ("deal", 1.0),
                  "close_date": ("deal", 1.0), "pipeline": ("deal", 0.8), "due_date": ("activity", 0.6),
                  "start_time": ("activity", 0.8), "duration": ("activity", 1.0), "subject": ("activity", 0.6),
                  "note_body": ("note", 1.0)}


_PROFILES: dict[tuple[int, str], ValueProfile] = {}
#: frames made during one proposal run (a mixed table's sides), alive while their ids key _PROFILES
_KEEP: list[pd.DataFrame] = []


def _profile(df: pd.DataFrame, col: str) -> ValueProfile:
    """A column's profile, computed once per proposal run (the tables live for the whole run)."""
    key = (id(df), col)
    if key not in _PROFILES:
        _PROFILES[key] = profile(df[col])
    return _PROFILES[key]


class ObjectProposal:
    """Which destination object a source table becomes, and why."""

    def __init__(self, source: str, target: str | None, confidence: float, reason: str, key: str | None,
                 where: str | None = None):
        self.source, self.target, self.confidence, self.reason, self.key = source, target, confidence, reason, key
        self.where = where  # the rows of the table this route takes (a mixed table's companies)

    def __repr__(self) -> str:
        return f"<{self.source} -> {self.target} ({self.confidence:.2f}: {self.reason})>"


def read_folder(folder: str | Path, *, source: str = "generic-csv") -> Snapshot:
    """Read every CSV (and XLSX sheet) in ``folder`` as text, one object per file.

    Raises:
        SourceError: the folder has no CSV or XLSX file, or a file cannot be parsed.
    """
    folder = Path(folder)
    tables: dict[str, pd.DataFrame] = {}
    schema: dict[str, ObjectSchema] = {}
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in {".csv", ".xlsx"}) if folder.is_dir() else []
    if not files:
        raise SourceError(f"{folder}: no CSV or XLSX files to read", file=str(folder))
    for path in files:
        name = re.sub(r"[^a-z0-9]+", "_", path.stem.lower()).strip("_")
        try:
            if path.suffix.lower() == ".csv":
                df = _read_csv(path)
            else:
                df = pd.read_excel(path, dtype=str, keep_default_na=False)
        except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise SourceError(f"cannot be read ({exc})", file=path.name) from None
        df = df.apply(lambda s: s.str.strip()).replace("", pd.NA)
        tables[name] = df
        schema[name] = ObjectSchema(name=name, file=path.name, key=guess_key(df) or df.columns[0],
                                    columns={c: "text" for c in df.columns})
    return Snapshot(source=source, tables=tables, schema=schema, location=str(folder))


def _read_csv(path: Path) -> pd.DataFrame:
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=enc, sep=None, engine="python")
        except UnicodeDecodeError:
            continue
    raise UnicodeDecodeError("utf-8", b"", 0, 1, "neither UTF-8 nor cp1252")


def _table_kind(df: pd.DataFrame, profiles: dict[str, ValueProfile]) -> tuple[str | None, float]:
    score: dict[str, float] = {}
    seen: set[str] = set()
    if _names_organisations(df, profiles):  # the names say what the rows are, whatever the file is called
        score["company"] = 1.6
    for col in df.columns:
        cands = rank_concepts(col, profiles[col])
        # each concept is one piece of evidence: two amount columns (covered, uncovered) say no
        # more that a table is a deal than one does
        if cands and cands[0].score >= 0.7 and cands[0].concept in _KIND_EVIDENCE and cands[0].concept not in seen:
            seen.add(cands[0].concept)
            kind, w = _KIND_EVIDENCE[cands[0].concept]
            score[kind] = score.get(kind, 0.0) + w
    if not score:
        return None, 0.0
    kind = max(score, key=score.get)
    return kind, min(1.0, score[kind] / 2.0)


def _names_organisations(df: pd.DataFrame, profiles: dict[str, ValueProfile]) -> bool:
    """Whether the table's name column holds organisations' names ("Bolts & Screws")."""
    for col in df.columns:
        cands = rank_concepts(col, profiles[col])
        if cands and cands[0].score >= 0.7 and cands[0].concept in ("full_name", "company_name"):
            return organisation_share(df[col]) >= 0.6
    return False


def propose_objects(snapshot: Snapshot, destination: str) -> list[ObjectProposal]:
    """For every table: the destination object it becomes (or None), with confidence and reason."""
    objects = destination_objects(destination)
    out = []
    for name, df in snapshot.tables.items():
        profiles = {c: _profile(df, c) for c in df.columns}
        key = snapshot.schema[name].key if name in snapshot.schema else guess_key(df)
        norm = " ".join(singular(w) for w in re.split(r"[^a-z0-9]+", name.lower()) if w)
        best, best_score, how = None, 0.0, ""
        for obj in objects.values():
            for alias in obj.aliases:
                a = " ".join(singular(w) for w in alias.split("_"))
                # whole words only: "recalls" must not read as "calls"
                if a == norm:
                    s = 1.0
                elif set(a.split()) & set(norm.split()):
                    s = 0.8 * len(set(a.split()) & set(norm.split())) / max(len(a.split()), len(norm.split())) + 0.1
                else:
                    s = fuzz.ratio(a, norm) / 100 * 0.85
                if s > best_score:
                    best, best_score, how = obj, s, f"file name {name!r} reads as {alias!r}"
        kind, kind_score = _table_kind(df, profiles)
        if kind and (best is None or best_score < 0.8 or best.kind != kind) and kind_score * 0.85 > best_score * 0.9:
            by_kind = next((o for o in objects.values() if o.kind == kind), None)
            if by_kind is not None:
                best, best_score, how = by_kind, kind_score * 0.85, f"its columns look like a {kind}"
        elif kind and best is not None and best.kind == kind:
            best_score = min(1.0, best_score + 0.1)
            how += f"; its columns look like a {kind}"
        if best is None or best_score < 0.6:
            if custom_objects_allowed(destination):
                out.append(ObjectProposal(name, f"custom_object:{re.sub(r'[^a-z0-9]+', '_', name.lower())}", 0.5,
                                          f"no standard {destination} object fits {name!r}: a custom object", key))
            else:
                out.append(ObjectProposal(name, None, 0.5, f"no {destination} object fits {name!r}: not migrated", key))
            continue
        out.append(ObjectProposal(name, best.name, round(min(1.0, best_score), 2), how, key))
    return out


def _owner(snapshot: Snapshot, name: str, df: pd.DataFrame) -> dict | None:
    """An owner rule from a provider/owner column, resolved to an email through its table if need be."""
    for col in df.columns:
        cands = rank_concepts(col, _profile(df, col))
        if not cands or cands[0].concept not in {"owner", "provider"} or cands[0].score < 0.6:
            continue
        if df[col].dropna().astype(str).str.contains("@").mean() > 0.8:
            return {"column": col}
        for other, odf in snapshot.tables.items():
            okey = snapshot.schema[other].key if other in snapshot.schema else guess_key(odf)
            email = next((c for c in odf.columns if "mail" in c.lower()), None)
            if other != name and okey and email and df[col].dropna().isin(set(odf[okey].dropna())).mean() >= 0.9:
                return {"column": col, "lookup": {"object": other, "key": okey, "value": email}}
    return None


def _object_map(snapshot: Snapshot, prop: ObjectProposal, destination: str, targets: dict[str, str | None],
                mixed: MixedTable | None = None) -> ObjectMap:
    df = snapshot.tables[prop.source]
    target = destination_objects(destination).get(prop.target) or _custom_object(destination, prop.target)
    key = prop.key or df.columns[0]
    links = propose_links(snapshot, prop.source, df, target, targets, destination)
    if mixed is not None:  # one side of a mixed table: its fields read from its own rows only
        companies = query(df, mixed.companies, {}, prop.source)
        if prop.where == mixed.people and target.link_to("company"):
            link = company_link(df, mixed, key, prop.source, companies)
            if link:
                links[target.link_to("company")] = link
        df = df.loc[companies] if prop.where == mixed.companies else df.loc[df.index.difference(companies)]
        _KEEP.append(df)  # profiles are cached by the frame's id for the run
    owner = _owner(snapshot, prop.source, df)
    skip = {spec["column"]: f"link to {spec['object']} ({field})" for field, spec in links.items()}
    if mixed is not None:  # the type column is the split's rule, not a value of either side
        skip[mixed.column] = f"says which rows are companies and which people: the routes' rule ({prop.where})"
    if owner:
        skip.setdefault(owner["column"], "owner: resolved by email to a destination user")
    profiles = {c: _profile(df, c) for c in df.columns}
    if target is None:  # a custom object: every column a field of it, linked to its contact
        target = _custom_object(destination, prop.target)
    fields, values = propose_fields(df, target, key=key, skip=skip, profiles=profiles)
    om = ObjectMap(source=prop.source, target=prop.target, key=key, fields=fields, links=links, owner=owner,
                   values=values, where=prop.where, extra={"confidence": prop.confidence, "reason": prop.reason})
    if prop.target and prop.target.startswith("custom_object:"):
        _custom_object_schema(df, om, profiles)
    _carrier_values(df, om)
    _pipeline(df, om, target)
    return om


#: value kinds a record's display name can be: words, not numbers, dates or codes
_DISPLAY_KINDS = {"text", "name", "picklist", "multi", "address"}
_DISPLAY_WORDS = re.compile(r"(^|[^a-z])(name|title|description|desc|subject|summary|label)([^a-z]|$)", re.I)


def _custom_object_schema(df: pd.DataFrame, om: ObjectMap, profiles: dict[str, ValueProfile]) -> None:
    """A custom object route's ``schema`` (names and primary display property), so that the
    route loads: the column that names a record best (a name, title or description; else the
    first column of words; else the record's id) becomes the primary property."""
    words = om.source.replace("_", " ").strip().title()
    one = " ".join(words.split()[:-1] + [singular(words.split()[-1])]) if words else om.source
    candidates = [f for f in om.fields if f.active and isinstance(f.source, str) and f.custom_key
                  and f.source in df.columns]

    def rank(f):
        prof = profiles.get(f.source)
        named = bool(_DISPLAY_WORDS.search(re.sub(r"([a-z])([A-Z])", r"\1 \2", f.source)))
        filled = prof.filled if prof else 0.0
        return (not named, prof is None or prof.kind not in _DISPLAY_KINDS, -filled)

    best = min(candidates, key=rank, default=None)
    if best is not None and (rank(best)[0] is False or rank(best)[1] is False):
        primary = best.custom_key
        best.target, best.type, best.options = primary, None, None
        best.reason += "; the record's display name (the custom object's primary property)"
    else:
        primary = "name"
        om.fields.insert(0, FieldMap(om.key, primary, confidence=0.7,
                                     reason="no column names a record: its id is its display name"))
    om.extra["schema"] = {"singular": one, "plural": words, "primary_field": primary}


def _as_notes(snapshot: Snapshot, prop: ObjectProposal, destination: str,
              targets: dict[str, str | None]) -> ObjectMap | None:
    """A table no object of ``destination`` fits, kept as a note on the person each row belongs
    to (where the CRM has no custom objects): every column written out in the note. None when
    the CRM has no notes or the rows point at no person."""
    note = next((o for o in destination_objects(destination).values() if o.kind == "note" and o.link_to("person")),
                None)
    body = note.field_for("note_body") if note is not None else None
    if body is None:
        return None
    df = snapshot.tables[prop.source]
    links = propose_links(snapshot, prop.source, df, note, targets, destination)
    person = note.link_to("person")
    if person not in links:
        return None
    # the person first; any other record the CRM's note can point at as well (a Pipedrive note's
    # organization: the encounter's payer) rides along on its own link field
    links = {person: links[person], **{f: spec for f, spec in links.items() if f != person}}
    key = prop.key or df.columns[0]
    # a column whose name the template syntax would misread is left out of the text
    shown = [c for c in df.columns if c not in (key, links[person]["column"]) and not re.search(r"[{}:!\[\]]", c)]
    words = prop.source.replace("_", " ").strip()
    title = " ".join(words.split()[:-1] + [singular(words.split()[-1])]).capitalize() if words else prop.source
    text = f"{title} {{{key}}}\n" + "\n".join(f"{c.replace('_', ' ').capitalize()}: {{{c}}}" for c in shown)
    fields = [FieldMap(key, body, template=text, confidence=0.75,
                       reason=f"no {destination} object fits {prop.source!r} and {destination} has no custom objects: "
                              f"each row kept as a note on its person, every column written out")]
    return ObjectMap(source=prop.source, target=note.name, key=key, fields=fields, links=links,
                     extra={"confidence": 0.75, "reason": f"kept as notes on the {links[person]['object']} they "
                                                         f"belong to ({links[person]['evidence']})"})


def _custom_object(destination: str, name: str) -> DestinationObject:
    # records of a custom object are associated with their contact/person (highlevel.md §4)
    person = next((o.name for o in destination_objects(destination).values() if o.kind == "person"), "contact")
    return DestinationObject(destination, name, "custom", (), {}, {f"{person}Id" if person == "contact" else
                                                                  f"{person}_id": "person"}, True, True)


def _carrier_values(df: pd.DataFrame, om: ObjectMap) -> None:
    for fm in om.fields:
        if not isinstance(fm.source, str) or not fm.active or fm.source not in df.columns:
            continue  # a derived column (a rule's) is not the export's
        prof = _profile(df, fm.source)
        cands = rank_concepts(fm.source, prof)
        if cands and cands[0].concept == "insurance_carrier" and cands[0].score >= 0.6 and prof.kind != "id" \
                and fm.source not in om.values:
            vmap = carrier_value_map(df[fm.source])
            if vmap:
                om.values[fm.source] = vmap
                clusters = cluster_carriers(df[fm.source])
                n = sum(len(c.spellings) for c in clusters)
                fm.reason += f"; {n} spellings clustered into {len(clusters)} carriers: confirm the value map"
                fm.confidence = min(fm.confidence, CONFIRM_THRESHOLD - 0.05)
                if fm.type == "single_option":
                    fm.options = sorted({vmap.get(v, v) for v in fm.options or []})


def _pipeline(df: pd.DataFrame, om: ObjectMap, target: DestinationObject) -> None:
    """A pipeline rule for deals, from a stage column (or a status pick-list when there is none)."""
    if target.kind != "deal":
        return
    by_concept: dict[str, FieldMap] = {}
    for fm in om.fields:
        if isinstance(fm.source, str):
            cands = rank_concepts(fm.source, _profile(df, fm.source))
            if cands and cands[0].score >= 0.6:
                by_concept.setdefault(cands[0].concept, fm)
    stage = by_concept.get("stage") or by_concept.get("deal_status") or by_concept.get("patient_status")
    if stage is None:
        return
    pipe = by_concept.get("pipeline")
    title = om.source.replace("_", " ").title()
    om.pipeline = pipeline_maps(df, stage.source, pipeline_column=pipe.source if pipe else None, name=title)
    for fm in (stage, pipe):
        if fm is not None and fm.custom_key:
            fm.reason += "; also drives the pipeline stage"


def propose_mapping(snapshot: Snapshot, destination: str, *, source: str | None = None,
                    base: MappingSpec | None = None) -> MappingSpec:
    """Propose a mapping of ``snapshot`` into ``destination``; every field ``proposed``.

    Args:
        snapshot: the source data.
        destination: a destination with a field list (``highlevel``, ``freshsales``, ``pipedrive``).
        source: the source name written into the mapping (default: the snapshot's).
        base: a mapping to extend (the pair's template): its routes are kept, and only columns
            it does not mention are proposed.

    Raises:
        MappingError: the destination has no field list.
    """
    try:
        return _propose(snapshot, destination, source, base)
    finally:
        _PROFILES.clear()
        _KEEP.clear()


def _propose(snapshot: Snapshot, destination: str, source: str | None, base: MappingSpec | None,
             only: set[str] | None = None, known: dict[str, str] | None = None) -> MappingSpec:
    """Propose routes for the tables in ``only`` (default all); ``known`` are routes decided already."""
    if base is not None:
        return _extend(snapshot, base)
    props = propose_objects(snapshot, destination)
    owners_from = {o["lookup"]["object"] for name, df in snapshot.tables.items()
                   if (o := _owner(snapshot, name, df)) and o.get("lookup")}
    for p in props:
        if p.source in owners_from:
            p.target, p.reason = None, (f"{p.source} are the records' owners: matched by email to {destination} users, "
                                        "not migrated as records")
    props, mixed = _split_mixed(snapshot, props, destination)
    targets = {p.source: p.target for p in props} | dict(known or {})
    objects, left = [], []
    for p in props:
        if only is not None and p.source not in only:
            continue
        if p.source in mixed:
            objects.append(_object_map(snapshot, p, destination, targets, mixed[p.source]))
            continue
        if p.target is None:
            folded = None if p.source in owners_from else _as_notes(snapshot, p, destination, targets)
            if folded is not None:
                objects.append(folded)
                continue
            left.append({"source": p.source, "reason": p.reason})
            continue
        om = _object_map(snapshot, p, destination, targets)
        target = destination_objects(destination).get(p.target)
        missing = [k for k in (target.requires if target else ()) if target.link_to(k) not in om.links]
        if missing and custom_objects_allowed(destination):
            # its rows name no record it cannot exist without (a deal with no contact): a custom
            # object of its own holds them instead
            kind = ", ".join(missing)
            p = ObjectProposal(p.source, f"custom_object:{re.sub(r'[^a-z0-9]+', '_', p.source.lower())}", 0.6,
                               f"a {destination} {p.target} cannot exist without a {kind} and no column of "
                               f"{p.source!r} points at one: a custom object instead", p.key)
            om = _object_map(snapshot, p, destination, targets)
        objects.append(om)
    extra = {"not_migrated": left} if left else {}
    return MappingSpec(source=source or snapshot.source, destination=destination, objects=objects, extra=extra)


def _split_mixed(snapshot: Snapshot, props: list[ObjectProposal], destination: str
                 ) -> tuple[list[ObjectProposal], dict[str, MixedTable]]:
    """Each table of companies and people together proposed as two routes, one per side."""
    objects = destination_objects(destination)
    company = next((o for o in objects.values() if o.kind == "company"), None)
    person = next((o for o in objects.values() if o.kind == "person"), None)
    out, found = [], {}
    for p in props:
        mixed = find_mixed(snapshot.tables[p.source]) if company and person else None
        if mixed is None:
            out.append(p)
            continue
        found[p.source] = mixed
        why = f"{mixed.evidence}: split in two routes; check the split"
        out.append(ObjectProposal(p.source, company.name, 0.75, f"its companies: {why}", p.key, mixed.companies))
        out.append(ObjectProposal(p.source, person.name, 0.75, f"its people: {why}", p.key, mixed.people))
    return out, found


def _mentioned(om: ObjectMap) -> set[str]:
    cols = {om.key}
    for fm in om.fields:
        if isinstance(fm.source, str):
            cols.add(fm.source)
        elif fm.source:
            cols.update(fm.source)
        if fm.template:
            cols.update(re.findall(r"{([^}]+)}", fm.template))
        if fm.where:
            cols.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", fm.where))
    cols.update(spec["column"] for spec in om.links.values())
    if om.owner:
        cols.add(om.owner["column"])
    return cols


def template_fits(snapshot: Snapshot, spec: MappingSpec) -> bool:
    """Whether every route of ``spec`` reads a table this export has (a template made for another
    export's files does not)."""
    return all(om.source in snapshot.tables for om in spec.objects)


#: share of the columns a template's route reads that a table must have for the route to apply
TEMPLATE_COLUMN_MATCH = 0.8


def _template_misfit(om: ObjectMap, df: pd.DataFrame) -> str | None:
    """Why a template's route does not fit this export's table of the same name, or None when it
    does: its key and most of the columns it reads must be there (a table named ``contacts``
    from another system is not the layout the template was written for)."""
    wanted = {om.key} | {s for f in om.fields for s in ([f.source] if isinstance(f.source, str) else f.source or [])}
    wanted |= {spec["column"] for spec in om.links.values()}
    wanted -= set(om.extra.get("derive") or {})  # columns the route makes itself
    wanted.discard(None)
    missing = sorted(c for c in wanted if c not in df.columns)
    if om.key in df.columns and len(missing) <= (1 - TEMPLATE_COLUMN_MATCH) * len(wanted):
        return None
    shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    return (f"the template's route reads {len(wanted)} columns and this {om.source!r} table lacks "
            f"{len(missing)} of them ({shown}): proposed from its own columns instead")


def _extend(snapshot: Snapshot, base: MappingSpec) -> MappingSpec:
    spec = MappingSpec.from_dict(base.to_dict())
    dropped = []
    for om in list(spec.objects):
        why = (f"the export has no {om.source!r} table" if om.source not in snapshot.tables
               else _template_misfit(om, snapshot.tables[om.source]))
        if why:  # routes for tables this export does not have, or has in another layout: said so
            spec.objects.remove(om)
            dropped.append({"source": om.source, "target": om.target, "reason": why})
    if dropped:
        spec.extra["dropped_routes"] = dropped
    listed = ({om.source for om in spec.objects} | {n.get("source") for n in spec.extra.get("not_migrated") or []}
              | {n.get("source") for n in spec.extra.get("carried") or []})
    rest = {name: df for name, df in snapshot.tables.items() if name not in listed}
    if rest:  # tables the base says nothing about get proposals of their own
        known = {om.source: om.target for om in spec.objects}
        fresh = _propose(snapshot, spec.destination, None, None, only=set(rest), known=known) \
            if spec.destination in _known() else None
        if fresh is not None:
            spec.objects.extend(fresh.objects)
            spec.extra.setdefault("not_migrated", []).extend(fresh.extra.get("not_migrated", []))
    for om in spec.objects:
        df = snapshot.tables[om.source]
        _carrier_values(df, om)  # this export's carrier spellings, clustered for confirmation
        rest = [c for c in df.columns if c not in _mentioned(om)]
        if not rest:
            continue
        target = destination_objects(spec.destination).get(om.target) if spec.destination in _known() else None
        if target is None:
            target = DestinationObject(spec.destination, om.target, "custom", (), {}, {}, True, True)
        taken = {f.custom_key for f in om.fields if f.custom_key}
        claimed = {f.target for f in om.fields if f.active and not f.custom_key}
        new, values = propose_fields(df[rest], target, taken_keys=taken)
        for fm in new:
            if fm.target in claimed:  # the template already fills that field: keep the column as custom text
                fm.target, fm.type = f"custom:{fm.source.lower()}", "text"
                fm.reason += "; the template already fills that field"
                fm.confidence = min(fm.confidence, 0.6)
            fm.reason = "not in the template: " + fm.reason
            om.fields.append(fm)
        for col, vmap in values.items():
            om.values.setdefault(col, vmap)
    return spec


def _known() -> set[str]:
    from ._catalog import known_destinations

    return set(known_destinations())
