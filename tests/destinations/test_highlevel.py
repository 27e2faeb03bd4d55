"""The HighLevel adapter: HTTP outcomes -> typed errors, headers, custom-field mapping, and what
is particular to HighLevel against the running sandbox (the parent link, the contact's company,
associations, files, text-borne source ids). The round trips every adapter owes are in
test_conformance.py."""

from __future__ import annotations

import json

import httpx
import pytest

import crm_sandbox as sandbox
from toolkit.destinations import CustomField, DestinationConfig, Record, registry
from toolkit.destinations.highlevel import MAX_UPLOAD_BYTES, FileTooLargeError, HighLevel
from toolkit.destinations.highlevel._text import split_source, with_source
from toolkit.destinations.highlevel._values import from_property, to_property
from toolkit.errors import (AuthError, ConfigError, FatalError, MappingError, QuotaExhaustedError,
                            RateLimitedError, RetriableError)
from toolkit.destinations.ratelimit import RateLimiter

TOKEN = "pit-test-token-0000"
LOC = "TestLocation00000001"
BASE = "https://services.leadconnectorhq.com"


@pytest.fixture(autouse=True)
def token_env(monkeypatch):
    monkeypatch.setenv("HL_TEST_TOKEN", TOKEN)


def mock_adapter(handler, **options) -> HighLevel:
    cfg = DestinationConfig(BASE, "HL_TEST_TOKEN", {"location_id": LOC, **options})
    return HighLevel(cfg, httpx.Client(transport=httpx.MockTransport(handler)), limiter=RateLimiter())


FIELDS = [
    {"id": "FieldSourceId0000001", "name": "Source ID", "fieldKey": "contact.source_id", "dataType": "TEXT",
     "model": "contact", "picklistOptions": []},
    {"id": "FieldInsurance000002", "name": "Insurance", "fieldKey": "contact.insurance", "dataType": "SINGLE_OPTIONS",
     "model": "contact", "picklistOptions": ["Delta", "Cigna"]},
    {"id": "FieldConsent00000003", "name": "Consent", "fieldKey": "contact.consent", "dataType": "CHECKBOX",
     "model": "contact", "picklistOptions": ["Yes"]},
]


def test_registry_resolves_the_adapter():
    assert registry.get("highlevel") is HighLevel


def test_missing_location_is_config_error():
    with pytest.raises(ConfigError):
        HighLevel(DestinationConfig(BASE, "HL_TEST_TOKEN", {}), httpx.Client())


def test_sends_bearer_and_the_version_each_endpoint_needs():
    seen = []

    def handler(req: httpx.Request):
        seen.append(req)
        if req.url.path.startswith("/locations/"):
            return httpx.Response(200, json={"location": {"id": LOC, "companyId": "Agency1"}})
        if req.url.path == "/users/search":
            return httpx.Response(200, json={"users": [{"id": "U1", "email": "a@b.example", "name": "A B"}], "count": 1})
        return httpx.Response(404, json={"statusCode": 404, "message": "Event not found"})

    a = mock_adapter(handler)
    users = a.list_users()
    assert [(u.id, u.email, u.name) for u in users] == [("U1", "a@b.example", "A B")]
    search = seen[-1]
    assert search.headers["Authorization"] == f"Bearer {TOKEN}" and search.headers["Version"] == "2021-07-28"
    assert search.url.params["companyId"] == "Agency1" and search.url.params["locationId"] == LOC
    assert str(search.url).startswith(BASE)
    assert a.get("event", "Evt1") is None
    assert seen[-1].url.path == "/calendars/events/appointments/Evt1" and seen[-1].headers["Version"] == "2021-04-15"


def _status(status, body=None, headers=None):
    return lambda req: httpx.Response(status, json=body or {"statusCode": status, "message": "m"}, headers=headers)


def test_429_with_retry_after_is_rate_limited():
    a = mock_adapter(_status(429, headers={"Retry-After": "7"}))
    with pytest.raises(RateLimitedError) as ei:
        a.list_pipelines()
    assert ei.value.retry_after == 7.0 and ei.value.status == 429


def test_429_without_retry_after_uses_interval_header():
    a = mock_adapter(_status(429, headers={"X-RateLimit-Interval-Milliseconds": "10000"}))
    with pytest.raises(RateLimitedError) as ei:
        a.list_pipelines()
    assert ei.value.retry_after == 10.0


@pytest.mark.parametrize("status,error", [(500, RetriableError), (503, RetriableError), (401, AuthError),
                                          (403, AuthError), (422, FatalError), (400, FatalError)])
def test_status_maps_to_typed_error(status, error):
    with pytest.raises(error) as ei:
        mock_adapter(_status(status)).list_pipelines()
    assert ei.value.status == status


@pytest.mark.parametrize("exc", [httpx.ReadTimeout("slow"), httpx.ConnectError("refused"),
                                 httpx.RemoteProtocolError("dropped")])
def test_transport_failures_are_retriable(exc):
    def handler(req):
        raise exc
    with pytest.raises(RetriableError):
        mock_adapter(handler).list_pipelines()


def test_fatal_error_carries_vendor_message_but_never_the_token():
    body = {"statusCode": 422, "message": ["property foo should not exist"], "error": "Unprocessable Entity"}
    a = mock_adapter(_status(422, body))
    with pytest.raises(FatalError) as ei:
        a.list_pipelines()
    assert "property foo should not exist" in str(ei.value) and ei.value.body == body
    assert TOKEN not in str(ei.value) and TOKEN not in repr(a)


def test_get_missing_is_none_and_delete_missing_is_ok():
    a = mock_adapter(_status(404, {"statusCode": 404, "message": "Contact not found"}))
    assert a.get("contact", "nope") is None
    a.delete("contact", "nope")  # no error


def test_daily_quota_nearly_spent_stops_cleanly():
    calls = []

    def handler(req):
        calls.append(req)
        return httpx.Response(200, json={"pipelines": []}, headers={"X-RateLimit-Daily-Remaining": "3",
                                                                "X-RateLimit-Limit-Daily": "200000"})

    a = mock_adapter(handler)
    a.list_pipelines()
    with pytest.raises(QuotaExhaustedError) as ei:
        a.list_pipelines()
    assert ei.value.resume_at and len(calls) == 1  # the second call was never sent


def test_custom_values_map_between_keys_and_ids():
    sent = []
    contact = {"id": "Contact0000000000001", "firstName": "Ana", "dateOfBirth": "1990-01-02T00:00:00.000Z",
               "tags": ["vip"], "assignedTo": "User1",
               "customFields": [{"id": "FieldSourceId0000001", "value": "PT-9"},
                                {"id": "FieldConsent00000003", "value": ["Yes"]}]}

    def handler(req: httpx.Request):
        if req.url.path.endswith("/customFields"):
            return httpx.Response(200, json={"customFields": FIELDS})
        if req.method == "POST" and req.url.path == "/contacts/":
            sent.append(json.loads(req.content))
            return httpx.Response(201, json={"contact": {"id": "Contact0000000000001"}})
        return httpx.Response(200, json={"contact": contact})

    a = mock_adapter(handler)
    cid = a.create(Record("contact", fields={"firstName": "Ana"}, tags=["vip"], owner_id="User1",
                          custom={"source_id": "PT-9", "insurance": "Delta", "consent": True}))
    assert cid == "Contact0000000000001"
    body = sent[0]
    assert body["locationId"] == LOC and body["assignedTo"] == "User1" and body["tags"] == ["vip"]
    assert body["customFields"] == [{"id": "FieldSourceId0000001", "field_value": "PT-9"},
                                    {"id": "FieldInsurance000002", "field_value": "Delta"},
                                    {"id": "FieldConsent00000003", "field_value": ["Yes"]}]
    rec = a.get("contact", cid)
    assert rec.custom == {"source_id": "PT-9", "consent": True}
    assert rec.fields == {"firstName": "Ana", "dateOfBirth": "1990-01-02"} and rec.owner_id == "User1"


def test_clearing_sends_the_empty_form_and_removes_tags_through_the_tags_endpoint():
    """null is refused (422: field_value is string / string[] in every typed schema), so a None
    value goes out as "" or [] by type; tags come off with DELETE /contacts/{id}/tags."""
    fields = FIELDS + [{"id": "FieldVisits000000004", "name": "Visits", "fieldKey": "contact.visits",
                        "dataType": "NUMERICAL", "model": "contact", "picklistOptions": []},
                       {"id": "FieldLangs0000000005", "name": "Languages", "fieldKey": "contact.languages",
                        "dataType": "MULTIPLE_OPTIONS", "model": "contact", "picklistOptions": ["en", "es"]}]
    calls = []
    contact = {"id": "Contact0000000000001", "tags": ["vip"],
               "customFields": [{"id": "FieldSourceId0000001", "value": "PT-9"},
                                {"id": "FieldInsurance000002", "value": ""},
                                {"id": "FieldConsent00000003", "value": []},
                                {"id": "FieldLangs0000000005", "value": []},
                                {"id": "FieldVisits000000004", "value": None}]}

    def handler(req: httpx.Request):
        if req.url.path.endswith("/customFields"):
            return httpx.Response(200, json={"customFields": fields})
        calls.append((req.method, req.url.path, json.loads(req.content) if req.content else None))
        if req.method == "DELETE":
            return httpx.Response(200, json={"tags": ["vip"]})
        return httpx.Response(200, json={"contact": contact, "succeded": True})

    a = mock_adapter(handler)
    a.update(Record("contact", id="Contact0000000000001", tags=["vip"], remove_tags=["new-patient", "vip"],
                    custom={"insurance": None, "consent": None, "visits": None, "languages": None}))
    (put, path, body), (delete, tag_path, tag_body) = calls
    assert (put, path) == ("PUT", "/contacts/Contact0000000000001")
    assert body["customFields"] == [{"id": "FieldInsurance000002", "field_value": ""},
                                    {"id": "FieldConsent00000003", "field_value": []},
                                    {"id": "FieldVisits000000004", "field_value": ""},
                                    {"id": "FieldLangs0000000005", "field_value": []}]
    assert body["tags"] == ["vip"] and "null" not in json.dumps(body)
    # only what tags does not keep is removed
    assert (delete, tag_path, tag_body) == ("DELETE", "/contacts/Contact0000000000001/tags", {"tags": ["new-patient"]})

    # read-back: a cleared value ("" or []) is no value, an unticked checkbox False
    rec = a.get("contact", "Contact0000000000001")
    assert rec.custom == {"source_id": "PT-9", "consent": False}
    assert rec.custom.get("insurance") is None and rec.custom.get("languages") is None

    calls.clear()
    a.update(Record("contact", id="Contact0000000000001", fields={"city": "Tulsa"}))
    assert [c[0] for c in calls] == ["PUT"]  # nothing to remove: no tags call
    with pytest.raises(MappingError, match="no tags"):
        a.update(Record("opportunity", id="Opp1", remove_tags=["x"]))


def test_unknown_custom_key_is_a_mapping_error():
    a = mock_adapter(lambda req: httpx.Response(200, json={"customFields": FIELDS}))
    with pytest.raises(MappingError, match="provision"):
        a.create(Record("contact", custom={"nope": 1}))


# --- against the running sandbox ---------------------------------------------------------------


@pytest.fixture(scope="module")
def sb():
    # 100x faster windows: the limiter learns the 100 ms interval from the headers
    with sandbox.start("highlevel", time_scale=100) as handle:
        yield handle


@pytest.fixture
def hl(sb, monkeypatch):
    sb.reset()
    monkeypatch.setenv("HL_SANDBOX_TOKEN", sb.token)
    a = HighLevel(DestinationConfig(sb.url, "HL_SANDBOX_TOKEN", {"location_id": sb.location_id, "page_size": 4}),
                  limiter=RateLimiter())
    a.create_custom_field(CustomField("source_id", "Source ID", "text", "contact"))
    a.create_custom_field(CustomField("source_id", "Source ID", "text", "opportunity"))
    yield a
    a.close()


def test_sandbox_contact_round_trip(hl, sb):
    rec = Record("contact", fields={"firstName": "Lena", "lastName": "Ortiz", "email": "lena@example.com",
                                    "phone": "+15550001111", "dateOfBirth": "1979-12-31", "city": "Tulsa"},
                 custom={"source_id": "PMS-1"}, tags=["new-patient"], owner_id="SbxUserDrLeoMarquez2")
    cid = hl.create(rec)
    back = hl.get("contact", cid)
    assert back.fields == rec.fields and back.custom == rec.custom and back.tags == rec.tags
    assert back.owner_id == rec.owner_id
    hl.update(Record("contact", id=cid, fields={"city": "Norman"}))
    assert hl.get("contact", cid).fields["city"] == "Norman"
    assert hl.find_by_source_id("contact", "PMS-1") == cid
    assert hl.find_by_source_id("contact", "pms-1") is None  # exact, although the search is not
    hl.delete("contact", cid)
    assert hl.get("contact", cid) is None and sb.state()["contacts"] == []
    hl.delete("contact", cid)  # again: not an error


def test_sandbox_clears_custom_values_and_tags(hl, sb):
    for spec in (CustomField("insurance", "Insurance", "single_option", "contact", ["Delta", "Cigna"]),
                 CustomField("visits", "Visits", "number", "contact"),
                 CustomField("langs", "Languages", "multiple_options", "contact", ["en", "es"]),
                 CustomField("consent", "Consent", "checkbox", "contact"),
                 CustomField("note", "Note", "text", "opportunity")):
        hl.create_custom_field(spec)
    cid = hl.create(Record("contact", fields={"email": "clear@example.com"}, tags=["a", "b"],
                           custom={"source_id": "PC-1", "insurance": "Delta", "visits": 3, "langs": ["en"],
                                   "consent": True}))
    hl.update(Record("contact", id=cid, tags=["a"], remove_tags=["b"],
                     custom={"insurance": None, "visits": None, "langs": None, "consent": None}))
    back = hl.get("contact", cid)
    assert back.custom == {"source_id": "PC-1", "consent": False} and back.tags == ["a"]
    stored = sb.state()["contacts"][0]
    assert [cf["value"] for cf in stored["customFields"]] == ["PC-1"] and stored["tags"] == ["a"]
    hl.update(Record("contact", id=cid, remove_tags=["a"]))
    assert hl.get("contact", cid).tags == [] and sb.state()["contacts"][0]["tags"] == []

    pipe = hl.list_pipelines()[0]
    oid = hl.create(Record("opportunity", fields={"name": "O", "pipelineId": pipe.id}, links={"contactId": cid},
                           custom={"source_id": "PO-1", "note": "call"}))
    hl.update(Record("opportunity", id=oid, custom={"note": None}))
    assert hl.get("opportunity", oid).custom == {"source_id": "PO-1"}


def test_sandbox_vendor_errors_are_typed(hl, sb, monkeypatch):
    with pytest.raises(FatalError, match="assignedTo must be the id of a user"):
        hl.create(Record("contact", owner_id="NoSuchUser0000000000"))
    hl.create(Record("contact", fields={"email": "twice@example.com"}))
    with pytest.raises(FatalError, match="duplicated"):
        hl.create(Record("contact", fields={"email": "twice@example.com"}))
    monkeypatch.setenv("HL_BAD", "pit-wrong")
    bad = HighLevel(DestinationConfig(sb.url, "HL_BAD", {"location_id": sb.location_id}), limiter=RateLimiter())
    with pytest.raises(AuthError):
        bad.list_users()


def test_sandbox_opportunities(hl, sb):
    cid = hl.create(Record("contact", fields={"email": "opp@example.com"}))
    pipe = next(p for p in hl.list_pipelines() if p.name == "Recall")
    assert [s.name for s in pipe.stages][-1] == "Unmapped — Review Required"
    ids = [hl.create(Record("opportunity", fields={"name": f"Recall {i}", "pipelineId": pipe.id,
                                                   "pipelineStageId": pipe.stage("Due").id, "monetaryValue": 150},
                            custom={"source_id": f"R{i}"}, links={"contactId": cid}))
           for i in range(6)]
    back = hl.get("opportunity", ids[0])
    assert back.fields == {"name": "Recall 0", "pipelineId": pipe.id, "pipelineStageId": pipe.stage("Due").id,
                           "monetaryValue": 150, "status": "open"}
    assert back.links == {"contactId": cid} and back.custom == {"source_id": "R0"}
    hl.update(Record("opportunity", id=ids[0], fields={"status": "won", "pipelineStageId": pipe.stage("Completed").id}))
    assert hl.get("opportunity", ids[0]).fields["status"] == "won"
    assert [r.id for r in hl.iter_records("opportunity")] == ids  # 2 pages of 4
    assert hl.find_by_source_id("opportunity", "R4") == ids[4]
    hl.delete("opportunity", ids[4])
    assert hl.find_by_source_id("opportunity", "R4") is None and hl.get("opportunity", ids[4]) is None


def test_sandbox_faults_surface_as_retriable(monkeypatch):
    with sandbox.start("highlevel", faults="5xx=1.0") as sb:
        monkeypatch.setenv("HL_F", sb.token)
        a = HighLevel(DestinationConfig(sb.url, "HL_F", {"location_id": sb.location_id}), limiter=RateLimiter())
        with pytest.raises(RetriableError) as ei:
            a.list_users()
        assert ei.value.status == 503


def test_a_create_whose_response_is_lost_ends_as_one_record(tmp_path, monkeypatch):
    """``lost``: the sandbox carries out a write, then drops the connection before answering -
    creates, updates and relations alike. The engine's look-before-retry must find each record
    (also in an opportunity index built earlier) and never make a second one."""
    from toolkit import Ledger
    from toolkit.load.engine import Engine

    with sandbox.start("highlevel", faults="lost=1.0", time_scale=100) as sb:
        monkeypatch.setenv("HL_LOST", sb.token)
        hl = HighLevel(DestinationConfig(sb.url, "HL_LOST", {"location_id": sb.location_id}), limiter=RateLimiter())
        with pytest.raises(RetriableError, match="connection failed"):  # the fault as a client sees it
            hl.create(Record("contact", fields={"firstName": "Seen"}))
        assert len(sb.state()["contacts"]) == 1  # ... although the server acted
        pipe = hl.list_pipelines()[0]  # reads are never lost
    log = tmp_path / "requests.jsonl"
    with sandbox.start("highlevel", faults="lost=0.4", time_scale=100, request_log=str(log)) as sb:
        st = sb._state  # set up behind the fault
        for model in ("contact", "opportunity"):
            st.create_custom_field({"name": "Source ID", "dataType": "TEXT", "model": model,
                                    "fieldKey": f"{model}.source_id"})
        monkeypatch.setenv("HL_LOST", sb.token)
        hl = HighLevel(DestinationConfig(sb.url, "HL_LOST", {"location_id": sb.location_id}), limiter=RateLimiter())
        pipe = hl.list_pipelines()[0]
        assert hl.find_by_source_id("opportunity", "R0") is None  # the index is built now, empty
        assert hl.find_by_source_id("task", "T0") is None  # tasks indexed before: looked up under the contact
        with Ledger(tmp_path / "ledger.db") as ledger:
            engine = Engine(hl, ledger, progress=False, sleep=lambda s: None, max_attempts=10)
            made = {}
            for n in range(8):
                cid, _ = engine._create(Record("contact", fields={"firstName": f"Ana{n}"},
                                               custom={"source_id": f"P{n}"}), f"P{n}")
                oid, _ = engine._create(Record("opportunity", fields={"name": "Recall", "pipelineId": pipe.id},
                                               custom={"source_id": f"R{n}"}, links={"contactId": cid}), f"R{n}")
                tid, _ = engine._create(Record("task", fields={"title": "Call", "dueDate": "2025-01-01T10:00:00Z"},
                                               custom={"source_id": f"T{n}"}, links={"contactId": cid}), f"T{n}")
                made[n] = (cid, oid, tid)
        state = sb.state()
        assert sorted(c["id"] for c in state["contacts"]) == sorted(m[0] for m in made.values())
        assert sorted(o["id"] for o in state["opportunities"]) == sorted(m[1] for m in made.values())
        assert sorted(f"{t['contactId']}/{t['id']}" for t in state["tasks"]) == sorted(m[2] for m in made.values())
        hl.close()
    # a look-up after a lost create searches only the contact it was made for: one unfiltered
    # search of the location's opportunities (the index built up front), never another
    import json as _json
    searches = [r["query"] for r in map(_json.loads, log.read_text().splitlines())
                if r.get("path") == "/opportunities/search"]
    assert sum("contact_id=" not in q for q in searches) == 1 and len(searches) > 1, searches


def test_lost_fault_spares_reads_and_searches_and_drops_any_write():
    with sandbox.start("highlevel", faults="lost=1.0") as sb:
        with httpx.Client(base_url=sb.url, headers={"Authorization": f"Bearer {sb.token}", "Version": "2021-07-28"}) as c:
            assert c.get("/opportunities/pipelines", params={"locationId": sb.location_id}).status_code == 200
            r = c.post("/contacts/search", json={"locationId": sb.location_id, "pageLimit": 10, "page": 1})
            assert r.status_code == 200 and r.json()["contacts"] == []
            with pytest.raises(httpx.TransportError):
                c.post("/contacts/", json={"locationId": sb.location_id, "firstName": "X"})
            cid = sb.state()["contacts"][0]["id"]
            with pytest.raises(httpx.TransportError):
                c.put(f"/contacts/{cid}", json={"lastName": "Y"})
            with pytest.raises(httpx.TransportError):
                c.delete(f"/contacts/{cid}")
        assert sb.state()["contacts"] == []  # the delete was done, its answer lost


# --- pieces without a server -------------------------------------------------------------------


@pytest.mark.parametrize("text,sid,stored", [
    ("Call back", "PT-1", "Call back\n\nSource ID: PT-1"),
    (None, "PT-2", "Source ID: PT-2"),
    ("Line one\nLine two", None, "Line one\nLine two"),
])
def test_source_id_rides_as_the_last_line_of_text(text, sid, stored):
    assert with_source(text, sid) == stored
    assert split_source(stored) == (text, sid)
    assert split_source("mentions Source ID: X mid-text") == ("mentions Source ID: X mid-text", None)


def test_v2_values_use_option_keys_and_money_objects():
    plan = CustomField("plan", "Plan", "single_option", "company", options=["Delta Dental PPO", "Cigna"])
    assert to_property(plan, "Delta Dental PPO") == "delta_dental_ppo"
    assert from_property(plan, "delta_dental_ppo") == "Delta Dental PPO"
    assert to_property(plan, "Cigna", {"Cigna": "CIG-01"}) == "CIG-01"  # keys as the destination has them
    with pytest.raises(MappingError, match="Aetna"):
        to_property(plan, "Aetna")
    money = CustomField("fee", "Fee", "monetary", "company")
    assert to_property(money, "12.50") == {"currency": "default", "value": 12.5}
    assert from_property(money, {"currency": "default", "value": 12.5}) == 12.5
    box = CustomField("consent", "Consent", "checkbox", "company")
    assert to_property(box, True) == ["yes"] and from_property(box, ["yes"]) is True


def test_composite_ids_are_checked():
    a = mock_adapter(lambda req: httpx.Response(500))
    with pytest.raises(FatalError, match="contactId/taskId"):
        a.get("task", "NotComposite")
    with pytest.raises(FatalError, match="3 parts"):
        a.delete("file", "a/b")


def test_a_file_over_25_mb_is_refused_before_any_request(tmp_path):
    calls = []
    a = mock_adapter(lambda req: calls.append(req) or httpx.Response(500))
    big = tmp_path / "panoramic.tif"
    with open(big, "wb") as fh:  # sparse: no 25 MB actually written
        fh.truncate(MAX_UPLOAD_BYTES + 1)
    with pytest.raises(FileTooLargeError) as ei:
        a.create(Record("file", fields={"path": str(big)}, links={"contactId": "C1"}))
    assert isinstance(ei.value, FatalError) and ei.value.size == MAX_UPLOAD_BYTES + 1
    assert ei.value.limit == MAX_UPLOAD_BYTES == a.max_file_bytes and ei.value.path == str(big) and calls == []
    with pytest.raises(MappingError, match="cannot be read"):
        a.create(Record("file", fields={"path": str(tmp_path / "missing.pdf")}, links={"contactId": "C1"}))


def test_events_are_written_as_history_on_the_first_calendar():
    sent = []

    def handler(req: httpx.Request):
        sent.append(req)
        if req.url.path == "/calendars/":
            return httpx.Response(200, json={"calendars": [{"id": "Cal1", "name": "Doctor", "locationId": LOC}]})
        return httpx.Response(200, json={"id": "Evt1", "calendarId": "Cal1", "locationId": LOC, "contactId": "C1"})

    a = mock_adapter(handler)
    assert a.create(Record("event", fields={"startTime": "2022-01-10T15:00:00Z"}, links={"contactId": "C1"},
                           custom={"source_id": "APT-7"})) == "Evt1"
    body = json.loads(sent[-1].content)
    assert body["calendarId"] == "Cal1" and body["contactId"] == "C1" and body["locationId"] == LOC
    assert body["toNotify"] is False and body["ignoreFreeSlotValidation"] is True and body["ignoreDateRange"] is True
    assert body["description"] == "Source ID: APT-7" and sent[-1].headers["Version"] == "2021-04-15"


def test_unknown_objects_and_fields_are_mapping_errors():
    a = mock_adapter(lambda req: httpx.Response(500))
    with pytest.raises(MappingError, match="no object 'invoice'"):
        a.create(Record("invoice"))
    with pytest.raises(MappingError, match="no custom fields"):
        a.create_custom_field(CustomField("outcome", "Outcome", "text", "task"))
    assert [f.key for f in a.list_custom_fields("note")] == ["source_id"]  # no request needed
    with pytest.raises(MappingError, match="contactId"):
        a.create(Record("task", fields={"title": "T"}))


def test_undeletable_objects_are_declared():
    assert HighLevel.undeletable == {"pipeline", "custom_object_schema"}
    assert HighLevel.objects == ("company", "contact", "opportunity", "event", "task", "note", "file", "availability")


# --- particular to HighLevel, against the sandbox ------------------------------------------------


def test_company_parent_is_a_business_custom_field(hl, sb):
    parent = hl.create(Record("company", fields={"name": "Bright Smiles Group"}))
    child = hl.create(Record("company", fields={"name": "Bright Smiles Tulsa", "description": "satellite"},
                             links={"parentId": parent}))
    state = sb.state()
    field = next(f for f in state["customFieldsV2"] if f["fieldKey"] == "business.parent_company_id")
    assert field["dataType"] == "TEXT" and field["objectKey"] == "business"
    stored = next(b for b in state["businesses"] if b["id"] == child)
    assert stored["properties"] == {"parent_company_id": parent} and stored["description"] == "satellite"
    back = hl.get("company", child)
    assert back.links == {"parentId": parent} and back.fields["name"] == "Bright Smiles Tulsa"
    assert hl.get("company", parent).links == {}
    with pytest.raises(MappingError, match="own parent"):
        hl.update(Record("company", id=child, links={"parentId": child}))
    hl.update(Record("company", id=child, links={"parentId": ""}))  # unlink
    assert hl.get("company", child).links == {}
    assert len([f for f in sb.state()["customFieldsV2"] if f["fieldKey"] == "business.parent_company_id"]) == 1


def test_contact_links_to_its_company(hl, sb):
    biz = hl.create(Record("company", fields={"name": "Family Group"}))
    cid = hl.create(Record("contact", fields={"email": "fam@example.com"}, links={"businessId": biz}))
    assert next(c for c in sb.state()["contacts"] if c["id"] == cid)["businessId"] == biz
    assert hl.get("contact", cid).links == {"businessId": biz}
    hl.update(Record("contact", id=cid, links={"businessId": ""}))
    assert hl.get("contact", cid).links == {}


def test_custom_object_association_is_made_once(hl, sb):
    assert hl.ensure_custom_object("treatment_plan", "Treatment Plan", "Treatment Plans", "plan_name") == \
        "custom_objects.treatment_plan"
    obj = "custom_object:treatment_plan"
    assert hl.objects[-1] == obj and HighLevel.objects[-1] == "availability"  # per instance
    a, b = (hl.create(Record("contact", fields={"email": f"p{i}@example.com"})) for i in range(2))
    r1 = hl.create(Record(obj, fields={"plan_name": "Crowns"}, links={"contactId": a}))
    hl.create(Record(obj, fields={"plan_name": "Implant"}, links={"contactId": a}))
    state = sb.state()
    assert [x["key"] for x in state["associations"]] == ["treatment_plan_contact"]
    assert state["associations"][0]["firstObjectKey"] == "custom_objects.treatment_plan"
    assert len(state["relations"]) == 2
    hl.update(Record(obj, id=r1, links={"contactId": b}))
    assert hl.get(obj, r1).links == {"contactId": b} and len(sb.state()["relations"]) == 2
    with pytest.raises(MappingError, match="primary property"):
        hl.create(Record(obj, fields={"status": "x"}))
    fresh = HighLevel(hl.config, limiter=RateLimiter())  # another process: finds what exists
    assert fresh.ensure_custom_object("treatment_plan", "Treatment Plan", "Treatment Plans", "plan_name")
    assert fresh.get(obj, r1).links == {"contactId": b}
    assert len(sb.state()["objects"]) == 1


def test_files_are_uploaded_then_attached_by_a_note(hl, sb, tmp_path):
    cid = hl.create(Record("contact", fields={"email": "xray@example.com"}))
    path = tmp_path / "bitewing.png"
    path.write_bytes(b"\x89PNG fake image")
    fid = hl.create(Record("file", fields={"path": str(path), "name": "Bitewing 2023.png"}, links={"contactId": cid},
                           custom={"source_id": "DOC-9"}))
    state = sb.state()
    media = state["media"][0]
    note = state["notes"][0]
    assert fid == f"{cid}/{note['id']}/{media['id']}" and media["name"] == "DOC-9_Bitewing 2023.png"  # traceable by name
    assert note["body"] == f"Attached file: Bitewing 2023.png\n{media['url']}\n\nSource ID: DOC-9"
    assert httpx.get(media["url"]).content == b"\x89PNG fake image"
    hl.create(Record("note", fields={"body": "Allergic to latex"}, links={"contactId": cid}))
    assert [r.id for r in hl.iter_records("file")] == [fid]
    assert [r.fields["body"] for r in hl.iter_records("note")] == ["Allergic to latex"]
    assert hl.find_by_source_id("file", "DOC-9") == fid
    hl.delete("file", fid)
    assert sb.state()["media"] == [] and len(sb.state()["notes"]) == 1


def test_users_are_listed_page_by_page(sb, monkeypatch):
    monkeypatch.setenv("HL_SANDBOX_TOKEN", sb.token)
    a = HighLevel(DestinationConfig(sb.url, "HL_SANDBOX_TOKEN", {"location_id": sb.location_id, "page_size": 3}),
                  limiter=RateLimiter())
    assert {u.email for u in a.list_users()} == {u["email"] for u in sb.state()["users"]}
    assert len(sb.state()["users"]) > 3


def test_every_request_the_adapter_sends_validates_against_the_vendor_spec(tmp_path, monkeypatch):
    from crm_sandbox.highlevel.validation import validate_request_log

    log = tmp_path / "requests.jsonl"
    with sandbox.start("highlevel", time_scale=50, request_log=str(log)) as box:
        monkeypatch.setenv("HL_LOG_TOKEN", box.token)
        a = HighLevel(DestinationConfig(box.url, "HL_LOG_TOKEN", {"location_id": box.location_id, "page_size": 2}),
                      limiter=RateLimiter())
        a.list_users()
        for obj in ("company", "contact", "opportunity", "task", "note", "event", "file"):
            a.create_custom_field(CustomField("source_id", "Source ID", "text", obj))
        a.create_custom_field(CustomField("tier", "Tier", "single_option", "company", options=["Gold", "Silver"]))
        biz = a.create(Record("company", fields={"name": "G", "description": "d"}, custom={"tier": "Gold"}))
        cid = a.create(Record("contact", fields={"email": "v@example.com"}, tags=["x"], links={"businessId": biz}))
        pipe = a.list_pipelines()[0]
        a.create(Record("opportunity", fields={"name": "O", "pipelineId": pipe.id}, links={"contactId": cid}))
        a.create(Record("task", fields={"title": "T", "dueDate": "2024-01-01T00:00:00Z"}, links={"contactId": cid}))
        a.create(Record("note", fields={"body": "N"}, links={"contactId": cid}, custom={"source_id": "N1"}))
        a.create(Record("event", fields={"startTime": "2023-01-01T10:00:00Z"}, links={"contactId": cid}))
        (tmp_path / "f.txt").write_text("x")
        a.create(Record("file", fields={"path": str(tmp_path / "f.txt")}, links={"contactId": cid}))
        a.ensure_custom_object("claim", "Claim", "Claims", "claim_no")
        rid = a.create(Record("custom_object:claim", fields={"claim_no": "C1"}, links={"contactId": cid}))
        for obj in a.objects:
            list(a.iter_records(obj))
            a.find_by_source_id(obj, "nope")
        a.delete("custom_object:claim", rid)
        a.delete("contact", cid)
    lines = log.read_text().splitlines()
    failed = [(e["method"], e["path"]) for e in map(json.loads, lines) if e["status"] >= 400]
    # only the look-ups that find nothing before creating the schema and the association
    assert len(lines) > 40 and failed == [("GET", "/objects/custom_objects.claim"),
                                          ("GET", "/associations/key/claim_contact")]
    assert validate_request_log(str(log)) == []
    bad = tmp_path / "bad.jsonl"
    entry = json.loads(lines[-1]) | {"path": "/contacts/", "method": "POST", "body": {"firstName": 5}}
    bad.write_text(json.dumps(entry) + "\n")
    assert validate_request_log(str(bad)) and "locationId" in validate_request_log(str(bad))[0]

