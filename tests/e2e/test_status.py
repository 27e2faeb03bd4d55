"""``crm-migrate status WS`` says where a migration stands and what to run next, at each point of
a real migration into the HighLevel sandbox, without calling the destination."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import crm_sandbox as sandbox
from toolkit import workflow as wf
from toolkit.demo import fallback_user
from toolkit.file_lock import WriterLock
from toolkit.sources import registry
from toolkit.workspace import init_workspace

pytestmark = pytest.mark.e2e


def _status_cli(ws) -> dict:
    done = subprocess.run([sys.executable, "-m", "toolkit.cli", "status", str(ws.root), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_status_follows_a_migration_and_names_the_next_command(tmp_path, monkeypatch):
    export = registry.get("dent-o-soft")().generate(tmp_path / "export", patients=20, seed=5)
    users = json.loads((export / "crm_users.json").read_text(encoding="utf-8"))
    with sandbox.start("highlevel", seed={"users": users}, time_scale=200, burst=100_000) as box:
        monkeypatch.setenv("STATUS_TOKEN", box.token)
        ws = init_workspace(tmp_path / "ws", source="dent-o-soft", export=export, destination="highlevel",
                            base_url=box.url, token_env="STATUS_TOKEN", options=box.options,
                            fallback_owner=fallback_user(users))
        st = wf.status(ws)
        assert st.next_command == f"crm-migrate audit {ws.root}" and not st.runs
        wf.audit(ws)
        assert wf.status(ws).next_command == f"crm-migrate map {ws.root}"
        wf.prepare_mapping(ws, accept_proposals=True)
        st = wf.status(ws)
        assert st.unconfirmed == 0 and st.next_command == f"crm-migrate sample {ws.root}"

        # another process writing: status says so and does not wait for it
        with WriterLock(ws.root, "migrate"):
            held = _status_cli(ws)
        assert held["writer"]["command"] == "migrate" and held["next_command"] == "wait"

        out = wf.migrate(ws, progress=False)
        st = _status_cli(ws)
        run = st["runs"][-1]
        assert run["run_id"] == out.result.run_id and run["status"] == "finished"
        assert run["counts"] == out.result.counts
        assert st["in_flight"] == 0
        # the planted broken references: the same count the migrate report gives
        assert st["errors"] == out.source_records["errors"] > 0
        # the daily budget as HighLevel's headers last gave it, and when it resets
        q = st["quota"]
        assert q["per"] == "day" and q["limit"] and q["remaining"] is not None
        assert q["remaining"] < q["limit"] and q["resets_at"]
        assert st["next_command"] == f"crm-migrate reconcile {ws.root}"

        wf.reconcile(ws)
        st = wf.status(ws)
        assert st.next_command.startswith("open ") and "source records in error" in st.why
        text = "\n".join(st.lines())
        assert f"run {out.result.run_id} full: finished" in text and "requests per day left" in text
