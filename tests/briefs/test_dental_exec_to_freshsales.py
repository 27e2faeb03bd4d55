"""The Dental-Exec -> Freshsales brief, row by row, against the Freshsales sandbox's state after
the pair's default template ran end to end (stage maps read from the account's own pipelines)."""

from __future__ import annotations

import pytest
from brief_pair import run_pair

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_pair(tmp_path_factory.mktemp("de-fs"), "dental-exec", "freshsales", patients=25)


def _rows(state, kind):
    v = state[kind]
    return list(v.values()) if isinstance(v, dict) else v


def test_patients_are_contacts_linked_to_their_practice_with_source_id(run):
    contacts = _rows(run.state, "contacts")
    accounts = {a["id"] for a in _rows(run.state, "sales_accounts")}
    assert run.share_moved("contacts") >= 0.85
    assert all(c["custom_field"].get("cf_source_id") for c in contacts)
    assert sum(c.get("sales_account_id") in accounts for c in contacts) >= 0.8 * len(contacts)


def test_uncontacted_prospects_are_leads(run):
    lead_stage = next(s["id"] for s in run.state["lifecycle_stages"] if s["name"] == "Lead")
    leads = [c for c in _rows(run.state, "contacts") if c.get("lifecycle_stage_id") == lead_stage]
    src = run.tables["contacts"]
    prospects = src[src.Status.isin(["Referral Only", "Cold Prospect"])]
    assert leads and len(leads) <= len(prospects)


def test_referring_dentists_carry_the_referrer_checkbox_and_npi(run):
    src = run.tables["contacts"].set_index("ContactID")
    dentists = [c for c in _rows(run.state, "contacts")
                if src.LifecycleRole.get(c["custom_field"].get("cf_source_id")) == "Referring Dentist"]
    assert dentists and all(c["custom_field"].get("cf_referrer") is True for c in dentists)


def test_practices_are_accounts_with_industry_and_hierarchy(run):
    accounts = _rows(run.state, "sales_accounts")
    assert run.share_moved("practices") >= 0.85
    assert all(a["custom_field"].get("cf_industry") == "Healthcare / Dental" for a in accounts)
    assert any(a.get("parent_sales_account_id") for a in accounts)


def test_deals_land_in_their_pipelines_stages_read_from_the_account(run):
    pipelines = {p["id"]: p for p in run.state["pipelines"]}
    stage_of = {s["id"]: (p["name"], s) for p in pipelines.values() for s in p["stages"]}
    deals = _rows(run.state, "deals")
    assert run.share_moved("treatment_cases") >= 0.85
    src = run.tables["treatment_cases"].set_index("CaseID")
    for d in deals:
        pipe, stage = stage_of[d["deal_stage_id"]]
        row = src.loc[d["custom_field"]["cf_source_id"]]
        assert pipe == row.Pipeline
        if row.Stage == "Lost":
            assert stage["forecast_type"] == "lost"  # closed lost, not left open
        if row.Stage == "Completed":
            assert stage["forecast_type"] == "won"
    unmapped = [d for d in deals if stage_of[d["deal_stage_id"]][1]["name"].startswith("Unmapped")]
    assert len(unmapped) <= len(deals) // 2
    import json
    review = json.loads((run.ws.reports_dir / "map.json").read_text())
    assert review["stages_read"].startswith("read from the destination")
    listed = {(r["pipeline"], r["source_stage"]) for r in review["stages"]}
    assert {(pipelines[d["deal_pipeline_id"]]["name"], src.loc[d["custom_field"]["cf_source_id"]].Stage)
            for d in unmapped} <= listed  # every unmapped one was listed for review at map time


def test_claim_status_values_map_to_pick_list_options_none_dropped(run):
    field = next(f for f in run.state["fields"]["deals"] if f["name"] == "cf_claim_status")
    options = {c["value"] for c in field["choices"]}
    values = {d["custom_field"].get("cf_claim_status") for d in _rows(run.state, "deals")} - {None}
    assert values <= options
    src = set(run.tables["treatment_cases"].ClaimStatus.dropna())
    assert {v.title() if v.isupper() or v.islower() else v for v in src} <= options


def test_ada_codes_and_insurance_carrier_on_the_deal(run):
    deals = _rows(run.state, "deals")
    assert all(d["custom_field"].get("cf_ada_code") for d in deals)
    assert any(d["custom_field"].get("cf_insurance_carrier") for d in deals)


def test_appointments_tasks_and_notes_keep_times_owners_and_authors(run):
    users = {u["id"] for u in run.state["users"]}
    appts, tasks, notes = (_rows(run.state, k) for k in ("appointments", "tasks", "notes"))
    assert appts and all(a["from_date"] and a["end_date"] for a in appts)
    assert tasks and all(t.get("owner_id") in users for t in tasks)
    assert notes and all(" by " in n["description"].split("\n", 1)[0] for n in notes)
    for obj in ("appointments", "tasks", "clinical_notes"):
        assert run.share_moved(obj) >= 0.85, obj


def test_documents_are_files_on_their_contact(run):
    docs = _rows(run.state, "documents")
    assert docs and run.share_moved("documents") >= 0.85


def test_users_resolve_by_email_and_every_record_is_accounted_for(run):
    assert run.fates_of("users")["merged"] > 0
    assert run.reconcile.summary()["unaccounted"] == 0
    for obj in run.tables:
        assert not run.unexplained(obj), obj
    excluded = {o for (o, _), (f, _) in run.fates.items() if f == "excluded"}
    assert excluded <= {"case_pipelines", "lab_cases", "billing"}  # none of them is in this brief's table


def test_the_sample_was_diffed_field_by_field(run):
    v = run.sample.verdicts()
    assert v["equal"] + v["transformed as expected"] > 0 and v["mismatch"] == 0
