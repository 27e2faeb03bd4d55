"""Read a folder of export files from any system (CSV, TSV, TXT, XLSX) into a Snapshot.

For every file: the encoding (UTF-8, UTF-8 with BOM, cp1252, UTF-16), the delimiter, the header
row (report titles above it are skipped), each column's date layout, what the file holds and how
sure the guess is, and which columns play which role. Each workbook sheet is a table of its own.

Tables are named after the file (``contacts``) or file and sheet (``crm_export.deals``); their
columns are the file's own. ``meta["detected"][table]`` says what was detected and why,
``meta["suites"]`` which audit suite fits each table (its guessed kind), ``meta["roles"]`` the
columns the role suites check, ``meta["line_numbers"]`` the file line (or sheet row) of each row.
A table with no unique id column gets one, ``_row`` (its line number), so that every record can be
traced; that is the only column the reader adds.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import SourceError
from ...export_paths import UnsafePathError, listing
from ...shapes import ObjectSchema, Snapshot
from .._csv import read_strict_csv, string_dtype
from .._layout import date_regex
from ._detect import date_layouts, detect_dialect, detect_encoding
from ._guess import find_roles, guess_kind
from ._xlsx import read_workbook

__all__ = ["read_folder", "TABLE_SUFFIXES", "SOURCE_NAME"]

SOURCE_NAME = "generic-csv"
TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx")
_TYPES = {"email": "email", "phone": "phone", "mobile": "phone", "dob": "date", "amount": "money"}


def _snake(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", s.lower()).strip("_") or "table"


def _read_delimited(path: Path) -> tuple[pd.DataFrame, np.ndarray, dict, list[dict]]:
    encoding = detect_encoding(path)
    delimiter, header_row, why = detect_dialect(path, encoding)
    src, offset, tmp = path, 0, None
    if header_row > 0:  # a title block above the header: read from the header on
        fd, tmp = tempfile.mkstemp(suffix=".csv", prefix="generic-")
        with open(path, encoding=encoding, errors="strict", newline="") as fh, \
                os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            for _ in range(header_row):
                fh.readline()
            for line in fh:
                out.write(line)
        src, offset = Path(tmp), header_row
    try:
        # a row with too few or too many fields is set aside, in either mode: the rest of the file
        # is read (strict runs journal each as an error; the audit lists them)
        table = read_strict_csv(src, fallback_encoding="cp1252" if encoding == "cp1252" else "utf-8",
                                delimiter=delimiter, display_name=path.name, bad_rows="collect")
    finally:
        if tmp:
            os.unlink(tmp)
    for b in table.bad_rows:
        b["row"] += offset
    info = {"encoding": encoding, "delimiter": delimiter, "delimiter_why": why, "header_row": header_row + 1}
    return table.frame, table.lines + offset, info, table.bad_rows


def _describe(name: str, file: str, frame: pd.DataFrame, hint: str, info: dict):
    guess = guess_kind(list(frame.columns), hint)
    roles = find_roles(frame)
    formats = {}
    for col in frame.columns:
        found = date_layouts(frame[col]) if col != roles.get("key") else None
        if found:
            formats[col] = found
    for role in ("dob", "start"):
        col = roles.get(role)
        if col in formats:
            roles[f"regex:{role}"] = date_regex(formats[col]["format"])
    types = {c: "text" for c in frame.columns}
    for role, col in roles.items():
        if role in _TYPES:
            types[col] = _TYPES[role]
    for col, f in formats.items():
        types[col] = "date"
    if "key" not in roles:
        roles["key"] = "_row"
    types = {roles["key"]: "id", **types} if roles["key"] == "_row" else {**types, roles["key"]: "id"}
    schema = ObjectSchema(name=name, file=file, key=roles["key"], columns=types)
    detected = {"file": file, **info, "kind": guess["kind"], "confidence": guess["confidence"],
                "sure": guess["sure"], "scores": guess["scores"],
                "roles": {k: v for k, v in roles.items() if not k.startswith("regex:")},
                "date_formats": formats}
    return schema, detected, roles, {c: f["format"] for c, f in formats.items()}


def read_folder(folder: str | Path, *, mode: str = "strict") -> Snapshot:
    """Read every table file in ``folder``; see the module docstring.

    Args:
        folder: the export folder.
        mode: ``strict`` (an unreadable file or record raises) or ``report`` (it is recorded in
            ``meta["read_errors"]`` and the audit goes on).

    Raises:
        SourceError: (strict) the folder is missing or has no table files, or a file cannot be
            read (naming file, row, column).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SourceError(f"export folder {str(folder)!r} does not exist or is not a folder", file=str(folder))
    present, refused = listing(folder)
    files = [present[k] for k in sorted(present)]
    tables, schema, lines, detected, suites, roles_of, formats = {}, {}, {}, {}, {}, {}, {}
    errors: list[dict] = []
    quarantined: list[dict] = []
    for name, why in sorted(refused.items()):
        if Path(name).suffix.lower() not in TABLE_SUFFIXES:
            continue
        if mode != "report":
            raise UnsafePathError(why, file=name)
        errors.append({"object": _snake(Path(name).stem), "file": name, "row": None, "column": None,
                       "message": why + " — nothing was read from this file"})
    ignored = []
    for path in files:
        if path.suffix.lower() not in TABLE_SUFFIXES:
            ignored.append(path.name)
            continue
        try:
            if path.suffix.lower() == ".xlsx":
                parts = [(f"{_snake(path.stem)}.{_snake(s['sheet'])}", f"{path.name}[{s['sheet']}]", s["frame"],
                          s["lines"], f"{path.stem} {s['sheet']}",
                          {"encoding": "xlsx", "delimiter": None, "sheet": s["sheet"], "header_row": s["header_row"]},
                          []) for s in read_workbook(path)]
            else:
                frame, ln, info, bad = _read_delimited(path)
                parts = [(_snake(path.stem), path.name, frame, ln, path.stem, info, bad)]
        except (SourceError, UnicodeDecodeError) as exc:
            if mode != "report":
                if isinstance(exc, UnicodeDecodeError):
                    raise SourceError(f"cannot be decoded ({exc.reason})", file=path.name) from None
                raise
            errors.append({"object": _snake(path.stem), "file": path.name, "row": getattr(exc, "row", None),
                           "column": getattr(exc, "column", None), "message": f"{exc} — nothing was read from this file"})
            continue
        for name, file, frame, ln, hint, info, bad in parts:
            while name in tables:
                name += "_2"
            sch, det, roles, fmts = _describe(name, file, frame, hint, info)
            if sch.key == "_row":
                frame = frame.copy()
                # a row is known by its table and line: two tables keyed by line both have a "3",
                # and one CRM object (and its Source ID field) may take rows of both
                frame.insert(0, "_row", pd.array([f"{name}:{x}" for x in ln], dtype=string_dtype()))
            tables[name], schema[name], detected[name] = frame, sch, det
            lines[name] = pd.Series(ln, index=frame.index, name="line")
            suites[name], roles_of[name], formats[name] = det["kind"], roles, fmts
            errors += [{"object": name, **{k: v for k, v in b.items() if k != "values"},
                        "message": b["message"] + " — record left out of the table"} for b in bad]
            # the values a set-aside row holds stay in memory: a record naming it says so
            quarantined += [{"object": name, "file": file, "row": b["row"], "message": b["message"],
                             "values": b.get("values") or {}} for b in bad]
    if not tables and mode != "report":
        raise SourceError(f"no CSV, TSV, TXT or XLSX files in {str(folder)!r}", file=str(folder))
    meta = {"line_numbers": lines, "detected": detected, "suites": suites, "roles": roles_of, "formats": formats,
            "encodings": {n: d["encoding"] for n, d in detected.items()}, "ignored_files": ignored,
            "automations": [], "layout_version": None, "quarantined": quarantined}
    if mode == "report":
        meta["drift"], meta["read_errors"] = {}, errors
    return Snapshot(source=SOURCE_NAME, tables=tables, schema=schema, location=str(folder.resolve()), meta=meta)
