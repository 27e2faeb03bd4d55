"""Whether every quote of a file sits where RFC 4180 allows one: the check that lets a file
with line breaks inside values skip the exact structure scan."""

from __future__ import annotations

import random

from toolkit.sources._csv_lines import _quotes_well_placed
from toolkit.sources._csv_scan import BOM, quick_scan


def _placed_by_hand(data: bytes, delimiter: bytes = b",") -> bool:
    """The rule read one quote at a time: an opening quote follows a delimiter, a line break,
    the file's start or another quote; a closing one precedes a delimiter, a line break, the end
    or another quote."""
    opening = True
    for i, byte in enumerate(data):
        if byte != ord('"'):
            continue
        if opening:
            ok = i == 0 or data[i - 1:i] in (delimiter, b"\n", b'"')
        else:
            ok = i + 1 == len(data) or data[i + 1:i + 2] in (delimiter, b"\n", b"\r", b'"')
        if not ok:
            return False
        opening = not opening
    return True


def test_quote_placement_agrees_with_the_rule_read_by_hand_across_chunks(tmp_path):
    rng = random.Random(5)
    path = tmp_path / "q.csv"
    verdicts = set()
    for case in range(400):
        data = bytes(rng.choice(b'ab,"\n\r') for _ in range(rng.randrange(1, 40)))
        if case % 3 == 0:  # well-formed quoted fields, which the random bytes seldom make
            data = b'id,"a ""b"" c",d\n"x\ny",z,""\n'[: rng.randrange(10, 30)]
        path.write_bytes(data)
        expected = _placed_by_hand(data)
        verdicts.add(expected)
        for chunk in (1, 2, 3, 7, 64):
            assert _quotes_well_placed(path, quick_scan(path), ",", chunk) == expected, (data, chunk)
    assert verdicts == {True, False}


def test_a_quote_right_after_the_byte_order_mark_opens_the_first_field(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(BOM + b'"id",name\n"1",Ann\n')
    assert _quotes_well_placed(path, quick_scan(path), ",", 4)
    path.write_bytes(BOM + b'x"id",name\n')
    assert not _quotes_well_placed(path, quick_scan(path), ",", 4)


def test_line_breaks_are_found_in_sliced_and_chunked_columns():
    import pyarrow as pa

    from toolkit.sources._csv_lines import _holds_line_break

    whole = pa.array(["a", "b\nc", None, "d"], type=pa.large_string())
    assert _holds_line_break(pa.chunked_array([whole]))
    assert not _holds_line_break(pa.chunked_array([whole.slice(2)]))  # the break is outside the slice
    assert _holds_line_break(pa.chunked_array([whole.slice(0, 1), whole.slice(1, 1)]))
    assert not _holds_line_break(pa.chunked_array([pa.array([None, ""], type=pa.string())]))
    assert not _holds_line_break(pa.chunked_array([], type=pa.string()))


def test_a_file_with_breaks_inside_values_keeps_each_records_first_line(tmp_path):
    from toolkit.sources._csv import read_strict_csv

    path = tmp_path / "notes.csv"
    path.write_bytes(b'id,note,by\n1,"two\nlines",ann\n2,plain,"bo"\n3,"three\r\nlines\nhere",cy\n4,x,dee\n')
    table = read_strict_csv(path)
    assert table.lines.tolist() == [2, 4, 5, 8]
    assert table.frame["note"].tolist() == ["two\nlines", "plain", "three\r\nlines\nhere", "x"]
