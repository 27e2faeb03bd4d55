"""The Pipedrive adapter: HTTP outcomes -> typed errors, auth and pacing headers, custom-field
keys, the v1/v2 split, every object against the sandbox, the engine's pipeline hook, and (e2e)
the demo whose every request validates against the vendor spec."""

from __future__ import annotations

import json
import types

import httpx
import pytest

import crm_sandbox as sandbox
from toolkit.destinations import CustomField, DestinationConfig, Record, registry
from toolkit.destinations.pipedrive import DEFAULT_BASE_URL, Pipedrive
from toolkit.destinations.pipedrive._api import BURST_HEADERS, Pacer
from toolkit.destinations.pipedrive._fields import key_from_label, label_for
from toolkit.errors import (AuthError, ConfigError, FatalError, MappingError, NotFoundError, QuotaExhaustedError,
                            RateLimitedError, RetriableError)
from toolkit.destinations.ratelimit import RateLimiter

TOKEN = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture(autouse=True)
def token_env(monkeypatch):
    monkeypatch.setenv("PD_TEST_TOKEN", TOKEN)


def _pacer(**kw) -> Pacer:
    return Pacer("test", general=RateLimiter(max_requests=1000, **kw), search=RateLimiter(max_requests=1000))


def mock_adapter(handler, base_url: str = "", **options) -> Pipedrive:
    cfg = DestinationConfig(base_url, "PD_TEST_TOKEN", {"company_domain": "smiles", **options})
    return Pipedrive(cfg, httpx.Client(transport=httpx.MockTransport(handler)), pacer=_pacer())


def _json(status=200, body=None, headers=None):
    return lambda req: httpx.Response(status, json=body if body is not None else {"success": False, "error": "m"},
                                      headers=headers)


# --- wiring ---------------------------------------------------------------------------------------


def test_registry_resolves_the_adapter():
    assert registry.get("pipedrive") is Pipedrive


def test_sends_the_api_token_header_to_the_company_host():
    seen = []

    def handler(req: httpx.Request):
        seen.append(req)
        return httpx.Response(200, json={"success": True, "data": [{"id": 7, "email": "a@b.example", "name": "A B"}]})

    a = mock_adapter(handler)
    assert [u.id for u in a.list_users()] == ["7"]
    req = seen[0]
    assert str(req.url) == "https://smiles.pipedrive.com/api/v1/users"  # company domain (§1)
    assert req.headers["x-api-token"] == TOKEN and "authorization" not in req.headers
    assert TOKEN not in repr(a)


def test_oauth_sends_bearer_and_default_host_is_the_spec_server(monkeypatch):
    seen = []
    cfg = DestinationConfig("", "PD_TEST_TOKEN", {"auth": "oauth"})
    a = Pipedrive(cfg, httpx.Client(transport=httpx.MockTransport(
        lambda r: seen.append(r) or httpx.Response(200, json={"success": True, "data": []}))), pacer=_pacer())
    a.list_users()
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}" and "x-api-token" not in seen[0].headers
    assert str(seen[0].url).startswith(DEFAULT_BASE_URL + "/api/v1/")
    with pytest.raises(ConfigError):
        Pipedrive(DestinationConfig("", "PD_TEST_TOKEN", {"auth": "password"}), httpx.Client())


# --- errors (§2.5, §7) -------------------------------------------------------------------------------


def test_429_uses_retry_after_then_the_reset_header():
    with pytest.raises(RateLimitedError) as ei:
        mock_adapter(_json(429, headers={"Retry-After": "3"})).list_users()
    assert ei.value.retry_after == 3.0 and ei.value.status == 429
    with pytest.raises(RateLimitedError) as ei:
        mock_adapter(_json(429, headers={"x-ratelimit-reset": "2"})).list_users()
    assert ei.value.retry_after == 2.0


def test_429_with_the_daily_budget_spent_stops_cleanly():
    with pytest.raises(QuotaExhaustedError) as ei:
        mock_adapter(_json(429, headers={"x-daily-ratelimit-token-remaining": "0"})).list_users()
    assert ei.value.resume_at and ei.value.resume_at.endswith("Z")


def test_low_daily_budget_stops_before_sending():
    calls = []

    def handler(req):
        calls.append(req)
        return httpx.Response(200, json={"success": True, "data": []},
                              headers={"x-daily-ratelimit-token-remaining": "150", "x-ratelimit-limit": "40"})

    cfg = DestinationConfig("", "PD_TEST_TOKEN", {"company_domain": "smiles"})
    limiter = RateLimiter(max_requests=40, daily_limit=None, daily_reserve=200, headers=BURST_HEADERS)
    a = Pipedrive(cfg, httpx.Client(transport=httpx.MockTransport(handler)),
                  pacer=Pacer("t", general=limiter, search=RateLimiter()))
    a.list_users()
    with pytest.raises(QuotaExhaustedError):
        a.list_users()
    assert len(calls) == 1 and limiter.max_requests == 40


@pytest.mark.parametrize("status,error", [(500, RetriableError), (503, RetriableError), (401, AuthError),
                                          (403, AuthError), (404, NotFoundError), (400, FatalError)])
def test_status_maps_to_typed_error_with_the_vendor_message(status, error):
    body = {"success": False, "error": "Validation failed: title is required", "data": None}
    with pytest.raises(error) as ei:
        mock_adapter(_json(status, body)).list_pipelines()
    assert ei.value.status == status and "title is required" in str(ei.value)


def test_html_403_after_ignored_429s_is_a_rate_limit():
    page = lambda req: httpx.Response(403, text="<html>Sorry, you have been blocked</html>")  # noqa: E731
    with pytest.raises(RateLimitedError) as ei:
        mock_adapter(page).list_users()
    assert ei.value.retry_after >= 2


@pytest.mark.parametrize("exc", [httpx.ReadTimeout("slow"), httpx.ConnectError("refused"),
                                 httpx.RemoteProtocolError("dropped")])
def test_transport_failures_are_retriable(exc):
    def handler(req):
        raise exc
    with pytest.raises(RetriableError):
        mock_adapter(handler).list_users()


def test_search_responses_do_not_shrink_the_general_burst():
    pacer = Pacer("t2", general=RateLimiter(max_requests=20, headers=BURST_HEADERS),
                  search=RateLimiter(max_requests=99, headers=BURST_HEADERS))
    pacer.update(httpx.Headers({"x-ratelimit-limit": "10", "x-daily-ratelimit-token-remaining": "5000"}), search=True)
    assert pacer.search.max_requests == 10 and pacer.general.max_requests == 20
    assert pacer.general.daily_remaining == 5000


# --- custom field keys (§4) -------------------------------------------------------------------------


@pytest.mark.parametrize("name,key,label", [
    ("Source ID", "source_id", "Source ID"),
    ("Recall Interval (months)", "recall_interval_months", "Recall Interval (months)"),
    ("Patient's balance", "balance", "Patient's balance [balance]"),
])
def test_our_key_survives_the_label(name, key, label):
    assert label_for(CustomField(key, name, "text", "person")) == label
    assert key_from_label(label) == key


# --- against the sandbox ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sb():
    with sandbox.start("pipedrive", time_scale=50,
                       seed={"users": [{"email": "dr.lee@practice.example", "firstName": "Ada", "lastName": "Lee"}]}) as h:
        yield h


@pytest.fixture
def pd(sb, monkeypatch):
    sb.reset()
    monkeypatch.setenv("PD_SBX_TOKEN", sb.token)
    a = Pipedrive(DestinationConfig(sb.url, "PD_SBX_TOKEN", dict(sb.options)))
    yield a
    a.close()


def test_users_and_owner_ids(pd):
    users = pd.list_users()
    assert [u.email for u in users] == ["admin@brightsmiles-dental.example", "dr.lee@practice.example"]
    assert pd.company()["company_domain"] == "brightsmiles-sandbox"


def test_a_lead_reads_back_with_deal_fields_and_is_found_by_source_id(pd):
    pd.create_custom_field(CustomField("source_id", "Source ID", "text", "deal"))
    pd.create_custom_field(CustomField("fee", "Fee", "monetary", "lead"))
    assert {f.key for f in pd.list_custom_fields("lead")} == {"source_id", "fee"}  # leads carry deal fields
    person = pd.create(Record("person", fields={"name": "Ann Lee"}))
    rec = Record("lead", fields={"title": "Implant", "value": 3000.0}, links={"person_id": person},
                 custom={"source_id": "PL1", "fee": 99.5}, owner_id="2")
    lid = pd.create(rec)
    back = pd.get("lead", lid)
    assert back.fields == {"title": "Implant", "value": 3000.0, "currency": "USD"}
    assert back.custom == {"source_id": "PL1", "fee": 99.5} and back.owner_id == "2"
    assert back.links == {"person_id": person}
    assert pd.find_by_source_id("lead", "PL1") == lid
    with pytest.raises(FatalError, match="person or an organization"):
        pd.create(Record("lead", fields={"title": "orphan"}))


def test_link_ids_must_be_pipedrive_ids(pd):
    with pytest.raises(MappingError, match="integer"):
        pd.create(Record("deal", fields={"title": "x"}, links={"person_id": "9b1c-uuid"}))
    with pytest.raises(MappingError, match="no link"):
        pd.create(Record("deal", fields={"title": "x"}, links={"contactId": "1"}))


def test_objects_without_custom_fields_carry_the_source_id_in_their_text(pd, sb, tmp_path):
    person = pd.create(Record("person", fields={"name": "Ann Lee"}))
    assert [f.key for f in pd.list_custom_fields("note")] == ["source_id"]
    with pytest.raises(MappingError, match="no custom fields"):
        pd.create_custom_field(CustomField("mood", "Mood", "text", "note"))
    nid = pd.create(Record("note", fields={"content": "Pt presents"}, links={"person_id": person},
                           custom={"source_id": "N1"}))
    stored = next(n for n in sb.state()["notes"] if str(n["id"]) == nid)
    assert "[source_id: N1]" in stored["content"]
    pd.update(Record("note", id=nid, fields={"content": "Pt presents, no pain"}))
    back = pd.get("note", nid)
    assert back.fields["content"] == "Pt presents, no pain" and back.custom == {"source_id": "N1"}
    assert pd.find_by_source_id("note", "N1") == nid
    path = tmp_path / "DOC0000007_xray.png"
    path.write_bytes(b"\x89PNG data")
    fid = pd.create(Record("file", fields={"path": str(path)}, links={"person_id": person},
                           custom={"source_id": "DOC0000007"}))
    assert pd.get("file", fid).fields["name"] == "DOC0000007_xray.png"  # the id already leads the name
    assert pd.find_by_source_id("file", "DOC0000007") == fid


def test_activity_times_and_duration(pd):
    person = pd.create(Record("person", fields={"name": "Ann Lee"}))
    aid = pd.create(Record("activity", fields={"subject": "Cleaning", "type": "meeting", "due_date": "2024-05-01",
                                               "due_time": "9:05", "duration": 90, "done": True},
                           links={"person_id": person}))
    back = pd.get("activity", aid)
    assert back.fields["due_time"] == "09:05" and back.fields["duration"] == 90
    assert back.links == {"person_id": person}
    with pytest.raises(MappingError, match="HH:MM"):
        pd.create(Record("activity", fields={"subject": "x", "due_time": "nine"}))
    key = pd.ensure_activity_type("X-ray", "camera")
    assert pd.ensure_activity_type("x-ray") == key and pd.list_activity_types()[key] == "X-ray"


def test_ensure_pipeline_creates_what_is_missing_once(pd):
    first = pd.ensure_pipeline("Treatment", ["Proposed", "Accepted"])
    again = pd.ensure_pipeline("treatment", ["Proposed", "Accepted", "Completed"])
    assert first.id == again.id and [s.name for s in again.stages] == ["Proposed", "Accepted", "Completed"]
    assert [p.name for p in pd.list_pipelines()] == ["Pipeline", "Treatment"]


def test_engine_creates_a_missing_pipeline_through_ensure_pipeline(pd, tmp_path):
    from toolkit.load.engine import Engine
    from toolkit.load.ledger import Ledger
    from toolkit.mapping import UNMAPPED_STAGE

    plan = types.SimpleNamespace(pipelines={"Recall": {"Due", "Missed", UNMAPPED_STAGE}})
    with Ledger(tmp_path / "ledger.sqlite") as ledger:
        stages = Engine(pd, ledger, progress=False).provisioning.pipelines(plan)
    recall = next(p for p in pd.list_pipelines() if p.name == "Recall")
    assert [s.name for s in recall.stages] == ["Due", "Missed", UNMAPPED_STAGE]
    assert stages[("Recall", "Due")] == (recall.id, recall.stage("Due").id)


def test_users_cannot_be_deleted(pd):
    uid = pd.create(Record("user", fields={"email": "new.hire@practice.example"}))
    pd.update(Record("user", id=uid, fields={"active_flag": False}))
    assert pd.get("user", uid).fields["active_flag"] is False
    assert "user" in pd.undeletable
    with pytest.raises(FatalError, match="cannot be deleted"):
        pd.delete("user", uid)


# --- the demo, end to end (e2e) ------------------------------------------------------------------------


@pytest.mark.e2e
def test_demo_accounts_for_every_record_and_every_request_matches_the_vendor_spec(tmp_path):
    from toolkit import demo
    from crm_sandbox.pipedrive.validation import log_entry_errors

    out, log = tmp_path / "demo", tmp_path / "requests.jsonl"
    status = demo.run(destination="pipedrive", patients=20, seed=5, out=out, request_log=str(log), echo=lambda _: None)
    assert status == 0
    summary = json.loads((out / "workspace" / "reports" / "reconcile.json").read_text())["summary"]
    assert summary["unaccounted"] == 0
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    problems = [p for e in entries for p in log_entry_errors(e)]
    assert entries and problems == []
    assert all(e["status"] < 400 for e in entries)
    assert all(e["headers"].get("x-api-token") == "***" for e in entries)
    # the estimate, written before anything moved, promised the calls the account saw, within a tenth
    estimated = json.loads((out / "workspace" / "reports" / "estimate.json").read_text())["calls"]
    assert abs(estimated - len(entries)) <= 0.10 * len(entries), (estimated, len(entries))
    state = json.loads((out / "sandbox_state.json").read_text())
    persons = {p["id"] for p in state["persons"]}
    assert state["persons"] and state["deals"] + state["leads"] and state["activities"] and state["notes"]
    assert all(lead["person_id"] in persons for lead in state["leads"])          # §5 Leads
    # and to the person made from the same patient: lead (a treatment plan) -> its patient's person
    import pandas as pd
    from toolkit import Ledger
    with Ledger(out / "workspace" / "ledger.sqlite") as ledger:
        ids = {(o, k, d): i for o, k, d, i in ledger.mapped()}
    plans = pd.read_csv(out / "export" / "treatment_plans.csv", dtype=str, encoding="cp1252").set_index("PlanID")
    leads = {lead["id"]: lead for lead in state["leads"]}
    mine = [(k, i) for (o, k, d), i in ids.items() if (o, d) == ("treatment_plans", "lead")]
    assert mine and len(mine) == len(state["leads"])
    for plan_id, lead_id in mine:
        patient = plans.loc[plan_id, "PatientID"]
        assert str(leads[lead_id]["person_id"]) == ids[("patients", patient, "person")], plan_id
    assert all(a["person_id"] in persons for a in state["activities"])
    assert any(p["name"] == "Treatment" for p in state["pipelines"])            # created via the API
