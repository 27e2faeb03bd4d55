"""Tables that hold two kinds of record, and names that are organisations'.

Many exports keep companies and the people who work for them in one table, a column saying
which row is which ("Company Type": Company / Individual, "Is a company": 1 / 0), each person
naming their company in another column. Such a table is proposed as two routes, each with a
``where`` rule on that column: the companies to the CRM's company object, the people to its
person object, linked to their company by its name. Both routes stay under the confirmation
threshold: a person reads the split before anything loads.

Apart from that, a column of names can say on its own that a table's rows are organisations:
"Bolts & Screws", "Credit & Leasing", "Grocery Outlet Inc." (:func:`organisation_share`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

__all__ = ["MixedTable", "find_mixed", "organisation_share", "company_link"]

#: a column whose name says it tells companies from people
_TYPE_NAME = re.compile(r"^(is )?(a |an )?(company|organi[sz]ation|business|corporate|entity)( type| kind| flag)?$"
                        r"|^(partner|contact|customer|client|account|record|entity) (type|kind)$|^(type|kind)$")
_COMPANY_WORDS = re.compile(r"\b(company|companies|organi[sz]ation|business|corporate|corporation|firm|account)\b", re.I)
_PERSON_WORDS = re.compile(r"\b(individual|person|people|private|contact|personal)\b", re.I)
_TRUE = {"1", "true", "yes", "y", "t", "x"}
_FALSE = {"0", "false", "no", "n", "f", ""}
#: words and marks that name an organisation rather than a person
_ORG = re.compile(r"&|\b(inc|llc|ltd|limited|co|corp|corporation|company|group|gmbh|s\.?a|b\.?v|plc|lp|llp|pty|"
                  r"services?|supplies|supply|finance|financial|leasing|outlet|shelves|sales|direct|partners|"
                  r"associates|holdings|industries|solutions|systems|technologies|clinic|dental|health|healthcare|"
                  r"insurance|bank|labs?|laboratory|pharmacy|hospital|center|centre|store|shop|studio|agency|"
                  r"consulting|wholesale|retail|international|national|global|foundation|trust|institute|"
                  r"university|school|office|medical|enterprises?)\b\.?", re.I)


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


@dataclass
class MixedTable:
    """How one table splits into companies and people.

    Attributes:
        column: the column that says which a row is.
        companies: the ``where`` rule its company rows meet; ``people`` the rule for the rest.
        evidence: what a reviewer reads.
    """

    column: str
    companies: str
    people: str
    evidence: str


def find_mixed(df: pd.DataFrame) -> MixedTable | None:
    """The column that tells a table's companies from its people, or None when no column does.

    A column counts when its name says so ("Company Type", "Is a company", "Type") and its
    values are few and of two sides: yes/no under an "is a company" name, or words for a
    company and for a person ("Company", "Individual"). Both sides must have rows.
    """
    for col in df.columns:
        name = _norm(str(col))
        if not _TYPE_NAME.search(name):
            continue
        values = df[col].dropna().astype(str).str.strip()
        distinct = sorted(set(values))
        if not 2 <= len(distinct) <= 4:
            continue
        quoted = f"`{col}`" if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(col)) else str(col)
        if name.startswith("is ") or name.endswith(" flag"):
            yes = [v for v in distinct if v.lower() in _TRUE]
            if not yes or any(v.lower() not in _TRUE | _FALSE for v in distinct) or len(yes) == len(distinct):
                continue
            why = f"{col!r} says which rows are companies ({', '.join(yes)}) and which are people"
        else:
            yes = [v for v in distinct if _COMPANY_WORDS.search(v)]
            no = [v for v in distinct if _PERSON_WORDS.search(v)]
            if not yes or not no:
                continue
            why = f"{col!r} says which rows are companies ({', '.join(yes)}) and which are people ({', '.join(no)})"
        rule = f"{quoted} in {yes!r}"
        return MixedTable(str(col), rule, f"not ({rule})", why)
    return None


def organisation_share(values: pd.Series) -> float:
    """The share of a column's names that read as an organisation's (0 for an empty column)."""
    v = values.dropna().astype(str).str.strip()
    v = v[v != ""]
    if not len(v):
        return 0.0
    return float(v.map(lambda s: bool(_ORG.search(s))).mean())


def company_link(df: pd.DataFrame, mixed: MixedTable, key: str, source: str, rows: pd.Index) -> dict | None:
    """The link from a mixed table's people to their company, by the company's name.

    ``rows`` are the company rows. The link column is one (not the key, not the type column)
    whose values are names of those rows in some other column; that column names them (``by``).
    """
    companies = df.loc[rows]
    best = None
    for col in df.columns:
        if col in (key, mixed.column):
            continue
        vals = df[col].dropna().astype(str).str.strip()
        vals = vals[(vals != "") & ~vals.index.isin(rows)]
        if len(vals) < 1:
            continue
        for by in df.columns:
            if by in (col, key, mixed.column):
                continue
            names = set(companies[by].dropna().astype(str).str.strip())
            cover = float(vals.isin(names).mean())
            if cover >= 0.9 and (best is None or cover > best[0]):
                best = (cover, col, by, len(vals))
    if best is None:
        return None
    cover, col, by, n = best
    return {"column": col, "object": source, "by": by, "coverage": round(cover, 3), "confidence": 0.75,
            "evidence": f"{cover:.0%} of its {n} values name {source} rows that are companies (their {by})"}
