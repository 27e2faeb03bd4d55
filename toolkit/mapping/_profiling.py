"""Value profiles: what a column's values look like, in words a reviewer can check.

``profile(series)`` tries each value kind on the column's distinct non-empty values (a sample of
them for very wide columns) and reports the share that parse, e.g. "98% parse as E.164 phones".
The proposer uses the kind to confirm or contradict a name match, to find a column's meaning when
its name says nothing, and to choose a custom field's type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from ._transforms import apply_transform, parse_dates

__all__ = ["ValueProfile", "profile", "KIND_WORDS"]

#: how a kind is described in a reason
KIND_WORDS = {
    "email": "email addresses", "phone": "E.164 phones", "date": "dates", "datetime": "date-times", "time": "times of day",
    "money": "money amounts", "number": "numbers", "integer": "whole numbers", "percent": "percentages",
    "flag": "yes/no flags", "gender": "gender codes", "state": "US state codes", "zip": "ZIP/postal codes",
    "country": "country names or codes", "url": "web addresses", "ssn": "social security numbers",
    "card": "payment card numbers", "npi": "NPI numbers", "cdt": "CDT procedure codes", "id": "unique identifiers",
    "name": "names", "address": "street addresses", "multi": "lists of several values", "picklist": "pick-list values",
    "text": "free text",
}

US_STATES = set("AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH "
                "OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR GU VI AS MP".split())
COUNTRIES = {"us", "usa", "united states", "united states of america", "ca", "canada", "gb", "uk", "united kingdom",
             "au", "australia", "nz", "new zealand", "mx", "mexico", "de", "germany", "fr", "france", "ie", "ireland",
             "nl", "netherlands", "es", "spain", "it", "italy", "in", "india"} | set(
    # the world's countries by their English short names, so a column of them reads as countries
    "afghanistan albania algeria andorra angola argentina armenia austria azerbaijan bahamas bahrain bangladesh "
    "barbados belarus belgium belize benin bhutan bolivia botswana brazil brunei bulgaria burundi cambodia cameroon "
    "chad chile china colombia congo croatia cuba cyprus czechia denmark djibouti dominica ecuador egypt eritrea "
    "estonia eswatini ethiopia fiji finland gabon gambia georgia ghana greece grenada guatemala guinea guyana haiti "
    "honduras hungary iceland indonesia iran iraq israel jamaica japan jordan kazakhstan kenya kiribati kosovo kuwait "
    "kyrgyzstan laos latvia lebanon lesotho liberia libya liechtenstein lithuania luxembourg madagascar malawi "
    "malaysia maldives mali malta mauritania mauritius micronesia moldova monaco mongolia montenegro morocco "
    "mozambique myanmar namibia nauru nepal nicaragua niger nigeria norway oman pakistan palau panama paraguay peru "
    "philippines poland portugal qatar romania russia rwanda samoa senegal serbia seychelles singapore slovakia "
    "slovenia somalia sudan suriname sweden switzerland syria taiwan tajikistan tanzania thailand togo tonga tunisia "
    "turkey turkmenistan tuvalu uganda ukraine uruguay uzbekistan vanuatu venezuela vietnam yemen zambia zimbabwe".split()
) | {"south africa", "south korea", "north korea", "saudi arabia", "united arab emirates", "sri lanka", "costa rica",
     "el salvador", "dominican republic", "puerto rico", "hong kong", "czech republic", "new caledonia",
     "papua new guinea", "sierra leone", "ivory coast", "burkina faso", "trinidad and tobago", "bosnia and herzegovina",
     "north macedonia", "east timor", "cape verde", "south sudan", "san marino", "vatican city", "great britain",
     "england", "scotland", "wales", "northern ireland"}
GENDERS = {"m", "f", "u", "o", "x", "male", "female", "unknown", "other", "non-binary", "nonbinary", "woman", "man",
           "undisclosed", "prefer not to say"}  # numeric codes are not read as gender from values alone
FLAGS = {"y", "n", "yes", "no", "true", "false", "t", "f", "0", "1", "x", "checked", "unchecked"}

_RE = {
    "email": re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.I),
    "url": re.compile(r"^(https?://)?(www\.)?[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}(/\S*)?$", re.I),
    "ssn": re.compile(r"^(\d{3}-?\d{2}-?\d{4}|[*xX#]{3}-?[*xX#]{2}-?\d{4})$"),
    "zip": re.compile(r"^(\d{5}(-\d{4})?|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}|[A-Z]\d[A-Z] ?\d[A-Z]\d|\d{4})$", re.I),
    "cdt": re.compile(r"^D\d{4}$", re.I),
    "time": re.compile(r"^\d{1,2}:\d{2}(:\d{2})?\s*([ap]\.?m\.?)?$", re.I),
    "money": re.compile(r"^-?\(?\$?-?\s?\d{1,3}(,?\d{3})*(\.\d{2})\)?$|^-?\$\s?\d+(\.\d+)?$"),
    "integer": re.compile(r"^-?\d+$"),
    "number": re.compile(r"^-?\d*\.?\d+([eE][-+]?\d+)?$"),
    "percent": re.compile(r"^-?\d+(\.\d+)?\s?%$"),
    "address": re.compile(r"^\d+[A-Za-z]?\s+\S+.*$"),
    "name": re.compile(r"^[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ'’\-.]*( [A-Za-zÀ-ÿ][A-Za-zÀ-ÿ'’\-.]*){0,2}$"),
    "multi": re.compile(r"^[^;|,]+([;|,]\s*[^;|,]+)+$"),
}


def _luhn(digits: str) -> bool:
    total, alt = 0, False
    for ch in reversed(digits):
        d = int(ch)
        if alt:
            d = d * 2 - 9 if d > 4 else d * 2
        total, alt = total + d, not alt
    return total % 10 == 0


def _card(v: str) -> bool:
    d = re.sub(r"[\s-]", "", v)
    return d.isdigit() and 13 <= len(d) <= 19 and _luhn(d)


def _npi(v: str) -> bool:
    # an NPI is ten digits whose check digit is Luhn over "80840" + the first nine
    return len(v) == 10 and v.isdigit() and v[0] in "12" and _luhn("80840" + v)


@dataclass
class ValueProfile:
    """What a column's values look like.

    Attributes:
        kind: the best-fitting value kind (a key of :data:`KIND_WORDS`), or ``"empty"``.
        share: the share of distinct non-empty values of that kind (0..1).
        shares: every kind tried -> its share.
        filled: share of rows with a value.
        distinct: number of distinct values.
        unique: every filled row has its own value.
        samples: a few example values.
        options: the distinct values, when few enough for a pick-list.
    """

    kind: str
    share: float
    shares: dict[str, float] = field(default_factory=dict)
    filled: float = 0.0
    distinct: int = 0
    unique: bool = False
    samples: list[str] = field(default_factory=list)
    options: list[str] | None = None

    def describe(self) -> str:
        """One line, e.g. ``98% parse as E.164 phones``."""
        if self.kind == "empty":
            return "the column is empty"
        if self.kind == "picklist":
            return f"{self.distinct} distinct values ({', '.join(map(str, (self.options or [])[:4]))}{', …' if self.distinct > 4 else ''})"
        if self.kind == "id":
            return f"every value is distinct ({', '.join(self.samples[:2])}, …): an identifier"
        if self.kind in {"text", "name"}:
            return f"{round(self.share * 100)}% look like {KIND_WORDS[self.kind]}"
        return f"{round(self.share * 100)}% parse as {KIND_WORDS[self.kind]}"

    def is_kind(self, kind: str, at_least: float = 0.8) -> bool:
        return self.shares.get(kind, 0.0) >= at_least


#: column names that say their values are codes from a coding system (SNOMED, ICD, CPT, LOINC …):
#: nine digits there are a code, not a social security number
_CODE_NAME = re.compile(r"(^|[^a-z])(code|codes|cpt|icd\d*|snomed|loinc|rxnorm|ndc|hcpcs|cdt)([^a-z]|$)|code$", re.I)
#: column names that say their values are quantities or record numbers, never yes/no
_NUMBER_NAME = re.compile(r"(^|[^a-z])(id|count|num|number|no|qty|quantity|total|amount|age|year|size|rank|"
                          r"order|score|level|version|seq|index)([^a-z]|$)", re.I)
#: a "mail code" or "post code" is a postal code, whose nine digits may be a ZIP+4 or an SSN
_POSTAL_NAME = re.compile(r"mail|zip|post", re.I)
#: a column named as a phone holds phone numbers, however many digits a local one has
_PHONE_NAME = re.compile(r"phone|mobile|\bcell|\btel|\bfax", re.I)
_DASHED_SSN = re.compile(r"^(\d{3}-\d{2}-\d{4}|[*xX#]{3}-?[*xX#]{2}-?\d{4})$")
_TEXT_FLAGS = FLAGS - {"0", "1"}


def _shares(values: list[str], s: pd.Series, name: str = "") -> dict[str, float]:
    n = len(values)
    if not n:
        return {}
    low = [v.lower() for v in values]
    sh: dict[str, float] = {}
    for kind in ("email", "url", "ssn", "zip", "cdt", "time", "money", "integer", "number", "percent", "address", "name",
                 "multi"):
        rx = _RE[kind]
        sh[kind] = sum(bool(rx.match(v)) for v in values) / n
    if _CODE_NAME.search(name) and not _POSTAL_NAME.search(name):
        # a procedure or diagnosis code: only the dashed shape is an SSN
        sh["ssn"] = sum(bool(_DASHED_SSN.match(v)) for v in values) / n
    if _PHONE_NAME.search(name):
        sh["ssn"] = 0.0
    sh["url"] = sh["url"] * (1 - sh["email"])
    sh["card"] = sum(_card(v) for v in values) / n
    sh["npi"] = sum(_npi(v) for v in values) / n
    sh["state"] = sum(v.upper() in US_STATES for v in values) / n
    sh["country"] = sum(v in COUNTRIES for v in low) / n
    sh["gender"] = sum(v in GENDERS for v in low) / n if len(set(low)) <= 6 else 0.0
    sh["flag"] = sum(v in FLAGS for v in low) / n if len(set(low)) <= 4 else 0.0
    # 0 and 1 alone are yes/no only when both occur and the name does not say a number or an id
    # (a lone "1" is one record's id; a 0/1 "count" is a count)
    if sh["flag"] and not any(v in _TEXT_FLAGS for v in low) and (
            set(low) != {"0", "1"} or _NUMBER_NAME.search(re.sub(r"([a-z])([A-Z])", r"\1 \2", name))):
        sh["flag"] = 0.0
    ser = pd.Series(values, dtype="object")
    digits = ser.str.replace(r"\D", "", regex=True).str.len()
    # bare 7-digit numbers are group numbers and ids far more often than local phone numbers
    formatted = ser.str.contains(r"[\s().+\-]", regex=True)
    phoneish = ser.str.match(r"^[\d\s().+\-x/ext]+$") & (digits.between(10, 15) | (formatted & digits.between(7, 15)))
    if phoneish.any():
        parsed, _ = apply_transform("phone_e164", ser[phoneish])
        sh["phone"] = float(parsed.notna().sum()) / n
    else:
        sh["phone"] = 0.0
    datey = ser.str.contains(r"\d") & ser.str.contains(r"[/\-.]") & ~ser.str.match(r"^-?\d+(\.\d+)?$")
    # a birthday kept without its year ("0000-09-30") is a month and day, not a parseable date
    datey &= ~ser.str.match(r"^0000\D")
    if datey.any():
        try:
            parsed, used = parse_dates(ser[datey])
        except (pd.errors.OutOfBoundsDatetime, OverflowError):  # a year no timestamp can hold
            parsed = pd.Series(pd.NaT, index=ser[datey].index)
            used = pd.Series(pd.NA, index=ser[datey].index, dtype="object")
        ok = parsed.notna()
        timed = used[ok].astype("string").str.contains("%H", regex=False).fillna(False)
        sh["datetime"] = float(timed.sum()) / n
        sh["date"] = float(ok.sum()) / n
        iso = ser[datey & ~ok].str.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
        sh["datetime"] += float(iso.sum()) / n
        sh["date"] += float(iso.sum()) / n
    else:
        sh["date"] = sh["datetime"] = 0.0
    return sh


#: when several kinds fit equally, the more specific wins
_PRIORITY = ["ssn", "card", "npi", "email", "url", "cdt", "percent", "datetime", "date", "time", "phone", "state", "gender",
             "flag", "country", "zip", "money", "integer", "number", "address", "multi", "name"]


def profile(series: pd.Series, max_distinct: int = 500) -> ValueProfile:
    """Profile one column of strings."""
    s = series.astype("string").str.strip()
    s = s[s.notna() & (s != "")]
    filled = len(s) / len(series) if len(series) else 0.0
    if s.empty:
        return ValueProfile("empty", 0.0, {}, filled, 0, False, [], None)
    uniq = pd.unique(s)
    values = [str(v) for v in uniq[:max_distinct]]
    sh = _shares(values, s, str(series.name or ""))
    unique = len(uniq) == len(s)
    distinct = len(uniq)
    options = sorted(values) if distinct <= 12 and len(s) >= 2 * distinct else None
    kind, share = "text", 1.0
    for k in _PRIORITY:
        if sh.get(k, 0.0) >= 0.8:
            kind, share = k, sh[k]
            break
    # a whole number that identifies every row is an id, not a quantity
    idish = unique and distinct >= 5 and (kind in {"integer", "number", "zip", "text", "name"}) and \
        all(len(v) <= 40 and " " not in v for v in values[:200])
    if idish and (kind != "text" or sh.get("multi", 0) < 0.5):
        kind, share = "id", 1.0
        sh["id"] = 1.0
    elif options is not None and kind in {"text", "name", "multi"}:
        kind, share = "picklist", 1.0
        sh["picklist"] = 1.0
    elif kind == "text":
        sh["text"] = 1.0
    samples = values[:5]
    return ValueProfile(kind, float(share), sh, float(filled), distinct, unique, samples, options)
