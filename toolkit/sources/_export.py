"""Reading a folder of export files against its declared layout: what every file source shares.

``read_export(folder, source=..., layouts=...)`` picks the layout version the export was written
in, reads each declared file strictly (:func:`~toolkit.sources._csv.read_strict_csv`) and returns
a :class:`~toolkit.shapes.Snapshot` whose ``meta`` holds:

* ``layout_version``: the version read against, and ``layout_choice``: how it was chosen
  (``manifest``, ``only``, or ``best header match`` with each version's score).
* ``line_numbers[object]``: a ``pd.Series`` of int64 aligned with the table, the 1-based physical
  line each row starts on (header = line 1).
* ``encodings[object]``, ``formats[object]`` (declared strftime patterns per column),
  ``missing_optional`` (optional files absent), ``watermarks`` / ``watermark`` (newest
  modification time, ISO 8601), ``ignored_files`` (anything in the folder that is not a declared
  file or a definitions file), ``automations`` (workflow and template definitions, when the
  source passes a reader for them).
* ``drift[object]`` and ``read_errors``: in ``mode="report"`` only (see below).

Two modes:

* ``strict`` (migrating): any drift or unreadable file raises a one-line error naming file, row,
  column and the fix.
* ``report`` (auditing): a drifted file is read anyway, under its declared names
  (:func:`~toolkit.sources._drift.conform`), and its drift is recorded; a file that cannot be
  read at all becomes an empty table and a ``read_errors`` entry; a record with the wrong number
  of fields is left out and listed. Nothing stops the audit, and nothing is dropped unreported.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import SchemaDriftError, SourceError
from .._fixed_width import FIELD_WIDTH, ORDER, fixed_width, shape_and_fields
from ..export_paths import UnsafePathError, listing
from ..shapes import Snapshot
from ._csv import compare_header, read_strict_csv, string_dtype
from ._csv_scan import BOM, sniff_utf16
from ._drift import conform, drift_entry, drift_error
from ._layout import Layout

__all__ = ["read_export", "choose_layout", "newest", "find_files"]

Definitions = Callable[[dict[str, Path], Layout], tuple[list[dict], list[str]]]


def find_files(folder: Path) -> dict[str, Path]:
    """Folder listing keyed by lower-cased name: Windows exports vary the case of file names.

    Only regular files inside the folder are listed; a link that leaves it, or a device, is
    left out (:func:`toolkit.export_paths.listing` says why; :func:`read_export` reports it).
    """
    return listing(folder)[0]


def _header(path: Path, layout: Layout) -> list[str] | None:
    """The first line's names, decoded leniently; only for choosing a version."""
    import csv
    import io

    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    enc = sniff_utf16(head)
    if enc:
        text = head.decode(enc, errors="ignore")
    else:
        text = head[len(BOM):].decode("utf-8") if head.startswith(BOM) else None
        if text is None:
            try:
                text = head.decode("utf-8")
            except UnicodeDecodeError:
                text = head.decode(layout.encoding, errors="replace")
    line = text.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    if not line.strip():
        return None
    try:
        return next(csv.reader(io.StringIO(line), delimiter=layout.delimiter))
    except csv.Error:
        return None


def choose_layout(present: dict[str, Path], layouts: Sequence[Layout]) -> tuple[Layout, dict]:
    """The layout version an export was written in.

    A layout that declares a manifest (``{file, field}``) is chosen when the manifest names its
    version; otherwise each version is scored by how many declared columns the files' headers
    miss or add (fewest wins; the current version wins ties).

    Returns:
        (layout, how it was chosen).
    """
    if len(layouts) == 1:
        return layouts[0], {"by": "only"}
    for lay in layouts:
        m = lay.manifest
        if m and (p := present.get(m["file"].lower())) is not None:
            try:
                version = str(json.loads(p.read_text(encoding="utf-8-sig")).get(m["field"]))
            except (ValueError, OSError):
                continue
            for cand in layouts:
                if cand.version == version:
                    return cand, {"by": "manifest", "file": p.name}
    scores: dict[str, int] = {}
    for lay in layouts:
        score = 0
        for obj in lay.objects.values():
            path = present.get(obj.schema.file.lower())
            if path is None:
                score += 0 if obj.optional else len(obj.columns)
                continue
            header = _header(path, lay)
            if header is None:
                continue
            drift = compare_header(header, obj.columns)
            if drift:
                score += len(drift["missing"]) + len(drift["extra"])
        scores[lay.version] = score
    best = min(layouts, key=lambda lay: scores[lay.version])  # min keeps the first on ties
    return best, {"by": "best header match", "scores": scores}


def read_export(folder: str | Path, *, source: str, layouts: Sequence[Layout], mode: str = "strict",
                definitions: Definitions | None = None) -> Snapshot:
    """Read every declared file of an export folder; see the module docstring.

    Args:
        folder: the export folder.
        source: the registered source name, for the Snapshot.
        layouts: the versions the source knows, current first.
        mode: ``strict`` or ``report``.
        definitions: reads the source's workflow/template definition files; gets the folder
            listing and the layout, returns (automations, file names it used).

    Raises:
        SourceError: (strict) the folder or a required file is missing, or a file cannot be read.
        SchemaDriftError: (strict) a header differs from the layout; the message gives the fix.
    """
    if mode not in {"strict", "report"}:
        raise ValueError(f"mode must be 'strict' or 'report', not {mode!r}")
    folder = Path(folder)
    if not folder.is_dir():
        raise SourceError(f"export folder {str(folder)!r} does not exist or is not a folder "
                          "(check the workspace's source location)", file=str(folder))
    present, refused = listing(folder)
    layout, choice = choose_layout(present, layouts)
    report = mode == "report"
    tables: dict[str, pd.DataFrame] = {}
    schema, lines, encodings = {}, {}, {}
    missing_optional: list[str] = []
    drift: dict[str, dict] = {}
    errors: list[dict] = []
    used: set[str] = set()

    def read_one(name: str, obj, path: Path):
        """(table, frame conformed to the layout, drift entry or None, watermark) of one file."""
        file = obj.schema.file
        table = read_strict_csv(path, expected_columns=None, fallback_encoding=layout.encoding,
                                delimiter=layout.delimiter, display_name=file,
                                layout=f"layout {layout.version}",
                                bad_rows="collect" if report else "raise")
        found = compare_header(table.header, obj.columns)
        entry = drift_entry(name, file, layout.version, found) if found else None
        if entry is not None and not report:
            raise drift_error(entry)
        frame = conform(table.frame, obj.columns, entry) if entry else table.frame[list(obj.columns)]
        return table, frame, entry, newest(frame, obj.schema.updated_column, obj.formats)

    marks_of: dict[str, object] = {}
    # Files are read two at a time: each file's own passes (encoding scan, transcoding, line
    # numbers, watermark) are single-threaded Python and numpy, and overlap another file's
    # multi-threaded parse. Results are taken in the layout's order, so errors and the snapshot
    # are what reading one file after another gives.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="read") as pool:
        jobs = {}
        for name, obj in layout.objects.items():
            path = present.get(obj.schema.file.lower())
            if path is not None:
                jobs[name] = pool.submit(read_one, name, obj, path)
        try:
            for name, obj in layout.objects.items():
                file = obj.schema.file
                path = present.get(file.lower())
                if path is None and file.lower() in refused:
                    if not report:
                        raise UnsafePathError(refused[file.lower()], file=file)
                    errors.append({"object": name, "file": file, "row": None, "column": None,
                                   "message": refused[file.lower()] + " — nothing was read from this file"})
                    _empty(name, obj, tables, lines, schema)
                    continue
                if path is None:
                    if obj.optional:
                        missing_optional.append(name)
                        continue
                    msg = f"required file {file!r} is missing from the export folder {str(folder)!r}"
                    if not report:
                        raise SourceError(msg, file=file)
                    errors.append({"object": name, "file": file, "row": None, "column": None,
                                   "message": msg})
                    _empty(name, obj, tables, lines, schema)
                    continue
                used.add(path.name.lower())
                try:
                    table, frame, entry, marks_of[name] = jobs.pop(name).result()
                except SchemaDriftError:
                    raise
                except SourceError as exc:
                    if not report:
                        raise
                    errors.append({"object": name, "file": file, "row": exc.row, "column": exc.column,
                                   "message": str(exc) + " — nothing was read from this file"})
                    _empty(name, obj, tables, lines, schema)
                    continue
                if entry is not None:
                    drift[name] = entry
                for bad in table.bad_rows:
                    errors.append({"object": name, **{k: v for k, v in bad.items() if k != "values"},
                                   "message": bad["message"] + " — record left out of the table"})
                tables[name] = frame
                lines[name] = pd.Series(table.lines, index=frame.index, name="line")
                encodings[name] = table.encoding
                schema[name] = copy.deepcopy(obj.schema)
                del table
        finally:
            for job in jobs.values():  # a file not needed after an error is not read
                job.cancel()

    automations, def_files = [], []
    if definitions is not None:
        try:
            automations, def_files = definitions(present, layout)
        except SourceError as exc:
            if not report:
                raise
            errors.append({"object": "automations", "file": exc.file, "row": exc.row,
                           "column": exc.column, "message": str(exc)})
    used.update(f.lower() for f in def_files)
    per_object = {n: marks_of.get(n) for n in tables}
    marks = [m for m in per_object.values() if m]
    meta = {
        "layout_version": layout.version,
        "layout_choice": choice,
        "line_numbers": lines,
        "encodings": encodings,
        "missing_optional": missing_optional,
        "formats": {n: dict(layout.objects[n].formats) for n in tables},
        "watermarks": {n: m for n, m in per_object.items() if m},
        "ignored_files": sorted(p.name for k, p in present.items() if k not in used),
        "refused_files": refused,
        "automations": automations,
        "definition_files": sorted(def_files),
    }
    if report:
        meta["drift"], meta["read_errors"] = drift, errors
    return Snapshot(source=source, tables=tables, schema=schema,
                    watermark=max(marks) if marks else None,
                    location=str(folder.resolve()), meta=meta)


def _empty(name, obj, tables, lines, schema) -> None:
    tables[name] = pd.DataFrame({c: pd.Series([], dtype=string_dtype()) for c in obj.columns})
    lines[name] = pd.Series([], dtype="int64", name="line")
    schema[name] = copy.deepcopy(obj.schema)


# --- the watermark: newest modification time, without parsing a million timestamps ------------


def newest(df: pd.DataFrame, column: str | None, formats: dict[str, str]) -> str | None:
    """Newest value of ``column`` as ISO 8601, or None (no such column, or nothing parses).

    Values not in the declared format are ignored here (the audit reports them). For fixed-width
    formats the newest value is found by reading the digits, year first, into a sortable key
    straight from the Arrow bytes (see :mod:`toolkit._fixed_width`); only that one value is
    parsed.
    """
    if not column or column not in df.columns or df.empty:
        return None
    fmt = formats.get(column)
    plan = fixed_width(fmt) if fmt else None
    if plan is None:
        parsed = pd.to_datetime(df[column], format=fmt, errors="coerce")
        top = parsed.max()
        return None if pd.isna(top) else top.isoformat()
    values = df[column].astype(string_dtype()).array
    # the column's own Arrow data: pa.array() on the pandas array converts value by value (~1 µs a row)
    arr = values.__arrow_array__() if hasattr(values, "__arrow_array__") else pa.array(values)
    shape, fields = shape_and_fields(arr, plan)
    good = np.flatnonzero(shape)
    if len(good) == 0:
        return None
    key = np.zeros(len(good), dtype=np.int64)  # at most 14 digits, year first: sorts by time
    for d in ORDER:
        if d in fields:
            key *= 10 ** FIELD_WIDTH[d]
            key += fields[d]
    value = arr[int(good[int(np.argmax(key))])].as_py()  # the first of the greatest, as max() keeps
    best = pd.to_datetime(value, format=fmt, errors="coerce")
    return None if pd.isna(best) else best.isoformat()
