"""Writing a Great Expectations suite for each object of a declared export layout.

The suites in ``expectations/<source>/<object>.json`` are plain GX suite JSON that an analyst may
edit; this module writes their first version from the layout (``python -m toolkit.audit.
_suite_builder dent-o-soft``), so that every declared rule — required fields, email, phone
convertible to E.164, CDT codes, date layouts, pick-lists, upper limits, unique keys — is checked
and none is forgotten. Rules a suite cannot express (references between files, likely duplicate
people, parent chains) are the profile's and :mod:`toolkit.audit._integrity`'s.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..sources import date_regex

__all__ = ["suite_for", "write_suites", "date_regex", "at_most_regex", "EMAIL_REGEX", "PHONE_REGEX"]

#: an address a CRM will accept: no spaces, one @, no doubled dots, a dotted domain
# (written without look-arounds so that Arrow's RE2 engine runs it, not Python's per value)
EMAIL_REGEX = r"^[A-Za-z0-9_%+'-]+(\.[A-Za-z0-9_%+'-]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
#: every character Python's ``\s`` matches in text, spelled out as literal characters: pandas
# runs a pattern holding ``\s`` in Python's ``re`` value by value (RE2's ``\s`` is narrower),
# while this class matches exactly the same characters and lets Arrow's RE2 run the pattern
PY_SPACE = "\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: ten digits (optionally after a leading 1), whatever the punctuation: convertible to E.164
# (``\d`` stays: pandas itself hands non-ASCII text to Python's Unicode-aware ``\d``)
PHONE_REGEX = "^[" + PY_SPACE + r"()+.\-]*(1[" + PY_SPACE + r"()+.\-]*)?(\d[" + PY_SPACE + r"()+.\-]*){10}$"
#: the same pattern as first written, with ``\s`` (run by Python's ``re``); suites may hold either
PHONE_REGEX_PY = r"^[\s()+.\-]*(1[\s()+.\-]*)?(\d[\s()+.\-]*){10}$"
MONEY_REGEX = r"^-?\d+\.\d{2}$"
NUMBER_REGEX = r"^-?\d+(\.\d+)?$"
_READABLE = {"%Y": "YYYY", "%y": "YY", "%m": "MM", "%d": "DD", "%H": "HH", "%M": "MM", "%S": "SS",
             "%z": "+HHMM"}


def _readable(fmt: str) -> str:
    for d, r in _READABLE.items():
        fmt = fmt.replace(d, r)
    return fmt


def at_most_regex(limit: int) -> str:
    """A regular expression matching the whole numbers 0..``limit`` (GX compares strings as
    strings, so an upper limit on a text column is written as a pattern)."""
    s = str(int(limit))
    if len(s) == 1:
        return f"^[0-{s}]$"
    alts = [r"\d{1,%d}" % (len(s) - 1)] if len(s) > 1 else []
    for i, ch in enumerate(s):
        d = int(ch)
        lo = 1 if i == 0 else 0
        if d > lo:
            rest = len(s) - i - 1
            alts.append(s[:i] + (f"[{lo}-{d - 1}]" if d - 1 > lo else str(lo)) + (r"\d{%d}" % rest if rest else ""))
    alts.append(s)
    return "^(" + "|".join(alts) + ")$"


def _exp(kind: str, why: str, **kwargs) -> dict:
    return {"type": f"expect_{kind}", "kwargs": kwargs, "meta": {"why": why}}


def suite_for(source: str, name: str, obj) -> dict:
    """The GX suite for one :class:`~toolkit.sources._layout.ObjectLayout`."""
    key = obj.schema.key
    exps = [_exp("table_columns_to_match_set", "the export layout this suite was written for",
                 column_set=list(obj.columns), exact_match=False),
            _exp("column_values_to_not_be_null", f"every {name} record needs its source id",
                 column=key),
            _exp("column_values_to_be_unique", "source ids identify records", column=key)]
    for c in obj.spec:
        col = c.name
        if c.name == key:
            continue
        if c.required:
            exps.append(_exp("column_values_to_not_be_null", f"required: {col}", column=col))
        if c.unique:
            exps.append(_exp("column_values_to_be_unique", f"{col} identifies a record", column=col))
        if c.type == "email":
            exps.append(_exp("column_values_to_match_regex", "email must be a valid address",
                             column=col, regex=EMAIL_REGEX))
        elif c.type == "phone":
            exps.append(_exp("column_values_to_match_regex", "phone must convert to E.164",
                             column=col, regex=PHONE_REGEX))
        elif c.type in {"date", "datetime"} and c.format:
            exps.append(_exp("column_values_to_match_regex",
                             f"dates in the export's layout {_readable(c.format)}", column=col,
                             regex=date_regex(c.format)))
        elif c.type == "money":
            exps.append(_exp("column_values_to_match_regex", "money with two decimals",
                             column=col, regex=MONEY_REGEX))
        elif c.type == "number":
            exps.append(_exp("column_values_to_match_regex", "a number", column=col,
                             regex=at_most_regex(int(c.max)) if c.max is not None else NUMBER_REGEX))
        if c.max is not None and c.type != "number":
            exps.append(_exp("column_values_to_match_regex", f"at most {c.max:g}", column=col,
                             regex=at_most_regex(int(c.max))))
        if c.type == "text" and c.format and c.type not in {"date", "datetime"}:
            exps.append(_exp("column_values_to_match_regex",
                             f"values in the layout {_readable(c.format)}", column=col,
                             regex=date_regex(c.format)))
        if c.pattern:
            why = ("ADA CDT procedure code: D and four digits" if c.pattern == r"^D\d{4}$"
                   else f"values must match {c.pattern}")
            exps.append(_exp("column_values_to_match_regex", why, column=col, regex=c.pattern))
        if c.values is not None:
            exps.append(_exp("column_values_to_be_in_set", f"pick-list: {col}", column=col,
                             value_set=list(c.values)))
        if c.max is not None and c.type == "number":
            exps[-1]["meta"]["why"] = f"a number no larger than {c.max:g}"
    return {"name": f"{source}.{name}", "expectations": exps}


def write_suites(source: str, layout, folder: str | Path) -> list[Path]:
    """Write ``folder/<source>/<object>.json`` for every object of ``layout``."""
    out = Path(folder) / source
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, obj in layout.objects.items():
        path = out / f"{name}.json"
        path.write_text(json.dumps(suite_for(source, name, obj), indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":  # python -m toolkit.audit._suite_builder SOURCE [EXPECTATIONS_DIR]
    from .. import _paths
    from ..sources import registry

    src = registry.get(sys.argv[1])()
    for p in write_suites(src.name, src.layouts()[0], sys.argv[2] if len(sys.argv) > 2
                          else _paths.EXPECTATIONS):
        print(p)
