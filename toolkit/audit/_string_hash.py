"""64-bit keys for Arrow strings, computed over the buffers in bulk: equal strings get equal keys.

Used to narrow a uniqueness check down to the rows that *might* repeat a value: a value whose key
occurs once cannot occur twice, so only the rows whose key repeats (true repeats, plus the rare
key collision) need the exact check. Hash-table work on a million short strings costs about a
second and most of a gigabyte in Arrow and pandas; this costs a few vectorised passes over the
bytes.

The key of a string of bytes ``b_0 … b_{m-1}`` is ``(Σ b_j · P^(j+1)) ⊕ (m · K)`` modulo 2^64
(numpy's unsigned arithmetic wraps modulo 2^64): every byte is weighted by the power of its
place in its own value, and the weighted bytes of each value are summed in one ``reduceat``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from .._arrow_bytes import chunk_bytes, valid_rows

__all__ = ["string_keys"]

_P = np.uint64(0x100000001B3)  # FNV-1a's 64-bit prime: odd, with well-spread bits
_K = np.uint64(0x9E3779B97F4A7C15)
#: bytes hashed per step: bounds the working arrays (a few 8-byte arrays of this length)
_STEP = 1 << 22


def string_keys(data: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """One ``uint64`` key per value of a string array (nulls get 0; callers mask them).

    Equal strings always get equal keys; different strings almost always different ones.
    """
    chunks = data.chunks if isinstance(data, pa.ChunkedArray) else [data]
    out = [_chunk_keys(c) for c in chunks if len(c)]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.uint64)


def _chunk_keys(chunk: pa.Array) -> np.ndarray:
    if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
        raise TypeError(f"string_keys takes strings, not {chunk.type}")
    n = len(chunk)
    offsets, body = chunk_bytes(chunk)
    lengths = np.diff(offsets)
    keys = lengths.astype(np.uint64) * _K
    longest = int(lengths.max()) if n else 0
    powers = np.cumprod(np.full(max(longest, 1), _P, dtype=np.uint64))  # P^1 … P^longest
    # values are hashed in runs of whole values of about _STEP bytes (a longer value alone)
    first = 0
    with np.errstate(over="ignore"):
        while first < n:
            lo = offsets[first]
            last = min(max(int(np.searchsorted(offsets, lo + _STEP, side="right")) - 1, first + 1), n)
            lens = lengths[first:last]
            filled = np.flatnonzero(lens)  # reduceat cannot sum an empty run
            if len(filled):
                part = body[lo:offsets[last]].astype(np.uint64)
                starts = offsets[first:last][filled] - lo
                # each byte's position inside its own value: 0, 1, 2, … restarting at each value
                position = np.arange(len(part), dtype=np.int64) - np.repeat(starts, lens[filled])
                part *= powers[position]
                keys[first + filled] ^= np.add.reduceat(part, starts)
            first = last
    if (valid := valid_rows(chunk)) is not None:
        keys[~valid] = 0
    return keys
