"""Every source record's fate, counted once: the figures every command and report shows.

The closing line of a command, the migrate, summary and reconcile reports all read their
counts from :func:`source_fates` and :func:`fate_counts`, so that they cannot disagree. The
unit is the source record (a patient, an appointment): what it became in the CRM is one of
created, updated, merged into another record, excluded by the confirmed mapping, skipped
(with a reason), errored (with a reason), rolled back, or unaccounted for. CRM writes — a
source record can become several CRM records — are counted apart, as writes.
"""

from __future__ import annotations

import pandas as pd

from ..shapes import SET_ASIDE

__all__ = ["FATES", "fate_counts", "fates_per_object", "source_fates"]

#: the fates in the order reports show them, with the key each has in the figures
FATES = {"created": "created", "updated": "updated", "merged": "merged", "excluded": "excluded",
         "skipped": "skipped", "error": "errors", "rolled back": "rolled_back", "unaccounted": "unaccounted"}


def source_fates(snapshot, ledger) -> pd.DataFrame:
    """One row per source record of ``snapshot``: object, source_key, fate, reason.

    A record the ledger has no outcome for is "unaccounted". Records the ledger knows but the
    source no longer has (deleted in the source) are not source records and are not counted.
    """
    fates = ledger.fates()
    rows = []
    for obj, df in snapshot.tables.items():
        key = snapshot.schema[obj].key
        for k in df[key].astype("string").str.strip().fillna("").tolist():
            fate, reason = fates.get((obj, k), ("unaccounted", "no outcome recorded in the ledger"))
            rows.append((obj, k, fate, reason))
    # rows the reader set aside as malformed are source records too (keyed by their line)
    for q in snapshot.meta.get("quarantined") or []:
        k = f"line {q['row']}"
        fate, reason = fates.get((q["object"], k), ("unaccounted", "set aside as malformed; no run has recorded it yet"))
        rows.append((q["object"], k, fate, reason))
    return pd.DataFrame(rows, columns=["object", "source_key", "fate", "reason"])


def fate_counts(fates: pd.DataFrame) -> dict[str, int]:
    """``{"source_records": n, "created": …, "errors": …, "unaccounted": …, "set_aside": …}`` over
    ``fates`` (``set_aside`` is a part of ``errors``, not a fate of its own)."""
    counts = fates["fate"].value_counts().to_dict() if len(fates) else {}
    # of the errors, the rows the reader set aside as malformed (the audit named each by file and
    # line before the load): known, and loadable only once the export is mended
    aside = int(((fates["fate"] == "error") & fates["reason"].astype(str).str.endswith(SET_ASIDE)).sum()) if len(fates) else 0
    return {"source_records": int(len(fates)), **{name: int(counts.get(f, 0)) for f, name in FATES.items()},
            "set_aside": aside}


def fates_per_object(fates: pd.DataFrame, objects) -> pd.DataFrame:
    """One row per source object, in the order of ``objects``: its source records and how many
    of them had each fate (a column per fate present)."""
    table = pd.crosstab(fates["object"], fates["fate"]) if len(fates) else pd.DataFrame()
    table = table.reindex(list(objects)).fillna(0).astype(int)
    table.insert(0, "source", table.sum(axis=1).astype(int))
    table = table.rename_axis(index="object").reset_index()
    table.columns.name = None
    return table
