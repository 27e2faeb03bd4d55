"""Read a Dent-O-Soft export folder into a :class:`~toolkit.snapshot.Snapshot`.

Dent-O-Soft has no API and no published export format; practices hand over a folder of CSV files
written by its export utility (one per object, cp1252, CRLF). The layout we check against is the
declared one in ``layout.yaml`` (version ``dos-7``).

What the Snapshot holds:

* ``tables[object]``: every declared column as strings (``pd.NA`` where the cell is empty), in the
  declared column order, default RangeIndex. Nothing is coerced: the audit sees raw values.
* ``meta["line_numbers"][object]``: a ``pd.Series`` of int64 aligned with the table's index,
  giving the 1-based physical line each row starts on (header = line 1, multi-line notes counted),
  so a finding can say "patients.csv line 214". We keep it out of the table so the table has only
  the source's own columns, and out of ``df.attrs`` because pandas copies attrs on every
  operation.
* ``meta["encodings"][object]``: the encoding detected per file (``cp1252``, ``utf-8``,
  ``utf-8-sig``).
* ``meta["missing_optional"]``: optional files (clinical notes, documents) absent from the export.
* ``meta["formats"]``: declared strftime patterns per object and column.
* ``watermark``: the newest ``ModifiedDate`` across files, ISO 8601 (values that do not parse
  with the declared format are ignored here; the audit reports them).

``ground_truth.json``, ``crm_users.json``, the ``documents/`` folder and any other file are not
part of the export and are ignored (listed in ``meta["ignored_files"]``).
"""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd

from ...errors import SourceError
from ...snapshot import Snapshot
from .._csv import read_strict_csv
from ._layout import Layout, load_layout

__all__ = ["read_export"]

SOURCE_NAME = "dent-o-soft"


def _find_files(folder: Path) -> dict[str, Path]:
    """Folder listing keyed by lower-cased name: Windows exports vary the case of file names."""
    return {p.name.lower(): p for p in sorted(folder.iterdir()) if p.is_file()}


def read_export(folder: str | Path, *, layout: Layout | None = None) -> Snapshot:
    """Read every declared file of a Dent-O-Soft export folder.

    Args:
        folder: the export folder.
        layout: the declared layout (default: the packaged ``dos-7``).

    Returns:
        The Snapshot; see the module docstring for what ``meta`` holds.

    Raises:
        SourceError: the folder is missing, a required file is missing, empty, undecodable, or
            has a malformed record (each naming file, line and column).
        SchemaDriftError: a file's header misses a declared column or has an unknown one.
    """
    layout = layout or load_layout()
    folder = Path(folder)
    if not folder.is_dir():
        raise SourceError(f"export folder {str(folder)!r} does not exist or is not a folder "
                          "(check the workspace's source location)", file=str(folder))
    present = _find_files(folder)
    tag = f"layout {layout.version}"
    tables: dict[str, pd.DataFrame] = {}
    schema = {}
    lines: dict[str, pd.Series] = {}
    encodings: dict[str, str] = {}
    missing_optional: list[str] = []
    used: set[str] = set()
    for name, obj in layout.objects.items():
        path = present.get(obj.schema.file.lower())
        if path is None:
            if obj.optional:
                missing_optional.append(name)
                continue
            raise SourceError(f"required file {obj.schema.file!r} is missing from the export "
                              f"folder {str(folder)!r}", file=obj.schema.file)
        used.add(path.name.lower())
        table = read_strict_csv(path, expected_columns=obj.columns,
                                fallback_encoding=layout.encoding,
                                delimiter=layout.delimiter, display_name=obj.schema.file,
                                layout=tag)
        tables[name] = table.frame
        lines[name] = pd.Series(table.lines, index=table.frame.index, name="line")
        encodings[name] = table.encoding
        schema[name] = copy.deepcopy(obj.schema)

    per_object = {n: _watermark(tables[n], layout.objects[n].schema.updated_column,
                                layout.objects[n].formats) for n in tables}
    marks = [m for m in per_object.values() if m]
    return Snapshot(
        source=SOURCE_NAME,
        tables=tables,
        schema=schema,
        watermark=max(marks) if marks else None,
        location=str(folder.resolve()),
        meta={
            "layout_version": layout.version,
            "line_numbers": lines,
            "encodings": encodings,
            "missing_optional": missing_optional,
            "formats": {n: dict(layout.objects[n].formats) for n in tables},
            "watermarks": {n: m for n, m in per_object.items() if m},
            "ignored_files": sorted(p.name for k, p in present.items() if k not in used),
        },
    )


def _watermark(df: pd.DataFrame, column: str | None, formats: dict[str, str]) -> str | None:
    """Newest value of ``column`` as ISO 8601, or None (no such column, or nothing parses)."""
    if not column or column not in df.columns or df.empty:
        return None
    parsed = pd.to_datetime(df[column], format=formats.get(column), errors="coerce")
    newest = parsed.max()
    return None if pd.isna(newest) else newest.isoformat()
