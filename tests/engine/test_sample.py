"""The sample: a stratified, dependency-closed slice into staging, and its field-level diff."""

import json

import httpx
import pytest
from conftest import make_workspace, start_box

from toolkit import ConfigError, Ledger, MappingSpec, build_plan
from toolkit import workflow as wf
from toolkit.verify.field_diff import diff_sample, verdict
from toolkit.load.sample import select_sample


@pytest.mark.parametrize("source, expected, actual, want", [
    ("Smith", "Smith", "Smith", "equal"),
    ("SMITH", "Smith", "Smith", "transformed as expected"),
    ("617-555-0100", "+16175550100", "+16175550100", "transformed as expected"),
    ("120.50", 120.5, 120.5, "equal"),
    ("Smith", "Smith", "Smyth", "mismatch"),
    ("Smith", "Smith", None, "missing"),
    (None, None, "something", "mismatch"),
    ("a", ["x", "y"], ["y", "x"], "transformed as expected"),
    ("Y", True, True, "transformed as expected"),
])
def test_verdicts(source, expected, actual, want):
    assert verdict(source, expected, actual) == want


def _idents(sel):
    return {(pr.source_object, pr.source_key, op.target) for op in sel.plan.objects for pr in op.records}


def test_the_sample_is_stratified_dependency_closed_and_within_size(export, tmp_path, monkeypatch):
    with start_box(export, burst=100_000) as box:
        ws = make_workspace(tmp_path / "ws", export, box, monkeypatch)
    plan = build_plan(ws.read_source(), MappingSpec.load(ws.mapping_path))
    targets = {(op.source_object, op.target) for op in plan.objects if any(not pr.skip_reason for pr in op.records)}
    # a small sample still holds every source object and target: a dependent brings its parents,
    # so twice the number of pairs leaves room for them
    for size in (2 * len(targets) + 3, 120):
        picked = select_sample(plan, size=size, seed=1)
        idents = _idents(picked)
        assert len(idents) == size
        assert {(o, t) for o, _, t in idents} == targets  # every object is in even a small sample
        keys = {(o, k) for o, k, _ in idents}
        for op in picked.plan.objects:
            for pr in op.records:
                assert pr.skip_reason is None
                for sobj, skey in pr.links.values():
                    assert (sobj, plan.aliases.get((sobj, skey), skey)) in keys  # its parent came along
    # large enough, every stratum is represented: every owner, pipeline stage and status
    assert all(c["strata_covered"] == c["strata"] for c in picked.coverage), picked.coverage
    live = {(pr.source_object, pr.source_key) for op in plan.objects for pr in op.records if pr.skip_reason is None}
    loadable = [pr for op in plan.objects for pr in op.records if pr.skip_reason is None
                and all((o, plan.aliases.get((o, k), k)) in live for o, k in pr.links.values())]
    chosen = [pr for op in picked.plan.objects for pr in op.records]
    assert {pr.owner_email for pr in chosen} == {pr.owner_email for pr in loadable}
    assert {pr.pipeline for pr in chosen if pr.pipeline} == {pr.pipeline for pr in loadable if pr.pipeline}
    statuses = {pr.record.custom.get("patient_status") for pr in loadable if pr.source_object == "patients"}
    assert {pr.record.custom.get("patient_status") for pr in chosen if pr.source_object == "patients"} == statuses
    assert _idents(select_sample(plan, size=120, seed=1)) == _idents(picked)  # seeded: the same sample


def test_sample_loads_into_staging_only_and_the_diff_catches_what_staging_changed(export, tmp_path, monkeypatch):
    with start_box(export, burst=100_000) as prod, start_box(export, burst=100_000) as staging:
        ws = make_workspace(tmp_path / "ws", export, prod, monkeypatch, staging=staging)
        out = wf.sample(ws, size=40, progress=False)
        assert out.result.status == "finished"
        assert prod.state()["contacts"] == [] and prod.state()["customFields"] == []
        assert 0 < len(staging.state()["contacts"]) <= 40
        v = out.verdicts()
        assert v["equal"] > 0 and v["transformed as expected"] > 0 and v["mismatch"] == 0 and v["missing"] == 0
        figures = json.loads((ws.reports_dir / "sample.json").read_text())
        assert figures["verdicts"] == v and len(figures["rows"]) == len(out.diff)
        assert {"source", "expected", "actual", "verdict"} <= set(figures["rows"][0])

        # someone edits a staging contact: the diff must say so, field by field
        contact = staging.state()["contacts"][0]
        field = next(f for f in staging.state()["customFields"] if f["fieldKey"] == "contact.chart_number")
        headers = {"Authorization": f"Bearer {staging.token}", "Version": "2021-07-28"}
        r = httpx.put(f"{staging.url}/contacts/{contact['id']}", headers=headers,
                      json={"lastName": "Tampered", "customFields": [{"id": field["id"], "field_value": ""}]})
        assert r.status_code == 200, r.text
        spec = MappingSpec.load(ws.mapping_path)
        snapshot = ws.read_source()
        staged = wf.staging_destination(ws)
        # the same sample the run took: the plan in the destination's load order, the same seed
        plan = select_sample(build_plan(snapshot, spec, staged.objects, inline_dir=ws.inline_images_dir),
                             size=40, seed=0).plan
        with Ledger(ws.root / "staging" / "ledger.sqlite") as ledger:
            diff = diff_sample(plan, spec, snapshot, ledger, staged)
        mine = diff[diff["actual"].astype(str).str.contains("Tampered") | (diff["field"] == "custom.chart_number")]
        sid = next(c["value"] for c in contact["customFields"]
                   if c["id"] == next(f["id"] for f in staging.state()["customFields"] if f["fieldKey"] == "contact.source_id"))
        mine = mine[mine["source_key"] == sid].set_index("field")["verdict"].to_dict()
        assert mine == {"lastName": "mismatch", "custom.chart_number": "missing"}


def test_a_staging_target_that_is_production_is_refused(export, tmp_path, monkeypatch):
    with start_box(export, burst=100_000) as box:
        ws = make_workspace(tmp_path / "ws", export, box, monkeypatch, staging=box)
        with pytest.raises(ConfigError, match="production"):
            wf.sample(ws, size=10, progress=False)
        ws.extra.pop("staging")
        with pytest.raises(ConfigError, match="names no staging target"):
            wf.sample(ws, size=10, progress=False)
