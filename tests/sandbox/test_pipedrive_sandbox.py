"""The Pipedrive sandbox behaves like the Pipedrive API (research pipedrive.md, vendor specs).

Every successful response any test receives is validated against the vendor's spec by an httpx
event hook, so each test also checks the sandbox's response shapes.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import httpx
import pytest

import crm_sandbox as sandbox
from crm_sandbox.pipedrive import DEFAULT_OAUTH_TOKEN, validation

SPEC_DIR = Path(validation.__file__).parent / "specs"
_SEEN: list[str] = []


def _check_response(resp: httpx.Response) -> None:
    """Event hook: a 2xx response must match the vendor spec for its operation."""
    resp.read()
    version, inner = validation.split_version(resp.request.url.path)
    if version is None or resp.status_code >= 400:
        return
    errors = validation.response_errors(
        version, resp.request.method, inner, list(resp.request.url.params.multi_items()),
        dict(resp.request.headers), resp.request.read(), resp.status_code, resp.content,
        resp.headers.get("content-type", "application/json").split(";")[0])
    _SEEN.extend(f"{resp.request.method} {resp.request.url.path}: {e}" for e in errors)


@pytest.fixture(scope="module")
def sb():
    # These tests check bodies and rules, sending requests back to back without pacing; the burst
    # windows have tests of their own below, so this sandbox's burst is raised out of the way.
    with sandbox.start("pipedrive", burst=100_000, seed={"users": [{"email": "dr.lee@practice.example", "firstName": "Ada",
                                                     "lastName": "Lee", "role": "user"}]}) as handle:
        yield handle


@pytest.fixture
def api(sb):
    sb.reset()
    _SEEN.clear()
    with httpx.Client(base_url=sb.url, headers={"x-api-token": sb.token},
                      event_hooks={"response": [_check_response]}) as c:
        yield c
    assert not _SEEN, "responses that do not match the vendor spec:\n" + "\n".join(_SEEN)


def _ok(r: httpx.Response, status: int = 200) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is True
    return body["data"]


def _field(api, entity: str, name: str, ftype: str, options=None) -> dict:
    body = {"field_name": name, "field_type": ftype}
    if options:
        body["options"] = [{"label": o} for o in options]
    return _ok(api.post(f"/api/v2/{entity}Fields", json=body))


def _person(api, name="Ann Lee", **extra) -> dict:
    return _ok(api.post("/api/v2/persons", json={"name": name, **extra}))


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert body["success"] is False and body["data"] is None and body["error_info"]
    return body["error"]


# --- provenance and the spec slices -------------------------------------------------------------


def test_spec_slices_match_their_recorded_checksums():
    source = (SPEC_DIR / "SOURCE.md").read_text()
    for name in ("v1.json", "v2.json"):
        digest = hashlib.sha256((SPEC_DIR / name).read_bytes()).hexdigest()
        assert re.search(rf"\| {name} \|.*\| {digest} \|", source), f"{name} changed without SOURCE.md"


def test_every_operation_served_is_in_the_vendor_spec_and_costs_tokens():
    # x-token-cost is on every operation (§2.3); v2 is cheaper than v1 for the same kind of call
    assert validation.token_cost("v2", "POST", "/persons") == 5
    assert validation.token_cost("v2", "GET", "/persons/7") == 1
    assert validation.token_cost("v1", "POST", "/notes") == 10
    assert validation.token_cost("v1", "GET", "/leads") == 20
    assert validation.token_cost("v2", "GET", "/persons/search") == 20


# --- auth ------------------------------------------------------------------------------------------


def test_missing_and_wrong_token_are_401_in_the_spec_shape(sb):
    for headers in ({}, {"x-api-token": "0" * 40}, {"Authorization": "Bearer nope"}):
        r = httpx.get(f"{sb.url}/api/v2/persons", headers=headers)
        assert r.status_code == 401
        assert r.json() == {"success": False, "error": "unauthorized access", "errorCode": 401}


def test_oauth_bearer_is_accepted_with_its_own_burst():
    with sandbox.start("pipedrive") as box:  # the plan's own bursts, not the module's raised one
        r = httpx.get(f"{box.url}/api/v1/users/me", headers={"Authorization": f"Bearer {DEFAULT_OAUTH_TOKEN}"})
        assert r.status_code == 200
        assert r.headers["x-ratelimit-limit"] == "160"  # Growth plan OAuth burst (§2.4)
        r = httpx.get(f"{box.url}/api/v1/users/me", headers={"x-api-token": box.token})
        assert r.headers["x-ratelimit-limit"] == "40"


def test_request_log_never_holds_the_token(tmp_path):
    log = tmp_path / "requests.jsonl"
    with sandbox.start("pipedrive", request_log=str(log)) as box:
        httpx.get(f"{box.url}/api/v1/users", headers={"x-api-token": box.token})
    text = log.read_text()
    assert box.token not in text
    entry = json.loads(text.splitlines()[0])
    assert entry["headers"]["x-api-token"] == "***" and entry["status"] == 200
    assert validation.log_entry_errors(entry) == []


# --- the v1/v2 split (§3) ------------------------------------------------------------------------------


def test_each_object_lives_only_on_its_current_version(api):
    assert api.get("/api/v1/persons").status_code == 404      # v1 persons are out of support
    assert api.get("/api/v2/notes").status_code == 404        # notes are v1 only
    assert api.post("/api/v2/leads", json={"title": "x"}).status_code == 404
    assert api.get("/v1/notes").status_code == 200            # v1 also answers on the older prefix
    assert "Unknown method" in _error(api.get("/api/v2/nothing"), 404)


# --- persons and custom fields (§4, §5) ----------------------------------------------------------------


def test_person_round_trip_with_custom_fields(api, sb):
    src = _field(api, "person", "Source ID", "varchar")
    gender = _field(api, "person", "Gender", "enum", ["Male", "Female"])
    assert re.fullmatch(r"[0-9a-f]{40}", src["field_code"]) and src["is_custom_field"] is True
    female = next(o["id"] for o in gender["options"] if o["label"] == "Female")
    p = _person(api, emails=[{"value": "ann@x.example", "primary": True, "label": "home"}],
                custom_fields={src["field_code"]: "P1", gender["field_code"]: female}, owner_id=2)
    got = _ok(api.get(f"/api/v2/persons/{p['id']}"))
    assert got["custom_fields"][src["field_code"]] == "P1" and got["custom_fields"][gender["field_code"]] == female
    assert got["first_name"] == "Ann" and got["owner_id"] == 2
    upd = _ok(api.patch(f"/api/v2/persons/{p['id']}", json={"custom_fields": {gender["field_code"]: None}}))
    assert upd["custom_fields"][gender["field_code"]] is None   # null clears
    assert _ok(api.delete(f"/api/v2/persons/{p['id']}")) == {"id": p["id"]}
    assert api.get(f"/api/v2/persons/{p['id']}").status_code == 404
    assert sb.state()["persons"][0]["is_deleted"] is True       # marked deleted, purged later (§6)


def test_field_keys_differ_between_companies():
    codes = []
    for seed in (1, 2):
        from crm_sandbox.pipedrive import build
        built = build(rng_seed=seed)
        codes.append(built.state.add_field("person", {"field_name": "Source ID", "field_type": "varchar"})["field_code"])
    assert codes[0] != codes[1]


@pytest.mark.parametrize("ftype,good,bad", [
    ("double", 12.5, "12.5"),                        # v2 is strict: numbers are JSON numbers (§4)
    ("date", "2024-02-29", "02/29/2024"),
    ("monetary", {"value": 10, "currency": "USD"}, 10),
    ("varchar", "x" * 255, "x" * 256),
])
def test_custom_values_are_checked_by_type(api, ftype, good, bad):
    f = _field(api, "person", f"F {ftype}", ftype)
    _person(api, custom_fields={f["field_code"]: good})
    msg = _error(api.post("/api/v2/persons", json={"name": "B", "custom_fields": {f["field_code"]: bad}}), 400)
    assert f["field_code"] in msg  # the error names the field_code (§7)


def test_pick_list_option_ids_must_exist_and_a_set_is_never_empty(api):
    enum = _field(api, "person", "Tier", "enum", ["A", "B"])
    multi = _field(api, "person", "Langs", "set", ["EN", "ES"])
    ids = [o["id"] for o in multi["options"]]
    assert "does not exist" in _error(api.post("/api/v2/persons", json={
        "name": "x", "custom_fields": {enum["field_code"]: 9999}}), 400)
    assert "non-empty" in _error(api.post("/api/v2/persons", json={
        "name": "x", "custom_fields": {multi["field_code"]: []}}), 400)
    p = _person(api, custom_fields={multi["field_code"]: ids})
    assert p["custom_fields"][multi["field_code"]] == sorted(ids)
    assert "options are required" in _error(api.post("/api/v2/personFields", json={
        "field_name": "No options", "field_type": "enum"}), 400)


def test_unknown_properties_and_custom_keys_are_rejected(api):
    assert "Unknown property 'nickname'" in _error(api.post("/api/v2/persons", json={"name": "x", "nickname": "y"}), 400)
    assert "does not exist" in _error(api.post("/api/v2/persons", json={
        "name": "x", "custom_fields": {"f" * 40: "y"}}), 400)
    assert "name" in _error(api.post("/api/v2/persons", json={"name": 5}), 400)  # the spec's own types


def test_referenced_users_and_records_must_exist(api):
    assert "user 999" in _error(api.post("/api/v2/persons", json={"name": "x", "owner_id": 999}), 400)
    assert "organization 77" in _error(api.post("/api/v2/persons", json={"name": "x", "org_id": 77}), 400)


def test_contact_sync_fields_need_contact_sync(api):
    assert _error(api.post("/api/v2/persons", json={"name": "x", "birthday": "1980-01-01"}), 403)


def test_field_options_can_be_added_and_fields_deleted(api):
    f = _field(api, "deal", "Stage reason", "enum", ["A"])
    opts = _ok(api.post(f"/api/v2/dealFields/{f['field_code']}/options", json=[{"label": "B"}]))
    assert [o["label"] for o in opts] == ["A", "B"]
    assert _ok(api.delete(f"/api/v2/dealFields/{f['field_code']}"))["field_code"] == f["field_code"]
    assert api.get(f"/api/v2/dealFields/{f['field_code']}").status_code == 404


# --- leads (§5 Leads) --------------------------------------------------------------------------------


def test_a_lead_needs_a_person_or_an_organization(api):
    msg = _error(api.post("/api/v1/leads", json={"title": "New patient"}), 400)
    assert "person or an organization" in msg
    org = _ok(api.post("/api/v2/organizations", json={"name": "Bright Smiles"}))
    lead = _ok(api.post("/api/v1/leads", json={"title": "Via org", "organization_id": org["id"]}), 201)
    assert re.fullmatch(r"[0-9a-f-]{36}", lead["id"]) and lead["origin"] == "API"
    assert "person or an organization" in _error(api.patch(f"/api/v1/leads/{lead['id']}",
                                                            json={"organization_id": None}), 400)


def test_lead_custom_values_are_the_deal_fields_at_the_root(api):
    code = _field(api, "deal", "Source ID", "varchar")["field_code"]
    fee = _field(api, "deal", "Fee", "monetary")["field_code"]
    p = _person(api)
    lead = _ok(api.post("/api/v1/leads", json={"title": "L", "person_id": p["id"], code: "T1", fee: 120,
                                               f"{fee}_currency": "EUR", "value": {"amount": 5, "currency": "USD"}}), 201)
    got = _ok(api.get(f"/api/v1/leads/{lead['id']}"))
    assert got[code] == "T1" and got[fee] == 120 and got[f"{fee}_currency"] == "EUR"
    assert any(f["key"] == code for f in _ok(api.get("/api/v1/leadFields")))
    assert "Unknown property" in _error(api.post("/api/v1/leads", json={"title": "L", "person_id": p["id"],
                                                                        "bogus": 1}), 400)
    _ok(api.delete(f"/api/v1/leads/{lead['id']}"))
    assert _error(api.get(f"/api/v1/leads/{lead['id']}"), 404) == "requested lead not found"


# --- deals, pipelines and stages ------------------------------------------------------------------------


def test_pipelines_and_stages_are_created_through_the_api_and_deals_follow_them(api):
    pipe = _ok(api.post("/api/v2/pipelines", json={"name": "Treatment"}))
    proposed = _ok(api.post("/api/v2/stages", json={"name": "Proposed", "pipeline_id": pipe["id"]}))
    default = _ok(api.post("/api/v2/deals", json={"title": "No stage"}))
    assert default["pipeline_id"] == 1  # first stage of the default pipeline (§5 Deals)
    d = _ok(api.post("/api/v2/deals", json={"title": "Crown", "stage_id": proposed["id"], "value": 1200.5,
                                            "status": "won"}))
    assert d["pipeline_id"] == pipe["id"] and d["won_time"] and d["currency"] == "USD"
    assert "status must be one of" in _error(api.post("/api/v2/deals", json={"title": "x", "status": "closed"}), 400)
    assert "is not in pipeline" in _error(api.post("/api/v2/deals", json={"title": "x", "stage_id": proposed["id"],
                                                                          "pipeline_id": 1}), 400)
    assert "lost" in _error(api.post("/api/v2/deals", json={"title": "x", "lost_reason": "price"}), 400)
    _ok(api.delete(f"/api/v2/deals/{d['id']}"))
    assert _ok(api.get(f"/api/v2/deals/{d['id']}"))["status"] == "deleted"  # readable for 30 days (§6)
    assert [x["id"] for x in _ok(api.get("/api/v2/deals"))] == [default["id"]]
    assert [x["id"] for x in _ok(api.get("/api/v2/deals", params={"status": "deleted"}))] == [d["id"]]


# --- activities, notes, files ------------------------------------------------------------------------------


def test_activity_type_must_exist_and_person_comes_from_the_primary_participant(api):
    p = _person(api)
    assert "does not exist" in _error(api.post("/api/v2/activities", json={"subject": "x", "type": "xray"}), 400)
    custom = _ok(api.post("/api/v1/activityTypes", json={"name": "X-ray", "icon_key": "camera"}))
    a = _ok(api.post("/api/v2/activities", json={"subject": "Bitewings", "type": custom["key_string"],
                                                 "due_date": "2024-05-01", "due_time": "09:30", "duration": "00:45",
                                                 "participants": [{"person_id": p["id"], "primary": True}],
                                                 "done": True}))
    assert a["person_id"] == p["id"] and a["due_time"] == "09:30:00" and a["marked_as_done_time"]
    assert "due_date" in _error(api.post("/api/v2/activities", json={"subject": "x", "due_date": "05/01/2024"}), 400)


def test_notes_need_content_and_a_parent_and_may_be_backdated(api):
    p = _person(api)
    assert "required" in _error(api.post("/api/v1/notes", json={"content": "orphan"}), 400)
    assert "add_time" in _error(api.post("/api/v1/notes", json={"content": "x", "person_id": p["id"],
                                                               "add_time": "2020-01-02T03:04:05Z"}), 400)
    n = _ok(api.post("/api/v1/notes", json={"content": "<p>ok</p><script>x()</script>", "person_id": p["id"],
                                            "add_time": "2020-01-02 03:04:05", "user_id": 2}))
    assert n["add_time"] == "2020-01-02 03:04:05" and n["content"] == "<p>ok</p>" and n["user_id"] == 2
    assert n["person"]["name"] == "Ann Lee"
    assert _ok(api.delete(f"/api/v1/notes/{n['id']}")) is True
    assert api.get(f"/api/v1/notes/{n['id']}").status_code == 404


def test_files_upload_download_rename_delete(api):
    p = _person(api)
    f = _ok(api.post("/api/v1/files", files={"file": ("consent.pdf", b"%PDF-1.4\x00\xff", "application/pdf")},
                     data={"person_id": str(p["id"])}))
    assert f["file_name"] == "consent.pdf" and f["file_size"] == 10 and f["person_id"] == p["id"]
    assert api.get(f"/api/v1/files/{f['id']}/download").content == b"%PDF-1.4\x00\xff"
    assert _ok(api.put(f"/api/v1/files/{f['id']}", data={"name": "Consent form.pdf"}))["name"] == "Consent form.pdf"
    assert "required" in _error(api.post("/api/v1/files", files={"file": ("a.txt", b"a")}), 400)
    _ok(api.delete(f"/api/v1/files/{f['id']}"))
    assert api.get(f"/api/v1/files/{f['id']}").status_code == 404


def test_users_and_company(api, sb):
    users = _ok(api.get("/api/v1/users"))
    assert [u["email"] for u in users] == ["admin@brightsmiles-dental.example", "dr.lee@practice.example"]
    me = _ok(api.get("/api/v1/users/me"))
    assert me["is_you"] and me["company_domain"] == sb.options["company_domain"]
    assert str(me["company_id"]) == sb.location_id
    new = _ok(api.post("/api/v1/users", json={"email": "hyg@practice.example"}))
    assert _ok(api.put(f"/api/v1/users/{new['id']}", json={"active_flag": False}))["active_flag"] is False
    assert api.delete(f"/api/v1/users/{new['id']}").status_code == 404  # no DELETE for users


# --- pagination (§7) ---------------------------------------------------------------------------------------


def test_v2_cursor_pagination_past_one_page(api):
    made = [_person(api, name=f"P {i}")["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        r = api.get("/api/v2/persons", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        seen += [p["id"] for p in _ok(r)]
        cursor = r.json()["additional_data"]["next_cursor"]
        if cursor is None:
            break
    assert seen == made
    assert "limit" in _error(api.get("/api/v2/persons", params={"limit": 501}), 400)


def test_v1_start_limit_pagination(api):
    p = _person(api)
    for i in range(3):
        _ok(api.post("/api/v1/notes", json={"content": f"n{i}", "person_id": p["id"]}))
    first = api.get("/api/v1/notes", params={"start": 0, "limit": 2}).json()["additional_data"]["pagination"]
    assert first == {"start": 0, "limit": 2, "more_items_in_collection": True, "next_start": 2}
    last = api.get("/api/v1/notes", params={"start": 2, "limit": 2}).json()
    assert len(last["data"]) == 1 and last["additional_data"]["pagination"]["more_items_in_collection"] is False


# --- search (§3) -----------------------------------------------------------------------------------------------


def test_search_finds_a_custom_field_value_exactly(api):
    code = _field(api, "person", "Source ID", "varchar")["field_code"]
    a = _person(api, custom_fields={code: "P10"})
    _person(api, name="Other", custom_fields={code: "P100"})
    r = api.get("/api/v2/persons/search", params={"term": "p10", "fields": "custom_fields", "exact_match": "true"})
    items = _ok(r)["items"]
    assert [i["item"]["id"] for i in items] == [a["id"]]  # exact, case-insensitive
    loose = _ok(api.get("/api/v2/persons/search", params={"term": "P10", "fields": "custom_fields"}))["items"]
    assert len(loose) == 2
    assert "at least 2" in _error(api.get("/api/v2/persons/search", params={"term": "P"}), 400)


# --- rate limits (§2) ----------------------------------------------------------------------------------------------


def test_burst_window_429_with_vendor_headers_and_recovery():
    with sandbox.start("pipedrive", burst=3, time_scale=4.0) as box, httpx.Client(base_url=box.url) as c:
        h = {"x-api-token": box.token}
        codes = [c.get("/api/v1/users", headers=h) for _ in range(4)]
        assert [r.status_code for r in codes] == [200, 200, 200, 429]
        ok, refused = codes[0], codes[3]
        assert ok.headers["x-ratelimit-limit"] == "3" and ok.headers["x-ratelimit-remaining"] == "2"
        assert int(ok.headers["x-daily-ratelimit-token-remaining"]) == int(ok.headers["x-daily-ratelimit-token-limit"]) - 20
        body = refused.json()
        assert body["success"] is False and body["errorCode"] == 429 and body["error"]
        wait = float(refused.headers["Retry-After"])
        assert 0 < wait <= 2.0 / 4 + 0.01 and refused.headers["x-ratelimit-remaining"] == "0"
        import time
        time.sleep(wait + 0.02)
        assert c.get("/api/v1/users", headers=h).status_code == 200


def test_search_has_its_own_burst_of_ten():
    with sandbox.start("pipedrive") as box, httpx.Client(base_url=box.url) as c:
        h = {"x-api-token": box.token}
        codes = [c.get("/api/v2/persons/search", params={"term": "ab"}, headers=h).status_code for _ in range(11)]
        assert codes == [200] * 10 + [429]
        assert c.get("/api/v1/users", headers=h).status_code == 200  # other calls go on


def test_daily_token_budget_counts_each_operation_cost(sb):
    with sandbox.start("pipedrive", daily=12) as box:
        h = {"x-api-token": box.token}
        r = httpx.post(f"{box.url}/api/v2/persons", json={"name": "a"}, headers=h)          # 5 tokens
        assert r.headers["x-daily-ratelimit-token-remaining"] == "7"
        assert httpx.post(f"{box.url}/api/v2/persons", json={"name": "b"}, headers=h).status_code == 200
        refused = httpx.post(f"{box.url}/api/v2/persons", json={"name": "c"}, headers=h)     # 10 + 5 > 12
        assert refused.status_code == 429 and refused.headers["x-daily-ratelimit-token-remaining"] == "2"
        assert "Daily" in refused.json()["error"]
        assert httpx.get(f"{box.url}/api/v2/persons/1", headers=h).status_code == 200      # 1 token still fits
        assert box.state()["persons"][1]["name"] == "b"


def test_429_burst_fault_refuses_below_the_advertised_burst_and_abuse_is_blocked():
    with sandbox.start("pipedrive", burst=4, faults="429=burst") as box:
        h = {"x-api-token": box.token}
        codes = [httpx.get(f"{box.url}/api/v1/users", headers=h) for _ in range(3)]
        assert [r.status_code for r in codes] == [200, 200, 429]
        assert codes[0].headers["x-ratelimit-limit"] == "4"
    from crm_sandbox._server import run_in_thread
    from crm_sandbox.pipedrive import build
    built = build(burst=1, block_after=2)
    server, thread, port = run_in_thread(built.app)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            replies = [c.get("/api/v1/users", headers={"x-api-token": built.token}) for _ in range(4)]
    finally:
        server.should_exit = True
        thread.join(5)
    assert [r.status_code for r in replies] == [200, 429, 429, 403]
    assert "text/html" in replies[3].headers["content-type"]  # a block page, not JSON (§2.5)


def test_5xx_fault_uses_the_vendor_envelope():
    with sandbox.start("pipedrive", faults="5xx=1.0") as box:
        r = httpx.get(f"{box.url}/api/v1/users", headers={"x-api-token": box.token})
        assert r.status_code == 503 and r.json()["success"] is False


# --- state and reset ----------------------------------------------------------------------------------------------


def test_state_dump_and_reset_over_http(api, sb):
    _field(api, "person", "Source ID", "varchar")
    _person(api)
    state = httpx.get(f"{sb.url}/__sandbox/state", headers={"Authorization": f"Bearer {sb.token}"}).json()
    assert len(state["persons"]) == 1 and state["tokens_spent_today"] > 0
    assert any(f["is_custom_field"] for f in state["fields"]["person"])
    assert httpx.post(f"{sb.url}/__sandbox/reset", headers={"Authorization": f"Bearer {sb.token}"}).json() == {"reset": True}
    state = httpx.get(f"{sb.url}/__sandbox/state", headers={"Authorization": f"Bearer {sb.token}"}).json()
    assert state["persons"] == [] and not any(f["is_custom_field"] for f in state["fields"]["person"])
    assert len(state["users"]) >= 2 and state["pipelines"]  # users and pipelines survive a reset
