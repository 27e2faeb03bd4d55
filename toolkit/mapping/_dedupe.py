"""Finding the same person entered twice, without merging family members.

Family members share an address and a home phone, and twins share a birth date too, so none of
those alone makes a duplicate. Two rows are the same person when they share last name and birth
date, share a way to reach them (an email or a phone number), and their first names agree (equal,
one a prefix of the other, a known nickname, or a rapidfuzz ratio of at least 85).
"""

from __future__ import annotations

import pandas as pd
from rapidfuzz import fuzz

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
    """Return (kept key, duplicate key, why) for every duplicate row; the first occurrence is kept."""
    if df.empty:
        return []
    dobs, _ = parse_dates(df[dob])
    frame = pd.DataFrame({
        "key": df[key_column].astype("string"),
        "first": _norm(df[first]),
        "last": _norm(df[last]),
        "dob": dobs.dt.strftime("%Y-%m-%d"),
    }, index=df.index)
    # Ways of reaching the person go in under positional names: export headers such as
    # "E-mail Address" are not identifiers, and rows are read back as named tuples below.
    reach = []
    for i, col in enumerate(contact):
        v = df[col].astype("string").str.strip().str.lower()
        if "mail" not in col.lower():
            v = v.str.replace(r"\D", "", regex=True).str[-10:]
            v = v.where(v.str.len() == 10)
        reach.append(v.rename(f"reach{i}"))
    frame = frame.join(pd.concat(reach, axis=1)) if reach else frame
    frame = frame[(frame["last"] != "") & frame["dob"].notna()]
    groups = frame[frame.duplicated(["last", "dob"], keep=False)].groupby(["last", "dob"], sort=False)
    out: list[tuple[str, str, str]] = []
    for _, g in groups:
        rows = list(g.itertuples(index=False))
        taken: set[str] = set()
        for i, a in enumerate(rows):
            if a.key in taken:
                continue
            for b in rows[i + 1:]:
                if b.key in taken or not _same_first(a.first, b.first):
                    continue
                shared = [c for n, c in enumerate(contact) if _same(getattr(a, f"reach{n}"), getattr(b, f"reach{n}"))]
                if shared:
                    taken.add(b.key)
                    out.append((a.key, b.key, f"same name, birth date and {', '.join(shared)}"))
    return out


def _same(x, y) -> bool:
    return isinstance(x, str) and isinstance(y, str) and x != "" and x == y
