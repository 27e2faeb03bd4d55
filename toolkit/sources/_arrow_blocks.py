"""Block sizes for Arrow's CSV reader that never split a CR LF.

Arrow reads a CSV file in blocks of ``block_size`` bytes of the UTF-8 stream it parses (the file
itself, or the file transcoded from a legacy code page). When one block ends with the ``\\r`` of a
``\\r\\n`` and the next starts with its ``\\n``, Arrow drops the ``\\n`` — also when the pair is
inside a quoted value, where it is part of the text (apache/arrow GH-51368, open in pyarrow 26):
a clinical note comes back one byte short, with no error, and every later line number is off by
one. On a 1,000,000-patient export one note in a million met a boundary.

:func:`safe_block_size` returns the largest block size, at most the one asked for, whose block
boundaries all miss a ``\\r\\n`` of the stream Arrow will read. Checking costs a two-byte read
per boundary when the file is read as it is, and one pass of a byte-length table over the file
when Arrow transcodes it (the boundaries fall at multiples of the block size in UTF-8 bytes).
"""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np

__all__ = ["safe_block_size"]

_CR, _LF = 0x0D, 0x0A
#: how many sizes below the asked one are tried before giving up (each is one more check)
_TRIES = 64
_PIECE = 1 << 20


def safe_block_size(path: str | Path, block_size: int, encoding: str | None = None) -> int:
    """A block size ``<= block_size`` none of whose boundaries falls inside a ``\\r\\n``.

    Args:
        path: the CSV file.
        block_size: the size wanted.
        encoding: the code page Arrow transcodes from; None when it reads the bytes as they are
            (UTF-8 or pure ASCII).

    Returns:
        The block size to give Arrow (``block_size`` itself unless a boundary splits a pair).
    """
    path = Path(path)
    with open(path, "rb") as fh:
        if encoding is None:
            def pair_at(offset: int) -> bytes:
                fh.seek(offset - 1)
                return fh.read(2)
            size = path.stat().st_size
        else:
            utf8 = _Utf8Offsets(fh, encoding)
            pair_at, size = utf8.pair_at, utf8.size
        size_now = block_size
        for _ in range(_TRIES):
            if not any(pair_at(k) == b"\r\n" for k in range(size_now, size, size_now)):
                return size_now
            size_now -= 1
    return size_now


class _Utf8Offsets:
    """The bytes at given offsets of a legacy code page file's UTF-8 form, without transcoding it.

    One pass over the file counts each megabyte's UTF-8 length (a table of each byte's length);
    a boundary is then found in its megabyte by a cumulative sum of that megabyte alone. ASCII
    bytes (``\\r`` and ``\\n`` among them) are the same in both forms.
    """

    def __init__(self, fh, encoding: str):
        self.fh = fh
        decode = codecs.getdecoder(encoding)
        lengths = np.ones(256, dtype=np.int64)
        for b in range(0x80, 0x100):
            try:
                lengths[b] = len(decode(bytes([b]))[0].encode("utf-8"))
            except UnicodeDecodeError:  # undecodable bytes never reach Arrow's parse
                lengths[b] = 1
        self.lengths = lengths
        starts = [0]  # UTF-8 offset of each piece's first byte
        fh.seek(0)
        while piece := fh.read(_PIECE):
            a = np.frombuffer(piece, np.uint8)
            starts.append(starts[-1] + int(lengths[a].sum()))
        self.starts = np.asarray(starts, dtype=np.int64)
        self.size = int(self.starts[-1])

    def pair_at(self, offset: int) -> bytes:
        """The two bytes at UTF-8 offsets ``offset - 1`` and ``offset`` (b"" where not ASCII)."""
        return bytes(self._ascii_at(offset - 1) + self._ascii_at(offset))

    def _ascii_at(self, offset: int) -> list[int]:
        piece = int(np.searchsorted(self.starts, offset, side="right")) - 1
        self.fh.seek(piece * _PIECE)
        a = np.frombuffer(self.fh.read(_PIECE), np.uint8)
        ends = self.starts[piece] + np.cumsum(self.lengths[a])  # UTF-8 end of each byte
        i = int(np.searchsorted(ends, offset, side="right"))  # the byte whose UTF-8 form holds it
        if i >= len(a) or a[i] >= 0x80:
            return []
        return [int(a[i])]
