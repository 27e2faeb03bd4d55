"""The EXACT demo end to end: generated division -> EXACT sandbox -> notebooks -> HighLevel sandbox."""

from __future__ import annotations

import json

import pytest

from toolkit import demo

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("exact-demo")
    status = demo.run(source="exact", destination="highlevel", patients=40, seed=21, out=out, echo=lambda _: None)
    return out, status


def test_exact_demo_accounts_for_every_record(run):
    out, status = run
    assert status == 0
    summary = json.loads((out / "workspace" / "reports" / "reconcile.json").read_text())["summary"]
    assert summary["unaccounted"] == 0 and summary["errors"] == 0
    ws = (out / "workspace" / "workspace.yaml").read_text()
    assert "secret" not in ws and "EXACT_AUTH_CODE" not in ws  # credentials stay in the environment


def test_opportunities_land_in_the_sales_pipeline_with_probability(run):
    out, _ = run
    state = json.loads((out / "sandbox_state.json").read_text())
    truth = json.loads((out / "export" / "ground_truth.json").read_text())
    opps = {o["ID"]: o for o in json.loads((out / "export" / "dataset" / "Opportunities.json").read_text())}
    keys = {f["id"]: f["fieldKey"].split(".", 1)[1] for f in state["customFields"]}
    sales = next(p for p in state["pipelines"] if p["name"] == "Sales")
    stage_name = {s["id"]: s["name"] for s in sales["stages"]}
    unmapped = {d["id"] for d in truth["defects"] if d["kind"] == "unmapped_stage"}
    loaded = 0
    for o in state["opportunities"]:
        custom = {keys[c["id"]]: c["fieldValue"] for c in o["customFields"]}
        src = opps[custom["source_id"]]
        assert o["pipelineId"] == sales["id"]
        assert custom["probability"] == pytest.approx(src["Probability"])
        assert custom["exact_stage"] == src["OpportunityStageDescription"]
        assert o["status"] == {1: "open", 2: "won", 3: "lost"}[src["OpportunityStatus"]]
        if src["ID"] in unmapped:
            assert stage_name[o["pipelineStageId"]] == "Unmapped — Review Required"
        loaded += 1
    assert loaded == sum(1 for o in opps.values() if o["Contact"])
