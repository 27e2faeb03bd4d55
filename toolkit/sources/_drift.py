"""Schema drift as a report a person can act on: which columns are missing, extra or renamed in
which file, against which declared layout version, and what to do about it.

The same entry is raised (as a :class:`~toolkit.errors.SchemaDriftError`, one line, for the
command line and the migrate step) or recorded in ``Snapshot.meta["drift"]`` (for the audit,
which shows it as a table instead of stopping).
"""

from __future__ import annotations

from ..errors import SchemaDriftError
from ._csv import column_list

__all__ = ["drift_entry", "drift_error", "conform"]


def _fix(missing: list[str], extra: list[str], renamed: dict[str, str], dupes: list[str],
         file: str) -> list[str]:
    steps = [f"rename column {found!r} back to {want!r} in {file} (or edit the layout if the "
             "software now writes the new name)" for want, found in renamed.items()]
    steps += [f"re-export {file} with column {m!r} (check the export utility's column selection),"
              " or, if it is deliberately gone, leave it out of the mapping"
              for m in missing if m not in renamed]
    steps += [f"remove column {e!r} from {file} or declare it in the layout (a newer export "
              "version?); it is kept in the audit meanwhile"
              for e in extra if e not in renamed.values()]
    steps += [f"remove the repeated column {d!r} from {file}" for d in dupes]
    if len(steps) > 6:  # one line: the first steps, then how many more of the same kind
        steps = steps[:5] + [f"and {len(steps) - 5:,} more steps like these"]
    return steps


def drift_entry(obj: str, file: str, version: str, drift: dict) -> dict:
    """One object's drift report.

    Args:
        obj: the source object.
        file: the export file.
        version: the layout version compared against.
        drift: what :func:`toolkit.sources._csv.compare_header` found.

    Returns:
        ``{object, file, layout, missing, extra, renamed, duplicated, fix, message}``, where
        ``fix`` is a list of steps and ``message`` one line.
    """
    missing, extra = list(drift["missing"]), list(drift["extra"])
    renamed, dupes = dict(drift["renamed"]), list(drift["duplicated"])
    parts = []
    if renamed:
        parts.append("renamed column(s) " + ", ".join(f"{w!r} -> {f!r}" for w, f in renamed.items()))
    gone = [m for m in missing if m not in renamed]
    new = [e for e in extra if e not in renamed.values()]
    if gone:
        parts.append("missing column(s) " + column_list(gone))
    if new:
        parts.append("unknown column(s) " + column_list(new))
    if dupes:
        parts.append("duplicated column(s) " + column_list(dupes))
    return {"object": obj, "file": file, "layout": version, "missing": missing, "extra": extra,
            "renamed": renamed, "duplicated": dupes,
            "fix": _fix(missing, extra, renamed, dupes, file),
            "message": f"{file}: header differs from layout {version}: " + "; ".join(parts)}


def drift_error(entry: dict) -> SchemaDriftError:
    """The entry as the error the strict reader raises (message: what differs, then the fix)."""
    err = SchemaDriftError(entry["message"].split(": ", 1)[1] + ". Fix: " + "; ".join(entry["fix"]),
                           file=entry["file"], row=1,
                           column=(entry["missing"] or entry["extra"] or entry["duplicated"])[0])
    err.missing, err.extra = entry["missing"], entry["extra"]
    err.renamed, err.duplicated = entry["renamed"], entry["duplicated"]
    err.drift = entry
    return err


def conform(frame, declared: tuple[str, ...], entry: dict):
    """A drifted file's frame under the declared names, so the audit can still run on it.

    Renamed columns take their declared name, missing ones are added empty, repeated ones get
    a ``(2)`` suffix and unknown ones are kept after the declared columns: nothing is dropped.
    """
    import pandas as pd

    from ._csv import string_dtype

    cols, seen = [], {}
    back = {found: want for want, found in entry["renamed"].items()}
    for c in frame.columns:
        name = back.get(c, c)
        seen[name] = seen.get(name, 0) + 1
        cols.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    frame = frame.set_axis(cols, axis=1)
    for m in declared:
        if m not in frame.columns:
            frame[m] = pd.Series(pd.NA, index=frame.index, dtype=string_dtype())
    return frame[list(declared) + [c for c in frame.columns if c not in declared]]
