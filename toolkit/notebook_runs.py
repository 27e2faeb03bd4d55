"""Running the step notebooks headlessly with papermill, and rendering them as reports.

Each step's notebook runs with the workspace path and options as parameters (never a secret:
papermill writes parameters into the executed notebook). The executed notebook is kept under
``WS/runs/`` and rendered without code cells to ``WS/reports/<step>.html``.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import _paths
from .errors import MigrationError
from .workspace import Workspace

__all__ = ["STEPS", "run_step", "render_html"]

#: step name -> notebook file, in the order a migration runs
STEPS = {"audit": "01_audit.ipynb", "map": "02_mapping.ipynb", "migrate": "04_migrate.ipynb",
         "reconcile": "05_reconcile.ipynb"}


class StepFailed(MigrationError):
    """A step notebook raised; ``ename`` is the type it raised, the message its one line."""

    def __init__(self, message: str, ename: str = ""):
        self.ename = ename
        super().__init__(message)


def render_html(notebook: str | Path, out: str | Path, title: str | None = None) -> Path:
    """Render an executed notebook as a standalone HTML page with no code cells."""
    import nbformat
    from nbconvert import HTMLExporter

    book = nbformat.read(str(notebook), as_version=4)
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    if title:
        book.metadata["title"] = title
    html, _ = exporter.from_notebook_node(book)
    out = Path(out)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(html)
    return out


def run_step(ws: Workspace, step: str, **options) -> Path:
    """Execute one step's notebook for ``ws`` and render its report; returns the HTML path.

    Raises:
        StepFailed: the notebook raised; the error's own one-line message is kept.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    if step not in STEPS:
        raise MigrationError(f"unknown step {step!r} (steps: {', '.join(STEPS)})")
    source = _paths.NOTEBOOKS / STEPS[step]
    executed = ws.runs_dir / STEPS[step]
    try:
        pm.execute_notebook(str(source), str(executed), parameters={"workspace": str(ws.root), **options},
                            kernel_name="python3", progress_bar=False, cwd=str(ws.root), log_output=False)
    except PapermillExecutionError as exc:
        raise StepFailed(f"step {step} failed: {exc.ename}: {exc.evalue}", exc.ename) from None
    finally:
        if executed.exists():
            os.chmod(executed, 0o600)
    titles = {"audit": "Data-quality audit", "map": "Field mapping", "migrate": "Migration summary",
              "reconcile": "Reconciliation"}
    return render_html(executed, ws.reports_dir / f"{step}.html", title=titles[step])
