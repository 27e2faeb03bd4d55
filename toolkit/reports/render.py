"""Rendering an executed step notebook as the standalone HTML page a practice reads.

What the page holds, top to bottom: a title block (the report's name, the practice's source and
destination, when it was made, whether patient data is masked), the summary (every output a view
marked ``role: summary``, else key figures from the step's JSON), a contents list, then the
notebook's markdown and outputs — never its code, its parameters or its progress bars. Everything
is inline (styles, charts, the interactive-table bundle), so the file opens offline and can be
mailed as it is.

Redacted rendering (``redactor`` given): each view's output is replaced by the masked twin it
carries in its metadata; any other output (a printed line, a plain repr) has every known
patient value masked; charts marked free of patient data stay as they are.
"""

from __future__ import annotations

import copy
import datetime as dt
import html
import json
import os
import re
from pathlib import Path

from . import blocks
from .redaction import Redactor

__all__ = ["render_notebook", "redact_notebook", "HIDDEN_TAGS", "TEMPLATES"]

TEMPLATES = Path(__file__).parent / "templates"
#: cells with these tags never appear in a report
HIDDEN_TAGS = {"parameters", "injected-parameters", "report-setup", "hide-in-report"}
_TEXT_TYPES = ("text/html", "text/plain", "text/markdown", "image/svg+xml")


def _meta(output) -> dict:
    return (output.get("metadata") or {}).get("crm_migrate") or {}


def redact_notebook(book, redactor: Redactor):
    """A copy of an executed notebook with every output masked (see the module docstring)."""
    book = copy.deepcopy(book)
    # Widget state (a review grid's rows, say) holds data values and has no masked twin; a static
    # copy has no use for it.
    book.metadata.pop("widgets", None)
    for cell in book.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            meta = _meta(out)
            if out.output_type == "stream":
                out.text = redactor.text(out.text)
            elif out.output_type == "error":
                out.evalue = redactor.text(out.evalue)
                out.traceback = [redactor.text(t) for t in out.traceback]
            elif "redacted" in meta:
                plain = meta.get("redacted_text") or redactor.text(out.data.get("text/plain", ""))
                out.data = {"text/html": meta["redacted"], "text/plain": plain}
                out.metadata["crm_migrate"] = {k: v for k, v in meta.items() if k not in {"redacted", "redacted_text"}}
            elif meta.get("phi") is False:
                pass
            else:
                out.data = {k: (redactor.text(v) if k in _TEXT_TYPES and isinstance(v, str) else v)
                            for k, v in out.data.items() if k in _TEXT_TYPES or not k.startswith("application/")}
            outputs.append(out)
        cell.outputs = outputs
    return book


def _title(book) -> tuple[str, str]:
    """The report's title and lead: the first markdown cell's heading and the text under it."""
    for cell in book.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            head, _, rest = cell.source.lstrip()[2:].partition("\n")
            cell.metadata.setdefault("tags", []).append("hide-in-report")
            # "01 · Data-quality audit" -> "Data-quality audit": the step number is for the notebook list
            return re.sub(r"^\d+[a-z]?\s*[·.:-]\s*", "", head.strip()), rest.strip()
    return "", ""


def _for_page(book) -> tuple[object, list[str]]:
    """The cells a reader sees, and the summary outputs lifted out of them."""
    summary: list[str] = []
    cells = []
    for cell in book.cells:
        tags = set(cell.metadata.get("tags", []))
        if tags & HIDDEN_TAGS:
            continue
        if cell.cell_type == "markdown" and cell.source.lstrip().lower().startswith("## parameters"):
            continue
        if cell.cell_type == "code":
            kept = []
            for out in cell.get("outputs", []):
                if out.output_type == "stream" and out.name == "stderr":
                    continue  # progress bars and library warnings
                data = out.get("data", {})
                if out.output_type in {"display_data", "execute_result"} and not (set(data) - {
                        "application/vnd.jupyter.widget-view+json", "text/plain"}) and \
                        "application/vnd.jupyter.widget-view+json" in data:
                    continue  # a widget with no static form
                if _meta(out).get("role") == "summary" and "text/html" in data:
                    summary.append(data["text/html"])
                    continue
                kept.append(out)
            cell.outputs = kept
        cells.append(cell)
    book.cells = cells
    return book, summary


def _summary_from_figures(figures: dict | None, redactor: Redactor | None) -> str:
    """Key figures from the step's JSON, for a notebook that shows no summary of its own."""
    if not figures:
        return blocks.note("This step wrote no summary figures.")
    data = figures.get("summary", figures)
    if redactor is not None:
        data = redactor.obj(data)
    flat: dict = {}
    for k, v in data.items():
        if isinstance(v, dict) and v and all(isinstance(x, (int, float)) for x in v.values()):
            flat.update(v)  # {"counts": {"created": 3, ...}}: each count is a figure
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            flat[k] = v
        elif isinstance(v, str) and 0 < len(v) <= 16:
            flat[k] = v
        elif isinstance(v, list) and all(isinstance(x, str) for x in v):
            flat[k] = len(v)
    ok = data.get("ok") if isinstance(data.get("ok"), bool) else None
    head = blocks.banner("Checks passed" if ok else "Checks failed: see below", "good" if ok else "bad") \
        if ok is not None else ""
    return head + blocks.cards([blocks.Card(k.replace("_", " "), v) for k, v in list(flat.items())[:12]])


def _toc(body: str) -> list[tuple[str, str]]:
    out = []
    for anchor, text in re.findall(r'<h2 id="([^"]+)"[^>]*>(.*?)<', body):
        out.append((anchor, html.unescape(re.sub(r"<[^>]+>", "", text)).strip()))
    return out


def render_notebook(notebook: str | Path, out: str | Path, *, title: str | None = None,
                    redactor: Redactor | None = None, figures: dict | None = None,
                    route: str = "", practice: str = "", files: list[str] | None = None,
                    extra_meta: list[tuple[str, str]] | None = None) -> Path:
    """Render ``notebook`` (executed) to the standalone page ``out``.

    Args:
        title: overrides the notebook's own heading.
        redactor: render the PHI-masked page.
        figures: the step's JSON figures, for a summary when the notebook shows none.
        route: "Dent-O-Soft → HighLevel", shown above the title.
        practice: the workspace's name, shown in the title bar.
        files: the CSV/JSON files beside the page, linked from its footer (relative paths).
    """
    import nbformat
    from nbconvert import HTMLExporter

    from ..version import __version__

    book = nbformat.read(str(notebook), as_version=4)
    if redactor is not None:
        book = redact_notebook(book, redactor)
    own_title, lead = _title(book)
    book, summary = _for_page(book)
    generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    report = {
        "title": title or own_title or Path(notebook).stem, "lead": lead, "route": route, "practice": practice,
        "redacted": redactor is not None, "summary_html": "".join(summary) or _summary_from_figures(figures, redactor),
        "meta": [("Practice", practice), ("Generated", generated), *(extra_meta or [])],
        "files": files or [], "notebook": Path(notebook).name, "generated": generated, "version": __version__,
        "css": (TEMPLATES / "report" / "report.css").read_text(encoding="utf-8"),
    }
    exporter = HTMLExporter(template_name="report", extra_template_basedirs=[str(TEMPLATES)],
                            exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    page, _ = exporter.from_notebook_node(book, resources={"report": report})
    toc = _toc(page.split("<!--cm-toc-->", 1)[-1])
    links = "".join(f'<a href="#{html.escape(a)}">{html.escape(t)}</a>' for a, t in toc)
    nav = (f'<nav class="cm-toc" aria-label="Contents"><span class="cm-toc-label">On this page</span>{links}</nav>'
           if len(toc) > 1 else "")
    page = page.replace("<!--cm-toc-->", nav, 1)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(page)
    return out


def write_redacted_notebook(notebook: str | Path, out: str | Path, redactor: Redactor) -> Path:
    """Write the masked copy of an executed notebook (what may leave the practice)."""
    import nbformat

    book = redact_notebook(nbformat.read(str(notebook), as_version=4), redactor)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        nbformat.write(book, fh)
    return out


def redact_figures(path: Path, out: Path, redactor: Redactor) -> Path | None:
    """Write the masked copy of a step's JSON figures; ``None`` when there are none."""
    if not path.is_file():
        return None
    data = redactor.obj(json.loads(path.read_text(encoding="utf-8")))
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False, default=str)
    return out
