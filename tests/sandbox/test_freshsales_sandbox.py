"""The Freshsales sandbox: auth, limits, the project's schemas, business rules, bulk jobs, files.

Most tests drive the app in-process (Starlette's TestClient); the ones about the server itself
(request log, faults, start/seed) start it on a loopback port. Every successful response is
checked against the response schemas in :mod:`crm_sandbox.freshsales.schemas`.
"""

from __future__ import annotations

import json
import time
import warnings

import pytest

with warnings.catch_warnings():  # starlette nudges towards another httpx package; this one is what we ship
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

import crm_sandbox as sandbox
from crm_sandbox.freshsales import DEFAULT_TOKEN, build, schemas

USER = 16000000101  # seeded admin (seed.json)


class Api:
    """A TestClient that checks every response against the schemas."""

    def __init__(self, built, prefix="/crm/sales/api", token=DEFAULT_TOKEN):
        self.built, self.prefix = built, prefix
        self.http = TestClient(built.app, base_url="https://brightsmiles-sandbox.myfreshworks.com")
        self.auth = {"Authorization": f"Token token={token}"}

    def call(self, method, path, *, check=True, **kw):
        kw.setdefault("headers", self.auth)
        r = self.http.request(method, self.prefix + path, **kw)
        if check and r.status_code != 429:
            body = r.json() if r.content else None
            clean = path.split("?")[0]
            problems = schemas.response_errors(method, clean, r.status_code, body) if schemas.match(method, clean) \
                else schemas.response_errors("GET", "/lookup", 400, body) if r.status_code >= 400 else []
            assert problems == [], (method, path, r.status_code, body, problems)
        return r

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, **kw):
        return self.call("POST", path, **kw)

    def put(self, path, **kw):
        return self.call("PUT", path, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)


@pytest.fixture
def api():
    return Api(build(time_scale=1000))


def _field(api, module, label, type_name, choices=()):
    body = {"label": label, "field_type": schemas.FIELD_TYPE_CODES[type_name]}
    if choices:
        body["choices"] = [{"value": c} for c in choices]
    form = api.get(f"/settings/{module}/forms").json()["forms"][0]["id"]
    r = api.post(f"/settings/{module}/forms/{form}/fields", json=body)
    assert r.status_code == 201, r.json()
    return r.json()["field"]


def _errors(r) -> str:
    return " | ".join(r.json()["errors"]["message"])


# --- auth -------------------------------------------------------------------------------------

def test_missing_and_wrong_key_are_401_in_the_vendor_shape(api):
    r = api.get("/contacts/filters", headers={})
    assert r.status_code == 401 and r.json()["errors"]["code"] == 401
    assert "Token token=" in _errors(r)
    r = api.get("/contacts/filters", headers={"Authorization": "Token token=wrong"})
    assert r.status_code == 401 and "Incorrect or expired API key" in _errors(r)
    assert api.get("/contacts/filters", headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"}).status_code == 401


def test_both_token_forms_and_both_url_layouts_are_served(api):
    assert api.get("/selector/owners", headers={"Authorization": f"Token {DEFAULT_TOKEN}"}).status_code == 200
    classic = Api(api.built, prefix="/api")
    assert classic.get("/selector/owners").status_code == 200
    r = api.http.get("/nowhere", headers=api.auth)
    assert r.status_code == 404 and r.json()["errors"]["code"] == 404


# --- schemas ----------------------------------------------------------------------------------

def test_unknown_attributes_and_routes_are_rejected(api):
    r = api.post("/contacts", json={"contact": {"first_name": "A", "favourite_colour": "teal"}})
    assert r.status_code == 400 and "favourite_colour" in _errors(r)
    r = api.post("/contacts", json={"first_name": "A"})  # not wrapped in the root key (§1)
    assert r.status_code == 400 and "first_name" in _errors(r)
    assert api.get("/contacts/view/100", params={"per_page": 101}).status_code == 400
    assert api.get("/tasks").status_code == 400  # filter is required
    assert api.get("/no_such_module/1").status_code == 404


def test_every_route_is_served_and_cited():
    assert all(route.cite for route in schemas.ROUTES)
    build()  # raises when a route in the table has no handler


def test_request_validation_reports_bodies_and_queries():
    assert schemas.request_errors("GET", "/nope") is None
    assert schemas.request_errors("POST", "/tasks", [], {"task": {"title": "x"}})  # due_date, owner… missing
    ok = {"task": {"title": "x", "due_date": "2025-01-02T09:00:00", "owner_id": 1, "targetable_type": "Contact",
                   "targetable_id": "5"}}
    assert schemas.request_errors("POST", "/tasks", [], ok) == []
    assert schemas.request_errors("GET", "/contacts/view/1", [("per_page", "500")]) != []


# --- records and rules ------------------------------------------------------------------------

def test_contact_round_trip_with_custom_fields(api):
    _field(api, "contacts", "Insurance", "dropdown", ["Delta", "Cigna"])
    _field(api, "contacts", "Balance", "currency")
    body = {"contact": {"first_name": "Lena", "email": "lena@example.com", "owner_id": USER,
                        "custom_field": {"cf_insurance": "Delta", "cf_balance": 12.5}}}
    made = api.post("/contacts", json=body)
    assert made.status_code == 201
    c = made.json()["contact"]
    assert c["custom_field"] == {"cf_insurance": "Delta", "cf_balance": 12.5}
    assert c["emails"][0]["value"] == "lena@example.com" and c["last_name"] is None
    got = api.get(f"/contacts/{c['id']}").json()["contact"]
    assert got["owner_id"] == USER
    upd = api.put(f"/contacts/{c['id']}", json={"contact": {"last_name": "Ortiz", "custom_field": {"cf_balance": None}}})
    assert upd.json()["contact"]["last_name"] == "Ortiz" and upd.json()["contact"]["custom_field"]["cf_balance"] is None
    assert api.delete(f"/contacts/{c['id']}").status_code == 204
    assert api.get(f"/contacts/{c['id']}").status_code == 404


def test_destination_rules(api):
    _field(api, "contacts", "Insurance", "dropdown", ["Delta"])
    cases = [
        ({"contact": {"custom_field": {"cf_insurance": "Aetna"}}}, "not a choice"),
        ({"contact": {"custom_field": {"cf_unknown": "x"}}}, "no such field"),
        ({"contact": {"owner_id": 42}}, "no user with id 42"),
        ({"contact": {"lifecycle_stage_id": 7}}, "not a lifecycle stage"),
        ({"contact": {"lead_source_id": 7}}, "lead_sources"),
        ({"contact": {"sales_account_id": 7}}, "no sales account"),
    ]
    for body, message in cases:
        r = api.post("/contacts", json=body)
        assert r.status_code == 400 and message in _errors(r), (body, r.json())
    api.post("/contacts", json={"contact": {"email": "twice@example.com"}})
    r = api.post("/contacts", json={"contact": {"email": "TWICE@example.com"}})
    assert r.status_code == 400 and "already exists" in _errors(r)
    api.built.state.account["required_fields"]["contacts"] = ["last_name"]  # admin-configured (§4)
    r = api.post("/contacts", json={"contact": {"first_name": "No surname"}})
    assert r.status_code == 400 and "last_name: can't be blank" in _errors(r)


def test_leads_are_contacts_with_a_lifecycle_stage(api):
    stages = {s["name"]: s["id"] for s in api.get("/selector/lifecycle_stages").json()["lifecycle_stages"]}
    statuses = api.get("/selector/contact_statuses").json()["contact_statuses"]
    new = next(s for s in statuses if s["name"] == "New")
    lead = api.post("/contacts", json={"contact": {"first_name": "P", "lifecycle_stage_id": stages["Lead"],
                                                   "contact_status_id": new["id"]}}).json()["contact"]
    customer = api.post("/contacts", json={"contact": {"first_name": "C", "lifecycle_stage_id": stages["Customer"]}})
    r = api.put(f"/contacts/{customer.json()['contact']['id']}", json={"contact": {"contact_status_id": new["id"]}})
    assert r.status_code == 400 and "not a status of this lifecycle stage" in _errors(r)
    # moving a lead to Customer drops its lead status
    moved = api.put(f"/contacts/{lead['id']}", json={"contact": {"lifecycle_stage_id": stages["Customer"]}})
    assert moved.json()["contact"]["contact_status_id"] is None
    leads_view = next(v["id"] for v in api.get("/contacts/filters").json()["filters"] if v["name"] == "All Leads")
    assert api.get(f"/contacts/view/{leads_view}").json()["meta"]["total"] == 0


def test_deals_pipelines_and_stages(api):
    pipes = api.get("/selector/deal_pipelines").json()["deal_pipelines"]
    assert {p["name"] for p in pipes} >= {"Treatment", "Restorative", "Ortho", "Perio", "Oral Surgery"}
    for p in pipes:
        stages = api.get(f"/selector/deal_pipelines/{p['id']}/deal_stages").json()["deal_stages"]
        assert stages[-1]["name"] == "Unmapped — Review Required"
    treat, ortho = pipes[0], next(p for p in pipes if p["name"] == "Ortho")
    ortho_stage = api.get(f"/selector/deal_pipelines/{ortho['id']}/deal_stages").json()["deal_stages"][0]
    r = api.post("/deals", json={"deal": {"name": "x", "deal_pipeline_id": treat["id"], "deal_stage_id": ortho_stage["id"]}})
    assert r.status_code == 400 and "does not belong" in _errors(r)
    d = api.post("/deals", json={"deal": {"name": "Crown", "amount": 1130.5, "deal_pipeline_id": ortho["id"]}}).json()["deal"]
    assert d["deal_stage_id"] == ortho_stage["id"]  # the pipeline's first stage
    c = api.post("/contacts", json={"contact": {"first_name": "A"}}).json()["contact"]
    d2 = api.put(f"/deals/{d['id']}", json={"deal": {"contacts_added_list": [c["id"]]}}).json()["deal"]
    assert d2["contact_ids"] == [c["id"]]


def test_account_hierarchy_and_delete_cascade(api):
    parent = api.post("/sales_accounts", json={"sales_account": {"name": "DSO"}}).json()["sales_account"]
    child = api.post("/sales_accounts", json={"sales_account": {"name": "Branch", "parent_sales_account_id": parent["id"]}})
    child = child.json()["sales_account"]
    r = api.put(f"/sales_accounts/{parent['id']}", json={"sales_account": {"parent_sales_account_id": child["id"]}})
    assert r.status_code == 400 and "ancestor" in _errors(r)
    c = api.post("/contacts", json={"contact": {"first_name": "A", "sales_account_id": child["id"]}}).json()["contact"]
    api.post("/notes", json={"note": {"description": "hi", "targetable_type": "SalesAccount", "targetable_id": child["id"]}})
    api.delete(f"/sales_accounts/{child['id']}", params={"delete_associated_contacts_deals": "false"})
    state = api.built.state.dump()
    assert state["notes"] == [] and state["contacts"][0]["sales_account_id"] is None
    assert api.get(f"/contacts/{c['id']}").status_code == 200


def test_tasks_appointments_notes_and_time_zones(api):
    c = api.post("/contacts", json={"contact": {"first_name": "A"}}).json()["contact"]
    target = {"targetable_type": "Contact", "targetable_id": c["id"]}
    t = api.post("/tasks", json={"task": {"title": "Recall", "due_date": "2020-01-02T09:00:00", "owner_id": USER, **target}})
    assert t.json()["task"]["due_date"] == "2020-01-02T09:00:00-06:00"  # naive = the account's zone
    r = api.post("/tasks", json={"task": {"title": "x", "due_date": "2020-01-02T09:00:00Z", "owner_id": USER,
                                         "targetable_type": "Contact", "targetable_id": 999}})
    assert r.status_code == 400 and "no Contact with id 999" in _errors(r)
    api.put(f"/tasks/{t.json()['task']['id']}", json={"task": {"status": 1}})
    assert api.get("/tasks", params={"filter": "completed"}).json()["meta"]["total"] == 1
    assert api.get("/tasks", params={"filter": "open"}).json()["meta"]["total"] == 0
    a = {"title": "Exam", "from_date": "2030-01-02T09:00:00+00:00", "end_date": "2030-01-02T08:00:00+00:00", **target}
    assert "end_date" in _errors(api.post("/appointments", json={"appointment": a}))
    a["end_date"] = "2030-01-02T10:00:00+00:00"
    a["appointment_attendees_attributes"] = [{"attendee_type": "FdMultitenant::User", "attendee_id": USER}]
    made = api.post("/appointments", json={"appointment": a}).json()["appointment"]
    got = api.get(f"/appointments/{made['id']}", params={"include": "appointment_attendees"}).json()["appointment"]
    assert got["appointment_attendees"][0]["attendee_id"] == USER
    assert api.get("/appointments", params={"filter": "upcoming"}).json()["meta"]["total"] == 1
    note = api.post("/notes", json={"note": {"description": "Crown seated", **target}}).json()["note"]
    api.put(f"/notes/{note['id']}", json={"note": {"description": "Crown seated, v2"}})
    with_notes = api.get(f"/contacts/{c['id']}", params={"include": "notes"}).json()
    assert [n["description"] for n in with_notes["notes"]] == ["Crown seated, v2"]
    assert api.delete(f"/notes/{note['id']}").status_code == 204


def test_pagination_past_one_page(api):
    for i in range(7):
        api.post("/contacts", json={"contact": {"first_name": f"C{i}"}})
    seen, page = [], 1
    while True:
        data = api.get("/contacts/view/100", params={"page": page, "per_page": 3, "sort": "created_at"}).json()
        seen += [c["first_name"] for c in data["contacts"]]
        if page >= data["meta"]["total_pages"]:
            break
        page += 1
    assert seen == [f"C{i}" for i in range(7)] and data["meta"]["total"] == 7


# --- upserts and bulk jobs --------------------------------------------------------------------

def test_upsert_creates_then_updates(api):
    body = {"unique_identifier": {"emails": "u@example.com"}, "contact": {"first_name": "U"}}
    first = api.post("/contacts/upsert", json=body)
    second = api.post("/contacts/upsert", json={**body, "contact": {"last_name": "V"}})
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["contact"]["id"] == first.json()["contact"]["id"]
    assert second.json()["contact"]["email"] == "u@example.com"
    r = api.post("/contacts/upsert", json={"unique_identifier": {"city": "x"}, "contact": {}})
    assert r.status_code == 400 and "not a unique field" in _errors(r)


def test_bulk_upsert_is_a_job_that_finishes_later():
    built = build(time_scale=1.0)
    api = Api(built)
    _field(api, "contacts", "Source ID", "text")
    items = [{"cf_source_id": f"S{i}", "data": {"first_name": f"B{i}"}} for i in range(3)]
    items.append({"cf_source_id": "S9", "data": {"owner_id": 42}})
    r = api.post("/contacts/bulk_upsert", json={"contacts": items})
    assert r.status_code == 200
    job_path = "/" + r.json()["job_status_url"].split("/api/", 1)[1]
    first = api.get(job_path).json()
    assert first["status"] in ("queued", "in_progress") and built.state.dump()["contacts"] == []
    time.sleep(0.06)  # 4 items at 0.01 virtual s each
    done = api.get(job_path).json()
    assert done["status"] == "completed" and done["succeeded"] == 3 and done["failed"] == 1
    assert done["errors"][0]["index"] == 3 and "no user with id 42" in done["errors"][0]["message"]
    again = api.post("/contacts/bulk_upsert", json={"contacts": items[:1]})  # same source id: updates
    time.sleep(0.03)
    assert api.get("/" + again.json()["job_status_url"].split("/api/", 1)[1]).json()["succeeded"] == 1
    assert len(built.state.dump()["contacts"]) == 3
    too_many = [{"emails": f"e{i}@x.example", "data": {}} for i in range(101)]
    assert api.post("/contacts/bulk_upsert", json={"contacts": too_many}).status_code == 400


def test_bulk_destroy_lookup_and_filtered_search(api):
    _field(api, "deals", "Source ID", "text")
    ids = [api.post("/deals", json={"deal": {"name": f"D{i}", "custom_field": {"cf_source_id": f"TP{i}"}}}).json()["deal"]["id"]
           for i in range(4)]
    hit = api.get("/lookup", params={"q": "TP2", "f": "cf_source_id", "entities": "deal"}).json()
    assert [d["id"] for d in hit["deals"]["deals"]] == [ids[2]]
    found = api.post("/filtered_search/deal", json={"filter_rule": [
        {"attribute": "cf_source_id", "operator": "is_in", "value": ["TP0", "TP3", "TPX"]}]}).json()
    assert sorted(d["id"] for d in found["deals"]) == [ids[0], ids[3]]
    r = api.post("/deals/bulk_destroy", json={"selected_ids": ids[:2] + [123]})
    assert r.status_code == 202
    time.sleep(0.01)
    job = api.get("/" + r.json()["job_status_url"].split("/api/", 1)[1]).json()
    assert job["succeeded"] == 2 and job["failed"] == 1 and len(api.built.state.dump()["deals"]) == 2


# --- files ------------------------------------------------------------------------------------

def test_files_upload_list_and_limits(api):
    c = api.post("/contacts", json={"contact": {"first_name": "A"}}).json()["contact"]
    form = {"targetable_type": "Contact", "targetable_id": str(c["id"]), "file_name": "consent.pdf"}
    r = api.post("/documents", data=form, files={"file": ("x.pdf", b"%PDF-1.4 ok", "application/pdf")})
    assert r.status_code == 201 and r.json()["document"]["file_size"] == 11
    docs = api.get(f"/contacts/{c['id']}/document_associations").json()["document_associations"]
    assert [d["file_name"] for d in docs] == ["consent.pdf"]
    r = api.post("/documents", data={"targetable_type": "Contact"}, files={"file": ("x.pdf", b"x")})
    assert r.status_code == 400 and "targetable_id is required" in _errors(r)
    api.built.state.account["max_file_mb"] = 0
    r = api.post("/documents", data=form, files={"file": ("x.pdf", b"too big")})
    assert r.status_code == 400 and "limit" in _errors(r)


# --- limits -----------------------------------------------------------------------------------

def test_per_minute_limit_with_headers_and_429_body():
    api = Api(build(burst=3, time_scale=60))  # a minute passes in one real second
    for _ in range(3):
        r = api.get("/selector/owners")
        assert r.status_code == 200 and r.headers["X-RateLimit-Total"] == "5000"
    r = api.get("/selector/owners")
    assert r.status_code == 429 and r.json()["errors"]["code"] == 429
    assert 0 < float(r.headers["Retry-After"]) <= 1.0 and r.headers["X-RateLimit-Used-CurrentRequest"] == "0"
    time.sleep(float(r.headers["Retry-After"]) + 0.02)
    assert api.get("/selector/owners").status_code == 200


def test_hourly_limit_follows_the_plan_and_window():
    api = Api(build(seed={"account": {"plan": "Blossom"}}, time_scale=3600 * 10))
    r = api.get("/selector/owners")
    assert r.headers["X-RateLimit-Total"] == "1000" and r.headers["X-RateLimit-Remaining"] == "999"
    small = Api(build(hourly=2, time_scale=1))
    small.get("/selector/owners"), small.get("/selector/owners")
    r = small.get("/selector/owners")
    assert r.status_code == 429 and r.headers["X-RateLimit-Remaining"] == "0"
    assert 3000 < int(r.headers["Retry-After"]) <= 3600  # the hour window, real seconds


def test_daily_limit_and_free_plan_are_refused():
    with pytest.raises(ValueError, match="per hour"):
        build(daily=10)
    with pytest.raises(ValueError, match="no API"):
        build(seed={"account": {"plan": "Sprout"}})


# --- the running server -----------------------------------------------------------------------

def test_seed_users_request_log_and_state(tmp_path):
    log = tmp_path / "fs.log"
    users = [{"email": "new.dentist@practice.example", "firstName": "New", "lastName": "Dentist", "role": "user"}]
    import httpx

    with sandbox.start("freshsales", seed={"users": users}, request_log=str(log), token="fs-secret-1") as sb:
        assert sb.options["domain"] == sb.location_id and sb.options["time_zone"] == "America/Chicago"
        h = {"Authorization": "Token token=fs-secret-1"}
        owners = httpx.get(f"{sb.url}/api/selector/owners", headers=h).json()["users"]
        assert "new.dentist@practice.example" in {u["email"] for u in owners} and len(owners) == 5
        httpx.post(f"{sb.url}/api/contacts", headers=h, json={"contact": {"first_name": "A"}})
        assert len(httpx.get(f"{sb.url}/__sandbox/state", headers={"Authorization": f"Bearer {sb.token}"}).json()["contacts"]) == 1
        httpx.post(f"{sb.url}/__sandbox/reset", headers={"Authorization": f"Bearer {sb.token}"})
        assert sb.state()["contacts"] == [] and len(sb.state()["users"]) == 5
    lines = [json.loads(x) for x in log.read_text().splitlines()]
    assert [x["path"] for x in lines] == ["/api/selector/owners", "/api/contacts"]
    assert "fs-secret-1" not in log.read_text() and lines[0]["headers"]["authorization"] == "Token ***"
    assert all(schemas.logged_request_errors(x) == [] for x in lines)


def test_faults_answer_in_the_vendor_shape():
    import httpx

    with sandbox.start("freshsales", faults="5xx=1.0") as sb:
        r = httpx.get(f"{sb.url}/api/selector/owners", headers={"Authorization": f"Token token={sb.token}"})
        assert r.status_code == 503 and r.json() == {"errors": {"code": 503, "message": ["Service Unavailable"]}}


def test_seed_users_without_ids_are_all_added():
    from crm_sandbox.freshsales.state import load_seed

    users = load_seed({"users": [{"email": "a@practice.example"}, {"email": "b@practice.example"}]})["users"]
    emails = [u["email"] for u in users]
    assert "a@practice.example" in emails and "b@practice.example" in emails
