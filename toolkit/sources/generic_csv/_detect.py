"""Finding out how an unknown export file is written: encoding, delimiter, header row, and the
date layout of each column.

Every guess is made from the file's own bytes and reported with what it was based on, because a
person has to be able to check it (``Snapshot.meta["detected"]``).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from pathlib import Path

import pandas as pd

from .._csv_scan import BOM, sniff_utf16

__all__ = ["detect_encoding", "detect_dialect", "date_layouts", "DATE_CANDIDATES"]

_DELIMITERS = (",", ";", "\t", "|")
#: date layouts tried on a column, most specific first; month-first before day-first (a US
#: export's 03/04/2024 is March 4th) unless a value only parses day-first
DATE_CANDIDATES = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S",
                   "%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%d/%m/%Y", "%d/%m/%Y %H:%M",
                   "%m/%d/%y", "%d.%m.%Y", "%m-%d-%Y", "%Y/%m/%d", "%d-%b-%Y", "%b %d, %Y")


def detect_encoding(path: Path, sample: int = 1 << 20) -> str:
    """``utf-16`` / ``utf-16-le`` / ``utf-16-be``, ``utf-8-sig``, ``utf-8`` or ``cp1252``.

    UTF-16 by its byte-order mark or by the zero bytes of ASCII-range text; UTF-8 with BOM by its
    mark; UTF-8 when the first megabyte decodes as UTF-8 (a cut multi-byte character at the end of
    the sample is allowed), or when its valid multi-byte characters outnumber its undecodable bytes
    three to one (a few damaged rows); otherwise cp1252, the Windows code page legacy exports use.
    """
    with open(path, "rb") as fh:
        head = fh.read(sample)
    utf16 = sniff_utf16(head)
    if utf16:
        return utf16
    if head.startswith(BOM):
        return "utf-8-sig"
    if head.isascii():
        return "utf-8"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    # UTF-8 text with a few damaged bytes stays UTF-8 (its damaged rows are set aside): read as
    # cp1252 every accented letter of the file would change. Legacy cp1252 text almost never
    # forms valid multi-byte UTF-8 sequences, so those decide.
    text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(head, final=False)
    damaged = text.count("\ufffd")
    letters = sum(1 for ch in text if ord(ch) > 0x7F) - damaged
    return "utf-8" if letters >= 3 * damaged and letters >= 8 else "cp1252"


def _text_head(path: Path, encoding: str, lines: int = 60) -> list[str]:
    out = []
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        for line in fh:
            out.append(line.rstrip("\r\n"))
            if len(out) >= lines:
                break
    return out


def detect_dialect(path: Path, encoding: str) -> tuple[str, int, str]:
    """(delimiter, header row, why) for a delimited text file.

    The delimiter is the candidate that splits the most sample lines into the same number (> 1)
    of fields; the header is the first line with that many fields whose cells are mostly text
    (report titles and "exported on" lines above it are skipped). The row is 0-based.
    """
    lines = [ln for ln in _text_head(path, encoding)]
    best, best_score = ",", (-1, 0)
    for d in _DELIMITERS:
        counts = Counter(len(next(csv.reader([ln], delimiter=d))) for ln in lines if ln.strip())
        if not counts:
            continue
        width, freq = counts.most_common(1)[0]
        score = (freq if width > 1 else 0, width)
        if score > best_score:
            best, best_score = d, score
    width = best_score[1]
    header = 0
    for i, ln in enumerate(lines):
        cells = next(csv.reader([ln], delimiter=best)) if ln.strip() else []
        if len(cells) == width and sum(_texty(c) for c in cells) >= max(1, 0.6 * width):
            header = i
            break
    name = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}[best]
    why = f"{name}: splits {best_score[0]} of {len([x for x in lines if x.strip()])} sample lines into {width} fields"
    return best, header, why


def _texty(cell: str) -> bool:
    c = cell.strip()
    return bool(c) and not c.replace(".", "").replace("-", "").replace("/", "").isdigit()


def date_layouts(values: pd.Series, min_share: float = 0.6) -> dict | None:
    """The layout most values of a column are written in, if it is a date column.

    Returns:
        ``{"format": strftime, "share": of present values, "other": count in other layouts}``
        when at least ``min_share`` of the present values parse with one layout, else None.
    """
    present = values.dropna().astype("string").str.strip()
    present = present[present != ""]
    if present.empty:
        return None
    sample = pd.Series(pd.unique(present.head(2000)))
    best, best_n = None, 0
    for fmt in DATE_CANDIDATES:
        n = int(pd.to_datetime(sample, format=fmt, errors="coerce").notna().sum())
        if n > best_n:
            best, best_n = fmt, n
    if best is None or best_n < min_share * len(sample):
        return None
    ok = pd.to_datetime(present, format=best, errors="coerce").notna()
    return {"format": best, "share": round(float(ok.mean()), 3), "other": int((~ok).sum())}


def read_head_as_csv(text: str, delimiter: str) -> list[list[str]]:
    """Parse a few lines of text (helper for tests and previews)."""
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))
