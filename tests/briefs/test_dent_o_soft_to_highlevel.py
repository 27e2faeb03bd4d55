"""The Dent-O-Soft -> HighLevel brief, row by row, against the HighLevel sandbox's own state after
the pair's default template ran end to end (sample with diff, full load, reconciliation)."""

from __future__ import annotations

import collections

import pytest
from brief_pair import custom_values, run_pair

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_pair(tmp_path_factory.mktemp("dos-hl"), "dent-o-soft", "highlevel", patients=25)


def _records(state, key):
    return [r for r in state["records"] if r["objectKey"] == f"custom_objects.{key}"]


def _related(state, record_id):
    return {r["secondRecordId"] for r in state["relations"] if r["firstRecordId"] == record_id}


def test_patient_becomes_a_contact_with_its_source_id_and_original_creation_time(run):
    contacts = run.state["contacts"]
    cf = run.state["customFields"]
    values = [custom_values(c, cf) for c in contacts]
    assert len(contacts) >= 20
    assert all(v.get("source_id", "").startswith("P") for v in values)
    assert sum(bool(v.get("original_created")) for v in values) >= 0.9 * len(values)
    assert sum(bool(c.get("dateOfBirth")) for c in contacts) >= 0.8 * len(contacts)
    assert next(f for f in cf if f["fieldKey"] == "contact.original_created")["dataType"] in ("DATE", "TEXT")
    assert run.share_moved("patients") >= 0.85


@pytest.mark.parametrize("source, key, fields", [
    ("insurance", "insurance_record", {"group_number", "subscriber_id", "eligibility_status", "eligibility_date"}),
    ("treatment_plans", "treatment_plan", {"estimated_amount", "status", "start_date", "end_date"}),
    ("clinical_notes", "clinical_note", {"content", "provider", "treatment_date", "procedure_code"}),
    ("ledger", "patient_ledger", {"transaction_type", "amount", "entry_date"}),
    ("claims", "insurance_claim", {"submission_date", "carrier", "billed_amount", "paid_amount", "status"}),
])
def test_each_clinical_and_financial_object_is_a_custom_object_linked_to_its_contact(run, source, key, fields):
    records = _records(run.state, key)
    contacts = {c["id"] for c in run.state["contacts"]}
    assert records and run.share_moved(source) >= 0.85
    assert all(_related(run.state, r["id"]) <= contacts and _related(run.state, r["id"]) for r in records)
    have = set().union(*(r["properties"] for r in records))
    assert fields <= have, fields - have
    typed = {f["fieldKey"].rsplit(".", 1)[1]: f["dataType"] for f in run.state["customFieldsV2"]
             if f["objectKey"] == f"custom_objects.{key}"}
    assert any(t in ("SINGLE_OPTIONS", "MONETORY", "DATE") for t in typed.values())


def test_claim_and_plan_status_are_pick_lists(run):
    typed = {f["fieldKey"]: f["dataType"] for f in run.state["customFieldsV2"]}
    assert typed["custom_objects.insurance_claim.status"] == "SINGLE_OPTIONS"
    assert typed["custom_objects.treatment_plan.status"] == "SINGLE_OPTIONS"


def test_appointment_becomes_an_opportunity_and_a_calendar_event_with_a_procedure_code_pick_list(run):
    cf = run.state["customFields"]
    appts = [o for o in run.state["opportunities"] if custom_values(o, cf).get("source_id", "").startswith("A")]
    events = run.state["events"]
    assert appts and events
    assert {e["description"].rsplit("Source ID: ", 1)[-1] for e in events} <= \
        {custom_values(o, cf)["source_id"] for o in appts} | {e["description"].rsplit("Source ID: ", 1)[-1] for e in events}
    assert next(f for f in cf if f["fieldKey"] == "opportunity.procedure_code")["dataType"] == "SINGLE_OPTIONS"
    assert run.share_moved("appointments") >= 0.85


def test_recall_becomes_an_opportunity_in_the_recall_pipeline(run):
    recall = next(p for p in run.state["pipelines"] if p["name"] == "Recall")
    recalls = [o for o in run.state["opportunities"] if o["pipelineId"] == recall["id"]]
    assert recalls and run.share_moved("recalls") >= 0.85


def test_providers_resolve_to_users_by_email_and_unmatched_ones_keep_name_and_id(run):
    users = {u["id"] for u in run.state["users"]}
    assert all(c.get("assignedTo") in users for c in run.state["contacts"])
    cf = run.state["customFields"]
    named = [custom_values(c, cf) for c in run.state["contacts"]]
    assert all(v.get("primary_provider") for v in named if v.get("primary_provider_name"))
    assert any(v.get("primary_provider_name") for v in named)


def test_provider_schedules_become_their_users_availability(run):
    schedules = run.state["schedules"]
    users = {u["id"] for u in run.state["users"]}
    assert schedules and all(s["userId"] in users and s["rules"] for s in schedules)
    reasons = [r for (o, _), (f, r) in run.fates.items() if o == "provider_schedules" and f == "skipped"]
    assert all("has no" in r for r in reasons)  # only providers without a user, each said so


def test_referral_source_is_a_pick_list_and_primary_and_secondary_tags(run):
    cf = {f["fieldKey"]: f for f in run.state["customFields"]}
    assert cf["contact.referral_source"]["dataType"] == "SINGLE_OPTIONS"
    tags = collections.Counter(t.split(":")[0] for c in run.state["contacts"] for t in c.get("tags", []))
    assert tags["Referral"] > 0 and tags["Secondary referral"] > 0
    assert run.fates_of("referral_sources")["merged"] > 0


def test_documents_are_files_on_their_contact(run):
    media, notes = run.state["media"], run.state["notes"]
    assert media and run.share_moved("documents") >= 0.85
    assert all(n["contactId"] in {c["id"] for c in run.state["contacts"]} for n in notes)


def test_every_record_is_accounted_for_and_nothing_is_excluded(run):
    s = run.reconcile.summary()
    assert s["unaccounted"] == 0 and s["excluded"] == 0
    for obj in run.tables:
        assert not run.unexplained(obj), obj


def test_the_sample_was_diffed_field_by_field(run):
    v = run.sample.verdicts()
    assert v["equal"] + v["transformed as expected"] > 0 and v["mismatch"] == 0
