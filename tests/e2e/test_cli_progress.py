"""A step started from the command line shows its progress in the terminal (stderr): text lines,
or one JSON event per line with ``--log-format json``; and nothing else from the kernel."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import crm_sandbox as sandbox
from toolkit import workflow as wf
from toolkit.demo import fallback_user
from toolkit.sources import registry
from toolkit.workspace import init_workspace

pytestmark = pytest.mark.e2e


def _cli(*args: str, token: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "toolkit.cli", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PROGRESS_TOKEN": token})


def test_migrate_reports_progress_as_json_events_and_reconcile_as_lines(tmp_path):
    export = registry.get("dent-o-soft")().generate(tmp_path / "export", patients=20, seed=8)
    users = json.loads((export / "crm_users.json").read_text(encoding="utf-8"))
    with sandbox.start("highlevel", seed={"users": users}, time_scale=200, burst=100_000) as box:
        ws = init_workspace(tmp_path / "ws", source="dent-o-soft", export=export, destination="highlevel",
                            base_url=box.url, token_env="PROGRESS_TOKEN", options=box.options,
                            fallback_owner=fallback_user(users))
        wf.prepare_mapping(ws, accept_proposals=True)

        done = _cli("--log-format", "json", "migrate", str(ws.root), token=box.token)
        events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
        others = [line for line in done.stderr.splitlines() if not line.startswith("{")]
        assert not any("Kernel is running over TCP" in line for line in others), others
        kinds = [e["event"] for e in events]
        assert kinds[0] == "step_started" and kinds[-1] == "step_finished"
        assert all(e["step"] == "migrate" for e in events)
        figures = json.loads((ws.reports_dir / "migrate.json").read_text(encoding="utf-8"))
        # every object the plan loads ends with a finished progress event whose count is its total
        finished = {e["object"]: e for e in events if e["event"] == "progress" and e["finished"]}
        assert "patients -> contact" in finished and len(finished) >= 5
        assert all(e["done"] == e["total"] for e in finished.values())
        run = next(e for e in events if e["event"] == "run_finished")
        assert run["status"] == "finished" and run["counts"] == figures["counts"]
        # the planted broken references end in error: exit 3, said in the last event too
        assert done.returncode == 3 and events[-1]["exit_code"] == 3

        done = _cli("reconcile", str(ws.root), token=box.token)
        lines = done.stderr.splitlines()
        contacts = json.loads((ws.reports_dir / "reconcile.json").read_text(encoding="utf-8"))["destination_counts"][
            "contact"]
        assert f"reconcile: read back contact: {contacts:,} records in" in done.stderr, lines
        assert not any("Kernel is running over TCP" in line for line in lines)
