"""The HTML building blocks of a report page: figure cards, banners, bar charts, tables.

Each returns an HTML fragment styled by the report theme (``templates/report/report.css``); the
same fragment reads well in JupyterLab, where the theme is absent, because every block carries
a little inline layout of its own. Every value is escaped: report content is data, never markup.
"""

from __future__ import annotations

import html
import itertools
import math
from dataclasses import dataclass
from typing import Any, Iterable

import pandas as pd

__all__ = ["Card", "cards", "banner", "bars", "stacked_bars", "table", "interactive_table", "pill", "itables_init", "note",
           "fmt", "TONES"]

#: tone -> meaning; the theme colours them (good green, warn amber, bad red, info blue)
TONES = ("good", "warn", "bad", "info", "neutral")
_ids = itertools.count(1)


def fmt(value: Any) -> str:
    """A value as a reader wants it: thousands separators, no ``nan``, short floats."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3g}"
    return str(value)


def _e(value: Any) -> str:
    return html.escape(fmt(value))


@dataclass
class Card:
    """One key figure: a label, a value, and how it should strike the reader."""

    label: str
    value: Any
    tone: str = "neutral"
    note: str = ""


def cards(items: Iterable[Card], *, title: str = "") -> str:
    """A row of key-figure cards."""
    parts = [f'<div class="cm-card cm-{c.tone}{" cm-card-long" if len(fmt(c.value)) > 12 else ""}" style="display:inline-block;min-width:9em;margin:0 .6em .6em 0;'
             f'padding:.6em .9em;border-radius:8px;border:1px solid #d0d7de;vertical-align:top">'
             f'<div class="cm-card-value" style="font-size:1.6em;font-weight:600">{_e(c.value)}</div>'
             f'<div class="cm-card-label">{html.escape(c.label)}</div>'
             + (f'<div class="cm-card-note">{html.escape(c.note)}</div>' if c.note else "") + "</div>"
             for c in items]
    head = f'<h3 class="cm-cards-title">{html.escape(title)}</h3>' if title else ""
    return f'<div class="cm-cards">{head}{"".join(parts)}</div>'


def banner(text: str, tone: str = "info", detail: str = "") -> str:
    """A one-line verdict across the page (green when all is well, red when it is not)."""
    colour = {"good": "#1a7f37", "bad": "#cf222e", "warn": "#9a6700"}.get(tone, "#0969da")
    icon = {"good": "✔", "bad": "✖", "warn": "!"}.get(tone, "i")
    extra = f'<div class="cm-banner-detail">{html.escape(detail)}</div>' if detail else ""
    return (f'<div class="cm-banner cm-{tone}" role="status" style="border-left:6px solid {colour};'
            f'padding:.7em 1em;margin:.4em 0 1em">'
            f'<span class="cm-banner-icon" aria-hidden="true">{icon}</span> '
            f'<strong>{html.escape(text)}</strong>{extra}</div>')


def pill(text: Any, tone: str = "neutral") -> str:
    """A small coloured label (a status, a verdict)."""
    return f'<span class="cm-pill cm-{tone}">{_e(text)}</span>'


def note(text: str) -> str:
    """A muted sentence under a block: what it means, where the full data is."""
    return f'<p class="cm-note">{html.escape(text)}</p>'


def bars(series: pd.Series, *, unit: str = "", tone: str = "info", max_items: int = 40,
         percent: bool = False, label: str = "") -> str:
    """A horizontal bar chart in plain HTML: crisp at any zoom, selectable, no image."""
    s = series.dropna()
    s = s[s != 0].sort_values(ascending=False)
    if s.empty:
        return note("nothing to chart")
    hidden = len(s) - max_items
    s = s.head(max_items)
    top = float(s.max()) or 1.0
    rows = []
    for name, value in s.items():
        width = max(0.5, 100.0 * float(value) / (100.0 if percent else top))
        shown = f"{value:.1f}%" if percent else f"{fmt(value)}{(' ' + unit) if unit else ''}"
        rows.append(f'<div class="cm-bar-row" style="display:flex;align-items:center;gap:.6em;margin:.15em 0">'
                    f'<div class="cm-bar-label" style="flex:0 0 16em;text-align:right;overflow:hidden;'
                    f'text-overflow:ellipsis;white-space:nowrap" title="{html.escape(str(name))}">{html.escape(str(name))}</div>'
                    f'<div class="cm-bar-track" style="flex:1 1 auto"><div class="cm-bar cm-{tone}" '
                    f'style="width:{width:.1f}%;height:1.05em;border-radius:3px;background:#4c8bc8"></div></div>'
                    f'<div class="cm-bar-value" style="flex:0 0 6em">{html.escape(shown)}</div></div>')
    more = note(f"and {hidden} more (all are in the CSV beside this report)") if hidden > 0 else ""
    aria = html.escape(label or "bar chart")
    return f'<div class="cm-bars" role="img" aria-label="{aria}">{"".join(rows)}</div>{more}'


def stacked_bars(tally: pd.DataFrame, tones: dict[str, str], max_items: int = 40) -> str:
    """One 100%-wide bar per row, split by column (e.g. per field: equal / transformed / mismatch)."""
    rows = []
    for name, counts in tally.head(max_items).iterrows():
        total = float(counts.sum()) or 1.0
        segs = "".join(f'<div class="cm-seg cm-{tones.get(str(col), "neutral")}" style="width:{100.0 * n / total:.2f}%" '
                       f'title="{html.escape(str(col))}: {n:,}"></div>' for col, n in counts.items() if n)
        detail = " · ".join(f"{col} {n:,}" for col, n in counts.items() if n)
        rows.append(f'<div class="cm-bar-row" style="display:flex;align-items:center;gap:.6em;margin:.15em 0">'
                    f'<div class="cm-bar-label" style="flex:0 0 16em;text-align:right">{html.escape(str(name))}</div>'
                    f'<div class="cm-stack" style="flex:1 1 auto;display:flex;height:1.05em">{segs}</div>'
                    f'<div class="cm-bar-value" style="flex:0 0 18em">{html.escape(detail)}</div></div>')
    legend = "".join(f'<span class="cm-legend-item"><span class="cm-swatch cm-{t}"></span>{html.escape(k)}</span>'
                     for k, t in tones.items() if k in tally.columns)
    return f'<div class="cm-bars"><div class="cm-legend">{legend}</div>{"".join(rows)}</div>'


def _cell(value: Any, tone_of: dict[str, str] | None) -> str:
    if tone_of is not None:
        return pill(value, tone_of.get(str(value), "neutral"))
    return _e(value)


def table(df: pd.DataFrame, *, max_rows: int = 200, pills: dict[str, dict[str, str]] | None = None,
          caption: str = "") -> str:
    """A static, readable table: numbers right-aligned, statuses as coloured pills."""
    if df is None or len(df) == 0:
        return note("none")
    pills = pills or {}
    shown = df.head(max_rows)
    numeric = {c for c in shown.columns if pd.api.types.is_numeric_dtype(shown[c]) and not pd.api.types.is_bool_dtype(shown[c])}
    head = "".join(f'<th class="{"num" if c in numeric else ""}">{html.escape(str(c))}</th>' for c in shown.columns)
    body = []
    for row in shown.itertuples(index=False):
        tds = "".join(f'<td class="{"num" if c in numeric else ""}">{_cell(v, pills.get(c))}</td>'
                      for c, v in zip(shown.columns, row))
        body.append(f"<tr>{tds}</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    more = note(f"showing {max_rows:,} of {len(df):,} rows; every row is in the CSV beside this report") \
        if len(df) > max_rows else ""
    return (f'<div class="cm-table-wrap"><table class="cm-table">{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>{more}')


def itables_init() -> str:
    """The DataTables bundle, embedded (no network): emitted once per notebook, before any
    interactive table, so that the standalone HTML works offline."""
    import itables.options as opt
    from itables import javascript as js

    init = js.read_package_file("html/init_datatables.html")
    # The connected import would fetch from unpkg; the offline bundle provides the same function.
    init = init.replace(
        "import { set_or_remove_dark_class } from 'https://www.unpkg.com/dt_for_itables/dt_bundle.js';",
        "const { set_or_remove_dark_class } = await window." + js._itables_underscore_version() + ";")
    if "unpkg.com" in init:
        init = ""  # a future itables changed the snippet: skip the dark-mode helper rather than go online
    return init + js.generate_init_offline_itables_html(opt.dt_bundle)


def interactive_table(df: pd.DataFrame, *, panes: Iterable[str] = (), pills: dict[str, dict[str, str]] | None = None,
                      page_length: int = 25, max_rows: int = 5000, caption: str = "") -> str:
    """A filterable, sortable, searchable table (itables, offline).

    Args:
        panes: columns offered as filter panes above the table (verdict, object, field).
        pills: column -> value -> tone, drawn as coloured pills.
        max_rows: rows embedded in the page; the CSV beside the report has them all.
    """
    from itables import javascript as js

    if df is None or len(df) == 0:
        return note("none")
    shown = df.head(max_rows).reset_index(drop=True).copy()
    for col, tones in (pills or {}).items():
        if col in shown.columns:
            shown[col] = [pill(v, tones.get(str(v), "neutral")) for v in shown[col]]
    for col in shown.columns:
        if shown[col].dtype == object or pd.api.types.is_string_dtype(shown[col]):
            escaped = [html.escape(fmt(v)) for v in shown[col]]
            shown[col] = escaped if col not in (pills or {}) else shown[col]
    columns = list(shown.columns)
    # a pane with one value filters nothing: offer only columns with a choice in them
    pane_idx = [columns.index(c) for c in panes if c in columns and df[c].astype("string").nunique() > 1]
    options: dict[str, Any] = dict(connected=False, showIndex=False, order=[], pageLength=page_length,
                                   lengthMenu=[10, 25, 50, 100, 500], allow_html=True, column_filters="footer",
                                   display_logo_when_loading=False, classes="display compact cm-itable",
                                   maxBytes=0,  # rows are capped above; itables must not drop any of those
                                   table_id=f"cm_table_{next(_ids)}")
    if pane_idx:
        options["layout"] = {"top1": "searchPanes"}
        options["searchPanes"] = {"columns": pane_idx, "cascadePanes": True, "initCollapsed": False,
                                  "layout": f"columns-{min(len(pane_idx), 4)}", "controls": False,
                                  "collapse": False, "dtOpts": {"select": {"style": "multi"}},
                                  "i18n": {"title": {"_": "%d filters on", "0": "Filter by clicking values"}}}
    more = note(f"showing {max_rows:,} of {len(df):,} rows; every row is in the CSV beside this report") \
        if len(df) > max_rows else ""
    cap = f'<div class="cm-caption">{html.escape(caption)}</div>' if caption else ""
    return f'<div class="cm-itable-wrap">{cap}{js.to_html_datatable(shown, **options)}</div>{more}'
