"""The standard checks (toolkit.conformance) over every registered source and destination - the
built-ins, and a toy of each registered here the way a third party would, which the suite then
tests without being edited."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import crm_sandbox as sandbox
from toolkit.conformance import check_destination, check_source
from toolkit.destinations import Destination, DestinationConfig, Pipeline, Record, User
from toolkit.destinations import registry as destinations
from toolkit.shapes import CustomField, ObjectSchema, Snapshot
from toolkit.sources import Source
from toolkit.sources import registry as sources


class ToyCRM(Destination):
    """An in-memory CRM with people only, as a third party's first adapter might be."""

    name, objects, display_name, default_token_env = "toy-crm", ("person",), "Toy CRM", "TOY_TOKEN"

    def __init__(self, config, client=None):
        super().__init__(config, client)
        self.rows: dict[str, Record] = {}
        self.fields: list[CustomField] = []

    def list_users(self):
        return [User("u1", "owner@toy.example")]

    def list_pipelines(self):
        return [Pipeline("p1", "Treatment", [])]

    def list_custom_fields(self, object):
        return [f for f in self.fields if f.object == object]

    def create_custom_field(self, spec):
        self.fields.append(spec)
        return spec

    def delete_custom_field(self, spec):
        self.fields = [f for f in self.fields if f.key != spec.key]

    def create(self, record):
        rid = f"t{len(self.rows) + 1}"
        self.rows[rid] = Record(record.object, dict(record.fields), dict(record.custom), id=rid)
        return rid

    def update(self, record):
        self.rows[record.id].fields.update(record.fields)
        self.rows[record.id].custom.update(record.custom)

    def get(self, object, id):
        return self.rows.get(id)

    def delete(self, object, id):
        self.rows.pop(id, None)

    def find_by_source_id(self, object, source_id):
        return next((i for i, r in self.rows.items() if r.custom.get("source_id") == source_id), None)

    def iter_records(self, object):
        return iter(list(self.rows.values()))


class ToySource(Source):
    """A source of one CSV file of patients, as a third party's first reader might be."""

    name, display_name = "toy-export", "Toy export"

    def read(self, location):
        df = pd.read_csv(Path(location) / "people.csv", dtype="string")
        schema = ObjectSchema("people", "people.csv", "id", {c: "text" for c in df.columns})
        return Snapshot(source=self.name, tables={"people": df}, schema={"people": schema}, location=str(location))

    def generate(self, out, *, patients, seed):
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        rows = [{"id": f"T{i}", "name": f"Person {i}"} for i in range(patients)]
        pd.DataFrame(rows).to_csv(out / "people.csv", index=False)
        return out


def _register_toys() -> None:
    destinations.register("toy-crm", ToyCRM)
    sources.register("toy-export", ToySource)


# registered the way a third party would, so the names below include them; the registries
# are left as they were found once this module's tests are done (other tests list the built-ins)
_register_toys()
DESTINATION_NAMES, SOURCE_NAMES = destinations.names(), sources.names()
destinations.unregister("toy-crm")
sources.unregister("toy-export")


@pytest.fixture(autouse=True, scope="module")
def toys_registered():
    _register_toys()
    yield
    destinations.unregister("toy-crm")
    sources.unregister("toy-export")


@pytest.mark.parametrize("name", DESTINATION_NAMES)
def test_every_registered_destination_keeps_the_seams_promises(name, monkeypatch):
    cls = destinations.get(name)
    monkeypatch.setenv("CONFORMANCE_TOKEN", "toy")
    if name not in sandbox.names():
        check_destination(cls(DestinationConfig("http://toy.invalid", "CONFORMANCE_TOKEN", {})))
        return
    with sandbox.start(name, time_scale=50) as sb:
        monkeypatch.setenv("CONFORMANCE_TOKEN", sb.token)
        adapter = cls(DestinationConfig(sb.url, "CONFORMANCE_TOKEN", dict(sb.options)))
        check_destination(adapter)


@pytest.mark.parametrize("name", SOURCE_NAMES)
def test_every_registered_source_reads_what_it_generates(name, tmp_path):
    src = sources.get(name)()
    out = src.generate(tmp_path / "export", patients=20, seed=1)
    if src.sandbox is None:
        check_source(src, out)
        return
    # an API source reads from its own sandbox, signed in as a practice user would be
    with sandbox.start(src.sandbox, seed=str(out)) as sb:
        conn = src.connect_demo(sb)
        src.configure(state_dir=tmp_path / "state", options=conn.options)
        src.environ = conn.env
        check_source(src, conn.location)


def test_the_toys_are_tested_without_editing_the_suite():
    assert "toy-crm" in DESTINATION_NAMES and "toy-export" in SOURCE_NAMES
    assert "toy-crm" in destinations.names() and "toy-export" in sources.names()
