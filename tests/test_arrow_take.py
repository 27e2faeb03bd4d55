"""Row picks from Arrow string columns in many chunks: the same values as Arrow's own take."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from toolkit._arrow_bytes import rows_at, spread_sample, take_rows


def _chunked(values, cuts, typ=pa.large_string()) -> pa.ChunkedArray:
    whole = pa.array(values, type=typ)
    return pa.chunked_array([whole.slice(a, b - a) for a, b in zip(cuts, cuts[1:])], type=typ)


@pytest.mark.parametrize("typ", [pa.string(), pa.large_string()])
def test_take_rows_equals_arrows_take_in_any_order(typ):
    rnd = random.Random(2)
    values = [None if rnd.random() < .1 else f"v{i}é" for i in range(500)]
    data = _chunked(values, [0, 0, 1, 60, 60, 61, 300, 500], typ)  # empty and one-row chunks too
    for pos in ([], [0], [499], list(range(500)), sorted(rnd.sample(range(500), 50)),
                [rnd.randrange(500) for _ in range(200)], [3, 3, 3, 0]):
        assert take_rows(data, pos).to_pylist() == [values[p] for p in pos]
    with pytest.raises(IndexError):
        take_rows(data, [500])


def test_rows_at_and_spread_sample_keep_the_dtype_and_values():
    values = [f"x{i}" if i % 7 else None for i in range(100)]
    s = pd.Series(pd.array(_chunked(values, [0, 33, 34, 100]), dtype="string[pyarrow]"), index=range(5, 105))
    picked = rows_at(s, np.array([99, 0, 50]))
    assert picked.tolist() == ["x99", pd.NA, "x50"]
    assert picked.dtype == s.dtype and list(picked.index) == [0, 1, 2]
    assert spread_sample(s, 10).tolist() == s.iloc[::10].tolist()
    plain = pd.Series([1, 2, 3], index=[7, 8, 9])  # not Arrow strings: iloc, reindexed
    assert rows_at(plain, [2, 0]).tolist() == [3, 1]
