"""Which column gets a standard field when several could take it, and how a column's values map
onto a standard pick-list.

A destination object has one phone field, one city, one stage: when two columns read as the same
field, the choice between them rests on a margin a person should see (:func:`contests`), unless
a stated preference settles it (:func:`phone_order`: the number a practice texts first). A
column that comes near no standard field at all goes to a custom field without doubt
(:func:`no_standard_rival`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._catalog import DestinationObject
from ._profiling import ValueProfile

if TYPE_CHECKING:  # the proposer's candidates; imported for types only (no import cycle)
    from ._proposer import Candidate

__all__ = ["BY_VALUE", "PHONES", "contests", "phone_order", "no_standard_rival", "option_map"]

#: kinds that name a concept on their own, when the column name says nothing
BY_VALUE = {"email": "email", "phone": "phone", "url": "website", "ssn": "ssn", "card": "card_number", "state": "state",
            "gender": "gender", "npi": "npi", "cdt": "procedure_code"}
PHONES = ("mobile_phone", "phone", "home_phone", "work_phone")
#: a standard field's best name score under which a column has no standard field to miss
_RIVAL_SCORE = 0.45


def contests(decided: list[tuple[str, ValueProfile, list[Candidate]]], target: DestinationObject,
              winners: dict[str, str]) -> dict[str, float]:
    """column -> how closely another column competes for the standard field it won (0..1).

    Two columns that both read as the one phone field, or as the one city, leave the choice
    between them to a margin a person should see.
    """
    phone_field = next((target.field_for(p) for p in PHONES if target.field_for(p)), None)
    claimants: dict[str, list[float]] = {}
    for col, _prof, cands in decided:
        if not cands or cands[0].score < 0.6:
            continue
        api = target.field_for(cands[0].concept) or (phone_field if cands[0].concept in PHONES else None)
        if api:
            claimants.setdefault(api, []).append(cands[0].score)
    out = {}
    for col, api in winners.items():
        scores = sorted(claimants.get(api, []), reverse=True)
        if len(scores) >= 2:
            mine = next(c[0].score for n, _p, c in decided if n == col)
            rival = scores[1] if mine >= scores[0] else scores[0]
            out[col] = max(0.0, min(1.0, 1.0 - (mine - rival) / 0.3))
    return out


def phone_order(decided: list[tuple[str, ValueProfile, list[Candidate]]], holder: str | None,
                 qualified: dict[str, bool]) -> set[str]:
    """Phone columns whose place the preference order settles: when the one phone field went to
    a column whose whole name says the most preferred kind of phone (mobile before main, home,
    work) and every other phone column's whole name says a later kind, neither the winner nor the
    losers hang on a margin. Returns those columns (the holder included); empty when the holder
    points at another party or any of the record's own phone columns is read from a close name.
    """
    # another party's phone ("emergency_contact_phone") yields to the record's own anyway
    phones = [(col, c[0]) for col, _p, c in decided if c and c[0].score >= 0.6 and c[0].concept in PHONES
              and not qualified.get(col)]
    if not holder or len(phones) < 2 or any(best.how not in ("name match", "synonym") for col, best in phones):
        return set()
    rank = {col: PHONES.index(best.concept) for col, best in phones}
    if holder not in rank or any(r <= rank[holder] for col, r in rank.items() if col != holder):
        return set()
    return set(rank)


def no_standard_rival(cands: list[Candidate], prof: ValueProfile, target: DestinationObject) -> bool:
    """Whether no reading of the column comes near a standard field of ``target``: every
    candidate with a standard field scores low and the values are of no kind a standard field
    takes (emails, phones, addresses, dates of birth ...)."""
    standard = [c.score for c in cands if target.field_for(c.concept) or c.concept in PHONES]
    taken_by_values = {c.concept for c in cands if c.fit >= 0.75 and target.field_for(c.concept)}
    # values that are a standard pick-list's options ("Open", "Won", "Lost") point at that field
    opts = [str(v).strip().lower() for v in (prof.options or prof.samples or [])]
    for spec in target.fields.values():
        allowed = {o.lower() for o in spec.get("options") or []}
        allowed |= {v for o in allowed for v in _OUTCOMES.get(o, set())}
        if opts and allowed and sum(v in allowed for v in opts) >= 0.6 * len(opts):
            return False
    return (max(standard, default=0.0) < _RIVAL_SCORE and not taken_by_values and prof.kind not in BY_VALUE
            and prof.kind not in {"empty", "zip", "country", "date", "url"})


#: source values that say a deal is won, lost or still open
_OUTCOMES = {"won": {"won", "completed", "complete", "closed won", "accepted", "paid", "done", "finished", "converted"},
             "lost": {"lost", "declined", "cancelled", "canceled", "closed lost", "rejected", "missed", "denied", "no show",
                      "broken"},
             "abandoned": {"abandoned", "inactive", "archived", "on hold"},
             "male": {"m", "male", "man"}, "female": {"f", "female", "woman"},
             "other": {"o", "other", "x", "non-binary", "nonbinary", "u", "unknown"}}


def option_map(source_values: list[str], options: list[str], concept: str) -> dict[str, str]:
    """A value-by-value map from a column's values onto a standard pick-list field's options."""
    out = {}
    for v in source_values:
        low = v.strip().lower()
        hit = next((o for o in options if o.lower() == low), None)
        hit = hit or next((o for o in options if low in _OUTCOMES.get(o, set())), None)
        if hit is None and concept == "deal_status" and "open" in options:
            hit = "open"
        if hit is None and "other" in options:
            hit = "other"
        if hit is not None:
            out[v] = hit
    return out
