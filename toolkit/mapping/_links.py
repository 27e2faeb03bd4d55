"""Relations between tables, read from the data: which column identifies a table's records, and
which column of one table holds another table's keys.

A link is proposed where a column's values are the keys of another table (its ``coverage``: the
share found among them), or where the export's layout declares it. A table's own id never links
it elsewhere, and row numbers are never keys: a table keyed by row is pointed at by a unique name
instead (``by``). Each link carries a ``confidence`` and the ``evidence`` a reviewer reads.
"""

from __future__ import annotations

import re

import pandas as pd

from ..shapes import Snapshot
from ._catalog import DestinationObject, destination_objects

__all__ = ["LINK_COVERAGE", "guess_key", "propose_links", "singular"]


def guess_key(df: pd.DataFrame) -> str | None:
    """The column that identifies a record: filled, unique, and named like an id where possible."""
    if df.empty:
        return None
    candidates = [c for c in df.columns if df[c].notna().all() and df[c].is_unique]
    if not candidates:
        return None

    def words(c: str) -> str:
        return re.sub(r"([a-z])([A-Z])", r"\1_\2", c).lower()

    # a phone, fax or postal "number" is how to reach a record, not what identifies it
    contact = re.compile(r"phone|fax|mobile|cell|zip|postal|tel")
    named = [c for c in candidates if re.search(r"(^|[^a-z])(id|key|num|number|no|uuid|guid|code)$", words(c))
             and not contact.search(words(c))]
    # no id column: a unique name is how other tables point at a record ("company": "Acme")
    names = [c for c in candidates if re.fullmatch(r"(\w+_)?name", words(c))]
    return (named or names or candidates)[0]


def singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:  # companies, categories
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


#: share of a column's values that must be another table's keys for the values alone to link them
LINK_COVERAGE = 0.9


def _link_name(col: str, other: str, okey: str) -> bool:
    """Whether ``col``'s name says it holds ``other``'s key: the key's own name, or the table's name
    (singular) with or without id (``PATIENT``, ``patient_id``, ``PatientID``)."""
    words = re.sub(r"([a-z])([A-Z])", r"\1_\2", col).lower()
    words = re.sub(r"[^a-z0-9]+", "_", words).strip("_")
    # any word of the table's name: "companies_sample" is about companies
    tables = {singular(w) for w in re.split(r"[^a-z0-9]+", other.lower()) if len(w) > 2}
    return col == okey or any(words in {t, f"{t}_id", f"{t}_key", f"{t}_uuid", f"{t}_no", f"{t}_name"} for t in tables)


def propose_links(snapshot: Snapshot, name: str, df: pd.DataFrame, target: DestinationObject | None,
           targets: dict[str, str | None], destination: str) -> dict[str, dict]:
    """Link fields for columns that hold another table's keys, found from the data.

    A column links to the table whose keys its values are (``coverage``: the share of its values
    found among them), declared by the source's schema or read from the values and the name.
    A table's own id never links it to another table, and neither do row numbers (a table with
    no key column of its own has nothing to point at). Each link carries its ``coverage``, a
    ``confidence`` and the ``evidence`` a reviewer reads.
    """
    if target is None:
        return {}
    objects = destination_objects(destination)
    own_key = snapshot.schema[name].key if name in snapshot.schema else guess_key(df)
    declared = snapshot.schema[name].references if name in snapshot.schema else {}
    found: list[tuple[float, str, dict]] = []
    for col in df.columns:
        if col == own_key:
            continue
        vals = df[col].dropna().astype(str).str.strip()
        vals = vals[vals != ""]
        options = []
        for other, odf in snapshot.tables.items():
            if other == name or targets.get(other) not in objects:
                continue
            okey = snapshot.schema[other].key if other in snapshot.schema else guess_key(odf)
            by = None
            if okey == "_row":  # rows numbered by the reader: other tables name them by a unique name
                by = guess_key(odf.drop(columns=["_row"], errors="ignore"))
            if okey is None or by is None and (okey == "_row" or okey not in odf.columns):
                continue
            keys = set(odf[by or okey].dropna().astype(str).str.strip())
            coverage = float(vals.isin(keys).mean()) if len(vals) else 0.0
            ref = declared.get(col, "")
            if ref:
                if not ref.startswith(f"{other}."):
                    continue
                options.append((1.0, other, coverage, "declared by the export's layout", None))
                continue
            named = _link_name(col, other, by or okey)
            # short whole numbers are every table's row ids: their values alone prove nothing
            small = bool(keys) and all(re.fullmatch(r"\d{1,3}", k) for k in list(keys)[:1000])
            # a few values prove little on their own; with a name that says so, they confirm it
            if not len(vals) or len(vals) < 3 and not named or coverage < (0.5 if named else LINK_COVERAGE) \
                    or (small and not named):
                continue
            score = coverage + (0.5 if named else 0.0)
            options.append((score, other, coverage, f"{coverage:.0%} of its {len(vals)} values are {other} "
                                                    f"{by or okey} values" + ("; its name says so" if named else ""),
                            by))
        if not options:
            continue
        options.sort(key=lambda o: -o[0])
        score, other, coverage, why, by = options[0]
        rival = options[1] if len(options) > 1 else None
        if score >= 1.0 and why.startswith("declared"):
            confidence = 0.98
        elif rival is not None and rival[0] >= score - 0.05:
            confidence = 0.6  # another table's keys fit as well: a person decides
            why += f"; {rival[1]} keys fit as well"
        elif "name says" in why:
            confidence = 0.95 if coverage >= 0.98 else 0.85 if coverage >= LINK_COVERAGE else 0.7
        else:
            confidence = 0.9 if coverage >= 0.98 else 0.75
        spec = {"column": col, "object": other, "coverage": round(coverage, 3), "confidence": confidence,
                "evidence": why}
        if by:
            spec["by"] = by  # the values name the other record by this column, not by its key
        found.append((confidence, col, spec))
    links: dict[str, dict] = {}
    for confidence, col, spec in sorted(found, key=lambda f: -f[0]):
        field = target.link_to(objects[targets[spec["object"]]].kind)
        if field and field not in links:
            links[field] = spec
    return links
