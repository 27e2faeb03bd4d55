"""Strict CSV reading shared by every file-export source.

Exports from practice software are read *as text* (no type guessing: the audit needs the raw
values), and anything structurally wrong is an error — or, when the caller asks to collect them,
a listed bad record — that names the file, the physical line and the column, because an analyst
has to open the file and look.

How it works (see :mod:`toolkit.sources._csv_scan` for the byte passes):

1. A cheap pass decides the encoding and whether every line may be exactly one record (balanced
   quotes, no blank lines). Most files are — confirmed when the parser finds as many records as
   the file has lines — and their line numbers are then 2, 3, 4, ….
   Files whose quoted values hold line breaks (clinical notes) are confirmed the same way: when
   every quote sits where RFC 4180 allows one (a vectorised check of the quote positions), the
   parser and the structure scan see the same records, and each record's line is 2 + its index +
   the line breaks inside earlier records' values — provided those account for every line.
2. Otherwise the numpy structure scan finds every record's first line and field count, and any
   unclosed quote or undecodable byte, exactly.
3. pyarrow's multi-threaded CSV parser reads the values as strings (empty -> ``<NA>``) into
   Arrow-backed pandas columns, and its row count is checked against the scan so the two can
   never silently disagree. When pyarrow refuses a file the cheap pass thought simple, the exact
   scan runs to say where and why.

UTF-16 files (Excel's "Unicode text" export) are transcoded to a temporary UTF-8 copy first;
their line numbers are unchanged.

Choices a user may notice:

* Strict RFC 4180: a ``"`` inside an *unquoted* field (``5" gap``) is reported as an unclosed
  quote rather than guessed at. Line endings may be CRLF or LF (not bare CR).
* Blank and whitespace-only lines are skipped, but line numbers still count them, so a reported
  line is the line an editor shows.
* Line numbers are 1-based with the header as line 1; a record spanning several lines is
  numbered by the line it starts on.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import SchemaDriftError, SourceError
from ._arrow_blocks import safe_block_size
from ._csv_damaged import blank_undecodable
from ._csv_scan import BOM, CHUNK, CsvScan, QuickScan, quick_scan, scan_csv, sniff_utf16
from ._csv_lines import multiline_lines
from ._transcode import utf8_stream

__all__ = ["CsvTable", "CsvScan", "read_strict_csv", "scan_csv", "check_header", "compare_header",
           "string_dtype", "arrow_to_pandas"]

_QUOTE = 0x22
#: bytes Arrow parses at a time: 4 MB measured faster than 16 MB on a 1.4 GB export (each block's
#: columns stay in the processor's caches while it is parsed and converted)
BLOCK = 4 << 20


def _use_lean_memory_pool() -> None:
    """Arrow's default pool (mimalloc) keeps about 0.3 GB more resident after reading a
    1.4 GB export than jemalloc or the system allocator do (measured: 3.21 vs 2.91 GB peak),
    and the audit's peak sits on top of that. Use jemalloc (else the system allocator) unless
    the user chose a pool with ``ARROW_DEFAULT_MEMORY_POOL``."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    for make in ("jemalloc_memory_pool", "system_memory_pool"):
        try:
            pa.set_memory_pool(getattr(pa, make)())
            return
        except (AttributeError, NotImplementedError, pa.ArrowNotImplementedError):
            continue


_use_lean_memory_pool()


def string_dtype() -> pd.StringDtype:
    """The dtype every cell is read as: Arrow-backed strings, ``pd.NA`` for missing."""
    return pd.StringDtype("pyarrow")


def arrow_to_pandas(table: pa.Table) -> pd.DataFrame:
    """An Arrow table of strings as a pandas frame of Arrow-backed strings (no copy)."""
    dtype = string_dtype()
    frame = table.to_pandas(types_mapper=lambda t: dtype if t in (pa.string(), pa.large_string())
                            else None, self_destruct=True, split_blocks=True)
    frame.index = pd.RangeIndex(len(frame))
    return frame


@dataclass
class CsvTable:
    """One file read strictly.

    Attributes:
        frame: the values, all strings, missing cells ``<NA>``, default RangeIndex.
        lines: the 1-based physical line each row starts on, aligned with ``frame``'s rows.
        header: the column names exactly as the file has them, in file order.
        encoding: the encoding the file was decoded with.
        bad_rows: records left out because their field count is wrong (only when the caller
            asked to collect them): ``{file, row, column, message}`` each.
    """

    frame: pd.DataFrame
    lines: np.ndarray
    header: list[str]
    encoding: str
    bad_rows: list[dict] = field(default_factory=list)


def column_list(items: Sequence[str], shown: int = 12) -> str:
    """Column names for a one-line message: the first ``shown``, then how many more."""
    items = list(items)
    text = ", ".join(map(repr, items[:shown]))
    return text + (f" and {len(items) - shown:,} more" if len(items) > shown else "")


def compare_header(header: Sequence[str], expected: Sequence[str]) -> dict | None:
    """How a file's header differs from the declared columns, or None when it does not.

    Returns:
        ``{"missing": [...], "extra": [...], "duplicated": [...], "renamed": {expected: found}}``;
        a missing and an unknown name count as a rename when they are close (rapidfuzz ratio
        >= 80 after case and punctuation folding).
    """
    header = list(header)
    # sets and counts, not list scans: a header of 100,000 names compares in linear time
    seen = Counter(header)
    have, want = set(header), set(expected)
    dupes = sorted(c for c, n in seen.items() if n > 1)
    missing = [c for c in expected if c not in have]
    extra = [c for c in header if c not in want]
    if not (dupes or missing or extra):
        return None
    renamed: dict[str, str] = {}
    if missing and extra:
        from rapidfuzz import fuzz, process, utils

        free = list(dict.fromkeys(extra))
        if len(missing) * len(free) > 1_000_000:  # fuzzy pairing of thousands against thousands: no renames
            return {"missing": missing, "extra": extra, "duplicated": dupes, "renamed": renamed}
        for m in missing:
            hit = process.extractOne(m, free, scorer=fuzz.ratio, processor=utils.default_process,
                                     score_cutoff=80)
            if hit:
                renamed[m] = hit[0]
                free.remove(hit[0])
    return {"missing": missing, "extra": extra, "duplicated": dupes, "renamed": renamed}


def check_header(header: Sequence[str], expected: Sequence[str], *, file: str,
                 layout: str = "the declared layout") -> None:
    """Compare a file's header with the declared columns.

    Raises:
        SchemaDriftError: a duplicated, missing or unknown column. The message lists them all and
            says "renamed?" for close pairs. The error carries ``missing``, ``extra``,
            ``renamed`` and ``duplicated`` attributes for code that wants to react.
    """
    drift = compare_header(header, expected)
    if drift is None:
        return
    missing, extra, dupes, renamed = (drift["missing"], drift["extra"], drift["duplicated"],
                                      drift["renamed"])
    parts = []
    if missing:
        parts.append("missing column(s) " + column_list(missing))
    if extra:
        parts.append("unknown column(s) " + column_list(extra))
    if dupes:
        parts.append("duplicated column(s) " + column_list(dupes))
    for m, e in renamed.items():
        parts.append(f"{e!r} renamed? (expected {m!r})")
    err = SchemaDriftError(f"header differs from {layout}: " + "; ".join(parts),
                           file=file, row=1, column=(missing or extra or dupes)[0])
    err.missing, err.extra, err.renamed, err.duplicated = missing, extra, renamed, dupes
    raise err


def read_strict_csv(path: str | Path, *, expected_columns: Sequence[str] | None = None,
                    fallback_encoding: str = "cp1252", delimiter: str = ",",
                    display_name: str | None = None, layout: str = "the declared layout",
                    chunk_size: int = CHUNK, bad_rows: str = "raise") -> CsvTable:
    """Read one CSV file as strings, strictly.

    Args:
        path: the file.
        expected_columns: the declared header; when given, the header must match it as a set (any
            order) and the frame's columns come back in this order.
        fallback_encoding: the legacy code page to use when the file is not UTF-8 or UTF-16.
        delimiter: one ASCII character.
        display_name: how errors name the file (default: its name).
        layout: how errors name the declared layout ("layout dos-7").
        chunk_size: bytes per scan chunk (tests make it tiny to exercise chunk boundaries).
        bad_rows: ``"raise"`` (a record with the wrong number of fields is an error) or
            ``"collect"`` (it is left out and listed in :attr:`CsvTable.bad_rows`).

    Returns:
        A :class:`CsvTable`.

    Raises:
        SourceError: empty file, undecodable or zero bytes, unclosed quote, wrong field count —
            each naming file, line and column.
        SchemaDriftError: header differs from ``expected_columns``.
    """
    path = Path(path)
    name = display_name or path.name
    if not path.is_file():
        raise SourceError("the file does not exist", file=name)
    with open(path, "rb") as fh:
        head = fh.read(4096)
    utf16 = sniff_utf16(head)
    if utf16:
        return _read_utf16(path, utf16, locals())
    if (zero := head.find(b"\x00")) >= 0:  # refuse at once, not after reading gigabytes
        raise SourceError(f"zero byte at offset {zero}: this is not a text export (a binary file, or "
                          "space reserved but never written — an interrupted copy?)", file=name,
                          row=head[:zero].count(b"\n") + 1)
    if b"\r" in head and b"\n" not in head.replace(b"\r\n", b""):
        cr = head.find(b"\r")
        if head[cr:cr + 2] != b"\r\n" and len(head) > cr + 1:
            raise SourceError("lines end with a bare carriage return (old Mac style), not CR LF or LF: save the "
                              "file again with Windows or Unix line endings", file=name, row=1)
    quick = quick_scan(path, fallback_encoding=fallback_encoding, chunk_size=chunk_size)
    if quick.size <= (len(BOM) if quick.bom else 0) or _all_space(path, quick):
        raise SourceError("the file is empty (no header row)", file=name, row=1)
    if quick.nul_at is not None:
        row = _line_of_offset(path, quick.nul_at)
        raise SourceError(f"zero byte at offset {quick.nul_at}: this is not a text export (a "
                          "binary file, or space reserved but never written — an interrupted "
                          "copy?)", file=name, row=row)
    if quick.simple:
        header = _header_from_bytes(head if b"\n" in head else _first_line(path), quick.bom,
                                    quick.encoding, delimiter, name)
        if expected_columns is not None:
            check_header(header, expected_columns, file=name, layout=layout)
        try:
            # pure ASCII reads the same in any ASCII-compatible code page: skip transcoding
            # simple means no undecodable byte (the quick scan decoded every non-ASCII chunk)
            frame = _arrow_read(path, header, "utf-8" if quick.ascii else quick.encoding, delimiter,
                                multiline=quick.quotes > 0, decoded=True)
        except pa.ArrowInvalid:
            frame = None  # the exact scan below says where and why
        if frame is not None:
            lines = None
            if len(frame) == quick.records - 1:
                lines = np.arange(2, quick.records + 1, dtype=np.int64)
            elif quick.quotes and len(frame) < quick.records - 1:
                lines = multiline_lines(path, frame, quick, delimiter, chunk_size)
            if lines is not None:
                if expected_columns is not None:
                    frame = frame[list(expected_columns)]
                return CsvTable(frame=frame, lines=lines, header=header, encoding=quick.encoding)
    return _read_scanned(path, name, expected_columns, fallback_encoding, delimiter, layout,
                         chunk_size, bad_rows)


def _read_scanned(path: Path, name: str, expected_columns, fallback_encoding: str, delimiter: str,
                  layout: str, chunk_size: int, bad_rows: str) -> CsvTable:
    """The exact path: numpy structure scan, then pyarrow for the values."""
    scan = scan_csv(path, fallback_encoding=fallback_encoding, delimiter=delimiter,
                    chunk_size=chunk_size)
    if scan.bad_byte_at is not None:
        pos = scan.bad_byte_at
        r = _record_at(scan, pos)
        if bad_rows == "collect" and r > 0:  # a record, not the header: set it aside, read the rest
            return _without_undecodable(path, name, scan, expected_columns, fallback_encoding, delimiter, layout,
                                        chunk_size)
        before = _read_span(path, int(scan.starts[r]), pos)
        col = _column_name(path, scan, delimiter, name, _field_index(before, delimiter), r)
        byte = _read_span(path, pos, pos + 1)
        raise SourceError(f"byte 0x{byte.hex()} at offset {pos} cannot be decoded as "
                          f"{scan.encoding} (is the file in another encoding?)", file=name,
                          row=int(scan.start_lines[r]) + before.count(b"\n"), column=col)
    if scan.unclosed_quote_at is not None:
        pos = scan.unclosed_quote_at
        r = _record_at(scan, pos)
        before = _read_span(path, int(scan.starts[r]), pos)
        col = _column_name(path, scan, delimiter, name, _field_index(before, delimiter), r)
        opened = int(scan.start_lines[r]) + before.count(b"\n")
        raise SourceError(f"a quote opened on line {opened} is never closed (the rest of the "
                          "file would be one field; a truncated file?)",
                          file=name, row=int(scan.start_lines[r]), column=col)
    if scan.blank[0]:
        raise SourceError("line 1 is blank; expected the header row", file=name, row=1)
    header = _parse_header(path, scan, delimiter, name)
    if expected_columns is not None:
        check_header(header, expected_columns, file=name, layout=layout)

    data = np.arange(1, len(scan.starts))
    blank = scan.blank[1:].copy()
    keep = np.ones(len(data), dtype=bool)
    width = len(header)
    collected: list[dict] = []
    for b in np.flatnonzero((scan.nfields[1:] != width) & ~blank):
        r = int(data[b])
        raw = _read_span(path, int(scan.starts[r]), int(scan.ends[r]))
        if raw.strip() == b"":  # whitespace-only lines are blank too
            blank[b] = True
            continue
        n = int(scan.nfields[r])
        if n > width:
            msg, col = (f"record has {n} fields but the header has {width} (an unquoted "
                        f"delimiter, or extra fields after the last column)"), header[-1]
        else:
            msg, col = (f"record has {n} fields but the header has {width}: "
                        f"columns from {header[n]!r} on are missing (a truncated record?)"), header[n]
        if bad_rows != "collect":
            raise SourceError(msg, file=name, row=int(scan.start_lines[r]), column=col)
        keep[b] = False
        # the fields the record does hold, by column (kept in memory only, never reported: they
        # may be a patient's), so that a record naming this one can say it was set aside
        fields = next(csv.reader(io.StringIO(raw.decode(scan.encoding, errors="replace")), delimiter=delimiter), [])
        collected.append({"file": name, "row": int(scan.start_lines[r]), "column": col,
                          "message": msg, "values": dict(zip(header, (f.strip() for f in fields)))})
    try:
        frame = _arrow_read(path, header, scan.encoding, delimiter, multiline=True,
                            skip_invalid=bool(collected) or bool(blank.any()),
                            decoded=True)  # an undecodable byte was raised above
    except pa.ArrowInvalid as exc:
        raise SourceError(f"cannot be parsed as CSV: {exc}", file=name) from None
    lines = scan.start_lines[1:][~blank & keep].astype(np.int64)
    if len(frame) != len(lines):  # belt and braces: the two passes must agree
        raise SourceError(f"parser found {len(frame)} records where the structure scan found "
                          f"{len(lines)}; the file is not valid CSV", file=name)
    if expected_columns is not None:
        frame = frame[list(expected_columns)]
    return CsvTable(frame=frame, lines=lines, header=header, encoding=scan.encoding,
                    bad_rows=collected)


def _without_undecodable(path: Path, name: str, scan: CsvScan, expected_columns, fallback_encoding: str,
                         delimiter: str, layout: str, chunk_size: int) -> CsvTable:
    """The file read with every record holding an undecodable byte set aside (see
    :func:`~toolkit.sources._csv_damaged.blank_undecodable`), listed in its ``bad_rows``."""
    def column_of(pos: int, r: int) -> tuple[int, str | None]:
        before = _read_span(path, int(scan.starts[r]), pos)
        return before.count(b"\n"), _column_name(path, scan, delimiter, name, _field_index(before, delimiter), r)

    tmp, collected = blank_undecodable(path, name, scan, column_of)
    try:
        table = _read_scanned(Path(tmp), name, expected_columns, fallback_encoding, delimiter, layout, chunk_size,
                              "collect")
    finally:
        os.unlink(tmp)
    table.bad_rows = sorted(table.bad_rows + collected, key=lambda b: b["row"])
    return table


def _arrow_read(path: Path, header: list[str], encoding: str, delimiter: str, *,
                multiline: bool, skip_invalid: bool = False, decoded: bool = False) -> pd.DataFrame:
    """Values of every record but the header, as strings; raises ``pa.ArrowInvalid``.

    ``decoded``: a byte pass has already found every byte decodable in ``encoding``, so Arrow
    need not check the text again (about a sixth of its parsing time)."""
    names = _unique_names(header)
    enc = "utf8" if encoding.replace("-", "").lower() in {"utf8", "utf8sig"} else encoding
    block = BLOCK
    if multiline:  # a block boundary inside a quoted CR LF would lose its LF (see _arrow_blocks)
        try:
            block = safe_block_size(path, BLOCK, None if enc == "utf8" else enc)
        except ValueError as exc:  # reported the way Arrow's own parse errors are
            raise pa.ArrowInvalid(str(exc)) from None
    read = pacsv.ReadOptions(column_names=names, skip_rows=1, encoding=enc, block_size=block)
    parse = pacsv.ParseOptions(delimiter=delimiter, quote_char='"', double_quote=True,
                               newlines_in_values=multiline, ignore_empty_lines=True,
                               invalid_row_handler=(lambda row: "skip") if skip_invalid else None)
    # large_string is what pandas' Arrow-backed strings hold: parsing straight into it spares a
    # cast of every column (a copy of its offsets) when the table becomes a frame
    convert = pacsv.ConvertOptions(column_types={n: pa.large_string() for n in names},
                                   strings_can_be_null=True, null_values=[""],
                                   quoted_strings_can_be_null=True, check_utf8=not decoded)
    # a single-byte code page is turned into UTF-8 here, block by block as Arrow reads (see
    # _transcode); any other is transcoded by pyarrow itself
    stream = utf8_stream(str(path), enc) if enc != "utf8" else None
    if stream is not None:
        read.encoding = "utf8"
    try:
        table = pacsv.read_csv(stream if stream is not None else str(path), read_options=read,
                               parse_options=parse, convert_options=convert)
    except UnicodeDecodeError as exc:  # the codec's own error, reported the way Arrow's are
        raise pa.ArrowInvalid(f"cannot decode as {encoding}: {exc.reason}") from None
    finally:
        if stream is not None:
            stream.close()
    frame = arrow_to_pandas(table)
    del table
    # hand the parser's scratch memory back now: a many-file export otherwise keeps each file's
    # peak reserved, and the audit that follows allocates outside Arrow's pool
    pa.default_memory_pool().release_unused()
    if names != header:
        frame.columns = header
    return frame


def _unique_names(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for h in header:
        seen[h] = seen.get(h, 0) + 1
        out.append(h if seen[h] == 1 else f"{h}\x00{seen[h]}")
    return out


def _read_utf16(path: Path, encoding: str, args: dict) -> CsvTable:
    """Transcode a UTF-16 file to a private temporary UTF-8 copy and read that."""
    name = args["display_name"] or path.name
    fd, tmp = tempfile.mkstemp(suffix=".csv", prefix="utf16-")
    line = 1
    try:
        dec = codecs.getincrementaldecoder(encoding)()
        with open(path, "rb") as src, os.fdopen(fd, "w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(args["chunk_size"]):
                try:
                    text = dec.decode(chunk)
                except UnicodeDecodeError as exc:
                    raise SourceError(f"cannot be decoded as {encoding}: {exc.reason}", file=name,
                                      row=line) from None
                line += text.count("\n")
                dst.write(text)
            try:
                dst.write(dec.decode(b"", final=True))
            except UnicodeDecodeError:
                raise SourceError(f"ends in the middle of a {encoding} character (a truncated "
                                  "file?)", file=name, row=line) from None
        table = read_strict_csv(tmp, expected_columns=args["expected_columns"],
                                fallback_encoding="utf-8", delimiter=args["delimiter"],
                                display_name=name, layout=args["layout"],
                                chunk_size=args["chunk_size"], bad_rows=args["bad_rows"])
    finally:
        os.unlink(tmp)
    table.encoding = "utf-16" if encoding == "utf-16" else encoding
    return table


def _all_space(path: Path, quick: QuickScan) -> bool:
    if quick.size > (1 << 16):
        return False
    return path.read_bytes().lstrip(BOM).strip() == b""


def _first_line(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.readline()


def _header_from_bytes(head: bytes, bom: bool, encoding: str, delimiter: str, name: str) -> list[str]:
    raw = head.split(b"\n", 1)[0]
    if bom:
        raw = raw[len(BOM):]
    try:
        text = raw.decode(encoding.replace("-sig", ""))
    except UnicodeDecodeError as exc:
        raise SourceError(f"header cannot be decoded as {encoding}: {exc.reason}",
                          file=name, row=1) from None
    try:
        return next(csv.reader(io.StringIO(text.rstrip("\r")), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise SourceError(f"the header row cannot be read ({exc})", file=name, row=1) from None


def _line_of_offset(path: Path, pos: int) -> int:
    line, done = 1, 0
    with open(path, "rb") as fh:
        while done < pos and (chunk := fh.read(min(CHUNK, pos - done))):
            line += chunk.count(b"\n")
            done += len(chunk)
    return line


def _record_at(scan: CsvScan, pos: int) -> int:
    return int(np.searchsorted(scan.starts, pos, side="right") - 1)


def _field_index(raw: bytes, delimiter: str) -> int:
    """How many delimiters outside quotes occur in ``raw`` (the record's bytes before a point)."""
    inside, count, d = False, 0, ord(delimiter)
    for b in raw:
        if b == _QUOTE:
            inside = not inside
        elif b == d and not inside:
            count += 1
    return count


def _read_span(path: Path, start: int, stop: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(start)
        return fh.read(max(stop - start, 0))


def _parse_header(path: Path, scan: CsvScan, delimiter: str, name: str) -> list[str]:
    raw = _read_span(path, int(scan.starts[0]), int(scan.ends[0]))
    return _header_from_bytes(raw, scan.bom, scan.encoding, delimiter, name)


def _column_name(path: Path, scan: CsvScan, delimiter: str, name: str, index: int,
                 record: int) -> str:
    if record == 0:
        return f"header field {index + 1}"
    try:
        header = _parse_header(path, scan, delimiter, name)
    except (SourceError, csv.Error):
        return f"field {index + 1}"
    return header[index] if index < len(header) else f"field {index + 1}"
