"""Declared export layouts: the contract between a file source's reader, its generator, its
mapping templates and its audit suites.

Each file source ships one YAML file per export version it knows (``layout.yaml`` for the current
one, older or newer versions in ``layouts/<version>.yaml``). A layout says, per object: the file,
the key column, and every column in the order the software writes it, with its type and what a
value must look like. Nothing public documents these exports (see
``shared/research/dental-exports.md``), so the YAML *is* the specification the reader checks
exports against.

Column attributes (all but ``name`` and ``type`` optional):

* ``type``: an :class:`~toolkit.shapes.ObjectSchema` type — text, date, datetime, phone, email,
  money, number, code, flag, picklist, id.
* ``format``: the strftime pattern the software writes for a date (exports drift from it).
* ``values``: the pick-list values the software allows.
* ``references``: ``"<object>.<column>"`` the value points at.
* ``required``: the value must be present in every record.
* ``pattern``: a regular expression every present value must match (``cdt`` is shorthand for the
  ADA CDT code format, "D" and four digits; ``npi`` for a ten-digit NPI).
* ``unique``: no two records share the value (the key column is always unique).
* ``max``: the largest acceptable number (a 25 MB upload limit, say).

Object attributes: ``file``, ``key``, ``updated_column``, ``optional`` (the export may omit the
file), ``parent`` (a column pointing at a record of the same object: organisation hierarchies).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from importlib import resources

import yaml

from ..errors import ConfigError
from ..shapes import ObjectSchema

__all__ = ["Layout", "ObjectLayout", "Column", "load_layout", "load_layouts", "PATTERNS", "date_regex"]

#: named patterns a layout may use instead of writing the regular expression out
PATTERNS = {"cdt": r"^D\d{4}$", "npi": r"^\d{10}$"}
_PARTS = {"%Y": r"(19|20)\d\d", "%y": r"\d\d", "%m": r"(0[1-9]|1[0-2])",
          "%d": r"(0[1-9]|[12]\d|3[01])", "%H": r"([01]\d|2[0-3])", "%M": r"[0-5]\d",
          "%S": r"[0-5]\d", "%z": r"[+-]\d{4}"}


def date_regex(fmt: str) -> str:
    """A regular expression for values written with the strftime pattern ``fmt``."""
    out, i = "^", 0
    while i < len(fmt):
        d = fmt[i:i + 2]
        if d in _PARTS:
            out, i = out + _PARTS[d], i + 2
        else:
            out, i = out + re.escape(fmt[i]), i + 1
    return out + "$"


@dataclass(frozen=True)
class Column:
    """One declared column; see the module docstring for what each attribute means."""

    name: str
    type: str
    format: str | None = None
    values: tuple[str, ...] | None = None
    references: str | None = None
    required: bool = False
    pattern: str | None = None
    unique: bool = False
    max: float | None = None


@dataclass(frozen=True)
class ObjectLayout:
    """One declared export file.

    Attributes:
        schema: the :class:`ObjectSchema` handed to the Snapshot (the reader gives each read its
            own copy, so callers may mutate theirs).
        columns: column names in the order the software writes them.
        optional: whether the export may omit this file.
        formats: column -> strftime pattern the software is expected to write.
        spec: every column's full declaration, in file order.
        parent: the column holding a parent record of the same object, if any.
    """

    schema: ObjectSchema
    columns: tuple[str, ...]
    optional: bool = False
    formats: dict[str, str] = field(default_factory=dict)
    spec: tuple[Column, ...] = ()
    parent: str | None = None


@dataclass(frozen=True)
class Layout:
    """One version of a source's export: encoding, delimiter and one :class:`ObjectLayout` per
    object, in the order the generator writes them."""

    version: str
    encoding: str
    delimiter: str
    line_terminator: str
    objects: dict[str, ObjectLayout]
    source: str = ""
    manifest: dict | None = None


def _column(raw: dict, where: str) -> Column:
    try:
        pattern = raw.get("pattern")
        return Column(
            name=str(raw["name"]), type=str(raw["type"]), format=raw.get("format"),
            values=tuple(str(v) for v in raw["values"]) if "values" in raw else None,
            references=raw.get("references"), required=bool(raw.get("required", False)),
            pattern=PATTERNS.get(pattern, pattern), unique=bool(raw.get("unique", False)),
            max=raw.get("max"),
        )
    except KeyError as exc:
        raise ConfigError(f"{where}: a column needs {exc.args[0]!r}") from None


def parse_layout(raw: dict, origin: str) -> Layout:
    """Build a :class:`Layout` from the YAML's parsed content.

    Raises:
        ConfigError: a required key is missing (naming the file and object).
    """
    objects: dict[str, ObjectLayout] = {}
    for obj_name, spec in raw["objects"].items():
        cols = [_column(c, f"{origin}: {obj_name}") for c in spec["columns"]]
        schema = ObjectSchema(
            name=obj_name,
            file=spec["file"],
            key=spec["key"],
            columns={c.name: c.type for c in cols},
            picklists={c.name: list(c.values) for c in cols if c.values is not None},
            references={c.name: c.references for c in cols if c.references},
            updated_column=spec.get("updated_column"),
        )
        objects[obj_name] = ObjectLayout(
            schema=schema,
            columns=tuple(c.name for c in cols),
            optional=bool(spec.get("optional", False)),
            formats={c.name: c.format for c in cols if c.format},
            spec=tuple(cols),
            parent=spec.get("parent"),
        )
    return Layout(
        version=str(raw["version"]),
        encoding=raw.get("encoding", "utf-8"),
        delimiter=raw.get("delimiter", ","),
        line_terminator=raw.get("line_terminator", "\r\n"),
        objects=objects,
        source=raw.get("source", ""),
        manifest=raw.get("manifest"),
    )


@functools.lru_cache(maxsize=None)
def load_layout(package: str, name: str = "layout.yaml") -> Layout:
    """Read one packaged layout file.

    Args:
        package: the source's package (``toolkit.sources.dent_o_soft``).
        name: the file inside it (``layout.yaml``, ``layouts/dos-6.yaml``).
    """
    text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    return parse_layout(yaml.safe_load(text), f"{package}/{name}")


@functools.lru_cache(maxsize=None)
def load_layouts(package: str) -> tuple[Layout, ...]:
    """Every layout version a source package ships: ``layout.yaml`` (the current one) first, then
    ``layouts/*.yaml`` in name order."""
    out = [load_layout(package)]
    folder = resources.files(package).joinpath("layouts")
    if folder.is_dir():
        for item in sorted(folder.iterdir(), key=lambda p: p.name):
            if item.name.endswith(".yaml"):
                out.append(load_layout(package, f"layouts/{item.name}"))
    return tuple(out)
