"""Fixed-width layouts read from Arrow's bytes give the verdicts of the anchored pattern of ASCII
digits and literal separators, and the fields' numbers, for every kind of value a column holds."""

from __future__ import annotations

import random
import re

import pyarrow as pa
import pytest

from toolkit._fixed_width import FIELD_WIDTH, fixed_width, shape_and_fields


def _pattern(fmt: str) -> re.Pattern:
    out, i = "", 0
    while i < len(fmt):
        if fmt[i:i + 2] in FIELD_WIDTH:
            out += "[0-9]{%d}" % FIELD_WIDTH[fmt[i:i + 2]]
            i += 2
        else:
            out += re.escape(fmt[i])
            i += 1
    return re.compile(out)


@pytest.mark.parametrize("fmt", ["%m/%d/%Y %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y%m%d", "%d.%m.%Y"])
def test_verdicts_and_fields_match_the_pattern(fmt):
    rng = random.Random(fmt)
    layout = fixed_width(fmt)
    assert layout is not None
    good = [re.sub("%[YmdHMS]", lambda m: "".join(rng.choice("0123456789") for _ in range(FIELD_WIDTH[m[0]])),
                   fmt) for _ in range(300)]
    odd = [None, "", " " + good[0], good[1][:-1], good[2] + "0", good[3].replace("0", "\uff10", 1),
           "é" * layout.width, good[4][:-1] + "é", "x" * layout.width]
    vals = good + odd
    rng.shuffle(vals)
    pattern = _pattern(fmt)
    for typ in (pa.string(), pa.large_string()):
        whole = pa.chunked_array([pa.array(vals[:150], typ), pa.array(vals[150:], typ)])
        for arr in (whole, whole.slice(37), pa.array(vals, typ).slice(11)):
            values = arr.to_pylist()
            shape, fields = shape_and_fields(arr, layout)
            want = [v is not None and pattern.fullmatch(v) is not None for v in values]
            assert shape.tolist() == want
            matching = [v for v, ok in zip(values, want) if ok]
            for d, o in layout.offsets.items():
                assert fields[d].tolist() == [int(v[o:o + FIELD_WIDTH[d]]) for v in matching]


def test_layouts_it_cannot_read_by_position():
    assert fixed_width("%m/%d/%y") is None  # a field it does not know
    assert fixed_width("%Y-%m-%Y") is None  # a field twice
    assert fixed_width("%d %m") is None  # no year
    assert fixed_width("%Y年%m月%d日") is None  # a separator of more than one byte
    assert fixed_width("%Y-%m-%d").offsets == {"%Y": 0, "%m": 5, "%d": 8}
