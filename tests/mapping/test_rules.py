"""Every migration rule the mapping expresses, written in mapping.yaml terms and applied by build_plan.

Rules on data the Dent-O-Soft generator makes are checked on its export, against an independent
pandas computation; rules that need objects it does not make (companies with parents, referring
dentists, lab cases, case pipelines) use small hand-made Snapshots.
"""

import pandas as pd
import pytest

from toolkit.shapes import SOURCE_ID_FIELD
from toolkit.errors import MappingError
from toolkit.mapping import MappingSpec, build_plan, carrier_table, carrier_value_map, parse_dates, pipeline_maps
from toolkit.shapes import ObjectSchema, Snapshot

OPEN = ["Proposed", "Accepted", "In Progress"]


def _spec(destination, objects, **extra):
    spec = MappingSpec.from_dict({"source": "test", "destination": destination, "objects": objects, **extra})
    spec.accept_proposals()
    return spec


def _records(plan, source, target=None):
    return {r.source_key: r for o in plan.objects if o.source_object == source and (target is None or o.target == target)
            for r in o.records}


def _snap(**tables):
    frames = {name: pd.DataFrame(rows, dtype="string").astype("object").where(lambda d: d.notna(), pd.NA)
              for name, rows in tables.items()}
    schema = {name: ObjectSchema(name, f"{name}.csv", df.columns[0], {c: "text" for c in df.columns})
              for name, df in frames.items()}
    return Snapshot("test", frames, schema)


def _template():
    spec = MappingSpec.load("templates/mappings/dent-o-soft__highlevel.yaml")
    spec.accept_proposals()
    return spec


# --- routing ----------------------------------------------------------------------------------
ROUTE = {"open_plans": {"collect": {"object": "treatment_plans", "by": "PatientID", "how": "count",
                                   "where": f"Status in {OPEN}"}},
         "last_visit": {"collect": {"object": "appointments", "by": "PatientID", "column": "AptDate", "how": "latest",
                                    "where": "Status == 'Completed'"}},
         "months_since_visit": {"months_since": "last_visit"}}
LEAD = "open_plans > 0 and not (months_since_visit <= @lead_recency_months)"


def _routing(months):
    fields = [{"source": "LastName", "target": "name"}]
    return _spec("pipedrive", [
        {"source": "patients", "target": "lead", "key": "PatientID", "derive": ROUTE, "where": LEAD, "fields": fields},
        {"source": "patients", "target": "person", "key": "PatientID", "derive": ROUTE, "where": f"not ({LEAD})",
         "fields": fields}], params={"lead_recency_months": months, "as_of": "2025-03-14"})


def _expected_leads(snap, months):
    tp, ap = snap["treatment_plans"], snap["appointments"]
    open_ = set(tp.loc[tp.Status.isin(OPEN), "PatientID"])
    done = ap[ap.Status == "Completed"].assign(d=parse_dates(ap.loc[ap.Status == "Completed", "AptDate"])[0])
    last = done.groupby("PatientID").d.max()
    recent = set(last[(pd.Timestamp("2025-03-14") - last).dt.days / 30.4375 <= months].index)
    return {p for p in snap["patients"].PatientID if p in open_ and p not in recent}


@pytest.mark.parametrize("months", [12, 3])
def test_patient_is_a_lead_with_an_open_plan_and_no_recent_visit_else_a_person(dos_snapshot, months):
    plan = build_plan(dos_snapshot, _routing(months))
    leads, persons = _records(plan, "patients", "lead"), _records(plan, "patients", "person")
    assert set(leads) == _expected_leads(dos_snapshot, months) and leads
    assert set(leads).isdisjoint(persons) and set(leads) | set(persons) == set(dos_snapshot["patients"].PatientID)


def test_the_recency_threshold_is_configurable(dos_snapshot):
    twelve = set(_records(build_plan(dos_snapshot, _routing(12)), "patients", "lead"))
    three = set(_records(build_plan(dos_snapshot, _routing(3)), "patients", "lead"))
    assert twelve <= three and twelve != three


def test_status_routes_uncontacted_prospects_to_freshsales_leads():
    snap = _snap(contacts=[
        {"ContactID": "C1", "Last": "Ng", "Status": "Active Patient"},
        {"ContactID": "C2", "Last": "Ode", "Status": "Referral Only"},
        {"ContactID": "C3", "Last": "Po", "Status": "Cold Prospect"},
        {"ContactID": "C4", "Last": "Qi", "Status": "Cold Prospect"}],
        appointments=[{"AppointmentID": "A1", "ContactID": "C4", "Status": "Scheduled"}])
    prospects = "Status in ['Referral Only', 'Cold Prospect'] and booked == 0"
    derive = {"booked": {"collect": {"object": "appointments", "by": "ContactID", "how": "count",
                                     "where": "Status == 'Scheduled'"}}}
    fields = [{"source": "Last", "target": "last_name"}]
    spec = _spec("freshsales", [
        {"source": "contacts", "target": "lead", "key": "ContactID", "derive": derive, "where": prospects, "fields": fields},
        {"source": "contacts", "target": "contact", "key": "ContactID", "derive": derive, "where": f"not ({prospects})",
         "fields": fields}])
    plan = build_plan(snap, spec)
    assert set(_records(plan, "contacts", "lead")) == {"C2", "C3"}
    assert set(_records(plan, "contacts", "contact")) == {"C1", "C4"}  # C4 has an appointment booked


def test_referring_dentists_are_flagged_with_a_checkbox_and_their_npi():
    snap = _snap(contacts=[{"ContactID": "C1", "Type": "Patient", "NPI": pd.NA},
                           {"ContactID": "C2", "Type": "Referring Dentist", "NPI": "1234567893"}])
    spec = _spec("freshsales", [{"source": "contacts", "target": "contact", "key": "ContactID", "fields": [
        {"value": True, "target": "custom:referrer", "type": "checkbox", "where": "Type == 'Referring Dentist'",
         "otherwise": False},
        {"source": "NPI", "target": "custom:npi", "type": "text"}]}])
    recs = _records(build_plan(snap, spec), "contacts")
    assert recs["C2"].record.custom["referrer"] is True and recs["C2"].record.custom["npi"] == "1234567893"
    assert recs["C1"].record.custom["referrer"] is False and "npi" not in recs["C1"].record.custom
    assert {(c.key, c.type) for c in build_plan(snap, spec).custom_fields} >= {("referrer", "checkbox"), ("npi", "text")}


# --- merges -----------------------------------------------------------------------------------
def test_treatment_plan_becomes_a_deal_and_person_custom_fields(dos_snapshot):
    spec = _spec("pipedrive", [
        {"source": "patients", "target": "person", "key": "PatientID", "fields": [
            {"template": "{FirstName} {LastName}", "source": "FirstName", "target": "name"},
            {"target": "custom:plan_status", "type": "text", "collect": {
                "object": "treatment_plans", "by": "PatientID", "column": "Status", "how": "latest", "order": "ModifiedDate"}},
            {"target": "custom:plan_codes", "type": "text", "collect": {
                "object": "treatment_plans", "by": "PatientID", "column": "ProcedureCode", "how": "join"}}]},
        {"source": "treatment_plans", "target": "deal", "key": "PlanID",
         "links": {"person_id": {"column": "PatientID", "object": "patients"}},
         "fields": [{"source": "Description", "target": "title"},
                    {"source": "EstimatedFee", "target": "value", "transform": "money"},
                    {"source": "Status", "target": "status"}],
         "values": {"Status": {"Proposed": "open", "Accepted": "open", "In Progress": "open", "Completed": "won",
                               "Declined": "lost"}}}])
    plan = build_plan(dos_snapshot, spec)
    tp = dos_snapshot["treatment_plans"]
    deals = _records(plan, "treatment_plans", "deal")
    assert set(deals) == set(tp.PlanID)
    for _, row in tp.iterrows():
        d = deals[row.PlanID]
        assert d.links["person_id"] == ("patients", row.PatientID)
        assert d.record.fields["status"] == {"Completed": "won", "Declined": "lost"}.get(row.Status, "open")
    latest = tp.assign(t=parse_dates(tp.ModifiedDate)[0]).sort_values("t").groupby("PatientID").Status.last()
    persons = _records(plan, "patients", "person")
    for pid, status in latest.items():
        if pid in persons:
            assert persons[pid].record.custom["plan_status"] == status
            assert set(persons[pid].record.custom["plan_codes"].split(", ")) == set(tp.loc[tp.PatientID == pid, "ProcedureCode"].dropna())
    without = set(dos_snapshot["patients"].PatientID) - set(tp.PatientID)
    assert all("plan_status" not in persons[p].record.custom for p in without)


def test_lab_case_becomes_a_person_field_and_an_activity():
    snap = _snap(patients=[{"PatientID": "P1", "Name": "Ann Ng"}, {"PatientID": "P2", "Name": "Bo Li"}],
                 lab_cases=[{"LabCaseID": "L1", "PatientID": "P1", "Lab": "Acme Lab", "Status": "Sent",
                             "Submitted": "01/05/2025", "Expected": "01/20/2025"},
                            {"LabCaseID": "L2", "PatientID": "P1", "Lab": "Acme Lab", "Status": "Returned",
                             "Submitted": "02/01/2025", "Expected": "02/14/2025"}])
    spec = _spec("pipedrive", [
        {"source": "patients", "target": "person", "key": "PatientID", "fields": [
            {"source": "Name", "target": "name"},
            {"target": "custom:lab_case_status", "type": "text", "collect": {
                "object": "lab_cases", "by": "PatientID", "column": "Status", "how": "latest", "order": "Submitted"}}]},
        {"source": "lab_cases", "target": "activity", "key": "LabCaseID",
         "links": {"person_id": {"column": "PatientID", "object": "patients"}},
         "fields": [{"template": "Lab case at {Lab}: expected back {Expected}", "source": "Lab", "target": "subject"},
                    {"source": "Submitted", "target": "due_date", "transform": "date"},
                    {"value": "lab_case", "target": "type"}]}])
    plan = build_plan(snap, spec)
    persons, acts = _records(plan, "patients"), _records(plan, "lab_cases")
    assert persons["P1"].record.custom["lab_case_status"] == "Returned" and "lab_case_status" not in persons["P2"].record.custom
    assert acts["L2"].record.fields == {"subject": "Lab case at Acme Lab: expected back 02/14/2025",
                                        "due_date": "2025-02-01", "type": "lab_case"}
    assert acts["L1"].links["person_id"] == ("patients", "P1")


def test_recall_becomes_an_opportunity_carrying_the_recall_date(dos_snapshot):
    plan = build_plan(dos_snapshot, _template())
    opps = _records(plan, "recalls", "opportunity")
    rc = dos_snapshot["recalls"]
    assert set(opps) == set(rc.RecallID)
    for _, row in rc.iterrows():
        o = opps[row.RecallID]
        assert o.record.fields["name"] == f"{row.RecallType} recall"
        assert o.record.custom.get("recall_date") == parse_dates(pd.Series([row.DueDate]))[0].dt.strftime("%Y-%m-%d")[0] \
            or pd.isna(parse_dates(pd.Series([row.DueDate]))[0][0])
        assert o.pipeline[0] == "Recall" and o.links["contactId"] == ("patients", row.PatientID)


def test_referral_sources_become_primary_and_secondary_tags_plus_a_custom_field(dos_snapshot):
    plan = build_plan(dos_snapshot, _template())
    names = dos_snapshot["referral_sources"].set_index("ReferralSourceID").Name
    contacts = _records(plan, "patients", "contact")
    pts = dos_snapshot["patients"].set_index("PatientID")
    both = pts[pts.ReferralSourceID.notna() & pts.SecondaryReferralSourceID.notna()]
    assert len(both)
    for pid, row in pts.iterrows():
        if pid not in contacts or pd.isna(row.ReferralSourceID):
            continue
        rec = contacts[pid].record
        assert rec.custom["referral_source"] == names[row.ReferralSourceID]
        assert rec.tags[0] == f"Referral: {names[row.ReferralSourceID]}"
        if pd.notna(row.SecondaryReferralSourceID):
            assert rec.tags[1] == f"Secondary referral: {names[row.SecondaryReferralSourceID]}"


def test_several_referral_sources_in_one_cell_split_into_primary_and_secondary_tags():
    snap = _snap(patients=[{"PatientID": "P1", "Referral": "Google; Dr. Smith; Mailer"}, {"PatientID": "P2", "Referral": "Friend"}])
    spec = _spec("highlevel", [{"source": "patients", "target": "contact", "key": "PatientID", "fields": [
        {"source": "Referral", "target": "tags", "split": ";", "item": 0, "format": "referral: {}"},
        {"source": "Referral", "target": "tags", "split": ";", "item": "rest", "format": "referral (secondary): {}"},
        {"source": "Referral", "target": "custom:referral_source", "type": "text", "split": ";", "item": 0}]}])
    recs = _records(build_plan(snap, spec), "patients")
    assert recs["P1"].record.tags == ["referral: Google", "referral (secondary): Dr. Smith", "referral (secondary): Mailer"]
    assert recs["P1"].record.custom["referral_source"] == "Google"
    assert recs["P2"].record.tags == ["referral: Friend"]


# --- value maps, pipelines and stages ---------------------------------------------------------
def test_pick_lists_map_value_by_value(dos_snapshot):
    contacts = _records(build_plan(dos_snapshot, _template()), "patients", "contact")
    g = dos_snapshot["patients"].set_index("PatientID").Gender
    for pid, rec in contacts.items():
        if pd.notna(g[pid]):
            assert rec.record.custom["gender"] == {"M": "Male", "F": "Female", "U": "Unknown"}[g[pid]]


def test_stage_maps_generated_from_the_exports_values_with_a_configurable_fallback(dos_snapshot):
    tp = dos_snapshot["treatment_plans"]
    rule = pipeline_maps(tp, "Status", name="Treatment", existing={"Treatment": ["proposed", "ACCEPTED", "Completed"]},
                         fallback="Needs a human")
    assert rule["stage"]["map"] == {"Accepted": "ACCEPTED", "Completed": "Completed", "Declined": "Needs a human",
                                    "In Progress": "Needs a human", "Proposed": "proposed"}
    spec = _spec("highlevel", [{"source": "treatment_plans", "target": "opportunity", "key": "PlanID", "pipeline": rule,
                                "fields": [{"source": "Description", "target": "name"}]}])
    plan = build_plan(dos_snapshot, spec)
    recs = _records(plan, "treatment_plans")
    for _, row in tp.iterrows():
        r = recs[row.PlanID]
        assert r.pipeline == ("Treatment", rule["stage"]["map"][row.Status])
        assert any("has no mapping" in f for f in r.flags) == (row.Status in {"Declined", "In Progress"})
    assert plan.pipelines["Treatment"] <= {"ACCEPTED", "Completed", "proposed", "Needs a human"}


def test_without_a_fallback_unmapped_stages_go_to_review_required():
    snap = _snap(cases=[{"CaseID": "K1", "Stage": "Consult"}, {"CaseID": "K2", "Stage": "Mystery"}])
    spec = _spec("highlevel", [{"source": "cases", "target": "opportunity", "key": "CaseID", "fields": [
        {"source": "CaseID", "target": "name"}], "pipeline": {"name": "Cases", "stage": {"column": "Stage", "map": {"Consult": "Consult"}}}}])
    recs = _records(build_plan(snap, spec), "cases")
    assert recs["K2"].pipeline == ("Cases", "Unmapped — Review Required") and recs["K1"].pipeline == ("Cases", "Consult")


def test_pipeline_to_pipeline_and_per_pipeline_stage_maps_with_stage_probability():
    snap = _snap(cases=[{"CaseID": "K1", "CaseType": "Ortho", "Stage": "Records Taken", "Probability": "40%"},
                        {"CaseID": "K2", "CaseType": "Perio", "Stage": "Records Taken", "Probability": "25"},
                        {"CaseID": "K3", "CaseType": "Restorative", "Stage": "Treatment Plan Sent", "Probability": ""},
                        {"CaseID": "K4", "CaseType": "Ortho", "Stage": "Lost Touch", "Probability": "5"}])
    rule = pipeline_maps(snap["cases"], "Stage", pipeline_column="CaseType")
    rule["map"]["Ortho"] = "Orthodontics"
    rule["stage"]["maps"]["Orthodontics"] = rule["stage"]["maps"].pop("Ortho")
    rule["stage"]["maps"]["Orthodontics"]["Lost Touch"] = "Unmapped — Review Required"
    rule["stage"]["probability"] = {"field": "stage_probability", "values": {"Records Taken": 30, "Treatment Plan Sent": 60}}
    spec = _spec("highlevel", [{"source": "cases", "target": "opportunity", "key": "CaseID", "pipeline": rule, "fields": [
        {"source": "CaseID", "target": "name"},
        {"source": "Probability", "target": "custom:probability", "type": "number", "transform": "percent"}]}])
    plan = build_plan(snap, spec)
    recs = _records(plan, "cases")
    assert recs["K1"].pipeline == ("Orthodontics", "Records Taken") and recs["K2"].pipeline == ("Perio", "Records Taken")
    assert recs["K3"].pipeline == ("Restorative", "Treatment Plan Sent")
    assert recs["K4"].pipeline == ("Orthodontics", "Unmapped — Review Required")
    assert recs["K1"].record.custom["stage_probability"] == 30.0 and recs["K3"].record.custom["stage_probability"] == 60.0
    assert recs["K1"].record.custom["probability"] == 40.0 and recs["K2"].record.custom["probability"] == 25.0
    assert ("stage_probability", "number") in {(c.key, c.type) for c in plan.custom_fields}
    assert set(plan.pipelines) == {"Orthodontics", "Perio", "Restorative"}


# --- field shapes -----------------------------------------------------------------------------
def test_multi_select_becomes_comma_separated_text_where_the_destination_has_none():
    snap = _snap(companies=[{"CompanyID": "A1", "Name": "Smile Co", "Services": "Ortho;Implants|Whitening"}])
    fields = [{"source": "Name", "target": "name"},
              {"source": "Services", "target": "custom:services", "type": "multiple_options",
               "options": ["Ortho", "Implants", "Whitening"]}]
    plan = build_plan(snap, _spec("highlevel", [{"source": "companies", "target": "company", "key": "CompanyID",
                                                 "fields": fields}]))
    assert _records(plan, "companies")["A1"].record.custom["services"] == "Ortho, Implants, Whitening"
    assert [c.type for c in plan.custom_fields if c.key == "services"] == ["text"] and plan.notes
    # an account whose plan has multi-select keeps it
    kept = build_plan(snap, _spec("highlevel", [{"source": "companies", "target": "company", "key": "CompanyID",
                                                 "fields": fields}], params={"multi_select": ["company"]}))
    assert [c.type for c in kept.custom_fields if c.key == "services"] == ["multiple_options"]


def test_original_create_and_modify_times_land_in_custom_datetime_fields(dos_snapshot):
    plan = build_plan(dos_snapshot, _template())
    pts = dos_snapshot["patients"].set_index("PatientID")
    types = {c.key: c.type for c in plan.custom_fields if c.object == "contact"}
    assert types["original_created"] == types["original_modified"] == "datetime"
    for pid, r in _records(plan, "patients", "contact").items():
        want = parse_dates(pd.Series([pts.CreatedDate[pid]]))[0][0]
        if pd.notna(want):
            assert r.record.custom["original_created"] == want.strftime("%Y-%m-%dT%H:%M:%S")


def test_every_record_carries_its_source_id(dos_snapshot):
    plan = build_plan(dos_snapshot, _template())
    for o in plan.objects:
        assert all(r.record.custom[SOURCE_ID_FIELD] == r.source_key for r in o.records)
    assert {c.object for c in plan.custom_fields if c.key == SOURCE_ID_FIELD} == {o.target for o in plan.objects}


def test_contacts_without_email_are_flagged_for_manual_review(dos_snapshot):
    contacts = _records(build_plan(dos_snapshot, _template()), "patients", "contact")
    pts = dos_snapshot["patients"].set_index("PatientID")
    for pid, r in contacts.items():
        flagged = any("no email address" in f for f in r.flags)
        assert flagged == pd.isna(pts.Email[pid]) and (("review: no email" in r.record.tags) == flagged)


# --- carriers and company hierarchies ---------------------------------------------------------
def test_carrier_spellings_cluster_to_the_generators_canonical_names(dos_export, dos_snapshot):
    import json

    truth = json.loads((dos_export / "ground_truth.json").read_text())
    variants = [d for d in truth["defects"] if d["kind"] == "carrier_variant"]
    carriers = dos_snapshot["insurance"]["Carrier"]
    table = carrier_table(carriers).set_index("spelling")
    for d in variants:
        canonical = d["canonical"]
        if canonical in table.index:
            assert table.canonical[d["value"]] == table.canonical[canonical], d
    assert table.records.sum() == carriers.notna().sum()


def test_unitedhealthcare_and_united_concordia_never_merge():
    from toolkit.sources._synth_dental import CARRIER_VARIANTS

    uhc = ["UnitedHealthcare Dental", *CARRIER_VARIANTS["UnitedHealthcare Dental"]]
    ucci = ["United Concordia", *CARRIER_VARIANTS["United Concordia"]]
    vmap = carrier_value_map(pd.Series(uhc + ucci + ["United"]))
    canon = lambda s: vmap.get(s, s)  # noqa: E731
    assert len({canon(s) for s in uhc}) == 1 and len({canon(s) for s in ucci}) == 1
    assert {canon(s) for s in uhc}.isdisjoint({canon(s) for s in ucci})
    assert canon("United") == "United"  # ambiguous: left as typed, for a person to decide


def test_circular_company_parents_collapse_flat_with_the_broken_link_kept():
    snap = _snap(companies=[{"CompanyID": "A", "Name": "Group", "ParentID": pd.NA},
                            {"CompanyID": "B", "Name": "North", "ParentID": "A"},
                            {"CompanyID": "C", "Name": "Loop 1", "ParentID": "D"},
                            {"CompanyID": "D", "Name": "Loop 2", "ParentID": "C"},
                            {"CompanyID": "E", "Name": "Self", "ParentID": "E"},
                            {"CompanyID": "F", "Name": "Under loop", "ParentID": "C"}])
    spec = _spec("highlevel", [{"source": "companies", "target": "company", "key": "CompanyID",
                                "hierarchy": {"parent": "ParentID", "link": "parentId", "keep_broken_in": "circular_parent"},
                                "fields": [{"source": "Name", "target": "name"}]}])
    plan = build_plan(snap, spec)
    recs = _records(plan, "companies")
    assert recs["B"].links == {"parentId": ("companies", "A")} and recs["F"].links == {"parentId": ("companies", "C")}
    for k, parent in (("C", "D"), ("D", "C"), ("E", "E")):
        assert "parentId" not in recs[k].links
        assert recs[k].record.custom["circular_parent"] == parent
        assert any("circular parent chain" in f for f in recs[k].flags)
    assert "circular_parent" not in recs["B"].record.custom
    assert ("circular_parent", "text") in {(c.key, c.type) for c in plan.custom_fields}


def test_a_rule_naming_a_missing_column_or_parameter_is_a_clear_error(dos_snapshot):
    spec = _spec("pipedrive", [{"source": "patients", "target": "lead", "key": "PatientID", "where": "Nope > 1",
                                "fields": [{"source": "LastName", "target": "name"}]}])
    with pytest.raises(MappingError, match="patients -> lead: rule `Nope > 1`"):
        build_plan(dos_snapshot, spec)
    with pytest.raises(MappingError, match="collect names object 'lab_cases'"):
        build_plan(dos_snapshot, _spec("pipedrive", [{"source": "patients", "target": "person", "key": "PatientID", "fields": [
            {"target": "custom:x", "type": "text", "collect": {"object": "lab_cases", "column": "Status"}}]}]))


def test_a_practices_own_custom_fields_become_typed_custom_fields(dos_snapshot):
    plan = build_plan(dos_snapshot, _template())
    defs = dos_snapshot["custom_fields"]
    declared = {c.key: c for c in plan.custom_fields if c.object == "contact"}
    types = {"Text": "text", "YesNo": "checkbox", "Pick": "single_option", "Date": "date"}
    for _, d in defs.iterrows():
        key = d.Name.lower().replace(" ", "_")
        assert declared[key].type == types.get(d.DataType, declared[key].type) and declared[key].name == d.Name
    vals = dos_snapshot["patient_custom_values"].merge(defs, on="FieldID")
    contacts = _records(plan, "patients", "contact")
    checked = 0
    for _, v in vals.iterrows():
        if v.PatientID in contacts and v.DataType == "Text":
            assert contacts[v.PatientID].record.custom[v.Name.lower().replace(" ", "_")] == v.Value
            checked += 1
    assert checked


def test_appointments_become_an_opportunity_and_a_calendar_event(dos_snapshot):
    plan = build_plan(dos_snapshot, _template())
    ap = dos_snapshot["appointments"].set_index("AppointmentID")
    opps, events = _records(plan, "appointments", "opportunity"), _records(plan, "appointments", "event")
    assert set(opps) == set(events) == set(ap.index)
    codes = next(c for c in plan.custom_fields if c.object == "opportunity" and c.key == "procedure_code")
    assert codes.type == "single_option" and set(codes.options) == set(ap.ProcedureCode.dropna())
    for aid, e in list(events.items())[:30]:
        row = ap.loc[aid]
        start = pd.Timestamp(e.record.fields["startTime"])
        assert start.strftime("%H:%M") == row.AptTime
        assert pd.Timestamp(e.record.fields["endTime"]) - start == pd.Timedelta(minutes=int(row.DurationMin))
        assert opps[aid].pipeline[0] == "Appointments"
        assert opps[aid].pipeline[1] == (row.Status if row.Status != "Broken" else "Unmapped — Review Required")


def test_an_excluded_route_accounts_for_its_records_with_the_reason(dos_snapshot):
    spec = _template()
    spec.object("insurance").extra.update(status="excluded", reason="carrier list not agreed yet")
    plan = build_plan(dos_snapshot, spec)
    left = [(o, k, why) for o, k, why in plan.excluded if o == "insurance"]
    assert len(left) == len(dos_snapshot["insurance"]) and "is excluded: carrier list not agreed yet" in left[0][2]
    assert all(o.source_object != "insurance" for o in plan.objects)


def test_the_template_loads_every_custom_object_route_with_typed_fields(dos_snapshot):
    plan = build_plan(dos_snapshot, _template())
    routes = {o.target: o for o in plan.objects if o.target.startswith("custom_object:")}
    assert set(routes) == {f"custom_object:{n}" for n in
                           ("insurance_record", "treatment_plan", "clinical_note", "patient_ledger", "insurance_claim")}
    for target, op in routes.items():
        table = dos_snapshot[op.source_object]
        assert len(op.records) == len(table), target
        assert all(set(r.links) == {"contactId"} and r.links["contactId"][0] == "patients" for r in op.records)
        fields = {cf.key: cf for cf in plan.custom_fields if cf.object == target}
        assert "source_id" in fields and all(cf.type for cf in fields.values())
    claims = {r.source_key: r for r in routes["custom_object:insurance_claim"].records}
    row = dos_snapshot["claims"].iloc[0]
    assert claims[str(row.ClaimID)].record.fields == {"claim_id": str(row.ClaimID)}
