"""The machinery every view shares: displaying an HTML block with its PHI-masked twin, tables
that are also saved as CSV, the summary cards, and the ``part`` convention of the ``show_*`` views.

See :mod:`toolkit.reports.context` for what a view does inside a report.
"""

from __future__ import annotations

from typing import Any, Callable

import pandas as pd

from . import blocks
from .blocks import Card
from .context import current

__all__ = ["emit", "show_frame", "show_summary", "parts"]

_ITABLES_READY = False
#: display ids shown in this kernel: showing one again replaces its output in place
_SHOWN: set[str] = set()


def emit(html: str, masked: str | None = None, *, role: str | None = None, phi: bool = True, text: str = "",
         masked_text: str | None = None, display_id: str | None = None) -> None:
    """Display an HTML fragment, with its PHI-masked twin in the output's metadata.

    Args:
        masked: the same fragment built from masked data (``None``: nothing to mask was known).
        role: ``"summary"`` puts the fragment at the top of the HTML report.
        phi: ``False`` for fragments that cannot hold patient data (charts of counts, scripts).
        text: what a plain-text front end shows instead of the HTML (``masked_text``: its twin).
        display_id: the output to replace when it has been shown already (a table redrawn after
            an edit, in place).
    """
    from IPython.display import display, update_display

    ctx = current()
    meta: dict[str, Any] = {}
    if role:
        meta["role"] = role
    if not phi:
        meta["phi"] = False
    elif masked is not None:
        meta["redacted"] = masked
        if masked_text is not None:
            meta["redacted_text"] = masked_text
    shown = masked if (ctx is not None and ctx.redact and masked is not None) else html
    data = {"text/html": shown, "text/plain": text or "(a report block: open the HTML report or JupyterLab)"}
    if display_id is not None and display_id in _SHOWN:
        update_display(data, display_id=display_id, raw=True, metadata={"crm_migrate": meta})
        return
    if display_id is not None:
        _SHOWN.add(display_id)
    display(data, raw=True, metadata={"crm_migrate": meta}, display_id=display_id)


def _ensure_itables() -> None:
    """Embed the interactive-table bundle once per report (once per kernel outside a report)."""
    global _ITABLES_READY
    ctx = current()
    done = getattr(ctx, "itables_ready", False) if ctx is not None else _ITABLES_READY
    if not done:
        emit(blocks.itables_init(), phi=False, text="(interactive tables)")
        if ctx is not None:
            ctx.itables_ready = True
        else:
            _ITABLES_READY = True


def show_frame(name: str, df: pd.DataFrame, *, interactive: bool = False, panes: tuple[str, ...] = (),
               pills: dict[str, dict[str, str]] | None = None, hint_column: str | None = None,
               value_columns: tuple[str, ...] = (), hints: dict[str, str] | None = None, max_rows: int = 200,
               caption: str = "", display_id: str | None = None) -> None:
    """Display a table (static, or interactive and filterable) and keep it as CSV in a report.

    Args:
        name: the table's name; its CSV is ``<step>/<name>.csv``.
        hint_column, value_columns, hints: what the values are, for masking (see
            :meth:`toolkit.reports.Redactor.frame`).
    """
    df = pd.DataFrame(df) if not isinstance(df, pd.DataFrame) else df
    ctx = current()
    masked = ctx.redactor.frame(df, hints=hints, hint_column=hint_column, value_columns=value_columns) \
        if ctx is not None else None
    saved = ctx.save_table(name, df, masked) if ctx is not None and len(df) else None
    if interactive and len(df):
        _ensure_itables()
        build = lambda d: blocks.interactive_table(d, panes=panes, pills=pills, caption=caption)  # noqa: E731
    else:
        build = lambda d: blocks.table(d, pills=pills, max_rows=max_rows, caption=caption)  # noqa: E731
    foot = blocks.note(f"CSV: {saved}") if saved else ""
    emit(build(df) + foot, (build(masked) + foot) if masked is not None else None, text=df.head(20).to_string(),
         masked_text=masked.head(20).to_string() if masked is not None else None, display_id=display_id)


def show_summary(figures: dict, *, title: str = "", verdict: str | None = None, ok: bool | None = None,
                 tones: dict[str, str] | None = None, tone: str | None = None) -> None:
    """Key figures as cards, with an optional one-line verdict, at the top of the report.

    Args:
        ok: the verdict is good news (green), bad news (red), or neither (``None``, blue).
        tone: the verdict's tone when it is none of those (``"warn"``).
    """
    tones = tones or {}
    tone = tone or ("good" if ok else "bad" if ok is False else "info")
    body = ""
    if verdict:
        body += blocks.banner(verdict, tone)
    items = [Card(k.replace("_", " "), v, tones.get(k, "neutral")) for k, v in figures.items()
             if isinstance(v, (int, float, str)) and not isinstance(v, bool)]
    body += blocks.cards(items, title=title)
    ctx = current()
    masked = None
    if ctx is not None:
        red = ctx.redactor
        masked = blocks.banner(red.text(verdict), tone) if verdict else ""
        masked += blocks.cards([Card(c.label, red.value(c.value, c.label), c.tone) for c in items], title=title)
    emit(body, masked, role="summary", text=str(figures))


def parts(table: dict[str, Callable[[], None]], part: str, what: str) -> None:
    """Show one named part of a view (``table``: part name -> how to show it), or every part
    under its own heading (``all``)."""
    from IPython.display import Markdown, display

    if part == "all":
        for name, fn in table.items():
            display(Markdown(f"### {name.replace('_', ' ').capitalize()}"))
            fn()
        return
    if part not in table:
        raise ValueError(f"{what} has no part {part!r} (parts: {', '.join(table)})")
    table[part]()
