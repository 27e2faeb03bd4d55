"""The bytes of an Arrow string array, for checks that read them directly instead of making a
Python string (or a regex match) per value."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["arrow_strings", "chunk_bytes", "longest_bytes", "valid_rows", "values_at"]


def arrow_strings(s: pd.Series) -> pa.ChunkedArray | None:
    """The column's own Arrow strings (no copy), or None when it is not held as Arrow strings."""
    data = getattr(s.array, "_pa_array", None)
    if data is None or not (pa.types.is_string(data.type) or pa.types.is_large_string(data.type)):
        return None
    return data


def longest_bytes(data: pa.ChunkedArray) -> int:
    """The longest value's length in bytes (never less than in characters), from the offsets."""
    longest = pc.max(pc.binary_length(data)).as_py()
    return 0 if longest is None else int(longest)


def values_at(s: pd.Series, pos, plain: Callable) -> list:
    """``[plain(v)]`` for the values at positions ``pos``. Arrow strings come out as ``str`` or
    ``None`` in one call — what ``plain`` makes of them — anything else value by value."""
    data = arrow_strings(s)
    if data is not None:
        return data.take(pa.array(pos, type=pa.int64())).to_pylist()
    return [plain(v) for v in s.take(pos).tolist()]


def chunk_bytes(chunk: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(the ``len(chunk) + 1`` value offsets as int64, the data buffer as uint8) of one chunk of
    ``string`` or ``large_string``; value ``i`` is ``body[offsets[i]:offsets[i + 1]]``."""
    n = len(chunk)
    bufs = chunk.buffers()
    width = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    offsets = np.frombuffer(bufs[1], dtype=width)[chunk.offset:chunk.offset + n + 1].astype(np.int64)
    body = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    return offsets, body


def valid_rows(chunk: pa.Array) -> np.ndarray | None:
    """Which values are not null, or None when none is."""
    if not chunk.null_count:
        return None
    return np.asarray(chunk.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
