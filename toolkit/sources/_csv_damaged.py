"""Records with a damaged byte: found, named and blanked, so that the rest of their file reads.

A byte the file's encoding cannot decode (one row saved in another code page, a cut multi-byte
character) stops a strict read. Where the caller collects bad rows instead, every record holding
such a byte is listed with its line, column and byte, and blanked in a private copy of the file:
its line breaks are kept, so every other record keeps its line number.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import SourceError
from ._csv_scan import CsvScan

__all__ = ["MAX_UNDECODABLE_RECORDS", "blank_undecodable"]

#: undecodable records a file may have before it is taken for one in another encoding
MAX_UNDECODABLE_RECORDS = 1000


def blank_undecodable(path: Path, name: str, scan: CsvScan,
                      column_of: Callable[[int, int], tuple[int, str | None]]) -> tuple[str, list[dict]]:
    """A copy of ``path`` with its undecodable records blanked, and those records listed.

    Args:
        path: the file.
        name: how errors name the file.
        scan: its structure scan (record starts, ends and line numbers; its encoding).
        column_of: (byte offset, record) -> (line breaks before it inside the record, column name).

    Returns:
        (path of the private copy, ``{file, row, column, message}`` per record set aside); the
        caller deletes the copy.

    Raises:
        SourceError: the header cannot be decoded, or more than :data:`MAX_UNDECODABLE_RECORDS`
            records cannot (the file is in another encoding, not a few damaged rows).
    """
    data = bytearray(path.read_bytes())
    bad: dict[int, tuple[int, bytes]] = {}
    at = 0
    while True:
        try:
            bytes(data[at:]).decode(scan.encoding)
            break
        except UnicodeDecodeError as exc:
            pos = at + exc.start
            r = int(np.searchsorted(scan.starts, pos, side="right") - 1)
            if r == 0:
                raise SourceError(f"header cannot be decoded as {scan.encoding} (byte 0x{data[pos]:02x} at offset "
                                  f"{pos})", file=name, row=1) from None
            bad.setdefault(r, (pos, bytes(data[pos:pos + 1])))
            if len(bad) > MAX_UNDECODABLE_RECORDS:
                raise SourceError(f"more than {MAX_UNDECODABLE_RECORDS} records cannot be decoded as {scan.encoding}: "
                                  "the file is in another encoding", file=name,
                                  row=int(scan.start_lines[min(bad)])) from None
            at = int(scan.ends[r]) if int(scan.ends[r]) > pos else at + exc.end
    collected = []
    for r, (pos, byte) in sorted(bad.items()):
        breaks, col = column_of(pos, r)
        collected.append({"file": name, "row": int(scan.start_lines[r]) + breaks, "column": col,
                          "message": f"byte 0x{byte.hex()} cannot be decoded as {scan.encoding}: the record is damaged "
                                     "or in another encoding"})
        start, stop = int(scan.starts[r]), int(scan.ends[r])
        data[start:stop] = b"\n" * bytes(data[start:stop]).count(b"\n")
    fd, tmp = tempfile.mkstemp(suffix=".csv", prefix="decodable-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return tmp, collected
