"""The audit's fast paths give exactly what the straightforward computation gives.

* ``run_suite`` validates value-only column expectations on each column's distinct values and
  spreads the verdicts back; the result must equal GX validating every row (counts, ``mostly``
  success, every failing row with its line, id and value).
* uniqueness checks are validated on the rows whose key repeats (``_string_hash``); the
  result must equal GX's on every row too, for any chunking of the column;
* the profile's duplicate search must equal ``find_duplicates`` called as the audit always
  called it; the declared-date check must equal Arrow's parse-and-format round trip.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest

from toolkit.audit import _expectations, _fast_checks
from toolkit.audit._profile import _duplicates
from toolkit.mapping import find_duplicates

S = "string[pyarrow]"


def _suite(tmp_path, exps):
    p = tmp_path / "suite.json"
    p.write_text(json.dumps({"name": "t.things", "expectations": exps}), encoding="utf-8")
    return p


def _row_by_row(df, suite_path, *, key, file, lines):
    """Reference: GX validating all rows at once, failures looked up by position."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    spec = json.loads(suite_path.read_text(encoding="utf-8"))
    suite = gx.ExpectationSuite(name="ref", expectations=[ExpectationConfiguration(**e)
                                                          for e in spec["expectations"]])
    _expectations._context()
    batch = _expectations._batch_definition().get_batch(batch_parameters={"dataframe": df})
    result = batch.validate(suite, result_format={"result_format": "COMPLETE",
                                                  "exclude_unexpected_values": True})
    out = []
    for r in result.results:
        cfg = r.expectation_config
        col = cfg.kwargs.get("column")
        pos = np.asarray(r.result.get("unexpected_index_list") or [], dtype=np.int64)
        failures = [{"line": int(lines[p]), "id": _expectations._plain(df[key].iloc[p]),
                     "value": _expectations._plain(df[col].iloc[p]) if col in df.columns else None}
                    for p in pos]
        out.append({"expectation": cfg.type, "column": col,
                    "kwargs": {k: _expectations._plain(v) for k, v in (cfg.kwargs or {}).items() if k != "batch_id"},
                    "why": (cfg.meta or {}).get("why", ""),
                    "success": bool(r.success),
                    "unexpected_count": int(r.result.get("unexpected_count") or len(failures)),
                    "element_count": int(r.result.get("element_count") or len(df)),
                    "details": {k: _expectations._plain(v) for k, v in r.result.items()
                                if k in {"observed_value", "details"}},
                    "file": file, "failures": failures})
    return out


@pytest.fixture(scope="module")
def frame():
    rnd = random.Random(5)
    n = 30_000
    status = [rnd.choice(["Active", "Inactive", "active", None, "Archived", " Active"]) for _ in range(n)]
    zips = [rnd.choice(["02139", "2139", "02139-1234", None, "ABCDE", "94110"]) for _ in range(n)]
    stamp = [f"{rnd.randint(1, 13):02d}/{rnd.randint(1, 31):02d}/20{rnd.randint(10, 30)}" if rnd.random() > .05
             else None for _ in range(n)]
    ids = [f"T{i:06d}" for i in range(n)]
    ids[7] = ids[3]  # a duplicate id
    ids[11] = None
    return pd.DataFrame({"ID": pd.array(ids, dtype=S), "Status": pd.array(status, dtype=S),
                         "Zip": pd.array(zips, dtype=S), "When": pd.array(stamp, dtype=S),
                         "Other": pd.array([None] * n, dtype=S)})


EXPS = [
    {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": ["ID", "Status", "Zip", "When", "Other"],
                                                            "exact_match": False}, "meta": {"why": "layout"}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "ID"}, "meta": {"why": "id"}},
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "ID"}, "meta": {"why": "unique"}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "Status", "mostly": 0.8},
     "meta": {"why": "mostly there"}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "Status",
                                                              "value_set": ["Active", "Inactive", "Archived"]},
     "meta": {"why": "pick-list"}},
    {"type": "expect_column_values_to_be_in_set", "kwargs": {"column": "Status", "mostly": 0.5,
                                                              "value_set": ["Active", "Inactive", "Archived"]},
     "meta": {"why": "pick-list, mostly"}},
    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "Zip", "regex": r"^\d{5}(-\d{4})?$"},
     "meta": {"why": "zip"}},
    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "When", "mostly": 0.99,
                                                                "regex": r"^(0[1-9]|1[0-2])/\d\d/\d{4}$"},
     "meta": {"why": "date"}},
    {"type": "expect_column_value_lengths_to_be_between", "kwargs": {"column": "Zip", "min_value": 5,
                                                                      "max_value": 5}, "meta": {"why": "len"}},
    {"type": "expect_column_values_to_match_regex", "kwargs": {"column": "Other", "regex": "^x$"},
     "meta": {"why": "all empty: vacuously true"}},
    {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "Other"}, "meta": {"why": "all null"}},
]
#: uniqueness checks, which GX runs on the rows whose 64-bit key repeats
UNIQUE = [


    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "Zip"}, "meta": {"why": "all repeat"}},
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "When", "mostly": 0.5},
     "meta": {"why": "some repeat, mostly"}},
    {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "Other"}, "meta": {"why": "all null"}},
]


def _chunked(df: pd.DataFrame) -> pd.DataFrame:
    """The same frame with every column in uneven, sliced Arrow chunks (as the CSV reader gives)."""
    import pyarrow as pa

    out = {}
    for c in df.columns:
        whole = pa.array(df[c].array._pa_array.combine_chunks())
        cuts = [0, 1, 4000, 4001, 17_000, len(whole)]
        out[c] = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(
            [whole.slice(a, b - a) for a, b in zip(cuts, cuts[1:])])))
    return pd.DataFrame(out)


@pytest.mark.parametrize("path", ["distinct values", "as sampled", "all rows"])
@pytest.mark.parametrize("layout", ["one chunk", "chunked"])
def test_run_suite_equals_gx_on_every_row(tmp_path, frame, monkeypatch, path, layout):
    if path == "as sampled":  # a sample of 50 rows: the pick-lists go by value, the rest by row
        monkeypatch.setattr(_expectations, "_SAMPLE", 50)
    else:
        monkeypatch.setattr(_expectations, "_few_distinct", lambda s: path == "distinct values")
    if layout == "chunked":
        frame = _chunked(frame)
    suite = _suite(tmp_path, EXPS + UNIQUE)
    lines = pd.Series(np.arange(2, len(frame) + 2) * 3)
    got = _expectations.run_suite(frame, suite, key="ID", file="things.csv", lines=lines)
    want = _row_by_row(frame, suite, key="ID", file="things.csv", lines=lines.to_numpy())
    assert got == want
    assert any(r["failures"] for r in got) and not all(r["success"] for r in got)


def test_failures_are_plain_json_ready_lists(tmp_path, frame):
    got = _expectations.run_suite(frame, _suite(tmp_path, EXPS), key="ID", file="f", lines=pd.Series(
        np.arange(2, len(frame) + 2)))
    f = next(r["failures"] for r in got if r["column"] == "Zip")
    assert type(f) is list and f and json.loads(json.dumps(f)) == f
    assert all(type(x["line"]) is int for x in f)


def _pairs_by_frames(df, *, key_column, first, last, dob, contact):
    """find_duplicates' rules written the plain way (a pandas frame per group): the reference."""
    from toolkit.mapping._dedupe import _norm, _same, _same_first
    from toolkit.mapping._transforms import parse_dates

    frame = pd.DataFrame({"key": df[key_column].astype("string"), "first": _norm(df[first]), "last": _norm(df[last]),
                          "dob": parse_dates(df[dob])[0].dt.strftime("%Y-%m-%d")}, index=df.index)
    for n, col in enumerate(contact):
        v = df[col].astype("string").str.strip().str.lower()
        if "mail" not in col.lower():
            v = v.str.replace(r"\D", "", regex=True).str[-10:]
            v = v.where(v.str.len() == 10)
        frame[f"r{n}"] = v
    frame = frame[(frame["last"] != "") & frame["dob"].notna()]
    out = []
    for _, g in frame[frame.duplicated(["last", "dob"], keep=False)].groupby(["last", "dob"], sort=False):
        rows, taken = list(g.itertuples(index=False)), set()
        for i, a in enumerate(rows):
            if a.key in taken:
                continue
            for b in rows[i + 1:]:
                if b.key in taken or not _same_first(a.first, b.first):
                    continue
                shared = [c for n, c in enumerate(contact) if _same(getattr(a, f"r{n}"), getattr(b, f"r{n}"))]
                if shared:
                    taken.add(b.key)
                    out.append((a.key, b.key, f"same name, birth date and {', '.join(shared)}"))
    return out


def test_duplicates_walked_as_lists_equal_the_frame_by_frame_reference():
    rnd = random.Random(3)
    rows = []
    for i in range(4000):
        # spellings that normalise alike ("SMITH", "smith "; "O'Brien", "OBrien"), and no name at all
        last = rnd.choice(["Smith", "SMITH", "smith ", "Núñez", "O'Brien", "OBrien", "Lee", "", "  ", None])
        first = rnd.choice(["Robert", "Bob", "Rob", "Jon", "Jonathan", "Ann", "Anne", "  Kate", None])
        dob = rnd.choice(["01/02/1980", "1980-01-02", "2/1/80", "03/04/1990", "bad", None])
        email = rnd.choice(["a@x.com", "B@x.com ", "9175550101@x.com", None])
        phone = rnd.choice(["(917) 555-0101", "917.555.0101", "555-0101", None])
        rows.append({"ID": f"P{i:05d}", "First": first, "Last": last, "DOB": dob, "E-mail": email, "Cell": phone})
    df = pd.DataFrame(rows).astype(S)
    spec = {"first": "First", "last": "Last", "dob": "DOB", "contact": ["E-mail", "Cell"]}
    want = _pairs_by_frames(df, key_column="ID", first="First", last="Last", dob="DOB", contact=["E-mail", "Cell"])
    assert any("E-mail" in why for *_, why in want) and any("Cell" in why for *_, why in want)
    assert _duplicates(df, "ID", spec) == want


def test_declared_date_check_equals_the_round_trip():
    import pyarrow as pa
    import pyarrow.compute as pc

    rnd = random.Random(9)
    vals = ["02/29/2000", "02/29/1900", "02/30/2020", "04/31/2020", "00/10/2020", "1/2/2020", "01/02/0999",
            "01/02/2020 24:00", "01/02/2020 23:59", "01/02/2020 12:60", " 01/02/2020", "", "x"]
    vals += [f"{rnd.randint(0, 13):02d}/{rnd.randint(0, 32):02d}/{rnd.randint(900, 2100):04d} "
             f"{rnd.randint(0, 25):02d}:{rnd.randint(0, 61):02d}" for _ in range(5000)]
    vals += [f"{rnd.randint(0, 13):02d}/{rnd.randint(0, 32):02d}/{rnd.randint(900, 2100):04d}" for _ in range(5000)]
    u = pd.Series(vals, dtype=S)
    for fmt in ("%m/%d/%Y", "%m/%d/%Y %H:%M", "%Y-%m-%d", "%d.%m.%Y", "%m/%d/%y"):
        arr = pa.array(u.array)
        parsed = pc.strptime(arr, format=fmt, unit="s", error_is_null=True)
        want = np.asarray(pc.is_valid(parsed)) & np.asarray(
            pc.fill_null(pc.equal(pc.strftime(parsed, format=fmt), arr), False))
        assert (_fast_checks._declared_ok(u, fmt) == want).all(), fmt
        # the same values in uneven, sliced chunks, with nulls among them
        whole = pa.array(list(vals[:7000]) + [None] * 3 + list(vals[7000:]), pa.large_string())
        chunked = pd.Series(pd.arrays.ArrowStringArray(pa.chunked_array(
            [whole.slice(0, 1), whole.slice(1, 6999), whole.slice(7000, 5), whole.slice(7005)])))
        got = _fast_checks._declared_ok(chunked, fmt)
        assert (np.delete(got, [7000, 7001, 7002]) == want).all() and not got[7000:7003].any(), fmt



def test_declared_date_check_of_a_column_all_in_shape_equals_the_round_trip():
    """Every value in the layout's shape with a year from 1000 on (the usual column): the check
    answers from the fields alone, February 29th by the year, and still agrees with Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rnd = random.Random(10)
    vals = ["02/29/2000", "02/29/1900", "02/29/2024", "02/29/2023", "02/28/2023", "12/31/1999", "00/01/2020",
            "13/01/2020", "06/31/2020", "06/00/2020", "99/99/9999"]
    vals += [f"{rnd.randint(0, 13):02d}/{rnd.randint(0, 32):02d}/{rnd.randint(1000, 2400):04d}" for _ in range(8000)]
    u = pd.Series(vals, dtype=S)
    arr = pa.array(u.array)
    parsed = pc.strptime(arr, format="%m/%d/%Y", unit="s", error_is_null=True)
    want = np.asarray(pc.is_valid(parsed)) & np.asarray(
        pc.fill_null(pc.equal(pc.strftime(parsed, format="%m/%d/%Y"), arr), False))
    got = _fast_checks._declared_ok(u, "%m/%d/%Y")
    assert (got == want).all()
    assert got[:4].tolist() == [True, False, True, False] and not got[6:11].any()

@pytest.mark.parametrize("fmt", ["%m/%d/%Y %H:%M", "%m/%d/%Y"])
def test_timestamps_checked_row_by_row_equal_the_distinct_value_checks(monkeypatch, fmt):
    """A mostly distinct time-stamp column skips factorizing: every row is its own value. Each
    row's problem and date layout must be what the distinct-value path gives it."""
    rnd = random.Random(11)
    vals = []
    for _ in range(60_000):
        r = rnd.random()
        if r < 0.03:
            vals.append(None)
        elif r < 0.05:
            vals.append(rnd.choice(["02/30/2020 10:00", " 01/02/2020 10:00 ", "2020-01-02", "1/2/20", "soon",
                                    "01/02/2020", "01/02/2020 10:00", "\u00a001/02/2020 10:00"]))
        else:
            vals.append(f"{rnd.randint(1, 12):02d}/{rnd.randint(1, 28):02d}/{rnd.randint(1990, 2030)} "
                        f"{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}")
    s = pd.Series(vals, dtype=S)

    def per_row(mostly_distinct: bool):
        monkeypatch.setattr(_fast_checks, "_mostly_distinct", lambda _s: mostly_distinct)
        codes, probs, used = _fast_checks.column_checks(s, "datetime", fmt)
        ok = codes >= 0
        p = np.where(ok, probs.to_numpy(dtype=object)[np.maximum(codes, 0)], None)
        u = np.where(ok, used.to_numpy(dtype=object)[np.maximum(codes, 0)], None)
        return [None if pd.isna(x) else x for x in p], [None if pd.isna(x) else x for x in u]

    fast, exact = per_row(True), per_row(False)
    assert fast == exact
    assert any(fast[0]) and len(set(fast[1])) > 2  # problems found, several layouts seen
    monkeypatch.undo()
    assert _fast_checks._mostly_distinct(s) and not _fast_checks._mostly_distinct(
        pd.Series([f"01/{d % 28 + 1:02d}/2020" for d in range(60_000)], dtype=S))


def _column(values) -> pd.Series:
    return pd.Series(pd.array(values, dtype=S))


def test_a_few_thousand_dates_over_many_rows_go_by_distinct_value():
    rnd = random.Random(3)
    dates = [f"{m:02d}/{d:02d}/{y}" for y in range(2010, 2025) for m in range(1, 13) for d in range(1, 29)]
    assert 5000 < len(dates) < 6000
    # every date shows up in a 20,000-row sample, which a share of the sample would call "varied"
    column = _column([rnd.choice(dates) for _ in range(400_000)])
    assert _expectations._few_distinct(column)


def test_time_stamps_ids_and_sparse_distinct_values_go_row_by_row():
    rnd = random.Random(4)
    stamps = _column([f"2024-01-01 {i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.{i}" for i in range(200_000)])
    assert not _expectations._few_distinct(stamps)
    # skewed: a few stamps repeat thousands of times, the rest are their own (batch imports)
    skewed = _column([f"S{rnd.randrange(20)}" if rnd.random() < .4 else f"U{i}" for i in range(200_000)])
    assert not _expectations._few_distinct(skewed)
    # mostly empty: the nulls repeat, the values do not
    sparse = _column([f"P{i}" if i % 5 == 0 else None for i in range(200_000)])
    assert not _expectations._few_distinct(sparse)


def test_distinct_estimate_from_a_sample():
    rnd = random.Random(6)
    for distinct in (300, 5_000, 50_000):
        sample = pd.Series([rnd.randrange(distinct) for _ in range(20_000)]).value_counts().to_numpy()
        assert 0.8 * distinct < _expectations._distinct_estimate(sample) < 1.25 * distinct


@pytest.mark.parametrize("typ", ["date", "datetime"])
@pytest.mark.parametrize("declared", [None, "%m/%d/%Y", "%Y-%m-%d", "%d %b %Y"])
def test_a_date_columns_problems_are_the_transforms_own(typ, declared):
    """The profile reads a date column's problems from the layouts it found; they must be
    exactly what the mapping's transform says of each value, layout by layout."""
    from toolkit.mapping import apply_transform

    vals = ["01/02/2020", "2020-01-02", "1/2/20", "02.01.2020", "02/30/2020", "soon", "", "   ", None,
            " 03/04/2021 ", "2020/01/02", "01-02-2020", "01/02/2020 10:30", "2020-01-02T10:30:00", "0/0/0"]
    s = pd.Series(vals * 3, dtype=S)
    codes, probs, used = _fast_checks.column_checks(s, typ, declared)
    _, want = apply_transform(typ, s)
    ok = codes >= 0
    got = np.where(ok, probs.to_numpy(dtype=object)[np.maximum(codes, 0)], None)
    got = [None if pd.isna(x) else x for x in got]
    assert got == [None if pd.isna(x) else x for x in want]
    assert sum(x is not None for x in got) == 3 * 3  # 02/30/2020, soon, 0/0/0
    layouts = np.where(ok, used.to_numpy(dtype=object)[np.maximum(codes, 0)], None)
    assert layouts[0] == "%m/%d/%Y" and layouts[1] == "%Y-%m-%d" and pd.isna(layouts[5])


def test_addresses_refused_for_their_domain_get_the_transforms_own_problem():
    """An address of a plain local part is settled by one verdict per domain; every problem,
    word for word, is the one the mapping's transform gives the whole address."""
    from toolkit.mapping import apply_transform

    locals_ = ["a", "john.smith", "j_s+tag", "x-y", "A.B", "a..b", "a.", ".a", "a b", "a@b", '"q"', "é", "a" * 64,
               "a" * 65]
    domains = ["gmail.com", "gmail..com", "aol.com.", ".aol.com", "-x.com", "x-.com", "x_y.com", "ex ample.com",
               "localhost", "b", "ICLOUD..COM", "münchen.de", "[1.2.3.4]", "x.c", "x." + "a" * 63 + ".com",
               "x." + "a" * 64 + ".com", "a" * 250 + ".com", "123.com", "x.123"]
    values = [f"{lo}@{d}" for lo in locals_ for d in domains] + ["noat", "a@@b.com", "", "a@"]
    u = pd.Series(pd.array(values, dtype=S))
    got = [None if pd.isna(x) else x for x in _fast_checks.unique_problems(u, "email")]
    _, want = apply_transform("email", u)
    assert got == [None if pd.isna(x) else x for x in want]
    assert sum(x is not None for x in got) > 150
