"""Running the step notebooks headlessly with papermill, and rendering them as reports.

Each step's notebook runs with the workspace path and options as parameters (never a secret:
papermill writes parameters into the executed notebook). The executed notebook is kept under
``WS/runs/`` and rendered without code cells to ``WS/reports/<step>.html``, beside the step's
figures (``<step>.json``) and the tables it shows (``<step>/*.csv``).

With ``redact``, the PHI-masked set is written as well, under ``WS/reports/redacted/`` (page,
figures, tables) and ``WS/runs/redacted/`` (the executed notebook): the folder to send outside
the practice. A masked report can be made later from the executed notebook, without running the
step again (:func:`render_report`): a migration is never re-run to produce a document.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from . import _paths
from .errors import MigrationError
from .workspace import Workspace

__all__ = ["STEPS", "STEP", "STEP_LIST", "Step", "DEMO_STEPS", "REPORT_ONLY", "run_step", "render_html", "render_report",
           "StepFailed"]

@dataclass(frozen=True)
class Step:
    """One step of a migration: its notebook, what it does, and how it is run.

    Attributes:
        name: the step's name (``crm-migrate <name>``, ``WS/reports/<name>.html``).
        notebook: its notebook in ``notebooks/``.
        help: one line for the command line.
        command: whether ``crm-migrate <name> WS`` runs it (others run through ``report``).
        options: the options it takes, from :data:`OPTIONS`.
        rerun_for_report: it only reads, so ``crm-migrate report`` runs it again; any other
            step's report is re-rendered from its executed notebook instead.
        writes: it writes to a destination (one writer per workspace; exit codes for record errors).
    """

    name: str
    notebook: str
    help: str
    command: bool = True
    options: tuple[str, ...] = ()
    rerun_for_report: bool = False
    writes: bool = False


#: every step, in the order a migration runs: the one list the command line, the demo, the
#: report command and the notebooks' runner read
STEP_LIST = (
    Step("estimate", "00_estimate.ipynb", "minimum load time, calendar days at the daily cap and a complexity grade",
         rerun_for_report=True),
    Step("audit", "01_audit.ipynb", "audit the source; its verdicts are saved in the workspace's GX project",
         options=("checkpoint", "data_docs"), rerun_for_report=True),
    Step("map", "02_mapping.ipynb", "write the workspace's mapping", options=("accept_proposals",)),
    Step("signoff", "02_signoff.ipynb", "the mapping sign-off sheet", command=False, rerun_for_report=True),
    Step("owners", "03_owners.ipynb", "owner resolution, before the load", command=False, rerun_for_report=True),
    Step("sample", "03_sample.ipynb", "load a stratified sample into the staging account and diff it field by field",
         options=("accept_proposals", "size", "seed"), writes=True),
    Step("migrate", "04_migrate.ipynb", "load everything", options=("accept_proposals",), writes=True),
    Step("reconcile", "05_reconcile.ipynb", "account for every source record against the CRM read back",
         rerun_for_report=True),
    Step("delta", "06_delta.ipynb", "load what changed in the source since the last run; report deletions "
         "(or delete them with --propagate-deletions)", options=("accept_proposals", "propagate_deletions"), writes=True),
    Step("rollback", "07_rollback.ipynb", "undo a run (default: the newest still in effect)",
         options=("run_id", "since"), writes=True),
    Step("summary", "08_summary.ipynb", "migration summary and throughput over time", command=False,
         rerun_for_report=True),
    Step("rebuild_guide", "09_rebuild_guide.ipynb", "workflows and templates to rebuild, merge fields translated",
         command=False, rerun_for_report=True),
)

#: step name -> notebook file, in the order a migration runs
STEPS = {s.name: s.notebook for s in STEP_LIST}
STEP = {s.name: s for s in STEP_LIST}

#: steps that only read (the workspace, the source, the destination's users): ``crm-migrate report``
#: runs them again; any other step's report is re-rendered from its executed notebook instead
REPORT_ONLY = frozenset(s.name for s in STEP_LIST if s.rerun_for_report)

#: what ``crm-migrate demo`` runs, in order, with the options an unattended run takes: the audit,
#: a sample into a staging account with its field-level diff, then the full load and its checks
DEMO_STEPS = (("estimate", {}), ("audit", {}), ("map", {"accept_proposals": True}), ("signoff", {}), ("owners", {}),
              ("sample", {"accept_proposals": True, "size": 200}), ("migrate", {"accept_proposals": True}),
              ("reconcile", {}), ("summary", {}), ("rebuild_guide", {}))


class StepFailed(MigrationError):
    """A step notebook raised; ``ename`` is the type it raised, the message its one line."""

    def __init__(self, message: str, ename: str = ""):
        self.ename = ename
        super().__init__(message)


def display_name(name: str) -> str:
    """How a report writes a source's or destination's name (as its class declares it)."""
    from .destinations import registry as destinations
    from .sources import registry as sources

    for registry in (destinations, sources):
        if name in registry and registry.get(name).display_name:
            return registry.get(name).display_name
    return name.replace("-", " ").title()


def render_html(notebook: str | Path, out: str | Path, title: str | None = None) -> Path:
    """Render an executed notebook as a standalone HTML page with no code cells."""
    from .reports.render import render_notebook

    return render_notebook(notebook, out, title=title)


def _with_report_setup(source: Path, step: str):
    """The step's notebook with a hidden first cell that starts its report (see ``begin_report``)."""
    import nbformat

    book = nbformat.read(str(source), as_version=4)
    setup = nbformat.v4.new_code_cell(f"import toolkit\ntoolkit.begin_report(workspace, {step!r});")
    setup.metadata["tags"] = ["report-setup"]
    setup["id"] = "report-setup"
    at = next((i + 1 for i, c in enumerate(book.cells) if "parameters" in c.metadata.get("tags", [])), 0)
    book.cells.insert(at, setup)
    return book


#: seconds to wait for a cell's output after the kernel says the cell is done. nbclient's own 4 s
#: fail a step whose cell finished but whose output (a review grid of a few hundred rows) is still
#: on its way from a kernel on a busy machine; the wait ends as soon as the output is in.
_OUTPUT_WAIT = 120


def _kernel_options() -> dict:
    """The step's kernel logs errors only: its start-up warnings (the "running over TCP without
    encryption" notice for a kernel that listens on localhost only) would otherwise be printed
    into the terminal at every step, among the step's own progress lines. Its messaging layer's
    own logger is silenced too: a kernel shut down while it still flushes output (after a step
    failed) logs a traceback of its sockets closing, which says nothing about the step; so is
    the kernel's note that it caught the interrupt it was shut down with. The step's own error
    reaches the terminal through the command line, once."""
    return {"extra_arguments": ["--IPKernelApp.log_level=CRITICAL",
                                "--IPKernelApp.exec_lines=__import__('logging').getLogger('tornado').setLevel(50)"]}


def run_step(ws: Workspace, step: str, *, redact: bool = False, **options) -> Path:
    """Execute one step's notebook for ``ws`` and render its report; returns the HTML path.

    Args:
        redact: also write the PHI-masked report set under ``WS/reports/redacted/``.
        options: the notebook's other parameters (``accept_proposals``); never a secret.

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
        pm.execute_notebook(_with_report_setup(source, step), str(executed),
                            parameters={"workspace": str(ws.root), **options}, kernel_name="python3",
                            progress_bar=False, cwd=str(ws.root), log_output=False,
                            iopub_timeout=_OUTPUT_WAIT, **_kernel_options())
    except PapermillExecutionError as exc:
        raise StepFailed(f"step {step} failed: {exc.ename}: {exc.evalue}", exc.ename) from None
    finally:
        if executed.exists():
            os.chmod(executed, 0o600)
    html = render_report(ws, step)
    if redact:
        render_report(ws, step, redact=True)
    return html


def render_report(ws: Workspace, step: str, *, redact: bool = False) -> Path:
    """Render the report of a step that has run, from its executed notebook; returns the HTML path.

    Args:
        redact: write the PHI-masked page, figures and executed notebook under ``redacted/``.

    Raises:
        MigrationError: unknown step, or the step has not run in this workspace yet.
    """
    from .reports.context import REDACTED_DIR, redactor_for
    from .reports.render import redact_figures, render_notebook, write_redacted_notebook

    if step not in STEPS:
        raise MigrationError(f"unknown step {step!r} (steps: {', '.join(STEPS)})")
    executed = ws.runs_dir / STEPS[step]
    if not executed.is_file():
        raise MigrationError(f"step {step} has not run in {ws.root} yet: run `crm-migrate {step} {ws.root}` first")
    import json

    reports = ws.reports_dir
    figures_path = reports / f"{step}.json"
    figures = json.loads(figures_path.read_text(encoding="utf-8")) if figures_path.is_file() else None
    base = reports / REDACTED_DIR if redact else reports
    redactor = None
    if redact:
        base.mkdir(exist_ok=True)
        os.chmod(base, 0o700)
        redactor = redactor_for(ws)
        redact_figures(figures_path, base / f"{step}.json", redactor)
        write_redacted_notebook(executed, ws.runs_dir / REDACTED_DIR / STEPS[step], redactor)
        os.chmod(ws.runs_dir / REDACTED_DIR, 0o700)
    tables = base / step
    files = ([f"{step}.json"] if (base / f"{step}.json").is_file() else []) + \
        ([f"{step}/{p.name}" for p in sorted(tables.glob("*.csv"))] if tables.is_dir() else [])
    route = f"{display_name(ws.source)} → {display_name(ws.destination)}"
    practice = str(ws.extra.get("practice_name") or ws.root.name)
    return render_notebook(executed, base / f"{step}.html", redactor=redactor, figures=figures, route=route,
                           practice=practice, files=files, extra_meta=[("Step", step)])
