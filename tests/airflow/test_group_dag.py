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
import subprocess
from pathlib import Path

import pytest

from toolkit.demo import fallback_user
from toolkit.sources import registry

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("CRM_MIGRATE_AIRFLOW_VENV") or ROOT / ".venv-airflow")
PRACTICES = (("north", "dent-o-soft", "highlevel"), ("south", "dental-exec", "pipedrive"),
             ("east", "dental-exec", "freshsales"))


def _run(args: list[str], env: dict, cwd: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    done = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    log = cwd / f"{Path(args[0]).name}-{args[1]}-{args[2] if len(args) > 2 else ''}.log"
    log.write_text(done.stdout + "\n" + done.stderr, encoding="utf-8")
    failed = [line for line in done.stdout.splitlines() if "error" in line.lower() or "failed" in line.lower()]
    assert done.returncode == 0, f"{' '.join(map(str, args))} exited {done.returncode} (whole log: {log}):\n" + \
        "\n".join(failed[-30:]) + f"\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def group_run(tmp_path_factory):
    if not (VENV / "bin" / "airflow").is_file():
        pytest.skip(f"no Airflow virtualenv at {VENV} (`make test` builds it)")
    import crm_sandbox as sandbox

    root = tmp_path_factory.mktemp("group")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "CRM_MIGRATE"))}
    lines, boxes = [], []
    for name, source, destination in PRACTICES:
        export = registry.get(source)().generate(root / "exports" / name, patients=20, seed=31)
        users = json.loads((export / "crm_users.json").read_text(encoding="utf-8"))
        # every account its own: HighLevel tells its sub-accounts apart by location id
        box = sandbox.start(destination, seed={"users": users}, time_scale=20, location_id=f"loc-{name}")
        staging = sandbox.start(destination, seed={"users": users}, time_scale=20, location_id=f"loc-{name}-staging")
        boxes += [box, staging]
        env[f"{name.upper()}_TOKEN"], env[f"{name.upper()}_STAGING_TOKEN"] = box.token, staging.token
        lines.append(json.dumps({
            "name": name, "practice_name": f"Bright Smiles {name.title()}", "source": source,
            "export": f"exports/{name}", "destination": destination, "base_url": box.url,
            "token_env": f"{name.upper()}_TOKEN", "options": box.options, "fallback_owner": fallback_user(users),
            "staging": {"base_url": staging.url, "token_env": f"{name.upper()}_STAGING_TOKEN",
                        "options": staging.options}}))
    manifest = root / "group.yaml"
    manifest.write_text("group: Bright Smiles Dental Group\nworkspaces: workspaces\naccept_proposals: true\n"
                        "practices:\n" + "".join(f"  - {line}\n" for line in lines), encoding="utf-8")
    home = root / "airflow-home"
    env |= {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "airflow" / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False", "CRM_MIGRATE_GROUP_MANIFEST": str(manifest),
            "CRM_MIGRATE_NOTEBOOKS": str(ROOT / "notebooks"), "PATH": f"{VENV / 'bin'}:{env.get('PATH', '')}"}
    airflow = str(VENV / "bin" / "airflow")
    try:
        _run([airflow, "db", "migrate"], env, root)
        pools = _run([str(VENV / "bin" / "python"), "-m", "toolkit.cli", "group", "pools", str(manifest)], env, root)
        (root / "pools.json").write_text(pools.stdout, encoding="utf-8")
        _run([airflow, "pools", "import", str(root / "pools.json")], env, root)
        listed = _run([airflow, "pools", "list", "--output", "json"], env, root)
        run = _run([airflow, "dags", "test", "crm_migrate_bright_smiles_dental_group"], env, root, timeout=1500)
        yield {"root": root, "manifest": manifest, "run": run, "pools": json.loads(listed.stdout),
               "boxes": dict(zip([n for n, *_ in PRACTICES], boxes[::2]))}
    finally:
        for box in boxes:
            box.stop()


def test_every_practice_loads_and_reconciles(group_run):
    root = group_run["root"]
    for name, _source, destination in PRACTICES:
        ws = root / "workspaces" / name
        summary = json.loads((ws / "reports" / "reconcile.json").read_text())["summary"]
        assert summary["unaccounted"] == 0 and summary["created"] > 0, (name, summary)
        assert summary["source_records"] == sum(summary[k] for k in ("created", "updated", "merged", "excluded",
                                                                     "skipped", "errors")), name
        # the CRM account holds what reconcile read back from it, and the reports were rendered
        assert summary["crm_records"] > 0
        for step in ("audit", "map", "sample", "migrate", "reconcile"):
            assert (ws / "reports" / f"{step}.html").is_file(), (name, step)
        assert json.loads((ws / "reports" / "migrate.json").read_text())["status"] in {"finished", "incomplete"}


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
