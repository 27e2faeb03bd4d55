"""The Dental-Exec default templates, through build_plan on the Dental-Exec generator's export.

Each check recomputes the rule independently with pandas and compares it with what the
template and build_plan produce.
"""

import json

import pandas as pd
import pytest

from toolkit.mapping import MappingSpec, build_plan, parse_dates, propose_mapping

OPEN = ["Consultation", "Treatment Presented", "Accepted", "In Treatment"]


def _template(name):
    spec = MappingSpec.load(f"templates/mappings/{name}.yaml")
    spec.accept_proposals()
    return spec


def _records(plan, source, target):
    return {r.source_key: r for o in plan.objects if o.source_object == source and o.target == target for r in o.records}


@pytest.fixture(scope="module")
def fs_plan(dx_snapshot):
    return build_plan(dx_snapshot, _template("dental-exec__freshsales"))


@pytest.fixture(scope="module")
def pd_plan(dx_snapshot):
    return build_plan(dx_snapshot, _template("dental-exec__pipedrive"))


def test_freshsales_leads_are_unreached_referral_only_and_cold_prospects(dx_snapshot, fs_plan):
    c, ap = dx_snapshot["contacts"], dx_snapshot["appointments"]
    booked = set(ap.loc[ap.Status.isin(["Scheduled", "Confirmed"]), "ContactID"])
    want = set(c.loc[c.Status.isin(["Referral Only", "Cold Prospect"]) & ~c.ContactID.isin(booked), "ContactID"])
    leads, contacts = _records(fs_plan, "contacts", "lead"), _records(fs_plan, "contacts", "contact")
    assert set(leads) == want and want
    assert set(contacts) == set(c.ContactID) - want
    # a record one route leaves out and the other takes is not reported as left out
    assert not [u for u in fs_plan.unrouted if u[0] == "contacts"]


def test_freshsales_referring_dentists_carry_the_checkbox_and_npi(dx_snapshot, fs_plan):
    c = dx_snapshot["contacts"].set_index("ContactID")
    for cid, r in _records(fs_plan, "contacts", "contact").items():
        dentist = c.LifecycleRole[cid] == "Referring Dentist"
        assert r.record.custom["referrer"] is dentist
        if dentist and pd.notna(c.NPI[cid]):
            assert r.record.custom["npi"] == c.NPI[cid]


def test_freshsales_circular_practice_parents_are_collapsed(dx_export, dx_snapshot, fs_plan):
    truth = json.loads((dx_export / "ground_truth.json").read_text())
    circular = {d["id"]: d["value"] for d in truth["defects"] if d["kind"] == "circular_parent"}
    accounts = _records(fs_plan, "practices", "sales_account")
    p = dx_snapshot["practices"].set_index("PracticeID")
    for pid, r in accounts.items():
        if pid in circular:
            assert "parent_sales_account_id" not in r.links and r.record.custom["circular_parent"] == circular[pid]
        elif pd.notna(p.ParentPracticeID[pid]):
            assert r.links["parent_sales_account_id"] == ("practices", p.ParentPracticeID[pid])
    assert circular


def test_freshsales_deals_use_case_pipelines_stages_and_their_probabilities(dx_snapshot, fs_plan):
    cases = dx_snapshot["treatment_cases"].set_index("CaseID")
    probs = dx_snapshot["case_pipelines"].set_index(["Pipeline", "Stage"]).Probability.astype(float)
    for cid, r in _records(fs_plan, "treatment_cases", "deal").items():
        row = cases.loc[cid]
        assert r.pipeline == (row.Pipeline, row.Stage)
        assert r.record.fields["probability"] == probs[(row.Pipeline, row.Stage)]
        assert r.links["contacts_added_list"] == ("contacts", row.ContactID)
        assert r.record.custom["original_create_date"].startswith(parse_dates(pd.Series([row.CreatedOn]))[0][0].strftime("%Y-%m-%d"))


def test_pipedrive_lead_rule_on_the_generators_patients(dx_snapshot, pd_plan):
    c, tc, ap = dx_snapshot["contacts"], dx_snapshot["treatment_cases"], dx_snapshot["appointments"]
    open_ = set(tc.loc[tc.Stage.isin(OPEN), "ContactID"])
    done = ap[ap.Status == "Completed"]
    last = parse_dates(done.StartTime)[0].groupby(done.ContactID.to_numpy()).max()
    as_of = pd.Timestamp(dx_snapshot.extracted_at).tz_localize(None)
    recent = set(last[(as_of - last).dt.days / 30.4375 <= 12].index)
    want = set(c.loc[(c.LifecycleRole == "Patient") & c.ContactID.isin(open_) & ~c.ContactID.isin(recent), "ContactID"])
    leads = _records(pd_plan, "contacts", "lead")
    assert set(leads) == want
    for cid, r in leads.items():
        assert r.links["person_id"] == ("contacts", cid)  # Pipedrive leads need their person (§5 Leads)
    assert set(_records(pd_plan, "contacts", "person")) == set(c.ContactID)


def test_pipedrive_treatment_plans_are_deals_and_person_fields(dx_snapshot, pd_plan):
    tc = dx_snapshot["treatment_cases"]
    deals = _records(pd_plan, "treatment_cases", "deal")
    for _, row in tc.iterrows():
        assert deals[row.CaseID].record.fields["status"] == {"Completed": "won", "Lost": "lost"}.get(row.Stage, "open")
    latest = tc.assign(t=parse_dates(tc.ModifiedOn)[0]).sort_values("t").groupby("ContactID").Stage.last()
    persons = _records(pd_plan, "contacts", "person")
    for cid, stage in latest.items():
        if cid in persons:
            assert persons[cid].record.custom["plan_status"] == stage


def test_pipedrive_lab_cases_are_a_person_field_and_an_activity(dx_snapshot, pd_plan):
    lc = dx_snapshot["lab_cases"]
    acts = _records(pd_plan, "lab_cases", "activity")
    assert set(acts) == set(lc.LabCaseID) and len(acts)
    latest = lc.assign(t=parse_dates(lc.SentDate)[0]).sort_values("t").groupby("ContactID").Status.last()
    persons = _records(pd_plan, "contacts", "person")
    for cid, status in latest.items():
        assert persons[cid].record.custom["lab_case_status"] == status
    for _, row in lc.iterrows():
        a = acts[row.LabCaseID]
        assert row.LabName in a.record.fields["subject"] and a.links["person_id"] == ("contacts", row.ContactID)


def test_proposing_over_the_template_clusters_this_exports_carrier_spellings(dx_snapshot):
    spec = propose_mapping(dx_snapshot, "freshsales", base=MappingSpec.load("templates/mappings/dental-exec__freshsales.yaml"))
    deal = spec.object("treatment_cases", "deal")
    carriers = dx_snapshot["treatment_cases"].InsuranceCarrier.dropna()
    vmap = deal.values.get("InsuranceCarrier", {})
    assert vmap and set(vmap) <= set(carriers.str.strip())
    plan = build_plan(dx_snapshot, spec)  # proposals unconfirmed: build_plan itself does not check
    got = {r.record.custom.get("insurance_carrier") for r in _records(plan, "treatment_cases", "deal").values()}
    assert not (set(vmap) & got)  # no variant spelling survives


def test_pipedrive_appointments_are_activities_with_original_times(dx_snapshot, pd_plan):
    ap = dx_snapshot["appointments"].set_index("AppointmentID")
    for aid, r in list(_records(pd_plan, "appointments", "activity").items())[:40]:
        start, end = (parse_dates(pd.Series([ap.StartTime[aid], ap.EndTime[aid]]))[0])
        f = r.record.fields
        assert f["due_date"] == start.strftime("%Y-%m-%d") and f["due_time"] == start.strftime("%H:%M")
        if pd.notna(end):
            assert f["duration"] == (end - start).total_seconds() / 60
        assert f["done"] is (ap.Status[aid] == "Completed")
