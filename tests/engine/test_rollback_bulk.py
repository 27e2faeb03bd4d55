"""Against the Freshsales sandbox: a rollback deletes contacts and deals through bulk delete (one
call per hundred records) instead of one call each, journals every record as before, and leaves
/__sandbox/state as it was before the run; when a bulk delete fails, its records are deleted one
by one."""

import json
import re
import sqlite3

import pytest
from conftest import users_of

import crm_sandbox as sandbox
from toolkit import init_workspace
from toolkit import workflow as wf
from toolkit.demo import fallback_user
from toolkit.destinations.freshsales.adapter import Freshsales
from toolkit.errors import FatalError
from toolkit.workflow import prepare_mapping

TOKEN_ENV = "FRESHSALES_TOKEN"
BULK = {"contact": "contacts", "deal": "deals", "sales_account": "sales_accounts", "lead": "leads"}


@pytest.fixture
def migrated(export, tmp_path, monkeypatch):
    """A full run into a fresh Freshsales sandbox: (workspace, sandbox, state before, run, request log)."""
    log = tmp_path / "requests.jsonl"
    users = users_of(export)
    with sandbox.start("freshsales", seed={"users": users}, time_scale=50, request_log=str(log)) as box:
        monkeypatch.setenv(TOKEN_ENV, box.token)
        ws = init_workspace(tmp_path / "ws", source="dent-o-soft", export=export, destination="freshsales",
                            base_url=box.url + "/crm/sales", token_env=TOKEN_ENV, options=box.options,
                            fallback_owner=fallback_user(users))
        prepare_mapping(ws, accept_proposals=True)
        before = box.state()
        out = wf.migrate(ws, progress=False)
        assert out.result.status == "finished" and out.result.counts["created"] > 50
        yield ws, box, before, out.result, log


def _data(state: dict) -> dict:
    """The account's data; bulk jobs are the account's request history, not data."""
    return {k: v for k, v in state.items() if k != "jobs"}


def _requests(log, start: int) -> list[dict]:
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()[start:]]


def _created(ws, run_id: str) -> dict[str, int]:
    db = sqlite3.connect(ws.ledger_path)
    rows = db.execute("SELECT j.dest_object, COUNT(*) FROM journal j JOIN journal o ON o.intent_seq = j.seq"
                      " AND o.state = 'done' WHERE j.run_id = ? AND j.op = 'create' AND j.state = 'intent'"
                      " GROUP BY j.dest_object", (run_id,)).fetchall()
    return dict(rows)


def test_rollback_deletes_in_bulk_and_leaves_the_state_as_before(migrated):
    ws, box, before, run, log = migrated
    created = _created(ws, run.run_id)
    assert created.get("contact", 0) > 10 and created.get("deal", 0) > 1
    start = len(log.read_text(encoding="utf-8").splitlines())
    rb = wf.rollback(ws, progress=False)
    assert rb.status == "finished", rb.message
    assert _data(box.state()) == _data(before)
    # every created record was deleted or is listed as one Freshsales cannot delete
    assert rb.counts["deleted"] + len(rb.left) == run.counts["created"]

    calls = _requests(log, start)
    for obj, module in BULK.items():
        n = created.get(obj, 0)
        singles = [c for c in calls if c["method"] == "DELETE" and re.search(rf"/api/{module}/\d+$", c["path"])]
        bulks = [c for c in calls if c["method"] == "POST" and c["path"].endswith(f"/api/{module}/bulk_destroy")]
        assert singles == [], f"{obj}: deleted one by one"
        assert len(bulks) == (-(-n // 100) if n > 1 else 0), obj
        assert sum(len(c["body"]["selected_ids"]) for c in bulks) == (n if n > 1 else 0)

    # each record still has its own intent and outcome, naming the create it undoes
    db = sqlite3.connect(ws.ledger_path)
    rows = db.execute("SELECT o.state, o.reason FROM journal j JOIN journal o ON o.intent_seq = j.seq"
                      " WHERE j.run_id = ? AND j.op = 'delete' AND j.dest_object = 'contact' AND j.state = 'intent'",
                      (rb.run_id,)).fetchall()
    assert len(rows) == created["contact"]
    assert all(state == "done" and "bulk delete" in reason for state, reason in rows)
    rec = wf.reconcile(ws).summary()
    assert rec["unaccounted"] == 0


def test_records_a_failed_bulk_delete_leaves_are_deleted_one_by_one(migrated, monkeypatch):
    ws, box, before, run, log = migrated
    real = Freshsales.destroy_many
    refused: list[str] = []

    def half_refused(self, object, ids):
        # the job deletes the first half and rejects the rest, as a bulk job reporting errors does
        keep = ids[len(ids) // 2:]
        real(self, object, ids[:len(ids) // 2])
        refused.extend(keep)
        raise FatalError(f"bulk delete of {object}s left {len(keep)} behind")

    monkeypatch.setattr(Freshsales, "destroy_many", half_refused)
    start = len(log.read_text(encoding="utf-8").splitlines())
    rb = wf.rollback(ws, progress=False)
    assert rb.status == "finished", rb.message
    assert refused
    assert _data(box.state()) == _data(before)
    singles = {c["path"].rsplit("/", 1)[1] for c in _requests(log, start)
               if c["method"] == "DELETE" and re.search(r"/api/(contacts|deals)/\d+$", c["path"])}
    assert set(refused) <= singles
    db = sqlite3.connect(ws.ledger_path)
    reasons = [r for (r,) in db.execute("SELECT o.reason FROM journal j JOIN journal o ON o.intent_seq = j.seq"
                                        " WHERE j.run_id = ? AND j.op = 'delete' AND j.dest_object = 'contact'",
                                        (rb.run_id,))]
    assert reasons and all("one by one: the bulk delete failed" in r for r in reasons)
