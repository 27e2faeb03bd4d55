"""The workspace's Great Expectations project, as a GX user meets it.

An audit saves its verdicts as GX validation results under ``WS/gx``; a fresh GX context opened
on the workspace (GX's own API, no toolkit code) finds them, renders them as Data Docs and runs
each object's checkpoint on the rows, with the same verdict and counts as the audit. A generic
export's role suite is registered with its roles made the file's columns.
"""

from __future__ import annotations

import json

import pytest

from toolkit import init_workspace
from toolkit.sources import registry
from toolkit.workflow import audit


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    root = tmp_path_factory.mktemp("gx")
    export = registry.get("dent-o-soft")().generate(root / "export", patients=40, seed=5)
    ws = init_workspace(root / "ws", source="dent-o-soft", export=export, destination="highlevel",
                        base_url="http://127.0.0.1:9", token_env="UNUSED_TOKEN")
    report = audit(ws, checkpoint=True, data_docs=True)
    return ws, export, report


def _counts(results) -> dict:
    return {(r["expectation"], r["column"]): (r["success"], r["unexpected_count"]) for r in results}


def test_audit_results_are_saved_where_gx_finds_them(audited):
    import great_expectations as gx

    ws, _export, report = audited
    assert not all(r["success"] for r in report.expectations["patients"])  # the generator plants defects
    for path in report.gx["results"]:
        assert (ws.root / path).is_file(), path
    ctx = gx.get_context(mode="file", project_root_dir=str(ws.root))
    keys = [k for k in ctx.validation_results_store.list_keys() if k.run_id.run_name == "audit"]
    assert {k.expectation_suite_identifier.name for k in keys} == {f"dent-o-soft.{o}" for o in report.expectations}
    key = next(k for k in keys if k.expectation_suite_identifier.name == "dent-o-soft.patients")
    saved = ctx.validation_results_store.get(key)
    assert saved.success is False
    failing = {(r.expectation_config.type, r.expectation_config.kwargs.get("column")): r.result["unexpected_count"]
               for r in saved.results if not r.success}
    assert failing == {(r["expectation"], r["column"]): r["unexpected_count"]
                       for r in report.expectations["patients"] if not r["success"]}
    assert json.loads((ws.root / "reports" / "audit.json").read_text())["gx"]["results"] == report.gx["results"]
    # like the rest of the workspace, the project concerns patients: owner-only throughout
    assert all(p.stat().st_mode & 0o077 == 0 for p in (ws.root / "gx").rglob("*"))


def test_checkpoints_run_in_plain_gx_with_the_audits_verdicts(audited):
    import great_expectations as gx

    ws, export, report = audited
    # what the audit's --checkpoint ran agrees with the audit on every expectation
    for obj, run in report.gx["checkpoints"].items():
        assert run["success"] == all(r["success"] for r in report.expectations[obj]), obj
        assert _counts(run["results"]) == _counts(report.expectations[obj]), obj
    # and a GX user can run one with GX alone, on rows they read themselves
    ctx = gx.get_context(mode="file", project_root_dir=str(ws.root))
    checkpoint = ctx.checkpoints.get("dent-o-soft.appointments")
    rows = registry.get("dent-o-soft")().read_for_audit(export).tables["appointments"]
    result = checkpoint.run(batch_parameters={"dataframe": rows.reset_index(drop=True)})
    (only,) = result.run_results.values()
    assert bool(only.success) == all(r["success"] for r in report.expectations["appointments"])
    assert only.statistics["evaluated_expectations"] == len(report.expectations["appointments"])


def test_data_docs_show_the_saved_results(audited):
    ws, _export, report = audited
    index = ws.root / report.gx["data_docs"]
    assert index.name == "index.html" and index.is_file()
    pages = list((index.parent / "validations" / "dent-o-soft" / "patients" / "audit").rglob("*.html"))
    assert pages, "no Data Docs page for the patients' audit results"
    text = pages[0].read_text(encoding="utf-8")
    failing_column = next(r["column"] for r in report.expectations["patients"] if not r["success"] and r["column"])
    assert "dent-o-soft.patients" in text and failing_column in text


def test_role_suites_are_registered_with_the_files_columns(tmp_path):
    import great_expectations as gx

    export = registry.get("generic-csv")().generate(tmp_path / "export", patients=30, seed=2)
    ws = init_workspace(tmp_path / "ws", source="generic-csv", export=export, destination="highlevel",
                        base_url="http://127.0.0.1:9", token_env="UNUSED_TOKEN")
    report = audit(ws, checkpoint=True)
    assert report.gx["checkpoints"], "no checkpoint registered for a generic export"
    ctx = gx.get_context(mode="file", project_root_dir=str(ws.root))
    for obj, run in report.gx["checkpoints"].items():
        suite = ctx.suites.get(f"generic-csv.{obj}")
        columns = {e.column for e in suite.expectations if getattr(e, "column", None)}
        assert columns and not any(c.startswith("{") for c in columns), (obj, columns)
        assert _counts(run["results"]) == _counts(report.expectations[obj]), obj
