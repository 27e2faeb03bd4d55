"""The report being built in this kernel: which workspace and step, and how to mask PHI.

A step notebook starts its report with :func:`begin_report` (``crm-migrate`` runs do it for
every notebook). From then on every view the notebook displays:

* shows its HTML, and carries a second, PHI-masked rendering of itself in the output's
  metadata, so that a redacted report of any step can be rendered later from the executed
  notebook without running the step again (a migration must never run twice for a report);
* writes the table it shows as CSV beside the report, ``WS/reports/<step>/<name>.csv``, and the
  masked one as ``WS/reports/redacted/<step>/<name>.csv``.

Without a report (a notebook opened by hand in JupyterLab), views only display.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..spreadsheet_cells import write_csv
from .redaction import Redactor

__all__ = ["ReportContext", "begin_report", "current", "end_report", "redactor_for", "REDACTED_DIR"]

#: folder under ``WS/reports`` (and ``WS/runs``) that holds what can be sent outside the practice
REDACTED_DIR = "redacted"
_CURRENT: "ReportContext | None" = None
_REDACTORS: dict[Path, Redactor] = {}


def redactor_for(ws) -> Redactor:
    """The workspace's redactor, built once per process from the source's patient values."""
    root = Path(ws.root)
    if root not in _REDACTORS:
        _REDACTORS[root] = Redactor.from_snapshot(ws.read_source())
    return _REDACTORS[root]


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "table"


@dataclass
class ReportContext:
    """The report under construction.

    Attributes:
        ws: the workspace.
        step: the step's name (``audit``); names the report's files.
        redact: show the masked rendering in the notebook itself (the metadata carries it anyway).
    """

    ws: object
    step: str
    redact: bool = False
    itables_ready: bool = False
    _names: dict[str, int] = field(default_factory=dict)

    @property
    def redactor(self) -> Redactor:
        return redactor_for(self.ws)

    def tables_dir(self, redacted: bool) -> Path:
        base = Path(self.ws.reports_dir)
        path = base / REDACTED_DIR / self.step if redacted else base / self.step
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)
        if redacted:
            os.chmod(path.parent, 0o700)
        return path

    def save_table(self, name: str, df: pd.DataFrame, masked: pd.DataFrame | None) -> str:
        """Write a displayed table (and its masked copy) as CSV; returns the file name used."""
        slug = _slug(name)
        n = self._names.get(slug, 0)
        self._names[slug] = n + 1
        file = f"{slug}.csv" if n == 0 else f"{slug}_{n + 1}.csv"
        for frame, redacted in ((df, False), (masked, True)):
            if frame is None:
                continue
            write_csv(frame, self.tables_dir(redacted) / file)
        return f"{self.step}/{file}"


def begin_report(workspace, step: str, *, redact: bool = False):
    """Start the report of ``step`` for ``workspace`` (a path or a Workspace); returns the Workspace.

    Args:
        redact: display the PHI-masked rendering in this notebook (the HTML report chooses for
            itself; see :func:`toolkit.notebook_runs.render_report`).
    """
    global _CURRENT
    from ..workspace import Workspace

    ws = workspace if isinstance(workspace, Workspace) else Workspace.load(workspace)
    _CURRENT = ReportContext(ws, step, bool(redact))
    return ws


def end_report() -> None:
    """Forget the current report (tests; a kernel that builds several)."""
    global _CURRENT
    _CURRENT = None


def current() -> ReportContext | None:
    """The report under construction in this kernel, if any."""
    return _CURRENT
