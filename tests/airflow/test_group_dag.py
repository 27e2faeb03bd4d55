"""A dental group's three practices, each into its own CRM account, run by Apache Airflow.

``airflow dags test`` (SQLite metadata database, no scheduler) runs the DAG of
``airflow/dags/dental_group.py`` over a manifest of three generated practices (Dent-O-Soft →
HighLevel, Dental-Exec → Pipedrive, Dental-Exec → Freshsales), each with its own sandbox and a
staging sandbox for its sample. Airflow lives in a virtualenv of its own (``make test`` builds
``.venv-airflow``; ``CRM_MIGRATE_AIRFLOW_VENV`` names another); the toolkit is installed in it
too, so its tasks and its papermill kernel run the toolkit.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from benchmarks.group_parallel import DAG_ID, PRACTICES, airflow, make_group, set_up_airflow

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("CRM_MIGRATE_AIRFLOW_VENV") or ROOT / ".venv-airflow")


@pytest.fixture(scope="module")
def group_run(tmp_path_factory):
    if not (VENV / "bin" / "airflow").is_file():
        pytest.skip(f"no Airflow virtualenv at {VENV} (`make test` builds it)")
    root = tmp_path_factory.mktemp("group")
    manifest, env, boxes = make_group(root, patients=20, time_scale=20, venv=VENV)
    try:
        set_up_airflow(VENV, manifest, env, root)
        listed = airflow(VENV, ["airflow", "pools", "list", "--output", "json"], env, root)
        airflow(VENV, ["airflow", "dags", "test", DAG_ID], env, root)
        yield {"root": root, "pools": json.loads(listed.stdout)}
    finally:
        for box in boxes:
            box.stop()


def test_every_practice_loads_and_reconciles(group_run):
    root = group_run["root"]
    for name, _source, _destination in PRACTICES:
        ws = root / "workspaces" / name
        summary = json.loads((ws / "reports" / "reconcile.json").read_text())["summary"]
        assert summary["unaccounted"] == 0 and summary["created"] > 0, (name, summary)
        assert summary["source_records"] == sum(summary[k] for k in ("created", "updated", "merged", "excluded",
                                                                     "skipped", "errors")), name
        # reconcile read the practice's own CRM account back, and every step's report was rendered
        assert summary["crm_records"] > 0
        for step in ("audit", "map", "sample", "migrate", "reconcile"):
            assert (ws / "reports" / f"{step}.html").is_file(), (name, step)
        sample = json.loads((ws / "reports" / "sample.json").read_text())
        assert sample["records"] > 0 and sample["verdicts"]["mismatch"] == 0  # the gate let it through


def test_each_account_is_its_own_pool(group_run):
    pools = {p["pool"]: p for p in group_run["pools"]}
    ours = [p for p in pools if p.startswith("crm-")]
    assert len(ours) == 6  # three CRM accounts and three staging accounts, one slot each
    assert all(int(pools[p]["slots"]) == 1 for p in ours)


def test_the_group_report_adds_up(group_run):
    root = group_run["root"]
    rollup = json.loads((root / "workspaces" / "group.json").read_text())
    assert rollup["reconciled"] == rollup["of"] == 3
    for key in ("source_records", "created", "merged", "skipped", "errors", "unaccounted", "crm_records"):
        assert rollup["totals"][key] == sum(
            json.loads((root / "workspaces" / n / "reports" / "reconcile.json").read_text())["summary"][key]
            for n, *_ in PRACTICES), key
    html = (root / "workspaces" / "group.html").read_text(encoding="utf-8")
    assert "Bright Smiles North" in html and "Bright Smiles East" in html
