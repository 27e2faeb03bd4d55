"""The engine through the Destination seam, against a CRM behind httpx.MockTransport: load order,
links and their failures, lost responses, concurrency, files, a spent quota, rollback."""

import hashlib
import json

import pytest
from fake_crm import FakeCRM, FakeDestination

from toolkit import ConfigError, CustomField, Engine, Ledger, Record, User
from toolkit.load.attachments import LINK_FIELD
from toolkit.mapping import ObjectPlan, Plan, PlannedRecord
from toolkit.load.owner_resolution import resolve_owners
from toolkit.load.rollback import rollback

USERS = [User("u1", "office@practice.example"), User("u2", "dr@practice.example")]


def rec(obj, key, target, fields=None, links=None, owner="dr@practice.example", skip=None, custom=None):
    pr = PlannedRecord(obj, key, Record(target, dict(fields or {}), {"source_id": key, **(custom or {})}),
                       owner_email=owner, links=links or {}, skip_reason=skip)
    pr.content_hash = hashlib.sha1(json.dumps([fields, custom, links, owner, skip], sort_keys=True).encode()).hexdigest()
    return pr


def plan(*ops):
    targets = dict.fromkeys(op.target for op in ops)
    return Plan("src", "fake", list(ops), [], [CustomField("source_id", "Source ID", "text", t) for t in targets], {}, {})


def owners():
    return resolve_owners({"dr@practice.example": 1}, USERS, "office@practice.example")


@pytest.fixture
def crm():
    return FakeCRM()


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite") as led:
        yield led


def companies_and_contacts():
    companies = ObjectPlan("accounts", "company", [
        rec("accounts", "A3", "company", {"name": "Clinic 3"}, {"parentId": ("accounts", "A2")}),
        rec("accounts", "A2", "company", {"name": "Clinic 2"}, {"parentId": ("accounts", "A1")}),
        rec("accounts", "A1", "company", {"name": "Group"}),
    ])
    contacts = ObjectPlan("patients", "contact", [
        rec("patients", f"P{i}", "contact", {"firstName": f"N{i}"}, {"companyId": ("accounts", f"A{1 + i % 3}")})
        for i in range(12)])
    return companies, contacts


@pytest.mark.parametrize("workers", [1, 4])
def test_parents_load_first_and_every_link_resolves(crm, ledger, workers):
    companies, contacts = companies_and_contacts()
    # listed contacts-first and children-first: the engine orders by the adapter and by links
    result = Engine(FakeDestination(crm), ledger, progress=False, workers=workers).run(plan(contacts, companies), owners())
    assert result.status == "finished" and result.counts == {"created": 15}
    posts = [p for m, p in crm.calls if m == "POST" and p.startswith("/records/")]
    assert posts[:3] == ["/records/company"] * 3 and set(posts[3:]) == {"/records/contact"}
    by_sid = {r["custom"]["source_id"]: r for t in crm.records.values() for r in t.values()}
    assert by_sid["A3"]["links"]["parentId"] == by_sid["A2"]["id"]
    assert by_sid["A2"]["links"]["parentId"] == by_sid["A1"]["id"]
    assert by_sid["P4"]["links"]["companyId"] == by_sid["A2"]["id"]
    assert all(r["owner_id"] == "u2" for r in by_sid.values())


def test_a_dependent_of_a_failed_or_missing_record_says_why(crm, ledger):
    crm.reject.add("P2")
    contacts = ObjectPlan("patients", "contact", [rec("patients", "P1", "contact"), rec("patients", "P2", "contact"),
                                                  rec("patients", "P3", "contact", skip="deceased patient")])
    deals = ObjectPlan("recalls", "opportunity", [
        rec("recalls", f"R{k}", "opportunity", {"name": "x"}, {"contactId": ("patients", k)}) for k in ("P1", "P2", "P3", "P9")])
    result = Engine(FakeDestination(crm), ledger, progress=False).run(plan(contacts, deals), owners())
    fates = ledger.fates()
    assert fates[("recalls", "RP1")][0] == "created"
    assert fates[("recalls", "RP2")] == ("error", "its patients P2 was not migrated (error: HTTP 422: rejected: invalid phone)")
    assert fates[("recalls", "RP3")] == ("skipped", "its patients P3 was skipped (deceased patient)")
    assert fates[("recalls", "RP9")] == ("error", "its patients P9 does not exist in the source (broken reference)")
    assert result.counts == {"created": 2, "error": 3, "skipped": 2}
    assert len(crm.records["opportunity"]) == 1


def test_a_circular_parent_chain_is_reported_not_looped(crm, ledger):
    companies = ObjectPlan("accounts", "company", [
        rec("accounts", "A1", "company", links={"parentId": ("accounts", "A2")}),
        rec("accounts", "A2", "company", links={"parentId": ("accounts", "A1")}),
        rec("accounts", "A3", "company")])
    Engine(FakeDestination(crm), ledger, progress=False).run(plan(companies), owners())
    fates = ledger.fates()
    assert fates[("accounts", "A3")][0] == "created"
    assert "circular" in fates[("accounts", "A1")][1] and fates[("accounts", "A1")][0] == "error"


def test_a_create_whose_response_was_lost_is_found_not_made_twice(crm, ledger):
    crm.lose_response = {"P1", "P3"}
    crm.fail_next = 2  # and two 503s on top
    contacts = ObjectPlan("patients", "contact", [rec("patients", f"P{i}", "contact") for i in range(5)])
    result = Engine(FakeDestination(crm), ledger, progress=False, sleep=lambda s: None).run(plan(contacts), owners())
    sids = sorted(r["custom"]["source_id"] for r in crm.records["contact"].values())
    assert sids == ["P0", "P1", "P2", "P3", "P4"]
    assert result.counts == {"created": 5}
    assert result.retries["connection"] == 2 and result.retries["5xx"] == 2


def test_a_spent_quota_pauses_cleanly_and_the_next_run_resumes(crm, ledger):
    crm.quota = 4
    contacts = ObjectPlan("patients", "contact", [rec("patients", f"P{i}", "contact") for i in range(10)])
    dest = FakeDestination(crm)
    first = Engine(dest, ledger, progress=False, workers=3).run(plan(contacts), owners())
    assert first.status == "paused" and first.resume_at == "2030-01-01T00:00:00Z"
    assert "run the same command again after 2030-01-01T00:00:00Z" in first.message
    assert ledger.pending() == []
    crm.quota = None
    second = Engine(dest, ledger, progress=False, workers=3).run(plan(contacts), owners())
    assert second.status == "finished"
    assert second.counts == {"unchanged": 4, "created": 6}
    assert sorted(r["custom"]["source_id"] for r in crm.records["contact"].values()) == [f"P{i}" for i in range(10)]


def test_an_interrupted_create_is_settled_by_source_id(crm, ledger):
    contacts = ObjectPlan("patients", "contact", [rec("patients", "P1", "contact"), rec("patients", "P2", "contact")])
    dest = FakeDestination(crm)
    Engine(dest, ledger, progress=False).provisioning.provision(plan(contacts), "crashed")
    # the process died after the create reached the CRM and before its outcome was journaled
    seq = ledger.intent("crashed", "create", source_object="patients", source_key="P1", dest_object="contact",
                        content_hash="h")
    dest.create(contacts.records[0].record)
    result = Engine(dest, ledger, progress=False).run(plan(contacts), owners())
    assert ledger.pending() == [] and result.status == "finished"
    assert sorted(r["custom"]["source_id"] for r in crm.records["contact"].values()) == ["P1", "P2"]
    assert any(e.intent_seq == seq and e.reason.startswith("settled on resume") for e in ledger.journal())


def test_no_fallback_user_refuses_before_anything_is_journaled(crm, ledger):
    contacts = ObjectPlan("patients", "contact", [rec("patients", "P1", "contact", owner="gone@x.example")])
    res = resolve_owners({"gone@x.example": 1}, USERS)
    with pytest.raises(ConfigError, match=r"gone@x.example \(1 records\)"):
        Engine(FakeDestination(crm), ledger, progress=False).run(plan(contacts), res)
    assert ledger.runs() == [] and crm.calls == []


@pytest.mark.parametrize("read_before", [False, True])
def test_rolling_back_an_update_restores_the_values_before_it(crm, ledger, read_before):
    dest = FakeDestination(crm)
    v1 = ObjectPlan("patients", "contact", [rec("patients", "P1", "contact", {"firstName": "Ann", "city": "Oslo"}),
                                             rec("patients", "P2", "contact", {"firstName": "Bo"})])
    Engine(dest, ledger, progress=False, read_before=read_before).run(plan(v1), owners())
    after_full = json.loads(json.dumps(crm.records))
    v2 = ObjectPlan("patients", "contact", [rec("patients", "P1", "contact", {"firstName": "Anne", "phone": "+15550001"}),
                                             rec("patients", "P2", "contact", {"firstName": "Bo"}),
                                             rec("patients", "P3", "contact", {"firstName": "Cy"})])
    second = Engine(dest, ledger, progress=False, read_before=read_before).run(plan(v2), owners(), mode="delta")
    assert second.counts == {"updated": 1, "unchanged": 1, "created": 1}
    p1 = next(r for r in crm.records["contact"].values() if r["custom"]["source_id"] == "P1")
    assert p1["fields"] == {"firstName": "Anne", "city": "Oslo", "phone": "+15550001"}
    done = rollback(dest, ledger, progress=False)
    assert done.of_run == second.run_id and done.counts == {"deleted": 1, "restored": 1}
    assert crm.records == after_full
    assert ledger.fates()[("patients", "P1")][0] == "created"
    assert ("patients", "P3") in ledger.fates() and ledger.fates()[("patients", "P3")][0] == "rolled back"
    # the delta's changes are due again: the next run writes them
    third = Engine(dest, ledger, progress=False, read_before=read_before).run(plan(v2), owners(), mode="delta")
    assert third.counts == {"updated": 1, "unchanged": 1, "created": 1}


def test_rollback_refuses_a_run_with_later_runs_on_top(crm, ledger):
    dest = FakeDestination(crm)
    contacts = ObjectPlan("patients", "contact", [rec("patients", "P1", "contact")])
    first = Engine(dest, ledger, progress=False).run(plan(contacts), owners())
    Engine(dest, ledger, progress=False).run(plan(contacts), owners(), mode="delta")
    with pytest.raises(ConfigError, match="later runs on top"):
        rollback(dest, ledger, first.run_id, progress=False)


def test_files_upload_under_the_limit_and_stay_as_links_over_it(crm, ledger, tmp_path):
    docs = tmp_path / "export" / "documents"
    docs.mkdir(parents=True)
    (docs / "small.pdf").write_bytes(b"%PDF" + b"x" * 100)
    (docs / "large.jpg").write_bytes(b"\xff\xd8" + b"x" * 20_000)
    (docs / "declared.pdf").write_bytes(b"%PDF" + b"x" * 50)
    contacts = ObjectPlan("patients", "contact", [rec("patients", "P1", "contact", {"firstName": "Ann"})])
    files = ObjectPlan("documents", "file", [
        rec("documents", "D1", "file", {"path": "documents/small.pdf", "name": "small.pdf"}, {"contactId": ("patients", "P1")}),
        rec("documents", "D2", "file", {"path": "documents/large.jpg", "name": "large.jpg"}, {"contactId": ("patients", "P1")}),
        rec("documents", "D3", "file", {"path": "documents/declared.pdf", "size": "31000000"}, {"contactId": ("patients", "P1")}),
        rec("documents", "D4", "file", {"path": "documents/gone.pdf"}, {"contactId": ("patients", "P1")}),
    ])
    dest = FakeDestination(crm)
    before = json.loads(json.dumps(crm.records))
    result = Engine(dest, ledger, progress=False, files_root=tmp_path / "export").run(plan(files, contacts), owners())
    uploaded = list(crm.records["file"].values())
    assert [f["fields"]["name"] for f in uploaded] == ["small.pdf"] and uploaded[0]["fields"]["bytes"] == 104
    assert {f["source_key"] for f in result.files_as_links} == {"D2", "D3"}
    contact = next(iter(crm.records["contact"].values()))
    kept = contact["custom"][LINK_FIELD].splitlines()
    assert kept == ["documents/large.jpg (0.0 MB)", "documents/declared.pdf (31.0 MB)"]
    fates = ledger.fates()
    assert fates[("documents", "D2")][0] == "merged" and "kept as a link" in fates[("documents", "D2")][1]
    assert fates[("documents", "D4")] == ("error", "file documents/gone.pdf is not in the export")
    # the contact keeps its own fields; a rollback removes the upload, the contact and the fields
    assert contact["fields"] == {"firstName": "Ann"}
    rollback(dest, ledger, progress=False)
    assert {k: v for k, v in crm.records.items() if v} == {k: v for k, v in before.items() if v} and not crm.fields


def test_the_progress_bar_says_which_limit_the_run_waits_on():
    from toolkit.load.engine import _Status

    class Limiter:
        wait_reason = "burst limit: 97 requests per 10 s"

    class Bar:
        disable, text = False, None

        def set_postfix_str(self, text, refresh=True):
            self.text = text

    limiter, bar = Limiter(), Bar()
    status = _Status(limiter)
    status.show(bar)
    assert bar.text == "waiting on burst limit: 97 requests per 10 s"
    limiter.wait_reason = None
    status.show(bar)  # a wait just ended: still on screen for a moment
    assert bar.text.startswith("waiting on burst limit")
    status.until = 0
    status.show(bar)
    assert bar.text == ""


def test_pace_sets_the_share_of_the_quota_the_shared_limiter_uses(crm, ledger):
    from toolkit.destinations.ratelimit import RateLimiter

    dest = FakeDestination(crm)
    dest.limiter = RateLimiter(max_requests=100, interval=10)
    Engine(dest, ledger, progress=False, pace=0.97)
    assert dest.limiter.budget == 97


class BulkFake(FakeDestination):
    """An adapter with a bulk create (as Freshsales' bulk upsert) for contacts."""

    features = frozenset({"bulk_create"})
    bulk_objects = frozenset({"contact"})

    def create_many(self, records):
        self.crm.calls.append(("BULK", f"{len(records)} {records[0].object}"))
        out = []
        for rec in records:
            try:
                out.append(self.create(rec))
            except Exception as exc:  # noqa: BLE001 - a record-level rejection comes back in its slot
                out.append(exc)
        return out


def test_objects_the_destination_bulk_creates_go_in_batches_of_100(crm, ledger):
    crm.reject.add("P7")
    contacts = ObjectPlan("patients", "contact", [rec("patients", f"P{i}", "contact") for i in range(230)])
    deals = ObjectPlan("recalls", "opportunity", [rec("recalls", f"R{i}", "opportunity", {"name": "x"},
                                                      {"contactId": ("patients", f"P{i}")}) for i in range(3)])
    result = Engine(BulkFake(crm), ledger, progress=False, workers=3).run(plan(contacts, deals), owners())
    assert [c for c in crm.calls if c[0] == "BULK"] == [("BULK", "100 contact"), ("BULK", "100 contact"),
                                                          ("BULK", "30 contact")]
    assert result.counts == {"created": 232, "error": 1}
    assert ledger.fates()[("patients", "P7")] == ("error", "HTTP 422: rejected: invalid phone")
    assert len(ledger.id_map("patients")) == 229 and ledger.pending() == []


class PipelineFake(FakeDestination):
    """An adapter that can create pipelines and stages (as Pipedrive's)."""

    features = frozenset({"create_pipelines"})

    def ensure_pipeline(self, name, stages):
        pipe = next((p for p in self.crm.pipelines if p["name"] == name), None)
        if pipe is None:
            pipe = {"id": f"p{len(self.crm.pipelines) + 1}", "name": name, "stages": []}
            self.crm.pipelines.append(pipe)
        for s in stages:
            if not any(x["name"] == s for x in pipe["stages"]):
                pipe["stages"].append({"id": f"{pipe['id']}s{len(pipe['stages'])}", "name": s})
        return next(p for p in self.list_pipelines() if p.name == name)


def test_missing_pipelines_are_created_where_the_destination_can_and_refused_where_not(crm, ledger):
    deal = rec("recalls", "R1", "opportunity", {"name": "x"}, {"contactId": ("patients", "P1")})
    deal.pipeline = ("Treatment", "Accepted")
    contacts = ObjectPlan("patients", "contact", [rec("patients", "P1", "contact")])
    deals = ObjectPlan("recalls", "opportunity", [deal], ("pipelineId", "pipelineStageId"))
    the_plan = plan(contacts, deals)
    the_plan.pipelines = {"Treatment": {"Accepted"}}
    with pytest.raises(ConfigError, match="pipeline 'Treatment' does not exist"):
        Engine(FakeDestination(crm), ledger, progress=False).run(the_plan, owners())
    result = Engine(PipelineFake(crm), ledger, progress=False).run(the_plan, owners())
    assert result.counts == {"created": 2}
    made = next(p for p in crm.pipelines if p["name"] == "Treatment")
    assert [s["name"] for s in made["stages"]] == ["Accepted", "Unmapped — Review Required"]
    opp = next(iter(crm.records["opportunity"].values()))
    assert opp["fields"]["pipelineStageId"] == made["stages"][0]["id"]
    undone = rollback(PipelineFake(crm), ledger, progress=False)
    assert undone.left[0]["object"] == "pipeline" and undone.status == "finished"


def test_custom_objects_are_made_before_their_records_and_left_on_rollback(crm, ledger):
    class ObjectsFake(FakeDestination):
        undeletable = frozenset({"custom_object_schema"})
        features = frozenset({"custom_objects"})
        made: list = []

        def ensure_custom_object(self, key, singular, plural, primary_field):
            self.made.append((key, singular, plural, primary_field))
            return f"custom_objects.{key}"

    dest = ObjectsFake(crm)
    claims = ObjectPlan("claims", "custom_object:insurance_claim", [rec("claims", "C1", "custom_object:insurance_claim")])
    schema = {"insurance_claim": {"singular": "Insurance Claim", "plural": "Insurance Claims", "primary_field": "claim"}}
    result = Engine(dest, ledger, progress=False).run(plan(claims), owners(), custom_objects=schema)
    assert result.counts == {"created": 1} and dest.made == [("insurance_claim", "Insurance Claim", "Insurance Claims", "claim")]
    undone = rollback(dest, ledger, progress=False)
    assert [x["object"] for x in undone.left] == ["custom_object_schema"] and not crm.records["custom_object:insurance_claim"]
