"""Block sizes for Arrow's CSV reader that never split a CR LF inside a quoted value.

Arrow reads a CSV file in blocks of ``block_size`` bytes of the UTF-8 stream it parses (the file
itself, or the file transcoded from a legacy code page). When one block ends with the ``\\r`` of a
``\\r\\n`` and the next starts with its ``\\n``, Arrow drops the ``\\n``. Between two records that
is right (the pair ends a line); inside a quoted value it is not (apache/arrow GH-51368, open in
pyarrow 26): a clinical note comes back one byte short, with no error, and every later line
number is off by one. On a 1,000,000-patient export one note in a million met a boundary.

:func:`safe_block_size` returns the largest block size, at most the one asked for, none of whose
boundaries falls between the CR and the LF of a pair inside quotes (or, when quoted line breaks
are so dense that none near it does, one block for the whole file). One pass over the file counts,
for each 64 kB piece, its quotes (a value is inside quotes when an odd number of ``"`` comes
before it, doubled quotes included, as RFC 4180 writes them) and, when Arrow transcodes the
file, its length in UTF-8 (Arrow's blocks count UTF-8 bytes); each boundary is then looked up in
its piece.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np

__all__ = ["safe_block_size"]

_QUOTE = 0x22
#: sizes below the asked one tried before taking one block for the whole file (only pairs inside
#: quotes count, so a boundary meets one rarely and the first or second size nearly always does)
_TRIES = 256
#: sizes tried first that split no CR LF at all, quoted or not (a few reads each; in a file
#: below a gigabyte or so one of them nearly always does)
_CHEAP_TRIES = 16
_PIECE = 1 << 16
#: the largest block Arrow takes (its block size is a 32-bit number)
_MAX_BLOCK = (1 << 31) - 1
_READ = 1 << 22


def safe_block_size(path: str | Path, block_size: int, encoding: str | None = None) -> int:
    """A block size none of whose boundaries splits a quoted ``\\r\\n``: the largest at most
    ``block_size`` within a few hundred bytes of it, else one block for the whole file.

    Args:
        path: the CSV file.
        block_size: the size wanted.
        encoding: the code page Arrow transcodes from; None when it reads the bytes as they are
            (UTF-8 or pure ASCII).

    Returns:
        The block size to give Arrow (``block_size`` itself unless a boundary splits a pair).

    Raises:
        ValueError: a file above 2 GB in which blocks of every size tried, up to 2 GB, split one.
    """
    with open(path, "rb") as fh:
        stream = _Stream(fh, encoding)
        # first a size that splits no CR LF at all: no quotes need counting to know it is safe
        for size in range(block_size, max(block_size - _CHEAP_TRIES, 0), -1):
            if not any(stream.splits_crlf(k) for k in range(size, stream.size, size)):
                return size
        for size in range(block_size, max(block_size - _TRIES, 0), -1):
            if not any(stream.splits_quoted_crlf(k) for k in range(size, stream.size, size)):
                return size
        # quoted line breaks everywhere: one block for the whole file (a slower parse, but right)
        if stream.size < _MAX_BLOCK:
            return max(stream.size + 1, block_size)
        # a file above 2 GB: larger blocks, so fewer boundaries to keep clear
        wanted = block_size
        while (wanted := min(wanted * 4, _MAX_BLOCK)) > block_size:
            for size in range(wanted, wanted - _TRIES, -1):
                if not any(stream.splits_quoted_crlf(k) for k in range(size, stream.size, size)):
                    return size
            if wanted == _MAX_BLOCK:
                break
    raise ValueError(f"{path}: no block size keeps its quoted line breaks whole")


class _Stream:
    """The stream Arrow parses, seen through the file: the byte at any of its offsets, and
    whether that offset is inside quotes, without transcoding the file.

    ASCII bytes (``\\r``, ``\\n`` and ``"`` among them) are the same in a legacy code page and in
    UTF-8; the rest take one to three UTF-8 bytes, by a table of each byte's length.
    """

    def __init__(self, fh, encoding: str | None):
        self.fh = fh
        lengths = np.ones(256, dtype=np.int64)
        if encoding is not None:
            decode = codecs.getdecoder(encoding)
            for b in range(0x80, 0x100):
                try:
                    lengths[b] = len(decode(bytes([b]))[0].encode("utf-8"))
                except UnicodeDecodeError:  # undecodable bytes never reach Arrow's parse
                    lengths[b] = 1
        self.lengths = lengths
        self.transcoded = encoding is not None
        fh.seek(0, 2)
        raw = fh.tell()
        pieces = -(-raw // _PIECE)
        size = np.full(pieces, _PIECE, dtype=np.int64)
        if pieces:
            size[-1] = raw - (pieces - 1) * _PIECE
        if self.transcoded:  # each piece's UTF-8 length: its bytes, plus what its non-ASCII ones add
            fh.seek(0)
            first = 0
            while block := fh.read(_READ):
                a = np.frombuffer(block, np.uint8)
                if len(wide := np.flatnonzero(a >= 0x80)):  # few in a legacy export: look only at them
                    n = -(-len(a) // _PIECE)
                    size[first:first + n] += np.bincount(wide // _PIECE, weights=lengths[a[wide]] - 1,
                                                         minlength=n).astype(np.int64)
                first += len(a) // _PIECE
        self.starts = np.concatenate([[0], np.cumsum(size)]).astype(np.int64)
        self.size = int(self.starts[-1])
        self._quotes_before: np.ndarray | None = None  # counted when a boundary first meets a CR LF
        self._cached: tuple[int, np.ndarray, np.ndarray | None] | None = None

    def _quotes(self) -> np.ndarray:
        """The quotes before each piece (one more pass over the file, made once)."""
        if self._quotes_before is None:
            counts = []
            self.fh.seek(0)
            while block := self.fh.read(_READ):
                a = np.frombuffer(block, np.uint8)
                whole = len(a) // _PIECE * _PIECE
                if whole:
                    counts.append(np.count_nonzero((a[:whole] == _QUOTE).reshape(-1, _PIECE), axis=1))
                if whole < len(a):
                    counts.append([np.count_nonzero(a[whole:] == _QUOTE)])
            self._quotes_before = np.concatenate(
                [[0], np.cumsum(np.concatenate(counts) if counts else [])]).astype(np.int64)
        return self._quotes_before

    def splits_crlf(self, offset: int) -> bool:
        """Whether the stream's bytes ``offset - 1`` and ``offset`` are a CR LF."""
        lf = self._at(offset)
        return lf is not None and lf[0] == 0x0A and (cr := self._at(offset - 1)) is not None and cr[0] == 0x0D

    def splits_quoted_crlf(self, offset: int) -> bool:
        """Whether the stream's bytes ``offset - 1`` and ``offset`` are a CR LF inside quotes."""
        if not self.splits_crlf(offset):
            return False
        _, piece, a, i = self._at(offset)
        inside = int(self._quotes()[piece]) + int(np.count_nonzero(a[:i] == _QUOTE))
        return inside % 2 == 1

    def _at(self, offset: int) -> tuple[int, int, np.ndarray, int] | None:
        """(the ASCII byte at ``offset``, its piece, the piece's bytes, its index there), or None
        where the stream's byte there belongs to a non-ASCII character."""
        piece = int(np.searchsorted(self.starts, offset, side="right")) - 1
        if piece < 0 or piece >= len(self.starts) - 1:
            return None
        a, ends = self._piece(piece)
        rel = offset - int(self.starts[piece])
        i = rel if ends is None else int(np.searchsorted(ends, rel, side="right"))  # the byte holding it
        if i >= len(a) or a[i] >= 0x80:
            return None
        return int(a[i]), piece, a, i

    def _piece(self, piece: int) -> tuple[np.ndarray, np.ndarray | None]:
        if self._cached is None or self._cached[0] != piece:
            self.fh.seek(piece * _PIECE)
            a = np.frombuffer(self.fh.read(_PIECE), np.uint8)
            same = self.starts[piece + 1] - self.starts[piece] == len(a)  # no byte grows in UTF-8
            # each byte's end in the stream, relative to the piece (not needed when none grows)
            ends = None if same else np.cumsum(self.lengths[a], dtype=np.int64)
            self._cached = (piece, a, ends)
        return self._cached[1], self._cached[2]
