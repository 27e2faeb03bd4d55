"""Proposing a target for every column: names and values read together.

For one source table and one destination object, each column gets a target — the destination's
own API field, ``custom:<key>`` with a type, or ``None`` — with a confidence (0..1) and a one-line
reason. The reading has three parts:

1. the column name, split and expanded (:mod:`._vocabulary`), compared with every concept's
   phrases (exact = "name match"/"synonym", close = rapidfuzz ratio);
2. the values (:mod:`._profiling`): a profile that agrees with a concept confirms it, one that
   contradicts it lowers it, and a distinctive profile ("98% parse as E.164 phones") proposes a
   concept on its own when the name says nothing;
3. the destination: a concept becomes its standard field when the object has one and no better
   column took it; otherwise a custom field whose type follows the concept and the values.

Confidence is a logistic function of the evidence (:func:`evidence`: exact or close name, how
much of the name the phrase explains, value fit, margin to the runner-up concept, a rival column
for the same field) with weights fitted on labelled layouts (:data:`CALIBRATION`), so that an
ambiguous column falls below :data:`CONFIRM_THRESHOLD` and is shown first for review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
from rapidfuzz import fuzz

from ._catalog import DestinationObject
from ._profiling import ValueProfile, profile
from ._spec import FieldMap
from ._catalog import standard_concepts
from ._vocabulary import (BANK_WORDS, CARD_WORDS, CONCEPTS, OTHER_PARTY, OTHER_PERSON, OTHER_PLACE, PERSONAL,
                          SENSITIVE_WORDS, address_blocks, phrase, synonym_phrases, word_weights, words)
from ._field_contests import (BY_VALUE, PHONES, contests as _contests, no_standard_rival as _no_standard_rival,
                              option_map as _option_map, phone_order as _phone_order)
from ._confidence import CALIBRATION, CONFIRM_THRESHOLD, confidence as _confidence, evidence, trusted  # noqa: F401

__all__ = ["CONFIRM_THRESHOLD", "Candidate", "rank_concepts", "propose_fields", "custom_key"]

#: value kinds specific enough that a name contradicting them is probably wrong
DISTINCTIVE = {"email", "phone", "date", "datetime", "ssn", "card", "url", "money", "state", "zip", "gender", "flag", "npi",
               "cdt", "percent", "time"}
#: concepts no destination has a standard field for: they name their custom field
CUSTOM_CONCEPTS = set(CONCEPTS) - standard_concepts()
#: concepts too general to name a custom field after (the column's own name says more)
GENERIC_CONCEPTS = {"full_name", "record_id", "description", "phone", "email", "amount", "subject", "note_body", "owner",
                    "deal_status", "patient_status", "activity_type", "provider", "location", "due_date", "start_time",
                    "end_time", "company_name", "tags", "lead_source", "stage", "pipeline"}


#: words too common in names to tie a column to a secret on their own
_GENERIC_WORDS = {"number", "id", "code", "no", "key"}


@dataclass
class Candidate:
    """One concept a column might carry, with how well the name and the values fit it."""

    concept: str
    score: float
    name_score: float
    fit: float
    how: str
    phrase: str
    coverage: float = 1.0

    def reason(self, prof: ValueProfile) -> str:
        what = {"name match": "name match", "synonym": f"synonym ({self.phrase!r})",
                "close name": f"close to {self.phrase!r}", "value profile": "value profile"}[self.how]
        if prof.kind in ("empty",):
            return f"{what}; the column is empty"
        if self.fit >= 0.99 or self.how == "value profile":
            return f"{what}; {prof.describe()}"
        if self.fit == 0.0:
            return f"{what}, but {prof.describe()}"
        return what


def _fit(concept: str, prof: ValueProfile) -> float:
    kinds = CONCEPTS[concept].kinds
    if prof.kind == "empty" or not kinds:
        return 0.5
    if prof.kind in kinds:
        return 1.0
    if any(prof.shares.get(k, 0.0) >= 0.5 for k in kinds):
        return 0.75
    if prof.kind in DISTINCTIVE and prof.share >= 0.8:
        return 0.0
    if prof.kind == "id":  # every value distinct: an identifier, whatever else the name says
        return 0.25
    return 0.4


def qualifiers(column: str, cand: Candidate | None, kind: str) -> set[str]:
    """Words of ``column`` that put it on another party or place than the record's own.

    Only words the matched phrase does not itself contain count ("Emergency Phone" names its
    own concept), and "contact" only after the first word ("Contact Email" is the contact's own,
    "phone_contact" a contact person's). On a company or deal, billing or office addresses are
    the record's own, so only the other-party words count there.
    """
    ws = words(column)
    own = set(cand.phrase.split()) if cand else set()
    # a work or office phone is still the person's own number; a work address is not their home
    place = OTHER_PLACE if kind == "person" and not (cand and cand.concept in PHONES) else set()
    words_that_count = OTHER_PARTY | place
    # a leading "contact" is the record's own word ("Contact Owner"), except before a person's
    # name or phone: "contactname" beside a patient's own name is the emergency contact's
    own_contact = not (cand and cand.concept in PERSONAL)
    return {w for i, w in enumerate(ws) if w in words_that_count and w not in own
            and not (w == "contact" and i == 0 and own_contact)}


@lru_cache(maxsize=4096)
def _name_scores(col_phrase: str) -> dict[str, tuple[float, str, str, float]]:
    """concept -> (best name score, how, phrase, coverage) for one column phrase.

    Coverage is the share of the column's words (weighted by rarity) that the phrase accounts
    for: 1.0 for an exact match, low when the phrase matched one word of a long name.
    """
    out: dict[str, tuple[float, str, str, float]] = {}
    cw = col_phrase.split()
    weight = word_weights()
    wsum = lambda ws: sum(weight.get(w, 1.0) for w in ws)  # noqa: E731
    for ph, concept, own in synonym_phrases():
        if ph == col_phrase:
            s, how, cover = 1.0, ("name match" if own else "synonym"), 1.0
        else:
            pw = ph.split()
            common = set(cw) & set(pw)
            # shared words weighted by how rare they are ("mobile" tells more than "number"); a
            # phrase word the column lacks costs more than a column word the phrase lacks, since
            # exports qualify names ("MailingState", "PrimaryEmail") far more than they shorten them
            c = wsum(common)
            overlap = 0.35 * c / wsum(cw) + 0.65 * c / wsum(pw) if common else 0.0
            a, b = col_phrase.replace(" ", ""), ph.replace(" ", "")
            # a typo or a spelling ("postcode"/"post code") still reads as the phrase; very short
            # names ("lat", "st") are too short to tell a typo from another word
            close = fuzz.ratio(a, b) / 100 if min(len(a), len(b)) >= 4 else 0.0
            s = max(overlap * 0.92, close * 0.95 if close >= 0.85 else close * 0.7)
            how = "close name"
            cover = max(c / wsum(cw) if common else 0.0, close if close >= 0.85 else 0.0)
        if s > out.get(concept, (0.0,))[0]:
            out[concept] = (s, how, ph, cover)
    return out


def rank_concepts(column: str, prof: ValueProfile) -> list[Candidate]:
    """Every concept the column might carry, best first."""
    ws = words(column)
    hit = next((w for w in ws if w in SENSITIVE_WORDS), None)
    if not hit and "card" in ws and set(ws) & CARD_WORDS:  # a card's number, expiry or code: card data
        hit = "card"
    if not hit and set(ws) & BANK_WORDS and set(ws) & {"number", "routing", "iban"} and "card" not in ws:
        hit = "bank"
    if hit:  # one telling word is enough: a secret is never worth the risk of a guess
        concept = {"ssn": "ssn", "drivers": "drivers_license", "passport": "drivers_license", "cvv": "card_number",
                   "cvc": "card_number", "card": "card_number", "iban": "bank_account", "routing": "bank_account",
                   "swift": "bank_account", "bic": "bank_account", "bank": "bank_account"}.get(hit, "password")
        return [Candidate(concept, 0.95, 0.95, 1.0, "synonym", hit)]
    cands = []
    for concept, (ns, how, ph, cover) in _name_scores(phrase(column)).items():
        if how == "close name" and CONCEPTS[concept].sensitive and not (set(ws) & set(ph.split()) - _GENERIC_WORDS):
            # "PatNum" shares only "number" with "dl number": a record's own number, not a secret
            continue
        fit = _fit(concept, prof)
        score = 0.75 * ns + 0.25 * fit
        if fit == 0.0:
            score *= 0.6
        cands.append(Candidate(concept, score, ns, fit, how, ph, cover))
    by_value = BY_VALUE.get(prof.kind)
    if by_value and prof.share >= 0.9:
        existing = next((c for c in cands if c.concept == by_value), None)
        value_score = 0.62 + 0.1 * (prof.share - 0.9) * 10
        if existing is None or existing.score < value_score:
            cands = [c for c in cands if c.concept != by_value]
            cands.append(Candidate(by_value, value_score, existing.name_score if existing else 0.0, 1.0, "value profile", "",
                                   0.0))
    cands.sort(key=lambda c: c.score, reverse=True)
    return cands


def custom_key(column: str, taken: set[str]) -> str:
    """A snake_case custom-field key for ``column``, unique among ``taken``."""
    base = re.sub(r"[^a-z0-9]+", "_", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", column).lower()).strip("_") or "field"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    taken.add(key)
    return key


def _split_full_name(fields: list[FieldMap], target: DestinationObject) -> None:
    """A column of whole names, where the object has a first and a last name but no whole name
    (a Freshsales contact): the last word to the last name, the words before it to the first."""
    first, last = target.field_for("first_name"), target.field_for("last_name")
    if not first or not last or target.field_for("full_name") or any(f.target in (first, last) for f in fields):
        return
    for i, fm in enumerate(fields):
        if fm.extra.get("concept") == "full_name" and isinstance(fm.source, str) and \
                (fm.target is None or fm.target.startswith("custom:")) and fm.value is None:
            why = f"whole names; {target.destination} keeps first and last names apart: split at the last word"
            fields[i:i + 1] = [
                FieldMap(fm.source, first, transform="given_names", confidence=min(fm.confidence, 0.75), reason=why,
                         extra={"concept": "full_name"}),
                FieldMap(fm.source, last, transform="family_name", confidence=min(fm.confidence, 0.75), reason=why,
                         extra={"concept": "full_name"})]
            return


def _custom_type(prof: ValueProfile, concept: str | None) -> tuple[str, str | None]:
    """(custom-field type, transform) from the concept unless the values say otherwise, else from the values."""
    if concept:
        c = CONCEPTS[concept]
        fit = _fit(concept, prof)
        if c.custom_type != "text" and fit >= 0.75:
            return c.custom_type, c.transform
        if c.custom_type == "text" and (fit > 0.0 or prof.kind not in DISTINCTIVE):
            return "text", c.transform if c.transform in (None, "strip", "title", "upper") else None
    by_kind = {"email": ("email", "email"), "phone": ("phone", "phone_e164"), "date": ("date", "date"),
               "datetime": ("datetime", "datetime"), "money": ("monetary", "money"), "integer": ("number", "number"),
               "number": ("number", "number"), "percent": ("number", "percent"), "flag": ("checkbox", "yn_bool"),
               "picklist": ("single_option", None), "gender": ("single_option", None), "state": ("text", "upper"),
               "multi": ("multiple_options", None)}
    if prof.kind in by_kind:
        return by_kind[prof.kind]
    if prof.kind == "text" and prof.samples and sum(len(s) for s in prof.samples) / len(prof.samples) > 120:
        return "large_text", None
    return "text", None


def _label(column: str) -> str:
    return " ".join(w.capitalize() for w in re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", column).replace("_", " ").split())


def propose_fields(df: pd.DataFrame, target: DestinationObject, *, key: str | None = None,
                   skip: dict[str, str] | None = None, taken_keys: set[str] | None = None,
                   profiles: dict[str, ValueProfile] | None = None,
                   evidence_out: dict[str, dict[str, float]] | None = None) -> tuple[list[FieldMap], dict[str, dict]]:
    """Propose a FieldMap for every column of ``df`` going to ``target``.

    Args:
        df: the source table (strings, ``<NA>`` for empty).
        target: the destination object it becomes.
        key: the source id column (kept as the Source ID custom field, not a field of its own).
        skip: column -> reason for columns already decided (links, owner).
        taken_keys: custom-field keys in use on this object.
        profiles: profiles already computed, by column.
        evidence_out: when given, filled with column -> the evidence its confidence rests on
            (:func:`evidence`; used to fit :data:`CALIBRATION`).

    Returns:
        (fields, value maps by column).
    """
    skip = dict(skip or {})
    taken_keys = set() if taken_keys is None else taken_keys
    profiles = profiles or {}
    decided: list[tuple[str, ValueProfile, list[Candidate]]] = []
    own_name = {"company": "company_name", "deal": "deal_name", "lead": "deal_name", "activity": "subject"}.get(target.kind)
    for col in df.columns:
        prof = profiles.get(col) or profile(df[col])
        cands = rank_concepts(col, prof)
        if own_name and cands and (cands[0].concept == "full_name" and phrase(col) == "name"
                                   or own_name == "deal_name" and cands[0].concept == "job_title" and phrase(col) == "title"):
            # a bare "Name" names the record itself: a company's, a deal's; so does a deal's "Title"
            top = cands[0]
            cands[0] = Candidate(own_name, top.score, top.name_score, top.fit, "synonym", f"name of a {target.kind}")
        decided.append((col, prof, cands))

    # the standard field goes to the column that fits it best, not to the first one in the file
    # a column about another party ("phone_contact", "Employer City") yields to the record's own
    qualified = {col: bool(qualifiers(col, cands[0] if cands else None, target.kind)) for col, _p, cands in decided}
    # another person's detail ("contactname", "guarantor_phone") is never the record's own field
    # on a person; neither is a second address block beside the record's own
    # (only words written out in the name: "SubDivision" is not a subscriber)
    others_of = {col: {w for w in qualifiers(col, cands[0] if cands else None, target.kind) & OTHER_PERSON
                       if w in col.lower()} if target.kind == "person" else set() for col, _p, cands in decided}
    apart, kept_block = address_blocks(decided, target.kind, set(skip) | {key})
    claims: dict[str, tuple[float, str]] = {}
    filled = {col: prof.filled for col, prof, _c in decided}
    for col, prof, cands in decided:
        if col in skip or col == key or not cands or cands[0].score < 0.6 or others_of[col] or col in apart:
            continue
        api = target.field_for(cands[0].concept)
        claim = cands[0].score - (0.15 if qualified[col] else 0.0)
        if not api:
            continue
        held = claims.get(api)
        # a column that is (nearly) empty where a rival holds values never takes the field from
        # it: "Email" left blank beside an "E-mail Address" that every row fills
        if held is not None and filled[col] < 0.1 * filled[held[1]]:
            continue
        if held is None or held[0] < claim or filled[held[1]] < 0.1 * filled[col]:
            claims[api] = (claim, col)
    winners = {col: api for api, (_, col) in claims.items()}
    # one phone field for several kinds of phone: it goes to the number a practice can text
    free_phone = next((target.field_for(p) for p in PHONES if target.field_for(p) and target.field_for(p) not in claims), None)
    if free_phone:
        phone_cols = [(qualified[col], PHONES.index(c[0].concept), i, col) for i, (col, _p, c) in enumerate(decided)
                      if c and c[0].score >= 0.6 and c[0].concept in PHONES and col not in winners and col != key
                      and col not in skip and not others_of[col]]
        if phone_cols:
            col = min(phone_cols)[3]
            winners[col] = free_phone
            claims[free_phone] = (0.0, col)
        free_phone = None
    # the one phone field won by another party's number ("phone_contact") goes to the record's own
    phone_field = next((target.field_for(p) for p in PHONES if target.field_for(p)), None)
    holder = claims.get(phone_field, (0.0, None))[1] if phone_field else None
    if holder and qualified.get(holder):
        own = [(PHONES.index(c[0].concept), i, col) for i, (col, _p, c) in enumerate(decided)
               if c and c[0].score >= 0.6 and c[0].concept in PHONES and not qualified[col] and col != key
               and col not in skip and col not in winners]
        if own:
            col = min(own)[2]
            del winners[holder]
            winners[col] = phone_field
            claims[phone_field] = (0.0, col)

    contest = _contests([d for d in decided if not (kept_block and d[0] in apart)], target, winners)
    for col in kept_block:  # the block choice settles these fields: no margin to hang on
        contest[col] = 0.0
    settled = _phone_order(decided, claims.get(phone_field, (0.0, None))[1] if phone_field else None, qualified)
    for col in settled:
        contest[col] = 0.0
    fields: list[FieldMap] = []
    values: dict[str, dict] = {}
    compose: dict[str, str] = {}
    concept_of: dict[str, str | None] = {}
    concept_evidence: dict[str, dict[str, float]] = {} if evidence_out is None else evidence_out
    for col, prof, cands in decided:
        best = cands[0] if cands else None
        if col == key:
            fields.append(FieldMap(col, None, confidence=1.0, reason="the record id: kept in the Source ID custom field"))
            continue
        if col in skip:
            fields.append(FieldMap(col, None, confidence=0.9, reason=skip[col]))
            continue
        concept = best.concept if best and best.score >= 0.6 else None
        concept_of[col] = concept or {"ssn": "ssn", "card": "card_number"}.get(prof.kind)
        if concept and CONCEPTS[concept].sensitive or prof.kind in {"ssn", "card"}:
            what = "social security numbers" if prof.kind == "ssn" or concept == "ssn" else (
                "payment card numbers" if prof.kind == "card" or concept == "card_number" else "secrets")
            why = best.reason(prof) if concept else prof.describe()
            kinds = CONCEPTS[concept].kinds if concept else frozenset()
            doubt = kinds and prof.kind in DISTINCTIVE | {"country"} and prof.kind not in kinds and prof.share >= 0.8
            # the name says secret but the values say otherwise ("CC" holding country codes), or only
            # the values say it (nine digits are also ZIP+4 codes): still left out, but shown first
            value_only = not concept or best.how == "value profile"
            # a name that only partly says secret ("Provider License Number") is left out too, but
            # a person decides: the same words name public identifiers
            partial = not value_only and best.how == "close name"
            conf = 0.6 if doubt else (CONFIRM_THRESHOLD - 0.05 if value_only or partial else 0.95)
            fields.append(FieldMap(col, None, confidence=conf,
                                   reason=f"sensitive ({why}): {what} are not migrated"
                                   + (f"; but {prof.describe()}: check" if doubt else "")
                                   + ("; read from the values alone: check" if value_only and not doubt else "")
                                   + ("; the name only partly says so: check" if partial and not doubt else "")))
            continue
        if prof.kind == "empty":
            # nothing in the values confirms what the column is: worth a look (a truncated export?)
            fields.append(FieldMap(col, None, confidence=CONFIRM_THRESHOLD - 0.05,
                                   reason="the column is empty in this export: nothing to migrate; check the export"))
            continue
        conf = _confidence(cands, contest.get(col, 0.0), qualified[col], target.kind) if concept else 0.0
        if concept:  # what the confidence rests on, for the reviewer and the calibration
            concept_evidence[col] = evidence(cands, contest.get(col, 0.0))
        api = winners.get(col)
        if concept and api and target.fields[api].get("via") == "pipeline":
            fields.append(FieldMap(col, None, confidence=conf, reason=f"{best.reason(prof)}; sets the {concept} through "
                                   "the pipeline rule, value by value", extra={"concept": concept}))
            continue
        if concept and api:
            spec = target.fields[api]
            # tags take each label of a cell that lists several ("football-fan, manager") as its own
            transform = "tag_list" if api == "tags" else CONCEPTS[concept].transform
            if spec.get("type") == "integer":  # the API takes whole numbers only (Pipedrive's revenue)
                transform = "whole_number"
            fm = FieldMap(col, api, transform=transform, confidence=conf, reason=best.reason(prof))
            if target.field_for(concept) != api:
                fm.reason += f"; {api} is the only phone field"
            if spec.get("options") and prof.options:
                values[col] = _option_map(prof.options, spec["options"], concept)
            fields.append(fm)
            continue
        if concept in ("first_name", "last_name"):
            composed = next((n for n, f in target.fields.items() if f.get("compose")), None)
            if composed:
                compose[concept] = col
                continue
        if concept == "owner" and prof.kind == "email":
            fields.append(FieldMap(col, None, confidence=conf, reason="owner: matched by email to a destination user"))
            continue
        if not target.custom_fields:
            fields.append(FieldMap(col, None, confidence=0.6,
                                   reason=f"{target.name} takes no custom fields here: not migrated unless you choose a field"))
            continue
        kind, transform = _custom_type(prof, concept)
        if kind == "multiple_options" and not target.multi_select:
            kind, transform = "text", "comma_list"
        if concept in ("created_at", "updated_at"):
            base = {"created_at": "original_created", "updated_at": "original_modified"}[concept]
        elif concept in CUSTOM_CONCEPTS and concept not in GENERIC_CONCEPTS:
            base = concept
        else:
            base = col
        ckey = custom_key(base, taken_keys)
        phone_field = next((target.field_for(p) for p in PHONES if target.field_for(p)), None)
        if concept and (target.field_for(concept) or concept in PHONES) and (others_of.get(col) or col in apart):
            # set apart by whose or which address it is, not by a close call on its name
            whose = (f"{' '.join(sorted(others_of[col]))}: another person's, not the record's own" if others_of.get(col)
                     else f"a second address block: the block of {apart[col]} keeps the standard address fields")
            why = f"{best.reason(prof)}; {whose}: custom {kind} field"
            holder = claims.get(target.field_for(concept) or "", (0.0, None))[1]
            hd = next((c for n, _p, c in decided if n == holder), None)
            # sure when the name is whole and known, or the record's own column beside it is trusted
            sure = col in apart and bool(kept_block) or bool(others_of.get(col)) and (
                best.how in ("name match", "synonym") or bool(hd) and trusted(hd, contest.get(holder, 0.0),
                                                                              qualified[holder], target.kind))
            conf = 0.85 if sure else min(conf, 0.7)
        elif concept and target.field_for(concept):
            why = f"{best.reason(prof)}; {target.field_for(concept)} already carries a better column"
            conf = min(conf, 0.7)
            holder = claims.get(target.field_for(concept), (0.0, None))[1]
            others = qualifiers(col, best, target.kind) & OTHER_PARTY
            hd = next((c for n, _p, c in decided if n == holder), None)
            if others and hd and trusted(hd, contest.get(holder, 0.0), qualified[holder], target.kind):
                # another party's detail ("Employer City") beside the record's own, read from its
                # whole known name: keeping it apart is what the name says, not a close call
                why = f"{best.reason(prof)}; {' '.join(sorted(others))}: another party's, kept apart from {holder}"
                conf = 0.85
        elif concept in PHONES and phone_field and claims.get(phone_field, (0.0, None))[1] not in (None, col):
            # lost the one phone field to another phone column: which number it should hold is a
            # choice a person confirms, unless both names say which kind of phone they are and
            # the preference order (mobile first) decided it
            why = (f"{best.reason(prof)}; {phone_field}, the only phone field, went to "
                   f"{claims[phone_field][1]}: custom {kind} field")
            if col in settled:
                why += " (a mobile number is preferred)"
            else:
                conf = min(conf, 0.7)
        elif concept:
            why = f"{best.reason(prof)}; no standard {target.destination} field: custom {kind} field"
            if concept in ("created_at", "updated_at"):
                why = f"{best.reason(prof)}; original timestamp kept in a custom datetime field for reporting"
        else:
            top = f" (nearest: {best.concept}, {best.score:.2f})" if best and best.score >= 0.4 else ""
            why = f"no standard field matches{top}; {prof.describe()}: custom {kind} field"
            conf = round(0.9 - 0.5 * (best.score if best else 0.0), 2)
        if not (concept and target.field_for(concept)) and concept not in PHONES and _no_standard_rival(cands, prof, target):
            # nothing in the name or the values points at a standard field: a custom field is the
            # only place it can go, whichever custom concept it is
            conf = max(conf, CONFIRM_THRESHOLD + 0.02)
        fm = FieldMap(col, f"custom:{ckey}", type=kind, transform=transform, name=_label(col),
                      confidence=conf, reason=why)
        if kind in ("single_option", "multiple_options"):
            # a pick-list needs its options: the values seen (a column read as gender from one
            # value has too few rows for the profile to list them); a multi-select's, split
            seen = prof.options or ([*dict.fromkeys(str(v).strip() for v in df[col].dropna() if str(v).strip())][:50]
                                    if col in df.columns else [])
            if kind == "multiple_options":
                seen = [*dict.fromkeys(p.strip() for v in seen for p in re.split(r"[;|,]", v) if p.strip())]
                fm.transform = fm.transform or "tag_list"  # each label of a cell is one option
            if seen:
                fm.options = list(seen)
            else:
                fm.type, fm.transform = "text", None
                fm.reason += "; no values to list as options: kept as text"
        fields.append(fm)
    for fm in fields:  # what the proposer read each column as, for the reviewer (and the benchmark)
        if isinstance(fm.source, str) and concept_of.get(fm.source):
            fm.extra.setdefault("concept", concept_of[fm.source])
    _split_full_name(fields, target)
    if compose:
        api = next(n for n, f in target.fields.items() if f.get("compose"))
        parts = [compose[c] for c in ("first_name", "last_name") if c in compose]
        fields.insert(0, FieldMap(parts[0], api, template=" ".join("{%s}" % p for p in parts), transform="title",
                                  confidence=0.85, reason=f"{target.destination} has one name field: "
                                  f"{' and '.join(parts)} joined", extra={"concept": "full_name"}))
    return fields, values
