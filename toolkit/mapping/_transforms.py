"""Named, vectorised value transforms that a mapping field may apply.

Each transform takes a pandas Series of source strings (``<NA>`` for empty) and returns
``(values, problems)``: the converted Series, and a Series holding a one-line problem where a
value could not be converted (that value becomes ``<NA>`` and the record is flagged for review,
never silently altered). Work is done once per distinct value, so a million rows with a few
thousand distinct phones cost a few thousand parses.
"""

from __future__ import annotations

import re
from typing import Callable

import pandas as pd
import phonenumbers
from email_validator import EmailNotValidError, validate_email

from ..registry import Registry

__all__ = ["transforms", "apply_transform", "parse_dates", "date_problem", "email_problem", "email_domain_problem",
           "DATE_FORMATS"]

Transform = Callable[[pd.Series], tuple[pd.Series, pd.Series]]
transforms: Registry[Transform] = Registry("transform")

#: date layouts seen in practice-system exports, tried in this order (US month-first before
#: day-first: a US export's 03/04/2020 is March 4th)
DATE_FORMATS = ("%m/%d/%Y", "%Y-%m-%d", "%m/%d/%y", "%m-%d-%Y", "%d.%m.%Y", "%Y/%m/%d", "%m/%d/%Y %H:%M",
                "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%m/%d/%Y %H:%M:%S", "%m/%d/%y %H:%M")


def _none(s: pd.Series) -> pd.Series:
    return pd.Series(pd.NA, index=s.index, dtype="object")


def _per_unique(s: pd.Series, fn: Callable[[str], tuple[object, str | None]]) -> tuple[pd.Series, pd.Series]:
    present = s.dropna()
    uniq = pd.unique(present)
    results = {u: fn(u) for u in uniq}
    values = present.map(lambda v: results[v][0])
    problems = present.map(lambda v: results[v][1])
    return values.reindex(s.index).astype("object"), problems.reindex(s.index).astype("object")


def _strip(s: pd.Series) -> pd.Series:
    out = s.astype("string").str.strip()
    return out.mask(out == "").astype("object")


def _register(name: str):
    def deco(fn: Transform) -> Transform:
        transforms.register(name, fn)
        return fn
    return deco


@_register("strip")
def t_strip(s):
    return _strip(s), _none(s)


@_register("title")
def t_title(s):
    """Title-case names typed all in capitals or all in lower case; leave mixed case alone."""
    v = _strip(s).astype("string")
    shout = (v == v.str.upper()) | (v == v.str.lower())
    return v.where(~shout.fillna(False), v.str.title()).astype("object"), _none(s)


@_register("upper")
def t_upper(s):
    return _strip(s).astype("string").str.upper().astype("object"), _none(s)


@_register("state")
def t_state(s):
    """A state or province: a code in capitals (``ma`` -> ``MA``), a name in title case
    (``MASSACHUSETTS`` -> ``Massachusetts``)."""
    v = _strip(s).astype("string")
    out = v.where(v.str.len() > 3, v.str.upper())
    out = out.where(v.str.len() <= 3, v.str.title())
    return out.astype("object").where(v.notna(), pd.NA), _none(s)


@_register("lower")
def t_lower(s):
    return _strip(s).astype("string").str.lower().astype("object"), _none(s)


def _email(v: str):
    try:
        return validate_email(v, check_deliverability=False).normalized.lower(), None
    except EmailNotValidError as exc:
        return pd.NA, email_problem(v, str(exc))


def email_problem(value: str, why: str) -> str:
    """The ``email`` transform's problem for ``value``, refused for the reason ``why``."""
    return f"invalid email {value!r}: {why}"


def email_domain_problem(domain: str) -> str | None:
    """Why an address of a plain local part (letters and digits, single ``. _ + -`` between
    them) at ``domain`` is refused, or None when it is not: the local part passes every check,
    so the domain alone decides (checks that see an address whole, its length above all, are
    the caller's to rule out)."""
    try:
        validate_email("x@" + domain, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


@_register("email")
def t_email(s):
    return _per_unique(_strip(s), _email)


#: an extension written after the number ("x12", "ext. 12", "extension 12"): the only letters a
#: phone value may hold
_EXTENSION = re.compile(r"[\s,;]*(?:x|ext\.?|extension)\s*\d+\s*$", re.IGNORECASE)


def _phone(v: str, region: str = "US"):
    # Letters are a remark ("call work", "493-CALL"), not a vanity number to spell out: dialling
    # them as digits would store a stranger's number.
    if any(c.isalpha() for c in _EXTENSION.sub("", v)):
        return pd.NA, f"phone {v!r} holds letters where digits belong"
    try:
        num = phonenumbers.parse(v, region)
        # "possible" (right length for the region), not "valid": numbering-plan tables lag
        # reality, and a real patient's new area code must not be dropped. A number possible only
        # locally (seven digits in the US) lacks its area code: "+1" and seven digits is no number.
        reason = phonenumbers.is_possible_number_with_reason(num)
        if reason == phonenumbers.ValidationResult.IS_POSSIBLE:
            return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164), None
        if reason == phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
            return pd.NA, f"phone {v!r} has no area code"
    except phonenumbers.NumberParseException:
        pass
    return pd.NA, f"phone {v!r} cannot be read as a {region} number"


@_register("phone_e164")
def t_phone(s):
    return _per_unique(_strip(s), _phone)


def parse_dates(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a Series of mixed-layout dates; returns (Timestamps, layout used per value)."""
    v = _strip(s).astype("string")
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    used = pd.Series(pd.NA, index=s.index, dtype="object")
    for fmt in DATE_FORMATS:
        todo = out.isna() & v.notna()
        if not todo.any():
            break
        parsed = pd.to_datetime(v[todo], format=fmt, errors="coerce")
        ok = parsed.notna()
        out.loc[parsed.index[ok]] = parsed[ok]
        used.loc[parsed.index[ok]] = fmt
    return out, used


def date_problem(value: str) -> str:
    """The problem reported for a (stripped, non-empty) value that no layout of
    :data:`DATE_FORMATS` reads: the ``date`` and ``datetime`` transforms' own words, for checks
    that found the layouts by :func:`parse_dates` already."""
    return f"date {value!r} matches no known layout"


def _dates(s, fmt: str):
    parsed, _ = parse_dates(s)
    present = _strip(s).notna()
    bad = present & parsed.isna()
    values = parsed.dt.strftime(fmt).astype("object").where(parsed.notna(), pd.NA)
    problems = _none(s)
    problems[bad] = _strip(s)[bad].map(date_problem)
    return values, problems


@_register("date")
def t_date(s):
    return _dates(s, "%Y-%m-%d")


@_register("datetime")
def t_datetime(s):
    return _dates(s, "%Y-%m-%dT%H:%M:%S")


def _numbers(s):
    v = _strip(s)
    cleaned = v.astype("string").str.replace(r"[$,\s]", "", regex=True)
    num = pd.to_numeric(cleaned, errors="coerce")
    bad = v.notna() & num.isna()
    problems = _none(s)
    problems[bad] = "number " + v[bad].map(repr) + " is not numeric"
    return num.astype("object").where(num.notna(), pd.NA), problems


@_register("number")
def t_number(s):
    return _numbers(s)


@_register("money")
def t_money(s):
    values, problems = _numbers(s)
    return values.map(lambda x: round(float(x), 2) if x is not pd.NA else x), problems


@_register("given_names")
def t_given_names(s):
    """A whole name's words before the last ("Mary Ann Lee" -> "Mary Ann"; one word: itself)."""
    v = _strip(s).astype("string")
    parts = v.str.rsplit(n=1)
    return parts.map(lambda p: p[0] if isinstance(p, list) and p else pd.NA).astype("object"), _none(s)


@_register("family_name")
def t_family_name(s):
    """A whole name's last word ("Mary Ann Lee" -> "Lee"); empty for a one-word name."""
    v = _strip(s).astype("string")
    parts = v.str.rsplit(n=1)
    return parts.map(lambda p: p[1] if isinstance(p, list) and len(p) == 2 else pd.NA).astype("object"), _none(s)


@_register("whole_number")
def t_whole_number(s):
    """A number rounded to a whole one, for a field whose API takes integers only."""
    values, problems = _numbers(s)
    return values.map(lambda x: int(round(float(x))) if x is not pd.NA else x), problems


@_register("yn_bool")
def t_yn(s):
    v = _strip(s).astype("string").str.upper()
    out = v.map({"Y": True, "YES": True, "TRUE": True, "1": True, "N": False, "NO": False, "FALSE": False, "0": False})
    bad = v.notna() & out.isna()
    problems = _none(s)
    problems[bad] = "flag " + v[bad].map(repr) + " is not Y/N"
    return out.astype("object"), problems


@_register("time_of_day")
def t_time_of_day(s):
    """The time of day of a date-time, as ``HH:MM`` (an activity's due time)."""
    return _dates(s, "%H:%M")


@_register("percent")
def t_percent(s):
    """A probability as a decimal percentage: "40%", "40" and 0.4 all become 40.0.

    A column whose every value lies in 0..1 is read as fractions (0.4 = 40%); any value above 1
    makes the whole column percentages, so one column is never read two ways.
    """
    v = _strip(s).astype("string").str.replace("%", "", regex=False).str.strip()
    num = pd.to_numeric(v, errors="coerce")
    bad = v.notna() & num.isna()
    if num.notna().any() and num.max() <= 1:
        num = num * 100
    problems = _none(s)
    problems[bad] = "percentage " + v[bad].map(repr) + " is not numeric"
    return num.round(4).astype("object").where(num.notna(), pd.NA), problems


@_register("comma_list")
def t_comma_list(s):
    """Several values in one cell (";", "|" or "," between them) as comma-separated text.

    For multi-select values going where the destination has no multi-select field.
    """
    v = _strip(s).astype("string")
    parts = v.str.split(r"\s*[;|,]\s*", regex=True)
    out = parts.map(lambda p: ", ".join(dict.fromkeys(x for x in p if x)) if isinstance(p, list) else pd.NA)
    return out.astype("object").where(v.notna(), pd.NA), _none(s)


@_register("tag_list")
def t_tag_list(s):
    """Several labels in one cell (``football-fan, manager``; ";" or "|" also separate) as a list
    of tags, each once, in the cell's order."""
    v = _strip(s).astype("string")
    parts = v.str.split(r"\s*[;|,]\s*", regex=True)
    out = parts.map(lambda p: list(dict.fromkeys(x for x in p if x)) if isinstance(p, list) else pd.NA)
    return out.astype("object").where(v.notna(), pd.NA), _none(s)


@_register("code_list")
def t_code_list(s):
    """Codes separated by spaces, commas, semicolons or bars (``D4341 D4910``) as ``D4341, D4910``."""
    v = _strip(s).astype("string")
    parts = v.str.split(r"[\s;|,]+", regex=True)
    out = parts.map(lambda p: ", ".join(dict.fromkeys(x for x in p if x)) if isinstance(p, list) else pd.NA)
    return out.astype("object").where(v.notna(), pd.NA), _none(s)


@_register("domain")
def t_domain(s):
    """A website or email address as its domain (``https://www.northgate.example/`` -> ``northgate.example``)."""
    v = _strip(s).astype("string").str.lower()
    host = v.str.replace(r"^[a-z][a-z0-9+.-]*://", "", regex=True).str.split("/").str[0].str.split("@").str[-1]
    out = host.str.replace(r"^www\.", "", regex=True).str.replace(r":\d+$", "", regex=True)
    problems = pd.Series(pd.NA, index=s.index, dtype="object")
    ok = out.str.contains(r"^[a-z0-9-]+(?:\.[a-z0-9-]+)+$", regex=True).fillna(False).astype(bool)
    bad = out.notna() & ~ok
    problems[bad] = "not a web address or domain"
    return out.astype("object").where(out.notna() & ~bad, pd.NA), problems


def apply_transform(name: str | None, s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Apply the transform called ``name`` (``None`` = strip) to ``s``."""
    return transforms.get(name or "strip")(s)
