"""The profile's value checks at a million rows: the same verdicts as the mapping's transforms,
computed once per distinct value and skipping the parser for values whose shape settles it.

A value is "invalid" exactly when the mapping transform would refuse it (that is what the audit
promises: these rows will not convert). Parsing a million phone numbers or addresses one by one
takes minutes, so:

* work is done per distinct value (``pd.factorize``), then spread back to the rows;
* values of an unambiguous shape are accepted by pattern — a US number written as ten digits
  with the usual punctuation and an area code starting 2-9 is always a "possible" number; a date
  that Arrow parses with the layout the export declares parses with the transform too (that
  layout is one of the transform's); a plain decimal is a number;
* e-mail addresses of a plain shape have their domain checked once per domain by the transform;
* everything else goes through the transform itself, so its message is the one reported.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..mapping import apply_transform, parse_dates
from ..mapping._transforms import DATE_FORMATS

__all__ = ["problems", "date_layouts"]

_PHONE_OK = r"^\(?[2-9]\d{2}\)?[-. ]?\d{3}[-. ]?\d{4}$"
_NUMBER_OK = r"^-?\d+(\.\d+)?$"
_EMAIL_SHAPE = re.compile(r"^[A-Za-z0-9]+([._+-][A-Za-z0-9]+)*@(([A-Za-z0-9]+(-[A-Za-z0-9]+)*\.)+[A-Za-z]{2,24})$")


def _uniques(s: pd.Series) -> tuple[np.ndarray, pd.Series]:
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    return codes, pd.Series(pd.array(uniq, dtype="string[pyarrow]"))


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
    kind = {"email": "email", "phone": "phone_e164", "date": "date", "datetime": "datetime",
            "money": "money", "number": "number"}[typ]
    codes, u = _uniques(s.astype("string").str.strip())
    result = pd.Series(None, index=u.index, dtype="object")
    if len(u) == 0:
        return _spread(codes, result, s.index)
    todo = np.ones(len(u), dtype=bool)
    if kind == "phone_e164":
        todo &= ~_matches(u, _PHONE_OK)
    elif kind in {"money", "number"}:
        todo &= ~_matches(u, _NUMBER_OK)
    elif kind in {"date", "datetime"} and declared_format in DATE_FORMATS:
        todo &= ~_declared_ok(u, declared_format)
    elif kind == "email":
        plain = u.map(lambda v: _EMAIL_SHAPE.match(v) if isinstance(v, str) and len(v) <= 254 else None)
        domains = plain.map(lambda m: m.group(2).lower() if m is not None and len(m.string.split("@")[0]) <= 64 else None)
        cand = domains.dropna()
        if len(cand):
            uniq_domains = pd.Series(pd.unique(cand))
            verdict = _transform_problems("email", "x@" + uniq_domains.astype("string"))
            good = set(uniq_domains[verdict.isna().to_numpy()])
            todo &= ~domains.isin(good).to_numpy()
    if todo.any():
        result[todo] = _transform_problems(kind, u[todo]).to_numpy()
    return _spread(codes, result, s.index)


def _declared_ok(u: pd.Series, fmt: str) -> np.ndarray:
    arr = pa.array(u.array)
    parsed = pc.strptime(arr, format=fmt, unit="s", error_is_null=True)
    ok = np.asarray(pc.is_valid(parsed).to_numpy(zero_copy_only=False))
    # Arrow is laxer about zero padding than the transform: accept only exact round trips
    same = np.asarray(pc.fill_null(pc.equal(pc.strftime(parsed, format=fmt), arr), False)
                      .to_numpy(zero_copy_only=False))
    return ok & same


def date_layouts(s: pd.Series, declared_format: str | None = None) -> pd.Series:
    """Per row, the layout the mapping's date parser reads the value with (None if none).

    Values written exactly in the declared layout are that layout without parsing them again."""
    codes, u = _uniques(s.astype("string").str.strip())
    if len(u) == 0:
        return pd.Series(None, index=s.index, dtype="object")
    used = pd.Series(None, index=u.index, dtype="object")
    todo = np.ones(len(u), dtype=bool)
    if declared_format in DATE_FORMATS:
        done = _declared_ok(u, declared_format)
        used[done] = declared_format
        todo &= ~done
    if todo.any():
        _, found = parse_dates(u[todo])
        used[todo] = found.to_numpy()
    return _spread(codes, used, s.index)
