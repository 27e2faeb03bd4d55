"""Reading every sheet of an XLSX workbook as text, with Excel's own row numbers.

Cells are read with openpyxl in read-only mode (rows stream; the workbook is never held whole).
Values become the text a person sees: whole numbers without ``.0``, dates as ISO 8601
(``2024-03-05``, or ``2024-03-05 14:30:00`` with a time), booleans as ``TRUE``/``FALSE``;
empty cells are ``<NA>``. The header is the first of the first 20 rows whose cells are mostly
text; rows above it (titles) and fully empty rows are skipped but keep their numbers.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import SourceError
from .._csv import string_dtype

__all__ = ["read_workbook"]


def _text(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d") if v.time() == dt.time() else v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    s = str(v)
    return s if s.strip() else None


def read_workbook(path: Path) -> list[dict]:
    """Every non-empty sheet as ``{sheet, frame, lines, header_row}`` (``header_row`` 1-based).

    Raises:
        SourceError: the file is not a readable XLSX workbook (naming the file).
    """
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != b"PK\x03\x04":  # every XLSX is a zip archive
        what = "an old binary .xls workbook" if magic == b"\xd0\xcf\x11\xe0" else (
            "text (a CSV file?)" if magic and all(32 <= b < 127 or b in (9, 10, 13) for b in magic) else "not a workbook")
        raise SourceError(f"named .xlsx but its content is {what}: save it as .xlsx from the spreadsheet, or give "
                          "it the name its content has (.csv)", file=path.name, row=1)
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise SourceError(f"not a readable XLSX workbook ({exc})", file=path.name) from None
    out = []
    try:
        for ws in wb.worksheets:
            rows = [[_text(v) for v in r] for r in ws.iter_rows(values_only=True)]
            header_at = None
            for i, r in enumerate(rows[:20]):
                cells = [c for c in r if c is not None]
                if len(cells) >= 2 and sum(not c.replace(".", "").replace("-", "").isdigit() for c in cells) >= 0.6 * len(cells):
                    header_at = i
                    break
            if header_at is None:
                continue
            header = [c if c is not None else f"Column {j + 1}" for j, c in enumerate(rows[header_at])]
            while header and header[-1].startswith("Column ") and all(
                    len(r) < len(header) or r[len(header) - 1] is None for r in rows[header_at + 1:]):
                header.pop()
            body, lines = [], []
            for i, r in enumerate(rows[header_at + 1:], start=header_at + 2):
                r = (r + [None] * len(header))[:len(header)]
                if all(c is None for c in r):
                    continue
                body.append(r)
                lines.append(i)
            frame = pd.DataFrame(body, columns=header, dtype="object").astype(string_dtype()) if body else \
                pd.DataFrame({h: pd.Series([], dtype=string_dtype()) for h in header})
            out.append({"sheet": ws.title, "frame": frame, "lines": np.asarray(lines, dtype=np.int64),
                        "header_row": header_at + 1})
    finally:
        wb.close()
    return out
