"""Custom-object routes against the HighLevel sandbox: a Dent-O-Soft export loads insurance
records, treatment plans, clinical notes, the patient ledger and insurance claims as HighLevel
custom objects — each schema made once with its typed fields before any record, every record
carrying its fields and associated with its patient's contact — and a destination without
custom objects refuses such a route before anything is written."""

from __future__ import annotations

import pytest
from conftest import make_workspace, start_box

from toolkit import Ledger
from toolkit import workflow as wf
from toolkit.destinations import DestinationConfig, Record
from toolkit.destinations import registry as destinations
from toolkit.load.engine import Engine
from toolkit.errors import ConfigError
from toolkit.mapping import ObjectPlan, Plan, PlannedRecord

ROUTES = {"insurance": "insurance_record", "treatment_plans": "treatment_plan", "clinical_notes": "clinical_note",
          "ledger": "patient_ledger", "claims": "insurance_claim"}


def _by_object(state: dict) -> dict[str, dict[str, dict]]:
    """Sandbox custom-object records: object name -> source id -> record."""
    out: dict[str, dict[str, dict]] = {}
    for r in state["records"]:
        name = r["objectKey"].split(".", 1)[1]
        out.setdefault(name, {})[str(r["properties"].get("source_id"))] = r
    return out


@pytest.fixture(scope="module")
def loaded(export_template, tmp_path_factory):
    """One migration shared by the tests below, which read it (the rollback test runs last)."""
    # the engine's default workers: they race to make each object's contact association first
    root = tmp_path_factory.mktemp("custom_objects")
    with pytest.MonkeyPatch.context() as monkeypatch, start_box(export_template, burst=100_000) as box:
        ws = make_workspace(root / "ws", export_template, box, monkeypatch)
        ws.destination_config.options["page_size"] = 25  # so listing a custom object takes several pages
        ws.save()
        first = wf.migrate(ws, progress=False)
        yield ws, box, first


def test_each_route_loads_its_rows_with_fields_and_contact(loaded):
    ws, box, first = loaded
    assert first.result.status == "finished"
    snapshot, the_plan = wf.plan(ws)
    state = box.state()
    assert {o["key"] for o in state["objects"]} == {f"custom_objects.{n}" for n in ROUTES.values()}
    records = _by_object(state)
    with Ledger(ws.ledger_path) as ledger:
        contacts = {k: v[0] for k, v in ledger.id_map("patients", "contact").items()}
        journal = list(ledger.journal())
    relations = {r["firstRecordId"]: r["secondRecordId"] for r in state["relations"]}
    fields_v2 = {(f["objectKey"], f["fieldKey"].rsplit(".", 1)[1]) for f in state["customFields"]
                 if "objectKey" in f} if state.get("customFields") else set()
    for source, name in ROUTES.items():
        op = next(o for o in the_plan.objects if o.source_object == source)
        assert len(op.records) == len(snapshot[source]) > 0, source
        loaded_here = records.get(name, {})
        for pr in op.records:
            contact = contacts.get(pr.links["contactId"][1])
            if contact is None:  # its patient was left out or is missing: the record is reported instead
                continue
            rec = loaded_here[pr.source_key]
            for key, value in {**pr.record.custom, **pr.record.fields}.items():
                assert rec["properties"][key] not in (None, ""), (source, pr.source_key, key)
            assert relations[rec["id"]] == contact, (source, pr.source_key)
        wanted = {cf.key for cf in the_plan.custom_fields if cf.object == f"custom_object:{name}"}
        if fields_v2:
            assert wanted <= {k for o, k in fields_v2 if o == f"custom_objects.{name}"}
    provisions = [e for e in journal if e.op == "provision" and e.state == "intent"
                  and (e.dest_object or "").startswith("custom_object_schema:")]
    assert sorted(e.source_key for e in provisions) == sorted(ROUTES.values())
    # the schemas come before their fields, and both before any record of a custom object
    first_field = min(e.seq for e in journal if e.op == "provision" and (e.dest_object or "").startswith(
        "custom_field:custom_object:"))
    first_record = min(e.seq for e in journal if e.op == "create" and (e.dest_object or "").startswith("custom_object:"))
    assert max(e.seq for e in provisions) < first_field < first_record


def test_a_rerun_finds_the_schemas_and_rewrites_nothing(loaded):
    ws, box, first = loaded
    before = box.state()
    again = wf.migrate(ws, progress=False)
    assert again.result.status == "finished"
    assert "created" not in again.result.counts and "updated" not in again.result.counts
    after = box.state()
    assert after["objects"] == before["objects"] and len(after["records"]) == len(before["records"])
    assert len(after["associations"]) == len(before["associations"]) == len(ROUTES)
    with Ledger(ws.ledger_path) as ledger:
        mine = [e for e in ledger.journal(again.result.run_id) if e.op == "provision"]
    assert mine == []  # nothing made, so nothing journaled for a rollback to list


def test_reconciliation_accounts_for_every_custom_object_row(loaded):
    ws, box, first = loaded
    summary = wf.reconcile(ws).summary()
    assert summary["unaccounted"] == 0 and summary["source_records"] > 0


@pytest.mark.parametrize("name", ["pipedrive", "freshsales"])
def test_a_destination_without_custom_objects_refuses_the_route_before_any_write(name, tmp_path, monkeypatch):
    monkeypatch.setenv("CO_TEST_TOKEN", "x")
    options = {"pipedrive": {"company_domain": "practice"}, "freshsales": {"domain": "practice"}}[name]
    dest = destinations.get(name)(DestinationConfig("http://127.0.0.1:9", "CO_TEST_TOKEN", options))
    record = PlannedRecord("claims", "C1", Record("custom_object:insurance_claim", fields={"claim_id": "C1"}))
    the_plan = Plan("dent-o-soft", name, [ObjectPlan("claims", "custom_object:insurance_claim", [record])], [], [], {})
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        with pytest.raises(ConfigError, match=r"no custom objects.*claims -> custom_object:insurance_claim"):
            Engine(dest, ledger, progress=False).run(the_plan, None)
        assert ledger.runs() == [] and list(ledger.journal()) == []


def test_rollback_leaves_the_schemas_and_lists_them(loaded):
    ws, box, first = loaded
    rerun = wf.rollback(ws, progress=False)  # the rerun above made nothing: it lists nothing
    assert rerun.status == "finished" and rerun.of_run != first.result.run_id and rerun.left == []
    undone = wf.rollback(ws, progress=False)
    assert undone.status == "finished" and undone.of_run == first.result.run_id
    left = sorted(x["source_key"] for x in undone.left if x["object"] == "custom_object_schema")
    assert left == sorted(ROUTES.values())
    state = box.state()
    assert len(state["objects"]) == len(ROUTES) and state["records"] == []
