"""A dental group's migration on Apache Airflow: one DAG, every practice of the group's manifest.

Set ``CRM_MIGRATE_GROUP_MANIFEST`` to the group's ``group.yaml`` (see
``toolkit/workflow/group.py``) in the environment of the scheduler and the workers, and the
token variables the manifest names in the workers' environment. Per practice, in a task group
named after it::

    prepare → audit → map → sample → sample_gate → migrate → reconcile → reports
                                                                  ↘
    every practice's reconcile ──────────────────────────────────→ group_report → group_report_html

* The step notebooks run with ``PapermillOperator``, into the practice's ``WS/runs/`` (the
  command line's place for them); ``reports`` renders them as the command line does.
* ``sample`` writes into the practice's staging account, ``migrate`` and ``reconcile`` into its
  CRM account: each in the pool of that account (``crm-migrate group pools`` writes them for
  ``airflow pools import``), one slot each, so that an account has one writer at a time while
  different accounts load side by side.
* ``sample_gate`` holds the load until the mapping is confirmed and the sample is clean, or a
  person has signed it off (``crm-migrate group signoff WS --by NAME``); clear the task to try again.
* ``migrate`` runs unattended: a load paused at the daily quota fails, and Airflow's retry, a
  quota window later, resumes it from the ledger.

Nothing here keeps state between tasks but files under the manifest's ``workspaces`` folder, so
the DAG runs unchanged on any executor (local, Celery, Kubernetes) whose workers share that
folder and have the toolkit installed.
"""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

from airflow.providers.papermill.operators.papermill import PapermillOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, TaskGroup

import toolkit
from toolkit.workflow import group

MANIFEST = os.environ.get("CRM_MIGRATE_GROUP_MANIFEST", "")
#: where the step notebooks are: the installed toolkit's checkout, unless told otherwise
NOTEBOOKS = Path(os.environ.get("CRM_MIGRATE_NOTEBOOKS") or Path(toolkit.__file__).resolve().parent.parent / "notebooks")
#: how long a load paused at the daily quota waits before Airflow retries it, and how often
QUOTA_RETRY = timedelta(minutes=float(os.environ.get("CRM_MIGRATE_QUOTA_RETRY_MINUTES", "60")))
QUOTA_RETRIES = int(os.environ.get("CRM_MIGRATE_QUOTA_RETRIES", "24"))


def _prepare(manifest: str, name: str) -> str:
    (ws,) = group.prepare(group.load_manifest(manifest), name)
    return str(ws.root)


def _gate(workspace: str) -> str:
    return group.sample_gate(toolkit.open_workspace(workspace))["why"]


def _reports(workspace: str) -> list[str]:
    return [str(p) for p in group.render_reports(toolkit.open_workspace(workspace))]


def _group_html(manifest: str) -> str:
    m = group.load_manifest(manifest)
    executed = m.workspaces / "runs" / "10_group.ipynb"
    os.chmod(executed, 0o600)
    return str(toolkit.render_html(executed, m.workspaces / "group.html", title=f"{m.group}: the group's migration"))


def build_dag(manifest_path: str) -> DAG:
    """The group's DAG, from its manifest (checked: a bad manifest fails at parse time, naming
    file and line)."""
    manifest = group.load_manifest(manifest_path)
    dag_id = "crm_migrate_" + re.sub(r"[^a-z0-9_]+", "_", manifest.group.lower()).strip("_")
    accept = manifest.accept_proposals
    with DAG(dag_id=dag_id, schedule=None, catchup=False, max_active_runs=1,
             description=f"{manifest.group}: {len(manifest.practices)} practices into their CRM accounts",
             tags=["crm-migrate"]) as dag:
        rollup = PapermillOperator(
            task_id="group_report", input_nb=str(NOTEBOOKS / "10_group.ipynb"),
            output_nb=str(manifest.workspaces / "runs" / "10_group.ipynb"),
            parameters={"manifest": str(manifest.path)}, trigger_rule="all_done")
        html = PythonOperator(task_id="group_report_html", python_callable=_group_html,
                              op_args=[str(manifest.path)])
        rollup >> html
        for p in manifest.practices:
            ws = str(p.workspace)
            runs = p.workspace / "runs"

            def step(task_id: str, notebook: str, pool: str | None = None, task: dict | None = None,
                     **params) -> PapermillOperator:
                """One step notebook; ``params`` are its parameters, ``task`` the operator's own."""
                return PapermillOperator(task_id=task_id, input_nb=str(NOTEBOOKS / notebook),
                                         output_nb=str(runs / notebook), parameters={"workspace": ws, **params},
                                         **({"pool": pool} if pool else {}), **(task or {}))

            with TaskGroup(group_id=p.name):
                prepare = PythonOperator(task_id="prepare", python_callable=_prepare,
                                         op_args=[str(manifest.path), p.name])
                audit = step("audit", "01_audit.ipynb")
                mapping = step("map", "02_mapping.ipynb", accept_proposals=accept)
                sample = step("sample", "03_sample.ipynb", pool=p.staging_pool or p.pool, accept_proposals=accept)
                gate = PythonOperator(task_id="sample_gate", python_callable=_gate, op_args=[ws])
                migrate = step("migrate", "04_migrate.ipynb", pool=p.pool,
                               task={"retries": QUOTA_RETRIES, "retry_delay": QUOTA_RETRY},
                               accept_proposals=accept, unattended=True)
                reconcile = step("reconcile", "05_reconcile.ipynb", pool=p.pool)
                reports = PythonOperator(task_id="reports", python_callable=_reports, op_args=[ws],
                                         trigger_rule="all_done")
                prepare >> audit >> mapping >> sample >> gate >> migrate >> reconcile >> reports
            reconcile >> rollup
    return dag


if MANIFEST:
    dag = build_dag(MANIFEST)
