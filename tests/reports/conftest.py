"""A small demo migration with every report rendered, plain and redacted, shared by the report tests.

Built the way ``crm-migrate demo`` builds its own (generator → HighLevel sandbox → workspace →
steps through papermill), but keeping the sandbox up until the tests end, running the
report-only steps too, and adding the sample field-level diff view fed by the project's own
diff of the loaded records (one record tampered with in the sandbox, so that a mismatch exists).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from toolkit.notebook_runs import DEMO_STEPS

#: the demo's steps in its order, but the sample: this fixture renders a sample view of its own
STEPS = tuple(step for step in DEMO_STEPS if step[0] != "sample")


@dataclass
class DemoRun:
    out: Path
    ws: object
    token: str
    log: Path
    box: object


def _sample_diff(ws, out: Path) -> Path:
    """Field-level rows for a slice of the loaded records, one of them tampered with in the CRM."""
    from toolkit import Ledger, MappingSpec, Record, build_plan
    from toolkit.verify.field_diff import diff_sample

    spec = MappingSpec.load(ws.mapping_path)
    snapshot = ws.read_source()
    plan = build_plan(snapshot, spec)
    plan = dataclasses.replace(plan, objects=[dataclasses.replace(op, records=op.records[:12]) for op in plan.objects])
    dest = ws.connect()
    with Ledger(ws.ledger_path) as ledger:
        contacts = ledger.id_map("patients", "contact")
        first = next(k for k in (r.source_key for r in plan.objects[0].records) if k in contacts)
        dest.update(Record(object="contact", id=contacts[first][0], fields={"city": "Tampered City"}))
        diff = diff_sample(plan, spec, snapshot, ledger, dest)
    path = out / "sample.json"
    path.write_text(json.dumps({"rows": diff.to_dict("records")}, default=str), encoding="utf-8")
    return path


def _render_sample_view(ws, sample: Path) -> None:
    """Execute a notebook that shows the diff through the view, and render it both ways."""
    import nbformat
    import papermill as pm

    from toolkit.reports.context import REDACTED_DIR, redactor_for
    from toolkit.reports.render import render_notebook, write_redacted_notebook

    params = nbformat.v4.new_code_cell('workspace = ""\nsample = ""')
    params.metadata["tags"] = ["parameters"]
    cells = [nbformat.v4.new_markdown_cell("# 03 · Sample field-level diff\n\nThe sample's fields, read back."), params,
             nbformat.v4.new_code_cell('import toolkit\nws = toolkit.begin_report(workspace, "sample")'),
             nbformat.v4.new_code_cell('toolkit.show_sample_diff(sample, "summary")'),
             nbformat.v4.new_markdown_cell("## Where the differences are"),
             nbformat.v4.new_code_cell('toolkit.show_sample_diff(sample, "by_field")'),
             nbformat.v4.new_markdown_cell("## Every field"),
             nbformat.v4.new_code_cell('toolkit.show_sample_diff(sample, "table")')]
    book = nbformat.v4.new_notebook(cells=cells)
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for i, c in enumerate(book.cells):
        c["id"] = f"sample-view-{i}"
    executed = ws.runs_dir / "03_sample_view.ipynb"
    pm.execute_notebook(book, str(executed), parameters={"workspace": str(ws.root), "sample": str(sample)},
                        kernel_name="python3", progress_bar=False, cwd=str(ws.root), iopub_timeout=120)
    # papermill is called directly here, as a user's own notebook would be; the toolkit's steps
    # (run_step) leave their executed notebooks owner-only, and so does this stand-in for them
    os.chmod(executed, 0o600)
    render_notebook(executed, ws.reports_dir / "sample.html", route="Dent-O-Soft → HighLevel", practice="test")
    red = redactor_for(ws)
    write_redacted_notebook(executed, ws.runs_dir / REDACTED_DIR / executed.name, red)
    render_notebook(executed, ws.reports_dir / REDACTED_DIR / "sample.html", redactor=red, practice="test")


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> DemoRun:
    import crm_sandbox as sandbox
    from toolkit import init_workspace
    from toolkit.demo import fallback_user
    from toolkit.notebook_runs import run_step
    from toolkit.sources import registry

    out = tmp_path_factory.mktemp("reports-demo")
    export = registry.get("dent-o-soft")().generate(out / "export", patients=40, seed=5)
    users = json.loads((export / "crm_users.json").read_text(encoding="utf-8"))
    log = out / "run.log"
    box = sandbox.start("highlevel", seed={"users": users}, request_log=str(out / "requests.jsonl"))
    try:
        os.environ["REPORTS_TEST_TOKEN"] = box.token
        ws = init_workspace(out / "workspace", source="dent-o-soft", export=export, destination="highlevel",
                            base_url=box.url, token_env="REPORTS_TEST_TOKEN", options=box.options,
                            fallback_owner=fallback_user(users))
        with log.open("w", encoding="utf-8") as fh:
            for step, options in STEPS:
                html = run_step(ws, step, redact=True, **options)
                fh.write(f"{step}: {html}\n")
            _render_sample_view(ws, _sample_diff(ws, out))
            fh.write("sample: rendered\n")
        yield DemoRun(out, ws, box.token, log, box)
    finally:
        box.stop()
