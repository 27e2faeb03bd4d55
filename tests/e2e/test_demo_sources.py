"""``crm-migrate generate S`` then ``crm-migrate demo --source S --destination highlevel`` for
every file source other than Dent-O-Soft (tests/e2e/test_demo.py covers that one): the demo
succeeds and accounts for every source record."""

from __future__ import annotations

import json

import pytest

from toolkit import demo
from toolkit.cli import main

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("source", ["practice-by-numbers", "dental-exec", "generic-csv"])
def test_generate_then_demo(source, tmp_path, capsys):
    assert main(["generate", source, "--patients", "30", "--seed", "3", "--out", str(tmp_path / "gen")]) == 0
    assert (tmp_path / "gen" / "ground_truth.json").is_file()
    status = demo.run(source=source, destination="highlevel", patients=30, seed=3, out=tmp_path / "demo",
                      echo=lambda *_: None)
    assert status == 0
    summary = json.loads((tmp_path / "demo" / "workspace" / "reports" / "reconcile.json").read_text())["summary"]
    assert summary["unaccounted"] == 0 and summary["created"] > 0
    assert summary["source_records"] == sum(summary[k] for k in ("created", "updated", "merged", "excluded", "skipped",
                                                                 "errors"))
    audit = json.loads((tmp_path / "demo" / "workspace" / "reports" / "audit.json").read_text())
    assert audit["summary"]["expectations_failed"] > 0  # the planted defects were reported
