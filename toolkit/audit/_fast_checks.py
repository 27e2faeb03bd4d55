"""The profile's value checks at a million rows: the same verdicts as the mapping's transforms,
computed once per distinct value and skipping the parser for values whose shape settles it.

A value is "invalid" exactly when the mapping transform would refuse it (that is what the audit
promises: these rows will not convert). Parsing a million phone numbers or addresses one by one
takes minutes, so:

* work is done per distinct value (``pd.factorize``), then spread back to the rows — except
  for time-stamp columns whose values hardly repeat, checked row by row (see ``column_checks``);
* values of an unambiguous shape are accepted by pattern — a US number written as ten digits
  with the usual punctuation and an area code starting 2-9 is always a "possible" number; a date
  that Arrow parses with the layout the export declares parses with the transform too (that
  layout is one of the transform's); a plain decimal is a number;
* e-mail addresses of a plain shape have their domain checked once per domain by the transform,
  and so do addresses of a plain local part refused for their domain (``…@icloud..com``);
* a date column is parsed once: its problems are the values no layout reads;
* everything else goes through the transform itself, so its message is the one reported.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..mapping import (DATE_FORMATS, apply_transform, date_problem, email_domain_problem, email_problem,
                       parse_dates)
from .._arrow_bytes import arrow_strings, chunk_bytes, spread_sample, valid_rows
from .._fixed_width import FixedWidth, fixed_width, shape_and_fields

__all__ = ["problems", "date_layouts", "column_checks", "unique_problems", "unique_date_layouts"]

_KINDS = {"email", "phone", "date", "datetime", "money", "number"}

_PHONE_OK = r"^\(?[2-9]\d{2}\)?[-. ]?\d{3}[-. ]?\d{4}$"
_NUMBER_OK = r"^-?\d+(\.\d+)?$"
_EMAIL_SHAPE = re.compile(r"^[A-Za-z0-9]+([._+-][A-Za-z0-9]+)*@(([A-Za-z0-9]+(-[A-Za-z0-9]+)*\.)+[A-Za-z]{2,24})$")


def _uniques(s: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Codes and distinct values of ``s.astype("string").str.strip()`` (NA: code -1), in order of
    first appearance — factorizing the raw column first and stripping only its distinct
    values, so no stripped copy of a million-row column is made."""
    codes, raw = pd.factorize(s.array, use_na_sentinel=True)
    codes = np.asarray(codes)
    raw = pd.Series(raw).astype("string")
    if not len(raw) or not _may_strip(raw):
        # nothing to strip (ASCII, no control or space at either end): already distinct
        return codes, pd.Series(pd.array(raw.array, dtype="string[pyarrow]"))
    stripped = raw.str.strip()
    inner, uniq = pd.factorize(stripped, use_na_sentinel=True)
    inner = np.asarray(inner)
    out = np.where(codes >= 0, inner[np.maximum(codes, 0)] if len(inner) else -1, -1)
    return out, pd.Series(pd.array(uniq, dtype="string[pyarrow]"))


def _may_strip(values: pd.Series) -> bool:
    """Whether stripping could change any value: one starts or ends with a control character
    or space, or holds a non-ASCII character (Unicode spaces). Read from the Arrow buffers: the
    first and last byte of each value, and any byte of 0x80 or more."""
    data = arrow_strings(values)
    if data is None:
        data = pa.chunked_array([pa.array(values.astype("string[pyarrow]").array)])
    for chunk in (data.chunks if isinstance(data, pa.ChunkedArray) else [data]):
        if len(chunk) == 0:
            continue
        offsets, body = chunk_bytes(chunk)
        if offsets[-1] == offsets[0]:
            continue
        if (body[offsets[0]:offsets[-1]] >= 0x80).any():
            return True
        filled = offsets[1:] > offsets[:-1]
        if (valid := valid_rows(chunk)) is not None:
            filled &= valid
        starts = offsets[:-1][filled]
        if (body[starts] <= 0x20).any() or (body[offsets[1:][filled] - 1] <= 0x20).any():
            return True
    return False


def _spread(codes: np.ndarray, per_unique: pd.Series, index: pd.Index) -> pd.Series:
    vals = per_unique.to_numpy(dtype=object)
    out = np.full(len(codes), None, dtype=object)
    ok = codes >= 0
    out[ok] = vals[codes[ok]]
    return pd.Series(out, index=index, dtype="object")


def _matches(u: pd.Series, pattern: str) -> np.ndarray:
    arr = pa.array(u.array)
    return np.asarray(pc.fill_null(pc.match_substring_regex(arr, pattern), False).to_numpy(zero_copy_only=False))


def _transform_problems(kind: str, u: pd.Series) -> pd.Series:
    _, probs = apply_transform(kind, u)
    return probs.astype("object")


def problems(s: pd.Series, typ: str, declared_format: str | None = None) -> pd.Series:
    """Per row: the transform's one-line problem, or None where the value converts (or is empty).

    Args:
        s: the column as read.
        typ: the layout type (email, phone, date, datetime, money, number).
        declared_format: the strftime layout the export declares for a date column.
    """
    codes, u = _uniques(s)
    return _spread(codes, unique_problems(u, typ, declared_format), s.index)


def unique_problems(u: pd.Series, typ: str, declared_format: str | None = None,
                    declared_ok: np.ndarray | None = None) -> pd.Series:
    """:func:`problems` for distinct (stripped) values ``u``: one entry per value."""
    kind = {"email": "email", "phone": "phone_e164", "date": "date", "datetime": "datetime",
            "money": "money", "number": "number"}[typ]
    result = pd.Series(None, index=u.index, dtype="object")
    if len(u) == 0:
        return result
    todo = np.ones(len(u), dtype=bool)
    if kind == "phone_e164":
        todo &= ~_matches(u, _PHONE_OK)
    elif kind in {"money", "number"}:
        todo &= ~_matches(u, _NUMBER_OK)
    elif kind in {"date", "datetime"} and declared_format in DATE_FORMATS:
        todo &= ~(declared_ok if declared_ok is not None else _declared_ok(u, declared_format))
    elif kind == "email":
        domains = _plain_email_domains(u)
        cand = domains.dropna()
        if len(cand):
            good = {d for d in pd.unique(cand) if email_domain_problem(d) is None}
            todo &= ~domains.isin(good).to_numpy()
        _refused_by_domain(u, todo, result)
    if todo.any():
        result[todo] = _transform_problems(kind, u[todo]).to_numpy()
    return result


_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9]+(?:[._+-][A-Za-z0-9]+)*")


def _refused_by_domain(u: pd.Series, todo: np.ndarray, result: pd.Series) -> None:
    """Settle the addresses left in ``todo`` whose local part is plain and whose domain is ASCII
    (``icloud..com``, ``aol.com.``) by one verdict per distinct domain: such an address is
    refused exactly when its domain is, and for the domain's reason. Writes their problems into
    ``result`` and takes them out of ``todo``; the rest stay for the transform."""
    rest = np.flatnonzero(todo)
    if not len(rest):
        return
    by_domain: dict[str, list[int]] = {}
    for k, v in zip(rest.tolist(), u.iloc[rest].tolist()):
        local, at, domain = v.rpartition("@")
        # the plain shape's limits: 64 characters before the @, 254 in all (ASCII: one byte each)
        if at and len(local) <= 64 and len(v) <= 254 and domain.isascii() and _PLAIN_LOCAL.fullmatch(local):
            by_domain.setdefault(domain, []).append(k)
    for domain, ks in by_domain.items():
        why = email_domain_problem(domain)
        if why is not None:
            result.iloc[ks] = [email_problem(u.iloc[k], why) for k in ks]
        todo[ks] = False


def _plain_email_domains(u: pd.Series) -> pd.Series:
    """Lower-cased domain of each value of the plain shape ``_EMAIL_SHAPE`` (at most 254
    characters, local part at most 64), else None. The shape is all ASCII with one ``@``, so
    Arrow (RE2, the same pattern: ASCII classes, no look-arounds) tests it and cuts the domain
    at the ``@``; no Python string per value."""
    out = pd.Series(None, index=u.index, dtype="object")
    if len(u) == 0:
        return out
    arr = pa.array(u.array)
    arr = arr.cast(pa.string()) if not pa.types.is_string(arr.type) else arr
    at = pc.find_substring(arr, "@")
    ok = pc.and_kleene(pc.match_substring_regex(arr, _EMAIL_SHAPE.pattern),
                       pc.and_kleene(pc.less_equal(pc.utf8_length(arr), 254), pc.less_equal(at, 64)))
    ok = np.asarray(pc.fill_null(ok, False).to_numpy(zero_copy_only=False), dtype=bool)
    if not ok.any():
        return out
    picked = pc.filter(arr, pa.array(ok))
    domains = pc.utf8_lower(pc.replace_substring_regex(picked, "^[^@]*@", "", max_replacements=1))
    out.iloc[np.flatnonzero(ok)] = domains.to_numpy(zero_copy_only=False)
    return out


def _declared_ok(u: pd.Series, fmt: str) -> np.ndarray:
    """Which values are written exactly in the layout ``fmt``: Arrow parses them with it and
    formats them back to the same text (Arrow is laxer about zero padding than the transform).

    For layouts of fixed-width numeric fields (%Y %m %d %H %M %S and literal separators) the
    round trip's verdict is computed without formatting a million timestamps: a value whose
    shape is exact and whose fields form a real date and time (4-digit year from 1000, month
    1-12, day within that month, hour < 24, minute and second < 60) round-trips, and one whose
    fields do not is refused by the parser or comes back different (Feb 30 becomes Mar 2). Other
    values take the round trip itself."""
    arr = pa.array(u.array)
    out = np.zeros(len(arr), dtype=bool)
    plan = _fixed_width(fmt)
    rest = np.arange(len(arr))
    if plan is not None and len(arr):
        shape, f = shape_and_fields(arr, plan)
        cand = np.flatnonzero(shape)
        if len(cand):
            n = len(cand)
            y = f.get("%Y", np.full(n, 2000))
            m = f.get("%m", np.ones(n, dtype=np.int32))
            d = f.get("%d", np.ones(n, dtype=np.int32))
            sure = y >= 1000  # years before 1000 (and anything unusual) take the round trip
            good = _MONTH_DAY[m * 100 + d]  # both at most 99: two digits each
            feb29 = np.flatnonzero((m == 2) & (d == 29))
            if len(feb29):  # the one day the year decides
                yy = y[feb29]
                good[feb29] = ((yy % 4 == 0) & (yy % 100 != 0)) | (yy % 400 == 0)
            for key, top in (("%H", 23), ("%M", 59), ("%S", 59)):
                if key in f:
                    good &= f[key] <= top
            if n == len(arr) and sure.all():
                return good
            out[cand[sure]] = good[sure]
            settled = np.zeros(len(arr), dtype=bool)
            settled[cand[sure]] = True
            rest = np.flatnonzero(~settled)
        else:
            rest = np.arange(len(arr))
    if len(rest):
        part = arr.take(pa.array(rest)) if len(rest) < len(arr) else arr
        parsed = pc.strptime(part, format=fmt, unit="s", error_is_null=True)
        ok = np.asarray(pc.is_valid(parsed).to_numpy(zero_copy_only=False))
        same = np.asarray(pc.fill_null(pc.equal(pc.strftime(parsed, format=fmt), part), False)
                          .to_numpy(zero_copy_only=False))
        out[rest] = ok & same
    return out


def _month_days() -> np.ndarray:
    """``[month * 100 + day]`` -> whether that day exists in some year (February 29th only in a
    leap year: the caller settles it by the year)."""
    table = np.zeros(100 * 100, dtype=bool)
    for month, days in enumerate((31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31), start=1):
        table[month * 100 + 1:month * 100 + days + 1] = True
    return table


_MONTH_DAY = _month_days()


def _fixed_width(fmt: str) -> FixedWidth | None:
    """The fixed-width layout of ``fmt`` when it has a year, a month and a day and its
    separators are punctuation or spaces (a letter among them takes the round trip), else None."""
    layout = fixed_width(fmt)
    if layout is None or not {"%m", "%d"} <= layout.offsets.keys():
        return None
    if any(b is not None and chr(b).isalnum() for b in layout.layout):
        return None
    return layout


def date_layouts(s: pd.Series, declared_format: str | None = None) -> pd.Series:
    """Per row, the layout the mapping's date parser reads the value with (None if none).

    Values written exactly in the declared layout are that layout without parsing them again."""
    codes, u = _uniques(s)
    if len(u) == 0:
        return pd.Series(None, index=s.index, dtype="object")
    return _spread(codes, unique_date_layouts(u, declared_format), s.index)


def unique_date_layouts(u: pd.Series, declared_format: str | None = None,
                        declared_ok: np.ndarray | None = None) -> pd.Series:
    """:func:`date_layouts` for distinct (stripped) values ``u``."""
    names = np.array(DATE_FORMATS + (None,), dtype=object)  # code -1 takes the last: None
    return pd.Series(names[_layout_codes(u, declared_format, declared_ok)], index=u.index, dtype="object")


def _layout_codes(u: pd.Series, declared_format: str | None, declared_ok: np.ndarray | None) -> np.ndarray:
    """Per distinct value, the position in ``DATE_FORMATS`` of the layout the mapping's date
    parser reads it with, or -1. Small integers, not a string per value: a column of time
    stamps checked row by row has millions of "distinct values", and their layouts are counted."""
    out = np.full(len(u), -1, dtype=np.int8)
    todo = np.ones(len(u), dtype=bool)
    if declared_format in DATE_FORMATS:
        done = declared_ok if declared_ok is not None else _declared_ok(u, declared_format)
        out[done] = DATE_FORMATS.index(declared_format)
        todo &= ~done
    if todo.any():
        _, found = parse_dates(u[todo])
        out[todo] = pd.Index(DATE_FORMATS).get_indexer(found.to_numpy(dtype=object))
    return out


def _undated(u: pd.Series, layout_codes: np.ndarray) -> pd.Series:
    """The ``date``/``datetime`` transforms' problem per distinct value, from the layouts
    already found: a value no layout reads is refused (an empty one is not a value)."""
    out = pd.Series(None, index=u.index, dtype="object")
    bad = layout_codes < 0
    if bad.any():
        bad &= (u.str.len() > 0).fillna(False).to_numpy(dtype=bool)
        out[bad] = u[bad].map(date_problem).to_numpy(dtype=object)
    return out


def column_checks(s: pd.Series, typ: str, declared_format: str | None = None
                  ) -> tuple[np.ndarray, pd.Series | None, pd.Series | None]:
    """One pass over a column for the profile: (codes per row, problem per distinct value or
    None when the type has no check, date layout per distinct value or None when not a date).

    The layouts come as a categorical Series over ``DATE_FORMATS`` (missing: no layout reads
    the value), and a date column's problems are read from them: the transform refuses exactly
    the values its parser finds no layout for, so the values are parsed once, not twice.

    A timestamp column in a declared fixed-width layout whose values are mostly distinct
    (created/modified stamps) is checked row by row instead: every non-empty row is its own
    "distinct value" (codes 0, 1, 2, … in row order, so first appearances keep their order).
    Hashing a few million such values to find the repeats costs more than the digit checks
    they would spare, and every verdict is the same either way.
    """
    dated = typ in {"date", "datetime"}
    if (dated and declared_format in DATE_FORMATS
            and _fixed_width(declared_format) is not None and _mostly_distinct(s)):
        codes, u = _rows_as_values(s)
    else:
        codes, u = _uniques(s)
    if not dated:
        return codes, unique_problems(u, typ, declared_format) if typ in _KINDS else None, None
    if not len(u):
        return codes, pd.Series(None, index=u.index, dtype="object"), None
    ok = _declared_ok(u, declared_format) if declared_format in DATE_FORMATS else None
    found = _layout_codes(u, declared_format, ok)
    layouts = pd.Series(pd.Categorical.from_codes(found, categories=list(DATE_FORMATS)), index=u.index)
    return codes, _undated(u, found), layouts


_SAMPLE = 20_000


def _mostly_distinct(s: pd.Series) -> bool:
    """Most of 20,000 values taken evenly across the column are distinct. (A column of a few
    thousand dates repeats them within such a sample; one of time stamps does not.)"""
    if len(s) <= _SAMPLE:
        return False
    sample = spread_sample(s, _SAMPLE)
    return sample.nunique() > len(sample) // 2


def _rows_as_values(s: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """:func:`_uniques`' result with each non-empty row taken as its own value: codes count
    the non-null rows in order (-1 for null), values are those rows, stripped."""
    valid = s.notna().to_numpy(dtype=bool)
    codes = np.full(len(s), -1, dtype=np.int64)
    codes[valid] = np.arange(int(valid.sum()), dtype=np.int64)
    values = s[valid] if not valid.all() else s
    values = pd.Series(pd.array(values.array, dtype="string[pyarrow]")).reset_index(drop=True)
    if len(values) and _may_strip(values):
        values = values.str.strip()
    return codes, values
