"""The labelled evaluation set: loading the layouts and scoring predictions against them.

No toolkit import here: the `valentine` runner uses this file from its own environment.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
LAYOUTS = HERE / "layouts"
#: layouts written after the last change to the proposer and scored before any change made
#: from reading them (see README.md, "History, honestly")
HELDOUT = HERE / "layouts_heldout"
#: a second held-out set, written before the proposer changes that read the first one's errors
HELDOUT2 = HERE / "layouts_heldout2"
#: a third held-out set, written and labelled before the proposer changes that read the second one's errors
HELDOUT3 = HERE / "layouts_heldout3"
#: a fourth held-out set, written and labelled before the proposer changes that read the third one's errors
HELDOUT4 = HERE / "layouts_heldout4"
#: the layouts the proposer is tuned on: every folder but the newest held-out one
TUNING = (LAYOUTS, HELDOUT, HELDOUT2, HELDOUT3)
SETS = {"dev": (LAYOUTS,), "heldout": (HELDOUT,), "heldout2": (HELDOUT2,), "heldout3": (HELDOUT3,),
        "heldout4": (HELDOUT4,), "all": TUNING, "tuning": TUNING}


def layouts(which: str = "dev") -> list[dict]:
    """Every layout of one set, with its table (strings, ``<NA>`` for empty) and gold label per column.

    Args:
        which: ``dev`` (``layouts/``), ``heldout`` (``layouts_heldout/``), ``heldout2``
            (``layouts_heldout2/``), ``heldout3`` (``layouts_heldout3/``, the set not tuned on), or
            ``all``/``tuning`` (``layouts/``, ``layouts_heldout/`` and ``layouts_heldout2/``, the
            layouts the proposer is now tuned on).
    """
    out = []
    for path in sorted(p for folder in SETS[which] for p in folder.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        cols = {name: values for name, _gold, values in data["columns"]}
        n = max(len(v) for v in cols.values())
        df = pd.DataFrame({c: [str(x) if x is not None else "" for x in v] + [""] * (n - len(v)) for c, v in cols.items()})
        df = df.replace("", pd.NA)
        data["table"] = df
        data["gold"] = {name: gold for name, gold, _ in data["columns"]}
        out.append(data)
    return out


SENSITIVE = {"sensitive", "ssn", "card_number", "password", "bank_account", "drivers_license"}
PHONES = ("mobile_phone", "phone", "work_phone", "home_phone")


def gold_targets(lay: dict, fields: dict[str, dict]) -> dict[str, str]:
    """The right target per column on the layout's destination object, from the hand-written concepts.

    ``fields`` is the destination object's field list (API name -> {concept, ...}). A concept the
    object has a field for becomes that field; a sensitive one ``sensitive``; any other ``custom``.
    Where the object has one phone field for several kinds of phone, it goes to the layout's
    preferred phone column (mobile, then main, work, home: the number a practice texts), and the
    other phone columns become custom fields.
    """
    by_concept = {f["concept"]: name for name, f in fields.items() if f.get("concept") and not f.get("via")}
    by_concept.update({f["concept"]: name for name, f in fields.items() if f.get("via")})
    gold = {c: g for c, g in lay["gold"].items() if g != "key"}
    phone_field = next((by_concept[p] for p in PHONES if p in by_concept), None)
    missing_phones = [c for c, g in gold.items() if g in PHONES and g not in by_concept]
    preferred = None
    if phone_field and phone_field not in [by_concept.get(g) for g in gold.values()]:
        ranked = sorted(missing_phones, key=lambda c: PHONES.index(gold[c]))
        preferred = ranked[0] if ranked else None
    out = {}
    for col, g in gold.items():
        if g in SENSITIVE:
            out[col] = "sensitive"
        elif g in by_concept:
            out[col] = by_concept[g]
        elif col == preferred:
            out[col] = phone_field
        else:
            out[col] = "custom"
    return out


def target_label(target: str | None, sensitive: bool) -> str:
    """A proposed target as the benchmark scores it: the API field, ``custom`` or ``sensitive``."""
    if sensitive:
        return "sensitive"
    if target is None or target.startswith("custom:"):
        return "custom"
    return target


def settle_shared_golds(rows: list[dict]) -> list[dict]:
    """Two columns with the same right field (an email opt-out and a do-not-call flag, both the one
    DND field): the field can take only one, so the other's right answer is a custom field."""
    df = pd.DataFrame(rows)
    for (_layout, gold), g in df[~df.gold.isin(["custom", "sensitive"])].groupby(["layout", "gold"]):
        if len(g) > 1:
            taken = g.index[g.predicted == gold]
            others = g.index.difference(taken[:1]) if len(taken) else g.index[1:]
            df.loc[others, "gold"] = "custom"
    return df.to_dict("records")


def score(rows: list[dict], threshold: float) -> dict:
    """Figures for a list of {layout, column, gold, predicted, confidence} rows (targets)."""
    df = pd.DataFrame(settle_shared_golds(rows))
    std = df[~df.gold.isin(["custom", "sensitive"])]  # columns with a standard field to find
    wrong = df[df.gold != df.predicted]
    return {
        "columns": int(len(df)),
        "standard_columns": int(len(std)),
        "top1_standard": round(float((std.gold == std.predicted).mean()), 4) if len(std) else None,
        "accuracy_all": round(float((df.gold == df.predicted).mean()), 4),
        "sensitive_found": f"{int(((df.gold == 'sensitive') & (df.predicted == 'sensitive')).sum())}"
                           f"/{int((df.gold == 'sensitive').sum())}",
        "wrong": int(len(wrong)),
        "wrong_below_threshold": round(float((wrong.confidence < threshold).mean()), 4) if len(wrong) else 1.0,
        "per_layout": {k: round(float((g.gold == g.predicted).mean()), 3) for k, g in df.groupby("layout")},
    }
