"""Charts drawn with matplotlib as inline SVG: sharp at any zoom, text kept as text, no files.

Only what reads better as a picture than as a bar of HTML: a quantity over time.
"""

from __future__ import annotations

import io

import pandas as pd

__all__ = ["timeline_svg"]

_INK, _MUTED, _LINE, _BRAND = "#1f2328", "#59636e", "#d8dee4", "#087e8b"


def timeline_svg(series: pd.Series, *, ylabel: str, title: str = "", marks: list[tuple[pd.Timestamp, str]] = ()) -> str:
    """An area chart of ``series`` (a value per time bucket), with labelled vertical ``marks``."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    with plt.rc_context({"svg.fonttype": "none", "svg.hashsalt": "crm-migrate", "font.size": 10,
                         "font.family": ["DejaVu Sans", "sans-serif"], "axes.edgecolor": _LINE,
                         "axes.labelcolor": _MUTED, "xtick.color": _MUTED, "ytick.color": _MUTED}):
        fig, ax = plt.subplots(figsize=(10, 3.2), dpi=100)
        x = series.index.to_pydatetime() if isinstance(series.index, pd.DatetimeIndex) else series.index
        ax.fill_between(x, series.values, step="post", color=_BRAND, alpha=0.18, linewidth=0)
        ax.step(x, series.values, where="post", color=_BRAND, linewidth=1.8)
        for when, label in marks:
            ax.axvline(when, color=_MUTED, linewidth=0.8, linestyle=(0, (3, 3)))
            ax.annotate(label, (when, 1.0), xycoords=("data", "axes fraction"), xytext=(4, -12),
                        textcoords="offset points", color=_MUTED, fontsize=8.5)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title, loc="left", color=_INK, fontsize=11, fontweight="bold")
        ax.set_ylim(bottom=0)
        ax.grid(axis="y", color=_LINE, linewidth=0.8)
        ax.spines[["top", "right", "left"]].set_visible(False)
        ax.tick_params(length=0)
        if isinstance(series.index, pd.DatetimeIndex):
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
        fig.tight_layout()
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
        plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]
