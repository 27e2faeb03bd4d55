"""What the notebooks display: tables and charts built from the steps' results.

Kept out of the notebooks so that they stay one call per step, and the same views render the
same way in JupyterLab and in the HTML reports.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["show_counts", "show_missing", "show_table", "show_findings", "owner_table", "not_loaded"]


def _display(obj) -> None:
    from IPython.display import display

    display(obj)


def show_table(df: pd.DataFrame, max_rows: int = 200) -> None:
    """Display a table, saying how many rows were left out when it is long."""
    if df is None or len(df) == 0:
        _display(pd.DataFrame({"": ["(none)"]}))
        return
    if len(df) > max_rows:
        print(f"showing {max_rows} of {len(df)} rows (all rows are in the step's JSON file)")
    _display(df.head(max_rows).reset_index(drop=True))


def _bar(series: pd.Series, title: str, xlabel: str) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, max(2.0, 0.32 * len(series) + 1)))
    series.sort_values().plot.barh(ax=ax, color="#2f6f9f")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    fig.tight_layout()
    _display(fig)
    plt.close(fig)


def show_counts(report) -> None:
    """Records per object, as a chart."""
    _bar(pd.Series(report.profile["counts"]), "Records per object", "records")


def show_missing(report) -> None:
    """Share of empty values per field of each object that has any, as a chart."""
    rows = {}
    for obj, info in report.profile["objects"].items():
        n = max(info["records"], 1)
        for col, missing in info["missing"].items():
            if missing:
                rows[f"{obj}.{col}"] = 100.0 * missing / n
    if rows:
        _bar(pd.Series(rows), "Empty values per field (%)", "% of records")
    else:
        print("no empty values")


def show_findings(report) -> None:
    """Duplicates, unconvertible values and broken references, each with file lines."""
    dup, bad, refs = [], [], []
    for obj, info in report.profile["objects"].items():
        for d in info.get("duplicates", []):
            dup.append({"object": obj, **d})
        for col, v in info["invalid"].items():
            bad.extend({"object": obj, "column": col, **r} for r in v["rows"])
        refs.extend({"object": obj, **r} for r in info["broken_references"])
    for title, rows in (("Likely duplicate people", dup), ("Values that will not convert", bad),
                        ("Broken references", refs)):
        print(f"{title}: {len(rows)}")
        show_table(pd.DataFrame(rows), max_rows=100)


def owner_table(outcome) -> pd.DataFrame:
    """Owner resolution as a table: matched, unmatched, records, recommended action."""
    return pd.DataFrame(outcome.owners.rows())


def not_loaded(rec) -> pd.DataFrame:
    """Source records that were skipped, errored or are unaccounted for, with reasons."""
    df = rec.fates
    return df[~df["fate"].isin(["created", "updated"])].sort_values(["fate", "object", "source_key"])
