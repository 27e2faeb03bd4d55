"""Cells the toolkit writes to CSV and XLSX never start a formula.

A patient's name, a column header or a vendor's message is text from outside; opened in a
spreadsheet, text that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return can run
as a formula (CSV injection). Every CSV and XLSX the toolkit writes goes through here:

* CSV: such a cell is written with a leading apostrophe (``'=1+2``), as OWASP's guidance on CSV
  injection recommends; :func:`restore` takes it off again when the toolkit reads its own sheet.
* XLSX: such a cell is stored as a text cell, so the workbook shows ``=1+2`` as written and never
  evaluates it; nothing needs undoing on read.

Files are written readable by their owner only: they hold patient data.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pandas as pd

__all__ = ["TRIGGERS", "neutralise", "restore", "write_csv", "write_xlsx"]

#: first characters a spreadsheet may take as the start of a formula
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """``value`` made safe for a CSV cell: text starting with a trigger gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(TRIGGERS):
        return "'" + value
    return value


def restore(value):
    """Undo :func:`neutralise` on a cell read back from a sheet the toolkit wrote."""
    if isinstance(value, str) and len(value) > 1 and value[0] == "'" and value[1:].startswith(TRIGGERS):
        return value[1:]
    return value


def _safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    out.columns = [neutralise(str(c)) for c in out.columns]
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise)
    return out


def _missing(v) -> bool:
    return not isinstance(v, (list, dict, tuple)) and pd.isna(v)


def write_csv(df: pd.DataFrame, path: str | Path, **kw) -> Path:
    """Write ``df`` as CSV (owner-only), formula triggers neutralised in headers and cells."""
    path = Path(path)
    safe = _safe_frame(df)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        # with CRLF lines, a cell holding a bare CR or LF is quoted (pandas' writer leaves a CR bare)
        out = csv.writer(fh, lineterminator="\r\n", **kw)
        out.writerow(list(safe.columns))
        out.writerows([None if _missing(v) else v for v in row] for row in safe.itertuples(index=False))
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_TRUNC
    return path


def write_xlsx(sheets: dict[str, pd.DataFrame], path: str | Path, widths: dict[str, list[int]] | None = None) -> Path:
    """Write ``sheets`` (name -> frame) as one workbook (owner-only); text is never a formula."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import TYPE_STRING

    path = Path(path)
    book = Workbook()
    book.remove(book.active)
    for name, df in sheets.items():
        sheet = book.create_sheet(title=name)
        sheet.append([str(c) for c in df.columns])
        for row in df.itertuples(index=False):
            sheet.append([None if (not isinstance(v, (list, dict)) and pd.isna(v)) else v for v in row])
        for row in sheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.data_type != TYPE_STRING:
                    cell.data_type = TYPE_STRING  # "=HYPERLINK(...)" stays text, never a formula
        for col, width in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", (widths or {}).get(name, [])):
            sheet.column_dimensions[col].width = width
        sheet.freeze_panes = "A2"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    book.save(path)
    os.chmod(path, 0o600)
    return path
