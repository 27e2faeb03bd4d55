"""The destinations the conformance suite (``test_conformance.py``) runs against.

Contract
--------
``DESTINATIONS`` maps a destination's registry name to a :class:`Entry`. Adding a CRM is one
entry: how to start its sandbox, how to build its adapter, and a dict of facts about it.

* ``sandbox_options``: keyword arguments for :func:`crm_sandbox.start` used for the shared,
  module-wide sandbox (run the rate windows fast with ``time_scale`` so pacing costs nothing).
* ``build(handle, token_env, *, client, options, pace)``: the adapter for a running sandbox.
  ``token_env`` names an environment variable already holding the token to use (the suite sets
  it, and sets it wrong for the auth test); ``client`` is an :class:`httpx.Client` the adapter
  must use (the suite watches responses through its event hooks); ``options`` are extra
  ``DestinationConfig.options``; ``pace=False`` asks for an adapter whose client-side limiter
  does not pace, so the sandbox's own 429 is what stops it.
* ``facts`` (all keys required unless marked optional):

  - ``roundtrip_object``: the object of the basic create/read/update/delete smoke test.
  - ``rate_limit_header``: a header the vendor sends on every response, 429s included.
  - ``samples``: object -> ``sample(bench, i) -> Sample`` for every object in the adapter's
    ``objects`` (the suite fails on an object without one). ``i`` makes records distinct.
    ``bench.need(object)`` creates a prerequisite record (say, the contact a deal links to)
    and returns its id; it is deleted again after the test.
  - ``prerequisites``: object -> ``make(bench, i) -> Record`` used by ``need``.
  - ``field_objects``: objects on which every custom field type is provisioned and round-tripped.
  - ``page_object`` and ``page_options``: an object to list past one page, and the adapter
    options that make a page small (``{"page_size": 3}``).
  - ``tiny_burst``: sandbox options for an account whose burst limit is a few requests,
    with windows short enough for a test (``{"burst": 3, "time_scale": 20}``).
  - ``bad_record`` and ``bad_message``: a record the vendor rejects, and a fragment of the
    vendor's own message the raised FatalError must carry.
  - ``write_only`` (optional): object -> field names that are written but not read back
    (a file's local path).
  - ``custom_object`` (optional): ``sample(bench, i, key) -> Sample`` for a record of a custom
    object ``key`` the suite creates with ``ensure_custom_object``; absent when the CRM has
    none (the suite then expects ensure_custom_object to raise FatalError).
  - ``field_values`` (optional): type -> value overriding the suite's default sample values.

Fixtures (below): ``bench`` yields a :class:`Bench` - it unpacks as ``adapter, sandbox, facts``
- on the destination's shared sandbox, emptied first; ``make_bench`` builds more (other adapter
options, an unpaced limiter, a wrong token, another sandbox); ``sandboxes(name)`` is the shared
sandbox; ``dest_facts`` the entry's facts. Tests asking for ``dest_name`` run once per entry,
tests asking for ``dest_object`` once per (entry, object its adapter lists).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import httpx
import pytest

import crm_sandbox as sandbox
from toolkit.destinations import Destination, DestinationConfig, Record, registry
from toolkit.destinations.ratelimit import RateLimiter

__all__ = ["Entry", "Sample", "Bench", "DESTINATIONS"]


@dataclass
class Sample:
    """A record to create, and the field changes an update then makes to it."""

    record: Record
    changes: dict[str, Any]


@dataclass
class Entry:
    sandbox_options: dict[str, Any]
    build: Callable[..., Destination]
    facts: dict[str, Any] = field(default_factory=dict)


# --- HighLevel ---------------------------------------------------------------------------------


def _highlevel_build(handle, token_env: str, *, client: httpx.Client, options: dict, pace: bool = True) -> Destination:
    # An unpaced limiter: it never learns the vendor's headers, so it never waits.
    blind = RateLimiter(max_requests=100_000, safety=1.0, headers={k: "X-Not-Sent" for k in (
        "max", "remaining", "interval_ms", "daily_limit", "daily_remaining")})
    cfg = DestinationConfig(handle.url, token_env, {**handle.options, **options})
    return registry.get("highlevel")(cfg, client, limiter=RateLimiter() if pace else blind)


def _hl_pipeline(bench, name: str = "Treatment"):
    return next(p for p in bench.adapter.list_pipelines() if p.name == name)


def _hl_calendar(bench) -> str:
    return bench.sandbox.state()["calendars"][0]["id"]


def _hl_file(bench, i: int) -> str:
    path = bench.tmp_path / f"consent-{i}.txt"
    path.write_text(f"signed consent form {i}\n")
    return str(path)


_DR_PATEL, _DR_MARQUEZ, _HYG = "SbxUserDrAnnaPatel01", "SbxUserDrLeoMarquez2", "SbxUserHygKimNguyen3"

HIGHLEVEL_FACTS: dict[str, Any] = {
    "roundtrip_object": "contact",
    "rate_limit_header": "X-RateLimit-Remaining",
    "prerequisites": {
        "contact": lambda b, i: Record("contact", fields={"firstName": "Pre", "email": f"pre{i}@example.com"}),
        "company": lambda b, i: Record("company", fields={"name": f"Parent Dental Group {i}"}),
    },
    "samples": {
        "company": lambda b, i: Sample(
            Record("company", fields={"name": f"Bright Smiles {i}", "city": "Tulsa", "phone": "+15550101000",
                                      "website": "https://brightsmiles.example"},
                   links={"parentId": b.need("company")}),
            {"city": "Norman", "description": "satellite office"}),
        "contact": lambda b, i: Sample(
            Record("contact", fields={"firstName": "Lena", "lastName": f"Ortiz{i}", "email": f"lena{i}@example.com",
                                      "phone": f"+1555000{i:04d}", "dateOfBirth": "1979-12-31", "city": "Tulsa",
                                      "dnd": False, "dndSettings": {"SMS": {"status": "active"}}},
                   tags=["new-patient", "recall"], owner_id=_DR_MARQUEZ, links={"businessId": b.need("company")}),
            {"city": "Norman", "dnd": True}),
        "opportunity": lambda b, i: Sample(
            Record("opportunity", fields={"name": f"Crown {i}", "pipelineId": _hl_pipeline(b).id,
                                          "pipelineStageId": _hl_pipeline(b).stage("Proposed").id,
                                          "monetaryValue": 1250.5, "status": "open"},
                   owner_id=_DR_PATEL, links={"contactId": b.need("contact")}),
            {"status": "won", "pipelineStageId": _hl_pipeline(b).stage("Completed").id}),
        "event": lambda b, i: Sample(
            Record("event", fields={"title": f"Hygiene visit {i}", "startTime": f"2023-03-{i + 1:02d}T15:00:00Z",
                                    "endTime": f"2023-03-{i + 1:02d}T16:00:00Z", "appointmentStatus": "showed",
                                    "description": "6-month recall"},
                   owner_id=_HYG, links={"contactId": b.need("contact"), "calendarId": _hl_calendar(b)}),
            {"appointmentStatus": "noshow", "title": "Hygiene visit (missed)"}),
        "task": lambda b, i: Sample(
            Record("task", fields={"title": f"Call about crown {i}", "body": "Discuss the estimate",
                                   "dueDate": "2024-05-01T15:00:00Z", "completed": False},
                   owner_id=_DR_PATEL, links={"contactId": b.need("contact")}),
            {"completed": True}),
        "note": lambda b, i: Sample(
            Record("note", fields={"body": f"Prefers morning appointments ({i})"}, owner_id=_HYG,
                   links={"contactId": b.need("contact")}),
            {"body": "Prefers afternoon appointments"}),
        "file": lambda b, i: Sample(
            Record("file", fields={"path": _hl_file(b, i), "name": f"consent-{i}.txt"},
                   links={"contactId": b.need("contact")}),
            {"name": f"consent-{i}-signed.txt"}),
        # a provider's hours on one weekday; rules carry no Source ID (without_source_id)
        "availability": lambda b, i: Sample(
            Record("availability", fields={"day": ("monday", "tuesday", "wednesday", "thursday")[i % 4],
                                           "from": "08:00", "to": "17:00"}, owner_id=_HYG),
            {"to": "16:30"}),
    },
    "custom_object": lambda b, i, key: Sample(
        Record(f"custom_object:{key}", fields={"carrier": f"Delta Dental {i}"}, owner_id=_DR_PATEL,
               links={"contactId": b.need("contact")}),
        {"carrier": "Cigna"}),
    "write_only": {"file": {"path"}},
    "field_objects": ("contact", "opportunity", "company"),
    "page_object": "contact",
    "page_options": {"page_size": 3},
    "tiny_burst": {"burst": 3, "time_scale": 20},
    "bad_record": Record("contact", fields={"firstName": "Bad", "additionalEmails": ["x@example.com"]}),
    "bad_message": "property additionalEmails should not exist",
}

#: registry name -> how to test it. Freshsales and Pipedrive are added by their adapters' authors.
DESTINATIONS: dict[str, Entry] = {
    "highlevel": Entry(sandbox_options={"time_scale": 50}, build=_highlevel_build, facts=HIGHLEVEL_FACTS),
}


# --- Pipedrive -----------------------------------------------------------------------------------


def _pipedrive_build(handle, token_env: str, *, client: httpx.Client, options: dict, pace: bool = True) -> Destination:
    from toolkit.destinations.pipedrive._api import Pacer

    blind = {k: "X-Not-Sent" for k in ("max", "remaining", "interval_ms", "daily_limit", "daily_remaining")}
    pacer = None if pace else Pacer("unpaced", general=RateLimiter(max_requests=100_000, safety=1.0, headers=blind),
                                    search=RateLimiter(max_requests=100_000, safety=1.0, headers=blind))
    cfg = DestinationConfig(handle.url, token_env, {**handle.options, **options})
    return registry.get("pipedrive")(cfg, client, pacer=pacer)


def _pd_stage(bench, name: str) -> tuple[str, str]:
    pipe = next(p for p in bench.adapter.list_pipelines() if p.name == "Pipeline")  # the default one
    return pipe.id, pipe.stage(name).id


def _pd_file(bench, i: int) -> str:
    path = bench.tmp_path / f"consent-{i}.pdf"
    path.write_bytes(b"%PDF-1.4 signed consent " + str(i).encode())
    return str(path)


PIPEDRIVE_FACTS: dict[str, Any] = {
    "roundtrip_object": "person",
    "rate_limit_header": "x-ratelimit-remaining",
    "prerequisites": {
        "person": lambda b, i: Record("person", fields={"name": f"Pre Patient {i}"}),
        "organization": lambda b, i: Record("organization", fields={"name": f"Dental Group {i}"}),
    },
    "samples": {
        "organization": lambda b, i: Sample(
            Record("organization", fields={"name": f"Bright Smiles {i}", "address": "100 Enamel Way, Springfield",
                                           "website": "https://brightsmiles.example"}, owner_id="1"),
            {"name": f"Bright Smiles North {i}"}),
        "person": lambda b, i: Sample(
            Record("person", fields={"name": f"Lena Ortiz {i}", "emails": f"lena{i}@example.com",
                                     "phones": f"+1555000{i:04d}"},
                   owner_id="1", links={"org_id": b.need("organization")}),
            {"name": f"Lena Ortiz-Park {i}", "phones": "+15550009999"}),
        "lead": lambda b, i: Sample(
            Record("lead", fields={"title": f"Implant consult {i}", "value": 3200.0, "currency": "USD",
                                   "expected_close_date": "2024-06-30"},
                   owner_id="1", links={"person_id": b.need("person")}),
            {"title": f"Implant consult {i} (follow-up)", "value": 2900.0}),
        "deal": lambda b, i: Sample(
            Record("deal", fields={"title": f"Crown {i}", "value": 1250.5, "currency": "USD", "status": "open",
                                   "pipeline_id": _pd_stage(b, "Qualified")[0], "stage_id": _pd_stage(b, "Qualified")[1]},
                   owner_id="1", links={"person_id": b.need("person")}),
            {"status": "won", "stage_id": _pd_stage(b, "Proposal Made")[1]}),
        "activity": lambda b, i: Sample(
            Record("activity", fields={"subject": f"Hygiene visit {i}", "type": "meeting", "due_date": "2023-03-01",
                                       "due_time": "15:00", "duration": 60, "done": True, "note": "6-month recall"},
                   owner_id="1", links={"person_id": b.need("person")}),
            {"subject": f"Hygiene visit {i} (missed)", "done": False, "note": "patient did not come"}),
        "note": lambda b, i: Sample(
            Record("note", fields={"content": f"Prefers morning appointments ({i})", "add_time": "2021-03-04T05:06:07"},
                   owner_id="1", links={"person_id": b.need("person")}),
            {"content": "Prefers afternoon appointments"}),
        "file": lambda b, i: Sample(
            Record("file", fields={"path": _pd_file(b, i), "name": f"consent-{i}.pdf"},
                   links={"person_id": b.need("person")}),
            {"name": f"consent-{i}-signed.pdf"}),
    },
    "write_only": {"file": {"path"}},
    "field_objects": ("person", "organization", "deal"),
    "page_object": "person",
    "page_options": {"page_size": 3},
    # a 0.4 s window: short for a test, long enough that a loaded machine still bursts past it
    "tiny_burst": {"burst": 3, "time_scale": 5},
    # §5 Leads: "person_id is required unless organization_id is specified"
    "bad_record": Record("lead", fields={"title": "A lead on its own"}),
    "bad_message": "A lead must be linked to a person or an organization",
}
DESTINATIONS["pipedrive"] = Entry(sandbox_options={"time_scale": 50}, build=_pipedrive_build, facts=PIPEDRIVE_FACTS)


# --- Freshsales ----------------------------------------------------------------------------------


def _freshsales_build(handle, token_env: str, *, client: httpx.Client, options: dict, pace: bool = True) -> Destination:
    from toolkit.destinations.freshsales._pacing import Pacer

    blind = {k: "X-Not-Sent" for k in ("max", "remaining", "interval_ms", "daily_limit", "daily_remaining")}
    pacer = None if pace else Pacer("unpaced", minute=RateLimiter(max_requests=100_000, safety=1.0, headers=blind),
                                    hour=RateLimiter(max_requests=100_000, safety=1.0, headers=blind))
    # the Suite layout: https://<bundle alias>/crm/sales/api/... (research freshsales.md §1)
    cfg = DestinationConfig(handle.url + "/crm/sales", token_env, {**handle.options, **options})
    return registry.get("freshsales")(cfg, client, pacer=pacer)


def _fs_stage(bench, stage: str, pipeline: str = "Treatment") -> str:
    return next(p for p in bench.adapter.list_pipelines() if p.name == pipeline).stage(stage).id


def _fs_file(bench, i: int) -> str:
    path = bench.tmp_path / f"consent-{i}.pdf"
    path.write_bytes(b"%PDF-1.4 signed consent " + str(i).encode())
    return str(path)


_FS_ADMIN, _FS_DENTIST, _FS_HYGIENIST = "16000000101", "16000000102", "16000000103"  # the sandbox's seed users

FRESHSALES_FACTS: dict[str, Any] = {
    "roundtrip_object": "contact",
    "rate_limit_header": "X-RateLimit-Remaining",
    "prerequisites": {
        "contact": lambda b, i: Record("contact", fields={"first_name": "Pre", "email": f"pre{i}@example.com"}),
        "sales_account": lambda b, i: Record("sales_account", fields={"name": f"Parent Dental Group {i}"}),
        "deal": lambda b, i: Record("deal", fields={"name": f"Pre case {i}"}),
    },
    "samples": {
        "sales_account": lambda b, i: Sample(
            Record("sales_account", fields={"name": f"Bright Smiles {i}", "city": "Tulsa", "phone": "+15550101000",
                                            "website": "https://brightsmiles.example"},
                   owner_id=_FS_ADMIN, links={"parent_sales_account_id": b.need("sales_account")}),
            {"city": "Norman", "name": f"Bright Smiles North {i}"}),
        "contact": lambda b, i: Sample(
            Record("contact", fields={"first_name": "Lena", "last_name": f"Ortiz{i}", "email": f"lena{i}@example.com",
                                      "mobile_number": f"+1555000{i:04d}", "city": "Tulsa", "zipcode": "74101"},
                   owner_id=_FS_DENTIST, links={"sales_account_id": b.need("sales_account")}),
            {"city": "Norman", "job_title": "Teacher"}),
        "lead": lambda b, i: Sample(  # a contact in the Lead lifecycle stage (research §3 "Leads")
            Record("lead", fields={"first_name": "Pro", "last_name": f"Spect{i}", "email": f"prospect{i}@example.com"},
                   owner_id=_FS_HYGIENIST),
            {"last_name": f"Spect-Park {i}"}),
        "deal": lambda b, i: Sample(
            Record("deal", fields={"name": f"Crown {i}", "amount": 1250.5, "expected_close": "2024-12-11",
                                   "deal_pipeline_id": next(p.id for p in b.adapter.list_pipelines() if p.name == "Treatment"),
                                   "deal_stage_id": _fs_stage(b, "Proposed")},
                   owner_id=_FS_DENTIST, links={"contacts_added_list": b.need("contact"),
                                                "sales_account_id": b.need("sales_account")}),
            {"deal_stage_id": _fs_stage(b, "Completed"), "amount": 1100.0}),
        "task": lambda b, i: Sample(
            Record("task", fields={"title": f"Insurance verification {i}", "due_date": "2024-05-01T15:00:00",
                                   "description": "Call the carrier", "targetable_type": "Contact", "status": 0},
                   owner_id=_FS_ADMIN, links={"targetable_id": b.need("contact")}),
            {"status": 1, "title": f"Insurance verified {i}"}),
        "appointment": lambda b, i: Sample(
            Record("appointment", fields={"title": f"Hygiene visit {i}", "from_date": f"2023-03-{i + 1:02d}T15:00:00",
                                          "end_date": f"2023-03-{i + 1:02d}T16:00:00", "location": "OP2",
                                          "description": "6-month recall", "targetable_type": "Contact"},
                   owner_id=_FS_HYGIENIST, links={"targetable_id": b.need("contact")}),
            {"title": f"Hygiene visit {i} (missed)", "location": "OP3"}),
        "note": lambda b, i: Sample(
            Record("note", fields={"description": f"Prefers morning appointments ({i})", "targetable_type": "Deal"},
                   links={"targetable_id": b.need("deal")}),
            {"description": "Prefers afternoon appointments"}),
        # files cannot be changed (or deleted) through the API: the update asks for nothing
        "file": lambda b, i: Sample(
            Record("file", fields={"path": _fs_file(b, i), "name": f"consent-{i}.pdf", "targetable_type": "Contact"},
                   links={"targetable_id": b.need("contact")}),
            {}),
    },
    "write_only": {"file": {"path"}},
    "field_objects": ("contact", "deal", "sales_account"),
    # timestamps are naive wall-clock time in the adapter's zone (the sandbox's account zone)
    "field_values": {"datetime": "2024-03-01T09:30:00"},
    "page_object": "contact",
    "page_options": {"page_size": 3},
    # 3 a minute, a minute lasting 0.1 s; the sandbox hands the adapter the scale in its options
    "tiny_burst": {"burst": 3, "time_scale": 600},
    "bad_record": Record("contact", fields={"first_name": "Bad", "favourite_colour": "teal"}),
    "bad_message": "invalid attribute(s): favourite_colour",
}
DESTINATIONS["freshsales"] = Entry(sandbox_options={"time_scale": 50}, build=_freshsales_build, facts=FRESHSALES_FACTS)


# --- fixtures the suite uses ---------------------------------------------------------------------


def pytest_generate_tests(metafunc):
    """``dest_name``: every destination; ``dest_object``: every (destination, object it lists)."""
    if "dest_object" in metafunc.fixturenames:
        pairs = [(n, o) for n in DESTINATIONS for o in registry.get(n).objects]
        metafunc.parametrize("dest_name,dest_object", pairs, ids=[f"{n}-{o}" for n, o in pairs])
    elif "dest_name" in metafunc.fixturenames:
        metafunc.parametrize("dest_name", list(DESTINATIONS))


@dataclass
class Bench:
    """One adapter on one sandbox, with what a test needs around it.

    Unpacks as ``adapter, sandbox, facts``. ``responses`` holds every HTTP response the adapter
    received (through its client's event hook); ``need`` creates prerequisite records, which
    :meth:`cleanup` deletes again.
    """

    adapter: Destination
    sandbox: Any
    facts: dict[str, Any]
    tmp_path: Any
    responses: list[httpx.Response]
    made: list[tuple[str, str]] = field(default_factory=list)

    def __iter__(self):
        return iter((self.adapter, self.sandbox, self.facts))

    def need(self, object: str) -> str:
        record = self.facts["prerequisites"][object](self, len(self.made))
        new_id = self.adapter.create(record)
        self.made.append((object, new_id))
        return new_id

    def cleanup(self) -> None:
        for object, id in reversed(self.made):
            self.adapter.delete(object, id)
        self.made.clear()


@pytest.fixture(scope="module")
def sandboxes():
    """name -> its running sandbox (started once per module, with the entry's options)."""
    running: dict[str, Any] = {}

    def get(name: str):
        if name not in running:
            running[name] = sandbox.start(name, **DESTINATIONS[name].sandbox_options)
        return running[name]

    yield get
    for handle in running.values():
        handle.stop()


@pytest.fixture
def make_bench(monkeypatch, tmp_path):
    """``make_bench(name, handle, options={}, pace=True, token=None)`` -> a :class:`Bench`."""
    benches: list[Bench] = []

    def make(name: str, handle, *, options: dict | None = None, pace: bool = True, token: str | None = None) -> Bench:
        env = f"CONFORMANCE_{name.upper()}_TOKEN"
        monkeypatch.setenv(env, token or handle.token)
        responses: list[httpx.Response] = []
        client = httpx.Client(timeout=30.0, event_hooks={"response": [responses.append]})
        adapter = DESTINATIONS[name].build(handle, env, client=client, options=options or {}, pace=pace)
        bench = Bench(adapter, handle, DESTINATIONS[name].facts, tmp_path, responses)
        benches.append(bench)
        return bench

    yield make
    for b in benches:
        b.adapter.close()


@pytest.fixture
def dest_facts(dest_name):
    """The facts of the destination under test."""
    return DESTINATIONS[dest_name].facts


@pytest.fixture
def bench(dest_name, sandboxes, make_bench):
    """A fresh adapter on the destination's shared sandbox, emptied first."""
    handle = sandboxes(dest_name)
    handle.reset()
    b = make_bench(dest_name, handle)
    yield b
    b.cleanup()

