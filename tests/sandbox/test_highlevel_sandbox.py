"""The HighLevel sandbox behaves like HighLevel API v2 (research note highlevel.md, vendor specs)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from toolkit import sandbox
from toolkit.sandbox.highlevel import validation

VERSION = "2021-07-28"


@pytest.fixture(scope="module")
def sb():
    with sandbox.start("highlevel") as handle:
        yield handle


@pytest.fixture
def api(sb):
    sb.reset()
    with httpx.Client(base_url=sb.url, headers={"Authorization": f"Bearer {sb.token}", "Version": VERSION}) as c:
        yield c


def _field(api, sb, name, data_type, model="contact", **extra):
    r = api.post(f"/locations/{sb.location_id}/customFields",
                 json={"name": name, "dataType": data_type, "model": model, **extra})
    assert r.status_code == 201, r.text
    return r.json()["customField"]


def _pipeline(api, sb, name="Appointments"):
    r = api.get("/opportunities/pipelines", params={"locationId": sb.location_id})
    return next(p for p in r.json()["pipelines"] if p["name"] == name)


# --- auth and headers -------------------------------------------------------------------------


def test_missing_token_is_401_in_vendor_shape(sb):
    r = httpx.get(f"{sb.url}/contacts/abc", headers={"Version": VERSION})
    assert r.status_code == 401
    body = r.json()
    assert body["statusCode"] == 401 and body["error"] == "Unauthorized" and body["message"]


def test_wrong_token_is_401(sb):
    r = httpx.get(f"{sb.url}/users/", params={"locationId": sb.location_id},
                  headers={"Authorization": "Bearer pit-not-the-token", "Version": VERSION})
    assert r.status_code == 401
    assert r.json()["message"] == "Invalid token: access token is invalid"


@pytest.mark.parametrize("version", [None, "2021-04-15", "v3"])
def test_missing_or_wrong_version_header_is_400(sb, version):
    headers = {"Authorization": f"Bearer {sb.token}"}
    if version:
        headers["Version"] = version
    r = httpx.get(f"{sb.url}/users/", params={"locationId": sb.location_id}, headers=headers)
    assert r.status_code == 400
    assert r.json()["statusCode"] == 400 and "Version" in r.json()["message"]


def test_other_location_is_403(api):
    r = api.get("/users/", params={"locationId": "SomeoneElsesLocation"})
    assert r.status_code == 403
    r = api.post("/contacts/", json={"locationId": "SomeoneElsesLocation", "firstName": "A"})
    assert r.status_code == 403


def test_unknown_path_is_vendor_404(api):
    r = api.get("/contacts/x/nothing-here")
    assert r.status_code == 404
    assert r.json()["message"] == "Cannot GET /contacts/x/nothing-here"


# --- contacts ---------------------------------------------------------------------------------


def test_contact_create_get_update_delete(api, sb):
    src = _field(api, sb, "Source ID", "TEXT", fieldKey="contact.source_id")
    r = api.post("/contacts/", json={"locationId": sb.location_id, "firstName": "Maria", "lastName": "Lopez",
                                     "email": "maria@example.com", "phone": "(555) 201-3344", "dateOfBirth": "04/09/1985",
                                     "tags": ["recall"], "customFields": [{"id": src["id"], "field_value": "PT-1"}],
                                     "assignedTo": "SbxUserDrAnnaPatel01"})
    assert r.status_code == 201, r.text
    contact = r.json()["contact"]
    assert len(contact["id"]) == 20 and r.json()["traceId"]
    assert contact["dateAdded"].endswith("Z") and contact["dateUpdated"]
    cid = contact["id"]

    got = api.get(f"/contacts/{cid}").json()["contact"]
    assert got["phone"] == "+15552013344"  # stored as E.164 (research §7)
    assert got["dateOfBirth"] == "1985-04-09T00:00:00.000Z"
    assert got["customFields"] == [{"id": src["id"], "value": "PT-1"}]  # read back as {id, value} (§4)

    r = api.put(f"/contacts/{cid}", json={"city": "Austin", "customFields": [{"id": src["id"], "fieldValue": "PT-2"}]})
    assert r.status_code == 200 and r.json()["succeded"] is True
    got = api.get(f"/contacts/{cid}").json()["contact"]
    assert got["city"] == "Austin" and got["customFields"] == [{"id": src["id"], "value": "PT-2"}]

    r = api.delete(f"/contacts/{cid}")
    assert r.status_code == 200 and r.json()["succeded"] is True
    assert api.get(f"/contacts/{cid}").status_code == 404


def test_unknown_property_is_422_in_vendor_shape(api, sb):
    r = api.post("/contacts/", json={"locationId": sb.location_id, "firstName": "A", "additionalEmails": ["x@y.z"]})
    assert r.status_code == 422
    body = r.json()
    assert {k: body[k] for k in ("statusCode", "message", "error")} == {
        "statusCode": 422, "message": ["property additionalEmails should not exist"], "error": "Unprocessable Entity"}


def test_missing_required_field_is_422(api, sb):
    r = api.post("/contacts/", json={"firstName": "NoLocation"})
    assert r.status_code == 422 and "locationId should not be empty" in r.json()["message"]


def test_invalid_picklist_value_is_422(api, sb):
    ins = _field(api, sb, "Insurance", "SINGLE_OPTIONS", options=["Delta Dental", "Cigna"])
    r = api.post("/contacts/", json={"locationId": sb.location_id, "customFields": [{"id": ins["id"], "field_value": "Aetna"}]})
    assert r.status_code == 422
    assert "Aetna is not a valid option" in r.json()["message"][0]
    ok = api.post("/contacts/", json={"locationId": sb.location_id, "customFields": [{"id": ins["id"], "field_value": "Cigna"}]})
    assert ok.status_code == 201


def test_custom_field_id_must_exist_and_owner_must_be_a_user(api, sb):
    r = api.post("/contacts/", json={"locationId": sb.location_id, "customFields": [{"id": "NoSuchField000000000", "field_value": "x"}]})
    assert r.status_code == 422
    r = api.post("/contacts/", json={"locationId": sb.location_id, "assignedTo": "NoSuchUser0000000000"})
    assert r.status_code == 422 and "assignedTo" in r.json()["message"][0]


def test_duplicate_contact_is_400_with_meta(api, sb):
    first = api.post("/contacts/", json={"locationId": sb.location_id, "email": "dup@example.com"}).json()["contact"]
    r = api.post("/contacts/", json={"locationId": sb.location_id, "email": "DUP@example.com", "firstName": "Again"})
    assert r.status_code == 400
    assert r.json()["meta"] == {"contactId": first["id"], "matchingField": "email"}
    dup = api.get("/contacts/search/duplicate", params={"locationId": sb.location_id, "email": "dup@example.com"})
    assert dup.json()["contact"]["id"] == first["id"]


def test_upsert_updates_the_matching_contact(api, sb):
    r1 = api.post("/contacts/upsert", json={"locationId": sb.location_id, "email": "u@example.com", "firstName": "U"})
    r2 = api.post("/contacts/upsert", json={"locationId": sb.location_id, "email": "u@example.com", "city": "Reno"})
    assert r1.json()["new"] is True and r2.json()["new"] is False
    assert r2.json()["contact"]["id"] == r1.json()["contact"]["id"] and r2.json()["contact"]["city"] == "Reno"


def test_search_filters_on_custom_field_and_pages(api, sb):
    src = _field(api, sb, "Source ID", "TEXT")
    for i in range(7):
        api.post("/contacts/", json={"locationId": sb.location_id, "email": f"p{i}@example.com",
                                     "customFields": [{"id": src["id"], "field_value": f"PT-{i}"}]})
    r = api.post("/contacts/search", json={"locationId": sb.location_id, "page": 1, "pageLimit": 10,
                                           "filters": [{"field": f"customFields.{src['id']}", "operator": "eq", "value": "PT-4"}]})
    assert [c["email"] for c in r.json()["contacts"]] == ["p4@example.com"]
    pages, seen, after = 0, [], None
    while True:
        body = {"locationId": sb.location_id, "pageLimit": 3, **({"searchAfter": after} if after else {"page": 1})}
        items = api.post("/contacts/search", json=body).json()["contacts"]
        seen += [c["email"] for c in items]
        pages += 1
        if len(items) < 3:
            break
        after = items[-1]["searchAfter"]
    assert pages == 3 and sorted(seen) == sorted(f"p{i}@example.com" for i in range(7))
    # pageLimit is required (issue #31) and capped at 500
    assert api.post("/contacts/search", json={"locationId": sb.location_id}).status_code == 422
    assert api.post("/contacts/search", json={"locationId": sb.location_id, "pageLimit": 501}).status_code == 422


# --- custom fields, pipelines, opportunities, users -------------------------------------------


def test_custom_fields_list_by_model_and_delete(api, sb):
    a = _field(api, sb, "Recall Due", "DATE")
    _field(api, sb, "Case Value", "MONETORY", model="opportunity")
    listed = api.get(f"/locations/{sb.location_id}/customFields", params={"model": "contact"}).json()["customFields"]
    assert [f["fieldKey"] for f in listed] == ["contact.recall_due"]
    assert api.delete(f"/locations/{sb.location_id}/customFields/{a['id']}").json()["succeded"] is True
    assert api.get(f"/locations/{sb.location_id}/customFields", params={"model": "contact"}).json()["customFields"] == []


def test_location_reports_duplicate_setting(api, sb):
    loc = api.get(f"/locations/{sb.location_id}").json()["location"]
    assert loc["id"] == sb.location_id and loc["settings"]["allowDuplicateContact"] is False


def test_seeded_pipelines_and_users(api, sb):
    pipes = {p["name"]: [s["name"] for s in p["stages"]] for p in
             api.get("/opportunities/pipelines", params={"locationId": sb.location_id}).json()["pipelines"]}
    assert pipes["Recall"] == ["Due", "Scheduled", "Completed", "Missed", "Unmapped — Review Required"]
    assert pipes["Appointments"][-1] == "Unmapped — Review Required" and "Treatment" in pipes
    users = api.get("/users/", params={"locationId": sb.location_id}).json()["users"]
    assert all(u["email"].endswith("@brightsmiles-dental.example") for u in users)


def test_opportunity_lifecycle_and_search_meta(api, sb):
    cid = api.post("/contacts/", json={"locationId": sb.location_id, "email": "o@example.com"}).json()["contact"]["id"]
    pipe = _pipeline(api, sb, "Treatment")
    val = _field(api, sb, "Phase", "SINGLE_OPTIONS", model="opportunity", options=["I", "II"])
    ids = []
    for i in range(3):
        r = api.post("/opportunities/", json={"locationId": sb.location_id, "name": f"Crown {i}", "status": "open",
                                              "pipelineId": pipe["id"], "contactId": cid, "monetaryValue": 900 + i,
                                              "customFields": [{"id": val["id"], "field_value": "II"}]})
        assert r.status_code == 201, r.text
        ids.append(r.json()["opportunity"]["id"])
    opp = api.get(f"/opportunities/{ids[0]}").json()["opportunity"]
    assert opp["pipelineStageId"] == pipe["stages"][0]["id"]  # first stage by default
    assert opp["customFields"] == [{"id": val["id"], "fieldValue": "II"}]
    r = api.put(f"/opportunities/{ids[0]}", json={"status": "won", "pipelineStageId": pipe["stages"][3]["id"]})
    assert r.json()["opportunity"]["status"] == "won"
    page1 = api.get("/opportunities/search", params={"location_id": sb.location_id, "limit": 2}).json()
    assert page1["meta"]["total"] == 3 and page1["meta"]["nextPage"] == 2 and len(page1["opportunities"]) == 2
    page2 = api.get("/opportunities/search", params={"location_id": sb.location_id, "limit": 2, "page": 2}).json()
    assert [o["id"] for o in page1["opportunities"] + page2["opportunities"]] == ids
    assert api.delete(f"/opportunities/{ids[0]}").json()["succeded"] is True
    assert api.get(f"/opportunities/{ids[0]}").status_code == 404


def test_opportunity_requires_vendor_fields(api, sb):
    r = api.post("/opportunities/", json={"locationId": sb.location_id, "pipelineId": "x", "status": "open"})
    assert r.status_code == 422
    msgs = r.json()["message"]
    assert "name should not be empty" in msgs and "contactId should not be empty" in msgs


# --- state and reset ------------------------------------------------------------------------


def test_state_dump_and_reset_need_no_auth(api, sb):
    _field(api, sb, "Source ID", "TEXT")
    api.post("/contacts/", json={"locationId": sb.location_id, "email": "s@example.com"})
    state = httpx.get(f"{sb.url}/__sandbox/state").json()
    assert len(state["contacts"]) == 1 and len(state["customFields"]) == 1
    assert set(state) == {"contacts", "opportunities", "customFields", "pipelines", "users", "location"}
    assert httpx.post(f"{sb.url}/__sandbox/reset").status_code == 200
    after = sb.state()
    assert after["contacts"] == [] and after["customFields"] == []
    assert after["users"] == state["users"] and after["pipelines"] == state["pipelines"]


def test_seed_adds_users_and_settings(tmp_path):
    seed = {"users": [{"firstName": "New", "lastName": "Hyg", "email": "new@brightsmiles-dental.example"}],
            "location": {"settings": {"allowDuplicateContact": True}}}
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(seed))
    with sandbox.start("highlevel", seed=str(path), location_id="OtherLocation0000001", token="pit-test") as sb:
        st = sb.state()
        assert len(st["users"]) == 5 and st["location"]["settings"]["allowDuplicateContact"] is True
        h = {"Authorization": "Bearer pit-test", "Version": VERSION}
        for _ in range(2):  # duplicates allowed now
            assert httpx.post(f"{sb.url}/contacts/", headers=h,
                              json={"locationId": sb.location_id, "email": "same@example.com"}).status_code == 201


# --- rate limits ------------------------------------------------------------------------------


def test_rate_limit_headers_and_429():
    # burst 3 per 10 s, run 20x faster: the window is 0.5 s of real time
    with sandbox.start("highlevel", burst=3, time_scale=20) as sb:
        h = {"Authorization": f"Bearer {sb.token}", "Version": VERSION}
        rs = [httpx.get(f"{sb.url}/users/", params={"locationId": sb.location_id}, headers=h) for _ in range(4)]
        assert [r.status_code for r in rs[:3]] == [200, 200, 200]
        assert [r.headers["X-RateLimit-Remaining"] for r in rs[:3]] == ["2", "1", "0"]
        first = rs[0].headers
        assert first["X-RateLimit-Max"] == "3" and first["X-RateLimit-Limit-Daily"] == "200000"
        assert first["X-RateLimit-Daily-Remaining"] == "199999"
        assert first["X-RateLimit-Interval-Milliseconds"] == "500"
        if rs[3].status_code == 200:  # the machine was slower than the window; nothing to assert
            pytest.skip("window rolled over between requests")
        assert rs[3].status_code == 429 and 0 < float(rs[3].headers["Retry-After"]) <= 0.5
        time.sleep(float(rs[3].headers["Retry-After"]))
        assert httpx.get(f"{sb.url}/users/", params={"locationId": sb.location_id}, headers=h).status_code == 200
        # the control endpoints are not rate limited
        assert all(httpx.get(f"{sb.url}/__sandbox/state").status_code == 200 for _ in range(5))


def test_daily_limit_and_retry_after_switch():
    with sandbox.start("highlevel", daily=2, retry_after=False) as sb:
        h = {"Authorization": f"Bearer {sb.token}", "Version": VERSION}
        rs = [httpx.get(f"{sb.url}/users/", params={"locationId": sb.location_id}, headers=h) for _ in range(3)]
        assert [r.status_code for r in rs] == [200, 200, 429]
        assert rs[2].headers["X-RateLimit-Daily-Remaining"] == "0" and "Retry-After" not in rs[2].headers
        assert rs[2].json()["statusCode"] == 429


# --- request log and faults -------------------------------------------------------------------


def test_request_log_redacts_token(tmp_path):
    log = tmp_path / "requests.jsonl"
    with sandbox.start("highlevel", request_log=str(log), token="pit-secret-123") as sb:
        httpx.post(f"{sb.url}/contacts/", json={"locationId": sb.location_id, "firstName": "Log"},
                   headers={"Authorization": "Bearer pit-secret-123", "Version": VERSION})
        httpx.get(f"{sb.url}/__sandbox/state")  # not logged
    text = log.read_text()
    assert "pit-secret-123" not in text
    entries = [json.loads(line) for line in text.splitlines()]
    assert len(entries) == 1
    e = entries[0]
    assert e["method"] == "POST" and e["path"] == "/contacts/" and e["status"] == 201
    assert e["headers"]["authorization"] == "Bearer ***" and e["body"]["firstName"] == "Log"


def test_fault_5xx_and_reset():
    with sandbox.start("highlevel", faults="5xx=1.0") as sb:
        r = httpx.get(f"{sb.url}/users/", params={"locationId": sb.location_id},
                      headers={"Authorization": f"Bearer {sb.token}", "Version": VERSION})
        assert r.status_code == 503 and r.json()["statusCode"] == 503
    with sandbox.start("highlevel", faults="reset=1.0") as sb:
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{sb.url}/users/", params={"locationId": sb.location_id},
                      headers={"Authorization": f"Bearer {sb.token}", "Version": VERSION})


def test_faults_are_seeded_and_repeatable():
    def run():
        with sandbox.start("highlevel", faults="5xx=0.5,latency=1ms") as sb:
            h = {"Authorization": f"Bearer {sb.token}", "Version": VERSION}
            return [httpx.get(f"{sb.url}/users/", params={"locationId": sb.location_id}, headers=h).status_code
                    for _ in range(12)]
    a, b = run(), run()
    assert a == b and set(a) == {200, 503}


def test_fault_429_burst_refuses_below_advertised_burst():
    with sandbox.start("highlevel", burst=4, faults="429=burst") as sb:
        h = {"Authorization": f"Bearer {sb.token}", "Version": VERSION}
        rs = [httpx.get(f"{sb.url}/users/", params={"locationId": sb.location_id}, headers=h) for _ in range(3)]
        assert [r.status_code for r in rs] == [200, 200, 429]
        assert rs[0].headers["X-RateLimit-Max"] == "4"


def test_unknown_sandbox_name():
    with pytest.raises(ValueError, match="highlevel"):
        sandbox.start("nocrm")


# --- the sandbox's responses conform to the vendor spec ----------------------------------------


def _conforms(api, method, path, *, params=None, body=None):
    r = api.request(method, path, params=params, json=body)
    req_body = json.dumps(body).encode() if body is not None else None
    errors = validation.response_errors(method, path, list((params or {}).items()),
                                        {"Version": VERSION, "Authorization": "Bearer x"}, req_body,
                                        r.status_code, r.content)
    assert errors == [], (r.status_code, r.text, errors)
    return r.json()


def test_responses_validate_against_vendor_spec(api, sb):
    loc = sb.location_id
    f = _conforms(api, "POST", f"/locations/{loc}/customFields", body={"name": "Source ID", "dataType": "TEXT"})
    _conforms(api, "GET", f"/locations/{loc}/customFields", params={"model": "contact"})
    _conforms(api, "GET", f"/locations/{loc}")
    c = _conforms(api, "POST", "/contacts/", body={"locationId": loc, "firstName": "Spec", "email": "spec@example.com",
                                                   "customFields": [{"id": f["customField"]["id"], "field_value": "S1"}]})
    cid = c["contact"]["id"]
    _conforms(api, "GET", f"/contacts/{cid}")
    _conforms(api, "PUT", f"/contacts/{cid}", body={"lastName": "Check"})
    pipes = _conforms(api, "GET", "/opportunities/pipelines", params={"locationId": loc})
    p = pipes["pipelines"][0]
    o = _conforms(api, "POST", "/opportunities/", body={"locationId": loc, "name": "Exam", "status": "open",
                                                        "pipelineId": p["id"], "contactId": cid})
    _conforms(api, "GET", f"/opportunities/{o['opportunity']['id']}")
    _conforms(api, "GET", "/opportunities/search", params={"location_id": loc, "limit": "10"})
    _conforms(api, "GET", "/users/", params={"locationId": loc})
    _conforms(api, "DELETE", f"/opportunities/{o['opportunity']['id']}")
    _conforms(api, "DELETE", f"/contacts/{cid}")


def test_response_validation_catches_a_wrong_shape():
    # guards the test above: a body that breaks the spec is reported
    errors = validation.response_errors("GET", "/users/", [("locationId", "L")], {"Version": VERSION}, None,
                                        200, json.dumps({"users": [{"id": 5}]}).encode())
    assert errors
