"""Fixed-width date and time layouts (``%m/%d/%Y %H:%M`` and the like), read from Arrow's bytes.

A layout made only of fixed-width numeric fields (``%Y %m %d %H %M %S``, each at most once) and
single-byte ASCII separators gives every value written in it the same byte length, a digit at
each field's positions and the separator elsewhere. So a column of such values is a byte matrix
(a plain view of the Arrow buffer when every value has that length): shape checks and the fields'
numbers come column by column from the matrix, without a regular expression or a Python string
per value. The watermark (the newest modification time of an export) and the audit's check of
declared date layouts both read their columns this way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ._arrow_bytes import chunk_bytes, valid_rows

__all__ = ["FIELD_WIDTH", "ORDER", "FixedWidth", "fixed_width", "shape_and_fields"]

#: digits of each numeric field
FIELD_WIDTH = {"%Y": 4, "%m": 2, "%d": 2, "%H": 2, "%M": 2, "%S": 2}
#: the fields from the most significant to the least: a key built in this order sorts by time
ORDER = ("%Y", "%m", "%d", "%H", "%M", "%S")


@dataclass(frozen=True)
class FixedWidth:
    """A fixed-width layout.

    Attributes:
        layout: per byte of a value, None where a digit goes, else the separator's byte.
        offsets: field -> the byte it starts at.
    """

    layout: tuple[int | None, ...]
    offsets: dict[str, int]

    @property
    def width(self) -> int:
        """Bytes in every value written in the layout."""
        return len(self.layout)


def fixed_width(fmt: str) -> FixedWidth | None:
    """The layout of ``fmt``, or None when ``fmt`` has any other directive, a field twice, a
    separator outside ASCII, or no year."""
    layout: list[int | None] = []
    offsets: dict[str, int] = {}
    i = 0
    while i < len(fmt):
        d = fmt[i:i + 2]
        if d in FIELD_WIDTH:
            if d in offsets:
                return None
            offsets[d] = len(layout)
            layout += [None] * FIELD_WIDTH[d]
            i += 2
        elif fmt[i] == "%" or not fmt[i].isascii():
            return None
        else:
            layout.append(ord(fmt[i]))
            i += 1
    return FixedWidth(tuple(layout), offsets) if "%Y" in offsets else None


def shape_and_fields(arr: pa.Array | pa.ChunkedArray, layout: FixedWidth
                     ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(which values are written exactly in ``layout``, each field's number for those values,
    in order).

    A value of another byte length, a null, or one holding a multi-byte character where a digit
    or separator belongs is off-shape — the verdict of the anchored pattern of ASCII digits and
    literal separators the layout stands for.
    """
    width = layout.width
    shapes, fields = [], {d: [] for d in layout.offsets}
    for chunk in (arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]):
        n = len(chunk)
        if n == 0:
            continue
        offs, body = chunk_bytes(chunk)
        fits = np.diff(offs) == width
        if (valid := valid_rows(chunk)) is not None:
            fits &= valid
        rows = np.flatnonzero(fits)
        if len(rows) == n:  # every value has the width: the buffer is the matrix
            mat = body[offs[0]:offs[0] + n * width].reshape(n, width)
        else:
            mat = body[offs[:-1][rows][:, None] + np.arange(width)[None, :]]
        ok = np.ones(len(rows), dtype=bool)
        for p, expect in enumerate(layout.layout):
            col = mat[:, p]
            # a digit is a byte whose distance above "0" is at most 9 (uint8 wraps below "0")
            ok &= ((col - np.uint8(48)) <= 9) if expect is None else (col == expect)
        shape = np.zeros(n, dtype=bool)
        shape[rows[ok]] = True
        shapes.append(shape)
        good = mat if ok.all() else mat[ok]  # a copy only when some values are off-shape
        for d, o in layout.offsets.items():
            value = good[:, o].astype(np.int32) - 48  # at most four digits: int32 halves the traffic
            for p in range(o + 1, o + FIELD_WIDTH[d]):
                value *= 10
                value += good[:, p]
                value -= 48
            fields[d].append(value)
    return _joined(shapes, bool), {d: _joined(v, np.int32) for d, v in fields.items()}


def _joined(parts: list[np.ndarray], dtype) -> np.ndarray:
    """The chunks' arrays as one (no copy for a column of one chunk, the usual case)."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
