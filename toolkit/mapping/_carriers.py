"""Insurance carrier names: clustering the spellings a practice typed into canonical names.

Carriers are free text in practice exports, so one carrier arrives as "Cigna", "CIGNA", "Signa"
and "Cigna Dental Health". Two spellings join a cluster when, after normalising case, spacing and
the words that only describe the plan (PPO, Dental, Ins Co, …), they are equal, one is a known
abbreviation of the other, or they are one or two typing slips apart (optimal string alignment,
which counts a swapped pair of letters as one slip). Different carriers that share a word must
stay apart — UnitedHealthcare and United Concordia both start "United" — so a join also needs the
*distinguishing* word to agree, and a bare ambiguous word ("United") joins nothing.

The clusters are a proposal: they go into the mapping's value map for the carrier column, with
the spellings shown for a person to confirm (see :func:`carrier_table`).

Known carriers and variant patterns: ../shared/research/dental-exports.md §4.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd
from rapidfuzz.distance import OSA

__all__ = ["CarrierCluster", "cluster_carriers", "carrier_value_map", "carrier_table", "KNOWN_CARRIERS"]

#: canonical spellings of common US dental carriers (dental-exports.md §4)
KNOWN_CARRIERS = ["Delta Dental", "MetLife", "Cigna", "Aetna", "Guardian", "United Concordia", "Humana", "UnitedHealthcare",
                  "Blue Cross Blue Shield", "Anthem", "Ameritas", "Principal", "Sun Life", "Lincoln Financial", "GEHA",
                  "DentaQuest", "Careington", "Assurant", "Medicaid", "Self-pay", "TRICARE Dental Program"]

#: abbreviations and old names -> canonical carrier (dental-exports.md §4 "abbreviations")
ALIASES = {"uhc": "UnitedHealthcare", "united health care": "UnitedHealthcare", "unitedhealth": "UnitedHealthcare",
           "ucci": "United Concordia", "ddca": "Delta Dental of California", "bcbs": "Blue Cross Blue Shield", "bc bs": "Blue Cross Blue Shield",
           "blue cross": "Blue Cross Blue Shield", "metropolitan life": "MetLife", "met life": "MetLife",
           "connection dental": "GEHA", "self pay": "Self-pay", "selfpay": "Self-pay", "cash": "Self-pay"}

#: words that describe a plan or a company form, not which carrier it is
PLAN_WORDS = {"dental", "dntl", "ppo", "dmo", "hmo", "dhmo", "epo", "premier", "plan", "plans", "ins", "insurance", "co",
              "company", "inc", "incorporated", "corp", "corporation", "llc", "of", "america", "the", "health", "life",
              "group", "network", "benefits", "services", "national", "mutual"}
#: words that on their own could be more than one carrier
AMBIGUOUS = {"united", "blue", "national", "first"}


def _words(name: str) -> list[str]:
    s = re.sub(r"[^a-z0-9 ]+", " ", name.lower().replace("/", " ").replace("-", " "))
    return s.split()


def _plan_word(w: str) -> bool:
    # "Dnetal" is still the word "dental": a slip in a plan word must not make a new carrier
    return w in PLAN_WORDS or (len(w) >= 5 and any(len(p) >= 5 and OSA.distance(w, p) <= 1 for p in PLAN_WORDS))


def _core(name: str, aliases: bool = True) -> str:
    """The name without plan/company words, spaces removed: ``Humana Dental Ins Co`` → ``humana``."""
    # the state company ("of California") is compared apart, see _state_part
    ws = _words(re.sub(r"\bof\s+(?!america\b)[a-z ]+$", "", name.lower().strip()) or name)
    core = [w for w in ws if not _plan_word(w)] or ws
    for text in (" ".join(ws), " ".join(core)):
        if aliases and text in ALIASES:
            return _core(ALIASES[text], aliases=False)
    return "".join(core)


#: two-letter codes of the states with their own Delta Dental company names, and a few others
STATE_NAMES = {"ca": "california", "ny": "new york", "nj": "new jersey", "mi": "michigan", "wa": "washington",
               "tx": "texas", "il": "illinois", "pa": "pennsylvania", "oh": "ohio", "ma": "massachusetts",
               "co": "colorado", "az": "arizona", "wi": "wisconsin", "mn": "minnesota", "va": "virginia",
               "nc": "north carolina", "ga": "georgia", "fl": "florida", "or": "oregon", "ky": "kentucky"}


def _state_part(name: str) -> str:
    """``of California`` in "Delta Dental of California": state companies are different carriers."""
    joined = " ".join(_words(name))
    if joined in ALIASES:
        name = ALIASES[joined]
    m = re.search(r"\bof\s+([a-z ]+)$", name.lower().strip())
    state = m.group(1).strip() if m and m.group(1).strip() not in {"america"} else ""
    return STATE_NAMES.get(state, state)


def _close(a: str, b: str) -> bool:
    if a == b:
        return True
    if min(len(a), len(b)) < 4:
        return False
    slips = OSA.distance(a, b)
    # one slip in short names, two in long ones; never on the first letters that tell
    # "unitedhealthcare" from "unitedconcordia" — those differ by far more
    return slips <= (1 if max(len(a), len(b)) <= 7 else 2)


@dataclass
class CarrierCluster:
    canonical: str
    spellings: dict[str, int]
    reason: str


def _canonical(spellings: dict[str, int], core: str) -> tuple[str, str]:
    for known in KNOWN_CARRIERS:
        if _close(_core(known), core):
            return known, "a known carrier"
    # the most used spelling, preferring one that is not all capitals
    ranked = sorted(spellings, key=lambda s: (-(spellings[s]), s.isupper(), len(s)))
    return ranked[0], "the most used spelling"


def cluster_carriers(values: pd.Series) -> list[CarrierCluster]:
    """Cluster a column of carrier names; every distinct spelling lands in exactly one cluster."""
    counts = values.dropna().astype(str).str.strip()
    counts = counts[counts != ""].value_counts()
    groups: list[tuple[str, str, dict[str, int]]] = []  # (core, state part, spellings)
    for spelling, n in counts.items():
        core, state = _core(spelling), _state_part(spelling)
        if core in AMBIGUOUS:
            groups.append((core, state, {spelling: int(n)}))  # "United" alone could be either United
            continue
        for g in groups:
            if g[0] not in AMBIGUOUS and g[1] == state and _close(g[0], core):
                g[2][spelling] = int(n)
                break
        else:
            groups.append((core, state, {spelling: int(n)}))
    out = []
    for core, state, spellings in groups:
        if core in AMBIGUOUS:
            only = next(iter(spellings))
            out.append(CarrierCluster(only, spellings, "ambiguous name: could be more than one carrier; kept as typed"))
            continue
        name, why = _canonical(spellings, core)
        if state and not name.lower().endswith(state):
            name = f"{name} of {state.title()}"
        n = len(spellings)
        out.append(CarrierCluster(name, spellings, f"{n} spelling{'s' if n > 1 else ''}; canonical name is {why}"))
    return out


def carrier_value_map(values: pd.Series) -> dict[str, str]:
    """Spelling -> canonical name, for every spelling that changes (the mapping's value map)."""
    return {s: c.canonical for c in cluster_carriers(values) for s in c.spellings if s != c.canonical}


def carrier_table(values: pd.Series) -> pd.DataFrame:
    """One row per spelling: what it becomes, how often it occurs and why — for confirmation."""
    rows = [{"spelling": s, "records": n, "canonical": c.canonical, "changes": s != c.canonical, "reason": c.reason}
            for c in cluster_carriers(values) for s, n in c.spellings.items()]
    return pd.DataFrame(rows, columns=["spelling", "records", "canonical", "changes", "reason"])
