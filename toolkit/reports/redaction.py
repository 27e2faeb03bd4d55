"""Masking patient data (PHI) in what a report shows.

A redacted report is one the consultant can send to someone who should not see patients: no
patient name, email address, phone number, date of birth, street address or note text. Record
ids (``P000123``) stay, so that the practice can still look a row up in its own system.

Two ways in, used together:

* **by column**: a value shown under a column (or for a field) whose name says what it holds —
  ``FirstName``, ``email``, ``MobilePhone``, ``BirthDate``, ``NoteText``, ``address1`` — is masked
  whatever it looks like, so that a malformed email or a partial phone number is masked too;
* **by value**: every string is searched for the patient values the source holds (names,
  emails, phones and birth dates read from the export), so that a name inside a vendor's error
  message or a duplicate's "why" is masked as well. Phones compare by digits and dates by the
  day they mean, so ``(401) 555-0123`` and ``+14015550123`` are the same phone.

Whose data is PHI: the people objects of the source (patients, contacts, persons) — every
object with a name, email or phone column except staff objects (providers, users, staff), whose
work emails owner resolution must show.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["Redactor", "MASKS", "kind_of"]

#: what a masked value reads as, per kind
MASKS = {"name": "‹name›", "email": "‹email›", "phone": "‹phone›", "dob": "‹birth date›",
         "note": "‹note›", "address": "‹address›", "id_number": "‹id number›"}

# Column or field names, by what they hold. Matched against the name with separators removed,
# lower-cased (``First_Name`` -> ``firstname``), so one list serves every source and destination.
_KIND_PATTERNS = (
    ("email", re.compile(r"e?mail")),
    ("phone", re.compile(r"phone|mobile|^cell|cellular|^tel$|telephone|^fax")),
    ("dob", re.compile(r"birth|^dob$|dateofbirth")),
    ("note", re.compile(r"notes?$|notetext|notebody|comments?$|memo|^body$|narrative")),
    ("address", re.compile(r"^address|street|addressline|^addr")),
    ("id_number", re.compile(r"^ssn$|socialsecurity|subscriberid")),
    ("name", re.compile(r"(first|last|middle|preferred|nick|given|family|sur|full|patient|person|contact)name$"
                        r"|^(fname|lname|namefirst|namelast|surname|forename)$")),
)
# Objects whose people are staff: their names and work emails are not patient data.
_STAFF_OBJECTS = re.compile(r"provider|staff|user|employee|dentist|hygienist|operator|owner|referr", re.I)

_TOKEN = re.compile(r"[^\s'\"<>(),;\[\]{}|`]+")
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_DIGITS = re.compile(r"\+?\(?\d[\d ().-]{5,}\d")
_DATE = re.compile(r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b")


def kind_of(name: str | None) -> str | None:
    """What a column or field called ``name`` holds, if it is patient data (``None`` if not)."""
    if not name:
        return None
    flat = re.sub(r"[^a-z0-9]", "", str(name).rsplit(".", 1)[-1].replace("custom:", "").lower())
    for kind, pattern in _KIND_PATTERNS:
        if pattern.search(flat):
            return kind
    return None


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _phone_key(text: str) -> str | None:
    d = _digits(text)
    if len(d) == 11 and d.startswith("1"):
        d = d[1:]  # +1 country code: the same US number
    return d if len(d) >= 7 else None


_DATE_LAYOUTS = ("%m/%d/%Y", "%m/%d/%y", "%Y-%m-%d", "%d.%m.%Y", "%Y/%m/%d", "%m-%d-%Y", "%d/%m/%Y")


def _date_keys(text: str) -> set[str]:
    """Every day ``text`` can mean, as ISO dates (ambiguous layouts give several)."""
    out = set()
    head = text.strip().split("T")[0].split(" ")[0]
    for layout in _DATE_LAYOUTS:
        try:
            out.add(dt.datetime.strptime(head, layout).date().isoformat())
        except ValueError:
            continue
    return out


@dataclass
class Redactor:
    """Masks patient data in values, texts, tables and JSON-like figures.

    Attributes:
        names: casefolded name words of patients.
        emails: casefolded email values (as typed, valid or not).
        phones: phone numbers as digit strings (US numbers without the leading 1).
        dates: birth dates as ISO dates.
    """

    names: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    dates: set[str] = field(default_factory=set)
    #: values matched as written (case-insensitively), by kind: street addresses, and phones
    #: and birth dates no rule can normalise (``(617) 721-CALL``, ``13/45/1980``)
    literals: dict[str, str] = field(default_factory=dict)
    _literal_re: Any = field(default=None, repr=False, compare=False)

    # --- building ---------------------------------------------------------------------
    @classmethod
    def from_snapshot(cls, snapshot) -> "Redactor":
        """Collect the patient values of every people object of ``snapshot``."""
        red = cls()
        for obj, df in snapshot.tables.items():
            if _STAFF_OBJECTS.search(obj):
                continue
            kinds = {c: kind_of(c) for c in df.columns}
            if not any(k in {"name", "email", "phone"} for k in kinds.values()):
                continue
            for col, kind in kinds.items():
                if kind not in {"name", "email", "phone", "dob", "address"}:
                    continue
                for v in df[col].dropna().astype(str).unique():
                    red.add(kind, v)
        return red

    def add(self, kind: str, value: str) -> None:
        """Remember one patient value of ``kind`` (name, email, phone, dob, address)."""
        value = value.strip()
        if not value:
            return
        if kind == "name":
            self.names.update(w.casefold() for w in _WORD.findall(value) if len(w) >= 2)
        elif kind == "email":
            self.emails.add(value.casefold())
            self.emails.add(value.casefold().rstrip(".:!?"))
        elif kind == "phone":
            key = _phone_key(value)
            if key:
                self.phones.add(key)
            if key is None or re.search(r"[A-Za-z]", value):
                self._literal(value, "phone")
        elif kind == "dob":
            keys = _date_keys(value)
            self.dates.update(keys)
            if not keys:
                self._literal(value, "dob")
        elif kind == "address":
            self._literal(value, "address")

    def _literal(self, value: str, kind: str) -> None:
        # values too short to be told from ordinary text ("N/A", "none") are left to column masks
        if len(value) >= 6 and re.search(r"\d", value) or len(value) >= 10:
            self.literals[value.casefold()] = kind
            self._literal_re = None

    # --- masking ----------------------------------------------------------------------
    def text(self, text: str) -> str:
        """Mask every known patient value found in free text."""
        if not text:
            return text

        def email(m: re.Match) -> str:
            tok = m.group(0)
            if tok.casefold() in self.emails:
                return MASKS["email"]
            core = tok.rstrip(".:!?")
            return MASKS["email"] + tok[len(core):] if core.casefold() in self.emails else tok

        def phone(m: re.Match) -> str:
            key = _phone_key(m.group(0))
            return MASKS["phone"] if key and key in self.phones else m.group(0)

        def date(m: re.Match) -> str:
            return MASKS["dob"] if _date_keys(m.group(0)) & self.dates else m.group(0)

        def word(m: re.Match) -> str:
            w = m.group(0)
            # Names are written capitalised; a lower-case "will" or "grace" in a sentence is a word.
            if w[0].isupper() and w.strip("'’-").casefold() in self.names:
                return MASKS["name"]
            return w

        if self.literals:
            if self._literal_re is None:
                self._literal_re = re.compile("|".join(re.escape(v) for v in sorted(self.literals, key=len, reverse=True)),
                                              re.IGNORECASE)
            text = self._literal_re.sub(lambda m: MASKS[self.literals.get(m.group(0).casefold(), "address")], text)
        if self.emails:
            text = _TOKEN.sub(email, text)
            for e in (e for e in self.emails if " " in e and e in text.casefold()):
                text = re.sub(re.escape(e), MASKS["email"], text, flags=re.I)
        if self.dates:
            text = _DATE.sub(date, text)
        if self.phones:
            text = _DIGITS.sub(phone, text)
        if self.names:
            text = _WORD.sub(word, text)
        return text

    def value(self, value: Any, hint: str | None = None) -> Any:
        """Mask one value; ``hint`` is the column or field it belongs to, when known."""
        if value is None or (not isinstance(value, (list, dict, tuple)) and pd.isna(value)):
            return value
        kind = kind_of(hint)
        if kind and str(value).strip():
            return MASKS[kind]
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, (list, tuple)):
            return [self.value(v, hint) for v in value]
        if isinstance(value, dict):
            return self.obj(value)
        return value

    def frame(self, df: pd.DataFrame, hints: dict[str, str] | None = None,
              hint_column: str | None = None, value_columns: tuple[str, ...] = ()) -> pd.DataFrame:
        """A masked copy of ``df``.

        Args:
            hints: column -> the field it holds, when the column's own name does not say
                (``{"value": "Email"}``).
            hint_column: a column naming, per row, the field that ``value_columns`` hold
                (the audit's ``column``, the diff's ``field``).
            value_columns: the columns ``hint_column`` speaks for.
        """
        out = df.copy()
        hints = hints or {}
        for col in out.columns:
            if col in value_columns and hint_column in out.columns:
                out[col] = [self.value(v, h) for v, h in zip(out[col], out[hint_column].astype("string").fillna(""))]
            else:
                hint = hints.get(col, col)
                out[col] = out[col].map(lambda v, h=hint: self.value(v, h)).astype("object")
        return out

    def obj(self, data: Any, hint: str | None = None) -> Any:
        """Mask a JSON-like structure; a dict key is the hint for its value."""
        if isinstance(data, dict):
            return {k: self.obj(v, k if isinstance(k, str) else hint) for k, v in data.items()}
        if isinstance(data, list):
            return [self.obj(v, hint) for v in data]
        if isinstance(data, str) or data is None:
            return self.value(data, hint)
        return data

    def __bool__(self) -> bool:  # an empty redactor still redacts by column
        return True
