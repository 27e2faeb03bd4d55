"""The mapping file (``WS/mapping.yaml``): the contract between the person who confirms the
map and the engine that applies it.

Shape (keys beyond these are kept on load and save)::

    source: dent-o-soft
    destination: highlevel
    objects:
      - source: patients            # source object
        target: contact             # destination object
        key: PatientID              # source id column
        where: "Status != 'Deleted'"   # optional routing rule (pandas query)
        status: excluded            # optional: leave the whole route out...
        reason: "..."               # ...saying why (its records are reported as skipped)
        skip: [{where: ..., reason: ...}]  # records to leave out, each with its reason
        owner: {column: PrimaryProviderID, lookup: {object: providers, key: ProviderID, value: Email}}
        links: {contactId: {column: PatientID, object: patients}}
        pipeline: {name: Recall, stage: {column: Status, map: {...}, fallback: "Unmapped — Review Required"}}
        fields:
          - source: FirstName       # or a list: the first non-empty wins
            target: firstName       # API field name, custom:<key>, tags, or null
            type: text              # for custom:<key>, the type to create
            transform: title        # named transform (see _transforms)
            lookup: {object: ..., key: ..., value: ...}
            template: "{RecallType} recall"   # instead of source: a composed value
            value: open             # instead of source: a constant
            collect: {object: treatment_plans, by: PatientID, column: Status, how: latest, order: ModifiedDate}
            where: "ContactType == 'Referring Dentist'"   # value only on matching rows...
            otherwise: false                              # ...this on the others
            split: ";"  item: 0|1|rest                    # one of several values in a cell
            format: "Referral: {}"                        # text around the value
            confidence: 1.0
            reason: "..."
            status: proposed|confirmed|excluded
        values: {Status: {Completed: won}}
        derive: {...}  hierarchy: {...}  unique: {...}  dedupe: {...}   # see _rules and _plan
    params: {lead_recency_months: 12}   # read by rules as @lead_recency_months

Rules beyond column -> field are described in :mod:`._rules`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..config_schema import MAPPING_SCHEMA, Problem, did_you_mean, read_checked
from ..errors import MappingError
from ..private_files import write_private

__all__ = ["MappingSpec", "ObjectMap", "FieldMap", "CUSTOM_TYPES", "ROUTE_STATUSES"]

CUSTOM_TYPES = {"text", "large_text", "number", "monetary", "date", "datetime", "checkbox",
                "single_option", "multiple_options", "phone", "email"}
STATUSES = {"proposed", "confirmed", "excluded"}
#: a whole route is loaded or left out; a left-out route carries its ``reason`` and its records
#: are reported as skipped with it
ROUTE_STATUSES = ("included", "excluded")


@dataclass
class FieldMap:
    source: str | list[str] | None
    target: str | None
    type: str | None = None
    transform: str | None = None
    lookup: dict | None = None
    template: str | None = None
    value: Any = None
    name: str | None = None
    options: list[str] | None = None
    where: str | None = None
    confidence: float = 1.0
    reason: str = ""
    status: str = "proposed"
    extra: dict = field(default_factory=dict)

    @property
    def custom_key(self) -> str | None:
        return self.target[len("custom:"):] if self.target and self.target.startswith("custom:") else None

    @property
    def label(self) -> str:
        src = self.source if isinstance(self.source, str) else "+".join(self.source or []) or self.template or repr(self.value)
        return f"{src} -> {self.target}"

    @property
    def active(self) -> bool:
        return self.target is not None and self.status != "excluded"

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"source": self.source, "target": self.target}
        for name in ("type", "transform", "lookup", "template", "value", "name", "options", "where"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        out.update(confidence=self.confidence, reason=self.reason, status=self.status)
        return out | self.extra


@dataclass
class ObjectMap:
    source: str
    target: str
    key: str
    fields: list[FieldMap]
    where: str | None = None
    skip: list[dict] = field(default_factory=list)
    owner: dict | None = None
    links: dict[str, dict] = field(default_factory=dict)
    pipeline: dict | None = None
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    flags: list[dict] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.source} -> {self.target}"

    @property
    def included(self) -> bool:
        """False when the whole route is left out (``status: excluded``)."""
        return self.extra.get("status") != "excluded"

    def set_included(self, included: bool, reason: str | None = None) -> None:
        """Include the route, or leave it out with ``reason`` (kept if none is given)."""
        if included:
            self.extra.pop("status", None)
            self.extra.pop("reason", None)
        else:
            self.extra["status"] = "excluded"
            self.extra["reason"] = (reason or "").strip() or self.extra.get("reason") or "left out at review"

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"source": self.source, "target": self.target, "key": self.key}
        if self.where:
            out["where"] = self.where
        for name in ("skip", "owner", "links", "pipeline", "flags"):
            if getattr(self, name):
                out[name] = getattr(self, name)
        out["fields"] = [f.to_dict() for f in self.fields]
        out["values"] = self.values
        return out | self.extra


@dataclass
class MappingSpec:
    source: str
    destination: str
    objects: list[ObjectMap]
    extra: dict = field(default_factory=dict)

    # --- file round trip ----------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path) -> "MappingSpec":
        """Read and check a mapping file.

        Raises:
            MappingError: the file is missing or breaks the shape above (naming the object and field).
        """
        path = Path(path)
        if not path.is_file():
            raise MappingError(f"mapping file {path} does not exist; run the mapping step first")
        data = read_checked(path, MAPPING_SCHEMA, MappingError, more=_target_problems)
        return cls.from_dict(data, origin=str(path))

    @classmethod
    def from_dict(cls, data: dict, origin: str = "mapping") -> "MappingSpec":
        try:
            objects = []
            for i, od in enumerate(data.get("objects") or []):
                od = dict(od)
                fields = []
                for j, fd in enumerate(od.pop("fields", None) or []):
                    fd = dict(fd)
                    known = {k: fd.pop(k) for k in list(fd) if k in FieldMap.__dataclass_fields__ and k != "extra"}
                    fm = FieldMap(**{"source": None, "target": None} | known, extra=fd)
                    _check_field(fm, f"{origin}: objects[{i}] ({od.get('source')}) fields[{j}]")
                    fields.append(fm)
                known = {k: od.pop(k) for k in list(od) if k in ObjectMap.__dataclass_fields__ and k != "extra"}
                status = od.get("status", "included")
                if status not in ROUTE_STATUSES:
                    raise MappingError(f"{origin}: objects[{i}] ({known.get('source')}): route status {status!r} "
                                       f"is not one of {list(ROUTE_STATUSES)}")
                objects.append(ObjectMap(**known, fields=fields, extra=od))
            rest = {k: v for k, v in data.items() if k not in {"source", "destination", "objects"}}
            return cls(source=data["source"], destination=data["destination"], objects=objects, extra=rest)
        except (KeyError, TypeError) as exc:
            raise MappingError(f"{origin}: malformed mapping ({exc})") from None

    def to_dict(self) -> dict:
        return {"source": self.source, "destination": self.destination, **self.extra,
                "objects": [o.to_dict() for o in self.objects]}

    def save(self, path: str | Path) -> None:
        write_private(Path(path), yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True, width=120))

    # --- questions the engine asks ------------------------------------------------------
    def unconfirmed(self) -> list[str]:
        """Every field still ``proposed``, as ``object.source -> target``."""
        return [f"{o.source}: {f.label}" for o in self.objects for f in o.fields if f.status == "proposed"]

    def accept_proposals(self) -> int:
        """Mark every proposed field confirmed; returns how many were."""
        n = 0
        for o in self.objects:
            for f in o.fields:
                if f.status == "proposed":
                    f.status, n = "confirmed", n + 1
        return n

    @property
    def params(self) -> dict:
        """Values rules read as ``@name`` (``lead_recency_months``), from the file's ``params``."""
        return dict(self.extra.get("params") or {})

    def object(self, source: str, target: str | None = None) -> ObjectMap:
        """The object route from ``source`` (to ``target``, when a source has several).

        Raises:
            MappingError: no such route.
        """
        for o in self.objects:
            if o.source == source and (target is None or o.target == target):
                return o
        raise MappingError(f"the mapping has no route from {source!r}" + (f" to {target!r}" if target else ""))

    def custom_fields(self) -> list[tuple[str, FieldMap]]:
        """(destination object, field) for every active custom-field target."""
        return [(o.target, f) for o in self.objects for f in o.fields if f.active and f.custom_key]


def _check_field(fm: FieldMap, where: str) -> None:
    if fm.status not in STATUSES:
        raise MappingError(f"{where}: status {fm.status!r} is not one of {sorted(STATUSES)}")
    if fm.custom_key and fm.active and fm.type not in CUSTOM_TYPES:
        raise MappingError(f"{where}: custom field {fm.custom_key!r} needs a type, one of {sorted(CUSTOM_TYPES)}")
    if fm.source is None and fm.template is None and fm.value is None and fm.target is not None \
            and not fm.extra.get("collect"):
        raise MappingError(f"{where}: a field needs a source column, a template, a value or a collect rule")
    if fm.transform is not None:
        from ._transforms import transforms

        if fm.transform not in transforms:
            raise MappingError(f"{where}: unknown transform {fm.transform!r} (known: {', '.join(transforms.names())})")


def _target_problems(data: dict, lines: dict[tuple, int]) -> list[Problem]:
    """Targets the destination does not have: a field of one of its own objects that its field
    list does not name (custom fields are ``custom:<key>``), or an object name one letter off
    one of its objects. Custom objects and objects without a field list are not checked."""
    from ._catalog import destination_objects, known_destinations

    destination = data.get("destination")
    if destination not in known_destinations():
        return [Problem(("destination",), lines.get(("destination",)), f"unknown destination {destination!r}"
                        f"{did_you_mean(destination, known_destinations())}")]
    objects = destination_objects(destination)
    out: list[Problem] = []
    for i, od in enumerate(data.get("objects") or []):
        target = od.get("target")
        known = objects.get(target)
        if known is None:
            hint = did_you_mean(target, objects)
            if hint and not str(target).startswith("custom_object:"):
                out.append(Problem(("objects", i, "target"), lines.get(("objects", i, "target")),
                                   f"{target!r} is not a {destination} object{hint}"))
            continue
        for j, fd in enumerate(od.get("fields") or []):
            name = fd.get("target")
            if name is None or str(name).startswith("custom:") or name in known.fields:
                continue
            path = ("objects", i, "fields", j, "target")
            out.append(Problem(path, lines.get(path) or lines.get(path[:-1]),
                               f"target {name!r} is not a field of {destination} {target}"
                               f"{did_you_mean(name, known.fields) or ' (a custom field is custom:<key>)'}"))
    return out
