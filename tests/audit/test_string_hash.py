"""64-bit keys for Arrow strings: equal strings always share a key, different ones do not.

The uniqueness check shows GX only the rows whose key repeats, so a key that differed for equal
strings would hide a duplicate; these tests pin that it cannot, whatever the array's layout.
"""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest

from toolkit.audit import _string_hash
from toolkit.audit._string_hash import string_keys


def _values(seed: int, n: int) -> list[str | None]:
    rnd = random.Random(seed)
    alphabet = "ab\x00 é€😀"
    out = ["", "a", "a\x00", "\x00a", "ab", "ba", "aa", "\x00", "\x00\x00", None, "é", "e\u0301"]
    out += ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 9))) for _ in range(n)]
    out += [f"L{i:08d}" for i in range(n)]
    return out


@pytest.mark.parametrize("typ", [pa.string(), pa.large_string()])
def test_equal_strings_share_a_key_in_any_layout(typ, monkeypatch):
    monkeypatch.setattr(_string_hash, "_STEP", 7)  # many runs, and values longer than a run
    vals = _values(1, 3000)
    one = pa.array(vals, typ)
    chunked = pa.chunked_array([one.slice(0, 5), one.slice(5, 1000), one.slice(1005)])
    doubled = pa.chunked_array([one.slice(1), one.slice(3)])  # sliced chunks: offset arrays
    keys = string_keys(one)
    assert (string_keys(chunked) == keys).all()
    assert (string_keys(doubled) == np.concatenate([keys[1:], keys[3:]])).all()
    by_value: dict = {}
    for v, k in zip(vals, keys.tolist()):
        if v is not None:
            assert by_value.setdefault(v, k) == k


def test_different_strings_get_different_keys():
    vals = [v for v in dict.fromkeys(_values(2, 50_000)) if v is not None]
    keys = string_keys(pa.array(vals, pa.large_string()))
    assert len(set(keys.tolist())) == len(vals)


def test_same_key_whatever_the_step(monkeypatch):
    arr = pa.array(_values(3, 2000) + ["x" * 5000], pa.large_string())
    want = string_keys(arr)
    monkeypatch.setattr(_string_hash, "_STEP", 1)
    assert (string_keys(arr) == want).all()


def test_only_strings():
    with pytest.raises(TypeError, match="strings"):
        string_keys(pa.array([1, 2]))
