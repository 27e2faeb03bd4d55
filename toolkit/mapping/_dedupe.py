"""Finding the same person entered twice, without merging family members.

Family members share an address and a home phone, and twins share a birth date too, so none of
those alone makes a duplicate. Two rows are the same person when they share last name and birth
date, share a way to reach them (an email or a phone number), and their first names agree (equal,
one a prefix of the other, a known nickname, or a rapidfuzz ratio of at least 85).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rapidfuzz import fuzz

from .._arrow_bytes import rows_at
from ._transforms import parse_dates

__all__ = ["find_duplicates", "NICKNAMES"]

#: common English nickname pairs (both directions are checked)
NICKNAMES = {
    "bob": "robert", "rob": "robert", "bobby": "robert", "bill": "william", "will": "william", "liz": "elizabeth",
    "beth": "elizabeth", "betty": "elizabeth", "kate": "katherine", "katie": "katherine", "jim": "james",
    "jimmy": "james", "mike": "michael", "tom": "thomas", "tony": "anthony", "dave": "david", "dan": "daniel",
    "danny": "daniel", "joe": "joseph", "chris": "christopher", "matt": "matthew", "nick": "nicholas",
    "sam": "samuel", "steve": "steven", "sue": "susan", "jen": "jennifer", "jenny": "jennifer", "peggy": "margaret",
    "maggie": "margaret", "meg": "margaret", "rick": "richard", "dick": "richard", "andy": "andrew",
    "alex": "alexander", "ed": "edward", "ted": "edward", "pat": "patricia", "patty": "patricia", "greg": "gregory",
    "tim": "timothy", "jon": "jonathan", "larry": "lawrence", "abby": "abigail", "ben": "benjamin",
}


def _norm(s: pd.Series) -> pd.Series:
    return s.astype("string").str.lower().str.replace(r"[^a-z]", "", regex=True).fillna("")


def _same_first(a: str, b: str) -> bool:
    if not a or not b:
        return False
    if a == b or a.startswith(b) or b.startswith(a):
        return True
    if NICKNAMES.get(a, a) == NICKNAMES.get(b, b):
        return True
    return fuzz.ratio(a, b) >= 85


def find_duplicates(df: pd.DataFrame, *, key_column: str, first: str, last: str, dob: str,
                    contact: list[str]) -> list[tuple[str, str, str]]:
    """Return (kept key, duplicate key, why) for every duplicate row; the first occurrence is kept.

    ``contact`` columns are ways of reaching the person: one whose name says "mail" is compared
    as an address (case and spaces aside), any other as a phone number (its last ten digits).
    Rows are grouped by (last name, birth date) and the groups walked as plain lists, in order of
    first appearance and rows in file order: a million patients make tens of thousands of
    groups, too many to build a frame for each.
    """
    if df.empty:
        return []
    # birth dates parsed once per distinct value
    codes, uniq = pd.factorize(df[dob].astype("string"), use_na_sentinel=True)
    parsed, _ = parse_dates(pd.Series(pd.array(uniq, dtype="string")))
    # each row's birth date and last name as codes; a group is a pair of codes
    iso_codes, iso = pd.factorize(parsed.dt.strftime("%Y-%m-%d"), use_na_sentinel=True)
    births = np.where(codes >= 0, np.asarray(iso_codes)[np.maximum(codes, 0)] if len(iso_codes) else -1, -1)
    # last names normalised once per distinct spelling (a few thousand over a million rows)
    raw_codes, raw = pd.factorize(df[last].astype("string"), use_na_sentinel=True)
    normed = _norm(pd.Series(pd.array(raw, dtype="string")))
    norm_codes, _ = pd.factorize(normed)
    raw_codes = np.asarray(raw_codes)
    named = np.append((normed != "").to_numpy(dtype=bool), False)  # index -1 (empty): False
    last_codes = np.append(np.asarray(norm_codes), -1)[raw_codes]
    ok = named[raw_codes] & (births >= 0)
    if not ok.any():
        return []
    rows = np.flatnonzero(ok)
    pair = np.asarray(last_codes, dtype=np.int64)[rows] * (len(iso) + 1) + births[rows]
    gcodes, _ = pd.factorize(pair)  # in order of first appearance of each (last name, birth date)
    several = np.bincount(gcodes)[gcodes] >= 2
    rows, gcodes = rows[several], gcodes[several]
    if not len(rows):
        return []
    order = np.argsort(gcodes, kind="stable")
    rows, gcodes = rows[order], gcodes[order]
    reach = [_reach(rows_at(df[col], rows), col) for col in contact]
    # Only a row sharing a way of reaching it with another row of its group can take part in a
    # pair (as the one kept or the duplicate): the walk below leaves every other row alone, so
    # they are dropped first and names and keys are fetched for the rest only.
    linked = np.zeros(len(rows), dtype=bool)
    for v in reach:
        vc, _ = pd.factorize(v, use_na_sentinel=True)
        has = np.flatnonzero((vc >= 0) & (v != "").fillna(False).to_numpy(dtype=bool))
        if len(has):
            both, _ = pd.factorize(gcodes[has].astype(np.int64) * (int(vc.max()) + 1) + vc[has])
            linked[has[np.bincount(both)[both] >= 2]] = True
    if not linked.any():
        return []
    rows, gcodes = rows[linked], gcodes[linked]
    reach = [v[linked].tolist() for v in reach]
    keys = rows_at(df[key_column], rows).astype("string").tolist()
    firsts = _norm(rows_at(df[first], rows)).tolist()
    bounds = (np.flatnonzero(np.diff(gcodes)) + 1).tolist()
    out: list[tuple[str, str, str]] = []
    for lo, hi in zip([0, *bounds], [*bounds, len(rows)]):
        taken: set = set()
        for i in range(lo, hi):
            if keys[i] in taken:
                continue
            for j in range(i + 1, hi):
                if keys[j] in taken or not _same_first(firsts[i], firsts[j]):
                    continue
                shared = [c for n, c in enumerate(contact) if _same(reach[n][i], reach[n][j])]
                if shared:
                    taken.add(keys[j])
                    out.append((keys[i], keys[j], f"same name, birth date and {', '.join(shared)}"))
    return out


def _reach(values: pd.Series, col: str) -> pd.Series:
    """A way of reaching the person as compared: an address with case and spaces aside, a phone
    number as its last ten digits (fewer digits: none)."""
    v = values.astype("string").str.strip().str.lower()
    if "mail" not in col.lower():
        v = v.str.replace(r"\D", "", regex=True).str[-10:]
        v = v.where(v.str.len() == 10)
    return v.reset_index(drop=True)


def _same(x, y) -> bool:
    return isinstance(x, str) and isinstance(y, str) and x != "" and x == y
