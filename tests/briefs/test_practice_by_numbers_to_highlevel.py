"""The Practice by Numbers -> HighLevel brief, row by row, against the HighLevel sandbox's state
after the pair's default template ran end to end."""

from __future__ import annotations

import json

import pytest
from brief_pair import custom_values, run_pair

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_pair(tmp_path_factory.mktemp("pbn-hl"), "practice-by-numbers", "highlevel", patients=25)


def _records(state, key):
    return [r for r in state["records"] if r["objectKey"] == f"custom_objects.{key}"]


def test_patient_becomes_a_contact_with_original_create_and_modified_dates(run):
    cf = run.state["customFields"]
    values = [custom_values(c, cf) for c in run.state["contacts"]]
    assert values and all(v.get("original_created") and v.get("original_modified") for v in values)
    assert run.share_moved("patients") >= 0.85


def test_offices_become_companies_linked_to_their_patients(run):
    companies = {b["id"]: b for b in run.state["businesses"]}
    assert len(companies) == len(run.tables["offices"])
    assert all(c.get("businessId") in companies for c in run.state["contacts"])
    assert all(b["properties"].get("office_id") for b in companies.values())


@pytest.mark.parametrize("source, key, fields", [
    ("appointments", "appointment", {"appointment_date", "provider", "treatment_type", "status"}),
    ("procedure_log", "treatment_history", {"service_date", "provider", "fee", "case_type"}),
    ("insurance", "insurance", {"plan_type", "group_number", "subscriber_id"}),
])
def test_appointments_procedures_and_insurance_are_custom_objects_linked_to_the_contact(run, source, key, fields):
    records = _records(run.state, key)
    contacts = {c["id"] for c in run.state["contacts"]}
    related = {r["firstRecordId"]: r["secondRecordId"] for r in run.state["relations"]}
    assert records and all(related.get(r["id"]) in contacts for r in records)
    assert fields <= set().union(*(r["properties"] for r in records))
    assert run.share_moved(source) >= 0.85


def test_kpi_properties_are_typed_contact_and_company_fields_created_before_the_load(run):
    kpis = run.tables["kpi_properties"]
    cf = {f["fieldKey"].split(".", 1)[1]: f for f in run.state["customFields"] if f["fieldKey"].startswith("contact.")}
    patient_kpis = kpis[kpis.applies_to == "patient"]
    for label, kind in zip(patient_kpis.label, patient_kpis.data_type):
        key = "_".join(label.lower().replace("-", " ").split())
        assert key in cf, key
        if kind == "money":
            assert cf[key]["dataType"] == "MONETORY"
        if kind == "picklist":
            assert cf[key]["dataType"] == "SINGLE_OPTIONS"
    assert run.fates_of("patient_properties")["merged"] > 0
    company_props = set().union(*(b["properties"] for b in run.state["businesses"]))
    assert "production_per_hour" in company_props and run.fates_of("office_kpis")["merged"] > 0


def test_communication_log_becomes_tasks_and_a_json_history_on_the_contact(run):
    assert run.state["tasks"]
    cf = run.state["customFields"]
    logs = [custom_values(c, cf).get("communication_log") for c in run.state["contacts"]]
    history = json.loads(next(v for v in logs if v))
    assert isinstance(history, list) and {"sent_at", "channel", "body"} <= set(history[0])
    assert run.share_moved("communication_log") >= 0.85


def test_form_submissions_are_json_on_the_contact(run):
    cf = run.state["customFields"]
    forms = [custom_values(c, cf).get("form_submissions") for c in run.state["contacts"]]
    assert any(forms) and isinstance(json.loads(next(f for f in forms if f)), list)
    assert run.share_moved("form_submissions") >= 0.85


def test_assigned_staff_resolve_to_users_by_email_with_a_fallback(run):
    users = {u["id"] for u in run.state["users"]}
    assert all(c.get("assignedTo") in users for c in run.state["contacts"])
    cf = run.state["customFields"]
    assert any(custom_values(c, cf).get("assigned_staff") for c in run.state["contacts"])


def test_case_pipelines_become_opportunities_with_their_stage_probability(run):
    treatment = next(p for p in run.state["pipelines"] if p["name"] == "Treatment")
    opps = [o for o in run.state["opportunities"] if o["pipelineId"] == treatment["id"]]
    cf = run.state["customFields"]
    assert opps and all(custom_values(o, cf).get("case_probability") is not None for o in opps)
    assert run.share_moved("cases") >= 0.85


def test_every_record_is_accounted_for(run):
    assert run.reconcile.summary()["unaccounted"] == 0
    for obj in run.tables:
        assert not run.unexplained(obj), obj
    assert {o for (o, _), (f, _) in run.fates.items() if f == "excluded"} <= {"campaigns"}


def test_the_sample_was_diffed_field_by_field(run):
    v = run.sample.verdicts()
    assert v["equal"] + v["transformed as expected"] > 0 and v["mismatch"] == 0
