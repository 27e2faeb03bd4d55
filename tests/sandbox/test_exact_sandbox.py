"""The EXACT sandbox behaves like Exact Online's REST API as ../shared/research/exact.md describes it."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

import crm_sandbox as sandbox
from toolkit.sources.exact.generator import generate

JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("exact-ds"), patients=60, seed=11)


@pytest.fixture
def sb(dataset, tmp_path):
    with sandbox.start("exact", seed=str(dataset), request_log=str(tmp_path / "log.jsonl")) as handle:
        handle.log = tmp_path / "log.jsonl"
        yield handle


def _code(sb, c) -> str:
    r = c.get("/api/oauth2/auth", params={"client_id": sb.options["client_id"], "response_type": "code",
                                          "redirect_uri": sb.options["redirect_uri"]})
    assert r.status_code == 302
    return parse_qs(urlsplit(r.headers["location"]).query)["code"][0]


def _exchange(sb, c, code) -> httpx.Response:
    return c.post("/api/oauth2/token", data={"grant_type": "authorization_code", "code": code,
                                             "redirect_uri": sb.options["redirect_uri"],
                                             "client_id": sb.options["client_id"], "client_secret": sb.token})


def _refresh(sb, c, rt) -> httpx.Response:
    return c.post("/api/oauth2/token", data={"grant_type": "refresh_token", "refresh_token": rt,
                                             "client_id": sb.options["client_id"], "client_secret": sb.token})


def _advance(sb, c, seconds):
    assert c.post("/__sandbox/advance", params={"seconds": seconds}, headers={"X-Sandbox-Token": sb.token}).status_code == 200


@pytest.fixture
def api(sb):
    with httpx.Client(base_url=sb.url) as c:
        tok = _exchange(sb, c, _code(sb, c)).json()
        c.headers.update({**JSON, "Authorization": f"Bearer {tok['access_token']}"})
        c.tokens = tok
        c.div = f"/api/v1/{sb.options['division']}"
        yield c


# --- OAuth -------------------------------------------------------------------------------------


def test_code_exchange_gives_a_600s_bearer_token_and_the_code_works_once(sb):
    with httpx.Client(base_url=sb.url) as c:
        code = _code(sb, c)
        assert "!" in code  # codes carry characters that arrive URL-encoded in the redirect
        r = _exchange(sb, c, code)
        body = r.json()
        assert r.status_code == 200 and body["token_type"] == "bearer" and body["expires_in"] == "600"
        assert body["access_token"] and body["refresh_token"]
        again = _exchange(sb, c, code)
        assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_code_expires_after_three_minutes(sb):
    with httpx.Client(base_url=sb.url) as c:
        code = _code(sb, c)
        _advance(sb, c, 181)
        assert _exchange(sb, c, code).json()["error"] == "invalid_grant"


def test_refresh_rotates_and_an_old_refresh_token_is_rejected(sb, api):
    early = _refresh(sb, api, api.tokens["refresh_token"])
    assert early.status_code == 400 and "too early" in early.json()["error_description"]
    _advance(sb, api, 570)  # the 570 s rule: now allowed, and the early attempt did not spend the token
    r = _refresh(sb, api, api.tokens["refresh_token"])
    assert r.status_code == 200
    new = r.json()
    assert new["refresh_token"] != api.tokens["refresh_token"]
    _advance(sb, api, 570)
    old = _refresh(sb, api, api.tokens["refresh_token"])
    assert old.status_code == 401
    assert old.json() == {"error": "unauthorized_client", "error_description": "Old refresh token used."}
    assert _refresh(sb, api, new["refresh_token"]).status_code == 200


def test_access_token_expires_after_600s(sb, api):
    assert api.get(f"{api.div}/users/Users").status_code == 200
    _advance(sb, api, 600)
    r = api.get(f"{api.div}/users/Users")
    assert r.status_code == 401 and "expired" in r.json()["error"]["message"]["value"]


# --- OData and paging --------------------------------------------------------------------------


def test_regular_endpoint_pages_60_with_next_link_followed_verbatim(sb, api, dataset):
    r = api.get(f"{api.div}/crm/Contacts", params={"$select": "ID,FirstName"})
    d = r.json()["d"]
    assert len(d["results"]) == 60 and "$skiptoken=guid" in d["__next"]
    ids = [x["ID"] for x in d["results"]]
    while "__next" in d:
        d = api.get(d["__next"]).json()["d"]
        ids += [x["ID"] for x in d["results"]]
    expected = json.loads((dataset / "dataset" / "Contacts.json").read_text())
    assert sorted(ids) == sorted(c["ID"] for c in expected) and len(set(ids)) == len(ids)
    assert set(d["results"][0]) == {"ID", "FirstName", "__metadata"}


def test_sync_endpoint_pages_1000_by_timestamp(tmp_path):
    big = generate(tmp_path / "big", patients=1000, seed=5)
    with sandbox.start("exact", seed=str(big)) as sb, httpx.Client(base_url=sb.url) as c:
        tok = _exchange(sb, c, _code(sb, c)).json()
        h = {**JSON, "Authorization": f"Bearer {tok['access_token']}"}
        url = f"/api/v1/{sb.options['division']}/sync/CRM/Contacts"
        d = c.get(url, headers=h, params={"$select": "ID", "$filter": "Timestamp gt 1L"}).json()["d"]
        assert len(d["results"]) == 1000 and d["__next"].endswith("L")
        stamps = [x["Timestamp"] for x in d["results"]]
        assert stamps == sorted(stamps)
        rest = c.get(d["__next"], headers=h).json()["d"]
        assert 0 < len(rest["results"]) < 1000 and "__next" not in rest
        assert rest["results"][0]["Timestamp"] > stamps[-1]


@pytest.mark.parametrize("params,needle", [
    ({}, "$select is required"),
    ({"$select": "*"}, "$select=* is not allowed"),
    ({"$select": "ID,NoSuchField"}, "unknown properties"),
    ({"$select": "ID", "$filter": "Timestamp gt"}, "cannot parse"),
])
def test_sync_endpoint_refuses_bad_queries_with_400(sb, api, params, needle):
    r = api.get(f"{api.div}/sync/CRM/Accounts", params=params)
    assert r.status_code == 400 and needle in r.json()["error"]["message"]["value"]


def test_filters_on_modified_and_accept_header(sb, api):
    r = api.get(f"{api.div}/crm/Opportunities", params={"$filter": "Modified gt datetime'2099-01-01T00:00'"})
    assert r.status_code == 200 and r.json()["d"]["results"] == []
    r = api.get(f"{api.div}/crm/Opportunities", headers={"Accept": "application/xml"})
    assert r.status_code == 406


# --- rate limits ---------------------------------------------------------------------------------


def test_rate_headers_use_exacts_real_names_and_millisecond_resets(sb, api):
    r = api.get(f"{api.div}/users/Users")
    h = r.headers
    assert h["X-RateLimit-Minutely-Limit"] == "60" and h["X-RateLimit-Limit"] == "5000"
    assert int(h["X-RateLimit-Minutely-Remaining"]) == 59 and int(h["X-RateLimit-Remaining"]) == 4999
    now_ms = time.time() * 1000
    assert now_ms < int(h["X-RateLimit-Minutely-Reset"]) <= now_ms + 61_000
    assert int(h["X-RateLimit-Reset"]) > now_ms + 86_000_000
    assert "X-RateLimit-Daily-Remaining" not in h
    me = api.get("/api/v1/current/Me")  # no division: not counted, no headers
    assert me.json()["d"]["results"][0]["CurrentDivision"] == sb.options["division"]
    assert "X-RateLimit-Remaining" not in me.headers
    assert api.get(f"{api.div}/users/Users").headers["X-RateLimit-Remaining"] == "4998"


def test_minutely_429_carries_only_minutely_headers(dataset):
    with sandbox.start("exact", seed=str(dataset), burst=3) as sb, httpx.Client(base_url=sb.url) as c:
        tok = _exchange(sb, c, _code(sb, c)).json()
        h = {**JSON, "Authorization": f"Bearer {tok['access_token']}"}
        url = f"/api/v1/{sb.options['division']}/users/Users"
        assert [c.get(url, headers=h).status_code for _ in range(3)] == [200, 200, 200]
        r = c.get(url, headers=h)
        assert r.status_code == 429
        assert r.headers["X-RateLimit-Minutely-Remaining"] == "0"
        assert "X-RateLimit-Remaining" not in r.headers and "X-RateLimit-Reset" not in r.headers


def test_daily_limit_429_then_next_day(dataset):
    with sandbox.start("exact", seed=str(dataset), daily=2) as sb, httpx.Client(base_url=sb.url) as c:
        tok = _exchange(sb, c, _code(sb, c)).json()
        h = {**JSON, "Authorization": f"Bearer {tok['access_token']}"}
        url = f"/api/v1/{sb.options['division']}/users/Users"
        c.get(url, headers=h), c.get(url, headers=h)
        r = c.get(url, headers=h)
        assert r.status_code == 429 and r.headers["X-RateLimit-Remaining"] == "0"
        _advance(sb, c, 86_400)
        tok = _refresh(sb, c, tok["refresh_token"]).json()
        r = c.get(url, headers={**JSON, "Authorization": f"Bearer {tok['access_token']}"})
        assert r.status_code == 200


# --- the error budget ----------------------------------------------------------------------------


def test_more_than_10_errors_on_an_endpoint_block_the_key_for_an_hour(sb, api):
    for _ in range(10):
        assert api.get(f"{api.div}/crm/NoSuchThing").status_code == 404
    assert api.get(f"{api.div}/users/Users").status_code == 200  # 10 is still within the budget
    assert api.get(f"{api.div}/crm/NoSuchThing").status_code == 404  # the 11th
    blocked = api.get(f"{api.div}/users/Users")
    assert blocked.status_code == 403 and "blocked" in blocked.json()["error"]["message"]["value"]
    _advance(sb, api, 3600)
    tok = _refresh(sb, api, api.tokens["refresh_token"]).json()
    r = api.get(f"{api.div}/users/Users", headers={"Authorization": f"Bearer {tok['access_token']}"})
    assert r.status_code == 200


def test_deleting_a_record_reports_it_on_sync_deleted(sb, api):
    contact = api.get(f"{api.div}/crm/Contacts", params={"$select": "ID"}).json()["d"]["results"][0]["ID"]
    before = api.get(f"{api.div}/sync/Deleted", params={"$select": "EntityKey,EntityType",
                                                         "$filter": "Timestamp gt 1L"}).json()["d"]["results"]
    mark = max(x["Timestamp"] for x in before)
    assert api.delete(f"/__sandbox/records/Contacts/{contact}", headers={"X-Sandbox-Token": sb.token}).status_code == 200
    after = api.get(f"{api.div}/sync/Deleted", params={"$select": "EntityKey,EntityType",
                                                        "$filter": f"Timestamp gt {mark}L"}).json()["d"]["results"]
    assert [(x["EntityKey"], x["EntityType"]) for x in after] == [(contact, 5)]


def test_request_log_keeps_no_secret(sb, api):
    _advance(sb, api, 570)
    fresh = _refresh(sb, api, api.tokens["refresh_token"]).json()
    text = sb.log.read_text()
    for secret in (sb.token, api.tokens["refresh_token"], api.tokens["access_token"], fresh["refresh_token"]):
        assert secret not in text
    grants = [json.loads(x)["body"] for x in text.splitlines() if '"/api/oauth2/token"' in x]
    assert [g["grant_type"] for g in grants] == ["authorization_code", "refresh_token"]
    assert all(g["client_secret"] == "***" for g in grants)
