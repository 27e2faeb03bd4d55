"""The packaged phone pattern spells Python's ``\\s`` out as literal characters; it must accept
exactly the values the pattern first written with ``\\s`` accepts, through pandas' Arrow (RE2)
path as well as Python's ``re``."""

from __future__ import annotations

import json
import random
import re

import pandas as pd
import pytest

from toolkit import _paths
from toolkit.audit._suite_builder import PHONE_REGEX, PHONE_REGEX_PY, PY_SPACE

_ODD = ["\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1f", " ", "\x85", "\xa0", "\u1680", "\u2000",
        "\u200a", "\u200b", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\ufeff", "\x1b",
        "٣", "５", "𝟗", "(", ")", "+", ".", "-", "/", "x", "1", "0", "9", "ext", "1 ", "\n1"]


def test_space_class_is_pythons_whitespace():
    cls = re.compile("[" + PY_SPACE + "]")
    every = [chr(c) for c in range(0x110000)]
    assert [c for c in every if cls.fullmatch(c)] == [c for c in every if re.fullmatch(r"\s", c)]


def test_pandas_runs_the_pattern_in_re2_on_ascii_text():
    arr = pd.array(["(555) 123-4567"], dtype="str")
    if not hasattr(arr, "_needs_python_regex"):
        pytest.skip("string storage without an Arrow regex path")
    assert arr._needs_python_regex(PHONE_REGEX) is False
    assert arr._needs_python_regex(PHONE_REGEX_PY) is True


def _values() -> list[str]:
    rng = random.Random(11)
    vals = ["", "5551234567", "15551234567", "(555) 123-4567", "+1 (555) 123-4567", "555.123.4567",
            "555-123-456", "555-123-45678", "1-555-123-4567\n", "555 123 4567 ", "２５５５１２３４５６７",
            "555\u2003123\u20034567", "555\u200b123\u200b4567", "555\x1c1234567", "555\n123\n4567"]
    digits = "0123456789"
    for _ in range(20_000):
        n = rng.choice([9, 10, 10, 10, 11, 12])
        parts = []
        for i in range(n):
            parts.append(rng.choice(digits) if rng.random() > 0.02 else rng.choice(_ODD))
            if rng.random() < 0.3:
                parts.append(rng.choice(_ODD))
        vals.append("".join(parts))
    return vals


@pytest.mark.parametrize("ascii_only", [True, False])
def test_new_pattern_accepts_exactly_what_the_old_one_accepts(ascii_only):
    vals = _values()
    if ascii_only:
        vals = [v for v in vals if v.isascii() and "\n" not in v]
    old = [bool(re.match(PHONE_REGEX_PY, v)) for v in vals]
    assert [bool(re.match(PHONE_REGEX, v)) for v in vals] == old
    s = pd.Series(vals, dtype="str")
    assert s.str.match(PHONE_REGEX).tolist() == old
    assert s.str.match(PHONE_REGEX_PY).tolist() == old
    # Great Expectations runs the pattern with `str.contains` (the pattern is anchored)
    assert s.str.contains(PHONE_REGEX).tolist() == old
    assert any(old) and not all(old)


def test_packaged_suite_holds_the_new_pattern():
    suite = json.loads((_paths.EXPECTATIONS / "dent-o-soft" / "patients.json").read_text("utf-8"))
    phones = [e["kwargs"]["regex"] for e in suite["expectations"] if e["meta"].get("why") == "phone must convert to E.164"]
    assert phones and set(phones) == {PHONE_REGEX}
