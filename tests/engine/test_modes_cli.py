"""Each mode as a `crm-migrate` command: its notebook runs under papermill and writes its report
(HTML + JSON) — sample → migrate → delta → reconcile → rollback → rollback, ending where it began."""

import json

import pytest
from conftest import assert_rolled_back, make_workspace, start_box

from toolkit.cli import main


@pytest.mark.e2e
def test_every_mode_runs_as_a_command_and_writes_its_report(export, tmp_path, monkeypatch, capsys):
    with start_box(export, burst=100_000) as prod, start_box(export, burst=100_000) as staging:
        ws = make_workspace(tmp_path / "ws", export, prod, monkeypatch, staging=staging)
        root = str(ws.root)
        assert main(["delta", root]) == 2
        assert "no finished full run" in capsys.readouterr().err
        assert main(["rollback", root]) == 2
        assert "no run to roll back" in capsys.readouterr().err
        before = prod.state()

        assert main(["sample", root, "--size", "30", "--accept-proposals"]) == 0
        assert "fields compared" in capsys.readouterr().out
        # the generated export plants broken references: the load finishes with records in error (status 3)
        assert main(["migrate", root, "--accept-proposals"]) == 3
        assert main(["delta", root, "--accept-proposals"]) == 0
        assert main(["reconcile", root]) == 3  # the planted broken references: records in error, named
        out = capsys.readouterr().out
        assert "migrate: finished" in out and "delta since" in out and "unaccounted 0" in out
        delta = json.loads((ws.reports_dir / "delta.json").read_text())
        assert delta["status"] == "finished" and "created" not in delta["counts"]
        assert main(["rollback", root]) == 0  # the (empty) delta
        assert main(["rollback", root]) == 0  # the full load
        assert "rollback of" in capsys.readouterr().out
        assert assert_rolled_back(before, prod.state())  # the custom-object definitions stay
        for step in ("sample", "migrate", "delta", "reconcile", "rollback"):
            assert (ws.reports_dir / f"{step}.html").stat().st_size > 1000, step
            assert (ws.reports_dir / f"{step}.json").is_file(), step
        sample = json.loads((ws.reports_dir / "sample.json").read_text())
        assert sample["records"] <= 30 and sample["verdicts"]["mismatch"] == 0
