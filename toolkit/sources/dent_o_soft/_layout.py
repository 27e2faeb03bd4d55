"""Load the declared Dent-O-Soft export layout (``layout.yaml``) into :class:`ObjectSchema` objects.

The YAML is the single contract shared by the reader (which checks exports against it), the
generator (which writes exactly it) and the mapping templates / audit suites (which name its
columns). Loading is cached: the layout is immutable package data.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources

import yaml

from ...snapshot import ObjectSchema

__all__ = ["Layout", "ObjectLayout", "load_layout"]


@dataclass(frozen=True)
class ObjectLayout:
    """One declared export file.

    Attributes:
        schema: the :class:`ObjectSchema` handed to the Snapshot (a fresh copy per read is made
            by the reader, so callers may mutate theirs).
        columns: column names in the order the software writes them.
        optional: whether the export may omit this file (older versions lack it).
        formats: column -> strftime pattern the software is expected to write.
    """

    schema: ObjectSchema
    columns: tuple[str, ...]
    optional: bool = False
    formats: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Layout:
    """The whole declared export: version, encoding and one :class:`ObjectLayout` per object."""

    version: str
    encoding: str
    delimiter: str
    line_terminator: str
    objects: dict[str, ObjectLayout]


@functools.lru_cache(maxsize=None)
def load_layout(name: str = "layout.yaml") -> Layout:
    """Read the packaged layout file.

    Args:
        name: file name inside this package (tests may ship variants).

    Returns:
        The parsed :class:`Layout`; objects keep the YAML's order (the generator's write order).
    """
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    objects: dict[str, ObjectLayout] = {}
    for obj_name, spec in raw["objects"].items():
        cols = spec["columns"]
        schema = ObjectSchema(
            name=obj_name,
            file=spec["file"],
            key=spec["key"],
            columns={c["name"]: c["type"] for c in cols},
            picklists={c["name"]: [str(v) for v in c["values"]] for c in cols if "values" in c},
            references={c["name"]: c["references"] for c in cols if "references" in c},
            updated_column=spec.get("updated_column"),
        )
        objects[obj_name] = ObjectLayout(
            schema=schema,
            columns=tuple(c["name"] for c in cols),
            optional=bool(spec.get("optional", False)),
            formats={c["name"]: c["format"] for c in cols if "format" in c},
        )
    return Layout(
        version=str(raw["version"]),
        encoding=raw["encoding"],
        delimiter=raw["delimiter"],
        line_terminator=raw["line_terminator"],
        objects=objects,
    )
