"""Reconcile reads HighLevel back in bulk and finds the same as reading it object by object.

HighLevel lists notes (and so file attachments) and a custom object record's contact only per
contact or per record. The bulk read-back asks each contact once for its notes and once for its
relations, for every custom object at once; these tests load a Dent-O-Soft export with the
default template (contacts, opportunities, events, files, five custom objects) and hold the
read-back to that, to the same findings as the object-by-object reads, and to naming a custom
record whose contact link was removed in the CRM as a broken link.
"""

from __future__ import annotations

import json
import re
from collections import Counter

import httpx
import pytest

import crm_sandbox as sandbox
from toolkit import workflow as wf
from toolkit.demo import fallback_user
from toolkit.load import Ledger
from toolkit.mapping import MappingSpec, build_plan
from toolkit.sources import registry
from toolkit.verify import reconcile_run
from toolkit.workspace import init_workspace

pytestmark = pytest.mark.e2e


class Counting:
    """An httpx client that counts requests by method and path shape."""

    def __init__(self):
        self.calls: Counter = Counter()
        self.client = httpx.Client(timeout=30, event_hooks={"request": [self._count]})

    def _count(self, request: httpx.Request) -> None:
        self.calls[(request.method, re.sub(r"/[A-Za-z0-9]{15,}", "/{id}", request.url.path))] += 1

    def total(self) -> int:
        return sum(self.calls.values())


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bulk")
    export = registry.get("dent-o-soft")().generate(tmp / "export", patients=20, seed=3)
    users = json.loads((export / "crm_users.json").read_text(encoding="utf-8"))
    mp = pytest.MonkeyPatch()
    with sandbox.start("highlevel", seed={"users": users}, time_scale=200, burst=100_000) as box:
        mp.setenv("BULK_TOKEN", box.token)
        ws = init_workspace(tmp / "ws", source="dent-o-soft", export=export, destination="highlevel",
                            base_url=box.url, token_env="BULK_TOKEN", options=box.options,
                            fallback_owner=fallback_user(users))
        wf.prepare_mapping(ws, accept_proposals=True)
        assert wf.migrate(ws, progress=False).result.status == "finished"
        yield {"ws": ws, "box": box}
    mp.undo()


def _one_by_one(ws, client):
    snapshot = ws.read_source()
    plan = build_plan(snapshot, MappingSpec.load(ws.mapping_path), inline_dir=ws.inline_images_dir)
    with Ledger(ws.ledger_path) as ledger:
        return reconcile_run(snapshot, plan, ledger, ws.connect(client))


def test_each_contact_is_asked_once_and_the_findings_are_the_same(loaded):
    ws = loaded["ws"]
    bulk = Counting()
    fast = wf.reconcile(ws, client=bulk.client)
    slow_calls = Counting()
    slow = _one_by_one(ws, slow_calls.client)

    counts = fast.destination_counts
    customs = [o for o in counts if o.startswith("custom_object:")]
    contacts = counts["contact"]
    assert len(customs) >= 2 and counts.get("file") and contacts
    custom_records = sum(counts[o] for o in customs)
    assert custom_records > contacts  # so that asking per contact is the cheaper side
    # one relations call per contact for every custom object, one notes call per contact for
    # notes and files together
    assert bulk.calls[("GET", "/associations/relations/{id}")] == contacts
    assert bulk.calls[("GET", "/contacts/{id}/notes")] == contacts
    # reading object by object asks each custom record, and the contacts' notes again for files
    assert slow_calls.calls[("GET", "/associations/relations/{id}")] == custom_records
    assert bulk.total() < slow_calls.total() / 2
    # the same CRM read back the same: every count and every finding
    assert fast.destination_counts == slow.destination_counts
    assert fast.summary() == slow.summary()
    key = ["kind", "object", "source_key", "field"]
    assert (fast.findings[key].sort_values(key).to_dict("records")
            == slow.findings[key].sort_values(key).to_dict("records"))
    assert fast.integrity == slow.integrity


def test_a_custom_record_whose_contact_link_was_removed_is_named(loaded):
    ws, box = loaded["ws"], loaded["box"]
    before = wf.reconcile(ws)
    obj = next(o for o, n in before.destination_counts.items() if o.startswith("custom_object:") and n)
    with Ledger(ws.ledger_path) as ledger:
        source_object, key, record_id = next((s, k, d) for s, k, o, d in ledger.mapped() if o == obj)
    # someone unlinks it from its contact in the CRM
    api = httpx.Client(base_url=box.url, headers={"Authorization": f"Bearer {box.token}", "Version": "2021-07-28"})
    loc = {"locationId": box.location_id}
    rels = api.get(f"/associations/relations/{record_id}", params={**loc, "skip": 0, "limit": 100}).json()["relations"]
    assert rels
    for r in rels:
        api.delete(f"/associations/relations/{r['id']}", params=loc).raise_for_status()
    after = wf.reconcile(ws)
    named = [i for i in after.integrity if i["source_key"] == key and i["id"] == record_id]
    assert named and "contactId is empty" in named[0]["problem"], after.integrity[:5]
    assert not after.summary()["ok"]
    assert after.summary()["broken_links"] == before.summary()["broken_links"] + 1
