"""How sure a proposal is: the evidence it rests on and the calibrated map from it to a confidence.

A proposal's confidence is a logistic function of its evidence (:func:`evidence`) with weights
fitted on labelled layouts (:data:`CALIBRATION`), capped under :data:`CONFIRM_THRESHOLD` by
:func:`trusted` whenever the reading is short of a whole, unambiguous known name that the values
do not contradict and no other column competes for.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ._vocabulary import AMBIGUOUS_ON_PERSON, ambiguous_phrases

if TYPE_CHECKING:  # the proposer's candidates; imported for types only (no import cycle)
    from ._proposer import Candidate

__all__ = ["CALIBRATION", "CONFIRM_THRESHOLD", "confidence", "evidence", "trusted"]

#: proposals below this confidence are marked for a person's attention first
CONFIRM_THRESHOLD = 0.8

#: weights of the logistic map from a proposal's evidence (:func:`evidence`) to its confidence,
#: fitted on the tuning layouts (benchmarks/mapping_accuracy layouts/ and layouts_heldout/ to layouts_heldout3/) by
#: benchmarks/mapping_accuracy/calibrate.py; refit there whenever the evidence or the reading of
#: names and values changes. Being right was regressed on the evidence with a wrong proposal
#: weighing five right ones, so the confidence ranks doubt first rather than estimating a
#: probability. :func:`trusted` caps whatever these give for anything short of a trusted reading
CALIBRATION = {"bias": 0.52, "exact": 1.542, "close": -0.111, "name_score": 1.05, "coverage": -0.736, "fit": 0.039,
               "conflict": 0.0, "margin": 1.713, "contest": -1.597}


def evidence(cands: list[Candidate], contest: float = 0.0) -> dict[str, float]:
    """What a proposal rests on, as numbers in 0..1 (the calibration's inputs).

    Args:
        cands: the column's candidates, best first.
        contest: how closely another column competes for the same standard field (0 = none,
            1 = as well as this one).
    """
    best = cands[0]
    second = next((c.score for c in cands[1:] if c.concept != best.concept), 0.0)
    return {"exact": float(best.how in ("name match", "synonym")), "close": float(best.how == "close name"),
            "name_score": best.name_score, "coverage": best.coverage, "fit": best.fit,
            "conflict": float(best.fit == 0.0), "margin": min(0.5, best.score - second), "contest": contest}


def ambiguous(best: Candidate, kind: str | None = None) -> bool:
    """Whether the matched name is one the vocabulary gives to several concepts, or, on a
    person, a company word that as often names another party's company ("employer")."""
    return best.phrase in ambiguous_phrases() or (kind == "person" and best.phrase in AMBIGUOUS_ON_PERSON
                                                  and best.concept == "company_name")


def trusted(cands: list[Candidate], contest: float = 0.0, qualified: bool = False, kind: str | None = None) -> bool:
    """Whether a proposal may be taken without a look: the whole name is an unambiguous known
    name of the concept, the values do not contradict it, no other column competes closely for
    the same field, and no word of the name points at another party or place.

    Args:
        cands: the column's candidates, best first.
        contest: how closely another column competes for the same standard field (0..1).
        qualified: whether a word of the name puts the column on another party or place.
        kind: the destination object's kind (``person``, ``company``, ...).
    """
    best = cands[0]
    return (best.how in ("name match", "synonym") and best.fit >= 0.5 and contest < 0.5 and not qualified
            and not ambiguous(best, kind))


def confidence(cands: list[Candidate], contest: float = 0.0, qualified: bool = False, kind: str | None = None) -> float:
    """The proposal's confidence: the calibrated evidence, capped under the threshold unless
    :func:`trusted` holds."""
    x = evidence(cands, contest)
    z = CALIBRATION["bias"] + sum(CALIBRATION[k] * v for k, v in x.items())
    conf = 1.0 / (1.0 + math.exp(-z))
    # whatever the fitted weights say, anything short of a trusted reading is reviewed first
    if not trusted(cands, contest, qualified, kind):
        conf = min(conf, CONFIRM_THRESHOLD - 0.02)
    return round(conf, 2)
