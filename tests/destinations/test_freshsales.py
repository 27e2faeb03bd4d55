"""The Freshsales adapter: HTTP outcomes -> typed errors, auth header, pacing, every object's
round trip, custom fields of every type, bulk paths, and the demo end to end - with every
request it sends checked against the project's Freshsales schemas."""

from __future__ import annotations

import json

import httpx
import pytest

import crm_sandbox as sandbox
from toolkit.destinations import CustomField, DestinationConfig, Record, registry
from toolkit.destinations.freshsales import Freshsales
from toolkit.destinations.freshsales._pacing import HOURLY_HEADERS, Pacer
from toolkit.destinations.freshsales._records import FIELD_TYPE_CODES, TYPE_TO_FS
from toolkit.errors import AuthError, FatalError, MappingError, NotFoundError, RateLimitedError, RetriableError
from toolkit.destinations.ratelimit import RateLimiter
from crm_sandbox.freshsales import schemas

TOKEN = "fs-test-key-0000"
BASE = "https://acme.myfreshworks.com/crm/sales"
ADMIN, DENTIST, HYGIENIST = "16000000101", "16000000102", "16000000103"


@pytest.fixture(autouse=True)
def token_env(monkeypatch):
    monkeypatch.setenv("FS_TEST_TOKEN", TOKEN)


def fresh_pacer(**hour) -> Pacer:
    """Limiters of its own (not the process-wide ones), so tests do not pace each other."""
    return Pacer("test", minute=RateLimiter(max_requests=100_000, interval=60, daily_limit=None,
                                            headers={k: "X-Unsent" for k in HOURLY_HEADERS}),
                 hour=RateLimiter(**{"max_requests": 100_000, "interval": 3600, "daily_limit": None,
                                     "headers": HOURLY_HEADERS, **hour}))


def mock_adapter(handler, **options) -> Freshsales:
    cfg = DestinationConfig(BASE, "FS_TEST_TOKEN", options)
    return Freshsales(cfg, httpx.Client(transport=httpx.MockTransport(handler)), pacer=fresh_pacer())


def _status(status, body=None, headers=None):
    return lambda req: httpx.Response(status, json=body or {"errors": {"code": status, "message": ["m"]}},
                                      headers=headers)


# --- HTTP, errors, pacing (mock transport) -------------------------------------------------------

def test_registry_resolves_the_adapter():
    assert registry.get("freshsales") is Freshsales


def test_sends_the_documented_auth_header_under_the_bundle_path():
    seen = []

    def handler(req: httpx.Request):
        seen.append(req)
        return httpx.Response(200, json={"users": [{"id": 7, "email": "a@b.example", "display_name": "A B"}]})

    users = mock_adapter(handler).list_users()
    assert users[0].id == "7" and users[0].name == "A B"
    assert seen[0].headers["Authorization"] == f"Token token={TOKEN}"
    assert str(seen[0].url) == f"{BASE}/api/selector/owners"


def test_429_with_retry_after_is_rate_limited_and_holds_off():
    a = mock_adapter(_status(429, headers={"Retry-After": "7"}))
    with pytest.raises(RateLimitedError) as ei:
        a.list_users()
    assert ei.value.retry_after == 7.0 and ei.value.status == 429
    assert a.limiter.minute._blocked_until > 0


@pytest.mark.parametrize("status,error", [(500, RetriableError), (503, RetriableError), (401, AuthError),
                                          (403, AuthError), (404, NotFoundError), (400, FatalError),
                                          (422, FatalError)])
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


def test_fatal_error_carries_the_vendor_message_but_never_the_token():
    body = {"errors": {"code": 400, "message": ["contact: invalid attribute(s): foo"]}}
    a = mock_adapter(_status(400, body))
    with pytest.raises(FatalError) as ei:
        a.list_users()
    assert "invalid attribute(s): foo" in str(ei.value) and ei.value.body == body
    assert TOKEN not in str(ei.value) and TOKEN not in repr(a)


def test_pacer_learns_the_hourly_total_and_fits_the_engine():
    hour = RateLimiter(max_requests=1000, interval=3600, daily_limit=None, headers=HOURLY_HEADERS)
    p = Pacer("x", minute=RateLimiter(max_requests=400, interval=60, daily_limit=None), hour=hour)
    p.update({"X-RateLimit-Total": "5000", "X-RateLimit-Remaining": "12"})
    assert hour.max_requests == 5000 and hour.server_remaining == 12
    p.safety = 0.5
    assert p.minute.safety == p.hour.safety == 0.5 and not p.daily_exhausted()


def test_requests_sent_for_every_object_validate_against_the_schemas():
    """The adapter's bodies, through a mock that answers like the sandbox and checks each one."""
    problems, fields = [], [{"id": 1, "name": "cf_source_id", "label": "Source ID", "type": "text"}]

    def handler(req: httpx.Request):
        path = schemas.api_path(req.url.path)
        body = json.loads(req.content) if req.content and "json" in req.headers.get("content-type", "") else None
        errs = schemas.request_errors(req.method, path, list(req.url.params.multi_items()), body,
                                      content_type=req.headers.get("content-type", ""), raw=req.content)
        if errs:
            problems.append((req.method, path, errs))
        if path.startswith("/settings/"):
            return httpx.Response(200, json={"fields": fields})
        if path == "/selector/lifecycle_stages":
            return httpx.Response(200, json={"lifecycle_stages": [{"id": 1, "name": "Lead"}, {"id": 3, "name": "Customer"}]})
        root = {"documents": "document"}.get(path.split("/")[1], path.split("/")[1].rstrip("s"))
        return httpx.Response(201, json={root: {"id": 9, "targetable_type": "Contact", "targetable_id": 5}})

    a = mock_adapter(handler, time_zone="America/Chicago")
    sid = {"source_id": "X1"}
    a.create(Record("sales_account", fields={"name": "DSO"}, custom=sid, owner_id=ADMIN, links={"parent_sales_account_id": "4"}))
    a.create(Record("contact", fields={"first_name": "A", "email": "a@x.example"}, custom=sid, owner_id=ADMIN,
                    links={"sales_account_id": "4"}))
    a.create(Record("lead", fields={"first_name": "P"}, custom=sid))
    a.create(Record("deal", fields={"name": "Crown", "amount": 10.5, "deal_pipeline_id": "2", "deal_stage_id": "3"},
                    custom=sid, owner_id=ADMIN, links={"contacts_added_list": "5", "sales_account_id": "4"}))
    a.create(Record("task", fields={"title": "T", "due_date": "2025-01-02T00:00:00", "targetable_type": "Contact",
                                    "status": 0}, custom=sid, owner_id=ADMIN, links={"targetable_id": "5"}))
    a.create(Record("appointment", fields={"title": "E", "from_date": "2025-01-02T09:00:00", "end_date": "2025-01-02T09:30:00",
                                           "targetable_type": "Contact"}, custom=sid, owner_id=ADMIN, links={"targetable_id": "5"}))
    a.create(Record("note", fields={"description": "N", "targetable_type": "Contact"}, custom=sid, links={"targetable_id": "5"}))
    a.create(Record("file", fields={"content": b"%PDF", "name": "c.pdf", "targetable_type": "Contact"}, custom=sid,
                    links={"targetable_id": "5"}))
    assert problems == []


def test_records_that_cannot_be_written_are_mapping_errors():
    a = mock_adapter(lambda req: httpx.Response(200, json={"fields": []}))
    with pytest.raises(MappingError, match="tags"):
        a.payload(Record("contact", tags=["vip"]), create=False)
    with pytest.raises(MappingError, match="provision"):
        a.payload(Record("deal", custom={"nope": 1}), create=False)
    with pytest.raises(MappingError, match="no custom fields"):
        a.payload(Record("task", custom={"colour": "red"}), create=False)
    with pytest.raises(MappingError, match="no custom fields"):
        a.create_custom_field(CustomField("colour", "Colour", "text", "note"))


def test_field_type_codes_mirror_the_sandbox():
    assert FIELD_TYPE_CODES == schemas.FIELD_TYPE_CODES
    assert set(TYPE_TO_FS.values()) == set(schemas.CUSTOM_FIELD_TYPES)


# --- against the running sandbox -----------------------------------------------------------------

@pytest.fixture(scope="module")
def sb(tmp_path_factory):
    log = tmp_path_factory.mktemp("fs") / "requests.log"
    with sandbox.start("freshsales", time_scale=100, request_log=str(log)) as handle:
        handle.log_path = log
        yield handle
    # every request the adapter made in these tests matches the schemas, except the two that
    # tests send wrong on purpose (an unknown attribute; a note without the record it hangs off)
    bad = [(e["method"], e["path"], "; ".join(errs)) for e in map(json.loads, log.read_text().splitlines())
           if (errs := schemas.logged_request_errors(e))]
    assert [(m, p) for m, p, _ in bad] == [("POST", "/crm/sales/api/contacts"), ("POST", "/crm/sales/api/notes")], bad
    assert "favourite_colour" in bad[0][2] and "targetable_id" in bad[1][2]


@pytest.fixture
def fs(sb, monkeypatch):
    sb.reset()
    monkeypatch.setenv("FS_SANDBOX_TOKEN", sb.token)
    a = Freshsales(DestinationConfig(sb.url + "/crm/sales", "FS_SANDBOX_TOKEN", {**sb.options, "page_size": 3}),
                   pacer=fresh_pacer())
    a.poll_interval = 0.005
    for obj in ("contact", "sales_account", "deal"):
        a.create_custom_field(CustomField("source_id", "Source ID", "text", obj))
    yield a
    a.close()


def _round_trip(fs, rec: Record, change: dict) -> str:
    rid = fs.create(rec)
    back = fs.get(rec.object, rid)
    assert (back.fields, back.custom, back.owner_id, back.links) == (rec.fields, rec.custom, rec.owner_id, rec.links)
    fs.update(Record(rec.object, id=rid, fields=change, custom=rec.custom))
    assert {k: fs.get(rec.object, rid).fields.get(k) for k in change} == change
    assert fs.find_by_source_id(rec.object, rec.custom["source_id"]) == rid
    return rid


def test_every_object_round_trips_and_is_listed(fs, sb):
    acc = _round_trip(fs, Record("sales_account", fields={"name": "Bright Smiles DSO", "city": "Tulsa"},
                                 custom={"source_id": "PR1"}, owner_id=ADMIN), {"city": "Norman"})
    branch = _round_trip(fs, Record("sales_account", fields={"name": "Branch"}, custom={"source_id": "PR2"},
                                    links={"parent_sales_account_id": acc}), {"name": "Branch East"})
    cid = _round_trip(fs, Record("contact", fields={"first_name": "Lena", "last_name": "Ortiz", "email": "lena@example.com",
                                                    "mobile_number": "+15550001111", "zipcode": "74101"},
                                 custom={"source_id": "P1"}, owner_id=DENTIST, links={"sales_account_id": branch}),
                      {"city": "Tulsa"})
    lid = _round_trip(fs, Record("lead", fields={"first_name": "Pro", "email": "pro@example.com"},
                                 custom={"source_id": "P2"}, owner_id=HYGIENIST), {"last_name": "Spect"})
    pipe = next(p for p in fs.list_pipelines() if p.name == "Treatment")
    did = _round_trip(fs, Record("deal", fields={"name": "Crown", "amount": 1130.0, "expected_close": "2024-12-11",
                                                 "deal_pipeline_id": pipe.id, "deal_stage_id": pipe.stage("Accepted").id},
                                 custom={"source_id": "TP1"}, owner_id=DENTIST,
                                 links={"contacts_added_list": cid, "sales_account_id": branch}),
                      {"deal_stage_id": pipe.stage("Completed").id})
    tid = _round_trip(fs, Record("task", fields={"title": "6-Month Hygiene recall", "due_date": "2025-02-28T00:00:00",
                                                 "targetable_type": "Contact", "status": 0, "description": "Every 6 months"},
                                 custom={"source_id": "R1"}, owner_id=HYGIENIST, links={"targetable_id": cid}),
                      {"status": 1})
    aid = _round_trip(fs, Record("appointment", fields={"title": "D1110 (Completed)", "from_date": "2025-03-01T09:00:00",
                                                        "end_date": "2025-03-01T09:30:00", "targetable_type": "Contact",
                                                        "location": "OP2"},
                                 custom={"source_id": "A1"}, owner_id=HYGIENIST, links={"targetable_id": lid}),
                      {"location": "OP3"})
    nid = _round_trip(fs, Record("note", fields={"description": "Crown seated.\nNo pain.", "targetable_type": "Deal"},
                                 custom={"source_id": "N1"}, links={"targetable_id": did}),
                      {"description": "Crown seated. Follow up in 2 weeks."})
    assert fs.get("note", nid).custom == {"source_id": "N1"}  # the marker survives an update without it
    listed = {o: {r.id for r in fs.iter_records(o)} for o in fs.objects}
    assert listed == {"sales_account": {acc, branch}, "contact": {cid}, "lead": {lid}, "deal": {did}, "task": {tid},
                      "appointment": {aid}, "note": {nid}, "file": set()}
    for obj, rid in (("note", nid), ("appointment", aid), ("task", tid), ("deal", did), ("lead", lid), ("contact", cid),
                     ("sales_account", branch), ("sales_account", acc)):
        fs.delete(obj, rid)
        assert fs.get(obj, rid) is None
        fs.delete(obj, rid)  # again: not an error
    state = sb.state()
    assert all(state[m] == [] for m in ("contacts", "sales_accounts", "deals", "tasks", "appointments", "notes"))


def test_files_upload_and_read_back_but_cannot_be_deleted(fs, tmp_path):
    cid = fs.create(Record("contact", fields={"first_name": "A"}, custom={"source_id": "P1"}))
    path = tmp_path / "DOC0000001_consent_form.pdf"
    path.write_bytes(b"%PDF-1.4 consent")
    rec = Record("file", fields={"path": str(path), "name": "consent.pdf", "targetable_type": "Contact"},
                 custom={"source_id": "DOC1"}, links={"targetable_id": cid})
    fid = fs.create(rec)
    back = fs.get("file", fid)
    assert back.fields == {"name": "consent.pdf", "targetable_type": "Contact"} and back.custom == {"source_id": "DOC1"}
    assert back.links == {"targetable_id": cid} and [r.id for r in fs.iter_records("file")] == [fid]
    assert fs.find_by_source_id("file", "DOC1") == fid and "file" in fs.undeletable
    with pytest.raises(FatalError, match="cannot be deleted"):
        fs.delete("file", fid)
    fs.max_file_bytes = 4
    with pytest.raises(FatalError, match="over the 4 byte limit"):
        fs.create(rec)


def test_custom_fields_of_every_type(fs):
    values = {"text": "hello", "large_text": "long " * 40, "number": 42, "monetary": 1250.5, "date": "2024-03-01",
              "datetime": "2024-03-01T09:30:00", "checkbox": True, "single_option": "Delta",
              "multiple_options": ["Delta", "Cigna"], "phone": "+15550002222", "email": "x@example.com"}
    assert set(values) == set(TYPE_TO_FS)
    for t in values:
        opts = ["Delta", "Cigna"] if "option" in t else []
        made = fs.create_custom_field(CustomField(f"f_{t}", f"F {t}", t, "contact", options=opts))
        assert made.id and made.key == f"f_{t}"
    fs._fields.clear()  # read the types back from the sandbox, not the cache
    listed = {f.key: f for f in fs.list_custom_fields("lead")}
    assert {k: listed[f"f_{k}"].type for k in values} == {k: k for k in values}
    assert listed["f_single_option"].options == ["Delta", "Cigna"]
    cid = fs.create(Record("contact", custom={"source_id": "C1", **{f"f_{t}": v for t, v in values.items()}}))
    assert fs.get("contact", cid).custom == {"source_id": "C1", **{f"f_{t}": v for t, v in values.items()}}
    with pytest.raises(FatalError, match="not a choice"):
        fs.create(Record("contact", custom={"f_single_option": "Aetna"}))
    renamed = fs.create_custom_field(CustomField("plan_tier", "Tier of the plan", "text", "deal"))
    assert renamed.key == "plan_tier" and renamed.name == "Plan Tier"  # label follows the key: cf_plan_tier
    fs.delete_custom_field(CustomField("f_text", "F text", "text", "contact"))
    assert "f_text" not in {f.key for f in fs.list_custom_fields("contact")}


def test_owners_and_pick_lists_are_enforced(fs):
    with pytest.raises(FatalError, match="no user with id 42"):
        fs.create(Record("contact", owner_id="42"))
    pipe = next(p for p in fs.list_pipelines() if p.name == "Ortho")
    other = next(p for p in fs.list_pipelines() if p.name == "Perio")
    with pytest.raises(FatalError, match="does not belong"):
        fs.create(Record("deal", fields={"name": "x", "deal_pipeline_id": pipe.id, "deal_stage_id": other.stages[0].id}))
    with pytest.raises(FatalError, match="invalid attribute"):
        fs.create(Record("contact", fields={"favourite_colour": "teal"}))


def test_pagination_past_one_page(fs):
    made = [fs.create(Record("contact", fields={"first_name": f"C{i}"}, custom={"source_id": f"S{i}"})) for i in range(8)]
    got = list(fs.iter_records("contact"))
    assert [r.id for r in got] == made  # 3 pages of 3, oldest first
    assert [r.custom["source_id"] for r in got] == [f"S{i}" for i in range(8)]


def test_bulk_upsert_polls_the_job_and_reports_each_record(fs, sb):
    recs = [Record("contact", fields={"first_name": f"B{i}"}, custom={"source_id": f"B{i}"}) for i in range(5)]
    recs.append(Record("contact", fields={"first_name": "Bad"}, custom={"source_id": "B5"}, owner_id="42"))
    recs.append(Record("note", fields={"description": "no bulk for notes"}, custom={"source_id": "N9"}))
    out = fs.create_many(recs)
    assert all(isinstance(x, str) for x in out[:5]) and isinstance(out[5], FatalError) and "no user" in str(out[5])
    assert isinstance(out[6], FatalError)  # a note without its parent: created one by one, rejected by the server
    assert [fs.get("contact", i).custom["source_id"] for i in out[:5]] == [f"B{i}" for i in range(5)]
    again = fs.create_many(recs[:2])  # same source ids: the bulk upsert updates instead of duplicating
    assert again == out[:2] and len(sb.state()["contacts"]) == 5
    fs.destroy_many("contact", out[:5] + ["16000999999"])
    assert sb.state()["contacts"] == []


def test_bulk_create_against_the_sandbox_reads_back_what_was_written(fs, sb):
    """create_many over two batches of every bulk object, with custom values, owners and links:
    each record read back equals the one written, and a second call upserts instead of adding."""
    for spec in (CustomField("balance", "Balance", "monetary", "contact"),
                 CustomField("last_visit", "Last Visit", "date", "contact"),
                 CustomField("insurance", "Insurance", "single_option", "contact", options=["Delta", "Cigna"]),
                 CustomField("recall_due", "Recall Due", "checkbox", "contact"),
                 CustomField("procedure", "Procedure", "text", "deal")):
        fs.create_custom_field(spec)
    accounts = [Record("sales_account", fields={"name": f"Practice {i}", "city": "Tulsa"}, custom={"source_id": f"A{i}"},
                       owner_id=ADMIN) for i in range(3)]
    acc_ids = fs.create_many(accounts)
    assert all(isinstance(i, str) for i in acc_ids), acc_ids
    contacts = [Record("contact", fields={"first_name": f"Pat{i}", "last_name": "Bulk", "email": f"pat{i}@example.com",
                                          "zipcode": "74101"},
                       custom={"source_id": f"P{i}", "balance": 10.5 * i, "last_visit": "2024-03-01",
                               "insurance": "Delta" if i % 2 else "Cigna", "recall_due": i % 3 == 0},
                       owner_id=DENTIST if i % 2 else HYGIENIST, links={"sales_account_id": acc_ids[i % 3]})
                for i in range(130)]  # two bulk batches (100 + 30)
    leads = [Record("lead", fields={"first_name": f"Lead{i}", "email": f"lead{i}@example.com"},
                    custom={"source_id": f"L{i}"}, owner_id=HYGIENIST) for i in range(3)]
    out = fs.create_many(contacts + leads)
    assert all(isinstance(i, str) for i in out), [x for x in out if not isinstance(x, str)][:3]
    assert len(set(out)) == len(out)
    pipe = next(p for p in fs.list_pipelines() if p.name == "Treatment")
    deals = [Record("deal", fields={"name": f"Crown {i}", "amount": 1130.0, "expected_close": "2024-12-11",
                                    "deal_pipeline_id": pipe.id, "deal_stage_id": pipe.stage("Accepted").id},
                    custom={"source_id": f"D{i}", "procedure": "D2740"}, owner_id=DENTIST,
                    links={"contacts_added_list": out[i], "sales_account_id": acc_ids[0]}) for i in range(4)]
    deal_ids = fs.create_many(deals)
    assert all(isinstance(i, str) for i in deal_ids), deal_ids

    for rec, rid in zip(accounts + contacts + leads + deals, acc_ids + out + deal_ids):
        back = fs.get(rec.object, rid)
        assert back is not None, (rec.object, rid)
        assert (back.fields, back.custom, back.owner_id, back.links) == (rec.fields, rec.custom, rec.owner_id, rec.links), rec
        assert fs.find_by_source_id(rec.object, rec.custom["source_id"]) == rid
    state = sb.state()
    assert (len(state["contacts"]), len(state["sales_accounts"]), len(state["deals"])) == (133, 3, 4)
    assert {r.id for r in fs.iter_records("lead")} == set(out[130:])

    changed = [Record("contact", fields={**c.fields, "last_name": "Rebulk"}, custom=c.custom, owner_id=c.owner_id,
                      links=c.links) for c in contacts[:5]]
    assert fs.create_many(changed) == out[:5] and len(sb.state()["contacts"]) == 133
    assert fs.get("contact", out[0]).fields["last_name"] == "Rebulk"

def test_single_upsert_by_email(fs):
    first = fs.upsert(Record("contact", fields={"email": "u@example.com", "first_name": "U"}, custom={"source_id": "U1"}))
    second = fs.upsert(Record("contact", fields={"email": "u@example.com", "last_name": "V"}, custom={"source_id": "U1"}))
    assert first == second and fs.get("contact", first).fields["last_name"] == "V"


def test_429_surfaces_as_rate_limited(monkeypatch):
    with sandbox.start("freshsales", burst=2) as box:
        monkeypatch.setenv("FS_R", box.token)
        a = Freshsales(DestinationConfig(box.url, "FS_R", box.options), pacer=fresh_pacer())
        a.list_users(), a.list_users()
        with pytest.raises(RateLimitedError) as ei:
            a.list_users()
        assert 0 < ei.value.retry_after <= 60 and a.limiter.minute._blocked_until > 0


def test_a_read_in_a_listing_answered_429_is_asked_again_in_place(monkeypatch):
    # a listing of many pages is not read again from its first page: the one read waits and repeats
    with sandbox.start("freshsales", burst=2, time_scale=30) as box:
        monkeypatch.setenv("FS_R", box.token)
        a = Freshsales(DestinationConfig(box.url, "FS_R", box.options), pacer=fresh_pacer())
        # our pacer thinks it has room (it reads no minute headers here); the server's burst is 2
        pages = [list(a._pages("/selector/owners", "users")) for _ in range(3)]
        assert pages[2] == pages[0]  # the third was refused once, waited and asked again
        assert a.limiter.minute._blocked_until > 0
        with pytest.raises(RateLimitedError):  # a single call still says it was refused
            a.list_users(), a.list_users(), a.list_users()


# --- the template and the workspace ---------------------------------------------------------------

def test_template_plans_onto_freshsales_objects_and_seeded_pipelines(tmp_path):
    from toolkit.mapping import MappingSpec, build_plan
    from crm_sandbox.freshsales.state import load_seed
    from toolkit.sources import registry as sources
    from toolkit.workflow import template_path

    src = sources.get("dent-o-soft")()
    export = src.generate(tmp_path / "export", patients=20, seed=3)
    spec = MappingSpec.load(template_path("dent-o-soft", "freshsales"))
    spec.accept_proposals()
    plan = build_plan(src.read(export), spec, Freshsales.objects)
    assert {o.target for o in plan.objects} == {"contact", "lead", "deal", "task", "appointment", "note", "file"}
    assert {cf.object for cf in plan.custom_fields} <= {"contact", "lead", "deal", "task", "appointment", "note", "file"}
    assert not [cf for cf in plan.custom_fields if cf.object in ("task", "appointment", "note", "file")
                and cf.key != "source_id"]  # no custom fields where Freshsales has none
    patients = {o.target: {r.source_key for r in o.records} for o in plan.objects if o.source_object == "patients"}
    assert not patients["contact"] & patients["lead"]  # each patient routes one way
    seeded = {p["name"]: set(p["stages"]) for p in load_seed(None)["pipelines"]}
    assert all(stages <= seeded[name] for name, stages in plan.pipelines.items())


def test_freshsales_workspace_needs_a_base_url(tmp_path):
    from toolkit.errors import ConfigError
    from toolkit.workspace import init_workspace

    (tmp_path / "export").mkdir()
    with pytest.raises(ConfigError, match="--base-url"):
        init_workspace(tmp_path / "ws", source="dent-o-soft", export=tmp_path / "export", destination="freshsales")


# --- the demo, end to end ------------------------------------------------------------------------

@pytest.mark.e2e
def test_demo_into_freshsales_accounts_for_everything_and_speaks_the_schemas(tmp_path):
    from toolkit import demo

    log = tmp_path / "requests.log"
    status = demo.run(destination="freshsales", patients=20, seed=21, out=tmp_path / "out", request_log=str(log),
                      echo=lambda *_: None)
    assert status == 0
    summary = json.loads((tmp_path / "out" / "workspace" / "reports" / "reconcile.json").read_text())["summary"]
    assert summary["unaccounted"] == 0 and summary["created"] > 0
    entries = [json.loads(x) for x in log.read_text().splitlines()]
    bad = [(e["method"], e["path"], errs) for e in entries if (errs := schemas.logged_request_errors(e))]
    assert entries and bad == []
    state = json.loads((tmp_path / "out" / "sandbox_state.json").read_text())
    assert state["contacts"] and state["deals"] and state["tasks"] and state["appointments"] and state["notes"]
    users = {u["id"] for u in state["users"]}
    assert all(c["owner_id"] in users for c in state["contacts"])
    assert all(c["custom_field"]["cf_source_id"] for c in state["contacts"])
    # the estimate, written before anything moved, promised the calls the account saw, within a tenth
    estimated = json.loads((tmp_path / "out" / "workspace" / "reports" / "estimate.json").read_text())["calls"]
    assert abs(estimated - len(entries)) <= 0.10 * len(entries), (estimated, len(entries))
