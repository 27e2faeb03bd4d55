"""The byte-level structure passes behind strict CSV reading.

Two passes with the same contract, so that a clean export pays only for the cheap one:

* :func:`quick_scan` reads the bytes once with C-speed checks (numpy counts, ``bytes.find`` and
  ``isascii``, an incremental UTF-8 decoder). For a file with balanced ``"`` and no blank line
  whose parse yields one record per line, line numbers are simply 2, 3, 4, …; that is most files
  of most exports.
* :func:`scan_csv` (numpy) handles everything else. RFC 4180 quoting means a byte is inside a
  quoted field exactly when an odd number of ``"`` precede it (a doubled ``""`` toggles twice),
  so cumulative sums give, for every record, where it starts, on which physical line (multi-line
  quoted notes included), and how many fields it has. The reader falls back to it for quoted
  files and to locate any structural error exactly.

Both decide the encoding: UTF-16 (by byte-order mark, or by the zero bytes of ASCII text written
as UTF-16 without one), UTF-8 with or without BOM, else the declared legacy code page; and both
find undecodable bytes. A file with zero bytes that is not UTF-16 (a binary file, or a
pre-allocated file that was never filled) is reported as such.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["CsvScan", "QuickScan", "scan_csv", "quick_scan", "sniff_utf16", "BOM", "CHUNK"]

BOM = codecs.BOM_UTF8
_BOM = BOM
_QUOTE, _LF, _CR = 0x22, 0x0A, 0x0D
# Bytes that cp1252 leaves undefined: the only way a cp1252 file can be "undecodable".
_UNDEFINED_BYTES = {"cp1252": (0x81, 0x8D, 0x8F, 0x90, 0x9D)}
CHUNK = 8 << 20  # 8 MiB keeps the int32 cumulative sums per chunk around 100 MB in total
_CHUNK = CHUNK


def sniff_utf16(head: bytes) -> str | None:
    """``utf-16`` for a file that starts with a UTF-16 byte-order mark, ``utf-16-le``/``-be`` for
    ASCII-range text written as UTF-16 without one (every other byte zero), else None."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:4096]
    if len(sample) >= 4 and sample.count(0) * 3 >= len(sample):
        half = len(sample) // 2
        odd, even = sample[1::2].count(0), sample[0::2].count(0)
        # text: one byte of each pair zero, the other not (all zeros is no text at all)
        if odd >= 0.9 * half and even <= 0.1 * half:
            return "utf-16-le"
        if even >= 0.9 * half and odd <= 0.1 * half:
            return "utf-16-be"
    return None


@dataclass
class QuickScan:
    """What the cheap pass learnt about one file.

    Attributes:
        size: bytes.
        bom: starts with a UTF-8 byte-order mark.
        quotes: how many ``"`` bytes the file has.
        newlines: how many ``\\n`` bytes.
        ends_with_newline: the last byte is ``\\n``.
        blank_line: the first line is empty (blank lines further down are left to the reader,
            which sees them as a record count short of the line count).
        nul_at: offset of the first zero byte, if any.
        encoding: the encoding decided on.
        bad_byte_at: offset of the first byte that encoding cannot decode, if any.
        ascii: every byte is ASCII (so any ASCII-compatible encoding reads it the same).
    """

    size: int
    bom: bool
    quotes: int
    newlines: int
    ends_with_newline: bool
    blank_line: bool
    nul_at: int | None
    encoding: str
    bad_byte_at: int | None
    ascii: bool = False

    @property
    def simple(self) -> bool:
        """Every line may be exactly one record: balanced quotes, no blank first line, nothing
        undecodable (the reader confirms it by counting the records the parser finds)."""
        return (self.quotes % 2 == 0 and not self.blank_line and self.nul_at is None
                and self.bad_byte_at is None)

    @property
    def records(self) -> int:
        """Lines with content, header included (meaningful when :attr:`simple`)."""
        return self.newlines + (0 if self.ends_with_newline or self.size == 0 else 1)


def quick_scan(path: Path, *, fallback_encoding: str = "cp1252", chunk_size: int = CHUNK) -> QuickScan:
    """One pass of C-speed byte checks; see the module docstring. Raises nothing itself."""
    size = quotes = newlines = 0
    nul_at = fallback_bad = utf8_bad = None
    non_ascii = utf8_multibyte = False
    utf8_ok = True
    prev = b""
    dec = codecs.getincrementaldecoder("utf-8")()
    undefined = bytes(_UNDEFINED_BYTES.get(codecs.lookup(fallback_encoding).name, ()))
    with open(path, "rb") as fh:
        start = fh.read(len(BOM) + 2)
        fh.seek(0)
        # Only a blank first line is looked for: blank lines further down (a two-byte search of
        # every chunk, which cost more than the parse) are skipped by the parser, whose record
        # count then falls short of the line count, and the reader takes the exact scan.
        bom = start.startswith(BOM)
        blank = start.removeprefix(BOM).startswith((b"\n", b"\r\n"))
        while chunk := fh.read(chunk_size):
            # numpy compares with SIMD and lets go of the GIL, where ``bytes.count`` holds it at a
            # third of the speed and stalls the reader thread working on another file
            view = np.frombuffer(chunk, dtype=np.uint8)
            quotes += int(np.count_nonzero(view == _QUOTE))
            newlines += int(np.count_nonzero(view == _LF))
            if nul_at is None and (i := chunk.find(b"\x00")) >= 0:
                nul_at = size + i
            if not chunk.isascii():
                non_ascii = True
                if fallback_bad is None and undefined:
                    hits = [j for j in (chunk.find(bytes([b])) for b in undefined) if j >= 0]
                    if hits:
                        fallback_bad = size + min(hits)
                if utf8_ok:
                    pending = len(dec.getstate()[0])
                    try:
                        utf8_multibyte |= not dec.decode(chunk).isascii()
                    except UnicodeDecodeError as exc:
                        utf8_ok, utf8_bad = False, size - pending + exc.start
                        utf8_multibyte |= not chunk[:max(exc.start - pending, 0)].isascii()
            prev = chunk[-2:]
            size += len(chunk)
    if utf8_ok:
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok, utf8_bad = False, max(size - 1, 0)
    if bom:
        encoding, bad = "utf-8-sig", utf8_bad
    elif not non_ascii:
        encoding, bad = fallback_encoding, None
    elif utf8_ok:
        encoding, bad = "utf-8", None
    elif utf8_multibyte:  # real UTF-8 text with a corrupt byte: do not mis-decode it as cp1252
        encoding, bad = "utf-8", utf8_bad
    elif codecs.lookup(fallback_encoding).name == "utf-8":  # no legacy code page to fall back to
        encoding, bad = "utf-8", utf8_bad
    else:
        encoding, bad = fallback_encoding, fallback_bad
    return QuickScan(size=size, bom=bom, quotes=quotes, newlines=newlines,
                     ends_with_newline=prev.endswith(b"\n") and size > 0, blank_line=blank,
                     nul_at=nul_at, encoding=encoding, bad_byte_at=bad, ascii=not non_ascii)


@dataclass
class CsvScan:
    """What the byte-level pass learnt about one file.

    Attributes:
        size: file size in bytes.
        bom: whether the file starts with a UTF-8 byte-order mark.
        starts: byte offset where each record starts (record 0 is the header).
        ends: byte offset where each record ends (its terminating ``\\n`` or end of file).
        start_lines: 1-based physical line each record starts on.
        nfields: fields per record.
        blank: records that are empty or whitespace only.
        unclosed_quote_at: offset of a quote still open at end of file, if any.
        encoding: the encoding decided on (``utf-8-sig``, ``utf-8`` or the fallback).
        bad_byte_at: offset of the first byte the chosen encoding cannot decode, if any.
    """

    size: int
    bom: bool
    starts: np.ndarray
    ends: np.ndarray
    start_lines: np.ndarray
    nfields: np.ndarray
    blank: np.ndarray
    unclosed_quote_at: int | None
    encoding: str
    bad_byte_at: int | None



def scan_csv(path: Path, *, fallback_encoding: str = "cp1252", delimiter: str = ",",
             chunk_size: int = _CHUNK) -> CsvScan:
    """Byte-level structure pass; see the module docstring. Raises nothing itself."""
    delim = ord(delimiter)
    term, lines_thru, delims_thru, cr_before, quotes = [], [], [], [], []
    parity = nl_carry = delim_carry = offset = 0
    prev_byte = -1
    non_ascii = bom = False
    fallback_bad: int | None = None
    utf8_ok, utf8_multibyte, utf8_bad = True, False, None
    dec = codecs.getincrementaldecoder("utf-8")()
    undefined = _UNDEFINED_BYTES.get(codecs.lookup(fallback_encoding).name, ())
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            if offset == 0:
                bom = chunk.startswith(_BOM)
            a = np.frombuffer(chunk, np.uint8)
            is_quote = a == _QUOTE
            is_lf = a == _LF
            if parity == 0 and not is_quote.any():  # most files quote nothing: skip the parity
                outside = None
                inside_last = 0
            else:
                inside = (np.cumsum(is_quote, dtype=np.int32) + parity) & 1
                outside = inside == 0
                inside_last = int(inside[-1])
            lf_cum = np.cumsum(is_lf, dtype=np.int32)
            is_delim = a == delim
            delim_cum = np.cumsum(is_delim if outside is None else is_delim & outside,
                                  dtype=np.int32)
            idx = np.flatnonzero(is_lf if outside is None else is_lf & outside)
            term.append(idx.astype(np.int64) + offset)
            lines_thru.append(lf_cum[idx].astype(np.int64) + nl_carry)
            delims_thru.append(delim_cum[idx].astype(np.int64) + delim_carry)
            before = np.where(idx > 0, a[np.maximum(idx - 1, 0)], prev_byte)
            cr_before.append(before == _CR)
            qpos = np.flatnonzero(is_quote)
            if len(qpos):
                quotes.append(int(qpos[-1]) + offset)
            parity = inside_last  # inclusive cumsum: the state after the chunk's last byte
            nl_carry += int(lf_cum[-1])
            delim_carry += int(delim_cum[-1])
            prev_byte = int(a[-1])
            chunk_non_ascii = bool((a >= 0x80).any())
            non_ascii |= chunk_non_ascii
            if chunk_non_ascii and fallback_bad is None and undefined:
                hits = np.flatnonzero(np.isin(a, undefined))
                if len(hits):
                    fallback_bad = offset + int(hits[0])
            # UTF-8 validity, skipped for pure-ASCII chunks with nothing pending (the common case).
            if utf8_ok and (chunk_non_ascii or dec.getstate()[0]):
                pending = len(dec.getstate()[0])
                try:
                    text = dec.decode(chunk)
                    utf8_multibyte |= not text.isascii()
                except UnicodeDecodeError as exc:
                    utf8_ok, utf8_bad = False, offset - pending + exc.start
                    utf8_multibyte |= not chunk[:max(exc.start - pending, 0)].isascii()
            offset += len(chunk)
    if utf8_ok:
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok, utf8_bad = False, max(offset - 1, 0)

    size = offset
    term_a = np.concatenate(term) if term else np.zeros(0, np.int64)
    lines_a = np.concatenate(lines_thru) if lines_thru else np.zeros(0, np.int64)
    delims_a = np.concatenate(delims_thru) if delims_thru else np.zeros(0, np.int64)
    cr_a = np.concatenate(cr_before) if cr_before else np.zeros(0, bool)
    starts = np.concatenate([[0], term_a + 1])
    ends = np.concatenate([term_a, [size]])
    start_lines = np.concatenate([[0], lines_a]) + 1
    nfields = np.concatenate([delims_a, [delim_carry]]) - np.concatenate([[0], delims_a]) + 1
    cr = np.concatenate([cr_a, [prev_byte == _CR]])
    content = ends - starts - cr.astype(np.int64)
    if bom:
        content[0] -= len(_BOM)
    if len(starts) > 1 and starts[-1] >= size:  # the file ends with a newline: no last record
        starts, ends, start_lines, nfields, content = (
            x[:-1] for x in (starts, ends, start_lines, nfields, content))
    blank = content <= 0

    if bom:
        encoding, bad = "utf-8-sig", utf8_bad
    elif not non_ascii:
        encoding, bad = fallback_encoding, None
    elif utf8_ok:
        encoding, bad = "utf-8", None
    elif utf8_multibyte or codecs.lookup(fallback_encoding).name == "utf-8":
        # real UTF-8 text with a corrupt byte: do not mis-decode it as cp1252
        encoding, bad = "utf-8", utf8_bad
    else:
        encoding, bad = fallback_encoding, fallback_bad
    return CsvScan(size=size, bom=bom, starts=starts, ends=ends, start_lines=start_lines,
                   nfields=nfields, blank=blank,
                   unclosed_quote_at=quotes[-1] if parity else None,
                   encoding=encoding, bad_byte_at=bad)
