"""Guessing what an unknown file holds (contacts, appointments, companies, deals, notes, tasks)
and which of its columns play which role (email, phone, first name, …), with how sure we are.

The guess scores each kind by the column names (and the file or sheet name) against a small
vocabulary per kind; confidence is the winning score's share of all scores, so a file whose
columns fit two kinds equally is reported as unsure, never silently assigned.
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["guess_kind", "find_roles", "KINDS"]

#: kind -> words that suggest it (matched against normalised column, file and sheet names)
KINDS: dict[str, tuple[str, ...]] = {
    "contacts": ("first", "last", "surname", "email", "mail", "phone", "mobile", "cell", "birth", "dob",
                 "address", "street", "zip", "postal", "patient", "contact", "gender"),
    "appointments": ("appointment", "appt", "start", "end", "duration", "provider", "operatory", "scheduled",
                     "booking", "visit", "slot"),
    "companies": ("company", "organization", "organisation", "industry", "website", "account", "practice",
                  "office", "employees"),
    "deals": ("deal", "opportunity", "amount", "stage", "pipeline", "close", "probability", "value",
              "case", "treatment"),
    "notes": ("note", "body", "comment", "text", "memo"),
    "tasks": ("task", "due", "subject", "assigned", "todo", "reminder"),
}

_ROLES = (  # (role, pattern over the normalised header), first match wins per column
    ("email", r"e ?mail"),
    ("mobile", r"mobile|cell|wireless"),
    ("phone", r"phone|tel"),
    ("first_name", r"^first|given|fname"),
    ("last_name", r"^last|surname|family name|lname"),
    ("dob", r"birth|dob"),
    ("zip", r"zip|postal|postcode"),
    ("state", r"^state$|province"),
    ("city", r"^city|town"),
    ("street", r"street|address"),
    ("amount", r"amount|value|price|fee"),
    ("stage", r"stage|status"),
    ("start", r"^start|date|time|when"),
    ("name", r"name|title|subject"),
)


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", s.lower()).strip()


def guess_kind(columns: list[str], hint: str = "") -> dict:
    """What a file holds.

    Args:
        columns: its header.
        hint: its file and sheet name.

    Returns:
        ``{"kind", "confidence" (0-1), "sure" (high/medium/low), "scores"}``.
    """
    words = [_norm(c) for c in columns] + [_norm(hint)] * 2  # the name counts twice
    scores = {}
    for kind, vocab in KINDS.items():
        scores[kind] = sum(1 for w in words for v in vocab if v in w)
    total = sum(scores.values())
    kind = max(scores, key=lambda k: scores[k])
    if total == 0:
        return {"kind": "unknown", "confidence": 0.0, "sure": "low", "scores": scores}
    conf = round(scores[kind] / total, 2)
    sure = "high" if conf >= 0.6 and scores[kind] >= 3 else "medium" if conf >= 0.4 else "low"
    return {"kind": kind, "confidence": conf, "sure": sure, "scores": scores}


def find_roles(frame: pd.DataFrame) -> dict[str, str]:
    """role -> column for the columns whose names say what they are, plus ``key``: the first
    column that is present and unique in every row and whose name looks like an id."""
    roles: dict[str, str] = {}
    for col in frame.columns:
        n = _norm(col)
        for role, pattern in _ROLES:
            if role not in roles and re.search(pattern, n):
                roles[role] = col
                break
    for col in frame.columns:
        n = _norm(col)
        # a phone or fax "number" is how to reach a record, not what identifies it
        if (re.search(r"\bid\b|#|number|\bno\b|\bref\b", n) or n.endswith("id")) and \
                not re.search(r"phone|fax|mobile|cell|zip|postal|\btel", n):
            s = frame[col]
            if len(s) and s.notna().all() and s.is_unique:
                roles["key"] = col
                break
    return roles
