"""The EXACT -> HighLevel brief, row by row: an Exact Online division read over its API (OAuth,
rate limits) from the EXACT sandbox, loaded into the HighLevel sandbox by the pair's template."""

from __future__ import annotations

import pytest
from brief_pair import custom_values, run_pair

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return run_pair(tmp_path_factory.mktemp("exact-hl"), "exact", "highlevel", patients=25)


def test_contacts_with_their_custom_fields_and_review_flags(run):
    cf = run.state["customFields"]
    values = [custom_values(c, cf) for c in run.state["contacts"]]
    assert run.share_moved("contacts") >= 0.85
    assert any(v.get("referring_dentist") or v.get("payment_plan") for v in values)
    src = run.tables["contacts"].set_index("ID")
    no_email = [c for c, v in zip(run.state["contacts"], values) if src.Email.isna().get(v["source_id"], False)]
    assert no_email and all("review: no email" in c.get("tags", []) for c in no_email)


def test_companies_with_name_domain_industry_and_employee_count(run):
    companies = run.state["businesses"]
    assert run.share_moved("accounts") >= 0.85
    props = [b["properties"] for b in companies]
    assert any(p.get("domain") for p in props) and any(p.get("industry") for p in props)
    assert any(p.get("employee_count") for p in props)
    assert all(b.get("name") for b in companies)


def test_company_hierarchy_with_circular_and_missing_parents_collapsed_and_kept_as_text(run):
    props = [b["properties"] for b in run.state["businesses"]]
    assert any(p.get("parent_company_id") for p in props)  # the hierarchy field
    kept = [p for p in props if p.get("broken_parent_link")]
    assert kept and all(not p.get("parent_company_id") for p in kept)


def test_contacts_are_linked_to_their_company(run):
    companies = {b["id"] for b in run.state["businesses"]}
    assert sum(c.get("businessId") in companies for c in run.state["contacts"]) >= 0.8 * len(run.state["contacts"])


def test_opportunities_with_stage_map_fallback_and_probability(run):
    cf = run.state["customFields"]
    opps = run.state["opportunities"]
    assert opps and all(custom_values(o, cf).get("probability") is not None for o in opps)
    assert run.share_moved("opportunities") >= 0.85
    sales = next(p for p in run.state["pipelines"] if p["name"] == "Sales")
    assert all(o["pipelineId"] == sales["id"] for o in opps)


@pytest.mark.parametrize("source, prefix", [("tasks", None), ("events", "Appointment: "), ("communication_notes", None)])
def test_activities_become_tasks_with_type_time_and_owner(run, source, prefix):
    users = {u["id"] for u in run.state["users"]}
    tasks = run.state["tasks"]
    assert run.share_moved(source) >= 0.85
    assert all(t.get("assignedTo") in users and t.get("dueDate") for t in tasks)
    assert all(":" in t["title"] for t in tasks)  # the activity type leads the title
    if prefix:
        assert any(t["title"].startswith(prefix) for t in tasks)


def test_attachments_are_re_uploaded_and_oversize_files_kept_as_links(run):
    assert run.state["media"] and run.share_moved("document_attachments") >= 0.85
    cf = run.state["customFields"]
    links = [custom_values(c, cf).get("files_kept_as_links") for c in run.state["contacts"]]
    merged_links = [r for (o, _), (f, r) in run.fates.items() if o == "document_attachments" and f == "merged"]
    assert all("kept as a link" in r for r in merged_links)
    assert bool(merged_links) == any(links)


def test_users_resolve_by_email_and_every_record_is_accounted_for(run):
    assert run.fates_of("users")["merged"] > 0
    assert run.reconcile.summary()["unaccounted"] == 0
    for obj in run.tables:
        assert not run.unexplained(obj), obj
    assert not [o for (o, _), (f, _) in run.fates.items() if f == "excluded"]


def test_the_sample_was_diffed_field_by_field(run):
    v = run.sample.verdicts()
    assert v["equal"] + v["transformed as expected"] > 0 and v["mismatch"] == 0
