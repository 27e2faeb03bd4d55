"""The destinations' field lists (``destination_fields.yaml``), read once and asked by name.

The proposer, the review grid and build_plan all ask here what a destination object holds, so a
field added to the YAML file is known everywhere at once. The mapping package never imports an
adapter; this file is its only knowledge of the destinations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from ..errors import MappingError

__all__ = ["DestinationObject", "destination_objects", "destination_object", "known_destinations"]

_FILE = Path(__file__).with_name("destination_fields.yaml")


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

    def field_for(self, concept: str) -> str | None:
        """The API field that carries ``concept``, if the object has one."""
        return next((name for name, f in self.fields.items() if f.get("concept") == concept), None)

    def link_to(self, kind: str) -> str | None:
        """The link field that points at an object of ``kind`` (``person``, ``company``)."""
        return next((name for name, k in self.links.items() if k == kind), None)


@lru_cache(maxsize=1)
def _data() -> dict:
    return yaml.safe_load(_FILE.read_text(encoding="utf-8"))


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
                           f"add it to {_FILE.name}")
    out = {}
    for name, o in data["objects"].items():
        out[name] = DestinationObject(destination, name, o["kind"], tuple(o.get("aliases") or ()), dict(o.get("fields") or {}),
                                      dict(o.get("links") or {}), bool(o.get("multi_select", True)),
                                      bool(o.get("custom_fields", True)))
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
