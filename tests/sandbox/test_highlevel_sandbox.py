"""The HighLevel sandbox behaves like HighLevel API v2 (research note highlevel.md, vendor specs)."""

from __future__ import annotations

import json
import time

import httpx
import pytest

import crm_sandbox as sandbox
from crm_sandbox.highlevel import validation

VERSION = "2021-07-28"


@pytest.fixture(scope="module")
def sb():
    # windows 50x faster: this module sends more than 100 requests in 10 s
    with sandbox.start("highlevel", time_scale=50) as handle:
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


def test_custom_value_clears_on_its_empty_form_but_null_is_422(api, sb):
    text = _field(api, sb, "Allergy", "TEXT")["id"]
    number = _field(api, sb, "Visits", "NUMERICAL")["id"]
    multi = _field(api, sb, "Langs", "MULTIPLE_OPTIONS", options=["en", "es"])["id"]
    r = api.post("/contacts/", json={"locationId": sb.location_id, "firstName": "C", "tags": ["x", "y"],
                                     "customFields": [{"id": text, "field_value": "nuts"},
                                                      {"id": number, "field_value": 2},
                                                      {"id": multi, "field_value": ["en"]}]})
    assert r.status_code == 201, r.text
    cid = r.json()["contact"]["id"]
    for fid in (text, number, multi):  # null matches none of the typed field_value schemas
        r = api.put(f"/contacts/{cid}", json={"customFields": [{"id": fid, "field_value": None}]})
        assert r.status_code == 422 and r.json()["error"] == "Unprocessable Entity"
    assert len(api.get(f"/contacts/{cid}").json()["contact"]["customFields"]) == 3
    r = api.put(f"/contacts/{cid}", json={"customFields": [{"id": text, "field_value": ""},
                                                           {"id": number, "field_value": ""},
                                                           {"id": multi, "fieldValue": []}]})
    assert r.status_code == 200, r.text
    assert r.json()["contact"]["customFields"] == []
    r = api.request("DELETE", f"/contacts/{cid}/tags", json={"tags": ["y", "not-there"]})
    assert r.status_code == 200 and r.json()["tags"] == ["x"]
    assert api.get(f"/contacts/{cid}").json()["contact"]["tags"] == ["x"]


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
    state = httpx.get(f"{sb.url}/__sandbox/state", headers={"Authorization": f"Bearer {sb.token}"}).json()
    assert len(state["contacts"]) == 1 and len(state["customFields"]) == 1
    assert set(state) >= {"contacts", "opportunities", "customFields", "pipelines", "users", "location", "calendars",
                          "businesses", "tasks", "notes", "customFieldsV2", "customFieldFolders", "objects",
                          "records", "associations", "relations", "events", "media"}
    assert httpx.post(f"{sb.url}/__sandbox/reset", headers={"Authorization": f"Bearer {sb.token}"}).status_code == 200
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
        assert all(httpx.get(f"{sb.url}/__sandbox/state", headers={"Authorization": f"Bearer {sb.token}"}).status_code == 200 for _ in range(5))


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
        httpx.get(f"{sb.url}/__sandbox/state", headers={"Authorization": f"Bearer {sb.token}"})  # not logged
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


def test_lost_fault_parses_and_is_in_the_error_message():
    from crm_sandbox._server import FaultPlan

    assert FaultPlan.parse("lost=0.25,reset=0.1").p_lost == 0.25
    with pytest.raises(ValueError, match="lost=P"):
        FaultPlan.parse("gone=0.1")


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


# --- the objects beyond contacts and opportunities ---------------------------------------------

CAL = "2021-04-15"  # calendars' Version (research §1)


def _cal(sb, api):
    return httpx.Client(base_url=sb.url, headers={"Authorization": f"Bearer {sb.token}", "Version": CAL})


def _contact(api, sb, email="c@example.com"):
    return api.post("/contacts/", json={"locationId": sb.location_id, "email": email}).json()["contact"]["id"]


def _schema(api, sb, key="insurance_record"):
    r = api.post("/objects/", json={"locationId": sb.location_id, "key": key,
                                    "labels": {"singular": key.title(), "plural": key.title() + "s"},
                                    "primaryDisplayPropertyDetails": {"key": f"custom_objects.{key}.carrier",
                                                                      "name": "Carrier", "dataType": "TEXT"}})
    assert r.status_code == 201, r.text
    return r.json()["object"]


def _v2_field(api, sb, object_key, key, data_type, **extra):
    folders = api.get(f"/custom-fields/object-key/{object_key}", params={"locationId": sb.location_id}).json()["folders"]
    parent = folders[0]["id"] if folders else api.post("/custom-fields/folder", json={
        "locationId": sb.location_id, "objectKey": object_key, "name": "Migrated fields"}).json()["id"]
    r = api.post("/custom-fields/", json={"locationId": sb.location_id, "objectKey": object_key, "dataType": data_type,
                                          "fieldKey": f"{object_key}.{key}", "name": key, "showInForms": True,
                                          "parentId": parent, **extra})
    assert r.status_code == 201, r.text
    return r.json()["field"]


def test_new_endpoints_respond_as_the_vendor_spec_says(api, sb):
    loc = sb.location_id
    cid = _conforms(api, "POST", "/contacts/", body={"locationId": loc, "email": "spec2@example.com"})["contact"]["id"]
    _conforms(api, "POST", f"/contacts/{cid}/tags", body={"tags": ["vip", "recall"]})
    _conforms(api, "DELETE", f"/contacts/{cid}/tags", body={"tags": ["vip"]})
    _conforms(api, "GET", "/users/search", params={"companyId": sb.state()["location"]["companyId"], "locationId": loc})
    biz = _conforms(api, "POST", "/businesses/", body={"locationId": loc, "name": "Bright Smiles Group"})["buiseness"]
    _conforms(api, "GET", f"/businesses/{biz['id']}")
    _conforms(api, "PUT", f"/businesses/{biz['id']}", body={"description": "main office"})
    _conforms(api, "GET", "/businesses/", params={"locationId": loc, "limit": "10", "skip": "0"})
    _conforms(api, "POST", "/contacts/bulk/business", body={"locationId": loc, "ids": [cid], "businessId": biz["id"]})
    folder = _conforms(api, "POST", "/custom-fields/folder", body={"locationId": loc, "objectKey": "business", "name": "F"})
    f = _conforms(api, "POST", "/custom-fields/", body={
        "locationId": loc, "objectKey": "business", "fieldKey": "business.tier", "name": "Tier", "dataType": "SINGLE_OPTIONS",
        "showInForms": True, "parentId": folder["id"], "options": [{"key": "gold", "label": "Gold"}]})["field"]
    _conforms(api, "GET", f"/custom-fields/{f['id']}")
    _conforms(api, "GET", "/custom-fields/object-key/business", params={"locationId": loc})
    _conforms(api, "PUT", f"/objects/business/records/{biz['id']}", params={"locationId": loc},
              body={"properties": {"tier": "gold"}})
    _conforms(api, "GET", f"/objects/business/records/{biz['id']}")
    schema = _conforms(api, "POST", "/objects/", body={
        "locationId": loc, "key": "claim", "labels": {"singular": "Claim", "plural": "Claims"},
        "primaryDisplayPropertyDetails": {"key": "custom_objects.claim.claim_no", "name": "Claim No", "dataType": "TEXT"}})
    _conforms(api, "GET", "/objects/", params={"locationId": loc})
    _conforms(api, "GET", "/objects/custom_objects.claim", params={"locationId": loc, "fetchProperties": "true"})
    rec = _conforms(api, "POST", "/objects/custom_objects.claim/records",
                    body={"locationId": loc, "properties": {"claim_no": "C-1"}, "owner": ["SbxUserDrAnnaPatel01"]})["record"]
    _conforms(api, "PUT", f"/objects/custom_objects.claim/records/{rec['id']}", params={"locationId": loc},
              body={"properties": {"claim_no": "C-2"}})
    _conforms(api, "POST", "/objects/custom_objects.claim/records/search", body={"locationId": loc, "pageLimit": 10, "page": 1})
    assoc = _conforms(api, "POST", "/associations/", body={
        "locationId": loc, "key": "claim_contact", "firstObjectKey": schema["object"]["key"], "firstObjectLabel": "Claim",
        "secondObjectKey": "contact", "secondObjectLabel": "Patient"})
    _conforms(api, "GET", f"/associations/key/claim_contact", params={"locationId": loc})
    _conforms(api, "GET", "/associations/", params={"locationId": loc, "skip": "0", "limit": "10"})
    rel = _conforms(api, "POST", "/associations/relations", body={
        "locationId": loc, "associationId": assoc["id"], "firstRecordId": rec["id"], "secondRecordId": cid})
    _conforms(api, "GET", f"/associations/relations/{rec['id']}", params={"locationId": loc, "skip": "0", "limit": "10"})
    _conforms(api, "DELETE", f"/associations/relations/{rel['id']}", params={"locationId": loc})
    _conforms(api, "DELETE", f"/objects/custom_objects.claim/records/{rec['id']}")
    task = _conforms(api, "POST", f"/contacts/{cid}/tasks", body={"title": "Call", "dueDate": "2024-05-01T15:00:00Z",
                                                                  "completed": False})["task"]
    _conforms(api, "PUT", f"/contacts/{cid}/tasks/{task['id']}", body={"completed": True})
    _conforms(api, "GET", f"/contacts/{cid}/tasks")
    _conforms(api, "POST", f"/locations/{loc}/tasks/search", body={"skip": 0, "limit": 10})
    note = _conforms(api, "POST", f"/contacts/{cid}/notes", body={"body": "hello", "userId": "SbxUserHygKimNguyen3"})["note"]
    _conforms(api, "PUT", f"/contacts/{cid}/notes/{note['id']}", body={"body": "changed"})
    _conforms(api, "GET", f"/contacts/{cid}/notes")
    _conforms(api, "DELETE", f"/contacts/{cid}/notes/{note['id']}")
    _conforms(api, "DELETE", f"/contacts/{cid}/tasks/{task['id']}")
    up = api.post("/medias/upload-file", files={"file": ("xray.png", b"\x89PNG...", "image/png")}, data={"name": "xray.png"})
    assert up.status_code == 200 and validation.response_errors(
        "POST", "/medias/upload-file", [], {"Version": VERSION}, None, 200, up.content) == []
    _conforms(api, "GET", "/medias/files", params={"sortBy": "createdAt", "sortOrder": "asc", "type": "file",
                                                   "altType": "location", "altId": loc})
    _conforms(api, "POST", f"/medias/{up.json()['fileId']}", body={"name": "x.png", "altType": "location", "altId": loc})
    _conforms(api, "DELETE", f"/businesses/{biz['id']}")
    with _cal(sb, api) as cal:
        cal_id = _conforms(cal, "GET", "/calendars/", params={"locationId": loc})["calendars"][0]["id"]
        ev = _conforms(cal, "POST", "/calendars/events/appointments", body={
            "calendarId": cal_id, "locationId": loc, "contactId": cid, "startTime": "2023-02-01T15:00:00Z",
            "ignoreFreeSlotValidation": True, "toNotify": False, "title": "Exam"})
        _conforms(cal, "PUT", f"/calendars/events/appointments/{ev['id']}", body={"appointmentStatus": "showed"})
        _conforms(cal, "GET", f"/calendars/events/appointments/{ev['id']}")
        _conforms(cal, "GET", "/calendars/events", params={"locationId": loc, "calendarId": cal_id, "startTime": "0",
                                                           "endTime": "4102444800000"})
        _conforms(cal, "DELETE", f"/calendars/events/{ev['id']}", body={})


def test_calendars_want_their_own_version(api, sb):
    r = api.get("/calendars/", params={"locationId": sb.location_id})  # 2021-07-28
    assert r.status_code == 400 and "2021-04-15" in r.json()["message"]
    with _cal(sb, api) as cal:
        assert cal.get("/calendars/", params={"locationId": sb.location_id}).status_code == 200
        assert cal.get("/contacts/x").status_code == 400  # and 2021-04-15 is wrong everywhere else


def test_historical_appointments_need_free_slot_validation_off(api, sb):
    cid = _contact(api, sb)
    with _cal(sb, api) as cal:
        cal_id = cal.get("/calendars/", params={"locationId": sb.location_id}).json()["calendars"][0]["id"]
        body = {"calendarId": cal_id, "locationId": sb.location_id, "contactId": cid, "startTime": "2022-01-10T15:00:00Z"}
        r = cal.post("/calendars/events/appointments", json=body)
        assert r.status_code == 400 and "no longer available" in r.json()["message"]
        ok = cal.post("/calendars/events/appointments", json={**body, "ignoreFreeSlotValidation": True})
        assert ok.status_code == 200 and ok.json()["endTime"] == "2022-01-10T16:00:00Z"  # + the 60-min slot
        future = {**body, "startTime": "2099-01-10T15:00:00Z"}
        assert cal.post("/calendars/events/appointments", json=future).status_code == 200
        assert cal.post("/calendars/events/appointments", json={**future, "startTime": "2099-01-10T15:30:00Z"}
                        ).status_code == 400  # overlaps the one before
        r = cal.get("/calendars/events", params={"locationId": sb.location_id, "startTime": "0", "endTime": "1"})
        assert r.status_code == 422  # calendarId, userId or groupId is required


def test_custom_object_rules(api, sb):
    _schema(api, sb)
    key = "custom_objects.insurance_record"
    _v2_field(api, sb, key, "status", "SINGLE_OPTIONS", options=[{"key": "active", "label": "Active"}])
    loc = sb.location_id
    r = api.post(f"/objects/{key}/records", json={"locationId": loc, "properties": {"status": "active"}})
    assert r.status_code == 422 and "properties.carrier should not be empty" in r.json()["message"]
    r = api.post(f"/objects/{key}/records", json={"locationId": loc, "properties": {"carrier": "Delta", "nope": 1}})
    assert r.status_code == 422 and "property nope does not exist" in r.json()["message"][0]
    r = api.post(f"/objects/{key}/records", json={"locationId": loc, "properties": {"carrier": "Delta", "status": "lapsed"}})
    assert r.status_code == 422 and "lapsed is not a valid option" in r.json()["message"][0]
    r = api.post(f"/objects/{key}/records", json={"locationId": loc, "properties": {"carrier": "D"}, "owner": ["NoSuchUser"]})
    assert r.status_code == 422
    r = api.post(f"/objects/{key}/records", json={"locationId": loc, "properties": {"carrier": "D"}, "extra": 1})
    assert r.status_code == 422 and "property extra should not exist" in r.json()["message"]
    assert api.delete(f"/objects/{key}").status_code == 404  # no schema delete (research §5)
    assert api.post("/objects/", json={"locationId": loc, "key": "insurance_record", "labels": {
        "singular": "X", "plural": "Xs"}, "primaryDisplayPropertyDetails": {"key": "x", "name": "X", "dataType": "TEXT"}}
                    ).status_code == 400  # the key exists


def test_custom_fields_v2_rules(api, sb):
    f = _v2_field(api, sb, "business", "tier", "SINGLE_OPTIONS", options=[{"key": "gold", "label": "Gold"}])
    loc = sb.location_id
    r = api.post("/custom-fields/", json={"locationId": loc, "objectKey": "business", "fieldKey": "business.x", "name": "x",
                                          "dataType": "TEXT", "showInForms": True, "parentId": "not-a-folder"})
    assert r.status_code == 400
    r = api.post("/custom-fields/", json={"locationId": loc, "objectKey": "contact", "fieldKey": "contact.x", "name": "x",
                                          "dataType": "TEXT", "showInForms": True, "parentId": f["parentId"]})
    assert r.status_code == 400  # v2 fields are for custom objects and business only
    r = api.put(f"/custom-fields/{f['id']}", json={"locationId": loc, "showInForms": True,
                                                    "options": [{"key": "silver", "label": "Silver"}]})
    assert r.status_code == 400 and "cannot be removed" in r.json()["message"]
    r = api.put(f"/custom-fields/{f['id']}", json={"locationId": loc, "showInForms": True, "options": [
        {"key": "gold", "label": "Gold"}, {"key": "silver", "label": "Silver"}]})
    assert [o["key"] for o in r.json()["field"]["options"]] == ["gold", "silver"]
    assert api.delete(f"/custom-fields/folder/{f['parentId']}", params={"locationId": loc}).status_code == 400
    assert api.delete(f"/custom-fields/{f['id']}").json()["succeded"] is True


def test_associations_link_contacts_and_custom_objects_only(api, sb):
    _schema(api, sb, "plan")
    _schema(api, sb, "claim")
    loc = sb.location_id
    r = api.post("/associations/", json={"locationId": loc, "key": "plan_claim", "firstObjectKey": "custom_objects.plan",
                                         "firstObjectLabel": "Plan", "secondObjectKey": "custom_objects.claim",
                                         "secondObjectLabel": "Claim"})
    assert r.status_code == 400
    a = api.post("/associations/", json={"locationId": loc, "key": "plan_contact", "firstObjectKey": "custom_objects.plan",
                                         "firstObjectLabel": "Plan", "secondObjectKey": "contact",
                                         "secondObjectLabel": "Patient"}).json()
    rec = api.post("/objects/custom_objects.plan/records", json={"locationId": loc, "properties": {"carrier": "P"}}).json()["record"]
    cid = _contact(api, sb)
    body = {"locationId": loc, "associationId": a["id"], "firstRecordId": cid, "secondRecordId": rec["id"]}
    assert api.post("/associations/relations", json=body).status_code == 400  # wrong order for this association
    body.update(firstRecordId=rec["id"], secondRecordId=cid)
    assert api.post("/associations/relations", json=body).status_code == 201
    assert api.post("/associations/relations", json=body).status_code == 400  # already related
    api.delete(f"/contacts/{cid}")
    assert sb.state()["relations"] == []  # a relation cannot outlive its record
    assert api.delete(f"/associations/{a['id']}").json()["deleted"] is True


def test_tasks_notes_and_their_contact(api, sb):
    cid = _contact(api, sb)
    r = api.post(f"/contacts/{cid}/tasks", json={"title": "T", "dueDate": "tomorrow", "completed": False})
    assert r.status_code == 422
    r = api.post(f"/contacts/{cid}/tasks", json={"title": "T", "dueDate": "2024-01-01T00:00:00Z", "completed": False,
                                                 "assignedTo": "NoSuchUser0000000000"})
    assert r.status_code == 422
    r = api.post(f"/contacts/{cid}/notes", json={"body": "x", "userId": "NoSuchUser0000000000"})
    assert r.status_code == 422
    assert api.post(f"/contacts/{cid}/notes", json={"title": "no body"}).status_code == 422
    t = api.post(f"/contacts/{cid}/tasks", json={"title": "T", "dueDate": "2024-01-01T00:00:00Z", "completed": False}).json()["task"]
    other = _contact(api, sb, "other@example.com")
    assert api.get(f"/contacts/{other}/tasks/{t['id']}").status_code == 404  # only under its own contact
    api.post(f"/contacts/{cid}/notes", json={"body": "n"})
    api.delete(f"/contacts/{cid}")
    assert sb.state()["tasks"] == [] and sb.state()["notes"] == []


def test_business_links_and_contact_duplicates_on_update(api, sb):
    loc = sb.location_id
    biz = api.post("/businesses/", json={"locationId": loc, "name": "Group"}).json()["buiseness"]["id"]
    a, b = _contact(api, sb, "a@example.com"), _contact(api, sb, "b@example.com")
    api.post("/contacts/bulk/business", json={"locationId": loc, "ids": [a, b], "businessId": biz})
    listed = api.get(f"/contacts/business/{biz}", params={"locationId": loc}).json()
    assert listed["count"] == 2
    api.post("/contacts/bulk/business", json={"locationId": loc, "ids": [a], "businessId": None})
    assert "businessId" not in api.get(f"/contacts/{a}").json()["contact"]
    api.delete(f"/businesses/{biz}")
    assert "businessId" not in api.get(f"/contacts/{b}").json()["contact"]
    r = api.put(f"/contacts/{b}", json={"email": "A@example.com"})
    assert r.status_code == 400 and r.json()["meta"]["contactId"] == a
    assert api.post("/businesses/", json={"locationId": loc, "name": "X", "industry": "dental"}).status_code == 422


def test_uploads_are_limited_to_25_mb_and_never_logged(tmp_path):
    log = tmp_path / "requests.jsonl"
    with sandbox.start("highlevel", request_log=str(log)) as sb:
        h = {"Authorization": f"Bearer {sb.token}", "Version": VERSION}
        big = httpx.post(f"{sb.url}/medias/upload-file", headers=h,
                         files={"file": ("scan.tif", b"\0" * (25 * 1024 * 1024 + 1), "image/tiff")})
        assert big.status_code == 413 and "25 MB" in big.json()["message"]
        ok = httpx.post(f"{sb.url}/medias/upload-file", headers=h, data={"name": "card.png"},
                        files={"file": ("card.png", b"secret-phi-bytes", "image/png")})
        assert ok.status_code == 200
        assert httpx.get(ok.json()["url"]).content == b"secret-phi-bytes"  # served back at its url
        assert httpx.post(f"{sb.url}/medias/upload-file", headers=h, files={"name": (None, "x")}).status_code == 422
    text = log.read_text()
    assert "secret-phi-bytes" not in text and len(text) < 5000
    entry = json.loads(text.splitlines()[1])
    assert {"name": "file", "filename": "card.png", "size": 16} in entry["body"]["multipart"]


# every dataType, in both custom-field APIs, with a value each (research §4 value types)
_LOCATION_VALUES = {"TEXT": "t", "LARGE_TEXT": "long text", "NUMERICAL": 3, "PHONE": "+15550001234", "MONETORY": 9.5,
                    "CHECKBOX": ["A"], "SINGLE_OPTIONS": "A", "MULTIPLE_OPTIONS": ["A", "B"], "DATE": "2024-02-29",
                    "TEXTBOX_LIST": "line", "RADIO": "B",
                    "FILE_UPLOAD": {"f3117": {"url": "https://x.example/f.pdf", "documentId": "d1", "meta": {}}}, "EMAIL": "e@example.com"}
_PROPERTY_VALUES = {**_LOCATION_VALUES, "MONETORY": {"currency": "default", "value": 9.5}, "CHECKBOX": ["a"],
                    "SINGLE_OPTIONS": "a", "MULTIPLE_OPTIONS": ["a", "b"], "RADIO": "b",
                    "FILE_UPLOAD": [{"url": "https://x.example/f.pdf"}]}


@pytest.mark.parametrize("data_type", sorted(_LOCATION_VALUES))
def test_every_data_type_in_both_field_apis(api, sb, data_type):
    from crm_sandbox.highlevel.state import DATA_TYPES

    assert set(_LOCATION_VALUES) == DATA_TYPES
    pick = data_type in ("CHECKBOX", "SINGLE_OPTIONS", "MULTIPLE_OPTIONS", "RADIO")
    f = _field(api, sb, f"F {data_type}", data_type, **({"options": ["A", "B"]} if pick else {}))
    r = api.post("/contacts/", json={"locationId": sb.location_id,
                                     "customFields": [{"id": f["id"], "field_value": _LOCATION_VALUES[data_type]}]})
    assert r.status_code == 201, r.text
    assert r.json()["contact"]["customFields"] == [{"id": f["id"], "value": _LOCATION_VALUES[data_type]}]
    v2 = _v2_field(api, sb, "business", data_type.lower(), data_type,
                   **({"options": [{"key": "a", "label": "A"}, {"key": "b", "label": "B"}]} if pick else {}))
    biz = api.post("/businesses/", json={"locationId": sb.location_id, "name": "B"}).json()["buiseness"]["id"]
    r = api.put(f"/objects/business/records/{biz}", params={"locationId": sb.location_id},
                json={"properties": {data_type.lower(): _PROPERTY_VALUES[data_type]}})
    assert r.status_code == 200, r.text
    assert r.json()["record"]["properties"] == {data_type.lower(): _PROPERTY_VALUES[data_type]}
    assert v2["dataType"] == data_type


def test_seed_users_without_ids_are_all_added():
    from crm_sandbox.highlevel.state import load_seed

    users = load_seed({"users": [{"email": "a@practice.example"}, {"email": "b@practice.example"}]})["users"]
    emails = [u["email"] for u in users]
    assert "a@practice.example" in emails and "b@practice.example" in emails


def test_the_sandbox_routes_need_its_token_and_the_banner_never_shows_it(tmp_path):
    import subprocess
    import sys

    for name in ("highlevel", "freshsales", "pipedrive"):
        with sandbox.start(name) as sb:
            assert httpx.get(f"{sb.url}/__sandbox/state").status_code == 401
            assert httpx.post(f"{sb.url}/__sandbox/reset").status_code == 401
            assert httpx.get(f"{sb.url}/__sandbox/state", headers={"Authorization": "Bearer wrong"}).status_code == 401
            assert httpx.get(f"{sb.url}/__sandbox/state",
                             headers={"Authorization": f"Bearer {sb.token}"}).status_code == 200
    proc = subprocess.Popen([sys.executable, "-m", "toolkit.cli", "sandbox", "highlevel", "--port", "0",
                             "--token-file", str(tmp_path / "tok")], stdout=subprocess.PIPE, text=True)
    try:
        banner = proc.stdout.readline()
    finally:
        proc.terminate()
        proc.wait(10)
    token = (tmp_path / "tok").read_text().strip()
    assert len(token) >= 24 and token not in banner and str(tmp_path / "tok") in banner
    assert (tmp_path / "tok").stat().st_mode & 0o077 == 0
