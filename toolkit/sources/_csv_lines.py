"""Line numbers of a CSV file whose quoted values hold line breaks, read without the structure scan.

Arrow parses such a file in one pass but says nothing of where each record starts. When every
quote sits where RFC 4180 allows one, the parser and a byte scan agree on the records, and each
record starts on line 2 + its index + the breaks inside the records before it: counted from the
parsed values, in just the columns whose bytes hold a break.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .._arrow_bytes import value_bytes
from ._csv_scan import BOM, QuickScan

__all__ = ["multiline_lines"]

_QUOTE, _LF, _CR = 0x22, 0x0A, 0x0D


def multiline_lines(path: Path, frame: pd.DataFrame, quick: QuickScan, delimiter: str,
                     chunk_size: int) -> np.ndarray | None:
    """Line numbers of a file whose quoted values hold line breaks, without the structure scan.

    Valid when every quote is where RFC 4180 allows one (opening a field, closing it, or one of
    a doubled pair inside it: then the parser and the byte scan see the same records) and the
    line breaks inside values, added to one line per record, account for every line of the
    file. Each record then starts on line 2 + its index + the breaks inside earlier records.
    None when either does not hold (the exact scan decides)."""
    if not _quotes_well_placed(path, quick, delimiter, chunk_size):
        return None
    extra = np.zeros(len(frame), dtype=np.int64)
    for i in range(frame.shape[1]):
        data = getattr(frame.iloc[:, i].array, "_pa_array", None)
        if data is None:
            return None
        if _holds_line_break(data):  # most columns hold none: one pass over their bytes says so
            extra += np.asarray(pc.fill_null(pc.count_substring(data, "\n"), 0).to_numpy(),
                                dtype=np.int64)
    if len(frame) + int(extra.sum()) != quick.records - 1:
        return None
    before = np.zeros(len(frame), dtype=np.int64)
    np.cumsum(extra[:-1], out=before[1:])
    return np.arange(2, len(frame) + 2, dtype=np.int64) + before


def _holds_line_break(data: pa.ChunkedArray) -> bool:
    """Whether any value of a string column holds a line feed, from its data buffers."""
    return any((value_bytes(chunk) == _LF).any() for chunk in data.chunks)


def _quotes_well_placed(path: Path, quick: QuickScan, delimiter: str, chunk_size: int) -> bool:
    """Every ``"`` opens a field (after a delimiter or a line break), closes one (before a
    delimiter, a line break or the end), or is half of a doubled ``""`` — by quote parity, the
    way the structure scan reads them.

    A quote next to another is one of a doubled pair, so each check is one look-up of the byte
    before an opening quote (or after a closing one) in a table that also admits ``"``."""
    delim = ord(delimiter)
    opening_ok = np.zeros(256, dtype=bool)
    opening_ok[[delim, _LF, _QUOTE]] = True
    closing_ok = np.zeros(256, dtype=bool)
    closing_ok[[delim, _LF, _CR, _QUOTE]] = True
    offset = 0
    opening = True  # whether the next quote opens a field: quotes alternate from the start
    prev_byte = _LF  # the file start counts as a line start
    with open(path, "rb") as fh:
        while True:
            fh.seek(offset)
            buf = fh.read(chunk_size + 1)
            if not buf:
                break
            body = min(chunk_size, len(buf))
            a = np.frombuffer(buf, np.uint8)
            q = np.flatnonzero(a[:body] == _QUOTE)
            if len(q):
                if offset == 0 and quick.bom and q[0] == len(BOM):
                    prev = a[q - 1]
                    prev[0] = _LF  # a quote right after the byte-order mark opens the first field
                else:
                    prev = a[q - 1] if q[0] > 0 else np.concatenate(([prev_byte], a[q[1:] - 1])).astype(np.uint8)
                # one byte past the chunk was read: the byte after its last quote is known; at the
                # end of the file there is none, and the end closes a field
                nxt = a[np.minimum(q + 1, len(a) - 1)]
                if q[-1] + 1 >= len(a):
                    nxt[-1] = _LF
                first_open = 0 if opening else 1
                if not (opening_ok[prev[first_open::2]].all() and closing_ok[nxt[1 - first_open::2]].all()):
                    return False
                opening = opening == (len(q) % 2 == 0)
            prev_byte = int(a[body - 1])
            offset += body
            if len(buf) <= chunk_size:
                break
    return True
