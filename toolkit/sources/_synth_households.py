"""Synthetic patients in households, in neutral terms, for the generators of Practice by Numbers,
Dental-Exec and generic exports (each renames the fields to its own columns).

Households matter because they are the classic de-duplication trap: members share an address, a
home phone and sometimes the parent's e-mail, yet are different people. A duplicate, by
contrast, is the same person entered twice (:func:`duplicate_of`).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field, replace

from ._synth_export import TODAY, rand_date, weighted
from ._synth_people import FEMALE, LAST, MALE, NICKNAMES, Region, email_for, phone, street_address

__all__ = ["Human", "households", "duplicate_of", "DUPLICATE_VARIATIONS", "insert_duplicates", "duplicate_pairs"]

_SIZES = {"1": 45, "2": 25, "3": 15, "4": 11, "5": 4}
# Nickname duplicates use the pairs a matcher can be expected to know; Debbie, Becky and Vicky are
# real nicknames too, but the toolkit's matcher does not list them yet, so a duplicate entered
# under one of them is generated as a "case" duplicate instead (see the issue report).
_NICK = {k: v for k, v in NICKNAMES.items() if v not in {"Debbie", "Becky", "Vicky"}}
DUPLICATE_VARIATIONS = ("nickname", "case", "whitespace")


@dataclass
class Human:
    """One person as a practice knows them (before any source's naming)."""

    first: str
    last: str
    gender: str  # M or F
    birth: dt.date
    email: str
    mobile: str
    home: str
    address1: str
    address2: str
    city: str
    state: str
    zip: str
    household: int
    head: bool
    first_visit: dt.date | None = None
    last_visit: dt.date | None = None
    created: dt.date = TODAY
    extra: dict = field(default_factory=dict)
    duplicate_of: "Human | None" = None
    variation: str = ""


def _visits(rng: random.Random, birth: dt.date, active: bool) -> tuple[dt.date, dt.date]:
    fv = rand_date(rng, max(birth + dt.timedelta(days=730), TODAY - dt.timedelta(days=12 * 365)),
                   TODAY - dt.timedelta(days=40))
    lo = max(fv, TODAY - dt.timedelta(days=365 if active else 5 * 365))
    hi = TODAY - dt.timedelta(days=14) if active else max(lo, TODAY - dt.timedelta(days=500))
    return fv, rand_date(rng, lo, hi)


def households(rng: random.Random, n: int, region: Region, *, new_share: float = 0.08) -> list[Human]:
    """``n`` people in households of one to five who share an address and home phone.

    Args:
        rng: the random stream.
        n: how many people.
        region: where the practice is.
        new_share: share of households who are prospects (no visit yet).
    """
    people: list[Human] = []
    hh = 0
    while len(people) < n:
        size = min(int(weighted(rng, _SIZES)), n - len(people))
        hh += 1
        last = rng.choice(LAST)
        a1, a2, city, zip5 = street_address(rng, region)
        home = phone(rng, region) if size > 1 or rng.random() < 0.5 else ""
        prospect = rng.random() < new_share
        active = rng.random() < 0.8
        head_birth = rand_date(rng, TODAY - dt.timedelta(days=80 * 365),
                               TODAY - dt.timedelta(days=(26 if size > 2 else 19) * 365))
        g1 = rng.choice("MF")
        births, firsts = [], set()
        for i in range(size):
            if i == 0:
                b = head_birth
            elif i == 1:
                b = rand_date(rng, head_birth - dt.timedelta(days=5 * 365),
                              min(head_birth + dt.timedelta(days=5 * 365), TODAY - dt.timedelta(days=19 * 365)))
            else:
                b = rand_date(rng, max(head_birth + dt.timedelta(days=20 * 365), TODAY - dt.timedelta(days=24 * 365)),
                              TODAY - dt.timedelta(days=365))
            while b in births:  # twins are still two people; keep birth dates apart
                b += dt.timedelta(days=1)
            births.append(b)
            gender = g1 if i == 0 else ("F" if g1 == "M" else "M") if i == 1 else rng.choice("MF")
            pool = MALE if gender == "M" else FEMALE
            first = rng.choice(pool)
            for _ in range(20):
                if first not in firsts:
                    break
                first = rng.choice(pool)
            firsts.add(first)
            age = (TODAY - b).days // 365
            email = (people[-i].email if i >= 2 and age < 13 else email_for(rng, first, last, b.year))
            fv = lv = None
            if not prospect:
                fv, lv = _visits(rng, b, active)
            created = rand_date(rng, TODAY - dt.timedelta(days=150), TODAY - dt.timedelta(days=1)) \
                if prospect else fv
            people.append(Human(
                first=first, last=last, gender=gender, birth=b, email=email,
                mobile=phone(rng, region) if age >= 13 and rng.random() < 0.85 else "",
                home=home, address1=a1, address2=a2, city=city, state=region.state, zip=zip5,
                household=hh, head=i == 0, first_visit=fv, last_visit=lv, created=created,
                extra={"prospect": prospect, "active": active}))
    return people


def duplicate_of(rng: random.Random, h: Human, variation: str) -> Human:
    """The same person entered again later: same birth date and mobile/e-mail, the name varied
    (a nickname, shouting or whitespace), and none of the history."""
    first, last, email = h.first, h.last, h.email
    if variation == "nickname" and first in _NICK:
        first = _NICK[first]
    elif variation == "whitespace":
        first, last = f" {first}", f"{last} "
    else:
        variation = "case"
        first, last, email = first.lower(), last.upper(), email.upper()
    created = rand_date(rng, h.created, TODAY - dt.timedelta(days=3))
    return replace(h, first=first, last=last, email=email, home="", first_visit=None, last_visit=None,
                   created=created, head=True, duplicate_of=h, variation=variation,
                   extra=dict(h.extra))


def insert_duplicates(rng: random.Random, people: list[Human], n_dup: int, *, visited: bool = True) -> None:
    """Enter ``n_dup`` people a second time, each copy somewhere after its original.

    Originals are household heads with both an e-mail and a mobile (what the duplicate finder
    matches on) and, with ``visited``, a first visit; they are marked ``extra["has_dup"]`` so no
    other defect is planted on them and the pair stays recognisable.
    """
    eligible = [i for i, h in enumerate(people) if h.email and h.mobile and h.head and (h.first_visit or not visited)]
    originals = sorted(rng.sample(eligible, n_dup))
    for i in originals:
        people[i].extra["has_dup"] = True
    dups = {j: duplicate_of(rng, people[i], DUPLICATE_VARIATIONS[j % 3]) for j, i in enumerate(originals)}
    for pos, j in sorted(((rng.randrange(i + 1, len(people) + 1), j) for j, i in enumerate(originals)), reverse=True):
        people.insert(pos, dups[j])


def duplicate_pairs(people: list[Human], rows: list[dict], lines: list[int], *, key: str, file: str, kind: str,
                    truth) -> list[dict]:
    """Note every planted duplicate in ``truth`` (by the line its row landed on) and return the
    ``{original, duplicate, variation}`` pairs for ``ground_truth.json``."""
    index = {id(h): i for i, h in enumerate(people)}
    pairs = []
    for i, h in enumerate(people):
        if h.duplicate_of is not None:
            o = index[id(h.duplicate_of)]
            pairs.append({"original": rows[o][key], "duplicate": rows[i][key], "variation": h.variation})
            truth.defects.append({"kind": kind, "file": file, "row": lines[i], "column": key, "id": rows[i][key],
                                  "value": rows[i][key], "duplicate_of": rows[o][key], "variation": h.variation})
    return pairs
