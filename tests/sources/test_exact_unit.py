"""EXACT extractor pieces against httpx.MockTransport: tokens, pacing, error budget, paging, conversion."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from urllib.parse import parse_qs

import httpx
import pytest

from toolkit.errors import SourceError
from toolkit.sources.exact import ExactSource, ExtractionPaused, KeyBlocked
from toolkit.sources.exact._api import ExactApi
from toolkit.sources.exact._checkpoints import Checkpoints
from toolkit.sources.exact._pacing import ErrorBudget, Pacer
from toolkit.sources.exact._tokens import Credentials, TokenKeeper

ENV = {"EXACT_CLIENT_ID": "cid", "EXACT_CLIENT_SECRET": "secret", "EXACT_AUTH_CODE": "abc%21def"}


class Clock:
    def __init__(self, t=1_700_000_000.0):
        self.t = t

    def __call__(self):
        return self.t

    def sleep(self, s):
        self.slept.append(s) if hasattr(self, "slept") else setattr(self, "slept", [s])
        self.t += s


def token_server(log, *, status=200, body=None, delay=0.0):
    """A token endpoint issuing numbered tokens; ``log`` collects each form it was sent."""
    def handler(request: httpx.Request):
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        log.append(form)
        time.sleep(delay)
        if body is not None:
            return httpx.Response(status, json=body)
        n = len(log)
        return httpx.Response(200, json={"access_token": f"at{n}", "token_type": "bearer", "expires_in": "600",
                                         "refresh_token": f"rt{n}"})
    return handler


def keeper(tmp_path, handler, clock, env=ENV):
    return TokenKeeper(tmp_path, "https://exact.test", Credentials({"redirect_uri": "https://app/cb"}, env),
                       httpx.Client(transport=httpx.MockTransport(handler)), wall=clock)


# --- tokens ----------------------------------------------------------------------------------


def test_first_token_from_the_url_decoded_code_stored_owner_only(tmp_path):
    log = []
    k = keeper(tmp_path, token_server(log), Clock())
    assert k.access_token() == "at1"
    assert log[0]["grant_type"] == "authorization_code" and log[0]["code"] == "abc!def"
    path = tmp_path / "token.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["refresh_token"] == "rt1"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_refresh_only_after_570s_and_the_rotated_token_is_used_next(tmp_path):
    log, clock = [], Clock()
    k = keeper(tmp_path, token_server(log), clock)
    k.access_token()
    for t in (1, 300, 569.9):
        clock.t = 1_700_000_000.0 + t
        assert k.access_token() == "at1"
    assert len(log) == 1
    clock.t = 1_700_000_000.0 + 570
    assert k.access_token() == "at2"
    assert log[1] == {"grant_type": "refresh_token", "refresh_token": "rt1", "client_id": "cid",
                      "client_secret": "secret"}
    clock.t += 600
    assert k.access_token() == "at3" and log[2]["refresh_token"] == "rt2"  # never rt1 again


def test_a_failed_refresh_that_returns_a_new_refresh_token_keeps_it(tmp_path):
    log, clock = [], Clock()
    keeper(tmp_path, token_server(log), clock).access_token()
    clock.t += 600
    k = keeper(tmp_path, token_server([], status=429, body={"error": "rate_limited", "refresh_token": "rt-new"}), clock)
    with pytest.raises(SourceError, match="refused"):
        k.access_token()
    assert json.loads((tmp_path / "token.json").read_text())["refresh_token"] == "rt-new"


def test_old_refresh_token_error_says_what_to_do(tmp_path):
    clock = Clock()
    keeper(tmp_path, token_server([]), clock).access_token()
    clock.t += 600
    k = keeper(tmp_path, token_server([], status=401, body={"error": "unauthorized_client",
                                                            "error_description": "Old refresh token used."}), clock)
    with pytest.raises(SourceError, match="Old refresh token used.*authorise again.*EXACT_AUTH_CODE"):
        k.access_token()


def test_two_processes_needing_a_refresh_refresh_once(tmp_path):
    clock = Clock()
    keeper(tmp_path, token_server([]), clock).access_token()
    clock.t += 600
    log = []
    handler = token_server(log, delay=0.2)
    results = []
    threads = [threading.Thread(target=lambda: results.append(keeper(tmp_path, handler, clock).access_token()))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(log) == 1 and results == ["at1", "at1"]  # the second waited on the lock, then reused


def test_missing_credentials_name_the_variables(tmp_path):
    with pytest.raises(SourceError, match="MY_ID and MY_SECRET"):
        Credentials({"client_id_env": "MY_ID", "client_secret_env": "MY_SECRET"}, {})


# --- pacing ------------------------------------------------------------------------------------


def _headers(minutely_remaining, minutely_reset_s, daily_remaining=None, daily_reset_s=None):
    h = {"X-RateLimit-Minutely-Limit": "60", "X-RateLimit-Minutely-Remaining": str(minutely_remaining),
         "X-RateLimit-Minutely-Reset": str(int(minutely_reset_s * 1000))}
    if daily_remaining is not None:
        h |= {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": str(daily_remaining),
              "X-RateLimit-Reset": str(int(daily_reset_s * 1000))}
    return h


def test_pacer_waits_for_the_minutely_reset_in_milliseconds():
    clock = Clock()
    p = Pacer(wall=clock, sleep=clock.sleep)
    p.before_call()
    p.after_call(_headers(0, clock.t + 12.5, 4000, clock.t + 80000))
    p.before_call()
    assert 12.5 <= sum(clock.slept) < 12.6


def test_pacer_local_window_holds_60_calls_a_minute():
    clock = Clock()
    p = Pacer(wall=clock, sleep=clock.sleep)
    for _ in range(60):
        p.before_call()
    assert not hasattr(clock, "slept")
    p.before_call()
    assert 60 <= sum(clock.slept) < 60.1


def test_missing_daily_headers_are_unknown_not_zero():
    clock = Clock()
    p = Pacer(wall=clock, sleep=clock.sleep)
    p.after_call(_headers(10, clock.t + 30, 4000, clock.t + 1000))
    p.after_call(_headers(9, clock.t + 30))  # only minutely headers (as on a minutely 429)
    assert p.daily_remaining == 4000
    p.before_call()


def test_spent_day_pauses_with_the_reset_time_and_resumes_after_it():
    clock = Clock()
    p = Pacer(wall=clock, sleep=clock.sleep)
    p.after_call(_headers(50, clock.t + 30, 0, clock.t + 3600))
    with pytest.raises(ExtractionPaused) as err:
        p.before_call()
    assert err.value.resume_at.startswith("2023-11-14T23:") and "resume" in str(err.value)
    clock.t += 3601
    p.before_call()  # a new day: no pause


# --- API calls and the error budget ------------------------------------------------------------


def _api(tmp_path, handler, clock, store):
    def route(request):
        if request.url.path == "/api/oauth2/token":
            return token_server([])(request)
        return handler(request)
    client = httpx.Client(transport=httpx.MockTransport(route))
    tokens = TokenKeeper(tmp_path, "https://exact.test", Credentials({}, ENV), client, wall=clock)
    return ExactApi("https://exact.test", client, tokens, Pacer(wall=clock, sleep=clock.sleep),
                    ErrorBudget(store, wall=clock), sleep=clock.sleep)


def test_5xx_is_retried_and_not_counted(tmp_path):
    clock, calls = Clock(), []

    def handler(request):
        calls.append(1)
        return httpx.Response(503 if len(calls) < 3 else 200, json={"d": {"results": []}})
    with Checkpoints(tmp_path / "c.sqlite") as store:
        assert _api(tmp_path, handler, clock, store).get("https://exact.test/api/v1/1/crm/X", endpoint="crm/X") \
            == {"d": {"results": []}}
        assert len(calls) == 3 and store.errors_since("crm/X", 0) == []


def test_4xx_is_never_retried_and_the_budget_stops_before_exact_would_block(tmp_path):
    clock, calls = Clock(), []

    def handler(request):
        calls.append(1)
        return httpx.Response(400, json={"error": {"code": "", "message": {"lang": "", "value": "bad filter"}}})
    with Checkpoints(tmp_path / "c.sqlite") as store:
        api = _api(tmp_path, handler, clock, store)
        for n in range(5):
            with pytest.raises(SourceError, match="HTTP 400: bad filter"):
                api.get("https://exact.test/api/v1/1/crm/X", endpoint="crm/X")
            assert len(calls) == n + 1
        with pytest.raises(KeyBlocked, match="5 errors in the last hour"):
            api.get("https://exact.test/api/v1/1/crm/X", endpoint="crm/X")
        assert len(calls) == 5  # the sixth was never sent
        clock.t += 3601
        with pytest.raises(SourceError, match="bad filter"):
            api.get("https://exact.test/api/v1/1/crm/X", endpoint="crm/X")


def test_a_401_on_a_young_token_is_not_answered_by_refreshing(tmp_path):
    clock = Clock()
    with Checkpoints(tmp_path / "c.sqlite") as store:
        refused = {"error": {"message": {"value": "nope"}}}
        api = _api(tmp_path, lambda r: httpx.Response(401, json=refused), clock, store)
        with pytest.raises(SourceError, match="401"):
            api.get("https://exact.test/api/v1/1/crm/X", endpoint="crm/X")
        assert api.tokens.refreshes == 1  # the bootstrap only


# --- extraction against a tiny fake division --------------------------------------------------


def fake_division(pages_seen):
    """Contacts over two pages (the second only through the verbatim __next link), one deletion."""
    def handler(request: httpx.Request):
        path, url = request.url.path, str(request.url)
        if path == "/api/oauth2/token":
            return token_server([])(request)
        if path == "/api/v1/current/Me":
            return httpx.Response(200, json={"d": {"results": [{"CurrentDivision": 42}]}})
        pages_seen.append(url)
        h = _headers(50, time.time() + 60, 4000, time.time() + 86400)
        if path.endswith("sync/CRM/Contacts"):
            if "opaque-token-2" in url:
                rows = [{"ID": "c2", "FirstName": "Zoë", "BirthDate": "/Date(-86400000)/", "IsMainContact": True,
                         "FreeNumberField_01": 6.0, "Modified": "/Date(1710000000000)/", "Timestamp": 12}]
                return httpx.Response(200, headers=h, json={"d": {"results": rows}})
            if "$filter=Timestamp%20gt%201L" not in url:  # a delta: nothing changed
                return httpx.Response(200, headers=h, json={"d": {"results": []}})
            assert "$select=ID,Account" in url
            rows = [{"ID": "c1", "FirstName": "Ann", "BirthDate": "/Date(0)/", "IsMainContact": False,
                     "Modified": "/Date(1700000000000)/", "Timestamp": 11, "__metadata": {}}]
            nxt = "https://exact.test/api/v1/42/sync/CRM/Contacts?$skiptoken=opaque-token-2"
            return httpx.Response(200, headers=h, json={"d": {"results": rows, "__next": nxt}})
        if path.endswith("sync/Deleted"):
            rows = [{"EntityKey": "c1", "EntityType": 5, "DeletedDate": "/Date(1710000000000)/", "Timestamp": 13}]
            return httpx.Response(200, headers=h, json={"d": {"results": rows}})
        if "read/crm/" in path:
            return httpx.Response(404, headers=h, json={"error": {"message": {"value": "Resource not found"}}})
        return httpx.Response(200, headers=h, json={"d": {"results": []}})
    return handler


def test_extraction_follows_next_links_converts_values_and_applies_deletions(tmp_path):
    seen = []
    client = httpx.Client(transport=httpx.MockTransport(fake_division(seen)))
    src = ExactSource(state_dir=tmp_path, environ=ENV, client=client)
    snap = src.read("https://exact.test")
    contacts = snap.tables["contacts"]
    assert list(contacts["ID"]) == ["c2"]  # c1 was deleted after it was read
    row = contacts.iloc[0]
    assert (row["FirstName"], row["BirthDate"], row["IsMainContact"], row["FreeNumberField_01"]) == \
        ("Zoë", "1969-12-31", "true", "6")
    assert row["Modified"] == "2024-03-09T16:00:00" and snap.watermark == "2024-03-09T16:00:00"
    assert [d["key"] for d in snap.meta["deleted"]] == ["c1"]
    assert "https://exact.test/api/v1/42/sync/CRM/Contacts?$skiptoken=opaque-token-2" in seen
    assert snap.meta["automations"] == [] and "no API" in snap.meta["automations_note"]
    assert sorted(snap.meta["absent_endpoints"]) == ["read/crm/EmailTemplates", "read/crm/FreeFields",
                                                     "read/crm/Workflows"]
    assert stat.S_IMODE(os.stat(tmp_path / "exact.sqlite").st_mode) == 0o600
    # a second read soon after serves the stored copy: no call at all
    n = len(seen)
    again = ExactSource(state_dir=tmp_path, environ=ENV, client=client).read("https://exact.test")
    assert len(seen) == n and list(again.tables["contacts"]["ID"]) == ["c2"]
    # a delta asks for changes only, and never again for the endpoints that answered 404
    ExactSource(state_dir=tmp_path, environ=ENV, client=client, options={"refresh_after": 0}).read("https://exact.test")
    delta = seen[n:]
    assert not any("read/crm/" in u for u in delta)
    assert any("sync/CRM/Contacts" in u and "Timestamp%20gt%2012L" in u for u in delta)


def test_two_readers_of_one_workspace_do_not_fetch_the_same_pages(tmp_path):
    seen = []
    client = httpx.Client(transport=httpx.MockTransport(fake_division(seen)))
    snaps = []
    readers = [threading.Thread(target=lambda: snaps.append(
        ExactSource(state_dir=tmp_path, environ=ENV, client=client).read("https://exact.test"))) for _ in range(2)]
    for t in readers:
        t.start()
    for t in readers:
        t.join()
    assert len(snaps) == 2 and len(seen) == len(set(seen))  # the second waited, then served the stored copy
    assert [list(s.tables["contacts"]["ID"]) for s in snaps] == [["c2"], ["c2"]]


def test_location_must_be_a_url_and_state_dir_is_required(tmp_path):
    from toolkit.errors import ConfigError

    with pytest.raises(ConfigError, match="base URL"):
        ExactSource(state_dir=tmp_path).read(str(tmp_path))
    with pytest.raises(ConfigError, match="folder for its token"):
        ExactSource().read("https://exact.test")


# --- the workspace -------------------------------------------------------------------------------


def test_workspace_keeps_source_options_and_gives_the_source_a_private_state_folder(tmp_path):
    from toolkit.cli import main
    from toolkit.workspace import Workspace

    ws_dir = tmp_path / "ws"
    assert main(["init", str(ws_dir), "--source", "exact", "--export", "https://start.exactonline.co.uk",
                 "--destination", "highlevel", "--base-url", "http://127.0.0.1:1", "--location-id", "L1",
                 "--source-option", "client_id_env=PRACTICE_EXACT_ID",
                 "--source-option", "redirect_uri=https://app.example/cb"]) == 0
    ws = Workspace.load(ws_dir)
    assert ws.export == "https://start.exactonline.co.uk"
    assert ws.source_options == {"client_id_env": "PRACTICE_EXACT_ID", "redirect_uri": "https://app.example/cb"}
    src = ws.open_source()
    assert src.state_dir == ws_dir / "source_state" and src.options["client_id_env"] == "PRACTICE_EXACT_ID"
    ws.save()
    assert Workspace.load(ws_dir).source_options == ws.source_options
    with pytest.raises(SourceError, match="PRACTICE_EXACT_ID"):  # the configured NAME, never a value
        src.read(ws.export)
