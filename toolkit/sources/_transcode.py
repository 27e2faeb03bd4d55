"""A legacy single-byte code page (cp1252 and its kin) turned into UTF-8 for Arrow's CSV parser.

Arrow parses UTF-8 only. Given any other encoding, pyarrow transcodes each block it reads through
Python's codecs: it decodes the block to ``str`` and encodes it again, holding Python's lock over
every byte of the file while the other files' readers wait. A practice's export in a legacy code
page is nearly all ASCII, with a few accented names, and ASCII bytes are the same in UTF-8. So
only the bytes from 0x80 up need to change. numpy finds them (outside the lock), each becomes its
UTF-8 sequence from a table built from the codec itself, and the runs between are copied as they
are. A block dense with such bytes goes through the codec as before, since a loop over them would
cost more.
"""

from __future__ import annotations

import codecs
from functools import lru_cache

import numpy as np
import pyarrow as pa

__all__ = ["single_byte_table", "utf8_stream"]

#: above one byte in this many being non-ASCII, a block goes through the codec instead
_SPARSE = 32


@lru_cache(maxsize=16)
def single_byte_table(encoding: str) -> tuple[bytes | None, ...] | None:
    """The UTF-8 bytes of each byte value in ``encoding`` (None where the code page leaves the
    byte undefined), or None when ``encoding`` is not a stateless single-byte code page.

    Decided from the codec's behaviour, not a list: decoding all 256 byte values at once must
    give 256 characters, each the one its byte gives alone (a multi-byte codec such as
    Shift-JIS joins bytes into fewer characters)."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return None
    if name.startswith(("utf-", "utf_")):
        return None
    every = bytes(range(256)).decode(name, errors="replace")
    if len(every) != 256:
        return None
    table: list[bytes | None] = []
    for b in range(256):
        try:
            char = bytes([b]).decode(name)
        except UnicodeDecodeError:
            table.append(None)
            continue
        if len(char) != 1 or char != every[b]:
            return None
        table.append(char.encode("utf-8"))
    if any(table[b] != bytes([b]) for b in range(0x80)):
        return None  # not ASCII-compatible: the parser's delimiters and quotes would move
    return tuple(table)


class _ToUtf8:
    """The per-block transform: bytes of the code page in, UTF-8 out."""

    def __init__(self, encoding: str, table: tuple[bytes | None, ...]):
        self._encoding = encoding
        self._table = table
        self._offset = 0  # of the block in the file, for the error's position

    def __call__(self, buf: pa.Buffer):
        size = buf.size
        if not size:
            return b""
        a = np.frombuffer(buf, dtype=np.uint8)
        high = np.flatnonzero(a >= 0x80)
        start = self._offset
        self._offset += size
        if not len(high):
            return buf  # all ASCII: handed on without a copy
        if len(high) * _SPARSE > size:
            try:
                return bytes(buf).decode(self._encoding).encode("utf-8")
            except UnicodeDecodeError as exc:
                raise UnicodeDecodeError(exc.encoding, exc.object, exc.start, exc.end,
                                         f"{exc.reason} (byte offset {start + exc.start})") from None
        view = memoryview(buf)
        table = self._table
        pieces = []
        last = 0
        for pos, value in zip(high.tolist(), a[high].tolist()):
            utf8 = table[value]
            if utf8 is None:
                raise UnicodeDecodeError(self._encoding, bytes(view[pos:pos + 1]), 0, 1,
                                         f"character maps to <undefined> (byte offset {start + pos})")
            pieces.append(view[last:pos])
            pieces.append(utf8)
            last = pos + 1
        pieces.append(view[last:])
        return b"".join(pieces)


def utf8_stream(path: str, encoding: str) -> pa.NativeFile | None:
    """``path`` opened as a stream of UTF-8, or None when ``encoding`` is not a single-byte code
    page (then let pyarrow transcode it). Raises ``UnicodeDecodeError``, while the stream is read,
    at a byte the code page leaves undefined."""
    table = single_byte_table(encoding)
    if table is None:
        return None
    return pa.TransformInputStream(pa.OSFile(path, "rb"), _ToUtf8(encoding, table))
