"""The HighLevel adapter: HTTP outcomes -> typed errors, headers, custom-field mapping, and a
full round trip against the running sandbox."""

from __future__ import annotations

import json

import httpx
import pytest

from toolkit import sandbox
from toolkit.destinations import CustomField, DestinationConfig, Record, registry
from toolkit.destinations.highlevel import TYPE_TO_HL, HighLevel
from toolkit.errors import (AuthError, ConfigError, FatalError, MappingError, QuotaExhaustedError,
                            RateLimitedError, RetriableError)
from toolkit.ratelimit import RateLimiter

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


def test_sends_bearer_and_version_headers():
    seen = []

    def handler(req: httpx.Request):
        seen.append(req)
        return httpx.Response(200, json={"users": [{"id": "U1", "email": "a@b.example", "name": "A B"}]})

    users = mock_adapter(handler).list_users()
    assert users[0].id == "U1" and users[0].email == "a@b.example"
    req = seen[0]
    assert req.headers["Authorization"] == f"Bearer {TOKEN}" and req.headers["Version"] == "2021-07-28"
    assert req.url.path == "/users/" and req.url.params["locationId"] == LOC
    assert str(req.url).startswith(BASE)


def _status(status, body=None, headers=None):
    return lambda req: httpx.Response(status, json=body or {"statusCode": status, "message": "m"}, headers=headers)


def test_429_with_retry_after_is_rate_limited():
    a = mock_adapter(_status(429, headers={"Retry-After": "7"}))
    with pytest.raises(RateLimitedError) as ei:
        a.list_users()
    assert ei.value.retry_after == 7.0 and ei.value.status == 429


def test_429_without_retry_after_uses_interval_header():
    a = mock_adapter(_status(429, headers={"X-RateLimit-Interval-Milliseconds": "10000"}))
    with pytest.raises(RateLimitedError) as ei:
        a.list_users()
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
        mock_adapter(handler).list_users()


def test_fatal_error_carries_vendor_message_but_never_the_token():
    body = {"statusCode": 422, "message": ["property foo should not exist"], "error": "Unprocessable Entity"}
    a = mock_adapter(_status(422, body))
    with pytest.raises(FatalError) as ei:
        a.list_users()
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
        return httpx.Response(200, json={"users": []}, headers={"X-RateLimit-Daily-Remaining": "3",
                                                                "X-RateLimit-Limit-Daily": "200000"})

    a = mock_adapter(handler)
    a.list_users()
    with pytest.raises(QuotaExhaustedError) as ei:
        a.list_users()
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


def test_sandbox_iter_records_past_one_page(hl, sb):
    made = {hl.create(Record("contact", fields={"email": f"c{i}@example.com"}, custom={"source_id": f"S{i}"}))
            for i in range(9)}
    got = list(hl.iter_records("contact"))
    assert {r.id for r in got} == made and len(got) == 9  # 3 pages of 4
    assert {r.custom["source_id"] for r in got} == {f"S{i}" for i in range(9)}


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


def test_sandbox_provisions_every_field_type(hl, sb):
    values = {"text": "hello", "large_text": "long " * 40, "number": 42, "monetary": 1250.5, "date": "2024-03-01",
              "datetime": "2024-03-01T09:30:00Z", "checkbox": True, "single_option": "Delta",
              "multiple_options": ["Delta", "Cigna"], "phone": "+15550002222", "email": "x@example.com"}
    assert set(values) == set(TYPE_TO_HL)
    for t in values:
        opts = ["Delta", "Cigna"] if "option" in t else []
        made = hl.create_custom_field(CustomField(f"f_{t}", f"F {t}", t, "contact", options=opts))
        assert made.id and made.key == f"f_{t}"
    hl._fields.clear()  # read the types back from the sandbox, not the cache
    listed = {f.key: f.type for f in hl.list_custom_fields("contact")}
    assert all(listed[f"f_{t}"] == t for t in values)
    cid = hl.create(Record("contact", custom={f"f_{t}": v for t, v in values.items()}))
    assert hl.get("contact", cid).custom == {f"f_{t}": v for t, v in values.items()}
    hl.delete_custom_field(CustomField("f_text", "F text", "text", "contact"))
    assert "f_text" not in {f.key for f in hl.list_custom_fields("contact")}


def test_sandbox_faults_surface_as_retriable(monkeypatch):
    with sandbox.start("highlevel", faults="5xx=1.0") as sb:
        monkeypatch.setenv("HL_F", sb.token)
        a = HighLevel(DestinationConfig(sb.url, "HL_F", {"location_id": sb.location_id}), limiter=RateLimiter())
        with pytest.raises(RetriableError) as ei:
            a.list_users()
        assert ei.value.status == 503


def test_sandbox_429_surfaces_as_rate_limited(monkeypatch):
    with sandbox.start("highlevel", burst=2) as sb:
        monkeypatch.setenv("HL_R", sb.token)
        # a limiter blind to the vendor's headers, so it cannot pace: the server must refuse
        blind = RateLimiter(max_requests=1000, safety=1.0, headers={k: "X-Not-Sent" for k in
                                                                    ("max", "remaining", "interval_ms",
                                                                     "daily_limit", "daily_remaining")})
        a = HighLevel(DestinationConfig(sb.url, "HL_R", {"location_id": sb.location_id}), limiter=blind)
        a.list_users()
        a.list_users()
        with pytest.raises(RateLimitedError) as ei:
            a.list_users()
        assert 0 < ei.value.retry_after <= 10
        assert blind.wait_reason is None and blind._blocked_until > 0  # it will hold off before the next call
