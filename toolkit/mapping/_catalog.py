"""The destinations' field lists, read once and asked by name.

Each CRM's list lives in its own package (``toolkit/destinations/<name>/fields.yaml``); a CRM
added by a third party names its list in the ``dental_crm_toolkit.field_catalogs`` entry-point
group (``name = "package:fields.yaml"``). The proposer, the review grid and build_plan all ask
here what a destination object holds. The mapping package never imports an adapter: it reads
the list as data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from ..errors import MappingError

__all__ = ["DestinationObject", "destination_objects", "destination_object", "known_destinations"]

_BUILT_IN = Path(__file__).resolve().parents[1] / "destinations"
#: entry-point group where third-party destinations name their field lists
ENTRY_POINTS = "dental_crm_toolkit.field_catalogs"


@dataclass(frozen=True)
class DestinationObject:
    """One object of one destination, as the mapping sees it."""

    destination: str
    name: str
    kind: str
    aliases: tuple[str, ...]
    fields: dict[str, dict] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    multi_select: bool = True
    custom_fields: bool = True
    #: kinds of record this object cannot be created without a link to (a HighLevel opportunity:
    #: its contact)
    requires: tuple[str, ...] = ()

    def field_for(self, concept: str) -> str | None:
        """The API field that carries ``concept``, if the object has one."""
        return next((name for name, f in self.fields.items() if f.get("concept") == concept), None)

    def link_to(self, kind: str) -> str | None:
        """The link field that points at an object of ``kind`` (``person``, ``company``)."""
        return next((name for name, k in self.links.items() if k == kind), None)


def _catalog_files() -> dict[str, Path]:
    files = {p.parent.name: p for p in sorted(_BUILT_IN.glob("*/fields.yaml"))}
    from importlib.metadata import entry_points
    from importlib.resources import files as resources

    for ep in entry_points(group=ENTRY_POINTS):
        package, _, resource = ep.value.partition(":")
        files[ep.name] = Path(str(resources(package).joinpath(resource or "fields.yaml")))
    return files


@lru_cache(maxsize=1)
def _data() -> dict:
    return {name: yaml.safe_load(path.read_text(encoding="utf-8")) for name, path in _catalog_files().items()}


def known_destinations() -> list[str]:
    return sorted(_data())


@lru_cache(maxsize=64)
def destination_objects(destination: str) -> dict[str, DestinationObject]:
    """Every object of ``destination`` by name.

    Raises:
        MappingError: the destination has no field list.
    """
    data = _data().get(destination)
    if data is None:
        raise MappingError(f"no field list for destination {destination!r} (known: {', '.join(known_destinations())}); "
                           "a destination's package holds its fields.yaml")
    out = {}
    for name, o in data["objects"].items():
        out[name] = DestinationObject(destination, name, o["kind"], tuple(o.get("aliases") or ()), dict(o.get("fields") or {}),
                                      dict(o.get("links") or {}), bool(o.get("multi_select", True)),
                                      bool(o.get("custom_fields", True)), tuple(o.get("requires") or ()))
    return out


def destination_object(destination: str, name: str) -> DestinationObject | None:
    """One object, or None when ``name`` is a custom object or unknown (nothing is assumed of it)."""
    return destination_objects(destination).get(name)


def custom_objects_allowed(destination: str) -> bool:
    return bool((_data().get(destination) or {}).get("custom_objects"))


@lru_cache(maxsize=1)
def standard_concepts() -> frozenset[str]:
    """Concepts some destination object has a standard field for."""
    return frozenset(f.get("concept") for d in _data().values() for o in d["objects"].values()
                     for f in (o.get("fields") or {}).values() if f.get("concept"))
